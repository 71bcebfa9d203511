//! A container's lifecycle: create → start → kill → delete, and the state in between.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use crate::error::{Error, Result};
use crate::exec_stub::ExecStub;
use crate::fault;
use crate::hooks::{self, HookKind};
use crate::intel_rdt::RdtGroup;
use crate::intent::{self, CgroupRecord, InitRecord, Intent};
use crate::namespaces::{self, NamespacePlan};
use crate::outcome::{Outcome, Warning};
use crate::process::clone::{self, Spawned};
use crate::process::init::{self, InitArgs};
use crate::process::sync::{self, Channel, Message};
use crate::signal::{KillTarget, Signal};
use crate::spec::{absolute, Bundle};
use crate::state::{self, ContainerState, Lock, Persisted, Status, EXEC_FIFO};
use crate::stdio::{self, ChildStdio, Pipes};
use crate::sys::{self, Errno};
use crate::{trace, user};

/// Where the pty master of a `terminal: true` container goes.
#[derive(Debug, Default)]
#[non_exhaustive]
pub enum Console {
    /// No terminal requested (or the caller wants none).
    #[default]
    None,
    /// Connect to this unix socket and send the master over it (`--console-socket`).
    Socket(PathBuf),
    /// Send the master over this already-connected socket.
    Connected(OwnedFd),
    /// Like `Connected`, but only if the spec asks for a terminal (`run` offers a socketpair
    /// and relays the terminal itself).
    Offered(OwnedFd),
}

/// How to create a container; `Default` is runc's defaults with `/run/runr` as root. Filled in
/// by [`crate::ContainerBuilder`], the public way to set these.
#[derive(Debug)]
pub(crate) struct CreateOptions {
    /// Directory holding one state directory per container.
    pub root: PathBuf,
    pub console: Console,
    /// Write the init's pid here before `create` returns.
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root (for roots on a ramdisk).
    pub no_pivot: bool,
    /// Keep the caller's session keyring instead of a new one.
    pub no_new_keyring: bool,
    /// Keep fds 3 .. 3+N open in the container.
    pub preserve_fds: u32,
    /// Extra environment for the container's process (socket activation: LISTEN_FDS).
    pub extra_env: Vec<String>,
    /// `--systemd-cgroup`: cgroupsPath is "slice:prefix:name".
    pub systemd_cgroup: bool,
    /// What the init moves onto its fds 0, 1, 2 (stdio.rs).
    pub stdio: ChildStdio,
    /// runc's `--rootless`: follow the rootless cgroup rule (skip a cgroup the runtime may not
    /// create when the config names no cgroupsPath; see `cgroups::Manager::create_rootless`).
    /// Defaults to [`crate::rootless::detect`].
    pub rootless: bool,
    /// The resctrl filesystem for `linux.intelRdt` (`None`: the host's, found as runc does).
    pub resctrl: Option<crate::intel_rdt::Resctrl>,
    /// A writable binary the exec stub cannot stand in for: warn, allow or refuse.
    pub unprotected: crate::protect::Unprotected,
    /// How the init leaves the binary, when `needs_protected_binary` decided it already.
    pub route: Option<crate::protect::Route>,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            root: PathBuf::from("/run/runr"),
            console: Console::None,
            pid_file: None,
            no_pivot: false,
            no_new_keyring: false,
            preserve_fds: 0,
            extra_env: Vec::new(),
            systemd_cgroup: false,
            stdio: ChildStdio::default(),
            rootless: crate::rootless::detect(),
            resctrl: None,
            unprotected: crate::protect::Unprotected::Warn,
            route: None,
        }
    }
}

/// A container known to the runtime.
pub struct Container {
    pub(crate) dir: PathBuf,
    pub(crate) st: Persisted,
    /// Set when this process created the init (it is our child and can be waited for).
    child: Option<Spawned>,
    /// What `create` accepted but did not use (see [`Bundle::warnings`]).
    pub(crate) warnings: Vec<String>,
    /// The caller's ends of piped stdio (builder.rs takes them out).
    pub(crate) pipes: Pipes,
}

/// How the container's process ended, as a shell reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this status.
    Exited(i32),
    /// This signal killed it.
    Signaled(i32),
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Exited(c) => write!(f, "exit status {c}"),
            ExitStatus::Signaled(s) => write!(f, "killed by signal {s}"),
        }
    }
}

impl ExitStatus {
    /// runc's exit code for `run`: the status, or 128 + signal.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }

    pub(crate) fn from_raw(status: i32) -> ExitStatus {
        if libc::WIFSIGNALED(status) {
            ExitStatus::Signaled(libc::WTERMSIG(status))
        } else {
            ExitStatus::Exited(libc::WEXITSTATUS(status))
        }
    }
}

/// runc's rule for ids: letters, digits, `_ + - .`, and not `.` or `..`.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidId(id.to_string()))
    }
}

/// Undoes a half-done create when dropped, unless disarmed: kills and reaps the init, removes
/// the cgroup and the state directory. Nothing of a failed create stays behind.
struct Rollback {
    dir: PathBuf,
    cgroup: Option<cgroups::Manager>,
    /// The cgroup already had processes (another container's): remove it only if they are gone.
    cgroup_shared: bool,
    /// The resctrl group, once it may have been made (removed as delete removes it).
    rdt: Option<RdtGroup>,
    child: Option<Spawned>,
    armed: bool,
}

impl Drop for Rollback {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(c) = &self.child {
            c.kill_and_reap();
        }
        match &self.cgroup {
            Some(cg) if self.cgroup_shared => {
                let _ = cg.release();
            }
            Some(cg) => {
                let _ = cg.destroy();
            }
            None => {}
        }
        if let Some(g) = &self.rdt {
            let _ = g.remove();
        }
        let _ = crate::recovery::remove_state_dir(&self.dir);
    }
}

/// A create under way: its state directory, lock, intent record and undo.
struct Creating {
    dir: PathBuf,
    /// Held for the state transitions, let go while user code (hooks) runs.
    lock: Option<Lock>,
    intent: Intent,
    /// The init's record, visible but not yet on disk (synced while the init sets up).
    unsynced: Option<state::Unsynced>,
    rollback: Rollback,
}

impl Creating {
    /// Takes the container's name: its state directory, made and locked. Nothing else exists
    /// yet, so a crash here leaves an empty directory that `delete --force` removes as is.
    fn take_name(root: &Path, intent: Intent) -> Result<Creating> {
        make_root(root)?;
        let dir = root.join(&intent.id);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyExists(intent.id))
            }
            Err(e) => return Err(Error::state(&dir, e)),
        }
        let rollback = Rollback {
            dir: dir.clone(),
            cgroup: None,
            cgroup_shared: false,
            rdt: None,
            child: None,
            armed: true,
        };
        fault::point("create: state directory made");
        let lock = Lock::take(&dir)?;
        Ok(Creating {
            dir,
            lock: Some(lock),
            intent,
            unsynced: None,
            rollback,
        })
    }

    /// Records the init (pid and start time) before anything else happens to it: visible to
    /// every reader at once, durable by [`Creating::sync_record`].
    fn record_init(&mut self, pid: i32) -> Result<()> {
        self.intent.init = Some(InitRecord::of(pid)?);
        let unsynced = intent::write_visible(&self.dir, &self.intent)?;
        // A record replaced before the last one was synced: that one's sync is this one's.
        self.unsynced = Some(unsynced);
        fault::point("create: init recorded");
        Ok(())
    }

    /// The init's record on disk (nothing to do when it already is). Called once the init is
    /// busy with its own set-up, so that the disk's flush overlaps that work instead of
    /// delaying it, and again before the init is reported ready.
    fn sync_record(&mut self) -> Result<()> {
        match self.unsynced.take() {
            Some(u) => u.sync().map_err(Error::sys("write intent record")),
            None => Ok(()),
        }
    }

    /// Runs user code (hooks) without the lock: a hook may call `runr state|kill` on us.
    fn unlocked<T>(&mut self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.lock = None;
        let out = f();
        self.lock = Some(Lock::take(&self.dir)?);
        out
    }
}

