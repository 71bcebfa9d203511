//! The container process's last steps as runc's users meet them (issue 12, items 5 and 11), each
//! scenario run under runr and runc side by side:
//!
//! 5. `process.cwd` is entered while the runtime still has its privileges (before the switch to
//!    `process.user` and the capability drop), for the init and for `exec`;
//! 11. `args[0]` without a slash and no `PATH` in `process.env` is still found (execvp's
//!     semantics, which the runtime-spec gives `args[0]`), and the container's seccomp profile
//!     cannot deny the runtime's own calls (chdir, getcwd, the executable lookup, close_range).

use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};
use tests_integration::{assert_no_leaks, delete_no_leaks, runtimes, unique, Bundle};

/// runc's default capabilities (no CAP_DAC_OVERRIDE, no CAP_DAC_READ_SEARCH).
fn default_caps() -> Value {
    tests_integration::default_config()["process"]["capabilities"].clone()
}

// ---------------------------------------------------------------------------------------------
// 5. process.cwd entered with the runtime's privileges

#[test]
fn cwd_only_root_may_enter_works_for_a_non_root_user_like_runc() {
    // runc's "runc run [cwd is not accessible by the container user]" shape: uid 42, cwd /root
    // (mode 700, owned by root). The process starts in /root, though it may not enter it itself.
    for rt in runtimes() {
        let mut b = Bundle::shell("pwd; id -u; ls . >/dev/null 2>&1; echo \"list: $?\"");
        std::fs::set_permissions(b.rootfs().join("root"), PermissionsExt::from_mode(0o700))
            .unwrap();
        b.config["process"]["user"] = json!({"uid": 42, "gid": 42});
        b.config["process"]["cwd"] = json!("/root");
        let id = unique("pp-cwd");
        let (code, out, err) = rt.run(&b, &id);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        // It is there, as uid 42, and still may not read it: only the entering was privileged.
        assert_eq!(out, "/root\n42\nlist: 1\n", "{}: {err}", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn exec_as_root_into_a_cwd_of_another_user_works_like_runc() {
    // The container runs as uid 1000 in its home (mode 700); `exec --user 0` starts there too,
    // though root without CAP_DAC_OVERRIDE (runc's default capabilities) may not enter it.
    for rt in runtimes() {
        let mut b = Bundle::new(&["sleep", "100"]);
        let home = b.rootfs().join("home/user");
        std::os::unix::fs::chown(&home, Some(1000), Some(1000)).unwrap();
        std::fs::set_permissions(&home, PermissionsExt::from_mode(0o700)).unwrap();
        b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        b.config["process"]["cwd"] = json!("/home/user");
        b.config["process"]["capabilities"] = default_caps();
        let id = unique("pp-exec-cwd");
        rt.run_detached_ok(&b, &id, &[]);
        let out = rt.exec(&["exec", "--user", "0", &id, "sh", "-c", "pwd; id -u"]);
        assert!(
            out.status.success(),
            "{}: {}",
            rt.name,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "/home/user\n0\n",
            "{}",
            rt.name
        );
        delete_no_leaks(&rt, &id, &b);
    }
}

/// Gives the container's root (host uid 100000) the rootfs, except the busybox binary, which
/// is a hard link to the host's and must keep its owner.
fn chown_rootfs(p: &std::path::Path, uid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(uid)).unwrap();
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            if e.file_name() != "busybox" {
                chown_rootfs(&e.path(), uid);
            }
        }
    }
}

/// Sets `dir`'s access ACL to owner rwx, `uid` r-x, nothing for anyone else (the
/// `system.posix_acl_access` xattr, version 2: sorted (tag, perm, id) entries).
fn acl_only_for(dir: &std::path::Path, uid: u32) {
    let entry = |tag: u16, perm: u16, id: u32| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend(perm.to_le_bytes());
        e.extend(id.to_le_bytes());
        e
    };
    let mut acl = 2u32.to_le_bytes().to_vec();
    acl.extend(entry(0x01, 7, u32::MAX)); // ACL_USER_OBJ
    acl.extend(entry(0x02, 5, uid)); // ACL_USER
    acl.extend(entry(0x04, 0, u32::MAX)); // ACL_GROUP_OBJ
    acl.extend(entry(0x10, 5, u32::MAX)); // ACL_MASK
    acl.extend(entry(0x20, 0, u32::MAX)); // ACL_OTHER
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: NUL-terminated path and name, and a buffer of acl.len() bytes, alive for the call.
    let rc = unsafe {
        libc::setxattr(
            path.as_ptr(),
            c"system.posix_acl_access".as_ptr(),
            acl.as_ptr().cast(),
            acl.len(),
            0,
        )
    };
    assert_eq!(rc, 0, "setxattr: {}", std::io::Error::last_os_error());
}

