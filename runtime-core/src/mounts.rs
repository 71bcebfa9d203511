//! The spec's `mounts`: option parsing and mounting each entry inside the rootfs.
//!
//! Every destination is resolved (and created) inside the rootfs by [`crate::paths`], and the
//! mount lands on the resolved fd. A bind mount ignores most flags on its first call, so flags
//! are applied with a second, remounting call on the new mount, keeping the flags the kernel has
//! locked on the source (needed inside a user namespace).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{Linux, Mount};

use crate::paths::{self, Leaf};
use crate::sys::{self, Errno, SysError, SysOp, SysResult};

/// Options that set and clear `mount(2)` flags: (name, set, clear).
const FLAG_OPTIONS: &[(&str, MsFlags, MsFlags)] = &[
    ("defaults", MsFlags::empty(), MsFlags::empty()),
    ("ro", MsFlags::MS_RDONLY, MsFlags::empty()),
    ("rw", MsFlags::empty(), MsFlags::MS_RDONLY),
    ("suid", MsFlags::empty(), MsFlags::MS_NOSUID),
    ("nosuid", MsFlags::MS_NOSUID, MsFlags::empty()),
    ("dev", MsFlags::empty(), MsFlags::MS_NODEV),
    ("nodev", MsFlags::MS_NODEV, MsFlags::empty()),
    ("exec", MsFlags::empty(), MsFlags::MS_NOEXEC),
    ("noexec", MsFlags::MS_NOEXEC, MsFlags::empty()),
    ("sync", MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
    ("async", MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
    ("dirsync", MsFlags::MS_DIRSYNC, MsFlags::empty()),
    ("remount", MsFlags::MS_REMOUNT, MsFlags::empty()),
    ("mand", MsFlags::MS_MANDLOCK, MsFlags::empty()),
    ("nomand", MsFlags::empty(), MsFlags::MS_MANDLOCK),
    ("atime", MsFlags::empty(), MsFlags::MS_NOATIME),
    ("noatime", MsFlags::MS_NOATIME, MsFlags::empty()),
    ("diratime", MsFlags::empty(), MsFlags::MS_NODIRATIME),
    ("nodiratime", MsFlags::MS_NODIRATIME, MsFlags::empty()),
    ("relatime", MsFlags::MS_RELATIME, MsFlags::empty()),
    ("norelatime", MsFlags::empty(), MsFlags::MS_RELATIME),
    ("strictatime", MsFlags::MS_STRICTATIME, MsFlags::empty()),
    ("nostrictatime", MsFlags::empty(), MsFlags::MS_STRICTATIME),
    ("lazytime", MsFlags::MS_LAZYTIME, MsFlags::empty()),
    ("nolazytime", MsFlags::empty(), MsFlags::MS_LAZYTIME),
    ("silent", MsFlags::MS_SILENT, MsFlags::empty()),
    ("loud", MsFlags::empty(), MsFlags::MS_SILENT),
    ("iversion", MsFlags::MS_I_VERSION, MsFlags::empty()),
    ("noiversion", MsFlags::empty(), MsFlags::MS_I_VERSION),
];

/// Recursive options (applied to the mount and every mount below it with
/// `mount_setattr(AT_RECURSIVE)`): (name, attributes to set, attributes to clear).
const RECURSIVE_OPTIONS: &[(&str, u64, u64)] = &[
    ("rro", sys::MOUNT_ATTR_RDONLY, 0),
    ("rrw", 0, sys::MOUNT_ATTR_RDONLY),
    ("rnosuid", sys::MOUNT_ATTR_NOSUID, 0),
    ("rsuid", 0, sys::MOUNT_ATTR_NOSUID),
    ("rnodev", sys::MOUNT_ATTR_NODEV, 0),
    ("rdev", 0, sys::MOUNT_ATTR_NODEV),
    ("rnoexec", sys::MOUNT_ATTR_NOEXEC, 0),
    ("rexec", 0, sys::MOUNT_ATTR_NOEXEC),
    ("rnodiratime", sys::MOUNT_ATTR_NODIRATIME, 0),
    ("rdiratime", 0, sys::MOUNT_ATTR_NODIRATIME),
    ("rnosymfollow", sys::MOUNT_ATTR_NOSYMFOLLOW, 0),
    ("rsymfollow", 0, sys::MOUNT_ATTR_NOSYMFOLLOW),
];

/// `options` of a mount entry, split into what `mount(2)` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags to set.
    pub flags: MsFlags,
    /// Propagation changes, applied in order after the mount.
    pub propagation: Vec<MsFlags>,
    /// Filesystem-specific options, passed as `data`.
    pub data: Vec<String>,
    pub bind: bool,
    /// Recursive attributes to set and clear (`rro`, `rnosuid`, …).
    pub recursive_set: u64,
    pub recursive_clear: u64,
    /// `idmap` (Some(false)) or `ridmap` (Some(true)): an idmapped bind mount ([`crate::idmap`]).
    pub idmap: Option<bool>,
    /// `tmpcopyup`: a tmpfs that starts with a copy of what the image has at its destination.
    pub tmpcopyup: bool,
}

impl MountOptions {
    pub fn parse(options: &[String]) -> Result<MountOptions, String> {
        let mut out = MountOptions {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            data: Vec::new(),
            bind: false,
            recursive_set: 0,
            recursive_clear: 0,
            idmap: None,
            tmpcopyup: false,
        };
        for opt in options {
            if let Some((_, set, clear)) = RECURSIVE_OPTIONS.iter().find(|(n, _, _)| n == opt) {
                out.recursive_set = (out.recursive_set | set) & !clear;
                out.recursive_clear = (out.recursive_clear | clear) & !set;
                continue;
            }
            if let Some((_, set, clear)) = FLAG_OPTIONS.iter().find(|(n, _, _)| n == opt) {
                out.flags = (out.flags | *set) & !*clear;
                continue;
            }
            let (set, clear) = match opt.as_str() {
                name if BIND_OPTIONS.contains(&name) => {
                    out.bind = true;
                    let rec = if name == "rbind" {
                        MsFlags::MS_REC
                    } else {
                        MsFlags::empty()
                    };
                    (MsFlags::MS_BIND | rec, MsFlags::empty())
                }
                name if propagation_flag(name).is_some() => {
                    out.propagation
                        .push(propagation_flag(name).unwrap_or(MsFlags::empty()));
                    continue;
                }
                "idmap" | "ridmap" => {
                    out.idmap = Some(opt == "ridmap");
                    continue;
                }
                "tmpcopyup" => {
                    out.tmpcopyup = true;
                    continue;
                }
                "" => return Err("an empty option".into()),
                other => {
                    out.data.push(other.to_string());
                    continue;
                }
            };
            out.flags = (out.flags | set) & !clear;
        }
        Ok(out)
    }

    fn data(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }
}

/// Propagation options (also `rootfsPropagation`'s values) and their flags.
const PROPAGATION_OPTIONS: &[(&str, MsFlags)] = &[
    ("private", MsFlags::MS_PRIVATE),
    ("rprivate", MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
    ("shared", MsFlags::MS_SHARED),
    ("rshared", MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
    ("slave", MsFlags::MS_SLAVE),
    ("rslave", MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
    ("unbindable", MsFlags::MS_UNBINDABLE),
    ("runbindable", MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
];

/// Options that make a mount a bind mount.
const BIND_OPTIONS: &[&str] = &["bind", "rbind"];

/// Options that are no `mount(2)` flag but runr's own steps: idmapped bind mounts
/// ([`crate::idmap`]) and a tmpfs filled with the image's files ([`copy_up`]).
const EXTENSION_OPTIONS: &[&str] = &["idmap", "ridmap", "tmpcopyup"];

/// The propagation flags a name stands for (also `rootfsPropagation`'s values).
pub fn propagation_flag(name: &str) -> Option<MsFlags> {
    PROPAGATION_OPTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// Every mount option [`MountOptions::parse`] recognizes (for `runr features`), sorted; other
/// strings are passed to the filesystem as data.
pub fn supported_options() -> Vec<String> {
    let mut out: Vec<String> = FLAG_OPTIONS
        .iter()
        .map(|(n, _, _)| *n)
        .chain(PROPAGATION_OPTIONS.iter().map(|(n, _)| *n))
        .chain(BIND_OPTIONS.iter().copied())
        .chain(EXTENSION_OPTIONS.iter().copied())
        .chain(RECURSIVE_OPTIONS.iter().map(|(n, _, _)| *n))
        .map(String::from)
        .collect();
    out.sort();
    out
}

/// What mounting needs to know beyond the entry itself.
pub struct MountContext<'a> {
    /// An fd of the rootfs (before pivot_root).
    pub root: BorrowedFd<'a>,
    /// The bundle directory: relative bind sources are resolved against it.
    pub bundle: &'a Path,
    /// The container has its own cgroup namespace (cgroup mounts can be real cgroup mounts).
    pub cgroupns: bool,
    /// The container has a new user namespace (some filesystems need a fallback).
    pub userns: bool,
}

/// Whether the entry's `ro` waits for the end of set-up ([`remount_delayed_readonly`]), as in
/// runc: a tmpfs may get files and mounts below it, and `/dev` gets devpts, shm, mqueue and the
/// device nodes first.
pub fn readonly_delayed(m: &Mount) -> bool {
    m.typ().as_deref() == Some("tmpfs") || paths::relative(m.destination()) == Path::new("dev")
}

/// Makes read-only, after pivot_root, the mounts whose `ro` [`readonly_delayed`] held back.
/// Only the read-only attribute changes (mount_setattr): the other flags stay as mounted, and
/// the mounts below (`/dev/pts`, `/dev/shm`, …) stay writable. Errors carry the mount's index.
pub fn remount_delayed_readonly(
    root: BorrowedFd<'_>,
    list: &[Mount],
) -> Result<(), (u32, SysError)> {
    for (i, m) in list.iter().enumerate() {
        let ro = MountOptions::parse(m.options().as_deref().unwrap_or_default())
            .is_ok_and(|o| o.flags.contains(MsFlags::MS_RDONLY));
        if !ro || !readonly_delayed(m) {
            continue;
        }
        let dest = m.destination().as_path();
        paths::open_path(root, dest)
            .and_then(|fd| sys::mount_setattr_one(fd.as_fd(), sys::MOUNT_ATTR_RDONLY, 0, dest))
            .map_err(|e| (i as u32, e))?;
    }
    Ok(())
}

/// The host path of a bind mount's source (relative sources are the bundle's); `None` for an
/// entry that is no bind mount.
fn bind_source(m: &Mount, bundle: &Path) -> Option<PathBuf> {
    let opts = MountOptions::parse(m.options().as_deref().unwrap_or_default()).ok()?;
    if !opts.bind && m.typ().as_deref() != Some("bind") {
        return None;
    }
    let source = m.source().as_deref()?;
    Some(if source.is_absolute() {
        source.to_path_buf()
    } else {
        bundle.join(source)
    })
}

/// Bind sources opened by the runtime (still the host's root, in the host's mount namespace) as
/// detached mount trees, one entry per `mounts` entry (`None` for the others): with a user
/// namespace (`all`) every bind source, since the init works as the container's root, who may
/// not be able to reach the source itself (a directory inside a mode-700 host directory; runc
/// 1.2+ hands its init such fds too); and every idmapped mount's, which is made idmapped here
/// ([`crate::idmap`]): that takes the host's root and a mount attached nowhere yet. The init
/// attaches them. Errors carry the mount's index, the field at fault and the reason.
pub fn detach_bind_sources(
    list: &[Mount],
    linux: &Linux,
    bundle: &Path,
    all: bool,
) -> Result<Vec<Option<OwnedFd>>, (u32, &'static str, String)> {
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let idmap = crate::idmap::requested(m, linux).ok().flatten();
            let source = match bind_source(m, bundle) {
                Some(s) if all || idmap.is_some() => s,
                _ => return Ok(None),
            };
            let recursive = m
                .options()
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|o| o == "rbind");
            let tree = sys::open_tree_detached(&source, recursive)
                .map_err(|e| (i as u32, "source", e.to_string()))?;
            if let Some(idmap) = &idmap {
                crate::idmap::apply(tree.as_fd(), idmap, &source).map_err(|e| {
                    let hint = if e.errno == Errno::EINVAL {
                        " (the source's filesystem or this kernel cannot idmap mounts)"
                    } else {
                        ""
                    };
                    (i as u32, "options", format!("idmap: {e}{hint}"))
                })?;
            }
            Ok(Some(tree))
        })
        .collect()
}

/// Mounts one spec entry inside the rootfs. `detached` is the entry's source opened by the
/// runtime ([`detach_bind_sources`]), when it did.
pub fn mount_entry(
    m: &Mount,
    detached: Option<BorrowedFd<'_>>,
    ctx: &MountContext<'_>,
) -> SysResult<()> {
    let mut opts = MountOptions::parse(m.options().as_deref().unwrap_or_default())
        .map_err(|_| SysError::new(SysOp::Mount, Some(m.destination()), Errno::EINVAL))?;
    if readonly_delayed(m) {
        opts.flags.remove(MsFlags::MS_RDONLY);
    }
    let dest = m.destination().as_path();
    let typ = m
        .typ()
        .as_deref()
        .unwrap_or(if opts.bind { "bind" } else { "" });
    if opts.bind || typ == "bind" {
        return bind_mount(m, &opts, detached, ctx);
    }
    match typ {
        "cgroup" | "cgroup2" => return mount_cgroup(dest, &opts, ctx),
        "proc" | "sysfs" if paths::is_symlink(ctx.root, dest)? => {
            // A proc or sysfs mount onto a symlink could be redirected anywhere inside the
            // rootfs, e.g. over a path the container should not see (CVE-2019-16884 class).
            return Err(SysError::new(
                SysOp::MountTarget,
                Some(dest),
                Errno::ENOTDIR,
            ));
        }
        _ => {}
    }
    let target = paths::ensure(ctx.root, dest, Leaf::Dir)?;
    // tmpcopyup: the directory underneath, kept open to copy from once the tmpfs covers it.
    let underneath = if opts.tmpcopyup {
        let dir = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
        Some(sys::openat(
            target.as_fd(),
            Path::new("."),
            dir,
            Mode::empty(),
        )?)
    } else {
        None
    };
    let source = m.source().as_deref().unwrap_or(Path::new(typ));
    let data = opts.data();
    let flags = opts.flags & !MsFlags::MS_REMOUNT;
    let done = sys::mount_on_fd(
        Some(source),
        target.as_fd(),
        Some(typ),
        flags,
        data.as_deref(),
        dest,
    );
    match done {
        Err(e) if typ == "sysfs" && e.errno == Errno::EPERM && ctx.userns => {
            // Without its own network namespace, a user namespace may not mount sysfs: give
            // the container a read-only view of the host's instead, as runc does.
            let ro = MsFlags::MS_BIND | MsFlags::MS_REC;
            sys::mount_on_fd(
                Some(Path::new("/sys")),
                target.as_fd(),
                None,
                ro,
                None,
                dest,
            )?;
        }
        other => other?,
    }
    if let Some(below) = underneath {
        let mounted = paths::open_path(ctx.root, dest)?;
        crate::copyup::copy_dir(below.as_fd(), mounted.as_fd(), dest)?;
    }
    apply_propagation(ctx.root, dest, &opts)
}

fn bind_mount(
    m: &Mount,
    opts: &MountOptions,
    detached: Option<BorrowedFd<'_>>,
    ctx: &MountContext<'_>,
) -> SysResult<()> {
    let dest = m.destination().as_path();
    let source = bind_source(m, ctx.bundle)
        .ok_or_else(|| SysError::new(SysOp::Mount, Some(dest), Errno::EINVAL))?;
    // What the source is, and its flags, are read through the detached tree when there is one:
    // the source's path may be out of this process's reach.
    let seen = detached.map_or_else(|| source.clone(), sys::fd_path);
    let meta = std::fs::metadata(&seen)
        .map_err(|e| SysError::new(SysOp::Stat, Some(&source), sys::errno_of(&e)))?;
    let leaf = if meta.is_dir() { Leaf::Dir } else { Leaf::File };
    let target = paths::ensure(ctx.root, dest, leaf)?;
    match detached {
        Some(tree) => sys::move_mount_onto(tree, target.as_fd(), dest)?,
        None => {
            let bind = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
            sys::mount_on_fd(Some(&source), target.as_fd(), None, bind, None, dest)?
        }
    }
    // The first bind ignores every other flag: remount the new mount with them, keeping the
    // ones the kernel locked on the source so that the remount is allowed in a user namespace.
    let extra = opts.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
    if !extra.is_empty() {
        let locked = sys::statfs_flags(&seen)?
            & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC);
        let mounted = paths::open_path(ctx.root, dest)?;
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | extra | locked;
        sys::mount_on_fd(None, mounted.as_fd(), None, flags, None, dest)?;
    }
    apply_propagation(ctx.root, dest, opts)
}

/// Applies propagation options to the mount now at `dest` (reopened: the fd used to mount
/// points at the directory underneath the new mount, not at the mount itself).
fn apply_propagation(root: BorrowedFd<'_>, dest: &Path, opts: &MountOptions) -> SysResult<()> {
    if opts.propagation.is_empty() && opts.recursive_set == 0 && opts.recursive_clear == 0 {
        return Ok(());
    }
    let mounted = paths::open_path(root, dest)?;
    for p in &opts.propagation {
        sys::mount_on_fd(None, mounted.as_fd(), None, *p, None, dest)?;
    }
    if opts.recursive_set != 0 || opts.recursive_clear != 0 {
        // Recursive attributes reach every submount too (an rbind's), which flags on one
        // remount cannot.
        sys::mount_setattr_recursive(
            mounted.as_fd(),
            opts.recursive_set,
            opts.recursive_clear,
            dest,
        )?;
    }
    Ok(())
}

/// A `cgroup` mount: with its own cgroup namespace the container gets real cgroup mounts rooted
/// at its cgroup; without one, a tmpfs with a bind mount of its own cgroup per v1 hierarchy (as
/// runc does), so it never sees its siblings'.
fn mount_cgroup(dest: &Path, opts: &MountOptions, ctx: &MountContext<'_>) -> SysResult<()> {
    let flags = opts.flags & !(MsFlags::MS_RDONLY | MsFlags::MS_REMOUNT);
    let readonly = opts.flags.contains(MsFlags::MS_RDONLY);
    let ro = match readonly {
        true => MsFlags::MS_RDONLY,
        false => MsFlags::empty(),
    };
    let hierarchies = host_cgroup_mounts();
    let target = paths::ensure(ctx.root, dest, Leaf::Dir)?;
    // A pure cgroup2 host: one filesystem.
    if hierarchies.iter().all(|h| h.fstype == "cgroup2") {
        let own = hierarchies.first().and_then(|h| h.own_path.as_deref());
        return mount_cgroup2(dest, target.as_fd(), flags | ro, own, ctx);
    }
    // v1: a tmpfs holding one directory per hierarchy, as on the host.
    sys::mount_on_fd(
        Some(Path::new("tmpfs")),
        target.as_fd(),
        Some("tmpfs"),
        flags,
        Some("mode=755"),
        dest,
    )?;
    // Binds of the container's own cgroups get the mount's flags. Where the kernel has
    // mount_setattr (5.12+), one recursive call at the end sets them on the tmpfs and every
    // bind in it at once, instead of a remount per hierarchy and one for the tmpfs (9 mount
    // calls on a v1 host).
    let at_once = !ctx.cgroupns && sys::mount_setattr_available();
    for h in hierarchies.iter().filter(|h| h.fstype == "cgroup") {
        mount_v1_hierarchy(dest, h, (flags, ro, !at_once), ctx)?;
    }
    let mounted = || paths::open_path(ctx.root, dest);
    if at_once {
        let (set, clear) = mount_attrs(flags | ro);
        sys::mount_setattr_recursive(mounted()?.as_fd(), set, clear, dest)?;
    }
    // The tmpfs itself read-only last, once everything is in it (its superblock too, as the
    // remount always made it).
    if readonly {
        let f = flags | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        sys::mount_on_fd(None, mounted()?.as_fd(), None, f, Some("mode=755"), dest)?;
    }
    Ok(())
}

/// `mount_setattr`'s set and clear masks that give a mount exactly the per-mount flags in
/// `flags`, as a bind remount with them does: read-only, nosuid, nodev, noexec, nodiratime set
/// or cleared, and the atime mode named (relatime, the mode 0, when none is, as the kernel's
/// remount defaults to).
fn mount_attrs(flags: MsFlags) -> (u64, u64) {
    const ATIME_MASK: u64 = 0x70;
    const NOATIME: u64 = 0x10;
    const STRICTATIME: u64 = 0x20;
    let mut set = 0;
    let mut clear = ATIME_MASK;
    for (flag, attr) in [
        (MsFlags::MS_RDONLY, sys::MOUNT_ATTR_RDONLY),
        (MsFlags::MS_NOSUID, sys::MOUNT_ATTR_NOSUID),
        (MsFlags::MS_NODEV, sys::MOUNT_ATTR_NODEV),
        (MsFlags::MS_NOEXEC, sys::MOUNT_ATTR_NOEXEC),
        (MsFlags::MS_NODIRATIME, sys::MOUNT_ATTR_NODIRATIME),
    ] {
        match flags.contains(flag) {
            true => set |= attr,
            false => clear |= attr,
        }
    }
    if flags.contains(MsFlags::MS_NOATIME) {
        set |= NOATIME;
    } else if flags.contains(MsFlags::MS_STRICTATIME) {
        set |= STRICTATIME;
    }
    (set, clear)
}

/// cgroup2 at `dest`: a fresh mount with a cgroup namespace, else (or when the same root is on
/// top there already) a bind of this process's own cgroup.
fn mount_cgroup2(
    dest: &Path,
    target: BorrowedFd<'_>,
    f: MsFlags,
    own: Option<&Path>,
    ctx: &MountContext<'_>,
) -> SysResult<()> {
    let fresh = ctx.cgroupns
        && match sys::mount_on_fd(
            Some(Path::new("cgroup2")),
            target,
            Some("cgroup2"),
            f,
            None,
            dest,
        ) {
            Ok(()) => true,
            // The same cgroup2 root is already on top there (an rbind of the host's /sys,
            // and a namespace rooted at the host's root: a rootless container without a
            // cgroup of its own): binding it shows exactly what the mount would (runc also
            // falls back to a bind on EBUSY).
            Err(e) if e.errno == Errno::EBUSY => false,
            Err(e) => return Err(e),
        };
    if let Some(own) = own.filter(|_| !fresh) {
        sys::mount_on_fd(
            Some(own),
            target,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
            dest,
        )?;
        remount_bind_ro(ctx.root, dest, f)?;
    }
    Ok(())
}

/// One v1 hierarchy under the tmpfs at `dest`: mounted again with a cgroup namespace, else a
/// bind of this process's own cgroup in it; co-mounted controllers get their symlinks.
/// `remount`: the bind gets `flags | ro` by a remount of its own (else the caller sets them on
/// the whole tmpfs at once).
fn mount_v1_hierarchy(
    dest: &Path,
    h: &HostHierarchy,
    (flags, ro, remount): (MsFlags, MsFlags, bool),
    ctx: &MountContext<'_>,
) -> SysResult<()> {
    let sub = dest.join(&h.name);
    let sub_fd = paths::ensure(ctx.root, &sub, Leaf::Dir)?;
    if ctx.cgroupns {
        sys::mount_on_fd(
            Some(Path::new("cgroup")),
            sub_fd.as_fd(),
            Some("cgroup"),
            flags | ro,
            Some(&h.super_opts),
            &sub,
        )?;
    } else if let Some(own) = &h.own_path {
        sys::mount_on_fd(
            Some(own),
            sub_fd.as_fd(),
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
            &sub,
        )?;
        if remount {
            remount_bind_ro(ctx.root, &sub, flags | ro)?;
        }
    }
    // Co-mounted controllers ("cpu,cpuacct") get one symlink per controller, as on the host.
    let controllers: Vec<&str> = h.name.split(',').collect();
    if controllers.len() > 1 {
        let dir = paths::open_path(ctx.root, dest)?;
        for c in controllers {
            let _ = sys::symlinkat(Path::new(&h.name), dir.as_fd(), Path::new(c), &dest.join(c));
        }
    }
    Ok(())
}

fn remount_bind_ro(root: BorrowedFd<'_>, dest: &Path, flags: MsFlags) -> SysResult<()> {
    let mounted = paths::open_path(root, dest)?;
    let f = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags;
    sys::mount_on_fd(None, mounted.as_fd(), None, f, None, dest)
}

/// One cgroup hierarchy mounted on the host, and where this process's cgroup is in it.
struct HostHierarchy {
    fstype: String,
    /// The directory name under /sys/fs/cgroup ("memory", "cpu,cpuacct", "systemd").
    name: String,
    /// Super options to mount the same hierarchy again ("memory", "none,name=systemd").
    super_opts: String,
    /// The host path of this process's own cgroup in the hierarchy.
    own_path: Option<PathBuf>,
}

/// The host's cgroup hierarchies, from this process's mountinfo and cgroup files (only the v1
/// ones on a hybrid host).
fn host_cgroup_mounts() -> Vec<HostHierarchy> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut out: Vec<HostHierarchy> = Vec::new();
    for h in mountinfo
        .lines()
        .filter_map(|l| parse_cgroup_mount(l, &own))
    {
        // A hierarchy seen again is a copy (an rbind of the host's /sys into this rootfs comes
        // later in mountinfo, and its copies are about to be covered): the host's comes first.
        if !out
            .iter()
            .any(|o| o.fstype == h.fstype && o.super_opts == h.super_opts)
        {
            out.push(h);
        }
    }
    // On a hybrid host the cgroup2 mount sits beside the v1 ones; a v1-style cgroup mount only
    // carries the v1 hierarchies, as runc's does.
    if out.iter().any(|h| h.fstype == "cgroup") {
        out.retain(|h| h.fstype == "cgroup");
    }
    out
}

