//! The library's typed errors. Each names what failed: the config field and bundle, the path,
//! the syscall and errno, the hook. Messages follow runc's wording where engines or users match
//! on it ("container does not exist", "container not running").

use std::path::{Path, PathBuf};

use crate::container::ExitStatus;
use crate::process::InitStep;
use crate::state::Status;
use crate::sys::SysError;

/// A result with the library's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
/// Everything the library can fail with.
#[non_exhaustive]
pub enum Error {
    /// config.json is unreadable, malformed, or asks for something invalid.
    #[error("{}: {field}: {reason}", config.display())]
    Config {
        /// The bundle's config.json.
        config: PathBuf,
        /// The field, as a JSON path (`process.user.uid`, `mounts[3].source`).
        field: String,
        /// What is wrong with it.
        reason: ConfigReason,
    },

    #[error("invalid id format: {0}")]
    /// The container id breaks runc's rule (letters, digits, `_ + - .`; not `.` or `..`).
    InvalidId(String),

    #[error("container with id exists: {0}")]
    /// A container with this id exists under the root.
    AlreadyExists(String),

    #[error("container does not exist")]
    /// No container with this id exists under the root.
    NotFound(String),

    #[error("container not running")]
    /// The container's init is gone.
    NotRunning(String),

    /// The container's init cannot be told alive or gone: its `/proc/<pid>/stat` cannot be read
    /// (a `hidepid` /proc and no `CAP_SYS_PTRACE` over the init). It is never taken for stopped:
    /// nothing that depends on the status is done.
    #[error("container {id}: cannot tell whether its init (pid {pid}) is still running: {error} ({errno:?}): this runtime cannot see that process in /proc (mounted with hidepid? no CAP_SYS_PTRACE?); nothing was changed", errno = .error.errno)]
    InitUnknown {
        /// The container.
        id: String,
        /// The init's recorded pid.
        pid: i32,
        /// The read that failed, with its path and errno.
        error: SysError,
    },

    /// An operation that the container's current status does not allow.
    #[error("{message}")]
    WrongStatus {
        /// The container.
        id: String,
        /// Its status when the operation was refused.
        status: Status,
        /// runc's wording of the refusal.
        message: String,
    },

