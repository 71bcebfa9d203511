//! `runr delete [--force] ID`. With --force a missing container is not an error (engines call it
//! for cleanup after the fact), and what a killed create or a damaged state left is removed by
//! the container's intent record (runtime_core::recovery).

use runtime_core::Error;

use crate::cli::{switch, Command, Parsed};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "delete",
    usage: "delete a container and everything it holds",
    args_usage: "<container-id>

<container-id> is the name of the container.",
    description: "Removes a stopped (or created) container: its cgroup and its state, then runs its
poststop hooks. A running container needs --force, which kills it first.",
    flags: &[switch(
        &["force", "f"],
        "kill a running container first (SIGKILL); a missing container is no error",
    )],
    reorder: true,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let id = p.id("delete")?;
    let force = p.is_set("force");
    let warnings = match runtime_core::recovery::delete(&g.root, id, force) {
        Ok(w) => w,
        Err(Error::NotFound(_)) if force => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    super::warn_all(g, warnings);
    Ok(0)
}
