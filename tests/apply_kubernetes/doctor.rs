//! `scf doctor --target kubernetes` after an apply: every check passes on the healthy
//! deployment, and each way of breaking it (a rollout short of ready pods, a missing
//! object, a stuck pod, an overdue CronJob, `/ready` refused) fails its check with the fix.

use crate::mock::{DEPLOYMENT_PATH, Mock, NS, applied_once};
use scf::doctor::{Phase, Report, Status, show};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

const PLACE: &str = "the cluster of context `mock` (namespace ai-supply-chain)";

/// The check named `name`.
fn check<'a>(report: &'a Report, name: &str) -> &'a scf::doctor::Check {
    report
        .sections
        .iter()
        .flat_map(|s| &s.checks)
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name:?} in\n{}", show::text(report, PLACE, false)))
}

/// `k8s_openapi`'s spelling of a time `ago` before `now`.
fn rfc3339(now: SystemTime, ago: Duration) -> String {
    humantime::format_rfc3339_seconds(now - ago).to_string()
}

/// Records a success of every CronJob `ago` before `now`, as the controller would.
fn cron_jobs_succeeded(mock: &Mock, now: SystemTime, ago: Duration) -> Vec<String> {
    let mut server = mock.server.lock().expect("server");
    let mut names = Vec::new();
    for (path, object) in server.objects.iter_mut() {
        if path.contains("/cronjobs/") {
            object["status"] = json!({"lastSuccessfulTime": rfc3339(now, ago)});
            names.push(
                object["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    names
}

fn edit(mock: &Mock, path: &str, change: impl FnOnce(&mut Value)) {
    let mut server = mock.server.lock().expect("server");
    change(
        server
            .objects
            .get_mut(path)
            .unwrap_or_else(|| panic!("{path}")),
    );
}

pub(crate) async fn healthy_then_broken(mock: &Mock) {
    mock.append(
        "\n[backup]\nschedule = \"0 2 * * *\"\nfull_schedule = \"0 1 * * 0\"\n\
         dir = \"/backup/ai-supply-chain\"\nretention = \"30d\"\n",
    );
    applied_once(mock).await;
    let now = SystemTime::now();
    let cron_jobs = cron_jobs_succeeded(mock, now, Duration::from_secs(3600));
    let report = mock.doctor(now).await;
    let text = show::text(&report, PLACE, false);
    println!("{text}");
    // The starter's unpinned images warn before deployment; after it, every check passes.
    assert!(!report.failed(), "{text}");
    let after = report
        .sections
        .iter()
        .find(|s| s.phase == Phase::Post)
        .expect("post");
    assert!(
        after.checks.iter().all(|c| c.status == Status::Pass),
        "a healthy deployment passes every check:\n{text}"
    );
    assert_eq!(
        cron_jobs.len(),
        3,
        "daily, full and the drill: {cron_jobs:?}"
    );
    for name in [
        "framework.toml",
        "objects",
        "Deployment framework",
        "Job framework-migrate",
        "pods",
        "/health through the Service",
        "/ready through the Service",
    ] {
        check(&report, name);
    }

    // A rollout short of ready pods.
    edit(mock, DEPLOYMENT_PATH, |d| {
        d["status"]["availableReplicas"] = json!(1)
    });
    let report = mock.doctor(now).await;
    let c = check(&report, "Deployment framework");
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(
        c.evidence.contains("1 of 3 updated replicas available"),
        "{c:?}"
    );
    assert!(
        c.fix
            .as_deref()
            .unwrap_or_default()
            .contains("rollout status deployment/framework")
    );
    println!("{}", show::text(&report, PLACE, false));
    edit(mock, DEPLOYMENT_PATH, |d| {
        d["status"]["availableReplicas"] = json!(3)
    });

    // A missing object.
    let config = format!("/api/v1/namespaces/{NS}/configmaps/framework-config");
    let saved = mock
        .server
        .lock()
        .expect("server")
        .objects
        .remove(&config)
        .expect("applied");
    let c = check(&mock.doctor(now).await, "objects").clone();
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.evidence
            .contains("k8s:v1/ConfigMap/ai-supply-chain/framework-config"),
        "{c:?}"
    );
    mock.server
        .lock()
        .expect("server")
        .objects
        .insert(config, saved);

    // `/ready` refused: no ready endpoint behind the Service.
    mock.server.lock().expect("server").unready = vec!["/ready".into()];
    let report = mock.doctor(now).await;
    assert_eq!(
        check(&report, "/ready through the Service").status,
        Status::Fail
    );
    assert_eq!(
        check(&report, "/health through the Service").status,
        Status::Pass
    );
    mock.server.lock().expect("server").unready.clear();

    // A stuck pod.
    let pod = format!("/api/v1/namespaces/{NS}/pods/framework-6c9f-x7k2p");
    mock.server.lock().expect("server").objects.insert(
        pod.clone(),
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "framework-6c9f-x7k2p", "namespace": NS, "creationTimestamp": rfc3339(now, Duration::from_secs(60))},
            "status": {"containerStatuses": [{"name": "framework", "ready": false, "restartCount": 4, "image": "x", "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}}}]}}),
    );
    let c = check(&mock.doctor(now).await, "pods").clone();
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(
        c.evidence.contains("framework-6c9f-x7k2p") && c.evidence.contains("CrashLoopBackOff"),
        "{c:?}"
    );
    mock.server.lock().expect("server").objects.remove(&pod);

    // Overdue CronJobs: the last success ten days ago, past even the weekly bound.
    assert!(
        !cron_jobs.is_empty(),
        "the kubernetes profile schedules backups"
    );
    cron_jobs_succeeded(mock, now, Duration::from_secs(10 * 86400));
    let report = mock.doctor(now).await;
    for name in &cron_jobs {
        let c = check(&report, &format!("CronJob {name}"));
        assert_eq!(c.status, Status::Fail, "{c:?}");
        assert!(c.evidence.contains("overdue after"), "{c:?}");
    }
    println!("{}", show::text(&report, PLACE, false));
}
