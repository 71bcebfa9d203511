//! The state a cgroup v1 devices controller keeps, modelled as the kernel keeps it: a default
//! (allow-all or deny-all) plus a set of exceptions, each a (type, major, minor) with some of
//! "rwm". It is built from the rule list (what the container should have) and from
//! `devices.list` (what it has), and [`DeviceState::transition`] gives the fewest writes that
//! turn one into the other.
//!
//! Why: writing `a` to `devices.deny` and then every allow rule again (the naive re-apply) leaves
//! a window in which a running container cannot open even `/dev/null`. runc computes minimal
//! transitions for the same reason (its devices emulator); this is the same model, written from
//! the kernel's semantics (security/device_cgroup.c):
//! - an `a` line (any major/minor/access) resets: new default, no exceptions;
//! - in deny-all mode an allow line adds access to the exception with exactly that
//!   (type, major, minor), a deny line removes access from it; in allow-all mode the reverse;
//! - `devices.list` shows the exceptions in deny-all mode and only `a *:* rwm` in allow-all mode
//!   (the deny exceptions of an allow-all cgroup cannot be read back, so leaving allow-all mode
//!   always starts with a reset).

use std::collections::BTreeMap;

use super::devices::Rule;
use crate::error::{Error, Result};

/// (type 'b' or 'c', major, minor); `None` = wildcard.
type Key = (char, Option<u32>, Option<u32>);

/// Access bits.
const R: u8 = 1;
const W: u8 = 2;
const M: u8 = 4;

fn bits(access: &str) -> u8 {
    access.chars().fold(0, |b, c| match c {
        'r' => b | R,
        'w' => b | W,
        'm' => b | M,
        _ => b,
    })
}

