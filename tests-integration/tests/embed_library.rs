//! runtime-core's builder used in-process, as an embedder uses it: stdio (null, pipes, any fd)
//! for create and exec, typed signals, the single-thread check, a terminal together with
//! redirected stdio refused, `run()` with pipes refused, nothing left behind by any of them.
//!
//! A custom harness (`harness = false`): creating a container needs a single-threaded caller,
//! and libtest runs tests on threads. Each case runs in turn on the main thread; where runc has
//! the same scenario (a container's stdin from /dev/null, its stdout and stderr to a file), the
//! same bundle runs under `runc run` beside it. runc has no library, so the builder-only
//! behaviour (pipes returned to the caller, typed errors) is asserted on runr alone.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

use runtime_core::oci_spec::runtime::Process;
use runtime_core::{Container, Error, ExecBuilder, ExitStatus, KillTarget, Signal, Stdio};
use tests_integration::in_process::{builder, create, run_cases};
use tests_integration::{assert_no_leaks, runtimes, unique, Bundle, Runtime};

/// Set in the environment of this binary's own child run by
/// `writable_binary_is_a_warning_unless_opted_out`: that child skips `protect_binary`.
const UNPROTECTED: &str = "EMBED_LIBRARY_UNPROTECTED_CASE";

fn main() {
    if let Ok(case) = std::env::var(UNPROTECTED) {
        unprotected_create(&case);
        return;
    }
    // As every embedder must: first thing, run from a read-only view of this binary.
    runtime_core::protect_binary();
    assert!(runtime_core::binary_is_protected());
    run_cases(&[
        ("stdin_null_and_stdout_piped", stdin_null_and_stdout_piped),
        (
            "stdin_piped_reaches_the_container",
            stdin_piped_reaches_the_container,
        ),
        (
            "stdout_to_a_file_and_stderr_piped",
            stdout_to_a_file_and_stderr_piped,
        ),
        (
            "exec_with_piped_stdout_and_typed_signals",
            exec_with_piped_stdout_and_typed_signals,
        ),
        (
            "multi_threaded_caller_is_refused",
            multi_threaded_caller_is_refused,
        ),
        (
            "terminal_with_redirected_stdio_is_refused",
            terminal_with_redirected_stdio_is_refused,
        ),
        (
            "run_with_pipes_is_refused_and_run_returns_the_status",
            run_helper,
        ),
        (
            "writable_binary_is_a_warning_unless_opted_out",
            writable_binary_is_a_warning_unless_opted_out,
        ),
    ]);
}

/// Reads a pipe end to EOF.
fn read_all(fd: OwnedFd) -> String {
    let mut s = String::new();
    File::from(fd).read_to_string(&mut s).expect("read pipe");
    s
}

/// Starts the container, reads its piped stdout to EOF, waits and deletes it.
fn start_read_wait(mut c: Container, rt: &Runtime, bundle: &Bundle) -> (String, ExitStatus) {
    let stdout = c.take_stdout().expect("stdout was piped");
    let started = c.start().expect("start");
    assert!(started.is_clean(), "{:?}", started.warnings);
    let out = read_all(stdout);
    let status = c.wait().expect("wait");
    let id = c.id().to_string();
    assert!(c.delete(false).expect("delete").is_clean());
    assert_no_leaks(rt, &id, bundle);
    (out, status)
}

fn stdin_null_and_stdout_piped() {
    let bundle = Bundle::shell("if read x; then echo got:$x; else echo eof; fi; exit 7");
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-null");
    let c = create(&rt, &id, &bundle, Stdio::null(), Stdio::piped());
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    let (out, status) = start_read_wait(c, &rt, &bundle);
    assert_eq!(out, "eof\n");
    assert_eq!(status, ExitStatus::Exited(7));

    // runc, stdin from /dev/null as well: the same line and status.
    for rt in runtimes().into_iter().filter(|r| r.name == "runc") {
        let id = unique("embed-null");
        let (code, out, err) = rt.run(&bundle, &id);
        assert_eq!((code, out.as_str()), (7, "eof\n"), "runc: {err}");
        assert_no_leaks(&rt, &id, &bundle);
    }
}

