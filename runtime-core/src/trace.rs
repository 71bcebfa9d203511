//! Progress events: the library reports the main steps of create, start and exec (and whatever
//! else calls [`step`]) to one sink the caller installs, such as the CLI's `--debug` log. The
//! library itself prints nothing; without a sink a step costs one atomic load.
//!
//! Each event carries the moment it happened, so a sink can time the phases between steps.
//! Only the runtime's own process reports: code running in a cloned child (the init, an exec'd
//! process) must not call [`step`] (the sink may take locks or allocate).

use std::sync::OnceLock;
use std::time::Instant;

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
