//! Link flags for the `runr` binary that shrink it without changing what it does (issue #20's
//! 1.5 MiB target; the sizes are the stripped release binary's).

fn main() {
    // DT_RELR: the PIE's ~5,000 relative relocations packed into a bitmap instead of 24 bytes
    // each (.rela.dyn 60 KiB -> 4 KiB; -54 KiB). Needs glibc 2.36+ to run, which the linker
    // records (GLIBC_ABI_DT_RELR), so an older glibc refuses the binary instead of misloading it.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    // Identical code folding: monomorphized copies with the same machine code (serde visitors,
    // drop glue) kept once (-25 KiB). Rust promises no distinct function addresses. lld only
    // (rustc's default linker on x86_64 Linux since 1.90).
    println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
}
