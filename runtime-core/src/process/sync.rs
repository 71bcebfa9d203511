//! The parent ↔ init protocol: fixed-size messages over a `SOCK_SEQPACKET` socketpair.
//!
//! ```text
//!   runtime (parent)                              init (child)
//!   clone ───────────────────────────────────────▶ blocks in recv
//!   write uid/gid maps, join cgroup
//!   Go{pid} ─────────────────────────────────────▶ join namespaces given by path
//!          ◀──────────────────────────────── UserNsCreated   (only when a new user
//!   write uid/gid maps                                        namespace comes after joins)
//!   Go{pid} ─────────────────────────────────────▶ unshare namespaces
//!          ◀──────────────────────────────── NetDevicesNeeded (only when linux.netDevices
//!   move the devices into its network namespace               names devices)
//!   NetDevicesDone ──────────────────────────────▶ mounts, /dev
//!          ◀──────────────────────────────── HooksNeeded     (only when prestart or
//!   run prestart + createRuntime hooks                        createRuntime hooks exist)
//!   HooksDone ───────────────────────────────────▶ createContainer hooks, pivot_root,
//!                                                 console, sysctl, paths, rlimits, user, caps
//!          ◀──────────────────────────────── SeccompListener{fd}  (a notifying filter was
//!   pidfd_getfd(fd)                                           just loaded)
//!   SeccompDone ─────────────────────────────────▶
//!   hand the listener to listenerPath
//!          ◀──────────────────────────────── Timings{phase ends}  (only when the runtime
//!   report them as trace steps                                traces: trace.rs)
//!          ◀──────────────────────────────── Ready | Failed{step, op, errno, path}
//!                                                  | HookFailed{index, exit, output tail}
//!   apply cgroup limits, state.json, pid file      (through the exec stub: execveat of
//!                                                  the stub, which reads the Handover)
//!   Handover ────────────────────────────────────▶ waits on the exec fifo until `start`
//! ```
//! EOF instead of a message means the init died; the parent then reaps it and reports how.
//! EOF on the init's side before `Handover` means the runtime died before `create` returned:
//! the init exits by itself, so a killed `create` never leaves an init parked on its fifo.
//! No JSON or free text crosses: a failure is an [`InitStep`] and a [`SysError`], encoded field by
//! field, so the parent rebuilds the same typed value. A message this binary could not have sent
//! (unknown kind, step or operation code, bad length) is refused with `EPROTO`.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::{InitStep, StepError};
use crate::hooks::{self, HookExit, HookFailure};
use crate::sys::{self, Errno, SysError, SysOp, SysResult};
use crate::trace::{Marks, Phase, MAX_MARKS};

/// Every message is this long (a hook failure carries the hook's output, so room for it).
const MSG_LEN: usize = 4096;

