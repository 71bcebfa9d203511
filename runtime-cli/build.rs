//! Link flags for the `runr` binary that shrink it without changing what it does (issue #20's
//! 1.5 MiB target; the sizes are the stripped release binary's). They need lld, rustc's default
//! linker on x86_64 Linux since 1.90.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Release builds for x86_64 Linux only, where rustc (1.90+, rustup's toolchain) links with
    // its lld: GNU ld knows neither --icf nor the script's section rules, and the debug builds
    // the tests use should link with any linker.
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let x86_64_gnu = std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu");
    if !release || !x86_64_gnu {
        return;
    }
    // DT_RELR: the PIE's ~5,000 relative relocations packed into a bitmap instead of 24 bytes
    // each (.rela.dyn 60 KiB -> 4 KiB; -54 KiB). Needs glibc 2.36+ to run, which the linker
    // records (GLIBC_ABI_DT_RELR), so an older glibc refuses the binary instead of misloading it.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    // Identical code folding: monomorphized copies with the same machine code (serde visitors,
    // drop glue) kept once (-25 KiB). Rust promises no distinct function addresses.
    println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    // The release profile has panic=abort (root Cargo.toml), so nothing unwinds: the unwind
    // tables (.eh_frame, .gcc_except_table: 200 KiB, 12% of the binary) only served a panic's
    // backtrace, which now prints no frames (the message and its file:line still print).
    // Debug builds (panic=unwind: tests catch panics) keep them. Build scripts cannot see the
    // panic strategy (CARGO_CFG_PANIC is the target's default), so this keys on the profile.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/link/no-unwind-tables.ld");
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{script}");
    println!("cargo:rerun-if-changed=link/no-unwind-tables.ld");
    // src/unwind.rs's entry points stay the binary's own: lld exports a definition that a shared
    // library on the link line also has (libgcc_s, even once --as-needed drops it), so that it
    // could interpose on it. Were libgcc_s ever loaded into runr (a library that dlopens it), its
    // callers must get its unwinder, not the stand-ins: local, they leave .dynsym.
    let map = concat!(env!("CARGO_MANIFEST_DIR"), "/link/unwind-local.map");
    println!("cargo:rustc-link-arg-bins=-Wl,--version-script={map}");
    println!("cargo:rerun-if-changed=link/unwind-local.map");
}
