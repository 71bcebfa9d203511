//! The container's state on disk: `<root>/<id>/state.json`, written atomically (temp file +
//! rename) while holding an `flock` on `<root>/<id>`, so two commands on one id never interleave.
//!
//! The init's pid is stored with its start time (from `/proc/<pid>/stat`): a pid that was
//! recycled by another process is never mistaken for the container. Status is derived from the
//! live system each time, never trusted from the file.

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sys;

pub(crate) const STATE_FILE: &str = "state.json";
/// state.json's schema: 0 is the one before versions (read as is), a newer one is refused.
pub(crate) const VERSION: u32 = 1;
pub(crate) const EXEC_FIFO: &str = "exec.fifo";

/// The container's status, as the runtime-spec defines it (plus runc's `paused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `create` is setting it up.
    Creating,
    /// The init is set up and waits for `start`.
    Created,
    /// The container's process runs.
    Running,
    /// Its cgroup is frozen.
    Paused,
    /// Its init has exited.
    Stopped,
}

impl Status {
    /// The status as the OCI state JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What runr records about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Persisted {
    /// The schema ([`VERSION`]); absent (0) in the files of runr before it.
    #[serde(default)]
    pub version: u32,
    pub id: String,
    pub oci_version: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds, UTC.
    pub created: String,
    pub pid: i32,
    /// Start time of the init in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub pid_start: u64,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// The spec the container was created from (hooks for delete, process defaults for exec).
    pub spec: oci_spec::runtime::Spec,
    pub cgroup: cgroups::Manager,
    /// The init has its own pid namespace: killing it kills everything in the container.
    pub own_pid_ns: bool,
}

/// The OCI state of a container, in runc's JSON shape (`runr state`, `list --format json`, hooks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContainerState {
    #[serde(rename = "ociVersion")]
    /// The runtime-spec version of the container's config.
    pub oci_version: String,
    /// The container's id.
    pub id: String,
    /// The init's host pid (0 once stopped).
    pub pid: i32,
    /// The status.
    pub status: Status,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The root filesystem's host path.
    pub rootfs: PathBuf,
    /// When it was created (RFC 3339, UTC).
    pub created: String,
    #[serde(skip_serializing_if = "HashMap::is_empty", default)]
    /// The spec's annotations.
    pub annotations: HashMap<String, String>,
    /// The owner of the state directory (`list`), empty elsewhere.
    pub owner: String,
}

/// An exclusive lock on one container's directory, released on drop.
pub(crate) struct Lock {
    fd: OwnedFd,
}

impl Lock {
    /// The fd number, for a forked child to close its copy (an inherited copy would hold the
    /// lock until the child execs).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    pub fn take(dir: &Path) -> Result<Lock> {
        let fd = sys::open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())
            .map_err(Error::sys("lock container"))?;
        sys::flock_exclusive(fd.as_fd(), dir).map_err(Error::sys("lock container"))?;
        Ok(Lock { fd })
    }
}

pub(crate) fn save(dir: &Path, st: &Persisted) -> Result<()> {
    let path = dir.join(STATE_FILE);
    let tmp = dir.join(format!(".{STATE_FILE}.tmp"));
    let data = serde_json::to_vec(st).map_err(|e| Error::state(&path, e))?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::state(&tmp, e))?;
    f.write_all(&data).map_err(|e| Error::state(&tmp, e))?;
    drop(f);
    sys::rename(&tmp, &path).map_err(Error::sys("save state"))
}

pub(crate) fn load(dir: &Path) -> Result<Persisted> {
    let path = dir.join(STATE_FILE);
    let data = std::fs::read(&path).map_err(|e| Error::state(&path, e))?;
    let st: Persisted = crate::spec::parse_json(&data).map_err(|e| {
        Error::state(
            &path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    if st.version > VERSION {
        return Err(Error::state(
            &path,
            std::io::Error::other(format!(
                "schema version {} is newer than this runr's ({VERSION}): use the runr that \
                 created the container",
                st.version
            )),
        ));
    }
    Ok(st)
}

/// Is the init recorded in `st` still alive (not a zombie, and not a recycled pid)?
pub(crate) fn init_alive(st: &Persisted) -> bool {
    if st.pid <= 0 {
        return false;
    }
    match sys::proc_stat(st.pid) {
        Some((state, start)) => start == st.pid_start && state != 'Z' && state != 'X',
        None => false,
    }
}

/// The status, derived from the system: a frozen cgroup is paused; a live init with its fifo
/// still present has not been started.
pub(crate) fn status(dir: &Path, st: &Persisted) -> Status {
    if !init_alive(st) {
        return Status::Stopped;
    }
    // Paused first, as runc: a frozen container is paused even before it was started.
    if st.cgroup.is_frozen().unwrap_or(false) {
        return Status::Paused;
    }
    if dir.join(EXEC_FIFO).exists() {
        return Status::Created;
    }
    Status::Running
}

/// The uid owning `path` (runc's `owner` in `list` is its name); 0 when it cannot be read.
pub(crate) fn owner_uid(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map(|m| m.uid()).unwrap_or(0)
}

/// `uid`'s name in /etc/passwd, or the uid as a number.
pub(crate) fn user_name(uid: u32) -> String {
    crate::user::passwd_field(uid, 0).unwrap_or_else(|| uid.to_string())
}

/// Now, as RFC 3339 in UTC with nanoseconds and trailing zeros trimmed (Go's RFC3339Nano, which
/// is what runc prints).
pub(crate) fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

/// Seconds and nanoseconds since the epoch as RFC 3339 in UTC, with nanoseconds (runc's shape).
pub fn format_rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn persisted(pid: i32, pid_start: u64) -> Persisted {
        Persisted {
            version: VERSION,
            id: "x".into(),
            oci_version: "1.0.2".into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: now_rfc3339(),
            pid,
            pid_start,
            annotations: HashMap::new(),
            spec: oci_spec::runtime::Spec::default(),
            cgroup: cgroups::Manager::with_root(
                Path::new("/nonexistent"),
                cgroups::Layout::Unified,
                Some("/x"),
                "x",
            )
            .unwrap(),
            own_pid_ns: true,
        }
    }

    #[test]
    fn a_recycled_pid_is_not_the_container() {
        let me = std::process::id() as i32;
        let (_, start) = crate::sys::proc_stat(me).unwrap();
        assert!(
            init_alive(&persisted(me, start)),
            "same pid and start time: alive"
        );
        assert!(
            !init_alive(&persisted(me, start + 1)),
            "same pid, other start time: a different process"
        );
        assert!(!init_alive(&persisted(0, 0)));
    }

    #[test]
    fn rfc3339_matches_go() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(1_700_000_000, 120_000_000),
            "2023-11-14T22:13:20.12Z"
        );
        assert_eq!(
            format_rfc3339(951_782_400, 1),
            "2000-02-29T00:00:00.000000001Z"
        );
    }
}
