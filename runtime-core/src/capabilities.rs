//! process.capabilities: the bounding set is reduced before the user switch, the other four sets
//! are installed after it (the switch to a non-root uid would otherwise clear them).
//!
//! Names come typed from the spec (an unknown name is a parse error naming the field);
//! capabilities the running kernel does not know are skipped, as runc does.

use std::str::FromStr;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use crate::sys::{self, SysResult};

/// The kernel's capability number for a spec capability, if this kernel has it.
fn number(cap: &Capability) -> Option<u8> {
    let c = caps::Capability::from_str(&format!("CAP_{cap}")).ok()?;
    (u32::from(c.index()) <= last_cap()).then_some(c.index())
}

/// The highest capability number the running kernel knows (read once per process: it was read
/// for every capability name of every set).
pub fn last_cap() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40)
    })
}

fn mask(set: &Option<Capabilities>) -> u64 {
    set.iter()
        .flatten()
        .filter_map(number)
        .fold(0u64, |m, n| m | (1u64 << n))
}

/// Drops every capability not in `bounding` from the bounding set.
pub fn apply_bounding(caps: Option<&LinuxCapabilities>) -> SysResult<()> {
    let keep = caps.map_or(0, |c| mask(c.bounding()));
    for n in 0..=last_cap() {
        if keep & (1u64 << n) == 0 {
            sys::drop_bounding_cap(n)?;
        }
    }
    Ok(())
}

/// CAP_SYS_ADMIN, which loading a seccomp filter without no_new_privs needs.
pub const SYS_ADMIN: u64 = 1 << 21;

/// Installs the effective, permitted and inheritable sets like [`apply_sets`], but keeps the
/// capabilities of `also` this process still has permitted effective as well, and raises no
/// ambient capability yet: for a last step that still needs one of the runtime's capabilities.
/// [`apply_sets`] afterwards installs the final sets.
pub fn apply_sets_keeping(caps: Option<&LinuxCapabilities>, also: u64) -> SysResult<()> {
    let m = |f: fn(&LinuxCapabilities) -> &Option<Capabilities>| caps.map_or(0, |c| mask(f(c)));
    let (_, permitted, _) = sys::capget()?;
    let keep = also & permitted;
    sys::capset(
        m(LinuxCapabilities::effective) | keep,
        m(LinuxCapabilities::permitted) | keep,
        m(LinuxCapabilities::inheritable),
    )
}

/// Installs the effective, permitted and inheritable sets, then raises the ambient ones.
/// No capabilities field means no capabilities at all, as in runc.
pub fn apply_sets(caps: Option<&LinuxCapabilities>) -> SysResult<()> {
    let m = |f: fn(&LinuxCapabilities) -> &Option<Capabilities>| caps.map_or(0, |c| mask(f(c)));
    sys::capset(
        m(LinuxCapabilities::effective),
        m(LinuxCapabilities::permitted),
        m(LinuxCapabilities::inheritable),
    )?;
    sys::clear_ambient_caps()?;
    let ambient = m(LinuxCapabilities::ambient);
    for n in 0..=last_cap() {
        if ambient & (1u64 << n) != 0 {
            // An ambient capability must also be permitted and inheritable; runc skips the
            // ones that are not (its default spec lists ambient caps without inheritable ones).
            match sys::raise_ambient_cap(n) {
                Err(e) if e.errno == crate::sys::Errno::EPERM => {}
                other => other?,
            }
        }
    }
    Ok(())
}
