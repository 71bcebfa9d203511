//! State that cannot be confused (issue #14, item 5): a container whose init's start time the
//! runtime cannot read is reported as such, never as `stopped`, and nothing that depends on
//! the status (`delete`, `kill`, `start`, `exec`, `pause`) is done to it.
//!
//! The runtime under test is made truly blind to the init, as on a hardened host: it runs in a
//! private mount namespace whose /proc is a fresh procfs mounted with `hidepid=noaccess` (the
//! init's /proc entry exists but cannot be read: EPERM) or `hidepid=invisible` (it is not
//! listed at all: ENOENT), with a `gid=` the runtime is not in, and without `CAP_SYS_PTRACE`
//! in its bounding set (which would let it read any process's entry). The init is not dumpable
//! while it waits for `start` and runs as uid 1000 after it, so neither is visible to it.
//!
//! runc (1.1.5, and today's runc: `runType` in libcontainer/container_linux.go) says `stopped`
//! for such an init, and its `delete` then removes the state of the live container; the test
//! runs the same scenario under runc and prints what it did, for the README.

use std::process::{Command, Output};

use serde_json::{json, Value};
use tests_integration::*;

/// The two ways a `hidepid` /proc keeps another user's process from the runtime.
const HIDEPID: [(&str, &str); 2] = [
    ("noaccess", "Operation not permitted"),
    ("invisible", "No such file or directory"),
];

/// Runs `rt args` blind to the container's processes: own mount namespace, a `hidepid` /proc
/// (gid 65533, a group root is not in), no CAP_SYS_PTRACE.
fn blind(rt: &Runtime, hidepid: &str, args: &[&str]) -> Output {
    let script = format!(
        "mount -t proc -o hidepid={hidepid},gid=65533 proc /proc && \
         exec setpriv --bounding-set -sys_ptrace --inh-caps -sys_ptrace \"$@\""
    );
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(script)
        .arg("sh")
        .arg(&rt.bin)
        .arg("--root")
        .arg(&rt.root)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("spawn unshare")
}

fn text(o: &Output) -> String {
    format!(
        "exit {}; stdout: {}; stderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout).trim(),
        String::from_utf8_lossy(&o.stderr).trim()
    )
}

/// One line of what a command answered: its exit, the status it printed, its first stderr line.
fn summary(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout);
    let status = ["creating", "created", "running", "paused", "stopped"]
        .into_iter()
        .find(|s| {
            out.contains(&format!("\"status\": \"{s}\""))
                || out.contains(&format!("\"status\":\"{s}\""))
        });
    let err = String::from_utf8_lossy(&o.stderr);
    format!(
        "{}, status {}, stderr {:?}",
        o.status,
        status.unwrap_or("-"),
        err.lines().next().unwrap_or_default()
    )
}

/// A bundle whose process runs as uid 1000 and prints `ready` once it runs.
fn bundle() -> Bundle {
    let mut b = Bundle::shell("echo ready; exec sleep 1000");
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b
}

fn status_of(rt: &Runtime, id: &str) -> String {
    rt.state(id)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The init is still alive and the state directory still there (checked with full sight).
fn untouched(rt: &Runtime, id: &str, pid: i64, want: &str, ctx: &str) {
    assert!(
        rt.root.join(id).join("state.json").exists(),
        "{ctx}: the state of a live container was removed"
    );
    assert_eq!(status_of(rt, id), want, "{ctx}: status changed");
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "{ctx}: the init {pid} is gone"
    );
}

/// What a blind runr must answer: a failure that names the pid and the errno, and no status.
fn refused(o: &Output, pid: i64, errno: &str, ctx: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{ctx}: succeeded blind: {}", text(o));
    assert!(
        err.contains(&format!("pid {pid}")) && err.contains(errno),
        "{ctx}: the error does not name the init's pid and errno: {}",
        text(o)
    );
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("stopped"),
        "{ctx}: reported stopped: {}",
        text(o)
    );
}

/// Checks the blind preconditions once: a blind shell cannot read the stat of a uid-1000
/// process (else the host's procfs ignores hidepid and the test would prove nothing).
fn blindness_works(hidepid: &str, errno: &str) {
    let mut sleeper = Command::new("setpriv")
        .args(["--reuid", "1000", "--regid", "1000", "--clear-groups"])
        .args(["sleep", "100"])
        .spawn()
        .expect("spawn setpriv");
    let pid = sleeper.id();
    let stat = format!("/proc/{pid}/stat");
    let cat = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(format!(
            "mount -t proc -o hidepid={hidepid},gid=65533 proc /proc && \
             exec setpriv --bounding-set -sys_ptrace cat {stat}"
        ))
        .output()
        .expect("spawn unshare");
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(
        !cat.status.success() && String::from_utf8_lossy(&cat.stderr).contains(errno),
        "hidepid={hidepid} did not hide {stat}: {}",
        text(&cat)
    );
}

