//! `runr create [flags] ID`: the container ends in state `created`, its init waiting for start.

use std::path::PathBuf;

use runtime_core::{Console, Container, ContainerBuilder, PidfdKind, PidfdSocket};

use crate::cli::{flag, switch, Command, Flag, Parsed};
use crate::Global;

/// The flags `create` and `run` share.
pub const BUNDLE: Flag = flag(
    &["bundle", "b"],
    "the bundle directory (config.json and the root filesystem); default: the current directory",
);
pub const CONSOLE_SOCKET: Flag = flag(
    &["console-socket"],
    "an AF_UNIX socket that receives the pty master (SCM_RIGHTS) when process.terminal is true",
);
pub const PIDFD_SOCKET: Flag = flag(
    &["pidfd-socket"],
    "an AF_UNIX socket that receives a pidfd of the container's init (SCM_RIGHTS)",
);
pub const PID_FILE: Flag = flag(&["pid-file"], "write the container's init pid to this file");
pub const NO_PIVOT: Flag = switch(
    &["no-pivot"],
    "move the root filesystem into place and chroot into it instead of pivot_root (for a rootfs on a ramdisk)",
);
pub const NO_NEW_KEYRING: Flag = switch(
    &["no-new-keyring"],
    "keep the caller's session keyring instead of giving the container one of its own",
);
pub const PRESERVE_FDS: Flag = flag(
    &["preserve-fds"],
    "pass N more file descriptors, from fd 3 on (stdio + $LISTEN_FDS + N in all)",
)
.with_default("0");

pub const COMMAND: Command = Command {
    name: "create",
    usage: "create a container, its init waiting for start",
    args_usage: "<container-id>

<container-id> names the container; it must be unique under the state root.",
    description: "Sets up the container described by the bundle's config.json: namespaces,
cgroup, root filesystem, mounts, devices. Its init then waits; \"runr start\" runs
process.args in it. The container's status is then \"created\".",
    flags: &[
        BUNDLE,
        CONSOLE_SOCKET,
        PIDFD_SOCKET,
        PID_FILE,
        NO_PIVOT,
        NO_NEW_KEYRING,
        PRESERVE_FDS,
    ],
    reorder: true,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let id = p.id("create")?;
    let b = builder(g, p, id)?;
    let pidfd_socket = pidfd_socket(p)?;
    let c = b.create().map_err(|e| in_config(&bundle(p), e))?;
    for w in c.warnings() {
        g.log.warn(w);
    }
    if let Err(e) = send_pidfd(pidfd_socket, &c) {
        // runc's init fails then, leaving nothing.
        let _ = c.delete(true);
        return Err(e);
    }
    Ok(0)
}

/// `--pidfd-socket`, connected before anything is created, as runc does.
pub fn pidfd_socket(p: &Parsed) -> anyhow::Result<Option<PidfdSocket>> {
    Ok(match p.value("pidfd-socket") {
        Some(path) => Some(PidfdSocket::connect(std::path::Path::new(path))?),
        None => None,
    })
}

/// Sends the init's pidfd to `--pidfd-socket` (the caller deletes the container on failure).
pub fn send_pidfd(socket: Option<PidfdSocket>, c: &Container) -> anyhow::Result<()> {
    match socket {
        Some(socket) => Ok(socket.send(c.pid(), PidfdKind::Init)?),
        None => Ok(()),
    }
}

/// An init step failure names the config field it came from (`mounts[7]`, `process.args[0]`):
/// prefix it with the config file, as config errors are, so the message points at the file.
pub fn in_config(bundle: &std::path::Path, e: runtime_core::Error) -> anyhow::Error {
    match e {
        runtime_core::Error::Init { .. } => {
            let config = runtime_core::spec::absolute(bundle).join("config.json");
            anyhow::Error::new(e).context(config.display().to_string())
        }
        other => other.into(),
    }
}

pub fn bundle(p: &Parsed) -> PathBuf {
    PathBuf::from(p.value("bundle").unwrap_or("."))
}

/// `--preserve-fds N` plus socket activation (systemd's LISTEN_FDS): those fds are passed on too,
/// with the container's process as their listener, as runc does. Returns the fd count to keep
/// open past stdio and the environment to add.
pub fn preserved_fds(p: &Parsed) -> anyhow::Result<(u32, Vec<String>)> {
    let mut preserve_fds = p.number("preserve-fds")?.unwrap_or(0);
    let mut extra_env = Vec::new();
    if let Some(n) = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| *n > 0)
    {
        preserve_fds += n;
        extra_env.push(format!("LISTEN_FDS={n}"));
        extra_env.push("LISTEN_PID=1".to_string());
    }
    Ok((preserve_fds, extra_env))
}

/// The library's builder with the options `create` and `run` share, the bundle loaded, after
/// the re-exec from a protected binary if the container needs one (the first thing either
/// command does that depends on the bundle, so nothing of the first image's is lost).
pub fn builder(g: &mut Global, p: &Parsed, id: &str) -> anyhow::Result<ContainerBuilder> {
    let (preserve_fds, extra_env) = preserved_fds(p)?;
    let mut b = ContainerBuilder::new(id, bundle(p))
        .root(&g.root)
        .no_pivot(p.is_set("no-pivot"))
        .no_new_keyring(p.is_set("no-new-keyring"))
        .preserve_fds(preserve_fds)
        .systemd_cgroup(g.systemd_cgroup)
        .rootless(g.rootless);
    if let Some(s) = p.value("console-socket") {
        b = b.console(Console::Socket(s.into()));
    }
    if let Some(f) = p.value("pid-file") {
        b = b.pid_file(f);
    }
    for var in extra_env {
        b = b.env(var);
    }
    if let Some(why) = b
        .needs_protected_binary()
        .map_err(|e| in_config(&bundle(p), e))?
    {
        crate::reexec_protected(g, why);
    }
    Ok(b)
}
