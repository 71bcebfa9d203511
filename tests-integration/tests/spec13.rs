//! Issue #17: what runc 1.2–1.5 and runtime-spec 1.2/1.3 added, and callers now rely on.
//! Idmapped bind mounts (`idmap`, `ridmap`, a mount's own `uidMappings`/`gidMappings`), relative
//! mount destinations, `tmpcopyup`, `features`, and the 1.3 fields runr refuses by name.
//!
//! Each scenario also runs under the installed runc (1.1.5), which predates most of them: the
//! test prints what runc did and says where its version differs from today's runc.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::{json, Value};
use tests_integration::{
    assert_no_leaks, receive_fd_with_payload, runtimes, unique, Bundle, Runtime,
};

/// Runs `b` in the foreground under `rt` (unique id): (exit code, stdout, stderr), after
/// checking that nothing of it is left on the host.
fn run(rt: &Runtime, b: &Bundle, what: &str) -> (i32, String, String) {
    let id = unique(what);
    b.write();
    let out = rt.exec(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert_no_leaks(rt, &id, b);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Gives the container a new user namespace mapping its root to host uid 100000 (gid 200000).
fn with_userns(c: &mut Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
}

/// A host directory owned by the host's root (0:0) with a file `f` in it, mounted at `/data`
/// with `options` (plus the mount's own `extra` fields).
fn root_owned_source(b: &mut Bundle, options: Value, extra: Value) -> std::path::PathBuf {
    let src = b.dir.join("root-owned");
    // The mount points exist in the image (a user-namespaced root may not create them).
    for d in ["data", "plain"] {
        std::fs::create_dir_all(b.rootfs().join(d)).unwrap();
    }
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("f"), "data\n").unwrap();
    std::fs::write(src.join("sub/g"), "data\n").unwrap();
    let meta = std::fs::metadata(src.join("f")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    let mut m = json!({"destination": "/data", "type": "bind",
                       "source": src.to_str().unwrap(), "options": options});
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    b.config["mounts"].as_array_mut().unwrap().push(m);
    src
}

/// The runtime is a runc 1.1 (which predates runtime-spec 1.2 and runc 1.2's additions).
fn runc_1_1(rt: &Runtime) -> bool {
    rt.version() == (1, 1)
}

// ---------------------------------------------------------------------------------------------
// Idmapped mounts

#[test]
fn idmap_mount_shows_host_root_files_as_the_containers_root() {
    // The host's root owns the files; the container's root is host uid 100000. Through an
    // idmap mount (the container's own mappings) they belong to the container's root; through
    // a plain bind they are unmapped (the overflow id 65534).
    let script = "stat -c '%u:%g' /data/f /data/sub/g /plain/f; \
                  touch /data/new && stat -c 'new %u:%g' /data/new";
    for rt in runtimes() {
        let mut b = Bundle::shell(script);
        with_userns(&mut b.config);
        let src = root_owned_source(&mut b, json!(["rbind", "idmap"]), json!({}));
        b.config["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/plain", "type": "bind", "source": src.to_str().unwrap(),
            "options": ["rbind"]}));
        let (code, out, err) = run(&rt, &b, "idmap");
        if rt.name == "runr" {
            assert_eq!(code, 0, "{err}");
            assert_eq!(out, "0:0\n0:0\n65534:65534\nnew 0:0\n", "{err}");
            // A file the container's root made is the host's root's on disk (mapped back).
            let made = std::fs::metadata(src.join("new")).unwrap();
            assert_eq!((made.uid(), made.gid()), (0, 0));
        } else {
            // runc 1.2+ does the same; 1.1.5 has no idmapped mounts: it passes the option on as
            // filesystem data, which a bind ignores, so the files stay unmapped.
            eprintln!(
                "{}: exit {code}, {out:?} {err:?} (runc 1.1.5 predates idmap)",
                rt.name
            );
            if runc_1_1(&rt) {
                assert!(out.starts_with("65534:65534\n65534:65534\n"), "{out}");
            }
        }
    }
}

