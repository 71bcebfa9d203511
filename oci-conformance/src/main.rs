//! `oci-conformance`: an OCI runtime-spec conformance suite that scores any runc-compatible
//! runtime binary (runr, runc, crun).
//!
//! ```text
//! oci-conformance --runtime /path/to/binary [--runtime NAME=/other ...] [--compare-with /usr/sbin/runc]
//!                 [--filter AREA] [--json out.json] [--markdown] [--jobs N] [--list]
//! ```
//!
//! Every case builds its own bundle (busybox-static rootfs plus `probe`, a static C checker
//! compiled at start with `gcc -static -O2`), runs it under the runtime with a private `--root`,
//! and checks what the container sees (via the probe) and what the host sees (state JSON, exit
//! codes, hook logs, cgroup files, leftovers). A case is skipped only when the host lacks the
//! feature; the reason is printed.
//!
//! Exit status: 0 when no case failed; 1 when a case failed. With `--compare-with REF`, the
//! reference runtime is scored too and the exit status is 1 only when the first runtime fails a
//! case that REF passes (a regression against the reference); 2 on usage or setup errors.

mod cases;
mod harness;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use harness::{Ctx, Host, Runtime, Why};
use serde_json::json;

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Pass,
    Fail(String),
    Skip(String),
}

struct Scored {
    name: String,
    bin: PathBuf,
    results: Vec<Status>,
    secs: f64,
}

struct Opts {
    runtimes: Vec<(String, PathBuf)>,
    compare: bool,
    filter: Option<String>,
    json: Option<PathBuf>,
    markdown: bool,
    jobs: usize,
    list: bool,
}

const USAGE: &str = "usage: oci-conformance --runtime [NAME=]/path/to/binary [--runtime ...] \
[--compare-with [NAME=]/path] [--filter AREA] [--json out.json] [--markdown] [--jobs N] [--list]";

fn parse_runtime(arg: &str) -> (String, PathBuf) {
    match arg.split_once('=') {
        Some((n, p)) => (n.to_string(), PathBuf::from(p)),
        None => {
            let p = PathBuf::from(arg);
            let n = p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| arg.to_string());
            (n, p)
        }
    }
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        runtimes: vec![],
        compare: false,
        filter: None,
        json: None,
        markdown: false,
        jobs: 4,
        list: false,
    };
    let mut args = std::env::args().skip(1);
    let mut compare_with = None;
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--runtime" => o.runtimes.push(parse_runtime(&val("--runtime")?)),
            "--compare-with" => compare_with = Some(parse_runtime(&val("--compare-with")?)),
            "--filter" => o.filter = Some(val("--filter")?),
            "--json" => o.json = Some(PathBuf::from(val("--json")?)),
            "--jobs" => o.jobs = val("--jobs")?.parse().map_err(|_| "bad --jobs")?,
            "--markdown" => o.markdown = true,
            "--list" => o.list = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if let Some(c) = compare_with {
        if o.runtimes.is_empty() {
            return Err("--compare-with needs a --runtime to compare".into());
        }
        o.compare = true;
        o.runtimes.push(c);
    }
    if o.runtimes.is_empty() && !o.list {
        return Err(USAGE.to_string());
    }
    for (n, p) in &mut o.runtimes {
        if !p.is_file() {
            return Err(format!("runtime {n}: {} is not a file", p.display()));
        }
        // Commands run in bundle directories: the binary path must not be relative.
        *p = std::fs::canonicalize(&*p).map_err(|e| format!("runtime {n}: {e}"))?;
        let v = std::process::Command::new(&*p).arg("--version").output();
        if !v.is_ok_and(|o| o.status.success()) {
            return Err(format!("runtime {n}: `{} --version` fails", p.display()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (n, _) in &mut o.runtimes {
        while !seen.insert(n.clone()) {
            n.push('\'');
        }
    }
    o.jobs = o.jobs.max(1);
    Ok(o)
}

fn selected(c: &cases::Case, filter: &Option<String>) -> bool {
    let Some(f) = filter else { return true };
    c.area == f
        || c.area.starts_with(&format!("{f}/"))
        || format!("{}/{}", c.area, c.name).contains(f.as_str())
}

fn score(
    name: &str,
    bin: &std::path::Path,
    cases: &[cases::Case],
    probe: &std::path::Path,
    jobs: usize,
) -> Scored {
    let start = Instant::now();
    let ctx = Ctx {
        rt: Runtime::new(name, bin),
        probe: probe.to_path_buf(),
        host: Host::probe(),
        scratch: harness::scratch(),
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Status>>> = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.f)(&ctx)));
                let st = match r {
                    Ok(Ok(())) => Status::Pass,
                    Ok(Err(Why::Fail(m))) => Status::Fail(m),
                    Ok(Err(Why::Skip(m))) => Status::Skip(m),
                    Err(p) => Status::Fail(format!(
                        "panicked: {}",
                        p.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default()
                    )),
                };
                results.lock().unwrap()[i] = Some(st);
            });
        }
    });
    drop(ctx);
    cases::cleanup_cgroups();
    Scored {
        name: name.to_string(),
        bin: bin.to_path_buf(),
        results: results
            .into_inner()
            .unwrap()
            .into_iter()
            .map(|r| r.unwrap_or(Status::Fail("not run".into())))
            .collect(),
        secs: start.elapsed().as_secs_f64(),
    }
}

