//! config.md `root` and `mounts`, config-linux.md `devices`, `rootfsPropagation`, `maskedPaths`,
//! `readonlyPaths`, and runtime-linux.md's default devices and /dev symlinks.

use serde_json::{json, Value};

use super::{case, errno_is, probe_errno, run_with, Case};
use crate::harness::{Bundle, Ctx, Kv, Why};
use crate::{check, check_eq, fail, skip};

const EROFS: i32 = 30;
const EPERM: i32 = 1;

/// The container's mountinfo line for `mountpoint`: (mount options, optional fields, fstype,
/// super options).
struct MountLine {
    opts: String,
    optional: String,
    fstype: String,
    superopts: String,
}

fn mountinfo(ctx: &Ctx, edit: impl FnOnce(&mut Value), mp: &str) -> Result<MountLine, Why> {
    let text = run_with(ctx, &["/bin/probe", "cat", "/proc/self/mountinfo"], edit)?;
    let line = text.lines().rev().find(|l| l.split(' ').nth(4) == Some(mp));
    let Some(line) = line else {
        fail!("no mount at {mp} in the container");
    };
    let (pre, post) = line.split_once(" - ").unwrap_or((line, ""));
    let f: Vec<&str> = pre.split(' ').collect();
    let p: Vec<&str> = post.split(' ').collect();
    Ok(MountLine {
        opts: f.get(5).unwrap_or(&"").to_string(),
        optional: f[6.min(f.len())..].join(" "),
        fstype: p.first().unwrap_or(&"").to_string(),
        superopts: p.get(2).unwrap_or(&"").to_string(),
    })
}

fn push_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

fn tmpfs_at(dest: &str, opts: &[&str]) -> Value {
    json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts})
}

/// A host directory in the scratch area with a file `hello` containing "host".
fn host_dir(ctx: &Ctx) -> std::path::PathBuf {
    let d = ctx.scratch.join(crate::harness::unique("hostdir"));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("hello"), "host\n").unwrap();
    d
}

fn stat(ctx: &Ctx, path: &str, edit: impl FnOnce(&mut Value)) -> Result<Kv, Why> {
    Ok(Kv::parse(&run_with(
        ctx,
        &["/bin/probe", "stat", path],
        edit,
    )?))
}