/// What the cloned init holds once it reported ready.
struct ReadyInit {
    pid: i32,
    start: u64,
    channel: Channel,
    own_pid_ns: bool,
}

impl Container {
    /// Creates the container `id` from the bundle at `bundle`: when this returns, the init is
    /// set up, waiting for [`Container::start`], and the container's status is `created`.
    ///
    /// Crash-safe: each side effect is named in the intent record before it happens (see
    /// [`crate::intent`]), and the init exits by itself if this process dies before the final
    /// handover, so `delete --force` can always undo a create killed at any instant.
    pub(crate) fn create(id: &str, bundle: Bundle, mut opts: CreateOptions) -> Result<Container> {
        validate_id(id)?;
        trace::step(
            "config loaded",
            &[("bundle", bundle.dir.display().to_string())],
        );
        let root = absolute(&opts.root);
        let spec = &bundle.spec;
        let linux = spec.linux().as_ref().expect("validated: linux is present");
        let config = bundle.dir.join("config.json");
        // What the host must allow: checked when unprivileged, namespace files opened.
        let mut ns = plan_namespaces(&bundle)?;
        // Where the cgroup will be: resolved, not made.
        let (mut cgroup, cgroup_path) = resolve_cgroup(linux, id, &opts)?;
        // systemd driver: connect and build the unit's properties now, before any clone (a
        // missing bus or a bad org.systemd.property.* annotation fails with no process made).
        let annotations = spec.annotations().clone().unwrap_or_default();
        let resources = resources_with_default_devices(linux);
        let unit_start = cgroup.prepare(&resources, &annotations)?;
        // Intel RDT: the host's resctrl checked and the group resolved, not made.
        let rdt = plan_intel_rdt(linux, id, opts.resctrl.take(), &config)?;
        let intent = new_intent(id, &bundle, &cgroup, rdt.clone())?;
        // How the init leaves this binary: the exec stub, unless the binary is protected or
        // this config rules the stub out (then warn, or refuse before anything is made).
        let route = opts
            .route
            .take()
            .unwrap_or_else(|| crate::protect::route(spec, None, false));
        let (stub, unprotected) = crate::protect::launch(route, opts.unprotected)?;
        // Joining another container's pid namespace: its exec'd processes are visible to ours
        // before their execve, so they must not use the exec stub from now on.
        if let Some(join) = &ns.pid_join {
            mark_pid_namespace_owner(&root, join)?;
        }

        // 1. The name: the state directory, made and locked.
        let mut c = Creating::take_name(&root, intent)?;
        trace::step("state directory created", &[]);

        // 2. The intent record, before the first side effect: what `delete --force` undoes.
        intent::write(&c.dir, &c.intent)?;
        fault::point("create: intent recorded");

        // 3. The cgroup, in every hierarchy. One that already has processes is shared, as
        //    runc 1.1.5 shares it (with its warning; runc 1.2 and later refuse it).
        //    Unprivileged, a cgroup we may not create is skipped unless a limit needs it.
        //    A new network namespace is made by the init itself, while this process works on
        //    after the clone: on a v1 host it makes the v1 directories then (the init joins
        //    them after `Go`); with the systemd driver it starts the unit.
        let net_in_init = !opts.rootless && ns.make_network_in_init();
        let v1_later = net_in_init && cgroup.has_v1_dirs();
        let named = cgroup_path.is_some();
        let found = make_cgroup(&mut c, &mut cgroup, (opts.rootless, named), v1_later)?;
        fault::point("create: cgroup made");
        let shown = cgroup_path.clone().unwrap_or_default();
        trace::step("cgroup created", &[("cgroupsPath", shown)]);
        let mut warnings = bundle.warnings.clone();
        warnings.extend((found > 0).then(|| shared_cgroup_warning(found)));
        warnings.extend(unprotected);

        // 4. The init: cloned, recorded, placed, told to go, waited for until ready.
        let launch = (ns, stub.as_ref());
        let place = (&cgroup, unit_start, v1_later);
        let init = spawn_init(&mut c, &bundle, &mut opts, launch, place)?;

        // 5. Limits apply from here, once the init's set-up (not the container's work) is done.
        cgroup
            .apply(&resources)
            .map_err(|e| cgroup_error(e, &config))?;
        fault::point("create: limits applied");
        trace::step("cgroup limits applied", &[]);

        // 6. Intel RDT: the group (named in the intent record already), its schemata, the init.
        let rdt = apply_intel_rdt(&mut c, linux, rdt, init.pid, &config)?;

        // 7. The full state, then the pid file the caller may be waiting for.
        let st = persisted(&bundle, &c.intent, &init, (cgroup, rdt));
        state::save(&c.dir, &st)?;
        fault::point("create: state saved");
        trace::step("container created", &[("id", c.intent.id.clone())]);
        if let Some(p) = &opts.pid_file {
            write_pid_file(&absolute(p), init.pid)?;
            fault::point("create: pid file written");
        }

        // 8. Handover: from now on the init waits for `start`, whatever becomes of us.
        init.channel
            .send(&Message::Handover)
            .map_err(Error::sys("hand over to the container's init"))
            .map_err(|e| init_failure_or(&init.channel, &c, spec, e))?;
        c.rollback.armed = false;
        Ok(Container {
            dir: c.dir.clone(),
            st,
            child: c.rollback.child.take(),
            warnings,
            pipes: Pipes::default(),
        })
    }
}

/// Marks the container of this root whose init owns the pid namespace `join` opened (same
/// namespace inode) with the exec stub's marker (exec_stub.rs): a container joining another's
/// pid namespace sees that one's exec'd processes while they are still the runtime's binary.
/// Containers of other roots or runtimes are not found; the README says so.
fn mark_pid_namespace_owner(root: &Path, join: &namespaces::Join) -> Result<()> {
    let ns = sys::fstat(join.fd.as_fd(), &join.path).map_err(Error::sys("stat pid namespace"))?;
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(());
    };
    for dir in entries.flatten().map(|e| e.path()) {
        let intent::Read::Found(intent) = intent::read(&dir) else {
            continue;
        };
        let Some(init) = intent.init else { continue };
        let theirs = std::fs::metadata(format!("/proc/{}/ns/pid", init.pid));
        let same = theirs.is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.ino() == ns.st_ino && m.dev() == ns.st_dev
        });
        if same {
            let marker = crate::exec_stub::no_stub_marker(&dir);
            std::fs::write(&marker, b"").map_err(|e| Error::state(&marker, e))?;
        }
    }
    Ok(())
}

