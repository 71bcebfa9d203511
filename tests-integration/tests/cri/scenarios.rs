//! The scenarios: each drives one pod the way the kubelet does and returns the ids of the pods
//! and containers it made, for the leak check that follows it.

use std::time::{Duration, Instant};

use k8s_cri::v1::*;

use super::client::{container_config, pod_config};
use super::images::BUSYBOX_IMAGE;
use crate::{ensure, Env};

pub type Scenario = fn(&Env) -> Result<Vec<String>, String>;

const BASIC: &str = "Version, Status, ImageStatus, pod + container, ExecSync, log, stop, remove";
const LIMITS: &str = "limits land in the kubelet's pod cgroup and the container's cgroup";
const RESIZE: &str =
    "UpdateContainerResources resizes memory and CPU in place below a pod's limits; ContainerStats";
const OOM: &str = "an OOM-killed container is reported OOMKilled";

/// The scenarios run with the systemd driver in the emulated (slow) systemd VM: pod, container,
/// exec, limits in the scope below a kubelet-made pod slice, resize, stats (each costs 1-3 min
/// there on a loaded machine). The rest run on the host. Not OOM:
/// with `SystemdCgroup = true` the control, runc 1.1.5, raced there (reason `Error` instead of
/// `OOMKilled` in one of two runs; likely systemd removing the dead scope's cgroup, and its
/// memory.events, before containerd's shim reads it), so it would make CI flaky.
pub const IN_SYSTEMD_VM: &[&str] = &[BASIC, RESIZE];

pub const ALL: &[(&str, Scenario)] = &[
    (BASIC, pod_container_exec),
    (
        "two containers share the pod's IPC and UTS, PID only with shareProcessNamespace",
        shared_namespaces,
    ),
    (
        "stop: a TERM handler exits in the grace period, TERM ignored means SIGKILL after it",
        stop_grace_period,
    ),
    (
        "restart: an exited container is created and started again in the same sandbox; ReopenContainerLog",
        restart_and_reopen_log,
    ),
    ("RuntimeDefault seccomp", runtime_default_seccomp),
    (
        "a container whose executable is missing: the runtime's error reaches the kubelet, nothing is left",
        missing_executable,
    ),
    (
        "PullImage from a loopback registry, ImageStatus, a container of it, RemoveImage",
        pull_run_remove_image,
    ),
    (LIMITS, super::resources::limits_in_cgroups),
    (RESIZE, super::resources::resize_and_stats),
    (OOM, super::resources::oom_killed),
    ("Exec (streaming, websocket) output and exit codes", super::stream::exec_streaming),
];

/// Container `id`'s init and what ExecSync runs in it are in the container's cgroup (with the
/// systemd driver: its scope, active, in pod `name`'s slice).
fn in_its_cgroup(env: &Env, id: &str, name: &str) -> Result<(), String> {
    super::resources::scope_has(env, id, name, &[])?;
    let cg = super::resources::cgroup_of(env, id)?;
    let procs_file = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        format!("/sys/fs/cgroup{cg}/cgroup.procs")
    } else {
        format!("/sys/fs/cgroup/memory{cg}/cgroup.procs")
    };
    let procs = std::fs::read_to_string(&procs_file).unwrap_or_default();
    let pid = pid_of(env, id)?;
    ensure!(
        procs.lines().any(|l| l == pid.to_string()),
        "init {pid} not in {procs_file}: {procs:?}"
    );
    // Inside, the container's cgroup is its cgroup namespace's root ("/") or, without one,
    // the host's path of it; the exec's process is there, not where the shim runs.
    let seen = env
        .cri
        .sh(id, "grep -E '^0::|:memory:' /proc/self/cgroup")?;
    let path = seen.rsplit(':').next().unwrap_or_default();
    ensure!(
        path == "/" || path == cg,
        "ExecSync's process is in {seen:?}, the container's cgroup is {cg}"
    );
    Ok(())
}

/// The runtime that really ran container `id`: its state directory is in the handler's root.
fn ran_on_handler(env: &Env, id: &str) -> Result<(), String> {
    let state = env.cd.runtime_root(env.handler).join(id);
    ensure!(
        state.exists(),
        "{id}: no state in {} ({} did not run it)",
        state.display(),
        env.handler
    );
    Ok(())
}

