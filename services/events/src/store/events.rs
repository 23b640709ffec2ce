//! Event storage: create, edit, publish, cancel, list, co-hosts, and the event two members
//! may both attend.

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::with_db;
use sqlx::Row as _;
use uuid::Uuid;

use super::limits::LimitOps as _;
use super::rsvps::RsvpOps as _;
use super::{
    ACCESS_FACTS, EVENT_COLUMN_COUNT, EventOps as _, Store, StoreError, Stored as _,
    access_from_row, event_columns, stored_uuid, stored_uuids, waitlist_columns,
};
use crate::domain::access::{Access, Action};
use crate::domain::event::{
    CohostRole, EventEdit, EventRefusal, EventRow, EventState, EventVisibility, NewEvent,
    check_times,
};
use crate::domain::rsvp;
use crate::notices;

/// Which events (`e`) a caller with no part in them sees: what `access::sees` says of an
/// anonymous caller, spelled as the partial indexes `events_public_start` and
/// `events_public_city_start` are defined, so that both databases use them for it.
pub const ANONYMOUS_VISIBLE: &str = "e.visibility = 'public' AND e.state <> 'draft'";

/// Filters of ListEvents (already validated).
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub city_key: Option<String>,
    pub chapter_id: Option<Uuid>,
    pub start_after: DateTime<Utc>,
    pub start_before: Option<DateTime<Utc>>,
    /// Lower-cased words that must each appear in the title or description.
    pub words: Vec<String>,
    /// Bounding box: min lat, max lat, and min/max lon when it does not wrap.
    pub bbox: Option<(f64, f64, Option<(f64, f64)>)>,
    pub host_id: Option<Uuid>,
    pub series_id: Option<Uuid>,
}

/// What FindSharedEvent asks (already validated): an event two members may both attend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedEventFilter {
    /// Two distinct members.
    pub members: (Uuid, Uuid),
    /// The city as [`city_key`](crate::domain::chapter::city_key) folds it.
    pub city_key: String,
    /// The window of starts: from `start_after` (included) to `start_before` (excluded).
    pub start_after: DateTime<Utc>,
    pub start_before: DateTime<Utc>,
}

/// The events (`e`) both members `$1` and `$2` may go to: published, public or of a chapter
/// both belong to (so never invite-only), not a booked coffee, with a seat neither held nor
/// offered, hosted and co-hosted by neither, its host in a block with neither (either way),
/// and no RSVP of either in any state.
const OPEN_TO_BOTH: &str = "\
     e.state = 'published' AND e.coffee_proposal_id IS NULL \
     AND e.confirmed_count + e.offered_count < e.capacity \
     AND (e.visibility = 'public' OR (e.visibility = 'chapter' \
      AND EXISTS (SELECT 1 FROM chapter_members m \
       WHERE m.chapter_id = e.chapter_id AND m.member_id = $1) \
      AND EXISTS (SELECT 1 FROM chapter_members m \
       WHERE m.chapter_id = e.chapter_id AND m.member_id = $2))) \
     AND e.host_id NOT IN ($1, $2) \
     AND NOT EXISTS (SELECT 1 FROM cohosts c \
      WHERE c.event_id = e.id AND c.member_id IN ($1, $2)) \
     AND NOT EXISTS (SELECT 1 FROM member_blocks b WHERE b.blocked \
      AND ((b.blocker_id = e.host_id AND b.blocked_id IN ($1, $2)) \
       OR (b.blocked_id = e.host_id AND b.blocker_id IN ($1, $2)))) \
     AND NOT EXISTS (SELECT 1 FROM rsvps r \
      WHERE r.event_id = e.id AND r.member_id IN ($1, $2))";

