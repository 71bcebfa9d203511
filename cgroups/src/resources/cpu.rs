//! cpu and cpuset: shares, quota, period, burst, realtimeRuntime/Period, idle, cpus, mems.
//!
//! v1 (runc fs/cpu.go): cpu.shares is read back and a kernel clamp is an error; the period is
//! written before the quota, and if the kernel refuses a smaller period (EINVAL, because the
//! old quota/new period would exceed the parent) it is retried after the quota. Burst
//! (cpu.cfs_burst_us) gets the same treatment relative to the quota.
//!
//! v2 (runc fs2/cpu.go): cpu.weight = 1 + ((shares − 2) × 9999) / 262142 (runc 1.1.5's
//! formula); cpu.max = "<quota|max> [period]" written when either is set; cpu.max.burst;
//! cpu.idle. Realtime settings do not exist on v2 and are refused.
//!
//! cpuset on v1: a new cgroup starts with empty cpuset.cpus/mems, which would make adding a
//! task fail with ENOSPC, so `create` copies the parent's values down every new level.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::error::{Error, Result};
use crate::fs::CgDir;
use crate::resources::Target;
use crate::Manager;

fn nz_i(v: Option<i64>) -> i64 {
    v.unwrap_or(0)
}
fn nz_u(v: Option<u64>) -> u64 {
    v.unwrap_or(0)
}

pub(crate) fn first_set_cpu(c: &LinuxCpu) -> Option<&'static str> {
    if nz_u(c.shares()) != 0 {
        Some("cpu.shares")
    } else if nz_i(c.quota()) != 0 {
        Some("cpu.quota")
    } else if nz_u(c.period()) != 0 {
        Some("cpu.period")
    } else if c.burst().is_some() {
        Some("cpu.burst")
    } else if nz_i(c.realtime_runtime()) != 0 {
        Some("cpu.realtimeRuntime")
    } else if nz_u(c.realtime_period()) != 0 {
        Some("cpu.realtimePeriod")
    } else if c.idle().is_some() {
        Some("cpu.idle")
    } else {
        None
    }
}

pub(crate) fn first_set_cpuset(c: &LinuxCpu) -> Option<&'static str> {
    if c.cpus().as_ref().is_some_and(|s| !s.is_empty()) {
        Some("cpu.cpus")
    } else if c.mems().as_ref().is_some_and(|s| !s.is_empty()) {
        Some("cpu.mems")
    } else {
        None
    }
}

pub(crate) fn validate(m: &Manager, c: &LinuxCpu) -> Result<()> {
    if let Some(Target::V2(_)) = m.target("cpu") {
        for (set, field) in [
            (nz_i(c.realtime_runtime()) != 0, "cpu.realtimeRuntime"),
            (nz_u(c.realtime_period()) != 0, "cpu.realtimePeriod"),
        ] {
            if set {
                return Err(Error::Unsupported {
                    field: field.into(),
                    layout: m.layout,
                    reason: "cgroup v2 has no realtime CPU bandwidth (cpu.rt_*) files".into(),
                });
            }
        }
    }
    Ok(())
}

/// runc 1.1.5's `ConvertCPUSharesToCgroupV2Value`.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262142
}

