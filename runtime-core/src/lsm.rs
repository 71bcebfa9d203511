//! Linux security modules and the other per-process security knobs of the spec that are not
//! capabilities, users or seccomp: AppArmor profiles, SELinux labels, `linux.personality`,
//! `process.scheduler`, `process.ioPriority` and `process.execCPUAffinity`.
//!
//! Two halves: [`check`] runs in the parent before the clone and refuses what this host cannot
//! do (an AppArmor profile without AppArmor, an SELinux label without SELinux, an unknown
//! personality flag, a CPU the machine does not have) with the spec field in the message, so a
//! bad request leaves nothing behind; the `apply_*` functions run in the container's process
//! (process/finish.rs) and only make the syscalls.

use std::path::Path;

use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxPersonality, LinuxPersonalityDomain, LinuxSchedulerFlag,
    LinuxSchedulerPolicy, Process, Scheduler, Spec,
};

use crate::sys::{self, Errno, SysError, SysOp, SysResult};

/// `PER_LINUX` and `PER_LINUX32` from <linux/personality.h>.
const PER_LINUX: u64 = 0x0000;
const PER_LINUX32: u64 = 0x0008;

/// Whether the running kernel has AppArmor switched on (runc's test: the module parameter).
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim_start().starts_with('Y'))
}

/// Whether the running kernel has SELinux (its filesystem is registered and mounted somewhere
/// the usual tools look).
pub fn selinux_enabled() -> bool {
    let registered = std::fs::read_to_string("/proc/filesystems")
        .is_ok_and(|s| s.lines().any(|l| l.trim_end().ends_with("\tselinuxfs")));
    registered
        && (Path::new("/sys/fs/selinux/enforce").exists() || Path::new("/selinux/enforce").exists())
}

/// The warning for a `linux.mountLabel` on a host without SELinux, where it is ignored: no
/// mount can carry a label there, so no label can matter (crun 1.8.1 goes on too, checked in
/// the v2 VM; runc 1.1.5 passes it to the mounts as `context=`, which the kernel refuses).
pub fn mount_label_warning(spec: &Spec) -> Option<String> {
    let label = spec.linux().as_ref()?.mount_label().as_deref()?;
    (!label.is_empty() && !selinux_enabled())
        .then(|| format!("linux.mountLabel {label:?} ignored: SELinux is not enabled on this host"))
}

/// The parent's checks of the fields this module applies; returns (field, reason).
pub fn check(spec: &Spec) -> Result<(), (String, String)> {
    let linux = spec.linux().as_ref();
    if let Some(p) = spec.process().as_ref() {
        check_process(p)?;
    }
    if let Some(l) = linux.and_then(|l| l.mount_label().as_deref()) {
        // Without SELinux the label cannot matter: `mount_label_warning` says it is ignored (as
        // crun does). With SELinux it would have to go on every mount, which runr does not do
        // yet: refused rather than silently left out.
        if !l.is_empty() && selinux_enabled() {
            return Err((
                "linux.mountLabel".into(),
                format!("label {l:?}: applying mount labels is not supported yet"),
            ));
        }
    }
    for (i, m) in spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        check_proc_mount(m).map_err(|r| (format!("mounts[{i}].destination"), r))?;
    }
    if let Some(p) = linux.and_then(|l| l.personality().as_ref()) {
        persona(p).map_err(|r| ("linux.personality".to_string(), r))?;
    }
    Ok(())
}

/// The checks of one process's fields (the container's, or one given to `exec`).
pub fn check_process(process: &Process) -> Result<(), (String, String)> {
    let process = Some(process);
    if let Some(p) = process.and_then(|p| p.apparmor_profile().as_deref()) {
        if !p.is_empty() && !apparmor_enabled() {
            return Err((
                "process.apparmorProfile".into(),
                format!("profile {p:?} requested but AppArmor is not enabled on this host"),
            ));
        }
    }
    if let Some(l) = process.and_then(|p| p.selinux_label().as_deref()) {
        if !l.is_empty() && !selinux_enabled() {
            return Err((
                "process.selinuxLabel".into(),
                format!("label {l:?} requested but SELinux is not enabled on this host"),
            ));
        }
    }
    if let Some(s) = process.and_then(|p| p.scheduler().as_ref()) {
        sched_attr(s).map_err(|r| ("process.scheduler".to_string(), r))?;
    }
    if let Some(io) = process.and_then(|p| p.io_priority().as_ref()) {
        if !(0..=7).contains(&io.priority()) {
            return Err((
                "process.ioPriority.priority".into(),
                format!("{} is outside 0..7", io.priority()),
            ));
        }
    }
    if let Some(a) = process.and_then(|p| p.exec_cpu_affinity().as_ref()) {
        for (field, list) in [
            ("process.execCPUAffinity.initial", a.initial()),
            ("process.execCPUAffinity.final", a.cpu_affinity_final()),
        ] {
            if let Some(list) = list.as_deref() {
                cpu_list(list).map_err(|r| (field.to_string(), r))?;
            }
        }
    }
    Ok(())
}

