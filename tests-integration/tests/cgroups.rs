//! Resources through `runr`, read back from the cgroup files and enforced where it can be shown.
//! Runs on whatever layout the host has (this machine: v1 hybrid; `scripts/test-v2.sh` runs the
//! same binary in a pure cgroup2 VM). Where runc is installed the same bundle runs under runc and
//! the files must hold the same values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cgroups::Layout;
use serde_json::json;
use tests_integration::{assert_no_leaks, delete_no_leaks, unique, wait_for, Bundle, Runtime};

fn layout() -> Layout {
    cgroups::detect_layout().expect("cgroup layout")
}

/// The directory of `controller` for a container whose cgroupsPath is `path` (absolute).
fn cgroup_dir(controller: &str, path: &str) -> PathBuf {
    let rel = path.trim_start_matches('/');
    if layout() == Layout::Unified {
        return Path::new("/sys/fs/cgroup").join(rel);
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for l in mountinfo.lines() {
        let Some((pre, post)) = l.split_once(" - ") else {
            continue;
        };
        let post: Vec<&str> = post.split(' ').collect();
        if post[0] == "cgroup" && post[2].split(',').any(|o| o == controller) {
            return Path::new(pre.split(' ').nth(4).unwrap()).join(rel);
        }
    }
    panic!("controller {controller} is not mounted");
}

fn read(controller: &str, path: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(cgroup_dir(controller, path).join(file))
        .ok()
        .map(|s| s.trim().to_string())
}

/// A bundle that sleeps, with `resources` as linux.resources.
fn sleeper(resources: serde_json::Value) -> Bundle {
    let mut b = Bundle::new(&["sleep", "100"]);
    b.config["linux"]["resources"] = resources;
    b
}

/// Starts the bundle's container under `rt` and returns the files of interest, then deletes it.
fn files_written(
    rt: &Runtime,
    b: &Bundle,
    files: &[(&str, &str)],
) -> BTreeMap<String, Option<String>> {
    let id = unique("cgfiles");
    rt.create_ok(b, &id, &[]);
    rt.ok(&["start", &id]);
    let got = files
        .iter()
        .map(|(c, f)| (format!("{c}/{f}"), read(c, &b.cgroup_path(), f)))
        .collect();
    delete_no_leaks(rt, &id, b);
    got
}

#[test]
fn resources_are_written_as_runc_writes_them() {
    let resources = json!({
        "devices": [{"allow": false, "access": "rwm"}],
        "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 64}
    });
    let (files, expected): (Vec<(&str, &str)>, Vec<&str>) = if layout() == Layout::Unified {
        (
            vec![
                ("memory", "memory.max"),
                ("memory", "memory.low"),
                ("memory", "memory.swap.max"),
                ("cpu", "cpu.weight"),
                ("cpu", "cpu.max"),
                ("cpuset", "cpuset.cpus"),
                ("cpuset", "cpuset.mems"),
                ("pids", "pids.max"),
            ],
            vec![
                "67108864",
                "33554432",
                "67108864",
                "20",
                "50000 100000",
                "0",
                "0",
                "64",
            ],
        )
    } else {
        (
            vec![
                ("memory", "memory.limit_in_bytes"),
                ("memory", "memory.soft_limit_in_bytes"),
                ("cpu", "cpu.shares"),
                ("cpu", "cpu.cfs_quota_us"),
                ("cpu", "cpu.cfs_period_us"),
                ("cpuset", "cpuset.cpus"),
                ("cpuset", "cpuset.mems"),
                ("pids", "pids.max"),
            ],
            vec![
                "67108864", "33554432", "512", "50000", "100000", "0", "0", "64",
            ],
        )
    };
    let b = sleeper(resources);
    let runr = files_written(&Runtime::runr(), &b, &files);
    for ((c, f), want) in files.iter().zip(&expected) {
        assert_eq!(
            runr[&format!("{c}/{f}")].as_deref(),
            Some(*want),
            "runr: {c}/{f}"
        );
    }
    if let Some(runc) = Runtime::runc() {
        let theirs = files_written(&runc, &b, &files);
        assert_eq!(runr, theirs, "runr and runc write the same cgroup files");
    }
}

#[test]
fn memory_hog_is_oom_killed() {
    let rt = Runtime::runr();
    let id = unique("oom");
    // dd allocates (and touches) a 64 MiB buffer; the limit is 20 MiB with no swap on top.
    let mut b = Bundle::new(&["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    b.config["linux"]["resources"]["memory"] = json!({"limit": 20971520, "swap": 20971520});
    let (code, _, err) = rt.run(&b, &id);
    assert_eq!(code, 137, "OOM-killed: {err}");
    assert_no_leaks(&rt, &id, &b);
}

#[test]
fn fork_bomb_stops_at_pids_max() {
    let rt = Runtime::runr();
    let id = unique("pids");
    let forks: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    let script = format!(
        "(for i in {}; do sleep 30 & done) 2>/dev/null; exec sleep 30",
        forks.join(" ")
    );
    let mut b = Bundle::shell(&script);
    b.config["linux"]["resources"]["pids"] = json!({"limit": 10});
    rt.create_ok(&b, &id, &[]);
    rt.ok(&["start", &id]);
    let path = b.cgroup_path();
    // The kernel counts every refused fork in pids.events ("max N").
    let refused = || {
        read("pids", &path, "pids.events")
            .and_then(|e| e.trim_start_matches("max ").parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(
        wait_for(30, || refused() > 0),
        "forks past pids.max are refused"
    );
    let current: u64 = read("pids", &path, "pids.current")
        .unwrap()
        .parse()
        .unwrap();
    assert!(current <= 10, "pids.current {current} above pids.max 10");
    assert!(current >= 5, "the container did fork ({current} tasks)");
    delete_no_leaks(&rt, &id, &b);
}

#[test]
fn denied_device_cannot_be_opened() {
    let rt = Runtime::runr();
    let id = unique("dev");
    // /dev/kmsg (c 1:11) bind-mounted in but not in the allow list: the device cgroup refuses it,
    // while /dev/null (allowed by default) works.
    let mut b = Bundle::shell("head -c1 /dev/kmsg >/dev/null 2>&1 && echo kmsg-open || echo kmsg-denied; echo x >/dev/null && echo null-ok");
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/dev/kmsg", "type": "bind", "source": "/dev/kmsg", "options": ["bind"]
    }));
    let (code, out, err) = rt.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "kmsg-denied\nnull-ok\n");
    assert_no_leaks(&rt, &id, &b);
}

#[test]
fn freezer_stops_a_busy_loop() {
    let rt = Runtime::runr();
    let id = unique("freeze");
    let mut b = Bundle::shell("i=0; while :; do i=$((i+1)); echo $i > /tmp/count; done");
    b.config["root"]["readonly"] = false.into();
    rt.create_ok(&b, &id, &[]);
    rt.ok(&["start", &id]);
    let count = b.rootfs().join("tmp/count");
    let value = || {
        std::fs::read_to_string(&count)
            .unwrap_or_default()
            .trim()
            .parse::<u64>()
            .unwrap_or(0)
    };
    assert!(wait_for(30, || value() > 0), "loop is running");

    let c = runtime_core::Container::load(&rt.root, &id).unwrap();
    c.cgroup().freeze().unwrap();
    assert!(c.cgroup().is_frozen().unwrap());
    assert_eq!(c.status().unwrap(), runtime_core::Status::Paused);
    let frozen_at = value();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(value(), frozen_at, "no progress while frozen");

    c.cgroup().thaw().unwrap();
    assert!(wait_for(30, || value() > frozen_at), "progress after thaw");
    assert_eq!(c.status().unwrap(), runtime_core::Status::Running);
    delete_no_leaks(&rt, &id, &b);
}

#[test]
fn delete_force_removes_a_frozen_container() {
    let rt = Runtime::runr();
    let id = unique("frozendel");
    let b = Bundle::new(&["sleep", "100"]);
    rt.create_ok(&b, &id, &[]);
    rt.ok(&["start", &id]);
    runtime_core::Container::load(&rt.root, &id)
        .unwrap()
        .cgroup()
        .freeze()
        .unwrap();
    assert_eq!(rt.state(&id)["status"], "paused");
    delete_no_leaks(&rt, &id, &b);
}

#[test]
fn tiny_memory_limit_fails_clearly_or_works_never_hangs() {
    let rt = Runtime::runr();
    let id = unique("tiny");
    let mut b = Bundle::new(&["true"]);
    b.config["linux"]["resources"]["memory"] = json!({"limit": 4194304});
    b.write();
    let mut child = rt
        .command(&["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "run with a 4 MiB limit hung");
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    if !status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.trim().is_empty(), "a failure says why");
    }
    let _ = rt.exec(&["delete", "--force", &id]);
    assert_no_leaks(&rt, &id, &b);
}

#[test]
fn oom_event_fd_fires_on_oom() {
    let rt = Runtime::runr();
    let id = unique("oomfd");
    let mut b = Bundle::new(&["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    b.config["linux"]["resources"]["memory"] = json!({"limit": 20971520, "swap": 20971520});
    rt.create_ok(&b, &id, &[]);
    let c = runtime_core::Container::load(&rt.root, &id).unwrap();
    let fd = c.cgroup().oom_event_fd().unwrap();
    rt.ok(&["start", &id]);
    let mut pfd = libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&fd),
        events: libc::POLLIN | libc::POLLPRI,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, 60_000) };
    assert!(n > 0, "OOM event within 60s");
    assert!(wait_for(30, || c.cgroup().oom_kill_count().unwrap_or(0) >= 1));
    delete_no_leaks(&rt, &id, &b);
}

