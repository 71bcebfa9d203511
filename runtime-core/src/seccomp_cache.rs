//! Compiled seccomp filters, cached under the state root (`<root>/@seccomp-cache/`).
//!
//! libseccomp needs about 15 ms of CPU to compile Docker's default profile (three architectures,
//! ~370 syscalls) — more than all the rest of a container's creation. Engines hand the same
//! profile to every container, so the BPF is kept after the first compile, like crun does.
//!
//! A cache file holds the full key next to the program and is used only when the key matches
//! byte for byte: the profile as JSON, the runtime binary's identity (device, inode, size,
//! mtime), the libseccomp version and the kernel release and build. The file name is only a
//! hash of the key, so a collision costs a recompile, never a wrong filter. `@` cannot appear in
//! a container id, so the directory never looks like a container. Everything here is best
//! effort: any failure to read or write the cache falls back to compiling.
//!
//! The cache cannot be poisoned: a filter is loaded only through a directory and a file that
//! `fstat` on the opened fds shows to be owned by the runtime's uid and writable by no one else
//! (the file opened with `O_NOFOLLOW` under the directory's fd, so neither can be swapped
//! between the check and the read). A cache directory that fails the check is not used at all.

use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use oci_spec::runtime::LinuxSeccomp;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::seccomp::{self, Compiled};
use crate::sys;
use crate::trace;

const DIR: &str = "@seccomp-cache";
const MAGIC: &[u8; 8] = b"runrbpf1";
/// More distinct profiles than this and the cache starts over (it only ever costs a compile).
const MAX_ENTRIES: usize = 64;

/// [`seccomp::compile`], through the cache under `root`.
pub fn compile(root: &Path, spec: &LinuxSeccomp) -> Result<Compiled, (String, String)> {
    let Some(key) = key(spec) else {
        return seccomp::compile(spec);
    };
    let dir = root.join(DIR);
    let file = entry(&dir, &key);
    let dir_fd = open_trusted_dir(&dir);
    if dir_fd
        .as_ref()
        .is_err_and(|kind| *kind == Untrusted::Foreign)
    {
        // Someone else's directory: neither read nor written.
        return seccomp::compile(spec);
    }
    let name = file.file_name().map(Path::new).unwrap_or(Path::new(""));
    let cached = dir_fd
        .as_ref()
        .ok()
        .and_then(|d| read_trusted(d.as_fd(), name))
        .and_then(|b| decode(&b, &key));
    if let Some(c) = cached {
        trace::step("seccomp filter loaded from the cache", &[]);
        return Ok(c);
    }
    let c = seccomp::compile(spec)?;
    store(&dir, &file, &key, &c);
    trace::step("seccomp filter compiled and cached", &[]);
    Ok(c)
}

/// The cache file for `key`: named by a hash of it (the file itself holds the whole key).
fn entry(dir: &Path, key: &[u8]) -> std::path::PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    dir.join(format!("{:016x}", h.finish()))
}

#[derive(Debug, PartialEq, Eq)]
enum Untrusted {
    Missing,
    Foreign,
}

/// Owned by us and writable by nobody else: what the runtime itself made.
fn trusted(st: &nix::sys::stat::FileStat) -> bool {
    st.st_uid == sys::euid() && st.st_mode & 0o022 == 0
}

/// The cache directory, if it is the runtime's own.
fn open_trusted_dir(dir: &Path) -> Result<OwnedFd, Untrusted> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
    let fd = match sys::open(dir, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) if e.errno == nix::errno::Errno::ENOENT => return Err(Untrusted::Missing),
        Err(_) => return Err(Untrusted::Foreign),
    };
    match sys::fstat(fd.as_fd(), dir) {
        Ok(st) if trusted(&st) => Ok(fd),
        _ => Err(Untrusted::Foreign),
    }
}

/// The entry `name` under `dir`, if it is a regular file of the runtime's own.
fn read_trusted(dir: BorrowedFd<'_>, name: &Path) -> Option<Vec<u8>> {
    let fd = sys::openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW,
        Mode::empty(),
    )
    .ok()?;
    let st = sys::fstat(fd.as_fd(), name).ok()?;
    if !trusted(&st) || st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    let mut data = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut data).ok()?;
    Some(data)
}

fn key(spec: &LinuxSeccomp) -> Option<Vec<u8>> {
    let exe = std::fs::metadata("/proc/self/exe").ok()?;
    let mut key = format!(
        "exe {} {} {} {}.{}\nlibseccomp {}\n",
        exe.dev(),
        exe.ino(),
        exe.size(),
        exe.mtime(),
        exe.mtime_nsec(),
        seccomp::libseccomp_version().unwrap_or_default(),
    )
    .into_bytes();
    for f in ["/proc/sys/kernel/osrelease", "/proc/sys/kernel/version"] {
        key.extend_from_slice(&std::fs::read(f).ok()?);
    }
    key.extend_from_slice(&serde_json::to_vec(spec).ok()?);
    Some(key)
}

/// MAGIC, key length (u32), key, flags (u32), notify (u8), program.
fn encode(key: &[u8], c: &Compiled) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 + key.len() + c.program.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(key.len() as u32).to_ne_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&c.flags.to_ne_bytes());
    out.push(c.notify as u8);
    out.extend_from_slice(&c.program);
    out
}

