//! The one thin layer between the library and the kernel.
//!
//! Every nix or libc system call the library makes goes through a function here, and every
//! failure comes back as a [`SysError`] that keeps three things: the operation ([`SysOp`]), the
//! path it was applied to (when there is one) and the errno. Callers add context ("mount #3 to
//! /proc"), never re-word the errno. Calls that can be interrupted are retried on `EINTR`.
//! What is not here: plain file I/O through `std::fs` (state.json, the seccomp cache, cgroup
//! files in the `cgroups` crate, which has its own `sys.rs`), hooks spawned with
//! `std::process::Command`, and in the CLI the foreground relay (`foreground.rs`: tty, signalfd,
//! waitpid, poll) and `events` (poll, read), which call nix themselves.
//!
//! This is the only module of the crate allowed to use `unsafe`; each block states the invariant
//! that makes it sound. Most calls go through `nix`, which is already safe; raw `libc` is used
//! for what `nix` lacks (`clone3`, `close_range`, `setdomainname`, pidfds, `keyctl`).
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsStr};
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::{Gid, Pid, Uid};

macro_rules! sys_ops {
    ($($variant:ident => $name:literal,)*) => {
        /// The operation a [`SysError`] came from. A closed set, so that it can cross the fork
        /// boundary as a number and come back as the same value.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u16)]
        pub enum SysOp { $(#[doc = concat!("`", $name, "`")] $variant,)* }

        impl SysOp {
            /// Every operation, in wire-code order.
            pub(crate) const ALL: &'static [SysOp] = &[$(SysOp::$variant,)*];
            /// The name people know the operation by (usually the syscall).
            pub fn name(self) -> &'static str {
                match self { $(SysOp::$variant => $name,)* }
            }
            /// The wire form used by the parent/init protocol.
            pub fn code(self) -> u16 {
                self as u16
            }
            /// Back from the wire form; `None` for a code this binary never sends.
            pub fn from_code(code: u16) -> Option<SysOp> {
                SysOp::ALL.get(usize::from(code)).copied()
            }
        }
    };
}

sys_ops! {
    Other => "syscall",
    Open => "open",
    Read => "read",
    Write => "write",
    Mkdir => "mkdir",
    Mknod => "mknod",
    Mkfifo => "mkfifo",
    Symlink => "symlink",
    Unlink => "unlink",
    Stat => "stat",
    Chown => "chown",
    Chmod => "chmod",
    Mount => "mount",
    Umount => "umount",
    PivotRoot => "pivot_root",
    Chroot => "chroot",
    Chdir => "chdir",
    Clone => "clone",
    Setns => "setns",
    Unshare => "unshare",
    Sethostname => "sethostname",
    Setdomainname => "setdomainname",
    Setuid => "setresuid",
    Setgid => "setresgid",
    Setgroups => "setgroups",
    Capabilities => "capset",
    Prctl => "prctl",
    Setrlimit => "setrlimit",
    Setsid => "setsid",
    Ioctl => "ioctl",
    Socket => "socket",
    Connect => "connect",
    Sendmsg => "sendmsg",
    Recvmsg => "recvmsg",
    Poll => "poll",
    Dup => "dup2",
    CloseRange => "close_range",
    Execve => "execve",
    Kill => "kill",
    Wait => "waitpid",
    PidfdOpen => "pidfd_open",
    Flock => "flock",
    Rename => "rename",
    Keyctl => "keyctl",
    Umask => "umask",
    Fork => "fork",
    Lookup => "lookup",
    Seccomp => "seccomp",
    Personality => "personality",
    SchedSetattr => "sched_setattr",
    IoprioSet => "ioprio_set",
    SchedSetaffinity => "sched_setaffinity",
    // Not a syscall: the check that a proc or sysfs mount target is a real directory.
    MountTarget => "check mount target",
    PidfdGetfd => "pidfd_getfd",
    Capget => "capget",
    Fcntl => "fcntl",
    Pipe => "pipe2",
    SetMempolicy => "set_mempolicy",
    Fsync => "fsync",
    Fdatasync => "fdatasync",
    // Not a syscall: a request the kernel's rtnetlink answered with an error (netdev.rs).
    Netlink => "rtnetlink",
}

impl fmt::Display for SysOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed system call: which one, on what, and the errno.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct SysError {
    /// The operation.
    pub op: SysOp,
    /// The path it was applied to, when there is one.
    pub path: Option<PathBuf>,
    /// The errno.
    pub errno: Errno,
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{} {}: {}", self.op, p.display(), self.errno.desc()),
            None => write!(f, "{}: {}", self.op, self.errno.desc()),
        }
    }
}

impl SysError {
    /// An error of `op` on `path` with `errno`.
    pub fn new(op: SysOp, path: Option<&Path>, errno: Errno) -> SysError {
        SysError {
            op,
            path: path.map(Path::to_path_buf),
            errno,
        }
    }
}

pub type SysResult<T> = Result<T, SysError>;

/// Adapts a nix result: keeps the op and path of the call.
trait Ctx<T> {
    fn ctx(self, op: SysOp, path: Option<&Path>) -> SysResult<T>;
}
impl<T> Ctx<T> for nix::Result<T> {
    fn ctx(self, op: SysOp, path: Option<&Path>) -> SysResult<T> {
        self.map_err(|e| SysError::new(op, path, e))
    }
}

fn retry<T>(mut f: impl FnMut() -> nix::Result<T>) -> nix::Result<T> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

fn cstring(op: SysOp, p: &Path) -> SysResult<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| SysError::new(op, Some(p), Errno::EINVAL))
}

// ---------------------------------------------------------------------------------------------
// Files and paths

pub fn open(path: &Path, flags: OFlag, mode: Mode) -> SysResult<OwnedFd> {
    retry(|| nix::fcntl::open(path, flags | OFlag::O_CLOEXEC, mode)).ctx(SysOp::Open, Some(path))
}

/// `openat2(2)` with `RESOLVE_IN_ROOT`: `path` is resolved as if `root` were `/`, so neither `..`
/// nor an absolute symlink can leave it. `display` is the path reported on error.
pub fn open_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: OFlag,
    mode: Mode,
    display: &Path,
) -> SysResult<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .mode(mode)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    retry(|| nix::fcntl::openat2(root, path, how)).ctx(SysOp::Open, Some(display))
}

pub fn openat(dir: BorrowedFd<'_>, name: &Path, flags: OFlag, mode: Mode) -> SysResult<OwnedFd> {
    retry(|| nix::fcntl::openat(dir, name, flags | OFlag::O_CLOEXEC, mode))
        .ctx(SysOp::Open, Some(name))
}

pub fn mkdirat(dir: BorrowedFd<'_>, name: &Path, mode: u32, display: &Path) -> SysResult<()> {
    nix::sys::stat::mkdirat(dir, name, Mode::from_bits_truncate(mode))
        .ctx(SysOp::Mkdir, Some(display))
}

pub fn mknodat(
    dir: BorrowedFd<'_>,
    name: &Path,
    kind: SFlag,
    mode: u32,
    dev: u64,
    display: &Path,
) -> SysResult<()> {
    nix::sys::stat::mknodat(dir, name, kind, Mode::from_bits_truncate(mode), dev)
        .ctx(SysOp::Mknod, Some(display))
}

