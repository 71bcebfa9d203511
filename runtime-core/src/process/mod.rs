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

/// One table for every init step: its wire code, its variant (with the list index of a mount,
/// path, rlimit or hook when it has one) and how messages name it. The enum, the wire form both
/// ways and the names are all generated from it, so they cannot drift apart.
macro_rules! init_steps {
    ($($code:literal $variant:ident $(($i:ident))? => $text:literal,)*) => {
        /// Where in the init's set-up something failed. The index of a list entry (mount, path,
        /// rlimit, hook) is kept so the message can point at the config field.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum InitStep {
            $(#[doc = concat!("Step: `", $text, "`.")] $variant $((init_steps!(@index_type $i)))?,)*
        }

        impl InitStep {
            /// Wire form: (step code, list index).
            pub(crate) fn encode(self) -> (u16, u32) {
                match self {
                    $(InitStep::$variant $(($i))? => ($code, init_steps!(@index $($i)?)),)*
                }
            }

            /// Back from the wire form; `None` for a code this binary never sends.
            pub(crate) fn decode(code: u16, index: u32) -> Option<InitStep> {
                match code {
                    $($code => Some(InitStep::$variant $(({ let $i = index; $i }))?),)*
                    _ => None,
                }
            }

            /// Every step, each indexed one with `index`: for tests that must cover them all.
            #[cfg(test)]
            pub(crate) fn all(index: u32) -> Vec<InitStep> {
                vec![$(InitStep::$variant $(({ let $i = index; $i }))?,)*]
            }
        }

        impl fmt::Display for InitStep {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(InitStep::$variant $(($i))? => write!(f, $text),)*
                }
            }
        }
    };
    (@index_type $i:ident) => { u32 };
    (@index $i:ident) => { $i };
    (@index) => { 0 };
}

init_steps! {
    0 WaitForParent => "waiting for the runtime",
    1 JoinNamespace(i) => "joining linux.namespaces[{i}]",
    2 Unshare => "creating namespaces",
    3 BecomeRoot => "becoming root in the user namespace",
    4 TimeOffsets => "setting linux.timeOffsets",
    5 Propagation => "setting mount propagation",
    6 BindRootfs => "preparing root.path",
    7 Mount(i) => "mounts[{i}]",
    8 Devices => "creating devices",
    9 WaitHooks => "waiting for prestart/createRuntime hooks",
    10 CreateContainerHook(i) => "hooks.createContainer[{i}]",
    11 PivotRoot => "pivot_root",
    12 Console => "setting up the console (process.terminal)",
    13 Hostname => "setting hostname",
    14 Domainname => "setting domainname",
    15 Sysctl => "setting linux.sysctl",
    16 ReadonlyPath(i) => "linux.readonlyPaths[{i}]",
    17 MaskedPath(i) => "linux.maskedPaths[{i}]",
    18 ReadonlyRoot => "root.readonly",
    19 RootPropagation => "linux.rootfsPropagation",
    20 OomScoreAdj => "process.oomScoreAdj",
    21 Rlimit(i) => "process.rlimits[{i}]",
    22 Keyring => "creating a session keyring",
    23 NoNewPrivs => "process.noNewPrivileges",
    24 User => "process.user",
    25 Capabilities => "process.capabilities",
    26 Cwd => "process.cwd",
    27 FindExecutable => "process.args[0]",
    28 Report => "reporting to the runtime",
    29 WaitStart => "waiting for start",
    30 StartContainerHook(i) => "hooks.startContainer[{i}]",
    31 Exec => "exec",
    32 Seccomp => "linux.seccomp",
    33 Personality => "linux.personality",
    34 Scheduler => "process.scheduler",
    35 IoPriority => "process.ioPriority",
    36 CpuAffinity => "process.execCPUAffinity",
    37 AppArmor => "process.apparmorProfile",
    38 SelinuxLabel => "process.selinuxLabel",
    39 JoinCgroup => "joining linux.cgroupsPath",
    40 Stdio => "setting up stdin, stdout and stderr",
    41 MemoryPolicy => "linux.memoryPolicy",
    42 NetDevices => "waiting for linux.netDevices",
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
