//! Kubernetes' path (issue #19): a CRI client speaking gRPC to containerd's real CRI plugin, making
//! the calls the kubelet makes for a pod, with runr as the OCI runtime of containerd's runc shim
//! (`BinaryName`), and runc as the control: every scenario runs on the `runr` handler and then on
//! the `runc` handler of the same private containerd, and after each one nothing may be left
//! (no CRI object, containerd task, runtime state, cgroup, mount or process).
//!
//! containerd 1.6.20 speaks CRI `runtime.v1` (cri-api v0.25 era); the client is `k8s-cri`, whose
//! newer `runtime.v1` proto is a wire-compatible superset (fields containerd does not know are
//! ignored by protobuf). Images are built here and imported offline (cri/images.rs); pods use
//! the host network, so no CNI is needed (NetworkReady stays false, as expected).

#[path = "cri/client.rs"]
mod client;
#[path = "cri/containerd.rs"]
mod containerd;
#[path = "cri/images.rs"]
mod images;
#[path = "cri/registry.rs"]
mod registry;
#[path = "cri/resources.rs"]
mod resources;
#[path = "cri/scenarios.rs"]
mod scenarios;
#[path = "cri/stream.rs"]
mod stream;
#[path = "cri/systemd.rs"]
mod systemd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use client::Cri;
use containerd::{Containerd, Handler};
use tests_integration::{cgroup_hierarchies, processes_mentioning, which, Runtime};

/// Everything a scenario needs: the client, the daemon, which handler it runs on, and where its
/// pods' cgroups and logs go.
pub struct Env<'a> {
    pub cri: &'a Cri,
    pub cd: &'a Containerd,
    pub handler: &'static str,
    /// The cgroup driver: systemd (`SystemdCgroup = true`, pod slices) or cgroupfs.
    pub systemd: bool,
    /// The test's own cgroup tree (`/runr-cri-<pid>`), kubepods-like below it; with the systemd
    /// driver the kubelet's `/kubepods.slice`.
    pub cgroup_root: String,
    pub logs: PathBuf,
    /// The busybox image as the loopback registry serves it (`127.0.0.1:<port>/…`).
    pub pullable: String,
}

impl Env<'_> {
    /// A kubepods-like cgroup parent for pod `name` (`/runr-cri-<pid>/kubepods/burstable/pod…`),
    /// or with the systemd driver what the kubelet sends then: the pod slice's whole path,
    /// `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice`.
    pub fn cgroup_parent(&self, name: &str) -> String {
        if self.systemd {
            return systemd::slice_path(&self.pod_slice(name));
        }
        format!(
            "{}/kubepods/burstable/pod-{}-{name}",
            self.cgroup_root, self.handler
        )
    }

    /// Pod `name`'s slice with the systemd driver (its uid is unique to this run and handler).
    pub fn pod_slice(&self, name: &str) -> String {
        systemd::pod_slice(&format!(
            "{}_{}_{name}",
            self.slice_uid_prefix(),
            self.handler
        ))
    }

    /// What every pod slice of this run starts its uid with.
    fn slice_uid_prefix(&self) -> String {
        format!("r{}", std::process::id())
    }

    /// The cgroup (below the hierarchy roots) of a container whose spec has `cgroups_path`:
    /// the path itself with cgroupfs, the scope's cgroup in its slice with systemd.
    pub fn cgroup_dir(&self, cgroups_path: &str) -> Result<String, String> {
        if self.systemd {
            return systemd::scope_of(cgroups_path).map(|(_, dir)| dir);
        }
        Ok(cgroups_path.to_string())
    }

    /// The sandbox (pause) container's cgroup below its pod's `parent`.
    pub fn sandbox_cgroup(&self, parent: &str, pod: &str) -> String {
        if self.systemd {
            return format!("{parent}/cri-containerd-{pod}.scope");
        }
        format!("{parent}/{pod}")
    }

    /// A fresh log directory for pod `name`.
    pub fn log_dir(&self, name: &str) -> PathBuf {
        let d = self.logs.join(format!("{}-{name}", self.handler));
        let _ = std::fs::create_dir_all(&d);
        d
    }
}

/// `return Err(...)` unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Tears the CRI objects down before containerd itself goes (fields drop after `drop`).
struct Harness {
    cri: Cri,
    cd: Containerd,
    registry: registry::Registry,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.cri.remove_all_pods();
    }
}

