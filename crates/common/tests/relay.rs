//! The outbox relay against real databases: every test runs on a fresh SQLite file, and on a
//! fresh PostgreSQL database when `RENDEZVOUS_TEST_POSTGRES_URL` is set (with
//! `RENDEZVOUS_REQUIRE_POSTGRES=1`, a PostgreSQL test that cannot run fails instead of
//! skipping). Rows go to a recording sink; the gRPC sink is tested with the notifications
//! service.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::{BeginWrite as _, Db, Migrations};
use rendezvous_common::outbox::{
    OutboxMessage, OutboxWriter as _, POSTGRES_DDL, SQLITE_DDL, TOPIC_NOTIFY,
};
use rendezvous_common::relay::{
    OutboxRow, OutboxSink, RelaySettings, UNKNOWN_TOPIC, backoff_ceiling, pending_count,
    relay_once, run,
};
use rendezvous_common::with_db;
use rendezvous_testkit::{Backend, backend_tests};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const MIGRATIONS: Migrations = Migrations {
    sqlite: &[(1, "outbox", SQLITE_DDL)],
    postgres: &[(1, "outbox", POSTGRES_DDL)],
};

// ---------------------------------------------------------------------------------------------
// Fresh databases
// ---------------------------------------------------------------------------------------------

/// A database with the outbox table for one test; removed when dropped (even when the test
/// panics), as the testkit's databases are.
struct TestDb {
    db: Db,
    _test: rendezvous_testkit::TestDb,
}

impl TestDb {
    async fn new(backend: Backend) -> Self {
        let test = rendezvous_testkit::TestDb::new(backend).await.unwrap();
        let db = Db::connect(&test.url).await.unwrap();
        db.migrate(&MIGRATIONS).await.unwrap();
        Self { db, _test: test }
    }
}

// ---------------------------------------------------------------------------------------------
// A recording sink
// ---------------------------------------------------------------------------------------------

/// Records every batch it is handed; can fail its first calls, be slow, or hang.
#[derive(Clone, Default)]
struct TestSink(Arc<SinkState>);

#[derive(Default)]
struct SinkState {
    /// Every call, failed or not.
    calls: Mutex<Vec<Vec<OutboxRow>>>,
    /// Batches that succeeded.
    delivered: Mutex<Vec<Vec<OutboxRow>>>,
    failures_left: AtomicUsize,
    delay: Duration,
    hang: bool,
    called: Notify,
}

impl TestSink {
    fn new() -> Self {
        Self::default()
    }

    fn failing(times: usize) -> Self {
        let sink = Self::default();
        sink.0.failures_left.store(times, Ordering::SeqCst);
        sink
    }

    fn slow(delay: Duration) -> Self {
        Self(Arc::new(SinkState {
            delay,
            ..SinkState::default()
        }))
    }

    fn hanging() -> Self {
        Self(Arc::new(SinkState {
            hang: true,
            ..SinkState::default()
        }))
    }

    fn calls(&self) -> Vec<Vec<OutboxRow>> {
        self.0.calls.lock().unwrap().clone()
    }

    fn delivered_keys(&self) -> Vec<String> {
        self.0
            .delivered
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .map(|row| row.dedupe_key.clone())
            .collect()
    }
}

