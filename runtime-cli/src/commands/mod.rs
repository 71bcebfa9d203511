//! One module per subcommand, each with its [`Command`] (flags, help) and a `run` that gets the
//! parsed arguments and returns the exit code; `dispatch` parses, shows help, and logs errors
//! once.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod foreground;
mod kill;
mod list;
mod pause;
mod ps;
mod resume;
mod run;
mod spec;
mod start;
mod state;
mod update;

use crate::cli::{self, Command, FlagError, Parsed, UsageError};
use crate::Global;

/// What runs a command once its arguments are parsed.
type Run = fn(&mut Global, &Parsed) -> anyhow::Result<i32>;

/// Every subcommand, in the order the help lists them (runc's).
const COMMANDS: &[(&Command, Run)] = &[
    (&create::COMMAND, create::run),
    (&delete::COMMAND, delete::run),
    (&events::COMMAND, events::run),
    (&exec::COMMAND, exec::run),
    (&kill::COMMAND, kill::run),
    (&list::COMMAND, list::run),
    (&pause::COMMAND, pause::run),
    (&ps::COMMAND, ps::run),
    (&resume::COMMAND, resume::run),
    (&run::COMMAND, run::run),
    (&spec::COMMAND, spec::run),
    (&start::COMMAND, start::run),
    (&state::COMMAND, state::run),
    (&update::COMMAND, update::run),
    (&features::COMMAND, features::run),
];

/// The spec version runr implements (runc 1.5's: runtime-spec 1.3.0).
pub const SPEC_VERSION: &str = "1.3.0";

/// `runr --version` (and `runr version`): runc's lines; dockerd reads the first two.
pub fn version_text() -> String {
    // After runc's lines: whether --systemd-cgroup can work on this host.
    let systemd = if cgroups::systemd_usable() {
        "usable (systemd answers on the system bus)"
    } else {
        "not usable here (systemd is not PID 1 or does not answer)"
    };
    let mut text = format!(
        "runr version {}\ncommit: {}\nspec: {SPEC_VERSION}\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("RUNR_COMMIT").unwrap_or("unknown"),
    );
    if let Some(v) = runtime_core::seccomp::libseccomp_version() {
        text.push_str(&format!("libseccomp: {v}\n"));
    }
    text.push_str(&format!("systemd cgroup driver: {systemd}\n"));
    text
}

const ABOUT: &str = "a runc-compatible OCI container runtime

runr runs containers from OCI bundles: a directory with a config.json and a root
filesystem. It takes runc's commands, flags and output shapes, so that engines
(containerd, Docker, podman) and scripts written for runc can use it instead.

To create and start a container from the bundle in the current directory:

    # runr run [ -b bundle ] <container-id>

The <container-id> names the container on this host and must be unique under
the state root (--root).";

/// The application's help (`runr`, `runr -h`, `runr help`), urfave/cli's layout.
pub fn app_help(global_flags: &[cli::Flag]) -> String {
    let mut out = format!(
        concat!(
            "NAME:\n   runr - {}\n\n",
            "USAGE:\n   runr [global options] command [command options] [arguments...]\n\n",
            "VERSION:\n   {}\n"
        ),
        ABOUT,
        version_text()
            .trim_start_matches("runr version ")
            .trim_end()
    );
    let mut rows: Vec<(String, String)> = COMMANDS
        .iter()
        .map(|(c, _)| (c.name.to_string(), c.usage.to_string()))
        .collect();
    rows.push(("version".into(), "print the version".into()));
    rows.push((
        "help, h".into(),
        "show the commands, or the help of one command".into(),
    ));
    out.push_str("\nCOMMANDS:\n");
    out.push_str(&cli::columns(&rows));
    let flags: Vec<(String, String)> = global_flags
        .iter()
        .filter(|f| !f.hidden)
        .map(|f| (f.synopsis(), f.help_text()))
        .collect();
    out.push_str("\nGLOBAL OPTIONS:\n");
    out.push_str(&cli::columns(&flags));
    out
}

