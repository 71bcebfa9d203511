//! Signals as a typed value for [`Container::kill`](crate::Container::kill).

use std::fmt;
use std::str::FromStr;

/// Which processes [`Container::kill`](crate::Container::kill) signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KillTarget {
    /// The container's init (runc's `kill`).
    #[default]
    Init,
    /// Every process in the container's cgroup (runc's `kill --all`), even once the init is
    /// gone; a container without a cgroup of its own falls back to its init.
    AllProcesses,
}

/// A signal number the kernel accepts: 0 (send nothing, only check that the container runs)
/// through `SIGRTMAX`.
///
/// ```
/// use runtime_core::Signal;
/// assert_eq!("KILL".parse::<Signal>().unwrap(), Signal::KILL);
/// assert_eq!("SIGTERM".parse::<Signal>().unwrap().as_raw(), 15);
/// assert_eq!("9".parse::<Signal>().unwrap(), Signal::KILL);
/// assert!(Signal::new(65).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(i32);

/// Names as runc's `kill` takes them (without the `SIG` prefix), with their numbers on Linux.
const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The highest real-time signal on Linux.
const MAX: i32 = 64;

impl Signal {
    /// Signal 0: nothing is sent; `kill` only checks that the container runs.
    pub const CHECK: Signal = Signal(0);
    /// `SIGHUP`.
    pub const HUP: Signal = Signal(libc::SIGHUP);
    /// `SIGINT`.
    pub const INT: Signal = Signal(libc::SIGINT);
    /// `SIGKILL`: cannot be caught.
    pub const KILL: Signal = Signal(libc::SIGKILL);
    /// `SIGTERM`: what `runc kill` sends by default.
    pub const TERM: Signal = Signal(libc::SIGTERM);
    /// `SIGUSR1`.
    pub const USR1: Signal = Signal(libc::SIGUSR1);
    /// `SIGUSR2`.
    pub const USR2: Signal = Signal(libc::SIGUSR2);
    /// `SIGSTOP`.
    pub const STOP: Signal = Signal(libc::SIGSTOP);
    /// `SIGCONT`.
    pub const CONT: Signal = Signal(libc::SIGCONT);

    /// The signal numbered `n`, if Linux has one (0 through 64).
    pub fn new(n: i32) -> Option<Signal> {
        (0..=MAX).contains(&n).then_some(Signal(n))
    }

    /// The signal's number.
    pub fn as_raw(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match NAMES.iter().find(|(_, n)| *n == self.0) {
            Some((name, _)) => write!(f, "SIG{name}"),
            None => write!(f, "signal {}", self.0),
        }
    }
}

/// The signal given neither as a known name nor as a number from 0 to 64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signal {0:?}")]
pub struct UnknownSignal(pub String);

impl FromStr for Signal {
    type Err = UnknownSignal;

    /// A number, or a name with or without `SIG`, in any case (`KILL`, `sigkill`), as runc
    /// reads them (no `RTMIN+N` names: runc has none either).
    fn from_str(s: &str) -> Result<Signal, UnknownSignal> {
        let unknown = || UnknownSignal(s.to_string());
        if let Ok(n) = s.parse::<i32>() {
            return Signal::new(n).ok_or_else(unknown);
        }
        let upper = s.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, n)| Signal(*n))
            .ok_or_else(unknown)
    }
}
