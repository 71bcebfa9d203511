//! `exec`: another process in a running container — its namespaces, cgroup, rootfs, console,
//! capabilities, rlimits, no_new_privs and seccomp filter.
//!
//! The same process model as `create`, minus the rootfs work: one clone (born in the container's
//! pid namespace and, on cgroup v2, its cgroup), the child joins every other namespace at once
//! through the init's pidfd, runs the shared final steps (`process::finish`) and execs.
//! Success is the sync socket closing on exec after `Ready`; a failure comes back typed.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::sched::CloneFlags;
use oci_spec::runtime::Process;

use crate::container::{connect_console, Console, Container, ExitStatus};
use crate::error::{Error, Result};
use crate::fault;
use crate::namespaces::{self, Join};
use crate::process::clone::{self, Spawned};
use crate::process::sync::{self, Message};
use crate::process::tenant::{self, TenantArgs};
use crate::seccomp::Compiled;
use crate::seccomp_cache;
use crate::state::{self, Status};
use crate::stdio::{self, ChildStdio, Pipes};
use crate::sys::{self, Errno, SysOp};
use crate::trace;

/// How to exec; `Default` is a foreground process with the caller's stdio. Filled in by
/// [`crate::ExecBuilder`], the public way to set these.
#[derive(Debug, Default)]
pub(crate) struct ExecOptions {
    pub console: Console,
    /// Write the process's pid here once it runs.
    pub pid_file: Option<PathBuf>,
    /// Keep fds 3 .. 3+N open in the process.
    pub preserve_fds: u32,
    pub extra_env: Vec<String>,
    /// Exec even when the container is paused.
    pub ignore_paused: bool,
    /// Existing sub-cgroups of the container's cgroup to run in (runc `--cgroup`): v1
    /// controller name → path relative to the container's cgroup; the key "" applies to every
    /// hierarchy without its own entry (and is the only one cgroup v2 takes).
    pub sub_cgroups: std::collections::BTreeMap<String, String>,
    /// What the process moves onto its fds 0, 1, 2 (stdio.rs).
    pub stdio: ChildStdio,
    /// A writable binary the exec stub cannot stand in for: warn, allow or refuse.
    pub unprotected: crate::protect::Unprotected,
    /// How the process leaves the binary, when `needs_protected_binary` decided it already.
    pub route: Option<crate::protect::Route>,
}

/// A process started by [`crate::ExecBuilder::spawn`]; a child of the calling process.
pub struct ExecProcess {
    child: Spawned,
    /// The caller's ends of piped stdio (builder.rs takes them out).
    pub(crate) pipes: Pipes,
    /// What `spawn` noticed but did not refuse.
    pub(crate) warnings: Vec<String>,
}

impl ExecProcess {
    /// The process's pid on the host.
    pub fn pid(&self) -> i32 {
        self.child.pid.as_raw()
    }

    /// A pidfd for the process (readable once it has exited).
    pub fn pidfd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.child.pidfd.as_fd()
    }

    /// Sends `signal` to the process (through its pidfd: never to a reused pid).
    pub fn signal(&self, signal: crate::Signal) -> Result<()> {
        sys::pidfd_send_signal(self.child.pidfd.as_fd(), signal.as_raw())
            .map_err(Error::sys("signal exec'd process"))
    }

    /// Waits for the process to exit.
    pub fn wait(self) -> Result<ExitStatus> {
        let raw =
            sys::waitpid(self.child.pid.as_raw()).map_err(Error::sys("wait for exec'd process"))?;
        Ok(ExitStatus::from_raw(raw))
    }
}

/// Where an exec'd process is born and which cgroups it joins.
struct Placement {
    /// The `--cgroup` sub-cgroup directories (one per hierarchy), `None` for the container's own.
    sub_dirs: Option<Vec<PathBuf>>,
    /// The v2 directory it is born in (`CLONE_INTO_CGROUP`), when there is one.
    v2_cgroup: Option<OwnedFd>,
    /// The v1 `tasks` files it writes itself (hybrid hosts).
    self_join: Vec<PathBuf>,
}

