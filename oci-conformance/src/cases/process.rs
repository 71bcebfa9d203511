//! config.md `process` (args, env, cwd, terminal, consoleSize, noNewPrivileges, oomScoreAdj,
//! apparmorProfile, selinuxLabel, ioPriority, scheduler), `process.user`, `process.capabilities`
//! and `process.rlimits`, checked from inside by the probe.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixListener;
use std::time::Duration;

use serde_json::{json, Value};

use super::{case, probe_with, run_with, Case};
use crate::harness::{cap_mask, Bundle, Ctx, Kv, Why, CAPS};
use crate::{check, check_eq, fail, skip};

/// Runs the probe with `process.terminal` true through `--console-socket`; returns the dump it
/// wrote to the pty.
fn probe_on_tty(ctx: &Ctx, edit: impl FnOnce(&mut Value)) -> Result<Kv, Why> {
    let mut b = Bundle::probe(ctx);
    b.config["process"]["terminal"] = json!(true);
    edit(&mut b.config);
    b.write();
    let sock = b.dir.join("console.sock");
    let listener =
        UnixListener::bind(&sock).map_err(|e| Why::Fail(format!("bind console socket: {e}")))?;
    let receiver = std::thread::spawn(move || -> Result<std::fs::File, String> {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            nix::sys::socket::MsgFlags::empty(),
        )
        .map_err(|e| e.to_string())?;
        for c in msg.cmsgs().map_err(|e| e.to_string())? {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
                if let Some(fd) = fds.first() {
                    // SAFETY: the fd was just received over SCM_RIGHTS and is owned by nobody else.
                    return Ok(unsafe { std::fs::File::from_raw_fd(*fd) });
                }
            }
        }
        Err("no fd in the console socket message".into())
    });
    let dir = b.dir.to_str().unwrap().to_string();
    let out = b.cmd(&[
        "create",
        "--bundle",
        &dir,
        "--console-socket",
        sock.to_str().unwrap(),
        &b.id,
    ]);
    if !out.ok() {
        // Unblock the accept so the thread ends.
        let _ = std::os::unix::net::UnixStream::connect(&sock);
        let _ = receiver.join();
        fail!("create with a terminal failed: {}", out.brief());
    }
    let mut master = match receiver.join() {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => fail!("console socket: {e}"),
        Err(_) => fail!("console socket thread panicked"),
    };
    check!(b.start().ok(), "start failed");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&text).contains("envorder=") && text.ends_with(b"\n") {
                // The dump ends with the environment; keep reading briefly for the rest.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = tx.send(text);
    });
    let _ = b.wait_status("stopped");
    let text = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    Ok(Kv::parse(&String::from_utf8_lossy(&text)))
}

