//! `runr exec [flags] ID COMMAND [ARG...]` or `runr exec --process FILE ID`: another process in a
//! running container. Foreground: its exit status (128+signal when killed); `--detach`: exit 0
//! once it runs. A failure on the runtime's side exits 255, as runc's does.

use std::path::PathBuf;

use oci_spec::runtime::{Capability, Process};
use runtime_core::spec::parse_json;
use runtime_core::{Console, Container, ExecBuilder};

use super::create::{CONSOLE_SOCKET, PID_FILE, PRESERVE_FDS};
use super::foreground;
use crate::cli::{flag, switch, Command, Parsed, UsageError};
use crate::Global;
use runtime_core::{PidfdKind, PidfdSocket};

pub const COMMAND: Command = Command {
    name: "exec",
    usage: "run another process in a running container",
    args_usage: "<container-id> <command> [args...]  ||  -p process.json <container-id>

<command> runs in the container with the container's own process settings, changed
by the flags; --process gives a whole process JSON instead. What follows the
container id belongs to the command (flags come first).",
    description: "",
    flags: &[
        CONSOLE_SOCKET,
        flag(
            &["pidfd-socket"],
            "an AF_UNIX socket that receives a pidfd of the new process (SCM_RIGHTS)",
        ),
        flag(&["cwd"], "the working directory in the container"),
        flag(
            &["env", "e"],
            "add NAME=VALUE to the environment (repeatable)",
        ),
        switch(&["tty", "t"], "give the process a pseudo-terminal"),
        flag(
            &["console-size"],
            "with --tty: the terminal's size, HEIGHT,WIDTH (rows,columns)",
        ),
        flag(&["user", "u"], "the user: UID[:GID]"),
        flag(
            &["additional-gids", "g"],
            "a supplementary group id (repeatable)",
        ),
        flag(
            &["process", "p"],
            "a process JSON file (runtime-spec \"process\") to run",
        ),
        switch(&["detach", "d"], "return once the process runs"),
        PID_FILE,
        flag(&["process-label"], "the SELinux label of the process"),
        flag(&["apparmor"], "the AppArmor profile of the process"),
        switch(&["no-new-privs"], "set no_new_privs for the process"),
        flag(
            &["cap", "c"],
            "add a capability to the bounding, effective and permitted sets (repeatable)",
        ),
        PRESERVE_FDS,
        flag(
            &["cgroup"],
            "run in an existing sub-cgroup of the container: [CONTROLLER[,CONTROLLER]:]PATH",
        ),
        switch(&["ignore-paused"], "exec even when the container is paused"),
    ],
    // What follows the container id is the process's command line.
    reorder: false,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    if p.args.is_empty() || (p.args.len() < 2 && p.value("process").is_none()) {
        return Err(UsageError(
            "runr: \"exec\" requires a minimum of 2 arguments (or --process and 1)".into(),
        )
        .into());
    }
    // A failure on the runtime's side exits 255, as runc's does.
    match exec(g, p) {
        Ok(code) => Ok(code),
        Err(e) if e.downcast_ref::<UsageError>().is_some() => Err(e),
        Err(e) => {
            g.log
                .error(&format!("exec failed: {}", super::describe(&e)));
            Ok(255)
        }
    }
}

fn exec(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let id = &p.args[0];
    // A --process that is not a regular file (a pipe, /dev/stdin) could not be read again by a
    // re-executed image: re-execute before reading it, since whether this exec needs it is
    // only known once it is read.
    if let Some(path) = p.value("process") {
        let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
        if !regular && !runtime_core::binary_is_protected() {
            crate::reexec_protected(g, "--process is not a regular file");
        }
    }
    let container = Container::load(&g.root, id)?;
    let mut process = process(p, &container)?;
    if let Some(size) = p.value("console-size") {
        process.set_console_size(Some(console_size(size, &process)?));
    }
    let sub_cgroups = sub_cgroups(&p.values("cgroup"))?;
    for (flag, field) in [
        ("apparmor", "apparmor profile"),
        ("process-label", "SELinux label"),
    ] {
        if p.value(flag).is_some_and(|v| !v.is_empty()) {
            anyhow::bail!("--{flag}: setting an {field} is not supported by runr yet");
        }
    }
    let terminal = process.terminal().unwrap_or(false);
    // Before anything of this image's is made: re-executed from a protected binary if the
    // exec stub cannot serve this process.
    let mut exec_builder = ExecBuilder::new(&container, process);
    if let Some(why) = exec_builder.needs_protected_binary() {
        crate::reexec_protected(g, why);
    }
    let detach = p.is_set("detach");
    let mut console = p
        .value("console-socket")
        .map(|s| Console::Socket(s.into()))
        .unwrap_or_default();
    let mut ours = None;
    if terminal && matches!(console, Console::None) {
        if detach {
            anyhow::bail!("cannot allocate tty if runr will detach without setting console socket");
        }
        let (mine, theirs) = foreground::console_pair()?;
        console = Console::Connected(theirs);
        ours = Some(mine);
    }
    let (preserve_fds, extra_env) = super::create::preserved_fds(p)?;
    let signals = foreground::forwarded_signals();
    if !detach {
        signals.thread_block()?;
    }
    let mut exec = exec_builder
        .console(console)
        .preserve_fds(preserve_fds)
        .ignore_paused(p.is_set("ignore-paused"))
        .sub_cgroups(sub_cgroups);
    if let Some(f) = p.value("pid-file") {
        exec = exec.pid_file(PathBuf::from(f));
    }
    for var in extra_env {
        exec = exec.env(var);
    }
    let pidfd_socket = match p.value("pidfd-socket") {
        Some(path) => Some(PidfdSocket::connect(std::path::Path::new(path))?),
        None => None,
    };
    let child = exec.spawn()?;
    if let Some(socket) = pidfd_socket {
        if let Err(e) = socket.send_pidfd(child.pidfd(), PidfdKind::Exec) {
            // The process must not run unmanaged (runc's exec fails before it starts).
            let _ = child.signal(runtime_core::Signal::KILL);
            let _ = child.wait();
            return Err(e.into());
        }
    }
    for w in child.warnings() {
        g.log.warn(w);
    }
    if detach {
        return Ok(0);
    }
    let master = match &ours {
        Some(sock) => runtime_core::receive_console_master(sock)?,
        None => None,
    };
    drop(ours);
    let code = foreground::wait(child.pid(), master, signals)?;
    super::exited(child.pid(), code);
    Ok(code)
}