impl Container {
    /// How `process` leaves the calling binary (protect.rs): the container's state marks when
    /// the exec stub is ruled out for every later exec'd process (exec_stub.rs).
    pub(crate) fn exec_route(&self, process: &Process) -> crate::protect::Route {
        let ptrace_seen = crate::exec_stub::no_stub_marker(&self.dir).exists();
        crate::protect::route(&self.st.spec, Some(process), ptrace_seen)
    }

    /// Runs `process` inside this container. Returns once the process has exec'd (or with the
    /// step that failed).
    pub(crate) fn exec(&self, process: &Process, mut opts: ExecOptions) -> Result<ExecProcess> {
        let config = self.st.bundle.join("config.json");
        let linux = self.st.spec.linux().as_ref();
        let terminal = process.terminal().unwrap_or(false);
        // A process that could not run is refused before anything is created.
        check_process(process, &config)?;
        // How the process leaves this binary: the exec stub, unless the binary is protected
        // or the stub is not safe here (protect.rs), also because an earlier exec'd process
        // may have CAP_SYS_PTRACE; this one, if it may, rules the stub out for later ones.
        // Decided by `needs_protected_binary`, maybe a while ago: a process given
        // CAP_SYS_PTRACE since then (the marker) still rules the stub out.
        let marker = crate::exec_stub::no_stub_marker(&self.dir);
        let route = match opts.route.take() {
            Some(crate::protect::Route::Stub(_)) if marker.exists() => self.exec_route(process),
            Some(route) => route,
            None => self.exec_route(process),
        };
        let (stub, unprotected) = crate::protect::launch(route, opts.unprotected)?;
        if crate::exec_stub::gives_ptrace(&self.st.spec, process) {
            std::fs::write(&marker, b"").map_err(|e| Error::state(&marker, e))?;
        }
        // The init's pidfd, taken while the container is known to run and not paused.
        let init_pidfd = self.pin_running_init(opts.ignore_paused)?;
        // The container's namespaces, and its seccomp filter (create cached it).
        let mut flags = self.namespace_flags();
        let filter = self.exec_seccomp(&config)?;
        // The console when the process asks for a terminal; the sync socket.
        stdio::refuse_with_terminal(&opts.stdio, terminal, &config)?;
        let console_socket = connect_console(opts.console, terminal, &config)?;
        let (parent_end, child_end) = sync::pair().map_err(Error::sys("create sync socket"))?;
        // Where the process is born, and the cgroups it joins itself.
        let place = self.placement(&opts.sub_cgroups)?;
        // Unprivileged, this process joins the container's user and pid namespaces for good.
        let unprivileged_join = crate::rootless::detect();
        if unprivileged_join {
            self.join_unprivileged(&init_pidfd, &mut flags)?;
        }
        // The pid namespace to clone into, and the root to enter without a mount namespace.
        let pid_join = self.pid_join(flags, unprivileged_join)?;
        let root = self.shared_root(flags)?;
        let args = TenantArgs {
            root: root.as_ref(),
            process,
            channel: child_end,
            init_pidfd: &init_pidfd,
            namespaces: flags & !CloneFlags::CLONE_NEWPID,
            console_socket,
            seccomp: filter.as_ref(),
            stub: stub.as_ref(),
            preserve_fds: opts.preserve_fds,
            extra_env: &opts.extra_env,
            stdio: &opts.stdio,
            memory_policy: linux.and_then(|l| l.memory_policy().as_ref()),
            cgroup_join: place.self_join.clone(),
        };
        let child = spawn_tenant(
            args,
            parent_end.raw_fd(),
            place.v2_cgroup.as_ref(),
            pid_join.as_ref(),
        )?;
        let mut guard = KillOnDrop {
            child: &child,
            armed: true,
        };
        let pid = child.pid.as_raw();
        trace::step("exec process cloned", &[("pid", pid.to_string())]);
        // A crash from here on leaves a process that waits for Go: it sees the channel close
        // and exits, wherever it was placed (never half set up inside the container).
        fault::point("exec: process cloned");
        // Into the cgroups it was not born in, and the container's resctrl group.
        self.place_process(pid, &place)?;
        self.join_intel_rdt(pid)?;
        fault::point("exec: process placed");
        parent_end
            .send(&Message::Go { pid })
            .map_err(Error::sys("signal exec'd process"))?;
        fault::point("exec: process told to go");
        // Until it has exec'd (the socket closes after Ready) or failed.
        self.await_exec(&parent_end, &child)
            .map_err(|e| name_the_program(e, process))?;
        fault::point("exec: process running");
        if let Some(p) = &opts.pid_file {
            crate::container::write_pid_file(&crate::spec::absolute(p), pid)?;
        }
        guard.armed = false;
        drop(guard);
        trace::step("exec process running", &[("pid", pid.to_string())]);
        Ok(ExecProcess {
            child,
            pipes: Pipes::default(),
            warnings: unprotected.into_iter().collect(),
        })
    }

