//! The container's filesystem view: pivot_root and --no-pivot, the read-only root, propagation,
//! every mount type engines use, destinations resolved strictly inside the rootfs, masked and
//! read-only paths, device nodes, hostname and sysctls. Checked from inside the container
//! (/proc/self/mountinfo, stat, ls) and from the host, and compared with runc where it is
//! installed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tests_integration::{
    assert_no_leaks, delete_no_leaks, runtimes, scratch, unique, Bundle, Runtime,
};

/// Runs `bundle` to completion under `rt` (unique id), asserting exit 0; returns stdout.
fn run_ok(rt: &Runtime, b: &Bundle, what: &str) -> String {
    let id = unique(what);
    let (code, out, err) = rt.run(b, &id);
    assert_eq!(
        code, 0,
        "{} {what}: exit {code}\nstdout: {out}\nstderr: {err}",
        rt.name
    );
    assert_no_leaks(rt, &id, b);
    out
}

/// Runs a fresh bundle from `make` under runr and under runc (if installed): each runtime gets
/// its own, so mount points one creates in the rootfs cannot change what the other sees.
/// Returns (runtime name, stdout, bundle), runr first.
fn run_everywhere(make: impl Fn() -> Bundle, what: &str) -> Vec<(&'static str, String, Bundle)> {
    runtimes()
        .iter()
        .map(|rt| {
            let b = make();
            let out = run_ok(rt, &b, what);
            (rt.name, out, b)
        })
        .collect()
}

/// Asserts every runtime printed the same as runr; returns runr's output and bundle.
fn same_everywhere(make: impl Fn() -> Bundle, what: &str) -> (String, Bundle) {
    let mut outs = run_everywhere(make, what);
    for (name, out, _) in &outs[1..] {
        assert_eq!(&outs[0].1, out, "{what}: runr and {name} differ");
    }
    let (_, out, b) = outs.remove(0);
    (out, b)
}

/// One line of /proc/self/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct MountLine {
    point: String,
    root: String,
    opts: String,
    /// Optional fields without their peer group numbers: "shared", "master", …
    optional: Vec<String>,
    fstype: String,
    source: String,
    superopts: String,
}

fn parse_mountinfo(text: &str) -> Vec<MountLine> {
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            Some(MountLine {
                root: pre.get(3)?.to_string(),
                point: pre.get(4)?.to_string(),
                opts: pre.get(5)?.to_string(),
                optional: pre[6..]
                    .iter()
                    .map(|f| f.split(':').next().unwrap_or_default().to_string())
                    .collect(),
                fstype: post.first()?.to_string(),
                source: post.get(1)?.to_string(),
                superopts: post.get(2).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

/// [`parse_mountinfo`] with the /sys/fs/cgroup line's flags blanked (runc leaves the v1 cgroup
/// tmpfs writable although its entry says "ro"), for comparing runtimes.
fn mounts_but_cgroup_flags(text: &str) -> Vec<MountLine> {
    parse_mountinfo(text)
        .into_iter()
        .map(|mut m| {
            if m.point == "/sys/fs/cgroup" {
                m.opts = String::new();
                m.superopts = String::new();
            }
            m
        })
        .collect()
}

fn mount_at<'a>(mounts: &'a [MountLine], point: &str) -> &'a MountLine {
    mounts
        .iter()
        .rev()
        .find(|m| m.point == point)
        .unwrap_or_else(|| panic!("no mount at {point} in {mounts:#?}"))
}

fn has_opt(opts: &str, o: &str) -> bool {
    opts.split(',').any(|x| x == o)
}

fn host_mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap()
}

fn add_mount(b: &mut Bundle, m: Value) {
    b.config["mounts"].as_array_mut().unwrap().push(m);
}

