//! Group commit: work that arrives while one group is being written is written next,
//! together, so a burst of N requests costs one round of writes (one statement, one
//! commit, one WAL flush) instead of N in a row. The audit log appends its entries this
//! way, and tenant plan and status changes are applied this way.
//!
//! Each submission joins the waiting items, and a task of its own takes the writer's
//! turn and writes everything waiting by then (or finds that an earlier task took it).
//! The caller returns once its own item is written. Because the writing happens in a
//! spawned task, a caller that goes away (a client that disconnects) loses nothing, its
//! own item or others'.

use std::future::Future;
use std::sync::{Arc, PoisonError};

use tokio::sync::{Mutex, MutexGuard, oneshot};

/// What writes a group.
pub trait Writer: Send + Sync + 'static {
    /// What the writer keeps between groups (the audit chain's head), held while a group
    /// is written.
    type State: Send + Sync + 'static;
    /// One submission.
    type Item: Send + 'static;
    /// What each submitter gets back.
    type Outcome: Send + 'static;

    /// Writes `items`, in the order they were submitted, and returns one outcome per
    /// item, in the same order.
    fn write(
        &self,
        state: &mut Self::State,
        items: Vec<Self::Item>,
    ) -> impl Future<Output = Vec<Self::Outcome>> + Send;
}

/// Items waiting for the next group, and where each one's outcome goes.
type Waiting<W> = Vec<(<W as Writer>::Item, oneshot::Sender<<W as Writer>::Outcome>)>;

struct Shared<W: Writer> {
    writer: W,
    /// The writer's turn, with its state.
    turn: Mutex<W::State>,
    waiting: std::sync::Mutex<Waiting<W>>,
}

/// A writer whose submissions are written in groups.
pub struct Group<W: Writer>(Arc<Shared<W>>);

impl<W: Writer> Group<W> {
    /// Groups for `writer`, starting from `state`.
    pub fn new(writer: W, state: W::State) -> Self {
        Self(Arc::new(Shared {
            writer,
            turn: Mutex::new(state),
            waiting: std::sync::Mutex::new(Vec::new()),
        }))
    }

    /// The writer, for what it does outside groups.
    pub fn writer(&self) -> &W {
        &self.0.writer
    }

    /// Waits for the writer's turn and keeps it (no group is written meanwhile), for work
    /// that must not interleave with a group (the audit log's retention).
    pub async fn exclusive(&self) -> MutexGuard<'_, W::State> {
        self.0.turn.lock().await
    }

    /// Submits `item` and waits until the group it joined is written. `None` only if the
    /// writing task panicked.
    pub async fn submit(&self, item: W::Item) -> Option<W::Outcome> {
        let (done, outcome) = oneshot::channel();
        self.0
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((item, done));
        let shared = self.0.clone();
        tokio::spawn(async move {
            let mut state = shared.turn.lock().await;
            let group = std::mem::take(
                &mut *shared
                    .waiting
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
            if group.is_empty() {
                return;
            }
            let (items, dones): (Vec<_>, Vec<_>) = group.into_iter().unzip();
            let outcomes = shared.writer.write(&mut state, items).await;
            for (done, outcome) in dones.into_iter().zip(outcomes) {
                let _ = done.send(outcome);
            }
        });
        outcome.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Records each group's size; answers each item with its position in its group.
    struct Recorder {
        groups: std::sync::Mutex<Vec<usize>>,
        writing: AtomicUsize,
    }

    impl Writer for Recorder {
        type State = u64;
        type Item = u32;
        type Outcome = (u32, u64);

        async fn write(&self, written: &mut u64, items: Vec<u32>) -> Vec<(u32, u64)> {
            assert_eq!(
                self.writing.fetch_add(1, Ordering::SeqCst),
                0,
                "one group at a time"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            self.groups.lock().unwrap().push(items.len());
            *written += 1;
            self.writing.fetch_sub(1, Ordering::SeqCst);
            items.into_iter().map(|i| (i, *written)).collect()
        }
    }

    #[tokio::test]
    async fn a_burst_is_written_in_few_groups_and_each_caller_gets_its_own_outcome() {
        let group = Arc::new(Group::new(
            Recorder {
                groups: std::sync::Mutex::new(Vec::new()),
                writing: AtomicUsize::new(0),
            },
            0,
        ));
        let calls: Vec<_> = (0..50)
            .map(|i| {
                let group = group.clone();
                tokio::spawn(async move { group.submit(i).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            let (item, _) = call.await.unwrap().expect("written");
            assert_eq!(item as usize, i);
        }
        let groups = group.writer().groups.lock().unwrap().clone();
        assert_eq!(groups.iter().sum::<usize>(), 50);
        assert!(
            groups.len() < 10,
            "50 concurrent items in {} groups",
            groups.len()
        );
    }

    #[tokio::test]
    async fn an_abandoned_caller_s_item_is_still_written() {
        let group = Arc::new(Group::new(
            Recorder {
                groups: std::sync::Mutex::new(Vec::new()),
                writing: AtomicUsize::new(0),
            },
            0,
        ));
        let abandoned = tokio::spawn({
            let group = group.clone();
            async move { group.submit(1).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        abandoned.abort();
        assert!(group.submit(2).await.is_some());
        let _turn = group.exclusive().await;
        assert_eq!(
            group.writer().groups.lock().unwrap().iter().sum::<usize>(),
            2
        );
    }
}
