//! linux.resources and `org.systemd.property.*` annotations → systemd unit properties, with
//! runc's conversions (libcontainer/cgroups/systemd: genV1/genV2ResourcesProperties,
//! addCPUQuota, addCpuset, RangeToBits, unifiedResToSystemdProps, the devices translation, and
//! specconv's initSystemdProps for annotations). The same values are then also written to the
//! cgroup files by the cgroupfs code, as runc does, for everything systemd does not cover.

use std::collections::HashMap;

use oci_spec::runtime::LinuxResources;

use super::wire::Value;
use crate::error::{Error, Result};
use crate::resources::devices::{self, Rule};
use crate::Layout;

/// One unit property.
pub(crate) type Prop = (String, Value);

fn prop(name: &str, v: Value) -> Prop {
    (name.to_string(), v)
}

/// systemd's USEC_INFINITY / "infinity" for sizes and counts.
const INFINITY: u64 = u64::MAX;
/// The kernel's default CFS period, which runc assumes when only a quota is given.
const DEFAULT_PERIOD: u64 = 100_000;
/// systemd versions that introduced properties runc sets conditionally.
const CPU_QUOTA_PERIOD_SINCE: u32 = 242;
const ALLOWED_CPUS_SINCE: u32 = 244;

/// The resource properties for `res` (v1: MemoryLimit, CPUShares, BlockIOWeight; v2:
/// MemoryMax/Low/SwapMax, CPUWeight; both: CPU quota, TasksMax, AllowedCPUs/MemoryNodes,
/// devices unless `update`). `version` is systemd's (0 if unknown).
pub(crate) fn resources(
    layout: Layout,
    version: u32,
    res: &LinuxResources,
    update: bool,
) -> Result<Vec<Prop>> {
    let mut out = Vec::new();
    if !update {
        if let Some(list) = res.devices() {
            out.extend(device_properties(&devices::rules(list)?));
        }
    }
    let v2 = layout == Layout::Unified;
    if let Some(m) = res.memory() {
        let limit = m.limit().unwrap_or(0);
        if limit != 0 {
            let name = if v2 { "MemoryMax" } else { "MemoryLimit" };
            out.push(prop(name, Value::U64(limit as u64)));
        }
        let reservation = m.reservation().unwrap_or(0);
        if v2 && reservation != 0 {
            out.push(prop("MemoryLow", Value::U64(reservation as u64)));
        }
        if v2 {
            let swap = crate::resources::memory::swap_v2(m.swap().unwrap_or(0), limit)?;
            if swap != 0 {
                out.push(prop("MemorySwapMax", Value::U64(swap as u64)));
            }
        }
    }
    if let Some(c) = res.cpu() {
        let shares = c.shares().unwrap_or(0);
        if shares != 0 {
            let (name, v) = if v2 {
                ("CPUWeight", crate::resources::cpu::shares_to_weight(shares))
            } else {
                ("CPUShares", shares)
            };
            out.push(prop(name, Value::U64(v)));
        }
        out.extend(cpu_quota(version, c.quota().unwrap_or(0), c.period().unwrap_or(0)).0);
        out.extend(cpuset(version, c.cpus().as_deref(), c.mems().as_deref())?);
    }
    if !v2 {
        if let Some(w) = res
            .block_io()
            .as_ref()
            .and_then(|b| b.weight())
            .filter(|w| *w != 0)
        {
            out.push(prop("BlockIOWeight", Value::U64(u64::from(w))));
        }
    }
    if let Some(p) = res.pids() {
        // runc 1.4: negative is infinity, 0 a real limit that systemd only takes as 1.
        let tasks = match p.limit() {
            l if l < 0 => INFINITY,
            l => l.unsigned_abs().max(1),
        };
        out.push(prop("TasksMax", Value::U64(tasks)));
    }
    if v2 {
        if let Some(u) = res.unified() {
            out.extend(unified(version, u)?);
        }
    }
    Ok(out)
}

