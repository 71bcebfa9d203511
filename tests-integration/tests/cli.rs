//! The runc command-line contract (shared/docs/runc-cli.md): global flags and their spellings,
//! each subcommand's flags, output shapes and exit codes. Every scenario runs under runr and,
//! when it is installed, under runc, and the two are compared.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tests_integration::{
    assert_no_leaks, delete_no_leaks, processes_mentioning, runtimes, scratch, unique, wait_for,
    Bundle, Runtime,
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
fn raw(rt: &Runtime, args: &[&str]) -> Command {
    let mut c = Command::new(&rt.bin);
    c.args(args).stdin(Stdio::null());
    c
}

/// Runs `c` with stdout/stderr in files (for commands whose children outlive them).
fn detached(mut c: Command, dir: &Path) -> Output {
    let out_path = dir.join(unique("out"));
    let err_path = dir.join(unique("err"));
    let status = c
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .status()
        .expect("spawn runtime");
    let o = Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    let _ = std::fs::remove_file(out_path);
    let _ = std::fs::remove_file(err_path);
    o
}

fn wait_running(rt: &Runtime, id: &str) -> bool {
    wait_for(30, || {
        rt.exec(&["state", id]).status.success() && rt.state(id)["status"] == "running"
    })
}

/// One logrus text line on stderr: `time="…" level=error msg="…"`.
fn assert_text_error(rt: &Runtime, err: &str, msg: &str) {
    let line = err
        .lines()
        .find(|l| l.contains("level=error"))
        .unwrap_or_else(|| panic!("{}: no error line in {err:?}", rt.name));
    assert!(line.starts_with("time=\""), "{}: {line}", rt.name);
    assert!(
        line.contains(&format!("level=error msg=\"{msg}")),
        "{}: wanted msg {msg:?} in {line}",
        rt.name
    );
}

/// No part of an error message is said twice ("X: X").
fn assert_not_repeated(msg: &str) {
    let parts: Vec<&str> = msg.split(": ").filter(|p| p.len() >= 12).collect();
    for (i, p) in parts.iter().enumerate() {
        assert!(!parts[i + 1..].contains(p), "{p:?} repeated in {msg}");
    }
}

#[test]
fn version_prints_name_commit_and_spec_lines() {
    let mut specs = Vec::new();
    for rt in runtimes() {
        for flag in ["-v", "--version"] {
            let o = raw(&rt, &[flag]).output().unwrap();
            assert_eq!(code(&o), 0, "{} {flag}", rt.name);
            let text = stdout(&o);
            let lines: Vec<&str> = text.lines().collect();
            assert!(
                lines[0].starts_with(&format!("{} version ", rt.name)),
                "{text}"
            );
            assert!(lines[1].starts_with("commit: "), "{text}");
            assert!(lines[2].starts_with("spec: "), "{text}");
            specs.push(lines[2].to_string());
        }
    }
    // runr reports runtime-spec 1.3.0, as runc 1.5 does; runc 1.1.5 reports 1.0.2-dev.
    let allowed = ["spec: 1.3.0", "spec: 1.0.2-dev"];
    assert!(
        specs.iter().all(|s| allowed.contains(&s.as_str())),
        "{specs:?}"
    );
    assert_eq!(specs[0], "spec: 1.3.0");
}

#[test]
fn help_succeeds_in_every_form() {
    for rt in runtimes() {
        for args in [
            &[][..],
            &["--help"],
            &["-h"],
            &["help"],
            &["help", "state"],
            &["state", "--help"],
            &["kill", "-h"],
        ] {
            let o = rt.exec(args);
            assert_eq!(code(&o), 0, "{} {args:?}: {}", rt.name, stderr(&o));
            assert!(stdout(&o).contains("USAGE"), "{} {args:?}", rt.name);
        }
    }
}

#[test]
fn unknown_subcommand_exits_3() {
    for rt in runtimes() {
        let o = rt.exec(&["frobnicate"]);
        assert_eq!(code(&o), 3, "{}", rt.name);
        assert_text_error(&rt, &stderr(&o), "No help topic for 'frobnicate'");
    }
}

