//! What the container's init runs between the clone and `execve`.
//!
//! The parent has already parsed and validated the spec, opened every file the init needs from
//! the host (namespace files, the exec fifo, the console socket) and computed the plan; the init
//! only carries it out, in the order below, reporting the first failure as a typed
//! [`StepError`]. It never returns: it execs the container's process or `_exit`s.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use super::finish::{self, Finish};
use super::sync::{Channel, Message};
use super::{InitFailure, InitStep, StepError, StepResult, Tag};
use crate::console;
use crate::exec_stub::{ExecStub, Keep};
use crate::hooks::{self, HookKind};
use crate::namespaces::Join;
use crate::rootfs::{self, RootfsPlan};
use crate::seccomp::Compiled;
use crate::stdio::ChildStdio;
use crate::sys::{self, Errno, SysError, SysOp};
use crate::trace::{Marks, Phase};

/// Everything the init needs; built by the parent before the clone.
pub(crate) struct InitArgs<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub channel: Channel,
    /// Read end of the exec fifo (non-blocking); `start` writes one byte into it.
    pub exec_fifo: OwnedFd,
    pub console_socket: Option<OwnedFd>,
    pub joins: Vec<Join>,
    pub unshare: CloneFlags,
    /// Unshared first, before the parent's go: a new network namespace made while the parent
    /// works on (`namespaces::NamespacePlan::make_network_in_init`).
    pub unshare_first: CloneFlags,
    pub userns: bool,
    pub new_userns: bool,
    pub cgroupns: bool,
    /// Fork once more after unsharing the pid namespace (see `namespaces::NamespacePlan`).
    pub fork_for_pid: bool,
    /// Unshare the new user namespace after the joins (see `namespaces::NamespacePlan`).
    pub user_after_joins: bool,
    /// v1 `tasks` files to write `0` into: the init moves itself into its cgroups (see
    /// `cgroups::Manager::v1_self_join_files`); empty when the parent placed it.
    pub cgroup_join: Vec<PathBuf>,
    /// The cgroups exist already when the init starts (cgroupfs: made before the clone), so
    /// it joins them before waiting for the parent's go, while the parent records it; with
    /// systemd they exist once the parent has started the unit, after the go.
    pub join_before_go: bool,
    pub no_pivot: bool,
    /// The container has a mount namespace of its own (new or joined).
    pub mount_ns: bool,
    /// Bind sources opened by the runtime, one per `mounts` entry (`rootfs::RootfsPlan`).
    pub detached_sources: Vec<Option<OwnedFd>>,
    pub no_new_keyring: bool,
    /// fds 3 .. 3+n stay open in the container (--preserve-fds and LISTEN_FDS).
    pub preserve_fds: u32,
    pub extra_env: Vec<String>,
    /// The parent has prestart/createRuntime hooks to run once the mounts are done.
    pub parent_hooks: bool,
    /// linux.netDevices names devices: ask the parent to move them once our netns is final.
    pub net_devices: bool,
    /// Base of the state JSON given to hooks run by the init; `pid` and `status` are filled in.
    pub hook_state: serde_json::Value,
    /// linux.seccomp, compiled by the parent.
    pub seccomp: Option<&'a Compiled>,
    /// The exec stub the init leaves through (`None`: the runtime's binary is protected).
    pub stub: Option<&'a ExecStub>,
    /// The caller's choice of stdin, stdout and stderr (stdio.rs).
    pub stdio: ChildStdio,
}

