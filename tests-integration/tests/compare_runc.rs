//! runr against runc, table-driven: one checker script prints many facts about the process it
//! runs as (credentials, capabilities, limits, hostname, namespaces relative to the host's,
//! environment, cwd, umask, cgroup, id maps) and runr's output must equal runc's for each
//! config. Only what legitimately differs between two runs is normalized: namespace inode
//! numbers become "host" or "new", and the bundle's own cgroup path becomes "<cgroup>".

use serde_json::{json, Value};
use tests_integration::{assert_no_leaks, unique, Bundle, Runtime};

const CHECKER: &str = r#"
echo "pid $$"
grep -E '^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Umask):' /proc/self/status
cat /proc/self/limits
echo "hostname $(hostname)"
for n in cgroup ipc mnt net pid time user uts; do echo "ns $n $(readlink /proc/self/ns/$n)"; done
echo "environ:"; tr '\0' '\n' </proc/$$/environ
echo "cwd $(pwd)"
echo "umask $(umask)"
echo "oom_score_adj $(cat /proc/self/oom_score_adj)"
echo "uid_map:"; cat /proc/self/uid_map
echo "gid_map:"; cat /proc/self/gid_map
echo "id $(id)"
echo "cgroup:"; cat /proc/self/cgroup
echo "sysctl $(cat /proc/sys/net/ipv4/ip_forward)"
echo "write-root $(touch /root/.w 2>/dev/null && echo yes || echo no)"
"#;

fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn normalize(out: &str, cgroup: &str) -> String {
    out.lines()
        .map(|l| {
            let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
            if let Some(rest) = l.strip_prefix("ns ") {
                let (kind, link) = rest.split_once(' ').unwrap_or((rest, ""));
                let rel = if link == host_ns(kind) { "host" } else { "new" };
                return format!("ns {kind} {rel}");
            }
            l.replace(cgroup, "<cgroup>")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn remove_ns(c: &mut Value, kind: &str) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != kind);
}

fn add_ns(c: &mut Value, kind: &str) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": kind}));
}

fn user_namespace(c: &mut Value) {
    add_ns(c, "user");
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
}

/// A config of the table: its name, the edit to runc's default spec, and whether the rootfs
/// must belong to the user namespace's root.
struct Case {
    name: &'static str,
    edit: fn(&mut Value),
    userns_owner: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "default",
        edit: |_| {},
        userns_owner: false,
    },
    Case {
        name: "non-root user with additionalGids, umask and cwd",
        edit: |c| {
            c["process"]["user"] =
                json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 10, 1000], "umask": 63});
            c["process"]["cwd"] = json!("/home/user");
            c["root"]["readonly"] = json!(false);
        },
        userns_owner: false,
    },
    Case {
        name: "unknown uid (no passwd entry)",
        edit: |c| c["process"]["user"] = json!({"uid": 4242, "gid": 4242}),
        userns_owner: false,
    },
    Case {
        name: "user namespace",
        edit: |c| {
            user_namespace(c);
            c["root"]["readonly"] = json!(false);
        },
        userns_owner: true,
    },
    Case {
        name: "user namespace, non-root user",
        edit: |c| {
            user_namespace(c);
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [5]});
        },
        userns_owner: true,
    },
    Case {
        name: "user namespace with cgroup namespace and oomScoreAdj",
        edit: |c| {
            user_namespace(c);
            add_ns(c, "cgroup");
            c["process"]["oomScoreAdj"] = json!(100);
        },
        userns_owner: true,
    },
    Case {
        name: "inheritable and ambient capabilities, non-root, no nnp",
        edit: |c| {
            c["process"]["capabilities"] = json!({
                "bounding": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL", "CAP_SYS_ADMIN",
                             "CAP_SETUID", "CAP_SETGID", "CAP_DAC_OVERRIDE"],
                "permitted": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL", "CAP_SETUID",
                              "CAP_DAC_OVERRIDE"],
                "effective": ["CAP_CHOWN", "CAP_KILL"],
                "inheritable": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_ADMIN",
                                "CAP_DAC_OVERRIDE"],
                "ambient": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"]
            });
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            c["process"]["noNewPrivileges"] = json!(false);
            c["root"]["readonly"] = json!(false);
        },
        userns_owner: false,
    },
    Case {
        name: "all capabilities the host has, root",
        edit: |c| {
            let all = json!([
                "CAP_CHOWN",
                "CAP_DAC_OVERRIDE",
                "CAP_FOWNER",
                "CAP_FSETID",
                "CAP_KILL",
                "CAP_SETGID",
                "CAP_SETUID",
                "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE",
                "CAP_NET_RAW",
                "CAP_SYS_CHROOT",
                "CAP_MKNOD",
                "CAP_AUDIT_WRITE",
                "CAP_SETFCAP",
                "CAP_SYS_ADMIN",
                "CAP_NET_ADMIN",
                "CAP_SYS_PTRACE",
                "CAP_BPF",
                "CAP_PERFMON",
                "CAP_CHECKPOINT_RESTORE"
            ]);
            for set in [
                "bounding",
                "effective",
                "permitted",
                "inheritable",
                "ambient",
            ] {
                c["process"]["capabilities"][set] = all.clone();
            }
        },
        userns_owner: false,
    },
    Case {
        name: "rlimits, oomScoreAdj, hostname, sysctl",
        edit: |c| {
            c["process"]["rlimits"] = json!([
                {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768},
                {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
                {"type": "RLIMIT_CORE", "soft": 1024, "hard": 4096},
                {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608}
            ]);
            c["process"]["oomScoreAdj"] = json!(321);
            c["hostname"] = json!("compared");
            c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        },
        userns_owner: false,
    },
    Case {
        name: "host uts, net and ipc namespaces",
        edit: |c| {
            for kind in ["uts", "network", "ipc"] {
                remove_ns(c, kind);
            }
            c.as_object_mut().unwrap().remove("hostname");
        },
        userns_owner: false,
    },
    Case {
        name: "cgroup namespace",
        edit: |c| add_ns(c, "cgroup"),
        userns_owner: false,
    },
    Case {
        name: "env with duplicates and an empty HOME",
        edit: |c| {
            c["process"]["env"] = json!([
                "HOME=",
                "PATH=/x",
                "A=1",
                "PATH=/usr/bin:/bin",
                "A=",
                "B=a=b"
            ]);
        },
        userns_owner: false,
    },
];