/// A fresh host directory for test sources and targets.
fn host_dir(prefix: &str) -> PathBuf {
    let d = scratch().join(unique(prefix));
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ---------------------------------------------------------------------------------------------
// root: pivot_root, --no-pivot, readonly, propagation

#[test]
fn default_mounts_match_runc() {
    let outs = run_everywhere(|| Bundle::shell("cat /proc/self/mountinfo"), "mounts");
    let b = &outs[0].2;
    let runr = parse_mountinfo(&outs[0].1);
    let rootfs = b.rootfs().to_string_lossy().into_owned();

    let root = mount_at(&runr, "/");
    assert_eq!(root.root, rootfs, "/ is the bundle's rootfs");
    assert!(has_opt(&root.opts, "ro"), "root.readonly: {root:?}");
    let proc_ = mount_at(&runr, "/proc");
    assert_eq!(proc_.fstype, "proc");
    let dev = mount_at(&runr, "/dev");
    assert_eq!(dev.fstype, "tmpfs");
    assert!(has_opt(&dev.opts, "nosuid") && has_opt(&dev.superopts, "mode=755"));
    assert!(has_opt(&dev.superopts, "size=65536k"), "{dev:?}");
    let pts = mount_at(&runr, "/dev/pts");
    assert_eq!(pts.fstype, "devpts");
    for o in ["mode=620", "ptmxmode=666", "gid=5"] {
        assert!(has_opt(&pts.superopts, o), "devpts {o}: {pts:?}");
    }
    assert!(has_opt(&pts.opts, "nosuid") && has_opt(&pts.opts, "noexec"));
    let shm = mount_at(&runr, "/dev/shm");
    for o in ["nosuid", "nodev", "noexec", "rw"] {
        assert!(has_opt(&shm.opts, o), "/dev/shm {o}: {shm:?}");
    }
    assert_eq!(mount_at(&runr, "/dev/mqueue").fstype, "mqueue");
    let sys = mount_at(&runr, "/sys");
    assert_eq!(sys.fstype, "sysfs");
    assert!(has_opt(&sys.opts, "ro"), "sysfs ro: {sys:?}");
    // cgroup v1: only the container's own cgroup, read-only, under each controller.
    let cgroup = b.cgroup_path();
    let cgs: Vec<&MountLine> = runr.iter().filter(|m| m.fstype == "cgroup").collect();
    assert!(!cgs.is_empty(), "cgroup hierarchies mounted: {runr:#?}");
    for m in &cgs {
        assert!(m.point.starts_with("/sys/fs/cgroup/"), "{m:?}");
        assert!(has_opt(&m.opts, "ro"), "cgroup read-only: {m:?}");
        assert!(
            m.root.ends_with(&cgroup),
            "only the container's own cgroup ({cgroup}) is visible: {m:?}"
        );
    }
    assert!(
        has_opt(&mount_at(&runr, "/sys/fs/cgroup").opts, "ro"),
        "the cgroup tmpfs is read-only (runc leaves it rw; ro is what the spec asks)"
    );

    // Same mounts, same flags as runc, in the same order. runc leaves the v1 cgroup tmpfs
    // writable although the entry says "ro": that one line is compared without its flags.
    for (name, out, other) in &outs[1..] {
        let out = out.replace(other.dir.to_str().unwrap(), outs[0].2.dir.to_str().unwrap());
        let cg = |b: &Bundle| b.cgroup_path();
        let out = out.replace(&cg(other), &cg(&outs[0].2));
        assert_eq!(
            mounts_but_cgroup_flags(&outs[0].1),
            mounts_but_cgroup_flags(&out),
            "mountinfo: runr vs {name}"
        );
    }
}

/// What the container sees of the host's filesystem: whether the bundle's own config.json is
/// reachable, and the mounts' (point, fstype).
fn old_root_view(no_pivot: bool) -> Vec<(String, String)> {
    let mut outs = Vec::new();
    for rt in runtimes() {
        let b = Bundle::shell("");
        let cfg = b.dir.join("config.json");
        let script = format!(
            "test -e {cfg} && echo host-visible; test -e /proc/1/root{cfg} && echo host-via-proc; \
             cat /proc/self/mountinfo",
            cfg = cfg.display()
        );
        let mut b = b;
        b.config["process"]["args"] = json!(["sh", "-c", script]);
        b.write();
        let id = unique("pivot");
        let mut args = vec!["run", "--bundle", b.dir.to_str().unwrap()];
        if no_pivot {
            args.push("--no-pivot");
        }
        args.push(&id);
        let out = rt.exec(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{} no_pivot={no_pivot}: {}",
            rt.name,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !stdout.contains("host-visible") && !stdout.contains("host-via-proc"),
            "{} no_pivot={no_pivot}: the host's root is reachable: {stdout}",
            rt.name
        );
        let mounts = parse_mountinfo(&stdout);
        assert_eq!(
            mount_at(&mounts, "/").root,
            b.rootfs().to_string_lossy(),
            "{}: / is the rootfs",
            rt.name
        );
        assert_no_leaks(&rt, &id, &b);
        outs.push(
            mounts
                .into_iter()
                .map(|m| (m.point, m.fstype))
                .collect::<Vec<_>>(),
        );
    }
    for o in &outs[1..] {
        assert_eq!(
            &outs[0], o,
            "no_pivot={no_pivot}: runr and runc see different mounts"
        );
    }
    outs.remove(0)
}

#[test]
fn pivot_root_leaves_no_trace_of_the_old_root() {
    let mounts = old_root_view(false);
    assert!(mounts.iter().all(|(p, _)| p.starts_with('/')));
    assert_eq!(
        mounts.iter().filter(|(p, _)| p == "/").count(),
        1,
        "exactly one mount at / (the old root is detached): {mounts:?}"
    );
}

#[test]
fn no_pivot_chroots_and_hides_the_old_root() {
    let mounts = old_root_view(true);
    assert!(mounts.iter().any(|(p, t)| p == "/proc" && t == "proc"));
}

#[test]
fn readonly_root_refuses_writes_but_tmpfs_and_shm_are_writable() {
    let (out, b) = same_everywhere(
        || {
            let mut b = Bundle::shell(
                "touch /rootfile 2>&1; echo root=$?; touch /dev/shm/a && echo shm=ok; \
                 touch /scratch/a && echo tmpfs=ok; touch /etc/passwd 2>&1; echo etc=$?",
            );
            add_mount(
                &mut b,
                json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}),
            );
            b
        },
        "rofs",
    );
    assert!(out.contains("Read-only file system"), "EROFS: {out}");
    assert!(out.contains("root=1") && out.contains("etc=1"), "{out}");
    assert!(out.contains("shm=ok") && out.contains("tmpfs=ok"), "{out}");
    assert!(!b.rootfs().join("rootfile").exists());
}

