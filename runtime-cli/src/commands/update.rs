//! `runr update [flags] ID`: change a running container's resources, as runc does. Either
//! `--resources FILE|-` (OCI LinuxResources JSON; every other flag is then ignored) or the flags;
//! zero or absent means "leave as is". Memory values take runc's sizes (`64m`, `1.5g`, `100MB`:
//! binary multiples) or `-1` for unlimited. The new values are stored with the container.

use std::io::Read;

use oci_spec::runtime::LinuxResources;
use runtime_core::spec::parse_resources;
use runtime_core::Container;

use crate::cli::{flag, Command, FlagError, Parsed};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "update",
    usage: "change a running container's resource limits",
    args_usage: "<container-id>

<container-id> is the name of the container.",
    description:
        "Changes the container's cgroup limits, from --resources (OCI linux.resources JSON;
the other flags are then ignored) or from the flags. A zero or absent value
leaves a limit as it is, but a pids limit of 0 is a limit (runc 1.4: pids.max 1);
-1 lifts a memory or pids limit. Sizes take suffixes
(64m, 1.5g, 100MB: powers of 1024).",
    flags: &[
        flag(
            &["resources", "r"],
            "a file with the linux.resources JSON to apply, or - for the standard input",
        ),
        flag(&["blkio-weight"], "block I/O weight, 10 to 1000").with_default("0"),
        flag(
            &["cpu-period"],
            "CPU CFS period in microseconds (0: the system default)",
        ),
        flag(
            &["cpu-quota"],
            "CPU CFS quota in microseconds: the CPU time allowed per period",
        ),
        flag(
            &["cpu-burst"],
            "CPU CFS burst in microseconds: CPU time a period may borrow from unused quota",
        ),
        flag(
            &["cpu-share"],
            "CPU shares: the weight against other cgroups",
        ),
        flag(
            &["cpu-rt-period"],
            "real-time period in microseconds (0: the system default)",
        ),
        flag(
            &["cpu-rt-runtime"],
            "real-time runtime in microseconds: the real-time CPU time allowed per period",
        ),
        flag(&["cpuset-cpus"], "the CPUs to run on (0-3,5)"),
        flag(&["cpuset-mems"], "the memory nodes to allocate from"),
        flag(&["kernel-memory"], "(obsolete, ignored)").hidden(),
        flag(&["kernel-memory-tcp"], "(obsolete, ignored)").hidden(),
        flag(&["memory"], "memory limit in bytes (-1: unlimited)"),
        flag(
            &["cpu-idle"],
            "the cgroup's SCHED_IDLE: 1 runs it at idle priority, 0 as normal",
        ),
        flag(
            &["memory-reservation"],
            "memory reservation (soft limit) in bytes",
        ),
        flag(
            &["memory-swap"],
            "memory plus swap limit in bytes (-1: unlimited swap)",
        ),
        flag(
            &["pids-limit"],
            "the most processes the container may have (-1: no limit)",
        )
        .with_default("0"),
        flag(&["l3-cache-schema"], "Intel RDT/CAT L3 cache schema"),
        flag(&["mem-bw-schema"], "Intel RDT/MBA memory bandwidth schema"),
    ],
    reorder: true,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    // Go's integer flags fail while parsing, before anything else.
    let blkio_weight = go_int(p, "blkio-weight")?;
    let pids_limit = go_int(p, "pids-limit")?;
    let mut c = Container::load(&g.root, p.id("update")?)?;
    let res = match p.value("resources") {
        Some(path) => read_resources(path)?,
        None => from_flags(p, blkio_weight, pids_limit)?,
    };
    // runc still parses these sizes, then ignores them with a warning (kernels dropped v1 kmem).
    let mut kernel_memory = 0;
    for flag in ["kernel-memory", "kernel-memory-tcp"] {
        if let Some(v) = p.value(flag).filter(|v| !v.is_empty()) {
            kernel_memory |= memory_size(flag, v)?;
        }
    }
    if kernel_memory != 0 {
        g.log
            .warn("Kernel memory settings are ignored and will be removed");
    }
    // Checked before anything changes, as runc checks them before its Set.
    c.update_intel_rdt(p.value("l3-cache-schema"), p.value("mem-bw-schema"))?;
    c.update(&res)?;
    Ok(0)
}

fn go_int(p: &Parsed, name: &str) -> Result<i64, FlagError> {
    p.value(name)
        .map(|v| {
            parse_go_int(v).ok_or_else(|| {
                FlagError(format!("invalid value {v:?} for flag -{name}: parse error"))
            })
        })
        .transpose()
        .map(|v| v.unwrap_or(0))
}