/// Only a procfs may be mounted at `/proc`, and nothing inside it but the few files lxcfs
/// emulates (runc's rule): a fake /proc would swallow the LSM labels and other /proc/self writes
/// the runtime makes (CVE-2019-16884), and a mount inside it could unmask what maskedPaths hide.
fn check_proc_mount(m: &oci_spec::runtime::Mount) -> Result<(), String> {
    const LXCFS: [&str; 10] = [
        "/proc/cpuinfo",
        "/proc/diskstats",
        "/proc/meminfo",
        "/proc/stat",
        "/proc/swaps",
        "/proc/uptime",
        "/proc/loadavg",
        "/proc/slabinfo",
        "/proc/net/dev",
        "/proc/sys/kernel/ns_last_pid",
    ];
    const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    let typ = m.typ().as_deref().unwrap_or("");
    if typ == "proc" {
        return Ok(());
    }
    let mut dest = std::path::PathBuf::from("/");
    for c in m.destination().components() {
        match c {
            std::path::Component::Normal(n) => dest.push(n),
            std::path::Component::ParentDir => {
                dest.pop();
            }
            _ => {}
        }
    }
    if dest == Path::new("/proc") {
        let source_is_proc = m
            .source()
            .as_deref()
            .is_some_and(|s| sys::fs_magic(s).is_ok_and(|t| t == PROC_SUPER_MAGIC));
        if source_is_proc {
            return Ok(());
        }
        return Err(format!(
            "{:?} cannot be mounted because it is not of type proc",
            m.destination()
        ));
    }
    if dest.starts_with("/proc") && !LXCFS.iter().any(|p| dest == Path::new(p)) {
        return Err(format!(
            "{:?} cannot be mounted because it is inside /proc",
            m.destination()
        ));
    }
    Ok(())
}

/// The persona number for `linux.personality`. runc accepts no flags; neither do we (silently
/// dropping one would run the process with a different ABI than asked).
fn persona(p: &LinuxPersonality) -> Result<u64, String> {
    if let Some(flag) = p.flags().as_deref().unwrap_or_default().first() {
        return Err(format!("flag {flag:?} is not supported"));
    }
    Ok(match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    })
}

/// `process.scheduler` as the kernel's `sched_attr`, with the spec's consistency rules.
fn sched_attr(s: &Scheduler) -> Result<sys::SchedAttr, String> {
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => libc::SCHED_OTHER,
        LinuxSchedulerPolicy::SchedFifo => libc::SCHED_FIFO,
        LinuxSchedulerPolicy::SchedRr => libc::SCHED_RR,
        LinuxSchedulerPolicy::SchedBatch => libc::SCHED_BATCH,
        LinuxSchedulerPolicy::SchedIso => 4,
        LinuxSchedulerPolicy::SchedIdle => libc::SCHED_IDLE,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    } as u32;
    let realtime = matches!(
        s.policy(),
        LinuxSchedulerPolicy::SchedFifo | LinuxSchedulerPolicy::SchedRr
    );
    let priority = s.priority().unwrap_or(0);
    if realtime && !(1..=99).contains(&priority) {
        return Err(format!(
            "priority {priority} is outside 1..99 for {}",
            s.policy()
        ));
    }
    if !realtime && priority != 0 {
        return Err(format!("priority must be 0 for {}", s.policy()));
    }
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(format!("nice {nice} is outside -20..19"));
    }
    let deadline = *s.policy() == LinuxSchedulerPolicy::SchedDeadline;
    if deadline && (s.runtime().is_none() || s.deadline().is_none()) {
        return Err("SCHED_DEADLINE needs runtime and deadline".into());
    }
    let mut flags = 0u64;
    for f in s.flags().as_deref().unwrap_or_default() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    Ok(sys::SchedAttr {
        size: 0,
        policy,
        flags,
        nice,
        priority: priority as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    })
}

/// "0-3,7" → [0, 1, 2, 3, 7], refusing CPUs beyond what a cpu set can hold.
pub fn cpu_list(list: &str) -> Result<Vec<usize>, String> {
    let max = nix::sched::CpuSet::count();
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let parse = |x: &str| {
            x.trim()
                .parse::<usize>()
                .map_err(|_| format!("{list:?} is not a CPU list (like \"0-3,7\")"))
        };
        let (a, b) = (parse(a)?, parse(b)?);
        if a > b {
            return Err(format!("{part:?}: range runs backwards"));
        }
        if b >= max {
            return Err(format!("CPU {b} is beyond the {max} a CPU set can hold"));
        }
        cpus.extend(a..=b);
    }
    if cpus.is_empty() {
        return Err(format!("{list:?} names no CPU"));
    }
    Ok(cpus)
}

