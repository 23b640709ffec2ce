//! Event storage on SQLite and PostgreSQL, written once for both (see
//! `rendezvous_common::db::with_db!`): events, co-hosts, who may see what, and the single RSVP
//! transitions (cancel, claim, approve, decline, expire) applied under the event row lock like
//! [`Store::admit`].

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::db::{Backend, BeginWrite as _};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::outbox::{OutboxMessage, OutboxWriter as _};
use rendezvous_common::with_db;
use sqlx::{PgConnection, Row as _, SqliteConnection};
use uuid::Uuid;

use crate::domain::rsvp::{self, Decision, RuleError, Status};
use crate::store::{LockedTuple, RsvpOutcome, Store, locked, status_from_name, status_name};

/// What a co-host may do (`full` | `check_in_only` as stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CohostRole {
    Full,
    CheckInOnly,
}

impl CohostRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::CheckInOnly => "check_in_only",
        }
    }

    fn parse_stored(value: &str) -> Self {
        if value == "full" {
            Self::Full
        } else {
            Self::CheckInOnly
        }
    }
}

/// An event as stored, with its co-hosts.
#[derive(Clone, Debug)]
pub struct EventRow {
    pub id: String,
    pub chapter_id: Option<String>,
    pub series_id: Option<String>,
    pub host_id: String,
    pub cohosts: Vec<(String, CohostRole)>,
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
    pub capacity: i64,
    pub rsvp_deadline: Option<DateTime<Utc>>,
    pub visibility: String,
    pub state: String,
    pub approval_required: bool,
    pub waitlist_mode: String,
    pub offer_window_secs: i64,
    pub confirmed_count: i64,
    pub offered_count: i64,
    pub waitlisted_count: i64,
    pub check_in_code: String,
    pub cancellation_reason: String,
    pub no_show_count: i64,
    /// Bumped by every change of the event or its co-hosts; the etag.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EventRow {
    /// The caller's part in the event as host or co-host.
    pub fn role_of(&self, member: &str) -> Option<HostRole> {
        if self.host_id == member {
            return Some(HostRole::Host);
        }
        self.cohosts
            .iter()
            .find(|(id, _)| id == member)
            .map(|(_, role)| match role {
                CohostRole::Full => HostRole::Cohost,
                CohostRole::CheckInOnly => HostRole::CheckInOnly,
            })
    }

    /// Whether `member` manages the event (host or full co-host).
    pub fn is_manager(&self, member: &str) -> bool {
        matches!(
            self.role_of(member),
            Some(HostRole::Host | HostRole::Cohost)
        )
    }
}

/// Someone's part in running an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostRole {
    Host,
    Cohost,
    CheckInOnly,
}

/// What decides whether a member may see an event, besides the event itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub invited: bool,
    pub has_rsvp: bool,
    pub chapter_member: bool,
}

/// Whether `viewer` (`None`: anonymous) may see `event`: hosts always; drafts nobody else;
/// otherwise public events anyone, chapter events the chapter's members, and invitees and
/// members who RSVP'd any event.
pub fn can_see(event: &EventRow, viewer: Option<&str>, access: Access) -> bool {
    if viewer.is_some_and(|v| event.role_of(v).is_some()) {
        return true;
    }
    if event.state == "draft" {
        return false;
    }
    match event.visibility.as_str() {
        "public" => true,
        "chapter" => access.chapter_member || access.invited || access.has_rsvp,
        _ => access.invited || access.has_rsvp,
    }
}

/// The masked fields of an UpdateEvent (each already valid on its own); `None` keeps the
/// stored value.
#[derive(Clone, Debug, Default)]
pub struct EventEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
    /// Name, address, latitude, longitude.
    pub venue: Option<(String, String, Option<f64>, Option<f64>)>,
    pub city: Option<String>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub time_zone: Option<String>,
    pub capacity: Option<u32>,
    pub rsvp_deadline: Option<Option<DateTime<Utc>>>,
    pub visibility: Option<String>,
    pub approval_required: Option<bool>,
    /// `Some(None)`: automatic; `Some(Some(window))`: offers.
    pub offer_window: Option<Option<Duration>>,
    /// The version the caller read; a mismatch refuses the update.
    pub etag: Option<String>,
}

/// Why an event operation was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EventRefusal {
    #[error("no such event")]
    NotFound,
    #[error("only the event's hosts may do this")]
    NotHost,
    #[error("the event changed since it was read")]
    EtagMismatch,
    #[error("{0}")]
    Rule(RuleError),
    #[error("invalid change")]
    Invalid(Vec<FieldViolation>),
    #[error("{0}")]
    State(&'static str),
}

