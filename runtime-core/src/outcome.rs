//! What `start` and `delete` report besides success: the warnings of an operation that
//! succeeded (the spec makes poststart and poststop hook failures warnings, and a cgroup other
//! processes still use is left to them).

use std::path::PathBuf;

use crate::hooks::{HookFailure, HookKind};

/// A problem that did not fail the operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Warning {
    /// A poststop hook failed; the others still ran (runtime-spec "Lifecycle"; a failing
    /// poststart hook fails `start` instead).
    #[error("{} hook #{index} ({}): {failure}", kind.name(), path.display())]
    Hook {
        /// The hook list (`poststop`).
        kind: HookKind,
        /// The hook's index in that list.
        index: usize,
        /// Its `path`.
        path: PathBuf,
        /// How it failed.
        failure: HookFailure,
    },
    /// The container's cgroup still holds processes that are not the container's (a cgroup
    /// shared with another container): it was left to them, as runc leaves it
    /// ([`cgroups::Error::InUse`]).
    #[error(transparent)]
    CgroupInUse(cgroups::Error),
}

/// The result of an operation that succeeded, with the warnings it produced (none, usually).
#[derive(Debug, Default)]
#[must_use = "an outcome may carry warnings to report"]
#[non_exhaustive]
pub struct Outcome {
    /// The warnings, in the order they arose.
    pub warnings: Vec<Warning>,
}

impl Outcome {
    /// An outcome with these warnings.
    pub(crate) fn with(warnings: Vec<Warning>) -> Outcome {
        Outcome { warnings }
    }

    /// Whether the operation produced no warning.
    pub fn is_clean(&self) -> bool {
        self.warnings.is_empty()
    }
}
