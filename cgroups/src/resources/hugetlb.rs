//! hugepageLimits: `hugetlb.<size>.limit_in_bytes` (v1) / `hugetlb.<size>.max` (v2).

use oci_spec::runtime::LinuxHugepageLimit;

use crate::error::{Error, Result};
use crate::fs::CgDir;

fn check(h: &LinuxHugepageLimit) -> Result<u64> {
    let ps = h.page_size();
    if ps.is_empty() || !ps.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::InvalidResource {
            field: "hugepageLimits.pageSize".into(),
            reason: format!("invalid page size {ps:?} (expected e.g. \"2MB\")"),
        });
    }
    u64::try_from(h.limit()).map_err(|_| Error::InvalidResource {
        field: "hugepageLimits.limit".into(),
        reason: format!("must be >= 0, got {}", h.limit()),
    })
}

pub(crate) fn set_v1(d: CgDir<'_>, limits: &[LinuxHugepageLimit]) -> Result<()> {
    for h in limits {
        let limit = check(h)?;
        d.write(
            &format!("hugetlb.{}.limit_in_bytes", h.page_size()),
            &limit.to_string(),
        )?;
    }
    Ok(())
}

pub(crate) fn set_v2(d: CgDir<'_>, limits: &[LinuxHugepageLimit]) -> Result<()> {
    for h in limits {
        let limit = check(h)?;
        d.write(
            &format!("hugetlb.{}.max", h.page_size()),
            &limit.to_string(),
        )?;
    }
    Ok(())
}
