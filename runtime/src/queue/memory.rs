//! The in-process queue of `--dev`: the same semantics as [`super::redis_streams`]
//! (pending messages, reclaim after the visibility timeout, backoff, dead letters,
//! back-pressure), held in one mutex. Lost when the process stops, as dev data may be.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::contract::{
    DeadLetter, Failed, Fetched, Heartbeat, Message, QueueConfig, QueueError, StreamStatus,
};

/// A message as stored.
#[derive(Debug, Clone)]
struct Stored {
    id: u64,
    body: String,
    /// Attempts already made.
    attempts: u32,
    error: Option<String>,
    added: Instant,
}

#[derive(Debug)]
struct Held {
    msg: Stored,
    since: Instant,
}

#[derive(Debug, Default)]
struct Stream {
    waiting: VecDeque<Stored>,
    pending: BTreeMap<u64, Held>,
    /// By due time, then id.
    delayed: BTreeMap<(Instant, u64), Stored>,
    dead: Vec<(u64, DeadLetter)>,
}

#[derive(Debug, Default)]
struct State {
    /// Whether the rebuild after the process started was claimed.
    rebuild_claimed: bool,
    next_id: u64,
    streams: HashMap<String, Stream>,
    agents: BTreeMap<String, Heartbeat>,
    generation: u64,
    slots: HashMap<String, Instant>,
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The in-process queue.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    state: Mutex<State>,
}

