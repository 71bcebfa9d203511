//! `linux.netDevices` (runtime-spec 1.3, runc 1.4): host network interfaces moved into the
//! container's network namespace, renamed to `name` when given.
//!
//! As runc: the runtime moves them, from its own network namespace, once the init has its final
//! network namespace (new or joined by path) and before the container's set-up goes on (so
//! prestart hooks and the container's program see them). Each device is set down, its permanent
//! global-scope addresses noted, moved and renamed in one request, given those addresses again
//! (the kernel drops them on the way) and set up. Once the container is created nothing moves
//! them back: the spec says the runtime MUST NOT; when the network namespace goes, the kernel
//! returns physical devices to the host's initial namespace and destroys virtual ones (dummy,
//! veth, macvlan), and a namespace joined by path keeps them (its owner decides).
//!
//! The move is all or none: every entry is checked (its device on the host, its name free in
//! the container's namespace and not another entry's) before any device moves, and a failure
//! after a move puts every device taken so far back on the host, in reverse order, under its
//! host name, with its addresses and up as it was found.
//!
//! A `name` with a `%d` is a name template (the spec's MUST): the kernel gives the device the
//! first free number in the container's namespace, so a name already there is no error. The
//! device moves under a temporary plain name checked free there, which finds it again exactly
//! (its index, kind or hardware address would not: the kernel may change the index, and VLANs,
//! ipvlans or address-less devices share the rest), is renamed by index with the template, and
//! its name is read back by index (runc 1.5 looks it up by the template itself, and fails). The
//! name it got is reported as a `network device moved` step (`--debug`); runc's state has no
//! place for it, and an engine finds it in the namespace, as it finds the device.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{Linux, LinuxNamespaceType, LinuxNetDevice};

