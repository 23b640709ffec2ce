//! Events storage on SQLite and PostgreSQL, each method written once for both (see
//! `rendezvous_common::db::with_db!`).
//!
//! The RSVP path enforces capacity in the database: one transaction locks the event row
//! (`SELECT … FOR UPDATE` on PostgreSQL; `BEGIN IMMEDIATE` serialises writers on SQLite),
//! reads the seat counters kept on it, asks the pure rules in [`crate::domain::rsvp`] what each
//! RSVP becomes, writes the rows, the counters and the outbox, and commits. A `CHECK` on the
//! event row (`confirmed + offered ≤ capacity`) backs the rules up. Several RSVPs to one event
//! are admitted in one such transaction (see the `admission` module), which keeps a popular event
//! from turning into a convoy of transactions queueing on its row lock.

use rendezvous_common::db::{Backend, Db, Locks, Migrations};
use sqlx::{PgConnection, Row as _, SqliteConnection};
use uuid::Uuid;

use chrono::{DateTime, Utc};
use rendezvous_common::outbox::{ENQUEUE_CHUNK, OutboxWriter as _};
use rendezvous_proto::notifications::v1::Notice;

use crate::domain::access::{Access, Action, authorize};
use crate::domain::chapter::Role;
use crate::domain::event::{
    CohostRole, EventKind, EventRefusal, EventRow, EventState, EventVisibility, NewEvent,
};
use crate::domain::limits::AbuseLimits;
use crate::domain::reminder::ReminderOffsets;
use crate::domain::rsvp::{RsvpState, RsvpVisibility, WaitlistMode};
use crate::domain::series::SeriesState;

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        (
            1,
            "events",
            include_str!("../../migrations/sqlite/0001_events.sql"),
        ),
        (2, "outbox", rendezvous_common::outbox::SQLITE_DDL),
        (
            3,
            "chapter requests",
            include_str!("../../migrations/sqlite/0003_chapter_requests.sql"),
        ),
        (
            4,
            "event service",
            include_str!("../../migrations/sqlite/0004_event_service.sql"),
        ),
        (
            5,
            "series horizon",
            include_str!("../../migrations/sqlite/0005_series_horizon.sql"),
        ),
        (
            6,
            "reminders",
            include_str!("../../migrations/sqlite/0006_reminders.sql"),
        ),
        (
            7,
            "erasure",
            include_str!("../../migrations/sqlite/0007_erasure.sql"),
        ),
        (
            8,
            "outbox dead letters",
            rendezvous_common::outbox::SQLITE_DEAD_LETTERS_DDL,
        ),
        (
            9,
            "meetings retry",
            include_str!("../../migrations/sqlite/0009_meetings_retry.sql"),
        ),
        (
            10,
            "outbox trace context",
            rendezvous_common::outbox::TRACE_CONTEXT_DDL,
        ),
        (
            11,
            "abuse limits",
            include_str!("../../migrations/sqlite/0011_abuse_limits.sql"),
        ),
        (
            12,
            "revoked sessions",
            include_str!("../../migrations/sqlite/0012_revoked_sessions.sql"),
        ),
        (
            13,
            "browse indexes",
            include_str!("../../migrations/sqlite/0013_browse_indexes.sql"),
        ),
        (
            14,
            "member blocks",
            include_str!("../../migrations/sqlite/0014_member_blocks.sql"),
        ),
        (
            15,
            "coffee events",
            include_str!("../../migrations/sqlite/0015_coffee_events.sql"),
        ),
        (
            16,
            "coffee cancellations",
            include_str!("../../migrations/sqlite/0016_coffee_cancellations.sql"),
        ),
        (
            17,
            "want to meet",
            include_str!("../../migrations/sqlite/0017_want_to_meet.sql"),
        ),
        (
            18,
            "chapter health",
            include_str!("../../migrations/sqlite/0018_chapter_health.sql"),
        ),
    ],
    postgres: &[
        (
            1,
            "events",
            include_str!("../../migrations/postgres/0001_events.sql"),
        ),
        (2, "outbox", rendezvous_common::outbox::POSTGRES_DDL),
        (
            3,
            "chapter requests",
            include_str!("../../migrations/postgres/0003_chapter_requests.sql"),
        ),
        (
            4,
            "event service",
            include_str!("../../migrations/postgres/0004_event_service.sql"),
        ),
        (
            5,
            "series horizon",
            include_str!("../../migrations/postgres/0005_series_horizon.sql"),
        ),
        (
            6,
            "reminders",
            include_str!("../../migrations/postgres/0006_reminders.sql"),
        ),
        (
            7,
            "erasure",
            include_str!("../../migrations/postgres/0007_erasure.sql"),
        ),
        (
            8,
            "outbox dead letters",
            rendezvous_common::outbox::POSTGRES_DEAD_LETTERS_DDL,
        ),
        (
            9,
            "meetings retry",
            include_str!("../../migrations/postgres/0009_meetings_retry.sql"),
        ),
        (
            10,
            "outbox trace context",
            rendezvous_common::outbox::TRACE_CONTEXT_DDL,
        ),
        (
            11,
            "abuse limits",
            include_str!("../../migrations/postgres/0011_abuse_limits.sql"),
        ),
        (
            12,
            "revoked sessions",
            include_str!("../../migrations/postgres/0012_revoked_sessions.sql"),
        ),
        (
            13,
            "browse indexes",
            include_str!("../../migrations/postgres/0013_browse_indexes.sql"),
        ),
        (
            14,
            "member blocks",
            include_str!("../../migrations/postgres/0014_member_blocks.sql"),
        ),
        (
            15,
            "coffee events",
            include_str!("../../migrations/postgres/0015_coffee_events.sql"),
        ),
        (
            16,
            "coffee cancellations",
            include_str!("../../migrations/postgres/0016_coffee_cancellations.sql"),
        ),
        (
            17,
            "want to meet",
            include_str!("../../migrations/postgres/0017_want_to_meet.sql"),
        ),
        (
            18,
            "chapter health",
            include_str!("../../migrations/postgres/0018_chapter_health.sql"),
        ),
    ],
};

