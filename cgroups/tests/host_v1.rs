//! Tests against the real host cgroupfs (root on a v1/hybrid host; otherwise each prints a
//! `SKIP` line). Every cgroup is made
//! under /<hierarchy>/runr-test-<pid>-<n> and removed by a Drop guard even when a test fails.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cgroups::{Error, Layout, Manager};
use common::res;

static N: AtomicUsize = AtomicUsize::new(0);

/// Why this host cannot run these tests, if it cannot: they need root and v1 hierarchies.
fn unusable() -> Option<String> {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        return Some("needs root".into());
    }
    match cgroups::detect_layout() {
        Ok(Layout::Legacy | Layout::Hybrid) => {}
        Ok(other) => {
            return Some(format!(
                "needs a cgroup v1/hybrid host, this one is {other:?}"
            ))
        }
        Err(e) => return Some(format!("no cgroup file system: {e}")),
    }
    (!Path::new("/sys/fs/cgroup/memory").exists())
        .then(|| "needs a v1 memory hierarchy at /sys/fs/cgroup/memory".into())
}

macro_rules! require_host {
    () => {
        if let Some(why) = unusable() {
            return test_skip::skip(why);
        }
    };
}

/// Owns the test cgroup and the children put in it; cleans both up on drop.
struct Guard {
    m: Manager,
    children: Vec<Child>,
}

