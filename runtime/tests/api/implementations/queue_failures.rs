//! When jobs go wrong: an agent killed mid-job (its job reclaimed and the results written
//! once), a poison job dead-lettered and shown by `scf queue status`, and a job that kills
//! every agent failing its implementation.

use std::sync::Arc;
use std::time::Duration;

use scf_runtime::agents::Agents;
use scf_runtime::agents::forecasting::Forecasting;
use scf_runtime::agents::worker::{self, Handler, JobError};
use scf_runtime::queue::{FORECASTING, Message};

use super::{create, demand_csv, finished, forecasting_until, redis_queue, results};
use crate::cli::scf;
use crate::helpers::{Backend, Options, spawn_app};

/// The real forecasting agent, except that it dies (never acknowledges) during its first
/// job: after doing its work when the flag is set, else before.
struct DiesMidJob(Forecasting, tokio::sync::mpsc::Sender<()>, bool);

impl Handler for DiesMidJob {
    fn stream(&self) -> &'static str {
        FORECASTING
    }

    async fn handle(&self, msg: &Message) -> Result<(), JobError> {
        if self.2 {
            self.0.handle(msg).await?;
        }
        let _ = self.1.send(()).await;
        std::future::pending().await
    }

    async fn dead(&self, _: &Message, _: &str) {}
}

#[tokio::test]
async fn a_job_whose_agent_died_is_reclaimed_and_written_once() {
    let app = spawn_app(
        Options::new(Backend::Postgres)
            .redis()
            .agents(0)
            .queue(redis_queue(Duration::from_secs(1), 5)),
    )
    .await;
    let t = app.tenant("acme", "small").await;
    let (_, created) = create(&app, &t.token, &demand_csv(30)).await;
    let id = created["id"].as_str().expect("id").to_owned();

    let (died_tx, mut died) = tokio::sync::mpsc::channel(1);
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let doomed = tokio::spawn(worker::run(
        app.state.clone(),
        Arc::new(DiesMidJob(Forecasting(app.state.clone()), died_tx, true)),
        0,
        stop,
    ));
    died.recv()
        .await
        .expect("the doomed agent did its job's work");
    doomed.abort();
    let held = app.state.queue.status(FORECASTING).await.expect("status");
    assert_eq!(
        held.pending, 1,
        "the dead agent's job is still pending: {held:?}"
    );

    let agents = Agents::start(&app.state, 1);
    let done = finished(&app, &t.token, &id).await;
    // The other chunk may finish the run first (the dead agent's forecasts were written);
    // either way its job is reclaimed after the visibility timeout and acknowledged.
    forecasting_until(&app, |s| s.depth() == 0).await;
    agents.stop(Duration::from_secs(10)).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let (_, rows) = results(&app, &t.token, &id).await;
    let mut skus: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["sku"].as_str())
        .collect();
    assert_eq!(skus.len(), 30, "each SKU once: {rows}");
    skus.dedup();
    assert_eq!(skus.len(), 30, "no duplicates");
    let status = app.state.queue.status(FORECASTING).await.expect("status");
    assert_eq!((status.depth(), status.dead), (0, 0), "{status:?}");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("framework_implementations_total{status=\"succeeded\"} 1")
            && metrics
                .contains("framework_agent_job_duration_seconds_count{agent=\"forecasting\"} 2"),
        "both chunks done by the live agent, the run counted once: {metrics}"
    );
}

#[tokio::test]
async fn a_poison_job_is_dead_lettered_and_queue_status_shows_it() {
    let app = spawn_app(
        Options::new(Backend::Postgres)
            .redis()
            .agents(1)
            .queue(redis_queue(Duration::from_secs(60), 3)),
    )
    .await;
    app.state
        .queue
        .enqueue(FORECASTING, "{\"not\": \"a job\"}")
        .await
        .expect("enqueue");
    forecasting_until(&app, |s| s.dead == 1).await;
    let (ok, out) = scf(&app.env, &["queue", "status"]).await;
    assert!(ok, "{out}");
    let forecasting = out
        .lines()
        .find(|l| l.starts_with("forecasting"))
        .expect("forecasting line");
    assert_eq!(
        forecasting.split_whitespace().collect::<Vec<_>>(),
        ["forecasting", "0", "0", "0", "-", "1"],
        "{out}"
    );
    assert!(
        out.contains("in forecasting after 3 attempts: malformed job"),
        "{out}"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("framework_queue_dead_letter_total{stream=\"forecasting\"} 1"),
        "{metrics}"
    );
    let (ok, out) = scf(
        &app.env,
        &["queue", "retry-dead", "--stream", "forecasting"],
    )
    .await;
    assert!(
        ok && out.contains("forecasting: 1 dead letter(s) queued again"),
        "{out}"
    );
}

#[tokio::test]
async fn a_job_that_kills_every_agent_fails_its_implementation() {
    let app = spawn_app(
        Options::new(Backend::Sqlite)
            .agents(0)
            .queue(redis_queue(Duration::from_millis(300), 2)),
    )
    .await;
    let t = app.tenant("acme", "small").await;
    let (_, created) = create(&app, &t.token, &demand_csv(3)).await;
    let id = created["id"].as_str().expect("id").to_owned();
    for _ in 0..2 {
        let (died_tx, mut died) = tokio::sync::mpsc::channel(1);
        let (_stop_tx, stop) = tokio::sync::watch::channel(false);
        let doomed = tokio::spawn(worker::run(
            app.state.clone(),
            Arc::new(DiesMidJob(Forecasting(app.state.clone()), died_tx, false)),
            0,
            stop,
        ));
        died.recv().await.expect("the doomed agent took the job");
        doomed.abort();
    }
    let agents = Agents::start(&app.state, 1);
    let done = finished(&app, &t.token, &id).await;
    agents.stop(Duration::from_secs(10)).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert!(
        done["error"].as_str().is_some_and(
            |e| e.contains("gave up after 2 attempts") && e.contains("visibility timeout")
        ),
        "{done}"
    );
    let metrics = app.metrics().await;
    for line in [
        "framework_implementations_total{status=\"failed\"} 1",
        "framework_queue_dead_letter_total{stream=\"forecasting\"} 1",
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
}
