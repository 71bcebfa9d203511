//! OOM notification.
//!
//! v1: an eventfd registered through `cgroup.event_control` (`"<eventfd> <oom_control fd>"`) on
//! `memory.oom_control`; each OOM adds to its counter (read 8 bytes). It also fires when the
//! cgroup is removed, so a reader should check the cgroup still exists (runc does).
//! v2: an inotify fd watching `memory.events` for IN_MODIFY; when it is readable, drain it and
//! compare `oom_kill` in memory.events (see [`kill_count`]) with the previous value.

use std::os::fd::{AsRawFd, OwnedFd};

use crate::error::{Error, Op, Result};
use crate::resources::Target;
use crate::Manager;

fn unavailable(m: &Manager) -> Error {
    Error::ControllerUnavailable {
        controller: "memory".into(),
        required_by: "OOM notification".into(),
        layout: m.layout,
    }
}

pub(crate) fn event_fd(m: &Manager) -> Result<OwnedFd> {
    match m.target("memory").ok_or_else(|| unavailable(m))? {
        Target::V1(d) => {
            let ctl = d.file("memory.oom_control");
            let efd = crate::sys::eventfd().map_err(|e| Error::io(Op::Eventfd, &ctl, e))?;
            let cfd = std::fs::File::open(&ctl).map_err(|e| Error::io(Op::Open, &ctl, e))?;
            d.write(
                "cgroup.event_control",
                &format!("{} {}", efd.as_raw_fd(), cfd.as_raw_fd()),
            )?;
            // The kernel holds its own reference to memory.oom_control now.
            drop(cfd);
            Ok(efd)
        }
        Target::V2(d) => {
            let ev = d.file("memory.events");
            crate::sys::inotify_watch_modify(&ev).map_err(|e| Error::io(Op::Inotify, ev, e))
        }
    }
}

pub(crate) fn kill_count(m: &Manager) -> Result<u64> {
    let (d, file) = match m.target("memory").ok_or_else(|| unavailable(m))? {
        Target::V1(d) => (d, "memory.oom_control"),
        Target::V2(d) => (d, "memory.events"),
    };
    let text = d.read(file)?;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("oom_kill ") {
            return crate::fs::parse_u64(&d.file(file), v.trim());
        }
    }
    Ok(0)
}
