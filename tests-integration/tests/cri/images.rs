//! Offline images for the CRI plugin: an OCI image layout written by hand (one uncompressed layer,
//! its config, its manifest, `index.json`) and imported with `ctr images import` into the
//! private containerd's `k8s.io` namespace, where the CRI plugin sees it. No registry is reached.
//!
//! Two images: the pause (sandbox) image, a tiny static C program as its only file, named as
//! containerd's `sandbox_image`; and busybox, the same rootfs the other tests use
//! (`tests_integration::make_rootfs`: Debian's busybox-static and one symlink per applet).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use tests_integration::{compile_static_c, make_rootfs};

pub const PAUSE_IMAGE: &str = "localhost/runr-pause:cri";
pub const BUSYBOX_IMAGE: &str = "localhost/runr-busybox:cri";

/// What the kubelet's pause container does: sit in pause(2); exit 0 on SIGINT/SIGTERM; reap
/// every child it inherits (it is PID 1 of the pod when `shareProcessNamespace` is set).
const PAUSE_C: &str = r#"
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>
static void leave(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, NULL, WNOHANG) > 0) {} }
int main(void) {
    struct sigaction term = { .sa_handler = leave }, chld = { .sa_handler = reap };
    sigaction(SIGINT, &term, NULL);
    sigaction(SIGTERM, &term, NULL);
    chld.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &chld, NULL);
    for (;;) pause();
}
"#;

/// Builds both images under `work` and imports them through containerd's socket `address`.
/// Returns busybox's OCI layout (kept for the loopback registry, cri/registry.rs) and the
/// digest of the manifest the registry serves: busybox with a label of its own, so that the
/// pulled image has an id of its own (RemoveImage removes every tag of an image id).
pub fn import_all(work: &Path, address: &Path) -> Result<(PathBuf, String), String> {
    let pause_root = work.join("pause-rootfs");
    std::fs::create_dir_all(&pause_root).map_err(|e| e.to_string())?;
    compile_static_c(PAUSE_C, &pause_root, "pause")?;
    std::fs::remove_file(pause_root.join("pause.c")).map_err(|e| e.to_string())?;
    import(
        work,
        address,
        "pause",
        &pause_root,
        PAUSE_IMAGE,
        &["/pause"],
        &[],
    )?;

    let busybox_root = work.join("busybox-rootfs");
    make_rootfs(&busybox_root);
    let (layout, manifest) = import(
        work,
        address,
        "busybox",
        &busybox_root,
        BUSYBOX_IMAGE,
        &[],
        &["sh"],
    )?;
    let pullable = relabelled(&layout, &manifest)?;
    Ok((layout, pullable))
}

/// Writes the OCI layout of `rootfs` as image `name` and imports it; returns the layout and its
/// manifest's digest.
fn import(
    work: &Path,
    address: &Path,
    tag: &str,
    rootfs: &Path,
    name: &str,
    entrypoint: &[&str],
    cmd: &[&str],
) -> Result<(PathBuf, String), String> {
    let layout = work.join(format!("{tag}-layout"));
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| e.to_string())?;
    // The layer: the rootfs as one uncompressed tar, owned by root (its digest is the diff id).
    let layer = layout.join("layer.tar");
    run(Command::new("tar")
        .args(["--numeric-owner", "--owner=0", "--group=0", "-C"])
        .arg(rootfs)
        .arg("-cf")
        .arg(&layer)
        .arg("."))?;
    let (layer_digest, layer_size) = into_blob(&blobs, &layer)?;
    // The config: what the CRI plugin reads for the process defaults and the platform.
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "config": {
            "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "Entrypoint": if entrypoint.is_empty() { json!(null) } else { json!(entrypoint) },
            "Cmd": if cmd.is_empty() { json!(null) } else { json!(cmd) },
            "WorkingDir": "/"
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]}
    });
    let (config_digest, config_size) = write_blob(&blobs, &config)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": layer_size}]
    });
    let (manifest_digest, manifest_size) = write_blob(&blobs, &manifest)?;
    // The index names the image, so `ctr images import` registers it under `name`.
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest_digest, "size": manifest_size,
                       "platform": {"architecture": "amd64", "os": "linux"},
                       "annotations": {"io.containerd.image.name": name}}]
    });
    std::fs::write(layout.join("index.json"), index.to_string()).map_err(|e| e.to_string())?;
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .map_err(|e| e.to_string())?;
    let archive = work.join(format!("{tag}.tar"));
    run(Command::new("tar")
        .arg("-C")
        .arg(&layout)
        .arg("-cf")
        .arg(&archive)
        .args(["oci-layout", "index.json", "blobs"]))?;
    run(Command::new("ctr")
        .arg("--address")
        .arg(address)
        .args(["-n", "k8s.io", "images", "import"])
        .arg(&archive))?;
    let _ = std::fs::remove_file(&archive);
    Ok((layout, manifest_digest))
}

/// A second image in `layout`: `manifest`'s layer with a config that carries one more label.
fn relabelled(layout: &Path, manifest: &str) -> Result<String, String> {
    let blobs = layout.join("blobs/sha256");
    let load = |digest: &str| -> Result<serde_json::Value, String> {
        let file = blobs.join(digest.trim_start_matches("sha256:"));
        let text = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        serde_json::from_slice(&text).map_err(|e| e.to_string())
    };
    let mut m = load(manifest)?;
    let mut config = load(m["config"]["digest"].as_str().unwrap_or_default())?;
    config["config"]["Labels"] = json!({"org.runr.test": "pulled"});
    let (digest, size) = write_blob(&blobs, &config)?;
    m["config"]["digest"] = json!(digest);
    m["config"]["size"] = json!(size);
    Ok(write_blob(&blobs, &m)?.0)
}

fn write_blob(blobs: &Path, value: &serde_json::Value) -> Result<(String, u64), String> {
    let tmp = blobs.join("tmp");
    std::fs::write(&tmp, value.to_string()).map_err(|e| e.to_string())?;
    into_blob(blobs, &tmp)
}

/// Moves `file` into `blobs` under its sha256; returns ("sha256:…", size).
fn into_blob(blobs: &Path, file: &Path) -> Result<(String, u64), String> {
    let out = run(Command::new("sha256sum").arg(file))?;
    let hex = out
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let size = std::fs::metadata(file).map_err(|e| e.to_string())?.len();
    std::fs::rename(file, blobs.join(&hex)).map_err(|e| e.to_string())?;
    Ok((format!("sha256:{hex}"), size))
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