/// What the kubelet asks first: the runtime's name and CRI version, its readiness, the image.
fn handshake(env: &Env) -> Result<(), String> {
    let (cri, rs) = (env.cri, || env.cri.rs());
    let v = cri.call(
        "Version",
        rs().version(VersionRequest {
            version: "v1".into(),
        }),
    )?;
    ensure!(
        v.runtime_name == "containerd" && v.runtime_api_version == "v1",
        "Version: {v:?}"
    );
    let status = cri.call("Status", rs().status(StatusRequest { verbose: false }))?;
    let conditions = status.status.map(|s| s.conditions).unwrap_or_default();
    let ready = |t: &str| conditions.iter().find(|c| c.r#type == t).map(|c| c.status);
    ensure!(
        ready("RuntimeReady") == Some(true),
        "Status: {conditions:?}"
    );
    ensure!(
        ready("NetworkReady") == Some(false),
        "NetworkReady without CNI: {conditions:?}"
    );
    // The image is there (imagePullPolicy IfNotPresent: no pull).
    let image = cri.call(
        "ImageStatus",
        env.cri.is().image_status(ImageStatusRequest {
            image: Some(ImageSpec {
                image: BUSYBOX_IMAGE.into(),
                ..Default::default()
            }),
            verbose: false,
        }),
    )?;
    ensure!(image.image.is_some(), "ImageStatus {BUSYBOX_IMAGE}: absent");
    Ok(())
}

/// ExecSync: exit codes and both streams, as the kubelet's exec probes read them; a timeout.
fn exec_sync_checks(env: &Env, c: &str) -> Result<(), String> {
    let cri = env.cri;
    let r = cri.exec_sync(c, &["sh", "-c", "echo out; echo err >&2; exit 3"])?;
    ensure!(
        r == (3, "out\n".into(), "err\n".into()),
        "ExecSync exit 3: {r:?}"
    );
    let r = cri.exec_sync(c, &["true"])?;
    ensure!(r.0 == 0, "ExecSync true: {r:?}");
    let missing = cri.exec_sync(c, &["/no/such/binary"]);
    ensure!(
        missing.as_ref().is_err() || missing.as_ref().is_ok_and(|r| r.0 != 0),
        "ExecSync of a missing binary succeeded: {missing:?}"
    );
    // A probe that outlives its timeout: an error, and the process it started is gone.
    let t = Instant::now();
    let late = cri.exec_sync_timeout(c, &["sleep", "4242"], 1);
    ensure!(
        late.as_ref().is_err_and(|e| e.contains("timeout")),
        "ExecSync past its timeout: {late:?}"
    );
    ensure!(
        t.elapsed() < Duration::from_secs(60),
        "timeout took {:?}",
        t.elapsed()
    );
    ensure!(
        tests_integration::wait_for(30, || tests_integration::processes_mentioning("sleep 4242")
            .is_empty()),
        "the timed-out exec's process is left"
    );
    Ok(())
}

fn pod_container_exec(env: &Env) -> Result<Vec<String>, String> {
    let (cri, rs) = (env.cri, || env.cri.rs());
    handshake(env)?;
    // The pod: its sandbox (pause) container runs on the handler.
    let pc = pod_config("basic", &env.cgroup_parent("basic"), &env.log_dir("basic"));
    let pod = cri.run_pod(&pc, env.handler)?;
    let ps = cri.call(
        "PodSandboxStatus",
        rs().pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: pod.clone(),
            verbose: false,
        }),
    )?;
    let state = ps.status.map(|s| s.state);
    ensure!(
        state == Some(PodSandboxState::SandboxReady as i32),
        "pod state {state:?}"
    );
    ran_on_handler(env, &pod)?;
    // A container that logs a line then sleeps as its PID 1 (it ignores SIGTERM).
    let cc = container_config(&pc, "main", "echo started; echo oops >&2; exec sleep 1000");
    let c = cri.create_start(&pod, &pc, cc)?;
    ran_on_handler(env, &c)?;
    let (st, info) = cri.status(&c)?;
    ensure!(
        st.state == ContainerState::ContainerRunning as i32,
        "state {}",
        st.state
    );
    ensure!(info["pid"].as_i64().unwrap_or(0) > 0, "no pid in {info}");
    exec_sync_checks(env, &c)?;
    in_its_cgroup(env, &c, "basic")?;
    // The container log, in the CRI format ("<time> <stream> F <line>").
    let log = env.log_dir("basic").join("main.log");
    let has = |stream: &str, line: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .any(|l| l.ends_with(&format!(" {stream} F {line}")))
    };
    ensure!(
        tests_integration::wait_for(30, || has("stdout", "started") && has("stderr", "oops")),
        "log {}: {:?}",
        log.display(),
        std::fs::read_to_string(&log)
    );
    // Stop with a grace period: SIGTERM is ignored, so SIGKILL after 2 s; exit 137.
    let t = Instant::now();
    cri.stop_container(&c, 2)?;
    let took = t.elapsed();
    ensure!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(60),
        "stop took {took:?}"
    );
    let (st, _) = cri.status(&c)?;
    ensure!(
        st.state == ContainerState::ContainerExited as i32 && st.exit_code == 137,
        "after stop: state {} exit {} reason {}",
        st.state,
        st.exit_code,
        st.reason
    );
    cri.remove_container(&c)?;
    cri.stop_remove_pod(&pod)?;
    Ok(vec![pod, c])
}

