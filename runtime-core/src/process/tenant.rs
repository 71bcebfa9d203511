//! What a process `exec`'d into a running container runs between the clone and `execve`: join the
//! container's namespaces (all at once, through the init's pidfd), take its console, then the
//! same final steps as the init ([`super::finish`]). Never returns.

use std::os::fd::{AsFd, OwnedFd};

use nix::sched::CloneFlags;
use oci_spec::runtime::Process;

use super::finish::{self, Finish};
use super::sync::{Channel, Message};
use super::{InitStep, StepError, StepResult, Tag};
use crate::console;
use crate::exec_stub::{ExecStub, Keep};
use crate::seccomp::Compiled;
use crate::stdio::ChildStdio;
use crate::sys::{self, Errno, SysError, SysOp};
use crate::trace::{Marks, Phase};

pub(crate) struct TenantArgs<'a> {
    pub process: &'a Process,
    pub channel: Channel,
    /// The container init's pidfd: `setns` through it joins all its namespaces atomically.
    pub init_pidfd: &'a OwnedFd,
    /// The namespaces to join (the pid namespace was joined by the parent around the clone).
    pub namespaces: CloneFlags,
    /// The init's root, to chroot into, when the container has no mount namespace to join.
    pub root: Option<&'a OwnedFd>,
    pub console_socket: Option<OwnedFd>,
    pub seccomp: Option<&'a Compiled>,
    /// The exec stub the process leaves through (`None`: the runtime's binary is protected).
    pub stub: Option<&'a ExecStub>,
    pub preserve_fds: u32,
    pub extra_env: &'a [String],
    /// The caller's choice of stdin, stdout and stderr (stdio.rs).
    pub stdio: &'a ChildStdio,
    /// linux.memoryPolicy: an exec'd process gets the container's, as under runc.
    pub memory_policy: Option<&'a oci_spec::runtime::LinuxMemoryPolicy>,
    /// v1 `tasks` files to write `0` into (hybrid host: the process was born in the unified
    /// cgroup and moves itself into the v1 ones, see `cgroups::Manager::v1_self_join_files`).
    pub cgroup_join: Vec<std::path::PathBuf>,
}

pub(crate) fn run(args: TenantArgs<'_>) -> ! {
    let failure = match set_up(&args) {
        Ok(mut ready) => match ready.confine() {
            Ok(()) => ready.exec(Keep::Channel(args.channel.as_fd())),
            Err(e) => e,
        },
        Err(e) => e,
    };
    let _ = args.channel.send(&Message::Failed(failure));
    sys::exit_now(255)
}

/// Step 3: every namespace of the container in one call (the kernel orders user first); with
/// no mount namespace to join (the container shares the runtime's), the init's chroot, entered
/// as the init did.
fn join_container(args: &TenantArgs<'_>) -> StepResult<()> {
    if !args.namespaces.is_empty() {
        sys::setns(
            args.init_pidfd.as_fd(),
            args.namespaces,
            std::path::Path::new("pidfd of the container's init"),
        )
        .tag(InitStep::JoinNamespace(0))?;
    }
    if let Some(root) = args.root {
        let shown = std::path::Path::new("root of the container's init");
        sys::fchdir(root.as_fd(), shown).tag(InitStep::PivotRoot)?;
        sys::chroot(std::path::Path::new(".")).tag(InitStep::PivotRoot)?;
        sys::chdir(std::path::Path::new("/")).tag(InitStep::PivotRoot)?;
    }
    Ok(())
}

/// Step 4: a new session, the terminal (sent over the console socket) when the process asks
/// for one, and inherited stdio pipes and sockets to the process's user (console.rs says why
/// only those).
fn set_up_console(args: &TenantArgs<'_>) -> StepResult<()> {
    sys::setsid().tag(InitStep::Console)?;
    if args.process.terminal().unwrap_or(false) {
        let socket = args.console_socket.as_ref().ok_or(StepError {
            step: InitStep::Console,
            source: SysError::new(SysOp::Open, None, Errno::EBADF),
        })?;
        let size = args
            .process
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16));
        let owner = args.process.user().uid();
        console::setup(socket, size, console::DevConsole::Leave, owner).tag(InitStep::Console)?;
    }
    console::give_pipes_to(args.process.user().uid()).tag(InitStep::Console)
}

/// The exec'd process's set-up, from the parent's go to its report that it is ready to exec.
fn set_up<'a>(args: &TenantArgs<'a>) -> StepResult<finish::Ready<'a>> {
    // When each phase ends, for the runtime's trace (nothing is recorded when it does not trace).
    let mut marks = Marks::new();

    // 1. Wait until the parent has put us in the container's cgroup.
    match args.channel.recv().tag(InitStep::WaitForParent)? {
        Some(Message::Go { .. }) => {}
        _ => {
            return Err(StepError {
                step: InitStep::WaitForParent,
                source: SysError::new(SysOp::Read, None, Errno::EPROTO),
            })
        }
    }
    marks.mark(Phase::Go);

    // 1b. Into the container's v1 cgroups, by ourselves, before any namespace is joined.
    for tasks in &args.cgroup_join {
        sys::write_file(tasks, b"0").tag(InitStep::JoinCgroup)?;
    }
    marks.mark(Phase::Cgroup);

    // 2. The process starts with default signal handling, whatever the runtime had.
    sys::reset_signals();

    // 2b. The stdio the caller chose, in place before the process's user is given its pipes.
    args.stdio.install().tag(InitStep::Stdio)?;

    // 3. Every namespace of the container, and its root when it has no mount namespace.
    join_container(args)?;
    marks.mark(Phase::Namespaces);

    // 4. A session of its own, and the container's terminal when asked for.
    set_up_console(args)?;
    marks.mark(Phase::Console);

    // 5. oom_score_adj through the container's /proc.
    if let Some(adj) = args.process.oom_score_adj() {
        sys::write_file(
            std::path::Path::new("/proc/self/oom_score_adj"),
            adj.to_string().as_bytes(),
        )
        .tag(InitStep::OomScoreAdj)?;
    }

    // 6. The container's NUMA memory policy (per thread, inherited across execve).
    if let Some(p) = args.memory_policy {
        crate::mempolicy::apply(p).tag(InitStep::MemoryPolicy)?;
    }

    // 7. The same confinement as the init: rlimits, privileges, seccomp, cwd, executable.
    let finish = Finish {
        process: args.process,
        seccomp: args.seccomp,
        extra_env: args.extra_env,
        preserve_fds: args.preserve_fds,
        personality: None,
        cpu_affinity: args.process.exec_cpu_affinity().as_ref(),
        stub: args.stub,
    };
    let ready = finish::prepare(&finish, &args.channel)?;
    marks.mark(Phase::Confinement);
    finish::report_ready(&args.channel, &marks)?;
    Ok(ready)
}
