//! Reading and writing cgroup files, with errors that carry the path and the value.
//!
//! Cgroup files must be written with a single `write(2)` and without `O_CREAT` (a missing file
//! means a missing feature, which callers detect through `ENOENT`). Against a fake tree
//! (`Manager::with_root`) files are created on write, and every write is also appended to
//! `<root>/.runr-writes` as `<path> <value>` so tests can check the order of writes.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Op, Result};

/// A cgroup directory and how to write into it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CgDir<'a> {
    pub path: &'a Path,
    /// Fake-tree mode: create files on write and log writes to this file.
    pub log: Option<&'a Path>,
}

impl<'a> CgDir<'a> {
    pub fn new(path: &'a Path, log: Option<&'a Path>) -> Self {
        CgDir { path, log }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn exists(&self, name: &str) -> bool {
        self.file(name).exists()
    }

    /// Write `value` to `<dir>/<name>` in one write(2).
    pub fn write(&self, name: &str, value: &str) -> Result<()> {
        let path = self.file(name);
        self.write_raw(&path, value)
            .map_err(|e| Error::write(path, value, e))
    }

    fn write_raw(&self, path: &Path, value: &str) -> io::Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).truncate(true);
        if self.log.is_some() {
            opts.create(true);
        }
        let mut f = opts.open(path)?;
        f.write_all(value.as_bytes())?;
        if let Some(log) = self.log {
            let mut l = fs::OpenOptions::new().create(true).append(true).open(log)?;
            writeln!(l, "{} {}", path.display(), value)?;
        }
        Ok(())
    }

    pub fn read(&self, name: &str) -> Result<String> {
        read(&self.file(name))
    }

    /// Read a file holding one unsigned number (or "max", returned as u64::MAX).
    pub fn read_u64(&self, name: &str) -> Result<u64> {
        let path = self.file(name);
        let s = read(&path)?;
        parse_u64(&path, s.trim())
    }
}

pub(crate) fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| Error::io(Op::Read, path, e))
}

pub(crate) fn parse_u64(path: &Path, s: &str) -> Result<u64> {
    if s == "max" {
        return Ok(u64::MAX);
    }
    s.parse::<u64>().map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        content: s.to_string(),
        reason: e.to_string(),
    })
}

/// mkdir -p, returning the directories that were created, top first.
pub(crate) fn mkdir_all(path: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(path);
    while let Some(p) = cur {
        if p.exists() {
            break;
        }
        missing.push(p.to_path_buf());
        cur = p.parent();
    }
    missing.reverse();
    let mut created = Vec::new();
    for dir in missing {
        match fs::create_dir(&dir) {
            Ok(()) => created.push(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(Op::Mkdir, dir, e)),
        }
    }
    Ok(created)
}

/// The directories of `path` (inclusive) that do not exist, top first, not above `stop`.
pub(crate) fn missing_dirs(path: &Path, stop: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut cur = Some(path);
    while let Some(p) = cur {
        if p == stop || !p.starts_with(stop) || p.exists() {
            break;
        }
        out.push(p.to_path_buf());
        cur = p.parent();
    }
    out.reverse();
    out
}

/// rmdir `path`, after its sub-cgroups (depth first), retrying while the kernel says EBUSY
/// (tasks that were just killed may take a moment to leave). ENOENT counts as success.
pub(crate) fn remove_cgroup(path: &Path) -> Result<()> {
    match fs::read_dir(path) {
        Ok(entries) => {
            for entry in entries.flatten() {
                if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    remove_cgroup(&entry.path())?;
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(Op::ReadDir, path, e)),
    }
    let mut delay = std::time::Duration::from_millis(10);
    let mut tries = 0;
    loop {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 8 => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_millis(500));
                tries += 1;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {
                // A fake tree (a plain directory) still holds files: remove them, then retry.
                remove_plain_files(path)?;
                if tries >= 8 {
                    return Err(Error::io(Op::Rmdir, path, e));
                }
                tries += 1;
            }
            Err(e) => return Err(Error::io(Op::Rmdir, path, e)),
        }
    }
}

/// rmdir a parent cgroup this crate created, unless something else now uses it (sub-cgroups
/// or processes: EBUSY/ENOTEMPTY) or it is gone already. In a fake tree the directory holds
/// plain files, which are removed first when there is no sub-directory.
pub(crate) fn remove_unused_parent(path: &Path, fake: bool) -> Result<()> {
    if fake {
        let has_subdir = fs::read_dir(path)
            .map(|mut it| it.any(|e| e.is_ok_and(|e| e.file_type().is_ok_and(|t| t.is_dir()))))
            .unwrap_or(true);
        if has_subdir {
            return Ok(());
        }
        remove_plain_files(path)?;
    }
    match fs::remove_dir(path) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOENT | libc::EBUSY | libc::ENOTEMPTY)
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(Error::io(Op::Rmdir, path, e)),
    }
}

/// Remove regular files from a directory (only ever non-empty in a fake tree: cgroupfs
/// directories can be removed with their control files in them).
fn remove_plain_files(path: &Path) -> Result<()> {
    let entries = fs::read_dir(path).map_err(|e| Error::io(Op::ReadDir, path, e))?;
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            let p = entry.path();
            fs::remove_file(&p).map_err(|e| Error::io(Op::Rmdir, &p, e))?;
        }
    }
    Ok(())
}