/// `readlink /proc/PID/ns/KIND`.
fn ns(pid: i64, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("/proc/{pid}/ns/{kind}: {e}"))
}

/// The host pid of container `id`'s init.
fn pid_of(env: &Env, id: &str) -> Result<i64, String> {
    let (_, info) = env.cri.status(id)?;
    info["pid"]
        .as_i64()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{id}: no pid in {info}"))
}

/// A pod with two sleeping containers; `share_pid` is `shareProcessNamespace`.
fn two_container_pod(
    env: &Env,
    name: &str,
    share_pid: bool,
) -> Result<(String, PodSandboxConfig, [String; 2]), String> {
    let mut pc = pod_config(name, &env.cgroup_parent(name), &env.log_dir(name));
    if share_pid {
        let sc = pc.linux.as_mut().and_then(|l| l.security_context.as_mut());
        if let Some(ns) = sc.and_then(|s| s.namespace_options.as_mut()) {
            ns.pid = NamespaceMode::Pod as i32;
        }
    }
    let pod = env.cri.run_pod(&pc, env.handler)?;
    let a = env
        .cri
        .create_start(&pod, &pc, container_config(&pc, "a", "exec sleep 1001"))?;
    let b = env
        .cri
        .create_start(&pod, &pc, container_config(&pc, "b", "exec sleep 1002"))?;
    Ok((pod, pc, [a, b]))
}

fn shared_namespaces(env: &Env) -> Result<Vec<String>, String> {
    let cri = env.cri;
    let me = std::process::id() as i64;
    // Without shareProcessNamespace: IPC and UTS of the pod, PID of each container's own.
    let (pod, _, [a, b]) = two_container_pod(env, "ns", false)?;
    let (_, pause) = cri.pod_status(&pod)?;
    let (pa, pb) = (pid_of(env, &a)?, pid_of(env, &b)?);
    for kind in ["ipc", "uts", "net"] {
        let want = ns(pause, kind);
        ensure!(
            ns(pa, kind) == want && ns(pb, kind) == want,
            "{kind}: pause {want}, a {}, b {}",
            ns(pa, kind),
            ns(pb, kind)
        );
    }
    ensure!(
        ns(pa, "ipc") != ns(me, "ipc"),
        "the pod's IPC is the host's"
    );
    // Host network: the node's network and UTS namespaces (the kubelet's hostNetwork).
    ensure!(
        ns(pa, "net") == ns(me, "net"),
        "host network pod, own netns"
    );
    ensure!(ns(pa, "uts") == ns(me, "uts"), "host network pod, own UTS");
    let pids = [ns(pause, "pid"), ns(pa, "pid"), ns(pb, "pid")];
    ensure!(
        pids[0] != pids[1] && pids[1] != pids[2] && pids[0] != pids[2],
        "PID namespaces shared without shareProcessNamespace: {pids:?}"
    );
    // The pod's IPC includes its /dev/shm: what a writes there, b reads.
    cri.sh(&a, "echo from-a > /dev/shm/x")?;
    let got = cri.sh(&b, "cat /dev/shm/x")?;
    ensure!(got == "from-a", "b read {got:?} from /dev/shm/x");
    let own = cri.sh(&b, "cat /proc/1/cmdline | tr '\\0' ' '")?;
    ensure!(own == "sleep 1002", "b's PID 1 is {own:?}");
    cri.stop_remove_pod(&pod)?;
    // With it: one PID namespace, the pause process its PID 1, a's sleep seen from b.
    let (pod2, _, [c, d]) = two_container_pod(env, "sharedpid", true)?;
    let (_, pause2) = cri.pod_status(&pod2)?;
    let (pc, pd) = (pid_of(env, &c)?, pid_of(env, &d)?);
    ensure!(
        ns(pc, "pid") == ns(pause2, "pid") && ns(pd, "pid") == ns(pause2, "pid"),
        "shareProcessNamespace: pause {}, c {}, d {}",
        ns(pause2, "pid"),
        ns(pc, "pid"),
        ns(pd, "pid")
    );
    let init = cri.sh(&d, "cat /proc/1/cmdline | tr '\\0' ' '")?;
    ensure!(
        init.trim() == "/pause",
        "PID 1 of the shared pod is {init:?}"
    );
    let ps = cri.sh(&d, "ps -o args")?;
    ensure!(
        ps.contains("sleep 1001"),
        "d does not see c's process: {ps}"
    );
    cri.stop_remove_pod(&pod2)?;
    Ok(vec![pod, a, b, pod2, c, d])
}

