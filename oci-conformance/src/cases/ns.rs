//! config-linux.md `namespaces`, user namespace mappings, `timeOffsets`, hostname/domainname
//! (config.md) and `sysctl`.

use serde_json::{json, Value};

use super::{case, probe_with, run_with, Case};
use crate::harness::{Bundle, Ctx, Why};
use crate::{check, check_eq, skip};

fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn drop_ns(c: &mut Value, kind: &str) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != kind);
}

fn userns(c: &mut Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup");
}

/// A running container (sleeping probe) whose namespaces another container can join.
fn target(ctx: &Ctx) -> Result<(Bundle<'_>, i64), Why> {
    let b = Bundle::new(ctx, &["/bin/probe", "sleep", "60"]);
    b.create_ok()?;
    let pid = b.state().and_then(|s| s["pid"].as_i64()).unwrap_or(0);
    check!(pid > 0, "no pid in the state of the target container");
    Ok((b, pid))
}

pub fn namespaces() -> Vec<Case> {
    const A: &str = "namespaces";
    let new_ns = |kind: &'static str, key: &'static str| {
        case(A, format!("{kind} namespace is new"), move |ctx| {
            let kv = probe_with(ctx, |c| {
                if !c["linux"]["namespaces"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|n| n["type"] == kind)
                {
                    c["linux"]["namespaces"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!({"type": kind}));
                }
            })?;
            let got = kv.get(&format!("ns.{key}"));
            check!(
                !got.is_empty() && got != host_ns(key),
                "ns.{key} is the host's: {got}"
            );
            Ok(())
        })
    };
    let inherited = |kind: &'static str, key: &'static str| {
        case(
            A,
            format!("no {kind} entry: the runtime's {kind} namespace is inherited"),
            move |ctx| {
                let kv = probe_with(ctx, |c| {
                    drop_ns(c, kind);
                    if kind == "uts" {
                        c.as_object_mut().unwrap().remove("hostname");
                    }
                    if kind == "network" {
                        c["mounts"]
                            .as_array_mut()
                            .unwrap()
                            .retain(|m| m["type"] != "sysfs");
                    }
                })?;
                check_eq!(
                    kv.get(&format!("ns.{key}")),
                    host_ns(key),
                    format!("ns.{key}")
                );
                Ok(())
            },
        )
    };
    let joined = |kind: &'static str, key: &'static str| {
        case(A, format!("{kind} namespace joined by path"), move |ctx| {
            let (_t, pid) = target(ctx)?;
            let want = std::fs::read_link(format!("/proc/{pid}/ns/{key}"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let kv = probe_with(ctx, |c| {
                drop_ns(c, kind);
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": kind, "path": format!("/proc/{pid}/ns/{key}")}));
            })?;
            check_eq!(kv.get(&format!("ns.{key}")), want, format!("ns.{key}"));
            Ok(())
        })
    };
    vec![
        new_ns("pid", "pid"),
        new_ns("network", "net"),
        new_ns("ipc", "ipc"),
        new_ns("uts", "uts"),
        new_ns("mount", "mnt"),
        new_ns("cgroup", "cgroup"),
        inherited("network", "net"),
        inherited("ipc", "ipc"),
        inherited("uts", "uts"),
        inherited("pid", "pid"),
        joined("network", "net"),
        joined("ipc", "ipc"),
        joined("uts", "uts"),
        joined("pid", "pid"),
        case(A, "new network namespace has only lo", |ctx| {
            let out = run_with(ctx, &["/bin/probe", "cat", "/proc/net/dev"], |_| {})?;
            let ifs: Vec<&str> = out
                .lines()
                .skip(2)
                .filter_map(|l| l.split(':').next())
                .map(str::trim)
                .collect();
            check_eq!(ifs, vec!["lo"], "interfaces");
            Ok(())
        }),
        case(
            A,
            "cgroup namespace: the container's cgroup is its root",
            |ctx| {
                let kv = probe_with(ctx, |c| {
                    c["linux"]["namespaces"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!({"type": "cgroup"}))
                })?;
                let cg = kv.get("cgroup");
                check!(
                    cg.split('|').all(|l| l.ends_with(":/")),
                    "/proc/self/cgroup: {cg}"
                );
                Ok(())
            },
        ),
        case(A, "hostname is set", |ctx| {
            let kv = probe_with(ctx, |c| c["hostname"] = json!("conformance-host"))?;
            check_eq!(kv.get("hostname"), "conformance-host", "hostname");
            Ok(())
        }),
        case(A, "domainname is set", |ctx| {
            let kv = probe_with(ctx, |c| c["domainname"] = json!("conformance.example"))?;
            check_eq!(kv.get("domainname"), "conformance.example", "domainname");
            Ok(())
        }),
        case(A, "user namespace is new", |ctx| {
            let kv = probe_with(ctx, userns)?;
            let got = kv.get("ns.user");
            check!(
                !got.is_empty() && got != host_ns("user"),
                "ns.user is the host's"
            );
            Ok(())
        }),
        case(A, "uidMappings are applied", |ctx| {
            let kv = probe_with(ctx, userns)?;
            let m: Vec<&str> = kv.get("uid_map").split_whitespace().collect();
            check_eq!(m, vec!["0", "100000", "65536"], "uid_map");
            Ok(())
        }),
        case(A, "gidMappings are applied", |ctx| {
            let kv = probe_with(ctx, userns)?;
            let m: Vec<&str> = kv.get("gid_map").split_whitespace().collect();
            check_eq!(m, vec!["0", "200000", "65536"], "gid_map");
            Ok(())
        }),
        case(
            A,
            "user namespace: root in the container is the mapped host uid",
            |ctx| {
                let mut b = Bundle::new(ctx, &["/bin/probe", "sleep", "60"]);
                userns(&mut b.config);
                b.create_ok()?;
                let pid = b.state().and_then(|s| s["pid"].as_i64()).unwrap_or(0);
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let uid = status
                    .lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .unwrap_or("")
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                check_eq!(uid, "100000", "host uid of the container's init");
                Ok(())
            },
        ),
        case(
            A,
            "user namespace: capabilities are full inside it",
            |ctx| {
                let kv = probe_with(ctx, |c| {
                    userns(c);
                    let v = json!(["CAP_SYS_ADMIN", "CAP_CHOWN"]);
                    c["process"]["capabilities"] =
                        json!({"bounding": v, "effective": v, "permitted": v});
                })?;
                check_eq!(kv.get("uid"), "0", "uid inside");
                check!(
                    kv.hex("CapEff") & (1 << 21) != 0,
                    "CAP_SYS_ADMIN not effective: {}",
                    kv.get("CapEff")
                );
                Ok(())
            },
        ),
        case(A, "time namespace with timeOffsets", |ctx| {
            if !ctx.host.timens {
                skip!("kernel has no time namespaces");
            }
            let kv = probe_with(ctx, |c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "time"}));
                c["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 1000, "nanosecs": 0}, "boottime": {"secs": 2000, "nanosecs": 0}});
            })?;
            let off = kv.get("timens_offsets");
            check!(
                off.contains("monotonic")
                    && off.split('|').any(|l| l.starts_with("monotonic")
                        && l.split_whitespace().nth(1) == Some("1000")),
                "timens_offsets: {off}"
            );
            check!(
                kv.get("ns.time") != host_ns("time"),
                "ns.time is the host's"
            );
            Ok(())
        }),
    ]
}