impl Guard {
    fn new() -> Guard {
        let path = format!(
            "/runr-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let m = Manager::new(Some(&path), "ignored", false).unwrap();
        Guard {
            m,
            children: Vec::new(),
        }
    }

    fn spawn(&mut self, script: &str) -> u32 {
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        self.children.push(child);
        pid
    }

    fn dir(&self, ctrl: &str) -> PathBuf {
        self.m.v1_path(ctrl).unwrap().to_path_buf()
    }

    fn read(&self, ctrl: &str, file: &str) -> String {
        std::fs::read_to_string(self.dir(ctrl).join(file))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
        }
        let _ = self.m.thaw();
        if let Err(e) = self.m.destroy() {
            eprintln!("cleanup: {e}");
        }
        for c in &mut self.children {
            let _ = c.wait();
        }
        for dir in self.m.paths().values() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[test]
fn lifecycle_create_join_apply_freeze_stats_destroy() {
    require_host!();
    let mut g = Guard::new();
    assert_eq!(g.m.layout(), cgroups::detect_layout().unwrap());
    g.m.create().unwrap();
    for dir in g.m.paths().values() {
        assert!(dir.is_dir(), "{} not created", dir.display());
    }
    let pid = g.spawn("read x; sleep 1000");
    g.m.apply(&res(r#"{"memory":{"limit":268435456,"reservation":134217728},
        "cpu":{"shares":512,"quota":20000,"period":100000,"cpus":"0","mems":"0"},
        "pids":{"limit":64},
        "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
                   {"allow":true,"type":"c","major":136,"access":"rw"}]}"#))
        .unwrap();
    g.m.add_task(pid as i32).unwrap();

    assert_eq!(g.read("memory", "memory.limit_in_bytes"), "268435456");
    assert_eq!(g.read("memory", "memory.soft_limit_in_bytes"), "134217728");
    assert_eq!(g.read("cpu", "cpu.shares"), "512");
    assert_eq!(g.read("cpu", "cpu.cfs_quota_us"), "20000");
    assert_eq!(g.read("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(g.read("cpuset", "cpuset.cpus"), "0");
    assert_eq!(g.read("pids", "pids.max"), "64");
    assert_eq!(g.read("devices", "devices.list"), "c 1:3 rwm\nc 136:* rw");

    assert_eq!(g.m.pids().unwrap(), vec![pid as i32]);
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let name = g
        .dir("memory")
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(own.contains(&format!(":memory:/{name}\n")), "{own}");
    if g.m.layout() == Layout::Hybrid {
        assert!(
            own.contains(&format!("0::/{name}\n")),
            "not in the unified twin: {own}"
        );
    }

    let stats = g.m.stats().unwrap();
    assert_eq!(stats.pids.current, 1);
    assert_eq!(stats.pids.limit, 64);
    // (usage may be 0: v1 does not move existing charges with the task)
    assert_eq!(stats.memory.usage.limit, 268435456);

    g.m.freeze().unwrap();
    assert_eq!(g.read("freezer", "freezer.state"), "FROZEN");
    assert!(g.m.is_frozen().unwrap());
    g.m.thaw().unwrap();
    assert!(!g.m.is_frozen().unwrap());

    // runc update: zeros leave things alone; raising memory+swap works in either order.
    g.m.update(&res(
        r#"{"memory":{"limit":0},"cpu":{"shares":0,"quota":0},"pids":{"limit":0}}"#,
    ))
    .unwrap();
    assert_eq!(g.read("memory", "memory.limit_in_bytes"), "268435456");
    assert_eq!(g.read("cpu", "cpu.shares"), "512");
    if g.dir("memory").join("memory.memsw.limit_in_bytes").exists() {
        g.m.update(&res(r#"{"memory":{"limit":536870912,"swap":1073741824}}"#))
            .unwrap();
        assert_eq!(
            g.read("memory", "memory.memsw.limit_in_bytes"),
            "1073741824"
        );
        g.m.update(&res(r#"{"memory":{"limit":134217728,"swap":268435456}}"#))
            .unwrap();
        assert_eq!(g.read("memory", "memory.limit_in_bytes"), "134217728");
        assert_eq!(g.read("memory", "memory.memsw.limit_in_bytes"), "268435456");
    }
    g.m.update(&res(r#"{"pids":{"limit":-1},"cpu":{"quota":-1}}"#))
        .unwrap();
    assert_eq!(g.read("pids", "pids.max"), "max");
    assert_eq!(g.read("cpu", "cpu.cfs_quota_us"), "-1");

    // The manager survives state.json.
    let m2: Manager = serde_json::from_str(&serde_json::to_string(&g.m).unwrap()).unwrap();
    assert_eq!(m2.pids().unwrap(), vec![pid as i32]);

    // A second create on the populated cgroup shares it (runc 1.1.5 warns and shares it) and
    // reports what it found; release leaves it to that process.
    assert_eq!(g.m.create().unwrap(), 1);
    assert!(matches!(g.m.release(), Err(Error::InUse { count: 1, .. })));

    g.m.destroy().unwrap();
    let status = g.children[0].wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    for dir in g.m.paths().values() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn destroy_kills_a_frozen_container_and_nested_cgroups() {
    require_host!();
    let mut g = Guard::new();
    g.m.create().unwrap();
    let pid = g.spawn("read x; sleep 1000");
    g.m.add_task(pid as i32).unwrap();
    // A sub-cgroup made inside the container (as a nested runtime would).
    let nested = g.dir("memory").join("nested");
    std::fs::create_dir(&nested).unwrap();
    g.m.freeze().unwrap();
    g.m.destroy().unwrap();
    assert!(!nested.exists());
    for dir in g.m.paths().values() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn kill_all_signals_every_process() {
    require_host!();
    let mut g = Guard::new();
    g.m.create().unwrap();
    let a = g.spawn("read x; sleep 1000");
    let b = g.spawn("read x; sleep 1000");
    g.m.add_task(a as i32).unwrap();
    g.m.add_task(b as i32).unwrap();
    assert_eq!(g.m.pids().unwrap().len(), 2);
    g.m.kill_all(libc::SIGTERM).unwrap();
    for c in &mut g.children {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(c.wait().unwrap().signal(), Some(libc::SIGTERM));
    }
    g.m.destroy().unwrap();
}

#[test]
fn oom_eventfd_fires() {
    require_host!();
    let mut g = Guard::new();
    g.m.create().unwrap();
    let mut spec = r#"{"memory":{"limit":16777216}}"#.to_string();
    if g.dir("memory").join("memory.memsw.limit_in_bytes").exists() {
        spec = r#"{"memory":{"limit":16777216,"swap":16777216}}"#.to_string();
    }
    g.m.apply(&res(&spec)).unwrap();
    let fd = g.m.oom_event_fd().unwrap();
    let pid = g.spawn("read x; exec dd if=/dev/zero of=/dev/null bs=128M count=1");
    g.m.add_task(pid as i32).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut f = std::fs::File::from(fd);
        let mut buf = [0u8; 8];
        let _ = tx.send(f.read_exact(&mut buf).map(|_| u64::from_ne_bytes(buf)));
    });
    g.children[0]
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"go\n")
        .unwrap();
    let n = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("no OOM event")
        .unwrap();
    assert!(n >= 1);
    // The counter is bumped after the notification; give the kill time (30 s: a loaded host).
    let mut kills = 0;
    for _ in 0..3000 {
        kills = g.m.oom_kill_count().unwrap();
        if kills >= 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let ctl = std::fs::read_to_string(g.dir("memory").join("memory.oom_control")).unwrap();
    assert!(kills >= 1, "{ctl}");
    g.m.destroy().unwrap();
}

#[test]
fn default_path_is_relative_to_own_cgroup() {
    require_host!();
    // Resolution only: nothing is created under the caller's cgroup.
    let m = Manager::new(None, "runr-test-default", false).unwrap();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mem = own
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|x| x.1.to_string()))
        .unwrap();
    let want = Path::new("/sys/fs/cgroup/memory")
        .join(mem.trim_start_matches('/'))
        .join("runr-test-default");
    assert_eq!(m.v1_path("memory").unwrap(), want);
}

#[test]
fn missing_v1_controller_is_reported() {
    require_host!();
    if Path::new("/sys/fs/cgroup/net_cls").exists() {
        return test_skip::skip(
            "this host has a net_cls v1 hierarchy: a missing controller cannot be shown with it",
        );
    }
    let g = Guard::new();
    g.m.create().unwrap();
    let e = g.m.apply(&res(r#"{"network":{"classID":1}}"#)).unwrap_err();
    assert!(e.to_string().starts_with("controller net_cls required by linux.resources.network.classID is not available on this host"), "{e}");
}
