//! `runr ps [--format table|json] ID [PS-ARGS...]`: the container's processes. JSON is the array
//! of host pids; the table is the host's `ps` (default `-ef`) filtered to those pids, header
//! first, as runc does.

use std::io::Write;

use runtime_core::Container;

use crate::cli::{flag, Command, Parsed, UsageError};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "ps",
    usage: "show the processes of a container",
    args_usage: "<container-id> [ps options]

[ps options] go to the host's ps (default: -ef), whose rows are then filtered to
the container's processes.",
    description: "",
    flags: &[flag(&["format", "f"], "table or json (the host pids)").with_default("\"table\"")],
    // What follows the id is ps's.
    reorder: false,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let Some((id, ps_args)) = p.args.split_first() else {
        return Err(UsageError(r#"runr: "ps" requires a minimum of 1 argument(s)"#.into()).into());
    };
    let c = Container::load(&g.root, id)?;
    let pids = c.processes()?;
    let mut out = std::io::stdout().lock();
    match p.value("format").unwrap_or("table") {
        "json" => {
            writeln!(out, "{}", serde_json::to_string(&pids)?)?;
            return Ok(0);
        }
        "table" => {}
        _ => anyhow::bail!("invalid format option"),
    }
    let ps_args: Vec<&str> = if ps_args.is_empty() {
        vec!["-ef"]
    } else {
        ps_args.iter().map(String::as_str).collect()
    };
    let output = std::process::Command::new("ps")
        .args(&ps_args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| anyhow::anyhow!("run ps: {e}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "{}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.split('\n');
    let header = lines.next().unwrap_or_default();
    let pid_index = header
        .split_whitespace()
        .position(|f| f == "PID")
        .ok_or_else(|| anyhow::anyhow!("couldn't find PID field in ps output"))?;
    writeln!(out, "{header}")?;
    for line in lines.filter(|l| !l.is_empty()) {
        let field = line.split_whitespace().nth(pid_index).unwrap_or_default();
        let pid: i32 = field
            .parse()
            .map_err(|e| anyhow::anyhow!("unable to parse pid: {field:?}: {e}"))?;
        if pids.contains(&pid) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(0)
}