fn stdin_piped_reaches_the_container() {
    let bundle = Bundle::shell("read x; echo got:$x; read y || echo eof");
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-stdin");
    let mut c = create(&rt, &id, &bundle, Stdio::piped(), Stdio::piped());
    let mut stdin = File::from(c.take_stdin().expect("stdin was piped"));
    assert!(c.take_stdin().is_none(), "a pipe end is handed out once");
    stdin.write_all(b"ping\n").expect("write stdin");
    // Closing our end is the container's EOF: no other copy of the write end may exist.
    drop(stdin);
    let (out, status) = start_read_wait(c, &rt, &bundle);
    assert_eq!(out, "got:ping\neof\n");
    assert_eq!(status, ExitStatus::Exited(0));
}

fn stdout_to_a_file_and_stderr_piped() {
    let bundle = Bundle::shell("echo out; echo err >&2; ls /proc/self/fd; exit 5");
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-file");
    let path = bundle.dir.join("stdout.txt");
    let file = File::create(&path).expect("create stdout file");
    let mut c = builder(&rt, &id, &bundle)
        .stdin(Stdio::null())
        .stdout(file.into())
        .stderr(Stdio::piped())
        .create()
        .expect("create");
    let stderr = c.take_stderr().expect("stderr was piped");
    assert!(c.start().expect("start").is_clean());
    let err = read_all(stderr);
    let status = c.wait().expect("wait");
    assert!(c.delete(false).expect("delete").is_clean());
    assert_no_leaks(&rt, &id, &bundle);
    assert_eq!(err, "err\n");
    assert_eq!(status, ExitStatus::Exited(5));
    // Only stdio reaches the container: the sources the init moved onto 0-2 are gone (`ls`'s
    // own directory fd is the 3).
    let written = std::fs::read_to_string(&path).expect("read stdout file");
    assert_eq!(written, "out\n0\n1\n2\n3\n");

    // runc with its stdout and stderr on a file: the same output, the same fds, the same status.
    for rt in runtimes().into_iter().filter(|r| r.name == "runc") {
        let id = unique("embed-file");
        let path = bundle.dir.join("runc-stdout.txt");
        let file = File::create(&path).expect("create stdout file");
        let status = rt
            .command(&["run", "--bundle", bundle.dir.to_str().unwrap(), &id])
            .stdout(file)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("runc run");
        assert_eq!(status.code(), Some(5));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "out\n0\n1\n2\n3\n");
        assert_no_leaks(&rt, &id, &bundle);
    }
}

fn exec_with_piped_stdout_and_typed_signals() {
    let bundle = Bundle::shell("exec sleep 100");
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-exec");
    let mut c = create(&rt, &id, &bundle, Stdio::null(), Stdio::null());
    assert!(c.start().expect("start").is_clean());
    let mut process: Process = c.spec().process().clone().expect("process");
    process.set_args(Some(vec![
        "sh".into(),
        "-c".into(),
        "echo exec-out; echo exec-err >&2; exit 4".into(),
    ]));
    let mut p = ExecBuilder::new(&c, process)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("exec");
    assert!(p.warnings().is_empty(), "{:?}", p.warnings());
    let (out, err) = (p.take_stdout().unwrap(), p.take_stderr().unwrap());
    assert_eq!(read_all(out), "exec-out\n");
    assert_eq!(read_all(err), "exec-err\n");
    assert_eq!(p.wait().expect("wait exec"), ExitStatus::Exited(4));
    // Signal 0 only checks; KILL (parsed from its name) ends it.
    c.kill(Signal::CHECK, KillTarget::Init)
        .expect("signal 0 to a running container");
    c.kill("SIGKILL".parse().expect("a signal name"), KillTarget::Init)
        .expect("kill");
    assert_eq!(c.wait().expect("wait"), ExitStatus::Signaled(libc::SIGKILL));
    assert!(matches!(
        c.kill(Signal::KILL, KillTarget::Init),
        Err(Error::NotRunning(_))
    ));
    assert!(c.delete(false).expect("delete").is_clean());
    assert_no_leaks(&rt, &id, &bundle);
}

fn multi_threaded_caller_is_refused() {
    let bundle = Bundle::shell("true");
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-threads");
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || rx.recv());
    let result = builder(&rt, &id, &bundle).create();
    drop(tx);
    let _ = other.join();
    match result {
        Err(Error::MultiThreaded { threads }) => assert_eq!(threads, 2),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("create accepted a multi-threaded caller"),
    }
    assert_no_leaks(&rt, &id, &bundle);
}

