//! `run_bundle BUNDLE ID`: creates and runs the container `ID` from the OCI bundle `BUNDLE`
//! through runtime-core's builder, with the container's stdout captured by a pipe (not
//! inherited), prints each line it wrote as `captured: LINE`, and exits with the container's
//! exit status (128 + N when a signal N killed it). State lives under `/run/runr` (or `ROOT`,
//! an optional third argument); stdin and stderr are this program's own.
//!
//! ```sh
//! cargo build -p runtime-core --example run_bundle
//! bash scripts/make-bundle.sh /tmp/b sh -c 'echo hello; exit 3'
//! sudo target/debug/examples/run_bundle /tmp/b demo; echo "exit $?"
//! # captured: hello
//! # exit 3
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

use runtime_core::{ContainerBuilder, Stdio};

fn main() -> ExitCode {
    // CVE-2019-5736: before anything else, run from a read-only view of this binary (this may
    // re-execute the program); the container's processes are clones of it until their execve.
    runtime_core::protect_binary();
    let args: Vec<String> = std::env::args().collect();
    let (bundle, id, root) = match args.as_slice() {
        [_, bundle, id] => (bundle, id, "/run/runr"),
        [_, bundle, id, root] => (bundle, id, root.as_str()),
        _ => {
            eprintln!("usage: run_bundle BUNDLE ID [ROOT]");
            return ExitCode::from(2);
        }
    };
    match run(bundle, id, root) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("run_bundle: {e}");
            ExitCode::from(1)
        }
    }
}

/// Create (stdout piped), start, relay what the container writes, wait, delete.
fn run(bundle: &str, id: &str, root: &str) -> Result<i32, runtime_core::Error> {
    let mut container = ContainerBuilder::new(id, bundle)
        .root(root)
        .stdout(Stdio::piped())
        .create()?;
    for w in container.warnings() {
        eprintln!("run_bundle: warning: {w}");
    }
    let stdout = container.take_stdout().expect("stdout was piped");
    match container.start() {
        Ok(outcome) => outcome
            .warnings
            .iter()
            .for_each(|w| eprintln!("run_bundle: warning: {w}")),
        Err(e) => {
            let _ = container.delete(true);
            return Err(e);
        }
    }
    // EOF once every process holding the pipe's write end (the container's) has exited.
    for line in BufReader::new(File::from(stdout)).lines() {
        match line {
            Ok(line) => println!("captured: {line}"),
            Err(e) => {
                eprintln!("run_bundle: reading the container's stdout: {e}");
                break;
            }
        }
    }
    let status = container.wait();
    for w in container.delete(true)?.warnings {
        eprintln!("run_bundle: warning: {w}");
    }
    Ok(status?.code())
}
