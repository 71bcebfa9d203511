//! The crate's error type: every variant says what was being done, to which file, with which
//! value, and the errno the kernel returned, so the CLI can print it once and a person can act.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What the crate was doing when an I/O call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Reading a cgroup file.
    Read,
    /// Writing a cgroup file.
    Write,
    /// Creating a cgroup directory.
    Mkdir,
    /// Removing a cgroup directory.
    Rmdir,
    /// Opening a cgroup file or directory.
    Open,
    /// Listing a cgroup directory.
    ReadDir,
    /// Signalling a process of the cgroup.
    Kill,
    /// Creating an eventfd (v1 OOM notification).
    Eventfd,
    /// Watching a file with inotify (v2 OOM events).
    Inotify,
    /// Loading the v2 device filter (`BPF_PROG_LOAD`).
    BpfProgLoad,
    /// Attaching the device filter to the cgroup (`BPF_PROG_ATTACH`).
    BpfProgAttach,
    /// Detaching a replaced device filter (`BPF_PROG_DETACH`).
    BpfProgDetach,
    /// Listing the cgroup's device filters (`BPF_PROG_QUERY`).
    BpfProgQuery,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::Mkdir => "mkdir",
            Op::Rmdir => "rmdir",
            Op::Open => "open",
            Op::ReadDir => "readdir",
            Op::Kill => "kill",
            Op::Eventfd => "register eventfd on",
            Op::Inotify => "inotify watch",
            Op::BpfProgLoad => "bpf(BPF_PROG_LOAD) device filter for",
            Op::BpfProgAttach => "bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE) on",
            Op::BpfProgDetach => "bpf(BPF_PROG_DETACH, BPF_CGROUP_DEVICE) on",
            Op::BpfProgQuery => "bpf(BPF_PROG_QUERY, BPF_CGROUP_DEVICE) on",
        })
    }
}

/// An errno shown as its symbolic name and its description: `EBUSY (Device or resource busy)`.
#[derive(Debug)]
pub struct Errno(pub io::Error);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.raw_os_error().and_then(errno_name) {
            Some(name) => {
                let text = self.0.to_string();
                // std appends " (os error N)"; keep only the description.
                let desc = text.split(" (os error").next().unwrap_or(&text);
                write!(f, "{name} ({desc})")
            }
            None => write!(f, "{}", self.0),
        }
    }
}

fn errno_name(e: i32) -> Option<&'static str> {
    Some(match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        _ => return None,
    })
}

