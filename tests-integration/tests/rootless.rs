//! Rootless: runr driven by an unprivileged user, side by side with runc (1.1.5 here) doing the
//! same. The test (root) prepares the user with `scripts/rootless-user.sh` (the user
//! `runr-tester`, its /etc/subuid and /etc/subgid ranges, its XDG_RUNTIME_DIR, uidmap), builds
//! every bundle under a directory that user owns, and runs each runtime command as the user
//! (`setpriv --reuid --regid --init-groups`, a clean environment with XDG_RUNTIME_DIR set).
//! No `--root` is passed: the state root must default to `$XDG_RUNTIME_DIR/runr` (runc:
//! `$XDG_RUNTIME_DIR/runc`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use tests_integration::rootless_user::{runr_for_user, Tester};
use tests_integration::{make_rootfs, processes_mentioning, unique, wait_for, which};

/// The unprivileged user (tests_integration::rootless_user), made once per test process.
fn tester() -> &'static Tester {
    Tester::get()
}

/// A runtime as the user sees it: its binary (readable by the user) and its state root.
struct UserRuntime {
    name: &'static str,
    bin: PathBuf,
}

impl UserRuntime {
    fn all() -> Vec<UserRuntime> {
        let mut v = vec![UserRuntime {
            name: "runr",
            bin: runr_for_user(),
        }];
        match which("runc") {
            Some(bin) => v.push(UserRuntime { name: "runc", bin }),
            None => eprintln!("SKIP runc side of rootless tests: runc is not installed"),
        }
        v
    }

    /// The default state root for an unprivileged user: `$XDG_RUNTIME_DIR/<name>`.
    fn root(&self) -> PathBuf {
        tester().xdg().join(self.name)
    }

    fn run(&self, args: &[&str], cwd: &Path) -> Output {
        let mut argv = vec![self.bin.to_str().unwrap()];
        argv.extend_from_slice(args);
        let mut c = tester().with_xdg(&argv);
        c.current_dir(cwd);
        c.output().expect("spawn runtime as the user")
    }

