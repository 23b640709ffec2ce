//! The outbox relay: delivers outbox rows to their receiver with retries and back-off, so a
//! message written in a transaction is never lost when the receiver is down.
//!
//! A pass claims up to `batch_size` due rows by pushing their `next_attempt_at` forward by
//! `claim_timeout` (a lease), hands them to a sink one topic at a time, then marks them
//! delivered or schedules a retry with exponential back-off and full jitter. On PostgreSQL
//! several replicas share the work: the claim skips rows another replica is claiming (`FOR
//! UPDATE SKIP LOCKED`). On SQLite the claim runs in a `BEGIN IMMEDIATE` transaction (one
//! writer at a time). A relay that dies mid-batch leaves its rows leased; they become due again
//! after `claim_timeout` and are delivered again, which is harmless because the receiver
//! deduplicates on the row's dedupe key.
//!
//! What a failure means depends on who failed ([`SinkError`]):
//!
//! - The receiver is **unavailable** (down, overloaded, no answer within the deadline, or any
//!   code not listed below): the rows are retried for as long as it takes, at-least-once. Their
//!   back-off grows while the receiver stays down, but it is **reset as soon as the receiver
//!   answers again**: every `probe_interval` the relay tries the earliest waiting row ahead of
//!   its back-off, and any delivery that goes through makes the other waiting rows of its
//!   topic due at once. So delivery resumes within about a second of an outage ending.
//! - The receiver **refuses** a row (`INVALID_ARGUMENT`, `FAILED_PRECONDITION`,
//!   `OUT_OF_RANGE`, `NOT_FOUND`, `PERMISSION_DENIED`, `ALREADY_EXISTS`: retrying the same
//!   request cannot succeed), or the relay itself cannot read it (a payload that is not JSON
//!   or does not convert): a refused batch is split in halves and each half delivered again,
//!   down to single rows, so that one bad row never holds back the rest of its batch. The bad
//!   row is retried with back-off up to `max_refusals` times, then **dead-lettered** with its
//!   last error: it stays in the table (listed by [`dead_letters`], counted by
//!   [`dead_letter_count`], requeued by [`requeue_dead_letters`]) and is never claimed again.
//! - No sink handles the row's topic here (a peer this replica is not configured for): the
//!   row waits at the maximum back-off, with [`UNKNOWN_TOPIC`], for a relay that has it.
//!
//! A delivered row is deleted in the transaction that records its delivery, so the table holds
//! pending rows and dead letters only and a claim stays as fast after millions of deliveries as
//! before the first. The producer's dedupe on a key therefore lasts until the row is delivered;
//! after that the receiver's dedupe on the key is what keeps a message from being doubled.
//! Dead letters (and rows marked delivered by an older version, which kept them) are pruned
//! after a retention, in statements of at most `prune_batch` rows, by a task [`run`] starts
//! ([`prune_once`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use rand::Rng as _;
use sqlx::QueryBuilder;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::clock::Clock;
use crate::db::{Backend, BeginWrite as _, Db};
use crate::with_db;

mod blocks;
mod coffee;
mod dead_letters;
mod erasure;
mod fields;
mod met_edges;
mod notifications;
mod prune;
mod sessions;
mod settings;

pub use blocks::{
    BlocksSink, MAX_CHANGES_PER_CALL, RECORD_BLOCKS_TIMEOUT, TOPIC_BLOCKS_IN_EVENTS, block_change,
    block_changed,
};
pub use coffee::{
    CoffeeSink, SCHEDULE_COFFEE_TIMEOUT, TOPIC_COFFEE_IN_EVENTS, TOPIC_COFFEE_OFF_IN_EVENTS,
    cancel_coffee_request, coffee_booked, coffee_called_off, schedule_coffee_request,
};
pub use dead_letters::{
    DeadLetter, dead_letter_by_id, dead_letter_count, dead_letters, requeue_dead_letters,
};
pub use erasure::{ERASE_TIMEOUT, Eraser, ErasureSink, InEvents, InNotifications, erased_member};
pub use met_edges::{
    MetEdgesSink, RECORD_MET_EDGE_TIMEOUT, TOPIC_MET_EDGE_IN_EVENTS, met_edge_made,
    met_edge_request,
};
pub use notifications::{NotificationsSink, notification_request};
pub use prune::{Pruned, prune_once};
pub use sessions::{
    REVOKE_TIMEOUT, RevocationSink, RevokeInEvents, RevokeInNotifications, Revoker,
    revocation_request,
};
pub use settings::RelayArgs;

