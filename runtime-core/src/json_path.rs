//! Parsing spec-shaped JSON with errors that name the bad field (`process.capabilities.bounding[3]`).
//!
//! The document is deserialized straight from the bytes (one copy of oci-spec's deserializers in
//! the binary). Only when that fails is the field found, by walking the bytes up to the
//! position serde_json reports and keeping the stack of object keys and array indices open
//! there. Tracking the path during deserialization instead (`serde_path_to_error`) wrapped every
//! deserializer of every spec type in a second, tracked copy: 230 KiB of the binary, paid on
//! every parse for the rare bad document.
//!
//! serde_json reports a type or value error just after the value it read (inside its object),
//! and a missing field just after the closing `}` of the object that lacks it, so the walk
//! names the value's field in the first case and the incomplete object's field in the second,
//! as path tracking did. One difference: an error a type's own deserializer raises after
//! serde_json has read a whole array (oci-spec's capability sets) is reported after the `]`, so
//! the walk names the array (`process.capabilities.bounding`) where path tracking named the
//! element (`…bounding[1]`). A syntax error has no meaningful field; callers say "invalid JSON".

use std::fmt;

/// A JSON parse error with the path of the field it is about (`process.capabilities.bounding[3]`;
/// `.` for the document itself).
#[derive(Debug)]
pub struct JsonError {
    path: String,
    inner: serde_json::Error,
}

impl JsonError {
    /// The field's path: keys joined by `.`, array indices as `[i]`; `.` for the document.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The underlying serde_json error (its category, line and column).
    pub fn inner(&self) -> &serde_json::Error {
        &self.inner
    }

    /// The underlying serde_json error.
    pub fn into_inner(self) -> serde_json::Error {
        self.inner
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path != "." {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.inner)
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.inner)
    }
}

/// Parses JSON bytes into `T`, naming the bad field on error.
///
/// Like runc (Go's `json.NewDecoder(f).Decode`), it reads the first JSON document and ignores
/// whatever follows it.
pub fn parse_json<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    T::deserialize(&mut de).map_err(|inner| JsonError {
        path: path_at(raw, byte_offset(raw, inner.line(), inner.column())),
        inner,
    })
}

/// The byte offset of serde_json's (1-based line, byte column) position: the bytes before it
/// are the ones the deserializer had consumed.
fn byte_offset(raw: &[u8], line: usize, column: usize) -> usize {
    let line_start = match line {
        0 | 1 => 0,
        n => raw
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(n - 2)
            .map_or(raw.len(), |(i, _)| i + 1),
    };
    (line_start + column).min(raw.len())
}

/// One open container at the position: an object (the key whose value is being read, if any)
/// or an array (the index of the element being read).
enum Frame {
    Object(Option<String>),
    Array(usize),
}

