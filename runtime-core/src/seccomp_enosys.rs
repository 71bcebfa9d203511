//! The `-ENOSYS` stub put in front of a compiled seccomp filter, as runc does
//! (libcontainer/seccomp/patchbpf): a syscall numbered above the highest one the profile names
//! (per architecture) fails with ENOSYS instead of the profile's default action.
//!
//! Why: a profile is written against the kernel of its day. A syscall added since is denied by
//! the default action (usually EPERM), but C libraries and language runtimes fall back to the
//! older syscall only on ENOSYS (`clone3` → `clone`, `faccessat2` → `faccessat`,
//! `fchmodat2` → `fchmodat`). Syscalls the profile could have named but did not (numbers below
//! its highest) still get the default action: the profile did choose to leave them out.
//!
//! The stub is skipped, as in runc, when the default action lets the syscall through anyway
//! (allow, log, trace: a tracer handles new syscalls itself) or already is ENOSYS.
//!
//! Classic BPF only jumps forward and the filter libseccomp exported starts from scratch (it
//! loads the architecture itself), so the stub is simply prepended: it either returns ENOSYS or
//! jumps to its own end, the first instruction of the original filter.

use std::collections::BTreeMap;
use std::str::FromStr;

use libseccomp::{ScmpAction, ScmpArch, ScmpSyscall};
use oci_spec::runtime::LinuxSeccomp;

use crate::seccomp;

// Classic BPF opcodes (linux/bpf_common.h) and seccomp return values (linux/seccomp.h).
const LD_W_ABS: u16 = 0x20;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// `struct seccomp_data`: `nr` at offset 0, `arch` at offset 4.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
/// x32 syscalls run under AUDIT_ARCH_X86_64 with this bit set in their number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

/// One `struct sock_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// Where a conditional jump of a section goes.
#[derive(Debug, Clone, Copy)]
enum To {
    Next,
    /// Over this many instructions.
    Skip(u8),
    /// The section's `ret ENOSYS`.
    Enosys,
    /// The section's jump to the original filter.
    Filter,
}

/// The highest numbers the profile names under one audit arch: x86_64 and x32 share
/// AUDIT_ARCH_X86_64 and are told apart by [`X32_SYSCALL_BIT`].
#[derive(Debug, Default, Clone, Copy)]
struct Highest {
    plain: Option<u32>,
    x32: Option<u32>,
    /// s390(x) multiplexes large syscall numbers through syscall 0, which an unknown one keeps.
    s390: bool,
}

/// The stub for `spec`, to be put before the filter libseccomp compiled from it (empty when the
/// default action needs none). Errors are reasons for the `linux.seccomp` field.
pub fn stub(spec: &LinuxSeccomp, default: ScmpAction) -> Result<Vec<u8>, String> {
    if matches!(
        default,
        ScmpAction::Allow | ScmpAction::Log | ScmpAction::Trace(_)
    ) || default == ScmpAction::Errno(libc::ENOSYS)
    {
        return Ok(Vec::new());
    }
    let highest = highest_per_audit_arch(spec)?;
    Ok(assemble(&highest)?
        .iter()
        .flat_map(|i| {
            let mut b = [0u8; 8];
            b[0..2].copy_from_slice(&i.code.to_ne_bytes());
            b[2] = i.jt;
            b[3] = i.jf;
            b[4..8].copy_from_slice(&i.k.to_ne_bytes());
            b
        })
        .collect())
}

/// The highest syscall number the profile names, per audit arch, over the listed architectures
/// and the native one (the filter always has it; Docker's ppc64le profile does not list it).
fn highest_per_audit_arch(spec: &LinuxSeccomp) -> Result<BTreeMap<u32, Highest>, String> {
    let mut archs = vec![ScmpArch::native()];
    for (i, a) in spec
        .architectures()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let name = seccomp::spec_name(a);
        let arch =
            ScmpArch::from_str(&name).map_err(|e| format!("architectures[{i}]: {name}: {e}"))?;
        if !archs.contains(&arch) {
            archs.push(arch);
        }
    }
    let names: Vec<&String> = spec
        .syscalls()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .flat_map(|r| r.names())
        .collect();
    let mut out: BTreeMap<u32, Highest> = BTreeMap::new();
    for arch in archs {
        let Some(audit) = audit_arch(arch) else {
            continue; // unknown here: libseccomp's bad-arch action handles it
        };
        // Names this architecture does not have (or only as a multiplexed pseudo-syscall,
        // negative) do not count, as in runc.
        let max = names
            .iter()
            .filter_map(|n| ScmpSyscall::from_name_by_arch(n, arch).ok())
            .map(|s| s.as_raw_syscall())
            .filter(|nr| *nr > 0)
            .max();
        let Some(max) = max.map(|m| m as u32) else {
            continue;
        };
        let entry = out.entry(audit).or_default();
        match arch {
            ScmpArch::X32 => entry.x32 = Some(max),
            _ => entry.plain = Some(max),
        }
        entry.s390 |= matches!(arch, ScmpArch::S390 | ScmpArch::S390X);
    }
    Ok(out)
}

