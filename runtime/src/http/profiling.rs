//! The CPU profiler, on the metrics listener only: `GET /debug/pprof/profile?seconds=N`
//! samples every thread of the process `FREQUENCY` times a second for N seconds (at
//! most [`MAX_SECONDS`]) and answers the flame graph, as SVG. It needs an operator token
//! ([`crate::crypto::operator`], audience [`AUDIENCE`]), which `scf profile` makes from the
//! deployment's `SECRET_KEY`; nothing samples until one asks, and one profile runs at a
//! time (a second gets 409).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::crypto::operator::OperatorKeys;
use crate::http::error::ApiError;
use crate::state::AppState;

/// Where the profiler is served.
pub const PATH: &str = "/debug/pprof/profile";

/// The audience of the operator tokens the profiler accepts.
pub const AUDIENCE: &str = "scf:cpu-profile";

/// The longest profile.
pub const MAX_SECONDS: u64 = 600;

/// Samples per second: not a divisor of common timer rates, so periodic work is not
/// sampled in lockstep.
const FREQUENCY: i32 = 99;

/// Shared objects whose frames are never unwound from the signal handler: unwinding
/// through them can deadlock.
const BLOCKLIST: [&str; 4] = ["libc", "libgcc", "pthread", "vdso"];

/// Whether a profile is running.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// `?seconds=N`.
#[derive(Deserialize)]
pub struct Window {
    seconds: u64,
}

/// Clears [`RUNNING`] when the profile ends, however it ends.
struct Running;

impl Running {
    fn start() -> Option<Self> {
        // Not `then_some(Self)`: that would make (and drop, clearing the flag) a guard
        // for the caller that was refused.
        if RUNNING.swap(true, Ordering::AcqRel) {
            None
        } else {
            Some(Self)
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Release);
    }
}

/// Samples the process for the window and answers the flame graph.
pub async fn profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(window): Query<Window>,
) -> Result<Response, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::unauthenticated(
                "the profiler needs an operator token: run `scf profile` on the host",
            )
        })?;
    OperatorKeys::new(&state.settings.security.jwt_keys)
        .and_then(|keys| keys.verify(AUDIENCE, token))
        .map_err(|e| ApiError::unauthenticated(format!("operator token refused: {e}")))?;
    if !(1..=MAX_SECONDS).contains(&window.seconds) {
        return Err(ApiError::invalid(format!(
            "seconds must be 1 to {MAX_SECONDS}"
        )));
    }
    let running = Running::start().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "profile_running",
            "a CPU profile is already running; try again when it ends",
        )
    })?;
    let seconds = window.seconds;
    // The blocking task owns `running`: a client that hangs up does not end the sampling,
    // so the next profile must wait for it.
    let svg = tokio::task::spawn_blocking(move || {
        let _running = running;
        sample(Duration::from_secs(seconds))
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| ApiError::internal(&e))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// Samples for `window` and renders the flame graph.
fn sample(window: Duration) -> Result<Vec<u8>, pprof::Error> {
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(FREQUENCY)
        .blocklist(&BLOCKLIST)
        .build()?;
    std::thread::sleep(window);
    let report = guard.report().build()?;
    let mut svg = Vec::new();
    report.flamegraph(&mut svg)?;
    Ok(svg)
}
