//! linux.seccomp: compiled once, in the parent, to a classic BPF program with libseccomp; the
//! init only hands the bytes to `seccomp(2)` (no libseccomp, no allocation, no JSON in the child).
//!
//! Semantics follow runc: syscall names this libseccomp does not know are skipped (Docker's
//! profile lists names newer than some libseccomp releases); a rule whose action equals the
//! default action is dropped (libseccomp refuses it); several conditions on the same argument
//! become separate rules (libseccomp ANDs conditions, and refuses two on one argument); the
//! default errno is EPERM unless `defaultErrnoRet` says otherwise; a syscall numbered above the
//! highest one the profile names fails with ENOSYS (runc's stub, `seccomp_enosys.rs`).
//! `SCMP_ACT_NOTIFY` makes the kernel hand back a listener fd, which the runtime passes to
//! `listenerPath`; it is refused where the runtime would wait for itself (`write`, the default
//! action) and without a `listenerPath`, as in runc.

use std::str::FromStr;

use crate::seccomp_enosys;
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};

/// `seccomp(2)` filter flags.
pub const FLAG_TSYNC: u32 = 1;
/// `SECCOMP_FILTER_FLAG_LOG`: log every action but allow.
pub const FLAG_LOG: u32 = 2;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: keep speculative store bypass mitigation off.
pub const FLAG_SPEC_ALLOW: u32 = 4;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: return a notification listener fd.
pub const FLAG_NEW_LISTENER: u32 = 8;
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`: a notified syscall waits killably.
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// A ready-to-load filter.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Compiled {
    /// The BPF program: an array of `struct sock_filter` (8 bytes each), native endian.
    pub program: Vec<u8>,
    /// Flags for `seccomp(SECCOMP_SET_MODE_FILTER, flags, …)`.
    pub flags: u32,
    /// Some rule (or the default) notifies a listener: loading yields a listener fd.
    pub notify: bool,
}

/// A compile step's failure: the field (a JSON path) and the reason.
type Failure = (String, String);

/// Compiles `linux.seccomp`. Errors are (field, reason) for the spec error.
pub fn compile(spec: &LinuxSeccomp) -> Result<Compiled, Failure> {
    // The default action, with its errno (EPERM unless the profile says otherwise).
    let default_errno = spec
        .default_errno_ret()
        .map(|e| e as i32)
        .unwrap_or(libc::EPERM);
    let default = action(spec.default_action(), Some(default_errno as u32))
        .map_err(|r| ("linux.seccomp.defaultAction".to_string(), r))?;
    // A listener nobody could receive would leave the container waiting for itself.
    check_notify(spec, default)?;
    // libseccomp's filter for the profile's architectures, then each rule.
    let mut ctx = new_context(spec, default)?;
    let notify = add_rules(&mut ctx, spec, default)?;
    // The flags the kernel is given with the filter.
    let flags = filter_flags(spec, notify);
    // The program: the ENOSYS stub for syscalls newer than the profile, then the filter.
    let program = build_program(spec, default, &ctx)?;
    Ok(Compiled {
        program,
        flags,
        notify,
    })
}

/// libseccomp's error for `field`, as a compile failure.
fn lib(field: &str) -> impl FnOnce(libseccomp::error::SeccompError) -> Failure {
    let field = field.to_string();
    move |e| (field, e.to_string())
}

/// A filter context with `default` as its default action and the profile's architectures.
fn new_context(spec: &LinuxSeccomp, default: ScmpAction) -> Result<ScmpFilterContext, Failure> {
    let mut ctx = ScmpFilterContext::new(default).map_err(lib("linux.seccomp"))?;
    // no_new_privs is the runtime's business (process.noNewPrivileges), not libseccomp's.
    ctx.set_ctl_nnp(false).map_err(lib("linux.seccomp"))?;
    for (i, arch) in spec
        .architectures()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let name = serde_json::to_value(arch)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let a =
            ScmpArch::from_str(&name).map_err(lib(&format!("linux.seccomp.architectures[{i}]")))?;
        ctx.add_arch(a)
            .map_err(lib(&format!("linux.seccomp.architectures[{i}]")))?;
    }
    Ok(ctx)
}

/// Adds every rule whose action differs from the default; returns whether any notifies.
fn add_rules(
    ctx: &mut ScmpFilterContext,
    spec: &LinuxSeccomp,
    default: ScmpAction,
) -> Result<bool, Failure> {
    let mut notify = false;
    for (i, rule) in spec
        .syscalls()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act =
            action(rule.action(), rule.errno_ret()).map_err(|r| (format!("{field}.action"), r))?;
        if act == default {
            continue;
        }
        notify |= act == ScmpAction::Notify;
        add_rule(ctx, rule, act).map_err(|r| (field, r))?;
    }
    Ok(notify)
}

/// `linux.seccomp.flags` as the kernel takes them, adjusted for a listener (or its absence).
fn filter_flags(spec: &LinuxSeccomp, notify: bool) -> u32 {
    let mut flags = 0;
    for f in spec.flags().as_deref().unwrap_or_default() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
        };
    }
    if !notify {
        // Only meaningful for a listener; the kernel refuses it without one.
        flags &= !FLAG_WAIT_KILLABLE_RECV;
    }
    if notify {
        // The init is single-threaded, so TSYNC has nothing to do; the kernel refuses it together
        // with NEW_LISTENER.
        flags = (flags & !FLAG_TSYNC) | FLAG_NEW_LISTENER;
    }
    flags
}

/// The BPF program: syscalls newer than the profile fail with ENOSYS, so that libcs fall back
/// (runc does it), then libseccomp's filter; refused past the kernel's size limit.
fn build_program(
    spec: &LinuxSeccomp,
    default: ScmpAction,
    ctx: &ScmpFilterContext,
) -> Result<Vec<u8>, Failure> {
    let mut program =
        seccomp_enosys::stub(spec, default).map_err(|r| ("linux.seccomp".to_string(), r))?;
    program.extend(export(ctx).map_err(|r| ("linux.seccomp".to_string(), r))?);
    if program.len() / 8 > seccomp_enosys::MAX_INSNS {
        return Err((
            "linux.seccomp".to_string(),
            format!(
                "the filter has {} instructions, more than the kernel's {}",
                program.len() / 8,
                seccomp_enosys::MAX_INSNS
            ),
        ));
    }
    Ok(program)
}

/// Refuses what would make the runtime wait for itself, as runc does: the init hands the
/// listener to the runtime with `write(2)` right after loading the filter, so `write` (or every
/// syscall, as the default action) must not wait for an agent that has no listener yet; and a
/// notifying filter needs `listenerPath`, the agent to hand it to.
fn check_notify(spec: &LinuxSeccomp, default: ScmpAction) -> Result<(), (String, String)> {
    let rules = spec.syscalls().as_deref().unwrap_or_default();
    let notifies = |r: &&LinuxSyscall| r.action() == LinuxSeccompAction::ScmpActNotify;
    if let Some((i, _)) = rules
        .iter()
        .enumerate()
        .find(|(_, r)| notifies(r) && r.names().iter().any(|n| n == "write"))
    {
        return Err((
            format!("linux.seccomp.syscalls[{i}]"),
            "SCMP_ACT_NOTIFY cannot be used for the write syscall".to_string(),
        ));
    }
    if default == ScmpAction::Notify {
        return Err((
            "linux.seccomp.defaultAction".to_string(),
            "SCMP_ACT_NOTIFY cannot be used as default action".to_string(),
        ));
    }
    let listener = spec.listener_path().as_deref();
    if rules.iter().any(|r| notifies(&r)) && listener.is_none_or(|p| p.as_os_str().is_empty()) {
        return Err((
            "linux.seccomp.listenerPath".to_string(),
            "seccomp listenerPath is not set (SCMP_ACT_NOTIFY needs an agent)".to_string(),
        ));
    }
    Ok(())
}

/// The filter's BPF bytes (libseccomp 2.5 only exports to an fd: use an in-memory file).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, String> {
    use std::io::{Read, Seek};
    let fd = nix::sys::memfd::memfd_create(c"runr-seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(|e| format!("memfd_create: {e}"))?;
    let mut file = std::fs::File::from(fd);
    ctx.export_bpf(&file).map_err(|e| e.to_string())?;
    let mut program = Vec::new();
    file.rewind()
        .and_then(|_| file.read_to_end(&mut program))
        .map_err(|e| e.to_string())?;
    Ok(program)
}

fn add_rule(
    ctx: &mut ScmpFilterContext,
    rule: &LinuxSyscall,
    act: ScmpAction,
) -> Result<(), String> {
    let conditions: Vec<ScmpArgCompare> = rule
        .args()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            let op = match a.op() {
                LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
                LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
                LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
                LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
                LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
                LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
                LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(a.value()),
            };
            // Masked equality compares (arg & value) with valueTwo.
            let datum = match a.op() {
                LinuxSeccompOperator::ScmpCmpMaskedEq => a.value_two().unwrap_or(0),
                _ => a.value(),
            };
            ScmpArgCompare::new(a.index() as u32, op, datum)
        })
        .collect();
    let mut indexes: Vec<usize> = rule
        .args()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|a| a.index())
        .collect();
    indexes.sort_unstable();
    let repeated = indexes.windows(2).any(|w| w[0] == w[1]);
    for name in rule.names() {
        // Unknown to this libseccomp (or this architecture): skipped, as runc does.
        let Ok(sc) = ScmpSyscall::from_name(name) else {
            continue;
        };
        let added = if conditions.is_empty() {
            ctx.add_rule(act, sc).map(drop)
        } else if repeated {
            conditions
                .iter()
                .try_for_each(|c| ctx.add_rule_conditional(act, sc, &[*c]).map(drop))
        } else {
            ctx.add_rule_conditional(act, sc, &conditions).map(drop)
        };
        added.map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction, String> {
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => {
            ScmpAction::Errno(errno.map(|e| e as i32).unwrap_or(libc::EPERM))
        }
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(
            errno
                .map(|e| u16::try_from(e).unwrap_or(u16::MAX))
                .unwrap_or(libc::EPERM as u16),
        ),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
    })
}

/// The spec's name of a value (its serde form, e.g. `SCMP_ACT_ERRNO`).
pub(crate) fn spec_name(v: impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Every seccomp action the spec defines that [`compile`] accepts, by name, sorted.
pub fn supported_actions() -> Vec<String> {
    use LinuxSeccompAction as A;
    // Adding an action to the spec breaks this match until the list below has it.
    let listed = |a: A| match a {
        A::ScmpActKill
        | A::ScmpActKillThread
        | A::ScmpActKillProcess
        | A::ScmpActTrap
        | A::ScmpActErrno
        | A::ScmpActNotify
        | A::ScmpActTrace
        | A::ScmpActLog
        | A::ScmpActAllow => a,
    };
    let all = [
        A::ScmpActKill,
        A::ScmpActKillThread,
        A::ScmpActKillProcess,
        A::ScmpActTrap,
        A::ScmpActErrno,
        A::ScmpActNotify,
        A::ScmpActTrace,
        A::ScmpActLog,
        A::ScmpActAllow,
    ];
    let mut out: Vec<String> = all
        .into_iter()
        .map(listed)
        .filter(|a| action(*a, None).is_ok())
        .map(spec_name)
        .collect();
    out.sort();
    out
}

/// Every argument operator the spec defines that [`compile`] maps to libseccomp, sorted.
pub fn supported_operators() -> Vec<String> {
    use LinuxSeccompOperator as O;
    // Exhaustive: the compiler's operator table (see add_rule) handles each of these.
    let listed = |o: O| match o {
        O::ScmpCmpNe
        | O::ScmpCmpLt
        | O::ScmpCmpLe
        | O::ScmpCmpEq
        | O::ScmpCmpGe
        | O::ScmpCmpGt
        | O::ScmpCmpMaskedEq => o,
    };
    let all = [
        O::ScmpCmpNe,
        O::ScmpCmpLt,
        O::ScmpCmpLe,
        O::ScmpCmpEq,
        O::ScmpCmpGe,
        O::ScmpCmpGt,
        O::ScmpCmpMaskedEq,
    ];
    let mut out: Vec<String> = all.into_iter().map(listed).map(spec_name).collect();
    out.sort();
    out
}

/// Every architecture the spec defines (but `SCMP_ARCH_NATIVE`) that the host's libseccomp can
/// add to a filter, sorted.
pub fn supported_archs() -> Vec<String> {
    use oci_spec::runtime::Arch as R;
    let listed = |a: R| match a {
        R::ScmpArchNative
        | R::ScmpArchX86
        | R::ScmpArchX86_64
        | R::ScmpArchX32
        | R::ScmpArchArm
        | R::ScmpArchAarch64
        | R::ScmpArchMips
        | R::ScmpArchMips64
        | R::ScmpArchMips64n32
        | R::ScmpArchMipsel
        | R::ScmpArchMipsel64
        | R::ScmpArchMipsel64n32
        | R::ScmpArchPpc
        | R::ScmpArchPpc64
        | R::ScmpArchPpc64le
        | R::ScmpArchS390
        | R::ScmpArchS390x
        | R::ScmpArchParisc
        | R::ScmpArchParisc64
        | R::ScmpArchRiscv64
        | R::ScmpArchLoongarch64
        | R::ScmpArchM68k
        | R::ScmpArchSh
        | R::ScmpArchSheb => a,
    };
    let all = [
        R::ScmpArchX86,
        R::ScmpArchX86_64,
        R::ScmpArchX32,
        R::ScmpArchArm,
        R::ScmpArchAarch64,
        R::ScmpArchMips,
        R::ScmpArchMips64,
        R::ScmpArchMips64n32,
        R::ScmpArchMipsel,
        R::ScmpArchMipsel64,
        R::ScmpArchMipsel64n32,
        R::ScmpArchPpc,
        R::ScmpArchPpc64,
        R::ScmpArchPpc64le,
        R::ScmpArchS390,
        R::ScmpArchS390x,
        R::ScmpArchParisc,
        R::ScmpArchParisc64,
        R::ScmpArchRiscv64,
        R::ScmpArchLoongarch64,
        R::ScmpArchM68k,
        R::ScmpArchSh,
        R::ScmpArchSheb,
    ];
    let native = ScmpArch::native();
    let mut out: Vec<String> = all
        .into_iter()
        .map(listed)
        .map(spec_name)
        .filter(|name| {
            let Ok(arch) = ScmpArch::from_str(name) else {
                return false;
            };
            arch == native
                || ScmpFilterContext::new(ScmpAction::Allow)
                    .is_ok_and(|mut ctx| ctx.add_arch(arch).is_ok())
        })
        .collect();
    out.sort();
    out
}

/// The version of the libseccomp runr is linked with ("2.5.4").
pub fn libseccomp_version() -> Option<String> {
    libseccomp::ScmpVersion::current()
        .ok()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn docker_default_profile_compiles_skipping_unknown_names() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/engine-configs/docker-config-default.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            panic!("fixture missing: {path}");
        };
        let cfg: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut sc = cfg["linux"]["seccomp"].clone();
        sc["syscalls"][0]["names"]
            .as_array_mut()
            .unwrap()
            .push("no_such_syscall_xyz".into());
        let c = compile(&parse(sc)).unwrap();
        assert!(c.program.len() > 8 && c.program.len().is_multiple_of(8));
        assert!(!c.notify);
    }

    /// Runs a classic BPF seccomp program (the instructions libseccomp and the stub emit) on
    /// `struct seccomp_data { nr, arch, ip, args }` with every argument 0.
    fn run_bpf(program: &[u8], arch: u32, nr: u32) -> u32 {
        let insns: Vec<(u16, u8, u8, u32)> = program
            .chunks(8)
            .map(|c| {
                (
                    u16::from_ne_bytes([c[0], c[1]]),
                    c[2],
                    c[3],
                    u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect();
        let (mut pc, mut a, mut x) = (0usize, 0u32, 0u32);
        loop {
            let (code, jt, jf, k) = insns[pc];
            pc += 1;
            let jump = |cond: bool| usize::from(if cond { jt } else { jf });
            match code {
                0x20 => a = [nr, arch].get(k as usize / 4).copied().unwrap_or(0),
                0x00 => a = k,
                0x01 => x = k,
                0x07 => x = a,
                0x87 => a = x,
                0x54 => a &= k,
                0x05 => pc += k as usize,
                0x15 => pc += jump(a == k),
                0x25 => pc += jump(a > k),
                0x35 => pc += jump(a >= k),
                0x45 => pc += jump(a & k != 0),
                0x06 => return k,
                other => panic!("opcode {other:#x} at {}", pc - 1),
            }
        }
    }

    const X86_64: u32 = 0xc000_003e;
    const I386: u32 = 0x4000_0003;
    const ALLOW: u32 = 0x7fff_0000;
    const ERRNO: u32 = 0x0005_0000;

    fn docker_seccomp() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/engine-configs/docker-config-default.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let cfg: serde_json::Value = serde_json::from_str(&text).unwrap();
        cfg["linux"]["seccomp"].clone()
    }

    #[test]
    fn syscalls_newer_than_the_profile_get_enosys_like_runc() {
        let c = compile(&parse(docker_seccomp())).unwrap();
        let p = &c.program;
        // Past the profile's highest number, on each of its architectures: ENOSYS.
        assert_eq!(run_bpf(p, X86_64, 1000), ERRNO | 38);
        assert_eq!(run_bpf(p, X86_64, 0x4000_0000 | 1000), ERRNO | 38, "x32");
        assert_eq!(run_bpf(p, I386, 1000), ERRNO | 38);
        // Named ones keep their action; one the profile left out keeps the default (EPERM).
        assert_eq!(run_bpf(p, X86_64, libc::SYS_getpid as u32), ALLOW);
        assert_eq!(run_bpf(p, X86_64, libc::SYS_kexec_load as u32), ERRNO | 1);
        // An architecture the profile does not list: libseccomp's bad-arch action (kill).
        assert_eq!(run_bpf(p, 0xc000_00b7, 1000), 0);
    }

    #[test]
    fn the_highest_named_syscall_bounds_the_enosys_range() {
        let profile = |extra: &str| {
            parse(serde_json::json!({
                "defaultAction": "SCMP_ACT_ERRNO",
                "syscalls": [
                    {"names": ["getpid", "read"], "action": "SCMP_ACT_ALLOW"},
                    {"names": [extra], "action": "SCMP_ACT_ERRNO"}
                ]
            }))
        };
        // Every name counts, whatever its action (here the default's, dropped from the rules).
        let c = compile(&profile("kexec_load")).unwrap();
        assert_eq!(run_bpf(&c.program, X86_64, 246), ERRNO | 1);
        assert_eq!(run_bpf(&c.program, X86_64, 247), ERRNO | 38);
        assert_eq!(run_bpf(&c.program, X86_64, 100), ERRNO | 1);
        assert_eq!(run_bpf(&c.program, X86_64, 39), ALLOW);
    }

    #[test]
    fn permissive_or_enosys_defaults_get_no_stub() {
        for (default, errno) in [
            ("SCMP_ACT_ALLOW", None),
            ("SCMP_ACT_LOG", None),
            ("SCMP_ACT_ERRNO", Some(38)),
        ] {
            let mut v = serde_json::json!({
                "defaultAction": default,
                "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_KILL"}]
            });
            if let Some(e) = errno {
                v["defaultErrnoRet"] = e.into();
            }
            let c = compile(&parse(v)).unwrap();
            let want = if errno.is_some() {
                ERRNO | 38
            } else if default == "SCMP_ACT_LOG" {
                0x7ffc_0000
            } else {
                ALLOW
            };
            assert_eq!(run_bpf(&c.program, X86_64, 1000), want, "{default}");
            assert_eq!(run_bpf(&c.program, X86_64, 39), 0, "{default}: kill getpid");
        }
    }

    #[test]
    fn notify_on_write_or_as_default_or_without_listener_is_refused_like_runc() {
        let err = |v: serde_json::Value| compile(&parse(v)).unwrap_err();
        let (field, why) = err(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x.sock",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"},
                         {"names": ["close", "write"], "action": "SCMP_ACT_NOTIFY"}]
        }));
        assert_eq!(field, "linux.seccomp.syscalls[1]");
        assert_eq!(why, "SCMP_ACT_NOTIFY cannot be used for the write syscall");
        let (field, why) = err(serde_json::json!({
            "defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x.sock"
        }));
        assert_eq!(field, "linux.seccomp.defaultAction");
        assert!(why.contains("cannot be used as default action"), "{why}");
        let (field, _) = err(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        }));
        assert_eq!(field, "linux.seccomp.listenerPath");
    }

    #[test]
    fn notify_asks_for_a_listener_and_drops_tsync() {
        let c = compile(&parse(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        })))
        .unwrap();
        assert!(c.notify);
        assert_eq!(
            c.flags & (FLAG_NEW_LISTENER | FLAG_TSYNC),
            FLAG_NEW_LISTENER
        );
    }

    #[test]
    fn repeated_argument_conditions_become_separate_rules() {
        let c = compile(&parse(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}
            ]}]
        })));
        assert!(c.is_ok(), "{c:?}");
    }
}
