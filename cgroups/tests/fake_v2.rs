//! cgroup v2 writes against a tree in a temp dir: exact file contents, conversions, update
//! semantics.

mod common;

use cgroups::{Error, Layout, Op};
use common::{res, FakeTree};

const CTRLS: &str = "cpuset cpu io memory hugetlb pids rdma misc\n";

fn tree() -> (FakeTree, cgroups::Manager) {
    let t = FakeTree::v2(CTRLS);
    let m = t.manager(Some("/runr/ctr"));
    m.create().unwrap();
    t.take_writes();
    (t, m)
}

#[test]
fn create_enables_controllers_in_ancestors_only() {
    let t = FakeTree::v2(CTRLS);
    let m = t.manager(Some("/runr/ctr"));
    assert_eq!(m.layout(), Layout::Unified);
    assert_eq!(m.v2_path().unwrap(), t.path("runr/ctr"));
    m.create().unwrap();
    let all = "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc";
    assert_eq!(
        t.take_writes(),
        [
            format!("cgroup.subtree_control {all}"),
            format!("runr/cgroup.subtree_control {all}"),
        ]
    );
    // The leaf's own subtree_control is left as the kernel made it: nothing enabled.
    assert_eq!(t.get("runr/ctr/cgroup.subtree_control"), "");
    assert!(m.v2_dir_fd().unwrap().is_some());
    m.destroy().unwrap();
    assert!(!t.exists("runr"));
}

#[test]
fn relative_path_is_under_parent_of_own_cgroup() {
    let t = FakeTree::v2(CTRLS);
    // The fake process sits in "/", whose parent is "/" too.
    let m = t.manager(None);
    assert_eq!(m.v2_path().unwrap(), t.path("ctr"));
}

