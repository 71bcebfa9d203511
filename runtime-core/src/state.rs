//! The container's state on disk: `<root>/<id>/state.json`, written atomically (`write_atomically`:
//! temp file, rename) while holding an `flock` on `<root>/<id>`, so two commands on one id never
//! interleave. It is not fsynced: the durable record is the intent record (`intent.json`, written
//! with `write_durably`), and a directory whose state.json was lost is a half-made container that
//! `delete --force` removes by that record.
//!
//! The init's pid is stored with its start time (from `/proc/<pid>/stat`): a pid that was
//! recycled by another process is never mistaken for the container. Status is derived from the
//! live system each time, never trusted from the file; an init whose `/proc/<pid>/stat` cannot
//! be read (`Liveness::Unknown`) has no status, only an error saying so.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sys;

pub(crate) const STATE_FILE: &str = "state.json";
/// state.json's schema, a newer one is refused. 0 is the one before versions; 0 and 1 stored a
/// `pids.limit` of 0 meaning "unset" (runtime-spec < 1.3), from 2 on it is a real limit
/// (pids.max 1): [`load`] reads an older file's 0 as no limit ([`upgrade`]).
pub(crate) const VERSION: u32 = 2;
/// The first schema in which a stored `pids.limit` of 0 is a limit.
const PIDS_ZERO_IS_A_LIMIT: u32 = 2;
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
    /// The resctrl group of `linux.intelRdt` (removed by delete as far as it is the container's).
    #[serde(default)]
    pub intel_rdt: Option<crate::intel_rdt::RdtGroup>,
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
    let data = serde_json::to_vec(st).map_err(|e| Error::state(&path, e))?;
    write_atomically(dir, STATE_FILE, &data).map_err(Error::sys("save state"))
}

/// Writes `dir/name` so that any reader finds either the old file or the new one, whole: the data
/// goes to a temporary file renamed over `name`. Not fsynced (see the module docs).
pub(crate) fn write_atomically(dir: &Path, name: &str, data: &[u8]) -> sys::SysResult<()> {
    let (tmp, f) = write_temp(dir, name, data)?;
    drop(f);
    sys::rename(&tmp, &dir.join(name))
}

/// Writes `dir/name` so that any reader finds either the old file or the new one, whole, and
/// the new one is on disk when this returns: [`write_visible`], then [`Unsynced::sync`]. A
/// power loss *during* the call (after the rename, before the sync) can leave an empty or torn
/// record on some filesystems (the rename may be committed before the data); recovery removes
/// such a record, since it was written before the current boot and nothing it names survives one.
pub(crate) fn write_durably(dir: &Path, name: &str, data: &[u8]) -> sys::SysResult<()> {
    write_visible(dir, name, data)?.sync()
}

/// Writes `dir/name` atomically for every reader (a temporary file renamed over `name`, as
/// [`write_atomically`]) and keeps what [`Unsynced::sync`] needs to make it durable. A runtime
/// killed in between leaves the new file to every later reader (the page cache outlives the
/// process); only a power loss can lose it.
pub(crate) fn write_visible(dir: &Path, name: &str, data: &[u8]) -> sys::SysResult<Unsynced> {
    let (tmp, file) = write_temp(dir, name, data)?;
    // Renamed before it is synced, so that the sync below finds the rename in the same ext4
    // journal transaction as the data: one commit for both (the directory's fsync then has
    // nothing left to commit) instead of one for the file and one for the directory.
    let path = dir.join(name);
    sys::rename(&tmp, &path)?;
    Ok(Unsynced {
        file,
        path,
        dir: dir.to_path_buf(),
    })
}

/// A file renamed into place whose data and directory entry may not be on disk yet.
#[must_use = "the file is durable only once synced"]
pub(crate) struct Unsynced {
    file: OwnedFd,
    path: PathBuf,
    dir: PathBuf,
}