fn stop_grace_period(env: &Env) -> Result<Vec<String>, String> {
    let cri = env.cri;
    let pc = pod_config("stop", &env.cgroup_parent("stop"), &env.log_dir("stop"));
    let pod = cri.run_pod(&pc, env.handler)?;
    // A process that handles SIGTERM: StopContainer returns as soon as it exits, status 0.
    let script = "trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done";
    let polite = cri.create_start(&pod, &pc, container_config(&pc, "polite", script))?;
    let log = env.log_dir("stop").join("polite.log");
    let logged = |line: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(&format!(" stdout F {line}"))
    };
    ensure!(
        tests_integration::wait_for(30, || logged("ready")),
        "polite never got ready"
    );
    let t = Instant::now();
    cri.stop_container(&polite, 10)?;
    let took = t.elapsed();
    // Well inside the 10 s grace period (a loaded host takes a few seconds to stop anything).
    ensure!(
        took < Duration::from_secs(9),
        "TERM handler: stop took {took:?}"
    );
    let st = cri.wait_exited(&polite, 30)?;
    ensure!(st.exit_code == 0, "TERM handler exit {}", st.exit_code);
    ensure!(
        tests_integration::wait_for(30, || logged("got-term")),
        "no got-term in the log"
    );
    // PID 1 without a TERM handler ignores it: SIGKILL when the grace period ends.
    let stubborn = cri.create_start(
        &pod,
        &pc,
        container_config(&pc, "stubborn", "exec sleep 1003"),
    )?;
    let t = Instant::now();
    cri.stop_container(&stubborn, 3)?;
    let took = t.elapsed();
    ensure!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(15),
        "TERM ignored: stop took {took:?}, want the 3 s grace period then SIGKILL"
    );
    let st = cri.wait_exited(&stubborn, 30)?;
    ensure!(st.exit_code == 137, "SIGKILLed exit {}", st.exit_code);
    // StopPodSandbox stops what still runs; a second stop is a no-op (kubelet retries it).
    let running = cri.create_start(
        &pod,
        &pc,
        container_config(&pc, "running", "exec sleep 1004"),
    )?;
    cri.call(
        "StopPodSandbox",
        cri.rs().stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        }),
    )?;
    let st = cri.wait_exited(&running, 30)?;
    ensure!(
        st.exit_code == 137,
        "StopPodSandbox left exit {}",
        st.exit_code
    );
    cri.stop_remove_pod(&pod)?;
    Ok(vec![pod, polite, stubborn, running])
}

