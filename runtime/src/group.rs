//! Group commit: work that arrives while one group is being written is written next,
//! together, so a burst of N requests costs one round of writes (one statement, one
//! commit, one WAL flush) instead of N in a row. The audit log appends its entries this
//! way, and tenant plan and status changes are applied this way.
//!
//! Each submission joins the waiting items; the first after a group was taken spawns a
//! task that takes the writer's turn and writes everything waiting by then.
//! The caller returns once its own item is written. Because the writing happens in a
//! spawned task, a caller that goes away (a client that disconnects) loses nothing, its
//! own item or others'.
//!
//! A group is gathered before it is taken (`Pace`): the callers of the previous group,
//! answered a moment ago, are on their way back with their next items, and a group taken
//! at once would hold only the one item that beat them to it. Under a steady load of N
//! concurrent callers, groups would alternate between 1 and N - 1 items, two writes
//! where one does; the writer waits for as many items as the previous group had, at most
//! as long as that group took to write. A caller whose previous group was of one item
//! never waits; the first one alone after a larger group waits once, at most that
//! group's write time, and its group of one sets the next target. While a group gathers,
//! the writer reads what writing it will need, as its first item says
//! ([`Writer::prefetch`]), so that read is not one more round trip after the gathering.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard, Notify, oneshot};
// tokio's clock, which its tests can pause, times the groups.
use tokio::time::Instant;

/// What writes a group.
pub trait Writer: Send + Sync + 'static {
    /// What the writer keeps between groups (the audit chain's head and its
    /// connection), held while a group is written.
    type State: Send + 'static;
    /// One submission.
    type Item: Send + 'static;
    /// What each submitter gets back.
    type Outcome: Send + 'static;

    /// What the first item of a group tells [`Writer::prefetch`] to look up.
    type Key: Send + 'static;
    /// What writing a group may need that can be read while it gathers.
    type Prefetched: Send + 'static;

    /// The key of the first item of a group, taken when the group starts gathering;
    /// `None` (the default) when writing the group needs nothing read ahead.
    fn key(&self, first: &Self::Item) -> Option<Self::Key> {
        let _ = first;
        None
    }

    /// Reads, while the group gathers, what writing it will need (the tenants' user
    /// counts), so that the group's write does not wait for that round trip after the
    /// gathering. It runs once the previous group is written; `None` when the read
    /// failed (the write then reads it itself). The default, for writers whose
    /// [`Writer::key`] is always `None`, reads nothing.
    fn prefetch(&self, key: Self::Key) -> impl Future<Output = Option<Self::Prefetched>> + Send {
        let _ = key;
        async { None }
    }

    /// Writes `items`, in the order they were submitted, and returns one outcome per
    /// item, in the same order; `prefetched` is what [`Writer::prefetch`] read for the
    /// first of them, if anything.
    fn write(
        &self,
        state: &mut Self::State,
        items: Vec<Self::Item>,
        prefetched: Option<Self::Prefetched>,
    ) -> impl Future<Output = Vec<Self::Outcome>> + Send;
}

/// Items waiting for the next group, with where each one's outcome goes.
struct Queue<W: Writer> {
    items: Vec<(W::Item, oneshot::Sender<W::Outcome>)>,
    /// A task that will write them is spawned and has not taken them yet: later items
    /// join them instead of spawning another.
    scheduled: bool,
}

struct Shared<W: Writer> {
    writer: W,
    /// The writer's turn, with its state.
    turn: Mutex<W::State>,
    queue: std::sync::Mutex<Queue<W>>,
    /// Told of each submission, for a writer gathering its group.
    arrived: Notify,
    pace: Pace,
}

/// The longest a writer waits for a group to gather, however long the previous group
/// took.
const MAX_GATHER: Duration = Duration::from_millis(2);

/// The size of the previous group and how long it took to write: how many items the next
/// group waits for, and for how long at most.
#[derive(Default)]
struct Pace {
    size: AtomicUsize,
    nanos: AtomicU64,
}

