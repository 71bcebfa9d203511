//! Bad bundles and bad arguments: each is refused with exit 1 and a message that names the
//! config field (and the config file), leaves nothing behind, and can be `delete --force`d
//! afterwards. Where runc refuses the same input, its exit code is compared.

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::json;
use tests_integration::{assert_no_leaks, unique, Bundle, Runtime};

/// A bad input: how to spoil the bundle, extra `create` flags, what runr's error must say.
struct Case {
    name: &'static str,
    spoil: fn(&mut Bundle),
    /// Written over config.json after the JSON (for malformed text).
    raw: Option<&'static str>,
    extra: &'static [&'static str],
    /// Substrings of runr's message; "{config}" is the bundle's config.json path.
    says: &'static [&'static str],
    /// runc refuses it too (runc warns and goes on for some of these).
    runc_refuses: bool,
}

fn nothing(_: &mut Bundle) {}

fn ns_without(b: &mut Bundle, t: &str) {
    let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != t);
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "malformed JSON",
            spoil: nothing,
            raw: Some("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,\n}\n"),
            extra: &[],
            says: &["{config}", "invalid JSON", "line 3 column"],
            runc_refuses: true,
        },
        Case {
            name: "uid as a string",
            spoil: |b| b.config["process"]["user"]["uid"] = json!("0"),
            raw: None,
            extra: &[],
            says: &["{config}", "process.user.uid", "string"],
            runc_refuses: true,
        },
        Case {
            name: "missing rootfs",
            spoil: |b| b.config["root"]["path"] = json!("no-such-rootfs"),
            raw: None,
            extra: &[],
            says: &[
                "{config}",
                "root.path",
                "no-such-rootfs",
                "no such file or directory",
            ],
            runc_refuses: true,
        },
        Case {
            name: "missing process",
            spoil: |b| {
                b.config.as_object_mut().unwrap().remove("process");
            },
            raw: None,
            extra: &[],
            says: &["{config}", "process: is required"],
            runc_refuses: true,
        },
        Case {
            name: "missing args",
            spoil: |b| {
                b.config["process"].as_object_mut().unwrap().remove("args");
            },
            raw: None,
            extra: &[],
            says: &["{config}", "process.args"],
            runc_refuses: true,
        },
        Case {
            name: "relative cwd",
            spoil: |b| b.config["process"]["cwd"] = json!("tmp"),
            raw: None,
            extra: &[],
            says: &["{config}", "process.cwd", "absolute"],
            runc_refuses: true,
        },
        Case {
            name: "duplicate namespace",
            spoil: |b| {
                let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
                ns.push(json!({"type": "pid"}));
            },
            raw: None,
            extra: &[],
            says: &[
                "{config}",
                "linux.namespaces[5]",
                "pid namespace listed twice",
            ],
            runc_refuses: true,
        },
        Case {
            name: "unknown namespace type",
            spoil: |b| {
                let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
                ns.push(json!({"type": "bogus"}));
            },
            raw: None,
            extra: &[],
            says: &["{config}", "linux.namespaces[5].type", "bogus"],
            runc_refuses: true,
        },
        Case {
            name: "namespace path that does not exist",
            spoil: |b| {
                ns_without(b, "network");
                let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
                ns.push(json!({"type": "network", "path": "/proc/999999999/ns/net"}));
            },
            raw: None,
            extra: &[],
            says: &[
                "{config}",
                "linux.namespaces[4].path",
                "/proc/999999999/ns/net",
            ],
            runc_refuses: true,
        },
        Case {
            name: "hostname without a uts namespace",
            spoil: |b| ns_without(b, "uts"),
            raw: None,
            extra: &[],
            says: &["{config}", "hostname", "UTS namespace"],
            runc_refuses: true,
        },
        Case {
            name: "sysctl whose namespace the container lacks",
            spoil: |b| {
                ns_without(b, "network");
                b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
            },
            raw: None,
            extra: &[],
            says: &[
                "{config}",
                "linux.sysctl.net.ipv4.ip_forward",
                "network namespace",
            ],
            runc_refuses: true,
        },
        Case {
            name: "mount destination escaping the rootfs",
            spoil: |b| {
                let m = b.config["mounts"].as_array_mut().unwrap();
                m.push(json!({"destination": "/../../etc/x", "type": "tmpfs", "source": "tmpfs"}));
            },
            raw: None,
            extra: &[],
            says: &["{config}", "mounts[7].destination", "escapes"],
            // runc resolves it inside the rootfs instead.
            runc_refuses: false,
        },
        Case {
            name: "unsupported mount option",
            spoil: |b| {
                let m = b.config["mounts"].as_array_mut().unwrap();
                m.push(
                    json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs",
                    "options": ["bogusopt"]}),
                );
            },
            raw: None,
            extra: &[],
            says: &["{config}", "mounts[7]", "/mnt"],
            runc_refuses: true,
        },
        Case {
            name: "missing executable",
            spoil: |b| b.config["process"]["args"] = json!(["/bin/no-such-program"]),
            raw: None,
            extra: &[],
            says: &["{config}", "process.args[0]", "/bin/no-such-program"],
            runc_refuses: true,
        },
        Case {
            name: "missing executable on PATH",
            spoil: |b| b.config["process"]["args"] = json!(["no-such-program"]),
            raw: None,
            extra: &[],
            says: &["{config}", "process.args[0]", "no-such-program"],
            runc_refuses: true,
        },
        Case {
            name: "non-executable file",
            spoil: |b| b.config["process"]["args"] = json!(["/etc/hostname"]),
            raw: None,
            extra: &[],
            says: &[
                "{config}",
                "process.args[0]",
                "/etc/hostname",
                "ermission denied",
            ],
            runc_refuses: true,
        },
        Case {
            name: "prestart hook that fails",
            spoil: |b| b.config["hooks"] = json!({"prestart": [{"path": "/bin/false"}]}),
            raw: None,
            extra: &[],
            says: &["prestart", "/bin/false", "exit status 1"],
            runc_refuses: true,
        },
        Case {
            name: "prestart hook that times out",
            spoil: |b| {
                b.config["hooks"] = json!({"prestart": [
                    {"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]})
            },
            raw: None,
            extra: &[],
            says: &["prestart", "/bin/sleep", "timed out"],
            runc_refuses: true,
        },
        Case {
            name: "terminal without a console socket",
            spoil: |b| b.config["process"]["terminal"] = json!(true),
            raw: None,
            extra: &[],
            says: &["{config}", "process.terminal", "console socket"],
            runc_refuses: true,
        },
        Case {
            name: "console socket pointing nowhere",
            spoil: |b| b.config["process"]["terminal"] = json!(true),
            raw: None,
            extra: &["--console-socket", "/nonexistent/runr-it.sock"],
            says: &["console socket", "/nonexistent/runr-it.sock"],
            runc_refuses: true,
        },
        Case {
            name: "console socket without a terminal",
            spoil: nothing,
            raw: None,
            extra: &["--console-socket", "/nonexistent/runr-it.sock"],
            says: &["{config}", "process.terminal"],
            runc_refuses: true,
        },
    ]
}

fn create(rt: &Runtime, b: &Bundle, case: &Case, id: &str) -> (Output, Duration) {
    b.write();
    if let Some(raw) = case.raw {
        std::fs::write(b.dir.join("config.json"), raw).unwrap();
    }
    let mut args = vec!["create", "--bundle", b.dir.to_str().unwrap()];
    args.extend_from_slice(case.extra);
    args.push(id);
    let t = Instant::now();
    let out = rt.exec_detached(&args, b);
    (out, t.elapsed())
}

/// The error line's message, checked to be said once ("X: X" is a formatting bug).
fn message(err: &str) -> String {
    let line = err
        .lines()
        .find(|l| l.contains("level=error"))
        .unwrap_or_else(|| panic!("no error line: {err:?}"));
    // logrus quotes the message like Go's %q.
    let quoted = line.split_once("msg=").unwrap().1;
    let msg = quoted
        .trim_start_matches('"')
        .trim_end_matches('"')
        .replace("\\\"", "\"");
    assert_not_repeated(&msg);
    msg
}

/// No part of an error is said twice (a cause printed by its wrapper and again by itself).
fn assert_not_repeated(msg: &str) {
    let parts: Vec<&str> = msg.split(": ").filter(|p| p.len() >= 12).collect();
    for (i, p) in parts.iter().enumerate() {
        assert!(!parts[i + 1..].contains(p), "{p:?} repeated in {msg}");
    }
}

fn check(case: &Case) {
    let rt = Runtime::runr();
    let mut b = Bundle::new(&["true"]);
    std::fs::write(b.rootfs().join("etc/hostname"), "image\n").unwrap();
    (case.spoil)(&mut b);
    let id = unique("bad");
    let (out, took) = create(&rt, &b, case, &id);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}: {err}", case.name);
    assert!(out.stdout.is_empty(), "{}: nothing on stdout", case.name);
    let msg = message(&err);
    assert!(
        msg.starts_with("runr create failed: "),
        "{}: {msg}",
        case.name
    );
    let config = b.dir.join("config.json");
    for want in case.says {
        let want = want.replace("{config}", config.to_str().unwrap());
        assert!(
            msg.contains(&want),
            "{}: wanted {want:?} in {msg}",
            case.name
        );
    }
    assert!(
        // Well before the 30 s a hook that was not timed out would take; room for a loaded host.
        took < Duration::from_secs(25),
        "{}: took {took:?}",
        case.name
    );
    assert_no_leaks(&rt, &id, &b);
    let del = rt.exec(&["delete", "--force", &id]);
    assert_eq!(
        del.status.code(),
        Some(0),
        "{}: delete -f after a failed create",
        case.name
    );
    assert!(
        del.stdout.is_empty() && del.stderr.is_empty(),
        "{}",
        case.name
    );

    if let Some(runc) = Runtime::runc() {
        let id = unique("badc");
        let (out, _) = create(&runc, &b, case, &id);
        if case.runc_refuses {
            assert_eq!(
                out.status.code(),
                Some(1),
                "{}: runc refuses it with 1 too: {}",
                case.name,
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            runc.ok(&["delete", "--force", &id]);
        }
        assert_no_leaks(&runc, &id, &b);
        assert_eq!(
            runc.exec(&["delete", "--force", &id]).status.code(),
            Some(0)
        );
    }
}

macro_rules! bad_input_tests {
    ($($test:ident => $name:expr,)*) => {
        /// The case each generated test runs, in order.
        const TESTED: &[&str] = &[$($name,)*];
        $(
            #[test]
            fn $test() {
                let case = cases().into_iter().find(|c| c.name == $name).expect("case exists");
                check(&case);
            }
        )*
    };
}

bad_input_tests! {
    malformed_json => "malformed JSON",
    wrong_field_type => "uid as a string",
    missing_rootfs => "missing rootfs",
    missing_process => "missing process",
    missing_args => "missing args",
    relative_cwd => "relative cwd",
    duplicate_namespace => "duplicate namespace",
    unknown_namespace_type => "unknown namespace type",
    namespace_path_missing => "namespace path that does not exist",
    hostname_without_uts => "hostname without a uts namespace",
    sysctl_without_its_namespace => "sysctl whose namespace the container lacks",
    mount_destination_escapes => "mount destination escaping the rootfs",
    unsupported_mount_option => "unsupported mount option",
    missing_executable => "missing executable",
    missing_executable_on_path => "missing executable on PATH",
    non_executable_file => "non-executable file",
    failing_prestart_hook => "prestart hook that fails",
    prestart_hook_timeout => "prestart hook that times out",
    terminal_without_console_socket => "terminal without a console socket",
    console_socket_nowhere => "console socket pointing nowhere",
    console_socket_without_terminal => "console socket without a terminal",
}

#[test]
fn every_case_has_a_test() {
    // The macro list and the table stay in step: each case has exactly one test, and each test
    // names a case (both lists are derived, nothing is counted by hand).
    let names: Vec<&str> = cases().iter().map(|c| c.name).collect();
    for name in &names {
        let tests = TESTED.iter().filter(|t| *t == name).count();
        assert_eq!(tests, 1, "case {name:?} has {tests} tests");
    }
    for t in TESTED {
        let defined = names.iter().filter(|n| *n == t).count();
        assert_eq!(defined, 1, "test of {t:?}: {defined} cases of that name");
    }
}

#[test]
fn run_of_a_missing_executable_exits_1_and_cleans_up() {
    let rt = Runtime::runr();
    let b = Bundle::new(&["/bin/no-such-program"]);
    let id = unique("runmissing");
    let (code, out, err) = rt.run(&b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(message(&err).contains("/bin/no-such-program"), "{err}");
    assert_no_leaks(&rt, &id, &b);
    if let Some(runc) = Runtime::runc() {
        let id = unique("runmissingc");
        assert_eq!(runc.run(&b, &id).0, 1, "runc agrees");
        assert_no_leaks(&runc, &id, &b);
    }
}

#[test]
fn missing_bundle_names_the_config_file() {
    let rt = Runtime::runr();
    let id = unique("nobundle");
    let dir = tests_integration::scratch().join(unique("no-bundle"));
    let out = rt.exec(&["create", "--bundle", dir.to_str().unwrap(), &id]);
    assert_eq!(out.status.code(), Some(1));
    let msg = message(&String::from_utf8_lossy(&out.stderr));
    assert!(
        msg.contains(&format!("{}/config.json", dir.display()))
            && msg.contains("no such file or directory"),
        "{msg}"
    );
    assert!(!rt.root.join(&id).exists());
    if let Some(runc) = Runtime::runc() {
        let out = runc.exec(&["create", "--bundle", dir.to_str().unwrap(), &id]);
        assert_eq!(out.status.code(), Some(1), "runc agrees");
    }
}

/// An unknown capability name is a warning, as in runc: the container runs without it and the
/// warning names the field.
#[test]
fn unknown_capability_is_a_warning() {
    let rt = Runtime::runr();
    let mut b = Bundle::shell("grep CapBnd /proc/self/status");
    b.config["process"]["capabilities"]["bounding"] = json!(["CAP_KILL", "CAP_BOGUS"]);
    let id = unique("unknowncap");
    let (code, out, err) = rt.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "CapBnd:\t0000000000000020",
        "only CAP_KILL is kept"
    );
    assert!(
        err.contains("level=warning")
            && err.contains("process.capabilities.bounding")
            && err.contains("CAP_BOGUS"),
        "the warning names the field and the name: {err}"
    );
    assert_no_leaks(&rt, &id, &b);
}
