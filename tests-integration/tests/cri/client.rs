//! The CRI client: `k8s-cri`'s generated `runtime.v1` clients over tonic, connected to
//! containerd's Unix socket, each call run to completion on a small current-thread tokio runtime,
//! plus the few request shapes the kubelet sends for a pod (`pod_config`, `container_config`).

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use tonic::transport::{Channel, Endpoint, Uri};

use super::images::BUSYBOX_IMAGE;

pub struct Cri {
    rt: tokio::runtime::Runtime,
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
}

impl Cri {
    pub fn connect(socket: &Path) -> Result<Cri, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let path = socket.to_path_buf();
        let channel = rt
            .block_on(async move {
                Endpoint::try_from("http://[::]")?
                    .connect_with_connector(tower::service_fn(move |_: Uri| {
                        let path = path.clone();
                        async move {
                            let s = tokio::net::UnixStream::connect(path).await?;
                            Ok::<_, std::io::Error>(TokioIo::new(s))
                        }
                    }))
                    .await
            })
            .map_err(|e| format!("connect {}: {e}", socket.display()))?;
        Ok(Cri {
            rt,
            runtime: RuntimeServiceClient::new(channel.clone()),
            images: ImageServiceClient::new(channel),
        })
    }

    /// A RuntimeService client (cheap: it shares the channel).
    pub fn rs(&self) -> RuntimeServiceClient<Channel> {
        self.runtime.clone()
    }

    /// An ImageService client.
    pub fn is(&self) -> ImageServiceClient<Channel> {
        self.images.clone()
    }

    /// Runs one call; an error names the call and carries the status message.
    pub fn call<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, String> {
        self.rt
            .block_on(fut)
            .map(tonic::Response::into_inner)
            .map_err(|s| format!("{what}: {:?}: {}", s.code(), s.message()))
    }

    /// Runs a future on the client's runtime (streams, timers).
    pub fn block_on<T>(&self, fut: impl Future<Output = T>) -> T {
        self.rt.block_on(fut)
    }

    /// RunPodSandbox on `handler`; returns the sandbox id.
    pub fn run_pod(&self, config: &PodSandboxConfig, handler: &str) -> Result<String, String> {
        let req = RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: handler.into(),
        };
        let r = self.call("RunPodSandbox", self.rs().run_pod_sandbox(req))?;
        Ok(r.pod_sandbox_id)
    }

    /// CreateContainer + StartContainer; returns the container id.
    pub fn create_start(
        &self,
        pod: &str,
        pod_config: &PodSandboxConfig,
        config: ContainerConfig,
    ) -> Result<String, String> {
        let req = CreateContainerRequest {
            pod_sandbox_id: pod.into(),
            config: Some(config),
            sandbox_config: Some(pod_config.clone()),
        };
        let id = self
            .call("CreateContainer", self.rs().create_container(req))?
            .container_id;
        let start = StartContainerRequest {
            container_id: id.clone(),
        };
        self.call("StartContainer", self.rs().start_container(start))?;
        Ok(id)
    }

    /// ContainerStatus with the verbose info (pid, the OCI spec containerd generated).
    pub fn status(&self, id: &str) -> Result<(ContainerStatus, serde_json::Value), String> {
        let req = ContainerStatusRequest {
            container_id: id.into(),
            verbose: true,
        };
        let r = self.call("ContainerStatus", self.rs().container_status(req))?;
        let info = r
            .info
            .get("info")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        r.status
            .map(|s| (s, info))
            .ok_or_else(|| format!("ContainerStatus {id}: no status"))
    }

    /// PodSandboxStatus with the verbose info; returns (state, pid of the sandbox container).
    pub fn pod_status(&self, pod: &str) -> Result<(i32, i64), String> {
        let req = PodSandboxStatusRequest {
            pod_sandbox_id: pod.into(),
            verbose: true,
        };
        let r = self.call("PodSandboxStatus", self.rs().pod_sandbox_status(req))?;
        let info: serde_json::Value = r
            .info
            .get("info")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let state = r.status.map(|s| s.state).unwrap_or(-1);
        Ok((state, info["pid"].as_i64().unwrap_or(0)))
    }

    /// Waits up to `secs` for container `id` to exit; returns its final status.
    pub fn wait_exited(&self, id: &str, secs: u64) -> Result<ContainerStatus, String> {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let (st, _) = self.status(id)?;
            if st.state == ContainerState::ContainerExited as i32 {
                return Ok(st);
            }
            if std::time::Instant::now() > end {
                return Err(format!("{id} still in state {} after {secs}s", st.state));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// ExecSync: (exit code, stdout, stderr).
    pub fn exec_sync(&self, id: &str, cmd: &[&str]) -> Result<(i32, String, String), String> {
        self.exec_sync_timeout(id, cmd, 20)
    }

    /// ExecSync with a timeout in seconds (a kubelet probe's `timeoutSeconds`).
    pub fn exec_sync_timeout(
        &self,
        id: &str,
        cmd: &[&str],
        timeout: i64,
    ) -> Result<(i32, String, String), String> {
        let req = ExecSyncRequest {
            container_id: id.into(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout,
        };
        let r = self.call(&format!("ExecSync {cmd:?}"), self.rs().exec_sync(req))?;
        Ok((
            r.exit_code,
            String::from_utf8_lossy(&r.stdout).into_owned(),
            String::from_utf8_lossy(&r.stderr).into_owned(),
        ))
    }

    /// ExecSync that must exit 0; its stdout, trimmed.
    pub fn sh(&self, id: &str, script: &str) -> Result<String, String> {
        let (code, out, err) = self.exec_sync(id, &["sh", "-c", script])?;
        if code != 0 {
            return Err(format!("exec `{script}` in {id}: exit {code}: {out}{err}"));
        }
        Ok(out.trim().to_string())
    }

    pub fn stop_container(&self, id: &str, timeout: i64) -> Result<(), String> {
        let req = StopContainerRequest {
            container_id: id.into(),
            timeout,
        };
        self.call("StopContainer", self.rs().stop_container(req))
            .map(drop)
    }

    pub fn remove_container(&self, id: &str) -> Result<(), String> {
        let req = RemoveContainerRequest {
            container_id: id.into(),
        };
        self.call("RemoveContainer", self.rs().remove_container(req))
            .map(drop)
    }

    /// StopPodSandbox then RemovePodSandbox, as the kubelet ends a pod.
    pub fn stop_remove_pod(&self, pod: &str) -> Result<(), String> {
        let stop = StopPodSandboxRequest {
            pod_sandbox_id: pod.into(),
        };
        self.call("StopPodSandbox", self.rs().stop_pod_sandbox(stop))?;
        let remove = RemovePodSandboxRequest {
            pod_sandbox_id: pod.into(),
        };
        self.call("RemovePodSandbox", self.rs().remove_pod_sandbox(remove))
            .map(drop)
    }

    /// Every sandbox containerd knows, stopped and removed (teardown after a failure).
    pub fn remove_all_pods(&self) {
        let list = self.call(
            "ListPodSandbox",
            self.rs().list_pod_sandbox(ListPodSandboxRequest::default()),
        );
        for pod in list.map(|l| l.items).unwrap_or_default() {
            let _ = self.stop_remove_pod(&pod.id);
        }
    }
}

/// A host-network pod named `name`, its cgroups below `cgroup_parent`, its logs in `log_dir`.
pub fn pod_config(name: &str, cgroup_parent: &str, log_dir: &Path) -> PodSandboxConfig {
    let namespaces = NamespaceOption {
        network: NamespaceMode::Node as i32,
        pid: NamespaceMode::Container as i32,
        ipc: NamespaceMode::Pod as i32,
        ..Default::default()
    };
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "runr-cri".into(),
            attempt: 0,
        }),
        // The kubelet sends no hostname for a host-network pod: it has the node's UTS namespace.
        hostname: String::new(),
        log_directory: log_dir.display().to_string(),
        labels: HashMap::from([("runr-test".to_string(), name.to_string())]),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: cgroup_parent.into(),
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(namespaces),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A busybox container `name` running `sh -c script`, logging to `<name>.log`.
pub fn container_config(pod: &PodSandboxConfig, name: &str, script: &str) -> ContainerConfig {
    let namespaces = pod
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.clone());
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: BUSYBOX_IMAGE.into(),
            ..Default::default()
        }),
        command: vec!["sh".into(), "-c".into(), script.into()],
        log_path: format!("{name}.log"),
        linux: Some(LinuxContainerConfig {
            security_context: Some(LinuxContainerSecurityContext {
                namespace_options: namespaces,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