/// `last_error` of rows whose topic the sink does not handle.
pub const UNKNOWN_TOPIC: &str = "unknown topic";

/// Longest `last_error` stored, in characters.
const MAX_ERROR_CHARS: usize = 1000;

/// Ids per `UPDATE ... WHERE id IN (...)`, well under both backends' bind limits.
const IDS_PER_STATEMENT: usize = 500;

/// How the relay paces itself, when it gives up on a row, and how long it keeps rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelaySettings {
    /// Rows claimed per pass.
    pub batch_size: u32,
    /// Pause after a pass that did not deliver a full batch.
    pub poll_interval: Duration,
    /// Back-off ceiling of the first retry; it doubles with every attempt.
    pub base_backoff: Duration,
    /// Back-off ceiling of any retry; also the wait of rows of a topic no sink handles.
    pub max_backoff: Duration,
    /// How long a claimed row stays leased to the relay that claimed it.
    pub claim_timeout: Duration,
    /// Refusals (permanent errors) after which a row is dead-lettered; at least 1.
    pub max_refusals: u32,
    /// How often the earliest row waiting after a failure is tried ahead of its back-off, to
    /// find out whether its receiver answers again.
    pub probe_interval: Duration,
    /// How long a row marked delivered by an older version (which kept delivered rows; this
    /// one deletes them on delivery) is kept before it is pruned.
    pub retention: Duration,
    /// How long a dead letter is kept for operators before it is pruned.
    pub dead_letter_retention: Duration,
    /// How often delivered and dead rows past their retention are pruned.
    pub prune_interval: Duration,
    /// Most rows one pruning statement deletes, so that no statement holds locks for long.
    pub prune_batch: u32,
}

impl Default for RelaySettings {
    fn default() -> Self {
        const DAY: Duration = Duration::from_secs(24 * 3600);
        Self {
            batch_size: 1000,
            poll_interval: Duration::from_millis(250),
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            claim_timeout: Duration::from_secs(30),
            max_refusals: 5,
            probe_interval: Duration::from_secs(1),
            retention: DAY * 7,
            dead_letter_retention: DAY * 30,
            prune_interval: Duration::from_secs(10 * 60),
            prune_batch: 1000,
        }
    }
}

/// An outbox row claimed for delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    pub id: String,
    pub topic: String,
    pub dedupe_key: String,
    pub payload: serde_json::Value,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The W3C trace context of the span that wrote the row, which its delivery continues.
    pub traceparent: Option<String>,
}

#[cfg(test)]
impl OutboxRow {
    /// The row a relay claims for `message` on its first attempt (for the sinks' tests).
    fn claimed(message: &crate::outbox::OutboxMessage) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            topic: message.topic.to_owned(),
            dedupe_key: message.dedupe_key.clone(),
            payload: message.payload.clone(),
            attempts: 0,
            traceparent: None,
        }
    }
}

/// Why a sink could not deliver: the receiver refused the rows (a permanent error: the same
/// request can never succeed), or it could not be reached or did not answer (retried until it
/// does).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    pub message: String,
    /// The receiver (or the relay) refused the rows for good; see [`is_refusal`].
    pub refused: bool,
}

impl SinkError {
    /// The receiver is unavailable: retried for as long as it takes.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            refused: false,
        }
    }

    /// The receiver refused the rows: retried up to `max_refusals` times, then dead-lettered.
    pub fn refused(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            refused: true,
        }
    }

    /// The failure of the call `call` with `status`, refused or not by its code.
    pub fn from_status(call: &str, status: &tonic::Status) -> Self {
        Self {
            message: format!("{call} failed: {:?}: {}", status.code(), status.message()),
            refused: is_refusal(status.code()),
        }
    }
}

impl From<String> for SinkError {
    fn from(message: String) -> Self {
        Self::unavailable(message)
    }
}

