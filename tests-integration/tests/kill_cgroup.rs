//! Issue #17: `kill` as runc 1.2+. SIGKILL to a container that shares its pid namespace reaches
//! every process of it, without `--all` (now deprecated, still accepted), through the cgroup's
//! `cgroup.kill` where the kernel has it (v2, and the unified cgroup of a hybrid host). Runs on
//! this hybrid host and in the pure-v2 VM (scripts/test-v2.sh). Side by side with the installed
//! runc: 1.1.5 kills only the init without `--all` (its other processes live on until
//! `delete --force`); runc 1.2+ behaves as runr.

use std::path::PathBuf;

use tests_integration::{delete_no_leaks, runtimes, unique, wait_for, Bundle};

fn count(f: &PathBuf) -> usize {
    std::fs::read_to_string(f)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// Whether a process listed in `procs` is `sleep` (has exec'd it).
fn runs_sleep(procs: &PathBuf) -> bool {
    std::fs::read_to_string(procs).is_ok_and(|s| {
        s.lines().any(|pid| {
            std::fs::read_to_string(format!("/proc/{}/comm", pid.trim()))
                .is_ok_and(|c| c.trim() == "sleep")
        })
    })
}

#[test]
fn sigkill_reaches_every_process_of_a_container_sharing_the_pid_namespace() {
    for rt in runtimes() {
        let mut b = Bundle::shell("sleep 1000 & sleep 1000 & echo ready; wait");
        b.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid");
        let id = unique("kill-shared");
        rt.run_detached_ok(&b, &id, &[]);
        let out = b.dir.join("stdout");
        let ready = wait_for(60, || {
            std::fs::read_to_string(&out).is_ok_and(|s| s.contains("ready"))
        });
        assert!(ready, "{}: the container never said ready", rt.name);
        let procs = b.procs_file();
        assert!(
            wait_for(60, || count(&procs) == 3),
            "{}: sh and two sleeps in {}",
            rt.name,
            procs.display()
        );
        // No --all.
        rt.ok(&["kill", &id, "KILL"]);
        if rt.version() >= (1, 2) {
            let gone = wait_for(60, || count(&procs) == 0);
            assert!(gone, "{}: {} processes left", rt.name, count(&procs));
            let stopped = wait_for(60, || rt.state(&id)["status"] == "stopped");
            assert!(stopped, "{}", rt.name);
        } else {
            // runc 1.1.5: only the init dies; its two sleeps stay in the cgroup.
            let init_gone = wait_for(60, || rt.state(&id)["status"] == "stopped");
            assert!(init_gone, "{}", rt.name);
            assert_eq!(count(&procs), 2, "{}: the sleeps live on", rt.name);
            eprintln!(
                "{}: kill without --all leaves the other processes (runc < 1.2)",
                rt.name
            );
            // Its delete --force kills them, but on a v2 host runc 1.1.5 removes the cgroup
            // before they are gone (EBUSY) and leaves it: noted, then removed here.
            rt.ok(&["delete", "--force", &id]);
            let dir = procs.parent().unwrap().to_path_buf();
            if !wait_for(10, || !dir.exists()) {
                eprintln!("{}: left {} after delete --force", rt.name, dir.display());
                wait_for(30, || std::fs::remove_dir(&dir).is_ok());
            }
            tests_integration::assert_no_leaks(&rt, &id, &b);
            continue;
        }
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn deprecated_all_is_still_accepted_and_signals_every_process() {
    // runc 1.2+ keeps -a/--all as an obsolete flag; runr keeps its effect (every process gets
    // the signal), which is what runc 1.1.5 did and what the callers that still pass it expect.
    for rt in runtimes() {
        // The init ignores TERM and waits for its child, which does not: the line after `wait`
        // shows the child died of the signal.
        let b = Bundle::shell(
            "trap '' TERM; (trap - TERM; exec sleep 1000) & echo ready; wait; echo waited; \
             exec sleep 1000",
        );
        let id = unique("kill-all");
        rt.run_detached_ok(&b, &id, &[]);
        let out = b.dir.join("stdout");
        let said = |what: &str| std::fs::read_to_string(&out).is_ok_and(|s| s.contains(what));
        assert!(
            wait_for(60, || said("ready")),
            "{}: never said ready",
            rt.name
        );
        let procs = b.procs_file();
        assert!(wait_for(60, || count(&procs) == 2), "{}", rt.name);
        // The child ignores TERM (the init's trap) until its `trap -` and exec: wait until it
        // is `sleep`, else the signal can arrive while it still ignores it.
        assert!(wait_for(60, || runs_sleep(&procs)), "{}", rt.name);
        rt.ok(&["kill", "-a", &id, "TERM"]);
        if rt.name == "runr" || rt.version() < (1, 2) {
            assert!(
                wait_for(60, || said("waited")),
                "{}: the child lived on",
                rt.name
            );
            assert_eq!(rt.state(&id)["status"], "running", "{}", rt.name);
        } else {
            eprintln!("{}: runc 1.2+ signals only the init with -a", rt.name);
        }
        delete_no_leaks(&rt, &id, &b);
    }
}
