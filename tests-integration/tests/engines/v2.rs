//! The engine suite on a pure cgroup v2 host, cgroupfs driver (issue #15 item 3): the scenarios
//! that `scripts/test-v2.sh` runs in its throw-away v2 VM (`RUNR_ENGINES_V2VM=1`). The VM is
//! emulated and slow, so each engine gets one lifecycle scenario (run and its exit code, exec,
//! stats, pause/unpause, update, stop) and one `--memory` OOM scenario, and every step reads
//! the container's own cgroup v2 files on the host (found from `/proc/<pid>/cgroup`): the
//! engines' cgroupfs paths (`/docker/<id>`, `/default/<id>`, `/libpod_parent/libpod-<id>`),
//! `memory.max`, `cpu.max`, `pids.max`, `cgroup.events` (frozen), the directory gone after stop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::{ctr, expect, expect_eq, podman, run, wait_until, Detached, Rt, CTR_IMAGE, DOCKER};
use tests_integration::{scratch, unique};

/// A process that allocates ~60 MB in memory: killed under a 20 MiB limit. After a second, so
/// that the containerd shim's memory.events watch (added once `start` returns) sees the OOM.
const OOM_SH: &str = "sleep 1; x=$(head -c 60000000 /dev/zero | tr '\\0' a); echo survived";
/// PID 1 that exits with status 3 on SIGTERM (a graceful stop), within a second: the engine's
/// stop and the exit code it reports, in one.
const GRACEFUL: &str = "trap 'exit 3' TERM; while :; do sleep 1; done";
/// podman's rlimits are above the hard limit of some hosts (see ../shared/docs/engines.md).
const PODMAN_LIMITS: &[&str] = &[
    "--network",
    "none",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

/// The cgroup v2 directory of a host pid (`0::/path` of `/proc/<pid>/cgroup`).
fn cgroup_of(pid: &str) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| format!("/proc/{pid}/cgroup: {e}"))?;
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or_else(|| format!("/proc/{pid}/cgroup has no cgroup2 line: {text}"))?;
    Ok(PathBuf::from("/sys/fs/cgroup").join(path.trim_start_matches('/')))
}

fn read(cg: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(cg.join(file))
        .unwrap_or_else(|e| format!("<{}: {e}>", cg.join(file).display()))
        .trim()
        .to_string()
}

/// The container's cgroup is under `parent` (the engine's cgroupfs path) and has `memory.max`.
fn check_cgroup(pid: &str, parent: &str, memory_max: &str) -> Result<PathBuf, String> {
    let cg = cgroup_of(pid)?;
    expect(
        cg.starts_with(parent),
        format!("cgroup {} is not under {parent}", cg.display()),
    )?;
    expect_eq(&read(&cg, "memory.max"), memory_max, "memory.max")?;
    Ok(cg)
}

/// `cgroup.events` says `frozen 1` when paused, `frozen 0` when resumed.
fn wait_frozen(cg: &std::path::Path, frozen: bool) -> Result<(), String> {
    let want = format!("frozen {}", u8::from(frozen));
    expect(
        wait_until(60, || read(cg, "cgroup.events").lines().any(|l| l == want)),
        format!("{}: {want}: {}", cg.display(), read(cg, "cgroup.events")),
    )
}

/// The container's cgroup is removed once the engine deleted the container.
fn wait_removed(cg: &std::path::Path) -> Result<(), String> {
    expect(
        wait_until(60, || !cg.exists()),
        format!("{} left after the container stopped", cg.display()),
    )
}

// ---------------------------------------------------------------------------------------------
// Docker (through containerd's runc shim)

