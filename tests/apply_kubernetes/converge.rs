//! What a plan shows and an apply changes as framework.toml moves: everything created in
//! dependency order, nothing on a second plan, only the Deployment and Job on a new image,
//! and a removed object pruned last.

use crate::mock::{
    CANARY, DEPLOYMENT, DEPLOYMENT_PATH, IMAGE, JOB, LEASE_PATH, Mock, NEW_IMAGE, SECRET,
    SECRET_PATH, addresses, applied, applied_once, shown,
};
use scf::cluster::apply::Step;
use scf::plan::Action;
use serde_json::Value;

pub(crate) async fn first_apply(mock: &Mock) {
    let mark = mock.mark();
    let plan = mock.plan(false, false).await.expect("plan");
    let seen = mock.seen_since(mark);
    assert!(
        seen.iter().all(|s| !s.writes()),
        "a plan writes nothing: {seen:?}"
    );
    assert!(
        addresses(&plan, Action::Update).is_empty() && addresses(&plan, Action::Delete).is_empty()
    );
    let creates = addresses(&plan, Action::Create);
    assert!(
        creates.contains(&DEPLOYMENT) && creates.contains(&JOB) && creates.contains(&SECRET),
        "{creates:?}"
    );
    assert_eq!(creates.len(), plan.changes.len(), "everything is new");
    println!("{}", shown(&plan));

    let mark = mock.mark();
    let (result, steps) = mock.apply(false, false).await;
    let report = result.expect("apply");
    assert_eq!(report.applied.len(), plan.changes.len());
    let seen = mock.seen_since(mark);
    let writes = applied(&seen);
    // The namespace first, then the lease, the inventory, and the rest in order.
    assert_eq!(writes[0].0, "/api/v1/namespaces/ai-supply-chain");
    let first_lease = seen
        .iter()
        .position(|s| s.method == "POST" && s.path.ends_with("/leases"))
        .expect("lease taken");
    let second_apply = seen
        .iter()
        .position(|s| s.method == "PATCH" && !s.dry_run() && s.path.contains("/configmaps/"))
        .expect("configmap applied");
    assert!(
        first_lease < second_apply,
        "the lease is held before anything in the namespace is written"
    );
    let order: Vec<&str> = writes
        .iter()
        .map(|(p, _)| p.rsplit('/').nth(1).unwrap_or_default())
        .collect();
    let pos = |plural: &str| {
        order
            .iter()
            .position(|p| *p == plural)
            .unwrap_or_else(|| panic!("{plural} applied: {order:?}"))
    };
    assert!(
        pos("configmaps") < pos("statefulsets")
            && pos("statefulsets") < pos("jobs")
            && pos("jobs") < pos("deployments")
    );
    assert!(
        pos("deployments") < pos("ingresses") && pos("ingresses") < pos("horizontalpodautoscalers")
    );
    assert!(
        writes.contains(&(SECRET_PATH.to_string(), "scf-secrets".to_string())),
        "the Secret's values are filled"
    );
    let secret = mock.object(SECRET_PATH).expect("the Secret");
    assert_eq!(
        secret["data"].as_object().map(|d| d.len()),
        Some(6),
        "{secret}"
    );
    assert!(
        steps.contains(&Step::Ready(JOB.into())) && steps.contains(&Step::Ready(DEPLOYMENT.into()))
    );
    assert!(mock.object(LEASE_PATH).is_none(), "the lease is released");
    let inventory = mock
        .object("/api/v1/namespaces/ai-supply-chain/secrets/scf-inventory")
        .expect("inventory");
    assert!(inventory["data"].get("objects.json").is_some());
    // No value of a secret ever travelled outside the Secret's own data.
    for s in &seen {
        let text = s.body.as_ref().map(Value::to_string).unwrap_or_default();
        assert!(
            !text.contains(CANARY),
            "a secret in plain text in {} {}",
            s.method,
            s.path
        );
    }
}