pub fn symlinkat(target: &Path, dir: BorrowedFd<'_>, name: &Path, display: &Path) -> SysResult<()> {
    nix::unistd::symlinkat(target, dir, name).ctx(SysOp::Symlink, Some(display))
}

pub fn unlinkat(dir: BorrowedFd<'_>, name: &Path, display: &Path) -> SysResult<()> {
    nix::unistd::unlinkat(dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir)
        .ctx(SysOp::Unlink, Some(display))
}

pub fn fstat(fd: BorrowedFd<'_>, display: &Path) -> SysResult<nix::sys::stat::FileStat> {
    nix::sys::stat::fstat(fd).ctx(SysOp::Stat, Some(display))
}

/// The effective uid (never fails).
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// chown of a path: for an O_PATH fd, its `/proc/self/fd/N` ([`fd_path`]), which fchown
/// cannot take.
pub fn chown(path: &Path, uid: u32, gid: u32, display: &Path) -> SysResult<()> {
    nix::unistd::chown(path, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
        .ctx(SysOp::Chown, Some(display))
}

/// Sets O_NONBLOCK on `fd` (its other status flags are dropped: for pipes, which have none).
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> SysResult<()> {
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
        .map(drop)
        .ctx(SysOp::Fcntl, None)
}

/// A connected pair of close-on-exec `SOCK_SEQPACKET` unix sockets.
pub fn seqpacket_pair() -> SysResult<(OwnedFd, OwnedFd)> {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .ctx(SysOp::Socket, None)
}

/// kill(2), for a process of the runtime's own that has no pidfd (idmap.rs's helper, the
/// test-only crash points); containers are signalled through pidfds.
pub fn kill(pid: i32, sig: i32) -> SysResult<()> {
    // SAFETY: kill takes two integers; nothing is dereferenced.
    Errno::result(unsafe { libc::kill(pid, sig) })
        .map(drop)
        .ctx(SysOp::Kill, None)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: what `name` itself is (a symlink is not followed).
pub fn fstatat_nofollow(
    dir: BorrowedFd<'_>,
    name: &Path,
    display: &Path,
) -> SysResult<nix::sys::stat::FileStat> {
    nix::sys::stat::fstatat(dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .ctx(SysOp::Stat, Some(display))
}

/// `fchownat(dir, name, AT_SYMLINK_NOFOLLOW)`: the owner of `name` itself (a symlink's own).
pub fn lchownat(
    dir: BorrowedFd<'_>,
    name: &Path,
    uid: u32,
    gid: u32,
    display: &Path,
) -> SysResult<()> {
    let (u, g) = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
    nix::unistd::fchownat(dir, name, u, g, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .ctx(SysOp::Chown, Some(display))
}

/// The names in the directory `dir` (without `.` and `..`), read through a duplicate of the fd.
pub fn list_dir(dir: BorrowedFd<'_>, display: &Path) -> SysResult<Vec<std::ffi::OsString>> {
    let dup = nix::unistd::dup(dir).ctx(SysOp::Open, Some(display))?;
    let mut d = nix::dir::Dir::from_fd(dup).ctx(SysOp::Read, Some(display))?;
    let mut out = Vec::new();
    for entry in d.iter() {
        let entry = entry.ctx(SysOp::Read, Some(display))?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name != "." && name != ".." {
            out.push(name.to_os_string());
        }
    }
    Ok(out)
}

/// Copies every byte of the open file `from` into the open file `to`.
pub fn copy_data(from: BorrowedFd<'_>, to: BorrowedFd<'_>, display: &Path) -> SysResult<()> {
    let dup = |fd: BorrowedFd<'_>| fd.try_clone_to_owned().map(std::fs::File::from);
    let io = |e: std::io::Error| SysError::new(SysOp::Write, Some(display), io_errno(&e));
    let (mut src, mut dst) = (dup(from).map_err(io)?, dup(to).map_err(io)?);
    std::io::copy(&mut src, &mut dst).map(drop).map_err(io)
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for the runtime, its clones and its re-exec (the
/// vDSO answers it, no system call), so times taken on both sides of a fork compare.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, writable timespec for the whole call; CLOCK_MONOTONIC always
    // exists on Linux, so the call cannot fail and only writes `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

pub fn fchmod(fd: BorrowedFd<'_>, mode: u32, display: &Path) -> SysResult<()> {
    nix::sys::stat::fchmod(fd, Mode::from_bits_truncate(mode)).ctx(SysOp::Chmod, Some(display))
}

/// fchown of an open file (copyup keeps the image's owners).
pub fn fchownat_empty(fd: BorrowedFd<'_>, uid: u32, gid: u32, display: &Path) -> SysResult<()> {
    nix::unistd::fchown(fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
        .ctx(SysOp::Chown, Some(display))
}

/// The signal this process gets when its parent dies.
pub fn set_pdeathsig(sig: nix::sys::signal::Signal) -> SysResult<()> {
    nix::sys::prctl::set_pdeathsig(sig).ctx(SysOp::Prctl, None)
}

pub fn mkfifo(path: &Path, mode: u32) -> SysResult<()> {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(mode)).ctx(SysOp::Mkfifo, Some(path))
}

pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> SysResult<usize> {
    retry(|| nix::unistd::read(fd, buf)).ctx(SysOp::Read, None)
}

pub fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8], display: Option<&Path>) -> SysResult<()> {
    while !buf.is_empty() {
        let n = retry(|| nix::unistd::write(fd, buf)).ctx(SysOp::Write, display)?;
        buf = &buf[n..];
    }
    Ok(())
}

/// Writes `data` to an existing file (`/proc`, `/sys` and cgroup files: no create, no truncate).
pub fn write_file(path: &Path, data: &[u8]) -> SysResult<()> {
    let fd = open(path, OFlag::O_WRONLY, Mode::empty())?;
    write_all(fd.as_fd(), data, Some(path))
}

/// The path through which the kernel reaches an open fd (used to mount onto a resolved fd).
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

pub fn flock_exclusive(fd: BorrowedFd<'_>, display: &Path) -> SysResult<()> {
    // SAFETY: flock only reads the fd number; a closed or invalid fd yields EBADF.
    let rc = retry(|| Errno::result(unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) }));
    rc.map(drop).ctx(SysOp::Flock, Some(display))
}

/// `fsync(2)`: the file's data (or, for a directory, its entries) reach the disk. `display` is
/// the path reported on error.
pub fn fsync(fd: BorrowedFd<'_>, display: &Path) -> SysResult<()> {
    retry(|| nix::unistd::fsync(fd)).ctx(SysOp::Fsync, Some(display))
}

/// `fdatasync(2)`: the file's data, and the metadata needed to read it back (its size and
/// blocks, not its times), reach the disk. `display` is the path reported on error.
pub fn fdatasync(fd: BorrowedFd<'_>, display: &Path) -> SysResult<()> {
    retry(|| nix::unistd::fdatasync(fd)).ctx(SysOp::Fdatasync, Some(display))
}

pub fn rename(from: &Path, to: &Path) -> SysResult<()> {
    nix::fcntl::renameat(nix::fcntl::AT_FDCWD, from, nix::fcntl::AT_FDCWD, to)
        .ctx(SysOp::Rename, Some(to))
}

// ---------------------------------------------------------------------------------------------
// Mounts

pub fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> SysResult<()> {
    nix::mount::mount(source, target, fstype, flags, data).ctx(SysOp::Mount, Some(target))
}

/// Mounts onto an already-resolved fd; `display` is the path inside the container for errors.
pub fn mount_on_fd(
    source: Option<&Path>,
    target: BorrowedFd<'_>,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
    display: &Path,
) -> SysResult<()> {
    let target = fd_path(target);
    nix::mount::mount(source, &target, fstype, flags, data).ctx(SysOp::Mount, Some(display))
}

pub fn umount_detach(target: &Path) -> SysResult<()> {
    nix::mount::umount2(target, MntFlags::MNT_DETACH).ctx(SysOp::Umount, Some(target))
}

pub fn pivot_root_here(display: &Path) -> SysResult<()> {
    nix::unistd::pivot_root(".", ".").ctx(SysOp::PivotRoot, Some(display))
}

pub fn chroot(path: &Path) -> SysResult<()> {
    nix::unistd::chroot(path).ctx(SysOp::Chroot, Some(path))
}

pub fn chdir(path: &Path) -> SysResult<()> {
    nix::unistd::chdir(path).ctx(SysOp::Chdir, Some(path))
}

pub fn fchdir(fd: BorrowedFd<'_>, display: &Path) -> SysResult<()> {
    nix::unistd::fchdir(fd).ctx(SysOp::Chdir, Some(display))
}

pub fn statfs_flags(path: &Path) -> SysResult<MsFlags> {
    let st = nix::sys::statvfs::statvfs(path).ctx(SysOp::Stat, Some(path))?;
    let f = st.flags();
    use nix::sys::statvfs::FsFlags as F;
    let map = [
        (F::ST_RDONLY, MsFlags::MS_RDONLY),
        (F::ST_NOSUID, MsFlags::MS_NOSUID),
        (F::ST_NODEV, MsFlags::MS_NODEV),
        (F::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (F::ST_NOATIME, MsFlags::MS_NOATIME),
        (F::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (F::ST_RELATIME, MsFlags::MS_RELATIME),
    ];
    Ok(map
        .iter()
        .filter(|(s, _)| f.contains(*s))
        .fold(MsFlags::empty(), |acc, (_, m)| acc | *m))
}

// ---------------------------------------------------------------------------------------------
// Namespaces and identity

pub fn setns(fd: BorrowedFd<'_>, kind: CloneFlags, display: &Path) -> SysResult<()> {
    nix::sched::setns(fd, kind).ctx(SysOp::Setns, Some(display))
}

pub fn unshare(flags: CloneFlags) -> SysResult<()> {
    nix::sched::unshare(flags).ctx(SysOp::Unshare, None)
}

pub fn sethostname(name: &str) -> SysResult<()> {
    nix::unistd::sethostname(name).ctx(SysOp::Sethostname, None)
}

pub fn setdomainname(name: &str) -> SysResult<()> {
    // SAFETY: the pointer and length describe `name`'s bytes, which outlive the call; the
    // kernel copies at most `len` bytes and never writes through the pointer.
    let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    Errno::result(rc).map(drop).ctx(SysOp::Setdomainname, None)
}

pub fn setresuid(uid: u32) -> SysResult<()> {
    let u = Uid::from_raw(uid);
    nix::unistd::setresuid(u, u, u).ctx(SysOp::Setuid, None)
}

pub fn setresgid(gid: u32) -> SysResult<()> {
    let g = Gid::from_raw(gid);
    nix::unistd::setresgid(g, g, g).ctx(SysOp::Setgid, None)
}

pub fn setgroups(gids: &[u32]) -> SysResult<()> {
    let gids: Vec<Gid> = gids.iter().copied().map(Gid::from_raw).collect();
    nix::unistd::setgroups(&gids).ctx(SysOp::Setgroups, None)
}

pub fn umask(mask: u32) {
    nix::sys::stat::umask(Mode::from_bits_truncate(mask));
}

pub fn set_keepcaps(on: bool) -> SysResult<()> {
    nix::sys::prctl::set_keepcaps(on).ctx(SysOp::Prctl, None)
}

pub fn set_no_new_privs() -> SysResult<()> {
    nix::sys::prctl::set_no_new_privs().ctx(SysOp::Prctl, None)
}

pub fn set_child_subreaper() -> SysResult<()> {
    nix::sys::prctl::set_child_subreaper(true).ctx(SysOp::Prctl, None)
}

/// This boot's random id (`/proc/sys/kernel/random/boot_id`): a pid and start time recorded
/// under another boot name no process of this one.
pub fn boot_id() -> SysResult<String> {
    let path = Path::new("/proc/sys/kernel/random/boot_id");
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| SysError::new(SysOp::Read, Some(path), io_errno(&e)))
}

pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> SysResult<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit that lives across the call; a null old-limit pointer is
    // allowed; an unknown resource number yields EINVAL.
    let rc = unsafe {
        libc::prlimit(
            0,
            resource as libc::__rlimit_resource_t,
            &lim,
            std::ptr::null_mut(),
        )
    };
    Errno::result(rc).map(drop).ctx(SysOp::Setrlimit, None)
}

pub fn setsid() -> SysResult<()> {
    nix::unistd::setsid().map(drop).ctx(SysOp::Setsid, None)
}

/// Joins a fresh session keyring named `name`, so the container does not share the caller's,
/// and lets the keyring's user search it (runc's permissions: what the kernel gave plus
/// KEY_USR_SEARCH).
pub fn join_session_keyring(name: &CStr) -> SysResult<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    const KEYCTL_SETPERM: libc::c_long = 5;
    const KEYCTL_DESCRIBE: libc::c_long = 6;
    const KEY_USR_SEARCH: u32 = 0x0008_0000;
    // SAFETY: keyctl(JOIN_SESSION_KEYRING) reads a NUL-terminated name that lives across the call.
    let rc = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    let key = Errno::result(rc).ctx(SysOp::Keyctl, None)?;
    let mut desc = [0u8; 256];
    // SAFETY: KEYCTL_DESCRIBE writes at most `desc.len()` bytes into the live buffer.
    let n = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_DESCRIBE,
            key,
            desc.as_mut_ptr(),
            desc.len(),
        )
    };
    let n = Errno::result(n).ctx(SysOp::Keyctl, None)? as usize;
    // "type;uid;gid;perm;description", perm in hex.
    let text = String::from_utf8_lossy(&desc[..n.min(desc.len())]);
    let perm = text
        .split(';')
        .nth(3)
        .and_then(|p| u32::from_str_radix(p.trim_end_matches('\0'), 16).ok());
    let Some(perm) = perm else {
        return Err(SysError::new(SysOp::Keyctl, None, Errno::EINVAL));
    };
    // SAFETY: KEYCTL_SETPERM takes a key serial and a permission mask; no memory is passed.
    let rc = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, key, perm | KEY_USR_SEARCH) };
    Errno::result(rc).map(drop).ctx(SysOp::Keyctl, None)
}

