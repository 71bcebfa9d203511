//! systemd's unit API (org.freedesktop.systemd1.Manager) over a [`Bus`]: start a transient
//! unit and wait for its job, change its properties, stop it and reset it.

use std::time::Duration;

use super::dbus::{Bus, Call, Refused, TIMEOUT};
use super::properties::Prop;
use super::wire::{Decoded, Value};
use crate::error::{Error, Result};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// The match rule that makes the bus daemon route systemd's JobRemoved signals to us.
const JOB_REMOVED_MATCH: &str = "type='signal',sender='org.freedesktop.systemd1',\
interface='org.freedesktop.systemd1.Manager',member='JobRemoved',path='/org/freedesktop/systemd1'";

fn manager_call<'a>(member: &'a str, args: &'a [Value]) -> Call<'a> {
    Call {
        destination: DEST,
        path: PATH,
        interface: MANAGER,
        member,
        args,
    }
}

fn refused(method: &'static str, unit: &str, r: Refused) -> Error {
    Error::Systemd {
        method,
        unit: unit.to_string(),
        name: r.name,
        message: r.message,
    }
}

/// systemd's version number ("252.38-1~deb12u1" → 252); 0 if it cannot be read.
pub(crate) fn version(bus: &mut Bus) -> Result<u32> {
    let v = manager_string(bus, "Version", "Get(Version)")?;
    Ok(parse_version(&v))
}

/// The manager's `ControlGroup` property: where its units' cgroups are rooted ("" or "/" for
/// the system's systemd, `/user.slice/user-UID.slice/user@UID.service` for a user's).
pub(crate) fn manager_cgroup(bus: &mut Bus) -> Result<String> {
    manager_string(bus, "ControlGroup", "Get(ControlGroup)")
}

/// A string property of the manager object ("" when the reply holds no string); `method`
/// names the call in a refusal.
fn manager_string(bus: &mut Bus, property: &str, method: &'static str) -> Result<String> {
    let args = [Value::Str(MANAGER.into()), Value::Str(property.into())];
    let reply = bus.call(&Call {
        destination: DEST,
        path: PATH,
        interface: "org.freedesktop.DBus.Properties",
        member: "Get",
        args: &args,
    })?;
    let body = reply.map_err(|r| refused(method, MANAGER, r))?;
    Ok(body
        .first()
        .and_then(Decoded::as_str)
        .unwrap_or_default()
        .to_string())
}

/// runc's systemdVersionAtoi: the leading digits after an optional "v".
pub(crate) fn parse_version(text: &str) -> u32 {
    let t = text.trim_start_matches(['"', 'v']);
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

/// Subscribe to JobRemoved (through the bus daemon; systemd's private socket gets them anyway).
pub(crate) fn subscribe(bus: &mut Bus) -> Result<()> {
    if !bus.is_bus() {
        return Ok(());
    }
    let args = [Value::Str(JOB_REMOVED_MATCH.into())];
    let reply = bus.call(&Call {
        destination: "org.freedesktop.DBus",
        path: "/org/freedesktop/DBus",
        interface: "org.freedesktop.DBus",
        member: "AddMatch",
        args: &args,
    })?;
    reply
        .map(drop)
        .map_err(|r| bus.refused_err("AddMatch JobRemoved", r))
}

/// StartTransientUnit(name, "replace", props, []) and wait for its job. A leftover unit of
/// the same name (UnitExists) is reset and the start retried once, as runc does; a job that
/// ends other than "done" is an error (and the failed unit is reset).
pub(crate) fn start_transient(bus: &mut Bus, unit: &str, props: Vec<Prop>) -> Result<()> {
    subscribe(bus)?;
    let args = [
        Value::Str(unit.into()),
        Value::Str("replace".into()),
        Value::Properties(props),
        Value::AuxUnits(Vec::new()),
    ];
    let mut reply = bus.call(&manager_call("StartTransientUnit", &args))?;
    if matches!(&reply, Err(r) if r.name == "org.freedesktop.systemd1.UnitExists") {
        let _ = reset_failed(bus, unit);
        reply = bus.call(&manager_call("StartTransientUnit", &args))?;
    }
    let job = job_path(reply).map_err(|r| refused("StartTransientUnit", unit, r))?;
    let result = wait_job(bus, &job, TIMEOUT)?;
    if result != "done" {
        let _ = reset_failed(bus, unit);
        return Err(Error::SystemdJob {
            method: "StartTransientUnit",
            unit: unit.into(),
            result,
        });
    }
    Ok(())
}

/// StopUnit(name, "replace") and wait for the job; a unit that is already gone is fine. Then
/// ResetFailedUnit, so a failed unit does not stay listed.
pub(crate) fn stop(bus: &mut Bus, unit: &str) -> Result<()> {
    subscribe(bus)?;
    let args = [Value::Str(unit.into()), Value::Str("replace".into())];
    match bus.call(&manager_call("StopUnit", &args))? {
        Ok(body) => {
            let job = job_path(Ok(body)).map_err(|r| refused("StopUnit", unit, r))?;
            let result = wait_job(bus, &job, TIMEOUT)?;
            // runc only warns about a stop job that did not end "done" and carries on.
            let _ = result;
        }
        Err(r) if r.name == "org.freedesktop.systemd1.NoSuchUnit" => {}
        Err(r) => return Err(refused("StopUnit", unit, r)),
    }
    reset_failed(bus, unit)
}

/// ResetFailedUnit(name); a unit systemd does not know (any more) is fine.
pub(crate) fn reset_failed(bus: &mut Bus, unit: &str) -> Result<()> {
    let args = [Value::Str(unit.into())];
    match bus.call(&manager_call("ResetFailedUnit", &args))? {
        Ok(_) => Ok(()),
        Err(r) if r.name == "org.freedesktop.systemd1.NoSuchUnit" => Ok(()),
        Err(r) => Err(refused("ResetFailedUnit", unit, r)),
    }
}

/// SetUnitProperties(name, runtime=true, props).
pub(crate) fn set_properties(bus: &mut Bus, unit: &str, props: Vec<Prop>) -> Result<()> {
    if props.is_empty() {
        return Ok(());
    }
    let args = [
        Value::Str(unit.into()),
        Value::Bool(true),
        Value::Properties(props),
    ];
    bus.call(&manager_call("SetUnitProperties", &args))?
        .map(drop)
        .map_err(|r| refused("SetUnitProperties", unit, r))
}

fn job_path(
    reply: std::result::Result<Vec<Decoded>, Refused>,
) -> std::result::Result<String, Refused> {
    let body = reply?;
    body.first()
        .and_then(Decoded::as_str)
        .map(str::to_string)
        .ok_or_else(|| Refused {
            name: "org.freedesktop.DBus.Error.InvalidSignature".into(),
            message: "expected a job object path".into(),
        })
}

/// Wait for JobRemoved(id u, job o, unit s, result s) of `job`; its result.
fn wait_job(bus: &mut Bus, job: &str, timeout: Duration) -> Result<String> {
    let body = bus.wait_signal(MANAGER, "JobRemoved", timeout, |b| {
        b.get(1).and_then(Decoded::as_str) == Some(job)
    })?;
    Ok(body
        .get(3)
        .and_then(Decoded::as_str)
        .unwrap_or("")
        .to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_parse_like_runc() {
        assert_eq!(super::parse_version("252.38-1~deb12u1"), 252);
        assert_eq!(super::parse_version("\"v245.4-1.fc32\""), 245);
        assert_eq!(super::parse_version("245"), 245);
        assert_eq!(super::parse_version(""), 0);
    }
}
