//! process.terminal: the init (or an exec'd process) allocates a pty inside the container and
//! hands the master to whoever listens on the console socket (SCM_RIGHTS), then makes the
//! slave its stdio and controlling terminal, owned by the process's user.
//!
//! Ownership: the process's user owns its stdio, so that a non-root process can reopen it
//! (`/dev/stdout`, `/proc/self/fd/1`: what nginx-style images log to). runc chowns each stdio
//! fd that is not /dev/null to the process's uid, whatever it is. That is unsafe: a stdio fd
//! inherited from the caller can be a host file or the caller's own terminal, and giving it to a
//! container uid lets the container's user (or whoever has that uid on the host) read the
//! caller's terminal or rewrite the file. runr chowns the pty it allocated and inherited pipes
//! and sockets (what engines pass; an anonymous one can only be reopened through the fds of a
//! process holding it), and leaves every other inherited stdio fd (files, terminals, devices)
//! with its owner.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;

use crate::sys::{self, SysResult};

/// Where the pty's slave also appears for the container's init: `/dev/console` (runc binds it
/// there; an exec'd process leaves it alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevConsole {
    Bind,
    Leave,
}

/// After pivot_root: allocates the pty from the container's /dev/ptmx, gives the slave to
/// `owner` (process.user.uid), sends the master over `socket`, and makes the slave the
/// process's stdio and controlling terminal.
pub fn setup(
    socket: &OwnedFd,
    size: Option<(u16, u16)>,
    console: DevConsole,
    owner: u32,
) -> SysResult<()> {
    let master = sys::open(
        Path::new("/dev/ptmx"),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
        Mode::empty(),
    )?;
    sys::unlockpt(master.as_fd())?;
    let slave = sys::open_pty_peer(master.as_fd())?;
    if let Some((rows, cols)) = size {
        sys::set_winsize(slave.as_fd(), rows, cols)?;
    }
    // The process's user owns its terminal, as under runc: a non-root process can then reopen
    // it (`/dev/pts/N`, `/proc/self/fd/0`). Only the uid changes: the group stays the one devpts
    // gives (normally tty, with mode 0620).
    give_to(slave.as_fd(), owner, Path::new("/dev/pts"))?;
    if console == DevConsole::Bind {
        // /dev/console is what programs open to reach "the" console: make it this pty.
        let slave_path = PathBuf::from(format!("/dev/pts/{}", sys::pty_number(master.as_fd())?));
        let console = Path::new("/dev/console");
        let flags = OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_NOFOLLOW;
        drop(sys::open(console, flags, Mode::from_bits_truncate(0o600))?);
        sys::mount(Some(&slave_path), console, None, MsFlags::MS_BIND, None)?;
    }
    sys::send_fd(socket.as_fd(), b"/dev/ptmx", master.as_fd())?;
    drop(master);
    for stdio in 0..3 {
        sys::dup2(slave.as_fd(), stdio)?;
    }
    sys::set_controlling_tty(slave.as_fd())
}

/// Gives the process's stdio pipes and sockets to `owner` (process.user.uid), as runc does for
/// every stdio fd; other kinds of stdio keep their owner (see the module's doc).
pub fn give_pipes_to(owner: u32) -> SysResult<()> {
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    for (fd, stdio) in [(0, stdin.as_fd()), (1, stdout.as_fd()), (2, stderr.as_fd())] {
        let display = PathBuf::from(format!("/proc/self/fd/{fd}"));
        // A closed stdio fd (EBADF) has nothing to give.
        let Ok(st) = sys::fstat(stdio, &display) else {
            continue;
        };
        let kind = st.st_mode & libc::S_IFMT;
        if (kind == libc::S_IFIFO || kind == libc::S_IFSOCK) && st.st_uid != owner {
            give_to(stdio, owner, &display)?;
        }
    }
    Ok(())
}

/// `fchown(fd, owner, -1)`; like runc, a file whose owner the user namespace does not map
/// (EPERM), an `owner` it does not map (EINVAL: setting the user fails later, clearly) or a
/// read-only file system (EROFS) leaves the file as it is.
fn give_to(fd: std::os::fd::BorrowedFd<'_>, owner: u32, display: &Path) -> SysResult<()> {
    use nix::errno::Errno;
    match sys::fchown_uid(fd, owner, display) {
        Err(e) if matches!(e.errno, Errno::EPERM | Errno::EINVAL | Errno::EROFS) => Ok(()),
        other => other,
    }
}

/// On the receiving side of a console socket: the pty master sent by the init.
pub fn receive_master(socket: &OwnedFd) -> SysResult<Option<OwnedFd>> {
    let mut buf = [0u8; 256];
    sys::recv_fd(socket.as_fd(), &mut buf)
}