fn decode(b: &[u8], key: &[u8]) -> Option<Compiled> {
    let rest = b.strip_prefix(MAGIC)?;
    let (len, rest) = rest.split_first_chunk::<4>()?;
    let rest = rest
        .strip_prefix(key)
        .filter(|_| u32::from_ne_bytes(*len) as usize == key.len())?;
    let (flags, rest) = rest.split_first_chunk::<4>()?;
    let (notify, program) = rest.split_first()?;
    if program.is_empty() || program.len() % 8 != 0 || *notify > 1 {
        return None;
    }
    Some(Compiled {
        program: program.to_vec(),
        flags: u32::from_ne_bytes(*flags),
        notify: *notify == 1,
    })
}

/// Writes the entry atomically (temporary file, then rename); errors are ignored.
fn store(dir: &Path, file: &Path, key: &[u8], c: &Compiled) {
    if std::fs::read_dir(dir).is_ok_and(|d| d.count() >= MAX_ENTRIES) {
        let _ = std::fs::remove_dir_all(dir);
    }
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    let tmp = dir.join(format!(".tmp.{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&encode(key, c)));
    if written.is_err() || std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_key_mismatch() {
        let c = Compiled {
            program: vec![1, 2, 3, 4, 5, 6, 7, 8],
            flags: 5,
            notify: true,
        };
        let b = encode(b"key", &c);
        let d = decode(&b, b"key").unwrap();
        assert_eq!((d.program, d.flags, d.notify), (c.program, 5, true));
        assert!(decode(&b, b"kez").is_none());
        assert!(decode(&b, b"ke").is_none());
        assert!(decode(&b[..b.len() - 1], b"key").is_none());
    }

    fn program(c: &Compiled) -> (Vec<u8>, u32, bool) {
        (c.program.clone(), c.flags, c.notify)
    }

    /// The cache is really read: an entry planted under the profile's key (a different, valid
    /// program) is what the next compile returns; a corrupt entry, or one holding another key,
    /// is refused and replaced by a fresh compile.
    #[test]
    fn second_compile_comes_from_the_cache() {
        let root = std::env::temp_dir().join(format!("runr-seccomp-cache-{}", std::process::id()));
        let spec: LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        let compiled = compile(&root, &spec).unwrap();
        let dir = root.join(DIR);
        let key = key(&spec).unwrap();
        let file = entry(&dir, &key);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(
            names,
            std::slice::from_ref(&file),
            "one entry, no temporary file left"
        );
        let stored = decode(&std::fs::read(&file).unwrap(), &key).expect("a valid entry");
        assert_eq!(
            program(&stored),
            program(&compiled),
            "what was compiled is stored"
        );

        // One BPF instruction, `ret SECCOMP_RET_ALLOW`: nothing libseccomp makes of this profile.
        let planted = Compiled {
            program: vec![0x06, 0, 0, 0, 0, 0, 0xff, 0x7f],
            flags: compiled.flags,
            notify: false,
        };
        assert_ne!(planted.program, compiled.program);
        std::fs::write(&file, encode(&key, &planted)).unwrap();
        let again = compile(&root, &spec).unwrap();
        assert_eq!(program(&again), program(&planted), "read from the cache");

        for (what, spoilt) in [
            ("corrupt", b"runrbpf1 not an entry".to_vec()),
            ("another key", encode(b"another key", &planted)),
        ] {
            std::fs::write(&file, spoilt).unwrap();
            let fresh = compile(&root, &spec).unwrap();
            assert_eq!(
                program(&fresh),
                program(&compiled),
                "{what}: compiled afresh"
            );
            let rewritten = decode(&std::fs::read(&file).unwrap(), &key);
            assert_eq!(
                rewritten.as_ref().map(program),
                Some(program(&compiled)),
                "{what}: the entry is replaced"
            );
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_cache_others_can_write_is_never_loaded() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("runr-seccomp-poison-{}", std::process::id()));
        let spec: LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        let good = compile(&root, &spec).unwrap();
        let dir = root.join(DIR);
        let entry = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        // A forged entry under the right key: a program that allows everything.
        let key = key(&spec).unwrap();
        let forged = Compiled {
            program: vec![0x06, 0, 0, 0, 0, 0, 0xff, 0x7f],
            flags: 0,
            notify: false,
        };
        std::fs::write(&entry, encode(&key, &forged)).unwrap();
        assert_eq!(
            compile(&root, &spec).unwrap().program,
            forged.program,
            "own file: used"
        );

        // Writable by the group: ignored and recompiled.
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o620)).unwrap();
        assert_eq!(compile(&root, &spec).unwrap().program, good.program);
        // A file of another owner: ignored.
        std::fs::write(&entry, encode(&key, &forged)).unwrap();
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o600)).unwrap();
        nix::unistd::chown(&entry, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        assert_eq!(compile(&root, &spec).unwrap().program, good.program);
        // A symlink to a forged file: not followed.
        std::fs::remove_file(&entry).unwrap();
        let elsewhere = root.join("forged");
        std::fs::write(&elsewhere, encode(&key, &forged)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &entry).unwrap();
        assert_eq!(compile(&root, &spec).unwrap().program, good.program);
        // A directory others can write: not used at all.
        std::fs::remove_file(&entry).unwrap();
        std::fs::write(&entry, encode(&key, &forged)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(compile(&root, &spec).unwrap().program, good.program);
        let _ = std::fs::remove_dir_all(&root);
    }
}
