//! runc parity for mounts, the rootfs and namespaces (issue #12, items 6, 7, 9, 10 and 12):
//! a read-only `/dev`, bind sources the container's root cannot reach, `--no-pivot` without a
//! reachable host procfs, `rootfsPropagation: "unbindable"`, and a config that lists no
//! namespace at all. Each scenario runs under runr and under runc (when installed) and the two
//! are compared; where runc 1.1.5 lacks what newer runc does, the test says so.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use tests_integration::{assert_no_leaks, delete_no_leaks, runtimes, unique, Bundle, Runtime};

/// Runs `b` in the foreground under `rt` (unique id): (exit code, stdout, stderr), after
/// checking that nothing of it is left on the host.
fn run(rt: &Runtime, b: &Bundle, what: &str, flags: &[&str]) -> (i32, String, String) {
    let id = unique(what);
    b.write();
    let mut args = vec!["run", "--bundle", b.dir.to_str().unwrap()];
    args.extend_from_slice(flags);
    args.push(&id);
    let out = rt.exec(&args);
    assert_no_leaks(rt, &id, b);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn add_caps(c: &mut Value, caps: &[&str]) {
    for set in ["bounding", "effective", "permitted"] {
        let list = c["process"]["capabilities"][set].as_array_mut().unwrap();
        list.extend(caps.iter().map(|c| json!(c)));
    }
}

/// Asserts every runtime printed the same as runr (exit 0 everywhere); returns runr's output.
fn same_everywhere(outs: &[(&'static str, String)]) -> String {
    for (name, out) in &outs[1..] {
        assert_eq!(&outs[0].1, out, "runr and {name} differ");
    }
    outs[0].1.clone()
}

// ---------------------------------------------------------------------------------------------
// Item 6: `ro` on the /dev tmpfs (and on any tmpfs) applies once what goes below it is in place

#[test]
fn readonly_dev_and_tmpfs_get_their_submounts_and_nodes_first() {
    // Each line: a mount point and whether it is ro or rw; then what writes succeed.
    let script = "awk '$5 ~ /^\\/(dev|run)/ {split($6, o, \",\"); print $5, o[1]}' \
                  /proc/self/mountinfo; \
                  touch /dev/new 2>/dev/null && echo dev-writable || echo dev-readonly; \
                  touch /run/new 2>/dev/null && echo run-writable || echo run-readonly; \
                  echo x > /dev/null && echo null-ok; \
                  touch /dev/shm/f && echo shm-ok; touch /run/sub/f && echo sub-ok; \
                  test -c /dev/zero && test -e /dev/ptmx && test -L /dev/fd && echo nodes-ok";
    let mut outs = Vec::new();
    for rt in runtimes() {
        let mut b = Bundle::shell(script);
        for m in b.config["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/dev" {
                m["options"].as_array_mut().unwrap().push(json!("ro"));
            }
        }
        let mounts = b.config["mounts"].as_array_mut().unwrap();
        // A read-only tmpfs with a writable one mounted below it.
        mounts.push(
            json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "ro", "mode=755"]}),
        );
        mounts.push(
            json!({"destination": "/run/sub", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "mode=1777"]}),
        );
        let (code, out, err) = run(&rt, &b, "rodev", &[]);
        assert_eq!(code, 0, "{}: {out}{err}", rt.name);
        outs.push((rt.name, out));
    }
    let out = same_everywhere(&outs);
    assert_eq!(
        out,
        "/dev ro\n/dev/pts rw\n/dev/shm rw\n/dev/mqueue rw\n/run ro\n/run/sub rw\n\
         dev-readonly\nrun-readonly\nnull-ok\nshm-ok\nsub-ok\nnodes-ok\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 7: with a user namespace, bind sources are opened while the runtime can reach them

/// runc's `userns.bats` set-up: a user namespace (host 100000/200000), a rootfs owned by it, and
/// two bind sources inside mode-700 host directories the container's root cannot enter.
fn userns_bundle_with_inaccessible_sources(args: &[&str]) -> Bundle {
    let mut b = Bundle::new(args);
    let c = &mut b.config;
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65534}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65534}]);
    let mounts = c["mounts"].as_array_mut().unwrap();
    for i in 1..=2 {
        let src = b.dir.join(format!("source-inaccessible-{i}"));
        std::fs::create_dir_all(src.join("dir")).unwrap();
        std::fs::write(src.join("dir/foo.txt"), format!("file {i}\n")).unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o700)).unwrap();
        // One plain bind, one read-only rbind: flags must be applied through the fd as well.
        let options = if i == 1 {
            json!(["bind"])
        } else {
            json!(["rbind", "ro", "nosuid"])
        };
        mounts.push(json!({"source": format!("source-inaccessible-{i}/dir"),
                           "destination": format!("/tmp/mount-{i}"), "options": options}));
    }
    chown_rootfs(&b.rootfs(), 100000, 200000);
    b
}