fn areas(cases: &[cases::Case]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = vec![];
    for c in cases {
        if !v.contains(&c.area) {
            v.push(c.area);
        }
    }
    v
}

fn counts(s: &Scored, cases: &[cases::Case], area: Option<&str>) -> (usize, usize, usize) {
    let mut n = (0, 0, 0);
    for (c, r) in cases.iter().zip(&s.results) {
        if area.is_some_and(|a| a != c.area) {
            continue;
        }
        match r {
            Status::Pass => n.0 += 1,
            Status::Fail(_) => n.1 += 1,
            Status::Skip(_) => n.2 += 1,
        }
    }
    n
}

fn total_line(s: &Scored, cases: &[cases::Case]) -> String {
    let (p, f, k) = counts(s, cases, None);
    format!("{p} passed, {f} failed, {k} skipped")
}

fn print_single(s: &Scored, cases: &[cases::Case]) {
    println!(
        "oci-conformance: {} ({}), {} cases in {:.0}s",
        s.name,
        s.bin.display(),
        cases.len(),
        s.secs
    );
    println!(
        "{:<20} {:>6} {:>6} {:>7}",
        "area", "passed", "failed", "skipped"
    );
    for a in areas(cases) {
        let (p, f, k) = counts(s, cases, Some(a));
        println!("{a:<20} {p:>6} {f:>6} {k:>7}");
    }
    for (c, r) in cases.iter().zip(&s.results) {
        match r {
            Status::Fail(m) => println!("FAIL {}/{}: {m}", c.area, c.name),
            Status::Skip(m) => println!("SKIP {}/{}: {m}", c.area, c.name),
            Status::Pass => {}
        }
    }
    println!("{}", total_line(s, cases));
}

fn print_side_by_side(all: &[Scored], cases: &[cases::Case], markdown: bool) {
    let cell = |s: &Scored, a: Option<&str>| {
        let (p, f, k) = counts(s, cases, a);
        format!("{p}/{f}/{k}")
    };
    if markdown {
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        println!(
            "| area (passed/failed/skipped) | cases | {} |",
            names.join(" | ")
        );
        println!("|---|---:|{}", "---:|".repeat(all.len()));
        for a in areas(cases) {
            let n = cases.iter().filter(|c| c.area == a).count();
            let cells: Vec<String> = all.iter().map(|s| cell(s, Some(a))).collect();
            println!("| {a} | {n} | {} |", cells.join(" | "));
        }
        let cells: Vec<String> = all
            .iter()
            .map(|s| format!("**{}**", cell(s, None)))
            .collect();
        println!("| **total** | {} | {} |", cases.len(), cells.join(" | "));
        println!();
        for s in all {
            println!("- {}: {}", s.name, total_line(s, cases));
        }
        println!();
        println!("| case | {} |", names.join(" | "));
        println!("|---|{}", "---|".repeat(all.len()));
        for (i, c) in cases.iter().enumerate() {
            let rs: Vec<&Status> = all.iter().map(|s| &s.results[i]).collect();
            if rs.iter().all(|r| **r == Status::Pass) {
                continue;
            }
            let cells: Vec<String> = rs
                .iter()
                .map(|r| match r {
                    Status::Pass => "pass".to_string(),
                    Status::Fail(m) => format!("FAIL: {}", short(m)),
                    Status::Skip(m) => format!("skip: {}", short(m)),
                })
                .collect();
            println!("| {}/{} | {} |", c.area, c.name, cells.join(" | "));
        }
        return;
    }
    print!("{:<20}", "area (p/f/s)");
    for s in all {
        print!(" {:>12}", s.name);
    }
    println!();
    for a in areas(cases) {
        print!("{a:<20}");
        for s in all {
            print!(" {:>12}", cell(s, Some(a)));
        }
        println!();
    }
    for s in all {
        println!("{}: {} ({:.0}s)", s.name, total_line(s, cases), s.secs);
    }
}

