//! runtime-spec 1.3 (runtime.md "Lifecycle" step 9) and runc 1.2+: if any poststart hook fails,
//! the runtime MUST generate an error, stop the container, and continue at step 12 (destroy).
//! runr does what today's runc does (libcontainer `postStart`): the first failing hook fails
//! `start` (exit 1, the error names it), the hooks after it do not run, the container is killed
//! and left stopped for `delete`, whose poststop hooks run; `run` deletes it at once.
//! Side by side with the installed runc 1.1.5, which runs poststart hooks inside `create`
//! (before `start`) and so fails `create` on them instead.

use std::path::Path;

use serde_json::json;
use tests_integration::{assert_no_leaks, runtimes, unique, wait_for, Bundle, Runtime};

fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `hooks.poststart` = [ok, bad (exit 7), after] and `hooks.poststop` = [stop]; each of ok,
/// after and stop touches `<bundle>/<name>-ran`.
fn bundle() -> Bundle {
    let mut b = Bundle::new(&["sleep", "1000"]);
    let mark = |b: &Bundle, name: &str| {
        let p = b.dir.join(format!("hooks/{name}.sh"));
        let ran = b.dir.join(format!("{name}-ran"));
        write_script(&p, &format!("#!/bin/sh\ntouch {}\n", ran.display()));
        json!({ "path": p })
    };
    let (ok, after, stop) = (mark(&b, "ok"), mark(&b, "after"), mark(&b, "stop"));
    let bad = b.dir.join("hooks/bad.sh");
    write_script(&bad, "#!/bin/sh\necho nope >&2\nexit 7\n");
    b.config["hooks"] = json!({"poststart": [ok, {"path": bad}, after], "poststop": [stop]});
    b
}

fn ran(b: &Bundle, name: &str) -> bool {
    b.dir.join(format!("{name}-ran")).exists()
}

/// runc before 1.2 runs poststart hooks in `create`.
fn old_runc(rt: &Runtime) -> bool {
    rt.version() < (1, 2)
}

#[test]
fn a_failing_poststart_hook_fails_start_and_stops_the_container() {
    for rt in runtimes() {
        let b = bundle();
        let id = unique("poststart-fail");
        let create = rt.create(&b, &id, &[]);
        if old_runc(&rt) {
            eprintln!(
                "{}: runs poststart in create and fails it there (runc < 1.2)",
                rt.name
            );
            assert!(!create.status.success(), "{}", rt.name);
            assert!(ran(&b, "ok") && !ran(&b, "after"), "{}", rt.name);
            let _ = rt.exec(&["delete", "--force", &id]);
            assert_no_leaks(&rt, &id, &b);
            continue;
        }
        assert!(create.status.success(), "{}: create", rt.name);
        assert!(!ran(&b, "ok"), "{}: poststart ran before start", rt.name);
        let start = rt.exec(&["start", &id]);
        let err = String::from_utf8_lossy(&start.stderr);
        assert_eq!(start.status.code(), Some(1), "{}: start: {err}", rt.name);
        assert!(err.contains("poststart"), "{}: {err}", rt.name);
        if rt.name == "runr" {
            assert!(err.contains("bad.sh") && err.contains("nope"), "{err}");
        }
        // The hooks before it ran, the ones after it did not; the container is stopped.
        assert!(ran(&b, "ok"), "{}", rt.name);
        assert!(
            !ran(&b, "after"),
            "{}: a hook after the failure ran",
            rt.name
        );
        let stopped = wait_for(30, || rt.state(&id)["status"] == "stopped");
        assert!(stopped, "{}: {}", rt.name, rt.state(&id));
        // Then delete (step 12), whose poststop hooks run (step 13).
        rt.ok(&["delete", &id]);
        assert!(ran(&b, "stop"), "{}: poststop on delete", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn run_with_a_failing_poststart_hook_fails_and_deletes_the_container() {
    let rt = Runtime::runr();
    let b = bundle();
    let id = unique("poststart-run");
    let (code, _, err) = rt.run(&b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("poststart") && err.contains("bad.sh"), "{err}");
    assert!(ran(&b, "ok") && !ran(&b, "after"));
    assert!(ran(&b, "stop"), "poststop runs when run deletes it");
    assert_no_leaks(&rt, &id, &b);
}
