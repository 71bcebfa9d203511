//! The `process` object: args, env, cwd, user, umask, capabilities, rlimits, noNewPrivileges,
//! oomScoreAdj and signal dispositions, each read back from inside the container and compared
//! with runc on the same bundle where runc is installed.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests_integration::{assert_no_leaks, runtimes, unique, Bundle, Runtime};

/// Runs `args` with `edit` applied under each runtime: (name, exit code, stdout, stderr).
fn run_all(args: &[&str], edit: impl Fn(&mut Value)) -> Vec<(&'static str, i32, String, String)> {
    runtimes()
        .iter()
        .map(|rt| {
            let id = unique("proc");
            let mut b = Bundle::new(args);
            edit(&mut b.config);
            let (code, out, err) = rt.run(&b, &id);
            assert_no_leaks(rt, &id, &b);
            (rt.name, code, out, err)
        })
        .collect()
}

/// Every runtime succeeded and printed the same; returns runr's stdout.
fn same_ok(args: &[&str], edit: impl Fn(&mut Value)) -> String {
    let outs = run_all(args, edit);
    for (name, code, _, err) in &outs {
        assert_eq!(*code, 0, "{name}: {args:?}: {err}");
    }
    for (name, _, out, _) in &outs[1..] {
        assert_eq!(&outs[0].2, out, "runr and {name} differ for {args:?}");
    }
    outs[0].2.clone()
}

