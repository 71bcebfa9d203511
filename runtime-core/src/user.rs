//! process.user and user namespace id maps.

use std::path::Path;

use oci_spec::runtime::{Linux, LinuxIdMapping, User};

use crate::sys::{self, SysResult};

fn map_text(maps: &[LinuxIdMapping]) -> String {
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

/// The home directory of `uid` in the container's /etc/passwd, or "/" (runc's default).
pub fn home_of(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
        })
        .next()
        .unwrap_or_else(|| "/".to_string())
}
