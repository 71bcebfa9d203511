//! Issue #17: `linux.resources.blockIO` on pure cgroup v2 (`io.bfq.weight` or `io.weight`,
//! `io.max`) at create, and `update -r` with per-device entries (runc 1.4), side by side with
//! the installed runc 1.1.5 on the same loop device. Run in the v2 VM by scripts/test-v2.sh,
//! twice: with the BFQ scheduler's module loaded (weights go to `io.bfq.weight`, per-device
//! ones too) and without it (the weight goes to `io.weight`, converted as runc converts it;
//! per-device weights are not written, by either runtime). On another host (this hybrid one)
//! each test prints a SKIP line.

use std::path::{Path, PathBuf};

use serde_json::json;
use tests_integration::loop_disk::LoopDisk;
use tests_integration::{delete_no_leaks, runtimes, unique, Bundle, Runtime};

/// Pure cgroup v2: the unified hierarchy is mounted at /sys/fs/cgroup itself.
fn pure_v2(test: &str) -> bool {
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if !v2 {
        test_skip::skip_as(
            test,
            "not a pure cgroup v2 host (scripts/test-v2.sh runs it in the v2 VM)",
        );
    }
    v2
}

/// A loop device (tests_integration::loop_disk), or `None` and a SKIP line when none can be
/// made here.
fn loop_disk(test: &str) -> Option<LoopDisk> {
    LoopDisk::attach()
        .map_err(|why| test_skip::skip_as(test, format!("no loop device (losetup: {why})")))
        .ok()
}

/// A file of the container's v2 cgroup.
fn cg_file(b: &Bundle, name: &str) -> String {
    let p = PathBuf::from("/sys/fs/cgroup")
        .join(b.cgroup_path().trim_start_matches('/'))
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The weight file the kernel offers for `weight`: BFQ's when its module is loaded.
fn weight_file(b: &Bundle) -> &'static str {
    let p = PathBuf::from("/sys/fs/cgroup")
        .join(b.cgroup_path().trim_start_matches('/'))
        .join("io.bfq.weight");
    if p.exists() {
        "io.bfq.weight"
    } else {
        "io.weight"
    }
}

/// The line of `file` for the device (`major:minor …`), if any.
fn device_line(text: &str, dev: &str) -> Option<String> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(dev))
        .map(str::to_string)
}

/// The runtime is runc older than 1.4 (its update ignores per-device blockIO).
fn old_runc(rt: &Runtime) -> bool {
    rt.name == "runc" && rt.ok(&["--version"]).contains("version 1.1.")
}