#[test]
fn writable_root_when_readonly_is_false() {
    let (out, b) = same_everywhere(
        || {
            let mut b = Bundle::shell("touch /rootfile && echo ok");
            b.config["root"]["readonly"] = false.into();
            b
        },
        "rwfs",
    );
    assert_eq!(out, "ok\n");
    assert!(
        b.rootfs().join("rootfile").exists(),
        "the write lands in the bundle's rootfs"
    );
}

#[test]
fn rootfs_propagation_shows_in_mountinfo() {
    // This host's own mounts are private, so a slave has no master to show: private, slave and
    // their recursive forms all leave `/` without optional fields, as under runc.
    for prop in ["private", "rprivate", "slave", "rslave"] {
        let outs = run_everywhere(
            || {
                let mut b = Bundle::shell("cat /proc/self/mountinfo");
                b.config["linux"]["rootfsPropagation"] = prop.into();
                b
            },
            "prop",
        );
        let optional = |text: &str| mount_at(&parse_mountinfo(text), "/").optional.clone();
        let runr = optional(&outs[0].1);
        let host_root_shared = parse_mountinfo(&host_mountinfo())
            .iter()
            .any(|m| m.point == "/" && m.optional.iter().any(|o| o == "shared"));
        if !host_root_shared {
            assert!(runr.is_empty(), "{prop}: / has {runr:?}");
        }
        for (name, out, _) in &outs[1..] {
            assert_eq!(
                runr,
                optional(out),
                "rootfsPropagation={prop}: runr vs {name}"
            );
        }
    }
    // "shared" makes the container's `/` a shared mount (runc 1.1.5 leaves it private on this
    // host, which is not what the field asks for).
    let b = Bundle::shell("cat /proc/self/mountinfo");
    let mut b = b;
    b.config["linux"]["rootfsPropagation"] = "shared".into();
    let out = run_ok(&Runtime::runr(), &b, "shared");
    let root = mount_at(&parse_mountinfo(&out), "/").optional.clone();
    assert_eq!(root, ["shared"], "rootfsPropagation=shared: {out}");
}

