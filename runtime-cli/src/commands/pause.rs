//! `runr pause ID`: freeze every process of a running container (the cgroup freezer).

use runtime_core::Container;

use crate::cli;
use crate::Global;

pub fn run(g: &mut Global, argv: &[String]) -> anyhow::Result<i32> {
    let p = cli::parse(argv, &[])?;
    Container::load(&g.root, p.id("pause")?)?.pause()?;
    Ok(0)
}
