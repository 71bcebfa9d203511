//! Crash safety (issue #14): runr SIGKILLed at any instant of a command leaves nothing that
//! `delete --force` cannot remove.
//!
//! runr is built once with the `fault-injection` feature (into `target/fault`, so the normal
//! binary is untouched); `RUNR_FAULT_STEP=K` makes it SIGKILL itself at its K-th crash point.
//! Each command is killed at every crash point K = 1, 2, … until it completes, then at random
//! instants (up to its own duration) until it has been killed at least 40 times (create) or 20
//! (the others). After every kill: `list` shows the container whenever its state directory
//! exists (a half-made one as `creating`), `state` works, the command's own recovery holds
//! (a paused container resumes, a second delete finishes the job), `delete --force` succeeds,
//! and no state directory, cgroup directory (any hierarchy), process or mount is left.
//! runc and crun have no such guarantee: `benches/crash.rs` measures what they leave.

use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests_integration::*;

/// runr with the crash points compiled in, built once per test run (incremental afterwards).
fn fault_runr() -> Runtime {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = ws.join("target/fault");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let t = Instant::now();
        let out = Command::new(cargo)
            .current_dir(&ws)
            .args(["build", "--offline", "-q", "-p", "runtime-cli"])
            .args(["--features", "fault-injection", "--target-dir"])
            .arg(&target)
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "building runr with fault-injection failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("runr with fault-injection built in {:?}", t.elapsed());
        target.join("debug/runr")
    });
    Runtime {
        name: "runr",
        bin: bin.clone(),
        root: scratch().join(unique("root-crash")),
    }
}

/// How a command is killed.
#[derive(Clone, Copy, Debug)]
enum Crash {
    /// At its K-th crash point (RUNR_FAULT_STEP).
    AtStep(u32),
    /// By the test, this long after it was spawned.
    After(Duration),
}

enum Outcome {
    Completed(ExitStatus),
    /// Killed; where (the crash point's name, or the delay).
    Killed(String),
}

/// Runs `args` and kills it as `crash` says. Output goes to files in `dir` (a container's init
/// inherits it and may outlive the command).
fn run_crashed(rt: &Runtime, args: &[String], crash: Crash, dir: &Path) -> Outcome {
    let point = dir.join("fault-point");
    let _ = std::fs::remove_file(&point);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = rt.command(&args);
    cmd.stdout(File::create(dir.join("stdout")).unwrap())
        .stderr(File::create(dir.join("stderr")).unwrap());
    if let Crash::AtStep(k) = crash {
        cmd.env("RUNR_FAULT_STEP", k.to_string())
            .env("RUNR_FAULT_NAME", &point);
    }
    let mut child = cmd.spawn().expect("spawn runr");
    if let Crash::After(d) = crash {
        std::thread::sleep(d);
        let _ = child.kill();
    }
    let status = child.wait().expect("wait for runr");
    if status.signal() == Some(libc::SIGKILL) {
        let name = std::fs::read_to_string(&point).unwrap_or_else(|_| format!("{crash:?}"));
        Outcome::Killed(name)
    } else {
        Outcome::Completed(status)
    }
}

/// A small xorshift generator (seed printed, `CRASH_SEED` replays a run).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                t.as_nanos() as u64 | 1
            });
        eprintln!("CRASH_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// One command under test: how to prepare a container for it, the command line, and what must
/// hold right after it was killed (before the `delete --force`).
struct Scenario<'a> {
    name: &'a str,
    /// Minimum number of kills.
    kills: u32,
    prepare: &'a dyn Fn(&Runtime, &Bundle, &str),
    command: &'a dyn Fn(&Bundle, &str) -> Vec<String>,
    after_kill: &'a dyn Fn(&Runtime, &Bundle, &str, &str),
    /// What must hold when the command was not killed (it ran to the end).
    completed: &'a dyn Fn(&Runtime, &Bundle, &str, ExitStatus),
}

