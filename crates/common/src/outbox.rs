//! The transactional outbox: a change that someone must hear about writes an outbox row in the
//! same transaction as the change. A relay ([`crate::relay`]) delivers the rows over gRPC with
//! retries, and the receiver deduplicates on the row's key, so a message is never lost when the
//! receiver is down and never doubled when the relay retries.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::notifications::v1 as notifications_pb;
use rendezvous_proto::notifications::v1::Notice;
use rendezvous_proto::prost::Message as _;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;

use crate::revocations::MAX_SESSIONS_PER_REVOCATION;

/// Topic of rows for the notifications service's `Deliver`.
pub const TOPIC_NOTIFY: &str = "notifications.deliver";
/// Topic of rows for the events service's `EraseMember`.
pub const TOPIC_ERASE_IN_EVENTS: &str = "events.erase_member";
/// Topic of rows for the notifications service's `EraseMember`.
pub const TOPIC_ERASE_IN_NOTIFICATIONS: &str = "notifications.erase_member";
/// Topic of rows for the events service's `RevokeSessions`.
pub const TOPIC_REVOKE_IN_EVENTS: &str = "events.revoke_sessions";
/// Topic of rows for the notifications service's `RevokeSessions`.
pub const TOPIC_REVOKE_IN_NOTIFICATIONS: &str = "notifications.revoke_sessions";

/// The outbox table, identical on both backends (timestamps are RFC 3339 text on SQLite and
/// `TIMESTAMPTZ` on PostgreSQL, as sqlx maps `DateTime<Utc>`).
pub const SQLITE_DDL: &str = "
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    topic TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
";

pub const POSTGRES_DDL: &str = "
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    topic TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
";

/// The second outbox migration (dead letters, leases, pruning), identical on both backends but
/// for the timestamp type.
///
/// - `leased_until`: set while a relay holds the row (claimed, not yet marked), so that a
///   back-off reset never touches a row in flight;
/// - `refusals`: how often the receiver refused the row (a permanent error, see
///   [`crate::relay::SinkError`]); at `max_refusals` the row is dead;
/// - `dead_at`: when the row was dead-lettered; dead rows are never claimed again until an
///   operator requeues them (`rendezvous outbox requeue`).
///
/// The due index leaves dead rows out; two more indexes let the pruning job find delivered and
/// dead rows by age without a table scan.
pub const SQLITE_DEAD_LETTERS_DDL: &str = dead_letters_ddl!("TEXT", "INTEGER");

pub const POSTGRES_DEAD_LETTERS_DDL: &str = dead_letters_ddl!("TIMESTAMPTZ", "BIGINT");

/// The dead-letters migration with the backend's timestamp and integer types.
macro_rules! dead_letters_ddl {
    ($timestamp:literal, $integer:literal) => {
        concat!(
            "ALTER TABLE outbox ADD COLUMN leased_until ",
            $timestamp,
            ";\nALTER TABLE outbox ADD COLUMN refusals ",
            $integer,
            " NOT NULL DEFAULT 0;\nALTER TABLE outbox ADD COLUMN dead_at ",
            $timestamp,
            ";\nDROP INDEX outbox_pending;\n",
            "CREATE INDEX outbox_due ON outbox (next_attempt_at) ",
            "WHERE delivered_at IS NULL AND dead_at IS NULL;\n",
            "CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;\n",
            "CREATE INDEX outbox_dead ON outbox (dead_at) WHERE dead_at IS NOT NULL;\n"
        )
    };
}
use dead_letters_ddl;

/// The third outbox migration, the same on both backends: `traceparent`, the W3C trace context
/// of the span that wrote the row (none outside a trace, and on rows written before it), which
/// the relay's delivery continues (see [`crate::telemetry::continue_outbox`]).
pub const TRACE_CONTEXT_DDL: &str = "ALTER TABLE outbox ADD COLUMN traceparent TEXT;\n";

