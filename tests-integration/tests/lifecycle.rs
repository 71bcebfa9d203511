//! create → start → kill → delete on real containers, checked from the host and from inside.

use tests_integration::{assert_no_leaks, delete_no_leaks, unique, wait_for, Bundle, Runtime};

#[test]
fn create_does_not_run_the_process_until_start() {
    let rt = Runtime::runr();
    let id = unique("life");
    let mut b = Bundle::shell("touch /tmp/started; exec sleep 100");
    b.config["root"]["readonly"] = false.into();
    let pid_file = b.dir.join("init.pid");
    let out = rt.create_ok(&b, &id, &["--pid-file", pid_file.to_str().unwrap()]);
    assert!(out.stdout.is_empty(), "create prints nothing on stdout");

    let st = rt.state(&id);
    assert_eq!(st["status"], "created");
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        pid.to_string(),
        "pid file written before create returns"
    );
    assert!(
        !b.rootfs().join("tmp/started").exists(),
        "create must not run the user process"
    );

    rt.ok(&["start", &id]);
    assert!(
        wait_for(30, || b.rootfs().join("tmp/started").exists()),
        "start runs the process"
    );
    assert_eq!(rt.state(&id)["status"], "running");

    rt.ok(&["kill", &id, "KILL"]);
    assert!(wait_for(30, || rt.state(&id)["status"] == "stopped"));
    assert_eq!(rt.state(&id)["pid"], 0, "a stopped container reports pid 0");
    rt.ok(&["delete", &id]);
    assert_no_leaks(&rt, &id, &b);
}

#[test]
fn run_returns_the_exit_status_and_128_plus_signal() {
    let rt = Runtime::runr();
    let id = unique("exit");
    let b = Bundle::shell("exit 3");
    assert_eq!(rt.run(&b, &id).0, 3);
    assert_no_leaks(&rt, &id, &b);

    // A pid namespace's init cannot be SIGKILLed from inside: kill it from the host.
    let id = unique("sig");
    let b = Bundle::new(&["sleep", "100"]);
    b.write();
    let mut run = rt
        .command(&["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .spawn()
        .unwrap();
    assert!(wait_for(30, || rt.exec(&["state", &id]).status.success()
        && rt.state(&id)["status"] == "running"));
    rt.ok(&["kill", &id, "9"]);
    assert_eq!(run.wait().unwrap().code(), Some(137));
    assert_no_leaks(&rt, &id, &b);
}

#[test]
fn run_relays_stdout_and_stderr() {
    let rt = Runtime::runr();
    let id = unique("stdio");
    let b = Bundle::shell("echo out; echo err >&2");
    let (code, out, err) = rt.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "out\n");
    assert!(err.contains("err"), "{err}");
}

#[test]
fn status_transitions_and_state_shape() {
    let rt = Runtime::runr();
    let id = unique("shape");
    let b = Bundle::new(&["sleep", "100"]);
    rt.create_ok(&b, &id, &[]);
    let raw = rt.ok(&["state", &id]);
    assert!(
        !raw.ends_with('\n'),
        "runc prints state without a final newline"
    );
    let st: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let keys: Vec<&str> = st.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
    ] {
        assert!(keys.contains(&k), "state has {k}: {raw}");
    }
    assert_eq!(st["bundle"], b.dir.to_str().unwrap());
    assert_eq!(st["rootfs"], b.rootfs().to_str().unwrap());
    assert!(st["created"].as_str().unwrap().ends_with('Z'));

    let start_again = rt.exec(&["start", &id]);
    assert!(start_again.status.success());
    let dup = rt.exec(&["start", &id]);
    assert_eq!(
        dup.status.code(),
        Some(1),
        "start on a running container fails"
    );
    let del = rt.exec(&["delete", &id]);
    assert_eq!(
        del.status.code(),
        Some(1),
        "delete of a running container without -f fails"
    );
    assert!(String::from_utf8_lossy(&del.stderr).contains("not stopped"));
    delete_no_leaks(&rt, &id, &b);
}

#[test]
fn delete_of_a_created_container_kills_its_init() {
    let rt = Runtime::runr();
    let id = unique("delcreated");
    let b = Bundle::new(&["sleep", "100"]);
    rt.create_ok(&b, &id, &[]);
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    rt.ok(&["delete", &id]);
    assert!(wait_for(30, || !std::path::Path::new(&format!(
        "/proc/{pid}/cmdline"
    ))
    .exists()
        || std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")));
    assert_no_leaks(&rt, &id, &b);
}

#[test]
fn concurrent_creates_of_one_id_leave_exactly_one_container() {
    let rt = Runtime::runr();
    let id = unique("race");
    let bundles: Vec<Bundle> = (0..4).map(|_| Bundle::new(&["sleep", "100"])).collect();
    for b in &bundles {
        b.write();
    }
    let results: Vec<bool> = std::thread::scope(|s| {
        let handles: Vec<_> = bundles
            .iter()
            .map(|b| s.spawn(|| rt.create(b, &id, &[]).status.success()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|ok| **ok).count(),
        1,
        "exactly one create wins: {results:?}"
    );
    assert_eq!(rt.state(&id)["status"], "created");
    rt.ok(&["delete", "--force", &id]);
    for b in &bundles {
        assert_no_leaks(&rt, &id, b);
    }
}

#[test]
fn concurrent_starts_run_the_process_once() {
    let rt = Runtime::runr();
    let id = unique("startrace");
    let mut b = Bundle::shell("echo started >> /tmp/log; exec sleep 100");
    b.config["root"]["readonly"] = false.into();
    rt.create_ok(&b, &id, &[]);
    let ok: Vec<bool> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| s.spawn(|| rt.exec(&["start", &id]).status.success()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        ok.iter().filter(|x| **x).count(),
        1,
        "exactly one start succeeds: {ok:?}"
    );
    assert!(wait_for(30, || std::fs::read_to_string(
        b.rootfs().join("tmp/log")
    )
    .is_ok_and(|l| l == "started\n")));
    delete_no_leaks(&rt, &id, &b);
}
