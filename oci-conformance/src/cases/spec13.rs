//! runtime-spec 1.2 and 1.3 additions (config.md mounts: relative destinations, `uidMappings`/
//! `gidMappings` idmapped mounts; config-linux.md `netDevices`, `memoryPolicy`). A runtime whose
//! `features` reports an `ociVersionMax` before the version that added a requirement (runc 1.1.5:
//! 1.0.2-dev) is reported as predating it (a skip naming the version), not as failing it.

use serde_json::{json, Value};

use super::{case, rejected, run_with, Case};
use crate::harness::{Bundle, Ctx, Kv, R};
use crate::{check, check_eq, skip};

/// The runtime's `features` `ociVersionMax` ("(no features)" when it has none), and whether it
/// is at least runtime-spec `version` ("1.2", "1.3").
pub(super) fn spec_at_least(ctx: &Ctx, version: &str) -> (String, bool) {
    let out = ctx.rt.cmd(&ctx.scratch, &["features"]);
    let max = serde_json::from_str::<Value>(&out.stdout)
        .ok()
        .and_then(|f| f["ociVersionMax"].as_str().map(String::from))
        .unwrap_or_else(|| "(no features)".into());
    let num = |v: &str| -> Vec<u32> {
        v.split(['.', '-'])
            .take(2)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    let ok = num(&max) >= num(version);
    (max, ok)
}

/// Skips when the runtime's `features` says it predates runtime-spec `version` ("1.2", "1.3").
fn needs_spec(ctx: &Ctx, version: &str) -> R {
    let (max, ok) = spec_at_least(ctx, version);
    if !ok {
        skip!("the runtime predates runtime-spec {version} (ociVersionMax {max})");
    }
    Ok(())
}

fn mounts(c: &mut Value) -> &mut Vec<Value> {
    c["mounts"].as_array_mut().unwrap()
}

pub fn spec13() -> Vec<Case> {
    const A: &str = "spec 1.2/1.3";
    vec![
        case(A, "a relative mount destination is relative to /", |ctx| {
            needs_spec(ctx, "1.2")?;
            let out = run_with(
                ctx,
                &["/bin/sh", "-c", "cd /tmp; cat /proc/self/mountinfo"],
                |c| {
                    mounts(c).push(json!({"destination": "rel/dir", "type": "tmpfs",
                    "source": "tmpfs", "options": []}));
                },
            )?;
            let found = out.lines().any(|l| l.split(' ').nth(4) == Some("/rel/dir"));
            check!(found, "no mount at /rel/dir");
            Ok(())
        }),
        case(
            A,
            "a mount's uidMappings/gidMappings idmap its files",
            |ctx| {
                needs_spec(ctx, "1.2")?;
                let src = ctx.scratch.join(crate::harness::unique("idmap"));
                std::fs::create_dir_all(&src).unwrap();
                std::fs::write(src.join("f"), "x").unwrap();
                let map = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
                let out = run_with(ctx, &["/bin/probe", "stat", "/idm/f"], |c| {
                    mounts(c).push(json!({"destination": "/idm", "type": "bind",
                    "source": src.to_str().unwrap(), "options": ["rbind", "idmap"],
                    "uidMappings": map, "gidMappings": map}));
                });
                let _ = std::fs::remove_dir_all(&src);
                let kv = Kv::parse(&out?);
                check_eq!(
                    (kv.get("uid"), kv.get("gid")),
                    ("1000", "1000"),
                    "owner seen"
                );
                Ok(())
            },
        ),
        case(A, "uidMappings without gidMappings is an error", |ctx| {
            needs_spec(ctx, "1.2")?;
            let map = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
            rejected(ctx, |c| {
                mounts(c).push(
                    json!({"destination": "/idm", "type": "bind", "source": "/tmp",
                    "options": ["rbind", "idmap"], "uidMappings": map}),
                );
            })
        }),
        case(A, "a netDevices entry the host lacks is an error", |ctx| {
            needs_spec(ctx, "1.3")?;
            rejected(ctx, |c| {
                c["linux"]["netDevices"] = json!({"oci-nosuch0": {"name": "eth1"}});
            })
        }),
        case(
            A,
            "a netDevices device is moved in, renamed and up",
            |ctx| {
                needs_spec(ctx, "1.3")?;
                let Some(pair) = VethPair::make() else {
                    skip!("cannot make a veth pair on this host (ip link add … type veth)");
                };
                let mut b = Bundle::sh(ctx, "ip -o link show dev oci0");
                b.config["linux"]["netDevices"] = json!({ pair.dev.clone(): {"name": "oci0"} });
                let out = b.run_ok()?;
                check!(out.contains(": oci0@"), "no oci0 in the container: {out:?}");
                check!(out.contains(",UP"), "oci0 is not up: {out:?}");
                Ok(())
            },
        ),
        case(
            A,
            "a netDevices name template (%d) is allowed, the kernel picks the number",
            |ctx| {
                needs_spec(ctx, "1.3")?;
                let Some(pair) = VethPair::make() else {
                    skip!("cannot make a veth pair on this host (ip link add … type veth)");
                };
                // A fresh network namespace has only `lo`: the first free number is 0.
                let mut b = Bundle::sh(ctx, "ip -o link show dev oct0");
                b.config["linux"]["netDevices"] = json!({ pair.dev.clone(): {"name": "oct%d"} });
                let out = b.run_ok()?;
                check!(out.contains(": oct0@"), "no oct0 in the container: {out:?}");
                check!(out.contains(",UP"), "oct0 is not up: {out:?}");
                Ok(())
            },
        ),
        case(A, "intelRdt without a mounted resctrl is an error", |ctx| {
            needs_spec(ctx, "1.3")?;
            let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
            if mountinfo.lines().any(|l| l.contains(" - resctrl ")) {
                skip!("this host has resctrl mounted: the error case cannot be shown");
            }
            // config-linux.md: "If no mounted resctrl pseudo-filesystem is available in the
            // runtime mount namespace, the runtime MUST generate an error."
            rejected(ctx, |c| {
                c["linux"]["intelRdt"] = json!({"closID": "oci-conformance"});
            })
        }),
        case(
            A,
            "a null pids limit is an unset limit, not an error",
            |ctx| {
                needs_spec(ctx, "1.3")?;
                // runtime-spec 1.3 made `limit` optional: null is no limit, not an error.
                let mut b = Bundle::sh(ctx, "echo ok");
                b.config["linux"]["resources"] = json!({"pids": {"limit": null}});
                let out = b.run_ok()?;
                check_eq!(out.trim(), "ok", "output");
                Ok(())
            },
        ),
        case(A, "memoryPolicy MPOL_BIND applies to the process", |ctx| {
            needs_spec(ctx, "1.3")?;
            let mut b = Bundle::sh(ctx, "awk '{print $2}' /proc/self/numa_maps | sort -u");
            b.config["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"});
            let out = b.run_ok()?;
            check_eq!(out.trim(), "bind:0", "numa_maps policies");
            Ok(())
        }),
        case(A, "a memoryPolicy the kernel refuses is an error", |ctx| {
            needs_spec(ctx, "1.3")?;
            rejected(ctx, |c| {
                c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "63"});
            })
        }),
    ]
}

/// A veth pair made on the host for one case (no dummy driver everywhere; no address, no
/// traffic), deleted when dropped wherever its ends went (a moved end dies with its namespace).
struct VethPair {
    dev: String,
    peer: String,
}

impl VethPair {
    fn make() -> Option<VethPair> {
        let n = crate::harness::unique("");
        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
        let tail = &digits[digits.len().saturating_sub(11)..];
        let (dev, peer) = (format!("ocm{tail}"), format!("ocp{tail}"));
        let made = std::process::Command::new("ip")
            .args(["link", "add", &dev, "type", "veth", "peer", "name", &peer])
            .status();
        made.is_ok_and(|s| s.success())
            .then_some(VethPair { dev, peer })
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for d in [&self.dev, &self.peer] {
            let _ = std::process::Command::new("ip")
                .args(["link", "del", d])
                .output();
        }
    }
}