/// Kills the scenario's command at every crash point, then at random instants, checking
/// recovery after each kill. Returns (kills at a crash point, kills at a random instant).
fn crash_everywhere(s: &Scenario<'_>) -> (u32, u32) {
    let rt = fault_runr();
    let bundle = Bundle::new(&["sleep", "100"]);
    let mut rng = Rng::new();
    let mut at_step = 0;
    let mut full_run = Duration::from_millis(20);
    for k in 1.. {
        assert!(k < 80, "{}: more than 80 crash points?", s.name);
        let id = unique(s.name);
        (s.prepare)(&rt, &bundle, &id);
        let started = Instant::now();
        match run_crashed(
            &rt,
            &(s.command)(&bundle, &id),
            Crash::AtStep(k),
            &bundle.dir,
        ) {
            Outcome::Killed(point) => {
                at_step += 1;
                recover(&rt, &bundle, &id, &point, true, s);
            }
            Outcome::Completed(status) => {
                full_run = started.elapsed();
                (s.completed)(&rt, &bundle, &id, status);
                let _ = rt.exec(&["delete", "--force", &id]);
                assert_no_leaks(&rt, &id, &bundle);
                break;
            }
        }
    }
    let mut random = 0;
    while at_step + random < s.kills {
        let id = unique(s.name);
        (s.prepare)(&rt, &bundle, &id);
        let delay = Duration::from_micros(rng.below(full_run.as_micros() as u64));
        let what = format!("a random {delay:?}");
        match run_crashed(
            &rt,
            &(s.command)(&bundle, &id),
            Crash::After(delay),
            &bundle.dir,
        ) {
            Outcome::Killed(_) => {
                random += 1;
                recover(&rt, &bundle, &id, &what, false, s);
            }
            Outcome::Completed(status) => {
                (s.completed)(&rt, &bundle, &id, status);
                let _ = rt.exec(&["delete", "--force", &id]);
                assert_no_leaks(&rt, &id, &bundle);
            }
        }
    }
    eprintln!(
        "{}: killed at {at_step} crash points and {random} random instants, all recovered",
        s.name
    );
    (at_step, random)
}

