//! Tenants on a cluster, as on a host: adding one plans `tenant:ID` (its plan, industry
//! and admin) with the tenants Job that provisions it after the migration Job; once
//! applied, the next plan finds nothing to do; removing it is refused without
//! `--allow-data-loss`, writing nothing, and goes through with it.

use crate::mock::{Mock, addresses, applied, applied_once, shown};
use scf::plan::Action;

const TENANT: &str = "\n[[tenants]]\nid = \"customer_123\"\nplan = \"medium\"\nindustry = \"FURNITURE\"\nadmin_email = \"admin@customer.com\"\n";
const TENANTS_JOB: &str = "k8s:batch/v1/Job/ai-supply-chain/framework-tenants";
const TENANTS_JOB_PATH: &str = "/apis/batch/v1/namespaces/ai-supply-chain/jobs/framework-tenants";
const MIGRATE_JOB_PATH: &str = "/apis/batch/v1/namespaces/ai-supply-chain/jobs/framework-migrate";

pub(crate) async fn added_then_removed(mock: &Mock) {
    applied_once(mock).await;
    mock.append(TENANT);
    let plan = mock.plan(false, false).await.expect("plan");
    println!("{}", shown(&plan));
    let creates = addresses(&plan, Action::Create);
    assert!(
        creates.contains(&"tenant:customer_123") && creates.contains(&TENANTS_JOB),
        "{creates:?}"
    );
    let tenant = plan
        .changes
        .iter()
        .find(|c| c.address == "tenant:customer_123")
        .expect("the tenant's line");
    assert_eq!(
        tenant.diff.as_deref(),
        Some("+ plan medium, industry FURNITURE, admin admin@customer.com\n")
    );

    let mark = mock.mark();
    let (result, _) = mock.apply(false, false).await;
    let report = result.expect("apply");
    assert!(
        report.applied.contains(&TENANTS_JOB.to_string()),
        "{report:?}"
    );
    let order: Vec<String> = applied(&mock.seen_since(mark))
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    let tenants_job = order.iter().position(|p| p == TENANTS_JOB_PATH);
    let migrate_job = order.iter().position(|p| p == MIGRATE_JOB_PATH);
    assert!(tenants_job.is_some(), "{order:?}");
    assert!(
        migrate_job.is_none() || migrate_job < tenants_job,
        "the tenants Job runs after the migration Job: {order:?}"
    );
    let job = mock.object(TENANTS_JOB_PATH).expect("the tenants Job");
    let first = &job["spec"]["template"]["spec"]["initContainers"][0]["command"];
    assert_eq!(
        first,
        &serde_json::json!([
            "scf",
            "tenant",
            "create",
            "--if-absent",
            "--tenant-id",
            "customer_123",
            "--plan",
            "medium",
            "--industry",
            "FURNITURE",
            "--admin-email",
            "admin@customer.com"
        ])
    );

    let again = mock.plan(false, false).await.expect("plan");
    assert!(!again.has_changes(), "{}", shown(&again));
    assert!(
        again
            .changes
            .iter()
            .any(|c| c.address == "tenant:customer_123" && c.action == Action::NoOp),
        "the provisioned tenant is recorded"
    );

    mock.edit(TENANT, "");
    let plan = mock.plan(false, false).await.expect("plan");
    let text = shown(&plan);
    println!("{text}");
    assert!(
        text.contains("removing tenant `customer_123` drops its data; pass --allow-data-loss"),
        "{text}"
    );
    assert!(addresses(&plan, Action::Delete).contains(&"tenant:customer_123"));
    let mark = mock.mark();
    let (result, _) = mock.apply(false, false).await;
    let err = result
        .expect_err("refused without --allow-data-loss")
        .to_string();
    assert!(err.contains("--allow-data-loss"), "{err}");
    assert!(
        applied(&mock.seen_since(mark)).is_empty(),
        "nothing applied when a tenant's removal is refused"
    );

    mock.allow_data_loss(true);
    let (result, _) = mock.apply(false, false).await;
    let report = result.expect("apply with --allow-data-loss");
    assert!(
        report.pruned.contains(&TENANTS_JOB.to_string()),
        "{report:?}"
    );
    let after = mock.plan(false, false).await.expect("plan");
    assert!(
        after
            .changes
            .iter()
            .all(|c| !c.address.starts_with("tenant:")),
        "the removed tenant is forgotten: {}",
        shown(&after)
    );
    assert!(!after.has_changes(), "{}", shown(&after));
}