fn restart_and_reopen_log(env: &Env) -> Result<Vec<String>, String> {
    let cri = env.cri;
    let logs = env.log_dir("restart");
    let pc = pod_config("restart", &env.cgroup_parent("restart"), &logs);
    let pod = cri.run_pod(&pc, env.handler)?;
    // Attempt 0 fails with status 2; the kubelet sees Exited/Error and creates attempt 1.
    let mut cc = container_config(&pc, "app", "echo attempt-0; exit 2");
    cc.log_path = "app/0.log".into();
    let _ = std::fs::create_dir_all(logs.join("app"));
    let first = cri.create_start(&pod, &pc, cc)?;
    let st = cri.wait_exited(&first, 30)?;
    ensure!(
        st.exit_code == 2 && st.reason == "Error",
        "attempt 0: exit {} reason {}",
        st.exit_code,
        st.reason
    );
    let mut cc = container_config(&pc, "app", "while true; do echo tick; sleep 0.2; done");
    cc.metadata = Some(ContainerMetadata {
        name: "app".into(),
        attempt: 1,
    });
    cc.log_path = "app/1.log".into();
    let second = cri.create_start(&pod, &pc, cc)?;
    ensure!(second != first, "attempt 1 has attempt 0's id");
    let (st, _) = cri.status(&second)?;
    ensure!(
        st.state == ContainerState::ContainerRunning as i32
            && st.metadata.as_ref().map(|m| m.attempt) == Some(1),
        "attempt 1: {st:?}"
    );
    cri.remove_container(&first)?;
    let zero = std::fs::read_to_string(logs.join("app/0.log")).unwrap_or_default();
    ensure!(
        zero.contains(" stdout F attempt-0"),
        "attempt 0's log: {zero:?}"
    );
    // Log rotation: the kubelet renames the file and asks for it to be reopened.
    let log = logs.join("app/1.log");
    ensure!(
        tests_integration::wait_for(30, || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("tick"))),
        "no tick in {}",
        log.display()
    );
    std::fs::rename(&log, logs.join("app/1.log.rotated")).map_err(|e| e.to_string())?;
    cri.call(
        "ReopenContainerLog",
        cri.rs().reopen_container_log(ReopenContainerLogRequest {
            container_id: second.clone(),
        }),
    )?;
    ensure!(
        tests_integration::wait_for(30, || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains(" stdout F tick"))),
        "nothing written to the reopened {}",
        log.display()
    );
    cri.stop_remove_pod(&pod)?;
    Ok(vec![pod, first, second])
}

fn runtime_default_seccomp(env: &Env) -> Result<Vec<String>, String> {
    let cri = env.cri;
    let pc = pod_config(
        "seccomp",
        &env.cgroup_parent("seccomp"),
        &env.log_dir("seccomp"),
    );
    let pod = cri.run_pod(&pc, env.handler)?;
    let mut cc = container_config(&pc, "confined", "exec sleep 1005");
    if let Some(sc) = cc.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.seccomp = Some(SecurityProfile {
            profile_type: security_profile::ProfileType::RuntimeDefault as i32,
            localhost_ref: String::new(),
        });
    }
    let confined = cri.create_start(&pod, &pc, cc)?;
    let free = cri.create_start(&pod, &pc, container_config(&pc, "free", "exec sleep 1006"))?;
    // The filter is on the container's init (mode 2) and on what ExecSync runs in it.
    let status =
        |pid: i64| std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let init = status(pid_of(env, &confined)?);
    ensure!(init.contains("Seccomp:\t2"), "init of confined: {init}");
    let exec = cri.sh(&confined, "grep Seccomp: /proc/self/status")?;
    ensure!(exec.contains('2'), "ExecSync in confined: {exec}");
    let unconfined = cri.sh(&free, "grep Seccomp: /proc/self/status")?;
    ensure!(unconfined.contains('0'), "ExecSync in free: {unconfined}");
    // containerd's default profile allows unshare(CLONE_NEWUSER) only with CAP_SYS_ADMIN.
    let (code, _, err) = cri.exec_sync(&confined, &["unshare", "-U", "true"])?;
    ensure!(code != 0, "unshare -U under RuntimeDefault succeeded");
    ensure!(
        err.contains("not permitted"),
        "unshare -U under RuntimeDefault: {err}"
    );
    let (code, _, err) = cri.exec_sync(&free, &["unshare", "-U", "true"])?;
    ensure!(code == 0, "unshare -U unconfined: exit {code}: {err}");
    cri.stop_remove_pod(&pod)?;
    Ok(vec![pod, confined, free])
}

