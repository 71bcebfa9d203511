//! A fake cgroup tree in a temp dir, removed on drop.
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

    pub fn manager(&self, path: Option<&str>) -> Manager {
        Manager::with_root(&self.root, self.layout, path, "ctr").unwrap()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn set(&self, rel: &str, content: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
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
        let _ = std::fs::remove_file(&log);
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

pub fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad test resources {json}: {e}"))
}

pub fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap().display().to_string()
}
