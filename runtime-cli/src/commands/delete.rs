//! `runr delete [--force] ID`. With --force a missing container is not an error (engines call it
//! for cleanup after the fact), and a half-written state directory is removed.

use runtime_core::{Container, Error};

use crate::cli::{self, switch, Flag};
use crate::Global;

const FLAGS: &[Flag] = &[switch(&["force", "f"])];

pub fn run(g: &mut Global, argv: &[String]) -> anyhow::Result<i32> {
    let p = cli::parse(argv, FLAGS)?;
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