pub fn mounts() -> Vec<Case> {
    const A: &str = "mounts";
    vec![
        case(A, "tmpfs is mounted at its destination", |ctx| {
            let m = mountinfo(ctx, |c| push_mount(c, tmpfs_at("/mnt", &[])), "/mnt")?;
            check_eq!(m.fstype, "tmpfs", "fstype");
            Ok(())
        }),
        case(
            A,
            "filesystem options reach the mount (size, mode)",
            |ctx| {
                let m = mountinfo(
                    ctx,
                    |c| push_mount(c, tmpfs_at("/mnt", &["size=1m", "mode=700"])),
                    "/mnt",
                )?;
                check!(
                    m.superopts.contains("size=1024k"),
                    "super options: {}",
                    m.superopts
                );
                check!(
                    m.superopts.contains("mode=700"),
                    "super options: {}",
                    m.superopts
                );
                Ok(())
            },
        ),
        case(A, "nosuid, nodev, noexec flags", |ctx| {
            let m = mountinfo(
                ctx,
                |c| push_mount(c, tmpfs_at("/mnt", &["nosuid", "nodev", "noexec"])),
                "/mnt",
            )?;
            for f in ["nosuid", "nodev", "noexec"] {
                check!(m.opts.split(',').any(|o| o == f), "{f} missing: {}", m.opts);
            }
            Ok(())
        }),
        case(A, "noatime flag", |ctx| {
            let m = mountinfo(
                ctx,
                |c| push_mount(c, tmpfs_at("/mnt", &["noatime"])),
                "/mnt",
            )?;
            check!(
                m.opts.split(',').any(|o| o == "noatime"),
                "noatime missing: {}",
                m.opts
            );
            Ok(())
        }),
        case(A, "ro tmpfs is read-only", |ctx| {
            let e = probe_errno(ctx, &["open", "/mnt/x", "c"], |c| {
                push_mount(c, tmpfs_at("/mnt", &["ro"]))
            })?;
            errno_is(e, EROFS, "create a file")
        }),
        case(A, "bind mount of a host directory", |ctx| {
            let d = host_dir(ctx);
            let src = d.to_str().unwrap().to_string();
            let out = run_with(ctx, &["/bin/probe", "cat", "/mnt/hello"], |c| {
                push_mount(
                    c,
                    json!({"destination": "/mnt", "type": "bind", "source": src, "options": ["rbind"]}),
                )
            });
            let _ = std::fs::remove_dir_all(&d);
            check_eq!(out?.trim(), "host", "content");
            Ok(())
        }),
        case(A, "writes to a rw bind mount reach the host", |ctx| {
            let d = host_dir(ctx);
            let src = d.to_str().unwrap().to_string();
            let r = run_with(
                ctx,
                &["/bin/sh", "-c", "echo from-container > /mnt/new"],
                |c| {
                    push_mount(
                        c,
                        json!({"destination": "/mnt", "type": "bind", "source": src, "options": ["rbind", "rw"]}),
                    )
                },
            );
            let got = std::fs::read_to_string(d.join("new")).unwrap_or_default();
            let _ = std::fs::remove_dir_all(&d);
            r?;
            check_eq!(got.trim(), "from-container", "file on the host");
            Ok(())
        }),
        case(A, "ro bind mount is read-only", |ctx| {
            let d = host_dir(ctx);
            let src = d.to_str().unwrap().to_string();
            let e = probe_errno(ctx, &["open", "/mnt/hello", "w"], |c| {
                push_mount(
                    c,
                    json!({"destination": "/mnt", "type": "bind", "source": src, "options": ["rbind", "ro"]}),
                )
            });
            let _ = std::fs::remove_dir_all(&d);
            errno_is(e?, EROFS, "open for writing")
        }),
        case(A, "bind mount of a single file", |ctx| {
            let d = host_dir(ctx);
            let src = d.join("hello").to_str().unwrap().to_string();
            let out = run_with(ctx, &["/bin/probe", "cat", "/etc/bound"], |c| {
                push_mount(
                    c,
                    json!({"destination": "/etc/bound", "type": "bind", "source": src, "options": ["bind"]}),
                )
            });
            let _ = std::fs::remove_dir_all(&d);
            check_eq!(out?.trim(), "host", "content");
            Ok(())
        }),
        case(A, "bind source relative to the bundle", |ctx| {
            let mut b = Bundle::new(ctx, &["/bin/probe", "cat", "/mnt/hello"]);
            std::fs::create_dir_all(b.dir.join("rel")).unwrap();
            std::fs::write(b.dir.join("rel/hello"), "relative\n").unwrap();
            b.add_mount(json!({"destination": "/mnt", "type": "bind", "source": "rel", "options": ["rbind"]}));
            check_eq!(b.run_ok()?.trim(), "relative", "content");
            Ok(())
        }),
        case(A, "bind mount without a type (bind option only)", |ctx| {
            let d = host_dir(ctx);
            let src = d.to_str().unwrap().to_string();
            let out = run_with(ctx, &["/bin/probe", "cat", "/mnt/hello"], |c| {
                push_mount(
                    c,
                    json!({"destination": "/mnt", "source": src, "options": ["rbind"]}),
                )
            });
            let _ = std::fs::remove_dir_all(&d);
            check_eq!(out?.trim(), "host", "content");
            Ok(())
        }),
        case(A, "rbind includes submounts, bind does not", |ctx| {
            let d = host_dir(ctx);
            let sub = d.join("sub");
            std::fs::create_dir_all(&sub).unwrap();
            let mounted = nix::mount::mount(
                Some("tmpfs"),
                &sub,
                Some("tmpfs"),
                nix::mount::MsFlags::empty(),
                None::<&str>,
            );
            if mounted.is_err() {
                let _ = std::fs::remove_dir_all(&d);
                fail!("cannot mount a tmpfs on the host for the test");
            }
            std::fs::write(sub.join("inner"), "inner\n").unwrap();
            let src = d.to_str().unwrap().to_string();
            let src2 = src.clone();
            let r = run_with(ctx, &["/bin/probe", "cat", "/mnt/sub/inner"], |c| {
                push_mount(
                    c,
                    json!({"destination": "/mnt", "type": "bind", "source": src, "options": ["rbind"]}),
                )
            });
            let nr = run_with(ctx, &["/bin/probe", "cat", "/mnt/sub/inner"], |c| {
                push_mount(
                    c,
                    json!({"destination": "/mnt", "type": "bind", "source": src2, "options": ["bind"]}),
                )
            });
            let _ = nix::mount::umount2(&sub, nix::mount::MntFlags::MNT_DETACH);
            let _ = std::fs::remove_dir_all(&d);
            check_eq!(r?.trim(), "inner", "submount through rbind");
            check!(
                !nr.map(|s| s.contains("inner")).unwrap_or(false),
                "bind (not rbind) showed the submount"
            );
            Ok(())
        }),
        case(A, "a missing destination directory is created", |ctx| {
            let m = mountinfo(
                ctx,
                |c| push_mount(c, tmpfs_at("/new/deep/dir", &[])),
                "/new/deep/dir",
            )?;
            check_eq!(m.fstype, "tmpfs", "fstype");
            Ok(())
        }),
        case(A, "mounts are made in the listed order", |ctx| {
            let out = run_with(
                ctx,
                &[
                    "/bin/sh",
                    "-c",
                    "grep -c ' /mnt' /proc/self/mountinfo; ls /mnt",
                ],
                |c| {
                    push_mount(c, tmpfs_at("/mnt", &[]));
                    push_mount(c, tmpfs_at("/mnt/inner", &[]));
                },
            )?;
            check!(
                out.lines().next() == Some("2") && out.contains("inner"),
                "nested mounts: {out:?}"
            );
            Ok(())
        }),
        case(A, "a relative destination is relative to /", |ctx| {
            let m = mountinfo(ctx, |c| push_mount(c, tmpfs_at("relmnt", &[])), "/relmnt")?;
            check_eq!(m.fstype, "tmpfs", "fstype");
            Ok(())
        }),
        case(A, "proc, sysfs, mqueue, devpts, cgroup types", |ctx| {
            let text = run_with(ctx, &["/bin/probe", "cat", "/proc/self/mountinfo"], |_| {})?;
            for (mp, ty) in [
                ("/proc", "proc"),
                ("/sys", "sysfs"),
                ("/dev/mqueue", "mqueue"),
                ("/dev/pts", "devpts"),
                ("/dev/shm", "tmpfs"),
            ] {
                let ok = text.lines().any(|l| {
                    l.split(' ').nth(4) == Some(mp)
                        && l.split(" - ").nth(1).is_some_and(|p| p.starts_with(ty))
                });
                check!(ok, "no {ty} at {mp}");
            }
            Ok(())
        }),
        case(A, "rshared propagation option", |ctx| {
            let m = mountinfo(
                ctx,
                |c| push_mount(c, tmpfs_at("/mnt", &["rshared"])),
                "/mnt",
            )?;
            check!(
                m.optional.contains("shared:"),
                "optional fields: {:?}",
                m.optional
            );
            Ok(())
        }),
        case(A, "rprivate propagation option", |ctx| {
            let m = mountinfo(
                ctx,
                |c| push_mount(c, tmpfs_at("/mnt", &["rprivate"])),
                "/mnt",
            )?;
            check!(
                !m.optional.contains("shared:") && !m.optional.contains("master:"),
                "optional fields: {:?}",
                m.optional
            );
            Ok(())
        }),
        case(A, "runbindable propagation option", |ctx| {
            let m = mountinfo(
                ctx,
                |c| push_mount(c, tmpfs_at("/mnt", &["runbindable"])),
                "/mnt",
            )?;
            check!(
                m.optional.contains("unbindable"),
                "optional fields: {:?}",
                m.optional
            );
            Ok(())
        }),
        case(A, "container mounts are not visible on the host", |ctx| {
            let mut b = Bundle::new(ctx, &["/bin/probe", "sleep", "60"]);
            b.add_mount(tmpfs_at("/container-only", &[]));
            b.create_ok()?;
            let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
            check!(
                !host.contains("/container-only"),
                "the container's tmpfs is in the host mount table"
            );
            Ok(())
        }),
        case(A, "rro makes submounts read-only too", |ctx| {
            let d = host_dir(ctx);
            let sub = d.join("sub");
            std::fs::create_dir_all(&sub).unwrap();
            if nix::mount::mount(
                Some("tmpfs"),
                &sub,
                Some("tmpfs"),
                nix::mount::MsFlags::empty(),
                None::<&str>,
            )
            .is_err()
            {
                let _ = std::fs::remove_dir_all(&d);
                fail!("cannot mount a tmpfs on the host for the test");
            }
            let src = d.to_str().unwrap().to_string();
            let e = probe_errno(ctx, &["open", "/mnt/sub/x", "c"], |c| {
                push_mount(
                    c,
                    json!({"destination": "/mnt", "type": "bind", "source": src, "options": ["rbind", "rro"]}),
                )
            });
            let _ = nix::mount::umount2(&sub, nix::mount::MntFlags::MNT_DETACH);
            let _ = std::fs::remove_dir_all(&d);
            errno_is(e?, EROFS, "create a file on the submount")
        }),
        case(A, "tmpfs uid and gid options", |ctx| {
            let kv = stat(ctx, "/mnt", |c| {
                push_mount(c, tmpfs_at("/mnt", &["uid=1000", "gid=1000"]))
            })?;
            check_eq!(
                (kv.get("uid"), kv.get("gid")),
                ("1000", "1000"),
                "owner of the tmpfs root"
            );
            Ok(())
        }),
    ]
}