fn main() -> ExitCode {
    for tool in ["containerd", "ctr", "runc", "containerd-shim-runc-v2"] {
        if which(tool).is_none() {
            eprintln!("SKIP cri: {tool} is not installed (scripts/deps.sh --engines installs it)");
            return ExitCode::SUCCESS;
        }
    }
    tests_integration::host_check::watch_cgroup2_root();
    let started = Instant::now();
    let handlers = vec![
        Handler {
            name: "runr",
            bin: Runtime::runr().bin.canonicalize().expect("runr binary"),
        },
        Handler {
            name: "runc",
            bin: which("runc").expect("runc"),
        },
    ];
    // The systemd driver in the systemd VM (scripts/test-systemd.sh), cgroupfs elsewhere.
    let systemd = systemd::wanted();
    println!(
        "cri: cgroup driver {}",
        if systemd { "systemd" } else { "cgroupfs" }
    );
    let harness = match bring_up(handlers, systemd) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("cri: setting up containerd failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "cri: containerd and images up in {:.0}s",
        started.elapsed().as_secs_f32()
    );
    let cgroup_root = if systemd {
        format!("/{}", systemd::KUBEPODS)
    } else {
        format!("/runr-cri-{}", std::process::id())
    };
    let (mut passed, mut failed) = (0, 0);
    if systemd {
        for (name, _) in scenarios::ALL {
            if !scenarios::IN_SYSTEMD_VM.contains(name) {
                test_skip::skip_as(
                    &format!("cri (systemd driver): {name}"),
                    "not on the emulated systemd VM's short list (runs on the host with cgroupfs)",
                );
            }
        }
    }
    for handler in ["runr", "runc"] {
        let env = Env {
            cri: &harness.cri,
            cd: &harness.cd,
            handler,
            systemd,
            cgroup_root: cgroup_root.clone(),
            logs: harness.cd.dir.join("logs"),
            pullable: harness.registry.image(),
        };
        for (name, scenario) in scenarios::ALL {
            if systemd && !scenarios::IN_SYSTEMD_VM.contains(name) {
                continue;
            }
            let t = Instant::now();
            let result = scenario(&env).and_then(|ids: Vec<String>| leftovers(&env, &ids));
            let secs = t.elapsed().as_secs_f32();
            match result {
                Ok(()) => {
                    passed += 1;
                    println!("ok   {handler}: {name} ({secs:.1}s)");
                }
                Err(e) => {
                    failed += 1;
                    harness.cri.remove_all_pods();
                    println!("FAIL {handler}: {name} ({secs:.1}s): {e}");
                }
            }
        }
    }
    drop(harness);
    let cgroups_left = if systemd {
        systemd_teardown()
    } else {
        remove_cgroup_tree(&cgroup_root)
    };
    if !cgroups_left.is_empty() {
        failed += 1;
        println!("FAIL cgroups left after teardown: {cgroups_left:?}");
    }
    println!(
        "cri: {:.0}s in all (containerd up, images, scenarios, teardown)",
        started.elapsed().as_secs_f32()
    );
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn bring_up(handlers: Vec<Handler>, systemd: bool) -> Result<Harness, String> {
    let mut registry = registry::Registry::bind()?;
    let cd = Containerd::start(handlers, registry.port, systemd)?;
    let (layout, manifest) = images::import_all(&cd.dir.join("images"), &cd.socket)?;
    registry.serve(layout, manifest)?;
    let cri = Cri::connect(&cd.socket)?;
    Ok(Harness { cri, cd, registry })
}

/// What a scenario's pods and containers (`ids`) may have left: nothing at all.
fn leftovers(env: &Env, ids: &[String]) -> Result<(), String> {
    let rs = || env.cri.rs();
    let pods = env.cri.call(
        "ListPodSandbox",
        rs().list_pod_sandbox(k8s_cri::v1::ListPodSandboxRequest::default()),
    )?;
    ensure!(pods.items.is_empty(), "pods left: {:?}", pods.items);
    let containers = env.cri.call(
        "ListContainers",
        rs().list_containers(k8s_cri::v1::ListContainersRequest::default()),
    )?;
    ensure!(
        containers.containers.is_empty(),
        "containers left: {:?}",
        containers.containers
    );
    let tasks = env.cd.ctr(&["tasks", "ls", "-q"])?;
    ensure!(tasks.trim().is_empty(), "containerd tasks left: {tasks}");
    let root = env.cd.runtime_root(env.handler);
    // Container state only: runr's compiled-seccomp cache (`@seccomp-cache`, bounded, see
    // runtime-core/src/seccomp_cache.rs) lives in its root by design; `@` is never in an id.
    let state: Vec<_> = std::fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !n.to_string_lossy().starts_with('@'))
        .collect();
    ensure!(
        state.is_empty(),
        "{} state left in {}: {state:?}",
        env.handler,
        root.display()
    );
    let mounts = env.cd.mounts();
    ensure!(mounts.is_empty(), "mounts left: {mounts:?}");
    for id in ids {
        let cgroups = cgroups_named(&env.cgroup_root, id);
        ensure!(cgroups.is_empty(), "cgroups of {id} left: {cgroups:?}");
        if env.systemd {
            let units = systemd::units_mentioning(id);
            ensure!(units.is_empty(), "units of {id} left: {units:?}");
        }
        // A shim exits after answering RemovePodSandbox: wait for that, not for ever (in the
        // emulated systemd VM, shims of runr pods were seen taking over 30 s).
        let lingering = command_lines(&processes_mentioning(id));
        let t = Instant::now();
        let gone = tests_integration::wait_for(120, || processes_mentioning(id).is_empty());
        let procs = command_lines(&processes_mentioning(id));
        ensure!(gone, "processes of {id} left: {procs:?}");
        if t.elapsed().as_secs_f32() > 2.0 {
            println!(
                "cri: {:.1}s until these were gone: {lingering:?}",
                t.elapsed().as_secs_f32()
            );
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        ensure!(!mountinfo.contains(id.as_str()), "a mount of {id} is left");
    }
    if env.systemd {
        // As the kubelet removes a gone pod's slice; whatever was in it was checked above.
        let pods = format!("{}_{}_", env.slice_uid_prefix(), env.handler);
        systemd::stop_slices(&format!("kubepods-burstable-pod{pods}*.slice"))?;
        let units = systemd::units_mentioning(&pods);
        ensure!(
            units.is_empty(),
            "pod slices left after stopping them: {units:?}"
        );
    }
    Ok(())
}

/// "pid command line" of each of `pids`.
fn command_lines(pids: &[i32]) -> Vec<String> {
    pids.iter()
        .map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            format!("{pid} {}", String::from_utf8_lossy(&cmd).replace('\0', " "))
        })
        .collect()
}

