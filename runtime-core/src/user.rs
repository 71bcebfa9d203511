//! process.user and user namespace id maps.

use std::path::Path;

use oci_spec::runtime::{Linux, LinuxIdMapping, User};

use crate::sys::{self, SysResult};

/// Maps in the kernel's `uid_map`/`gid_map` text form.
pub(crate) fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// A map that could not be written: the config field and why.
pub type MapError = (&'static str, String);

/// Writes the new user namespace's uid and gid maps as runc does: directly into
/// `/proc/PID/{uid,gid}_map` (root may map any range; an unprivileged runtime only its own id),
/// and through the setuid helpers `newuidmap`/`newgidmap` (which check /etc/subuid and
/// /etc/subgid) when the kernel refuses the direct write with EPERM. An unprivileged runtime
/// mapping only its own gid must deny setgroups first (the kernel's rule since Linux 3.19).
pub fn write_id_maps(pid: i32, linux: &Linux) -> Result<(), MapError> {
    let uids = linux.uid_mappings().as_deref().unwrap_or_default();
    let gids = linux.gid_mappings().as_deref().unwrap_or_default();
    if crate::rootless::rootless_euid() && is_own_id_only(gids, nix::unistd::getegid().as_raw()) {
        let path = format!("/proc/{pid}/setgroups");
        sys::write_file(Path::new(&path), b"deny")
            .map_err(|e| ("linux.gidMappings", format!("deny setgroups: {e}")))?;
    }
    write_map(pid, "uid_map", "newuidmap", uids).map_err(|r| ("linux.uidMappings", r))?;
    write_map(pid, "gid_map", "newgidmap", gids).map_err(|r| ("linux.gidMappings", r))
}

/// `maps` is the single mapping of `id` to container root (what `runr spec --rootless` writes).
fn is_own_id_only(maps: &[LinuxIdMapping], id: u32) -> bool {
    matches!(maps, [m] if m.container_id() == 0 && m.host_id() == id && m.size() == 1)
}

fn write_map(pid: i32, file: &str, helper: &str, maps: &[LinuxIdMapping]) -> Result<(), String> {
    if maps.is_empty() {
        return Ok(());
    }
    let path = format!("/proc/{pid}/{file}");
    match sys::write_file(Path::new(&path), map_text(maps).as_bytes()) {
        Ok(()) => Ok(()),
        Err(e) if e.errno == sys::Errno::EPERM => {
            run_mapping_helper(helper, pid, maps).map_err(|why| format!("{e}; then {why}"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// `newuidmap PID ID HOSTID SIZE...` (or newgidmap): the helper checks the caller's
/// /etc/subuid (/etc/subgid) ranges and writes the map for it.
fn run_mapping_helper(helper: &str, pid: i32, maps: &[LinuxIdMapping]) -> Result<(), String> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([m.container_id(), m.host_id(), m.size()].map(|v| v.to_string()));
    }
    let out = match cmd.stdin(std::process::Stdio::null()).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "{helper} not found in PATH: mapping ids other than the runtime's own needs it \
                 (Debian package uidmap) and ranges in /etc/subuid and /etc/subgid"
            ))
        }
        Err(e) => return Err(format!("{helper}: {e}")),
    };
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{helper} {pid} {}: {}: {}",
        map_text(maps).trim_end().replace('\n', " "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// Switches the init to process.user: supplementary groups, gid, then uid, keeping the
/// capabilities across the uid change so that the capability sets can be installed after it.
/// Supplementary groups are left alone where setgroups is denied (an unprivileged runtime's own
/// single mapping; runc does the same) and no additional group is asked for.
pub fn switch_to(user: &User) -> SysResult<()> {
    let groups = user.additional_gids().as_deref().unwrap_or_default();
    if !groups.is_empty() || !setgroups_denied() {
        sys::setgroups(groups)?;
    }
    sys::setresgid(user.gid())?;
    sys::set_keepcaps(true)?;
    sys::setresuid(user.uid())?;
    sys::set_keepcaps(false)
}

/// Whether `/proc/self/setgroups` says "deny" (this user namespace, or an ancestor, denies it).
fn setgroups_denied() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny")
}

/// The process environment as runc builds it: each entry of the spec's env, then `extra`, set
/// in turn like `setenv` (a repeated name keeps its first position and takes the last value),
/// then HOME from the container's /etc/passwd when it is missing or empty.
pub fn environment(spec_env: &[String], extra: &[String], uid: u32) -> Vec<String> {
    let mut env: Vec<String> = Vec::with_capacity(spec_env.len() + extra.len() + 1);
    for entry in spec_env.iter().chain(extra) {
        let name = entry.split_once('=').map_or(entry.as_str(), |(n, _)| n);
        match env
            .iter_mut()
            .find(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) == name)
        {
            Some(existing) => existing.clone_from(entry),
            None => env.push(entry.clone()),
        }
    }
    let home = format!("HOME={}", home_of(uid));
    match env.iter_mut().find(|e| e.starts_with("HOME=")) {
        Some(e) if e.as_str() == "HOME=" => *e = home,
        Some(_) => {}
        None => env.push(home),
    }
    env
}

/// The home directory of `uid` in the container's /etc/passwd, or "/" (runc's default).
pub fn home_of(uid: u32) -> String {
    passwd_field(uid, 5).unwrap_or_else(|| "/".to_string())
}

/// Field `index` (0 = name, 5 = home) of `uid`'s entry in the /etc/passwd this process sees.
pub fn passwd_field(uid: u32, index: usize) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > index.max(2) && f[2].parse() == Ok(uid)).then(|| f[index].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::environment;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn repeated_names_keep_first_place_and_last_value() {
        let env = environment(
            &v(&["HOME=/h", "PATH=/a", "X=1", "PATH=/b", "X=2=3"]),
            &v(&["LISTEN_FDS=1", "X=4"]),
            0,
        );
        assert_eq!(env, v(&["HOME=/h", "PATH=/b", "X=4", "LISTEN_FDS=1"]));
    }

    #[test]
    fn empty_or_missing_home_is_filled_in_place() {
        // The test host's /etc/passwd gives root a home; whatever it is, HOME= is replaced.
        let env = environment(&v(&["A=1", "HOME=", "B=2"]), &[], 0);
        assert_eq!(env.len(), 3);
        assert!(env[1].starts_with("HOME=") && env[1].len() > 5, "{env:?}");
        let env = environment(&v(&["A=1"]), &[], 4_000_000);
        assert_eq!(env, v(&["A=1", "HOME=/"]));
    }
}
