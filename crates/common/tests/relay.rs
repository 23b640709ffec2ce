//! The outbox relay against real databases: every test runs on a fresh SQLite file, and on a
//! fresh PostgreSQL database when `RENDEZVOUS_TEST_POSTGRES_URL` is set (with
//! `RENDEZVOUS_REQUIRE_POSTGRES=1`, a PostgreSQL test that cannot run fails instead of
//! skipping). Rows go to a recording sink, which here stands for the receiver so that each
//! row's attempts, refusals and times can be followed exactly; the gRPC sinks with the real
//! receiver are tested with the notifications service (a refused row in a batch, the back-off
//! reset after an outage).

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
    ENQUEUE_CHUNK, OutboxMessage, OutboxWriter as _, POSTGRES_DDL, POSTGRES_DEAD_LETTERS_DDL,
    SQLITE_DDL, SQLITE_DEAD_LETTERS_DDL, TOPIC_NOTIFY, TRACE_CONTEXT_DDL,
};
use rendezvous_common::relay::{
    OutboxRow, OutboxSink, Pruned, RelaySettings, SinkError, UNKNOWN_TOPIC, backoff_ceiling,
    dead_letter_by_id, dead_letter_count, dead_letters, pending_count, probe_once, prune_once,
    relay_once, requeue_dead_letters, run,
};
use rendezvous_common::with_db;
use rendezvous_testkit::{Backend, backend_tests};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        (1, "outbox", SQLITE_DDL),
        (2, "outbox dead letters", SQLITE_DEAD_LETTERS_DDL),
        (3, "outbox trace context", TRACE_CONTEXT_DDL),
    ],
    postgres: &[
        (1, "outbox", POSTGRES_DDL),
        (2, "outbox dead letters", POSTGRES_DEAD_LETTERS_DDL),
        (3, "outbox trace context", TRACE_CONTEXT_DDL),
    ],
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

/// Records every batch it is handed; can fail its first calls, be slow, or hang. Like
/// notifications' Deliver, it refuses a whole call (INVALID_ARGUMENT) when one of its rows is
/// marked `"refuse": true`, until told to accept them.
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
    /// Rows marked `"refuse"` are taken (the receiver was fixed).
    accept_refused: std::sync::atomic::AtomicBool,
    /// The trace context each call was made in, as the receiver would be told it.
    traced: Mutex<Vec<Option<String>>>,
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

    /// From now on the receiver is down (every call fails) until `recover`.
    fn go_down(&self) {
        self.0.failures_left.store(usize::MAX, Ordering::SeqCst);
    }

    fn recover(&self) {
        self.0.failures_left.store(0, Ordering::SeqCst);
    }

    fn accept_refused(&self) {
        self.0.accept_refused.store(true, Ordering::SeqCst);
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

    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), SinkError> {
        self.0.calls.lock().unwrap().push(rows.to_vec());
        self.0
            .traced
            .lock()
            .unwrap()
            .push(rendezvous_common::telemetry::current_traceparent());
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
            return Err(SinkError::unavailable("receiver unavailable"));
        }
        let refused = rows.iter().find(|row| row.payload.get("refuse").is_some());
        if let Some(row) = refused
            && !self.0.accept_refused.load(Ordering::SeqCst)
        {
            let status = tonic::Status::invalid_argument(format!("{} is refused", row.dedupe_key));
            return Err(SinkError::from_status("deliver", &status));
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
    refusals: i64,
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    leased_until: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    dead_at: Option<DateTime<Utc>>,
    payload: String,
}

async fn row_state(db: &Db, dedupe_key: &str) -> RowState {
    type Row = (
        i64,
        i64,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        String,
    );
    let row = with_db!(db, |pool| {
        sqlx::query_as::<_, Row>(
            "SELECT attempts, refusals, last_error, next_attempt_at, leased_until, \
             delivered_at, dead_at, payload FROM outbox WHERE dedupe_key = $1",
        )
        .bind(dedupe_key)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("row {dedupe_key}: {e}"))
    });
    RowState {
        attempts: row.0,
        refusals: row.1,
        last_error: row.2,
        next_attempt_at: row.3,
        leased_until: row.4,
        delivered_at: row.5,
        dead_at: row.6,
        payload: row.7,
    }
}