fn status_lines(out: &str, keys: &[&str]) -> Vec<String> {
    out.lines()
        .filter(|l| keys.iter().any(|k| l.starts_with(&format!("{k}:"))))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The credential lines of /proc/self/status (the rest, memory and scheduling counters, differ
/// from run to run).
const STATUS: &[&str] = &[
    "grep",
    "-E",
    "^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs):",
    "/proc/self/status",
];

#[test]
fn args_reach_the_process_verbatim() {
    let out = same_ok(
        &[
            "sh",
            "-c",
            "for a in \"$@\"; do echo \"[$a]\"; done",
            "arg0",
            "two words",
            "",
            "*",
            "$HOME",
        ],
        |_| {},
    );
    assert_eq!(out, "[two words]\n[]\n[*]\n[$HOME]\n");
}

#[test]
fn env_is_exactly_the_specs_plus_home() {
    let out = same_ok(&["env"], |c| {
        c["process"]["env"] = json!(["PATH=/bin", "A=1", "B=x=y", "EMPTY="]);
    });
    assert_eq!(out, "PATH=/bin\nA=1\nB=x=y\nEMPTY=\nHOME=/root\n");

    // HOME from the user's /etc/passwd entry; "/" when it has none.
    let out = same_ok(&["env"], |c| {
        c["process"]["env"] = json!(["PATH=/bin"]);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    assert_eq!(out, "PATH=/bin\nHOME=/home/user\n");
    let out = same_ok(&["env"], |c| {
        c["process"]["env"] = json!(["PATH=/bin"]);
        c["process"]["user"] = json!({"uid": 4321, "gid": 4321});
    });
    assert_eq!(out, "PATH=/bin\nHOME=/\n");

    // A HOME in the spec is kept.
    let out = same_ok(&["env"], |c| {
        c["process"]["env"] = json!(["HOME=/somewhere", "PATH=/bin"]);
    });
    assert_eq!(out, "HOME=/somewhere\nPATH=/bin\n");
}

#[test]
fn env_duplicates_keep_the_first_place_and_the_last_value() {
    // runc sets each entry with os.Setenv: a repeated name keeps its first position and takes
    // the last value; an empty HOME counts as missing.
    let out = same_ok(&["env"], |c| {
        c["process"]["env"] = json!(["HOME=", "PATH=/nowhere", "X=1", "PATH=/usr/bin:/bin", "X=2"]);
    });
    assert_eq!(out, "HOME=/root\nPATH=/usr/bin:/bin\nX=2\n");
}

#[test]
fn env_entries_without_a_name_are_refused() {
    for bad in ["NOEQUALS", "=value"] {
        for (name, code, out, err) in run_all(&["env"], |c| {
            c["process"]["env"] = json!(["PATH=/bin", bad]);
        }) {
            assert_ne!(code, 0, "{name}: env entry {bad:?} accepted: {out}");
            assert!(err.contains("env"), "{name}: {err}");
        }
    }
}

#[test]
fn cwd_is_the_working_directory_and_created_when_missing() {
    let out = same_ok(&["pwd"], |c| c["process"]["cwd"] = json!("/tmp"));
    assert_eq!(out, "/tmp\n");
    // runc creates a missing cwd (inside the rootfs, before it turns read-only).
    let out = same_ok(&["pwd"], |c| c["process"]["cwd"] = json!("/does/not/exist"));
    assert_eq!(out, "/does/not/exist\n");
}

#[test]
fn user_uid_gid_and_additional_gids() {
    let out = same_ok(STATUS, |c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1001, "additionalGids": [5, 10, 2000]});
    });
    assert_eq!(
        status_lines(&out, &["Uid", "Gid", "Groups"]),
        [
            "Uid: 1000 1000 1000 1000",
            "Gid: 1001 1001 1001 1001",
            "Groups: 5 10 2000"
        ]
    );
    // Root with no additionalGids has no supplementary groups (the runtime's are dropped).
    let out = same_ok(STATUS, |_| {});
    assert_eq!(
        status_lines(&out, &["Uid", "Gid", "Groups"]),
        ["Uid: 0 0 0 0", "Gid: 0 0 0 0", "Groups:"]
    );
}

#[test]
fn umask_from_the_spec_and_its_default() {
    let out = same_ok(&["sh", "-c", "umask"], |c| {
        c["process"]["user"]["umask"] = json!(0o077)
    });
    assert_eq!(out, "0077\n");
    let out = same_ok(&["sh", "-c", "umask"], |_| {});
    assert_eq!(out, "0022\n");
    // And files are created with it.
    let out = same_ok(
        &["sh", "-c", "touch /dev/shm/f && stat -c %a /dev/shm/f"],
        |c| c["process"]["user"]["umask"] = json!(0o027),
    );
    assert_eq!(out, "640\n");
}

const CAPS: &[&str] = &["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"];

#[test]
fn default_capabilities_match_runc() {
    let out = same_ok(STATUS, |_| {});
    // AUDIT_WRITE(29), KILL(5), NET_BIND_SERVICE(10); runc's ambient list is dropped because
    // those caps are not inheritable.
    assert_eq!(
        status_lines(&out, CAPS),
        [
            "CapInh: 0000000000000000",
            "CapPrm: 0000000020000420",
            "CapEff: 0000000020000420",
            "CapBnd: 0000000020000420",
            "CapAmb: 0000000000000000"
        ]
    );
}

fn rich_caps(c: &mut Value) {
    c["process"]["capabilities"] = json!({
        "bounding": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL", "CAP_SYS_ADMIN", "CAP_SETUID",
                     "CAP_SETGID", "CAP_SYS_PTRACE", "CAP_NET_ADMIN"],
        "permitted": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL", "CAP_SYS_ADMIN", "CAP_SETUID",
                      "CAP_SETGID"],
        "effective": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"],
        "inheritable": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"],
        "ambient": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_NET_ADMIN", "CAP_SETUID"]
    });
}

#[test]
fn five_capability_sets_with_inheritable_and_ambient_match_runc() {
    let root = same_ok(STATUS, rich_caps);
    assert_eq!(
        status_lines(&root, CAPS),
        [
            "CapInh: 0000000000203021",
            "CapPrm: 00000000002020e1",
            "CapEff: 00000000002020e1",
            "CapBnd: 00000000002830e1",
            "CapAmb: 0000000000002001"
        ],
        "root: ambient = requested ∩ permitted ∩ inheritable (CHOWN, NET_RAW)"
    );
    // A non-root user keeps only the ambient set across exec.
    let user = same_ok(STATUS, |c| {
        rich_caps(c);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["noNewPrivileges"] = json!(false);
    });
    assert_eq!(
        status_lines(&user, CAPS),
        [
            "CapInh: 0000000000203021",
            "CapPrm: 0000000000002001",
            "CapEff: 0000000000002001",
            "CapBnd: 00000000002830e1",
            "CapAmb: 0000000000002001"
        ]
    );
    // The capabilities work: CHOWN as uid 1000 (ambient), on a file it does not own.
    let out = same_ok(
        &["sh", "-c", "chown 1000 /dev/shm && stat -c %u /dev/shm"],
        |c| {
            rich_caps(c);
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        },
    );
    assert_eq!(out, "1000\n");
}

