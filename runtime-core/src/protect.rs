//! What the process that creates containers must be: running from a binary nobody can write
//! through `/proc/<pid>/exe` (CVE-2019-5736), and single-threaded (the init runs Rust code
//! between its clone and `execve`).

use std::os::fd::AsFd;
use std::path::Path;

use crate::error::{Error, Result};
use crate::exec_stub::{self, ExecStub};
use crate::sys;

/// Makes sure the calling program runs from a binary nobody can write through
/// `/proc/<pid>/exe`, re-executing itself once if not: call it first thing in `main`, before any
/// thread or file is opened, or later, only for a container the exec stub cannot serve
/// ([`ContainerBuilder::needs_protected_binary`](crate::ContainerBuilder::needs_protected_binary)),
/// before anything of the first image's that a second run would repeat. It may not return: the process is replaced by the same program with
/// the same arguments and environment, this time from a read-only view of its binary. Returns
/// whether the binary is protected (false only where neither way below is possible).
///
/// Why: the container's init and exec'd processes are clones of the calling program until their
/// `execve`. A container whose program is `/proc/self/exe` (or a script with
/// `#!/proc/self/exe`) then runs the caller's binary inside the container, where the
/// container's root can open its `/proc/<pid>/exe` and, once the caller has exited, write to it:
/// the host's binary (CVE-2019-5736). runc 1.1 copied itself into a sealed memfd on every call;
/// runc 1.2 executes through a detached read-only overlay mount. This does the cheaper variant
/// of the latter: a detached, read-only bind mount of the binary (`open_tree` +
/// `mount_setattr`, no copy, nothing attached anywhere) and `execveat` of it; every write-open
/// through the resulting `/proc/<pid>/exe` fails with EROFS. Where the new mount API is
/// unavailable (old kernel, no CAP_SYS_ADMIN) it falls back to a sealed memfd copy when running
/// as root, and to nothing otherwise (an unprivileged caller cannot start containers that could
/// use the hole).
///
/// [`ContainerBuilder::create`](crate::ContainerBuilder::create) warns (see
/// [`Container::warnings`](crate::Container::warnings)) when the binary is not protected, unless
/// the caller opted out with `allow_writable_binary`.
pub fn protect_binary() -> bool {
    if binary_is_protected() {
        return true;
    }
    let exe = Path::new("/proc/self/exe");
    let argv: Vec<std::ffi::CString> = std::env::args_os()
        .filter_map(|a| {
            std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str())).ok()
        })
        .collect();
    let envp: Vec<std::ffi::CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut e = std::os::unix::ffi::OsStrExt::as_bytes(k.as_os_str()).to_vec();
            e.push(b'=');
            e.extend_from_slice(std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()));
            std::ffi::CString::new(e).ok()
        })
        .collect();
    if let Ok(tree) = sys::open_tree_clone(exe) {
        if sys::mount_set_readonly(tree.as_fd()).is_ok() {
            // Returns only on failure; then try the copy.
            let _ = sys::execveat_fd(tree.as_fd(), &argv, &envp);
        }
    }
    if nix::unistd::geteuid().is_root() {
        if let Ok(copy) = sys::sealed_copy(exe) {
            let _ = sys::execveat_fd(copy.as_fd(), &argv, &envp);
        }
    }
    false
}

/// What Rust's own generated `main` does before user code, for a program that brings its own C
/// `main` instead (`#![no_main]`, as the `runr` binary does to start faster): the standard file
/// descriptors 0, 1 and 2 are made to exist (on `/dev/null` where closed), and SIGPIPE is
/// ignored, so writing to a reader that went away is an EPIPE error, not death by signal. Call
/// it first thing; a program with an ordinary `fn main` does not need it. The container's
/// processes get every signal's default action back whatever the runtime had.
pub fn entry_setup() {
    sys::open_missing_stdio();
    sys::ignore_sigpipe();
}

/// True when this process's binary cannot be written through `/proc/self/exe`: it lives on a
/// read-only mount, or is a sealed memfd copy (what [`protect_binary`] makes of it).
pub fn binary_is_protected() -> bool {
    let exe = Path::new("/proc/self/exe");
    if sys::statfs_flags(exe).is_ok_and(|f| f.contains(nix::mount::MsFlags::MS_RDONLY)) {
        return true;
    }
    std::fs::read_link(exe).is_ok_and(|p| p.to_string_lossy().starts_with("/memfd:runr"))
}

/// What `create` and `exec` do when the binary is writable and the exec stub cannot stand in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Unprotected {
    /// Go on, with a warning.
    #[default]
    Warn,
    /// Go on (the caller protects the binary another way).
    Allow,
    /// Fail before anything is made ([`Error::UnprotectedBinary`]).
    Refuse,
}

