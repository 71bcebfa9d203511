//! The intent record: `<root>/<id>/intent.json`, what a container is made of, written before
//! `create` makes any of it and kept for the container's whole life.
//!
//! `create` writes it right after taking the state directory and before its first side effect
//! (the cgroup), naming every cgroup directory it is about to make; it is rewritten as soon as
//! the init's pid and start time are known. A runtime killed at any instant therefore leaves a
//! record of everything it made, and `delete --force` removes exactly that (see
//! [`crate::recovery`]). It is small and fixed in shape, so it also survives what damages the
//! full `state.json` (which holds the whole spec).
//!
//! Each write goes to a temporary file renamed into place ([`crate::state::write_visible`]):
//! whoever reads it, at any instant, finds the old record or the new one, complete. The first
//! record is then made durable (file fdatasynced, directory fsynced) before the first side
//! effect it names, the cgroup, is made ([`write`]); the init's record is made durable while
//! the init sets itself up, before create reports it ready ([`write_visible`]; a pid names
//! nothing a power loss leaves alive). So the next boot after a power loss finds a complete
//! record of everything made before it. A record that still cannot be read and was written
//! before the current boot (a disk that lied about its flushes) is removed as is, since
//! nothing it names survives a reboot (see [`written_before_boot`]), and a readable one of
//! another boot names no live process (its `boot_id` differs).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state::{self, Liveness};
use crate::sys;

pub const INTENT_FILE: &str = "intent.json";
/// The record's schema; a newer one is refused (its meaning is unknown), an older one read.
/// 2: `intel_rdt` (a group delete --force must remove; a runr of schema 1 would leak it).
pub const VERSION: u32 = 2;

/// What a container is made of, as far as cleaning it up needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Intent {
    pub version: u32,
    pub id: String,
    pub oci_version: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    /// The boot the record was written in: a pid of another boot is not the container's.
    pub boot_id: String,
    pub cgroup: CgroupRecord,
    /// The init, once cloned (and again once it forked into its pid namespace).
    #[serde(default)]
    pub init: Option<InitRecord>,
    /// The cgroup already had processes when create found it (shared with another container,
    /// as runc 1.1.5 allows): recovery kills only the recorded init and removes the cgroup only
    /// once nothing uses it.
    #[serde(default)]
    pub shared_cgroup: bool,
    /// The resctrl group of `linux.intelRdt`, named before it is made.
    #[serde(default)]
    pub intel_rdt: Option<crate::intel_rdt::RdtGroup>,
}

/// The container's cgroup, by driver. The systemd driver (issue #15) adds its unit here.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "driver", rename_all = "lowercase")]
pub enum CgroupRecord {
    /// Directories under the cgroupfs mounts: every hierarchy's path and the parents it made.
    Cgroupfs { manager: cgroups::Manager },
}

impl CgroupRecord {
    pub fn manager(&self) -> &cgroups::Manager {
        match self {
            CgroupRecord::Cgroupfs { manager } => manager,
        }
    }
}

/// A process, named so that a recycled pid is never mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitRecord {
    pub pid: i32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start: u64,
}

impl InitRecord {
    /// The process `pid` as it is now (its start time read from /proc).
    pub fn of(pid: i32) -> Result<InitRecord> {
        let (_, start) = sys::proc_stat(pid)
            .map_err(Error::sys("read the start time of the container's init"))?;
        Ok(InitRecord { pid, start })
    }
}

/// What reading the record found.
#[derive(Debug)]
pub enum Read {
    Absent,
    Found(Box<Intent>),
    /// Present but unreadable or of a newer schema: nothing in it can be trusted.
    Unusable(Error),
}

impl Intent {
    /// Is the recorded init still that process (same boot, pid and start time, not a zombie)?
    pub fn init_liveness(&self) -> Liveness {
        let Some(init) = self.init else {
            return Liveness::Gone;
        };
        match sys::boot_id() {
            Ok(boot) if boot != self.boot_id => Liveness::Gone,
            Ok(_) => state::liveness(init.pid, init.start),
            Err(e) => Liveness::Unknown(e),
        }
    }

