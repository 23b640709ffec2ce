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
//! Nothing is dropped silently: rows of a topic the sink does not handle, and rows whose
//! payload can never be delivered, stay pending with `last_error` set and are retried at the
//! maximum back-off.

use std::collections::BTreeMap;
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

mod erasure;
mod notifications;

pub use erasure::{ERASE_TIMEOUT, Eraser, ErasureSink, InEvents, InNotifications, erased_member};
pub use notifications::{NotificationsSink, notification_request};

/// `last_error` of rows whose topic the sink does not handle.
pub const UNKNOWN_TOPIC: &str = "unknown topic";

/// Longest `last_error` stored, in characters.
const MAX_ERROR_CHARS: usize = 1000;

/// Ids per `UPDATE ... WHERE id IN (...)`, well under both backends' bind limits.
const IDS_PER_STATEMENT: usize = 500;

/// How the relay paces itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelaySettings {
    /// Rows claimed per pass.
    pub batch_size: u32,
    /// Pause after a pass that did not deliver a full batch.
    pub poll_interval: Duration,
    /// Back-off ceiling of the first retry; it doubles with every attempt.
    pub base_backoff: Duration,
    /// Back-off ceiling of any retry; also the wait of rows that can never be delivered.
    pub max_backoff: Duration,
    /// How long a claimed row stays leased to the relay that claimed it.
    pub claim_timeout: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 100,
            poll_interval: Duration::from_millis(250),
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            claim_timeout: Duration::from_secs(30),
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
}

