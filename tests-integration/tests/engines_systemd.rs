//! Real engines with the systemd cgroup driver, runr against runc as the control: dockerd with
//! `native.cgroupdriver=systemd`, `ctr run --runc-systemd-cgroup` (containerd's runc shim with
//! SystemdCgroup) and podman `--cgroup-manager systemd`, a handful of everyday scenarios each
//! (run and exit codes, the container's scope, exec, pause/unpause, update, stats, stop, the
//! `--memory` OOM with exit 137 and OOMKilled). The VM is emulated and slow, so the list is short.
//!
//! It mounts tmpfs over /var/lib/{containerd,docker,containers} and starts the daemons itself,
//! so it only runs where `scripts/test-systemd.sh` sets `RUNR_SYSTEMD_VM=1` (a throw-away VM
//! booted with systemd); elsewhere it prints `SKIP` and returns.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use tests_integration::{unique, wait_for, which, Runtime};

/// `sh -c script`: (exit code, stdout + stderr).
fn sh(script: &str) -> (i32, String) {
    let o = Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.code().unwrap_or(-1), text)
}

fn sh_ok(script: &str) -> String {
    let (c, out) = sh(script);
    assert_eq!(c, 0, "{script}: {out}");
    out.trim().to_string()
}

fn show(unit: &str, prop: &str) -> String {
    sh_ok(&format!("systemctl show {unit} -p {prop} --value"))
}

fn listed(unit: &str) -> bool {
    sh_ok("systemctl list-units --all --no-legend --plain")
        .lines()
        .any(|l| l.split_whitespace().next() == Some(unit))
}

/// containerd and dockerd started for this test (both with the systemd driver), stopped and
/// their state mounts removed on drop.
struct Daemons {
    children: Vec<Child>,
}

const STATE_DIRS: &[&str] = &[
    "/var/lib/containerd",
    "/var/lib/docker",
    "/var/lib/containers",
    "/etc/docker",
];

impl Daemons {
    fn up(runr: &Path) -> Daemons {
        // overlayfs (the engines' snapshotters) cannot use the VM's overlay root as upper dir.
        for d in STATE_DIRS {
            sh_ok(&format!("mkdir -p {d} && mount -t tmpfs tmpfs {d}"));
        }
        let mut children = Vec::new();
        std::fs::write(
            "/var/lib/containerd/config.toml",
            "version = 2\nroot = \"/var/lib/containerd/root\"\nstate = \"/run/containerd\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n",
        )
        .unwrap();
        children.push(spawn(
            "containerd",
            &["--config", "/var/lib/containerd/config.toml"],
        ));
        assert!(wait_for(30, || sh("ctr version").0 == 0), "containerd up");
        let daemon_json = serde_json::json!({
            "bridge": "none", "iptables": false, "ip-forward": false, "ip-masq": false,
            "userland-proxy": false, "containerd": "/run/containerd/containerd.sock",
            "exec-opts": ["native.cgroupdriver=systemd"],
            "runtimes": {"runr": {"path": runr}},
        });
        std::fs::write("/etc/docker/daemon.json", daemon_json.to_string()).unwrap();
        children.push(spawn("dockerd", &[]));
        assert!(wait_for(60, || sh("docker info").0 == 0), "dockerd up");
        assert_eq!(
            sh_ok("docker info --format '{{.CgroupDriver}}'"),
            "systemd",
            "dockerd's cgroup driver"
        );
        import_busybox();
        Daemons { children }
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = sh("podman rm -af >/dev/null 2>&1");
        for d in STATE_DIRS.iter().rev() {
            let _ = sh(&format!("umount -l {d}"));
        }
    }
}

fn spawn(bin: &str, args: &[&str]) -> Child {
    let log = std::fs::File::create(format!("/tmp/{bin}.log")).unwrap();
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"))
}

/// A busybox image from the host's busybox-static, in docker, containerd and podman.
fn import_busybox() {
    sh_ok(
        "set -e; r=$(mktemp -d); cd $r; mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp root; \
         cp /bin/busybox bin/; chroot . /bin/busybox --install -s; chmod 1777 tmp; \
         echo 'root:x:0:0:root:/root:/bin/sh' > etc/passwd; echo 'root:x:0:' > etc/group; \
         tar -c . | docker import -c 'CMD [\"/bin/sh\"]' -c 'ENV PATH=/bin:/usr/bin:/sbin:/usr/sbin' - busybox:local >/dev/null; \
         cd /; rm -rf $r; docker save busybox:local > /tmp/busybox.tar; \
         ctr -n default images import /tmp/busybox.tar >/dev/null; podman load -q -i /tmp/busybox.tar >/dev/null",
    );
}

/// (name as docker knows it, binary path) for runr and runc.
fn engines_runtimes() -> Vec<(&'static str, String)> {
    let runr = Runtime::runr().bin.to_string_lossy().into_owned();
    let mut v = vec![("runr", runr)];
    if let Some(runc) = which("runc") {
        v.push(("runc", runc.to_string_lossy().into_owned()));
    }
    v
}

