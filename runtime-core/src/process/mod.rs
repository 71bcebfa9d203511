//! The container's init process: how it is created ([`clone`]), what it runs ([`init`]) and how it
//! talks to the runtime that created it ([`sync`]).
//!
//! Errors in the init are typed: an [`InitStep`] (where) plus a [`SysError`] (what), and cross
//! the fork boundary in that form, so the parent reports exactly what the child saw.

pub(crate) mod clone;
pub(crate) mod finish;
pub(crate) mod init;
pub(crate) mod sync;
pub(crate) mod tenant;

use std::fmt;

use crate::sys::{SysError, SysResult};

/// Where in the init's set-up something failed. The index of a list entry (mount, path, rlimit,
/// hook) is kept so the message can point at the config field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitStep {
    WaitForParent,
    JoinCgroup,
    JoinNamespace(u32),
    Unshare,
    BecomeRoot,
    TimeOffsets,
    Propagation,
    BindRootfs,
    Mount(u32),
    Devices,
    WaitHooks,
    CreateContainerHook(u32),
    PivotRoot,
    Console,
    Hostname,
    Domainname,
    Sysctl,
    ReadonlyPath(u32),
    MaskedPath(u32),
    ReadonlyRoot,
    RootPropagation,
    OomScoreAdj,
    Rlimit(u32),
    Keyring,
    NoNewPrivs,
    User,
    Capabilities,
    Cwd,
    FindExecutable,
    Report,
    WaitStart,
    StartContainerHook(u32),
    Exec,
    Seccomp,
    Personality,
    Scheduler,
    IoPriority,
    CpuAffinity,
    AppArmor,
    SelinuxLabel,
    MemoryPolicy,
}

impl InitStep {
    /// Wire form: (step code, list index).
    pub(crate) fn encode(self) -> (u16, u32) {
        use InitStep::*;
        match self {
            WaitForParent => (0, 0),
            JoinNamespace(i) => (1, i),
            Unshare => (2, 0),
            BecomeRoot => (3, 0),
            TimeOffsets => (4, 0),
            Propagation => (5, 0),
            BindRootfs => (6, 0),
            Mount(i) => (7, i),
            Devices => (8, 0),
            WaitHooks => (9, 0),
            CreateContainerHook(i) => (10, i),
            PivotRoot => (11, 0),
            Console => (12, 0),
            Hostname => (13, 0),
            Domainname => (14, 0),
            Sysctl => (15, 0),
            ReadonlyPath(i) => (16, i),
            MaskedPath(i) => (17, i),
            ReadonlyRoot => (18, 0),
            RootPropagation => (19, 0),
            OomScoreAdj => (20, 0),
            Rlimit(i) => (21, i),
            Keyring => (22, 0),
            NoNewPrivs => (23, 0),
            User => (24, 0),
            Capabilities => (25, 0),
            Cwd => (26, 0),
            FindExecutable => (27, 0),
            Report => (28, 0),
            WaitStart => (29, 0),
            StartContainerHook(i) => (30, i),
            Exec => (31, 0),
            Seccomp => (32, 0),
            Personality => (33, 0),
            Scheduler => (34, 0),
            IoPriority => (35, 0),
            CpuAffinity => (36, 0),
            AppArmor => (37, 0),
            SelinuxLabel => (38, 0),
            JoinCgroup => (39, 0),
            MemoryPolicy => (40, 0),
        }
    }

