//! runtime-core's typed kill target and typed outcomes, used in-process as an embedder uses
//! them: `kill(signal, KillTarget::AllProcesses)` reaches every process of the container (runc's
//! `kill --all`), and `delete` reports a failing poststop hook as a typed warning while still
//! removing the container (runc's `delete` logs the hook's error and exits 0).
//!
//! A custom harness (`harness = false`): creating a container needs a single-threaded caller.
//! Each scenario runs under runr's library, then under the runc CLI beside it.

use std::fs::File;
use std::io::{BufRead, BufReader};

use runtime_core::hooks::{HookExit, HookFailure, HookKind};
use runtime_core::{ContainerBuilder, ExitStatus, KillTarget, Signal, Stdio, Warning};
use serde_json::json;
use tests_integration::{assert_no_leaks, runtimes, unique, wait_for, Bundle, Runtime};

fn main() {
    runtime_core::protect_binary();
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let cases: &[(&str, fn())] = &[
        (
            "kill_all_processes_reaches_a_child_the_init_ignores_for",
            kill_all_processes_reaches_a_child,
        ),
        (
            "a_failing_poststop_hook_is_a_typed_warning_of_delete",
            failing_poststop_hook_is_a_warning,
        ),
    ];
    let mut ran = 0;
    for (name, case) in cases {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        eprintln!("test {name} ...");
        case();
        eprintln!("test {name} ... ok");
        ran += 1;
    }
    eprintln!("test result: ok. {ran} passed");
}

/// The container's init (a shell, pid 1 of its namespace: SIGTERM without a handler does not
/// reach it) waits for a background sleep; only a signal to every process ends the sleep.
const WAIT_FOR_CHILD: &str = r#"sleep 1000 & echo started; wait $!; echo "sleep ended $?""#;

fn kill_all_processes_reaches_a_child() {
    let bundle = Bundle::shell(WAIT_FOR_CHILD);
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-killall");
    let mut c = ContainerBuilder::new(&id, &bundle.dir)
        .root(&rt.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .create()
        .expect("create");
    let mut lines = BufReader::new(File::from(c.take_stdout().expect("piped"))).lines();
    assert!(c.start().expect("start").is_clean());
    // The sleep exists once the shell said so.
    assert_eq!(lines.next().expect("a line").expect("read"), "started");
    c.kill(Signal::TERM, KillTarget::AllProcesses)
        .expect("kill all");
    assert_eq!(
        lines.next().expect("a line").expect("read"),
        "sleep ended 143"
    );
    assert_eq!(c.wait().expect("wait"), ExitStatus::Exited(0));
    assert!(c.delete(false).expect("delete").is_clean());
    assert_no_leaks(&rt, &id, &bundle);

    // runc: `kill --all ID TERM` ends the sleep the same way; the shell then exits.
    for rt in runtimes().into_iter().filter(|r| r.name == "runc") {
        let id = unique("embed-killall");
        let out = bundle.dir.join("runc-out.txt");
        let file = File::create(&out).expect("create output file");
        let status = rt
            .command(&["run", "-d", "--bundle", bundle.dir.to_str().unwrap(), &id])
            .stdout(file)
            .status()
            .expect("runc run -d");
        assert!(status.success(), "runc run -d: {status}");
        let read = || std::fs::read_to_string(&out).unwrap_or_default();
        assert!(wait_for(30, || read().contains("started\n")), "{}", read());
        rt.ok(&["kill", "--all", &id, "TERM"]);
        assert!(
            wait_for(30, || read().contains("sleep ended 143\n")),
            "{}",
            read()
        );
        assert!(wait_for(30, || rt.state(&id)["status"] == "stopped"));
        rt.ok(&["delete", &id]);
        assert_no_leaks(&rt, &id, &bundle);
    }
}

fn failing_poststop_hook_is_a_warning() {
    let mut bundle = Bundle::shell("echo ran");
    bundle.config["hooks"] = json!({"poststop": [
        {"path": "/bin/sh", "args": ["sh", "-c", "echo hook-said >&2; exit 3"]},
        {"path": "/bin/sh", "args": ["sh", "-c", "exit 0"]}
    ]});
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-poststop");
    let mut c = ContainerBuilder::new(&id, &bundle.dir)
        .root(&rt.root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .create()
        .expect("create");
    assert!(c.start().expect("start").is_clean());
    assert_eq!(c.wait().expect("wait"), ExitStatus::Exited(0));
    let outcome = c.delete(false).expect("delete succeeds despite the hook");
    match outcome.warnings.as_slice() {
        [Warning::Hook {
            kind: HookKind::Poststop,
            index: 0,
            failure:
                HookFailure::Failed {
                    exit: HookExit::Code(3),
                    stderr,
                    ..
                },
            ..
        }] => assert_eq!(stderr.trim(), "hook-said"),
        other => panic!("{other:?}"),
    }
    let text = outcome.warnings[0].to_string();
    assert!(
        text.starts_with("poststop hook #0 (/bin/sh): exit status 3"),
        "{text}"
    );
    assert_no_leaks(&rt, &id, &bundle);

    // runc 1.1.5: `run` deletes the container when its process exits, logs the hook's error and
    // exits with the process's status; the container is gone all the same.
    for rt in runtimes().into_iter().filter(|r| r.name == "runc") {
        let id = unique("embed-poststop");
        let (code, out, err) = rt.run(&bundle, &id);
        assert_eq!((code, out.as_str()), (0, "ran\n"), "runc: {err}");
        assert!(
            err.contains("exit status 3") && err.contains("hook-said"),
            "{err}"
        );
        assert_no_leaks(&rt, &id, &bundle);
    }
}
