//! linux.namespaces: which are created by the one clone, which are joined by path, and which
//! need an ordering the clone cannot give.
//!
//! - New pid, net, ipc, uts, mount and user namespaces come from the clone flags in one step.
//! - A new cgroup namespace is unshared by the init only after the parent has put it in its
//!   cgroup, so that the namespace is rooted at the container's cgroup, not the runtime's.
//! - A new time namespace is unshared by the init and its offsets written before `execve`, which
//!   is when the process enters it (time namespaces apply to children and on exec).
//! - Existing namespaces (`path`) are opened by the parent (paths resolve on the host) and
//!   joined by the init, the user namespace first so the others are joined with its privileges.
//! - With an existing user namespace, the new mount, uts, ipc and net namespaces are unshared by
//!   the init after joining it, so that they belong to it (a new pid namespace cannot be: see
//!   [`plan`]).
//! - A new user namespace with namespaces joined by path: the joins come first (the host's root
//!   may enter them, the new user namespace's root may not), then the user namespace and, owned
//!   by it, the other new namespaces are unshared, the parent writing the maps in between.
//! - An existing pid namespace is the one case joined by the parent: `setns` on a pid namespace
//!   only affects children, so the parent enters it just around the clone and the init is born
//!   inside it, with no extra fork.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{Linux, LinuxNamespaceType};

use crate::sys::{self, SysError};

pub fn clone_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// An existing namespace to join.
pub struct Join {
    pub fd: OwnedFd,
    pub flag: CloneFlags,
    /// Index in linux.namespaces, for error messages.
    pub index: u32,
    pub path: PathBuf,
}

pub struct NamespacePlan {
    pub clone_flags: CloneFlags,
    pub unshare_in_init: CloneFlags,
    /// Unshared by the init first of all, before it waits for the parent's go (see
    /// [`NamespacePlan::make_network_in_init`]).
    pub unshare_first: CloneFlags,
    pub joins: Vec<Join>,
    pub pid_join: Option<Join>,
    pub new_user: bool,
    pub any_user: bool,
    pub new_cgroup: bool,
    pub new_time: bool,
    pub new_pid: bool,
    /// A mount namespace of its own, new or joined; without one the container shares the
    /// runtime's (see `rootfs::prepare`).
    pub own_mount: bool,
    /// The new pid namespace must be owned by a joined user namespace: the init unshares it
    /// and forks once more, its child becoming the container's pid 1.
    pub fork_for_pid: bool,
    /// A new user namespace together with namespaces joined by path (runc 1.2+): the init joins
    /// those first, still the host's root (a new user namespace has no rights over namespaces
    /// the host owns), then unshares its user namespace and has the parent write the maps.
    pub user_after_joins: bool,
}

/// Works out the plan and opens every namespace file to join. Errors name the list index.
pub fn plan(linux: &Linux) -> Result<NamespacePlan, (u32, SysError)> {
    let mut p = NamespacePlan::empty();
    for (i, ns) in linux
        .namespaces()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let index = i as u32;
        p.own_mount |= ns.typ() == LinuxNamespaceType::Mount;
        // A path is a namespace to join (opened now); none, a new one.
        match ns.path() {
            Some(path) => p.add_join(ns.typ(), index, path)?,
            None => p.add_new(ns.typ()),
        }
    }
    // With a joined user namespace (or a new one made after joins), it must own the new ones.
    p.order_under_user_namespace();
    Ok(p)
}

impl NamespacePlan {
    fn empty() -> NamespacePlan {
        NamespacePlan {
            clone_flags: CloneFlags::empty(),
            unshare_in_init: CloneFlags::empty(),
            unshare_first: CloneFlags::empty(),
            joins: Vec::new(),
            pid_join: None,
            new_user: false,
            any_user: false,
            new_cgroup: false,
            new_time: false,
            new_pid: false,
            own_mount: false,
            fork_for_pid: false,
            user_after_joins: false,
        }
    }

    /// Opens the namespace file at `path` to join; a user namespace is joined first, a pid
    /// namespace around the clone.
    fn add_join(
        &mut self,
        typ: LinuxNamespaceType,
        index: u32,
        path: &std::path::Path,
    ) -> Result<(), (u32, SysError)> {
        let fd = sys::open(path, OFlag::O_RDONLY, Mode::empty()).map_err(|e| (index, e))?;
        let join = Join {
            fd,
            flag: clone_flag(typ),
            index,
            path: path.to_path_buf(),
        };
        match typ {
            LinuxNamespaceType::Pid => self.pid_join = Some(join),
            LinuxNamespaceType::User => {
                self.any_user = true;
                self.joins.insert(0, join);
            }
            _ => self.joins.push(join),
        }
        Ok(())
    }

