//! Usage statistics, serialized exactly like the "data" object of runc's `events --stats`
//! (runc's `types/events.go`: Go `omitempty` on numbers becomes "skip when 0" here; structs
//! are always present).
//!
//! v1 sources: cpuacct.usage / usage_percpu(_sys,_user) / cpuacct.stat (USER_HZ ticks → ns),
//! cpu.stat (throttling), memory.* (usage/max/failcnt/limit for memory, memsw, kmem, kmem.tcp;
//! memory.stat as "raw", its "cache" as cache), pids.current/max, blkio (CFQ/BFQ recursive
//! files, else throttle.*), `hugetlb.<size>.*`.
//! v2 sources: cpu.stat, memory.current/max/swap.*/stat ("file" as cache; swap reported as
//! memory+swap like v1, as runc does), pids.*, io.stat, `hugetlb.<size>.current/max/events`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::fs::CgDir;
use crate::resources::Target;
use crate::Manager;

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// runc `events --stats` → "data".
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// CPU time and throttling.
    pub cpu: Cpu,
    /// The CPUs and memory nodes in use.
    pub cpuset: Cpuset,
    /// Memory, swap and kernel memory usage.
    pub memory: Memory,
    /// Number of tasks and their limit.
    pub pids: Pids,
    /// Block I/O per device.
    pub blkio: Blkio,
    /// Huge page usage per page size (`2MB`, `1GB`).
    pub hugetlb: BTreeMap<String, Hugetlb>,
    /// Not cgroup data: `{}` from this crate; the runtime fills it for a container with
    /// `linux.intelRdt` (runc's resctrl statistics).
    pub intel_rdt: IntelRdt,
    /// Not cgroup data; always `null` here (runc reports interfaces of the container's netns).
    pub network_interfaces: Option<Vec<serde_json::Value>>,
}

/// runc's `intel_rdt` object (`types/events.go`): the resctrl group's schemata and the
/// read-only CAT/MBA information; empty members are left out, as Go's `omitempty`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct IntelRdt {
    /// `info/L3` (with CAT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l3_cache_info: Option<L3CacheInfo>,
    /// The root group's L3 line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub l3_cache_schema_root: String,
    /// The container group's L3 line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub l3_cache_schema: String,
    /// `info/MB` (with MBA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_bw_info: Option<MemBwInfo>,
    /// The root group's MB line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mem_bw_schema_root: String,
    /// The container group's MB line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mem_bw_schema: String,
    /// Every line of the container group's `schemata` (runc 1.5).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schemata: Vec<String>,
    /// Memory bandwidth monitoring, per `mon_data` domain (with MBM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mbm_stats: Option<Vec<MbmNumaNodeStats>>,
    /// Cache monitoring, per `mon_data` domain (with CMT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmt_stats: Option<Vec<CmtNumaNodeStats>>,
}

/// One `mon_data` domain's memory bandwidth counters.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MbmNumaNodeStats {
    /// `mbm_total_bytes`.
    pub mbm_total_bytes: u64,
    /// `mbm_local_bytes`.
    pub mbm_local_bytes: u64,
}

/// One `mon_data` domain's cache occupancy.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CmtNumaNodeStats {
    /// `llc_occupancy`.
    pub llc_occupancy: u64,
}

/// `info/L3` of a resctrl filesystem.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct L3CacheInfo {
    /// `cbm_mask`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cbm_mask: String,
    /// `min_cbm_bits`.
    #[serde(skip_serializing_if = "is_zero")]
    pub min_cbm_bits: u64,
    /// `num_closids`.
    #[serde(skip_serializing_if = "is_zero")]
    pub num_closids: u64,
}

/// `info/MB` of a resctrl filesystem.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MemBwInfo {
    /// `bandwidth_gran`.
    #[serde(skip_serializing_if = "is_zero")]
    pub bandwidth_gran: u64,
    /// `delay_linear`.
    #[serde(skip_serializing_if = "is_zero")]
    pub delay_linear: u64,
    /// `min_bandwidth`.
    #[serde(skip_serializing_if = "is_zero")]
    pub min_bandwidth: u64,
    /// `num_closids`.
    #[serde(skip_serializing_if = "is_zero")]
    pub num_closids: u64,
}

