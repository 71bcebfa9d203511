//! Building the container's root filesystem, in the init, inside its new mount namespace.
//!
//! Read top to bottom, each function is a script of named steps; the comment on a step says why
//! it is there. All paths inside the rootfs go through [`crate::paths`].

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use crate::devices::{self, Node};
use crate::mounts::{self, MountContext};
use crate::paths;
use crate::process::{InitStep, StepError, StepResult, Tag};
use crate::sys::{self, Errno, SysError};

/// Everything about the rootfs that the init needs; built by the parent before the clone.
pub struct RootfsPlan<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub userns: bool,
    pub cgroupns: bool,
    pub no_pivot: bool,
    /// The container has a mount namespace of its own (new or joined). Without one it shares
    /// the runtime's mount table: nothing is mounted, only chroot (see [`prepare`]).
    pub mount_ns: bool,
    /// Bind sources the runtime opened before the clone, one per `mounts` entry
    /// (`mounts::detach_bind_sources`); empty when it opened none.
    pub detached: &'a [Option<OwnedFd>],
}

/// Mounts everything under the rootfs and creates `/dev`. Runs before the createRuntime hooks;
/// the root is still the host's.
pub fn prepare(plan: &RootfsPlan<'_>) -> StepResult<OwnedFd> {
    let dir = OFlag::O_PATH | OFlag::O_DIRECTORY;
    if !plan.mount_ns {
        // The runtime's own mount namespace (no `mount` entry: the spec says inherit it): any
        // propagation change, bind or mount here would change the host's mount table and
        // outlive the container (runc does them all and leaves them behind). Validation refused
        // every field that needs one; the rootfs is only chrooted into.
        return sys::open(plan.rootfs, dir, Mode::empty()).tag(InitStep::BindRootfs);
    }
    let linux = plan.spec.linux().as_ref();
    let propagation = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(mounts::propagation_flag);

    // 1. Make every mount we inherited a slave (or what rootfsPropagation asks): nothing mounted
    //    from here on may propagate back to the host's mount namespace.
    let root_flags = propagation.unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    sys::mount(None, Path::new("/"), None, root_flags, None).tag(InitStep::Propagation)?;

    // 2. The mount holding the rootfs may be neither shared (pivot_root refuses that, and the
    //    bind below would propagate out) nor unbindable (the bind below would fail): after
    //    rslave or rprivate it is neither; otherwise make it private (a slave for the slave
    //    modes), as runc does. rootfsPropagation itself is applied to `/` in [`finish`].
    let settled = root_flags.contains(MsFlags::MS_REC)
        && root_flags.intersects(MsFlags::MS_SLAVE | MsFlags::MS_PRIVATE);
    if !settled {
        let parent = if root_flags.contains(MsFlags::MS_SLAVE) {
            MsFlags::MS_SLAVE
        } else {
            MsFlags::MS_PRIVATE
        };
        set_holding_mount_propagation(plan.rootfs, parent).tag(InitStep::Propagation)?;
    }

    // 3. pivot_root needs the new root to be a mount point: bind the rootfs onto itself.
    let rec_bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    sys::mount(Some(plan.rootfs), plan.rootfs, None, rec_bind, None).tag(InitStep::BindRootfs)?;
    let root = sys::open(plan.rootfs, dir, Mode::empty()).tag(InitStep::BindRootfs)?;

    // 4. The spec's mounts, in order, each resolved inside the rootfs.
    let ctx = MountContext {
        root: root.as_fd(),
        bundle: plan.bundle,
        cgroupns: plan.cgroupns,
        userns: plan.userns,
    };
    let list = plan.spec.mounts().as_deref().unwrap_or_default();
    for (i, m) in list.iter().enumerate() {
        let detached = plan.detached.get(i).and_then(Option::as_ref);
        mounts::mount_entry(m, detached.map(AsFd::as_fd), &ctx).tag(InitStep::Mount(i as u32))?;
    }

    // 5. Device nodes and /dev symlinks, unless /dev is the host's (bind-mounted).
    if !dev_is_bind(list) {
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

/// `/dev` is bind-mounted (the host's, usually): no device nodes are made in it.
fn dev_is_bind(list: &[oci_spec::runtime::Mount]) -> bool {
    list.iter().any(|m| {
        paths::relative(m.destination()) == Path::new("dev")
            && (m.typ().as_deref() == Some("bind")
                || m.options()
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|o| o == "bind" || o == "rbind"))
    })
}

/// Makes the rootfs the process's `/`.
pub fn enter(plan: &RootfsPlan<'_>, root: &OwnedFd) -> StepResult<()> {
    if !plan.mount_ns {
        // The runtime's mount namespace: pivot_root would swap the root of every host process
        // in it; chroot changes only ours (as runc does).
        sys::fchdir(root.as_fd(), plan.rootfs).tag(InitStep::PivotRoot)?;
        sys::chroot(Path::new(".")).tag(InitStep::PivotRoot)?;
    } else if plan.no_pivot {
        // --no-pivot (for ramdisk roots where pivot_root is impossible): move the rootfs over
        // `/` and chroot into it. Weaker: the old root stays reachable to a privileged process.
        sys::chdir(plan.rootfs).tag(InitStep::PivotRoot)?;
        // The host's procfs and sysfs stay in this mount namespace under the moved rootfs:
        // while they do, the kernel lets a user namespace in the container mount a fresh,
        // unmasked procfs ("not too revealing": one is already fully visible). Detach them.
        hide_host_proc_and_sys(plan.rootfs).tag(InitStep::PivotRoot)?;
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
    // The `ro` of tmpfs mounts and of `/dev`, held back until now (devpts, shm, mqueue, the
    // device nodes and the console needed them writable).
    let list = spec.mounts().as_deref().unwrap_or_default();
    mounts::remount_delayed_readonly(root.as_fd(), list).map_err(|(i, source)| StepError {
        step: InitStep::Mount(i),
        source,
    })?;
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

/// Gives the mount holding `path` the propagation `flag`. The kernel changes propagation only
/// on a mount's root (EINVAL below it), so walk up from `path` to the first mount point.
fn set_holding_mount_propagation(path: &Path, flag: MsFlags) -> Result<(), SysError> {
    let mut at = path;
    loop {
        match sys::mount(None, at, None, flag, None) {
            Err(e) if e.errno == Errno::EINVAL => match at.parent() {
                Some(up) => at = up,
                None => return Err(e),
            },
            other => return other,
        }
    }
}

/// Detaches every full procfs and sysfs mount outside `rootfs` (runc's msMoveRoot does the
/// same); one that cannot be unmounted here (locked by a user namespace) is covered with an
/// empty read-only tmpfs instead.
fn hide_host_proc_and_sys(rootfs: &Path) -> Result<(), SysError> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points = Vec::new();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let fstype = post.split(' ').next().unwrap_or_default();
        let (Some(root), Some(point)) = (pre.get(3), pre.get(4)) else {
            continue;
        };
        let point = PathBuf::from(unescape_mountinfo(point));
        if *root == "/" && (fstype == "proc" || fstype == "sysfs") && !point.starts_with(rootfs) {
            points.push(point);
        }
    }
    for point in points {
        // Slave first, so that the unmount cannot propagate to the host.
        let slave = MsFlags::MS_SLAVE | MsFlags::MS_REC;
        match sys::mount(None, &point, None, slave, None) {
            // Already gone with a mount above it.
            Err(e) if e.errno == Errno::ENOENT || e.errno == Errno::EINVAL => continue,
            other => other?,
        }
        match sys::umount_detach(&point) {
            Err(e) if e.errno == Errno::EINVAL || e.errno == Errno::EPERM => {
                let tmpfs = Path::new("tmpfs");
                sys::mount(Some(tmpfs), &point, Some("tmpfs"), MsFlags::MS_RDONLY, None)?;
            }
            other => other?,
        }
    }
    Ok(())
}

/// A mountinfo path field with its octal escapes (`\040` for a space, …) decoded.
fn unescape_mountinfo(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo("/a\\040b\\011c"), "/a b\tc");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
        // A backslash not followed by three octal digits stays as it is.
        assert_eq!(unescape_mountinfo("/x\\09"), "/x\\09");
    }
}
