//! linux.resources → cgroup files. One module per controller, each with its v1 and v2 writer.
//!
//! runc's rule "0 means unset" is applied everywhere it applies in runc (Docker sends
//! `cpu.shares: 0`, `blockIO.weight: 0`, `memory.limit: 0` on update). Before anything is
//! written, every set field is matched to the controller that implements it; a missing one
//! fails with [`Error::ControllerUnavailable`].

pub(crate) mod blkio;
pub(crate) mod cpu;
mod device_state;
pub(crate) mod devices;
pub(crate) mod hugetlb;
pub(crate) mod memory;
pub(crate) mod net;
pub(crate) mod pids;
pub(crate) mod rdma;
pub(crate) mod unified;

use crate::error::{Error, Result};
use crate::fs::CgDir;
use crate::{Hierarchy, Layout, LinuxResources, Manager};

/// Where a controller's files are written, and in which dialect.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a> {
    V1(CgDir<'a>),
    V2(CgDir<'a>),
}

/// The v2 name of a v1 controller.
fn v2_name(ctrl: &str) -> &str {
    match ctrl {
        "blkio" => "io",
        c => c,
    }
}

impl Manager {
    fn v2_target<'a>(&'a self, h: &'a Hierarchy, ctrl: &str) -> Option<Target<'a>> {
        // The device filter is not a controller: any v2 cgroup can take one.
        (ctrl == "devices" || h.controllers.iter().any(|c| c == v2_name(ctrl)))
            .then(|| Target::V2(self.cg(&h.dir)))
    }

    /// Where `ctrl` (named as on v1) is driven, if anywhere.
    pub(crate) fn target(&self, ctrl: &str) -> Option<Target<'_>> {
        match self.layout {
            Layout::Unified => self.v2.as_ref().and_then(|h| self.v2_target(h, ctrl)),
            Layout::Legacy => self.v1_path(ctrl).map(|d| Target::V1(self.cg(d))),
            Layout::Hybrid => match self.v1_path(ctrl) {
                Some(d) => Some(Target::V1(self.cg(d))),
                None if ctrl != "devices" => self.v2.as_ref().and_then(|h| self.v2_target(h, ctrl)),
                None => None,
            },
        }
    }
}

/// Every (v1 controller, field) the spec sets, with "0 means unset" applied.
fn wanted(res: &LinuxResources) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(m) = res.memory() {
        if let Some(f) = memory::first_set(m) {
            out.push(("memory", f.to_string()));
        }
    }
    if let Some(c) = res.cpu() {
        if let Some(f) = cpu::first_set_cpu(c) {
            out.push(("cpu", f.to_string()));
        }
        if let Some(f) = cpu::first_set_cpuset(c) {
            out.push(("cpuset", f.to_string()));
        }
    }
    if res.pids().is_some() {
        out.push(("pids", "pids.limit".into()));
    }
    if let Some(f) = res.block_io().as_ref().and_then(blkio::first_set) {
        out.push(("blkio", f.to_string()));
    }
    if res
        .hugepage_limits()
        .as_ref()
        .is_some_and(|h| !h.is_empty())
    {
        out.push(("hugetlb", "hugepageLimits".into()));
    }
    if let Some(n) = res.network() {
        if n.class_id().is_some_and(|c| c != 0) {
            out.push(("net_cls", "network.classID".into()));
        }
        if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            out.push(("net_prio", "network.priorities".into()));
        }
    }
    if res.rdma().as_ref().is_some_and(|r| !r.is_empty()) {
        out.push(("rdma", "rdma".into()));
    }
    if res.devices().is_some() {
        out.push(("devices", "devices".into()));
    }
    out
}

/// The fields of `res` that runc 1.1.5 (and so this crate) ignores on `layout`.
pub fn ignored_fields(layout: Layout, res: &LinuxResources) -> Vec<&'static str> {
    let mut out = Vec::new();
    if let Some(m) = res.memory() {
        if m.kernel().is_some() {
            out.push("memory.kernel");
        }
        if m.kernel_tcp().is_some() {
            out.push("memory.kernelTCP");
        }
        if m.use_hierarchy().is_some() {
            out.push("memory.useHierarchy");
        }
        if layout == Layout::Unified {
            if m.swappiness().is_some() {
                out.push("memory.swappiness");
            }
            if m.disable_oom_killer() == Some(true) {
                out.push("memory.disableOOMKiller");
            }
        }
    }
    if layout == Layout::Unified
        && res
            .block_io()
            .as_ref()
            .is_some_and(|b| b.leaf_weight().is_some_and(|w| w != 0))
    {
        out.push("blockIO.leafWeight");
    }
    out
}

