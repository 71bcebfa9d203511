//! `--pidfd-socket` (runc 1.2+): a caller-supplied AF_UNIX socket that receives a pidfd of the
//! container's init (`create`, `run`) or of an exec'd process (`exec`), so that a manager can
//! signal and wait for it without the pid-reuse races of a plain pid.
//!
//! As in runc, the socket is connected before anything is created (a bad path fails early and
//! leaves nothing), and one message is sent: SCM_RIGHTS with the pidfd, the payload naming the
//! kind of process, "standard" for an init and "setns" for an exec'd one (runc's init types).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sys::{self, SysError, SysOp};

/// Which process a pidfd is of (the message's payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidfdKind {
    /// The container's init.
    Init,
    /// A process `exec`'d into the container.
    Exec,
}

impl PidfdKind {
    fn payload(self) -> &'static [u8] {
        match self {
            PidfdKind::Init => b"standard",
            PidfdKind::Exec => b"setns",
        }
    }
}

/// A connected pidfd socket.
pub struct PidfdSocket {
    path: PathBuf,
    stream: OwnedFd,
}

impl PidfdSocket {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> Result<PidfdSocket> {
        let stream = UnixStream::connect(path).map_err(|e| Error::Sys {
            context: "connect to --pidfd-socket".into(),
            error: SysError::new(SysOp::Connect, Some(path), sys::errno_of(&e)),
        })?;
        Ok(PidfdSocket {
            path: path.to_path_buf(),
            stream: stream.into(),
        })
    }

    /// Sends `pidfd` (a pidfd the caller holds, e.g. [`crate::ExecProcess::pidfd`]).
    pub fn send_pidfd(self, pidfd: BorrowedFd<'_>, kind: PidfdKind) -> Result<()> {
        let context = format!("send a pidfd to --pidfd-socket {}", self.path.display());
        sys::send_fd(self.stream.as_fd(), kind.payload(), pidfd).map_err(Error::sys(context))
    }

    /// Sends a pidfd of process `pid` (which must be alive: a pidfd of a recycled pid would be
    /// of someone else, so call this while the process cannot have been reaped).
    pub fn send(self, pid: i32, kind: PidfdKind) -> Result<()> {
        let context = format!("send a pidfd to --pidfd-socket {}", self.path.display());
        let pidfd = sys::pidfd_open(pid).map_err(Error::sys(context.clone()))?;
        sys::send_fd(self.stream.as_fd(), kind.payload(), pidfd.as_fd())
            .map_err(Error::sys(context))
    }
}
