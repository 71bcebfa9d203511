//! config-linux.md `cgroupsPath` and `resources`, one case per field, read back from the
//! host's cgroup files of the created container (v1 hierarchies; fields the host's kernel or
//! cgroup layout lacks are skipped with the reason).

use serde_json::{json, Value};

use super::{case, probe_with, Case};
use crate::harness::{Bundle, Ctx};
use crate::{check, check_eq, fail, skip};

/// Creates a container with `resources` merged into linux.resources and returns the content of
/// `file` in its v1 `controller` cgroup.
fn read_back(
    ctx: &Ctx,
    resources: Value,
    controller: &str,
    file: &str,
) -> Result<String, crate::harness::Why> {
    ctx.host.need_v1_file(controller, file)?;
    let mut b = Bundle::new(ctx, &["/bin/probe", "sleep", "60"]);
    if let Value::Object(m) = resources {
        for (k, v) in m {
            b.config["linux"]["resources"][k] = v;
        }
    }
    b.create_ok()?;
    let p = ctx.host.v1_file(controller, &b.cgroup_path(), file)?;
    match std::fs::read_to_string(&p) {
        Ok(s) => Ok(s.trim().to_string()),
        Err(e) => fail!("{}: {e}", p.display()),
    }
}

fn res(
    area: &'static str,
    name: &'static str,
    resources: Value,
    controller: &'static str,
    file: &'static str,
    want: &'static str,
) -> Case {
    case(area, name, move |ctx| {
        let got = read_back(ctx, resources.clone(), controller, file)?;
        check!(
            got.lines().any(|l| l == want) || got == want,
            "{file}: got {got:?}, want {want:?}"
        );
        Ok(())
    })
}

fn blkio(name: &'static str, field: &'static str, file: &'static str) -> Case {
    case("cgroups/blkio", name, move |ctx| {
        let Some((maj, min)) = ctx.host.block_dev else {
            skip!("no block device on the host");
        };
        let resources =
            json!({"blockIO": {field: [{"major": maj, "minor": min, "rate": 1048576}]}});
        let got = read_back(ctx, resources, "blkio", file)?;
        let want = format!("{maj}:{min} 1048576");
        check!(
            got.lines().any(|l| l == want),
            "{file}: got {got:?}, want {want:?}"
        );
        Ok(())
    })
}

