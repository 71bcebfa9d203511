//! What `list`, `state` and `delete` find under a container's name, including what a killed
//! runtime left: a container whose `create` never finished (status `creating`), or one whose
//! `state.json` is damaged. `delete --force` removes such remains by the intent record
//! (`intent.json`): the init (by pidfd, checked against its boot and start time), every
//! cgroup directory, the fifo and the state directory. Without a usable record it removes
//! nothing that could belong to a live process, and says how to recover by hand.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::container::{validate_id, Container};
use crate::error::{Error, Result};
use crate::fault;
use crate::intent::{self, Intent, INTENT_FILE};
use crate::outcome::Outcome;
use crate::spec::absolute;
use crate::state::{self, ContainerState, Lock, Status, STATE_FILE};
use crate::sys;

/// A container name in the state root.
pub enum Found {
    /// A container with a readable state.json.
    Complete(Box<Container>),
    /// A create that has not finished (or never will), or a damaged state.json.
    Incomplete(Remains),
}

/// What there is of a container without a usable state.json.
pub struct Remains {
    dir: PathBuf,
    id: String,
    /// Why state.json cannot be used; `None`: there is none yet (status `creating`).
    damage: Option<String>,
    intent: intent::Read,
}

/// Looks up the container `id` under `root` (`NotFound` when there is no such directory).
pub fn find(root: &Path, id: &str) -> Result<Found> {
    validate_id(id)?;
    let dir = absolute(root).join(id);
    if !dir.is_dir() {
        return Err(Error::NotFound(id.to_string()));
    }
    let damage = if dir.join(STATE_FILE).exists() {
        match Container::load(root, id) {
            Ok(c) => return Ok(Found::Complete(Box::new(c))),
            Err(Error::NotFound(_)) => None,
            Err(e) => Some(e.to_string()),
        }
    } else {
        None
    };
    Ok(Found::Incomplete(Remains {
        intent: intent::read(&dir),
        dir,
        id: id.to_string(),
        damage,
    }))
}

/// `delete [--force]` of whatever is under the name `id`; the poststop hooks' failures come
/// back as warnings (remains have no hooks to run: their spec was never recorded).
pub fn delete(root: &Path, id: &str, force: bool) -> Result<Outcome> {
    match find(root, id)? {
        Found::Complete(c) => c.delete(force),
        Found::Incomplete(r) if force => r.remove(root),
        Found::Incomplete(r) => Err(r.refusal()),
    }
}

impl Remains {
    /// The OCI state of a half-made container: `creating`, with the init's pid while it lives.
    pub fn state(&self) -> Result<ContainerState> {
        if let Some(d) = &self.damage {
            return Err(Error::state(
                self.dir.join(STATE_FILE),
                std::io::Error::other(d.clone()),
            ));
        }
        let mut st = ContainerState {
            oci_version: String::new(),
            id: self.id.clone(),
            pid: 0,
            status: Status::Creating,
            bundle: PathBuf::new(),
            rootfs: PathBuf::new(),
            created: String::new(),
            annotations: Default::default(),
            owner: String::new(),
        };
        if let intent::Read::Found(i) = &self.intent {
            st.oci_version = i.oci_version.clone();
            st.bundle = i.bundle.clone();
            st.rootfs = i.rootfs.clone();
            st.created = i.created.clone();
            st.pid = match i.init {
                Some(init) if i.init_alive()? => init.pid,
                _ => 0,
            };
        }
        Ok(st)
    }

    /// Why `delete` without `--force` leaves this alone.
    fn refusal(&self) -> Error {
        let message = match &self.damage {
            Some(d) => format!(
                "cannot delete container {}: its state is unreadable ({d}): use delete --force",
                self.id
            ),
            None => format!(
                "cannot delete container {} that is not stopped: creating (use delete --force \
                 to remove what its create made)",
                self.id
            ),
        };
        Error::WrongStatus {
            id: self.id.clone(),
            status: Status::Creating,
            message,
        }
    }

    /// `delete --force`: under the lock, removes exactly what the intent record names.
    fn remove(self, root: &Path) -> Result<Outcome> {
        let lock = match Lock::take(&self.dir) {
            Err(_) if !self.dir.exists() => return Ok(Outcome::default()),
            other => other?,
        };
        // Looked at again under the lock: a create may have finished meanwhile (then it is a
        // container like any other), or another delete may have done the job.
        let again = match find(root, &self.id) {
            Err(Error::NotFound(_)) => return Ok(Outcome::default()),
            other => other?,
        };
        match again {
            Found::Complete(c) => {
                drop(lock);
                c.delete(true)
            }
            Found::Incomplete(r) => r.tear_down().map(|()| Outcome::default()),
        }
    }

    fn tear_down(&self) -> Result<()> {
        match &self.intent {
            intent::Read::Found(i) => {
                remove_recorded(i)?;
                remove_state_dir(&self.dir).map_err(|e| Error::state(&self.dir, e))
            }
            // The record comes before every side effect: without one, nothing was made.
            intent::Read::Absent if self.damage.is_none() => {
                remove_state_dir(&self.dir).map_err(|e| Error::state(&self.dir, e))
            }
            // Torn by a power loss (written before this boot): nothing it names is alive.
            _ if self.written_in_an_earlier_boot() => {
                remove_state_dir(&self.dir).map_err(|e| Error::state(&self.dir, e))
            }
            intent::Read::Absent => Err(self.unrecoverable("there is no intent record")),
            intent::Read::Unusable(e) => Err(self.unrecoverable(&e.to_string())),
        }
    }