/// runc's addCPUQuota: CPUQuotaPeriodUSec (systemd ≥ 242) and CPUQuotaPerSecUSec, the
/// latter rounded *up* to whole percents (systemd keeps a percentage), and the quota that
/// rounding implies, for the cgroup file (runc 1.2+ writes that one too, so the file and the
/// unit agree). Returns the properties and the (possibly raised) quota.
pub(crate) fn cpu_quota(version: u32, quota: i64, period: u64) -> (Vec<Prop>, i64) {
    let mut out = Vec::new();
    let mut quota_out = quota;
    if period != 0 && version >= CPU_QUOTA_PERIOD_SINCE {
        out.push(prop("CPUQuotaPeriodUSec", Value::U64(period)));
    }
    if quota != 0 || period != 0 {
        let mut per_sec = INFINITY;
        if quota > 0 {
            let period = if period == 0 { DEFAULT_PERIOD } else { period };
            per_sec = (quota as u64).saturating_mul(1_000_000) / period;
            if !per_sec.is_multiple_of(10_000) {
                per_sec = (per_sec / 10_000 + 1) * 10_000;
                quota_out = (per_sec * period / 1_000_000) as i64;
            }
        }
        out.push(prop("CPUQuotaPerSecUSec", Value::U64(per_sec)));
    }
    (out, quota_out)
}

fn cpuset(version: u32, cpus: Option<&str>, mems: Option<&str>) -> Result<Vec<Prop>> {
    let mut out = Vec::new();
    if version < ALLOWED_CPUS_SINCE {
        // runc: too old for AllowedCPUs; the cgroup files still get the values.
        return Ok(out);
    }
    for (value, name, field) in [
        (cpus, "AllowedCPUs", "cpu.cpus"),
        (mems, "AllowedMemoryNodes", "cpu.mems"),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            let bits = range_to_bits(v).map_err(|reason| Error::InvalidResource {
                field: field.into(),
                reason: format!("{v:?}: {reason}"),
            })?;
            out.push(prop(name, Value::Bytes(bits)));
        }
    }
    Ok(out)
}

/// runc's RangeToBits: "0-2,7" → a little-endian bit mask ([0b1000_0111]), as systemd takes
/// AllowedCPUs and AllowedMemoryNodes.
pub(crate) fn range_to_bits(list: &str) -> std::result::Result<Vec<u8>, String> {
    let mut bits: Vec<u8> = Vec::new();
    let mut set = |i: u32| {
        let byte = (i / 8) as usize;
        if bits.len() <= byte {
            bits.resize(byte + 1, 0);
        }
        bits[byte] |= 1 << (i % 8);
    };
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |s: &str| s.trim().parse::<u32>().map_err(|e| format!("{s:?}: {e}"));
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("invalid range: {part}"));
                }
                if b > 1 << 16 {
                    return Err(format!("{b} is out of range"));
                }
                (a..=b).for_each(&mut set);
            }
            None => set(num(part)?),
        }
    }
    if bits.is_empty() {
        return Err("empty value".into());
    }
    Ok(bits)
}

