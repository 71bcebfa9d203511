//! runc parity of the command line (issue #12, items 13, 19, 20, 21): flags after the container
//! id, every `update` flag, signal 0, help and version in runc's shape, and `--debug` logs.
//! Each scenario runs under runr and, when it is installed, under runc (1.1.5 here), and the
//! two are compared.

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tests_integration::{
    assert_no_leaks, delete_no_leaks, runtimes, scratch, unique, wait_for, Bundle, Runtime,
};

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The runtime's binary with exactly `args` (no --root added), stdin closed.
fn raw(rt: &Runtime, args: &[&str]) -> Output {
    Command::new(&rt.bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spawn runtime")
}

/// A cgroup v1 file of the container (this host is hybrid: the controllers are v1).
fn cg_v1(b: &Bundle, id: &str, ctrl: &str, file: &str) -> Option<String> {
    let m = cgroups::Manager::new(Some(&b.cgroup_path()), id, false).unwrap();
    let dir = m.v1_path(ctrl)?;
    std::fs::read_to_string(dir.join(file))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The update checks read cgroup v1 files (this project's host is hybrid); elsewhere they say
/// so and stop.
fn v1_controllers_or_skip(test: &str) -> bool {
    let v1 = ["memory", "cpu", "pids", "cpuset"].iter().all(|c| {
        std::path::Path::new("/sys/fs/cgroup")
            .join(c)
            .join("tasks")
            .exists()
    });
    if !v1 {
        eprintln!("SKIP {test}: needs cgroup v1 memory, cpu, pids and cpuset hierarchies");
    }
    v1
}

fn wait_status(rt: &Runtime, id: &str, status: &str) -> bool {
    wait_for(30, || {
        rt.exec(&["state", id]).status.success() && rt.state(id)["status"] == status
    })
}

/// Which runtimes are compared, said once so a runr-only run is visible.
fn compared() -> Vec<Runtime> {
    let all = runtimes();
    if all.len() < 2 {
        eprintln!("SKIP runc side of parity_cli: runc is not installed");
    }
    all
}

// ---------------------------------------------------------------------------------------------
// 19. Flags after the container id

#[test]
fn every_command_takes_its_flags_after_the_container_id() {
    if !v1_controllers_or_skip("every_command_takes_its_flags_after_the_container_id") {
        return;
    }
    let mut rows = Vec::new();
    for rt in compared() {
        let b = Bundle::new(&["sleep", "100"]);
        b.write();
        let id = unique("order");
        let dir = b.dir.to_str().unwrap();
        // create ID --bundle DIR (runr used to say `"create" requires exactly 1 argument(s)`).
        let pid_file = b.dir.join("pid");
        let pid_path = pid_file.to_str().unwrap();
        let o = rt.exec_detached(
            &["create", &id, "--bundle", dir, "--pid-file", pid_path],
            &b,
        );
        assert_eq!(
            code(&o),
            0,
            "{}: create ID --bundle: {}",
            rt.name,
            stderr(&o)
        );
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0);
        assert!(pid > 0, "{}: --pid-file after the id", rt.name);
        rt.ok(&["start", &id]);
        assert!(wait_status(&rt, &id, "running"), "{}", rt.name);
        // update ID --memory 50M: go-units sizes, after the id.
        let o = rt.exec(&["update", &id, "--memory", "50M", "--pids-limit", "40"]);
        assert_eq!(
            code(&o),
            0,
            "{}: update ID --memory: {}",
            rt.name,
            stderr(&o)
        );
        let mem = cg_v1(&b, &id, "memory", "memory.limit_in_bytes");
        let pids = cg_v1(&b, &id, "pids", "pids.max");
        // list --format json with the flag's value after `--format=`.
        let o = rt.exec(&["list", "--format=json"]);
        let listed: Value = serde_json::from_str(&stdout(&o)).expect("list json");
        assert!(
            listed
                .as_array()
                .is_some_and(|a| a.iter().any(|c| c["id"] == id.as_str())),
            "{}: {listed}",
            rt.name
        );
        // exec keeps what follows the id for the process: `-t` is echo's argument here.
        let o = rt.exec(&["exec", &id, "echo", "-t", "--env", "x"]);
        assert_eq!(code(&o), 0, "{}: {}", rt.name, stderr(&o));
        let echoed = stdout(&o);
        // ps too: `--format json` after the id goes to the host's ps, which refuses it.
        let ps = code(&rt.exec(&["ps", &id, "--format", "json"]));
        // events ID --stats: one stats event.
        let o = rt.exec(&["events", &id, "--stats"]);
        assert_eq!(
            code(&o),
            0,
            "{}: events ID --stats: {}",
            rt.name,
            stderr(&o)
        );
        let ev: Value = serde_json::from_str(stdout(&o).trim()).expect("one event");
        assert_eq!(ev["type"], "stats", "{}", rt.name);
        // pause ID / resume ID, then run ID --detach --bundle DIR for a second container.
        rt.ok(&["pause", &id]);
        rt.ok(&["resume", &id]);
        let b2 = Bundle::new(&["sleep", "100"]);
        b2.write();
        let id2 = unique("order2");
        let dir2 = b2.dir.to_str().unwrap();
        let o = rt.exec_detached(&["run", &id2, "--detach", "--bundle", dir2], &b2);
        assert_eq!(
            code(&o),
            0,
            "{}: run ID --detach --bundle: {}",
            rt.name,
            stderr(&o)
        );
        assert!(wait_status(&rt, &id2, "running"), "{}", rt.name);
        rt.ok(&["delete", &id2, "--force"]);
        assert_no_leaks(&rt, &id2, &b2);
        // kill ID --all KILL, then delete ID --force.
        let o = rt.exec(&["kill", &id, "KILL", "--all"]);
        assert_eq!(
            code(&o),
            0,
            "{}: kill ID SIG --all: {}",
            rt.name,
            stderr(&o)
        );
        assert!(wait_status(&rt, &id, "stopped"), "{}", rt.name);
        let o = rt.exec(&["delete", &id, "--force"]);
        assert_eq!(
            code(&o),
            0,
            "{}: delete ID --force: {}",
            rt.name,
            stderr(&o)
        );
        assert_no_leaks(&rt, &id, &b);
        // A missing container with --force after the id: quiet success.
        let o = rt.exec(&["delete", &unique("gone"), "-f"]);
        assert_eq!((code(&o), stderr(&o)), (0, String::new()), "{}", rt.name);
        // Unknown flags are not moved: they stay positional, as with runc.
        let o = rt.exec(&["state", &id, "--bogus"]);
        assert_eq!(code(&o), 1, "{}", rt.name);
        assert!(
            stderr(&o).contains("requires exactly 1 argument"),
            "{}",
            rt.name
        );
        rows.push((mem, pids, echoed, ps));
    }
    assert_eq!(rows[0].0.as_deref(), Some("52428800"), "runr --memory 50M");
    assert_eq!(rows[0].1.as_deref(), Some("40"), "runr --pids-limit 40");
    assert_eq!(rows[0].2, "-t --env x\n", "runr exec keeps trailing flags");
    assert_ne!(rows[0].3, 0, "runr ps passes trailing flags to ps");
    if rows.len() == 2 {
        assert_eq!(rows[0], rows[1], "runr and runc differ");
    }
}

#[test]
fn update_takes_every_runc_flag_with_runcs_semantics() {
    if !v1_controllers_or_skip("update_takes_every_runc_flag_with_runcs_semantics") {
        return;
    }
    let mut seen = Vec::new();
    for rt in compared() {
        let b = Bundle::new(&["sleep", "100"]);
        let id = unique("updall");
        rt.run_detached_ok(&b, &id, &[]);
        let mut row = Vec::new();
        let read = |ctrl: &str, file: &str| cg_v1(&b, &id, ctrl, file).unwrap_or_default();
        for (args, ctrl, file) in [
            // Real-time period and runtime (runtime 0: the parent grants no rt budget here).
            (
                vec!["--cpu-rt-period", "900000", "--cpu-rt-runtime", "0"],
                "cpu",
                "cpu.rt_period_us",
            ),
            (vec!["--cpu-rt-runtime", "0"], "cpu", "cpu.rt_runtime_us"),
            (vec!["--cpu-share", "300"], "cpu", "cpu.shares"),
            (vec!["--cpu-period", "80000"], "cpu", "cpu.cfs_period_us"),
            (vec!["--cpu-quota", "40000"], "cpu", "cpu.cfs_quota_us"),
            (vec!["--cpu-quota", "-1"], "cpu", "cpu.cfs_quota_us"),
            (vec!["--memory", "1.5g"], "memory", "memory.limit_in_bytes"),
            (
                vec!["--memory-reservation", "30M"],
                "memory",
                "memory.soft_limit_in_bytes",
            ),
            (vec!["--memory", "-1"], "memory", "memory.limit_in_bytes"),
            (vec!["--pids-limit", "-1"], "pids", "pids.max"),
            (vec!["--cpuset-cpus", "0"], "cpuset", "cpuset.cpus"),
            // Obsolete: parsed, then ignored with a warning.
            (
                vec!["--kernel-memory", "10M"],
                "memory",
                "memory.limit_in_bytes",
            ),
        ] {
            let mut a = vec!["update", id.as_str()];
            a.extend_from_slice(&args);
            let o = rt.exec(&a);
            row.push((args.join(" "), code(&o), read(ctrl, file)));
            if args[0] == "--kernel-memory" {
                assert!(
                    stderr(&o).contains("level=warning"),
                    "{}: kernel memory warns: {}",
                    rt.name,
                    stderr(&o)
                );
            }
        }
        // Swap (memory + swap, v1 memsw; empty where the kernel has no swap accounting),
        // then -1: unlimited swap.
        let memsw = "memory.memsw.limit_in_bytes";
        for args in [
            ["--memory", "64m", "--memory-swap", "128m"],
            ["--memory", "96m", "--memory-swap", "-1"],
        ] {
            let mut a = vec!["update", id.as_str()];
            a.extend_from_slice(&args);
            let o = rt.exec(&a);
            let mem = read("memory", "memory.limit_in_bytes");
            row.push((
                args.join(" "),
                code(&o),
                format!("{mem} {}", read("memory", memsw)),
            ));
        }
        // blkio weight: this kernel's blkio has neither blkio.weight nor blkio.bfq.weight, so
        // both runtimes must fail the same way.
        let o = rt.exec(&["update", &id, "--blkio-weight", "500"]);
        row.push(("--blkio-weight 500".into(), code(&o), String::new()));
        let bad = rt.exec(&["update", &id, "--kernel-memory", "lots"]);
        row.push(("--kernel-memory lots".into(), code(&bad), String::new()));
        assert_eq!(rt.state(&id)["status"], "running", "{}", rt.name);
        delete_no_leaks(&rt, &id, &b);
        seen.push(row);
    }
    let runr = &seen[0];
    let get = |k: &str| runr.iter().find(|r| r.0 == k).unwrap().clone();
    assert_eq!(get("--cpu-rt-period 900000 --cpu-rt-runtime 0").1, 0);
    assert_eq!(get("--cpu-rt-period 900000 --cpu-rt-runtime 0").2, "900000");
    assert_eq!(get("--cpu-share 300").2, "300");
    assert_eq!(get("--cpu-quota -1").2, "-1");
    assert_eq!(get("--memory 1.5g").2, "1610612736");
    assert_eq!(get("--memory-reservation 30M").2, (30u64 << 20).to_string());
    assert_eq!(get("--pids-limit -1").2, "max");
    assert_eq!(get("--kernel-memory 10M").1, 0);
    assert_eq!(get("--kernel-memory lots").1, 1);
    if std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
        let swap = get("--memory 64m --memory-swap 128m");
        assert_eq!((swap.1, swap.2), (0, format!("{} {}", 64 << 20, 128 << 20)));
        let unlimited = get("--memory 96m --memory-swap -1").2;
        assert!(
            unlimited.starts_with(&(96u64 << 20).to_string()),
            "{unlimited}"
        );
        assert!(unlimited.ends_with(" 9223372036854771712"), "{unlimited}");
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "runr and runc differ");
    }
}