use crate::error::ConfigReason;
use crate::rtnetlink::{netlink_error, Address, Link, Rtnl};
use crate::sys::{self, Errno, SysError, SysResult};
use crate::trace;

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
        valid_name(host_name, false).map_err(|r| (field(host_name), r))?;
        if let Some(name) = dev.name().as_deref() {
            valid_name(name, true).map_err(|r| (format!("{}.name", field(host_name)), r))?;
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

/// The kernel's rule for an interface name (`dev_valid_name`). A `%` makes it a name template
/// (`__dev_alloc_name`: one `%d` and no other `%`; the kernel numbers it), which only a new
/// name (`template`) may be; a host device's own name never has one.
fn valid_name(name: &str, template: bool) -> Result<(), String> {
    let is_template = name.contains('%');
    if name.is_empty() || name.len() >= IFNAMSIZ {
        let what = if is_template {
            "a name template: 1 to 15 bytes with its %d (the kernel checks the template itself)"
        } else {
            "a network device name (1 to 15 bytes)"
        };
        return Err(format!("{name:?} is not valid as {what}"));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.contains(char::is_whitespace)
    {
        return Err(format!(
            "{name:?} is not a valid network device name (no '/', ':', blanks, \".\" or \"..\")"
        ));
    }
    if is_template && !template {
        return Err(format!(
            "{name:?} is not a valid network device name: a host device's name has no '%' \
             (a \"%d\" name template is for the new name, `name`)"
        ));
    }
    if is_template && template_parts(name).is_none() {
        return Err(format!(
            "{name:?} is not a valid name template: one \"%d\" and no other '%' (the kernel's \
             rule)"
        ));
    }
    Ok(())
}

/// The text before and after the `%d` of a name template; None when `name` is not one.
fn template_parts(name: &str) -> Option<(&str, &str)> {
    let (before, rest) = name.split_once('%')?;
    let after = rest.strip_prefix('d')?;
    (!after.contains('%')).then_some((before, after))
}

/// The name the kernel will give a device named by `template` in a namespace whose devices are
/// called `taken` (`__dev_alloc_name`: the lowest number whose name is free), or an error when
/// that name would not fit (the kernel would cut it short). Alternative names also count for
/// the kernel; they are not listed here, so this may be low by those.
fn expand(template: &str, taken: &[&str]) -> Result<String, String> {
    let Some((before, after)) = template_parts(template) else {
        return Ok(template.to_string());
    };
    let name = (0u32..)
        .map(|n| format!("{before}{n}{after}"))
        .find(|name| !taken.contains(&name.as_str()))
        .unwrap_or_default();
    if name.len() >= IFNAMSIZ {
        return Err(format!(
            "the name template {template:?} expands to {name:?} in the container's network \
             namespace, longer than 15 bytes (IFNAMSIZ)"
        ));
    }
    Ok(name)
}

/// Devices in name order, so that errors and moves are the same from one run to the next.
fn sorted(devices: &HashMap<String, LinuxNetDevice>) -> Vec<(&String, &LinuxNetDevice)> {
    let mut list: Vec<_> = devices.iter().collect();
    list.sort_by(|a, b| a.0.cmp(b.0));
    list
}

/// Moves every device of `linux.netDevices` into the network namespace of process `pid` (the
/// init, waiting for it), all or none: every entry is checked before any device moves, and a
/// failure after a move puts every device taken so far back on the host as it was found, in
/// reverse order (runc 1.5 returns at the first failure and leaves the devices moved before it
/// in the container's namespace, where a new one destroys a veth with it). A failed system
/// call comes back as [`ConfigReason::Sys`] (its operation and errno kept), naming the entry
/// (`linux.netDevices.<dev>`) or, before any device, `linux.netDevices`.
pub(crate) fn move_into(linux: &Linux, pid: i32) -> Result<(), (String, ConfigReason)> {
    let Some(devices) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    // Sockets in both namespaces, and the container's namespace as an fd for the moves.
    let mut ns = Namespaces::open(pid)?;
    // Every entry checked first: a missing device or a name the container already has (or
    // another entry takes) leaves every device where it is.
    let (plan, mut seen) = plan(&mut ns, devices)?;
    // Moved in name order; what each took from the host is noted, to put it back on failure.
    let mut taken: Vec<Taken> = Vec::new();
    for entry in &plan {
        let moved = match move_one(&mut ns, entry, &mut seen, &mut taken) {
            Ok(moved) => moved,
            Err(reason) => {
                // Every device taken so far back, the failing one first, as it was found;
                // any that cannot be is named in the error.
                let stranded: Vec<String> = (taken.iter().rev())
                    .filter_map(|t| put_back(&mut ns, t, &seen).err())
                    .collect();
                return Err((field(entry.host_name), noting(reason, &stranded)));
            }
        };
        // The name it got (a template's is the kernel's choice), for `--debug`.
        trace::step(
            "network device moved",
            &[
                ("device", entry.host_name.to_string()),
                ("name", moved.name),
                ("ifindex", moved.index.to_string()),
            ],
        );
    }
    Ok(())
}

/// The container's network namespace (an fd, for the moves) and a rtnetlink socket on each
/// side.
struct Namespaces {
    netns: OwnedFd,
    host: Rtnl,
    inside: Rtnl,
}

impl Namespaces {
    /// The namespace of process `pid`, and the two sockets.
    fn open(pid: i32) -> Result<Namespaces, (String, ConfigReason)> {
        let ns_path = format!("/proc/{pid}/ns/net");
        let netns = sys::open(
            Path::new(&ns_path),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| whole(sys_reason("opening the container's network namespace", e)))?;
        let host = Rtnl::open().map_err(|e| whole(sys_reason("opening a rtnetlink socket", e)))?;
        let inside = socket_in(&netns, &ns_path)
            .map(Rtnl::from_socket)
            .map_err(|e| {
                let what = format!("opening a rtnetlink socket in {ns_path}");
                whole(sys_reason(what, e))
            })?;
        Ok(Namespaces {
            netns,
            host,
            inside,
        })
    }
}

/// One entry, checked: the device as the host has it, the name asked for (plain or a
/// template), the name it should get, and the plain name it moves under (`name` itself, or
/// for a template a temporary name free in the container's namespace, which finds it there
/// exactly).
struct Planned<'a> {
    host_name: &'a str,
    name: &'a str,
    expected: String,
    via: String,
    dev: Link,
}

/// A device taken from the host: as it was there (its index, name and state), the plain name
/// it moved under, its permanent addresses, and its index in the container's namespace once
/// it is found there.
struct Taken {
    dev: Link,
    via: String,
    addresses: Vec<Address>,
    inside: Option<i32>,
}

/// Every entry checked against the host and the container's namespace before anything moves
/// (the spec's check; runc checks nothing first). Returns the entries in name order, and the
/// links the container's namespace has (to tell a moved device apart from them).
fn plan<'a>(
    ns: &mut Namespaces,
    devices: &'a HashMap<String, LinuxNetDevice>,
) -> Result<(Vec<Planned<'a>>, Vec<Link>), (String, ConfigReason)> {
    let before = ns.inside.links().map_err(|e| {
        whole(sys_reason(
            "listing the links of the container's network namespace",
            e,
        ))
    })?;
    let mut plan: Vec<Planned<'a>> = Vec::new();
    for (host_name, dev) in sorted(devices) {
        let name = dev.name().as_deref().unwrap_or(host_name);
        let entry =
            plan_one(ns, host_name, name, &before, &plan).map_err(|r| (field(host_name), r))?;
        plan.push(entry);
    }
    Ok((plan, before))
}

