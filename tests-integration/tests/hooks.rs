//! Lifecycle hooks: all six kinds, each writing what it sees (its state on stdin, its args and
//! env, the mount namespace it runs in) to files; their order, timeouts, failures that abort
//! `create` without leaks, and poststop failures that are only warnings. Compared with
//! runc where it is installed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests_integration::{assert_no_leaks, runtimes, unique, wait_for, Bundle, Runtime};

const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// The directory hooks write into: `<bundle>/out` on the host, bind-mounted at `/out` inside.
fn out_dir(b: &Bundle) -> PathBuf {
    b.dir.join("out")
}

/// A hook script that records its args, env, stdin and mount namespace into `<dir>/<name>.*`
/// and appends `name` to `<dir>/order`. `sh` is the interpreter path as the hook sees it.
fn recorder(sh: &str, dir: &str, name: &str) -> String {
    format!(
        "#!{sh}\n\
         echo \"$@\" > {dir}/{name}.args\n\
         env | sort > {dir}/{name}.env\n\
         cat > {dir}/{name}.state\n\
         readlink /proc/self/ns/mnt > {dir}/{name}.mntns\n\
         echo {name} >> {dir}/order\n"
    )
}

fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A bundle whose six hook lists each hold one recorder.
fn hooked_bundle(args: &[&str]) -> Bundle {
    let mut b = Bundle::new(args);
    let out = out_dir(&b);
    std::fs::create_dir_all(&out).unwrap();
    let host_out = out.to_str().unwrap().to_string();
    let mut hooks = serde_json::Map::new();
    for kind in KINDS {
        let path = if kind == "startContainer" {
            // Runs inside the container, after pivot_root: a script of the image.
            write_script(
                &b.rootfs().join("hook.sh"),
                &recorder("/bin/sh", "/out", kind),
            );
            "/hook.sh".to_string()
        } else {
            let p = b.dir.join(format!("hooks/{kind}.sh"));
            write_script(&p, &recorder("/bin/sh", &host_out, kind));
            p.to_str().unwrap().to_string()
        };
        hooks.insert(
            kind.to_string(),
            json!([{"path": path, "args": [format!("{kind}-argv0"), "one", "two words"],
                    "env": [format!("HOOK_KIND={kind}"), "SHARED=yes"]}]),
        );
    }
    b.config["hooks"] = Value::Object(hooks);
    b.config["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/out", "type": "bind", "source": out, "options": ["rbind", "rw"]}),
    );
    b.config["annotations"] = json!({"org.example.key": "value"});
    b
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn mntns(pid: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// What one runtime's hooks saw over create → start → kill → delete.
#[derive(Debug, PartialEq)]
struct Seen {
    order: Vec<String>,
    /// Per kind: (args, HOOK_KIND and SHARED from env, whole env var names, state fields).
    per_kind: Vec<(String, String, Vec<String>, Value)>,
    /// Per kind: "host", "container" or something else.
    ns: Vec<String>,
}

fn lifecycle(rt: &Runtime) -> Seen {
    let b = hooked_bundle(&["sleep", "100"]);
    let id = unique("hooks");
    rt.create_ok(&b, &id, &[]);
    let pid = rt.state(&id)["pid"].as_i64().unwrap().to_string();
    let dir = out_dir(&b);
    // runc 1.1.5 runs poststart at create time; the runtime spec (and runr) after start.
    let before_start = if rt.name == "runc" {
        "prestart\ncreateRuntime\ncreateContainer\npoststart\n"
    } else {
        "prestart\ncreateRuntime\ncreateContainer\n"
    };
    assert_eq!(
        read(dir.join("order")),
        before_start,
        "{}: the hooks that ran before start",
        rt.name
    );
    rt.ok(&["start", &id]);
    assert!(wait_for(30, || dir.join("poststart.state").exists()));
    rt.ok(&["kill", &id, "KILL"]);
    assert!(wait_for(30, || rt.state(&id)["status"] == "stopped"));
    rt.ok(&["delete", &id]);
    assert_no_leaks(rt, &id, &b);

    let host_ns = mntns("self");
    let container_ns = read(dir.join("createContainer.mntns"));
    let bundle = b.dir.to_str().unwrap();
    let mut per_kind = Vec::new();
    let mut ns = Vec::new();
    for kind in KINDS {
        let env = read(dir.join(format!("{kind}.env")));
        let mine: Vec<&str> = env
            .lines()
            .filter(|l| l.starts_with("HOOK_KIND=") || l.starts_with("SHARED="))
            .collect();
        let names: Vec<String> = env
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
            // Set by the shells themselves (busybox sh also exports a default PATH).
            .filter(|k| !matches!(k.as_str(), "PWD" | "SHLVL" | "_"))
            .filter(|k| !(kind == "startContainer" && k == "PATH"))
            .collect();
        let text = read(dir.join(format!("{kind}.state")));
        let mut st: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} {kind}: state is JSON ({e}): {text:?}", rt.name));
        assert_eq!(st["id"], id, "{} {kind}", rt.name);
        assert_eq!(st["bundle"], bundle, "{} {kind}", rt.name);
        assert_eq!(
            st["annotations"]["org.example.key"], "value",
            "{} {kind}: {st}",
            rt.name
        );
        // The pid is the container's init wherever one is alive.
        // (runc 1.1.5 gives the container-side hooks pid 1, the pid in the container's pid
        // namespace; the spec asks for the pid as seen by the host, as runr does.)
        let container_side = matches!(kind, "createContainer" | "startContainer");
        if kind != "poststop" && !(rt.name == "runc" && container_side) {
            assert_eq!(st["pid"].to_string(), pid, "{} {kind}: {st}", rt.name);
        }
        let obj = st.as_object_mut().unwrap();
        for k in [
            "id",
            "bundle",
            "pid",
            "ociVersion",
            "created",
            "rootfs",
            "owner",
        ] {
            obj.remove(k);
        }
        per_kind.push((
            read(dir.join(format!("{kind}.args"))).trim().to_string(),
            mine.join(" "),
            names,
            st,
        ));
        let n = read(dir.join(format!("{kind}.mntns")));
        ns.push(if n == container_ns {
            "container".to_string()
        } else if n.trim() == host_ns {
            "host".to_string()
        } else {
            n
        });
    }
    Seen {
        order: read(dir.join("order")).lines().map(String::from).collect(),
        per_kind,
        ns,
    }
}

