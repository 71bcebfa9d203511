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

/// Writes the new user namespace's uid and gid maps (from the parent, which is root on the host
/// and so may map any range).
pub fn write_id_maps(pid: i32, linux: &Linux) -> SysResult<()> {
    let uid = map_text(linux.uid_mappings().as_deref().unwrap_or_default());
    let gid = map_text(linux.gid_mappings().as_deref().unwrap_or_default());
    sys::write_file(Path::new(&format!("/proc/{pid}/uid_map")), uid.as_bytes())?;
    sys::write_file(Path::new(&format!("/proc/{pid}/gid_map")), gid.as_bytes())
}

/// Switches the init to process.user: supplementary groups, gid, then uid, keeping the
/// capabilities across the uid change so that the capability sets can be installed after it.
pub fn switch_to(user: &User) -> SysResult<()> {
    sys::setgroups(user.additional_gids().as_deref().unwrap_or_default())?;
    sys::setresgid(user.gid())?;
    sys::set_keepcaps(true)?;
    sys::setresuid(user.uid())?;
    sys::set_keepcaps(false)
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