/// Whether a receiver answering `code` refused the request for good. The codes of a request
/// that is wrong in itself (`INVALID_ARGUMENT`, `OUT_OF_RANGE`), of a state that will not change
/// by waiting (`FAILED_PRECONDITION`, `NOT_FOUND`, `ALREADY_EXISTS`) and of a caller that is not
/// allowed (`PERMISSION_DENIED`) are refusals; everything else — `UNAVAILABLE`,
/// `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`, `ABORTED`, `CANCELLED`, `INTERNAL`, `UNKNOWN`,
/// `DATA_LOSS`, `UNAUTHENTICATED` (a credential that a fixed configuration or clock gets
/// through) and `UNIMPLEMENTED` (a receiver of an older version during a rolling deploy) — is
/// retried until the receiver takes the row.
pub fn is_refusal(code: tonic::Code) -> bool {
    use tonic::Code;
    matches!(
        code,
        Code::InvalidArgument
            | Code::OutOfRange
            | Code::FailedPrecondition
            | Code::NotFound
            | Code::AlreadyExists
            | Code::PermissionDenied
    )
}

/// `call` bounded by `timeout` (besides the deadline the request carries, which the receiver
/// sees), its failure named `method` and classified by [`SinkError::from_status`].
async fn within_deadline<T>(
    timeout: Duration,
    method: &str,
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, SinkError> {
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| SinkError::unavailable(format!("{method} timed out after {timeout:?}")))?
        .map(tonic::Response::into_inner)
        .map_err(|status| SinkError::from_status(method, &status))
}

/// Where rows go; one call per claimed batch of one topic.
pub trait OutboxSink: Send + Sync + 'static {
    /// Whether this sink delivers rows of `topic`. Rows of other topics are marked failed
    /// with [`UNKNOWN_TOPIC`] and retried at the maximum back-off (never dropped).
    fn accepts(&self, topic: &str) -> bool;

    /// A permanent problem with one row (a payload that can never be delivered). The relay
    /// leaves such a row out of the batch, so that it does not hold back the others, and
    /// counts it as refused. By default every row is fine.
    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        let _ = row;
        Ok(())
    }

    /// Delivers `rows` (all of one topic); an error fails the whole batch. A refused batch of
    /// several rows is split and delivered again in halves, so a receiver that refuses a whole
    /// call for one bad item still takes the others.
    fn deliver(&self, rows: &[OutboxRow]) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// A sink that is not configured accepts nothing: its rows wait (with [`UNKNOWN_TOPIC`]) until
/// a relay that has it delivers them.
impl<S: OutboxSink> OutboxSink for Option<S> {
    fn accepts(&self, topic: &str) -> bool {
        self.as_ref().is_some_and(|sink| sink.accepts(topic))
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        self.as_ref().map_or(Ok(()), |sink| sink.check(row))
    }

    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), SinkError> {
        match self {
            Some(sink) => sink.deliver(rows).await,
            None => Err(SinkError::unavailable(UNKNOWN_TOPIC)),
        }
    }
}

/// Two sinks as one: each batch (of one topic) goes to the first that accepts its topic.
#[derive(Clone, Debug)]
pub struct Both<A, B>(pub A, pub B);

impl<A: OutboxSink, B: OutboxSink> OutboxSink for Both<A, B> {
    fn accepts(&self, topic: &str) -> bool {
        self.0.accepts(topic) || self.1.accepts(topic)
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        if self.0.accepts(&row.topic) {
            self.0.check(row)
        } else {
            self.1.check(row)
        }
    }

    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), SinkError> {
        match rows.first() {
            Some(row) if self.0.accepts(&row.topic) => self.0.deliver(rows).await,
            Some(_) => self.1.deliver(rows).await,
            None => Ok(()),
        }
    }
}

/// The longest wait before retry `attempt` (the number of attempts already made, from 0):
/// `min(max_backoff, base_backoff * 2^attempt)`.
pub fn backoff_ceiling(settings: &RelaySettings, attempt: i64) -> Duration {
    let exponent = u32::try_from(attempt.clamp(0, 31)).unwrap_or(31);
    settings
        .base_backoff
        .saturating_mul(1_u32 << exponent)
        .min(settings.max_backoff)
}

/// The wait before retry `attempt`, with full jitter: uniform in `(0, backoff_ceiling]`, in
/// whole microseconds (never zero unless the ceiling is, so a failed row is never due again
/// at the very instant it failed).
pub fn backoff(settings: &RelaySettings, attempt: i64) -> Duration {
    let ceiling = u64::try_from(backoff_ceiling(settings, attempt).as_micros()).unwrap_or(u64::MAX);
    if ceiling == 0 {
        return Duration::ZERO;
    }
    Duration::from_micros(rand::thread_rng().gen_range(1..=ceiling))
}