    fn ok(&self, args: &[&str], cwd: &Path) -> String {
        let out = self.run(args, cwd);
        assert!(
            out.status.success(),
            "{} {args:?} as the user failed ({}): {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A command whose children outlive it (`create`, `run -d`): stdio to files, not pipes.
    fn detached(&self, args: &[&str], b: &UserBundle) -> Output {
        let (out_path, err_path) = (b.dir.join("stdout"), b.dir.join("stderr"));
        let mut argv = vec![self.bin.to_str().unwrap()];
        argv.extend_from_slice(args);
        let status = tester()
            .with_xdg(&argv)
            .current_dir(&b.dir)
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .status()
            .expect("spawn runtime as the user");
        Output {
            status,
            stdout: std::fs::read(&out_path).unwrap_or_default(),
            stderr: std::fs::read(&err_path).unwrap_or_default(),
        }
    }

    fn state(&self, id: &str, cwd: &Path) -> Value {
        serde_json::from_str(&self.ok(&["state", id], cwd)).expect("state is JSON")
    }
}

/// A bundle under the user's home, owned by the user, with `runr spec --rootless`'s config.
struct UserBundle {
    dir: PathBuf,
    config: Value,
}

impl UserBundle {
    fn new(args: &[&str]) -> UserBundle {
        let t = tester();
        let dir = t.home.join("runr-it").join(unique("bundle"));
        make_rootfs(&dir.join("rootfs"));
        // The shared parent alone, then this bundle (other tests' bundles come and go).
        let parent = t.home.join("runr-it");
        std::os::unix::fs::chown(&parent, Some(t.uid), Some(t.gid)).unwrap();
        t.chown_tree(&dir);
        let runr = UserRuntime {
            name: "runr",
            bin: runr_for_user(),
        };
        runr.ok(&["spec", "--rootless"], &dir);
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        UserBundle { dir, config }
    }

    fn write(&self) {
        let path = self.dir.join("config.json");
        std::fs::write(&path, serde_json::to_string_pretty(&self.config).unwrap()).unwrap();
        let t = tester();
        std::os::unix::fs::chown(&path, Some(t.uid), Some(t.gid)).unwrap();
    }
}

impl Drop for UserBundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every directory named `id` in any cgroup hierarchy (a few levels down: the user's own
/// cgroup may be nested).
fn cgroups_named(id: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, id: &str, depth: u32, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name() == id {
                out.push(e.path());
            } else if depth > 0 {
                walk(&e.path(), id, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    for h in tests_integration::cgroup_hierarchies() {
        walk(&h, id, 3, &mut out);
    }
    out
}

/// Nothing of `id` is left: no state directory, no process, no cgroup.
fn assert_nothing_left(rt: &UserRuntime, id: &str) {
    assert!(
        !rt.root().join(id).exists(),
        "{}: state directory {} left behind",
        rt.name,
        rt.root().join(id).display()
    );
    let procs = processes_mentioning(id);
    assert!(
        procs.is_empty(),
        "{}: processes of {id} left: {procs:?}",
        rt.name
    );
    let cgs = cgroups_named(id);
    assert!(cgs.is_empty(), "{}: cgroups of {id} left: {cgs:?}", rt.name);
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn spec_rootless_is_runcs() {
    let t = tester();
    let dir = t.home.join("runr-it").join(unique("spec"));
    for rt in UserRuntime::all() {
        let d = dir.join(rt.name);
        std::fs::create_dir_all(&d).unwrap();
        t.chown_tree(&dir);
        rt.ok(&["spec", "--rootless"], &d);
    }
    let runr = std::fs::read_to_string(dir.join("runr/config.json")).unwrap();
    let spec: Value = serde_json::from_str(&runr).unwrap();
    // What the spec must say, whatever runc says: the user's own ids as root, a user namespace,
    // no network namespace, /sys bind-mounted, no cgroup limits, no gid= on devpts.
    let own = json!([{"containerID": 0, "hostID": t.uid, "size": 1}]);
    assert_eq!(spec["linux"]["uidMappings"], own);
    let own_gid = json!([{"containerID": 0, "hostID": t.gid, "size": 1}]);
    assert_eq!(spec["linux"]["gidMappings"], own_gid);
    let ns: Vec<&str> = spec["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(ns.contains(&"user") && !ns.contains(&"network"), "{ns:?}");
    assert!(spec["linux"]["resources"].is_null());
    let sys = spec["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/sys")
        .unwrap();
    assert_eq!(sys["source"], "/sys");
    assert!(sys["options"].as_array().unwrap().contains(&json!("rbind")));
    assert!(!runr.contains("gid=5"));
    // And byte for byte what runc writes (runc 1.1.5's ToRootless; on a pure cgroup v2 host
    // both add a cgroup namespace), but for the ociVersion line: runr writes runtime-spec
    // 1.3.0, runc 1.1.5 its 1.0.2-dev.
    if dir.join("runc/config.json").exists() {
        let runc = std::fs::read_to_string(dir.join("runc/config.json")).unwrap();
        let version = |text: &str| {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            v["ociVersion"].as_str().unwrap().to_string()
        };
        assert_eq!(version(&runr), "1.3.0");
        let runc_as_13 = runc.replacen(
            &format!("\"ociVersion\": \"{}\"", version(&runc)),
            "\"ociVersion\": \"1.3.0\"",
            1,
        );
        assert_eq!(runr, runc_as_13, "runr spec --rootless differs from runc's");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lifecycle_as_an_unprivileged_user() {
    let t = tester();
    for rt in UserRuntime::all() {
        let id = unique(&format!("rl-{}", rt.name));
        let b = UserBundle::new(&["sleep", "100"]);
        b.write();
        let out = rt.detached(&["create", "--bundle", b.dir.to_str().unwrap(), &id], &b);
        assert!(out.status.success(), "{} create: {}", rt.name, stderr(&out));
        // The state root is the user's: $XDG_RUNTIME_DIR/<runtime>, owned by it, mode 0700
        // (+ sticky, so session cleaners leave it alone).
        let root = rt.root();
        assert!(
            root.join(&id).is_dir(),
            "{}: no state under {}",
            rt.name,
            root.display()
        );
        let meta = std::fs::metadata(&root).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::uid(&meta),
            t.uid,
            "{}",
            rt.name
        );
        assert_eq!(meta.permissions().mode() & 0o7777, 0o1700, "{}", rt.name);
        assert_eq!(rt.state(&id, &b.dir)["status"], "created", "{}", rt.name);
        // No cgroup could be made (no limits asked: the rootless rule skips them all).
        assert!(
            cgroups_named(&id).is_empty(),
            "{}: {:?}",
            rt.name,
            cgroups_named(&id)
        );

        rt.ok(&["start", &id], &b.dir);
        assert_eq!(rt.state(&id, &b.dir)["status"], "running", "{}", rt.name);
        let pid = rt.state(&id, &b.dir)["pid"].as_i64().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let host_uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(
            host_uid.split_whitespace().nth(1) == Some(&t.uid.to_string()),
            "{}: the container's root is the user on the host: {host_uid}",
            rt.name
        );

        // exec: root inside, the user's uid outside.
        let inside = rt.ok(
            &["exec", &id, "sh", "-c", "id -u; cat /proc/self/uid_map"],
            &b.dir,
        );
        let mut lines = inside.lines();
        assert_eq!(lines.next(), Some("0"), "{}: {inside}", rt.name);
        let map: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(map, ["0", &t.uid.to_string(), "1"], "{}: {inside}", rt.name);

        // ps: without a cgroup runr lists the container's pid namespace (runc 1.1.5 fails:
        // "unable to get all container pids").
        if rt.name == "runr" {
            let ps: Vec<i64> =
                serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id], &b.dir)).unwrap();
            assert_eq!(ps, [pid], "runr ps");
        }

        let list = rt.ok(&["list"], &b.dir);
        let row = list
            .lines()
            .find(|l| l.starts_with(&id))
            .unwrap_or_default();
        assert!(
            row.contains("running") && row.ends_with(&t.name),
            "{}: {list}",
            rt.name
        );

        rt.ok(&["kill", &id, "KILL"], &b.dir);
        assert!(
            wait_for(30, || rt.state(&id, &b.dir)["status"] == "stopped"),
            "{}: did not stop",
            rt.name
        );
        rt.ok(&["delete", &id], &b.dir);
        assert_nothing_left(&rt, &id);
    }
}

#[test]
fn run_detached_and_foreground_as_the_user() {
    for rt in UserRuntime::all() {
        let id = unique(&format!("rd-{}", rt.name));
        let mut b = UserBundle::new(&["sleep", "100"]);
        b.write();
        let out = rt.detached(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id], &b);
        assert!(out.status.success(), "{} run -d: {}", rt.name, stderr(&out));
        assert_eq!(rt.state(&id, &b.dir)["status"], "running", "{}", rt.name);
        // kill --all without a cgroup: runr signals the init, whose pid namespace dies with it
        // (runc 1.1.5 fails: "lstat : no such file or directory").
        if rt.name == "runr" {
            rt.ok(&["kill", "--all", &id, "KILL"], &b.dir);
            assert!(
                wait_for(30, || rt.state(&id, &b.dir)["status"] == "stopped"),
                "runr kill --all"
            );
        }
        rt.ok(&["delete", "--force", &id], &b.dir);
        assert_nothing_left(&rt, &id);

        // Foreground: the container's exit status, devices bind-mounted from the host (no
        // mknod in a user namespace), the hostname of its own UTS namespace.
        let id = unique(&format!("rf-{}", rt.name));
        b.config["process"]["args"] = json!([
            "sh",
            "-c",
            "test -c /dev/null && echo x > /dev/null && head -c 4 /dev/zero | wc -c && hostname && exit 7"
        ]);
        b.write();
        let out = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id], &b.dir);
        assert_eq!(out.status.code(), Some(7), "{}: {}", rt.name, stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            ["4", "runc"],
            "{}",
            rt.name
        );
        assert_nothing_left(&rt, &id);
    }
}

#[test]
fn subuid_ranges_are_mapped_through_newuidmap() {
    let t = tester();
    let sub = |file: &str| -> u32 {
        let text = std::fs::read_to_string(file).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{}:", t.name)))
            .expect("the user's subordinate range");
        line.split(':').nth(1).unwrap().parse().unwrap()
    };
    let (subuid, subgid) = (sub("/etc/subuid"), sub("/etc/subgid"));
    for rt in UserRuntime::all() {
        let id = unique(&format!("rm-{}", rt.name));
        let mut b = UserBundle::new(&[
            "sh",
            "-c",
            "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map",
        ]);
        b.config["linux"]["uidMappings"] = json!([
            {"containerID": 0, "hostID": t.uid, "size": 1},
            {"containerID": 1, "hostID": subuid, "size": 65536}
        ]);
        b.config["linux"]["gidMappings"] = json!([
            {"containerID": 0, "hostID": t.gid, "size": 1},
            {"containerID": 1, "hostID": subgid, "size": 65536}
        ]);
        b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        b.write();
        let out = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id], &b.dir);
        assert!(out.status.success(), "{}: {}", rt.name, stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        let rows: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows[0], ["1000"], "{}: {text}", rt.name);
        assert_eq!(rows[1], ["1000"], "{}: {text}", rt.name);
        assert_eq!(
            rows[3],
            ["1", &subuid.to_string(), "65536"],
            "{}: {text}",
            rt.name
        );
        assert_eq!(
            rows[5],
            ["1", &subgid.to_string(), "65536"],
            "{}: {text}",
            rt.name
        );
        assert_nothing_left(&rt, &id);
    }
}