impl Pace {
    fn record(&self, size: usize, took: Duration) {
        self.size.store(size, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.store(nanos, Ordering::Relaxed);
    }

    /// How many items to wait for, and until when.
    fn target(&self) -> (usize, Instant) {
        let took = Duration::from_nanos(self.nanos.load(Ordering::Relaxed));
        (
            self.size.load(Ordering::Relaxed),
            Instant::now() + took.min(MAX_GATHER),
        )
    }
}

/// A writer whose submissions are written in groups.
pub struct Group<W: Writer>(Arc<Shared<W>>);

impl<W: Writer> Group<W> {
    /// Groups for `writer`, starting from `state`.
    pub fn new(writer: W, state: W::State) -> Self {
        Self(Arc::new(Shared {
            writer,
            turn: Mutex::new(state),
            queue: std::sync::Mutex::new(Queue {
                items: Vec::new(),
                scheduled: false,
            }),
            arrived: Notify::new(),
            pace: Pace::default(),
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
        let spawn = {
            let mut queue = self.0.queue();
            queue.items.push((item, done));
            !std::mem::replace(&mut queue.scheduled, true)
        };
        self.0.arrived.notify_waiters();
        if spawn {
            let shared = self.0.clone();
            tokio::spawn(async move { shared.write_next().await });
        }
        outcome.await.ok()
    }
}

impl<W: Writer> Shared<W> {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue<W>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the turn, gathers the next group and writes it. Items submitted once the
    /// group is taken schedule the group after it.
    async fn write_next(&self) {
        let mut state = self.turn.lock().await;
        let key = self
            .queue()
            .items
            .first()
            .and_then(|(item, _)| self.writer.key(item));
        let prefetch = async {
            match key {
                Some(key) => self.writer.prefetch(key).await,
                None => None,
            }
        };
        let (prefetched, ()) = tokio::join!(prefetch, self.gather());
        let group = {
            let mut queue = self.queue();
            queue.scheduled = false;
            std::mem::take(&mut queue.items)
        };
        let (items, dones): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        let (size, start) = (items.len(), Instant::now());
        let outcomes = self.writer.write(&mut state, items, prefetched).await;
        self.pace.record(size, start.elapsed());
        for (done, outcome) in dones.into_iter().zip(outcomes) {
            let _ = done.send(outcome);
        }
    }

    /// Waits, holding the turn, until as many items wait as the previous group had, or
    /// for as long as it took to write.
    async fn gather(&self) {
        let (size, deadline) = self.pace.target();
        let mut timer = std::pin::pin!(tokio::time::sleep_until(deadline));
        loop {
            let mut arrived = std::pin::pin!(self.arrived.notified());
            arrived.as_mut().enable();
            if self.queue().items.len() >= size {
                return;
            }
            tokio::select! {
                () = &mut timer => return,
                () = arrived => {}
            }
        }
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
        type Key = u32;
        type Prefetched = u32;

        fn key(&self, first: &u32) -> Option<u32> {
            Some(*first)
        }

        async fn prefetch(&self, first: u32) -> Option<u32> {
            Some(first)
        }

        async fn write(
            &self,
            written: &mut u64,
            items: Vec<u32>,
            prefetched: Option<u32>,
        ) -> Vec<(u32, u64)> {
            assert_eq!(prefetched, items.first().copied(), "the first item's key");
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

    fn recording() -> Arc<Group<Recorder>> {
        Arc::new(Group::new(
            Recorder {
                groups: std::sync::Mutex::new(Vec::new()),
                writing: AtomicUsize::new(0),
            },
            0,
        ))
    }

    #[tokio::test]
    async fn a_burst_is_written_in_few_groups_and_each_caller_gets_its_own_outcome() {
        let group = recording();
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
        let group = recording();
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

    // On a paused clock: on a real one, a loaded machine can hold the seven callers back
    // past the gathering's 2 ms.
    #[tokio::test(start_paused = true)]
    async fn a_group_gathers_the_callers_on_their_way_back() {
        let group = recording();
        let submit_all = |items: std::ops::Range<u32>| {
            items
                .map(|i| {
                    let group = group.clone();
                    tokio::spawn(async move { group.submit(i).await.expect("written") })
                })
                .collect::<Vec<_>>()
        };
        for call in submit_all(0..8) {
            call.await.unwrap();
        }
        // One caller comes back first, the seven others a moment later: taken at once,
        // the group would hold the first alone, and the others would wait for its write.
        let first = submit_all(8..9);
        tokio::time::sleep(std::time::Duration::from_micros(100)).await;
        for call in first.into_iter().chain(submit_all(9..16)) {
            call.await.unwrap();
        }
        let groups = group.writer().groups.lock().unwrap().clone();
        assert_eq!(groups, [8, 8]);
    }
}
