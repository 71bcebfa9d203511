//! The host-wide guards of tests-integration/src/lib.rs, which several processes on one machine
//! hold at once (test binaries of other checkouts, CI, benches): the hugetlb v1 hierarchy
//! ([`HugetlbV1`]) stays mounted while any guard of any process lives, and the last one puts the
//! host back. Before, a guard dropped in one process unmounted hugetlb under another process's
//! containerd; runc's containers created after that had no metrics and no OOM events (seen in
//! CI as cri's runc ContainerStats and OOMKilled scenarios failing while runr's passed).
//!
//! One test in its own binary: it mounts and unmounts a host-wide hierarchy, which no other test
//! of this binary may see change under it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use tests_integration::{skip, wait_for, HugetlbV1};

fn hugetlb_mounted() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(HugetlbV1::PATH))
}

#[test]
fn hugetlb_v1_stays_mounted_until_the_last_guard_of_any_process_is_dropped() {
    if !Path::new("/sys/fs/cgroup/unified").exists() {
        return skip("not a hybrid host: HugetlbV1 mounts nothing here");
    }
    if hugetlb_mounted() {
        return skip(
            "hugetlb is mounted as v1 already (by something else running beside this test)",
        );
    }
    let first = HugetlbV1::ensure().expect("mount hugetlb v1");
    assert!(
        first.mounted() && hugetlb_mounted(),
        "the first guard mounts it"
    );
    let second = HugetlbV1::ensure().unwrap();
    assert!(!second.mounted(), "the second guard finds it mounted");
    drop(first);
    assert!(hugetlb_mounted(), "a guard of this process still uses it");

    // Another process's guard: a shared lock on the same file, as HugetlbV1 takes it.
    let mut other = Command::new("flock")
        .args(["--shared", HugetlbV1::LOCK, "-c", "echo locked; read x"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("flock (util-linux)");
    let mut line = String::new();
    BufReader::new(other.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "locked\n", "the other process holds the lock");
    drop(second);
    assert!(hugetlb_mounted(), "another process's guard still uses it");
    other.stdin.take().unwrap().write_all(b"done\n").unwrap();
    assert!(other.wait().unwrap().success());

    // The other process is gone: the last guard (this one) puts the host back. A container of
    // another test run on this machine may have made a cgroup in the hierarchy meanwhile (a
    // runtime uses every mounted one); the guard must leave it mounted while that is in use and
    // a later last guard unmounts it, so retry as one would.
    let last = HugetlbV1::ensure().unwrap();
    assert!(!last.mounted(), "still mounted by the first guard");
    drop(last);
    let put_back = wait_for(30, || {
        if hugetlb_mounted() {
            drop(HugetlbV1::ensure().unwrap());
        }
        !hugetlb_mounted()
    });
    if !put_back {
        return skip(format!(
            "cgroups of other processes stay in use below {} (left mounted for a later guard): {:?}",
            HugetlbV1::PATH,
            cgroups_below(HugetlbV1::PATH)
        ));
    }
    assert!(!Path::new(HugetlbV1::PATH).exists(), "mount point removed");
}

/// The cgroup directories below `root`.
fn cgroups_below(root: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(root)];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(e.path().display().to_string());
                dirs.push(e.path());
            }
        }
    }
    out
}