/// A run that must fail as the user: (runr's stderr, runc's stderr or None); nothing left.
fn both_fail(b: &UserBundle) -> Vec<(&'static str, String)> {
    b.write();
    let mut out = Vec::new();
    for rt in UserRuntime::all() {
        let id = unique(&format!("rx-{}", rt.name));
        let o = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id], &b.dir);
        assert!(!o.status.success(), "{} accepted it", rt.name);
        assert_nothing_left(&rt, &id);
        out.push((rt.name, stderr(&o)));
    }
    out
}

#[test]
fn a_limit_without_a_cgroup_is_an_error_naming_the_field() {
    let mut b = UserBundle::new(&["true"]);
    b.config["linux"]["resources"] = json!({"memory": {"limit": 33554432}});
    for (name, err) in both_fail(&b) {
        // runc 1.1.5 words it so on v1; on v2 it fails at the mkdir ("rootless needs no
        // limits + no cgrouppath when no permission is granted for cgroups").
        assert!(
            err.contains("cannot set memory limit") || err.contains("rootless needs no limits"),
            "{name}: {err}"
        );
        if name == "runr" {
            assert!(
                err.contains("config.json: linux.resources.memory.limit"),
                "{err}"
            );
            assert!(
                err.contains("unprivileged") && err.contains("EACCES"),
                "{err}"
            );
        }
    }
}

