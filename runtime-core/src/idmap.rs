//! Idmapped bind mounts (runc 1.2+, runtime-spec 1.2): the `idmap` and `ridmap` mount options
//! and a mount's own `uidMappings`/`gidMappings`.
//!
//! The runtime, still the host's root and before the clone, opens the bind source as a detached
//! mount tree ([`crate::mounts::detach_bind_sources`]) and marks it `MOUNT_ATTR_IDMAP` with a
//! user namespace that carries the mappings; the init attaches the tree like any other detached
//! source. The files' owners on disk are then seen through the mappings: with `0 100000 65536`
//! a file the host's root owns shows as uid 100000 on the host's side, which is root inside a
//! container whose user namespace maps 0 to 100000.
//!
//! Which mappings (as runc): the mount's own when it has them (both uid and gid are needed;
//! giving them makes the mount idmapped even without the option); otherwise the container's user
//! namespace's: its `linux.uidMappings`/`gidMappings` for a new one, the namespace file itself
//! for a joined one. Without either there is nothing to map with, which validation refuses.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{Linux, LinuxIdMapping, LinuxNamespaceType, Mount};

use crate::mounts::MountOptions;
use crate::sys::{self, Forked, SysResult};

/// Where an idmapped mount's user namespace comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// A user namespace made for the mount with these maps.
    Maps {
        uid: Vec<LinuxIdMapping>,
        gid: Vec<LinuxIdMapping>,
    },
    /// The user namespace the container joins (`linux.namespaces[].path`).
    Joined(PathBuf),
}

/// What an idmapped mount asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idmap {
    pub mapping: Mapping,
    /// `ridmap`: every mount of the (rbind) tree is idmapped, not only its top.
    pub recursive: bool,
}

/// The idmapping mount `m` asks for (`None`: it is no idmapped mount), or the field that makes
/// it impossible (relative to the mount: `options`, `uidMappings`, …) and why.
pub fn requested(m: &Mount, linux: &Linux) -> Result<Option<Idmap>, (&'static str, String)> {
    let opts = MountOptions::parse(m.options().as_deref().unwrap_or_default())
        .map_err(|r| ("options", r))?;
    let uid = m.uid_mappings().clone().unwrap_or_default();
    let gid = m.gid_mappings().clone().unwrap_or_default();
    let own_maps = !uid.is_empty() || !gid.is_empty();
    if opts.idmap.is_none() && !own_maps {
        return Ok(None);
    }
    if !opts.bind && m.typ().as_deref() != Some("bind") {
        return Err((
            "options",
            "idmapped mounts (idmap, ridmap, uidMappings, gidMappings) are only supported for \
             bind mounts"
                .into(),
        ));
    }
    let recursive = opts.idmap.unwrap_or(false);
    if own_maps {
        if uid.is_empty() || gid.is_empty() {
            let missing = if uid.is_empty() {
                "uidMappings"
            } else {
                "gidMappings"
            };
            return Err((
                missing,
                "an idmapped mount needs both uidMappings and gidMappings".into(),
            ));
        }
        let mapping = Mapping::Maps { uid, gid };
        return Ok(Some(Idmap { mapping, recursive }));
    }
    let user = linux
        .namespaces()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::User);
    let mapping = match user.map(|n| n.path().clone()) {
        Some(Some(path)) => Mapping::Joined(path),
        Some(None) => Mapping::Maps {
            uid: linux.uid_mappings().clone().unwrap_or_default(),
            gid: linux.gid_mappings().clone().unwrap_or_default(),
        },
        None => {
            return Err((
                "uidMappings",
                "an idmap/ridmap mount of a container without a user namespace needs its own \
                 uidMappings and gidMappings"
                    .into(),
            ))
        }
    };
    Ok(Some(Idmap { mapping, recursive }))
}

/// Marks the detached mount tree `tree` idmapped as `idmap` asks (`display`: its source).
pub fn apply(tree: BorrowedFd<'_>, idmap: &Idmap, display: &Path) -> SysResult<()> {
    let userns = userns_fd(&idmap.mapping)?;
    sys::mount_setattr_idmap(tree, userns.as_fd(), idmap.recursive, display)
}

