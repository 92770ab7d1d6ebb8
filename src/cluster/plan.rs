//! The cluster plan: each desired object sent to the API server as a server-side apply
//! dry run and compared with the live object ([`super::view`]); the migration Job judged by
//! what it last ran; what scf applied before and no longer wants, found in the
//! inventory and by scf's labels, as deletes; and the tenants, `[[tenants]]` against
//! those the inventory records as provisioned (see [`crate::plan::tenants`]).

use super::inventory::{self, Entry, Inventory};
use super::view::{self, mask_secret, normalise};
use super::{Cluster, ClusterError, FIELD_MANAGER, SPEC_DIGEST_ANNOTATION};
use crate::artifact::Artifact;
use crate::compile::Compiled;
use crate::config::values::SecretRef;
use crate::plan::mask;
use crate::plan::{Action, Change, Desired, FORMAT_VERSION, Plan, Step, sha256_tag};
use crate::secret;
use crate::targets::kubernetes::{
    self as k8s, INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, Object, SECRET_REFS_ANNOTATION,
};
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The end of a conflict's reason in a plan.
pub const FORCE_HINT: &str = "; pass --force-conflicts to take these fields over";

/// How a plan treats secrets and other field managers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Resolve secret references, to compare the Secret's values by fingerprint (apply).
    pub resolve_secrets: bool,
    /// Plan as if taking the fields other managers own (`--force-conflicts`).
    pub force_conflicts: bool,
    /// Let a removed tenant go (`--allow-data-loss`); otherwise its removal is blocked.
    pub allow_data_loss: bool,
}

/// What the comparison of one object needs.
struct Cx<'a> {
    cluster: &'a Cluster,
    namespace_exists: bool,
    inventory: &'a Inventory,
    opts: Options,
    key: Vec<u8>,
}

/// The namespace of a model's objects.
pub fn namespace(compiled: &Compiled) -> Result<&str, ClusterError> {
    compiled
        .model
        .kubernetes
        .as_ref()
        .map(|k| k.namespace.as_str())
        .ok_or_else(|| {
            ClusterError::Malformed(
                "framework.toml has no [kubernetes] section, so there is nothing to plan on a cluster; add one (see profiles/kubernetes.toml)".into(),
            )
        })
}

/// Plans the cluster: what an apply of `compiled` would change.
pub async fn plan(
    cluster: &Cluster,
    compiled: &Compiled,
    artifacts: &[Artifact],
    opts: Options,
) -> Result<Plan, ClusterError> {
    let objects = k8s::objects(&compiled.model)?;
    let namespace = namespace(compiled)?;
    let project = compiled.model.name().to_string();
    let namespace_exists = match objects.first() {
        Some(ns) => live(cluster, ns).await?.is_some(),
        None => false,
    };
    let inventory = if namespace_exists {
        inventory::read(cluster, namespace).await?
    } else {
        Inventory::default()
    };
    // Without a recorded key, fingerprints are only comparable within this plan.
    let key = match &inventory.key {
        Some(k) => k.clone(),
        None => secret::random_key()
            .map_err(|e| ClusterError::Malformed(format!("cannot make a fingerprint key: {e}")))?
            .to_vec(),
    };
    let cx = Cx {
        cluster,
        namespace_exists,
        inventory: &inventory,
        opts,
        key,
    };
    let mut changes = Vec::with_capacity(objects.len());
    for o in &objects {
        changes.push(compare(&cx, o).await?);
    }
    if namespace_exists {
        changes.extend(prunes(&cx, &objects, namespace, &project).await?);
    }
    changes.extend(crate::plan::tenants::changes(
        &compiled.model.tenants,
        &inventory.tenants,
        opts.allow_data_loss,
    ));
    let steps = steps(&objects, &changes);
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(Plan {
        format_version: FORMAT_VERSION,
        generator: format!("scf {}", env!("CARGO_PKG_VERSION")),
        target: "kubernetes".into(),
        project,
        inputs: crate::plan::Inputs::of(compiled, artifacts)
            .map_err(|e| ClusterError::malformed(format!("the plan's inputs: {e}")))?,
        changes,
        steps,
        notes: Vec::new(),
    })
}

/// The live object, or `None`.
async fn live(cluster: &Cluster, o: &Object) -> Result<Option<Value>, ClusterError> {
    let api = cluster.api(&o.api_resource(), o.namespace());
    let found = api
        .get_opt(o.name())
        .await
        .map_err(|e| cluster.fail(format!("read {}", o.address()), e))?;
    found
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| ClusterError::malformed(format!("{} cannot be read: {e}", o.address())))
}

