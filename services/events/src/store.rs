//! Events storage on SQLite and PostgreSQL, each method written once for both (see
//! `rendezvous_common::db::with_db!`).
//!
//! The RSVP path enforces capacity in the database: one transaction locks the event row
//! (`SELECT … FOR UPDATE` on PostgreSQL; `BEGIN IMMEDIATE` serialises writers on SQLite),
//! reads the seat counters kept on it, asks the pure rules in [`crate::domain::rsvp`] what each
//! RSVP becomes, writes the rows, the counters and the outbox, and commits. A `CHECK` on the
//! event row (`confirmed + offered ≤ capacity`) backs the rules up. Several RSVPs to one event
//! are admitted in one such transaction (see [`crate::admission`]), which keeps a popular event
//! from turning into a convoy of transactions queueing on its row lock.

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::db::{Backend, BeginWrite as _, Db, Migrations};
use rendezvous_common::outbox::{OutboxMessage, OutboxWriter as _};
use rendezvous_common::with_db;
use uuid::Uuid;

use crate::domain::rsvp::{self, Decision, Intent, Rules, Seats, Status, WaitlistMode};

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        (
            1,
            "events",
            include_str!("../migrations/sqlite/0001_events.sql"),
        ),
        (2, "outbox", rendezvous_common::outbox::SQLITE_DDL),
        (
            3,
            "chapter requests",
            include_str!("../migrations/sqlite/0003_chapter_requests.sql"),
        ),
        (
            4,
            "event service",
            include_str!("../migrations/sqlite/0004_event_service.sql"),
        ),
        (
            5,
            "series horizon",
            include_str!("../migrations/sqlite/0005_series_horizon.sql"),
        ),
    ],
    postgres: &[
        (
            1,
            "events",
            include_str!("../migrations/postgres/0001_events.sql"),
        ),
        (2, "outbox", rendezvous_common::outbox::POSTGRES_DDL),
        (
            3,
            "chapter requests",
            include_str!("../migrations/postgres/0003_chapter_requests.sql"),
        ),
        (
            4,
            "event service",
            include_str!("../migrations/postgres/0004_event_service.sql"),
        ),
        (
            5,
            "series horizon",
            include_str!("../migrations/postgres/0005_series_horizon.sql"),
        ),
    ],
};

/// Stored name of an RSVP status.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Confirmed => "confirmed",
        Status::Waitlisted => "waitlisted",
        Status::Offered => "offered",
        Status::PendingApproval => "pending_approval",
        Status::Declined => "declined",
        Status::Cancelled => "cancelled",
        Status::NotGoing => "not_going",
    }
}

pub fn status_from_name(name: &str) -> Status {
    match name {
        "confirmed" => Status::Confirmed,
        "waitlisted" => Status::Waitlisted,
        "offered" => Status::Offered,
        "pending_approval" => Status::PendingApproval,
        "declined" => Status::Declined,
        "cancelled" => Status::Cancelled,
        _ => Status::NotGoing,
    }
}

/// What a new event stores (already validated).
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub id: Uuid,
    pub host_id: String,
    pub chapter_id: Option<String>,
    pub title: String,
    pub description: String,
    pub kind: String,
    pub venue_name: String,
    pub venue_address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub city: String,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub time_zone: String,
    pub capacity: u32,
    pub rsvp_deadline: Option<DateTime<Utc>>,
    pub visibility: String,
    pub approval_required: bool,
    /// `None`: automatic promotion; `Some(window)`: offers that expire.
    pub offer_window: Option<Duration>,
    pub check_in_code: String,
    pub request_id: Option<String>,
}

/// One RSVP to admit.
#[derive(Clone, Debug)]
pub struct RsvpRequest {
    pub member_id: String,
    pub intent: Intent,
    pub visibility: String,
}

/// What an RSVP became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsvpOutcome {
    pub member_id: String,
    pub status: Status,
    /// 1-based place in line while wait-listed.
    pub waitlist_position: Option<u32>,
    pub offer_expires_at: Option<DateTime<Utc>>,
}

/// Why an RSVP was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RsvpRefusal {
    #[error("no such event")]
    NoEvent,
    #[error("the event is not open for RSVPs")]
    NotOpen,
    #[error("the RSVP deadline has passed")]
    DeadlinePassed,
}

/// The event row fields the RSVP path needs, read under its lock.
pub(crate) struct Locked {
    pub(crate) state: String,
    pub(crate) rules: Rules,
    pub(crate) seats: Seats,
    pub(crate) next_seq: i64,
    pub(crate) deadline: Option<DateTime<Utc>>,
    pub(crate) start_at: DateTime<Utc>,
    pub(crate) title: String,
}

pub(crate) type LockedTuple = (
    String,
    i64,
    bool,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    String,
);

