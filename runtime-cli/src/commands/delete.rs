//! `runr delete [--force] ID`. With --force a missing container is not an error (engines call it
//! for cleanup after the fact), and what a killed create or a damaged state left is removed by
//! the container's intent record (runtime_core::recovery).

use runtime_core::Error;

use crate::cli::{self, switch, Flag};
use crate::Global;

const FLAGS: &[Flag] = &[switch(&["force", "f"])];

pub fn run(g: &mut Global, argv: &[String]) -> anyhow::Result<i32> {
    let p = cli::parse(argv, FLAGS)?;
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