/// Where rows go; one call per claimed batch of one topic.
pub trait OutboxSink: Send + Sync + 'static {
    /// Whether this sink delivers rows of `topic`. Rows of other topics are marked failed
    /// with [`UNKNOWN_TOPIC`] and retried at the maximum back-off (never dropped).
    fn accepts(&self, topic: &str) -> bool;

    /// A permanent problem with one row (a payload that can never be delivered). The relay
    /// leaves such a row out of the batch, so that it does not hold back the others, and
    /// marks it failed with this error and the maximum back-off. By default every row is fine.
    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        let _ = row;
        Ok(())
    }

    /// Delivers `rows` (all of one topic); an error fails the whole batch, which is retried.
    fn deliver(&self, rows: &[OutboxRow]) -> impl Future<Output = Result<(), String>> + Send;
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

    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), String> {
        match self {
            Some(sink) => sink.deliver(rows).await,
            None => Err(UNKNOWN_TOPIC.to_owned()),
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

    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), String> {
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

/// Runs passes until `shutdown` is cancelled: immediately again after a full batch was
/// delivered, after `poll_interval` otherwise, and with growing pauses while the database
/// fails. A pass in flight when `shutdown` fires is finished first (a sink call is bounded
/// by its own timeout), so its rows are marked rather than left leased.
pub async fn run<S: OutboxSink>(
    db: Db,
    sink: S,
    settings: RelaySettings,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let mut consecutive_errors: i64 = 0;
    tracing::debug!(
        backend = ?db.backend(),
        batch_size = settings.batch_size,
        "outbox relay started"
    );
    while !shutdown.is_cancelled() {
        let pause = match relay_once(&db, &sink, &settings, &clock).await {
            Ok(delivered) => {
                consecutive_errors = 0;
                if delivered > 0 && delivered >= settings.batch_size as usize {
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
    // Rows are due by the exact time (a row enqueued at this very instant, with nanoseconds,
    // is due); what the relay writes is truncated to microseconds, PostgreSQL's precision, so
    // both backends store the same instants.
    let due = clock.now();
    let now = due.trunc_subsecs(6);
    let claimed = claim(db, settings, due, now).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut failures: Vec<Failure> = Vec::new();
    let mut by_topic: BTreeMap<String, Vec<OutboxRow>> = BTreeMap::new();
    for (id, topic, dedupe_key, payload, attempts) in claimed {
        match serde_json::from_str(&payload) {
            Ok(payload) => by_topic.entry(topic.clone()).or_default().push(OutboxRow {
                id,
                topic,
                dedupe_key,
                payload,
                attempts,
            }),
            Err(error) => {
                let error = format!("payload is not valid json: {error}");
                tracing::warn!(outbox_id = %id, %topic, %error, "outbox row cannot be delivered");
                failures.push(Failure::permanent(id, error, settings));
            }
        }
    }

    let mut delivered: Vec<String> = Vec::new();
    for (topic, rows) in by_topic {
        if !sink.accepts(&topic) {
            tracing::warn!(%topic, rows = rows.len(), "outbox rows of an unknown topic");
            failures.extend(
                rows.into_iter()
                    .map(|row| Failure::permanent(row.id, UNKNOWN_TOPIC.to_owned(), settings)),
            );
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
                    failures.push(Failure::permanent(row.id, error, settings));
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        // Each delivery is a trace of its own, continued by the receiver.
        let span = tracing::info_span!("outbox_delivery", %topic, rows = batch.len());
        match sink.deliver(&batch).instrument(span).await {
            Ok(()) => delivered.extend(batch.into_iter().map(|row| row.id)),
            Err(error) => {
                tracing::warn!(%topic, rows = batch.len(), %error, "outbox delivery failed");
                failures.extend(batch.into_iter().map(|row| Failure {
                    id: row.id,
                    error: error.clone(),
                    wait: backoff(settings, row.attempts),
                }));
            }
        }
    }
    mark(db, &delivered, &failures, now).await?;
    Ok(delivered.len())
}

/// Rows not yet delivered (for metrics, tests and the README's "outbox lag").
pub async fn pending_count(db: &Db) -> Result<i64, sqlx::Error> {
    with_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
            .fetch_one(pool)
            .await
    })
}

/// A row to retry later.
struct Failure {
    id: String,
    error: String,
    wait: Duration,
}

impl Failure {
    /// A row that will fail again however often it is retried: it waits the maximum back-off.
    fn permanent(id: String, error: String, settings: &RelaySettings) -> Self {
        Self {
            id,
            error,
            wait: settings.max_backoff,
        }
    }
}

/// `(id, topic, dedupe_key, payload, attempts)` of a claimed row.
type ClaimedRow = (String, String, String, String, i64);

macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE outbox SET next_attempt_at = $1 WHERE id IN (",
            "SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= $2 ",
            "ORDER BY next_attempt_at, id LIMIT $3",
            $lock,
            ") RETURNING id, topic, dedupe_key, payload, attempts"
        )
    };
}

/// Leases up to `batch_size` rows due at `due` until `now + claim_timeout`, oldest due first.
async fn claim(
    db: &Db,
    settings: &RelaySettings,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<ClaimedRow>, sqlx::Error> {
    let sql = match db.backend() {
        Backend::Sqlite => claim_sql!(""),
        Backend::Postgres => claim_sql!(" FOR UPDATE SKIP LOCKED"),
    };
    let lease_until = later(now, settings.claim_timeout);
    let mut rows = with_db!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let rows: Vec<ClaimedRow> = sqlx::query_as(sql)
            .bind(lease_until)
            .bind(due)
            .bind(i64::from(settings.batch_size))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows
    });
    // RETURNING has no order; ids are UUIDv7, so this is creation order.
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

/// Marks `delivered` rows delivered and schedules `failures` for a retry, in one transaction.
/// Rows already delivered (by another relay after the lease ran out) are left alone.
async fn mark(
    db: &Db,
    delivered: &[String],
    failures: &[Failure],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if delivered.is_empty() && failures.is_empty() {
        return Ok(());
    }
    with_db!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        for ids in delivered.chunks(IDS_PER_STATEMENT) {
            // A delivered row keeps its topic, key and times for operators, not what it said:
            // the receiver holds that now (and erases it when a member is erased).
            let mut qb = QueryBuilder::new("UPDATE outbox SET payload = '{}', delivered_at = ");
            qb.push_bind(now);
            qb.push(", attempts = attempts + 1 WHERE delivered_at IS NULL AND id IN (");
            let mut list = qb.separated(", ");
            for id in ids {
                list.push_bind(id.as_str());
            }
            list.push_unseparated(")");
            qb.build().execute(&mut *tx).await?;
        }
        for failure in failures {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 \
                 WHERE id = $3 AND delivered_at IS NULL",
            )
            .bind(truncate(&failure.error))
            .bind(later(now, failure.wait))
            .bind(failure.id.as_str())
            .execute(&mut *tx)
            .await?;
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