/// A message to deliver after the transaction commits.
#[derive(Clone, Debug)]
pub struct OutboxMessage {
    pub topic: &'static str,
    /// Unique per message; redelivery with the same key is harmless downstream, and a second
    /// enqueue with the same key is ignored here.
    pub dedupe_key: String,
    pub payload: serde_json::Value,
}

impl OutboxMessage {
    /// A typed notification for `recipient`: the notice's variant is its kind, and its facts
    /// are what notifications renders. `not_before` holds it back (reminders).
    ///
    /// The payload is a small JSON envelope an operator can read in the table (recipient,
    /// kind, key, not-before) around the protobuf-encoded [`Notice`] (base64), which is what
    /// the relay delivers.
    pub fn notice(
        recipient: Uuid,
        dedupe_key: String,
        notice: impl Into<Notice>,
        not_before: Option<DateTime<Utc>>,
    ) -> Self {
        let notice: Notice = notice.into();
        let kind = notice.kind().as_str_name();
        let kind = kind.strip_prefix("NOTIFICATION_KIND_").unwrap_or(kind);
        let mut payload = serde_json::json!({
            "recipient_id": recipient.to_string(),
            "kind": kind,
            "dedupe_key": dedupe_key,
            "notice": BASE64.encode(notice.encode_to_vec()),
        });
        if let (Some(at), Some(object)) = (not_before, payload.as_object_mut()) {
            object.insert(
                "not_before".to_owned(),
                serde_json::Value::String(at.to_rfc3339_opts(SecondsFormat::Micros, true)),
            );
        }
        Self {
            topic: TOPIC_NOTIFY,
            payload,
            dedupe_key,
        }
    }
}

impl OutboxMessage {
    /// The rows that tell events and notifications that `member` was deleted at `erased_at`:
    /// one per receiver, so that each is retried on its own. They hold the member's id only
    /// (never a name or an address), so they may stay in the table once delivered.
    pub fn member_erased(member: Uuid, erased_at: DateTime<Utc>) -> [Self; 2] {
        let payload = serde_json::json!({
            "member_id": member.to_string(),
            "erase_time": erased_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        });
        [TOPIC_ERASE_IN_EVENTS, TOPIC_ERASE_IN_NOTIFICATIONS].map(|topic| Self {
            topic,
            dedupe_key: format!("{topic}:{member}"),
            payload: payload.clone(),
        })
    }
}

impl OutboxMessage {
    /// The rows that tell events and notifications that `sessions` of `member` ended at
    /// `revoked_at`, so that they refuse the sessions' access tokens: per receiver, one row
    /// for every [`MAX_SESSIONS_PER_REVOCATION`] sessions, each retried on its own. A session
    /// ends once, so its id keys the row that names it first.
    ///
    /// The payload is a small JSON envelope an operator can read in the table (member, how
    /// many sessions) around the receiver's protobuf-encoded `RevokeSessionsRequest` (base64),
    /// which is what the relay sends. It holds ids only, so it may stay once delivered.
    pub fn sessions_revoked(
        member: Uuid,
        sessions: &[Uuid],
        revoked_at: DateTime<Utc>,
    ) -> Vec<Self> {
        let revoke_time = crate::time::to_timestamp(revoked_at);
        let mut messages = Vec::new();
        for chunk in sessions.chunks(MAX_SESSIONS_PER_REVOCATION) {
            let Some(first) = chunk.first() else {
                continue;
            };
            let session_ids: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
            let in_events = events_pb::RevokeSessionsRequest {
                member_id: member.to_string(),
                session_ids: session_ids.clone(),
                revoke_time: Some(revoke_time),
            };
            let in_notifications = notifications_pb::RevokeSessionsRequest {
                member_id: member.to_string(),
                session_ids,
                revoke_time: Some(revoke_time),
            };
            for (topic, request) in [
                (TOPIC_REVOKE_IN_EVENTS, in_events.encode_to_vec()),
                (
                    TOPIC_REVOKE_IN_NOTIFICATIONS,
                    in_notifications.encode_to_vec(),
                ),
            ] {
                messages.push(Self {
                    topic,
                    dedupe_key: format!("{topic}:{first}"),
                    payload: serde_json::json!({
                        "member_id": member.to_string(),
                        "session_count": chunk.len(),
                        "request": BASE64.encode(request),
                    }),
                });
            }
        }
        messages
    }
}

