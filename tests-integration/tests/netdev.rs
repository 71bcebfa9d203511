//! `linux.netDevices` (runtime-spec 1.3, runc 1.4+): host interfaces moved into the container's
//! network namespace, renamed to `name` when given, set up, their permanent global addresses
//! kept; nothing moves them back on delete (the spec says the runtime MUST NOT: the kernel
//! destroys virtual devices with the namespace, and a namespace joined by path keeps them).
//!
//! This host's kernel has no `dummy` driver, so the devices are veth pairs made for each test
//! (one end moved, the other staying on the host), with link-local addresses only and no traffic.
//! Each scenario also runs under the installed runc: 1.1.5 predates netDevices and ignores the
//! field (the device stays on the host, the container runs without it); runc 1.4+ moves it as
//! runr does. The runc half asserts whichever its version does.

use std::process::Command;

use serde_json::json;
use tests_integration::{
    assert_no_leaks, delete_no_leaks, runtimes, unique, wait_for, Bundle, Runtime,
};

/// Runs `ip args`, which must succeed.
fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("spawn ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the host's network namespace has a link called `name`.
fn host_has(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .output()
        .expect("spawn ip")
        .status
        .success()
}

/// A short interface name unique to this test process (at most 15 bytes).
fn ifname(prefix: &str) -> String {
    let n = unique("");
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(15 - prefix.len())..];
    format!("{prefix}{tail}")
}

/// A veth pair on the host: `moved` goes to the container, `peer` stays. Both are removed on
/// drop wherever they still are on the host.
struct Veth {
    moved: String,
    peer: String,
}

impl Veth {
    fn new() -> Veth {
        let moved = ifname("rnm");
        let peer = ifname("rnp");
        ip(&["link", "add", &moved, "type", "veth", "peer", "name", &peer]);
        Veth { moved, peer }
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for n in [&self.moved, &self.peer] {
            let _ = Command::new("ip").args(["link", "del", n]).output();
        }
    }
}

