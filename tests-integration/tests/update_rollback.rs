//! `update` that fails part-way: the limits it already wrote are put back.
//!
//! runc does not roll back, in effect: libcontainer's `Container.Set` re-applies the container's
//! config when a `Set` fails ("Set configs back"), but `update` edited that config through a
//! shared pointer first (`Container.Config()` is a shallow copy), so it writes the new values
//! again (runc 1.1.5, and today's update.go is the same). runr puts back every value the update
//! wrote: the stored one, or "no limit" where none was stored (memory, swap, cpu quota, pids);
//! a field with neither (cpu shares never set, say) keeps what the failed update wrote.
//!
//! The failures are the kernel's: a realtime runtime above its period (EINVAL, after the memory
//! limit was written) and a per-device throttle for a device that does not exist (ENODEV,
//! after memory and pids were written; runc 1.1.5's `update -r` ignores per-device blockIO
//! entries, so that half is runr's alone).

use std::path::PathBuf;

use serde_json::json;
use tests_integration::{delete_no_leaks, runtimes, skip, unique, Bundle, Runtime};

/// `<file>` of the container's cgroup in the v1 hierarchy of `ctrl` (this file's failures are
/// v1's: cgroup v2 has no realtime CPU files and refuses those fields before writing anything).
fn v1_file(b: &Bundle, ctrl: &str, file: &str) -> Option<PathBuf> {
    let rel = b.cgroup_path();
    let path = PathBuf::from("/sys/fs/cgroup")
        .join(ctrl)
        .join(rel.trim_start_matches('/'))
        .join(file);
    path.exists().then_some(path)
}

/// The values the tests read back, in a fixed order.
const FILES: [(&str, &str); 5] = [
    ("memory", "memory.limit_in_bytes"),
    ("cpu", "cpu.shares"),
    ("cpu", "cpu.rt_runtime_us"),
    ("pids", "pids.max"),
    ("blkio", "blkio.throttle.read_bps_device"),
];

/// Every file of [`FILES`] as (name, content).
type Snapshot = Vec<(&'static str, String)>;

/// The [`Snapshot`] of the container's cgroup; `None` when a file is missing on this host.
fn snapshot(b: &Bundle) -> Option<Snapshot> {
    FILES
        .iter()
        .map(|(ctrl, file)| {
            let p = v1_file(b, ctrl, file)?;
            Some((*file, std::fs::read_to_string(p).ok()?.trim().to_string()))
        })
        .collect()
}

fn value<'a>(snap: &'a [(&str, String)], file: &str) -> &'a str {
    &snap.iter().find(|(f, _)| *f == file).unwrap().1
}

/// A container with memory, cpu shares and pids limits set (`with_limits`) or none, created
/// (its process waits), and the snapshot of its cgroup files before any update.
fn created(rt: &Runtime, with_limits: bool) -> Option<(Bundle, String, Snapshot)> {
    let mut b = Bundle::shell("sleep 600");
    if with_limits {
        b.config["linux"]["resources"]["memory"] = json!({"limit": 32 << 20});
        b.config["linux"]["resources"]["cpu"] = json!({"shares": 512});
        b.config["linux"]["resources"]["pids"] = json!({"limit": 100});
    }
    let id = unique("upd-rb");
    rt.create_ok(&b, &id, &[]);
    let Some(before) = snapshot(&b) else {
        skip("the memory, cpu (with cpu.rt_*), pids or blkio cgroup v1 files are missing here");
        delete_no_leaks(rt, &id, &b);
        return None;
    };
    Some((b, id, before))
}

/// `update` with memory (and cpu shares: `shares`) changed, then a realtime runtime the kernel
/// refuses (EINVAL: above its period).
fn failing_rt_update(rt: &Runtime, id: &str, shares: bool) -> std::process::Output {
    let mut args = vec!["update", "--memory", "64M"];
    if shares {
        args.extend(["--cpu-share", "256"]);
    }
    args.extend([
        "--cpu-rt-period",
        "1000000",
        "--cpu-rt-runtime",
        "2000000",
        id,
    ]);
    rt.exec(&args)
}

/// After `out`, a failed update: runr has every value of `before` back; runc (which does not
/// roll back, see the module docs) keeps each of `runc_keeps` as the update wrote it.
fn assert_after_failure(
    rt: &Runtime,
    b: &Bundle,
    out: &std::process::Output,
    before: &Snapshot,
    runc_keeps: &[(&str, String)],
) {
    assert!(
        !out.status.success(),
        "{}: rt runtime > period must fail",
        rt.name
    );
    let after = snapshot(b).unwrap();
    if rt.name == "runr" {
        assert_eq!(&after, before, "runr: every value the update wrote is back");
        return;
    }
    for (file, kept) in runc_keeps {
        assert_eq!(value(&after, file), kept, "runc: {file}");
    }
    eprintln!("runc: a failed update is not rolled back");
}

