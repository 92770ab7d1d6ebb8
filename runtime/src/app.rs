//! The server ([`Application`]): built from settings over the shared [`AppState`], bound
//! (port 0 allowed), and run with its agents until a shutdown signal, after which
//! in-flight requests get the configured grace period to finish. The top of the runtime:
//! it imports the rest, and only the `scf run` command imports it.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

mod serve;

use crate::agents::{Agents, DEFAULT_AGENTS};
use crate::settings::{Mode, Settings};
use crate::state::{AppState, Services, StartError};

/// A bound, ready-to-run server: the API's listener and, when Prometheus is on, the
/// metrics listener.
pub struct Application {
    listener: TcpListener,
    metrics: Option<TcpListener>,
    state: AppState,
}

impl Application {
    /// Connects, migrates in dev (production waits for `scf db migrate`), and binds.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let services = Services::connect(&settings).await?;
        if settings.mode == Mode::Development {
            services.migrate(None).await?;
        }
        let listener = bind(settings.listen).await?;
        let metrics = match settings.prometheus_enabled {
            true => Some(bind(settings.metrics_listen).await?),
            false => None,
        };
        Ok(Self {
            listener,
            metrics,
            state: AppState::new(settings, services)?,
        })
    }

    /// The metrics listener's bound address, when Prometheus is on.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.settings.listen)
    }

    /// The shared state.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves (with the agents) until `shutdown` completes, then drains in-flight requests
    /// and the agents' jobs together, within one grace period: the whole stop takes at
    /// most `SHUTDOWN_GRACE_SECONDS`, which the generated units' stop timeouts exceed.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) {
        let grace = self.state.settings.shutdown_grace;
        let header_timeout = self.state.settings.connections.header_timeout;
        let retention = tokio::spawn(retention_loop(self.state.clone()));
        let cache_sync = tokio::spawn({
            let cache = self.state.tenancy.stores.cache().clone();
            async move { cache.run_sync().await }
        });
        let agents = Agents::start(&self.state, agent_count(&self.state.settings));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut stop_rx = stop_rx.clone();
            async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            }
        };
        let metrics = self.metrics.map(|listener| {
            tokio::spawn(serve::serve(
                listener,
                crate::http::metrics_router(self.state.clone()),
                header_timeout,
                stopped(),
            ))
        });
        let router = crate::http::router(self.state);
        let server = tokio::spawn(serve::serve(
            self.listener,
            router,
            header_timeout,
            stopped(),
        ));
        shutdown.await;
        tracing::info!(
            grace_seconds = grace.as_secs(),
            "shutting down; draining in-flight requests and jobs"
        );
        let _ = stop_tx.send(true);
        let requests = async {
            if tokio::time::timeout(grace, server).await.is_err() {
                tracing::warn!("in-flight requests did not finish within the grace period");
            }
        };
        tokio::join!(requests, agents.stop(grace));
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        retention.abort();
        cache_sync.abort();
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub async fn run_until_stopped(self) {
        self.run_until(shutdown_signal()).await;
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Agents of each kind the settings ask for.
pub fn agent_count(settings: &Settings) -> usize {
    settings.agents.unwrap_or(DEFAULT_AGENTS)
}

/// Runs only the agents of `kinds` (`scf run --agents-only`) until `shutdown`, then lets
/// jobs in hand finish within the grace period.
pub async fn run_agents_until(
    state: AppState,
    kinds: &[&str],
    shutdown: impl Future<Output = ()> + Send,
) {
    let agents = Agents::start_kinds(&state, agent_count(&state.settings).max(1), kinds);
    shutdown.await;
    agents.stop(state.settings.shutdown_grace).await;
}

/// Purges audit entries past retention, hourly.
async fn retention_loop(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match state
            .audit
            .purge(state.settings.security.audit_retention)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "audit entries past retention purged"),
            Err(e) => tracing::warn!(error = %e, "audit retention purge failed"),
        }
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT). The handlers are registered when this is
/// called, not when the future is first polled: a SIGTERM that arrives once the server
/// answers is a clean shutdown, never the default action that kills it mid-request.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = [SignalKind::terminate(), SignalKind::interrupt()].map(signal);
    async move {
        let [term, int] = handlers.map(|handler| async move {
            match handler {
                Ok(mut s) => {
                    s.recv().await;
                }
                // No handler: this signal keeps its default action; wait on the other.
                Err(_) => std::future::pending::<()>().await,
            }
        });
        tokio::select! {
            () = term => {}
            () = int => {}
        }
    }
}
