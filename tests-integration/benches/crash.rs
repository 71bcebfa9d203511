//! What a runtime killed mid-create leaves behind, for runr, runc and crun side by side
//! (issue #14): N `create`s of a busybox bundle, each SIGKILLed after a random 0–30 ms, then
//! `list`, then `delete --force` of every id, then a count of what is left on the host.
//!
//! ```sh
//! cargo bench -p tests-integration --bench crash            # CRASH_RUNS=40 by default
//! CRASH_RUNS=10 BENCH_RUNTIMES=runr,runc cargo bench -p tests-integration --bench crash
//! ```
//!
//! runr is `RUNR_BIN` or the workspace's release build (else debug). Left behind: container
//! cgroup directories (every v1 hierarchy and the unified one), live processes of the
//! containers (in a left-over cgroup, or naming the container or the bundle, or a parked
//! `runc init`), state directories, exec fifos, mounts naming the bundle. Whatever is left is
//! then removed by hand, so the host ends as it began. crun 1.8.1 refuses a hybrid host unless
//! hugetlb has a v1 hierarchy: it is mounted for the run, as the runtimes benchmark does.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tests_integration::{
    cgroup_hierarchies, scratch, unique, wait_for, which, Bundle, HugetlbV1, Runtime,
};

/// What one runtime left after N killed creates and a `delete --force` of each.
#[derive(Default)]
struct Left {
    killed: u32,
    listed: u32,
    cgroups: u32,
    processes: u32,
    state_dirs: u32,
    fifos: u32,
    mounts: u32,
}

