//! pids: pids.max on v1 and v2 (runc fs/pids.go): 0 = unset, negative = "max".

use oci_spec::runtime::LinuxPids;

use crate::error::Result;
use crate::fs::CgDir;

pub(crate) fn set(d: CgDir<'_>, p: &LinuxPids) -> Result<()> {
    match p.limit() {
        0 => Ok(()),
        l if l < 0 => d.write("pids.max", "max"),
        l => d.write("pids.max", &l.to_string()),
    }
}
