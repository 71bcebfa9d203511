//! Where a command's time goes (issue #20): every step the library reports
//! (`runtime_core::trace`, the init's phases included, timed on its side of the fork) ends a
//! phase that began at the step before. With `--debug` each step is logged as it comes, with
//! the phase's duration (`phase_ms=1.040`); with `RUNR_PHASE_TIMINGS=FILE` the command appends one
//! JSON line to FILE when it ends:
//!
//! ```text
//! {"command":"run","total_us":11920,"phases":[["re-exec from a read-only binary",1040],["config loaded",310],…]}
//! ```
//!
//! The first phase starts when the first image of `runr` reaches `main` (before the
//! CVE-2019-5736 re-exec: its start time crosses the exec in the environment); the last one,
//! "command done", ends when `main` returns. Neither variable set: no sink, and the library's
//! steps cost one atomic load each.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use runtime_core::trace;

use crate::log::Logger;

/// The file to append a JSON line to.
pub const FILE_ENV: &str = "RUNR_PHASE_TIMINGS";
/// The first image's start (CLOCK_MONOTONIC ns), for the re-executed image; removed on read.
const START_ENV: &str = "_RUNR_PHASES_START_NS";

/// The steps seen so far, in the order they were reported.
type Steps = Arc<Mutex<Vec<(String, Instant)>>>;

/// The file named by `RUNR_PHASE_TIMINGS`, if set and not empty.
pub fn file_from_env() -> Option<std::path::PathBuf> {
    std::env::var_os(FILE_ENV)
        .filter(|v| !v.is_empty())
        .map(Into::into)
}

/// Before the re-exec: keeps this image's start where the next image finds it.
pub fn keep_start_across_exec(start_ns: u64) {
    if std::env::var_os(START_ENV).is_none() {
        std::env::set_var(START_ENV, start_ns.to_string());
    }
}

/// After the re-exec (or where there was none): when the first image started, if it said so.
/// The variable goes, so that nothing this process starts inherits it.
pub fn start_before_exec() -> Option<Instant> {
    let ns = std::env::var(START_ENV).ok()?.parse().ok()?;
    std::env::remove_var(START_ENV);
    Some(trace::instant_of(ns))
}

/// The phases of this command, as they are reported.
pub struct Recorder {
    steps: Steps,
    file: Option<std::path::PathBuf>,
}

impl Recorder {
    /// Installs the library's sink: records every step and, with a `debug` log, logs it.
    /// `first` are steps that happened before the sink existed (the start, the re-exec).
    pub fn install(
        debug: Option<Logger>,
        file: Option<std::path::PathBuf>,
        first: &[(&str, Instant)],
    ) -> Recorder {
        let steps: Steps = Arc::new(Mutex::new(Vec::new()));
        let log = Mutex::new(debug);
        let seen = Arc::clone(&steps);
        let record = move |message: &str, fields: &[(&str, String)], at: Instant| {
            let Ok(mut seen) = seen.lock() else { return };
            let took = seen
                .last()
                .map(|(_, prev)| at.saturating_duration_since(*prev));
            seen.push((message.to_string(), at));
            drop(seen);
            if let Ok(mut guard) = log.lock() {
                if let Some(log) = guard.as_mut() {
                    let mut fields = fields.to_vec();
                    if let Some(took) = took {
                        fields.push(("phase_ms", ms_text(took)));
                    }
                    log.debug(message, &fields);
                }
            }
        };
        for (message, at) in first {
            record(message, &[], *at);
        }
        trace::set_sink(Box::new(move |ev| record(ev.message, ev.fields, ev.at)));
        Recorder { steps, file }
    }

    /// The command is done: appends its phases to the file, if one was named. A file that
    /// cannot be written is an error for the caller to log, not a failed command.
    pub fn finish(&self, command: &str) -> std::io::Result<()> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let mut steps = self.steps.lock().map(|s| s.clone()).unwrap_or_default();
        steps.push(("command done".into(), Instant::now()));
        let line = json_line(command, &mut steps);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

/// One line: the command, the total, and each phase (named by the step that ended it) with its
/// duration in µs (what a clock read on a busy machine means), in time order.
fn json_line(command: &str, steps: &mut [(String, Instant)]) -> String {
    // Steps timed by the init could arrive after later ones of the runtime: time order (an
    // insertion sort: the list is short and nearly sorted, and a std sort costs ~10 KiB of binary).
    for i in 1..steps.len() {
        let mut j = i;
        while j > 0 && steps[j - 1].1 > steps[j].1 {
            steps.swap(j - 1, j);
            j -= 1;
        }
    }
    let phases: Vec<serde_json::Value> = steps
        .windows(2)
        .map(|w| serde_json::json!([w[1].0, us(w[1].1 - w[0].1)]))
        .collect();
    let total = match (steps.first(), steps.last()) {
        (Some(a), Some(b)) => us(b.1 - a.1),
        _ => 0,
    };
    let v = serde_json::json!({"command": command, "total_us": total, "phases": phases});
    format!("{v}\n")
}

/// Whole microseconds (integers: no float formatting code in the binary for this).
fn us(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `1.040` for 1040 µs.
fn ms_text(d: std::time::Duration) -> String {
    let us = us(d);
    format!("{}.{:03}", us / 1000, us % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn phases_are_the_gaps_between_steps_in_time_order() {
        let t0 = Instant::now();
        let at = |us: u64| t0 + Duration::from_micros(us);
        // The init's step is reported after the runtime's later one: sorted back into place.
        let mut steps = vec![
            ("start".to_string(), at(0)),
            ("config loaded".to_string(), at(1500)),
            ("init ready".to_string(), at(4000)),
            ("init: mounts and /dev done".to_string(), at(3000)),
        ];
        let v: serde_json::Value = serde_json::from_str(&json_line("create", &mut steps)).unwrap();
        assert_eq!(v["command"], "create");
        assert_eq!(v["total_us"], 4000);
        assert_eq!(
            v["phases"],
            serde_json::json!([
                ["config loaded", 1500],
                ["init: mounts and /dev done", 1500],
                ["init ready", 1000]
            ])
        );
        assert_eq!(ms_text(Duration::from_micros(1040)), "1.040");
        assert_eq!(ms_text(Duration::from_micros(12)), "0.012");
    }
}