fn image_spec(image: &str) -> Option<ImageSpec> {
    Some(ImageSpec {
        image: image.into(),
        ..Default::default()
    })
}

fn pull_run_remove_image(env: &Env) -> Result<Vec<String>, String> {
    let (cri, is) = (env.cri, || env.cri.is());
    let image = env.pullable.as_str();
    let absent = cri.call(
        "ImageStatus",
        is().image_status(ImageStatusRequest {
            image: image_spec(image),
            verbose: false,
        }),
    )?;
    ensure!(absent.image.is_none(), "{image} present before the pull");
    // A tag the registry does not have: the pull fails, naming it.
    let missing = image.replace(":pulled", ":no-such-tag");
    let err = cri.call(
        "PullImage",
        is().pull_image(PullImageRequest {
            image: image_spec(&missing),
            ..Default::default()
        }),
    );
    ensure!(err.is_err(), "pulling {missing} succeeded: {err:?}");
    let pulled = cri.call(
        "PullImage",
        is().pull_image(PullImageRequest {
            image: image_spec(image),
            ..Default::default()
        }),
    )?;
    let status = cri.call(
        "ImageStatus",
        is().image_status(ImageStatusRequest {
            image: image_spec(image),
            verbose: false,
        }),
    )?;
    let img = status
        .image
        .ok_or(format!("{image} absent after the pull"))?;
    ensure!(
        img.id == pulled.image_ref && img.repo_tags.iter().any(|t| t == image),
        "ImageStatus after pull: {img:?}, PullImage said {}",
        pulled.image_ref
    );
    // The kubelet then runs the image by the reference the pull returned.
    let pc = pod_config("pull", &env.cgroup_parent("pull"), &env.log_dir("pull"));
    let pod = cri.run_pod(&pc, env.handler)?;
    let mut cc = container_config(&pc, "pulled", "exec sleep 1010");
    cc.image = image_spec(&pulled.image_ref);
    let c = cri.create_start(&pod, &pc, cc)?;
    let hello = cri.sh(&c, "echo hello from the pulled image")?;
    ensure!(
        hello == "hello from the pulled image",
        "ExecSync: {hello:?}"
    );
    cri.stop_remove_pod(&pod)?;
    cri.call(
        "RemoveImage",
        is().remove_image(RemoveImageRequest {
            image: image_spec(image),
        }),
    )?;
    let gone = cri.call(
        "ImageStatus",
        is().image_status(ImageStatusRequest {
            image: image_spec(image),
            verbose: false,
        }),
    )?;
    ensure!(
        gone.image.is_none(),
        "{image} still there after RemoveImage"
    );
    Ok(vec![pod, c])
}

fn missing_executable(env: &Env) -> Result<Vec<String>, String> {
    let cri = env.cri;
    let pc = pod_config(
        "noexec",
        &env.cgroup_parent("noexec"),
        &env.log_dir("noexec"),
    );
    let pod = cri.run_pod(&pc, env.handler)?;
    let mut cc = container_config(&pc, "broken", "");
    cc.command = vec!["/no/such/binary".into()];
    let failed = cri.create_start(&pod, &pc, cc);
    let err = failed.as_ref().err().cloned().unwrap_or_default();
    ensure!(
        err.contains("/no/such/binary") && err.contains("no such file"),
        "a missing executable: {failed:?}"
    );
    // The kubelet finds the container (not running) and removes it.
    let listed = cri.call(
        "ListContainers",
        cri.rs().list_containers(ListContainersRequest::default()),
    )?;
    let ids: Vec<String> = listed
        .containers
        .iter()
        .filter(|c| c.pod_sandbox_id == pod)
        .map(|c| c.id.clone())
        .collect();
    ensure!(
        ids.len() == 1,
        "containers of the pod: {:?}",
        listed.containers
    );
    let (st, _) = cri.status(&ids[0])?;
    ensure!(
        st.state != ContainerState::ContainerRunning as i32,
        "the broken container runs: {st:?}"
    );
    cri.remove_container(&ids[0])?;
    cri.stop_remove_pod(&pod)?;
    Ok(vec![pod, ids[0].clone()])
}
