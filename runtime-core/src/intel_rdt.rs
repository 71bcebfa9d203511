//! `linux.intelRdt` (runtime-spec 1.3, runc 1.5): the container's init placed in a resctrl
//! group, the group's `schemata` written, an optional monitoring group.
//!
//! As runc: the resctrl mount is `/sys/fs/resctrl` when that is a resctrl filesystem, else the
//! first `resctrl` mount in this process's mountinfo. The group is `closID` under it (`/` is
//! the root, the default class), or the container id when there is no `closID`; it is made
//! when absent. A `closID` with no schema must name a group that exists (pre-configured by
//! whoever owns it). `l3CacheSchema`, then `memBwSchema`, then each `schemata` line are written
//! to the group's `schemata` in one write (the spec's order); the init's pid goes to `tasks`.
//! `enableMonitoring` makes `mon_groups/<container id>` in the group and puts the pid there too.
//! On delete, runr removes the monitoring group and the group it made for the container id; a
//! `closID` group is shared (other containers or its owner use it) and never removed. The spec
//! asks that an existing `closID` group's schemata be compared with the config's and a mismatch
//! be an error; runc 1.5 writes the config's instead (its TODO: what is read back differs from
//! what was written), and so does runr.
//!
//! The resctrl root is a directory: [`Resctrl::at`] points the library at another tree laid out
//! as the kernel's (`info/L3/cbm_mask`, `info/MB/…`, `schemata`, `tasks`, `mon_groups/`); the
//! integration tests use one, as this host has no resctrl.

use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxIntelRdt;
use serde::{Deserialize, Serialize};

use crate::error::ConfigReason;
use crate::sys::{self, Errno, SysError, SysOp};

/// `statfs(2)` magic of the resctrl filesystem (`RDTGROUP_SUPER_MAGIC`).
const RDTGROUP_SUPER_MAGIC: i64 = 0x0765_5821;
/// Where the kernel offers resctrl (an empty directory until someone mounts it).
const DEFAULT_MOUNT: &str = "/sys/fs/resctrl";

/// A resctrl filesystem: the host's, or a tree laid out as it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resctrl {
    root: PathBuf,
}

impl Resctrl {
    /// The host's resctrl mount, found as runc finds it (`None` when there is none).
    pub fn find() -> Option<Resctrl> {
        let default = Path::new(DEFAULT_MOUNT);
        if sys::fs_magic(default).is_ok_and(|m| m == RDTGROUP_SUPER_MAGIC) {
            return Some(Resctrl::at(default));
        }
        // Mounted somewhere else: the first resctrl mount (mountinfo field 5 is the mount
        // point, the filesystem type follows the " - " separator).
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        mountinfo.lines().find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fstype = right.split_whitespace().next()?;
            let point = left.split_whitespace().nth(4)?;
            (fstype == "resctrl").then(|| Resctrl::at(unescape_octal(point)))
        })
    }

    /// The resctrl filesystem (or a tree laid out as it) at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Resctrl {
        Resctrl { root: root.into() }
    }

    /// Its root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Cache allocation (CAT): `info/L3` exists.
    pub fn cat(&self) -> bool {
        self.root.join("info/L3").is_dir()
    }

    /// Memory bandwidth allocation (MBA): `info/MB` exists.
    pub fn mba(&self) -> bool {
        self.root.join("info/MB").is_dir()
    }

    /// Monitoring (CMT/MBM, monitoring groups): `info/L3_MON` exists.
    pub fn monitoring(&self) -> bool {
        self.root.join("info/L3_MON").is_dir()
    }

    /// The kernel's diagnostics of the last failed resctrl operation, when it has one.
    fn last_cmd_status(&self) -> Option<String> {
        let s = std::fs::read_to_string(self.root.join("info/last_cmd_status")).ok()?;
        Some(s.trim().to_string()).filter(|s| !s.is_empty() && s != "ok")
    }
}