/// cpuset statistics (runc: v1 only; on v2 the effective cpus/mems are reported).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Cpuset {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    pub cpu_exclusive: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
    pub mem_hardwall: u64,
    pub mem_exclusive: u64,
    pub memory_migrate: u64,
    pub memory_spread_page: u64,
    pub memory_spread_slab: u64,
    pub memory_pressure: u64,
    pub sched_load_balance: u64,
    pub sched_relax_domain_level: i64,
}

/// "0-3,5" → [0, 1, 2, 3, 5].
fn parse_list(path: &Path, s: &str) -> Result<Vec<u16>> {
    let bad = |reason: &str| Error::Parse {
        path: path.to_path_buf(),
        content: s.to_string(),
        reason: reason.to_string(),
    };
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: u16 = a
            .trim()
            .parse()
            .map_err(|_| bad("expected a cpu/node list"))?;
        let b: u16 = b
            .trim()
            .parse()
            .map_err(|_| bad("expected a cpu/node list"))?;
        if b < a || usize::from(b - a) > 65535 {
            return Err(bad("bad range"));
        }
        out.extend(a..=b);
    }
    Ok(out)
}

fn cpuset_v1(d: CgDir<'_>, c: &mut Cpuset) -> Result<()> {
    if let Some(t) = opt_read(d, "cpuset.cpus")? {
        c.cpus = parse_list(&d.file("cpuset.cpus"), &t)?;
    }
    if let Some(t) = opt_read(d, "cpuset.mems")? {
        c.mems = parse_list(&d.file("cpuset.mems"), &t)?;
    }
    c.cpu_exclusive = opt_u64(d, "cpuset.cpu_exclusive")?;
    c.mem_hardwall = opt_u64(d, "cpuset.mem_hardwall")?;
    c.mem_exclusive = opt_u64(d, "cpuset.mem_exclusive")?;
    c.memory_migrate = opt_u64(d, "cpuset.memory_migrate")?;
    c.memory_spread_page = opt_u64(d, "cpuset.memory_spread_page")?;
    c.memory_spread_slab = opt_u64(d, "cpuset.memory_spread_slab")?;
    c.memory_pressure = opt_u64(d, "cpuset.memory_pressure")?;
    c.sched_load_balance = opt_u64(d, "cpuset.sched_load_balance")?;
    if let Some(t) = opt_read(d, "cpuset.sched_relax_domain_level")? {
        c.sched_relax_domain_level = t.trim().parse().map_err(|_| Error::Parse {
            path: d.file("cpuset.sched_relax_domain_level"),
            content: t.clone(),
            reason: "expected an integer".into(),
        })?;
    }
    Ok(())
}