/// Gives host uid 100000 the rootfs, except the busybox binary, which is a hard link to the
/// host's own (world-executable either way).
fn chown_rootfs(p: &std::path::Path) {
    std::os::unix::fs::lchown(p, Some(100000), Some(100000)).unwrap();
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            if e.file_name() != "busybox" {
                chown_rootfs(&e.path());
            }
        }
    }
}

fn facts(rt: &Runtime, case: &Case) -> Result<String, String> {
    let id = unique("cmp");
    let mut b = Bundle::shell("sh /check.sh");
    (case.edit)(&mut b.config);
    std::fs::write(b.rootfs().join("check.sh"), CHECKER).unwrap();
    if case.userns_owner {
        chown_rootfs(&b.rootfs());
    }
    let (code, out, err) = rt.run(&b, &id);
    assert_no_leaks(rt, &id, &b);
    if code != 0 {
        return Err(format!("{} exited {code}: {err}", rt.name));
    }
    Ok(normalize(&out, &b.cgroup_path()))
}

#[test]
fn runr_and_runc_see_the_same_facts() {
    let runr = Runtime::runr();
    let runc = Runtime::runc();
    let mut failures = Vec::new();
    for case in CASES {
        let mine = facts(&runr, case);
        let Some(runc) = &runc else {
            // Without the reference, runr must still run every config.
            if let Err(e) = mine {
                failures.push(format!("[{}] {e}", case.name));
            }
            continue;
        };
        match (mine, facts(runc, case)) {
            (Ok(a), Ok(b)) if a == b => {}
            (Ok(a), Ok(b)) => {
                let diff: Vec<String> = a
                    .lines()
                    .zip(b.lines().chain(std::iter::repeat("<missing>")))
                    .filter(|(x, y)| x != y)
                    .map(|(x, y)| format!("    runr: {x}\n    runc: {y}"))
                    .chain(
                        b.lines()
                            .skip(a.lines().count())
                            .map(|y| format!("    runc only: {y}")),
                    )
                    .collect();
                failures.push(format!("[{}]\n{}", case.name, diff.join("\n")));
            }
            (a, b) => failures.push(format!("[{}] runr: {a:?}\n runc: {b:?}", case.name)),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_checker_prints_every_fact() {
    // Guards the comparison against both runtimes printing nothing useful.
    let out = facts(&Runtime::runr(), &CASES[0]).unwrap();
    for key in [
        "pid 1",
        "Uid:",
        "CapBnd:",
        "NoNewPrivs:",
        "Max open files",
        "hostname runr-test",
        "ns net new",
        "ns user host",
        "environ:",
        "cwd /",
        "umask 0022",
        "uid_map:",
        "cgroup:",
        "write-root no",
    ] {
        assert!(out.contains(key), "{key} missing from:\n{out}");
    }
}
