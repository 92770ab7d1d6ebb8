//! What `scf profile` found over its window, and how it is shown: a terminal report, or
//! the same as JSON (`--format json`) for a script or CI to keep.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::statements::Statement;
use crate::exposition::{Histogram, Sample, histograms};

/// The request histogram.
const REQUESTS: &str = "framework_request_duration_seconds";
/// The agents' job histogram.
const JOBS: &str = "framework_agent_job_duration_seconds";
/// The queue-depth gauge.
const QUEUE_DEPTH: &str = "framework_queue_depth";

/// The whole profile.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The metrics listener profiled.
    pub target: String,
    /// The window, in seconds.
    pub duration_seconds: f64,
    /// Requests per route, busiest first.
    pub routes: Vec<Route>,
    /// The slowest statements, or why there are none.
    pub statements: Section<Vec<Statement>>,
    /// Redis round trips.
    pub redis: Section<Latency>,
    /// Jobs not finished per stream, at the end of the window.
    pub queue_depth: BTreeMap<String, f64>,
    /// Jobs per agent kind.
    pub agents: Vec<Jobs>,
    /// The CPU flame graph.
    pub cpu_profile: Section<FlameGraph>,
}

/// A part of the report that could not be measured says why, and how to fix it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section<T> {
    /// Measured.
    Measured(T),
    /// Not measured, and why.
    Unavailable(String),
}

/// One route's requests over the window.
#[derive(Debug, Serialize)]
pub struct Route {
    /// HTTP method.
    pub method: String,
    /// The route template, e.g. `/v1/implementations/{id}`.
    pub route: String,
    /// Requests.
    pub requests: f64,
    /// Requests per second.
    pub rate: f64,
    /// Requests answered with a 5xx status.
    pub errors: f64,
    /// Percentiles, in milliseconds.
    pub latency_ms: Percentiles,
}

/// p50, p95 and p99, in milliseconds, estimated from histogram buckets.
#[derive(Debug, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// One agent kind's jobs over the window.
#[derive(Debug, Serialize)]
pub struct Jobs {
    /// The agent kind.
    pub agent: String,
    /// Jobs finished.
    pub jobs: f64,
    /// Time per job, in milliseconds.
    pub duration_ms: Percentiles,
}

/// Sampled round-trip times, in milliseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Samples taken.
    pub samples: usize,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// The flame graph written.
#[derive(Debug, Serialize)]
pub struct FlameGraph {
    /// Where.
    pub path: String,
    /// Its size.
    pub bytes: usize,
}

impl Percentiles {
    fn of(h: &Histogram) -> Self {
        let ms = |q| h.quantile(q).map(|s| s * 1000.0);
        Self {
            p50: ms(0.5),
            p95: ms(0.95),
            p99: ms(0.99),
        }
    }
}

impl Latency {
    /// The percentiles of `samples` (milliseconds); `None` without any.
    pub fn of(mut samples: Vec<f64>) -> Option<Self> {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        (!samples.is_empty()).then(|| Self {
            samples: samples.len(),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        })
    }
}

/// Requests per `(method, route)` between two pages, busiest first.
pub fn routes(before: &[Sample], after: &[Sample], seconds: f64) -> Vec<Route> {
    let key = ["method", "route", "status"];
    let was = histograms(before, REQUESTS, &key);
    let mut by_route: BTreeMap<(String, String), (Histogram, f64)> = BTreeMap::new();
    for (k, now) in histograms(after, REQUESTS, &key) {
        let delta = now.since(was.get(&k));
        let entry = by_route.entry((k[0].clone(), k[1].clone())).or_default();
        if k[2].starts_with('5') {
            entry.1 += delta.count;
        }
        entry.0.add(&delta);
    }
    let mut out: Vec<Route> = by_route
        .into_iter()
        .filter(|(_, (h, _))| h.count > 0.0)
        .map(|((method, route), (h, errors))| Route {
            method,
            route,
            requests: h.count,
            rate: h.count / seconds,
            errors,
            latency_ms: Percentiles::of(&h),
        })
        .collect();
    out.sort_by(|a, b| b.requests.total_cmp(&a.requests));
    out
}

/// Jobs per agent kind between two pages.
pub fn agents(before: &[Sample], after: &[Sample]) -> Vec<Jobs> {
    let was = histograms(before, JOBS, &["agent"]);
    histograms(after, JOBS, &["agent"])
        .into_iter()
        .map(|(k, now)| {
            let h = now.since(was.get(&k));
            Jobs {
                agent: k[0].clone(),
                jobs: h.count,
                duration_ms: Percentiles::of(&h),
            }
        })
        .collect()
}

/// The queue depth per stream on a page.
pub fn queue_depth(page: &[Sample]) -> BTreeMap<String, f64> {
    page.iter()
        .filter(|s| s.name == QUEUE_DEPTH)
        .filter_map(|s| Some((s.labels.get("stream")?.clone(), s.value)))
        .collect()
}

/// Milliseconds, or `-` when nothing was observed.
fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2} ms"))
}

