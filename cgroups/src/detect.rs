//! Host detection: which cgroup hierarchies are mounted where (from /proc/self/mountinfo), and
//! which cgroup the calling process is in (from /proc/self/cgroup).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::Layout;

/// The v1 controllers this crate knows how to find in mount options.
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    /// Controllers (v1; `name=systemd` for named hierarchies); empty for cgroup2.
    pub controllers: Vec<String>,
    pub mountpoint: PathBuf,
    /// The mount's root within its hierarchy ("/" unless bind-mounted from inside, as in
    /// nested containers).
    pub root: String,
}

/// What is mounted and where the calling process sits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Host {
    pub v1: Vec<Mount>,
    pub v2: Option<Mount>,
    /// Controller (or "name=systemd", or "" for cgroup2) → path in that hierarchy.
    pub own: BTreeMap<String, String>,
}

impl Host {
    pub fn layout(&self) -> Result<Layout> {
        match (&self.v2, self.v1.is_empty()) {
            (Some(m), _) if m.mountpoint == Path::new("/sys/fs/cgroup") => Ok(Layout::Unified),
            (Some(_), false) => Ok(Layout::Hybrid),
            (Some(_), true) => Ok(Layout::Unified),
            (None, false) => Ok(Layout::Legacy),
            (None, true) => Err(Error::NoCgroupFs {
                path: PathBuf::from("/proc/self/mountinfo"),
                reason: "no cgroup or cgroup2 file system is mounted".into(),
            }),
        }
    }

    /// Read the real host's mounts and own cgroup.
    pub fn probe() -> Result<Host> {
        let mi = crate::fs::read(Path::new("/proc/self/mountinfo"))?;
        let own = crate::fs::read(Path::new("/proc/self/cgroup"))?;
        let mut host = parse_mountinfo(&mi);
        host.own = parse_proc_cgroup(&own);
        Ok(host)
    }

    /// A host whose cgroup mounts are at `root`: each sub-directory is a v1 hierarchy named by its
    /// controllers ("cpu,cpuacct"; "systemd" means name=systemd), `unified` is the hybrid
    /// cgroup2 mount; on `Unified`, `root` itself is the cgroup2 mount. The process is taken to
    /// be in "/" everywhere.
    pub fn at_root(root: &Path, layout: Layout) -> Result<Host> {
        let mut host = Host::default();
        let v2 = |p: PathBuf| Mount {
            controllers: vec![],
            mountpoint: p,
            root: "/".into(),
        };
        if layout == Layout::Unified {
            host.v2 = Some(v2(root.to_path_buf()));
            return Ok(host);
        }
        let entries =
            std::fs::read_dir(root).map_err(|e| Error::io(crate::error::Op::ReadDir, root, e))?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in names {
            if name == "unified" {
                if layout == Layout::Hybrid {
                    host.v2 = Some(v2(root.join("unified")));
                }
                continue;
            }
            let controllers = name
                .split(',')
                .map(|c| {
                    if c == "systemd" {
                        "name=systemd".to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            host.v1.push(Mount {
                controllers,
                mountpoint: root.join(&name),
                root: "/".into(),
            });
        }
        Ok(host)
    }
}

/// Undo mountinfo's octal escapes (`\040` for a space, …).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse /proc/self/mountinfo, keeping the first mount of each hierarchy.
pub(crate) fn parse_mountinfo(text: &str) -> Host {
    let mut host = Host::default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if fields.len() < sep + 4 || sep < 6 {
            continue;
        }
        let (root, mountpoint) = (unescape(fields[3]), PathBuf::from(unescape(fields[4])));
        match fields[sep + 1] {
            "cgroup2" => {
                let better = match &host.v2 {
                    None => true,
                    // Prefer the canonical locations over stray extra mounts.
                    Some(m) => {
                        m.mountpoint != Path::new("/sys/fs/cgroup")
                            && m.mountpoint != Path::new("/sys/fs/cgroup/unified")
                    }
                };
                if better {
                    host.v2 = Some(Mount {
                        controllers: vec![],
                        mountpoint,
                        root,
                    });
                }
            }
            "cgroup" => {
                let controllers: Vec<String> = fields[sep + 3]
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                    .map(str::to_string)
                    .collect();
                if controllers.is_empty() || host.v1.iter().any(|m| m.controllers == controllers) {
                    continue;
                }
                host.v1.push(Mount {
                    controllers,
                    mountpoint,
                    root,
                });
            }
            _ => {}
        }
    }
    host
}

/// Parse /proc/self/cgroup ("4:memory:/a/b", "2:cpu,cpuacct:/", "0::/x").
pub(crate) fn parse_proc_cgroup(text: &str) -> BTreeMap<String, String> {
    let mut own = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ctrls.is_empty() {
            own.insert(String::new(), path.to_string());
        } else {
            for c in ctrls.split(',') {
                own.insert(c.to_string(), path.to_string());
            }
        }
    }
    own
}

/// See [`crate::detect_layout`].
pub(crate) fn detect_layout() -> Result<Layout> {
    let mi = crate::fs::read(Path::new("/proc/self/mountinfo"))?;
    parse_mountinfo(&mi).layout()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn mountinfo_hybrid() {
        let h = parse_mountinfo(HYBRID);
        assert_eq!(h.layout().unwrap(), Layout::Hybrid);
        assert_eq!(h.v1.len(), 4);
        assert_eq!(h.v1[0].controllers, vec!["cpu"]);
        assert_eq!(h.v1[3].controllers, vec!["name=systemd"]);
        assert_eq!(
            h.v2.unwrap().mountpoint,
            PathBuf::from("/sys/fs/cgroup/unified")
        );
    }

    #[test]
    fn mountinfo_unified_and_legacy() {
        let u = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(parse_mountinfo(u).layout().unwrap(), Layout::Unified);
        let l = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let h = parse_mountinfo(l);
        assert_eq!(h.layout().unwrap(), Layout::Legacy);
        assert_eq!(h.v1[0].controllers, vec!["cpu", "cpuacct"]);
        assert!(parse_mountinfo("").layout().is_err());
    }

    #[test]
    fn mountinfo_escapes() {
        let l = "32 31 0:29 /a\\040b /x\\040y rw - cgroup cgroup rw,pids\n";
        let h = parse_mountinfo(l);
        assert_eq!(h.v1[0].mountpoint, PathBuf::from("/x y"));
        assert_eq!(h.v1[0].root, "/a b");
    }

    #[test]
    fn proc_cgroup() {
        let own = parse_proc_cgroup("4:memory:/a/b\n2:cpu,cpuacct:/\n1:name=systemd:/s\n0::/u\n");
        assert_eq!(own["memory"], "/a/b");
        assert_eq!(own["cpuacct"], "/");
        assert_eq!(own["name=systemd"], "/s");
        assert_eq!(own[""], "/u");
    }
}
