//! When an apply must stop: another's Lease, its own Lease lost, a field another manager
//! owns, a rollout that fails (rolled back under `--atomic`), and a saved plan the cluster
//! has moved past.

use crate::mock::{
    DEPLOYMENT, DEPLOYMENT_PATH, IMAGE, LEASE_PATH, Mock, NEW_IMAGE, NS, SECRET_PATH, applied,
    applied_once, shown,
};
use scf::cluster::apply::Step;
use scf::plan::Plan;
use serde_json::json;
use std::time::Duration;

pub(crate) async fn lease_held(mock: &Mock) {
    applied_once(mock).await;
    let now = k8s_openapi::jiff::Timestamp::now();
    mock.server.lock().expect("server").objects.insert(
        LEASE_PATH.into(),
        json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "scf-apply", "namespace": NS, "resourceVersion": "1"},
        "spec": {"holderIdentity": "alice@laptop pid 4242", "leaseDurationSeconds": 60,
                 "acquireTime": now.to_string(), "renewTime": now.to_string()}}),
    );
    mock.edit(IMAGE, NEW_IMAGE);
    let mark = mock.mark();
    let (result, _) = mock.apply(false, false).await;
    let err = result.expect_err("refused").to_string();
    assert!(
        err.contains("alice@laptop pid 4242")
            && err.contains("kubectl -n ai-supply-chain delete lease scf-apply"),
        "{err}"
    );
    assert!(err.contains("expires by itself"), "{err}");
    assert!(
        mock.seen_since(mark).iter().all(|s| !s.writes()),
        "nothing written under another's lease"
    );
    // An expired lease is taken over.
    let old = "2020-01-01T00:00:00Z";
    mock.server
        .lock()
        .expect("server")
        .objects
        .get_mut(LEASE_PATH)
        .expect("lease")["spec"]["renewTime"] = json!(old);
    let (result, steps) = mock.apply(false, false).await;
    result.expect("an expired lease is taken over");
    assert_eq!(
        steps.first(),
        Some(&Step::Note(
            "took over the expired Lease ai-supply-chain/scf-apply left by alice@laptop pid 4242"
                .into()
        )),
        "{steps:?}"
    );
}

pub(crate) async fn conflict(mock: &Mock) {
    applied_once(mock).await;
    mock.server.lock().expect("server").conflicts.insert(
        DEPLOYMENT_PATH.into(),
        (
            "kubectl-edit".into(),
            ".spec.template.spec.containers[name=\"framework\"].image".into(),
        ),
    );
    mock.edit(IMAGE, NEW_IMAGE);
    let plan = mock.plan(false, false).await.expect("plan");
    let text = shown(&plan);
    println!("{text}");
    assert!(
        text.contains("BLOCKED: Apply failed with 1 conflict: conflict with \"kubectl-edit\""),
        "{text}"
    );
    assert!(text.contains("pass --force-conflicts"), "{text}");
    let mark = mock.mark();
    let err = mock
        .apply(false, false)
        .await
        .0
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains(DEPLOYMENT)
            && err.contains("kubectl-edit")
            && err.contains("--force-conflicts"),
        "{err}"
    );
    assert!(
        applied(&mock.seen_since(mark)).is_empty(),
        "nothing applied while a conflict stands"
    );
    let mark = mock.mark();
    mock.apply(false, true)
        .await
        .0
        .expect("--force-conflicts takes ownership");
    let forced = mock
        .seen_since(mark)
        .into_iter()
        .find(|s| s.path == DEPLOYMENT_PATH && s.method == "PATCH" && !s.dry_run())
        .expect("applied");
    assert_eq!(forced.query.get("force").map(String::as_str), Some("true"));
}

