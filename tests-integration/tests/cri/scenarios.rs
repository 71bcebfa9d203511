//! The scenarios: each drives one pod the way the kubelet does and returns the ids of the pods
//! and containers it made, for the leak check that follows it.

use std::time::{Duration, Instant};

use k8s_cri::v1::*;

use super::client::{container_config, pod_config};
use super::images::BUSYBOX_IMAGE;
use crate::{ensure, Env};

pub type Scenario = fn(&Env) -> Result<Vec<String>, String>;

pub const ALL: &[(&str, Scenario)] = &[(
    "Version, Status, ImageStatus, pod + container, ExecSync, log, stop, remove",
    pod_container_exec,
)];

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

fn pod_container_exec(env: &Env) -> Result<Vec<String>, String> {
    let (cri, rs) = (env.cri, || env.cri.rs());
    // What the kubelet asks first: the runtime's name and CRI version, and its readiness.
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
    // ExecSync: exit codes and both streams, as the kubelet's exec probes read them.
    let r = cri.exec_sync(&c, &["sh", "-c", "echo out; echo err >&2; exit 3"])?;
    ensure!(
        r == (3, "out\n".into(), "err\n".into()),
        "ExecSync exit 3: {r:?}"
    );
    let r = cri.exec_sync(&c, &["true"])?;
    ensure!(r.0 == 0, "ExecSync true: {r:?}");
    let missing = cri.exec_sync(&c, &["/no/such/binary"]);
    ensure!(
        missing.as_ref().is_err() || missing.as_ref().is_ok_and(|r| r.0 != 0),
        "ExecSync of a missing binary succeeded: {missing:?}"
    );
    // The container log, in the CRI format ("<time> <stream> F <line>").
    let log = env.log_dir("basic").join("main.log");
    let has = |stream: &str, line: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .any(|l| l.ends_with(&format!(" {stream} F {line}")))
    };
    ensure!(
        tests_integration::wait_for(5, || has("stdout", "started") && has("stderr", "oops")),
        "log {}: {:?}",
        log.display(),
        std::fs::read_to_string(&log)
    );
    // Stop with a grace period: SIGTERM is ignored, so SIGKILL after 2 s; exit 137.
    let t = Instant::now();
    cri.stop_container(&c, 2)?;
    let took = t.elapsed();
    ensure!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(15),
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
