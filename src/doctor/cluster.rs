//! `scf doctor` on Kubernetes: the post-deployment checklist through the API server. Every
//! object of [`crate::targets::kubernetes::objects`] must be in the cluster (the custom
//! resources too: a PrometheusRule that is missing is a failed check); each Deployment and
//! StatefulSet rolled out and each Job complete, judged as apply's waits judge them
//! ([`crate::cluster::rollout`]); no pod of the namespace stuck (crash-looping, or unable
//! to pull its image); each CronJob's last success younger than its schedule allows, by
//! the bound the backup alert fires at; and `/health` and `/ready` answered through the
//! API server's proxy to the framework Service, which reaches a ready pod as the ingress does.
//!
//! [`gather`] reads, never writes; [`checks`] judges what it read, so the tests feed it
//! broken states.

use super::backups::{recent, when, whole_minutes};
use super::report::Check;
use crate::cluster::rollout::{self, Status};
use crate::cluster::{Cluster, ClusterError};
use crate::config::values::Cron;
use crate::model::Model;
use crate::targets::kubernetes::{self, FRAMEWORK, LIVENESS_PATH, READINESS_PATH, SERVICE_PORT};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::ListParams;
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What doctor read from the cluster.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Each wanted object's plan address and its live state (`None`: not found).
    pub objects: Vec<(String, Option<Value>)>,
    /// The namespace's pods.
    pub pods: Vec<Pod>,
    /// `(path, answer)` for `/health` and `/ready` through the Service proxy.
    pub probes: Vec<(&'static str, Result<String, String>)>,
}

/// Reads the live state of every object of `model`'s deployment and the pods of its
/// namespace, and asks the framework Service for `/health` and `/ready`.
pub async fn gather(cluster: &Cluster, model: &Model) -> Result<Evidence, ClusterError> {
    let namespace = model
        .kubernetes
        .as_ref()
        .map_or("", |k| k.namespace.as_str());
    let mut evidence = Evidence::default();
    for o in &kubernetes::objects(model)? {
        let address = o.address();
        let live = cluster
            .api(&o.api_resource(), o.namespace())
            .get_opt(o.name())
            .await
            .map_err(|e| cluster.fail(format!("read {address}"), e))?;
        let live = live
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| ClusterError::Malformed(format!("{address}: {e}")))?;
        evidence.objects.push((address, live));
    }
    evidence.pods = cluster
        .typed::<Pod>(namespace)
        .list(&ListParams::default())
        .await
        .map_err(|e| cluster.fail(format!("list the pods of namespace {namespace}"), e))?
        .items;
    for path in [LIVENESS_PATH, READINESS_PATH] {
        let url = format!(
            "/api/v1/namespaces/{namespace}/services/{FRAMEWORK}:{SERVICE_PORT}/proxy{path}"
        );
        let answer = match http::Request::get(&url).body(Vec::new()) {
            Ok(request) => cluster
                .client
                .request_text(request)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        evidence.probes.push((path, answer));
    }
    Ok(evidence)
}

/// The checks over what [`gather`] read, at `now`, for the deployment in `namespace`.
pub fn checks(evidence: &Evidence, namespace: &str, now: SystemTime) -> Vec<Check> {
    let mut checks = vec![presence(evidence)];
    for (address, live) in &evidence.objects {
        let Some(live) = live else { continue };
        let kind = live["kind"].as_str().unwrap_or_default();
        let name = live["metadata"]["name"].as_str().unwrap_or_default();
        if let Some(check) = workload(kind, name, live, namespace) {
            checks.push(check);
        } else if kind == "CronJob" {
            checks.push(cron_job(address, name, live, namespace, now));
        }
    }
    checks.push(match rollout::stuck(&evidence.pods, Timestamp::UNIX_EPOCH) {
        None => Check::pass(
            "pods",
            format!("{} pods, none stuck", evidence.pods.len()),
        ),
        Some(pod) => Check::fail(
            "pods",
            pod,
            format!("`kubectl -n {namespace} describe pod` and `kubectl logs --previous` say why; fix the image or the config, then `scf apply`"),
        ),
    });
    for (path, answer) in &evidence.probes {
        let name = format!("{path} through the Service");
        checks.push(match answer {
            Ok(body) => Check::pass(name, format!("answered: {}", first_line(body))),
            Err(e) => Check::fail(
                name,
                e.clone(),
                format!("`kubectl -n {namespace} get endpoints {FRAMEWORK}` lists the ready pods; none ready means the readiness probe fails: see the pods' logs"),
            ),
        });
    }
    checks
}

