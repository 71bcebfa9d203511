//! Issue #12 (runc parity) items 15–17 and 22 against a fake tree: a shared cgroup, runc's
//! error wording, device access strings and minimal device transitions, and a hybrid host's
//! cgroup2 root that is never written.

mod common;

use cgroups::{Error, Layout};
use common::{res, FakeTree};

const V1: &[&str] = &["cpu", "memory", "devices", "freezer", "pids"];

const RULES: &str = r#"{"devices":[{"allow":false,"access":"rwm"},
    {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
    {"allow":true,"type":"c","major":136,"access":"rw"},
    {"allow":true,"type":"c","access":"m"}]}"#;

fn devices_tree() -> FakeTree {
    let t = FakeTree::v1(V1);
    t.manager(Some("/runr/ctr")).create().unwrap();
    t.take_writes();
    t
}

#[test]
fn update_with_the_rules_the_cgroup_has_writes_nothing() {
    let t = devices_tree();
    let m = t.manager(Some("/runr/ctr"));
    t.set(
        "devices/runr/ctr/devices.list",
        "c *:* m\nc 1:3 rwm\nc 136:* rw\n",
    );
    m.update(&res(RULES)).unwrap();
    assert_eq!(t.take_writes(), Vec::<String>::new());
}

#[test]
fn a_rule_change_writes_only_the_difference_and_no_reset() {
    let t = devices_tree();
    let m = t.manager(Some("/runr/ctr"));
    // The cgroup also allows /dev/zero and lacks mknod of ptys.
    t.set(
        "devices/runr/ctr/devices.list",
        "c *:* m\nc 1:3 rwm\nc 136:* r\nc 1:5 rwm\n",
    );
    m.update(&res(RULES)).unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "devices/runr/ctr/devices.deny c 1:5 rwm",
            "devices/runr/ctr/devices.allow c 136:* w",
        ]
    );
}

#[test]
fn access_strings_as_runc_reads_them() {
    let t = devices_tree();
    let m = t.manager(Some("/runr/ctr"));
    t.set("devices/runr/ctr/devices.list", "a *:* rwm\n");
    // runc's own tests write "rwa": r and w count, other letters are ignored.
    m.apply(&res(r#"{"devices":[{"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":1,"minor":3,"access":"rwa"},
        {"allow":true,"type":"c","major":1,"minor":5}]}"#))
        .unwrap();
    assert_eq!(
        t.take_writes(),
        [
            "devices/runr/ctr/devices.deny a *:* rwm",
            "devices/runr/ctr/devices.allow c 1:3 rw",
            "devices/runr/ctr/devices.allow c 1:5 rwm",
        ]
    );
    // A string that names no access at all would be a rule that does nothing: refused.
    let e = m
        .apply(&res(
            r#"{"devices":[{"allow":true,"type":"c","major":1,"minor":3,"access":"a"}]}"#,
        ))
        .unwrap_err();
    assert!(e.to_string().contains("devices[0]"), "{e}");
    assert!(t.take_writes().is_empty());
}

#[test]
fn a_hole_in_a_wildcard_rule_is_refused_before_anything_is_written() {
    let t = devices_tree();
    let m = t.manager(Some("/runr/ctr"));
    t.set("devices/runr/ctr/devices.list", "a *:* rwm\n");
    let e = m
        .apply(&res(r#"{"devices":[{"allow":false,"access":"rwm"},
            {"allow":true,"type":"c","access":"m"},
            {"allow":false,"type":"c","major":1,"minor":3,"access":"m"}]}"#))
        .unwrap_err();
    assert!(e.to_string().contains("devices[2]"), "{e}");
    assert!(t.take_writes().is_empty());
}

#[test]
fn a_shared_cgroup_is_released_only_when_its_other_processes_are_gone() {
    let t = FakeTree::v1(V1);
    t.set("pids/shared/cgroup.procs", "77\n");
    let m = t.manager(Some("/shared"));
    assert_eq!(m.create().unwrap(), 1, "the processes found are reported");
    assert!(matches!(m.release(), Err(Error::InUse { count: 1, .. })));
    for h in V1 {
        assert!(
            t.exists(&format!("{h}/shared")),
            "{h}: removed while in use"
        );
    }
    std::fs::remove_file(t.path("pids/shared/cgroup.procs")).unwrap();
    m.release().unwrap();
    for h in V1 {
        assert!(!t.exists(&format!("{h}/shared")), "{h}: left behind");
    }
}

#[test]
fn unified_on_v1_is_an_invalid_configuration_in_runcs_words() {
    let t = FakeTree::v1(V1);
    let m = t.manager(Some("/c"));
    m.create().unwrap();
    let e = m
        .apply(&res(r#"{"unified":{"pids.max":"10"}}"#))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("invalid configuration: cannot use unified on cgroup v1"),
        "{e}"
    );
}

#[test]
fn the_hybrid_cgroup2_root_is_never_written() {
    for enabled in ["", "hugetlb rdma\n"] {
        let t = FakeTree::hybrid(V1, "hugetlb rdma\n");
        t.set("unified/cgroup.subtree_control", enabled);
        let m = t.manager(Some("/a/b/ctr"));
        m.create().unwrap();
        let both = res(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}],
            "rdma":{"mlx5_0":{"hcaHandles":1}}}"#);
        let got = m.apply(&both);
        let writes = t.take_writes();
        assert!(
            !writes
                .iter()
                .any(|w| w.starts_with("unified/cgroup.subtree_control")),
            "{writes:?}"
        );
        assert_eq!(t.get("unified/cgroup.subtree_control"), enabled);
        if enabled.is_empty() {
            let e = got.unwrap_err().to_string();
            assert!(e.contains("linux.resources.hugepageLimits"), "{e}");
            assert!(e.contains("mount -t cgroup -o hugetlb"), "{e}");
            assert!(writes.is_empty(), "{writes:?}");
        } else {
            got.unwrap();
            assert!(writes.contains(&"unified/a/cgroup.subtree_control +hugetlb".to_string()));
            assert!(writes.contains(&"unified/a/b/ctr/hugetlb.2MB.max 4194304".to_string()));
        }
        assert_eq!(m.layout(), Layout::Hybrid);
    }
}
