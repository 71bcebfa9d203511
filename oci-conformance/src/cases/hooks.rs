//! config.md `hooks` and runtime.md lifecycle steps: each hook kind runs at its step, in order,
//! with the state on stdin, args and env as configured, in the right namespace; failures of
//! prestart/createRuntime/createContainer/startContainer stop the container, failures of
//! poststart/poststop are only warnings; timeouts abort the hook.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{case, Case};
use crate::harness::{wait_for, Bundle, Ctx, Why};
use crate::{check, check_eq, fail};

/// A bundle whose process logs "process" into the shared hook log, with a host hook script
/// `hook.sh NAME [EXIT]` that logs "NAME <mnt ns>" and saves its stdin as `stdin.NAME`.
struct Hooked<'a> {
    b: Bundle<'a>,
    shared: PathBuf,
    script: String,
}

impl<'a> Hooked<'a> {
    fn new(ctx: &'a Ctx, process: &str) -> Hooked<'a> {
        let mut b = Bundle::sh(ctx, process);
        let shared = b.shared();
        let log = shared.join("hooks.log");
        let script = b.script(
            "hook.sh",
            &format!(
                "name=$1\ncat > {dir}/stdin.$name\necho \"$name $(readlink /proc/self/ns/mnt) $HOOKVAR\" >> {log}\nexit ${{2:-0}}",
                dir = shared.display(),
                log = log.display()
            ),
        );
        Hooked { b, shared, script }
    }

    /// A host hook entry `hook.sh name exit`.
    fn hook(&self, name: &str, exit: i32) -> Value {
        json!({"path": self.script, "args": ["hook.sh", name, exit.to_string()]})
    }

    fn set(&mut self, kind: &str, hooks: Vec<Value>) {
        self.b.config["hooks"][kind] = json!(hooks);
    }

    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.shared.join("hooks.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn names(&self) -> Vec<String> {
        self.log()
            .iter()
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect()
    }

    fn stdin(&self, name: &str) -> Result<Value, Why> {
        let text =
            std::fs::read_to_string(self.shared.join(format!("stdin.{name}"))).unwrap_or_default();
        match serde_json::from_str(&text) {
            Ok(v) => Ok(v),
            Err(e) => fail!("{name} hook stdin is not the state JSON ({e}): {text:?}"),
        }
    }

    /// create + start + wait for the process to exit + delete.
    fn full_cycle(&self) -> Result<(), Why> {
        self.b.create_ok()?;
        let out = self.b.start();
        check!(out.ok(), "start failed: {}", out.brief());
        self.b.wait_status("stopped")?;
        let out = self.b.delete(false);
        check!(out.ok(), "delete failed: {}", out.brief());
        Ok(())
    }
}

const QUICK: &str = "echo process >> /shared/hooks.log";

fn ran(kind: &'static str) -> Case {
    case(
        "hooks",
        format!("{kind} hooks run with the state on stdin"),
        move |ctx| {
            let mut h = Hooked::new(ctx, QUICK);
            let hook = if kind == "startContainer" {
                json!({"path": "/bin/sh", "args": ["sh", "-c", "cat > /shared/stdin.startContainer; echo startContainer >> /shared/hooks.log"]})
            } else {
                h.hook(kind, 0)
            };
            h.set(kind, vec![hook]);
            h.full_cycle()?;
            check!(
                h.names().iter().any(|n| n == kind),
                "{kind} hook did not run: {:?}",
                h.log()
            );
            let st = h.stdin(kind)?;
            check_eq!(
                st["id"].as_str().unwrap_or(""),
                h.b.id.as_str(),
                "state id on stdin"
            );
            check_eq!(
                st["bundle"].as_str().unwrap_or(""),
                h.b.dir.to_str().unwrap(),
                "state bundle on stdin"
            );
            if kind != "poststop" {
                check!(
                    st["pid"].as_i64().unwrap_or(0) > 0,
                    "state pid on stdin: {}",
                    st["pid"]
                );
            }
            Ok(())
        },
    )
}

fn failing(kind: &'static str, fatal: bool) -> Case {
    let name = if kind == "poststart" {
        // Which one the runtime must do depends on the spec version it implements.
        "poststart failure: a warning before runtime-spec 1.3, then an error that stops it".into()
    } else if fatal {
        format!("{kind} failure stops the container")
    } else {
        format!("{kind} failure is only a warning")
    };
    case("hooks", name, move |ctx| {
        let mut h = Hooked::new(
            ctx,
            "echo process >> /shared/hooks.log; exec /bin/probe sleep 2",
        );
        let hook = if kind == "startContainer" {
            json!({"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]})
        } else {
            h.hook(kind, 3)
        };
        h.set(kind, vec![hook]);
        let created = h.b.create();
        let started = if created.ok() {
            Some(h.b.start())
        } else {
            None
        };
        match kind {
            "prestart" | "createRuntime" | "createContainer" => {
                check!(
                    !created.ok(),
                    "create succeeded although the {kind} hook failed"
                );
                check!(!h.names().iter().any(|n| n == "process"), "the process ran");
                h.b.nothing_left()
            }
            "startContainer" => {
                // The error may come from start itself or from the init after start returned
                // (runc); either way the user process must not run and the container stops.
                check!(created.ok(), "create failed: {}", created.brief());
                let _ = started;
                std::thread::sleep(Duration::from_millis(300));
                check!(
                    !h.names().iter().any(|n| n == "process"),
                    "the user process ran"
                );
                h.b.wait_status("stopped")
            }
            "poststart" if super::spec13::spec_at_least(ctx, "1.3").1 => {
                // runtime-spec 1.3: the runtime MUST generate an error and stop the container.
                check!(created.ok(), "create failed: {}", created.brief());
                let s = started.unwrap();
                check!(
                    !s.ok(),
                    "start succeeded although the poststart hook failed"
                );
                h.b.wait_status("stopped")
            }
            "poststart" => {
                // Before runtime-spec 1.3: a warning, the container runs.
                check!(created.ok(), "create failed: {}", created.brief());
                let s = started.unwrap();
                check!(
                    s.ok(),
                    "start failed because of the poststart hook: {}",
                    s.brief()
                );
                check!(
                    wait_for(30, || h.names().iter().any(|n| n == "process")),
                    "the process did not run"
                );
                Ok(())
            }
            _ => {
                check!(created.ok(), "create failed: {}", created.brief());
                h.b.wait_status("stopped")?;
                let d = h.b.delete(false);
                check!(
                    d.ok(),
                    "delete failed because of the poststop hook: {}",
                    d.brief()
                );
                check!(
                    h.names().iter().any(|n| n == "poststop"),
                    "poststop did not run"
                );
                h.b.nothing_left()
            }
        }
    })
}

fn host_mnt_ns() -> String {
    std::fs::read_link("/proc/self/ns/mnt")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn ns_of(h: &Hooked, kind: &str) -> String {
    h.log()
        .iter()
        .find(|l| l.starts_with(&format!("{kind} ")))
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("")
        .to_string()
}

pub fn hooks() -> Vec<Case> {
    const A: &str = "hooks";
    let mut v = vec![];
    for k in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        v.push(ran(k));
    }
    for (k, fatal) in [
        ("prestart", true),
        ("createRuntime", true),
        ("createContainer", true),
        ("startContainer", true),
        ("poststart", false),
        ("poststop", false),
    ] {
        v.push(failing(k, fatal));
    }
    v.extend([
        case(A, "hooks run in lifecycle order", |ctx| {
            let mut h = Hooked::new(ctx, QUICK);
            for k in ["prestart", "createRuntime", "createContainer", "poststart", "poststop"] {
                let hk = h.hook(k, 0);
                h.set(k, vec![hk]);
            }
            h.set("startContainer", vec![json!({"path": "/bin/sh", "args": ["sh", "-c", "echo startContainer >> /shared/hooks.log"]})]);
            h.full_cycle()?;
            let n = h.names();
            let pos = |k: &str| n.iter().position(|x| x == k);
            for (a, b) in [("prestart", "startContainer"), ("createRuntime", "createContainer"), ("createContainer", "startContainer"),
                ("startContainer", "process"), ("startContainer", "poststart"), ("poststart", "poststop"), ("process", "poststop")] {
                match (pos(a), pos(b)) {
                    (Some(x), Some(y)) if x < y => {}
                    _ => fail!("{a} not before {b}: {n:?}"),
                }
            }
            Ok(())
        }),
        case(A, "hooks of one kind run in the listed order", |ctx| {
            let mut h = Hooked::new(ctx, QUICK);
            let hs = vec![h.hook("first", 0), h.hook("second", 0), h.hook("third", 0)];
            h.set("prestart", hs);
            h.full_cycle()?;
            let n: Vec<String> = h.names().into_iter().filter(|x| x != "process").collect();
            check_eq!(n, vec!["first", "second", "third"], "order");
            Ok(())
        }),
        case(A, "hook args are passed", |ctx| {
            let mut h = Hooked::new(ctx, QUICK);
            let script = h.b.script("args.sh", &format!("echo \"args $1 $2\" >> {}", h.shared.join("hooks.log").display()));
            h.set("prestart", vec![json!({"path": script, "args": ["args.sh", "one", "two words"]})]);
            h.full_cycle()?;
            check!(h.log().iter().any(|l| l == "args one two words"), "log: {:?}", h.log());
            Ok(())
        }),
        case(A, "hook env is passed", |ctx| {
            let mut h = Hooked::new(ctx, QUICK);
            let mut hk = h.hook("envhook", 0);
            hk["env"] = json!(["HOOKVAR=from-config"]);
            h.set("prestart", vec![hk]);
            h.full_cycle()?;
            check!(h.log().iter().any(|l| l.starts_with("envhook ") && l.ends_with(" from-config")), "log: {:?}", h.log());
            Ok(())
        }),
        case(A, "hook timeout aborts the hook and fails create", |ctx| {
            let mut h = Hooked::new(ctx, QUICK);
            let script = h.b.script("slow.sh", "exec sleep 20");
            h.set("prestart", vec![json!({"path": script, "timeout": 1})]);
            let t = Instant::now();
            let out = h.b.create();
            check!(!out.ok(), "create succeeded although the prestart hook timed out");
            // Under the hook's 20 s sleep, with room for a loaded host.
            check!(t.elapsed() < Duration::from_secs(15), "create took {:?} with a 1 s hook timeout", t.elapsed());
            h.b.nothing_left()
        }),
        case(A, "prestart and createRuntime run in the runtime namespace", |ctx| {
            let mut h = Hooked::new(ctx, QUICK);
            let (p, c) = (h.hook("prestart", 0), h.hook("createRuntime", 0));
            h.set("prestart", vec![p]);
            h.set("createRuntime", vec![c]);
            h.full_cycle()?;
            check_eq!(ns_of(&h, "prestart"), host_mnt_ns(), "prestart mount ns");
            check_eq!(ns_of(&h, "createRuntime"), host_mnt_ns(), "createRuntime mount ns");
            Ok(())
        }),
        case(A, "createContainer runs in the container's mount namespace", |ctx| {
            let mut h = Hooked::new(ctx, "echo \"process $(readlink /proc/self/ns/mnt)\" >> /shared/hooks.log");
            let c = h.hook("createContainer", 0);
            h.set("createContainer", vec![c]);
            h.full_cycle()?;
            let (hook, proc_) = (ns_of(&h, "createContainer"), ns_of(&h, "process"));
            check!(!hook.is_empty() && hook == proc_, "createContainer ns {hook:?}, container ns {proc_:?}");
            Ok(())
        }),
        case(A, "poststart runs before start returns", |ctx| {
            let mut h = Hooked::new(ctx, "exec /bin/probe sleep 5");
            let p = h.hook("poststart", 0);
            h.set("poststart", vec![p]);
            h.b.create_ok()?;
            check!(h.b.start().ok(), "start failed");
            check!(h.names().iter().any(|n| n == "poststart"), "poststart had not run when start returned");
            Ok(())
        }),
        case(A, "poststop runs at delete, before delete returns", |ctx| {
            let mut h = Hooked::new(ctx, QUICK);
            let p = h.hook("poststop", 0);
            h.set("poststop", vec![p]);
            h.b.create_ok()?;
            check!(h.b.start().ok(), "start failed");
            h.b.wait_status("stopped")?;
            std::thread::sleep(Duration::from_millis(200));
            check!(!h.names().iter().any(|n| n == "poststop"), "poststop ran before delete");
            check!(h.b.delete(false).ok(), "delete failed");
            check!(h.names().iter().any(|n| n == "poststop"), "poststop had not run when delete returned");
            Ok(())
        }),
        case(A, "create does not run poststart", |ctx| {
            let mut h = Hooked::new(ctx, QUICK);
            let p = h.hook("poststart", 0);
            h.set("poststart", vec![p]);
            h.b.create_ok()?;
            std::thread::sleep(Duration::from_millis(200));
            check!(h.log().is_empty(), "ran at create: {:?}", h.log());
            Ok(())
        }),
        case(A, "startContainer runs in the container (path resolved in it)", |ctx| {
            let mut h = Hooked::new(ctx, QUICK);
            h.set("startContainer", vec![json!({"path": "/marker-hook", "args": ["marker-hook"]})]);
            let script = "#!/bin/sh\necho \"startContainer $(cat /marker-rootfs)\" >> /shared/hooks.log\n";
            let p = h.b.rootfs().join("marker-hook");
            std::fs::write(&p, script).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            h.full_cycle()?;
            check!(h.log().iter().any(|l| l == "startContainer rootfs"), "log: {:?}", h.log());
            Ok(())
        }),
    ]);
    v
}
