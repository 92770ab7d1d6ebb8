//! The optimization agents that run inside `scf run` (`--agents N`, or `--agents-only`
//! for worker-only deployments, with `--agent KIND` for one kind each): N forecasting
//! agents ([`forecasting`]) and N inventory agents ([`inventory`]), each a [`worker`] loop on its stream with a [`heartbeat`].
//! [`Agents::start`] supervises them: an agent asked to restart (`scf agents restart`)
//! finishes its job and is started afresh; [`Agents::stop`] lets jobs in hand finish
//! within a grace period (what is still in hand then is reclaimed by other agents). Where
//! agents run, [`reconcile::run`] also puts back the jobs a queue that started over lost.

pub mod forecasting;
pub mod heartbeat;
pub mod inventory;
mod job;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::implementations::reconcile;
use crate::queue::STREAMS;
use crate::state::AppState;
use worker::{Exit, Handler};

/// The default number of agents of each kind.
pub const DEFAULT_AGENTS: usize = 1;

/// Running agents.
pub struct Agents {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Agents {
    /// Starts `n` agents of each kind.
    pub fn start(state: &AppState, n: usize) -> Self {
        Self::start_kinds(state, n, &STREAMS)
    }

    /// Starts `n` agents of each kind in `kinds` (stream names, [`STREAMS`]): a worker
    /// deployment per kind runs `scf run --agents-only --agent KIND`.
    pub fn start_kinds(state: &AppState, n: usize, kinds: &[&str]) -> Self {
        let (stop, rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let forecasting = Arc::new(forecasting::Forecasting(state.clone()));
        let inventory = Arc::new(inventory::Inventory(state.clone()));
        let run_forecasting = kinds.contains(&forecasting.stream());
        let run_inventory = kinds.contains(&inventory.stream());
        for i in 0..n {
            if run_forecasting {
                tasks.spawn(supervise(state.clone(), forecasting.clone(), i, rx.clone()));
            }
            if run_inventory {
                tasks.spawn(supervise(state.clone(), inventory.clone(), i, rx.clone()));
            }
        }
        if n > 0 && !tasks.is_empty() {
            tasks.spawn(reconcile::run(state.clone(), rx));
        }
        Self { stop, tasks }
    }

    /// Stops taking jobs and waits up to `grace` for the jobs in hand.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(
                "agents did not finish their jobs within the grace period; other agents will reclaim them"
            );
        }
    }
}

async fn supervise<H: Handler>(
    state: AppState,
    handler: Arc<H>,
    index: usize,
    stop: watch::Receiver<bool>,
) {
    loop {
        match worker::run(state.clone(), handler.clone(), index, stop.clone()).await {
            Exit::Stopped => break,
            Exit::Restart => {
                tracing::info!(kind = handler.stream(), index, "agent restarting");
            }
        }
    }
}