/// Gives the container's root the rootfs, except the busybox binary, a hard link to the host's
/// that must keep its owner (it is world-executable anyway).
fn chown_rootfs(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid)).unwrap();
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            if e.file_name() != "busybox" {
                chown_rootfs(&e.path(), uid, gid);
            }
        }
    }
}

#[test]
fn userns_with_two_inaccessible_bind_mounts_then_exec() {
    let check = "cat /tmp/mount-1/foo.txt /tmp/mount-2/foo.txt; \
                 awk '$5 ~ /^\\/tmp\\/mount/ {split($6, o, \",\"); print $5, o[1], o[2]}' \
                 /proc/self/mountinfo; \
                 touch /tmp/mount-2/x 2>/dev/null && echo 2-writable || echo 2-readonly";
    let want = "file 1\nfile 2\n/tmp/mount-1 rw relatime\n/tmp/mount-2 ro nosuid\n2-readonly\n";
    let mut outs = Vec::new();
    for rt in runtimes() {
        // `run` straight to the check (runc's "userns with 2 inaccessible mounts") …
        let b = userns_bundle_with_inaccessible_sources(&["sh", "-c", check]);
        let (code, out, err) = run(&rt, &b, "userns-inacc", &[]);
        assert_eq!(code, 0, "{}: {out}{err}", rt.name);
        assert_eq!(out, want, "{}", rt.name);
        // … and a detached container, then the check through `exec` ("+ exec").
        let b = userns_bundle_with_inaccessible_sources(&["sleep", "60"]);
        let id = unique("userns-inacc-exec");
        rt.run_detached_ok(&b, &id, &[]);
        let out = rt.exec(&["exec", &id, "sh", "-c", check]);
        assert!(
            out.status.success(),
            "{} exec: {}",
            rt.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let exec_out = String::from_utf8_lossy(&out.stdout).into_owned();
        delete_no_leaks(&rt, &id, &b);
        outs.push((rt.name, exec_out));
    }
    assert_eq!(same_everywhere(&outs), want);
}

#[test]
fn userns_bind_source_that_does_not_exist_is_refused_naming_it() {
    for rt in runtimes() {
        let mut b = userns_bundle_with_inaccessible_sources(&["true"]);
        let mounts = b.config["mounts"].as_array_mut().unwrap();
        let index = mounts.len();
        mounts.push(
            json!({"source": "/nonexistent-runr-source", "destination": "/tmp/m",
                           "options": ["bind"]}),
        );
        let id = unique("userns-nosrc");
        let out = rt.create(&b, &id, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}: create accepted it", rt.name);
        assert!(
            err.contains("nonexistent-runr-source"),
            "{}: {err}",
            rt.name
        );
        if rt.name == "runr" {
            assert!(err.contains(&format!("mounts[{index}].source")), "{err}");
        }
        assert_no_leaks(&rt, &id, &b);
    }
}

/// A tmpfs mounted on a fresh host directory, made shared; unmounted and removed on drop.
struct SharedTmpfs(std::path::PathBuf);

impl SharedTmpfs {
    fn new() -> SharedTmpfs {
        let dir = tests_integration::scratch().join(unique("shared"));
        std::fs::create_dir_all(&dir).unwrap();
        let guard = SharedTmpfs(dir);
        let d = guard.0.to_str().unwrap();
        for args in [vec!["-t", "tmpfs", "tmpfs", d], vec!["--make-shared", d]] {
            let st = Command::new("mount").args(&args).status().unwrap();
            assert!(st.success(), "mount {args:?}");
        }
        guard
    }
}

impl Drop for SharedTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn userns_bind_of_a_shared_host_mount_is_a_slave_of_it() {
    // The source, opened by the runtime on the host, must still come out as a slave in the
    // container (as a bind made inside the container's rslave namespace does): never a peer
    // through which the container's mounts would reach the host.
    let shared = SharedTmpfs::new();
    let src = shared.0.join("private/dir");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::set_permissions(
        shared.0.join("private"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let script = "awk '$5 == \"/tmp/m\" {for (i = 7; $i != \"-\"; i++) print $i}' \
                  /proc/self/mountinfo";
    let mut outs = Vec::new();
    for rt in runtimes() {
        let mut b = userns_bundle_with_inaccessible_sources(&["sh", "-c", script]);
        b.config["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"source": src, "destination": "/tmp/m", "options": ["rbind"]}));
        let (code, out, err) = run(&rt, &b, "userns-shared", &[]);
        assert_eq!(code, 0, "{}: {out}{err}", rt.name);
        assert!(
            out.starts_with("master:") && out.lines().count() == 1,
            "{}: {out}",
            rt.name
        );
        outs.push((rt.name, out));
    }
    same_everywhere(&outs);
}

// ---------------------------------------------------------------------------------------------
// Item 9: --no-pivot leaves no full host procfs behind

#[test]
fn no_pivot_does_not_let_a_nested_userns_mount_a_bare_proc() {
    // runc's "runc run --no-pivot must not expose bare /proc": a user namespace inside the
    // container may mount a fresh procfs only if a full one is already visible in its mount
    // namespace; the host's, left under the moved rootfs, would be one.
    let script = "mount -t proc none /proc && echo mounted-bare-proc";
    for rt in runtimes() {
        let mut b = Bundle::new(&["unshare", "-mrpf", "sh", "-c", script]);
        add_caps(&mut b.config, &["CAP_SETFCAP"]);
        let (code, out, err) = run(&rt, &b, "nopivot-proc", &["--no-pivot"]);
        assert_ne!(code, 0, "{}: {out}{err}", rt.name);
        assert!(!out.contains("mounted-bare-proc"), "{}: {out}", rt.name);
        assert!(
            err.contains("mount: permission denied"),
            "{}: stdout {out} stderr {err}",
            rt.name
        );
        // Control: the same container still runs and sees its own /proc.
        let b = Bundle::shell("test -r /proc/self/status && echo own-proc");
        let (code, out, err) = run(&rt, &b, "nopivot-ok", &["--no-pivot"]);
        assert_eq!(
            (code, out.as_str()),
            (0, "own-proc\n"),
            "{}: {err}",
            rt.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Item 10: rootfsPropagation "unbindable"

#[test]
fn rootfs_propagation_unbindable_makes_the_root_unbindable() {
    let script =
        "awk '$5 == \"/\" {for (i = 7; $i != \"-\"; i++) print $i}' /proc/self/mountinfo; \
                  mkdir -p /tmp/x; mount --bind / /tmp/x 2>/dev/null && echo bound || echo refused";
    let mut outs = Vec::new();
    for rt in runtimes() {
        let mut b = Bundle::shell(script);
        b.config["linux"]["rootfsPropagation"] = json!("unbindable");
        b.config["root"]["readonly"] = json!(false);
        add_caps(&mut b.config, &["CAP_SYS_ADMIN"]);
        let (code, out, err) = run(&rt, &b, "unbindable", &[]);
        if rt.name == "runc" && code != 0 && err.contains("invalid argument") {
            // runc before 1.2.7 / 1.3.1 (PR #4724; 1.1.5 here) fails to bind the rootfs onto
            // itself once `/` is unbindable; newer runc makes the rootfs's parent mount private
            // first and applies "unbindable" after pivot_root, as runr does.
            eprintln!(
                "runc {}: fails as runc < 1.2.7 does: {err}",
                runc_version(&rt)
            );
            continue;
        }
        assert_eq!(code, 0, "{}: {out}{err}", rt.name);
        outs.push((rt.name, out));
    }
    assert_eq!(same_everywhere(&outs), "unbindable\nrefused\n");
}

fn runc_version(rt: &Runtime) -> String {
    let out = Command::new(&rt.bin).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().next().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------------------------------------
// Item 12: no namespace entry of a type: the runtime's namespace of that type is inherited

const NS_TYPES: [&str; 8] = ["mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"];

/// A config that lists no namespace at all and nothing that needs a mount namespace.
fn no_namespaces_bundle() -> Bundle {
    let mut b = Bundle::new(&["sleep", "60"]);
    let c = &mut b.config;
    c["linux"]["namespaces"] = json!([]);
    c["mounts"] = json!([]);
    c["root"]["readonly"] = json!(false);
    let linux = c["linux"].as_object_mut().unwrap();
    linux.remove("maskedPaths");
    linux.remove("readonlyPaths");
    c.as_object_mut().unwrap().remove("hostname");
    b
}

/// The host's mountinfo lines for `/` (with their propagation fields).
fn root_mounts() -> Vec<String> {
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    host.lines()
        .filter(|l| l.split(' ').nth(4) == Some("/"))
        .map(String::from)
        .collect()
}

fn ns_of(pid: &str) -> Vec<String> {
    NS_TYPES
        .iter()
        .map(|t| {
            let link = std::fs::read_link(format!("/proc/{pid}/ns/{t}")).unwrap();
            link.to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn a_config_without_namespaces_inherits_every_namespace_of_the_runtime() {
    for rt in runtimes() {
        let mut b = no_namespaces_bundle();
        if rt.name == "runc" {
            // runc 1.1.5 closes its fds through /proc/self/fd inside the rootfs: it needs a
            // procfs there (runr needs none, and refuses mounts without a mount namespace).
            b.config["mounts"] =
                json!([{"destination": "/proc", "type": "proc", "source": "proc"}]);
        }
        let id = unique("inherit-ns");
        let before = root_mounts();
        let runtime_ns = if rt.name == "runc" {
            // runc mounts into whatever mount namespace it inherits (it makes `/` rslave and
            // binds the rootfs onto itself, and leaves both behind): it runs here in a
            // throwaway copy of ours, so the host's stays as it is. The container must then
            // be in that copy's mount namespace and in all of our other namespaces.
            let script = format!(
                "readlink /proc/self/ns/mnt; exec {} --root {} run -d --bundle {} {id} \
                 >{dir}/stdout 2>{dir}/stderr",
                rt.bin.display(),
                rt.root.display(),
                b.dir.display(),
                dir = b.dir.display()
            );
            b.write();
            let out = Command::new("unshare")
                .args(["-m", "--propagation", "unchanged", "sh", "-c", &script])
                .output()
                .unwrap();
            let err = std::fs::read_to_string(b.dir.join("stderr")).unwrap_or_default();
            assert!(out.status.success(), "runc run -d: {err}");
            let mut ns = ns_of("self");
            ns[0] = String::from_utf8_lossy(&out.stdout).trim().to_string();
            ns
        } else {
            rt.run_detached_ok(&b, &id, &[]);
            ns_of("self")
        };
        let pid = rt.state(&id)["pid"].to_string();
        assert_eq!(
            ns_of(&pid),
            runtime_ns,
            "{}: namespaces {NS_TYPES:?}",
            rt.name
        );
        let root = std::fs::read_link(format!("/proc/{pid}/root")).unwrap();
        assert_eq!(root, b.rootfs(), "{}: chrooted into the rootfs", rt.name);
        // An exec'd process shares the mount namespace too, and must land in the same chroot,
        // not in the host's `/` (the rootfs's /etc/hostname says "image").
        let out = rt.exec(&["exec", &id, "cat", "/etc/hostname"]);
        let err = String::from_utf8_lossy(&out.stderr);
        if rt.name == "runc" && err.contains("ns paths are empty") {
            // runc 1.1.5 cannot exec into a container that lists no namespace at all.
            eprintln!("runc {}: exec refused: {err}", runc_version(&rt));
        } else {
            assert!(out.status.success(), "{} exec: {err}", rt.name);
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "image\n",
                "{}",
                rt.name
            );
        }
        if rt.name == "runr" {
            // Nothing mounted below the bundle, no propagation changed: the host's mount table
            // is untouched.
            let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
            let dir = b.dir.to_string_lossy();
            let mounted: Vec<&str> = host.lines().filter(|l| l.contains(dir.as_ref())).collect();
            assert!(mounted.is_empty(), "runr mounted on the host: {mounted:?}");
            assert_eq!(
                root_mounts(),
                before,
                "runr changed the host's / propagation"
            );
        }
        delete_no_leaks(&rt, &id, &b);
    }
}

/// A change to a config.json.
type Edit = fn(&mut Value);

#[test]
fn without_a_mount_namespace_fields_that_need_one_are_refused() {
    // runc would mount these in the runtime's mount namespace (the host's) and leave them
    // there (and make the devices in the image's /dev); it refuses maskedPaths and readonlyPaths ("unable to restrict sys entries without
    // a private MNT namespace"). runr refuses every such field, naming it, and leaves nothing.
    let rt = Runtime::runr();
    let cases: [(&str, Edit); 6] = [
        (
            "mounts",
            |c| c["mounts"] = json!([{"destination": "/proc", "type": "proc", "source": "proc"}]),
        ),
        ("linux.maskedPaths", |c| {
            c["linux"]["maskedPaths"] = json!(["/proc/kcore"])
        }),
        ("linux.readonlyPaths", |c| {
            c["linux"]["readonlyPaths"] = json!(["/proc/sys"])
        }),
        ("linux.rootfsPropagation", |c| {
            c["linux"]["rootfsPropagation"] = json!("private")
        }),
        ("root.readonly", |c| c["root"]["readonly"] = json!(true)),
        ("linux.devices", |c| {
            c["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10,
                                            "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}])
        }),
    ];
    for (field, edit) in cases {
        let mut b = no_namespaces_bundle();
        edit(&mut b.config);
        let id = unique("nomntns");
        let out = rt.create(&b, &id, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{field}: create accepted it");
        assert!(
            err.contains(&format!("config.json: {field}: needs a mount namespace")),
            "{field}: {err}"
        );
        assert_no_leaks(&rt, &id, &b);
    }
}
