//! The parent ↔ init protocol: fixed-size messages over a `SOCK_SEQPACKET` socketpair.
//!
//! ```text
//!   runtime (parent)                              init (child)
//!   clone ───────────────────────────────────────▶ blocks in recv
//!   write uid/gid maps, join cgroup
//!   Go{pid} ─────────────────────────────────────▶ join namespaces given by path
//!          ◀──────────────────────────────── UserNsCreated   (only when a new user
//!   write uid/gid maps                                        namespace comes after joins)
//!   Go{pid} ─────────────────────────────────────▶ unshare namespaces, mounts, /dev
//!          ◀──────────────────────────────── HooksNeeded     (only when prestart or
//!   run prestart + createRuntime hooks                        createRuntime hooks exist)
//!   HooksDone ───────────────────────────────────▶ createContainer hooks, pivot_root,
//!                                                 console, sysctl, paths, rlimits, user, caps
//!          ◀──────────────────────────────── Ready | Failed{step, op, errno, path}
//!   apply cgroup limits, pid file, state.json     waits on the exec fifo until `start`
//! ```
//! EOF instead of a message means the init died; the parent then reaps it and reports how.
//! No JSON or free text crosses: a failure is an [`InitStep`] and a [`SysError`], encoded field by
//! field, so the parent rebuilds the same typed value.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use super::{InitStep, StepError};
use crate::sys::{self, Errno, SysError, SysOp, SysResult};

const MSG_LEN: usize = 512;
const PATH_MAX_WIRE: usize = MSG_LEN - 32;

#[derive(Debug, Clone)]
pub enum Message {
    /// Parent → init: maps and cgroup are in place; `pid` is the init's pid as the host sees it.
    Go { pid: i32 },
    /// Init → parent: mounts are done, run the prestart and createRuntime hooks now.
    HooksNeeded,
    /// Parent → init: those hooks succeeded.
    HooksDone,
    /// Init → parent: set-up is complete; the init now waits for `start`.
    Ready,
    /// Init → parent: a step failed.
    Failed(StepError),
    /// Init → parent: the seccomp notification listener (the fd travels with the message).
    SeccompListener,
    /// Init → parent: the init forked into its new pid namespace; `pid` (host view) is the
    /// container's init from now on, and the sender exits.
    InitPid { pid: i32 },
    /// Init → parent: the init joined the namespaces given by path, then made its new user
    /// namespace; the parent writes its id maps and answers `Go` again.
    UserNsCreated,
}

impl Message {
    fn encode(&self) -> [u8; MSG_LEN] {
        let mut b = [0u8; MSG_LEN];
        match self {
            Message::Go { pid } => {
                b[0] = 1;
                b[4..8].copy_from_slice(&pid.to_ne_bytes());
            }
            Message::HooksNeeded => b[0] = 2,
            Message::HooksDone => b[0] = 3,
            Message::Ready => b[0] = 4,
            Message::SeccompListener => b[0] = 6,
            Message::UserNsCreated => b[0] = 8,
            Message::InitPid { pid } => {
                b[0] = 7;
                b[4..8].copy_from_slice(&pid.to_ne_bytes());
            }
            Message::Failed(e) => {
                b[0] = 5;
                let (code, index) = e.step.encode();
                b[2..4].copy_from_slice(&code.to_ne_bytes());
                b[4..8].copy_from_slice(&index.to_ne_bytes());
                b[8..10].copy_from_slice(&e.source.op.code().to_ne_bytes());
                b[12..16].copy_from_slice(&(e.source.errno as i32).to_ne_bytes());
                let path = e
                    .source
                    .path
                    .as_deref()
                    .map(|p| p.as_os_str().as_bytes())
                    .unwrap_or_default();
                let n = path.len().min(PATH_MAX_WIRE);
                b[16..18].copy_from_slice(&(n as u16).to_ne_bytes());
                b[18] = u8::from(e.source.path.is_some());
                b[32..32 + n].copy_from_slice(&path[..n]);
            }
        }
        b
    }

    fn decode(b: &[u8]) -> Option<Message> {
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        let i32_at = |i: usize| i32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if b.len() != MSG_LEN {
            return None;
        }
        Some(match b[0] {
            1 => Message::Go { pid: i32_at(4) },
            2 => Message::HooksNeeded,
            3 => Message::HooksDone,
            4 => Message::Ready,
            6 => Message::SeccompListener,
            7 => Message::InitPid { pid: i32_at(4) },
            8 => Message::UserNsCreated,
            5 => {
                let step = InitStep::decode(u16_at(2), i32_at(4) as u32);
                let n = usize::from(u16_at(16)).min(PATH_MAX_WIRE);
                let path = (b[18] == 1).then(|| PathBuf::from(OsStr::from_bytes(&b[32..32 + n])));
                let source = SysError {
                    op: SysOp::from_code(u16_at(8)),
                    path,
                    errno: Errno::from_raw(i32_at(12)),
                };
                Message::Failed(StepError { step, source })
            }
            _ => return None,
        })
    }
}

/// One end of the channel.
pub struct Channel {
    fd: OwnedFd,
}

/// A connected pair: (parent's end, init's end). Both close on exec.
pub fn pair() -> SysResult<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| SysError::new(SysOp::Socket, None, e))?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    /// The fd number, for the forked child to close its copy of the parent's end.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    pub fn send(&self, msg: &Message) -> SysResult<()> {
        sys::write_all(self.fd.as_fd(), &msg.encode(), None)
    }

    /// Sends a message with an fd attached (SCM_RIGHTS).
    pub fn send_with_fd(&self, msg: &Message, fd: std::os::fd::BorrowedFd<'_>) -> SysResult<()> {
        sys::send_fd(self.fd.as_fd(), &msg.encode(), fd)
    }

    /// The next message, or `None` when the other side has closed (exited).
    pub fn recv(&self) -> SysResult<Option<Message>> {
        self.recv_with_fd().map(|m| m.map(|(msg, _)| msg))
    }

    /// The next message and the fd that came with it, if any.
    pub fn recv_with_fd(&self) -> SysResult<Option<(Message, Option<OwnedFd>)>> {
        let mut b = [0u8; MSG_LEN];
        let (n, fd) = sys::recv_with_fd(self.fd.as_fd(), &mut b)?;
        if n == 0 {
            return Ok(None);
        }
        let msg = Message::decode(&b[..n])
            .ok_or_else(|| SysError::new(SysOp::Read, None, Errno::EPROTO))?;
        Ok(Some((msg, fd)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn failure_round_trips_typed() {
        let err = StepError {
            step: InitStep::Mount(3),
            source: SysError::new(SysOp::Mount, Some(Path::new("/proc")), Errno::EPERM),
        };
        let (a, b) = pair().unwrap();
        a.send(&Message::Failed(err)).unwrap();
        match b.recv().unwrap() {
            Some(Message::Failed(e)) => {
                assert_eq!(e.step, InitStep::Mount(3));
                assert_eq!(
                    e.source,
                    SysError::new(SysOp::Mount, Some(Path::new("/proc")), Errno::EPERM)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        drop(a);
        assert!(b.recv().unwrap().is_none(), "EOF once the peer is gone");
    }
}
