//! Carrying out a cluster plan, in dependency order: the Namespace (then the Lease, if
//! the namespace was new), configuration with the Secret's values filled from their
//! references, storage, the migration Job (replaced when it changed, and waited for),
//! the Deployment and what routes to it. Each changed workload is waited for. On failure,
//! `--atomic` puts the changed workloads back on their previous pod template (what
//! `kubectl rollout undo` does), the changed ConfigMaps and Secrets on their previous
//! data, and deletes what this apply created; a failed first apply removes everything it
//! created. Prunes come last, then the inventory records what is there.

use super::inventory::{self, Entry};
use super::lease::{self, Lock};
use super::plan::{FORCE_HINT, conflict_or, digest_of, secret_refs};
use super::rollout::{self, Kind, Wait};
use super::{Cancel, Cluster, ClusterError, FIELD_MANAGER, SECRET_FIELD_MANAGER};
use crate::plan::{Action, Change, Desired, Plan};
use crate::secret;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

mod undo;

/// How an apply behaves.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// How long each workload may take, and how often to look.
    pub wait: Wait,
    /// Roll the changed workloads back when one fails.
    pub atomic: bool,
    /// Take the fields other field managers own.
    pub force_conflicts: bool,
    /// How long the apply's Lease lasts unrenewed ([`lease::DURATION`]); it is renewed
    /// every third of that.
    pub lease: Duration,
    /// Let a removed tenant go (`--allow-data-loss`).
    pub allow_data_loss: bool,
    /// Stops the apply at its next step (Ctrl-C), which then cleans up as a failed one.
    pub cancel: Cancel,
}

/// A step of an apply, for progress output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object was created, updated or deleted.
    Done(Action, String),
    /// A workload is not ready yet: what it waits for.
    Waiting(String, String),
    /// A workload is ready.
    Ready(String),
    /// A workload was rolled back (`--atomic`).
    RolledBack(String),
    /// A note, e.g. an expired lease taken over.
    Note(String),
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Addresses created or updated, in order.
    pub applied: Vec<String>,
    /// Addresses deleted.
    pub pruned: Vec<String>,
}

/// One object to act on, from its plan entry.
struct Target<'a> {
    change: &'a Change,
    entry: Entry,
    value: Option<&'a Value>,
    api: Api<DynamicObject>,
}

impl<'a> Target<'a> {
    fn of(cluster: &Cluster, change: &'a Change) -> Result<Self, ClusterError> {
        let entry = entry_of(&change.address)?;
        let resource = entry
            .api_resource()
            .ok_or_else(|| ClusterError::malformed(format!("{}: unknown kind", change.address)))?;
        let value = match &change.desired {
            Some(Desired::Json { value }) => Some(value),
            _ => None,
        };
        if value.is_none() && change.action != Action::Delete {
            return Err(ClusterError::malformed(format!(
                "{}: the plan has no object to apply",
                change.address
            )));
        }
        let api = cluster.api(&resource, entry.namespace.as_deref());
        Ok(Self {
            change,
            entry,
            value,
            api,
        })
    }
}

