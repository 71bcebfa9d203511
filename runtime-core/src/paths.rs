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
    // openat2 fails with EAGAIN when a `..` on the way raced with any rename or mount on the
    // system (it cannot then prove the walk stayed inside the root): the man page says retry.
    let mut tries = 0;
    loop {
        match sys::open_in_root(root, target, OFlag::O_PATH, Mode::empty(), dest) {
            Err(e) if e.errno == Errno::EAGAIN && tries < MAX_EAGAIN_RETRIES => tries += 1,
            other => return other,
        }
    }
}

/// How often a path walk that raced with a mount or rename elsewhere is retried.
const MAX_EAGAIN_RETRIES: u32 = 128;

/// Opens `dest` inside `root`, first creating the missing directories on the way and the last
/// component as `leaf` (mode 0755 for directories, 0644 for files). Returns an `O_PATH` fd.
///
/// Symlinks on the way are followed as if `root` were `/` (like runc's securejoin): a rootfs
/// symlink `/etc/evil -> /host/dir` or `-> ../../../host/dir` whose target does not exist yet
/// makes the directories at `<rootfs>/host/dir`, never on the host.
pub fn ensure(root: BorrowedFd<'_>, dest: &Path, leaf: Leaf) -> SysResult<OwnedFd> {
    match open_path(root, dest) {
        Err(e) if e.errno == Errno::ENOENT => {}
        other => return other,
    }
    // The common case, a missing leaf in an existing directory (a mount target under a fresh
    // tmpfs): made in its parent, resolved inside the root, without walking the path again.
    if let Some(fd) = ensure_leaf(root, dest, leaf)? {
        return Ok(fd);
    }
    let rel = resolve(root, dest)?;
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
    open_path(root, &rel).map_err(|e| SysError {
        path: Some(dest.to_path_buf()),
        ..e
    })
}

/// `dest`'s last component made in its parent when the parent exists (opened inside `root`,
/// so every symlink on the way was followed as if `root` were `/`) and the leaf does not (a
/// dangling symlink there gives EEXIST: `None`, for [`ensure`]'s full walk to follow it).
fn ensure_leaf(root: BorrowedFd<'_>, dest: &Path, leaf: Leaf) -> SysResult<Option<OwnedFd>> {
    let rel = relative(dest);
    let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
        return Ok(None);
    };
    // Any error on the way (a missing parent, a file in the way) is the full walk's to report.
    let Ok(dir) = open_path(root, parent) else {
        return Ok(None);
    };
    let shown = Path::new("/").join(&rel);
    let made = match leaf {
        Leaf::File => sys::openat(
            dir.as_fd(),
            Path::new(name),
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDONLY | OFlag::O_NOFOLLOW,
            Mode::from_bits_truncate(0o644),
        )
        .map(drop),
        Leaf::Dir => sys::mkdirat(dir.as_fd(), Path::new(name), 0o755, &shown),
    };
    match made {
        Ok(()) => open_path(root, &rel).map(Some),
        Err(e) if e.errno == Errno::EEXIST => Ok(None),
        Err(e) => Err(SysError {
            path: Some(shown),
            ..e
        }),
    }
}

/// How many symlinks one path may go through (the kernel's own limit).
const MAX_SYMLINKS: u32 = 40;

/// `dest` with every symlink in its existing part replaced by its target, read as if `root`
/// were `/` (`..` stops at the root). Returns a path relative to `root` whose existing
/// components are no symlinks; its missing tail is kept as written.
fn resolve(root: BorrowedFd<'_>, dest: &Path) -> SysResult<PathBuf> {
    let mut todo: Vec<std::ffi::OsString> = relative(dest)
        .iter()
        .rev()
        .map(|c| c.to_os_string())
        .collect();
    let mut done = PathBuf::new();
    let mut links = 0;
    let mut missing = false;
    while let Some(part) = todo.pop() {
        if part == ".." {
            done.pop();
            continue;
        }
        if !missing {
            let dir = open_path(root, &done)?;
            let shown = Path::new("/").join(&done).join(&part);
            match sys::readlinkat(dir.as_fd(), Path::new(&part), &shown) {
                Ok(target) => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(SysError::new(sys::SysOp::Lookup, Some(dest), Errno::ELOOP));
                    }
                    if target.is_absolute() {
                        done = PathBuf::new();
                    }
                    todo.extend(
                        target
                            .components()
                            .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
                            .map(|c| c.as_os_str().to_os_string())
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev(),
                    );
                    continue;
                }
                Err(e) if e.errno == Errno::EINVAL => {}
                Err(e) if e.errno == Errno::ENOENT => missing = true,
                Err(e) => return Err(e),
            }
        }
        done.push(part);
    }
    Ok(done)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root_fd(dir: &Path) -> OwnedFd {
        sys::open(dir, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap()
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("runr-paths-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("etc")).unwrap();
        d
    }

    #[test]
    fn ensure_makes_a_missing_leaf_in_its_parent_and_leaves_dangling_leaves_to_the_walk() {
        let d = tempdir("leaf");
        let root = root_fd(&d);
        ensure(root.as_fd(), Path::new("/etc/sub"), Leaf::Dir).unwrap();
        ensure(root.as_fd(), Path::new("/etc/file"), Leaf::File).unwrap();
        assert!(d.join("etc/sub").is_dir());
        assert!(d.join("etc/file").is_file());
        // An existing leaf is opened as it is, not made again.
        ensure(root.as_fd(), Path::new("/etc/sub"), Leaf::Dir).unwrap();
        // A dangling symlink as the leaf: its target is made inside the root (the full walk).
        symlink("/made/here", d.join("etc/link")).unwrap();
        ensure(root.as_fd(), Path::new("/etc/link"), Leaf::Dir).unwrap();
        assert!(d.join("made/here").is_dir());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn ensure_follows_dangling_symlinks_inside_the_root() {
        let d = tempdir("dangling");
        let outside = std::env::temp_dir().join("runr-paths-never-created");
        symlink(&outside, d.join("etc/abs")).unwrap();
        symlink("../../../../../../../../nowhere/x", d.join("etc/rel")).unwrap();
        let root = root_fd(&d);
        ensure(root.as_fd(), Path::new("/etc/abs/sub"), Leaf::Dir).unwrap();
        ensure(root.as_fd(), Path::new("/etc/rel"), Leaf::File).unwrap();
        assert!(d
            .join(outside.strip_prefix("/").unwrap())
            .join("sub")
            .is_dir());
        assert!(d.join("nowhere/x").is_file());
        assert!(!outside.exists(), "nothing is created outside the root");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn symlink_loops_are_refused() {
        let d = tempdir("loop");
        symlink("b", d.join("etc/a")).unwrap();
        symlink("a", d.join("etc/b")).unwrap();
        let root = root_fd(&d);
        let e = ensure(root.as_fd(), Path::new("/etc/a"), Leaf::Dir).unwrap_err();
        assert_eq!(e.errno, Errno::ELOOP);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
