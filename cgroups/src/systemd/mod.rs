//! The systemd cgroup driver (`--systemd-cgroup`), as runc's: the container's cgroup is a
//! transient unit that systemd creates, with the container's init in it, and whose resource
//! properties systemd keeps; the cgroupfs code then drives the same directories (the same
//! values written to the files, freezer, stats, pids, OOM, kill, removal of what is left).
//!
//! - cgroupsPath `slice:prefix:name` → unit `prefix-name.scope` in `slice` (default
//!   `system.slice`), or, when name ends in `.slice`, that slice itself (made a child of
//!   `slice` with Wants=). An empty cgroupsPath is `:runr:<id>`. `-.slice` is the root slice;
//!   `a-b.slice` lives in `a.slice`, so its cgroup is `/a.slice/a-b.slice`.
//! - Create: before the clone, connect to the system bus, ask systemd's version and build the
//!   properties (a broken bus or a bad annotation fails before any process exists); after the
//!   clone, StartTransientUnit with PIDs=[init] and wait for the job's JobRemoved.
//! - Update: SetUnitProperties(runtime) and the files. Delete: StopUnit (wait), ResetFailedUnit,
//!   then remove what systemd left (v1 hierarchies systemd does not manage).
//! - Unprivileged (runc's rootless systemd driver): the user's own systemd
//!   (`user@UID.service`) over the session bus makes the unit, in `user.slice` by default, and
//!   its cgroup lies below that manager's (`ControlGroup`, e.g.
//!   `/user.slice/user-1000.slice/user@1000.service`). Pure cgroup v2 only. The bus socket and
//!   that manager's `ControlGroup` are kept with the unit ([`UserBus`]): a later update or
//!   delete reaches the same manager whatever its environment (a shim, `sudo -u`, cron), and
//!   says so clearly when it is gone or the socket now leads to another manager. (runc looks
//!   the bus up in each command's environment again.)
//!
//! # Why an own D-Bus client
//! zbus (the maintained pure-Rust client) is async at heart: its blocking API runs an
//! executor thread per connection (its "async-io" or tokio runtime), which would still be
//! running when runr clones the container's init (a forked copy of a multi-threaded process
//! may hold that thread's locks), and it adds several hundred KiB to a 1.46 MiB binary whose
//! target is 1.5 MiB. runr needs six methods of one object, one signal and a handful of value
//! types; the wire protocol for that is a few hundred lines (`wire.rs` marshalling, `dbus.rs`
//! the connection: unix socket, SASL EXTERNAL, Hello, AddMatch, calls with a deadline), with
//! no thread, no allocation after the call and no dependency.

mod dbus;
mod properties;
mod unit;
mod wire;

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};
use crate::Layout;

pub(crate) use properties::cpu_quota;

/// Which systemd to talk to: the system's (PID 1) or the user's own instance
/// (`user@UID.service`, over the user's session bus), as runc's rootless driver does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope<'a> {
    /// The system bus, or systemd's private socket.
    System,
    /// The user's systemd: the one create found, or (a state written before it was kept)
    /// the one this environment names.
    User(Option<&'a UserBus>),
}

/// The user's systemd a container's unit belongs to, as create found it: the session bus
/// socket and the manager's `ControlGroup`, which names the manager
/// (`/user.slice/user-1000.slice/user@1000.service`). Kept in state.json.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct UserBus {
    /// The session bus socket.
    pub socket: PathBuf,
    /// The manager's `ControlGroup`.
    pub manager: String,
}

/// The user's systemd this environment names (create): its bus socket and `ControlGroup`.
pub(crate) fn user_bus() -> Result<UserBus> {
    let mut bus = dbus::Bus::session()?;
    let manager = unit::manager_cgroup(&mut bus)?;
    // Absolute: a relative `unix:path=` would resolve against each later command's cwd.
    let socket = std::fs::canonicalize(bus.socket())
        .or_else(|_| std::path::absolute(bus.socket()))
        .unwrap_or_else(|_| bus.socket().to_path_buf());
    Ok(UserBus { socket, manager })
}

/// A connection to the systemd `scope` names. The user's systemd create recorded is reached
/// at its socket and must still be that manager.
fn connect(scope: Scope<'_>) -> Result<dbus::Bus> {
    let recorded = match scope {
        Scope::System => return dbus::Bus::system(),
        Scope::User(None) => return dbus::Bus::session(),
        Scope::User(Some(recorded)) => recorded,
    };
    let mut bus = dbus::Bus::session_at(&recorded.socket).map_err(|e| Error::UserBusGone {
        socket: recorded.socket.clone(),
        manager: recorded.manager.clone(),
        reason: e.to_string(),
    })?;
    let manager = unit::manager_cgroup(&mut bus)?;
    if manager != recorded.manager {
        return Err(Error::UserBusNowOther {
            socket: recorded.socket.clone(),
            manager: recorded.manager.clone(),
            found: manager,
        });
    }
    Ok(bus)
}

