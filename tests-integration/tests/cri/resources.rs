//! Resource scenarios: limits in the kubelet's pod cgroup and in the container's, in-place resize
//! (UpdateContainerResources), ContainerStats, OOM. The cgroup files are read on the host, in
//! the v1 hierarchies of a hybrid host (this VM, CI) or the unified tree of a pure v2 host.
//! With the systemd driver the pod cgroup is the kubelet's pod slice and the container's is its
//! scope there; the scope's unit properties (`systemctl show`) are checked beside the files.

use std::path::{Path, PathBuf};

use k8s_cri::v1::*;

use super::client::{container_config, pod_config};
use super::systemd;
use crate::{ensure, Env};

const MIB: i64 = 1024 * 1024;

fn v1() -> bool {
    Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
}

/// A cgroup file of `cgroup` (a path below the hierarchy roots): the v1 file in `controller`'s
/// hierarchy, or the v2 file.
fn file(cgroup: &str, controller: &str, v1_file: &str, v2_file: &str) -> PathBuf {
    let cg = cgroup.trim_start_matches('/');
    if v1() {
        Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(cg)
            .join(v1_file)
    } else {
        Path::new("/sys/fs/cgroup").join(cg).join(v2_file)
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("{}: {e}", path.display()))
}

fn memory_limit(cgroup: &str) -> String {
    read(&file(
        cgroup,
        "memory",
        "memory.limit_in_bytes",
        "memory.max",
    ))
}

/// "quota period", as v2's cpu.max has it.
fn cpu_max(cgroup: &str) -> String {
    if v1() {
        let q = read(&file(cgroup, "cpu", "cpu.cfs_quota_us", ""));
        let p = read(&file(cgroup, "cpu", "cpu.cfs_period_us", ""));
        format!("{q} {p}")
    } else {
        read(&file(cgroup, "cpu", "", "cpu.max"))
    }
}

/// cpu.shares, or v2's cpu.weight converted as runc converts it.
fn cpu_shares_as_written(cgroup: &str, shares: i64) -> (String, String) {
    if v1() {
        (
            read(&file(cgroup, "cpu", "cpu.shares", "")),
            shares.to_string(),
        )
    } else {
        let weight = 1 + ((shares - 2) * 9999) / 262142;
        (
            read(&file(cgroup, "cpu", "", "cpu.weight")),
            weight.to_string(),
        )
    }
}

/// What the kubelet does before RunPodSandbox: the pod's cgroup, with the pod's limits (with
/// the systemd driver: pod `name`'s slice, a transient unit with them).
fn make_pod_cgroup(env: &Env, name: &str, memory: i64, quota: i64) -> Result<(), String> {
    if env.systemd {
        // quota per 100 ms period → systemd's CPUQuotaPerSecUSec.
        return systemd::start_pod_slice(&env.pod_slice(name), memory, quota * 10);
    }
    let parent = &env.cgroup_parent(name);
    let write = |p: PathBuf, v: String| {
        std::fs::create_dir_all(p.parent().unwrap()).map_err(|e| e.to_string())?;
        std::fs::write(&p, v).map_err(|e| format!("{}: {e}", p.display()))
    };
    if v1() {
        write(
            file(parent, "memory", "memory.limit_in_bytes", ""),
            memory.to_string(),
        )?;
        write(
            file(parent, "cpu", "cpu.cfs_quota_us", ""),
            quota.to_string(),
        )?;
    } else {
        // v2: each level hands memory and cpu down, as the kubelet's cgroup manager does.
        let mut cg = String::new();
        for part in parent.trim_start_matches('/').split('/') {
            let here = Path::new("/sys/fs/cgroup").join(&cg);
            let _ = std::fs::write(here.join("cgroup.subtree_control"), "+memory +cpu");
            cg = format!("{cg}/{part}");
            std::fs::create_dir_all(Path::new("/sys/fs/cgroup").join(cg.trim_start_matches('/')))
                .map_err(|e| e.to_string())?;
        }
        write(file(parent, "", "", "memory.max"), memory.to_string())?;
        write(file(parent, "", "", "cpu.max"), format!("{quota} 100000"))?;
    }
    Ok(())
}