/// A mountinfo line of a cgroup or cgroup2 mount, with where this process's cgroup is in it
/// (`own`: /proc/self/cgroup); `None` for any other line.
fn parse_cgroup_mount(line: &str, own: &str) -> Option<HostHierarchy> {
    let (pre, post) = line.split_once(" - ")?;
    let pre: Vec<&str> = pre.split(' ').collect();
    let post: Vec<&str> = post.split(' ').collect();
    let (fstype, superopts) = (*post.first()?, *post.get(2)?);
    if fstype != "cgroup" && fstype != "cgroup2" {
        return None;
    }
    let (root, mountpoint) = (*pre.get(3)?, *pre.get(4)?);
    let controllers: Vec<&str> = superopts
        .split(',')
        .filter(|o| {
            !matches!(
                *o,
                "rw" | "ro"
                    | "nosuid"
                    | "nodev"
                    | "noexec"
                    | "relatime"
                    | "nsdelegate"
                    | "memory_recursiveprot"
                    | "clone_children"
                    | "xattr"
            ) && !o.starts_with("release_agent")
        })
        .collect();
    let wanted = match fstype {
        "cgroup2" => String::new(),
        _ => controllers.join(","),
    };
    let own_path = own_cgroup(own, &wanted).map(|rel| {
        let rel = rel
            .strip_prefix(root)
            .unwrap_or(&rel)
            .trim_start_matches('/')
            .to_string();
        Path::new(mountpoint).join(rel)
    });
    let name = Path::new(mountpoint)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Some(HostHierarchy {
        fstype: fstype.to_string(),
        name,
        super_opts: controllers.join(","),
        own_path,
    })
}