pub fn process() -> Vec<Case> {
    const A: &str = "process";
    vec![
        case(A, "args are passed verbatim", |ctx| {
            let out = run_with(
                ctx,
                &[
                    "/bin/sh",
                    "-c",
                    "printf '%s|' \"$@\"",
                    "argv0",
                    "a b",
                    "",
                    "c",
                ],
                |_| {},
            )?;
            check_eq!(out, "a b||c|", "arguments");
            Ok(())
        }),
        case(A, "args[0] is looked up in the process PATH", |ctx| {
            let kv = probe_with(ctx, |c| {
                c["process"]["args"] = json!(["probe"]);
                c["process"]["env"] = json!(["PATH=/bin"]);
            })?;
            check_eq!(kv.get("pid"), "1", "probe ran as pid");
            Ok(())
        }),
        case(A, "env variables are set", |ctx| {
            let kv = probe_with(ctx, |c| {
                c["process"]["env"] = json!(["PATH=/bin", "FOO=bar", "EMPTY="])
            })?;
            check_eq!(kv.get("env.FOO"), "bar", "FOO");
            check!(
                kv.env.iter().any(|e| e == "EMPTY="),
                "EMPTY= missing: {:?}",
                kv.env
            );
            Ok(())
        }),
        case(A, "env value containing '='", |ctx| {
            let kv = probe_with(ctx, |c| c["process"]["env"] = json!(["PATH=/bin", "A=b=c"]))?;
            check_eq!(kv.get("env.A"), "b=c", "A");
            Ok(())
        }),
        case(A, "the runtime's environment does not leak in", |ctx| {
            let b = Bundle::probe(ctx);
            b.write();
            let dir = b.dir.to_str().unwrap().to_string();
            let out = ctx.rt.cmd_env(
                &b.dir,
                &["run", "--bundle", &dir, &b.id],
                &[("OCI_CONFORMANCE_LEAK", "1")],
            );
            check!(out.ok(), "run failed: {}", out.brief());
            let kv = Kv::parse(&out.stdout);
            check!(
                kv.get("env.OCI_CONFORMANCE_LEAK").is_empty(),
                "runtime env leaked: {:?}",
                kv.env
            );
            Ok(())
        }),
        case(A, "cwd is the working directory", |ctx| {
            let kv = probe_with(ctx, |c| c["process"]["cwd"] = json!("/etc"))?;
            check_eq!(kv.get("cwd"), "/etc", "cwd");
            Ok(())
        }),
        case(A, "terminal false: stdio is not a terminal", |ctx| {
            let kv = probe_with(ctx, |_| {})?;
            check_eq!(
                (kv.get("isatty0"), kv.get("isatty1"), kv.get("isatty2")),
                ("0", "0", "0"),
                "isatty(0,1,2)"
            );
            Ok(())
        }),
        case(A, "only fds 0, 1, 2 are open in the process", |ctx| {
            let kv = probe_with(ctx, |_| {})?;
            check_eq!(kv.get("fds"), "0,1,2", "open fds");
            Ok(())
        }),
        case(A, "the process is pid 1 of its pid namespace", |ctx| {
            let kv = probe_with(ctx, |_| {})?;
            check_eq!(kv.get("pid"), "1", "pid");
            Ok(())
        }),
        case(A, "noNewPrivileges true sets no_new_privs", |ctx| {
            let kv = probe_with(ctx, |c| c["process"]["noNewPrivileges"] = json!(true))?;
            check_eq!(kv.get("nnp"), "1", "no_new_privs");
            Ok(())
        }),
        case(
            A,
            "noNewPrivileges false leaves no_new_privs unset",
            |ctx| {
                let kv = probe_with(ctx, |c| c["process"]["noNewPrivileges"] = json!(false))?;
                check_eq!(kv.get("nnp"), "0", "no_new_privs");
                Ok(())
            },
        ),
        case(A, "oomScoreAdj is applied", |ctx| {
            let kv = probe_with(ctx, |c| c["process"]["oomScoreAdj"] = json!(123))?;
            check_eq!(kv.get("oom_score_adj"), "123", "oom_score_adj");
            Ok(())
        }),
        case(
            A,
            "terminal true: stdio is the pty from the console socket",
            |ctx| {
                let kv = probe_on_tty(ctx, |_| {})?;
                check!(!kv.map.is_empty(), "nothing read from the pty master");
                check_eq!(
                    (kv.get("isatty0"), kv.get("isatty1"), kv.get("isatty2")),
                    ("1", "1", "1"),
                    "isatty(0,1,2)"
                );
                Ok(())
            },
        ),
        case(
            A,
            "terminal true: consoleSize sets the window size",
            |ctx| {
                let kv = probe_on_tty(ctx, |c| {
                    c["process"]["consoleSize"] = json!({"height": 33, "width": 111})
                })?;
                check_eq!(kv.get("winsize"), "33x111", "rows x cols");
                Ok(())
            },
        ),
        case(A, "terminal true: /dev/console is the pty", |ctx| {
            let kv = probe_on_tty(ctx, |c| {
                c["process"]["args"] = json!(["/bin/probe", "stat", "/dev/console"])
            })?;
            check_eq!(kv.get("type"), "c", "/dev/console type");
            check_eq!(kv.get("major"), "136", "/dev/console major (a pts)");
            Ok(())
        }),
        case(A, "apparmorProfile is applied", |ctx| {
            if !ctx.host.apparmor {
                skip!("kernel has no AppArmor");
            }
            let kv = probe_with(ctx, |c| {
                c["process"]["apparmorProfile"] = json!("unconfined")
            })?;
            check!(
                kv.get("attr_current").starts_with("unconfined"),
                "attr/current: {}",
                kv.get("attr_current")
            );
            Ok(())
        }),
        case(A, "selinuxLabel is applied", |ctx| {
            if !ctx.host.selinux {
                skip!("kernel has no SELinux");
            }
            let label = "system_u:system_r:container_t:s0";
            let kv = probe_with(ctx, |c| c["process"]["selinuxLabel"] = json!(label))?;
            check_eq!(
                kv.get("attr_current").trim_end_matches('\0'),
                label,
                "attr/current"
            );
            Ok(())
        }),
        case(A, "ioPriority is applied", |ctx| {
            let kv = probe_with(ctx, |c| {
                c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 3})
            })?;
            check_eq!(kv.get("ioprio"), ((2 << 13) | 3).to_string(), "ioprio_get");
            Ok(())
        }),
        case(A, "scheduler policy is applied", |ctx| {
            let kv = probe_with(ctx, |c| {
                c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 5})
            })?;
            check_eq!(
                kv.get("sched_policy"),
                "3",
                "sched_getscheduler (SCHED_BATCH)"
            );
            check_eq!(kv.get("nice"), "5", "nice");
            Ok(())
        }),
        case(A, "linux.personality LINUX32 is applied", |ctx| {
            let kv = probe_with(ctx, |c| {
                c["linux"]["personality"] = json!({"domain": "LINUX32"})
            })?;
            check_eq!(kv.get("personality"), "8", "personality (PER_LINUX32)");
            Ok(())
        }),
    ]
}