/// Loads a fixture Docker sent to `runc update` (zero fields mean "unchanged").
fn fixture(name: &str) -> cgroups::LinuxResources {
    // $RUNR_FIXTURES when the shared tree is out of reach (the cgroup v2 VM sees only the repo).
    let dir = std::env::var_os("RUNR_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/engine-configs")
        });
    let path = dir.join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

#[test]
fn docker_updates_apply_and_zero_means_unchanged() {
    let rt = Runtime::runr();
    let id = unique("update");
    let b = sleeper(
        json!({"memory": {"limit": 134217728}, "cpu": {"shares": 512}, "pids": {"limit": 100}}),
    );
    rt.create_ok(&b, &id, &[]);
    rt.ok(&["start", &id]);
    let c = runtime_core::Container::load(&rt.root, &id).unwrap();
    let path = b.cgroup_path();
    let unified = layout() == Layout::Unified;
    let (mem_file, shares_file) = if unified {
        ("memory.max", "cpu.weight")
    } else {
        ("memory.limit_in_bytes", "cpu.shares")
    };
    let shares_before = read("cpu", &path, shares_file);

    // `docker update --cpus 0.5 --pids-limit 50`: memory.limit 0 must leave the limit alone.
    c.cgroup()
        .update(&fixture("docker-update-cpus-pids.json"))
        .unwrap();
    assert_eq!(
        read("memory", &path, mem_file).as_deref(),
        Some("134217728"),
        "memory unchanged"
    );
    assert_eq!(read("pids", &path, "pids.max").as_deref(), Some("50"));
    assert_eq!(
        read("cpu", &path, shares_file),
        shares_before,
        "shares 0 = unchanged"
    );
    if unified {
        assert_eq!(
            read("cpu", &path, "cpu.max").as_deref(),
            Some("50000 100000")
        );
    } else {
        assert_eq!(
            read("cpu", &path, "cpu.cfs_quota_us").as_deref(),
            Some("50000")
        );
    }

    // `docker update --memory 64m --memory-swap 64m`.
    c.cgroup()
        .update(&fixture("docker-update-memory.json"))
        .unwrap();
    assert_eq!(read("memory", &path, mem_file).as_deref(), Some("67108864"));
    assert_eq!(
        read("pids", &path, "pids.max").as_deref(),
        Some("50"),
        "pids unchanged"
    );
    delete_no_leaks(&rt, &id, &b);
}

