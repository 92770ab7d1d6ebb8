//! The Prometheus metrics `/metrics` serves, with the guide's names. The implementations
//! and the agents drive the implementation counters, the active gauge, job durations,
//! dead letters and prediction accuracy; the HTTP layer drives the request histogram
//! (labelled by route template, never raw path); database pool usage and queue depth are
//! sampled at scrape time.

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::domain::implementation::State;
use crate::queue::{STREAMS, StreamStatus};

/// Request-duration buckets, in seconds: sub-millisecond to the long tail up to the
/// request timeout, fine enough at the low end for `scf profile`'s percentiles of a
/// cached read (about a millisecond).
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
];

/// Every metric the runtime exports.
pub struct Metrics {
    registry: Registry,
    /// `framework_active_implementations_total`: implementations this process's agents
    /// are working on now.
    pub active_implementations: IntGauge,
    /// `framework_implementations_total{status}`: implementations that reached a final
    /// state (`succeeded`, `failed`, `cancelled`).
    pub implementations: IntCounterVec,
    /// `framework_implementations_success_total`: implementations that completed with a
    /// backtest at or above its accuracy floor.
    pub implementations_success: IntCounter,
    /// `framework_request_duration_seconds{method,route,status}`.
    pub request_duration: HistogramVec,
    /// `framework_db_pool_connections{state}`: `in_use`, `idle`, `max`.
    pub db_pool: IntGaugeVec,
    /// `framework_rate_limit_rejections_total{scope}`.
    pub rate_limit_rejections: IntCounterVec,
    /// `framework_queue_depth{stream}`: jobs not finished (waiting, in hand, awaiting retry).
    pub queue_depth: IntGaugeVec,
    /// `framework_queue_dead_letter_total{stream}`: jobs this process dead-lettered.
    pub queue_dead_letters: IntCounterVec,
    /// `framework_agent_job_duration_seconds{agent}`: time per job, by agent kind.
    pub agent_job_duration: HistogramVec,
    /// `framework_prediction_accuracy`: 1 − WAPE of the latest finished backtest.
    pub prediction_accuracy: Gauge,
    /// `framework_audit_write_failures_total`.
    pub audit_write_failures: IntCounter,
    /// `framework_queue_available`: 1 when the job queue answered its last check in time
    /// (uploads are accepted), else 0.
    pub queue_available: IntGauge,
    /// `framework_rate_limits_shared`: 1 when rate limits are shared through Redis, 0 while
    /// each replica enforces them alone (Redis unavailable, or none configured).
    pub rate_limits_shared: IntGauge,
    /// `framework_tenant_requests_total{tenant}`: authenticated requests per tenant
    /// (bounded by `max_tenants`).
    pub tenant_requests: IntCounterVec,
    /// `framework_websockets_open`: progress WebSockets open on this process.
    pub websockets_open: IntGauge,
    /// `framework_progress_pollers`: implementations whose progress this process polls
    /// for its WebSockets (one per implementation, however many sockets follow it).
    pub progress_pollers: IntGauge,
}

