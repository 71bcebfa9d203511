//! `runr spec [--bundle DIR] [--rootless]`: writes a starting config.json, the same one runc
//! writes (a busybox-style shell with a terminal, a read-only root, the usual mounts), byte for
//! byte: the same keys in the same order, tab-indented, hostname "runc" included (tools that
//! diff a generated spec against runc's expect it).

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::cli::{flag, switch, Command, Parsed};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "spec",
    usage: "write a starting config.json",
    args_usage: "",
    description: "Writes config.json into the bundle directory: a shell on a terminal in a
read-only rootfs/, with the usual mounts, namespaces and capabilities, the same
file runc writes. Edit it, put a root filesystem in rootfs/, then \"runr run ID\".",
    flags: &[
        flag(
            &["bundle", "b"],
            "where to write config.json; default: the current directory",
        ),
        switch(
            &["rootless"],
            "a spec for an unprivileged user (a user namespace mapping them to root)",
        ),
    ],
    reorder: true,
};

pub fn run(_g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let dir = PathBuf::from(p.value("bundle").unwrap_or("."));
    if !dir.is_dir() {
        anyhow::bail!("chdir {}: no such file or directory", dir.display());
    }
    let path = dir.join("config.json");
    // runc chdirs into the bundle first, so its message names the file alone.
    if path.exists() {
        anyhow::bail!("File config.json exists. Remove it first");
    }
    let spec = default_spec(p.is_set("rootless"));
    let mut text = String::new();
    write_ordered(&spec, 0, &mut text);
    std::fs::write(&path, text)?;
    Ok(0)
}

/// Object keys in the order runc's Go structs declare them, so `runr spec` writes the same
/// bytes as `runc spec`; keys not listed follow, sorted.
const KEY_ORDER: &[&str] = &[
    "ociVersion",
    "process",
    "terminal",
    "user",
    "uid",
    "gid",
    "args",
    "env",
    "cwd",
    "capabilities",
    "bounding",
    "effective",
    "permitted",
    "ambient",
    "rlimits",
    "destination",
    "type",
    "source",
    "options",
    "hard",
    "soft",
    "noNewPrivileges",
    "root",
    "path",
    "readonly",
    "hostname",
    "mounts",
    "linux",
    "uidMappings",
    "gidMappings",
    "containerID",
    "hostID",
    "size",
    "resources",
    "devices",
    "allow",
    "access",
    "namespaces",
    "maskedPaths",
    "readonlyPaths",
];

/// Go's `json.MarshalIndent(v, "", "\t")`: tab indentation, `"key": value`, no final newline.
fn write_ordered(v: &Value, depth: usize, out: &mut String) {
    let indent = |out: &mut String, d: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n('\t', d));
    };
    match v {
        Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| {
                let rank = KEY_ORDER
                    .iter()
                    .position(|o| o == k)
                    .unwrap_or(KEY_ORDER.len());
                (rank, k.as_str())
            });
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push_str(": ");
                write_ordered(&map[k.as_str()], depth + 1, out);
            }
            indent(out, depth);
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write_ordered(item, depth + 1, out);
            }
            indent(out, depth);
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn default_spec(rootless: bool) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let mut devpts = vec![
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
    ];
    if !rootless {
        devpts.push("gid=5");
    }
    let sys = if rootless {
        json!({"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
    } else {
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]})
    };
    let mut namespaces = vec![json!({"type": "pid"})];
    if !rootless {
        namespaces.push(json!({"type": "network"}));
    }
    namespaces.extend([
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ]);
    // As runc does on a pure cgroup v2 host: the container sees its own cgroup as the root.
    if cgroups::detect_layout().ok() == Some(cgroups::Layout::Unified) {
        namespaces.push(json!({"type": "cgroup"}));
    }
    if rootless {
        namespaces.push(json!({"type": "user"}));
    }
    let mut linux = json!({
        "namespaces": namespaces,
        "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    });
    if rootless {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
        linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    } else {
        linux["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    }
    json!({
        "ociVersion": super::SPEC_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps, "ambient": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": devpts},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            sys,
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": linux
    })
}
