//! Seccomp as runc's users meet it (issue 12, items 1-4), each scenario run under runr and runc
//! side by side and compared:
//!
//! 1. a syscall newer than the profile fails with ENOSYS (runc's `-ENOSYS` stub), so that libcs
//!    fall back to the older one;
//! 2. the runtime's own work after loading the filter is not denied by an older profile;
//! 3. SCMP_ACT_NOTIFY on syscalls the runtime itself makes works (the listener reaches the
//!    agent before anything waits for it); notify on `write` and an unreachable agent are
//!    refused with runc's words;
//! 4. the startContainer hook runs under the container's filter.
//!
//! Syscalls are made by a tiny static C `probe` (`probe NR args…` prints `ok RET` or
//! `errno N`; `probe faccess PATH` calls glibc's `faccessat(…, AT_EACCESS)`, which tries
//! `faccessat2` first and falls back only on ENOSYS).

use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use libseccomp::{ScmpArch, ScmpSyscall};
use serde_json::{json, Value};
use tests_integration::seccomp::{
    answer_notifications, docker_config, profile, receive_listener, Probe, Response, FLAG_CONTINUE,
};
use tests_integration::{assert_no_leaks, processes_mentioning, runtimes, unique, Bundle, Runtime};

// The scenarios name x86_64 syscall numbers and architectures.
#[cfg(not(target_arch = "x86_64"))]
compile_error!("tests/parity_seccomp.rs is written for x86_64");

const PROBE_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "faccess")) {
        int r = faccessat(AT_FDCWD, argv[2], X_OK, AT_EACCESS);
        if (r) printf("errno %d\n", errno); else printf("ok 0\n");
        return 0;
    }
    long a[7] = {0};
    for (int k = 0; k < 7 && 1 + k < argc; k++) a[k] = (long)strtoull(argv[1 + k], 0, 0);
    errno = 0;
    long r = syscall(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
    if (r == -1) printf("errno %d\n", errno); else printf("ok %ld\n", r);
    return 0;
}
"#;

static PROBE: Probe = Probe::new(PROBE_C);

/// A bundle running `script` with /bin/probe in its rootfs.
fn probe_bundle(script: &str) -> Bundle {
    PROBE.bundle(script)
}

fn docker_seccomp() -> Value {
    docker_config()["linux"]["seccomp"].clone()
}

/// `run` with a deadline: (exit code, stdout, stderr); a runtime still running after `secs` is
/// killed and reported as exit 137 with `TIMED OUT` in its stderr.
fn run_with_deadline(rt: &Runtime, b: &Bundle, id: &str, secs: u64) -> (i32, String, String) {
    with_deadline(
        rt,
        &["run", "--bundle", b.dir.to_str().unwrap(), id],
        b,
        id,
        secs,
    )
}

/// Runs `args` (a command about container `id` of bundle `b`) like [`run_with_deadline`].
fn with_deadline(
    rt: &Runtime,
    args: &[&str],
    b: &Bundle,
    id: &str,
    secs: u64,
) -> (i32, String, String) {
    b.write();
    let n = unique("out");
    let out_path = b.dir.join(format!("{n}.out"));
    let err_path = b.dir.join(format!("{n}.err"));
    let mut child = rt
        .command(args)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn runtime");
    let end = Instant::now() + Duration::from_secs(secs);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            for pid in processes_mentioning(id) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = rt.exec(&["delete", "--force", id]);
            break 137;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = std::fs::read_to_string(&err_path).unwrap_or_default();
    if code == 137 {
        err.push_str("TIMED OUT");
    }
    (
        code,
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        err,
    )
}

// ---------------------------------------------------------------------------------------------
// 1. Syscalls newer than the profile: ENOSYS

