//! cgroup v1 (and hybrid) writes against a fake tree: exact file contents and write order.

mod common;

use cgroups::{Error, Layout, Manager};
use common::{res, FakeTree};

const ALL_V1: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "hugetlb",
    "net_cls,net_prio",
    "rdma",
    "systemd",
];

fn tree() -> (FakeTree, Manager) {
    let t = FakeTree::v1(ALL_V1);
    t.set("cpuset/cpuset.cpus", "0-3\n");
    t.set("cpuset/cpuset.mems", "0\n");
    let m = t.manager(Some("/runr/ctr"));
    m.create().unwrap();
    t.take_writes();
    (t, m)
}

#[test]
fn paths_default_and_absolute() {
    let t = FakeTree::v1(ALL_V1);
    let m = Manager::with_root(&t.root, Layout::Legacy, None, "abc").unwrap();
    assert_eq!(m.v1_path("memory").unwrap(), t.path("memory/abc"));
    assert_eq!(m.v1_path("cpuacct").unwrap(), t.path("cpuacct/abc"));
    assert_eq!(
        m.v1_path("net_prio").unwrap(),
        t.path("net_cls,net_prio/abc")
    );
    assert_eq!(m.v1_path("name=systemd").unwrap(), t.path("systemd/abc"));
    assert!(m.v2_path().is_none());
    let m = t.manager(Some("/a/../b/c"));
    assert_eq!(m.v1_path("pids").unwrap(), t.path("pids/b/c"));
    assert!(matches!(
        Manager::with_root(&t.root, Layout::Legacy, Some("/"), "x"),
        Err(Error::InvalidPath { .. })
    ));
    // One path per controller of every hierarchy (co-mounted ones count each).
    let controllers: usize = ALL_V1.iter().map(|h| h.split(',').count()).sum();
    assert_eq!(m.paths().len(), controllers);
}

#[test]
fn systemd_cgroups_path_names_the_unit_and_its_cgroup() {
    let m = Manager::new(Some("system.slice:docker:abc"), "abc", true).unwrap();
    assert_eq!(m.systemd_unit(), Some("docker-abc.scope"));
    for dir in m.paths().values() {
        assert!(dir.ends_with("system.slice/docker-abc.scope"), "{dir:?}");
    }
    assert!(matches!(
        Manager::new(Some("/not/systemd"), "abc", true),
        Err(Error::InvalidPath { .. })
    ));
    // Without systemd as PID 1 the driver says so before anything is created.
    if !std::path::Path::new("/run/systemd/system").exists() {
        let e = m
            .prepare(&Default::default(), &Default::default())
            .err()
            .expect("no systemd here");
        assert!(matches!(e, Error::SystemdNotRunning { .. }), "{e}");
        assert!(e.to_string().contains("docker-abc.scope"), "{e}");
    }
}

#[test]
fn create_copies_cpuset_and_destroy_removes_only_what_it_created() {
    let t = FakeTree::v1(ALL_V1);
    t.set("cpuset/cpuset.cpus", "0-3\n");
    t.set("cpuset/cpuset.mems", "0\n");
    std::fs::create_dir_all(t.path("memory/pre")).unwrap();
    let m = t.manager(Some("/pre/mid/ctr"));
    m.create().unwrap();
    m.create().unwrap(); // idempotent
    assert_eq!(t.get("cpuset/pre/cpuset.cpus"), "0-3");
    assert_eq!(t.get("cpuset/pre/mid/ctr/cpuset.cpus"), "0-3");
    assert_eq!(t.get("cpuset/pre/mid/ctr/cpuset.mems"), "0");
    for h in ALL_V1 {
        assert!(t.exists(&format!("{h}/pre/mid/ctr")), "{h}");
    }
    m.destroy().unwrap();
    for h in ALL_V1 {
        assert!(!t.exists(&format!("{h}/pre/mid")), "{h} left behind");
    }
    // A parent that existed before is kept.
    assert!(t.exists("memory/pre"));
    assert!(!t.exists("pids/pre"));
    m.destroy().unwrap(); // idempotent
}

