//! ps, pause/resume, update, events, features and the run flags, on real containers, each
//! compared with runc on the same scenario where it is installed (exit codes, JSON keys and
//! types, table columns, cgroup files read back from the host).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tests_integration::{
    assert_no_leaks, delete_no_leaks, runtimes, unique, wait_for, Bundle, Runtime,
};

const FIXTURES: &str = "/work/shared/fixtures/engine-configs";

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A cgroup file of the container (v1 name on v1/hybrid, v2 name on a unified host).
fn cg_read(b: &Bundle, id: &str, ctrl: &str, v1: &str, v2: &str) -> String {
    let m = cgroups::Manager::new(Some(&b.cgroup_path()), id, false).unwrap();
    let path = match m.v1_path(ctrl) {
        Some(d) => d.join(v1),
        None => m.v2_path().expect("a cgroup directory").join(v2),
    };
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// The shape of a JSON value: objects by key, arrays by their first element, scalars by type.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().take(1).map(shape).collect()),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Bool(_) => "bool".into(),
        Value::Null => "null".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// ps

#[test]
fn ps_table_and_json_match_runc() {
    let mut tables = Vec::new();
    for rt in runtimes() {
        let b = Bundle::shell("sleep 300 & exec sleep 301");
        let id = unique("ps");
        rt.run_detached_ok(&b, &id, &[]);
        let init = rt.state(&id)["pid"].as_i64().unwrap();
        assert!(wait_for(30, || {
            let out = rt.exec(&["ps", "--format", "json", &id]);
            serde_json::from_slice::<Vec<i64>>(&out.stdout).is_ok_and(|p| p.len() == 2)
        }));
        let out = rt.exec(&["ps", "--format", "json", &id]);
        assert_eq!(code(&out), 0);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.ends_with("]\n"), "{}: {text:?}", rt.name);
        let pids: Vec<i64> = serde_json::from_str(&text).unwrap();
        assert!(
            pids.contains(&init),
            "{}: {pids:?} lacks the init {init}",
            rt.name
        );
        // Each pid is really in the container's cgroup, seen from the host.
        for p in &pids {
            let cg = std::fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap();
            assert!(
                cg.contains(&b.cgroup_path()),
                "{}: {p} not in the cgroup",
                rt.name
            );
        }

        let table = rt.ok(&["ps", &id]);
        let lines: Vec<&str> = table.lines().collect();
        let host = std::process::Command::new("ps")
            .arg("-ef")
            .output()
            .unwrap();
        let host_header = String::from_utf8_lossy(&host.stdout)
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert_eq!(lines[0], host_header, "{}: header of ps -ef", rt.name);
        assert_eq!(lines.len(), 3, "{}: {table}", rt.name);
        for l in &lines[1..] {
            let pid: i64 = l.split_whitespace().nth(1).unwrap().parse().unwrap();
            assert!(pids.contains(&pid), "{}: row {l}", rt.name);
            assert!(
                l.contains("sleep 30"),
                "{}: full row expected: {l}",
                rt.name
            );
        }
        let custom = rt.ok(&["ps", &id, "-o", "pid,comm"]);
        assert_eq!(
            custom
                .lines()
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["PID", "COMMAND"]
        );
        assert_eq!(custom.lines().count(), 3, "{}: {custom}", rt.name);

        let no_pid = rt.exec(&["ps", &id, "-o", "comm"]);
        assert_eq!(code(&no_pid), 1, "{}", rt.name);
        assert!(
            stderr(&no_pid).contains("couldn't find PID field"),
            "{}",
            stderr(&no_pid)
        );
        let bad_format = rt.exec(&["ps", "--format", "xml", &id]);
        assert_eq!(code(&bad_format), 1);
        assert!(stderr(&bad_format).contains("invalid format option"));
        let missing = rt.exec(&["ps", "nope-not-here"]);
        assert_eq!(code(&missing), 1);
        assert!(stderr(&missing).contains("container does not exist"));
        assert_eq!(code(&rt.exec(&["ps"])), 1);
        tables.push((rt.name, lines[0].to_string(), lines.len()));
        delete_no_leaks(&rt, &id, &b);
    }
    if let [(_, h1, n1), (_, h2, n2)] = tables.as_slice() {
        assert_eq!((h1, n1), (h2, n2), "runr and runc tables differ");
    }
}