/// The requirements [`set`] checks before it writes anything.
pub(crate) fn check(m: &Manager, res: &LinuxResources) -> Result<()> {
    require_controllers(m, res)?;
    validate_values(m, res)
}

/// Check every requirement, then write every controller, in runc's order.
pub(crate) fn set(m: &Manager, res: &LinuxResources) -> Result<()> {
    // Every controller the spec needs is there (on hybrid: usable through cgroup2) before
    // anything is written, so a refused spec leaves no half-applied limits.
    require_controllers(m, res)?;
    // Values the kernel would only refuse half-way through are refused up front.
    validate_values(m, res)?;
    // Then each controller's files, in runc's order.
    write_controllers(m, res)
}

/// Each controller `res` needs exists on this host; on a hybrid host one without a v1
/// hierarchy is enabled in the unified twin (never at the cgroup2 root).
fn require_controllers(m: &Manager, res: &LinuxResources) -> Result<()> {
    for (ctrl, field) in wanted(res) {
        match m.target(ctrl) {
            // Rootless: device rules are best effort (see the rootless module).
            None if ctrl == "devices" && m.rootless => {}
            None => {
                let required_by = format!("linux.resources.{field}");
                if let Some(e) = m.denied_error(ctrl, &required_by) {
                    return Err(e);
                }
                return Err(Error::ControllerUnavailable {
                    controller: ctrl.to_string(),
                    required_by,
                    layout: m.layout,
                });
            }
            Some(Target::V2(_)) if m.layout == Layout::Hybrid => {
                // A v1-less controller driven through the hybrid unified twin.
                if let Some(h) = &m.v2 {
                    hybrid_root_enables(m, h, ctrl, &field)?;
                    enable_v2_controllers(m, h, &[v2_name(ctrl).to_string()])?;
                }
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// `unified` only on cgroup v2 and with valid keys; cpu and memory values in range.
fn validate_values(m: &Manager, res: &LinuxResources) -> Result<()> {
    if let Some(u) = res.unified().as_ref().filter(|u| !u.is_empty()) {
        if m.layout != Layout::Unified {
            // runc's wording (ErrV1NoUnified), which tools match on.
            return Err(Error::Unsupported {
                field: "unified".into(),
                layout: m.layout,
                reason: "invalid configuration: cannot use unified on cgroup v1".into(),
            });
        }
        unified::validate(u)?;
    }
    if let Some(c) = res.cpu() {
        cpu::validate(m, c)?;
    }
    if let Some(mem) = res.memory() {
        memory::validate(m, mem)?;
    }
    Ok(())
}

/// Writes every controller `res` sets: runc's v1 subsystem order (the v2 order differs only
/// where it does not matter).
fn write_controllers(m: &Manager, res: &LinuxResources) -> Result<()> {
    if let Some(c) = res.cpu() {
        match m.target("cpuset") {
            Some(Target::V1(d) | Target::V2(d)) => cpu::set_cpuset(d, c)?,
            None => {}
        }
    }
    // Also on update when the caller gives rules: v1 writes only the difference, v2 attaches
    // the new filter before detaching the old one, so a running container never loses a
    // device it may use while this happens.
    if let Some(rules) = res.devices() {
        let applied = match m.target("devices") {
            Some(Target::V1(d)) => devices::set_v1(d, rules),
            Some(Target::V2(d)) => crate::devices_bpf::apply(d.path, rules),
            None => Ok(()),
        };
        // Rootless: as in runc, the devices controller's errors are not fatal.
        if !m.rootless {
            applied?;
        }
    }
    if let Some(mem) = res.memory() {
        match m.target("memory") {
            Some(Target::V1(d)) => memory::set_v1(d, mem)?,
            Some(Target::V2(d)) => memory::set_v2(d, mem)?,
            None => {}
        }
    }
    if let Some(c) = res.cpu() {
        match m.target("cpu") {
            Some(Target::V1(d)) => cpu::set_v1(d, c)?,
            Some(Target::V2(d)) => cpu::set_v2(d, c)?,
            None => {}
        }
    }
    if let Some(p) = res.pids() {
        if let Some(Target::V1(d) | Target::V2(d)) = m.target("pids") {
            pids::set(d, p)?;
        }
    }
    if let Some(b) = res.block_io() {
        match m.target("blkio") {
            Some(Target::V1(d)) => blkio::set_v1(d, b)?,
            Some(Target::V2(d)) => blkio::set_v2(d, b)?,
            None => {}
        }
    }
    if let Some(h) = res.hugepage_limits() {
        match m.target("hugetlb") {
            Some(Target::V1(d)) => hugetlb::set_v1(d, h)?,
            Some(Target::V2(d)) => hugetlb::set_v2(d, h)?,
            None => {}
        }
    }
    if let Some(n) = res.network() {
        if let Some(Target::V1(d)) = m.target("net_cls") {
            net::set_classid(d, n)?;
        }
        if let Some(Target::V1(d)) = m.target("net_prio") {
            net::set_priorities(d, n)?;
        }
    }
    if let Some(r) = res.rdma() {
        if let Some(Target::V1(d) | Target::V2(d)) = m.target("rdma") {
            rdma::set(d, r)?;
        }
    }
    if let Some(u) = res.unified() {
        if let Some(h) = &m.v2 {
            unified::set(m.cg(&h.dir), &h.controllers, u)?;
        }
    }
    Ok(())
}

/// On a hybrid host, a controller used through the cgroup2 mount must already be enabled in that
/// mount's root `cgroup.subtree_control`: this crate never enables it there. Enabling a
/// controller at the root of a hybrid host's cgroup2 mount outlives the container (nothing owns
/// the root to undo it) and from then on the controller cannot be mounted as a v1 hierarchy
/// (crun then refuses the host as "cgroups in hybrid mode not supported").
fn hybrid_root_enables(m: &Manager, h: &Hierarchy, ctrl: &str, field: &str) -> Result<()> {
    let name = v2_name(ctrl);
    let root = m.cg(&h.mount);
    let enabled = root.read("cgroup.subtree_control").unwrap_or_default();
    if enabled.split_whitespace().any(|c| c == name) {
        return Ok(());
    }
    Err(Error::Unsupported {
        field: field.to_string(),
        layout: m.layout,
        reason: format!(
            "{ctrl} is not mounted as a cgroup v1 hierarchy and not enabled in {}; runr does              not enable controllers at the root of a hybrid host's cgroup2 mount (that would              outlive the container and keep {ctrl} from ever being mounted as v1): mount it as              v1 (mount -t cgroup -o {ctrl} cgroup /sys/fs/cgroup/{ctrl}) or leave the field out",
            root.file("cgroup.subtree_control").display()
        ),
    })
}

/// mkdir -p `h.dir` under its v2 mount, enabling `ctrls` in the `cgroup.subtree_control` of
/// every ancestor (not the leaf), as runc's fs2 `CreateCgroupPath` does. Controllers already
/// enabled are not written again; failures to enable are left for the writes to report. On a
/// hybrid host the root is never written (see `hybrid_root_enables`).
pub(crate) fn enable_v2_controllers(m: &Manager, h: &Hierarchy, ctrls: &[String]) -> Result<()> {
    let rel = h
        .dir
        .strip_prefix(&h.mount)
        .unwrap_or(std::path::Path::new(""));
    let mut cur = h.mount.clone();
    let mut levels = vec![cur.clone()];
    for c in rel.components() {
        cur.push(c);
        levels.push(cur.clone());
    }
    for (i, dir) in levels.iter().enumerate() {
        if i > 0 {
            crate::fs::mkdir_all(dir)?;
        }
        let hybrid_root = i == 0 && m.layout == Layout::Hybrid;
        if i + 1 == levels.len() || ctrls.is_empty() || hybrid_root {
            continue;
        }
        let cg = m.cg(dir);
        let enabled = cg.read("cgroup.subtree_control").unwrap_or_default();
        let enabled: Vec<&str> = enabled.split_whitespace().collect();
        let missing: Vec<&String> = ctrls
            .iter()
            .filter(|c| !enabled.contains(&c.as_str()))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let all = missing
            .iter()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(" ");
        if cg.write("cgroup.subtree_control", &all).is_err() {
            for c in missing {
                let _ = cg.write("cgroup.subtree_control", &format!("+{c}"));
            }
        }
    }
    Ok(())
}
