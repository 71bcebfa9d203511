//! network (v1 only): net_cls.classid, net_prio.ifpriomap (`"<ifname> <prio>"` per write).

use oci_spec::runtime::LinuxNetwork;

use crate::error::Result;
use crate::fs::CgDir;

pub(crate) fn set_classid(d: CgDir<'_>, n: &LinuxNetwork) -> Result<()> {
    if let Some(id) = n.class_id().filter(|&c| c != 0) {
        d.write("net_cls.classid", &id.to_string())?;
    }
    Ok(())
}

pub(crate) fn set_priorities(d: CgDir<'_>, n: &LinuxNetwork) -> Result<()> {
    for p in n.priorities().iter().flatten() {
        d.write(
            "net_prio.ifpriomap",
            &format!("{} {}", p.name(), p.priority()),
        )?;
    }
    Ok(())
}
