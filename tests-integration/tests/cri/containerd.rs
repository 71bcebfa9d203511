//! A private containerd: its own config, root, state, socket and runtime roots under one temp
//! directory, its CRI plugin on with two runtime handlers of the runc shim
//! (`io.containerd.runc.v2`): `runr` (`BinaryName` = runr) and `runc`, the control. Host-network
//! pods only (empty CNI dirs, so NetworkReady stays false), cgroupfs (or, in the systemd VM,
//! `SystemdCgroup = true`), AppArmor off,
//! `restrict_oom_score_adj` (this VM withholds CAP_SYS_RESOURCE, so the pause container's -998
//! would fail for runc too). Dropping it tears everything down, also after a failed scenario.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tests_integration::{processes_mentioning, scratch, unique, wait_for, HugetlbV1};

use super::images::PAUSE_IMAGE;

/// The handlers (runtime classes) the CRI plugin offers, with the binary each runs.
pub struct Handler {
    pub name: &'static str,
    pub bin: PathBuf,
}

pub struct Containerd {
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub handlers: Vec<Handler>,
    child: Option<Child>,
    _hugetlb: Option<HugetlbV1>,
    /// Whether /run/containerd was absent before: containerd 1.6's shim puts its socket in
    /// /run/containerd/s/ whatever the config says, so that directory is ours to remove.
    made_shim_dir: bool,
    /// `SystemdCgroup = true`: the runtimes are called with `--systemd-cgroup`.
    systemd: bool,
}

/// The shim's socket directory, fixed in containerd 1.6.
const SHIM_SOCKETS: &str = "/run/containerd/s";

impl Containerd {
    /// Writes the config and starts containerd; returns once its socket answers.
    /// `registry_port`: the loopback registry (cri/registry.rs), a plain-HTTP mirror.
    /// `systemd`: `SystemdCgroup = true` for every handler (the shim passes `--systemd-cgroup`).
    pub fn start(
        handlers: Vec<Handler>,
        registry_port: u16,
        systemd: bool,
    ) -> Result<Containerd, String> {
        let dir = scratch().join(unique("cri"));
        for sub in [
            "root",
            "state",
            "cni/bin",
            "cni/conf",
            "opt",
            "runtime-root",
        ] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
        }
        // containerd 1.6's shim reads a hybrid host's cgroups as v1 and finds no metrics and no
        // OOM events unless every controller it knows is mounted as v1.
        let hugetlb = HugetlbV1::ensure().map_err(|e| format!("hugetlb v1: {e}"))?;
        let socket = dir.join("containerd.sock");
        let made_shim_dir = !Path::new("/run/containerd").exists();
        std::fs::write(
            dir.join("config.toml"),
            config(&dir, &socket, &handlers, registry_port, systemd),
        )
        .map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("containerd.log")).map_err(|e| e.to_string())?;
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("containerd: {e} (scripts/deps.sh --engines installs it)"))?;
        let mut me = Containerd {
            dir,
            socket,
            handlers,
            child: Some(child),
            _hugetlb: Some(hugetlb),
            made_shim_dir,
            systemd,
        };
        let up = wait_for(60, || me.ctr(&["version"]).is_ok());
        if !up
            || me
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some())
        {
            return Err(format!("containerd did not come up:\n{}", me.log_tail()));
        }
        Ok(me)
    }

    /// `ctr --address SOCKET -n k8s.io ARGS…`, its stdout.
    pub fn ctr(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["-n", "k8s.io"])
            .args(args)
            .output()
            .map_err(|e| format!("ctr: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ctr {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Where handler `name`'s runtime keeps its container state (`--root`).
    pub fn runtime_root(&self, name: &str) -> PathBuf {
        self.dir.join("runtime-root").join(name).join("k8s.io")
    }

    /// The last lines of containerd's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Every mount point below our directory (container rootfs overlays, sandbox shm).
    pub fn mounts(&self) -> Vec<String> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let dir = self.dir.to_string_lossy().into_owned();
        mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(dir.as_str()))
            .map(str::to_string)
            .collect()
    }

    fn stop_daemon(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Containers a runtime still knows (after a failure): deleted with `delete --force`.
    fn delete_leftover_containers(&self) {
        for h in &self.handlers {
            let root = self.runtime_root(h.name);
            for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let driver: &[&str] = if self.systemd {
                    &["--systemd-cgroup"]
                } else {
                    &[]
                };
                let _ = Command::new(&h.bin)
                    .arg("--root")
                    .arg(&root)
                    .args(driver)
                    .args(["delete", "--force", &id])
                    .output();
            }
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // containerd first, so that nothing restarts what is removed below.
        self.stop_daemon();
        // Shims that outlived it (they name our socket on their command line).
        let socket = self.socket.to_string_lossy().into_owned();
        for pid in processes_mentioning(&socket) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        self.delete_leftover_containers();
        // Mounts below our directory, deepest first.
        let mut mounts = self.mounts();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(Path::new(&m), nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        // Only when empty: another containerd may have come to use it meanwhile.
        if self.made_shim_dir {
            let _ = std::fs::remove_dir(SHIM_SOCKETS);
            let _ = std::fs::remove_dir("/run/containerd");
        }
    }
}

/// containerd's config: everything it writes lives below `dir`.
fn config(
    dir: &Path,
    socket: &Path,
    handlers: &[Handler],
    registry_port: u16,
    systemd: bool,
) -> String {
    let d = dir.display();
    let cri = r#"plugins."io.containerd.grpc.v1.cri""#;
    let mut runtimes = String::new();
    for h in handlers {
        runtimes += &format!(
            r#"
[{cri}.containerd.runtimes.{name}]
  runtime_type = "io.containerd.runc.v2"
[{cri}.containerd.runtimes.{name}.options]
  BinaryName = "{bin}"
  Root = "{d}/runtime-root/{name}"
  SystemdCgroup = {systemd}
"#,
            name = h.name,
            bin = h.bin.display(),
        );
    }
    format!(
        r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[{cri}.cni]
  bin_dir = "{d}/cni/bin"
  conf_dir = "{d}/cni/conf"
[{cri}.registry.mirrors."127.0.0.1:{registry_port}"]
  endpoint = ["http://127.0.0.1:{registry_port}"]
[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "{default}"
{runtimes}"#,
        socket = socket.display(),
        default = handlers[0].name,
    )
}
