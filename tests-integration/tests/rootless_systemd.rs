//! Rootless with the systemd cgroup driver: an unprivileged user runs `--systemd-cgroup`, and
//! the user's own systemd (`user@UID.service`, reached over the user's session bus) makes the
//! container's transient scope, as runc's rootless systemd driver does; and rootless podman,
//! whose default cgroup manager on a systemd host is systemd, runs runr with `--memory` on a
//! cgroup v2 host where the user's manager delegates memory (Fedora's and Debian's setup).
//! runr and runc (1.1.5 here) do the same scenarios side by side.
//!
//! These need systemd as PID 1 on pure cgroup v2: `scripts/test-systemd.sh` runs them in its v2
//! VM; elsewhere each test prints `SKIP` and returns. The test (root) prepares the user with
//! `scripts/rootless-user.sh` and starts its manager (`systemctl start user@UID.service`); each
//! runtime command then runs as the user (`setpriv`, a clean environment with only
//! `XDG_RUNTIME_DIR` set, so the bus is found as `$XDG_RUNTIME_DIR/bus`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use tests_integration::rootless_user::{runr_for_user, Tester};
use tests_integration::{make_rootfs, processes_mentioning, skip, unique, wait_for, which};

const LIMIT: u64 = 64 << 20;

/// systemd is PID 1 on pure cgroup v2 here, else why not (the test is then skipped).
fn unusable_host() -> Option<&'static str> {
    if !Path::new("/run/systemd/system").is_dir() {
        return Some("systemd is not PID 1 here (scripts/test-systemd.sh runs this in its v2 VM)");
    }
    if !Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        return Some("needs a pure cgroup v2 host: a user's systemd delegates only on v2 (runc refuses rootless systemd on v1 too)");
    }
    None
}

/// The user, with its systemd manager started; `None` (after a SKIP line) when the host
/// cannot have one.
fn tester() -> Option<&'static Tester> {
    if let Some(why) = unusable_host() {
        skip(why);
        return None;
    }
    Some(Tester::with_manager())
}

fn assert_ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{c:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A runtime as the user runs it: its binary and its default state root.
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
            None => skip("runc is not installed: the runc half did not run"),
        }
        v
    }

    fn root(&self, t: &Tester) -> PathBuf {
        t.xdg().join(self.name)
    }

    /// The unit of a container with no cgroupsPath: `:<runtime>:<id>` in `user.slice`.
    fn unit(&self, id: &str) -> String {
        format!("{}-{id}.scope", self.name)
    }

    /// `runtime --systemd-cgroup args` as the user in the bundle, stdio to files the user owns.
    fn run(&self, t: &Tester, args: &[&str], b: &UserBundle) -> Output {
        let mut argv = vec![self.bin.to_str().unwrap(), "--systemd-cgroup"];
        argv.extend_from_slice(args);
        t.output_via_files(t.with_xdg(&argv).current_dir(&b.dir), &b.dir)
    }

    fn ok(&self, t: &Tester, args: &[&str], b: &UserBundle) -> Output {
        let out = self.run(t, args, b);
        assert!(
            out.status.success(),
            "{} --systemd-cgroup {args:?} as the user: {}",
            self.name,
            stderr(&out)
        );
        out
    }
}

/// A bundle the user owns, with `spec --rootless`'s config (made by the user, so the mappings
/// are the user's) and the given args.
struct UserBundle {
    dir: PathBuf,
}

impl UserBundle {
    fn new(t: &Tester, args: &[&str], memory: Option<u64>) -> UserBundle {
        let parent = t.home.join("runr-it");
        let dir = parent.join(unique("sd-bundle"));
        make_rootfs(&dir.join("rootfs"));
        std::os::unix::fs::chown(&parent, Some(t.uid), Some(t.gid)).unwrap();
        t.chown_tree(&dir);
        let runr = runr_for_user();
        assert_ok(
            t.with_xdg(&[runr.to_str().unwrap(), "spec", "--rootless"])
                .current_dir(&dir),
        );
        let path = dir.join("config.json");
        let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        if let Some(limit) = memory {
            config["linux"]["resources"] = json!({ "memory": { "limit": limit } });
        }
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        std::os::unix::fs::chown(&path, Some(t.uid), Some(t.gid)).unwrap();
        UserBundle { dir }
    }
}

