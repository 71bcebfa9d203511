//! What every case stands on: the runtime under test (its own `--root`), bundles (a busybox-static
//! rootfs plus the static `probe` checker, and a runc-`spec`-shaped config edited as JSON), runtime
//! commands with a timeout and their output in files, and what the host has (cgroup controllers,
//! LSMs, namespaces) so that a case is skipped only when the host lacks the feature.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Why a case did not pass.
#[derive(Debug)]
pub enum Why {
    Fail(String),
    Skip(String),
}

/// A case's result: `Ok` = passed.
pub type R = Result<(), Why>;

/// Fails the case with a formatted reason.
#[macro_export]
macro_rules! fail {
    ($($t:tt)*) => { return Err($crate::harness::Why::Fail(format!($($t)*))) };
}

/// Fails the case unless `cond` holds.
#[macro_export]
macro_rules! check {
    ($cond:expr, $($t:tt)*) => { if !$cond { $crate::fail!($($t)*); } };
}

/// Skips the case (the host lacks a feature) with a formatted reason.
#[macro_export]
macro_rules! skip {
    ($($t:tt)*) => { return Err($crate::harness::Why::Skip(format!($($t)*))) };
}

/// Fails unless the two values are equal; `what` names the value.
#[macro_export]
macro_rules! check_eq {
    ($got:expr, $want:expr, $what:expr) => {
        match (&$got, &$want) {
            (g, w) => {
                if g != w {
                    $crate::fail!("{}: got {:?}, want {:?}", $what, g, w);
                }
            }
        }
    };
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique to this process: `<prefix>-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Where bundles and state roots live.
pub fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join("oci-conformance");
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The top cgroup every bundle's cgroupsPath lives under.
pub const CGROUP_PARENT: &str = "oci-conformance";

/// A runtime command's result.
#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
    /// A one-line summary for failure messages.
    pub fn brief(&self) -> String {
        let err: String = self.stderr.trim().chars().take(300).collect();
        format!("exit {}: {}", self.code, err.replace('\n', " | "))
    }
}

/// A runc-compatible runtime binary with a private state root.
pub struct Runtime {
    pub name: String,
    pub bin: PathBuf,
    pub root: PathBuf,
}

const TIMEOUT: Duration = Duration::from_secs(30);

impl Runtime {
    pub fn new(name: &str, bin: &Path) -> Runtime {
        Runtime {
            name: name.to_string(),
            bin: bin.to_path_buf(),
            root: scratch().join(unique(&format!("root-{name}"))),
        }
    }

    /// Runs `<bin> --root <root> args...` with stdin from /dev/null and stdout/stderr in files
    /// under `dir` (the init of `create` inherits them: a pipe would stay open for its life).
    pub fn cmd(&self, dir: &Path, args: &[&str]) -> Out {
        self.cmd_env(dir, args, &[])
    }

    pub fn cmd_env(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
        let tag = unique("out");
        let out_path = dir.join(format!(".{tag}.stdout"));
        let err_path = dir.join(format!(".{tag}.stderr"));
        let (Ok(o), Ok(e)) = (
            std::fs::File::create(&out_path),
            std::fs::File::create(&err_path),
        ) else {
            return Out {
                code: -1,
                stdout: String::new(),
                stderr: format!("cannot create output files in {}", dir.display()),
            };
        };
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null()).stdout(o).stderr(e).current_dir(dir);
        for (k, v) in env {
            c.env(k, v);
        }
        let code = match c.spawn() {
            Err(err) => {
                return Out {
                    code: -1,
                    stdout: String::new(),
                    stderr: format!("spawn {}: {err}", self.bin.display()),
                }
            }
            Ok(mut child) => {
                let end = Instant::now() + TIMEOUT;
                loop {
                    if let Ok(Some(st)) = child.try_wait() {
                        break st.code().unwrap_or_else(|| {
                            128 + std::os::unix::process::ExitStatusExt::signal(&st).unwrap_or(0)
                        });
                    }
                    if Instant::now() > end {
                        let _ = child.kill();
                        let _ = child.wait();
                        break -2;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        };
        let read = |p: &Path| {
            let s = String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
            let _ = std::fs::remove_file(p);
            s
        };
        let mut out = Out {
            code,
            stdout: read(&out_path),
            stderr: read(&err_path),
        };
        if code == -2 {
            out.stderr = format!("timed out after {TIMEOUT:?}: {}", out.stderr);
        }
        out
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.cmd(&scratch(), &["delete", "--force", &id]);
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// What the host offers, probed once.
pub struct Host {
    /// v1 controller (or `name=...`) → mount point.
    pub v1: HashMap<String, PathBuf>,
    pub unified: Option<PathBuf>,
    /// True when / is a cgroup2 mount (pure v2 host).
    pub pure_v2: bool,
    pub apparmor: bool,
    pub selinux: bool,
    pub timens: bool,
    pub cap_bnd: u64,
    /// A real block device (major, minor) for blkio throttling cases.
    pub block_dev: Option<(u32, u32)>,
    pub hugepage_sizes: Vec<String>,
}

impl Host {
    pub fn probe() -> Host {
        let mut v1 = HashMap::new();
        let mut unified = None;
        let mut pure_v2 = false;
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for l in mountinfo.lines() {
            let Some((pre, post)) = l.split_once(" - ") else {
                continue;
            };
            let mut post = post.split(' ');
            let fstype = post.next().unwrap_or("");
            let superopts = post.nth(1).unwrap_or("");
            let mp = PathBuf::from(pre.split(' ').nth(4).unwrap_or(""));
            if fstype == "cgroup" {
                for o in superopts.split(',') {
                    if !matches!(o, "rw" | "ro" | "nosuid" | "nodev" | "noexec" | "relatime") {
                        v1.insert(o.to_string(), mp.clone());
                    }
                }
            } else if fstype == "cgroup2" {
                if mp == Path::new("/sys/fs/cgroup") {
                    pure_v2 = true;
                }
                unified = Some(mp);
            }
        }
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let cap_bnd = status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0);
        let mut block_dev = None;
        if let Ok(rd) = std::fs::read_dir("/sys/block") {
            let mut names: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for n in names {
                if n.starts_with("loop") || n.starts_with("ram") || n.starts_with("zram") {
                    continue;
                }
                if let Ok(dev) = std::fs::read_to_string(format!("/sys/block/{n}/dev")) {
                    if let Some((a, b)) = dev.trim().split_once(':') {
                        block_dev = Some((a.parse().unwrap_or(0), b.parse().unwrap_or(0)));
                        break;
                    }
                }
            }
        }
        let hugepage_sizes = std::fs::read_dir("/sys/kernel/mm/hugepages")
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        let kb: u64 = n
                            .strip_prefix("hugepages-")?
                            .strip_suffix("kB")?
                            .parse()
                            .ok()?;
                        Some(if kb >= 1 << 20 {
                            format!("{}GB", kb >> 20)
                        } else if kb >= 1024 {
                            format!("{}MB", kb >> 10)
                        } else {
                            format!("{kb}KB")
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Host {
            v1,
            unified,
            pure_v2,
            apparmor: std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
                .is_ok_and(|s| s.trim() == "Y")
                && Path::new("/sys/kernel/security/apparmor").exists(),
            selinux: Path::new("/sys/fs/selinux/enforce").exists(),
            timens: Path::new("/proc/self/ns/time").exists(),
            cap_bnd,
            block_dev,
            hugepage_sizes,
        }
    }

    /// The host path of `file` in the v1 `controller` hierarchy for `cgroups_path`, or a skip
    /// when the host has no such v1 hierarchy.
    pub fn v1_file(
        &self,
        controller: &str,
        cgroups_path: &str,
        file: &str,
    ) -> Result<PathBuf, Why> {
        if self.pure_v2 {
            skip!("cgroup v2 host: this case reads the v1 {controller} controller");
        }
        let Some(mp) = self.v1.get(controller) else {
            skip!("no {controller} cgroup v1 controller on the host");
        };
        let dir = mp.join(cgroups_path.trim_start_matches('/'));
        let _ = file;
        Ok(dir.join(file))
    }

    /// Skips unless the host's v1 `controller` hierarchy has `file` (kernel feature present).
    pub fn need_v1_file(&self, controller: &str, file: &str) -> R {
        let p = self.v1_file(controller, "", file)?;
        if p.exists() {
            return Ok(());
        }
        // Some files (pids.max, cpu.rt_*) exist only below the root: look in a scratch child.
        let child = self.v1_file(controller, &unique("oci-conformance-probe"), "")?;
        let found = std::fs::create_dir(&child).is_ok() && child.join(file).exists();
        let _ = std::fs::remove_dir(&child);
        if !found {
            skip!("kernel has no {file} in the {controller} controller");
        }
        Ok(())
    }
}

/// Everything a case gets.
pub struct Ctx {
    pub rt: Runtime,
    pub probe: PathBuf,
    pub host: Host,
    pub scratch: PathBuf,
}

/// A bundle for one container of the runtime under test. Dropping it force-deletes the
/// container and removes the directory.
pub struct Bundle<'a> {
    pub ctx: &'a Ctx,
    pub dir: PathBuf,
    pub id: String,
    pub config: Value,
}

const BUSYBOX: &str = "/bin/busybox";

impl<'a> Bundle<'a> {
    /// A fresh bundle running `args` (the probe is `/bin/probe`), cgroup under `/oci-conformance`.
    pub fn new(ctx: &'a Ctx, args: &[&str]) -> Bundle<'a> {
        let id = unique("oc");
        let dir = ctx.scratch.join(format!("bundle-{}-{id}", ctx.rt.name));
        make_rootfs(&dir.join("rootfs"), &ctx.probe);
        let mut config = default_config();
        config["process"]["args"] = json!(args);
        config["linux"]["cgroupsPath"] = json!(format!("/{CGROUP_PARENT}/{}-{id}", ctx.rt.name));
        Bundle {
            ctx,
            dir,
            id,
            config,
        }
    }

    /// `/bin/probe` with no arguments: the key=value dump.
    pub fn probe(ctx: &'a Ctx) -> Bundle<'a> {
        Bundle::new(ctx, &["/bin/probe"])
    }

    /// `sh -c script`.
    pub fn sh(ctx: &'a Ctx, script: &str) -> Bundle<'a> {
        Bundle::new(ctx, &["/bin/sh", "-c", script])
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn cgroup_path(&self) -> String {
        self.config["linux"]["cgroupsPath"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A host directory `<bundle>/shared`, bind-mounted read-write at `/shared` in the container.
    pub fn shared(&mut self) -> PathBuf {
        let host = self.dir.join("shared");
        std::fs::create_dir_all(&host).unwrap();
        self.add_mount(json!({"destination": "/shared", "type": "bind",
            "source": host.to_str().unwrap(), "options": ["rbind", "rw"]}));
        host
    }

    pub fn add_mount(&mut self, m: Value) {
        self.config["mounts"].as_array_mut().unwrap().push(m);
    }

    pub fn write(&self) {
        let text = serde_json::to_string_pretty(&self.config).unwrap();
        std::fs::write(self.dir.join("config.json"), text).expect("write config.json");
    }

    /// `<runtime> args...` run in the bundle directory.
    pub fn cmd(&self, args: &[&str]) -> Out {
        self.ctx.rt.cmd(&self.dir, args)
    }

    /// `run --bundle <dir> <id>` in the foreground (the config is written first).
    pub fn run(&self) -> Out {
        self.write();
        let dir = self.dir.to_str().unwrap();
        self.cmd(&["run", "--bundle", dir, &self.id])
    }

    /// Runs the container; fails the case unless it exits 0. Returns its stdout.
    pub fn run_ok(&self) -> Result<String, Why> {
        let out = self.run();
        if !out.ok() {
            fail!("run failed: {}", out.brief());
        }
        Ok(out.stdout)
    }

    /// Runs the container (normally the probe) and parses its key=value output.
    pub fn run_kv(&self) -> Result<Kv, Why> {
        Ok(Kv::parse(&self.run_ok()?))
    }

    pub fn create(&self) -> Out {
        self.write();
        let dir = self.dir.to_str().unwrap();
        self.cmd(&["create", "--bundle", dir, &self.id])
    }

    pub fn create_ok(&self) -> R {
        let out = self.create();
        check!(out.ok(), "create failed: {}", out.brief());
        Ok(())
    }

    pub fn start(&self) -> Out {
        self.cmd(&["start", &self.id])
    }

    pub fn delete(&self, force: bool) -> Out {
        if force {
            self.cmd(&["delete", "--force", &self.id])
        } else {
            self.cmd(&["delete", &self.id])
        }
    }

    pub fn kill(&self, sig: &str) -> Out {
        self.cmd(&["kill", &self.id, sig])
    }

    /// The state JSON, or None when `state` fails.
    pub fn state(&self) -> Option<Value> {
        let out = self.cmd(&["state", &self.id]);
        if !out.ok() {
            return None;
        }
        serde_json::from_str(&out.stdout).ok()
    }

    pub fn status(&self) -> String {
        self.state()
            .and_then(|s| s["status"].as_str().map(str::to_string))
            .unwrap_or_else(|| "<no state>".into())
    }

    /// Waits until the state says `status` (up to 30 s: the machine may be loaded).
    pub fn wait_status(&self, status: &str) -> R {
        if wait_for(30, || self.status() == status) {
            Ok(())
        } else {
            fail!("status never became {status} (is {})", self.status())
        }
    }

    /// Host paths of this container's cgroup in every mounted hierarchy.
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let cg = self.cgroup_path();
        let mut v: Vec<PathBuf> = self
            .ctx
            .host
            .v1
            .values()
            .map(|m| m.join(cg.trim_start_matches('/')))
            .collect();
        if let Some(u) = &self.ctx.host.unified {
            v.push(u.join(cg.trim_start_matches('/')));
        }
        v
    }

    /// Checks that nothing of this container is left on the host: no state, no state directory,
    /// no cgroup, no process, no mount from the bundle.
    pub fn nothing_left(&self) -> R {
        let st = self.cmd(&["state", &self.id]);
        check!(
            !st.ok(),
            "state of {} still answers after delete/failed create",
            self.id
        );
        check!(
            !self.ctx.rt.root.join(&self.id).exists(),
            "state directory {} left behind",
            self.ctx.rt.root.join(&self.id).display()
        );
        for d in self.cgroup_dirs() {
            // A runtime may remove the cgroup a moment after it returns (async teardown).
            if !wait_for(30, || !d.exists()) {
                fail!("cgroup {} left behind", d.display());
            }
        }
        let procs = processes_mentioning(&self.dir.to_string_lossy());
        check!(procs.is_empty(), "processes left behind: {procs:?}");
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let dir = self.dir.to_string_lossy();
        let left: Vec<&str> = mi.lines().filter(|l| l.contains(dir.as_ref())).collect();
        check!(left.is_empty(), "mounts left behind: {left:?}");
        Ok(())
    }

    /// Writes an executable shell script `name` into the bundle directory; returns its path.
    pub fn script(&self, name: &str, body: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.to_string_lossy().into_owned()
    }
}

impl Drop for Bundle<'_> {
    fn drop(&mut self) {
        if self.ctx.rt.root.join(&self.id).exists() {
            let _ = self.delete(true);
        }
        for d in self.cgroup_dirs() {
            let _ = std::fs::remove_dir(d);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The key=value output of the probe.
#[derive(Debug, Default)]
pub struct Kv {
    pub map: HashMap<String, String>,
    pub env: Vec<String>,
}

impl Kv {
    pub fn parse(text: &str) -> Kv {
        let mut kv = Kv::default();
        for l in text.lines() {
            if let Some(e) = l.trim_end_matches('\r').strip_prefix("envorder=") {
                kv.env.push(e.to_string());
            } else if let Some((k, v)) = l.trim_end_matches('\r').split_once('=') {
                kv.map.insert(k.to_string(), v.to_string());
            }
        }
        kv
    }

    /// The value of `key` ("" when absent).
    pub fn get(&self, key: &str) -> &str {
        self.map.get(key).map(String::as_str).unwrap_or("")
    }

    pub fn hex(&self, key: &str) -> u64 {
        u64::from_str_radix(self.get(key), 16).unwrap_or(u64::MAX)
    }
}

/// A busybox-static rootfs: busybox plus one symlink per applet, /bin/probe, /etc/passwd,
/// /etc/group.
pub fn make_rootfs(root: &Path, probe: &Path) {
    for d in [
        "bin",
        "etc",
        "proc",
        "sys",
        "dev",
        "tmp",
        "root",
        "home/user",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777));
    for (src, dst) in [(Path::new(BUSYBOX), "bin/busybox"), (probe, "bin/probe")] {
        let to = root.join(dst);
        if std::fs::hard_link(src, &to).is_err() {
            std::fs::copy(src, &to).expect("copy into rootfs");
        }
    }
    for applet in applets() {
        let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
    }
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\ntty:x:5:\nuser:x:1000:\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/hostname"), "image\n").unwrap();
    std::fs::write(root.join("marker-rootfs"), "rootfs\n").unwrap();
}

fn applets() -> &'static [String] {
    static APPLETS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    APPLETS.get_or_init(|| {
        let out = Command::new(BUSYBOX).arg("--list").output();
        out.map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
    })
}

/// runc's default `spec` (non-interactive), the base of every case.
pub fn default_config() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/bin/probe"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps, "ambient": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "oci-conformance",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// Pids (other than ours) whose command line mentions `needle`, zombies excluded.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z'));
        if cmd.contains(needle) && !zombie {
            out.push(pid);
        }
    }
    out
}

/// Polls `cond` every 20 ms for up to `secs` seconds.
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// Linux capability names in bit order.
pub const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capability mask of `names`.
pub fn cap_mask(names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|n| CAPS.iter().position(|c| c == n))
        .fold(0, |m, i| m | (1 << i))
}

/// Builds the probe: `gcc -static -O2` of the embedded C source into `dir/probe`.
pub fn build_probe(dir: &Path) -> Result<PathBuf, String> {
    let src = dir.join("probe.c");
    let bin = dir.join("probe");
    std::fs::write(&src, include_str!("probe.c")).map_err(|e| e.to_string())?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
    let out = Command::new(&cc)
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .map_err(|e| format!("{cc}: {e} (install gcc and libc6-dev)"))?;
    if !out.status.success() {
        return Err(format!(
            "{cc} -static failed (needs libc6-dev's libc.a): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(bin)
}