// ---------------------------------------------------------------------------------------------
// mounts

#[test]
fn bind_mounts_of_dirs_and_files_ro_and_rw() {
    let src = host_dir("bindsrc");
    std::fs::write(src.join("hello"), "from host\n").unwrap();
    let file = src.join("single");
    std::fs::write(&file, "one file\n").unwrap();
    let (out, b) = same_everywhere(
        || {
            let mut b = Bundle::shell(
                "cat /data/hello /data-ro/hello /deep/new/single; echo x > /data/written && echo rw=ok; \
                 (echo x > /data-ro/written) 2>&1; echo ro=$?; ls -l /deep/new/single | cut -c1; \
                 grep -E ' /(data|data-ro|deep/new/single) ' /proc/self/mountinfo | cut -d' ' -f5,6",
            );
            add_mount(
                &mut b,
                json!({"destination": "/data", "type": "bind", "source": src, "options": ["rbind", "rw"]}),
            );
            add_mount(
                &mut b,
                json!({"destination": "/data-ro", "type": "bind", "source": src, "options": ["bind", "ro", "nosuid", "nodev", "noexec"]}),
            );
            // A file bind onto a destination that does not exist: the runtime creates an empty
            // file (and the directories above it) as the mount point.
            add_mount(
                &mut b,
                json!({"destination": "/deep/new/single", "source": file, "options": ["bind", "ro"]}),
            );
            b
        },
        "bind",
    );
    assert!(
        out.starts_with("from host\nfrom host\none file\nrw=ok\n"),
        "{out}"
    );
    assert!(
        out.contains("Read-only file system") && out.contains("ro=1"),
        "{out}"
    );
    assert!(
        out.contains("\n-\n"),
        "the file mount point is a regular file: {out}"
    );
    assert!(out.contains("/data rw"), "{out}");
    assert!(out.contains("/data-ro ro,nosuid,nodev,noexec"), "{out}");
    assert!(out.contains("/deep/new/single ro"), "{out}");
    assert!(
        src.join("written").exists(),
        "rw bind writes reach the host"
    );
    assert!(b.rootfs().join("deep/new/single").is_file());
    std::fs::remove_dir_all(&src).unwrap();
}

fn host_mount(args: &[&str]) {
    let st = std::process::Command::new("mount")
        .args(args)
        .status()
        .unwrap();
    assert!(st.success(), "mount {args:?}");
}

fn host_umount(path: &Path) {
    let _ = std::process::Command::new("umount").arg(path).status();
}

#[test]
fn rbind_carries_submounts_and_bind_does_not() {
    let src = host_dir("rbindsrc");
    let sub = src.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    host_mount(&[
        "-t",
        "tmpfs",
        "-o",
        "size=1m",
        "tmpfs",
        sub.to_str().unwrap(),
    ]);
    std::fs::write(sub.join("inner"), "submount\n").unwrap();
    let outs = run_everywhere(
        || {
            let mut b = Bundle::shell(
                "cat /r/sub/inner; echo r=$?; cat /b/sub/inner 2>/dev/null; echo b=$?",
            );
            add_mount(
                &mut b,
                json!({"destination": "/r", "type": "bind", "source": src, "options": ["rbind", "ro"]}),
            );
            add_mount(
                &mut b,
                json!({"destination": "/b", "type": "bind", "source": src, "options": ["bind", "ro"]}),
            );
            b
        },
        "rbind",
    );
    host_umount(&sub);
    for (name, out, _) in &outs {
        assert_eq!(out, "submount\nr=0\nb=1\n", "{name}");
    }
    std::fs::remove_dir_all(&src).unwrap();
}