    /// `exec`'s sub-cgroup (runc's `--cgroup`) names no usable cgroup of the container.
    #[error("--cgroup: {reason}")]
    SubCgroup {
        /// The container.
        id: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A system call made by the runtime itself (not the container's init) failed.
    #[error("{context}: {error}")]
    Sys {
        /// What the runtime was doing.
        context: String,
        /// The syscall, its path and errno.
        error: SysError,
    },

    /// A step of the container's init failed; the error crossed the fork boundary typed.
    /// `detail` says what the step was working on, from the spec (a mount's type, source and
    /// options), when the errno alone would not.
    #[error("{}", describe_step("container init", *.step, .error, .detail))]
    Init {
        /// The step of the init's set-up.
        step: InitStep,
        /// The syscall, its path and errno.
        error: SysError,
        /// What the step was working on, from the spec (may be empty).
        detail: String,
    },

    /// A step of an exec'd process's set-up failed (typed, like `Init`).
    #[error("{}", describe_step("exec", *.step, .error, ""))]
    Exec {
        /// The step of the process's set-up.
        step: InitStep,
        /// The syscall, its path and errno.
        error: SysError,
    },

    /// The init died before reporting either success or a typed error.
    #[error("container init exited before it was ready ({status})")]
    InitDied {
        /// How it ended.
        status: ExitStatus,
    },

    /// An exec'd process died before reporting either success or a typed error.
    #[error("exec'd process exited before it was ready ({status})")]
    ExecDied {
        /// How it ended.
        status: ExitStatus,
    },

    /// A hook failed: which one, and how (its exit status or signal with the tail of its
    /// output, the errno that kept it from starting, or its timeout).
    #[error("{} hook #{index} ({}): {failure}", kind.name(), path.display())]
    Hook {
        /// The hook list (`prestart`, `createRuntime`, `createContainer`, `poststart`).
        kind: crate::hooks::HookKind,
        /// Its index in that list.
        index: usize,
        /// Its `path`.
        path: PathBuf,
        /// How it failed.
        failure: crate::hooks::HookFailure,
    },

    #[error(transparent)]
    /// A cgroup operation failed.
    Cgroup(#[from] cgroups::Error),

    /// `create` or `exec` was called from a process with more than one thread: the container's
    /// process is a clone of the calling thread alone, which another thread's held lock (the
    /// allocator's) would leave deadlocked.
    #[error("the calling process has {threads} threads: containers can only be created and exec'd from a single-threaded process")]
    MultiThreaded {
        /// How many threads `/proc/self/task` listed.
        threads: usize,
    },

    /// The calling binary is writable through `/proc/self/exe` and the exec stub cannot stand
    /// in for this container (`reason`, see [`crate::ContainerBuilder::require_protected_binary`]):
    /// nothing was created. Re-execute from a protected binary ([`crate::protect_binary`]).
    #[error("the runtime's binary is writable and the exec stub cannot protect it here: {reason}")]
    UnprotectedBinary {
        /// What rules the exec stub out.
        reason: String,
    },

    /// An `update` of the Intel RDT schemas this host or container cannot take (runc's words).
    #[error("{reason}")]
    IntelRdtUpdate {
        /// The container.
        id: String,
        /// Why not.
        reason: &'static str,
    },

    /// A builder option that cannot be used the way it was asked for.
    #[error("{option}: {reason}")]
    InvalidOption {
        /// The option (builder method) concerned.
        option: &'static str,
        /// Why it cannot be used.
        reason: &'static str,
    },

    /// The container's state directory could not be read or written.
    #[error("state {}: {source}", path.display())]
    State {
        /// The file or directory.
        path: PathBuf,
        /// What the system (or, for a malformed state.json, the parser) said.
        #[source]
        source: std::io::Error,
    },
}

/// Why a config field was refused: the `reason` of [`Error::Config`]. Its text is runc's
/// wording where runc has one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigReason {
    /// config.json, or the file a field names (`root.path`), cannot be read.
    #[error("{}", describe_unreadable(.path.as_deref(), .source))]
    Unreadable {
        /// The file the field names (`None`: config.json itself).
        path: Option<PathBuf>,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or a value of the wrong type for the field (the parser's words).
    #[error("{0}")]
    Malformed(String),
    /// A required field is absent.
    #[error("is required")]
    Missing,
    /// A field runr does not implement: refused, never accepted and ignored.
    #[error("{0}")]
    Unsupported(String),
    /// The value breaks a rule of the runtime-spec, of runc or of the kernel.
    #[error("{0}")]
    Invalid(String),
    /// A system call made to carry the field out failed (the host refused it): what the
    /// runtime was doing with the field's value, and the syscall's operation, path and errno.
    #[error("{context}: {error}")]
    Sys {
        /// What the runtime was doing ("moving \"veth0\" into the container as \"eth1\"").
        context: String,
        /// The syscall, its path and errno.
        error: SysError,
    },
}

impl From<String> for ConfigReason {
    fn from(reason: String) -> Self {
        ConfigReason::Invalid(reason)
    }
}

impl From<&str> for ConfigReason {
    fn from(reason: &str) -> Self {
        ConfigReason::Invalid(reason.to_string())
    }
}

/// "<path>: <error>" (or only the error, for config.json itself), the error worded as Go's.
fn describe_unreadable(path: Option<&Path>, e: &std::io::Error) -> String {
    match path {
        Some(p) => format!("{}: {}", p.display(), io_reason(e)),
        None => io_reason(e),
    }
}

/// An I/O error's text without Rust's " (os error N)" tail, lowercased like Go's
/// ("no such file or directory").
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Error {
    pub(crate) fn sys(context: impl Into<String>) -> impl FnOnce(SysError) -> Error {
        let context = context.into();
        move |error| Error::Sys { context, error }
    }

    /// A problem with `field` of the bundle's `config` file.
    pub(crate) fn config(
        config: &Path,
        field: impl Into<String>,
        reason: impl Into<ConfigReason>,
    ) -> Error {
        Error::Config {
            config: config.to_path_buf(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn state(path: impl Into<PathBuf>, source: impl Into<std::io::Error>) -> Error {
        Error::State {
            path: path.into(),
            source: source.into(),
        }
    }
}

/// runc's wording for a program that cannot be run; "<what>: <step>: <error>" otherwise.
fn describe_step(what: &str, step: InitStep, error: &SysError, detail: &str) -> String {
    let path = error
        .path
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    match step {
        InitStep::FindExecutable
            if error.errno == nix::errno::Errno::ENOENT && !path.contains('/') =>
        {
            format!("{step}: exec: {path:?}: executable file not found in $PATH")
        }
        InitStep::FindExecutable => {
            format!(
                "{step}: exec: {path:?}: {}",
                error.errno.desc().to_lowercase()
            )
        }
        // runc's wording, which tools match on.
        _ if error.op == crate::sys::SysOp::MountTarget => {
            let fs = detail.split(' ').next().unwrap_or("proc");
            format!(
                "{what}: {step} ({detail}): filesystem {fs:?} must be mounted on ordinary directory ({path} is a symlink)"
            )
        }
        _ if detail.is_empty() => format!("{what}: {step}: {error}"),
        _ => format!("{what}: {step} ({detail}): {error}"),
    }
}
