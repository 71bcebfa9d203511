//! cgroup v1, v2 and hybrid management for the runr container runtime.
//!
//! # Why own code rather than `cgroups-rs`
//! The runtime needs a small, fast-starting binary and runc-exact behaviour. `cgroups-rs` is
//! built around its own resource model (with its own conversions and its own idea of which
//! zero values mean "unset"), pulls in extra dependencies, hides which file was written with
//! which value when something fails, and has no hybrid-layout handling that matches runc's
//! (joining the same path under `/sys/fs/cgroup/unified`). Writing the files ourselves is a few
//! hundred lines per cgroup version, lets every conversion mirror runc 1.1.5 line for line, and
//! lets every error carry the operation, the path, the value and the errno. So this crate uses
//! no `cgroups-rs` at all: only `libc` (eventfd, inotify, bpf), `oci-spec` (the input),
//! `serde` (the [`Manager`] is stored in state.json) and `thiserror`.
//!
//! # Shape
//! - [`detect`](crate::detect_layout): mountinfo → which hierarchies, where; /proc/self/cgroup →
//!   where we are.
//! - `path`: linux.cgroupsPath → one directory per hierarchy, as runc resolves it.
//! - `resources/`: one file per controller, each with its v1 and v2 writer (runc's conversions
//!   and its "0 means unset" rule live there).
//! - `freezer`, `stats`, `devices_bpf` (the v2 device filter), `oom` (OOM notification).
//! - `fs`: reading/writing cgroup files with errors that carry path and value.
//! - `sys`: the only unsafe code (eventfd, inotify, kill, bpf), each block with a SAFETY note.
//!
//! # Layouts
//! - **Legacy** (v1 only) and **Hybrid** (v1 controllers plus a cgroup2 mount, usually at
//!   /sys/fs/cgroup/unified): controllers are driven through v1. On hybrid the container's
//!   cgroup is also created and joined under the unified mount, as runc does. When a v1
//!   controller is not mounted but is available in the hybrid unified hierarchy (e.g. hugetlb on
//!   some hosts), the v2 writer is used there if the controller is already enabled in the
//!   unified root's `cgroup.subtree_control`; this crate never enables one there (it would
//!   outlive the container and keep the controller from being mounted as v1 again), so
//!   otherwise the field is refused.
//! - **Unified** (v2): one directory; the controllers of the root are enabled in every
//!   ancestor's `cgroup.subtree_control` on create (as runc's fs2 does).
//!
//! # Call order
//! `new` → `create` → `apply` → `add_task(pid)` (apply may also follow add_task, as in runc;
//! calling it first lets realtime CPU settings be in place before a SCHED_RR task joins).
//!
//! A resource the spec sets whose controller is absent fails with
//! [`Error::ControllerUnavailable`] before anything is written; nothing is skipped silently.
//! The only fields ignored are those runc 1.1.5 ignores too (memory.kernel, memory.kernelTCP,
//! memory.useHierarchy; on v2 memory.swappiness, memory.disableOOMKiller and blockIO.leafWeight);
//! [`ignored_fields`] lists the ones a given spec sets so the caller can warn.
//!
//! Devices: the caller passes the complete rule list (runc's default allowed devices plus the
//! spec's, as runc's specconv builds it); [`default_device_rules`] returns runc's defaults.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod detect;
mod devices_bpf;
mod error;
mod freezer;
mod fs;
#[cfg(test)]
mod host_v2_tests;
mod oom;
mod path;
mod resources;
mod rootless;
mod stats;
mod sys;
mod systemd;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

pub use error::{Errno, Error, Op, Result};
pub use oci_spec::runtime::LinuxResources;
pub use resources::devices::default_device_rules;
pub use resources::ignored_fields;
pub use stats::{CmtNumaNodeStats, IntelRdt, L3CacheInfo, MbmNumaNodeStats, MemBwInfo, Stats};
pub use systemd::Prepared;

use fs::CgDir;