impl Unprotected {
    /// `choice` when `on`; when not, the default if `choice` was set, else unchanged (so that
    /// `allow_writable_binary(true).require_protected_binary(false)` still allows).
    pub(crate) fn with(self, choice: Unprotected, on: bool) -> Unprotected {
        match (on, self == choice) {
            (true, _) => choice,
            (false, true) => Unprotected::Warn,
            (false, false) => self,
        }
    }
}

/// How the processes of one create or exec leave the runtime's image: decided once by
/// [`route`], then applied with the caller's policy by [`launch`].
#[derive(Debug)]
pub(crate) enum Route {
    /// The binary is protected already: they exec their program directly.
    Protected,
    /// Through the exec stub, loaded for this call.
    Stub(ExecStub),
    /// Directly from the writable binary: the stub is not safe here (`why`), or could not be
    /// loaded (`why` with the error as `detail`).
    Unsafe {
        why: &'static str,
        detail: Option<String>,
    },
}

impl Route {
    /// Why the caller should re-execute from a protected binary first (`None`: no need).
    pub(crate) fn needs_protection(&self) -> Option<&'static str> {
        match self {
            Route::Unsafe { why, .. } => Some(why),
            Route::Protected | Route::Stub(_) => None,
        }
    }
}

/// Decides the [`Route`]: direct when the binary is protected already, else through the exec
/// stub where it is safe (exec_stub.rs) and can be loaded, else unsafe.
///
/// `ptrace_seen`: the container's state says a process could reach its exec'd processes
/// (see [`exec_stub::NO_STUB_MARKER`]).
pub(crate) fn route(
    spec: &oci_spec::runtime::Spec,
    exec: Option<&oci_spec::runtime::Process>,
    ptrace_seen: bool,
) -> Route {
    if binary_is_protected() {
        return Route::Protected;
    }
    let refused = match ptrace_seen {
        true => Some(exec_stub::SHARED_REACH),
        false => exec_stub::refusal(spec, exec),
    };
    if let Some(why) = refused {
        return Route::Unsafe { why, detail: None };
    }
    match ExecStub::load() {
        Ok(stub) => Route::Stub(stub),
        // A host where memfds may not be executed (vm.memfd_noexec = 2).
        Err(e) => Route::Unsafe {
            why: exec_stub::NOT_LOADABLE,
            detail: Some(e.to_string()),
        },
    }
}

/// Applies `policy` to `route`: the stub to launch through (if any), and the warning to give
/// when the processes leave from the writable binary; fails with
/// [`Error::UnprotectedBinary`] when the policy refuses that.
pub(crate) fn launch(
    route: Route,
    policy: Unprotected,
) -> Result<(Option<ExecStub>, Option<String>)> {
    let reason = match route {
        Route::Protected => return Ok((None, None)),
        Route::Stub(stub) => return Ok((Some(stub), None)),
        Route::Unsafe { why, detail: None } => why.to_string(),
        Route::Unsafe {
            why,
            detail: Some(e),
        } => format!("{why}: {e}"),
    };
    match policy {
        Unprotected::Allow => Ok((None, None)),
        Unprotected::Refuse => Err(Error::UnprotectedBinary { reason }),
        Unprotected::Warn => Ok((None, Some(writable_binary_warning(&reason)))),
    }
}

/// The warning `create` gives when the binary is writable, the exec stub cannot stand in, and
/// the caller did not opt out.
fn writable_binary_warning(reason: &str) -> String {
    let exe = std::fs::read_link("/proc/self/exe")
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/proc/self/exe".into());
    format!(
        "the calling binary {exe} is writable and the exec stub cannot stand in ({reason}): a \
         container running /proc/self/exe could overwrite it (CVE-2019-5736); call \
         runtime_core::protect_binary() first in main, or opt out with \
         allow_writable_binary(true)"
    )
}

/// The clone copies only the calling thread: another thread holding a lock (the allocator's,
/// stdio's) would leave it held forever in the init. Refuse instead of risking that.
pub(crate) fn check_single_threaded() -> Result<()> {
    let threads = sys::thread_count().map_err(Error::sys("count the calling process's threads"))?;
    if threads > 1 {
        return Err(Error::MultiThreaded { threads });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Unprotected::{self, Allow, Refuse, Warn};

    #[test]
    fn turning_one_choice_off_leaves_the_other() {
        assert_eq!(Warn.with(Allow, true), Allow);
        assert_eq!(Allow.with(Refuse, false), Allow);
        assert_eq!(Refuse.with(Allow, false), Refuse);
        assert_eq!(Allow.with(Allow, false), Warn);
        assert_eq!(Allow.with(Refuse, true), Refuse);
        assert_eq!(Unprotected::default(), Warn);
    }
}
