//! The exec stub: how a container process leaves the runtime's image without the runtime
//! re-executing itself first (CVE-2019-5736, the cheap way).
//!
//! The init and exec'd processes are clones of the runtime until their `execve`. If the
//! container's program is `/proc/self/exe` (or a script whose interpreter is), that `execve`
//! would run the runtime's own binary inside the container, which could then reopen it for
//! writing. runr used to re-execute itself from a read-only view of its binary before every
//! create, run and exec (protect.rs), paying one more load of a dynamically linked program
//! (~1 ms on this VM). Instead, the process now `execve`s a tiny freestanding program from a
//! sealed memfd copy made for this call (stub/exec-stub.c, ~2 KB), which `execve`s the
//! container's program: `/proc/self/exe` then names the stub's sealed copy, never the
//! runtime's file. runc 1.2's release candidates did the same (runc-dmz).
//!
//! Until that first `execve` the process is still the runtime's binary, and only its
//! non-dumpable flag keeps the container from opening its `/proc/<pid>/exe`. The stub is used
//! only where that holds for everyone who can see the process, the rule runc-dmz had plus
//! what runc-dmz missed ([`refusal`]); elsewhere the caller re-executes from the read-only
//! binary as before.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use oci_spec::runtime::{
    Capability, LinuxCapabilities, LinuxNamespaceType, LinuxSeccomp, LinuxSeccompAction, Process,
    Spec,
};

use crate::sys::{self, SysResult};

#[cfg(exec_stub)]
const STUB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/exec-stub"));

/// The system calls the stub makes between the runtime's last step and the program (the init
/// waits for `start` in it: ppoll, read, nanosleep).
const STUB_SYSCALLS: [&str; 9] = [
    "execveat",
    "prctl",
    "fcntl",
    "ppoll",
    "read",
    "nanosleep",
    "execve",
    "write",
    "exit_group",
];

/// A sealed, executable in-memory copy of the stub, made for one create or exec (close-on-exec:
/// it is gone from the process at the stub's own `execve`).
#[derive(Debug)]
pub(crate) struct ExecStub {
    fd: OwnedFd,
}

impl ExecStub {
    /// The stub's copy. Fails where memfds may not be executed (`vm.memfd_noexec` = 2).
    #[cfg(exec_stub)]
    pub(crate) fn load() -> SysResult<ExecStub> {
        sys::sealed_executable_memfd(c"runr-exec-stub", STUB).map(|fd| ExecStub { fd })
    }