#[test]
fn cwd_only_the_user_may_enter_is_entered_after_the_switch_like_runc() {
    // The fallback: in a user namespace the container's root (host 100000) may not enter /data
    // (owned by the host's root, who is unmapped there; mode 700), but an ACL lets the
    // container's uid 1000 (host 101000) in. The first attempt, as the runtime, is refused;
    // the second, as process.user, works.
    for rt in runtimes() {
        let mut b = Bundle::shell("pwd; id -u");
        let data = b.rootfs().join("data");
        std::fs::create_dir(&data).unwrap();
        chown_rootfs(&b.rootfs(), 100000);
        std::os::unix::fs::chown(&data, Some(0), Some(0)).unwrap();
        std::fs::set_permissions(&data, PermissionsExt::from_mode(0o700)).unwrap();
        acl_only_for(&data, 101000);
        b.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        b.config["linux"]["uidMappings"] =
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        b.config["linux"]["gidMappings"] =
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        b.config["root"]["readonly"] = json!(false);
        b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        b.config["process"]["cwd"] = json!("/data");
        let id = unique("pp-cwd-user");
        let (code, out, err) = rt.run(&b, &id);
        assert_eq!(code, 0, "{}: {err}", rt.name);
        assert_eq!(out, "/data\n1000\n", "{}: {err}", rt.name);
        assert_no_leaks(&rt, &id, &b);
    }
}

#[test]
fn a_cwd_that_does_not_exist_as_a_directory_still_fails_clearly() {
    // Only a permission problem is retried as the user; anything else fails create, naming the
    // field, as in runc ("chdir to cwd … set in config.json failed").
    for rt in runtimes() {
        let mut b = Bundle::new(&["true"]);
        std::fs::write(b.rootfs().join("file"), "").unwrap();
        b.config["process"]["cwd"] = json!("/file");
        let id = unique("pp-cwd-file");
        let (code, _, err) = rt.run(&b, &id);
        assert_ne!(code, 0, "{}", rt.name);
        assert!(
            err.to_lowercase().contains("not a directory"),
            "{}: {err}",
            rt.name
        );
        if rt.name == "runr" {
            assert!(err.contains("process.cwd"), "{err}");
        }
        assert_no_leaks(&rt, &id, &b);
    }
}

// ---------------------------------------------------------------------------------------------
// 11. The executable without PATH, and the runtime's own calls under the profile

#[test]
fn args0_without_a_slash_and_no_path_is_found_in_the_default_search_path() {
    // The runtime-spec gives args[0] execvp's semantics: without PATH, a default search path
    // (glibc: confstr(_CS_PATH)). runr searches runc's default PATH inside the rootfs.
    for rt in runtimes() {
        for arg0 in ["true", "sh"] {
            let mut b = Bundle::new(&[arg0, "-c", "true"]);
            b.config["process"]["env"] = json!(["TERM=xterm"]);
            let id = unique("pp-nopath");
            let (code, _, err) = rt.run(&b, &id);
            assert_no_leaks(&rt, &id, &b);
            if rt.name == "runc" {
                // runc 1.1.5 looks args[0] up in its own (cleared) environment's PATH and
                // refuses: "exec: \"true\": executable file not found in $PATH".
                eprintln!("NOTE runc 1.1.5 with {arg0} and no PATH: exit {code}: {err}");
                continue;
            }
            assert_eq!(code, 0, "{} {arg0}: {err}", rt.name);
        }
    }
}

/// Denies, with EPERM, the calls a runtime makes on its own before the container's program runs
/// (entering the cwd, checking it, looking up the executable, sweeping fds).
fn denying_profile() -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{
            "names": ["chdir", "fchdir", "getcwd", "faccessat2", "faccessat", "access",
                      "close_range", "newfstatat", "statx", "umask"],
            "action": "SCMP_ACT_ERRNO"
        }]
    })
}

#[test]
fn the_profile_cannot_deny_the_runtimes_own_calls() {
    for nnp in [true, false] {
        for rt in runtimes() {
            let mut b = Bundle::new(&["sleep", "100"]);
            b.config["process"]["noNewPrivileges"] = json!(nnp);
            b.config["linux"]["seccomp"] = denying_profile();
            let id = unique("pp-deny");
            let label = format!("{} noNewPrivileges={nnp}", rt.name);
            b.write();
            let bundle = b.dir.to_str().unwrap();
            let started = rt.exec_detached(&["run", "-d", "--bundle", bundle, &id], &b);
            let err = String::from_utf8_lossy(&started.stderr).into_owned();
            if rt.name == "runc" && !nnp {
                // Without noNewPrivileges runc loads the filter before it switches the user
                // and enters the cwd (runc 1.1.5 and today's alike), so this profile fails it
                // ("unable to setup user: stat /dev/null: operation not permitted"; denying
                // only chdir: "chdir to cwd ("/") set in config.json failed"). runr does all of
                // its own work first and runs the container.
                eprintln!("NOTE runc without noNewPrivileges: {err}");
                let _ = rt.exec(&["delete", "--force", &id]);
                assert_no_leaks(&rt, &id, &b);
                continue;
            }
            assert!(started.status.success(), "{label}: {err}");
            // An exec'd process goes through the same steps.
            let out = rt.exec(&["exec", &id, "true"]);
            assert!(
                out.status.success(),
                "{label}: exec: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let status = rt.exec(&["exec", &id, "grep", "^Seccomp:", "/proc/self/status"]);
            assert_eq!(
                String::from_utf8_lossy(&status.stdout),
                "Seccomp:\t2\n",
                "{label}"
            );
            delete_no_leaks(&rt, &id, &b);
        }
    }
}
