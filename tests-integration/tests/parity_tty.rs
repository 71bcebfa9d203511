//! runc parity of terminals and exec's process parsing (issue #12, item 8): the pty a container
//! process gets belongs to its user and the tty group (init and `exec --tty --user`), its size
//! follows `consoleSize` (and runr's `exec --console-size`), and `exec --process` takes a
//! process JSON with runc's defaults (no `user`, `null` members). Each scenario runs under runr
//! and, when it is installed, under runc, and the two are compared.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::process::Output;
use std::time::{Duration, Instant};

use tests_integration::{
    assert_no_leaks, delete_no_leaks, receive_fd, runtimes, unique, wait_for, Bundle, Runtime,
};

const DONE: &str = "END-OF-OUTPUT";

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn compared() -> Vec<Runtime> {
    let all = runtimes();
    if all.len() < 2 {
        eprintln!("SKIP runc side of parity_tty: runc is not installed");
    }
    all
}

/// Reads a pty master until [`DONE`] shows, the slave side is gone (EIO) or 30 s pass; the
/// lines before [`DONE`], without the pty's `\r`.
fn read_master(master: OwnedFd) -> Vec<String> {
    let mut f = std::fs::File::from(master);
    let end = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while Instant::now() < end && !String::from_utf8_lossy(&out).contains(DONE) {
        let mut pfd = [nix::poll::PollFd::new(
            f.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        if nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(200u16)).unwrap_or(0) == 0 {
            continue;
        }
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&out).replace('\r', "");
    text.lines()
        .take_while(|l| !l.contains(DONE))
        .map(str::to_string)
        .collect()
}

/// A console socket in `b`'s directory and a thread that accepts the pty master on it.
fn console(b: &Bundle, name: &str) -> (String, std::thread::JoinHandle<OwnedFd>) {
    let sock = b.dir.join(name);
    let listener = UnixListener::bind(&sock).unwrap();
    let handle = std::thread::spawn(move || receive_fd(&listener));
    (sock.to_str().unwrap().to_string(), handle)
}

/// Runs `script` on a terminal as the container's init, as `user`; what it printed.
fn init_on_tty(rt: &Runtime, user: (u32, u32), script: &str) -> Vec<String> {
    let mut b = Bundle::shell(&format!("{script}; echo {DONE}"));
    b.config["process"]["terminal"] = true.into();
    b.config["process"]["user"] = serde_json::json!({"uid": user.0, "gid": user.1});
    let id = unique("ttyinit");
    let (sock, handle) = console(&b, "console.sock");
    rt.create_ok(&b, &id, &["--console-socket", &sock]);
    let master = handle.join().unwrap();
    rt.ok(&["start", &id]);
    let lines = read_master(master);
    assert!(
        wait_for(30, || rt.state(&id)["status"] == "stopped"),
        "{}",
        rt.name
    );
    rt.ok(&["delete", &id]);
    assert_no_leaks(rt, &id, &b);
    lines
}

#[test]
fn the_inits_terminal_belongs_to_its_user_and_the_tty_group() {
    let mut seen = Vec::new();
    for rt in compared() {
        // The slave, /dev/console (the same pty), and the user reopening its own terminal.
        let script =
            "stat -c %u:%g $(tty); stat -c %u:%g /dev/console; echo reopened > $(tty) && echo ok";
        let user = init_on_tty(&rt, (1000, 1000), script);
        let root = init_on_tty(&rt, (0, 0), "stat -c %u:%g $(tty)");
        assert_eq!(
            user,
            ["1000:5", "1000:5", "reopened", "ok"],
            "{}: uid 1000's terminal",
            rt.name
        );
        assert_eq!(root, ["0:5"], "{}: root's terminal", rt.name);
        seen.push((user, root));
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "runr and runc differ");
    }
}

/// A running container (no terminal, as root) to exec into.
fn sleeper(rt: &Runtime) -> (Bundle, String) {
    let b = Bundle::new(&["sleep", "100"]);
    let id = unique("ttyexec");
    rt.run_detached_ok(&b, &id, &[]);
    (b, id)
}

