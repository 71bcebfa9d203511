//! Per-phase timings (issue #20): `RUNR_PHASE_TIMINGS=FILE` makes create, start, run, exec and
//! delete append one JSON line with their phases; `--debug` logs each step with the duration
//! of the phase it ends (`phase_ms`). No other runtime has them: the same commands under runc
//! (1.1.5 here, and today's runc alike) write no such file and pass nothing of it to the
//! container, which the runc half of each test asserts.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests_integration::{
    assert_no_leaks, delete_no_leaks, runtimes, scratch, unique, wait_for, Bundle, Runtime,
};

/// The steps ending the init's phases, in the order the init goes through them; the first two
/// come in either order (see `init_phases_in_order`).
const INIT_PHASES: &[&str] = &[
    "init: told to go",
    "init: joined its v1 cgroups",
    "init: namespaces joined and unshared",
    "init: mounts and /dev done",
    "init: prestart and createRuntime hooks done",
    "init: createContainer hooks done",
    "init: root entered (pivot_root)",
    "init: console and cwd done",
    "init: hostname and sysctl set",
    "init: readonly and masked paths done",
    "init: session keyring joined",
    "init: confined (rlimits, user, caps, seccomp, cwd, executable)",
];

/// The runtime with `RUNR_PHASE_TIMINGS=file`, stdout and stderr into the bundle (a container
/// created by it may outlive it and would hold a pipe open); returns the output and the wall time.
fn timed(rt: &Runtime, file: &std::path::Path, args: &[&str], b: &Bundle) -> (Output, Duration) {
    let (out, err) = (b.dir.join("stdout"), b.dir.join("stderr"));
    let mut c: Command = rt.command(args);
    c.env("RUNR_PHASE_TIMINGS", file)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .stdin(Stdio::null());
    let start = Instant::now();
    let status = c.status().expect("spawn runtime");
    let wall = start.elapsed();
    let o = Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    };
    assert!(
        o.status.success(),
        "{} {args:?}: {}",
        rt.name,
        String::from_utf8_lossy(&o.stderr)
    );
    (o, wall)
}

/// The lines of the timings file, parsed (none when it does not exist).
fn lines(file: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// A line's phases as (name, µs), checking the shape: their sum is the total (up to the µs
/// rounding of each), the total within the wall time the caller measured.
fn phases(line: &Value, wall: Duration) -> Vec<(String, u64)> {
    let list: Vec<(String, u64)> = line["phases"]
        .as_array()
        .unwrap_or_else(|| panic!("no phases: {line}"))
        .iter()
        .map(|p| {
            let name = p[0].as_str().unwrap_or_else(|| panic!("{p}")).to_string();
            // A negative or fractional duration is not a u64: refused here.
            let us = p[1].as_u64().unwrap_or_else(|| panic!("not whole µs: {p}"));
            (name, us)
        })
        .collect();
    let total = line["total_us"].as_u64().expect("total_us");
    let sum: u64 = list.iter().map(|(_, us)| us).sum();
    assert!(
        sum <= total && total - sum <= list.len() as u64,
        "phases add up to {sum} µs, total {total}: {line}"
    );
    let wall_us = wall.as_micros() as u64;
    assert!(
        total > 0 && total <= wall_us,
        "total {total} µs outside the command's wall time {wall_us} µs: {line}"
    );
    assert_eq!(list.last().map(|p| p.0.as_str()), Some("command done"));
    list
}

/// The init's phases as seen, with its first two put in [`INIT_PHASES`]' order: the init joins
/// its v1 cgroups before the parent's go where they exist at the clone, after it where the
/// parent makes them while the init makes its network namespace (a v1 host) or systemd makes
/// them when the unit starts.
fn init_phases_in_order<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut v = names.to_vec();
    if v.len() >= 2 && v[0] == INIT_PHASES[1] && v[1] == INIT_PHASES[0] {
        v.swap(0, 1);
    }
    v
}