// ---------------------------------------------------------------------------------------------
// Processes

/// What [`clone_process`] returns on each side of the fork.
pub enum Forked {
    Parent { pid: Pid, pidfd: Option<OwnedFd> },
    Child,
}

/// Creates the container's first process in one step: a fork-like `clone3` (no new stack: the
/// child continues on a copy of the parent's) with the namespace flags, a pidfd, and — on a
/// cgroup v2 host — `CLONE_INTO_CGROUP`, so the child is born in its cgroup. Falls back to
/// `clone(2)` where `clone3` is unavailable (ENOSYS, or EPERM under a seccomp profile that hides
/// it).
///
/// # Safety
///
/// The calling process must be single-threaded (`ContainerBuilder` checks it), or the child may
/// inherit a lock held by a thread that no longer exists and deadlock in the allocator; and the
/// child must never return into the caller's frames: it leaves through [`exit_now`] or `execve`,
/// so that nothing the parent owns (its `OwnedFd`s, its buffers) is dropped or flushed twice.
pub unsafe fn clone_process(
    flags: CloneFlags,
    cgroup: Option<BorrowedFd<'_>>,
) -> SysResult<Forked> {
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: (flags.bits() as u64) | CLONE_PIDFD,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(cg) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = cg.as_raw_fd() as u64;
    }
    // SAFETY: `args` is a properly laid out clone_args (v2 size, 88 bytes) that outlives the call;
    // stack = 0 gives fork semantics (the child runs on a copy-on-write copy of this stack), so no
    // memory is shared between the two; `pidfd` points at a live i32 for the kernel to fill.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    let rc = match Errno::result(rc) {
        Err(Errno::ENOSYS) | Err(Errno::EPERM) if cgroup.is_none() => {
            // SAFETY: clone(2) with a null stack behaves like fork(2), as above; the remaining
            // pointer arguments (ptid, ctid, tls) are null and unused without their flags.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_clone,
                    (flags.bits() as libc::c_long) | libc::SIGCHLD as libc::c_long,
                    0usize,
                    0usize,
                    0usize,
                    0usize,
                )
            };
            Errno::result(rc).ctx(SysOp::Clone, None)?
        }
        other => other.ctx(SysOp::Clone, None)?,
    };
    if rc == 0 {
        return Ok(Forked::Child);
    }
    let pidfd = (pidfd >= 0).then(|| {
        // SAFETY: the kernel just created this fd for us (CLONE_PIDFD) and nothing else owns it.
        unsafe { OwnedFd::from_raw_fd(pidfd) }
    });
    Ok(Forked::Parent {
        pid: Pid::from_raw(rc as i32),
        pidfd,
    })
}