/// The first byte of a Handover message, which the exec stub checks too
/// (`HANDOVER` in stub/exec-stub.c; a test keeps the two equal).
pub(crate) const HANDOVER: u8 = 10;
/// What follows the 32-byte header: a path, or a hook's path and output.
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
    /// Init → parent: the seccomp filter is loaded and its notification listener is fd number
    /// `fd` of the init; the parent takes a copy (`pidfd_getfd`, as runc does: this message is
    /// a plain `write`, the one syscall a filter may not make wait for the agent).
    SeccompListener { fd: i32 },
    /// Parent → init: the parent has its copy of the listener (the init may close its own; the
    /// agent gets it next, so a syscall that waits for it from now on is answered).
    SeccompDone,
    /// Init → parent: the init forked into its new pid namespace; `pid` (host view) is the
    /// container's init from now on, and the sender exits.
    InitPid { pid: i32 },
    /// Init → parent: createContainer hook `index` failed (how, and the tail of its output).
    HookFailed { index: u32, failure: HookFailure },
    /// Parent → init: the container is recorded and `create` returns; wait for `start`.
    Handover,
    /// Init → parent: the init joined the namespaces given by path, then made its new user
    /// namespace; the parent writes its id maps and answers `Go` again.
    UserNsCreated,
    /// Init → parent: the init has its final network namespace; move `linux.netDevices` in.
    NetDevicesNeeded,
    /// Parent → init: the devices are in its network namespace.
    NetDevicesDone,
    /// Child → parent, just before `Ready` and only when the runtime traces: when each of
    /// the child's set-up phases ended (trace.rs).
    Timings(Box<Marks>),
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
            Message::SeccompListener { fd } => {
                b[0] = 6;
                b[4..8].copy_from_slice(&fd.to_ne_bytes());
            }
            Message::SeccompDone => b[0] = 9,
            Message::Handover => b[0] = HANDOVER,
            Message::UserNsCreated => b[0] = 11,
            Message::NetDevicesNeeded => b[0] = 13,
            Message::NetDevicesDone => b[0] = 14,
            Message::InitPid { pid } => {
                b[0] = 7;
                b[4..8].copy_from_slice(&pid.to_ne_bytes());
            }
            Message::HookFailed { index, failure } => {
                b[0] = 8;
                b[4..8].copy_from_slice(&index.to_ne_bytes());
                encode_hook_failure(failure, &mut b);
            }
            Message::Timings(marks) => {
                b[0] = 12;
                encode_marks(marks, &mut b);
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
        if b.len() == STUB_FRAME_LEN {
            return decode_stub_failure(b);
        }
        if b.len() != MSG_LEN {
            return None;
        }
        Some(match b[0] {
            1 => Message::Go { pid: i32_at(4) },
            2 => Message::HooksNeeded,
            3 => Message::HooksDone,
            4 => Message::Ready,
            6 => Message::SeccompListener { fd: i32_at(4) },
            9 => Message::SeccompDone,
            7 => Message::InitPid { pid: i32_at(4) },
            12 => Message::Timings(Box::new(decode_marks(b)?)),
            8 => Message::HookFailed {
                index: i32_at(4) as u32,
                failure: decode_hook_failure(b)?,
            },
            HANDOVER => Message::Handover,
            11 => Message::UserNsCreated,
            13 => Message::NetDevicesNeeded,
            14 => Message::NetDevicesDone,
            5 => {
                // Anything this binary never encodes is refused, not guessed at.
                let step = InitStep::decode(u16_at(2), i32_at(4) as u32)?;
                let op = SysOp::from_code(u16_at(8))?;
                let n = usize::from(u16_at(16));
                if n > PATH_MAX_WIRE || b[18] > 1 {
                    return None;
                }
                let path = (b[18] == 1).then(|| PathBuf::from(OsStr::from_bytes(&b[32..32 + n])));
                // An errno the kernel never gives (0, "Success", or negative) is no message.
                let errno = i32_at(12);
                if errno <= 0 {
                    return None;
                }
                let source = SysError {
                    op,
                    path,
                    errno: Errno::from_raw(errno),
                };
                Message::Failed(StepError { step, source })
            }
            _ => return None,
        })
    }
}

/// The exec stub's one message (stub/exec-stub.c): "rstb" and the errno of the program's
/// `execve`, little endian. The stub knows no more, so the step is the exec and the path the
/// caller's to add.
const STUB_FRAME_LEN: usize = 8;

fn decode_stub_failure(b: &[u8]) -> Option<Message> {
    if &b[..4] != b"rstb" {
        return None;
    }
    let errno = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    if errno <= 0 {
        return None;
    }
    let source = SysError::new(SysOp::Execve, None, Errno::from_raw(errno));
    Some(Message::Failed(StepError {
        step: InitStep::Exec,
        source,
    }))
}

/// Bytes of hook output a message carries: the end of stderr first, then of stdout.
const HOOK_STDERR_WIRE: usize = 360;
const HOOK_OUTPUT_WIRE: usize = MSG_LEN - 32;

