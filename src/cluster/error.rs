//! Why a Kubernetes plan or apply failed, in one enum for the whole cluster target; a leaf
//! that every other cluster module imports.

use crate::targets::kubernetes::ObjectError;

/// Why a Kubernetes plan or apply failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig could not be used.
    #[error("cannot use the kubeconfig {place}: {cause}; pass --kubeconfig FILE or --context NAME")]
    Kubeconfig {
        /// The file or `$KUBECONFIG`/`~/.kube/config`.
        place: String,
        /// Why.
        cause: String,
    },
    /// The API server did not answer.
    #[error(
        "cannot reach the Kubernetes API server {server} (context `{context}`) to {action}: {cause}; check that the cluster is up and that `kubectl --context {context} cluster-info` works, or pick another with --context/--kubeconfig"
    )]
    Unreachable {
        /// The kubeconfig context.
        context: String,
        /// Its server URL.
        server: String,
        /// What scf was doing.
        action: String,
        /// The client's error.
        cause: String,
    },
    /// The API server refused a request.
    #[error("the API server refused to {action}: {message} ({reason}, HTTP {code})")]
    Api {
        /// What scf was doing, naming the object.
        action: String,
        /// The server's message.
        message: String,
        /// The server's reason, e.g. `Forbidden`.
        reason: String,
        /// The HTTP status.
        code: u16,
    },
    /// Another field manager owns fields scf sets.
    #[error(
        "{address}: {message}; nothing was changed. Another tool (named above) set these fields; drop them from its changes, or pass --force-conflicts to make scf their owner"
    )]
    Conflict {
        /// The object.
        address: String,
        /// The server's conflict list.
        message: String,
    },
    /// Another apply holds the lock.
    #[error(transparent)]
    Lease(Box<Held>),
    /// The apply's Lease could not be renewed, so another apply may hold it now.
    #[error(
        "the apply lost its Lease {lease} ({cause}) and stopped before it would {next}; another apply may be running now. What this apply wrote so far stays: see where the cluster stands with `scf plan`, then apply again"
    )]
    LeaseLost {
        /// `NAMESPACE/NAME`.
        lease: String,
        /// Why the renewal failed.
        cause: String,
        /// The write it did not make.
        next: String,
    },
    /// The apply was interrupted (Ctrl-C) and stopped before it would do this.
    #[error("interrupted: the apply stopped before it would {0}")]
    Interrupted(String),
    /// A secret reference could not be resolved.
    #[error(transparent)]
    Secret(#[from] crate::secret::ResolveError),
    /// An object could not be built.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// A workload did not become ready.
    #[error("{0}")]
    Rollout(String),
    /// A saved plan is stale, or is not what apply would do.
    #[error(transparent)]
    SavedPlan(#[from] crate::plan::saved::Refused),
    /// The user declined, or could not be asked.
    #[error("{0}")]
    Refused(String),
    /// A plan or a live object is not what scf wrote; a bug or a foreign edit.
    #[error("{0}")]
    Malformed(String),
}

impl From<Held> for ClusterError {
    fn from(held: Held) -> Self {
        Self::Lease(Box::new(held))
    }
}

impl ClusterError {
    pub(super) fn malformed(what: impl std::fmt::Display) -> Self {
        Self::Malformed(format!("{what}; this is a bug in scf, please report it"))
    }
}

/// Another apply holds the lease.
#[derive(Debug, thiserror::Error)]
#[error(
    "another apply holds the Lease {namespace}/{lease}: {holder}, since {acquired}, last renewed {renewed}. Wait for it to finish. If that apply is gone, the lease expires by itself at {expires}, or break it now with `kubectl -n {namespace} delete lease {lease}`"
)]
pub struct Held {
    /// The namespace.
    pub namespace: String,
    /// The Lease's name.
    pub lease: String,
    /// Its holder's identity.
    pub holder: String,
    /// When it was taken.
    pub acquired: String,
    /// When it was last renewed.
    pub renewed: String,
    /// When it expires unless renewed.
    pub expires: String,
}
