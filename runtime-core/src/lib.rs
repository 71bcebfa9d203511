//! runr's container runtime as a library: take an OCI bundle through create → start → kill →
//! delete, with no printing and no `process::exit` (the `runr` binary is a thin layer over this).
//!
//! ```no_run
//! use runtime_core::{Container, CreateOptions};
//! use std::path::Path;
//!
//! # fn main() -> Result<(), runtime_core::Error> {
//! let opts = CreateOptions { root: "/run/my-engine".into(), ..CreateOptions::default() };
//! let mut c = Container::create("web-1", Path::new("/srv/bundles/web"), opts)?;
//! c.start()?;                       // returns warnings from poststart hooks, if any
//! let status = c.wait()?;           // the creating process may wait for the container
//! println!("exited: {}", status.code());
//! Container::load(Path::new("/run/my-engine"), "web-1")?.delete(false)?;
//! # Ok(()) }
//! ```
//!
//! `Container::create` forks the container's init with one `clone3`; call it from a
//! single-threaded process (the init runs Rust code between fork and exec).
//!
//! Module map: [`spec`] loads and validates config.json; [`container`] is the lifecycle;
//! `process` creates the init (`clone`), runs it (`init`) and talks to it (`sync`);
//! `namespaces`, `rootfs`, `mounts`, `paths`, `devices`, `capabilities`, `rlimits`, `user`,
//! `hooks`, `console` are one concern each; [`sys`] is the only place that makes syscalls;
//! [`trace`] reports the main steps to a sink the caller installs (the CLI's `--debug`).
#![deny(unsafe_code)]

mod capabilities;
mod console;
pub mod container;
mod copyup;
mod devices;
pub mod error;
pub mod exec;
pub mod hooks;
mod idmap;
pub mod lsm;
mod mempolicy;
mod mounts;
mod namespaces;
pub mod operations;
mod paths;
pub mod pidfd_socket;
pub mod process;
mod rlimits;
mod rootfs;
pub mod seccomp;
pub mod seccomp_cache;
pub mod spec;
pub mod state;
pub mod sys;
pub mod trace;
mod user;

pub use container::{list, validate_id, Console, Container, CreateOptions, ExitStatus};
pub use error::{Error, Result};
pub use exec::{ExecOptions, ExecProcess};
pub use operations::{features, Features};
pub use pidfd_socket::{PidfdKind, PidfdSocket};
pub use spec::Bundle;
pub use state::{ContainerState, Status};

/// Receives the pty master sent by a container's init over a console socket.
pub fn receive_console_master(
    socket: &std::os::fd::OwnedFd,
) -> Result<Option<std::os::fd::OwnedFd>> {
    console::receive_master(socket).map_err(Error::sys("receive console master"))
}
