//! Exec, streaming: the CRI call returns a URL on containerd's stream server (127.0.0.1, a port
//! of its own), which the kubelet (or `kubectl exec` through it) then opens. This is a minimal
//! WebSocket client for it, speaking Kubernetes' `v4.channel.k8s.io` subprotocol: every binary
//! frame starts with its channel (1 stdout, 2 stderr, 3 the final status as JSON).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use k8s_cri::v1::*;

use super::client::{container_config, pod_config};
use crate::{ensure, Env};

/// What one streamed exec produced.
#[derive(Debug, Default)]
struct Streamed {
    stdout: String,
    stderr: String,
    /// The v4 status: exit code 0 for "Success", else the ExitCode cause.
    exit_code: Option<i32>,
}

pub fn exec_streaming(env: &Env) -> Result<Vec<String>, String> {
    let cri = env.cri;
    let pc = pod_config(
        "stream",
        &env.cgroup_parent("stream"),
        &env.log_dir("stream"),
    );
    let pod = cri.run_pod(&pc, env.handler)?;
    let c = cri.create_start(&pod, &pc, container_config(&pc, "main", "exec sleep 1009"))?;
    let failing = exec(env, &c, "echo out; echo err >&2; exit 7")?;
    ensure!(
        failing.stdout == "out\n" && failing.stderr == "err\n" && failing.exit_code == Some(7),
        "streamed exec, exit 7: {failing:?}"
    );
    let ok = exec(
        env,
        &c,
        "echo $((6 * 7)); cat /proc/1/cmdline | tr '\\0' ' '",
    )?;
    ensure!(
        ok.stdout == "42\nsleep 1009 " && ok.exit_code == Some(0),
        "streamed exec, exit 0: {ok:?}"
    );
    cri.stop_remove_pod(&pod)?;
    Ok(vec![pod, c])
}

/// The Exec call, then the stream it hands out, read to its end.
fn exec(env: &Env, id: &str, script: &str) -> Result<Streamed, String> {
    let req = ExecRequest {
        container_id: id.into(),
        cmd: vec!["sh".into(), "-c".into(), script.into()],
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let url = env.cri.call("Exec", env.cri.rs().exec(req))?.url;
    // Only ever this machine's loopback (the stream server's configured address).
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .ok_or_else(|| format!("Exec URL {url} is not on 127.0.0.1"))?;
    let (port, path) = rest.split_once('/').ok_or(format!("Exec URL {url}"))?;
    let stream = TcpStream::connect(("127.0.0.1", port.parse::<u16>().map_err(|e| e.to_string())?))
        .map_err(|e| format!("{url}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    upgrade(&stream, &mut reader, port, path)?;
    read_frames(&mut reader)
}

/// The WebSocket handshake; the server must switch protocols.
fn upgrade(
    mut stream: &TcpStream,
    reader: &mut BufReader<TcpStream>,
    port: &str,
    path: &str,
) -> Result<(), String> {
    let request = format!(
        "GET /{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: cnVuci1jcmktdGVzdC1rZXk=\r\n\
         Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut status = String::new();
    reader.read_line(&mut status).map_err(|e| e.to_string())?;
    ensure!(
        status.contains(" 101 "),
        "WebSocket upgrade refused: {status:?}"
    );
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if line == "\r\n" || line.is_empty() {
            return Ok(());
        }
    }
}

/// Server frames (unmasked) until a close frame or the end of the connection.
fn read_frames(reader: &mut BufReader<TcpStream>) -> Result<Streamed, String> {
    let mut out = Streamed::default();
    loop {
        let mut head = [0u8; 2];
        if reader.read_exact(&mut head).is_err() {
            return Ok(out);
        }
        let opcode = head[0] & 0x0f;
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                reader.read_exact(&mut b).map_err(|e| e.to_string())?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                reader.read_exact(&mut b).map_err(|e| e.to_string())?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).map_err(|e| e.to_string())?];
        reader.read_exact(&mut payload).map_err(|e| e.to_string())?;
        match opcode {
            8 => return Ok(out),
            1 | 2 if !payload.is_empty() => channel(&mut out, payload[0], &payload[1..])?,
            _ => {}
        }
    }
}

fn channel(out: &mut Streamed, channel: u8, data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    match channel {
        1 => out.stdout += &text,
        2 => out.stderr += &text,
        3 if !data.is_empty() => {
            let status: serde_json::Value =
                serde_json::from_slice(data).map_err(|e| format!("status {text}: {e}"))?;
            out.exit_code = if status["status"] == "Success" {
                Some(0)
            } else {
                status["details"]["causes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["reason"] == "ExitCode")
                    .and_then(|c| c["message"].as_str()?.parse().ok())
            };
        }
        _ => {}
    }
    Ok(())
}
