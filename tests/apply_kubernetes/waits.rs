//! Waits that fail at once rather than at their deadline: a Deployment whose new pod is
//! stuck (crash-looping, or unable to pull its image) while no condition says so yet, and
//! a migration Job that failed. Each failure names the pod and quotes what it logged; a
//! failed first apply removes what it created, and so does an interrupted one (Ctrl-C).

use crate::mock::{DEPLOYMENT, IMAGE, JOB, Mock, NEW_IMAGE, applied_once};
use scf::cluster::apply::Step;

const NAMESPACE: &str = "k8s:v1/Namespace/ai-supply-chain";

pub(crate) async fn stuck_pod(mock: &Mock, reason: &str) {
    applied_once(mock).await;
    mock.server.lock().expect("server").stuck = Some((NEW_IMAGE.into(), reason.into()));
    mock.edit(IMAGE, NEW_IMAGE);
    let (result, steps) = mock.apply(false, false).await;
    let err = result.expect_err("the wait fails").to_string();
    println!("{err}");
    for needle in [
        "Deployment ai-supply-chain/framework failed: pod framework-6c9f-x7k2p, container framework: ",
        &format!("waiting: {reason}: "),
        "which will not start by itself (1 of 3 replicas updated)",
        "failing pod framework-6c9f-x7k2p",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(
        !err.contains("did not become ready within") && !err.contains("old00"),
        "failed on the new pod, before the deadline:\n{err}"
    );
    if reason == "CrashLoopBackOff" {
        assert!(
            err.contains("| error: DATABASE_URL: connection refused (postgres:5432)"),
            "{err}"
        );
    } else {
        assert!(
            err.contains("framework-6c9f-x7k2p/framework logged nothing"),
            "{err}"
        );
    }
    assert!(!steps.contains(&Step::Ready(DEPLOYMENT.into())));
}

pub(crate) async fn failed_migration(mock: &Mock) {
    mock.server.lock().expect("server").failing_job = true;
    let (result, steps) = mock.apply(false, false).await;
    let err = result.expect_err("the migration fails").to_string();
    println!("{err}");
    for needle in [
        "Job ai-supply-chain/framework-migrate failed: condition Failed=True (BackoffLimitExceeded)",
        "failing pod framework-migrate-q8w4z, container migrate: terminated: Error (exit code 1)",
        "last log lines of framework-migrate-q8w4z/migrate:",
        "| error: migration 0007_orders: column \"sku\" already exists",
        "this first apply failed, so it removed what it created: deleted k8s:v1/Namespace/ai-supply-chain",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(
        steps.contains(&Step::Done(scf::plan::Action::Create, JOB.into()))
            && !steps
                .iter()
                .any(|s| matches!(s, Step::Done(_, a) if a == DEPLOYMENT)),
        "the Deployment waits for its migrations: {steps:?}"
    );
    assert!(
        steps.contains(&Step::Done(scf::plan::Action::Delete, NAMESPACE.into()))
            && mock.object("/api/v1/namespaces/ai-supply-chain").is_none(),
        "the namespace it created is gone: {steps:?}"
    );
    // Once the cluster has a recorded apply, a failed one leaves it in place.
    let mock = Mock::new();
    applied_once(&mock).await;
    mock.server.lock().expect("server").failing_job = true;
    mock.edit(IMAGE, NEW_IMAGE);
    let err = mock
        .apply(false, false)
        .await
        .0
        .expect_err("fails")
        .to_string();
    assert!(!err.contains("removed what it created"), "{err}");
    assert!(mock.object("/api/v1/namespaces/ai-supply-chain").is_some());
}

pub(crate) async fn interrupted(mock: &Mock) {
    // Interrupted between two writes of a first apply: it removes what it created.
    let config = "k8s:v1/ConfigMap/ai-supply-chain/framework-config";
    mock.interrupt_after(config);
    let (result, steps) = mock.apply(false, false).await;
    let err = result.expect_err("interrupted").to_string();
    println!("{err}");
    assert!(
        err.contains("interrupted: the apply stopped before it would apply k8s:v1/Secret/ai-supply-chain/framework-secret"),
        "{err}"
    );
    assert!(
        err.contains("this first apply failed, so it removed what it created: deleted k8s:v1/Namespace/ai-supply-chain"),
        "{err}"
    );
    assert!(
        !steps
            .iter()
            .any(|s| matches!(s, Step::Done(_, a) if a == JOB))
    );
    assert!(mock.object("/api/v1/namespaces/ai-supply-chain").is_none());

    // Interrupted while it waits for the migration Job of a later apply: the wait ends at
    // once, nothing after it is written, and what the cluster had stays.
    let mock = Mock::new();
    applied_once(&mock).await;
    mock.server.lock().expect("server").job_polls = 10_000;
    mock.edit(IMAGE, NEW_IMAGE);
    mock.interrupt_after(JOB);
    let (result, steps) = mock.apply(true, false).await;
    let err = result.expect_err("interrupted").to_string();
    println!("{err}");
    assert!(
        err.contains(&format!(
            "interrupted: the apply stopped before it would wait for {JOB}"
        )),
        "{err}"
    );
    assert!(
        !steps
            .iter()
            .any(|s| matches!(s, Step::Done(_, a) if a == DEPLOYMENT)),
        "{steps:?}"
    );
    assert!(!err.contains("removed what it created"), "{err}");
    assert!(mock.object("/api/v1/namespaces/ai-supply-chain").is_some());
}

/// `--atomic` after a replaced migration Job failed: the previous Job comes back as it was.
pub(crate) async fn atomic_restores_a_replaced_job(mock: &Mock) {
    applied_once(mock).await;
    let path = "/apis/batch/v1/namespaces/ai-supply-chain/jobs/framework-migrate";
    let image = |mock: &Mock| {
        mock.object(path).expect("the Job")["spec"]["template"]["spec"]["containers"][0]["image"]
            .clone()
    };
    assert_eq!(image(mock), IMAGE);
    mock.server.lock().expect("server").failing_job = true;
    mock.edit(IMAGE, NEW_IMAGE);
    let (result, steps) = mock.apply(true, false).await;
    let err = result.expect_err("the migration fails").to_string();
    println!("{err}");
    assert!(
        err.contains(&format!(
            "--atomic: re-created the previous {JOB}, which this apply replaced"
        )),
        "{err}"
    );
    assert!(steps.contains(&Step::RolledBack(JOB.into())), "{steps:?}");
    assert_eq!(
        image(mock),
        IMAGE,
        "the previous Job, on the previous image"
    );
}
