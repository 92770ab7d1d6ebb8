//! The Kubernetes target of plan and apply: the objects of
//! [`crate::targets::kubernetes::objects`] against a live cluster, in the same [`Plan`]
//! format as the host.
//!
//! A plan asks the API server what each object would become (server-side apply,
//! `dryRun=All`, field manager [`FIELD_MANAGER`]) and diffs that against the live object,
//! without the fields the server owns ([`view`]). Objects scf applied before and no longer
//! wants come from an inventory kept in the namespace ([`inventory`]) and are deleted last.
//! An apply holds a Lease ([`lease`]), applies in dependency order, fills the Secret from
//! its references, waits for each workload ([`rollout`]) and on failure names the object,
//! its failing condition, its events and its failing pod's last log lines.
//!
//! Every call goes through a [`Cluster`], which wraps a `kube::Client`: tests build one on
//! a mock API server.

pub mod apply;
pub mod connect;
pub mod inventory;
pub mod lease;
pub mod plan;
pub mod rollout;
pub mod view;

pub use connect::{Cluster, ConnectOptions};

use crate::targets::kubernetes::ObjectError;

/// The field manager of every object scf applies.
pub const FIELD_MANAGER: &str = "scf";
/// The field manager of the Secret's values, apart so a plan (which never sees the values)
/// leaves them alone.
pub const SECRET_FIELD_MANAGER: &str = "scf-secrets";

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
    Lease(#[from] lease::Held),
    /// A secret reference could not be resolved.
    #[error(transparent)]
    Secret(#[from] crate::secret::ResolveError),
    /// An object could not be built.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// A workload did not become ready.
    #[error("{0}")]
    Rollout(String),
    /// A saved plan no longer matches the cluster or its inputs.
    #[error(transparent)]
    Stale(#[from] crate::plan::Stale),
    /// The user declined, or could not be asked.
    #[error("{0}")]
    Refused(String),
    /// A plan or a live object is not what scf wrote; a bug or a foreign edit.
    #[error("{0}")]
    Malformed(String),
}

impl ClusterError {
    fn malformed(what: impl std::fmt::Display) -> Self {
        Self::Malformed(format!("{what}; this is a bug in scf, please report it"))
    }
}