fn cpuset_v2(d: CgDir<'_>, c: &mut Cpuset) -> Result<()> {
    if let Some(t) = opt_read(d, "cpuset.cpus.effective")? {
        c.cpus = parse_list(&d.file("cpuset.cpus.effective"), &t)?;
    }
    if let Some(t) = opt_read(d, "cpuset.mems.effective")? {
        c.mems = parse_list(&d.file("cpuset.mems.effective"), &t)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Blkio {
    #[serde(
        rename = "ioServiceBytesRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioServicedRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioQueueRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_queued_recursive: Vec<BlkioEntry>,
    #[serde(
        rename = "ioServiceTimeRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_time_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioWaitTimeRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_wait_time_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioMergedRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_merged_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioTimeRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_time_recursive: Vec<BlkioEntry>,
    #[serde(rename = "sectorsRecursive", skip_serializing_if = "Vec::is_empty")]
    pub sectors_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

/// Read an optional number: a missing file is 0 ("max" is u64::MAX).
fn opt_u64(d: CgDir<'_>, name: &str) -> Result<u64> {
    match d.read_u64(name) {
        Ok(v) => Ok(v),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENODEV)) => Ok(0),
        Err(e) => Err(e),
    }
}

fn opt_read(d: CgDir<'_>, name: &str) -> Result<Option<String>> {
    match d.read(name) {
        Ok(v) => Ok(Some(v)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENODEV)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// "key value" lines → map.
fn kv(path: &Path, text: &str) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        if let (Some(k), Some(v)) = (it.next(), it.next()) {
            out.insert(k.to_string(), crate::fs::parse_u64(path, v)?);
        }
    }
    Ok(out)
}

fn list_u64(path: &Path, text: &str) -> Result<Vec<u64>> {
    text.split_whitespace()
        .map(|v| crate::fs::parse_u64(path, v))
        .collect()
}

pub(crate) fn collect(m: &Manager) -> Result<Stats> {
    let mut s = Stats::default();
    match m.target("cpu") {
        Some(Target::V1(d)) => cpu_v1(m, d, &mut s.cpu)?,
        Some(Target::V2(d)) => cpu_v2(d, &mut s.cpu)?,
        None => {}
    }
    match m.target("cpuset") {
        Some(Target::V1(d)) => cpuset_v1(d, &mut s.cpuset)?,
        Some(Target::V2(d)) => cpuset_v2(d, &mut s.cpuset)?,
        None => {}
    }
    match m.target("memory") {
        Some(Target::V1(d)) => memory_v1(d, &mut s.memory)?,
        Some(Target::V2(d)) => memory_v2(d, &mut s.memory)?,
        None => {}
    }
    if let Some(Target::V1(d) | Target::V2(d)) = m.target("pids") {
        s.pids.current = opt_u64(d, "pids.current")?;
        let max = opt_u64(d, "pids.max")?;
        s.pids.limit = if max == u64::MAX { 0 } else { max };
    }
    match m.target("blkio") {
        Some(Target::V1(d)) => blkio_v1(d, &mut s.blkio)?,
        Some(Target::V2(d)) => io_v2(d, &mut s.blkio)?,
        None => {}
    }
    match m.target("hugetlb") {
        Some(Target::V1(d)) => hugetlb(d, false, &mut s.hugetlb)?,
        Some(Target::V2(d)) => hugetlb(d, true, &mut s.hugetlb)?,
        None => {}
    }
    Ok(s)
}

fn cpu_v1(m: &Manager, d: CgDir<'_>, cpu: &mut Cpu) -> Result<()> {
    if let Some(t) = opt_read(d, "cpu.stat")? {
        let st = kv(&d.file("cpu.stat"), &t)?;
        cpu.throttling.periods = st.get("nr_periods").copied().unwrap_or(0);
        cpu.throttling.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
        cpu.throttling.throttled_time = st.get("throttled_time").copied().unwrap_or(0);
    }
    let Some(acct) = m.v1_path("cpuacct") else {
        return Ok(());
    };
    let a = m.cg(acct);
    cpu.usage.total = opt_u64(a, "cpuacct.usage")?;
    for (file, dst) in [
        ("cpuacct.usage_percpu", &mut cpu.usage.percpu),
        ("cpuacct.usage_percpu_sys", &mut cpu.usage.percpu_kernel),
        ("cpuacct.usage_percpu_user", &mut cpu.usage.percpu_user),
    ] {
        if let Some(t) = opt_read(a, file)? {
            *dst = list_u64(&a.file(file), &t)?;
        }
    }
    if let Some(t) = opt_read(a, "cpuacct.stat")? {
        let st = kv(&a.file("cpuacct.stat"), &t)?;
        // USER_HZ ticks → ns (USER_HZ is 100 on every Linux ABI).
        const NS_PER_TICK: u64 = 1_000_000_000 / 100;
        cpu.usage.user = st.get("user").copied().unwrap_or(0) * NS_PER_TICK;
        cpu.usage.kernel = st.get("system").copied().unwrap_or(0) * NS_PER_TICK;
    }
    Ok(())
}

fn cpu_v2(d: CgDir<'_>, cpu: &mut Cpu) -> Result<()> {
    if let Some(t) = opt_read(d, "cpu.stat")? {
        let st = kv(&d.file("cpu.stat"), &t)?;
        let g = |k: &str| st.get(k).copied().unwrap_or(0);
        cpu.usage.total = g("usage_usec") * 1000;
        cpu.usage.user = g("user_usec") * 1000;
        cpu.usage.kernel = g("system_usec") * 1000;
        cpu.throttling.periods = g("nr_periods");
        cpu.throttling.throttled_periods = g("nr_throttled");
        cpu.throttling.throttled_time = g("throttled_usec") * 1000;
    }
    Ok(())
}

fn mem_entry_v1(d: CgDir<'_>, prefix: &str) -> Result<MemoryEntry> {
    let f = |n: &str| {
        if prefix.is_empty() {
            format!("memory.{n}")
        } else {
            format!("memory.{prefix}.{n}")
        }
    };
    Ok(MemoryEntry {
        limit: opt_u64(d, &f("limit_in_bytes"))?,
        usage: opt_u64(d, &f("usage_in_bytes"))?,
        max: opt_u64(d, &f("max_usage_in_bytes"))?,
        failcnt: opt_u64(d, &f("failcnt"))?,
    })
}

fn memory_v1(d: CgDir<'_>, mem: &mut Memory) -> Result<()> {
    if let Some(t) = opt_read(d, "memory.stat")? {
        mem.raw = kv(&d.file("memory.stat"), &t)?;
        mem.cache = mem.raw.get("cache").copied().unwrap_or(0);
    }
    mem.usage = mem_entry_v1(d, "")?;
    mem.swap = mem_entry_v1(d, "memsw")?;
    mem.kernel = mem_entry_v1(d, "kmem")?;
    mem.kernel_tcp = mem_entry_v1(d, "kmem.tcp")?;
    Ok(())
}

fn memory_v2(d: CgDir<'_>, mem: &mut Memory) -> Result<()> {
    if let Some(t) = opt_read(d, "memory.stat")? {
        mem.raw = kv(&d.file("memory.stat"), &t)?;
        mem.cache = mem.raw.get("file").copied().unwrap_or(0);
    }
    mem.usage.usage = opt_u64(d, "memory.current")?;
    mem.usage.limit = opt_u64(d, "memory.max")?;
    mem.usage.max = opt_u64(d, "memory.peak")?;
    if let Some(t) = opt_read(d, "memory.events")? {
        mem.usage.failcnt = kv(&d.file("memory.events"), &t)?
            .get("max")
            .copied()
            .unwrap_or(0);
    }
    // Swap as memory+swap, like v1 (runc does the same for compatibility).
    let swap_usage = opt_u64(d, "memory.swap.current")?;
    let swap_limit = opt_u64(d, "memory.swap.max")?;
    mem.swap.usage = swap_usage + mem.usage.usage;
    mem.swap.limit = if swap_limit == u64::MAX || mem.usage.limit == u64::MAX {
        u64::MAX
    } else {
        swap_limit + mem.usage.limit
    };
    Ok(())
}

/// "8:0 Read 123" lines (skipping "Total N").
fn blkio_file(d: CgDir<'_>, name: &str) -> Result<Option<Vec<BlkioEntry>>> {
    let Some(text) = opt_read(d, name)? else {
        return Ok(None);
    };
    let path = d.file(name);
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            [] | ["Total", _] => {}
            [dev, op, v] => {
                let (major, minor) = parse_dev(&path, dev)?;
                out.push(BlkioEntry {
                    major,
                    minor,
                    op: op.to_string(),
                    value: crate::fs::parse_u64(&path, v)?,
                });
            }
            [dev, v] => {
                let (major, minor) = parse_dev(&path, dev)?;
                out.push(BlkioEntry {
                    major,
                    minor,
                    op: String::new(),
                    value: crate::fs::parse_u64(&path, v)?,
                });
            }
            _ => {
                return Err(Error::Parse {
                    path,
                    content: line.to_string(),
                    reason: "expected \"major:minor [op] value\"".into(),
                })
            }
        }
    }
    Ok(Some(out))
}

