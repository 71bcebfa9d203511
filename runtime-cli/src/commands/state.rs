//! `runr state ID`: the OCI state as runc prints it (2-space indented JSON, no final newline).

use std::io::Write;

use runtime_core::Container;

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
    let c = Container::load(&g.root, p.id("state")?)?;
    let text = serde_json::to_string_pretty(&c.state())?;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}