const CLONE_PIDFD: u64 = 0x1000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Leaves a forked child without running the parent's atexit handlers or flushing its stdio
/// buffers (a copy of the parent's): the only way a cloned child may exit.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no user-space state.
    unsafe { libc::_exit(code) }
}

/// Blocks the calling (forked) process until a signal kills it; it dies with its parent
/// (PR_SET_PDEATHSIG). For a helper child that only has to exist, e.g. to own a user namespace.
pub fn pause_until_killed() -> ! {
    let _ = set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    loop {
        // SAFETY: pause(2) takes no arguments and only returns when a handled signal arrives.
        unsafe { libc::pause() };
    }
}

/// `set_mempolicy(2)`: the calling thread's NUMA memory policy (inherited across fork and
/// execve). `nodes` is the node bitmap, `max_node` the number of bits the kernel may read.
pub fn set_mempolicy(mode: i32, nodes: &[libc::c_ulong], max_node: u64) -> SysResult<()> {
    let mask = if nodes.is_empty() {
        std::ptr::null()
    } else {
        nodes.as_ptr()
    };
    // SAFETY: the kernel reads at most `max_node` bits from `mask`, which points at `nodes`
    // (max_node is at most its length in bits, plus the one the kernel discounts) or is null
    // with max_node 0.
    let rc = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, mask, max_node) };
    Errno::result(rc).map(drop).ctx(SysOp::SetMempolicy, None)
}

pub fn pidfd_open(pid: i32) -> SysResult<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new fd or -1.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = Errno::result(rc).ctx(SysOp::PidfdOpen, None)?;
    // SAFETY: a non-negative return is a new fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A copy of fd number `target_fd` of the process behind `pidfd` (`pidfd_getfd(2)`, close-on-exec).
/// Needs ptrace access to that process, which the runtime has over the processes it created.
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, target_fd: RawFd) -> SysResult<OwnedFd> {
    // SAFETY: pidfd_getfd takes three integers (flags 0) and returns a new fd or -1.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), target_fd, 0) };
    let fd = Errno::result(rc).ctx(SysOp::PidfdGetfd, None)?;
    // SAFETY: a non-negative return is a new fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> SysResult<()> {
    // SAFETY: the fd is borrowed for the call; a null siginfo is allowed; flags 0.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<u8>(),
            0,
        )
    };
    Errno::result(rc).map(drop).ctx(SysOp::Kill, None)
}

/// Waits until the process behind `pidfd` has exited (or `timeout_ms` passes; -1 = forever).
/// Returns true when it has exited.
pub fn pidfd_wait_exit(pidfd: BorrowedFd<'_>, timeout_ms: i32) -> SysResult<bool> {
    poll_readable(pidfd, timeout_ms)
}

pub fn poll_readable(fd: BorrowedFd<'_>, timeout_ms: i32) -> SysResult<bool> {
    let mut pfd = [libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: one valid pollfd in a live array, length 1.
    let rc = retry(|| Errno::result(unsafe { libc::poll(pfd.as_mut_ptr(), 1, timeout_ms) }))
        .ctx(SysOp::Poll, None)?;
    Ok(rc > 0 && pfd[0].revents != 0)
}

/// Marks every fd from `first` up as close-on-exec, so nothing of the runtime's leaks into the
/// container's process (CVE-2024-21626 class) while the fds still needed until exec stay usable.
pub fn cloexec_from(first: u32) -> SysResult<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes fd flags in this process's table; no memory is passed.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    Errno::result(rc).map(drop).ctx(SysOp::CloseRange, None)
}

pub fn dup2(from: BorrowedFd<'_>, to: RawFd) -> SysResult<()> {
    // SAFETY: dup2 only manipulates the fd table; `to` is a plain number (0, 1, 2).
    let rc = unsafe { libc::dup2(from.as_raw_fd(), to) };
    Errno::result(rc).map(drop).ctx(SysOp::Dup, None)
}

