//! runc's command-line grammar, parsed by hand: each command is a [`Command`] (its flags, its
//! help), read with Go `flag` rules after urfave/cli's reordering.
//!
//! - Go `flag` rules: `-name` and `--name` are the same; values as `--name value` or
//!   `--name=value`; booleans as `--name` or `--name=true|false`; parsing stops at the first
//!   positional argument or at `--`.
//! - urfave/cli (runc's command-line library) first moves the command's known flags that follow
//!   the positional arguments in front of them, so `create ID --bundle DIR` and
//!   `delete ID --force` work. `exec` and `ps` skip that (runc sets `SkipArgReorder`): what
//!   follows their container id belongs to the process (`exec ID sh -c …`, `ps ID -o pid`).
//!   Unlike urfave/cli, a moved switch never takes the next argument along as its value, and a
//!   moved value flag always takes the next argument (`update ID --memory -1`); urfave/cli
//!   garbles both (`kill ID --all KILL`), so no tool written against runc relies on it.
//! - `-h`/`--help` anywhere among a command's flags asks for its help.

use std::collections::HashMap;
use std::fmt::Write;

/// A flag a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// Every name, without dashes ("bundle", "b").
    pub names: &'static [&'static str],
    pub takes_value: bool,
    /// The help line.
    pub usage: &'static str,
    /// The default shown in the help (`(default: …)`), already quoted as Go shows it.
    pub default: Option<&'static str>,
    /// Accepted but not shown in the help (runc's obsolete flags).
    pub hidden: bool,
}

/// A flag with a value.
pub const fn flag(names: &'static [&'static str], usage: &'static str) -> Flag {
    Flag {
        names,
        takes_value: true,
        usage,
        default: None,
        hidden: false,
    }
}

/// A boolean flag.
pub const fn switch(names: &'static [&'static str], usage: &'static str) -> Flag {
    Flag {
        names,
        takes_value: false,
        usage,
        default: None,
        hidden: false,
    }
}

impl Flag {
    pub const fn with_default(self, default: &'static str) -> Flag {
        Flag {
            default: Some(default),
            ..self
        }
    }

    pub const fn hidden(self) -> Flag {
        Flag {
            hidden: true,
            ..self
        }
    }

    fn named(&self, name: &str) -> bool {
        self.names.contains(&name)
    }

    /// The help's left column: `--bundle value, -b value`, `--detach, -d`.
    pub fn synopsis(&self) -> String {
        let names: Vec<String> = self
            .names
            .iter()
            .map(|n| {
                let dashes = if n.len() == 1 { "-" } else { "--" };
                let value = if self.takes_value { " value" } else { "" };
                format!("{dashes}{n}{value}")
            })
            .collect();
        names.join(", ")
    }

    pub fn help_text(&self) -> String {
        match self.default {
            Some(d) => format!("{} (default: {d})", self.usage),
            None => self.usage.to_string(),
        }
    }
}

/// One subcommand: what its help shows and how its arguments are read.
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    /// The one-line summary (the `COMMANDS:` list and `NAME:`).
    pub usage: &'static str,
    /// What follows `[command options]` in `USAGE:`; lines after the first explain it.
    pub args_usage: &'static str,
    pub description: &'static str,
    pub flags: &'static [Flag],
    /// Known flags may follow the positional arguments (false for `exec` and `ps`).
    pub reorder: bool,
}

/// The flags given (by their first name) and the positional arguments.
#[derive(Debug, Default)]
pub struct Parsed {
    values: HashMap<&'static str, Vec<String>>,
    pub args: Vec<String>,
    /// `-h`/`--help` was among the flags.
    pub help: bool,
}

/// A usage error: runc prints "Incorrect Usage" and the command's help, logs the message and
/// exits 1.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A flag parse error (unknown flag, missing value): runc's help then says
/// `Incorrect Usage: <message>` rather than `Incorrect Usage.`.
#[derive(Debug)]
pub struct FlagError(pub String);

impl std::fmt::Display for FlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FlagError {}

