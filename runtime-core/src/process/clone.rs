//! Where the runtime clones a process that enters a container: the init, or an exec'd process.
//!
//! One `clone3` creates the init with all its new namespaces (and, on cgroup v2, directly in its
//! cgroup). Two other places make processes: the init forks once more when it had to unshare a
//! new pid namespace after joining a user namespace (`init::enter_pid_namespace`), and hooks are
//! spawned with `std::process::Command` (`hooks.rs`). The child runs the closure it is given and never returns into the caller's frames: it
//! leaves through `_exit`, even when the closure panics.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::namespaces::Join;
use crate::sys::{self, Forked, SysResult};

pub(crate) struct Spawned {
    pub pid: Pid,
    pub pidfd: OwnedFd,
}

impl Spawned {
    /// SIGKILLs the process through its pidfd and reaps it (when it is our child): the undo of a
    /// half-done create or exec.
    pub fn kill_and_reap(&self) {
        let _ = sys::pidfd_send_signal(self.pidfd.as_fd(), libc::SIGKILL);
        let _ = sys::waitpid(self.pid.as_raw());
    }
}

/// Clones the init. `pid_ns` is an existing pid namespace to create it in (the parent enters it
/// only for the duration of the clone). `child` runs in the new process and must not return.
pub(crate) fn spawn_init(
    flags: CloneFlags,
    cgroup: Option<BorrowedFd<'_>>,
    pid_ns: Option<&Join>,
    maps_by_unprivileged_parent: bool,
    child: impl FnOnce(),
) -> SysResult<Spawned> {
    let own_pid_ns = match pid_ns {
        Some(join) => {
            let own = sys::open(
                Path::new("/proc/self/ns/pid"),
                OFlag::O_RDONLY,
                Mode::empty(),
            )?;
            sys::setns(join.fd.as_fd(), CloneFlags::CLONE_NEWPID, &join.path)?;
            Some(own)
        }
        None => None,
    };
    // The child's /proc/<pid>/exe stays closed to the container (CVE-2019-5736). Except that an
    // unprivileged parent can write the child's id maps only while the child is dumpable (else
    // its /proc files belong to root): then the child is born dumpable and clears the flag
    // itself as soon as its maps are written (init step 1), as runc's nsexec does.
    sys::set_dumpable(maps_by_unprivileged_parent)?;
    // SAFETY: the builder refused a multi-threaded caller before any create or exec; the child
    // runs `child` and then `exit_now` below (even when `child` panics), never returning into
    // the caller's frames.
    #[allow(unsafe_code)]
    let forked = unsafe { sys::clone_process(flags, cgroup) };
    if maps_by_unprivileged_parent && !matches!(forked, Ok(Forked::Child)) {
        sys::set_dumpable(false)?;
    }
    if let (Some(own), Ok(Forked::Parent { .. }) | Err(_)) = (&own_pid_ns, &forked) {
        // Children the runtime forks later (hooks) must stay in the runtime's pid namespace.
        sys::setns(
            own.as_fd(),
            CloneFlags::CLONE_NEWPID,
            Path::new("/proc/self/ns/pid"),
        )?;
    }
    match forked? {
        Forked::Child => {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child));
            // `child` never returns normally; a panic ends up here.
            let _ = outcome;
            sys::exit_now(127)
        }
        Forked::Parent { pid, pidfd } => {
            let pidfd = match pidfd {
                Some(fd) => fd,
                None => sys::pidfd_open(pid.as_raw())?,
            };
            Ok(Spawned { pid, pidfd })
        }
    }
}