impl Metrics {
    /// A fresh registry with every metric registered. Names and labels are constants, so
    /// an error here is a bug (an invalid or duplicate name).
    pub fn new() -> Result<Self, prometheus::Error> {
        let m = Self {
            registry: Registry::new(),
            active_implementations: IntGauge::new(
                "framework_active_implementations_total",
                "Implementations running now",
            )?,
            implementations: counters(
                "framework_implementations_total",
                "Implementations that reached a final state, by status",
                "status",
            )?,
            implementations_success: IntCounter::new(
                "framework_implementations_success_total",
                "Implementations that succeeded",
            )?,
            request_duration: HistogramVec::new(
                HistogramOpts::new(
                    "framework_request_duration_seconds",
                    "HTTP request duration",
                )
                .buckets(BUCKETS.to_vec()),
                &["method", "route", "status"],
            )?,
            db_pool: IntGaugeVec::new(
                Opts::new(
                    "framework_db_pool_connections",
                    "Database pool connections by state",
                ),
                &["state"],
            )?,
            rate_limit_rejections: counters(
                "framework_rate_limit_rejections_total",
                "Requests refused by a rate limit",
                "scope",
            )?,
            queue_depth: IntGaugeVec::new(
                Opts::new(
                    "framework_queue_depth",
                    "Jobs not finished (waiting, in hand or awaiting retry), by stream",
                ),
                &["stream"],
            )?,
            queue_dead_letters: counters(
                "framework_queue_dead_letter_total",
                "Jobs moved to a dead-letter stream, by stream",
                "stream",
            )?,
            agent_job_duration: HistogramVec::new(
                HistogramOpts::new(
                    "framework_agent_job_duration_seconds",
                    "Time an agent spent on one job",
                )
                .buckets(BUCKETS.to_vec()),
                &["agent"],
            )?,
            prediction_accuracy: Gauge::new(
                "framework_prediction_accuracy",
                "1 - WAPE of the latest rolling-origin backtest",
            )?,
            audit_write_failures: IntCounter::new(
                "framework_audit_write_failures_total",
                "Audit entries that could not be written",
            )?,
            queue_available: IntGauge::new(
                "framework_queue_available",
                "1 when the job queue answered its last check in time, else 0",
            )?,
            rate_limits_shared: IntGauge::new(
                "framework_rate_limits_shared",
                "1 when rate limits are shared through Redis, 0 while enforced per replica",
            )?,
            tenant_requests: counters(
                "framework_tenant_requests_total",
                "Authenticated requests by tenant",
                "tenant",
            )?,
            websockets_open: IntGauge::new(
                "framework_websockets_open",
                "Progress WebSockets open",
            )?,
            progress_pollers: IntGauge::new(
                "framework_progress_pollers",
                "Implementations polled for progress WebSockets",
            )?,
        };
        for scope in ["ip", "user", "tenant"] {
            m.rate_limit_rejections.with_label_values(&[scope]);
        }
        for state in State::ALL.into_iter().filter(|s| s.is_final()) {
            m.implementations.with_label_values(&[state.as_str()]);
        }
        for stream in STREAMS {
            m.queue_depth.with_label_values(&[stream]);
            m.queue_dead_letters.with_label_values(&[stream]);
            m.agent_job_duration.with_label_values(&[stream]);
        }
        for c in m.collectors() {
            m.registry.register(c)?;
        }
        Ok(m)
    }

    /// Every metric, for registration.
    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.active_implementations.clone()),
            Box::new(self.implementations.clone()),
            Box::new(self.implementations_success.clone()),
            Box::new(self.request_duration.clone()),
            Box::new(self.db_pool.clone()),
            Box::new(self.rate_limit_rejections.clone()),
            Box::new(self.queue_depth.clone()),
            Box::new(self.queue_dead_letters.clone()),
            Box::new(self.agent_job_duration.clone()),
            Box::new(self.prediction_accuracy.clone()),
            Box::new(self.audit_write_failures.clone()),
            Box::new(self.queue_available.clone()),
            Box::new(self.rate_limits_shared.clone()),
            Box::new(self.tenant_requests.clone()),
            Box::new(self.websockets_open.clone()),
            Box::new(self.progress_pollers.clone()),
        ]
    }

    /// The name of every metric family registered, sorted (for the compiler's check that
    /// its alert rules and dashboards only query what the runtime exports).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .collectors()
            .iter()
            .flat_map(|c| c.desc().into_iter().map(|d| d.fq_name.clone()))
            .collect();
        names.sort();
        names
    }

    /// Records the queue's depth per stream.
    pub fn observe_queue(&self, status: &StreamStatus) {
        self.queue_depth
            .with_label_values(&[status.stream.as_str()])
            .set(i64::try_from(status.depth()).unwrap_or(i64::MAX));
    }

    /// Samples the pool, then renders every metric in the Prometheus text format.
    pub fn render(&self, pool: &sqlx::AnyPool) -> Result<String, prometheus::Error> {
        let size = i64::from(pool.size());
        let idle = i64::try_from(pool.num_idle()).unwrap_or(0);
        self.db_pool.with_label_values(&["in_use"]).set(size - idle);
        self.db_pool.with_label_values(&["idle"]).set(idle);
        self.db_pool
            .with_label_values(&["max"])
            .set(i64::from(pool.options().get_max_connections()));
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// A counter family with one label.
fn counters(name: &str, help: &str, label: &str) -> Result<IntCounterVec, prometheus::Error> {
    IntCounterVec::new(Opts::new(name, help), &[label])
}
