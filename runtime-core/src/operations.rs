//! Operations on a live container beyond its lifecycle: pause/resume (the cgroup freezer),
//! `update` of its resources (persisted in its state), usage statistics, its processes, and
//! [`features`]: what this runtime supports, computed from the code that implements it.
//!
//! Status rules follow runc 1.1.5: pause needs a created or running container ("container not
//! running" otherwise), resume a paused one ("container not paused"), update a container that
//! has not stopped.

use std::collections::{BTreeMap, HashMap};

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};
use serde::Serialize;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::fault;
use crate::state::{self, Lock, Status};
use crate::sys;

impl Container {
    /// Freezes every process of the container (runc `pause`).
    pub fn pause(&self) -> Result<()> {
        let _lock = Lock::take(&self.dir)?;
        match self.status()? {
            Status::Running | Status::Created => {}
            _ => return Err(Error::NotRunning(self.st.id.clone())),
        }
        // The freezer is the record: a pause killed half-way leaves a cgroup that is (or becomes)
        // frozen, which status reports as paused; resume and delete --force thaw it.
        fault::point("pause: freezing");
        self.st.cgroup.freeze()?;
        fault::point("pause: frozen");
        Ok(())
    }

    /// Thaws a paused container (runc `resume`).
    pub fn resume(&self) -> Result<()> {
        let _lock = Lock::take(&self.dir)?;
        let frozen = self.st.cgroup.is_frozen()?;
        let status = self.status()?;
        if !frozen || status == Status::Stopped {
            return Err(self.wrong_status(status, "container not paused"));
        }
        Ok(self.st.cgroup.thaw()?)
    }