/// The object as scf sends it: for a Job, with its spec digest; without `spec.replicas`
/// when another manager (the autoscaler) owns it.
pub fn desired(o: &Object, live: Option<&Value>) -> Result<Value, ClusterError> {
    let mut value = serde_json::to_value(o)
        .map_err(|e| ClusterError::malformed(format!("{} cannot be sent: {e}", o.address())))?;
    if let Object::Job(_) = o {
        let digest = sha256_tag(value.to_string().as_bytes());
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            let notes = meta
                .entry("annotations")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(notes) = notes.as_object_mut() {
                notes.insert(SPEC_DIGEST_ANNOTATION.into(), Value::String(digest));
            }
        }
    }
    if let Some(live) = live
        && owned_by_others(live, &["f:spec", "f:replicas"])
        && let Some(spec) = value.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.remove("replicas");
    }
    Ok(value)
}

/// Whether a manager other than scf's owns the field at `path` of `live`.
fn owned_by_others(live: &Value, path: &[&str]) -> bool {
    let Some(entries) = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return false;
    };
    entries.iter().any(|entry| {
        let manager = entry
            .get("manager")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut fields = entry.get("fieldsV1");
        for step in path {
            fields = fields.and_then(|f| f.get(*step));
        }
        manager != FIELD_MANAGER && manager != super::SECRET_FIELD_MANAGER && fields.is_some()
    })
}

/// The digest annotation of an object.
pub fn digest_of(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(SPEC_DIGEST_ANNOTATION))
        .and_then(Value::as_str)
}

/// The Secret's references, by key, from its annotation.
pub fn secret_refs(object: &Value) -> Result<BTreeMap<String, SecretRef>, ClusterError> {
    let Some(text) = object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(SECRET_REFS_ANNOTATION))
        .and_then(Value::as_str)
    else {
        return Ok(BTreeMap::new());
    };
    let raw: BTreeMap<String, String> = serde_json::from_str(text)
        .map_err(|e| ClusterError::malformed(format!("{SECRET_REFS_ANNOTATION}: {e}")))?;
    raw.into_iter()
        .map(|(k, r)| {
            r.parse()
                .map(|r| (k, r))
                .map_err(|_| ClusterError::malformed(format!("{SECRET_REFS_ANNOTATION}: `{r}`")))
        })
        .collect()
}

impl Cx<'_> {
    fn fingerprint(&self, value: &[u8]) -> Option<String> {
        self.opts
            .resolve_secrets
            .then(|| secret::fingerprint(&self.key, value))
    }

    /// A shown object: normalised, Secret values masked.
    fn show(&self, object: Value) -> Value {
        mask_secret(normalise(object), &|v| self.fingerprint(v))
    }

    /// The Secret as it will be: its values are the manifest's own (a user name) and the
    /// references' (fingerprinted when resolved), set by [`super::SECRET_FIELD_MANAGER`]
    /// at apply.
    fn show_secret(&self, object: Value, desired: &Value) -> Result<Value, ClusterError> {
        let mut shown = self.show(object);
        let mut data: Map<String, Value> = view::secret_values(desired)
            .into_iter()
            .map(|(key, value)| (key, Value::String(mask::shown(self.fingerprint(&value)))))
            .collect();
        for (key, r) in secret_refs(desired)? {
            let fp = if self.opts.resolve_secrets {
                self.fingerprint(secret::resolve(&r)?.expose().as_bytes())
            } else {
                None
            };
            data.insert(key, Value::String(mask::shown(fp)));
        }
        if let Some(map) = shown.as_object_mut() {
            map.remove("data");
            if !data.is_empty() {
                map.insert("data".into(), Value::Object(data));
            }
        }
        Ok(shown)
    }
}

