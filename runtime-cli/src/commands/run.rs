//! `runr run [flags] ID`: create + start, then (unless --detach) stay in the foreground like runc:
//! forward signals to the container, relay its terminal when it has one and no console socket
//! was given, reap what is re-parented to us (we are a subreaper unless --no-subreaper), and exit
//! with the container's status (128+signal when killed). The container is deleted afterwards
//! unless --keep.

use runtime_core::Console;

use super::foreground;

use super::create::{
    BUNDLE, CONSOLE_SOCKET, NO_NEW_KEYRING, NO_PIVOT, PIDFD_SOCKET, PID_FILE, PRESERVE_FDS,
};
use crate::cli::{switch, Command, Parsed};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "run",
    usage: "create and start a container",
    args_usage: "<container-id>

<container-id> names the container; it must be unique under the state root.",
    description: "Creates the container and starts it at once. In the foreground (the default) runr
forwards signals to it, relays its terminal, and exits with its status (128+N when
killed by signal N); the container is deleted afterwards unless --keep.",
    flags: &[
        BUNDLE,
        CONSOLE_SOCKET,
        PIDFD_SOCKET,
        switch(
            &["detach", "d"],
            "return once the container runs, leaving it in the background",
        ),
        switch(&["keep"], "do not delete the container after it exits"),
        PID_FILE,
        switch(
            &["no-subreaper"],
            "do not make runr a subreaper of the container's orphaned processes",
        ),
        NO_PIVOT,
        NO_NEW_KEYRING,
        PRESERVE_FDS,
    ],
    reorder: true,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let id = p.id("run")?.to_string();
    let detach = p.is_set("detach");
    // runc 1.1.5 accepts --keep with --detach (there is nothing to delete afterwards then).
    let mut builder = super::create::builder(g, p, &id)?;
    // Without a console socket, a foreground run relays the container's terminal itself.
    let mut our_end = None;
    if !detach && p.value("console-socket").is_none() {
        let (ours, theirs) = foreground::console_pair()?;
        builder = builder.console(Console::Offered(theirs));
        our_end = Some(ours);
    }
    if !detach && !p.is_set("no-subreaper") {
        runtime_core::become_subreaper()?;
    }
    // Block the signals we forward before the init exists, so none is lost in between; the
    // init restores its own mask before exec.
    let signals = foreground::forwarded_signals();
    if !detach {
        signals.thread_block()?;
    }
    let pidfd_socket = super::create::pidfd_socket(p)?;
    let bundle = super::create::bundle(p);
    let mut container = builder
        .create()
        .map_err(|e| super::create::in_config(&bundle, e))?;
    for w in container.warnings() {
        g.log.warn(w);
    }
    let master = match &our_end {
        Some(sock)
            if container
                .spec()
                .process()
                .as_ref()
                .and_then(|pr| pr.terminal())
                .unwrap_or(false) =>
        {
            runtime_core::receive_console_master(sock)?
        }
        _ => None,
    };
    drop(our_end);
    if let Err(e) = super::create::send_pidfd(pidfd_socket, &container) {
        let _ = container.delete(true);
        return Err(e);
    }
    let started = container.start();
    let warnings = match started {
        Ok(w) => w,
        Err(e) => {
            let _ = container.delete(true);
            return Err(e.into());
        }
    };
    super::warn_all(g, warnings);
    if detach {
        return Ok(0);
    }
    let code = foreground::wait(container.pid(), master, signals)?;
    super::exited(container.pid(), code);
    if !p.is_set("keep") {
        // The container as created (runc's run destroys its own in-memory one too): nothing
        // `delete` uses (cgroup paths, hooks, state directory) can have changed meanwhile.
        let outcome = container.delete(true)?;
        super::warn_all(g, outcome);
    }
    Ok(code)
}
