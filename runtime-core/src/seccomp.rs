//! linux.seccomp: compiled once, in the parent, to a classic BPF program with libseccomp; the
//! init only hands the bytes to `seccomp(2)` (no libseccomp, no allocation, no JSON in the child).
//!
//! Semantics follow runc: syscall names this libseccomp does not know are skipped (Docker's
//! profile lists names newer than some libseccomp releases); a rule whose action equals the
//! default action is dropped (libseccomp refuses it); several conditions on the same argument
//! become separate rules (libseccomp ANDs conditions, and refuses two on one argument); the
//! default errno is EPERM unless `defaultErrnoRet` says otherwise. `SCMP_ACT_NOTIFY` makes the
//! kernel hand back a listener fd, which the runtime passes to `listenerPath`.

use std::str::FromStr;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};

/// `seccomp(2)` filter flags.
pub const FLAG_TSYNC: u32 = 1;
pub const FLAG_LOG: u32 = 2;
pub const FLAG_SPEC_ALLOW: u32 = 4;
pub const FLAG_NEW_LISTENER: u32 = 8;
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// A ready-to-load filter.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The BPF program: an array of `struct sock_filter` (8 bytes each), native endian.
    pub program: Vec<u8>,
    /// Flags for `seccomp(SECCOMP_SET_MODE_FILTER, flags, …)`.
    pub flags: u32,
    /// Some rule (or the default) notifies a listener: loading yields a listener fd.
    pub notify: bool,
}

/// Compiles `linux.seccomp`. Errors are (field, reason) for the spec error.
pub fn compile(spec: &LinuxSeccomp) -> Result<Compiled, (String, String)> {
    let default_errno = spec
        .default_errno_ret()
        .map(|e| e as i32)
        .unwrap_or(libc::EPERM);
    let default = action(spec.default_action(), Some(default_errno as u32))
        .map_err(|r| ("linux.seccomp.defaultAction".to_string(), r))?;
    let lib = |field: &str| {
        let field = field.to_string();
        move |e: libseccomp::error::SeccompError| (field, e.to_string())
    };
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
    let mut notify = default == ScmpAction::Notify;
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
        add_rule(&mut ctx, rule, act).map_err(|r| (field, r))?;
    }
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
    let program = export(&ctx).map_err(|r| ("linux.seccomp".to_string(), r))?;
    Ok(Compiled {
        program,
        flags,
        notify,
    })
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
fn spec_name(v: impl serde::Serialize) -> String {
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

    #[test]
    fn notify_asks_for_a_listener_and_drops_tsync() {
        let c = compile(&parse(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
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
