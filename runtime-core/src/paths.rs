//! Resolving paths strictly inside the container's root filesystem.
//!
//! Every path the runtime touches inside the rootfs is opened with `openat2(RESOLVE_IN_ROOT)`
//! from an fd of the rootfs: `..` and absolute symlinks are clamped to the rootfs, so a symlink
//! planted in the image can never send a mount, a device node or a write to the host. Callers
//! then act on the returned fd (`/proc/self/fd/N`), never on a path string that could be swapped
//! between check and use (CVE-2021-30465).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::sys::{self, Errno, SysError, SysResult};

/// What to create when the last component of a path is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    Dir,
    File,
}

/// `dest` (container-absolute or relative to the container's `/`) as a relative path.
pub fn relative(dest: &Path) -> PathBuf {
    dest.components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect()
}

/// Opens `dest` inside `root` as an `O_PATH` fd, without creating anything.
pub fn open_path(root: BorrowedFd<'_>, dest: &Path) -> SysResult<OwnedFd> {
    let rel = relative(dest);
    let target = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel.as_path()
    };
    sys::open_in_root(root, target, OFlag::O_PATH, Mode::empty(), dest)
}

/// Opens `dest` inside `root`, first creating the missing directories on the way and the last
/// component as `leaf` (mode 0755 for directories, 0644 for files). Returns an `O_PATH` fd.
pub fn ensure(root: BorrowedFd<'_>, dest: &Path, leaf: Leaf) -> SysResult<OwnedFd> {
    match open_path(root, dest) {
        Err(e) if e.errno == Errno::ENOENT => {}
        other => return other,
    }
    let rel = relative(dest);
    let parts: Vec<&std::ffi::OsStr> = rel.iter().collect();
    let mut prefix = PathBuf::new();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let parent = open_path(root, &prefix)?;
        prefix.push(part);
        let shown = Path::new("/").join(&prefix);
        let made = if last && leaf == Leaf::File {
            sys::openat(
                parent.as_fd(),
                Path::new(part),
                OFlag::O_CREAT | OFlag::O_RDONLY | OFlag::O_NOFOLLOW,
                Mode::from_bits_truncate(0o644),
            )
            .map(drop)
        } else {
            sys::mkdirat(parent.as_fd(), Path::new(part), 0o755, &shown)
        };
        match made {
            Ok(()) => {}
            Err(e) if e.errno == Errno::EEXIST => {}
            Err(e) => {
                return Err(SysError {
                    path: Some(shown),
                    ..e
                })
            }
        }
    }
    open_path(root, dest)
}

/// True when the last component of `dest` is itself a symlink (checked without following it).
pub fn is_symlink(root: BorrowedFd<'_>, dest: &Path) -> SysResult<bool> {
    let rel = relative(dest);
    let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
        return Ok(false);
    };
    let dir = open_path(root, parent)?;
    let fd = match sys::openat(
        dir.as_fd(),
        Path::new(name),
        OFlag::O_PATH | OFlag::O_NOFOLLOW,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) if e.errno == Errno::ENOENT => return Ok(false),
        Err(e) => return Err(e),
    };
    let st = sys::fstat(fd.as_fd(), dest)?;
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFLNK)
}