impl OutboxSink for TestSink {
    fn accepts(&self, topic: &str) -> bool {
        topic == TOPIC_NOTIFY
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        if row.payload.get("poison").is_some() {
            Err("poisoned payload".to_owned())
        } else {
            Ok(())
        }
    }

    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), String> {
        self.0.calls.lock().unwrap().push(rows.to_vec());
        self.0.called.notify_one();
        if self.0.hang {
            std::future::pending::<()>().await;
        }
        if !self.0.delay.is_zero() {
            tokio::time::sleep(self.0.delay).await;
        }
        let failed = self
            .0
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failed {
            return Err("receiver unavailable".to_owned());
        }
        self.0.delivered.lock().unwrap().push(rows.to_vec());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn settings() -> RelaySettings {
    RelaySettings::default()
}

/// A manual clock with nanoseconds in it, as the system clock has.
fn manual_clock() -> Clock {
    Clock::manual(
        DateTime::parse_from_rfc3339("2031-03-04T05:06:07.123456789Z")
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn notify(key: &str) -> OutboxMessage {
    let member = Uuid::now_v7();
    let welcome = rendezvous_proto::notifications::v1::Welcome {
        member: Some(rendezvous_proto::notifications::v1::MemberFacts {
            member_id: member.to_string(),
            display_name: "Ada".to_owned(),
        }),
    };
    OutboxMessage::notice(member, key.to_owned(), welcome, None)
}

/// Writes `messages` in one transaction, as a service does.
async fn enqueue(db: &Db, messages: &[OutboxMessage], at: DateTime<Utc>) {
    with_db!(db, |pool| {
        let mut tx = pool.begin_write().await.unwrap();
        for message in messages {
            let new = tx.enqueue(message, at).await.unwrap();
            assert!(new, "{} enqueued twice", message.dedupe_key);
        }
        tx.commit().await.unwrap();
    });
}

/// `count` notifications keyed `{prefix}:{i}`, all due at `at`, each enqueued a microsecond
/// after the last so that their due order is their key order.
async fn enqueue_many(db: &Db, prefix: &str, count: usize, at: DateTime<Utc>) -> Vec<String> {
    let mut keys = Vec::with_capacity(count);
    for i in 0..count {
        let key = format!("{prefix}:{i:04}");
        let before = i64::try_from(count - i).unwrap();
        enqueue(db, &[notify(&key)], at - TimeDelta::microseconds(before)).await;
        keys.push(key);
    }
    keys
}

#[derive(Debug)]
struct RowState {
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    payload: String,
}

async fn row_state(db: &Db, dedupe_key: &str) -> RowState {
    type Row = (
        i64,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        String,
    );
    let (attempts, last_error, next_attempt_at, delivered_at, payload) = with_db!(db, |pool| {
        sqlx::query_as::<_, Row>(
            "SELECT attempts, last_error, next_attempt_at, delivered_at, payload FROM outbox \
             WHERE dedupe_key = $1",
        )
        .bind(dedupe_key)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("row {dedupe_key}: {e}"))
    });
    RowState {
        attempts,
        last_error,
        next_attempt_at,
        delivered_at,
        payload,
    }
}

fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

async fn once(db: &Db, sink: &TestSink, settings: &RelaySettings, clock: &Clock) -> usize {
    relay_once(db, sink, settings, clock).await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

backend_tests!(
    rows_are_delivered_once_and_marked,
    passes_claim_at_most_a_batch_of_due_rows_oldest_first,
    a_failing_sink_leaves_rows_pending_with_backoff_until_it_recovers,
    unknown_topics_and_undeliverable_payloads_are_kept_not_dropped,
    a_claimed_but_unmarked_row_is_due_again_after_the_claim_timeout,
    concurrent_relays_never_deliver_a_row_twice_within_a_lease,
    run_drains_the_outbox_and_stops_on_shutdown,
);

async fn rows_are_delivered_once_and_marked(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let sink = TestSink::new();
    let messages = [
        notify("welcome:a"),
        notify("welcome:b"),
        notify("welcome:c"),
    ];
    enqueue(db, &messages, clock.now()).await;
    assert_eq!(pending_count(db).await.unwrap(), 3);

    // Enqueued at this very instant (with nanoseconds): due now.
    assert_eq!(once(db, &sink, &settings(), &clock).await, 3);
    let calls = sink.calls();
    assert_eq!(calls.len(), 1, "one call per batch");
    let mut got: Vec<&str> = calls[0].iter().map(|r| r.dedupe_key.as_str()).collect();
    got.sort_unstable();
    assert_eq!(got, ["welcome:a", "welcome:b", "welcome:c"]);
    for (row, message) in calls[0].iter().zip(&messages) {
        assert_eq!(row.topic, TOPIC_NOTIFY);
        assert_eq!(row.attempts, 0);
        assert_eq!(
            row.dedupe_key, message.dedupe_key,
            "rows come in creation order"
        );
        assert_eq!(row.payload, message.payload, "payload round-trips");
    }
    for message in &messages {
        let state = row_state(db, &message.dedupe_key).await;
        assert_eq!(state.delivered_at, Some(micros(clock.now())));
        assert_eq!(state.attempts, 1);
        assert_eq!(state.last_error, None);
        // What it said now lives with the receiver; the row keeps its key and times only.
        assert_eq!(state.payload, "{}");
    }
    assert_eq!(pending_count(db).await.unwrap(), 0);

    // Nothing is delivered twice, even much later.
    assert_eq!(once(db, &sink, &settings(), &clock).await, 0);
    clock.advance(TimeDelta::hours(1));
    assert_eq!(once(db, &sink, &settings(), &clock).await, 0);
    assert_eq!(sink.calls().len(), 1);
}

async fn passes_claim_at_most_a_batch_of_due_rows_oldest_first(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let sink = TestSink::new();
    let settings = RelaySettings {
        batch_size: 2,
        ..settings()
    };
    let keys = enqueue_many(db, "batch", 5, clock.now() - TimeDelta::seconds(1)).await;
    // Not due for another minute.
    enqueue(db, &[notify("later")], clock.now() + TimeDelta::minutes(1)).await;

    assert_eq!(once(db, &sink, &settings, &clock).await, 2);
    assert_eq!(once(db, &sink, &settings, &clock).await, 2);
    assert_eq!(once(db, &sink, &settings, &clock).await, 1);
    assert_eq!(once(db, &sink, &settings, &clock).await, 0);
    let batches: Vec<Vec<String>> = sink
        .calls()
        .iter()
        .map(|batch| batch.iter().map(|r| r.dedupe_key.clone()).collect())
        .collect();
    assert_eq!(
        batches,
        [
            keys[0..2].to_vec(),
            keys[2..4].to_vec(),
            keys[4..5].to_vec()
        ]
    );
    assert_eq!(pending_count(db).await.unwrap(), 1);

    clock.advance(TimeDelta::seconds(59));
    assert_eq!(once(db, &sink, &settings, &clock).await, 0);
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(once(db, &sink, &settings, &clock).await, 1);
    assert_eq!(
        sink.delivered_keys().last().map(String::as_str),
        Some("later")
    );
    assert_eq!(pending_count(db).await.unwrap(), 0);
}

async fn a_failing_sink_leaves_rows_pending_with_backoff_until_it_recovers(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let settings = settings();
    let sink = TestSink::failing(2);
    let keys = enqueue_many(db, "retry", 3, clock.now()).await;

    for attempt in 1..=2_i64 {
        let now = micros(clock.now());
        assert_eq!(once(db, &sink, &settings, &clock).await, 0);
        assert_eq!(sink.calls().len(), usize::try_from(attempt).unwrap());
        assert_eq!(pending_count(db).await.unwrap(), 3);
        let ceiling = backoff_ceiling(&settings, attempt - 1);
        let mut latest = now;
        for key in &keys {
            let state = row_state(db, key).await;
            assert_eq!(state.attempts, attempt, "{key}");
            assert_eq!(state.last_error.as_deref(), Some("receiver unavailable"));
            assert_eq!(state.delivered_at, None);
            assert!(
                state.next_attempt_at > now,
                "{key}: {state:?} is not in the future"
            );
            assert!(
                state.next_attempt_at <= now + TimeDelta::from_std(ceiling).unwrap(),
                "{key}: {state:?} waits more than {ceiling:?}"
            );
            latest = latest.max(state.next_attempt_at);
        }
        // Not due yet: nothing is claimed, the sink is not called.
        assert_eq!(once(db, &sink, &settings, &clock).await, 0);
        assert_eq!(sink.calls().len(), usize::try_from(attempt).unwrap());
        // Due again once the longest wait is over.
        clock.advance(latest - now);
    }

    assert_eq!(once(db, &sink, &settings, &clock).await, 3);
    assert_eq!(pending_count(db).await.unwrap(), 0);
    for key in &keys {
        let state = row_state(db, key).await;
        assert_eq!(state.attempts, 3);
        assert_eq!(state.delivered_at, Some(micros(clock.now())));
    }
    let mut delivered = sink.delivered_keys();
    delivered.sort();
    assert_eq!(delivered, keys);
}

async fn unknown_topics_and_undeliverable_payloads_are_kept_not_dropped(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let settings = settings();
    let sink = TestSink::new();
    let mut poisoned = notify("poisoned");
    if let Some(payload) = poisoned.payload.as_object_mut() {
        payload.insert("poison".to_owned(), serde_json::Value::Bool(true));
    }
    let foreign = OutboxMessage {
        topic: "audit.record",
        dedupe_key: "foreign".to_owned(),
        payload: serde_json::json!({"what": "something"}),
    };
    enqueue(
        db,
        &[notify("good:1"), foreign, poisoned, notify("good:2")],
        clock.now(),
    )
    .await;
    // A payload that is not JSON at all, written by hand.
    with_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO outbox (id, topic, dedupe_key, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, 'garbled', '{not json', $3, $3)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(TOPIC_NOTIFY)
        .bind(clock.now())
        .execute(pool)
        .await
        .unwrap();
    });

    let now = micros(clock.now());
    assert_eq!(once(db, &sink, &settings, &clock).await, 2);
    let calls = sink.calls();
    assert_eq!(calls.len(), 1);
    let got: Vec<&str> = calls[0].iter().map(|r| r.dedupe_key.as_str()).collect();
    assert_eq!(
        got,
        ["good:1", "good:2"],
        "bad rows do not hold back the others"
    );

    let max_wait = TimeDelta::from_std(settings.max_backoff).unwrap();
    for (key, error) in [
        ("foreign", UNKNOWN_TOPIC),
        ("poisoned", "poisoned payload"),
        ("garbled", "payload is not valid json"),
    ] {
        let state = row_state(db, key).await;
        assert_eq!(state.attempts, 1, "{key}");
        assert_eq!(state.delivered_at, None, "{key}");
        let last_error = state.last_error.unwrap_or_default();
        assert!(last_error.starts_with(error), "{key}: {last_error:?}");
        assert_eq!(state.next_attempt_at, now + max_wait, "{key}");
    }
    assert_eq!(pending_count(db).await.unwrap(), 3);

    // They are retried at the maximum back-off, and fail again.
    clock.advance(max_wait - TimeDelta::microseconds(1));
    assert_eq!(once(db, &sink, &settings, &clock).await, 0);
    assert_eq!(row_state(db, "foreign").await.attempts, 1);
    clock.advance(TimeDelta::microseconds(1));
    assert_eq!(once(db, &sink, &settings, &clock).await, 0);
    assert_eq!(row_state(db, "foreign").await.attempts, 2);
    assert_eq!(row_state(db, "poisoned").await.attempts, 2);
    assert_eq!(sink.calls().len(), 1, "the sink never saw a bad row");
    assert_eq!(pending_count(db).await.unwrap(), 3);
}

async fn a_claimed_but_unmarked_row_is_due_again_after_the_claim_timeout(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let settings = settings();
    let keys = enqueue_many(db, "crash", 2, clock.now()).await;

    // A relay claims the rows and dies while delivering them.
    let hanging = TestSink::hanging();
    tokio::select! {
        result = relay_once(db, &hanging, &settings, &clock) => {
            panic!("the pass ended: {result:?}")
        }
        () = hanging.0.called.notified() => {}
    }
    assert_eq!(hanging.calls().len(), 1);
    let leased_until = micros(clock.now()) + TimeDelta::from_std(settings.claim_timeout).unwrap();
    for key in &keys {
        let state = row_state(db, key).await;
        assert_eq!(state.attempts, 0, "a crash does not count as an attempt");
        assert_eq!(state.next_attempt_at, leased_until);
        assert_eq!(state.delivered_at, None);
    }

    let sink = TestSink::new();
    assert_eq!(
        once(db, &sink, &settings, &clock).await,
        0,
        "the rows are leased"
    );
    clock
        .advance(TimeDelta::from_std(settings.claim_timeout).unwrap() - TimeDelta::milliseconds(1));
    assert_eq!(
        once(db, &sink, &settings, &clock).await,
        0,
        "the lease still holds"
    );
    clock.advance(TimeDelta::milliseconds(1));
    assert_eq!(
        once(db, &sink, &settings, &clock).await,
        2,
        "the lease ran out"
    );
    assert_eq!(sink.delivered_keys(), keys);
    for key in &keys {
        assert_eq!(row_state(db, key).await.attempts, 1);
    }
    assert_eq!(pending_count(db).await.unwrap(), 0);
}

async fn concurrent_relays_never_deliver_a_row_twice_within_a_lease(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let settings = RelaySettings {
        batch_size: 7,
        ..settings()
    };
    let keys = enqueue_many(db, "shared", 150, clock.now()).await;

    // Four relays, each with its own sink, drain the outbox at the same time; the clock
    // stands still, so no lease runs out.
    let sinks: Vec<TestSink> = (0..4)
        .map(|_| TestSink::slow(Duration::from_millis(5)))
        .collect();
    let relays = sinks.iter().map(|sink| {
        let (db, clock, settings) = (db.clone(), clock.clone(), settings.clone());
        let sink = sink.clone();
        tokio::spawn(async move {
            let mut passes = 0;
            while relay_once(&db, &sink, &settings, &clock).await.unwrap() > 0 {
                passes += 1;
            }
            passes
        })
    });
    let passes: Vec<usize> = futures_util::future::join_all(relays)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for sink in &sinks {
        for key in sink.delivered_keys() {
            *seen.entry(key).or_default() += 1;
        }
    }
    let twice: Vec<&String> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k)
        .collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        keys.iter().cloned().collect::<BTreeSet<_>>(),
        "every row was delivered"
    );
    assert_eq!(pending_count(db).await.unwrap(), 0);
    if backend == Backend::Postgres {
        let busy = passes.iter().filter(|n| **n > 0).count();
        eprintln!("passes per relay: {passes:?}");
        assert!(busy >= 2, "the relays did not share the work: {passes:?}");
    }
}

