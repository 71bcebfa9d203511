//! `runr resume ID`: thaw a paused container.

use runtime_core::Container;

use crate::cli::{Command, Parsed};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "resume",
    usage: "thaw a paused container",
    args_usage: "<container-id>

<container-id> is the name of the container.",
    description:
        "Thaws every process of a container \"runr pause\" froze; it is \"running\" again.",
    flags: &[],
    reorder: true,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    Container::load(&g.root, p.id("resume")?)?.resume()?;
    Ok(0)
}