/// The init's name while it waits for `start`. Through the exec stub it is the runtime's name
/// again from the stub's first system calls on (exec_stub.rs), but for the few microseconds
/// after the init's `execveat` of the stub and before them it is what the kernel names an
/// fd-based exec: the fd's number (older kernels) or the memfd's name ("memfd:runr-exec",
/// newer ones). Neither is an init's name before `start`: such a name is read again until it
/// passes.
fn init_comm_before_start(pid: i32) -> Option<String> {
    let transient = |c: &Option<String>| {
        c.as_deref().is_some_and(|n| {
            let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
            digits || n.starts_with("memfd:runr")
        })
    };
    let mut comm = sys::proc_comm(pid);
    for _ in 0..100 {
        if !transient(&comm) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_micros(100));
        comm = sys::proc_comm(pid);
    }
    comm
}

/// The container's cgroup manager (cgroupfs, systemd, or the user's systemd) and the
/// `cgroupsPath` it was resolved from; nothing is made.
fn resolve_cgroup(
    linux: &oci_spec::runtime::Linux,
    id: &str,
    opts: &CreateOptions,
) -> Result<(cgroups::Manager, Option<String>)> {
    let cgroup_path = linux
        .cgroups_path()
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    let manager = if opts.systemd_cgroup && crate::rootless::systemd_user(opts.rootless) {
        cgroups::Manager::new_systemd_user(cgroup_path.as_deref(), id)?
    } else {
        cgroups::Manager::new(cgroup_path.as_deref(), id, opts.systemd_cgroup)?
    };
    Ok((manager, cgroup_path))
}

/// An unprivileged runtime can only make a container whose root is itself (runc's checks);
/// namespace files are opened here, on the host, where their paths mean what they say.
fn plan_namespaces(bundle: &Bundle) -> Result<NamespacePlan> {
    let spec = &bundle.spec;
    let linux = spec.linux().as_ref().expect("validated: linux is present");
    let process = spec
        .process()
        .as_ref()
        .expect("validated: process is present");
    let config = bundle.dir.join("config.json");
    if crate::rootless::rootless_euid() {
        crate::rootless::check_config(linux, process, &config)?;
    }
    namespaces::plan(linux).map_err(|(i, e)| {
        Error::config(
            &config,
            format!("linux.namespaces[{i}].path"),
            e.to_string(),
        )
    })
}

/// `linux.intelRdt` checked against the resctrl filesystem (the builder's, else the host's, in
/// runc's words where it has none) and its group resolved; `None` without the field (the spec:
/// then resctrl is not touched).
fn plan_intel_rdt(
    linux: &oci_spec::runtime::Linux,
    id: &str,
    resctrl: Option<crate::intel_rdt::Resctrl>,
    config: &Path,
) -> Result<Option<RdtGroup>> {
    let Some(rdt) = linux.intel_rdt() else {
        return Ok(None);
    };
    let resctrl = resctrl.or_else(crate::intel_rdt::Resctrl::find);
    let bad = |(field, reason)| Error::config(config, field, reason);
    crate::intel_rdt::check_host(rdt, resctrl.as_ref()).map_err(bad)?;
    let resctrl = resctrl.expect("checked: resctrl is there");
    RdtGroup::plan(&resctrl, rdt, id).map(Some).map_err(bad)
}

/// Step 6 of create: the resctrl group made (rolled back as delete removes it), its schemata
/// written and the init put in it.
fn apply_intel_rdt(
    c: &mut Creating,
    linux: &oci_spec::runtime::Linux,
    group: Option<RdtGroup>,
    pid: i32,
    config: &Path,
) -> Result<Option<RdtGroup>> {
    let (Some(rdt), Some(mut group)) = (linux.intel_rdt(), group) else {
        return Ok(None);
    };
    let applied = group.apply(rdt, pid);
    // The rollback removes what apply made, as it found it (a group that appeared since the
    // plan is not ours: apply cleared `remove`).
    c.rollback.rdt = Some(group.clone());
    applied.map_err(|(field, reason)| Error::config(config, field, reason))?;
    fault::point("create: intel rdt applied");
    trace::step(
        "intel rdt applied",
        &[("group", group.path.display().to_string())],
    );
    Ok(Some(group))
}

/// A cgroup error of `apply`: a config error naming the field when it is one.
fn cgroup_error(e: cgroups::Error, config: &Path) -> Error {
    match e.config_field() {
        Some((field, reason)) => Error::config(config, field, reason),
        None => Error::Cgroup(e),
    }
}

/// runc 1.1.5's warning for a cgroup that already has processes.
fn shared_cgroup_warning(found: usize) -> String {
    format!("container's cgroup is not empty: {found} process(es) found")
}