fn parse_dev(path: &Path, dev: &str) -> Result<(u64, u64)> {
    let bad = || Error::Parse {
        path: path.to_path_buf(),
        content: dev.to_string(),
        reason: "expected major:minor".into(),
    };
    let (a, b) = dev.split_once(':').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

fn blkio_v1(d: CgDir<'_>, b: &mut Blkio) -> Result<()> {
    // CFQ (full set) first, then BFQ, then the throttle files, as runc does.
    if let Some(v) = blkio_file(d, "blkio.io_service_bytes_recursive")? {
        b.io_service_bytes_recursive = v;
        b.io_serviced_recursive = blkio_file(d, "blkio.io_serviced_recursive")?.unwrap_or_default();
        b.io_queued_recursive = blkio_file(d, "blkio.io_queued_recursive")?.unwrap_or_default();
        b.io_service_time_recursive =
            blkio_file(d, "blkio.io_service_time_recursive")?.unwrap_or_default();
        b.io_wait_time_recursive =
            blkio_file(d, "blkio.io_wait_time_recursive")?.unwrap_or_default();
        b.io_merged_recursive = blkio_file(d, "blkio.io_merged_recursive")?.unwrap_or_default();
        b.io_time_recursive = blkio_file(d, "blkio.time_recursive")?.unwrap_or_default();
        b.sectors_recursive = blkio_file(d, "blkio.sectors_recursive")?.unwrap_or_default();
        return Ok(());
    }
    if let Some(v) = blkio_file(d, "blkio.bfq.io_service_bytes_recursive")? {
        b.io_service_bytes_recursive = v;
        b.io_serviced_recursive =
            blkio_file(d, "blkio.bfq.io_serviced_recursive")?.unwrap_or_default();
        return Ok(());
    }
    b.io_service_bytes_recursive =
        blkio_file(d, "blkio.throttle.io_service_bytes_recursive")?.unwrap_or_default();
    b.io_serviced_recursive =
        blkio_file(d, "blkio.throttle.io_serviced_recursive")?.unwrap_or_default();
    Ok(())
}

fn io_v2(d: CgDir<'_>, b: &mut Blkio) -> Result<()> {
    let Some(text) = opt_read(d, "io.stat")? else {
        return Ok(());
    };
    let path = d.file("io.stat");
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some(dev) = it.next() else { continue };
        let (major, minor) = parse_dev(&path, dev)?;
        for kvp in it {
            let Some((k, v)) = kvp.split_once('=') else {
                continue;
            };
            let (op, table) = match k {
                "rbytes" => ("Read", &mut b.io_service_bytes_recursive),
                "wbytes" => ("Write", &mut b.io_service_bytes_recursive),
                "rios" => ("Read", &mut b.io_serviced_recursive),
                "wios" => ("Write", &mut b.io_serviced_recursive),
                _ => continue,
            };
            table.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value: crate::fs::parse_u64(&path, v)?,
            });
        }
    }
    Ok(())
}

