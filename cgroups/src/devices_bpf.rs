//! The cgroup v2 device filter: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) generated here
//! from the rule list and attached with BPF_PROG_ATTACH / BPF_CGROUP_DEVICE.
//!
//! Semantics: each requested access bit (m, r, w) is decided on its own by the *last* rule
//! that matches the device (type 'a' or equal, major/minor wildcard or equal) and lists that
//! bit; no such rule means deny; the access is allowed only if every requested bit is. This is
//! what the v1 kernel does with the same rule list written in order after "deny a" (allow rules
//! add bits to an exception, deny rules take them away), so v1 and v2 agree — e.g.
//! `allow c 1:3 rwm` then `deny c 1:3 w` leaves read allowed and write denied, and
//! `allow c 1:3 r` + `allow c 1:3 w` allows "rw".
//!
//! Program (ctx = `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`):
//! ```text
//!   r2 = ctx->access_type & 0xffff   // BPF_DEVCG_DEV_BLOCK=1 / CHAR=2
//!   r3 = ctx->access_type >> 16      // BPF_DEVCG_ACC_MKNOD=1 | READ=2 | WRITE=4
//!   r4 = ctx->major; r5 = ctx->minor
//!   for BIT in MKNOD, READ, WRITE:
//!     r1 = r3 & BIT; if r1 == 0 goto bit_done
//!     per rule with BIT, last first:
//!       if r2 != TYPE goto next (unless 'a'); if r4 != MAJOR goto next; if r5 != MINOR goto next
//!       allow: goto bit_done        deny: r0 = 0; exit
//!     next: ...
//!     r0 = 0; exit                   // no rule grants BIT
//!   bit_done:
//!   r0 = 1; exit
//! ```
//! On update the new program is attached (BPF_F_ALLOW_MULTI) before the old ones are
//! detached, so there is no window without a filter (as runc does).

use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::error::{Errno, Error, Op, Result};
use crate::resources::devices::{rules, Rule};
use crate::sys::{self, BpfInsn};

const LDX_MEM_W: u8 = 0x61;
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_X: u8 = 0xbc;
const ALU64_MOV_K: u8 = 0xb7;
const JNE_K: u8 = 0x55;
const JEQ_K: u8 = 0x15;
const JA: u8 = 0x05;
const EXIT: u8 = 0x95;

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

enum Jump {
    /// To the end of the current rule's block.
    Next,
    /// To the end of the current access bit's section.
    BitDone,
}