/// Whether the host mount that holds `path` is shared (has a peer group).
fn host_mount_shared(path: &std::path::Path) -> bool {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let p = path.to_string_lossy();
    mi.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(" - ").next()?.split(' ').collect();
            let mp = *f.get(4)?;
            let under = mp == "/" || p == mp || p.starts_with(&format!("{mp}/"));
            under.then(|| (mp.len(), f[6..].join(" ").contains("shared:")))
        })
        .max_by_key(|(len, _)| *len)
        .is_some_and(|(_, shared)| shared)
}

pub fn rootfs() -> Vec<Case> {
    const A: &str = "rootfs";
    let prop = |val: &'static str, want: &'static str| {
        case(A, format!("rootfsPropagation {val}"), move |ctx| {
            if want == "master:" && !host_mount_shared(&ctx.scratch) {
                skip!("the host mount holding the bundles is private: nothing to be a slave of");
            }
            let m = mountinfo(ctx, |c| c["linux"]["rootfsPropagation"] = json!(val), "/")?;
            let ok = match want {
                "private" => {
                    !m.optional.contains("shared:")
                        && !m.optional.contains("master:")
                        && !m.optional.contains("unbindable")
                }
                w => m.optional.contains(w),
            };
            check!(ok, "optional fields of /: {:?}", m.optional);
            Ok(())
        })
    };
    vec![
        case(A, "root.path relative to the bundle", |ctx| {
            let out = run_with(ctx, &["/bin/probe", "cat", "/marker-rootfs"], |_| {})?;
            check_eq!(out.trim(), "rootfs", "marker");
            Ok(())
        }),
        case(A, "root.path absolute", |ctx| {
            let mut b = Bundle::new(ctx, &["/bin/probe", "cat", "/marker-rootfs"]);
            b.config["root"]["path"] = json!(b.rootfs().to_str().unwrap());
            check_eq!(b.run_ok()?.trim(), "rootfs", "marker");
            Ok(())
        }),
        case(A, "root.readonly true: / is read-only", |ctx| {
            let out = run_with(
                ctx,
                &["/bin/sh", "-c", "mkdir /newdir 2>&1; echo rc=$?"],
                |c| c["root"]["readonly"] = json!(true),
            )?;
            check!(
                out.contains("rc=1") && out.to_lowercase().contains("read-only"),
                "mkdir on /: {out:?}"
            );
            Ok(())
        }),
        case(A, "root.readonly false: / is writable", |ctx| {
            let b = {
                let mut b = Bundle::sh(ctx, "echo w > /written");
                b.config["root"]["readonly"] = json!(false);
                b
            };
            b.run_ok()?;
            check!(
                b.rootfs().join("written").exists(),
                "the write did not land in the rootfs"
            );
            Ok(())
        }),
        case(A, "the host filesystem is not visible (pivot)", |ctx| {
            let out = run_with(
                ctx,
                &["/bin/sh", "-c", "ls -a /; cat /proc/self/mountinfo"],
                |_| {},
            )?;
            let host_only = ctx.scratch.to_str().unwrap();
            check!(
                !out.contains(host_only) || out.contains("rootfs"),
                "host paths visible: {out:?}"
            );
            check!(
                !out.lines().any(|l| l == "work" || l == "usr"),
                "host directories visible in /: {out:?}"
            );
            Ok(())
        }),
        case(A, "the old root is not mounted in the container", |ctx| {
            let out = run_with(ctx, &["/bin/probe", "cat", "/proc/self/mountinfo"], |_| {})?;
            let bad: Vec<&str> = out
                .lines()
                .filter(|l| {
                    let mp = l.split(' ').nth(4).unwrap_or("");
                    !(mp == "/"
                        || mp.starts_with("/proc")
                        || mp.starts_with("/dev")
                        || mp.starts_with("/sys"))
                })
                .collect();
            check!(bad.is_empty(), "unexpected mounts: {bad:?}");
            Ok(())
        }),
        prop("private", "private"),
        prop("rprivate", "private"),
        prop("shared", "shared:"),
        prop("rshared", "shared:"),
        prop("slave", "master:"),
        prop("rslave", "master:"),
        prop("unbindable", "unbindable"),
        case(A, "/dev/fd, stdin, stdout, stderr symlinks", |ctx| {
            for (p, t) in [
                ("/dev/fd", "/proc/self/fd"),
                ("/dev/stdin", "/proc/self/fd/0"),
                ("/dev/stdout", "/proc/self/fd/1"),
                ("/dev/stderr", "/proc/self/fd/2"),
            ] {
                let kv = stat(ctx, p, |_| {})?;
                check_eq!((kv.get("type"), kv.get("target")), ("l", t), p);
            }
            Ok(())
        }),
        case(A, "/dev/ptmx points at pts/ptmx", |ctx| {
            let kv = stat(ctx, "/dev/ptmx", |_| {})?;
            let ok = (kv.get("type") == "l" && kv.get("target") == "pts/ptmx")
                || (kv.get("type") == "c" && kv.get("major") == "5" && kv.get("minor") == "2");
            check!(
                ok,
                "/dev/ptmx: type {} target {}",
                kv.get("type"),
                kv.get("target")
            );
            Ok(())
        }),
        case(A, "/dev/shm and /dev/pts exist", |ctx| {
            for p in ["/dev/shm", "/dev/pts"] {
                let kv = stat(ctx, p, |_| {})?;
                check_eq!(kv.get("type"), "d", p);
            }
            Ok(())
        }),
    ]
}

