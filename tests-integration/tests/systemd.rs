//! The systemd cgroup driver (`--systemd-cgroup`) against a real systemd, runr and runc side by
//! side: the unit and its properties (`systemctl show`), the cgroup files, update, pause/resume,
//! ps, stats, exec, kill --all, OOM, delete (no unit left in `systemctl list-units --all`, no
//! cgroup left), and bad input. These need systemd as PID 1: `scripts/test-systemd.sh` runs them
//! in a VM booted with systemd (../shared/tools/v2vm, `V2VM_INIT=systemd`); elsewhere each test
//! prints `SKIP` and returns.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use tests_integration::{
    assert_no_leaks, cgroup_hierarchies, processes_mentioning, runtimes, skip, unique, wait_for,
    Bundle, Runtime,
};

/// systemd runs here (sd_booted); otherwise say why the test does nothing (a `SKIP` line).
fn systemd_here() -> bool {
    let here = Path::new("/run/systemd/system").is_dir();
    if !here {
        skip("systemd is not PID 1 here (scripts/test-systemd.sh runs this in a systemd VM)");
    }
    here
}

fn v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// `systemctl show UNIT -p PROP --value`.
fn show(unit: &str, prop: &str) -> String {
    let o = Command::new("systemctl")
        .args(["show", unit, "-p", prop, "--value"])
        .output()
        .expect("systemctl");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Each (property, value) of `unit` as `systemctl show` has it; `rt` names the runtime.
fn assert_props(rt: &str, unit: &str, want: &[(&str, &str)]) {
    for (prop, value) in want {
        assert_eq!(show(unit, prop), *value, "{rt}: {unit} {prop}");
    }
}

/// Each (controller, v2 file, v1 file, value) of the unit's cgroup ([`unit_file`]).
fn assert_files(rt: &str, cgroup: &str, want: &[(&str, &str, &str, &str)]) {
    for (ctrl, v2_name, v1_name, value) in want {
        let got = unit_file(cgroup, ctrl, v2_name, v1_name);
        assert_eq!(got, *value, "{rt}: {cgroup} {ctrl} ({v2_name}/{v1_name})");
    }
}

/// Whether `systemctl list-units --all` lists `unit`.
fn listed(unit: &str) -> bool {
    let o = Command::new("systemctl")
        .args(["list-units", "--all", "--no-legend", "--plain"])
        .output()
        .expect("systemctl");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .any(|l| l.split_whitespace().next() == Some(unit))
}

/// The unit's cgroup directory in every hierarchy.
fn unit_dirs(cgroup: &str) -> Vec<PathBuf> {
    cgroup_hierarchies()
        .into_iter()
        .map(|h| h.join(cgroup.trim_start_matches('/')))
        .collect()
}

/// Where a controller's file of the unit is: v2 `/sys/fs/cgroup/<cg>/<v2>`, v1
/// `/sys/fs/cgroup/<ctrl>/<cg>/<v1>`.
fn unit_file(cgroup: &str, ctrl: &str, v2_name: &str, v1_name: &str) -> String {
    let rel = cgroup.trim_start_matches('/');
    let p = if v2() {
        format!("/sys/fs/cgroup/{rel}/{v2_name}")
    } else {
        format!("/sys/fs/cgroup/{ctrl}/{rel}/{v1_name}")
    };
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {p}: {e}"))
        .trim()
        .to_string()
}

/// A bundle whose cgroupsPath is `system.slice:<rt>-it:<id>`: (bundle, unit, its cgroup).
fn sd_bundle(rt: &Runtime, id: &str, args: &[&str]) -> (Bundle, String, String) {
    let mut b = Bundle::new(args);
    let prefix = format!("{}-it", rt.name);
    b.config["linux"]["cgroupsPath"] = json!(format!("system.slice:{prefix}:{id}"));
    let unit = format!("{prefix}-{id}.scope");
    let cgroup = format!("/system.slice/{unit}");
    (b, unit, cgroup)
}

fn sd(rt: &Runtime, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--systemd-cgroup"];
    all.extend_from_slice(args);
    rt.exec(&all)
}

fn sd_run_detached(rt: &Runtime, b: &Bundle, id: &str) {
    b.write();
    let dir = b.dir.to_str().unwrap();
    let o = rt.exec_detached(&["--systemd-cgroup", "run", "-d", "-b", dir, id], b);
    assert!(
        o.status.success(),
        "{} run -d {id}: {}",
        rt.name,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// delete --force (without --systemd-cgroup: the driver is in the state), then nothing left:
/// no state, process or mount, no unit listed, no cgroup directory.
fn delete_no_unit_left(rt: &Runtime, id: &str, b: &Bundle, unit: &str, cgroup: &str) {
    rt.ok(&["delete", "--force", id]);
    delete_check(rt, id, b, unit, cgroup);
}

/// [`assert_no_leaks`], after letting the kernel's cgroup release agent finish: on a v1 host
/// systemd gets `/lib/systemd/systemd-cgroups-agent /system.slice/<unit>` spawned for every
/// emptied cgroup, whose command line names the container; it exits on its own within
/// milliseconds (a process the runtime left would not).
fn no_leaks(rt: &Runtime, id: &str, b: &Bundle) {
    wait_for(30, || processes_mentioning(id).is_empty());
    assert_no_leaks(rt, id, b);
}

fn init_cgroup(pid: i64) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap()
}

#[test]
fn scope_gets_the_init_and_the_resource_properties() {
    if !systemd_here() {
        return;
    }
    for rt in runtimes() {
        let id = unique("sdprops");
        let (mut b, unit, cgroup) = sd_bundle(&rt, &id, &["sleep", "100"]);
        b.config["linux"]["resources"] = json!({
            "memory": {"limit": 67108864},
            "cpu": {"shares": 512, "quota": 5001, "period": 100000},
            "pids": {"limit": 77}
        });
        sd_run_detached(&rt, &b, &id);
        let n = rt.name;
        assert_props(
            n,
            &unit,
            &[
                ("ActiveState", "active"),
                ("Slice", "system.slice"),
                ("ControlGroup", &cgroup),
                ("Delegate", "yes"),
                ("DefaultDependencies", "no"),
                ("MemoryAccounting", "yes"),
                ("TasksMax", "77"),
                // systemd keeps whole percents: 5001/100000 → 60 ms per second.
                ("CPUQuotaPerSecUSec", "60ms"),
            ],
        );
        let pid = rt.state(&id)["pid"].as_i64().unwrap();
        let own = init_cgroup(pid);
        assert!(own.contains(&cgroup), "{n}: init in {own}");
        if v2() {
            // runc 1.1.5's shares → weight: 1 + (512 - 2) * 9999 / 262142 = 20.
            assert_props(n, &unit, &[("MemoryMax", "67108864"), ("CPUWeight", "20")]);
            assert!(own.starts_with(&format!("0::{cgroup}")), "{n}: {own}");
        } else {
            assert_props(
                n,
                &unit,
                &[("MemoryLimit", "67108864"), ("CPUShares", "512")],
            );
        }
        assert_files(
            n,
            &cgroup,
            &[
                ("memory", "memory.max", "memory.limit_in_bytes", "67108864"),
                ("pids", "pids.max", "pids.max", "77"),
            ],
        );
        // runr writes the quota systemd's rounding implies (runc 1.2+ does; runc 1.1.5 writes
        // the spec's 5001 after systemd wrote 6000).
        let quota = unit_file(&cgroup, "cpu", "cpu.max", "cpu.cfs_quota_us");
        let quota = quota.split_whitespace().next().unwrap().to_string();
        match n {
            "runr" => assert_eq!(quota, "6000"),
            _ => assert!(quota == "5001" || quota == "6000", "{n}: {quota}"),
        }
        delete_no_unit_left(&rt, &id, &b, &unit, &cgroup);
    }
}

#[test]
fn empty_cgroups_path_is_a_scope_named_after_the_runtime_and_id() {
    if !systemd_here() {
        return;
    }
    for rt in runtimes() {
        let id = unique("sddef");
        let mut b = Bundle::new(&["sleep", "100"]);
        b.config["linux"]
            .as_object_mut()
            .unwrap()
            .remove("cgroupsPath");
        sd_run_detached(&rt, &b, &id);
        // runc: system.slice:runc:<id>; runr: system.slice:runr:<id>.
        let unit = format!("{}-{id}.scope", rt.name);
        let want = [("ActiveState", "active"), ("Slice", "system.slice")];
        assert_props(rt.name, &unit, &want);
        let cgroup = format!("/system.slice/{unit}");
        delete_no_unit_left(&rt, &id, &b, &unit, &cgroup);
    }
}

#[test]
fn update_changes_the_unit_and_the_files() {
    if !systemd_here() {
        return;
    }
    for rt in runtimes() {
        let id = unique("sdupd");
        let (mut b, unit, cgroup) = sd_bundle(&rt, &id, &["sleep", "100"]);
        b.config["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
        sd_run_detached(&rt, &b, &id);
        rt.ok(&[
            "update",
            "--memory",
            "104857600",
            "--pids-limit",
            "50",
            "--cpu-quota",
            "20000",
            "--cpu-period",
            "100000",
            &id,
        ]);
        let n = rt.name;
        let mem_prop = if v2() { "MemoryMax" } else { "MemoryLimit" };
        let want = [
            (mem_prop, "104857600"),
            ("TasksMax", "50"),
            ("CPUQuotaPerSecUSec", "200ms"),
        ];
        assert_props(n, &unit, &want);
        assert_files(
            n,
            &cgroup,
            &[
                ("memory", "memory.max", "memory.limit_in_bytes", "104857600"),
                ("pids", "pids.max", "pids.max", "50"),
            ],
        );
        delete_no_unit_left(&rt, &id, &b, &unit, &cgroup);
    }
}

#[test]
fn pause_ps_stats_exec_and_kill_all_work_on_the_scope() {
    if !systemd_here() {
        return;
    }
    for rt in runtimes() {
        let id = unique("sdops");
        let (b, unit, cgroup) = sd_bundle(&rt, &id, &["sh", "-c", "sleep 100 & sleep 100"]);
        sd_run_detached(&rt, &b, &id);
        let n = rt.name;
        rt.ok(&["pause", &id]);
        assert_eq!(rt.state(&id)["status"], "paused", "{n}");
        if v2() {
            assert_eq!(unit_file(&cgroup, "", "cgroup.freeze", ""), "1", "{n}");
        } else {
            let f = unit_file(&cgroup, "freezer", "", "freezer.state");
            assert_eq!(f, "FROZEN", "{n}");
        }
        rt.ok(&["resume", &id]);
        assert_eq!(rt.state(&id)["status"], "running", "{n}");
        // ps: the init (busybox sh execs its last command, a sleep) and the other sleep.
        let ps: Vec<i64> = serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
        assert!(
            wait_for(30, || {
                let ps: Vec<i64> =
                    serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
                ps.len() == 2
            }),
            "{n}: ps {ps:?}"
        );
        // stats come from the scope's cgroup.
        let ev: serde_json::Value =
            serde_json::from_str(&rt.ok(&["events", "--stats", &id])).unwrap();
        assert_eq!(ev["type"], "stats", "{n}");
        assert_eq!(ev["data"]["pids"]["current"], 2, "{n}: {ev}");
        assert!(
            ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
            "{n}: {ev}"
        );
        // exec lands in the scope.
        let out = rt.ok(&["exec", &id, "cat", "/proc/self/cgroup"]);
        assert!(out.contains(&cgroup), "{n}: exec in {out}");
        // kill --all reaches every process of the scope.
        rt.ok(&["kill", "--all", &id, "KILL"]);
        assert!(
            wait_for(30, || rt.state(&id)["status"] == "stopped"),
            "{n}: still {}",
            rt.state(&id)["status"]
        );
        delete_no_unit_left(&rt, &id, &b, &unit, &cgroup);
    }
}

#[test]
fn oom_kills_inside_the_scope_and_it_is_counted() {
    if !systemd_here() {
        return;
    }
    for rt in runtimes() {
        let id = unique("sdoom");
        // dd's 64 MiB buffer does not fit in 20 MiB (nor in swap: memory+swap is 20 MiB too).
        let script =
            "dd if=/dev/zero of=/dev/null bs=64M count=1; echo status=$? > /tmp/status; sleep 100";
        let (mut b, unit, cgroup) = sd_bundle(&rt, &id, &["sh", "-c", script]);
        b.config["linux"]["resources"] = json!({"memory": {"limit": 20971520, "swap": 20971520}});
        b.config["root"]["readonly"] = json!(false);
        sd_run_detached(&rt, &b, &id);
        let n = rt.name;
        let status = b.rootfs().join("tmp/status");
        assert!(wait_for(60, || status.exists()), "{n}: no OOM kill in time");
        assert!(
            wait_for(30, || std::fs::read_to_string(&status)
                .unwrap_or_default()
                .contains("status=137")),
            "{n}"
        );
        if v2() {
            let events = unit_file(&cgroup, "", "memory.events", "");
            let kills = events
                .lines()
                .find_map(|l| l.strip_prefix("oom_kill "))
                .unwrap_or("0");
            assert!(kills.parse::<u64>().unwrap() >= 1, "{n}: {events}");
        }
        // The container survives its child's OOM kill, as does its unit.
        assert_eq!(rt.state(&id)["status"], "running", "{n}");
        assert_eq!(show(&unit, "ActiveState"), "active", "{n}");
        delete_no_unit_left(&rt, &id, &b, &unit, &cgroup);
    }
}

#[test]
fn stopped_container_unit_is_gone_after_delete() {
    if !systemd_here() {
        return;
    }
    for rt in runtimes() {
        let id = unique("sdstop");
        let (b, unit, cgroup) = sd_bundle(&rt, &id, &["true"]);
        b.write();
        let dir = b.dir.to_str().unwrap();
        // Foreground run: the runtime deletes the container (and its unit) when it exits.
        let o = sd(&rt, &["run", "-b", dir, &id]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            rt.name,
            String::from_utf8_lossy(&o.stderr)
        );
        no_leaks(&rt, &id, &b);
        assert!(!listed(&unit), "{}: {unit} still listed", rt.name);
        // create, kill, then delete (without --systemd-cgroup).
        let o = rt.exec_detached(&["--systemd-cgroup", "create", "-b", dir, &id], &b);
        assert!(
            o.status.success(),
            "{}: {}",
            rt.name,
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(show(&unit, "ActiveState"), "active", "{}", rt.name);
        rt.ok(&["kill", &id, "KILL"]);
        assert!(
            wait_for(30, || rt.state(&id)["status"] == "stopped"),
            "{}",
            rt.name
        );
        rt.ok(&["delete", &id]);
        delete_check(&rt, &id, &b, &unit, &cgroup);
    }
}

/// The checks of [`delete_no_unit_left`] after a delete the test made itself.
fn delete_check(rt: &Runtime, id: &str, b: &Bundle, unit: &str, cgroup: &str) {
    no_leaks(rt, id, b);
    assert!(!listed(unit), "{}: unit {unit} still listed", rt.name);
    for d in unit_dirs(cgroup) {
        assert!(!d.exists(), "{}: cgroup {} left", rt.name, d.display());
    }
}

#[test]
fn unit_properties_from_annotations() {
    if !systemd_here() {
        return;
    }
    for rt in runtimes() {
        let id = unique("sdann");
        let (mut b, unit, cgroup) = sd_bundle(&rt, &id, &["sleep", "100"]);
        b.config["annotations"] = json!({
            "org.systemd.property.CollectMode": "'inactive-or-failed'",
            "org.systemd.property.TimeoutStopSec": "uint64 7",
        });
        sd_run_detached(&rt, &b, &id);
        let want = [
            ("CollectMode", "inactive-or-failed"),
            ("TimeoutStopUSec", "7s"),
        ];
        assert_props(rt.name, &unit, &want);
        delete_no_unit_left(&rt, &id, &b, &unit, &cgroup);
    }
}

#[test]
fn bad_paths_and_annotations_fail_naming_them_and_leave_nothing() {
    if !systemd_here() {
        return;
    }
    for rt in runtimes() {
        let n = rt.name;
        // Not slice:prefix:name.
        let id = unique("sdbad");
        let mut b = Bundle::new(&["true"]);
        b.config["linux"]["cgroupsPath"] = json!("system.slice:only-two");
        create_fails_naming(&rt, &b, &id, "slice:prefix:name");
        // A slice name systemd cannot have.
        let id = unique("sdbad");
        b.config["linux"]["cgroupsPath"] = json!(format!("a--b.slice:x:{id}"));
        create_fails_naming(&rt, &b, &id, "a--b.slice");
        // A property name systemd rejects (runc: "too short").
        let id = unique("sdbad");
        let (mut b, unit, _) = sd_bundle(&rt, &id, &["true"]);
        b.config["annotations"] = json!({"org.systemd.property.x": "1"});
        create_fails_naming(&rt, &b, &id, "org.systemd.property.x");
        assert!(!listed(&unit), "{n}: {unit} listed");
    }
}

/// `--systemd-cgroup create` of `b` exits 1 with an error containing `needle`, leaving nothing.
fn create_fails_naming(rt: &Runtime, b: &Bundle, id: &str, needle: &str) {
    b.write();
    let dir = b.dir.to_str().unwrap();
    let o = rt.exec_detached(&["--systemd-cgroup", "create", "-b", dir, id], b);
    assert_eq!(o.status.code(), Some(1), "{}", rt.name);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains(needle), "{}: {err}", rt.name);
    no_leaks(rt, id, b);
}

#[test]
fn the_same_id_gets_a_new_unit_after_delete() {
    if !systemd_here() {
        return;
    }
    for rt in runtimes() {
        let id = unique("sdagain");
        let (b, unit, cgroup) = sd_bundle(&rt, &id, &["sleep", "100"]);
        for _ in 0..2 {
            sd_run_detached(&rt, &b, &id);
            assert_eq!(show(&unit, "ActiveState"), "active", "{}", rt.name);
            delete_no_unit_left(&rt, &id, &b, &unit, &cgroup);
        }
    }
}
