//! linux.namespaces: new ones from the clone, absent ones (the host's), and existing ones joined
//! by path, each checked from inside the container and, where runc supports the case, against
//! runc on the same bundle.

use std::path::Path;

use serde_json::{json, Value};
use tests_integration::{assert_no_leaks, runtimes, unique, wait_for, Bundle, Runtime};

/// Runs `script` under runr (and runc when installed) with `edit` applied to the config;
/// asserts success and returns each runtime's stdout, runr's first.
fn run_both(script: &str, edit: impl Fn(&mut Value)) -> Vec<(&'static str, String)> {
    let mut outs = Vec::new();
    for rt in runtimes() {
        let id = unique("ns");
        let mut b = Bundle::shell(script);
        edit(&mut b.config);
        let (code, out, err) = rt.run(&b, &id);
        assert_eq!(code, 0, "{}: {script}: {err}", rt.name);
        assert_no_leaks(&rt, &id, &b);
        outs.push((rt.name, out));
    }
    outs
}

/// `out`'s lines with each run of whitespace squeezed to one space.
fn squeezed_lines(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Every runtime printed the same thing; returns runr's output.
fn same_everywhere(outs: Vec<(&'static str, String)>) -> String {
    let (_, first) = &outs[0];
    for (name, out) in &outs[1..] {
        assert_eq!(first, out, "runr and {name} differ");
    }
    first.clone()
}

fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn ns_of(pid: i64, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn remove_ns(config: &mut Value, kind: &str) {
    config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != kind);
}

fn add_ns(config: &mut Value, ns: Value) {
    config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(ns);
}

/// Creates and starts a container running `sleep`; returns its host pid.
fn start_sleeper(rt: &Runtime, b: &Bundle, id: &str) -> i64 {
    rt.create_ok(b, id, &[]);
    rt.ok(&["start", id]);
    assert!(wait_for(30, || rt.state(id)["status"] == "running"));
    rt.state(id)["pid"].as_i64().unwrap()
}

fn stop(rt: &Runtime, id: &str, b: &Bundle) {
    rt.ok(&["kill", id, "KILL"]);
    assert!(wait_for(30, || rt.state(id)["status"] == "stopped"));
    rt.ok(&["delete", id]);
    assert_no_leaks(rt, id, b);
}

#[test]
fn new_pid_namespace_shows_only_the_container() {
    // Pids other than 1 legitimately differ (runc's setup forks inside the namespace).
    let out = same_everywhere(run_both(
        "echo $$; ps -o pid,comm >/dev/shm/ps; \
         awk 'NR > 1 { print ($1 == 1 ? \"init\" : \"other\"), $2 }' /dev/shm/ps",
        |_| {},
    ));
    assert_eq!(
        out, "1\ninit sh\nother ps\n",
        "the shell is pid 1 and ps sees only the container"
    );
}

#[test]
fn new_net_namespace_has_only_loopback() {
    let out = same_everywhere(run_both(
        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
        |_| {},
    ));
    assert_eq!(out, "lo\n");
}

#[test]
fn new_namespaces_differ_from_the_hosts() {
    let script =
        "for n in ipc mnt net pid uts cgroup user time; do readlink /proc/self/ns/$n; done";
    for (name, out) in run_both(script, |_| {}) {
        let seen: Vec<&str> = out.lines().collect();
        assert_eq!(seen.len(), 8, "{name}: {out}");
        for (i, kind) in ["ipc", "mnt", "net", "pid", "uts"].iter().enumerate() {
            assert!(seen[i].starts_with(&format!("{kind}:[")), "{name}: {out}");
            assert_ne!(seen[i], host_ns(kind), "{name}: new {kind} namespace");
        }
        // Not in runc's default list: the container stays in the host's.
        for (i, kind) in ["cgroup", "user", "time"].iter().enumerate() {
            assert_eq!(seen[5 + i], host_ns(kind), "{name}: host {kind} namespace");
        }
    }
}

#[test]
fn uts_namespace_sets_hostname_and_domainname() {
    let out = same_everywhere(run_both("hostname; cat /proc/sys/kernel/hostname", |c| {
        c["hostname"] = json!("box-one")
    }));
    assert_eq!(out, "box-one\nbox-one\n");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_ne!(host.trim(), "box-one", "the host's hostname is untouched");

    // domainname is runtime-spec 1.1 (runc 1.1.5 ignores it): runr only.
    let rt = Runtime::runr();
    let id = unique("domain");
    let mut b = Bundle::shell("cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname");
    b.config["hostname"] = json!("box-two");
    b.config["domainname"] = json!("example.test");
    let (code, out, err) = rt.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "box-two\nexample.test\n");
    assert_no_leaks(&rt, &id, &b);
    let host = std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
    assert_ne!(
        host.trim(),
        "example.test",
        "the host's domainname is untouched"
    );
}

#[test]
fn ipc_namespace_hides_host_sysv_objects() {
    // A SysV message queue made on the host is invisible in a new ipc namespace.
    let key = 0x5255_0000 + (std::process::id() & 0xffff) as i32;
    // SAFETY: plain syscall wrapper with integer arguments.
    let qid = unsafe { libc::msgget(key, libc::IPC_CREAT | 0o600) };
    assert!(qid >= 0, "msgget on the host");
    let outs = run_both("cat /proc/sysvipc/msg | tail -n +2 | wc -l", |_| {});
    let host_count = std::fs::read_to_string("/proc/sysvipc/msg")
        .unwrap()
        .lines()
        .count()
        - 1;
    // SAFETY: IPC_RMID takes no buffer; a null pointer is allowed.
    unsafe { libc::msgctl(qid, libc::IPC_RMID, std::ptr::null_mut()) };
    assert!(host_count >= 1);
    for (name, out) in outs {
        assert_eq!(out.trim(), "0", "{name}: no host queues inside");
    }
}

#[test]
fn mount_namespace_keeps_container_mounts_private() {
    let marker = unique("mnt-marker");
    let script = format!("mount -t tmpfs {marker} /tmp && grep -c {marker} /proc/self/mountinfo");
    let out = same_everywhere(run_both(&script, |c| {
        let caps = json!(["CAP_SYS_ADMIN"]);
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = caps.clone();
        }
    }));
    assert_eq!(out, "1\n");
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !host.contains(&marker),
        "a container mount leaked to the host"
    );
}

