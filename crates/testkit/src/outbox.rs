//! Reading a service's outbox in tests: counting its rows and decoding their typed notices and
//! session revocations as the relay decodes them.

#![allow(
    clippy::expect_used,
    reason = "test support fails the test it serves by panicking"
)]

use rendezvous_common::db::Db;
use rendezvous_common::outbox::{TOPIC_REVOKE_IN_EVENTS, TOPIC_REVOKE_IN_NOTIFICATIONS};
use rendezvous_common::relay::{OutboxRow, notification_request, revocation_request};
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::notifications::v1 as notifications_pb;
use rendezvous_proto::notifications::v1::{Notice, notice};

/// An outbox row as the relay reads it from the table.
fn outbox_row(id: String, topic: String, dedupe_key: String, payload: &str) -> OutboxRow {
    OutboxRow {
        id,
        topic,
        dedupe_key,
        payload: serde_json::from_str(payload).expect("an outbox payload is JSON"),
        attempts: 0,
        traceparent: None,
    }
}

/// The notice of an outbox row, decoded as the relay decodes it.
fn decode(id: String, topic: String, dedupe_key: String, payload: &str) -> Notice {
    let row = outbox_row(id, topic, dedupe_key, payload);
    let request = notification_request(&row).expect("an outbox row the relay can send");
    request.notice.expect("a typed notice")
}

/// The dedupe keys and notices of the rows whose dedupe key is like `key` and whose payload
/// is like both `payload` patterns (SQL `LIKE`), in the order they were written.
async fn notices_like(db: &Db, key: &str, payload: [&str; 2]) -> Vec<(String, Notice)> {
    let rows: Vec<(String, String, String, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id, topic, dedupe_key, payload FROM outbox \
             WHERE dedupe_key LIKE $1 AND payload LIKE $2 AND payload LIKE $3 \
             ORDER BY created_at, id",
        )
        .bind(key)
        .bind(payload[0])
        .bind(payload[1])
        .fetch_all(pool)
        .await
    })
    .expect("reading the outbox");
    rows.into_iter()
        .map(|(id, topic, key, payload)| {
            let notice = decode(id, topic, key.clone(), &payload);
            (key, notice)
        })
        .collect()
}

/// The notices of the rows whose dedupe key starts with `key_prefix`, in the order they were
/// written.
pub async fn outbox_notices_keyed(db: &Db, key_prefix: &str) -> Vec<Notice> {
    outbox_keys_and_notices(db, key_prefix)
        .await
        .into_iter()
        .map(|(_, notice)| notice)
        .collect()
}

/// The dedupe keys and notices of the rows whose dedupe key starts with `key_prefix`, in the
/// order they were written.
pub async fn outbox_keys_and_notices(db: &Db, key_prefix: &str) -> Vec<(String, Notice)> {
    notices_like(db, &format!("{key_prefix}%"), ["%", "%"]).await
}

/// The typed notices of notification `kind` (e.g. `CONNECTION_REQUEST`) addressed to
/// `recipient_id`.
pub async fn outbox_notices(db: &Db, kind: &str, recipient_id: &str) -> Vec<notice::Notice> {
    let kind = format!("%\"kind\":\"{kind}\"%");
    let recipient = format!("%\"recipient_id\":\"{recipient_id}\"%");
    let notices = notices_like(db, "%", [&kind, &recipient]).await;
    notices
        .into_iter()
        .map(|(_, n)| n.notice.expect("a notice of a known kind"))
        .collect()
}

/// How many outbox rows of notification `kind` are addressed to `recipient_id`.
pub async fn outbox_rows(db: &Db, kind: &str, recipient_id: &str) -> i64 {
    let notices = outbox_notices(db, kind, recipient_id).await;
    i64::try_from(notices.len()).expect("a count fits in i64")
}

/// Outbox rows whose dedupe key starts with `key_prefix` and whose payload mentions `kind`
/// (any kind when empty).
pub async fn outbox_count(db: &Db, key_prefix: &str, kind: &str) -> i64 {
    let (key, kind) = (format!("{key_prefix}%"), format!("%{kind}%"));
    with_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE $1 AND payload LIKE $2",
        )
        .bind(&key)
        .bind(&kind)
        .fetch_one(pool)
        .await
    })
    .expect("counting the outbox")
}

