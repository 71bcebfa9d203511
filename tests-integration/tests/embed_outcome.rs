//! runtime-core's typed kill target, typed outcomes and typed errors, used in-process as an
//! embedder uses them: `kill(signal, KillTarget::AllProcesses)` reaches every process of the
//! container (runc's `kill --all`); `delete` reports a failing poststop hook as a typed warning
//! while still removing the container (runc's `delete` logs the hook's error and exits 0); a
//! bad config is `Error::Config` with the field's JSON path and a `ConfigReason` (runc refuses
//! the same configs, in its own words); a corrupt state.json is `Error::State` with its
//! `io::Error` as source (runc's `state` fails on it too).
//!
//! A custom harness (`harness = false`): creating a container needs a single-threaded caller.
//! Each scenario runs under runr's library, then under the runc CLI beside it.

use std::fs::File;
use std::io::{BufRead, BufReader};

use runtime_core::hooks::{HookExit, HookFailure, HookKind};
use runtime_core::{
    ConfigReason, Container, Error, ExitStatus, KillTarget, Signal, Stdio, Warning,
};
use serde_json::json;
use tests_integration::in_process::{builder, create, run_cases};
use tests_integration::{assert_no_leaks, runtimes, unique, wait_for, Bundle, Runtime};

fn main() {
    runtime_core::protect_binary();
    run_cases(&[
        (
            "kill_all_processes_reaches_a_child_the_init_ignores_for",
            kill_all_processes_reaches_a_child,
        ),
        (
            "a_failing_poststop_hook_is_a_typed_warning_of_delete",
            failing_poststop_hook_is_a_warning,
        ),
        (
            "config_errors_carry_the_field_and_a_typed_reason",
            config_errors_are_typed,
        ),
        (
            "a_corrupt_state_is_a_state_error_with_its_io_error_as_source",
            corrupt_state_is_a_state_error,
        ),
    ]);
}

/// The container's init (a shell, pid 1 of its namespace: SIGTERM without a handler does not
/// reach it) waits for a background sleep; only a signal to every process ends the sleep.
const WAIT_FOR_CHILD: &str = r#"sleep 1000 & echo started; wait $!; echo "sleep ended $?""#;

fn kill_all_processes_reaches_a_child() {
    let bundle = Bundle::shell(WAIT_FOR_CHILD);
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-killall");
    let mut c = create(&rt, &id, &bundle, Stdio::null(), Stdio::piped());
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
    let mut c = create(&rt, &id, &bundle, Stdio::null(), Stdio::null());
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

/// Creates `bundle` (its config.json as it is on disk) through the builder, expecting a config
/// error; returns it with nothing left behind.
fn config_error(bundle: &Bundle) -> (String, ConfigReason, String) {
    let rt = Runtime::runr();
    let id = unique("embed-badcfg");
    let e = match builder(&rt, &id, bundle).stdin(Stdio::null()).create() {
        Ok(_) => panic!("create succeeded"),
        Err(e) => e,
    };
    let text = e.to_string();
    assert_no_leaks(&rt, &id, bundle);
    match e {
        Error::Config { field, reason, .. } => (field, reason, text),
        other => panic!("not a config error: {other:?}"),
    }
}

/// runc refuses the same config.json (its own words) and leaves nothing behind.
fn runc_refuses(bundle: &Bundle) {
    for rt in runtimes().into_iter().filter(|r| r.name == "runc") {
        let id = unique("embed-badcfg");
        let out = rt.exec(&["create", "--bundle", bundle.dir.to_str().unwrap(), &id]);
        assert!(!out.status.success(), "runc accepted it");
        assert_no_leaks(&rt, &id, bundle);
    }
}

fn config_errors_are_typed() {
    // No config.json: unreadable, with the io::Error kept.
    let bundle = Bundle::shell("true");
    match config_error(&bundle) {
        (field, ConfigReason::Unreadable { path: None, source }, text) => {
            assert_eq!(field, "cannot read");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert!(
                text.ends_with("cannot read: no such file or directory"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    runc_refuses(&bundle);

    // Not JSON.
    std::fs::write(bundle.dir.join("config.json"), "{").unwrap();
    match config_error(&bundle) {
        (field, ConfigReason::Malformed(_), _) => assert_eq!(field, "invalid JSON"),
        other => panic!("{other:?}"),
    }
    runc_refuses(&bundle);

    // No root: a missing field, in runr's words "root: is required".
    let mut no_root = Bundle::shell("true");
    no_root.config.as_object_mut().unwrap().remove("root");
    no_root.write();
    match config_error(&no_root) {
        (field, ConfigReason::Missing, text) => {
            assert_eq!(field, "root");
            assert!(text.ends_with("root: is required"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    runc_refuses(&no_root);

    // A root.path that does not exist: unreadable, naming the path.
    let mut gone = Bundle::shell("true");
    gone.config["root"]["path"] = json!("no-such-rootfs");
    gone.write();
    match config_error(&gone) {
        (
            field,
            ConfigReason::Unreadable {
                path: Some(p),
                source,
            },
            _,
        ) => {
            assert_eq!(field, "root.path");
            assert_eq!(p, gone.dir.join("no-such-rootfs"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    runc_refuses(&gone);

    // A relative cwd: an invalid value.
    let mut rel = Bundle::shell("true");
    rel.config["process"]["cwd"] = json!("tmp");
    rel.write();
    match config_error(&rel) {
        (field, ConfigReason::Invalid(why), _) => {
            assert_eq!(field, "process.cwd");
            assert!(why.contains("absolute"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    runc_refuses(&rel);

    // Intel RDT without resctrl on this host: refused as unsupported here, never accepted and
    // ignored (runc 1.1.5 ignores a closID alone; tests/intel_rdt.rs has both side by side).
    let mut rdt = Bundle::shell("true");
    rdt.config["linux"]["intelRdt"] = json!({"closID": "runr-test"});
    rdt.write();
    match config_error(&rdt) {
        (field, ConfigReason::Unsupported(_), _) => assert_eq!(field, "linux.intelRdt"),
        other => panic!("{other:?}"),
    }
}

fn corrupt_state_is_a_state_error() {
    for rt in runtimes() {
        let id = unique("embed-corrupt");
        let dir = rt.root.join(&id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state.json"), "{").unwrap();
        if rt.name == "runc" {
            let out = rt.exec(&["state", &id]);
            assert!(!out.status.success(), "runc state of a corrupt state.json");
        } else {
            match Container::load(&rt.root, &id) {
                Err(e @ Error::State { .. }) => {
                    let source = std::error::Error::source(&e).expect("a source");
                    let io = source
                        .downcast_ref::<std::io::Error>()
                        .expect("an io::Error");
                    assert_eq!(io.kind(), std::io::ErrorKind::InvalidData, "{e}");
                }
                Err(other) => panic!("{other:?}"),
                Ok(_) => panic!("a corrupt state loaded"),
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