    /// Is the recorded init alive? [`Error::InitUnknown`] when that cannot be told.
    pub fn init_alive(&self) -> Result<bool> {
        match self.init_liveness() {
            Liveness::Alive => Ok(true),
            Liveness::Gone => Ok(false),
            Liveness::Unknown(e) => Err(state::unknown_init(
                &self.id,
                self.init.map_or(0, |i| i.pid),
                e,
            )),
        }
    }
}

/// Writes the record atomically and durably (see the module docs).
pub fn write(dir: &Path, intent: &Intent) -> Result<()> {
    let path = dir.join(INTENT_FILE);
    let data = serde_json::to_vec(intent).map_err(|e| Error::state(&path, e))?;
    state::write_durably(dir, INTENT_FILE, &data).map_err(Error::sys("write intent record"))
}

/// Writes the record atomically, visible to every reader when this returns; the caller makes
/// it durable with [`state::Unsynced::sync`] once it has let the work run that may overlap the
/// disk's flush.
pub(crate) fn write_visible(dir: &Path, intent: &Intent) -> Result<state::Unsynced> {
    let path = dir.join(INTENT_FILE);
    let data = serde_json::to_vec(intent).map_err(|e| Error::state(&path, e))?;
    state::write_visible(dir, INTENT_FILE, &data).map_err(Error::sys("write intent record"))
}

/// Was `path` last changed before this boot? Then nothing it could name is alive: a record
/// torn by a power loss can be removed without knowing what it said.
pub fn written_before_boot(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let boot = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<i64>().ok());
    boot.is_some_and(|b| meta.mtime() < b)
}

pub fn read(dir: &Path) -> Read {
    let path = dir.join(INTENT_FILE);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Read::Absent,
        Err(e) => return Read::Unusable(Error::state(&path, e)),
    };
    let intent: Intent = match serde_json::from_slice(&data) {
        Ok(i) => i,
        Err(e) => return Read::Unusable(Error::state(&path, e)),
    };
    if intent.version > VERSION {
        return Read::Unusable(Error::state(
            &path,
            std::io::Error::other(format!(
                "schema version {} is newer than this runr's ({VERSION}): use the runr that \
                 created the container",
                intent.version
            )),
        ));
    }
    Read::Found(Box::new(intent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(dir: &Path) -> Intent {
        Intent {
            version: VERSION,
            id: "x".into(),
            oci_version: "1.0.2".into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: crate::state::now_rfc3339(),
            boot_id: sys::boot_id().unwrap(),
            cgroup: CgroupRecord::Cgroupfs {
                manager: cgroups::Manager::with_root(
                    dir,
                    cgroups::Layout::Unified,
                    Some("/x"),
                    "x",
                )
                .unwrap(),
            },
            init: None,
            shared_cgroup: false,
            intel_rdt: None,
        }
    }

    #[test]
    fn round_trip_liveness_and_newer_schema() {
        let dir = std::env::temp_dir().join(format!("runr-intent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(read(&dir), Read::Absent));
        let mut i = intent(&dir);
        write(&dir, &i).unwrap();
        assert!(matches!(read(&dir), Read::Found(r) if r.init.is_none()));
        assert!(!i.init_alive().unwrap(), "no init recorded yet");
        i.init = Some(InitRecord::of(std::process::id() as i32).unwrap());
        assert!(i.init_alive().unwrap(), "this very process");
        i.boot_id = "another-boot".into();
        assert!(
            !i.init_alive().unwrap(),
            "a pid of another boot is not ours"
        );
        i.version = VERSION + 1;
        write(&dir, &i).unwrap();
        assert!(matches!(read(&dir), Read::Unusable(_)));
        std::fs::write(dir.join(INTENT_FILE), b"{\"version\":1,\"id\"").unwrap();
        assert!(matches!(read(&dir), Read::Unusable(_)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