// ---------------------------------------------------------------------------------------------
// pause / resume

#[test]
fn pause_and_resume_freeze_the_container_like_runc() {
    let mut codes = Vec::new();
    for rt in runtimes() {
        let b = Bundle::shell("while true; do echo x >> /dev/shm/ticks; sleep 0.05; done");
        let id = unique("pause");
        rt.run_detached_ok(&b, &id, &[]);
        let init = rt.state(&id)["pid"].as_i64().unwrap();
        let ticks = format!("/proc/{init}/root/dev/shm/ticks");
        assert!(wait_for(30, || std::fs::metadata(&ticks).is_ok()));

        let pause = code(&rt.exec(&["pause", &id]));
        assert_eq!(rt.state(&id)["status"], "paused", "{}", rt.name);
        let list: Value = serde_json::from_str(&rt.ok(&["list", "--format", "json"])).unwrap();
        assert_eq!(list[0]["status"], "paused");
        // Really frozen: the kernel says so, and the loop stops writing.
        let frozen = cg_read(&b, &id, "freezer", "freezer.state", "cgroup.freeze");
        assert!(frozen == "FROZEN" || frozen == "1", "{}: {frozen}", rt.name);
        let stat = std::fs::read_to_string(format!("/proc/{init}/stat")).unwrap();
        let len = std::fs::metadata(&ticks).unwrap().len();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            std::fs::metadata(&ticks).unwrap().len(),
            len,
            "{}: still running",
            rt.name
        );
        assert!(stat.contains(") S ") || stat.contains(") D "), "{stat}");

        let pause_again = rt.exec(&["pause", &id]);
        assert!(
            stderr(&pause_again).contains("container not running"),
            "{}",
            stderr(&pause_again)
        );
        let exec_paused = rt.exec(&["exec", &id, "true"]);
        assert!(
            stderr(&exec_paused).contains("paused"),
            "{}",
            stderr(&exec_paused)
        );

        let resume = code(&rt.exec(&["resume", &id]));
        assert_eq!(rt.state(&id)["status"], "running");
        assert!(wait_for(30, || std::fs::metadata(&ticks).unwrap().len() > len));
        let resume_again = rt.exec(&["resume", &id]);
        assert!(
            stderr(&resume_again).contains("container not paused"),
            "{}",
            stderr(&resume_again)
        );

        rt.ok(&["kill", &id, "KILL"]);
        assert!(wait_for(30, || rt.state(&id)["status"] == "stopped"));
        let pause_stopped = rt.exec(&["pause", &id]);
        assert!(stderr(&pause_stopped).contains("container not running"));
        let missing = rt.exec(&["pause", "nope-not-here"]);
        codes.push((
            pause,
            code(&pause_again),
            code(&exec_paused),
            resume,
            code(&resume_again),
            code(&pause_stopped),
            code(&missing),
        ));
        delete_no_leaks(&rt, &id, &b);
    }
    assert_eq!(codes[0], (0, 1, 255, 0, 1, 1, 1), "runr exit codes");
    if codes.len() == 2 {
        assert_eq!(codes[0], codes[1], "runr vs runc exit codes");
    }
}

#[test]
fn a_paused_container_can_be_deleted_with_force() {
    let rt = Runtime::runr();
    let b = Bundle::new(&["sleep", "300"]);
    let id = unique("pausedel");
    rt.run_detached_ok(&b, &id, &[]);
    rt.ok(&["pause", &id]);
    let out = rt.exec(&["delete", &id]);
    assert_eq!(code(&out), 1, "delete of a paused container without -f");
    delete_no_leaks(&rt, &id, &b);
}

// ---------------------------------------------------------------------------------------------
// update

/// (memory limit, memsw, cpu quota, cpu period, pids.max) read from the host.
fn limits(b: &Bundle, id: &str) -> Vec<String> {
    let mut v = vec![cg_read(
        b,
        id,
        "memory",
        "memory.limit_in_bytes",
        "memory.max",
    )];
    if let Some(d) = cgroups::Manager::new(Some(&b.cgroup_path()), id, false)
        .unwrap()
        .v1_path("memory")
    {
        v.push(
            std::fs::read_to_string(d.join("memory.memsw.limit_in_bytes"))
                .unwrap_or_default()
                .trim()
                .to_string(),
        );
    }
    v.push(cg_read(b, id, "cpu", "cpu.cfs_quota_us", "cpu.max"));
    v.push(cg_read(b, id, "cpu", "cpu.cfs_period_us", "cpu.max"));
    v.push(cg_read(b, id, "pids", "pids.max", "pids.max"));
    v
}