/// `--cgroup [CONTROLLER[,CONTROLLER]:]PATH`, repeatable (runc's rules: a PATH without a
/// controller applies to all and must then be the only one).
fn sub_cgroups(values: &[String]) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for v in values {
        match v.split_once(':') {
            None => {
                if values.len() > 1 {
                    anyhow::bail!(
                        "--cgroup argument {v:?}: when path is specified without a controller, only one --cgroup is allowed"
                    );
                }
                out.insert(String::new(), v.clone());
            }
            Some((ctrls, path)) => {
                for c in ctrls.split(',') {
                    out.insert(c.to_string(), path.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// `--console-size HEIGHT,WIDTH`: the window size of the process's pty (which needs a pty).
fn console_size(v: &str, process: &Process) -> anyhow::Result<oci_spec::runtime::Box> {
    let bad = || {
        UsageError(format!(
            "invalid --console-size {v:?}: expected HEIGHT,WIDTH"
        ))
    };
    let (h, w) = v.split_once(',').ok_or_else(bad)?;
    let (h, w): (u16, u16) = (
        h.trim().parse().map_err(|_| bad())?,
        w.trim().parse().map_err(|_| bad())?,
    );
    if !process.terminal().unwrap_or(false) {
        return Err(UsageError("--console-size needs a terminal (--tty)".into()).into());
    }
    Ok(oci_spec::runtime::BoxBuilder::default()
        .height(h)
        .width(w)
        .build()?)
}

/// The process to run: `--process FILE` read as runc reads it (`spec::parse_process`), or the
/// container's own process with the command line and the flags applied (runc's rules: `-e`
/// adds to the environment, `--cap` adds to the bounding, effective and permitted sets, `-t`
/// decides the terminal).
fn process(p: &Parsed, c: &Container) -> anyhow::Result<Process> {
    if let Some(file) = p.value("process") {
        let raw = std::fs::read(file).map_err(|e| anyhow::anyhow!("--process {file}: {e}"))?;
        return runtime_core::spec::parse_process(&raw)
            .map_err(|e| anyhow::anyhow!("--process {file}: {}: {}", e.path(), e.inner()));
    }
    let mut process = c.spec().process().clone().unwrap_or_default();
    process.set_args(Some(p.args[1..].to_vec()));
    process.set_terminal(Some(p.is_set("tty")));
    if let Some(cwd) = p.value("cwd") {
        process.set_cwd(cwd.into());
    }
    let mut env = process.env().clone().unwrap_or_default();
    env.extend(p.values("env"));
    process.set_env(Some(env));
    if p.is_set("no-new-privs") {
        process.set_no_new_privileges(Some(true));
    }
    if let Some(u) = p.value("user") {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u, None),
        };
        let bad = || {
            UsageError(format!(
                "invalid --user {u:?}: expected uid[:gid] as numbers"
            ))
        };
        let mut user = process.user().clone();
        user.set_uid(uid.parse().map_err(|_| bad())?);
        if let Some(g) = gid {
            user.set_gid(g.parse().map_err(|_| bad())?);
        }
        process.set_user(user);
    }
    let gids = p.values("additional-gids");
    if !gids.is_empty() {
        let mut user = process.user().clone();
        let parsed: Result<Vec<u32>, _> = gids.iter().map(|g| g.parse::<u32>()).collect();
        user.set_additional_gids(Some(
            parsed.map_err(|_| UsageError(format!("invalid --additional-gids {gids:?}")))?,
        ));
        process.set_user(user);
    }
    let caps = p.values("cap");
    if !caps.is_empty() {
        // No capabilities field means none at all (not oci-spec's default set).
        let mut set = match process.capabilities().clone() {
            Some(set) => set,
            None => parse_json(b"{}")?,
        };
        for name in &caps {
            let cap: Capability =
                serde_json::from_value(serde_json::Value::String(name.clone()))
                    .map_err(|_| UsageError(format!("unknown capability {name:?}")))?;
            let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            set.set_bounding(add(set.bounding()));
            set.set_effective(add(set.effective()));
            set.set_permitted(add(set.permitted()));
        }
        process.set_capabilities(Some(set));
    }
    Ok(process)
}
