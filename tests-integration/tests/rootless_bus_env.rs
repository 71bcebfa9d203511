//! A rootless `--systemd-cgroup` container's scope belongs to the user's own systemd, reached
//! over the user's session bus, which `create` finds from its environment
//! (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`). Later commands may run with
//! another environment (a shim, `sudo -u`, cron): runr keeps the bus and the manager's identity
//! (its `ControlGroup`) in state.json and uses them, so `update` and `delete` reach the same
//! manager; a recorded bus that is gone, or that now leads to another manager, is a clear error.
//! runc (1.1.5 here, and today's libcontainer/cgroups/systemd/user.go) looks the bus up in each
//! command's environment again: its half asserts what it does.
//!
//! Needs systemd as PID 1 on pure cgroup v2: `scripts/test-systemd.sh` runs it in its v2 VM
//! (the user's manager is brought up as for tests/rootless_systemd.rs); elsewhere each test
//! prints `SKIP` and returns.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};
use tests_integration::rootless_user::{runr_for_user, Tester};
use tests_integration::{make_rootfs, processes_mentioning, skip, unique, which};

const LIMIT: u64 = 64 << 20;

/// The user with its systemd running, or `None` after a SKIP line.
fn tester() -> Option<&'static Tester> {
    if !Path::new("/run/systemd/system").is_dir() {
        skip("systemd is not PID 1 here (scripts/test-systemd.sh runs this in its v2 VM)");
        return None;
    }
    if !Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        skip("needs a pure cgroup v2 host: a user's systemd delegates only on v2");
        return None;
    }
    Some(Tester::with_manager())
}

/// The environment a command runs with, besides the login-like basics (PATH, HOME, USER).
#[derive(Clone, Copy)]
enum Env {
    /// As in the user's login session: `XDG_RUNTIME_DIR` set.
    Login,
    /// As a shim, `sudo -u` or cron has it: neither `XDG_RUNTIME_DIR` nor a bus address.
    Bare,
    /// A bus address naming a socket that does not exist.
    WrongBus,
}

/// One runtime as the user runs it, with a state root of its own given on every command (so
/// that the root does not depend on the environment either).
struct UserRuntime {
    name: &'static str,
    bin: PathBuf,
    root: PathBuf,
}

impl UserRuntime {
    fn all(t: &Tester) -> Vec<UserRuntime> {
        let root = |name: &str| t.xdg().join(format!("{name}-bus-env"));
        let mut v = vec![UserRuntime {
            name: "runr",
            bin: runr_for_user(),
            root: root("runr"),
        }];
        match which("runc") {
            Some(bin) => v.push(UserRuntime {
                name: "runc",
                bin,
                root: root("runc"),
            }),
            None => test_skip::missing_tool("runc", "the runc half of rootless_bus_env"),
        }
        v
    }

    fn unit(&self, id: &str) -> String {
        format!("{}-{id}.scope", self.name)
    }

    /// `runtime --root R --systemd-cgroup args` as the user in `env`, stdio to files.
    fn run(&self, t: &Tester, env: Env, args: &[&str], b: &UserBundle) -> Output {
        let mut argv = vec![self.bin.to_str().unwrap(), "--root"];
        argv.push(self.root.to_str().unwrap());
        argv.push("--systemd-cgroup");
        argv.extend_from_slice(args);
        let xdg = t.xdg();
        let vars: &[(&str, &str)] = match env {
            Env::Login => &[("XDG_RUNTIME_DIR", xdg.to_str().unwrap())],
            Env::Bare => &[],
            Env::WrongBus => &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
        };
        t.output_via_files(t.command(&argv, vars).current_dir(&b.dir), &b.dir)
    }