    /// Changes the container's resources with runc `update`'s semantics: only memory
    /// (limit, reservation, swap), cpu (shares, quota, period, realtime, cpus, mems, idle),
    /// blockIO (weights and per-device weights and throttles), pids.limit and unified are taken from `res`; a zero or absent value leaves
    /// the current setting as it is (but a pids limit of 0 is a limit, runc 1.4); a quota or
    /// period given alone keeps the other one. On
    /// success the new values are merged into the container's stored spec (so later updates and
    /// readers see them). An update refused before anything is written (a missing controller, a
    /// value the kernel would refuse) changes nothing; one that fails half-way has every field
    /// it wrote written back to its stored value, or to "no limit" where none was stored and
    /// nothing else (a `unified` key of that controller, an `org.systemd.property.`
    /// annotation) can have set it; otherwise left as written (best effort).
    pub fn update(&mut self, res: &LinuxResources) -> Result<()> {
        let _lock = Lock::take(&self.dir)?;
        if self.status()? == Status::Stopped {
            return Err(Error::NotRunning(self.st.id.clone()));
        }
        let old = self
            .st
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().clone())
            .unwrap_or_default();
        let wanted = update_fields(res, &old);
        // Refused before anything is written (a missing controller, swap below the limit, …):
        // nothing to roll back.
        self.st.cgroup.check_update(&wanted)?;
        if let Err(e) = self.st.cgroup.update(&wanted) {
            // runc does not roll back; a half-applied update would leave limits nobody asked for.
            let lift = liftable(&old, &self.st.annotations);
            let _ = self.st.cgroup.update(&rollback_fields(&wanted, &old, lift));
            return Err(e.into());
        }
        // Killed here, the cgroup has the new limits and the stored spec the old ones: a later
        // update or delete works all the same.
        fault::point("update: limits written");
        let merged = merge(&old, &wanted);
        let mut linux = self.st.spec.linux().clone().unwrap_or_default();
        linux.set_resources(Some(merged));
        self.st.spec.set_linux(Some(linux));
        state::save(&self.dir, &self.st)
    }

    /// runc `update --l3-cache-schema / --mem-bw-schema`: the container's `linux.intelRdt`
    /// schemas replaced by those given (an empty or absent one is left as it is), the group's
    /// schemata written again in full (runc's `Set`) and the stored spec updated. Checked first,
    /// in runc's order and words: CAT / MBA on the host, then a container created with
    /// `linux.intelRdt` (runc cannot add a group to a running container either).
    pub fn update_intel_rdt(&mut self, l3: Option<&str>, mem_bw: Option<&str>) -> Result<()> {
        let (l3, mem_bw) = (
            l3.filter(|s| !s.is_empty()),
            mem_bw.filter(|s| !s.is_empty()),
        );
        if l3.is_none() && mem_bw.is_none() {
            return Ok(());
        }
        // One schema line each, as create requires (the spec: no newlines).
        if [l3, mem_bw].iter().flatten().any(|v| v.contains('\n')) {
            return Err(Error::IntelRdtUpdate {
                id: self.st.id.clone(),
                reason: "--l3-cache-schema and --mem-bw-schema take one line each (no newlines)",
            });
        }
        let _lock = Lock::take(&self.dir)?;
        let refuse = |reason| Error::IntelRdtUpdate {
            id: self.st.id.clone(),
            reason,
        };
        let resctrl = match &self.st.intel_rdt {
            Some(g) => Some(crate::intel_rdt::Resctrl::at(&g.resctrl)),
            None => crate::intel_rdt::Resctrl::find(),
        };
        if l3.is_some() && !resctrl.as_ref().is_some_and(|r| r.cat()) {
            return Err(refuse("Intel RDT/CAT: l3 cache schema is not enabled"));
        }
        if mem_bw.is_some() && !resctrl.as_ref().is_some_and(|r| r.mba()) {
            return Err(refuse(
                "Intel RDT/MBA: memory bandwidth schema is not enabled",
            ));
        }
        let mut linux = self.st.spec.linux().clone().unwrap_or_default();
        let (Some(group), Some(mut rdt)) = (self.st.intel_rdt.clone(), linux.intel_rdt().clone())
        else {
            return Err(refuse(
                "updating a non-existent Intel RDT configuration is not supported",
            ));
        };
        if self.status()? == Status::Stopped {
            return Err(Error::NotRunning(self.st.id.clone()));
        }
        if let Some(v) = l3 {
            rdt.set_l3_cache_schema(Some(v.to_string()));
        }
        if let Some(v) = mem_bw {
            rdt.set_mem_bw_schema(Some(v.to_string()));
        }
        group.write_schemata(&rdt).map_err(|error| Error::Sys {
            context: format!("update the Intel RDT schemata of container {}", self.st.id),
            error,
        })?;
        linux.set_intel_rdt(Some(rdt));
        self.st.spec.set_linux(Some(linux));
        state::save(&self.dir, &self.st)
    }

    /// The container's resources as stored (create-time values with every update merged in).
    pub fn resources(&self) -> Option<&LinuxResources> {
        self.st.spec.linux().as_ref()?.resources().as_ref()
    }

    /// Usage statistics in runc's `events --stats` "data" shape.
    pub fn stats(&self) -> Result<cgroups::Stats> {
        if self.status()? == Status::Stopped {
            return Err(Error::NotRunning(self.st.id.clone()));
        }
        let mut stats = self.st.cgroup.stats()?;
        // runc reports the resctrl group's schemata beside the cgroup's numbers.
        if let Some(g) = &self.st.intel_rdt {
            stats.intel_rdt = g.stats();
        }
        Ok(stats)
    }

    /// Host pids of every process in the container's cgroup (runc `ps --format json`). A
    /// container without a cgroup of its own (rootless, skipped) is listed by its pid
    /// namespace instead; without either there is no way to tell its processes apart.
    pub fn processes(&self) -> Result<Vec<i32>> {
        if self.st.cgroup.has_cgroup() {
            return Ok(self.st.cgroup.pids()?);
        }
        if !self.st.own_pid_ns {
            return Err(self.wrong_status(
                self.status()?,
                "the container has neither a cgroup of its own (the runtime is unprivileged and \
                 could not create one) nor a pid namespace: its processes cannot be told apart",
            ));
        }
        let ns = std::fs::read_link(format!("/proc/{}/ns/pid", self.st.pid))
            .map_err(|e| Error::state(format!("/proc/{}/ns/pid", self.st.pid), e))?;
        let mut pids: Vec<i32> = std::fs::read_dir("/proc")
            .map_err(|e| Error::state("/proc", e))?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|n| n == ns))
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }
}