/// The intent record of a create about to start: nothing made yet, the cgroup resolved.
fn new_intent(
    id: &str,
    bundle: &Bundle,
    cgroup: &cgroups::Manager,
    intel_rdt: Option<RdtGroup>,
) -> Result<Intent> {
    let spec = &bundle.spec;
    Ok(Intent {
        version: intent::VERSION,
        id: id.to_string(),
        oci_version: spec.version().clone(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: state::now_rfc3339(),
        boot_id: sys::boot_id().map_err(Error::sys("read boot id"))?,
        cgroup: CgroupRecord::Cgroupfs {
            manager: cgroup.clone(),
        },
        init: None,
        intel_rdt,
        // Known before the record is written: a `delete --force` after a crash must then
        // not kill the processes of whoever else uses the cgroup.
        shared_cgroup: cgroup.in_use()? > 0,
    })
}

/// Step 3 of create: the cgroup in every hierarchy, named for the rollback first. Returns how
/// many processes it already had (shared, as runc 1.1.5 shares it). Unprivileged, a hierarchy
/// we may not create is skipped when the config names no cgroupsPath (`named`).
/// `v1_later`: the v1 directories are left to `spawn_init`, after the clone.
fn make_cgroup(
    c: &mut Creating,
    cgroup: &mut cgroups::Manager,
    (rootless, named): (bool, bool),
    v1_later: bool,
) -> Result<usize> {
    c.rollback.cgroup = Some(cgroup.clone());
    let made = if rootless {
        cgroup
            .create_rootless(!named)
            .map(|()| usize::from(c.intent.shared_cgroup))
    } else if v1_later {
        cgroup.create_but_v1()
    } else {
        cgroup.create()
    };
    let found = match made {
        Ok(found) => found,
        Err(e @ cgroups::Error::Frozen { .. }) => {
            // Refused before anything was made: the frozen cgroup is someone else's.
            c.rollback.cgroup = None;
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    c.rollback.cgroup_shared = found > 0;
    if rootless {
        // What was skipped is not the container's: the record and the undo name the rest.
        c.rollback.cgroup = Some(cgroup.clone());
        c.intent.cgroup = CgroupRecord::Cgroupfs {
            manager: cgroup.clone(),
        };
        intent::write(&c.dir, &c.intent)?;
    }
    Ok(found)
}

/// The full state of a created container.
fn persisted(
    bundle: &Bundle,
    intent: &Intent,
    init: &ReadyInit,
    (cgroup, intel_rdt): (cgroups::Manager, Option<RdtGroup>),
) -> Persisted {
    let spec = &bundle.spec;
    Persisted {
        version: state::VERSION,
        id: intent.id.clone(),
        oci_version: spec.version().clone(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: intent.created.clone(),
        pid: init.pid,
        pid_start: init.start,
        annotations: spec.annotations().clone().unwrap_or_default(),
        spec: spec.clone(),
        cgroup,
        own_pid_ns: init.own_pid_ns,
        intel_rdt,
    }
}

/// Step 4 of create: the exec fifo and the channel, the clone, then the init's set-up until it
/// reports ready (running the parent's hooks when it asks).
fn spawn_init(
    c: &mut Creating,
    bundle: &Bundle,
    opts: &mut CreateOptions,
    (ns, stub): (NamespacePlan, Option<&ExecStub>),
    (cgroup, unit_start, v1_later): (&cgroups::Manager, cgroups::Prepared, bool),
) -> Result<ReadyInit> {
    let spec = &bundle.spec;
    let linux = spec.linux().as_ref().expect("validated: linux is present");
    let config = bundle.dir.join("config.json");
    // The fifo `start` opens, the channel to the init, the console socket.
    let fifo = make_exec_fifo(&c.dir)?;
    let (parent_end, init_end) = sync::pair().map_err(Error::sys("create sync socket"))?;
    let console_socket = init_console(bundle, opts)?;
    let hook_state = hook_state(&c.intent.id, bundle, spec);
    // With a new user namespace the init cannot write the host's cgroup files: we place it.
    let parent_places_init = ns.new_user;
    let (clone_cgroup, cgroup_join) = init_cgroup_entry(cgroup, parent_places_init)?;
    // The seccomp filter is compiled once, here; the init only loads the bytes.
    let seccomp = compile_seccomp(&opts.root, linux, &config)?;
    // Bind sources the container's root may not reach, opened now, as the host's root.
    let detached_sources = detach_sources(bundle, ns.any_user)?;
    let id = c.intent.id.clone();
    let args = InitArgs {
        id: &id,
        spec,
        bundle: &bundle.dir,
        rootfs: &bundle.rootfs,
        channel: init_end,
        exec_fifo: fifo,
        console_socket,
        joins: ns.joins,
        unshare: ns.unshare_in_init,
        unshare_first: ns.unshare_first,
        // Root of a user namespace we did not make (rootless podman) can no more mknod than the
        // root of one we make.
        userns: ns.any_user || crate::rootless::running_in_user_ns(),
        new_userns: ns.new_user,
        cgroupns: ns.new_cgroup,
        fork_for_pid: ns.fork_for_pid,
        user_after_joins: ns.user_after_joins,
        cgroup_join,
        join_before_go: cgroup.systemd_unit().is_none() && !v1_later,
        no_pivot: opts.no_pivot,
        mount_ns: ns.own_mount,
        detached_sources,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        extra_env: std::mem::take(&mut opts.extra_env),
        stdio: std::mem::take(&mut opts.stdio),
        parent_hooks: needs_parent_hooks(spec),
        net_devices: linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()),
        hook_state: hook_state.clone(),
        stub,
        seccomp: seccomp.as_ref(),
    };
    // An unprivileged runtime writes the id maps of a child that is still dumpable (clone.rs).
    let maps_by_unprivileged = ns.new_user && crate::rootless::rootless_euid();
    let fork = (
        ns.clone_flags,
        clone_cgroup.as_ref(),
        ns.pid_join.as_ref(),
        maps_by_unprivileged,
    );
    // The clone, named for the rollback and in the intent record at once.
    let mut pid = clone_and_record(c, args, fork, &parent_end, &unit_start)?;
    let placed = (|| {
        // systemd driver: the unit is started with the init in it, and exists when this
        // returns.
        cgroup.enter(pid, unit_start)?;
        fault::point("create: unit started");
        // The v1 directories, while the init makes its network namespace.
        if v1_later {
            cgroup.create_v1_dirs()?;
            fault::point("create: v1 cgroups made");
        }
        let place = parent_places_init && clone_cgroup.is_none();
        // With namespaces joined by path first, the user namespace comes later (UserNsCreated).
        let maps = (ns.new_user && !ns.user_after_joins).then_some(linux);
        let_init_go(&parent_end, pid, maps, place.then_some(cgroup), &config)
    })();
    // The init's first steps run before Go: a failure of its own is the one to report.
    placed.map_err(|e| init_failure_or(&parent_end, c, spec, e))?;
    // The init's record durable while the init sets itself up (the flush overlaps its work).
    c.sync_record()?;
    wait_ready(&parent_end, c, &mut pid, spec, &hook_state)?;
    fault::point("create: init ready");
    trace::step("init ready", &[("pid", pid.to_string())]);
    Ok(ReadyInit {
        pid,
        start: recorded_start(c, pid)?,
        channel: parent_end,
        own_pid_ns: ns.new_pid,
    })
}

/// The init's start time as recorded with its pid (record_init), read again only when the pid
/// is another (a pid namespace's extra fork): never a made-up 0.
fn recorded_start(c: &Creating, pid: i32) -> Result<u64> {
    match c.intent.init {
        Some(init) if init.pid == pid => Ok(init.start),
        _ => Ok(InitRecord::of(pid)?.start),
    }
}

/// Whether the spec has prestart or createRuntime hooks (the init asks for them to be run).
fn needs_parent_hooks(spec: &Spec) -> bool {
    let hooks = spec.hooks().as_ref();
    !HookKind::Prestart.list(hooks).is_empty() || !HookKind::CreateRuntime.list(hooks).is_empty()
}

/// The console socket the init sends its terminal over, when the process asks for one (a
/// terminal together with redirected stdio is refused).
fn init_console(bundle: &Bundle, opts: &mut CreateOptions) -> Result<Option<OwnedFd>> {
    let config = bundle.dir.join("config.json");
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    stdio::refuse_with_terminal(&opts.stdio, terminal, &config)?;
    connect_console(std::mem::take(&mut opts.console), terminal, &config)
}

/// Clones the init (which holds neither the lock nor the D-Bus connection), names it for the
/// rollback and records it in the intent record. Returns its pid.
fn clone_and_record(
    c: &mut Creating,
    args: InitArgs<'_>,
    fork: ForkPlan<'_>,
    parent_end: &Channel,
    unit_start: &cgroups::Prepared,
) -> Result<i32> {
    let not_for_init = [c.lock.as_ref().map(Lock::raw_fd), unit_start.fd()];
    let spawned = clone_init(args, fork, parent_end.raw_fd(), not_for_init)?;
    let pid = spawned.pid.as_raw();
    c.rollback.child = Some(spawned);
    fault::point("create: init cloned");
    trace::step("init cloned", &[("pid", pid.to_string())]);
    c.record_init(pid)?;
    Ok(pid)
}

/// How the init joins its cgroup: the v2 directory it is born in (CLONE_INTO_CGROUP, also the
/// unified one on a hybrid host) and the v1 files it moves itself into, both without the
/// parent's slow cgroup.procs write. With a new user namespace the init cannot write the
/// host's cgroup files: the parent places it (`parent_places`). The systemd driver's unit
/// cgroup does not exist before its first process: systemd moves the init in when it starts
/// the unit (after the clone).
fn init_cgroup_entry(
    cgroup: &cgroups::Manager,
    parent_places: bool,
) -> Result<(Option<OwnedFd>, Vec<PathBuf>)> {
    if cgroup.systemd_unit().is_some() {
        let join = match parent_places {
            true => Vec::new(),
            false => cgroup.v1_self_join_files(),
        };
        return Ok((None, join));
    }
    Ok(match parent_places {
        true => (cgroup.v2_dir_fd()?, Vec::new()),
        false => (cgroup.unified_dir_fd()?, cgroup.v1_self_join_files()),
    })
}

/// With a user namespace the init works as the container's root, who may not reach a bind
/// source (a directory inside a mode-700 host directory): they are opened now, as root.
/// Idmapped mounts need the host's root on a detached tree too. (An unprivileged runtime
/// reaches nothing its container's root could not, and may not clone mount trees of the
/// host's mount namespace.)
fn detach_sources(bundle: &Bundle, any_user: bool) -> Result<Vec<Option<OwnedFd>>> {
    let spec = &bundle.spec;
    let linux = spec.linux().as_ref().expect("validated: linux is present");
    let config = bundle.dir.join("config.json");
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    let reach = any_user && !crate::rootless::rootless_euid();
    crate::mounts::detach_bind_sources(mounts, linux, &bundle.dir, reach).map_err(
        |(i, field, reason)| Error::config(&config, format!("mounts[{i}].{field}"), reason),
    )
}

/// What only the parent can do for the init (a new user namespace's id maps, the cgroup it
/// could not join by itself), then `Go`.
fn let_init_go(
    ch: &Channel,
    pid: i32,
    id_maps: Option<&oci_spec::runtime::Linux>,
    place_in: Option<&cgroups::Manager>,
    config: &Path,
) -> Result<()> {
    if let Some(linux) = id_maps {
        user::write_id_maps(pid, linux)
            .map_err(|(field, reason)| Error::config(config, field, reason))?;
    }
    if let Some(cgroup) = place_in {
        cgroup.add_task(pid)?;
    }
    ch.send(&Message::Go { pid })
        .map_err(Error::sys("signal container init"))?;
    fault::point("create: init told to go");
    Ok(())
}

fn compile_seccomp(
    root: &Path,
    linux: &oci_spec::runtime::Linux,
    config: &Path,
) -> Result<Option<crate::seccomp::Compiled>> {
    let Some(sc) = linux.seccomp() else {
        return Ok(None);
    };
    crate::seccomp_cache::compile(root, sc)
        .map(Some)
        .map_err(|(field, reason)| Error::config(config, field, reason))
}

/// The exec fifo `start` writes into, and the init's (non-blocking) read end of it.
fn make_exec_fifo(dir: &Path) -> Result<OwnedFd> {
    let fifo_path = dir.join(EXEC_FIFO);
    sys::mkfifo(&fifo_path, 0o600).map_err(Error::sys("create exec fifo"))?;
    fault::point("create: exec fifo made");
    sys::open(
        &fifo_path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK,
        Mode::empty(),
    )
    .map_err(Error::sys("open exec fifo"))
}

/// The clone's flags, cgroup fd and pid namespace to join, and whether the child must be born
/// dumpable for an unprivileged parent to write its id maps.
type ForkPlan<'a> = (
    nix::sched::CloneFlags,
    Option<&'a OwnedFd>,
    Option<&'a namespaces::Join>,
    bool,
);

/// The one clone of the init; the child runs [`init::run`] and never returns here.
fn clone_init(
    args: InitArgs<'_>,
    (flags, cgroup, pid_join, maps_by_unprivileged): ForkPlan<'_>,
    parent_raw: std::os::fd::RawFd,
    not_for_init: [Option<std::os::fd::RawFd>; 2],
) -> Result<Spawned> {
    let cgroup_raw = cgroup.map(std::os::fd::AsRawFd::as_raw_fd);
    let mut args = Some(args);
    let cgroup_fd = cgroup.map(|f| f.as_fd());
    let spawned = clone::spawn_init(flags, cgroup_fd, pid_join, maps_by_unprivileged, || {
        // The parent's end of the channel, its lock and the host cgroup directory are not the
        // init's to hold (a host directory fd would be a way out through
        // `cwd: /proc/self/fd/N`, CVE-2024-21626).
        // SAFETY: in the fresh child, which never uses or drops these fds (it leaves through
        // execve or _exit).
        #[allow(unsafe_code)]
        unsafe {
            sys::close_in_child(parent_raw);
            for fd in not_for_init.into_iter().flatten() {
                sys::close_in_child(fd);
            }
            if let Some(fd) = cgroup_raw {
                sys::close_in_child(fd);
            }
        }
        if let Some(args) = args.take() {
            init::run(args);
        }
    });
    // The init's copies of its fds live in the child; the parent's go now, so that EOF on the
    // channel means the init is gone.
    drop(args);
    spawned.map_err(Error::sys("clone container init"))
}

impl Container {
    /// Loads the container `id` from the state root.
    pub fn load(root: &Path, id: &str) -> Result<Container> {
        validate_id(id)?;
        let dir = absolute(root).join(id);
        if !dir.join(state::STATE_FILE).exists() {
            return Err(Error::NotFound(id.to_string()));
        }
        let st = state::load(&dir)?;
        Ok(Container {
            dir,
            st,
            child: None,
            warnings: Vec::new(),
            pipes: Pipes::default(),
        })
    }

    /// What `create` accepted but did not use (unknown capability names): for the caller to
    /// report, as runc logs them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        &self.st.id
    }

    /// The init's pid on the host.
    pub fn pid(&self) -> i32 {
        self.st.pid
    }

    /// The spec (config.json) the container was created from.
    pub fn spec(&self) -> &Spec {
        &self.st.spec
    }

    /// The container's cgroup.
    pub fn cgroup(&self) -> &cgroups::Manager {
        &self.st.cgroup
    }

    /// The container's status now (read from its init and cgroup, not cached);
    /// [`Error::InitUnknown`] when the init's /proc entry cannot be read.
    pub fn status(&self) -> Result<Status> {
        state::status(&self.dir, &self.st)
    }

    /// The OCI state in runc's shape (pid 0 once stopped); [`Error::InitUnknown`] when the
    /// init's /proc entry cannot be read.
    pub fn state(&self) -> Result<ContainerState> {
        let status = self.status()?;
        Ok(ContainerState {
            oci_version: self.st.oci_version.clone(),
            id: self.st.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.st.pid
            },
            status,
            bundle: self.st.bundle.clone(),
            rootfs: self.st.rootfs.clone(),
            created: self.st.created.clone(),
            annotations: self.st.annotations.clone(),
            owner: String::new(),
        })
    }

    /// Lets the init exec the container's process, then runs the poststart hooks. A failing
    /// one fails `start` and stops the container (runtime-spec 1.3, runc 1.2+): the error names
    /// it, the hooks after it do not run, and the container is left stopped for `delete`. The
    /// outcome's warnings are empty today (kept for callers that report them).
    pub fn start(&mut self) -> Result<Outcome> {
        let lock = Lock::take(&self.dir)?;
        match self.status()? {
            Status::Created => {}
            Status::Stopped => {
                return Err(
                    self.wrong_status(Status::Stopped, "cannot start a container that has stopped")
                )
            }
            status => {
                return Err(self.wrong_status(status, "cannot start an already running container"))
            }
        }
        let fifo_path = self.dir.join(EXEC_FIFO);
        let fifo = match sys::open(
            &fifo_path,
            OFlag::O_WRONLY | OFlag::O_NONBLOCK,
            Mode::empty(),
        ) {
            Err(e) if e.errno == Errno::ENXIO => {
                return Err(self.wrong_status(
                    Status::Stopped,
                    "cannot start: the container's init is no longer waiting",
                ))
            }
            other => other.map_err(Error::sys("open exec fifo"))?,
        };
        // The init's name before it execs: after the fifo closes, an unchanged name means it
        // died before running the container's process (a startContainer hook or exec failed).
        let comm = init_comm_before_start(self.st.pid);
        let pidfd = sys::pidfd_open(self.st.pid).ok();
        fault::point("start: fifo opened");
        sys::write_all(fifo.as_fd(), b"0", Some(&fifo_path))
            .map_err(Error::sys("start container"))?;
        trace::step("init told to start", &[("pid", self.st.pid.to_string())]);
        fault::point("start: init released");
        std::fs::remove_file(&fifo_path).map_err(|e| Error::state(&fifo_path, e))?;
        fault::point("start: fifo removed");
        // The transition is made; the rest is user code (startContainer hooks in the init,
        // poststart hooks here), which may call `runr state|kill` on this container.
        drop(lock);
        // The init holds the fifo's read end until it execs (close-on-exec): when the write end
        // reports the reader gone, the container's process runs (or the init died), and the
        // poststart hooks may run, as the spec orders.
        let _ = sys::poll_writer_hangup(fifo.as_fd(), 60_000);
        drop(fifo);
        if comm.is_some() && sys::proc_comm(self.st.pid) == comm {
            let died = pidfd
                .as_ref()
                .is_some_and(|fd| sys::pidfd_wait_exit(fd.as_fd(), 1_000).unwrap_or(false));
            if died {
                return Err(self.wrong_status(
                    Status::Stopped,
                    "the container's init exited before it ran process.args (a startContainer \
                     hook or the exec failed: see the container's stderr); poststart hooks not run",
                ));
            }
        }
        trace::step("container process running", &[]);
        let st = self.hook_state(Status::Running);
        // runtime-spec 1.3 (runc 1.2+): a failing poststart hook fails `start`, stops the
        // container, and the hooks after it do not run.
        if let Err(e) = run_hook_list(HookKind::Poststart, &self.st.spec, &st) {
            self.stop_after_failed_poststart(pidfd.as_ref());
            return Err(e);
        }
        trace::step("poststart hooks done", &[]);
        Ok(Outcome::default())
    }

    /// After a failed poststart hook: SIGKILL (every process when the pid namespace is shared,
    /// as [`Container::kill`] does), then wait a while for the init to be gone, so the caller
    /// sees the container stopped (runc waits for its init there too).
    fn stop_after_failed_poststart(&self, pidfd: Option<&OwnedFd>) {
        let _ = self.kill(Signal::KILL, KillTarget::Init);
        if let Some(fd) = pidfd {
            let _ = sys::pidfd_wait_exit(fd.as_fd(), 10_000);
        }
    }

    /// Sends `signal` to the init, or to every process in the container's cgroup.
    /// SIGKILL to a container without a pid namespace of its own reaches every process also for
    /// [`KillTarget::Init`] (runc 1.2+: killing its init would leave the others running; with
    /// its own pid namespace the kernel kills them with the init), through `cgroup.kill` where
    /// there is one.
    pub fn kill(&self, signal: Signal, target: KillTarget) -> Result<()> {
        let signal = signal.as_raw();
        let all = target == KillTarget::AllProcesses;
        let _lock = Lock::take(&self.dir)?;
        let stopped = self.status()? == Status::Stopped;
        let all = all || (signal == libc::SIGKILL && !self.st.own_pid_ns);
        // Without a cgroup of its own (rootless, skipped) only the init can be signalled.
        if all && self.st.cgroup.has_cgroup() {
            // As runc: every process in the cgroup, even once the init is gone (without a pid
            // namespace of its own, its children outlive it); none left (or no cgroup left) is
            // not an error, whatever the signal.
            if stopped && self.st.cgroup.pids().unwrap_or_default().is_empty() {
                return Ok(());
            }
            return Ok(self.st.cgroup.kill_all(signal)?);
        }
        if stopped {
            return Err(Error::NotRunning(self.st.id.clone()));
        }
        self.signal_init(signal)
    }

    /// Signals the init through a pidfd opened after checking its start time, so a recycled pid
    /// can never be hit.
    fn signal_init(&self, signal: i32) -> Result<()> {
        let pidfd = match sys::pidfd_open(self.st.pid) {
            Err(e) if e.errno == Errno::ESRCH => return Err(Error::NotRunning(self.st.id.clone())),
            other => other.map_err(Error::sys("kill"))?,
        };
        if !state::init_alive(&self.st)? {
            return Err(Error::NotRunning(self.st.id.clone()));
        }
        sys::pidfd_send_signal(pidfd.as_fd(), signal)
            .map_err(Error::sys(format!("kill {}", self.st.pid)))
    }

    /// Deletes the container: stops what is left of it (a created container, or any container
    /// with `force`), removes its cgroup and state, then runs the poststop hooks (their failures
    /// are the outcome's warnings).
    pub fn delete(self, force: bool) -> Result<Outcome> {
        let lock = Lock::take(&self.dir)?;
        match self.status()? {
            Status::Stopped => {}
            Status::Created => self.kill_and_wait()?,
            status if force => {
                let _ = status;
                self.kill_and_wait()?
            }
            status => {
                return Err(self.wrong_status(
                    status,
                    &format!(
                        "cannot delete container {} that is not stopped: {status}",
                        self.st.id
                    ),
                ))
            }
        }
        fault::point("delete: container killed");
        trace::step("container stopped", &[]);
        let mut warnings = self.remove_cgroup()?;
        fault::point("delete: cgroup removed");
        trace::step("cgroup removed", &[]);
        if let Some(g) = &self.st.intel_rdt {
            g.remove().map_err(|error| Error::Sys {
                context: format!("remove the resctrl group of container {}", self.st.id),
                error,
            })?;
            trace::step("intel rdt group removed", &[]);
        }
        crate::recovery::remove_state_dir(&self.dir).map_err(|e| Error::state(&self.dir, e))?;
        trace::step("state directory removed", &[]);
        drop(lock);
        let st = self.hook_state(Status::Stopped);
        warnings.extend(run_hooks_as_warnings(
            HookKind::Poststop,
            &self.st.spec,
            &st,
        ));
        trace::step("poststop hooks done", &[]);
        Ok(Outcome::with(warnings))
    }

    /// Removes the container's cgroup once its init is gone. With its own pid namespace nothing
    /// of the container can be left (the kernel kills the namespace with its init), so anything
    /// still in the cgroup belongs to a container sharing it: the cgroup is left to it, with a
    /// warning, as runc leaves it. Without one, whatever is left is the container's and is
    /// killed.
    fn remove_cgroup(&self) -> Result<Vec<Warning>> {
        if !self.st.own_pid_ns {
            self.st.cgroup.destroy()?;
            return Ok(Vec::new());
        }
        match self.st.cgroup.release() {
            Ok(()) => Ok(Vec::new()),
            Err(e @ cgroups::Error::InUse { .. }) => Ok(vec![Warning::CgroupInUse(e)]),
            Err(e) => Err(e.into()),
        }
    }

    /// SIGKILLs the container (all of it) and waits until the init is gone.
    fn kill_and_wait(&self) -> Result<()> {
        let pidfd = match sys::pidfd_open(self.st.pid) {
            Ok(fd) if state::init_alive(&self.st)? => Some(fd),
            _ => None,
        };
        if let Some(fd) = &pidfd {
            let _ = sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
        }
        if !self.st.own_pid_ns {
            let _ = self.st.cgroup.kill_all(libc::SIGKILL);
        }
        // A frozen process cannot die: thaw so the SIGKILL is delivered (unconditionally: a
        // pause killed half-way may have left the cgroup FREEZING, which is_frozen does not say).
        let _ = self.st.cgroup.thaw();
        if let Some(fd) = &pidfd {
            if let Some(child) = &self.child {
                sys::waitpid(child.pid.as_raw()).map_err(Error::sys("wait for container init"))?;
            } else if !sys::pidfd_wait_exit(fd.as_fd(), 10_000).unwrap_or(false) {
                return Err(Error::Sys {
                    context: format!("container {} did not die after SIGKILL", self.st.id),
                    error: sys::SysError::new(sys::SysOp::Wait, None, Errno::ETIMEDOUT),
                });
            }
        }
        Ok(())
    }

    /// Waits for the container's init to exit. Only possible in the process that created it.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        let Some(child) = self.child.take() else {
            return Err(self.wrong_status(
                self.status()?,
                "only the process that created a container can wait for it",
            ));
        };
        let raw =
            sys::waitpid(child.pid.as_raw()).map_err(Error::sys("wait for container init"))?;
        Ok(ExitStatus::from_raw(raw))
    }

    /// A pidfd for the init, when this process created it (for callers that poll).
    pub fn init_pidfd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.child.as_ref().map(|c| c.pidfd.as_fd())
    }

    /// The state hooks get on stdin, with the status the hook's moment has.
    pub(crate) fn hook_state(&self, status: Status) -> serde_json::Value {
        serde_json::json!({
            "ociVersion": self.st.oci_version,
            "id": self.st.id,
            "status": status.as_str(),
            "pid": self.st.pid,
            "bundle": self.st.bundle,
            "annotations": self.st.annotations,
        })
    }

    pub(crate) fn wrong_status(&self, status: Status, message: &str) -> Error {
        Error::WrongStatus {
            id: self.st.id.clone(),
            status,
            message: message.to_string(),
        }
    }
}

