//! The queue's conformance suite: every case runs against the in-process queue and
//! against Redis Streams (the shared test Redis, under a namespace of its own), so the
//! two backends keep the same semantics.

use std::time::Duration;

use super::{Failed, Heartbeat, INVENTORY, Queue, QueueConfig, QueueError};

#[derive(Clone, Copy)]
enum Kind {
    Memory,
    Redis,
}

/// Deletes a test namespace's Redis keys when dropped.
struct Cleanup(Option<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Some(ns) = self.0.take() else { return };
        let url = scf_testkit::services::redis().url();
        if let Ok(mut conn) = redis::Client::open(url).and_then(|c| c.get_connection()) {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{ns}:*"))
                .query(&mut conn)
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
            }
        }
    }
}

/// A queue of `kind`; a Redis one gets a fresh namespace, deleted with the guard.
async fn queue(kind: Kind, config: QueueConfig) -> (Queue, Cleanup) {
    match kind {
        Kind::Memory => (Queue::memory(config), Cleanup(None)),
        Kind::Redis => {
            let url = scf_testkit::services::redis().url();
            let client = redis::Client::open(url).expect("redis url");
            let conn = redis::aio::ConnectionManager::new(client)
                .await
                .expect("redis connects");
            let ns = format!("scf-test:{}", uuid::Uuid::new_v4());
            (Queue::redis(conn, &ns, config), Cleanup(Some(ns)))
        }
    }
}

fn config() -> QueueConfig {
    QueueConfig {
        visibility_timeout: Duration::from_secs(60),
        max_attempts: 3,
        backoff: Duration::ZERO,
        max_depth: 100,
    }
}

const S: &str = "forecasting";

/// The next message for `consumer`, with nothing dead-lettered on the way.
async fn next(q: &Queue, consumer: &str) -> Option<super::Message> {
    let fetched = q.fetch(S, consumer).await.expect("fetch");
    assert!(fetched.dead.is_empty(), "{:?}", fetched.dead);
    fetched.message
}

async fn delivers_each_message_to_one_consumer(kind: Kind) {
    let (q, _cleanup) = queue(kind, config()).await;
    q.enqueue(S, "one").await.expect("enqueue");
    q.enqueue(S, "two").await.expect("enqueue");
    let a = next(&q, "a").await.expect("one");
    let b = next(&q, "b").await.expect("two");
    assert_eq!((a.body.as_str(), a.attempt), ("one", 1));
    assert_eq!((b.body.as_str(), b.attempt), ("two", 1));
    assert_eq!(next(&q, "c").await, None, "nothing left");
    let status = q.status(S).await.expect("status");
    assert_eq!((status.waiting, status.pending), (0, 2));
    assert!(status.oldest_age_ms.is_some());
    assert!(q.ack(&a).await.expect("ack"));
    assert!(q.ack(&b).await.expect("ack"));
    assert!(!q.ack(&a).await.expect("ack"), "a second ack is a no-op");
    let status = q.status(S).await.expect("status");
    assert_eq!(status.depth(), 0);
    assert_eq!(status.oldest_age_ms, None);
}

async fn reclaims_after_the_visibility_timeout(kind: Kind) {
    let config = QueueConfig {
        visibility_timeout: Duration::from_millis(300),
        ..config()
    };
    let (q, _cleanup) = queue(kind, config).await;
    q.enqueue(S, "job").await.expect("enqueue");
    let first = next(&q, "dies").await.expect("job");
    assert_eq!(next(&q, "other").await, None, "held");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = next(&q, "other").await.expect("reclaimed");
    assert_eq!((again.body.as_str(), again.attempt), ("job", 2));
    assert!(
        again
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("visibility timeout")),
        "{again:?}"
    );
    assert!(
        !q.ack(&first).await.expect("ack"),
        "the dead agent's ack is stale"
    );
    assert_eq!(
        q.fail(&first, "late").await.expect("fail"),
        Failed::Stale,
        "so is its failure"
    );
    assert!(q.ack(&again).await.expect("ack"));
    assert_eq!(q.status(S).await.expect("status").depth(), 0);
}

async fn retries_with_backoff(kind: Kind) {
    let config = QueueConfig {
        backoff: Duration::from_millis(300),
        ..config()
    };
    let (q, _cleanup) = queue(kind, config).await;
    q.enqueue(S, "flaky").await.expect("enqueue");
    let m = next(&q, "a").await.expect("job");
    assert_eq!(
        q.fail(&m, "boom").await.expect("fail"),
        Failed::Retry(Duration::from_millis(300))
    );
    assert_eq!(next(&q, "a").await, None, "backing off");
    assert_eq!(q.status(S).await.expect("status").delayed, 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let m = next(&q, "b").await.expect("retried");
    assert_eq!(
        (m.attempt, m.last_error.as_deref()),
        (2, Some("boom")),
        "the error is kept"
    );
    assert_eq!(
        q.fail(&m, "boom").await.expect("fail"),
        Failed::Retry(Duration::from_millis(600)),
        "backoff doubles"
    );
}

async fn dead_letters_after_max_attempts(kind: Kind) {
    let (q, _cleanup) = queue(kind, config()).await;
    q.enqueue(S, "poison").await.expect("enqueue");
    q.enqueue(S, "fine").await.expect("enqueue");
    let mut outcomes = Vec::new();
    let mut finished = 0;
    while let Some(m) = next(&q, "a").await {
        if m.body == "poison" {
            outcomes.push(
                q.fail(&m, &format!("bad row {}", m.attempt))
                    .await
                    .expect("fail"),
            );
        } else {
            assert!(q.ack(&m).await.expect("ack"));
            finished += 1;
        }
    }
    assert_eq!(finished, 1);
    assert_eq!(
        outcomes,
        [
            Failed::Retry(Duration::ZERO),
            Failed::Retry(Duration::ZERO),
            Failed::Dead
        ]
    );
    let dead = q.dead_letters(S, 10).await.expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (
            dead[0].body.as_str(),
            dead[0].attempts,
            dead[0].error.as_str()
        ),
        ("poison", 3, "bad row 3")
    );
    let status = q.status(S).await.expect("status");
    assert_eq!((status.depth(), status.dead), (0, 1));
    assert_eq!(q.retry_dead(S).await.expect("retry"), 1);
    let m = next(&q, "a").await.expect("back");
    assert_eq!((m.body.as_str(), m.attempt), ("poison", 1));
    assert_eq!(q.status(S).await.expect("status").dead, 0);
}