/// The init's main: never returns.
pub(crate) fn run(args: InitArgs<'_>) -> ! {
    let exec = match set_up(&args) {
        Ok(exec) => exec,
        Err(InitFailure::Step(e)) => {
            let _ = args.channel.send(&Message::Failed(e));
            sys::exit_now(1);
        }
        Err(InitFailure::Hook { step, failure, .. }) => {
            let index = match step {
                InitStep::CreateContainerHook(i) => i,
                _ => 0,
            };
            let _ = args.channel.send(&Message::HookFailed { index, failure });
            sys::exit_now(1);
        }
    };
    let InitArgs {
        channel, exec_fifo, ..
    } = args;
    let Exec {
        mut ready,
        start_hooks,
        hook_state,
    } = exec;
    // Through the exec stub, the waits for the Handover and for `start` happen in the stub:
    // from now until the program runs, this process is the stub's sealed copy, not the
    // runtime's binary, which a process joining the container's pid namespace (or exec'd into
    // it with CAP_SYS_PTRACE) could otherwise open; and its `execveat` overlaps the runtime's
    // last steps of `create` instead of delaying `start`. The last confinement comes first
    // then; startContainer hooks rule the stub out (exec_stub.rs), so there are none to run.
    if ready.through_stub() {
        let (failed, code) = match ready.confine() {
            Err(e) => (e, 1),
            Ok(()) => {
                let keep = Keep::Wait {
                    fifo: exec_fifo.as_fd(),
                    handover: channel.as_fd(),
                };
                (ready.exec(keep), 127)
            }
        };
        // Before the Handover: `create` may still be there to report it (else `start` does).
        let _ = channel.send(&Message::Failed(failed.clone()));
        report_late(&InitFailure::Step(failed));
        sys::exit_now(code)
    }
    // The container is ours only once `create` has recorded it and returned: if the runtime
    // dies before its Handover (the channel closes instead), nobody knows of this init and it
    // must not wait for a `start` that cannot come.
    if !matches!(channel.recv(), Ok(Some(Message::Handover))) {
        sys::exit_now(1);
    }
    drop(channel);
    // `start` happened: the last confinement (a late seccomp filter), then the startContainer
    // hooks under it (runc runs them filtered too), then the container's program.
    if let Err(e) = wait_for_start(&exec_fifo).and_then(|()| ready.confine()) {
        report_late(&InitFailure::Step(e));
        sys::exit_now(1);
    }
    if let Err(e) = run_start_hooks(&start_hooks, &hook_state) {
        report_late(&e);
        sys::exit_now(1);
    }
    report_late(&InitFailure::Step(ready.exec(Keep::Nothing)));
    sys::exit_now(127)
}

/// What is left to do after `start`: run startContainer hooks, then exec.
struct Exec<'a> {
    ready: finish::Ready<'a>,
    start_hooks: Vec<oci_spec::runtime::Hook>,
    hook_state: Vec<u8>,
}

