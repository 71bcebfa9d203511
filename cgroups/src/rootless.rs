//! runc's rootless rule for the cgroupfs driver.
//!
//! An unprivileged runtime usually may not create cgroups (on a v1 or hybrid host none of the
//! hierarchies is delegated to users; on v2 only a subtree such as `user@UID.service` may be).
//! runc's rule, followed here: when the config names no cgroupsPath, a hierarchy whose directory
//! cannot be created for lack of permission (EPERM, EACCES, EROFS) is skipped, and the container
//! simply runs without it; a limit that needs a skipped hierarchy is an error naming the field
//! (never ignored). With an explicit cgroupsPath every failure is an error, as for root. Device
//! rules are best effort in rootless mode (runc ignores the devices controller's errors there:
//! an unprivileged user can neither write v1 `devices.*` files nor load a v2 device filter).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::{fs, Hierarchy, Layout, Manager};

/// A hierarchy the rule skipped: its controllers, the directory that could not be made, why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Skipped {
    /// v1: the hierarchy's controllers; v2: the controllers of the root (empty on hybrid).
    controllers: Vec<String>,
    /// Whether this was the v2 (or hybrid unified) directory.
    v2: bool,
    dir: PathBuf,
    reason: String,
}

/// runc's `isIgnorableError` for rootless: the kernel said "not yours".
fn denied(e: &Error) -> Option<String> {
    match e {
        Error::Io { errno, .. }
            if matches!(
                errno.0.raw_os_error(),
                Some(libc::EPERM | libc::EACCES | libc::EROFS)
            ) =>
        {
            Some(e.to_string())
        }
        _ => None,
    }
}

impl Manager {
    /// [`Manager::create`] for an unprivileged runtime. With `skip_denied` (the config has no
    /// cgroupsPath) a hierarchy it may not create is dropped from the manager, so nothing later
    /// (joining, stats, destroy) looks for it; see the module docs.
    pub fn create_rootless(&mut self, skip_denied: bool) -> Result<()> {
        self.rootless = true;
        // The systemd driver: systemd makes the unit's cgroup, nothing is runr's to skip.
        if !skip_denied || self.systemd.is_some() {
            return self.create().map(drop);
        }
        self.check_reusable()?;
        for h in std::mem::take(&mut self.v1) {
            match self.create_v1(&h) {
                Ok(()) => self.v1.push(h),
                Err(e) => self.skip(h, false, e)?,
            }
        }
        if let Some(h) = self.v2.take() {
            match self.create_v2(&h) {
                Ok(()) => self.v2 = Some(h),
                Err(e) => self.skip(h, true, e)?,
            }
        }
        Ok(())
    }

    /// Drops `h` if `e` is a permission error (else returns it), with any parent directory the
    /// attempt made, so no empty directory is left for destroy to miss.
    fn skip(&mut self, h: Hierarchy, v2: bool, e: Error) -> Result<()> {
        let reason = denied(&e).ok_or(e)?;
        let (mine, rest): (Vec<PathBuf>, Vec<PathBuf>) = std::mem::take(&mut self.created)
            .into_iter()
            .partition(|p| p.starts_with(&h.mount));
        self.created = rest;
        for dir in mine.iter().rev() {
            fs::remove_unused_parent(dir)?;
        }
        self.skipped.push(Skipped {
            controllers: h.controllers,
            v2,
            dir: h.dir,
            reason,
        });
        Ok(())
    }

    /// Whether this manager follows the rootless rule (device rules are best effort).
    pub fn is_rootless(&self) -> bool {
        self.rootless
    }

    /// Whether any hierarchy holds the container's processes (false when the rootless rule
    /// skipped them all: the container then has no cgroup of its own to list or signal).
    pub fn has_cgroup(&self) -> bool {
        self.procs_dir().is_some()
    }

