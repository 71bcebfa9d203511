//! The security boundary, attacked for real: seccomp (Docker's default profile, every action and
//! operator, exec'd processes, a notify agent answering syscalls), the known runtime escapes
//! (CVE-2019-5736 binary overwrite, CVE-2024-21626 fd/cwd leaks, CVE-2021-30465 mount symlink
//! swaps, CVE-2025-31133/52565 masked-path tricks, CVE-2019-16884 fake /proc) and the other
//! process security fields (AppArmor, SELinux, personality, scheduler, ioPriority,
//! execCPUAffinity, noNewPrivileges, capability names).
//!
//! Syscalls are made by a tiny static C helper (`probe`, compiled with gcc at test time) so that
//! each one is exactly the syscall and arguments the filter is written for: `probe NR a0 a1 …`
//! prints `ok RET` or `errno N`; `probe -t …` catches SIGSYS and prints `sigsys NR`; `probe spy`
//! plays the CVE-2019-5736 attacker. Every scenario is run under runc too where runc supports it,
//! and the outputs compared.

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use tests_integration::seccomp::{
    answer_notifications, docker_config, profile, receive_listener, Probe, Response,
};
use tests_integration::{
    assert_no_leaks, delete_no_leaks, runtimes, scratch, unique, wait_for, Bundle, Runtime,
};

// The seccomp scenarios name x86_64 syscall numbers and architectures.
#[cfg(not(target_arch = "x86_64"))]
compile_error!("tests/security.rs is written for x86_64");

const PROBE_C: &str = r#"
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static void on_sigsys(int sig, siginfo_t *si, void *uc) {
    char buf[64];
    int n = snprintf(buf, sizeof buf, "sigsys %d\n", si->si_syscall);
    write(1, buf, n);
    _exit(42);
}

/* The CVE-2019-5736 attacker: find the process whose command line contains argv[2], get hold of
 * its executable through /proc/<pid>/exe and report whether it could be written (what it writes
 * is the byte already there). */
static int spy(const char *needle) {
    for (int round = 0; round < 500; round++) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            int pid = atoi(e->d_name);
            if (pid <= 0 || pid == getpid()) continue;
            char path[64], cmd[4096] = {0};
            snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
            int c = open(path, O_RDONLY);
            if (c < 0) continue;
            int n = read(c, cmd, sizeof cmd - 1);
            close(c);
            for (int i = 0; i < n; i++) if (!cmd[i]) cmd[i] = ' ';
            if (!strstr(cmd, needle)) continue;
            snprintf(path, sizeof path, "/proc/%d/exe", pid);
            int fd = open(path, O_PATH);
            if (fd < 0) { printf("exe-open errno %d\n", errno); kill(pid, SIGKILL); return 0; }
            struct statfs sf;
            fstatfs(fd, &sf);
            printf("readonly-mount %d\n", (sf.f_flags & ST_RDONLY) ? 1 : 0);
            char self[64];
            snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
            int r = open(self, O_RDONLY);
            int seals = r >= 0 ? fcntl(r, F_GET_SEALS) : -1;
            printf("sealed %d\n", seals > 0 && (seals & F_SEAL_WRITE) ? 1 : 0);
            /* Kill the runtime copy, wait until it is gone, then try to write-open what we hold. */
            kill(pid, SIGKILL);
            char dir[64];
            snprintf(dir, sizeof dir, "/proc/%d", pid);
            struct stat st;
            for (int i = 0; i < 500 && stat(dir, &st) == 0; i++) usleep(10000);
            int w = open(self, O_RDWR);
            if (w >= 0) {
                /* Opened (a sealed memfd opens, and refuses the write): write back the byte that is
                 * there, so that even a successful write changes nothing. */
                printf("write-open OPENED\n");
                char c;
                if (pread(w, &c, 1, 0) == 1 && pwrite(w, &c, 1, 0) == 1) printf("write OK\n");
                else printf("write errno %d\n", errno);
                close(w);
            }
            else printf("write-open errno %d\n", errno);
            fflush(stdout);
            return 0;
        }
        if (d) closedir(d);
        usleep(10000);
    }
    printf("spy: nothing found\n");
    return 1;
}

int main(int argc, char **argv) {
    int i = 1;
    if (argc > 2 && !strcmp(argv[1], "spy")) return spy(argv[2]);
    if (argc > 1 && !strcmp(argv[1], "-t")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigsys;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSYS, &sa, 0);
        i++;
    }
    long a[7] = {0};
    for (int k = 0; k < 7 && i + k < argc; k++) a[k] = (long)strtoull(argv[i + k], 0, 0);
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

/// Runs a fresh bundle from `make` under every runtime; returns (name, exit code, stdout).
fn run_everywhere(make: impl Fn() -> Bundle, what: &str) -> Vec<(&'static str, i32, String)> {
    runtimes()
        .iter()
        .map(|rt| {
            let b = make();
            let id = unique(what);
            let (code, out, err) = rt.run(&b, &id);
            assert!(
                code != 255 && !err.contains("level=error"),
                "{} {what}: runtime error (exit {code}): {err}",
                rt.name
            );
            assert_no_leaks(rt, &id, &b);
            (rt.name, code, out)
        })
        .collect()
}

/// Asserts runr's output equals every other runtime's; returns runr's.
fn same_everywhere(make: impl Fn() -> Bundle, what: &str) -> (i32, String) {
    let outs = run_everywhere(make, what);
    for (name, code, out) in &outs[1..] {
        assert_eq!(
            (&outs[0].1, &outs[0].2),
            (code, out),
            "{what}: runr and {name} differ"
        );
    }
    (outs[0].1, outs[0].2.clone())
}

/// `probe NR args…` as a shell line that prints `label: <result>` (the exit status for kills).
fn call(label: &str, nr: i64, args: &[&str]) -> String {
    format!(
        "r=$(probe {nr} {}); c=$?; echo \"{label}: $r (exit $c)\"\n",
        args.join(" ")
    )
}

fn trap_call(label: &str, nr: i64) -> String {
    format!("r=$(probe -t {nr}); c=$?; echo \"{label}: $r (exit $c)\"\n")
}

fn line<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{label}:")))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{out}"))
}

// ---------------------------------------------------------------------------------------------
// Seccomp

#[test]
fn docker_default_profile_denies_like_runc() {
    let mut script = String::new();
    script += "unshare -U true 2>/dev/null; echo \"unshare-applet: $?\"\n";
    script += "mount -t tmpfs t /tmp 2>/dev/null; echo \"mount-applet: $?\"\n";
    script += "nsenter -t 1 -n true 2>/dev/null; echo \"nsenter-applet: $?\"\n";
    script += &call("unshare", libc::SYS_unshare, &["0x10000000"]);
    script += &call("mount", libc::SYS_mount, &["0", "0", "0", "0", "0"]);
    script += &call("keyctl", libc::SYS_keyctl, &["0", "-3", "0"]);
    script += &call("add_key", libc::SYS_add_key, &["0", "0", "0", "0", "0"]);
    // PTRACE_SEIZE does not stop the tracee (an ATTACH would leave pid 1 stopped).
    script += &call(
        "ptrace-seize-1",
        libc::SYS_ptrace,
        &["0x4206", "1", "0", "0"],
    );
    script += &call("clone3", libc::SYS_clone3, &["0", "0"]);
    script += &call(
        "clone-newns",
        libc::SYS_clone,
        &["0x20000", "0", "0", "0", "0"],
    );
    script += &call("personality-linux32", libc::SYS_personality, &["8"]);
    script += &call("personality-odd", libc::SYS_personality, &["0x400000"]);
    script += &call("reboot", libc::SYS_reboot, &["0", "0", "0", "0"]);
    script += &call("init_module", libc::SYS_init_module, &["0", "0", "0"]);
    script += &call("getuid", libc::SYS_getuid, &[]);
    script += "echo ok > /dev/shm/x && cat /dev/shm/x\n";
    script += "grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status\n";
    let docker = docker_config();
    let (code, out) = same_everywhere(
        || {
            let mut b = probe_bundle(&script);
            b.config["linux"]["seccomp"] = docker["linux"]["seccomp"].clone();
            b.config["process"]["capabilities"] = docker["process"]["capabilities"].clone();
            b
        },
        "sc-docker",
    );
    assert_eq!(code, 0, "{out}");
    for applet in ["unshare-applet", "mount-applet", "nsenter-applet"] {
        assert_ne!(line(&out, applet), format!("{applet}: 0"), "{out}");
    }
    for denied in [
        "unshare",
        "mount",
        "keyctl",
        "add_key",
        "clone-newns",
        "personality-odd",
    ] {
        assert_eq!(
            line(&out, denied),
            format!("{denied}: errno 1 (exit 0)"),
            "{out}"
        );
    }
    // Docker lets clone3 fail with ENOSYS so that libcs fall back to clone (errnoRet 38).
    assert_eq!(line(&out, "clone3"), "clone3: errno 38 (exit 0)");
    // reboot and init_module are not in the profile: EPERM too (CAP_SYS_BOOT would be the
    // second line of defence).
    assert_eq!(line(&out, "reboot"), "reboot: errno 1 (exit 0)");
    assert_eq!(line(&out, "init_module"), "init_module: errno 1 (exit 0)");
    assert_eq!(
        line(&out, "personality-linux32"),
        "personality-linux32: ok 0 (exit 0)"
    );
    assert_eq!(line(&out, "getuid"), "getuid: ok 0 (exit 0)");
    assert!(out.contains("\nok\n"), "normal work fails: {out}");
    assert!(
        out.contains("Seccomp:\t2") && out.contains("Seccomp_filters:\t1"),
        "{out}"
    );
}

