//! Crash points for the crash-safety tests, compiled in only with the `fault-injection` cargo
//! feature (off by default, never in a release build): without it [`point`] is an empty inline
//! function.
//!
//! With the feature, `RUNR_FAULT_STEP=K` makes the runtime SIGKILL itself at the K-th crash
//! point it reaches (counting from 1), after writing the point's name to `RUNR_FAULT_NAME`
//! when that names a file. A test runs K = 1, 2, … until the command completes: every step
//! boundary of the command gets its crash.

/// A step boundary of a command: the runtime may be killed here.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn point(_name: &str) {}

#[cfg(feature = "fault-injection")]
pub(crate) fn point(name: &str) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static REACHED: AtomicU32 = AtomicU32::new(0);
    let n = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
    let wanted = std::env::var("RUNR_FAULT_STEP")
        .ok()
        .and_then(|v| v.parse::<u32>().ok());
    if wanted != Some(n) {
        return;
    }
    if let Some(file) = std::env::var_os("RUNR_FAULT_NAME") {
        let _ = std::fs::write(file, name);
    }
    let _ = crate::sys::kill(std::process::id() as i32, libc::SIGKILL);
}