pub(crate) fn set_v1(d: CgDir<'_>, c: &LinuxCpu) -> Result<()> {
    let shares = nz_u(c.shares());
    if shares != 0 {
        d.write("cpu.shares", &shares.to_string())?;
        let actual = d.read_u64("cpu.shares")?;
        if actual != shares {
            return Err(Error::CpuSharesClamped {
                path: d.file("cpu.shares"),
                requested: shares,
                actual,
                bound: if shares > actual {
                    "maximum"
                } else {
                    "minimum"
                },
            });
        }
    }
    let quota = nz_i(c.quota());
    let mut retry_period = None;
    let period = nz_u(c.period());
    if period != 0 {
        let v = period.to_string();
        match d.write("cpu.cfs_period_us", &v) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && quota != 0 => {
                retry_period = Some(v)
            }
            other => other?,
        }
    }
    let mut retry_burst = None;
    if let Some(b) = c.burst() {
        let v = b.to_string();
        match d.write("cpu.cfs_burst_us", &v) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && quota != 0 => retry_burst = Some(v),
            other => other?,
        }
    }
    if quota != 0 {
        d.write("cpu.cfs_quota_us", &quota.to_string())?;
        if let Some(v) = retry_period {
            d.write("cpu.cfs_period_us", &v)?;
        }
        if let Some(v) = retry_burst {
            d.write("cpu.cfs_burst_us", &v)?;
        }
    }
    set_rt(d, c)?;
    if let Some(idle) = c.idle() {
        d.write("cpu.idle", &idle.to_string())?;
    }
    Ok(())
}

/// Realtime bandwidth (v1 only). runc writes these also before moving a task in.
pub(crate) fn set_rt(d: CgDir<'_>, c: &LinuxCpu) -> Result<()> {
    let period = nz_u(c.realtime_period());
    if period != 0 {
        d.write("cpu.rt_period_us", &period.to_string())?;
    }
    let runtime = nz_i(c.realtime_runtime());
    if runtime != 0 {
        d.write("cpu.rt_runtime_us", &runtime.to_string())?;
    }
    Ok(())
}

pub(crate) fn set_v2(d: CgDir<'_>, c: &LinuxCpu) -> Result<()> {
    if let Some(idle) = c.idle() {
        d.write("cpu.idle", &idle.to_string())?;
    }
    let weight = shares_to_weight(nz_u(c.shares()));
    if weight != 0 {
        d.write("cpu.weight", &weight.to_string())?;
    }
    let quota = nz_i(c.quota());
    let period = nz_u(c.period());
    let mut retry_burst = None;
    if let Some(b) = c.burst() {
        let v = b.to_string();
        match d.write("cpu.max.burst", &v) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && quota != 0 => retry_burst = Some(v),
            other => other?,
        }
    }
    if quota != 0 || period != 0 {
        let mut v = if quota > 0 {
            quota.to_string()
        } else {
            "max".to_string()
        };
        if period != 0 {
            v.push(' ');
            v.push_str(&period.to_string());
        }
        d.write("cpu.max", &v)?;
        if let Some(b) = retry_burst {
            d.write("cpu.max.burst", &b)?;
        }
    }
    Ok(())
}

/// cpuset.cpus / cpuset.mems (same files on v1 and v2).
pub(crate) fn set_cpuset(d: CgDir<'_>, c: &LinuxCpu) -> Result<()> {
    if let Some(cpus) = c.cpus().as_ref().filter(|s| !s.is_empty()) {
        d.write("cpuset.cpus", cpus)?;
    }
    if let Some(mems) = c.mems().as_ref().filter(|s| !s.is_empty()) {
        d.write("cpuset.mems", mems)?;
    }
    Ok(())
}

/// v1: fill empty cpuset.cpus/mems from the parent, for every level from the mount down to
/// `dir` (runc's cpuset `ensureParent`/`copyIfNeeded`).
pub(crate) fn cpuset_copy_down(m: &Manager, mount: &Path, dir: &Path) -> Result<()> {
    let Ok(rel) = dir.strip_prefix(mount) else {
        return Ok(());
    };
    let mut parent = mount.to_path_buf();
    for comp in rel.components() {
        let child = parent.join(comp);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let cur = crate::fs::read(&child.join(file)).unwrap_or_default();
            if cur.trim().is_empty() {
                let from = crate::fs::read(&parent.join(file)).unwrap_or_default();
                let from = from.trim();
                if !from.is_empty() {
                    m.cg(&child).write(file, from)?;
                }
            }
        }
        parent = child;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_formula_matches_runc_1_1_5() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(512), 20);
        assert_eq!(shares_to_weight(262144), 10000);
    }
}