    /// The status check and the init's pidfd under the lock: no delete tears the container
    /// down between them. The rest (the new process's set-up) needs no lock. The pidfd is
    /// opened and then checked against the recorded start time: from here on it can only ever
    /// refer to this container's init.
    fn pin_running_init(&self, ignore_paused: bool) -> Result<OwnedFd> {
        let id = self.st.id.clone();
        let _lock = state::Lock::take(&self.dir)?;
        match self.status()? {
            Status::Stopped => {
                return Err(Error::WrongStatus {
                    id,
                    status: Status::Stopped,
                    message: "cannot exec in a stopped container".into(),
                })
            }
            Status::Paused if !ignore_paused => {
                return Err(Error::WrongStatus {
                    id,
                    status: Status::Paused,
                    message: "cannot exec in a paused container (use --ignore-paused to override)"
                        .into(),
                })
            }
            _ => {}
        }
        let init_pidfd =
            sys::pidfd_open(self.st.pid).map_err(Error::sys("open the container's init"))?;
        if !state::init_alive(&self.st)? {
            return Err(Error::NotRunning(id));
        }
        Ok(init_pidfd)
    }

    /// The clone flags of every namespace the container lists.
    fn namespace_flags(&self) -> CloneFlags {
        let mut flags = CloneFlags::empty();
        for ns in self
            .st
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_deref())
            .unwrap_or_default()
        {
            flags |= namespaces::clone_flag(ns.typ());
        }
        flags
    }

    /// The container's seccomp filter, from the state root's cache where create put it.
    fn exec_seccomp(&self, config: &std::path::Path) -> Result<Option<Compiled>> {
        let Some(sc) = self
            .st
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
        else {
            return Ok(None);
        };
        seccomp_cache::compile(self.dir.parent().unwrap_or(&self.dir), sc)
            .map(Some)
            .map_err(|(field, reason)| Error::config(config, field, reason))
    }

    /// The v2 directory to be born in (a sub-cgroup's, the container's, or on hybrid hosts its
    /// unified twin) and the v1 files to join by itself.
    fn placement(&self, subs: &std::collections::BTreeMap<String, String>) -> Result<Placement> {
        let sub_dirs = self.sub_cgroup_dirs(subs)?;
        let v2_cgroup = match (&sub_dirs, self.st.cgroup.layout()) {
            (Some(dirs), cgroups::Layout::Unified) => match dirs.first() {
                Some(dir) => Some(
                    sys::open(
                        dir,
                        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
                        nix::sys::stat::Mode::empty(),
                    )
                    .map_err(Error::sys("open sub-cgroup"))?,
                ),
                None => self.st.cgroup.v2_dir_fd()?,
            },
            // Hybrid: born in the unified twin, the process moves itself into the v1 ones, as
            // the init does; a move by the parent (`cgroup.procs`) waits for an RCU grace
            // period unless another move went just before: ~7 ms of an `exec` measured here
            // (the phase "exec'd process: told to go" of the benchmark).
            (None, cgroups::Layout::Hybrid) => self.st.cgroup.unified_dir_fd()?,
            _ => self.st.cgroup.v2_dir_fd()?,
        };
        let self_join = match (&sub_dirs, self.st.cgroup.layout(), &v2_cgroup) {
            (None, cgroups::Layout::Hybrid, Some(_)) => self.st.cgroup.v1_self_join_files(),
            _ => Vec::new(),
        };
        Ok(Placement {
            sub_dirs,
            v2_cgroup,
            self_join,
        })
    }

    /// Unprivileged, this process could not come back to its own pid namespace after joining
    /// the container's around the clone (that needs CAP_SYS_ADMIN where it belongs, the
    /// host's user namespace), and as a non-root euid it may not even join it from the host's
    /// user namespace: it enters the container's user namespace first (when the runtime's
    /// euid is not root), then its pid namespace, for good: from here it only starts and
    /// waits for the exec'd process, still the owner it is on the host. The exec'd process
    /// joins the rest.
    fn join_unprivileged(&self, init_pidfd: &OwnedFd, flags: &mut CloneFlags) -> Result<()> {
        let user_first =
            crate::rootless::rootless_euid() && flags.contains(CloneFlags::CLONE_NEWUSER);
        let pid_ns = flags.contains(CloneFlags::CLONE_NEWPID);
        join_for_good(init_pidfd, self.st.pid, user_first, pid_ns)?;
        if user_first {
            flags.remove(CloneFlags::CLONE_NEWUSER);
        }
        Ok(())
    }

    /// The container's pid namespace to clone into (through the init's pidfd), unless this
    /// process has joined it for good already.
    fn pid_join(&self, flags: CloneFlags, unprivileged_join: bool) -> Result<Option<Join>> {
        if !flags.contains(CloneFlags::CLONE_NEWPID) || unprivileged_join {
            return Ok(None);
        }
        let fd = sys::pidfd_open(self.st.pid).map_err(Error::sys("open the container's init"))?;
        Ok(Some(Join {
            fd,
            flag: CloneFlags::CLONE_NEWPID,
            index: 0,
            path: PathBuf::from(format!("/proc/{}/ns/pid", self.st.pid)),
        }))
    }

    /// Without a mount namespace of its own the container shares ours: the process enters
    /// the init's root (its chroot) itself, or it would run in the host's `/`.
    fn shared_root(&self, flags: CloneFlags) -> Result<Option<OwnedFd>> {
        if flags.contains(CloneFlags::CLONE_NEWNS) {
            return Ok(None);
        }
        let path = PathBuf::from(format!("/proc/{}/root", self.st.pid));
        let dir = nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY;
        sys::open(&path, dir, nix::sys::stat::Mode::empty())
            .map(Some)
            .map_err(Error::sys("open the container's root"))
    }

    /// Puts the process in the cgroups it was not born in: the container's (through the
    /// manager) or the `--cgroup` sub-cgroups.
    fn place_process(&self, pid: i32, place: &Placement) -> Result<()> {
        if place.v2_cgroup.is_some() {
            return Ok(());
        }
        match &place.sub_dirs {
            None => self.st.cgroup.add_task(pid)?,
            Some(dirs) => {
                for dir in dirs {
                    sys::write_file(&dir.join("cgroup.procs"), pid.to_string().as_bytes())
                        .map_err(Error::sys("join sub-cgroup"))?;
                }
            }
        }
        Ok(())
    }

    /// Into the container's resctrl group, when it has one (runc: the CTRL_MON group, not
    /// the MON one).
    fn join_intel_rdt(&self, pid: i32) -> Result<()> {
        let Some(g) = &self.st.intel_rdt else {
            return Ok(());
        };
        g.add_exec(pid).map_err(|error| Error::Sys {
            context: format!("add pid {pid} to Intel RDT"),
            error,
        })
    }

    /// Reads the process's messages until its socket closes on exec after `Ready`; a seccomp
    /// listener goes to the agent at once, a failure comes back typed.
    fn await_exec(&self, parent_end: &sync::Channel, child: &Spawned) -> Result<()> {
        let pid = child.pid.as_raw();
        let mut ready = false;
        loop {
            match parent_end
                .recv()
                .map_err(Error::sys("read from exec'd process"))?
            {
                // After Ready the process only execs: nothing but a failure of that can follow
                // (anything else came from someone who took the channel from the exec stub).
                Some(m) if ready && !is_exec_failure(&m) => {
                    return Err(Error::Sys {
                        context: "unexpected message from exec'd process after it was ready".into(),
                        error: sys::SysError::new(sys::SysOp::Read, None, Errno::EPROTO),
                    })
                }
                Some(Message::Ready) => ready = true,
                Some(Message::Timings(marks)) => marks.report("exec'd process"),
                Some(Message::SeccompListener { fd }) => {
                    // At once: the process's next syscalls may be waiting for the agent.
                    let st = self.hook_state(Status::Running);
                    crate::container::take_seccomp_listener(
                        parent_end,
                        child.pidfd.as_fd(),
                        fd,
                        &self.st.spec,
                        &st,
                        pid,
                    )?;
                }
                Some(Message::Failed(e)) => {
                    return Err(Error::Exec {
                        step: e.step,
                        error: e.source,
                    })
                }
                Some(_) => {
                    return Err(Error::Sys {
                        context: "unexpected message from exec'd process".into(),
                        error: sys::SysError::new(sys::SysOp::Read, None, Errno::EPROTO),
                    })
                }
                // Closed on exec after Ready: the process runs.
                None if ready => return Ok(()),
                None => {
                    let status = sys::waitpid(pid)
                        .map(ExitStatus::from_raw)
                        .map_err(Error::sys("wait for exec'd process"))?;
                    return Err(Error::ExecDied { status });
                }
            }
        }
    }
}

