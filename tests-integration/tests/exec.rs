//! `exec` into running containers: namespaces, cgroup, capabilities and no_new_privs like the
//! init's; user, groups, env, cwd; exit status; --detach with --pid-file; --process with an
//! engine's process.json; a tty over --console-socket; the failures. Compared with runc.

use std::io::Read;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use tests_integration::{delete_no_leaks, receive_fd, runtimes, unique, wait_for, Bundle, Runtime};

const FIXTURES: &str = "/work/shared/fixtures/engine-configs";

/// A `sleep 300` container started with `run -d` as a unique `prefix-…` id: (bundle, id, the
/// init's host pid).
fn start_sleeper(rt: &Runtime, prefix: &str) -> (Bundle, String, i64) {
    let b = Bundle::new(&["sleep", "300"]);
    let id = unique(prefix);
    rt.run_detached_ok(&b, &id, &[]);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    (b, id, pid)
}

/// `exec` that must fail with runc's 255; its stderr.
fn exec_refused(rt: &Runtime, args: &[&str]) -> String {
    let (code, _, err) = exec(rt, args);
    assert_eq!(code, 255, "{}: {err}", rt.name);
    err
}

/// `exec` in the foreground: (code, stdout, stderr).
fn exec(rt: &Runtime, args: &[&str]) -> (i32, String, String) {
    let mut a = vec!["exec"];
    a.extend_from_slice(args);
    let out = rt.exec(&a);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn status_field(pid: i64, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default()
}

#[test]
fn exec_joins_the_init_namespaces_cgroup_caps_and_nnp() {
    for rt in runtimes() {
        let (b, id, init) = start_sleeper(&rt, "execns");
        let script = "for n in pid mnt net ipc uts; do readlink /proc/self/ns/$n; done; \
                      grep -E '^(CapBnd|CapEff|CapPrm|NoNewPrivs)' /proc/self/status; \
                      cat /proc/self/cgroup; hostname; echo pid=$$";
        let (code, out, err) = exec(&rt, &[&id, "sh", "-c", script]);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        let lines: Vec<&str> = out.lines().collect();
        for (i, n) in ["pid", "mnt", "net", "ipc", "uts"].iter().enumerate() {
            let host = std::fs::read_link(format!("/proc/{init}/ns/{n}")).unwrap();
            assert_eq!(
                lines[i],
                host.to_str().unwrap(),
                "{}: {n} namespace",
                rt.name
            );
        }
        for f in ["CapBnd", "CapEff", "CapPrm", "NoNewPrivs"] {
            let want = format!("{f}:\t{}", status_field(init, f));
            assert!(out.contains(&want), "{}: {want} not in {out}", rt.name);
        }
        let init_cg = std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
        for l in init_cg.lines() {
            assert!(
                out.contains(l),
                "{}: cgroup line {l} missing: {out}",
                rt.name
            );
        }
        assert!(out.contains("runr-test"), "{}: hostname", rt.name);
        // In the container's pid namespace: a small pid, not the host's.
        let pid: i64 = out.split("pid=").nth(1).unwrap().trim().parse().unwrap();
        assert!(pid > 1 && pid < 100, "{}: pid {pid}", rt.name);
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn exec_user_groups_env_and_cwd_match_runc() {
    let mut outs = Vec::new();
    for rt in runtimes() {
        let (b, id, _) = start_sleeper(&rt, "execuser");
        let (code, out, err) = exec(
            &rt,
            &[
                "-u",
                "1000:1000",
                "--additional-gids",
                "5",
                "--additional-gids",
                "7",
                "-e",
                "FOO=bar",
                "-e",
                "TERM=dumb",
                "--cwd",
                "/dev",
                &id,
                "sh",
                "-c",
                "id; pwd; echo $FOO $TERM; echo $PATH",
            ],
        );
        assert_eq!(code, 0, "{}: {err}", rt.name);
        let l: Vec<&str> = out.lines().collect();
        assert!(
            l[0].starts_with("uid=1000(user) gid=1000(user) groups="),
            "{}: {}",
            rt.name,
            l[0]
        );
        assert!(
            l[0].contains("5(tty)") && l[0].contains('7'),
            "{}: {}",
            rt.name,
            l[0]
        );
        assert_eq!(l[1], "/dev");
        assert_eq!(l[2], "bar dumb", "{}: -e adds and overrides", rt.name);
        assert_eq!(
            l[3],
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        );
        let (code, out, _) = exec(&rt, &["-u", "1000", &id, "id", "-u"]);
        assert_eq!((code, out.trim()), (0, "1000"));
        outs.push(out);
        delete_no_leaks(&rt, &id, &b);
    }
    if outs.len() == 2 {
        assert_eq!(outs[0], outs[1]);
    }
}

#[test]
fn exec_exit_status_and_signals_pass_through() {
    let mut codes = Vec::new();
    for rt in runtimes() {
        let (b, id, _) = start_sleeper(&rt, "execcode");
        let mut c = Vec::new();
        for script in ["exit 7", "kill -9 $$", "kill -15 $$", "true"] {
            c.push(exec(&rt, &[&id, "sh", "-c", script]).0);
        }
        let (missing, _, err) = exec(&rt, &[&id, "/no/such/program"]);
        assert!(err.contains("/no/such/program"), "{}: {err}", rt.name);
        c.push(missing);
        let (nopath, _, err) = exec(&rt, &[&id, "nosuchprog"]);
        assert!(err.contains("nosuchprog"), "{}: {err}", rt.name);
        c.push(nopath);
        assert_eq!(rt.state(&id)["status"], "running");
        rt.ok(&["kill", &id, "KILL"]);
        assert!(wait_for(30, || rt.state(&id)["status"] == "stopped"));
        let (stopped, _, err) = exec(&rt, &[&id, "true"]);
        assert!(
            err.contains("stopped") || err.contains("not running"),
            "{}: {err}",
            rt.name
        );
        c.push(stopped);
        c.push(exec(&rt, &["nope-not-here", "true"]).0);
        codes.push(c);
        delete_no_leaks(&rt, &id, &b);
    }
    assert_eq!(codes[0], [7, 137, 143, 0, 255, 255, 255, 255], "runr");
    if codes.len() == 2 {
        assert_eq!(codes[0], codes[1], "runr vs runc");
    }
}

#[test]
fn exec_detach_writes_the_host_pid_and_leaves_it_running() {
    for rt in runtimes() {
        let (b, id, init) = start_sleeper(&rt, "execdetach");
        let pid_file = b.dir.join("exec.pid");
        let out = rt.exec_detached(
            &[
                "exec",
                "--detach",
                "--pid-file",
                pid_file.to_str().unwrap(),
                &id,
                "sleep",
                "123",
            ],
            &b,
        );
        assert!(
            out.status.success(),
            "{}: {}",
            rt.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let pid: i64 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // runc's pid file can name its `runc init` a moment before that execs the process.
        let cmdline = || std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
        wait_for(30, || cmdline() == "sleep\x00123\x00");
        let cmd = cmdline();
        assert_eq!(
            cmd, "sleep\x00123\x00",
            "{}: the pid file names the exec'd process",
            rt.name
        );
        assert_eq!(
            std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap(),
            std::fs::read_link(format!("/proc/{init}/ns/pid")).unwrap()
        );
        let ps: Vec<i64> = serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
        assert!(ps.contains(&pid), "{}: {ps:?}", rt.name);
        delete_no_leaks(&rt, &id, &b);
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists() || {
                let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                s.contains(") Z ")
            }
        );
    }
}

#[test]
fn exec_process_file_from_docker() {
    let mut outs = Vec::new();
    for rt in runtimes() {
        let (b, id, _) = start_sleeper(&rt, "execproc");
        let file = b.dir.join("process.json");
        std::fs::copy(format!("{FIXTURES}/docker-exec-process.json"), &file).unwrap();
        // The fixture's cwd is /tmp: on the read-only busybox root it exists.
        let (code, out, err) = exec(&rt, &["--process", file.to_str().unwrap(), &id]);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        assert_eq!(
            out, "uid=1000(user) gid=0(root) groups=0(root)\n/tmp\nbar\n",
            "{}",
            rt.name
        );
        outs.push(out);
        delete_no_leaks(&rt, &id, &b);
    }
    if outs.len() == 2 {
        assert_eq!(outs[0], outs[1]);
    }
}

#[test]
fn exec_tty_sends_the_pty_master_over_the_console_socket() {
    for rt in runtimes() {
        let (b, id, _) = start_sleeper(&rt, "exectty");
        let file = b.dir.join("process.json");
        std::fs::copy(format!("{FIXTURES}/docker-exec-tty-process.json"), &file).unwrap();
        let sock = b.dir.join("tty.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let handle = std::thread::spawn(move || receive_fd(&listener));
        let pid_file = b.dir.join("tty.pid");
        let out = rt.exec_detached(
            &[
                "exec",
                "--process",
                file.to_str().unwrap(),
                "--console-socket",
                sock.to_str().unwrap(),
                "--detach",
                "--pid-file",
                pid_file.to_str().unwrap(),
                &id,
            ],
            &b,
        );
        assert!(
            out.status.success(),
            "{}: {}",
            rt.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let master = handle.join().unwrap();
        let mut f = std::fs::File::from(master);
        let mut text = Vec::new();
        let end = Instant::now() + Duration::from_secs(30);
        let mut buf = [0u8; 512];
        while Instant::now() < end && !String::from_utf8_lossy(&text).contains("exec-tty-ok") {
            match f.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&text);
        assert!(text.contains("/dev/pts/"), "{}: {text}", rt.name);
        assert!(text.contains("exec-tty-ok"), "{}: {text}", rt.name);
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn exec_tty_with_detach_needs_a_console_socket() {
    for rt in runtimes() {
        let (b, id, _) = start_sleeper(&rt, "exectty2");
        let err = exec_refused(&rt, &["-t", "-d", &id, "true"]);
        assert!(err.contains("console socket"), "{}: {err}", rt.name);
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn exec_cgroup_joins_an_existing_sub_cgroup() {
    for rt in runtimes() {
        let (b, id, _) = start_sleeper(&rt, "execsub");
        let m = cgroups::Manager::new(Some(&b.cgroup_path()), &id, false).unwrap();
        // v1: only the pids hierarchy moves; a unified host takes the path alone.
        let (arg, ctrl_dir) = match m.v1_path("pids") {
            Some(d) => ("pids:sub".to_string(), d.to_path_buf()),
            None => ("sub".to_string(), m.v2_path().unwrap().to_path_buf()),
        };
        let sub = ctrl_dir.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let (code, out, err) = exec(&rt, &["--cgroup", &arg, &id, "cat", "/proc/self/cgroup"]);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        let want = format!("{}/sub", b.cgroup_path());
        assert!(
            out.lines().any(|l| l.ends_with(&want)),
            "{}: {out}",
            rt.name
        );
        if m.v1_path("memory").is_some() {
            let mem = out.lines().find(|l| l.contains(":memory:")).unwrap();
            assert!(mem.ends_with(&b.cgroup_path()), "{}: {mem}", rt.name);
        }
        exec_refused(&rt, &["--cgroup", "nosuch", &id, "true"]);
        exec_refused(&rt, &["--cgroup", "../x", &id, "true"]);
        let _ = std::fs::remove_dir(&sub);
        delete_no_leaks(&rt, &id, &b);
    }
}
