//! memory: limit, reservation, swap, swappiness, disableOOMKiller, checkBeforeUpdate.
//!
//! v1 (runc fs/memory.go): `memory.memsw.limit_in_bytes` is memory+swap. When both limit and
//! swap are set and the new swap is -1 or above the *current* limit, swap is written first,
//! else the limit first (the kernel requires memsw ≥ limit at every step). limit -1 with no
//! swap means swap -1 too (when the kernel has swap accounting).
//!
//! v2 (runc fs2/memory.go): `memory.swap.max` is swap only = swap − limit; -1 → "max";
//! limit == swap → "0"; a missing memory.swap.max is ignored for "max"/"0".

use oci_spec::runtime::LinuxMemory;

use crate::error::{Error, Result};
use crate::fs::CgDir;
use crate::{Layout, Manager};

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

fn nz(v: Option<i64>) -> i64 {
    v.unwrap_or(0)
}

pub(crate) fn first_set(m: &LinuxMemory) -> Option<&'static str> {
    if nz(m.limit()) != 0 {
        Some("memory.limit")
    } else if nz(m.reservation()) != 0 {
        Some("memory.reservation")
    } else if nz(m.swap()) != 0 {
        Some("memory.swap")
    } else if m.swappiness().is_some() {
        Some("memory.swappiness")
    } else if m.disable_oom_killer() == Some(true) {
        Some("memory.disableOOMKiller")
    } else {
        None
    }
}

pub(crate) fn validate(m: &Manager, mem: &LinuxMemory) -> Result<()> {
    if let Some(s) = mem.swappiness() {
        if s > 100 && m.layout != Layout::Unified {
            return Err(Error::InvalidResource {
                field: "memory.swappiness".into(),
                reason: format!("invalid memory swappiness value: {s} (valid range is 0-100)"),
            });
        }
    }
    if m.layout == Layout::Unified {
        swap_v2(nz(mem.swap()), nz(mem.limit()))?;
    }
    Ok(())
}

pub(crate) fn set_v1(d: CgDir<'_>, mem: &LinuxMemory) -> Result<()> {
    let limit = nz(mem.limit());
    let mut swap = nz(mem.swap());
    if limit == -1 && swap == 0 && d.exists(MEMSW) {
        swap = -1;
    }
    let mut done = false;
    if limit != 0 && swap != 0 {
        let cur = d.read_u64(LIMIT)?;
        if swap == -1 || cur < swap as u64 {
            write_v1_swap(d, swap)?;
            write_v1_limit(d, limit)?;
            done = true;
        }
    }
    if !done {
        write_v1_limit(d, limit)?;
        write_v1_swap(d, swap)?;
    }
    // memory.kernel / kernelTCP are ignored, as in runc 1.1.5 (deprecated by the kernel).
    if let Some(r) = mem.reservation().filter(|&r| r != 0) {
        d.write("memory.soft_limit_in_bytes", &r.to_string())?;
    }
    if mem.disable_oom_killer() == Some(true) {
        d.write("memory.oom_control", "1")?;
    }
    if let Some(s) = mem.swappiness() {
        d.write("memory.swappiness", &s.to_string())?;
    }
    Ok(())
}

fn write_v1_limit(d: CgDir<'_>, limit: i64) -> Result<()> {
    if limit == 0 {
        return Ok(());
    }
    match d.write(LIMIT, &limit.to_string()) {
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Err(Error::MemoryBelowUsage {
            path: d.file(LIMIT),
            limit,
            usage: d.read_u64("memory.usage_in_bytes").unwrap_or(0),
            peak: d.read_u64("memory.max_usage_in_bytes").unwrap_or(0),
        }),
        other => other,
    }
}

fn write_v1_swap(d: CgDir<'_>, swap: i64) -> Result<()> {
    if swap == 0 {
        return Ok(());
    }
    d.write(MEMSW, &swap.to_string())
}

/// runc's `ConvertMemorySwapToCgroupV2Value`: OCI memory+swap → v2 swap-only.
pub(crate) fn swap_v2(swap: i64, limit: i64) -> Result<i64> {
    let invalid = |reason: String| Error::InvalidResource {
        field: "memory.swap".into(),
        reason,
    };
    if limit == -1 && swap == 0 {
        return Ok(-1);
    }
    if swap == -1 || swap == 0 {
        return Ok(swap);
    }
    if limit == 0 || limit == -1 {
        return Err(invalid(
            "unable to set swap limit without memory limit".into(),
        ));
    }
    if limit < 0 {
        return Err(invalid(format!("invalid memory value: {limit}")));
    }
    if swap < limit {
        return Err(invalid(format!(
            "memory+swap limit ({swap}) should be >= memory limit ({limit})"
        )));
    }
    Ok(swap - limit)
}

/// runc's `numToStr`: 0 → unset, -1 → "max".
fn num_to_str(v: i64) -> Option<String> {
    match v {
        0 => None,
        -1 => Some("max".into()),
        v => Some(v.to_string()),
    }
}

pub(crate) fn set_v2(d: CgDir<'_>, mem: &LinuxMemory) -> Result<()> {
    let limit = nz(mem.limit());
    let swap_in = nz(mem.swap());
    let reservation = nz(mem.reservation());
    if limit == 0 && swap_in == 0 && reservation == 0 {
        // swappiness and disableOOMKiller have no v2 file (runc ignores them too).
        return Ok(());
    }
    if mem.check_before_update() == Some(true) && limit > 0 {
        if let Ok(usage) = d.read_u64("memory.current") {
            if usage > limit as u64 {
                return Err(Error::MemoryBelowUsage {
                    path: d.file("memory.max"),
                    limit,
                    usage,
                    peak: d.read_u64("memory.peak").unwrap_or(0),
                });
            }
        }
    }
    let swap = swap_v2(swap_in, limit)?;
    let mut swap_str = num_to_str(swap);
    if swap_str.is_none() && swap == 0 && swap_in > 0 {
        // memory and memory+swap set to the same value: no swap.
        swap_str = Some("0".into());
    }
    if let Some(s) = swap_str {
        match d.write("memory.swap.max", &s) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && (s == "max" || s == "0") => {}
            other => other?,
        }
    }
    if let Some(v) = num_to_str(limit) {
        d.write("memory.max", &v)?;
    }
    if let Some(v) = num_to_str(reservation) {
        d.write("memory.low", &v)?;
    }
    Ok(())
}