// ---------------------------------------------------------------------------------------------
// 13. Signal 0

#[test]
fn kill_with_signal_zero_checks_the_container_like_runc() {
    let mut seen = Vec::new();
    for rt in compared() {
        let mut row = Vec::new();
        let sleeper = Bundle::new(&["sleep", "100"]);
        let id = unique("sig0");
        rt.create_ok(&sleeper, &id, &[]);
        for args in [vec!["kill", &id, "0"], vec!["kill", "-a", &id, "0"]] {
            let o = rt.exec(&args);
            row.push((args.join(" ").replace(&id, "ID"), code(&o)));
            assert_eq!(
                code(&o),
                0,
                "{} {args:?} (created): {}",
                rt.name,
                stderr(&o)
            );
        }
        // Signal 0 sends nothing: the container is still waiting for start.
        assert_eq!(rt.state(&id)["status"], "created", "{}", rt.name);
        rt.ok(&["start", &id]);
        assert!(wait_status(&rt, &id, "running"), "{}", rt.name);
        for args in [vec!["kill", &id, "0"], vec!["kill", "--all", &id, "0"]] {
            let o = rt.exec(&args);
            row.push((args.join(" ").replace(&id, "ID"), code(&o)));
        }
        assert_eq!(rt.state(&id)["status"], "running", "{}", rt.name);
        delete_no_leaks(&rt, &id, &sleeper);

        // Stopped (run --keep): the init is gone. Plain signal 0 says so ("container not
        // running", exit 1); --all finds no process in the cgroup and succeeds.
        let done = Bundle::new(&["true"]);
        done.write();
        let id = unique("sig0stop");
        let o = rt.exec(&["run", "--keep", "-b", done.dir.to_str().unwrap(), &id]);
        assert_eq!(code(&o), 0, "{}: {}", rt.name, stderr(&o));
        for args in [
            vec!["kill", &id, "0"],
            vec!["kill", "-a", &id, "0"],
            vec!["kill", "--all", &id, "KILL"],
        ] {
            let o = rt.exec(&args);
            row.push((args.join(" ").replace(&id, "ID"), code(&o)));
            if args[1] == id {
                assert!(
                    stderr(&o).contains("container not running"),
                    "{}: {}",
                    rt.name,
                    stderr(&o)
                );
            }
        }
        rt.ok(&["delete", &id]);
        assert_no_leaks(&rt, &id, &done);
        // A missing container: "container does not exist", exit 1.
        let o = rt.exec(&["kill", &unique("nosuch"), "0"]);
        assert!(
            stderr(&o).contains("container does not exist"),
            "{}",
            rt.name
        );
        row.push(("kill missing 0".into(), code(&o)));
        seen.push(row);
    }
    let codes: Vec<i32> = seen[0].iter().map(|r| r.1).collect();
    assert_eq!(codes, [0, 0, 0, 0, 1, 0, 0, 1], "runr: {:?}", seen[0]);
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "runr and runc differ");
    }
}