/// How cgroups are mounted on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Layout {
    /// cgroup v1 only.
    Legacy,
    /// cgroup v1 controllers plus a cgroup2 mount (usually /sys/fs/cgroup/unified).
    Hybrid,
    /// cgroup v2 only, mounted at /sys/fs/cgroup.
    Unified,
}

/// Whether the systemd cgroup driver can be used here: systemd is PID 1 and answers on the
/// system bus (or its private socket).
pub fn systemd_usable() -> bool {
    systemd::usable()
}

/// Detect the host's cgroup layout from /proc/self/mountinfo.
pub fn detect_layout() -> Result<Layout> {
    detect::detect_layout()
}

/// One hierarchy's mount and the container's directory in it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Hierarchy {
    /// v1: the controllers of this hierarchy ("name=systemd" for the named one).
    /// v2: the controllers available at the root (its cgroup.controllers).
    controllers: Vec<String>,
    mount: PathBuf,
    dir: PathBuf,
}

/// The container's cgroup(s): where they are and how to drive them. Serializable so the
/// runtime can keep it in state.json and rebuild it for delete/update/pause.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manager {
    layout: Layout,
    /// v1 hierarchies (Legacy, Hybrid).
    #[serde(default)]
    v1: Vec<Hierarchy>,
    /// The v2 directory: the container's cgroup on Unified, its twin under the unified mount on
    /// Hybrid.
    #[serde(default)]
    v2: Option<Hierarchy>,
    /// Directories that did not exist when the manager was made (top first); `destroy`
    /// removes those of them that are empty, so no empty parents are left behind.
    #[serde(default)]
    created: Vec<PathBuf>,
    /// Created under runc's rootless rule ([`Manager::create_rootless`]): device rules are
    /// best effort, as in runc.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    rootless: bool,
    /// Hierarchies the rootless rule skipped (no permission to create the directory).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<rootless::Skipped>,
    /// The systemd driver's unit name (`--systemd-cgroup`); `None` for the cgroupfs driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    systemd: Option<String>,
    /// The unit is the user's systemd's (`user@UID.service`, over the session bus), not the
    /// system's: runc's rootless systemd driver.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    systemd_user: bool,
    /// The user's systemd create found (bus socket, manager): later commands reach it there,
    /// whatever their environment. `None` in states written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    systemd_user_bus: Option<systemd::UserBus>,
    /// The slice the unit is started in (only the creating process needs it).
    #[serde(skip)]
    systemd_slice: String,
    /// Where every write is also recorded ([`Manager::journal_writes`]); not persisted.
    #[serde(skip)]
    journal: Journal,
}

/// The optional write journal: an observer, so it takes no part in a manager's equality.
#[derive(Debug, Clone, Default)]
struct Journal(Option<std::sync::Arc<std::fs::File>>);

impl PartialEq for Journal {
    fn eq(&self, _: &Journal) -> bool {
        true
    }
}

impl Eq for Journal {}

impl Manager {
    /// Resolve the container's cgroup directories on this host (nothing is created yet).
    pub fn new(cgroups_path: Option<&str>, container_id: &str, systemd: bool) -> Result<Manager> {
        // systemd driver: the unit's cgroup, at the same place below every hierarchy's root.
        let unit = match systemd {
            true => Some(systemd::parse(cgroups_path, container_id, "system.slice")?),
            false => None,
        };
        let inner = match &unit {
            Some(u) => u.cgroup.clone(),
            None => path::inner_path(cgroups_path, container_id)?,
        };
        let host = detect::Host::probe()?;
        let mut m = Self::build(&host, host.layout()?, &inner)?;
        if let Some(unit) = unit {
            // systemd makes the unit's directories (and removes them): none is runr's to remove.
            m.created.clear();
            m.systemd = Some(unit.name);
            m.systemd_slice = unit.slice;
        }
        Ok(m)
    }