#[test]
fn create_shares_a_populated_cgroup_and_refuses_a_frozen_one() {
    // runc 1.1.5 warns and shares a cgroup that already has processes; create reports how
    // many it found, and release leaves the cgroup to them.
    let t = FakeTree::v1(ALL_V1);
    t.set("pids/ctr/cgroup.procs", "123\n456\n");
    let m = t.manager(Some("/ctr"));
    assert_eq!(m.create().unwrap(), 2);
    match m.release() {
        Err(Error::InUse { count: 2, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(t.exists("pids/ctr") && t.exists("memory/ctr"));
    let t = FakeTree::v1(ALL_V1);
    t.set("freezer/ctr/freezer.state", "FROZEN\n");
    let m = t.manager(Some("/ctr"));
    let e = m.create().unwrap_err();
    assert!(matches!(e, Error::Frozen { .. }));
    // runc's wording, which tools match on.
    assert!(
        e.to_string()
            .contains("container's cgroup unexpectedly frozen"),
        "{e}"
    );
}

#[test]
fn memory_limit_swap_order_and_update() {
    let (t, m) = tree();
    t.set(
        "memory/runr/ctr/memory.limit_in_bytes",
        "9223372036854771712\n",
    );
    t.set(
        "memory/runr/ctr/memory.memsw.limit_in_bytes",
        "9223372036854771712\n",
    );
    m.apply(&res(
        r#"{"memory":{"limit":1073741824,"swap":2147483648,"reservation":536870912,
        "swappiness":10,"disableOOMKiller":true,"kernel":1000}}"#,
    ))
    .unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "memory/runr/ctr/memory.limit_in_bytes 1073741824",
            "memory/runr/ctr/memory.memsw.limit_in_bytes 2147483648",
            "memory/runr/ctr/memory.soft_limit_in_bytes 536870912",
            "memory/runr/ctr/memory.oom_control 1",
            "memory/runr/ctr/memory.swappiness 10",
        ]
    );
    // Raising: memsw first (the new memsw is above the current limit).
    m.update(&res(r#"{"memory":{"limit":4294967296,"swap":8589934592}}"#))
        .unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "memory/runr/ctr/memory.memsw.limit_in_bytes 8589934592",
            "memory/runr/ctr/memory.limit_in_bytes 4294967296",
        ]
    );
    // Lowering below the current limit: limit first.
    m.update(&res(r#"{"memory":{"limit":1000000,"swap":2000000}}"#))
        .unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "memory/runr/ctr/memory.limit_in_bytes 1000000",
            "memory/runr/ctr/memory.memsw.limit_in_bytes 2000000",
        ]
    );
    // -1 without swap: both unlimited, swap first.
    m.update(&res(r#"{"memory":{"limit":-1}}"#)).unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "memory/runr/ctr/memory.memsw.limit_in_bytes -1",
            "memory/runr/ctr/memory.limit_in_bytes -1",
        ]
    );
    // Docker's update: zeros mean unset (but for pids.limit, a real limit since runc 1.4).
    m.update(&res(
        r#"{"memory":{"limit":0,"reservation":0,"swap":0},"cpu":{"shares":0,"quota":0,"period":0},
        "blockIO":{"weight":0}}"#,
    ))
    .unwrap();
    assert!(t.take_writes().is_empty());
    assert_eq!(t.get("memory/runr/ctr/memory.limit_in_bytes"), "-1");
    // Swappiness range.
    match m.apply(&res(r#"{"memory":{"swappiness":101}}"#)) {
        Err(Error::InvalidResource { field, .. }) => assert_eq!(field, "memory.swappiness"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn memory_limit_without_memsw_file() {
    let (t, m) = tree();
    m.apply(&res(r#"{"memory":{"limit":-1}}"#)).unwrap();
    // No memsw file (no swap accounting): only the limit.
    assert_eq!(
        t.take_writes(),
        ["memory/runr/ctr/memory.limit_in_bytes -1"]
    );
}

#[test]
fn cpu_and_cpuset() {
    let (t, m) = tree();
    m.apply(&res(
        r#"{"cpu":{"shares":512,"quota":50000,"period":100000,"burst":1000,
        "realtimeRuntime":950000,"realtimePeriod":1000000,"cpus":"0-1","mems":"0","idle":0}}"#,
    ))
    .unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "cpuset/runr/ctr/cpuset.cpus 0-1",
            "cpuset/runr/ctr/cpuset.mems 0",
            "cpu/runr/ctr/cpu.shares 512",
            "cpu/runr/ctr/cpu.cfs_period_us 100000",
            "cpu/runr/ctr/cpu.cfs_burst_us 1000",
            "cpu/runr/ctr/cpu.cfs_quota_us 50000",
            "cpu/runr/ctr/cpu.rt_period_us 1000000",
            "cpu/runr/ctr/cpu.rt_runtime_us 950000",
            "cpu/runr/ctr/cpu.idle 0",
        ]
    );
    m.update(&res(r#"{"cpu":{"quota":-1}}"#)).unwrap();
    assert_eq!(t.take_writes(), ["cpu/runr/ctr/cpu.cfs_quota_us -1"]);
}

#[test]
fn pids_limit() {
    let (t, m) = tree();
    m.apply(&res(r#"{"pids":{"limit":100}}"#)).unwrap();
    assert_eq!(t.get("pids/runr/ctr/pids.max"), "100");
    m.update(&res(r#"{"pids":{"limit":-1}}"#)).unwrap();
    assert_eq!(t.get("pids/runr/ctr/pids.max"), "max");
    t.take_writes();
    // runc 1.4: 0 is a limit, written as 1 (as systemd's TasksMax, which cannot be 0).
    m.update(&res(r#"{"pids":{"limit":0}}"#)).unwrap();
    assert_eq!(t.take_writes(), ["pids/runr/ctr/pids.max 1"]);
}

#[test]
fn blkio_cfq_and_bfq() {
    let (t, m) = tree();
    let spec = r#"{"blockIO":{"weight":500,"leafWeight":300,
        "weightDevice":[{"major":8,"minor":0,"weight":600,"leafWeight":200},{"major":8,"minor":16,"weight":0}],
        "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],
        "throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":2097152}],
        "throttleReadIOPSDevice":[{"major":8,"minor":0,"rate":100}],
        "throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":200}]}}"#;
    // No blkio.weight file: BFQ names.
    m.apply(&res(spec)).unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "blkio/runr/ctr/blkio.bfq.weight 500",
            "blkio/runr/ctr/blkio.leaf_weight 300",
            "blkio/runr/ctr/blkio.bfq.weight_device 8:0 600",
            "blkio/runr/ctr/blkio.leaf_weight_device 8:0 200",
            "blkio/runr/ctr/blkio.throttle.read_bps_device 8:0 1048576",
            "blkio/runr/ctr/blkio.throttle.write_bps_device 8:0 2097152",
            "blkio/runr/ctr/blkio.throttle.read_iops_device 8:0 100",
            "blkio/runr/ctr/blkio.throttle.write_iops_device 8:0 200",
        ]
    );
    // CFQ present: CFQ names.
    t.set("blkio/runr/ctr/blkio.weight", "500\n");
    m.update(&res(
        r#"{"blockIO":{"weight":700,"weightDevice":[{"major":8,"minor":0,"weight":10}]}}"#,
    ))
    .unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "blkio/runr/ctr/blkio.weight 700",
            "blkio/runr/ctr/blkio.weight_device 8:0 10",
        ]
    );
}