/// Every row of the outbox.
pub async fn outbox_total(db: &Db) -> i64 {
    outbox_count(db, "", "").await
}

/// The session revocations addressed to `member_id`, as the relay would send them: for each
/// row, in the order written, its topic and the sessions its typed `RevokeSessionsRequest`
/// names (the events and notifications requests must agree on the member).
pub async fn outbox_revoked_sessions(db: &Db, member_id: &str) -> Vec<(String, Vec<String>)> {
    let rows: Vec<(String, String, String, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id, topic, dedupe_key, payload FROM outbox \
             WHERE topic IN ($1, $2) AND payload LIKE $3 ORDER BY created_at, id",
        )
        .bind(TOPIC_REVOKE_IN_EVENTS)
        .bind(TOPIC_REVOKE_IN_NOTIFICATIONS)
        .bind(format!("%\"member_id\":\"{member_id}\"%"))
        .fetch_all(pool)
        .await
    })
    .expect("reading the outbox");
    rows.into_iter()
        .map(|(id, topic, dedupe_key, payload)| {
            let row = outbox_row(id, topic.clone(), dedupe_key, &payload);
            let (member, sessions, at) = if topic == TOPIC_REVOKE_IN_EVENTS {
                let r: events_pb::RevokeSessionsRequest =
                    revocation_request(&row).expect("a revocation the relay can send");
                (r.member_id, r.session_ids, r.revoke_time)
            } else {
                let r: notifications_pb::RevokeSessionsRequest =
                    revocation_request(&row).expect("a revocation the relay can send");
                (r.member_id, r.session_ids, r.revoke_time)
            };
            assert_eq!(member, member_id, "the request names the member");
            assert!(at.is_some(), "the request says when the sessions ended");
            (topic, sessions)
        })
        .collect()
}

/// The rows of `topic`, in the order they were written.
async fn rows_of(db: &Db, topic: &str) -> Vec<OutboxRow> {
    let rows: Vec<(String, String, String, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id, topic, dedupe_key, payload FROM outbox WHERE topic = $1 \
             ORDER BY created_at, id",
        )
        .bind(topic)
        .fetch_all(pool)
        .await
    })
    .expect("reading the outbox");
    rows.into_iter()
        .map(|(id, topic, dedupe_key, payload)| outbox_row(id, topic, dedupe_key, &payload))
        .collect()
}

/// The requests to events' `ScheduleCoffee` in the outbox, decoded as the relay decodes them,
/// in the order they were written.
pub async fn outbox_coffee_requests(db: &Db) -> Vec<events_pb::ScheduleCoffeeRequest> {
    let rows = rows_of(db, rendezvous_common::relay::TOPIC_COFFEE_IN_EVENTS).await;
    rows.iter()
        .map(|row| {
            rendezvous_common::relay::schedule_coffee_request(row)
                .expect("a coffee row the relay can send")
        })
        .collect()
}

/// The requests to events' `CancelCoffee` in the outbox, decoded as the relay decodes them,
/// in the order they were written.
pub async fn outbox_coffee_cancellations(db: &Db) -> Vec<events_pb::CancelCoffeeRequest> {
    let rows = rows_of(db, rendezvous_common::relay::TOPIC_COFFEE_OFF_IN_EVENTS).await;
    rows.iter()
        .map(|row| {
            rendezvous_common::relay::cancel_coffee_request(row)
                .expect("a calling-off row the relay can send")
        })
        .collect()
}

/// The requests to events' `RecordMetEdge` in the outbox, decoded as the relay decodes them,
/// in the order they were written.
pub async fn outbox_met_edges(db: &Db) -> Vec<events_pb::RecordMetEdgeRequest> {
    let rows = rows_of(db, rendezvous_common::relay::TOPIC_MET_EDGE_IN_EVENTS).await;
    rows.iter()
        .map(|row| {
            rendezvous_common::relay::met_edge_request(row)
                .expect("a met-edge row the relay can send")
        })
        .collect()
}
