//! A read-only OCI distribution registry on 127.0.0.1, serving the busybox layout that
//! cri/images.rs wrote, so that `PullImage` goes the whole way a kubelet's pull goes (resolve
//! the tag, fetch manifest, config and layer, unpack) without leaving this machine. containerd
//! reaches it as a plain-HTTP mirror of `127.0.0.1:<port>`. One connection at a time, each
//! answered with `Connection: close`; the thread stops when the guard drops.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub const REPOSITORY: &str = "runr/busybox";
pub const TAG: &str = "pulled";

pub struct Registry {
    pub port: u16,
    listener: Option<TcpListener>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Registry {
    /// Binds the port (before containerd's config names it); serves nothing yet.
    pub fn bind() -> Result<Registry, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        Ok(Registry {
            port,
            listener: Some(listener),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        })
    }

    /// The image reference a pull of the served image uses.
    pub fn image(&self) -> String {
        format!("127.0.0.1:{}/{REPOSITORY}:{TAG}", self.port)
    }

    /// Starts answering from `layout` (an OCI layout), `TAG` naming `manifest`.
    pub fn serve(&mut self, layout: PathBuf, manifest: String) -> Result<(), String> {
        let listener = self.listener.take().ok_or("already serving")?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let stop = self.stop.clone();
        self.thread = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let _ = answer(conn, &layout, &manifest);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }));
        Ok(())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One request: `/v2/`, a manifest by tag or digest, or a blob by digest.
fn answer(conn: TcpStream, layout: &Path, manifest: &str) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let manifests = format!("/v2/{REPOSITORY}/manifests/");
    let blobs = format!("/v2/{REPOSITORY}/blobs/");
    let (body, kind, digest) = if path == "/v2/" || path == "/v2" {
        (Some(b"{}".to_vec()), "application/json", String::new())
    } else if let Some(r) = path.strip_prefix(&manifests) {
        let digest = if r == TAG { manifest } else { r };
        let kind = "application/vnd.oci.image.manifest.v1+json";
        (blob(layout, digest), kind, digest.to_string())
    } else if let Some(d) = path.strip_prefix(&blobs) {
        (blob(layout, d), "application/octet-stream", d.to_string())
    } else {
        (None, "", String::new())
    };
    respond(conn, method == "HEAD", body, kind, &digest)
}

/// A blob of the layout by "sha256:<hex>"; `None` for anything else.
fn blob(layout: &Path, digest: &str) -> Option<Vec<u8>> {
    let hex = digest.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    std::fs::read(layout.join("blobs/sha256").join(hex)).ok()
}

fn respond(
    mut conn: TcpStream,
    head: bool,
    body: Option<Vec<u8>>,
    kind: &str,
    digest: &str,
) -> std::io::Result<()> {
    let Some(body) = body else {
        let msg = r#"{"errors":[{"code":"NOT_FOUND","message":"not found"}]}"#;
        let reply = format!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
            msg.len()
        );
        return conn.write_all(reply.as_bytes());
    };
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Docker-Distribution-API-Version: registry/2.0\r\nConnection: close\r\n",
        body.len()
    );
    if !digest.is_empty() {
        reply += &format!("Docker-Content-Digest: {digest}\r\n");
    }
    reply += "\r\n";
    conn.write_all(reply.as_bytes())?;
    if !head {
        conn.write_all(&body)?;
    }
    Ok(())
}
