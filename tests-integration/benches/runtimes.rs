//! runr, runc and crun side by side on the same busybox bundle (issue #8).
//!
//! ```sh
//! cargo build --release -p runtime-cli          # or RUNR_BIN=/path/to/runr
//! cargo bench -p tests-integration --bench runtimes
//! BENCH_RUNS=5 BENCH_BATCH_RUNS=1 cargo bench -p tests-integration --bench runtimes   # quick
//! ```
//!
//! Environment: `BENCH_RUNS` (runs per single-container measurement, default 30),
//! `BENCH_BATCH_RUNS` (runs of the 100-container batches, default 3), `BENCH_RUNTIMES`
//! (comma list out of `runr,runc,crun`, default all installed), `RUNR_BIN`, `BENCH_GLOBAL_ARGS`
//! (global flags given to every runtime before the subcommand, e.g. `--systemd-cgroup`).
//! `BENCH_BATCH_RUNS=0` leaves the batches out (short runs in an emulated VM:
//! scripts/bench-vm.sh). Run by an unprivileged user (scripts/bench-rootless.sh), the bundles
//! get `runr spec --rootless`'s config and every runtime runs rootless.
//!
//! Every measurement is interleaved: run i does runtime A, B, C (rotated by i so that no runtime
//! always follows the same one), so machine noise hits all alike; the table shows medians.
//! Times are wall clock from spawning the runtime process to reaping it. Peak RSS is the
//! `ru_maxrss` that `wait4` reports for the runtime process (and the children it reaped), taken
//! through `rss-spawn.c` (built here with `gcc -static`): a child of the benchmark itself would
//! report the benchmark's own memory, which it carries until its exec.
//! Each runtime has its own `--root`; containers, roots and bundles are removed at the end.
//! They live under `$TMPDIR/runr-it` (`/tmp`: ext4 on this VM; `TMPDIR=/dev/shm` for tmpfs).
//!
//! Under the table, as root: what one cgroup move costs (`cgroup-move.c`): another process's pid
//! written into `cgroup.procs` (how crun and runc place their init; it waits for an RCU grace
//! period) against a thread writing `0` into its own v1 `tasks` (how runr's init joins).
//!
//! Last, runr alone: "where the time goes", the medians of runr's own phase timings
//! (`RUNR_PHASE_TIMINGS`, runtimes/phases.rs) for run, create, start, delete, exec and a run
//! with Docker's seccomp profile, beside the wall times of the same commands.
//!
//! crun 1.8.1 refuses a hybrid host whose cgroup2 mount has a controller (hugetlb here): when crun
//! is measured, hugetlb is mounted as a v1 hierarchy first (and unmounted at the end if it was
//! this benchmark that mounted it and nothing else uses it).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "runtimes/phases.rs"]
mod phases;
use tests_integration::{compile_static_c, scratch, unique, which, Bundle, HugetlbV1, Runtime};

const DOCKER_CONFIG: &str = "/work/shared/fixtures/engine-configs/docker-config-default.json";
const BATCH: usize = 100;
const PARALLEL: usize = 4;