// ---------------------------------------------------------------------------------------------
// 20. Help and version

/// The headers (`NAME:`, `USAGE:`, `OPTIONS:`, …) a help text has, among the main ones.
fn sections(help: &str) -> Vec<&str> {
    help.lines()
        .filter(|l| {
            matches!(
                *l,
                "NAME:" | "USAGE:" | "OPTIONS:" | "COMMANDS:" | "GLOBAL OPTIONS:" | "VERSION:"
            )
        })
        .collect()
}

/// The flag names listed after `header` (`--bundle`, `-b`, …).
fn flag_names(help: &str, header: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut inside = false;
    for line in help.lines() {
        let is_header = line.ends_with(':')
            && line
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == ' ' || c == ':');
        if is_header {
            inside = line == header;
            continue;
        }
        let t = line.trim_start();
        if inside && line.starts_with("   -") {
            let left = t.split("  ").next().unwrap_or_default();
            for spelling in left.split(", ") {
                out.insert(spelling.split(' ').next().unwrap_or_default().to_string());
            }
        }
    }
    out
}

/// The command names of the application help.
fn command_names(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut inside = false;
    for line in help.lines() {
        if !line.starts_with(' ') {
            inside = line == "COMMANDS:";
            continue;
        }
        if inside {
            let left = line.trim_start().split("  ").next().unwrap_or_default();
            out.extend(left.split(", ").map(str::to_string));
        }
    }
    out
}

