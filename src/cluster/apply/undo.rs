//! Putting things back after a failed apply: with `--atomic`, each workload this apply
//! changed goes back on its previous pod template (what `kubectl rollout undo` does), each
//! changed ConfigMap and Secret on its previous data, a replaced Job is re-created as it
//! was unless it completed, and what this apply created is deleted; a failed first apply
//! removes everything it created.

use super::{Run, Step, Target, entry_of};
use crate::cluster::{ClusterError, FIELD_MANAGER, inventory, rollout};
use crate::plan::{Action, Change};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::Value;

/// The labels the Job controller puts on a Job's pod template, tied to the Job's uid: a
/// Job re-created from its previous self must not carry them.
const JOB_CONTROLLER_LABELS: &[&str] = &[
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
];

impl Run<'_> {
    /// After a failure: with `--atomic`, puts back the workloads this apply changed.
    pub(super) async fn undo(
        &mut self,
        cause: ClusterError,
        log: &mut dyn FnMut(Step),
    ) -> ClusterError {
        if !self.opts.atomic || self.touched.is_empty() {
            return cause;
        }
        let mut lines = Vec::new();
        for (address, before) in std::mem::take(&mut self.touched).into_iter().rev() {
            if address.contains("/Job/") {
                let line = self.restore_job(&address, before.as_ref()).await;
                if line.as_ref().is_ok_and(|l| !l.starts_with("kept ")) {
                    log(Step::RolledBack(address.clone()));
                }
                lines.push(line.unwrap_or_else(|e| format!("could not roll back {address}: {e}")));
                continue;
            }
            let line = match self.restore(&address, before.as_ref()).await {
                Ok(()) if before.is_some() => {
                    log(Step::RolledBack(address.clone()));
                    let what = if address.contains("/ConfigMap/") || address.contains("/Secret/") {
                        "data"
                    } else {
                        "pod template"
                    };
                    format!("rolled back {address} to its previous {what}")
                }
                Ok(()) => {
                    log(Step::RolledBack(address.clone()));
                    format!("deleted {address}, which this apply created")
                }
                Err(e) => format!("could not roll back {address}: {e}"),
            };
            lines.push(line);
        }
        let text = format!("{cause}\n--atomic: {}", lines.join("; "));
        ClusterError::Rollout(text)
    }

    /// The planned object at `address`, once the Lease still allows rolling it back.
    fn rollback_target(&self, address: &str) -> Result<Target<'_>, ClusterError> {
        let change = self
            .plan
            .changes
            .iter()
            .find(|c| c.address == address)
            .ok_or_else(|| ClusterError::malformed(format!("{address} is not in the plan")))?;
        let target = Target::of(self.cluster, change)?;
        self.held(&format!("roll back {address}"))?;
        Ok(target)
    }

    /// Re-applies a workload with its previous pod template, a ConfigMap or a Secret with
    /// its previous data, or deletes the object if new.
    async fn restore(&self, address: &str, before: Option<&Value>) -> Result<(), ClusterError> {
        let target = self.rollback_target(address)?;
        let Some(before) = before else {
            return self.delete(&target, "delete").await;
        };
        let mut body = target.value.cloned().unwrap_or_default();
        if target.entry.kind == "ConfigMap"
            && let Some(fields) = body.as_object_mut()
        {
            for field in ["data", "binaryData"] {
                match before.get(field) {
                    Some(data) => fields.insert(field.into(), data.clone()),
                    None => fields.remove(field),
                };
            }
        } else if let (Some(template), Some(spec)) = (
            before.pointer("/spec/template"),
            body.get_mut("spec").and_then(Value::as_object_mut),
        ) {
            spec.insert("template".into(), template.clone());
        }
        target
            .api
            .patch(
                &target.entry.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|e| self.cluster.fail(format!("roll back {address}"), e))?;
        if target.entry.kind == "Secret" {
            let before: Secret = serde_json::from_value(before.clone())
                .map_err(|e| ClusterError::malformed(format!("the live {address}: {e}")))?;
            self.write_values(&target, before.data.unwrap_or_default())
                .await?;
        }
        Ok(())
    }

    /// Puts back a Job this apply replaced (or deletes one it created), unless the new one
    /// completed: its migrations then ran, and the previous image would refuse a schema
    /// newer than it knows, so the new Job stays. The previous Job is re-created as it was,
    /// less what the server and the Job controller own; apply does not wait for it (`scf
    /// doctor` reports how it ends).
    async fn restore_job(
        &self,
        address: &str,
        before: Option<&Value>,
    ) -> Result<String, ClusterError> {
        let target = self.rollback_target(address)?;
        let Some(before) = before else {
            self.delete(&target, "delete").await?;
            return Ok(format!("deleted {address}, which this apply created"));
        };
        let live = target
            .api
            .get_opt(&target.entry.name)
            .await
            .map_err(|e| self.cluster.fail(format!("read {address}"), e))?;
        let completed = live
            .and_then(|l| serde_json::from_value::<Job>(serde_json::to_value(l).ok()?).ok())
            .is_some_and(|j| rollout::job(&j) == rollout::Status::Ready);
        if completed {
            return Ok(format!(
                "kept {address}: it completed, so the database has the new schema, which the previous image would not migrate back"
            ));
        }
        self.remove_job(&target).await?;
        target
            .api
            .patch(
                &target.entry.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&previous_job(before)),
            )
            .await
            .map_err(|e| self.cluster.fail(format!("roll back {address}"), e))?;
        Ok(format!(
            "re-created the previous {address}, which this apply replaced"
        ))
    }

    /// After a failed first apply: deletes what it created, so that nothing half-made
    /// stays. The Namespace alone when this apply created it (the rest goes with it), else
    /// each created object, last first, and the inventory.
    pub(super) async fn remove_first(
        &mut self,
        cause: ClusterError,
        log: &mut dyn FnMut(Step),
    ) -> ClusterError {
        if !self.first {
            return cause;
        }
        let created: Vec<&Change> = self
            .report
            .applied
            .iter()
            .filter_map(|a| {
                self.plan
                    .changes
                    .iter()
                    .find(|c| &c.address == a && c.action == Action::Create)
            })
            .collect();
        let namespace = created
            .iter()
            .find(|c| entry_of(&c.address).is_ok_and(|e| e.kind == "Namespace"));
        let doomed: Vec<&Change> = match namespace {
            Some(ns) => vec![*ns],
            None => created.iter().rev().copied().collect(),
        };
        let mut lines = Vec::new();
        for change in doomed {
            let address = change.address.clone();
            let deleted = match (
                self.held(&format!("delete {address}")),
                Target::of(self.cluster, change),
            ) {
                (Ok(()), Ok(target)) => self.delete(&target, "delete").await,
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            lines.push(match deleted {
                Ok(()) => {
                    log(Step::Done(Action::Delete, address.clone()));
                    format!("deleted {address}")
                }
                Err(e) => format!("could not delete {address}: {e}"),
            });
        }
        if namespace.is_none() {
            let secrets: Api<Secret> = self.cluster.typed(self.namespace);
            if let Err(e) = secrets
                .delete(inventory::NAME, &DeleteParams::default())
                .await
            {
                lines.push(format!(
                    "could not delete the inventory {}: {e}",
                    inventory::NAME
                ));
            }
        }
        if lines.is_empty() {
            return cause;
        }
        ClusterError::Rollout(format!(
            "{cause}\nthis first apply failed, so it removed what it created: {}",
            lines.join("; ")
        ))
    }
}