    /// The error for a limit of `ctrl` (v1 name) required by `required_by`, when the rootless
    /// rule skipped the hierarchy that would hold it.
    pub(crate) fn denied_error(&self, ctrl: &str, required_by: &str) -> Option<Error> {
        let v2_name = if ctrl == "blkio" { "io" } else { ctrl };
        let s = self.skipped.iter().find(|s| {
            s.controllers.iter().any(|c| c == ctrl)
                || (s.v2 && self.layout == Layout::Unified)
                || (s.v2 && s.controllers.iter().any(|c| c == v2_name))
        })?;
        Some(Error::RootlessDenied {
            controller: ctrl.to_string(),
            required_by: required_by.to_string(),
            path: s.dir.clone(),
            reason: s.reason.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Op;

    /// A v1 tree in a temp dir (see `Manager::with_root`) with memory, devices, freezer and
    /// pids hierarchies.
    fn tree() -> (PathBuf, Manager) {
        let root = std::env::temp_dir().join(format!(
            "runr-cgroups-rootless-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        for h in ["memory", "devices", "freezer", "pids"] {
            std::fs::create_dir_all(root.join(h)).unwrap();
        }
        let m = Manager::with_root(&root, Layout::Legacy, None, "ctr").unwrap();
        (root, m)
    }

    fn eacces(path: &std::path::Path) -> Error {
        Error::io(
            Op::Mkdir,
            path,
            std::io::Error::from_raw_os_error(libc::EACCES),
        )
    }

    /// Skips every hierarchy but `keep`, as a permission error on create would.
    fn skip_all_but(m: &mut Manager, keep: &str) {
        for h in std::mem::take(&mut m.v1) {
            if h.controllers.iter().any(|c| c == keep) {
                m.v1.push(h);
            } else {
                let e = eacces(&h.dir);
                m.skip(h, false, e).unwrap();
            }
        }
        m.rootless = true;
    }

    fn resources(json: &str) -> crate::LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_limit_on_a_skipped_hierarchy_names_the_field() {
        let (root, mut m) = tree();
        skip_all_but(&mut m, "pids");
        let e = m
            .apply(&resources(r#"{"memory": {"limit": 1048576}}"#))
            .unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::RootlessDenied { .. }), "{text}");
        assert!(
            text.starts_with("linux.resources.memory.limit: cannot set memory limit"),
            "{text}"
        );
        assert!(text.contains("EACCES"), "{text}");
        // What the kept hierarchy holds still works; device rules are best effort.
        m.create().unwrap();
        // The kernel's part: a new pids cgroup has its pids.max.
        std::fs::write(root.join("pids/ctr/pids.max"), "max\n").unwrap();
        m.apply(&resources(
            r#"{"pids": {"limit": 10}, "devices": [{"allow": false, "access": "rwm"}]}"#,
        ))
        .unwrap();
        let pids_max = std::fs::read_to_string(root.join("pids/ctr/pids.max")).unwrap();
        assert_eq!(pids_max.trim(), "10");
        assert!(m.has_cgroup());
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn with_every_hierarchy_skipped_there_is_no_cgroup() {
        let (root, mut m) = tree();
        skip_all_but(&mut m, "none");
        assert!(!m.has_cgroup() && m.is_rootless());
        assert!(m.pids().unwrap().is_empty());
        let e = m.freeze().unwrap_err();
        assert!(matches!(e, Error::RootlessDenied { .. }), "{e}");
        // Nothing to remove, nothing remembered to remove.
        assert!(m.created.is_empty());
        m.destroy().unwrap();
        // The state survives a round trip (state.json keeps the manager).
        let back: Manager = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn only_permission_errors_are_skipped() {
        let (root, mut m) = tree();
        let h = m.v1.remove(0);
        let e = Error::io(
            Op::Mkdir,
            &h.dir,
            std::io::Error::from_raw_os_error(libc::ENOTDIR),
        );
        assert!(matches!(m.skip(h, false, e), Err(Error::Io { .. })));
        let _ = std::fs::remove_dir_all(root);
    }
}