fn main() {
    let runs = env_number("BENCH_RUNS", 30).max(1);
    let batch_runs = env_number("BENCH_BATCH_RUNS", 3);
    // Declared first, dropped last: after the runtimes' Drop has deleted what is left.
    let _hugetlb: Option<HugetlbV1>;
    let _dir = TempDir;
    let mut rts = runtimes();
    if rts.is_empty() {
        eprintln!("no runtime to measure");
        return;
    }
    _hugetlb = rts
        .iter()
        .any(|r| r.name == "crun")
        .then(|| match HugetlbV1::ensure() {
            Ok(h) if h.mounted() => {
                println!(
                    "# mounted hugetlb as a v1 hierarchy at {}: crun 1.8.1 refuses a hybrid \
                     host whose cgroup2 has a controller; unmounted at the end",
                    HugetlbV1::PATH
                );
                Some(h)
            }
            Ok(h) => {
                println!(
                    "# hugetlb left as it is at {} (already a v1 hierarchy, or no hybrid host)",
                    HugetlbV1::PATH
                );
                Some(h)
            }
            Err(e) => {
                println!("# could not mount hugetlb ({e}); crun may fail");
                None
            }
        })
        .flatten();

    println!(
        "# runtimes: {}",
        rts.iter()
            .map(|r| format!("{} ({})", r.name, r.bin.display()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("# {runs} runs per measurement, {batch_runs} per batch of {BATCH}; medians");

    let plain = Bench::new(false);
    let sec = Bench::new(true);

    // Warm-up (page cache, first cgroup creation) and a check that each runtime works here.
    rts.retain(|rt| match plain.check(rt).and_then(|_| sec.check(rt)) {
        Ok(()) => true,
        Err(e) => {
            println!("# {}: left out, it fails on this host: {e}", rt.name);
            false
        }
    });
    let mut table = Table::new(rts.iter().map(|r| r.name).collect());

    // (1) run of `true`, and the lower bound beside it.
    let unshare = which("unshare");
    let mut lower = Vec::new();
    let mut run = vec![Vec::new(); rts.len()];
    for i in 0..runs {
        for k in rotation(i, rts.len() + 1) {
            if k == rts.len() {
                if let Some(u) = &unshare {
                    let mut c = Command::new(u);
                    c.args([floor_flags(), "true"]);
                    lower.push(spawn(&mut c).expect("unshare"));
                }
                continue;
            }
            run[k].push(plain.run(&rts[k]).unwrap_or_else(|e| fail(&rts[k], &e)));
        }
    }
    table.time("run true", &run);

    // (2) create, start, delete, and the whole cycle.
    let cycles = cycle_phase(&rts, &plain, runs);
    table.time("create", &cycles.create);
    table.time("start", &cycles.start);
    table.time("delete", &cycles.delete);
    table.time("create+start+wait+delete", &cycles.total);

    // (3) exec into a running container.
    table.time("exec true", &exec_phase(&rts, &plain, runs));

    // (4) 100 containers back to back, then 4 in parallel.
    if batch_runs > 0 {
        let (up, down) = batch_phase(&rts, &plain, batch_runs, 1);
        table.time(&format!("{BATCH}x create+start, sequential"), &up);
        table.time(&format!("{BATCH}x delete -f, sequential"), &down);
        let (up, down) = batch_phase(&rts, &plain, batch_runs, PARALLEL);
        table.time(&format!("{BATCH}x create+start, {PARALLEL} parallel"), &up);
        table.time(&format!("{BATCH}x delete -f, {PARALLEL} parallel"), &down);
    }

    // (5) memory and size.
    match RssSpawn::build() {
        Ok(probe) => {
            let rss = rss_phase(&rts, &plain, &probe, runs);
            table.kib("peak RSS create (MiB)", &rss.create);
            table.kib("peak RSS run (MiB)", &rss.run);
            println!(
                "# peak RSS of /bin/true through the same spawner (what any dynamically linked program costs): {:.2} MiB",
                rss.floor_kib as f64 / 1024.0
            );
        }
        Err(e) => println!("# peak RSS not measured: {e}"),
    }
    table.size(
        "binary size (MiB)",
        &rts.iter()
            .map(|r| std::fs::metadata(&r.bin).map(|m| m.len()).unwrap_or(0))
            .collect::<Vec<_>>(),
    );

    // (6) Docker's default seccomp profile and a memory limit.
    let mut run = vec![Vec::new(); rts.len()];
    for i in 0..runs {
        for k in rotation(i, rts.len()) {
            run[k].push(sec.run(&rts[k]).unwrap_or_else(|e| fail(&rts[k], &e)));
        }
    }
    table.time("seccomp+mem: run true", &run);
    let cycles = cycle_phase(&rts, &sec, runs);
    table.time("seccomp+mem: create+start+wait+delete", &cycles.total);
    table.time("seccomp+mem: exec true", &exec_phase(&rts, &sec, runs));

    println!();
    table.print();
    if !lower.is_empty() {
        let m = median(&lower);
        print!(
            "\nlower bound: unshare {} true: {:.2} ms",
            floor_flags(),
            ms(m)
        );
        if let Some(k) = rts.iter().position(|r| r.name == "runr") {
            let r = median(&table.rows[0].1[k]);
            print!(
                "; runr run true = {:.1}x that (+{:.2} ms)",
                r.as_secs_f64() / m.as_secs_f64(),
                ms(r) - ms(m)
            );
        }
        println!();
    }

    // What one cgroup move costs: the cause of crun's varying `create` here (README).
    cgroup_move_probe(runs);

    // (7) Where runr's time goes, from its own phase timings.
    if let Some(runr) = rts.iter().find(|r| r.name == "runr") {
        phases::where_the_time_goes(runr, &plain, &sec, runs);
    }
}

/// The runtimes to measure: runr (release build), runc and crun when installed.
fn runtimes() -> Vec<Runtime> {
    let wanted = std::env::var("BENCH_RUNTIMES").unwrap_or_else(|_| "runr,runc,crun".into());
    let mut out = Vec::new();
    for name in ["runr", "runc", "crun"] {
        if !wanted.split(',').any(|w| w.trim() == name) {
            continue;
        }
        let bin = if name == "runr" {
            let bin = runr_bin();
            if !bin.exists() {
                eprintln!(
                    "runr not found at {} (cargo build --release -p runtime-cli, or RUNR_BIN)",
                    bin.display()
                );
                continue;
            }
            Some(bin)
        } else {
            which(name)
        };
        let Some(bin) = bin else {
            println!("# {name}: not installed, left out");
            continue;
        };
        let name: &'static str = match name {
            "runr" => "runr",
            "runc" => "runc",
            _ => "crun",
        };
        out.push(Runtime {
            name,
            bin,
            root: scratch().join(unique(&format!("bench-root-{name}"))),
        });
    }
    out
}

fn runr_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("RUNR_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("release/runr")
}

/// Two bundles of one kind: one whose process is `true`, one that sleeps (for exec and batches).
struct Bench {
    once: Bundle,
    sleeper: Bundle,
}

impl Bench {
    fn new(realistic: bool) -> Bench {
        let make = |args: &[&str]| {
            let mut b = Bundle::new(args);
            // The runtime picks the cgroup from the container id, so containers of one bundle
            // can run side by side.
            b.config["linux"]
                .as_object_mut()
                .unwrap()
                .remove("cgroupsPath");
            if rootless() {
                make_rootless(&mut b);
            }
            if realistic {
                let docker: Value = serde_json::from_str(
                    &std::fs::read_to_string(docker_config()).expect("docker fixture"),
                )
                .expect("docker fixture is JSON");
                b.config["linux"]["seccomp"] = docker["linux"]["seccomp"].clone();
                // An unprivileged user has no cgroup to limit on a v1/hybrid host (and runc
                // refuses the limit there): the rootless rows have the profile only.
                if !rootless() {
                    b.config["linux"]["resources"]["memory"] = json!({"limit": 256u64 << 20});
                }
            }
            b.write();
            b
        };
        Bench {
            once: make(&["true"]),
            sleeper: make(&["sleep", "1000000"]),
        }
    }

    fn bundle_arg(b: &Bundle) -> &str {
        b.dir.to_str().unwrap()
    }

    fn check(&self, rt: &Runtime) -> Result<(), String> {
        self.run(rt)?;
        let id = unique("bench-check");
        self.create(rt, &self.sleeper, &id)?;
        let r = cmd(rt, &["start", &id])
            .and_then(|_| cmd(rt, &["exec", &id, "true"]))
            .map(|_| ());
        cmd(rt, &["delete", "--force", &id])?;
        r
    }

    fn run(&self, rt: &Runtime) -> Result<Duration, String> {
        let id = unique("bench-run");
        cmd(rt, &["run", "--bundle", Self::bundle_arg(&self.once), &id])
    }

    fn create(&self, rt: &Runtime, b: &Bundle, id: &str) -> Result<Duration, String> {
        cmd(rt, &["create", "--bundle", Self::bundle_arg(b), id])
    }
}

/// Runs a runtime subcommand: stdio is /dev/null (a container's init inherits create's stdio),
/// stderr goes to a file that is shown if it fails.
fn cmd(rt: &Runtime, args: &[&str]) -> Result<Duration, String> {
    let mut c = command(rt, args);
    c.stdout(Stdio::null());
    spawn(&mut c).map_err(|e| format!("{} {}: {e}", rt.name, args.join(" ")))
}

/// `rt.command(args)` with `BENCH_GLOBAL_ARGS` (e.g. `--systemd-cgroup`) before `args`.
fn command(rt: &Runtime, args: &[&str]) -> Command {
    rt.command(&with_global_args(args))
}

/// `BENCH_GLOBAL_ARGS` (split on whitespace), then `args`.
fn with_global_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    static GLOBAL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let global = GLOBAL.get_or_init(|| {
        let v = std::env::var("BENCH_GLOBAL_ARGS").unwrap_or_default();
        Box::leak(v.into_boxed_str()).split_whitespace().collect()
    });
    global.iter().copied().chain(args.iter().copied()).collect()
}

fn spawn(c: &mut Command) -> Result<Duration, String> {
    let err_path = bench_dir().join(format!("stderr-{:?}", std::thread::current().id()));
    let err = File::create(&err_path).map_err(|e| e.to_string())?;
    c.stderr(err).stdin(Stdio::null());
    let start = Instant::now();
    let status = c
        .spawn()
        .and_then(|mut child| child.wait())
        .map_err(|e| e.to_string())?;
    let wall = start.elapsed();
    if !status.success() {
        let text = std::fs::read_to_string(&err_path).unwrap_or_default();
        return Err(format!("{status}: {}", text.trim()));
    }
    Ok(wall)
}

fn fail(rt: &Runtime, e: &str) -> ! {
    panic!("{} failed during the benchmark: {e}", rt.name)
}

/// `cgroup-move.c`: what moving a process into a cgroup costs, the way crun and runc place
/// their init (its pid written into `cgroup.procs` by the parent) and the way runr's init joins
/// its v1 cgroups (`0` written into `tasks` by itself). Printed as a note under the table; as
/// root only (it makes cgroups in the host's tree, and removes them).
fn cgroup_move_probe(runs: usize) {
    let v1 = Path::new("/sys/fs/cgroup/pids/tasks").exists();
    let hierarchy = if v1 {
        "/sys/fs/cgroup/pids"
    } else {
        "/sys/fs/cgroup"
    };
    if rootless() || !Path::new(hierarchy).join("cgroup.procs").exists() {
        println!(
            "# cgroup move cost: not measured (needs root and a pids v1 or cgroup2 hierarchy)"
        );
        return;
    }
    let runs = runs.clamp(5, 50).to_string();
    let out = compile_static_c(include_str!("cgroup-move.c"), bench_dir(), "cgroup-move").and_then(
        |bin| {
            let o = Command::new(bin)
                .args([hierarchy, &runs, if v1 { "1" } else { "0" }])
                .output()
                .map_err(|e| e.to_string())?;
            match o.status.success() {
                true => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
                false => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
            }
        },
    );
    let nums: Vec<f64> = match &out {
        Ok(s) => s
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect(),
        Err(e) => {
            println!("# cgroup move cost: not measured: {e}");
            return;
        }
    };
    let [moved, own] = nums[..] else {
        println!("# cgroup move cost: not measured: cgroup-move printed {out:?}");
        return;
    };
    print!(
        "# cgroup move cost ({hierarchy}, {runs} runs after 20 ms idle, medians): another \
         process's pid written into cgroup.procs {:.2} ms (how crun and runc place their init)",
        moved / 1000.0
    );
    match own >= 0.0 {
        true => println!(
            "; a thread writing 0 into its own tasks {:.2} ms (how runr's init joins v1)",
            own / 1000.0
        ),
        false => println!(),
    }
}

/// `rss-spawn.c`, built into the bench directory.
struct RssSpawn {
    bin: PathBuf,
}

impl RssSpawn {
    fn build() -> Result<RssSpawn, String> {
        let bin = compile_static_c(include_str!("rss-spawn.c"), bench_dir(), "rss-spawn")?;
        Ok(RssSpawn { bin })
    }

    /// Peak RSS (KiB) of `prog args`, which must succeed.
    fn measure(&self, prog: &Path, args: &[&str]) -> Result<i64, String> {
        let out = bench_dir().join("rss");
        let mut c = Command::new(&self.bin);
        c.arg(&out).arg(prog).args(args).stdout(Stdio::null());
        spawn(&mut c)?;
        std::fs::read_to_string(&out)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| "rss-spawn wrote no number".to_string())
    }

    fn runtime(&self, rt: &Runtime, args: &[&str]) -> i64 {
        let root = rt.root.to_str().unwrap();
        let mut full = vec!["--root", root];
        full.extend(with_global_args(args));
        self.measure(&rt.bin, &full)
            .unwrap_or_else(|e| fail(rt, &format!("{}: {e}", args.join(" "))))
    }
}

