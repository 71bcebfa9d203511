//! `runr state ID`: the OCI state as runc prints it (2-space indented JSON, no final newline);
//! a container whose create has not finished is `creating`.

use std::io::Write;

use runtime_core::Found;

use crate::cli;
use crate::Global;

pub fn run(g: &mut Global, argv: &[String]) -> anyhow::Result<i32> {
    let p = cli::parse(argv, &[])?;
    let state = match runtime_core::recovery::find(&g.root, p.id("state")?)? {
        Found::Complete(c) => c.state(),
        Found::Incomplete(r) => r.state()?,
    };
    let text = serde_json::to_string_pretty(&state)?;
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}