#[test]
fn all_six_hooks_run_in_order_with_state_args_env_and_namespaces() {
    let mut seen = Vec::new();
    for rt in runtimes() {
        seen.push((rt.name, lifecycle(&rt)));
    }
    let runr = &seen[0].1;
    // startContainer and poststart race (see the ignored test below): both after the
    // create-time ones, poststop last.
    assert_eq!(runr.order[..3], KINDS[..3]);
    let mut middle = runr.order[3..5].to_vec();
    middle.sort();
    assert_eq!(middle, ["poststart", "startContainer"]);
    assert_eq!(runr.order[5], "poststop");
    assert_eq!(
        runr.ns,
        ["host", "host", "container", "container", "host", "host"],
        "where each kind runs"
    );
    for (i, kind) in KINDS.iter().enumerate() {
        let (args, env, names, st) = &runr.per_kind[i];
        assert_eq!(args, "one two words", "{kind}: args after argv[0]");
        assert_eq!(env, &format!("HOOK_KIND={kind} SHARED=yes"), "{kind}");
        assert_eq!(
            names,
            &["HOOK_KIND", "SHARED"],
            "{kind}: only the hook's own env (no runtime env leaks in)"
        );
        let want = match *kind {
            "prestart" | "createRuntime" => "creating",
            // createContainer: see the ignored test below.
            "createContainer" => continue,
            "startContainer" => "created",
            "poststart" => "running",
            _ => "stopped",
        };
        assert_eq!(st["status"], want, "{kind}: {st}");
    }
    // runc 1.1.5 runs poststart at create time (status "created"); createContainer's status
    // is checked in the ignored test below. Everything else is compared as is.
    let without_status = |s: &Seen| {
        let mut v = s.per_kind.clone();
        for i in [2, 4] {
            v[i].3.as_object_mut().unwrap().remove("status");
        }
        v
    };
    for (name, other) in &seen[1..] {
        assert_eq!(
            without_status(runr),
            without_status(other),
            "hooks: runr vs {name}"
        );
        assert_eq!(runr.ns, other.ns, "hooks: runr vs {name}");
        let mut a = runr.order.clone();
        let mut b = other.order.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b, "the same hooks ran under runr and {name}");
    }
}