fn update_stdin(rt: &Runtime, id: &str, json: &str) -> std::process::Output {
    let mut child = rt
        .command(&["update", "--resources", "-", id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn update_applies_the_docker_samples_and_zero_means_unchanged() {
    let mut seen = Vec::new();
    for rt in runtimes() {
        let mut b = Bundle::new(&["sleep", "300"]);
        b.config["linux"]["resources"]["memory"] = serde_json::json!({"limit": 100 << 20});
        b.config["linux"]["resources"]["cpu"] =
            serde_json::json!({"quota": 20000, "period": 100000});
        let id = unique("upd");
        rt.run_detached_ok(&b, &id, &[]);
        let before = limits(&b, &id);
        assert_eq!(before[0], (100u64 << 20).to_string());

        // docker update --cpus 0.5 --pids-limit 50: memory.limit 0 = unchanged.
        let file = format!("{FIXTURES}/docker-update-cpus-pids.json");
        rt.ok(&["update", "--resources", &file, &id]);
        let after1 = limits(&b, &id);
        assert_eq!(
            after1[0], before[0],
            "{}: memory limit 0 must leave it",
            rt.name
        );
        let n = after1.len();
        assert_eq!(after1[n - 3..], ["50000", "100000", "50"], "{}", rt.name);

        // docker update --memory 64m --memory-swap 64m, on stdin.
        let json =
            std::fs::read_to_string(format!("{FIXTURES}/docker-update-memory.json")).unwrap();
        let out = update_stdin(&rt, &id, &json);
        assert!(out.status.success(), "{}: {}", rt.name, stderr(&out));
        let after2 = limits(&b, &id);
        assert_eq!(after2[0], (64u64 << 20).to_string(), "{}", rt.name);
        assert_eq!(
            after2[n - 3..],
            after1[n - 3..],
            "{}: cpu/pids untouched",
            rt.name
        );

        // A quota given alone keeps the period; the container still runs.
        rt.ok(&["update", "--cpu-quota", "30000", &id]);
        let after3 = limits(&b, &id);
        assert_eq!(after3[n - 3..n - 1], ["30000", "100000"], "{}", rt.name);
        assert_eq!(rt.state(&id)["status"], "running");
        seen.push((after1, after2, after3));
        if rt.name == "runr" {
            // Persisted: the stored resources carry the merged values.
            let c = runtime_core::Container::load(&rt.root, &id).unwrap();
            let r = c.resources().unwrap();
            assert_eq!(r.memory().unwrap().limit(), Some(64 << 20));
            assert_eq!(r.memory().unwrap().swap(), Some(64 << 20));
            let cpu = r.cpu().as_ref().unwrap();
            assert_eq!((cpu.quota(), cpu.period()), (Some(30000), Some(100000)));
            assert_eq!(r.pids().unwrap().limit(), 50);
            assert!(r.devices().is_some(), "create-time fields are kept");
        }
        delete_no_leaks(&rt, &id, &b);
    }
    if seen.len() == 2 {
        assert_eq!(
            seen[0], seen[1],
            "runr and runc left different cgroup values"
        );
    }
}

#[test]
fn update_flags_take_runc_sizes_and_values() {
    let mut seen = Vec::new();
    for rt in runtimes() {
        let b = Bundle::new(&["sleep", "300"]);
        let id = unique("updflags");
        rt.run_detached_ok(&b, &id, &[]);
        let mut row = Vec::new();
        // The file each flag writes: controller, v1 name, v2 name.
        let mem = ("memory", "memory.limit_in_bytes", "memory.max");
        let pids = ("pids", "pids.max", "pids.max");
        let update = |args: &[&str]| {
            let mut a = vec!["update"];
            a.extend_from_slice(args);
            a.push(&id);
            rt.exec(&a)
        };
        for (args, (ctrl, v1, v2)) in [
            (vec!["--memory", "64m"], mem),
            (vec!["--memory", "100MB"], mem),
            (vec!["--memory", "1.5g"], mem),
            (vec!["--memory", "70000000"], mem),
            (
                vec!["--memory-reservation", "32m"],
                ("memory", "memory.soft_limit_in_bytes", "memory.low"),
            ),
            (vec!["--memory", "-1"], mem),
            (
                vec!["--cpu-share", "512"],
                ("cpu", "cpu.shares", "cpu.weight"),
            ),
            (
                vec!["--cpu-period", "50000", "--cpu-quota", "25000"],
                ("cpu", "cpu.cfs_quota_us", "cpu.max"),
            ),
            (
                vec!["--cpuset-cpus", "0"],
                ("cpuset", "cpuset.cpus", "cpuset.cpus"),
            ),
            (
                vec!["--cpuset-mems", "0"],
                ("cpuset", "cpuset.mems", "cpuset.mems"),
            ),
            (vec!["--pids-limit", "77"], pids),
            (vec!["--pids-limit", "-1"], pids),
        ] {
            let out = update(&args);
            assert!(
                out.status.success(),
                "{} {args:?}: {}",
                rt.name,
                stderr(&out)
            );
            row.push(cg_read(&b, &id, ctrl, v1, v2));
        }
        assert_eq!(row[0], (64u64 << 20).to_string());
        assert_eq!(row[1], (100u64 << 20).to_string());
        assert_eq!(row[2], "1610612736");
        assert_eq!(row[10], "77");
        assert_eq!(row[11], "max");

        let mut errs = Vec::new();
        for args in [
            vec!["--memory", "abc"],
            vec!["--cpu-share", "abc"],
            vec!["--pids-limit", "x"],
            vec!["--l3-cache-schema", "L3:0=f"],
            vec!["--mem-bw-schema", "MB:0=50"],
            vec!["--memory", "1k"],
        ] {
            let out = update(&args);
            errs.push((code(&out), stderr(&out)));
        }
        assert!(errs[0].1.contains("invalid size: 'abc'"), "{}", errs[0].1);
        assert!(
            errs[1].1.contains("invalid value for cpu-share"),
            "{}",
            errs[1].1
        );
        assert!(errs[2].1.contains("-pids-limit"), "{}", errs[2].1);
        assert!(errs[3].1.contains("Intel RDT/CAT"), "{}", errs[3].1);
        assert!(errs[4].1.contains("Intel RDT/MBA"), "{}", errs[4].1);
        assert!(errs[5].1.contains("1024"), "{}", errs[5].1);
        assert_eq!(rt.state(&id)["status"], "running");
        let missing = rt.exec(&["update", "--memory", "64m", "nope-not-here"]);
        errs.push((code(&missing), String::new()));
        rt.ok(&["kill", &id, "KILL"]);
        assert!(wait_for(30, || rt.state(&id)["status"] == "stopped"));
        let stopped = rt.exec(&["update", "--memory", "64m", &id]);
        errs.push((code(&stopped), String::new()));
        let codes: Vec<i32> = errs.iter().map(|e| e.0).collect();
        assert!(codes.iter().all(|c| *c == 1), "{}: {codes:?}", rt.name);
        seen.push(row);
        delete_no_leaks(&rt, &id, &b);
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "runr and runc cgroup values differ");
    }
}

// ---------------------------------------------------------------------------------------------
// events

#[test]
fn events_stats_prints_one_runc_shaped_envelope() {
    let mut shapes = Vec::new();
    for rt in runtimes() {
        let mut b = Bundle::new(&["sleep", "300"]);
        b.config["linux"]["resources"]["memory"] = serde_json::json!({"limit": 64 << 20});
        b.config["linux"]["resources"]["pids"] = serde_json::json!({"limit": 100});
        let id = unique("stats");
        rt.run_detached_ok(&b, &id, &[]);
        // runc's `run -d` can return before its init (Go: several threads, each one counted in
        // pids.current) has exec'd the process: wait for the exec, not for a status.
        let init = rt.state(&id)["pid"].as_i64().unwrap();
        let cmdline = format!("/proc/{init}/cmdline");
        assert!(
            wait_for(30, || std::fs::read(&cmdline)
                .is_ok_and(|c| c == b"sleep\x00300\x00")),
            "{}: the init never ran sleep",
            rt.name
        );
        let text = rt.ok(&["events", "--stats", &id]);
        assert_eq!(text.lines().count(), 1, "{}: {text}", rt.name);
        let ev: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(ev["type"], "stats");
        assert_eq!(ev["id"], id.as_str());
        let keys: Vec<&String> = ev.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert!(
            text.starts_with(r#"{"type":"stats","id":"#),
            "{}: key order: {text}",
            rt.name
        );
        assert_eq!(
            ev["data"]["memory"]["usage"]["limit"],
            64 << 20,
            "{}",
            rt.name
        );
        assert_eq!(ev["data"]["pids"]["current"], 1, "{}", rt.name);
        assert!(ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
        let mut s = shape(&ev["data"]);
        // Counters that are zero are omitted (Go's omitempty) and differ from run to run.
        for k in ["cpu", "memory", "blkio", "hugetlb"] {
            s[k] = Value::Null;
        }
        shapes.push(s);
        let bad = rt.exec(&["events", "--interval", "1x", &id]);
        assert_eq!(code(&bad), 1);
        let zero = rt.exec(&["events", "--interval", "0", &id]);
        assert_eq!(code(&zero), 1);
        assert!(
            stderr(&zero).contains("must be greater than 0"),
            "{}",
            stderr(&zero)
        );
        rt.ok(&["kill", &id, "KILL"]);
        assert!(wait_for(30, || rt.state(&id)["status"] == "stopped"));
        let stopped = rt.exec(&["events", "--stats", &id]);
        assert_eq!(code(&stopped), 1, "{}", rt.name);
        assert!(
            stderr(&stopped).contains("is not running"),
            "{}",
            stderr(&stopped)
        );
        delete_no_leaks(&rt, &id, &b);
    }
    if shapes.len() == 2 {
        assert_eq!(shapes[0], shapes[1], "runr and runc stats shapes differ");
    }
}

#[test]
fn events_streams_stats_and_oom_until_the_container_stops() {
    let rt = Runtime::runr();
    // The container waits for /dev/shm/go before it eats memory: the test creates it once
    // `events` has reported twice (a fixed `sleep 1` let a slow `events` start after the OOM).
    let mut b = Bundle::shell("while [ ! -e /dev/shm/go ]; do sleep 0.05; done; tail /dev/zero");
    b.config["linux"]["resources"]["memory"] = serde_json::json!({"limit": 20 << 20});
    let id = unique("oomev");
    rt.run_detached_ok(&b, &id, &[]);
    let init = rt.state(&id)["pid"].as_i64().unwrap();
    let go = format!("/proc/{init}/root/dev/shm/go");
    let mut child = rt
        .command(&["events", "--interval", "200ms", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut events: Vec<Value> = Vec::new();
    let mut released = false;
    let mut ended = false;
    let end = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < end {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(l) => {
                events.push(serde_json::from_str::<Value>(&l).unwrap());
                let stats = events.iter().filter(|e| e["type"] == "stats").count();
                if stats >= 2 && !released {
                    std::fs::write(&go, "").expect("let the container go");
                    released = true;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                ended = true;
                break;
            }
            Err(_) => {}
        }
    }
    if !ended {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    assert!(ended, "events still streaming after 60 s: {events:?}");
    assert!(status.success(), "events exit: {status}");
    let stats = events.iter().filter(|e| e["type"] == "stats").count();
    let ooms: Vec<&Value> = events.iter().filter(|e| e["type"] == "oom").collect();
    assert!(
        stats >= 2,
        "at least two stats events before the OOM: {events:?}"
    );
    assert!(!ooms.is_empty(), "an oom event: {events:?}");
    assert_eq!(ooms[0], &serde_json::json!({"type": "oom", "id": id}));
    assert_eq!(
        rt.state(&id)["status"],
        "stopped",
        "the stream ended with the container"
    );
    delete_no_leaks(&rt, &id, &b);
}

// ---------------------------------------------------------------------------------------------
// features

#[test]
fn features_describes_what_runr_supports_in_runcs_shape() {
    let rt = Runtime::runr();
    let text = rt.ok(&["features"]);
    assert!(text.ends_with("}\n"));
    assert!(text.contains("\n    \"ociVersionMin\""), "4-space indent");
    let f: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(f["ociVersionMin"], "1.0.0");
    let caps = f["linux"]["capabilities"].as_array().unwrap();
    let last: usize = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(caps.len(), last + 1, "one name per kernel capability");
    assert_eq!(caps[0], "CAP_CHOWN");
    let ns: Vec<&str> = f["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for n in ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"] {
        assert!(ns.contains(&n), "{n} missing from {ns:?}");
    }
    // runc reports the driver it has (true); runr too, and says whether systemd answers here.
    assert_eq!(f["linux"]["cgroup"]["systemd"], true);
    assert_eq!(
        f["annotations"]["org.runr.systemd.usable"],
        std::path::Path::new("/run/systemd/system")
            .is_dir()
            .to_string()
    );
    // Every advertised mount option is accepted in a real container.
    let opts: Vec<String> = f["mountOptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(opts.contains(&"rbind".to_string()) && opts.contains(&"nosuid".to_string()));
    let mut b = Bundle::shell("grep ' /mnt ' /proc/self/mountinfo");
    b.config["mounts"].as_array_mut().unwrap().push(
        serde_json::json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "noexec", "relatime", "rprivate"]}),
    );
    let (c, out, err) = rt.run(&b, &unique("featmnt"));
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("nosuid,nodev,noexec,relatime"), "{out}");

    if let Some(runc) = Runtime::runc() {
        let r: Value = serde_json::from_str(&runc.ok(&["features"])).unwrap();
        let keys = |v: &Value| {
            v.as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<BTreeSet<_>>()
        };
        // runr reports runc 1.5's document (runtime-spec 1.3 features), a superset of 1.1.5's
        // (spec13.rs checks the added members).
        for path in ["", "/linux", "/linux/cgroup", "/linux/seccomp"] {
            let (mine, theirs) = (
                keys(f.pointer(path).unwrap()),
                keys(r.pointer(path).unwrap()),
            );
            assert!(mine.is_superset(&theirs), "{path}: {mine:?} vs {theirs:?}");
        }
        assert_eq!(f["hooks"], r["hooks"]);
        assert_eq!(
            f["linux"]["seccomp"]["actions"],
            r["linux"]["seccomp"]["actions"]
        );
        assert_eq!(
            f["linux"]["seccomp"]["operators"],
            r["linux"]["seccomp"]["operators"]
        );
        // runc 1.5 reports 1.3.0 as runr does; runc 1.1.5 reports 1.0.2-dev.
        assert_eq!(f["ociVersionMax"], "1.3.0");
        // Our capability names are runc's (runc's list is static, ours the kernel's).
        let rc = r["linux"]["capabilities"].as_array().unwrap();
        assert!(caps.iter().all(|c| rc.contains(c)), "{caps:?}");
        // Every runr mount option is one runc knows too (idmap and ridmap: runc 1.2+).
        let ro = r["mountOptions"].as_array().unwrap();
        assert!(f["mountOptions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| ro.contains(o) || o == "idmap" || o == "ridmap"));
        let x86: Value = "SCMP_ARCH_X86_64".into();
        assert!(f["linux"]["seccomp"]["archs"]
            .as_array()
            .unwrap()
            .contains(&x86));
    }
    let extra = rt.exec(&["features", "extra"]);
    assert_eq!(code(&extra), 1);
}

// ---------------------------------------------------------------------------------------------
// run flags

#[test]
fn run_no_new_keyring_keeps_the_callers_session_keyring() {
    for rt in runtimes() {
        for no_new in [false, true] {
            let b = Bundle::new(&["sleep", "300"]);
            let id = unique("keyring");
            rt.run_detached_ok(&b, &id, if no_new { &["--no-new-keyring"] } else { &[] });
            let keys = std::fs::read_to_string("/proc/keys").unwrap();
            let named = keys
                .lines()
                .any(|l| l.ends_with(&format!("_ses.{id}: empty")));
            assert_eq!(
                named, !no_new,
                "{} --no-new-keyring={no_new}: {keys}",
                rt.name
            );
            delete_no_leaks(&rt, &id, &b);
        }
    }
}

#[test]
fn run_accepts_no_subreaper_with_no_pivot() {
    for rt in runtimes() {
        let b = Bundle::shell("ls /; exit 3");
        b.write();
        let id = unique("flags");
        let out = rt.exec(&[
            "run",
            "--no-subreaper",
            "--no-pivot",
            "--bundle",
            b.dir.to_str().unwrap(),
            &id,
        ]);
        assert_eq!(code(&out), 3, "{}: {}", rt.name, stderr(&out));
        let ls = String::from_utf8_lossy(&out.stdout);
        assert!(
            ls.contains("bin") && ls.contains("proc"),
            "{}: {ls}",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);
    }
}
