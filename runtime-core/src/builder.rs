//! The public way to create containers and exec processes into them, in the spirit of
//! [`std::process::Command`]: name what you need with methods, then `create`/`spawn` (or `run`
//! to also wait). Every option is a method, so new ones never break callers.
//!
//! ```no_run
//! use runtime_core::{ContainerBuilder, Stdio};
//! # fn main() -> Result<(), runtime_core::Error> {
//! runtime_core::protect_binary(); // or only when needs_protected_binary() says (CVE-2019-5736)
//! let status = ContainerBuilder::new("web-1", "/srv/bundles/web")
//!     .root("/run/my-engine")
//!     .stdin(Stdio::null())
//!     .run()?;
//! println!("exited: {}", status.code());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use oci_spec::runtime::Process;

use crate::container::{Console, Container, CreateOptions, ExitStatus};
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, ExecProcess};
use crate::protect::{self, Unprotected};
use crate::stdio::{self, Stdio, StdioChoice};

/// How to create a container: `ContainerBuilder::new(id, bundle)`, options as methods, then
/// [`create`](ContainerBuilder::create) (the init set up and waiting for
/// [`Container::start`]) or [`run`](ContainerBuilder::run) (create, start, wait, delete).
///
/// Defaults are runc's: state under `/run/runr`, no console, the caller's stdio, pivot_root, a
/// new session keyring, no preserved fds.
#[derive(Debug)]
#[must_use = "a ContainerBuilder does nothing until create() or run()"]
pub struct ContainerBuilder {
    id: String,
    bundle: PathBuf,
    opts: CreateOptions,
    stdio: StdioChoice,
    unprotected: Unprotected,
    /// The bundle, once [`needs_protected_binary`](Self::needs_protected_binary) loaded it.
    loaded: Option<crate::Bundle>,
}

impl ContainerBuilder {
    /// The container `id` (letters, digits, `_ + - .`) from the OCI bundle directory `bundle`
    /// (its `config.json` and root filesystem).
    pub fn new(id: impl Into<String>, bundle: impl Into<PathBuf>) -> ContainerBuilder {
        ContainerBuilder {
            id: id.into(),
            bundle: bundle.into(),
            opts: CreateOptions::default(),
            stdio: StdioChoice::default(),
            unprotected: Unprotected::Warn,
            loaded: None,
        }
    }