#[test]
fn cgroup_namespace_roots_every_hierarchy_at_the_container() {
    let outs = run_both("cat /proc/self/cgroup", |c| {
        add_ns(c, json!({"type": "cgroup"}))
    });
    for (name, out) in &outs {
        assert!(!out.is_empty(), "{name}");
        for line in out.lines() {
            assert!(line.ends_with(":/"), "{name}: {line} in {out}");
        }
    }
    same_everywhere(outs);

    // Without one, the container sees its cgroupsPath.
    let b = Bundle::shell("cat /proc/self/cgroup");
    let cg = b.cgroup_path();
    let rt = Runtime::runr();
    let id = unique("nocgns");
    let (code, out, err) = rt.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    let memory = out.lines().find(|l| l.contains(":memory:")).unwrap();
    assert!(memory.ends_with(&cg), "{memory} shows {cg}");
}

/// Gives the container's root (host uid 100000) the rootfs, except the busybox binary, which
/// is a hard link to the host's and must keep its owner (it is world-executable anyway).
fn chown_rootfs(root: &Path, uid: u32) {
    fn walk(p: &Path, uid: u32) {
        std::os::unix::fs::lchown(p, Some(uid), Some(uid)).unwrap();
        if p.is_dir() && !p.is_symlink() {
            for e in std::fs::read_dir(p).unwrap().flatten() {
                if e.file_name() != "busybox" {
                    walk(&e.path(), uid);
                }
            }
        }
    }
    walk(root, uid);
}

fn userns_config(c: &mut Value) {
    add_ns(c, json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["root"]["readonly"] = json!(false);
}

#[test]
fn user_namespace_maps_ids_and_file_owners() {
    let script = "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; \
                  stat -c '%u:%g' / /etc/passwd /bin/busybox; touch /tmp/made-inside; \
                  readlink /proc/self/ns/user";
    let runtimes = runtimes();
    let mut outs = Vec::new();
    for rt in &runtimes {
        let id = unique("userns");
        let mut b = Bundle::shell(script);
        userns_config(&mut b.config);
        chown_rootfs(&b.rootfs(), 100000);
        let (code, out, err) = rt.run(&b, &id);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        let made = std::fs::symlink_metadata(b.rootfs().join("tmp/made-inside")).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            (made.uid(), made.gid()),
            (100000, 100000),
            "{}: container root is host 100000",
            rt.name
        );
        assert_no_leaks(rt, &id, &b);
        let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
        let userns = lines.pop().unwrap();
        assert_ne!(userns, host_ns("user"), "{}: a new user namespace", rt.name);
        outs.push((rt.name, lines.join("\n")));
    }
    let out = same_everywhere(outs);
    let norm = squeezed_lines(&out);
    assert_eq!(
        norm,
        [
            "0 100000 65536",
            "0 100000 65536",
            "0",
            "0",
            "0:0",
            "0:0",
            "65534:65534",
        ],
        "maps, ids, and owners (the host-root busybox shows as the overflow id)"
    );
}