/// The spec's resources with runc's default device rules appended after the spec's own: the
/// devices every container may use (null, zero, full, random, urandom, tty, ptys, tun). A
/// `linux.devices` node gets no rule of its own, as in runc: it is usable only if
/// `linux.resources.devices` allows it (Docker's `--device` adds such a rule).
fn resources_with_default_devices(
    linux: &oci_spec::runtime::Linux,
) -> oci_spec::runtime::LinuxResources {
    let mut res = linux.resources().clone().unwrap_or_default();
    let mut rules = res.devices().clone().unwrap_or_default();
    rules.extend(cgroups::default_device_rules());
    res.set_devices(Some(rules));
    res
}

fn make_root(root: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(root)
        .map_err(|e| Error::state(root, e))
}

pub(crate) fn connect_console(
    console: Console,
    terminal: bool,
    config: &Path,
) -> Result<Option<OwnedFd>> {
    let bad = |reason: &str| Error::config(config, "process.terminal", reason);
    match (console, terminal) {
        (Console::None, true) => Err(bad(
            "a terminal was requested but no console socket was given",
        )),
        (Console::None, false) | (Console::Offered(_), false) => Ok(None),
        (_, false) => Err(bad(
            "a console socket was given but process.terminal is false",
        )),
        (Console::Connected(fd), true) | (Console::Offered(fd), true) => Ok(Some(fd)),
        (Console::Socket(path), true) => {
            let stream = UnixStream::connect(&path).map_err(|e| Error::Sys {
                context: "connect to console socket".into(),
                error: sys::SysError::new(sys::SysOp::Connect, Some(&path), sys::errno_of(&e)),
            })?;
            Ok(Some(stream.into()))
        }
    }
}