#[test]
fn what_an_unprivileged_user_cannot_have_is_refused_naming_the_field() {
    // No user namespace: nothing can make the user root of the container.
    let mut b = UserBundle::new(&["true"]);
    let ns = b.config["linux"]["namespaces"].as_array().unwrap().clone();
    b.config["linux"]["namespaces"] = json!(ns
        .into_iter()
        .filter(|n| n["type"] != "user")
        .collect::<Vec<_>>());
    b.config["linux"]
        .as_object_mut()
        .unwrap()
        .remove("uidMappings");
    b.config["linux"]
        .as_object_mut()
        .unwrap()
        .remove("gidMappings");
    for (name, err) in both_fail(&b) {
        assert!(
            err.contains("requires user namespace") || err.contains("requires a user namespace"),
            "{name}: {err}"
        );
        if name == "runr" {
            assert!(err.contains("linux.namespaces"), "{err}");
        }
    }

    // An rlimit above the user's hard limit (raising it needs CAP_SYS_RESOURCE on the host).
    let hard_nice = Command::new("sh")
        .args(["-c", "ulimit -Hr"])
        .output()
        .unwrap();
    let hard_nice = String::from_utf8_lossy(&hard_nice.stdout)
        .trim()
        .to_string();
    match hard_nice.parse::<u64>() {
        Ok(hard) => {
            let mut b = UserBundle::new(&["true"]);
            b.config["process"]["rlimits"] = json!([
                {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
                {"type": "RLIMIT_NICE", "hard": hard + 5, "soft": hard + 5}
            ]);
            for (name, err) in both_fail(&b) {
                if name == "runr" {
                    assert!(err.contains("process.rlimits[1]") && err.contains("not permitted"), "{err}");
                    assert!(err.contains("CAP_SYS_RESOURCE"), "{err}");
                } else {
                    assert!(err.contains("rlimit"), "{name}: {err}");
                }
            }
        }
        Err(_) => eprintln!(
            "SKIP rlimit part of what_an_unprivileged_user_cannot_have: RLIMIT_NICE hard limit is {hard_nice:?}"
        ),
    }

    // oom_score_adj below the current value (lowering it needs CAP_SYS_RESOURCE).
    let current: i64 = std::fs::read_to_string("/proc/self/oom_score_adj")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut b = UserBundle::new(&["true"]);
    b.config["process"]["oomScoreAdj"] = json!((current - 100).max(-1000));
    for (name, err) in both_fail(&b) {
        if name == "runr" {
            assert!(err.contains("process.oomScoreAdj"), "{err}");
            assert!(
                err.contains("Permission denied") && err.contains("CAP_SYS_RESOURCE"),
                "{err}"
            );
        } else {
            assert!(err.contains("oom_score_adj"), "{name}: {err}");
        }
    }
    // Raising it needs nothing: it works as the user.
    let raised = current + 100;
    let mut b = UserBundle::new(&["cat", "/proc/self/oom_score_adj"]);
    b.config["process"]["oomScoreAdj"] = json!(raised);
    b.write();
    for rt in UserRuntime::all() {
        let id = unique(&format!("ro-{}", rt.name));
        let out = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id], &b.dir);
        assert!(out.status.success(), "{}: {}", rt.name, stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            raised.to_string(),
            "{}",
            rt.name
        );
        assert_nothing_left(&rt, &id);
    }

    // A range outside the user's /etc/subuid: newuidmap refuses it, the error says so.
    let t = tester();
    let mut b = UserBundle::new(&["true"]);
    b.config["linux"]["uidMappings"] = json!([
        {"containerID": 0, "hostID": t.uid, "size": 1},
        {"containerID": 1, "hostID": 3_000_000_000u32, "size": 10}
    ]);
    for (name, err) in both_fail(&b) {
        assert!(
            err.contains("newuidmap") || err.contains("uid_map"),
            "{name}: {err}"
        );
        if name == "runr" {
            assert!(
                err.contains("linux.uidMappings") && err.contains("newuidmap"),
                "{err}"
            );
        }
    }

    // Additional groups: setgroups is denied to an unprivileged user namespace.
    let mut b = UserBundle::new(&["true"]);
    b.config["process"]["user"]["additionalGids"] = json!([5]);
    for (name, err) in both_fail(&b) {
        assert!(err.contains("additional groups"), "{name}: {err}");
        if name == "runr" {
            assert!(err.contains("process.user.additionalGids"), "{err}");
        }
    }
}