/// How a domain enum is spelled in the schema. A value the code does not know (a row written
/// by a newer version) reads as the variant named after `else`.
trait Stored: Sized {
    fn stored(self) -> &'static str;
    fn from_stored(name: &str) -> Self;
}

macro_rules! stored {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? } else $fallback:ident) => {
        impl Stored for $ty {
            fn stored(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }

            fn from_stored(name: &str) -> Self {
                match name {
                    $($name => Self::$variant,)+
                    _ => Self::$fallback,
                }
            }
        }
    };
}

stored!(RsvpState {
    Confirmed => "confirmed",
    Waitlisted => "waitlisted",
    Offered => "offered",
    PendingApproval => "pending_approval",
    Declined => "declined",
    Cancelled => "cancelled",
    NotGoing => "not_going",
} else NotGoing);
stored!(RsvpVisibility {
    Public => "public",
    Connections => "connections",
    Attendees => "attendees",
    Nobody => "nobody",
} else Attendees);
stored!(EventKind {
    Coffee => "coffee",
    Drinks => "drinks",
    Meal => "meal",
    Talk => "talk",
    Other => "other",
} else Other);
stored!(EventVisibility {
    Public => "public",
    Chapter => "chapter",
    InviteOnly => "invite_only",
} else InviteOnly);
stored!(EventState {
    Draft => "draft",
    Published => "published",
    Cancelled => "cancelled",
    Completed => "completed",
} else Completed);
stored!(CohostRole { Full => "full", CheckInOnly => "check_in_only" } else CheckInOnly);
stored!(Role { Member => "member", Organizer => "organizer" } else Member);
stored!(SeriesState { Active => "active", Cancelled => "cancelled" } else Cancelled);

/// A wait-list mode as its two columns: `waitlist_mode` and `offer_window_secs`.
fn waitlist_columns(mode: WaitlistMode) -> (&'static str, i64) {
    match mode {
        WaitlistMode::Automatic => ("automatic", 0),
        WaitlistMode::Offer { window } => ("offer", window.num_seconds()),
    }
}

