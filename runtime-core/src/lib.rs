//! runr's container runtime as a library: take an OCI bundle through create → start → kill →
//! delete, with no printing and no `process::exit` (the `runr` binary is a thin layer over this
//! same public API).
//!
//! ```no_run
//! use std::io::{BufRead, BufReader};
//! use runtime_core::{ContainerBuilder, Stdio};
//!
//! # fn main() -> Result<(), runtime_core::Error> {
//! let mut b = ContainerBuilder::new("web-1", "/srv/bundles/web")
//!     .root("/run/my-engine")
//!     .stdin(Stdio::null())
//!     .stdout(Stdio::piped());
//! if b.needs_protected_binary()?.is_some() {
//!     runtime_core::protect_binary(); // re-executes this program: see "Safety rules"
//! }
//! let mut c = b.create()?;          // the init is set up and waits for start
//! let out = c.take_stdout().expect("piped");
//! let started = c.start()?;         // an Outcome; a failing poststart hook fails it (spec 1.3)
//! for line in BufReader::new(std::fs::File::from(out)).lines() {
//!     println!("container: {}", line.unwrap_or_default());
//! }
//! let status = c.wait()?;           // the creating process may wait for the container
//! let _deleted = c.delete(false)?;  // an Outcome too (poststop hooks)
//! println!("exited: {}", status.code());
//! # Ok(()) }
//! ```
//!
//! `runtime-core/examples/run_bundle.rs` is this as a program.
//!
//! # Process model
//!
//! [`ContainerBuilder::create`] forks the container's init with a single `clone3` (all new
//! namespaces at once, on cgroup v2 straight into its cgroup). The init is a copy of the calling
//! process that runs Rust code between the clone and its `execve`: it sets up the mounts, `/dev`,
//! the console, the limits and privileges from a plan the parent computed, reports `Ready` or a
//! typed error over a socket, then blocks until [`Container::start`]. No JSON and no re-exec of
//! a runtime binary cross the fork. The init stays a child of the caller, which can
//! [`Container::wait`] for it (or poll [`Container::init_pidfd`]); an [`ExecBuilder`] process is
//! made the same way, minus the rootfs work. State lives in one directory per container under
//! the root (`/run/runr` by default), so any process can [`Container::load`] it later.
//!
//! # Safety rules for the calling process
//!
//! - **The binary stays safe** (CVE-2019-5736): the init and exec'd processes are clones of the
//!   caller until their `execve`, so a container running `/proc/self/exe` would run the caller's
//!   binary and could reopen it for writing. They leave through the exec stub instead (a ~2 KB
//!   freestanding program in a sealed memfd made per call: `/proc/self/exe` in the container
//!   names that copy, never the caller's file). Where a process of the container could reach
//!   the clone before that `execve` (CAP_SYS_PTRACE, a shared pid namespace, hooks inside the
//!   container, LSM labels, a seccomp profile denying the stub's calls),
//!   [`ContainerBuilder::needs_protected_binary`] and [`ExecBuilder::needs_protected_binary`]
//!   say why, and the caller re-executes from a read-only view of its binary with
//!   [`protect_binary`] (which a caller may also simply call first thing in `main`). `create`
//!   and `spawn` otherwise warn through their result ([`Container::warnings`],
//!   [`ExecProcess::warnings`]), or fail with [`Error::UnprotectedBinary`] when asked to
//!   (`require_protected_binary(true)`), unless the caller opted out with
//!   `allow_writable_binary(true)`.
//! - **Be single-threaded** when creating or exec'ing: the clone copies only the calling thread,
//!   and a lock another thread held (the allocator's) would stay held in the init. Checked: a
//!   second thread in `/proc/self/task` is [`Error::MultiThreaded`].
//! - **The caller becomes non-dumpable** (`PR_SET_DUMPABLE` 0) at the first create or exec and
//!   stays so: the init is its clone and must not be reachable through `/proc/<pid>/` by the
//!   container.
//! - Stdio is the caller's unless chosen ([`Stdio`]): inherited, `/dev/null`, a pipe or any fd.
//!
//! Module map: [`spec`] loads and validates config.json; [`container`] is the lifecycle,
//! [`builder`] its public entry; `process` creates the init (`clone`), runs it (`init`) and talks
//! to it (`sync`); `namespaces`, `rootfs`, `mounts`, `paths`, `devices`, `capabilities`,
//! `rlimits`, `user`, `hooks`, `console`, `stdio` are one concern each; [`rootless`] detects
//! unprivileged mode; `sys` wraps every nix/libc call
//! the library makes (file I/O through `std::fs` and hook processes through `std::process` do
//! not go through it) and holds its `unsafe`, but for the calls of its two `unsafe fn`s; [`trace`] reports the main steps to a
//! sink the caller installs (the CLI's `--debug`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod blkio_update;
pub mod builder;
mod capabilities;
mod console;
pub mod container;
mod copyup;
mod devices;
pub mod error;
pub mod exec;
mod exec_stub;
mod fault;
pub mod hooks;
mod idmap;
pub mod intel_rdt;
mod intent;
mod json_path;
pub mod lsm;
mod mempolicy;
mod mounts;
mod namespaces;
mod netdev;
pub mod operations;
mod outcome;
mod paths;
pub mod pidfd_socket;
pub mod process;
mod protect;
pub mod recovery;
mod rlimits;
mod rootfs;
pub mod rootless;
mod rtnetlink;
pub mod seccomp;
pub mod seccomp_cache;
mod seccomp_enosys;
pub mod signal;
pub mod spec;
pub mod state;
mod stdio;
mod sys;
pub mod trace;
mod user;

pub use builder::{ContainerBuilder, ExecBuilder};
pub use container::{validate_id, Console, Container, ExitStatus};
pub use error::{ConfigReason, Error, Result};
pub use exec::ExecProcess;
pub use oci_spec;
pub use operations::{features, Features};
pub use outcome::{Outcome, Warning};
pub use pidfd_socket::{PidfdKind, PidfdSocket};
pub use protect::{binary_is_protected, entry_setup, protect_binary};
pub use recovery::{list, Found, Listing};
pub use signal::{KillTarget, Signal, UnknownSignal};
pub use spec::Bundle;
pub use state::{ContainerState, Status};
pub use stdio::Stdio;
pub use sys::{Errno, SysError, SysOp};

/// Makes the calling process a child subreaper (`PR_SET_CHILD_SUBREAPER`): the container's
/// init, and what it leaves behind, are reparented to it and can be reaped by it (`runr run`
/// does this unless `--no-subreaper`).
pub fn become_subreaper() -> std::result::Result<(), SysError> {
    sys::set_child_subreaper()
}

/// Receives the pty master sent by a container's init over a console socket.
pub fn receive_console_master(
    socket: &std::os::fd::OwnedFd,
) -> Result<Option<std::os::fd::OwnedFd>> {
    console::receive_master(socket).map_err(Error::sys("receive console master"))
}

/// Gives the terminal `to` the window size of the terminal `from` (a relay of a container's pty
/// does it when its own terminal is resized).
pub fn copy_window_size(
    from: std::os::fd::BorrowedFd<'_>,
    to: std::os::fd::BorrowedFd<'_>,
) -> Result<()> {
    let (rows, cols) = sys::get_winsize(from).map_err(Error::sys("read the window size"))?;
    sys::set_winsize(to, rows, cols).map_err(Error::sys("set the window size"))
}