pub(crate) async fn second_plan(mock: &Mock) {
    applied_once(mock).await;
    for resolve in [false, true] {
        let plan = mock.plan(resolve, false).await.expect("plan");
        assert!(
            !plan.has_changes(),
            "no change (resolve={resolve}):\n{}",
            shown(&plan)
        );
        assert!(shown(&plan).contains("No changes"), "{}", shown(&plan));
    }
    // Even after the finished Job is deleted by its TTL, it is not run again.
    mock.server
        .lock()
        .expect("server")
        .objects
        .remove("/apis/batch/v1/namespaces/ai-supply-chain/jobs/framework-migrate");
    let plan = mock.plan(false, false).await.expect("plan");
    assert!(!plan.has_changes(), "{}", shown(&plan));
}

pub(crate) async fn image_change(mock: &Mock) {
    applied_once(mock).await;
    mock.edit(IMAGE, NEW_IMAGE);
    let plan = mock.plan(false, false).await.expect("plan");
    println!("{}", shown(&plan));
    let workers = ["forecasting", "inventory"]
        .map(|kind| format!("k8s:apps/v1/Deployment/ai-supply-chain/framework-agent-{kind}"));
    assert_eq!(
        addresses(&plan, Action::Update),
        vec![DEPLOYMENT, workers[0].as_str(), workers[1].as_str(), JOB],
        "the API and each agent kind's workers roll; the Job reruns the new image's migrations"
    );
    assert!(
        addresses(&plan, Action::Create).is_empty() && addresses(&plan, Action::Delete).is_empty()
    );
    let diff = plan
        .changes
        .iter()
        .find(|c| c.address == DEPLOYMENT)
        .and_then(|c| c.diff.clone())
        .expect("a diff");
    assert!(
        diff.contains(&format!("-        image: {IMAGE}"))
            && diff.contains(&format!("+        image: {NEW_IMAGE}")),
        "{diff}"
    );
    assert!(
        !diff.contains("managedFields")
            && !diff.contains("resourceVersion")
            && !diff.contains("revisionHistoryLimit"),
        "{diff}"
    );
    let mark = mock.mark();
    mock.apply(false, false).await.0.expect("apply");
    let seen = mock.seen_since(mark);
    let writes: Vec<String> = applied(&seen)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !p.ends_with("scf-inventory"))
        .collect();
    assert_eq!(
        writes,
        vec![
            "/apis/batch/v1/namespaces/ai-supply-chain/jobs/framework-migrate".to_string(),
            DEPLOYMENT_PATH.into(),
            format!("{DEPLOYMENT_PATH}-agent-forecasting"),
            format!("{DEPLOYMENT_PATH}-agent-inventory"),
        ]
    );
    assert!(
        seen.iter()
            .any(|s| s.method == "DELETE" && s.path.ends_with("/jobs/framework-migrate")),
        "the changed Job is replaced"
    );
}

pub(crate) async fn prune(mock: &Mock) {
    applied_once(mock).await;
    mock.edit(
        "[kubernetes]",
        "[monitoring]\nprometheus = false\n\n[kubernetes]",
    );
    let plan = mock.plan(false, false).await.expect("plan");
    println!("{}", shown(&plan));
    let rules = "k8s:v1/ConfigMap/ai-supply-chain/prometheus-rules";
    let scrape = "k8s:v1/ConfigMap/ai-supply-chain/prometheus-scrape";
    assert_eq!(addresses(&plan, Action::Delete), vec![rules, scrape]);
    assert!(shown(&plan).contains(&format!("- {scrape}")));
    let mark = mock.mark();
    let (result, _) = mock.apply(false, false).await;
    let report = result.expect("apply");
    assert_eq!(report.pruned, vec![rules.to_string(), scrape.to_string()]);
    let seen = mock.seen_since(mark);
    let last_delete = seen
        .iter()
        .rposition(|s| s.method == "DELETE" && s.path.ends_with("/prometheus-scrape"))
        .expect("pruned");
    let last_apply = seen
        .iter()
        .rposition(|s| s.method == "PATCH" && !s.dry_run() && !s.path.ends_with("scf-inventory"))
        .expect("applied");
    assert!(last_apply < last_delete, "prunes come last");
    assert!(
        mock.object("/api/v1/namespaces/ai-supply-chain/configmaps/prometheus-scrape")
            .is_none()
    );
    let again = mock.plan(false, false).await.expect("plan");
    assert!(!again.has_changes(), "{}", shown(&again));
}