/// A failed exec: the process's own (`execve` of the program or of the stub) or the exec
/// stub's frame (sync.rs decodes it).
fn is_exec_failure(m: &Message) -> bool {
    matches!(m, Message::Failed(e) if matches!(e.step, crate::process::InitStep::Exec))
}

/// The exec stub reports a failed `execve` by its errno alone: name the program it ran.
fn name_the_program(e: Error, process: &Process) -> Error {
    match e {
        Error::Exec { step, mut error } if error.path.is_none() && error.op == SysOp::Execve => {
            let arg0 = process.args().as_deref().and_then(|a| a.first());
            error.path = arg0.map(std::path::PathBuf::from);
            Error::Exec { step, error }
        }
        other => other,
    }
}

/// `process.args` and `process.cwd` usable, and labels the kernel can apply: checked before
/// anything is created.
fn check_process(process: &Process, config: &std::path::Path) -> Result<()> {
    let bad = |field: &str, reason: &str| Error::config(config, field, reason);
    let args = process.args().as_deref().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        return Err(bad("process.args", "must name a program to run"));
    }
    if !process.cwd().is_absolute() {
        return Err(bad("process.cwd", "must be an absolute path"));
    }
    crate::lsm::check_process(process).map_err(|(field, reason)| bad(&field, &reason))
}

