//! `linux.netDevices` (runtime-spec 1.3, runc 1.4): host network interfaces moved into the
//! container's network namespace, renamed to `name` when given.
//!
//! As runc: the runtime moves them, from its own network namespace, once the init has its final
//! network namespace (new or joined by path) and before the container's set-up goes on (so
//! prestart hooks and the container's program see them). Each device is set down, its permanent
//! global-scope addresses noted, moved and renamed in one request, given those addresses again
//! (the kernel drops them on the way) and set up. Nothing moves them back: the spec says the
//! runtime MUST NOT; when the network namespace goes, the kernel returns physical devices to the
//! host's initial namespace and destroys virtual ones (dummy, veth, macvlan), and a namespace
//! joined by path keeps them (its owner decides).

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{Linux, LinuxNamespaceType, LinuxNetDevice};

use crate::error::ConfigReason;
use crate::rtnetlink::{Address, Rtnl};
use crate::sys::{self, Errno, SysError, SysResult};

/// The kernel's limit on an interface name, its NUL included.
const IFNAMSIZ: usize = 16;

/// The field of one device, for errors.
fn field(host_name: &str) -> String {
    format!("linux.netDevices.{host_name}")
}

/// Spec checks for `linux.netDevices` (runc's `netdevices` validator): the container needs a
/// network namespace of its own (new or joined), the runtime must be root outside any user
/// namespace, and every name must be one the kernel accepts.
pub(crate) fn check(linux: &Linux) -> Result<(), (String, String)> {
    let Some(devices) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let own_net = linux
        .namespaces()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Network);
    if !own_net {
        return Err((
            "linux.netDevices".into(),
            "moving network devices needs a network namespace (linux.namespaces has no \
             \"network\" entry)"
                .into(),
        ));
    }
    // A namespace joined by path that is the runtime's own: the move would be a rename on the
    // host (the kernel keeps a device in the namespace it is in).
    let joined_own = linux
        .namespaces()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|n| n.typ() == LinuxNamespaceType::Network)
        .filter_map(|n| n.path().as_ref())
        .any(|p| same_file(p, Path::new("/proc/self/ns/net")));
    if joined_own {
        return Err((
            "linux.netDevices".into(),
            "the network namespace joined by path is the runtime's own (the host's): a device \
             would only be renamed on the host"
                .into(),
        ));
    }
    for (host_name, dev) in sorted(devices) {
        valid_name(host_name).map_err(|r| (field(host_name), r))?;
        if let Some(name) = dev.name().as_deref() {
            valid_name(name).map_err(|r| (format!("{}.name", field(host_name)), r))?;
        }
    }
    if crate::rootless::rootless_euid() || crate::rootless::running_in_user_ns() {
        return Err((
            "linux.netDevices".into(),
            "network devices are not supported for rootless containers".into(),
        ));
    }
    Ok(())
}

/// Whether `a` and `b` are the same file (device and inode), e.g. the same namespace.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// The kernel's rule for an interface name (`dev_valid_name`, and no `%` template).
fn valid_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() >= IFNAMSIZ {
        return Err(format!(
            "{name:?} is not a valid network device name (1 to {} bytes)",
            IFNAMSIZ - 1
        ));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':', '%'])
        || name.contains(char::is_whitespace)
    {
        return Err(format!(
            "{name:?} is not a valid network device name (no '/', ':', blanks, \".\" or \"..\"; \
             no '%' name template: the device is found again by its name)"
        ));
    }
    Ok(())
}

/// Devices in name order, so that errors and moves are the same from one run to the next.
fn sorted(devices: &HashMap<String, LinuxNetDevice>) -> Vec<(&String, &LinuxNetDevice)> {
    let mut list: Vec<_> = devices.iter().collect();
    list.sort_by(|a, b| a.0.cmp(b.0));
    list
}

/// Moves every device of `linux.netDevices` into the network namespace of process `pid` (the
/// init, waiting for it). The first failure stops; devices already moved stay in the container's
/// namespace and go with it (runc does the same; the spec leaves them to the kernel). A failed
/// system call comes back as [`ConfigReason::Sys`] (its operation and errno kept), naming the
/// entry (`linux.netDevices.<dev>`) or, before any device, `linux.netDevices`.
pub(crate) fn move_into(linux: &Linux, pid: i32) -> Result<(), (String, ConfigReason)> {
    let Some(devices) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let ns_path = format!("/proc/{pid}/ns/net");
    let netns = sys::open(
        Path::new(&ns_path),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| whole(sys_reason("opening the container's network namespace", e)))?;
    let mut host = Rtnl::open().map_err(|e| whole(sys_reason("opening a rtnetlink socket", e)))?;
    let mut inside = socket_in(&netns, &ns_path)
        .map(Rtnl::from_socket)
        .map_err(|e| {
            let what = format!("opening a rtnetlink socket in {ns_path}");
            whole(sys_reason(what, e))
        })?;
    for (host_name, dev) in sorted(devices) {
        let name = dev.name().as_deref().unwrap_or(host_name);
        move_one(&mut host, &mut inside, host_name, name, &netns)
            .map_err(|r| (field(host_name), r))?;
    }
    Ok(())
}

