//! The sequence `scf apply` runs on a cluster: take the namespace's Lease, plan afresh,
//! check a saved plan against the fresh one (or show the fresh one and ask), carry out the
//! fresh plan (never objects or steps read from a file), and release the Lease. The CLI
//! and the tests call [`apply`] alike.

use super::apply::{ApplyOptions, Report, Step, execute};
use super::lease::{self, Lock};
use super::plan::{self, namespace};
use super::{Cluster, ClusterError};
use crate::artifact::Artifact;
use crate::compile::Compiled;
use crate::plan::{Plan, saved};
use crate::targets::kubernetes::{Object, objects};

/// What `scf apply` asks of a cluster.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The deployment.
    pub compiled: &'a Compiled,
    /// Its artifacts (for the inputs' hashes).
    pub artifacts: &'a [Artifact],
    /// A saved plan, applied only when the fresh plan matches it exactly; `None` asks.
    pub saved: Option<&'a Plan>,
    /// How the apply waits and fails.
    pub options: ApplyOptions,
}

/// Under the namespace's Lease (taken here, or by the apply once it has created the
/// namespace; released whatever happens): plans, checks or asks, and applies. `None` when
/// there was nothing to do. `approve` is shown a fresh plan (never a saved one) and
/// refuses it with an error.
pub async fn apply(
    cluster: &Cluster,
    request: Request<'_>,
    approve: &mut dyn FnMut(&Plan) -> Result<(), ClusterError>,
    log: &mut dyn FnMut(Step),
) -> Result<Option<Report>, ClusterError> {
    let ns = namespace(request.compiled)?;
    let mut lock =
        lease::acquire_if_namespace(cluster, ns, &lease::identity(), request.options.lease).await?;
    if let Some(holder) = lock.as_mut().and_then(|l| l.reclaimed.take()) {
        log(Step::Note(lease::took_over(ns, &holder)));
    }
    let result = locked(cluster, request, &mut lock, approve, log).await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    result
}

/// [`apply`] once the Lease is held, or the namespace does not exist yet.
async fn locked(
    cluster: &Cluster,
    request: Request<'_>,
    lock: &mut Option<Lock>,
    approve: &mut dyn FnMut(&Plan) -> Result<(), ClusterError>,
    log: &mut dyn FnMut(Step),
) -> Result<Option<Report>, ClusterError> {
    let opts = plan::Options {
        // A saved plan was made without secrets: the fresh one must be comparable.
        resolve_secrets: request.saved.is_none(),
        force_conflicts: request.options.force_conflicts,
        allow_data_loss: request.options.allow_data_loss,
    };
    let fresh = plan::plan(cluster, request.compiled, request.artifacts, opts).await?;
    match request.saved {
        Some(saved) => saved::check(saved, &fresh)?,
        None => approve(&fresh)?,
    }
    if !fresh.has_changes() {
        return Ok(None);
    }
    let order: Vec<String> = objects(&request.compiled.model)?
        .iter()
        .map(Object::address)
        .collect();
    let ns = namespace(request.compiled)?;
    execute(cluster, &fresh, &order, ns, request.options, lock, log)
        .await
        .map(Some)
}
