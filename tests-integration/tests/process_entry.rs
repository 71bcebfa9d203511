//! How a runr process starts. runr brings its own C `main` instead of the one Rust generates
//! (issue #20: std's costs ~0.1 ms per process here), and its release build answers the
//! unwinder's entry points itself instead of loading libgcc_s. What std's `main` did and runr
//! relies on must still hold: the standard fds exist, SIGPIPE is ignored by the runtime (a peer
//! that went away is an EPIPE error it cleans up after, not its death) and not by the container.
//! Each scenario runs against the debug build (what the other tests run), the release build
//! (what `scripts/setup.sh` installs and the benchmark measures) and runc where it has the
//! behaviour.

use std::process::{Child, Command, Output, Stdio};

use tests_integration::{assert_no_leaks, unique, wait_for, Bundle, Runtime};

/// runr's two builds, and runc when installed (a failure in CI when not).
fn all_runtimes() -> Vec<Runtime> {
    let mut v = vec![Runtime::runr(), Runtime::runr_release()];
    v.extend(Runtime::runc());
    v
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// The runtime's binary run by `sh` with fds 0, 1 and 2 closed.
fn with_stdio_closed(rt: &Runtime, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$@" <&- >&- 2>&-"#)
        .arg("sh")
        .arg(&rt.bin)
        .arg("--root")
        .arg(&rt.root)
        .args(args)
        .output()
        .expect("spawn sh")
}

#[test]
fn closed_standard_fds_are_not_an_error() {
    for rt in all_runtimes() {
        // Printing the version to a closed stdout: std's main put /dev/null there; runr's does.
        let o = with_stdio_closed(&rt, &["--version"]);
        assert_eq!(
            code(&o),
            0,
            "{}: --version with fds 0-2 closed: {o:?}",
            rt.name
        );
        // An error logged to a closed stderr is still the exit code 1, not a crash.
        let o = with_stdio_closed(&rt, &["state", &unique("missing")]);
        assert_eq!(
            code(&o),
            1,
            "{}: state of a missing container: {o:?}",
            rt.name
        );
        if rt.name == "runc" {
            // runc (Go) leaves closed fds closed; what the container gets there is its own.
            continue;
        }
        // runr started that way: its container's stdio is /dev/null (char device 1:3), not a
        // file runr opened on a free low number. Exit 3 says all three are; 10+N names fd N.
        let b = Bundle::shell(
            r#"for f in 0 1 2; do [ "$(stat -L -c %t:%T /proc/$$/fd/$f)" = 1:3 ] || exit 1$f; done; exit 3"#,
        );
        b.write();
        let id = unique("closed-stdio");
        let o = with_stdio_closed(&rt, &["run", "--bundle", b.dir.to_str().unwrap(), &id]);
        assert_eq!(code(&o), 3, "{}: the container's fds 0-2: {o:?}", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

/// The signals a process ignores (`SigIgn` of its status), as a mask (bit n-1 for signal n).
fn ignored_signals(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .expect("SigIgn in /proc/PID/status");
    u64::from_str_radix(hex.trim(), 16).unwrap()
}

/// `run` of a long sleep in the foreground, once the container runs: (the `run` process, the
/// container's pid).
fn run_sleeping(rt: &Runtime, b: &Bundle, id: &str) -> (Child, u32) {
    b.write();
    let run = rt
        .command(&["run", "--bundle", b.dir.to_str().unwrap(), id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn run");
    assert!(
        wait_for(30, || rt.exec(&["state", id]).status.success()
            && rt.state(id)["status"] == "running"),
        "{}: the container runs",
        rt.name
    );
    let pid = rt.state(id)["pid"].as_u64().expect("state's pid") as u32;
    (run, pid)
}

#[test]
fn the_runtime_ignores_sigpipe_and_its_container_does_not() {
    const SIGPIPE: u64 = 1 << (libc::SIGPIPE - 1);
    for rt in all_runtimes() {
        let b = Bundle::new(&["sleep", "60"]);
        let id = unique("sigpipe");
        // The test harness (Rust) started runr with SIGPIPE at its default (std's Command resets
        // it): what runr ignores, it ignored itself.
        let (mut run, container) = run_sleeping(&rt, &b, &id);
        let runtime = ignored_signals(run.id());
        if rt.name != "runc" {
            // runc (Go) catches SIGPIPE instead; runr ignores it, as std's main did.
            assert_ne!(runtime & SIGPIPE, 0, "{}: run ignores SIGPIPE", rt.name);
        }
        // The container's process gets SIGPIPE's default action back, as runc's does; runr
        // resets every signal (runc leaves signal 32, glibc's own, ignored).
        let container = ignored_signals(container);
        assert_eq!(
            container & SIGPIPE,
            0,
            "{}: the container's SIGPIPE",
            rt.name
        );
        if rt.name != "runc" {
            assert_eq!(
                container, 0,
                "{}: the container's process ignores nothing",
                rt.name
            );
        }
        rt.ok(&["kill", &id, "KILL"]);
        let status = run.wait().expect("wait for run");
        assert_eq!(status.code(), Some(137), "{}: run's status", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn backtrace_variables_change_no_outcome() {
    // A backtrace capture (anyhow's errors, a panic's message) walks the stack with the
    // unwinder: the release build has no unwind tables and answers the unwinder itself.
    for rt in all_runtimes() {
        let missing = unique("missing");
        let o = rt
            .command(&["state", &missing])
            .env("RUST_BACKTRACE", "1")
            .env("RUST_LIB_BACKTRACE", "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            code(&o),
            1,
            "{}: state of a missing container: {err}",
            rt.name
        );
        assert!(
            err.contains("container does not exist"),
            "{}: the error is reported: {err}",
            rt.name
        );
        let b = Bundle::shell("exit 0");
        b.write();
        let id = unique("backtrace");
        let o = rt
            .command(&["run", "--bundle", b.dir.to_str().unwrap(), &id])
            .env("RUST_BACKTRACE", "full")
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{}: run: {o:?}", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn the_release_build_loads_no_libgcc_s() {
    // What the release build's own unwinder entry points are for (runtime-cli/src/unwind.rs):
    // a runr process maps libc and libseccomp, not libgcc_s.
    let rt = Runtime::runr_release();
    let b = Bundle::new(&["sleep", "60"]);
    let id = unique("maps");
    let (mut run, _) = run_sleeping(&rt, &b, &id);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", run.id())).unwrap();
    assert!(maps.contains("libseccomp"), "libseccomp is mapped: {maps}");
    assert!(!maps.contains("libgcc_s"), "libgcc_s is not mapped: {maps}");
    rt.ok(&["kill", &id, "KILL"]);
    run.wait().expect("wait for run");
    assert_no_leaks(&rt, &id, &b);
    // And the stand-ins are not exported: a libgcc_s loaded later into a runr process (by a
    // library that dlopens it) must resolve to its own unwinder, not to them (build.rs).
    let dynsyms = Command::new("readelf")
        .args(["--dyn-syms", "-W"])
        .arg(&rt.bin)
        .output()
        .expect("readelf (binutils, which the linker cc needs, has it)");
    assert!(dynsyms.status.success(), "readelf: {dynsyms:?}");
    let exported: Vec<&str> = std::str::from_utf8(&dynsyms.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.contains(" _Unwind_") && !l.contains(" UND "))
        .collect();
    assert!(
        exported.is_empty(),
        "exported unwinder symbols: {exported:?}"
    );
}
