//! `runr list [--format table|json] [--quiet]`, in runc's shapes.

use std::io::Write;

use crate::cli::{flag, switch, Command, Parsed};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "list",
    usage: "list the containers under the state root",
    args_usage: "

Lists the containers under the state root the global --root names
(default: \"/run/runr\"): \"runr --root DIR list\".",
    description: "",
    flags: &[
        flag(&["format", "f"], "table or json").with_default("\"table\""),
        switch(&["quiet", "q"], "print the container ids only"),
    ],
    reorder: true,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    p.no_args("list")?;
    let listing = runtime_core::list(&g.root)?;
    // As runc: a container whose state cannot be told is named on stderr, the others listed.
    for (id, e) in &listing.unreadable {
        g.log.error(&format!("status for {id}: {e}"));
    }
    let all = listing.containers;
    let mut out = String::new();
    if p.is_set("quiet") {
        for c in &all {
            out.push_str(&c.id);
            out.push('\n');
        }
    } else {
        match p.value("format").unwrap_or("table") {
            "table" => {
                let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
                    .map(String::from)
                    .to_vec()];
                for c in &all {
                    rows.push(vec![
                        c.id.clone(),
                        c.pid.to_string(),
                        c.status.to_string(),
                        c.bundle.display().to_string(),
                        c.created.clone(),
                        c.owner.clone(),
                    ]);
                }
                out = table(&rows);
            }
            "json" if all.is_empty() => out.push_str("null\n"),
            "json" => {
                out = serde_json::to_string(&all)?;
                out.push('\n');
            }
            other => anyhow::bail!("invalid format option: {other}"),
        }
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(0)
}

/// Go's tabwriter as runc configures it: cells padded to the column's width plus 3, at least
/// 12; the last column unpadded.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == cols {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}
