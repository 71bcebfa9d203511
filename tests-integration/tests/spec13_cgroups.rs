//! Issue #17, the cgroup parts of runc 1.2–1.4 (runtime-spec 1.3): `pids.limit: 0` as a real
//! limit. Side by side with the installed runc (1.1.5, which reads 0 as "unset"): its half
//! asserts what its version does and says so; runc 1.4+ behaves as runr.

use std::path::PathBuf;

use serde_json::json;
use tests_integration::loop_disk::LoopDisk;
use tests_integration::{delete_no_leaks, runtimes, unique, Bundle};

#[test]
fn pids_limit_zero_is_a_limit_and_a_missing_limit_leaves_pids_max_alone() {
    for rt in runtimes() {
        let today = rt.version() >= (1, 4);
        // What 0 becomes: 1 (runc 1.4: systemd's TasksMax cannot be 0, both drivers agree);
        // runc 1.1.5 read 0 as "unset" and left the kernel's default, max.
        let zero = if today { "1" } else { "max" };
        let mut b = Bundle::shell("sleep 600");
        b.config["linux"]["resources"]["pids"] = json!({"limit": 0});
        let id = unique("pids0");
        rt.create_ok(&b, &id, &[]);
        assert_eq!(b.pids_max(), zero, "{}: pids.limit 0", rt.name);
        // update --pids-limit 5, then a resources document whose pids has no limit: left alone.
        rt.ok(&["update", "--pids-limit", "5", &id]);
        assert_eq!(b.pids_max(), "5", "{}", rt.name);
        let res = b.dir.join("res.json");
        std::fs::write(&res, r#"{"pids": {}}"#).unwrap();
        rt.ok(&["update", "-r", res.to_str().unwrap(), &id]);
        assert_eq!(b.pids_max(), "5", "{}: pids without a limit", rt.name);
        // Flags without --pids-limit leave it alone too.
        rt.ok(&["update", "--cpu-share", "512", &id]);
        assert_eq!(b.pids_max(), "5", "{}: no --pids-limit", rt.name);
        // update --pids-limit 0 (runc 1.1.5: 0 = leave it) and -1 (no limit).
        rt.ok(&["update", "--pids-limit", "0", &id]);
        let after_zero = if today { "1" } else { "5" };
        assert_eq!(b.pids_max(), after_zero, "{}: --pids-limit 0", rt.name);
        std::fs::write(&res, r#"{"pids": {"limit": -1}}"#).unwrap();
        rt.ok(&["update", "-r", res.to_str().unwrap(), &id]);
        assert_eq!(b.pids_max(), "max", "{}: -1", rt.name);
        if !today {
            eprintln!("{}: pids.limit 0 is 'unset' before runc 1.4", rt.name);
        }
        delete_no_leaks(&rt, &id, &b);

        // A pids object without a limit at create: pids.max stays the kernel's default.
        let mut b = Bundle::shell("sleep 600");
        b.config["linux"]["resources"]["pids"] = json!({});
        let id = unique("pids-unset");
        rt.create_ok(&b, &id, &[]);
        assert_eq!(b.pids_max(), "max", "{}: pids {{}}", rt.name);
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn a_container_limited_to_zero_pids_cannot_fork() {
    // pids.max 1 with the container's init in the cgroup: its shell cannot fork (busybox sh
    // says so and stops). runc 1.1.5 sets no limit for 0: the fork works there.
    for rt in runtimes() {
        let mut b = Bundle::shell("(true) && echo forked");
        b.config["linux"]["resources"]["pids"] = json!({"limit": 0});
        let id = unique("pids0-fork");
        let (code, out, err) = rt.run(&b, &id);
        if rt.version() >= (1, 4) {
            assert_ne!(code, 0, "{}: {out}", rt.name);
            assert!(err.contains("can't fork"), "{}: {out} {err}", rt.name);
            assert!(!out.contains("forked"), "{}: {out}", rt.name);
        } else {
            eprintln!("{}: pids.limit 0 sets no limit before runc 1.4", rt.name);
            assert_eq!((code, out.trim()), (0, "forked"), "{}: {err}", rt.name);
        }
        tests_integration::assert_no_leaks(&rt, &id, &b);
    }
}

// ---------------------------------------------------------------------------------------------
// update -r: per-device blockIO weights and throttles (runc 1.4, #4775)

/// The whole disk behind `/` as (major, minor) (throttles take whole disks, not partitions);
/// `None` when `/` is not on a block device.
fn root_disk() -> Option<(u32, u32)> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let dev = mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))?
        .split(' ')
        .nth(2)?
        .to_string();
    let sys = PathBuf::from("/sys/dev/block").join(&dev);
    let whole = if sys.join("partition").exists() {
        std::fs::read_to_string(sys.join("../dev")).ok()?
    } else {
        std::fs::read_to_string(sys.join("dev")).ok()?
    };
    let (maj, min) = whole.trim().split_once(':')?;
    Some((maj.parse().ok()?, min.parse().ok()?))
}

/// A loop device with the BFQ scheduler (per-device weights are BFQ's): both required here.
fn bfq_loop_disk() -> LoopDisk {
    let disk = LoopDisk::attach().unwrap_or_else(|e| panic!("losetup: {e}"));
    assert!(disk.bfq, "{}: the kernel offers no bfq scheduler", disk.dev);
    disk
}

/// Each file's content has its `"<device> <value>"` line.
fn assert_lines(rt: &str, files: [&String; 3], want: [(&str, u64); 3]) {
    for (content, (dev, value)) in files.into_iter().zip(want) {
        let line = format!("{dev} {value}");
        assert!(content.contains(&line), "{rt}: no {line:?} in {content:?}");
    }
}

/// A blkio (v1) file of the container's cgroup.
fn blkio_file(b: &Bundle, name: &str) -> String {
    let rel = b.cgroup_path();
    let p = PathBuf::from("/sys/fs/cgroup/blkio")
        .join(rel.trim_start_matches('/'))
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn update_r_sets_per_device_weights_and_throttles_on_v1() {
    if !std::path::Path::new("/sys/fs/cgroup/blkio").exists() {
        eprintln!("SKIP update_r_sets_per_device_weights_and_throttles_on_v1: no v1 blkio");
        return;
    }
    let bfq = bfq_loop_disk();
    // Throttles on the disk behind / (a loop device when / is not on one).
    let (dmaj, dmin) = root_disk().unwrap_or(bfq.major_minor);
    let (lmaj, lmin) = bfq.major_minor;
    let disk = format!("{dmaj}:{dmin}");
    let lo = format!("{lmaj}:{lmin}");
    for rt in runtimes() {
        let today = rt.version() >= (1, 4);
        let b = Bundle::shell("sleep 600");
        let id = unique("blkio-dev");
        rt.create_ok(&b, &id, &[]);
        let res = b.dir.join("res.json");
        let first = json!({"blockIO": {
            "weightDevice": [{"major": lmaj, "minor": lmin, "weight": 200}],
            "throttleReadBpsDevice": [{"major": dmaj, "minor": dmin, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": dmaj, "minor": dmin, "rate": 100}]
        }});
        std::fs::write(&res, first.to_string()).unwrap();
        rt.ok(&["update", "-r", res.to_str().unwrap(), &id]);
        let weights = blkio_file(&b, "blkio.bfq.weight_device");
        let read_bps = blkio_file(&b, "blkio.throttle.read_bps_device");
        let write_iops = blkio_file(&b, "blkio.throttle.write_iops_device");
        if !today {
            // runc 1.1.5's update takes blockIO.weight only: the device entries are ignored.
            eprintln!(
                "{}: ignores per-device blockIO in update (runc < 1.4)",
                rt.name
            );
            assert!(!weights.contains(&lo), "{}: {weights}", rt.name);
            assert!(!read_bps.contains(&disk), "{}: {read_bps}", rt.name);
            delete_no_leaks(&rt, &id, &b);
            continue;
        }
        let want = [
            (lo.as_str(), 200),
            (disk.as_str(), 1048576),
            (disk.as_str(), 100),
        ];
        assert_lines(rt.name, [&weights, &read_bps, &write_iops], want);
        // A second update changes the devices it names and keeps the others.
        let second = json!({"blockIO": {
            "weightDevice": [{"major": lmaj, "minor": lmin, "weight": 300}],
            "throttleReadBpsDevice": [{"major": dmaj, "minor": dmin, "rate": 2097152}]
        }});
        std::fs::write(&res, second.to_string()).unwrap();
        rt.ok(&["update", "-r", res.to_str().unwrap(), &id]);
        let weights = blkio_file(&b, "blkio.bfq.weight_device");
        let read_bps = blkio_file(&b, "blkio.throttle.read_bps_device");
        let write_iops = blkio_file(&b, "blkio.throttle.write_iops_device");
        let want = [
            (lo.as_str(), 300),
            (disk.as_str(), 2097152),
            (disk.as_str(), 100),
        ];
        assert_lines(rt.name, [&weights, &read_bps, &write_iops], want);
        delete_no_leaks(&rt, &id, &b);
    }
}