impl Unsynced {
    /// The file's data and its directory entry on disk: after a power loss the next boot finds
    /// this file, whole, under its name. fdatasync is enough for the file (its data and size;
    /// its times are not needed to read it back); the directory is fsynced for the entry.
    pub(crate) fn sync(self) -> sys::SysResult<()> {
        sys::fdatasync(self.file.as_fd(), &self.path)?;
        drop(self.file);
        let d = sys::open(
            &self.dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY,
            Mode::empty(),
        )?;
        sys::fsync(d.as_fd(), &self.dir)
    }
}

/// `data` written to `dir/.name.tmp` (created or truncated, mode 0600): its path and open fd.
fn write_temp(dir: &Path, name: &str, data: &[u8]) -> sys::SysResult<(PathBuf, OwnedFd)> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let f = sys::open(
        &tmp,
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC,
        Mode::from_bits_truncate(0o600),
    )?;
    sys::write_all(f.as_fd(), data, Some(&tmp))?;
    Ok((tmp, f))
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
    Ok(upgrade(st))
}

/// An older schema's state in this schema's meaning: a `pids.limit` of 0 stored before 0 was a
/// limit meant "unset" (the cgroup's pids.max was left alone), so it is dropped; re-applying
/// it (an `update` rolling back) would set pids.max 1. Saved again, the file is this version.
fn upgrade(mut st: Persisted) -> Persisted {
    if st.version < PIDS_ZERO_IS_A_LIMIT {
        drop_unset_pids(&mut st.spec);
    }
    st.version = VERSION;
    st
}

/// Removes `linux.resources.pids` when its limit is 0 (runtime-spec < 1.3's "unset").
fn drop_unset_pids(spec: &mut oci_spec::runtime::Spec) {
    let Some(mut linux) = spec.linux().clone() else {
        return;
    };
    let Some(mut res) = linux.resources().clone() else {
        return;
    };
    if res.pids().is_some_and(|p| p.limit() == 0) {
        res.set_pids(None);
        linux.set_resources(Some(res));
        spec.set_linux(Some(linux));
    }
}

/// Whether a recorded process is still that process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// Same pid and start time, not a zombie.
    Alive,
    /// Exited, reaped, a zombie, or the pid now belongs to another process.
    Gone,
    /// Its `/proc/<pid>/stat` cannot be read (a `hidepid` /proc and no `CAP_SYS_PTRACE` over
    /// it): it may be alive, so it is never taken for stopped.
    Unknown(sys::SysError),
}

/// The liveness of the process `pid` that started at `start` (clock ticks since boot).
pub(crate) fn liveness(pid: i32, start: u64) -> Liveness {
    if pid <= 0 {
        return Liveness::Gone;
    }
    match sys::proc_stat(pid) {
        Ok(stat) => same_process(stat, start),
        Err(e) if e.errno == nix::errno::Errno::ENOENT => hidden_or_gone(pid, start, e),
        Err(e) => Liveness::Unknown(e),
    }
}

fn same_process((state, started): (char, u64), start: u64) -> Liveness {
    if started == start && state != 'Z' && state != 'X' {
        Liveness::Alive
    } else {
        Liveness::Gone
    }
}

/// No `/proc/<pid>`: gone, unless /proc hides it (`hidepid=invisible`). `pidfd_open` does not
/// go through /proc: it fails with `ESRCH` only when there is no such process.
fn hidden_or_gone(pid: i32, start: u64, stat_error: sys::SysError) -> Liveness {
    match sys::pidfd_open(pid) {
        Err(e) if e.errno == nix::errno::Errno::ESRCH => Liveness::Gone,
        Err(_) => Liveness::Unknown(stat_error),
        // A process has the pid: read again (it may have just been started, visible).
        Ok(_pidfd) => match sys::proc_stat(pid) {
            Ok(stat) => same_process(stat, start),
            Err(_) => Liveness::Unknown(stat_error),
        },
    }
}

/// The liveness of the init recorded in `st`.
pub(crate) fn init_liveness(st: &Persisted) -> Liveness {
    liveness(st.pid, st.pid_start)
}

/// Is the init recorded in `st` still alive? An init whose liveness cannot be told is the typed
/// [`Error::InitUnknown`]: never taken for stopped, never signalled.
pub(crate) fn init_alive(st: &Persisted) -> Result<bool> {
    match init_liveness(st) {
        Liveness::Alive => Ok(true),
        Liveness::Gone => Ok(false),
        Liveness::Unknown(error) => Err(unknown_init(&st.id, st.pid, error)),
    }
}