#[test]
fn usage_errors_exit_1() {
    let cases: &[&[&str]] = &[
        &["state", "--bogus", "x"],
        &["state"],
        &["start"],
        &["kill"],
        &["kill", "a", "b", "c"],
        &["delete"],
        &["create"],
        &["run"],
        &["list", "--format"],
    ];
    for rt in runtimes() {
        for args in cases {
            let o = rt.exec(args);
            assert_eq!(code(&o), 1, "{} {args:?}: {}", rt.name, stderr(&o));
            assert!(stderr(&o).contains("level=error"), "{} {args:?}", rt.name);
        }
        let o = rt.exec(&["state", "--bogus", "x"]);
        assert_text_error(&rt, &stderr(&o), "flag provided but not defined: -bogus");
        let o = raw(&rt, &["--bogus", "list"]).output().unwrap();
        assert_eq!(code(&o), 1, "{}: unknown global flag", rt.name);
    }
}

#[test]
fn missing_container_is_an_error_except_for_delete_force() {
    for rt in runtimes() {
        let id = unique("missing");
        for cmd in ["state", "kill", "delete", "start"] {
            let o = rt.exec(&[cmd, &id]);
            assert_eq!(code(&o), 1, "{} {cmd}", rt.name);
            assert!(o.stdout.is_empty(), "{} {cmd}", rt.name);
            assert_text_error(&rt, &stderr(&o), "container does not exist");
        }
        let o = rt.exec(&["delete", "--force", &id]);
        assert_eq!(code(&o), 0, "{}", rt.name);
        assert!(
            o.stdout.is_empty() && o.stderr.is_empty(),
            "{}: delete -f of a missing id is quiet: {}",
            rt.name,
            stderr(&o)
        );
    }
}

#[test]
fn invalid_ids_are_refused() {
    for rt in runtimes() {
        let b = Bundle::new(&["true"]);
        for id in ["bad/id", "..", "a b"] {
            let o = rt.create(&b, id, &[]);
            assert_eq!(code(&o), 1, "{} create {id:?}", rt.name);
            assert!(
                stderr(&o).contains("invalid"),
                "{}: {}",
                rt.name,
                stderr(&o)
            );
        }
        let left: Vec<_> = std::fs::read_dir(&rt.root)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{}: state left: {left:?}", rt.name);
    }
}

