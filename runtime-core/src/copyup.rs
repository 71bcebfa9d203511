//! `tmpcopyup` (runc's extension, listed in runtime-spec's mount options): a tmpfs mounted over a
//! directory of the image starts with a copy of that directory's contents, so that e.g. `/etc`
//! stays complete but writable without touching the image.
//!
//! The copy reads the directory underneath the new tmpfs through an fd opened before the mount
//! (an fd keeps pointing at the directory it was opened on, below whatever is mounted on it
//! later) and writes into the new mount through an fd of its root. Every step is relative to a
//! directory fd and never follows a symlink, so a symlink in the image cannot send the copy
//! anywhere else. Owners, modes (set-id bits included, applied after the chown) and symlink
//! targets are kept; regular files, directories, symlinks, device nodes and fifos are copied,
//! sockets are left out (they mean nothing without their listener).

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, SFlag};

use crate::sys::{self, SysResult};

/// Copies everything in the directory `from` into the directory `to` (`display`: where `from`
/// is in the container, for errors).
pub fn copy_dir(from: BorrowedFd<'_>, to: BorrowedFd<'_>, display: &Path) -> SysResult<()> {
    for name in sys::list_dir(from, display)? {
        copy_entry(from, to, &name, &display.join(&name))?;
    }
    Ok(())
}

fn copy_entry(
    from: BorrowedFd<'_>,
    to: BorrowedFd<'_>,
    name: &OsStr,
    shown: &Path,
) -> SysResult<()> {
    let name = Path::new(name);
    let st = sys::fstatat_nofollow(from, name, shown)?;
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    let mode = st.st_mode & 0o7777;
    let read = OFlag::O_RDONLY | OFlag::O_NOFOLLOW;
    match kind {
        SFlag::S_IFDIR => {
            sys::mkdirat(to, name, 0o700, shown)?;
            let src = sys::openat(from, name, read | OFlag::O_DIRECTORY, Mode::empty())?;
            let dst = sys::openat(to, name, read | OFlag::O_DIRECTORY, Mode::empty())?;
            copy_dir(src.as_fd(), dst.as_fd(), shown)?;
            sys::fchownat_empty(dst.as_fd(), st.st_uid, st.st_gid, shown)?;
            sys::fchmod(dst.as_fd(), mode, shown)
        }
        SFlag::S_IFREG => {
            let src = sys::openat(from, name, read, Mode::empty())?;
            let create = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
            let dst = sys::openat(to, name, create, Mode::from_bits_truncate(0o600))?;
            sys::copy_data(src.as_fd(), dst.as_fd(), shown)?;
            sys::fchownat_empty(dst.as_fd(), st.st_uid, st.st_gid, shown)?;
            sys::fchmod(dst.as_fd(), mode, shown)
        }
        SFlag::S_IFLNK => {
            let target = sys::readlinkat(from, name, shown)?;
            sys::symlinkat(&target, to, name, shown)?;
            sys::lchownat(to, name, st.st_uid, st.st_gid, shown)
        }
        SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO => {
            sys::mknodat(to, name, kind, mode, st.st_rdev, shown)?;
            sys::lchownat(to, name, st.st_uid, st.st_gid, shown)
        }
        _ => Ok(()),
    }
}
