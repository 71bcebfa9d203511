//! `runr start ID`: lets a created container's init exec the user process.

use runtime_core::Container;

use crate::cli::{Command, Parsed};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "start",
    usage: "run the process of a created container",
    args_usage: "<container-id>

<container-id> is the name of the container.",
    description: "Lets the init of a created container exec process.args; the container is then
\"running\". Starting a container that is not \"created\" fails.",
    flags: &[],
    reorder: true,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let mut c = Container::load(&g.root, p.id("start")?)?;
    let outcome = c.start()?;
    super::warn_all(g, outcome);
    Ok(0)
}
