//! The Kubernetes target of plan and apply: the objects of
//! [`crate::targets::kubernetes::objects`] against a live cluster, in the same [`Plan`](crate::plan::Plan)
//! format as the host.
//!
//! A plan asks the API server what each object would become (server-side apply,
//! `dryRun=All`, field manager [`FIELD_MANAGER`]) and diffs that against the live object,
//! without the fields the server owns ([`view`]). Objects scf applied before and no longer
//! wants come from an inventory kept in the namespace ([`inventory`]) and are deleted last.
//! An apply holds a Lease ([`lease`]), plans afresh and checks a saved plan against it
//! ([`sequence`]), applies in dependency order, fills the Secret from
//! its references, waits for each workload ([`rollout`]) and on failure names the object,
//! its failing condition, its events and its failing pod's last log lines.
//!
//! Every call goes through a [`Cluster`], which wraps a `kube::Client`: tests build one on
//! a mock API server.

pub mod apply;
pub mod cancel;
pub mod connect;
mod error;
pub mod inventory;
pub mod lease;
pub mod plan;
pub mod rollout;
pub mod sequence;
pub mod view;

pub use cancel::Cancel;
pub use connect::{Cluster, ConnectOptions};
pub use error::{ClusterError, Held};

/// The field manager of every object scf applies.
pub const FIELD_MANAGER: &str = "scf";
/// The field manager of the Secret's values, apart so a plan (which never sees the values)
/// leaves them alone.
pub const SECRET_FIELD_MANAGER: &str = "scf-secrets";
/// Annotation on a Job as applied: the digest of its spec, to tell whether it must be
/// replaced (a Job's pod template cannot change in place).
pub const SPEC_DIGEST_ANNOTATION: &str = "scf.dev/spec-digest";