/// A bundle with `hooks.<kind>` = [ok, bad, after] (host scripts): `ok` and `after` touch
/// `<bundle>/ok-ran` and `<bundle>/after-ran`, `bad` runs `script_body` (with `timeout`).
fn failing_hook_bundle(kind: &str, script_body: &str, timeout: Option<i64>) -> (Bundle, String) {
    let mut b = Bundle::new(&["sleep", "100"]);
    let mark = |name: &str| {
        let p = b.dir.join(format!("hooks/{name}.sh"));
        let ran = b.dir.join(format!("{name}-ran"));
        write_script(&p, &format!("#!/bin/sh\ntouch {}\n", ran.display()));
        json!({ "path": p })
    };
    let (ok, after) = (mark("ok"), mark("after"));
    let bad = b.dir.join("hooks/bad.sh");
    write_script(&bad, &format!("#!/bin/sh\n{script_body}\n"));
    let mut bad_hook = json!({ "path": bad });
    if let Some(t) = timeout {
        bad_hook["timeout"] = t.into();
    }
    b.config["hooks"] = json!({ kind: [ok, bad_hook, after] });
    (b, bad.to_str().unwrap().to_string())
}

/// The pids whose command line has `arg`.
fn processes_with_arg(arg: &str) -> Vec<String> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if cmdline.split(|c| *c == 0).any(|a| a == arg.as_bytes()) {
            pids.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    pids
}

/// runc's one-line error message (`msg="..."`), unescaped enough to search in.
fn error_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr).replace("\\n", "\n")
}

