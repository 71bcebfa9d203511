//! pids: pids.max on v1 and v2 (runc 1.4, opencontainers/cgroups fs/pids.go): a negative limit
//! is "max", 0 is a real limit written as 1 (systemd's TasksMax cannot be 0, and the two drivers
//! must agree; in practice a limit of 0 or 1 forks nothing new), a positive one is itself. An
//! unset limit never reaches here (no `pids` object: runtime-core's spec parsing drops a `pids`
//! without a `limit`).

use oci_spec::runtime::LinuxPids;

use crate::error::Result;
use crate::fs::CgDir;

pub(crate) fn set(d: CgDir<'_>, p: &LinuxPids) -> Result<()> {
    d.write("pids.max", &pids_max(p.limit()))
}

/// The pids.max value for a limit.
pub(crate) fn pids_max(limit: i64) -> String {
    match limit {
        l if l < 0 => "max".into(),
        0 => "1".into(),
        l => l.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn zero_is_a_limit_of_one_and_negative_is_max() {
        assert_eq!(super::pids_max(0), "1");
        assert_eq!(super::pids_max(-1), "max");
        assert_eq!(super::pids_max(-7), "max");
        assert_eq!(super::pids_max(42), "42");
    }
}