fn hook_state(id: &str, bundle: &Bundle, spec: &Spec) -> serde_json::Value {
    serde_json::json!({
        "ociVersion": spec.version(),
        "id": id,
        "status": "creating",
        "pid": 0,
        "bundle": bundle.dir,
        "annotations": spec.annotations().clone().unwrap_or_default(),
    })
}

/// The parent's side of the protocol until the init reports ready (see `process::sync`).
fn wait_ready(
    ch: &Channel,
    c: &mut Creating,
    pid: &mut i32,
    spec: &Spec,
    base: &serde_json::Value,
) -> Result<()> {
    loop {
        let pid_now = *pid;
        let msg = ch.recv().map_err(Error::sys("read from container init"))?;
        let mut st = base.clone();
        st["pid"] = pid_now.into();
        match msg {
            Some(Message::SeccompListener { fd }) => {
                let Some(child) = c.rollback.child.as_ref() else {
                    return Err(protocol_error("seccomp listener before the init exists"));
                };
                take_seccomp_listener(ch, child.pidfd.as_fd(), fd, spec, &st, pid_now)?;
            }
            Some(Message::UserNsCreated) => {
                let linux = spec.linux().as_ref().expect("validated: linux is present");
                let config = c.intent.bundle.join("config.json");
                user::write_id_maps(pid_now, linux)
                    .map_err(|(field, reason)| Error::config(&config, field, reason))?;
                ch.send(&Message::Go { pid: pid_now })
                    .map_err(Error::sys("signal container init"))?;
            }
            Some(Message::NetDevicesNeeded) => {
                let linux = spec.linux().as_ref().expect("validated: linux is present");
                let config = c.intent.bundle.join("config.json");
                crate::netdev::move_into(linux, pid_now)
                    .map_err(|(field, reason)| Error::config(&config, field, reason))?;
                fault::point("create: net devices moved");
                ch.send(&Message::NetDevicesDone)
                    .map_err(Error::sys("signal container init"))?;
            }
            Some(Message::HooksNeeded) => {
                c.unlocked(|| run_parent_hooks(spec, &st))?;
                fault::point("create: prestart/createRuntime hooks run");
                ch.send(&Message::HooksDone)
                    .map_err(Error::sys("signal container init"))?;
            }
            // A record of the init made after its fork (InitPid) on disk before it is ready.
            Some(Message::Ready) => return c.sync_record(),
            Some(Message::Timings(marks)) => marks.report("init"),
            Some(Message::InitPid { pid: new }) => {
                // The init forked into its pid namespace: reap the one that forked, and follow
                // its child (ours through the subreaper, or killable through its pidfd).
                if let Some(old) = c.rollback.child.take() {
                    let _ = sys::waitpid(old.pid.as_raw());
                }
                let pidfd =
                    sys::pidfd_open(new).map_err(Error::sys("open the container's init"))?;
                c.rollback.child = Some(Spawned {
                    pid: nix::unistd::Pid::from_raw(new),
                    pidfd,
                });
                *pid = new;
                c.record_init(new)?;
            }
            Some(Message::HookFailed { index, failure }) => {
                return Err(create_container_hook_error(spec, index as usize, &failure))
            }
            Some(Message::Failed(e)) => return Err(init_step_error(spec, e)),
            Some(_) => {
                return Err(Error::Sys {
                    context: "unexpected message from container init".into(),
                    error: sys::SysError::new(sys::SysOp::Read, None, Errno::EPROTO),
                })
            }
            None => return Err(init_died(&mut c.rollback)),
        }
    }
}