    /// The directory holding one state directory per container (runc's `--root`).
    pub fn root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.opts.root = dir.into();
        self
    }

    /// Where the pty master goes when `process.terminal` is true (see [`Console`]).
    pub fn console(mut self, console: Console) -> Self {
        self.opts.console = console;
        self
    }

    /// Send the pty master to the unix socket at `path` (runc's `--console-socket`).
    pub fn console_socket(self, path: impl Into<PathBuf>) -> Self {
        self.console(Console::Socket(path.into()))
    }

    /// The container process's stdin (default: the caller's).
    pub fn stdin(mut self, stdio: Stdio) -> Self {
        self.stdio.stdin = stdio;
        self
    }

    /// The container process's stdout (default: the caller's).
    pub fn stdout(mut self, stdio: Stdio) -> Self {
        self.stdio.stdout = stdio;
        self
    }

    /// The container process's stderr (default: the caller's).
    pub fn stderr(mut self, stdio: Stdio) -> Self {
        self.stdio.stderr = stdio;
        self
    }

    /// Keep the caller's fds 3 .. 3+`n` open in the container (runc's `--preserve-fds`).
    pub fn preserve_fds(mut self, n: u32) -> Self {
        self.opts.preserve_fds = n;
        self
    }

    /// Add `KEY=VALUE` to the container process's environment, after `process.env` (socket
    /// activation's `LISTEN_FDS`, for one).
    pub fn env(mut self, var: impl Into<String>) -> Self {
        self.opts.extra_env.push(var.into());
        self
    }

    /// Write the init's host pid to `path` before `create` returns (runc's `--pid-file`).
    pub fn pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.opts.pid_file = Some(path.into());
        self
    }

    /// Move the rootfs into place and chroot instead of `pivot_root` (for a rootfs on a
    /// ramdisk; runc's `--no-pivot`).
    pub fn no_pivot(mut self, on: bool) -> Self {
        self.opts.no_pivot = on;
        self
    }

    /// Keep the caller's session keyring instead of a new one (runc's `--no-new-keyring`).
    pub fn no_new_keyring(mut self, on: bool) -> Self {
        self.opts.no_new_keyring = on;
        self
    }

    /// The resctrl filesystem `linux.intelRdt` uses: a tree laid out as the kernel's at `dir`
    /// (`info/`, `schemata`, `tasks`, `mon_groups/`). Default: the host's, found as runc finds
    /// it (`/sys/fs/resctrl`, else the first resctrl mount).
    pub fn resctrl_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.opts.resctrl = Some(crate::intel_rdt::Resctrl::at(dir));
        self
    }

    /// `linux.cgroupsPath` is systemd's `slice:prefix:name` (runc's `--systemd-cgroup`).
    pub fn systemd_cgroup(mut self, on: bool) -> Self {
        self.opts.systemd_cgroup = on;
        self
    }

    /// runc's `--rootless`: follow the rootless cgroup rule (a cgroup the runtime may not create
    /// is skipped when the config names no `cgroupsPath` and asks for no limit it would hold).
    /// Defaults to [`rootless::detect`](crate::rootless::detect): a non-root euid, or root in a
    /// user namespace the runtime did not make.
    pub fn rootless(mut self, on: bool) -> Self {
        self.opts.rootless = on;
        self
    }

    /// Do not warn when the calling binary is writable through `/proc/self/exe` and the exec
    /// stub cannot stand in (see [`require_protected_binary`](Self::require_protected_binary)):
    /// for callers that protect it another way (a read-only filesystem is detected by itself).
    pub fn allow_writable_binary(mut self, on: bool) -> Self {
        self.unprotected = self.unprotected.with(Unprotected::Allow, on);
        self
    }

    /// Why this container's init could not leave the calling binary through the exec stub
    /// while that binary is writable (`None`: it can, or the binary is protected already), so
    /// that the caller re-executes from a protected binary first ([`protect_binary`](crate::protect_binary)),
    /// as the `runr` binary does. Loads the bundle (kept for `create`, which then does not read
    /// it again): its errors are `create`'s.
    pub fn needs_protected_binary(&mut self) -> Result<Option<&'static str>> {
        if let Some(route) = &self.opts.route {
            return Ok(route.needs_protection());
        }
        crate::validate_id(&self.id)?;
        let bundle = match self.loaded.take() {
            Some(b) => b,
            None => crate::Bundle::load(&self.bundle)?,
        };
        // Decided now, kept for `create` (with the stub it loaded).
        let route = protect::route(&bundle.spec, None, false);
        self.loaded = Some(bundle);
        Ok(self.opts.route.insert(route).needs_protection())
    }

    /// Fail with [`Error::UnprotectedBinary`], before anything is created, when the calling
    /// binary is writable through `/proc/self/exe` and the exec stub cannot stand in for this
    /// container; the caller then re-executes from a protected binary
    /// ([`protect_binary`](crate::protect_binary)) and tries again (the `runr` binary asks
    /// [`needs_protected_binary`](Self::needs_protected_binary) first instead). Of this and
    /// [`allow_writable_binary`](Self::allow_writable_binary), the last call made with `true`
    /// wins.
    ///
    /// Why: the container's processes are clones of the caller until their `execve`. They
    /// normally leave through the exec stub (a sealed, ~2 KB helper: a container running
    /// `/proc/self/exe` gets the stub, never the caller's file; CVE-2019-5736), which saves the
    /// re-exec. Where a process of the container could open the clone's `/proc/<pid>/exe` before
    /// that (CAP_SYS_PTRACE, a shared pid namespace, hooks inside the container, LSM labels, a
    /// seccomp profile that denies the stub's calls), only a protected binary is safe.
    pub fn require_protected_binary(mut self, on: bool) -> Self {
        self.unprotected = self.unprotected.with(Unprotected::Refuse, on);
        self
    }

    /// Creates the container: when this returns, its init is set up and waits for
    /// [`Container::start`]; the status is `created`. Piped streams are taken from the returned
    /// container ([`Container::take_stdout`] …).
    ///
    /// Fails with [`Error::MultiThreaded`] when the calling process has more than one thread.
    /// Warns through [`Container::warnings`] when the calling binary is writable and the exec
    /// stub cannot stand in for this container (CVE-2019-5736), unless
    /// [`allow_writable_binary`](ContainerBuilder::allow_writable_binary) (or fails, with
    /// [`require_protected_binary`](ContainerBuilder::require_protected_binary)). Note that the
    /// calling process is made non-dumpable (`PR_SET_DUMPABLE` 0) and stays so: the init is its
    /// clone, and must not be openable through `/proc` by the container.
    pub fn create(self) -> Result<Container> {
        // The init is a clone of the calling thread only: refuse a multi-threaded caller.
        protect::check_single_threaded()?;
        // The streams: /dev/null and pipes opened, every child source moved above fd 2.
        let (child_stdio, pipes) = stdio::plumb(self.stdio)?;
        let mut opts = self.opts;
        opts.stdio = child_stdio;
        // How the init leaves the caller's binary (create checks it against the config).
        opts.unprotected = self.unprotected;
        crate::validate_id(&self.id)?;
        let bundle = match self.loaded {
            Some(b) => b,
            None => crate::Bundle::load(&self.bundle)?,
        };
        let mut container = Container::create(&self.id, bundle, opts)?;
        container.pipes = pipes;
        Ok(container)
    }

    /// Creates the container, starts it, waits for its process to exit, deletes it and returns
    /// how the process ended. Warnings (see [`Container::warnings`], failing poststop hooks)
    /// are not reported: use `create`, `start`, `wait` and `delete` for those.
    /// Piped streams are refused ([`Error::InvalidOption`]): nobody could read them.
    pub fn run(self) -> Result<ExitStatus> {
        if self.stdio.any_piped() {
            return Err(Error::InvalidOption {
                option: "stdio",
                reason: "run() keeps no pipe ends: use create(), take the pipe, start() and wait()",
            });
        }
        let mut container = self.create()?;
        if let Err(e) = container.start() {
            let _ = container.delete(true);
            return Err(e);
        }
        let status = container.wait();
        let _deleted = container.delete(true)?;
        status
    }
}

