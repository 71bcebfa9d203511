//! `runr exec [flags] ID COMMAND [ARG...]` or `runr exec --process FILE ID`: another process in a
//! running container. Foreground: its exit status (128+signal when killed); `--detach`: exit 0
//! once it runs. A failure on the runtime's side exits 255, as runc's does.

use std::path::PathBuf;

use oci_spec::runtime::{Capability, Process};
use runtime_core::spec::parse_json;
use runtime_core::{Console, Container, ExecOptions};

use super::foreground;
use crate::cli::{self, flag, switch, Flag, Parsed, UsageError};
use crate::Global;

const FLAGS: &[Flag] = &[
    flag(&["console-socket"]),
    flag(&["cwd"]),
    flag(&["env", "e"]),
    switch(&["tty", "t"]),
    flag(&["user", "u"]),
    flag(&["additional-gids", "g"]),
    flag(&["process", "p"]),
    switch(&["detach", "d"]),
    flag(&["pid-file"]),
    flag(&["process-label"]),
    flag(&["apparmor"]),
    switch(&["no-new-privs"]),
    flag(&["cap", "c"]),
    flag(&["preserve-fds"]),
    flag(&["cgroup"]),
    switch(&["ignore-paused"]),
];

pub fn run(g: &mut Global, argv: &[String]) -> i32 {
    let p = match cli::parse(argv, FLAGS) {
        Ok(p) if !p.args.is_empty() && (p.args.len() > 1 || p.value("process").is_some()) => p,
        Ok(_) => {
            return usage(
                g,
                "runr: \"exec\" requires a minimum of 2 arguments (or --process and 1)",
            )
        }
        Err(e) => return usage(g, &e.0),
    };
    match exec(g, &p) {
        Ok(code) => code,
        Err(e) => {
            g.log
                .error(&format!("exec failed: {}", super::describe(&e)));
            255
        }
    }
}

fn usage(g: &mut Global, msg: &str) -> i32 {
    println!("Incorrect Usage.\n\n{}", super::USAGE);
    g.log.error(msg);
    1
}

fn exec(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let id = &p.args[0];
    let container = Container::load(&g.root, id)?;
    let process = process(p, &container)?;
    let sub_cgroups = sub_cgroups(&p.values("cgroup"))?;
    for (flag, field) in [
        ("apparmor", "apparmor profile"),
        ("process-label", "SELinux label"),
    ] {
        if p.value(flag).is_some_and(|v| !v.is_empty()) {
            anyhow::bail!("--{flag}: setting an {field} is not supported by runr yet");
        }
    }
    let detach = p.is_set("detach");
    let terminal = process.terminal().unwrap_or(false);
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
    let opts = ExecOptions {
        console,
        pid_file: p.value("pid-file").map(PathBuf::from),
        preserve_fds,
        extra_env,
        ignore_paused: p.is_set("ignore-paused"),
        sub_cgroups,
    };
    let child = container.exec(&process, opts)?;
    if detach {
        return Ok(0);
    }
    let master = match &ours {
        Some(sock) => runtime_core::receive_console_master(sock)?,
        None => None,
    };
    drop(ours);
    foreground::wait(child.pid(), master, signals)
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

/// The process to run: `--process FILE` as is, or the container's own process with the command
/// line and the flags applied (runc's rules: `-e` adds to the environment, `--cap` adds to the
/// bounding, effective and permitted sets, `-t` decides the terminal).
fn process(p: &Parsed, c: &Container) -> anyhow::Result<Process> {
    if let Some(file) = p.value("process") {
        let raw = std::fs::read(file).map_err(|e| anyhow::anyhow!("--process {file}: {e}"))?;
        return parse_json(&raw)
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
