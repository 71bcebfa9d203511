//! `runr features`: what runr supports, as runc's features JSON (4-space indent, final newline).
//! The lists come from the library (see `runtime_core::features`), not from this file.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use crate::cli::{Command, Parsed};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "features",
    usage: "print what runr supports",
    args_usage: "",
    description: "Prints runr's features as JSON, in runc's shape: spec versions, hooks, mount
options, namespaces, capabilities, cgroup drivers, seccomp actions, operators and
architectures, annotations.",
    flags: &[],
    reorder: true,
};

pub fn run(_g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    p.no_args("features")?;
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "org.opencontainers.runr.version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    if let Some(commit) = option_env!("RUNR_COMMIT") {
        annotations.insert("org.opencontainers.runr.commit".into(), commit.into());
    }
    annotations.insert(
        "org.opencontainers.runc.checkpoint.enabled".into(),
        "false".into(),
    );
    let f = runtime_core::features(super::SPEC_VERSION, annotations);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    f.serialize(&mut ser)?;
    buf.push(b'\n');
    std::io::stdout().write_all(&buf)?;
    Ok(0)
}
