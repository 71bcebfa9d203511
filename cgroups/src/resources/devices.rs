//! devices: OCI device rules → the v1 devices controller (the v2 eBPF filter is in
//! `devices_bpf`).
//!
//! v1: the rules are folded into the state they leave (`device_state`), `devices.list` is read
//! for the state the cgroup is in, and only the difference is written, as runc does: a new
//! cgroup gets `a` on devices.deny and then each exception once; re-applying the same rules to
//! a running container (every `update`) writes nothing, so it never loses a device it may use.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::device_state::DeviceState;
use crate::error::{Error, Result};
use crate::fs::CgDir;

/// One device rule in cgroup terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub allow: bool,
    /// 'a', 'b' or 'c'.
    pub typ: char,
    /// None = wildcard.
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Some of "rwm", in that order.
    pub access: String,
}

impl Rule {
    pub fn from_oci(i: usize, d: &LinuxDeviceCgroup) -> Result<Rule> {
        let invalid = |reason: String| Error::InvalidResource {
            field: format!("devices[{i}]"),
            reason,
        };
        let typ = match d.typ() {
            None | Some(LinuxDeviceType::A) => 'a',
            Some(LinuxDeviceType::B) => 'b',
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
            Some(LinuxDeviceType::P) => {
                return Err(invalid(
                    "invalid cgroup device type \"p\" (allowed: a, b, c)".into(),
                ))
            }
        };
        let num = |v: Option<i64>, what: &str| -> Result<Option<u32>> {
            match v {
                None | Some(-1) => Ok(None),
                Some(n) => u32::try_from(n)
                    .map(Some)
                    .map_err(|_| invalid(format!("invalid {what} {n}"))),
            }
        };
        let access_in = d.access().as_deref().unwrap_or("");
        // runc takes the r, w and m it finds and ignores other letters (its own tests write
        // "rwa"); so does this. An absent or empty access means all of them. A string that
        // names none of them would be a rule with no effect (runc applies nothing): refused.
        let mut access = String::new();
        for c in ['r', 'w', 'm'] {
            if access_in.contains(c) {
                access.push(c);
            }
        }
        if access.is_empty() && !access_in.is_empty() {
            return Err(invalid(format!(
                "access {access_in:?} names none of r, w, m (a rule with no access would do nothing)"
            )));
        }
        if access.is_empty() {
            access = "rwm".into();
        }
        Ok(Rule {
            allow: d.allow(),
            typ,
            major: num(d.major(), "major")?,
            minor: num(d.minor(), "minor")?,
            access,
        })
    }

    /// The devices.allow/deny line.
    pub fn cgroup_string(&self) -> String {
        let n = |v: Option<u32>| v.map_or("*".to_string(), |n| n.to_string());
        format!(
            "{} {}:{} {}",
            self.typ,
            n(self.major),
            n(self.minor),
            self.access
        )
    }
}

pub(crate) fn rules(list: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>> {
    list.iter()
        .enumerate()
        .map(|(i, d)| Rule::from_oci(i, d))
        .collect()
}

/// Writes the fewest devices.allow/devices.deny lines that take the cgroup from what its
/// devices.list shows to what `list` describes.
pub(crate) fn set_v1(d: CgDir<'_>, list: &[LinuxDeviceCgroup]) -> Result<()> {
    let target = DeviceState::from_rules(&rules(list)?)?;
    let list_text = d.read("devices.list")?;
    let current = DeviceState::from_list(&list_text).map_err(|line| Error::Parse {
        path: d.file("devices.list"),
        content: line,
        reason: "not a \"<type> <major>:<minor> <access>\" line".into(),
    })?;
    for r in current.transition(&target) {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        d.write(file, &r.cgroup_string())?;
    }
    Ok(())
}

fn rule(
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut d = LinuxDeviceCgroup::default();
    d.set_allow(true);
    d.set_typ(Some(typ));
    d.set_major(major);
    d.set_minor(minor);
    d.set_access(Some(access.to_string()));
    d
}

/// runc 1.1.5's default allowed devices (specconv `AllowedDevices`): mknod of any char/block
/// device, /dev/{null,random,full,tty,zero,urandom}, /dev/pts/*, /dev/ptmx and /dev/net/tun (runc
/// 1.2 dropped tun; 1.1.5, the reference, still allows it). runc's cgroup
/// rule list is: the spec's linux.resources.devices, then these, then an "rwm" allow rule for
/// each linux.devices entry.
pub fn default_device_rules() -> Vec<LinuxDeviceCgroup> {
    use LinuxDeviceType::{B, C};
    vec![
        rule(C, None, None, "m"),
        rule(B, None, None, "m"),
        rule(C, Some(1), Some(3), "rwm"),
        rule(C, Some(1), Some(8), "rwm"),
        rule(C, Some(1), Some(7), "rwm"),
        rule(C, Some(5), Some(0), "rwm"),
        rule(C, Some(1), Some(5), "rwm"),
        rule(C, Some(1), Some(9), "rwm"),
        rule(C, Some(136), None, "rwm"),
        rule(C, Some(5), Some(2), "rwm"),
        rule(C, Some(10), Some(200), "rwm"),
    ]
}
