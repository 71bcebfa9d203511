//! "Where the time goes": runr's own per-phase timings (`RUNR_PHASE_TIMINGS`, see
//! runtime-cli/src/timings.rs), aggregated into one table: the median of each phase per
//! command, beside the median wall time the benchmark measures for the same commands.
//!
//! Measured in a section of its own, after the comparison table, so that the table's runr rows
//! are runr without timings; the runs of `run true` here alternate timings on and off, which
//! gives what having them on costs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tests_integration::{unique, Runtime};

use super::{bench_dir, fail, median, ms, spawn, Bench, PidFd};

/// One column of the table: a command of one kind, its timings file and its wall times.
struct Column {
    label: &'static str,
    command: &'static str,
    file: PathBuf,
    wall: Vec<Duration>,
}

impl Column {
    fn new(label: &'static str, command: &'static str) -> Column {
        let file = bench_dir().join(format!("phases-{}.jsonl", unique("col")));
        Column {
            label,
            command,
            file,
            wall: Vec::new(),
        }
    }
}

/// The runtime with timings into `file` (None: off).
fn timed(rt: &Runtime, args: &[&str], file: Option<&Path>) -> Duration {
    let mut c = super::command(rt, args);
    c.stdout(Stdio::null());
    if let Some(f) = file {
        c.env("RUNR_PHASE_TIMINGS", f);
    }
    spawn(&mut c).unwrap_or_else(|e| fail(rt, &format!("{}: {e}", args.join(" "))))
}

/// Runs the phase section for runr and prints its table.
pub fn where_the_time_goes(runr: &Runtime, plain: &Bench, sec: &Bench, runs: usize) {
    let mut run = Column::new("run true", "run");
    let mut create = Column::new("create", "create");
    let mut start = Column::new("start", "start");
    let mut delete = Column::new("delete", "delete");
    let mut exec = Column::new("exec true", "exec");
    let mut sec_run = Column::new("seccomp+mem: run", "run");
    let mut off = Vec::new();
    let once = Bench::bundle_arg(&plain.once);
    let sec_once = Bench::bundle_arg(&sec.once);
    let pid_file = bench_dir().join("phases-pid");
    let sleeper = unique("bench-phases-exec");
    plain
        .create(runr, &plain.sleeper, &sleeper)
        .and_then(|_| super::cmd(runr, &["start", &sleeper]))
        .unwrap_or_else(|e| fail(runr, &e));
    for i in 0..runs {
        // Timings on and off in turn (which goes first alternates).
        for on in [i % 2 == 0, i % 2 == 1] {
            let id = unique("bench-phases");
            let file = on.then_some(run.file.as_path());
            let t = timed(runr, &["run", "--bundle", once, &id], file);
            if on {
                run.wall.push(t)
            } else {
                off.push(t)
            }
        }
        let id = unique("bench-phases");
        let _ = std::fs::remove_file(&pid_file);
        let pf = pid_file.to_str().unwrap();
        let args = ["create", "--bundle", once, "--pid-file", pf, &id];
        create.wall.push(timed(runr, &args, Some(&create.file)));
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| fail(runr, "no pid file after create"));
        let pidfd = PidFd::open(pid);
        start
            .wall
            .push(timed(runr, &["start", &id], Some(&start.file)));
        if let Some(fd) = pidfd {
            fd.wait();
        }
        delete
            .wall
            .push(timed(runr, &["delete", &id], Some(&delete.file)));
        exec.wall
            .push(timed(runr, &["exec", &sleeper, "true"], Some(&exec.file)));
        let id = unique("bench-phases");
        let t = timed(
            runr,
            &["run", "--bundle", sec_once, &id],
            Some(&sec_run.file),
        );
        sec_run.wall.push(t);
    }
    let _ = super::cmd(runr, &["delete", "--force", &sleeper]);
    let cols = [run, create, start, delete, exec, sec_run];
    print_table(&cols);
    println!(
        "timings on vs off (run true, alternating): {:.2} vs {:.2} ms",
        ms(median(&cols[0].wall)),
        ms(median(&off))
    );
}

/// Per column: each phase's durations (ms) over the runs, and the traced totals.
struct Phases {
    order: Vec<String>,
    by_name: BTreeMap<String, Vec<f64>>,
    totals: Vec<f64>,
}

fn read(col: &Column) -> Phases {
    let text = std::fs::read_to_string(&col.file).unwrap_or_default();
    let mut p = Phases {
        order: Vec::new(),
        by_name: BTreeMap::new(),
        totals: Vec::new(),
    };
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("a timings line is JSON");
        if v["command"] != col.command {
            continue;
        }
        p.totals
            .push(v["total_us"].as_f64().unwrap_or(f64::NAN) / 1000.0);
        let mut this: BTreeMap<String, f64> = BTreeMap::new();
        for ph in v["phases"].as_array().into_iter().flatten() {
            let name = ph[0].as_str().unwrap_or("?").to_string();
            if !p.order.contains(&name) {
                p.order.push(name.clone());
            }
            *this.entry(name).or_default() += ph[1].as_f64().unwrap_or(0.0) / 1000.0;
        }
        for (name, ms) in this {
            p.by_name.entry(name).or_default().push(ms);
        }
    }
    let _ = std::fs::remove_file(&col.file);
    p
}

fn median_f(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Rows: every phase (in the order the commands go through them), one column per command, the
/// median ms of that phase; then the medians of the traced total and of the wall time.
fn print_table(cols: &[Column]) {
    let phases: Vec<Phases> = cols.iter().map(read).collect();
    let mut order: Vec<String> = Vec::new();
    for p in &phases {
        for name in &p.order {
            if !order.contains(name) {
                order.push(name.clone());
            }
        }
    }
    let runs = phases.first().map(|p| p.totals.len()).unwrap_or(0);
    println!(
        "\nWhere the time goes: runr's phases (RUNR_PHASE_TIMINGS), median ms of {runs} runs; \
         a phase ends at the step that names it"
    );
    let width = order.iter().map(|n| n.len()).max().unwrap_or(10).max(30);
    let mut header = format!("| {:<width$} |", "phase");
    for c in cols {
        header += &format!(" {:>w$} |", c.label, w = c.label.len().max(7));
    }
    println!("{header}");
    let rule: Vec<String> = header[1..header.len() - 1]
        .split('|')
        .enumerate()
        .map(|(i, c)| {
            let dashes = "-".repeat(c.len() - 1);
            if i == 0 {
                format!(":{dashes}")
            } else {
                format!("{dashes}:")
            }
        })
        .collect();
    println!("|{}|", rule.join("|"));
    let row = |label: &str, values: Vec<f64>| {
        let mut line = format!("| {label:<width$} |");
        for (c, v) in cols.iter().zip(values) {
            let w = c.label.len().max(7);
            if v.is_nan() {
                line += &format!(" {:>w$} |", "");
            } else {
                line += &format!(" {v:>w$.2} |");
            }
        }
        println!("{line}");
    };
    for name in &order {
        let values = phases
            .iter()
            .map(|p| p.by_name.get(name).map(|v| median_f(v)).unwrap_or(f64::NAN))
            .collect();
        row(name, values);
    }
    row(
        "traced total (first main to exit)",
        phases.iter().map(|p| median_f(&p.totals)).collect(),
    );
    row(
        "wall, spawn to reap (benchmark)",
        cols.iter().map(|c| ms(median(&c.wall))).collect(),
    );
}