#[test]
fn stats_report_a_running_container() {
    let rt = Runtime::runr();
    let id = unique("stats");
    let b = Bundle::shell("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 100");
    rt.create_ok(&b, &id, &[]);
    rt.ok(&["start", &id]);
    let c = runtime_core::Container::load(&rt.root, &id).unwrap();
    assert!(
        wait_for(30, || c
            .cgroup()
            .stats()
            .is_ok_and(|s| s.cpu.usage.total > 0)),
        "cpu time is counted"
    );
    let s = c.cgroup().stats().unwrap();
    assert!(s.memory.usage.usage > 0, "memory usage is counted");
    assert!(s.pids.current >= 1, "pids are counted");
    let data = serde_json::to_value(&s).unwrap();
    for key in ["cpu", "memory", "pids", "blkio", "hugetlb"] {
        assert!(data.get(key).is_some(), "stats have {key}: {data}");
    }
    delete_no_leaks(&rt, &id, &b);
}

#[test]
fn a_controller_the_host_lacks_is_a_clear_error() {
    // rdma is not available on these hosts (neither as v1 nor in cgroup2's controllers).
    let available = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
        .or_else(|_| std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers"))
        .unwrap_or_default();
    let v1_rdma = Path::new("/sys/fs/cgroup/rdma").exists();
    if available.split_whitespace().any(|c| c == "rdma") || v1_rdma {
        return tests_integration::skip(
            "this host has the rdma controller, so the error case cannot be shown",
        );
    }
    let rt = Runtime::runr();
    let id = unique("nordma");
    let b = sleeper(json!({"rdma": {"mlx5_0": {"hcaHandles": 3}}}));
    let out = rt.create(&b, &id, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rdma") && err.contains("linux.resources.rdma"),
        "names the controller and field: {err}"
    );
    assert_no_leaks(&rt, &id, &b);
}