/// The kernel's AUDIT_ARCH_* value of a libseccomp architecture (linux/audit.h: the ELF machine
/// number, 0x8000_0000 for 64-bit, 0x4000_0000 for little-endian, MIPS n32 0x2000_0000).
fn audit_arch(arch: ScmpArch) -> Option<u32> {
    const B64: u32 = 0x8000_0000;
    const LE: u32 = 0x4000_0000;
    const N32: u32 = 0x2000_0000;
    Some(match arch {
        ScmpArch::Native => return audit_arch(ScmpArch::native()),
        ScmpArch::X86 => 3 | LE,
        ScmpArch::X8664 | ScmpArch::X32 => AUDIT_X86_64,
        ScmpArch::Arm => 40 | LE,
        ScmpArch::Aarch64 => 183 | B64 | LE,
        ScmpArch::Loongarch64 => 258 | B64 | LE,
        ScmpArch::M68k => 4,
        ScmpArch::Mips => 8,
        ScmpArch::Mips64 => 8 | B64,
        ScmpArch::Mips64N32 => 8 | B64 | N32,
        ScmpArch::Mipsel => 8 | LE,
        ScmpArch::Mipsel64 => 8 | B64 | LE,
        ScmpArch::Mipsel64N32 => 8 | B64 | LE | N32,
        ScmpArch::Ppc => 20,
        ScmpArch::Ppc64 => 21 | B64,
        ScmpArch::Ppc64Le => 21 | B64 | LE,
        ScmpArch::S390 => 22,
        ScmpArch::S390X => 22 | B64,
        ScmpArch::Parisc => 15,
        ScmpArch::Parisc64 => 15 | B64,
        ScmpArch::Riscv64 => 243 | B64 | LE,
        ScmpArch::Sh => 42 | LE,
        ScmpArch::Sheb => 42,
        _ => return None,
    })
}

/// AUDIT_ARCH_X86_64, the one audit arch two libseccomp architectures share.
const AUDIT_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;

/// The conditional jumps of one audit arch's section (the syscall number is loaded).
fn conditions(audit: u32, h: &Highest) -> Vec<(u16, u32, To, To)> {
    let mut c = Vec::new();
    if h.s390 {
        c.push((JMP_JEQ_K, 0, To::Enosys, To::Next));
    }
    match (h.plain, h.x32) {
        // x86_64 without x32 must not judge x32 numbers (and x32 alone not x86_64's).
        (Some(max), None) if audit == AUDIT_X86_64 => {
            c.push((JMP_JSET_K, X32_SYSCALL_BIT, To::Filter, To::Next));
            c.push((JMP_JGT_K, max, To::Enosys, To::Filter));
        }
        (Some(max), None) => c.push((JMP_JGT_K, max, To::Enosys, To::Filter)),
        (None, Some(max32)) => {
            c.push((JMP_JSET_K, X32_SYSCALL_BIT, To::Next, To::Filter));
            c.push((JMP_JGT_K, max32, To::Enosys, To::Filter));
        }
        (Some(max), Some(max32)) => {
            c.push((JMP_JSET_K, X32_SYSCALL_BIT, To::Skip(1), To::Next));
            c.push((JMP_JGT_K, max, To::Enosys, To::Filter));
            c.push((JMP_JGT_K, max32, To::Enosys, To::Filter));
        }
        (None, None) => {}
    }
    c
}

/// The stub's instructions: load the arch, jump to its section (or past the stub), and in each
/// section load the number and compare it with the highest one.
fn assemble(highest: &BTreeMap<u32, Highest>) -> Result<Vec<Insn>, String> {
    let sections: Vec<(u32, Vec<Insn>)> = highest
        .iter()
        .map(|(audit, h)| Ok((*audit, section(&conditions(*audit, h))?)))
        .collect::<Result<_, String>>()?;
    if sections.is_empty() {
        return Ok(Vec::new());
    }
    let head_len = 1 + sections.len() + 1;
    let total = head_len + sections.iter().map(|(_, s)| s.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.push(insn(LD_W_ABS, 0, 0, OFFSET_ARCH));
    let mut start = head_len;
    for (audit, s) in &sections {
        let from = out.len() + 1;
        let jt = u8::try_from(start - from).map_err(|_| "too many architectures".to_string())?;
        out.push(insn(JMP_JEQ_K, jt, 0, *audit));
        start += s.len();
    }
    out.push(insn(JMP_JA, 0, 0, 0)); // an architecture without a section: the filter decides
    for (_, s) in sections {
        out.extend(s);
    }
    // Every `ja` (the head's and each section's last) goes to the end of the stub.
    let len = out.len();
    for (i, ins) in out.iter_mut().enumerate() {
        if ins.code == JMP_JA {
            ins.k = (len - i - 1) as u32;
        }
    }
    Ok(out)
}

/// `ld nr; <conditions>; ret ENOSYS; ja <filter>` with the jumps resolved.
fn section(conds: &[(u16, u32, To, To)]) -> Result<Vec<Insn>, String> {
    let n = conds.len();
    let enosys = 1 + n;
    let filter = enosys + 1;
    let mut out = vec![insn(LD_W_ABS, 0, 0, OFFSET_NR)];
    for (i, (code, k, jt, jf)) in conds.iter().enumerate() {
        let at = 1 + i;
        let resolve = |t: To| -> Result<u8, String> {
            let off = match t {
                To::Next => 0,
                To::Skip(s) => usize::from(s),
                To::Enosys => enosys - at - 1,
                To::Filter => filter - at - 1,
            };
            u8::try_from(off).map_err(|_| "stub jump too long".to_string())
        };
        out.push(insn(*code, resolve(*jt)?, resolve(*jf)?, *k));
    }
    out.push(insn(RET_K, 0, 0, SECCOMP_RET_ERRNO | libc::ENOSYS as u32));
    out.push(insn(JMP_JA, 0, 0, 0));
    Ok(out)
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}