/// Every wanted object is in the cluster.
fn presence(evidence: &Evidence) -> Check {
    let missing: Vec<&str> = evidence
        .objects
        .iter()
        .filter(|(_, live)| live.is_none())
        .map(|(address, _)| address.as_str())
        .collect();
    let total = evidence.objects.len();
    if missing.is_empty() {
        Check::pass("objects", format!("all {total} objects present"))
    } else {
        Check::fail(
            "objects",
            format!(
                "{} of {total} missing: {}",
                missing.len(),
                missing.join(", ")
            ),
            "`scf apply --target kubernetes` creates them (a missing custom resource needs its operator's CRD installed first)",
        )
    }
}

/// A Deployment's or StatefulSet's rollout, or a Job's completion; `None` for other kinds.
fn workload(kind: &str, name: &str, live: &Value, namespace: &str) -> Option<Check> {
    let judged = match kind {
        "Deployment" => serde_json::from_value(live.clone()).map(|d| rollout::deployment(&d)),
        "StatefulSet" => serde_json::from_value(live.clone()).map(|s| rollout::stateful_set(&s)),
        "Job" => serde_json::from_value(live.clone()).map(|j| rollout::job(&j)),
        _ => return None,
    };
    let check = format!("{kind} {name}");
    let fix = match kind {
        "Job" => {
            format!("`kubectl -n {namespace} logs job/{name}` says why; `scf apply` runs it again")
        }
        _ => format!(
            "`kubectl -n {namespace} rollout status {}/{name}` and the pods' events say what it waits for",
            kind.to_ascii_lowercase()
        ),
    };
    Some(match judged {
        Ok(Status::Ready) if kind == "Job" => Check::pass(check, "complete"),
        Ok(Status::Ready) => Check::pass(check, "rolled out, every replica ready"),
        Ok(Status::Waiting(what)) => Check::fail(check, format!("not ready: {what}"), fix),
        Ok(Status::Failed(why)) => Check::fail(check, why, fix),
        Err(e) => Check::fail(
            check,
            format!("unreadable: {e}"),
            "report this as a bug in scf",
        ),
    })
}

/// A CronJob's last success against its schedule; one that never succeeded warns while it
/// is younger than the bound, and fails after.
fn cron_job(address: &str, name: &str, live: &Value, namespace: &str, now: SystemTime) -> Check {
    let check = format!("CronJob {name}");
    let take = format!(
        "`kubectl -n {namespace} create job --from=cronjob/{name} {name}-now` runs it now; `kubectl -n {namespace} logs job/<its last job>` says how the last went"
    );
    let schedule = live["spec"]["schedule"].as_str().unwrap_or_default();
    let Ok(cron) = schedule.parse::<Cron>() else {
        return Check::fail(
            check,
            format!("{address} has schedule `{schedule}`, not scf's"),
            "`scf apply` restores it",
        );
    };
    let time = |v: &Value| {
        v.as_str()
            .and_then(|t| t.parse::<Timestamp>().ok())
            .map(|t| UNIX_EPOCH + Duration::from_secs(t.as_second().max(0).unsigned_abs()))
    };
    if let Some(last) = time(&live["status"]["lastSuccessfulTime"]) {
        return recent(&check, &cron, last, "", &take, now);
    }
    let created = time(&live["metadata"]["creationTimestamp"]).unwrap_or(now);
    let age = now.duration_since(created).unwrap_or_default();
    let evidence = format!(
        "no run has succeeded since it was created {}, {} ago (schedule `{cron}`)",
        when(created),
        humantime::format_duration(whole_minutes(age))
    );
    match cron.overdue_after() {
        Some(limit) if age > limit => Check::fail(check, evidence, take),
        _ => Check::warn(check, evidence, take),
    }
}