async fn run_drains_the_outbox_and_stops_on_shutdown(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let settings = RelaySettings {
        batch_size: 10,
        poll_interval: Duration::from_millis(20),
        ..settings()
    };
    enqueue_many(db, "run", 25, clock.now()).await;
    let sink = TestSink::failing(1);
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(run(
        db.clone(),
        sink.clone(),
        settings,
        clock.clone(),
        shutdown.clone(),
    ));

    // The first call fails; its rows wait at most base_backoff (of the manual clock).
    tokio::time::timeout(Duration::from_secs(10), async {
        while sink.delivered_keys().len() < 15 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the relay did not deliver the other rows");
    clock.advance(TimeDelta::seconds(1));
    tokio::time::timeout(Duration::from_secs(10), async {
        while pending_count(db).await.unwrap() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the relay did not drain the outbox");
    assert_eq!(sink.delivered_keys().len(), 25);

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), relay)
        .await
        .expect("run did not return after shutdown")
        .unwrap();
}

/// PostgreSQL only: a row locked by another relay's claim is skipped, not waited for.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_claim_skips_rows_locked_by_another_relay() {
    if rendezvous_testkit::postgres_url().is_none() {
        eprintln!("skipped: RENDEZVOUS_TEST_POSTGRES_URL is not set");
        return;
    }
    let test = TestDb::new(Backend::Postgres).await;
    let db = &test.db;
    let Db::Postgres(pool) = db else {
        unreachable!()
    };
    let clock = manual_clock();
    let settings = settings();
    let keys = enqueue_many(db, "locked", 5, clock.now()).await;

    // Another relay is in the middle of claiming the two oldest rows.
    let mut other = pool.begin().await.unwrap();
    let locked: Vec<String> = sqlx::query_scalar(
        "SELECT dedupe_key FROM outbox ORDER BY next_attempt_at, id LIMIT 2 FOR UPDATE",
    )
    .fetch_all(&mut *other)
    .await
    .unwrap();
    assert_eq!(locked, keys[..2]);

    let sink = TestSink::new();
    let delivered = tokio::time::timeout(
        Duration::from_secs(5),
        relay_once(db, &sink, &settings, &clock),
    )
    .await
    .expect("the claim waited for the locked rows")
    .unwrap();
    assert_eq!(delivered, 3);
    assert_eq!(sink.delivered_keys(), keys[2..]);

    other.rollback().await.unwrap();
    assert_eq!(once(db, &sink, &settings, &clock).await, 2);
    assert_eq!(pending_count(db).await.unwrap(), 0);
}