impl Container {
    /// The caller's end of the container process's stdin, when it was [`Stdio::piped`] (once).
    pub fn take_stdin(&mut self) -> Option<OwnedFd> {
        self.pipes.stdin.take()
    }

    /// The read end of the container process's stdout, when it was [`Stdio::piped`] (once).
    pub fn take_stdout(&mut self) -> Option<OwnedFd> {
        self.pipes.stdout.take()
    }

    /// The read end of the container process's stderr, when it was [`Stdio::piped`] (once).
    pub fn take_stderr(&mut self) -> Option<OwnedFd> {
        self.pipes.stderr.take()
    }
}

/// How to run another process in a running container: `ExecBuilder::new(&container, process)`,
/// options as methods, then [`spawn`](ExecBuilder::spawn) or [`run`](ExecBuilder::run).
///
/// Defaults are runc's `exec`: no console, the caller's stdio, no preserved fds, the container's
/// own cgroup, refused in a paused container.
#[must_use = "an ExecBuilder does nothing until spawn() or run()"]
pub struct ExecBuilder<'c> {
    container: &'c Container,
    process: Process,
    opts: ExecOptions,
    stdio: StdioChoice,
    unprotected: Unprotected,
}

impl<'c> ExecBuilder<'c> {
    /// `process` (the spec's `process` shape: args, env, cwd, user, capabilities …) to run in
    /// `container`.
    pub fn new(container: &'c Container, process: Process) -> ExecBuilder<'c> {
        ExecBuilder {
            container,
            process,
            opts: ExecOptions::default(),
            stdio: StdioChoice::default(),
            unprotected: Unprotected::Warn,
        }
    }

    /// Where the pty master goes when `process.terminal` is true (see [`Console`]).
    pub fn console(mut self, console: Console) -> Self {
        self.opts.console = console;
        self
    }

    /// Send the pty master to the unix socket at `path` (runc's `--console-socket`).
    pub fn console_socket(self, path: impl Into<PathBuf>) -> Self {
        self.console(Console::Socket(path.into()))
    }

    /// The process's stdin (default: the caller's).
    pub fn stdin(mut self, stdio: Stdio) -> Self {
        self.stdio.stdin = stdio;
        self
    }

    /// The process's stdout (default: the caller's).
    pub fn stdout(mut self, stdio: Stdio) -> Self {
        self.stdio.stdout = stdio;
        self
    }

    /// The process's stderr (default: the caller's).
    pub fn stderr(mut self, stdio: Stdio) -> Self {
        self.stdio.stderr = stdio;
        self
    }

    /// Keep the caller's fds 3 .. 3+`n` open in the process (runc's `--preserve-fds`).
    pub fn preserve_fds(mut self, n: u32) -> Self {
        self.opts.preserve_fds = n;
        self
    }

    /// Add `KEY=VALUE` to the process's environment, after `process.env`.
    pub fn env(mut self, var: impl Into<String>) -> Self {
        self.opts.extra_env.push(var.into());
        self
    }

    /// Write the process's host pid to `path` once it runs (runc's `--pid-file`).
    pub fn pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.opts.pid_file = Some(path.into());
        self
    }