/// This process's cgroup path in the hierarchy of controllers `wanted` ("" for cgroup2), from
/// /proc/self/cgroup's text.
fn own_cgroup(own: &str, wanted: &str) -> Option<String> {
    own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, ctrl, path) = (parts.next()?, parts.next()?, parts.next()?);
        let mut c: Vec<&str> = ctrl.split(',').collect();
        c.sort_unstable();
        let mut w: Vec<&str> = wanted.split(',').filter(|s| !s.is_empty()).collect();
        w.sort_unstable();
        (c == w || (ctrl.is_empty() && wanted.is_empty())).then(|| path.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_attrs_give_exactly_the_flags_a_bind_remount_would() {
        let f = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        let four = sys::MOUNT_ATTR_RDONLY
            | sys::MOUNT_ATTR_NOSUID
            | sys::MOUNT_ATTR_NODEV
            | sys::MOUNT_ATTR_NOEXEC;
        let nodiratime = sys::MOUNT_ATTR_NODIRATIME;
        // What is not named is cleared; relatime (mode 0) unless another mode is named.
        assert_eq!(mount_attrs(f), (four, 0x70 | nodiratime));
        assert_eq!(
            mount_attrs(f | MsFlags::MS_RELATIME),
            (four, 0x70 | nodiratime)
        );
        assert_eq!(
            mount_attrs(MsFlags::MS_NOATIME),
            (0x10, 0x70 | four | nodiratime)
        );
        assert_eq!(
            mount_attrs(MsFlags::MS_STRICTATIME | MsFlags::MS_NODIRATIME),
            (0x20 | nodiratime, 0x70 | four)
        );
        // Flags that are no per-mount attribute are not passed.
        assert_eq!(
            mount_attrs(MsFlags::MS_BIND | MsFlags::MS_REC),
            (0, 0x70 | four | nodiratime)
        );
    }

    fn parse(opts: &[&str]) -> MountOptions {
        MountOptions::parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_data_and_propagation_are_split() {
        let o = parse(&[
            "nosuid",
            "noexec",
            "nodev",
            "mode=755",
            "size=65536k",
            "rprivate",
        ]);
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV
        );
        assert_eq!(o.data, vec!["mode=755", "size=65536k"]);
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert!(!o.bind);
    }

    #[test]
    fn later_options_override_earlier_ones() {
        let o = parse(&["ro", "rw", "rbind"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(o.bind && o.flags.contains(MsFlags::MS_REC));
    }

    #[test]
    fn extension_options_are_parsed_not_passed_as_data() {
        let o = parse(&["rbind", "idmap"]);
        assert_eq!(o.idmap, Some(false));
        assert_eq!(parse(&["idmap", "ridmap"]).idmap, Some(true));
        assert!(parse(&["tmpcopyup"]).tmpcopyup);
        assert!(MountOptions::parse(&[String::new()]).is_err());
    }

    #[test]
    fn every_listed_option_is_recognized_not_passed_as_data() {
        let all = supported_options();
        assert!(all.len() > 30 && all.contains(&"rslave".to_string()));
        for opt in all {
            let parsed = MountOptions::parse(std::slice::from_ref(&opt)).unwrap();
            assert!(parsed.data.is_empty(), "{opt} taken as data");
        }
    }
}