#[test]
fn user_namespace_with_several_mappings_and_a_non_root_user() {
    let out = same_everywhere(run_both(
        "cat /proc/self/uid_map /proc/self/gid_map; grep -E '^(Uid|Gid|Groups)' /proc/self/status",
        |c| {
            add_ns(c, json!({"type": "user"}));
            c["linux"]["uidMappings"] = json!([
                {"containerID": 0, "hostID": 200000, "size": 1000},
                {"containerID": 1000, "hostID": 300000, "size": 10}
            ]);
            c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 2000}]);
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 1500]});
        },
    ));
    let norm = squeezed_lines(&out);
    assert_eq!(
        norm,
        [
            "0 200000 1000",
            "1000 300000 10",
            "0 200000 2000",
            "Uid: 1000 1000 1000 1000",
            "Gid: 1000 1000 1000 1000",
            "Groups: 5 1500",
        ]
    );
}

#[test]
fn time_namespace_applies_offsets() {
    // runc 1.1.5 does not know time namespaces ("namespace time does not exist"): runr only.
    let rt = Runtime::runr();
    let id = unique("timens");
    let mut b = Bundle::shell(
        "cat /proc/self/timens_offsets; cut -d' ' -f1 /proc/uptime; readlink /proc/self/ns/time",
    );
    add_ns(&mut b.config, json!({"type": "time"}));
    b.config["linux"]["timeOffsets"] = json!({
        "boottime": {"secs": 86400, "nanosecs": 0},
        "monotonic": {"secs": 3600, "nanosecs": 500}
    });
    let (code, out, err) = rt.run(&b, &id);
    let host_uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(code, 0, "{err}");
    assert_no_leaks(&rt, &id, &b);
    let lines = squeezed_lines(&out);
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines.contains(&"monotonic 3600 500".to_string()), "{out}");
    assert!(lines.contains(&"boottime 86400 0".to_string()), "{out}");
    let inside: f64 = lines[2].parse().unwrap();
    let delta = inside - host_uptime;
    assert!(
        (86390.0..86410.0).contains(&delta),
        "uptime inside {inside} vs host {host_uptime}"
    );
    assert_ne!(lines[3], host_ns("time"));
}

#[test]
fn time_namespace_without_offsets_is_new_but_unshifted() {
    let rt = Runtime::runr();
    let id = unique("timens0");
    let mut b = Bundle::shell("cat /proc/self/timens_offsets; readlink /proc/self/ns/time");
    add_ns(&mut b.config, json!({"type": "time"}));
    let (code, out, err) = rt.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    let lines = squeezed_lines(&out);
    assert!(lines.contains(&"monotonic 0 0".to_string()), "{out}");
    assert!(lines.contains(&"boottime 0 0".to_string()), "{out}");
    assert_ne!(lines[2], host_ns("time"));
}

#[test]
fn absent_uts_and_net_namespaces_are_the_hosts() {
    let out = same_everywhere(run_both(
        "hostname; readlink /proc/self/ns/uts; readlink /proc/self/ns/net; \
         tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort",
        |c| {
            remove_ns(c, "uts");
            remove_ns(c, "network");
            c.as_object_mut().unwrap().remove("hostname");
        },
    ));
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let mut host_ifaces: Vec<String> = std::fs::read_to_string("/proc/net/dev")
        .unwrap()
        .lines()
        .skip(2)
        .map(|l| l.split(':').next().unwrap().trim().to_string())
        .collect();
    host_ifaces.sort();
    let mut expected = vec![host_name.trim().to_string(), host_ns("uts"), host_ns("net")];
    expected.extend(host_ifaces);
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got, expected);
}

#[test]
fn hostname_without_uts_namespace_is_refused() {
    // runc refuses to set a hostname on the host's UTS namespace; so must runr, at create.
    let runtimes = runtimes();
    let before = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    for rt in &runtimes {
        let id = unique("nouts");
        let mut b = Bundle::shell("true");
        remove_ns(&mut b.config, "uts");
        b.config["hostname"] = json!("must-not-be-set");
        let (code, _, err) = rt.run(&b, &id);
        assert_ne!(code, 0, "{}: hostname without a uts namespace", rt.name);
        assert!(
            err.contains("hostname") || err.contains("UTS"),
            "{}: {err}",
            rt.name
        );
        assert_no_leaks(rt, &id, &b);
    }
    let after = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(before, after, "the host's hostname is untouched");
}