/// Clones the exec'd process: born in `v2_cgroup` and the pid namespace of `pid_join`, it runs
/// `tenant::run` with `args`.
fn spawn_tenant(
    args: TenantArgs<'_>,
    parent_raw: std::os::fd::RawFd,
    v2_cgroup: Option<&OwnedFd>,
    pid_join: Option<&Join>,
) -> Result<Spawned> {
    let cgroup_raw = v2_cgroup.map(std::os::fd::AsRawFd::as_raw_fd);
    let mut args = Some(args);
    let spawned = clone::spawn_init(
        CloneFlags::empty(),
        v2_cgroup.map(|f| f.as_fd()),
        pid_join,
        false,
        || {
            // SAFETY: in the fresh child, which never uses or drops these (it leaves
            // through execve or _exit). A host cgroup directory fd must not reach the
            // process (CVE-2024-21626).
            #[allow(unsafe_code)]
            unsafe {
                sys::close_in_child(parent_raw);
                if let Some(fd) = cgroup_raw {
                    sys::close_in_child(fd);
                }
            }
            if let Some(args) = args.take() {
                tenant::run(args);
            }
        },
    );
    drop(args);
    spawned.map_err(Error::sys("clone exec'd process"))
}

impl Container {
    /// The directories an exec'd process joins for `--cgroup` (one per hierarchy), or `None`
    /// for the container's own cgroup. Each must exist below the container's cgroup.
    fn sub_cgroup_dirs(
        &self,
        subs: &std::collections::BTreeMap<String, String>,
    ) -> Result<Option<Vec<PathBuf>>> {
        if subs.is_empty() {
            return Ok(None);
        }
        let bad = |reason: String| Error::SubCgroup {
            id: self.st.id.clone(),
            reason,
        };
        let unified = self.st.cgroup.layout() == cgroups::Layout::Unified;
        if unified && subs.keys().any(|k| !k.is_empty()) {
            return Err(bad(
                "a controller name is only allowed on cgroup v1 (use --cgroup PATH)".into(),
            ));
        }
        let paths = self.st.cgroup.paths();
        for ctrl in subs.keys().filter(|k| !k.is_empty()) {
            if !paths.contains_key(ctrl) {
                return Err(bad(format!("no such controller {ctrl:?}")));
            }
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (ctrl, base) in &paths {
            let Some(sub) = subs.get(ctrl).or_else(|| subs.get("")) else {
                if !dirs.contains(base) {
                    dirs.push(base.clone());
                }
                continue;
            };
            let rel = sub_cgroup_path(sub).ok_or_else(|| {
                // runc's wording: 1.1.5 "… is not a sub cgroup path", today "bad sub cgroup path".
                bad(format!(
                    "bad sub cgroup path: {sub} ({sub} is not a sub cgroup path: it leaves the container's cgroup)"
                ))
            })?;
            let dir = base.join(rel);
            if !dir.is_dir() {
                return Err(bad(format!("{} does not exist", dir.display())));
            }
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        Ok(Some(dirs))
    }
}

/// Joins the init's user namespace (when `user`) and pid namespace (when `pid`, for our
/// children) through its pidfd, never to come back (see `exec`).
fn join_for_good(init_pidfd: &OwnedFd, init_pid: i32, user: bool, pid: bool) -> Result<()> {
    let shown = PathBuf::from(format!("/proc/{init_pid}/ns"));
    for (wanted, kind) in [
        (user, CloneFlags::CLONE_NEWUSER),
        (pid, CloneFlags::CLONE_NEWPID),
    ] {
        if wanted {
            sys::setns(init_pidfd.as_fd(), kind, &shown)
                .map_err(Error::sys("join the container's namespaces"))?;
        }
    }
    Ok(())
}

/// Kills and reaps a half-started exec'd process if `exec` fails after the clone.
struct KillOnDrop<'a> {
    child: &'a Spawned,
    armed: bool,
}

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.child.kill_and_reap();
        }
    }
}

/// `sub` (relative, or absolute from the container's cgroup) cleaned lexically as runc's
/// `path.Join` cleans it; `None` when it climbs out of the container's cgroup.
fn sub_cgroup_path(sub: &str) -> Option<PathBuf> {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in std::path::Path::new(sub).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::sub_cgroup_path;
    use std::path::Path;

    #[test]
    fn sub_cgroup_paths_are_cleaned_and_may_not_climb_out() {
        assert_eq!(sub_cgroup_path("a/b").as_deref(), Some(Path::new("a/b")));
        assert_eq!(
            sub_cgroup_path("/a/./b/../c").as_deref(),
            Some(Path::new("a/c"))
        );
        assert_eq!(sub_cgroup_path("..").as_deref(), None);
        assert_eq!(sub_cgroup_path("a/../../b").as_deref(), None);
    }
}