pub(crate) async fn failed_rollout(mock: &Mock) {
    applied_once(mock).await;
    let config = "/api/v1/namespaces/ai-supply-chain/configmaps/framework-config";
    let data = |path: &str| mock.object(path).expect("applied")["data"].clone();
    let (config_before, secret_before) = (data(config), data(SECRET_PATH));
    mock.server.lock().expect("server").failing_image = Some(NEW_IMAGE.into());
    mock.edit(IMAGE, NEW_IMAGE);
    mock.edit("[server]\n", "[server]\nlog_level = \"debug\"\n");
    mock.set_secret("SCF_SECRET_KEY", "rotated-key-5d1e");
    let (result, steps) = mock.apply(true, false).await;
    let err = result.expect_err("the rollout fails").to_string();
    println!("{err}");
    for needle in [
        "Deployment ai-supply-chain/framework failed",
        "ProgressDeadlineExceeded",
        "timed out progressing",
        "Warning BackOff: Back-off restarting failed container framework",
        "failing pod framework-6c9f-x7k2p, container framework: waiting: CrashLoopBackOff",
        "| error: DATABASE_URL: connection refused (postgres:5432)",
        "rolled back k8s:apps/v1/Deployment/ai-supply-chain/framework to its previous pod template",
        "rolled back k8s:v1/ConfigMap/ai-supply-chain/framework-config to its previous data",
        "rolled back k8s:v1/Secret/ai-supply-chain/framework-secret to its previous data",
        "kept k8s:batch/v1/Job/ai-supply-chain/framework-migrate: it completed, so the database has the new schema",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(steps.contains(&Step::RolledBack(DEPLOYMENT.into())));
    let deployment = mock.object(DEPLOYMENT_PATH).expect("deployment");
    assert_eq!(
        deployment.pointer("/spec/template/spec/containers/0/image"),
        Some(&json!(IMAGE)),
        "back on the previous template"
    );
    assert_ne!(config_before, json!(null));
    assert_eq!(data(config), config_before, "the ConfigMap's previous data");
    assert_eq!(
        data(SECRET_PATH),
        secret_before,
        "the Secret's previous values"
    );
    let logs = mock
        .seen_since(0)
        .into_iter()
        .find(|s| s.path.ends_with("/log"))
        .expect("logs read");
    assert_eq!(
        logs.query.get("previous").map(String::as_str),
        Some("true"),
        "a restarted container's previous run"
    );
}

pub(crate) async fn stale_plan(mock: &Mock) {
    applied_once(mock).await;
    mock.edit(IMAGE, NEW_IMAGE);
    let saved = mock.plan(false, false).await.expect("plan");
    let again = Plan::from_json(&saved.to_json().expect("json")).expect("round trip");
    assert!(scf::plan::saved::check(&again, &mock.plan(false, false).await.expect("plan")).is_ok());
    // Someone changes the Deployment behind the plan's back.
    {
        let mut server = mock.server.lock().expect("server");
        let v = server.next_version();
        server.objects.get_mut(DEPLOYMENT_PATH).expect("deployment")["metadata"]["resourceVersion"] =
            json!(v);
    }
    let moved = scf::plan::saved::drift(&again, &mock.plan(false, false).await.expect("plan"));
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        moved[0].starts_with(DEPLOYMENT) && moved[0].contains("rv:"),
        "{moved:?}"
    );
    let mark = mock.mark();
    let (result, _) = mock.apply_saved(&again).await;
    let err = result.expect_err("a stale plan is refused").to_string();
    assert!(err.contains("stale") && err.contains(DEPLOYMENT), "{err}");
    assert!(
        applied(&mock.seen_since(mark)).is_empty(),
        "nothing applied"
    );
}

pub(crate) async fn lease_lost(mock: &Mock) {
    applied_once(mock).await;
    {
        let mut server = mock.server.lock().expect("server");
        server.lease_renewals_fail = true;
        // The migration runs for 50 polls (0.5 s); the Lease is renewed every 0.1 s.
        server.job_polls = 50;
    }
    mock.edit(IMAGE, NEW_IMAGE);
    let mark = mock.mark();
    let (result, _) = mock.apply_leasing(Duration::from_millis(300)).await;
    let err = result.expect_err("the apply stops").to_string();
    println!("{err}");
    for needle in [
        "the apply lost its Lease ai-supply-chain/scf-apply (the API server refused to renew it: etcdserver: request timed out (InternalError, HTTP 500))",
        &format!("stopped before it would apply {DEPLOYMENT}"),
        "see where the cluster stands with `scf plan`",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    let seen = mock.seen_since(mark);
    let renewal = seen
        .iter()
        .position(|s| s.method == "PUT" && s.path == LEASE_PATH)
        .expect("a renewal");
    let after: Vec<_> = seen[renewal + 1..]
        .iter()
        .filter(|s| s.writes() && s.path != LEASE_PATH)
        .collect();
    assert!(
        after.is_empty(),
        "written after the lease was lost: {after:?}"
    );
    assert_eq!(
        mock.object(DEPLOYMENT_PATH)
            .expect("deployment")
            .pointer("/spec/template/spec/containers/0/image"),
        Some(&json!(IMAGE)),
        "the Deployment was not written"
    );
}
