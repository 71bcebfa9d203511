//! Seccomp test helpers shared by tests/security.rs and tests/parity_seccomp.rs: profile
//! builders, the Docker default config, a bundle with a compiled syscall probe in it, and the
//! kernel interface of a user-notification agent (what runc's tests/cmd/seccompagent does: take
//! the listener fd the runtime sends, answer the notified syscalls).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::{compile_static_c, scratch, unique, Bundle};

/// A profile with `default_action` and one rule per (syscall names, action).
pub fn profile(default_action: &str, rules: &[(&[&str], &str)]) -> Value {
    let syscalls: Vec<Value> = rules
        .iter()
        .map(|(names, action)| json!({"names": names, "action": action}))
        .collect();
    json!({"defaultAction": default_action, "syscalls": syscalls})
}

/// The config Docker generates for `docker run` (its default seccomp profile included),
/// from ../shared/fixtures/engine-configs.
pub fn docker_config() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/engine-configs/docker-config-default.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("docker fixture")).unwrap()
}

/// A static C program put into bundles as `/bin/probe`, compiled once per test binary and kept
/// in memory (its build directory is removed at once: nothing stays in the scratch directory).
pub struct Probe {
    source: &'static str,
    bin: OnceLock<Vec<u8>>,
}

impl Probe {
    /// The probe built from `source` (not compiled until first used).
    pub const fn new(source: &'static str) -> Probe {
        Probe {
            source,
            bin: OnceLock::new(),
        }
    }

    fn bin(&self) -> &[u8] {
        self.bin.get_or_init(|| {
            let dir = scratch().join(unique("probe"));
            let built = compile_static_c(self.source, &dir, "probe").map(std::fs::read);
            let _ = std::fs::remove_dir_all(&dir);
            built
                .expect("gcc is needed to build the syscall probe")
                .expect("read the built probe")
        })
    }

    /// A bundle running `script` with /bin/probe in its rootfs.
    pub fn bundle(&self, script: &str) -> Bundle {
        let b = Bundle::shell(script);
        let path = b.rootfs().join("bin/probe");
        std::fs::write(&path, self.bin()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        b
    }
}

/// `struct seccomp_data`.
#[repr(C)]
#[derive(Default, Debug)]
pub struct SeccompData {
    /// The syscall number.
    pub nr: i32,
    /// AUDIT_ARCH_*.
    pub arch: u32,
    /// The instruction pointer.
    pub ip: u64,
    /// The syscall's arguments.
    pub args: [u64; 6],
}

/// `struct seccomp_notif`: one notified syscall.
#[repr(C)]
#[derive(Default, Debug)]
pub struct Notification {
    /// The cookie the response names.
    pub id: u64,
    /// The calling thread.
    pub pid: u32,
    /// Unused (0).
    pub flags: u32,
    /// The syscall.
    pub data: SeccompData,
}

/// `struct seccomp_notif_resp`: the answer to one notification.
#[repr(C)]
#[derive(Default, Debug)]
pub struct Response {
    /// The notification's id.
    pub id: u64,
    /// The return value (when `error` is 0).
    pub val: i64,
    /// A negated errno, or 0.
    pub error: i32,
    /// `SECCOMP_USER_NOTIF_FLAG_CONTINUE` lets the syscall go on.
    pub flags: u32,
}

const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;
/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`.
pub const FLAG_CONTINUE: u32 = 1;

/// The message a runtime sends an agent on `conn`: its payload (the container state JSON) and
/// the listener fd it carries (SCM_RIGHTS); `None` when the message has no fd (a connection
/// that was not a runtime's).
pub fn receive_listener(conn: &UnixStream) -> Option<(Vec<u8>, OwnedFd)> {
    let mut buf = vec![0u8; 1 << 16];
    let mut cmsg = vec![0u8; 64];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; every pointer below refers to a live local buffer.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = cmsg.len();
    // SAFETY: a valid socket and a msghdr whose buffers outlive the call.
    let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    // SAFETY: the kernel filled msg_control; CMSG_FIRSTHDR/CMSG_DATA stay inside it.
    let c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    if n <= 0 || c.is_null() {
        return None;
    }
    // SAFETY: c points at a control message header inside cmsg (checked non-null above).
    let (level, kind) = unsafe { ((*c).cmsg_level, (*c).cmsg_type) };
    if (level, kind) != (libc::SOL_SOCKET, libc::SCM_RIGHTS) {
        return None;
    }
    // SAFETY: an SCM_RIGHTS message carries one fd the kernel just installed for us.
    let fd =
        unsafe { OwnedFd::from_raw_fd(std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32)) };
    buf.truncate(n as usize);
    Some((buf, fd))
}

/// Answers the notifications on the listener `fd` with `respond` until the filter has no user
/// left (or none comes for `timeout_ms`); returns how many were answered. A notification
/// whose caller was killed before it was received is passed over.
pub fn answer_notifications(
    fd: &OwnedFd,
    timeout_ms: i32,
    mut respond: impl FnMut(&Notification) -> Response,
) -> usize {
    let mut answered = 0;
    loop {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if r <= 0 || pfd.revents & libc::POLLIN == 0 {
            return answered; // the filter's last user is gone (POLLHUP) or nothing came
        }
        let mut req = Notification::default();
        // SAFETY: NOTIF_RECV fills a seccomp_notif of exactly this layout.
        if unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_RECV, &mut req) } != 0 {
            continue; // the notifying process was killed meanwhile
        }
        let resp = respond(&req);
        // SAFETY: NOTIF_SEND reads a seccomp_notif_resp of exactly this layout.
        unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_SEND, &resp) };
        answered += 1;
    }
}