#[test]
fn bind_propagation_options_show_in_mountinfo_like_runc() {
    let src = host_dir("propsrc");
    // The source is its own shared mount, so that slave and shared have a peer to follow.
    let s = src.to_str().unwrap();
    host_mount(&["--bind", s, s]);
    host_mount(&["--make-shared", s]);
    let outs = run_everywhere(
        || {
            let mut b = Bundle::shell("cat /proc/self/mountinfo");
            for (dest, prop) in [
                ("/p-private", "rprivate"),
                ("/p-slave", "rslave"),
                ("/p-shared", "rshared"),
            ] {
                add_mount(
                    &mut b,
                    json!({"destination": dest, "type": "bind", "source": src, "options": ["rbind", prop]}),
                );
            }
            b
        },
        "bindprop",
    );
    host_umount(&src);
    let fields = |text: &str| -> BTreeMap<String, Vec<String>> {
        let m = parse_mountinfo(text);
        ["/p-private", "/p-slave", "/p-shared"]
            .iter()
            .map(|p| (p.to_string(), mount_at(&m, p).optional.clone()))
            .collect()
    };
    let runr = fields(&outs[0].1);
    assert!(runr["/p-private"].is_empty(), "{runr:?}");
    assert!(runr["/p-slave"].iter().any(|o| o == "master"), "{runr:?}");
    assert!(runr["/p-shared"].iter().any(|o| o == "shared"), "{runr:?}");
    for (name, out, _) in &outs[1..] {
        assert_eq!(runr, fields(out), "bind propagation: runr vs {name}");
    }
    std::fs::remove_dir_all(&src).unwrap();
}

#[test]
fn tmpfs_size_mode_and_flags() {
    let (out, _) = same_everywhere(
        || {
            let mut b = Bundle::shell(
                "stat -c %a /t; grep ' /t ' /proc/self/mountinfo | cut -d' ' -f6-; \
                 printf '#!/bin/sh\\necho ran\\n' > /t/s; chmod +x /t/s; /t/s 2>/dev/null; echo exec=$?",
            );
            add_mount(
                &mut b,
                json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "noexec", "relatime", "size=1m", "mode=1770"]}),
            );
            b
        },
        "tmpfs",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1770", "{out}");
    assert!(
        lines[1].starts_with("rw,nosuid,nodev,noexec,relatime"),
        "{out}"
    );
    assert!(
        lines[1].contains("size=1024k") && lines[1].contains("mode=1770"),
        "{out}"
    );
    assert!(out.ends_with("exec=126\n"), "noexec: {out}");
}

#[test]
fn proc_and_read_only_sysfs() {
    let (out, _) = same_everywhere(
        || {
            Bundle::shell(
                "(echo 1 > /sys/kernel/uevent_helper) 2>&1; echo sys=$?; \
                 test -r /proc/self/status && echo proc=ok",
            )
        },
        "procsys",
    );
    assert!(
        out.contains("Read-only file system") && out.contains("sys=1"),
        "{out}"
    );
    assert!(out.contains("proc=ok"), "{out}");
}