/// Container `id`'s cgroupsPath, from the OCI spec containerd generated.
fn cgroups_path(env: &Env, id: &str) -> Result<String, String> {
    let (_, info) = env.cri.status(id)?;
    info["runtimeSpec"]["linux"]["cgroupsPath"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{id}: no cgroupsPath in the spec"))
}

/// Container `id`'s cgroup below the hierarchy roots.
pub fn cgroup_of(env: &Env, id: &str) -> Result<String, String> {
    env.cgroup_dir(&cgroups_path(env, id)?)
}

/// With the systemd driver: container `id`'s scope has these properties (`systemctl show`),
/// in pod `name`'s slice.
pub fn scope_has(env: &Env, id: &str, name: &str, want: &[(&str, &str)]) -> Result<(), String> {
    if !env.systemd {
        return Ok(());
    }
    let path = cgroups_path(env, id)?;
    let (unit, _) = systemd::scope_of(&path)?;
    ensure!(
        unit == format!("cri-containerd-{id}.scope"),
        "cgroupsPath {path}: scope {unit}"
    );
    let slice = env.pod_slice(name);
    let mut props = vec![("Slice", slice.as_str()), ("ActiveState", "active")];
    props.extend_from_slice(want);
    for (prop, value) in props {
        let got = systemd::show(&unit, prop);
        ensure!(got == value, "{unit}: {prop}={got}, want {value}");
    }
    Ok(())
}

fn resources(memory: i64, quota: i64, shares: i64) -> LinuxContainerResources {
    LinuxContainerResources {
        memory_limit_in_bytes: memory,
        cpu_period: if quota > 0 { 100_000 } else { 0 },
        cpu_quota: quota,
        cpu_shares: shares,
        ..Default::default()
    }
}

/// A pod whose one container runs `script` with `res`.
fn pod_with(
    env: &Env,
    name: &str,
    script: &str,
    res: LinuxContainerResources,
) -> Result<(String, String), String> {
    let pc = pod_config(name, &env.cgroup_parent(name), &env.log_dir(name));
    let pod = env.cri.run_pod(&pc, env.handler)?;
    let mut cc = container_config(&pc, "limited", script);
    if let Some(l) = cc.linux.as_mut() {
        l.resources = Some(res);
    }
    let c = env.cri.create_start(&pod, &pc, cc)?;
    Ok((pod, c))
}

pub fn limits_in_cgroups(env: &Env) -> Result<Vec<String>, String> {
    let parent = env.cgroup_parent("limits");
    make_pod_cgroup(env, "limits", 256 * MIB, 200_000)?;
    let (pod, c) = pod_with(
        env,
        "limits",
        "exec sleep 1007",
        resources(64 * MIB, 50_000, 256),
    )?;
    let cg = cgroup_of(env, &c)?;
    ensure!(
        cg.starts_with(&format!("{parent}/")),
        "container cgroup {cg} is not below the pod's {parent}"
    );
    ensure!(
        memory_limit(&cg) == (64 * MIB).to_string(),
        "memory: {}",
        memory_limit(&cg)
    );
    ensure!(cpu_max(&cg) == "50000 100000", "cpu: {}", cpu_max(&cg));
    let (got, want) = cpu_shares_as_written(&cg, 256);
    ensure!(got == want, "cpu shares: {got}, want {want}");
    // runc 1.1.5's shares → weight: 1 + (256 - 2) * 9999 / 262142 = 10.
    scope_has(
        env,
        &c,
        "limits",
        &[
            ("MemoryMax", "67108864"),
            ("CPUQuotaPerSecUSec", "500ms"),
            ("CPUWeight", "10"),
        ],
    )?;
    // The pod's own limits are the kubelet's: the runtime leaves them alone.
    ensure!(
        memory_limit(&parent) == (256 * MIB).to_string(),
        "pod memory: {}",
        memory_limit(&parent)
    );
    // The container's process is in it, and sees its own limit in /sys/fs/cgroup.
    let pid = env.cri.status(&c)?.1["pid"].as_i64().unwrap_or(0);
    let procs = read(&file(&cg, "memory", "cgroup.procs", "cgroup.procs"));
    ensure!(
        procs.lines().any(|l| l == pid.to_string()),
        "pid {pid} not in {cg}: {procs}"
    );
    let inside = if v1() {
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
    } else {
        "cat /sys/fs/cgroup/memory.max"
    };
    let seen = env.cri.sh(&c, inside)?;
    ensure!(
        seen == (64 * MIB).to_string(),
        "inside the container: {seen}"
    );
    // The sandbox's cgroup is below the pod's too.
    let pause_cg = env.sandbox_cgroup(&parent, &pod);
    ensure!(
        file(&pause_cg, "memory", "cgroup.procs", "cgroup.procs").exists(),
        "no sandbox cgroup {pause_cg}"
    );
    env.cri.stop_remove_pod(&pod)?;
    Ok(vec![pod, c])
}

pub fn resize_and_stats(env: &Env) -> Result<Vec<String>, String> {
    let cri = env.cri;
    // A kubelet-made pod cgroup (slice) with limits: resizing a container leaves them alone.
    let parent = env.cgroup_parent("resize");
    make_pod_cgroup(env, "resize", 256 * MIB, 200_000)?;
    let (pod, c) = pod_with(
        env,
        "resize",
        "exec sleep 1008",
        resources(64 * MIB, 50_000, 256),
    )?;
    let cg = cgroup_of(env, &c)?;
    ensure!(
        memory_limit(&cg) == (64 * MIB).to_string(),
        "memory before the resize: {}",
        memory_limit(&cg)
    );
    scope_has(
        env,
        &c,
        "resize",
        &[
            ("MemoryMax", "67108864"),
            ("CPUQuotaPerSecUSec", "500ms"),
            ("CPUWeight", "10"),
        ],
    )?;
    let req = UpdateContainerResourcesRequest {
        container_id: c.clone(),
        linux: Some(resources(128 * MIB, 20_000, 512)),
        ..Default::default()
    };
    cri.call(
        "UpdateContainerResources",
        cri.rs().update_container_resources(req),
    )?;
    ensure!(
        memory_limit(&cg) == (128 * MIB).to_string(),
        "resized memory: {}",
        memory_limit(&cg)
    );
    ensure!(
        cpu_max(&cg) == "20000 100000",
        "resized cpu: {}",
        cpu_max(&cg)
    );
    let (got, want) = cpu_shares_as_written(&cg, 512);
    ensure!(got == want, "resized cpu shares: {got}, want {want}");
    // With systemd the resize goes to the unit too (SetUnitProperties), not only to the files:
    // 1 + (512 - 2) * 9999 / 262142 = 20.
    scope_has(
        env,
        &c,
        "resize",
        &[
            ("MemoryMax", "134217728"),
            ("CPUQuotaPerSecUSec", "200ms"),
            ("CPUWeight", "20"),
        ],
    )?;
    // containerd keeps the new limits in the container's spec (what ContainerStatus shows).
    let (_, info) = cri.status(&c)?;
    let limit = &info["runtimeSpec"]["linux"]["resources"]["memory"]["limit"];
    ensure!(
        limit.as_i64() == Some(128 * MIB),
        "spec memory after resize: {limit}"
    );
    // Stats: some CPU time and memory used by the container, as the kubelet's summary reads them.
    // (a short loop: the container now has 20% of a CPU, and the systemd VM is emulated)
    let (code, _, err) = cri.exec_sync_timeout(
        &c,
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; head -c 8000000 /dev/zero > /dev/shm/fill",
        ],
        120,
    )?;
    ensure!(
        code == 0,
        "the exec that uses CPU and memory: exit {code}: {err}"
    );
    let stats = cri
        .call(
            "ContainerStats",
            cri.rs().container_stats(ContainerStatsRequest {
                container_id: c.clone(),
            }),
        )?
        .stats
        .ok_or("ContainerStats: no stats")?;
    let cpu = stats
        .cpu
        .and_then(|c| c.usage_core_nano_seconds)
        .map(|v| v.value);
    ensure!(cpu.is_some_and(|n| n > 0), "cpu usage {cpu:?}");
    let ws = stats
        .memory
        .and_then(|m| m.working_set_bytes)
        .map(|v| v.value);
    ensure!(ws.is_some_and(|b| b > 0), "working set {ws:?}");
    let id = stats.attributes.map(|a| a.id).unwrap_or_default();
    ensure!(id == c, "stats of {id}, asked for {c}");
    let all = cri.call(
        "ListContainerStats",
        cri.rs()
            .list_container_stats(ListContainerStatsRequest::default()),
    )?;
    ensure!(
        all.stats
            .iter()
            .any(|s| s.attributes.as_ref().is_some_and(|a| a.id == c)),
        "ListContainerStats lacks {c}"
    );
    ensure!(
        memory_limit(&parent) == (256 * MIB).to_string(),
        "pod memory after the resize: {}",
        memory_limit(&parent)
    );
    cri.stop_remove_pod(&pod)?;
    Ok(vec![pod, c])
}

pub fn oom_killed(env: &Env) -> Result<Vec<String>, String> {
    // tail keeps the "line" it reads from /dev/zero: it grows until the 32 MiB limit is hit.
    let (pod, c) = pod_with(env, "oom", "exec tail /dev/zero", resources(32 * MIB, 0, 0))?;
    let st = env.cri.wait_exited(&c, 120)?;
    ensure!(
        st.reason == "OOMKilled" && st.exit_code == 137,
        "OOM: reason {:?} exit {}",
        st.reason,
        st.exit_code
    );
    env.cri.stop_remove_pod(&pod)?;
    Ok(vec![pod, c])
}