/// runc's unifiedResToSystemdProps: the linux.resources.unified keys systemd has a property
/// for (the rest are only written to the files).
fn unified(version: u32, u: &HashMap<String, String>) -> Result<Vec<Prop>> {
    let mut out = Vec::new();
    // (HashMap order: the properties are independent of each other.)
    for (k, v) in u {
        let v = v.trim();
        let bad = |reason: String| Error::InvalidResource {
            field: format!("unified.{k}"),
            reason,
        };
        let num = |s: &str| -> Result<u64> {
            if s == "max" {
                return Ok(INFINITY);
            }
            s.parse::<u64>().map_err(|e| bad(format!("{s:?}: {e}")))
        };
        match k.as_str() {
            "cpu.weight" => out.push(prop("CPUWeight", Value::U64(num(v)?))),
            "cpu.max" => {
                let f: Vec<&str> = v.split_whitespace().collect();
                if f.is_empty() || f.len() > 2 {
                    return Err(bad(format!("invalid value {v:?}")));
                }
                let quota = if f[0] == "max" {
                    0
                } else {
                    f[0].parse::<i64>()
                        .map_err(|e| bad(format!("{v:?}: {e}")))?
                };
                let period = match f.get(1) {
                    Some(p) => p.parse::<u64>().map_err(|e| bad(format!("{v:?}: {e}")))?,
                    None => DEFAULT_PERIOD,
                };
                out.extend(cpu_quota(version, quota, period).0);
            }
            "cpuset.cpus" | "cpuset.mems" if version >= ALLOWED_CPUS_SINCE => {
                let name = if k == "cpuset.cpus" {
                    "AllowedCPUs"
                } else {
                    "AllowedMemoryNodes"
                };
                let bits = range_to_bits(v).map_err(|r| bad(format!("{v:?}: {r}")))?;
                out.push(prop(name, Value::Bytes(bits)));
            }
            "memory.high" | "memory.low" | "memory.min" | "memory.max" | "memory.swap.max" => {
                let name = match k.as_str() {
                    "memory.high" => "MemoryHigh",
                    "memory.low" => "MemoryLow",
                    "memory.min" => "MemoryMin",
                    "memory.max" => "MemoryMax",
                    _ => "MemorySwapMax",
                };
                out.push(prop(name, Value::U64(num(v)?)));
            }
            // systemd does not take TasksMax=0.
            "pids.max" => out.push(prop("TasksMax", Value::U64(num(v)?.max(1)))),
            _ => {}
        }
    }
    Ok(out)
}

/// runc's systemd device translation: systemd has only an allow-list (DevicePolicy=strict
/// plus DeviceAllow entries). The rules are replayed like the kernel's v1 devices controller
/// (runc's devices emulator); a final deny-by-default list maps entry by entry ("char-*" for
/// a wildcard major, "char-<group>" from /proc/devices for a wildcard minor,
/// /dev/char/M:m otherwise); a final allow-by-default list can only be expressed when it has no
/// exceptions (DevicePolicy=auto), otherwise runc asks systemd for deny-all and leaves the real
/// rules to its own filter, and so does runr.
pub(crate) fn device_properties(rules: &[Rule]) -> Vec<Prop> {
    let (allow_all, list) = emulate(rules);
    if allow_all {
        if list.is_empty() {
            return vec![
                prop("DevicePolicy", Value::Str("auto".into())),
                prop("DeviceAllow", Value::PairArray(Vec::new())),
            ];
        }
        return vec![
            prop("DevicePolicy", Value::Str("strict".into())),
            prop("DeviceAllow", Value::PairArray(Vec::new())),
        ];
    }
    let groups = std::fs::read_to_string("/proc/devices").unwrap_or_default();
    let mut entries = Vec::new();
    for r in list {
        let kind = if r.typ == 'b' { "block" } else { "char" };
        let path = match (r.major, r.minor) {
            (None, _) => format!("{kind}-*"),
            (Some(maj), None) => match device_group(&groups, r.typ, maj) {
                Some(name) => format!("{kind}-{name}"),
                // runc skips a group it cannot name (its own filter still allows it).
                None => continue,
            },
            (Some(maj), Some(min)) => format!("/dev/{kind}/{maj}:{min}"),
        };
        entries.push((path, r.access.clone()));
    }
    vec![
        prop("DevicePolicy", Value::Str("strict".into())),
        prop("DeviceAllow", Value::PairArray(entries)),
    ]
}