/// Rows per multi-row INSERT of [`OutboxWriter::enqueue_all`]: 7 binds each, far under
/// SQLite's 32,766 and PostgreSQL's 65,535 binds a statement, and small enough that a fan-out
/// to a whole chapter does not hold thousands of encoded payloads at once.
pub const ENQUEUE_CHUNK: usize = 500;

/// Writes outbox rows on a connection that is inside the caller's transaction.
pub trait OutboxWriter {
    /// Returns false when a row with the same key already exists. The row keeps the trace
    /// context of the current span, so that its delivery belongs to the same trace.
    fn enqueue(
        &mut self,
        message: &OutboxMessage,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;

    /// Writes `messages` in multi-row INSERTs of at most [`ENQUEUE_CHUNK`] rows; returns how
    /// many rows are new. As with [`OutboxWriter::enqueue`], a key that already has a row is
    /// ignored, and so is a key repeated within `messages` (the first one is written).
    fn enqueue_all(
        &mut self,
        messages: &[OutboxMessage],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
}

/// `messages` without the repetitions of a key already in them, first one kept.
fn first_of_each_key(messages: &[OutboxMessage]) -> Vec<&OutboxMessage> {
    let mut seen = std::collections::HashSet::with_capacity(messages.len());
    messages
        .iter()
        .filter(|message| seen.insert(message.dedupe_key.as_str()))
        .collect()
}

macro_rules! impl_outbox_writer {
    ($conn:ty) => {
        impl OutboxWriter for $conn {
            async fn enqueue(
                &mut self,
                message: &OutboxMessage,
                now: DateTime<Utc>,
            ) -> Result<bool, sqlx::Error> {
                let result = sqlx::query(
                    "INSERT INTO outbox \
                     (id, topic, dedupe_key, payload, created_at, next_attempt_at, traceparent) \
                     VALUES ($1, $2, $3, $4, $5, $5, $6) \
                     ON CONFLICT (dedupe_key) DO NOTHING",
                )
                .bind(Uuid::now_v7().to_string())
                .bind(message.topic)
                .bind(&message.dedupe_key)
                .bind(message.payload.to_string())
                .bind(now)
                .bind(crate::telemetry::current_traceparent())
                .execute(&mut *self)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn enqueue_all(
                &mut self,
                messages: &[OutboxMessage],
                now: DateTime<Utc>,
            ) -> Result<u64, sqlx::Error> {
                let traceparent = crate::telemetry::current_traceparent();
                let mut new = 0;
                for chunk in first_of_each_key(messages).chunks(ENQUEUE_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO outbox \
                         (id, topic, dedupe_key, payload, created_at, next_attempt_at, traceparent) ",
                    );
                    qb.push_values(chunk, |mut row, message| {
                        row.push_bind(Uuid::now_v7().to_string())
                            .push_bind(message.topic)
                            .push_bind(message.dedupe_key.clone())
                            .push_bind(message.payload.to_string())
                            .push_bind(now)
                            .push_bind(now)
                            .push_bind(traceparent.clone());
                    });
                    qb.push(" ON CONFLICT (dedupe_key) DO NOTHING");
                    new += qb.build().execute(&mut *self).await?.rows_affected();
                }
                Ok(new)
            }
        }
    };
}

impl_outbox_writer!(SqliteConnection);
impl_outbox_writer!(PgConnection);