/// The cross-field rules of an event's times: end after start, deadline not after start.
pub fn check_times(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Vec<FieldViolation> {
    let mut v = Vec::new();
    if end <= start {
        v.push(FieldViolation::new(
            "event.end_time",
            "must be after start_time",
        ));
    } else if end - start > Duration::days(7) {
        v.push(FieldViolation::new(
            "event.end_time",
            "must be at most 7 days after start_time",
        ));
    }
    if deadline.is_some_and(|d| d > start) {
        v.push(FieldViolation::new(
            "event.rsvp_deadline",
            "must not be after start_time",
        ));
    }
    v
}

/// Filters of ListEvents (already validated).
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub city_key: Option<String>,
    pub chapter_id: Option<String>,
    pub start_after: DateTime<Utc>,
    pub start_before: Option<DateTime<Utc>>,
    /// Lower-cased words that must each appear in the title or description.
    pub words: Vec<String>,
    /// Bounding box: min lat, max lat, and min/max lon when it does not wrap.
    pub bbox: Option<(f64, f64, Option<(f64, f64)>)>,
    pub host_id: Option<String>,
    pub series_id: Option<String>,
}

/// A single RSVP change applied under the event lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Cancel,
    Claim,
    Approve,
    Decline,
    Expire,
}

/// Why a single RSVP change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionRefusal {
    #[error("no such event")]
    NoEvent,
    #[error("the event is not open")]
    NotOpen,
    #[error("{0}")]
    Rule(RuleError),
}

const EVENT_COLUMNS: &str = "e.id, e.chapter_id, e.series_id, e.host_id, e.title, e.description, \
     e.kind, e.venue_name, e.venue_address, e.latitude, e.longitude, e.city, e.start_at, e.end_at, \
     e.time_zone, e.capacity, e.rsvp_deadline, e.visibility, e.state, e.approval_required, \
     e.waitlist_mode, e.offer_window_secs, e.confirmed_count, e.offered_count, e.waitlisted_count, \
     e.check_in_code, e.cancellation_reason, e.no_show_count, e.version, e.created_at, e.updated_at";

macro_rules! event_from_row {
    ($row:expr) => {{
        let r = $row;
        EventRow {
            id: r.try_get(0)?,
            chapter_id: r.try_get(1)?,
            series_id: r.try_get(2)?,
            host_id: r.try_get(3)?,
            cohosts: Vec::new(),
            title: r.try_get(4)?,
            description: r.try_get(5)?,
            kind: r.try_get(6)?,
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
            visibility: r.try_get(17)?,
            state: r.try_get(18)?,
            approval_required: r.try_get(19)?,
            waitlist_mode: r.try_get(20)?,
            offer_window_secs: r.try_get(21)?,
            confirmed_count: r.try_get(22)?,
            offered_count: r.try_get(23)?,
            waitlisted_count: r.try_get(24)?,
            check_in_code: r.try_get(25)?,
            cancellation_reason: r.try_get(26)?,
            no_show_count: r.try_get(27)?,
            version: r.try_get(28)?,
            created_at: r.try_get(29)?,
            updated_at: r.try_get(30)?,
        }
    }};
}

fn notify(member: &str, kind: &str, key: String, params: &[(&str, String)]) -> OutboxMessage {
    OutboxMessage::notify(
        Uuid::try_parse(member).unwrap_or_default(),
        kind,
        key,
        params,
    )
}

fn event_params(event: &EventRow) -> Vec<(&'static str, String)> {
    vec![
        ("event_id", event.id.clone()),
        ("event_title", event.title.clone()),
        ("start_time", event.start_at.to_rfc3339()),
        ("time_zone", event.time_zone.clone()),
        ("venue_name", event.venue_name.clone()),
    ]
}

/// Steps shared by the event transactions, for both backends' connections.
trait EventOps {
    fn load_event(
        &mut self,
        id: &str,
    ) -> impl Future<Output = Result<Option<EventRow>, sqlx::Error>> + Send;

    fn lock_event(
        &mut self,
        backend: Backend,
        id: &str,
    ) -> impl Future<Output = Result<Option<EventRow>, sqlx::Error>> + Send;

    fn access(
        &mut self,
        event: &EventRow,
        member: &str,
    ) -> impl Future<Output = Result<Access, sqlx::Error>> + Send;