impl MemoryQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every change is one
        // statement), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) async fn enqueue(
        &self,
        stream: &str,
        body: &str,
        limit: u64,
    ) -> Result<Option<String>, QueueError> {
        let mut st = self.lock();
        let id = st.id();
        let s = st.streams.entry(stream.to_owned()).or_default();
        if depth(s) >= limit {
            return Ok(None);
        }
        s.waiting.push_back(Stored {
            id,
            body: body.to_owned(),
            attempts: 0,
            error: None,
            added: Instant::now(),
        });
        Ok(Some(id.to_string()))
    }

    pub(super) async fn fetch(
        &self,
        stream: &str,
        _consumer: &str,
        config: &QueueConfig,
    ) -> Result<Fetched, QueueError> {
        let mut st = self.lock();
        let mut dead = Vec::new();
        let now = Instant::now();
        let expired: Vec<u64> = st
            .streams
            .entry(stream.to_owned())
            .or_default()
            .pending
            .iter()
            .filter(|(_, h)| now.duration_since(h.since) >= config.visibility_timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            // A reclaimed message gets a new id, so its first holder's ack is stale.
            let new_id = st.id();
            let s = st.streams.entry(stream.to_owned()).or_default();
            if let Some(held) = s.pending.remove(&id) {
                let mut msg = held.msg;
                msg.id = new_id;
                msg.attempts += 1;
                msg.error = Some(super::contract::timed_out(config));
                if msg.attempts >= config.max_attempts {
                    let letter = dead_letter(stream, &msg);
                    dead.push(letter.clone());
                    s.dead.push((msg.id, letter));
                } else {
                    s.waiting.push_back(msg);
                }
            }
        }
        let s = st.streams.entry(stream.to_owned()).or_default();
        let due: Vec<(Instant, u64)> = s
            .delayed
            .range(..=(now, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            if let Some(msg) = s.delayed.remove(&key) {
                s.waiting.push_back(msg);
            }
        }
        let Some(msg) = s.waiting.pop_front() else {
            return Ok(Fetched {
                message: None,
                dead,
            });
        };
        let delivered = Message {
            id: msg.id.to_string(),
            stream: stream.to_owned(),
            body: msg.body.clone(),
            attempt: msg.attempts + 1,
            last_error: msg.error.clone(),
        };
        s.pending.insert(msg.id, Held { msg, since: now });
        Ok(Fetched {
            message: Some(delivered),
            dead,
        })
    }

    fn take(&self, st: &mut State, msg: &Message) -> Option<Stored> {
        let id: u64 = msg.id.parse().ok()?;
        st.streams
            .get_mut(&msg.stream)?
            .pending
            .remove(&id)
            .map(|h| h.msg)
    }

    pub(super) async fn ack(&self, msg: &Message) -> Result<bool, QueueError> {
        let mut st = self.lock();
        Ok(self.take(&mut st, msg).is_some())
    }

    pub(super) async fn requeue(
        &self,
        msg: &Message,
        error: &str,
        attempts: u32,
        delay: Option<Duration>,
    ) -> Result<Failed, QueueError> {
        let mut st = self.lock();
        let Some(mut stored) = self.take(&mut st, msg) else {
            return Ok(Failed::Stale);
        };
        stored.attempts = attempts;
        stored.error = (!error.is_empty()).then(|| error.to_owned());
        stored.id = st.id();
        let new_id = stored.id;
        let s = st.streams.entry(msg.stream.clone()).or_default();
        Ok(match delay {
            None => {
                s.dead.push((new_id, dead_letter(&msg.stream, &stored)));
                Failed::Dead
            }
            Some(d) => {
                s.delayed.insert((Instant::now() + d, new_id), stored);
                Failed::Retry(d)
            }
        })
    }

    pub(super) async fn status(&self, stream: &str) -> Result<StreamStatus, QueueError> {
        let st = self.lock();
        let Some(s) = st.streams.get(stream) else {
            return Ok(StreamStatus {
                stream: stream.to_owned(),
                waiting: 0,
                pending: 0,
                delayed: 0,
                oldest_age_ms: None,
                dead: 0,
            });
        };
        let oldest = s
            .waiting
            .iter()
            .map(|m| m.added)
            .chain(s.pending.values().map(|h| h.msg.added))
            .min();
        Ok(StreamStatus {
            stream: stream.to_owned(),
            waiting: s.waiting.len() as u64,
            pending: s.pending.len() as u64,
            delayed: s.delayed.len() as u64,
            oldest_age_ms: oldest.map(|t| super::contract::millis(t.elapsed())),
            dead: s.dead.len() as u64,
        })
    }

    pub(super) async fn bodies(&self, stream: &str) -> Result<Vec<String>, QueueError> {
        let st = self.lock();
        Ok(st
            .streams
            .get(stream)
            .map(|s| {
                s.waiting
                    .iter()
                    .chain(s.pending.values().map(|h| &h.msg))
                    .chain(s.delayed.values())
                    .map(|m| m.body.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The queue starts empty with the process: the first claim after it is the rebuild.
    pub(super) async fn claim_rebuild(&self, _lease: Duration) -> Result<bool, QueueError> {
        let mut st = self.lock();
        Ok(!std::mem::replace(&mut st.rebuild_claimed, true))
    }

    pub(super) async fn rebuilt(&self) -> Result<(), QueueError> {
        Ok(())
    }

    pub(super) async fn dead_letters(
        &self,
        stream: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, QueueError> {
        let st = self.lock();
        Ok(st
            .streams
            .get(stream)
            .map(|s| s.dead.iter().take(limit).map(|(_, d)| d.clone()).collect())
            .unwrap_or_default())
    }

    pub(super) async fn retry_dead(&self, stream: &str) -> Result<u64, QueueError> {
        let mut st = self.lock();
        let Some(s) = st.streams.get_mut(stream) else {
            return Ok(0);
        };
        let dead = std::mem::take(&mut s.dead);
        let n = dead.len() as u64;
        for (id, d) in dead {
            s.waiting.push_back(Stored {
                id,
                body: d.body,
                attempts: 0,
                error: Some(d.error),
                added: Instant::now(),
            });
        }
        Ok(n)
    }

    pub(super) async fn beat(&self, beat: &Heartbeat) -> Result<(), QueueError> {
        self.lock().agents.insert(beat.agent.clone(), beat.clone());
        Ok(())
    }

    pub(super) async fn forget(&self, agent: &str) -> Result<(), QueueError> {
        self.lock().agents.remove(agent);
        Ok(())
    }

    pub(super) async fn agents(&self) -> Result<Vec<Heartbeat>, QueueError> {
        Ok(self.lock().agents.values().cloned().collect())
    }

    pub(super) async fn generation(&self) -> Result<u64, QueueError> {
        Ok(self.lock().generation)
    }

    pub(super) async fn bump_generation(&self) -> Result<u64, QueueError> {
        let mut st = self.lock();
        st.generation += 1;
        Ok(st.generation)
    }

    pub(super) async fn acquire_slot(
        &self,
        key: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<bool, QueueError> {
        let mut st = self.lock();
        let now = Instant::now();
        st.slots.retain(|_, until| *until > now);
        if st.slots.contains_key(key) || st.slots.len() < limit as usize {
            st.slots.insert(key.to_owned(), now + lease);
            return Ok(true);
        }
        Ok(false)
    }

    pub(super) async fn release_slot(&self, key: &str) -> Result<(), QueueError> {
        self.lock().slots.remove(key);
        Ok(())
    }
}

fn depth(s: &Stream) -> u64 {
    (s.waiting.len() + s.pending.len() + s.delayed.len()) as u64
}

fn dead_letter(stream: &str, msg: &Stored) -> DeadLetter {
    DeadLetter {
        id: msg.id.to_string(),
        stream: stream.to_owned(),
        body: msg.body.clone(),
        attempts: msg.attempts,
        error: msg.error.clone().unwrap_or_default(),
    }
}
