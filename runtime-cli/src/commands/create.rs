//! `runr create [flags] ID`: the container ends in state `created`, its init waiting for start.

use std::path::PathBuf;

use runtime_core::{Console, Container, CreateOptions};

use crate::cli::{self, flag, switch, Flag, Parsed};
use crate::Global;

pub const FLAGS: &[Flag] = &[
    flag(&["bundle", "b"]),
    flag(&["console-socket"]),
    flag(&["pid-file"]),
    switch(&["no-pivot"]),
    switch(&["no-new-keyring"]),
    flag(&["preserve-fds"]),
];

pub fn run(g: &mut Global, argv: &[String]) -> anyhow::Result<i32> {
    let p = cli::parse(argv, FLAGS)?;
    let id = p.id("create")?;
    let opts = options(g, &p)?;
    let c = Container::create(id, &bundle(&p), opts).map_err(|e| in_config(&bundle(&p), e))?;
    for w in c.warnings() {
        g.log.warn(w);
    }
    Ok(0)
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

/// The options `create` and `run` share.
pub fn options(g: &Global, p: &Parsed) -> anyhow::Result<CreateOptions> {
    let (preserve_fds, extra_env) = preserved_fds(p)?;
    Ok(CreateOptions {
        root: g.root.clone(),
        console: p
            .value("console-socket")
            .map(|s| Console::Socket(s.into()))
            .unwrap_or_default(),
        pid_file: p.value("pid-file").map(PathBuf::from),
        no_pivot: p.is_set("no-pivot"),
        no_new_keyring: p.is_set("no-new-keyring"),
        preserve_fds,
        extra_env,
        systemd_cgroup: g.systemd_cgroup,
        rootless: g.rootless,
    })
}
