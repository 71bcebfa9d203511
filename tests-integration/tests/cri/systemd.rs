//! The systemd cgroup driver's half (issue #19 item 4): containerd's runc-shim handlers with
//! `SystemdCgroup = true` (the shim then calls the runtime with `--systemd-cgroup`), and the pod
//! cgroups the kubelet makes with `cgroupDriver: systemd`: a slice per pod,
//! `kubepods-burstable-pod<uid>.slice`, sent whole in the sandbox's `cgroup_parent`
//! (`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice`). containerd
//! turns that into the cgroupsPath `kubepods-burstable-pod<uid>.slice:cri-containerd:<id>`, so
//! every container is a transient scope `cri-containerd-<id>.scope` in its pod's slice.
//!
//! Only in the systemd VM (`scripts/test-systemd.sh` sets `RUNR_SYSTEMD_VM=1`): it starts and
//! stops `kubepods*.slice` units of the host's systemd.

use std::path::Path;
use std::process::Command;

/// The top slice the kubelet puts every pod below.
pub const KUBEPODS: &str = "kubepods.slice";

/// Whether this run uses the systemd driver: in the systemd VM only.
pub fn wanted() -> bool {
    std::env::var_os("RUNR_SYSTEMD_VM").is_some() && Path::new("/run/systemd/system").is_dir()
}

/// The kubelet's pod slice for a pod uid (its `-` escaped to `_`, as the kubelet escapes it).
pub fn pod_slice(uid: &str) -> String {
    format!("kubepods-burstable-pod{}.slice", uid.replace('-', "_"))
}

/// A slice's cgroup below the hierarchy root, as systemd nests it: `a-b.slice` is
/// `/a.slice/a-b.slice`.
pub fn slice_path(slice: &str) -> String {
    let stem = slice.trim_end_matches(".slice");
    if stem == "-" || stem.is_empty() {
        return String::new();
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push_str(&format!("/{prefix}.slice"));
    }
    path
}

/// `slice:prefix:name` (what containerd hands the runtime) → (the scope unit, its cgroup).
pub fn scope_of(cgroups_path: &str) -> Result<(String, String), String> {
    let parts: Vec<&str> = cgroups_path.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(format!(
            "cgroupsPath {cgroups_path:?} is not slice:prefix:name"
        ));
    };
    let unit = format!("{prefix}-{name}.scope");
    Ok((unit.clone(), format!("{}/{unit}", slice_path(slice))))
}

/// `systemctl ARGS…`: its stdout, or an error with its stderr.
pub fn systemctl(args: &[&str]) -> Result<String, String> {
    let out = Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|e| format!("systemctl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "systemctl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `systemctl show UNIT -p PROP --value`.
pub fn show(unit: &str, prop: &str) -> String {
    systemctl(&["show", unit, "-p", prop, "--value"]).unwrap_or_else(|e| e)
}

/// The units `systemctl list-units --all` lists whose name contains `needle`.
pub fn units_mentioning(needle: &str) -> Vec<String> {
    systemctl(&["list-units", "--all", "--no-legend", "--plain"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|u| u.contains(needle))
        .map(str::to_string)
        .collect()
}

/// What the kubelet does before RunPodSandbox with the systemd driver: the pod's slice as a
/// transient unit with the pod's limits (StartTransientUnit over the bus, as libcontainer does).
pub fn start_pod_slice(slice: &str, memory: i64, quota_per_sec_us: i64) -> Result<(), String> {
    let out = Command::new("busctl")
        .args([
            "call",
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "StartTransientUnit",
            "ssa(sv)a(sa(sv))",
            slice,
            "replace",
            "3",
            "Description",
            "s",
            "runr CRI test pod",
            "MemoryMax",
            "t",
            &memory.to_string(),
            "CPUQuotaPerSecUSec",
            "t",
            &quota_per_sec_us.to_string(),
            "0",
        ])
        .output()
        .map_err(|e| format!("busctl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "StartTransientUnit {slice}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // The job runs after the call returns: wait for the unit to be active.
    let active = tests_integration::wait_for(30, || show(slice, "ActiveState") == "active");
    if !active {
        return Err(format!("{slice}: {}", show(slice, "ActiveState")));
    }
    Ok(())
}

/// What the kubelet does when a pod is gone: stops its slice (`systemctl stop` waits for the
/// job). Stopping a slice stops whatever is still in it, so leaks are checked before this.
pub fn stop_slices(pattern: &str) -> Result<(), String> {
    systemctl(&["stop", pattern]).map(drop)
}
