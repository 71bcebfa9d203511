//! The one way a runr test says it could not run here.
//!
//! A skipped test must be visible: [`skip`] writes `SKIP <test>: <reason>` to the process's real
//! stderr, which libtest does not capture (it captures only the `print!`/`eprint!` macros and
//! panic messages; `std::io::stderr()` writes straight to fd 2), and appends the same line to the
//! file named by `$RUNR_SKIP_LOG` (set by `scripts/test.sh`, which prints them all at the end).
//!
//! In CI (`CI=true`) a test that cannot run because a tool the project's scripts install
//! (`scripts/deps.sh`) is missing is a failure, not a skip: [`missing_tool`] panics there.
//!
//! The caller returns right after calling [`skip`]:
//!
//! ```no_run
//! if !std::path::Path::new("/sys/fs/cgroup/memory").exists() {
//!     return test_skip::skip("no v1 memory hierarchy on this host");
//! }
//! ```

use std::fmt::Display;
use std::io::Write;

/// The environment variable naming the file every skip line is appended to.
pub const LOG_ENV: &str = "RUNR_SKIP_LOG";

/// Reports that the calling test could not run here, and why. The test's name is taken from
/// the thread libtest runs it on, prefixed with the test binary's name.
pub fn skip(reason: impl Display) {
    skip_as(&current_test(), reason);
}

/// [`skip`] for a test that is not run by libtest (a `harness = false` suite names its cases).
pub fn skip_as(test: &str, reason: impl Display) {
    let line = format!("SKIP {test}: {reason}\n");
    // Unbuffered and uncaptured: the line reaches the terminal even when the test passes.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    if let Some(log) = std::env::var_os(LOG_ENV).filter(|v| !v.is_empty()) {
        // One short O_APPEND write per line: concurrent tests never interleave inside a line.
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = appended {
            panic!(
                "cannot append the skip line to ${LOG_ENV} ({}): {e}",
                std::path::Path::new(&log).display()
            );
        }
    }
}

/// `tool`, which the project's scripts install, is missing, so the calling test (or the part
/// of it that needs the tool) cannot run. A failure in CI; a skip elsewhere.
pub fn missing_tool(tool: &str, what: impl Display) {
    let reason = format!("{tool} is not installed ({what}; scripts/deps.sh installs it)");
    if in_ci() {
        panic!("CI=true: {reason}");
    }
    skip(reason);
}

/// Whether this runs in CI (`CI=true`, as CI systems and `.ci/run` set it).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `<binary>::<test>`: the test binary without cargo's hash, and libtest's thread name (the
/// test's path). A harness-less binary runs on `main`: then the binary alone.
fn current_test() -> String {
    let exe = std::env::current_exe().ok();
    let binary = exe
        .as_deref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .map(|n| match n.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
            _ => n,
        })
        .unwrap_or_else(|| "unknown".to_string());
    match std::thread::current().name() {
        Some(name) if name != "main" => format!("{binary}::{name}"),
        _ => binary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_names_the_test_and_lands_in_the_log() {
        let log = std::env::temp_dir().join(format!("test-skip-{}", std::process::id()));
        let _ = std::fs::remove_file(&log);
        std::env::set_var(LOG_ENV, &log);
        skip("because");
        skip_as("engines: docker run", "no docker");
        std::env::remove_var(LOG_ENV);
        let text = std::fs::read_to_string(&log).unwrap();
        let _ = std::fs::remove_file(&log);
        assert_eq!(
            text,
            "SKIP test_skip::tests::a_skip_names_the_test_and_lands_in_the_log: because\n\
             SKIP engines: docker run: no docker\n"
        );
    }
}
