//! The intent record's durability (issue #14's guarantee, kept by issue #20's cheaper writes):
//! `create` makes the first record durable (file fdatasynced, its directory fsynced) before its
//! first side effect, the cgroup, and the record naming the init durable before the init is
//! reported ready (before `state.json` is written); `state.json` itself is never synced. Seen
//! through `strace -f -y` of one `run`, in the order the runtime made the calls.
//!
//! No side-by-side run: runc has no intent record (runc 1.1.5 and today's 1.5 write only
//! `state.json`, through a temporary file and a rename), so there is nothing of runc's to
//! compare the order with.

use std::process::Command;

use tests_integration::{assert_no_leaks, unique, which, Bundle, Runtime};

/// One traced call of the runtime's own process: the syscall's name and its whole line.
struct Call {
    name: String,
    line: String,
}

/// The calls of the first (runtime) process in an `strace -f -y` log, in order.
fn runtime_calls(log: &str) -> Vec<Call> {
    let first_pid = log
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    log.lines()
        .filter_map(|l| {
            let (pid, rest) = l.split_once(' ')?;
            let rest = rest.trim_start();
            let name = rest.split('(').next()?.to_string();
            (pid == first_pid).then(|| Call {
                name,
                line: rest.to_string(),
            })
        })
        .collect()
}

/// Index of the first call at or after `from` that is `name` and mentions `needle`.
fn find(calls: &[Call], from: usize, name: &str, needle: &str) -> Option<usize> {
    (from..calls.len()).find(|&i| calls[i].name == name && calls[i].line.contains(needle))
}

/// Is call `i` an fsync or fdatasync of the record's file (under its temporary name or its
/// own: syncing before or after the rename are both durable once the directory is synced)?
fn syncs_record(calls: &[Call], i: usize, dir: &str) -> bool {
    let c = &calls[i];
    (c.name == "fsync" || c.name == "fdatasync")
        && (c.line.contains(&format!("<{dir}/intent.json>"))
            || c.line.contains(&format!("<{dir}/.intent.json.tmp>")))
}

/// Between `from` and `to`: the record renamed into place, its data synced, and its
/// directory synced after the rename. Returns the directory sync's index.
fn durable_write(calls: &[Call], from: usize, to: usize, dir: &str) -> Option<usize> {
    let renamed =
        find(calls, from, "renameat", &format!("{dir}/intent.json")).filter(|&i| i < to)?;
    (from..to).find(|&i| syncs_record(calls, i, dir))?;
    find(calls, renamed, "fsync", &format!("<{dir}>")).filter(|&i| i < to)
}

#[test]
fn intent_record_is_durable_before_the_cgroup_and_before_the_init_is_ready() {
    let Some(strace) = which("strace") else {
        test_skip::missing_tool("strace", "the trace of the runtime's syscalls");
        return;
    };
    let rt = Runtime::runr();
    let b = Bundle::new(&["true"]);
    b.write();
    let id = unique("durable");
    let log = b.dir.join("strace.log");
    let out = Command::new(strace)
        .args(["-f", "-qq", "-y", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=mkdir,fdatasync,fsync,renameat,rename,renameat2,clone3,clone",
        ])
        .arg(&rt.bin)
        .arg("--root")
        .arg(&rt.root)
        .args(["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .output()
        .expect("spawn strace");
    assert!(out.status.success(), "traced run failed: {out:?}");
    let calls = runtime_calls(&std::fs::read_to_string(&log).unwrap());
    let dir = format!("{}/{id}", rt.root.display());
    let all = || calls.iter().map(|c| &c.line).collect::<Vec<_>>();

    // 1. The first record: renamed into place, its data synced, then its directory, all before
    //    the first cgroup directory is made.
    let cgroup = find(&calls, 0, "mkdir", "/sys/fs/cgroup/").expect("a cgroup directory made");
    assert!(
        durable_write(&calls, 0, cgroup, &dir).is_some(),
        "the record must be on disk before the cgroup is made: {:?}",
        all()
    );

    // 2. The record naming the init: written after the clone and on disk (file, directory)
    //    before the state is saved, i.e. before the init is reported ready.
    let clone = (cgroup..calls.len())
        .find(|&i| calls[i].name.starts_with("clone"))
        .expect("the init cloned");
    let state =
        find(&calls, clone, "renameat", &format!("{dir}/state.json")).expect("state.json saved");
    assert!(
        durable_write(&calls, clone, state, &dir).is_some(),
        "the init's record must be on disk before the state is saved: {:?}",
        all()
    );

    // 3. state.json is not synced (not required: a lost state.json is a half-made container
    //    that delete --force removes by the record).
    let state_path = format!("<{dir}/state.json>");
    assert!(
        !calls
            .iter()
            .any(|c| (c.name == "fsync" || c.name == "fdatasync") && c.line.contains(&state_path)),
        "state.json was synced"
    );
    assert_no_leaks(&rt, &id, &b);
}