/// A failing prestart, createRuntime or createContainer hook fails `create` with exit 1; the
/// message carries the hook's index, exit status, stdout and stderr (runc 1.1.5: "error running
/// hook #1: error running hook: exit status 3, stdout: out-text, stderr: nope"; runr also names
/// the kind and the path); the hooks before it ran, the ones after it did not; nothing leaks.
#[test]
fn a_failing_create_time_hook_fails_create_naming_it_and_leaks_nothing() {
    for rt in runtimes() {
        for kind in ["prestart", "createRuntime", "createContainer"] {
            let what = format!("{} {kind}", rt.name);
            let (b, bad) = failing_hook_bundle(kind, "echo out-text; echo nope >&2; exit 3", None);
            let id = unique("badhook");
            let out = rt.create(&b, &id, &[]);
            let err = error_line(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{what}: create exits 1: {err}");
            for part in [
                "hook #1",
                "exit status 3",
                "stdout: out-text",
                "stderr: nope",
            ] {
                assert!(
                    err.contains(part),
                    "{what}: the message has {part:?}: {err}"
                );
            }
            if rt.name == "runr" {
                let whole = format!(
                    "{kind} hook #1 ({bad}): exit status 3, stdout: out-text, stderr: nope"
                );
                assert!(err.contains(&whole), "{what}: {whole:?} in {err}");
            }
            assert!(b.dir.join("ok-ran").exists(), "{what}: hook #0 ran first");
            assert!(
                !b.dir.join("after-ran").exists(),
                "{what}: the hooks after the failing one do not run"
            );
            assert_no_leaks(&rt, &id, &b);
        }
    }
}

/// A create-time hook past its `timeout` is killed (its process is gone when `create` returns)
/// and fails `create` with exit 1 within about the timeout, saying it timed out (runc 1.1.5:
/// "hook ran past specified timeout of 1.0s"; runr: "<kind> hook #1 (<path>): timed out after
/// 1s and was killed"); nothing leaks.
#[test]
fn a_hook_past_its_timeout_is_killed_and_create_fails_quickly() {
    for rt in runtimes() {
        for kind in ["prestart", "createRuntime", "createContainer"] {
            let what = format!("{} {kind}", rt.name);
            // A sleep with an argument no other process has: the hook, wherever its pid
            // namespace (createContainer runs in the container's), is found in the host's /proc.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos();
            let arg = format!("30.{}{nanos:09}", std::process::id());
            let (b, bad) = failing_hook_bundle(kind, &format!("exec sleep {arg}"), Some(1));
            let id = unique("slowhook");
            let t0 = Instant::now();
            let out = rt.create(&b, &id, &[]);
            let took = t0.elapsed();
            let err = error_line(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{what}: create exits 1: {err}");
            // Killed at the timeout, not when the hook's 30 s sleep ends; the bound leaves the
            // rest of create room on a loaded machine (it once took over 4 s here).
            assert!(
                took >= Duration::from_secs(1) && took < Duration::from_secs(20),
                "{what}: the 1 s timeout is honoured ({took:?})"
            );
            let want = if rt.name == "runr" {
                format!("{kind} hook #1 ({bad}): timed out after 1s and was killed")
            } else {
                "error running hook #1: hook ran past specified timeout of 1.0s".to_string()
            };
            assert!(err.contains(&want), "{what}: {want:?} in {err}");
            // Gone well before its sleep of 30 s would have ended by itself.
            let left = Duration::from_secs(25)
                .saturating_sub(t0.elapsed())
                .as_secs();
            assert!(
                wait_for(left.max(1), || processes_with_arg(&arg).is_empty()),
                "{what}: the hook was killed: {:?} still run `sleep {arg}`",
                processes_with_arg(&arg)
            );
            assert!(
                !b.dir.join("after-ran").exists(),
                "{what}: no hook after it"
            );
            assert_no_leaks(&rt, &id, &b);
        }
    }
}

/// Poststop failures are warnings. (A failing poststart hook fails `start` since runtime-spec
/// 1.3 / runc 1.2: tests/poststart13.rs.)
#[test]
fn failing_poststop_hooks_are_warnings() {
    for rt in runtimes() {
        let mut b = Bundle::new(&["sleep", "100"]);
        let bad = b.dir.join("hooks/bad.sh");
        write_script(&bad, "#!/bin/sh\nexit 7\n");
        let mark = b.dir.join("poststop-ran");
        let ok = b.dir.join("hooks/ok.sh");
        write_script(&ok, &format!("#!/bin/sh\ntouch {}\n", mark.display()));
        b.config["hooks"] = json!({"poststop": [{"path": ok}, {"path": bad}]});
        let id = unique("warnhook");
        rt.create_ok(&b, &id, &[]);
        rt.ok(&["start", &id]);
        rt.ok(&["kill", &id, "KILL"]);
        assert!(wait_for(30, || rt.state(&id)["status"] == "stopped"));
        let del = rt.exec(&["delete", &id]);
        assert!(
            del.status.success(),
            "{}: delete exits 0 despite a failing poststop: {}",
            rt.name,
            String::from_utf8_lossy(&del.stderr)
        );
        assert!(mark.exists(), "{}: poststop ran on delete", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn poststop_runs_when_run_deletes_the_container() {
    for rt in runtimes() {
        let mut b = Bundle::shell("exit 0");
        let mark = b.dir.join("poststop-ran");
        let ok = b.dir.join("hooks/ok.sh");
        write_script(&ok, &format!("#!/bin/sh\ncat > {}\n", mark.display()));
        b.config["hooks"] = json!({"poststop": [{"path": ok}]});
        let id = unique("runpoststop");
        let (code, _, err) = rt.run(&b, &id);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        let st: Value = serde_json::from_str(&read(mark)).unwrap();
        assert_eq!(st["id"], id.as_str(), "{}", rt.name);
        assert_eq!(st["status"], "stopped", "{}: {st}", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn poststart_runs_after_start_container_hooks_and_exec() {
    let rt = Runtime::runr();
    for _ in 0..5 {
        let seen = lifecycle(&rt);
        assert_eq!(seen.order, KINDS, "the runtime spec's order");
    }
}

#[test]
fn create_container_hooks_see_status_creating() {
    let seen = lifecycle(&Runtime::runr());
    assert_eq!(seen.per_kind[2].3["status"], "creating");
}