fn access_string(b: u8) -> String {
    [(R, 'r'), (W, 'w'), (M, 'm')]
        .iter()
        .filter(|(bit, _)| b & bit != 0)
        .map(|(_, c)| *c)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceState {
    default_allow: bool,
    exceptions: BTreeMap<Key, u8>,
}

impl DeviceState {
    /// What the rules, applied in order to any cgroup, leave: the first rule is normally `a`
    /// (deny-all); without one the kernel's default for a new cgroup (allow-all) is the start.
    pub fn from_rules(rules: &[Rule]) -> Result<DeviceState> {
        let mut s = DeviceState {
            default_allow: true,
            exceptions: BTreeMap::new(),
        };
        for (i, r) in rules.iter().enumerate() {
            s.apply(i, r)?;
        }
        Ok(s)
    }

    fn apply(&mut self, index: usize, r: &Rule) -> Result<()> {
        if r.typ == 'a' {
            self.default_allow = r.allow;
            self.exceptions.clear();
            return Ok(());
        }
        let key = (r.typ, r.major, r.minor);
        let access = bits(&r.access);
        // A rule of the same kind as the default removes access from an exception; the other
        // kind adds it.
        if r.allow == self.default_allow {
            self.refuse_hole_in_wildcard(index, r, key, access)?;
            self.remove(key, access);
        } else {
            *self.exceptions.entry(key).or_insert(0) |= access;
        }
        Ok(())
    }

    /// The kernel removes access only from the exception with exactly the same (type, major,
    /// minor): taking `c 1:3 m` out of an exception `c *:* m` silently does nothing. A rule that
    /// would be silently ignored like that is refused (runc refuses it too), so nobody believes
    /// a device is denied when it is not.
    fn refuse_hole_in_wildcard(&self, index: usize, r: &Rule, key: Key, access: u8) -> Result<()> {
        let (typ, major, minor) = key;
        let wider = [(typ, None, minor), (typ, major, None), (typ, None, None)];
        for w in wider.into_iter().filter(|w| *w != key) {
            let held = self.exceptions.get(&w).copied().unwrap_or(0);
            if held & access != 0 {
                let wide = Rule {
                    allow: !r.allow,
                    typ,
                    major: w.1,
                    minor: w.2,
                    access: access_string(held),
                };
                return Err(Error::InvalidResource {
                    field: format!("devices[{index}]"),
                    reason: format!(
                        "{:?} cannot be expressed in the cgroup v1 devices controller: it \
                         would punch a hole in the earlier wildcard rule {:?}, which the kernel \
                         silently ignores",
                        r.cgroup_string(),
                        wide.cgroup_string()
                    ),
                });
            }
        }
        Ok(())
    }

    fn remove(&mut self, key: Key, access: u8) {
        if let Some(held) = self.exceptions.get_mut(&key) {
            *held &= !access;
            if *held == 0 {
                self.exceptions.remove(&key);
            }
        }
    }

    /// The state `devices.list` shows; the error is the line that is not a devices.list line.
    pub fn from_list(list: &str) -> std::result::Result<DeviceState, String> {
        let mut s = DeviceState {
            default_allow: false,
            exceptions: BTreeMap::new(),
        };
        for line in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let bad = || line.to_string();
            let mut f = line.split([' ', ':']);
            let (Some(typ), Some(major), Some(minor), Some(access), None) =
                (f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                return Err(bad());
            };
            let num = |v: &str| -> std::result::Result<Option<u32>, String> {
                match v {
                    "*" => Ok(None),
                    n => n.parse().map(Some).map_err(|_| bad()),
                }
            };
            match typ {
                "a" => {
                    s.default_allow = true;
                    s.exceptions.clear();
                }
                "b" | "c" => {
                    let t = typ.chars().next().unwrap_or('c');
                    *s.exceptions
                        .entry((t, num(major)?, num(minor)?))
                        .or_insert(0) |= bits(access);
                }
                _ => return Err(bad()),
            }
        }
        Ok(s)
    }

    /// The writes (in order) that turn a cgroup in state `self` into `target`: a reset only if
    /// the default must change or `self` is allow-all (whose deny exceptions are unknown), then
    /// the access each exception loses, then the access each one gains.
    pub fn transition(&self, target: &DeviceState) -> Vec<Rule> {
        let mut out = Vec::new();
        let empty = BTreeMap::new();
        let mut from = &self.exceptions;
        if self.default_allow || self.default_allow != target.default_allow {
            out.push(Rule {
                allow: target.default_allow,
                typ: 'a',
                major: None,
                minor: None,
                access: "rwm".into(),
            });
            from = &empty;
        }
        let rule = |(typ, major, minor): Key, access: u8, allow: bool| Rule {
            allow,
            typ,
            major,
            minor,
            access: access_string(access),
        };
        for (key, held) in from {
            let lost = held & !target.exceptions.get(key).copied().unwrap_or(0);
            if lost != 0 {
                out.push(rule(*key, lost, target.default_allow));
            }
        }
        for (key, wanted) in &target.exceptions {
            let gained = wanted & !from.get(key).copied().unwrap_or(0);
            if gained != 0 {
                out.push(rule(*key, gained, !target.default_allow));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(allow: bool, typ: char, major: Option<u32>, minor: Option<u32>, access: &str) -> Rule {
        Rule {
            allow,
            typ,
            major,
            minor,
            access: access.into(),
        }
    }

    fn lines(rules: &[Rule]) -> Vec<String> {
        rules
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    if r.allow { "allow" } else { "deny" },
                    r.cgroup_string()
                )
            })
            .collect()
    }

    fn docker_like() -> Vec<Rule> {
        vec![
            r(false, 'a', None, None, "rwm"),
            r(true, 'c', None, None, "m"),
            r(true, 'c', Some(1), Some(3), "rwm"),
            r(true, 'c', Some(136), None, "rw"),
            r(true, 'c', Some(1), Some(3), "r"),
        ]
    }

    #[test]
    fn fresh_cgroup_gets_a_reset_then_each_exception_once() {
        let target = DeviceState::from_rules(&docker_like()).unwrap();
        let fresh = DeviceState::from_list("a *:* rwm\n").unwrap();
        assert_eq!(
            lines(&fresh.transition(&target)),
            [
                "deny a *:* rwm",
                "allow c *:* m",
                "allow c 1:3 rwm",
                "allow c 136:* rw"
            ]
        );
    }

    #[test]
    fn reapplying_the_same_rules_writes_nothing() {
        let target = DeviceState::from_rules(&docker_like()).unwrap();
        let now = DeviceState::from_list("c *:* m\nc 1:3 rwm\nc 136:* rw\n").unwrap();
        assert_eq!(now, target);
        assert!(now.transition(&target).is_empty());
    }

    #[test]
    fn a_change_touches_only_what_changes_and_never_resets() {
        let now = DeviceState::from_list("c *:* m\nc 1:3 rwm\nc 136:* rw\nc 1:5 rwm\n").unwrap();
        let target = DeviceState::from_rules(&docker_like()).unwrap();
        assert_eq!(lines(&now.transition(&target)), ["deny c 1:5 rwm"]);
        let mut more = docker_like();
        more.push(r(true, 'c', Some(136), None, "m"));
        more.push(r(false, 'c', Some(1), Some(3), "w"));
        let target = DeviceState::from_rules(&more).unwrap();
        assert_eq!(
            lines(&now.transition(&target)),
            ["deny c 1:3 w", "deny c 1:5 rwm", "allow c 136:* m"]
        );
    }

    #[test]
    fn allow_all_targets_and_sources_reset() {
        let allow_all = DeviceState::from_rules(&[r(true, 'a', None, None, "rwm")]).unwrap();
        let now = DeviceState::from_list("c 1:3 rwm\n").unwrap();
        assert_eq!(lines(&now.transition(&allow_all)), ["allow a *:* rwm"]);
        // Deny exceptions of an allow-all cgroup are invisible in devices.list: always reset.
        let blacklist = DeviceState::from_rules(&[r(false, 'c', Some(1), Some(3), "w")]).unwrap();
        let now = DeviceState::from_list("a *:* rwm\n").unwrap();
        assert_eq!(
            lines(&now.transition(&blacklist)),
            ["allow a *:* rwm", "deny c 1:3 w"]
        );
    }

    #[test]
    fn a_hole_in_a_wildcard_exception_is_refused() {
        let rules = [
            r(false, 'a', None, None, "rwm"),
            r(true, 'c', None, None, "m"),
            r(false, 'c', Some(1), Some(3), "m"),
        ];
        let e = DeviceState::from_rules(&rules).unwrap_err().to_string();
        assert!(e.contains("devices[2]") && e.contains("c *:* m"), "{e}");
        // Disjoint access is fine.
        let rules = [
            r(false, 'a', None, None, "rwm"),
            r(true, 'c', None, None, "m"),
            r(false, 'c', Some(1), Some(3), "rw"),
        ];
        assert!(DeviceState::from_rules(&rules).is_ok());
    }

    #[test]
    fn devices_list_garbage_is_an_error() {
        assert!(DeviceState::from_list("x 1:2 rwm").is_err());
        assert!(DeviceState::from_list("c 1 rwm").is_err());
    }
}
