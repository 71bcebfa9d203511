//! Console, stdio and file descriptors: the pty handed over a console socket (SCM_RIGHTS),
//! terminal without a socket, `run` relaying a tty, no host fd leaking into the container,
//! --preserve-fds and LISTEN_FDS socket activation. Compared with runc where it is installed.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests_integration::{assert_no_leaks, receive_fd, runtimes, unique, wait_for, Bundle, Runtime};

/// Reads a pty master until the slave side is gone (EIO) or `secs` pass.
fn read_master(master: OwnedFd, secs: u64) -> String {
    let mut f = std::fs::File::from(master);
    let end = Instant::now() + Duration::from_secs(secs);
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while Instant::now() < end {
        let mut pfd = [nix::poll::PollFd::new(
            f.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let n = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(200u16)).unwrap_or(0);
        if n == 0 {
            continue;
        }
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn terminal_bundle(script: &str) -> Bundle {
    let mut b = Bundle::shell(script);
    b.config["process"]["terminal"] = true.into();
    b
}

#[test]
fn terminal_master_is_sent_over_the_console_socket() {
    for rt in runtimes() {
        let b = terminal_bundle("tty; echo hi; stat -c %t:%T /dev/console 2>/dev/null; true");
        let sock = b.dir.join("console.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let id = unique("console");
        let sock_s = sock.to_str().unwrap().to_string();
        let out = {
            // create blocks until the master is received: accept it on another thread.
            let handle = std::thread::spawn(move || receive_fd(&listener));
            rt.create_ok(&b, &id, &["--console-socket", &sock_s]);
            let master = handle.join().unwrap();
            let tty = nix::unistd::isatty(master.as_fd());
            assert_eq!(tty, Ok(true), "{}: a pty master", rt.name);
            rt.ok(&["start", &id]);
            read_master(master, 30)
        };
        assert!(
            out.starts_with("/dev/pts/0\r\nhi\r\n"),
            "{}: what the container printed on its tty: {out:?}",
            rt.name
        );
        assert!(wait_for(30, || rt.state(&id)["status"] == "stopped"));
        rt.ok(&["delete", &id]);
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn terminal_without_console_socket_fails_create_clearly() {
    let rt = Runtime::runr();
    let b = terminal_bundle("true");
    let id = unique("noconsole");
    let out = rt.create(&b, &id, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "create must fail");
    assert!(
        err.contains("console"),
        "the error says what is missing: {err}"
    );
    assert!(err.contains("terminal"), "and why: {err}");
    assert_no_leaks(&rt, &id, &b);
}

#[test]
fn run_relays_a_terminal_without_a_console_socket() {
    // runc 1.1.5 insists on a controlling terminal here ("open /dev/tty: no such device or
    // address" when run without one, as in CI): only runr is checked.
    {
        let rt = Runtime::runr();
        let b = terminal_bundle("tty; echo hi; exit 4");
        let id = unique("runtty");
        let (code, out, err) = rt.run(&b, &id);
        assert_eq!(code, 4, "{}: exit status passes through: {err}", rt.name);
        assert!(
            out.contains("/dev/pts/0") && out.contains("hi"),
            "{}: the tty's output arrives on run's stdout: {out:?} (stderr {err:?})",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);
    }
}

/// The fds open in the container's init (the shell, pid 1), listed by a child `ls` while the
/// shell holds nothing else (no pipeline, no glob): one per line.
const LIST_FDS: &str = "ls /proc/1/fd; true";

#[test]
fn no_host_fd_leaks_into_the_container() {
    // An fd without CLOEXEC in the test process: every runtime it spawns inherits it.
    let file = std::fs::File::open("/etc/hostname").unwrap();
    let leaked = nix::unistd::dup(file.as_fd()).unwrap();
    let leaked_num = leaked.as_raw_fd();
    assert!(leaked_num > 2);
    let mut outs = Vec::new();
    for rt in runtimes() {
        let b = Bundle::shell(LIST_FDS);
        let id = unique("fds");
        let (code, out, err) = rt.run(&b, &id);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        assert_eq!(out, "0\n1\n2\n", "{}: only stdio is open inside", rt.name);
        assert_no_leaks(&rt, &id, &b);
        outs.push(out);
    }
    drop(leaked);
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
}

/// Runs `runtime run` under the host shell, with `fds` opened first (fd 3 → first file, …) and
/// `env` set; returns (exit code, stdout, stderr).
fn run_with_fds(
    rt: &Runtime,
    b: &Bundle,
    id: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    b.write();
    let mut redirs = String::new();
    for (i, name) in ["fd3", "fd4"].iter().enumerate() {
        std::fs::write(b.dir.join(name), format!("content of {name}\n")).unwrap();
        redirs.push_str(&format!("{}<{} ", i + 3, b.dir.join(name).display()));
    }
    let mut args: Vec<String> = vec![
        rt.bin.display().to_string(),
        "--root".into(),
        rt.root.display().to_string(),
        "run".into(),
        "--bundle".into(),
        b.dir.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(id.to_string());
    let out = Command::new("/bin/sh")
        .arg("-c")
        // LISTEN_PID names the process the fds are for: the runtime (the shell execs it).
        .arg(format!("export LISTEN_PID=$$; exec {redirs}\"$@\""))
        .arg("sh")
        .args(&args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn preserve_fds_passes_3_and_up() {
    let mut outs = Vec::new();
    for rt in runtimes() {
        let b = Bundle::shell(&format!("cat <&3; cat <&4; {LIST_FDS}"));
        let id = unique("preserve");
        let (code, out, err) = run_with_fds(&rt, &b, &id, &["--preserve-fds", "2"], &[]);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        assert_eq!(
            out, "content of fd3\ncontent of fd4\n0\n1\n2\n3\n4\n",
            "{}: fds 3 and 4 are passed, nothing else",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);
        outs.push(out);
        // Without --preserve-fds the same fds stay outside.
        let id = unique("nopreserve");
        let (code, out, err) = run_with_fds(&rt, &b, &id, &[], &[]);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        assert_eq!(out, "0\n1\n2\n", "{}: cat <&3 found no fd 3", rt.name);
        assert!(
            err.contains("3"),
            "{}: the shell complained about fd 3: {err}",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);
    }
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn listen_fds_are_passed_with_listen_pid_1() {
    let mut outs = Vec::new();
    for rt in runtimes() {
        let b = Bundle::shell(&format!(
            "echo LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID; cat <&3; cat <&4; {LIST_FDS}"
        ));
        let id = unique("listen");
        let (code, out, err) = run_with_fds(&rt, &b, &id, &[], &[("LISTEN_FDS", "2")]);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        assert_eq!(
            out, "LISTEN_FDS=2 LISTEN_PID=1\ncontent of fd3\ncontent of fd4\n0\n1\n2\n3\n4\n",
            "{}",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);
        outs.push(out);
    }
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
}
