//! A request's deadline (`REQUEST_TIMEOUT_SECONDS`), armed only when the request waits.
//! A timer in tokio's wheel costs each request its registration and removal (about a
//! thousand instructions, tower-http's `TimeoutLayer` registers one up front), while
//! most requests are answered in the first poll, from the caches; so the request is
//! polled first and the timer made only once it returns `Pending`, with the deadline
//! counted from when the request came in.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use tokio::time::{Instant, Sleep, sleep_until};

/// Runs `request` until `deadline`: its output, or `None` if the deadline came first
/// (`request` is then dropped).
pub async fn within<F: Future>(deadline: Instant, request: F) -> Option<F::Output> {
    let mut request = pin!(request);
    let mut timer = pin!(None::<Sleep>);
    poll_fn(|cx| {
        if let Poll::Ready(output) = request.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if timer.is_none() {
            timer.set(Some(sleep_until(deadline)));
        }
        let sleep = timer.as_mut().as_pin_mut();
        sleep.map_or(Poll::Pending, |sleep| sleep.poll(cx).map(|()| None))
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_request_answered_in_time_gives_its_output() {
        let deadline = Instant::now() + Duration::from_secs(1);
        assert_eq!(within(deadline, async { 7 }).await, Some(7));
        let waits = async {
            tokio::time::sleep(Duration::from_millis(999)).await;
            8
        };
        assert_eq!(within(deadline, waits).await, Some(8));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_past_its_deadline_is_dropped() {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(1);
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            9
        };
        assert_eq!(within(deadline, slow).await, None);
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_counts_from_the_start_not_from_the_first_wait() {
        let start = Instant::now();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
        };
        assert_eq!(within(start + Duration::from_secs(1), slow).await, None);
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }
}