    /// Moves the first `count` wait-listed members up to `to`, telling each.
    fn promote(
        &mut self,
        event: &EventRow,
        count: u32,
        to: Status,
        expires: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u32, sqlx::Error>> + Send;

    fn position(
        &mut self,
        event_id: &str,
        seq: i64,
    ) -> impl Future<Output = Result<u32, sqlx::Error>> + Send;
}

macro_rules! impl_event_ops {
    ($conn:ty) => {
        impl EventOps for $conn {
            async fn load_event(&mut self, id: &str) -> Result<Option<EventRow>, sqlx::Error> {
                let sql = format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let mut event = event_from_row!(&row);
                let cohosts: Vec<(String, String)> = sqlx::query_as(
                    "SELECT member_id, role FROM cohosts WHERE event_id = $1 ORDER BY member_id",
                )
                .bind(id)
                .fetch_all(&mut *self)
                .await?;
                event.cohosts = cohosts
                    .into_iter()
                    .map(|(m, r)| (m, CohostRole::parse_stored(&r)))
                    .collect();
                Ok(Some(event))
            }

            async fn lock_event(
                &mut self,
                backend: Backend,
                id: &str,
            ) -> Result<Option<EventRow>, sqlx::Error> {
                if backend == Backend::Postgres {
                    sqlx::query("SELECT id FROM events WHERE id = $1 FOR UPDATE")
                        .bind(id)
                        .fetch_optional(&mut *self)
                        .await?;
                }
                self.load_event(id).await
            }

            async fn access(
                &mut self,
                event: &EventRow,
                member: &str,
            ) -> Result<Access, sqlx::Error> {
                let (invited, has_rsvp, chapter_member): (i64, i64, i64) = sqlx::query_as(
                    "SELECT \
                     (SELECT COUNT(*) FROM invitations WHERE event_id = $1 AND member_id = $2), \
                     (SELECT COUNT(*) FROM rsvps WHERE event_id = $1 AND member_id = $2), \
                     (SELECT COUNT(*) FROM chapter_members WHERE chapter_id = $3 AND member_id = $2)",
                )
                .bind(&event.id)
                .bind(member)
                .bind(event.chapter_id.as_deref().unwrap_or(""))
                .fetch_one(&mut *self)
                .await?;
                Ok(Access {
                    invited: invited > 0,
                    has_rsvp: has_rsvp > 0,
                    chapter_member: chapter_member > 0,
                })
            }

            async fn promote(
                &mut self,
                event: &EventRow,
                count: u32,
                to: Status,
                expires: Option<DateTime<Utc>>,
                now: DateTime<Utc>,
            ) -> Result<u32, sqlx::Error> {
                if count == 0 {
                    return Ok(0);
                }
                let promoted: Vec<String> = sqlx::query_scalar(
                    "SELECT member_id FROM rsvps WHERE event_id = $1 AND status = 'waitlisted' \
                     ORDER BY seq LIMIT $2",
                )
                .bind(&event.id)
                .bind(i64::from(count))
                .fetch_all(&mut *self)
                .await?;
                for member in &promoted {
                    sqlx::query(
                        "UPDATE rsvps SET status = $3, offer_expires_at = $4, updated_at = $5 \
                         WHERE event_id = $1 AND member_id = $2",
                    )
                    .bind(&event.id)
                    .bind(member)
                    .bind(status_name(to))
                    .bind(if to == Status::Offered { expires } else { None })
                    .bind(now)
                    .execute(&mut *self)
                    .await?;
                    let kind = if to == Status::Offered {
                        "WAITLIST_OFFERED"
                    } else {
                        "WAITLIST_PROMOTED"
                    };
                    let message = notify(
                        member,
                        kind,
                        format!("promoted:{}:{member}:{}", event.id, now.timestamp_micros()),
                        &event_params(event),
                    );
                    self.enqueue(&message, now).await?;
                }
                Ok(u32::try_from(promoted.len()).unwrap_or(0))
            }

            async fn position(&mut self, event_id: &str, seq: i64) -> Result<u32, sqlx::Error> {
                let ahead: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM rsvps WHERE event_id = $1 AND status = 'waitlisted' \
                     AND seq < $2",
                )
                .bind(event_id)
                .bind(seq)
                .fetch_one(&mut *self)
                .await?;
                Ok(u32::try_from(ahead + 1).unwrap_or(0))
            }
        }
    };
}

impl_event_ops!(SqliteConnection);
impl_event_ops!(PgConnection);

/// One RSVP as stored.
#[derive(Clone, Debug)]
pub struct RsvpRow {
    pub event_id: String,
    pub member_id: String,
    pub status: Status,
    pub waitlist_position: Option<u32>,
    pub offer_expires_at: Option<DateTime<Utc>>,
    pub visibility: String,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: i64,
}

type RsvpTuple = (
    String,
    String,
    String,
    i64,
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
);

const RSVP_COLUMNS: &str = "r.event_id, r.member_id, r.status, r.seq, r.visibility, \
     r.offer_expires_at, r.checked_in_at, r.created_at, r.updated_at, \
     (SELECT COUNT(*) FROM rsvps w WHERE w.event_id = r.event_id AND w.status = 'waitlisted' \
      AND w.seq < r.seq)";

fn rsvp_row(t: RsvpTuple) -> RsvpRow {
    let status = status_from_name(&t.2);
    RsvpRow {
        event_id: t.0,
        member_id: t.1,
        status,
        waitlist_position: (status == Status::Waitlisted)
            .then(|| u32::try_from(t.9 + 1).unwrap_or(0)),
        offer_expires_at: t.5,
        visibility: t.4,
        checked_in_at: t.6,
        created_at: t.7,
        updated_at: t.8,
        seq: t.3,
    }
}