    fn written_in_an_earlier_boot(&self) -> bool {
        let record = self.dir.join(INTENT_FILE);
        let newest = if record.exists() {
            record
        } else {
            self.dir.join(STATE_FILE)
        };
        intent::written_before_boot(&newest) && intent::written_before_boot(&self.dir)
    }

    /// Never delete the only record of what may be a live process: say how to recover instead.
    fn unrecoverable(&self, intent_problem: &str) -> Error {
        let damage = self.damage.as_deref().unwrap_or("no state.json");
        Error::WrongStatus {
            id: self.id.clone(),
            status: Status::Creating,
            message: format!(
                "cannot delete container {}: {damage}, and {intent_problem}: nothing tells which \
                 processes and cgroups are the container's, so nothing was removed; kill its \
                 processes and remove its cgroup directories (see /proc/<pid>/cgroup), then \
                 remove {}",
                self.id,
                self.dir.display()
            ),
        }
    }
}

/// Kills the recorded init (only if it is still that process) and everything in the recorded
/// cgroup, then removes every cgroup directory the record names.
fn remove_recorded(i: &Intent) -> Result<()> {
    // A pidfd first, then the check: from then on the fd can only be the container's init.
    // An init that cannot be told alive or gone stops the delete: it may be alive.
    let pidfd = match i.init.map(|r| sys::pidfd_open(r.pid)) {
        Some(Ok(fd)) if i.init_alive()? => Some(fd),
        _ => None,
    };
    if let Some(fd) = &pidfd {
        let _ = sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
    }
    fault::point("delete: init killed");
    let cgroup = i.cgroup.manager();
    // A frozen process cannot die: thaw (a pause killed half-way may have left it frozen).
    let _ = cgroup.thaw();
    if i.shared_cgroup {
        // Other containers' processes live in it: only the init was killed; the cgroup goes
        // once it is empty (else it stays, theirs).
        if let Some(fd) = &pidfd {
            let _ = sys::pidfd_wait_exit(fd.as_fd(), 10_000);
        }
        return match cgroup.release() {
            Ok(()) | Err(cgroups::Error::InUse { .. }) => remove_recorded_rdt(i),
            Err(e) => Err(e.into()),
        };
    }
    cgroup.destroy()?;
    fault::point("delete: cgroup removed");
    if let Some(fd) = &pidfd {
        // Not in the cgroup (a new user namespace's init is placed after its clone): wait here.
        let _ = sys::pidfd_wait_exit(fd.as_fd(), 10_000);
    }
    remove_recorded_rdt(i)
}

/// The resctrl group the record names, as far as it is the container's.
fn remove_recorded_rdt(i: &Intent) -> Result<()> {
    match &i.intel_rdt {
        Some(g) => g.remove().map_err(|error| Error::Sys {
            context: format!("remove the resctrl group of container {}", i.id),
            error,
        }),
        None => Ok(()),
    }
}

/// Removes a state directory, the intent record last: a delete killed half-way leaves the
/// record for the next `delete --force`, never a directory without it that still names things.
pub(crate) fn remove_state_dir(dir: &Path) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries.flatten() {
        if e.file_name() == INTENT_FILE {
            continue;
        }
        let p = e.path();
        let r = if e.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        match r {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    fault::point("delete: state files removed");
    match std::fs::remove_file(dir.join(INTENT_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    match std::fs::remove_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// What `list` found under the state root.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Listing {
    /// Every container whose state could be told, by id.
    pub containers: Vec<ContainerState>,
    /// The names whose state could not be told (a damaged state.json, an init whose /proc
    /// entry cannot be read), with why: runc prints these on stderr and lists the rest.
    pub unreadable: Vec<(String, Error)>,
}

/// Every container under `root`, in runc's `list` shape (owner = the state directory's owner),
/// half-made ones included (status `creating`); names whose state cannot be told are in
/// [`Listing::unreadable`], never shown with a status they may not have.
pub fn list(root: &Path) -> Result<Listing> {
    let root = absolute(root);
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Listing::default()),
        Err(e) => return Err(Error::state(&root, e)),
    };
    let mut out = Listing::default();
    // Owner names by uid: /etc/passwd is read once per owner, not once per container.
    let mut names = std::collections::HashMap::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let found = match find(&root, &name) {
            Ok(found) => found,
            // Not a container directory (a stray file, a name that is no valid id).
            Err(Error::NotFound(_) | Error::InvalidId(_)) => continue,
            Err(e) => {
                out.unreadable.push((name, e));
                continue;
            }
        };
        let st = match found {
            Found::Complete(c) => c.state(),
            Found::Incomplete(r) => r.state(),
        };
        let mut st = match st {
            Ok(st) => st,
            Err(e) => {
                out.unreadable.push((name, e));
                continue;
            }
        };
        let uid = state::owner_uid(&entry.path());
        st.owner = names
            .entry(uid)
            .or_insert_with(|| state::user_name(uid))
            .clone();
        out.containers.push(st);
    }
    out.containers.sort_by(|a, b| a.id.cmp(&b.id));
    out.unreadable.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