/// The container's systemd unit (its name is kept in state.json with the rest of the manager).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unit {
    /// `prefix-name.scope`, or `name.slice`.
    pub name: String,
    /// The slice it is placed in (Slice= for a scope, Wants= for a slice).
    pub slice: String,
    /// Its cgroup below every hierarchy's root, e.g. `/system.slice/runr-c1.scope`.
    pub cgroup: String,
}

/// The unit for a cgroupsPath given with `--systemd-cgroup`; an empty slice is `default_slice`
/// (runc: `system.slice`, `user.slice` for the user's systemd).
pub(crate) fn parse(
    cgroups_path: Option<&str>,
    container_id: &str,
    default_slice: &str,
) -> Result<Unit> {
    let raw = cgroups_path.filter(|p| !p.is_empty());
    let invalid = |reason: String| Error::InvalidPath {
        path: raw.unwrap_or("").to_string(),
        reason,
    };
    let (slice, prefix, name) = match raw {
        None => ("", "runr", container_id),
        Some(p) => {
            let parts: Vec<&str> = p.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                return Err(invalid(
                    "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups"
                        .into(),
                ));
            };
            (slice, prefix, name)
        }
    };
    if name.is_empty() {
        return Err(invalid("the name (after the second ':') is empty".into()));
    }
    if let Some(bad) = [slice, prefix, name]
        .into_iter()
        .find(|s| s.contains('/') || s.contains('\0'))
    {
        return Err(invalid(format!("{bad:?}: a unit name cannot contain '/'")));
    }
    let slice = if slice.is_empty() {
        default_slice
    } else {
        slice
    };
    let parent = expand_slice(slice).map_err(|r| invalid(format!("slice {slice:?}: {r}")))?;
    if name.ends_with(".slice") {
        let cgroup = expand_slice(name).map_err(|r| invalid(format!("name {name:?}: {r}")))?;
        return Ok(Unit {
            name: name.into(),
            slice: slice.into(),
            cgroup,
        });
    }
    let unit = format!("{prefix}-{name}.scope");
    let cgroup = if parent == "/" {
        format!("/{unit}")
    } else {
        format!("{parent}/{unit}")
    };
    Ok(Unit {
        name: unit,
        slice: slice.into(),
        cgroup,
    })
}

/// runc's ExpandSlice: `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice`; `-.slice` → `/`.
pub(crate) fn expand_slice(slice: &str) -> std::result::Result<String, String> {
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err("a slice name must end in \".slice\"".into());
    };
    if stem.is_empty() || slice.contains('/') {
        return Err("invalid slice name".into());
    }
    if stem == "-" {
        return Ok("/".into());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err("a slice name cannot start with '-' or contain \"--\"".into());
        }
        path.push_str(&format!("/{prefix}{part}.slice"));
        prefix.push_str(part);
        prefix.push('-');
    }
    Ok(path)
}

/// What create has ready before the clone: the open bus and the unit's properties.
pub struct Prepared {
    start: Option<(dbus::Bus, Vec<properties::Prop>)>,
}

impl Prepared {
    pub(crate) fn none() -> Prepared {
        Prepared { start: None }
    }

    /// The bus connection's fd, for the caller to close in a cloned child (it is close-on-exec
    /// anyway; a child has no business with it before that either).
    pub fn fd(&self) -> Option<RawFd> {
        self.start.as_ref().map(|(bus, _)| bus.raw_fd())
    }
}

/// Connect and build the unit's start properties (runc's Apply: description, Slice= and
/// Delegate= or Wants=, accounting, DefaultDependencies=no, annotations, resources).
pub(crate) fn prepare(
    scope: Scope<'_>,
    name: &str,
    slice: &str,
    layout: Layout,
    res: &LinuxResources,
    annotations: &HashMap<String, String>,
) -> Result<Prepared> {
    let extra = properties::from_annotations(annotations)?;
    check_booted(name)?;
    let mut bus = connect(scope)?;
    let version = unit::version(&mut bus)?;
    let mut props = vec![(
        "Description".to_string(),
        wire::Value::Str(format!("runr container {name}")),
    )];
    if name.ends_with(".slice") {
        props.push((
            "Wants".into(),
            wire::Value::StrArray(vec![slice.to_string()]),
        ));
    } else {
        props.push(("Slice".into(), wire::Value::Str(slice.to_string())));
        props.push(("Delegate".into(), wire::Value::Bool(true)));
    }
    let io = if layout == Layout::Unified {
        "IOAccounting"
    } else {
        "BlockIOAccounting"
    };
    for acct in ["MemoryAccounting", "CPUAccounting", io, "TasksAccounting"] {
        props.push((acct.into(), wire::Value::Bool(true)));
    }
    props.push(("DefaultDependencies".into(), wire::Value::Bool(false)));
    props.extend(extra);
    props.extend(properties::resources(layout, version, res, false)?);
    Ok(Prepared {
        start: Some((bus, props)),
    })
}