    /// The systemd driver of an unprivileged runtime (runc's rootless `--systemd-cgroup`): the
    /// user's own systemd (`user@UID.service`), reached over the session bus
    /// (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`), makes the unit; an empty
    /// slice is `user.slice`, and the unit's cgroup is below that manager's `ControlGroup`.
    /// Pure cgroup v2 only (a user's systemd delegates nothing on v1), as in runc. The manager
    /// follows the rootless rule for what the user cannot do (device rules are best effort).
    pub fn new_systemd_user(cgroups_path: Option<&str>, container_id: &str) -> Result<Manager> {
        let unit = systemd::parse(cgroups_path, container_id, "user.slice")?;
        systemd::check_booted(&unit.name)?;
        let host = detect::Host::probe()?;
        let layout = host.layout()?;
        if layout != Layout::Unified {
            return Err(Error::SystemdUserNeedsV2 { layout });
        }
        // The user's units live below its manager's own cgroup; the manager is kept so that a
        // later command with another environment reaches the same one.
        let user_bus = systemd::user_bus()?;
        let inner = format!("{}{}", user_bus.manager.trim_end_matches('/'), unit.cgroup);
        let mut m = Self::build(&host, layout, &inner)?;
        m.created.clear();
        m.systemd = Some(unit.name);
        m.systemd_user = true;
        m.systemd_user_bus = Some(user_bus);
        m.systemd_slice = unit.slice;
        m.rootless = true;
        Ok(m)
    }

    /// Whether the user's session bus is named (`DBUS_SESSION_BUS_ADDRESS`) or present
    /// (`$XDG_RUNTIME_DIR/bus`): where [`Manager::new_systemd_user`] finds the user's systemd.
    pub fn session_bus_found() -> bool {
        systemd::session_bus_found()
    }

    /// Same as [`Manager::new`] against a tree laid out like /sys/fs/cgroup under `root`: each
    /// sub-directory a v1 hierarchy named by its controllers (`Legacy`, `Hybrid`, with
    /// `unified` the cgroup2 mount on `Hybrid`), or `root` itself the cgroup2 mount
    /// (`Unified`). The process is taken to be in the root cgroup. Everything else is done as
    /// on the host's tree: files are opened without `O_CREAT`, so they must exist as a
    /// kernel's do (tests point this at a directory tree they lay out themselves).
    pub fn with_root(
        root: &Path,
        layout: Layout,
        cgroups_path: Option<&str>,
        container_id: &str,
    ) -> Result<Manager> {
        let inner = path::inner_path(cgroups_path, container_id)?;
        let host = detect::Host::at_root(root, layout)?;
        Self::build(&host, layout, &inner)
    }

    /// Append every cgroup file write from now on to `journal` as a line `<path> <value>`,
    /// after the write succeeded (an audit trail of what was written and in which order; the
    /// writes themselves are unchanged). Not persisted with the manager.
    pub fn journal_writes(&mut self, journal: std::fs::File) {
        self.journal = Journal(Some(std::sync::Arc::new(journal)));
    }

    fn build(host: &detect::Host, layout: Layout, inner: &str) -> Result<Manager> {
        let mut m = Manager {
            layout,
            v1: Vec::new(),
            v2: None,
            created: Vec::new(),
            rootless: false,
            skipped: Vec::new(),
            systemd: None,
            systemd_user: false,
            systemd_user_bus: None,
            systemd_slice: String::new(),
            journal: Journal::default(),
        };
        if layout != Layout::Unified {
            for mount in &host.v1 {
                let own = mount.controllers.first().and_then(|c| host.own.get(c));
                let dir = path::resolve(mount, own.map(String::as_str), inner, false);
                m.created.extend(fs::missing_dirs(&dir, &mount.mountpoint));
                m.v1.push(Hierarchy {
                    controllers: mount.controllers.clone(),
                    mount: mount.mountpoint.clone(),
                    dir,
                });
            }
        }
        if layout != Layout::Legacy {
            if let Some(mount) = &host.v2 {
                let own = host.own.get("");
                let dir = path::resolve(
                    mount,
                    own.map(String::as_str),
                    inner,
                    layout == Layout::Unified,
                );
                let controllers = fs::read(&mount.mountpoint.join("cgroup.controllers"))
                    .map(|s| s.split_whitespace().map(str::to_string).collect())
                    .unwrap_or_default();
                m.created.extend(fs::missing_dirs(&dir, &mount.mountpoint));
                m.v2 = Some(Hierarchy {
                    controllers,
                    mount: mount.mountpoint.clone(),
                    dir,
                });
            } else if layout == Layout::Unified {
                return Err(Error::NoCgroupFs {
                    path: "/proc/self/mountinfo".into(),
                    reason: "no cgroup2 mount found".into(),
                });
            }
        }
        Ok(m)
    }

