//! `runr kill [--all] ID [SIGNAL]`: SIGTERM by default; names or numbers.

use runtime_core::Container;

use crate::cli::{self, switch, Flag, UsageError};
use crate::{signals, Global};

const FLAGS: &[Flag] = &[switch(&["all", "a"])];

pub fn run(g: &mut Global, argv: &[String]) -> anyhow::Result<i32> {
    let p = cli::parse(argv, FLAGS)?;
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
    let signal = signals::parse(sig).ok_or_else(|| anyhow::anyhow!("unknown signal {sig:?}"))?;
    c.kill(signal, p.is_set("all"))?;
    Ok(0)
}