/// The Docker fixture, adapted: the image is our busybox rootfs, the per-container files are
/// stand-ins in the bundle, and seccomp and hooks (other issues) are dropped.
fn docker_bundle(script: &str) -> Bundle {
    let text =
        std::fs::read_to_string("/work/shared/fixtures/engine-configs/docker-config-default.json")
            .expect("docker fixture");
    let mut config: Value = serde_json::from_str(&text).unwrap();
    let mut b = Bundle::shell(script);
    let files = b.dir.join("docker");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
    std::fs::write(files.join("hostname"), "dockerhost\n").unwrap();
    std::fs::write(files.join("hosts"), "127.0.0.1 localhost dockerhost\n").unwrap();
    for m in config["mounts"].as_array_mut().unwrap() {
        if m["type"] == "bind" {
            let name = Path::new(m["source"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_owned();
            m["source"] = json!(files.join(name));
        }
    }
    config["root"] = json!({"path": "rootfs"});
    config["process"]["args"] = b.config["process"]["args"].clone();
    config["process"]["terminal"] = false.into();
    config["linux"]["cgroupsPath"] = b.config["linux"]["cgroupsPath"].clone();
    let linux = config["linux"].as_object_mut().unwrap();
    linux.remove("seccomp");
    config.as_object_mut().unwrap().remove("hooks");
    b.config = config;
    b
}

#[test]
fn docker_default_config_mounts_match_runc() {
    let outs = run_everywhere(
        || {
            docker_bundle(
                "cat /etc/hosts /etc/hostname /etc/resolv.conf; hostname; \
                 cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range; \
                 test -w /etc/hosts && echo hosts-writable; cat /proc/self/mountinfo",
            )
        },
        "docker",
    );
    let (out, b) = (&outs[0].1, &outs[0].2);
    assert!(
        out.starts_with("127.0.0.1 localhost dockerhost\ndockerhost\nnameserver 127.0.0.1\n"),
        "{out}"
    );
    let mut lines = out.lines().skip(3);
    assert_eq!(lines.next(), b.config["hostname"].as_str());
    assert_eq!(lines.next(), Some("0"), "ip_unprivileged_port_start");
    assert_eq!(
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["0", "2147483647"]),
        "ping_group_range"
    );
    assert!(out.contains("hosts-writable"), "{out}");
    let mounts = parse_mountinfo(out);
    let shm = mount_at(&mounts, "/dev/shm");
    assert!(has_opt(&shm.superopts, "size=65536k"), "{shm:?}");
    let hosts = mount_at(&mounts, "/etc/hosts");
    assert!(hosts.optional.is_empty(), "rprivate: {hosts:?}");
    assert!(hosts.root.ends_with("/docker/hosts"), "{hosts:?}");
    let norm = |text: &str, b: &Bundle| -> Vec<MountLine> {
        let text = text
            .replace(b.dir.to_str().unwrap(), "BUNDLE")
            .replace(&b.cgroup_path(), "CGROUP");
        mounts_but_cgroup_flags(&text)
    };
    for (name, o, ob) in &outs[1..] {
        assert_eq!(
            norm(out, b),
            norm(o, ob),
            "docker mountinfo: runr vs {name}"
        );
        let head: Vec<&str> = o.lines().take(7).collect();
        assert_eq!(
            out.lines().take(7).collect::<Vec<_>>(),
            head,
            "runr vs {name}"
        );
    }
    // Nothing of the fixture's host paths was created on this host.
    assert!(!Path::new("/var/lib/docker/containers/aa12d06430f9e9a5d5db44c70d49e26d8c2935425169b5cc53d2bd4482479aff").exists());
}

// ---------------------------------------------------------------------------------------------
// destinations resolved inside the rootfs

/// A rootfs symlink that points at a host directory (absolute or with enough `..`): a mount
/// onto it lands inside the rootfs, never on the host directory.
fn symlink_escape(link_target: impl Fn(&Path) -> PathBuf) {
    for rt in runtimes() {
        let host_target = host_dir("hosttarget");
        let src = host_dir("escsrc");
        std::fs::write(src.join("from-source"), "x").unwrap();
        let mut b = Bundle::new(&["sleep", "100"]);
        std::os::unix::fs::symlink(link_target(&host_target), b.rootfs().join("etc/evil")).unwrap();
        add_mount(
            &mut b,
            json!({"destination": "/etc/evil", "type": "bind", "source": src, "options": ["rbind"]}),
        );
        add_mount(
            &mut b,
            json!({"destination": "/etc/evil/t", "type": "tmpfs", "source": "tmpfs"}),
        );
        let before = host_mountinfo();
        let id = unique("escape");
        rt.create_ok(&b, &id, &[]);
        let host_path = host_target.to_string_lossy().into_owned();
        let after = host_mountinfo();
        assert!(
            !after.contains(&host_path),
            "{}: the host directory was mounted over: {after}",
            rt.name
        );
        // Other tests mount and unmount on the host meanwhile: look only at what is new and
        // could be ours.
        let ours = [
            host_path.as_str(),
            &src.to_string_lossy(),
            &b.dir.to_string_lossy(),
        ]
        .map(String::from);
        let new: Vec<&str> = after.lines().filter(|l| !before.contains(l)).collect();
        assert!(
            !new.iter()
                .any(|l| ours.iter().any(|o| l.contains(o.as_str()))),
            "{}: new host mounts of this container: {new:?}",
            rt.name
        );
        assert_eq!(
            std::fs::read_dir(&host_target).unwrap().count(),
            0,
            "{}: the host directory got the mount's content",
            rt.name
        );
        // From the container's side the mounts sit at the clamped path inside its rootfs.
        let pid = rt.state(&id)["pid"].as_i64().unwrap();
        let inside = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
        let mounts = parse_mountinfo(&inside);
        let src_name = src.file_name().unwrap().to_str().unwrap();
        assert!(
            mounts
                .iter()
                .any(|m| m.point == host_path && m.root.ends_with(src_name)),
            "{}: the bind is at {host_path} inside the rootfs: {inside}",
            rt.name
        );
        assert!(
            mounts
                .iter()
                .any(|m| m.point == format!("{host_path}/t") && m.fstype == "tmpfs"),
            "{}: {inside}",
            rt.name
        );
        assert!(
            b.rootfs()
                .join(host_target.strip_prefix("/").unwrap())
                .is_dir(),
            "{}: the mount point was created inside the rootfs",
            rt.name
        );
        delete_no_leaks(&rt, &id, &b);
        std::fs::remove_dir_all(&host_target).unwrap();
        std::fs::remove_dir_all(&src).unwrap();
    }
}

#[test]
fn absolute_symlink_destination_stays_inside_the_rootfs() {
    symlink_escape(|t| t.to_path_buf());
}

#[test]
fn relative_dotdot_symlink_destination_stays_inside_the_rootfs() {
    symlink_escape(|t| {
        Path::new("../../../../../../../../../..").join(t.strip_prefix("/").unwrap())
    });
}

#[test]
fn destination_escaping_root_with_dotdot_is_rejected_at_create() {
    let rt = Runtime::runr();
    let mut b = Bundle::new(&["true"]);
    add_mount(
        &mut b,
        json!({"destination": "/../../tmp/escape", "type": "tmpfs", "source": "tmpfs"}),
    );
    let idx = b.config["mounts"].as_array().unwrap().len() - 1;
    let id = unique("dotdot");
    let out = rt.create(&b, &id, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "create must fail");
    assert!(
        err.contains(&format!("mounts[{idx}].destination")),
        "the error names the field: {err}"
    );
    assert!(
        !host_mountinfo().contains("/tmp/escape"),
        "nothing was mounted on the host"
    );
    assert!(!Path::new("/tmp/escape").exists());
    assert_no_leaks(&rt, &id, &b);
}

// ---------------------------------------------------------------------------------------------
// masked and read-only paths

#[test]
fn masked_paths_files_dirs_and_missing() {
    let (out, b) = same_everywhere(
        || {
            let mut b = Bundle::shell(
                "stat -c '%F %t:%T' /proc/timer_list /etc/secret; cat /etc/secret; echo cat=$?; \
                 ls -A /secretdir | wc -l; touch /secretdir/x 2>/dev/null; echo touch=$?; \
                 grep -E ' /(secretdir|etc/secret) ' /proc/self/mountinfo | cut -d' ' -f5,6,9",
            );
            std::fs::write(b.rootfs().join("etc/secret"), "top secret\n").unwrap();
            std::fs::create_dir_all(b.rootfs().join("secretdir")).unwrap();
            std::fs::write(b.rootfs().join("secretdir/file"), "x").unwrap();
            let masked = b.config["linux"]["maskedPaths"].as_array_mut().unwrap();
            masked.push("/etc/secret".into());
            masked.push("/secretdir".into());
            masked.push("/does/not/exist".into());
            b
        },
        "masked",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "character special file 1:3", "{out}");
    assert_eq!(lines[1], "character special file 1:3", "{out}");
    assert_eq!(lines[2], "cat=0", "the masked file reads empty: {out}");
    assert_eq!(lines[3], "0", "the masked dir is empty: {out}");
    assert_eq!(lines[4], "touch=1", "the masked dir is read-only: {out}");
    assert!(out.contains("/secretdir ro"), "{out}");
    assert!(
        !b.rootfs().join("does").exists(),
        "a missing masked path is not created"
    );
}

#[test]
fn readonly_paths_refuse_writes() {
    let (out, b) = same_everywhere(
        || {
            let mut b = Bundle::shell(
                "(echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1; echo sys=$?; touch /ro-dir/x 2>&1; echo dir=$?; \
                 grep -E ' /(proc/sys|ro-dir) ' /proc/self/mountinfo | cut -d' ' -f5,6",
            );
            b.config["root"]["readonly"] = false.into();
            std::fs::create_dir_all(b.rootfs().join("ro-dir")).unwrap();
            let ro = b.config["linux"]["readonlyPaths"].as_array_mut().unwrap();
            ro.push("/ro-dir".into());
            ro.push("/not/there".into());
            b
        },
        "ropaths",
    );
    assert!(out.contains("sys=1") && out.contains("dir=1"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(
        out.contains("/proc/sys ro") && out.contains("/ro-dir ro"),
        "{out}"
    );
    assert!(!b.rootfs().join("ro-dir/x").exists());
    assert!(!b.rootfs().join("not").exists());
}

// ---------------------------------------------------------------------------------------------
// devices, hostname, sysctl

#[test]
fn default_devices_and_dev_symlinks() {
    let (out, _) = same_everywhere(
        || {
            Bundle::shell(
                "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a %u:%g' /dev/$d; done; \
                 for l in fd stdin stdout stderr ptmx; do echo $l $(readlink /dev/$l); done; \
                 head -c 4 /dev/zero | wc -c; echo x > /dev/full 2>/dev/null; echo full=$?",
            )
        },
        "devices",
    );
    let expected = "\
/dev/null character special file 1:3 666 0:0
/dev/zero character special file 1:5 666 0:0
/dev/full character special file 1:7 666 0:0
/dev/random character special file 1:8 666 0:0
/dev/urandom character special file 1:9 666 0:0
/dev/tty character special file 5:0 666 0:0
fd /proc/self/fd
stdin /proc/self/fd/0
stdout /proc/self/fd/1
stderr /proc/self/fd/2
ptmx pts/ptmx
4
full=1
";
    assert_eq!(out, expected);
}

#[test]
fn linux_devices_entries_get_mode_and_owner() {
    let (out, _) = same_everywhere(
        || {
            let mut b = Bundle::shell(
                "stat -c '%n %F %t:%T %a %u:%g' /dev/mynull /dev/sub/myzero; \
                 head -c 3 /dev/sub/myzero | wc -c",
            );
            b.config["linux"]["devices"] = json!([
                {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600, "uid": 1000, "gid": 1000},
                {"path": "/dev/sub/myzero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o640, "uid": 0, "gid": 5}
            ]);
            b.config["linux"]["resources"]["devices"] = json!([
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
            ]);
            b
        },
        "specdev",
    );
    assert_eq!(
        out,
        "/dev/mynull character special file 1:3 600 1000:1000\n\
         /dev/sub/myzero character special file 1:5 640 0:5\n3\n"
    );
}

#[test]
fn hostname_is_set_in_the_uts_namespace() {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let (out, _) = same_everywhere(
        || Bundle::shell("hostname; cat /proc/sys/kernel/hostname /etc/hostname"),
        "hostname",
    );
    assert_eq!(
        out, "runr-test\nrunr-test\nimage\n",
        "the image's /etc/hostname is untouched"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host,
        "the host keeps its hostname"
    );
}

#[test]
fn docker_sysctls_apply_in_the_network_namespace_only() {
    let host_port =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start").unwrap();
    let host_ping = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let (out, _) = same_everywhere(
        || {
            let mut b = Bundle::shell(
                "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range",
            );
            b.config["linux"]["sysctl"] = json!({
                "net.ipv4.ip_unprivileged_port_start": "0",
                "net.ipv4.ping_group_range": "0 2147483647"
            });
            b
        },
        "sysctl",
    );
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "2147483647"]
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start").unwrap(),
        host_port
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap(),
        host_ping
    );
}