struct Rss {
    create: Vec<Vec<i64>>,
    run: Vec<Vec<i64>>,
    floor_kib: i64,
}

/// Peak RSS of `create` (then removed with `delete -f`, not measured) and of `run true`,
/// interleaved like the timings.
fn rss_phase(rts: &[Runtime], b: &Bench, probe: &RssSpawn, runs: usize) -> Rss {
    let n = rts.len();
    let mut rss = Rss {
        create: vec![Vec::new(); n],
        run: vec![Vec::new(); n],
        floor_kib: probe
            .measure(Path::new("/bin/true"), &[])
            .expect("rss-spawn /bin/true"),
    };
    for i in 0..runs {
        for k in rotation(i, n) {
            let rt = &rts[k];
            let id = unique("bench-rss");
            let bundle = Bench::bundle_arg(&b.sleeper);
            rss.create[k].push(probe.runtime(rt, &["create", "--bundle", bundle, &id]));
            cmd(rt, &["delete", "--force", &id]).unwrap_or_else(|e| fail(rt, &e));
            let id = unique("bench-rss");
            let bundle = Bench::bundle_arg(&b.once);
            rss.run[k].push(probe.runtime(rt, &["run", "--bundle", bundle, &id]));
        }
    }
    rss
}

struct Cycles {
    create: Vec<Vec<Duration>>,
    start: Vec<Vec<Duration>>,
    delete: Vec<Vec<Duration>>,
    total: Vec<Vec<Duration>>,
}