/// The init's set-up, from the parent's go to the moment it waits for `start`: one step per
/// phase, in the order the runtime-spec and the kernel's rules need.
fn set_up<'a>(args: &InitArgs<'a>) -> Result<Exec<'a>, InitFailure> {
    let spec = args.spec;
    let process = spec
        .process()
        .as_ref()
        .expect("validated: process is present");
    // When each phase ends, for the runtime's trace (nothing is recorded when it does not trace).
    let mut marks = Marks::new();

    // 0. The namespace the parent left to us, made while it finishes our cgroups.
    if !args.unshare_first.is_empty() {
        sys::unshare(args.unshare_first).tag(InitStep::Unshare)?;
    }

    // 1. Into our cgroups, by ourselves (a self-move skips the lock and RCU wait a move by the
    //    parent costs), before any namespace changes who we are to the host's cgroupfs; and
    //    wait until the parent has written our id maps, put us in our cgroup (when it does
    //    that), or started our systemd unit. Joining first, where the cgroups exist already,
    //    overlaps the parent's record of us (the phases are marked in the order they end).
    if args.join_before_go {
        join_own_cgroups(&args.cgroup_join)?;
        marks.mark(Phase::Cgroup);
    }
    let host_pid = wait_for_go(&args.channel, InitStep::WaitForParent)?;
    marks.mark(Phase::Go);
    if !args.join_before_go {
        join_own_cgroups(&args.cgroup_join)?;
        marks.mark(Phase::Cgroup);
    }

    // 2-8. Signals, stdio, namespaces joined and made, root of the user namespace, a session.
    let host_pid = enter_namespaces(args, process)?.unwrap_or(host_pid);
    marks.mark(Phase::Namespaces);

    // 9. Mounts and /dev inside the rootfs.
    let plan = rootfs_plan(args);
    let root = rootfs::prepare(&plan)?;
    marks.mark(Phase::Rootfs);

    // 10. Let the parent run prestart and createRuntime hooks: namespaces exist, pivot_root has
    //    not happened yet (runtime-spec).
    if args.parent_hooks {
        wait_for_parent_hooks(&args.channel)?;
    }
    marks.mark(Phase::ParentHooks);

    // 11. createContainer hooks: in the container's namespaces, before pivot_root.
    let mut hook_state = state_with(&args.hook_state, host_pid, "creating");
    run_create_container_hooks(args, root.as_fd(), &hook_state)?;
    marks.mark(Phase::CreateContainerHooks);

    // 12. Make the rootfs our `/`.
    rootfs::enter(&plan, &root)?;
    drop(root);
    marks.mark(Phase::PivotRoot);

    // 12b. The working directory exists (runc creates a missing one, as root, mode 0755, before
    //      the root turns read-only); entering it happens last, as the container's user.
    make_cwd(process.cwd()).tag(InitStep::Cwd)?;

    // 13. The console, now that the container's /dev/pts is in place, and stdio for the user.
    set_up_console(args, process)?;
    marks.mark(Phase::Console);

    // 14. Hostname, domainname and sysctls, before /proc/sys becomes read-only.
    set_names_and_sysctls(spec)?;
    marks.mark(Phase::Hostname);

    // 15. Read-only and masked paths, then the read-only root.
    rootfs::finish(spec)?;
    marks.mark(Phase::Paths);

    // 16. A session keyring of our own, so containers do not share the host's keys.
    if !args.no_new_keyring {
        join_own_keyring(args.id)?;
    }
    marks.mark(Phase::Keyring);

    // 17-18. The memory policy, then the same final confinement as every container process.
    let ready = confine(args, process)?;
    marks.mark(Phase::Confinement);
    finish::report_ready(&args.channel, &marks)?;

    hook_state["status"] = "created".into();
    Ok(Exec {
        ready,
        start_hooks: HookKind::StartContainer
            .list(spec.hooks().as_ref())
            .to_vec(),
        hook_state: serde_json::to_vec(&hook_state).unwrap_or_default(),
    })
}

/// Step 1b: writes 0 (ourselves) into each `tasks` file.
fn join_own_cgroups(tasks_files: &[PathBuf]) -> Result<(), InitFailure> {
    for tasks in tasks_files {
        sys::write_file(tasks, b"0").tag(InitStep::JoinCgroup)?;
    }
    Ok(())
}

/// The container's state for a hook: our host pid and `status`.
fn state_with(state: &serde_json::Value, host_pid: i32, status: &str) -> serde_json::Value {
    let mut st = state.clone();
    st["pid"] = host_pid.into();
    st["status"] = status.into();
    st
}

/// Waits for the parent's go; returns the pid it gives (ours, as the host sees it).
fn wait_for_go(channel: &Channel, step: InitStep) -> Result<i32, InitFailure> {
    match channel.recv().tag(step)? {
        Some(Message::Go { pid }) => Ok(pid),
        _ => Err(protocol_error(step).into()),
    }
}

/// Step 10: tells the parent to run the prestart and createRuntime hooks, and waits until it
/// has.
fn wait_for_parent_hooks(channel: &Channel) -> Result<(), InitFailure> {
    channel
        .send(&Message::HooksNeeded)
        .tag(InitStep::WaitHooks)?;
    match channel.recv().tag(InitStep::WaitHooks)? {
        Some(Message::HooksDone) => Ok(()),
        _ => Err(protocol_error(InitStep::WaitHooks).into()),
    }
}

