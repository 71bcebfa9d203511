//! Real cgroup2 tests, on a pure v2 host (the v2 VM: /sys/fs/cgroup) and on a hybrid one (its
//! cgroup2 mount, /sys/fs/cgroup/unified): a Manager for the Unified layout is pointed at that
//! mount with no controllers to enable, so the host's subtree_control is left alone. Without
//! root or a cgroup2 mount they print a `SKIP` line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Hierarchy, Layout, Manager};

/// The host's cgroup2 mount, or why there is none to test on.
fn mount() -> Result<PathBuf, &'static str> {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        return Err("needs root");
    }
    // Only a cgroup2 root has cgroup.controllers (a v1 hierarchy or the hybrid tmpfs has not).
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("cgroup.controllers").exists() && p.join("cgroup.procs").exists())
        .map(Path::to_path_buf)
        .ok_or("needs a cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified")
}

struct Guard(Manager, Vec<std::process::Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.1 {
            let _ = c.kill();
        }
        let _ = self.0.destroy();
        for c in &mut self.1 {
            let _ = c.wait();
        }
        if let Some(d) = self.0.v2_path() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

#[test]
fn v2_lifecycle_on_a_real_cgroup2_mount() {
    let mount = match mount() {
        Ok(m) => m,
        Err(why) => return test_skip::skip(why),
    };
    let dir = mount.join(format!("runr-test-v2-{}", std::process::id()));
    let m = Manager {
        layout: Layout::Unified,
        v1: vec![],
        v2: Some(Hierarchy {
            controllers: vec![],
            mount: mount.clone(),
            dir: dir.clone(),
        }),
        created: vec![dir.clone()],
        rootless: false,
        skipped: vec![],
        systemd: None,
        systemd_user: false,
        systemd_user_bus: None,
        systemd_slice: String::new(),
        journal: Default::default(),
    };
    let mut g = Guard(m, vec![]);
    g.0.create().unwrap();
    assert!(dir.is_dir());
    assert!(g.0.v2_dir_fd().unwrap().is_some());
    let child = Command::new("sh")
        .arg("-c")
        .arg("read x; sleep 1000")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    g.1.push(child);
    g.0.add_task(pid).unwrap();
    assert_eq!(g.0.pids().unwrap(), vec![pid]);

    g.0.freeze().unwrap();
    assert!(g.0.is_frozen().unwrap());
    let events = std::fs::read_to_string(dir.join("cgroup.events")).unwrap();
    assert!(events.contains("frozen 1"), "{events}");
    g.0.thaw().unwrap();
    assert!(!g.0.is_frozen().unwrap());

    let stats = g.0.stats().unwrap();
    let _ = stats; // cpu.stat exists on every cgroup2 dir; the cpu controller may not be enabled.

    // A controller that is not enabled here is reported, not skipped.
    let e =
        g.0.apply(&serde_json::from_str(r#"{"pids":{"limit":3}}"#).unwrap())
            .unwrap_err();
    assert!(
        matches!(e, crate::Error::ControllerUnavailable { .. }),
        "{e}"
    );

    g.1[0].stdin.as_mut().unwrap().write_all(b"").unwrap();
    g.0.destroy().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(g.1[0].wait().unwrap().signal(), Some(libc::SIGKILL));
    assert!(!dir.exists());
}