/// Layout after the index: [8] kind (1 spawn, 2 exit code, 3 signal, 4 timeout), [12..16] the
/// errno, code or signal, [16..24] the timeout, [24..26] stderr length, [26..28] stdout
/// length, [32..] stderr tail then stdout tail.
fn encode_hook_failure(f: &HookFailure, b: &mut [u8; MSG_LEN]) {
    let (kind, value, timeout, stdout, stderr) = match f {
        HookFailure::Spawn(e) => (1u8, *e as i32, 0i64, "", ""),
        HookFailure::Failed {
            exit,
            stdout,
            stderr,
        } => {
            let (k, v) = match exit {
                HookExit::Code(c) => (2, *c),
                HookExit::Signal(s) => (3, *s),
            };
            (k, v, 0, stdout.as_str(), stderr.as_str())
        }
        HookFailure::TimedOut(t) => (4, 0, *t, "", ""),
    };
    b[8] = kind;
    b[12..16].copy_from_slice(&value.to_ne_bytes());
    b[16..24].copy_from_slice(&timeout.to_ne_bytes());
    let err = hooks::tail(stderr, HOOK_STDERR_WIRE).as_bytes();
    let out = hooks::tail(stdout, HOOK_OUTPUT_WIRE - err.len()).as_bytes();
    b[24..26].copy_from_slice(&(err.len() as u16).to_ne_bytes());
    b[26..28].copy_from_slice(&(out.len() as u16).to_ne_bytes());
    b[32..32 + err.len()].copy_from_slice(err);
    b[32 + err.len()..32 + err.len() + out.len()].copy_from_slice(out);
}

fn decode_hook_failure(b: &[u8]) -> Option<HookFailure> {
    let i32_at = |i: usize| i32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let value = i32_at(12);
    let err_len = usize::from(u16::from_ne_bytes([b[24], b[25]]));
    let out_len = usize::from(u16::from_ne_bytes([b[26], b[27]]));
    if err_len + out_len > HOOK_OUTPUT_WIRE {
        return None;
    }
    let text = |from: usize, n: usize| String::from_utf8_lossy(&b[from..from + n]).into_owned();
    let failed = |exit| HookFailure::Failed {
        exit,
        stderr: text(32, err_len),
        stdout: text(32 + err_len, out_len),
    };
    Some(match b[8] {
        1 if value > 0 => HookFailure::Spawn(Errno::from_raw(value)),
        2 => failed(HookExit::Code(value)),
        3 => failed(HookExit::Signal(value)),
        4 => HookFailure::TimedOut(i64::from_ne_bytes(b[16..24].try_into().ok()?)),
        _ => return None,
    })
}

/// Layout: [4] the number of marks, then 16 bytes each from [8]: the phase code, then (at +8)
/// the time in nanoseconds.
fn encode_marks(marks: &Marks, b: &mut [u8; MSG_LEN]) {
    let list = marks.as_slice();
    b[4] = list.len() as u8;
    for (i, (phase, ns)) in list.iter().enumerate() {
        let at = 8 + 16 * i;
        b[at] = phase.code();
        b[at + 8..at + 16].copy_from_slice(&ns.to_ne_bytes());
    }
}

fn decode_marks(b: &[u8]) -> Option<Marks> {
    let n = usize::from(b[4]);
    if n > MAX_MARKS {
        return None;
    }
    let mut marks = Marks::with(true);
    for i in 0..n {
        let at = 8 + 16 * i;
        let ns = u64::from_ne_bytes(b[at + 8..at + 16].try_into().ok()?);
        marks.push(Phase::from_code(b[at])?, ns);
    }
    Some(marks)
}

/// One end of the channel.
pub struct Channel {
    fd: OwnedFd,
}