/// Steps 17 and 18: the container's NUMA memory policy (linux.memoryPolicy: per thread,
/// inherited by the process across execve and by its children), then the same final
/// confinement as every container process: rlimits, privileges, seccomp, cwd, executable
/// lookup, close-on-exec (process/finish.rs).
fn confine<'a>(
    args: &InitArgs<'a>,
    process: &'a oci_spec::runtime::Process,
) -> Result<finish::Ready<'a>, InitFailure> {
    let spec = args.spec;
    if let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    {
        crate::mempolicy::apply(p).tag(InitStep::MemoryPolicy)?;
    }
    let finish = Finish {
        process,
        seccomp: args.seccomp,
        extra_env: &args.extra_env,
        preserve_fds: args.preserve_fds,
        personality: spec.linux().as_ref().and_then(|l| l.personality().as_ref()),
        cpu_affinity: None,
        stub: args.stub,
    };
    Ok(finish::prepare(&finish, &args.channel)?)
}

/// Steps 2 to 8: from the runtime's process to the container's root in its namespaces.
/// Returns our new host pid when a pid namespace made by us meant one more fork.
fn enter_namespaces(
    args: &InitArgs<'_>,
    process: &oci_spec::runtime::Process,
) -> Result<Option<i32>, InitFailure> {
    // 2. The container's process starts with default signal handling and nothing blocked,
    //    whatever the runtime had (Rust ignores SIGPIPE; `run` blocks what it forwards).
    sys::reset_signals();

    // 2b. The stdio the caller chose, in place before anything (a hook, the program) uses it.
    args.stdio.install().tag(InitStep::Stdio)?;

    // 3. Join existing namespaces, the user namespace first (it grants the rights for the rest).
    for j in &args.joins {
        sys::setns(j.fd.as_fd(), j.flag, &j.path).tag(InitStep::JoinNamespace(j.index))?;
    }

    // 3b. A new user namespace that had to wait for those joins: made now, its maps written by
    //     the parent (the host's root) before anything runs as its root.
    if args.user_after_joins {
        sys::unshare(CloneFlags::CLONE_NEWUSER).tag(InitStep::Unshare)?;
        args.channel
            .send(&Message::UserNsCreated)
            .tag(InitStep::WaitForParent)?;
        wait_for_go(&args.channel, InitStep::WaitForParent)?;
    }

    // 4. oom_score_adj while /proc is still the host's and we are still the runtime's uid:
    //    after the switch to the user namespace's root, /proc/self belongs to the host's root
    //    (the process is no longer dumpable) and the container's root could not open it.
    if let Some(adj) = process.oom_score_adj() {
        sys::write_file(
            Path::new("/proc/self/oom_score_adj"),
            adj.to_string().as_bytes(),
        )
        .tag(InitStep::OomScoreAdj)?;
    }

    // 5. Namespaces the clone could not create (cgroup, time, those a joined user namespace
    //    must own), and the extra fork a pid namespace made that way needs.
    let host_pid = unshare_late(args)?;

    // 5a. Our network namespace is final (new or joined): the runtime moves linux.netDevices
    //     into it now, before hooks or the container's program look for them (runc's order).
    if args.net_devices {
        args.channel
            .send(&Message::NetDevicesNeeded)
            .tag(InitStep::NetDevices)?;
        match args.channel.recv().tag(InitStep::NetDevices)? {
            Some(Message::NetDevicesDone) => {}
            _ => return Err(protocol_error(InitStep::NetDevices).into()),
        }
    }

    // 5b. Not dumpable from here on, so the container cannot open our /proc/<pid>/exe. (An
    //     unprivileged parent needed us dumpable to write our id maps, see process/clone.rs,
    //     and so did our own /proc/self writes above: a non-dumpable process's /proc files
    //     belong to the host's root.)
    sys::set_dumpable(false).tag(InitStep::BecomeRoot)?;

    // 6. Become root of the user namespace: every later step runs as container root.
    debug_assert!(
        args.userns || !args.new_userns,
        "a new user namespace is a user namespace"
    );
    if args.userns {
        sys::setresgid(0).tag(InitStep::BecomeRoot)?;
        sys::setresuid(0).tag(InitStep::BecomeRoot)?;
    }

    // 7. The session: a new one, so the container never shares the caller's controlling tty.
    sys::setsid().tag(InitStep::Console)?;

    // 8. Device nodes get exactly the modes the spec gives.
    sys::umask(0);
    Ok(host_pid)
}

