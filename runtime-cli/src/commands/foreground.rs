//! Staying in the foreground for a container process (`run`, `exec`): forward signals to it,
//! relay its terminal when we hold the pty master, reap what is re-parented to us, and return
//! runc's exit code for it (its status, or 128+signal).

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::sys::termios;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// A socketpair for a foreground process's console: (ours, the one to offer the library).
pub fn console_pair() -> nix::Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
}

/// Every signal runc forwards, plus SIGCHLD (reaping) and SIGWINCH (terminal size).
pub fn forwarded_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in Signal::iterator() {
        if !matches!(
            s,
            Signal::SIGKILL
                | Signal::SIGSTOP
                | Signal::SIGSEGV
                | Signal::SIGBUS
                | Signal::SIGFPE
                | Signal::SIGILL
        ) {
            set.add(s);
        }
    }
    set
}

/// The foreground loop for process `pid` (our child); returns runc's exit code for it.
pub fn wait(pid: i32, master: Option<OwnedFd>, signals: SigSet) -> anyhow::Result<i32> {
    let init = Pid::from_raw(pid);
    let sfd = SignalFd::with_flags(&signals, SfdFlags::SFD_CLOEXEC)?;
    let stdin = std::io::stdin();
    let raw = match &master {
        Some(m) => {
            copy_winsize(stdin.as_fd(), m.as_fd());
            RawMode::enter(stdin.as_fd())
        }
        None => None,
    };
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    let mut buf = [0u8; 8192];
    let code = 'outer: loop {
        // The init may have exited before we got here: check before sleeping.
        if let Some(code) = reap(init)? {
            break code;
        }
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let (Some(m), true) = (&master, master_open) {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
        }
        if let (true, true) = (stdin_open, master.is_some()) {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => other?,
        };
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGCHLD {
                    if let Some(code) = reap(init)? {
                        break 'outer code;
                    }
                } else if sig == libc::SIGWINCH {
                    if let Some(m) = &master {
                        copy_winsize(stdin.as_fd(), m.as_fd());
                    }
                } else {
                    let _ = nix::sys::signal::kill(init, Signal::try_from(sig).ok());
                }
            }
        }
        let mut idx = 1;
        if let (Some(m), true) = (&master, master_open) {
            if ready[idx] && !relay(m.as_fd(), &mut std::io::stdout(), &mut buf) {
                master_open = false;
            }
            idx += 1;
        }
        if stdin_open && master.is_some() && ready.get(idx).copied().unwrap_or(false) {
            let n = std::io::stdin().lock().read(&mut buf).unwrap_or(0);
            if n == 0 {
                stdin_open = false;
            } else if let Some(m) = &master {
                let _ = nix::unistd::write(m.as_fd(), &buf[..n]);
            }
        }
    };
    // Whatever the container wrote last is still in the pty.
    if let (Some(m), true) = (&master, master_open) {
        let _ = nix::fcntl::fcntl(
            m.as_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        while relay(m.as_fd(), &mut std::io::stdout(), &mut buf) {}
    }
    drop(raw);
    Ok(code)
}

/// Reaps every exited child; returns the init's exit code once it is among them.
fn reap(init: Pid) -> anyhow::Result<Option<i32>> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == init => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == init => {
                return Ok(Some(128 + sig as i32))
            }
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => return Ok(None),
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Copies what the pty has to `out`; false at EOF/EIO (the container side closed).
fn relay(from: BorrowedFd<'_>, out: &mut impl Write, buf: &mut [u8]) -> bool {
    match nix::unistd::read(from, buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let _ = out.write_all(&buf[..n]);
            let _ = out.flush();
            true
        }
    }
}

fn copy_winsize(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    let _ = runtime_core::copy_window_size(from, to);
}

/// Our terminal in raw mode while we relay a container's tty; restored on drop.
struct RawMode {
    fd: i32,
    saved: termios::Termios,
}

impl RawMode {
    fn enter(fd: BorrowedFd<'_>) -> Option<RawMode> {
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, termios::SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode {
            fd: fd.as_raw_fd(),
            saved,
        })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let stdin = std::io::stdin();
        if stdin.as_fd().as_raw_fd() == self.fd {
            let _ = termios::tcsetattr(stdin.as_fd(), termios::SetArg::TCSANOW, &self.saved);
        }
    }
}
