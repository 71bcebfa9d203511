//! The cgroup v2 device filter: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) generated here
//! from the rule list and attached with BPF_PROG_ATTACH / BPF_CGROUP_DEVICE.
//!
//! Semantics (same as the v1 writer's final state for the rule lists runtimes send): the
//! rules are checked from the last to the first and the first that matches decides; nothing
//! matching means deny. A rule matches when its type is 'a' or equal, its major/minor are
//! wildcards or equal, and the requested access bits are all within its access.
//!
//! Program (ctx = `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`):
//! ```text
//!   r2 = ctx->access_type & 0xffff   // BPF_DEVCG_DEV_BLOCK=1 / CHAR=2
//!   r3 = ctx->access_type >> 16      // BPF_DEVCG_ACC_MKNOD=1 | READ=2 | WRITE=4
//!   r4 = ctx->major; r5 = ctx->minor
//!   per rule, last first:
//!     if r2 != TYPE goto next                    (unless type 'a')
//!     r1 = r3; r1 &= ACCESS; if r1 != r3 goto next   (unless "rwm")
//!     if r4 != MAJOR goto next; if r5 != MINOR goto next   (unless wildcards)
//!     r0 = ALLOW; exit
//!   next: ...
//!   r0 = 0; exit
//! ```
//! On update the new program is attached (BPF_F_ALLOW_MULTI) before the old ones are
//! detached, so there is no window without a filter (as runc does).

use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::error::{Errno, Error, Op, Result};
use crate::resources::devices::{rules, Rule};
use crate::sys::{self, BpfInsn};
use crate::Manager;

const LDX_MEM_W: u8 = 0x61;
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_X: u8 = 0xbc;
const ALU64_MOV_K: u8 = 0xb7;
const JNE_K: u8 = 0x55;
const JNE_X: u8 = 0x5d;
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

fn access_bits(access: &str) -> i32 {
    let mut bits = 0;
    if access.contains('m') {
        bits |= 1;
    }
    if access.contains('r') {
        bits |= 2;
    }
    if access.contains('w') {
        bits |= 4;
    }
    bits
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
    for r in rules.iter().rev() {
        // (instruction, is a jump to `next`)
        let mut block: Vec<(BpfInsn, bool)> = Vec::new();
        match r.typ {
            'b' => block.push((insn(JNE_K, R2, 0, 0, 1), true)),
            'c' => block.push((insn(JNE_K, R2, 0, 0, 2), true)),
            _ => {}
        }
        let bits = access_bits(&r.access);
        if bits != 7 {
            block.push((insn(ALU32_MOV_X, R1, R3, 0, 0), false));
            block.push((insn(ALU32_AND_K, R1, 0, 0, bits), false));
            block.push((insn(JNE_X, R1, R3, 0, 0), true));
        }
        if let Some(maj) = r.major {
            block.push((insn(JNE_K, R4, 0, 0, maj as i32), true));
        }
        if let Some(min) = r.minor {
            block.push((insn(JNE_K, R5, 0, 0, min as i32), true));
        }
        block.push((insn(ALU64_MOV_K, R0, 0, 0, i32::from(r.allow)), false));
        block.push((insn(EXIT, 0, 0, 0, 0), false));
        let len = block.len();
        let unconditional = block.iter().all(|(_, j)| !j);
        for (i, (mut ins, jump)) in block.into_iter().enumerate() {
            if jump {
                ins.off = (len - i - 1) as i16;
            }
            p.push(ins);
        }
        if unconditional {
            // Matches everything: nothing before it can be reached.
            return p;
        }
    }
    p.push(insn(ALU64_MOV_K, R0, 0, 0, 0));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

/// Load the filter for `list` and attach it to the v2 cgroup `dir`, replacing ours from before.
pub(crate) fn apply(m: &Manager, dir: &Path, list: &[LinuxDeviceCgroup]) -> Result<()> {
    let prog = program(&rules(list)?);
    if m.fake_log.is_some() {
        // A fake tree has no kernel to load into; the program is tested on its own.
        return Ok(());
    }
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
