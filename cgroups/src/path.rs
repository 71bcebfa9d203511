//! linux.cgroupsPath → cgroup directories, exactly as runc 1.1.5 resolves them for the cgroupfs
//! driver:
//!
//! - The path is cleaned lexically like runc's `utils.CleanPath`: `..` can never climb above the
//!   hierarchy root (a relative `../../x` becomes `x`).
//! - No cgroupsPath: runc uses the container id as a *relative* path (`Name = id`), so the
//!   container lands under the caller's own cgroup, e.g. `/sys/fs/cgroup/memory/<own>/<id>`.
//! - Absolute path: `<mountpoint><path>` in every hierarchy.
//! - Relative path on v1 (and the hybrid unified twin): `<mountpoint>/<own cgroup>/<path>`, per
//!   controller, own cgroup taken from /proc/self/cgroup (minus the mount's root, for nested
//!   containers).
//! - Relative path on a pure v2 host: relative to the *parent* of the caller's cgroup (runc's
//!   fs2 does this because the caller's own cgroup holds processes, so controllers cannot be
//!   enabled below it).
//!
//! A path that cleans to the hierarchy root ("/", ".") is refused: the root cgroup cannot be
//! configured, and destroy would try to remove it.

use std::path::{Path, PathBuf};

use crate::detect::Mount;
use crate::error::{Error, Result};

/// runc's `utils.CleanPath`: lexical clean; relative paths stay relative but cannot escape.
pub(crate) fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return String::new();
    }
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    if abs {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// The cleaned inner path the container's cgroup lives at (absolute or relative).
pub(crate) fn inner_path(cgroups_path: Option<&str>, container_id: &str) -> Result<String> {
    let (given, raw) = match cgroups_path.filter(|p| !p.is_empty()) {
        Some(p) => (true, p),
        None => (false, container_id),
    };
    let invalid = |reason: &str| Error::InvalidPath {
        path: raw.to_string(),
        reason: if given {
            reason.to_string()
        } else {
            format!("{reason} (no linux.cgroupsPath, so the container id is used)")
        },
    };
    if raw.contains('\0') {
        return Err(invalid("contains a NUL byte"));
    }
    let inner = clean_path(raw);
    if inner.is_empty() || inner == "/" || inner == "." {
        return Err(invalid("resolves to the root cgroup"));
    }
    Ok(inner)
}

/// The directory for `inner` in hierarchy `mount`, given the caller's own path in it.
/// `parent_of_own` selects runc's pure-v2 rule (relative to the parent of the own cgroup).
pub(crate) fn resolve(
    mount: &Mount,
    own: Option<&str>,
    inner: &str,
    parent_of_own: bool,
) -> PathBuf {
    let rel = inner.trim_start_matches('/');
    if inner.starts_with('/') {
        return mount.mountpoint.join(rel);
    }
    let own = own.unwrap_or("/");
    // Strip the mount root (nested containers see host paths in /proc/self/cgroup).
    let mut own_rel = Path::new(own)
        .strip_prefix(&mount.root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| PathBuf::from(own.trim_start_matches('/')));
    if parent_of_own {
        own_rel = own_rel.parent().map(Path::to_path_buf).unwrap_or_default();
    }
    mount.mountpoint.join(own_rel).join(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_like_runc() {
        assert_eq!(clean_path("/a/b/../c/"), "/a/c");
        assert_eq!(clean_path("/../../x"), "/x");
        assert_eq!(clean_path("../../x/y"), "x/y");
        assert_eq!(clean_path("a//b/./c"), "a/b/c");
        assert_eq!(clean_path(".."), ".");
        assert_eq!(clean_path("/"), "/");
    }

    #[test]
    fn inner_defaults_and_errors() {
        assert_eq!(inner_path(None, "ctr").unwrap(), "ctr");
        assert_eq!(inner_path(Some(""), "ctr").unwrap(), "ctr");
        assert_eq!(inner_path(Some("/runr/x"), "ctr").unwrap(), "/runr/x");
        assert!(matches!(
            inner_path(Some("/"), "c"),
            Err(Error::InvalidPath { .. })
        ));
        assert!(matches!(
            inner_path(Some("/a/.."), "c"),
            Err(Error::InvalidPath { .. })
        ));
        assert!(matches!(
            inner_path(Some("a\0b"), "c"),
            Err(Error::InvalidPath { .. })
        ));
        assert!(matches!(
            inner_path(None, ".."),
            Err(Error::InvalidPath { .. })
        ));
    }

    #[test]
    fn resolve_paths() {
        let m = Mount {
            controllers: vec!["memory".into()],
            mountpoint: "/sys/fs/cgroup/memory".into(),
            root: "/".into(),
        };
        assert_eq!(
            resolve(&m, Some("/own/x"), "/abs/c", false),
            PathBuf::from("/sys/fs/cgroup/memory/abs/c")
        );
        assert_eq!(
            resolve(&m, Some("/own/x"), "c", false),
            PathBuf::from("/sys/fs/cgroup/memory/own/x/c")
        );
        assert_eq!(
            resolve(&m, Some("/own/x"), "c", true),
            PathBuf::from("/sys/fs/cgroup/memory/own/c")
        );
        assert_eq!(
            resolve(&m, Some("/"), "c", true),
            PathBuf::from("/sys/fs/cgroup/memory/c")
        );
        let nested = Mount {
            root: "/own".into(),
            ..m
        };
        assert_eq!(
            resolve(&nested, Some("/own/x"), "c", false),
            PathBuf::from("/sys/fs/cgroup/memory/x/c")
        );
    }
}