/// The flag named by `arg` (`--bundle`, `-b=x`), if it is one of `known` or a help flag.
fn flag_name(arg: &str) -> Option<&str> {
    if arg == "-" || arg == "--" || !arg.starts_with('-') {
        return None;
    }
    let body = arg.strip_prefix("--").unwrap_or(&arg[1..]);
    Some(body.split_once('=').map_or(body, |(n, _)| n))
}

fn is_help(name: &str) -> bool {
    name == "h" || name == "help"
}

/// urfave/cli's reordering: the known flags (with their values) first, in their order, then
/// the positional arguments; everything from `--` on stays where it is.
fn reorder(argv: &[String], known: &[Flag]) -> Vec<String> {
    let mut flags = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            rest.extend_from_slice(&argv[i..]);
            break;
        }
        let found = flag_name(a).and_then(|n| {
            known
                .iter()
                .find(|f| f.named(n))
                .map(|f| f.takes_value && !a.contains('='))
                .or(is_help(n).then_some(false))
        });
        match found {
            Some(needs_value) => {
                flags.push(a.clone());
                if needs_value && i + 1 < argv.len() {
                    i += 1;
                    flags.push(argv[i].clone());
                }
            }
            None => rest.push(a.clone()),
        }
        i += 1;
    }
    flags.extend(rest);
    flags
}

impl Command {
    /// Reads `argv` (what follows the command's name).
    pub fn parse(&self, argv: &[String]) -> Result<Parsed, FlagError> {
        if self.reorder {
            parse(&reorder(argv, self.flags), self.flags)
        } else {
            parse(argv, self.flags)
        }
    }

    /// The help, in urfave/cli's layout (`NAME:`, `USAGE:`, `DESCRIPTION:`, `OPTIONS:`).
    pub fn help(&self, program: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "NAME:\n   {program} {} - {}\n", self.name, self.usage);
        let options = if self.flags.iter().any(|f| !f.hidden) {
            " [command options]"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "USAGE:\n   {program} {}{options} {}",
            self.name, self.args_usage
        );
        if !self.description.is_empty() {
            let _ = writeln!(out, "\nDESCRIPTION:\n   {}", self.description);
        }
        let rows: Vec<(String, String)> = self
            .flags
            .iter()
            .filter(|f| !f.hidden)
            .map(|f| (f.synopsis(), f.help_text()))
            .collect();
        if !rows.is_empty() {
            out.push_str("\nOPTIONS:\n");
            out.push_str(&columns(&rows));
        }
        out
    }
}

/// Two columns as Go's tabwriter lays them out for urfave/cli: indented by 3, the left one
/// padded to its widest cell plus 2.
pub fn columns(rows: &[(String, String)]) -> String {
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let mut out = String::new();
    for (left, right) in rows {
        let _ = writeln!(out, "   {left:<width$}{right}");
    }
    out
}

/// Parses flags from the start of `argv`; the rest are positional.
pub fn parse(argv: &[String], known: &[Flag]) -> Result<Parsed, FlagError> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            out.args.extend_from_slice(&argv[i + 1..]);
            break;
        }
        let Some(body) = flag_name(a).map(|_| a.trim_start_matches('-')) else {
            out.args.extend_from_slice(&argv[i..]);
            break;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        if is_help(name) && !known.iter().any(|f| f.named(name)) {
            out.help = true;
            i += 1;
            continue;
        }
        let f = known
            .iter()
            .find(|f| f.named(name))
            .ok_or_else(|| FlagError(format!("flag provided but not defined: -{name}")))?;
        let value = if f.takes_value {
            match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    argv.get(i)
                        .cloned()
                        .ok_or_else(|| FlagError(format!("flag needs an argument: -{name}")))?
                }
            }
        } else {
            match inline.as_deref() {
                None | Some("true") | Some("1") => "true".to_string(),
                Some("false") | Some("0") => "false".to_string(),
                Some(v) => {
                    return Err(FlagError(format!(
                        "invalid boolean value {v:?} for -{name}"
                    )))
                }
            }
        };
        out.values.entry(f.names[0]).or_default().push(value);
        i += 1;
    }
    Ok(out)
}