#[test]
fn a_failed_update_puts_back_the_limits_the_config_set() {
    for rt in runtimes() {
        let Some((b, id, before)) = created(&rt, true) else {
            return;
        };
        assert_eq!(
            value(&before, "memory.limit_in_bytes"),
            (32 << 20).to_string()
        );
        let out = failing_rt_update(&rt, &id, true);
        let runc_keeps = [
            ("memory.limit_in_bytes", (64 << 20).to_string()),
            ("cpu.shares", "256".to_string()),
        ];
        assert_after_failure(&rt, &b, &out, &before, &runc_keeps);
        // And the container still takes a good update afterwards.
        rt.ok(&["update", "--memory", "48M", &id]);
        let now = snapshot(&b).unwrap();
        assert_eq!(value(&now, "memory.limit_in_bytes"), (48 << 20).to_string());
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn a_failed_update_lifts_a_limit_the_config_did_not_set() {
    for rt in runtimes() {
        let Some((b, id, before)) = created(&rt, false) else {
            return;
        };
        let out = failing_rt_update(&rt, &id, false);
        // runr lifts the memory limit it wrote again; runc keeps it.
        let runc_keeps = [("memory.limit_in_bytes", (64 << 20).to_string())];
        assert_after_failure(&rt, &b, &out, &before, &runc_keeps);
        delete_no_leaks(&rt, &id, &b);
    }
}

/// `update -r` with memory and pids changed, then a throttle for a device that does not exist.
fn failing_device_update(rt: &Runtime, b: &Bundle, id: &str) -> std::process::Output {
    let res = b.dir.join("res.json");
    let doc = json!({
        "memory": {"limit": 64 << 20},
        "pids": {"limit": 50},
        "blockIO": {"throttleReadBpsDevice": [{"major": 250, "minor": 250, "rate": 1048576}]}
    });
    std::fs::write(&res, doc.to_string()).unwrap();
    rt.exec(&["update", "-r", res.to_str().unwrap(), id])
}

#[test]
fn a_missing_device_after_memory_and_pids_rolls_both_back() {
    let rt = Runtime::runr();
    for with_limits in [true, false] {
        let Some((b, id, before)) = created(&rt, with_limits) else {
            return;
        };
        let out = failing_device_update(&rt, &b, &id);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "a device that does not exist must fail"
        );
        assert!(
            stderr.contains("250:250"),
            "the error names the device: {stderr}"
        );
        assert_eq!(snapshot(&b).unwrap(), before, "limits set: {with_limits}");
        delete_no_leaks(&rt, &id, &b);
    }
    // runc 1.1.5 ignores per-device blockIO in `update -r` (runc 1.4+ applies it, then rolls
    // back as in the tests above): the same document succeeds there.
    if let Some(runc) = Runtime::runc() {
        let Some((b, id, _)) = created(&runc, true) else {
            return;
        };
        let out = failing_device_update(&runc, &b, &id);
        assert!(
            out.status.success(),
            "runc 1.1.5: per-device entries ignored"
        );
        let now = snapshot(&b).unwrap();
        assert_eq!(value(&now, "pids.max"), "50", "runc applied the rest");
        delete_no_leaks(&runc, &id, &b);
    }
}

/// A state.json as a runr before schema 2 wrote it: version 1, and `pids.limit` 0 meaning
/// "unset" (runtime-spec < 1.3), which left pids.max at the kernel's "max".
fn make_state_old(rt: &Runtime, id: &str) {
    let path = rt.root.join(id).join("state.json");
    let mut st: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    st["version"] = json!(1);
    st["spec"]["linux"]["resources"]["pids"] = json!({"limit": 0});
    std::fs::write(&path, st.to_string()).unwrap();
}

#[test]
fn an_old_state_files_pids_zero_is_not_rolled_back_as_a_limit() {
    let rt = Runtime::runr();
    let Some((b, id, before)) = created(&rt, false) else {
        return;
    };
    assert_eq!(value(&before, "pids.max"), "max");
    make_state_old(&rt, &id);
    let out = failing_device_update(&rt, &b, &id);
    assert!(!out.status.success());
    // Read as today's 0, the rollback would write pids.max 1 and the container could not fork.
    assert_eq!(snapshot(&b).unwrap(), before, "pids.max back to max, not 1");
    delete_no_leaks(&rt, &id, &b);
}
