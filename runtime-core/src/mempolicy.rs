//! `linux.memoryPolicy` (runtime-spec 1.3, runc 1.4+): the container's NUMA memory policy, set
//! with `set_mempolicy(2)` by the init and by every exec'd process before execve (the policy is
//! per thread, inherited across fork and execve).
//!
//! As in runc: MPOL_DEFAULT and MPOL_LOCAL take no nodes; MPOL_BIND, MPOL_INTERLEAVE,
//! MPOL_PREFERRED_MANY and MPOL_WEIGHTED_INTERLEAVE need at least one; MPOL_PREFERRED takes
//! zero or more. `nodes` is a list like "0-3,7".

use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};

use crate::sys::{self, SysResult};

/// The largest node number accepted (the kernel's MAX_NUMNODES is at most 1024).
const MAX_NODE: u32 = 1023;

/// Every mode runr sets, in the spec's names, sorted (for `runr features`).
pub fn known_modes() -> Vec<String> {
    use MemoryPolicyModeType as M;
    let all = [
        M::MpolDefault,
        M::MpolBind,
        M::MpolInterleave,
        M::MpolWeightedInterleave,
        M::MpolPreferred,
        M::MpolPreferredMany,
        M::MpolLocal,
    ];
    let mut out: Vec<String> = all.iter().map(|m| m.to_string()).collect();
    out.sort();
    out
}

/// Every mode flag runr passes on, sorted (for `runr features`).
pub fn known_flags() -> Vec<String> {
    use MemoryPolicyFlagType as F;
    let all = [
        F::MpolFNumaBalancing,
        F::MpolFRelativeNodes,
        F::MpolFStaticNodes,
    ];
    let mut out: Vec<String> = all.iter().map(|f| f.to_string()).collect();
    out.sort();
    out
}

fn mode_number(mode: MemoryPolicyModeType) -> i32 {
    use MemoryPolicyModeType as M;
    match mode {
        M::MpolDefault => 0,
        M::MpolPreferred => 1,
        M::MpolBind => 2,
        M::MpolInterleave => 3,
        M::MpolLocal => 4,
        M::MpolPreferredMany => 5,
        M::MpolWeightedInterleave => 6,
    }
}

fn flag_bits(flag: MemoryPolicyFlagType) -> i32 {
    use MemoryPolicyFlagType as F;
    match flag {
        F::MpolFStaticNodes => 1 << 15,
        F::MpolFRelativeNodes => 1 << 14,
        F::MpolFNumaBalancing => 1 << 13,
    }
}

/// The node numbers of a list like "0-3,7".
fn parse_nodes(text: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_NODE)
                .ok_or_else(|| format!("{text:?}: {s:?} is not a node number (0-{MAX_NODE})"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err(format!("{text:?}: the range {part:?} is reversed"));
        }
        out.extend(lo..=hi);
    }
    Ok(out)
}

/// Checks the policy before anything is created: (field, reason) of the first problem.
pub fn check(p: &LinuxMemoryPolicy) -> Result<(), (String, String)> {
    use MemoryPolicyModeType as M;
    let nodes = parse_nodes(p.nodes().as_deref().unwrap_or_default())
        .map_err(|r| ("linux.memoryPolicy.nodes".to_string(), r))?;
    let field = || "linux.memoryPolicy.nodes".to_string();
    match p.mode() {
        M::MpolDefault | M::MpolLocal if !nodes.is_empty() => {
            Err((field(), format!("{} takes no nodes", p.mode())))
        }
        M::MpolBind | M::MpolInterleave | M::MpolPreferredMany | M::MpolWeightedInterleave
            if nodes.is_empty() =>
        {
            Err((field(), format!("{} needs at least one node", p.mode())))
        }
        _ => Ok(()),
    }
}

/// Sets the policy for the calling process (validated by [`check`]).
pub fn apply(p: &LinuxMemoryPolicy) -> SysResult<()> {
    let nodes = parse_nodes(p.nodes().as_deref().unwrap_or_default()).unwrap_or_default();
    let flags = p
        .flags()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .fold(0, |acc, f| acc | flag_bits(*f));
    let bits = libc::c_ulong::BITS;
    let mut mask: Vec<libc::c_ulong> = Vec::new();
    for n in &nodes {
        let word = (n / bits) as usize;
        if mask.len() <= word {
            mask.resize(word + 1, 0);
        }
        mask[word] |= 1 << (n % bits);
    }
    // The kernel reads max_node - 1 bits (a historical off-by-one every caller accounts for).
    let max_node = if mask.is_empty() {
        0
    } else {
        u64::from(bits) * mask.len() as u64 + 1
    };
    sys::set_mempolicy(mode_number(p.mode()) | flags, &mask, max_node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_lists_parse_like_cpusets() {
        assert_eq!(parse_nodes("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert_eq!(parse_nodes("").unwrap(), Vec::<u32>::new());
        assert!(parse_nodes("3-1").is_err());
        assert!(parse_nodes("x").is_err());
        assert!(parse_nodes("2000").is_err());
    }

    #[test]
    fn modes_need_or_refuse_nodes_as_in_runc() {
        let p = |v: serde_json::Value| serde_json::from_value::<LinuxMemoryPolicy>(v).unwrap();
        assert!(check(&p(serde_json::json!({"mode": "MPOL_BIND"}))).is_err());
        assert!(check(&p(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0"}))).is_ok());
        assert!(check(&p(serde_json::json!({"mode": "MPOL_LOCAL", "nodes": "0"}))).is_err());
        assert!(check(&p(serde_json::json!({"mode": "MPOL_PREFERRED"}))).is_ok());
        assert_eq!(known_modes().len(), 7);
        assert_eq!(known_flags()[0], "MPOL_F_NUMA_BALANCING");
    }
}