/// The change for one desired object.
async fn compare(cx: &Cx<'_>, o: &Object) -> Result<Change, ClusterError> {
    let address = o.address();
    let reachable = cx.namespace_exists || o.namespace().is_none();
    let live = if reachable {
        live(cx.cluster, o).await?
    } else {
        None
    };
    let desired = desired(o, live.as_ref())?;
    let is_job = matches!(o, Object::Job(_));
    let is_secret = matches!(o, Object::Secret(_));
    let digest = digest_of(&desired).map(str::to_string);
    let unchanged_job = is_job
        && match &live {
            Some(l) => digest_of(l) == digest.as_deref(),
            None => cx.inventory.ran.get(&address) == digest.as_ref(),
        };
    // A changed Job is replaced, and the server would refuse its new template in place.
    let dry_run = reachable && !(is_job && live.is_some());
    let mut blocked = None;
    let answer = if dry_run && !unchanged_job {
        match apply_dry_run(cx, o, &desired, cx.opts.force_conflicts).await {
            Err(ClusterError::Conflict { message, .. }) => {
                blocked = Some(format!("{message}{FORCE_HINT}"));
                apply_dry_run(cx, o, &desired, true).await?
            }
            other => other?,
        }
    } else {
        desired.clone()
    };
    let old = live.clone().map(|l| cx.show(l));
    // A create shows what scf sends, not every default the server would add.
    let new = match &live {
        Some(_) if !is_job => answer,
        _ => desired.clone(),
    };
    let new = if is_secret {
        cx.show_secret(new, &desired)?
    } else {
        cx.show(new)
    };
    let old_projected = match (&old, is_job && !unchanged_job) {
        (Some(o), true) => Some(project(o, &desired)),
        _ => old.clone(),
    };
    let action = match (&live, unchanged_job) {
        (_, true) => Action::NoOp,
        (None, false) => Action::Create,
        (Some(_), false) if is_job => Action::Update,
        (Some(_), false) if old.as_ref() == Some(&new) => Action::NoOp,
        (Some(_), false) => Action::Update,
    };
    let diff = (action != Action::NoOp)
        .then(|| view::diff(&address, old_projected.as_ref(), Some(&new)))
        .flatten();
    Ok(Change {
        address,
        action,
        diff,
        sensitive: is_secret,
        observed: observed(live.as_ref()),
        blocked,
        desired: Some(Desired::Json { value: desired }),
    })
}

/// `rv:N`, or `absent`: what apply checks again before acting on a saved plan.
fn observed(live: Option<&Value>) -> String {
    live.and_then(|l| l.pointer("/metadata/resourceVersion"))
        .and_then(Value::as_str)
        .map_or_else(|| "absent".into(), |rv| format!("rv:{rv}"))
}

/// `live` restricted to the fields `shape` has: the live side of a replaced Job, without
/// the defaults the server added.
fn project(live: &Value, shape: &Value) -> Value {
    match (live, shape) {
        (Value::Object(l), Value::Object(s)) => Value::Object(
            l.iter()
                .filter_map(|(k, v)| Some((k.clone(), project(v, s.get(k)?))))
                .collect(),
        ),
        (Value::Array(l), Value::Array(s)) => Value::Array(
            l.iter()
                .enumerate()
                .map(|(i, v)| s.get(i).map_or_else(|| v.clone(), |s| project(v, s)))
                .collect(),
        ),
        _ => live.clone(),
    }
}

/// What the server would make of `desired` (server-side apply, `dryRun=All`).
async fn apply_dry_run(
    cx: &Cx<'_>,
    o: &Object,
    desired: &Value,
    force: bool,
) -> Result<Value, ClusterError> {
    let mut params = PatchParams::apply(FIELD_MANAGER).dry_run();
    params.force = force;
    let answer = cx
        .cluster
        .api(&o.api_resource(), o.namespace())
        .patch(o.name(), &params, &Patch::Apply(desired))
        .await
        .map_err(|e| conflict_or(cx.cluster, &o.address(), "plan (dry run)", e))?;
    serde_json::to_value(answer)
        .map_err(|e| ClusterError::malformed(format!("{}: {e}", o.address())))
}

/// A 409 from server-side apply as [`ClusterError::Conflict`], anything else as usual.
pub fn conflict_or(cluster: &Cluster, address: &str, doing: &str, e: kube::Error) -> ClusterError {
    match e {
        kube::Error::Api(status) if status.code == 409 => ClusterError::Conflict {
            address: address.into(),
            message: status.message.clone(),
        },
        e => cluster.fail(format!("{doing} {address}"), e),
    }
}

/// Kinds a prune never deletes: the Namespace (listed by name, not label), and volume claims,
/// which hold data (the backup sets'; the StatefulSets' claims carry scf's labels too), as
/// the StatefulSets retain theirs: scf never deletes data on its own.
const NEVER_PRUNED: [&str; 2] = ["Namespace", "PersistentVolumeClaim"];