#[test]
fn a_running_init_the_runtime_cannot_see_is_never_taken_for_stopped() {
    for (hidepid, errno) in HIDEPID {
        blindness_works(hidepid, errno);
        for rt in runtimes() {
            let b = bundle();
            let id = unique("blind-run");
            rt.run_detached_ok(&b, &id, &[]);
            // Waits for what the container printed, not for a status.
            assert!(
                wait_for(30, || std::fs::read_to_string(b.dir.join("stdout"))
                    .unwrap_or_default()
                    .contains("ready")),
                "{}: the container never printed ready",
                rt.name
            );
            let pid = rt.state(&id)["pid"].as_i64().unwrap();
            let state = blind(&rt, hidepid, &["state", &id]);
            let list = blind(&rt, hidepid, &["list", "--format", "json"]);
            let kill = blind(&rt, hidepid, &["kill", &id, "KILL"]);
            let delete = blind(&rt, hidepid, &["delete", &id]);
            if rt.name != "runr" {
                report_reference(&rt, &b, &id, pid, hidepid, &[&state, &list, &kill, &delete]);
                continue;
            }
            let ctx = format!("runr, hidepid={hidepid}");
            refused(&state, pid, errno, &format!("{ctx}: state"));
            let listed: Value =
                serde_json::from_slice(&list.stdout).unwrap_or(Value::Array(Vec::new()));
            assert!(
                list.status.success()
                    && !listed.to_string().contains(&id)
                    && String::from_utf8_lossy(&list.stderr)
                        .contains(&format!("status for {id}: container {id}")),
                "{ctx}: list showed the container with a status it cannot know, or did not \
                 name it on stderr as runc names the containers it cannot read: {}",
                text(&list)
            );
            refused(&kill, pid, errno, &format!("{ctx}: kill"));
            untouched(&rt, &id, pid, "running", &format!("{ctx}: kill"));
            refused(&delete, pid, errno, &format!("{ctx}: delete"));
            untouched(&rt, &id, pid, "running", &format!("{ctx}: delete"));
            let force = blind(&rt, hidepid, &["delete", "--force", &id]);
            refused(&force, pid, errno, &format!("{ctx}: delete --force"));
            untouched(&rt, &id, pid, "running", &format!("{ctx}: delete --force"));
            for args in [
                vec!["exec", id.as_str(), "true"],
                vec!["pause", id.as_str()],
                vec!["kill", "--all", id.as_str(), "TERM"],
            ] {
                let o = blind(&rt, hidepid, &args);
                refused(&o, pid, errno, &format!("{ctx}: {}", args[0]));
                untouched(&rt, &id, pid, "running", &format!("{ctx}: {args:?}"));
            }
            // With sight back, the container is a container like any other.
            delete_no_leaks(&rt, &id, &b);
        }
    }
}

#[test]
fn a_created_init_the_runtime_cannot_see_is_not_started_nor_deleted() {
    for (hidepid, errno) in HIDEPID {
        let rt = Runtime::runr();
        let b = bundle();
        let id = unique("blind-created");
        rt.create_ok(&b, &id, &[]);
        let pid = rt.state(&id)["pid"].as_i64().unwrap();
        let ctx = format!("runr, hidepid={hidepid}");
        let start = blind(&rt, hidepid, &["start", &id]);
        refused(&start, pid, errno, &format!("{ctx}: start"));
        untouched(&rt, &id, pid, "created", &format!("{ctx}: start"));
        // A created container is deleted without --force when it is known to be created;
        // blind, it is not known to be anything.
        let delete = blind(&rt, hidepid, &["delete", &id]);
        refused(&delete, pid, errno, &format!("{ctx}: delete"));
        untouched(&rt, &id, pid, "created", &format!("{ctx}: delete"));
        rt.ok(&["start", &id]);
        assert!(
            wait_for(30, || std::fs::read_to_string(b.dir.join("stdout"))
                .unwrap_or_default()
                .contains("ready")),
            "{ctx}: the container did not run once started with full sight"
        );
        delete_no_leaks(&rt, &id, &b);
    }
}

