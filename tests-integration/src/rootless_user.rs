//! The unprivileged user the rootless tests run runtimes as (`scripts/rootless-user.sh`: the
//! user `runr-tester`, its /etc/subuid and /etc/subgid ranges, its XDG_RUNTIME_DIR, uidmap),
//! optionally with its own systemd (`user@UID.service`), and runr's binary where that user can
//! read it. Shared by tests/rootless.rs, tests/rootless_systemd.rs and tests/rootless_bus_env.rs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::wait_for;

/// The unprivileged user, made once per test process ([`Tester::get`]).
pub struct Tester {
    /// The user's name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// Its home directory (bundles go below it).
    pub home: PathBuf,
}

impl Tester {
    /// The user, made (or found) by `scripts/rootless-user.sh` once per test process.
    pub fn get() -> &'static Tester {
        static T: OnceLock<Tester> = OnceLock::new();
        T.get_or_init(|| {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/rootless-user.sh");
            let out = Command::new("bash")
                .arg(&script)
                .output()
                .expect("run scripts/rootless-user.sh");
            assert!(
                out.status.success(),
                "rootless-user.sh failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let mut words = text.split_whitespace();
            let name = words.next().expect("user name").to_string();
            let uid: u32 = words.next().and_then(|u| u.parse().ok()).expect("uid");
            let gid = id_field(&name, "-g");
            Tester {
                home: PathBuf::from(format!("/home/{name}")),
                name,
                uid,
                gid,
            }
        })
    }

