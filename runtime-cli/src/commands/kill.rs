//! `runr kill [--all] ID [SIGNAL]`: SIGTERM by default; names or numbers.

use runtime_core::{Container, KillTarget, Signal};

use crate::cli::{switch, Command, Parsed, UsageError};
use crate::{signals, Global};

pub const COMMAND: Command = Command {
    name: "kill",
    usage: "send a signal (default: SIGTERM) to the container's init",
    args_usage: "<container-id> [signal]

<container-id> is the name of the container; [signal] a name (KILL, SIGKILL) or a
number. Signal 0 sends nothing and only checks that the container runs.",
    description: "",
    flags: &[switch(
        &["all", "a"],
        "send the signal to every process of the container (runc 1.1.5's --all, kept for \
         its callers; runc 1.5 hides it as obsoleted and signals only the init, and a \
         SIGKILL of a container sharing a pid namespace reaches every process without it)",
    )],
    reorder: true,
};

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let (id, sig) = match p.args.as_slice() {
        [id] => (id, "SIGTERM"),
        [id, sig] => (id, sig.as_str()),
        [] => {
            return Err(
                UsageError(r#"runr: "kill" requires a minimum of 1 argument(s)"#.into()).into(),
            )
        }
        _ => {
            return Err(
                UsageError(r#"runr: "kill" requires a maximum of 2 argument(s)"#.into()).into(),
            )
        }
    };
    // Like runc: a missing container is reported before a bad signal.
    let c = Container::load(&g.root, id)?;
    let signal = signals::parse(sig)
        .and_then(Signal::new)
        .ok_or_else(|| anyhow::anyhow!("unknown signal {sig:?}"))?;
    let target = match p.is_set("all") {
        true => KillTarget::AllProcesses,
        false => KillTarget::Init,
    };
    c.kill(signal, target)?;
    Ok(0)
}