fn nz_i(v: Option<i64>) -> Option<i64> {
    v.filter(|v| *v != 0)
}

fn nz_u(v: Option<u64>) -> Option<u64> {
    v.filter(|v| *v != 0)
}

fn nz_s(v: &Option<String>) -> Option<String> {
    v.clone().filter(|s| !s.is_empty())
}

/// The fields runc's `update` applies, with zero = absent, and a lone quota or period completed
/// from `old` (runc keeps the other one at its old value; cgroup v2's cpu.max needs both).
fn update_fields(res: &LinuxResources, old: &LinuxResources) -> LinuxResources {
    let mut out = LinuxResources::default();
    if let Some(m) = res.memory() {
        let mut mem = LinuxMemory::default();
        mem.set_limit(nz_i(m.limit()));
        mem.set_reservation(nz_i(m.reservation()));
        mem.set_swap(nz_i(m.swap()));
        out.set_memory(Some(mem));
    }
    if let Some(c) = res.cpu() {
        let mut cpu = LinuxCpu::default();
        cpu.set_shares(nz_u(c.shares()));
        let (quota, period) = (nz_i(c.quota()), nz_u(c.period()));
        let old_cpu = old.cpu().as_ref();
        match (quota, period) {
            (Some(_), None) => {
                cpu.set_quota(quota);
                cpu.set_period(old_cpu.and_then(|o| nz_u(o.period())));
            }
            (None, Some(_)) => {
                cpu.set_period(period);
                cpu.set_quota(old_cpu.and_then(|o| nz_i(o.quota())));
            }
            _ => {
                cpu.set_quota(quota);
                cpu.set_period(period);
            }
        }
        cpu.set_realtime_runtime(nz_i(c.realtime_runtime()));
        cpu.set_realtime_period(nz_u(c.realtime_period()));
        cpu.set_cpus(nz_s(c.cpus()));
        cpu.set_mems(nz_s(c.mems()));
        cpu.set_idle(c.idle());
        // A burst of 0 is a value (no burst), as in runc 1.2+: only an absent one is kept.
        cpu.set_burst(c.burst());
        out.set_cpu(Some(cpu));
    }
    // runc 1.4: weights, leaf weight, per-device weights and throttles (blkio_update.rs).
    if let Some(b) = res.block_io().as_ref() {
        out.set_block_io(crate::blkio_update::wanted(b));
    }
    // runc 1.4: a given pids limit is applied, 0 included (parse_resources and the CLI leave
    // `pids` out when no limit was given).
    if let Some(p) = res.pids().as_ref() {
        let mut pids = LinuxPids::default();
        pids.set_limit(p.limit());
        out.set_pids(Some(pids));
    }
    if let Some(u) = res.unified().as_ref().filter(|u| !u.is_empty()) {
        out.set_unified(Some(u.clone()));
    }
    out
}

/// Which limits a failed update may lift back to "no limit" when the stored spec has no value
/// for them: only those nothing else can have set. A `unified` key of the same controller or
/// an `org.systemd.property.` annotation may have set the file (memory.max=64M with no
/// `memory.limit`): lifting would remove a limit the container really had, so those stay as
/// the failed update wrote them.
#[derive(Debug, Clone, Copy)]
struct Liftable {
    memory: bool,
    cpu: bool,
    pids: bool,
}

