//! `runr events [--interval D] [--stats] ID`: the container's events as JSON lines, runc's shape
//! (`{"type":"stats","id":…,"data":{…}}`, `{"type":"oom","id":…}`). `--stats` prints one stats
//! event and exits; otherwise stats come every interval (Go duration syntax: `5s`, `100ms`,
//! `1m30s`) and OOM events as the kernel reports them, until the container stops or its cgroup
//! is removed.

use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use runtime_core::{Container, Status};
use serde::Serialize;

use crate::cli::{flag, switch, Command, Parsed, UsageError};
use crate::Global;

pub const COMMAND: Command = Command {
    name: "events",
    usage: "print a container's events: OOM kills and resource statistics",
    args_usage: "<container-id>

<container-id> is the name of the container.",
    description:
        "Prints JSON lines: an \"oom\" event when the kernel OOM-kills in the container, and
a \"stats\" event (cpu, memory, pids, blkio, hugetlb) every --interval, until the
container stops.",
    flags: &[
        flag(
            &["interval"],
            "how often to print statistics (Go duration: 5s, 100ms, 1m30s)",
        )
        .with_default("5s"),
        switch(&["stats"], "print the statistics once and exit"),
    ],
    reorder: true,
};

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<cgroups::Stats>,
}

/// `--interval` (5s by default), as Go's flag package parses a duration.
fn interval_flag(p: &Parsed) -> anyhow::Result<Duration> {
    match p.value("interval") {
        None => Ok(Duration::from_secs(5)),
        Some(v) => parse_go_duration(v).ok_or_else(|| {
            UsageError(format!(
                "invalid value {v:?} for flag -interval: parse error"
            ))
            .into()
        }),
    }
}

pub fn run(g: &mut Global, p: &Parsed) -> anyhow::Result<i32> {
    let interval = interval_flag(p)?;
    let c = Container::load(&g.root, p.id("events")?)?;
    if interval.is_zero() {
        anyhow::bail!("duration interval must be greater than 0");
    }
    if c.status()? == Status::Stopped {
        anyhow::bail!("container with id {} is not running", c.id());
    }
    let id = c.id().to_string();
    let emit = |kind: &'static str, data: Option<cgroups::Stats>| -> std::io::Result<()> {
        let line = serde_json::to_string(&Event {
            kind,
            id: &id,
            data,
        })?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()
    };
    if p.is_set("stats") {
        emit("stats", Some(c.stats()?))?;
        return Ok(0);
    }
    let cg = c.cgroup();
    let oom = cg.oom_event_fd()?;
    // v1: every wake-up of the eventfd is an OOM (or the cgroup going away); v2: memory.events
    // changed, and the oom_kill counter says whether it was an OOM kill.
    let v1_memory = cg.v1_path("memory").map(|p| p.to_path_buf());
    let mut kills = cg.oom_kill_count().unwrap_or(0);
    let mut next = Instant::now() + interval;
    let mut buf = [0u8; 4096];
    loop {
        let wait = next
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(200));
        let mut fds = [PollFd::new(oom.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(wait.as_millis() as i32).unwrap_or(PollTimeout::ZERO),
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => other?,
        };
        if fds[0].revents().is_some_and(|r| !r.is_empty()) {
            let _ = nix::unistd::read(oom.as_fd(), &mut buf);
            match &v1_memory {
                Some(dir) if !dir.join("cgroup.event_control").exists() => break,
                Some(_) => emit("oom", None)?,
                None => {
                    let now = cg.oom_kill_count().unwrap_or(kills);
                    if now > kills {
                        emit("oom", None)?;
                    }
                    kills = now;
                }
            }
        }
        if c.status()? == Status::Stopped {
            break;
        }
        if Instant::now() >= next {
            match c.stats() {
                Ok(s) => emit("stats", Some(s))?,
                Err(e) => g.log.error(&super::describe(&e.into())),
            }
            next += interval;
        }
    }
    Ok(0)
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units (ns, us, µs, ms, s, m,
/// h), optionally signed; "0" alone is allowed. Negative durations come back as `None` too
/// when non-zero (an interval must be positive).
fn parse_go_duration(s: &str) -> Option<Duration> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(n);
        if num.is_empty() || num == "." {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        let u = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(u);
        let nanos = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * nanos;
        rest = tail;
    }
    if neg && total > 0.0 {
        return Some(Duration::ZERO);
    }
    Some(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration as d;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(d("5s"), Some(Duration::from_secs(5)));
        assert_eq!(d("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(d("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(d("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(d("0"), Some(Duration::ZERO));
        assert_eq!(d("-5s"), Some(Duration::ZERO));
        assert_eq!(d("1x"), None);
        assert_eq!(d("5"), None);
        assert_eq!(d(""), None);
    }
}