#[test]
fn joins_another_containers_net_uts_ipc_namespaces_by_path() {
    for rt in &runtimes() {
        let a_id = unique("join-a");
        let mut a = Bundle::new(&["sleep", "100"]);
        a.config["hostname"] = json!("container-a");
        let a_pid = start_sleeper(rt, &a, &a_id);

        let b_id = unique("join-b");
        let mut b = Bundle::shell(
            "hostname; for n in net uts ipc mnt pid; do readlink /proc/self/ns/$n; done",
        );
        b.config["linux"]["namespaces"] = json!([
            {"type": "pid"},
            {"type": "network", "path": format!("/proc/{a_pid}/ns/net")},
            {"type": "ipc", "path": format!("/proc/{a_pid}/ns/ipc")},
            {"type": "uts", "path": format!("/proc/{a_pid}/ns/uts")},
            {"type": "mount"}
        ]);
        b.config.as_object_mut().unwrap().remove("hostname");
        let (code, out, err) = rt.run(&b, &b_id);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "container-a".to_string(),
                ns_of(a_pid, "net"),
                ns_of(a_pid, "uts"),
                ns_of(a_pid, "ipc"),
            ]
            .iter()
            .map(String::as_str)
            .chain(lines[4..].iter().copied())
            .collect::<Vec<_>>(),
            "{}: B is in A's net, uts and ipc namespaces",
            rt.name
        );
        assert_ne!(lines[4], ns_of(a_pid, "mnt"), "{}: own mount ns", rt.name);
        assert_ne!(lines[5], ns_of(a_pid, "pid"), "{}: own pid ns", rt.name);
        assert_no_leaks(rt, &b_id, &b);
        stop(rt, &a_id, &a);
    }
}

#[test]
fn joins_another_containers_pid_namespace() {
    for rt in &runtimes() {
        let a_id = unique("pidjoin-a");
        let a = Bundle::new(&["sleep", "4242"]);
        let a_pid = start_sleeper(rt, &a, &a_id);

        let b_id = unique("pidjoin-b");
        let mut b = Bundle::shell("ps -o pid,args; readlink /proc/self/ns/pid; echo $$");
        b.config["linux"]["namespaces"] = json!([
            {"type": "pid", "path": format!("/proc/{a_pid}/ns/pid")},
            {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
        ]);
        let (code, out, err) = rt.run(&b, &b_id);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep", "4242"]),
            "{}: B sees A's sleep as pid 1: {out}",
            rt.name
        );
        let lines: Vec<&str> = out.lines().collect();
        let n = lines.len();
        assert_eq!(lines[n - 2], ns_of(a_pid, "pid"), "{}", rt.name);
        assert_ne!(
            lines[n - 1],
            "1",
            "{}: B is not the namespace's init",
            rt.name
        );
        assert_no_leaks(rt, &b_id, &b);
        // A is untouched by B's exit.
        assert_eq!(rt.state(&a_id)["status"], "running", "{}", rt.name);
        stop(rt, &a_id, &a);
    }
}

/// A `true` bundle with new pid and mount namespaces that joins the network namespace at `path`.
fn joining_network_at(path: &str) -> Bundle {
    let mut b = Bundle::shell("true");
    b.config["linux"]["namespaces"] = json!([
        {"type": "pid"},
        {"type": "network", "path": path},
        {"type": "mount"}
    ]);
    b
}

#[test]
fn joining_a_missing_namespace_path_fails_at_create() {
    let rt = Runtime::runr();
    let id = unique("badns");
    let b = joining_network_at("/proc/999999999/ns/net");
    let (code, _, err) = rt.run(&b, &id);
    assert_ne!(code, 0);
    assert!(
        err.contains("/proc/999999999/ns/net"),
        "names the path: {err}"
    );
    assert_no_leaks(&rt, &id, &b);
}

#[test]
fn joining_a_namespace_of_the_wrong_type_fails() {
    for rt in &runtimes() {
        let id = unique("wrongns");
        let b = joining_network_at("/proc/self/ns/uts");
        let (code, _, err) = rt.run(&b, &id);
        assert_ne!(code, 0, "{}: a uts ns given as network", rt.name);
        assert!(!err.is_empty(), "{}", rt.name);
        assert_no_leaks(rt, &id, &b);
    }
}

