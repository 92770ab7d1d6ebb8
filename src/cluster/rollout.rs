//! Waiting for workloads, and saying why one failed. A Deployment is ready as
//! `kubectl rollout status` judges it, a StatefulSet when every replica runs the new
//! revision and is ready, a Job when it completes. A wait fails at once, without waiting
//! for a deadline, when a pod created since it began is stuck ([`STUCK`]: crash-looping or
//! unable to pull its image). A failure or a timeout names the object, its failing
//! condition (or what it was still waiting for), its last events, and the failing pod: its
//! container's state, its events and its last log lines.

use super::{Cluster, ClusterError};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, LogParams};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// How many events and log lines a failure report shows.
const EVENTS: usize = 5;
const LOG_LINES: i64 = 20;
/// The waiting reasons of a container that will not start by itself: the wait fails on
/// them rather than at its deadline.
pub const STUCK: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
];

/// Where a workload stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Done.
    Ready,
    /// Still going, with what it waits for.
    Waiting(String),
    /// It will not get there: the failing condition.
    Failed(String),
}

/// A workload scf waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// batch/v1 Job.
    Job,
}

impl Kind {
    /// The kind a plan address names, if scf waits for it.
    pub fn of(kind: &str) -> Option<Self> {
        match kind {
            "Deployment" => Some(Kind::Deployment),
            "StatefulSet" => Some(Kind::StatefulSet),
            "Job" => Some(Kind::Job),
            _ => None,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

fn outdated(generation: Option<i64>, observed: Option<i64>) -> bool {
    observed.unwrap_or(0) < generation.unwrap_or(0)
}

/// A Deployment's rollout, as `kubectl rollout status` judges it.
pub fn deployment(d: &Deployment) -> Status {
    let status = d.status.clone().unwrap_or_default();
    if outdated(d.metadata.generation, status.observed_generation) {
        return Status::Waiting("waiting for the controller to see the new spec".into());
    }
    for c in status.conditions.iter().flatten() {
        if c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded") {
            return Status::Failed(format!(
                "condition Progressing={} (ProgressDeadlineExceeded): {}",
                c.status,
                c.message.as_deref().unwrap_or_default()
            ));
        }
    }
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < want {
        return Status::Waiting(format!("{updated} of {want} replicas updated"));
    }
    let total = status.replicas.unwrap_or(0);
    if total > updated {
        return Status::Waiting(format!(
            "{} old replicas pending termination",
            total - updated
        ));
    }
    if available < updated {
        return Status::Waiting(format!(
            "{available} of {updated} updated replicas available"
        ));
    }
    Status::Ready
}

/// A StatefulSet's rollout: every replica on the update revision and ready.
pub fn stateful_set(s: &StatefulSet) -> Status {
    let status = s.status.clone().unwrap_or_default();
    if outdated(s.metadata.generation, status.observed_generation) {
        return Status::Waiting("waiting for the controller to see the new spec".into());
    }
    let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = status.ready_replicas.unwrap_or(0);
    if ready < want {
        return Status::Waiting(format!("{ready} of {want} replicas ready"));
    }
    if status.update_revision.is_some() && status.update_revision != status.current_revision {
        let updated = status.updated_replicas.unwrap_or(0);
        return Status::Waiting(format!("{updated} of {want} replicas updated"));
    }
    Status::Ready
}

/// A Job: complete, failed, or running.
pub fn job(j: &Job) -> Status {
    let status = j.status.clone().unwrap_or_default();
    for c in status.conditions.iter().flatten() {
        if c.status != "True" {
            continue;
        }
        match c.type_.as_str() {
            "Complete" => return Status::Ready,
            "Failed" => {
                return Status::Failed(format!(
                    "condition Failed=True ({}): {}",
                    c.reason.as_deref().unwrap_or_default(),
                    c.message.as_deref().unwrap_or_default()
                ));
            }
            _ => {}
        }
    }
    Status::Waiting(format!(
        "{} pod{} active, {} failed",
        status.active.unwrap_or(0),
        if status.active == Some(1) { "" } else { "s" },
        status.failed.unwrap_or(0)
    ))
}

/// Where a workload's status and pods are read.
async fn read(
    cluster: &Cluster,
    kind: Kind,
    namespace: &str,
    name: &str,
) -> Result<(Status, BTreeMap<String, String>), kube::Error> {
    let labels = |s: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>| {
        s.and_then(|s| s.match_labels.clone()).unwrap_or_default()
    };
    Ok(match kind {
        Kind::Deployment => {
            let d = cluster.typed::<Deployment>(namespace).get(name).await?;
            (deployment(&d), labels(d.spec.as_ref().map(|s| &s.selector)))
        }
        Kind::StatefulSet => {
            let s = cluster.typed::<StatefulSet>(namespace).get(name).await?;
            (
                stateful_set(&s),
                labels(s.spec.as_ref().map(|s| &s.selector)),
            )
        }
        Kind::Job => {
            let j = cluster.typed::<Job>(namespace).get(name).await?;
            (
                job(&j),
                labels(j.spec.as_ref().and_then(|s| s.selector.as_ref())),
            )
        }
    })
}

/// How long to wait, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    /// Give up after this long.
    pub timeout: Duration,
    /// Look this often.
    pub poll: Duration,
}

/// Waits until the workload is ready; `progress` hears what it waits for. `since` is when
/// the workload was written: older pods belong to an earlier rollout and never fail this
/// one.
pub async fn wait(
    cluster: &Cluster,
    kind: Kind,
    namespace: &str,
    name: &str,
    how: Wait,
    since: Timestamp,
    progress: &mut dyn FnMut(&str),
) -> Result<(), ClusterError> {
    let start = Instant::now();
    loop {
        let (status, selector) = read(cluster, kind, namespace, name)
            .await
            .map_err(|e| cluster.fail(format!("read {kind} {namespace}/{name}"), e))?;
        let reason = match status {
            Status::Ready => return Ok(()),
            Status::Failed(condition) => condition,
            Status::Waiting(what) if start.elapsed() >= how.timeout => format!(
                "did not become ready within {}: {what}",
                humantime::format_duration(how.timeout)
            ),
            Status::Waiting(what) => match stuck(&pods(cluster, namespace, &selector).await, since)
            {
                Some(pod) => format!("{pod}, which will not start by itself ({what})"),
                None => {
                    progress(&what);
                    tokio::time::sleep(how.poll).await;
                    continue;
                }
            },
        };
        let report = diagnose(cluster, kind, namespace, name, &selector, &reason).await;
        return Err(ClusterError::Rollout(report));
    }
}

/// The failure report of a workload: its condition, events, and failing pod.
pub async fn diagnose(
    cluster: &Cluster,
    kind: Kind,
    namespace: &str,
    name: &str,
    selector: &BTreeMap<String, String>,
    reason: &str,
) -> String {
    let mut out = format!("{kind} {namespace}/{name} failed: {reason}\n");
    events(cluster, namespace, name, &mut out).await;
    let mut pods = pods(cluster, namespace, selector).await;
    // The newest pod first: an older one may be left from an earlier rollout.
    pods.sort_by_key(|p| Reverse(p.metadata.creation_timestamp.as_ref().map(|t| t.0)));
    match pods.iter().find_map(failing) {
        Some((pod, container, state, restarted)) => {
            let _ = writeln!(out, "  failing pod {pod}, container {container}: {state}");
            events(cluster, namespace, &pod, &mut out).await;
            logs(cluster, namespace, &pod, &container, restarted, &mut out).await;
        }
        None if pods.is_empty() => out.push_str("  no pods found for it\n"),
        None => out.push_str("  its pods show no failing container\n"),
    }
    out.trim_end().to_string()
}

/// The pods a workload's selector picks; none when it cannot be read.
async fn pods(cluster: &Cluster, namespace: &str, selector: &BTreeMap<String, String>) -> Vec<Pod> {
    if selector.is_empty() {
        return Vec::new();
    }
    let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    cluster
        .typed::<Pod>(namespace)
        .list(&ListParams::default().labels(&labels.join(",")))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

/// The first pod created at or after `since` (to the second, as the server records it)
/// with a container waiting for a [`STUCK`] reason:
/// `pod NAME, container NAME: waiting: REASON: MESSAGE`.
pub fn stuck(pods: &[Pod], since: Timestamp) -> Option<String> {
    let since = since.as_second();
    pods.iter()
        .filter(|p| {
            p.metadata
                .creation_timestamp
                .as_ref()
                .is_some_and(|t| t.0.as_second() >= since)
        })
        .filter_map(failing)
        .find(|(_, _, state, _)| {
            STUCK
                .iter()
                .any(|r| state.starts_with(&format!("waiting: {r}:")))
        })
        .map(|(pod, container, state, _)| format!("pod {pod}, container {container}: {state}"))
}

/// A pod's first failing container: (pod, container, state, restarted).
fn failing(pod: &Pod) -> Option<(String, String, String, bool)> {
    let name = pod.metadata.name.clone()?;
    let status = pod.status.as_ref()?;
    let statuses = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for c in statuses {
        let state = c.state.clone().unwrap_or_default();
        let shown = if let Some(w) = state.waiting.filter(|w| w.reason.is_some()) {
            let reason = w.reason.unwrap_or_default();
            if reason == "PodInitializing" || reason == "ContainerCreating" {
                continue;
            }
            format!("waiting: {reason}: {}", w.message.unwrap_or_default())
        } else if let Some(t) = state.terminated.filter(|t| t.exit_code != 0) {
            format!(
                "terminated: {} (exit code {})",
                t.reason.unwrap_or_default(),
                t.exit_code
            )
        } else if !c.ready && c.restart_count > 0 {
            format!("not ready after {} restarts", c.restart_count)
        } else {
            continue;
        };
        return Some((name, c.name.clone(), shown, c.restart_count > 0));
    }
    None
}

/// Appends the last events about `name`.
async fn events(cluster: &Cluster, namespace: &str, name: &str, out: &mut String) {
    let params = ListParams::default().fields(&format!("involvedObject.name={name}"));
    let Ok(list) = cluster.typed::<Event>(namespace).list(&params).await else {
        let _ = writeln!(out, "  (cannot read the events of {name})");
        return;
    };
    let mut items = list.items;
    items.sort_by_key(|e| {
        e.last_timestamp.as_ref().map(|t| t.0).or(e
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0))
    });
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "  last events of {name}:");
    for e in items.iter().rev().take(EVENTS).rev() {
        let _ = writeln!(
            out,
            "    {} {}: {}",
            e.type_.as_deref().unwrap_or("Normal"),
            e.reason.as_deref().unwrap_or_default(),
            e.message.as_deref().unwrap_or_default().trim()
        );
    }
}

