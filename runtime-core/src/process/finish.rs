//! The last steps every container process goes through before `execve`, whether it is the
//! container's init (after its rootfs is built) or a process `exec`'d into a running container:
//! personality, CPU affinity, scheduler and I/O priority, rlimits, LSM labels, no_new_privs, the
//! working directory, the environment, the capability bounding set, the user, the capability
//! sets, the executable, close-on-exec, and seccomp. One script for both, so that an exec'd
//! process is confined exactly like the init.
//!
//! The seccomp filter comes after all of the runtime's own work that a profile could deny
//! (chdir, the executable lookup's `faccessat2`, `close_range`): as runc, without no_new_privs
//! it is loaded while CAP_SYS_ADMIN is still effective, right before the final capability sets;
//! with it, right before `execve` (or before reporting ready when its listener must reach an
//! agent first). After it the runtime only drops capabilities, reports, waits for `start`, runs
//! the startContainer hooks (under the filter, as in runc) and execs.
//!
//! The runtime itself is never dumpable while it runs here (process/clone.rs clears the flag
//! before the clone): a container process cannot open `/proc/<pid>/exe` of this process, which
//! is still the runtime's binary until `execve` (CVE-2019-5736); `execve` makes the container's
//! own program dumpable again.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{ExecCPUAffinity, LinuxPersonality, Process};

use super::sync::{Channel, Message};
use super::{InitStep, StepError, StepResult, Tag};
use crate::exec_stub::{self, ExecStub, Keep};
use crate::seccomp::Compiled;
use crate::sys::{self, Errno, SysError, SysOp};
use crate::trace::Marks;
use crate::{capabilities, lsm, rlimits, user};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the process needs besides its spec.
pub(crate) struct Finish<'p, 's> {
    pub process: &'p Process,
    pub seccomp: Option<&'s Compiled>,
    /// Extra environment (socket activation).
    pub extra_env: &'p [String],
    /// fds 3 .. 3+n stay open across exec.
    pub preserve_fds: u32,
    /// linux.personality (the container's init only; runc gives exec'd processes none either).
    pub personality: Option<&'p LinuxPersonality>,
    /// process.execCPUAffinity (exec'd processes only: the spec says it does not apply to the
    /// container's init).
    pub cpu_affinity: Option<&'p ExecCPUAffinity>,
    /// The exec stub to leave the runtime's image through (exec_stub.rs); `None`: the runtime's
    /// binary is protected already, the program is executed directly.
    pub stub: Option<&'s ExecStub>,
}

/// A process ready to exec: what is left is (maybe) loading seccomp, then `execve`.
pub(crate) struct Ready<'a> {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    /// With no_new_privs (and no listener to hand over) the filter goes in last, so that as few
    /// of the runtime's own syscalls as possible are filtered.
    late_seccomp: Option<&'a Compiled>,
    /// process.execCPUAffinity.final, set right before exec.
    final_cpus: Option<String>,
    stub: Option<&'a ExecStub>,
}