fn liftable(old: &LinuxResources, annotations: &HashMap<String, String>) -> Liftable {
    let by_systemd = annotations
        .keys()
        .any(|k| k.starts_with("org.systemd.property."));
    let unified = old.unified().clone().unwrap_or_default();
    let free = |ctrl: &str| !by_systemd && !unified.keys().any(|k| k.starts_with(ctrl));
    Liftable {
        memory: free("memory."),
        cpu: free("cpu."),
        pids: free("pids."),
    }
}

/// What a failed update writes back: only the fields the update wrote (`wanted`), each with its
/// stored value in `old`; where `old` has none, the "no limit" value (-1) for memory limit and
/// swap, cpu quota and the pids limit when [`Liftable`] says nothing else set them. A field
/// with neither (shares, cpus, realtime, a unified key, a device that had no entry) has no
/// value to go back to and is left as written.
fn rollback_fields(
    wanted: &LinuxResources,
    old: &LinuxResources,
    lift: Liftable,
) -> LinuxResources {
    let stored = update_fields(old, old);
    let back = |free: bool| move |w: Option<i64>, o: Option<i64>| w.and(o.or(free.then_some(-1)));
    let mut out = LinuxResources::default();
    if let Some(w) = wanted.memory() {
        let o = stored.memory().unwrap_or_default();
        let mut m = LinuxMemory::default();
        m.set_limit(back(lift.memory)(w.limit(), o.limit()));
        m.set_swap(back(lift.memory)(w.swap(), o.swap()));
        m.set_reservation(w.reservation().and(o.reservation()));
        out.set_memory(Some(m));
    }
    if let Some(w) = wanted.cpu() {
        let o = stored.cpu().clone().unwrap_or_default();
        out.set_cpu(Some(cpu_rollback(w, &o, lift.cpu)));
    }
    if wanted.block_io().is_some() {
        out.set_block_io(stored.block_io().clone());
    }
    let pids_back = wanted
        .pids()
        .and_then(|_| stored.pids().map(|p| p.limit()).or(lift.pids.then_some(-1)));
    if let Some(limit) = pids_back {
        let mut p = LinuxPids::default();
        p.set_limit(limit);
        out.set_pids(Some(p));
    }
    if let (Some(w), Some(o)) = (wanted.unified(), stored.unified()) {
        let back: HashMap<String, String> = w
            .keys()
            .filter_map(|k| Some((k.clone(), o.get(k)?.clone())))
            .collect();
        out.set_unified(Some(back).filter(|b| !b.is_empty()));
    }
    out
}

/// The cpu half of [`rollback_fields`].
fn cpu_rollback(w: &LinuxCpu, o: &LinuxCpu, lift: bool) -> LinuxCpu {
    let mut c = LinuxCpu::default();
    c.set_shares(w.shares().and(o.shares()));
    c.set_quota(w.quota().and(o.quota().or(lift.then_some(-1))));
    c.set_period(w.period().and(o.period()));
    c.set_realtime_runtime(w.realtime_runtime().and(o.realtime_runtime()));
    c.set_realtime_period(w.realtime_period().and(o.realtime_period()));
    c.set_cpus(w.cpus().as_ref().and(o.cpus().clone()));
    c.set_mems(w.mems().as_ref().and(o.mems().clone()));
    c.set_idle(w.idle().and(o.idle()));
    c.set_burst(w.burst().and(o.burst()));
    c
}

