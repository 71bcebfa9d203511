//! runc's log format: logrus text (`time="…" level=error msg="…" pid=42`) or JSON lines
//! (`{"level":"error","msg":"…","pid":"42","time":"…"}`), to `--log FILE` or stderr. An error
//! is logged once, here; with a log file the bare message also goes to stderr (what conmon
//! shows). With `--debug`, the library's steps (`runtime_core::trace`) are logged too, as
//! `level=debug` lines, through a [`Logger::debug_copy`] (`timings.rs` installs it).

use std::fs::{File, OpenOptions};
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

pub struct Logger {
    file: Option<File>,
    format: Format,
    debug: bool,
}

impl Logger {
    pub fn new(path: Option<&str>, format: Format, debug: bool) -> std::io::Result<Logger> {
        let file = match path {
            Some(p) if !p.is_empty() => Some(OpenOptions::new().create(true).append(true).open(p)?),
            _ => None,
        };
        Ok(Logger {
            file,
            format,
            debug,
        })
    }

    pub fn stderr_only() -> Logger {
        Logger {
            file: None,
            format: Format::Text,
            debug: false,
        }
    }

    pub fn error(&mut self, msg: &str) {
        self.write("error", msg);
        if self.file.is_some() {
            eprintln!("{msg}");
        }
    }

    pub fn warn(&mut self, msg: &str) {
        self.write("warning", msg);
    }

    /// A `level=debug` line with its details, when `--debug` is on.
    pub fn debug(&mut self, msg: &str, fields: &[(&str, String)]) {
        if self.debug {
            self.write_fields("debug", msg, fields);
        }
    }

    /// With `--debug`, a handle of its own on this log, for the library's progress events
    /// (which can come from anywhere in the library).
    pub fn debug_copy(&self) -> Option<Logger> {
        if !self.debug {
            return None;
        }
        Some(Logger {
            file: self.file.as_ref().and_then(|f| f.try_clone().ok()),
            format: self.format,
            debug: true,
        })
    }

    fn write(&mut self, level: &str, msg: &str) {
        self.write_fields(level, msg, &[]);
    }

    fn write_fields(&mut self, level: &str, msg: &str, fields: &[(&str, String)]) {
        let time = runtime_core::state::format_rfc3339(now_secs(), 0);
        let line = match self.format {
            Format::Json => {
                let mut v = serde_json::json!({"level": level, "msg": msg, "time": time});
                for (k, val) in fields {
                    v[*k] = val.as_str().into();
                }
                format!("{v}\n")
            }
            Format::Text => {
                let mut line = format!("time=\"{time}\" level={level} msg={}", quote(msg));
                // logrus sorts the fields after msg.
                let mut sorted: Vec<&(&str, String)> = fields.iter().collect();
                sorted.sort_by_key(|(k, _)| *k);
                for (k, val) in sorted {
                    line.push_str(&format!(" {k}={}", text_value(val)));
                }
                line.push('\n');
                line
            }
        };
        let _ = match &mut self.file {
            Some(f) => f.write_all(line.as_bytes()),
            None => std::io::stderr().write_all(line.as_bytes()),
        };
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A field's value in logrus text: bare when it is only letters, digits and `-._/@^+`, else
/// quoted.
fn text_value(v: &str) -> String {
    let plain = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if plain {
        v.to_string()
    } else {
        quote(v)
    }
}

/// logrus quotes a value like Go's %q.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::text_value;

    #[test]
    fn field_values_are_quoted_only_when_needed() {
        assert_eq!(text_value("12345"), "12345");
        assert_eq!(text_value("/run/runr"), "/run/runr");
        assert_eq!(text_value("a b"), "\"a b\"");
        assert_eq!(text_value("[\"x\"]"), "\"[\\\"x\\\"]\"");
    }
}