/// The entry an address names: `k8s:API_VERSION/KIND/[NAMESPACE/]NAME`, where the
/// core group's version is plain `v1`.
pub fn entry_of(address: &str) -> Result<Entry, ClusterError> {
    let bad = || ClusterError::malformed(format!("`{address}` is not a Kubernetes address"));
    let rest = address.strip_prefix("k8s:").ok_or_else(bad)?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (api_version, rest) = match parts.as_slice() {
        ["v1", rest @ ..] => ("v1".to_string(), rest),
        [group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return Err(bad()),
    };
    let (kind, namespace, name) = match rest {
        [kind, name] => (kind, None, name),
        [kind, ns, name] => (kind, Some(ns.to_string()), name),
        _ => return Err(bad()),
    };
    Ok(Entry {
        api_version,
        kind: kind.to_string(),
        namespace,
        name: name.to_string(),
    })
}

/// Whether a change is of a Kubernetes object (not a tenant, which the tenants Job and
/// the inventory carry).
fn is_object(c: &Change) -> bool {
    !c.address.starts_with(crate::plan::tenants::PREFIX)
}

/// Deletes come last, workloads before what they read.
fn delete_rank(kind: &str) -> usize {
    const ORDER: &[&str] = &[
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Deployment",
        "Service",
        "Job",
        "StatefulSet",
        "NetworkPolicy",
        "ConfigMap",
        "Secret",
    ];
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

/// The kinds `--atomic` puts back: workloads on their previous pod template, what they
/// read on its previous data, and a replaced Job as it was (see [`Run::restore_job`]).
const RESTORED: &[&str] = &["Deployment", "StatefulSet", "ConfigMap", "Secret", "Job"];

/// The state an apply carries along.
struct Run<'a> {
    cluster: &'a Cluster,
    plan: &'a Plan,
    namespace: &'a str,
    opts: ApplyOptions,
    lock: &'a mut Option<Lock>,
    inventory: Option<inventory::Inventory>,
    /// No apply recorded anything in the namespace before this one.
    first: bool,
    /// Workloads changed so far, with their live object before (`None`: created).
    touched: Vec<(String, Option<Value>)>,
    report: Report,
}

/// Applies `plan` (already checked fresh). `order` is every desired address in apply
/// order; `lock` is taken here when the namespace is new, and left for the caller to
/// release.
pub async fn execute(
    cluster: &Cluster,
    plan: &Plan,
    order: &[String],
    namespace: &str,
    opts: ApplyOptions,
    lock: &mut Option<Lock>,
    log: &mut dyn FnMut(Step),
) -> Result<Report, ClusterError> {
    if let Some(c) = plan.changes.iter().find(|c| c.blocked.is_some()) {
        let reason = c.blocked.clone().unwrap_or_default();
        return Err(ClusterError::Conflict {
            address: c.address.clone(),
            message: reason.trim_end_matches(FORCE_HINT).to_string(),
        });
    }
    let rank = |a: &str| order.iter().position(|o| o == a).unwrap_or(order.len());
    let mut applies: Vec<&Change> = plan
        .effective()
        .filter(|c| c.action != Action::Delete && is_object(c))
        .collect();
    applies.sort_by_key(|c| rank(&c.address));
    let mut run = Run {
        cluster,
        plan,
        namespace,
        opts,
        lock,
        inventory: None,
        first: false,
        touched: Vec::new(),
        report: Report::default(),
    };
    let result = run.apply_all(&applies, log).await;
    if let Err(cause) = result {
        let cause = run.undo(cause, log).await;
        return Err(run.remove_first(cause, log).await);
    }
    run.prune(log).await?;
    run.record().await?;
    Ok(run.report)
}

impl Run<'_> {
    async fn apply_all(
        &mut self,
        applies: &[&Change],
        log: &mut dyn FnMut(Step),
    ) -> Result<(), ClusterError> {
        for change in applies {
            let target = Target::of(self.cluster, change)?;
            if target.entry.namespace.is_some() {
                self.lock_and_record(log).await?;
            }
            self.go_on(&format!("apply {}", change.address))?;
            let kind = Kind::of(&target.entry.kind);
            if self.opts.atomic && RESTORED.contains(&target.entry.kind.as_str()) {
                let before = target
                    .api
                    .get_opt(&target.entry.name)
                    .await
                    .map_err(|e| self.cluster.fail(format!("read {}", change.address), e))?;
                let before = before.and_then(|b| serde_json::to_value(b).ok());
                self.touched.push((change.address.clone(), before));
            }
            if kind == Some(Kind::Job) && change.action == Action::Update {
                self.remove_job(&target).await?;
            }
            let written = Timestamp::now();
            self.apply_one(&target).await?;
            log(Step::Done(change.action, change.address.clone()));
            self.report.applied.push(change.address.clone());
            if let Some(kind) = kind {
                self.wait(&target, kind, written, log).await?;
            }
        }
        self.lock_and_record(log).await
    }

    /// Takes the lease (if the caller could not, the namespace being new) and records the
    /// union of the inventory and the plan's objects, once.
    async fn lock_and_record(&mut self, log: &mut dyn FnMut(Step)) -> Result<(), ClusterError> {
        if self.inventory.is_some() {
            return Ok(());
        }
        if self.lock.is_none() {
            let identity = lease::identity();
            let lock =
                lease::acquire(self.cluster, self.namespace, &identity, self.opts.lease).await?;
            *self.lock = Some(lock);
        }
        if let Some(holder) = self.lock.as_mut().and_then(|l| l.reclaimed.take()) {
            log(Step::Note(lease::took_over(self.namespace, &holder)));
        }
        let mut inventory = inventory::read(self.cluster, self.namespace).await?;
        self.held("write the inventory")?;
        self.first = inventory.entries.is_empty();
        for c in &self.plan.changes {
            if c.desired.is_some() {
                inventory.entries.insert(entry_of(&c.address)?);
            }
        }
        inventory::write(
            self.cluster,
            self.namespace,
            &self.plan.project,
            &mut inventory,
        )
        .await?;
        self.inventory = Some(inventory);
        Ok(())
    }

    /// Fails once the Lease could not be renewed: `next` is the write about to be made.
    fn held(&self, next: &str) -> Result<(), ClusterError> {
        self.lock.as_ref().map_or(Ok(()), |lock| lock.check(next))
    }

    /// [`Run::held`], and not interrupted: the check before each write of the apply proper
    /// (clean-up writes check only the Lease).
    fn go_on(&self, next: &str) -> Result<(), ClusterError> {
        if self.opts.cancel.is_cancelled() {
            return Err(ClusterError::Interrupted(next.to_string()));
        }
        self.held(next)
    }

    async fn apply_one(&self, target: &Target<'_>) -> Result<(), ClusterError> {
        let Some(value) = target.value else {
            return Ok(());
        };
        let address = &target.change.address;
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.force = self.opts.force_conflicts;
        target
            .api
            .patch(&target.entry.name, &params, &Patch::Apply(value))
            .await
            .map_err(|e| conflict_or(self.cluster, address, "apply", e))?;
        if target.entry.kind == "Secret" {
            self.fill_secret(target, value).await?;
        }
        Ok(())
    }

    /// Writes the Secret's values, resolved now, under their own field manager.
    async fn fill_secret(&self, target: &Target<'_>, value: &Value) -> Result<(), ClusterError> {
        let refs = secret_refs(value)?;
        if refs.is_empty() {
            return Ok(());
        }
        let mut data = BTreeMap::new();
        for (key, r) in refs {
            data.insert(
                key,
                ByteString(secret::resolve(&r)?.expose().as_bytes().to_vec()),
            );
        }
        self.write_values(target, data).await
    }

    /// Writes a Secret's values under their own field manager.
    async fn write_values(
        &self,
        target: &Target<'_>,
        data: BTreeMap<String, ByteString>,
    ) -> Result<(), ClusterError> {
        let values = Secret {
            metadata: ObjectMeta {
                name: Some(target.entry.name.clone()),
                namespace: target.entry.namespace.clone(),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..Secret::default()
        };
        let body = serde_json::to_value(&values)
            .map_err(|e| ClusterError::malformed(format!("the Secret's values: {e}")))?;
        target
            .api
            .patch(
                &target.entry.name,
                &PatchParams::apply(SECRET_FIELD_MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|e| {
                self.cluster
                    .fail(format!("write the values of {}", target.change.address), e)
            })?;
        Ok(())
    }

    /// Deletes a Job whose spec changed and waits until it is gone.
    async fn remove_job(&self, target: &Target<'_>) -> Result<(), ClusterError> {
        let address = &target.change.address;
        let fail = |e| self.cluster.fail(format!("replace {address}"), e);
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match target.api.delete(&target.entry.name, &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(fail(e)),
        }
        let start = Instant::now();
        while target
            .api
            .get_opt(&target.entry.name)
            .await
            .map_err(fail)?
            .is_some()
        {
            if start.elapsed() > self.opts.wait.timeout {
                return Err(ClusterError::Rollout(format!(
                    "{address}: the old Job was not gone within {}; check its finalizers",
                    humantime::format_duration(self.opts.wait.timeout)
                )));
            }
            tokio::time::sleep(self.opts.wait.poll).await;
        }
        Ok(())
    }

    async fn wait(
        &mut self,
        target: &Target<'_>,
        kind: Kind,
        written: Timestamp,
        log: &mut dyn FnMut(Step),
    ) -> Result<(), ClusterError> {
        let address = target.change.address.clone();
        let namespace = target.entry.namespace.as_deref().unwrap_or(self.namespace);
        let mut progress = |status: &str| {
            log(Step::Waiting(address.clone(), status.to_string()));
        };
        let waited = rollout::wait(
            self.cluster,
            kind,
            namespace,
            &target.entry.name,
            self.opts.wait,
            written,
            &mut progress,
        );
        tokio::select! {
            done = waited => done?,
            () = self.opts.cancel.cancelled() => {
                return Err(ClusterError::Interrupted(format!("wait for {address}")));
            }
        }
        log(Step::Ready(address.clone()));
        if kind == Kind::Job
            && let (Some(inventory), Some(digest)) =
                (self.inventory.as_mut(), target.value.and_then(digest_of))
        {
            inventory.ran.insert(address, digest.to_string());
        }
        Ok(())
    }

    /// Deletes an object (gone already is fine); `verb` names the deletion in errors.
    async fn delete(&self, target: &Target<'_>, verb: &str) -> Result<(), ClusterError> {
        let address = &target.change.address;
        match target
            .api
            .delete(&target.entry.name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(self.cluster.fail(format!("{verb} {address}"), e)),
        }
    }

    /// Deletes what the plan prunes, workloads before what they read.
    async fn prune(&mut self, log: &mut dyn FnMut(Step)) -> Result<(), ClusterError> {
        let mut deletes: Vec<(usize, &Change)> = self
            .plan
            .effective()
            .filter(|c| c.action == Action::Delete && is_object(c))
            .map(|c| Ok((delete_rank(&entry_of(&c.address)?.kind), c)))
            .collect::<Result<_, ClusterError>>()?;
        if deletes.is_empty() {
            return Ok(());
        }
        self.lock_and_record(log).await?;
        deletes.sort_by(|a, b| (a.0, &a.1.address).cmp(&(b.0, &b.1.address)));
        for (_, change) in deletes {
            let target = Target::of(self.cluster, change)?;
            self.held(&format!("prune {}", change.address))?;
            self.delete(&target, "prune").await?;
            log(Step::Done(Action::Delete, change.address.clone()));
            self.report.pruned.push(change.address.clone());
            if let Some(inventory) = self.inventory.as_mut() {
                inventory.entries.remove(&target.entry);
                inventory.ran.remove(&change.address);
            }
        }
        Ok(())
    }

    /// Records exactly the desired objects, what the Jobs ran, and the tenants: the
    /// tenants Job, waited for, provisioned every tenant the plan keeps.
    async fn record(&mut self) -> Result<(), ClusterError> {
        let Some(mut inventory) = self.inventory.take() else {
            return Ok(());
        };
        inventory.tenants = self
            .plan
            .changes
            .iter()
            .filter(|c| c.action != Action::Delete)
            .filter_map(|c| c.address.strip_prefix(crate::plan::tenants::PREFIX))
            .map(str::to_string)
            .collect();
        self.held("write the inventory")?;
        inventory.entries = self
            .plan
            .changes
            .iter()
            .filter(|c| c.desired.is_some())
            .map(|c| entry_of(&c.address))
            .collect::<Result<_, _>>()?;
        inventory::write(
            self.cluster,
            self.namespace,
            &self.plan.project,
            &mut inventory,
        )
        .await
    }
}

/// The poll interval of a real apply.
pub const POLL: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_back_to_entries() {
        let e = entry_of("k8s:apps/v1/Deployment/ns/framework").unwrap();
        assert_eq!(
            (
                e.api_version.as_str(),
                e.kind.as_str(),
                e.namespace.as_deref(),
                e.name.as_str()
            ),
            ("apps/v1", "Deployment", Some("ns"), "framework")
        );
        assert_eq!(e.address(), "k8s:apps/v1/Deployment/ns/framework");
        let ns = entry_of("k8s:v1/Namespace/ns").unwrap();
        assert_eq!((ns.namespace, ns.name.as_str()), (None, "ns"));
        let cm = entry_of("k8s:v1/ConfigMap/ns/c").unwrap();
        assert_eq!(cm.address(), "k8s:v1/ConfigMap/ns/c");
        assert!(entry_of("file:/etc/x").is_err());
    }
}