fn waitlist_from_columns(mode: &str, window_secs: i64) -> WaitlistMode {
    if mode == "offer" {
        WaitlistMode::Offer {
            window: chrono::Duration::seconds(window_secs),
        }
    } else {
        WaitlistMode::Automatic
    }
}

/// Why a store write did not happen: the rules refused it (`R` says which refusals this write
/// can meet), or the database failed. Handlers turn either into an [`crate::error::Error`]
/// with one `?`.
#[derive(Debug)]
pub enum StoreError<R> {
    Refused(R),
    Database(sqlx::Error),
}

impl<R> From<sqlx::Error> for StoreError<R> {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// `?` on a refusal inside a store write.
macro_rules! refusal {
    ($($refusal:ty),+) => {
        $(impl From<$refusal> for StoreError<$refusal> {
            fn from(refusal: $refusal) -> Self {
                Self::Refused(refusal)
            }
        })+
    };
}

refusal!(
    EventRefusal,
    crate::domain::chapter::ChapterRefusal,
    RsvpRefusal,
    CompleteRefusal,
    crate::domain::limits::LimitReached,
    InviteRefusal,
    CoffeeRefusal,
    crate::domain::want_to_meet::MarkRefusal
);

/// An id read back from the database.
fn stored_uuid(id: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::try_parse(id).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// An optional id read back from the database (NULL is None).
fn stored_optional_uuid(id: Option<&str>) -> Result<Option<Uuid>, sqlx::Error> {
    id.map(stored_uuid).transpose()
}

/// Ids read back from the database.
fn stored_uuids(ids: &[String]) -> Result<Vec<Uuid>, sqlx::Error> {
    ids.iter().map(|id| stored_uuid(id)).collect()
}

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// When confirmed attendees are reminded; RSVPs read back say when theirs are.
    reminder_offsets: ReminderOffsets,
    /// The caps on what a chapter, an event and its hosts push at members.
    limits: AbuseLimits,
}

impl Store {
    /// The store over `db`, reminding at the default offsets.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            reminder_offsets: ReminderOffsets::default(),
            limits: AbuseLimits::default(),
        }
    }

    /// The same store applying `limits`.
    #[must_use]
    pub fn with_limits(self, limits: AbuseLimits) -> Self {
        Self { limits, ..self }
    }

    /// The same store reminding at `offsets`.
    #[must_use]
    pub fn with_reminder_offsets(self, offsets: ReminderOffsets) -> Self {
        Self {
            reminder_offsets: offsets,
            ..self
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// The columns of an [`EventRow`] (`event_from_row!` reads them) for `e`, an alias of
/// `events`: its own columns, then its co-hosts aggregated into one string by a sub-select on
/// the `cohosts` primary key ([`parse_cohosts`]), so that a page of events is one statement
/// whatever its co-hosts, then the proposal of a booked coffee (NULL for any other event).
pub(super) const fn event_columns(backend: Backend) -> &'static str {
    macro_rules! columns {
        ($aggregate:literal) => {
            concat!(
                "e.id, e.chapter_id, e.series_id, e.host_id, e.title, e.description, e.kind, \
                 e.venue_name, e.venue_address, e.latitude, e.longitude, e.city, e.start_at, \
                 e.end_at, e.time_zone, e.capacity, e.rsvp_deadline, e.visibility, e.state, \
                 e.approval_required, e.waitlist_mode, e.offer_window_secs, e.confirmed_count, \
                 e.offered_count, e.waitlisted_count, e.check_in_code, e.cancellation_reason, \
                 e.no_show_count, e.version, e.created_at, e.updated_at, (SELECT ",
                $aggregate,
                "(c.member_id || ':' || c.role, ',') FROM cohosts c WHERE c.event_id = e.id), \
                 e.coffee_proposal_id"
            )
        };
    }
    match backend {
        Backend::Sqlite => columns!("group_concat"),
        Backend::Postgres => columns!("string_agg"),
    }
}

/// How many columns [`event_columns`] selects: what a query selects after them starts here.
pub(super) const EVENT_COLUMN_COUNT: usize = 33;

/// What [`Access`] holds of member `$2` for the event `e` of the query, as five columns
/// ([`access_from_row`] reads them back): one fragment for every statement that reads it.
pub(super) const ACCESS_FACTS: &str = "\
     EXISTS (SELECT 1 FROM invitations i WHERE i.event_id = e.id AND i.member_id = $2), \
     EXISTS (SELECT 1 FROM rsvps r WHERE r.event_id = e.id AND r.member_id = $2), \
     EXISTS (SELECT 1 FROM rsvps r WHERE r.event_id = e.id AND r.member_id = $2 \
      AND r.status = 'confirmed'), \
     EXISTS (SELECT 1 FROM chapter_members m WHERE m.chapter_id = e.chapter_id \
      AND m.member_id = $2), \
     EXISTS (SELECT 1 FROM member_blocks b WHERE b.blocked AND \
      ((b.blocker_id = $2 AND b.blocked_id = e.host_id) \
       OR (b.blocker_id = e.host_id AND b.blocked_id = $2)))";

/// The [`Access`] of a row whose [`ACCESS_FACTS`] start at column `at`.
pub(super) fn access_from_row<R>(row: &R, at: usize) -> Result<Access, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    bool: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Access {
        invited: row.try_get(at)?,
        has_rsvp: row.try_get(at + 1)?,
        confirmed: row.try_get(at + 2)?,
        chapter_member: row.try_get(at + 3)?,
        blocks_with_host: row.try_get(at + 4)?,
    })
}

