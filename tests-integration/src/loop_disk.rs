//! A loop device over a small scratch file, for the blockIO tests (tests/spec13_cgroups.rs on
//! v1, tests/io_v2.rs in the v2 VM): per-device weights and throttles need a real block device.

use std::path::PathBuf;

/// A loop device, with BFQ as its scheduler when the kernel offers it (per-device weights are
/// BFQ's); detached and its file removed on drop.
pub struct LoopDisk {
    /// `/dev/loopN`.
    pub dev: String,
    file: PathBuf,
    /// Its device numbers.
    pub major_minor: (u32, u32),
    /// BFQ was offered and is now its scheduler.
    pub bfq: bool,
}

impl LoopDisk {
    /// Attaches one; the error is losetup's when no loop device can be made here.
    pub fn attach() -> Result<LoopDisk, String> {
        let file = crate::scratch().join(crate::unique("loop-disk"));
        std::fs::write(&file, vec![0u8; 4 << 20]).unwrap();
        let out = std::process::Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&file)
            .output()
            .expect("spawn losetup");
        if !out.status.success() {
            let _ = std::fs::remove_file(&file);
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let queue = PathBuf::from("/sys/block").join(dev.trim_start_matches("/dev/"));
        let schedulers = std::fs::read_to_string(queue.join("queue/scheduler")).unwrap_or_default();
        let bfq = schedulers
            .split_whitespace()
            .any(|s| s.trim_matches(['[', ']']) == "bfq");
        if bfq {
            std::fs::write(queue.join("queue/scheduler"), "bfq").expect("select bfq");
        }
        let mm = std::fs::read_to_string(queue.join("dev")).unwrap();
        let (maj, min) = mm.trim().split_once(':').unwrap();
        Ok(LoopDisk {
            dev,
            file,
            major_minor: (maj.parse().unwrap(), min.parse().unwrap()),
            bfq,
        })
    }

    /// `major:minor`, as cgroup files write it.
    pub fn numbers(&self) -> String {
        format!("{}:{}", self.major_minor.0, self.major_minor.1)
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.dev])
            .output();
        let _ = std::fs::remove_file(&self.file);
    }
}
