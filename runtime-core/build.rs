//! Builds the exec stub (`stub/exec-stub.c`, see `src/exec_stub.rs`): a freestanding static
//! binary of ~2 KB that `src/exec_stub.rs` embeds. With no C compiler for the target, or a
//! target the stub has no system calls for, runr is built without it (`cfg(exec_stub)` unset)
//! and every container process runs from the re-executed, read-only binary instead, as before.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=stub/exec-stub.c");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rustc-check-cfg=cfg(exec_stub)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" || !matches!(arch.as_str(), "x86_64" | "aarch64") {
        println!("cargo:warning=no exec stub for {arch}-{os}: container processes use the re-exec");
        return;
    }
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    println!("cargo:rerun-if-env-changed=CC_{}", target.replace('-', "_"));
    // The target's C compiler: CC_<target>, else CC (or cc) when not cross-compiling.
    let cc = std::env::var(format!("CC_{}", target.replace('-', "_")))
        .ok()
        .or_else(|| (target == host).then(|| std::env::var("CC").unwrap_or_else(|_| "cc".into())));
    let Some(cc) = cc else {
        println!("cargo:warning=no C compiler for {target} (set CC_{target}): no exec stub");
        return;
    };
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("exec-stub");
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/stub/exec-stub.c");
    // Freestanding and static (no libc, no loader, nothing for the container's files to
    // supply), without a stack protector or unwind tables it would have no runtime for,
    // stripped, and without page-aligned segments (-n): the file stays ~2 KB.
    let status = Command::new(&cc)
        .args([
            "-Os",
            "-static",
            "-nostdlib",
            "-ffreestanding",
            "-fno-builtin",
        ])
        .args([
            "-fno-stack-protector",
            "-fno-pie",
            "-no-pie",
            "-fno-asynchronous-unwind-tables",
        ])
        .args(["-Wl,--build-id=none", "-Wl,-n", "-s", "-o"])
        .arg(&out)
        .arg(src)
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => {
            println!(
                "cargo:warning=building the exec stub with {cc} failed ({other:?}): no exec stub"
            );
            return;
        }
    }
    // A compiler for another machine (a host `cc` while cross-compiling) would embed a stub
    // the target cannot execute: check the ELF header's e_machine.
    let machine: u16 = if arch == "x86_64" { 62 } else { 183 };
    let built = std::fs::read(&out).unwrap_or_default();
    if built.get(18..20) != Some(&machine.to_le_bytes()[..]) {
        println!("cargo:warning={cc} built the exec stub for another machine: no exec stub");
        return;
    }
    println!("cargo:rustc-cfg=exec_stub");
}