#[test]
fn syscalls_newer_than_the_profile_fail_with_enosys_like_runc() {
    // Docker 20.10's default profile: its highest x86_64 syscall is futex_waitv (449).
    // 1000 and fchmodat2 (452) are newer, pidfd_getfd (438) is older but left out.
    let script = "echo \"nr1000: $(probe 1000)\"; \
                  echo \"fchmodat2: $(probe 452 -100 / 0 0)\"; \
                  echo \"pidfd_getfd: $(probe 438 -1 0 0)\"; \
                  echo \"getuid: $(probe 102)\"";
    // Docker runs containers without noNewPrivileges (the filter goes in earlier then).
    for nnp in [true, false] {
        for rt in runtimes() {
            let mut b = probe_bundle(script);
            b.config["process"]["noNewPrivileges"] = json!(nnp);
            b.config["linux"]["seccomp"] = docker_seccomp();
            let id = unique("ps-enosys");
            let (code, out, err) = rt.run(&b, &id);
            let label = format!("{} noNewPrivileges={nnp}", rt.name);
            assert_eq!(code, 0, "{label}: {err}");
            assert_eq!(
                out, "nr1000: errno 38\nfchmodat2: errno 38\npidfd_getfd: errno 1\ngetuid: ok 0\n",
                "{label}"
            );
            assert_no_leaks(&rt, &id, &b);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The runtime's own syscalls after the filter

/// A profile of the days before clone3: every x86_64 syscall numbered below 435 is allowed,
/// anything else gets the default EPERM; `also_named` are named with the default action (no
/// rule, but the highest named number grows and with it the range that gets EPERM, not ENOSYS).
fn old_profile(also_named: &[&str]) -> Value {
    let names: Vec<String> = (0..435)
        .filter_map(|nr| ScmpSyscall::from(nr).get_name_by_arch(ScmpArch::X8664).ok())
        .collect();
    let mut syscalls = vec![json!({"names": names, "action": "SCMP_ACT_ALLOW"})];
    if !also_named.is_empty() {
        syscalls.push(json!({"names": also_named, "action": "SCMP_ACT_ERRNO"}));
    }
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": syscalls
    })
}

#[test]
fn an_older_profile_does_not_deny_the_runtimes_own_work_like_runc() {
    // faccessat2 (439) and close_range (436) are what runr's executable lookup and fd sweep
    // call. With only < 435 named they get ENOSYS (item 1); naming epoll_pwait2 (441) as well makes
    // them EPERM, so the run shows the runtime does not call them once the filter is loaded.
    for (what, also) in [
        ("below-435", vec![]),
        ("up-to-epoll_pwait2", vec!["epoll_pwait2"]),
    ] {
        for nnp in [false, true] {
            for rt in runtimes() {
                let mut b = probe_bundle(
                    "echo started; echo \"faccessat2: $(probe 439 -100 / 1 512)\"; \
                     echo \"libc-faccess: $(probe faccess /bin/sh)\"; \
                     grep '^Seccomp:' /proc/self/status",
                );
                b.config["process"]["noNewPrivileges"] = json!(nnp);
                b.config["linux"]["seccomp"] = old_profile(&also);
                let id = unique("ps-old");
                let (code, out, err) = rt.run(&b, &id);
                let label = format!("{} {what} noNewPrivileges={nnp}", rt.name);
                assert_eq!(code, 0, "{label}: {err}");
                let errno = if also.is_empty() { 38 } else { 1 };
                assert_eq!(
                    out,
                    format!(
                        "started\nfaccessat2: errno {errno}\nlibc-faccess: {}\nSeccomp:\t2\n",
                        // glibc falls back to faccessat on ENOSYS only.
                        if errno == 38 { "ok 0" } else { "errno 1" }
                    ),
                    "{label}: {err}"
                );
                assert_no_leaks(&rt, &id, &b);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. SCMP_ACT_NOTIFY

/// runc's test agent (tests/cmd/seccompagent), for what these tests need: serves `connections`
/// runtime connections (one per container process with a filter), each in its own thread:
/// takes the listener and lets every notified syscall go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
/// until the filter has no user left. Returns how many syscalls it answered.
fn continuing_agent(listener: UnixListener, connections: usize) -> usize {
    let serving: Vec<_> = (0..connections)
        .filter_map(|_| listener.accept().ok())
        .map(|(conn, _)| std::thread::spawn(move || serve(conn)))
        .collect();
    serving.into_iter().map(|t| t.join().unwrap_or(0)).sum()
}

fn serve(conn: std::os::unix::net::UnixStream) -> usize {
    let Some((_, fd)) = receive_listener(&conn) else {
        return 0; // the test's own wake-up connection
    };
    answer_notifications(&fd, 30_000, |req| Response {
        id: req.id,
        flags: FLAG_CONTINUE,
        ..Default::default()
    })
}

/// Wakes an agent still waiting in accept for a runtime that never connected.
fn wake(sock: &std::path::Path, times: usize) {
    for _ in 0..times {
        let _ = std::os::unix::net::UnixStream::connect(sock);
    }
}

/// runc's seccomp-notify.bats template: allow by default, notify `names`, agent at `socket`.
fn notify_profile(socket: &std::path::Path, names: &[&str]) -> Value {
    let mut p = profile("SCMP_ACT_ALLOW", &[(names, "SCMP_ACT_NOTIFY")]);
    p["listenerPath"] = json!(socket);
    p["listenerMetadata"] = json!("bar");
    p["architectures"] = json!(["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"]);
    p
}

#[test]
fn notify_on_the_runtimes_own_syscalls_works_like_runc() {
    // runc's "SCMP_ACT_NOTIFY important syscalls" cases, with and without noNewPrivileges.
    let names = ["execve", "openat", "open", "read", "close", "fcntl"];
    for nnp in [false, true] {
        for rt in runtimes() {
            let mut b = Bundle::new(&["/bin/true"]);
            let sock = b.dir.join("agent.sock");
            let listener = UnixListener::bind(&sock).unwrap();
            b.config["process"]["noNewPrivileges"] = json!(nnp);
            b.config["linux"]["seccomp"] = notify_profile(&sock, &names);
            let agent = std::thread::spawn(move || continuing_agent(listener, 1));
            let id = unique("ps-notify");
            let (code, _, err) = run_with_deadline(&rt, &b, &id, 30);
            if code != 0 {
                wake(&sock, 1);
            }
            let answered = agent.join().expect("agent");
            let label = format!("{} noNewPrivileges={nnp}", rt.name);
            assert_eq!(code, 0, "{label}: {err}");
            // At least the container's own execve and its reads went through the agent.
            assert!(answered > 0, "{label}: the agent answered nothing");
            assert_no_leaks(&rt, &id, &b);
        }
    }
}

#[test]
fn notify_on_every_syscall_the_runtime_makes_after_the_filter_works() {
    // Beyond runc's list, everything runr's init calls once the filter is in (but write, which
    // is refused): the handover's recvmsg and close, the last capset and prctl calls, the fifo
    // wait, execve. runc makes other calls there (its Go runtime's); it runs the same scenario.
    let names = [
        "recvmsg",
        "recvfrom",
        "close",
        "capset",
        "capget",
        "prctl",
        "poll",
        "ppoll",
        "read",
        "nanosleep",
        "clock_nanosleep",
        "execve",
        "rt_sigprocmask",
        "getpid",
    ];
    for nnp in [false, true] {
        for rt in runtimes() {
            let mut b = Bundle::new(&["/bin/true"]);
            let sock = b.dir.join("agent.sock");
            let listener = UnixListener::bind(&sock).unwrap();
            b.config["process"]["noNewPrivileges"] = json!(nnp);
            b.config["linux"]["seccomp"] = notify_profile(&sock, &names);
            let agent = std::thread::spawn(move || continuing_agent(listener, 1));
            let id = unique("ps-notify-all");
            let (code, _, err) = run_with_deadline(&rt, &b, &id, 30);
            if code != 0 {
                wake(&sock, 1);
            }
            let answered = agent.join().expect("agent");
            let label = format!("{} noNewPrivileges={nnp}", rt.name);
            assert_eq!(code, 0, "{label}: {err}");
            assert!(answered > 0, "{label}: the agent answered nothing");
            assert_no_leaks(&rt, &id, &b);
        }
    }
}

#[test]
fn notify_in_an_exec_on_the_runtimes_own_syscalls_works_like_runc() {
    // The same for a process exec'd into the container: its own filter's listener goes to the
    // same listenerPath (a second connection) while it still runs the runtime's code.
    for nnp in [false, true] {
        for rt in runtimes() {
            let mut b = Bundle::new(&["sleep", "100"]);
            let sock = b.dir.join("agent.sock");
            let listener = UnixListener::bind(&sock).unwrap();
            b.config["process"]["noNewPrivileges"] = json!(nnp);
            b.config["linux"]["seccomp"] =
                notify_profile(&sock, &["execve", "openat", "read", "close"]);
            let agent = std::thread::spawn(move || continuing_agent(listener, 2));
            let id = unique("ps-notify-exec");
            let label = format!("{} noNewPrivileges={nnp}", rt.name);
            let bundle = b.dir.to_str().unwrap();
            let started = with_deadline(&rt, &["run", "-d", "--bundle", bundle, &id], &b, &id, 30);
            let grep = ["exec", &id, "grep", "^Seccomp:", "/proc/self/status"];
            let exec = (started.0 == 0).then(|| with_deadline(&rt, &grep, &b, &id, 30));
            let _ = rt.exec(&["delete", "--force", &id]);
            wake(&sock, 2);
            let answered = agent.join().expect("agent");
            assert_eq!(started.0, 0, "{label}: run -d: {}", started.2);
            let (code, out, err) = exec.unwrap_or_default();
            assert_eq!(
                (code, out.as_str()),
                (0, "Seccomp:\t2\n"),
                "{label}: exec: {err}"
            );
            assert!(answered > 0, "{label}: the agent answered nothing");
            assert_no_leaks(&rt, &id, &b);
        }
    }
}

#[test]
fn notify_on_write_is_refused_at_create_like_runc() {
    for rt in runtimes() {
        let mut b = Bundle::new(&["/bin/true"]);
        let sock = b.dir.join("agent.sock");
        let _listener = UnixListener::bind(&sock).unwrap();
        b.config["linux"]["seccomp"] = notify_profile(&sock, &["write"]);
        let id = unique("ps-notify-write");
        let (code, _, err) = run_with_deadline(&rt, &b, &id, 30);
        assert_ne!(code, 0, "{}", rt.name);
        assert!(
            err.contains("SCMP_ACT_NOTIFY cannot be used for the write syscall"),
            "{}: {err}",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn an_unreachable_agent_fails_with_runcs_words() {
    for rt in runtimes() {
        let mut b = Bundle::new(&["/bin/true"]);
        let sock = b.dir.join("nobody-listens.sock");
        b.config["linux"]["seccomp"] = notify_profile(&sock, &["mkdir"]);
        let id = unique("ps-notify-noagent");
        let (code, _, err) = run_with_deadline(&rt, &b, &id, 30);
        assert_ne!(code, 0, "{}", rt.name);
        assert!(
            err.contains("failed to connect with seccomp agent"),
            "{}: {err}",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);
    }
}

// ---------------------------------------------------------------------------------------------
// 4. startContainer hooks run under the filter

#[test]
fn start_container_hook_runs_under_the_filter_like_runc() {
    for nnp in [true, false] {
        for rt in runtimes() {
            let mut b = Bundle::new(&["/bin/true"]);
            b.config["process"]["noNewPrivileges"] = json!(nnp);
            let kill_mkdir: &[&str] = &["mkdir", "mkdirat"];
            b.config["linux"]["seccomp"] =
                profile("SCMP_ACT_ALLOW", &[(kill_mkdir, "SCMP_ACT_KILL")]);
            b.config["hooks"] = json!({"startContainer": [
                {"path": "/bin/sh", "args": ["sh", "-c", "mkdir /dev/shm/foo"]}
            ]});
            let id = unique("ps-hook");
            let (code, out, err) = run_with_deadline(&rt, &b, &id, 30);
            let label = format!("{} noNewPrivileges={nnp}", rt.name);
            assert_ne!(code, 0, "{label}: {out}");
            assert!(err.contains("error running hook"), "{label}: {err}");
            assert!(err.contains("bad system call"), "{label}: {err}");
            let _ = rt.exec(&["delete", "--force", &id]);
            assert_no_leaks(&rt, &id, &b);
        }
    }
}

#[test]
fn start_container_hook_gets_no_extra_fd_with_a_listener_like_runc() {
    // runc's "SCMP_ACT_NOTIFY startContainer hook": neither the listener nor any other fd of
    // the runtime reaches the hook (stdio and the fd `ls` opens: 4).
    for rt in runtimes() {
        let mut b = Bundle::new(&["/bin/true"]);
        let sock = b.dir.join("agent.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        b.config["linux"]["seccomp"] = notify_profile(&sock, &["mkdir"]);
        b.config["hooks"] = json!({"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c",
            "n=$(ls /proc/self/fd/ | wc -l); [ $n -eq 4 ] || { echo \"$n fds\" >&2; exit 1; }"]}]});
        let agent = std::thread::spawn(move || continuing_agent(listener, 1));
        let id = unique("ps-hook-fds");
        let (code, _, err) = run_with_deadline(&rt, &b, &id, 30);
        if code != 0 {
            wake(&sock, 1);
        }
        let _ = agent.join();
        assert_eq!(code, 0, "{}: {err}", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}
