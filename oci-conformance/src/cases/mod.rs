//! The cases, one per checkable normative requirement of the runtime-spec (runtime.md,
//! runtime-linux.md, config.md, config-linux.md), grouped by area. Each case builds its own
//! bundle and returns `Ok` (pass), `Why::Fail` or `Why::Skip` (the host lacks the feature).

mod cgroups;
mod fs;
mod hooks;
mod lifecycle;
mod ns;
mod process;
mod seccomp;
mod spec13;

use serde_json::Value;

use crate::harness::{Bundle, Ctx, Kv, Why, CGROUP_PARENT, R};
use crate::{check, fail};

type CaseFn = Box<dyn Fn(&Ctx) -> R + Send + Sync>;

pub struct Case {
    pub area: &'static str,
    pub name: String,
    pub f: CaseFn,
}

/// A case from a closure.
pub fn case(
    area: &'static str,
    name: impl Into<String>,
    f: impl Fn(&Ctx) -> R + Send + Sync + 'static,
) -> Case {
    Case {
        area,
        name: name.into(),
        f: Box::new(f),
    }
}

/// Every case, in table order.
pub fn all() -> Vec<Case> {
    let mut v = vec![];
    v.extend(lifecycle::lifecycle());
    v.extend(lifecycle::state());
    v.extend(process::process());
    v.extend(process::user());
    v.extend(process::capabilities());
    v.extend(process::rlimits());
    v.extend(hooks::hooks());
    v.extend(fs::mounts());
    v.extend(fs::rootfs());
    v.extend(ns::namespaces());
    v.extend(fs::devices());
    v.extend(cgroups::cgroups());
    v.extend(seccomp::seccomp());
    v.extend(ns::sysctl());
    v.extend(fs::paths());
    v.extend(lifecycle::errors());
    v.extend(spec13::spec13());
    v
}

/// Runs the probe dump with `edit` applied to the config.
pub fn probe_with(ctx: &Ctx, edit: impl FnOnce(&mut Value)) -> Result<Kv, Why> {
    let mut b = Bundle::probe(ctx);
    edit(&mut b.config);
    b.run_kv()
}

/// Runs `args` in a container with `edit` applied; returns stdout (must exit 0).
pub fn run_with(ctx: &Ctx, args: &[&str], edit: impl FnOnce(&mut Value)) -> Result<String, Why> {
    let mut b = Bundle::new(ctx, args);
    edit(&mut b.config);
    b.run_ok()
}

/// Runs `probe <args>` and returns the `errno=` it printed.
pub fn probe_errno(ctx: &Ctx, args: &[&str], edit: impl FnOnce(&mut Value)) -> Result<i32, Why> {
    let mut full = vec!["/bin/probe"];
    full.extend_from_slice(args);
    let out = run_with(ctx, &full, edit)?;
    let kv = Kv::parse(&out);
    match kv.get("errno").parse() {
        Ok(e) => Ok(e),
        Err(_) => fail!("probe printed no errno: {out:?}"),
    }
}

/// The config must be rejected by `create` (non-zero exit) and leave nothing behind.
pub fn rejected(ctx: &Ctx, edit: impl FnOnce(&mut Value)) -> R {
    let mut b = Bundle::probe(ctx);
    edit(&mut b.config);
    let out = b.create();
    if out.ok() {
        fail!("create accepted the invalid config");
    }
    b.nothing_left()
}

/// Removes the suite's parent cgroup from every hierarchy (best effort).
pub fn cleanup_cgroups() {
    let host = crate::harness::Host::probe();
    let mut roots: Vec<std::path::PathBuf> = host.v1.values().cloned().collect();
    roots.extend(host.unified);
    for r in roots {
        let parent = r.join(CGROUP_PARENT);
        if let Ok(rd) = std::fs::read_dir(&parent) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    let _ = std::fs::remove_dir(e.path());
                }
            }
        }
        let _ = std::fs::remove_dir(&parent);
    }
}

/// Fails unless `got` (a probe's errno) equals `want`.
pub fn errno_is(got: i32, want: i32, what: &str) -> R {
    check!(got == want, "{what}: errno {got}, want {want}");
    Ok(())
}
