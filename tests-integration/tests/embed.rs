//! runtime-core as embedders use it: `runtime-core/examples/run_bundle.rs` built and run against
//! a busybox bundle (its stdout captured through the builder's pipe, its exit status passed on),
//! the same bundle run by runc beside it.

use std::path::{Path, PathBuf};
use std::process::Command;

use tests_integration::{assert_no_leaks, runtimes, unique, Bundle, Runtime};

/// Builds the example (a no-op when it is fresh) and returns its path.
fn run_bundle_example() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&workspace)
        .args(["build", "-p", "runtime-core", "--example", "run_bundle"])
        .output()
        .expect("spawn cargo");
    assert!(
        out.status.success(),
        "building the run_bundle example failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    workspace.join("target/debug/examples/run_bundle")
}

const SCRIPT: &str = "echo hello; echo 'second line'; echo to-stderr >&2; exit 3";

#[test]
fn run_bundle_example_captures_stdout_and_exits_with_the_containers_status() {
    let example = run_bundle_example();
    let runr = Runtime::runr();
    let bundle = Bundle::shell(SCRIPT);
    bundle.write();
    let id = unique("embed-example");
    let out = Command::new(&example)
        .arg(&bundle.dir)
        .arg(&id)
        .arg(&runr.root)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("spawn run_bundle");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout, "captured: hello\ncaptured: second line\n",
        "stderr: {stderr}"
    );
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    // stderr was not redirected: the container wrote into the example's own stderr. The example
    // protected its binary first, so create has no CVE-2019-5736 warning to give.
    assert_eq!(stderr.trim(), "to-stderr");
    assert_no_leaks(&runr, &id, &bundle);

    // The same bundle under runc: the same lines (on runc's own stdout) and the same status.
    for rt in runtimes().into_iter().filter(|r| r.name == "runc") {
        let id = unique("embed-example");
        let (code, out, err) = rt.run(&bundle, &id);
        assert_eq!(out, "hello\nsecond line\n", "runc stderr: {err}");
        assert_eq!(code, 3);
        assert_no_leaks(&rt, &id, &bundle);
    }
}

/// Runs `cmd` in the background, waits until the container has printed its first line (a
/// `running` status alone races the shell's `echo`), SIGKILLs it with `rt kill`, and returns
/// (exit code, stdout) of `cmd`.
fn killed_while_running(rt: &Runtime, mut cmd: Command, id: &str) -> (Option<i32>, String) {
    use std::io::{BufRead, Read};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read the first line");
    assert!(
        !first.is_empty(),
        "{}: container {id} printed nothing",
        rt.name
    );
    let running = tests_integration::wait_for(30, || {
        rt.exec(&["state", id]).status.success() && rt.state(id)["status"] == "running"
    });
    assert!(running, "{}: container {id} never ran", rt.name);
    rt.ok(&["kill", id, "KILL"]);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("read stdout");
    let status = child.wait().expect("wait");
    (status.code(), first + &rest)
}

#[test]
fn run_bundle_example_exits_128_plus_n_when_a_signal_kills_the_container() {
    let example = run_bundle_example();
    let bundle = Bundle::shell("echo before; exec sleep 100");
    bundle.write();
    for rt in runtimes() {
        let id = unique("embed-signal");
        let cmd = if rt.name == "runr" {
            // The library's container, killed by the runr CLI: one state format for both.
            let mut c = Command::new(&example);
            c.arg(&bundle.dir).arg(&id).arg(&rt.root);
            c
        } else {
            rt.command(&["run", "--bundle", bundle.dir.to_str().unwrap(), &id])
        };
        let (code, out) = killed_while_running(&rt, cmd, &id);
        let want = if rt.name == "runr" {
            "captured: before\n"
        } else {
            "before\n"
        };
        assert_eq!(out, want, "{}", rt.name);
        assert_eq!(code, Some(137), "{}: 128 + SIGKILL", rt.name);
        assert_no_leaks(&rt, &id, &bundle);
    }
}