pub fn cgroups() -> Vec<Case> {
    let mem = "cgroups/memory";
    let cpu = "cgroups/cpu";
    vec![
        case(
            "cgroups/path",
            "the process is in cgroupsPath (host view)",
            |ctx| {
                ctx.host.need_v1_file("memory", "cgroup.procs")?;
                let b = Bundle::new(ctx, &["/bin/probe", "sleep", "60"]);
                b.create_ok()?;
                let pid = b.state().and_then(|s| s["pid"].as_i64()).unwrap_or(0);
                let p = ctx
                    .host
                    .v1_file("memory", &b.cgroup_path(), "cgroup.procs")?;
                let procs = std::fs::read_to_string(&p).unwrap_or_default();
                check!(
                    procs.lines().any(|l| l == pid.to_string()),
                    "pid {pid} not in {}: {procs:?}",
                    p.display()
                );
                Ok(())
            },
        ),
        case(
            "cgroups/path",
            "the process is in cgroupsPath (container view)",
            |ctx| {
                let mut b = Bundle::probe(ctx);
                b.config["linux"]["cgroupsPath"] =
                    json!(format!("/{}/view-{}", crate::harness::CGROUP_PARENT, b.id));
                let cg = b.cgroup_path();
                let kv = b.run_kv()?;
                let lines = kv.get("cgroup");
                check!(
                    lines
                        .split('|')
                        .any(|l| l.contains(":memory:") && l.ends_with(&cg))
                        || lines
                            .split('|')
                            .any(|l| l.starts_with("0::") && l.ends_with(&cg)),
                    "/proc/self/cgroup: {lines}"
                );
                Ok(())
            },
        ),
        case(
            "cgroups/path",
            "a relative cgroupsPath is used under a runtime-chosen parent",
            |ctx| {
                let mut b = Bundle::probe(ctx);
                let rel = format!("{}/rel-{}", crate::harness::CGROUP_PARENT, b.id);
                b.config["linux"]["cgroupsPath"] = json!(rel);
                let kv = b.run_kv()?;
                let lines = kv.get("cgroup");
                check!(
                    lines.split('|').any(|l| l.ends_with(&rel)),
                    "/proc/self/cgroup: {lines}"
                );
                Ok(())
            },
        ),
        case("cgroups/path", "the cgroup is removed at delete", |ctx| {
            let b = Bundle::new(ctx, &["/bin/probe", "sleep", "60"]);
            b.create_ok()?;
            let dirs: Vec<_> = b.cgroup_dirs().into_iter().filter(|d| d.exists()).collect();
            check!(!dirs.is_empty(), "no cgroup directory was created");
            check!(b.delete(true).ok(), "delete failed");
            for d in dirs {
                check!(
                    crate::harness::wait_for(30, || !d.exists()),
                    "{} left",
                    d.display()
                );
            }
            Ok(())
        }),
        res(
            mem,
            "limit",
            json!({"memory": {"limit": 67108864}}),
            "memory",
            "memory.limit_in_bytes",
            "67108864",
        ),
        res(
            mem,
            "reservation",
            json!({"memory": {"limit": 67108864, "reservation": 33554432}}),
            "memory",
            "memory.soft_limit_in_bytes",
            "33554432",
        ),
        res(
            mem,
            "swap (memory+swap limit)",
            json!({"memory": {"limit": 67108864, "swap": 134217728}}),
            "memory",
            "memory.memsw.limit_in_bytes",
            "134217728",
        ),
        res(
            mem,
            "swappiness",
            json!({"memory": {"swappiness": 17}}),
            "memory",
            "memory.swappiness",
            "17",
        ),
        res(
            mem,
            "disableOOMKiller",
            json!({"memory": {"limit": 67108864, "disableOOMKiller": true}}),
            "memory",
            "memory.oom_control",
            "oom_kill_disable 1",
        ),
        res(
            mem,
            "kernelTCP",
            json!({"memory": {"kernelTCP": 16777216}}),
            "memory",
            "memory.kmem.tcp.limit_in_bytes",
            "16777216",
        ),
        res(
            cpu,
            "shares",
            json!({"cpu": {"shares": 512}}),
            "cpu",
            "cpu.shares",
            "512",
        ),
        res(
            cpu,
            "quota",
            json!({"cpu": {"quota": 50000, "period": 100000}}),
            "cpu",
            "cpu.cfs_quota_us",
            "50000",
        ),
        res(
            cpu,
            "period",
            json!({"cpu": {"quota": 20000, "period": 200000}}),
            "cpu",
            "cpu.cfs_period_us",
            "200000",
        ),
        res(
            cpu,
            "burst",
            json!({"cpu": {"quota": 50000, "period": 100000, "burst": 10000}}),
            "cpu",
            "cpu.cfs_burst_us",
            "10000",
        ),
        res(
            cpu,
            "idle",
            json!({"cpu": {"idle": 1}}),
            "cpu",
            "cpu.idle",
            "1",
        ),
        case(cpu, "realtimeRuntime and realtimePeriod", |ctx| {
            ctx.host.need_v1_file("cpu", "cpu.rt_runtime_us")?;
            // Directly under the root cgroup, which has a real-time budget to hand out (a fresh
            // intermediate cgroup has none).
            let mut b = Bundle::new(ctx, &["/bin/probe", "sleep", "60"]);
            b.config["linux"]["cgroupsPath"] =
                json!(format!("/{}-rt-{}", crate::harness::CGROUP_PARENT, b.id));
            b.config["linux"]["resources"]["cpu"] =
                json!({"realtimeRuntime": 1000, "realtimePeriod": 1000000});
            b.create_ok()?;
            let p = ctx
                .host
                .v1_file("cpu", &b.cgroup_path(), "cpu.rt_runtime_us")?;
            let got = std::fs::read_to_string(p).unwrap_or_default();
            check_eq!(got.trim(), "1000", "cpu.rt_runtime_us");
            Ok(())
        }),
        res(
            "cgroups/cpuset",
            "cpus",
            json!({"cpu": {"cpus": "0"}}),
            "cpuset",
            "cpuset.cpus",
            "0",
        ),
        res(
            "cgroups/cpuset",
            "mems",
            json!({"cpu": {"mems": "0"}}),
            "cpuset",
            "cpuset.mems",
            "0",
        ),
        case(
            "cgroups/cpuset",
            "cpus limits the process's affinity",
            |ctx| {
                if !ctx.host.v1.contains_key("cpuset") && !ctx.host.pure_v2 {
                    skip!("no cpuset cgroup controller");
                }
                let kv = probe_with(ctx, |c| {
                    c["linux"]["resources"]["cpu"] = json!({"cpus": "0"})
                })?;
                check_eq!(kv.get("Cpus_allowed_list"), "0", "Cpus_allowed_list");
                Ok(())
            },
        ),
        res(
            "cgroups/pids",
            "limit",
            json!({"pids": {"limit": 42}}),
            "pids",
            "pids.max",
            "42",
        ),
        case("cgroups/blkio", "weight", |ctx| {
            let file = if ctx.host.need_v1_file("blkio", "blkio.weight").is_ok() {
                "blkio.weight"
            } else {
                "blkio.bfq.weight"
            };
            let got = read_back(ctx, json!({"blockIO": {"weight": 500}}), "blkio", file)?;
            check!(got.lines().any(|l| l.ends_with("500")), "{file}: {got:?}");
            Ok(())
        }),
        case("cgroups/blkio", "leafWeight", |ctx| {
            let got = read_back(
                ctx,
                json!({"blockIO": {"leafWeight": 300}}),
                "blkio",
                "blkio.leaf_weight",
            )?;
            check_eq!(got, "300", "blkio.leaf_weight");
            Ok(())
        }),
        case("cgroups/blkio", "weightDevice", |ctx| {
            let Some((maj, min)) = ctx.host.block_dev else {
                skip!("no block device on the host");
            };
            let file = if ctx
                .host
                .need_v1_file("blkio", "blkio.weight_device")
                .is_ok()
            {
                "blkio.weight_device"
            } else {
                "blkio.bfq.weight_device"
            };
            let sched = std::fs::read_dir("/sys/block")
                .into_iter()
                .flatten()
                .flatten()
                .find(|e| {
                    std::fs::read_to_string(e.path().join("dev"))
                        .is_ok_and(|d| d.trim() == format!("{maj}:{min}"))
                })
                .and_then(|e| std::fs::read_to_string(e.path().join("queue/scheduler")).ok())
                .unwrap_or_default();
            let active = sched
                .split_whitespace()
                .find(|s| s.starts_with('['))
                .unwrap_or("")
                .trim_matches(|c| c == '[' || c == ']')
                .to_string();
            if file == "blkio.bfq.weight_device" && active != "bfq" {
                skip!("block device {maj}:{min} uses the {active} scheduler, not bfq: no per-device weight");
            }
            let got = read_back(
                ctx,
                json!({"blockIO": {"weightDevice": [{"major": maj, "minor": min, "weight": 400}]}}),
                "blkio",
                file,
            )?;
            check!(got.contains(&format!("{maj}:{min} 400")), "{file}: {got:?}");
            Ok(())
        }),
        blkio(
            "throttleReadBpsDevice",
            "throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
        ),
        blkio(
            "throttleWriteBpsDevice",
            "throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
        ),
        blkio(
            "throttleReadIOPSDevice",
            "throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
        ),
        blkio(
            "throttleWriteIOPSDevice",
            "throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
        ),
        case("cgroups/hugetlb", "hugepageLimits", |ctx| {
            let Some(size) = ctx
                .host
                .hugepage_sizes
                .iter()
                .find(|s| s.as_str() == "2MB")
                .or(ctx.host.hugepage_sizes.first())
                .cloned()
            else {
                skip!("kernel has no huge pages");
            };
            let file: &'static str =
                Box::leak(format!("hugetlb.{size}.limit_in_bytes").into_boxed_str());
            let got = read_back(
                ctx,
                json!({"hugepageLimits": [{"pageSize": size, "limit": 4194304}]}),
                "hugetlb",
                file,
            )?;
            check_eq!(got, "4194304", file);
            Ok(())
        }),
        res(
            "cgroups/network",
            "classID",
            json!({"network": {"classID": 1048577}}),
            "net_cls",
            "net_cls.classid",
            "1048577",
        ),
        res(
            "cgroups/network",
            "priorities",
            json!({"network": {"priorities": [{"name": "lo", "priority": 7}]}}),
            "net_prio",
            "net_prio.ifpriomap",
            "lo 7",
        ),
        case("cgroups/rdma", "rdma limits", |ctx| {
            let got = read_back(
                ctx,
                json!({"rdma": {"mlx5_0": {"hcaHandles": 3, "hcaObjects": 1000}}}),
                "rdma",
                "rdma.max",
            )?;
            check!(got.contains("hca_handle=3"), "rdma.max: {got:?}");
            Ok(())
        }),
        case("cgroups/unified", "unified key/values", |ctx| {
            if !ctx.host.pure_v2 {
                skip!("hybrid cgroup host: linux.resources.unified needs a cgroup v2 host");
            }
            let mut b = Bundle::new(ctx, &["/bin/probe", "sleep", "60"]);
            b.config["linux"]["resources"]["unified"] = json!({"pids.max": "33"});
            b.create_ok()?;
            let p = ctx
                .host
                .unified
                .clone()
                .unwrap()
                .join(b.cgroup_path().trim_start_matches('/'))
                .join("pids.max");
            let got = std::fs::read_to_string(p).unwrap_or_default();
            check_eq!(got.trim(), "33", "pids.max");
            Ok(())
        }),
    ]
}