/// Step 5: the cgroup namespace (now rooted at our cgroup) and the time one, owned by the user
/// namespace we are in; the time offsets are written before the switch to its root, for the
/// same reason as oom_score_adj. Returns our new host pid after a pid namespace's fork.
fn unshare_late(args: &InitArgs<'_>) -> Result<Option<i32>, InitFailure> {
    if !args.unshare.is_empty() {
        sys::unshare(args.unshare).tag(InitStep::Unshare)?;
    }
    if args
        .unshare
        .contains(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
    {
        write_time_offsets(args.spec).tag(InitStep::TimeOffsets)?;
    }
    match args.fork_for_pid {
        true => Ok(Some(enter_pid_namespace(&args.channel)?)),
        false => Ok(None),
    }
}

/// What `rootfs::prepare` and `rootfs::enter` work from.
fn rootfs_plan<'a>(args: &'a InitArgs<'a>) -> RootfsPlan<'a> {
    RootfsPlan {
        spec: args.spec,
        rootfs: args.rootfs,
        bundle: args.bundle,
        // Joined or new, a user namespace means no mknod and a sysfs that may be refused.
        userns: args.userns,
        cgroupns: args.cgroupns,
        no_pivot: args.no_pivot,
        mount_ns: args.mount_ns,
        detached: &args.detached_sources,
    }
}

/// Step 11: the createContainer hooks, with the container's root filesystem as their working
/// directory (as runc runs them) and the state "creating".
fn run_create_container_hooks(
    args: &InitArgs<'_>,
    root: std::os::fd::BorrowedFd<'_>,
    hook_state: &serde_json::Value,
) -> Result<(), InitFailure> {
    let created_state = serde_json::to_vec(hook_state).unwrap_or_default();
    let create_hooks = HookKind::CreateContainer.list(args.spec.hooks().as_ref());
    if !create_hooks.is_empty() {
        sys::fchdir(root, args.rootfs).tag(InitStep::CreateContainerHook(0))?;
    }
    hooks::run_all(create_hooks, &created_state).map_err(|(i, path, failure)| InitFailure::Hook {
        step: InitStep::CreateContainerHook(i as u32),
        path,
        failure,
    })
}

/// Step 13: the terminal (sent over the console socket) when the process asks for one, then
/// inherited stdio pipes and sockets to the container's user, so it can reopen them
/// (console.rs says why not files or terminals).
fn set_up_console(
    args: &InitArgs<'_>,
    process: &oci_spec::runtime::Process,
) -> Result<(), InitFailure> {
    if process.terminal().unwrap_or(false) {
        let socket = args.console_socket.as_ref().ok_or_else(|| StepError {
            step: InitStep::Console,
            source: SysError::new(SysOp::Open, None, Errno::EBADF),
        })?;
        let size = process
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16));
        // Binding the pty on /dev/console is a mount: not in the runtime's mount namespace.
        let dev_console = if args.mount_ns {
            console::DevConsole::Bind
        } else {
            console::DevConsole::Leave
        };
        console::setup(socket, size, dev_console, process.user().uid()).tag(InitStep::Console)?;
    }
    console::give_pipes_to(process.user().uid()).tag(InitStep::Console)?;
    Ok(())
}

/// Step 14: hostname, domainname and `linux.sysctl`.
fn set_names_and_sysctls(spec: &Spec) -> Result<(), InitFailure> {
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        sys::sethostname(h).tag(InitStep::Hostname)?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        sys::setdomainname(d).tag(InitStep::Domainname)?;
    }
    if let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
        for (key, value) in sysctl {
            let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
            sys::write_file(&path, value.as_bytes()).tag(InitStep::Sysctl)?;
        }
    }
    Ok(())
}