#[test]
fn no_capabilities_field_means_none() {
    let out = same_ok(STATUS, |c| {
        c["process"].as_object_mut().unwrap().remove("capabilities");
    });
    for l in status_lines(&out, CAPS) {
        assert!(l.ends_with(" 0000000000000000"), "{l}");
    }
}

#[test]
fn inheritable_outside_bounding_fails_like_runc() {
    for (name, code, _, err) in run_all(STATUS, |c| {
        c["process"]["capabilities"]["bounding"] = json!(["CAP_KILL"]);
        c["process"]["capabilities"]["inheritable"] = json!(["CAP_NET_ADMIN"]);
    }) {
        assert_ne!(
            code, 0,
            "{name}: inheritable NET_ADMIN outside the bounding set"
        );
        assert!(err.contains("cap"), "{name}: {err}");
    }
}

#[test]
fn rlimits_lower_than_the_hosts_are_applied() {
    let limits = json!([
        {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
        {"type": "RLIMIT_NPROC", "soft": 500, "hard": 1000},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_MSGQUEUE", "soft": 1000, "hard": 2000},
        {"type": "RLIMIT_CPU", "soft": 100, "hard": 200},
        {"type": "RLIMIT_FSIZE", "soft": 1048576, "hard": 2097152}
    ]);
    let out = same_ok(&["cat", "/proc/self/limits"], |c| {
        c["process"]["rlimits"] = limits.clone()
    });
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("Max open files"), "Max open files 100 200 files");
    assert_eq!(row("Max processes"), "Max processes 500 1000 processes");
    assert_eq!(row("Max core file size"), "Max core file size 0 0 bytes");
    assert_eq!(
        row("Max msgqueue size"),
        "Max msgqueue size 1000 2000 bytes"
    );
    assert_eq!(row("Max cpu time"), "Max cpu time 100 200 seconds");
    assert_eq!(row("Max file size"), "Max file size 1048576 2097152 bytes");
    // The limit is real: the shell cannot write past RLIMIT_FSIZE.
    let out = same_ok(
        &[
            "sh",
            "-c",
            "trap '' XFSZ; dd if=/dev/zero of=/dev/shm/big bs=1024 count=2048 2>/dev/null; \
             stat -c %s /dev/shm/big",
        ],
        |c| {
            c["process"]["rlimits"] =
                json!([{"type": "RLIMIT_FSIZE", "soft": 65536, "hard": 65536}])
        },
    );
    assert_eq!(out, "65536\n");
}

#[test]
fn raising_a_hard_rlimit_above_the_hosts_fails() {
    // Without CAP_SYS_RESOURCE the host's hard limit is a ceiling; both runtimes refuse.
    // RLIMIT_NOFILE's hard limit is always a number (at most fs.nr_open).
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let hard: u64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|h| h.parse().ok())
        .expect("numeric hard RLIMIT_NOFILE");
    let above = hard + 1000;
    for (name, code, _, err) in run_all(&["true"], |c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": above}]);
    }) {
        assert_ne!(code, 0, "{name}: hard limit {above} accepted");
        assert!(err.contains("rlimit"), "{name}: {err}");
    }
}

#[test]
fn no_new_privileges_true_and_false() {
    let on = same_ok(STATUS, |c| c["process"]["noNewPrivileges"] = json!(true));
    assert_eq!(status_lines(&on, &["NoNewPrivs"]), ["NoNewPrivs: 1"]);
    let off = same_ok(STATUS, |c| c["process"]["noNewPrivileges"] = json!(false));
    assert_eq!(status_lines(&off, &["NoNewPrivs"]), ["NoNewPrivs: 0"]);
}