/// Asserts that `want` appear in `got` in this order (other phases may come between).
fn in_order(got: &[(String, u64)], want: &[&str], what: &str) {
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    let names = match names.iter().position(|n| *n == "init cloned") {
        Some(i) => [&names[..=i], &init_phases_in_order(&names[i + 1..])[..]].concat(),
        None => names,
    };
    let mut at = 0;
    for w in want {
        match names[at..].iter().position(|n| n == w) {
            Some(i) => at += i + 1,
            None => panic!("{what}: {w:?} missing or out of order in {names:?}"),
        }
    }
}

#[test]
fn timings_file_gets_one_line_per_command_with_its_phases_in_time_order() {
    for rt in runtimes() {
        let file = scratch().join(unique("phases"));
        let b = Bundle::new(&["true"]);
        b.write();
        let dir = b.dir.to_str().unwrap();

        // run: the whole life, the init's phases (timed in the child) between the clone and
        // the parent's "init ready".
        let id = unique("ph-run");
        let (_, wall_run) = timed(&rt, &file, &["run", "--bundle", dir, &id], &b);
        assert_no_leaks(&rt, &id, &b);

        // create, start, delete one by one.
        let id = unique("ph-cycle");
        let (_, wall_create) = timed(&rt, &file, &["create", "--bundle", dir, &id], &b);
        let (_, wall_start) = timed(&rt, &file, &["start", &id], &b);
        assert!(wait_for(30, || rt.state(&id)["status"] == "stopped"));
        let (_, wall_delete) = timed(&rt, &file, &["delete", &id], &b);
        assert_no_leaks(&rt, &id, &b);

        // exec into a running container.
        let s = Bundle::new(&["sleep", "100"]);
        let id = unique("ph-exec");
        rt.run_detached_ok(&s, &id, &[]);
        let (_, wall_exec) = timed(&rt, &file, &["exec", &id, "true"], &s);
        delete_no_leaks(&rt, &id, &s);

        let got = lines(&file);
        let _ = std::fs::remove_file(&file);
        if rt.name != "runr" {
            // runc has no phase timings: it ignores the variable and writes nothing.
            assert!(got.is_empty(), "{} wrote timings: {got:?}", rt.name);
            continue;
        }
        let commands: Vec<&str> = got.iter().map(|l| l["command"].as_str().unwrap()).collect();
        assert_eq!(commands, ["run", "create", "start", "delete", "exec"]);

        let run = phases(&got[0], wall_run);
        let mut want = vec![
            "config loaded",
            "state directory created",
            "cgroup created",
            "init cloned",
        ];
        want.extend_from_slice(INIT_PHASES);
        want.extend_from_slice(&[
            "init ready",
            "cgroup limits applied",
            "container created",
            "init told to start",
            "container process running",
            "process exited",
            "cgroup removed",
            "state directory removed",
            "command done",
        ]);
        in_order(&run, &want, "run");

        let create = phases(&got[1], wall_create);
        in_order(&create, &want[..want.len() - 9], "create");
        assert!(
            !create.iter().any(|(n, _)| n == "init told to start"),
            "{create:?}"
        );
        let start = phases(&got[2], wall_start);
        in_order(
            &start,
            &["init told to start", "container process running"],
            "start",
        );
        // No command re-executes itself for this container: its processes leave runr through
        // the exec stub (CVE-2019-5736; security.rs has the containers that re-execute, and
        // their "re-exec from a read-only binary" phase).
        for line in &got {
            let names = phases(line, Duration::from_secs(3600));
            assert!(
                !names.iter().any(|(n, _)| n.starts_with("re-exec")),
                "{names:?}"
            );
        }
        let delete = phases(&got[3], wall_delete);
        in_order(
            &delete,
            &["cgroup removed", "state directory removed"],
            "delete",
        );
        let exec = phases(&got[4], wall_exec);
        in_order(
            &exec,
            &[
                "exec process cloned",
                "exec'd process: told to go",
                "exec'd process: joined its v1 cgroups",
                "exec'd process: namespaces joined and unshared",
                "exec'd process: console and cwd done",
                "exec'd process: confined (rlimits, user, caps, seccomp, cwd, executable)",
                "exec process running",
                "process exited",
            ],
            "exec",
        );
    }
}

