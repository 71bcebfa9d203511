//! Reading and writing cgroup files, with errors that carry the path and the value.
//!
//! Cgroup files must be written with a single `write(2)` and without `O_CREAT` (a missing file
//! means a missing feature, which callers detect through `ENOENT`). The same holds for a tree
//! at another root (`Manager::with_root`): its files must exist before they are written, as a
//! kernel's do. A manager given a journal (`Manager::journal_writes`) appends every write to it
//! as `<path> <value>`; the write itself is the same with or without one.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Op, Result};

/// A cgroup directory and how to write into it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CgDir<'a> {
    pub path: &'a Path,
    /// Where every write is also recorded (an observer: it changes nothing about the write).
    pub journal: Option<&'a fs::File>,
}

impl<'a> CgDir<'a> {
    pub fn new(path: &'a Path, journal: Option<&'a fs::File>) -> Self {
        CgDir { path, journal }
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
        let mut f = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)?;
        f.write_all(value.as_bytes())?;
        if let Some(mut journal) = self.journal {
            // One write(2) per line, so lines of concurrent writers do not interleave.
            journal.write_all(format!("{} {}\n", path.display(), value).as_bytes())?;
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
    // The usual case first, a new cgroup in an existing parent: one mkdir, no stat of the path
    // and its parents (two system calls per hierarchy less, eleven hierarchies on a v1 host).
    match fs::create_dir(path) {
        Ok(()) => return Ok(vec![path.to_path_buf()]),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(Vec::new()),
        Err(_) => {} // a parent missing, or an error the walk below reports for its directory
    }
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
    // The usual case first, a cgroup without sub-cgroups or tasks: one rmdir, without listing
    // its control files (eleven directories on a v1 host). Anything else (EBUSY: sub-cgroups or
    // tasks leaving; ENOTEMPTY: a plain tree) takes the full way below.
    match fs::remove_dir(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
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
                // Not a cgroupfs (which never says ENOTEMPTY: its control files go with the
                // directory) but a plain directory tree: remove its files, then retry.
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
/// or processes: EBUSY) or it is gone already. A plain directory tree (not a cgroupfs, which
/// never says ENOTEMPTY) holds its files as plain files: without a sub-directory they are
/// removed and the rmdir retried once; with one, the parent is in use.
pub(crate) fn remove_unused_parent(path: &Path) -> Result<()> {
    match fs::remove_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) && !has_subdir(path) => {
            // Once: what is left after the plain files (a fifo, a symlink, a file made since)
            // means the directory is in use, as with a sub-directory.
            remove_plain_files(path)?;
            unused_parent_result(path, fs::remove_dir(path))
        }
        other => unused_parent_result(path, other),
    }
}

/// An rmdir's result for [`remove_unused_parent`]: gone already or still in use is fine.
fn unused_parent_result(path: &Path, res: std::io::Result<()>) -> Result<()> {
    match res {
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

/// Whether `path` holds a directory (an unreadable one counts as holding one: left alone).
fn has_subdir(path: &Path) -> bool {
    fs::read_dir(path)
        .map(|mut it| it.any(|e| e.is_ok_and(|e| e.file_type().is_ok_and(|t| t.is_dir()))))
        .unwrap_or(true)
}

/// Remove regular files from a directory (only ever reached for a plain directory tree:
/// cgroupfs directories are removed with their control files in them).
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