// ---------------------------------------------------------------------------------------------
// In the container's process (validated by `check` in the parent: errors here are the kernel's).

fn invalid() -> SysError {
    SysError::new(SysOp::Other, None, Errno::EINVAL)
}

pub(crate) fn apply_personality(p: &LinuxPersonality) -> SysResult<()> {
    sys::personality(persona(p).map_err(|_| invalid())?)
}

pub(crate) fn apply_scheduler(s: &Scheduler) -> SysResult<()> {
    sys::sched_setattr(&sched_attr(s).map_err(|_| invalid())?)
}

pub(crate) fn apply_io_priority(io: &LinuxIOPriority) -> SysResult<()> {
    let class = match io.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    sys::ioprio_set(class, io.priority().clamp(0, 7) as u32)
}

pub(crate) fn apply_cpu_affinity(list: &str) -> SysResult<()> {
    sys::sched_setaffinity(&cpu_list(list).map_err(|_| invalid())?)
}

/// The LSM attribute files must be the kernel's: a spec can mount something else over /proc
/// (a bind mount, a tmpfs), and a label written into a fake file is a label silently not applied
/// (CVE-2019-16884).
fn check_real_proc() -> SysResult<()> {
    const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    let attr = Path::new("/proc/self/attr");
    if sys::fs_magic(attr)? != PROC_SUPER_MAGIC {
        return Err(SysError::new(SysOp::Stat, Some(attr), Errno::EXDEV));
    }
    Ok(())
}

/// Asks AppArmor to confine the process with `profile` from its next `execve` on ("exec
/// <profile>" in the onexec attribute, the newer per-LSM file first, like libapparmor).
pub(crate) fn apply_apparmor(profile: &str) -> SysResult<()> {
    check_real_proc()?;
    let cmd = format!("exec {profile}");
    match sys::write_file(Path::new("/proc/self/attr/apparmor/exec"), cmd.as_bytes()) {
        Err(e) if e.errno == Errno::ENOENT => {
            sys::write_file(Path::new("/proc/self/attr/exec"), cmd.as_bytes())
        }
        other => other,
    }
}

/// Sets the SELinux context the next `execve` runs in (`setexeccon`).
pub(crate) fn apply_selinux(label: &str) -> SysResult<()> {
    check_real_proc()?;
    sys::write_file(Path::new("/proc/self/attr/exec"), label.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_like_the_kernel() {
        assert_eq!(cpu_list("0-3,7").unwrap(), vec![0, 1, 2, 3, 7]);
        assert_eq!(cpu_list("1").unwrap(), vec![1]);
        assert!(cpu_list("3-1").is_err());
        assert!(cpu_list("x").is_err());
        assert!(cpu_list("").is_err());
        assert!(cpu_list("99999").is_err());
    }

    #[test]
    fn only_procfs_at_proc_and_lxcfs_files_inside() {
        let m = |dest: &str, typ: &str, src: &str| -> oci_spec::runtime::Mount {
            serde_json::from_value(
                serde_json::json!({"destination": dest, "type": typ, "source": src}),
            )
            .unwrap()
        };
        assert!(check_proc_mount(&m("/proc", "proc", "proc")).is_ok());
        assert!(check_proc_mount(&m("/proc", "tmpfs", "tmpfs")).is_err());
        assert!(check_proc_mount(&m("/tmp/../proc", "bind", "/tmp")).is_err());
        assert!(check_proc_mount(&m("/proc", "bind", "/proc")).is_ok());
        assert!(check_proc_mount(&m("/proc/self/attr", "bind", "/tmp")).is_err());
        assert!(
            check_proc_mount(&m("/proc/cpuinfo", "bind", "/var/lib/lxcfs/proc/cpuinfo")).is_ok()
        );
        assert!(check_proc_mount(&m("/process", "tmpfs", "tmpfs")).is_ok());
    }

    #[test]
    fn scheduler_rules() {
        let s: Scheduler = serde_json::from_value(serde_json::json!({
            "policy": "SCHED_FIFO", "priority": 0
        }))
        .unwrap();
        assert!(sched_attr(&s).is_err());
        let s: Scheduler =
            serde_json::from_value(serde_json::json!({"policy": "SCHED_IDLE"})).unwrap();
        assert_eq!(sched_attr(&s).unwrap().policy, libc::SCHED_IDLE as u32);
        let s: Scheduler = serde_json::from_value(serde_json::json!({
            "policy": "SCHED_BATCH", "nice": 30
        }))
        .unwrap();
        assert!(sched_attr(&s).is_err());
    }
}