/// `old` with every value set in `new` (already filtered: no zeros) replacing it.
fn merge(old: &LinuxResources, new: &LinuxResources) -> LinuxResources {
    let mut out = old.clone();
    if let Some(n) = new.memory() {
        let mut m = out.memory().unwrap_or_default();
        if n.limit().is_some() {
            m.set_limit(n.limit());
        }
        if n.reservation().is_some() {
            m.set_reservation(n.reservation());
        }
        if n.swap().is_some() {
            m.set_swap(n.swap());
        }
        out.set_memory(Some(m));
    }
    if let Some(n) = new.cpu() {
        let mut c = out.cpu().clone().unwrap_or_default();
        macro_rules! take {
            ($get:ident, $set:ident) => {
                if n.$get().is_some() {
                    c.$set(n.$get().clone());
                }
            };
        }
        take!(shares, set_shares);
        take!(quota, set_quota);
        take!(period, set_period);
        take!(realtime_runtime, set_realtime_runtime);
        take!(realtime_period, set_realtime_period);
        take!(cpus, set_cpus);
        take!(mems, set_mems);
        take!(idle, set_idle);
        take!(burst, set_burst);
        out.set_cpu(Some(c));
    }
    if let Some(b) = new.block_io() {
        let merged = crate::blkio_update::merge(out.block_io().as_ref(), b);
        out.set_block_io(Some(merged));
    }
    if let Some(p) = new.pids() {
        out.set_pids(Some(*p));
    }
    if let Some(u) = new.unified() {
        let mut all = out.unified().clone().unwrap_or_default();
        all.extend(u.iter().map(|(k, v)| (k.clone(), v.clone())));
        out.set_unified(Some(all));
    }
    out
}

/// runc's `features` document: what this build of runr can do on this host.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Features {
    /// The oldest runtime-spec version accepted.
    pub oci_version_min: String,
    /// The newest runtime-spec version accepted.
    pub oci_version_max: String,
    /// The hook lists run.
    pub hooks: Vec<String>,
    /// The mount options understood.
    pub mount_options: Vec<String>,
    /// The Linux-specific features.
    pub linux: LinuxFeatures,
    /// runc's annotations (`org.opencontainers.runc.*`).
    pub annotations: BTreeMap<String, String>,
    /// Annotations whose value changes what the runtime does (runtime-spec 1.2): a caller that
    /// takes annotations from untrusted users should filter these. Empty: runr acts on none.
    pub potentially_unsafe_config_annotations: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
/// The Linux part of [`Features`].
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LinuxFeatures {
    /// The namespace types supported.
    pub namespaces: Vec<String>,
    /// The capability names known.
    pub capabilities: Vec<String>,
    /// Which cgroup versions and drivers work.
    pub cgroup: CgroupFeatures,
    /// What seccomp profiles may use.
    pub seccomp: SeccompFeatures,
    /// Whether AppArmor profiles can be applied.
    pub apparmor: Enabled,
    /// Whether SELinux labels can be applied.
    pub selinux: Enabled,
    /// Whether `linux.intelRdt` can be applied here (a resctrl mount), with runc 1.5's members.
    pub intel_rdt: IntelRdtFeatures,
    /// The `linux.memoryPolicy` modes and flags understood.
    pub memory_policy: MemoryPolicyFeatures,
    /// Mount extensions (idmapped mounts).
    pub mount_extensions: MountExtensions,
    /// Whether `linux.netDevices` can be applied.
    pub net_devices: Enabled,
}