/// A step of the init failed, as it reported it.
fn init_step_error(spec: &Spec, e: crate::process::StepError) -> Error {
    Error::Init {
        step: e.step,
        detail: step_detail(spec, e.step, e.source.errno),
        error: e.source,
    }
}

/// After a step of ours failed between the clone and `Ready`, or at the Handover: when the init
/// has exited, the failure it reported before (its first steps run before `Go`, its exec of the
/// exec stub before the Handover) is the error to report, else ours, `e`.
fn init_failure_or(ch: &Channel, c: &Creating, spec: &Spec, e: Error) -> Error {
    let exited = c
        .rollback
        .child
        .as_ref()
        .is_some_and(|child| sys::pidfd_wait_exit(child.pidfd.as_fd(), 50).unwrap_or(false));
    if !exited {
        return e;
    }
    // Its end is closed: the messages it left, then EOF.
    while let Ok(Some(msg)) = ch.recv() {
        if let Message::Failed(f) = msg {
            return init_step_error(spec, f);
        }
    }
    e
}

/// A createContainer hook failed in the init: the error names the hook from the spec.
fn create_container_hook_error(spec: &Spec, index: usize, failure: &hooks::HookFailure) -> Error {
    let list = HookKind::CreateContainer.list(spec.hooks().as_ref());
    Error::Hook {
        kind: HookKind::CreateContainer,
        index,
        path: list
            .get(index)
            .map(|h| h.path().clone())
            .unwrap_or_default(),
        failure: failure.clone(),
    }
}

