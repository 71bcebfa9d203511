//! Issue #17: what runc 1.2–1.5 and runtime-spec 1.2/1.3 added, and callers now rely on.
//! Idmapped bind mounts (`idmap`, `ridmap`, a mount's own `uidMappings`/`gidMappings`), relative
//! mount destinations, `tmpcopyup`, `features`, and the 1.3 fields runr refuses by name.
//!
//! Each scenario also runs under the installed runc (1.1.5), which predates most of them: the
//! test prints what runc did and says where its version differs from today's runc.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::{json, Value};
use tests_integration::{assert_no_leaks, runtimes, unique, Bundle, Runtime};

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
    rt.name == "runc" && rt.ok(&["--version"]).starts_with("runc version 1.1.")
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
    let cases = [
        (
            "netDevices",
            json!({"eth-test0": {"name": "eth0"}}),
            "linux.netDevices",
        ),
        ("intelRdt", json!({"closID": "runr-test"}), "linux.intelRdt"),
    ];
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
        tests_integration::wait_for(10, || rt.state(&id)["status"].as_str() == Some("stopped"));
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
    // What runr refuses is reported as not enabled.
    assert_eq!(linux["netDevices"]["enabled"], false);
    assert_eq!(linux["intelRdt"]["enabled"], false);
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