/// Mountinfo escapes blanks and backslashes as `\ooo`.
fn unescape_octal(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).and_then(|d| {
            let d = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(d, 8).ok()
        });
        match (b[i], octal) {
            (b'\\', Some(c)) => {
                out.push(c);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// The field of a member of `linux.intelRdt`.
fn field(member: &str) -> String {
    format!("linux.intelRdt.{member}")
}

/// Checks that need no host (spec.rs): runc's `closID` rule, one line per schema (the spec's
/// MUST NOT contain newlines), and the monitoring flags runtime-spec 1.3 replaced.
pub(crate) fn check_config(rdt: &LinuxIntelRdt) -> Result<(), (String, String)> {
    if let Some(clos) = rdt.clos_id().as_deref() {
        if clos == "." || clos == ".." || (clos.len() > 1 && clos.contains('/')) {
            return Err((field("closID"), format!("invalid intelRdt.ClosID {clos:?}")));
        }
    }
    let single = [
        ("l3CacheSchema", rdt.l3_cache_schema().as_deref()),
        ("memBwSchema", rdt.mem_bw_schema().as_deref()),
    ];
    for (name, value) in single {
        if value.is_some_and(|v| v.contains('\n')) {
            return Err((field(name), "must not contain newlines".into()));
        }
    }
    for (i, line) in rdt.schemata().iter().flatten().enumerate() {
        if line.contains('\n') {
            return Err((
                format!("{}[{i}]", field("schemata")),
                "must not contain newlines".into(),
            ));
        }
    }
    Ok(())
}

/// runtime-spec 1.1–1.2's `enableCMT` / `enableMBM`, replaced by `enableMonitoring` in 1.3 (runc
/// 1.5 no longer reads them): set to true they are refused rather than ignored. Read from the
/// raw config, as oci-spec spells them `enableCmt` / `enableMbm`.
pub(crate) fn check_replaced_flags(raw: &[u8]) -> Result<(), (String, String)> {
    let doc: serde_json::Value = serde_json::from_slice(raw).unwrap_or_default();
    for name in ["enableCMT", "enableMBM"] {
        let pointer = format!("/linux/intelRdt/{name}");
        if doc.pointer(&pointer).and_then(serde_json::Value::as_bool) == Some(true) {
            return Err((
                field(name),
                "replaced by enableMonitoring in runtime-spec 1.3 (runc 1.5 no longer reads \
                 it): set enableMonitoring instead"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// Checks against the host's resctrl, in runc's words (its `intelrdtCheck`), before anything
/// is made.
pub(crate) fn check_host(
    rdt: &LinuxIntelRdt,
    resctrl: Option<&Resctrl>,
) -> Result<(), (String, ConfigReason)> {
    let unsupported = |f: String, why: &str| Err((f, ConfigReason::Unsupported(why.into())));
    let Some(r) = resctrl else {
        return unsupported(
            "linux.intelRdt".into(),
            "intelRdt is specified in config, but Intel RDT is not enabled (no resctrl \
             filesystem is mounted)",
        );
    };
    if rdt.l3_cache_schema().is_some() && !r.cat() {
        return unsupported(
            field("l3CacheSchema"),
            "intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled",
        );
    }
    if rdt.mem_bw_schema().is_some() && !r.mba() {
        return unsupported(
            field("memBwSchema"),
            "intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled",
        );
    }
    if *rdt.enable_monitoring() == Some(true) && !r.monitoring() {
        return unsupported(
            field("enableMonitoring"),
            "intelRdt.enableMonitoring is specified in config, but Intel RDT monitoring \
             (info/L3_MON) is not enabled",
        );
    }
    Ok(())
}

/// The schema lines to write, in the spec's order: l3CacheSchema, memBwSchema, then schemata.
fn schema_lines(rdt: &LinuxIntelRdt) -> Vec<&str> {
    let single = [rdt.l3_cache_schema(), rdt.mem_bw_schema()];
    single
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain(rdt.schemata().iter().flatten().map(String::as_str))
        .filter(|s| !s.is_empty())
        .collect()
}

/// The schema lines as the `schemata` file takes them, one per line.
fn schema_text(rdt: &LinuxIntelRdt) -> String {
    schema_lines(rdt).iter().map(|l| format!("{l}\n")).collect()
}

/// The container's resctrl group, as recorded (intent record and state) for delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdtGroup {
    /// The resctrl root it lies in.
    pub resctrl: PathBuf,
    /// The CTRL_MON group: `closID` or the container id under the root.
    pub path: PathBuf,
    /// Whether delete removes it: made for the container id (no `closID`) by this container.
    pub remove: bool,
    /// `mon_groups/<container id>` in it, with `enableMonitoring` (always removed on delete).
    pub mon: Option<PathBuf>,
}

impl RdtGroup {
    /// Where the container's group is and what delete will remove; nothing is made. A
    /// `closID` without any schema must name an existing group (runc's rule).
    pub(crate) fn plan(
        resctrl: &Resctrl,
        rdt: &LinuxIntelRdt,
        id: &str,
    ) -> Result<RdtGroup, (String, ConfigReason)> {
        let clos = rdt.clos_id().as_deref().filter(|c| !c.is_empty());
        let path = match clos {
            Some("/") => resctrl.root.clone(),
            Some(c) => resctrl.root.join(c),
            None => resctrl.root.join(id),
        };
        if clos.is_some() && schema_lines(rdt).is_empty() && !path.is_dir() {
            let why = format!(
                "clos dir not accessible (must be pre-created when schemata, l3CacheSchema and \
                 memBwSchema are empty): {} does not exist",
                path.display()
            );
            return Err((field("closID"), ConfigReason::Invalid(why)));
        }
        let mon =
            (*rdt.enable_monitoring() == Some(true)).then(|| path.join("mon_groups").join(id));
        Ok(RdtGroup {
            resctrl: resctrl.root.clone(),
            remove: clos.is_none() && !path.exists(),
            path,
            mon,
        })
    }

    /// Makes the group when absent, writes its schemata, puts `pid` in it (and in its
    /// monitoring group). A failure names the file and errno, with the kernel's
    /// `last_cmd_status`.
    pub(crate) fn apply(
        &mut self,
        rdt: &LinuxIntelRdt,
        pid: i32,
    ) -> Result<(), (String, ConfigReason)> {
        let resctrl = Resctrl::at(&self.resctrl);
        let fail = |f: &str, context: String, error: SysError| {
            let context = match resctrl.last_cmd_status() {
                Some(status) => format!("{context} (last_cmd_status: {status})"),
                None => context,
            };
            (field(f), ConfigReason::Sys { context, error })
        };
        // The group: made unless it exists (then it is shared, and not ours to remove, even
        // if the plan found it absent: something made it since).
        if self.path != self.resctrl {
            match make_dir(&self.path) {
                Ok(created) => self.remove &= created,
                Err(e) => return Err(fail("closID", "creating the resctrl group".into(), e)),
            }
        }
        // The schemata, in one write, before any task runs under the group.
        self.write_schemata(rdt)
            .map_err(|e| fail("schemata", format!("writing {:?}", schema_text(rdt)), e))?;
        // The init, and so everything it will fork.
        let tasks = self.path.join("tasks");
        write_file(&tasks, &pid.to_string())
            .map_err(|e| fail("closID", format!("adding pid {pid}"), e))?;
        // Its monitoring group (the spec: failing to make it is an error).
        if let Some(mon) = &self.mon {
            // resctrl gives every group its `mon_groups` (EEXIST); a plain tree needs it made.
            if let Some(parent) = mon.parent() {
                make_dir(parent)
                    .map_err(|e| fail("enableMonitoring", "creating mon_groups".into(), e))?;
            }
            make_dir(mon)
                .map_err(|e| fail("enableMonitoring", "creating the MON group".into(), e))?;
            write_file(&mon.join("tasks"), &pid.to_string()).map_err(|e| {
                fail(
                    "enableMonitoring",
                    format!("adding pid {pid} to the MON group"),
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// Writes the schema lines of `rdt` to the group's `schemata` in one write (nothing when
    /// it has none: the spec's MUST NOT).
    pub(crate) fn write_schemata(&self, rdt: &LinuxIntelRdt) -> Result<(), SysError> {
        let text = schema_text(rdt);
        if text.is_empty() {
            return Ok(());
        }
        write_file(&self.path.join("schemata"), &text)
    }

    /// Puts an exec'd process in the group, as runc does (only while the group exists; its
    /// monitoring group is the init's alone, as in runc).
    pub(crate) fn add_exec(&self, pid: i32) -> Result<(), SysError> {
        if !self.path.is_dir() {
            return Ok(());
        }
        write_file(&self.path.join("tasks"), &pid.to_string())
    }

    /// Removes what the container made: its monitoring group, and its group unless shared.
    /// Gone already is fine (a delete killed half-way is run again).
    pub(crate) fn remove(&self) -> Result<(), SysError> {
        if let Some(mon) = &self.mon {
            remove_dir(mon)?;
        }
        if self.remove && self.path != self.resctrl {
            remove_dir(&self.path)?;
        }
        Ok(())
    }

    /// runc's `intel_rdt` statistics of the group.
    pub(crate) fn stats(&self) -> cgroups::IntelRdt {
        let resctrl = Resctrl::at(&self.resctrl);
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let root_lines = read(self.resctrl.join("schemata"));
        let lines = read(self.path.join("schemata"));
        let pick = |text: &str, kind: &str| {
            text.lines()
                .map(str::trim)
                .find(|l| l.contains(kind))
                .unwrap_or_default()
                .to_string()
        };
        let num = |dir: &str, name: &str| {
            read(self.resctrl.join("info").join(dir).join(name))
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
        };
        let mut s = cgroups::IntelRdt {
            schemata: lines.trim_end().lines().map(str::to_string).collect(),
            ..Default::default()
        };
        if resctrl.cat() {
            s.l3_cache_info = Some(cgroups::L3CacheInfo {
                cbm_mask: read(self.resctrl.join("info/L3/cbm_mask"))
                    .trim()
                    .to_string(),
                min_cbm_bits: num("L3", "min_cbm_bits"),
                num_closids: num("L3", "num_closids"),
            });
            s.l3_cache_schema_root = pick(&root_lines, "L3");
            s.l3_cache_schema = pick(&lines, "L3");
        }
        if resctrl.mba() {
            s.mem_bw_info = Some(cgroups::MemBwInfo {
                bandwidth_gran: num("MB", "bandwidth_gran"),
                delay_linear: num("MB", "delay_linear"),
                min_bandwidth: num("MB", "min_bandwidth"),
                num_closids: num("MB", "num_closids"),
            });
            s.mem_bw_schema_root = pick(&root_lines, "MB");
            s.mem_bw_schema = pick(&lines, "MB");
        }
        self.monitoring_stats(&mut s);
        s
    }

    /// runc's `mbm_stats` / `cmt_stats`: the counters of each `mon_data` domain of the MON
    /// group (else of the group), for the features `info/L3_MON/mon_features` lists.
    fn monitoring_stats(&self, s: &mut cgroups::IntelRdt) {
        let features = std::fs::read_to_string(self.resctrl.join("info/L3_MON/mon_features"))
            .unwrap_or_default();
        let has = |f: &str| features.lines().any(|l| l.trim() == f);
        let mbm = has("mbm_total_bytes") || has("mbm_local_bytes");
        let cmt = has("llc_occupancy");
        if !mbm && !cmt {
            return;
        }
        let dir = self.mon.as_ref().unwrap_or(&self.path).join("mon_data");
        let mut domains: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|it| {
                it.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        domains.sort();
        let num = |d: &Path, f: &str| {
            std::fs::read_to_string(d.join(f))
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        s.mbm_stats = mbm.then(|| {
            let one = |d: &PathBuf| cgroups::MbmNumaNodeStats {
                mbm_total_bytes: num(d, "mbm_total_bytes"),
                mbm_local_bytes: num(d, "mbm_local_bytes"),
            };
            domains.iter().map(one).collect()
        });
        s.cmt_stats = cmt.then(|| {
            let one = |d: &PathBuf| cgroups::CmtNumaNodeStats {
                llc_occupancy: num(d, "llc_occupancy"),
            };
            domains.iter().map(one).collect()
        });
    }
}

/// An io error as the library's typed syscall error.
fn sys_error(op: SysOp, path: &Path, e: &std::io::Error) -> SysError {
    SysError::new(
        op,
        Some(path),
        Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    )
}

/// mkdir, an existing directory being fine (a shared group); whether this call made it.
fn make_dir(path: &Path) -> Result<bool, SysError> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(sys_error(SysOp::Mkdir, path, &e)),
    }
}

/// One write(2) of `value` to a resctrl file. O_CREAT changes nothing on resctrl, whose groups
/// come with their files, and lets a plain directory tree stand in for it.
fn write_file(path: &Path, value: &str) -> Result<(), SysError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| sys_error(SysOp::Open, path, &e))?;
    f.write_all(value.as_bytes())
        .map_err(|e| sys_error(SysOp::Write, path, &e))
}

/// rmdir of a group. resctrl removes a group with its files (and its tasks go back to the
/// parent group); a plain tree standing in for it (not resctrl: ENOTEMPTY) has its files and
/// monitoring groups removed first.
fn remove_dir(path: &Path) -> Result<(), SysError> {
    match std::fs::remove_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e)
            if e.raw_os_error() == Some(libc::ENOTEMPTY)
                && sys::fs_magic(path).is_ok_and(|m| m != RDTGROUP_SUPER_MAGIC) =>
        {
            remove_plain_group(path)
        }
        Err(e) => Err(sys_error(SysOp::Unlink, path, &e)),
    }
}

/// A plain directory standing in for a group: only what a group holds is removed (its regular
/// files, `mon_data/<domain>/` files, and `mon_groups/` with its groups); anything else (a
/// symlink, another directory) stays, and the rmdir then fails naming the group, so a wrong
/// `resctrl_root` is never emptied recursively.
fn remove_plain_group(path: &Path) -> Result<(), SysError> {
    let unlink = |p: &Path| std::fs::remove_file(p).map_err(|e| sys_error(SysOp::Unlink, p, &e));
    let entries = std::fs::read_dir(path).map_err(|e| sys_error(SysOp::Open, path, &e))?;
    for entry in entries.flatten() {
        let (p, kind) = (entry.path(), entry.file_type().ok());
        if kind.is_some_and(|k| k.is_file()) {
            unlink(&p)?;
        } else if kind.is_some_and(|k| k.is_dir()) {
            // Groups in mon_groups, files per domain in mon_data.
            let inner: fn(&Path) -> Result<(), SysError> = match entry.file_name().to_str() {
                Some("mon_groups") => remove_plain_group,
                Some("mon_data") => remove_plain_files,
                _ => continue,
            };
            let subs = std::fs::read_dir(&p).map_err(|e| sys_error(SysOp::Open, &p, &e))?;
            for d in subs
                .flatten()
                .filter(|d| d.file_type().is_ok_and(|k| k.is_dir()))
            {
                inner(&d.path())?;
            }
            std::fs::remove_dir(&p).map_err(|e| sys_error(SysOp::Unlink, &p, &e))?;
        }
    }
    std::fs::remove_dir(path).map_err(|e| sys_error(SysOp::Unlink, path, &e))
}

/// A directory of regular files only (a fake `mon_data` domain), then the directory.
fn remove_plain_files(path: &Path) -> Result<(), SysError> {
    let entries = std::fs::read_dir(path).map_err(|e| sys_error(SysOp::Open, path, &e))?;
    for f in entries
        .flatten()
        .filter(|f| f.file_type().is_ok_and(|k| k.is_file()))
    {
        let p = f.path();
        std::fs::remove_file(&p).map_err(|e| sys_error(SysOp::Unlink, &p, &e))?;
    }
    std::fs::remove_dir(path).map_err(|e| sys_error(SysOp::Unlink, path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdt(json: serde_json::Value) -> LinuxIntelRdt {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn clos_ids_follow_runcs_rule() {
        for bad in [".", "..", "a/b", "/a"] {
            let e = check_config(&rdt(serde_json::json!({ "closID": bad }))).unwrap_err();
            assert_eq!(e.0, "linux.intelRdt.closID", "{bad}");
        }
        for good in ["/", "guaranteed_group", "a.b"] {
            check_config(&rdt(serde_json::json!({ "closID": good }))).unwrap();
        }
    }

    #[test]
    fn schema_lines_come_in_the_specs_order() {
        let r = rdt(serde_json::json!({
            "schemata": ["L2:0=f", "MB:0=70"],
            "memBwSchema": "MB:0=20",
            "l3CacheSchema": "L3:0=7f0"
        }));
        assert_eq!(
            schema_lines(&r),
            ["L3:0=7f0", "MB:0=20", "L2:0=f", "MB:0=70"]
        );
        let e = check_config(&rdt(serde_json::json!({"schemata": ["L3:0=f\nMB:0=1"]})));
        assert_eq!(e.unwrap_err().0, "linux.intelRdt.schemata[0]");
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape_octal(r"/mnt/a\040b"), PathBuf::from("/mnt/a b"));
        assert_eq!(
            unescape_octal("/sys/fs/resctrl"),
            PathBuf::from("/sys/fs/resctrl")
        );
    }
}