/// Replay rules in order: "a" rules reset the default (allow or deny everything) and drop the
/// exceptions; other rules that agree with the default remove matching exceptions, the others
/// add (or widen) one. Returns (default is allow, the exceptions).
fn emulate(rules: &[Rule]) -> (bool, Vec<Rule>) {
    let mut allow_all = false;
    let mut list: Vec<Rule> = Vec::new();
    for r in rules {
        if r.typ == 'a' {
            allow_all = r.allow;
            list.clear();
            continue;
        }
        let same = |x: &Rule| x.typ == r.typ && x.major == r.major && x.minor == r.minor;
        if r.allow != allow_all {
            match list.iter_mut().find(|x| same(x)) {
                Some(x) => {
                    x.access = ['r', 'w', 'm']
                        .into_iter()
                        .filter(|c| x.access.contains(*c) || r.access.contains(*c))
                        .collect();
                }
                None => list.push(Rule {
                    allow: !allow_all,
                    ..r.clone()
                }),
            }
        } else {
            for x in list.iter_mut().filter(|x| same(x)) {
                x.access.retain(|c| !r.access.contains(c));
            }
            list.retain(|x| !x.access.is_empty());
        }
    }
    (allow_all, list)
}

/// The /proc/devices name of major `major` ("136 pts" → "pts").
fn device_group(proc_devices: &str, typ: char, major: u32) -> Option<String> {
    let section = if typ == 'b' {
        "Block devices:"
    } else {
        "Character devices:"
    };
    let mut inside = false;
    for line in proc_devices.lines() {
        if line.ends_with("devices:") {
            inside = line == section;
            continue;
        }
        let mut f = line.split_whitespace();
        if let (true, Some(n), Some(name)) = (inside, f.next(), f.next()) {
            if n.parse() == Ok(major) {
                return Some(name.to_string());
            }
        }
    }
    None
}

/// runc's initSystemdProps: each `org.systemd.property.NAME` annotation becomes property NAME,
/// its value read as GVariant text (`true`, `'str'`, `uint64 5`, `5` (int32), `[...]`); a
/// NAME ending in a lowercase letter + "Sec" becomes NAME…USec with the value in µs.
pub(crate) fn from_annotations(annotations: &HashMap<String, String>) -> Result<Vec<Prop>> {
    const PREFIX: &str = "org.systemd.property.";
    let mut out = Vec::new();
    for (key, text) in annotations.iter().filter(|(k, _)| k.starts_with(PREFIX)) {
        let bad = |reason: String| Error::InvalidAnnotation {
            key: key.clone(),
            reason,
        };
        let mut name = key[PREFIX.len()..].to_string();
        check_property_name(&name).map_err(|r| bad(r.into()))?;
        let seconds = name
            .strip_suffix("Sec")
            .filter(|stem| stem.ends_with(|c: char| c.is_ascii_lowercase()))
            .map(str::to_string);
        let value = match &seconds {
            Some(stem) => {
                name = format!("{stem}USec");
                sec_to_usec(text)
            }
            None => parse_gvariant(text),
        }
        .map_err(|r| bad(format!("value {text:?}: {r}")))?;
        out.push((name, value));
    }
    Ok(out)
}

/// runc's checkPropertyName: ≥ 3 characters, A-Z first, then only ASCII letters and digits.
fn check_property_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.len() < 3 {
        return Err("property name too short");
    }
    if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Err("property name must start with A-Z");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("property name must be only ASCII letters and digits");
    }
    Ok(())
}