    fn ok(&self, t: &Tester, env: Env, args: &[&str], b: &UserBundle) -> Output {
        let out = self.run(t, env, args, b);
        assert!(
            out.status.success(),
            "{} {args:?} as the user: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn state_file(&self, id: &str) -> PathBuf {
        self.root.join(id).join("state.json")
    }
}

/// A bundle the user owns running `args` under a memory limit, `spec --rootless`'s config.
struct UserBundle {
    dir: PathBuf,
}

/// The container process of most tests: it waits (as pid 1 of its namespace it ignores SIGTERM).
const SLEEP: &[&str] = &["sleep", "1000"];

impl UserBundle {
    fn new(t: &Tester, args: &[&str]) -> UserBundle {
        let parent = t.home.join("runr-it");
        let dir = parent.join(unique("bus-env"));
        make_rootfs(&dir.join("rootfs"));
        std::os::unix::fs::chown(&parent, Some(t.uid), Some(t.gid)).unwrap();
        t.chown_tree(&dir);
        let runr = runr_for_user();
        let spec = t
            .with_xdg(&[runr.to_str().unwrap(), "spec", "--rootless"])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(spec.status.success(), "runr spec --rootless");
        let path = dir.join("config.json");
        let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        config["linux"]["resources"] = json!({ "memory": { "limit": LIMIT } });
        std::fs::write(&path, config.to_string()).unwrap();
        std::os::unix::fs::chown(&path, Some(t.uid), Some(t.gid)).unwrap();
        UserBundle { dir }
    }
}

impl Drop for UserBundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The container's cgroup: below the user's manager, in user.slice.
fn cgroup_dir(t: &Tester, rt: &UserRuntime, id: &str) -> PathBuf {
    PathBuf::from(format!(
        "/sys/fs/cgroup{}/user.slice/{}",
        t.manager_cgroup(),
        rt.unit(id)
    ))
}

fn memory_max(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("memory.max"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Nothing of `id` is left: no unit, no cgroup, no state, no process.
fn assert_nothing_left(t: &Tester, rt: &UserRuntime, id: &str, cgroup: &Path) {
    assert!(!t.listed(&rt.unit(id)), "{}: unit left", rt.name);
    assert!(!cgroup.exists(), "{}: cgroup {cgroup:?} left", rt.name);
    assert!(!rt.root.join(id).exists(), "{}: state left", rt.name);
    let procs = processes_mentioning(id);
    assert!(procs.is_empty(), "{}: processes left: {procs:?}", rt.name);
}

#[test]
fn update_and_delete_reach_the_users_systemd_from_another_environment() {
    let Some(t) = tester() else {
        return;
    };
    for rt in UserRuntime::all(t) {
        let b = UserBundle::new(t, SLEEP);
        let id = unique(&format!("busenv-{}", rt.name));
        rt.ok(t, Env::Login, &["run", "-d", &id], &b);
        let (unit, dir) = (rt.unit(&id), cgroup_dir(t, &rt, &id));
        assert_eq!(t.show(&unit, "ActiveState"), "active", "{}", rt.name);
        let doubled = (2 * LIMIT).to_string();
        let update = ["update", "--memory", doubled.as_str(), id.as_str()];
        if rt.name == "runr" {
            // No bus in the environment, then a wrong one: the recorded bus is used.
            rt.ok(t, Env::Bare, &update, &b);
            assert_eq!(
                t.show(&unit, "MemoryMax"),
                doubled,
                "runr: update, bare env"
            );
            assert_eq!(memory_max(&dir), doubled);
            let tripled = (3 * LIMIT).to_string();
            rt.ok(t, Env::WrongBus, &["update", "--memory", &tripled, &id], &b);
            assert_eq!(
                t.show(&unit, "MemoryMax"),
                tripled,
                "runr: update, wrong bus"
            );
            rt.ok(t, Env::Bare, &["kill", &id, "KILL"], &b);
            rt.ok(t, Env::Bare, &["delete", "--force", &id], &b);
        } else {
            // runc looks the bus up again: without one in the environment (nor a
            // `systemctl --user show-environment` that could tell it), update fails and the
            // unit keeps its limit.
            let out = rt.run(t, Env::Bare, &update, &b);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(!out.status.success(), "runc: update without a bus: {err}");
            assert!(err.contains("failed to connect to dbus"), "runc: {err}");
            assert_eq!(t.show(&unit, "MemoryMax"), LIMIT.to_string(), "runc");
            // Its delete --force succeeds all the same: it kills the processes through the
            // cgroup, and systemd stops a transient scope whose last process is gone.
            let out = rt.run(t, Env::Bare, &["delete", "--force", &id], &b);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                out.status.success(),
                "runc: delete --force, bare env: {err}"
            );
            assert!(
                tests_integration::wait_for(30, || !t.listed(&unit)),
                "runc: the scope outlived its processes"
            );
        }
        assert_nothing_left(t, &rt, &id, &dir);
    }
}

/// Rewrites the recorded bus socket in runr's state.json (kept the user's file: same owner).
fn set_recorded_socket(path: &Path, socket: &str) -> String {
    let mut st: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let bus = &mut st["cgroup"]["systemd_user_bus"];
    let old = bus["socket"]
        .as_str()
        .expect("the bus is recorded")
        .to_string();
    bus["socket"] = json!(socket);
    std::fs::write(path, st.to_string()).unwrap();
    old
}

#[test]
fn a_recorded_bus_that_is_gone_or_leads_elsewhere_is_a_clear_error() {
    let Some(t) = tester() else {
        return;
    };
    let rt = UserRuntime::all(t).remove(0);
    let b = UserBundle::new(t, SLEEP);
    let id = unique("busenv-gone");
    rt.ok(t, Env::Login, &["run", "-d", &id], &b);
    let (unit, dir) = (rt.unit(&id), cgroup_dir(t, &rt, &id));
    let state = rt.state_file(&id);
    let st: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let recorded = &st["cgroup"]["systemd_user_bus"];
    assert_eq!(recorded["manager"], json!(t.manager_cgroup()), "{st}");
    assert_eq!(recorded["socket"], json!(t.xdg().join("bus")), "{st}");
    let doubled = (2 * LIMIT).to_string();
    let update = ["update", "--memory", doubled.as_str(), id.as_str()];

    // Gone (a manager stopped since): named, and nothing changed, even with a good environment.
    let gone = t.xdg().join("gone-bus");
    let real = set_recorded_socket(&state, gone.to_str().unwrap());
    let out = rt.run(t, Env::Login, &update, &b);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "update over a gone bus: {err}");
    assert!(
        err.contains(gone.to_str().unwrap()),
        "names the socket: {err}"
    );
    assert!(err.contains("cannot be reached"), "{err}");
    assert_eq!(t.show(&unit, "MemoryMax"), LIMIT.to_string());

    // Another manager behind the socket (here the system's): refused, not driven.
    set_recorded_socket(&state, "/run/dbus/system_bus_socket");
    let out = rt.run(t, Env::Login, &update, &b);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "update over another manager's bus: {err}"
    );
    assert!(
        err.contains("not to the one that made this container"),
        "{err}"
    );
    assert_eq!(t.show(&unit, "MemoryMax"), LIMIT.to_string());