/// create → start → wait for the container's process to exit → delete, each step timed.
fn cycle_phase(rts: &[Runtime], b: &Bench, runs: usize) -> Cycles {
    let n = rts.len();
    let mut c = Cycles {
        create: vec![Vec::new(); n],
        start: vec![Vec::new(); n],
        delete: vec![Vec::new(); n],
        total: vec![Vec::new(); n],
    };
    let pid_file = bench_dir().join("pid");
    for i in 0..runs {
        for k in rotation(i, n) {
            let rt = &rts[k];
            let id = unique("bench-cycle");
            let _ = std::fs::remove_file(&pid_file);
            let t0 = Instant::now();
            let create = cmd(
                rt,
                &[
                    "create",
                    "--bundle",
                    Bench::bundle_arg(&b.once),
                    "--pid-file",
                    pid_file.to_str().unwrap(),
                    &id,
                ],
            )
            .unwrap_or_else(|e| fail(rt, &e));
            let pid: i32 = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or_else(|| fail(rt, "no pid file after create"));
            let pidfd = PidFd::open(pid);
            let start = cmd(rt, &["start", &id]).unwrap_or_else(|e| fail(rt, &e));
            if let Some(fd) = pidfd {
                fd.wait();
            }
            let delete = cmd(rt, &["delete", &id]).unwrap_or_else(|e| fail(rt, &e));
            c.total[k].push(t0.elapsed());
            c.create[k].push(create);
            c.start[k].push(start);
            c.delete[k].push(delete);
        }
    }
    let _ = std::fs::remove_file(&pid_file);
    c
}