/// `exec -d --console-socket S <flags> ID <cmd>`: what the process printed on its pty.
fn exec_on_tty(rt: &Runtime, b: &Bundle, id: &str, flags: &[&str], cmd: &[&str]) -> Vec<String> {
    let (sock, handle) = console(b, &unique("exec.sock"));
    let mut args = vec!["exec", "-d", "--console-socket", &sock];
    args.extend_from_slice(flags);
    args.push(id);
    args.extend_from_slice(cmd);
    let o = rt.exec_detached(&args, b);
    assert_eq!(code(&o), 0, "{} {args:?}: {}", rt.name, stderr(&o));
    read_master(handle.join().unwrap())
}

#[test]
fn exec_tty_user_gets_a_terminal_of_its_own() {
    let mut seen = Vec::new();
    for rt in compared() {
        let (b, id) = sleeper(&rt);
        let script = format!("stat -c %u:%g $(tty); id -u; echo {DONE}");
        let cmd = ["sh", "-c", script.as_str()];
        let user = exec_on_tty(&rt, &b, &id, &["-t", "--user", "1000:1000"], &cmd);
        let root = exec_on_tty(&rt, &b, &id, &["--tty"], &cmd);
        assert_eq!(user, ["1000:5", "1000"], "{}: exec --tty --user", rt.name);
        assert_eq!(root, ["0:5", "0"], "{}: exec --tty", rt.name);
        delete_no_leaks(&rt, &id, &b);
        seen.push((user, root));
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "runr and runc differ");
    }
}

#[test]
fn exec_tty_size_from_console_size() {
    let mut seen = Vec::new();
    for rt in compared() {
        let (b, id) = sleeper(&rt);
        // process.consoleSize in an --process JSON: both runtimes.
        let file = b.dir.join("sized.json");
        let process = serde_json::json!({
            "terminal": true,
            "consoleSize": {"height": 10, "width": 110},
            "args": ["sh", "-c", format!("stty size; echo {DONE}")],
            "env": ["PATH=/bin"],
            "cwd": "/"
        });
        std::fs::write(&file, process.to_string()).unwrap();
        let sized = exec_on_tty(&rt, &b, &id, &["--process", file.to_str().unwrap()], &[]);
        assert_eq!(sized, ["10 110"], "{}: consoleSize", rt.name);
        // --console-size HEIGHT,WIDTH with --tty: runr's flag. runc 1.1.5 (and 1.5) has none
        // and refuses it as an unknown flag.
        let script = format!("stty size; echo {DONE}");
        let flags = ["-t", "--console-size", "24,80"];
        if rt.name == "runr" {
            let lines = exec_on_tty(&rt, &b, &id, &flags, &["sh", "-c", &script]);
            assert_eq!(lines, ["24 80"], "runr --console-size");
            // Without a terminal there is no size to set: a usage error.
            let o = rt.exec(&["exec", "--console-size", "24,80", &id, "true"]);
            assert_eq!(code(&o), 1, "{}", stderr(&o));
            assert!(stderr(&o).contains("--console-size needs a terminal"));
        } else {
            let o = rt.exec(&["exec", "-t", "--console-size", "24,80", &id, "true"]);
            assert_eq!(code(&o), 1, "runc has no --console-size");
            assert!(stderr(&o).contains("flag provided but not defined"));
        }
        delete_no_leaks(&rt, &id, &b);
        seen.push(sized);
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "runr and runc differ");
    }
}

/// `exec --process FILE ID` in the foreground with `json` as FILE: (exit code, stdout, stderr).
fn exec_process(rt: &Runtime, b: &Bundle, id: &str, json: &str) -> (i32, String, String) {
    let file = b.dir.join(unique("process")).with_extension("json");
    std::fs::write(&file, json).unwrap();
    let o = rt.exec(&["exec", "--process", file.to_str().unwrap(), id]);
    let _ = std::fs::remove_file(&file);
    (
        code(&o),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr(&o),
    )
}