    /// Moves a new network namespace out of the clone into the init's first step, so that
    /// the kernel makes it (~0.75 ms on this VM, the most costly namespace) in the init while
    /// the runtime works on (the v1 cgroup directories). Only without any user namespace: a
    /// network namespace belongs to the user namespace of the process that makes it, and the
    /// init's is then the runtime's at any step. Returns whether it moved.
    pub fn make_network_in_init(&mut self) -> bool {
        if self.any_user || !self.clone_flags.contains(CloneFlags::CLONE_NEWNET) {
            return false;
        }
        self.clone_flags.remove(CloneFlags::CLONE_NEWNET);
        self.unshare_first |= CloneFlags::CLONE_NEWNET;
        true
    }

    /// A new namespace: cgroup and time ones are unshared by the init (after it has joined its
    /// cgroup, before its children exist); the others come with the clone.
    fn add_new(&mut self, typ: LinuxNamespaceType) {
        let flag = clone_flag(typ);
        match typ {
            LinuxNamespaceType::Cgroup => {
                self.new_cgroup = true;
                self.unshare_in_init |= flag;
            }
            LinuxNamespaceType::Time => {
                self.new_time = true;
                self.unshare_in_init |= flag;
            }
            t => {
                if t == LinuxNamespaceType::User {
                    self.new_user = true;
                    self.any_user = true;
                }
                if t == LinuxNamespaceType::Pid {
                    self.new_pid = true;
                }
                self.clone_flags |= flag;
            }
        }
    }

    /// A joined user namespace must own the new namespaces, or the container's root has no
    /// rights over them (no mounts in its mount namespace, no hostname in its UTS one): the
    /// init unshares them after joining it, as runc does. A new pid namespace unshared that way
    /// applies to children only: the init forks once more (the one extra step this ordering
    /// needs), and its child is the container's pid 1.
    fn order_under_user_namespace(&mut self) {
        if self.new_user && !self.joins.is_empty() {
            self.user_after_joins = true;
            self.clone_flags.remove(CloneFlags::CLONE_NEWUSER);
        }
        if !((self.any_user && !self.new_user) || self.user_after_joins) {
            return;
        }
        if self.clone_flags.contains(CloneFlags::CLONE_NEWPID) {
            self.clone_flags.remove(CloneFlags::CLONE_NEWPID);
            self.unshare_in_init |= CloneFlags::CLONE_NEWPID;
            self.fork_for_pid = true;
        }
        let later = self.clone_flags
            & (CloneFlags::CLONE_NEWNS
                | CloneFlags::CLONE_NEWUTS
                | CloneFlags::CLONE_NEWIPC
                | CloneFlags::CLONE_NEWNET);
        self.clone_flags.remove(later);
        self.unshare_in_init |= later;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(namespaces: serde_json::Value) -> NamespacePlan {
        let linux: Linux = serde_json::from_value(serde_json::json!({ "namespaces": namespaces }))
            .expect("a linux section");
        plan(&linux).expect("nothing to open")
    }

    #[test]
    fn the_network_namespace_moves_to_the_init_only_without_a_user_namespace() {
        let mut p = plan_of(serde_json::json!([{"type": "pid"}, {"type": "network"}]));
        assert!(p.make_network_in_init());
        assert!(!p.clone_flags.contains(CloneFlags::CLONE_NEWNET));
        assert_eq!(p.unshare_first, CloneFlags::CLONE_NEWNET);
        assert!(p.clone_flags.contains(CloneFlags::CLONE_NEWPID));
        // A user namespace must own it: made with the clone (or after the user namespace).
        let mut p = plan_of(serde_json::json!([{"type": "user"}, {"type": "network"}]));
        assert!(!p.make_network_in_init());
        assert!(p.clone_flags.contains(CloneFlags::CLONE_NEWNET));
        assert!(p.unshare_first.is_empty());
        // No new network namespace: nothing to move.
        let mut p = plan_of(serde_json::json!([{"type": "pid"}]));
        assert!(!p.make_network_in_init());
        assert!(p.unshare_first.is_empty());
    }
}
