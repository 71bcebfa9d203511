//! Lifecycle hooks: each runs with the container's state JSON on stdin, its own args and env, and
//! an optional timeout after which it is killed.
//!
//! Where each kind runs (runtime-spec "Lifecycle"): prestart and createRuntime in the runtime's
//! namespaces from `create`; createContainer in the container's namespaces before pivot_root and
//! startContainer after it, both from the init; poststart from `start`; poststop from `delete`.
//! For prestart, createRuntime, createContainer, startContainer and (runtime-spec 1.3, runc
//! 1.2+) poststart the first failure stops the list and fails the operation (a failed poststart
//! also stops the container); poststop hooks all run, their failures being warnings, as the
//! spec says. createContainer hooks run with the container's root filesystem as
//! their working directory (runc chdirs there before running them).

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
/// The hook lists of the spec, in the order the lifecycle runs them.
pub enum HookKind {
    /// `hooks.prestart` (deprecated by the spec, still run as runc runs it).
    Prestart,
    /// `hooks.createRuntime`: in the runtime's namespaces, once the container's exist.
    CreateRuntime,
    /// `hooks.createContainer`: in the container's namespaces, before pivot_root.
    CreateContainer,
    /// `hooks.startContainer`: in the container, right before its program.
    StartContainer,
    /// `hooks.poststart`: after `start`; the first failure fails `start` and stops the container.
    Poststart,
    /// `hooks.poststop`: after `delete`; failures are warnings.
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

    /// The list's name in config.json.
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

/// How a hook that ran ended badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookExit {
    /// It exited with this non-zero status.
    Code(i32),
    /// This signal killed it.
    Signal(i32),
}

/// Why a hook failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookFailure {
    /// It could not be started (errno from exec).
    Spawn(Errno),
    /// It exited non-zero or was killed by a signal, with the tail of what it printed (as runc
    /// reports it).
    Failed {
        /// How it ended.
        exit: HookExit,
        /// The tail of its stdout ([`OUTPUT_TAIL`] bytes).
        stdout: String,
        /// The tail of its stderr ([`OUTPUT_TAIL`] bytes).
        stderr: String,
    },
    /// It ran past its timeout (seconds) and was killed.
    TimedOut(i64),
}

/// How much of a hook's output its error quotes: the end, where the reason usually is.
pub const OUTPUT_TAIL: usize = 1024;

/// The last `max` bytes of `text`, trimmed, cut at a character boundary.
pub fn tail(text: &str, max: usize) -> &str {
    let text = text.trim();
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

impl std::fmt::Display for HookFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookFailure::Spawn(e) => write!(f, "cannot run: {}", e.desc()),
            HookFailure::Failed {
                exit,
                stdout,
                stderr,
            } => {
                match exit {
                    HookExit::Code(c) => write!(f, "exit status {c}")?,
                    HookExit::Signal(s) => {
                        write!(f, "killed by signal {s} ({})", signal_description(*s))?
                    }
                }
                let (out, err) = (tail(stdout, OUTPUT_TAIL), tail(stderr, OUTPUT_TAIL));
                if !out.is_empty() {
                    write!(f, ", stdout: {out}")?;
                }
                if !err.is_empty() {
                    write!(f, ", stderr: {err}")?;
                }
                Ok(())
            }
            HookFailure::TimedOut(t) => write!(f, "timed out after {t}s and was killed"),
        }
    }
}

/// Runs `hooks` in order, stopping at the first failure: returns its index, path and reason.
/// For the hooks whose failure fails the operation (prestart, createRuntime, createContainer,
/// startContainer).
pub fn run_all(hooks: &[Hook], state: &[u8]) -> Result<(), (usize, PathBuf, HookFailure)> {
    for (i, hook) in hooks.iter().enumerate() {
        run_one(hook, state).map_err(|f| (i, hook.path().clone(), f))?;
    }
    Ok(())
}

/// Runs every hook of `hooks`, a failure not stopping the rest; returns the failures. For
/// poststop, whose failures the spec makes warnings: "the remaining hooks and lifecycle continue
/// as if the hook had succeeded" (runc stops at the first failing one).
pub fn run_each(hooks: &[Hook], state: &[u8]) -> Vec<(usize, PathBuf, HookFailure)> {
    hooks
        .iter()
        .enumerate()
        .filter_map(|(i, hook)| {
            run_one(hook, state)
                .err()
                .map(|f| (i, hook.path().clone(), f))
        })
        .collect()
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
        .map_err(|e| HookFailure::Spawn(sys::errno_of(&e)))?;
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
            .map_err(|e| HookFailure::Spawn(sys::errno_of(&e)))?
        {
            drain(&mut stdout, &mut out_buf);
            drain(&mut stderr, &mut err_buf);
            if status.success() {
                return Ok(());
            }
            let exit = match (status.code(), status.signal()) {
                (Some(c), _) => HookExit::Code(c),
                (_, Some(s)) => HookExit::Signal(s),
                _ => HookExit::Code(-1),
            };
            return Err(HookFailure::Failed {
                exit,
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

/// How people (and Go's os/exec, whose words runc's messages carry) name a signal.
fn signal_description(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "hangup",
        libc::SIGINT => "interrupt",
        libc::SIGQUIT => "quit",
        libc::SIGILL => "illegal instruction",
        libc::SIGTRAP => "trace/breakpoint trap",
        libc::SIGABRT => "aborted",
        libc::SIGBUS => "bus error",
        libc::SIGFPE => "floating point exception",
        libc::SIGKILL => "killed",
        libc::SIGSEGV => "segmentation fault",
        libc::SIGPIPE => "broken pipe",
        libc::SIGALRM => "alarm clock",
        libc::SIGTERM => "terminated",
        libc::SIGSYS => "bad system call",
        libc::SIGXCPU => "CPU time limit exceeded",
        libc::SIGXFSZ => "file size limit exceeded",
        _ => "signal",
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
                // Keep the end of a long output: the reason for a failure is usually last.
                into.extend_from_slice(&buf[..n]);
                if into.len() > 64 * 1024 {
                    into.drain(..into.len() - 32 * 1024);
                }
            }
            Err(_) => return,
        }
    }
}