pub(super) fn docker_lifecycle(rt: &Rt) -> Result<(), String> {
    let c = Detached::start(rt, &["--memory", "128m"], &["sh", "-c", GRACEFUL])?;
    let cg = check_cgroup(
        &c.inspect("{{.State.Pid}}"),
        "/sys/fs/cgroup/docker",
        "134217728",
    )?;
    // exec joins the container's cgroup namespace (Docker's default on v2): its own limit.
    let inside = c.exec(&[], &["cat", "/sys/fs/cgroup/memory.max"]);
    expect_eq(inside.stdout.trim(), "134217728", "exec: memory.max inside")?;
    let code = c.exec(&[], &["sh", "-c", "exit 5"]).code;
    expect_eq(&code.to_string(), "5", "exec exit code")?;
    let stats = run(
        DOCKER,
        &["stats", "--no-stream", "--format", "{{.MemUsage}}", &c.name],
        None,
    );
    expect(
        stats.code == 0 && stats.stdout.trim().ends_with("/ 128MiB"),
        format!("docker stats: {} {}", stats.stdout, stats.stderr),
    )?;
    let p = run(DOCKER, &["pause", &c.name], None);
    expect(p.code == 0, format!("docker pause: {}", p.stderr))?;
    expect_eq(&c.inspect("{{.State.Paused}}"), "true", "paused")?;
    wait_frozen(&cg, true)?;
    let u = run(DOCKER, &["unpause", &c.name], None);
    expect(u.code == 0, format!("docker unpause: {}", u.stderr))?;
    wait_frozen(&cg, false)?;
    let args = [
        "update",
        "--memory",
        "64m",
        "--memory-swap",
        "64m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "50",
        &c.name,
    ];
    let up = run(DOCKER, &args, None);
    expect(up.code == 0, format!("docker update: {}", up.stderr))?;
    expect_eq(
        &read(&cg, "memory.max"),
        "67108864",
        "memory.max after update",
    )?;
    expect_eq(
        &read(&cg, "cpu.max"),
        "50000 100000",
        "cpu.max after update",
    )?;
    expect_eq(&read(&cg, "pids.max"), "50", "pids.max after update")?;
    let st = run(DOCKER, &["stop", "-t", "20", &c.name], None);
    expect(st.code == 0, format!("docker stop: {}", st.stderr))?;
    expect_eq(
        &c.inspect("{{.State.ExitCode}}"),
        "3",
        "exit code after stop",
    )?;
    wait_removed(&cg)
}

// ---------------------------------------------------------------------------------------------
// containerd (ctr). ctr 1.6 has no update command: docker update above is containerd's Update.

/// The task's (pid, status) in `ctr task ls`.
fn ctr_task(id: &str) -> Option<(String, String)> {
    let ls = ctr(&["task", "ls"]).stdout;
    let line = ls
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id))?;
    let mut words = line.split_whitespace().skip(1);
    Some((words.next()?.to_string(), words.next()?.to_string()))
}

fn ctr_status_is(id: &str, status: &str) -> Result<(), String> {
    expect(
        wait_until(60, || ctr_task(id).is_some_and(|(_, s)| s == status)),
        format!("ctr task {id}: want {status}, got {:?}", ctr_task(id)),
    )
}

/// run + exit code (ctr's default spec has no /sys/fs/cgroup mount: the limit is checked on the
/// host, on the detached task below).
fn ctr_foreground(bin: &str) -> Result<(), String> {
    let id = unique("ctr2");
    let script = "echo hi; exit 4";
    let out = ctr(&[
        "run",
        "--rm",
        "--runc-binary",
        bin,
        CTR_IMAGE,
        &id,
        "sh",
        "-c",
        script,
    ]);
    expect_eq(
        &out.code.to_string(),
        "4",
        &format!("ctr run exit code ({})", out.stderr),
    )?;
    expect_eq(&out.stdout, "hi\n", "ctr run stdout")
}

/// exec, pause/resume, metrics, kill, rm of a detached task.
fn ctr_detached_steps(id: &str) -> Result<(), String> {
    let (pid, _) = ctr_task(id).ok_or(format!("ctr task {id} not listed"))?;
    let cg = check_cgroup(&pid, "/sys/fs/cgroup/default", "134217728")?;
    let ex = ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        id,
        "sh",
        "-c",
        "echo ok; exit 6",
    ]);
    expect_eq(
        &ex.stdout,
        "ok\n",
        &format!("ctr task exec ({})", ex.stderr),
    )?;
    expect_eq(&ex.code.to_string(), "6", "ctr task exec exit code")?;
    let p = ctr(&["task", "pause", id]);
    expect(p.code == 0, format!("ctr task pause: {}", p.stderr))?;
    ctr_status_is(id, "PAUSED")?;
    wait_frozen(&cg, true)?;
    let r = ctr(&["task", "resume", id]);
    expect(r.code == 0, format!("ctr task resume: {}", r.stderr))?;
    ctr_status_is(id, "RUNNING")?;
    wait_frozen(&cg, false)?;
    let m = ctr(&["task", "metrics", id]);
    expect(
        m.code == 0 && m.stdout.contains("memory"),
        format!("ctr task metrics: {} {}", m.stdout, m.stderr),
    )?;
    let k = ctr(&["task", "kill", "-s", "SIGKILL", id]);
    expect(k.code == 0, format!("ctr task kill: {}", k.stderr))?;
    ctr_status_is(id, "STOPPED")?;
    let rm = ctr(&["task", "rm", id]);
    expect(rm.code == 0, format!("ctr task rm: {}", rm.stderr))?;
    wait_removed(&cg)
}