/// A pidfd to wait for a process that is not our child (the container's init).
struct PidFd(std::os::fd::OwnedFd);

impl PidFd {
    /// None when the process is already gone.
    fn open(pid: i32) -> Option<PidFd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        Some(PidFd(unsafe {
            std::os::fd::FromRawFd::from_raw_fd(fd as i32)
        }))
    }

    fn wait(&self) {
        use std::os::fd::AsRawFd;
        let mut p = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: p is one valid pollfd.
        while unsafe { libc::poll(&mut p, 1, 10_000) } < 0 {}
    }
}

/// exec of `true` into a sleeping container, one per runtime, interleaved.
fn exec_phase(rts: &[Runtime], b: &Bench, runs: usize) -> Vec<Vec<Duration>> {
    let ids: Vec<String> = rts
        .iter()
        .map(|rt| {
            let id = unique("bench-exec");
            b.create(rt, &b.sleeper, &id)
                .and_then(|_| cmd(rt, &["start", &id]))
                .unwrap_or_else(|e| fail(rt, &e));
            id
        })
        .collect();
    let mut out = vec![Vec::new(); rts.len()];
    for i in 0..runs {
        for k in rotation(i, rts.len()) {
            let s = cmd(&rts[k], &["exec", &ids[k], "true"]).unwrap_or_else(|e| fail(&rts[k], &e));
            out[k].push(s);
        }
    }
    for (rt, id) in rts.iter().zip(&ids) {
        let _ = cmd(rt, &["delete", "--force", id]);
    }
    out
}

