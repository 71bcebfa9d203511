//! rdma: rdma.max, one `"<device> hca_handle=N hca_object=M"` write per device (v1 and v2),
//! in device-name order.

use std::collections::HashMap;

use oci_spec::runtime::LinuxRdma;

use crate::error::Result;
use crate::fs::CgDir;

pub(crate) fn set(d: CgDir<'_>, rdma: &HashMap<String, LinuxRdma>) -> Result<()> {
    let mut devices: Vec<_> = rdma.iter().collect();
    devices.sort_by(|a, b| a.0.cmp(b.0));
    for (dev, l) in devices {
        let mut v = dev.clone();
        if let Some(h) = l.hca_handles() {
            v.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            v.push_str(&format!(" hca_object={o}"));
        }
        d.write("rdma.max", &v)?;
    }
    Ok(())
}