/// The path of the field open at `end`: walks `raw[..end]` keeping the open containers.
fn path_at(raw: &[u8], end: usize) -> String {
    let mut stack: Vec<Frame> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < end {
        match raw[i] {
            b'"' => {
                let (text, next) = string_at(raw, i, end);
                if expect_key {
                    if let Some(Frame::Object(key)) = stack.last_mut() {
                        *key = Some(text);
                    }
                    expect_key = false;
                }
                i = next;
                continue;
            }
            b'{' => {
                stack.push(Frame::Object(None));
                expect_key = true;
            }
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(index)) => *index += 1,
                Some(Frame::Object(key)) => {
                    *key = None;
                    expect_key = true;
                }
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    render(&stack)
}

/// The (raw, escapes kept) text of the string starting at `raw[start] == '"'`, and the index
/// just past its closing quote (or `end` when it is cut off).
fn string_at(raw: &[u8], start: usize, end: usize) -> (String, usize) {
    let mut i = start + 1;
    while i < end && raw[i] != b'"' {
        i += if raw[i] == b'\\' { 2 } else { 1 };
    }
    let text = String::from_utf8_lossy(&raw[start + 1..i.min(end)]).into_owned();
    (text, (i + 1).min(end))
}

/// `a.b[2].c`, or `.` for the document itself.
fn render(stack: &[Frame]) -> String {
    let mut out = String::new();
    for frame in stack {
        match frame {
            Frame::Object(Some(key)) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Frame::Object(None) => {}
            Frame::Array(index) => out.push_str(&format!("[{index}]")),
        }
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxResources, Process, Spec};

    /// The path serde_path_to_error (which tracks it while deserializing) gives for the same
    /// document: the walk must name the same field.
    fn tracked<T: serde::de::DeserializeOwned>(raw: &[u8]) -> String {
        let mut de = serde_json::Deserializer::from_slice(raw);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Ok(_) => "(parsed)".into(),
            Err(e) => e.path().to_string(),
        }
    }

    fn walked<T: serde::de::DeserializeOwned>(raw: &[u8]) -> String {
        match parse_json::<T>(raw) {
            Ok(_) => "(parsed)".into(),
            Err(e) => e.path().to_string(),
        }
    }

    const BAD_SPECS: &[&str] = &[
        r#"{"ociVersion": 5}"#,
        r#"{"ociVersion": "1.0.2", "process": {"cwd": 7}}"#,
        r#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "args": "sh"}}"#,
        r#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "user": {"uid": -1, "gid": 0}}}"#,
        r#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "user": {"gid": 0}}}"#,
        r#"{"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": "yes"}}"#,
        r#"{"ociVersion": "1.0.2",
            "mounts": [{"destination": "/a"}, {"destination": "/b", "options": [1]}]}"#,
        r#"{"ociVersion": "1.0.2", "mounts": [{"destination": "/a"}, {"type": "tmpfs"}]}"#,
        r#"{"ociVersion": "1.0.2", "linux": {"namespaces": [{"type": "pid"}, {"type": "nope"}]}}"#,
        r#"{"ociVersion": "1.0.2",
            "linux": {"resources": {"memory": {"limit": "lots"}}, "namespaces": []}}"#,
        r#"{"ociVersion": "1.0.2", "linux": {"resources": {"devices": [{"allow": "x"}]}}}"#,
        r#"{"ociVersion": "1.0.2", "linux": {"uidMappings": [{"containerID": 0, "size": 1}]}}"#,
        r#"{"ociVersion": "1.0.2", "hooks": {"prestart": [{"path": "/x"}, {"args": []}]}}"#,
        r#"{"ociVersion": "1.0.2", "annotations": {"a": "b", "c": 3}}"#,
        r#"{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_NOPE"}}}"#,
        r#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE",
            "hard": 1, "soft": "x"}]}}"#,
        "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {\n    \"cwd\": \"/\",\n    \"env\": [\"A=1\", 2]\n  }\n}",
        r#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "env": ["a\"b", 2]}}"#,
        r#"{"oci\"Version": 1, "ociVersion": 2}"#,
        r#"[]"#,
        r#"7"#,
    ];

    #[test]
    fn the_walk_names_the_field_path_tracking_names() {
        let mismatches: Vec<String> = BAD_SPECS
            .iter()
            .map(|raw| {
                (
                    raw,
                    walked::<Spec>(raw.as_bytes()),
                    tracked::<Spec>(raw.as_bytes()),
                )
            })
            .filter(|(_, w, t)| w != t)
            .map(|(raw, w, t)| format!("{raw}: walked {w}, tracked {t}"))
            .collect();
        assert!(mismatches.is_empty(), "{mismatches:#?}");
        for raw in [
            r#"{"args": ["sh"], "cwd": 1}"#,
            r#"{"args": "sh", "cwd": "/"}"#,
        ] {
            assert_eq!(
                walked::<Process>(raw.as_bytes()),
                tracked::<Process>(raw.as_bytes())
            );
        }
        // The one difference (module doc): the array, not its element.
        let raw = br#"{"process": {"cwd": "/", "capabilities": {"bounding": ["CAP_KILL", "X"]}}}"#;
        assert_eq!(walked::<Spec>(raw), "process.capabilities.bounding");
        assert_eq!(tracked::<Spec>(raw), "process.capabilities.bounding[1]");
        let raw = br#"{"pids": {"limit": "3"}, "cpu": {"shares": 1}}"#;
        assert_eq!(walked::<LinuxResources>(raw), "pids.limit");
        assert_eq!(tracked::<LinuxResources>(raw), "pids.limit");
    }

    #[test]
    fn paths_read_like_the_spec() {
        let e = parse_json::<Spec>(
            br#"{"ociVersion": "1.0.2", "mounts": [{"destination": "/a"}, {"type": "tmpfs"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.path(), "mounts[1]");
        assert!(
            e.to_string()
                .starts_with("mounts[1]: missing field `destination`"),
            "{e}"
        );
        let e = parse_json::<Spec>(b"7").unwrap_err();
        assert_eq!(e.path(), ".");
        assert!(
            e.to_string().starts_with("invalid type: integer `7`"),
            "{e}"
        );
    }

    #[test]
    fn a_valid_document_is_read_and_trailing_bytes_are_ignored() {
        let s: Spec = parse_json(br#"{"ociVersion": "1.0.9"} trailing"#).unwrap();
        assert_eq!(s.version(), "1.0.9");
    }
}