/// prestart and createRuntime hooks, in the runtime's namespaces, with the state on stdin.
fn run_parent_hooks(spec: &Spec, st: &serde_json::Value) -> Result<()> {
    for kind in [HookKind::Prestart, HookKind::CreateRuntime] {
        run_hook_list(kind, spec, st)?;
    }
    Ok(())
}

/// The init closed the channel without a word: reap it and say how it ended.
fn init_died(rollback: &mut Rollback) -> Error {
    let status = match rollback.child.take() {
        Some(c) => sys::waitpid(c.pid.as_raw()).map(ExitStatus::from_raw),
        None => Err(sys::SysError::new(sys::SysOp::Wait, None, Errno::ECHILD)),
    };
    match status {
        Ok(status) => Error::InitDied { status },
        Err(error) => Error::Sys {
            context: "container init exited before it was ready".into(),
            error,
        },
    }
}

/// Runs the hooks of `kind` in order, stopping at the first failure, which names the hook.
fn run_hook_list(kind: HookKind, spec: &Spec, st: &serde_json::Value) -> Result<()> {
    let state = serde_json::to_vec(st).unwrap_or_default();
    hooks::run_all(kind.list(spec.hooks().as_ref()), &state).map_err(|(index, path, f)| {
        Error::Hook {
            kind,
            index,
            path,
            failure: f,
        }
    })
}

fn run_hooks_as_warnings(kind: HookKind, spec: &Spec, st: &serde_json::Value) -> Vec<Warning> {
    let state = serde_json::to_vec(st).unwrap_or_default();
    hooks::run_each(kind.list(spec.hooks().as_ref()), &state)
        .into_iter()
        .map(|(index, path, f)| Warning::Hook {
            kind,
            index,
            path,
            failure: f,
        })
        .collect()
}

/// Writes the pid file as runc does: to a temporary name beside it, then renamed into place.
pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}"));
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::state(&tmp, e))?;
    sys::rename(&tmp, path).map_err(Error::sys("write pid file"))
}

/// The runtime's side of a notifying filter just loaded (process/sync.rs): copies the listener
/// (fd number `fd` of the process behind `pidfd`), lets the process go on, and hands the copy to
/// the agent at once: the process's next syscalls may already be waiting for it.
pub(crate) fn take_seccomp_listener(
    ch: &Channel,
    pidfd: BorrowedFd<'_>,
    fd: i32,
    spec: &Spec,
    state: &serde_json::Value,
    pid: i32,
) -> Result<()> {
    let listener = sys::pidfd_getfd(pidfd, fd).map_err(Error::sys(
        "copy the seccomp listener from the container process",
    ))?;
    ch.send(&Message::SeccompDone)
        .map_err(Error::sys("signal the container process"))?;
    send_seccomp_listener(spec, state, pid, &listener)
}

fn protocol_error(what: &str) -> Error {
    Error::Sys {
        context: format!("unexpected message from container init: {what}"),
        error: sys::SysError::new(sys::SysOp::Read, None, Errno::EPROTO),
    }
}

/// Hands a seccomp notification listener to `linux.seccomp.listenerPath`, as runc does: one
/// message on a unix stream socket carrying the container process state as JSON
/// (`fds: ["seccompFd"]`, `pid`, `metadata`, `state`) and the fd itself (SCM_RIGHTS).
pub(crate) fn send_seccomp_listener(
    spec: &Spec,
    state: &serde_json::Value,
    pid: i32,
    fd: &OwnedFd,
) -> Result<()> {
    let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let Some(path) = seccomp.and_then(|s| s.listener_path().clone()) else {
        return Ok(());
    };
    let message = serde_json::json!({
        "ociVersion": spec.version(),
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": seccomp.and_then(|s| s.listener_metadata().clone()).unwrap_or_default(),
        "state": state,
    });
    let fail = |e: std::io::Error| Error::Sys {
        // runc's words, which tools match on.
        context: "failed to connect with seccomp agent specified in the seccomp profile \
                  (linux.seccomp.listenerPath)"
            .into(),
        error: sys::SysError::new(sys::SysOp::Connect, Some(&path), sys::errno_of(&e)),
    };
    let stream = UnixStream::connect(&path).map_err(fail)?;
    let body = serde_json::to_vec(&message).unwrap_or_default();
    sys::send_fd(stream.as_fd(), &body, fd.as_fd()).map_err(Error::sys("send the seccomp listener"))
}

/// What a failed init step was working on, from the spec, for the error message (and why an
/// unprivileged runtime cannot have it, where that is the reason).
fn step_detail(spec: &Spec, step: crate::process::InitStep, errno: Errno) -> String {
    let process = spec.process().as_ref();
    match step {
        crate::process::InitStep::Rlimit(i) => {
            let Some(r) = process
                .and_then(|p| p.rlimits().as_deref())
                .and_then(|l| l.get(i as usize))
            else {
                return String::new();
            };
            let why = if errno == Errno::EPERM {
                ": raising a hard limit above the runtime's needs CAP_SYS_RESOURCE on the host"
            } else {
                ""
            };
            format!("{:?} soft {} hard {}{why}", r.typ(), r.soft(), r.hard())
        }
        crate::process::InitStep::OomScoreAdj if errno == Errno::EACCES => {
            let adj = process.and_then(|p| p.oom_score_adj()).unwrap_or_default();
            format!("{adj}: lowering oom_score_adj below the runtime's own needs CAP_SYS_RESOURCE on the host")
        }
        crate::process::InitStep::Mount(i) => {
            let Some(m) = spec.mounts().as_deref().and_then(|m| m.get(i as usize)) else {
                return String::new();
            };
            let options = m.options().as_deref().unwrap_or_default().join(",");
            format!(
                "{} {} on {}{}",
                m.typ().as_deref().unwrap_or("bind"),
                m.source()
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                m.destination().display(),
                if options.is_empty() {
                    String::new()
                } else {
                    format!(" with options {options}")
                }
            )
        }
        _ => String::new(),
    }
}