/// Step 16: a new session keyring named after the container (none where the kernel has no
/// keyrings or refuses them, as runc goes on).
fn join_own_keyring(id: &str) -> Result<(), InitFailure> {
    let name = CString::new(format!("_ses.{id}")).unwrap_or_default();
    match sys::join_session_keyring(&name) {
        Err(e) if e.errno == Errno::ENOSYS || e.errno == Errno::EPERM => {}
        other => other.tag(InitStep::Keyring)?,
    }
    Ok(())
}

/// After unsharing a pid namespace: forks, the child (pid 1 there) goes on as the init, the parent
/// tells the runtime the child's pid and leaves. Returns the child's pid as the host sees it.
fn enter_pid_namespace(channel: &Channel) -> StepResult<i32> {
    // SAFETY: the init is single-threaded (a clone of a single-threaded caller); the parent side
    // leaves through `exit_now` and the child goes on as the init, which itself only ever leaves
    // through `execve` or `exit_now`.
    #[allow(unsafe_code)]
    let forked = unsafe { sys::clone_process(CloneFlags::empty(), None) };
    match forked.tag(InitStep::Unshare)? {
        sys::Forked::Parent { pid, .. } => {
            let _ = channel.send(&Message::InitPid { pid: pid.as_raw() });
            sys::exit_now(0)
        }
        sys::Forked::Child => {
            // /proc is still the host's: NSpid's first field is our pid there.
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let pid = status
                .lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
            Ok(pid)
        }
    }
}

/// Blocks until `start` writes into the exec fifo.
fn wait_for_start(fifo: &OwnedFd) -> StepResult<()> {
    loop {
        sys::poll_readable(fifo.as_fd(), -1).tag(InitStep::WaitStart)?;
        let mut b = [0u8; 1];
        match sys::read(fifo.as_fd(), &mut b) {
            Ok(1) => return Ok(()),
            // No writer yet, or a writer that went away without writing: keep waiting.
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(e) if e.errno == Errno::EAGAIN => {}
            Err(e) => {
                return Err(StepError {
                    step: InitStep::WaitStart,
                    source: e,
                })
            }
        }
    }
}

fn run_start_hooks(list: &[oci_spec::runtime::Hook], state: &[u8]) -> Result<(), InitFailure> {
    hooks::run_all(list, state).map_err(|(i, path, failure)| InitFailure::Hook {
        step: InitStep::StartContainerHook(i as u32),
        path,
        failure,
    })
}

fn write_time_offsets(spec: &Spec) -> Result<(), SysError> {
    let offsets = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref());
    let Some(offsets) = offsets else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    sys::write_file(Path::new("/proc/self/timens_offsets"), text.as_bytes())
}

/// `mkdir -p` of the process's cwd inside the new root (already our `/`).
fn make_cwd(cwd: &Path) -> Result<(), SysError> {
    let root = sys::open(
        Path::new("/"),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        Mode::empty(),
    )?;
    let mut rel = PathBuf::new();
    for c in cwd.components() {
        if let Component::Normal(name) = c {
            rel.push(name);
            match sys::mkdirat(root.as_fd(), &rel, 0o755, cwd) {
                Err(e) if e.errno != Errno::EEXIST => return Err(e),
                _ => {}
            }
        } else if c == Component::ParentDir {
            rel.pop();
        }
    }
    Ok(())
}

fn protocol_error(step: InitStep) -> StepError {
    StepError {
        step,
        source: SysError::new(SysOp::Read, None, Errno::EPROTO),
    }
}

/// After `create` has returned, the container's stderr is the only place left to say why the
/// init could not go on.
fn report_late(e: &InitFailure) {
    let msg = match e {
        InitFailure::Step(e) => format!("runr: container init: {}: {}\n", e.step, e.source),
        InitFailure::Hook {
            step,
            path,
            failure,
        } => format!(
            "runr: container init: {step}: error running hook {}: {failure}\n",
            path.display()
        ),
    };
    // SAFETY-free: a borrowed stderr; losing the message is all that can go wrong.
    let _ = sys::write_all(std::io::stderr().as_fd(), msg.as_bytes(), None);
}