    #[cfg(not(exec_stub))]
    pub(crate) fn load() -> SysResult<ExecStub> {
        Err(sys::SysError::new(
            sys::SysOp::Open,
            None,
            sys::Errno::ENOSYS,
        ))
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// In a container's state directory once a process that could reach its exec'd processes
/// before their `execve` exists: an exec'd process given CAP_SYS_PTRACE (without a user
/// namespace), or a container that joined its pid namespace. From then on no exec'd process of
/// the container uses the stub.
pub(crate) const NO_STUB_MARKER: &str = "no-exec-stub";

/// The [`NO_STUB_MARKER`] file of the container whose state directory is `dir`.
pub(crate) fn no_stub_marker(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join(NO_STUB_MARKER)
}

/// Why an exec'd process may not use the stub when the container's state says so (an earlier
/// exec'd process with CAP_SYS_PTRACE, or another container joined its pid namespace).
pub(crate) const SHARED_REACH: &str =
    "a process exec'd into the container, or one of a container sharing its pid namespace, may reach exec'd processes";

/// Why the stub cannot be loaded here (a memfd may not be made or executed).
pub(crate) const NOT_LOADABLE: &str = "the exec stub's memfd cannot be made here";

/// What the process keeps open through the stub until the program's `execve`, and where a
/// failure of that `execve` goes.
#[derive(Clone, Copy)]
pub(crate) enum Keep<'a> {
    /// Nothing (the init after `start` without the stub: its exec fifo closes at any execve).
    Nothing,
    /// The init's exec fifo, which the stub waits on for `start` (so that a created
    /// container's init already is the stub's sealed copy, not the runtime's binary, which a
    /// process joining its pid namespace could otherwise reach) and `start` then waits for to
    /// close; a failure goes to stderr. Before that, the stub waits for `create`'s Handover
    /// on the init's channel, and exits when the channel closes instead (the runtime died
    /// before the container was recorded): the init execs the stub as soon as it is ready,
    /// so that its `execveat` overlaps the runtime's last steps of `create`.
    Wait {
        fifo: BorrowedFd<'a>,
        handover: BorrowedFd<'a>,
    },
    /// An exec'd process's channel to the runtime, which reads a failure from it
    /// ([`crate::process::sync`] decodes the stub's frame).
    Channel(BorrowedFd<'a>),
}

/// The stub's argv: `[comm, how, path, program's argv...]` (stub/exec-stub.c).
pub(crate) fn argv(
    comm: &CString,
    keep: Keep<'_>,
    path: &CString,
    args: &[CString],
) -> Vec<CString> {
    use std::os::fd::AsRawFd;
    let how = match keep {
        Keep::Nothing => "-".to_string(),
        Keep::Wait { fifo, handover } => {
            format!("w{}h{}", fifo.as_raw_fd(), handover.as_raw_fd())
        }
        Keep::Channel(fd) => format!("c{}", fd.as_raw_fd()),
    };
    let mut v = Vec::with_capacity(args.len() + 3);
    v.push(comm.clone());
    v.push(CString::new(how).expect("digits and a letter"));
    v.push(path.clone());
    v.extend(args.iter().cloned());
    v
}

/// Why the stub would not be safe for this container (`None`: it is), given the container's
/// spec and, for `exec`, the exec'd process. The caller then needs a protected binary.
///
/// Before its `execve` into the stub, a container process is the runtime's binary behind the
/// non-dumpable flag, which stops a process without CAP_SYS_PTRACE over the runtime's user
/// namespace from opening its `/proc/<pid>/exe`. So the stub is used only when:
/// - the container has its own new pid namespace: nobody else's processes see its processes
///   (a shared or the host's one could hold another container's CAP_SYS_PTRACE);
/// - no process of it can hold CAP_SYS_PTRACE (bounding, inheritable or ambient set), unless it
///   has a user namespace (Linux 4.10+: its capabilities do not reach the runtime's);
/// - no createContainer or startContainer hook runs in it (a hook path inside the container is
///   spawned from the runtime's image, not through the stub);
/// - no LSM label asks for a transition at the next `execve` (that would be the stub's, whose
///   memfd an SELinux policy does not allow as an entry point);
/// - a seccomp filter allows, without conditions, every system call the stub makes.
pub(crate) fn refusal(spec: &Spec, exec: Option<&Process>) -> Option<&'static str> {
    if cfg!(not(exec_stub)) {
        return Some("runr was built without the exec stub");
    }
    let Some(linux) = spec.linux().as_ref() else {
        return Some("the config has no linux section");
    };
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    let has = |t: LinuxNamespaceType| namespaces.iter().find(|n| n.typ() == t);
    match has(LinuxNamespaceType::Pid) {
        Some(ns) if ns.path().is_none() => {}
        _ => return Some("the container has no pid namespace of its own"),
    }
    let processes = spec.process().iter().chain(exec);
    if processes.clone().any(|p| gives_ptrace(spec, p)) {
        return Some("a process of the container may have CAP_SYS_PTRACE");
    }
    if let Some(hooks) = spec.hooks() {
        let some = |h: &Option<Vec<_>>| h.as_ref().is_some_and(|v| !v.is_empty());
        if some(hooks.create_container()) || some(hooks.start_container()) {
            return Some("createContainer or startContainer hooks run in the container");
        }
    }
    let labelled = |p: &Process| {
        p.apparmor_profile().as_ref().is_some_and(|l| !l.is_empty())
            || p.selinux_label().as_ref().is_some_and(|l| !l.is_empty())
    };
    if processes.clone().any(labelled) {
        return Some("an LSM label applies at the next execve");
    }
    if linux.seccomp().as_ref().is_some_and(|s| !allows_stub(s)) {
        return Some("the seccomp profile does not allow the stub's system calls");
    }
    None
}

/// Whether process `p` of the container may hold CAP_SYS_PTRACE over the runtime's user
/// namespace (no user namespace in the container): it could then open a later exec'd
/// process's `/proc/<pid>/exe` before that one's `execve`, so later ones must not use the stub.
pub(crate) fn gives_ptrace(spec: &Spec, p: &Process) -> bool {
    let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    let userns = namespaces.is_some_and(|v| v.iter().any(|n| n.typ() == LinuxNamespaceType::User));
    !userns && may_ptrace(p.capabilities().as_ref())
}

/// CAP_SYS_PTRACE in a set a process keeps or can regain across `execve`. No capabilities
/// object at all: runr drops every capability (capabilities.rs), so none.
fn may_ptrace(caps: Option<&LinuxCapabilities>) -> bool {
    let Some(c) = caps else { return false };
    [c.bounding(), c.inheritable(), c.ambient()]
        .into_iter()
        .any(|set| {
            set.as_ref()
                .is_some_and(|s| s.contains(&Capability::SysPtrace))
        })
}

/// Whether the filter lets each of the stub's system calls through whatever its arguments:
/// no rule naming it with an action other than allow or log, and either an unconditional
/// rule allowing it or a default action that does.
fn allows_stub(s: &LinuxSeccomp) -> bool {
    let passes = |a: LinuxSeccompAction| {
        matches!(
            a,
            LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
        )
    };
    let rules = s.syscalls().as_deref().unwrap_or_default();
    STUB_SYSCALLS.iter().all(|name| {
        let naming = || rules.iter().filter(|r| r.names().iter().any(|n| n == name));
        let denied = naming().any(|r| !passes(r.action()));
        let unconditional = naming().any(|r| r.args().as_ref().is_none_or(|a| a.is_empty()));
        !denied && (unconditional || passes(s.default_action()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: serde_json::Value) -> Spec {
        let mut base = serde_json::json!({
            "ociVersion": "1.2.0",
            "root": {"path": "rootfs"},
            "process": {"cwd": "/", "args": ["true"], "user": {"uid": 0, "gid": 0},
                "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                    "permitted": ["CAP_KILL"]}},
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
        });
        json_merge(&mut base, extra);
        serde_json::from_value(base).unwrap()
    }

    fn json_merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    json_merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    #[test]
    fn a_plain_container_uses_the_stub() {
        assert_eq!(refusal(&spec(serde_json::json!({})), None), None);
    }

    #[test]
    fn a_shared_or_missing_pid_namespace_refuses() {
        let joined = spec(serde_json::json!({"linux": {"namespaces": [
            {"type": "pid", "path": "/proc/1/ns/pid"}]}}));
        assert!(refusal(&joined, None).is_some());
        let host = spec(serde_json::json!({"linux": {"namespaces": [{"type": "mount"}]}}));
        assert!(refusal(&host, None).is_some());
    }

    #[test]
    fn sys_ptrace_refuses_unless_a_user_namespace() {
        let caps = serde_json::json!({"process": {"capabilities": {
            "bounding": ["CAP_SYS_PTRACE"]}}});
        assert!(refusal(&spec(caps.clone()), None).is_some());
        let mut with_userns = spec(caps);
        let linux = with_userns.linux().clone().unwrap();
        let mut ns = linux.namespaces().clone().unwrap();
        ns.push(serde_json::from_value(serde_json::json!({"type": "user"})).unwrap());
        let mut linux = linux;
        linux.set_namespaces(Some(ns));
        with_userns.set_linux(Some(linux));
        assert_eq!(refusal(&with_userns, None), None);
        // An exec'd process asking for it refuses too.
        let exec: Process = serde_json::from_value(serde_json::json!({"cwd": "/", "args": ["x"],
            "user": {"uid": 0, "gid": 0},
            "capabilities": {"ambient": ["CAP_SYS_PTRACE"]}}))
        .unwrap();
        assert!(refusal(&spec(serde_json::json!({})), Some(&exec)).is_some());
    }

    #[test]
    fn in_container_hooks_and_labels_refuse() {
        let hooks = spec(serde_json::json!({"hooks": {"startContainer": [{"path": "/x"}]}}));
        assert!(refusal(&hooks, None).is_some());
        let empty = spec(serde_json::json!({"hooks": {"startContainer": []}}));
        assert_eq!(refusal(&empty, None), None);
        let label = spec(serde_json::json!({"process": {"apparmorProfile": "p"}}));
        assert!(refusal(&label, None).is_some());
    }

    #[test]
    fn seccomp_must_let_the_stub_through() {
        let allow_all = serde_json::json!({"linux": {"seccomp": {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}}});
        assert_eq!(refusal(&spec(allow_all), None), None);
        let listed = serde_json::json!({"linux": {"seccomp": {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["execveat", "execve", "prctl", "fcntl", "write", "ppoll",
                "read", "nanosleep", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}}});
        assert_eq!(refusal(&spec(listed), None), None);
        let missing = serde_json::json!({"linux": {"seccomp": {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["execve", "prctl", "fcntl", "write"],
                "action": "SCMP_ACT_ALLOW"}]}}});
        assert!(refusal(&spec(missing), None).is_some());
        let conditional = serde_json::json!({"linux": {"seccomp": {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["execveat", "execve", "fcntl", "write"],
                "action": "SCMP_ACT_ALLOW"},
                {"names": ["prctl"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}}});
        assert!(refusal(&spec(conditional), None).is_some());
        let notified = serde_json::json!({"linux": {"seccomp": {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_NOTIFY"}]}}});
        assert!(refusal(&spec(notified), None).is_some());
    }

    #[test]
    fn the_stub_knows_the_handover_message() {
        let source = include_str!("../stub/exec-stub.c");
        let define = format!("#define HANDOVER {}\n", crate::process::sync::HANDOVER);
        assert!(source.contains(&define), "exec-stub.c must have {define:?}");
    }

    #[test]
    fn argv_carries_the_name_the_fd_and_the_path() {
        let fifo = std::fs::File::open("/dev/null").unwrap();
        let channel = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsRawFd;
        let keep = Keep::Wait {
            fifo: fifo.as_fd(),
            handover: channel.as_fd(),
        };
        let got = argv(
            &CString::new("runr").unwrap(),
            keep,
            &CString::new("/bin/sh").unwrap(),
            &[CString::new("sh").unwrap()],
        );
        let how = format!("w{}h{}", fifo.as_raw_fd(), channel.as_raw_fd());
        let want = ["runr", &how, "/bin/sh", "sh"];
        assert_eq!(
            got.iter().map(|c| c.to_str().unwrap()).collect::<Vec<_>>(),
            want
        );
    }
}