/// `fcntl(F_DUPFD_CLOEXEC, 3)`: a close-on-exec copy of `fd` numbered 3 or above, so that
/// moving it onto 0, 1 or 2 in a child can never overwrite another stdio source.
pub fn dup_above_stdio(fd: BorrowedFd<'_>) -> SysResult<OwnedFd> {
    let raw =
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3)).ctx(SysOp::Dup, None)?;
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) just returned `raw`, a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// The errno of a std I/O error; EIO for one that carries none (never errno 0, "Success").
pub fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// How many threads this process has: the entries of `/proc/self/task`.
pub fn thread_count() -> SysResult<usize> {
    let dir = Path::new("/proc/self/task");
    let io = |e: std::io::Error| SysError::new(SysOp::Open, Some(dir), errno_of(&e));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        entry.map_err(io)?;
        n += 1;
    }
    Ok(n)
}

/// `pipe2(O_CLOEXEC)`: (read end, write end).
pub fn pipe() -> SysResult<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).ctx(SysOp::Pipe, None)
}

/// `execve(2)`: only returns on failure.
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> SysError {
    let err = nix::unistd::execve(path, argv, envp).unwrap_err();
    SysError::new(
        SysOp::Execve,
        Some(Path::new(OsStr::from_bytes(path.to_bytes()))),
        err,
    )
}

/// `access(2)` with the effective ids (`faccessat(AT_EACCESS)`): may this user execute `path`?
pub fn can_execute(path: &Path) -> SysResult<()> {
    let c = cstring(SysOp::Stat, path)?;
    // SAFETY: `c` is a NUL-terminated path alive across the call.
    let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::X_OK, libc::AT_EACCESS) };
    Errno::result(rc).map(drop).ctx(SysOp::Stat, Some(path))
}

// ---------------------------------------------------------------------------------------------
// Terminals

/// Opens the slave side of a pty master (`TIOCGPTPEER`): no path lookup, so no symlink games.
pub fn open_pty_peer(master: BorrowedFd<'_>) -> SysResult<OwnedFd> {
    const TIOCGPTPEER: libc::c_ulong = 0x5441;
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes an int flag argument and returns a new fd or -1.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), TIOCGPTPEER as _, flags) };
    let fd = Errno::result(rc).ctx(SysOp::Ioctl, Some(Path::new("/dev/ptmx")))?;
    // SAFETY: a non-negative return is a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Gives an open file to `uid`, leaving its group as it is (`fchown(fd, uid, -1)`).
pub fn fchown_uid(fd: BorrowedFd<'_>, uid: u32, display: &Path) -> SysResult<()> {
    nix::unistd::fchown(fd, Some(Uid::from_raw(uid)), None).ctx(SysOp::Chown, Some(display))
}

pub fn unlockpt(master: BorrowedFd<'_>) -> SysResult<()> {
    let mut unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from a live local.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &mut unlock) };
    Errno::result(rc)
        .map(drop)
        .ctx(SysOp::Ioctl, Some(Path::new("/dev/ptmx")))
}

pub fn set_controlling_tty(fd: BorrowedFd<'_>) -> SysResult<()> {
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal); no memory is passed.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(rc).map(drop).ctx(SysOp::Ioctl, None)
}

pub fn set_winsize(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> SysResult<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from a live local.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    Errno::result(rc).map(drop).ctx(SysOp::Ioctl, None)
}

pub fn get_winsize(fd: BorrowedFd<'_>) -> SysResult<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into a live local.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    Errno::result(rc)
        .map(|_| (ws.ws_row, ws.ws_col))
        .ctx(SysOp::Ioctl, None)
}

// ---------------------------------------------------------------------------------------------
// rtnetlink (netdev.rs builds and parses the messages)

/// A close-on-exec `NETLINK_ROUTE` socket, in the calling thread's network namespace (a netlink
/// socket keeps the namespace it was made in).
pub fn netlink_route_socket() -> SysResult<OwnedFd> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockProtocol, SockType};
    socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
    .ctx(SysOp::Socket, None)
}

/// Sends one netlink request to the kernel (an unbound netlink socket's peer is the kernel).
pub fn netlink_send(sock: BorrowedFd<'_>, msg: &[u8]) -> SysResult<()> {
    use nix::sys::socket::{send, MsgFlags};
    let n = retry(|| send(sock.as_raw_fd(), msg, MsgFlags::empty())).ctx(SysOp::Sendmsg, None)?;
    if n != msg.len() {
        return Err(SysError::new(SysOp::Sendmsg, None, Errno::EMSGSIZE));
    }
    Ok(())
}

/// Receives one datagram of netlink replies (several messages may share it).
pub fn netlink_recv(sock: BorrowedFd<'_>, buf: &mut [u8]) -> SysResult<usize> {
    use nix::sys::socket::{recv, MsgFlags};
    retry(|| recv(sock.as_raw_fd(), buf, MsgFlags::empty())).ctx(SysOp::Recvmsg, None)
}

// ---------------------------------------------------------------------------------------------
// Fd passing

/// Sends `fd` over a unix socket with SCM_RIGHTS, with `payload` as the message body.
pub fn send_fd(sock: BorrowedFd<'_>, payload: &[u8], fd: BorrowedFd<'_>) -> SysResult<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let iov = [std::io::IoSlice::new(payload)];
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    retry(|| sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None))
        .map(drop)
        .ctx(SysOp::Sendmsg, None)
}

/// Receives a message of up to `buf.len()` bytes and the fd sent with it (SCM_RIGHTS), if any.
/// Returns the number of bytes received (0 at EOF).
pub fn recv_with_fd(sock: BorrowedFd<'_>, buf: &mut [u8]) -> SysResult<(usize, Option<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let (n, fds) = retry(|| {
        recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map(|m| {
            let fds: Vec<RawFd> = m
                .cmsgs()
                .into_iter()
                .flatten()
                .filter_map(|c| match c {
                    ControlMessageOwned::ScmRights(fds) => Some(fds),
                    _ => None,
                })
                .flatten()
                .collect();
            (m.bytes, fds)
        })
    })
    .ctx(SysOp::Recvmsg, None)?;
    let mut owned = fds.into_iter().map(|fd| {
        // SAFETY: SCM_RIGHTS just installed this fd in our table; we are its only owner.
        unsafe { OwnedFd::from_raw_fd(fd) }
    });
    let first = owned.next();
    drop(owned.collect::<Vec<_>>());
    Ok((n, first))
}

/// Receives one fd sent with SCM_RIGHTS (and up to `buf.len()` payload bytes).
pub fn recv_fd(sock: BorrowedFd<'_>, buf: &mut [u8]) -> SysResult<Option<OwnedFd>> {
    recv_with_fd(sock, buf).map(|(_, fd)| fd)
}

/// This thread's name (`prctl(PR_GET_NAME)`: no /proc needed, which in a container's mount
/// namespace may be another pid namespace's or absent).
pub fn own_comm() -> SysResult<CString> {
    nix::sys::prctl::get_name().ctx(SysOp::Prctl, None)
}

/// The command name in `/proc/<pid>/stat` (still there for a zombie): it changes only at exec.
pub fn proc_comm(pid: i32) -> Option<String> {
    let raw = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (start, end) = (raw.find('(')?, raw.rfind(')')?);
    Some(raw.get(start + 1..end)?.to_string())
}

