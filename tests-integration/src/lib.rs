//! Test support for running real containers: busybox bundles, a runtime runner that works for
//! runr and runc alike (`runtimes`, `create_ok`, `run_detached_ok`), leak checks
//! (`assert_no_leaks`, `delete_no_leaks`) and the console-socket fd receiver (`receive_fd`).
//! Everything here runs as root against the real kernel.
//!
//! runr is the binary built from this tree ([`runr_bin`]); runc missing fails a side-by-side test
//! in CI and prints a `SKIP` for its runc half elsewhere; a test that cannot run here calls
//! [`skip`] (the `test-skip` crate) and returns.
//!
//! The rootfs is Debian's `busybox-static` (`/bin/busybox`, installed by `scripts/setup.sh`),
//! hard-linked into each bundle with one symlink per applet.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::{json, Value};

pub mod host_check;
pub mod in_process;
pub mod loop_disk;
pub mod rootless_user;
mod runr_bin;
pub mod seccomp;
pub use runr_bin::{runr_bin, runr_release_bin};
pub use test_skip::skip;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique to this test process: `<prefix>-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Where test bundles and state roots live.
pub fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join("runr-it");
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// runr, then runc (the reference): the runtimes a side-by-side test runs under. Without runc
/// the test fails in CI and prints a `SKIP` line for its runc half elsewhere ([`Runtime::runc`]).
pub fn runtimes() -> Vec<Runtime> {
    let mut v = vec![Runtime::runr()];
    v.extend(Runtime::runc());
    v
}

/// A runtime binary with its own state root.
pub struct Runtime {
    pub name: &'static str,
    pub bin: PathBuf,
    pub root: PathBuf,
}

impl Runtime {
    /// runr as built from this tree ([`runr_bin`]: rebuilt and checked fresh, or `$RUNR_BIN`).
    pub fn runr() -> Runtime {
        Runtime {
            name: "runr",
            bin: runr_bin(),
            root: scratch().join(unique("root-runr")),
        }
    }

    /// runr's release build ([`runr_release_bin`]: panic=abort, no unwind tables, its own
    /// unwinder entry points), for what only that build does differently.
    pub fn runr_release() -> Runtime {
        Runtime {
            name: "runr (release)",
            bin: runr_release_bin(),
            root: scratch().join(unique("root-runr-release")),
        }
    }

    /// runc, the reference for side-by-side checks. When it is not installed: a failure in CI
    /// (`scripts/deps.sh` installs it), elsewhere a printed `SKIP` for the runc half and `None`.
    pub fn runc() -> Option<Runtime> {
        let Some(bin) = which("runc") else {
            test_skip::missing_tool("runc", "the runc half of this side-by-side test");
            return None;
        };
        Some(Runtime {
            name: "runc",
            bin,
            root: scratch().join(unique("root-runc")),
        })
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Runs a subcommand to completion and captures its output.
    pub fn exec(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("spawn runtime")
    }

    /// Runs a subcommand that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "{} {:?} failed ({}): {}",
            self.name,
            args,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `run` of a bundle in the foreground: (exit code, stdout, stderr).
    pub fn run(&self, bundle: &Bundle, id: &str) -> (i32, String, String) {
        bundle.write();
        let out = self.exec(&["run", "--bundle", bundle.dir.to_str().unwrap(), id]);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `create` of a bundle: the raw output. The container's init inherits create's stdio, so
    /// it goes to files in the bundle (a pipe would stay open as long as the container lives);
    /// what create itself wrote is read back from them.
    pub fn create(&self, bundle: &Bundle, id: &str, extra: &[&str]) -> Output {
        bundle.write();
        let mut args = vec!["create", "--bundle", bundle.dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(id);
        self.exec_detached(&args, bundle)
    }

    /// `create` that must succeed (panics naming the runtime, with its stderr); the output.
    pub fn create_ok(&self, bundle: &Bundle, id: &str, extra: &[&str]) -> Output {
        let out = self.create(bundle, id, extra);
        assert!(
            out.status.success(),
            "{} create {id} failed ({}): {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `run -d` of a bundle (`extra` flags before the id) that must succeed (panics naming the
    /// runtime, with its stderr).
    pub fn run_detached_ok(&self, bundle: &Bundle, id: &str, extra: &[&str]) {
        bundle.write();
        let mut args = vec!["run", "-d", "--bundle", bundle.dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(id);
        let out = self.exec_detached(&args, bundle);
        assert!(
            out.status.success(),
            "{} run -d {id} failed ({}): {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a subcommand whose children outlive it (`create`, `run -d`), with stdout and stderr
    /// in `<bundle>/stdout` and `<bundle>/stderr`.
    pub fn exec_detached(&self, args: &[&str], bundle: &Bundle) -> Output {
        let out_path = bundle.dir.join("stdout");
        let err_path = bundle.dir.join("stderr");
        let out = std::fs::File::create(&out_path).unwrap();
        let err = std::fs::File::create(&err_path).unwrap();
        let status = self
            .command(args)
            .stdout(out)
            .stderr(err)
            .status()
            .expect("spawn runtime");
        Output {
            status,
            stdout: std::fs::read(&out_path).unwrap(),
            stderr: std::fs::read(&err_path).unwrap(),
        }
    }

    /// The `state` JSON of a container.
    pub fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).expect("state is JSON")
    }

    /// The runc release this runtime behaves as, (major, minor), for tests whose reference
    /// changed between runc versions: runr counts as today's runc (1.5); runc says it in the
    /// first line of `runc --version` ("runc version 1.1.5").
    pub fn version(&self) -> (u32, u32) {
        if self.name == "runr" {
            return (1, 5);
        }
        let v = self.ok(&["--version"]);
        let mut parts = v
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .split(['.', '-', '+'])
            .map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Whatever a failing test left: force-delete it, then the root.
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.exec(&["delete", "--force", &id]);
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// A bundle: a busybox rootfs and a config.json edited as JSON.
pub struct Bundle {
    pub dir: PathBuf,
    pub config: Value,
}

impl Bundle {
    /// A fresh bundle running `args`, with runc's default spec shape (terminal off, no
    /// capabilities beyond runc's defaults, its own cgroup under /runr-it/).
    pub fn new(args: &[&str]) -> Bundle {
        host_check::watch_cgroup2_root();
        let dir = scratch().join(unique("bundle"));
        make_rootfs(&dir.join("rootfs"));
        let cgroup = format!("/runr-it/{}", dir.file_name().unwrap().to_string_lossy());
        let mut config = default_config();
        config["process"]["args"] = json!(args);
        config["linux"]["cgroupsPath"] = json!(cgroup);
        Bundle { dir, config }
    }

    /// `sh -c script` as the container's process.
    pub fn shell(script: &str) -> Bundle {
        Bundle::new(&["sh", "-c", script])
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// The cgroupsPath this bundle's container gets.
    pub fn cgroup_path(&self) -> String {
        self.config["linux"]["cgroupsPath"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The `cgroup.procs` of this bundle's container: the v1 pids hierarchy's, or on a pure
    /// cgroup v2 host the unified one's.
    pub fn procs_file(&self) -> PathBuf {
        let path = self.cgroup_path();
        let rel = path.trim_start_matches('/');
        let v1 = Path::new("/sys/fs/cgroup/pids");
        if v1.join("tasks").exists() {
            v1.join(rel).join("cgroup.procs")
        } else {
            Path::new("/sys/fs/cgroup").join(rel).join("cgroup.procs")
        }
    }

    /// The container's `pids.max` (the pids controller's v1 hierarchy, or the unified one).
    pub fn pids_max(&self) -> String {
        let file = self.procs_file().with_file_name("pids.max");
        std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .trim()
            .to_string()
    }

    pub fn write(&self) {
        let text = serde_json::to_string_pretty(&self.config).unwrap();
        std::fs::write(self.dir.join("config.json"), text).expect("write config.json");
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const BUSYBOX: &str = "/bin/busybox";

/// Replaces every regular file below `dir` that has other hard links (a [`make_rootfs`] rootfs
/// links the host's `/bin/busybox`) by a private copy. Needed before changing such a tree's owner
/// or mode: else the host's file changes with it (a `chown -R` for the rootless user once made
/// the host's busybox the user's), and a `tar` of it sees the file change while other tests link
/// or unlink the same inode.
pub fn break_hard_links(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            break_hard_links(&path);
        } else if meta.is_file() && meta.nlink() > 1 {
            let tmp = path.with_extension("private-copy");
            std::fs::copy(&path, &tmp).expect("copy a hard-linked file");
            std::fs::rename(&tmp, &path).expect("replace a hard-linked file");
        }
    }
}

/// A minimal root filesystem: busybox and its applets, /etc/passwd and /etc/group.
pub fn make_rootfs(root: &Path) {
    assert!(
        Path::new(BUSYBOX).exists(),
        "{BUSYBOX} missing: install busybox-static (scripts/setup.sh)"
    );
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
    let bb = root.join("bin/busybox");
    if std::fs::hard_link(BUSYBOX, &bb).is_err() {
        std::fs::copy(BUSYBOX, &bb).expect("copy busybox");
    }
    let applets = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&applets.stdout).lines() {
        let link = root.join("bin").join(applet);
        if !link.exists() {
            let _ = std::os::unix::fs::symlink("busybox", link);
        }
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
}

/// runc's default `spec`, non-interactive.
pub fn default_config() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps, "ambient": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "runr-test",
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

/// Asserts that nothing of container `id` (from `bundle`) is left on the host: no state
/// directory, no cgroup directory in any hierarchy, no process, no mount.
pub fn assert_no_leaks(rt: &Runtime, id: &str, bundle: &Bundle) {
    assert!(
        !rt.root.join(id).exists(),
        "{}: state directory of {id} left behind",
        rt.name
    );
    let cg = bundle.cgroup_path();
    if !cg.is_empty() {
        for h in cgroup_hierarchies() {
            let p = h.join(cg.trim_start_matches('/'));
            assert!(
                !p.exists(),
                "{}: cgroup {} left behind",
                rt.name,
                p.display()
            );
        }
    }
    let procs = processes_mentioning(id);
    assert!(
        procs.is_empty(),
        "{}: processes of {id} left: {procs:?}",
        rt.name
    );
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = bundle.dir.to_string_lossy();
    let mounts: Vec<&str> = mountinfo
        .lines()
        .filter(|l| l.contains(dir.as_ref()))
        .collect();
    assert!(mounts.is_empty(), "{}: mounts left: {mounts:?}", rt.name);
}

/// `delete --force` of container `id` (which must succeed), then [`assert_no_leaks`].
pub fn delete_no_leaks(rt: &Runtime, id: &str, bundle: &Bundle) {
    rt.ok(&["delete", "--force", id]);
    assert_no_leaks(rt, id, bundle);
}

/// Every mounted cgroup hierarchy's root directory.
pub fn cgroup_hierarchies() -> Vec<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mountinfo
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split(' ').next()?;
            let mountpoint = pre.split(' ').nth(4)?;
            (fstype == "cgroup" || fstype == "cgroup2").then(|| PathBuf::from(mountpoint))
        })
        .collect()
}

/// Pids (other than ours) whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
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

/// Waits until `cond` holds (polling), up to `secs` seconds.
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cond()
}

/// Accepts one connection on `listener` (a console socket) and receives the fd it carries.
pub fn receive_fd(listener: &UnixListener) -> OwnedFd {
    receive_fd_with_payload(listener).1
}

/// Accepts one connection on `listener` and receives one message with an fd: what the message
/// said (runc's `--pidfd-socket` names the process kind there) and the fd.
pub fn receive_fd_with_payload(listener: &UnixListener) -> (String, OwnedFd) {
    let (conn, _) = listener
        .accept()
        .expect("the runtime connects to the socket");
    let mut buf = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!(RawFd);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    let mut fd = None;
    for c in msg.cmsgs().expect("control messages") {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel just installed this fd in our table for us; nothing else owns it.
            fd = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    let n = msg.bytes;
    let fd = fd.expect("no fd received over the socket");
    (String::from_utf8_lossy(&buf[..n]).into_owned(), fd)
}

/// Builds the C program `source` with `gcc -static` (or `$CC`) as `dir/name`; the error says
/// what to install. Static, so it runs in a busybox rootfs and costs little memory.
pub fn compile_static_c(source: &str, dir: &Path, name: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let src = dir.join(format!("{name}.c"));
    let bin = dir.join(name);
    std::fs::write(&src, source).map_err(|e| format!("{}: {e}", src.display()))?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
    let out = Command::new(&cc)
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .map_err(|e| format!("{cc}: {e} (install gcc and libc6-dev)"))?;
    if !out.status.success() {
        return Err(format!(
            "{cc} -static {name}.c: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(bin)
}

/// hugetlb as a cgroup v1 hierarchy at [`HugetlbV1::PATH`] on a hybrid host, where it otherwise
/// lives only in cgroup2. Some tools want every controller they know in v1: crun 1.8.1 refuses
/// the host without it, containerd 1.6's shim finds no metrics and no OOM events. runr works
/// either way. The mount is host-wide and shared by every guard of every process on the machine
/// (test binaries of other checkouts, CI, benches): each guard holds a shared `flock` on
/// [`HugetlbV1::LOCK`] while it lives, and the last one dropped puts the host back if a guard
/// mounted it (the empty cgroups made below it are removed, the hierarchy unmounted and the
/// mount point removed). Mounting and that clean-up happen under an exclusive lock on
/// [`HugetlbV1::DECIDE`]. Before, a guard dropped in one process unmounted the hierarchy under
/// another one's running containerd, whose runc containers then had no metrics and no OOM
/// events.
pub struct HugetlbV1 {
    mounted: bool,
    /// The open [`HugetlbV1::LOCK`], shared-locked; `None` where there is nothing to share.
    lock: Option<std::fs::File>,
}

/// Opens (creating it) the lock file `path`.
fn lock_file(path: &str) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))
}

/// `flock(2)` on `file` (`op`: `LOCK_SH`, `LOCK_EX`, with `LOCK_NB`); `Err` when not taken.
fn flock(file: &std::fs::File, op: i32) -> Result<(), String> {
    // SAFETY: flock only reads the fd, which `file` keeps open for the duration of the call.
    match unsafe { libc::flock(file.as_raw_fd(), op) } {
        0 => Ok(()),
        _ => Err(format!("flock: {}", std::io::Error::last_os_error())),
    }
}

impl HugetlbV1 {
    pub const PATH: &'static str = "/sys/fs/cgroup/hugetlb";
    /// Every guard on the machine holds it shared while it lives.
    pub const LOCK: &'static str = "/run/runr-it-hugetlb.lock";
    /// Held exclusively while a guard mounts the hierarchy, or the last one cleans up.
    pub const DECIDE: &'static str = "/run/runr-it-hugetlb.decide";
    /// Present while the hierarchy is mounted by a guard (so the last guard unmounts it).
    const MARK: &'static str = "/run/runr-it-hugetlb.mounted";

    /// Mounts it, unless it is mounted already or the host has no cgroup2 beside v1; then
    /// [`HugetlbV1::mounted`] is false. On a hybrid host a guard's mount stays until the last
    /// guard on the machine is dropped.
    pub fn ensure() -> Result<HugetlbV1, String> {
        if !Path::new("/sys/fs/cgroup/unified").exists() {
            return Ok(HugetlbV1 {
                mounted: false,
                lock: None,
            });
        }
        // No other process mounts or cleans up meanwhile (released when `decide` is closed).
        let decide = lock_file(Self::DECIDE)?;
        flock(&decide, libc::LOCK_EX).map_err(|e| format!("{}: {e}", Self::DECIDE))?;
        let mounted = Self::mount_unless_there()?;
        // Shared while this guard lives: the last one dropped cleans up.
        let lock = lock_file(Self::LOCK)?;
        flock(&lock, libc::LOCK_SH).map_err(|e| format!("{}: {e}", Self::LOCK))?;
        drop(decide);
        Ok(HugetlbV1 {
            mounted,
            lock: Some(lock),
        })
    }

    /// Mounts the hierarchy (and leaves [`HugetlbV1::MARK`]) unless it is mounted; whether it
    /// mounted it.
    fn mount_unless_there() -> Result<bool, String> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let there = mountinfo
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(Self::PATH));
        if there {
            return Ok(false);
        }
        let _ = std::fs::create_dir_all(Self::PATH);
        let out = Command::new("mount")
            .args(["-t", "cgroup", "-o", "hugetlb", "cgroup", Self::PATH])
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            let _ = std::fs::remove_dir(Self::PATH);
            return Err(format!(
                "mount -t cgroup -o hugetlb at {}: {}",
                Self::PATH,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        std::fs::write(Self::MARK, std::process::id().to_string())
            .map_err(|e| format!("{}: {e}", Self::MARK))?;
        Ok(true)
    }

    /// Whether this guard mounted the hierarchy (the last guard dropped unmounts it).
    pub fn mounted(&self) -> bool {
        self.mounted
    }
}

impl Drop for HugetlbV1 {
    fn drop(&mut self) {
        let Some(lock) = self.lock.take() else {
            return;
        };
        let Ok(decide) = lock_file(Self::DECIDE) else {
            return;
        };
        if flock(&decide, libc::LOCK_EX).is_err() {
            return;
        }
        // Another guard, in this process or another, still holds it: that one cleans up. (A
        // failed conversion drops this guard's shared lock, which it is giving up anyway.)
        let last = flock(&lock, libc::LOCK_EX | libc::LOCK_NB).is_ok();
        if !last || !Path::new(Self::MARK).exists() {
            return;
        }
        // What used the hierarchy leaves empty cgroups behind; rmdir removes only a cgroup with
        // no process and no child, so one still in use stays (and so does the mount).
        fn remove_empty_cgroups(dir: &Path) {
            for sub in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if sub.file_type().is_ok_and(|t| t.is_dir()) {
                    remove_empty_cgroups(&sub.path());
                    let _ = std::fs::remove_dir(sub.path());
                }
            }
        }
        let root = Path::new(Self::PATH);
        remove_empty_cgroups(root);
        let in_use = std::fs::read_dir(root)
            .map(|d| d.flatten().any(|e| e.file_type().is_ok_and(|t| t.is_dir())))
            .unwrap_or(false);
        if in_use {
            eprintln!("{}: cgroups in use below it, left mounted", Self::PATH);
            return;
        }
        // The kernel destroys an unmounted v1 hierarchy (asynchronously) only if it had no child
        // cgroup at the unmount; a child still dying then (rmdir'ed, its last reference not yet
        // dropped) keeps the hierarchy alive with no mount anywhere: hugetlb is then not back in
        // cgroup2, and containerd's shim (which wants a mount for every hierarchy listed in
        // /proc/self/cgroup) loses stats and OOM events. So: unmount, wait for the kernel to give
        // hugetlb back, and if it keeps it, mount it again and unmount once more (a few times).
        let mount = || {
            Command::new("mount")
                .args(["-t", "cgroup", "-o", "hugetlb", "cgroup", Self::PATH])
                .status()
                .is_ok_and(|s| s.success())
        };
        let unmount = || {
            Command::new("umount")
                .arg(root)
                .status()
                .is_ok_and(|s| s.success())
        };
        let given_back = || wait_for_ms(3_000, hugetlb_back_in_cgroup2);
        let mut unmounted = unmount();
        let mut back = unmounted && given_back();
        for _ in 0..3 {
            if back || !unmounted || !mount() {
                break;
            }
            unmounted = unmount();
            back = unmounted && given_back();
        }
        if unmounted {
            let _ = std::fs::remove_dir(root);
            let _ = std::fs::remove_file(Self::MARK);
        }
        if !back {
            eprintln!(
                "{}: the kernel kept hugetlb's v1 hierarchy after the unmount",
                Self::PATH
            );
        }
    }
}

/// Polls `cond` every 20 ms for up to `ms` milliseconds.
fn wait_for_ms(ms: u64, cond: impl Fn() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Whether /proc/cgroups shows hugetlb in hierarchy 0 (cgroup2 or no hierarchy at all).
fn hugetlb_back_in_cgroup2() -> bool {
    std::fs::read_to_string("/proc/cgroups")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            let mut f = l.split_whitespace();
            f.next() == Some("hugetlb") && f.next() == Some("0")
        })
}