/// How many rows of the outbox are left (pending, delivered or dead).
async fn rows_left(db: &Db) -> i64 {
    with_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox")
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

/// Whether the row keyed `dedupe_key` is still in the outbox.
async fn is_left(db: &Db, dedupe_key: &str) -> bool {
    with_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox WHERE dedupe_key = $1")
            .bind(dedupe_key)
            .fetch_one(pool)
            .await
            .unwrap()
            == 1
    })
}

/// Marks the rows whose key starts with `prefix` delivered at `at`, as a version that kept
/// delivered rows (with a blanked payload) left them.
async fn left_delivered_by_an_older_version(db: &Db, prefix: &str, at: DateTime<Utc>) {
    with_db!(db, |pool| {
        sqlx::query(
            "UPDATE outbox SET delivered_at = $1, payload = '{}', attempts = 1 \
             WHERE substr(dedupe_key, 1, length($2)) = $2",
        )
        .bind(at)
        .bind(prefix)
        .execute(pool)
        .await
        .unwrap();
    });
}

/// A notification the test sink refuses (until told to accept it).
fn refused(key: &str) -> OutboxMessage {
    let mut message = notify(key);
    if let Some(payload) = message.payload.as_object_mut() {
        payload.insert("refuse".to_owned(), serde_json::Value::Bool(true));
    }
    message
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
    refused_rows_are_split_out_of_their_batch_and_dead_lettered_with_their_reason,
    an_unavailable_receiver_is_retried_without_limit,
    a_probe_ends_the_backoff_of_its_topic_as_soon_as_the_receiver_answers,
    delivered_rows_and_dead_letters_are_pruned_after_their_retention_in_bounded_batches,
    a_delivery_continues_the_trace_its_first_row_was_written_in,
    a_batch_enqueue_ignores_keys_already_written_and_repeated_within_it,
    a_batch_enqueue_writes_every_row_of_exactly_a_chunk_and_of_one_more,
    delivered_rows_are_deleted_and_failed_and_pending_ones_stay,
);

async fn delivered_rows_are_deleted_and_failed_and_pending_ones_stay(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let sink = TestSink::new();
    let settings = RelaySettings {
        max_refusals: 2,
        ..settings()
    };
    let now = clock.now();
    enqueue(
        db,
        &[notify("sent:a"), refused("refused"), notify("sent:b")],
        now,
    )
    .await;
    let foreign = OutboxMessage {
        topic: "audit.record",
        dedupe_key: "foreign".to_owned(),
        payload: serde_json::json!({}),
    };
    enqueue(db, &[foreign], now).await;
    enqueue(db, &[notify("later")], now + TimeDelta::hours(1)).await;

    assert_eq!(once(db, &sink, &settings, &clock).await, 2);
    assert!(!is_left(db, "sent:a").await);
    assert!(!is_left(db, "sent:b").await);
    assert_eq!(rows_left(db).await, 3, "refused, foreign and later stay");
    let refused_state = row_state(db, "refused").await;
    assert_eq!((refused_state.refusals, refused_state.dead_at), (1, None));
    assert_eq!(
        row_state(db, "foreign").await.last_error.as_deref(),
        Some(UNKNOWN_TOPIC)
    );
    assert_eq!(row_state(db, "later").await.attempts, 0);

    // Refused again: dead-lettered, kept for operators; the later row is delivered and goes.
    clock.advance(TimeDelta::hours(2));
    assert_eq!(once(db, &sink, &settings, &clock).await, 1);
    assert!(!is_left(db, "later").await);
    assert_eq!(dead_letter_count(db).await.unwrap(), 1);
    assert_eq!(rows_left(db).await, 2);
    assert_eq!(sink.delivered_keys().len(), 3, "each delivered once");
}

/// Writes `messages` with one batch enqueue in one transaction; how many were new.
async fn enqueue_all(db: &Db, messages: &[OutboxMessage], at: DateTime<Utc>) -> u64 {
    with_db!(db, |pool| {
        let mut tx = pool.begin_write().await.unwrap();
        let new = tx.enqueue_all(messages, at).await.unwrap();
        tx.commit().await.unwrap();
        new
    })
}