impl Drop for UserBundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Nothing of `id` is left: no unit in the user's manager, no cgroup, no state, no process.
fn assert_nothing_left(t: &Tester, rt: &UserRuntime, id: &str, cgroup: &Path) {
    let unit = rt.unit(id);
    assert!(
        !t.listed(&unit),
        "{}: unit {unit} left in the user's systemd",
        rt.name
    );
    assert!(
        !cgroup.exists(),
        "{}: cgroup {} left",
        rt.name,
        cgroup.display()
    );
    let state = rt.root(t).join(id);
    assert!(
        !state.exists(),
        "{}: state {} left",
        rt.name,
        state.display()
    );
    let procs = processes_mentioning(id);
    assert!(
        procs.is_empty(),
        "{}: processes of {id} left: {procs:?}",
        rt.name
    );
}

#[test]
fn the_users_systemd_makes_the_scope_with_the_memory_limit() {
    let Some(t) = tester() else {
        return;
    };
    let manager = t.manager_cgroup();
    assert_eq!(
        manager,
        format!("/user.slice/user-{0}.slice/user@{0}.service", t.uid)
    );
    for rt in UserRuntime::all() {
        let b = UserBundle::new(t, &["sleep", "1000"], Some(LIMIT));
        let id = unique(&format!("sd-{}", rt.name));
        rt.ok(t, &["run", "-d", &id], &b);
        let unit = rt.unit(&id);

        // The unit is the user's manager's, in its user.slice, with the limit as MemoryMax.
        assert_eq!(
            t.show(&unit, "ActiveState"),
            "active",
            "{}: {unit}",
            rt.name
        );
        assert_eq!(t.show(&unit, "Slice"), "user.slice", "{}", rt.name);
        assert_eq!(t.show(&unit, "MemoryMax"), LIMIT.to_string(), "{}", rt.name);
        let cg = format!("{manager}/user.slice/{unit}");
        assert_eq!(t.show(&unit, "ControlGroup"), cg, "{}", rt.name);

        // The cgroup is that unit's: the init is in it and memory.max is the limit.
        let dir = PathBuf::from(format!("/sys/fs/cgroup{cg}"));
        let max = std::fs::read_to_string(dir.join("memory.max")).unwrap();
        assert_eq!(max.trim(), LIMIT.to_string(), "{}", rt.name);
        let state = String::from_utf8(rt.ok(t, &["state", &id], &b).stdout).unwrap();
        let pid = serde_json::from_str::<Value>(&state).unwrap()["pid"].to_string();
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        assert!(
            procs.lines().any(|p| p == pid),
            "{}: init {pid} not in {procs}",
            rt.name
        );

        // update: the unit's property (SetUnitProperties over the user's bus) and the file.
        let doubled = (2 * LIMIT).to_string();
        rt.ok(t, &["update", "--memory", &doubled, &id], &b);
        assert_eq!(t.show(&unit, "MemoryMax"), doubled, "{}: update", rt.name);
        let max = std::fs::read_to_string(dir.join("memory.max")).unwrap();
        assert_eq!(max.trim(), doubled, "{}: update", rt.name);

        // delete: the scope is stopped and gone from the user's manager, with its cgroup.
        rt.ok(t, &["delete", "--force", &id], &b);
        assert_nothing_left(t, &rt, &id, &dir);
    }
}

#[test]
fn an_oom_in_the_users_scope_kills_the_container() {
    let Some(t) = tester() else {
        return;
    };
    for rt in UserRuntime::all() {
        // 200 MiB in one read buffer under a 64 MiB limit: the kernel's OOM killer, exit 137.
        let dd = ["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"];
        let b = UserBundle::new(t, &dd, Some(LIMIT));
        let id = unique(&format!("sd-oom-{}", rt.name));
        let out = rt.run(t, &["run", &id], &b);
        assert_eq!(
            out.status.code(),
            Some(137),
            "{}: {}",
            rt.name,
            stderr(&out)
        );
        let dir = PathBuf::from(format!(
            "/sys/fs/cgroup{}/user.slice/{}",
            t.manager_cgroup(),
            rt.unit(&id)
        ));
        assert_nothing_left(t, &rt, &id, &dir);
    }
}

