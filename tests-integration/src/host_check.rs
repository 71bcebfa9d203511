//! The host is left as it was found (issue #12 item 22): on a hybrid host, the root
//! `cgroup.subtree_control` of the cgroup2 mount must be the same when a test binary exits as
//! when it first made a container. A controller enabled there outlives every container (nothing
//! owns the root to undo it) and keeps that controller from ever being mounted as a v1
//! hierarchy again; crun then refuses the host.
//!
//! The host's `/bin/busybox` keeps its mode and owner (test rootfs trees link it).
//!
//! The host's `/dev/null` must also still be the world-writable null device: a runtime that
//! bind-mounts host device nodes into a container lets the container chmod the host's node (seen
//! once here: it became 0755, and every later runc failed opening it).
//!
//! [`watch_cgroup2_root`] is called by [`crate::Bundle::new`], so every test binary that runs a
//! container checks both at exit and fails (exit status 1) if one changed.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// (the file, what it held when first read); `None` when the host is not hybrid.
static BEFORE: OnceLock<Option<(PathBuf, String)>> = OnceLock::new();
/// `/dev/null`'s mode, owner and device number when first read.
static DEV_NULL: OnceLock<Option<(u32, u32, u64)>> = OnceLock::new();
/// The host's `/bin/busybox` (mode, uid, gid) when first read: every test rootfs hard-links it,
/// so a test that changes a rootfs's owner or mode without [`crate::break_hard_links`] changes
/// the host's binary (seen once: a rootless test's `chown -R` gave it to the test user).
static BUSYBOX: OnceLock<Option<(u32, u32, u32)>> = OnceLock::new();

fn busybox() -> Option<(u32, u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata("/bin/busybox").ok()?;
    Some((m.mode(), m.uid(), m.gid()))
}

fn dev_null() -> Option<(u32, u32, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata("/dev/null").ok()?;
    Some((m.mode(), m.uid(), m.rdev()))
}

/// The root `cgroup.subtree_control` of a hybrid host's cgroup2 mount (cgroup2 beside v1
/// hierarchies); `None` on a pure v1 or v2 host, where enabling controllers at the root is how
/// cgroup v2 is used (runc does it too).
pub fn hybrid_cgroup2_root() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut v2 = None;
    let mut v1 = false;
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        match (post.split(' ').next(), pre.split(' ').nth(4)) {
            (Some("cgroup2"), Some(mnt)) => v2 = Some(PathBuf::from(mnt)),
            (Some("cgroup"), Some(_)) => v1 = true,
            _ => {}
        }
    }
    v2.filter(|_| v1).map(|m| m.join("cgroup.subtree_control"))
}

/// Remembers the hybrid root's `cgroup.subtree_control` (once per process) and checks it again
/// when the process exits.
pub fn watch_cgroup2_root() {
    DEV_NULL.get_or_init(|| {
        BEFORE.get_or_init(|| {
            let path = hybrid_cgroup2_root()?;
            let text = std::fs::read_to_string(&path).ok()?;
            Some((path, text))
        });
        // SAFETY: `check_at_exit` is a plain `extern "C" fn()` that touches only these statics
        // (initialised before registration) and never unwinds: it writes with `let _ =` and
        // ends with `_exit`, so nothing can panic across the C boundary.
        unsafe { libc::atexit(check_at_exit) };
        BUSYBOX.get_or_init(busybox);
        dev_null()
    });
}

extern "C" fn check_at_exit() {
    if let Some(Some(before)) = BUSYBOX.get() {
        let now = busybox();
        if now.as_ref() != Some(before) {
            let _ = writeln!(
                std::io::stderr(),
                "host check FAILED: /bin/busybox (mode, uid, gid) was {before:?} when this test \
                 binary started and {now:?} at its end (a test changed a rootfs that links it)"
            );
            // SAFETY: as below: end the process at once, after the harness has finished.
            unsafe { libc::_exit(1) };
        }
    }
    if let Some(Some(before)) = DEV_NULL.get() {
        let now = dev_null();
        if now.as_ref() != Some(before) {
            let _ = writeln!(
                std::io::stderr(),
                "host check FAILED: /dev/null (mode, uid, rdev) was {before:?} when this test \
                 binary started and {now:?} at its end (changed by it or by something running \
                 beside it)"
            );
            // SAFETY: as below: end the process at once, after the harness has finished.
            unsafe { libc::_exit(1) };
        }
    }
    let Some(Some((path, before))) = BEFORE.get() else {
        return;
    };
    let now = std::fs::read_to_string(path).unwrap_or_default();
    if &now == before {
        return;
    }
    let _ = writeln!(
        std::io::stderr(),
        "host check FAILED: {} held {:?} when this test binary started and {:?} at its end \
         (changed by it or by something running beside it): a controller enabled at the root \
         of a hybrid host's cgroup2 mount outlives every container",
        path.display(),
        before.trim(),
        now.trim()
    );
    // SAFETY: _exit ends the process at once without running further atexit handlers or
    // destructors, which is what is wanted after the test harness has finished.
    unsafe { libc::_exit(1) };
}