impl Store {
    /// Stores a draft event; a repeated `request_id` of the same host returns the first one.
    pub async fn create_event(
        &self,
        new: &NewEvent,
        now: DateTime<Utc>,
    ) -> Result<Uuid, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(request_id) = &new.request_id {
                let existing: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM events WHERE host_id = $1 AND request_id = $2",
                )
                .bind(new.host_id.to_string())
                .bind(request_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = existing {
                    return stored_uuid(&id);
                }
            }
            tx.insert_event(new, None, EventState::Draft, now).await?;
            tx.commit().await?;
            Ok(new.id)
        })
    }

    /// Opens a draft for RSVPs; false when it is not a draft.
    pub async fn publish_event(
        &self,
        event_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE events SET state = 'published', version = version + 1, updated_at = $2 \
                 WHERE id = $1 AND state = 'draft'",
            )
            .bind(event_id.to_string())
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1)
        })
    }

    /// The event, with its co-hosts.
    pub async fn event(&self, id: Uuid) -> Result<Option<EventRow>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            let mut conn = pool.acquire().await?;
            conn.load_event(id).await
        })
    }

    /// The event and what decides whether `member` may see it, in one statement.
    pub async fn event_with_access(
        &self,
        id: Uuid,
        member: Option<Uuid>,
    ) -> Result<Option<(EventRow, Access)>, sqlx::Error> {
        let Some(member) = member else {
            return Ok(self
                .event(id)
                .await?
                .map(|event| (event, Access::default())));
        };
        let columns = event_columns(self.db().backend());
        // The facts `Access` holds, after the event's own columns (EVENT_COLUMN_COUNT).
        let sql = format!("SELECT {columns}, {ACCESS_FACTS} FROM events e WHERE e.id = $1");
        with_db!(self.db(), |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .bind(member.to_string())
                .fetch_optional(pool)
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let event = event_from_row!(&row);
            let access = access_from_row(&row, EVENT_COLUMN_COUNT)?;
            Ok(Some((event, access)))
        })
    }

    /// The event a host created with `request_id`, if any.
    pub async fn event_by_request(
        &self,
        host_id: Uuid,
        request_id: &str,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query_scalar("SELECT id FROM events WHERE host_id = $1 AND request_id = $2")
                .bind(host_id.to_string())
                .bind(request_id)
                .fetch_optional(pool)
                .await?
                .map(|id: String| stored_uuid(&id))
                .transpose()
        })
    }

    /// Applies an edit as a host: etag, capacity and time rules checked under the row lock; a
    /// change of time or place tells every confirmed, wait-listed and offered member.
    pub async fn update_event(
        &self,
        id: Uuid,
        caller: Uuid,
        edit: &EventEdit,
        now: DateTime<Utc>,
    ) -> Result<EventRow, StoreError<EventRefusal>> {
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(mut ledger) = tx.lock_ledger(id).await? else {
                return Err(EventRefusal::NotFound.into());
            };
            let previous = ledger.event.clone();
            let mut e = previous.clone();
            tx.authorize(&e, caller, Action::Manage).await?;
            e.check_reshapable()?;
            if edit
                .etag
                .as_ref()
                .is_some_and(|etag| *etag != e.version.to_string())
            {
                return Err(EventRefusal::EtagMismatch.into());
            }
            if e.state.is_over() {
                return Err(
                    EventRefusal::State("a cancelled or completed event cannot change").into(),
                );
            }
            if let Some(v) = &edit.title {
                e.title.clone_from(v);
            }
            if let Some(v) = &edit.description {
                e.description.clone_from(v);
            }
            if let Some(v) = edit.kind {
                e.kind = v;
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
            if let Some(v) = edit.visibility {
                e.visibility = v;
            }
            if let Some(v) = edit.approval_required {
                e.approval_required = v;
            }
            if let Some(v) = edit.waitlist {
                e.waitlist = v;
            }
            let mut violations = check_times(e.start_at, e.end_at, e.rsvp_deadline);
            if edit.start_at.is_some() && e.start_at <= now {
                violations.push(FieldViolation::new(
                    "event.start_time",
                    "must be in the future",
                ));
            }
            if e.visibility == EventVisibility::Chapter && e.chapter_id.is_none() {
                violations.push(FieldViolation::new(
                    "event.visibility",
                    "chapter visibility needs a chapter",
                ));
            }
            if !violations.is_empty() {
                return Err(EventRefusal::Invalid(violations).into());
            }
            let mut promote = 0;
            if let Some(capacity) = edit.capacity {
                promote = match rsvp::change_capacity(&ledger.rules, &ledger.seats, capacity) {
                    Ok(n) => n,
                    Err(rule) => return Err(EventRefusal::Rule(rule).into()),
                };
                e.capacity = i64::from(capacity);
                ledger.rules.capacity = capacity;
            }
            sqlx::query(
                "UPDATE events SET title = $2, description = $3, kind = $4, venue_name = $5, \
                 venue_address = $6, latitude = $7, longitude = $8, city = $9, city_key = $10, \
                 start_at = $11, end_at = $12, time_zone = $13, capacity = $14, rsvp_deadline = $15, \
                 visibility = $16, approval_required = $17, waitlist_mode = $18, offer_window_secs = $19, \
                 version = version + 1, updated_at = $20, \
                 start_set_at = CASE WHEN $21 THEN $20 ELSE start_set_at END WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(&e.title)
            .bind(&e.description)
            .bind(e.kind.stored())
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
            .bind(e.visibility.stored())
            .bind(e.approval_required)
            .bind(waitlist_columns(e.waitlist).0)
            .bind(waitlist_columns(e.waitlist).1)
            .bind(now)
            // A moved start gets the reminders still ahead of it, none already past.
            .bind(e.start_at != previous.start_at)
            .execute(&mut *tx)
            .await?;
            if promote > 0 {
                ledger.event = e.clone();
                let to = ledger.rules.mode.promote_to();
                tx.promote(&mut ledger, promote, to, now).await?;
                tx.save_seats(&[&ledger], now).await?;
            }
            let notice = notices::event_updated(&e, &previous);
            if (notice.time_changed || notice.venue_changed) && e.state == EventState::Published {
                let version = e.version + 1;
                // Whoever made the change knows of it.
                let members: Vec<String> = sqlx::query_scalar(
                    "SELECT member_id FROM rsvps WHERE event_id = $1 AND member_id <> $2 \
                     AND status IN ('confirmed', 'waitlisted', 'offered') ORDER BY seq",
                )
                .bind(id.to_string())
                .bind(caller.to_string())
                .fetch_all(&mut *tx)
                .await?;
                let members = stored_uuids(&members)?;
                let key = |member: Uuid| format!("event-updated:{id}:{version}:{member}");
                tx.tell_each(&members, &key, notice.into(), now).await?;
            }
            let e = tx.load_event(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(e)
        })
    }

    /// Publishes a draft (hosts only); chapter members hear of it unless it is invite-only.
    pub async fn publish(
        &self,
        id: Uuid,
        caller: Uuid,
        etag: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<EventRow, StoreError<EventRefusal>> {
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(e) = tx.lock_event(id).await? else {
                return Err(EventRefusal::NotFound.into());
            };
            tx.authorize(&e, caller, Action::Manage).await?;
            if etag.is_some_and(|etag| etag != e.version.to_string()) {
                return Err(EventRefusal::EtagMismatch.into());
            }
            if e.state == EventState::Published {
                tx.commit().await?;
                return Ok(e);
            }
            if e.state != EventState::Draft {
                return Err(EventRefusal::State("only a draft can be published").into());
            }
            if e.start_at <= now {
                return Err(EventRefusal::State("the event has already started").into());
            }
            let cap = self.limits.chapter_new_events_per_week;
            if let Some(limit) = tx.count_new_event_notice(&e, cap, now).await? {
                return Err(EventRefusal::Limit(limit).into());
            }
            sqlx::query("UPDATE events SET state = 'published', version = version + 1, updated_at = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.tell_chapter_of(&e, now).await?;
            let e = tx.load_event(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(e)
        })
    }

    /// Cancels an event (hosts only) and tells everyone who RSVP'd or was invited.
    pub async fn cancel_event(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
        reason: &str,
        etag: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<EventRow, StoreError<EventRefusal>> {
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(e) = tx.lock_event(id).await? else {
                return Err(EventRefusal::NotFound.into());
            };
            if let Some(caller) = caller {
                tx.authorize(&e, caller, Action::Manage).await?;
            }
            if etag.is_some_and(|etag| etag != e.version.to_string()) {
                return Err(EventRefusal::EtagMismatch.into());
            }
            if e.state == EventState::Cancelled {
                tx.commit().await?;
                return Ok(e);
            }
            if e.state == EventState::Completed {
                return Err(EventRefusal::State("a completed event cannot be cancelled").into());
            }
            sqlx::query(
                "UPDATE events SET state = 'cancelled', cancellation_reason = $2, version = version + 1, \
                 updated_at = $3 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let members: Vec<String> = sqlx::query_scalar(
                "SELECT member_id FROM rsvps WHERE event_id = $1 AND status <> 'not_going' \
                 UNION SELECT member_id FROM invitations WHERE event_id = $1",
            )
            .bind(id.to_string())
            .fetch_all(&mut *tx)
            .await?;
            let mut members = stored_uuids(&members)?;
            // Neither the host nor the co-host who cancelled needs telling.
            members.retain(|member| *member != e.host_id && Some(*member) != caller);
            let notice = notices::event_cancelled(&e, reason);
            let key = |member: Uuid| format!("event-cancelled:{id}:{member}");
            tx.tell_each(&members, &key, notice.into(), now).await?;
            let e = tx.load_event(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(e)
        })
    }

    /// Events `viewer` may see matching `filter`, ordered by (start, id) after `after`, with
    /// their co-hosts: one statement a page.
    pub async fn list_events(
        &self,
        viewer: Option<Uuid>,
        filter: &EventFilter,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> Result<Vec<EventRow>, sqlx::Error> {
        let columns = event_columns(self.db().backend());
        with_db!(self.db(), |pool| {
            let mut q = sqlx::QueryBuilder::new(format!("SELECT {columns} FROM events e WHERE "));
            match viewer {
                None => {
                    q.push(ANONYMOUS_VISIBLE);
                }
                Some(viewer) => {
                    let viewer = viewer.to_string();
                    q.push("(e.host_id = ").push_bind(viewer.clone());
                    q.push(" OR EXISTS (SELECT 1 FROM cohosts c WHERE c.event_id = e.id AND c.member_id = ")
                        .push_bind(viewer.clone());
                    q.push(") OR (e.state <> 'draft' AND (e.visibility = 'public' \
                            OR EXISTS (SELECT 1 FROM invitations i WHERE i.event_id = e.id AND i.member_id = ")
                        .push_bind(viewer.clone());
                    q.push(") OR EXISTS (SELECT 1 FROM rsvps r WHERE r.event_id = e.id AND r.member_id = ")
                        .push_bind(viewer.clone());
                    q.push(") OR (e.visibility = 'chapter' AND EXISTS (SELECT 1 FROM chapter_members m \
                            WHERE m.chapter_id = e.chapter_id AND m.member_id = ")
                        .push_bind(viewer);
                    q.push(")))))");
                }
            }
            q.push(" AND e.start_at >= ").push_bind(filter.start_after);
            if let Some(before) = filter.start_before {
                q.push(" AND e.start_at < ").push_bind(before);
            }
            if let Some(city) = &filter.city_key {
                q.push(" AND e.city_key = ").push_bind(city.clone());
            }
            if let Some(chapter) = &filter.chapter_id {
                q.push(" AND e.chapter_id = ")
                    .push_bind(chapter.to_string());
            }
            if let Some(host) = &filter.host_id {
                q.push(" AND e.host_id = ").push_bind(host.to_string());
            }
            if let Some(series) = &filter.series_id {
                q.push(" AND e.series_id = ").push_bind(series.to_string());
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
                q.push(" AND e.id > ").push_bind(id.to_string()).push("))");
            }
            q.push(" ORDER BY e.start_at, e.id LIMIT ")
                .push_bind(i64::from(limit));
            let rows = q.build().fetch_all(pool).await?;
            rows.iter().map(|row| Ok(event_from_row!(row))).collect()
        })
    }

    /// The earliest event (by start, then id) in `filter`'s city and window that both its
    /// members may go to ([`OPEN_TO_BOTH`]), with its co-hosts: one statement.
    pub async fn find_shared_event(
        &self,
        filter: &SharedEventFilter,
    ) -> Result<Option<EventRow>, sqlx::Error> {
        let columns = event_columns(self.db().backend());
        let sql = format!(
            "SELECT {columns} FROM events e WHERE e.city_key = $3 \
             AND e.start_at >= $4 AND e.start_at < $5 AND {OPEN_TO_BOTH} \
             ORDER BY e.start_at, e.id LIMIT 1"
        );
        let (a, b) = filter.members;
        with_db!(self.db(), |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(a.to_string())
                .bind(b.to_string())
                .bind(&filter.city_key)
                .bind(filter.start_after)
                .bind(filter.start_before)
                .fetch_optional(pool)
                .await?;
            row.map(|row| Ok(event_from_row!(&row))).transpose()
        })
    }

    /// Upcoming (not yet ended) events `member` hosts, co-hosts or has an active RSVP to.
    pub async fn list_my_events(
        &self,
        member: Uuid,
        now: DateTime<Utc>,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
        confirmed_only: bool,
    ) -> Result<Vec<EventRow>, sqlx::Error> {
        let (after_start, after_id) = after.map_or_else(
            || (DateTime::<Utc>::UNIX_EPOCH, String::new()),
            |(at, id)| (at, id.to_string()),
        );
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
        let columns = event_columns(self.db().backend());
        let sql = format!(
            "SELECT {columns} FROM events e WHERE ({mine}) AND e.state IN {states} AND e.end_at > $2 \
             AND (e.start_at > $3 OR (e.start_at = $3 AND e.id > $4)) ORDER BY e.start_at, e.id LIMIT $5"
        );
        with_db!(self.db(), |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(member.to_string())
                .bind(now)
                .bind(after_start)
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter().map(|row| Ok(event_from_row!(row))).collect()
        })
    }

    /// Adds or changes (`Some(role)`) or removes (`None`) a co-host, as the event's host.
    pub async fn set_cohost(
        &self,
        id: Uuid,
        caller: Uuid,
        member: Uuid,
        role: Option<CohostRole>,
        now: DateTime<Utc>,
    ) -> Result<EventRow, StoreError<EventRefusal>> {
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(e) = tx.lock_event(id).await? else {
                return Err(EventRefusal::NotFound.into());
            };
            tx.authorize(&e, caller, Action::ManageCohosts).await?;
            e.check_reshapable()?;
            if member == e.host_id {
                return Err(EventRefusal::Invalid(vec![FieldViolation::new(
                    "member_id",
                    "the host cannot be a co-host",
                )])
                .into());
            }
            match role {
                Some(role) => {
                    sqlx::query(
                        "INSERT INTO cohosts (event_id, member_id, role) VALUES ($1, $2, $3) \
                         ON CONFLICT (event_id, member_id) DO UPDATE SET role = excluded.role",
                    )
                    .bind(id.to_string())
                    .bind(member.to_string())
                    .bind(role.stored())
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM cohosts WHERE event_id = $1 AND member_id = $2")
                        .bind(id.to_string())
                        .bind(member.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            sqlx::query("UPDATE events SET version = version + 1, updated_at = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let e = tx.load_event(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(e)
        })
    }
}

fn escape_like(word: &str) -> String {
    word.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