/// After a kill at `point`: the container is listed while its directory exists (always, for a
/// kill at a crash point: the first one comes after the directory is made), `state` works, the
/// scenario's own checks hold; then `delete --force` leaves nothing behind.
fn recover(rt: &Runtime, bundle: &Bundle, id: &str, point: &str, at_step: bool, s: &Scenario) {
    let ctx = format!("{} killed at {point:?}", s.name);
    let dir_exists = rt.root.join(id).exists();
    let listed = list(rt).iter().any(|c| c["id"] == id);
    assert_eq!(
        listed, dir_exists,
        "{ctx}: list and the state directory disagree"
    );
    assert!(
        listed || !at_step,
        "{ctx}: list does not show the half-made container"
    );
    if listed {
        let st = rt.state(id);
        assert!(st["status"].is_string(), "{ctx}: {st}");
    }
    (s.after_kill)(rt, bundle, id, &ctx);
    let out = rt.exec(&["delete", "--force", id]);
    assert!(
        out.status.success(),
        "{ctx}: delete --force failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_leaks(rt, id, bundle);
    let marker = format!("exec-{id}");
    assert!(
        processes_mentioning(&marker).is_empty(),
        "{ctx}: an exec'd process is left"
    );
}

fn list(rt: &Runtime) -> Vec<Value> {
    let text = rt.ok(&["list", "--format", "json"]);
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// Writes the bundle's config with a process that mentions `id` (so a leaked one is found by
/// name): `echo` for a foreground run, a long sleep otherwise.
fn configure(bundle: &Bundle, id: &str, foreground: bool) {
    let script = if foreground {
        format!("echo {id}")
    } else {
        format!("sleep 100; echo {id}")
    };
    let mut config = bundle.config.clone();
    config["process"]["args"] = json!(["sh", "-c", script]);
    let text = serde_json::to_string_pretty(&config).unwrap();
    std::fs::write(bundle.dir.join("config.json"), text).expect("write config.json");
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Runs a command of the fault build without a crash; it must succeed.
fn must(rt: &Runtime, bundle: &Bundle, a: &[&str]) {
    let out = rt.exec_detached(a, bundle);
    assert!(
        out.status.success(),
        "{a:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running container (its process mentions the id).
fn running(rt: &Runtime, bundle: &Bundle, id: &str) {
    configure(bundle, id, false);
    must(
        rt,
        bundle,
        &["run", "-d", "--bundle", bundle.dir.to_str().unwrap(), id],
    );
}

fn created(rt: &Runtime, bundle: &Bundle, id: &str) {
    configure(bundle, id, false);
    must(
        rt,
        bundle,
        &["create", "--bundle", bundle.dir.to_str().unwrap(), id],
    );
}

fn nothing_more(_: &Runtime, _: &Bundle, _: &str, _: &str) {}

fn succeeded(_: &Runtime, b: &Bundle, id: &str, status: ExitStatus) {
    let err = std::fs::read_to_string(b.dir.join("stderr")).unwrap_or_default();
    assert!(status.success(), "{id}: {status}: {err}");
}

/// A container killed before its state was saved is `creating`, and plain `delete` refuses it.
fn creating_is_refused_without_force(rt: &Runtime, _: &Bundle, id: &str, ctx: &str) {
    if !rt.root.join(id).exists() {
        return;
    }
    let st = rt.state(id);
    let status = st["status"].as_str().unwrap_or_default().to_string();
    assert!(
        ["creating", "created", "stopped"].contains(&status.as_str()),
        "{ctx}: status {status}"
    );
    if status == "creating" {
        let out = rt.exec(&["delete", id]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("creating"),
            "{ctx}: plain delete of a creating container: {} {err}",
            out.status
        );
    }
}

/// No init outlives a create that did not hand it over: it exits by itself, before any delete.
/// Every crash point of create comes before the handover; a kill at a random instant may come
/// after it, which only a container without state.json rules out.
fn init_exits_by_itself(rt: &Runtime, b: &Bundle, id: &str, ctx: &str) {
    let at_random = ctx.contains("a random");
    let unrecorded = !rt.root.join(id).join("state.json").exists();
    if !at_random || unrecorded {
        assert!(
            wait_for(30, || processes_mentioning(id).is_empty()),
            "{ctx}: the init outlived its create: {:?}",
            processes_mentioning(id)
        );
    }
    creating_is_refused_without_force(rt, b, id, ctx);
}

#[test]
fn create_killed_at_any_instant_is_recoverable() {
    let s = Scenario {
        name: "crash-create",
        kills: 40,
        prepare: &|_, b, id| configure(b, id, false),
        command: &|b, id| args(&["create", "--bundle", b.dir.to_str().unwrap(), id]),
        after_kill: &init_exits_by_itself,
        completed: &succeeded,
    };
    let (steps, _) = crash_everywhere(&s);
    assert!(steps >= 10, "create has at least 10 crash points: {steps}");
}

#[test]
fn run_detached_killed_at_any_instant_is_recoverable() {
    let s = Scenario {
        name: "crash-rund",
        kills: 20,
        prepare: &|_, b, id| configure(b, id, false),
        command: &|b, id| args(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), id]),
        after_kill: &nothing_more,
        completed: &succeeded,
    };
    crash_everywhere(&s);
}

#[test]
fn run_in_the_foreground_killed_at_any_instant_is_recoverable() {
    // The container only echoes: `run` goes through create, start, wait and its own delete.
    let s = Scenario {
        name: "crash-run",
        kills: 20,
        prepare: &|_, b, id| configure(b, id, true),
        command: &|b, id| args(&["run", "--bundle", b.dir.to_str().unwrap(), id]),
        after_kill: &nothing_more,
        completed: &|rt, b, id, status| {
            succeeded(rt, b, id, status);
            assert!(!rt.root.join(id).exists(), "run deletes its container");
        },
    };
    crash_everywhere(&s);
}

#[test]
fn start_killed_at_any_instant_is_recoverable() {
    let s = Scenario {
        name: "crash-start",
        kills: 20,
        prepare: &created,
        command: &|_, id| args(&["start", id]),
        after_kill: &|rt, _, id, ctx| {
            let status = rt.state(id)["status"].clone();
            assert!(
                status == "created" || status == "running",
                "{ctx}: status {status}"
            );
        },
        completed: &succeeded,
    };
    crash_everywhere(&s);
}

#[test]
fn delete_killed_at_any_instant_is_finished_by_a_second_delete() {
    let s = Scenario {
        name: "crash-delete",
        kills: 20,
        prepare: &running,
        command: &|_, id| args(&["delete", "--force", id]),
        // `recover` runs the second `delete --force`.
        after_kill: &nothing_more,
        completed: &succeeded,
    };
    crash_everywhere(&s);
}

#[test]
fn exec_killed_at_any_instant_leaves_its_process_running_or_gone() {
    let s = Scenario {
        name: "crash-exec",
        kills: 20,
        prepare: &running,
        command: &|_, id| {
            let script = format!("sleep 100; echo exec-{id}");
            args(&["exec", "-d", id, "sh", "-c", &script])
        },
        after_kill: &exec_process_whole_or_gone,
        completed: &|rt, b, id, status| {
            succeeded(rt, b, id, status);
            exec_process_whole_or_gone(rt, b, id, "exec completed");
        },
    };
    crash_everywhere(&s);
}

/// The exec'd process is gone, or it runs its program inside every one of the container's
/// cgroups and in its pid namespace: never half set up.
fn exec_process_whole_or_gone(rt: &Runtime, b: &Bundle, id: &str, ctx: &str) {
    let marker = format!("exec-{id}");
    // A process still in runr's set-up code (its command line is runr's) is waiting for a
    // message from the dead runtime: it sees the channel close and exits.
    let set_up = || {
        processes_mentioning(&marker)
            .iter()
            .all(|p| cmdline(*p).starts_with("sh -c"))
    };
    assert!(
        wait_for(30, set_up),
        "{ctx}: an exec'd process stays half set up: {:?}",
        processes_mentioning(&marker)
            .iter()
            .map(|p| cmdline(*p))
            .collect::<Vec<_>>()
    );
    let init = rt.state(id)["pid"].as_i64().unwrap_or(0);
    let ns = |pid: i64| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let cgroups = |pid: i64| std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok();
    let init_cgroups = cgroups(init).unwrap_or_default();
    assert!(
        init_cgroups.contains(&b.cgroup_path()),
        "{ctx}: init {init}: {init_cgroups}"
    );
    for pid in processes_mentioning(&marker) {
        // In every hierarchy where the init is (a v1 one mounted since the container was
        // created, as the engines suite does with hugetlb, holds neither of them).
        assert_eq!(
            cgroups(pid as i64),
            Some(init_cgroups.clone()),
            "{ctx}: exec'd process {pid} is not in the container's cgroups"
        );
        assert_eq!(
            ns(pid as i64),
            ns(init),
            "{ctx}: exec'd process {pid} is outside the container's pid namespace"
        );
    }
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .unwrap_or_default()
}

#[test]
fn pause_killed_at_any_instant_leaves_a_container_that_resumes() {
    let s = Scenario {
        name: "crash-pause",
        kills: 20,
        prepare: &running,
        command: &|_, id| args(&["pause", id]),
        after_kill: &|rt, b, id, ctx| {
            // A freezer left FREEZING finishes (or is undone by the kernel) on its own.
            let frozen = || freezer_state(b).unwrap_or_default();
            wait_for(30, || frozen() != "FREEZING");
            let status = rt.state(id)["status"].clone();
            if frozen() == "FROZEN" {
                assert_eq!(status, "paused", "{ctx}: frozen but not reported as paused");
            }
            if status == "paused" {
                rt.ok(&["resume", id]);
                assert_eq!(rt.state(id)["status"], "running", "{ctx}: after resume");
            } else {
                assert_eq!(status, "running", "{ctx}");
            }
        },
        completed: &|rt, b, id, status| {
            succeeded(rt, b, id, status);
            assert_eq!(rt.state(id)["status"], "paused");
        },
    };
    crash_everywhere(&s);
}

/// The v1 freezer's state of the bundle's container (cgroup v2: `cgroup.freeze`).
fn freezer_state(b: &Bundle) -> Option<String> {
    let cg = b.cgroup_path();
    let rel = cg.trim_start_matches('/');
    let v1 = Path::new("/sys/fs/cgroup/freezer")
        .join(rel)
        .join("freezer.state");
    if let Ok(s) = std::fs::read_to_string(v1) {
        return Some(s.trim().to_string());
    }
    let v2 = Path::new("/sys/fs/cgroup").join(rel).join("cgroup.freeze");
    let s = std::fs::read_to_string(v2).ok()?;
    Some(if s.trim() == "1" { "FROZEN" } else { "THAWED" }.to_string())
}

#[test]
fn update_killed_at_any_instant_leaves_a_container_that_updates() {
    let s = Scenario {
        name: "crash-update",
        kills: 20,
        prepare: &running,
        command: &|_, id| args(&["update", "--memory", "60000000", id]),
        after_kill: &|rt, _, id, ctx| {
            assert_eq!(rt.state(id)["status"], "running", "{ctx}");
            rt.ok(&["update", "--memory", "70000000", id]);
        },
        completed: &succeeded,
    };
    crash_everywhere(&s);
}

/// Kills whatever is in the bundle's cgroup and removes the cgroup and the state directory: the
/// hand clean-up a runtime that refused to delete leaves to the operator.
fn clean_by_hand(rt: &Runtime, id: &str, bundle: &Bundle) {
    let rel = bundle.cgroup_path().trim_start_matches('/').to_string();
    for h in cgroup_hierarchies() {
        let dir = h.join(&rel);
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    wait_for(30, || processes_mentioning(id).is_empty());
    for h in cgroup_hierarchies() {
        let dir = h.join(&rel);
        wait_for(30, || !dir.exists() || std::fs::remove_dir(&dir).is_ok());
    }
    let _ = std::fs::remove_dir_all(rt.root.join(id));
}

#[test]
fn a_damaged_state_json_never_orphans_the_container() {
    for rt in runtimes() {
        let bundle = Bundle::new(&["true"]);
        let id = unique("damaged");
        configure(&bundle, &id, false);
        let dir = bundle.dir.to_str().unwrap();
        rt.exec_detached(&["run", "-d", "--bundle", dir, &id], &bundle);
        assert_eq!(rt.state(&id)["status"], "running", "{}", rt.name);
        std::fs::write(rt.root.join(&id).join("state.json"), "garbage").unwrap();

        let plain = rt.exec(&["delete", &id]);
        assert!(!plain.status.success(), "{}: plain delete", rt.name);
        let forced = rt.exec(&["delete", "--force", &id]);
        let err = String::from_utf8_lossy(&forced.stderr).into_owned();
        if forced.status.success() {
            // Removed: then all of it, by the intent record.
            assert_no_leaks(&rt, &id, &bundle);
        } else {
            // Refused: then nothing may be gone, the record least of all.
            assert!(rt.root.join(&id).exists(), "{}: {err}", rt.name);
            assert!(!processes_mentioning(&id).is_empty(), "{}", rt.name);
            eprintln!(
                "{}: delete --force of a damaged state refused: {err}",
                rt.name
            );
            clean_by_hand(&rt, &id, &bundle);
        }
        // runr removes it; runc 1.1.5 refuses ("invalid character 'g' looking for beginning
        // of value") and leaves the container running with its state, for the operator.
        if rt.name == "runr" {
            assert!(forced.status.success(), "runr: {err}");
        }
    }
}

#[test]
fn without_any_readable_record_delete_refuses_and_removes_nothing() {
    let rt = Runtime::runr();
    let bundle = Bundle::new(&["true"]);
    let id = unique("norecord");
    configure(&bundle, &id, false);
    let dir = bundle.dir.to_str().unwrap();
    rt.exec_detached(&["run", "-d", "--bundle", dir, &id], &bundle);
    let state_dir = rt.root.join(&id);
    let intent = std::fs::read(state_dir.join("intent.json")).expect("runr keeps an intent record");
    std::fs::write(state_dir.join("state.json"), "garbage").unwrap();
    std::fs::write(state_dir.join("intent.json"), "{\"version\":1,").unwrap();

    let out = rt.exec(&["delete", "--force", &id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "delete --force without a record");
    assert!(err.contains("nothing was removed"), "{err}");
    assert!(state_dir.join("state.json").exists(), "the state is kept");
    assert!(
        !processes_mentioning(&id).is_empty(),
        "the container still runs"
    );
    assert!(
        err.contains(state_dir.to_str().unwrap()),
        "says what to remove: {err}"
    );

    // With the record back, delete --force finds and removes everything.
    std::fs::write(state_dir.join("intent.json"), intent).unwrap();
    delete_no_leaks(&rt, &id, &bundle);
}

#[test]
fn a_state_of_a_newer_schema_is_refused_clearly() {
    let rt = Runtime::runr();
    let bundle = Bundle::new(&["true"]);
    let id = unique("schema");
    configure(&bundle, &id, false);
    rt.exec_detached(
        &["create", "--bundle", bundle.dir.to_str().unwrap(), &id],
        &bundle,
    );
    let path = rt.root.join(&id).join("state.json");
    let mut st: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(st["version"], 2, "state.json carries its schema version");
    st["version"] = json!(99);
    std::fs::write(&path, serde_json::to_vec(&st).unwrap()).unwrap();
    let out = rt.exec(&["state", &id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("schema version 99 is newer"), "{err}");
    // An older one (no version: runr before schema versions) is read.
    st.as_object_mut().unwrap().remove("version");
    std::fs::write(&path, serde_json::to_vec(&st).unwrap()).unwrap();
    assert_eq!(rt.state(&id)["status"], "created");
    delete_no_leaks(&rt, &id, &bundle);
}

/// Runs `args` and fails the test if it does not finish within `secs` (a deadlock).
fn finishes(rt: &Runtime, args: &[&str], bundle: &Bundle, secs: u64) -> bool {
    let mut child = rt
        .command(args)
        .stdout(File::create(bundle.dir.join("stdout")).unwrap())
        .stderr(File::create(bundle.dir.join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if let Some(st) = child.try_wait().unwrap() {
            return st.success();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{} {args:?} did not finish in {secs} s: deadlock", rt.name);
}

#[test]
fn hooks_calling_the_runtime_on_their_own_container_do_not_deadlock() {
    for rt in runtimes() {
        let mut bundle = Bundle::new(&["sleep", "100"]);
        let id = unique("hookcall");
        let out = bundle.dir.join("hook-out");
        let hook = |kind: &str| {
            let script = format!(
                "{rt} --root {root} state {id} > {out}.{kind}.state 2>&1; echo $? > {out}.{kind}.state.rc; \
                 {rt} --root {root} kill {id} CONT > {out}.{kind}.kill 2>&1; echo $? > {out}.{kind}.kill.rc",
                rt = rt.bin.display(),
                root = rt.root.display(),
                out = out.display(),
            );
            json!([{"path": "/bin/sh", "args": ["sh", "-c", script]}])
        };
        bundle.config["hooks"] = json!({
            "createRuntime": hook("createRuntime"),
            "poststart": hook("poststart"),
            "poststop": hook("poststop"),
        });
        bundle.write();
        let dir = bundle.dir.to_str().unwrap().to_string();
        assert!(finishes(
            &rt,
            &["create", "--bundle", &dir, &id],
            &bundle,
            20
        ));
        assert!(finishes(&rt, &["start", &id], &bundle, 20));
        assert!(finishes(&rt, &["delete", "--force", &id], &bundle, 20));
        assert_no_leaks(&rt, &id, &bundle);
        let read = |kind: &str, what: &str| {
            std::fs::read_to_string(format!("{}.{kind}.{what}", out.display())).unwrap_or_default()
        };
        let exit = |kind: &str, what: &str| read(kind, &format!("{what}.rc")).trim().to_string();
        // Every hook ran to the end (its calls returned).
        for kind in ["createRuntime", "poststart", "poststop"] {
            for what in ["state", "kill"] {
                assert!(!exit(kind, what).is_empty(), "{}: {kind} {what}", rt.name);
            }
        }
        // poststart: the container runs, and can be signalled from its own hook.
        assert_eq!(exit("poststart", "state"), "0", "{}", rt.name);
        assert_eq!(exit("poststart", "kill"), "0", "{}", rt.name);
        // poststop: the container is gone.
        assert!(
            read("poststop", "state").contains("does not exist"),
            "{}",
            rt.name
        );
        // createRuntime: the spec's state is "creating", and a creating container cannot be
        // signalled ("MUST generate an error"). runr reports it so; runc 1.1.5 knows nothing
        // of the container yet ("container does not exist") for either call.
        assert_ne!(exit("createRuntime", "kill"), "0", "{}", rt.name);
        if rt.name == "runr" {
            let st = read("createRuntime", "state");
            assert!(st.contains("\"status\": \"creating\""), "runr: {st}");
            assert!(read("poststart", "state").contains("\"status\": \"running\""));
        } else {
            assert!(read("createRuntime", "state").contains("does not exist"));
        }
    }
}

#[test]
fn records_torn_by_a_power_loss_before_this_boot_are_removed() {
    let rt = Runtime::runr();
    let id = unique("torn");
    let dir = rt.root.join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state.json"), "").unwrap();
    std::fs::write(dir.join("intent.json"), "").unwrap();
    // Torn in this boot (only outside damage can do that): refused, nothing removed.
    let out = rt.exec(&["delete", "--force", &id]);
    assert!(!out.status.success());
    assert!(dir.join("intent.json").exists());
    // Written before this boot: whatever it named died with that boot.
    for p in [dir.join("state.json"), dir.join("intent.json"), dir.clone()] {
        let ok = Command::new("touch")
            .args(["-h", "-d", "2000-01-01"])
            .arg(&p)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    rt.ok(&["delete", "--force", &id]);
    assert!(!dir.exists());
}

#[test]
fn kill_all_with_a_catchable_signal_reaches_every_process_and_keeps_a_pause() {
    for rt in runtimes() {
        let bundle = Bundle::shell("sleep 100 & sleep 100 & wait");
        let id = unique("killall");
        rt.run_detached_ok(&bundle, &id, &[]);
        let procs = || {
            let cg = bundle.cgroup_path();
            let f = Path::new("/sys/fs/cgroup/pids")
                .join(cg.trim_start_matches('/'))
                .join("cgroup.procs");
            let f = if f.exists() {
                f
            } else {
                Path::new("/sys/fs/cgroup")
                    .join(cg.trim_start_matches('/'))
                    .join("cgroup.procs")
            };
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .count()
        };
        assert!(
            wait_for(30, || procs() == 3),
            "{}: sh and two sleeps",
            rt.name
        );
        rt.ok(&["pause", &id]);
        rt.ok(&["kill", "--all", &id, "TERM"]);
        let status = rt.state(&id)["status"].clone();
        if rt.name == "runr" {
            // Signals queue while frozen: the container stays paused, nothing has died yet.
            assert_eq!(status, "paused", "runr");
            assert_eq!(procs(), 3, "runr: frozen processes act on no signal");
            rt.ok(&["resume", &id]);
        } else {
            // runc 1.1.5 thaws the cgroup after signalling (signalAllProcesses).
            eprintln!(
                "{}: after kill --all TERM of a paused container: {status}",
                rt.name
            );
            if status == "paused" {
                rt.ok(&["resume", &id]);
            }
        }
        // The two sleeps die of TERM (pid 1, sh, has no handler and ignores it, then its
        // `wait` returns and it exits): the container stops.
        assert!(
            wait_for(30, || rt.state(&id)["status"] == "stopped"),
            "{}: every process got the signal",
            rt.name
        );
        delete_no_leaks(&rt, &id, &bundle);
    }
}

#[test]
fn start_of_an_init_that_dies_before_its_exec_reports_it_and_runs_no_poststart_hook() {
    for rt in runtimes() {
        let mut bundle = Bundle::new(&["true"]);
        let marker = bundle.dir.join("poststart-ran");
        bundle.config["hooks"] = json!({
            "startContainer": [{"path": "/bin/false"}],
            "poststart": [{"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}", marker.display())]}],
        });
        let id = unique("deadstart");
        rt.create_ok(&bundle, &id, &[]);
        let out = rt.exec(&["start", &id]);
        let err = String::from_utf8_lossy(&out.stderr);
        if rt.name == "runr" {
            assert!(!out.status.success(), "runr: start succeeded");
            assert!(
                err.contains("exited before it ran process.args"),
                "runr: {err}"
            );
            assert!(
                !marker.exists(),
                "runr ran a poststart hook of a dead container"
            );
        } else {
            // runc 1.1.5's start cannot see the init fail after the fifo (its startContainer
            // hooks run in the init): it reports success and runs the poststart hooks.
            eprintln!(
                "{}: start {} (poststart ran: {}): {err}",
                rt.name,
                out.status,
                marker.exists()
            );
        }
        delete_no_leaks(&rt, &id, &bundle);
    }
}

/// A create into a cgroup another container already uses (shared, as runc 1.1.5 allows), killed
/// at every crash point: `delete --force` of the half-made one kills only its own init and
/// leaves the other container running in the cgroup.
#[test]
fn a_crashed_create_into_a_shared_cgroup_spares_the_other_container() {
    let rt = fault_runr();
    let first = Bundle::new(&["true"]);
    let first_id = unique("sharer");
    running(&rt, &first, &first_id);
    let mut k = 1;
    loop {
        let mut second = Bundle::new(&["true"]);
        second.config["linux"]["cgroupsPath"] = json!(first.cgroup_path());
        let id = unique("sharing");
        configure(&second, &id, false);
        let dir = second.dir.to_str().unwrap();
        let cmd = args(&["create", "--bundle", dir, &id]);
        let outcome = run_crashed(&rt, &cmd, Crash::AtStep(k), &second.dir);
        let out = rt.exec(&["delete", "--force", &id]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let ctx = match &outcome {
            Outcome::Killed(point) => format!("killed at {point}"),
            Outcome::Completed(status) => format!("completed ({status})"),
        };
        assert!(out.status.success(), "{ctx}: delete --force: {err}");
        assert!(!rt.root.join(&id).exists(), "{ctx}: state left");
        wait_for(30, || processes_mentioning(&id).is_empty());
        assert!(processes_mentioning(&id).is_empty(), "{ctx}: process left");
        assert_eq!(
            rt.state(&first_id)["status"],
            "running",
            "{ctx}: the first container must survive"
        );
        assert!(
            !processes_mentioning(&first_id).is_empty(),
            "{ctx}: the first container's process was killed"
        );
        if matches!(outcome, Outcome::Completed(_)) {
            break;
        }
        k += 1;
    }
    assert!(k > 3, "create passed through only {k} crash points");
    rt.ok(&["delete", "--force", &first_id]);
    assert_no_leaks(&rt, &first_id, &first);
}