/// Appends a container's last log lines (of its previous run, when it restarted).
async fn logs(
    cluster: &Cluster,
    namespace: &str,
    pod: &str,
    container: &str,
    previous: bool,
    out: &mut String,
) {
    let api = cluster.typed::<Pod>(namespace);
    let mut params = LogParams {
        container: Some(container.into()),
        tail_lines: Some(LOG_LINES),
        previous,
        ..LogParams::default()
    };
    let mut text = api.logs(pod, &params).await;
    if text.is_err() && previous {
        params.previous = false;
        text = api.logs(pod, &params).await;
    }
    match text {
        Ok(text) if !text.trim().is_empty() => {
            let _ = writeln!(out, "  last log lines of {pod}/{container}:");
            for line in text.lines() {
                let _ = writeln!(out, "    | {line}");
            }
        }
        Ok(_) => {
            let _ = writeln!(out, "  {pod}/{container} logged nothing");
        }
        Err(e) => {
            let _ = writeln!(out, "  (cannot read the logs of {pod}/{container}: {e})");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(v: serde_json::Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn deployment_rollout_as_kubectl_judges_it() {
        let base = json!({"metadata": {"generation": 2}, "spec": {"replicas": 3, "selector": {}, "template": {}}});
        let mut d = base.clone();
        d["status"] = json!({"observedGeneration": 1});
        assert!(matches!(deployment(&deploy(d)), Status::Waiting(_)));
        let mut d = base.clone();
        d["status"] = json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3});
        assert_eq!(
            deployment(&deploy(d)),
            Status::Waiting("1 old replicas pending termination".into())
        );
        let mut d = base.clone();
        d["status"] = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3});
        assert_eq!(deployment(&deploy(d)), Status::Ready);
        let mut d = base;
        d["status"] = json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False",
            "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"f-1\" has timed out progressing."}]});
        assert!(
            matches!(deployment(&deploy(d)), Status::Failed(m) if m.contains("timed out progressing"))
        );
    }

    #[test]
    fn job_completion_and_failure() {
        let j: Job = serde_json::from_value(json!({"status": {"conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}}))
        .unwrap();
        assert!(matches!(job(&j), Status::Failed(m) if m.contains("BackoffLimitExceeded")));
        let j: Job = serde_json::from_value(
            json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}}),
        )
        .unwrap();
        assert_eq!(job(&j), Status::Ready);
    }
}
