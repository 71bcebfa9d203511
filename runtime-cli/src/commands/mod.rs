//! One module per subcommand. Each parses its own flags and returns the exit code; errors are
//! logged once, by `dispatch`.

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

use crate::cli::UsageError;
use crate::Global;

pub const USAGE: &str = "\
runr - a fast OCI container runtime (runc-compatible)

USAGE:
   runr [global options] command [command options] [arguments...]

COMMANDS:
   create   create a container
   start    start a created container
   run      create and start a container
   state    output the state of a container
   kill     send a signal to the container's init process
   delete   delete a container and the resources it holds
   list     list containers started by runr with the given root
   exec     execute a new process inside a container
   ps       show the processes running inside a container
   pause    suspend all processes of a container
   resume   resume all processes of a paused container
   update   update a container's resource limits
   events   show a container's stats and OOM events
   features show what runr supports
   spec     create a new specification file
   help     show this help

GLOBAL OPTIONS:
   --root value        root directory for storage of container state (default: \"/run/runr\")
   --log value         log file path (default: stderr)
   --log-format value  log format: text or json (default: \"text\")
   --debug             enable debug logging
   --systemd-cgroup    cgroupsPath is \"slice:prefix:name\" for the systemd driver
   --version, -v       print the version
";

/// The spec version runr implements.
pub const SPEC_VERSION: &str = "1.0.2-dev";

pub fn version_text() -> String {
    // After runc's three lines (runc adds go and libseccomp): whether --systemd-cgroup can
    // work on this host.
    let systemd = if cgroups::systemd_usable() {
        "usable (systemd answers on the system bus)"
    } else {
        "not usable here (systemd is not PID 1 or does not answer)"
    };
    format!(
        "runr version {}\ncommit: {}\nspec: {SPEC_VERSION}\nsystemd cgroup driver: {systemd}\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("RUNR_COMMIT").unwrap_or("unknown"),
    )
}

pub fn dispatch(g: &mut Global, command: &str, argv: &[String]) -> i32 {
    // `runr help [CMD]` and `runr CMD --help` show the help and succeed, as runc's do.
    if command == "help" || command == "h" || asks_for_help(argv) {
        print!("{USAGE}");
        return 0;
    }
    let result: anyhow::Result<i32> = match command {
        "create" => create::run(g, argv).map_err(|e| prefixed("create", e)),
        "start" => start::run(g, argv),
        "exec" => return exec::run(g, argv),
        "run" => run::run(g, argv).map_err(|e| prefixed("run", e)),
        "state" => state::run(g, argv),
        "kill" => kill::run(g, argv),
        "delete" => delete::run(g, argv),
        "list" => list::run(g, argv),
        "spec" => spec::run(g, argv),
        "ps" => ps::run(g, argv),
        "pause" => pause::run(g, argv),
        "resume" => resume::run(g, argv),
        "update" => update::run(g, argv),
        "events" => events::run(g, argv),
        "features" => features::run(g, argv),
        other => {
            g.log.error(&format!("No help topic for '{other}'"));
            return 3;
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if e.downcast_ref::<UsageError>().is_some() {
                println!("Incorrect Usage.\n\n{USAGE}");
            }
            g.log.error(&describe(&e));
            1
        }
    }
}

/// True when a `-h`/`--help` flag comes before the command's first positional argument.
fn asks_for_help(argv: &[String]) -> bool {
    argv.iter()
        .take_while(|a| a.starts_with('-') && a.as_str() != "--")
        .any(|a| matches!(a.trim_start_matches('-'), "h" | "help"))
}

/// runc prefixes create and run failures ("runc create failed: …"), which engines show as is.
fn prefixed(command: &str, e: anyhow::Error) -> anyhow::Error {
    if e.downcast_ref::<UsageError>().is_some() {
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

/// Logs library warnings (poststart/poststop hook failures).
fn warn_all(g: &mut Global, warnings: Vec<runtime_core::Error>) {
    for w in warnings {
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