pub(crate) fn locked(t: LockedTuple) -> Locked {
    let count = |n: i64| u32::try_from(n).unwrap_or(0);
    Locked {
        state: t.0,
        rules: Rules {
            capacity: count(t.1),
            approval_required: t.2,
            mode: if t.3 == "offer" {
                WaitlistMode::Offer {
                    window: Duration::seconds(t.4),
                }
            } else {
                WaitlistMode::Automatic
            },
        },
        seats: Seats {
            confirmed: count(t.5),
            offered: count(t.6),
            waitlisted: count(t.7),
        },
        next_seq: t.8,
        deadline: t.9,
        start_at: t.10,
        title: t.11,
    }
}

fn notification_kind(status: Status) -> Option<&'static str> {
    match status {
        Status::Confirmed => Some("RSVP_CONFIRMED"),
        Status::Waitlisted => Some("RSVP_WAITLISTED"),
        Status::PendingApproval => Some("RSVP_PENDING_APPROVAL"),
        Status::Declined => Some("RSVP_DECLINED"),
        _ => None,
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores a draft event; a repeated `request_id` of the same host returns the first one.
    pub async fn create_event(
        &self,
        new: &NewEvent,
        now: DateTime<Utc>,
    ) -> Result<String, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(request_id) = &new.request_id {
                let existing: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM events WHERE host_id = $1 AND request_id = $2",
                )
                .bind(&new.host_id)
                .bind(request_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = existing {
                    return Ok(id);
                }
            }
            sqlx::query(
                "INSERT INTO events (id, chapter_id, host_id, title, description, kind, venue_name, \
                 venue_address, latitude, longitude, city, city_key, start_at, end_at, time_zone, \
                 capacity, rsvp_deadline, visibility, state, approval_required, waitlist_mode, \
                 offer_window_secs, check_in_code, request_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                 $18, 'draft', $19, $20, $21, $22, $23, $24, $24)",
            )
            .bind(new.id.to_string())
            .bind(&new.chapter_id)
            .bind(&new.host_id)
            .bind(&new.title)
            .bind(&new.description)
            .bind(&new.kind)
            .bind(&new.venue_name)
            .bind(&new.venue_address)
            .bind(new.latitude)
            .bind(new.longitude)
            .bind(&new.city)
            .bind(new.city.to_lowercase())
            .bind(new.start_at)
            .bind(new.end_at)
            .bind(&new.time_zone)
            .bind(i64::from(new.capacity))
            .bind(new.rsvp_deadline)
            .bind(&new.visibility)
            .bind(new.approval_required)
            .bind(if new.offer_window.is_some() { "offer" } else { "automatic" })
            .bind(new.offer_window.map_or(0, |w| w.num_seconds()))
            .bind(&new.check_in_code)
            .bind(&new.request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(new.id.to_string())
        })
    }

    /// Opens a draft for RSVPs; false when it is not a draft.
    pub async fn publish_event(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE events SET state = 'published', version = version + 1, updated_at = $2 \
                 WHERE id = $1 AND state = 'draft'",
            )
            .bind(event_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1)
        })
    }

    /// Admits a batch of RSVPs to one event in one transaction, in the order given.
    pub async fn admit(
        &self,
        event_id: &str,
        requests: &[RsvpRequest],
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<RsvpOutcome>, RsvpRefusal>, sqlx::Error> {
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let select = format!(
            "SELECT state, capacity, approval_required, waitlist_mode, offer_window_secs, \
             confirmed_count, offered_count, waitlisted_count, next_seq, rsvp_deadline, start_at, title \
             FROM events WHERE id = $1{lock}"
        );
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let row: Option<LockedTuple> = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Ok(Err(RsvpRefusal::NoEvent));
            };
            let mut event = locked(row);
            if event.state != "published" || event.start_at <= now {
                return Ok(Err(RsvpRefusal::NotOpen));
            }
            if event.deadline.is_some_and(|deadline| deadline <= now) {
                return Ok(Err(RsvpRefusal::DeadlinePassed));
            }
            let mut outcomes = Vec::with_capacity(requests.len());
            for request in requests {
                let current: Option<(String, i64, Option<DateTime<Utc>>)> = sqlx::query_as(
                    "SELECT status, seq, offer_expires_at FROM rsvps WHERE event_id = $1 AND member_id = $2",
                )
                .bind(event_id)
                .bind(&request.member_id)
                .fetch_optional(&mut *tx)
                .await?;
                let from = current.as_ref().map(|(s, _, _)| status_from_name(s));
                let decision: Decision =
                    rsvp::rsvp(&event.rules, &event.seats, from, request.intent);
                let mut seq = current.as_ref().map_or(0, |(_, seq, _)| *seq);
                let mut offer_expires_at = current.as_ref().and_then(|(_, _, at)| *at);
                if decision.changed {
                    if decision.status == Status::Waitlisted {
                        seq = event.next_seq;
                        event.next_seq += 1;
                    }
                    if decision.status != Status::Offered {
                        offer_expires_at = None;
                    }
                    sqlx::query(
                        "INSERT INTO rsvps (event_id, member_id, status, seq, visibility, offer_expires_at, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                         ON CONFLICT (event_id, member_id) DO UPDATE SET status = excluded.status, seq = excluded.seq, \
                         visibility = excluded.visibility, offer_expires_at = excluded.offer_expires_at, updated_at = excluded.updated_at",
                    )
                    .bind(event_id)
                    .bind(&request.member_id)
                    .bind(status_name(decision.status))
                    .bind(seq)
                    .bind(&request.visibility)
                    .bind(offer_expires_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    event.seats = event.seats.moved(from, decision.status);
                    if let Some(kind) = notification_kind(decision.status) {
                        let message = OutboxMessage::notify(
                            Uuid::try_parse(&request.member_id).unwrap_or_default(),
                            kind,
                            format!(
                                "rsvp:{event_id}:{}:{}:{seq}",
                                request.member_id,
                                status_name(decision.status)
                            ),
                            &[
                                ("event_id", event_id.to_owned()),
                                ("event_title", event.title.clone()),
                            ],
                        );
                        tx.enqueue(&message, now).await?;
                    }
                } else if current.is_some() {
                    sqlx::query(
                        "UPDATE rsvps SET visibility = $3 WHERE event_id = $1 AND member_id = $2",
                    )
                    .bind(event_id)
                    .bind(&request.member_id)
                    .bind(&request.visibility)
                    .execute(&mut *tx)
                    .await?;
                }
                if decision.promote > 0 {
                    let promoted: Vec<String> = sqlx::query_scalar(
                        "SELECT member_id FROM rsvps WHERE event_id = $1 AND status = 'waitlisted' \
                         ORDER BY seq LIMIT $2",
                    )
                    .bind(event_id)
                    .bind(i64::from(decision.promote))
                    .fetch_all(&mut *tx)
                    .await?;
                    let expires = event.rules.offer_expires_at(now);
                    for member in &promoted {
                        sqlx::query(
                            "UPDATE rsvps SET status = $3, offer_expires_at = $4, updated_at = $5 \
                             WHERE event_id = $1 AND member_id = $2",
                        )
                        .bind(event_id)
                        .bind(member)
                        .bind(status_name(decision.promote_to))
                        .bind(if decision.promote_to == Status::Offered {
                            expires
                        } else {
                            None
                        })
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        event.seats = event
                            .seats
                            .moved(Some(Status::Waitlisted), decision.promote_to);
                        let kind = if decision.promote_to == Status::Offered {
                            "WAITLIST_OFFERED"
                        } else {
                            "WAITLIST_PROMOTED"
                        };
                        let message = OutboxMessage::notify(
                            Uuid::try_parse(member).unwrap_or_default(),
                            kind,
                            format!("promoted:{event_id}:{member}:{}", now.timestamp_micros()),
                            &[
                                ("event_id", event_id.to_owned()),
                                ("event_title", event.title.clone()),
                            ],
                        );
                        tx.enqueue(&message, now).await?;
                    }
                }
                outcomes.push(RsvpOutcome {
                    member_id: request.member_id.clone(),
                    status: decision.status,
                    waitlist_position: None,
                    offer_expires_at: if decision.status == Status::Offered {
                        offer_expires_at
                    } else {
                        None
                    },
                });
            }
            sqlx::query(
                "UPDATE events SET confirmed_count = $2, offered_count = $3, waitlisted_count = $4, \
                 next_seq = $5, updated_at = $6 WHERE id = $1",
            )
            .bind(event_id)
            .bind(i64::from(event.seats.confirmed))
            .bind(i64::from(event.seats.offered))
            .bind(i64::from(event.seats.waitlisted))
            .bind(event.next_seq)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for outcome in &mut outcomes {
                let (status, seq): (String, i64) = sqlx::query_as(
                    "SELECT status, seq FROM rsvps WHERE event_id = $1 AND member_id = $2",
                )
                .bind(event_id)
                .bind(&outcome.member_id)
                .fetch_one(&mut *tx)
                .await?;
                // A later request of the batch may have moved this one up.
                outcome.status = status_from_name(&status);
                if outcome.status == Status::Waitlisted {
                    let ahead: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM rsvps WHERE event_id = $1 AND status = 'waitlisted' AND seq < $2",
                    )
                    .bind(event_id)
                    .bind(seq)
                    .fetch_one(&mut *tx)
                    .await?;
                    outcome.waitlist_position = u32::try_from(ahead + 1).ok();
                }
            }
            tx.commit().await?;
            Ok(Ok(outcomes))
        })
    }

    /// Counts of an event's RSVPs by status, straight from the rows.
    pub async fn status_counts(&self, event_id: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT status, COUNT(*) FROM rsvps WHERE event_id = $1 GROUP BY status ORDER BY status",
            )
            .bind(event_id)
            .fetch_all(pool)
            .await
        })
    }
}