/// The reference's answers, printed side by side (runc says `stopped`, see the module docs),
/// then whatever it left removed by hand.
fn report_reference(rt: &Runtime, b: &Bundle, id: &str, pid: i64, hidepid: &str, o: &[&Output]) {
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
    let kept = rt.root.join(id).exists();
    eprintln!(
        "{} blind (hidepid={hidepid}): state: {}\n  list: {}\n  kill KILL: {}\n  delete: {}\n  \
         afterwards: init alive {alive}, state directory kept {kept}",
        rt.name,
        summary(o[0]),
        summary(o[1]),
        summary(o[2]),
        summary(o[3])
    );
    if kept {
        let _ = rt.exec(&["delete", "--force", id]);
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(
        wait_for(10, || !std::path::Path::new(&format!("/proc/{pid}"))
            .exists()),
        "{}: the container's init {pid} survived SIGKILL",
        rt.name
    );
    let rel = b.cgroup_path().trim_start_matches('/').to_string();
    for h in cgroup_hierarchies() {
        let dir = h.join(&rel);
        assert!(
            wait_for(10, || !dir.exists() || std::fs::remove_dir(&dir).is_ok()),
            "{}: cannot remove {}",
            rt.name,
            dir.display()
        );
    }
    let _ = rt.exec(&["delete", "--force", id]);
    assert_no_leaks(rt, id, b);
}

/// Runs `rt args` to completion within `secs` seconds (else it is killed and the test fails:
/// a deadlock). Whether it succeeded.
fn finishes_within(rt: &Runtime, args: &[&str], secs: u64) -> bool {
    let mut child = rt
        .command(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn runtime");
    let done = wait_for(secs, || child.try_wait().unwrap().is_some());
    if !done {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    assert!(
        done,
        "{} {args:?} did not finish in {secs} s: deadlock",
        rt.name
    );
    status.success()
}

/// Issue #14 item 4: `exec` takes the lock only where it reads state, so a poststart hook may
/// exec into its own container (runc allows it; the state/kill calls are in crash_safety.rs).
#[test]
fn a_poststart_hook_may_exec_into_its_own_container() {
    for rt in runtimes() {
        let mut b = Bundle::new(&["sleep", "1000"]);
        let id = unique("hookexec");
        let out = b.dir.join("hook-exec");
        let script = format!(
            "{rt} --root {root} exec {id} echo from-exec > {out} 2>&1; echo $? > {out}.rc",
            rt = rt.bin.display(),
            root = rt.root.display(),
            out = out.display(),
        );
        b.config["hooks"] =
            json!({"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
        rt.create_ok(&b, &id, &[]);
        assert!(
            finishes_within(&rt, &["start", &id], 60),
            "{}: start",
            rt.name
        );
        let rc = std::fs::read_to_string(format!("{}.rc", out.display())).unwrap_or_default();
        let said = std::fs::read_to_string(&out).unwrap_or_default();
        assert_eq!(
            rc.trim(),
            "0",
            "{}: the hook's exec failed: {said}",
            rt.name
        );
        assert_eq!(said.trim(), "from-exec", "{}", rt.name);
        delete_no_leaks(&rt, &id, &b);
    }
}

/// The crash points are test-only: the runr every other test (and a release build) uses has no
/// `fault-injection` feature, so `RUNR_FAULT_STEP` is not even in the binary and is ignored.
#[test]
fn the_crash_points_are_not_in_the_normal_build() {
    let rt = Runtime::runr();
    let binary = std::fs::read(&rt.bin).unwrap();
    assert!(
        !binary
            .windows(b"RUNR_FAULT_STEP".len())
            .any(|w| w == b"RUNR_FAULT_STEP"),
        "{} has the crash points compiled in",
        rt.bin.display()
    );
    let b = bundle();
    let id = unique("nofault");
    b.write();
    let dir = b.dir.to_str().unwrap().to_string();
    let status = rt
        .command(&["create", "--bundle", &dir, &id])
        .env("RUNR_FAULT_STEP", "1")
        .stdout(std::fs::File::create(b.dir.join("stdout")).unwrap())
        .stderr(std::fs::File::create(b.dir.join("stderr")).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "create with RUNR_FAULT_STEP=1: {status}: {}",
        std::fs::read_to_string(b.dir.join("stderr")).unwrap_or_default()
    );
    assert_eq!(status_of(&rt, &id), "created");
    delete_no_leaks(&rt, &id, &b);
}