/// One line of a statement: whitespace collapsed, cut to `width` characters.
fn one_line(query: &str, width: usize) -> String {
    let flat = query.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(width) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

impl Report {
    /// The terminal report.
    pub fn write_text(&self, out: &mut (dyn Write + Send)) -> std::io::Result<()> {
        writeln!(
            out,
            "profile of the runtime at {} over {:.0} s",
            self.target, self.duration_seconds
        )?;
        writeln!(
            out,
            "\nrequests (percentiles interpolated within the request histogram's buckets)"
        )?;
        if self.routes.is_empty() {
            writeln!(out, "  no requests in the window")?;
        } else {
            writeln!(
                out,
                "  {:<44} {:>9} {:>8} {:>7} {:>10} {:>10} {:>10}",
                "ROUTE", "REQUESTS", "REQ/S", "5XX", "P50", "P95", "P99"
            )?;
        }
        for r in &self.routes {
            writeln!(
                out,
                "  {:<44} {:>9} {:>8.1} {:>7} {:>10} {:>10} {:>10}",
                format!("{} {}", r.method, r.route),
                r.requests,
                r.rate,
                r.errors,
                ms(r.latency_ms.p50),
                ms(r.latency_ms.p95),
                ms(r.latency_ms.p99)
            )?;
        }
        writeln!(
            out,
            "\nslowest statements (pg_stat_statements, time in the window)"
        )?;
        match &self.statements {
            Section::Measured(s) if s.is_empty() => writeln!(out, "  none ran")?,
            Section::Measured(s) => {
                writeln!(
                    out,
                    "  {:>8} {:>11} {:>10} {:>8}  QUERY",
                    "CALLS", "TOTAL", "MEAN", "ROWS"
                )?;
                for q in s {
                    writeln!(
                        out,
                        "  {:>8} {:>8.1} ms {:>7.3} ms {:>8}  {}",
                        q.calls,
                        q.total_ms,
                        q.mean_ms,
                        q.rows,
                        one_line(&q.query, 72)
                    )?;
                }
            }
            Section::Unavailable(why) => writeln!(out, "  unavailable: {why}")?,
        }
        match &self.redis {
            Section::Measured(l) => writeln!(
                out,
                "\nredis: {} PINGs, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                l.samples, l.p50_ms, l.p99_ms, l.max_ms
            )?,
            Section::Unavailable(why) => writeln!(out, "\nredis: unavailable: {why}")?,
        }
        let depth: Vec<String> = self
            .queue_depth
            .iter()
            .map(|(s, d)| format!("{s} {d}"))
            .collect();
        writeln!(out, "queue depth: {}", depth.join(", "))?;
        for a in &self.agents {
            writeln!(
                out,
                "agent {}: {} jobs, p50 {}, p95 {}, p99 {}",
                a.agent,
                a.jobs,
                ms(a.duration_ms.p50),
                ms(a.duration_ms.p95),
                ms(a.duration_ms.p99)
            )?;
        }
        match &self.cpu_profile {
            Section::Measured(f) => writeln!(
                out,
                "\ncpu profile: flame graph written to {} ({} KiB)",
                f.path,
                f.bytes.div_ceil(1024)
            ),
            Section::Unavailable(why) => writeln!(out, "\ncpu profile: failed: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::parse;

    fn page(count_ok: u32, count_err: u32) -> Vec<Sample> {
        parse(&format!(
            "framework_request_duration_seconds_bucket{{method=\"GET\",route=\"/v1/tenant\",status=\"200\",le=\"0.001\"}} {count_ok}\n\
             framework_request_duration_seconds_bucket{{method=\"GET\",route=\"/v1/tenant\",status=\"200\",le=\"+Inf\"}} {count_ok}\n\
             framework_request_duration_seconds_count{{method=\"GET\",route=\"/v1/tenant\",status=\"200\"}} {count_ok}\n\
             framework_request_duration_seconds_bucket{{method=\"GET\",route=\"/v1/tenant\",status=\"503\",le=\"0.001\"}} 0\n\
             framework_request_duration_seconds_bucket{{method=\"GET\",route=\"/v1/tenant\",status=\"503\",le=\"+Inf\"}} {count_err}\n\
             framework_request_duration_seconds_count{{method=\"GET\",route=\"/v1/tenant\",status=\"503\"}} {count_err}\n\
             framework_request_duration_seconds_bucket{{method=\"GET\",route=\"/health\",status=\"200\",le=\"+Inf\"}} 4\n\
             framework_request_duration_seconds_count{{method=\"GET\",route=\"/health\",status=\"200\"}} 4\n"
        ))
        .expect("page")
    }

    #[test]
    fn a_route_counts_its_requests_and_5xx_in_the_window_only() {
        let routes = routes(&page(100, 1), &page(300, 3), 10.0);
        assert_eq!(routes.len(), 1, "/health saw nothing in the window");
        let r = &routes[0];
        assert_eq!((r.requests, r.rate, r.errors), (202.0, 20.2, 2.0));
        // Rank 101 of the 200 under 1 ms.
        assert!((r.latency_ms.p50.expect("p50") - 0.505).abs() < 1e-9);
    }

    #[test]
    fn latency_percentiles_are_exact_order_statistics() {
        let l = Latency::of((1..=100).map(f64::from).collect()).expect("samples");
        assert_eq!(
            (l.samples, l.p50_ms, l.p99_ms, l.max_ms),
            (100, 51.0, 99.0, 100.0)
        );
        assert!(Latency::of(Vec::new()).is_none());
    }

    #[test]
    fn a_long_statement_is_one_line_cut_at_the_width() {
        assert_eq!(
            one_line("SELECT a,\n       b\n  FROM t", 100),
            "SELECT a, b FROM t"
        );
        assert_eq!(one_line("SELECT abcdef", 6), "SELECT…");
    }
}
