//! A saved plan is a review artifact bound to what apply does: apply recomputes the plan
//! and carries it out only when the saved one says exactly the same. An edited object, a
//! reordered or an added step is refused, naming what differs, and nothing is applied; the
//! plan as saved applies.

use crate::mock::{DEPLOYMENT, DEPLOYMENT_PATH, IMAGE, Mock, NEW_IMAGE, applied, applied_once};
use scf::cluster::ClusterError;
use scf::plan::{Desired, Plan, Step};
use serde_json::json;

const EVIL_IMAGE: &str = "registry.evil.example/miner:latest";

/// `saved` with `edit` made to it, applied: refused with a message containing `needle`,
/// and nothing reached the server but reads and dry runs.
async fn refused(mock: &Mock, saved: &Plan, edit: impl FnOnce(&mut Plan), needle: &str) {
    let mut tampered = saved.clone();
    edit(&mut tampered);
    let tampered = Plan::from_json(&tampered.to_json().expect("json")).expect("a plan file");
    let mark = mock.mark();
    let (result, _) = mock.apply_saved(&tampered).await;
    let err = match result {
        Err(e @ ClusterError::SavedPlan(_)) => e.to_string(),
        other => panic!("a tampered plan ({needle}) is refused, not {other:?}"),
    };
    println!("{err}");
    assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(
        applied(&mock.seen_since(mark)).is_empty(),
        "nothing applied for a tampered plan ({needle})"
    );
}

pub(crate) async fn saved_plan_is_bound(mock: &Mock) {
    applied_once(mock).await;
    mock.edit(IMAGE, NEW_IMAGE);
    let saved = mock.plan(false, false).await.expect("plan");
    assert!(
        saved.steps.len() >= 2,
        "a Job and a rollout: {:?}",
        saved.steps
    );

    refused(
        mock,
        &saved,
        |p| {
            let c = p.changes.iter_mut().find(|c| c.address == DEPLOYMENT);
            let Some(Some(Desired::Json { value })) = c.map(|c| c.desired.as_mut()) else {
                panic!("the Deployment's object");
            };
            value["spec"]["template"]["spec"]["containers"][0]["image"] = json!(EVIL_IMAGE);
        },
        &format!("{DEPLOYMENT}: what it becomes differs"),
    )
    .await;
    refused(
        mock,
        &saved,
        |p| p.steps.swap(0, 1),
        "command 1 differs: saved `",
    )
    .await;
    refused(
        mock,
        &saved,
        |p| p.steps.push(Step::RunJob("ai-supply-chain/evil".into())),
        "is not in the recomputed plan: saved `run the Job ai-supply-chain/evil",
    )
    .await;
    assert_eq!(
        mock.object(DEPLOYMENT_PATH).expect("deployment")["spec"]["template"]["spec"]["containers"]
            [0]["image"],
        json!(IMAGE),
        "the refusals changed nothing"
    );

    let (result, _) = mock.apply_saved(&saved).await;
    let report = result.expect("the plan as saved applies");
    assert!(
        report.applied.contains(&DEPLOYMENT.to_string()),
        "{report:?}"
    );
    assert_eq!(
        mock.object(DEPLOYMENT_PATH).expect("deployment")["spec"]["template"]["spec"]["containers"]
            [0]["image"],
        json!(NEW_IMAGE)
    );
}