pub fn user() -> Vec<Case> {
    const A: &str = "user";
    vec![
        case(A, "uid and gid are applied", |ctx| {
            let kv = probe_with(ctx, |c| {
                c["process"]["user"] = json!({"uid": 1000, "gid": 1001})
            })?;
            check_eq!(
                (kv.get("uid"), kv.get("euid")),
                ("1000", "1000"),
                "uid, euid"
            );
            check_eq!(
                (kv.get("gid"), kv.get("egid")),
                ("1001", "1001"),
                "gid, egid"
            );
            Ok(())
        }),
        case(A, "uid 0 gid 0 by default config", |ctx| {
            let kv = probe_with(ctx, |_| {})?;
            check_eq!((kv.get("uid"), kv.get("gid")), ("0", "0"), "uid, gid");
            Ok(())
        }),
        case(A, "additionalGids are the supplementary groups", |ctx| {
            let kv = probe_with(ctx, |c| {
                c["process"]["user"] =
                    json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20, 30]})
            })?;
            let mut g: Vec<&str> = kv
                .get("groups")
                .split(',')
                .filter(|s| !s.is_empty() && *s != "1000")
                .collect();
            g.sort();
            check_eq!(g, vec!["10", "20", "30"], "supplementary groups");
            Ok(())
        }),
        case(
            A,
            "no additionalGids: the runtime's groups are not inherited",
            |ctx| {
                let kv = probe_with(ctx, |c| {
                    c["process"]["user"] = json!({"uid": 1000, "gid": 1000})
                })?;
                let g = kv.get("groups");
                check!(
                    g.split(',').all(|x| x.is_empty() || x == "1000"),
                    "groups: {g}"
                );
                Ok(())
            },
        ),
        case(A, "umask is applied", |ctx| {
            let kv = probe_with(ctx, |c| c["process"]["user"]["umask"] = json!(0o027))?;
            check_eq!(kv.get("umask"), "0027", "umask");
            Ok(())
        }),
        case(A, "non-root user owns the files it creates", |ctx| {
            let out = run_with(
                ctx,
                &["/bin/sh", "-c", "touch /tmp/f && stat -c %u:%g /tmp/f"],
                |c| {
                    c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
                    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]}));
                },
            )?;
            check_eq!(out.trim(), "1000:1000", "owner of a created file");
            Ok(())
        }),
    ]
}

fn caps_json(names: &[&str]) -> Value {
    json!(names)
}

