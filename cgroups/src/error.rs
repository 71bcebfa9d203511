//! The crate's error type: every variant says what was being done, to which file, with which
//! value, and the errno the kernel returned, so the CLI can print it once and a person can act.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What the crate was doing when an I/O call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
    Mkdir,
    Rmdir,
    Open,
    ReadDir,
    Kill,
    Eventfd,
    Inotify,
    BpfProgLoad,
    BpfProgAttach,
    BpfProgDetach,
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
        op: Op,
        path: PathBuf,
        /// The value written, for writes.
        value: Option<String>,
        errno: Errno,
    },

    /// The spec asks for a resource whose controller is not mounted/enabled here.
    #[error("controller {controller} required by {required_by} is not available on this host ({layout:?} cgroup layout)")]
    ControllerUnavailable {
        controller: String,
        /// e.g. "linux.resources.memory.limit", or "pause" for the freezer.
        required_by: String,
        layout: crate::Layout,
    },

    /// A resource the spec sets cannot be expressed on this cgroup version at all.
    #[error("linux.resources.{field} is not supported on cgroup {layout:?}: {reason}")]
    Unsupported {
        field: String,
        layout: crate::Layout,
        reason: String,
    },

    /// A value in linux.resources is out of range or inconsistent.
    #[error("linux.resources.{field}: {reason}")]
    InvalidResource { field: String, reason: String },

    /// linux.cgroupsPath (or the container id used for the default path) is unusable.
    #[error("invalid cgroupsPath {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },

    /// Talking to systemd over D-Bus failed (connect, authenticate, a lost connection, no
    /// answer in time, a malformed message).
    #[error("systemd cgroup driver: D-Bus {}: {op}: {reason}", socket.display())]
    Dbus {
        socket: PathBuf,
        op: String,
        reason: String,
    },

    /// systemd refused a method call on a unit.
    #[error("systemd cgroup driver: {method}({unit}): {name}: {message}")]
    Systemd {
        method: &'static str,
        unit: String,
        name: String,
        message: String,
    },

    /// A systemd job for the unit ended other than "done".
    #[error("systemd cgroup driver: {method}({unit}): job ended with result {result:?}")]
    SystemdJob {
        method: &'static str,
        unit: String,
        result: String,
    },

    /// `--systemd-cgroup` on a host whose init is not systemd.
    #[error("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system), so unit {unit} cannot be created; use the cgroupfs driver (no --systemd-cgroup)")]
    SystemdNotRunning { unit: String },

    /// An `org.systemd.property.*` annotation cannot become a unit property.
    #[error("annotations[{key:?}]: {reason}")]
    InvalidAnnotation { key: String, reason: String },

    /// No usable cgroup file system was found.
    #[error("detect cgroup layout from {}: {reason}", path.display())]
    NoCgroupFs { path: PathBuf, reason: String },

    /// A cgroup file did not contain what the kernel documents.
    #[error("parse {}: unexpected content {content:?}: {reason}", path.display())]
    Parse {
        path: PathBuf,
        content: String,
        reason: String,
    },

    /// `create` found a pre-existing cgroup that already holds processes.
    #[error("container's cgroup {} is not empty: {count} process(es) found", path.display())]
    NotEmpty { path: PathBuf, count: usize },

    /// `create` found a pre-existing cgroup that is frozen.
    #[error("container's cgroup {} is unexpectedly frozen", path.display())]
    Frozen { path: PathBuf },

    /// The freezer did not reach the wanted state in time.
    #[error("freeze {}: state still {state:?} after {waited_ms} ms (thawed it back)", path.display())]
    FreezeTimeout {
        path: PathBuf,
        state: String,
        waited_ms: u64,
    },

    /// The kernel refused a memory limit below current usage (EBUSY on v1).
    #[error("write {limit} to {}: EBUSY: unable to set memory limit to {limit} (current usage: {usage}, peak usage: {peak})", path.display())]
    MemoryBelowUsage {
        path: PathBuf,
        limit: i64,
        usage: u64,
        peak: u64,
    },

    /// The kernel clamped cpu.shares to its allowed range (runc reports this too).
    #[error("write {requested} to {}: the {bound} allowed cpu-shares is {actual}", path.display())]
    CpuSharesClamped {
        path: PathBuf,
        requested: u64,
        actual: u64,
        bound: &'static str,
    },

    /// Processes were still in the cgroup after SIGKILL and waiting.
    #[error("destroy {}: {count} process(es) still present after SIGKILL and {waited_ms} ms", path.display())]
    StillPopulated {
        path: PathBuf,
        count: usize,
        waited_ms: u64,
    },

    /// The kernel's BPF verifier rejected the generated device filter.
    #[error("{op} {}: {errno}; verifier log: {log}", path.display())]
    Bpf {
        op: Op,
        path: PathBuf,
        errno: Errno,
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