/// The GVariant text forms the unit properties take.
fn parse_gvariant(text: &str) -> std::result::Result<Value, String> {
    let t = text.trim();
    if t == "true" || t == "false" {
        return Ok(Value::Bool(t == "true"));
    }
    if let Some(s) = unquote(t) {
        return Ok(Value::Str(s));
    }
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let items: Vec<&str> = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.iter().all(|i| unquote(i).is_some()) {
            return Ok(Value::StrArray(
                items.iter().filter_map(|i| unquote(i)).collect(),
            ));
        }
        let nums: std::result::Result<Vec<u32>, _> = items
            .iter()
            .map(|i| i.strip_prefix("uint32 ").unwrap_or(i).trim().parse::<u32>())
            .collect();
        return nums
            .map(Value::U32Array)
            .map_err(|_| "only arrays of strings or of uint32 are supported".into());
    }
    let (typ, num) = t.split_once(' ').unwrap_or(("int32", t));
    let n = num.trim();
    let err = |e: std::num::ParseIntError| format!("{n:?}: {e}");
    match typ {
        "uint64" => n.parse::<u64>().map(Value::U64).map_err(err),
        "uint32" => n.parse::<u32>().map(Value::U32).map_err(err),
        "int32" | "int64" => {
            let v: i64 = n.parse().map_err(err)?;
            Ok(Value::U64(u64::try_from(v).map_err(|_| {
                format!("{n:?}: negative values are not supported")
            })?))
        }
        _ => Err(
            "unsupported GVariant text (expected true/false, 'string', [..], or [u]int32/64 N)"
                .into(),
        ),
    }
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    for q in ['\'', '"'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return Some(s[1..s.len() - 1].to_string());
        }
    }
    None
}