/// One rule per operator and action, on syscalls busybox's sh never makes, with bad fds or
/// policies so that an unmatched call fails with the kernel's own errno (EBADF 9, EINVAL 22).
fn actions_profile() -> Value {
    let errno = |names: &[&str], ret: u32, args: Value| json!({"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": ret, "args": args});
    let arg = |index: u32, op: &str, value: u64| json!({"index": index, "value": value, "op": op});
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            errno(&["readahead", "no_such_syscall_xyz"], 101, json!([arg(0, "SCMP_CMP_EQ", 1000)])),
            errno(&["fadvise64"], 102, json!([arg(0, "SCMP_CMP_NE", 7)])),
            errno(&["syncfs"], 103, json!([arg(0, "SCMP_CMP_LT", 500)])),
            errno(&["tee"], 104, json!([arg(0, "SCMP_CMP_LE", 500)])),
            errno(&["flock"], 105, json!([arg(0, "SCMP_CMP_GE", 500)])),
            errno(&["sched_get_priority_max"], 106, json!([arg(0, "SCMP_CMP_GT", 50)])),
            errno(&["sched_get_priority_min"], 107,
                json!([{"index": 0, "value": 0xF0, "valueTwo": 0x30, "op": "SCMP_CMP_MASKED_EQ"}])),
            // Two conditions on one argument: either matches (runc splits them into rules).
            errno(&["fdatasync"], 108, json!([arg(0, "SCMP_CMP_EQ", 700), arg(0, "SCMP_CMP_EQ", 701)])),
            // Conditions on two arguments: both must match.
            errno(&["sched_rr_get_interval"], 109, json!([arg(0, "SCMP_CMP_EQ", 800), arg(1, "SCMP_CMP_EQ", 0)])),
            {"names": ["timerfd_gettime"], "action": "SCMP_ACT_TRACE"},
            {"names": ["getcpu"], "action": "SCMP_ACT_LOG"},
            {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["mincore"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["msync"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["munlockall"], "action": "SCMP_ACT_KILL"},
            {"names": ["sysfs"], "action": "SCMP_ACT_TRAP"},
            {"names": ["no_such_syscall_abc"], "action": "SCMP_ACT_ERRNO"}
        ]
    })
}

#[test]
fn every_action_and_operator_like_runc() {
    let s = |label: &str, nr: i64, args: &[&str]| call(label, nr, args);
    let mut script = String::new();
    script += &s("eq-hit", libc::SYS_readahead, &["1000", "0", "0"]);
    script += &s("eq-miss", libc::SYS_readahead, &["1001", "0", "0"]);
    script += &s("ne-hit", libc::SYS_fadvise64, &["1000", "0", "0", "0"]);
    script += &s("ne-miss", libc::SYS_fadvise64, &["7", "0", "0", "0"]);
    script += &s("lt-hit", libc::SYS_syncfs, &["499"]);
    script += &s("lt-miss", libc::SYS_syncfs, &["500"]);
    script += &s("le-hit", libc::SYS_tee, &["500", "1001", "1", "0"]);
    script += &s("le-miss", libc::SYS_tee, &["501", "1001", "1", "0"]);
    script += &s("ge-hit", libc::SYS_flock, &["500", "2"]);
    script += &s("ge-miss", libc::SYS_flock, &["499", "2"]);
    script += &s("gt-hit", libc::SYS_sched_get_priority_max, &["51"]);
    script += &s("gt-miss", libc::SYS_sched_get_priority_max, &["50"]);
    script += &s("masked-hit", libc::SYS_sched_get_priority_min, &["0x3F"]);
    script += &s("masked-miss", libc::SYS_sched_get_priority_min, &["0x4F"]);
    script += &s("or-first", libc::SYS_fdatasync, &["700"]);
    script += &s("or-second", libc::SYS_fdatasync, &["701"]);
    script += &s("or-miss", libc::SYS_fdatasync, &["702"]);
    script += &s("and-hit", libc::SYS_sched_rr_get_interval, &["800", "0"]);
    script += &s("and-miss", libc::SYS_sched_rr_get_interval, &["800", "8"]);
    script += &s("trace", libc::SYS_timerfd_gettime, &["1000", "0"]);
    script += &s("log", libc::SYS_getcpu, &["0", "0", "0"]);
    script += &s("allow", libc::SYS_getppid, &[]);
    script += &s("kill-process", libc::SYS_mincore, &["0", "0", "0"]);
    script += &s("kill-thread", libc::SYS_msync, &["0", "0", "0"]);
    script += &s("kill", libc::SYS_munlockall, &[]);
    script += &s("trap-uncaught", libc::SYS_sysfs, &["2"]);
    script += &trap_call("trap-caught", libc::SYS_sysfs);
    script += "echo done\n";
    let (code, out) = same_everywhere(
        || {
            let mut b = probe_bundle(&script);
            b.config["linux"]["seccomp"] = actions_profile();
            b
        },
        "sc-actions",
    );
    assert_eq!(code, 0, "{out}");
    let expect = [
        ("eq-hit", "errno 101 (exit 0)"),
        ("eq-miss", "errno 9 (exit 0)"),
        ("ne-hit", "errno 102 (exit 0)"),
        ("ne-miss", "errno 9 (exit 0)"),
        ("lt-hit", "errno 103 (exit 0)"),
        ("lt-miss", "errno 9 (exit 0)"),
        ("le-hit", "errno 104 (exit 0)"),
        ("le-miss", "errno 9 (exit 0)"),
        ("ge-hit", "errno 105 (exit 0)"),
        ("ge-miss", "errno 9 (exit 0)"),
        ("gt-hit", "errno 106 (exit 0)"),
        ("gt-miss", "errno 22 (exit 0)"),
        ("masked-hit", "errno 107 (exit 0)"),
        ("masked-miss", "errno 22 (exit 0)"),
        ("or-first", "errno 108 (exit 0)"),
        ("or-second", "errno 108 (exit 0)"),
        ("or-miss", "errno 9 (exit 0)"),
        ("and-hit", "errno 109 (exit 0)"),
        // Unmatched: the kernel looks for pid 800 (ESRCH).
        ("and-miss", "errno 3 (exit 0)"),
        // SCMP_ACT_TRACE without a tracer: the kernel fails the call with ENOSYS.
        ("trace", "errno 38 (exit 0)"),
        ("log", "ok 0 (exit 0)"),
        // Killed by SIGSYS: the shell reports 128 + 31.
        ("kill-process", " (exit 159)"),
        ("kill-thread", " (exit 159)"),
        ("kill", " (exit 159)"),
        ("trap-uncaught", " (exit 159)"),
        (
            "trap-caught",
            &format!("sigsys {} (exit 42)", libc::SYS_sysfs),
        ),
    ];
    for (label, want) in expect {
        assert_eq!(line(&out, label), format!("{label}: {want}"), "{out}");
    }
    assert!(line(&out, "allow").starts_with("allow: ok "), "{out}");
    assert!(out.ends_with("done\n"), "{out}");
}

