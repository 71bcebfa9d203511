//! Freezer: v1 freezer.state, v2 cgroup.freeze + cgroup.events, both waiting for the state.
//!
//! v1 follows runc 1.1.5 (fs/freezer.go): write FROZEN and read back until FROZEN, up to 1000
//! times, with an occasional thaw+sleep every 50 tries and a short sleep every 25 (a v1 cgroup
//! where processes keep forking can stay FREEZING); on failure it is thawed back. On v2 the
//! kernel's cgroup.events "frozen 1" is polled every 10 ms, up to 10 s.
//! On hybrid hosts the v1 freezer is used (as runc does).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::{Layout, Manager};

enum Kind<'a> {
    V1(&'a std::path::Path),
    V2(&'a std::path::Path),
}

fn kind(m: &Manager) -> Option<Kind<'_>> {
    match m.layout {
        Layout::Unified => m.v2_path().map(Kind::V2),
        _ => m.v1_path("freezer").map(Kind::V1),
    }
}

pub(crate) fn available(m: &Manager) -> bool {
    kind(m).is_some()
}

pub(crate) fn state_dir(m: &Manager) -> Option<PathBuf> {
    match kind(m)? {
        Kind::V1(p) | Kind::V2(p) => Some(p.to_path_buf()),
    }
}

fn unavailable(m: &Manager, what: &str) -> Error {
    let ctrl = if m.layout == Layout::Unified {
        ""
    } else {
        "freezer"
    };
    if let Some(e) = m.denied_error(ctrl, what) {
        return e;
    }
    Error::ControllerUnavailable {
        controller: "freezer".into(),
        required_by: what.into(),
        layout: m.layout,
    }
}

pub(crate) fn freeze(m: &Manager) -> Result<()> {
    match kind(m).ok_or_else(|| unavailable(m, "pause (freeze)"))? {
        Kind::V1(p) => freeze_v1(m, p),
        Kind::V2(p) => {
            let d = m.cg(p);
            d.write("cgroup.freeze", "1")?;
            let start = Instant::now();
            loop {
                let events = d.read("cgroup.events")?;
                if events.lines().any(|l| l.trim() == "frozen 1") {
                    return Ok(());
                }
                if start.elapsed() > Duration::from_secs(10) {
                    let _ = d.write("cgroup.freeze", "0");
                    return Err(Error::FreezeTimeout {
                        path: d.file("cgroup.events"),
                        state: events.trim().replace('\n', ", "),
                        waited_ms: start.elapsed().as_millis() as u64,
                    });
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn freeze_v1(m: &Manager, p: &std::path::Path) -> Result<()> {
    let d = m.cg(p);
    let start = Instant::now();
    let mut state = String::new();
    for i in 0..1000 {
        if i % 50 == 49 {
            let _ = d.write("freezer.state", "THAWED");
            std::thread::sleep(Duration::from_millis(10));
        }
        d.write("freezer.state", "FROZEN")?;
        if i % 25 == 24 {
            std::thread::sleep(Duration::from_micros(10));
        }
        state = d.read("freezer.state")?.trim().to_string();
        match state.as_str() {
            "FREEZING" => continue,
            "FROZEN" => return Ok(()),
            _ => {
                return Err(Error::Parse {
                    path: d.file("freezer.state"),
                    content: state,
                    reason: "unexpected state after writing FROZEN".into(),
                })
            }
        }
    }
    let _ = d.write("freezer.state", "THAWED");
    Err(Error::FreezeTimeout {
        path: d.file("freezer.state"),
        state,
        waited_ms: start.elapsed().as_millis() as u64,
    })
}

pub(crate) fn thaw(m: &Manager) -> Result<()> {
    match kind(m).ok_or_else(|| unavailable(m, "resume (thaw)"))? {
        Kind::V1(p) => m.cg(p).write("freezer.state", "THAWED"),
        Kind::V2(p) => m.cg(p).write("cgroup.freeze", "0"),
    }
}

fn missing(e: &Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENODEV))
}

pub(crate) fn is_frozen(m: &Manager) -> Result<bool> {
    match kind(m) {
        None => Ok(false),
        Some(Kind::V2(p)) => match m.cg(p).read("cgroup.freeze") {
            Ok(s) => Ok(s.trim() == "1"),
            Err(e) if missing(&e) => Ok(false),
            Err(e) => Err(e),
        },
        Some(Kind::V1(p)) => {
            let d = m.cg(p);
            let start = Instant::now();
            loop {
                let state = match d.read("freezer.state") {
                    Ok(s) => s,
                    Err(e) if missing(&e) => return Ok(false),
                    Err(e) => return Err(e),
                };
                match state.trim() {
                    "THAWED" => return Ok(false),
                    "FREEZING" if start.elapsed() < Duration::from_secs(1) => {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    "FREEZING" => return Ok(false),
                    _ => {
                        // FROZEN: by itself, or only through an ancestor?
                        return match d.read("freezer.self_freezing") {
                            Ok(s) => Ok(s.trim() == "1"),
                            Err(e) if missing(&e) => Ok(true),
                            Err(e) => Err(e),
                        };
                    }
                }
            }
        }
    }
}