/// The error of the field as a whole (before any one device).
fn whole(reason: ConfigReason) -> (String, ConfigReason) {
    ("linux.netDevices".into(), reason)
}

/// A failed system call while doing `context`, kept typed.
fn sys_reason(context: impl Into<String>, error: SysError) -> ConfigReason {
    ConfigReason::Sys {
        context: context.into(),
        error,
    }
}

/// One device: checked, down, its addresses noted, moved and renamed, addresses back, up.
fn move_one(
    host: &mut Rtnl,
    inside: &mut Rtnl,
    host_name: &str,
    name: &str,
    netns: &OwnedFd,
) -> Result<(), ConfigReason> {
    // Find it in the runtime's namespace; a missing one is the caller's error, said plainly.
    let index = host.link_index(host_name).map_err(|e| match e.errno {
        Errno::ENODEV => ConfigReason::Invalid(format!(
            "no network device {host_name:?} in the runtime's network namespace"
        )),
        _ => sys_reason(format!("looking up {host_name:?}"), e),
    })?;
    // The spec's check before moving: a name the container already has is an error, and the
    // device stays on the host untouched.
    if inside.link_index(name).is_ok() {
        return Err(ConfigReason::Invalid(format!(
            "the container's network namespace already has a device called {name:?}"
        )));
    }
    // The kernel drops addresses on a move: note the ones the spec says must be kept.
    let keep: Vec<Address> = host
        .addresses(index)
        .map_err(|e| sys_reason(format!("listing the addresses of {host_name:?}"), e))?
        .into_iter()
        .filter(Address::permanent_global)
        .collect();
    // Down before it changes namespace and name, so nothing on the host uses it half-moved;
    // a move that fails leaves it as it was found (up again if it was up).
    let was_up = host
        .is_up(index)
        .map_err(|e| sys_reason(format!("reading the state of {host_name:?}"), e))?;
    host.set_up(index, false)
        .map_err(|e| sys_reason(format!("setting {host_name:?} down"), e))?;
    // Move and rename in one request, so the new name never exists on the host.
    if let Err(e) = host.move_to(index, name, netns.as_fd()) {
        if was_up {
            let _ = host.set_up(index, true);
        }
        let what = format!("moving {host_name:?} into the container as {name:?}");
        return Err(sys_reason(what, e));
    }
    // Find it again inside, by its new name.
    let index = inside.link_index(name).map_err(|e| {
        let what = format!("finding {name:?} in the container's network namespace");
        sys_reason(what, e)
    })?;
    // Its addresses back, then up, as the spec asks.
    for addr in &keep {
        inside.add_address(index, addr).map_err(|e| {
            let what = format!("adding {} to {name:?} in the container", addr.display());
            sys_reason(what, e)
        })?;
    }
    inside
        .set_up(index, true)
        .map_err(|e| sys_reason(format!("setting {name:?} up in the container"), e))
}

/// A rtnetlink socket in the network namespace `netns`: made by a short-lived thread that
/// joins it (a socket keeps the namespace it was made in; the runtime's other threads, and
/// this one's caller, stay in the host's).
fn socket_in(netns: &OwnedFd, display: &str) -> SysResult<OwnedFd> {
    std::thread::scope(|s| {
        s.spawn(|| {
            sys::setns(netns.as_fd(), CloneFlags::CLONE_NEWNET, Path::new(display))?;
            sys::netlink_route_socket()
        })
        .join()
        .unwrap_or_else(|_| Err(SysError::new(sys::SysOp::Socket, None, Errno::ECHILD)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_kernel_rule() {
        for ok in ["eth0", "dummy0", "ctr_dummy0", "a", "123456789012345"] {
            assert!(valid_name(ok).is_ok(), "{ok}");
        }
        // A `%d` template would have to be found again by its index, which the move may change.
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "x%d",
            "1234567890123456",
        ] {
            assert!(valid_name(bad).is_err(), "{bad}");
        }
    }

    fn linux(json: serde_json::Value) -> Linux {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_network_namespace_is_required() {
        let l = linux(serde_json::json!({"netDevices": {"dummy0": {}}}));
        let (field, why) = check(&l).unwrap_err();
        assert_eq!(field, "linux.netDevices");
        assert!(why.contains("network namespace"), "{why}");
    }

    #[test]
    fn a_bad_new_name_names_its_entry() {
        let l = linux(serde_json::json!({
            "namespaces": [{"type": "network"}],
            "netDevices": {"dummy0": {"name": "a/b"}}
        }));
        assert_eq!(check(&l).unwrap_err().0, "linux.netDevices.dummy0.name");
    }
}
