//! Building the container's root filesystem, in the init, inside its new mount namespace.
//!
//! Read top to bottom, each function is a script of named steps; the comment on a step says why
//! it is there. All paths inside the rootfs go through [`crate::paths`].

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use crate::devices::{self, Node};
use crate::mounts::{self, MountContext};
use crate::paths;
use crate::process::{InitStep, StepResult, Tag};
use crate::sys::{self, Errno, SysError};

/// Everything about the rootfs that the init needs; built by the parent before the clone.
pub struct RootfsPlan<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub userns: bool,
    pub cgroupns: bool,
    pub no_pivot: bool,
}

/// Mounts everything under the rootfs and creates `/dev`. Runs before the createRuntime hooks;
/// the root is still the host's.
pub fn prepare(plan: &RootfsPlan<'_>) -> StepResult<OwnedFd> {
    let linux = plan.spec.linux().as_ref();
    let propagation = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(mounts::propagation_flag);

    // 1. Make every mount we inherited a slave (or what rootfsPropagation asks): nothing mounted
    //    from here on may propagate back to the host's mount namespace.
    let root_flags = propagation.unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    sys::mount(None, Path::new("/"), None, root_flags, None).tag(InitStep::Propagation)?;

    // 2. pivot_root refuses a new root whose parent mount is shared: make that one private.
    //    After a recursive slave/private/unbindable change (the default is rslave) no mount is
    //    shared any more, so /proc/self/mountinfo is read only for the other propagations.
    let none_shared =
        root_flags.contains(MsFlags::MS_REC) && !root_flags.contains(MsFlags::MS_SHARED);
    if !none_shared {
        make_parent_mount_private(plan.rootfs).tag(InitStep::Propagation)?;
    }

    // 3. pivot_root needs the new root to be a mount point: bind the rootfs onto itself.
    let rec_bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    sys::mount(Some(plan.rootfs), plan.rootfs, None, rec_bind, None).tag(InitStep::BindRootfs)?;
    let root = sys::open(
        plan.rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY,
        Mode::empty(),
    )
    .tag(InitStep::BindRootfs)?;

    // 4. The spec's mounts, in order, each resolved inside the rootfs.
    let ctx = MountContext {
        root: root.as_fd(),
        bundle: plan.bundle,
        cgroupns: plan.cgroupns,
        userns: plan.userns,
    };
    let list = plan.spec.mounts().as_deref().unwrap_or_default();
    for (i, m) in list.iter().enumerate() {
        mounts::mount_entry(m, &ctx).tag(InitStep::Mount(i as u32))?;
    }

    // 5. Device nodes and /dev symlinks, unless /dev is the host's (bind-mounted).
    let dev_is_bind = list.iter().any(|m| {
        m.destination() == Path::new("/dev")
            && (m.typ().as_deref() == Some("bind")
                || m.options()
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|o| o == "bind" || o == "rbind"))
    });
    if !dev_is_bind {
        let mut nodes = devices::default_nodes();
        let spec_devices = linux
            .and_then(|l| l.devices().as_deref())
            .unwrap_or_default();
        for d in spec_devices {
            nodes.retain(|n| n.path != *d.path());
            nodes.push(Node::from_spec(d));
        }
        devices::create_nodes(root.as_fd(), &nodes, plan.userns).tag(InitStep::Devices)?;
        devices::create_symlinks(root.as_fd()).tag(InitStep::Devices)?;
    }
    Ok(root)
}

/// Makes the rootfs the process's `/`.
pub fn enter(plan: &RootfsPlan<'_>, root: &OwnedFd) -> StepResult<()> {
    if plan.no_pivot {
        // --no-pivot (for ramdisk roots where pivot_root is impossible): move the rootfs over
        // `/` and chroot into it. Weaker: the old root stays reachable to a privileged process.
        sys::chdir(plan.rootfs).tag(InitStep::PivotRoot)?;
        sys::mount(
            Some(Path::new(".")),
            Path::new("/"),
            None,
            MsFlags::MS_MOVE,
            None,
        )
        .tag(InitStep::PivotRoot)?;
        sys::chroot(Path::new(".")).tag(InitStep::PivotRoot)?;
    } else {
        // pivot_root(".", ".") stacks the old root on top of the new one, so it can be detached
        // without needing a directory for it inside the rootfs.
        let old_root = sys::open(
            Path::new("/"),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
            Mode::empty(),
        )
        .tag(InitStep::PivotRoot)?;
        sys::fchdir(root.as_fd(), plan.rootfs).tag(InitStep::PivotRoot)?;
        sys::pivot_root_here(plan.rootfs).tag(InitStep::PivotRoot)?;
        // Our cwd may still be the new root's directory, under the stacked old root: go to the
        // old root itself (as runc does), or the rslave below would hit every container mount
        // and undo the spec's "shared"/"rshared" propagation.
        sys::fchdir(old_root.as_fd(), Path::new("/")).tag(InitStep::PivotRoot)?;
        drop(old_root);
        // The old root is a slave of the host's mounts after step 1; make sure the unmount
        // below cannot propagate to the host, then detach it.
        let slave = MsFlags::MS_SLAVE | MsFlags::MS_REC;
        sys::mount(None, Path::new("."), None, slave, None).tag(InitStep::PivotRoot)?;
        sys::umount_detach(Path::new(".")).tag(InitStep::PivotRoot)?;
    }
    // Never leave the process's cwd pointing outside the new root.
    sys::chdir(Path::new("/")).tag(InitStep::PivotRoot)
}

