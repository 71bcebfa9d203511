//! The last steps every container process goes through before `execve`, whether it is the
//! container's init (after its rootfs is built) or a process `exec`'d into a running container:
//! personality, CPU affinity, scheduler and I/O priority, rlimits, LSM labels, no_new_privs, the
//! capability bounding set, the user, the capability sets, seccomp, the working directory, the
//! environment and the executable. One script for both, so that an exec'd process is confined
//! exactly like the init.
//!
//! The runtime itself is never dumpable while it runs here (process/clone.rs clears the flag
//! before the clone): a container process cannot open `/proc/<pid>/exe` of this process, which
//! is still the runtime's binary until `execve` (CVE-2019-5736); `execve` makes the container's
//! own program dumpable again.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{ExecCPUAffinity, LinuxPersonality, Process};

use super::sync::{Channel, Message};
use super::{InitStep, StepError, StepResult, Tag};
use crate::seccomp::Compiled;
use crate::sys::{self, Errno, SysError, SysOp};
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
}

/// A process ready to exec: what is left is (maybe) loading seccomp, then `execve`.
pub(crate) struct Ready<'a> {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    /// With no_new_privs the filter goes in last, so the runtime's own steps are not filtered.
    late_seccomp: Option<&'a Compiled>,
    /// process.execCPUAffinity.final, set right before exec.
    final_cpus: Option<String>,
}

/// Runs the steps; returns the process ready to exec and, when the seccomp filter notifies, the
/// listener fd for the runtime to pass on.
pub(crate) fn prepare<'s>(f: &Finish<'_, 's>) -> StepResult<(Ready<'s>, Option<OwnedFd>)> {
    let process = f.process;
    let nnp = process.no_new_privileges().unwrap_or(false);
    let mut listener = None;

    // 0a. The CPUs the runtime's remaining steps run on (execCPUAffinity.initial): the process
    //     already is in the container's cgroup (the clone put it there), so this is the earliest
    //     point it can be set from the inside.
    if let Some(cpus) = f.cpu_affinity.and_then(|a| a.initial().as_deref()) {
        lsm::apply_cpu_affinity(cpus).tag(InitStep::CpuAffinity)?;
    }

    // 0b. The execution domain (personality(2)): it survives execve, needs no privilege, and
    //     nothing the runtime still does depends on it.
    if let Some(p) = f.personality {
        lsm::apply_personality(p).tag(InitStep::Personality)?;
    }

    // 0c. Scheduler and I/O priority while the capabilities are still there: real-time
    //     policies and a negative nice need CAP_SYS_NICE, the real-time I/O class CAP_SYS_ADMIN;
    //     both are inherited across execve.
    if let Some(s) = process.scheduler() {
        lsm::apply_scheduler(s).tag(InitStep::Scheduler)?;
    }
    if let Some(io) = process.io_priority() {
        lsm::apply_io_priority(io).tag(InitStep::IoPriority)?;
    }

    // 1. Resource limits, while the process may still raise them.
    for (i, r) in process
        .rlimits()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        rlimits::apply(r).tag(InitStep::Rlimit(i as u32))?;
    }

    // 1b. LSM labels for the next execve (AppArmor onexec profile, SELinux exec context): as
    //     runc does, before no_new_privs (with it set, the LSMs only allow transitions to a
    //     narrower domain) and before the capabilities and the user change (the attr files of
    //     a process that is not dumpable belong to root). They take effect at execve, so the
    //     runtime's own remaining steps are not confined by them. The parent has already refused
    //     a label this kernel cannot apply (lsm::check).
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

    // 2. no_new_privs before anything that could gain privileges.
    if nnp {
        sys::set_no_new_privs().tag(InitStep::NoNewPrivs)?;
    }

    // 3. Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we have it.
    //    With no_new_privs it goes in as late as possible, so the runtime's own steps are not
    //    filtered — except a notifying filter, whose listener must reach the runtime first.
    if let Some(filter) = f.seccomp.filter(|_| !nnp) {
        listener = sys::seccomp_set_filter(&filter.program, filter.flags).tag(InitStep::Seccomp)?;
    }
    let late_seccomp = f.seccomp.filter(|fl| nnp && !fl.notify);

    // 4. Privileges: bounding set, user, then the capability sets (kept across the uid change).
    let caps = process.capabilities().as_ref();
    capabilities::apply_bounding(caps).tag(InitStep::Capabilities)?;
    user::switch_to(process.user()).tag(InitStep::User)?;
    capabilities::apply_sets(caps).tag(InitStep::Capabilities)?;
    if let Some(filter) = f.seccomp.filter(|fl| nnp && fl.notify) {
        listener = sys::seccomp_set_filter(&filter.program, filter.flags).tag(InitStep::Seccomp)?;
    }

    // 5. The working directory, resolved inside the container's root as its user.
    sys::chdir(process.cwd()).tag(InitStep::Cwd)?;
    // Defence in depth (CVE-2024-21626): a cwd reached through an fd of the host is outside our
    // root, which getcwd reports as unreachable. Refuse to run there.
    sys::check_cwd_inside_root(process.cwd()).tag(InitStep::Cwd)?;

    // 6. Find the program now, so that a missing executable fails the operation, not the
    //    container later.
    let envp = environment(process, f.extra_env);
    let path = find_executable(process, &envp).tag(InitStep::FindExecutable)?;
    sys::umask(process.user().umask().unwrap_or(0o022));

    // 7. Nothing of the runtime's may reach the container: every fd past stdio and the
    //    preserved ones closes on exec (CVE-2024-21626 class).
    sys::cloexec_from(3 + f.preserve_fds).tag(InitStep::Report)?;

    let argv = process.args().as_deref().unwrap_or_default();
    let ready = Ready {
        path: cstring(path.as_os_str().as_bytes()),
        argv: argv.iter().map(|a| cstring(a.as_bytes())).collect(),
        envp: envp.iter().map(|e| cstring(e.as_bytes())).collect(),
        late_seccomp,
        final_cpus: f.cpu_affinity.and_then(|a| a.cpu_affinity_final().clone()),
    };
    Ok((ready, listener))
}

/// Loads a late seccomp filter and execs. Returns only on failure.
pub(crate) fn exec(ready: Ready<'_>) -> StepError {
    // The CPUs the container's program runs on (execCPUAffinity.final): last, so everything the
    // runtime did ran on the initial set.
    if let Some(cpus) = ready.final_cpus.as_deref() {
        if let Err(e) = lsm::apply_cpu_affinity(cpus) {
            return StepError {
                step: InitStep::CpuAffinity,
                source: e,
            };
        }
    }
    if let Some(filter) = ready.late_seccomp {
        if let Err(e) = sys::seccomp_set_filter(&filter.program, filter.flags) {
            return StepError {
                step: InitStep::Seccomp,
                source: e,
            };
        }
    }
    StepError {
        step: InitStep::Exec,
        source: sys::execve(&ready.path, &ready.argv, &ready.envp),
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

/// Tells the runtime the process is ready: first the seccomp listener, if the filter made one
/// (it must reach the runtime before `create`/`exec` returns), then `Ready`.
pub(crate) fn report_ready(channel: &Channel, listener: Option<OwnedFd>) -> StepResult<()> {
    if let Some(fd) = listener {
        channel
            .send_with_fd(&Message::SeccompListener, std::os::fd::AsFd::as_fd(&fd))
            .tag(InitStep::Report)?;
    }
    channel.send(&Message::Ready).tag(InitStep::Report)
}