#[test]
fn a_mounts_own_mappings_idmap_it_without_a_container_user_namespace() {
    // No user namespace in the container: the mount's mapping 0 -> 1000 (size 1) shows the
    // host's root's files as uid/gid 1000, and a uid outside the mapping cannot create files.
    let script = "stat -c '%u:%g' /data/f; touch /data/new 2>/dev/null || echo refused";
    let map = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    for rt in runtimes() {
        let mut b = Bundle::shell(script);
        let extra = json!({"uidMappings": map, "gidMappings": map});
        let src = root_owned_source(&mut b, json!(["bind"]), extra);
        let (code, out, err) = run(&rt, &b, "idmap-nouserns");
        if rt.name == "runr" {
            assert_eq!(code, 0, "{err}");
            assert_eq!(out, "1000:1000\nrefused\n", "{err}");
            assert!(!src.join("new").exists());
        } else {
            // runc 1.2+ idmaps it too (the mappings alone make the mount idmapped); 1.1.5
            // ignores the mappings: the files stay the host's root's, and its root writes there.
            eprintln!(
                "{}: exit {code}, {out:?} {err:?} (runc 1.1.5 predates idmap)",
                rt.name
            );
            if runc_1_1(&rt) {
                assert_eq!(out, "0:0\n");
            }
        }
    }
}