fn docker_scenarios(rt: &str) {
    // Exit code, and the container in docker-<id>.scope of system.slice.
    let (code, out) = sh(&format!(
        "docker run --rm --runtime {rt} --cgroupns host busybox:local sh -c 'cat /proc/self/cgroup; exit 3'"
    ));
    assert_eq!(code, 3, "{rt}: {out}");
    assert!(
        out.contains("/system.slice/docker-") && out.contains(".scope"),
        "{rt}: {out}"
    );
    // A detached container: exec, pause/unpause, update, stats, stop, rm.
    let name = unique("sdd");
    let id = sh_ok(&format!(
        "docker run -d --runtime {rt} --cgroupns host --name {name} busybox:local sleep 300 2>/dev/null"
    ));
    let unit = format!("docker-{id}.scope");
    assert_eq!(show(&unit, "ActiveState"), "active", "{rt}");
    let out = sh_ok(&format!("docker exec {name} cat /proc/self/cgroup"));
    assert!(out.contains(&unit), "{rt}: exec in {out}");
    sh_ok(&format!("docker pause {name}"));
    assert_eq!(
        sh_ok(&format!("docker inspect -f '{{{{.State.Status}}}}' {name}")),
        "paused",
        "{rt}"
    );
    sh_ok(&format!("docker unpause {name}"));
    assert_eq!(
        sh_ok(&format!("docker inspect -f '{{{{.State.Status}}}}' {name}")),
        "running",
        "{rt}"
    );
    sh_ok(&format!(
        "docker update --memory 50m --memory-swap 50m {name}"
    ));
    assert_eq!(show(&unit, "MemoryMax"), "52428800", "{rt}");
    let usage = sh_ok(&format!(
        "docker stats --no-stream --format '{{{{.MemUsage}}}}' {name}"
    ));
    assert!(usage.ends_with("/ 50MiB"), "{rt}: stats {usage}");
    sh_ok(&format!("docker stop -t 1 {name}"));
    sh_ok(&format!("docker rm {name}"));
    assert!(!listed(&unit), "{rt}: {unit} left");
    // --memory OOM: exit 137 and OOMKilled. The shim (containerd 1.6) starts watching
    // memory.events only after `start` returns, and reports an OOM only on a change it sees:
    // an OOM in the first moments is missed under either runtime (CI saw it once under runr
    // in this slow VM). The sleep lets the watch be in place first.
    let name = unique("sdoom");
    let (code, out) = sh(&format!(
        "docker run --runtime {rt} --name {name} --memory 20m --memory-swap 20m busybox:local \
         sh -c 'sleep 1; x=$(head -c 60000000 /dev/zero | tr \"\\0\" a); echo survived'"
    ));
    assert_eq!(code, 137, "{rt}: {out}");
    assert_eq!(
        sh_ok(&format!(
            "docker inspect -f '{{{{.State.OOMKilled}}}}' {name}"
        )),
        "true",
        "{rt}"
    );
    sh_ok(&format!("docker rm {name}"));
}

fn ctr_scenarios(rt: &str, bin: &str) {
    let id = unique("sdctr");
    let (code, out) = sh(&format!(
        "ctr run --rm --runc-binary {bin} --runc-systemd-cgroup --cgroup system.slice:ctr:{id} \
         docker.io/library/busybox:local {id} sh -c 'cat /proc/self/cgroup; exit 4'"
    ));
    assert_eq!(code, 4, "{rt}: {out}");
    assert!(
        out.contains(&format!("0::/system.slice/ctr-{id}.scope")),
        "{rt}: {out}"
    );
    assert!(!listed(&format!("ctr-{id}.scope")), "{rt}: scope left");
}

fn podman_scenarios(rt: &str, bin: &str) {
    let pm = format!("podman --cgroup-manager systemd --runtime {bin}");
    let (code, out) = sh(&format!(
        "{pm} run --rm --network none --cgroupns host busybox:local sh -c 'cat /proc/self/cgroup; exit 5'"
    ));
    assert_eq!(code, 5, "{rt}: {out}");
    assert!(
        out.contains("/machine.slice/libpod-") && out.contains(".scope"),
        "{rt}: {out}"
    );
    let name = unique("sdpod");
    let id = sh_ok(&format!(
        "{pm} run -d --network none --cgroupns host --name {name} busybox:local sleep 300"
    ));
    let id = id.lines().last().unwrap_or_default().to_string();
    let unit = format!("libpod-{id}.scope");
    assert_eq!(show(&unit, "ActiveState"), "active", "{rt}");
    let out = sh_ok(&format!("{pm} exec {name} cat /proc/self/cgroup"));
    assert!(out.contains(&unit), "{rt}: exec in {out}");
    sh_ok(&format!("{pm} pause {name}"));
    assert_eq!(
        sh_ok(&format!("{pm} inspect -f '{{{{.State.Status}}}}' {name}")),
        "paused",
        "{rt}"
    );
    sh_ok(&format!("{pm} unpause {name}"));
    sh_ok(&format!("{pm} stop -t 1 {name}"));
    sh_ok(&format!("{pm} rm {name}"));
    assert!(!listed(&unit), "{rt}: {unit} left");
}

#[test]
fn docker_containerd_and_podman_with_the_systemd_driver() {
    if std::env::var_os("RUNR_SYSTEMD_VM").is_none() || !Path::new("/run/systemd/system").is_dir() {
        eprintln!(
            "SKIP docker_containerd_and_podman_with_the_systemd_driver: needs the systemd VM \
             (scripts/test-systemd.sh sets RUNR_SYSTEMD_VM=1; it mounts over /var/lib/docker)"
        );
        return;
    }
    let runtimes = engines_runtimes();
    let _daemons = Daemons::up(Path::new(&runtimes[0].1));
    for (rt, bin) in &runtimes {
        let t = std::time::Instant::now();
        docker_scenarios(rt);
        ctr_scenarios(rt, bin);
        podman_scenarios(rt, bin);
        eprintln!("engines with systemd, {rt}: {:.0?}", t.elapsed());
    }
    // Nothing of any engine's containers is left with systemd.
    let left: Vec<String> = sh_ok("systemctl list-units --all --no-legend --plain")
        .lines()
        .filter(|l| {
            ["docker-", "ctr-", "libpod-", "runr-", "runc-"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(str::to_string)
        .collect();
    assert!(left.is_empty(), "units left: {left:?}");
}