/// Deletes: what the inventory lists, or scf's labels mark, that is no longer desired.
async fn prunes(
    cx: &Cx<'_>,
    objects: &[Object],
    namespace: &str,
    project: &str,
) -> Result<Vec<Change>, ClusterError> {
    let wanted: BTreeSet<String> = objects.iter().map(Object::address).collect();
    let mut found: BTreeMap<String, (Entry, Option<Value>)> = BTreeMap::new();
    for entry in &cx.inventory.entries {
        if !wanted.contains(&entry.address()) && !NEVER_PRUNED.contains(&entry.kind.as_str()) {
            found.insert(entry.address(), (entry.clone(), None));
        }
    }
    let selector = format!("{INSTANCE_LABEL}={project},{MANAGED_BY_LABEL}={MANAGED_BY}");
    for resource in k8s::api_resources()
        .iter()
        .filter(|r| !NEVER_PRUNED.contains(&r.kind.as_str()))
    {
        let list = cx
            .cluster
            .api(resource, Some(namespace))
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| {
                cx.cluster
                    .fail(format!("list the {}s of {namespace}", resource.kind), e)
            })?;
        for item in list.items {
            let name = item.metadata.name.clone().unwrap_or_default();
            let entry = Entry {
                api_version: resource.api_version.clone(),
                kind: resource.kind.clone(),
                namespace: Some(namespace.into()),
                name,
            };
            let skip = wanted.contains(&entry.address())
                || (entry.kind == "Secret" && entry.name == inventory::NAME);
            if !skip {
                let value = serde_json::to_value(item).ok();
                found.insert(entry.address(), (entry, value));
            }
        }
    }
    let mut out = Vec::new();
    for (address, (entry, listed)) in found {
        let Some(resource) = entry.api_resource() else {
            continue;
        };
        let live = match listed {
            Some(v) => Some(v),
            None => cx
                .cluster
                .api(&resource, entry.namespace.as_deref())
                .get_opt(&entry.name)
                .await
                .map_err(|e| cx.cluster.fail(format!("read {address}"), e))?
                .and_then(|o| serde_json::to_value(o).ok()),
        };
        let Some(live) = live else { continue };
        let shown = cx.show(live.clone());
        // A datastore's StatefulSet goes when another runs the data (CloudNativePG, a
        // managed service), which starts empty: its claim is retained, its data not moved.
        let blocked = (entry.kind == "StatefulSet" && !cx.opts.allow_data_loss).then(|| {
            format!(
                "deleting StatefulSet {} leaves its data on its retained volume, and what replaces it starts empty; move the data first (scf backup, then restore into the new server), then pass --allow-data-loss",
                entry.name
            )
        });
        out.push(Change {
            diff: view::diff(&address, Some(&shown), None),
            sensitive: entry.kind == "Secret",
            observed: observed(Some(&live)),
            action: Action::Delete,
            address,
            blocked,
            desired: None,
        });
    }
    Ok(out)
}

/// The steps an apply of these changes takes beyond applying objects, in order.
fn steps(objects: &[Object], changes: &[Change]) -> Vec<Step> {
    let changed: BTreeSet<&str> = changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Update) && c.blocked.is_none())
        .map(|c| c.address.as_str())
        .collect();
    let mut out = Vec::new();
    for o in objects
        .iter()
        .filter(|o| changed.contains(o.address().as_str()))
    {
        let name = format!("{}/{}", o.namespace().unwrap_or_default(), o.name());
        let rollout = |kind: &str| Step::Rollout {
            kind: kind.into(),
            name: name.clone(),
        };
        match o {
            Object::Job(_) => out.push(Step::RunJob(name.clone())),
            Object::Deployment(_) => out.push(rollout("Deployment")),
            Object::StatefulSet(_) => out.push(rollout("StatefulSet")),
            _ => {}
        }
    }
    let deletes = changes
        .iter()
        .filter(|c| c.action == Action::Delete && c.blocked.is_none())
        .count();
    if deletes > 0 {
        out.push(Step::Prune(deletes));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replicas_yield_to_another_manager_only() {
        let theirs = json!({"metadata": {"managedFields": [
            {"manager": "scf", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kube-controller-manager", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
        ]}});
        let ours = json!({"metadata": {"managedFields": [
            {"manager": "scf", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
        ]}});
        assert!(owned_by_others(&theirs, &["f:spec", "f:replicas"]));
        assert!(!owned_by_others(&ours, &["f:spec", "f:replicas"]));
    }

    #[test]
    fn projection_keeps_only_the_desired_shape() {
        let live = json!({"spec": {"a": 1, "default": true, "list": [{"x": 1, "y": 2}]}});
        let shape = json!({"spec": {"a": 2, "list": [{"x": 3}]}});
        assert_eq!(
            project(&live, &shape),
            json!({"spec": {"a": 1, "list": [{"x": 1}]}})
        );
    }
}
