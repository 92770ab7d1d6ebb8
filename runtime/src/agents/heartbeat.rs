//! Agent heartbeats: each agent publishes who it is, when it last beat and which jobs
//! it holds (what `scf agents status` shows), and watches the restart generation
//! (`scf agents restart` bumps it; the agent then finishes its job and restarts).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::queue::{Heartbeat, unix_ms};
use crate::state::AppState;

/// How often agents beat.
pub const INTERVAL: Duration = Duration::from_secs(2);

/// An agent's live record, shared by its loop and its heartbeat.
#[derive(Clone)]
pub struct Beat {
    id: Arc<str>,
    record: Arc<Mutex<Heartbeat>>,
}

impl Beat {
    /// A record for a new agent named `name` (unique in the process) of `kind`.
    pub fn new(name: &str, kind: &str) -> Self {
        let process = format!("{}:{}", host(), std::process::id());
        let started = unix_ms();
        let id = format!("{process}/{name}/{started}");
        Self {
            record: Arc::new(Mutex::new(Heartbeat {
                agent: id.clone(),
                kind: kind.to_owned(),
                process,
                started_ms: started,
                beat_ms: started,
                in_hand: Vec::new(),
                done: 0,
            })),
            id: id.into(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Heartbeat> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The agent's id (also its consumer name).
    pub fn agent(&self) -> &str {
        &self.id
    }

    /// Marks a job as in hand.
    pub fn take(&self, id: &str) {
        self.lock().in_hand.push(id.to_owned());
    }

    /// Marks a job as done.
    pub fn release(&self, id: &str) {
        let mut b = self.lock();
        b.in_hand.retain(|j| j != id);
        b.done += 1;
    }

    fn snapshot(&self) -> Heartbeat {
        let mut b = self.lock();
        b.beat_ms = unix_ms();
        b.clone()
    }
}

/// The host name, for telling processes apart.
fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Beats every [`INTERVAL`]; sets `restart` once the generation moves past `generation`.
pub async fn run(state: AppState, beat: Beat, generation: u64, restart: watch::Sender<bool>) {
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tick.tick().await;
        if let Err(e) = state.queue.beat(&beat.snapshot()).await {
            tracing::warn!(error = %e, "heartbeat failed");
        }
        match state.queue.generation().await {
            Ok(g) if g > generation => {
                let _ = restart.send(true);
            }
            _ => {}
        }
    }
}