#[test]
fn ridmap_maps_submounts_and_idmap_only_the_top() {
    // A tmpfs mounted inside the source (owned by the host's root) is a submount of the rbind:
    // ridmap maps it too, idmap leaves it unmapped.
    let probe = "stat -c '%u' /data/f /data/sub/g";
    for (option, want) in [("ridmap", "0\n0\n"), ("idmap", "0\n65534\n")] {
        let rt = Runtime::runr();
        let mut b = Bundle::shell(probe);
        with_userns(&mut b.config);
        let src = root_owned_source(&mut b, json!(["rbind", option]), json!({}));
        let sub = src.join("sub");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "tmpfs", sub.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(mounted.success());
        std::fs::write(sub.join("g"), "x").unwrap();
        let id = unique("ridmap");
        b.write();
        let o = rt.exec(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
        let _ = std::process::Command::new("umount").arg(&sub).status();
        assert_no_leaks(&rt, &id, &b);
        let (code, out, err) = (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        );
        assert_eq!(code, 0, "{option}: {err}");
        assert_eq!(out, want, "{option}: {err}");
    }
}

#[test]
fn idmapped_mounts_that_cannot_be_made_are_refused_by_field() {
    let map = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    let cases = [
        // idmap with nothing to map with: no user namespace, no mappings of its own.
        (json!(["bind", "idmap"]), json!({}), "mounts[7].uidMappings"),
        // Only one of the two.
        (
            json!(["bind"]),
            json!({"uidMappings": map}),
            "mounts[7].gidMappings",
        ),
    ];
    let rt = Runtime::runr();
    for (options, extra, field) in cases {
        let mut b = Bundle::shell("true");
        root_owned_source(&mut b, options, extra);
        let (code, _, err) = run(&rt, &b, "idmap-bad");
        assert_ne!(code, 0);
        assert!(err.contains(field), "want {field}: {err}");
    }
    // A filesystem that cannot be idmapped (sysfs): refused at create, naming the option.
    let mut b = Bundle::shell("true");
    std::fs::create_dir_all(b.rootfs().join("k")).unwrap();
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/k", "type": "bind", "source": "/sys/kernel", "options": ["rbind", "idmap"],
        "uidMappings": map, "gidMappings": map}));
    let (code, _, err) = run(&rt, &b, "idmap-sysfs");
    assert_ne!(code, 0);
    assert!(
        err.contains("mounts[7].options") && err.contains("cannot idmap"),
        "{err}"
    );
    // Not a bind mount.
    let mut b = Bundle::shell("true");
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}));
    let (code, _, err) = run(&rt, &b, "idmap-tmpfs");
    assert_ne!(code, 0);
    assert!(
        err.contains("mounts[7].options") && err.contains("bind"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Relative destinations and tmpcopyup

#[test]
fn a_relative_destination_is_taken_from_the_containers_root() {
    // runtime-spec 1.2: relative to `/`. runc 1.2+ warns ("deprecated") and mounts it there;
    // runc 1.1.5 does the same (relative to the rootfs).
    let script = "cd /tmp; grep -c ' /mnt/rel ' /proc/self/mountinfo; test -d /tmp/mnt || echo ok";
    for rt in runtimes() {
        let mut b = Bundle::shell(script);
        b.config["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "mnt/rel", "type": "tmpfs", "source": "tmpfs", "options": []}));
        let (code, out, err) = run(&rt, &b, "reldest");
        assert_eq!((code, out.as_str()), (0, "1\nok\n"), "{}: {err}", rt.name);
        if rt.name == "runr" {
            assert!(err.contains("mounts[7].destination"), "a warning: {err}");
        }
    }
}

#[test]
fn tmpcopyup_keeps_the_images_files_in_a_writable_tmpfs() {
    // The image's /etc (busybox's passwd, group, hostname, and a symlink, a subdirectory and a
    // setuid file made here) is copied into the tmpfs: same contents, owners and modes; writes
    // go to the tmpfs, not to the image.
    let script = "grep -c root /etc/passwd; readlink /etc/link; cat /etc/sub/deep; \
                  stat -c '%a %u:%g' /etc/sub /etc/sub/deep /etc/suid; \
                  echo new > /etc/new && cat /etc/new; \
                  awk '$5 == \"/etc\" {print $9}' /proc/self/mountinfo";
    let mut outs = Vec::new();
    for rt in runtimes() {
        let b = Bundle::shell(script);
        let etc = b.rootfs().join("etc");
        std::os::unix::fs::symlink("passwd", etc.join("link")).unwrap();
        std::fs::create_dir(etc.join("sub")).unwrap();
        std::fs::write(etc.join("sub/deep"), "deep\n").unwrap();
        std::fs::write(etc.join("suid"), "").unwrap();
        std::os::unix::fs::chown(etc.join("sub"), Some(1000), Some(1000)).unwrap();
        std::os::unix::fs::chown(etc.join("sub/deep"), Some(1000), Some(5)).unwrap();
        set_mode(&etc.join("sub"), 0o751);
        set_mode(&etc.join("suid"), 0o4755);
        let mut b = b;
        b.config["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/etc", "type": "tmpfs", "source": "tmpfs",
            "options": ["tmpcopyup", "mode=755"]}));
        let (code, out, err) = run(&rt, &b, "copyup");
        assert_eq!(code, 0, "{}: {err}", rt.name);
        assert!(!etc.join("new").exists(), "{}: wrote to the image", rt.name);
        outs.push((rt.name, out));
    }
    let want = "1\npasswd\ndeep\n751 1000:1000\n644 1000:5\n4755 0:0\nnew\ntmpfs\n";
    for (name, out) in outs {
        assert_eq!(out, want, "{name}");
    }
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn tmpcopyup_on_anything_but_a_tmpfs_is_refused() {
    let mut b = Bundle::shell("true");
    let src = b.dir.join("src");
    std::fs::create_dir(&src).unwrap();
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/x", "type": "bind", "source": src.to_str().unwrap(),
        "options": ["bind", "tmpcopyup"]}));
    let (code, _, err) = run(&Runtime::runr(), &b, "copyup-bind");
    assert_ne!(code, 0);
    assert!(
        err.contains("mounts[7].options") && err.contains("tmpcopyup"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// runtime-spec 1.3 fields runr refuses rather than ignores

#[test]
fn unsupported_13_fields_are_refused_by_name_and_leave_nothing() {
    // (linux.netDevices is carried out now: tests/netdev.rs.)
    let cases = [("intelRdt", json!({"closID": "runr-test"}), "linux.intelRdt")];
    for (key, value, field) in cases {
        let mut b = Bundle::shell("true");
        b.config["linux"][key] = value;
        let rt = Runtime::runr();
        let (code, out, err) = run(&rt, &b, "refused13");
        assert_ne!(code, 0, "{key}: {out}");
        assert!(err.contains(field), "{key}: {err}");
    }
    // Where resctrl is absent (as here) the reason says so.
    if !Path::new("/sys/fs/resctrl/schemata").exists() {
        let mut b = Bundle::shell("true");
        b.config["linux"]["intelRdt"] = json!({"closID": "x", "schemata": ["L3:0=ff"]});
        let (_, _, err) = run(&Runtime::runr(), &b, "rdt");
        assert!(err.contains("resctrl"), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// linux.memoryPolicy

/// The policies /proc/self/numa_maps shows for the process's mappings (`bind:0`, `default`, …),
/// sorted and deduplicated, one per line.
const NUMA_POLICIES: &str = "awk '{print $2}' /proc/self/numa_maps | sort -u";

#[test]
fn memory_policy_binds_the_container_and_its_exec_processes() {
    // numa_maps shows each mapping's policy: with MPOL_BIND to node 0 every mapping of the
    // container's process (and of a process exec'd later) is `bind:0`.
    for rt in runtimes() {
        let mut b = Bundle::shell("sleep 30");
        b.config["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"});
        let id = unique("mpol");
        rt.run_detached_ok(&b, &id, &[]);
        let o = rt.exec(&["exec", &id, "sh", "-c", NUMA_POLICIES]);
        let (shown, err) = (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        );
        if rt.name == "runr" {
            assert_eq!(shown, "bind:0\n", "exec'd process: {err}");
        } else {
            // runc 1.4+ binds it too; 1.1.5 predates linux.memoryPolicy and ignores it.
            eprintln!(
                "{}: {shown:?} {err:?} (runc 1.1.5 predates memoryPolicy)",
                rt.name
            );
            if runc_1_1(&rt) {
                assert_eq!(shown, "default\n");
            }
        }
        let _ = rt.exec(&["kill", &id, "KILL"]);
        tests_integration::wait_for(30, || rt.state(&id)["status"].as_str() == Some("stopped"));
        tests_integration::delete_no_leaks(&rt, &id, &b);
    }
    // The init's own policy, with a flag: MPOL_PREFERRED with MPOL_F_STATIC_NODES.
    let mut b = Bundle::shell(NUMA_POLICIES);
    b.config["linux"]["memoryPolicy"] =
        json!({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]});
    let (code, out, err) = run(&Runtime::runr(), &b, "mpol-pref");
    assert_eq!((code, out.as_str()), (0, "prefer=static:0\n"), "{err}");
}

#[test]
fn memory_policies_the_kernel_or_runc_refuse_fail_by_field() {
    let cases = [
        // runc's rules: BIND needs nodes, LOCAL takes none, and the list must parse.
        (json!({"mode": "MPOL_BIND"}), "linux.memoryPolicy.nodes"),
        (
            json!({"mode": "MPOL_LOCAL", "nodes": "0"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0-x"}),
            "linux.memoryPolicy.nodes",
        ),
        // A node this host does not have: set_mempolicy refuses it in the init.
        (
            json!({"mode": "MPOL_BIND", "nodes": "63"}),
            "linux.memoryPolicy",
        ),
        (json!({"mode": "MPOL_NOPE"}), "linux.memoryPolicy.mode"),
    ];
    for (policy, field) in cases {
        let mut b = Bundle::shell("true");
        b.config["linux"]["memoryPolicy"] = policy.clone();
        let (code, _, err) = run(&Runtime::runr(), &b, "mpol-bad");
        assert_ne!(code, 0, "{policy}");
        assert!(err.contains(field), "{policy}: want {field}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// features and ociVersion

#[test]
fn features_reports_the_13_members_from_what_runr_and_the_kernel_do() {
    let rt = Runtime::runr();
    let f: Value = serde_json::from_str(&rt.ok(&["features"])).unwrap();
    assert_eq!(f["ociVersionMax"], "1.3.0");
    let linux = &f["linux"];
    // idmapped mounts: the kernel has mount_setattr (5.12+); the idmap tests above make them.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut v = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (v.next().unwrap(), v.next().unwrap());
    assert_eq!(
        linux["mountExtensions"]["idmap"]["enabled"],
        (major, minor) >= (5, 12)
    );
    let opts = f["mountOptions"].as_array().unwrap();
    for o in ["idmap", "ridmap", "tmpcopyup"] {
        assert!(opts.contains(&json!(o)), "{o}");
    }
    // netDevices are moved by the runtime as root (tests/netdev.rs), as runc 1.4+ reports them;
    // what runr refuses is reported as not enabled.
    assert_eq!(linux["netDevices"]["enabled"], true);
    // What runr implements, whatever the host has (features-linux.md; runc 1.5 alike).
    assert_eq!(linux["intelRdt"]["enabled"], true);
    // Every reported memory policy mode is one runr sets (on node 0, or no node).
    let modes = linux["memoryPolicy"]["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 7, "{modes:?}");
    for mode in modes {
        let nodes = match mode.as_str().unwrap() {
            "MPOL_DEFAULT" | "MPOL_LOCAL" => "",
            _ => "0",
        };
        let mut b = Bundle::shell("true");
        b.config["linux"]["memoryPolicy"] = json!({"mode": mode, "nodes": nodes});
        let (code, _, err) = run(&rt, &b, "mpol-mode");
        // MPOL_WEIGHTED_INTERLEAVE is Linux 6.9+.
        let new_mode = mode == "MPOL_WEIGHTED_INTERLEAVE" && (major, minor) < (6, 9);
        assert!(code == 0 || new_mode, "{mode}: {err}");
    }
    let flags = linux["memoryPolicy"]["flags"].as_array().unwrap();
    assert!(flags.contains(&json!("MPOL_F_STATIC_NODES")), "{flags:?}");
    // Seccomp flags: each supported one is known, and a filter with it really loads.
    let sc = &linux["seccomp"];
    let known = sc["knownFlags"].as_array().unwrap();
    let supported = sc["supportedFlags"].as_array().unwrap();
    assert!(supported.iter().all(|s| known.contains(s)), "{supported:?}");
    assert!(supported.contains(&json!("SECCOMP_FILTER_FLAG_LOG")));
    for flag in supported {
        if flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" {
            continue; // only meaningful with a notify listener
        }
        let mut b = Bundle::shell("true");
        b.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "flags": [flag], "syscalls": [{"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"}]});
        let (code, _, err) = run(&rt, &b, "scflag");
        assert_eq!(code, 0, "{flag}: {err}");
    }
    // runr acts on no config annotation (no systemd properties, no CRIU, no bundle override).
    assert_eq!(f["potentiallyUnsafeConfigAnnotations"], json!([]));
    assert_eq!(f["linux"]["cgroup"]["rdma"], true);
    if let Some(runc) = Runtime::runc() {
        let r: Value = serde_json::from_str(&runc.ok(&["features"])).unwrap();
        // runc 1.5 reports these members too; 1.1.5 predates them.
        eprintln!(
            "runc ociVersionMax {} mountExtensions {}",
            r["ociVersionMax"], r["linux"]["mountExtensions"]
        );
    }
}

#[test]
fn spec_and_version_say_13_and_a_13_config_runs() {
    let rt = Runtime::runr();
    assert!(rt.ok(&["--version"]).contains("\nspec: 1.3.0\n"));
    let dir = tests_integration::scratch().join(unique("spec13"));
    std::fs::create_dir_all(&dir).unwrap();
    rt.ok(&["spec", "--bundle", dir.to_str().unwrap()]);
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(v["ociVersion"], "1.3.0");
    let _ = std::fs::remove_dir_all(&dir);
    let mut b = Bundle::shell("echo ok");
    b.config["ociVersion"] = json!("1.3.0");
    let id = unique("v13");
    rt.create_ok(&b, &id, &[]);
    assert_eq!(rt.state(&id)["ociVersion"], "1.3.0");
    tests_integration::delete_no_leaks(&rt, &id, &b);
}

// ---------------------------------------------------------------------------------------------
// user.* sysctls

#[test]
fn user_sysctls_are_set_in_a_user_namespace_and_refused_without_one() {
    // The ucounts limits are per user namespace: the container's own limit changes, the host's
    // stays. runc 1.2+ does the same; runc 1.1.5 refuses every user.* sysctl.
    let host = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap();
    for rt in runtimes() {
        let mut b = Bundle::shell("cat /proc/sys/user/max_user_namespaces");
        with_userns(&mut b.config);
        b.config["linux"]["sysctl"] = json!({"user.max_user_namespaces": "7"});
        let (code, out, err) = run(&rt, &b, "usersysctl");
        if runc_1_1(&rt) {
            eprintln!("runc: exit {code} {err:?} (runc 1.1.5 refuses user.* sysctls)");
            assert_ne!(code, 0);
        } else {
            assert_eq!((code, out.as_str()), (0, "7\n"), "{}: {err}", rt.name);
        }
        assert_eq!(
            std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap(),
            host
        );
        // Without a user namespace it would be the host's: refused, naming the sysctl.
        let mut b = Bundle::shell("true");
        b.config["linux"]["sysctl"] = json!({"user.max_user_namespaces": "7"});
        let (code, _, err) = run(&rt, &b, "usersysctl-host");
        assert_ne!(code, 0, "{}", rt.name);
        if rt.name == "runr" {
            assert!(
                err.contains("linux.sysctl.user.max_user_namespaces"),
                "{err}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --pidfd-socket

/// The `Pid:` a pidfd's fdinfo shows.
fn pidfd_pid(fd: &std::os::fd::OwnedFd) -> i32 {
    use std::os::fd::AsRawFd;
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .expect("a pidfd's fdinfo has Pid:")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn pidfd_socket_delivers_the_init_and_exec_processes_pidfds() {
    for rt in runtimes() {
        let b = Bundle::new(&["sleep", "100"]);
        let sock = b.dir.join("pidfd.sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let id = unique("pidfd");
        b.write();
        let dir = b.dir.to_str().unwrap();
        let s = sock.to_str().unwrap();
        let out = rt.exec_detached(
            &["run", "-d", "--pidfd-socket", s, "--bundle", dir, &id],
            &b,
        );
        if runc_1_1(&rt) {
            // runc 1.2+ has --pidfd-socket (same message: "standard" + the init's pidfd).
            assert!(!out.status.success(), "runc 1.1.5 has no --pidfd-socket");
            assert_no_leaks(&rt, &id, &b);
            continue;
        }
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (kind, init_fd) = receive_fd_with_payload(&listener);
        let init_pid = rt.state(&id)["pid"].as_i64().unwrap() as i32;
        assert_eq!((kind.as_str(), pidfd_pid(&init_fd)), ("standard", init_pid));

        // exec: the new process's pidfd, which signals it.
        let pid_file = b.dir.join("exec.pid");
        let pf = pid_file.to_str().unwrap();
        let out = rt.exec_detached(
            &[
                "exec",
                "-d",
                "--pidfd-socket",
                s,
                "--pid-file",
                pf,
                &id,
                "sleep",
                "100",
            ],
            &b,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (kind, exec_fd) = receive_fd_with_payload(&listener);
        let exec_pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!((kind.as_str(), pidfd_pid(&exec_fd)), ("setns", exec_pid));
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(exec_pid), None).unwrap();
        {
            use std::os::fd::AsRawFd;
            // SAFETY: pidfd_send_signal with a live pidfd, a null siginfo and no flags.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    exec_fd.as_raw_fd(),
                    libc::SIGKILL,
                    0,
                    0,
                )
            };
            assert_eq!(rc, 0);
        }
        assert!(tests_integration::wait_for(30, || {
            std::fs::read_to_string(format!("/proc/{exec_pid}/stat"))
                .map_or(true, |s| s.contains(") Z "))
        }));
        let _ = rt.exec(&["kill", &id, "KILL"]);
        tests_integration::wait_for(30, || rt.state(&id)["status"] == "stopped");
        tests_integration::delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn a_pidfd_socket_nobody_listens_on_fails_before_anything_is_made() {
    let rt = Runtime::runr();
    let b = Bundle::new(&["sleep", "100"]);
    let id = unique("pidfd-bad");
    b.write();
    let missing = b.dir.join("nobody.sock");
    let args = [
        "run",
        "-d",
        "--pidfd-socket",
        missing.to_str().unwrap(),
        "--bundle",
        b.dir.to_str().unwrap(),
        &id,
    ];
    let out = rt.exec_detached(&args, &b);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pidfd-socket"));
    assert_no_leaks(&rt, &id, &b);
}

// ---------------------------------------------------------------------------------------------
// update --cpu-idle, --cpu-burst

/// The container's cpu cgroup directory and its burst file's name: v1 (cpu.cfs_burst_us) on a
/// hybrid host, the unified one (cpu.max.burst) on a pure v2 host.
fn cpu_dir(b: &Bundle) -> (std::path::PathBuf, &'static str) {
    let rel = b.cgroup_path().trim_start_matches('/').to_string();
    if Path::new("/sys/fs/cgroup/cpu").is_dir() {
        (
            Path::new("/sys/fs/cgroup/cpu").join(rel),
            "cpu.cfs_burst_us",
        )
    } else {
        (Path::new("/sys/fs/cgroup").join(rel), "cpu.max.burst")
    }
}

fn read_trim(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

#[test]
fn update_sets_cpu_idle_and_burst_from_flags_and_resources() {
    for rt in runtimes() {
        let b = Bundle::new(&["sleep", "100"]);
        let id = unique("cpuidle");
        rt.run_detached_ok(&b, &id, &[]);
        let (dir, burst_file) = cpu_dir(&b);
        if !dir.join("cpu.idle").exists() {
            eprintln!("SKIP update cpu.idle: {} has no cpu.idle", dir.display());
            let _ = rt.exec(&["kill", &id, "KILL"]);
            tests_integration::wait_for(30, || rt.state(&id)["status"] == "stopped");
            tests_integration::delete_no_leaks(&rt, &id, &b);
            return;
        }
        let flags = [
            "update",
            "--cpu-quota",
            "50000",
            "--cpu-period",
            "100000",
            "--cpu-burst",
            "20000",
            "--cpu-idle",
            "1",
            &id,
        ];
        let o = rt.exec(&flags);
        if runc_1_1(&rt) {
            // runc 1.2+ has --cpu-burst and --cpu-idle; 1.1.5 has neither flag.
            assert!(!o.status.success());
        } else {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(read_trim(&dir.join("cpu.idle")), "1");
            assert_eq!(read_trim(&dir.join(burst_file)), "20000");
        }
        // update -r: cpu.idle back to 0 (runc 1.1 has cpu.idle there too), and a burst of 0.
        let res = b.dir.join("res.json");
        std::fs::write(&res, r#"{"cpu": {"idle": 0, "burst": 0}}"#).unwrap();
        let o = rt.exec(&["update", "-r", res.to_str().unwrap(), &id]);
        assert!(
            o.status.success(),
            "{}: {}",
            rt.name,
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(read_trim(&dir.join("cpu.idle")), "0", "{}", rt.name);
        if !runc_1_1(&rt) {
            assert_eq!(read_trim(&dir.join(burst_file)), "0");
            // What update stored is what a later update keeps (the burst stays 0).
            let o = rt.exec(&["update", "--cpu-idle", "1", &id]);
            assert!(o.status.success());
            assert_eq!(read_trim(&dir.join(burst_file)), "0");
            assert_eq!(read_trim(&dir.join("cpu.idle")), "1");
        }
        let _ = rt.exec(&["kill", &id, "KILL"]);
        tests_integration::wait_for(30, || rt.state(&id)["status"] == "stopped");
        tests_integration::delete_no_leaks(&rt, &id, &b);
    }
}

// ---------------------------------------------------------------------------------------------
// Joining namespaces by path together with a new user namespace

#[test]
fn a_new_user_namespace_can_join_namespaces_by_path() {
    // Container A owns a network and a UTS namespace; B joins both by path and has a new user
    // namespace of its own (root = host 100000), with its own new mount and pid namespaces.
    // runc 1.2+ (#4492) does this too; runc 1.1.5 refuses or fails it (printed below).
    for rt in runtimes() {
        let a = Bundle::new(&["sleep", "100"]);
        let a_id = unique("nsowner");
        rt.run_detached_ok(&a, &a_id, &[]);
        let a_pid = rt.state(&a_id)["pid"].as_i64().unwrap();
        let ns = |kind: &str| std::fs::read_link(format!("/proc/{a_pid}/ns/{kind}")).unwrap();
        let script = "readlink /proc/self/ns/net; readlink /proc/self/ns/uts; hostname; \
                      awk '{print $1, $2, $3}' /proc/self/uid_map; echo pid=$$; \
                      mount -t tmpfs t /tmp && echo mounted";
        let mut b = Bundle::shell(script);
        with_userns(&mut b.config);
        for (kind, spec_kind) in [("net", "network"), ("uts", "uts")] {
            let list = b.config["linux"]["namespaces"].as_array_mut().unwrap();
            list.retain(|n| n["type"] != spec_kind);
            list.push(json!({"type": spec_kind, "path": format!("/proc/{a_pid}/ns/{kind}")}));
        }
        b.config.as_object_mut().unwrap().remove("hostname");
        add_sys_admin(&mut b.config);
        let (code, out, err) = run(&rt, &b, "joinuserns");
        if runc_1_1(&rt) {
            // 1.1.5 joins, then cannot mount sysfs for the host-owned network namespace.
            eprintln!("runc: exit {code} {out:?} {err:?} (runc 1.1.5: before #4492)");
            assert_ne!(code, 0);
        } else {
            assert_eq!(code, 0, "{}: {err}", rt.name);
            let want = format!(
                "{}\n{}\nrunr-test\n0 100000 65536\npid=1\nmounted\n",
                ns("net").display(),
                ns("uts").display()
            );
            assert_eq!(out, want, "{}: {err}", rt.name);
        }
        let _ = rt.exec(&["kill", &a_id, "KILL"]);
        tests_integration::wait_for(30, || rt.state(&a_id)["status"] == "stopped");
        tests_integration::delete_no_leaks(&rt, &a_id, &a);
    }
}

fn add_sys_admin(c: &mut Value) {
    for set in ["bounding", "effective", "permitted"] {
        let list = c["process"]["capabilities"][set].as_array_mut().unwrap();
        list.push(json!("CAP_SYS_ADMIN"));
    }
}