#[test]
fn the_users_systemd_without_a_session_bus_is_a_clear_error() {
    let Some(t) = tester() else {
        return;
    };
    for rt in UserRuntime::all() {
        let b = UserBundle::new(t, &["true"], None);
        let id = unique(&format!("sd-nobus-{}", rt.name));
        // A runtime directory of the user's without a bus socket in it, and no bus address.
        let xdg = b.dir.join("xdg");
        std::fs::create_dir(&xdg).unwrap();
        std::os::unix::fs::chown(&xdg, Some(t.uid), Some(t.gid)).unwrap();
        let root = xdg.join("state");
        let argv = [
            rt.bin.to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
            "--systemd-cgroup",
            "run",
            &id,
        ];
        let out = t
            .command(&argv, &[("XDG_RUNTIME_DIR", xdg.to_str().unwrap())])
            .current_dir(&b.dir)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{}: ran without a bus", rt.name);
        let err = stderr(&out);
        // Both name the package that gives a user a session bus (runc 1.1.5: "failed to
        // connect to dbus (hint: for rootless containers, maybe you need to install
        // dbus-user-session package ...)"; today's runc: "could not detect
        // DBUS_SESSION_BUS_ADDRESS from the environment; make sure you have installed the
        // dbus-user-session or dbus-daemon package").
        assert!(err.contains("dbus-user-session"), "{}: {err}", rt.name);
        if rt.name == "runr" {
            assert!(err.contains("bus does not exist"), "{err}");
        }
        assert!(!root.join(&id).exists(), "{}: state left", rt.name);
        assert!(!t.listed(&rt.unit(&id)), "{}: unit left", rt.name);
        assert!(
            processes_mentioning(&id).is_empty(),
            "{}: processes left",
            rt.name
        );
    }
}

/// Rootless podman as the user on the systemd host, offline: its default cgroup manager there
/// (systemd, over the user's bus), file events, no network, one local image.
struct UserPodman {
    image: String,
}

impl UserPodman {
    fn set_up(t: &Tester) -> Option<UserPodman> {
        if std::env::var("RUNR_SKIP_ENGINES").is_ok_and(|v| v == "1") {
            skip("RUNR_SKIP_ENGINES=1: rootless podman with the user's systemd did not run");
            return None;
        }
        if which("podman").is_none() {
            test_skip::missing_tool("podman", "rootless podman on runr");
            return None;
        }
        let dir = PathBuf::from(format!(
            "/tmp/runr-rootless-sd-image-{}",
            std::process::id()
        ));
        make_rootfs(&dir.join("rootfs"));
        // A private busybox: tar fails on a file whose inode changes under it, and the chown
        // below must not reach the host's.
        tests_integration::break_hard_links(&dir.join("rootfs"));
        let tar = dir.join("image.tar");
        assert_ok(
            Command::new("tar")
                .arg("-C")
                .arg(dir.join("rootfs"))
                .arg("-cf")
                .arg(&tar)
                .arg("."),
        );
        assert_ok(
            Command::new("chown")
                .arg("-R")
                .arg(format!("{}:{}", t.uid, t.gid))
                .arg(&dir),
        );
        let p = UserPodman {
            image: format!("localhost/runr-rootless-sd:{}", std::process::id()),
        };
        let import = [
            "import",
            "-q",
            "-c",
            "CMD [\"/bin/sh\"]",
            tar.to_str().unwrap(),
            &p.image,
        ];
        let out = p.podman(t, None, "systemd", &import);
        assert!(out.status.success(), "podman import: {}", stderr(&out));
        let _ = std::fs::remove_dir_all(&dir);
        Some(p)
    }