/// Runs the steps; returns the process ready to exec. A notifying seccomp filter's listener has
/// been handed to the runtime over `channel` by then.
pub(crate) fn prepare<'s>(f: &Finish<'_, 's>, channel: &Channel) -> StepResult<Ready<'s>> {
    let process = f.process;
    let nnp = process.no_new_privileges().unwrap_or(false);
    let caps = process.capabilities().as_ref();

    // 1. What the process runs with but needs privileges to set: CPUs, personality, scheduler,
    //    I/O priority, rlimits, LSM labels.
    execution_settings(f)?;

    // 2. no_new_privs before anything that could gain privileges.
    if nnp {
        sys::set_no_new_privs().tag(InitStep::NoNewPrivs)?;
    }

    // 3. The working directory, entered while the runtime can still reach it (runc does: a cwd
    //    only root may enter works for any process.user); a cwd the runtime may not enter (a
    //    volume only the container's user may enter) is tried again as that user below.
    let cwd = process.cwd();
    let cwd_entered = match sys::chdir(cwd) {
        Ok(()) => true,
        Err(e) if e.errno == Errno::EACCES || e.errno == Errno::EPERM => false,
        Err(e) => return Err(StepError::at(InitStep::Cwd, e)),
    };

    // 4. The environment, from the container's /etc/passwd, while it can still be read.
    let envp = environment(process, f.extra_env);

    // 5. Privileges: the bounding set, then the user (the capabilities are kept across the
    //    uid change).
    capabilities::apply_bounding(caps).tag(InitStep::Capabilities)?;
    user::switch_to(process.user()).tag(InitStep::User)?;
    if !cwd_entered {
        sys::chdir(cwd).tag(InitStep::Cwd)?;
    }
    // Defence in depth (CVE-2024-21626): a cwd reached through an fd of the host is outside our
    // root, which getcwd reports as unreachable. Refuse to run there.
    sys::check_cwd_inside_root(cwd).tag(InitStep::Cwd)?;

    // 6. The capability sets. Without no_new_privs, loading the filter needs CAP_SYS_ADMIN:
    //    it stays effective until then.
    let early_seccomp = f.seccomp.filter(|_| !nnp);
    match early_seccomp {
        Some(_) => capabilities::apply_sets_keeping(caps, capabilities::SYS_ADMIN),
        None => capabilities::apply_sets(caps),
    }
    .tag(InitStep::Capabilities)?;

    // 7. Find the program with the process's own identity and capabilities, now, so that a
    //    missing executable fails the operation, not the container later.
    let path = find_executable(process, &envp).tag(InitStep::FindExecutable)?;
    sys::umask(process.user().umask().unwrap_or(0o022));

    // 8. Nothing of the runtime's may reach the container: every fd past stdio and the
    //    preserved ones closes on exec (CVE-2024-21626 class).
    sys::cloexec_from(3 + f.preserve_fds).tag(InitStep::Report)?;

    // 9. The seccomp filter, after all of the runtime's own work (so that a profile cannot deny
    //    it): without no_new_privs before the last capabilities go; with it, a notifying filter
    //    now (its listener must reach the agent before `create` returns), any other right
    //    before execve (Ready::confine).
    if let Some(filter) = early_seccomp {
        load_seccomp(filter, channel)?;
        capabilities::apply_sets(caps).tag(InitStep::Capabilities)?;
    } else if let Some(filter) = f.seccomp.filter(|fl| fl.notify) {
        load_seccomp(filter, channel)?;
    }

    let argv = process.args().as_deref().unwrap_or_default();
    Ok(Ready {
        path: cstring(path.as_os_str().as_bytes()),
        argv: argv.iter().map(|a| cstring(a.as_bytes())).collect(),
        envp: envp.iter().map(|e| cstring(e.as_bytes())).collect(),
        late_seccomp: f.seccomp.filter(|fl| nnp && !fl.notify),
        final_cpus: f.cpu_affinity.and_then(|a| a.cpu_affinity_final().clone()),
        stub: f.stub,
    })
}

/// CPU affinity, personality, scheduler, I/O priority, rlimits and LSM labels: settings the
/// container's process inherits across execve that may need the runtime's privileges.
fn execution_settings(f: &Finish<'_, '_>) -> StepResult<()> {
    let process = f.process;
    // The CPUs the runtime's remaining steps run on (execCPUAffinity.initial): the process
    // already is in the container's cgroup (the clone put it there), so this is the earliest
    // point it can be set from the inside.
    if let Some(cpus) = f.cpu_affinity.and_then(|a| a.initial().as_deref()) {
        lsm::apply_cpu_affinity(cpus).tag(InitStep::CpuAffinity)?;
    }

    // The execution domain (personality(2)): it survives execve, needs no privilege, and
    // nothing the runtime still does depends on it.
    if let Some(p) = f.personality {
        lsm::apply_personality(p).tag(InitStep::Personality)?;
    }

    // Scheduler and I/O priority while the capabilities are still there: real-time policies
    // and a negative nice need CAP_SYS_NICE, the real-time I/O class CAP_SYS_ADMIN; both are
    // inherited across execve.
    if let Some(s) = process.scheduler() {
        lsm::apply_scheduler(s).tag(InitStep::Scheduler)?;
    }
    if let Some(io) = process.io_priority() {
        lsm::apply_io_priority(io).tag(InitStep::IoPriority)?;
    }

    // Resource limits, while the process may still raise them.
    for (i, r) in process
        .rlimits()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        rlimits::apply(r).tag(InitStep::Rlimit(i as u32))?;
    }

    // LSM labels for the next execve (AppArmor onexec profile, SELinux exec context): as runc
    // does, before no_new_privs (with it set, the LSMs only allow transitions to a narrower
    // domain) and before the capabilities and the user change (the attr files of a process
    // that is not dumpable belong to root). They take effect at execve, so the runtime's own
    // remaining steps are not confined by them. The parent has already refused a label this
    // kernel cannot apply (lsm::check).
    if let Some(profile) = process
        .apparmor_profile()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        lsm::apply_apparmor(profile).tag(InitStep::AppArmor)?;
    }
    if let Some(label) = process.selinux_label().as_deref().filter(|l| !l.is_empty()) {
        lsm::apply_selinux(label).tag(InitStep::SelinuxLabel)?;
    }
    Ok(())
}