    /// Exec even when the container is paused (runc's `--ignore-paused`).
    pub fn ignore_paused(mut self, on: bool) -> Self {
        self.opts.ignore_paused = on;
        self
    }

    /// Run in an existing sub-cgroup of the container's cgroup (runc's `--cgroup`): `controller`
    /// is a v1 controller name, or `""` for every hierarchy without its own entry (the only key
    /// cgroup v2 takes); `path` is relative to the container's cgroup.
    pub fn sub_cgroup(mut self, controller: impl Into<String>, path: impl Into<String>) -> Self {
        self.opts.sub_cgroups.insert(controller.into(), path.into());
        self
    }

    /// Every sub-cgroup at once (see [`sub_cgroup`](ExecBuilder::sub_cgroup)).
    pub fn sub_cgroups(mut self, map: BTreeMap<String, String>) -> Self {
        self.opts.sub_cgroups = map;
        self
    }

    /// Do not warn when the calling binary is writable (see
    /// [`ContainerBuilder::allow_writable_binary`]).
    pub fn allow_writable_binary(mut self, on: bool) -> Self {
        self.unprotected = self.unprotected.with(Unprotected::Allow, on);
        self
    }

    /// Fail before anything is made when the binary is writable and the exec stub cannot
    /// stand in (see [`ContainerBuilder::require_protected_binary`]).
    pub fn require_protected_binary(mut self, on: bool) -> Self {
        self.unprotected = self.unprotected.with(Unprotected::Refuse, on);
        self
    }

    /// Why this process could not leave the calling binary through the exec stub while that
    /// binary is writable (`None`: it can, or the binary is protected already), so that the
    /// caller re-executes from a protected binary first ([`protect_binary`](crate::protect_binary)),
    /// as the `runr` binary does (see [`ContainerBuilder::require_protected_binary`]). The
    /// decision (and the stub it loaded) is kept for [`spawn`](Self::spawn).
    pub fn needs_protected_binary(&mut self) -> Option<&'static str> {
        let (container, process) = (&self.container, &self.process);
        self.opts
            .route
            .get_or_insert_with(|| container.exec_route(process))
            .needs_protection()
    }

    /// Starts the process: returns once it has exec'd its program (or with the step that
    /// failed). The same checks and warnings as [`ContainerBuilder::create`].
    pub fn spawn(self) -> Result<ExecProcess> {
        // The process is a clone of the calling thread only: refuse a multi-threaded caller.
        protect::check_single_threaded()?;
        // The streams: /dev/null and pipes opened, every child source moved above fd 2.
        let (child_stdio, pipes) = stdio::plumb(self.stdio)?;
        let mut opts = self.opts;
        opts.stdio = child_stdio;
        opts.unprotected = self.unprotected;
        let mut process = self.container.exec(&self.process, opts)?;
        process.pipes = pipes;
        Ok(process)
    }

    /// Spawns the process and waits for it to exit. Piped streams are refused, as in
    /// [`ContainerBuilder::run`].
    pub fn run(self) -> Result<ExitStatus> {
        if self.stdio.any_piped() {
            return Err(Error::InvalidOption {
                option: "stdio",
                reason: "run() keeps no pipe ends: use spawn(), take the pipe and wait()",
            });
        }
        self.spawn()?.wait()
    }
}

impl ExecProcess {
    /// The caller's end of the process's stdin, when it was [`Stdio::piped`] (once).
    pub fn take_stdin(&mut self) -> Option<OwnedFd> {
        self.pipes.stdin.take()
    }

    /// The read end of the process's stdout, when it was [`Stdio::piped`] (once).
    pub fn take_stdout(&mut self) -> Option<OwnedFd> {
        self.pipes.stdout.take()
    }

    /// The read end of the process's stderr, when it was [`Stdio::piped`] (once).
    pub fn take_stderr(&mut self) -> Option<OwnedFd> {
        self.pipes.stderr.take()
    }

    /// What `spawn` noticed but did not refuse (a writable calling binary), for the caller to
    /// report.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}