/// Runs passes until `shutdown` is cancelled, its deliveries' spans naming `service` (see
/// [`crate::telemetry::SERVICE_FIELD`]): immediately again after a full batch was
/// delivered (or a probe found its receiver back), after `poll_interval` otherwise, and with
/// growing pauses while the database fails; every `probe_interval` it probes the earliest row
/// waiting after a failure ([`probe_once`]). A task of its own prunes delivered rows and dead
/// letters past their retention every `prune_interval`. A pass in flight when `shutdown`
/// fires is finished first (a sink call is bounded by its own timeout), so its rows are marked
/// rather than left leased.
pub async fn run<S: OutboxSink>(
    service: &'static str,
    db: Db,
    sink: S,
    settings: RelaySettings,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let pruning = tokio::spawn(prune::run(
        db.clone(),
        settings.clone(),
        clock.clone(),
        shutdown.clone(),
    ));
    let mut consecutive_errors: i64 = 0;
    let mut last_probe = tokio::time::Instant::now();
    tracing::debug!(
        backend = ?db.backend(),
        batch_size = settings.batch_size,
        "outbox relay started"
    );
    while !shutdown.is_cancelled() {
        let pass = async {
            let delivered = pass(service, &db, &sink, &settings, &clock, Claim::Due).await?;
            if delivered >= settings.batch_size as usize {
                return Ok(true);
            }
            if last_probe.elapsed() >= settings.probe_interval {
                last_probe = tokio::time::Instant::now();
                let probed = pass(service, &db, &sink, &settings, &clock, Claim::Probe).await?;
                return Ok(probed > 0);
            }
            Ok::<_, sqlx::Error>(false)
        };
        let pause = match pass.await {
            Ok(again) => {
                consecutive_errors = 0;
                if again {
                    continue;
                }
                settings.poll_interval
            }
            Err(error) => {
                consecutive_errors = consecutive_errors.saturating_add(1);
                tracing::warn!(%error, consecutive_errors, "outbox relay pass failed");
                backoff_ceiling(&settings, consecutive_errors).max(settings.poll_interval)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    let _ = pruning.await;
    tracing::debug!("outbox relay stopped");
}

/// One pass: claims up to batch_size due rows, delivers them, returns how many were delivered.
/// Public for tests.
pub async fn relay_once<S: OutboxSink>(
    db: &Db,
    sink: &S,
    settings: &RelaySettings,
    clock: &Clock,
) -> Result<usize, sqlx::Error> {
    pass(
        crate::telemetry::PROCESS,
        db,
        sink,
        settings,
        clock,
        Claim::Due,
    )
    .await
}

/// A probe: claims the earliest row waiting after its receiver failed (not refused, not
/// leased, of a topic some relay handles), ahead of its back-off, and delivers it. When the
/// receiver takes it, the other rows of its topic waiting after failures are made due at once
/// (as after any delivery), so an outage's back-off ends as soon as the receiver answers.
/// Returns how many rows were delivered (0 or 1). Public for tests.
pub async fn probe_once<S: OutboxSink>(
    db: &Db,
    sink: &S,
    settings: &RelaySettings,
    clock: &Clock,
) -> Result<usize, sqlx::Error> {
    pass(
        crate::telemetry::PROCESS,
        db,
        sink,
        settings,
        clock,
        Claim::Probe,
    )
    .await
}

/// Claims the rows `which` selects, delivers them and marks them.
async fn pass<S: OutboxSink>(
    service: &'static str,
    db: &Db,
    sink: &S,
    settings: &RelaySettings,
    clock: &Clock,
    which: Claim,
) -> Result<usize, sqlx::Error> {
    // Rows are due by the exact time (a row enqueued at this very instant, with nanoseconds,
    // is due); what the relay writes is truncated to microseconds, PostgreSQL's precision, so
    // both backends store the same instants.
    let due = clock.now();
    let now = due.trunc_subsecs(6);
    let claimed = claim(db, settings, which, due, now).await?;
    deliver_claimed(service, db, sink, settings, claimed, now).await
}

/// What a pass learnt about its rows.
#[derive(Default)]
struct Outcome {
    delivered: Vec<String>,
    failures: Vec<Failure>,
    /// Topics of which a delivery went through: their receiver answers.
    answered: BTreeSet<String>,
}

/// Delivers claimed rows topic by topic, then marks them in one transaction.
async fn deliver_claimed<S: OutboxSink>(
    service: &'static str,
    db: &Db,
    sink: &S,
    settings: &RelaySettings,
    claimed: Vec<ClaimedRow>,
    now: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut outcome = Outcome::default();
    let mut refusals: HashMap<String, i64> = HashMap::new();
    let mut by_topic: BTreeMap<String, Vec<OutboxRow>> = BTreeMap::new();
    for (id, topic, dedupe_key, payload, attempts, refused, traceparent) in claimed {
        refusals.insert(id.clone(), refused);
        match serde_json::from_str(&payload) {
            Ok(payload) => by_topic.entry(topic.clone()).or_default().push(OutboxRow {
                id,
                topic,
                dedupe_key,
                payload,
                attempts,
                traceparent,
            }),
            Err(error) => {
                let error = format!("payload is not valid json: {error}");
                tracing::warn!(outbox_id = %id, %topic, %error, "outbox row cannot be delivered");
                outcome
                    .failures
                    .push(Failure::refused(id, error, attempts, settings));
            }
        }
    }

    for (topic, rows) in by_topic {
        if !sink.accepts(&topic) {
            tracing::warn!(%topic, rows = rows.len(), "outbox rows of an unknown topic");
            outcome.failures.extend(rows.into_iter().map(|row| Failure {
                id: row.id,
                error: UNKNOWN_TOPIC.to_owned(),
                wait: settings.max_backoff,
                refused: false,
            }));
            continue;
        }
        let mut batch = Vec::with_capacity(rows.len());
        for row in rows {
            match sink.check(&row) {
                Ok(()) => batch.push(row),
                Err(error) => {
                    tracing::warn!(
                        outbox_id = %row.id, %topic, %error,
                        "outbox row cannot be delivered"
                    );
                    let attempts = row.attempts;
                    outcome
                        .failures
                        .push(Failure::refused(row.id, error, attempts, settings));
                }
            }
        }
        deliver_splitting(service, sink, &topic, batch, settings, &mut outcome).await;
    }
    for failure in outcome.failures.iter().filter(|f| f.refused) {
        let refused = refusals.get(&failure.id).copied().unwrap_or_default() + 1;
        if refused >= i64::from(settings.max_refusals.max(1)) {
            tracing::warn!(
                outbox_id = %failure.id, refusals = refused, error = %failure.error,
                "outbox row dead-lettered"
            );
        }
    }
    let delivered = outcome.delivered.len();
    mark(db, &outcome, settings, now).await?;
    Ok(delivered)
}

/// Delivers `rows` of `topic`; a refused call of several rows is split in halves, each
/// delivered again, until the refused rows are alone.
async fn deliver_splitting<S: OutboxSink>(
    service: &'static str,
    sink: &S,
    topic: &str,
    rows: Vec<OutboxRow>,
    settings: &RelaySettings,
    outcome: &mut Outcome,
) {
    let mut pending = vec![rows];
    while let Some(mut rows) = pending.pop() {
        if rows.is_empty() {
            continue;
        }
        // Each delivery continues the trace its first row was written in, linked to the other
        // rows' traces, and the receiver continues it.
        let span = tracing::info_span!(
            parent: None,
            "outbox_delivery",
            service,
            %topic,
            rows = rows.len(),
            trace_id = tracing::field::Empty,
        );
        crate::telemetry::continue_outbox(&span, rows.iter().map(|row| row.traceparent.as_deref()));
        match sink.deliver(&rows).instrument(span).await {
            Ok(()) => {
                outcome.answered.insert(topic.to_owned());
                outcome.delivered.extend(rows.into_iter().map(|row| row.id));
            }
            Err(error) if error.refused && rows.len() > 1 => {
                tracing::info!(
                    %topic, rows = rows.len(), %error,
                    "outbox batch refused; delivering it in halves"
                );
                let second = rows.split_off(rows.len() / 2);
                // Last in, first out: the first half goes first, keeping the rows' order.
                pending.push(second);
                pending.push(rows);
            }
            Err(error) => {
                tracing::warn!(
                    %topic, rows = rows.len(), %error, refused = error.refused,
                    "outbox delivery failed"
                );
                outcome.failures.extend(rows.into_iter().map(|row| Failure {
                    wait: backoff(settings, row.attempts),
                    id: row.id,
                    error: error.message.clone(),
                    refused: error.refused,
                }));
            }
        }
    }
}

/// Rows waiting to be delivered, dead letters left out (for metrics, tests and the README's
/// "outbox lag").
pub async fn pending_count(db: &Db) -> Result<i64, sqlx::Error> {
    with_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL",
        )
        .fetch_one(pool)
        .await
    })
}

