//! "Who you met": the co-attendee pairs of recorded events, their confirmations, and the met
//! edges they lead to.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::outbox::{OutboxMessage, OutboxWriter};
use rendezvous_common::relay::met_edge_made;
use rendezvous_common::time;
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::prost::Message as _;
use sqlx::{PgConnection, QueryBuilder, SqliteConnection};
use uuid::Uuid;

use super::db::{Store, ordered, stored_id};
use crate::domain::meeting::RecordedEvent;
use crate::notices;

/// Rows per multi-row INSERT: 6 parameters each stays far below both backends' limits.
const INSERT_CHUNK: usize = 400;
/// Hoped pairs per UPDATE: 4 parameters each (both directions), likewise.
const HOPED_CHUNK: usize = 400;

/// A co-attendee in a follow-up, from the viewer's side.
#[derive(Clone, Debug)]
pub struct CoAttendeeRow {
    pub member_id: String,
    pub display_name: String,
    pub deleted: bool,
    pub confirmed_by_me: bool,
    pub confirmed_by_them: bool,
    pub met: bool,
    pub connected: bool,
    pub dismissed: bool,
    /// The two marked each other as hoping to meet at the event.
    pub hoped_to_meet: bool,
}

#[derive(Clone, Debug)]
pub struct MeetingRow {
    pub event_id: String,
    pub title: String,
    pub event_time: DateTime<Utc>,
    pub co_attendees: Vec<CoAttendeeRow>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct RecordOutcome {
    pub pairs: i64,
    pub met: i64,
    pub already_recorded: bool,
}

/// Steps on an event's pairs that recording and confirming share.
pub trait MeetingOps: OutboxWriter {
    /// Records the pairs `new` attendees make with each other and with the `earlier` ones
    /// (all live, distinct); at a `small` event connected pairs are met at once.
    fn record_pairs(
        &mut self,
        event: &npb::EventFacts,
        event_time: DateTime<Utc>,
        new: &[String],
        earlier: &[String],
        small: bool,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RecordOutcome, sqlx::Error>> + Send;

    /// Tells every live attendee of a fully recorded event with whom they were paired how
    /// many co-attendees they had.
    fn send_follow_ups(
        &mut self,
        event: &npb::EventFacts,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The viewer's co-attendees at an event (only `only` when given), blocked ones left out.
    fn co_attendees(
        &mut self,
        event_id: &str,
        viewer: &str,
        only: Option<&str>,
    ) -> impl Future<Output = Result<Vec<CoAttendeeRow>, sqlx::Error>> + Send;

    /// The `(a, b)` rows of `table` whose `a` and `b` columns are both among `ids` (and that
    /// meet the SQL condition `only`, when given).
    fn pairs_within(
        &mut self,
        table: &'static str,
        a: &'static str,
        b: &'static str,
        only: Option<&'static str>,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<(String, String)>, sqlx::Error>> + Send;

    /// Suggests to each side of `pairs`, co-attendees of `event` who are not connected, to
    /// connect with the other (`attendees` are all the event's checked-in members).
    fn suggest_connections(
        &mut self,
        event: &npb::EventFacts,
        pairs: &[(&str, &str)],
        attendees: &[String],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Marks `a` and `b` (ordered) met in person at `event` and tells each of them, and events,
    /// once per pair: a pair met before keeps its first edge and nobody hears of it again.
    fn meet(
        &mut self,
        event: &npb::EventFacts,
        a: &str,
        b: &str,
        met_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Marks both rows of each of `pairs` at `event_id` hoped; pairs without rows (not both
    /// recorded, or blocked) are left alone.
    fn mark_hoped(
        &mut self,
        event_id: &str,
        pairs: &[(String, String)],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    fn mark_met_if_mutual(
        &mut self,
        event_id: &str,
        member: &str,
        other: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
}

/// The two MET_IN_PERSON notices of a pair, one to each side.
fn met_messages(
    event: &npb::EventFacts,
    a: &str,
    b: &str,
    a_name: &str,
    b_name: &str,
) -> Result<[OutboxMessage; 2], sqlx::Error> {
    Ok([
        notices::met_in_person(stored_id(a)?, notices::member_facts(b, b_name), event),
        notices::met_in_person(stored_id(b)?, notices::member_facts(a, a_name), event),
    ])
}

/// What events is told of the edge `a`–`b` (ordered as stored) made at `event_id`: it counts
/// towards the health of the event's chapter.
fn met_edge(
    event_id: &str,
    a: &str,
    b: &str,
    met_at: DateTime<Utc>,
) -> events_pb::RecordMetEdgeRequest {
    events_pb::RecordMetEdgeRequest {
        event_id: event_id.to_owned(),
        member_a: a.to_owned(),
        member_b: b.to_owned(),
        met_time: Some(time::to_timestamp(met_at)),
    }
}

/// The facts stored with an event, or, for an event recorded before they were sent, what
/// its title and time tell.
fn stored_facts(
    event_id: &str,
    title: String,
    event_time: DateTime<Utc>,
    encoded: Option<Vec<u8>>,
) -> Result<npb::EventFacts, sqlx::Error> {
    match encoded {
        Some(bytes) => {
            npb::EventFacts::decode(bytes.as_slice()).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        }
        None => Ok(npb::EventFacts {
            event_id: event_id.to_owned(),
            title,
            start_time: Some(time::to_timestamp(event_time)),
            end_time: None,
            time_zone: String::new(),
            venue_name: String::new(),
            venue_address: String::new(),
            city: String::new(),
        }),
    }
}

macro_rules! impl_meeting_ops {
    ($conn:ty) => {
        impl MeetingOps for $conn {
            async fn record_pairs(
                &mut self,
                event: &npb::EventFacts,
                event_time: DateTime<Utc>,
                new: &[String],
                earlier: &[String],
                small: bool,
                now: DateTime<Utc>,
            ) -> Result<RecordOutcome, sqlx::Error> {
                let event_id = event.event_id.as_str();
                let mut pairs: Vec<(&str, &str)> = Vec::new();
                for (i, a) in new.iter().enumerate() {
                    for b in new[i + 1..].iter().chain(earlier) {
                        pairs.push(ordered(a, b));
                    }
                }
                let attendees: Vec<String> = new.iter().chain(earlier).cloned().collect();
                let attendees = attendees.as_slice();
                // Pairs where either blocks the other are left out entirely.
                let blocked: Vec<(String, String)> = if attendees.is_empty() {
                    Vec::new()
                } else {
                    self.pairs_within("blocks", "blocker_id", "blocked_id", None, attendees).await?
                };
                let is_blocked = |a: &str, b: &str| {
                    blocked.iter().any(|(x, y)| (x == a && y == b) || (x == b && y == a))
                };
                pairs.retain(|(a, b)| !is_blocked(a, b));
                let connected: Vec<(String, String)> = if pairs.is_empty() {
                    Vec::new()
                } else {
                    self.pairs_within("connections", "member_a", "member_b", None, attendees).await?
                };
                // Both sides ordered as the connections table keeps them; a set, as an event
                // may have half a million pairs.
                let connected: HashSet<(&str, &str)> =
                    connected.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                let is_connected = |a: &str, b: &str| connected.contains(&(a, b));
                let met_pairs: Vec<(&str, &str)> = if small {
                    pairs.iter().copied().filter(|&(a, b)| is_connected(a, b)).collect()
                } else {
                    Vec::new()
                };
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
                for &(a, b) in &met_pairs {
                    self.meet(event, a, b, event_time, now).await?;
                }
                let unconnected: Vec<(&str, &str)> =
                    pairs.iter().copied().filter(|&(a, b)| !is_connected(a, b)).collect();
                self.suggest_connections(event, &unconnected, attendees, now).await?;
                Ok(RecordOutcome {
                    pairs: i64::try_from(pairs.len()).unwrap_or(i64::MAX),
                    met: i64::try_from(met_pairs.len()).unwrap_or(i64::MAX),
                    already_recorded: false,
                })
            }

            async fn send_follow_ups(
                &mut self,
                event: &npb::EventFacts,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                let counts: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT p.member_id, COUNT(*) FROM meeting_pairs p \
                     JOIN members m ON m.id = p.member_id AND m.deleted_at IS NULL \
                     WHERE p.event_id = $1 GROUP BY p.member_id ORDER BY p.member_id",
                )
                .bind(&event.event_id)
                .fetch_all(&mut *self)
                .await?;
                for (member, co_attendees) in counts {
                    let message = notices::meeting_follow_up(
                        stored_id(&member)?,
                        event,
                        u32::try_from(co_attendees).unwrap_or(u32::MAX),
                    );
                    self.enqueue(&message, now).await?;
                }
                Ok(())
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
                       p.dismissed, p.hoped \
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
                     ORDER BY p.hoped DESC, m.display_name, p.other_id",
                );
                let rows: Vec<(String, String, bool, bool, bool, bool, bool, bool, bool)> =
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
                        hoped_to_meet: r.8,
                    })
                    .collect())
            }

            async fn pairs_within(
                &mut self,
                table: &'static str,
                a: &'static str,
                b: &'static str,
                only: Option<&'static str>,
                ids: &[String],
            ) -> Result<Vec<(String, String)>, sqlx::Error> {
                let mut qb = QueryBuilder::new("SELECT ");
                qb.push(a).push(", ").push(b).push(" FROM ").push(table);
                for (column, keyword) in [(a, " WHERE "), (b, " AND ")] {
                    qb.push(keyword).push(column).push(" IN (");
                    let mut s = qb.separated(", ");
                    for id in ids {
                        s.push_bind(id.clone());
                    }
                    s.push_unseparated(")");
                }
                if let Some(condition) = only {
                    qb.push(" AND ").push(condition);
                }
                qb.build_query_as().fetch_all(&mut *self).await
            }

            async fn suggest_connections(
                &mut self,
                event: &npb::EventFacts,
                pairs: &[(&str, &str)],
                attendees: &[String],
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                if pairs.is_empty() {
                    return Ok(());
                }
                // A pair with a request pending either way gets no suggestion: one of them has
                // asked already, and the other has the request to answer, which says more than
                // "connect?" would.
                let pending = self
                    .pairs_within(
                        "connection_requests",
                        "requester_id",
                        "addressee_id",
                        Some("pending_pair IS NOT NULL"),
                        attendees,
                    )
                    .await?;
                let pending: HashSet<(&str, &str)> =
                    pending.iter().map(|(a, b)| ordered(a, b)).collect();
                // Read in this transaction, so a member deleted since the caller left out the
                // deleted ones is neither told nor named.
                let mut qb = QueryBuilder::new(
                    "SELECT id, display_name FROM members WHERE deleted_at IS NULL AND id IN (",
                );
                let mut s = qb.separated(", ");
                for id in attendees {
                    s.push_bind(id.clone());
                }
                s.push_unseparated(")");
                let names: HashMap<String, String> =
                    qb.build_query_as::<(String, String)>().fetch_all(&mut *self).await?.into_iter().collect();
                for &(a, b) in pairs {
                    if pending.contains(&(a, b)) {
                        continue;
                    }
                    let (Some(a_name), Some(b_name)) = (names.get(a), names.get(b)) else {
                        continue;
                    };
                    for (to, other, other_name) in [(a, b, b_name), (b, a, a_name)] {
                        let message = notices::connect_suggestion(
                            stored_id(to)?,
                            notices::member_facts(other, other_name),
                            event,
                        );
                        self.enqueue(&message, now).await?;
                    }
                }
                Ok(())
            }

            async fn mark_hoped(
                &mut self,
                event_id: &str,
                pairs: &[(String, String)],
            ) -> Result<(), sqlx::Error> {
                for chunk in pairs.chunks(HOPED_CHUNK) {
                    let mut qb = QueryBuilder::new(
                        "UPDATE meeting_pairs SET hoped = TRUE WHERE hoped = FALSE AND event_id = ",
                    );
                    qb.push_bind(event_id);
                    qb.push(" AND (member_id, other_id) IN (VALUES ");
                    let mut s = qb.separated(", ");
                    for (a, b) in chunk {
                        for (member, other) in [(a, b), (b, a)] {
                            s.push("(");
                            s.push_bind_unseparated(member.as_str());
                            s.push_unseparated(", ");
                            s.push_bind_unseparated(other.as_str());
                            s.push_unseparated(")");
                        }
                    }
                    s.push_unseparated(")");
                    qb.build().execute(&mut *self).await?;
                }
                Ok(())
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
                let (title, event_time, encoded): (String, DateTime<Utc>, Option<Vec<u8>>) = sqlx::query_as(
                    "SELECT title, event_time, event_facts FROM recorded_events WHERE event_id = $1",
                )
                .bind(event_id)
                .fetch_one(&mut *self)
                .await?;
                let event = stored_facts(event_id, title, event_time, encoded)?;
                self.meet(&event, a, b, event_time, now).await?;
                Ok(true)
            }

            async fn meet(
                &mut self,
                event: &npb::EventFacts,
                a: &str,
                b: &str,
                met_at: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                let inserted = sqlx::query(
                    "INSERT INTO met_edges (member_a, member_b, event_id, met_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (member_a, member_b) DO NOTHING",
                )
                .bind(a)
                .bind(b)
                .bind(&event.event_id)
                .bind(met_at)
                .execute(&mut *self)
                .await?;
                // A pair met at an earlier event stays met there: nothing new to tell.
                if inserted.rows_affected() == 0 {
                    return Ok(());
                }
                let edge = met_edge(&event.event_id, a, b, met_at);
                self.enqueue(&met_edge_made(&edge), now).await?;
                let names: Vec<(String, String)> =
                    sqlx::query_as("SELECT id, display_name FROM members WHERE id = $1 OR id = $2")
                        .bind(a)
                        .bind(b)
                        .fetch_all(&mut *self)
                        .await?;
                let name = |id: &str| {
                    names.iter().find(|(i, _)| i == id).map(|(_, n)| n.clone()).unwrap_or_default()
                };
                for message in met_messages(event, a, b, &name(a), &name(b))? {
                    self.enqueue(&message, now).await?;
                }
                Ok(())
            }
        }
    };
}

impl_meeting_ops!(SqliteConnection);
impl_meeting_ops!(PgConnection);

impl Store {
    /// Records `attendees` (distinct ids, `live` the ones of members not deleted), all or
    /// one chunk of the `total` checked in at an event: each attendee once, paired with the
    /// attendees before them; at a small event (at most `small_event_max` in all) connected
    /// pairs are met at once. The `hoped` pairs already recorded (this chunk's pairs too) are
    /// marked hoped: a pair across two chunks comes with both and is marked by the second.
    /// Once all `total` are in, the follow-ups go out. Chunks of one event are recorded one
    /// after the other (the event's row is locked), so no pair is missed or made twice,
    /// whatever their order or repetitions.
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one parsed RecordMeetings call, resolved against live members"
    )]
    pub async fn record_meetings(
        &self,
        event: &RecordedEvent,
        total: usize,
        attendees: &[String],
        live: &[String],
        hoped: &[(String, String)],
        small_event_max: usize,
        now: DateTime<Utc>,
    ) -> Result<RecordOutcome, sqlx::Error> {
        let event_id = event.id.to_string();
        let event_id = event_id.as_str();
        let lock = format!(
            "SELECT complete, attendee_count FROM recorded_events WHERE event_id = $1{}",
            self.db.backend().for_update()
        );
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO recorded_events \
                 (event_id, title, event_time, attendee_count, recorded_at, event_facts, complete) \
                 VALUES ($1, $2, $3, $4, $5, $6, FALSE) ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(event_id)
            .bind(&event.title)
            .bind(event.time)
            .bind(i64::try_from(total).unwrap_or(i64::MAX))
            .bind(now)
            .bind(event.facts.encode_to_vec())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            // The size the first chunk gave is the event's.
            let (complete, total): (bool, i64) = sqlx::query_as(sqlx::AssertSqlSafe(lock.clone()))
                .bind(event_id)
                .fetch_one(&mut *tx)
                .await?;
            let already = RecordOutcome {
                already_recorded: true,
                ..RecordOutcome::default()
            };
            if complete {
                return Ok(already);
            }
            let mut added = HashSet::new();
            if !attendees.is_empty() {
                let mut qb =
                    QueryBuilder::new("INSERT INTO recorded_attendees (event_id, member_id) ");
                qb.push_values(attendees, |mut row, member| {
                    row.push_bind(event_id).push_bind(member.as_str());
                });
                qb.push(" ON CONFLICT (event_id, member_id) DO NOTHING RETURNING member_id");
                added.extend(
                    qb.build_query_scalar::<String>()
                        .fetch_all(&mut *tx)
                        .await?,
                );
            }
            // A chunk sent again; an event with nobody checked in is recorded by its first call.
            if added.is_empty() && !inserted {
                return Ok(already);
            }
            let new: Vec<String> = live
                .iter()
                .filter(|id| added.contains(*id))
                .cloned()
                .collect();
            let earlier: Vec<String> = sqlx::query_scalar(
                "SELECT a.member_id FROM recorded_attendees a \
                 JOIN members m ON m.id = a.member_id AND m.deleted_at IS NULL \
                 WHERE a.event_id = $1 ORDER BY a.member_id",
            )
            .bind(event_id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .filter(|id: &String| !added.contains(id))
            .collect();
            let small = usize::try_from(total).is_ok_and(|total| total <= small_event_max);
            let outcome = tx
                .record_pairs(&event.facts, event.time, &new, &earlier, small, now)
                .await?;
            tx.mark_hoped(event_id, hoped).await?;
            let received: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM recorded_attendees WHERE event_id = $1")
                    .bind(event_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if received >= total {
                sqlx::query("UPDATE recorded_events SET complete = TRUE WHERE event_id = $1")
                    .bind(event_id)
                    .execute(&mut *tx)
                    .await?;
                tx.send_follow_ups(&event.facts, now).await?;
            }
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// A member's follow-ups, newest event first; the cursor is `(event_time, event_id)`.
    pub async fn meetings(
        &self,
        member: Uuid,
        after: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<MeetingRow>, sqlx::Error> {
        let member = &*member.to_string();
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT e.event_id, e.title, e.event_time FROM recorded_events e WHERE EXISTS \
                 (SELECT 1 FROM meeting_pairs p WHERE p.event_id = e.event_id AND p.member_id = ",
            );
            qb.push_bind(member);
            qb.push(")");
            if let Some((at, id)) = after {
                qb.push(" AND (e.event_time < ");
                qb.push_bind(at);
                qb.push(" OR (e.event_time = ");
                qb.push_bind(at);
                qb.push(" AND e.event_id < ");
                qb.push_bind(id);
                qb.push("))");
            }
            qb.push(" ORDER BY e.event_time DESC, e.event_id DESC LIMIT ");
            qb.push_bind(i64::from(limit));
            let events: Vec<(String, String, DateTime<Utc>)> =
                qb.build_query_as().fetch_all(pool).await?;
            let mut conn = pool.acquire().await?;
            let mut out = Vec::with_capacity(events.len());
            for (event_id, title, event_time) in events {
                let co_attendees = conn.co_attendees(&event_id, member, None).await?;
                out.push(MeetingRow {
                    event_id,
                    title,
                    event_time,
                    co_attendees,
                });
            }
            Ok(out)
        })
    }

    /// Confirms (or dismisses) having met `other` at `event_id`; `None` when there is no such
    /// follow-up for the caller.
    pub async fn set_meeting(
        &self,
        event_id: Uuid,
        member: Uuid,
        other: Uuid,
        confirm: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<CoAttendeeRow>, sqlx::Error> {
        let event_id = &*event_id.to_string();
        let member = &*member.to_string();
        let other = &*other.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let updated = if confirm {
                sqlx::query(
                    "UPDATE meeting_pairs SET confirmed = TRUE, dismissed = FALSE \
                     WHERE event_id = $1 AND member_id = $2 AND other_id = $3",
                )
            } else {
                sqlx::query(
                    "UPDATE meeting_pairs SET dismissed = TRUE, confirmed = met \
                     WHERE event_id = $1 AND member_id = $2 AND other_id = $3",
                )
            }
            .bind(event_id)
            .bind(member)
            .bind(other)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                return Ok(None);
            }
            if confirm {
                tx.mark_met_if_mutual(event_id, member, other, now).await?;
            }
            let row = tx
                .co_attendees(event_id, member, Some(other))
                .await?
                .into_iter()
                .next();
            tx.commit().await?;
            Ok(row)
        })
    }
}
