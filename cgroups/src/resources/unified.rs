//! linux.resources.unified (v2 only): raw `"<controller>.<knob>"` → value writes, after
//! everything else (runc fs2 `setUnified`). Keys are file names: no '/'.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::fs::CgDir;

pub(crate) fn validate(u: &HashMap<String, String>) -> Result<()> {
    for k in u.keys() {
        if k.contains('/') || k == "." || k == ".." || k.is_empty() {
            return Err(Error::InvalidResource {
                field: format!("unified[{k:?}]"),
                reason: "unified resource must be a file name (no slashes)".into(),
            });
        }
    }
    Ok(())
}

pub(crate) fn set(d: CgDir<'_>, available: &[String], u: &HashMap<String, String>) -> Result<()> {
    let mut keys: Vec<_> = u.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in keys {
        if let Err(e) = d.write(k, v) {
            if matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOENT)) {
                let Some((ctrl, _)) = k.split_once('.') else {
                    return Err(Error::InvalidResource {
                        field: format!("unified[{k:?}]"),
                        reason: "unified resource must be in the form CONTROLLER.PARAMETER".into(),
                    });
                };
                if ctrl != "cgroup" && !available.iter().any(|c| c == ctrl) {
                    return Err(Error::ControllerUnavailable {
                        controller: ctrl.into(),
                        required_by: format!("linux.resources.unified[{k:?}]"),
                        layout: crate::Layout::Unified,
                    });
                }
            }
            return Err(e);
        }
    }
    Ok(())
}