    /// The user with its systemd manager started (once per test process): needs systemd as
    /// PID 1 (the callers check first).
    pub fn with_manager() -> &'static Tester {
        static STARTED: OnceLock<()> = OnceLock::new();
        let t = Tester::get();
        STARTED.get_or_init(|| t.start_manager());
        t
    }

    /// The user's runtime directory, `/run/user/UID`.
    pub fn xdg(&self) -> PathBuf {
        PathBuf::from(format!("/run/user/{}", self.uid))
    }

    /// `systemctl start user@UID.service`, as a login does, and wait for its session bus (again
    /// after a test stopped it; a running manager is left as it is).
    pub fn start_manager(&self) {
        // user@.service runs the PAM stack "systemd-user", which sets XDG_RUNTIME_DIR for the
        // manager (pam_systemd). A host without that stack file (this one: no libpam-systemd
        // config) gets a runtime drop-in doing the same, gone at the next boot.
        if !Path::new("/etc/pam.d/systemd-user").exists() {
            let dir = Path::new("/run/systemd/system/user@.service.d");
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(
                dir.join("runr-rootless-test.conf"),
                "[Service]\nPAMName=\nEnvironment=XDG_RUNTIME_DIR=/run/user/%i\n",
            )
            .unwrap();
            assert_ok(Command::new("systemctl").arg("daemon-reload"));
        }
        let unit = format!("user@{}.service", self.uid);
        assert_ok(Command::new("systemctl").args(["start", &unit]));
        let bus = self.xdg().join("bus");
        assert!(
            wait_for(60, || bus.exists()),
            "{unit} started but its session bus {} never appeared (is dbus-user-session installed?)",
            bus.display()
        );
    }

    /// The command line running `argv` as the user with a login-like clean environment; `env`
    /// adds to it.
    pub fn argv(&self, argv: &[&str], env: &[(&str, &str)]) -> Vec<String> {
        let mut v: Vec<String> = ["setpriv", "--reuid", &self.name, "--regid", &self.name]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(["--init-groups", "env", "-i"].map(String::from));
        v.push("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into());
        v.push(format!("HOME={}", self.home.display()));
        v.push(format!("USER={}", self.name));
        v.push(format!("LOGNAME={}", self.name));
        v.extend(env.iter().map(|(k, val)| format!("{k}={val}")));
        v.extend(argv.iter().map(|s| s.to_string()));
        v
    }

    /// `argv` as the user (see [`Tester::argv`]), stdin from /dev/null.
    pub fn command(&self, argv: &[&str], env: &[(&str, &str)]) -> Command {
        let full = self.argv(argv, env);
        let mut c = Command::new(&full[0]);
        c.args(&full[1..]);
        c.stdin(Stdio::null());
        c
    }

    /// [`Tester::command`] with `XDG_RUNTIME_DIR` set, as a login session has it.
    pub fn with_xdg(&self, argv: &[&str]) -> Command {
        let xdg = self.xdg();
        self.command(argv, &[("XDG_RUNTIME_DIR", xdg.to_str().unwrap())])
    }

    /// `systemctl --user ARGS` as the user: the user's manager, not the system's.
    pub fn systemctl(&self, args: &[&str]) -> String {
        let mut argv = vec!["systemctl", "--user", "--no-pager"];
        argv.extend_from_slice(args);
        let out = self.with_xdg(&argv).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A property of one of the user's units (`systemctl --user show UNIT -p PROP --value`).
    pub fn show(&self, unit: &str, prop: &str) -> String {
        self.systemctl(&["show", unit, "-p", prop, "--value"])
            .trim()
            .to_string()
    }

    /// Whether the user's manager lists `unit` (`list-units --all`: loaded, failed or not).
    pub fn listed(&self, unit: &str) -> bool {
        self.systemctl(&["list-units", "--all", "--plain", "--no-legend"])
            .lines()
            .any(|l| l.split_whitespace().next() == Some(unit))
    }

    /// The user's manager's cgroup, e.g. `/user.slice/user-1001.slice/user@1001.service`.
    pub fn manager_cgroup(&self) -> String {
        self.systemctl(&["show", "-p", "ControlGroup", "--value"])
            .trim()
            .to_string()
    }

    /// A file created at `path` and owned by the user (a runtime chowns its stdio to the
    /// container's root: the user).
    pub fn file(&self, path: &Path) -> std::fs::File {
        let f = std::fs::File::create(path).unwrap();
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).unwrap();
        f
    }

    /// Runs `c` (a command as the user) to completion with its stdout and stderr in files the
    /// user owns in `dir` (a runtime's children may outlive it: a pipe would stay open), and
    /// reads them back.
    pub fn output_via_files(&self, c: &mut Command, dir: &Path) -> Output {
        let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
        let status = c
            .stdout(self.file(&out_path))
            .stderr(self.file(&err_path))
            .status()
            .unwrap();
        Output {
            status,
            stdout: std::fs::read(&out_path).unwrap_or_default(),
            stderr: std::fs::read(&err_path).unwrap_or_default(),
        }
    }

    /// `chown -R` of `dir` to the user, after giving its hard-linked files copies of their own
    /// (a rootfs links the host's busybox, which must not change owner).
    pub fn chown_tree(&self, dir: &Path) {
        crate::break_hard_links(dir);
        assert_ok(
            Command::new("chown")
                .args(["-R", &format!("{}:{}", self.uid, self.gid)])
                .arg(dir),
        );
    }
}

fn id_field(user: &str, flag: &str) -> u32 {
    let out = Command::new("id").args([flag, user]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Runs `c`, which must succeed; its stdout.
fn assert_ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// runr's binary copied where the user can read it (the workspace may not be): one copy per test
/// process, `/tmp/runr-rootless-bin/<pid>/runr`. A fixed path shared by every process let a test
/// run of another checkout on the same machine (CI beside a developer) rename its own build over
/// this one's mid-run. The copies of processes that are gone are removed first.
pub fn runr_for_user() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = std::env::var_os("RUNR_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/runr"));
        let top = PathBuf::from("/tmp/runr-rootless-bin");
        std::fs::create_dir_all(&top).unwrap();
        std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o755)).unwrap();
        for e in std::fs::read_dir(&top).unwrap().flatten() {
            // (Other entries are left: a process of an older checkout may be running them.)
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok();
            if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let dir = top.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("runr");
        std::fs::copy(&src, &bin).expect("copy runr for the user (cargo build first)");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    })
    .clone()
}