/// BATCH sleeping containers created and started (by `threads` workers), then all deleted with
/// `delete --force`: (time to have them all running, time to have them all gone).
fn batch_phase(
    rts: &[Runtime],
    b: &Bench,
    runs: usize,
    threads: usize,
) -> (Vec<Vec<Duration>>, Vec<Vec<Duration>>) {
    let mut up = vec![Vec::new(); rts.len()];
    let mut down = vec![Vec::new(); rts.len()];
    for i in 0..runs {
        for k in rotation(i, rts.len()) {
            let rt = &rts[k];
            let ids: Vec<String> = (0..BATCH).map(|_| unique("bench-batch")).collect();
            let chunks: Vec<&[String]> = ids.chunks(BATCH.div_ceil(threads)).collect();
            let t0 = Instant::now();
            std::thread::scope(|s| {
                for chunk in &chunks {
                    s.spawn(|| {
                        for id in *chunk {
                            b.create(rt, &b.sleeper, id)
                                .and_then(|_| cmd(rt, &["start", id]))
                                .unwrap_or_else(|e| fail(rt, &e));
                        }
                    });
                }
            });
            up[k].push(t0.elapsed());
            let t0 = Instant::now();
            std::thread::scope(|s| {
                for chunk in &chunks {
                    s.spawn(|| {
                        for id in *chunk {
                            cmd(rt, &["delete", "--force", id]).unwrap_or_else(|e| fail(rt, &e));
                        }
                    });
                }
            });
            down[k].push(t0.elapsed());
        }
    }
    (up, down)
}

/// Run by an unprivileged user (scripts/bench-rootless.sh): every runtime in rootless mode.
fn rootless() -> bool {
    !nix::unistd::geteuid().is_root()
}

/// The bundle's config made `runr spec --rootless`'s (a user namespace mapping the user to
/// root, no network namespace, /sys bound), keeping its process and root.
fn make_rootless(b: &mut Bundle) {
    let dir = bench_dir().join(unique("rootless-spec"));
    std::fs::create_dir_all(&dir).expect("rootless spec dir");
    let out = Command::new(runr_bin())
        .args(["spec", "--rootless", "--bundle"])
        .arg(&dir)
        .output()
        .expect("runr spec --rootless");
    assert!(out.status.success(), "runr spec --rootless: {out:?}");
    let mut spec: Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    spec["process"] = b.config["process"].take();
    spec["root"] = b.config["root"].take();
    spec["hostname"] = b.config["hostname"].take();
    // The bundle's version: crun 1.8.1 refuses one newer than it knows.
    spec["ociVersion"] = b.config["ociVersion"].take();
    b.config = spec;
}