fn find(name: &str) -> Option<&'static (&'static Command, Run)> {
    COMMANDS.iter().find(|(c, _)| c.name == name)
}

/// runc's answer to an unknown command (or help topic): exit 3.
fn no_such_topic(g: &mut Global, name: &str) -> i32 {
    g.log.error(&format!("No help topic for '{name}'"));
    3
}

pub fn dispatch(g: &mut Global, command: &str, argv: &[String]) -> i32 {
    // `runr help [CMD]`: the application's or the command's help, as runc's does.
    if command == "help" || command == "h" {
        return match argv.first() {
            None => {
                print!("{}", app_help(crate::GLOBAL_FLAGS));
                0
            }
            Some(name) => match find(name) {
                Some((c, _)) => {
                    print!("{}", c.help("runr"));
                    0
                }
                None => no_such_topic(g, name),
            },
        };
    }
    if command == "version" {
        print!("{}", version_text());
        return 0;
    }
    let Some((def, run)) = find(command) else {
        return no_such_topic(g, command);
    };
    let parsed = match def.parse(argv) {
        Ok(p) => p,
        Err(e) => return usage_error(g, def, &format!("Incorrect Usage: {e}"), &e.0),
    };
    if parsed.help {
        print!("{}", def.help("runr"));
        return 0;
    }
    g.log.debug(
        &format!("runr {command}"),
        &[("args", format!("{:?}", parsed.args))],
    );
    let result = match command {
        "create" | "run" => run(g, &parsed).map_err(|e| prefixed(command, e)),
        _ => run(g, &parsed),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<UsageError>().is_some() => {
            usage_error(g, def, "Incorrect Usage.", &describe(&e))
        }
        Err(e) if e.downcast_ref::<FlagError>().is_some() => {
            usage_error(g, def, &format!("Incorrect Usage: {e}"), &describe(&e))
        }
        Err(e) => {
            g.log.error(&describe(&e));
            1
        }
    }
}

/// runc on a usage mistake: the headline and the command's help on stdout, the error logged,
/// exit 1.
fn usage_error(g: &mut Global, def: &Command, headline: &str, msg: &str) -> i32 {
    println!("{headline}\n\n{}", def.help("runr"));
    g.log.error(msg);
    1
}

/// runc prefixes create and run failures ("runc create failed: …"), which engines show as is.
fn prefixed(command: &str, e: anyhow::Error) -> anyhow::Error {
    if e.downcast_ref::<UsageError>().is_some() || e.downcast_ref::<FlagError>().is_some() {
        return e;
    }
    anyhow::anyhow!("runr {command} failed: {}", describe(&e))
}

/// An error and its causes joined with ": ", like `{:#}`, but without repeating a cause whose
/// text its wrapper already shows (the library's errors embed their source in their message).
pub fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The debug line for a foreground process that ended, as runc logs it.
fn exited(pid: i32, code: i32) {
    // A library-style step: logged with --debug, and it ends the phase the process ran.
    runtime_core::trace::step(
        "process exited",
        &[("pid", pid.to_string()), ("status", code.to_string())],
    );
}

/// Logs library warnings (poststart/poststop hook failures).
fn warn_all(g: &mut Global, outcome: runtime_core::Outcome) {
    for w in outcome.warnings {
        g.log.warn(&w.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[derive(Debug)]
    struct Inner;
    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("bad cgroupsPath")
        }
    }
    impl std::error::Error for Inner {}

    #[derive(Debug)]
    struct Outer(Inner);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cgroup: {}", self.0)
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_already_shown_are_not_repeated() {
        let e = anyhow::Error::new(Outer(Inner));
        assert_eq!(describe(&e), "cgroup: bad cgroupsPath");
        let e = anyhow::Error::new(Inner).context("create");
        assert_eq!(describe(&e), "create: bad cgroupsPath");
    }
}