#[test]
fn memory_conversions() {
    let (t, m) = tree();
    m.apply(&res(r#"{"memory":{"limit":1073741824,"swap":2147483648,"reservation":536870912,"swappiness":10}}"#))
        .unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "runr/ctr/memory.swap.max 1073741824",
            "runr/ctr/memory.max 1073741824",
            "runr/ctr/memory.low 536870912",
        ]
    );
    // swap == limit → no swap.
    m.update(&res(r#"{"memory":{"limit":1000000,"swap":1000000}}"#))
        .unwrap();
    assert_eq!(
        t.take_writes(),
        ["runr/ctr/memory.swap.max 0", "runr/ctr/memory.max 1000000"]
    );
    // -1 → max for both.
    m.update(&res(r#"{"memory":{"limit":-1}}"#)).unwrap();
    assert_eq!(
        t.take_writes(),
        ["runr/ctr/memory.swap.max max", "runr/ctr/memory.max max"]
    );
    // limit only: swap untouched.
    m.update(&res(r#"{"memory":{"limit":2000000}}"#)).unwrap();
    assert_eq!(t.take_writes(), ["runr/ctr/memory.max 2000000"]);
    // zeros: nothing.
    m.update(&res(r#"{"memory":{"limit":0,"swap":0,"reservation":0}}"#))
        .unwrap();
    assert!(t.take_writes().is_empty());
    for bad in [
        r#"{"memory":{"limit":2000000,"swap":1000000}}"#,
        r#"{"memory":{"swap":1000000}}"#,
    ] {
        match m.update(&res(bad)) {
            Err(Error::InvalidResource { field, .. }) => assert_eq!(field, "memory.swap"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(t.take_writes().is_empty());
    assert_eq!(
        cgroups::ignored_fields(
            Layout::Unified,
            &res(r#"{"memory":{"swappiness":1,"disableOOMKiller":true,"kernel":5}}"#)
        ),
        [
            "memory.kernel",
            "memory.swappiness",
            "memory.disableOOMKiller"
        ]
    );
}

#[test]
fn memory_check_before_update() {
    let (t, m) = tree();
    t.set("runr/ctr/memory.current", "5000000\n");
    let e = m
        .update(&res(
            r#"{"memory":{"limit":1000000,"checkBeforeUpdate":true}}"#,
        ))
        .unwrap_err();
    assert!(
        matches!(e, Error::MemoryBelowUsage { usage: 5000000, .. }),
        "{e}"
    );
    m.update(&res(
        r#"{"memory":{"limit":9000000,"checkBeforeUpdate":true}}"#,
    ))
    .unwrap();
    assert_eq!(t.get("runr/ctr/memory.max"), "9000000");
}

#[test]
fn cpu_conversions() {
    let (t, m) = tree();
    m.apply(&res(r#"{"cpu":{"shares":1024,"quota":50000,"period":100000,"burst":10000,"idle":1,"cpus":"1","mems":"0"}}"#))
        .unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "runr/ctr/cpuset.cpus 1",
            "runr/ctr/cpuset.mems 0",
            "runr/ctr/cpu.idle 1",
            "runr/ctr/cpu.weight 39",
            "runr/ctr/cpu.max.burst 10000",
            "runr/ctr/cpu.max 50000 100000",
        ]
    );
    m.update(&res(r#"{"cpu":{"period":200000}}"#)).unwrap();
    assert_eq!(t.take_writes(), ["runr/ctr/cpu.max max 200000"]);
    m.update(&res(r#"{"cpu":{"quota":-1}}"#)).unwrap();
    assert_eq!(t.take_writes(), ["runr/ctr/cpu.max max"]);
    m.update(&res(r#"{"cpu":{"shares":2}}"#)).unwrap();
    assert_eq!(t.take_writes(), ["runr/ctr/cpu.weight 1"]);
    m.update(&res(r#"{"cpu":{"shares":262144}}"#)).unwrap();
    assert_eq!(t.take_writes(), ["runr/ctr/cpu.weight 10000"]);
    m.update(&res(r#"{"cpu":{"shares":0,"quota":0,"period":0}}"#))
        .unwrap();
    assert!(t.take_writes().is_empty());
    let e = m
        .apply(&res(r#"{"cpu":{"realtimeRuntime":1000}}"#))
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
}

#[test]
fn io_weight_bfq_and_throttle() {
    let (t, m) = tree();
    let spec = r#"{"blockIO":{"weight":500,"leafWeight":10,"weightDevice":[{"major":8,"minor":0,"weight":600}],
        "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],
        "throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":300}]}}"#;
    // No BFQ: io.weight with runc's conversion; device weights need BFQ.
    m.apply(&res(spec)).unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "runr/ctr/io.weight 4950",
            "runr/ctr/io.max 8:0 rbps=1048576",
            "runr/ctr/io.max 8:16 wiops=300",
        ]
    );
    // Old BFQ (bare number): weight only.
    t.set("runr/ctr/io.bfq.weight", "100\n");
    m.update(&res(
        r#"{"blockIO":{"weight":500,"weightDevice":[{"major":8,"minor":0,"weight":600}]}}"#,
    ))
    .unwrap();
    assert_eq!(t.take_writes(), ["runr/ctr/io.bfq.weight 500"]);
    // BFQ with per-device weights ("default N").
    t.set("runr/ctr/io.bfq.weight", "default 100\n");
    m.update(&res(
        r#"{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":600}]}}"#,
    ))
    .unwrap();
    assert_eq!(t.take_writes(), ["runr/ctr/io.bfq.weight 8:0 600"]);
    assert_eq!(
        cgroups::ignored_fields(Layout::Unified, &res(spec)),
        ["blockIO.leafWeight"]
    );
}

#[test]
fn pids_hugetlb_rdma_unified() {
    let (t, m) = tree();
    m.apply(&res(
        r#"{"pids":{"limit":-1},"hugepageLimits":[{"pageSize":"2MB","limit":1048576}],
        "rdma":{"mlx5_0":{"hcaHandles":1,"hcaObjects":2}},
        "unified":{"memory.high":"500000","pids.max":"10"}}"#,
    ))
    .unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "runr/ctr/pids.max max",
            "runr/ctr/hugetlb.2MB.max 1048576",
            "runr/ctr/rdma.max mlx5_0 hca_handle=1 hca_object=2",
            "runr/ctr/memory.high 500000",
            "runr/ctr/pids.max 10",
        ]
    );
    let e = m
        .apply(&res(r#"{"unified":{"../../etc/passwd":"x"}}"#))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidResource { .. }), "{e}");
    let e = m.apply(&res(r#"{"network":{"classID":5}}"#)).unwrap_err();
    assert!(
        e.to_string().contains("controller net_cls required by linux.resources.network.classID is not available on this host (Unified"),
        "{e}"
    );
}

#[test]
fn missing_v2_controller() {
    let t = FakeTree::v2("cpu memory\n");
    let m = t.manager(Some("/c"));
    m.create().unwrap();
    let e = m.apply(&res(r#"{"pids":{"limit":5}}"#)).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "controller pids required by linux.resources.pids.limit is not available on this host"
        ),
        "{e}"
    );
    let e = m.apply(&res(r#"{"blockIO":{"weight":100}}"#)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("controller blkio required by linux.resources.blockIO.weight"),
        "{e}"
    );
}

#[test]
fn devices_on_v2_write_no_files_and_attach_a_filter_to_the_directory() {
    let (t, m) = tree();
    let e = m.apply(&res(r#"{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"}]}"#))
        .unwrap_err();
    // The rules make a program (tested on its own in devices_bpf), which goes to the kernel as
    // on a host: a plain directory is no cgroup, so attaching it fails with EBADF (or, without
    // CAP_BPF, loading it fails with EPERM), and no cgroup file was written for the rules.
    match &e {
        Error::Io {
            op: Op::BpfProgAttach,
            ..
        } => assert_eq!(e.raw_os_error(), Some(libc::EBADF), "{e}"),
        Error::Bpf {
            op: Op::BpfProgLoad,
            ..
        } => assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(t.take_writes().is_empty());
}

#[test]
fn freezer_v2_fake() {
    let (t, m) = tree();
    assert!(!m.is_frozen().unwrap());
    t.set("runr/ctr/cgroup.events", "populated 1\nfrozen 1\n");
    m.freeze().unwrap();
    assert_eq!(t.get("runr/ctr/cgroup.freeze"), "1");
    assert!(m.is_frozen().unwrap());
    m.thaw().unwrap();
    assert_eq!(t.get("runr/ctr/cgroup.freeze"), "0");
    assert!(!m.is_frozen().unwrap());
}

#[test]
fn stats_v2_fake() {
    let (t, m) = tree();
    let d = "runr/ctr";
    t.set(&format!("{d}/cpu.stat"), "usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_periods 5\nnr_throttled 1\nthrottled_usec 7\n");
    t.set(&format!("{d}/memory.current"), "4096\n");
    t.set(&format!("{d}/memory.max"), "max\n");
    t.set(&format!("{d}/memory.swap.current"), "1024\n");
    t.set(&format!("{d}/memory.swap.max"), "max\n");
    t.set(&format!("{d}/memory.stat"), "anon 1\nfile 2048\n");
    t.set(
        &format!("{d}/memory.events"),
        "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
    );
    t.set(&format!("{d}/pids.current"), "2\n");
    t.set(&format!("{d}/pids.max"), "50\n");
    t.set(
        &format!("{d}/io.stat"),
        "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n",
    );
    t.set(&format!("{d}/hugetlb.2MB.max"), "max\n");
    t.set(&format!("{d}/hugetlb.2MB.current"), "0\n");
    t.set(&format!("{d}/hugetlb.2MB.events"), "max 4\n");
    // A host with 2MB pages only.
    t.remove(&format!("{d}/hugetlb.1GB.max"));
    let s = serde_json::to_value(m.stats().unwrap()).unwrap();
    let want = serde_json::json!({
        "cpuset": {"cpu_exclusive": 0, "mem_hardwall": 0, "mem_exclusive": 0, "memory_migrate": 0, "memory_spread_page": 0, "memory_spread_slab": 0, "memory_pressure": 0, "sched_load_balance": 0, "sched_relax_domain_level": 0},
        "intel_rdt": {}, "network_interfaces": null,
        "cpu": {"usage": {"total": 1000000, "kernel": 400000, "user": 600000},
                "throttling": {"periods": 5, "throttledPeriods": 1, "throttledTime": 7000}},
        "memory": {"cache": 2048,
                   "usage": {"limit": u64::MAX, "usage": 4096, "failcnt": 3},
                   "swap": {"limit": u64::MAX, "usage": 5120, "failcnt": 0},
                   "kernel": {"limit": 0, "failcnt": 0},
                   "kernelTCP": {"limit": 0, "failcnt": 0},
                   "raw": {"anon": 1, "file": 2048}},
        "pids": {"current": 2, "limit": 50},
        "blkio": {"ioServiceBytesRecursive": [
                      {"major": 8, "op": "Read", "value": 100}, {"major": 8, "op": "Write", "value": 200}],
                  "ioServicedRecursive": [
                      {"major": 8, "op": "Read", "value": 1}, {"major": 8, "op": "Write", "value": 2}]},
        "hugetlb": {"2MB": {"failcnt": 4}}
    });
    assert_eq!(s, want);
    assert_eq!(m.oom_kill_count().unwrap(), 1);
}

#[test]
fn sigkill_uses_cgroup_kill_where_the_kernel_has_it() {
    let (t, m) = tree();
    // Linux 5.14+ has cgroup.kill: SIGKILL is one write to it, as in runc.
    t.set("runr/ctr/cgroup.kill", "");
    m.kill_all(libc::SIGKILL).unwrap();
    assert_eq!(t.take_writes(), ["runr/ctr/cgroup.kill 1"]);
}

#[test]
fn a_control_file_the_kernel_lacks_is_enoent_not_created() {
    let (t, m) = tree();
    // As on a host without the feature: the file is never created by a write.
    t.remove("runr/ctr/pids.max");
    let e = m.apply(&res(r#"{"pids":{"limit":5}}"#)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}");
    assert!(!t.exists("runr/ctr/pids.max"));
}