/// `unshare`'s flags for the lower bound: the bundle's namespaces (rootless: a user namespace
/// mapping the user to root, no network namespace, as `runr spec --rootless`).
fn floor_flags() -> &'static str {
    if rootless() {
        "-rfmuip"
    } else {
        "-fmuipnC"
    }
}

/// Docker's default config (its seccomp profile): `$RUNR_FIXTURES/docker-config-default.json`
/// when set (the VMs of scripts/bench-vm.sh do not see /work/shared), else the shared fixture.
fn docker_config() -> PathBuf {
    match std::env::var_os("RUNR_FIXTURES") {
        Some(dir) => Path::new(&dir).join("docker-config-default.json"),
        None => PathBuf::from(DOCKER_CONFIG),
    }
}

/// This run's scratch files (stderr of the runtime commands, the pid file).
fn bench_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = scratch().join(format!("bench-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("bench dir");
        d
    })
}

/// Removes bench_dir() on drop.
struct TempDir;

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(bench_dir());
    }
}

/// The order of the runtimes in run i: 0..n rotated by i.
fn rotation(i: usize, n: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |k| (k + i) % n)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median<T: Copy + Ord>(v: &[T]) -> T {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Rows of (label, per-runtime values as f64 in the row's unit).
struct Table {
    names: Vec<&'static str>,
    rows: Vec<(String, Vec<Vec<Duration>>)>,
    lines: Vec<(String, Vec<f64>, &'static str)>,
}

impl Table {
    fn new(names: Vec<&'static str>) -> Table {
        Table {
            names,
            rows: Vec::new(),
            lines: Vec::new(),
        }
    }

    fn time(&mut self, label: &str, samples: &[Vec<Duration>]) {
        let medians = samples
            .iter()
            .map(|s| {
                if s.is_empty() {
                    f64::NAN
                } else {
                    ms(median(s))
                }
            })
            .collect();
        self.rows.push((label.to_string(), samples.to_vec()));
        self.lines.push((format!("{label} (ms)"), medians, "ms"));
    }

    fn kib(&mut self, label: &str, samples: &[Vec<i64>]) {
        let medians = samples.iter().map(|s| median(s) as f64 / 1024.0).collect();
        self.lines.push((label.to_string(), medians, "MiB"));
    }

    fn size(&mut self, label: &str, bytes: &[u64]) {
        let v = bytes.iter().map(|b| *b as f64 / 1048576.0).collect();
        self.lines.push((label.to_string(), v, "MiB"));
    }

    fn print(&self) {
        let runr = self.names.iter().position(|n| *n == "runr");
        let others: Vec<(usize, &str)> = ["crun", "runc"]
            .iter()
            .filter_map(|o| self.names.iter().position(|n| n == o).map(|k| (k, *o)))
            .collect();
        let mut header = format!("| {:<44} |", "");
        for n in &self.names {
            header += &format!(" {n:>8} |");
        }
        if runr.is_some() {
            for (_, o) in &others {
                header += &format!(" runr/{o} |");
            }
        }
        println!("{header}");
        println!(
            "|{}|",
            header[1..header.len() - 1]
                .split('|')
                .map(|c| format!("{}:", "-".repeat(c.len() - 1)))
                .collect::<Vec<_>>()
                .join("|")
        );
        for (label, values, _) in &self.lines {
            let mut line = format!("| {label:<44} |");
            for v in values {
                line += &format!(" {v:>8.2} |");
            }
            if let Some(r) = runr {
                for (k, o) in &others {
                    line += &format!(" {:>w$.2} |", values[r] / values[*k], w = 5 + o.len());
                }
            }
            println!("{line}");
        }
    }
}