/// Go's `strconv.ParseInt(s, 0, 64)`: decimal, 0x hex, 0o/0 octal, 0b binary, `_` separators.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    let digits = if radix == 10 {
        digits
    } else {
        digits.replace('_', "")
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let v = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn read_resources(path: &str) -> anyhow::Result<LinuxResources> {
    let mut raw = Vec::new();
    if path == "-" {
        std::io::stdin().read_to_end(&mut raw)?;
    } else {
        raw = std::fs::read(path).map_err(|e| anyhow::anyhow!("open {path}: {e}"))?;
    }
    parse_resources(&raw).map_err(|e| {
        let place = if path == "-" { "stdin" } else { path };
        anyhow::anyhow!("decode resources from {place}: {}: {}", e.path(), e.inner())
    })
}

fn from_flags(p: &Parsed, blkio_weight: i64, pids_limit: i64) -> anyhow::Result<LinuxResources> {
    let mut json = serde_json::json!({"memory": {}, "cpu": {}, "blockIO": {}});
    // runc 1.4: --pids-limit given (0 included) is applied; absent, the limit is left alone.
    if p.value("pids-limit").is_some() {
        json["pids"] = serde_json::json!({ "limit": pids_limit });
    }
    if blkio_weight != 0 {
        json["blockIO"]["weight"] = (blkio_weight as u16).into();
    }
    for (flag, key) in [("cpuset-cpus", "cpus"), ("cpuset-mems", "mems")] {
        if let Some(v) = p.value(flag).filter(|v| !v.is_empty()) {
            json["cpu"][key] = v.into();
        }
    }
    if let Some(v) = p.value("cpu-idle").filter(|v| !v.is_empty()) {
        let n: i64 = v.parse().map_err(|_| {
            anyhow::anyhow!(
                "invalid value for cpu-idle: strconv.ParseInt: parsing {v:?}: invalid syntax"
            )
        })?;
        json["cpu"]["idle"] = n.into();
    }
    for (flag, key) in [
        ("cpu-burst", "burst"),
        ("cpu-period", "period"),
        ("cpu-rt-period", "realtimePeriod"),
        ("cpu-share", "shares"),
    ] {
        if let Some(v) = p.value(flag).filter(|v| !v.is_empty()) {
            let n: u64 = v.parse().map_err(|_| {
                anyhow::anyhow!(
                    "invalid value for {flag}: strconv.ParseUint: parsing {v:?}: invalid syntax"
                )
            })?;
            json["cpu"][key] = n.into();
        }
    }
    for (flag, key) in [
        ("cpu-quota", "quota"),
        ("cpu-rt-runtime", "realtimeRuntime"),
    ] {
        if let Some(v) = p.value(flag).filter(|v| !v.is_empty()) {
            let n: i64 = v.parse().map_err(|_| {
                anyhow::anyhow!(
                    "invalid value for {flag}: strconv.ParseInt: parsing {v:?}: invalid syntax"
                )
            })?;
            json["cpu"][key] = n.into();
        }
    }
    for (flag, key) in [
        ("memory", "limit"),
        ("memory-swap", "swap"),
        ("memory-reservation", "reservation"),
    ] {
        if let Some(v) = p.value(flag).filter(|v| !v.is_empty()) {
            json["memory"][key] = memory_size(flag, v)?.into();
        }
    }
    Ok(parse_resources(&serde_json::to_vec(&json)?)?)
}

/// A memory flag's value: `-1` (unlimited) or a go-units size.
fn memory_size(flag: &str, v: &str) -> anyhow::Result<i64> {
    if v == "-1" {
        return Ok(-1);
    }
    ram_in_bytes(v).ok_or_else(|| anyhow::anyhow!("invalid value for {flag}: invalid size: '{v}'"))
}

/// go-units `RAMInBytes`: a decimal number, an optional space, then an optional unit
/// (k, m, g, t, p: powers of 1024) followed by an optional `i` and `b`, case-insensitive.
fn ram_in_bytes(s: &str) -> Option<i64> {
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, rest) = s.split_at(num_end);
    if num.is_empty() || !num.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let mut chars = rest.chars().peekable();
    let mult: f64 = match chars.peek().map(|c| c.to_ascii_lowercase()) {
        Some(u @ ('k' | 'm' | 'g' | 't' | 'p')) => {
            chars.next();
            let power = "kmgtp".find(u).unwrap_or(0) as i32 + 1;
            1024f64.powi(power)
        }
        _ => 1.0,
    };
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'i')) {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'b')) {
        chars.next();
    }
    if chars.next().is_some() {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    Some((value * mult) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_go_units() {
        assert_eq!(ram_in_bytes("64m"), Some(64 << 20));
        assert_eq!(ram_in_bytes("100MB"), Some(100 << 20));
        assert_eq!(ram_in_bytes("1.5g"), Some(1_610_612_736));
        assert_eq!(ram_in_bytes("70000000"), Some(70_000_000));
        assert_eq!(ram_in_bytes("2 KiB"), Some(2048));
        assert_eq!(ram_in_bytes("abc"), None);
        assert_eq!(ram_in_bytes("-2"), None);
        assert_eq!(ram_in_bytes("1.2.3"), None);
        assert_eq!(ram_in_bytes("5x"), None);
    }

    #[test]
    fn go_integers() {
        assert_eq!(parse_go_int("50"), Some(50));
        assert_eq!(parse_go_int("-1"), Some(-1));
        assert_eq!(parse_go_int("0x10"), Some(16));
        assert_eq!(parse_go_int("x"), None);
        assert_eq!(parse_go_int(""), None);
    }
}