/// Loads a filter. A notifying one yields a listener, which the runtime copies out of this
/// process (`pidfd_getfd`) on a plain `write` of its number, as runc does; the filter refuses
/// to notify on `write` (seccomp.rs), so this cannot wait for an agent that has no listener
/// yet. Whatever the filter notifies from here on waits for the agent, which gets it next.
fn load_seccomp(filter: &Compiled, channel: &Channel) -> StepResult<()> {
    let Some(listener) =
        sys::seccomp_set_filter(&filter.program, filter.flags).tag(InitStep::Seccomp)?
    else {
        return Ok(());
    };
    channel
        .send(&Message::SeccompListener {
            fd: listener.as_raw_fd(),
        })
        .tag(InitStep::Seccomp)?;
    match channel.recv().tag(InitStep::Seccomp)? {
        Some(Message::SeccompDone) => Ok(()),
        _ => Err(StepError::at(
            InitStep::Seccomp,
            SysError::new(SysOp::Read, None, Errno::EPROTO),
        )),
    }
}

impl Ready<'_> {
    /// The last confinement before execve: the CPUs the program runs on
    /// (execCPUAffinity.final: everything the runtime did ran on the initial set) and a filter
    /// loaded late. What the init still runs after this (startContainer hooks) runs under the
    /// container's seccomp filter, as in runc.
    pub(crate) fn confine(&mut self) -> StepResult<()> {
        if let Some(cpus) = self.final_cpus.take() {
            lsm::apply_cpu_affinity(&cpus).tag(InitStep::CpuAffinity)?;
        }
        if let Some(filter) = self.late_seccomp.take() {
            sys::seccomp_set_filter(&filter.program, filter.flags).tag(InitStep::Seccomp)?;
        }
        Ok(())
    }

    /// `execve`s the container's program, through the exec stub when there is one. `keep` is
    /// the fd that must stay open until the program's own `execve` (the runtime watches it
    /// close), and says where the stub reports a failure of it. Returns only on failure.
    pub(crate) fn exec(self, keep: Keep<'_>) -> StepError {
        let Some(stub) = self.stub else {
            let failed = sys::execve(&self.path, &self.argv, &self.envp);
            return StepError::at(InitStep::Exec, failed);
        };
        let kept = match keep {
            Keep::Nothing => vec![],
            Keep::Wait { fifo, handover } => vec![fifo, handover],
            Keep::Channel(fd) => vec![fd],
        };
        for fd in kept {
            if let Err(e) = sys::keep_across_exec(fd) {
                return StepError::at(InitStep::Exec, e);
            }
        }
        // The name the stub takes back (`start` watches for the name to change at the
        // program's execve), and then what it runs.
        let comm = sys::own_comm().unwrap_or_default();
        let argv = exec_stub::argv(&comm, keep, &self.path, &self.argv);
        // A failure here is the stub's, not the program's: say so (the path names the stub).
        let mut failed = sys::execveat_fd(stub.fd(), &argv, &self.envp);
        failed.path = Some(PathBuf::from("the exec stub (memfd)"));
        StepError::at(InitStep::Exec, failed)
    }

    /// Whether the program is executed through the exec stub.
    pub(crate) fn through_stub(&self) -> bool {
        self.stub.is_some()
    }
}

/// The process environment: the spec's, plus socket activation variables, plus HOME.
fn environment(process: &Process, extra: &[String]) -> Vec<String> {
    let spec_env = process.env().as_deref().unwrap_or_default();
    user::environment(spec_env, extra, process.user().uid())
}

/// Resolves args[0] like execvp would, with the container's PATH, and checks that the
/// container's user may execute it.
fn find_executable(process: &Process, env: &[String]) -> Result<PathBuf, SysError> {
    let arg0 = &process.args().as_deref().unwrap_or_default()[0];
    let not_found = || SysError::new(SysOp::Lookup, Some(Path::new(arg0)), Errno::ENOENT);
    let check = |p: &Path| -> Result<(), SysError> {
        let meta = std::fs::metadata(p).map_err(|_| not_found())?;
        if meta.is_dir() {
            return Err(SysError::new(SysOp::Lookup, Some(p), Errno::EISDIR));
        }
        sys::can_execute(p).map_err(|e| SysError {
            op: SysOp::Lookup,
            ..e
        })
    };
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        check(&p)?;
        return Ok(p);
    }
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path_var.split(':') {
        let candidate = Path::new(if dir.is_empty() { "." } else { dir }).join(arg0);
        if check(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(not_found())
}

fn cstring(bytes: &[u8]) -> CString {
    CString::new(
        bytes
            .iter()
            .copied()
            .filter(|b| *b != 0)
            .collect::<Vec<u8>>(),
    )
    .unwrap_or_default()
}

/// Tells the runtime the process is ready, with when its set-up phases ended if it traces.
pub(crate) fn report_ready(channel: &Channel, marks: &Marks) -> StepResult<()> {
    if marks.on() {
        channel
            .send(&Message::Timings(Box::new(*marks)))
            .tag(InitStep::Report)?;
    }
    channel.send(&Message::Ready).tag(InitStep::Report)
}
