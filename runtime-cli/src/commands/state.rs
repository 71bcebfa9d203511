//! `runr state ID`: the OCI state as runc prints it (2-space indented JSON, no final newline);
//! a container whose create has not finished is `creating`.

use std::io::Write;

use runtime_core::Found;

use crate::cli::{Command, Parsed};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "state",
    usage: "print the state of a container",
    args_usage: "<container-id>

<container-id> is the name of the container.",
    description: "Prints the container's OCI state as JSON: id, pid, status (created, running,
paused or stopped), bundle, rootfs, created, annotations, owner.",
    flags: &[],
    reorder: true,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let state = match runtime_core::recovery::find(&g.root, p.id("state")?)? {
        Found::Complete(c) => c.state()?,
        Found::Incomplete(r) => r.state()?,
    };
    let text = serde_json::to_string_pretty(&state)?;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}