pub fn devices() -> Vec<Case> {
    const A: &str = "devices";
    let default = |path: &'static str, major: &'static str, minor: &'static str| {
        case(A, format!("default device {path}"), move |ctx| {
            let kv = stat(ctx, path, |_| {})?;
            check_eq!(
                (kv.get("type"), kv.get("major"), kv.get("minor")),
                ("c", major, minor),
                path
            );
            if path == "/dev/tty" {
                return Ok(()); // ENXIO without a controlling terminal
            }
            let e = probe_errno(ctx, &["open", path, "r"], |_| {})?;
            errno_is(e, 0, "open for reading")
        })
    };
    let dev = |t: &str, major: i64, minor: i64| json!({"path": "/dev/xdev", "type": t, "major": major, "minor": minor});
    vec![
        default("/dev/null", "1", "3"),
        default("/dev/zero", "1", "5"),
        default("/dev/full", "1", "7"),
        default("/dev/random", "1", "8"),
        default("/dev/urandom", "1", "9"),
        default("/dev/tty", "5", "0"),
        case(A, "char device is created", move |ctx| {
            let kv = stat(ctx, "/dev/xdev", |c| {
                c["linux"]["devices"] = json!([dev("c", 1, 3)])
            })?;
            check_eq!(
                (kv.get("type"), kv.get("major"), kv.get("minor")),
                ("c", "1", "3"),
                "device"
            );
            Ok(())
        }),
        case(A, "block device is created", move |ctx| {
            let kv = stat(ctx, "/dev/xdev", |c| {
                c["linux"]["devices"] = json!([dev("b", 7, 0)])
            })?;
            check_eq!(
                (kv.get("type"), kv.get("major"), kv.get("minor")),
                ("b", "7", "0"),
                "device"
            );
            Ok(())
        }),
        case(A, "fifo device is created", move |ctx| {
            let kv = stat(ctx, "/dev/xdev", |c| {
                c["linux"]["devices"] = json!([{"path": "/dev/xdev", "type": "p"}])
            })?;
            check_eq!(kv.get("type"), "p", "type");
            Ok(())
        }),
        case(A, "unbuffered char device (type u)", move |ctx| {
            let kv = stat(ctx, "/dev/xdev", |c| {
                c["linux"]["devices"] = json!([dev("u", 1, 3)])
            })?;
            check_eq!(
                (kv.get("type"), kv.get("major"), kv.get("minor")),
                ("c", "1", "3"),
                "device"
            );
            Ok(())
        }),
        case(A, "fileMode is applied", move |ctx| {
            let mut d = dev("c", 1, 3);
            d["fileMode"] = json!(0o620);
            let kv = stat(ctx, "/dev/xdev", |c| c["linux"]["devices"] = json!([d]))?;
            check_eq!(kv.get("mode"), "0620", "mode");
            Ok(())
        }),
        case(A, "uid and gid are applied", move |ctx| {
            let mut d = dev("c", 1, 3);
            d["uid"] = json!(1000);
            d["gid"] = json!(1001);
            let kv = stat(ctx, "/dev/xdev", |c| c["linux"]["devices"] = json!([d]))?;
            check_eq!((kv.get("uid"), kv.get("gid")), ("1000", "1001"), "owner");
            Ok(())
        }),
        case(
            A,
            "device cgroup: a device without an allow rule cannot be opened",
            move |ctx| {
                if !ctx.host.v1.contains_key("devices") && !ctx.host.pure_v2 {
                    skip!("no devices cgroup controller");
                }
                let e = probe_errno(ctx, &["open", "/dev/xdev", "r"], |c| {
                    c["linux"]["devices"] = json!([dev("b", 7, 0)])
                })?;
                errno_is(e, EPERM, "open of a denied device")
            },
        ),
        case(
            A,
            "device cgroup: an allow rule with access r",
            move |ctx| {
                if !ctx.host.v1.contains_key("devices") && !ctx.host.pure_v2 {
                    skip!("no devices cgroup controller");
                }
                let edit = |c: &mut Value| {
                    c["linux"]["devices"] = json!([dev("b", 7, 0)]);
                    c["linux"]["resources"]["devices"].as_array_mut().unwrap().push(json!({"allow": true, "type": "b", "major": 7, "minor": 0, "access": "r"}));
                };
                let r = probe_errno(ctx, &["open", "/dev/xdev", "r"], edit)?;
                errno_is(r, 0, "open for reading")?;
                let w = probe_errno(ctx, &["open", "/dev/xdev", "w"], edit)?;
                errno_is(w, EPERM, "open for writing")
            },
        ),
        case(
            A,
            "device cgroup: mknod denied by the default deny-all rule",
            move |ctx| {
                if !ctx.host.v1.contains_key("devices") && !ctx.host.pure_v2 {
                    skip!("no devices cgroup controller");
                }
                let e = probe_errno(ctx, &["mknod", "/dev/made"], |c| {
                    let v = json!(["CAP_MKNOD"]);
                    c["process"]["capabilities"] =
                        json!({"bounding": v, "effective": v, "permitted": v});
                    c["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}]);
                })?;
                // mknod of 1:3 is allowed by runtimes' default rules (it is /dev/null); the device
                // cgroup still governs it, so either outcome must be consistent with opening it.
                check!(e == 0 || e == EPERM, "mknod errno {e}");
                Ok(())
            },
        ),
    ]
}

