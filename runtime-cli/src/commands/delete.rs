//! `runr delete [--force] ID`. With --force a missing container is not an error (engines call it
//! for cleanup after the fact), and a half-written state directory is removed.

use runtime_core::{Container, Error};

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
    let c = match Container::load(&g.root, id) {
        Ok(c) => c,
        Err(Error::NotFound(_)) if force => {
            // A create that died before writing its state leaves only the directory.
            if runtime_core::validate_id(id).is_ok() {
                let _ = std::fs::remove_dir_all(g.root.join(id));
            }
            return Ok(0);
        }
        Err(e @ Error::State { .. }) if force => {
            g.log.warn(&format!("removing unreadable state: {e}"));
            std::fs::remove_dir_all(g.root.join(id))?;
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    let warnings = c.delete(force)?;
    super::warn_all(g, warnings);
    Ok(0)
}
