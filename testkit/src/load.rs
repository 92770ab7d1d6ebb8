//! A request loop: a background thread that keeps sending one request (an HTTPS GET through a
//! load balancer, say) while a test changes what serves it, then reports how many it sent,
//! which failed and why, and the longest time without a success. The request is the
//! caller's closure, so the loop knows nothing of TLS or addresses; it is bounded in time
//! and in count, so a test that forgets to stop it still ends.
//!
//! ```text
//! let probe = RequestLoop::start(Bounds::default(), move || status(&endpoint, "/health", t));
//! scf_apply(…);
//! let figures = probe.stop();          // requests, failures (with reasons), longest gap
//! assert!(figures.failures.is_empty(), "{figures}");
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often and for how long a loop sends its request.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// The pause after each request.
    pub pause: Duration,
    /// The loop ends after this many requests.
    pub max_requests: usize,
    /// The loop sends no request after this long.
    pub max_duration: Duration,
}

impl Default for Bounds {
    /// Twenty requests a second at most, for up to ten minutes.
    fn default() -> Self {
        Bounds {
            pause: Duration::from_millis(50),
            max_requests: 12_000,
            max_duration: Duration::from_secs(600),
        }
    }
}

/// One request that did not answer 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// When it was sent, from the loop's start.
    pub after: Duration,
    /// `HTTP 502`, or the transport error.
    pub reason: String,
}

/// What a loop saw, from its start to its end.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Requests sent.
    pub requests: usize,
    /// The requests that failed, in order.
    pub failures: Vec<Failure>,
    /// The longest time without a success: between two successes, or from the loop's
    /// start to its first one, or from its last one to the loop's end.
    pub longest_gap: Duration,
    /// How long the loop ran.
    pub elapsed: Duration,
    /// True when a bound ended the loop before `stop`: it may have missed the end of
    /// what the test watched.
    pub bound_reached: bool,
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests in {:.1?}, {} failed, longest gap between successes {:.0?}",
            self.requests,
            self.elapsed,
            self.failures.len(),
            self.longest_gap
        )?;
        if self.bound_reached {
            write!(f, " (stopped by its bounds)")?;
        }
        for failure in &self.failures {
            write!(f, "\n  at {:.1?}: {}", failure.after, failure.reason)?;
        }
        Ok(())
    }
}

/// A running request loop; [`RequestLoop::stop`] ends it and returns its figures.
#[derive(Debug)]
pub struct RequestLoop {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Figures>>,
}

impl RequestLoop {
    /// Starts sending `request` (which returns the HTTP status, or the error that kept it
    /// from getting one) on a thread of its own, within `bounds`.
    pub fn start<F>(bounds: Bounds, request: F) -> RequestLoop
    where
        F: FnMut() -> std::io::Result<u16> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || run(bounds, &flag, request));
        RequestLoop {
            stop,
            thread: Some(thread),
        }
    }

    /// Ends the loop after the request in flight and returns what it saw.
    pub fn stop(mut self) -> Figures {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("a loop is stopped once");
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Drop for RequestLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // Dropped without `stop` (a failing test): its figures have no reader.
            let _ = thread.join();
        }
    }
}

fn run(
    bounds: Bounds,
    stop: &AtomicBool,
    mut request: impl FnMut() -> std::io::Result<u16>,
) -> Figures {
    let started = Instant::now();
    let mut last_success = started;
    let mut figures = Figures {
        requests: 0,
        failures: Vec::new(),
        longest_gap: Duration::ZERO,
        elapsed: Duration::ZERO,
        bound_reached: false,
    };
    while !stop.load(Ordering::Relaxed) {
        if figures.requests >= bounds.max_requests || started.elapsed() >= bounds.max_duration {
            figures.bound_reached = true;
            break;
        }
        let sent = started.elapsed();
        let outcome = request();
        figures.requests += 1;
        match outcome {
            Ok(200) => {
                let now = Instant::now();
                figures.longest_gap = figures.longest_gap.max(now - last_success);
                last_success = now;
            }
            Ok(code) => figures.failures.push(Failure {
                after: sent,
                reason: format!("HTTP {code}"),
            }),
            Err(err) => figures.failures.push(Failure {
                after: sent,
                reason: err.to_string(),
            }),
        }
        thread::sleep(bounds.pause);
    }
    let ended = Instant::now();
    figures.longest_gap = figures.longest_gap.max(ended - last_success);
    figures.elapsed = ended - started;
    figures
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::io;

    /// A request that answers from `script` in turn, each answer after its delay.
    fn scripted(script: Vec<(u64, io::Result<u16>)>) -> impl FnMut() -> io::Result<u16> {
        let mut script: VecDeque<_> = script.into();
        move || {
            let (delay, answer) = script.pop_front().unwrap_or((0, Ok(200)));
            thread::sleep(Duration::from_millis(delay));
            answer
        }
    }

    /// Runs a loop of `max_requests` without pauses, on this thread, to its bound.
    fn run_out(max_requests: usize, request: impl FnMut() -> io::Result<u16>) -> Figures {
        let bounds = Bounds {
            pause: Duration::ZERO,
            max_requests,
            max_duration: Duration::from_secs(10),
        };
        run(bounds, &AtomicBool::new(false), request)
    }

    #[test]
    fn counts_requests_and_names_each_failure() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
        let request = scripted(vec![(0, Ok(200)), (0, Ok(502)), (0, Err(refused))]);
        let figures = run_out(5, request);
        assert_eq!(figures.requests, 5);
        let reasons: Vec<&str> = figures.failures.iter().map(|f| f.reason.as_str()).collect();
        assert_eq!(reasons, ["HTTP 502", "connection refused"]);
        assert!(figures.bound_reached);
        assert!(figures.to_string().contains("5 requests"), "{figures}");
    }

    #[test]
    fn the_longest_gap_spans_the_failures_between_two_successes() {
        let request = scripted(vec![
            (0, Ok(200)),
            (150, Ok(503)),
            (150, Err(io::Error::other("timed out"))),
            (0, Ok(200)),
        ]);
        let figures = run_out(4, request);
        assert!(
            figures.longest_gap >= Duration::from_millis(300),
            "{figures}"
        );
        assert!(figures.longest_gap < Duration::from_secs(2), "{figures}");
    }

    #[test]
    fn a_loop_that_stops_succeeding_shows_the_gap_until_its_end() {
        let request = scripted(vec![(0, Ok(200)), (200, Ok(500))]);
        let figures = run_out(2, request);
        assert!(
            figures.longest_gap >= Duration::from_millis(200),
            "{figures}"
        );
    }

    #[test]
    fn stop_ends_a_loop_before_its_bounds() {
        let slow = Bounds {
            pause: Duration::from_millis(10),
            max_requests: usize::MAX,
            max_duration: Duration::from_secs(600),
        };
        let running = RequestLoop::start(slow, || Ok(200));
        thread::sleep(Duration::from_millis(100));
        let figures = running.stop();
        assert!(!figures.bound_reached, "{figures}");
        assert!(
            figures.requests > 0 && figures.failures.is_empty(),
            "{figures}"
        );
        assert!(figures.elapsed < Duration::from_secs(5), "{figures}");
    }
}
