//! The container process's stdin, stdout and stderr, chosen by the caller: the caller's own
//! (inherited), `/dev/null`, a pipe whose other end the caller keeps, or any fd it owns.
//!
//! The parent prepares everything before the clone ([`plumb`]): each source the child will use
//! is moved to an fd numbered 3 or above (close-on-exec), so that the child's `dup2` onto 0, 1
//! and 2 ([`ChildStdio::install`]) can never overwrite a source it still needs, and nothing but
//! the three targets survives the `execve`.

use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, Result};
use crate::sys::{self, SysResult};

/// Where one of the container process's standard streams comes from or goes to.
///
/// ```
/// use runtime_core::Stdio;
/// let (inherit, null, piped) = (Stdio::inherit(), Stdio::null(), Stdio::piped());
/// let file: Stdio = std::fs::File::open("/dev/null").unwrap().into();
/// # let _ = (inherit, null, piped, file);
/// ```
pub struct Stdio(Kind);

enum Kind {
    Inherit,
    Null,
    Piped,
    Fd(OwnedFd),
}

impl Stdio {
    /// The caller's own stream (fd 0, 1 or 2 of the calling process), as runc gives it.
    pub fn inherit() -> Stdio {
        Stdio(Kind::Inherit)
    }

    /// The host's `/dev/null`.
    pub fn null() -> Stdio {
        Stdio(Kind::Null)
    }

    /// A new pipe: the container gets one end, the caller takes the other from the
    /// [`Container`](crate::Container) or [`ExecProcess`](crate::ExecProcess)
    /// (`take_stdin`, `take_stdout`, `take_stderr`).
    pub fn piped() -> Stdio {
        Stdio(Kind::Piped)
    }

    /// Any fd the caller owns (a file, a socket, one end of its own pipe); the container gets a
    /// copy and the caller's is closed when the container has been created.
    pub fn fd(fd: impl Into<OwnedFd>) -> Stdio {
        Stdio(Kind::Fd(fd.into()))
    }

    pub(crate) fn is_piped(&self) -> bool {
        matches!(self.0, Kind::Piped)
    }
}

impl Default for Stdio {
    fn default() -> Self {
        Stdio::inherit()
    }
}

impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Self {
        Stdio::fd(fd)
    }
}

impl From<std::fs::File> for Stdio {
    fn from(f: std::fs::File) -> Self {
        Stdio::fd(f)
    }
}

impl fmt::Debug for Stdio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Inherit => f.write_str("Stdio::inherit()"),
            Kind::Null => f.write_str("Stdio::null()"),
            Kind::Piped => f.write_str("Stdio::piped()"),
            Kind::Fd(fd) => write!(f, "Stdio::fd({fd:?})"),
        }
    }
}

/// The three streams as the caller asked for them (stdin, stdout, stderr).
#[derive(Debug, Default)]
pub(crate) struct StdioChoice {
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
}

impl StdioChoice {
    pub(crate) fn any_piped(&self) -> bool {
        [&self.stdin, &self.stdout, &self.stderr]
            .iter()
            .any(|s| s.is_piped())
    }
}

/// What the child moves onto fds 0, 1 and 2 (`None`: it keeps the caller's).
#[derive(Debug, Default)]
pub(crate) struct ChildStdio([Option<OwnedFd>; 3]);

impl ChildStdio {
    /// True when at least one stream is not the caller's.
    pub(crate) fn is_redirected(&self) -> bool {
        self.0.iter().any(Option::is_some)
    }

    /// In the child, before anything uses its stdio: each chosen source onto its number. The
    /// sources stay close-on-exec, so only 0, 1 and 2 reach the container's program.
    pub(crate) fn install(&self) -> SysResult<()> {
        for (target, source) in (0..).zip(&self.0) {
            if let Some(fd) = source {
                sys::dup2(fd.as_fd(), target)?;
            }
        }
        Ok(())
    }
}

/// The caller's ends of piped streams: the write end of stdin, the read ends of stdout and
/// stderr.
#[derive(Debug, Default)]
pub(crate) struct Pipes {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// Opens `/dev/null` and the pipes the caller asked for, and moves every child source above
/// fd 2. Returns the child's sources and the caller's pipe ends.
pub(crate) fn plumb(choice: StdioChoice) -> Result<(ChildStdio, Pipes)> {
    let (stdin, parent_stdin) = child_end(choice.stdin, "stdin", true)?;
    let (stdout, parent_stdout) = child_end(choice.stdout, "stdout", false)?;
    let (stderr, parent_stderr) = child_end(choice.stderr, "stderr", false)?;
    let pipes = Pipes {
        stdin: parent_stdin,
        stdout: parent_stdout,
        stderr: parent_stderr,
    };
    Ok((ChildStdio([stdin, stdout, stderr]), pipes))
}

type Ends = (Option<OwnedFd>, Option<OwnedFd>);

/// One stream: the child's source (above fd 2) and, for a pipe, the caller's end.
fn child_end(stdio: Stdio, name: &str, input: bool) -> Result<Ends> {
    let fail = |what: &str| Error::sys(format!("{what} for the container's {name}"));
    let (child, parent) = match stdio.0 {
        Kind::Inherit => return Ok((None, None)),
        Kind::Null => {
            let null = sys::open(Path::new("/dev/null"), OFlag::O_RDWR, Mode::empty())
                .map_err(fail("open /dev/null"))?;
            (null, None)
        }
        Kind::Piped => {
            let (read, write) = sys::pipe().map_err(fail("create a pipe"))?;
            if input {
                (read, Some(write))
            } else {
                (write, Some(read))
            }
        }
        Kind::Fd(fd) => (fd, None),
    };
    let above = sys::dup_above_stdio(child.as_fd()).map_err(fail("copy the fd"))?;
    Ok((Some(above), parent))
}

/// A terminal replaces all three streams with the pty: choosing them as well is refused rather
/// than ignored.
pub(crate) fn refuse_with_terminal(
    stdio: &ChildStdio,
    terminal: bool,
    config: &Path,
) -> Result<()> {
    if terminal && stdio.is_redirected() {
        return Err(Error::config(
            config,
            "process.terminal",
            "stdin, stdout or stderr was redirected, but a terminal gives the process its pty as all three",
        ));
    }
    Ok(())
}