/// What a runtime left in the cgroup after create: (weight file, its content, io.max line).
type Written = (&'static str, String, Option<String>);

#[test]
fn block_io_at_create_is_written_as_runc_writes_it() {
    let test = "block_io_at_create_is_written_as_runc_writes_it";
    if !pure_v2(test) {
        return;
    }
    let Some(disk) = loop_disk(test) else {
        return;
    };
    let (maj, min) = disk.major_minor;
    let dev = disk.numbers();
    let mut seen: Vec<(String, Written)> = Vec::new();
    for rt in runtimes() {
        let mut b = Bundle::shell("sleep 600");
        b.config["linux"]["resources"]["blockIO"] = json!({
            "weight": 500,
            "weightDevice": [{"major": maj, "minor": min, "weight": 200}],
            "throttleReadBpsDevice": [{"major": maj, "minor": min, "rate": 1048576}],
            "throttleWriteBpsDevice": [{"major": maj, "minor": min, "rate": 2097152}],
            "throttleReadIOPSDevice": [{"major": maj, "minor": min, "rate": 100}],
            "throttleWriteIOPSDevice": [{"major": maj, "minor": min, "rate": 50}]
        });
        let id = unique("io-create");
        rt.create_ok(&b, &id, &[]);
        let file = weight_file(&b);
        let weights = cg_file(&b, file);
        let max = device_line(&cg_file(&b, "io.max"), &dev);
        // The throttles, all four on the device's one io.max line.
        assert_eq!(
            max.as_deref(),
            Some(format!("{dev} rbps=1048576 wbps=2097152 riops=100 wiops=50").as_str()),
            "{}",
            rt.name
        );
        if file == "io.bfq.weight" {
            // BFQ takes the weight as is, and (Linux 5.4+, with BFQ on the device) per device.
            assert_eq!(weights.lines().next(), Some("default 500"), "{}", rt.name);
            if disk.bfq {
                assert_eq!(
                    device_line(&weights, &dev),
                    Some(format!("{dev} 200")),
                    "{}: {weights}",
                    rt.name
                );
            }
        } else {
            // runc's conversion to io.weight: 1 + (500 - 10) * 9999 / 990 = 4950; no per-device
            // weight without BFQ (runc writes them only to io.bfq.weight).
            assert_eq!(weights.lines().next(), Some("default 4950"), "{}", rt.name);
            assert_eq!(device_line(&weights, &dev), None, "{}: {weights}", rt.name);
            eprintln!(
                "{}: no BFQ here: the io.weight fallback was checked",
                rt.name
            );
        }
        seen.push((rt.name.to_string(), (file, weights, max)));
        delete_no_leaks(&rt, &id, &b);
    }
    // runr and runc wrote the same.
    if let [(_, runr), (_, runc)] = seen.as_slice() {
        assert_eq!(runr, runc, "runr and runc differ");
    }
}

#[test]
fn update_r_per_device_on_v2_as_runc_1_4() {
    let test = "update_r_per_device_on_v2_as_runc_1_4";
    if !pure_v2(test) {
        return;
    }
    let Some(disk) = loop_disk(test) else {
        return;
    };
    let (maj, min) = disk.major_minor;
    let dev = disk.numbers();
    for rt in runtimes() {
        let mut b = Bundle::shell("sleep 600");
        b.config["linux"]["resources"]["blockIO"] = json!({
            "weight": 500,
            "weightDevice": [{"major": maj, "minor": min, "weight": 200}],
            "throttleReadBpsDevice": [{"major": maj, "minor": min, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": maj, "minor": min, "rate": 50}]
        });
        let id = unique("io-update");
        rt.create_ok(&b, &id, &[]);
        let res = b.dir.join("res.json");
        let update = json!({"blockIO": {
            "weight": 300,
            "weightDevice": [{"major": maj, "minor": min, "weight": 400}],
            "throttleReadBpsDevice": [{"major": maj, "minor": min, "rate": 4194304}]
        }});
        std::fs::write(&res, update.to_string()).unwrap();
        rt.ok(&["update", "-r", res.to_str().unwrap(), &id]);
        let file = weight_file(&b);
        let weights = cg_file(&b, file);
        let max = device_line(&cg_file(&b, "io.max"), &dev).unwrap_or_default();
        // The weight is updated by both (runc 1.1.5's update takes blockIO.weight).
        let default = if file == "io.bfq.weight" {
            "default 300"
        } else {
            // 1 + (300 - 10) * 9999 / 990 = 2930
            "default 2930"
        };
        assert_eq!(
            weights.lines().next(),
            Some(default),
            "{}: {weights}",
            rt.name
        );
        if old_runc(&rt) {
            // runc 1.1.5 ignores the per-device entries of update: create's values stay.
            eprintln!(
                "{}: ignores per-device blockIO in update (runc < 1.4)",
                rt.name
            );
            assert_eq!(
                max,
                format!("{dev} rbps=1048576 wbps=max riops=max wiops=50")
            );
            if file == "io.bfq.weight" && disk.bfq {
                assert_eq!(device_line(&weights, &dev), Some(format!("{dev} 200")));
            }
        } else {
            // runc 1.4: each named device is changed, the others kept (wiops stays 50).
            assert_eq!(
                max,
                format!("{dev} rbps=4194304 wbps=max riops=max wiops=50"),
                "{}",
                rt.name
            );
            if file == "io.bfq.weight" && disk.bfq {
                assert_eq!(
                    device_line(&weights, &dev),
                    Some(format!("{dev} 400")),
                    "{}: {weights}",
                    rt.name
                );
            }
        }
        delete_no_leaks(&rt, &id, &b);
    }
}