impl Store {
    pub async fn event(&self, id: &str) -> Result<Option<EventRow>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            let mut conn = pool.acquire().await?;
            conn.load_event(id).await
        })
    }

    /// The event and what decides whether `member` may see it.
    pub async fn event_with_access(
        &self,
        id: &str,
        member: Option<&str>,
    ) -> Result<Option<(EventRow, Access)>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            let mut conn = pool.acquire().await?;
            let Some(event) = conn.load_event(id).await? else {
                return Ok(None);
            };
            let access = match member {
                Some(member) => conn.access(&event, member).await?,
                None => Access::default(),
            };
            Ok(Some((event, access)))
        })
    }

    /// The event a host created with `request_id`, if any.
    pub async fn event_by_request(
        &self,
        host_id: &str,
        request_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query_scalar("SELECT id FROM events WHERE host_id = $1 AND request_id = $2")
                .bind(host_id)
                .bind(request_id)
                .fetch_optional(pool)
                .await
        })
    }

    /// Applies an edit as a host: etag, capacity and time rules checked under the row lock; a
    /// change of time or place tells every confirmed, wait-listed and offered member.
    pub async fn update_event(
        &self,
        id: &str,
        caller: &str,
        edit: &EventEdit,
        now: DateTime<Utc>,
    ) -> Result<Result<EventRow, EventRefusal>, sqlx::Error> {
        let backend = self.db().backend();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(mut e) = tx.lock_event(backend, id).await? else {
                return Ok(Err(EventRefusal::NotFound));
            };
            if !e.is_manager(caller) {
                let access = tx.access(&e, caller).await?;
                return Ok(Err(if can_see(&e, Some(caller), access) {
                    EventRefusal::NotHost
                } else {
                    EventRefusal::NotFound
                }));
            }
            if edit
                .etag
                .as_ref()
                .is_some_and(|etag| *etag != e.version.to_string())
            {
                return Ok(Err(EventRefusal::EtagMismatch));
            }
            if e.state == "cancelled" || e.state == "completed" {
                return Ok(Err(EventRefusal::State(
                    "a cancelled or completed event cannot change",
                )));
            }
            let before = (
                e.start_at,
                e.end_at,
                e.venue_name.clone(),
                e.venue_address.clone(),
                e.latitude,
                e.longitude,
            );
            if let Some(v) = &edit.title {
                e.title.clone_from(v);
            }
            if let Some(v) = &edit.description {
                e.description.clone_from(v);
            }
            if let Some(v) = &edit.kind {
                e.kind.clone_from(v);
            }
            if let Some((name, address, lat, lon)) = &edit.venue {
                e.venue_name.clone_from(name);
                e.venue_address.clone_from(address);
                e.latitude = *lat;
                e.longitude = *lon;
            }
            if let Some(v) = &edit.city {
                e.city.clone_from(v);
            }
            if let Some(v) = edit.start_at {
                e.start_at = v;
            }
            if let Some(v) = edit.end_at {
                e.end_at = v;
            }
            if let Some(v) = &edit.time_zone {
                e.time_zone.clone_from(v);
            }
            if let Some(v) = edit.rsvp_deadline {
                e.rsvp_deadline = v;
            }
            if let Some(v) = &edit.visibility {
                e.visibility.clone_from(v);
            }
            if let Some(v) = edit.approval_required {
                e.approval_required = v;
            }
            if let Some(v) = edit.offer_window {
                e.waitlist_mode = if v.is_some() { "offer" } else { "automatic" }.to_owned();
                e.offer_window_secs = v.map_or(0, |w| w.num_seconds());
            }
            let mut violations = check_times(e.start_at, e.end_at, e.rsvp_deadline);
            if edit.start_at.is_some() && e.start_at <= now {
                violations.push(FieldViolation::new(
                    "event.start_time",
                    "must be in the future",
                ));
            }
            if e.visibility == "chapter" && e.chapter_id.is_none() {
                violations.push(FieldViolation::new(
                    "event.visibility",
                    "chapter visibility needs a chapter",
                ));
            }
            if !violations.is_empty() {
                return Ok(Err(EventRefusal::Invalid(violations)));
            }
            let locked_row: LockedTuple = sqlx::query_as(
                "SELECT state, capacity, approval_required, waitlist_mode, offer_window_secs, \
                 confirmed_count, offered_count, waitlisted_count, next_seq, rsvp_deadline, start_at, title \
                 FROM events WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let mut lock = locked(locked_row);
            let mut promote = 0;
            if let Some(capacity) = edit.capacity {
                promote = match rsvp::change_capacity(&lock.rules, &lock.seats, capacity) {
                    Ok(n) => n,
                    Err(rule) => return Ok(Err(EventRefusal::Rule(rule))),
                };
                e.capacity = i64::from(capacity);
                lock.rules.capacity = capacity;
            }
            sqlx::query(
                "UPDATE events SET title = $2, description = $3, kind = $4, venue_name = $5, \
                 venue_address = $6, latitude = $7, longitude = $8, city = $9, city_key = $10, \
                 start_at = $11, end_at = $12, time_zone = $13, capacity = $14, rsvp_deadline = $15, \
                 visibility = $16, approval_required = $17, waitlist_mode = $18, offer_window_secs = $19, \
                 version = version + 1, updated_at = $20 WHERE id = $1",
            )
            .bind(id)
            .bind(&e.title)
            .bind(&e.description)
            .bind(&e.kind)
            .bind(&e.venue_name)
            .bind(&e.venue_address)
            .bind(e.latitude)
            .bind(e.longitude)
            .bind(&e.city)
            .bind(e.city.to_lowercase())
            .bind(e.start_at)
            .bind(e.end_at)
            .bind(&e.time_zone)
            .bind(e.capacity)
            .bind(e.rsvp_deadline)
            .bind(&e.visibility)
            .bind(e.approval_required)
            .bind(&e.waitlist_mode)
            .bind(e.offer_window_secs)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if promote > 0 {
                let to = lock.rules.mode.promote_to();
                let moved = tx
                    .promote(&e, promote, to, lock.rules.offer_expires_at(now), now)
                    .await?;
                for _ in 0..moved {
                    lock.seats = lock.seats.moved(Some(Status::Waitlisted), to);
                }
                sqlx::query(
                    "UPDATE events SET confirmed_count = $2, offered_count = $3, waitlisted_count = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(i64::from(lock.seats.confirmed))
                .bind(i64::from(lock.seats.offered))
                .bind(i64::from(lock.seats.waitlisted))
                .execute(&mut *tx)
                .await?;
            }
            let after = (
                e.start_at,
                e.end_at,
                e.venue_name.clone(),
                e.venue_address.clone(),
                e.latitude,
                e.longitude,
            );
            if before != after && e.state == "published" {
                let version = e.version + 1;
                let members: Vec<String> = sqlx::query_scalar(
                    "SELECT member_id FROM rsvps WHERE event_id = $1 \
                     AND status IN ('confirmed', 'waitlisted', 'offered') ORDER BY seq",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                for member in &members {
                    let message = notify(
                        member,
                        "EVENT_UPDATED",
                        format!("event-updated:{id}:{version}:{member}"),
                        &event_params(&e),
                    );
                    tx.enqueue(&message, now).await?;
                }
            }
            let e = tx.load_event(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(Ok(e))
        })
    }

    /// Publishes a draft (hosts only); chapter members hear of it unless it is invite-only.
    pub async fn publish(
        &self,
        id: &str,
        caller: &str,
        etag: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Result<EventRow, EventRefusal>, sqlx::Error> {
        let backend = self.db().backend();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(e) = tx.lock_event(backend, id).await? else {
                return Ok(Err(EventRefusal::NotFound));
            };
            if !e.is_manager(caller) {
                let access = tx.access(&e, caller).await?;
                return Ok(Err(if can_see(&e, Some(caller), access) {
                    EventRefusal::NotHost
                } else {
                    EventRefusal::NotFound
                }));
            }
            if etag.is_some_and(|etag| etag != e.version.to_string()) {
                return Ok(Err(EventRefusal::EtagMismatch));
            }
            if e.state == "published" {
                tx.commit().await?;
                return Ok(Ok(e));
            }
            if e.state != "draft" {
                return Ok(Err(EventRefusal::State("only a draft can be published")));
            }
            if e.start_at <= now {
                return Ok(Err(EventRefusal::State("the event has already started")));
            }
            sqlx::query("UPDATE events SET state = 'published', version = version + 1, updated_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if let Some(chapter) = &e.chapter_id
                && e.visibility != "invite_only"
            {
                let members: Vec<String> = sqlx::query_scalar(
                    "SELECT member_id FROM chapter_members WHERE chapter_id = $1 AND member_id <> $2",
                )
                .bind(chapter)
                .bind(&e.host_id)
                .fetch_all(&mut *tx)
                .await?;
                let mut params = event_params(&e);
                params.push(("chapter_id", chapter.clone()));
                for member in &members {
                    let message = notify(
                        member,
                        "CHAPTER_NEW_EVENT",
                        format!("chapter-new-event:{id}:{member}"),
                        &params,
                    );
                    tx.enqueue(&message, now).await?;
                }
            }
            let e = tx.load_event(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(Ok(e))
        })
    }

    /// Cancels an event (hosts only) and tells everyone who RSVP'd or was invited.
    pub async fn cancel_event(
        &self,
        id: &str,
        caller: Option<&str>,
        reason: &str,
        etag: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Result<EventRow, EventRefusal>, sqlx::Error> {
        let backend = self.db().backend();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(e) = tx.lock_event(backend, id).await? else {
                return Ok(Err(EventRefusal::NotFound));
            };
            if let Some(caller) = caller
                && !e.is_manager(caller)
            {
                let access = tx.access(&e, caller).await?;
                return Ok(Err(if can_see(&e, Some(caller), access) {
                    EventRefusal::NotHost
                } else {
                    EventRefusal::NotFound
                }));
            }
            if etag.is_some_and(|etag| etag != e.version.to_string()) {
                return Ok(Err(EventRefusal::EtagMismatch));
            }
            if e.state == "cancelled" {
                tx.commit().await?;
                return Ok(Ok(e));
            }
            if e.state == "completed" {
                return Ok(Err(EventRefusal::State(
                    "a completed event cannot be cancelled",
                )));
            }
            sqlx::query(
                "UPDATE events SET state = 'cancelled', cancellation_reason = $2, version = version + 1, \
                 updated_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let members: Vec<String> = sqlx::query_scalar(
                "SELECT member_id FROM rsvps WHERE event_id = $1 AND status <> 'not_going' \
                 UNION SELECT member_id FROM invitations WHERE event_id = $1",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            let mut params = event_params(&e);
            params.push(("reason", reason.to_owned()));
            for member in members.iter().filter(|m| **m != e.host_id) {
                let message = notify(
                    member,
                    "EVENT_CANCELLED",
                    format!("event-cancelled:{id}:{member}"),
                    &params,
                );
                tx.enqueue(&message, now).await?;
            }
            let e = tx.load_event(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(Ok(e))
        })
    }

    /// Events `viewer` may see matching `filter`, ordered by (start, id) after `after`.
    pub async fn list_events(
        &self,
        viewer: &str,
        filter: &EventFilter,
        after: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<EventRow>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            let mut q = {
                let mut b = sqlx::QueryBuilder::new(format!(
                    "SELECT {EVENT_COLUMNS} FROM events e WHERE (e.host_id = "
                ));
                b.push_bind(viewer.to_owned());
                b.push(" OR EXISTS (SELECT 1 FROM cohosts c WHERE c.event_id = e.id AND c.member_id = ");
                b.push_bind(viewer.to_owned());
                b.push(") OR (e.state <> 'draft' AND (e.visibility = 'public' OR EXISTS (SELECT 1 FROM invitations i WHERE i.event_id = e.id AND i.member_id = ");
                b.push_bind(viewer.to_owned());
                b.push(
                    ") OR EXISTS (SELECT 1 FROM rsvps r WHERE r.event_id = e.id AND r.member_id = ",
                );
                b.push_bind(viewer.to_owned());
                b.push(") OR (e.visibility = 'chapter' AND EXISTS (SELECT 1 FROM chapter_members m WHERE m.chapter_id = e.chapter_id AND m.member_id = ");
                b.push_bind(viewer.to_owned());
                b.push("))))) AND e.start_at >= ");
                b.push_bind(filter.start_after);
                b
            };
            if let Some(before) = filter.start_before {
                q.push(" AND e.start_at < ").push_bind(before);
            }
            if let Some(city) = &filter.city_key {
                q.push(" AND e.city_key = ").push_bind(city.clone());
            }
            if let Some(chapter) = &filter.chapter_id {
                q.push(" AND e.chapter_id = ").push_bind(chapter.clone());
            }
            if let Some(host) = &filter.host_id {
                q.push(" AND e.host_id = ").push_bind(host.clone());
            }
            if let Some(series) = &filter.series_id {
                q.push(" AND e.series_id = ").push_bind(series.clone());
            }
            for word in &filter.words {
                let pattern = format!("%{}%", escape_like(word));
                q.push(" AND (LOWER(e.title) LIKE ")
                    .push_bind(pattern.clone());
                q.push(" ESCAPE '\\' OR LOWER(e.description) LIKE ")
                    .push_bind(pattern);
                q.push(" ESCAPE '\\')");
            }
            if let Some((min_lat, max_lat, lon)) = filter.bbox {
                q.push(" AND e.latitude BETWEEN ")
                    .push_bind(min_lat)
                    .push(" AND ")
                    .push_bind(max_lat);
                if let Some((min_lon, max_lon)) = lon {
                    q.push(" AND e.longitude BETWEEN ")
                        .push_bind(min_lon)
                        .push(" AND ")
                        .push_bind(max_lon);
                }
            }
            if let Some((start, id)) = after {
                q.push(" AND (e.start_at > ").push_bind(start);
                q.push(" OR (e.start_at = ").push_bind(start);
                q.push(" AND e.id > ").push_bind(id).push("))");
            }
            q.push(" ORDER BY e.start_at, e.id LIMIT ")
                .push_bind(i64::from(limit));
            let rows = q.build().fetch_all(pool).await?;
            let mut events = Vec::with_capacity(rows.len());
            for row in &rows {
                events.push(event_from_row!(row));
            }
            let mut conn = pool.acquire().await?;
            for event in &mut events {
                let cohosts: Vec<(String, String)> = sqlx::query_as(
                    "SELECT member_id, role FROM cohosts WHERE event_id = $1 ORDER BY member_id",
                )
                .bind(&event.id)
                .fetch_all(&mut *conn)
                .await?;
                event.cohosts = cohosts
                    .into_iter()
                    .map(|(m, r)| (m, CohostRole::parse_stored(&r)))
                    .collect();
            }
            Ok(events)
        })
    }

    /// Upcoming (not yet ended) events `member` hosts, co-hosts or has an active RSVP to.
    pub async fn list_my_events(
        &self,
        member: &str,
        now: DateTime<Utc>,
        after: Option<(DateTime<Utc>, String)>,
        limit: u32,
        confirmed_only: bool,
    ) -> Result<Vec<EventRow>, sqlx::Error> {
        let (after_start, after_id) = after.unwrap_or((DateTime::<Utc>::UNIX_EPOCH, String::new()));
        let mine = if confirmed_only {
            "EXISTS (SELECT 1 FROM rsvps r WHERE r.event_id = e.id AND r.member_id = $1 AND r.status = 'confirmed') \
             OR e.host_id = $1 OR EXISTS (SELECT 1 FROM cohosts c WHERE c.event_id = e.id AND c.member_id = $1)"
        } else {
            "e.host_id = $1 OR EXISTS (SELECT 1 FROM cohosts c WHERE c.event_id = e.id AND c.member_id = $1) \
             OR EXISTS (SELECT 1 FROM rsvps r WHERE r.event_id = e.id AND r.member_id = $1 \
             AND r.status IN ('confirmed', 'waitlisted', 'offered', 'pending_approval'))"
        };
        let states = if confirmed_only {
            "('published')"
        } else {
            "('draft', 'published')"
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e WHERE ({mine}) AND e.state IN {states} AND e.end_at > $2 \
             AND (e.start_at > $3 OR (e.start_at = $3 AND e.id > $4)) ORDER BY e.start_at, e.id LIMIT $5"
        );
        with_db!(self.db(), |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(member)
                .bind(now)
                .bind(after_start)
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            let mut events = Vec::with_capacity(rows.len());
            for row in &rows {
                events.push(event_from_row!(row));
            }
            let mut conn = pool.acquire().await?;
            for event in &mut events {
                let cohosts: Vec<(String, String)> = sqlx::query_as(
                    "SELECT member_id, role FROM cohosts WHERE event_id = $1 ORDER BY member_id",
                )
                .bind(&event.id)
                .fetch_all(&mut *conn)
                .await?;
                event.cohosts = cohosts
                    .into_iter()
                    .map(|(m, r)| (m, CohostRole::parse_stored(&r)))
                    .collect();
            }
            Ok(events)
        })
    }

    /// Adds or changes (`Some(role)`) or removes (`None`) a co-host, as the event's host.
    pub async fn set_cohost(
        &self,
        id: &str,
        caller: &str,
        member: &str,
        role: Option<CohostRole>,
        now: DateTime<Utc>,
    ) -> Result<Result<EventRow, EventRefusal>, sqlx::Error> {
        let backend = self.db().backend();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(e) = tx.lock_event(backend, id).await? else {
                return Ok(Err(EventRefusal::NotFound));
            };
            if e.host_id != caller {
                let access = tx.access(&e, caller).await?;
                return Ok(Err(if can_see(&e, Some(caller), access) {
                    EventRefusal::NotHost
                } else {
                    EventRefusal::NotFound
                }));
            }
            if member == e.host_id {
                return Ok(Err(EventRefusal::Invalid(vec![FieldViolation::new(
                    "member_id",
                    "the host cannot be a co-host",
                )])));
            }
            match role {
                Some(role) => {
                    sqlx::query(
                        "INSERT INTO cohosts (event_id, member_id, role) VALUES ($1, $2, $3) \
                         ON CONFLICT (event_id, member_id) DO UPDATE SET role = excluded.role",
                    )
                    .bind(id)
                    .bind(member)
                    .bind(role.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM cohosts WHERE event_id = $1 AND member_id = $2")
                        .bind(id)
                        .bind(member)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            sqlx::query("UPDATE events SET version = version + 1, updated_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let e = tx.load_event(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(Ok(e))
        })
    }

    pub async fn rsvp_of(
        &self,
        event_id: &str,
        member: &str,
    ) -> Result<Option<RsvpRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {RSVP_COLUMNS} FROM rsvps r WHERE r.event_id = $1 AND r.member_id = $2"
        );
        with_db!(self.db(), |pool| {
            let row: Option<RsvpTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(event_id)
                .bind(member)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(rsvp_row))
        })
    }

    /// An event's RSVPs with the given statuses, in RSVP order (first answer, then member id)
    /// after `after`.
    pub async fn rsvps(
        &self,
        event_id: &str,
        statuses: &[&str],
        checked_in_only: bool,
        after: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<RsvpRow>, sqlx::Error> {
        let (after_at, after_id) = after.unwrap_or((DateTime::<Utc>::UNIX_EPOCH, String::new()));
        let list = statuses
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let checked = if checked_in_only {
            " AND r.checked_in_at IS NOT NULL"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {RSVP_COLUMNS} FROM rsvps r WHERE r.event_id = $1 AND r.status IN ({list}){checked} \
             AND (r.created_at > $2 OR (r.created_at = $2 AND r.member_id > $3)) \
             ORDER BY r.created_at, r.member_id LIMIT $4"
        );
        with_db!(self.db(), |pool| {
            let rows: Vec<RsvpTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(event_id)
                .bind(after_at)
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            Ok(rows.into_iter().map(rsvp_row).collect())
        })
    }

    /// Applies one RSVP change to `member`'s RSVP under the event lock, passing any freed seat
    /// on to the wait-list, and tells whoever it concerns.
    pub async fn transition(
        &self,
        event_id: &str,
        member: &str,
        op: Transition,
        now: DateTime<Utc>,
    ) -> Result<Result<RsvpOutcome, TransitionRefusal>, sqlx::Error> {
        let lock = match self.db().backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let select = format!(
            "SELECT state, capacity, approval_required, waitlist_mode, offer_window_secs, \
             confirmed_count, offered_count, waitlisted_count, next_seq, rsvp_deadline, start_at, title \
             FROM events WHERE id = $1{lock}"
        );
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let row: Option<LockedTuple> = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Ok(Err(TransitionRefusal::NoEvent));
            };
            let mut ev = locked(row);
            if ev.state != "published" {
                return Ok(Err(TransitionRefusal::NotOpen));
            }
            let event = tx
                .load_event(event_id)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            let current: Option<(String, i64, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT status, seq, offer_expires_at FROM rsvps WHERE event_id = $1 AND member_id = $2",
            )
            .bind(event_id)
            .bind(member)
            .fetch_optional(&mut *tx)
            .await?;
            let from = current.as_ref().map(|(s, _, _)| status_from_name(s));
            let expires = current
                .as_ref()
                .and_then(|(_, _, at)| *at)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            let mut expired = false;
            let decision: Result<Decision, RuleError> = match op {
                Transition::Cancel => rsvp::cancel(&ev.rules, &ev.seats, from),
                Transition::Approve => rsvp::approve(&ev.rules, &ev.seats, from),
                Transition::Decline => rsvp::decline(&ev.rules, &ev.seats, from),
                Transition::Expire => rsvp::expire_offer(&ev.rules, &ev.seats, from, expires, now),
                Transition::Claim => {
                    match rsvp::claim_offer(&ev.rules, &ev.seats, from, expires, now) {
                        Err(RuleError::OfferExpired) => {
                            expired = true;
                            rsvp::expire_offer(&ev.rules, &ev.seats, from, expires, now)
                        }
                        other => other,
                    }
                }
            };
            let decision = match decision {
                Ok(d) => d,
                Err(rule) => return Ok(Err(TransitionRefusal::Rule(rule))),
            };
            let mut seq = current.as_ref().map_or(0, |(_, s, _)| *s);
            if decision.changed {
                if decision.status == Status::Waitlisted {
                    seq = ev.next_seq;
                    ev.next_seq += 1;
                }
                sqlx::query(
                    "UPDATE rsvps SET status = $3, seq = $4, offer_expires_at = NULL, updated_at = $5 \
                     WHERE event_id = $1 AND member_id = $2",
                )
                .bind(event_id)
                .bind(member)
                .bind(status_name(decision.status))
                .bind(seq)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                ev.seats = ev.seats.moved(from, decision.status);
                let kind = match (op, decision.status) {
                    (Transition::Expire, _) => Some("WAITLIST_OFFER_EXPIRED"),
                    (Transition::Claim, Status::Cancelled) => Some("WAITLIST_OFFER_EXPIRED"),
                    (Transition::Approve, Status::Confirmed) => Some("RSVP_APPROVED"),
                    (Transition::Approve, Status::Waitlisted) => Some("RSVP_WAITLISTED"),
                    (Transition::Decline, _) => Some("RSVP_DECLINED"),
                    (Transition::Claim, Status::Confirmed) => Some("RSVP_CONFIRMED"),
                    _ => None,
                };
                if let Some(kind) = kind {
                    let message = notify(
                        member,
                        kind,
                        format!(
                            "rsvp:{event_id}:{member}:{}:{}",
                            status_name(decision.status),
                            now.timestamp_micros()
                        ),
                        &event_params(&event),
                    );
                    tx.enqueue(&message, now).await?;
                }
            }
            if decision.promote > 0 {
                let moved = tx
                    .promote(
                        &event,
                        decision.promote,
                        decision.promote_to,
                        ev.rules.offer_expires_at(now),
                        now,
                    )
                    .await?;
                for _ in 0..moved {
                    ev.seats = ev
                        .seats
                        .moved(Some(Status::Waitlisted), decision.promote_to);
                }
            }
            sqlx::query(
                "UPDATE events SET confirmed_count = $2, offered_count = $3, waitlisted_count = $4, \
                 next_seq = $5, updated_at = $6 WHERE id = $1",
            )
            .bind(event_id)
            .bind(i64::from(ev.seats.confirmed))
            .bind(i64::from(ev.seats.offered))
            .bind(i64::from(ev.seats.waitlisted))
            .bind(ev.next_seq)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let position = if decision.status == Status::Waitlisted {
                Some(tx.position(event_id, seq).await?)
            } else {
                None
            };
            tx.commit().await?;
            if expired {
                return Ok(Err(TransitionRefusal::Rule(RuleError::OfferExpired)));
            }
            Ok(Ok(RsvpOutcome {
                member_id: member.to_owned(),
                status: decision.status,
                waitlist_position: position,
                offer_expires_at: None,
            }))
        })
    }

    /// Offers whose expiry has passed at `now`: (event id, member id).
    pub async fn expired_offers(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT event_id, member_id FROM rsvps WHERE status = 'offered' \
                 AND offer_expires_at <= $1 ORDER BY offer_expires_at LIMIT 500",
            )
            .bind(now)
            .fetch_all(pool)
            .await
        })
    }
}

fn escape_like(word: &str) -> String {
    word.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Great-circle distance in kilometres.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0088;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// The latitude/longitude box around a point that contains every point within `radius_km`;
/// the longitude range is `None` when the box would wrap or reach a pole.
pub fn bounding_box(lat: f64, lon: f64, radius_km: f64) -> (f64, f64, Option<(f64, f64)>) {
    const KM_PER_DEGREE: f64 = 111.195;
    let dlat = radius_km / KM_PER_DEGREE;
    let min_lat = (lat - dlat).max(-90.0);
    let max_lat = (lat + dlat).min(90.0);
    let cos = lat.to_radians().cos();
    if max_lat >= 90.0 || min_lat <= -90.0 || cos <= 1e-6 {
        return (min_lat, max_lat, None);
    }
    let dlon = (radius_km / (KM_PER_DEGREE * cos)).min(360.0);
    let (min_lon, max_lon) = (lon - dlon, lon + dlon);
    if min_lon < -180.0 || max_lon > 180.0 {
        return (min_lat, max_lat, None);
    }
    (min_lat, max_lat, Some((min_lon, max_lon)))
}