    // The record back: delete works and leaves nothing.
    set_recorded_socket(&state, &real);
    rt.ok(t, Env::Bare, &["delete", "--force", &id], &b);
    assert_nothing_left(t, &rt, &id, &dir);
}

/// Starts the user's manager again when dropped (also when the test fails half-way), for the
/// tests after it.
struct RestartManager(&'static Tester);

impl Drop for RestartManager {
    fn drop(&mut self) {
        self.0.start_manager();
    }
}

#[test]
fn after_the_users_manager_stopped_delete_cleans_up() {
    let Some(t) = tester() else {
        return;
    };
    for mut rt in UserRuntime::all(t) {
        // A state root that outlives the manager (its runtime directory goes with it), as a
        // shim's or podman's does.
        rt.root = t.home.join("runr-it").join(format!("{}-state", rt.name));
        // Ends on the SIGTERM systemd sends when the manager stops (else it waits 90 s to kill).
        let b = UserBundle::new(t, &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]);
        let id = unique(&format!("busenv-stop-{}", rt.name));
        rt.ok(t, Env::Login, &["run", "-d", &id], &b);
        let dir = cgroup_dir(t, &rt, &id);
        // The user logs out without lingering: the manager stops, and its units with it.
        let restart = RestartManager(t);
        let manager = format!("user@{}.service", t.uid);
        let stop = std::process::Command::new("systemctl")
            .args(["stop", &manager])
            .output()
            .unwrap();
        assert!(stop.status.success(), "systemctl stop {manager}");
        assert!(
            tests_integration::wait_for(60, || !dir.exists()),
            "{}: the scope's cgroup outlived its manager",
            rt.name
        );
        let doubled = (2 * LIMIT).to_string();
        let out = rt.run(t, Env::Login, &["update", "--memory", &doubled, &id], &b);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        // Its processes went with the unit: the container has stopped, for both runtimes (a
        // live container whose recorded bus is gone: the test above).
        assert!(!out.status.success(), "{}: update: {err}", rt.name);
        assert!(err.contains("container not running"), "{}: {err}", rt.name);
        // delete --force: the unit and its cgroup are gone with the manager; the rest is
        // removed (runc 1.1.5 succeeds too).
        let out = rt.run(t, Env::Login, &["delete", "--force", &id], &b);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{}: delete --force: {err}", rt.name);
        drop(restart);
        // runr's first delete --force removes the state too; runc 1.1.5 may leave it (its
        // delete of a container it cannot reach the manager of), so runc gets a second one.
        if rt.name == "runr" {
            assert!(
                !rt.root.join(&id).exists(),
                "runr: state left by delete --force"
            );
        } else if rt.root.join(&id).exists() {
            eprintln!(
                "{}: state left after delete --force, deleting again",
                rt.name
            );
            let _ = rt.run(t, Env::Login, &["delete", "--force", &id], &b);
        }
        assert_nothing_left(t, &rt, &id, &dir);
    }
}