/// Reads `/proc/<pid>/stat`: (state char, start time in clock ticks since boot).
/// The start time is what tells a live container init from a recycled pid. The error keeps the
/// errno: `ENOENT` for no such process (or one that a `hidepid=invisible` /proc hides),
/// `EPERM`/`EACCES` for one that `hidepid=noaccess` keeps from this caller, `EINVAL` for a file
/// that does not parse.
pub fn proc_stat(pid: i32) -> SysResult<(char, u64)> {
    let path = PathBuf::from(format!("/proc/{pid}/stat"));
    let raw = std::fs::read_to_string(&path)
        .map_err(|e| SysError::new(SysOp::Read, Some(&path), io_errno(&e)))?;
    parse_proc_stat(&raw).ok_or_else(|| SysError::new(SysOp::Read, Some(&path), Errno::EINVAL))
}

fn parse_proc_stat(raw: &str) -> Option<(char, u64)> {
    // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    let rest = raw.get(raw.rfind(')')? + 2..)?;
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // `rest` starts at field 3 (state); start time is field 22.
    let start = fields.nth(22 - 4)?.parse().ok()?;
    Some((state, start))
}

// ---------------------------------------------------------------------------------------------
// Capabilities

pub fn drop_bounding_cap(cap: u32) -> SysResult<()> {
    // SAFETY: PR_CAPBSET_DROP takes a capability number; no memory is passed.
    let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
    Errno::result(rc).map(drop).ctx(SysOp::Capabilities, None)
}

pub fn clear_ambient_caps() -> SysResult<()> {
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes only integer arguments.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    Errno::result(rc).map(drop).ctx(SysOp::Capabilities, None)
}

pub fn raise_ambient_cap(cap: u32) -> SysResult<()> {
    // SAFETY: PR_CAP_AMBIENT_RAISE takes a capability number; no memory is passed.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            cap as libc::c_ulong,
            0,
            0,
        )
    };
    Errno::result(rc).map(drop).ctx(SysOp::Capabilities, None)
}

/// `capset(2)` for the calling thread, version 3 (64-bit sets).
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> SysResult<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let word = |v: u64, i: u32| (v >> (32 * i)) as u32;
    let data = [0, 1].map(|i| Data {
        effective: word(effective, i),
        permitted: word(permitted, i),
        inheritable: word(inheritable, i),
    });
    // SAFETY: header and a two-element data array (as version 3 requires) live across the call;
    // the kernel only reads them.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) };
    Errno::result(rc).map(drop).ctx(SysOp::Capabilities, None)
}

/// This process's (effective, permitted, inheritable) capability sets (`capget(2)`).
pub fn capget() -> SysResult<(u64, u64, u64)> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: header and a two-element data array (as version 3 requires) live across the call;
    // the kernel writes exactly those two entries.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut Header,
            data.as_mut_ptr(),
        )
    };
    Errno::result(rc).ctx(SysOp::Capget, None)?;
    let join = |f: fn(&Data) -> u32| u64::from(f(&data[0])) | (u64::from(f(&data[1])) << 32);
    Ok((
        join(|d| d.effective),
        join(|d| d.permitted),
        join(|d| d.inheritable),
    ))
}

/// Closes a descriptor number in a forked child, where the owning `OwnedFd` lives on in the
/// parent's copy of memory (dropping it there is not possible).
///
/// # Safety
///
/// Only in a child made by [`clone_process`], for an fd it inherited and that nothing in the
/// child uses, closes or drops afterwards (the child leaves through `execve` or [`exit_now`],
/// never dropping the parent's owner): otherwise the number could be closed twice, the second
/// time hitting an unrelated fd that reused it.
pub unsafe fn close_in_child(fd: RawFd) {
    // SAFETY: called only in a freshly forked child for fds it inherited and will never use;
    // the parent's OwnedFd refers to the parent's own fd table, unaffected by this close.
    unsafe { libc::close(fd) };
}

/// Waits for a child of this process and returns its raw wait status.
pub fn waitpid(pid: i32) -> SysResult<i32> {
    let mut status = 0;
    // SAFETY: `status` is a live int for the kernel to fill; pid is a plain number.
    let rc = retry(|| Errno::result(unsafe { libc::waitpid(pid, &mut status, 0) }));
    rc.map(|_| status).ctx(SysOp::Wait, None)
}

/// Resets every signal to its default action and unblocks all of them (for the container's
/// process, which must not inherit the runtime's signal state: ignored dispositions survive exec).
pub fn reset_signals() {
    // The kernel's own sigaction, not libc's: glibc refuses to touch the two signals it keeps for
    // itself (32, 33), and a caller may have left those ignored too.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction reads one live kernel_sigaction (SIG_DFL, no flags, empty mask)
        // of the size given; no old action is requested; SIG_DFL runs no handler code.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &default as *const KernelSigaction,
                std::ptr::null_mut::<u8>(),
                8usize,
            );
        }
    }
    let _ = nix::sys::signal::SigSet::empty().thread_set_mask();
}

/// Opens `/dev/null` on each of the file descriptors 0, 1 and 2 that is closed, so that no file
/// the program opens later takes one of them and gets written to as its stdout or stderr. One
/// `poll` tells which are closed (`POLLNVAL`); `open` takes the lowest free number, the closed
/// one, as they are filled in order. Failures are left as they are: the program then runs as it
/// would have without this.
pub fn open_missing_stdio() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: three valid pollfds in a live array of that length; a zero timeout never blocks.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    if rc < 0 {
        return;
    }
    for pfd in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
        // Not `open` above, which adds O_CLOEXEC: stdio must survive exec. The fd stays open
        // for the process's life, as std's own main leaves it: no owner.
        if let Ok(fd) = nix::fcntl::open("/dev/null", OFlag::O_RDWR, Mode::empty()) {
            if fd.as_raw_fd() != pfd.fd {
                // A lower one was still closed: filled in order, so this cannot happen; do not
                // leave a stray fd behind if it does.
                drop(fd);
                return;
            }
            std::mem::forget(fd);
        }
    }
}

/// SIGPIPE ignored: a write to a pipe nobody reads fails with EPIPE, which the caller reports,
/// instead of killing the process. (The container's process gets the default back from
/// [`reset_signals`].)
pub fn ignore_sigpipe() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: SIG_IGN installs no handler, so no code runs in signal context.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
}

/// `readlinkat(2)`: the target of the symlink `name` in `dir`; EINVAL when it is not a symlink.
/// Safe code (nix); no SAFETY needed.
pub fn readlinkat(dir: BorrowedFd<'_>, name: &Path, display: &Path) -> SysResult<PathBuf> {
    retry(|| nix::fcntl::readlinkat(dir, name))
        .map(PathBuf::from)
        .ctx(SysOp::Lookup, Some(display))
}

/// Whether this kernel knows the seccomp filter flags `flags`: `seccomp(SECCOMP_SET_MODE_FILTER,
/// flags, NULL)` checks the flags first (EINVAL for unknown ones) and only then reads the
/// program (EFAULT for the null pointer), so nothing is ever installed.
pub fn seccomp_flags_supported(flags: u32) -> bool {
    const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
    // SAFETY: a null program pointer is never dereferenced by user space; the kernel fails the
    // call (EFAULT) before installing anything, or earlier (EINVAL) for unknown flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            std::ptr::null::<u8>(),
        )
    };
    Errno::result(rc).err() == Some(Errno::EFAULT)
}