/// A row to retry later, or to dead-letter.
struct Failure {
    id: String,
    error: String,
    wait: Duration,
    /// Refused (a permanent error): counted towards `max_refusals`.
    refused: bool,
}

impl Failure {
    /// A row that was refused, or that the relay cannot read: retried with back-off until it
    /// has been refused `max_refusals` times.
    fn refused(id: String, error: String, attempts: i64, settings: &RelaySettings) -> Self {
        Self {
            id,
            error,
            wait: backoff(settings, attempts),
            refused: true,
        }
    }
}

/// `(id, topic, dedupe_key, payload, attempts, refusals, traceparent)` of a claimed row.
type ClaimedRow = (String, String, String, String, i64, i64, Option<String>);

/// Which rows a claim takes.
#[derive(Clone, Copy, Debug)]
enum Claim {
    /// Up to `batch_size` rows due now, oldest due first.
    Due,
    /// The one row waiting longest after its receiver failed, ahead of its back-off.
    Probe,
}

macro_rules! claim_sql {
    ($which:expr, $limit:literal, $lock:literal) => {
        concat!(
            "UPDATE outbox SET next_attempt_at = $1, leased_until = $1 WHERE id IN (",
            "SELECT id FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND ",
            $which,
            " ORDER BY next_attempt_at, id LIMIT ",
            $limit,
            $lock,
            ") RETURNING id, topic, dedupe_key, payload, attempts, refusals, traceparent"
        )
    };
}