/// Build the filter program for `rules`.
pub(crate) fn program(rules: &[Rule]) -> Vec<BpfInsn> {
    let mut p = vec![
        insn(LDX_MEM_W, R2, R1, 0, 0),
        insn(ALU32_AND_K, R2, 0, 0, 0xffff),
        insn(LDX_MEM_W, R3, R1, 0, 0),
        insn(ALU32_RSH_K, R3, 0, 0, 16),
        insn(LDX_MEM_W, R4, R1, 4, 0),
        insn(LDX_MEM_W, R5, R1, 8, 0),
    ];
    for (bit, letter) in [(1, 'm'), (2, 'r'), (4, 'w')] {
        // One section per access bit: skipped when the bit is not requested; else the last
        // rule that matches the device and has this bit decides it.
        let mut sec: Vec<(BpfInsn, Option<Jump>)> = vec![
            (insn(ALU32_MOV_X, R1, R3, 0, 0), None),
            (insn(ALU32_AND_K, R1, 0, 0, bit), None),
            (insn(JEQ_K, R1, 0, 0, 0), Some(Jump::BitDone)),
        ];
        let mut decided = false;
        for r in rules.iter().rev().filter(|r| r.access.contains(letter)) {
            let mut block: Vec<(BpfInsn, Option<Jump>)> = Vec::new();
            match r.typ {
                'b' => block.push((insn(JNE_K, R2, 0, 0, 1), Some(Jump::Next))),
                'c' => block.push((insn(JNE_K, R2, 0, 0, 2), Some(Jump::Next))),
                _ => {}
            }
            if let Some(maj) = r.major {
                block.push((insn(JNE_K, R4, 0, 0, maj as i32), Some(Jump::Next)));
            }
            if let Some(min) = r.minor {
                block.push((insn(JNE_K, R5, 0, 0, min as i32), Some(Jump::Next)));
            }
            let unconditional = block.is_empty();
            if r.allow {
                block.push((insn(JA, 0, 0, 0, 0), Some(Jump::BitDone)));
            } else {
                block.push((insn(ALU64_MOV_K, R0, 0, 0, 0), None));
                block.push((insn(EXIT, 0, 0, 0, 0), None));
            }
            let len = block.len();
            for (i, (mut ins, jump)) in block.into_iter().enumerate() {
                match jump {
                    Some(Jump::Next) => {
                        ins.off = (len - i - 1) as i16;
                        sec.push((ins, None));
                    }
                    other => sec.push((ins, other)),
                }
            }
            if unconditional {
                // Matches every device: nothing before it can decide this bit.
                decided = true;
                break;
            }
        }
        if !decided {
            // No rule grants this bit: deny.
            sec.push((insn(ALU64_MOV_K, R0, 0, 0, 0), None));
            sec.push((insn(EXIT, 0, 0, 0, 0), None));
        }
        let len = sec.len();
        for (i, (mut ins, jump)) in sec.into_iter().enumerate() {
            if let Some(Jump::BitDone) = jump {
                ins.off = (len - i - 1) as i16;
            }
            p.push(ins);
        }
    }
    // Every requested bit was granted.
    p.push(insn(ALU64_MOV_K, R0, 0, 0, 1));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

/// Load the filter for `list` and attach it to the v2 cgroup `dir`, replacing ours from before.
pub(crate) fn apply(dir: &Path, list: &[LinuxDeviceCgroup]) -> Result<()> {
    let prog = program(&rules(list)?);
    attach(dir, &prog)
}

pub(crate) fn attach(dir: &Path, prog: &[BpfInsn]) -> Result<()> {
    let fd = sys::bpf_load_device_prog(prog).map_err(|(e, log)| Error::Bpf {
        op: Op::BpfProgLoad,
        path: dir.to_path_buf(),
        errno: Errno(e),
        log,
    })?;
    let cg = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags_dir()
        .open(dir)
        .map_err(|e| Error::io(Op::Open, dir, e))?;
    // Old programs (ours from an earlier apply); a kernel without query support has none.
    let old = sys::bpf_query_device_progs(cg.as_fd()).unwrap_or_default();
    sys::bpf_attach_device_prog(cg.as_fd(), fd.as_fd())
        .map_err(|e| Error::io(Op::BpfProgAttach, dir, e))?;
    for id in old {
        let Ok(old_fd) = sys::bpf_prog_fd_by_id(id) else {
            continue;
        };
        sys::bpf_detach_device_prog(cg.as_fd(), old_fd.as_fd())
            .map_err(|e| Error::io(Op::BpfProgDetach, dir, e))?;
    }
    Ok(())
}

trait DirFlags {
    fn custom_flags_dir(&mut self) -> &mut Self;
}

impl DirFlags for std::fs::OpenOptions {
    fn custom_flags_dir(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A tiny interpreter for the instructions `program` emits.
    fn run(prog: &[BpfInsn], typ: u32, major: u32, minor: u32, access: u32) -> u64 {
        let ctx = [(access << 16) | typ, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(src, 1);
                    r[dst] = u64::from(ctx[(i.off / 4) as usize]);
                }
                ALU32_AND_K => r[dst] = u64::from((r[dst] as u32) & (i.imm as u32)),
                ALU32_RSH_K => r[dst] = u64::from((r[dst] as u32) >> i.imm),
                ALU32_MOV_X => r[dst] = u64::from(r[src] as u32),
                ALU64_MOV_K => r[dst] = i.imm as i64 as u64,
                JNE_K => {
                    if r[dst] != i.imm as i64 as u64 {
                        pc += i.off as usize;
                    }
                }
                JEQ_K => {
                    if r[dst] == i.imm as i64 as u64 {
                        pc += i.off as usize;
                    }
                }
                JA => pc += i.off as usize,
                EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    fn oci(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).unwrap()
    }

    const BLOCK: u32 = 1;
    const CHAR: u32 = 2;
    const M: u32 = 1;
    const R: u32 = 2;
    const W: u32 = 4;

    #[test]
    fn last_matching_rule_wins_default_deny() {
        let rules = rules(&oci(r#"[{"allow":false,"access":"rwm"},
                {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
                {"allow":true,"type":"c","major":136,"access":"rw"},
                {"allow":true,"type":"b","access":"m"},
                {"allow":false,"type":"c","major":1,"minor":3,"access":"w"}]"#))
        .unwrap();
        let p = program(&rules);
        assert_eq!(run(&p, CHAR, 1, 3, R), 1);
        assert_eq!(run(&p, CHAR, 1, 3, W), 0);
        assert_eq!(run(&p, CHAR, 1, 3, R | W), 0);
        assert_eq!(run(&p, CHAR, 1, 3, R | M), 1);
        assert_eq!(run(&p, CHAR, 136, 5, R | W), 1);
        assert_eq!(run(&p, CHAR, 136, 5, M), 0);
        assert_eq!(run(&p, BLOCK, 8, 0, M), 1);
        assert_eq!(run(&p, BLOCK, 8, 0, R), 0);
        assert_eq!(run(&p, CHAR, 5, 0, R), 0);
    }

    #[test]
    fn empty_and_allow_all() {
        assert_eq!(run(&program(&[]), CHAR, 1, 3, R), 0);
        let all = rules(&oci(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"access":"rwm"}]"#,
        ))
        .unwrap();
        let p = program(&all);
        assert_eq!(run(&p, BLOCK, 8, 0, R | W | M), 1);
        let split = rules(&oci(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"r"},
                {"allow":true,"type":"c","major":1,"minor":3,"access":"w"}]"#,
        ))
        .unwrap();
        assert_eq!(run(&program(&split), CHAR, 1, 3, R | W), 1);
        assert_eq!(run(&program(&split), CHAR, 1, 3, M), 0);
    }

    #[test]
    fn runc_defaults_allow_what_runc_allows() {
        let p = program(&rules(&crate::default_device_rules()).unwrap());
        assert_eq!(run(&p, CHAR, 1, 3, R | W), 1); // /dev/null
        assert_eq!(run(&p, CHAR, 5, 2, R | W), 1); // /dev/ptmx
        assert_eq!(run(&p, CHAR, 136, 0, R | W), 1); // /dev/pts/0
        assert_eq!(run(&p, CHAR, 10, 200, M), 1); // mknod anything
        assert_eq!(run(&p, CHAR, 10, 200, R | W), 1); // /dev/net/tun (runc 1.1)
        assert_eq!(run(&p, CHAR, 10, 229, R), 0); // /dev/fuse
        assert_eq!(run(&p, BLOCK, 8, 0, R), 0); // /dev/sda
    }

    fn is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines()
                    .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
            })
            .unwrap_or(false)
    }

    /// Load the filter into the kernel and attach it to a real cgroup2 directory (the hybrid
    /// unified mount here, or /sys/fs/cgroup on a v2 host), then check a process inside is
    /// filtered. Skipped without root or a cgroup2 mount.
    #[test]
    fn kernel_accepts_and_enforces_the_filter() {
        let base = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.join("cgroup.procs").exists() && p.join("cgroup.controllers").exists());
        let Some(base) = base.filter(|_| is_root()) else {
            return test_skip::skip("needs root and a cgroup2 mount");
        };
        struct Dir(std::path::PathBuf, Option<std::process::Child>);
        impl Drop for Dir {
            fn drop(&mut self) {
                if let Some(c) = &mut self.1 {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                let _ = std::fs::remove_dir(&self.0);
            }
        }
        let mut dir = Dir(
            base.join(format!("runr-test-bpf-{}", std::process::id())),
            None,
        );
        std::fs::create_dir(&dir.0).unwrap();
        let list = oci(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":5,"access":"rw"}]"#,
        );
        let prog = program(&rules(&list).unwrap());
        attach(&dir.0, &prog).unwrap();
        // Attaching again (update) replaces the program rather than stacking it.
        attach(&dir.0, &prog).unwrap();
        let fd = std::fs::File::open(&dir.0).unwrap();
        assert_eq!(sys::bpf_query_device_progs(fd.as_fd()).unwrap().len(), 1);

        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg("read x; if head -c 1 /dev/zero >/dev/zero; then echo zero-ok; else echo zero-denied; fi; \
                  if true </dev/null; then echo null-ok; else echo null-denied; fi")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        dir.1 = Some(child);
        std::fs::write(dir.0.join("cgroup.procs"), pid.to_string()).unwrap();
        let c = dir.1.as_mut().unwrap();
        c.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let mut out = String::new();
        c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        let _ = c.wait();
        assert_eq!(out, "zero-ok\nnull-denied\n");
    }
}
