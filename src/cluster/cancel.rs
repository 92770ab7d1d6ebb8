//! Interrupting a cluster apply (Ctrl-C): a flag the apply checks before each write and
//! races against each wait, so that it stops at a step boundary, never halfway through a
//! request, and then cleans up as a failed apply does: `--atomic` puts back what it changed,
//! and a first apply removes what it created.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Set once to stop an apply; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<Flag>);

#[derive(Debug, Default)]
struct Flag {
    set: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// Asks the apply to stop at its next step.
    pub fn cancel(&self) {
        self.0.set.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.set.load(Ordering::SeqCst)
    }

    /// Resolves once [`Cancel::cancel`] is called (at once if it was).
    pub async fn cancelled(&self) {
        loop {
            // Registered before the check, so a cancel in between is not missed.
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_waiter_wakes_on_cancel_and_a_late_one_at_once() {
        let cancel = Cancel::default();
        assert!(!cancel.is_cancelled());
        let waiter = tokio::spawn({
            let cancel = cancel.clone();
            async move { cancel.cancelled().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");
        tokio::time::timeout(Duration::from_secs(1), cancel.cancelled())
            .await
            .expect("already cancelled");
    }
}