pub fn paths() -> Vec<Case> {
    const A: &str = "masked/readonly paths";
    let with_secret =
        |ctx: &Ctx, args: &[&str], edit: &dyn Fn(&mut Value)| -> Result<String, Why> {
            let mut b = Bundle::new(ctx, args);
            std::fs::write(b.rootfs().join("etc/secret"), "secret\n").unwrap();
            std::fs::create_dir_all(b.rootfs().join("etc/secretdir")).unwrap();
            std::fs::write(b.rootfs().join("etc/secretdir/file"), "secret\n").unwrap();
            edit(&mut b.config);
            b.run_ok()
        };
    vec![
        case(A, "masked file reads empty", move |ctx| {
            let out = with_secret(ctx, &["/bin/probe", "cat", "/etc/secret"], &|c| {
                c["linux"]["maskedPaths"] = json!(["/etc/secret"])
            })?;
            check!(!out.contains("secret"), "masked file content: {out:?}");
            Ok(())
        }),
        case(A, "masked directory is empty", move |ctx| {
            let out = with_secret(ctx, &["/bin/ls", "-A", "/etc/secretdir"], &|c| {
                c["linux"]["maskedPaths"] = json!(["/etc/secretdir"])
            })?;
            check!(out.trim().is_empty(), "masked directory lists: {out:?}");
            Ok(())
        }),
        case(A, "masked directory cannot be written", move |ctx| {
            let out = with_secret(
                ctx,
                &["/bin/probe", "open", "/etc/secretdir/file", "w"],
                &|c| {
                    c["linux"]["maskedPaths"] = json!(["/etc/secretdir"]);
                    c["root"]["readonly"] = json!(false);
                },
            )?;
            check!(
                !out.contains("errno=0"),
                "opened a file in a masked directory for writing"
            );
            Ok(())
        }),
        case(A, "default masked /proc file reads empty", |ctx| {
            let Some(p) = [
                "/proc/keys",
                "/proc/timer_list",
                "/proc/kcore",
                "/proc/latency_stats",
            ]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists()) else {
                skip!("kernel has none of /proc/keys, timer_list, kcore, latency_stats");
            };
            let out = run_with(ctx, &["/bin/probe", "cat", p], |_| {})?;
            check!(out.is_empty(), "{p} reads {} bytes", out.len());
            Ok(())
        }),
        case(A, "a missing masked path is ignored", |ctx| {
            run_with(ctx, &["/bin/probe", "exit", "0"], |c| {
                c["linux"]["maskedPaths"] = json!(["/no/such/path"])
            })
            .map(|_| ())
        }),
        case(A, "readonly file cannot be written", move |ctx| {
            let out = with_secret(ctx, &["/bin/probe", "open", "/etc/secret", "w"], &|c| {
                c["linux"]["readonlyPaths"] = json!(["/etc/secret"]);
                c["root"]["readonly"] = json!(false);
            })?;
            check!(
                out.contains(&format!("errno={EROFS}")),
                "open for writing: {out:?}"
            );
            Ok(())
        }),
        case(A, "readonly directory cannot be written", move |ctx| {
            let out = with_secret(
                ctx,
                &["/bin/sh", "-c", "touch /etc/secretdir/new 2>&1; echo rc=$?"],
                &|c| {
                    c["linux"]["readonlyPaths"] = json!(["/etc/secretdir"]);
                    c["root"]["readonly"] = json!(false);
                },
            )?;
            check!(
                out.contains("rc=1"),
                "touch in a readonly directory: {out:?}"
            );
            Ok(())
        }),
        case(A, "readonly path stays readable", move |ctx| {
            let out = with_secret(ctx, &["/bin/probe", "cat", "/etc/secret"], &|c| {
                c["linux"]["readonlyPaths"] = json!(["/etc/secret"]);
            })?;
            check_eq!(out.trim(), "secret", "content");
            Ok(())
        }),
        case(A, "default readonly /proc/sys cannot be written", |ctx| {
            let e = probe_errno(ctx, &["open", "/proc/sys/kernel/hostname", "w"], |_| {})?;
            errno_is(e, EROFS, "open /proc/sys/kernel/hostname for writing")
        }),
        case(A, "a missing readonly path is ignored", |ctx| {
            run_with(ctx, &["/bin/probe", "exit", "0"], |c| {
                c["linux"]["readonlyPaths"] = json!(["/no/such/path"])
            })
            .map(|_| ())
        }),
    ]
}