/// Rows due at `$2`.
macro_rules! due_rows {
    () => {
        "next_attempt_at <= $2"
    };
}

/// Rows waiting after their receiver failed (attempted, never refused, not leased), of a topic
/// some relay handles.
macro_rules! waiting_rows {
    () => {
        "next_attempt_at > $2 AND attempts > 0 AND refusals = 0 AND leased_until IS NULL \
         AND (last_error IS NULL OR last_error <> 'unknown topic')"
    };
}

/// Leases the rows `which` selects at `due` until `now + claim_timeout`.
async fn claim(
    db: &Db,
    settings: &RelaySettings,
    which: Claim,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<ClaimedRow>, sqlx::Error> {
    let sql = match (which, db.backend()) {
        (Claim::Due, Backend::Sqlite) => claim_sql!(due_rows!(), "$3", ""),
        (Claim::Due, Backend::Postgres) => claim_sql!(due_rows!(), "$3", " FOR UPDATE SKIP LOCKED"),
        (Claim::Probe, Backend::Sqlite) => claim_sql!(waiting_rows!(), "$3", ""),
        (Claim::Probe, Backend::Postgres) => {
            claim_sql!(waiting_rows!(), "$3", " FOR UPDATE SKIP LOCKED")
        }
    };
    let limit = match which {
        Claim::Due => i64::from(settings.batch_size),
        Claim::Probe => 1,
    };
    let lease_until = later(now, settings.claim_timeout);
    let mut rows = with_db!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let rows: Vec<ClaimedRow> = sqlx::query_as(sql)
            .bind(lease_until)
            .bind(due)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows
    });
    // RETURNING has no order; ids are UUIDv7, so this is creation order.
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

/// Deletes delivered rows, schedules failures for a retry (dead-lettering rows refused
/// `max_refusals` times), and makes due at once the rows waiting after failures of every
/// topic whose receiver answered — all in one transaction. Rows already delivered (by another
/// relay after the lease ran out) are left alone.
async fn mark(
    db: &Db,
    outcome: &Outcome,
    settings: &RelaySettings,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if outcome.delivered.is_empty() && outcome.failures.is_empty() {
        return Ok(());
    }
    let max_refusals = i64::from(settings.max_refusals.max(1));
    with_db!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        for ids in outcome.delivered.chunks(IDS_PER_STATEMENT) {
            // A delivered row is deleted: the receiver holds what it said now (and
            // deduplicates on its key), and an outbox of pending rows only keeps claims fast
            // however much was sent before. A row another relay delivered (after the lease
            // ran out) is already gone; rows delivered by an older version are left to pruning.
            let mut qb =
                QueryBuilder::new("DELETE FROM outbox WHERE delivered_at IS NULL AND id IN (");
            let mut list = qb.separated(", ");
            for id in ids {
                list.push_bind(id.as_str());
            }
            list.push_unseparated(")");
            qb.build().execute(&mut *tx).await?;
        }
        for failure in &outcome.failures {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, refusals = refusals + $4, \
                 last_error = $1, next_attempt_at = $2, leased_until = NULL, \
                 dead_at = CASE WHEN refusals + $4 >= $5 THEN $6 ELSE NULL END \
                 WHERE id = $3 AND delivered_at IS NULL",
            )
            .bind(truncate(&failure.error))
            .bind(later(now, failure.wait))
            .bind(failure.id.as_str())
            .bind(i64::from(failure.refused))
            .bind(max_refusals)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for topic in &outcome.answered {
            let reset = sqlx::query(concat!(
                "UPDATE outbox SET next_attempt_at = $1 WHERE topic = $3 ",
                "AND delivered_at IS NULL AND dead_at IS NULL AND ",
                waiting_rows!()
            ))
            .bind(now)
            .bind(now)
            .bind(topic.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if reset > 0 {
                tracing::info!(%topic, rows = reset, "receiver answers again; back-off reset");
            }
        }
        tx.commit().await
    })
}