    /// The systemd driver's unit name (`runr-<id>.scope`), `None` for the cgroupfs driver.
    pub fn systemd_unit(&self) -> Option<&str> {
        self.systemd.as_deref()
    }

    /// Whether the systemd unit is the user's systemd's ([`Manager::new_systemd_user`]).
    pub fn systemd_user(&self) -> bool {
        self.systemd_user
    }

    fn systemd_scope(&self) -> systemd::Scope<'_> {
        match self.systemd_user {
            true => systemd::Scope::User(self.systemd_user_bus.as_ref()),
            false => systemd::Scope::System,
        }
    }

    /// The host layout this manager drives.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The container's directory for a v1 controller (`None` if the controller is not mounted
    /// or the layout is Unified).
    pub fn v1_path(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
            .map(|h| h.dir.as_path())
    }

    /// The container's v2 directory (Unified), or its unified-mount twin (Hybrid).
    pub fn v2_path(&self) -> Option<&Path> {
        self.v2.as_ref().map(|h| h.dir.as_path())
    }

    /// Every directory of the container's cgroup, one per hierarchy (runc's `cgroup_paths`:
    /// controller name → path; "" for the v2/unified one).
    pub fn paths(&self) -> std::collections::BTreeMap<String, PathBuf> {
        let mut out = std::collections::BTreeMap::new();
        for h in &self.v1 {
            for c in &h.controllers {
                out.insert(c.clone(), h.dir.clone());
            }
        }
        if let Some(h) = &self.v2 {
            out.insert(String::new(), h.dir.clone());
        }
        out
    }

    fn dirs(&self) -> Vec<&Path> {
        let mut v: Vec<&Path> = self.v1.iter().map(|h| h.dir.as_path()).collect();
        if let Some(h) = &self.v2 {
            v.push(&h.dir);
        }
        v
    }

    pub(crate) fn cg<'a>(&'a self, dir: &'a Path) -> CgDir<'a> {
        CgDir::new(dir, self.journal.0.as_deref())
    }

    /// The directory whose cgroup.procs lists the container's processes.
    fn procs_dir(&self) -> Option<&Path> {
        if self.layout == Layout::Unified {
            return self.v2_path();
        }
        ["pids", "devices", "freezer", "memory", "cpu"]
            .iter()
            .find_map(|c| self.v1_path(c))
            .or_else(|| self.v1.first().map(|h| h.dir.as_path()))
            .or_else(|| self.v2_path())
    }

    /// mkdir -p the container's cgroup in every hierarchy; idempotent. Refuses a pre-existing
    /// cgroup that is frozen (as runc does). A pre-existing cgroup that already has processes
    /// is shared, as runc 1.1.5 shares it (runc 1.2 and later refuse it): the number of
    /// processes found is returned for the caller to warn about, and such a container's
    /// cgroup is removed with [`Manager::release`], which leaves the other processes alone.
    pub fn create(&self) -> Result<usize> {
        let found = self.create_but_v1()?;
        self.create_v1_dirs()?;
        Ok(found)
    }

    /// [`create`](Self::create) without the v1 directories: the checks, and the cgroup2
    /// directory (a process can be born in it, `CLONE_INTO_CGROUP`); [`create_v1_dirs`]
    /// makes the rest later (a runtime overlaps them with its init's first steps).
    ///
    /// [`create_v1_dirs`]: Self::create_v1_dirs
    pub fn create_but_v1(&self) -> Result<usize> {
        let found = self.in_use()?;
        self.check_reusable()?;
        if self.systemd.is_some() {
            // systemd makes the unit's cgroup when it starts the unit (see `enter`).
            return Ok(found);
        }
        if let Some(h) = &self.v2 {
            self.create_v2(h)?;
        }
        Ok(found)
    }

    /// The v1 directories of [`create`](Self::create) (none on a pure cgroup2 host or with
    /// the systemd driver); idempotent.
    pub fn create_v1_dirs(&self) -> Result<()> {
        if self.systemd.is_some() {
            return Ok(());
        }
        for h in &self.v1 {
            self.create_v1(h)?;
        }
        Ok(())
    }

    /// Whether the cgroupfs driver has v1 directories to make (a legacy or hybrid host).
    pub fn has_v1_dirs(&self) -> bool {
        self.systemd.is_none() && !self.v1.is_empty()
    }

    /// An existing cgroup may be reused unless it is frozen (as in runc).
    fn check_reusable(&self) -> Result<()> {
        if self.is_frozen()? {
            let path = freezer::state_dir(self).unwrap_or_default();
            return Err(Error::Frozen { path });
        }
        Ok(())
    }

    fn create_v1(&self, h: &Hierarchy) -> Result<()> {
        fs::mkdir_all(&h.dir)?;
        if h.controllers.iter().any(|c| c == "cpuset") {
            resources::cpu::cpuset_copy_down(self, &h.mount, &h.dir)?;
        }
        Ok(())
    }

    fn create_v2(&self, h: &Hierarchy) -> Result<()> {
        if self.layout == Layout::Unified {
            resources::enable_v2_controllers(self, h, &h.controllers)
        } else {
            fs::mkdir_all(&h.dir).map(drop)
        }
    }

    /// Before the clone: the systemd driver connects to systemd and builds the unit's
    /// properties from `res` and the spec's `org.systemd.property.*` annotations (so a bus
    /// that does not answer or a bad annotation fails before any process exists). Nothing
    /// for the cgroupfs driver.
    pub fn prepare(
        &self,
        res: &LinuxResources,
        annotations: &std::collections::HashMap<String, String>,
    ) -> Result<Prepared> {
        match &self.systemd {
            Some(unit) => systemd::prepare(
                self.systemd_scope(),
                unit,
                &self.systemd_slice,
                self.layout,
                &self.rounded(res),
                annotations,
            ),
            None => Ok(Prepared::none()),
        }
    }

    /// After the clone, before the init goes on: the systemd driver starts the unit with
    /// `pid` in it (StartTransientUnit, waiting for its job), then makes the directories of
    /// the v1 hierarchies systemd does not manage (cpuset, freezer, …; the init or
    /// [`Manager::add_task`] joins them) and enables the v2 controllers below the unit, as
    /// runc does. Nothing for the cgroupfs driver (the init is born in its cgroup).
    pub fn enter(&self, pid: i32, prepared: Prepared) -> Result<()> {
        let Some(unit) = &self.systemd else {
            return Ok(());
        };
        systemd::start(unit, pid, prepared)?;
        for h in &self.v1 {
            fs::mkdir_all(&h.dir)?;
            if h.controllers.iter().any(|c| c == "cpuset") {
                resources::cpu::cpuset_copy_down(self, &h.mount, &h.dir)?;
            }
        }
        if let Some(h) = self.v2.as_ref().filter(|_| self.layout == Layout::Unified) {
            resources::enable_v2_controllers(self, h, &h.controllers)?;
        }
        Ok(())
    }

    /// The resources as written to the files: with the systemd driver, a CPU quota rounded
    /// up as systemd rounds CPUQuotaPerSecUSec, so the unit and cpu.max agree (runc 1.2+).
    fn rounded<'a>(&self, res: &'a LinuxResources) -> std::borrow::Cow<'a, LinuxResources> {
        let quota = res
            .cpu()
            .as_ref()
            .and_then(|c| c.quota())
            .filter(|q| *q > 0);
        let (Some(quota), Some(_)) = (quota, &self.systemd) else {
            return std::borrow::Cow::Borrowed(res);
        };
        let mut out = res.clone();
        if let Some(mut cpu) = res.cpu().clone() {
            let (_, rounded) = systemd::cpu_quota(u32::MAX, quota, cpu.period().unwrap_or(0));
            cpu.set_quota(Some(rounded));
            out.set_cpu(Some(cpu));
        }
        std::borrow::Cow::Owned(out)
    }

    /// Open the v2 cgroup directory (O_PATH|O_DIRECTORY|O_CLOEXEC) for clone3's
    /// CLONE_INTO_CGROUP; `None` on Legacy and Hybrid (the parent writes the pid instead).
    pub fn v2_dir_fd(&self) -> Result<Option<OwnedFd>> {
        if self.layout != Layout::Unified {
            return Ok(None);
        }
        let Some(dir) = self.v2_path() else {
            return Ok(None);
        };
        open_dir_path(dir).map(Some)
    }

    /// The unified (cgroup2) directory for CLONE_INTO_CGROUP on a Unified *or* Hybrid host:
    /// on a hybrid host the cgroup2 mount is the kernel's default hierarchy, so a child can be
    /// born in the unified twin too. `None` on Legacy.
    pub fn unified_dir_fd(&self) -> Result<Option<OwnedFd>> {
        match self.v2_path() {
            Some(dir) if self.layout != Layout::Legacy => open_dir_path(dir).map(Some),
            _ => Ok(None),
        }
    }

    /// The v1 `tasks` files a process writes `0` into to move *itself* into the container's
    /// cgroups. Moving oneself through `tasks` skips the threadgroup lock that a write of another
    /// process's pid to `cgroup.procs` takes (and the RCU grace period it waits for: 5–15 ms
    /// measured here against 0.3 ms), which is why the container's init joins by itself.
    /// Only valid for a single-threaded process (the init is).
    pub fn v1_self_join_files(&self) -> Vec<PathBuf> {
        self.v1.iter().map(|h| h.dir.join("tasks")).collect()
    }

    /// Move `pid` into the container's cgroup in every hierarchy (and the hybrid unified twin).
    pub fn add_task(&self, pid: i32) -> Result<()> {
        let value = pid.to_string();
        for dir in self.dirs() {
            let cg = self.cg(dir);
            // runc: EINVAL may mean the task is still TASK_NEW; retry a few times.
            let mut tries = 0;
            loop {
                match cg.write("cgroup.procs", &value) {
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) && tries < 5 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(30));
                    }
                    other => break other?,
                }
            }
        }
        Ok(())
    }

    /// Apply every field of linux.resources at create time (runc's conversions; 0 = unset).
    pub fn apply(&self, res: &LinuxResources) -> Result<()> {
        resources::set(self, &self.rounded(res))
    }

    /// The checks [`Manager::update`] makes before it writes anything (every controller
    /// there, every value one the kernel takes), without writing: an error here means an
    /// update of `res` would change nothing.
    pub fn check_update(&self, res: &LinuxResources) -> Result<()> {
        resources::check(self, &self.rounded(res))
    }

    /// Update a running container (runc update semantics: zero/absent fields are left as they
    /// are). Device rules given here are applied with the fewest writes (v1) or a filter
    /// attached before the old one is detached (v2), so the container never loses a device it
    /// may use meanwhile. runr's `update` gives none: runc's `update` skips devices, so that
    /// rules a plugin added on top (NVIDIA's GPU hook) are not taken back.
    /// With the systemd driver the unit's properties are changed first (SetUnitProperties,
    /// runtime), then the files, as runc does.
    pub fn update(&self, res: &LinuxResources) -> Result<()> {
        let res = self.rounded(res);
        if let Some(unit) = &self.systemd {
            systemd::update(self.systemd_scope(), unit, self.layout, &res)?;
        }
        resources::set(self, &res)
    }

    /// Every pid in the container's cgroup, including nested sub-cgroups.
    /// How many processes the container's cgroup already holds (0 when it does not exist yet):
    /// more than 0 before `create` means it is shared with someone else.
    pub fn in_use(&self) -> Result<usize> {
        match self.procs_dir() {
            Some(dir) if dir.exists() => Ok(self.pids()?.len()),
            _ => Ok(0),
        }
    }

    /// Every pid in the container's cgroup and its sub-cgroups, sorted.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let Some(dir) = self.procs_dir() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        collect_pids(dir, &mut out)?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Freeze the container and wait until the kernel reports it frozen.
    pub fn freeze(&self) -> Result<()> {
        freezer::freeze(self)
    }

    /// Thaw the container.
    pub fn thaw(&self) -> Result<()> {
        freezer::thaw(self)
    }

    /// Whether the container's cgroup is frozen (by itself, not just by an ancestor on v1).
    pub fn is_frozen(&self) -> Result<bool> {
        freezer::is_frozen(self)
    }

    /// Usage statistics shaped like runc's `events --stats` "data" object.
    pub fn stats(&self) -> Result<Stats> {
        stats::collect(self)
    }

    /// Send `signal` to every process in the cgroup. The cgroup is frozen while the processes
    /// are signalled (so nothing forks out of the way or exits and has its pid reused), as runc
    /// does; a paused container stays paused for any signal but SIGKILL. With cgroup.kill
    /// (Linux 5.14+; v2, or the unified cgroup of a hybrid host) SIGKILL uses that file instead.
    pub fn kill_all(&self, signal: i32) -> Result<()> {
        if signal == libc::SIGKILL && self.kill_through_cgroup_kill()? {
            let dir = self.v2_path().expect("checked: a v2 directory");
            self.cg(dir).write("cgroup.kill", "1")?;
            // On a hybrid host a process frozen by the v1 freezer acts on SIGKILL only once
            // thawed (v2's own freezer lets a fatal signal through).
            if self.layout != Layout::Unified && freezer::available(self) {
                let _ = self.thaw();
            }
            return Ok(());
        }
        let has_freezer = freezer::available(self);
        let was_frozen = has_freezer && self.is_frozen().unwrap_or(false);
        let froze = has_freezer && !was_frozen && self.freeze().is_ok();
        let res = self.signal_each(signal);
        // A frozen process cannot act on SIGKILL: thaw even a paused container for it.
        if froze || (has_freezer && signal == libc::SIGKILL) {
            let _ = self.thaw();
        }
        res
    }

    /// Whether SIGKILL can go through the container's v2 `cgroup.kill` (Linux 5.14+), as runc
    /// 1.2+ does: on a v2 host, and on a hybrid one too (runc writes the unified directory's
    /// file there as well) when the unified cgroup holds every process of the container (they
    /// are born in it, CLONE_INTO_CGROUP, and their children stay), so that nothing listed in a
    /// v1 hierarchy only is missed.
    fn kill_through_cgroup_kill(&self) -> Result<bool> {
        let Some(dir) = self.v2_path().filter(|_| self.layout != Layout::Legacy) else {
            return Ok(false);
        };
        if !self.cg(dir).exists("cgroup.kill") {
            return Ok(false);
        }
        if self.layout == Layout::Unified {
            return Ok(true);
        }
        let mut in_unified = Vec::new();
        collect_pids(dir, &mut in_unified)?;
        let all = self.pids()?;
        Ok(!all.is_empty() && all.iter().all(|p| in_unified.contains(p)))
    }

    /// Signals every process of the cgroup through a pidfd, and only those still listed after
    /// their pidfd was opened: a pid that was reused by a process outside the container between
    /// the two reads is never signalled.
    fn signal_each(&self, signal: i32) -> Result<()> {
        let mut fds = Vec::new();
        for pid in self.pids()? {
            if let Ok(fd) = sys::pidfd_open(pid) {
                fds.push((pid, fd));
            }
        }
        let still = self.pids()?;
        for (pid, fd) in fds
            .iter()
            .filter(|(pid, _)| still.binary_search(pid).is_ok())
        {
            match sys::pidfd_send_signal(std::os::fd::AsFd::as_fd(fd), signal) {
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => {
                    return Err(Error::io(
                        Op::Kill,
                        format!("pid {pid} (signal {signal})"),
                        e,
                    ))
                }
                Ok(()) => {}
            }
        }
        Ok(())
    }

    /// SIGKILL anything left, wait for it to go, rmdir every directory (sub-cgroups first,
    /// retrying while EBUSY), and remove the empty parents this manager created.
    pub fn destroy(&self) -> Result<()> {
        if self.procs_dir().is_some_and(Path::exists) && !self.pids()?.is_empty() {
            self.kill_all(libc::SIGKILL)?;
            let start = std::time::Instant::now();
            loop {
                let left = self.pids()?;
                if left.is_empty() {
                    break;
                }
                let waited = start.elapsed();
                if waited > std::time::Duration::from_secs(10) {
                    return Err(Error::StillPopulated {
                        path: self.procs_dir().map(Path::to_path_buf).unwrap_or_default(),
                        count: left.len(),
                        waited_ms: waited.as_millis() as u64,
                    });
                }
                let _ = self.signal_each(libc::SIGKILL);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        self.remove_dirs()
    }

    fn remove_dirs(&self) -> Result<()> {
        if let Some(unit) = &self.systemd {
            // systemd removes the unit's cgroups; what is left (v1 hierarchies it does not
            // manage, sub-cgroups older systemd keeps) goes below.
            match systemd::stop(self.systemd_scope(), unit) {
                // The user's manager is gone and its units with it (it stops them when it
                // stops): with the unit's cgroup gone too, there is nothing left to stop.
                Err(Error::UserBusGone { .. }) if self.dirs().iter().all(|d| !d.exists()) => {}
                other => other?,
            }
        }
        let dirs = self.dirs();
        for dir in &dirs {
            fs::remove_cgroup(dir)?;
        }
        // Parents we created, deepest first; leave any that something else now uses. (`created`
        // also lists the container's own directories, removed just above.)
        let mut parents: Vec<&PathBuf> = self
            .created
            .iter()
            .filter(|p| !dirs.contains(&p.as_path()))
            .collect();
        parents.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for p in parents {
            fs::remove_unused_parent(p)?;
        }
        Ok(())
    }

    /// rmdir every directory of the container's cgroup (sub-cgroups first) and the empty
    /// parents this manager created, signalling nothing: for a container whose own processes
    /// are known to be gone (its pid namespace died with its init) in a cgroup that other
    /// processes may share. A directory those processes still use stays, and the result is
    /// [`Error::InUse`]; everything else is removed.
    pub fn release(&self) -> Result<()> {
        // Processes that have just exited can stay listed for a moment.
        let mut in_use = self.pids()?.len();
        for _ in 0..10 {
            if in_use == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            in_use = self.pids()?.len();
        }
        if in_use > 0 {
            return Err(Error::InUse {
                path: self.procs_dir().map(Path::to_path_buf).unwrap_or_default(),
                count: in_use,
            });
        }
        self.remove_dirs()
    }

    /// An fd that becomes readable on OOM events. v1: an eventfd registered on
    /// memory.oom_control through cgroup.event_control (read 8 bytes per wake-up; it also fires
    /// when the cgroup is removed). v2: an inotify fd watching memory.events for IN_MODIFY;
    /// when it is readable, drain it and compare [`Manager::oom_kill_count`] with the last value
    /// (memory.events also changes for `high`/`max` events, so the count is the real signal).
    pub fn oom_event_fd(&self) -> Result<OwnedFd> {
        oom::event_fd(self)
    }

    /// v2: the `oom_kill` counter of memory.events (v1: `oom_kill` of memory.oom_control).
    pub fn oom_kill_count(&self) -> Result<u64> {
        oom::kill_count(self)
    }
}

fn open_dir_path(dir: &Path) -> Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map(OwnedFd::from)
        .map_err(|e| Error::io(Op::Open, dir, e))
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    let procs = dir.join("cgroup.procs");
    let text = match std::fs::read_to_string(&procs) {
        Ok(t) => t,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENODEV)) => return Ok(()),
        Err(e) => return Err(Error::io(Op::Read, procs, e)),
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let pid = line.parse::<i32>().map_err(|e| Error::Parse {
            path: procs.clone(),
            content: line.to_string(),
            reason: e.to_string(),
        })?;
        out.push(pid);
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(Op::ReadDir, dir, e)),
    };
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            collect_pids(&entry.path(), out)?;
        }
    }
    Ok(())
}