/// runc's convertSecToUSec: a number of seconds (integer or with up to six decimals, a type
/// word such as `uint64` allowed before it) → µs as uint64 (decimals read as digits: exact).
fn sec_to_usec(text: &str) -> std::result::Result<Value, String> {
    let t = text.trim();
    let n = t.rsplit(' ').next().unwrap_or(t);
    let (whole, frac) = n.split_once('.').unwrap_or((n, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(frac.is_empty() || digits(frac)) || frac.len() > 6 {
        return Err("not a number of seconds (at most 6 decimals)".into());
    }
    let whole: u64 = whole.parse().map_err(|_| "too large".to_string())?;
    let micros = format!("{frac:0<6}").parse::<u64>().unwrap_or(0);
    Ok(Value::U64(
        whole.saturating_mul(1_000_000).saturating_add(micros),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder,
    };

    fn find<'a>(props: &'a [Prop], name: &str) -> Option<&'a Value> {
        props.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    #[test]
    fn quota_rounds_up_to_whole_percents_like_runc() {
        // 50000/100000 = 500000 µs/s exactly.
        let (p, q) = cpu_quota(252, 50_000, 100_000);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(500_000)));
        assert_eq!(find(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(100_000)));
        assert_eq!(q, 50_000);
        // 5001/100000 = 50010 µs/s → 60000, and the file gets 6000.
        let (p, q) = cpu_quota(252, 5_001, 100_000);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(60_000)));
        assert_eq!(q, 6_000);
        // Quota alone assumes the 100 ms period; no period property.
        let (p, _) = cpu_quota(252, 20_000, 0);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(200_000)));
        assert_eq!(find(&p, "CPUQuotaPeriodUSec"), None);
        // A period alone (or quota -1) means unlimited: USEC_INFINITY.
        let (p, _) = cpu_quota(252, -1, 50_000);
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(u64::MAX)));
        // systemd < 242 has no CPUQuotaPeriodUSec.
        let (p, _) = cpu_quota(241, 50_000, 50_000);
        assert_eq!(find(&p, "CPUQuotaPeriodUSec"), None);
        assert!(cpu_quota(252, 0, 0).0.is_empty());
    }

    #[test]
    fn bits_are_little_endian_bytes() {
        assert_eq!(range_to_bits("0").unwrap(), [1]);
        assert_eq!(range_to_bits("0-2,7").unwrap(), [0x87]);
        assert_eq!(range_to_bits("8").unwrap(), [0, 1]);
        assert_eq!(range_to_bits(" 1 , 3-4 ,").unwrap(), [0b11010]);
        assert!(range_to_bits("").is_err());
        assert!(range_to_bits("3-1").is_err());
        assert!(range_to_bits("x").is_err());
    }

    fn res_with(mem: i64, swap: i64, shares: u64, pids: i64) -> LinuxResources {
        LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(mem)
                    .swap(swap)
                    .reservation(1 << 20)
                    .build()
                    .unwrap(),
            )
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(shares)
                    .cpus("0-1")
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(pids).build().unwrap())
            .build()
            .unwrap()
    }

    #[test]
    fn v2_resources_translate_like_runc() {
        let p = resources(
            Layout::Unified,
            252,
            &res_with(64 << 20, 96 << 20, 1024, 50),
            false,
        )
        .unwrap();
        assert_eq!(find(&p, "MemoryMax"), Some(&Value::U64(64 << 20)));
        assert_eq!(find(&p, "MemoryLow"), Some(&Value::U64(1 << 20)));
        // memory+swap 96M with memory 64M → swap-only 32M.
        assert_eq!(find(&p, "MemorySwapMax"), Some(&Value::U64(32 << 20)));
        // runc 1.1.5's shares → weight: 1 + (1024 - 2) * 9999 / 262142 = 39.
        assert_eq!(find(&p, "CPUWeight"), Some(&Value::U64(39)));
        assert_eq!(find(&p, "TasksMax"), Some(&Value::U64(50)));
        assert_eq!(find(&p, "AllowedCPUs"), Some(&Value::Bytes(vec![3])));
        assert_eq!(find(&p, "MemoryLimit"), None);
        // -1 limits are infinity; systemd < 244 gets no AllowedCPUs.
        let p = resources(Layout::Unified, 243, &res_with(-1, 0, 0, -1), false).unwrap();
        assert_eq!(find(&p, "MemoryMax"), Some(&Value::U64(u64::MAX)));
        assert_eq!(find(&p, "TasksMax"), Some(&Value::U64(u64::MAX)));
        assert_eq!(find(&p, "AllowedCPUs"), None);
    }

    #[test]
    fn v1_resources_use_the_v1_properties() {
        let p = resources(Layout::Hybrid, 252, &res_with(64 << 20, 0, 512, 0), false).unwrap();
        assert_eq!(find(&p, "MemoryLimit"), Some(&Value::U64(64 << 20)));
        assert_eq!(find(&p, "CPUShares"), Some(&Value::U64(512)));
        assert_eq!(find(&p, "MemoryMax"), None);
        assert_eq!(find(&p, "MemoryLow"), None);
        // runc 1.4: a pids limit of 0 is a limit, which systemd takes only as 1.
        assert_eq!(find(&p, "TasksMax"), Some(&Value::U64(1)));
        // No pids object (an unset limit): no TasksMax.
        let mut res = res_with(64 << 20, 0, 512, 0);
        res.set_pids(None);
        let p = resources(Layout::Hybrid, 252, &res, false).unwrap();
        assert_eq!(find(&p, "TasksMax"), None);
    }

    #[test]
    fn unified_keys_map_to_properties() {
        let mut u = HashMap::new();
        u.insert("memory.high".to_string(), "max".to_string());
        u.insert("pids.max".to_string(), "0".to_string());
        u.insert("cpu.max".to_string(), "max 50000".to_string());
        u.insert("io.weight".to_string(), "100".to_string());
        let res = LinuxResourcesBuilder::default().unified(u).build().unwrap();
        let p = resources(Layout::Unified, 252, &res, false).unwrap();
        assert_eq!(find(&p, "MemoryHigh"), Some(&Value::U64(u64::MAX)));
        assert_eq!(find(&p, "TasksMax"), Some(&Value::U64(1)));
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(u64::MAX)));
        assert_eq!(find(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(50_000)));
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn runc_default_devices_become_an_allow_list() {
        let mut list = vec![{
            let mut d = oci_spec::runtime::LinuxDeviceCgroup::default();
            d.set_allow(false);
            d.set_access(Some("rwm".into()));
            d
        }];
        list.extend(crate::default_device_rules());
        let p = device_properties(&devices::rules(&list).unwrap());
        assert_eq!(find(&p, "DevicePolicy"), Some(&Value::Str("strict".into())));
        let Some(Value::PairArray(allow)) = find(&p, "DeviceAllow") else {
            panic!("{p:?}")
        };
        assert_eq!(allow[0], ("char-*".into(), "m".into()));
        assert_eq!(allow[1], ("block-*".into(), "m".into()));
        assert!(allow.contains(&("/dev/char/1:3".into(), "rwm".into())));
        assert!(allow.contains(&("/dev/char/10:200".into(), "rwm".into())));
        // 136:* is the "pts" group of /proc/devices.
        if std::fs::read_to_string("/proc/devices")
            .unwrap()
            .contains(" pts")
        {
            assert!(allow.contains(&("char-pts".into(), "rwm".into())));
        }
    }

    #[test]
    fn device_rules_replay_in_order() {
        let r = |allow: bool, typ: char, major: Option<u32>, access: &str| Rule {
            allow,
            typ,
            major,
            minor: Some(1),
            access: access.into(),
        };
        let all = |allow| Rule {
            allow,
            typ: 'a',
            major: None,
            minor: None,
            access: "rwm".into(),
        };
        // Allow everything: DevicePolicy=auto.
        let p = device_properties(&[all(true)]);
        assert_eq!(find(&p, "DevicePolicy"), Some(&Value::Str("auto".into())));
        // Allow everything but one device: not expressible, deny-all strict.
        let p = device_properties(&[all(true), r(false, 'c', Some(1), "rwm")]);
        assert_eq!(find(&p, "DevicePolicy"), Some(&Value::Str("strict".into())));
        assert_eq!(find(&p, "DeviceAllow"), Some(&Value::PairArray(vec![])));
        // Deny all, allow rw then deny w: "r" is left; a later deny-all drops everything.
        let p = device_properties(&[
            all(false),
            r(true, 'c', Some(1), "rw"),
            r(false, 'c', Some(1), "w"),
        ]);
        assert_eq!(
            find(&p, "DeviceAllow"),
            Some(&Value::PairArray(vec![(
                "/dev/char/1:1".into(),
                "r".into()
            )]))
        );
        let p = device_properties(&[r(true, 'b', Some(8), "rwm"), all(false)]);
        assert_eq!(find(&p, "DeviceAllow"), Some(&Value::PairArray(vec![])));
    }

    #[test]
    fn annotations_become_properties() {
        let mut a = HashMap::new();
        a.insert(
            "org.systemd.property.TimeoutStopSec".to_string(),
            "uint64 5".to_string(),
        );
        a.insert(
            "org.systemd.property.CollectMode".to_string(),
            "'inactive-or-failed'".to_string(),
        );
        a.insert(
            "org.systemd.property.CPUAccounting".to_string(),
            "false".to_string(),
        );
        a.insert(
            "org.systemd.property.RuntimeMaxSec".to_string(),
            "1.5".to_string(),
        );
        a.insert(
            "org.systemd.property.After".to_string(),
            "['a.service', 'b.service']".to_string(),
        );
        a.insert("other".to_string(), "x".to_string());
        let p = from_annotations(&a).unwrap();
        assert_eq!(find(&p, "TimeoutStopUSec"), Some(&Value::U64(5_000_000)));
        assert_eq!(find(&p, "RuntimeMaxUSec"), Some(&Value::U64(1_500_000)));
        assert_eq!(
            find(&p, "CollectMode"),
            Some(&Value::Str("inactive-or-failed".into()))
        );
        assert_eq!(find(&p, "CPUAccounting"), Some(&Value::Bool(false)));
        assert_eq!(
            find(&p, "After"),
            Some(&Value::StrArray(vec![
                "a.service".into(),
                "b.service".into()
            ]))
        );
        assert_eq!(p.len(), 5);
        for (k, v) in [
            ("org.systemd.property.x", "1"),
            ("org.systemd.property.Ab", "1"),
            ("org.systemd.property.Bad-Name", "1"),
            ("org.systemd.property.Good", "{what"),
        ] {
            let mut a = HashMap::new();
            a.insert(k.to_string(), v.to_string());
            let e = from_annotations(&a).unwrap_err().to_string();
            assert!(e.contains(k), "{e}");
        }
    }
}