impl Parsed {
    /// The last value of a flag (Go keeps the last one).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of a repeatable flag (`-e A -e B`).
    pub fn values(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.value(name) == Some("true")
    }

    /// The single container id a command takes.
    pub fn id(&self, command: &str) -> Result<&str, UsageError> {
        match self.args.as_slice() {
            [id] => Ok(id),
            _ => Err(UsageError(format!(
                "runr: \"{command}\" requires exactly 1 argument(s)"
            ))),
        }
    }

    /// No positional argument at all (`list`, `features`).
    pub fn no_args(&self, command: &str) -> Result<(), UsageError> {
        match self.args.is_empty() {
            true => Ok(()),
            false => Err(UsageError(format!(
                "runr: \"{command}\" requires exactly 0 argument(s)"
            ))),
        }
    }

    pub fn number(&self, name: &str) -> Result<Option<u32>, UsageError> {
        self.value(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| UsageError(format!("invalid value {v:?} for flag -{name}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[Flag] = &[
        flag(&["bundle", "b"], "the bundle"),
        switch(&["detach", "d"], "detach"),
        flag(&["env", "e"], "an env var"),
    ];

    const CMD: Command = Command {
        name: "t",
        usage: "test",
        args_usage: "<container-id>",
        description: "",
        flags: FLAGS,
        reorder: true,
    };

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_flag_rules() {
        let p = parse(
            &args(&[
                "-b",
                "x",
                "--detach",
                "--env=A=1",
                "-e",
                "B",
                "id",
                "--not-a-flag",
            ]),
            FLAGS,
        )
        .unwrap();
        assert_eq!(p.value("bundle"), Some("x"));
        assert!(p.is_set("detach"));
        assert_eq!(p.values("env"), vec!["A=1", "B"]);
        assert_eq!(p.args, vec!["id", "--not-a-flag"]);
    }

    #[test]
    fn unknown_flags_and_missing_values_are_usage_errors() {
        assert!(parse(&args(&["--bogus"]), FLAGS).is_err());
        assert!(parse(&args(&["--bundle"]), FLAGS).is_err());
        assert!(parse(&args(&["--detach=maybe"]), FLAGS).is_err());
    }

    #[test]
    fn known_flags_after_the_id_move_in_front() {
        let p = CMD
            .parse(&args(&["id", "--bundle", "dir", "-d", "extra"]))
            .unwrap();
        assert_eq!(p.value("bundle"), Some("dir"));
        assert!(p.is_set("detach"));
        assert_eq!(p.args, vec!["id", "extra"]);
        // A switch takes nothing along; a value flag takes the next word, dashes or not.
        let p = CMD.parse(&args(&["id", "-d", "x", "-e", "-1"])).unwrap();
        assert_eq!(p.args, vec!["id", "x"]);
        assert_eq!(p.value("env"), Some("-1"));
        // Unknown flags stay where they are; `--` ends the moving.
        let p = CMD.parse(&args(&["id", "--nope"])).unwrap();
        assert_eq!(p.args, vec!["id", "--nope"]);
        let p = CMD.parse(&args(&["id", "--", "-d"])).unwrap();
        assert_eq!(p.args, vec!["id", "--", "-d"]);
        assert!(!p.is_set("detach"));
        assert!(CMD.parse(&args(&["id", "-h"])).unwrap().help);
    }

    #[test]
    fn without_reordering_flags_end_at_the_first_argument() {
        let cmd = Command {
            reorder: false,
            ..CMD
        };
        let p = cmd.parse(&args(&["-d", "id", "sh", "-e", "x"])).unwrap();
        assert!(p.is_set("detach"));
        assert_eq!(p.args, vec!["id", "sh", "-e", "x"]);
    }

    #[test]
    fn help_has_urfave_sections() {
        let h = CMD.help("runr");
        assert!(h.starts_with(
            "NAME:\n   runr t - test\n\nUSAGE:\n   runr t [command options] <container-id>\n"
        ));
        assert!(h.contains("OPTIONS:\n   --bundle value, -b value  the bundle\n"));
        assert!(h.contains("   --detach, -d              detach\n"));
    }
}