#[test]
fn without_xdg_runtime_dir_the_default_root_is_a_clear_error() {
    let t = tester();
    let bin = runr_for_user();
    let out = t
        .command(&[bin.to_str().unwrap(), "list"], &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("XDG_RUNTIME_DIR") && err.contains("--root"),
        "{err}"
    );
    // spec needs no state root.
    let dir = t.home.join("runr-it").join(unique("noxdg"));
    std::fs::create_dir_all(&dir).unwrap();
    t.chown_tree(&dir);
    let out = t
        .command(&[bin.to_str().unwrap(), "spec", "--rootless"], &[])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
    // runc 1.1.5 falls back to /run/runc there and fails on its permissions instead.
}

/// Rootless podman for the user, offline: cgroupfs (no systemd here), file events, no network,
/// its own storage under the user's home, and one local busybox image imported by the test.
struct UserPodman {
    image: String,
}

impl UserPodman {
    fn set_up() -> Option<UserPodman> {
        if which("podman").is_none() {
            eprintln!("SKIP rootless_podman: podman is not installed (scripts/deps.sh --engines)");
            return None;
        }
        let t = tester();
        // The image: busybox and its applets, as ../shared/tools/engines/ builds it.
        let dir = PathBuf::from(format!("/tmp/runr-rootless-image-{}", std::process::id()));
        let rootfs = dir.join("rootfs");
        make_rootfs(&rootfs);
        // A private busybox: the host's inode changes (ctime) whenever a test links or unlinks
        // it, and tar then fails with "file changed as we read it".
        tests_integration::break_hard_links(&rootfs);
        let tar = dir.join("image.tar");
        let out = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .output()
            .unwrap();
        assert!(out.status.success(), "tar: {}", stderr(&out));
        t.chown_tree(&dir);
        let image = format!("localhost/runr-rootless:{}", std::process::id());
        let p = UserPodman { image };
        let out = p.podman(
            None,
            &[
                "import",
                "-q",
                "-c",
                "CMD [\"/bin/sh\"]",
                tar.to_str().unwrap(),
                &p.image,
            ],
        );
        assert!(
            out.status.success(),
            "podman import: {} {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
        let _ = std::fs::remove_dir_all(&dir);
        Some(p)
    }

    /// `podman [--runtime BIN] args` as the user.
    fn podman(&self, runtime: Option<&Path>, args: &[&str]) -> Output {
        let mut argv = vec![
            "podman",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
        ];
        if let Some(rt) = runtime {
            argv.extend(["--runtime", rt.to_str().unwrap()]);
        }
        argv.extend_from_slice(args);
        let mut c = tester().with_xdg(&argv);
        c.current_dir(&tester().home);
        c.output().expect("spawn podman as the user")
    }

    fn ok(&self, runtime: &Path, args: &[&str]) -> String {
        let out = self.podman(Some(runtime), args);
        assert!(
            out.status.success(),
            "podman --runtime {} {args:?}: {}",
            runtime.display(),
            stderr(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for UserPodman {
    fn drop(&mut self) {
        let _ = self.podman(None, &["rmi", "-f", &self.image]);
        // Rootless podman keeps a pause process holding its user namespace: it is ours.
        let pid_file = tester().xdg().join("libpod/tmp/pause.pid");
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
fn rootless_podman_runs_runr() {
    let Some(p) = UserPodman::set_up() else {
        return;
    };
    for rt in UserRuntime::all() {
        let bin = rt.bin.as_path();
        // run --rm: root inside, the user and its subuid range outside.
        let out = p.ok(
            bin,
            &[
                "run",
                "--rm",
                "--network",
                "none",
                &p.image,
                "sh",
                "-c",
                "echo hi; id -u; cat /proc/self/uid_map",
            ],
        );
        let lines: Vec<Vec<&str>> = out
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], ["hi"], "{}: {out}", rt.name);
        assert_eq!(lines[1], ["0"], "{}: {out}", rt.name);
        assert_eq!(
            lines[2],
            ["0", &tester().uid.to_string(), "1"],
            "{}: {out}",
            rt.name
        );

        // run -d, exec, stop, rm; the runtime's state lives under $XDG_RUNTIME_DIR/<runtime>.
        let name = unique(&format!("pod-{}", rt.name));
        let id = p.ok(
            bin,
            &[
                "run",
                "-d",
                "--name",
                &name,
                "--network",
                "none",
                &p.image,
                "sleep",
                "100",
            ],
        );
        let id = id.trim().to_string();
        assert!(
            rt.root().join(&id).is_dir(),
            "{}: no state in {}",
            rt.name,
            rt.root().display()
        );
        let inside = p.ok(
            bin,
            &[
                "exec",
                &name,
                "sh",
                "-c",
                "id -u; cat /proc/1/cmdline | tr '\\0' ' '",
            ],
        );
        assert_eq!(
            inside.lines().collect::<Vec<_>>(),
            ["0", "sleep 100 "],
            "{}",
            rt.name
        );
        p.ok(bin, &["stop", "-t", "1", &name]);
        let status = p.ok(bin, &["inspect", "--format", "{{.State.Status}}", &name]);
        assert_eq!(status.trim(), "exited", "{}", rt.name);
        p.ok(bin, &["rm", &name]);
        assert!(!rt.root().join(&id).exists(), "{}: state left", rt.name);
        // podman's own cleanup (conmon's exit command, `podman container cleanup ID`) may still
        // be finishing when `rm` returns (seen once under a parallel test load): a leak is what
        // stays, not what is still on its way out.
        let gone = wait_for(10, || processes_mentioning(&id).is_empty());
        let procs: Vec<String> = processes_mentioning(&id)
            .iter()
            .map(|pid| {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                format!(
                    "{pid}: {}",
                    String::from_utf8_lossy(&cmd).replace('\0', " ")
                )
            })
            .collect();
        assert!(gone, "{}: processes left: {procs:?}", rt.name);

        // --memory: on a cgroup v1 host rootless podman drops limits itself (it says so) and
        // the container runs unlimited, for either runtime; on a v2 host with a delegated
        // subtree the limit would be applied (not available here: no systemd user session).
        let out = p.podman(
            Some(bin),
            &[
                "run",
                "--rm",
                "--network",
                "none",
                "--memory",
                "20m",
                &p.image,
                "cat",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            ],
        );
        assert!(out.status.success(), "{}: {}", rt.name, stderr(&out));
        if cgroups::detect_layout().ok() != Some(cgroups::Layout::Unified) {
            assert!(
                stderr(&out).contains("not supported and ignored on cgroups V1 rootless"),
                "{}",
                stderr(&out)
            );
            let limit: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
            assert!(limit > 1 << 40, "{}: limit {limit}", rt.name);
        }
    }
}

#[test]
fn terminal_as_the_user() {
    if which("script").is_none() {
        eprintln!("SKIP terminal_as_the_user: no `script` (util-linux) to give run a terminal");
        return;
    }
    for rt in UserRuntime::all() {
        let id = unique(&format!("rt-{}", rt.name));
        let mut b = UserBundle::new(&["sh", "-c", "tty; echo term-ok"]);
        b.config["process"]["terminal"] = json!(true);
        b.write();
        // `script` gives `run` a terminal to relay; the container gets a pty of its own.
        let cmd = format!("{} run --bundle {} {id}", rt.bin.display(), b.dir.display());
        let mut c = tester().with_xdg(&["script", "-qec", &cmd, "/dev/null"]);
        let out = c.current_dir(&b.dir).output().unwrap();
        assert!(out.status.success(), "{}: {}", rt.name, stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("/dev/pts/0") && text.contains("term-ok"),
            "{}: {text:?}",
            rt.name
        );
        assert_nothing_left(&rt, &id);
    }
}

/// A cgroup v2 subtree delegated to the user (what systemd's `user@UID.service` is): the
/// directory and its `cgroup.procs`, `cgroup.subtree_control`, `cgroup.threads` chowned to the
/// user, with a leaf `self` for the runtime's own process (no process may sit in a cgroup whose
/// controllers are enabled for its children). Removed on drop.
struct Delegated {
    dir: PathBuf,
}

impl Delegated {
    fn new() -> Delegated {
        let t = tester();
        let dir = PathBuf::from(format!(
            "/sys/fs/cgroup/runr-rootless-{}",
            std::process::id()
        ));
        std::fs::create_dir(&dir).unwrap();
        std::fs::create_dir(dir.join("self")).unwrap();
        for f in [
            "",
            "cgroup.procs",
            "cgroup.subtree_control",
            "cgroup.threads",
            "self",
            "self/cgroup.procs",
        ] {
            std::os::unix::fs::chown(dir.join(f), Some(t.uid), Some(t.gid)).unwrap();
        }
        Delegated { dir }
    }

    /// `argv` as the user, its process placed (by root, before it drops to the user) in `self`;
    /// stdout and stderr go to files in `cwd` (a detached container holds them open).
    fn run_inside(&self, argv: &[&str], cwd: &Path) -> Output {
        let xdg = tester().xdg();
        let user = tester().argv(argv, &[("XDG_RUNTIME_DIR", xdg.to_str().unwrap())]);
        let procs = self.dir.join("self/cgroup.procs");
        let (out, err) = (cwd.join("stdout"), cwd.join("stderr"));
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("echo $$ > {} && exec \"$@\"", procs.display()))
            .arg("sh")
            .args(&user)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        Output {
            status,
            stdout: std::fs::read(&out).unwrap_or_default(),
            stderr: std::fs::read(&err).unwrap_or_default(),
        }
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(self.dir.join("self"));
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[test]
fn v2_delegated_subtree_takes_limits() {
    if cgroups::detect_layout().ok() != Some(cgroups::Layout::Unified) {
        eprintln!(
            "SKIP v2_delegated_subtree_takes_limits: needs a pure cgroup v2 host (scripts/test-v2.sh runs it in the v2 VM)"
        );
        return;
    }
    let deleg = Delegated::new();
    let name = deleg
        .dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    for rt in UserRuntime::all() {
        let id = unique(&format!("rv2-{}", rt.name));
        let mut b = UserBundle::new(&["sleep", "100"]);
        b.config["linux"]["cgroupsPath"] = json!(format!("/{name}/{id}"));
        b.config["linux"]["resources"] =
            json!({"memory": {"limit": 33554432}, "pids": {"limit": 20}});
        b.write();
        let bin = rt.bin.to_str().unwrap();
        let bundle = b.dir.to_str().unwrap();
        let out = deleg.run_inside(&[bin, "run", "-d", "--bundle", bundle, &id], &b.dir);
        assert!(out.status.success(), "{}: {}", rt.name, stderr(&out));
        // The limits are the container's cgroup's, in the user's subtree, as the host sees it.
        let cg = deleg.dir.join(&id);
        let read = |f: &str| std::fs::read_to_string(cg.join(f)).unwrap_or_default();
        assert_eq!(read("memory.max").trim(), "33554432", "{}", rt.name);
        assert_eq!(read("pids.max").trim(), "20", "{}", rt.name);
        let pid = rt.state(&id, &b.dir)["pid"].as_i64().unwrap().to_string();
        assert!(
            read("cgroup.procs").lines().any(|l| l == pid),
            "{}: init not in {}",
            rt.name,
            cg.display()
        );
        // The freezer is the user's too: pause and resume work.
        rt.ok(&["pause", &id], &b.dir);
        assert_eq!(rt.state(&id, &b.dir)["status"], "paused", "{}", rt.name);
        rt.ok(&["resume", &id], &b.dir);
        assert_eq!(rt.state(&id, &b.dir)["status"], "running", "{}", rt.name);
        rt.ok(&["delete", "--force", &id], &b.dir);
        assert!(!deleg.dir.join(&id).exists(), "{}: cgroup left", rt.name);
        assert_nothing_left(&rt, &id);
    }
}

#[test]
fn a_user_namespace_is_joined_by_path() {
    // A container whose user namespace another one made (as podman hands over its own): no
    // mappings to write, the init joins it (the user owns it). runc 1.1.5 refuses this ("User
    // namespaces enabled, but no uid mappings found"; runc 1.2 and later read the maps from the
    // joined namespace), so this is runr's behaviour alone.
    let t = tester();
    let runr = UserRuntime {
        name: "runr",
        bin: runr_for_user(),
    };
    let owner_id = unique("rj-owner");
    let owner = UserBundle::new(&["sleep", "100"]);
    owner.write();
    let bundle = owner.dir.to_str().unwrap();
    let out = runr.detached(&["run", "-d", "--bundle", bundle, &owner_id], &owner);
    assert!(out.status.success(), "{}", stderr(&out));
    let pid = runr.state(&owner_id, &owner.dir)["pid"].as_i64().unwrap();
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();

    let id = unique("rj-joiner");
    let mut b = UserBundle::new(&[
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user",
    ]);
    let linux = b.config["linux"].as_object_mut().unwrap();
    linux.remove("uidMappings");
    linux.remove("gidMappings");
    for n in linux["namespaces"].as_array_mut().unwrap() {
        if n["type"] == "user" {
            n["path"] = json!(format!("/proc/{pid}/ns/user"));
        }
    }
    b.write();
    let out = runr.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id], &b.dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0", "{text}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", &t.uid.to_string(), "1"]
    );
    assert_eq!(lines[2], ns.to_str().unwrap(), "{text}");
    assert_nothing_left(&runr, &id);
    runr.ok(&["delete", "--force", &owner_id], &owner.dir);
    assert_nothing_left(&runr, &owner_id);
}

#[test]
fn sysctls_as_the_user() {
    // One of the container's own (IPC) namespace works; one of the host's network namespace
    // (`spec --rootless` has no network namespace) is refused, naming it.
    let mut b = UserBundle::new(&["cat", "/proc/sys/kernel/msgmax"]);
    b.config["linux"]["sysctl"] = json!({"kernel.msgmax": "9000"});
    b.write();
    for rt in UserRuntime::all() {
        let id = unique(&format!("rs-{}", rt.name));
        let out = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id], &b.dir);
        assert!(out.status.success(), "{}: {}", rt.name, stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "9000",
            "{}",
            rt.name
        );
        assert_nothing_left(&rt, &id);
    }
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    for (name, err) in both_fail(&b) {
        assert!(err.contains("net.ipv4.ip_forward"), "{name}: {err}");
        if name == "runr" {
            assert!(
                err.contains("linux.sysctl") && err.contains("network namespace"),
                "{err}"
            );
        }
    }
}

#[test]
fn rootless_false_turns_the_cgroup_rule_off() {
    // runc's global `--rootless false`: a cgroup the user may not create is an error again.
    let b = UserBundle::new(&["true"]);
    b.write();
    for rt in UserRuntime::all() {
        let id = unique(&format!("rf-{}", rt.name));
        let bundle = b.dir.to_str().unwrap();
        let out = rt.run(
            &["--rootless", "false", "run", "--bundle", bundle, &id],
            &b.dir,
        );
        assert!(!out.status.success(), "{} accepted it", rt.name);
        let err = stderr(&out).to_lowercase();
        assert!(err.contains("permission denied"), "{}: {err}", rt.name);
        assert_nothing_left(&rt, &id);
        // And `--rootless true` (what auto detects here) runs it.
        let out = rt.run(
            &["--rootless", "true", "run", "--bundle", bundle, &id],
            &b.dir,
        );
        assert!(out.status.success(), "{}: {}", rt.name, stderr(&out));
        assert_nothing_left(&rt, &id);
    }
}