/// Whether the kernel has `mount_setattr(2)` (Linux 5.12+, which brought idmapped mounts): on
/// an invalid fd it fails with EBADF, where it is missing with ENOSYS.
pub fn mount_setattr_available() -> bool {
    // SAFETY: fd -1 and a null attr of size 0: the kernel rejects the call before reading
    // anything.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            std::ptr::null::<u8>(),
            0usize,
        )
    };
    Errno::result(rc).err() != Some(Errno::ENOSYS)
}

/// Installs a seccomp filter (`seccomp(SECCOMP_SET_MODE_FILTER)`), `program` being an array of
/// `struct sock_filter`. With `SECCOMP_FILTER_FLAG_NEW_LISTENER` in `flags` the kernel returns a
/// notification listener fd.
pub fn seccomp_set_filter(program: &[u8], flags: u32) -> SysResult<Option<OwnedFd>> {
    const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
    const NEW_LISTENER: u32 = 8;
    if !program.len().is_multiple_of(8) || program.len() / 8 > usize::from(u16::MAX) {
        return Err(SysError::new(SysOp::Seccomp, None, Errno::EINVAL));
    }
    #[repr(C)]
    struct SockFprog {
        len: u16,
        filter: *const u8,
    }
    let prog = SockFprog {
        len: (program.len() / 8) as u16,
        filter: program.as_ptr(),
    };
    // SAFETY: `prog` describes `program`, a live buffer of whole 8-byte sock_filter entries, for
    // the duration of the call; the kernel copies the program and keeps no pointer to it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            &prog as *const SockFprog,
        )
    };
    let fd = Errno::result(rc).ctx(SysOp::Seccomp, None)?;
    if flags & NEW_LISTENER != 0 {
        // SAFETY: with NEW_LISTENER a successful call returns a new fd that nobody else owns.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }));
    }
    Ok(None)
}

/// Waits until the read side of a pipe or fifo is gone (POLLERR on its write end), or
/// `timeout_ms` passes. Returns true when the reader is gone.
pub fn poll_writer_hangup(fd: BorrowedFd<'_>, timeout_ms: i32) -> SysResult<bool> {
    let mut pfd = [libc::pollfd {
        fd: fd.as_raw_fd(),
        events: 0,
        revents: 0,
    }];
    // SAFETY: one valid pollfd in a live array, length 1.
    let rc = retry(|| Errno::result(unsafe { libc::poll(pfd.as_mut_ptr(), 1, timeout_ms) }))
        .ctx(SysOp::Poll, None)?;
    Ok(rc > 0 && pfd[0].revents & (libc::POLLERR | libc::POLLHUP) != 0)
}

// ---------------------------------------------------------------------------------------------
// Process security attributes (process/finish.rs, lsm.rs)

/// `prctl(PR_SET_DUMPABLE)`. A non-dumpable process's `/proc/<pid>/exe`, `mem`, `fd` … can only
/// be opened by someone with CAP_SYS_PTRACE over its creator's user namespace: the runtime stays
/// non-dumpable until it execs the container's process (CVE-2019-5736).
pub fn set_dumpable(on: bool) -> SysResult<()> {
    nix::sys::prctl::set_dumpable(on).ctx(SysOp::Prctl, None)
}

/// `personality(2)` with a persona number (`PER_LINUX`, `PER_LINUX32`, …).
pub fn personality(persona: u64) -> SysResult<()> {
    // SAFETY: personality only changes a flag word of this process; no memory is passed.
    let rc = unsafe { libc::personality(persona as libc::c_ulong) };
    Errno::result(rc).map(drop).ctx(SysOp::Personality, None)
}

/// The kernel's `struct sched_attr` (SCHED_ATTR_SIZE_VER0 layout, 48 bytes).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// `sched_setattr(2)` on the calling thread.
pub fn sched_setattr(attr: &SchedAttr) -> SysResult<()> {
    let mut attr = *attr;
    attr.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: `attr` is a valid, fully initialised sched_attr whose `size` says how much the
    // kernel may read; it lives across the call and the kernel does not keep the pointer.
    let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    Errno::result(rc).map(drop).ctx(SysOp::SchedSetattr, None)
}

/// `ioprio_set(IOPRIO_WHO_PROCESS, 0, class << 13 | level)`.
pub fn ioprio_set(class: u32, level: u32) -> SysResult<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    let prio = ((class as libc::c_long) << 13) | (level as libc::c_long & 0x1fff);
    // SAFETY: ioprio_set takes plain integers; no memory is passed.
    let rc = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) };
    Errno::result(rc).map(drop).ctx(SysOp::IoprioSet, None)
}

/// `sched_setaffinity(0, …)` to exactly the CPUs listed.
pub fn sched_setaffinity(cpus: &[usize]) -> SysResult<()> {
    let mut set = nix::sched::CpuSet::new();
    for &c in cpus {
        set.set(c).ctx(SysOp::SchedSetaffinity, None)?;
    }
    nix::sched::sched_setaffinity(Pid::from_raw(0), &set).ctx(SysOp::SchedSetaffinity, None)
}

/// `open_tree(path, OPEN_TREE_CLONE)`: a detached copy of the mount at `path` (a bind mount of
/// just that file or directory), attached nowhere, alive as long as the fd or something opened
/// through it is.
pub fn open_tree_clone(path: &Path) -> SysResult<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let c = cstring(SysOp::Mount, path)?;
    // SAFETY: `c` is a NUL-terminated path alive across the call; no other memory is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            c.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    let fd = Errno::result(rc).ctx(SysOp::Mount, Some(path))?;
    // SAFETY: a successful open_tree returns a new fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH)` making the (detached) mount read-only and nodev.