fn short(m: &str) -> String {
    let m = m.replace('|', "/").replace('\n', " ");
    if m.chars().count() > 110 {
        format!("{}…", m.chars().take(110).collect::<String>())
    } else {
        m
    }
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let all: Vec<cases::Case> = cases::all()
        .into_iter()
        .filter(|c| selected(c, &opts.filter))
        .collect();
    if opts.list {
        for c in &all {
            println!("{}/{}", c.area, c.name);
        }
        println!("{} cases", all.len());
        return ExitCode::SUCCESS;
    }
    if all.is_empty() {
        eprintln!("no case matches the filter");
        return ExitCode::from(2);
    }
    let workdir = harness::scratch().join(harness::unique("probe"));
    let _ = std::fs::create_dir_all(&workdir);
    let probe = match harness::build_probe(&workdir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("oci-conformance: building the probe: {e}");
            return ExitCode::from(2);
        }
    };
    if !std::path::Path::new("/bin/busybox").exists() {
        eprintln!("oci-conformance: /bin/busybox missing (install busybox-static)");
        return ExitCode::from(2);
    }
    let mut scored = vec![];
    for (name, bin) in &opts.runtimes {
        let s = score(name, bin, &all, &probe, opts.jobs);
        if opts.runtimes.len() == 1 || !opts.markdown {
            print_single(&s, &all);
            println!();
        }
        scored.push(s);
    }
    let _ = std::fs::remove_dir_all(&workdir);
    if scored.len() > 1 {
        print_side_by_side(&scored, &all, opts.markdown);
    }
    if let Some(path) = &opts.json {
        let doc = json!({
            "cases": all.len(),
            "runtimes": scored.iter().map(|s| json!({
                "name": s.name,
                "binary": s.bin,
                "seconds": s.secs,
                "total": total_line(s, &all),
                "results": all.iter().zip(&s.results).map(|(c, r)| {
                    let (status, reason) = match r {
                        Status::Pass => ("pass", ""),
                        Status::Fail(m) => ("fail", m.as_str()),
                        Status::Skip(m) => ("skip", m.as_str()),
                    };
                    json!({"area": c.area, "case": c.name, "status": status, "reason": reason})
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()) {
            eprintln!("writing {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if opts.compare {
        let (subject, reference) = (&scored[0], &scored[scored.len() - 1]);
        let regressions: Vec<String> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                matches!(subject.results[*i], Status::Fail(_))
                    && reference.results[*i] == Status::Pass
            })
            .map(|(i, c)| {
                let Status::Fail(m) = &subject.results[i] else {
                    unreachable!()
                };
                format!("{}/{}: {m}", c.area, c.name)
            })
            .collect();
        if regressions.is_empty() {
            println!(
                "compare: {} fails no case that {} passes",
                subject.name, reference.name
            );
            return ExitCode::SUCCESS;
        }
        println!(
            "compare: {} fails {} case(s) that {} passes:",
            subject.name,
            regressions.len(),
            reference.name
        );
        for r in regressions {
            println!("  {r}");
        }
        return ExitCode::FAILURE;
    }
    if scored
        .iter()
        .any(|s| s.results.iter().any(|r| matches!(r, Status::Fail(_))))
    {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