#[test]
fn the_seccomp_cache_shows_as_a_cold_then_a_warm_phase() {
    let rt = Runtime::runr();
    let file = scratch().join(unique("phases"));
    let mut b = Bundle::new(&["true"]);
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO"}],
    });
    b.write();
    let dir = b.dir.to_str().unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let id = unique("ph-sec");
        let (_, wall) = timed(&rt, &file, &["run", "--bundle", dir, &id], &b);
        assert_no_leaks(&rt, &id, &b);
        let got = lines(&file);
        let ph = phases(got.last().unwrap(), wall);
        seen.push(
            ph.iter()
                .filter(|(n, _)| n.starts_with("seccomp filter"))
                .map(|(n, _)| n.clone())
                .collect::<Vec<_>>(),
        );
        in_order(&ph, &["cgroup created", "init cloned"], "run");
    }
    let _ = std::fs::remove_file(&file);
    // The first container of a root compiles the profile, the next one reads it back.
    assert_eq!(
        seen,
        [
            vec!["seccomp filter compiled and cached"],
            vec!["seccomp filter loaded from the cache"]
        ]
    );
}

#[test]
fn debug_lines_carry_the_duration_of_the_phase_each_step_ends() {
    let rt = Runtime::runr();
    let b = Bundle::new(&["true"]);
    b.write();
    let id = unique("ph-dbg");
    let o = rt.exec(&["--debug", "run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_no_leaks(&rt, &id, &b);
    let err = String::from_utf8_lossy(&o.stderr);
    let steps: Vec<(&str, Option<f64>)> = err
        .lines()
        .filter(|l| l.contains(" level=debug "))
        .filter_map(|l| {
            let msg = l.split(" msg=\"").nth(1)?.split('"').next()?;
            let ms = l
                .split(" phase_ms=")
                .nth(1)
                .and_then(|v| v.split(' ').next()?.parse().ok());
            Some((msg, ms))
        })
        .collect();
    let names: Vec<&str> = steps.iter().map(|s| s.0).collect();
    // Every library step after the first carries its phase (the command's own "runr run"
    // line is the CLI's, not a step).
    for (msg, ms) in &steps[1..] {
        if *msg != "runr run" {
            assert!(ms.is_some_and(|v| v >= 0.0), "{msg}: {err}");
        }
    }
    let cloned = names.iter().position(|n| *n == "init cloned").unwrap();
    let ready = names.iter().position(|n| *n == "init ready").unwrap();
    assert_eq!(
        init_phases_in_order(&names[cloned + 1..ready]),
        INIT_PHASES,
        "{err}"
    );
}

#[test]
fn timings_leave_nothing_in_the_container_and_a_bad_file_fails_no_command() {
    for rt in runtimes() {
        // The container's environment is the spec's, with or without timings.
        let file = scratch().join(unique("phases"));
        let b = Bundle::new(&["env"]);
        b.write();
        let id = unique("ph-env");
        let (o, _) = timed(
            &rt,
            &file,
            &["run", "--bundle", b.dir.to_str().unwrap(), &id],
            &b,
        );
        let env = String::from_utf8_lossy(&o.stdout);
        assert!(
            !env.contains("RUNR") && env.contains("PATH="),
            "{}: {env}",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);
        let _ = std::fs::remove_file(&file);

        // A file that cannot be written (a directory): the command works, runr warns.
        let id = unique("ph-bad");
        let (o, _) = timed(
            &rt,
            &scratch(),
            &["run", "--bundle", b.dir.to_str().unwrap(), &id],
            &b,
        );
        assert_no_leaks(&rt, &id, &b);
        let err = String::from_utf8_lossy(&o.stderr);
        if rt.name == "runr" {
            assert!(
                err.contains("level=warning") && err.contains("RUNR_PHASE_TIMINGS"),
                "{err}"
            );
        } else {
            assert!(!err.contains("RUNR_PHASE_TIMINGS"), "{}: {err}", rt.name);
        }
    }
}
