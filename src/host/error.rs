//! Why a host plan or apply failed: one error for the whole host target, each variant
//! saying what was done and what is in place now.

use super::{lock, services};

/// Why a host plan or apply failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A file operation failed.
    #[error("cannot {action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A secret reference could not be resolved.
    #[error(transparent)]
    Secret(#[from] crate::secret::ResolveError),
    /// Another apply holds the lock.
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    /// The root is managed by another project.
    #[error(
        "{root} is managed by project `{owner}`, not `{ours}`; use another --root or the matching framework.toml"
    )]
    OtherProject {
        /// The root.
        root: String,
        /// The project recorded there.
        owner: String,
        /// This project.
        ours: String,
    },
    /// Installing the plan's packages failed; no file was written.
    #[error(
        "installing the packages failed, so no file was written: {0}\nhelp: fix the cause apt-get names, then run `scf apply` again"
    )]
    Install(services::CommandFailed),
    /// A staged file failed validation; nothing was changed.
    #[error("the new files failed validation, nothing was changed:\n{0}")]
    Invalid(services::CommandFailed),
    /// Applying failed; the previous generation was restored.
    #[error("apply failed and generation {restored} was restored: {cause}")]
    RolledBack {
        /// The generation now in place.
        restored: u64,
        /// What failed.
        cause: String,
    },
    /// Applying failed, and so did restoring the previous generation.
    #[error(
        "apply failed ({cause}), and restoring generation {generation} failed too ({restore}); run `scf rollback --to {generation}` once the cause is fixed"
    )]
    RollbackFailed {
        /// The generation that could not be restored.
        generation: u64,
        /// What failed first.
        cause: String,
        /// What failed while restoring.
        restore: String,
    },
}

impl HostError {
    /// An I/O error while doing `action`.
    pub fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}