#[test]
fn user_namespace_with_cgroup_namespace_and_oom_score_adj() {
    // oom_score_adj and the cgroup namespace must be set up before the init becomes the user
    // namespace's root (its /proc/self then belongs to the host's root).
    let out = same_everywhere(run_both(
        "cat /proc/self/oom_score_adj; cut -d: -f3 /proc/self/cgroup | sort -u; id -u",
        |c| {
            userns_config(c);
            c["root"]["readonly"] = json!(true);
            add_ns(c, json!({"type": "cgroup"}));
            c["process"]["oomScoreAdj"] = json!(200);
        },
    ));
    assert_eq!(out, "200\n/\n0\n");
}

#[test]
fn time_namespace_inside_a_user_namespace() {
    // runc 1.1.5 has no time namespaces: runr only.
    let rt = Runtime::runr();
    let id = unique("timeuser");
    let mut b = Bundle::shell("cat /proc/self/timens_offsets; id -u");
    userns_config(&mut b.config);
    add_ns(&mut b.config, json!({"type": "time"}));
    b.config["linux"]["timeOffsets"] = json!({"boottime": {"secs": 1000, "nanosecs": 0}});
    let (code, out, err) = rt.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    let lines = squeezed_lines(&out);
    assert!(lines.contains(&"boottime 1000 0".to_string()), "{out}");
    assert_eq!(lines.last().map(String::as_str), Some("0"));
    assert_no_leaks(&rt, &id, &b);
}

/// Starts A (a sleeper in a user namespace) and runs B joining A's user namespace, plus A's pid
/// namespace when `join_pid` (else a new one); returns B's (code, stdout, stderr) and A's user
/// and pid namespaces.
fn run_in_joined_userns(rt: &Runtime, join_pid: bool) -> (i32, String, String, [String; 2]) {
    let a_id = unique("userjoin-a");
    let mut a = Bundle::new(&["sleep", "100"]);
    userns_config(&mut a.config);
    chown_rootfs(&a.rootfs(), 100000);
    let a_pid = start_sleeper(rt, &a, &a_id);

    let b_id = unique("userjoin-b");
    let mut b = Bundle::shell(
        "cat /proc/self/uid_map; id -u; hostname; \
         for n in user pid net mnt uts; do readlink /proc/self/ns/$n; done",
    );
    let pid = if join_pid {
        json!({"type": "pid", "path": format!("/proc/{a_pid}/ns/pid")})
    } else {
        json!({"type": "pid"})
    };
    b.config["linux"]["namespaces"] = json!([
        pid, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
        {"type": "user", "path": format!("/proc/{a_pid}/ns/user")}
    ]);
    b.config["hostname"] = json!("container-b");
    // runc wants the maps of a joined user namespace given too.
    b.config["linux"]["uidMappings"] = a.config["linux"]["uidMappings"].clone();
    b.config["linux"]["gidMappings"] = a.config["linux"]["gidMappings"].clone();
    chown_rootfs(&b.rootfs(), 100000);
    let (code, out, err) = rt.run(&b, &b_id);
    assert_no_leaks(rt, &b_id, &b);
    let a_ns = [ns_of(a_pid, "user"), ns_of(a_pid, "pid")];
    stop(rt, &a_id, &a);
    (code, out, err, a_ns)
}

fn check_joined_userns(rt: &Runtime, join_pid: bool) {
    let (code, out, err, [a_user, a_pid_ns]) = run_in_joined_userns(rt, join_pid);
    assert_eq!(code, 0, "{}: {err}", rt.name);
    let lines = squeezed_lines(&out);
    assert_eq!(lines.len(), 8, "{}: {out}", rt.name);
    assert_eq!(
        lines[..3],
        ["0 100000 65536", "0", "container-b"],
        "{}",
        rt.name
    );
    assert_eq!(lines[3], a_user, "{}: A's user ns", rt.name);
    assert_eq!(
        lines[4] == a_pid_ns,
        join_pid,
        "{}: pid ns joined or new",
        rt.name
    );
    for (i, kind) in ["net", "mnt", "uts"].iter().enumerate() {
        assert_ne!(lines[5 + i], host_ns(kind), "{}: new {kind} ns", rt.name);
    }
}

#[test]
fn joins_another_containers_user_and_pid_namespaces_with_new_others() {
    // The new mount/uts/net/ipc namespaces must belong to the joined user namespace, or its
    // root could neither mount nor set the hostname.
    for rt in &runtimes() {
        check_joined_userns(rt, true);
    }
}

#[test]
fn joins_another_containers_user_namespace_with_a_new_pid_namespace() {
    for rt in &runtimes() {
        check_joined_userns(rt, false);
    }
}
