//! `runr state ID`: the OCI state as runc prints it (2-space indented JSON, no final newline).

use std::io::Write;

use runtime_core::Container;

use crate::cli;
use crate::Global;

pub fn run(g: &mut Global, argv: &[String]) -> anyhow::Result<i32> {
    let p = cli::parse(argv, &[])?;
    let c = Container::load(&g.root, p.id("state")?)?;
    let text = serde_json::to_string_pretty(&c.state())?;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}
