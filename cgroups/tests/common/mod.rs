//! A cgroup tree in a temp dir, laid out as a kernel lays out /sys/fs/cgroup, removed on drop.
//!
//! The manager drives it with the same code as a host's tree (files opened without O_CREAT),
//! so this fixture plays the kernel's part: every cgroup directory the manager will use gets
//! its hierarchy's control files before the manager runs (`manager`). Files whose presence is
//! a kernel feature the code probes for (memsw accounting, CFQ's blkio.weight, BFQ's
//! io.bfq.weight, cgroup.kill) are left out; a test adds them with `set`. The order of writes
//! comes from the manager's write journal (`Manager::journal_writes`), an fd into this tree.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use cgroups::{Layout, LinuxResources, Manager};

static N: AtomicUsize = AtomicUsize::new(0);

pub struct FakeTree {
    pub root: PathBuf,
    pub layout: Layout,
}

impl FakeTree {
    fn new(layout: Layout) -> FakeTree {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let root = std::env::temp_dir().join(format!(
            "runr-cgroups-test-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst),
            nanos
        ));
        std::fs::create_dir_all(&root).unwrap();
        FakeTree { root, layout }
    }

    /// A v1 tree with one directory per hierarchy ("cpu,cpuacct" for co-mounted ones).
    pub fn v1(hierarchies: &[&str]) -> FakeTree {
        let t = FakeTree::new(Layout::Legacy);
        for h in hierarchies {
            std::fs::create_dir_all(t.root.join(h)).unwrap();
        }
        t
    }

    /// A hybrid tree: v1 hierarchies plus `unified` offering `v2_controllers`.
    pub fn hybrid(hierarchies: &[&str], v2_controllers: &str) -> FakeTree {
        let mut t = FakeTree::v1(hierarchies);
        t.layout = Layout::Hybrid;
        t.set("unified/cgroup.controllers", v2_controllers);
        t
    }

    /// A v2 tree whose root offers `controllers`.
    pub fn v2(controllers: &str) -> FakeTree {
        let t = FakeTree::new(Layout::Unified);
        t.set("cgroup.controllers", controllers);
        t
    }

    /// The manager for the container "ctr" at `path`, its directories given their control
    /// files (as mkdir on a cgroupfs would) and its writes journalled to `.runr-writes`.
    pub fn manager(&self, path: Option<&str>) -> Manager {
        let mut m = Manager::with_root(&self.root, self.layout, path, "ctr").unwrap();
        for dir in m.paths().values() {
            self.populate(dir);
        }
        let journal = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join(".runr-writes"))
            .unwrap();
        m.journal_writes(journal);
        m
    }

    /// Give `dir` and its ancestors up to its hierarchy's mount the hierarchy's control files
    /// (those not there yet), as the kernel gives every cgroup directory.
    fn populate(&self, dir: &Path) {
        let rel = dir.strip_prefix(&self.root).unwrap();
        let mut parts = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let (mount, files): (PathBuf, Vec<&str>) = match self.layout {
            Layout::Unified => (self.root.clone(), v2_files()),
            _ => {
                let h = parts.next().unwrap();
                let files = match h.as_str() {
                    "unified" => v2_files(),
                    h => h.split(',').flat_map(v1_files).copied().collect(),
                };
                (self.root.join(h), files)
            }
        };
        let mut cur = mount;
        let mut levels = vec![cur.clone()];
        for p in parts {
            cur.push(p);
            levels.push(cur.clone());
        }
        for level in levels {
            std::fs::create_dir_all(&level).unwrap();
            for f in &files {
                let p = level.join(f);
                if !p.exists() {
                    std::fs::write(&p, initial(f)).unwrap();
                }
            }
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn set(&self, rel: &str, content: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// Remove a file the kernel would not have (a feature this host lacks).
    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.root.join(rel)).unwrap_or_else(|e| panic!("rm {rel}: {e}"));
    }

    pub fn get(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.root.join(rel).exists()
    }

    /// The writes done so far ("<path relative to root> <value>"), and forget them.
    pub fn take_writes(&self) -> Vec<String> {
        let log = self.root.join(".runr-writes");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        // Truncated, not removed: the manager's journal fd stays on this file.
        let _ = std::fs::write(&log, "");
        let prefix = format!("{}/", self.root.display());
        text.lines()
            .map(|l| l.strip_prefix(&prefix).unwrap_or(l).to_string())
            .collect()
    }
}

impl Drop for FakeTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// What a new cgroup's file holds where the code reads it back ("" elsewhere).
fn initial(file: &str) -> &'static str {
    match file {
        "freezer.state" => "THAWED\n",
        "cgroup.freeze" => "0\n",
        _ => "",
    }
}

/// The writable control files of a v1 controller that the kernel always creates.
fn v1_files(controller: &str) -> &'static [&'static str] {
    match controller {
        "cpu" => &[
            "cpu.shares",
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "cpu.cfs_burst_us",
            "cpu.rt_runtime_us",
            "cpu.rt_period_us",
            "cpu.idle",
            "cgroup.procs",
        ],
        "cpuset" => &["cpuset.cpus", "cpuset.mems", "cgroup.procs"],
        "memory" => &[
            "memory.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
            "cgroup.procs",
        ],
        "devices" => &["devices.allow", "devices.deny", "cgroup.procs"],
        "freezer" => &["freezer.state", "cgroup.procs"],
        "blkio" => &[
            "blkio.bfq.weight",
            "blkio.bfq.weight_device",
            "blkio.weight_device",
            "blkio.leaf_weight",
            "blkio.leaf_weight_device",
            "blkio.throttle.read_bps_device",
            "blkio.throttle.write_bps_device",
            "blkio.throttle.read_iops_device",
            "blkio.throttle.write_iops_device",
            "cgroup.procs",
        ],
        "pids" => &["pids.max", "cgroup.procs"],
        "hugetlb" => &[
            "hugetlb.2MB.limit_in_bytes",
            "hugetlb.1GB.limit_in_bytes",
            "cgroup.procs",
        ],
        "net_cls" => &["net_cls.classid", "cgroup.procs"],
        "net_prio" => &["net_prio.ifpriomap", "cgroup.procs"],
        "rdma" => &["rdma.max", "cgroup.procs"],
        _ => &["cgroup.procs"],
    }
}

/// The writable control files of a cgroup2 directory (every controller's).
fn v2_files() -> Vec<&'static str> {
    vec![
        "cgroup.procs",
        "cgroup.subtree_control",
        "cgroup.freeze",
        "cpu.weight",
        "cpu.max",
        "cpu.max.burst",
        "cpu.idle",
        "cpuset.cpus",
        "cpuset.mems",
        "memory.max",
        "memory.low",
        "memory.high",
        "memory.swap.max",
        "memory.oom.group",
        "io.max",
        "io.weight",
        "pids.max",
        "hugetlb.2MB.max",
        "hugetlb.1GB.max",
        "rdma.max",
    ]
}

pub fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad test resources {json}: {e}"))
}

pub fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap().display().to_string()
}