/// The kubelet's top slices (kubepods.slice and the QoS slice below it) stopped at the end;
/// what is left of them is a leak.
fn systemd_teardown() -> Vec<PathBuf> {
    let mut left = Vec::new();
    if let Err(e) = systemd::stop_slices(systemd::KUBEPODS) {
        println!("cri: {e}");
    }
    for unit in systemd::units_mentioning("kubepods") {
        left.push(PathBuf::from(format!("unit {unit}")));
    }
    let dir = Path::new("/sys/fs/cgroup").join(systemd::KUBEPODS);
    if dir.exists() {
        left.push(dir);
    }
    left
}

/// Directories whose name has `id` in it (`<id>`, systemd's `cri-containerd-<id>.scope`) below
/// `root` in any cgroup hierarchy.
fn cgroups_named(root: &str, name: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if e.file_name().to_string_lossy().contains(name) {
                    out.push(e.path());
                }
                walk(&e.path(), name, out);
            }
        }
    }
    let mut out = Vec::new();
    for h in cgroup_hierarchies() {
        walk(&h.join(root.trim_start_matches('/')), name, &mut out);
    }
    out
}

/// Removes the test's (now empty) cgroup tree in every hierarchy, deepest first, as the kubelet
/// removes pod cgroups; returns what could not be removed (still in use: a leak).
fn remove_cgroup_tree(root: &str) -> Vec<PathBuf> {
    fn remove(dir: &Path, left: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove(&e.path(), left);
            }
        }
        if std::fs::remove_dir(dir).is_err() && dir.exists() {
            left.push(dir.to_path_buf());
        }
    }
    let mut left = Vec::new();
    for h in cgroup_hierarchies() {
        let top = h.join(root.trim_start_matches('/'));
        if top.exists() {
            remove(&top, &mut left);
        }
    }
    left
}