fn hugetlb(d: CgDir<'_>, v2: bool, out: &mut BTreeMap<String, Hugetlb>) -> Result<()> {
    let entries = match std::fs::read_dir(d.path) {
        Ok(e) => e,
        Err(_) => return Ok(()),
    };
    let suffix = if v2 { ".max" } else { ".limit_in_bytes" };
    let mut sizes: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| {
            let rest = n.strip_prefix("hugetlb.")?.strip_suffix(suffix)?;
            (!rest.contains('.')).then(|| rest.to_string())
        })
        .collect();
    sizes.sort();
    for size in sizes {
        let h = if v2 {
            let failcnt = match opt_read(d, &format!("hugetlb.{size}.events"))? {
                Some(t) => kv(&d.file(&format!("hugetlb.{size}.events")), &t)?
                    .get("max")
                    .copied()
                    .unwrap_or(0),
                None => 0,
            };
            Hugetlb {
                usage: opt_u64(d, &format!("hugetlb.{size}.current"))?,
                max: 0,
                failcnt,
            }
        } else {
            Hugetlb {
                usage: opt_u64(d, &format!("hugetlb.{size}.usage_in_bytes"))?,
                max: opt_u64(d, &format!("hugetlb.{size}.max_usage_in_bytes"))?,
                failcnt: opt_u64(d, &format!("hugetlb.{size}.failcnt"))?,
            }
        };
        out.insert(size, h);
    }
    Ok(())
}
