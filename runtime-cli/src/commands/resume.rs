//! `runr resume ID`: thaw a paused container.

use runtime_core::Container;

use crate::cli;
use crate::Global;

pub fn run(g: &mut Global, argv: &[String]) -> anyhow::Result<i32> {
    let p = cli::parse(argv, &[])?;
    Container::load(&g.root, p.id("resume")?)?.resume()?;
    Ok(0)
}
