//! Issue #17, runtime-spec 1.3 fields read as today's runc reads them: `pids.limit` is a
//! `*int64`, so `"limit": null` is an unset limit, in config.json and in `update -r`'s
//! resources. Side by side with the installed runc 1.1.5, whose Go `int64` reads null as 0,
//! which that version takes as "no limit" too (runc 1.4+ takes a nil limit as unset): the same
//! pids.max either way. Also: a `linux.netDevices` move the kernel refuses is reported with the
//! syscall's error (operation and errno) and the entry named, and `kill --all`'s help.

use std::process::Command;

use serde_json::json;
use tests_integration::{assert_no_leaks, delete_no_leaks, runtimes, unique, Bundle};

#[test]
fn a_null_pids_limit_is_unset_at_create_and_in_update() {
    for rt in runtimes() {
        // create: null is no limit, the kernel's default stays; the rest of resources applies.
        let mut b = Bundle::shell("sleep 600");
        b.config["linux"]["resources"]["pids"] = json!({"limit": null});
        let id = unique("pids-null");
        rt.create_ok(&b, &id, &[]);
        assert_eq!(
            b.pids_max(),
            "max",
            "{}: pids.limit null at create",
            rt.name
        );

        // update -r: a null limit leaves the current one alone, the other members apply.
        rt.ok(&["update", "--pids-limit", "7", &id]);
        assert_eq!(b.pids_max(), "7", "{}", rt.name);
        let res = b.dir.join("res.json");
        std::fs::write(&res, r#"{"pids": {"limit": null}}"#).unwrap();
        rt.ok(&["update", "-r", res.to_str().unwrap(), &id]);
        assert_eq!(
            b.pids_max(),
            "7",
            "{}: update -r with a null limit",
            rt.name
        );
        std::fs::write(&res, r#"{"pids": {"limit": 9}}"#).unwrap();
        rt.ok(&["update", "-r", res.to_str().unwrap(), &id]);
        assert_eq!(b.pids_max(), "9", "{}: update -r with a limit", rt.name);
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn a_pids_limit_of_the_wrong_type_is_still_an_error_naming_it() {
    for rt in runtimes() {
        let mut b = Bundle::shell("true");
        b.config["linux"]["resources"]["pids"] = json!({"limit": "ten"});
        let id = unique("pids-bad");
        let out = rt.create(&b, &id, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{}: a string limit is refused",
            rt.name
        );
        if rt.name == "runr" {
            assert!(
                err.contains("linux.resources.pids.limit"),
                "names the field: {err}"
            );
        }
        tests_integration::assert_no_leaks(&rt, &id, &b);
    }
}

/// `kill --all` stays for runc 1.1.5's callers (its effect is tested in tests/kill_cgroup.rs):
/// both runr's and runc 1.1.5's help list it; runr's says what runc 1.5 does instead (it hides
/// the flag as "obsoleted" and signals only the init).
#[test]
fn kill_help_keeps_all_and_says_what_runc_1_5_does() {
    for rt in runtimes() {
        let help = rt.ok(&["kill", "--help"]);
        assert!(
            help.contains("--all"),
            "{}: kill --help lists --all: {help}",
            rt.name
        );
        if rt.name == "runr" {
            assert!(
                help.contains("runc 1.1.5") && help.contains("runc 1.5"),
                "says whose --all it keeps and what runc 1.5 does: {help}"
            );
        }
    }
}

/// A bridge on the host, removed on drop. A bridge is NETIF_F_NETNS_LOCAL: the kernel refuses
/// to move it to another network namespace (EINVAL), a real failure of the move itself.
struct Bridge(String);

impl Bridge {
    fn new() -> Bridge {
        let n = unique("");
        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
        let name = format!("rnb{}", &digits[digits.len().saturating_sub(12)..]);
        let out = Command::new("ip")
            .args(["link", "add", &name, "type", "bridge"])
            .output()
            .expect("spawn ip");
        assert!(
            out.status.success(),
            "ip link add {name} type bridge: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Bridge(name)
    }

    /// `ip -o link show dev <name>` on the host (empty when the host has no such device).
    fn on_host(&self) -> String {
        let out = Command::new("ip")
            .args(["-o", "link", "show", "dev", &self.0])
            .output()
            .expect("spawn ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
    }
}

/// runr: create fails naming the entry, with the rtnetlink request's errno (EINVAL, "Invalid
/// argument"), the bridge is on the host as it was (down), nothing is left. runc 1.1.5 predates
/// netDevices and ignores the field (the container runs, the bridge stays); runc 1.4+ fails the
/// move too, in its own words.
#[test]
fn a_net_device_move_the_kernel_refuses_carries_the_syscall_error() {
    for rt in runtimes() {
        let br = Bridge::new();
        let mut b = Bundle::shell("true");
        b.config["linux"]["netDevices"] = json!({ br.0.clone(): {"name": "eth7"} });
        let id = unique("netdev-sys");
        let out = rt.create(&b, &id, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        if rt.name == "runr" {
            assert!(!out.status.success(), "a bridge cannot move: {err}");
            let field = format!("linux.netDevices.{}", br.0);
            assert!(err.contains(&field), "names the entry: {err}");
            assert!(
                err.contains("moving")
                    && err.contains("rtnetlink")
                    && err.contains("Invalid argument"),
                "the operation and errno of the failed request: {err}"
            );
            assert_no_leaks(&rt, &id, &b);
        } else {
            let v = rt.ok(&["--version"]);
            if v.contains("version 1.1.") {
                assert!(out.status.success(), "runc 1.1.5 ignores netDevices: {err}");
                delete_no_leaks(&rt, &id, &b);
            } else {
                assert!(!out.status.success(), "runc 1.4+ fails the move: {err}");
                assert_no_leaks(&rt, &id, &b);
            }
        }
        let shown = br.on_host();
        assert!(
            shown.contains(&br.0),
            "{}: the bridge is still on the host",
            rt.name
        );
        assert!(
            !shown.contains(",UP"),
            "{}: left down as it was: {shown}",
            rt.name
        );
    }
}
