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

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use rand::Rng as _;
use rendezvous_proto::notifications::v1::notification_internal_service_client::NotificationInternalServiceClient;
use rendezvous_proto::notifications::v1::{
    DeliverRequest, Notice, NotificationKind, NotificationRequest,
};
use rendezvous_proto::prost::Message as _;
use sqlx::QueryBuilder;
use tokio_util::sync::CancellationToken;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use crate::auth::ServiceCredentials;
use crate::clock::Clock;
use crate::db::{Backend, BeginWrite as _, Db};
use crate::outbox::TOPIC_NOTIFY;
use crate::with_db;

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
        match sink.deliver(&batch).await {
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
            let mut qb = QueryBuilder::new("UPDATE outbox SET delivered_at = ");
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

/// The sink for `notifications.deliver` rows: calls NotificationInternalService.Deliver
/// (batched, one call per batch) with a service credential.
#[derive(Clone, Debug)]
pub struct NotificationsSink {
    client: NotificationInternalServiceClient<Channel>,
    credentials: ServiceCredentials,
}

impl NotificationsSink {
    /// Deadline of one `Deliver` call.
    pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

    pub fn new(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self {
            client: NotificationInternalServiceClient::new(channel),
            credentials,
        }
    }
}

impl OutboxSink for NotificationsSink {
    fn accepts(&self, topic: &str) -> bool {
        topic == TOPIC_NOTIFY
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        notification_request(row).map(drop)
    }

    /// Sends the rows that convert in one call. Rows that do not convert (the relay leaves
    /// them out, see [`OutboxSink::check`]) are logged and reported in the error after the
    /// others were sent.
    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), String> {
        let mut notifications = Vec::with_capacity(rows.len());
        let mut invalid = Vec::new();
        for row in rows {
            match notification_request(row) {
                Ok(notification) => notifications.push(notification),
                Err(error) => {
                    tracing::warn!(
                        outbox_id = %row.id, %error,
                        "outbox row is not a valid notification"
                    );
                    invalid.push(row.id.as_str());
                }
            }
        }
        if !notifications.is_empty() {
            let count = notifications.len();
            let bearer = self
                .credentials
                .bearer()
                .map_err(|error| format!("minting the service credential: {error}"))?;
            let bearer: MetadataValue<Ascii> = bearer
                .parse()
                .map_err(|_| "the service credential is not valid metadata".to_owned())?;
            let mut request = tonic::Request::new(DeliverRequest { notifications });
            request.metadata_mut().insert("authorization", bearer);
            request.set_timeout(Self::CALL_TIMEOUT);
            let mut client = self.client.clone();
            let response = tokio::time::timeout(Self::CALL_TIMEOUT, client.deliver(request))
                .await
                .map_err(|_| format!("deliver timed out after {:?}", Self::CALL_TIMEOUT))?
                .map_err(|status| {
                    format!("deliver failed: {:?}: {}", status.code(), status.message())
                })?
                .into_inner();
            tracing::debug!(
                count,
                accepted = response.accepted_count,
                duplicates = response.duplicate_count,
                "notifications delivered"
            );
        }
        if invalid.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "invalid notification payloads: {}",
                invalid.join(", ")
            ))
        }
    }
}