/// The dedupe keys in the outbox and their payloads, by key.
async fn stored_payloads(db: &Db) -> BTreeMap<String, serde_json::Value> {
    let rows: Vec<(String, String)> = with_db!(db, |pool| {
        sqlx::query_as("SELECT dedupe_key, payload FROM outbox")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    rows.into_iter()
        .map(|(key, payload)| (key, serde_json::from_str(&payload).unwrap()))
        .collect()
}

async fn a_batch_enqueue_ignores_keys_already_written_and_repeated_within_it(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let earlier = notify("fanout:a");
    enqueue(db, std::slice::from_ref(&earlier), clock.now()).await;

    let first_b = notify("fanout:b");
    let batch = [
        notify("fanout:a"),
        first_b.clone(),
        notify("fanout:c"),
        notify("fanout:b"),
    ];
    assert_eq!(
        enqueue_all(db, &batch, clock.now()).await,
        2,
        "b and c are new"
    );
    let stored = stored_payloads(db).await;
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        ["fanout:a", "fanout:b", "fanout:c"]
    );
    assert_eq!(
        stored["fanout:a"], earlier.payload,
        "the row written first stays"
    );
    assert_eq!(
        stored["fanout:b"], first_b.payload,
        "the first of a repeated key"
    );

    // Again, all of it: nothing is new, and each row is delivered once.
    assert_eq!(enqueue_all(db, &batch, clock.now()).await, 0);
    let sink = TestSink::new();
    assert_eq!(once(db, &sink, &settings(), &clock).await, 3);
    assert_eq!(enqueue_all(db, &[], clock.now()).await, 0);
}

async fn a_batch_enqueue_writes_every_row_of_exactly_a_chunk_and_of_one_more(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    for (prefix, count) in [("exact", ENQUEUE_CHUNK), ("more", ENQUEUE_CHUNK + 1)] {
        let messages: Vec<OutboxMessage> = (0..count)
            .map(|i| notify(&format!("{prefix}:{i:04}")))
            .collect();
        let new = enqueue_all(db, &messages, clock.now()).await;
        assert_eq!(new, u64::try_from(count).unwrap(), "{prefix}");
        let stored = stored_payloads(db).await;
        for message in &messages {
            assert_eq!(
                stored.get(&message.dedupe_key),
                Some(&message.payload),
                "{}",
                message.dedupe_key
            );
        }
    }
    assert_eq!(
        rows_left(db).await,
        i64::try_from(2 * ENQUEUE_CHUNK + 1).unwrap()
    );
}

/// The trace id of a `traceparent` value (`00-<trace id>-<span id>-<flags>`).
fn trace_of(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap()
}

async fn a_delivery_continues_the_trace_its_first_row_was_written_in(backend: Backend) {
    use rendezvous_common::telemetry;
    use tracing::Instrument as _;

    telemetry::init_for_tests();
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    // Two calls, each continuing a trace of its caller's, write a row each; then a row is
    // written outside any trace.
    let callers = [
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ];
    for (caller, key) in callers.iter().zip(["traced:a", "traced:b"]) {
        let span = tracing::info_span!("rpc", trace_id = tracing::field::Empty);
        let mut headers = http::HeaderMap::new();
        headers.insert(telemetry::TRACEPARENT, caller.parse().unwrap());
        telemetry::continue_trace(&span, &headers);
        enqueue(db, &[notify(key)], clock.now())
            .instrument(span)
            .await;
    }
    enqueue(db, &[notify("untraced")], clock.now()).await;
    let stored: Vec<(String, Option<String>)> = with_db!(db, |pool| {
        sqlx::query_as("SELECT dedupe_key, traceparent FROM outbox ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    assert_eq!(stored.len(), 3);
    for ((key, traceparent), caller) in stored.iter().zip(callers) {
        let traceparent = traceparent
            .as_deref()
            .unwrap_or_else(|| panic!("{key}: none"));
        assert_eq!(trace_of(traceparent), trace_of(caller), "{key}");
        assert_ne!(
            traceparent, caller,
            "{key}: the call's own span, not its caller's"
        );
    }
    assert_eq!(stored[2], ("untraced".to_owned(), None));

    // One batch of the three: it goes on in the trace of its first row.
    let sink = TestSink::new();
    assert_eq!(once(db, &sink, &settings(), &clock).await, 3);
    let traced = sink.0.traced.lock().unwrap().clone();
    assert_eq!(traced.len(), 1, "one call");
    assert_eq!(
        trace_of(traced[0].as_deref().unwrap()),
        trace_of(callers[0])
    );

    // A row written outside any trace is delivered in a trace of its own.
    enqueue(db, &[notify("untraced:again")], clock.now()).await;
    assert_eq!(once(db, &sink, &settings(), &clock).await, 1);
    let traced = sink.0.traced.lock().unwrap().clone();
    let own = trace_of(traced[1].as_deref().unwrap()).to_owned();
    assert!(
        callers.iter().all(|caller| trace_of(caller) != own),
        "{own}"
    );
}

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
    // What they said now lives with the receiver: the rows are gone.
    for message in &messages {
        assert!(
            !is_left(db, &message.dedupe_key).await,
            "{}",
            message.dedupe_key
        );
    }
    assert_eq!(pending_count(db).await.unwrap(), 0);
    assert_eq!(rows_left(db).await, 0);

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
        assert!(!is_left(db, key).await, "{key} is deleted once delivered");
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

    // A topic no sink here handles waits at the maximum back-off, never counted as refused.
    let max_wait = TimeDelta::from_std(settings.max_backoff).unwrap();
    let foreign = row_state(db, "foreign").await;
    assert_eq!((foreign.attempts, foreign.refusals), (1, 0));
    assert_eq!(foreign.last_error.as_deref(), Some(UNKNOWN_TOPIC));
    assert_eq!(foreign.next_attempt_at, now + max_wait);
    // Rows the relay cannot read are refused: retried with back-off, like any refusal.
    let first_wait = TimeDelta::from_std(backoff_ceiling(&settings, 0)).unwrap();
    for (key, error) in [
        ("poisoned", "poisoned payload"),
        ("garbled", "payload is not valid json"),
    ] {
        let state = row_state(db, key).await;
        assert_eq!((state.attempts, state.refusals), (1, 1), "{key}");
        assert_eq!((state.delivered_at, state.dead_at), (None, None), "{key}");
        let last_error = state.last_error.unwrap_or_default();
        assert!(last_error.starts_with(error), "{key}: {last_error:?}");
        assert!(state.next_attempt_at > now, "{key}");
        assert!(state.next_attempt_at <= now + first_wait, "{key}");
    }
    assert_eq!(pending_count(db).await.unwrap(), 3);

    // Refused `max_refusals` times, they are dead letters: kept with their error, never
    // claimed again. The foreign row waits on for a relay that knows its topic.
    for _ in 1..settings.max_refusals {
        clock.advance(max_wait);
        assert_eq!(once(db, &sink, &settings, &clock).await, 0);
    }
    let max_refusals = i64::from(settings.max_refusals);
    for key in ["poisoned", "garbled"] {
        let state = row_state(db, key).await;
        assert_eq!(state.refusals, max_refusals, "{key}");
        assert_eq!(state.dead_at, Some(micros(clock.now())), "{key}");
        assert_eq!(state.delivered_at, None, "{key}");
        assert_ne!(
            state.payload, "{}",
            "{key}: a dead letter keeps what it said"
        );
    }
    let foreign = row_state(db, "foreign").await;
    assert_eq!((foreign.refusals, foreign.dead_at), (0, None));
    assert_eq!(dead_letter_count(db).await.unwrap(), 2);
    assert_eq!(pending_count(db).await.unwrap(), 1);
    clock.advance(max_wait * 10);
    assert_eq!(once(db, &sink, &settings, &clock).await, 0);
    assert_eq!(
        row_state(db, "poisoned").await.attempts,
        max_refusals,
        "a dead letter is not claimed again"
    );
    assert_eq!(sink.calls().len(), 1, "the sink never saw a bad row");
    assert_eq!(
        rows_left(db).await,
        3,
        "nothing is dropped: the two delivered rows are gone, the three others stay"
    );
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
        assert!(!is_left(db, key).await, "{key} is deleted once delivered");
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
        "rendezvous-test",
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

async fn refused_rows_are_split_out_of_their_batch_and_dead_lettered_with_their_reason(
    backend: Backend,
) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let settings = RelaySettings {
        max_refusals: 3,
        ..settings()
    };
    let sink = TestSink::new();
    // Nine rows in one transaction, two of which the receiver refuses.
    let messages: Vec<OutboxMessage> = (0..9)
        .map(|i| {
            let key = format!("batch:{i}");
            if i == 2 || i == 6 {
                refused(&key)
            } else {
                notify(&key)
            }
        })
        .collect();
    enqueue(db, &messages, clock.now()).await;
    let now = micros(clock.now());

    assert_eq!(once(db, &sink, &settings, &clock).await, 7);
    let calls = sink.calls();
    assert_eq!(calls[0].len(), 9, "the whole batch is tried first");
    // Each refused row costs at most two calls per halving (four halvings of nine rows).
    assert!(
        calls.len() <= 1 + 2 * 2 * 4,
        "halving takes a few calls: {}",
        calls.len()
    );
    let mut delivered = sink.delivered_keys();
    delivered.sort();
    let good: Vec<String> = [0, 1, 3, 4, 5, 7, 8]
        .iter()
        .map(|i| format!("batch:{i}"))
        .collect();
    assert_eq!(delivered, good, "the rest of the batch is delivered, once");
    for key in ["batch:2", "batch:6"] {
        let state = row_state(db, key).await;
        assert_eq!((state.attempts, state.refusals), (1, 1), "{key}");
        assert_eq!((state.delivered_at, state.dead_at), (None, None), "{key}");
        let error = state.last_error.unwrap_or_default();
        assert!(
            error.contains("InvalidArgument") && error.contains(&format!("{key} is refused")),
            "{key}: {error}"
        );
        let first_wait = TimeDelta::from_std(backoff_ceiling(&settings, 0)).unwrap();
        assert!(state.next_attempt_at > now && state.next_attempt_at <= now + first_wait);
    }
    assert_eq!(pending_count(db).await.unwrap(), 2);

    // Retried after their back-off, refused again; dead at the third refusal.
    let max_wait = TimeDelta::from_std(settings.max_backoff).unwrap();
    for refusal in 2..=3 {
        clock.advance(max_wait);
        assert_eq!(once(db, &sink, &settings, &clock).await, 0);
        assert_eq!(row_state(db, "batch:2").await.refusals, refusal);
    }
    for key in ["batch:2", "batch:6"] {
        assert_eq!(row_state(db, key).await.dead_at, Some(micros(clock.now())));
    }
    assert_eq!(dead_letter_count(db).await.unwrap(), 2);
    assert_eq!(pending_count(db).await.unwrap(), 0);
    let calls = sink.calls().len();
    clock.advance(TimeDelta::hours(1));
    assert_eq!(once(db, &sink, &settings, &clock).await, 0);
    assert_eq!(sink.calls().len(), calls, "dead letters are not claimed");

    // Operators list them, a page at a time, with their reason.
    let first = dead_letters(db, None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    let second = dead_letters(db, Some(&first[0].id), 10).await.unwrap();
    assert_eq!(second.len(), 1);
    for (letter, key) in [(&first[0], "batch:2"), (&second[0], "batch:6")] {
        assert_eq!(letter.dedupe_key, key);
        assert_eq!(letter.topic, TOPIC_NOTIFY);
        assert_eq!((letter.attempts, letter.refusals), (3, 3));
        assert_eq!(letter.dead_at, micros(clock.now()) - TimeDelta::hours(1));
        assert!(
            letter.payload.contains("\"refuse\":true"),
            "{}",
            letter.payload
        );
        let error = letter.last_error.clone().unwrap_or_default();
        assert!(error.contains(&format!("{key} is refused")), "{error}");
        assert_eq!(
            dead_letter_by_id(db, &letter.id).await.unwrap().as_ref(),
            Some(letter)
        );
    }
    assert!(!is_left(db, "batch:0").await, "delivered, so deleted");

    // The receiver is fixed: one is requeued by id, then the rest; each delivered once.
    sink.accept_refused();
    let at = micros(clock.now());
    let one = [first[0].id.clone()];
    assert_eq!(requeue_dead_letters(db, Some(&one), at).await.unwrap(), 1);
    assert_eq!(requeue_dead_letters(db, Some(&one), at).await.unwrap(), 0);
    assert_eq!(dead_letter_count(db).await.unwrap(), 1);
    assert_eq!(pending_count(db).await.unwrap(), 1);
    assert_eq!(once(db, &sink, &settings, &clock).await, 1);
    assert_eq!(requeue_dead_letters(db, None, at).await.unwrap(), 1);
    assert_eq!(once(db, &sink, &settings, &clock).await, 1);
    for key in ["batch:2", "batch:6"] {
        assert!(!is_left(db, key).await, "{key} is deleted once delivered");
    }
    let delivered: Vec<String> = sink.delivered_keys();
    for key in ["batch:2", "batch:6"] {
        assert_eq!(delivered.iter().filter(|k| *k == key).count(), 1, "{key}");
    }
    assert_eq!(dead_letter_count(db).await.unwrap(), 0);
    assert_eq!(pending_count(db).await.unwrap(), 0);
}

async fn an_unavailable_receiver_is_retried_without_limit(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let settings = RelaySettings {
        max_refusals: 1,
        ..settings()
    };
    let sink = TestSink::new();
    sink.go_down();
    enqueue(db, &[notify("patient")], clock.now()).await;
    let max_wait = TimeDelta::from_std(settings.max_backoff).unwrap();
    for attempt in 1..=12 {
        assert_eq!(once(db, &sink, &settings, &clock).await, 0);
        let state = row_state(db, "patient").await;
        assert_eq!((state.attempts, state.refusals), (attempt, 0));
        assert_eq!(state.dead_at, None, "an unavailable receiver is no refusal");
        clock.advance(max_wait);
    }
    assert_eq!(dead_letter_count(db).await.unwrap(), 0);
    sink.recover();
    assert_eq!(once(db, &sink, &settings, &clock).await, 1);
    assert_eq!(sink.delivered_keys(), ["patient"]);
}

async fn a_probe_ends_the_backoff_of_its_topic_as_soon_as_the_receiver_answers(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let settings = settings();
    let sink = TestSink::new();
    // A row the receiver refused once waits on its own back-off, whatever happens to the others.
    enqueue(db, &[refused("refused")], clock.now()).await;
    assert_eq!(once(db, &sink, &settings, &clock).await, 0);
    assert_eq!(row_state(db, "refused").await.refusals, 1);

    // The receiver goes down; five rows fail again and again, their back-off growing.
    sink.go_down();
    let keys = enqueue_many(db, "outage", 5, clock.now()).await;
    let foreign = OutboxMessage {
        topic: "audit.record",
        dedupe_key: "foreign".to_owned(),
        payload: serde_json::json!({}),
    };
    enqueue(db, &[foreign], clock.now()).await;
    for _ in 0..6 {
        assert!(once(db, &sink, &settings, &clock).await == 0);
        let mut latest = micros(clock.now());
        for key in &keys {
            latest = latest.max(row_state(db, key).await.next_attempt_at);
        }
        clock.advance(latest - micros(clock.now()));
    }
    assert_eq!(once(db, &sink, &settings, &clock).await, 0);
    let now = micros(clock.now());
    let mut waits = Vec::new();
    for key in &keys {
        let state = row_state(db, key).await;
        assert_eq!((state.attempts, state.refusals), (7, 0), "{key}");
        assert_eq!(state.leased_until, None, "{key}");
        waits.push(state.next_attempt_at);
    }
    assert!(
        waits.iter().all(|at| *at > now),
        "every row waits: {waits:?} at {now}"
    );

    let refused_at = row_state(db, "refused").await.next_attempt_at;

    // While the receiver is down a probe tries one row, the one waiting longest.
    let calls = sink.calls().len();
    let earliest = *waits.iter().min().unwrap();
    assert_eq!(probe_once(db, &sink, &settings, &clock).await.unwrap(), 0);
    let probed = sink.calls();
    assert_eq!(probed.len(), calls + 1);
    assert_eq!(probed[calls].len(), 1);
    let probed_key = probed[calls][0].dedupe_key.clone();
    let probed_state = row_state(db, &probed_key).await;
    assert_eq!(probed_state.attempts, 8, "a probe is an attempt");
    assert!(
        keys.contains(&probed_key),
        "probed {probed_key}, not a refused or foreign row"
    );
    for (key, at) in keys.iter().zip(&waits) {
        if *key != probed_key {
            assert_eq!(row_state(db, key).await.next_attempt_at, *at, "{key}");
        } else {
            assert_eq!(*at, earliest, "the probe takes the row waiting longest");
        }
    }

    // The receiver is back: the next probe goes through, and every other row of its topic
    // is due at once, long before its back-off would have ended.
    sink.recover();
    assert_eq!(probe_once(db, &sink, &settings, &clock).await.unwrap(), 1);
    let now = micros(clock.now());
    let mut left = 0;
    for key in &keys {
        if is_left(db, key).await {
            left += 1;
            let state = row_state(db, key).await;
            assert_eq!(state.next_attempt_at, now, "{key}: the back-off is reset");
        }
    }
    assert_eq!(left, 4);
    assert_eq!(once(db, &sink, &settings, &clock).await, 4);
    let mut delivered = sink.delivered_keys();
    delivered.sort();
    assert_eq!(delivered, keys);
    // The refused row and the foreign one keep their waits.
    assert_eq!(row_state(db, "refused").await.next_attempt_at, refused_at);
    assert!(row_state(db, "foreign").await.next_attempt_at > now);
    assert_eq!(probe_once(db, &sink, &settings, &clock).await.unwrap(), 0);
    assert_eq!(pending_count(db).await.unwrap(), 2);
}

async fn delivered_rows_and_dead_letters_are_pruned_after_their_retention_in_bounded_batches(
    backend: Backend,
) {
    let test = TestDb::new(backend).await;
    let db = &test.db;
    let clock = manual_clock();
    let settings = RelaySettings {
        max_refusals: 1,
        prune_batch: 10,
        ..settings()
    };
    let (retention, dead_retention) = (
        TimeDelta::from_std(settings.retention).unwrap(),
        TimeDelta::from_std(settings.dead_letter_retention).unwrap(),
    );
    assert_eq!((retention.num_days(), dead_retention.num_days()), (7, 30));
    let sink = TestSink::new();
    let start = clock.now();
    enqueue_many(db, "old", 25, start).await;
    enqueue(db, &[refused("dead")], start).await;
    // A row of a topic nobody delivers here is never pruned, however old.
    let foreign = OutboxMessage {
        topic: "audit.record",
        dedupe_key: "foreign".to_owned(),
        payload: serde_json::json!({}),
    };
    enqueue(db, &[foreign], start).await;
    // This version deletes what it delivers; rows an older version delivered and kept are
    // pruned after the retention.
    left_delivered_by_an_older_version(db, "old:", micros(start)).await;
    assert_eq!(once(db, &sink, &settings, &clock).await, 0);
    assert_eq!(dead_letter_count(db).await.unwrap(), 1);
    clock.advance(TimeDelta::days(1));
    enqueue(db, &[notify("recent")], clock.now()).await;
    left_delivered_by_an_older_version(db, "recent", micros(clock.now())).await;
    assert_eq!(rows_left(db).await, 28);

    let prune = || prune_once(db, &settings, &clock);
    clock.advance(retention - TimeDelta::days(1) - TimeDelta::microseconds(1));
    let pruned = prune().await.unwrap();
    assert_eq!((pruned.delivered, pruned.dead_letters), (0, 0));
    assert_eq!(rows_left(db).await, 28);
    // 25 rows past the retention, ten per statement: 10, 10, 5 (and one statement that finds
    // no dead letter).
    clock.advance(TimeDelta::microseconds(1));
    assert_eq!(
        prune().await.unwrap(),
        Pruned {
            delivered: 25,
            dead_letters: 0,
            statements: 4,
        }
    );
    assert_eq!(rows_left(db).await, 3);
    clock.advance(TimeDelta::days(1));
    assert_eq!(prune().await.unwrap().delivered, 1);
    assert_eq!(
        dead_letter_count(db).await.unwrap(),
        1,
        "dead letters stay longer"
    );
    clock.advance(dead_retention - retention - TimeDelta::days(1));
    let pruned = prune().await.unwrap();
    assert_eq!((pruned.delivered, pruned.dead_letters), (0, 1));
    assert_eq!(dead_letter_count(db).await.unwrap(), 0);
    assert_eq!(rows_left(db).await, 1);
    assert_eq!(row_state(db, "foreign").await.delivered_at, None);
}
