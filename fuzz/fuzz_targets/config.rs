//! config.json → parsed, validated `Bundle` → compiled seccomp filter: everything runr does with
//! an untrusted config before it creates anything. Any panic (or sanitizer report) is a bug;
//! errors are the expected outcome for most inputs.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A bundle directory with an empty rootfs, made once per fuzzing process.
fn bundle_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("runr-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rootfs")).expect("make fuzz bundle");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = runtime_core::Bundle::from_config(bundle_dir(), data) {
        if let Some(sc) = bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
        {
            let _ = runtime_core::seccomp::compile(sc);
        }
    }
});
