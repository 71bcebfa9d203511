//! runc's command-line grammar, parsed by hand (Go `flag` rules): flags come before positional
//! arguments; `-name` and `--name` are the same; values as `--name value` or `--name=value`;
//! booleans as `--name` or `--name=true|false`; parsing stops at the first positional argument or
//! at `--`, so `exec ID cmd --its-own-flag` reaches the container untouched.

use std::collections::HashMap;

/// A flag a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// Every name, without dashes ("bundle", "b").
    pub names: &'static [&'static str],
    pub takes_value: bool,
}

pub const fn flag(names: &'static [&'static str]) -> Flag {
    Flag {
        names,
        takes_value: true,
    }
}

pub const fn switch(names: &'static [&'static str]) -> Flag {
    Flag {
        names,
        takes_value: false,
    }
}

/// The flags given (by their first name) and the positional arguments.
#[derive(Debug, Default)]
pub struct Parsed {
    values: HashMap<&'static str, Vec<String>>,
    pub args: Vec<String>,
}

/// A usage error: runc prints "Incorrect Usage" (or its message) and exits 1.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Parses flags from the start of `argv`; the rest are positional.
pub fn parse(argv: &[String], known: &[Flag]) -> Result<Parsed, UsageError> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            out.args.extend_from_slice(&argv[i + 1..]);
            break;
        }
        if !a.starts_with('-') || a == "-" {
            out.args.extend_from_slice(&argv[i..]);
            break;
        }
        let body = a.trim_start_matches('-');
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let f = known
            .iter()
            .find(|f| f.names.contains(&name))
            .ok_or_else(|| UsageError(format!("flag provided but not defined: -{name}")))?;
        let value = if f.takes_value {
            match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    argv.get(i)
                        .cloned()
                        .ok_or_else(|| UsageError(format!("flag needs an argument: -{name}")))?
                }
            }
        } else {
            match inline.as_deref() {
                None | Some("true") | Some("1") => "true".to_string(),
                Some("false") | Some("0") => "false".to_string(),
                Some(v) => {
                    return Err(UsageError(format!(
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
    #[cfg_attr(not(test), allow(dead_code))]
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
        flag(&["bundle", "b"]),
        switch(&["detach", "d"]),
        flag(&["env", "e"]),
    ];

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
}