pub fn capabilities() -> Vec<Case> {
    const A: &str = "capabilities";
    let set_case = |set: &'static str, key: &'static str| {
        case(A, format!("{set} set is applied"), move |ctx| {
            let names = [
                "CAP_CHOWN",
                "CAP_KILL",
                "CAP_NET_BIND_SERVICE",
                "CAP_SETUID",
            ];
            let kv = probe_with(ctx, |c| {
                let all = caps_json(&names);
                c["process"]["capabilities"] = json!({"bounding": all, "effective": all, "permitted": all,
                    "inheritable": all, "ambient": all});
            })?;
            check_eq!(
                format!("{:016x}", kv.hex(key)),
                format!("{:016x}", cap_mask(&names)),
                key
            );
            Ok(())
        })
    };
    vec![
        set_case("bounding", "CapBnd"),
        set_case("effective", "CapEff"),
        set_case("permitted", "CapPrm"),
        set_case("inheritable", "CapInh"),
        set_case("ambient", "CapAmb"),
        case(A, "sets differ as configured", |ctx| {
            let kv = probe_with(ctx, |c| {
                c["process"]["capabilities"] = json!({
                    "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"],
                    "permitted": ["CAP_CHOWN", "CAP_KILL"],
                    "effective": ["CAP_CHOWN"],
                    "inheritable": [],
                    "ambient": []});
            })?;
            check_eq!(
                kv.hex("CapBnd"),
                cap_mask(&["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"]),
                "CapBnd"
            );
            check_eq!(
                kv.hex("CapPrm"),
                cap_mask(&["CAP_CHOWN", "CAP_KILL"]),
                "CapPrm"
            );
            check_eq!(kv.hex("CapInh"), 0, "CapInh");
            // For uid 0, execve makes effective = permitted: only the inclusion is checkable.
            check!(
                kv.hex("CapEff") & !cap_mask(&["CAP_CHOWN", "CAP_KILL"]) == 0,
                "CapEff {:x} beyond permitted",
                kv.hex("CapEff")
            );
            Ok(())
        }),
        case(A, "empty capability sets drop everything", |ctx| {
            let kv = probe_with(ctx, |c| {
                c["process"]["capabilities"] = json!({"bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []});
            })?;
            for k in ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"] {
                check_eq!(kv.hex(k), 0, k);
            }
            Ok(())
        }),
        case(A, "every capability the host has", |ctx| {
            let names: Vec<&str> = CAPS
                .iter()
                .enumerate()
                .filter(|(i, _)| ctx.host.cap_bnd & (1 << i) != 0)
                .map(|(_, n)| *n)
                .collect();
            let kv = probe_with(ctx, |c| {
                let all = caps_json(&names);
                c["process"]["capabilities"] =
                    json!({"bounding": all, "effective": all, "permitted": all});
            })?;
            check_eq!(
                format!("{:x}", kv.hex("CapBnd")),
                format!("{:x}", cap_mask(&names)),
                "CapBnd"
            );
            check_eq!(
                format!("{:x}", kv.hex("CapEff")),
                format!("{:x}", cap_mask(&names)),
                "CapEff"
            );
            Ok(())
        }),
        case(A, "unknown capability: a warning, not a failure", |ctx| {
            let kv = probe_with(ctx, |c| {
                let v = json!(["CAP_CHOWN", "CAP_NOT_A_REAL_ONE"]);
                c["process"]["capabilities"] =
                    json!({"bounding": v, "effective": v, "permitted": v});
            })?;
            check_eq!(kv.hex("CapEff") & 1, 1, "CAP_CHOWN in CapEff");
            Ok(())
        }),
        case(
            A,
            "capability the host cannot grant: a warning, not a failure",
            |ctx| {
                let missing = CAPS
                    .iter()
                    .enumerate()
                    .find(|(i, _)| ctx.host.cap_bnd & (1 << i) == 0);
                let Some((_, name)) = missing else {
                    skip!("the host's bounding set has every capability");
                };
                let name = *name;
                let kv = probe_with(ctx, move |c| {
                    let v = json!(["CAP_CHOWN", name]);
                    c["process"]["capabilities"] =
                        json!({"bounding": v, "effective": v, "permitted": v});
                })?;
                check_eq!(kv.hex("CapEff") & 1, 1, "CAP_CHOWN in CapEff");
                Ok(())
            },
        ),
        case(
            A,
            "non-root user without ambient: no effective capabilities",
            |ctx| {
                let kv = probe_with(ctx, |c| {
                    c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
                    let v = json!(["CAP_CHOWN", "CAP_KILL"]);
                    c["process"]["capabilities"] =
                        json!({"bounding": v, "effective": v, "permitted": v});
                })?;
                check_eq!(kv.hex("CapEff"), 0, "CapEff");
                check_eq!(
                    kv.hex("CapBnd"),
                    cap_mask(&["CAP_CHOWN", "CAP_KILL"]),
                    "CapBnd"
                );
                Ok(())
            },
        ),
        case(A, "non-root user keeps ambient capabilities", |ctx| {
            let kv = probe_with(ctx, |c| {
                c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
                let v = json!(["CAP_NET_BIND_SERVICE"]);
                c["process"]["capabilities"] = json!({"bounding": v, "effective": v, "permitted": v, "inheritable": v, "ambient": v});
            })?;
            let m = cap_mask(&["CAP_NET_BIND_SERVICE"]);
            check_eq!(kv.hex("CapAmb"), m, "CapAmb");
            check_eq!(kv.hex("CapEff"), m, "CapEff");
            Ok(())
        }),
        case(
            A,
            "bounding set limits what the process can do (chown denied)",
            |ctx| {
                let out = run_with(
                    ctx,
                    &[
                        "/bin/sh",
                        "-c",
                        "touch /tmp/f; chown 1000 /tmp/f && echo allowed || echo denied",
                    ],
                    |c| {
                        let v = json!(["CAP_KILL"]);
                        c["process"]["capabilities"] =
                            json!({"bounding": v, "effective": v, "permitted": v});
                        c["mounts"].as_array_mut().unwrap().push(
                            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}),
                        );
                    },
                )?;
                check!(out.contains("denied"), "chown without CAP_CHOWN: {out:?}");
                Ok(())
            },
        ),
    ]
}