#[test]
fn duplicate_id_fails_and_keeps_the_first() {
    for rt in runtimes() {
        let id = unique("dup");
        let b = Bundle::new(&["sleep", "100"]);
        rt.create_ok(&b, &id, &[]);
        let pid = rt.state(&id)["pid"].clone();
        let o = rt.create(&b, &id, &[]);
        assert_eq!(code(&o), 1, "{}", rt.name);
        assert!(stderr(&o).contains("exists"), "{}: {}", rt.name, stderr(&o));
        let st = rt.state(&id);
        assert_eq!(st["status"], "created", "{}", rt.name);
        assert_eq!(
            st["pid"], pid,
            "{}: the first container is untouched",
            rt.name
        );
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn global_flag_spellings_and_relative_root() {
    for rt in runtimes() {
        let b = Bundle::new(&["true"]);
        b.write();
        let bundle = b.dir.to_str().unwrap();
        let root = rt.root.to_str().unwrap();
        let root_eq = format!("--root={root}");
        let spellings: Vec<Vec<&str>> = vec![
            vec!["--root", root],
            vec![&root_eq],
            vec!["-root", root],
            vec!["--debug", "--root", root],
        ];
        for pre in spellings {
            let id = unique("flags");
            let mut args = pre.clone();
            args.extend(["run", "--bundle", bundle, &id]);
            let o = raw(&rt, &args).output().unwrap();
            assert_eq!(code(&o), 0, "{} {args:?}: {}", rt.name, stderr(&o));
            assert_no_leaks(&rt, &id, &b);
        }
        // Subcommand flag spellings.
        let b_eq = format!("--bundle={bundle}");
        let b_single_eq = format!("-b={bundle}");
        let forms: Vec<Vec<&str>> = vec![
            vec!["-b", bundle],
            vec![&b_eq],
            vec!["-bundle", bundle],
            vec![&b_single_eq],
        ];
        for form in forms {
            let id = unique("bflag");
            let mut args = vec!["run"];
            args.extend(form.iter().copied());
            args.push(&id);
            let o = rt.exec(&args);
            assert_eq!(code(&o), 0, "{} {args:?}: {}", rt.name, stderr(&o));
        }

        // A relative --root is resolved against the caller's cwd.
        let cwd = scratch().join(unique("cwd"));
        std::fs::create_dir_all(&cwd).unwrap();
        let id = unique("relroot");
        let sleeper = Bundle::new(&["sleep", "100"]);
        sleeper.write();
        let sleeper_dir = sleeper.dir.to_str().unwrap();
        let mut c = raw(
            &rt,
            &["--root", "rel-root", "run", "-d", "-b", sleeper_dir, &id],
        );
        c.current_dir(&cwd);
        let o = detached(c, &cwd);
        assert_eq!(code(&o), 0, "{}: {}", rt.name, stderr(&o));
        assert!(
            cwd.join("rel-root").join(&id).is_dir(),
            "{}: state under <cwd>/rel-root",
            rt.name
        );
        let abs = cwd.join("rel-root");
        let list = raw(&rt, &["--root", abs.to_str().unwrap(), "list", "-q"])
            .output()
            .unwrap();
        assert_eq!(stdout(&list), format!("{id}\n"), "{}", rt.name);
        let o = raw(
            &rt,
            &["--root", abs.to_str().unwrap(), "delete", "--force", &id],
        )
        .output()
        .unwrap();
        assert_eq!(code(&o), 0, "{}: {}", rt.name, stderr(&o));
        assert!(!abs.join(&id).exists(), "{}", rt.name);
        assert!(processes_mentioning(&id).is_empty(), "{}", rt.name);
        let _ = std::fs::remove_dir_all(&cwd);
    }
}

#[test]
fn log_file_in_json_and_text_on_stderr() {
    for rt in runtimes() {
        let dir = scratch().join(unique("log"));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log.json");
        let id = unique("nolog");
        let root = rt.root.to_str().unwrap();
        // docker's runtimeArgs order: extra global flags before the engine's own.
        let o = raw(
            &rt,
            &[
                "--debug",
                "--root",
                root,
                "--log",
                log.to_str().unwrap(),
                "--log-format",
                "json",
                "state",
                &id,
            ],
        )
        .output()
        .unwrap();
        assert_eq!(code(&o), 1, "{}", rt.name);
        let text = std::fs::read_to_string(&log).unwrap();
        let errors: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("each log line is JSON"))
            .filter(|v| v["level"] == "error")
            .collect();
        assert_eq!(errors.len(), 1, "{}: {text}", rt.name);
        let e = &errors[0];
        assert_eq!(e["msg"], "container does not exist", "{}", rt.name);
        assert!(e["time"].as_str().unwrap().contains('T'), "{}", rt.name);
        // runc adds file/func with --debug.
        for k in ["level", "msg", "time"] {
            assert!(
                e.get(k).is_some_and(Value::is_string),
                "{}: {k} in {e}",
                rt.name
            );
        }
        assert!(
            stderr(&o).lines().any(|l| l == "container does not exist"),
            "{}: the bare message on stderr too: {:?}",
            rt.name,
            stderr(&o)
        );

        // --flag=value spelling, text format into the file.
        let tlog = dir.join("log.txt");
        let log_eq = format!("--log={}", tlog.display());
        let o = raw(
            &rt,
            &["--root", root, &log_eq, "--log-format=text", "kill", &id],
        )
        .output()
        .unwrap();
        assert_eq!(code(&o), 1, "{}", rt.name);
        let text = std::fs::read_to_string(&tlog).unwrap();
        assert_text_error(&rt, &text, "container does not exist");

        // JSON without --log goes to stderr.
        let o = rt.exec(&["--log-format", "json", "state", &id]);
        let line = stderr(&o);
        let v: Value = serde_json::from_str(line.trim()).expect("one JSON line on stderr");
        assert_eq!(v["msg"], "container does not exist", "{}", rt.name);
        // A missing container is reported before a bad signal.
        let o = rt.exec(&["kill", &id, "NOSUCHSIG"]);
        assert_text_error(&rt, &stderr(&o), "container does not exist");

        // Without --log, text goes to stderr.
        let o = rt.exec(&["delete", &id]);
        assert_text_error(&rt, &stderr(&o), "container does not exist");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn systemd_cgroup_flag_gives_a_clear_error() {
    for rt in runtimes() {
        let root = rt.root.to_str().unwrap();
        // `create` of `b` as `id` with the global --systemd-cgroup flag.
        let systemd_create = |b: &Bundle, id: &str| {
            b.write();
            let dir = b.dir.to_str().unwrap();
            let args = ["--systemd-cgroup", "--root", root, "create", "-b", dir, id];
            detached(raw(&rt, &args), &b.dir)
        };
        // A cgroupfs path is not slice:prefix:name.
        let id = unique("sdpath");
        let b = Bundle::new(&["true"]);
        let o = systemd_create(&b, &id);
        assert_eq!(code(&o), 1, "{}", rt.name);
        let err = stderr(&o);
        assert!(err.contains("slice:prefix:name"), "{}: {err}", rt.name);
        assert_not_repeated(&err);
        assert_no_leaks(&rt, &id, &b);

        // A well-formed systemd path: the driver is not available here (runc: no systemd).
        let id = unique("sdok");
        let mut b = Bundle::new(&["true"]);
        b.config["linux"]["cgroupsPath"] = format!("system.slice:runr-it:{id}").into();
        let o = systemd_create(&b, &id);
        if code(&o) == 0 {
            // A host with systemd running: runc supports it; it must then really work.
            assert_eq!(rt.state(&id)["status"], "created", "{}", rt.name);
            rt.ok(&["delete", "--force", &id]);
        } else {
            assert_eq!(code(&o), 1, "{}", rt.name);
            let err = stderr(&o);
            assert!(err.contains("systemd"), "{}: {err}", rt.name);
            assert_not_repeated(&err);
        }
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn state_json_shape_matches_runc() {
    let mut shapes = Vec::new();
    for rt in runtimes() {
        let id = unique("state");
        let mut b = Bundle::new(&["sleep", "100"]);
        rt.create_ok(&b, &id, &[]);
        let text = rt.ok(&["state", &id]);
        assert!(!text.ends_with('\n'), "{}: no final newline", rt.name);
        assert!(
            text.starts_with("{\n  \"ociVersion\": "),
            "{}: 2-space indent, ociVersion first: {text}",
            rt.name
        );
        let st: Value = serde_json::from_str(&text).unwrap();
        assert!(
            st.get("annotations").is_none(),
            "{}: omitted when empty",
            rt.name
        );
        assert_eq!(st["id"], id.as_str());
        assert_eq!(st["owner"], "", "{}", rt.name);
        let pid = st["pid"].as_i64().unwrap();
        assert!(Path::new(&format!("/proc/{pid}")).exists(), "{}", rt.name);
        // Keys in the printed order (top-level lines are indented by two spaces), with types.
        let shape: Vec<(String, &'static str)> = text
            .lines()
            .filter_map(|l| l.strip_prefix("  \""))
            .filter_map(|l| l.split_once('"'))
            .map(|(k, _)| (k.to_string(), kind(&st[k])))
            .collect();
        assert_eq!(shape.len(), st.as_object().unwrap().len(), "{}", rt.name);
        shapes.push((rt.name, shape));
        delete_no_leaks(&rt, &id, &b);

        // Annotations appear when the config has some.
        let id = unique("annot");
        b.config["annotations"] = serde_json::json!({"org.runr.test": "yes"});
        rt.create_ok(&b, &id, &[]);
        let st = rt.state(&id);
        assert_eq!(st["annotations"]["org.runr.test"], "yes", "{}", rt.name);
        delete_no_leaks(&rt, &id, &b);
    }
    if shapes.len() == 2 {
        assert_eq!(
            shapes[0].1, shapes[1].1,
            "state keys, their order and value types: runr vs runc"
        );
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks Go tabwriter's layout as runc sets it up (min width 12, padding 3): every row's cells
/// start at the header's columns, each column as wide as its widest cell + 3 (at least 12).
/// Returns the rows' cells.
fn parse_table(rt: &str, text: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let header = lines[0];
    let names = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        names,
        "{rt}: {text}"
    );
    let starts: Vec<usize> = names
        .iter()
        .scan(0, |from, n| {
            let at = header[*from..].find(n).unwrap() + *from;
            *from = at + n.len();
            Some(at)
        })
        .collect();
    let mut rows = Vec::new();
    for line in &lines {
        assert!(!line.ends_with(' '), "{rt}: no trailing blanks: {line:?}");
        let mut cells = Vec::new();
        for i in 0..names.len() {
            let end = starts.get(i + 1).copied().unwrap_or(line.len());
            let cell = &line[starts[i]..end.min(line.len())];
            if i + 1 < names.len() {
                assert!(
                    cell.ends_with("   "),
                    "{rt}: padded cell {cell:?} in {line:?}"
                );
            }
            cells.push(cell.trim_end().to_string());
        }
        rows.push(cells);
    }
    for i in 0..names.len() - 1 {
        let widest = rows.iter().map(|r| r[i].len()).max().unwrap();
        assert_eq!(
            starts[i + 1] - starts[i],
            (widest + 3).max(12),
            "{rt}: width of column {}",
            names[i]
        );
    }
    rows
}

#[test]
fn list_table_quiet_and_json() {
    for rt in runtimes() {
        // Empty: header only, `null` in JSON, nothing with -q.
        let empty = rt.ok(&["list"]);
        assert_eq!(parse_table(rt.name, &empty).len(), 1, "{}", rt.name);
        assert_eq!(
            rt.ok(&["list", "--format", "json"]),
            "null\n",
            "{}",
            rt.name
        );
        assert_eq!(rt.ok(&["list", "-q"]), "", "{}", rt.name);

        // One bundle each: two containers may not share a cgroup.
        let bundles = [
            Bundle::new(&["sleep", "100"]),
            Bundle::new(&["sleep", "100"]),
        ];
        let ids = [unique("lista"), unique("listb-longer-name")];
        for (id, b) in ids.iter().zip(&bundles) {
            rt.create_ok(b, id, &[]);
        }
        rt.ok(&["start", &ids[1]]);
        assert!(wait_running(&rt, &ids[1]));

        let table = rt.ok(&["list"]);
        let rows = parse_table(rt.name, &table);
        assert_eq!(rows.len(), 3, "{}: {table}", rt.name);
        for (id, b) in ids.iter().zip(&bundles) {
            let row = rows
                .iter()
                .find(|r| &r[0] == id)
                .expect("row per container");
            let st = rt.state(id);
            assert_eq!(row[1], st["pid"].to_string(), "{}", rt.name);
            assert_eq!(row[2], st["status"].as_str().unwrap(), "{}", rt.name);
            assert_eq!(row[3], b.dir.to_str().unwrap(), "{}", rt.name);
            assert_eq!(row[4], st["created"].as_str().unwrap(), "{}", rt.name);
            assert_eq!(row[5], "root", "{}", rt.name);
        }

        let mut quiet: Vec<String> = rt.ok(&["list", "-q"]).lines().map(String::from).collect();
        quiet.sort();
        let mut want = ids.to_vec();
        want.sort();
        assert_eq!(quiet, want, "{}", rt.name);

        for form in [&["list", "--format", "json"][..], &["list", "-f=json"][..]] {
            let json = rt.ok(form);
            assert!(
                json.starts_with("[{\"ociVersion\":\""),
                "{}: {json}",
                rt.name
            );
            assert_eq!(
                json.matches('\n').count(),
                1,
                "{}: one line: {json}",
                rt.name
            );
            let v: Value = serde_json::from_str(&json).unwrap();
            let arr = v.as_array().unwrap();
            assert_eq!(arr.len(), 2, "{}", rt.name);
            for c in arr {
                let mut keys: Vec<&str> =
                    c.as_object().unwrap().keys().map(String::as_str).collect();
                keys.sort();
                assert_eq!(
                    keys,
                    [
                        "bundle",
                        "created",
                        "id",
                        "ociVersion",
                        "owner",
                        "pid",
                        "rootfs",
                        "status"
                    ],
                    "{}",
                    rt.name
                );
                assert_eq!(c["owner"], "root", "{}", rt.name);
            }
        }
        let o = rt.exec(&["list", "--format", "yaml"]);
        assert_eq!(code(&o), 1, "{}: unknown format", rt.name);

        for (id, b) in ids.iter().zip(&bundles) {
            delete_no_leaks(&rt, id, b);
        }
    }
}

/// Waits until the container's init catches every signal in `signals` (SigCgt of its status).
fn wait_catches(rt: &Runtime, id: &str, signals: &[u32]) -> bool {
    let pid = rt.state(id)["pid"].to_string();
    let mask: u64 = signals.iter().map(|s| 1u64 << (s - 1)).sum();
    wait_for(30, || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|caught| caught & mask == mask)
    })
}

/// Runs a container in the foreground, sends `kill ARGS` once it runs, returns run's exit code.
fn run_and_kill(rt: &Runtime, b: &Bundle, kill: &[&str]) -> i32 {
    run_and_kill_once_caught(rt, b, kill, &[])
}

/// [`run_and_kill`], sending the signal only once the init catches every one of `caught`: pid 1
/// of a pid namespace ignores signals it does not catch, so a signal sent before the shell has
/// set its traps is lost and `run` never returns (the test hung under load that way).
fn run_and_kill_once_caught(rt: &Runtime, b: &Bundle, kill: &[&str], caught: &[u32]) -> i32 {
    let id = unique("kill");
    b.write();
    let mut run = rt
        .command(&["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_running(rt, &id), "{}: container runs", rt.name);
    assert!(
        wait_catches(rt, &id, caught),
        "{}: the init catches {caught:?}",
        rt.name
    );
    let rest: Vec<&str> = kill.iter().skip(1).copied().collect();
    let mut full: Vec<&str> = Vec::new();
    if kill.first() == Some(&"--all") {
        full.extend(["kill", "--all", &id]);
        full.extend(rest);
    } else {
        full.extend(["kill", &id]);
        full.extend(kill.iter().copied());
    }
    let o = rt.exec(&full);
    assert_eq!(code(&o), 0, "{} {full:?}: {}", rt.name, stderr(&o));
    // Seen once under load (runc, `kill ID usr1`): the signal reached the busybox sh init, whose
    // trap was set (SigCgt), and was lost; the loop ran on and `run` never returned. The same
    // signal is sent again every 2 s until `run` exits (the exit status says which one acted),
    // and a container that never exits fails the test instead of hanging it.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut resend = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let status = loop {
        if let Some(st) = run.try_wait().unwrap() {
            break st.code().unwrap_or(-1);
        }
        if std::time::Instant::now() > end {
            let _ = run.kill();
            panic!("{} {full:?}: run did not return within 60 s", rt.name);
        }
        if std::time::Instant::now() > resend {
            eprintln!("{} {full:?}: run still waiting, signal sent again", rt.name);
            let _ = rt.exec(&full);
            resend += std::time::Duration::from_secs(2);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_no_leaks(rt, &id, b);
    status
}

#[test]
fn kill_by_name_and_number_and_default_sigterm() {
    for rt in runtimes() {
        let sleeper = Bundle::new(&["sleep", "100"]);
        for sig in ["KILL", "SIGKILL", "kill", "9"] {
            assert_eq!(
                run_and_kill(&rt, &sleeper, &[sig]),
                137,
                "{} kill {sig}",
                rt.name
            );
        }
        // The container's init (pid 1 in its namespace) only dies of signals it handles.
        const TRAPS: &[u32] = &[libc::SIGTERM as u32, libc::SIGUSR1 as u32];
        let trap =
            Bundle::shell("trap 'exit 42' TERM; trap 'exit 43' USR1; while :; do sleep 0.1; done");
        assert_eq!(
            run_and_kill_once_caught(&rt, &trap, &[], TRAPS),
            42,
            "{}: default SIGTERM",
            rt.name
        );
        assert_eq!(
            run_and_kill_once_caught(&rt, &trap, &["15"], TRAPS),
            42,
            "{} kill 15",
            rt.name
        );
        assert_eq!(
            run_and_kill_once_caught(&rt, &trap, &["usr1"], TRAPS),
            43,
            "{} kill usr1",
            rt.name
        );
        // --all reaches every process of the container.
        let many = Bundle::shell("sleep 100 & sleep 100 & wait");
        assert_eq!(
            run_and_kill(&rt, &many, &["--all", "KILL"]),
            137,
            "{} --all",
            rt.name
        );

        let id = unique("badsig");
        rt.create_ok(&sleeper, &id, &[]);
        let o = rt.exec(&["kill", &id, "NOSUCHSIG"]);
        assert_eq!(code(&o), 1, "{}: unknown signal", rt.name);
        assert_eq!(rt.state(&id)["status"], "created", "{}", rt.name);
        delete_no_leaks(&rt, &id, &sleeper);
    }
}

#[test]
fn run_keep_leaves_a_stopped_container_and_kill_fails_on_it() {
    for rt in runtimes() {
        let id = unique("keep");
        let b = Bundle::new(&["true"]);
        b.write();
        let o = rt.exec(&["run", "--keep", "-b", b.dir.to_str().unwrap(), &id]);
        assert_eq!(code(&o), 0, "{}: {}", rt.name, stderr(&o));
        let st = rt.state(&id);
        assert_eq!(st["status"], "stopped", "{}", rt.name);
        assert_eq!(st["pid"], 0, "{}", rt.name);
        let o = rt.exec(&["kill", &id, "KILL"]);
        assert_eq!(code(&o), 1, "{}", rt.name);
        assert_text_error(&rt, &stderr(&o), "container not running");
        let o = rt.exec(&["delete", &id]);
        assert_eq!(code(&o), 0, "{}", rt.name);
        assert!(
            o.stdout.is_empty() && o.stderr.is_empty(),
            "{}: quiet",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);

        // runc accepts --keep with --detach: the container runs on.
        let id = unique("keepd");
        let sleeper = Bundle::new(&["sleep", "100"]);
        sleeper.write();
        let args = [
            "run",
            "-d",
            "--keep",
            "-b",
            sleeper.dir.to_str().unwrap(),
            &id,
        ];
        let o = rt.exec_detached(&args, &sleeper);
        assert_eq!(code(&o), 0, "{}: --detach with --keep", rt.name);
        assert!(wait_running(&rt, &id), "{}", rt.name);
        delete_no_leaks(&rt, &id, &sleeper);
    }
}

#[test]
fn run_detach_is_quiet_and_the_container_keeps_running() {
    for rt in runtimes() {
        let id = unique("detach");
        let mut b = Bundle::shell("echo $$ > /tmp/me; exec sleep 100");
        b.config["root"]["readonly"] = false.into();
        b.write();
        let dir = b.dir.clone();
        let o = rt.exec_detached(&["run", "-d", "-b", dir.to_str().unwrap(), &id], &b);
        assert_eq!(code(&o), 0, "{}: {}", rt.name, stderr(&o));
        assert!(
            o.stdout.is_empty() && o.stderr.is_empty(),
            "{}: quiet",
            rt.name
        );
        assert!(wait_running(&rt, &id), "{}", rt.name);
        assert!(
            wait_for(30, || std::fs::read_to_string(b.rootfs().join("tmp/me"))
                .is_ok_and(|s| s.trim() == "1")),
            "{}: the process runs as the namespace's pid 1",
            rt.name
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(
            rt.state(&id)["status"],
            "running",
            "{}: still running",
            rt.name
        );
        delete_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn pid_file_is_relative_to_the_callers_cwd() {
    for rt in runtimes() {
        let b = Bundle::new(&["sleep", "100"]);
        b.write();
        let cwd = scratch().join(unique("pidcwd"));
        std::fs::create_dir_all(&cwd).unwrap();
        for cmd in ["create", "run"] {
            let id = unique("pidfile");
            let mut args = vec![cmd];
            if cmd == "run" {
                args.push("-d");
            }
            args.extend(["--pid-file", "my.pid", "-b", b.dir.to_str().unwrap(), &id]);
            let mut c = rt.command(&args);
            c.current_dir(&cwd);
            let o = detached(c, &cwd);
            assert_eq!(code(&o), 0, "{} {cmd}: {}", rt.name, stderr(&o));
            let pid = std::fs::read_to_string(cwd.join("my.pid")).unwrap();
            assert_eq!(pid, rt.state(&id)["pid"].to_string(), "{} {cmd}", rt.name);
            assert!(
                !b.dir.join("my.pid").exists(),
                "{}: not in the bundle",
                rt.name
            );
            std::fs::remove_file(cwd.join("my.pid")).unwrap();
            delete_no_leaks(&rt, &id, &b);
        }
        let _ = std::fs::remove_dir_all(&cwd);
    }
}

fn spec_in(rt: &Runtime, extra: &[&str]) -> (PathBuf, Output) {
    let dir = scratch().join(unique("spec"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut args = vec!["spec", "--bundle", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = raw(rt, &args).output().unwrap();
    (dir, o)
}

#[test]
fn spec_writes_runcs_default_and_refuses_to_overwrite() {
    let mut outputs: Vec<Vec<String>> = Vec::new();
    for rt in runtimes() {
        let mut texts = Vec::new();
        for extra in [&[][..], &["--rootless"][..]] {
            let (dir, o) = spec_in(&rt, extra);
            assert_eq!(code(&o), 0, "{} spec {extra:?}: {}", rt.name, stderr(&o));
            assert!(o.stdout.is_empty(), "{}", rt.name);
            let path = dir.join("config.json");
            let text = std::fs::read_to_string(&path).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["process"]["terminal"], true, "{}", rt.name);
            assert_eq!(v["root"]["path"], "rootfs", "{}", rt.name);
            let ns: Vec<&str> = v["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["type"].as_str().unwrap())
                .collect();
            assert_eq!(ns.contains(&"user"), !extra.is_empty(), "{}", rt.name);
            texts.push(text.clone());

            // A second spec refuses to overwrite, leaving the file untouched.
            std::fs::write(&path, "{\"mine\": true}").unwrap();
            let o = raw(&rt, &["spec", "-b", dir.to_str().unwrap()])
                .output()
                .unwrap();
            assert_eq!(code(&o), 1, "{}", rt.name);
            assert_text_error(&rt, &stderr(&o), "File config.json exists. Remove it first");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"mine\": true}");
            let _ = std::fs::remove_dir_all(&dir);
        }
        let o = raw(&rt, &["spec", "-b", "/nonexistent/runr-it"])
            .output()
            .unwrap();
        assert_eq!(code(&o), 1, "{}: missing bundle dir", rt.name);
        outputs.push(texts);
    }
    if outputs.len() == 2 {
        for (mine, theirs) in outputs[0].iter().zip(&outputs[1]) {
            // runr writes runtime-spec 1.3.0 as runc 1.5 does; runc 1.1.5 writes 1.0.2-dev.
            let theirs =
                &theirs.replace("\"ociVersion\": \"1.0.2-dev\"", "\"ociVersion\": \"1.3.0\"");
            let a: Value = serde_json::from_str(mine).unwrap();
            let b: Value = serde_json::from_str(theirs).unwrap();
            assert_eq!(a, b, "runr spec and runc spec: same JSON value");
            assert_eq!(mine, theirs, "and the same bytes (key order, tabs)");
        }
    }
}