/// One entry checked: its device on the host, and its new name free in the container's
/// namespace (`links`) and not taken by an entry before it (`earlier`).
fn plan_one<'a>(
    ns: &mut Namespaces,
    host_name: &'a str,
    name: &'a str,
    links: &[Link],
    earlier: &[Planned<'_>],
) -> Result<Planned<'a>, ConfigReason> {
    // Find it in the runtime's namespace; a missing one is the caller's error, said plainly.
    let dev = find_on_host(&mut ns.host, host_name)?;
    // A plain name another entry gets is refused here, not by the kernel half-way.
    if let Some(other) = earlier.iter().find(|p| p.expected == name) {
        return Err(ConfigReason::Invalid(format!(
            "{}'s device gets the name {name:?} in the container's network namespace",
            field(other.host_name)
        )));
    }
    // The names there once the entries before it have moved: what a template is numbered
    // against. The kernel also finds a plain name among alternative names.
    let mut taken: Vec<&str> = links.iter().map(|l| l.name.as_str()).collect();
    taken.extend(earlier.iter().map(|p| p.expected.as_str()));
    let known = template_parts(name).is_none() && ns.inside.link_index(name).is_ok();
    let expected = check_name(name, &taken, known)?;
    // A template's device moves under a plain name free there, renamed by index once in.
    let via = match template_parts(name) {
        None => name.to_string(),
        Some(_) => {
            taken.extend(earlier.iter().map(|p| p.via.as_str()));
            temporary_name(&mut ns.inside, &taken)?
        }
    };
    Ok(Planned {
        host_name,
        name,
        expected,
        via,
        dev,
    })
}