const COMMANDS: &[&str] = &[
    "create", "delete", "events", "exec", "kill", "list", "pause", "ps", "resume", "run", "spec",
    "start", "state", "update", "features",
];

#[test]
fn help_has_runcs_shape_for_the_app_and_every_command() {
    let mut apps = Vec::new();
    let mut per_command = Vec::new();
    for rt in compared() {
        for args in [&["-h"][..], &["--help"], &["help"], &[]] {
            let o = raw(&rt, args);
            assert_eq!(code(&o), 0, "{} {args:?}", rt.name);
            assert_eq!(
                sections(&stdout(&o)),
                [
                    "NAME:",
                    "USAGE:",
                    "VERSION:",
                    "COMMANDS:",
                    "GLOBAL OPTIONS:"
                ],
                "{} {args:?}",
                rt.name
            );
        }
        let app = stdout(&raw(&rt, &["-h"]));
        assert!(
            app.starts_with(&format!("NAME:\n   {} - ", rt.name)),
            "{}",
            rt.name
        );
        let mut commands = command_names(&app);
        // runr has no CRIU (checkpoint/restore); it has `version`, which runc 1.1.5 lacks.
        for c in ["checkpoint", "restore", "version"] {
            commands.remove(c);
        }
        apps.push((commands, flag_names(&app, "GLOBAL OPTIONS:")));

        let mut row = Vec::new();
        for cmd in COMMANDS {
            let forms: [&[&str]; 4] = [
                &[cmd, "-h"],
                &[cmd, "--help"],
                &["help", cmd],
                &[cmd, "x", "-h"],
            ];
            let mut texts = Vec::new();
            // `ps` and `exec` keep what follows the id, `-h` included (runc: SkipArgReorder).
            let keeps_trailing = matches!(*cmd, "ps" | "exec");
            for args in forms.iter().take(if keeps_trailing { 3 } else { 4 }) {
                let o = raw(&rt, args);
                assert_eq!(code(&o), 0, "{} {args:?}: {}", rt.name, stderr(&o));
                texts.push(stdout(&o));
            }
            assert!(texts.iter().all(|t| t == &texts[0]), "{} {cmd}", rt.name);
            let help = &texts[0];
            assert!(
                help.starts_with(&format!("NAME:\n   {} {cmd} - ", rt.name)),
                "{} {cmd}: {help}",
                rt.name
            );
            let mut names = flag_names(help, "OPTIONS:");
            // --console-size is runr's own (runc sets the size only from --process's consoleSize).
            if *cmd == "exec" {
                names.remove("--console-size");
            }
            // --pidfd-socket is runc 1.2+'s (spec13.rs tests it); 1.1.5 predates it.
            if rt.name == "runr" && matches!(*cmd, "create" | "run" | "exec") {
                names.remove("--pidfd-socket");
            }
            // So are update's --cpu-burst and --cpu-idle.
            if rt.name == "runr" && *cmd == "update" {
                names.remove("--cpu-burst");
                names.remove("--cpu-idle");
            }
            let heads: Vec<String> = sections(help).iter().map(|h| h.to_string()).collect();
            row.push((cmd.to_string(), heads, names));
        }
        per_command.push(row);

        // Unknown commands have no help: exit 3, as a command and as a help topic.
        for args in [&["frobnicate", "-h"][..], &["help", "frobnicate"]] {
            let o = raw(&rt, args);
            assert_eq!(code(&o), 3, "{} {args:?}", rt.name);
            assert!(
                stderr(&o).contains("No help topic for 'frobnicate'"),
                "{}",
                rt.name
            );
        }
        // A usage mistake shows the command's help after "Incorrect Usage".
        let o = rt.exec(&["create"]);
        assert_eq!(code(&o), 1, "{}", rt.name);
        assert!(
            stdout(&o).starts_with(&format!(
                "Incorrect Usage.\n\nNAME:\n   {} create - ",
                rt.name
            )),
            "{}: {}",
            rt.name,
            stdout(&o)
        );
    }
    let runr = &per_command[0];
    let create = runr.iter().find(|r| r.0 == "create").unwrap();
    assert!(create.2.contains("--bundle") && create.2.contains("-b"));
    if apps.len() == 2 {
        assert_eq!(
            apps[0], apps[1],
            "commands and global flags differ from runc's"
        );
        for (r, c) in per_command[0].iter().zip(&per_command[1]) {
            assert_eq!(r, c, "help of {} differs from runc's", r.0);
        }
    }
}