/// An fd of a user namespace with the mapping's id maps.
fn userns_fd(mapping: &Mapping) -> SysResult<OwnedFd> {
    match mapping {
        Mapping::Joined(path) => sys::open(path, OFlag::O_RDONLY, Mode::empty()),
        Mapping::Maps { uid, gid } => userns_with_maps(uid, gid),
    }
}

/// A new user namespace with these maps: a helper child is cloned into it and only waits; the
/// maps are written from here (the host's root may map any range), the namespace is opened
/// through the child's /proc entry, and the child is killed and reaped. The fd keeps the
/// namespace alive as long as it is needed.
fn userns_with_maps(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> SysResult<OwnedFd> {
    // SAFETY: create is refused to a multi-threaded caller (builder.rs) before this runs, and
    // the child only pauses until it is killed: it never returns into the caller's frames and
    // touches no lock or allocation.
    #[allow(unsafe_code)]
    let forked = unsafe { sys::clone_process(CloneFlags::CLONE_NEWUSER, None)? };
    let pid = match forked {
        Forked::Child => sys::pause_until_killed(),
        Forked::Parent { pid, .. } => pid.as_raw(),
    };
    let opened = write_maps_and_open(pid, uid, gid);
    let _ = sys::kill(pid, libc::SIGKILL);
    let _ = sys::waitpid(pid);
    opened
}

fn write_maps_and_open(
    pid: i32,
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
) -> SysResult<OwnedFd> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    sys::write_file(&proc.join("uid_map"), crate::user::map_text(uid).as_bytes())?;
    sys::write_file(&proc.join("gid_map"), crate::user::map_text(gid).as_bytes())?;
    sys::open(&proc.join("ns/user"), OFlag::O_RDONLY, Mode::empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mount(v: serde_json::Value) -> Mount {
        serde_json::from_value(v).unwrap()
    }

    fn linux(v: serde_json::Value) -> Linux {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn plain_mounts_are_not_idmapped() {
        let m = mount(json!({"destination": "/m", "source": "/s", "options": ["rbind"]}));
        assert_eq!(requested(&m, &Linux::default()), Ok(None));
    }

    #[test]
    fn idmap_without_maps_takes_the_containers_user_namespace() {
        let m = mount(json!({"destination": "/m", "source": "/s", "options": ["bind", "ridmap"]}));
        let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        let l = linux(json!({"namespaces": [{"type": "user"}],
                             "uidMappings": map, "gidMappings": map}));
        let got = requested(&m, &l).unwrap().unwrap();
        assert!(got.recursive);
        assert!(matches!(got.mapping, Mapping::Maps { ref uid, .. } if uid[0].host_id() == 100000));
        let joined = linux(json!({"namespaces": [{"type": "user", "path": "/proc/1/ns/user"}]}));
        let got = requested(&m, &joined).unwrap().unwrap();
        assert_eq!(got.mapping, Mapping::Joined("/proc/1/ns/user".into()));
        let e = requested(&m, &Linux::default()).unwrap_err();
        assert_eq!(e.0, "uidMappings");
    }

    #[test]
    fn own_maps_make_an_idmapped_mount_and_need_both() {
        let map = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        let m = mount(
            json!({"destination": "/m", "source": "/s", "options": ["bind"],
                             "uidMappings": map, "gidMappings": map}),
        );
        let got = requested(&m, &Linux::default()).unwrap().unwrap();
        assert!(!got.recursive);
        let m = mount(
            json!({"destination": "/m", "source": "/s", "options": ["bind"],
                             "uidMappings": map}),
        );
        assert_eq!(
            requested(&m, &Linux::default()).unwrap_err().0,
            "gidMappings"
        );
        let m = mount(
            json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs",
                             "options": ["idmap"]}),
        );
        assert_eq!(requested(&m, &Linux::default()).unwrap_err().0, "options");
    }
}