pub fn mount_set_readonly(fd: BorrowedFd<'_>) -> SysResult<()> {
    mount_setattr(fd, 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV, 0).ctx(SysOp::Mount, None)
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`: runs the file `fd` refers to. Only returns on
/// failure.
pub fn execveat_fd(fd: BorrowedFd<'_>, argv: &[CString], envp: &[CString]) -> SysError {
    let err =
        nix::unistd::execveat(fd, c"", argv, envp, nix::fcntl::AtFlags::AT_EMPTY_PATH).unwrap_err();
    SysError::new(SysOp::Execve, None, err)
}

/// A sealed in-memory copy of the file at `path` (memfd, no further writes, growth or
/// shrinking possible), for running a binary nobody can modify through `/proc/<pid>/exe`.
pub fn sealed_copy(path: &Path) -> SysResult<OwnedFd> {
    use nix::fcntl::{fcntl, FcntlArg, SealFlag};
    use nix::sys::memfd::{memfd_create, MFdFlags};
    let memfd = memfd_create(c"runr", MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
        .ctx(SysOp::Open, Some(path))?;
    let mut src = std::fs::File::open(path)
        .map_err(|e| SysError::new(SysOp::Open, Some(path), io_errno(&e)))?;
    let mut dst = std::fs::File::from(memfd);
    std::io::copy(&mut src, &mut dst)
        .map_err(|e| SysError::new(SysOp::Write, Some(path), io_errno(&e)))?;
    let memfd = OwnedFd::from(dst);
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(&memfd, FcntlArg::F_ADD_SEALS(seals)).ctx(SysOp::Other, Some(path))?;
    Ok(memfd)
}

/// A sealed memfd holding `bytes`, executable (MFD_EXEC: asked for explicitly where the kernel
/// knows the flag, 6.3+, so that `vm.memfd_noexec` = 1 does not make it non-executable; where
/// the kernel refuses it as unknown, asked for without). Close-on-exec.
pub fn sealed_executable_memfd(name: &CStr, bytes: &[u8]) -> SysResult<OwnedFd> {
    use nix::fcntl::{fcntl, FcntlArg, SealFlag};
    use nix::sys::memfd::{memfd_create, MFdFlags};
    const MFD_EXEC: libc::c_uint = 0x10;
    let base = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    let memfd = match memfd_create(name, base | MFdFlags::from_bits_retain(MFD_EXEC)) {
        Err(Errno::EINVAL) => memfd_create(name, base),
        other => other,
    }
    .ctx(SysOp::Open, None)?;
    write_all(memfd.as_fd(), bytes, None)?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(&memfd, FcntlArg::F_ADD_SEALS(seals)).ctx(SysOp::Other, None)?;
    Ok(memfd)
}

/// Clears `fd`'s close-on-exec flag, for an fd a freshly executed helper must still hold
/// (the exec stub sets it again before its own `execve`).
pub fn keep_across_exec(fd: BorrowedFd<'_>) -> SysResult<()> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty()))
        .map(drop)
        .ctx(SysOp::Other, None)
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// The filesystem type (`statfs(2)` `f_type` magic) of the file system holding `path`.
pub fn fs_magic(path: &Path) -> SysResult<i64> {
    let st = nix::sys::statfs::statfs(path).ctx(SysOp::Stat, Some(path))?;
    Ok(st.filesystem_type().0 as i64)
}

/// The number N of the pty whose master is `master` (its slave is /dev/pts/N): TIOCGPTN.
pub fn pty_number(master: BorrowedFd<'_>) -> SysResult<u32> {
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int into a live local.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) };
    Errno::result(rc)
        .map(|_| n)
        .ctx(SysOp::Ioctl, Some(Path::new("/dev/ptmx")))
}

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `mount_setattr(MOUNT_ATTR_IDMAP)`: makes the detached mount `fd` (and, when `recursive`,
/// every mount below it) an idmapped mount showing its files' owners through the id mappings
/// of the user namespace `userns`.
pub fn mount_setattr_idmap(
    fd: BorrowedFd<'_>,
    userns: BorrowedFd<'_>,
    recursive: bool,
    display: &Path,
) -> SysResult<()> {
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    let flags = if recursive { AT_RECURSIVE } else { 0 };
    let userns = userns.as_raw_fd() as u64;
    mount_setattr_full(fd, flags, MOUNT_ATTR_IDMAP, 0, 0, userns).ctx(SysOp::Mount, Some(display))
}

/// `mount_setattr(2)` on the mount at `fd` and every mount below it (AT_RECURSIVE).
pub fn mount_setattr_recursive(
    fd: BorrowedFd<'_>,
    set: u64,
    clear: u64,
    display: &Path,
) -> SysResult<()> {
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    mount_setattr(fd, AT_RECURSIVE, set, clear).ctx(SysOp::Mount, Some(display))
}

/// `mount_setattr(2)` on the one mount at `fd` (its submounts keep their attributes).
pub fn mount_setattr_one(
    fd: BorrowedFd<'_>,
    set: u64,
    clear: u64,
    display: &Path,
) -> SysResult<()> {
    mount_setattr_raw(fd, 0, set, clear, 0).ctx(SysOp::Mount, Some(display))
}

/// A detached copy of the mount tree at `path` (`open_tree(OPEN_TREE_CLONE)`, with every submount
/// when `recursive`), made a slave of the original on the way (`mount_setattr` propagation), so
/// that wherever it is attached later nothing mounted below it reaches the source's peers.
/// Opened with the caller's rights: the init can attach it (`move_mount_onto`) after it has
/// become a user the path's directories would refuse.
pub fn open_tree_detached(path: &Path, recursive: bool) -> SysResult<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    let c = cstring(SysOp::Mount, path)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: `c` is a NUL-terminated path alive across the call; no other memory is passed.
    let rc = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    let fd = Errno::result(rc).ctx(SysOp::Mount, Some(path))?;
    // SAFETY: a successful open_tree returns a new fd that nobody else owns.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let slave = MsFlags::MS_SLAVE.bits();
    mount_setattr_raw(tree.as_fd(), AT_RECURSIVE, 0, 0, slave).ctx(SysOp::Mount, Some(path))?;
    Ok(tree)
}

/// `move_mount(from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)`: attaches
/// the detached mount tree `from` on the file or directory `to`.
pub fn move_mount_onto(from: BorrowedFd<'_>, to: BorrowedFd<'_>, display: &Path) -> SysResult<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: both paths are empty NUL-terminated literals; the fds are borrowed for the call and
    // the kernel keeps no pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(rc).map(drop).ctx(SysOp::Mount, Some(display))
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH | flags, {set, clear})`: the one raw call behind the
/// wrappers above.
fn mount_setattr(fd: BorrowedFd<'_>, flags: libc::c_uint, set: u64, clear: u64) -> nix::Result<()> {
    mount_setattr_raw(fd, flags, set, clear, 0)
}

/// [`mount_setattr`] that may also change the propagation (`MS_SLAVE`, …; 0 leaves it).
fn mount_setattr_raw(
    fd: BorrowedFd<'_>,
    flags: libc::c_uint,
    set: u64,
    clear: u64,
    propagation: u64,
) -> nix::Result<()> {
    mount_setattr_full(fd, flags, set, clear, propagation, 0)
}

/// [`mount_setattr_raw`] that may also pass a user namespace fd (for `MOUNT_ATTR_IDMAP`).
fn mount_setattr_full(
    fd: BorrowedFd<'_>,
    flags: libc::c_uint,
    set: u64,
    clear: u64,
    propagation: u64,
    userns_fd: u64,
) -> nix::Result<()> {
    /// The kernel's `struct mount_attr` (version 0, 32 bytes).
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation,
        userns_fd,
    };
    // SAFETY: the kernel reads one live mount_attr of the size given and an empty, NUL-terminated
    // path; the fd is borrowed for the call and the kernel keeps no pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags | libc::AT_EMPTY_PATH as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(rc).map(drop)
}

/// Fails with EPERM when the working directory is outside the process's root (getcwd(2) then
/// answers ENOENT or a path that is not absolute, "(unreachable)/…").
pub fn check_cwd_inside_root(display: &Path) -> SysResult<()> {
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => Err(SysError::new(SysOp::Chdir, Some(display), Errno::EPERM)),
    }
}