#[test]
fn version_has_runcs_lines_with_the_libseccomp_version() {
    let mut seccomp = Vec::new();
    for rt in compared() {
        let o = raw(&rt, &["--version"]);
        assert_eq!(code(&o), 0, "{}", rt.name);
        let text = stdout(&o);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(&format!("{} version ", rt.name)),
            "{text}"
        );
        assert!(lines[1].starts_with("commit: "), "{text}");
        assert!(lines[2].starts_with("spec: "), "{text}");
        let lib = lines.iter().find_map(|l| l.strip_prefix("libseccomp: "));
        let lib = lib.unwrap_or_else(|| panic!("{}: no libseccomp line: {text}", rt.name));
        assert_eq!(lib.split('.').count(), 3, "{}: x.y.z: {lib}", rt.name);
        seccomp.push(lib.to_string());
        assert_eq!(stdout(&raw(&rt, &["-v"])), text, "{}: -v", rt.name);
        // `runr version`, the same text. runc 1.1.5 has no such command (exit 3, "No help
        // topic for 'version'").
        let o = raw(&rt, &["version"]);
        if rt.name == "runr" {
            assert_eq!((code(&o), stdout(&o)), (0, text.clone()));
        } else {
            assert_eq!(code(&o), 3, "runc 1.1.5 has no version command");
        }
    }
    seccomp.dedup();
    assert_eq!(
        seccomp.len(),
        1,
        "runr and runc link different libseccomp: {seccomp:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 21. --debug

/// The debug lines of a logrus text log.
fn text_debug_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(" level=debug "))
        .collect()
}