#[test]
fn filter_flags_are_accepted() {
    // runc 1.1 refuses every flag ("seccomp flags are not yet supported"): runr only. The filter
    // works the same with them; with WAIT_KILLABLE_RECV but nothing notifying, the flag is
    // meaningless and dropped (the kernel would refuse it without a listener).
    let rt = Runtime::runr();
    for flags in [
        json!([
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_TSYNC"
        ]),
        json!(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]),
    ] {
        let mut b = probe_bundle(&call("readahead", libc::SYS_readahead, &["1000", "0", "0"]));
        let mut profile = actions_profile();
        profile["flags"] = flags.clone();
        b.config["linux"]["seccomp"] = profile;
        let id = unique("sc-flags");
        let (code, out, err) = rt.run(&b, &id);
        assert_eq!(
            (code, out.as_str()),
            (0, "readahead: errno 101 (exit 0)\n"),
            "{flags}: {err}"
        );
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn default_errno_ret_and_unknown_names_like_runc() {
    let docker = docker_config();
    let script = call("keyctl", libc::SYS_keyctl, &["0", "-3", "0"])
        + &call("getuid", libc::SYS_getuid, &[]);
    let (code, out) = same_everywhere(
        || {
            let mut b = probe_bundle(&script);
            let mut sc = docker["linux"]["seccomp"].clone();
            sc["defaultErrnoRet"] = json!(95);
            sc["syscalls"]
                .as_array_mut()
                .unwrap()
                .push(json!({"names": ["definitely_not_a_syscall"], "action": "SCMP_ACT_ALLOW"}));
            b.config["linux"]["seccomp"] = sc;
            b
        },
        "sc-errnoret",
    );
    assert_eq!(code, 0);
    assert_eq!(line(&out, "keyctl"), "keyctl: errno 95 (exit 0)", "{out}");
    assert_eq!(line(&out, "getuid"), "getuid: ok 0 (exit 0)", "{out}");
}

#[test]
fn exec_processes_get_the_filter_like_runc() {
    for rt in runtimes() {
        let mut b = probe_bundle("sleep 100");
        b.config["linux"]["seccomp"] = actions_profile();
        let id = unique("sc-exec");
        rt.create_ok(&b, &id, &[]);
        rt.ok(&["start", &id]);
        let nr = libc::SYS_readahead.to_string();
        let probe = rt.exec(&["exec", &id, "probe", &nr, "1000", "0", "0"]);
        assert_eq!(
            String::from_utf8_lossy(&probe.stdout),
            "errno 101\n",
            "{}: {}",
            rt.name,
            String::from_utf8_lossy(&probe.stderr)
        );
        let status = rt.exec(&["exec", &id, "grep", "^Seccomp:", "/proc/self/status"]);
        assert_eq!(
            String::from_utf8_lossy(&status.stdout),
            "Seccomp:\t2\n",
            "{}",
            rt.name
        );
        let killed = rt.exec(&["exec", &id, "probe", &libc::SYS_mincore.to_string()]);
        assert_eq!(
            killed.status.code(),
            Some(159),
            "{}: exec killed by SIGSYS",
            rt.name
        );
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn seccomp_without_no_new_privs_still_filters() {
    // Without no_new_privs the filter is loaded while the runtime still has CAP_SYS_ADMIN.
    let script = call("readahead", libc::SYS_readahead, &["1000", "0", "0"])
        + "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status\n";
    let (code, out) = same_everywhere(
        || {
            let mut b = probe_bundle(&script);
            b.config["process"]["noNewPrivileges"] = json!(false);
            b.config["linux"]["seccomp"] = actions_profile();
            b
        },
        "sc-nonnp",
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "readahead: errno 101 (exit 0)\nNoNewPrivs:\t0\nSeccomp:\t2\n"
    );
}

// ---------------------------------------------------------------------------------------------
// SCMP_ACT_NOTIFY

/// What the agent saw: the JSON runr sent with the fd, and the syscalls it answered.
struct AgentReport {
    state: Value,
    answered: Vec<i32>,
}

/// The seccomp agent: accepts one connection, takes the listener fd (SCM_RIGHTS) and the JSON,
/// then answers notifications in turn: the first with fake success, the others with ENOSPC.
fn agent(listener: UnixListener) -> AgentReport {
    let (conn, _) = listener.accept().expect("runtime connects to listenerPath");
    let (payload, fd) = receive_listener(&conn).expect("the state with the listener fd");
    let state: Value = serde_json::from_slice(&payload).expect("state JSON");
    let mut answered = Vec::new();
    answer_notifications(&fd, 20_000, |req| {
        let error = if answered.is_empty() {
            0
        } else {
            -libc::ENOSPC
        };
        answered.push(req.data.nr);
        Response {
            id: req.id,
            error,
            ..Default::default()
        }
    });
    AgentReport { state, answered }
}

#[test]
fn notify_agent_gets_state_and_fd_and_answers_like_runc() {
    for rt in runtimes() {
        let mut b = probe_bundle(
            "mkdir /tmp/first; echo \"first: $?\"; \
             mkdir /tmp/second 2>/dev/null; echo \"second: $?\"; \
             ls -d /tmp/first /tmp/second 2>/dev/null; echo \"exist: $?\"",
        );
        let sock = b.dir.join("agent.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        b.config["root"]["readonly"] = json!(false);
        let notify_mkdir: &[&str] = &["mkdir", "mkdirat"];
        let mut sc = profile("SCMP_ACT_ALLOW", &[(notify_mkdir, "SCMP_ACT_NOTIFY")]);
        sc["listenerPath"] = json!(sock);
        sc["listenerMetadata"] = json!("meta-for-agent");
        b.config["linux"]["seccomp"] = sc;
        if rt.name == "runr" {
            // runc 1.1 knows no flags; runr passes this one with the listener.
            b.config["linux"]["seccomp"]["flags"] =
                json!(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]);
        }
        let handle = std::thread::spawn(move || agent(listener));
        let id = unique("sc-notify");
        let (code, out, err) = rt.run(&b, &id);
        let report = handle.join().expect("agent");
        assert_eq!(code, 0, "{}: {err}", rt.name);
        // The agent faked success for the first mkdir (nothing was created) and failed the
        // second with ENOSPC.
        assert_eq!(out, "first: 0\nsecond: 1\nexist: 1\n", "{}: {err}", rt.name);
        assert_eq!(report.answered.len(), 2, "{}", rt.name);
        for nr in &report.answered {
            assert!(
                [libc::SYS_mkdir as i32, libc::SYS_mkdirat as i32].contains(nr),
                "{}: {nr}",
                rt.name
            );
        }
        let s = &report.state;
        assert_eq!(s["fds"], json!(["seccompFd"]), "{}: {s}", rt.name);
        assert_eq!(s["metadata"], json!("meta-for-agent"), "{}: {s}", rt.name);
        assert!(s["pid"].as_i64().unwrap_or(0) > 0, "{}: {s}", rt.name);
        assert!(s["ociVersion"].is_string(), "{}: {s}", rt.name);
        assert_eq!(s["state"]["id"], json!(id), "{}: {s}", rt.name);
        assert_eq!(
            s["state"]["bundle"].as_str().map(Path::new),
            Some(b.dir.as_path()),
            "{}: {s}",
            rt.name
        );
        assert!(!b.rootfs().join("tmp/first").exists(), "{}", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

// ---------------------------------------------------------------------------------------------
// CVE-2019-5736: overwriting the runtime's binary through /proc/<pid>/exe

/// Copies the dynamic loader and libraries `bin` needs (per ldd) into `rootfs`, same paths.
fn copy_libraries(bin: &Path, rootfs: &Path) {
    let out = Command::new("ldd").arg(bin).output().expect("ldd");
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let path = l
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(PathBuf::from);
        if let Some(p) = path {
            let dst = rootfs.join(p.strip_prefix("/").unwrap());
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::copy(&p, &dst).unwrap();
        }
    }
}

fn sha(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read binary")
}

#[test]
fn runtime_binary_cannot_be_overwritten_through_proc_exe() {
    for rt in runtimes() {
        overwrite_through_proc_exe_fails(&rt, Leave::Default);
    }
    // runr's two ways out of its image: the exec stub (above), and the read-only re-exec for a
    // container whose processes may have CAP_SYS_PTRACE (the stub's rule, exec_stub.rs).
    overwrite_through_proc_exe_fails(&Runtime::runr(), Leave::Ptrace);
}

/// How the attacked container is made: as it comes, or with CAP_SYS_PTRACE in its bounding set
/// (which rules runr's exec stub out).
#[derive(Clone, Copy, PartialEq)]
enum Leave {
    Default,
    Ptrace,
}

/// Whether runr's processes for this container leave through the exec stub (else runr
/// re-executes from a read-only view of its binary).
fn uses_stub(rt: &Runtime, leave: Leave) -> bool {
    rt.name == "runr" && leave == Leave::Default && !runr_binary_read_only(rt)
}

fn runr_binary_read_only(rt: &Runtime) -> bool {
    nix::sys::statvfs::statvfs(&rt.bin)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
}

/// The CVE-2019-5736 attack on `rt`: the container runs whatever image `/proc/self/exe` names in
/// the runtime's clone, and a spy in it tries to reopen that for writing. With the runtime's own
/// binary there (runc; runr re-executed), the victim blocks opening its --log fifo; with runr's
/// exec stub there, the victim is a script whose interpreter is `/proc/self/exe`, which keeps
/// the stub executing itself (one argument less each time) while the spy looks.
fn overwrite_through_proc_exe_fails(rt: &Runtime, leave: Leave) {
    let before = sha(&rt.bin);
    let mut b = probe_bundle("mkfifo /tmp/block && sleep 1000");
    b.config["root"]["readonly"] = json!(false);
    if leave == Leave::Ptrace {
        let bounding = &mut b.config["process"]["capabilities"]["bounding"];
        bounding
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SYS_PTRACE"));
    }
    // A real image has a libc: give it the runtime's loader and libraries, so the runtime's
    // binary can actually run inside (otherwise execve fails with ENOENT on the loader).
    copy_libraries(&rt.bin, &b.rootfs());
    let stub = uses_stub(rt, leave);
    let id = unique("cve5736");
    rt.create_ok(&b, &id, &[]);
    rt.ok(&["start", &id]);
    assert!(wait_for(30, || b.rootfs().join("tmp/block").exists()));
    let victim_args: Vec<String> = if stub {
        let script = b.rootfs().join("loop");
        std::fs::write(&script, "#!/proc/self/exe -\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        ["/loop"]
            .into_iter()
            .map(String::from)
            .chain((0..5000).map(|_| "x".into()))
            .collect()
    } else {
        ["/proc/self/exe", "--log", "/tmp/block", "state", "x"]
            .map(String::from)
            .to_vec()
    };
    let mut args = vec!["exec", "-d", id.as_str()];
    args.extend(victim_args.iter().map(String::as_str));
    let victim = rt
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(victim.success(), "{}: exec of the victim", rt.name);
    let needle = if stub { "/loop" } else { "/tmp/block" };
    let spy = rt.exec(&["exec", &id, "probe", "spy", needle]);
    let report = String::from_utf8_lossy(&spy.stdout).into_owned();
    assert!(
        !report.contains("nothing found"),
        "{}: the victim never ran: {report}",
        rt.name
    );
    // The attacker may not get the exe at all, or gets one it can never write: a read-only
    // mount (runr's re-exec: a detached read-only bind mount), a sealed memfd copy (runc 1.1;
    // runr's exec stub).
    let protected = report.contains("exe-open errno")
        || report.contains("readonly-mount 1")
        || report.contains("sealed 1");
    assert!(
        protected,
        "{}: exe reachable and not sealed: {report}",
        rt.name
    );
    assert!(!report.contains("write OK"), "{}: {report}", rt.name);
    assert!(
        !report.contains("write-open OPENED") || report.contains("sealed 1"),
        "{}: {report}",
        rt.name
    );
    if stub {
        // The stub is non-dumpable (EACCES); caught in the instant before its prctl, its
        // sealed copy, whose write is refused (EPERM). a_created_init_is_the_sealed_stub… opens
        // it with CAP_SYS_PTRACE.
        let sealed = report.contains("sealed 1") && report.contains("write errno 1");
        assert!(sealed || report.contains("exe-open errno 13"), "{report}");
    } else if rt.name == "runr" {
        assert!(report.contains("readonly-mount 1"), "{report}");
        // EROFS, or ETXTBSY first while some runr (this test's own `exec`) still runs it.
        assert!(
            report.contains("write-open errno 30") || report.contains("write-open errno 26"),
            "{report}"
        );
    }
    delete_no_leaks(rt, &id, &b);
    assert!(
        sha(&rt.bin) == before,
        "{}: the runtime binary changed",
        rt.name
    );
}

/// A copy of runr's binary on a read-only bind mount of its own directory (a read-only `/usr`
/// on an image-based host); unmounted and removed on drop.
struct ReadOnlyCopy {
    dir: PathBuf,
    bin: PathBuf,
}

impl ReadOnlyCopy {
    fn of(bin: &Path) -> ReadOnlyCopy {
        use nix::mount::{mount, MsFlags};
        let dir = scratch().join(unique("ro-bin"));
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join("runr");
        std::fs::copy(bin, &copy).unwrap();
        let none: Option<&str> = None;
        mount(Some(&dir), &dir, none, MsFlags::MS_BIND, none).expect("bind the copy's dir");
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        let guard = ReadOnlyCopy { dir, bin: copy };
        mount(none, &guard.dir, none, ro, none).expect("remount it read-only");
        guard
    }
}

impl Drop for ReadOnlyCopy {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.dir, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `args` (a runr command, with `--log` and `--debug` put first) re-executed from a
/// read-only binary: its debug log (the phase timings) has the re-exec step.
fn re_executed(rt: &Runtime, b: &Bundle, args: &[&str]) -> bool {
    let log = scratch().join(unique("log"));
    let mut all = vec!["--log", log.to_str().unwrap(), "--debug"];
    all.extend_from_slice(args);
    let out = rt.exec_detached(&all, b);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(
        out.status.success(),
        "{} {args:?}: {}{text}",
        rt.bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    text.contains("re-exec from a read-only binary")
}

/// A `true` bundle; with `ptrace`, CAP_SYS_PTRACE in its bounding set.
fn stub_bundle(ptrace: bool) -> Bundle {
    let mut b = Bundle::new(&["sleep", "60"]);
    if ptrace {
        let bounding = &mut b.config["process"]["capabilities"]["bounding"];
        bounding
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SYS_PTRACE"));
    }
    b.write();
    b
}

#[test]
fn exec_stub_unless_a_container_process_could_reach_the_runtime_first() {
    // runr's processes leave its image through the exec stub; it re-executes from a read-only
    // binary instead where a process of the container could open the clone's /proc/<pid>/exe
    // before its execve (exec_stub.rs): CAP_SYS_PTRACE here.
    let rt = Runtime::runr();
    for ptrace in [false, true] {
        let b = stub_bundle(ptrace);
        let id = unique("stub");
        let dir = b.dir.to_str().unwrap();
        let created = re_executed(&rt, &b, &["create", "--bundle", dir, &id]);
        assert_eq!(created, ptrace, "create, CAP_SYS_PTRACE: {ptrace}");
        rt.ok(&["start", &id]);
        let exec = re_executed(&rt, &b, &["exec", &id, "true"]);
        assert_eq!(exec, ptrace, "exec, CAP_SYS_PTRACE: {ptrace}");
        if !ptrace {
            // A container joining this one's pid namespace sees its exec'd processes: from
            // then on they re-execute (the joiner itself does, as a shared pid namespace).
            let pid = rt.state(&id)["pid"].as_i64().unwrap();
            let mut joiner = stub_bundle(false);
            joiner.config["linux"]["namespaces"][0] =
                json!({"type": "pid", "path": format!("/proc/{pid}/ns/pid")});
            joiner.write();
            let jid = unique("stub-joiner");
            let jdir = joiner.dir.to_str().unwrap();
            assert!(re_executed(
                &rt,
                &joiner,
                &["create", "--bundle", jdir, &jid]
            ));
            assert!(
                re_executed(&rt, &b, &["exec", &id, "true"]),
                "exec after a joiner"
            );
            delete_no_leaks(&rt, &jid, &joiner);
        }
        rt.ok(&["delete", "--force", &id]);
        let id = unique("stub");
        rt.create_ok(&b, &id, &[]);
        rt.ok(&["start", &id]);
        if !ptrace {
            // An exec'd process given CAP_SYS_PTRACE re-executes, and so does every exec after
            // it: that process could reach theirs.
            let caps = ["exec", "--cap", "CAP_SYS_PTRACE", &id, "true"];
            assert!(re_executed(&rt, &b, &caps), "exec --cap CAP_SYS_PTRACE");
            assert!(
                re_executed(&rt, &b, &["exec", &id, "true"]),
                "exec after it"
            );
        }
        delete_no_leaks(&rt, &id, &b);
    }
}

/// stderr without what changes from run to run (log timestamps).
fn stable(err: &str) -> String {
    err.lines()
        .map(|l| match l.find("level=") {
            Some(at) if l.starts_with("time=") => &l[at..],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_failing_execve_after_the_exec_stub_reads_as_a_direct_one() {
    // The stub makes the program's execve, so it must report what the runtime's own execve
    // did: the same messages and exit codes as runr from a read-only binary (no stub), for
    // `run` (the init's stderr and run's error) and `exec` (the error over the channel); and
    // a failure, as under runc.
    let ro = ReadOnlyCopy::of(&Runtime::runr().bin);
    let direct = Runtime {
        name: "runr",
        bin: ro.bin.clone(),
        root: scratch().join(unique("root-runr-direct")),
    };
    let stub = Runtime::runr();
    let make = |program: &str| {
        let b = Bundle::new(&[program]);
        std::fs::write(b.rootfs().join("bin/badscript"), "#!/nonexistent\n").unwrap();
        std::fs::write(b.rootfs().join("bin/garbage"), "garbage\n").unwrap();
        for f in ["bin/badscript", "bin/garbage"] {
            let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
            std::fs::set_permissions(b.rootfs().join(f), mode).unwrap();
        }
        b
    };
    for program in ["/bin/badscript", "/bin/garbage"] {
        let mut seen = Vec::new();
        for rt in [&stub, &direct] {
            let b = make(program);
            let run_id = unique("stub-run");
            let (code, _, err) = rt.run(&b, &run_id);
            assert_no_leaks(rt, &run_id, &b);
            let mut sleeper = make("sleep");
            sleeper.config["process"]["args"] = json!(["sleep", "60"]);
            let id = unique("stub-exec");
            rt.create_ok(&sleeper, &id, &[]);
            rt.ok(&["start", &id]);
            let ex = rt.exec(&["exec", &id, program]);
            delete_no_leaks(rt, &id, &sleeper);
            let exec_err = String::from_utf8_lossy(&ex.stderr).into_owned();
            seen.push((code, stable(&err), ex.status.code(), stable(&exec_err)));
        }
        assert_eq!(seen[0], seen[1], "{program}: through the stub vs direct");
        assert_ne!(seen[0].0, 0, "{program}: run succeeded");
        assert_eq!(seen[0].2, Some(255), "{program}: exec's code");
        if let Some(runc) = runtimes().into_iter().find(|r| r.name == "runc") {
            let (code, _, _) = runc.run(&make(program), &unique("stub-runc"));
            assert_ne!(code, 0, "runc {program}");
        }
    }
}

#[test]
fn capabilities_through_the_exec_stub_are_runcs() {
    // runc-dmz's lesson (runc #4125): an intermediate execve can change what a non-root
    // process ends up with. With file capabilities on the program (permitted, inheritable or
    // none), ambient capabilities or none, as root and not, the sets a program gets through
    // runr's stub must be the ones runc gives it (runc 1.1.5 execs the program directly).
    let runr = Runtime::runr();
    let Some(runc) = runtimes().into_iter().find(|r| r.name == "runc") else {
        panic!("runc is not installed: scripts/deps.sh installs it");
    };
    let mut b = Bundle::new(&["/capbin/grep", "Cap", "/proc/self/status"]);
    std::fs::create_dir_all(b.rootfs().join("capbin")).unwrap();
    let grep = b.rootfs().join("capbin/grep");
    std::fs::copy(b.rootfs().join("bin/busybox"), &grep).unwrap();
    let caps = json!(["CAP_NET_BIND_SERVICE", "CAP_CHOWN"]);
    b.config["process"]["noNewPrivileges"] = json!(false);
    for file_caps in [
        "cap_net_bind_service+ep",
        "cap_net_bind_service,cap_chown+i",
        "-r",
    ] {
        let mut setcap = Command::new("setcap");
        match file_caps {
            "-r" => setcap.arg("-r"),
            fc => setcap.arg(fc),
        };
        assert!(setcap.arg(&grep).status().expect("setcap").success());
        for ambient in [json!([]), json!(["CAP_CHOWN"])] {
            for uid in [1000, 0] {
                b.config["process"]["user"]["uid"] = json!(uid);
                b.config["process"]["capabilities"] = json!({"bounding": caps, "permitted": caps,
                    "inheritable": caps, "effective": ["CAP_CHOWN"], "ambient": ambient});
                let case = format!("file caps {file_caps}, ambient {ambient}, uid {uid}");
                let (code, ours, err) = runr.run(&b, &unique("caps"));
                assert_eq!(code, 0, "{case}: {err}");
                let (_, theirs, _) = runc.run(&b, &unique("caps"));
                assert_eq!(ours, theirs, "{case}");
                assert!(ours.contains("CapPrm"), "{case}: {ours}");
            }
        }
    }
    // And it was the stub that ran them: no re-exec for this container.
    let id = unique("caps");
    let dir = b.dir.to_str().unwrap();
    assert!(!re_executed(&runr, &b, &["create", "--bundle", dir, &id]));
    delete_no_leaks(&runr, &id, &b);
}

#[test]
fn a_binary_on_a_read_only_mount_runs_without_the_re_exec_and_stays_unwritable() {
    // A binary nobody can write through /proc/<pid>/exe already needs neither the stub nor the
    // re-exec, even for a container that rules the stub out. It must be as safe as the others.
    let ro = ReadOnlyCopy::of(&Runtime::runr().bin);
    let rt = Runtime {
        name: "runr",
        bin: ro.bin.clone(),
        root: scratch().join(unique("root-runr-ro")),
    };
    let b = stub_bundle(true);
    let id = unique("ro-exec");
    let dir = b.dir.to_str().unwrap();
    assert!(!re_executed(&rt, &b, &["create", "--bundle", dir, &id]));
    delete_no_leaks(&rt, &id, &b);
    overwrite_through_proc_exe_fails(&rt, Leave::Default);
    overwrite_through_proc_exe_fails(&rt, Leave::Ptrace);
}

#[test]
fn created_init_exe_is_closed_to_a_neighbour_like_runc() {
    // Container B is created (not started) in container A's pid namespace: its init is still the
    // runtime (a clone of it) and has already dropped to the container's capabilities, the same
    // as A's. A's root must still not be able to open B's /proc/<pid>/exe: the runtime is
    // non-dumpable.
    for rt in runtimes() {
        let a = probe_bundle("sleep 1000");
        let ida = unique("nbr-a");
        rt.create_ok(&a, &ida, &[]);
        rt.ok(&["start", &ida]);
        let pid = rt.state(&ida)["pid"].as_i64().unwrap();
        let mut b = probe_bundle("true");
        b.config["linux"]["namespaces"][0] =
            json!({"type": "pid", "path": format!("/proc/{pid}/ns/pid")});
        let idb = unique("nbr-b");
        rt.create_ok(&b, &idb, &[]);
        // runr's init is a clone of `runr create … <id>`; runc's is `runc init`.
        let needle = if rt.name == "runr" {
            idb.as_str()
        } else {
            "runc init"
        };
        let spy = rt.exec(&["exec", &ida, "probe", "spy", needle]);
        let report = String::from_utf8_lossy(&spy.stdout).into_owned();
        assert_eq!(report, "exe-open errno 13\n", "{}", rt.name);
        rt.ok(&["delete", "--force", &idb]);
        rt.ok(&["delete", "--force", &ida]);
        assert_no_leaks(&rt, &idb, &b);
        assert_no_leaks(&rt, &ida, &a);
    }
}

#[test]
fn runtime_runs_from_a_read_only_binary_when_the_stub_cannot_serve() {
    // The runr process itself, seen by a prestart hook (its child, on the host): the writable
    // binary for a container the exec stub serves, a read-only (detached) mount once it
    // re-executed for one the stub cannot (CAP_SYS_PTRACE).
    let rt = Runtime::runr();
    for ptrace in [false, true] {
        let mut b = stub_bundle(ptrace);
        let seen = scratch().join(unique("exe-seen"));
        let check = format!(
            "if [ -w /proc/$PPID/exe ]; then echo writable; else echo read-only; fi > {}",
            seen.display()
        );
        b.config["hooks"] = json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", check]}]});
        let id = unique("exe-ro");
        rt.create_ok(&b, &id, &[]);
        let got = std::fs::read_to_string(&seen).unwrap_or_default();
        let _ = std::fs::remove_file(&seen);
        delete_no_leaks(&rt, &id, &b);
        let want = if ptrace { "read-only\n" } else { "writable\n" };
        assert_eq!(got, want, "CAP_SYS_PTRACE: {ptrace}");
    }
}

#[test]
fn a_created_init_is_the_sealed_stub_even_to_a_ptrace_capable_exec() {
    // Until `start`, a created container's init waits inside the exec stub: a process exec'd
    // into it with CAP_SYS_PTRACE (which passes the non-dumpable flag) gets the stub's sealed
    // copy from /proc/1/exe, never runr's binary.
    let rt = Runtime::runr();
    let b = probe_bundle("echo never-started-mark");
    let id = unique("created-spy");
    rt.create_ok(&b, &id, &[]);
    let before = sha(&rt.bin);
    let args = [
        "exec",
        "--cap",
        "CAP_SYS_PTRACE",
        &id,
        "probe",
        "spy",
        "never-started-mark",
    ];
    let spy = rt.exec(&args);
    let report = String::from_utf8_lossy(&spy.stdout).into_owned();
    delete_no_leaks(&rt, &id, &b);
    assert!(report.contains("sealed 1"), "{report}");
    assert!(!report.contains("write OK"), "{report}");
    assert!(sha(&rt.bin) == before, "runr's binary changed");
}

// ---------------------------------------------------------------------------------------------
// CVE-2024-21626: host fds and host cwd

#[test]
fn no_host_fd_reaches_the_container_like_runc() {
    // The container's process (pid 1, the shell) lists its own fds from outside itself.
    let script = "cd /proc/1/fd && for f in *; do echo \"$f $(readlink /proc/1/fd/$f)\"; done";
    let outs = run_everywhere(|| probe_bundle(script), "fdleak");
    let numbers = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect()
    };
    for (name, code, out) in &outs {
        assert_eq!(*code, 0, "{name}");
        assert_eq!(numbers(out), numbers(&outs[0].2), "runr and {name} differ");
    }
    let out = &outs[0].2;
    let fds: Vec<&str> = out.lines().collect();
    // stdio, and the pipe of the shell's own $(…) that lists them.
    assert_eq!(fds.len(), 4, "only stdio may be open: {out}");
    for (i, l) in fds.iter().take(3).enumerate() {
        let (n, target) = l.split_once(' ').unwrap();
        assert_eq!(n, i.to_string(), "{out}");
        assert!(
            target == "/dev/null" || target.starts_with("pipe:["),
            "fd {n} -> {target}"
        );
    }
}

#[test]
fn cwd_through_proc_self_fd_cannot_reach_the_host() {
    // runc before 1.1.12 leaked a host cgroup dir fd; `cwd: /proc/self/fd/7` then put the
    // process on the host. Whatever fd numbers the runtime has open at that point, the process
    // either fails to start or its cwd is inside the container.
    let rt = Runtime::runr();
    for n in 3..=12 {
        let mut b = probe_bundle(
            "cd ../../../../../../../../..; cat etc/hostname; readlink /proc/self/cwd",
        );
        b.config["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        let id = unique("cwdfd");
        let (code, out, err) = rt.run(&b, &id);
        if code == 0 {
            assert_eq!(
                out, "image\n/\n",
                "fd {n}: cwd escaped the container: {out}"
            );
        } else {
            assert!(
                err.contains("process.cwd") || err.contains("cwd"),
                "fd {n}: {err}"
            );
        }
        assert_no_leaks(&rt, &id, &b);
    }
}

// ---------------------------------------------------------------------------------------------
// CVE-2021-30465: mount destinations swapped for symlinks to host paths while mounting

#[test]
fn racing_symlink_swap_on_a_mount_destination_never_mounts_on_the_host() {
    let rt = Runtime::runr();
    let host = scratch().join(unique("victim"));
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("marker"), "host").unwrap();
    let mut b = probe_bundle("cat /mnt/target/marker 2>/dev/null; echo rc=$?");
    b.config["root"]["readonly"] = json!(false);
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/mnt/target", "type": "tmpfs", "source": "tmpfs"}));
    let mnt = b.rootfs().join("mnt");
    std::fs::create_dir_all(mnt.join("target")).unwrap();
    std::os::unix::fs::symlink(&host, mnt.join("link")).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racer = {
        let stop = stop.clone();
        let (a, l) = (mnt.join("target"), mnt.join("link"));
        std::thread::spawn(move || {
            let a = std::ffi::CString::new(a.to_str().unwrap()).unwrap();
            let l = std::ffi::CString::new(l.to_str().unwrap()).unwrap();
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: two NUL-terminated paths; RENAME_EXCHANGE swaps dir and symlink.
                unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        l.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                swaps += 1;
            }
            swaps
        })
    };
    let mut outcomes = Vec::new();
    for _ in 0..15 {
        let id = unique("swap");
        let (code, out, _err) = rt.run(&b, &id);
        outcomes.push((code, out));
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts.contains(host.to_str().unwrap()),
            "a mount landed on the host path {}",
            host.display()
        );
        assert_no_leaks(&rt, &id, &b);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(racer.join().unwrap() > 0);
    // The host directory is untouched, and no run saw the host's file through the mount point.
    assert_eq!(
        std::fs::read_to_string(host.join("marker")).unwrap(),
        "host"
    );
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), 1);
    for (code, out) in &outcomes {
        assert!(*code != 0 || out == "rc=1\n", "host file visible: {out}");
    }
    let _ = std::fs::remove_dir_all(&host);
}

// ---------------------------------------------------------------------------------------------
// Masked and read-only paths (CVE-2025-31133, CVE-2025-52565, CVE-2025-52881 class)

fn core_pattern() -> String {
    std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap()
}

#[test]
fn dev_null_symlink_does_not_unmask_host_files() {
    // The image's /dev/null points at a global, writable procfs file; masking /proc/kcore with
    // "/dev/null" must not bind that file over it (CVE-2025-31133).
    let before = core_pattern();
    let rt = Runtime::runr();
    let script = format!(
        "wc -c < /proc/kcore; printf '%s' '{}' > /proc/kcore 2>/dev/null; echo \"write: $?\"; \
         cat /proc/sys/kernel/core_pattern",
        before.trim_end()
    );
    let mut b = probe_bundle(&script);
    // No /dev tmpfs: /dev comes from the image.
    b.config["mounts"].as_array_mut().unwrap().retain(|m| {
        m["destination"] != "/dev" && !m["destination"].as_str().unwrap().starts_with("/dev/")
    });
    std::fs::remove_dir_all(b.rootfs().join("dev")).unwrap();
    std::fs::create_dir(b.rootfs().join("dev")).unwrap();
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", b.rootfs().join("dev/null"))
        .unwrap();
    let id = unique("devnull");
    let (code, out, err) = rt.run(&b, &id);
    assert_no_leaks(&rt, &id, &b);
    assert_eq!(core_pattern(), before, "host core_pattern changed");
    if code == 0 {
        let mut l = out.lines();
        assert_eq!(
            l.next().map(str::trim),
            Some("0"),
            "/proc/kcore unmasked: {out}"
        );
        assert_ne!(
            l.next(),
            Some("write: 0"),
            "masked /proc/kcore was writable: {out}"
        );
    } else {
        assert!(!err.is_empty(), "failed without a message");
    }
}

#[test]
fn proc_sys_and_sysrq_trigger_stay_read_only_like_runc() {
    let before = core_pattern();
    let script = format!(
        "printf '%s' '{}' > /proc/sys/kernel/core_pattern 2>/dev/null; echo \"core_pattern: $?\"; \
         echo -n > /proc/sysrq-trigger 2>/dev/null; echo \"sysrq: $?\"; \
         grep -E ' /proc/(sys|sysrq-trigger) ' /proc/self/mountinfo | awk '{{print $5, substr($6,1,2)}}'",
        before.trim_end()
    );
    let outs = run_everywhere(|| probe_bundle(&script), "procsys");
    for (name, code, out) in &outs {
        assert!(
            *code == 0 && out.starts_with("core_pattern: 1\nsysrq: 1\n/proc/sys ro\n"),
            "{name}: {out}"
        );
    }
    // This kernel may lack CONFIG_MAGIC_SYSRQ: /proc/sysrq-trigger then does not exist and
    // runr has nothing to make read-only there.
    if Path::new("/proc/sysrq-trigger").exists() {
        assert!(
            outs[0].2.contains("/proc/sysrq-trigger ro\n"),
            "{}",
            outs[0].2
        );
    } else {
        tests_integration::skip(
            "no /proc/sysrq-trigger (CONFIG_MAGIC_SYSRQ): its check did not run",
        );
    }
    assert_eq!(core_pattern(), before);
}

#[test]
fn masked_path_replaced_by_a_symlink_stays_inside_like_runc() {
    // The image turns a masked path into a symlink; masking may follow it, but only inside the
    // container (the link is resolved in the rootfs), never onto a host file.
    let host_hostname = std::fs::read("/etc/hostname").unwrap_or_default();
    let (code, out) = same_everywhere(
        || {
            let mut b = probe_bundle(
                "cat /secret/file 2>/dev/null; echo \"secret: $?\"; wc -c < /etc/hostname",
            );
            std::fs::create_dir_all(b.rootfs().join("secret")).unwrap();
            std::fs::write(b.rootfs().join("secret/file"), "image secret").unwrap();
            std::os::unix::fs::symlink("/etc/hostname", b.rootfs().join("masked-link")).unwrap();
            std::os::unix::fs::symlink(
                "../../../../../../../../etc/hostname",
                b.rootfs().join("masked-dotdot"),
            )
            .unwrap();
            b.config["linux"]["maskedPaths"] = json!(["/secret", "/masked-link", "/masked-dotdot"]);
            b
        },
        "masklink",
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("secret: 1\n"), "masked dir readable: {out}");
    assert_eq!(
        std::fs::read("/etc/hostname").unwrap_or_default(),
        host_hostname
    );
}

// ---------------------------------------------------------------------------------------------
// CVE-2019-16884 class: /proc must be a real procfs on a real directory

#[test]
fn proc_mount_target_symlink_is_refused_like_runc() {
    for rt in runtimes() {
        let b = probe_bundle("echo ran");
        std::fs::remove_dir(b.rootfs().join("proc")).unwrap();
        std::os::unix::fs::symlink("/tmp", b.rootfs().join("proc")).unwrap();
        let id = unique("procsym");
        let (code, out, err) = rt.run(&b, &id);
        assert_ne!(code, 0, "{}: /proc on a symlink accepted: {out}", rt.name);
        assert!(!out.contains("ran"), "{}", rt.name);
        assert!(!err.is_empty(), "{}", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn something_else_mounted_over_proc_is_refused_like_runc() {
    for rt in runtimes() {
        let mut b = probe_bundle("echo ran");
        b.config["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/proc", "type": "tmpfs", "source": "tmpfs"}));
        let id = unique("fakeproc");
        let (code, out, err) = rt.run(&b, &id);
        assert_ne!(code, 0, "{}: a tmpfs over /proc accepted: {out}", rt.name);
        assert!(err.contains("/proc"), "{}: {err}", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

// ---------------------------------------------------------------------------------------------
// LSMs and the other process security fields

/// `create` must fail, naming `field`, leaving nothing behind.
fn refused(b: &Bundle, field: &str, words: &str) {
    let rt = Runtime::runr();
    let id = unique("lsm");
    let out = rt.create(b, &id, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(field) && err.contains(words), "{err}");
    assert_no_leaks(&rt, &id, b);
}

/// `run` under runr must succeed with `want` in its stdout, leaving nothing behind.
fn applied(b: &Bundle, prefix: &str, want: &str) {
    let rt = Runtime::runr();
    let id = unique(prefix);
    let (code, out, err) = rt.run(b, &id);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(want), "{out}");
    assert_no_leaks(&rt, &id, b);
}

#[test]
fn apparmor_profile_applied_or_clearly_refused() {
    let mut b = probe_bundle("cat /proc/self/attr/current");
    b.config["process"]["apparmorProfile"] = json!("unconfined");
    if runtime_core::lsm::apparmor_enabled() {
        applied(&b, "aa", "unconfined");
    } else {
        refused(&b, "process.apparmorProfile", "AppArmor is not enabled");
        // An exec'd process asking for a profile fails too, naming the field.
        let rt = Runtime::runr();
        let b = probe_bundle("sleep 100");
        let id = unique("aa-exec");
        rt.create_ok(&b, &id, &[]);
        rt.ok(&["start", &id]);
        let mut p = b.config["process"].clone();
        p["args"] = json!(["true"]);
        p["apparmorProfile"] = json!("docker-default");
        let file = b.dir.join("process.json");
        std::fs::write(&file, p.to_string()).unwrap();
        let r = rt.exec(&["exec", "--process", file.to_str().unwrap(), &id]);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(255), "{err}");
        assert!(err.contains("process.apparmorProfile"), "{err}");
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn selinux_labels_applied_or_clearly_refused() {
    let mut b = probe_bundle("cat /proc/self/attr/current");
    b.config["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0");
    if runtime_core::lsm::selinux_enabled() {
        applied(&b, "se", "container_t");
    } else {
        refused(&b, "process.selinuxLabel", "SELinux is not enabled");
        // linux.mountLabel without SELinux is a warning, not a refusal (issue #12 item 18):
        // parity_lifecycle.rs mount_label_without_selinux_is_a_warning.
    }
}

#[test]
fn personality_linux32_makes_uname_say_i686() {
    let rt = Runtime::runr();
    let mut b = probe_bundle("uname -m; cat /proc/self/personality");
    b.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    let id = unique("pers");
    let (code, out, err) = rt.run(&b, &id);
    assert_eq!((code, out.as_str()), (0, "i686\n00000008\n"), "{err}");
    assert_no_leaks(&rt, &id, &b);
    let mut b = probe_bundle("true");
    b.config["linux"]["personality"] = json!({"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]});
    refused(&b, "linux.personality", "not supported");
}

#[test]
fn scheduler_policies_apply() {
    let rt = Runtime::runr();
    for (policy, nice, want) in [("SCHED_IDLE", 0, "5"), ("SCHED_BATCH", 7, "3")] {
        let mut b = probe_bundle(
            "awk '/^policy/ {print $3}' /proc/self/sched; awk '{print $19}' /proc/self/stat",
        );
        b.config["process"]["scheduler"] = json!({"policy": policy, "nice": nice});
        let id = unique("sched");
        let (code, out, err) = rt.run(&b, &id);
        assert_eq!(code, 0, "{policy}: {err}");
        assert_eq!(out, format!("{want}\n{nice}\n"), "{policy}");
        assert_no_leaks(&rt, &id, &b);
    }
    let mut b = probe_bundle("true");
    b.config["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 0});
    refused(&b, "process.scheduler", "1..99");
}

#[test]
fn io_priority_applies() {
    let rt = Runtime::runr();
    for (class, prio, want) in [
        ("IOPRIO_CLASS_IDLE", 0, "idle"),
        ("IOPRIO_CLASS_BE", 6, "best-effort: prio 6"),
    ] {
        let mut b = probe_bundle("ionice -p $$");
        b.config["process"]["ioPriority"] = json!({"class": class, "priority": prio});
        let id = unique("ioprio");
        let (code, out, err) = rt.run(&b, &id);
        assert_eq!(code, 0, "{class}: {err}");
        assert_eq!(out.trim(), want, "{class}");
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn exec_cpu_affinity_initial_and_final() {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    assert!(cpus >= 2, "this test needs two CPUs");
    let rt = Runtime::runr();
    let b = probe_bundle("sleep 100");
    let id = unique("affinity");
    rt.create_ok(&b, &id, &[]);
    rt.ok(&["start", &id]);
    for (affinity, want) in [
        (json!({"final": "0"}), "0"),
        (json!({"initial": "1"}), "1"),
        (json!({"initial": "1", "final": "0-1"}), "0-1"),
    ] {
        let mut p = b.config["process"].clone();
        p["args"] = json!(["grep", "Cpus_allowed_list", "/proc/self/status"]);
        p["execCPUAffinity"] = affinity.clone();
        let file = b.dir.join("process.json");
        std::fs::write(&file, p.to_string()).unwrap();
        let r = rt.exec(&["exec", "--process", file.to_str().unwrap(), &id]);
        assert_eq!(
            String::from_utf8_lossy(&r.stdout),
            format!("Cpus_allowed_list:\t{want}\n"),
            "{affinity}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    // The init itself is not affected (the spec: not applicable to the init).
    let init = std::fs::read_to_string(format!("/proc/{}/status", rt.state(&id)["pid"]))
        .unwrap_or_default();
    assert!(!init.contains("Cpus_allowed_list:\t0\n"), "{init}");
    delete_no_leaks(&rt, &id, &b);
}

#[test]
fn no_new_privileges_shows_in_status_like_runc() {
    for nnp in [true, false] {
        let (code, out) = same_everywhere(
            || {
                let mut b = probe_bundle("grep NoNewPrivs /proc/self/status");
                b.config["process"]["noNewPrivileges"] = json!(nnp);
                b
            },
            "nnp",
        );
        assert_eq!((code, out), (0, format!("NoNewPrivs:\t{}\n", nnp as u8)));
    }
}

#[test]
fn unknown_capability_is_named() {
    // Both runtimes warn with the name and go on without it (runc 1.1's behaviour).
    for rt in runtimes() {
        let mut b = probe_bundle("true");
        b.config["process"]["capabilities"]["bounding"] = json!(["CAP_KILL", "CAP_NOT_A_CAP"]);
        let id = unique("badcap");
        let out = rt.create(&b, &id, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("CAP_NOT_A_CAP"), "{}: {err}", rt.name);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: a warning, not a failure: {err}",
            rt.name
        );
        let _ = rt.exec(&["delete", "--force", &id]);
        assert_no_leaks(&rt, &id, &b);
    }
}

// ---------------------------------------------------------------------------------------------
// Untrusted config.json: the stable-toolchain companion of fuzz/ (cargo fuzz target `config`)

/// xorshift64*: a fixed-seed generator, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that tend to break parsers and validators.
fn nasty(rng: &mut Rng) -> Value {
    let choices = [
        json!(null),
        json!(-1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e308),
        json!(""),
        json!("/"),
        json!("../../../../etc"),
        json!("/proc/../proc"),
        json!("\u{0}"),
        json!("SCMP_ACT_NOTIFY"),
        json!("SCMP_CMP_MASKED_EQ"),
        json!([]),
        json!({}),
        json!(["CAP_SYS_ADMIN", "CAP_NOPE"]),
        json!({"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}),
        json!("x".repeat(5000)),
    ];
    choices[rng.below(choices.len())].clone()
}

/// Replaces, deletes or duplicates one random node of `v`.
fn mutate(v: &mut Value, rng: &mut Rng, depth: u32) {
    match v {
        Value::Object(map) if !map.is_empty() && depth < 8 => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let k = &keys[rng.below(keys.len())];
            match rng.below(5) {
                0 => {
                    map.remove(k);
                }
                1 => {
                    map.insert(k.clone(), nasty(rng));
                }
                _ => mutate(map.get_mut(k).unwrap(), rng, depth + 1),
            }
        }
        Value::Array(items) if !items.is_empty() && depth < 8 => {
            let i = rng.below(items.len());
            match rng.below(5) {
                0 => {
                    items.remove(i);
                }
                1 => {
                    let dup = items[i].clone();
                    items.push(dup);
                }
                _ => mutate(&mut items[i], rng, depth + 1),
            }
        }
        _ => *v = nasty(rng),
    }
}

#[test]
fn config_parsing_and_seccomp_compilation_survive_mutations() {
    let dir = scratch().join(unique("mutfuzz"));
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    let mut seeds = vec![tests_integration::default_config(), docker_config()];
    seeds[0]["linux"]["seccomp"] = actions_profile();
    let seed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut regressions = 0;
    for e in std::fs::read_dir(&seed_dir).into_iter().flatten().flatten() {
        // Inputs that once crashed the fuzz target (kept raw: they may not even be JSON).
        if e.path().extension().is_some_and(|x| x == "md") {
            continue;
        }
        let raw = std::fs::read(e.path()).unwrap();
        let _ = check_config(&dir, &raw);
        regressions += 1;
        if let Ok(v) = serde_json::from_slice::<Value>(&raw) {
            seeds.push(v);
        }
    }
    let mut rng = Rng(0x5EC0_4D1E_0000_0004);
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..3000 {
        let mut v = seeds[round % seeds.len()].clone();
        for _ in 0..=rng.below(4) {
            mutate(&mut v, &mut rng, 0);
        }
        let mut raw = serde_json::to_vec(&v).unwrap();
        if rng.below(10) == 0 && !raw.is_empty() {
            // Sometimes break the JSON itself.
            let at = rng.below(raw.len());
            raw.truncate(at);
        }
        match check_config(&dir, &raw) {
            Ok(()) => accepted += 1,
            Err(msg) => {
                assert!(!msg.is_empty(), "an error without a message");
                refused += 1;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    // Both outcomes must have happened, or the mutations test nothing.
    assert!(
        accepted > 50 && refused > 50,
        "accepted {accepted}, refused {refused}"
    );
    eprintln!("mutations: {accepted} accepted, {refused} refused, {regressions} regressions");
}

/// What runr does with a config before creating anything; Err is the message a user would see.
fn check_config(dir: &Path, raw: &[u8]) -> Result<(), String> {
    let b = runtime_core::Bundle::from_config(dir, raw).map_err(|e| e.to_string())?;
    if let Some(sc) = b.spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        runtime_core::seccomp::compile(sc).map_err(|(f, r)| format!("{f}: {r}"))?;
    }
    Ok(())
}