fn first_line(body: &str) -> &str {
    body.lines().next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status as S;
    use serde_json::json;

    const NS: &str = "acme";

    fn at(rfc3339: &str) -> SystemTime {
        humantime::parse_rfc3339(rfc3339).expect("time")
    }

    fn cron(status: Value) -> Value {
        json!({"kind": "CronJob", "metadata": {"name": "backup", "creationTimestamp": "2026-12-01T00:00:00Z"},
            "spec": {"schedule": "0 2 * * *"}, "status": status})
    }

    #[test]
    fn a_cron_job_is_judged_by_its_last_success_against_its_schedule() {
        let now = at("2026-12-05T12:00:00Z");
        let fresh = cron(json!({"lastSuccessfulTime": "2026-12-05T02:00:07Z"}));
        assert_eq!(cron_job("a", "backup", &fresh, NS, now).status, S::Pass);
        let old = cron(json!({"lastSuccessfulTime": "2026-12-03T02:00:07Z"}));
        let c = cron_job("a", "backup", &old, NS, now);
        assert_eq!(c.status, S::Fail, "{c:?}");
        assert!(c.evidence.contains("overdue after 1day 6h"), "{c:?}");
        assert!(
            c.fix
                .expect("fix")
                .contains("create job --from=cronjob/backup")
        );
        let never = cron(json!({}));
        assert_eq!(cron_job("a", "backup", &never, NS, now).status, S::Fail);
        let young = at("2026-12-01T10:00:00Z");
        assert_eq!(cron_job("a", "backup", &never, NS, young).status, S::Warn);
    }

    #[test]
    fn workloads_are_judged_as_apply_waits_for_them() {
        let ready = json!({"kind": "Deployment", "metadata": {"name": "framework", "generation": 2},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}});
        let c = workload("Deployment", "framework", &ready, NS).expect("judged");
        assert_eq!(c.status, S::Pass, "{c:?}");
        let mut short = ready.clone();
        short["status"]["availableReplicas"] = json!(1);
        let c = workload("Deployment", "framework", &short, NS).expect("judged");
        assert_eq!(c.status, S::Fail);
        assert!(
            c.evidence.contains("1 of 2 updated replicas available"),
            "{c:?}"
        );
        let failed = json!({"kind": "Job", "metadata": {"name": "framework-migrate"}, "spec": {"template": {}},
            "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "6 failures"}]}});
        let c = workload("Job", "framework-migrate", &failed, NS).expect("judged");
        assert_eq!(c.status, S::Fail);
        assert!(c.fix.expect("fix").contains("logs job/framework-migrate"));
        assert!(workload("ConfigMap", "x", &json!({}), NS).is_none());
    }

    #[test]
    fn a_missing_object_and_an_unanswered_probe_fail() {
        let evidence = Evidence {
            objects: vec![
                (
                    "k8s:v1/ConfigMap/acme/a".into(),
                    Some(json!({"kind": "ConfigMap", "metadata": {"name": "a"}})),
                ),
                (
                    "k8s:monitoring.coreos.com/v1/PrometheusRule/acme/framework-alerts".into(),
                    None,
                ),
            ],
            pods: Vec::new(),
            probes: vec![
                ("/health", Ok("ok\n".into())),
                ("/ready", Err("503 Service Unavailable".into())),
            ],
        };
        let checks = checks(&evidence, NS, at("2026-12-05T12:00:00Z"));
        let find = |name: &str| checks.iter().find(|c| c.name == name).expect(name);
        assert_eq!(find("objects").status, S::Fail);
        assert!(
            find("objects")
                .evidence
                .contains("PrometheusRule/acme/framework-alerts")
        );
        assert_eq!(find("/health through the Service").status, S::Pass);
        assert_eq!(find("/ready through the Service").status, S::Fail);
        assert_eq!(find("pods").status, S::Pass);
    }
}