    pub(crate) fn decode(code: u16, i: u32) -> InitStep {
        use InitStep::*;
        match code {
            1 => JoinNamespace(i),
            2 => Unshare,
            3 => BecomeRoot,
            4 => TimeOffsets,
            5 => Propagation,
            6 => BindRootfs,
            7 => Mount(i),
            8 => Devices,
            9 => WaitHooks,
            10 => CreateContainerHook(i),
            11 => PivotRoot,
            12 => Console,
            13 => Hostname,
            14 => Domainname,
            15 => Sysctl,
            16 => ReadonlyPath(i),
            17 => MaskedPath(i),
            18 => ReadonlyRoot,
            19 => RootPropagation,
            20 => OomScoreAdj,
            21 => Rlimit(i),
            22 => Keyring,
            23 => NoNewPrivs,
            24 => User,
            25 => Capabilities,
            26 => Cwd,
            27 => FindExecutable,
            28 => Report,
            29 => WaitStart,
            30 => StartContainerHook(i),
            31 => Exec,
            32 => Seccomp,
            33 => Personality,
            34 => Scheduler,
            35 => IoPriority,
            36 => CpuAffinity,
            37 => AppArmor,
            38 => SelinuxLabel,
            39 => JoinCgroup,
            40 => MemoryPolicy,
            _ => WaitForParent,
        }
    }
}

impl fmt::Display for InitStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use InitStep::*;
        match self {
            WaitForParent => write!(f, "waiting for the runtime"),
            JoinCgroup => write!(f, "joining linux.cgroupsPath"),
            JoinNamespace(i) => write!(f, "joining linux.namespaces[{i}]"),
            Unshare => write!(f, "creating namespaces"),
            BecomeRoot => write!(f, "becoming root in the user namespace"),
            TimeOffsets => write!(f, "setting linux.timeOffsets"),
            Propagation => write!(f, "setting mount propagation"),
            BindRootfs => write!(f, "preparing root.path"),
            Mount(i) => write!(f, "mounts[{i}]"),
            Devices => write!(f, "creating devices"),
            WaitHooks => write!(f, "waiting for prestart/createRuntime hooks"),
            CreateContainerHook(i) => write!(f, "hooks.createContainer[{i}]"),
            PivotRoot => write!(f, "pivot_root"),
            Console => write!(f, "setting up the console (process.terminal)"),
            Hostname => write!(f, "setting hostname"),
            Domainname => write!(f, "setting domainname"),
            Sysctl => write!(f, "setting linux.sysctl"),
            ReadonlyPath(i) => write!(f, "linux.readonlyPaths[{i}]"),
            MaskedPath(i) => write!(f, "linux.maskedPaths[{i}]"),
            ReadonlyRoot => write!(f, "root.readonly"),
            RootPropagation => write!(f, "linux.rootfsPropagation"),
            OomScoreAdj => write!(f, "process.oomScoreAdj"),
            Rlimit(i) => write!(f, "process.rlimits[{i}]"),
            Keyring => write!(f, "creating a session keyring"),
            NoNewPrivs => write!(f, "process.noNewPrivileges"),
            User => write!(f, "process.user"),
            Capabilities => write!(f, "process.capabilities"),
            Cwd => write!(f, "process.cwd"),
            FindExecutable => write!(f, "process.args[0]"),
            Report => write!(f, "reporting to the runtime"),
            WaitStart => write!(f, "waiting for start"),
            StartContainerHook(i) => write!(f, "hooks.startContainer[{i}]"),
            Exec => write!(f, "exec"),
            Seccomp => write!(f, "linux.seccomp"),
            Personality => write!(f, "linux.personality"),
            Scheduler => write!(f, "process.scheduler"),
            IoPriority => write!(f, "process.ioPriority"),
            CpuAffinity => write!(f, "process.execCPUAffinity"),
            AppArmor => write!(f, "process.apparmorProfile"),
            SelinuxLabel => write!(f, "process.selinuxLabel"),
            MemoryPolicy => write!(f, "linux.memoryPolicy"),
        }
    }
}

/// A failed init step.
#[derive(Debug, Clone)]
pub struct StepError {
    pub step: InitStep,
    pub source: SysError,
}

pub type StepResult<T> = Result<T, StepError>;

/// Tags a syscall result with the init step it belongs to.
pub(crate) trait Tag<T> {
    fn tag(self, step: InitStep) -> StepResult<T>;
}

impl<T> Tag<T> for SysResult<T> {
    fn tag(self, step: InitStep) -> StepResult<T> {
        self.map_err(|source| StepError { step, source })
    }
}