/// Errors from the cgroups crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system or syscall operation on a cgroup file failed.
    #[error("{op} {}{}: {errno}", path.display(), value.as_ref().map(|v| format!(" (value {v:?})")).unwrap_or_default())]
    Io {
        /// The operation.
        op: Op,
        /// The cgroup file or directory.
        path: PathBuf,
        /// The value written, for writes.
        value: Option<String>,
        /// The errno the kernel returned.
        errno: Errno,
    },

    /// The spec asks for a resource whose controller is not mounted/enabled here.
    #[error("controller {controller} required by {required_by} is not available on this host ({layout:?} cgroup layout)")]
    ControllerUnavailable {
        /// The controller's name (`memory`, `cpu` …).
        controller: String,
        /// e.g. "linux.resources.memory.limit", or "pause" for the freezer.
        required_by: String,
        /// The host's cgroup layout.
        layout: crate::Layout,
    },

    /// Rootless: the spec asks for a limit of a controller whose cgroup the runtime had no
    /// permission to create (runc: "cannot set memory limit: container could not join or create
    /// cgroup").
    #[error("{required_by}: {}", rootless_reason(controller, path, reason))]
    RootlessDenied {
        /// The controller (v1 name) whose cgroup was skipped.
        controller: String,
        /// The config field that needs it, e.g. "linux.resources.memory.limit".
        required_by: String,
        /// The directory the runtime could not create.
        path: PathBuf,
        /// Why (the errno's text).
        reason: String,
    },

    /// A resource the spec sets cannot be expressed on this cgroup version at all.
    #[error("linux.resources.{field} is not supported on cgroup {layout:?}: {reason}")]
    Unsupported {
        /// The field below `linux.resources`.
        field: String,
        /// The host's cgroup layout.
        layout: crate::Layout,
        /// Why.
        reason: String,
    },

    /// A value in linux.resources is out of range or inconsistent.
    #[error("linux.resources.{field}: {reason}")]
    InvalidResource {
        /// The field below `linux.resources`.
        field: String,
        /// What is wrong with its value.
        reason: String,
    },

    /// linux.cgroupsPath (or the container id used for the default path) is unusable.
    #[error("invalid cgroupsPath {path:?}: {reason}")]
    InvalidPath {
        /// The cgroupsPath as given.
        path: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// Talking to systemd over D-Bus failed (connect, authenticate, a lost connection, no
    /// answer in time, a malformed message).
    #[error("systemd cgroup driver: D-Bus {}: {op}: {reason}", socket.display())]
    Dbus {
        /// The bus socket.
        socket: PathBuf,
        /// What was being done.
        op: String,
        /// Why it failed.
        reason: String,
    },

    /// systemd refused a method call on a unit.
    #[error("systemd cgroup driver: {method}({unit}): {name}: {message}")]
    Systemd {
        /// The systemd Manager method called.
        method: &'static str,
        /// The unit it was called for.
        unit: String,
        /// The D-Bus error name systemd answered with.
        name: String,
        /// systemd's message.
        message: String,
    },

    /// A systemd job for the unit ended other than "done".
    #[error("systemd cgroup driver: {method}({unit}): job ended with result {result:?}")]
    SystemdJob {
        /// The systemd Manager method whose job it was.
        method: &'static str,
        /// The unit.
        unit: String,
        /// The job's result (`failed`, `timeout`, …).
        result: String,
    },

    /// `--systemd-cgroup` on a host whose init is not systemd.
    #[error("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system), so unit {unit} cannot be created; use the cgroupfs driver (no --systemd-cgroup)")]
    SystemdNotRunning {
        /// The unit that would have been made.
        unit: String,
    },

    /// `--systemd-cgroup` unprivileged: no session bus of the user's systemd was found.
    #[error("--systemd-cgroup as an unprivileged user: {reason}; the user's systemd (user@UID.service) must run with a session bus (package dbus-user-session, or `systemctl --user start dbus`), or run without --systemd-cgroup")]
    NoSessionBus {
        /// What was looked at and why it cannot be used.
        reason: String,
    },

    /// The user's systemd that made the container's unit cannot be reached at the session bus
    /// create used (the user's manager stopped: logged out without lingering, rebooted).
    #[error("the session bus {socket} of the user's systemd that made this container ({manager}) cannot be reached: {reason}; start it again (`systemctl start user@UID.service`, or `loginctl enable-linger USER` to keep it) or remove what is left with the cgroupfs paths by hand")]
    UserBusGone {
        /// The socket create used.
        socket: PathBuf,
        /// The manager's `ControlGroup` then.
        manager: String,
        /// Why connecting failed.
        reason: String,
    },

    /// The session bus create used now leads to another user's systemd.
    #[error("the session bus {socket} now leads to the systemd of {found}, not to the one that made this container ({manager}): refusing to drive another user's manager")]
    UserBusNowOther {
        /// The socket create used.
        socket: PathBuf,
        /// The manager's `ControlGroup` at create.
        manager: String,
        /// The `ControlGroup` of the manager there now.
        found: String,
    },

    /// `--systemd-cgroup` unprivileged on a host without pure cgroup v2 (as runc: a user's
    /// systemd can only delegate a cgroup v2 subtree).
    #[error("--systemd-cgroup as an unprivileged user needs a pure cgroup v2 host (this one is {layout:?}): the user's systemd can only delegate a cgroup v2 subtree; use the cgroupfs driver")]
    SystemdUserNeedsV2 {
        /// The host's layout.
        layout: crate::Layout,
    },

    /// An `org.systemd.property.*` annotation cannot become a unit property.
    #[error("annotations[{key:?}]: {reason}")]
    InvalidAnnotation {
        /// The annotation's key.
        key: String,
        /// Why its value cannot be a property.
        reason: String,
    },

    /// No usable cgroup file system was found.
    #[error("detect cgroup layout from {}: {reason}", path.display())]
    NoCgroupFs {
        /// The file read to find the layout (mountinfo).
        path: PathBuf,
        /// What was missing.
        reason: String,
    },

    /// A cgroup file did not contain what the kernel documents.
    #[error("parse {}: unexpected content {content:?}: {reason}", path.display())]
    Parse {
        /// The cgroup file or directory.
        path: PathBuf,
        /// What the file held.
        content: String,
        /// Why.
        reason: String,
    },

    /// `create` found a pre-existing cgroup that is frozen.
    #[error("container's cgroup unexpectedly frozen ({})", path.display())]
    Frozen {
        /// The frozen cgroup.
        path: PathBuf,
    },

    /// The freezer did not reach the wanted state in time.
    #[error("freeze {}: state still {state:?} after {waited_ms} ms (thawed it back)", path.display())]
    FreezeTimeout {
        /// The cgroup file or directory.
        path: PathBuf,
        /// The freezer state last read.
        state: String,
        /// How long it waited, in milliseconds.
        waited_ms: u64,
    },

    /// The kernel refused a memory limit below current usage (EBUSY on v1).
    #[error("write {limit} to {}: EBUSY: unable to set memory limit to {limit} (current usage: {usage}, peak usage: {peak})", path.display())]
    MemoryBelowUsage {
        /// The cgroup file or directory.
        path: PathBuf,
        /// The limit asked for, in bytes.
        limit: i64,
        /// The cgroup's current memory usage, in bytes.
        usage: u64,
        /// The cgroup's peak memory usage, in bytes.
        peak: u64,
    },

    /// The kernel clamped cpu.shares to its allowed range (runc reports this too).
    #[error("write {requested} to {}: the {bound} allowed cpu-shares is {actual}", path.display())]
    CpuSharesClamped {
        /// The cgroup file or directory.
        path: PathBuf,
        /// The shares asked for.
        requested: u64,
        /// The shares the kernel kept.
        actual: u64,
        /// Which bound was hit (`minimum` or `maximum`).
        bound: &'static str,
    },

    /// [`Manager::release`](crate::Manager::release) left the cgroup in place: processes that are not the container's
    /// (it shares the cgroup with them) still use it.
    #[error("container's cgroup {} is still used by {count} other process(es): left in place", path.display())]
    InUse {
        /// The cgroup left in place.
        path: PathBuf,
        /// How many processes still use it.
        count: usize,
    },

    /// Processes were still in the cgroup after SIGKILL and waiting.
    #[error("destroy {}: {count} process(es) still present after SIGKILL and {waited_ms} ms", path.display())]
    StillPopulated {
        /// The cgroup file or directory.
        path: PathBuf,
        /// How many processes are still in it.
        count: usize,
        /// How long it waited, in milliseconds.
        waited_ms: u64,
    },

    /// The kernel's BPF verifier rejected the generated device filter.
    #[error("{op} {}: {errno}; verifier log: {log}", path.display())]
    Bpf {
        /// The operation.
        op: Op,
        /// The cgroup file or directory.
        path: PathBuf,
        /// The errno the kernel returned.
        errno: Errno,
        /// The verifier's log.
        log: String,
    },
}

impl Error {
    pub(crate) fn io(op: Op, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            value: None,
            errno: Errno(source),
        }
    }

    pub(crate) fn write(path: impl Into<PathBuf>, value: &str, source: io::Error) -> Error {
        Error::Io {
            op: Op::Write,
            path: path.into(),
            value: Some(value.to_string()),
            errno: Errno(source),
        }
    }

    /// The raw errno of an I/O failure, if this is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { errno, .. } | Error::Bpf { errno, .. } => errno.0.raw_os_error(),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

fn rootless_reason(controller: &str, path: &std::path::Path, reason: &str) -> String {
    format!(
        "cannot set {controller} limit: container could not join or create cgroup {} (runtime is unprivileged: {reason})",
        path.display()
    )
}

impl Error {
    /// For an error about one config field (a limit the rootless rule cannot honour): the field
    /// and the message without it, so the caller can name its bundle's config too.
    pub fn config_field(&self) -> Option<(&str, String)> {
        match self {
            Error::RootlessDenied {
                controller,
                required_by,
                path,
                reason,
            } => Some((required_by, rootless_reason(controller, path, reason))),
            _ => None,
        }
    }
}
