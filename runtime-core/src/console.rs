//! process.terminal: the init (or an exec'd process) allocates a pty inside the container and
//! hands the master to whoever listens on the console socket (SCM_RIGHTS), then makes the
//! slave its stdio and controlling terminal, owned by the process's user.
//!
//! Ownership: runc chowns each of the process's stdio fds that is not /dev/null to the
//! process's uid, whatever it is. runr chowns only the pty it allocated here: a stdio fd
//! inherited from the caller can be a host file or the caller's own terminal, and giving that to
//! a container uid would let the container's user (or whoever has that uid on the host) take
//! over the caller's terminal or file. Inherited stdio keeps its owner.

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
    // gives (normally tty, with mode 0620). Like runc, an owner the user namespace does not map
    // (EPERM) or a read-only /dev/pts (EROFS) leaves it as it is.
    match sys::chown_pty(slave.as_fd(), owner) {
        Err(e) if e.errno == nix::errno::Errno::EPERM || e.errno == nix::errno::Errno::EROFS => {}
        other => other?,
    }
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

/// On the receiving side of a console socket: the pty master sent by the init.
pub fn receive_master(socket: &OwnedFd) -> SysResult<Option<OwnedFd>> {
    let mut buf = [0u8; 256];
    sys::recv_fd(socket.as_fd(), &mut buf)
}
