//! Steps shared by several transactions, written once and implemented for both backends'
//! connection types by [`impl_conn_ops!`]. They run on whatever connection they are given, so
//! a caller's transaction composes them.

use chrono::{DateTime, Utc};
use rendezvous_common::db::Db;
use rendezvous_common::outbox::{OutboxMessage, OutboxWriter};
use rendezvous_common::with_db;
use sqlx::{PgConnection, QueryBuilder, SqliteConnection};
use uuid::Uuid;

use super::{
    CoAttendeeRow, MemberRow, MemberTuple, NewSession, RecordOutcome, Relation, RequestOutcome,
    RequestRow, RequestTuple, member_columns, ordered,
};

/// Rows per multi-row INSERT: 6 parameters each stays far below both backends' limits.
const INSERT_CHUNK: usize = 400;

pub trait ConnOps: OutboxWriter {
    fn insert_session(
        &mut self,
        member_id: &str,
        session: &NewSession,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    fn load_member(
        &mut self,
        id: &str,
    ) -> impl Future<Output = Result<Option<MemberRow>, sqlx::Error>> + Send;

    fn interests(
        &mut self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<String>, sqlx::Error>> + Send;

    fn relation(
        &mut self,
        viewer: &str,
        other: &str,
    ) -> impl Future<Output = Result<Relation, sqlx::Error>> + Send;

    /// A request the caller is party to (`None` for anyone else's, so existence stays private).
    fn load_request(
        &mut self,
        id: &str,
        caller: &str,
    ) -> impl Future<Output = Result<Option<RequestRow>, sqlx::Error>> + Send;

    fn set_request_state(
        &mut self,
        id: &str,
        state: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Connects the pair of a pending request and tells the requester.
    fn accept_request(
        &mut self,
        request: &RequestRow,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<RequestRow>, sqlx::Error>> + Send;

    fn request_connection(
        &mut self,
        requester: &str,
        addressee: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RequestOutcome, sqlx::Error>> + Send;

    fn record_pairs(
        &mut self,
        event_id: &str,
        title: &str,
        event_time: DateTime<Utc>,
        attendees: &[String],
        small: bool,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RecordOutcome, sqlx::Error>> + Send;

    /// The viewer's co-attendees at an event (only `only` when given), blocked ones left out.
    fn co_attendees(
        &mut self,
        event_id: &str,
        viewer: &str,
        only: Option<&str>,
    ) -> impl Future<Output = Result<Vec<CoAttendeeRow>, sqlx::Error>> + Send;

    fn mark_met_if_mutual(
        &mut self,
        event_id: &str,
        member: &str,
        other: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
}

fn met_messages(
    event_id: &str,
    title: &str,
    a: &str,
    b: &str,
    a_name: &str,
    b_name: &str,
) -> [OutboxMessage; 2] {
    let message = |to: &str, other: &str, other_name: &str| {
        OutboxMessage::notify(
            Uuid::try_parse(to).unwrap_or_default(),
            "MET_IN_PERSON",
            format!("met:{event_id}:{to}:{other}"),
            &[
                ("event_id", event_id.to_owned()),
                ("event_title", title.to_owned()),
                ("member_id", other.to_owned()),
                ("member_name", other_name.to_owned()),
            ],
        )
    };
    [message(a, b, b_name), message(b, a, a_name)]
}

macro_rules! impl_conn_ops {
    ($conn:ty) => {
        impl ConnOps for $conn {
            async fn insert_session(
                &mut self,
                member_id: &str,
                session: &NewSession,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO sessions (id, member_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(session.id.to_string())
                .bind(member_id)
                .bind(now)
                .bind(session.expires_at)
                .execute(&mut *self)
                .await?;
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&session.refresh_hash)
                .bind(session.id.to_string())
                .bind(now)
                .bind(session.expires_at)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn load_member(&mut self, id: &str) -> Result<Option<MemberRow>, sqlx::Error> {
                let row = sqlx::query_as::<_, MemberTuple>(concat!(
                    "SELECT ",
                    member_columns!(),
                    " FROM members m WHERE m.id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut *self)
                .await?;
                match row {
                    None => Ok(None),
                    Some(row) => {
                        let mut member = MemberRow::from(row);
                        member.interests = self.interests(id).await?;
                        Ok(Some(member))
                    }
                }
            }

            async fn interests(&mut self, id: &str) -> Result<Vec<String>, sqlx::Error> {
                sqlx::query_scalar(
                    "SELECT interest FROM member_interests WHERE member_id = $1 ORDER BY interest",
                )
                .bind(id)
                .fetch_all(&mut *self)
                .await
            }

            async fn relation(&mut self, viewer: &str, other: &str) -> Result<Relation, sqlx::Error> {
                let (a, b) = ordered(viewer, other);
                let (connected, viewer_blocks, blocks_viewer, sent, received, met) =
                    sqlx::query_as::<_, (i64, i64, i64, i64, i64, i64)>(
                        "SELECT \
                           (SELECT COUNT(*) FROM connections WHERE member_a = $1 AND member_b = $2), \
                           (SELECT COUNT(*) FROM blocks WHERE blocker_id = $3 AND blocked_id = $4), \
                           (SELECT COUNT(*) FROM blocks WHERE blocker_id = $4 AND blocked_id = $3), \
                           (SELECT COUNT(*) FROM connection_requests WHERE requester_id = $3 AND addressee_id = $4 AND state = 'pending'), \
                           (SELECT COUNT(*) FROM connection_requests WHERE requester_id = $4 AND addressee_id = $3 AND state = 'pending'), \
                           (SELECT COUNT(*) FROM met_edges WHERE member_a = $1 AND member_b = $2)",
                    )
                    .bind(a)
                    .bind(b)
                    .bind(viewer)
                    .bind(other)
                    .fetch_one(&mut *self)
                    .await?;
                Ok(Relation {
                    connected: connected > 0,
                    viewer_blocks: viewer_blocks > 0,
                    blocks_viewer: blocks_viewer > 0,
                    request_sent: sent > 0,
                    request_received: received > 0,
                    met: met > 0,
                })
            }

            async fn load_request(
                &mut self,
                id: &str,
                caller: &str,
            ) -> Result<Option<RequestRow>, sqlx::Error> {
                sqlx::query_as::<_, RequestTuple>(
                    "SELECT r.id, r.requester_id, r.addressee_id, r.note, r.state, r.created_at, r.updated_at, m.display_name \
                     FROM connection_requests r JOIN members m \
                       ON m.id = CASE WHEN r.requester_id = $2 THEN r.addressee_id ELSE r.requester_id END \
                     WHERE r.id = $1 AND (r.requester_id = $2 OR r.addressee_id = $2)",
                )
                .bind(id)
                .bind(caller)
                .fetch_optional(&mut *self)
                .await
                .map(|row| row.map(RequestRow::from))
            }

            async fn set_request_state(
                &mut self,
                id: &str,
                state: &str,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE connection_requests SET state = $2, pending_pair = NULL, updated_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(state)
                .bind(now)
                .execute(&mut *self)
                .await
                .map(|_| ())
            }

            async fn accept_request(
                &mut self,
                request: &RequestRow,
                now: DateTime<Utc>,
            ) -> Result<Option<RequestRow>, sqlx::Error> {
                let (a, b) = ordered(&request.requester_id, &request.addressee_id);
                sqlx::query(
                    "INSERT INTO connections (member_a, member_b, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (member_a, member_b) DO NOTHING",
                )
                .bind(a)
                .bind(b)
                .bind(now)
                .execute(&mut *self)
                .await?;
                self.set_request_state(&request.id, "accepted", now).await?;
                let addressee_name: String =
                    sqlx::query_scalar("SELECT display_name FROM members WHERE id = $1")
                        .bind(&request.addressee_id)
                        .fetch_one(&mut *self)
                        .await?;
                let message = OutboxMessage::notify(
                    Uuid::try_parse(&request.requester_id).unwrap_or_default(),
                    "CONNECTION_ACCEPTED",
                    format!("connection-accepted:{}", request.id),
                    &[
                        ("member_id", request.addressee_id.clone()),
                        ("member_name", addressee_name),
                    ],
                );
                self.enqueue(&message, now).await?;
                self.load_request(&request.id, &request.addressee_id).await
            }

            async fn request_connection(
                &mut self,
                requester: &str,
                addressee: &str,
                note: &str,
                now: DateTime<Utc>,
            ) -> Result<RequestOutcome, sqlx::Error> {
                self.lock_pair(requester, addressee).await?;
                let live: Option<String> = sqlx::query_scalar(
                    "SELECT display_name FROM members WHERE id = $1 AND deleted_at IS NULL",
                )
                .bind(addressee)
                .fetch_optional(&mut *self)
                .await?;
                let Some(_) = live else {
                    return Ok(RequestOutcome::NotFound);
                };
                let relation = self.relation(requester, addressee).await?;
                if relation.blocks_viewer {
                    return Ok(RequestOutcome::NotFound);
                }
                if relation.viewer_blocks {
                    return Ok(RequestOutcome::RequesterBlocks);
                }
                if relation.connected {
                    return Ok(RequestOutcome::AlreadyConnected);
                }
                if relation.request_sent {
                    return Ok(RequestOutcome::AlreadyRequested);
                }
                let (a, b) = ordered(requester, addressee);
                if relation.request_received {
                    let pending_id: Option<String> = sqlx::query_scalar(
                        "SELECT id FROM connection_requests WHERE pending_pair = $1",
                    )
                    .bind(format!("{a}|{b}"))
                    .fetch_optional(&mut *self)
                    .await?;
                    if let Some(id) = pending_id {
                        if let Some(request) = self.load_request(&id, requester).await? {
                            return Ok(self
                                .accept_request(&request, now)
                                .await?
                                .map_or(RequestOutcome::NotFound, RequestOutcome::Accepted));
                        }
                    }
                }
                let id = Uuid::now_v7().to_string();
                sqlx::query(
                    "INSERT INTO connection_requests \
                     (id, requester_id, addressee_id, note, state, pending_pair, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6)",
                )
                .bind(&id)
                .bind(requester)
                .bind(addressee)
                .bind(note)
                .bind(format!("{a}|{b}"))
                .bind(now)
                .execute(&mut *self)
                .await?;
                let requester_name: String =
                    sqlx::query_scalar("SELECT display_name FROM members WHERE id = $1")
                        .bind(requester)
                        .fetch_one(&mut *self)
                        .await?;
                let message = OutboxMessage::notify(
                    Uuid::try_parse(addressee).unwrap_or_default(),
                    "CONNECTION_REQUESTED",
                    format!("connection-requested:{id}"),
                    &[
                        ("request_id", id.clone()),
                        ("member_id", requester.to_owned()),
                        ("member_name", requester_name),
                        ("note", note.to_owned()),
                    ],
                );
                self.enqueue(&message, now).await?;
                Ok(self
                    .load_request(&id, requester)
                    .await?
                    .map_or(RequestOutcome::NotFound, RequestOutcome::Sent))
            }

            async fn record_pairs(
                &mut self,
                event_id: &str,
                title: &str,
                event_time: DateTime<Utc>,
                attendees: &[String],
                small: bool,
                now: DateTime<Utc>,
            ) -> Result<RecordOutcome, sqlx::Error> {
                let mut pairs: Vec<(&str, &str)> = Vec::new();
                for (i, a) in attendees.iter().enumerate() {
                    for b in &attendees[i + 1..] {
                        pairs.push(ordered(a, b));
                    }
                }
                // Pairs where either blocks the other are left out entirely.
                let blocked: Vec<(String, String)> = if attendees.is_empty() {
                    Vec::new()
                } else {
                    let mut qb = QueryBuilder::new("SELECT blocker_id, blocked_id FROM blocks WHERE blocker_id IN (");
                    let mut s = qb.separated(", ");
                    for id in attendees {
                        s.push_bind(id.clone());
                    }
                    s.push_unseparated(") AND blocked_id IN (");
                    let mut s = qb.separated(", ");
                    for id in attendees {
                        s.push_bind(id.clone());
                    }
                    s.push_unseparated(")");
                    qb.build_query_as().fetch_all(&mut *self).await?
                };
                let is_blocked = |a: &str, b: &str| {
                    blocked.iter().any(|(x, y)| (x == a && y == b) || (x == b && y == a))
                };
                pairs.retain(|(a, b)| !is_blocked(a, b));
                let mut met_pairs: Vec<(&str, &str)> = Vec::new();
                if small && !pairs.is_empty() {
                    let mut qb = QueryBuilder::new("SELECT member_a, member_b FROM connections WHERE member_a IN (");
                    let mut s = qb.separated(", ");
                    for id in attendees {
                        s.push_bind(id.clone());
                    }
                    s.push_unseparated(") AND member_b IN (");
                    let mut s = qb.separated(", ");
                    for id in attendees {
                        s.push_bind(id.clone());
                    }
                    s.push_unseparated(")");
                    let connected: Vec<(String, String)> = qb.build_query_as().fetch_all(&mut *self).await?;
                    met_pairs = pairs
                        .iter()
                        .copied()
                        .filter(|(a, b)| connected.iter().any(|(x, y)| x == a && y == b))
                        .collect();
                }
                let directed: Vec<(&str, &str, bool)> = pairs
                    .iter()
                    .flat_map(|&(a, b)| {
                        let met = met_pairs.contains(&(a, b));
                        [(a, b, met), (b, a, met)]
                    })
                    .collect();
                for chunk in directed.chunks(INSERT_CHUNK) {
                    let mut qb = QueryBuilder::new(
                        "INSERT INTO meeting_pairs (event_id, member_id, other_id, event_time, confirmed, met) ",
                    );
                    qb.push_values(chunk, |mut row, (member, other, met)| {
                        row.push_bind(event_id)
                            .push_bind(*member)
                            .push_bind(*other)
                            .push_bind(event_time)
                            .push_bind(*met)
                            .push_bind(*met);
                    });
                    qb.build().execute(&mut *self).await?;
                }
                let names: std::collections::HashMap<String, String> = if attendees.is_empty() {
                    std::collections::HashMap::new()
                } else {
                    let mut qb = QueryBuilder::new("SELECT id, display_name FROM members WHERE id IN (");
                    let mut s = qb.separated(", ");
                    for id in attendees {
                        s.push_bind(id.clone());
                    }
                    s.push_unseparated(")");
                    let rows: Vec<(String, String)> = qb.build_query_as().fetch_all(&mut *self).await?;
                    rows.into_iter().collect()
                };
                let name = |id: &str| names.get(id).cloned().unwrap_or_default();
                for &(a, b) in &met_pairs {
                    sqlx::query(
                        "INSERT INTO met_edges (member_a, member_b, event_id, met_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (member_a, member_b) DO NOTHING",
                    )
                    .bind(a)
                    .bind(b)
                    .bind(event_id)
                    .bind(event_time)
                    .execute(&mut *self)
                    .await?;
                    for message in met_messages(event_id, title, a, b, &name(a), &name(b)) {
                        self.enqueue(&message, now).await?;
                    }
                }
                for member in attendees {
                    let co_attendees = pairs.iter().filter(|(a, b)| a == member || b == member).count();
                    if co_attendees == 0 {
                        continue;
                    }
                    let message = OutboxMessage::notify(
                        Uuid::try_parse(member).unwrap_or_default(),
                        "MEETING_FOLLOW_UP",
                        format!("meeting-follow-up:{event_id}:{member}"),
                        &[
                            ("event_id", event_id.to_owned()),
                            ("event_title", title.to_owned()),
                            ("co_attendee_count", co_attendees.to_string()),
                        ],
                    );
                    self.enqueue(&message, now).await?;
                }
                Ok(RecordOutcome {
                    pairs: i64::try_from(pairs.len()).unwrap_or(i64::MAX),
                    met: i64::try_from(met_pairs.len()).unwrap_or(i64::MAX),
                    already_recorded: false,
                })
            }

            async fn co_attendees(
                &mut self,
                event_id: &str,
                viewer: &str,
                only: Option<&str>,
            ) -> Result<Vec<CoAttendeeRow>, sqlx::Error> {
                let mut qb = QueryBuilder::new(
                    "SELECT p.other_id, m.display_name, m.deleted_at IS NOT NULL, p.confirmed, q.confirmed, p.met, \
                       EXISTS (SELECT 1 FROM connections c WHERE (c.member_a = p.member_id AND c.member_b = p.other_id) \
                                                            OR (c.member_b = p.member_id AND c.member_a = p.other_id)), \
                       p.dismissed \
                     FROM meeting_pairs p \
                     JOIN meeting_pairs q ON q.event_id = p.event_id AND q.member_id = p.other_id AND q.other_id = p.member_id \
                     JOIN members m ON m.id = p.other_id \
                     WHERE p.event_id = ",
                );
                qb.push_bind(event_id);
                qb.push(" AND p.member_id = ");
                qb.push_bind(viewer);
                if let Some(other) = only {
                    qb.push(" AND p.other_id = ");
                    qb.push_bind(other);
                }
                qb.push(
                    " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = p.member_id AND b.blocked_id = p.other_id) \
                                                           OR (b.blocker_id = p.other_id AND b.blocked_id = p.member_id)) \
                     ORDER BY m.display_name, p.other_id",
                );
                let rows: Vec<(String, String, bool, bool, bool, bool, bool, bool)> =
                    qb.build_query_as().fetch_all(&mut *self).await?;
                Ok(rows
                    .into_iter()
                    .map(|r| CoAttendeeRow {
                        member_id: r.0,
                        display_name: r.1,
                        deleted: r.2,
                        confirmed_by_me: r.3,
                        confirmed_by_them: r.4,
                        met: r.5,
                        connected: r.6,
                        dismissed: r.7,
                    })
                    .collect())
            }

            async fn mark_met_if_mutual(
                &mut self,
                event_id: &str,
                member: &str,
                other: &str,
                now: DateTime<Utc>,
            ) -> Result<bool, sqlx::Error> {
                let changed = sqlx::query(
                    "UPDATE meeting_pairs SET met = TRUE WHERE event_id = $1 AND met = FALSE \
                     AND ((member_id = $2 AND other_id = $3) OR (member_id = $3 AND other_id = $2)) \
                     AND (SELECT COUNT(*) FROM meeting_pairs x WHERE x.event_id = $1 AND x.confirmed = TRUE \
                          AND ((x.member_id = $2 AND x.other_id = $3) OR (x.member_id = $3 AND x.other_id = $2))) = 2",
                )
                .bind(event_id)
                .bind(member)
                .bind(other)
                .execute(&mut *self)
                .await?;
                if changed.rows_affected() == 0 {
                    return Ok(false);
                }
                let (a, b) = ordered(member, other);
                let (title, event_time): (String, DateTime<Utc>) = sqlx::query_as(
                    "SELECT title, event_time FROM recorded_events WHERE event_id = $1",
                )
                .bind(event_id)
                .fetch_one(&mut *self)
                .await?;
                sqlx::query(
                    "INSERT INTO met_edges (member_a, member_b, event_id, met_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (member_a, member_b) DO NOTHING",
                )
                .bind(a)
                .bind(b)
                .bind(event_id)
                .bind(event_time)
                .execute(&mut *self)
                .await?;
                let names: Vec<(String, String)> =
                    sqlx::query_as("SELECT id, display_name FROM members WHERE id = $1 OR id = $2")
                        .bind(a)
                        .bind(b)
                        .fetch_all(&mut *self)
                        .await?;
                let name = |id: &str| {
                    names.iter().find(|(i, _)| i == id).map(|(_, n)| n.clone()).unwrap_or_default()
                };
                for message in met_messages(event_id, &title, a, b, &name(a), &name(b)) {
                    self.enqueue(&message, now).await?;
                }
                Ok(true)
            }
        }
    };
}

impl_conn_ops!(SqliteConnection);
impl_conn_ops!(PgConnection);

/// Serialises the transactions that decide on one pair's requests and connection, so two
/// crossing requests can never leave a pending request beside a connection.
pub trait PairLock {
    fn lock_pair(
        &mut self,
        a: &str,
        b: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

impl PairLock for SqliteConnection {
    /// Write transactions begin IMMEDIATE, so they already run one at a time.
    async fn lock_pair(&mut self, _a: &str, _b: &str) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl PairLock for PgConnection {
    /// A transaction-scoped advisory lock on the ordered pair, released at commit or rollback.
    async fn lock_pair(&mut self, a: &str, b: &str) -> Result<(), sqlx::Error> {
        let (a, b) = ordered(a, b);
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("connection-pair:{a}|{b}"))
            .execute(&mut *self)
            .await
            .map(|_| ())
    }
}

/// Everything held about a member, as a JSON document.
pub async fn export(db: &Db, member: &str) -> Result<Option<serde_json::Value>, sqlx::Error> {
    use serde_json::json;
    with_db!(db, pool => {
        let mut conn = pool.acquire().await?;
        let Some(m) = conn.load_member(member).await? else {
            return Ok(None);
        };
        let sessions: Vec<(String, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>, Option<String>)> =
            sqlx::query_as(
                "SELECT id, created_at, expires_at, revoked_at, revoke_reason FROM sessions \
                 WHERE member_id = $1 ORDER BY created_at",
            )
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
        let connections: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT CASE WHEN member_a = $1 THEN member_b ELSE member_a END, created_at \
             FROM connections WHERE member_a = $1 OR member_b = $1 ORDER BY created_at",
        )
        .bind(member)
        .fetch_all(&mut *conn)
        .await?;
        let requests: Vec<RequestTuple> = sqlx::query_as(
            "SELECT r.id, r.requester_id, r.addressee_id, r.note, r.state, r.created_at, r.updated_at, m.display_name \
             FROM connection_requests r JOIN members m \
               ON m.id = CASE WHEN r.requester_id = $1 THEN r.addressee_id ELSE r.requester_id END \
             WHERE r.requester_id = $1 OR r.addressee_id = $1 ORDER BY r.id",
        )
        .bind(member)
        .fetch_all(&mut *conn)
        .await?;
        let blocks: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT blocked_id, created_at FROM blocks WHERE blocker_id = $1 ORDER BY created_at",
        )
        .bind(member)
        .fetch_all(&mut *conn)
        .await?;
        let meetings: Vec<(String, String, bool, bool, bool)> = sqlx::query_as(
            "SELECT event_id, other_id, confirmed, dismissed, met FROM meeting_pairs \
             WHERE member_id = $1 ORDER BY event_time, event_id, other_id",
        )
        .bind(member)
        .fetch_all(&mut *conn)
        .await?;
        let met: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT CASE WHEN member_a = $1 THEN member_b ELSE member_a END, event_id, met_at \
             FROM met_edges WHERE member_a = $1 OR member_b = $1 ORDER BY met_at",
        )
        .bind(member)
        .fetch_all(&mut *conn)
        .await?;
        Ok(Some(json!({
            "format": "rendezvous.members.export.v1",
            "profile": {
                "id": m.id,
                "email": m.email,
                "display_name": m.display_name,
                "headline": m.headline,
                "company": m.company,
                "city": m.city,
                "interests": m.interests,
                "locale": m.locale,
                "time_zone": m.time_zone,
                "linkedin_url": m.linkedin_url,
                "visibility": m.visibility,
                "created_at": m.created_at,
                "updated_at": m.updated_at,
            },
            "sessions": sessions.iter().map(|s| json!({
                "id": s.0, "created_at": s.1, "expires_at": s.2, "revoked_at": s.3, "revoke_reason": s.4,
            })).collect::<Vec<_>>(),
            "connections": connections.iter().map(|c| json!({
                "member_id": c.0, "connected_at": c.1,
            })).collect::<Vec<_>>(),
            "connection_requests": requests.into_iter().map(RequestRow::from).map(|r| json!({
                "id": r.id, "requester_id": r.requester_id, "addressee_id": r.addressee_id,
                "note": r.note, "state": r.state, "created_at": r.created_at, "updated_at": r.updated_at,
            })).collect::<Vec<_>>(),
            "blocked_members": blocks.iter().map(|b| json!({
                "member_id": b.0, "blocked_at": b.1,
            })).collect::<Vec<_>>(),
            "meetings": meetings.iter().map(|p| json!({
                "event_id": p.0, "member_id": p.1, "confirmed": p.2, "dismissed": p.3, "met": p.4,
            })).collect::<Vec<_>>(),
            "met_in_person": met.iter().map(|e| json!({
                "member_id": e.0, "event_id": e.1, "met_at": e.2,
            })).collect::<Vec<_>>(),
        })))
    })
}
