//! Lifecycle hooks: each runs with the container's state JSON on stdin, its own args and env, and
//! an optional timeout after which it is killed.
//!
//! Where each kind runs (runtime-spec "Lifecycle"): prestart and createRuntime in the runtime's
//! namespaces from `create`; createContainer in the container's namespaces before pivot_root and
//! startContainer after it, both from the init; poststart from `start`; poststop from `delete`.
//! The first failure stops the list; for poststart and poststop the caller turns it into a
//! warning, as the spec says.

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks};

use crate::sys::{self, Errno};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl HookKind {
    /// Every kind, in lifecycle order (the wire form of a kind is its place here).
    pub const ALL: [HookKind; 6] = [
        HookKind::Prestart,
        HookKind::CreateRuntime,
        HookKind::CreateContainer,
        HookKind::StartContainer,
        HookKind::Poststart,
        HookKind::Poststop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        }
    }

    /// This kind's list in the spec's hooks.
    pub fn list(self, hooks: Option<&Hooks>) -> &[Hook] {
        let Some(h) = hooks else { return &[] };
        let list = match self {
            HookKind::Prestart => h.prestart(),
            HookKind::CreateRuntime => h.create_runtime(),
            HookKind::CreateContainer => h.create_container(),
            HookKind::StartContainer => h.start_container(),
            HookKind::Poststart => h.poststart(),
            HookKind::Poststop => h.poststop(),
        };
        list.as_deref().unwrap_or_default()
    }
}

/// Why a hook failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookFailure {
    /// It could not be started (errno from exec).
    Spawn(Errno),
    /// It exited non-zero or was killed by a signal (with what it printed, as runc reports).
    Failed {
        status: std::process::ExitStatus,
        stdout: String,
        stderr: String,
    },
    /// It ran past its timeout and was killed.
    TimedOut(i64),
}

impl std::fmt::Display for HookFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookFailure::Spawn(e) => write!(f, "cannot run: {}", e.desc()),
            HookFailure::Failed {
                status,
                stdout,
                stderr,
            } => {
                match (status.code(), status.signal()) {
                    (Some(c), _) => write!(f, "exit status {c}")?,
                    (_, Some(s)) => write!(f, "killed by signal {s}")?,
                    _ => write!(f, "failed ({status})")?,
                }
                if !stdout.trim().is_empty() {
                    write!(f, ", stdout: {}", stdout.trim())?;
                }
                if !stderr.trim().is_empty() {
                    write!(f, ", stderr: {}", stderr.trim())?;
                }
                Ok(())
            }
            HookFailure::TimedOut(t) => write!(f, "timed out after {t}s and was killed"),
        }
    }
}

/// Runs `hooks` in order; on failure returns the index, path and reason of the failing one.
pub fn run_all(hooks: &[Hook], state: &[u8]) -> Result<(), (usize, PathBuf, HookFailure)> {
    for (i, hook) in hooks.iter().enumerate() {
        run_one(hook, state).map_err(|f| (i, hook.path().clone(), f))?;
    }
    Ok(())
}

fn run_one(hook: &Hook, state: &[u8]) -> Result<(), HookFailure> {
    let mut cmd = Command::new(hook.path());
    if let Some(args) = hook.args().as_deref() {
        if let Some((first, rest)) = args.split_first() {
            cmd.arg0(first).args(rest);
        }
    }
    let env: HashMap<&str, &str> = hook
        .env()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    cmd.env_clear()
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| HookFailure::Spawn(Errno::from_raw(e.raw_os_error().unwrap_or(0))))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not an error (EPIPE).
        let _ = stdin.write_all(state);
    }
    let deadline = hook
        .timeout()
        .map(|t| (t, Instant::now() + Duration::from_secs(t as u64)));
    let pidfd = sys::pidfd_open(child.id() as i32).ok();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut out_buf = Vec::new();
    let mut err_buf = Vec::new();
    loop {
        // Drain the hook's output while waiting, so a chatty hook cannot block on a full pipe.
        drain(&mut stdout, &mut out_buf);
        drain(&mut stderr, &mut err_buf);
        let wait_ms = match deadline {
            Some((t, d)) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(HookFailure::TimedOut(t));
                }
                left.as_millis().min(100) as i32
            }
            None => 100,
        };
        if let Some(status) = child
            .try_wait()
            .map_err(|e| HookFailure::Spawn(Errno::from_raw(e.raw_os_error().unwrap_or(0))))?
        {
            drain(&mut stdout, &mut out_buf);
            drain(&mut stderr, &mut err_buf);
            if status.success() {
                return Ok(());
            }
            return Err(HookFailure::Failed {
                status,
                stdout: String::from_utf8_lossy(&out_buf).into_owned(),
                stderr: String::from_utf8_lossy(&err_buf).into_owned(),
            });
        }
        match &pidfd {
            Some(fd) => {
                let _ = sys::pidfd_wait_exit(fd.as_fd(), wait_ms);
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Reads what is available on a pipe without blocking; closes it at EOF.
fn drain<R: std::io::Read + AsFd>(pipe: &mut Option<R>, into: &mut Vec<u8>) {
    let Some(p) = pipe else { return };
    let _ = sys::set_nonblocking(p.as_fd());
    let mut buf = [0u8; 4096];
    loop {
        match p.read(&mut buf) {
            Ok(0) => {
                *pipe = None;
                return;
            }
            Ok(n) => {
                if into.len() < 64 * 1024 {
                    into.extend_from_slice(&buf[..n]);
                }
            }
            Err(_) => return,
        }
    }
}
