//! Which runr the tests run: the binary built from this very tree, never an older build.
//!
//! `cargo test` does not build `runtime-cli`'s binary for another package's tests (cargo's
//! `CARGO_BIN_EXE_<name>` exists only for the binary's own package, and artifact dependencies
//! are unstable), so the harness builds it: once per test process, `cargo build -p runtime-cli`
//! with the test binary's own target directory and profile (cargo has released its build lock
//! by the time tests run). Then the binary must be newer than every source cargo lists for it
//! (its dep-info file), or the test fails loudly. `$RUNR_BIN` is an explicit override (the v2
//! VM, a runtime built elsewhere): it is used as is and printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

/// The runr binary under test (see the module docs); panics when it cannot be built or is stale.
pub fn runr_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("RUNR_BIN") {
        Some(bin) => from_env(PathBuf::from(bin)),
        None => built_from_this_tree(),
    })
    .clone()
}

fn from_env(bin: PathBuf) -> PathBuf {
    assert!(bin.is_file(), "$RUNR_BIN={} does not exist", bin.display());
    let _ = writeln!(
        std::io::stderr().lock(),
        "runr under test: {} (from $RUNR_BIN, not rebuilt)",
        bin.display()
    );
    bin
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests-integration sits in the workspace")
        .to_path_buf()
}

/// runr built from this tree with the release profile (panic=abort, stripped, no unwind tables:
/// what `scripts/setup.sh` installs and the benchmark measures), whatever profile the tests run
/// under; built once per test process into the tests' own target directory and checked fresh.
pub fn runr_release_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let (target, _) = test_target_and_profile();
        build_in(&target, "release")
    })
    .clone()
}

/// The target directory and profile of the running test binary.
fn test_target_and_profile() -> (PathBuf, String) {
    // <target>/<profile>/deps/<test binary>.
    // argv[0] when /proc/self/exe is not the file cargo built (a test that called
    // `protect_binary` runs from a detached read-only view of it; cargo passes an absolute path).
    let in_deps = |p: &PathBuf| p.parent().and_then(Path::file_name) == Some("deps".as_ref());
    let exe = std::env::current_exe()
        .ok()
        .filter(in_deps)
        .or_else(|| std::env::args_os().next().map(PathBuf::from))
        .filter(in_deps)
        .expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in <target>/<profile>/deps");
    let target = profile_dir.parent().expect("<target>/<profile>");
    let profile = profile_dir.file_name().unwrap().to_string_lossy();
    (target.to_path_buf(), profile.into_owned())
}

fn built_from_this_tree() -> PathBuf {
    // Build runr with the test binary's own target dir and profile.
    let (target, profile) = test_target_and_profile();
    build_in(&target, &profile)
}

/// `cargo build -p runtime-cli` into `target` with `profile`; the binary, checked fresh.
fn build_in(target: &Path, profile: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(&cargo);
    build
        .current_dir(workspace())
        .args(["build", "--quiet", "-p", "runtime-cli", "--target-dir"])
        .arg(target);
    match profile {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => {
            build.args(["--profile", other]);
        }
    }
    let out = build
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?} to build runr: {e} (or set $RUNR_BIN)"));
    assert!(
        out.status.success(),
        "building runr for the tests failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = target.join(profile).join("runr");
    assert_fresh(&bin);
    bin
}

/// The binary must be newer than every source it is built from: the files cargo lists for it
/// in its dep-info file (`<bin>.d`, the workspace's own sources).
fn assert_fresh(bin: &Path) {
    let built = mtime(bin).unwrap_or_else(|| panic!("{} was not built", bin.display()));
    let dep_info = bin.with_extension("d");
    let text = std::fs::read_to_string(&dep_info).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (cargo writes it with the binary)",
            dep_info.display()
        )
    });
    let sources = dep_info_sources(&text);
    assert!(
        !sources.is_empty(),
        "{}: no sources listed",
        dep_info.display()
    );
    let newer: Vec<String> = sources
        .iter()
        .filter(|s| mtime(s).is_none_or(|m| m > built))
        .map(|s| s.display().to_string())
        .collect();
    assert!(
        newer.is_empty(),
        "{} is older than (or lacks) its sources {newer:?}: it is not the binary of this tree",
        bin.display()
    );
}

/// The prerequisites of the first rule of a make-style dep-info file (`\ ` escapes a space).
fn dep_info_sources(text: &str) -> Vec<PathBuf> {
    let line = text.lines().next().unwrap_or_default();
    let Some((_, deps)) = line.split_once(": ") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = deps.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.extend(chars.next()),
            ' ' => out.extend((!cur.is_empty()).then(|| PathBuf::from(std::mem::take(&mut cur)))),
            c => cur.push(c),
        }
    }
    out.extend((!cur.is_empty()).then(|| PathBuf::from(cur)));
    out
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_lists_the_first_rule_with_escaped_spaces() {
        let text = "/t/debug/runr: /w/a.rs /w/my\\ dir/b.rs /w/c.rs\n\n/w/a.rs:\n";
        assert_eq!(
            dep_info_sources(text),
            [
                PathBuf::from("/w/a.rs"),
                PathBuf::from("/w/my dir/b.rs"),
                PathBuf::from("/w/c.rs")
            ]
        );
        assert!(dep_info_sources("garbage").is_empty());
    }
}