/// A named network namespace (`ip netns add`), deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new() -> NetNs {
        let name = unique("runr-nd");
        ip(&["netns", "add", &name]);
        NetNs(name)
    }
    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
    /// `ip -n <ns> link show dev <dev>` succeeds.
    fn has(&self, dev: &str) -> bool {
        Command::new("ip")
            .args(["-n", &self.0, "link", "show", "dev", dev])
            .output()
            .expect("spawn ip")
            .status
            .success()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// Whether this runtime carries out linux.netDevices: runr, and runc from 1.4 on.
fn moves_devices(rt: &Runtime) -> bool {
    if rt.name == "runr" {
        return true;
    }
    let v = rt.ok(&["--version"]);
    let version: Vec<u32> = v
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .split(['.', '-', '+'])
        .take(2)
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    version >= vec![1, 4]
}

/// The container's stdout once it has printed `END`.
fn output_until_end(b: &Bundle) -> String {
    let path = b.dir.join("stdout");
    let done = wait_for(60, || {
        std::fs::read_to_string(&path).is_ok_and(|s| s.contains("END"))
    });
    let out = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(done, "the container never printed END: {out:?}");
    out
}

#[test]
fn a_device_is_moved_in_renamed_up_with_its_global_addresses_and_goes_with_the_namespace() {
    for rt in runtimes() {
        let veth = Veth::new();
        // A permanent global-scope address (169.254/16 is link-local IPv4, yet the kernel
        // gives it global scope unless told otherwise) is kept; a link-scope one is not.
        ip(&["addr", "add", "169.254.171.7/32", "dev", &veth.moved]);
        ip(&["-6", "addr", "add", "fe80::171:7/64", "dev", &veth.moved]);
        ip(&["link", "set", "dev", &veth.moved, "mtu", "1789"]);
        let mut b = Bundle::shell(
            "ip -o link show dev ctr0 2>&1; ip -o addr show dev ctr0 2>&1; echo END; sleep 600",
        );
        b.config["linux"]["netDevices"] = json!({ veth.moved.clone(): {"name": "ctr0"} });
        let id = unique("netdev");
        rt.create_ok(&b, &id, &[]);
        rt.ok(&["start", &id]);
        let out = output_until_end(&b);
        if moves_devices(&rt) {
            // Moved at create, as ctr0, up, its MTU and its global address with it.
            assert!(!host_has(&veth.moved), "{}: still on the host", rt.name);
            let link = out.lines().next().unwrap_or_default();
            assert!(link.contains(": ctr0@"), "{}: {out}", rt.name);
            assert!(
                link.contains(",UP") || link.contains("<UP"),
                "{}: {link}",
                rt.name
            );
            assert!(link.contains("mtu 1789"), "{}: {link}", rt.name);
            assert!(out.contains("inet 169.254.171.7/32"), "{}: {out}", rt.name);
            assert!(!out.contains("fe80::171:7"), "{}: {out}", rt.name);
            assert!(host_has(&veth.peer), "{}: the peer left the host", rt.name);
        } else {
            // runc 1.1.5: the field is ignored, the device never leaves the host.
            eprintln!("{}: ignores linux.netDevices (runc < 1.4): {out}", rt.name);
            assert!(host_has(&veth.moved), "{}", rt.name);
            assert!(!out.contains(": ctr0@"), "{}: {out}", rt.name);
        }
        delete_no_leaks(&rt, &id, &b);
        if moves_devices(&rt) {
            // Nothing moved it back: the namespace went, and with it the (virtual) veth and
            // so its peer (the kernel's doing, asynchronously; the spec's lifecycle).
            let gone = wait_for(60, || !host_has(&veth.peer) && !host_has(&veth.moved));
            assert!(
                gone,
                "{}: the veth outlived the container's namespace",
                rt.name
            );
            assert!(!host_has("ctr0"), "{}: ctr0 came back to the host", rt.name);
        } else {
            assert!(host_has(&veth.moved), "{}", rt.name);
        }
    }
}

#[test]
fn into_a_namespace_joined_by_path_the_device_stays_there_after_delete() {
    // runc's own test (tests/integration/netdev.bats, "restore it back"): the namespace's
    // owner decides the device's lifecycle; it moves it back to the host itself.
    for rt in runtimes() {
        let veth = Veth::new();
        let ns = NetNs::new();
        let mut b = Bundle::shell("ip -o link show dev $DEV 2>&1; echo END; sleep 600");
        b.config["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!(format!("DEV={}", veth.moved)));
        for n in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "network" {
                n["path"] = json!(ns.path());
            }
        }
        // No `name`: it keeps its host name.
        b.config["linux"]["netDevices"] = json!({ veth.moved.clone(): {} });
        let id = unique("netdev-ns");
        rt.create_ok(&b, &id, &[]);
        rt.ok(&["start", &id]);
        let out = output_until_end(&b);
        let moves = moves_devices(&rt);
        assert_eq!(ns.has(&veth.moved), moves, "{}: {out}", rt.name);
        assert_eq!(host_has(&veth.moved), !moves, "{}: {out}", rt.name);
        assert_eq!(
            out.contains(&format!(": {}@", veth.moved)),
            moves,
            "{}: {out}",
            rt.name
        );
        delete_no_leaks(&rt, &id, &b);
        if moves {
            // Still in the namespace the container joined, not moved back by the runtime.
            assert!(
                ns.has(&veth.moved),
                "{}: left the joined namespace",
                rt.name
            );
            assert!(
                !host_has(&veth.moved),
                "{}: moved back to the host",
                rt.name
            );
            ip(&["-n", &ns.0, "link", "set", "dev", &veth.moved, "netns", "1"]);
            assert!(
                host_has(&veth.moved),
                "{}: not back after the owner's move",
                rt.name
            );
        } else {
            eprintln!("{}: ignores linux.netDevices (runc < 1.4)", rt.name);
        }
    }
}

/// `create` of `b` under runr must fail naming `field` (and saying `why`) and leave nothing.
fn refused(b: &Bundle, field: &str, why: &str) {
    let rt = Runtime::runr();
    let id = unique("netdev-bad");
    let out = rt.create(b, &id, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted: {err}");
    assert!(err.contains(field) && err.contains(why), "{err}");
    assert_no_leaks(&rt, &id, b);
}

#[test]
fn bad_net_devices_are_refused_naming_the_entry_and_leave_the_device_alone() {
    // runc 1.1.5 runs all of these (it ignores the field); runc 1.4+ refuses them too, with
    // its own wording ("link not found", "unable to move network devices without a NET
    // namespace", EEXIST from the kernel).
    let veth = Veth::new();
    // A device the host does not have.
    let mut b = Bundle::shell("true");
    b.config["linux"]["netDevices"] = json!({"rnnosuch0": {"name": "eth1"}});
    refused(&b, "linux.netDevices.rnnosuch0", "no network device");
    // No network namespace: the container would share the host's.
    let mut b = Bundle::shell("true");
    b.config["linux"]["netDevices"] = json!({ veth.moved.clone(): {} });
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "network");
    refused(&b, "linux.netDevices", "network namespace");
    assert!(host_has(&veth.moved));
    // A name the container's namespace already has (its loopback): checked before moving.
    let mut b = Bundle::shell("true");
    b.config["linux"]["netDevices"] = json!({ veth.moved.clone(): {"name": "lo"} });
    refused(
        &b,
        &format!("linux.netDevices.{}", veth.moved),
        "already has",
    );
    assert!(host_has(&veth.moved), "the device left the host");
    // A name the kernel would refuse.
    let mut b = Bundle::shell("true");
    b.config["linux"]["netDevices"] = json!({ veth.moved.clone(): {"name": "a/b"} });
    refused(
        &b,
        &format!("linux.netDevices.{}.name", veth.moved),
        "not a valid network device name",
    );
    // A `%d` name template: the moved device could not be found again by its name.
    let mut b = Bundle::shell("true");
    b.config["linux"]["netDevices"] = json!({ veth.moved.clone(): {"name": "ctr%d"} });
    refused(
        &b,
        &format!("linux.netDevices.{}.name", veth.moved),
        "name template",
    );
    // The "joined" network namespace is the host's own (this test's): the move would only rename the device
    // on the host.
    let mut b = Bundle::shell("true");
    b.config["linux"]["netDevices"] = json!({ veth.moved.clone(): {"name": "ctr0"} });
    for ns in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == "network" {
            ns["path"] = json!(format!("/proc/{}/ns/net", std::process::id()));
        }
    }
    refused(&b, "linux.netDevices", "runtime's own");
    assert!(host_has(&veth.moved), "the device was renamed on the host");
    assert!(!host_has("ctr0"), "the device was renamed on the host");
}

#[test]
fn a_device_moves_into_a_network_namespace_owned_by_the_containers_user_namespace() {
    // The runtime (the host's root) moves it into a namespace that the container's new user
    // namespace owns. runr only: runc 1.1.5 ignores the field (see above).
    let veth = Veth::new();
    ip(&["addr", "add", "169.254.172.7/32", "dev", &veth.moved]);
    let mut b = Bundle::shell("ip -o link show dev ctr0 2>&1; ip -o addr show dev ctr0 2>&1");
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config["linux"]["netDevices"] = json!({ veth.moved.clone(): {"name": "ctr0"} });
    let rt = Runtime::runr();
    let id = unique("netdev-userns");
    let (code, out, err) = rt.run(&b, &id);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains(": ctr0@") && out.contains(",UP"), "{out}");
    assert!(out.contains("inet 169.254.172.7/32"), "{out}");
    assert_no_leaks(&rt, &id, &b);
    // The namespace went with the container, and the veth with it.
    assert!(
        wait_for(60, || !host_has(&veth.peer)),
        "the veth outlived it"
    );
}
