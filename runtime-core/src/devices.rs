//! Device nodes and the standard `/dev` symlinks inside the container.
//!
//! Nodes are made with `mknodat` in a directory resolved inside the rootfs. In a new user
//! namespace `mknod` is not allowed, so the host's node is bind-mounted instead (as runc does).

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nix::sys::stat::SFlag;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use crate::paths::{self, Leaf};
use crate::sys::{self, Errno, SysResult};

/// A device node to create: the defaults every container gets, or one from `linux.devices`.
#[derive(Debug, Clone)]
pub struct Node {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The devices the OCI spec says every Linux container has.
pub fn default_nodes() -> Vec<Node> {
    let char_dev = |name: &str, major, minor| Node {
        path: Path::new("/dev").join(name),
        kind: SFlag::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    };
    vec![
        char_dev("null", 1, 3),
        char_dev("zero", 1, 5),
        char_dev("full", 1, 7),
        char_dev("random", 1, 8),
        char_dev("urandom", 1, 9),
        char_dev("tty", 5, 0),
    ]
}

impl Node {
    pub fn from_spec(d: &LinuxDevice) -> Node {
        let kind = match d.typ() {
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            _ => SFlag::S_IFCHR,
        };
        Node {
            path: d.path().clone(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        }
    }
}

/// Creates `nodes` inside the rootfs. An existing node is left as it is.
pub fn create_nodes(root: BorrowedFd<'_>, nodes: &[Node], userns: bool) -> SysResult<()> {
    for node in nodes {
        if userns {
            bind_host_node(root, node)?;
            continue;
        }
        let parent = node.path.parent().unwrap_or(Path::new("/"));
        let name = node
            .path
            .file_name()
            .map(Path::new)
            .unwrap_or(Path::new(""));
        let dir = paths::ensure(root, parent, Leaf::Dir)?;
        let dev = nix::sys::stat::makedev(node.major, node.minor);
        match sys::mknodat(dir.as_fd(), name, node.kind, node.mode, dev, &node.path) {
            Err(e) if e.errno == Errno::EEXIST => continue,
            other => other?,
        }
        let fd = paths::open_path(root, &node.path)?;
        // chown through the O_PATH fd: fchownat(AT_EMPTY_PATH) semantics via /proc/self/fd.
        sys::chown(&sys::fd_path(fd.as_fd()), node.uid, node.gid, &node.path)?;
    }
    Ok(())
}

fn bind_host_node(root: BorrowedFd<'_>, node: &Node) -> SysResult<()> {
    let target = paths::ensure(root, &node.path, Leaf::File)?;
    sys::mount_on_fd(
        Some(&node.path),
        target.as_fd(),
        None,
        MsFlags::MS_BIND,
        None,
        &node.path,
    )
}

/// `/dev/fd`, `/dev/std{in,out,err}`, `/dev/ptmx` → `pts/ptmx`, and `/dev/core` where the host
/// has `/proc/kcore`.
pub fn create_symlinks(root: BorrowedFd<'_>) -> SysResult<()> {
    let dev = paths::ensure(root, Path::new("/dev"), Leaf::Dir)?;
    let mut links = vec![
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("core", "/proc/kcore"));
    }
    for (name, target) in links {
        match sys::symlinkat(
            Path::new(target),
            dev.as_fd(),
            Path::new(name),
            &Path::new("/dev").join(name),
        ) {
            Err(e) if e.errno == Errno::EEXIST => {}
            other => other?,
        }
    }
    // /dev/ptmx must be the container's devpts instance, never a node of the host's.
    match sys::unlinkat(dev.as_fd(), Path::new("ptmx"), Path::new("/dev/ptmx")) {
        Err(e) if e.errno != Errno::ENOENT => return Err(e),
        _ => {}
    }
    sys::symlinkat(
        Path::new("pts/ptmx"),
        dev.as_fd(),
        Path::new("ptmx"),
        Path::new("/dev/ptmx"),
    )
}
