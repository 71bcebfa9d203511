//! Progress events: the library reports the main steps of create, start and exec (and whatever
//! else calls [`step`]) to one sink the caller installs, such as the CLI's `--debug` log. The
//! library itself prints nothing; without a sink a step costs one atomic load.
//!
//! Each event carries the moment it happened, so a sink can time the phases between steps.
//! Only the runtime's own process reports: code running in a cloned child (the init, an exec'd
//! process) must not call [`step`] (the sink may take locks or allocate). A child records when
//! its phases end in `Marks` instead (CLOCK_MONOTONIC, which both sides of the fork share,
//! read through the vDSO) and sends them before `Ready` (`Message::Timings`), only when a sink
//! listens; the runtime reports them as steps at the times they happened.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One step: what happened, with its details as key/value pairs (`pid`, `id`, …).
#[derive(Debug)]
#[non_exhaustive]
pub struct Event<'a> {
    /// What happened (`config loaded`, `init cloned`).
    pub message: &'a str,
    /// Details as key and value.
    pub fields: &'a [(&'static str, String)],
    /// When.
    pub at: Instant,
}

/// Where events go.
pub type Sink = Box<dyn Fn(&Event<'_>) + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();

/// Installs the sink for this process. Only the first call counts; returns whether this one
/// did.
pub fn set_sink(sink: Sink) -> bool {
    SINK.set(sink).is_ok()
}

/// True when a sink listens (to skip building costly details).
pub fn enabled() -> bool {
    SINK.get().is_some()
}

/// Reports a step to the sink, if there is one.
pub fn step(message: &str, fields: &[(&'static str, String)]) {
    if let Some(sink) = SINK.get() {
        sink(&Event {
            message,
            fields,
            at: Instant::now(),
        });
    }
}

/// Reports a step that happened at `at` rather than now (one timed by another process).
pub fn step_at(message: &str, fields: &[(&'static str, String)], at: Instant) {
    if let Some(sink) = SINK.get() {
        sink(&Event {
            message,
            fields,
            at,
        });
    }
}

/// Now, on the clock every process of one container shares (CLOCK_MONOTONIC, in nanoseconds):
/// the runtime, its clones and its re-executed image.
pub fn now_ns() -> u64 {
    crate::sys::monotonic_ns()
}

/// The [`Instant`] of a [`now_ns`] reading, taken by this process or another one.
pub fn instant_of(ns: u64) -> Instant {
    let (now, now_ns) = (Instant::now(), now_ns());
    if ns <= now_ns {
        now.checked_sub(Duration::from_nanos(now_ns - ns))
            .unwrap_or(now)
    } else {
        now + Duration::from_nanos(ns - now_ns)
    }
}

/// The phases of the set-up a cloned child (the init, an exec'd process) carries out, each
/// marked when it ends. The child cannot report them itself: it sends its [`Marks`] to the
/// runtime (`Message::Timings`, process/sync.rs), which reports them as steps at their times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    Go = 1,
    Cgroup,
    Namespaces,
    Rootfs,
    ParentHooks,
    CreateContainerHooks,
    PivotRoot,
    Console,
    Hostname,
    Paths,
    Keyring,
    Confinement,
}

impl Phase {
    const ALL: [Phase; 12] = [
        Phase::Go,
        Phase::Cgroup,
        Phase::Namespaces,
        Phase::Rootfs,
        Phase::ParentHooks,
        Phase::CreateContainerHooks,
        Phase::PivotRoot,
        Phase::Console,
        Phase::Hostname,
        Phase::Paths,
        Phase::Keyring,
        Phase::Confinement,
    ];

    /// What the phase did, as the step that ends it is named.
    fn name(self) -> &'static str {
        match self {
            Phase::Go => "told to go",
            Phase::Cgroup => "joined its v1 cgroups",
            Phase::Namespaces => "namespaces joined and unshared",
            Phase::Rootfs => "mounts and /dev done",
            Phase::ParentHooks => "prestart and createRuntime hooks done",
            Phase::CreateContainerHooks => "createContainer hooks done",
            Phase::PivotRoot => "root entered (pivot_root)",
            Phase::Console => "console and cwd done",
            Phase::Hostname => "hostname and sysctl set",
            Phase::Paths => "readonly and masked paths done",
            Phase::Keyring => "session keyring joined",
            Phase::Confinement => "confined (rlimits, user, caps, seccomp, cwd, executable)",
        }
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// Most marks one child sends.
pub(crate) const MAX_MARKS: usize = 16;

/// The ends of a child's phases, on the [`now_ns`] clock. Recording costs nothing unless a
/// sink listens: the flag is read once, when the child starts (the sink itself is the
/// runtime's, and is never called in the child).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Marks {
    on: bool,
    n: usize,
    list: [(Phase, u64); MAX_MARKS],
}

impl Marks {
    /// Marks that record when the runtime traces.
    pub(crate) fn new() -> Marks {
        Marks::with(enabled())
    }

    pub(crate) fn with(on: bool) -> Marks {
        Marks {
            on,
            n: 0,
            list: [(Phase::Go, 0); MAX_MARKS],
        }
    }

    pub(crate) fn on(&self) -> bool {
        self.on
    }

    /// `phase` ends now.
    pub(crate) fn mark(&mut self, phase: Phase) {
        if self.on {
            self.push(phase, now_ns());
        }
    }

    pub(crate) fn push(&mut self, phase: Phase, ns: u64) {
        if self.n < MAX_MARKS {
            self.list[self.n] = (phase, ns);
            self.n += 1;
        }
    }

    pub(crate) fn as_slice(&self) -> &[(Phase, u64)] {
        &self.list[..self.n]
    }

    /// In the runtime: each mark becomes a step named `who: phase`, at the time it happened.
    pub(crate) fn report(&self, who: &str) {
        if !enabled() {
            return;
        }
        for (phase, ns) in self.as_slice() {
            step_at(&format!("{who}: {}", phase.name()), &[], instant_of(*ns));
        }
    }
}
