//! `runr pause ID`: freeze every process of a running container (the cgroup freezer).

use runtime_core::Container;

use crate::cli::{Command, Parsed};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "pause",
    usage: "freeze every process of a container",
    args_usage: "<container-id>

<container-id> is the name of the container.",
    description: "Freezes every process of the container with the cgroup freezer; \"runr resume\"
thaws them. The container's status is then \"paused\".",
    flags: &[],
    reorder: true,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    Container::load(&g.root, p.id("pause")?)?.pause()?;
    Ok(0)
}