#[test]
fn oom_score_adj_can_be_raised() {
    let out = same_ok(&["cat", "/proc/self/oom_score_adj"], |c| {
        c["process"]["oomScoreAdj"] = json!(500)
    });
    assert_eq!(out, "500\n");
    // Absent: inherited from the runtime (0 under the test runner, as runc does).
    let mine = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    let out = same_ok(&["cat", "/proc/self/oom_score_adj"], |_| {});
    assert_eq!(out, mine);
}

#[test]
fn oom_score_adj_below_the_runtimes_fails_without_cap_sys_resource() {
    let mine: i32 = std::fs::read_to_string("/proc/self/oom_score_adj")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let lower = (mine - 500).max(-1000);
    for (name, code, _, err) in run_all(&["true"], |c| c["process"]["oomScoreAdj"] = json!(lower)) {
        assert_ne!(code, 0, "{name}: lowering oom_score_adj to {lower}");
        assert!(err.contains("oom_score_adj"), "{name}: {err}");
    }
}

#[test]
fn non_root_user_cannot_write_root_owned_directories() {
    let script = "touch /root/x; echo root=$?; mkdir /etc/d; echo etc=$?; \
                  touch /home/user/mine; echo home=$?";
    let out = same_ok(&["sh", "-c", script], |c| {
        c["root"]["readonly"] = json!(false);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    // /home/user belongs to host root too (the bundle builder makes it), so it also fails.
    assert_eq!(out, "root=1\netc=1\nhome=1\n");
    let out = same_ok(&["sh", "-c", script], |c| {
        c["root"]["readonly"] = json!(false);
    });
    assert_eq!(out, "root=0\netc=0\nhome=0\n", "root can");
}

#[test]
fn sigpipe_kills_a_writer_to_a_closed_pipe() {
    // `yes` must die of SIGPIPE (status 141) once `head` exits; if SIGPIPE were ignored, as it is
    // in the Rust runtime, it would get EPIPE instead (or spin).
    let script = "(yes; echo $? >/dev/shm/st) | head -1; cat /dev/shm/st";
    for rt in runtimes() {
        let id = unique("sigpipe");
        let b = Bundle::new(&["sh", "-c", script]);
        b.write();
        let start = Instant::now();
        let mut child = rt
            .command(&["run", "--bundle", b.dir.to_str().unwrap(), &id])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(20) {
                let _ = rt.exec(&["kill", &id, "KILL"]);
                panic!("{}: `yes | head -1` did not finish", rt.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {text}", rt.name);
        assert_eq!(text, "y\n141\n", "{}", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn the_process_starts_with_default_signal_actions_and_nothing_blocked() {
    // Read by the container's process itself (a shell would change its own dispositions).
    // Compared per runtime: the real-time bits are whatever each runtime lets through from
    // its caller (runc too keeps some), see the test below.
    for (name, code, out, err) in run_all(
        &["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"],
        |_| {},
    ) {
        assert_eq!(code, 0, "{name}: {err}");
        let mask = |key: &str| {
            let l = out.lines().find(|l| l.starts_with(key)).unwrap();
            u64::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap()
        };
        assert_eq!(mask("SigBlk:"), 0, "{name}: nothing blocked: {out}");
        assert_eq!(
            mask("SigIgn:") & 0x7fff_ffff,
            0,
            "{name}: none ignored: {out}"
        );
    }
}

#[test]
fn realtime_signals_ignored_by_the_caller_are_reset() {
    use std::os::unix::process::CommandExt;
    let rt = Runtime::runr();
    let id = unique("rtsig");
    let b = Bundle::new(&["grep", "SigIgn", "/proc/self/status"]);
    b.write();
    let mut cmd = rt.command(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    // SAFETY: only async-signal-safe calls (signal) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGRTMIN() + 6, libc::SIG_IGN);
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mask = u64::from_str_radix(text.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(mask, 0, "the container ignores no signal: {text}");
    assert_no_leaks(&rt, &id, &b);
}
