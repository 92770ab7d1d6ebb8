//! `scf profile --duration 60`, the guide's `python -m framework profile`: watches the
//! running server for a window and reports each route's request rate and p50/p95/p99
//! (from two `/metrics` pages), the slowest statements (`pg_stat_statements`), Redis round
//! trips, the queue depth and the agents' job times, and writes the CPU flame graph (SVG)
//! that the server's profiler sampled over the same window.
//!
//! Run it where the server runs: it reads the deployment's settings as the other commands
//! do, reaches the metrics listener (`METRICS_LISTEN`, loopback) and asks the profiler
//! with an operator token made from `SECRET_KEY` ([`crate::crypto::operator`]).

mod report;
mod statements;

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use clap::{Args, ValueEnum};
use hyper_util::rt::TokioIo;
use redis::aio::ConnectionManager;

use super::common::{CliError, services};
use crate::crypto::operator::OperatorKeys;
use crate::exposition;
use crate::http::profiling;
use crate::settings::parse::Lookup;
use report::{FlameGraph, Latency, Report, Section};

/// Time between two Redis PINGs.
const PING_EVERY: Duration = Duration::from_millis(10);

/// The largest response read from the server (a flame graph of a busy process).
const MAX_BODY: usize = 64 << 20;

/// `scf profile`'s flags.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Seconds to watch the server (1 to 600).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=profiling::MAX_SECONDS))]
    pub duration: u64,
    /// Where to write the CPU flame graph (SVG).
    #[arg(long, value_name = "FILE", default_value = "scf-profile.svg")]
    pub flamegraph: PathBuf,
    /// How many of the slowest statements to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// `text` for a terminal, `json` for a script or CI.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A terminal report.
    Text,
    /// One JSON document.
    Json,
}

/// Profiles the server for the window and prints the report. Fails when the server cannot
/// be reached, and after the report when the CPU profile failed.
pub async fn execute(
    args: ProfileArgs,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let (settings, services) = services(env).await?;
    if !settings.prometheus_enabled {
        return Err(CliError::Failed(
            "the profile reads the server's /metrics, which PROMETHEUS_ENABLED=false turns off"
                .to_owned(),
        ));
    }
    let target = reachable(settings.metrics_listen);
    let token = OperatorKeys::new(&settings.security.jwt_keys)
        .and_then(|k| k.issue(profiling::AUDIENCE, Duration::from_secs(args.duration + 60)))
        .map_err(|e| CliError::Failed(e.to_string()))?;

    let before = scrape(target).await?;
    let sql_before = statements::snapshot(&services.db).await;
    let started = Instant::now();
    let (cpu, redis) = tokio::join!(
        cpu_profile(target, &token, args.duration),
        redis_latency(services.redis.clone(), Duration::from_secs(args.duration)),
    );
    let seconds = started.elapsed().as_secs_f64();
    let after = scrape(target).await?;
    let statements = match (sql_before, statements::snapshot(&services.db).await) {
        (Ok(b), Ok(a)) => Section::Measured(statements::slowest(&b, &a, args.top)),
        (Err(why), _) | (_, Err(why)) => Section::Unavailable(why),
    };
    let cpu_profile = match cpu {
        Ok(svg) => match std::fs::write(&args.flamegraph, &svg) {
            Ok(()) => Section::Measured(FlameGraph {
                path: args.flamegraph.display().to_string(),
                bytes: svg.len(),
            }),
            Err(e) => {
                Section::Unavailable(format!("cannot write {}: {e}", args.flamegraph.display()))
            }
        },
        Err(why) => Section::Unavailable(why),
    };
    let report = Report {
        target: target.to_string(),
        duration_seconds: seconds,
        routes: report::routes(&before, &after, seconds),
        statements,
        redis,
        queue_depth: report::queue_depth(&after),
        agents: report::agents(&before, &after),
        cpu_profile,
    };
    match args.format {
        Format::Text => report.write_text(out)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)
                .map_err(|e| CliError::Failed(e.to_string()))?;
            writeln!(out)?;
        }
    }
    match report.cpu_profile {
        Section::Measured(_) => Ok(()),
        Section::Unavailable(why) => Err(CliError::Failed(format!("CPU profile: {why}"))),
    }
}

/// Where to reach a listener: its address, with loopback for a wildcard one.
fn reachable(listen: SocketAddr) -> SocketAddr {
    match listen {
        SocketAddr::V4(a) if a.ip().is_unspecified() => (Ipv4Addr::LOCALHOST, a.port()).into(),
        SocketAddr::V6(a) if a.ip().is_unspecified() => (Ipv6Addr::LOCALHOST, a.port()).into(),
        a => a,
    }
}

/// The samples of the server's `/metrics` page.
async fn scrape(target: SocketAddr) -> Result<Vec<exposition::Sample>, CliError> {
    let page = get(target, "/metrics", None).await.map_err(|why| {
        CliError::Failed(format!(
            "cannot read the server's metrics at {target}: {why}; is the server running (systemctl status, or scf run)?"
        ))
    })?;
    let text = String::from_utf8_lossy(&page);
    exposition::parse(&text).map_err(|e| CliError::Failed(e.to_string()))
}

/// The flame graph the server's profiler samples for `seconds`.
async fn cpu_profile(target: SocketAddr, token: &str, seconds: u64) -> Result<Vec<u8>, String> {
    let path = format!("{}?seconds={seconds}", profiling::PATH);
    get(target, &path, Some(token)).await.map(|b| b.to_vec())
}

/// PING round trips, back to back every [`PING_EVERY`], for `window`.
async fn redis_latency(redis: Option<ConnectionManager>, window: Duration) -> Section<Latency> {
    let Some(mut conn) = redis else {
        return Section::Unavailable(
            "no REDIS_URL: the server runs without Redis (development)".to_owned(),
        );
    };
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(PING_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = Instant::now() + window;
    while Instant::now() < end {
        tick.tick().await;
        let sent = Instant::now();
        if let Err(e) = redis::cmd("PING").query_async::<String>(&mut conn).await {
            return Section::Unavailable(format!("PING failed: {e}"));
        }
        samples.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    Latency::of(samples).map_or_else(
        || Section::Unavailable("no PING completed in the window".to_owned()),
        Section::Measured,
    )
}

/// One `GET` over HTTP/1.1; the body of a 200, else the status and what the server said.
async fn get(target: SocketAddr, path: &str, bearer: Option<&str>) -> Result<Bytes, String> {
    let stream = tokio::net::TcpStream::connect(target)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let connection = tokio::spawn(connection);
    let mut request = Request::get(path).header(header::HOST, target.to_string());
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request.body(Body::empty()).map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = axum::body::to_bytes(Body::new(response.into_body()), MAX_BODY)
        .await
        .map_err(|e| e.to_string())?;
    connection.abort();
    if status == StatusCode::OK {
        Ok(body)
    } else {
        Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
    }
}