/// The error for an init whose `/proc/<pid>/stat` cannot be read.
pub(crate) fn unknown_init(id: &str, pid: i32, error: sys::SysError) -> Error {
    Error::InitUnknown {
        id: id.to_string(),
        pid,
        error,
    }
}

/// The status, derived from the system: a frozen cgroup is paused; a live init with its fifo
/// still present has not been started.
pub(crate) fn status(dir: &Path, st: &Persisted) -> Result<Status> {
    if !init_alive(st)? {
        return Ok(Status::Stopped);
    }
    // Paused first, as runc: a frozen container is paused even before it was started.
    if st.cgroup.is_frozen().unwrap_or(false) {
        return Ok(Status::Paused);
    }
    if dir.join(EXEC_FIFO).exists() {
        return Ok(Status::Created);
    }
    Ok(Status::Running)
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
            intel_rdt: None,
        }
    }

    #[test]
    fn a_recycled_pid_is_not_the_container() {
        let me = std::process::id() as i32;
        let (_, start) = crate::sys::proc_stat(me).unwrap();
        assert!(
            init_alive(&persisted(me, start)).unwrap(),
            "same pid and start time: alive"
        );
        assert!(
            !init_alive(&persisted(me, start + 1)).unwrap(),
            "same pid, other start time: a different process"
        );
        assert!(!init_alive(&persisted(0, 0)).unwrap());
    }

    #[test]
    fn an_exited_process_is_gone_not_unknown() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let (_, start) = crate::sys::proc_stat(pid).unwrap();
        child.wait().unwrap();
        // Reaped: no /proc entry, and pidfd_open says ESRCH (not a hidden process).
        assert_eq!(liveness(pid, start), Liveness::Gone);
    }

    /// A state.json as runr wrote it before schema 2 (here: version 1), with `pids.limit` 0.
    fn old_state_with_pids_zero(version: u32, dir: &Path) {
        let mut v = serde_json::to_value(persisted(1, 1)).unwrap();
        v["version"] = version.into();
        v["spec"]["linux"] =
            serde_json::json!({"resources": {"pids": {"limit": 0}, "memory": {"limit": 1048576}}});
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(STATE_FILE), serde_json::to_vec(&v).unwrap()).unwrap();
    }

    fn stored_pids(st: &Persisted) -> Option<i64> {
        let res = st.spec.linux().as_ref()?.resources().clone()?;
        res.pids().map(|p| p.limit())
    }

    #[test]
    fn an_old_schema_pids_limit_of_zero_is_read_as_unset() {
        let dir = std::env::temp_dir().join(format!("runr-state-old-{}", std::process::id()));
        for old in [0, 1] {
            old_state_with_pids_zero(old, &dir);
            let st = load(&dir).unwrap();
            assert_eq!(stored_pids(&st), None, "schema {old}: 0 meant unset");
            assert_eq!(st.version, VERSION, "saved again, it is this schema");
            let mem = st
                .spec
                .linux()
                .as_ref()
                .unwrap()
                .resources()
                .clone()
                .unwrap();
            assert_eq!(
                mem.memory().unwrap().limit(),
                Some(1048576),
                "the rest is kept"
            );
        }
        // This schema's 0 is a limit (pids.max 1) and stays.
        old_state_with_pids_zero(VERSION, &dir);
        assert_eq!(stored_pids(&load(&dir).unwrap()), Some(0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn durable_write_replaces_the_file_whole() {
        let dir = std::env::temp_dir().join(format!("runr-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_durably(&dir, "f.json", b"old").unwrap();
        write_durably(&dir, "f.json", b"new").unwrap();
        assert_eq!(std::fs::read(dir.join("f.json")).unwrap(), b"new");
        assert!(
            !dir.join(".f.json.tmp").exists(),
            "the temporary file was renamed"
        );
        let _ = std::fs::remove_dir_all(&dir);
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