/// Start the unit with `pid` in it and wait until systemd has made it.
pub(crate) fn start(name: &str, pid: i32, prepared: Prepared) -> Result<()> {
    let Some((mut bus, mut props)) = prepared.start else {
        return Ok(());
    };
    props.push(("PIDs".into(), wire::Value::U32Array(vec![pid as u32])));
    unit::start_transient(&mut bus, name, props)
}

/// SetUnitProperties for an update (devices are not changed by update).
pub(crate) fn update(
    scope: Scope<'_>,
    name: &str,
    layout: Layout,
    res: &LinuxResources,
) -> Result<()> {
    let mut bus = connect(scope)?;
    let version = unit::version(&mut bus)?;
    let props = properties::resources(layout, version, res, true)?;
    unit::set_properties(&mut bus, name, props)
}

/// StopUnit (wait) and ResetFailedUnit.
pub(crate) fn stop(scope: Scope<'_>, name: &str) -> Result<()> {
    let mut bus = connect(scope)?;
    unit::stop(&mut bus, name)
}

/// runc's check: systemd is PID 1 (sd_booted: /run/systemd/system exists).
pub(crate) fn check_booted(unit: &str) -> Result<()> {
    if !std::path::Path::new(RUN_SYSTEMD).is_dir() {
        return Err(Error::SystemdNotRunning {
            unit: unit.to_string(),
        });
    }
    Ok(())
}

/// Whether the user's session bus is named or present (see [`dbus::Bus::session`]).
pub(crate) fn session_bus_found() -> bool {
    dbus::session_bus_found()
}

/// Exists when systemd is PID 1 (sd_booted(3)).
const RUN_SYSTEMD: &str = "/run/systemd/system";

/// Whether systemd is PID 1 here and its bus answers (for `features` and `--version`).
pub fn usable() -> bool {
    std::path::Path::new(RUN_SYSTEMD).is_dir()
        && dbus::Bus::system().is_ok_and(|mut b| unit::version(&mut b).is_ok_and(|v| v > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_user_bus_is_used_whatever_the_environment_and_named_when_gone() {
        let recorded = UserBus {
            socket: PathBuf::from("/nonexistent/runr-test/bus"),
            manager: "/user.slice/user-7.slice/user@7.service".into(),
        };
        // Whatever DBUS_SESSION_BUS_ADDRESS / XDG_RUNTIME_DIR say, the recorded socket is the
        // one connected to; it is gone, and the error names it and the manager.
        let Err(e) = connect(Scope::User(Some(&recorded))) else {
            panic!("connected to a socket that does not exist");
        };
        let msg = e.to_string();
        assert!(matches!(e, Error::UserBusGone { .. }), "{msg}");
        assert!(msg.contains("/nonexistent/runr-test/bus"), "{msg}");
        assert!(msg.contains("user@7.service"), "{msg}");
    }

    #[test]
    fn slices_expand_like_runc() {
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
        for bad in [
            ".slice",
            "a",
            "-a.slice",
            "a--b.slice",
            "a-.slice",
            "a/b.slice",
        ] {
            assert!(expand_slice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cgroups_path_gives_the_unit() {
        let u = parse(Some("system.slice:runr:c1"), "x", "system.slice").unwrap();
        assert_eq!(u.name, "runr-c1.scope");
        assert_eq!(u.slice, "system.slice");
        assert_eq!(u.cgroup, "/system.slice/runr-c1.scope");
        // Empty: ":runr:<id>" in system.slice.
        let u = parse(None, "ctr", "system.slice").unwrap();
        assert_eq!(
            (u.name.as_str(), u.cgroup.as_str()),
            ("runr-ctr.scope", "/system.slice/runr-ctr.scope")
        );
        let u = parse(Some(":docker:abc"), "x", "system.slice").unwrap();
        assert_eq!(u.cgroup, "/system.slice/docker-abc.scope");
        let u = parse(Some("machine-libpod.slice:libpod:abc"), "x", "system.slice").unwrap();
        assert_eq!(
            u.cgroup,
            "/machine.slice/machine-libpod.slice/libpod-abc.scope"
        );
        let u = parse(Some("-.slice:p:n"), "x", "system.slice").unwrap();
        assert_eq!(u.cgroup, "/p-n.scope");
        // A name ending in .slice is a slice unit, placed by its own name.
        let u = parse(Some("system.slice:p:runr-test.slice"), "x", "system.slice").unwrap();
        assert_eq!(
            (u.name.as_str(), u.cgroup.as_str()),
            ("runr-test.slice", "/runr.slice/runr-test.slice")
        );
    }

    #[test]
    fn malformed_paths_are_named() {
        for bad in [
            "/a/b",
            "a:b",
            "a:b:c:d",
            "system.slice:p:",
            "nope:p:n",
            "a--b.slice:p:n",
            "system.slice:p/q:n",
        ] {
            let e = parse(Some(bad), "x", "system.slice")
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }
}