/// What is done once the rootfs is `/`: readonly and masked paths, then the read-only root.
pub fn finish(spec: &Spec) -> StepResult<()> {
    let linux = spec.linux().as_ref();
    let root = sys::open(
        Path::new("/"),
        OFlag::O_PATH | OFlag::O_DIRECTORY,
        Mode::empty(),
    )
    .tag(InitStep::ReadonlyRoot)?;
    for (i, p) in linux
        .and_then(|l| l.readonly_paths().as_deref())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        readonly_path(root.as_fd(), Path::new(p)).tag(InitStep::ReadonlyPath(i as u32))?;
    }
    for (i, p) in linux
        .and_then(|l| l.masked_paths().as_deref())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        masked_path(root.as_fd(), Path::new(p)).tag(InitStep::MaskedPath(i as u32))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        // Remount `/` read-only last: everything above needed to write into it.
        let f = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        let locked = sys::statfs_flags(Path::new("/")).tag(InitStep::ReadonlyRoot)?
            & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC);
        sys::mount(None, Path::new("/"), None, f | locked, None).tag(InitStep::ReadonlyRoot)?;
    }
    if let Some(p) = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(mounts::propagation_flag)
    {
        sys::mount(None, Path::new("/"), None, p, None).tag(InitStep::RootPropagation)?;
    }
    Ok(())
}

/// Makes the mount that contains `path` private, if it is shared.
fn make_parent_mount_private(path: &Path) -> Result<(), SysError> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut best: Option<(&str, bool)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(mp) = fields.get(4) else { continue };
        if path.starts_with(mp) && best.is_none_or(|(b, _)| mp.len() > b.len()) {
            let shared = fields
                .iter()
                .skip(6)
                .take_while(|f| **f != "-")
                .any(|f| f.starts_with("shared:"));
            best = Some((mp, shared));
        }
    }
    match best {
        Some((mp, true)) => sys::mount(None, Path::new(mp), None, MsFlags::MS_PRIVATE, None),
        _ => Ok(()),
    }
}

/// Bind-mounts `path` onto itself read-only. A path that does not exist is skipped.
fn readonly_path(root: std::os::fd::BorrowedFd<'_>, path: &Path) -> Result<(), SysError> {
    let fd = match paths::open_path(root, path) {
        Err(e) if e.errno == Errno::ENOENT => return Ok(()),
        other => other?,
    };
    let rec_bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    let fdp = sys::fd_path(fd.as_fd());
    sys::mount_on_fd(Some(&fdp), fd.as_fd(), None, rec_bind, None, path)?;
    let mounted = paths::open_path(root, path)?;
    let locked = sys::statfs_flags(&sys::fd_path(mounted.as_fd()))?
        & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC);
    let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_REC | locked;
    sys::mount_on_fd(None, mounted.as_fd(), None, ro, None, path)
}

/// Hides `path`: a directory gets an empty read-only tmpfs over it, anything else the
/// container's own `/dev/null` (checked to really be the null device first, so that a rootfs
/// whose /dev/null is a symlink or a regular file cannot unmask anything; CVE-2025-31133).
fn masked_path(root: std::os::fd::BorrowedFd<'_>, path: &Path) -> Result<(), SysError> {
    let fd = match paths::open_path(root, path) {
        Err(e) if e.errno == Errno::ENOENT => return Ok(()),
        other => other?,
    };
    let st = sys::fstat(fd.as_fd(), path)?;
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        let f = MsFlags::MS_RDONLY;
        return sys::mount_on_fd(
            Some(Path::new("tmpfs")),
            fd.as_fd(),
            Some("tmpfs"),
            f,
            None,
            path,
        );
    }
    let null = sys::open(
        Path::new("/dev/null"),
        OFlag::O_PATH | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )?;
    let nst = sys::fstat(null.as_fd(), Path::new("/dev/null"))?;
    if nst.st_mode & libc::S_IFMT != libc::S_IFCHR || nst.st_rdev != nix::sys::stat::makedev(1, 3) {
        return Err(SysError::new(
            sys::SysOp::Mount,
            Some(Path::new("/dev/null")),
            Errno::ENODEV,
        ));
    }
    let src = sys::fd_path(null.as_fd());
    sys::mount_on_fd(Some(&src), fd.as_fd(), None, MsFlags::MS_BIND, None, path)
}