#[derive(Debug, Clone, Serialize)]
/// The memory-policy part of [`LinuxFeatures`] (runtime-spec 1.3).
#[non_exhaustive]
pub struct MemoryPolicyFeatures {
    /// The `MPOL_*` modes.
    pub modes: Vec<String>,
    /// The `MPOL_F_*` flags.
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
/// The mount-extension part of [`LinuxFeatures`].
#[non_exhaustive]
pub struct MountExtensions {
    /// Whether `idmap`/`ridmap` mounts and per-mount id mappings work on this kernel.
    pub idmap: Enabled,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
/// The cgroup part of [`LinuxFeatures`].
#[non_exhaustive]
pub struct CgroupFeatures {
    /// cgroup v1 is supported.
    pub v1: bool,
    /// cgroup v2 is supported.
    pub v2: bool,
    /// The systemd cgroup driver is supported.
    pub systemd: bool,
    /// The systemd user-session driver is supported.
    pub systemd_user: bool,
    /// The rdma controller is supported.
    pub rdma: bool,
}

#[derive(Debug, Clone, Serialize)]
/// The seccomp part of [`LinuxFeatures`].
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SeccompFeatures {
    /// Whether it is available.
    pub enabled: bool,
    /// The actions (`SCMP_ACT_*`) known.
    pub actions: Vec<String>,
    /// The argument operators (`SCMP_CMP_*`) known.
    pub operators: Vec<String>,
    /// The architectures (`SCMP_ARCH_*`) known.
    pub archs: Vec<String>,
    /// The `SECCOMP_FILTER_FLAG_*` flags runr knows.
    pub known_flags: Vec<String>,
    /// The flags this kernel supports too.
    pub supported_flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
/// The Intel RDT part of [`LinuxFeatures`] (runtime-spec 1.3's `intelRdt`).
#[non_exhaustive]
pub struct IntelRdtFeatures {
    /// A resctrl filesystem is mounted: `linux.intelRdt` can be applied.
    pub enabled: bool,
    /// `schemata` lines are written (wherever `enabled`).
    pub schemata: bool,
    /// `enableMonitoring` works: the resctrl mount has monitoring (`info/L3_MON`).
    pub monitoring: bool,
}

#[derive(Debug, Clone, Serialize)]
/// A feature that is either available or not.
#[non_exhaustive]
pub struct Enabled {
    /// Whether it is available.
    pub enabled: bool,
}

/// What runr supports, from the tables its code uses: hook kinds from [`crate::hooks`], mount
/// options from the mount option parser, namespaces from the clone flags (those this kernel has),
/// capabilities the kernel knows (up to cap_last_cap), seccomp actions, operators and
/// architectures the compiler and the host's libseccomp accept. cgroup v1 and v2 are both
/// driven, by the cgroupfs or the systemd driver (`org.runr.systemd.usable` says whether
/// systemd answers here). `extra_annotations` are added to the annotations (the
/// binary's version and commit).
pub fn features(oci_version_max: &str, extra_annotations: BTreeMap<String, String>) -> Features {
    let mut annotations = extra_annotations;
    if let Some(v) = crate::seccomp::libseccomp_version() {
        annotations.insert("io.github.seccomp.libseccomp.version".into(), v);
    }
    annotations.insert(
        "org.runr.systemd.usable".into(),
        cgroups::systemd_usable().to_string(),
    );
    let seccomp_actions = crate::seccomp::supported_actions();
    Features {
        oci_version_min: "1.0.0".into(),
        oci_version_max: oci_version_max.into(),
        hooks: hook_kinds(),
        mount_options: crate::mounts::supported_options(),
        linux: LinuxFeatures {
            namespaces: namespaces(),
            capabilities: capabilities(),
            cgroup: CgroupFeatures {
                v1: true,
                v2: true,
                // As runc: the driver is there (the annotation below says if it can work here).
                systemd: true,
                systemd_user: true,
                rdma: true,
            },
            seccomp: SeccompFeatures {
                enabled: !seccomp_actions.is_empty(),
                actions: seccomp_actions,
                operators: crate::seccomp::supported_operators(),
                archs: crate::seccomp::supported_archs(),
                known_flags: SECCOMP_FLAGS.iter().map(|(n, _)| n.to_string()).collect(),
                supported_flags: SECCOMP_FLAGS
                    .iter()
                    .filter(|(_, bits)| sys::seccomp_flags_supported(*bits))
                    .map(|(n, _)| n.to_string())
                    .collect(),
            },
            apparmor: Enabled {
                enabled: apparmor_enabled(),
            },
            selinux: Enabled {
                enabled: selinux_enabled(),
            },
            intel_rdt: intel_rdt_features(),
            memory_policy: MemoryPolicyFeatures {
                modes: crate::mempolicy::known_modes(),
                flags: crate::mempolicy::known_flags(),
            },
            mount_extensions: MountExtensions {
                idmap: Enabled {
                    enabled: sys::mount_setattr_available(),
                },
            },
            // Moved in at create by the runtime, as root (netdev.rs).
            net_devices: Enabled { enabled: true },
        },
        annotations,
        potentially_unsafe_config_annotations: Vec::new(),
    }
}

/// The seccomp filter flags runr passes to the kernel (runc's names and order), with the bits
/// that probe whether the kernel has them (WAIT_KILLABLE_RECV only exists with a listener).
const SECCOMP_FLAGS: &[(&str, u32)] = &[
    ("SECCOMP_FILTER_FLAG_TSYNC", crate::seccomp::FLAG_TSYNC),
    (
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        crate::seccomp::FLAG_SPEC_ALLOW,
    ),
    ("SECCOMP_FILTER_FLAG_LOG", crate::seccomp::FLAG_LOG),
    (
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        crate::seccomp::FLAG_WAIT_KILLABLE_RECV | crate::seccomp::FLAG_NEW_LISTENER,
    ),
];

/// What runr implements of `linux.intelRdt`: everything. features-linux.md: the runtime's
/// implementation status, "irrelevant to the availability of Intel RDT on the host" (runc 1.5
/// says the same); a host without resctrl is refused at create, naming the field.
fn intel_rdt_features() -> IntelRdtFeatures {
    IntelRdtFeatures {
        enabled: true,
        schemata: true,
        monitoring: true,
    }
}

/// AppArmor is switched on in this kernel (runc's test: the module parameter).
fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim_start().starts_with('Y'))
}

/// SELinux is mounted (its enforce file exists).
fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Every hook kind runr runs, in the spec's order.
fn hook_kinds() -> Vec<String> {
    use crate::hooks::HookKind as H;
    // Adding a kind breaks this match until the list below has it.
    let listed = |h: H| match h {
        H::Prestart
        | H::CreateRuntime
        | H::CreateContainer
        | H::StartContainer
        | H::Poststart
        | H::Poststop => h,
    };
    [
        H::Prestart,
        H::CreateRuntime,
        H::CreateContainer,
        H::StartContainer,
        H::Poststart,
        H::Poststop,
    ]
    .into_iter()
    .map(|h| listed(h).name().to_string())
    .collect()
}

/// Every namespace type runr creates or joins that this kernel has, sorted by name.
fn namespaces() -> Vec<String> {
    use oci_spec::runtime::LinuxNamespaceType as N;
    // The /proc/self/ns entry of each type; exhaustive, so a new type must be added here.
    let proc_name = |t: N| match t {
        N::Mount => "mnt",
        N::Cgroup => "cgroup",
        N::Uts => "uts",
        N::Ipc => "ipc",
        N::User => "user",
        N::Pid => "pid",
        N::Network => "net",
        N::Time => "time",
    };
    let all = [
        N::Mount,
        N::Cgroup,
        N::Uts,
        N::Ipc,
        N::User,
        N::Pid,
        N::Network,
        N::Time,
    ];
    let mut out: Vec<String> = all
        .into_iter()
        .filter(|t| !crate::namespaces::clone_flag(*t).is_empty())
        .filter(|t| {
            std::path::Path::new("/proc/self/ns")
                .join(proc_name(*t))
                .exists()
        })
        .filter_map(|t| serde_json::to_value(t).ok()?.as_str().map(String::from))
        .collect();
    out.sort();
    out
}

/// Every capability the running kernel knows (0 ..= cap_last_cap) that a spec can name, in
/// number order.
fn capabilities() -> Vec<String> {
    let last = crate::capabilities::last_cap();
    let mut known: Vec<caps::Capability> = caps::all()
        .into_iter()
        .filter(|c| u32::from(c.index()) <= last)
        .collect();
    known.sort_by_key(|c| c.index());
    known
        .into_iter()
        .map(|c| c.to_string())
        .filter(|name| {
            serde_json::from_value::<oci_spec::runtime::Capability>(name.as_str().into()).is_ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn zero_means_unchanged_and_a_lone_quota_keeps_the_period() {
        let old = res(serde_json::json!({
            "memory": {"limit": 100, "swap": 200},
            "cpu": {"quota": 1000, "period": 100000, "shares": 512},
            "pids": {"limit": 10}
        }));
        let new = res(serde_json::json!({
            "memory": {"limit": 0, "reservation": 0, "kernel": 0},
            "cpu": {"shares": 0, "quota": 50000, "period": 0},
            "pids": {"limit": 50},
            "blockIO": {"weight": 0}
        }));
        let w = update_fields(&new, &old);
        let m = w.memory().as_ref().unwrap();
        assert_eq!((m.limit(), m.reservation(), m.swap()), (None, None, None));
        let c = w.cpu().as_ref().unwrap();
        assert_eq!(
            (c.quota(), c.period(), c.shares()),
            (Some(50000), Some(100000), None)
        );
        assert!(w.block_io().is_none());
        let merged = merge(&old, &w);
        assert_eq!(merged.memory().as_ref().unwrap().limit(), Some(100));
        assert_eq!(merged.cpu().as_ref().unwrap().quota(), Some(50000));
        assert_eq!(merged.cpu().as_ref().unwrap().shares(), Some(512));
        assert_eq!(merged.pids().as_ref().unwrap().limit(), 50);
    }

    #[test]
    fn rollback_writes_back_only_what_the_update_wrote() {
        let old = res(serde_json::json!({
            "memory": {"limit": 100},
            "cpu": {"shares": 512, "period": 100000},
            "pids": {"limit": 10}
        }));
        let wanted = update_fields(
            &res(serde_json::json!({
                "memory": {"limit": 200, "swap": 400},
                "cpu": {"quota": 5000}
            })),
            &old,
        );
        let free = liftable(&old, &HashMap::new());
        let back = rollback_fields(&wanted, &old, free);
        let m = back.memory().as_ref().unwrap();
        assert_eq!(
            (m.limit(), m.swap()),
            (Some(100), Some(-1)),
            "no stored swap: no limit"
        );
        let c = back.cpu().as_ref().unwrap();
        assert_eq!(
            (c.quota(), c.period(), c.shares()),
            (Some(-1), Some(100000), None)
        );
        assert!(back.pids().is_none(), "pids not updated: not re-applied");
        let only_pids = update_fields(&res(serde_json::json!({"pids": {"limit": 5}})), &old);
        let back = rollback_fields(&only_pids, &res(serde_json::json!({})), free);
        assert_eq!(
            back.pids().as_ref().unwrap().limit(),
            -1,
            "no stored limit: max"
        );
        assert!(back.memory().is_none() && back.cpu().is_none());
    }

    #[test]
    fn a_limit_a_unified_key_or_a_systemd_property_may_have_set_is_not_lifted() {
        // memory.max=64M through unified, no memory.limit: a failed update must not lift it.
        let old = res(serde_json::json!({"unified": {"memory.max": "67108864", "pids.max": "10"}}));
        let wanted = update_fields(
            &res(
                serde_json::json!({"memory": {"limit": 200}, "pids": {"limit": 20}, "cpu": {"quota": 5000}}),
            ),
            &old,
        );
        let back = rollback_fields(&wanted, &old, liftable(&old, &HashMap::new()));
        assert_eq!(back.memory().as_ref().unwrap().limit(), None);
        assert!(back.pids().is_none(), "pids.max may be the unified 10");
        assert_eq!(
            back.cpu().as_ref().unwrap().quota(),
            Some(-1),
            "cpu is free"
        );
        // An org.systemd.property. annotation (MemoryMax=…) may have set any of them.
        let none = res(serde_json::json!({}));
        let by_systemd = HashMap::from([(
            "org.systemd.property.MemoryMax".to_string(),
            "67108864".to_string(),
        )]);
        let back = rollback_fields(&wanted, &none, liftable(&none, &by_systemd));
        assert_eq!(back.memory().as_ref().unwrap().limit(), None);
        assert!(back.pids().is_none());
        assert_eq!(back.cpu().as_ref().unwrap().quota(), None);
    }
}