#[test]
fn hugetlb_network_rdma() {
    let (t, m) = tree();
    m.apply(&res(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":209715200},{"pageSize":"1GB","limit":0}],
        "network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5},{"name":"lo","priority":1}]},
        "rdma":{"mlx5_1":{"hcaHandles":3},"mlx4_0":{"hcaHandles":2,"hcaObjects":4}}}"#))
        .unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "hugetlb/runr/ctr/hugetlb.2MB.limit_in_bytes 209715200",
            "hugetlb/runr/ctr/hugetlb.1GB.limit_in_bytes 0",
            "net_cls,net_prio/runr/ctr/net_cls.classid 1048577",
            "net_cls,net_prio/runr/ctr/net_prio.ifpriomap eth0 5",
            "net_cls,net_prio/runr/ctr/net_prio.ifpriomap lo 1",
            "rdma/runr/ctr/rdma.max mlx4_0 hca_handle=2 hca_object=4",
            "rdma/runr/ctr/rdma.max mlx5_1 hca_handle=3",
        ]
    );
    assert!(matches!(
        m.apply(&res(
            r#"{"hugepageLimits":[{"pageSize":"../../x","limit":1}]}"#
        )),
        Err(Error::InvalidResource { .. })
    ));
}

#[test]
fn devices_new_cgroup_gets_deny_all_then_each_exception_once() {
    let (t, m) = tree();
    // What the kernel shows for a new cgroup.
    t.set("devices/runr/ctr/devices.list", "a *:* rwm\n");
    m.apply(&res(r#"{"devices":[{"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
        {"allow":true,"type":"c","major":136,"access":"rwm"},
        {"allow":false,"type":"b","major":8,"minor":0,"access":"m"},
        {"allow":true,"type":"u","major":5,"minor":-1}]}"#))
        .unwrap();
    // The state the rules leave, written as runc's minimal transition writes it (sorted).
    assert_eq!(
        t.take_writes(),
        [
            "devices/runr/ctr/devices.deny a *:* rwm",
            "devices/runr/ctr/devices.allow c 1:3 rw",
            "devices/runr/ctr/devices.allow c 5:* rwm",
            "devices/runr/ctr/devices.allow c 136:* rwm",
        ]
    );
    // update re-applies the rules: against a cgroup already in that state nothing is written.
    t.set(
        "devices/runr/ctr/devices.list",
        "c 1:3 rw\nc 136:* rwm\nc 5:* rwm\n",
    );
    m.update(&res(r#"{"devices":[{"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
        {"allow":true,"type":"c","major":136,"access":"rwm"},
        {"allow":true,"type":"c","major":5,"access":"rwm"}]}"#))
        .unwrap();
    assert!(t.take_writes().is_empty());
    assert!(matches!(
        m.apply(&res(r#"{"devices":[{"allow":true,"type":"p"}]}"#)),
        Err(Error::InvalidResource { .. })
    ));
    // Allow rules without a deny-all first leave the new cgroup's allow-all as it is.
    t.set("devices/runr/ctr/devices.list", "a *:* rwm\n");
    let mut r = res("{}");
    r.set_devices(Some(cgroups::default_device_rules()));
    m.apply(&r).unwrap();
    assert_eq!(
        t.take_writes(),
        ["devices/runr/ctr/devices.allow a *:* rwm"]
    );
    // After runc's spec default (deny all), runc's defaults come out as runc writes them.
    let mut rules = res(r#"{"devices":[{"allow":false,"access":"rwm"}]}"#)
        .devices()
        .clone()
        .unwrap();
    rules.extend(cgroups::default_device_rules());
    r.set_devices(Some(rules));
    m.apply(&r).unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "devices/runr/ctr/devices.deny a *:* rwm",
            "devices/runr/ctr/devices.allow b *:* m",
            "devices/runr/ctr/devices.allow c *:* m",
            "devices/runr/ctr/devices.allow c 1:3 rwm",
            "devices/runr/ctr/devices.allow c 1:5 rwm",
            "devices/runr/ctr/devices.allow c 1:7 rwm",
            "devices/runr/ctr/devices.allow c 1:8 rwm",
            "devices/runr/ctr/devices.allow c 1:9 rwm",
            "devices/runr/ctr/devices.allow c 5:0 rwm",
            "devices/runr/ctr/devices.allow c 5:2 rwm",
            "devices/runr/ctr/devices.allow c 10:200 rwm",
            "devices/runr/ctr/devices.allow c 136:* rwm",
        ]
    );
}

#[test]
fn missing_controllers_are_errors_not_skips() {
    let t = FakeTree::v1(&["cpu", "memory", "devices"]);
    let m = t.manager(Some("/c"));
    m.create().unwrap();
    let e = m.apply(&res(r#"{"pids":{"limit":10}}"#)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "controller pids required by linux.resources.pids.limit is not available on this host (Legacy cgroup layout)"
    );
    let e = m
        .apply(&res(r#"{"memory":{"limit":1000000},"cpu":{"cpus":"0"}}"#))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("controller cpuset required by linux.resources.cpu.cpus"),
        "{e}"
    );
    // Nothing was written before the check failed.
    assert!(t.take_writes().is_empty());
    // Unset (zero) fields do not need their controller (an unset pids limit is no `pids`).
    m.apply(&res(r#"{"blockIO":{"weight":0},"network":{"classID":0}}"#))
        .unwrap();
    let e = m.apply(&res(r#"{"network":{"classID":7}}"#)).unwrap_err();
    assert!(
        e.to_string()
            .contains("controller net_cls required by linux.resources.network.classID"),
        "{e}"
    );
    let e = m
        .apply(&res(r#"{"unified":{"memory.high":"1"}}"#))
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
}

#[test]
fn hybrid_uses_unified_twin_and_v2_for_missing_v1_controllers() {
    let t = FakeTree::hybrid(
        &["cpu", "memory", "devices", "freezer", "pids"],
        "hugetlb\n",
    );
    let m = t.manager(Some("/runr/ctr"));
    assert_eq!(m.layout(), Layout::Hybrid);
    assert_eq!(m.v2_path().unwrap(), t.path("unified/runr/ctr"));
    assert!(m.v2_dir_fd().unwrap().is_none());
    m.create().unwrap();
    assert!(t.exists("unified/runr/ctr"));
    m.add_task(4242).unwrap();
    let w = t.take_writes();
    assert!(
        w.contains(&"unified/runr/ctr/cgroup.procs 4242".to_string()),
        "{w:?}"
    );
    assert!(
        w.contains(&"memory/runr/ctr/cgroup.procs 4242".to_string()),
        "{w:?}"
    );
    // The root of a hybrid host's cgroup2 mount is never written: a controller not enabled
    // there is refused, naming the field (issue #12 item 22).
    let hugetlb = res(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}"#);
    let e = m.apply(&hugetlb).unwrap_err();
    assert!(
        e.to_string().contains("linux.resources.hugepageLimits"),
        "{e}"
    );
    assert!(t.take_writes().is_empty());
    // Enabled there already (by whoever owns the host): used, the root left as it is.
    t.set("unified/cgroup.subtree_control", "hugetlb\n");
    m.apply(&hugetlb).unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "unified/runr/cgroup.subtree_control +hugetlb",
            "unified/runr/ctr/hugetlb.2MB.max 4194304",
        ]
    );
    let e = m
        .apply(&res(r#"{"rdma":{"mlx":{"hcaHandles":1}}}"#))
        .unwrap_err();
    assert!(e.to_string().contains("controller rdma required by linux.resources.rdma is not available on this host (Hybrid"), "{e}");
    std::fs::remove_file(t.path("memory/runr/ctr/cgroup.procs")).unwrap();
    std::fs::remove_file(t.path("pids/runr/ctr/cgroup.procs")).unwrap();
    m.destroy().unwrap();
    assert!(!t.exists("unified/runr"));
    assert!(!t.exists("memory/runr"));
}

#[test]
fn freezer_v1_fake() {
    let (t, m) = tree();
    assert!(!m.is_frozen().unwrap());
    m.freeze().unwrap();
    assert_eq!(t.get("freezer/runr/ctr/freezer.state"), "FROZEN");
    assert!(m.is_frozen().unwrap());
    t.set("freezer/runr/ctr/freezer.self_freezing", "0\n");
    assert!(!m.is_frozen().unwrap(), "frozen only through an ancestor");
    m.thaw().unwrap();
    assert_eq!(t.get("freezer/runr/ctr/freezer.state"), "THAWED");
}

#[test]
fn manager_round_trips_through_json() {
    let (_t, m) = tree();
    let json = serde_json::to_string(&m).unwrap();
    let back: Manager = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
}

#[test]
fn stats_v1_fake() {
    let (t, m) = tree();
    let d = "runr/ctr";
    t.set(&format!("cpuacct/{d}/cpuacct.usage"), "123456789\n");
    t.set(&format!("cpuacct/{d}/cpuacct.usage_percpu"), "100 200 \n");
    t.set(&format!("cpuacct/{d}/cpuacct.stat"), "user 5\nsystem 7\n");
    t.set(
        &format!("cpu/{d}/cpu.stat"),
        "nr_periods 10\nnr_throttled 2\nthrottled_time 3000\n",
    );
    t.set(&format!("memory/{d}/memory.stat"), "cache 4096\nrss 8192\n");
    t.set(&format!("memory/{d}/memory.usage_in_bytes"), "12288\n");
    t.set(&format!("memory/{d}/memory.max_usage_in_bytes"), "20000\n");
    t.set(&format!("memory/{d}/memory.limit_in_bytes"), "1073741824\n");
    t.set(&format!("memory/{d}/memory.failcnt"), "0\n");
    t.set(&format!("pids/{d}/pids.current"), "3\n");
    t.set(&format!("pids/{d}/pids.max"), "max\n");
    t.set(
        &format!("blkio/{d}/blkio.throttle.io_service_bytes_recursive"),
        "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n",
    );
    t.set(&format!("hugetlb/{d}/hugetlb.2MB.limit_in_bytes"), "0\n");
    t.set(
        &format!("hugetlb/{d}/hugetlb.2MB.usage_in_bytes"),
        "2097152\n",
    );
    t.set(&format!("hugetlb/{d}/hugetlb.2MB.failcnt"), "1\n");
    // A host with 2MB pages only.
    t.remove(&format!("hugetlb/{d}/hugetlb.1GB.limit_in_bytes"));
    let s = serde_json::to_value(m.stats().unwrap()).unwrap();
    let want = serde_json::json!({
        "cpuset": {"cpu_exclusive": 0, "mem_hardwall": 0, "mem_exclusive": 0, "memory_migrate": 0, "memory_spread_page": 0, "memory_spread_slab": 0, "memory_pressure": 0, "sched_load_balance": 0, "sched_relax_domain_level": 0, "cpus": [0, 1, 2, 3], "mems": [0]},
        "intel_rdt": {}, "network_interfaces": null,
        "cpu": {"usage": {"total": 123456789, "percpu": [100, 200], "kernel": 70000000, "user": 50000000},
                "throttling": {"periods": 10, "throttledPeriods": 2, "throttledTime": 3000}},
        "memory": {"cache": 4096,
                   "usage": {"limit": 1073741824, "usage": 12288, "max": 20000, "failcnt": 0},
                   "swap": {"limit": 0, "failcnt": 0},
                   "kernel": {"limit": 0, "failcnt": 0},
                   "kernelTCP": {"limit": 0, "failcnt": 0},
                   "raw": {"cache": 4096, "rss": 8192}},
        "pids": {"current": 3},
        "blkio": {"ioServiceBytesRecursive": [
            {"major": 8, "op": "Read", "value": 4096},
            {"major": 8, "op": "Write"}]},
        "hugetlb": {"2MB": {"usage": 2097152, "failcnt": 1}}
    });
    assert_eq!(s, want);
}