/// A connected pair: (parent's end, init's end). Both close on exec.
pub fn pair() -> SysResult<(Channel, Channel)> {
    let (a, b) = sys::seqpacket_pair()?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    /// This end's fd (the exec stub keeps it open until the program's execve).
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The fd number, for the forked child to close its copy of the parent's end.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    pub fn send(&self, msg: &Message) -> SysResult<()> {
        sys::write_all(self.fd.as_fd(), &msg.encode(), None)
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

    /// Sends `msg` over a real socketpair and returns what the other end decoded.
    fn round_trip(msg: &Message) -> Message {
        let (a, b) = pair().unwrap();
        a.send(msg).unwrap();
        b.recv().unwrap().expect("a message, not EOF")
    }

    /// What arrives when the raw bytes `b` are sent (for messages no encoder makes).
    fn receive_raw(b: &[u8]) -> SysResult<Option<Message>> {
        let (a, r) = pair().unwrap();
        sys::write_all(a.fd.as_fd(), b, None).unwrap();
        r.recv()
    }

    #[test]
    fn the_exec_stubs_frame_is_an_exec_failure_and_nothing_else_of_its_length() {
        let Ok(Some(Message::Failed(e))) = receive_raw(b"rstb\x02\0\0\0") else {
            panic!("the stub's frame was not read as a failure");
        };
        assert!(matches!(e.step, InitStep::Exec));
        assert_eq!(
            (e.source.op, e.source.errno),
            (SysOp::Execve, Errno::ENOENT)
        );
        for bad in [
            &b"rstX\x02\0\0\0"[..],
            b"rstb\0\0\0\0",
            b"rstb\xff\xff\xff\xff",
        ] {
            let got = receive_raw(bad).map_err(|e| e.errno);
            assert!(matches!(got, Err(Errno::EPROTO)), "{bad:?}");
        }
    }

    fn failure(step: InitStep, op: SysOp, path: Option<&Path>) -> StepError {
        StepError {
            step,
            source: SysError::new(op, path, Errno::EPERM),
        }
    }

    #[test]
    fn every_step_and_every_operation_round_trips_typed() {
        let steps = InitStep::all(7);
        let ops = SysOp::ALL;
        // Each step with one operation, each operation with one step (and paths present,
        // absent, and at the wire's limit), so every code of both tables crosses once.
        let long = "/p".repeat(PATH_MAX_WIRE / 2);
        for i in 0..steps.len().max(ops.len()) {
            let (step, op) = (steps[i % steps.len()], ops[i % ops.len()]);
            let path = match i % 3 {
                0 => None,
                1 => Some(Path::new("/proc")),
                _ => Some(Path::new(&long)),
            };
            let sent = failure(step, op, path);
            match round_trip(&Message::Failed(sent.clone())) {
                Message::Failed(got) => {
                    assert_eq!((got.step, &got.source), (sent.step, &sent.source), "#{i}");
                }
                other => panic!("{step:?}/{op:?} came back as {other:?}"),
            }
        }
    }

    #[test]
    fn every_step_code_decodes_to_exactly_its_step() {
        let steps = InitStep::all(9);
        let mut decoded = 0;
        for code in 0..=u16::MAX {
            if let Some(step) = InitStep::decode(code, 9) {
                decoded += 1;
                assert!(steps.contains(&step), "{code} -> {step:?}");
                assert_eq!(step.encode().0, code, "{step:?}");
            }
        }
        assert_eq!(decoded, steps.len(), "one code per step, no two alike");
        for step in steps {
            let (code, index) = step.encode();
            let indexed = format!("{step:?}").contains('(');
            assert_eq!(index, if indexed { 9 } else { 0 }, "{step:?}");
            assert_eq!(InitStep::decode(code, index), Some(step));
        }
    }

    #[test]
    fn the_other_messages_round_trip() {
        for msg in [
            Message::Go { pid: 4242 },
            Message::HooksNeeded,
            Message::NetDevicesNeeded,
            Message::NetDevicesDone,
            Message::HooksDone,
            Message::Ready,
            Message::SeccompListener { fd: 12 },
            Message::SeccompDone,
            Message::InitPid { pid: -7 },
        ] {
            assert_eq!(format!("{:?}", round_trip(&msg)), format!("{msg:?}"));
        }
    }

    #[test]
    fn unknown_codes_and_lengths_are_refused() {
        let valid = Message::Failed(failure(InitStep::Mount(3), SysOp::Mount, None)).encode();
        let unused_step = InitStep::all(0).iter().map(|s| s.encode().0).max().unwrap() + 1;
        let unused_op = u16::try_from(SysOp::ALL.len()).unwrap();
        let mut bad = Vec::new();
        for kind in [0u8, 15, 255] {
            let mut b = valid;
            b[0] = kind;
            bad.push((format!("message kind {kind}"), b.to_vec()));
        }
        for (what, at, code) in [
            ("step", 2, unused_step),
            ("step", 2, u16::MAX),
            ("operation", 8, unused_op),
            ("path length", 16, u16::try_from(PATH_MAX_WIRE + 1).unwrap()),
        ] {
            let mut b = valid;
            b[at..at + 2].copy_from_slice(&code.to_ne_bytes());
            bad.push((format!("{what} {code}"), b.to_vec()));
        }
        let mut b = valid;
        b[18] = 2;
        bad.push(("path flag 2".into(), b.to_vec()));
        let valid_hook = Message::HookFailed {
            index: 0,
            failure: HookFailure::TimedOut(1),
        }
        .encode();
        let mut b = valid_hook;
        b[8] = 5;
        bad.push(("hook failure kind 5".into(), b.to_vec()));
        let mut b = valid_hook;
        b[24..26].copy_from_slice(&u16::try_from(MSG_LEN).unwrap().to_ne_bytes());
        bad.push(("hook output past the message".into(), b.to_vec()));
        bad.push(("a short message".into(), valid[..MSG_LEN - 1].to_vec()));
        for (what, b) in bad {
            match receive_raw(&b) {
                Err(e) => assert_eq!(e.errno, Errno::EPROTO, "{what}: {e}"),
                Ok(m) => panic!("{what} was accepted as {m:?}"),
            }
        }
        assert!(
            receive_raw(&valid).unwrap().is_some(),
            "the unspoilt one is read"
        );
    }

    #[test]
    fn timings_round_trip_and_unknown_phases_are_refused() {
        let mut marks = Marks::with(true);
        marks.push(Phase::Go, 1);
        marks.push(Phase::Confinement, u64::MAX);
        let Message::Timings(got) = round_trip(&Message::Timings(Box::new(marks))) else {
            panic!("not timings");
        };
        assert_eq!(got.as_slice(), marks.as_slice());
        let valid = Message::Timings(Box::new(marks)).encode();
        let mut b = valid;
        b[8] = 0;
        let mut too_many = valid;
        too_many[4] = u8::try_from(MAX_MARKS + 1).unwrap();
        for (what, b) in [("phase 0", b), ("too many marks", too_many)] {
            match receive_raw(&b) {
                Err(e) => assert_eq!(e.errno, Errno::EPROTO, "{what}: {e}"),
                Ok(m) => panic!("{what} was accepted as {m:?}"),
            }
        }
    }

    #[test]
    fn eof_once_the_peer_is_gone() {
        let (a, b) = pair().unwrap();
        drop(a);
        assert!(b.recv().unwrap().is_none());
    }

    #[test]
    fn hook_failure_round_trips_with_the_tail_of_its_output() {
        let (a, b) = pair().unwrap();
        let long = format!("{}the reason", "x".repeat(2000));
        let failures = [
            HookFailure::Failed {
                exit: HookExit::Code(3),
                stdout: "out".into(),
                stderr: long.clone(),
            },
            HookFailure::Failed {
                exit: HookExit::Signal(9),
                stdout: String::new(),
                stderr: "é".repeat(300),
            },
            HookFailure::Spawn(Errno::ENOENT),
            HookFailure::TimedOut(7),
        ];
        for failure in failures {
            a.send(&Message::HookFailed {
                index: 2,
                failure: failure.clone(),
            })
            .unwrap();
            let Some(Message::HookFailed {
                index,
                failure: got,
            }) = b.recv().unwrap()
            else {
                panic!("not a hook failure");
            };
            assert_eq!(index, 2);
            match (&failure, &got) {
                (
                    HookFailure::Failed {
                        exit,
                        stdout,
                        stderr,
                    },
                    HookFailure::Failed {
                        exit: e2,
                        stdout: o2,
                        stderr: s2,
                    },
                ) => {
                    assert_eq!(exit, e2);
                    assert_eq!(stdout, o2);
                    assert!(stderr.ends_with(s2.as_str()) && !s2.is_empty(), "{s2}");
                    assert!(s2.len() <= HOOK_STDERR_WIRE);
                }
                _ => assert_eq!(failure, got),
            }
        }
        assert!(HookFailure::Failed {
            exit: HookExit::Code(3),
            stdout: String::new(),
            stderr: long
        }
        .to_string()
        .ends_with("the reason"));
    }
}