pub(super) fn ctr_lifecycle(rt: &Rt) -> Result<(), String> {
    let bin = rt.bin.to_str().unwrap();
    ctr_foreground(bin)?;
    let id = unique("ctr2d");
    let d = ctr(&[
        "run",
        "-d",
        "--runc-binary",
        bin,
        "--memory-limit",
        "134217728",
        CTR_IMAGE,
        &id,
        "sleep",
        "300",
    ]);
    expect(d.code == 0, format!("ctr run -d: {}", d.stderr))?;
    let result = ctr_detached_steps(&id);
    ctr(&["task", "kill", "-s", "SIGKILL", &id]);
    ctr(&["task", "rm", "-f", &id]);
    ctr(&["containers", "rm", &id]);
    result
}

/// `ctr events`, its lines collected in the background until dropped.
struct Events {
    child: std::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Events {
    fn start() -> Events {
        let mut child = std::process::Command::new("ctr")
            .arg("events")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("ctr events");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(l);
            }
        });
        Events { child, lines }
    }

    /// The subscription is live once it shows an event: a namespace created for that (cheap),
    /// again until one is seen (one created before `ctr events` subscribed is never shown).
    fn live(&self) -> bool {
        (0..12).any(|_| {
            let probe = unique("ctr2ns");
            ctr(&["namespaces", "create", &probe]);
            let seen = wait_until(10, || self.saw("/namespaces/create", &probe));
            ctr(&["namespaces", "rm", &probe]);
            seen
        })
    }

    fn saw(&self, topic: &str, id: &str) -> bool {
        let lines = self.lines.lock().unwrap();
        lines.iter().any(|l| l.contains(topic) && l.contains(id))
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `--memory-limit` 20 MiB: a process exec'd into the running task is OOM-killed (exit 137) and
/// the shim publishes `/tasks/oom` for the container (what Docker's OOMKilled and the kubelet's
/// OOMKilled reason come from). The exec comes after `ctr run -d` returned, so after the shim
/// watches the cgroup's `memory.events` (it starts watching once the task started).
pub(super) fn ctr_oom(rt: &Rt) -> Result<(), String> {
    let events = Events::start();
    expect(events.live(), "ctr events saw none of the probe namespaces")?;
    let bin = rt.bin.to_str().unwrap();
    let id = unique("ctr2oom");
    let d = ctr(&[
        "run",
        "-d",
        "--runc-binary",
        bin,
        "--memory-limit",
        "20971520",
        CTR_IMAGE,
        &id,
        "sleep",
        "300",
    ]);
    let result = (|| {
        expect(d.code == 0, format!("ctr run -d: {}", d.stderr))?;
        let ex = ctr(&["task", "exec", "--exec-id", "oom", &id, "sh", "-c", OOM_SH]);
        expect_eq(
            &ex.code.to_string(),
            "137",
            &format!("exit code of the OOM-killed exec ({})", ex.stderr),
        )?;
        expect(
            wait_until(120, || events.saw("/tasks/oom", &id)),
            format!("a /tasks/oom event for {id}"),
        )
    })();
    ctr(&["task", "kill", "-s", "SIGKILL", &id]);
    let _ = ctr_status_is(&id, "STOPPED");
    ctr(&["task", "rm", "-f", &id]);
    ctr(&["containers", "rm", &id]);
    result
}

// ---------------------------------------------------------------------------------------------
// podman (conmon)

fn podman_run(rt: &Rt, extra: &[&str], cmd: &[&str]) -> super::Out {
    let mut args = vec!["run"];
    args.extend_from_slice(PODMAN_LIMITS);
    args.extend_from_slice(extra);
    args.push("localhost/busybox:local");
    args.extend_from_slice(cmd);
    podman(rt, &args)
}

fn podman_inspect(rt: &Rt, name: &str, format: &str) -> String {
    podman(rt, &["inspect", "--format", format, name])
        .stdout
        .trim()
        .to_string()
}

/// exec, stats, pause/unpause, update, stop of a detached container.
fn podman_detached_steps(rt: &Rt, name: &str) -> Result<(), String> {
    let pid = podman_inspect(rt, name, "{{.State.Pid}}");
    let cg = check_cgroup(&pid, "/sys/fs/cgroup/libpod_parent", "134217728")?;
    let script = "cat /sys/fs/cgroup/memory.max; exit 6";
    let ex = podman(rt, &["exec", name, "sh", "-c", script]);
    expect_eq(
        ex.stdout.trim(),
        "134217728",
        &format!("podman exec: memory.max inside ({})", ex.stderr),
    )?;
    expect_eq(&ex.code.to_string(), "6", "podman exec exit code")?;
    let s = podman(
        rt,
        &["stats", "--no-stream", "--format", "{{.MemUsage}}", name],
    );
    expect(
        s.code == 0 && s.stdout.trim().ends_with("/ 134.2MB"),
        format!("podman stats: {} {}", s.stdout, s.stderr),
    )?;
    let p = podman(rt, &["pause", name]);
    expect(p.code == 0, format!("podman pause: {}", p.stderr))?;
    expect_eq(
        &podman_inspect(rt, name, "{{.State.Status}}"),
        "paused",
        "paused",
    )?;
    wait_frozen(&cg, true)?;
    let u = podman(rt, &["unpause", name]);
    expect(u.code == 0, format!("podman unpause: {}", u.stderr))?;
    wait_frozen(&cg, false)?;
    let up = podman(rt, &["update", "--memory", "64m", "--cpus", "0.5", name]);
    expect(up.code == 0, format!("podman update: {}", up.stderr))?;
    expect_eq(
        &read(&cg, "memory.max"),
        "67108864",
        "memory.max after update",
    )?;
    expect_eq(
        &read(&cg, "cpu.max"),
        "50000 100000",
        "cpu.max after update",
    )?;
    let st = podman(rt, &["stop", "-t", "20", name]);
    expect(st.code == 0, format!("podman stop: {}", st.stderr))?;
    expect_eq(
        &podman_inspect(rt, name, "{{.State.ExitCode}}"),
        "3",
        "exit code after stop",
    )?;
    wait_removed(&cg)
}

pub(super) fn podman_lifecycle(rt: &Rt) -> Result<(), String> {
    let name = unique("pod2");
    let d = podman_run(
        rt,
        &["-d", "--name", &name, "--memory", "128m"],
        &["sh", "-c", GRACEFUL],
    );
    expect(d.code == 0, format!("podman run -d: {}", d.stderr))?;
    let result = podman_detached_steps(rt, &name);
    podman(rt, &["rm", "-f", &name]);
    result
}

/// `--memory 20m`: exit 137, and conmon saw the OOM in the container's cgroup (its
/// `memory.events`, found from the init's `/proc/<pid>/cgroup`): conmon 2.1.6 records it as a
/// file `oom` in its working directory, here a fresh one. podman 4.3.1 reads that file from the
/// bundle directory, so with this conmon `State.OOMKilled` stays `false` under runc exactly as
/// under runr (seen in the VM): the record conmon makes is what is asserted.
pub(super) fn podman_oom(rt: &Rt) -> Result<(), String> {
    let name = unique("pod2oom");
    let cwd = scratch().join(&name);
    std::fs::create_dir_all(&cwd).map_err(|e| format!("{}: {e}", cwd.display()))?;
    let mut args = vec![
        "run",
        "--name",
        &name,
        "--memory",
        "20m",
        "--memory-swap",
        "20m",
    ];
    args.extend_from_slice(PODMAN_LIMITS);
    args.extend_from_slice(&["localhost/busybox:local", "sh", "-c", OOM_SH]);
    let out = podman_in(&cwd, rt, &args);
    let recorded = wait_until(60, || cwd.join("oom").exists());
    podman(rt, &["rm", "-f", &name]);
    let _ = std::fs::remove_dir_all(&cwd);
    expect_eq(
        &out.code.to_string(),
        "137",
        &format!("exit code of the OOM-killed container ({})", out.stderr),
    )?;
    expect(recorded, "conmon recorded the OOM (its `oom` file)")
}

/// [`podman`] run in `dir` (conmon inherits it as its working directory).
fn podman_in(dir: &std::path::Path, rt: &Rt, args: &[&str]) -> super::Out {
    let out = std::process::Command::new("podman")
        .current_dir(dir)
        .args(["--runtime", rt.bin.to_str().unwrap()])
        .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("podman");
    super::Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