/// `now + wait`, with absurd waits capped at a century.
fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    TimeDelta::from_std(wait.min(CENTURY))
        .ok()
        .and_then(|wait| now.checked_add_signed(wait))
        .unwrap_or(now)
}

/// `now - age`, with absurd ages capped at a century.
fn earlier(now: DateTime<Utc>, age: Duration) -> DateTime<Utc> {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    TimeDelta::from_std(age.min(CENTURY))
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .unwrap_or(now)
}

fn truncate(error: &str) -> &str {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => &error[..end],
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_never_exceeds_the_maximum() {
        let settings = RelaySettings::default();
        assert_eq!(backoff_ceiling(&settings, 0), Duration::from_millis(500));
        assert_eq!(backoff_ceiling(&settings, 1), Duration::from_secs(1));
        assert_eq!(backoff_ceiling(&settings, 2), Duration::from_secs(2));
        assert_eq!(backoff_ceiling(&settings, 6), Duration::from_secs(32));
        assert_eq!(backoff_ceiling(&settings, 7), Duration::from_secs(60));
        for attempt in [-5, 8, 31, 32, 63, 1000, i64::MAX] {
            assert!(backoff_ceiling(&settings, attempt) <= settings.max_backoff);
        }
        assert_eq!(backoff_ceiling(&settings, i64::MAX), settings.max_backoff);
        assert_eq!(backoff_ceiling(&settings, -1), settings.base_backoff);
        let mut previous = Duration::ZERO;
        for attempt in 0..100 {
            let ceiling = backoff_ceiling(&settings, attempt);
            assert!(
                ceiling >= previous,
                "attempt {attempt}: {ceiling:?} < {previous:?}"
            );
            assert!(ceiling <= settings.max_backoff);
            previous = ceiling;
            for _ in 0..50 {
                let wait = backoff(&settings, attempt);
                assert!(
                    wait > Duration::ZERO && wait <= ceiling,
                    "attempt {attempt}: {wait:?}"
                );
            }
        }
        // Full jitter: the waits of one attempt spread over the whole range.
        let waits: Vec<Duration> = (0..1000).map(|_| backoff(&settings, 10)).collect();
        assert!(waits.iter().any(|w| *w < Duration::from_secs(15)));
        assert!(waits.iter().any(|w| *w > Duration::from_secs(45)));
        let huge = RelaySettings {
            base_backoff: Duration::from_secs(u64::MAX / 2),
            max_backoff: Duration::MAX,
            ..RelaySettings::default()
        };
        assert!(backoff_ceiling(&huge, 40) >= huge.base_backoff);
        let zero = RelaySettings {
            base_backoff: Duration::ZERO,
            ..RelaySettings::default()
        };
        assert_eq!(backoff(&zero, 3), Duration::ZERO);
    }

    #[test]
    fn later_is_capped_instead_of_overflowing() {
        let now = Utc::now();
        assert_eq!(
            later(now, Duration::from_secs(5)),
            now + TimeDelta::seconds(5)
        );
        assert!(later(now, Duration::MAX) > now + TimeDelta::days(365 * 99));
    }

    #[test]
    fn errors_are_truncated_on_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_CHARS + 10);
        assert_eq!(truncate(&long).chars().count(), MAX_ERROR_CHARS);
        assert_eq!(truncate("short"), "short");
    }
}