    /// `podman --cgroup-manager MANAGER [--runtime BIN] args` as the user.
    fn podman(&self, t: &Tester, runtime: Option<&Path>, manager: &str, args: &[&str]) -> Output {
        let mut argv = vec![
            "podman",
            "--cgroup-manager",
            manager,
            "--events-backend",
            "file",
        ];
        if let Some(rt) = runtime {
            argv.extend(["--runtime", rt.to_str().unwrap()]);
        }
        argv.extend_from_slice(args);
        t.with_xdg(&argv).current_dir(&t.home).output().unwrap()
    }
}

impl Drop for UserPodman {
    fn drop(&mut self) {
        if let Some(t) = tester() {
            let _ = self.podman(t, None, "systemd", &["rmi", "-f", &self.image]);
            // Rootless podman's pause process holds its user namespace: it is ours to end.
            let pid_file = t.xdg().join("libpod/tmp/pause.pid");
            if let Some(pid) = std::fs::read_to_string(pid_file)
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
}

#[test]
fn rootless_podman_with_memory_on_the_users_systemd() {
    let Some(t) = tester() else {
        return;
    };
    let Some(p) = UserPodman::set_up(t) else {
        return;
    };
    for rt in UserRuntime::all() {
        let bin = rt.bin.as_path();
        // --memory: podman asks for the limit, the runtime has the user's systemd make the
        // scope with it; inside (podman's private cgroup namespace) memory.max is the limit.
        let name = unique(&format!("sd-pod-{}", rt.name));
        let read = [
            "run",
            "--rm",
            "--name",
            &name,
            "--network",
            "none",
            "--memory",
            "64m",
            &p.image,
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup",
        ];
        let out = p.podman(t, Some(bin), "systemd", &read);
        assert!(out.status.success(), "{}: {}", rt.name, stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.lines().next(),
            Some(LIMIT.to_string().as_str()),
            "{}: {text}",
            rt.name
        );

        // An OOM under the limit: podman reports exit 137.
        let oom = [
            "run",
            "--rm",
            "--network",
            "none",
            "--memory",
            "64m",
            &p.image,
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=200M",
            "count=1",
        ];
        let out = p.podman(t, Some(bin), "systemd", &oom);
        assert_eq!(
            out.status.code(),
            Some(137),
            "{}: {}",
            rt.name,
            stderr(&out)
        );
        // Nothing of podman's containers is left in the user's manager (conmon's own scope
        // ends with conmon, a moment after podman returns: waited for).
        let gone = wait_for(60, || {
            let units = t.systemctl(&["list-units", "--all", "--plain", "--no-legend"]);
            !units.lines().any(|l| l.starts_with("libpod-"))
        });
        let units = t.systemctl(&["list-units", "--all", "--plain", "--no-legend"]);
        assert!(gone, "{}: libpod units left: {units}", rt.name);
    }
}

#[test]
fn rootless_podman_cgroupfs_in_the_users_delegated_subtree_takes_memory() {
    let Some(t) = tester() else {
        return;
    };
    let Some(p) = UserPodman::set_up(t) else {
        return;
    };
    for rt in UserRuntime::all() {
        // podman's cgroupfs manager, rootless, names no cgroupsPath: the runtime makes the
        // container's cgroup beside its own. Started in a scope of the user's systemd
        // (`systemd-run --user --scope`), that is inside the subtree user@UID.service delegates
        // to the user, where the runtime may make cgroups and enable memory.
        let script = format!(
            "podman --cgroup-manager cgroupfs --events-backend file --runtime {} run --rm \
             --network none --memory 64m {} sh -c 'cat /sys/fs/cgroup/memory.max'; \
             podman --cgroup-manager cgroupfs --events-backend file --runtime {0} run --rm \
             --network none --memory 64m {1} dd if=/dev/zero of=/dev/null bs=200M count=1; \
             echo exit=$?",
            rt.bin.display(),
            p.image
        );
        let argv = [
            "systemd-run",
            "--user",
            "--scope",
            "--quiet",
            "sh",
            "-c",
            &script,
        ];
        let out = t.with_xdg(&argv).current_dir(&t.home).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some(LIMIT.to_string().as_str()),
            "{}: {text} {}",
            rt.name,
            stderr(&out)
        );
        assert_eq!(
            lines.last().copied(),
            Some("exit=137"),
            "{}: {text} {}",
            rt.name,
            stderr(&out)
        );
    }
}
