//! `runr start ID`: lets a created container's init exec the user process.

use runtime_core::Container;

use crate::cli;
use crate::Global;

pub fn run(g: &mut Global, argv: &[String]) -> anyhow::Result<i32> {
    let p = cli::parse(argv, &[])?;
    let mut c = Container::load(&g.root, p.id("start")?)?;
    let warnings = c.start()?;
    super::warn_all(g, warnings);
    Ok(0)
}