/// Converts a `notifications.deliver` row's payload, `{"recipient_id", "kind" (e.g.
/// `"WELCOME"`), "dedupe_key", "notice": base64 of the protobuf `Notice`, "not_before"?: RFC
/// 3339}` (what [`crate::outbox::OutboxMessage::notice`] writes), into a request. The kind is
/// there for people reading the table; a notice of another kind is refused. A missing or empty `dedupe_key` falls back to the row's key.
pub fn notification_request(row: &OutboxRow) -> Result<NotificationRequest, String> {
    let payload = row
        .payload
        .as_object()
        .ok_or("payload is not a json object")?;
    let string = |name: &str| -> Result<Option<&str>, String> {
        match payload.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(value)) => Ok(Some(value.as_str())),
            Some(_) => Err(format!("{name} is not a string")),
        }
    };
    let recipient_id = string("recipient_id")?
        .filter(|id| !id.is_empty())
        .ok_or("recipient_id is missing")?;
    let kind_name = string("kind")?.ok_or("kind is missing")?;
    let kind = NotificationKind::from_str_name(&format!("NOTIFICATION_KIND_{kind_name}"))
        .filter(|kind| *kind != NotificationKind::Unspecified)
        .ok_or_else(|| format!("unknown notification kind {kind_name:?}"))?;
    let dedupe_key = string("dedupe_key")?
        .filter(|key| !key.is_empty())
        .unwrap_or(&row.dedupe_key);
    if dedupe_key.is_empty() {
        return Err("dedupe_key is missing".to_owned());
    }
    let not_before = string("not_before")?
        .map(|at| {
            let at = DateTime::parse_from_rfc3339(at)
                .map_err(|error| format!("not_before is not an RFC 3339 time: {error}"))?;
            Ok::<_, String>(rendezvous_proto::prost_types::Timestamp {
                seconds: at.timestamp(),
                nanos: i32::try_from(at.timestamp_subsec_nanos().min(999_999_999))
                    .unwrap_or_default(),
            })
        })
        .transpose()?;
    let encoded = string("notice")?.ok_or("notice is missing")?;
    let bytes = BASE64
        .decode(encoded)
        .map_err(|error| format!("notice is not base64: {error}"))?;
    let notice = Notice::decode(bytes.as_slice())
        .map_err(|error| format!("notice is not a protobuf Notice: {error}"))?;
    if notice.kind() != kind {
        return Err(format!(
            "notice is a {:?}, the row says {kind:?}",
            notice.kind()
        ));
    }
    Ok(NotificationRequest {
        recipient_id: recipient_id.to_owned(),
        dedupe_key: dedupe_key.to_owned(),
        not_before,
        notice: Some(notice),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(payload: serde_json::Value) -> OutboxRow {
        OutboxRow {
            id: "row-1".to_owned(),
            topic: TOPIC_NOTIFY.to_owned(),
            dedupe_key: "row-key".to_owned(),
            payload,
            attempts: 0,
        }
    }

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
    fn a_typed_notice_travels_whole_and_must_match_its_kind() {
        use rendezvous_proto::notifications::v1 as pb;

        let recipient = uuid::Uuid::now_v7();
        let facts = pb::EventFacts {
            event_id: "e1".to_owned(),
            title: "Café networking".to_owned(),
            start_time: None,
            end_time: None,
            time_zone: "Europe/Paris".to_owned(),
            venue_name: "Le Peloton".to_owned(),
            venue_address: "17 rue du Pont Louis-Philippe".to_owned(),
            city: "Paris".to_owned(),
        };
        let notice = pb::RsvpWaitlisted {
            event: Some(facts),
            position: 3,
        };
        let at = DateTime::parse_from_rfc3339("2030-01-02T03:04:05.25Z")
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&Utc);
        let message = crate::outbox::OutboxMessage::notice(
            recipient,
            "rsvp:e1:m1".to_owned(),
            notice.clone(),
            Some(at),
        );
        assert_eq!(message.payload["kind"], "RSVP_WAITLISTED");
        let mut outbox_row = row(message.payload.clone());
        outbox_row.dedupe_key = message.dedupe_key;
        let request = notification_request(&outbox_row).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            request
                .notice
                .as_ref()
                .map(Notice::kind)
                .unwrap_or_default(),
            NotificationKind::RsvpWaitlisted
        );
        assert_eq!(request.recipient_id, recipient.to_string());
        assert_eq!(request.notice, Some(pb::Notice::from(notice)));
        assert_eq!(request.not_before.map(|t| t.nanos), Some(250_000_000));

        let mut lying = message.payload.clone();
        lying["kind"] = json!("WELCOME");
        let error = notification_request(&row(lying)).err();
        assert!(error.is_some_and(|e| e.contains("the row says")));
        let mut garbled = message.payload;
        garbled["notice"] = json!("not base64!");
        assert!(notification_request(&row(garbled)).is_err());
    }

    /// A WELCOME notice, base64-encoded as the outbox writes it.
    fn welcome() -> String {
        use rendezvous_proto::notifications::v1 as pb;

        BASE64.encode(
            Notice::from(pb::Welcome {
                member: Some(pb::MemberFacts {
                    member_id: "m1".to_owned(),
                    display_name: "Ada".to_owned(),
                }),
            })
            .encode_to_vec(),
        )
    }

    #[test]
    fn payload_converts_to_a_notification_request() {
        let request = notification_request(&row(json!({
            "recipient_id": "0190a0a0-0000-7000-8000-000000000001",
            "kind": "WELCOME",
            "dedupe_key": "welcome:m1",
            "notice": welcome(),
            "not_before": "2030-01-02T03:04:05.25+01:00",
        })));
        let request = request.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.recipient_id, "0190a0a0-0000-7000-8000-000000000001");
        assert_eq!(request.dedupe_key, "welcome:m1");
        assert_eq!(
            request.notice.map(|notice| notice.kind()),
            Some(NotificationKind::Welcome)
        );
        let not_before = request
            .not_before
            .unwrap_or_else(|| panic!("no not_before"));
        let expected =
            DateTime::parse_from_rfc3339("2030-01-02T02:04:05Z").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(not_before.seconds, expected.timestamp());
        assert_eq!(not_before.nanos, 250_000_000);
    }

    #[test]
    fn optional_payload_fields_default() {
        let request = notification_request(&row(json!({
            "recipient_id": "m1",
            "kind": "WELCOME",
            "notice": welcome(),
            "not_before": null,
        })))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.dedupe_key, "row-key");
        assert_eq!(request.not_before, None);
    }

    #[test]
    fn payloads_that_cannot_convert_are_refused() {
        let good = json!({"recipient_id": "m1", "kind": "WELCOME", "dedupe_key": "k", "notice": welcome()});
        let with = |name: &str, value: serde_json::Value| {
            let mut payload = good.clone();
            if let Some(object) = payload.as_object_mut() {
                object.insert(name.to_owned(), value);
            }
            payload
        };
        let without = |name: &str| {
            let mut payload = good.clone();
            if let Some(object) = payload.as_object_mut() {
                object.remove(name);
            }
            payload
        };
        assert!(notification_request(&row(good.clone())).is_ok());
        for (case, payload) in [
            ("not an object", json!(["WELCOME"])),
            ("no recipient", without("recipient_id")),
            ("empty recipient", with("recipient_id", json!(""))),
            ("numeric recipient", with("recipient_id", json!(7))),
            ("no kind", without("kind")),
            ("unknown kind", with("kind", json!("BIRTHDAY"))),
            (
                "prefixed kind",
                with("kind", json!("NOTIFICATION_KIND_WELCOME")),
            ),
            ("lowercase kind", with("kind", json!("welcome"))),
            ("unspecified kind", with("kind", json!("UNSPECIFIED"))),
            ("no notice", without("notice")),
            ("notice not base64", with("notice", json!("%%%"))),
            ("notice not a Notice", with("notice", json!("//////8="))),
            (
                "notice of another kind",
                with("kind", json!("RSVP_CONFIRMED")),
            ),
            ("bad not_before", with("not_before", json!("tomorrow"))),
            (
                "numeric not_before",
                with("not_before", json!(1_700_000_000)),
            ),
        ] {
            assert!(
                notification_request(&row(payload)).is_err(),
                "{case} was accepted"
            );
        }
        let mut keyless = row(without("dedupe_key"));
        keyless.dedupe_key.clear();
        assert!(notification_request(&keyless).is_err());
    }

    #[tokio::test]
    async fn notifications_sink_screens_rows_and_reports_failures() {
        let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
        let secret =
            crate::auth::ServiceSecret::new(vec![7_u8; 32]).unwrap_or_else(|e| panic!("{e}"));
        let sink = NotificationsSink::new(
            channel,
            ServiceCredentials::new("events", secret, Clock::system()),
        );
        assert!(sink.accepts(TOPIC_NOTIFY));
        assert!(!sink.accepts("members.changed"));
        let good = row(json!({
            "recipient_id": "m1", "kind": "WELCOME", "dedupe_key": "k", "notice": welcome()
        }));
        let mut bad = row(json!({"recipient_id": "m1", "kind": "BIRTHDAY", "notice": welcome()}));
        bad.id = "row-bad".to_owned();
        assert!(sink.check(&good).is_ok());
        assert!(sink.check(&bad).is_err());
        // Nothing convertible: no call is made, the bad ids are reported.
        let error = sink.deliver(std::slice::from_ref(&bad)).await;
        assert_eq!(
            error,
            Err("invalid notification payloads: row-bad".to_owned())
        );
        // Nobody listens: the call fails, and so does the batch.
        let error = sink.deliver(&[good, bad]).await;
        assert!(
            error
                .as_ref()
                .is_err_and(|e| e.starts_with("deliver failed")),
            "{error:?}"
        );
    }

    #[test]
    fn errors_are_truncated_on_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_CHARS + 10);
        assert_eq!(truncate(&long).chars().count(), MAX_ERROR_CHARS);
        assert_eq!(truncate("short"), "short");
    }
}