fn assert_logrus_text(rt: &Runtime, line: &str) {
    assert!(
        line.starts_with("time=\"") && line.contains("\" level=debug msg=\""),
        "{}: not a logrus text line: {line}",
        rt.name
    );
}

#[test]
fn debug_logs_the_steps_of_create_run_and_exec_to_stderr_or_the_log_file() {
    let mut runr_msgs = Vec::new();
    for rt in compared() {
        let root = rt.root.to_str().unwrap().to_string();
        // run in the foreground, text on stderr.
        let b = Bundle::new(&["true"]);
        b.write();
        let id = unique("dbg");
        let dir = b.dir.to_str().unwrap();
        let o = raw(&rt, &["--debug", "--root", &root, "run", "-b", dir, &id]);
        assert_eq!(code(&o), 0, "{}: {}", rt.name, stderr(&o));
        let err = stderr(&o);
        let lines = text_debug_lines(&err);
        assert!(!lines.is_empty(), "{}: no debug line: {err}", rt.name);
        lines.iter().for_each(|l| assert_logrus_text(&rt, l));
        // Without --debug, none.
        let id2 = unique("nodbg");
        let o = raw(&rt, &["--root", &root, "run", "-b", dir, &id2]);
        assert!(text_debug_lines(&stderr(&o)).is_empty(), "{}", rt.name);
        assert_no_leaks(&rt, &id, &b);

        // exec into a running container, JSON into --log FILE: nothing on stderr.
        let s = Bundle::new(&["sleep", "100"]);
        let id = unique("dbgx");
        rt.run_detached_ok(&s, &id, &[]);
        let log = scratch().join(unique("debug-log"));
        let log_s = log.to_str().unwrap();
        let args = [
            "--debug",
            "--log",
            log_s,
            "--log-format",
            "json",
            "--root",
            &root,
            "exec",
            &id,
            "true",
        ];
        let o = raw(&rt, &args);
        assert_eq!(code(&o), 0, "{}: {}", rt.name, stderr(&o));
        assert!(
            text_debug_lines(&stderr(&o)).is_empty(),
            "{}: {}",
            rt.name,
            stderr(&o)
        );
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let entries: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("{}: {l}", rt.name)))
            .collect();
        let debug: Vec<&Value> = entries.iter().filter(|e| e["level"] == "debug").collect();
        assert!(!debug.is_empty(), "{}: no debug entry: {text}", rt.name);
        for e in &debug {
            assert!(
                e["msg"].is_string() && e["time"].is_string(),
                "{}: {e}",
                rt.name
            );
        }
        if rt.name == "runr" {
            runr_msgs.extend(text_debug_lines(&err).iter().map(|l| l.to_string()));
            runr_msgs.extend(debug.iter().map(|e| e["msg"].as_str().unwrap().to_string()));
        }
        let _ = std::fs::remove_file(&log);
        delete_no_leaks(&rt, &id, &s);

        // create, logrus text into --log FILE.
        let c = Bundle::new(&["true"]);
        c.write();
        let id = unique("dbgc");
        let log = scratch().join(unique("debug-log"));
        let log_s = log.to_str().unwrap();
        let dir = c.dir.to_str().unwrap();
        let args = [
            "--debug",
            "--log",
            log_s,
            "--log-format",
            "text",
            "create",
            "-b",
            dir,
            &id,
        ];
        let o = rt.exec_detached(&args, &c);
        assert_eq!(code(&o), 0, "{}: {}", rt.name, stderr(&o));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines = text_debug_lines(&text);
        assert!(
            !lines.is_empty(),
            "{}: no debug line in the file: {text}",
            rt.name
        );
        lines.iter().for_each(|l| assert_logrus_text(&rt, l));
        if rt.name == "runr" {
            runr_msgs.extend(lines.iter().map(|l| l.to_string()));
        }
        let _ = std::fs::remove_file(&log);
        delete_no_leaks(&rt, &id, &c);
    }
    // runr's steps (runc logs its own: nsexec stages, "child process in init()", …).
    let all = runr_msgs.join("\n");
    for step in [
        "msg=\"runr run\"",
        "msg=\"runr create\"",
        "config loaded",
        "init cloned",
        "init ready",
        "container created",
        "init told to start",
        "process exited",
        "exec process running",
    ] {
        assert!(all.contains(step), "runr's debug log lacks {step:?}: {all}");
    }
    assert!(
        all.lines()
            .any(|l| l.contains("msg=\"process exited\"") && l.contains(" status=0")),
        "{all}"
    );
}
