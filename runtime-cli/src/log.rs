//! runc's log format: logrus text (`time="…" level=error msg="…"`) or JSON lines
//! (`{"level":"error","msg":"…","time":"…"}`), to `--log FILE` or stderr. An error is logged
//! once, here; with a log file the bare message also goes to stderr (what conmon shows).

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

    pub fn debug(&mut self, msg: &str) {
        if self.debug {
            self.write("debug", msg);
        }
    }

    fn write(&mut self, level: &str, msg: &str) {
        let time = runtime_core::state::format_rfc3339(now_secs(), 0);
        let line = match self.format {
            Format::Json => {
                let v = serde_json::json!({"level": level, "msg": msg, "time": time});
                format!("{v}\n")
            }
            Format::Text => format!("time=\"{time}\" level={level} msg={}\n", quote(msg)),
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