/// The co-hosts of an event from the `member:role,…` string [`event_columns`] aggregates
/// (NULL when it has none), ordered by member id.
pub(super) fn parse_cohosts(
    aggregated: Option<&str>,
) -> Result<Vec<(Uuid, CohostRole)>, sqlx::Error> {
    let Some(aggregated) = aggregated else {
        return Ok(Vec::new());
    };
    let mut cohosts = aggregated
        .split(',')
        .map(|pair| {
            let (member, role) = pair.split_once(':').ok_or_else(|| {
                sqlx::Error::Decode(format!("co-host {pair:?} is not member:role").into())
            })?;
            Ok((stored_uuid(member)?, CohostRole::from_stored(role)))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    cohosts.sort_by_key(|(member, _)| *member);
    Ok(cohosts)
}

/// An [`EventRow`] from a row that starts with [`event_columns`].
macro_rules! event_from_row {
    ($row:expr) => {{
        let r = $row;
        EventRow {
            id: crate::store::stored_uuid(r.try_get(0)?)?,
            chapter_id: crate::store::stored_optional_uuid(r.try_get(1)?)?,
            series_id: crate::store::stored_optional_uuid(r.try_get(2)?)?,
            host_id: crate::store::stored_uuid(r.try_get(3)?)?,
            cohosts: crate::store::parse_cohosts(r.try_get::<Option<&str>, _>(31)?)?,
            title: r.try_get(4)?,
            description: r.try_get(5)?,
            kind: <crate::domain::event::EventKind as crate::store::Stored>::from_stored(
                r.try_get(6)?,
            ),
            venue_name: r.try_get(7)?,
            venue_address: r.try_get(8)?,
            latitude: r.try_get(9)?,
            longitude: r.try_get(10)?,
            city: r.try_get(11)?,
            start_at: r.try_get(12)?,
            end_at: r.try_get(13)?,
            time_zone: r.try_get(14)?,
            capacity: r.try_get(15)?,
            rsvp_deadline: r.try_get(16)?,
            visibility:
                <crate::domain::event::EventVisibility as crate::store::Stored>::from_stored(
                    r.try_get(17)?,
                ),
            state: <crate::domain::event::EventState as crate::store::Stored>::from_stored(
                r.try_get(18)?,
            ),
            approval_required: r.try_get(19)?,
            waitlist: crate::store::waitlist_from_columns(r.try_get(20)?, r.try_get(21)?),
            confirmed_count: r.try_get(22)?,
            offered_count: r.try_get(23)?,
            waitlisted_count: r.try_get(24)?,
            check_in_code: r.try_get(25)?,
            cancellation_reason: r.try_get(26)?,
            no_show_count: r.try_get(27)?,
            version: r.try_get(28)?,
            created_at: r.try_get(29)?,
            updated_at: r.try_get(30)?,
            coffee_proposal_id: crate::store::stored_optional_uuid(r.try_get(32)?)?,
        }
    }};
}

mod attendance;
mod blocks;
mod chapter_health;
mod chapters;
mod coffee;
mod erasure;
mod events;
mod feeds;
mod limits;
mod reminders;
mod rsvp_reads;
mod rsvps;
mod series;
mod want_to_meet;

pub use attendance::{
    CompleteOutcome, CompleteRefusal, InviteOutcome, InviteRefusal, MeetingAttendees,
};
pub use blocks::BlockChange;
pub use chapter_health::{ChapterCounts, QuietChapter};
pub use coffee::{CoffeeRefusal, CoffeeSchedule, ScheduledCoffee};
pub use erasure::{Erased, HOST_ERASED};
pub use events::{ANONYMOUS_VISIBLE, EventFilter, SharedEventFilter};
pub use rsvps::{AdmitRequest, RsvpOutcome, RsvpRefusal, RsvpRow};
pub use series::SeriesRow;
pub use want_to_meet::{Hopes, Marked, Names};

/// Steps shared by the event transactions, for both backends' connections.
pub(super) trait EventOps {
    fn load_event(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<EventRow>, sqlx::Error>> + Send;

    /// Locks the event row until the transaction ends and reads it.
    fn lock_event(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<EventRow>, sqlx::Error>> + Send;

    fn access(
        &mut self,
        event: &EventRow,
        member: Uuid,
    ) -> impl Future<Output = Result<Access, sqlx::Error>> + Send;

    /// Asks the access policy, with what the store knows of `caller`, whether they may do
    /// `action` to the locked `event`.
    fn authorize(
        &mut self,
        event: &EventRow,
        caller: Uuid,
        action: Action,
    ) -> impl Future<Output = Result<(), StoreError<EventRefusal>>> + Send;

    /// Inserts the event `new` in `state`, as an occurrence of `series` if given.
    fn insert_event(
        &mut self,
        new: &NewEvent,
        series: Option<Uuid>,
        state: EventState,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Writes `notice` for `member` to the outbox.
    fn tell(
        &mut self,
        member: Uuid,
        key: String,
        notice: Notice,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Tells the members of the chapter of the just-published `event` (but its host) that
    /// it is open: `CHAPTER_NEW_EVENT`, once per event and member. Invite-only events and
    /// events outside a chapter tell nobody.
    fn tell_chapter_of(
        &mut self,
        event: &EventRow,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Writes `notice` for each member of `members`, keyed by `key(member)`.
    fn tell_each(
        &mut self,
        members: &[Uuid],
        key: &(dyn Fn(Uuid) -> String + Sync),
        notice: Notice,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

macro_rules! impl_event_ops {
    ($conn:ty) => {
        impl EventOps for $conn {
            async fn load_event(&mut self, id: Uuid) -> Result<Option<EventRow>, sqlx::Error> {
                let sql = format!(
                    "SELECT {} FROM events e WHERE e.id = $1",
                    event_columns(<$conn as Locks>::BACKEND)
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.to_string())
                    .fetch_optional(&mut *self)
                    .await?;
                row.map(|row| Ok(event_from_row!(&row))).transpose()
            }

            async fn lock_event(&mut self, id: Uuid) -> Result<Option<EventRow>, sqlx::Error> {
                // The co-hosts' sub-select is not locked; their changes lock the event row.
                let sql = format!(
                    "SELECT {} FROM events e WHERE e.id = $1{}",
                    event_columns(<$conn as Locks>::BACKEND),
                    <$conn as Locks>::BACKEND.for_update()
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.to_string())
                    .fetch_optional(&mut *self)
                    .await?;
                row.map(|row| Ok(event_from_row!(&row))).transpose()
            }

            async fn authorize(
                &mut self,
                event: &EventRow,
                caller: Uuid,
                action: Action,
            ) -> Result<(), StoreError<EventRefusal>> {
                let access = self.access(event, caller).await?;
                authorize(event, Some(caller), access, action).map_err(EventRefusal::from)?;
                Ok(())
            }

            async fn insert_event(
                &mut self,
                new: &NewEvent,
                series: Option<Uuid>,
                state: EventState,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO events (id, chapter_id, series_id, host_id, title, description, kind, \
                     venue_name, venue_address, latitude, longitude, city, city_key, start_at, end_at, \
                     time_zone, capacity, rsvp_deadline, visibility, state, approval_required, \
                     waitlist_mode, offer_window_secs, check_in_code, request_id, created_at, \
                     updated_at, start_set_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                     $18, $19, $20, $21, $22, $23, $24, $25, $26, $26, $26)",
                )
                .bind(new.id.to_string())
                .bind(new.chapter_id.map(|c| c.to_string()))
                .bind(series.map(|s| s.to_string()))
                .bind(new.host_id.to_string())
                .bind(&new.title)
                .bind(&new.description)
                .bind(new.kind.stored())
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
                .bind(new.visibility.stored())
                .bind(state.stored())
                .bind(new.approval_required)
                .bind(waitlist_columns(new.waitlist).0)
                .bind(waitlist_columns(new.waitlist).1)
                .bind(&new.check_in_code)
                .bind(&new.request_id)
                .bind(now)
                .execute(&mut *self)
                .await
                .map(drop)
            }

            async fn tell(
                &mut self,
                member: Uuid,
                key: String,
                notice: Notice,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                let message = crate::notices::message(member, key, notice);
                self.enqueue(&message, now).await.map(drop)
            }

            async fn tell_chapter_of(
                &mut self,
                e: &EventRow,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                let Some(chapter) = e.told_chapter() else {
                    return Ok(());
                };
                let members: Vec<String> = sqlx::query_scalar(
                    "SELECT member_id FROM chapter_members WHERE chapter_id = $1 AND member_id <> $2",
                )
                .bind(chapter.to_string())
                .bind(e.host_id.to_string())
                .fetch_all(&mut *self)
                .await?;
                let members = stored_uuids(&members)?;
                let name: String = sqlx::query_scalar("SELECT name FROM chapters WHERE id = $1")
                    .bind(chapter.to_string())
                    .fetch_one(&mut *self)
                    .await?;
                let notice = crate::notices::chapter_new_event(chapter, &name, e);
                let id = e.id;
                let key = |member: Uuid| format!("chapter-new-event:{id}:{member}");
                self.tell_each(&members, &key, notice.into(), now).await
            }

            async fn tell_each(
                &mut self,
                members: &[Uuid],
                key: &(dyn Fn(Uuid) -> String + Sync),
                notice: Notice,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                // A chunk's messages at a time, so a chapter of thousands never holds all its
                // encoded payloads at once.
                for chunk in members.chunks(ENQUEUE_CHUNK) {
                    let messages: Vec<_> = chunk
                        .iter()
                        .map(|&member| crate::notices::message(member, key(member), notice.clone()))
                        .collect();
                    self.enqueue_all(&messages, now).await?;
                }
                Ok(())
            }

            async fn access(
                &mut self,
                event: &EventRow,
                member: Uuid,
            ) -> Result<Access, sqlx::Error> {
                let sql = format!("SELECT {ACCESS_FACTS} FROM events e WHERE e.id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(event.id.to_string())
                    .bind(member.to_string())
                    .fetch_one(&mut *self)
                    .await?;
                access_from_row(&row, 0)
            }
        }
    };
}

impl_event_ops!(SqliteConnection);
impl_event_ops!(PgConnection);

#[cfg(test)]
mod tests {
    /// Every migration file runs: none is left out of `MIGRATIONS`.
    #[test]
    fn every_migration_file_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        super::MIGRATIONS.check_files(&dir).unwrap();
    }
}