fn main() {
    let runs: u32 = std::env::var("CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let wanted = std::env::var("BENCH_RUNTIMES").unwrap_or_else(|_| "runr,runc,crun".into());
    let rts: Vec<Runtime> = ["runr", "runc", "crun"]
        .into_iter()
        .filter(|n| wanted.split(',').any(|w| w.trim() == *n))
        .filter_map(runtime)
        .collect();
    let _hugetlb = rts.iter().any(|r| r.name == "crun").then(HugetlbV1::ensure);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rows = Vec::new();
    for rt in &rts {
        let left = crash_creates(rt, runs, &mut seed);
        rows.push((rt.name, left));
    }
    println!("\n{runs} creates per runtime, each SIGKILLed after a random 0-30 ms, then delete --force of every id:\n");
    println!(
        "| left behind | {} |",
        rows.iter().map(|r| r.0).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|{}", "---:|".repeat(rows.len()));
    let line = |what: &str, f: &dyn Fn(&Left) -> u32| {
        let cells: Vec<String> = rows.iter().map(|r| f(&r.1).to_string()).collect();
        println!("| {what} | {} |", cells.join(" | "));
    };
    line("creates killed before they returned", &|l| l.killed);
    line("half-made containers shown by `list`", &|l| l.listed);
    line("cgroup directories", &|l| l.cgroups);
    line("processes", &|l| l.processes);
    line("state directories", &|l| l.state_dirs);
    line("exec fifos", &|l| l.fifos);
    line("mounts", &|l| l.mounts);
}

fn runtime(name: &str) -> Option<Runtime> {
    let bin = if name == "runr" {
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
        let bin = std::env::var_os("RUNR_BIN")
            .map(PathBuf::from)
            .or_else(|| {
                ["release", "debug"]
                    .iter()
                    .map(|p| target.join(p).join("runr"))
                    .find(|p| p.exists())
            })?;
        Some(bin)
    } else {
        which(name)
    };
    let Some(bin) = bin else {
        println!("# {name}: not installed, left out");
        return None;
    };
    let name: &'static str = match name {
        "runr" => "runr",
        "runc" => "runc",
        _ => "crun",
    };
    Some(Runtime {
        name,
        bin,
        root: scratch().join(unique(&format!("crash-root-{name}"))),
    })
}

fn crash_creates(rt: &Runtime, runs: u32, seed: &mut u64) -> Left {
    let mut bundle = Bundle::new(&["sleep", "100"]);
    let parent = format!("/crash-bench-{}-{}", rt.name, std::process::id());
    let mut left = Left::default();
    let mut ids = Vec::new();
    for i in 0..runs {
        let id = format!("{}-crash-{}-{i}", rt.name, std::process::id());
        bundle.config["linux"]["cgroupsPath"] = format!("{parent}/{id}").into();
        bundle.write();
        let mut child = rt
            .command(&["create", "--bundle", bundle.dir.to_str().unwrap(), &id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn runtime");
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        std::thread::sleep(Duration::from_micros(*seed % 30_000));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        if status.signal() == Some(libc::SIGKILL) {
            left.killed += 1;
        }
        ids.push(id);
    }
    let listed = rt.exec(&["list", "-q"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    left.listed = ids
        .iter()
        .filter(|id| listed.lines().any(|l| l == *id))
        .count() as u32;
    for id in &ids {
        let _ = rt.exec(&["delete", "--force", id]);
    }
    // Whatever is on its way out (an init that noticed its runtime died) gets a moment.
    std::thread::sleep(Duration::from_millis(300));
    let cgroups = left_cgroups(&parent);
    let procs = left_processes(&cgroups, &ids, &bundle, rt);
    left.cgroups = cgroups.len() as u32;
    left.processes = procs.len() as u32;
    for id in &ids {
        let dir = rt.root.join(id);
        if dir.exists() {
            left.state_dirs += 1;
            let fifos = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().contains("fifo"))
                .count();
            left.fifos += fifos as u32;
        }
    }
    let dir = bundle.dir.to_string_lossy().into_owned();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    left.mounts = mountinfo.lines().filter(|l| l.contains(&dir)).count() as u32;
    clean_up(&procs, &cgroups, &parent, rt);
    bundle.config["linux"]["cgroupsPath"] = serde_json::Value::Null;
    left
}

/// Every cgroup directory below `parent` in every hierarchy (the containers' own).
fn left_cgroups(parent: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for h in cgroup_hierarchies() {
        let top = h.join(parent.trim_start_matches('/'));
        for e in std::fs::read_dir(&top).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(e.path());
            }
        }
    }
    out
}

/// Live processes of the containers: in a left-over cgroup, or whose command line names a
/// container, the bundle, or is runc's parked `runc init`.
fn left_processes(cgroups: &[PathBuf], ids: &[String], b: &Bundle, rt: &Runtime) -> Vec<i32> {
    let mut pids: Vec<i32> = cgroups
        .iter()
        .flat_map(|c| {
            std::fs::read_to_string(c.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    let dir = b.dir.to_string_lossy().into_owned();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat
            .rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z'))
        {
            continue;
        }
        let root = rt.root.to_string_lossy();
        let ours = ids.iter().any(|id| cmd.contains(id.as_str()))
            || cmd.contains(&dir)
            || (cmd.starts_with("runc init") && rt.name == "runc" && parked_here(pid, &root));
        if ours {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// A `runc init` whose environment names this run's state root (runc passes it as
/// `_LIBCONTAINER_STATEDIR`).
fn parked_here(pid: i32, root: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|e| String::from_utf8_lossy(&e).contains(root))
        .unwrap_or(false)
}

/// Puts the host back: kills what is left, removes the cgroups (deepest first) and the root.
fn clean_up(procs: &[i32], cgroups: &[PathBuf], parent: &str, rt: &Runtime) {
    for &pid in procs {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    for c in cgroups {
        wait_for(3, || std::fs::remove_dir(c).is_ok() || !c.exists());
    }
    for h in cgroup_hierarchies() {
        let _ = std::fs::remove_dir(h.join(parent.trim_start_matches('/')));
    }
    let _ = std::fs::remove_dir_all(&rt.root);
}