/// Every rlimit with a (soft, hard) pair within what this process's own limits allow (the
/// runtime cannot raise a hard limit: CAP_SYS_RESOURCE may be missing).
fn rlimit_values(name: &str) -> (u64, u64) {
    use nix::sys::resource::Resource as Rs;
    let res = match name {
        "RLIMIT_CPU" => Rs::RLIMIT_CPU,
        "RLIMIT_FSIZE" => Rs::RLIMIT_FSIZE,
        "RLIMIT_DATA" => Rs::RLIMIT_DATA,
        "RLIMIT_STACK" => Rs::RLIMIT_STACK,
        "RLIMIT_CORE" => Rs::RLIMIT_CORE,
        "RLIMIT_RSS" => Rs::RLIMIT_RSS,
        "RLIMIT_NPROC" => Rs::RLIMIT_NPROC,
        "RLIMIT_NOFILE" => Rs::RLIMIT_NOFILE,
        "RLIMIT_MEMLOCK" => Rs::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => Rs::RLIMIT_AS,
        "RLIMIT_LOCKS" => Rs::RLIMIT_LOCKS,
        "RLIMIT_SIGPENDING" => Rs::RLIMIT_SIGPENDING,
        "RLIMIT_MSGQUEUE" => Rs::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => Rs::RLIMIT_NICE,
        "RLIMIT_RTPRIO" => Rs::RLIMIT_RTPRIO,
        _ => Rs::RLIMIT_RTTIME,
    };
    let (_, hard) = nix::sys::resource::getrlimit(res).unwrap_or((0, 0));
    if hard == libc::RLIM_INFINITY {
        // Big enough for the probe to run (address space, data, stack are in bytes).
        (1 << 30, 1 << 31)
    } else {
        (hard / 2, hard)
    }
}

pub fn rlimits() -> Vec<Case> {
    const A: &str = "rlimits";
    let names = [
        "RLIMIT_CPU",
        "RLIMIT_FSIZE",
        "RLIMIT_DATA",
        "RLIMIT_STACK",
        "RLIMIT_CORE",
        "RLIMIT_RSS",
        "RLIMIT_NPROC",
        "RLIMIT_NOFILE",
        "RLIMIT_MEMLOCK",
        "RLIMIT_AS",
        "RLIMIT_LOCKS",
        "RLIMIT_SIGPENDING",
        "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE",
        "RLIMIT_RTPRIO",
        "RLIMIT_RTTIME",
    ];
    let mut v: Vec<Case> = names
        .iter()
        .map(|name| {
            let name = *name;
            case(A, format!("{name} soft and hard"), move |ctx| {
                let (soft, hard) = rlimit_values(name);
                let kv = probe_with(ctx, |c| {
                    c["process"]["rlimits"] = json!([{"type": name, "soft": soft, "hard": hard}]);
                })?;
                check_eq!(kv.get(name), format!("{soft}:{hard}"), name);
                Ok(())
            })
        })
        .collect();
    v.push(case(A, "several rlimits at once", |ctx| {
        let kv = probe_with(ctx, |c| {
            c["process"]["rlimits"] = json!([
                {"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512},
                {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                {"type": "RLIMIT_NPROC", "soft": 100, "hard": 200}]);
        })?;
        check_eq!(
            (
                kv.get("RLIMIT_NOFILE"),
                kv.get("RLIMIT_CORE"),
                kv.get("RLIMIT_NPROC")
            ),
            ("256:512", "0:0", "100:200"),
            "NOFILE, CORE, NPROC"
        );
        Ok(())
    }));
    v.push(case(A, "rlimits apply to a non-root user", |ctx| {
        let kv = probe_with(ctx, |c| {
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 300, "hard": 400}]);
        })?;
        check_eq!(kv.get("RLIMIT_NOFILE"), "300:400", "RLIMIT_NOFILE");
        Ok(())
    }));
    v
}