/// A plain name for a device on its way in: free in the container's namespace (not `taken`,
/// unknown to the kernel there, alternative names included) and this runtime's own.
fn temporary_name(inside: &mut Rtnl, taken: &[&str]) -> Result<String, ConfigReason> {
    let pid = std::process::id();
    for n in 0u32..100 {
        // "rn" + at most 8 hex digits + "t" + at most 2 digits: within 15 bytes.
        let name = format!("rn{pid:x}t{n}");
        if taken.contains(&name.as_str()) {
            continue;
        }
        match inside.link_index(&name) {
            Err(e) if e.errno == Errno::ENODEV => return Ok(name),
            Err(e) => {
                return Err(sys_reason(
                    format!("looking up {name:?} in the container"),
                    e,
                ))
            }
            Ok(_) => continue,
        }
    }
    Err(ConfigReason::Invalid(
        "no free temporary name in the container's network namespace".into(),
    ))
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

/// One checked entry: its addresses noted, down, moved and renamed, found again, addresses
/// back, up. What it takes from the host is pushed on `taken` before it changes, and the link
/// it becomes on `seen`. Returns it as the container's namespace has it.
fn move_one(
    ns: &mut Namespaces,
    entry: &Planned<'_>,
    seen: &mut Vec<Link>,
    taken: &mut Vec<Taken>,
) -> Result<Link, ConfigReason> {
    let (host_name, name, dev) = (entry.host_name, entry.name, &entry.dev);
    // The kernel drops addresses on a move: note the permanent ones (those of global scope go
    // into the container, as the spec says; all of them back on the host on failure).
    let addresses: Vec<Address> = ns
        .host
        .addresses(dev.index)
        .map_err(|e| sys_reason(format!("listing the addresses of {host_name:?}"), e))?
        .into_iter()
        .filter(|a| a.flags & libc::IFA_F_PERMANENT != 0)
        .collect();
    taken.push(Taken {
        dev: dev.clone(),
        via: entry.via.clone(),
        addresses,
        inside: None,
    });
    // Down before it changes namespace and name, so nothing on the host uses it half-moved.
    ns.host
        .set_up(dev.index, false)
        .map_err(|e| sys_reason(format!("setting {host_name:?} down"), e))?;
    // Move and rename in one request, so the new name never exists on the host; a template's
    // device under its temporary name.
    let via = entry.via.as_str();
    ns.host
        .move_to(dev.index, via, ns.netns.as_fd())
        .map_err(|e| {
            let mut what = format!("moving {host_name:?} into the container as {name:?}");
            if via != name {
                what += &format!(" (under the temporary name {via:?})");
            }
            sys_reason(what, e)
        })?;
    // Find it again by that name, which was free there: exactly this device.
    let found = ns.inside.link_index(via).and_then(|i| ns.inside.link(i));
    let mut moved = found.map_err(|e| {
        let what = format!("finding {host_name:?} ({via:?}) in the container's network namespace");
        sys_reason(what, e)
    })?;
    if let Some(t) = taken.last_mut() {
        t.inside = Some(moved.index);
    }
    seen.push(moved.clone());
    // A template: the kernel numbers it (the first free number there), by its index; the
    // name it got read back by index.
    if template_parts(name).is_some() {
        moved = number(&mut ns.inside, &moved, name)?;
    }
    // Its global addresses back, then up, as the spec asks.
    let addresses = taken
        .last()
        .map(|t| t.addresses.as_slice())
        .unwrap_or_default();
    configure(&mut ns.inside, &moved, addresses)?;
    Ok(moved)
}

/// The device `moved` renamed by the name template `template` in the container's namespace;
/// as it is then (the name the kernel gave it).
fn number(inside: &mut Rtnl, moved: &Link, template: &str) -> Result<Link, ConfigReason> {
    let renamed = inside
        .rename(moved.index, template)
        .and_then(|()| inside.link(moved.index));
    renamed.map_err(|e| {
        let what = format!("naming {:?} by {template:?} in the container", moved.name);
        sys_reason(what, e)
    })
}

/// The moved device's permanent global addresses added in the container, then set up.
fn configure(inside: &mut Rtnl, moved: &Link, addresses: &[Address]) -> Result<(), ConfigReason> {
    for addr in addresses.iter().filter(|a| a.permanent_global()) {
        inside.add_address(moved.index, addr).map_err(|e| {
            let what = format!(
                "adding {} to {:?} in the container",
                addr.display(),
                moved.name
            );
            sys_reason(what, e)
        })?;
    }
    inside
        .set_up(moved.index, true)
        .map_err(|e| sys_reason(format!("setting {:?} up in the container", moved.name), e))
}

/// The device called `host_name` in the runtime's namespace; a missing one is the caller's
/// error, said plainly.
fn find_on_host(host: &mut Rtnl, host_name: &str) -> Result<Link, ConfigReason> {
    let looked_up = host
        .link_index(host_name)
        .and_then(|index| host.link(index));
    looked_up.map_err(|e| match e.errno {
        Errno::ENODEV => ConfigReason::Invalid(format!(
            "no network device {host_name:?} in the runtime's network namespace"
        )),
        _ => sys_reason(format!("looking up {host_name:?}"), e),
    })
}

/// The spec's check of the new name against the names the container's namespace will have
/// (`taken`): a plain name taken there (or `known` to the kernel there: it also finds
/// alternative names) is an error; a template is fine if the name the kernel will pick fits.
/// Returns the name the device should get.
fn check_name(name: &str, taken: &[&str], known: bool) -> Result<String, ConfigReason> {
    if template_parts(name).is_some() {
        return expand(name, taken).map_err(ConfigReason::Invalid);
    }
    if known || taken.contains(&name) {
        return Err(ConfigReason::Invalid(format!(
            "the container's network namespace already has a device called {name:?}"
        )));
    }
    Ok(name.to_string())
}

/// A taken device left in the container's namespace by a move that failed part-way (the
/// kernel moves before it renames): by its host name, else the name it moved under, when that
/// link is this device (same kind and hardware address) and none of those `seen` there.
/// ENODEV when it is not there.
fn find_left(inside: &mut Rtnl, t: &Taken, seen: &[Link]) -> SysResult<Link> {
    for name in [&t.dev.name, &t.via] {
        let Ok(link) = inside.link_index(name).and_then(|i| inside.link(i)) else {
            continue;
        };
        if link.same_device(&t.dev) && !seen.iter().any(|s| s.index == link.index) {
            return Ok(link);
        }
    }
    Err(netlink_error(Errno::ENODEV))
}

/// `reason` with the host names of devices that could not be put back (`stranded`) noted.
fn noting(reason: ConfigReason, stranded: &[String]) -> ConfigReason {
    if stranded.is_empty() {
        return reason;
    }
    let note = format!(" (not put back on the host: {})", stranded.join(", "));
    match reason {
        ConfigReason::Sys { context, error } => ConfigReason::Sys {
            context: context + &note,
            error,
        },
        other => ConfigReason::Invalid(format!("{other}{note}")),
    }
}

/// A device taken from the host put back as it was found (best effort: the error that made
/// it come back is the one reported; a device that cannot be moved back is Err, its host
/// name). Moved back under its host name if it left (the kernel renames after moving, so a
/// failed rename leaves it in the container's namespace); then all its permanent addresses
/// again, since a move drops them and setting it down flushed the IPv6 ones
/// (keep_addr_on_down=0; EEXIST for those still there); then up if it was.
fn put_back(ns: &mut Namespaces, t: &Taken, seen: &[Link]) -> Result<(), String> {
    let still_here = ns
        .host
        .link(t.dev.index)
        .is_ok_and(|l| l.same_device(&t.dev));
    let index = if still_here {
        Ok(t.dev.index)
    } else {
        move_back(ns, t, seen)
    };
    let Ok(index) = index else {
        return Err(t.dev.name.clone());
    };
    for addr in &t.addresses {
        let _ = ns.host.add_address(index, addr);
    }
    if t.dev.is_up() {
        let _ = ns.host.set_up(index, true);
    }
    trace::step("network device put back", &[("device", t.dev.name.clone())]);
    Ok(())
}

/// Moves a taken device from the container's namespace back into the runtime's, under its
/// host name; its index on the host.
fn move_back(ns: &mut Namespaces, t: &Taken, seen: &[Link]) -> SysResult<i32> {
    let index = match t.inside {
        Some(index) => index,
        None => find_left(&mut ns.inside, t, seen)?.index,
    };
    let own = Path::new("/proc/thread-self/ns/net");
    let host_ns = sys::open(own, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())?;
    ns.inside.move_to(index, &t.dev.name, host_ns.as_fd())?;
    ns.host.link_index(&t.dev.name)
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
            assert!(valid_name(ok, false).is_ok(), "{ok}");
            assert!(valid_name(ok, true).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "1234567890123456"] {
            assert!(valid_name(bad, true).is_err(), "{bad}");
        }
        // A host device's own name is never a template.
        assert!(valid_name("eth%d", false).is_err());
    }

    #[test]
    fn a_template_is_one_percent_d_and_fits_as_a_template() {
        // __dev_alloc_name: one "%d" anywhere, no other '%'; dev_valid_name on the template.
        for ok in ["eth%d", "%d", "v%dx", "abcdefghijklm%d"] {
            assert!(valid_name(ok, true).is_ok(), "{ok}");
        }
        for bad in [
            "eth%s",
            "eth%d%d",
            "eth%",
            "eth%%d",
            "e%d%",
            "abcdefghijklmn%d",
        ] {
            let why = valid_name(bad, true).unwrap_err();
            assert!(why.contains("template"), "{bad}: {why}");
        }
    }

    #[test]
    fn a_template_expands_to_the_lowest_free_number_that_fits() {
        assert_eq!(expand("eth%d", &["lo"]).unwrap(), "eth0");
        assert_eq!(expand("eth%d", &["lo", "eth0", "eth2"]).unwrap(), "eth1");
        // The kernel compares whole names: "eth01" does not take number 1.
        assert_eq!(expand("eth%d", &["eth0", "eth01"]).unwrap(), "eth1");
        assert_eq!(expand("v%dx", &["v0x"]).unwrap(), "v1x");
        // 15 bytes with its %d: numbers 0 to 99 fit, 100 would be cut short by the kernel.
        let names: Vec<String> = (0..100).map(|n| format!("abcdefghijklm{n}")).collect();
        let taken: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            expand("abcdefghijklm%d", &taken[..99]).unwrap(),
            "abcdefghijklm99"
        );
        let why = expand("abcdefghijklm%d", &taken).unwrap_err();
        assert!(why.contains("longer than 15 bytes"), "{why}");
    }

    #[test]
    fn a_plain_name_taken_in_the_container_is_refused_a_template_is_numbered() {
        let taken = ["lo", "eth0"];
        let why = check_name("eth0", &taken, false).unwrap_err();
        assert!(why.to_string().contains("already has"), "{why}");
        assert_eq!(check_name("eth%d", &taken, false).unwrap(), "eth1");
        assert_eq!(check_name("ctr0", &taken, false).unwrap(), "ctr0");
        // An alternative name the kernel finds is taken too.
        assert!(check_name("ctr0", &taken, true).is_err());
    }

    #[test]
    fn devices_not_put_back_are_named_in_the_error() {
        let sys = sys_reason("moving", netlink_error(Errno::EINVAL));
        let stranded = ["rnm1".to_string(), "rnm0".to_string()];
        let noted = noting(sys, &stranded).to_string();
        assert!(
            noted.starts_with("moving (not put back on the host: rnm1, rnm0): "),
            "{noted}"
        );
        let invalid = ConfigReason::Invalid("taken".into());
        assert_eq!(
            noting(invalid, &stranded[..1]).to_string(),
            "taken (not put back on the host: rnm1)"
        );
        let alone = noting(ConfigReason::Invalid("taken".into()), &[]);
        assert_eq!(alone.to_string(), "taken");
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