fn sysctl_case(key: &'static str, value: &'static str) -> super::Case {
    case("sysctl", format!("{key} is set"), move |ctx| {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        if !std::path::Path::new(&path).exists() {
            skip!("kernel has no {key}");
        }
        let out = run_with(ctx, &["/bin/probe", "cat", &path], |c| {
            c["linux"]["sysctl"] = json!({key: value})
        })?;
        check_eq!(out.trim(), value, key);
        Ok(())
    })
}

pub fn sysctl() -> Vec<Case> {
    let mut v = vec![
        sysctl_case("kernel.shmmax", "123456789"),
        sysctl_case("kernel.msgmax", "9000"),
        sysctl_case("fs.mqueue.msg_max", "20"),
        sysctl_case("net.ipv4.ip_forward", "1"),
        sysctl_case("net.core.somaxconn", "1234"),
        sysctl_case("kernel.domainname", "sysctl.example"),
    ];
    v.push(case("sysctl", "sysctls do not change the host", |ctx| {
        let before = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap_or_default();
        run_with(ctx, &["/bin/probe", "exit", "0"], |c| {
            c["linux"]["sysctl"] = json!({"kernel.shmmax": "4242424242"})
        })?;
        let after = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap_or_default();
        check_eq!(after, before, "host kernel.shmmax");
        Ok(())
    }));
    v.push(case("sysctl", "several sysctls at once", |ctx| {
        let out = run_with(
            ctx,
            &[
                "/bin/sh",
                "-c",
                "cat /proc/sys/kernel/msgmnb /proc/sys/net/ipv4/tcp_syncookies",
            ],
            |c| {
                c["linux"]["sysctl"] =
                    json!({"kernel.msgmnb": "17000", "net.ipv4.tcp_syncookies": "0"})
            },
        )?;
        let got: Vec<&str> = out.lines().collect();
        check_eq!(got, vec!["17000", "0"], "values");
        Ok(())
    }));
    v
}