#[test]
fn exec_process_json_takes_runcs_defaults() {
    let mut seen = Vec::new();
    for rt in compared() {
        let (b, id) = sleeper(&rt);
        let script = r#"["/bin/sh", "-c", "/bin/id -u; /bin/id -g; pwd"]"#;
        let mut row = Vec::new();
        for (what, json) in [
            // No user: uid 0, gid 0 (runr said "missing field `user`").
            ("no user", format!(r#"{{"args": {script}, "cwd": "/tmp"}}"#)),
            // Only a uid: the gid is 0.
            (
                "uid only",
                format!(r#"{{"args": {script}, "cwd": "/", "user": {{"uid": 1000}}}}"#),
            ),
            // null members count as absent.
            (
                "nulls",
                format!(
                    r#"{{"args": {script}, "cwd": "/", "user": null, "env": null, "terminal": null,
                        "capabilities": null, "rlimits": null, "apparmorProfile": null}}"#
                ),
            ),
        ] {
            let (c, out, err) = exec_process(&rt, &b, &id, &json);
            assert_eq!(c, 0, "{} {what}: {err}", rt.name);
            row.push((what, c, out));
        }
        assert_eq!(row[0].2, "0\n0\n/tmp\n", "{}", rt.name);
        assert_eq!(row[1].2, "1000\n0\n/\n", "{}", rt.name);
        assert_eq!(row[2].2, "0\n0\n/\n", "{}", rt.name);
        // What runc refuses, runr refuses too: no cwd, no args (a runtime-side failure: 255).
        for (what, json) in [
            ("no cwd", format!(r#"{{"args": {script}}}"#)),
            ("no args", r#"{"cwd": "/"}"#.to_string()),
        ] {
            let (c, _, err) = exec_process(&rt, &b, &id, &json);
            if rt.name == "runr" {
                let field = if what == "no cwd" {
                    "process.cwd"
                } else {
                    "process.args"
                };
                assert!(err.contains(field), "runr {what} names {field}: {err}");
            }
            row.push((what, c, String::new()));
        }
        assert_eq!(rt.state(&id)["status"], "running", "{}", rt.name);
        delete_no_leaks(&rt, &id, &b);
        seen.push(row);
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "runr and runc differ");
    }
}

/// Runs `script` as uid 1000 detached (`run -d`: the container inherits the caller's stdio, under
/// runc too, whose foreground `run` would give it pipes of its own) with `stdout`; returns once
/// it has stopped and is deleted.
fn run_detached_as_user(rt: &Runtime, script: &str, stdout: std::fs::File) {
    let mut b = Bundle::shell(script);
    b.config["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
    b.write();
    let id = unique("stdio");
    let status = rt
        .command(&["run", "-d", "-b", b.dir.to_str().unwrap(), &id])
        .stdout(stdout)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("spawn runtime");
    assert!(status.success(), "{}: run -d", rt.name);
    assert!(
        wait_for(30, || rt.state(&id)["status"] == "stopped"),
        "{}",
        rt.name
    );
    rt.ok(&["delete", &id]);
    assert_no_leaks(rt, &id, &b);
}

#[test]
fn stdio_pipes_go_to_the_user_but_host_files_do_not() {
    let mut seen = Vec::new();
    for rt in compared() {
        // A pipe (what engines pass): uid 1000 reopens it by path, as under runc.
        let script = "echo reopened > /proc/self/fd/1 && stat -L -c %u /proc/self/fd/1";
        let mut b = Bundle::shell(script);
        b.config["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
        let id = unique("stdiopipe");
        let (c, out, err) = rt.run(&b, &id);
        assert_eq!(
            (c, out.as_str()),
            (0, "reopened\n1000\n"),
            "{}: {err}",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);

        // exec --user into a running container: the same.
        let (s, sid) = sleeper(&rt);
        let o = rt.exec(&["exec", "--user", "1000:1000", &sid, "sh", "-c", script]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "reopened\n1000\n",
            "{}: exec: {}",
            rt.name,
            stderr(&o)
        );
        delete_no_leaks(&rt, &sid, &s);

        // A host file as stdout: runc gives it to uid 1000 (then owned by that uid on the host,
        // which is unsafe: it could be any file of the caller's); runr leaves it root's.
        let file = tests_integration::scratch().join(unique("stdout-file"));
        let f = std::fs::File::create(&file).unwrap();
        run_detached_as_user(&rt, "stat -L -c %u /proc/self/fd/1", f);
        let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&file).unwrap());
        let shown = std::fs::read_to_string(&file).unwrap();
        let _ = std::fs::remove_file(&file);
        let want = if rt.name == "runr" { 0 } else { 1000 };
        assert_eq!(owner, want, "{}: the host file's owner afterwards", rt.name);
        assert_eq!(shown.trim(), want.to_string(), "{}", rt.name);
        seen.push(out);
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "runr and runc differ");
    }
}