fn terminal_with_redirected_stdio_is_refused() {
    let mut bundle = Bundle::shell("true");
    bundle.config["process"]["terminal"] = true.into();
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-tty");
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let result = builder(&rt, &id, &bundle)
        .console(runtime_core::Console::Connected(theirs.into()))
        .stdout(Stdio::piped())
        .create();
    drop(ours);
    match result {
        Err(e @ Error::Config { .. }) => {
            let text = e.to_string();
            assert!(text.contains("config.json: process.terminal:"), "{text}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("create accepted a terminal with stdout piped"),
    }
    assert_no_leaks(&rt, &id, &bundle);
}

fn run_helper() {
    let bundle = Bundle::shell("exit 9");
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-run");
    let refused = builder(&rt, &id, &bundle).stdout(Stdio::piped()).run();
    assert!(
        matches!(
            refused,
            Err(Error::InvalidOption {
                option: "stdio",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_no_leaks(&rt, &id, &bundle);
    let status = builder(&rt, &id, &bundle)
        .stdin(Stdio::null())
        .run()
        .expect("run");
    assert_eq!(status, ExitStatus::Exited(9));
    assert_eq!(status.code(), 9);
    assert!(!Path::new(&rt.root).join(&id).exists());
    assert_no_leaks(&rt, &id, &bundle);
}

/// In the child: create, start, wait and delete without `protect_binary`, printing the create
/// warnings on stdout, one per line. `case`: "plain" (a container the exec stub serves), or a
/// container with CAP_SYS_PTRACE in its bounding set (which rules the stub out) created as is
/// ("warn"), with `allow_writable_binary` ("opt-out") or `require_protected_binary`
/// ("require": prints the error instead).
fn unprotected_create(case: &str) {
    let mut bundle = Bundle::shell("true");
    if case != "plain" {
        let bounding = &mut bundle.config["process"]["capabilities"]["bounding"];
        bounding
            .as_array_mut()
            .unwrap()
            .push("CAP_SYS_PTRACE".into());
    }
    bundle.write();
    let rt = Runtime::runr();
    let id = unique("embed-writable");
    let mut b = builder(&rt, &id, &bundle)
        .stdin(Stdio::null())
        .allow_writable_binary(case == "opt-out")
        .require_protected_binary(case == "require");
    let needs = b.needs_protected_binary().expect("load the bundle");
    println!("needs protection: {}", needs.is_some());
    let mut c = match b.create() {
        Ok(c) => c,
        Err(e @ Error::UnprotectedBinary { .. }) => {
            println!("refused: {e}");
            assert_no_leaks(&rt, &id, &bundle);
            return;
        }
        Err(e) => panic!("create: {e}"),
    };
    for w in c.warnings() {
        println!("{w}");
    }
    assert!(c.start().expect("start").is_clean());
    c.wait().expect("wait");
    assert!(c.delete(false).expect("delete").is_clean());
    assert_no_leaks(&rt, &id, &bundle);
}

fn writable_binary_is_a_warning_unless_opted_out() {
    // This test binary lives in target/, a writable file. Its containers' processes leave it
    // through the exec stub, which needs no protection and gives no warning; a container the
    // stub cannot serve (CAP_SYS_PTRACE) gets the warning, or nothing when the caller opted
    // out, or a refusal before anything is made when it asked for one.
    // (argv[0], not /proc/self/exe: that is now the detached read-only view, which has no path.)
    let me = std::env::args().next().expect("argv[0]");
    let run = |case: &str| {
        let out = std::process::Command::new(&me)
            .env(UNPROTECTED, case)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("spawn self");
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(run("plain"), "needs protection: false\n", "the stub's case");
    let warned = run("warn");
    assert!(
        warned.starts_with("needs protection: true\n")
            && warned.contains("is writable")
            && warned.contains("CAP_SYS_PTRACE")
            && warned.contains("CVE-2019-5736"),
        "no warning for a writable binary: {warned:?}"
    );
    assert_eq!(
        run("opt-out"),
        "needs protection: true\n",
        "allow_writable_binary(true) still warned"
    );
    let refused = run("require");
    assert!(
        refused.contains("refused: the runtime's binary is writable")
            && refused.contains("CAP_SYS_PTRACE"),
        "{refused:?}"
    );
}
