//! The container's init process: how it is created (`clone`), what it runs (`init`) and how it
//! talks to the runtime that created it (`sync`).
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
#[non_exhaustive]
pub enum InitStep {
    /// Step: waiting for the runtime.
    WaitForParent,
    /// Step: joining linux.cgroupsPath.
    JoinCgroup,
    /// Step: joining `linux.namespaces[N]` (N: the list index).
    JoinNamespace(u32),
    /// Step: creating namespaces.
    Unshare,
    /// Step: becoming root in the user namespace.
    BecomeRoot,
    /// Step: setting linux.timeOffsets.
    TimeOffsets,
    /// Step: setting mount propagation.
    Propagation,
    /// Step: preparing root.path.
    BindRootfs,
    /// Step: `mounts[N]` (N: the list index).
    Mount(u32),
    /// Step: creating devices.
    Devices,
    /// Step: waiting for prestart/createRuntime hooks.
    WaitHooks,
    /// Step: `hooks.createContainer[N]` (N: the list index).
    CreateContainerHook(u32),
    /// Step: pivot_root.
    PivotRoot,
    /// Step: setting up the console (process.terminal).
    Console,
    /// Step: setting hostname.
    Hostname,
    /// Step: setting domainname.
    Domainname,
    /// Step: setting linux.sysctl.
    Sysctl,
    /// Step: `linux.readonlyPaths[N]` (N: the list index).
    ReadonlyPath(u32),
    /// Step: `linux.maskedPaths[N]` (N: the list index).
    MaskedPath(u32),
    /// Step: root.readonly.
    ReadonlyRoot,
    /// Step: linux.rootfsPropagation.
    RootPropagation,
    /// Step: process.oomScoreAdj.
    OomScoreAdj,
    /// Step: `process.rlimits[N]` (N: the list index).
    Rlimit(u32),
    /// Step: creating a session keyring.
    Keyring,
    /// Step: process.noNewPrivileges.
    NoNewPrivs,
    /// Step: process.user.
    User,
    /// Step: process.capabilities.
    Capabilities,
    /// Step: process.cwd.
    Cwd,
    /// Step: `process.args[0]`.
    FindExecutable,
    /// Step: reporting to the runtime.
    Report,
    /// Step: waiting for start.
    WaitStart,
    /// Step: `hooks.startContainer[N]` (N: the list index).
    StartContainerHook(u32),
    /// Step: exec.
    Exec,
    /// Step: linux.seccomp.
    Seccomp,
    /// Step: linux.personality.
    Personality,
    /// Step: process.scheduler.
    Scheduler,
    /// Step: process.ioPriority.
    IoPriority,
    /// Step: process.execCPUAffinity.
    CpuAffinity,
    /// Step: process.apparmorProfile.
    AppArmor,
    /// Step: process.selinuxLabel.
    SelinuxLabel,
    /// Step: setting up stdin, stdout and stderr.
    Stdio,
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
            Stdio => (40, 0),
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
            40 => Stdio,
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
            Stdio => write!(f, "setting up stdin, stdout and stderr"),
        }
    }
}

/// A failed init step.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StepError {
    /// Where it failed.
    pub step: InitStep,
    /// The syscall, its path and errno.
    pub source: SysError,
}

impl StepError {
    pub(crate) fn at(step: InitStep, source: SysError) -> StepError {
        StepError { step, source }
    }
}

/// A result of an init step.
pub type StepResult<T> = Result<T, StepError>;

/// Why the init's set-up stopped: a step's syscall, or a hook it ran (which has an exit status
/// and output rather than an errno).
#[derive(Debug, Clone)]
pub(crate) enum InitFailure {
    Step(StepError),
    Hook {
        step: InitStep,
        path: std::path::PathBuf,
        failure: crate::hooks::HookFailure,
    },
}

impl From<StepError> for InitFailure {
    fn from(e: StepError) -> Self {
        InitFailure::Step(e)
    }
}

/// Tags a syscall result with the init step it belongs to.
pub(crate) trait Tag<T> {
    fn tag(self, step: InitStep) -> StepResult<T>;
}

impl<T> Tag<T> for SysResult<T> {
    fn tag(self, step: InitStep) -> StepResult<T> {
        self.map_err(|source| StepError { step, source })
    }
}