async fn agents_that_die_repeatedly_dead_letter_the_job(kind: Kind) {
    let config = QueueConfig {
        visibility_timeout: Duration::from_millis(100),
        max_attempts: 2,
        ..config()
    };
    let (q, _cleanup) = queue(kind, config).await;
    q.enqueue(S, "kills agents").await.expect("enqueue");
    let _ = next(&q, "a").await.expect("first");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = next(&q, "b").await.expect("second");
    assert_eq!(second.attempt, 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fetched = q.fetch(S, "c").await.expect("fetch");
    assert_eq!(fetched.message, None);
    let dead = q.dead_letters(S, 10).await.expect("dead");
    assert_eq!(
        fetched.dead, dead,
        "the fetch that dead-lettered it reports it"
    );
    assert_eq!(dead.len(), 1);
    assert!(dead[0].error.contains("visibility timeout"), "{dead:?}");
}

async fn refuses_when_full(kind: Kind) {
    let config = QueueConfig {
        max_depth: 2,
        ..config()
    };
    let (q, _cleanup) = queue(kind, config).await;
    q.enqueue(S, "1").await.expect("enqueue");
    q.enqueue(S, "2").await.expect("enqueue");
    let err = q.enqueue(S, "3").await.expect_err("full");
    assert!(
        matches!(
            err,
            QueueError::Full {
                depth: 2,
                limit: 2,
                ..
            }
        ),
        "{err}"
    );
    let m = next(&q, "a").await.expect("1");
    assert!(
        q.enqueue(S, "3").await.is_err(),
        "a message in hand still counts"
    );
    q.ack(&m).await.expect("ack");
    q.enqueue(S, "3").await.expect("room again");
    assert!(
        q.enqueue(INVENTORY, "x").await.is_ok(),
        "streams are independent"
    );
}

async fn defers_without_counting_an_attempt(kind: Kind) {
    let (q, _cleanup) = queue(kind, config()).await;
    q.enqueue(S, "later").await.expect("enqueue");
    let m = next(&q, "a").await.expect("job");
    assert!(q.defer(&m, Duration::ZERO).await.expect("defer"));
    let m = next(&q, "a").await.expect("again");
    assert_eq!(
        (m.attempt, q.status(S).await.expect("status").depth()),
        (1, 1)
    );
    assert!(q.ack(&m).await.expect("ack"));
    assert!(!q.defer(&m, Duration::ZERO).await.expect("defer"), "stale");
}

async fn slots_cap_concurrency(kind: Kind) {
    let (q, _cleanup) = queue(kind, config()).await;
    let lease = Duration::from_secs(60);
    assert!(q.acquire_slot("impl-a", 1, lease).await.expect("slot"));
    assert!(!q.acquire_slot("impl-b", 1, lease).await.expect("slot"));
    assert!(q.acquire_slot("impl-a", 1, lease).await.expect("renewal"));
    q.release_slot("impl-a").await.expect("release");
    assert!(q.acquire_slot("impl-b", 1, lease).await.expect("slot"));
    assert!(
        q.acquire_slot("impl-c", 2, Duration::from_millis(1))
            .await
            .expect("slot")
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        q.acquire_slot("impl-d", 2, lease).await.expect("slot"),
        "an expired lease frees its slot"
    );
    assert!(!q.acquire_slot("impl-e", 2, lease).await.expect("slot"));
}

async fn heartbeats_and_restart_generation(kind: Kind) {
    let (q, _cleanup) = queue(kind, config()).await;
    let beat = Heartbeat {
        agent: "host-1/forecasting-0".to_owned(),
        kind: S.to_owned(),
        process: "host:1".to_owned(),
        started_ms: 1,
        beat_ms: 2,
        in_hand: vec!["1-0".to_owned()],
        done: 3,
    };
    q.beat(&beat).await.expect("beat");
    assert_eq!(
        q.agents().await.expect("agents"),
        std::slice::from_ref(&beat)
    );
    q.forget(&beat.agent).await.expect("forget");
    assert!(q.agents().await.expect("agents").is_empty());
    assert_eq!(q.generation().await.expect("generation"), 0);
    assert_eq!(q.request_restart().await.expect("restart"), 1);
    assert_eq!(q.generation().await.expect("generation"), 1);
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Kind::Memory).await;
            })*
        }
        mod redis_streams {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Kind::Redis).await;
            })*
        }
    };
}

conformance!(
    delivers_each_message_to_one_consumer,
    reclaims_after_the_visibility_timeout,
    retries_with_backoff,
    dead_letters_after_max_attempts,
    agents_that_die_repeatedly_dead_letter_the_job,
    refuses_when_full,
    defers_without_counting_an_attempt,
    slots_cap_concurrency,
    heartbeats_and_restart_generation,
);