/// A live Job as it can be applied again: what the server and the Job controller set
/// (uid, status, the generated selector and its labels) taken out.
fn previous_job(live: &Value) -> Value {
    let mut job = live.clone();
    if let Some(object) = job.as_object_mut() {
        object.remove("status");
    }
    if let Some(meta) = job.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
            "selfLink",
        ] {
            meta.remove(field);
        }
    }
    if let Some(spec) = job.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("selector");
        spec.remove("manualSelector");
    }
    if let Some(labels) = job
        .pointer_mut("/spec/template/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        for label in JOB_CONTROLLER_LABELS {
            labels.remove(*label);
        }
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_previous_job_loses_what_the_server_and_its_controller_set() {
        let live = serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "framework-migrate", "uid": "u1", "resourceVersion": "7",
                "annotations": {"scf.dev/spec-digest": "abc"}},
            "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
                "template": {"metadata": {"labels": {"app.kubernetes.io/name": "framework",
                    "controller-uid": "u1", "batch.kubernetes.io/job-name": "framework-migrate"}},
                    "spec": {"containers": [{"name": "migrate", "image": "old"}]}}},
            "status": {"succeeded": 1}
        });
        let job = previous_job(&live);
        assert_eq!(
            job,
            serde_json::json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "framework-migrate", "annotations": {"scf.dev/spec-digest": "abc"}},
                "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/name": "framework"}},
                    "spec": {"containers": [{"name": "migrate", "image": "old"}]}}}
            })
        );
    }
}
