//! A deleted member's part of events: erased when the members service says so, and exported
//! on their request.
//!
//! What goes: their live RSVPs (cancelled through the one RSVP path, so seats are freed and
//! the wait-list promoted), their calendar feeds (revoked), the invitations sent to them, their
//! co-host roles, chapter memberships and blocks (both ways). The future events they host
//! alone are cancelled with everyone told; those with a co-host pass to the first co-host, and
//! so do their active series. A chapter whose last organiser they were passes to its longest-standing member (a
//! chapter with no member left keeps no organiser). What stays is their id (never a name or
//! an address) on past RSVPs and check-ins, on events they hosted in the past and on
//! invitations they sent, so that attendance figures stay true; the coffees they had lose the
//! names in their titles.

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Store, StoreError, stored_uuid, stored_uuids};
use crate::domain::coffee::NAMELESS_TITLE;
use crate::domain::rsvp::Transition;

/// The reason attendees read when an event is cancelled because its host was erased.
pub const HOST_ERASED: &str = "The host has left Rendezvous.";

/// What one erasure changed (all zero when it had been done before).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    pub rsvps: u64,
    pub events: u64,
    pub feeds: u64,
    pub invitations: u64,
    pub chapter_roles: u64,
}

impl Store {
    /// Erases `member`'s part, step by step (each step is idempotent, so an erasure that is
    /// delivered again, or interrupted and retried, ends in the same state).
    pub async fn erase_member(
        &self,
        member: Uuid,
        erased_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Erased, sqlx::Error> {
        let id = member.to_string();
        let mut erased = Erased::default();
        with_db!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO erased_members (member_id, erased_at) VALUES ($1, $2) \
                 ON CONFLICT (member_id) DO NOTHING",
            )
            .bind(&id)
            .bind(erased_at)
            .execute(pool)
            .await
            .map(drop)
        })?;

        // The title of a coffee names its two members: it loses the names, before any notice
        // of it (a cancellation below) is written.
        with_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE events SET title = $2, version = version + 1, updated_at = $3 \
                 WHERE coffee_proposal_id IS NOT NULL AND title <> $2 AND (host_id = $1 \
                 OR EXISTS (SELECT 1 FROM rsvps r WHERE r.event_id = events.id AND r.member_id = $1))",
            )
            .bind(&id)
            .bind(NAMELESS_TITLE)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })?;

        // Live RSVPs of events still open: cancelled as the member would, freeing the seat.
        let open: Vec<String> = with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT r.event_id FROM rsvps r JOIN events e ON e.id = r.event_id \
                 WHERE r.member_id = $1 AND e.state = 'published' \
                 AND r.status IN ('confirmed', 'waitlisted', 'offered', 'pending_approval')",
            )
            .bind(&id)
            .fetch_all(pool)
            .await
        })?;
        for event in stored_uuids(&open)? {
            match self
                .transition(event, member, Transition::Cancel, now)
                .await
            {
                Ok(_) => erased.rsvps += 1,
                // Closed or completed in the meantime: nothing of theirs holds a seat.
                Err(StoreError::Refused(_)) => {}
                Err(StoreError::Database(error)) => return Err(error),
            }
        }

        // Future events they host: passed to a co-host, or cancelled with everyone told.
        let hosted: Vec<(String, Option<String>)> = with_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT e.id, (SELECT c.member_id FROM cohosts c WHERE c.event_id = e.id \
                 AND c.role = 'full' ORDER BY c.member_id LIMIT 1) FROM events e \
                 WHERE e.host_id = $1 AND e.state IN ('draft', 'published') AND e.start_at > $2",
            )
            .bind(&id)
            .bind(now)
            .fetch_all(pool)
            .await
        })?;
        for (event, cohost) in hosted {
            match cohost {
                Some(cohost) => self.pass_hosting(&event, &cohost, now).await?,
                None => {
                    let event = stored_uuid(&event)?;
                    match self.cancel_event(event, None, HOST_ERASED, None, now).await {
                        Ok(_) => erased.events += 1,
                        Err(StoreError::Refused(_)) => {}
                        Err(StoreError::Database(error)) => return Err(error),
                    }
                }
            }
        }

        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            // Their active series go on with the new host of its next occurrence, or stop.
            sqlx::query(
                "UPDATE series SET state = 'cancelled', version = version + 1, updated_at = $2 \
                 WHERE host_id = $1 AND state = 'active'",
            )
            .bind(&id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            erased.feeds = sqlx::query(
                "UPDATE calendar_feeds SET revoked_at = $2 WHERE member_id = $1 AND revoked_at IS NULL",
            )
            .bind(&id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            erased.invitations = sqlx::query("DELETE FROM invitations WHERE member_id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            for sql in [
                "DELETE FROM cohosts WHERE member_id = $1",
                // Their part of chapters' health: the counts stay, whose they were goes.
                "DELETE FROM chapter_activity WHERE member_id = $1",
                "DELETE FROM chapter_attendees WHERE member_id = $1",
                "DELETE FROM chapter_met_edges WHERE member_a = $1 OR member_b = $1",
                // Their hopes of meeting someone, and others' of meeting them.
                "DELETE FROM want_to_meet_marks WHERE member_id = $1 OR other_id = $1",
                "DELETE FROM want_to_meet_pairs WHERE member_a = $1 OR member_b = $1",
                // Their blocks, both ways (RecordBlocks ignores changes of erased members
                // after).
                "DELETE FROM member_blocks WHERE blocker_id = $1 OR blocked_id = $1",
            ] {
                sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
            }
            // A chapter whose last organiser they are passes to its longest-standing member.
            let led: Vec<String> = sqlx::query_scalar(
                "SELECT chapter_id FROM chapter_members m WHERE member_id = $1 AND role = 'organizer' \
                 AND NOT EXISTS (SELECT 1 FROM chapter_members o WHERE o.chapter_id = m.chapter_id \
                 AND o.role = 'organizer' AND o.member_id <> $1)",
            )
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?;
            for chapter in &led {
                sqlx::query(
                    "UPDATE chapter_members SET role = 'organizer' WHERE chapter_id = $1 AND member_id = \
                     (SELECT member_id FROM chapter_members WHERE chapter_id = $1 AND member_id <> $2 \
                     ORDER BY joined_at, member_id LIMIT 1)",
                )
                .bind(chapter)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            }
            erased.chapter_roles = sqlx::query("DELETE FROM chapter_members WHERE member_id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(erased)
    }

    /// Makes `cohost` the host of `event` (a future event whose host was erased), series
    /// included, and drops their co-host role.
    async fn pass_hosting(
        &self,
        event: &str,
        cohost: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE events SET host_id = $2, version = version + 1, updated_at = $3 WHERE id = $1",
            )
            .bind(event)
            .bind(cohost)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE series SET host_id = $2, version = version + 1, updated_at = $3 \
                 WHERE id = (SELECT series_id FROM events WHERE id = $1) AND state = 'active'",
            )
            .bind(event)
            .bind(cohost)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM cohosts WHERE event_id = $1 AND member_id = $2")
                .bind(event)
                .bind(cohost)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
    }

    /// `member`'s part of events, for their data export: RSVPs (with check-ins), the events
    /// they host, chapters, invitations received, calendar feeds (never a feed's secret), and
    /// the attendees they hoped to meet (their own marks, and the pairs both marked).
    pub async fn export_member(&self, member: Uuid) -> Result<Value, sqlx::Error> {
        let id = member.to_string();
        with_db!(self.db(), |pool| {
            type Rsvp = (
                String,
                String,
                DateTime<Utc>,
                String,
                String,
                Option<DateTime<Utc>>,
                DateTime<Utc>,
            );
            let rsvps: Vec<Rsvp> = sqlx::query_as(
                "SELECT r.event_id, e.title, e.start_at, r.status, r.visibility, r.checked_in_at, \
                 r.created_at FROM rsvps r JOIN events e ON e.id = r.event_id \
                 WHERE r.member_id = $1 ORDER BY e.start_at, r.event_id",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            let hosted: Vec<(String, String, DateTime<Utc>, String, String)> = sqlx::query_as(
                "SELECT id, title, start_at, state, visibility FROM events WHERE host_id = $1 \
                 ORDER BY start_at, id",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            let chapters: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT c.id, c.name, m.role, m.joined_at FROM chapter_members m \
                 JOIN chapters c ON c.id = m.chapter_id WHERE m.member_id = $1 ORDER BY c.name, c.id",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            let invitations: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT i.event_id, e.title, i.invited_by, i.created_at FROM invitations i \
                 JOIN events e ON e.id = i.event_id WHERE i.member_id = $1 \
                 ORDER BY i.created_at, i.event_id",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            let feeds: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT id, created_at, revoked_at FROM calendar_feeds WHERE member_id = $1 \
                 ORDER BY created_at, id",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            // Their own marks and the pairs they were told of; never whom others marked.
            let marks: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT event_id, other_id, marked_at FROM want_to_meet_marks WHERE member_id = $1 \
                 ORDER BY marked_at, event_id, other_id",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            let mutual: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT event_id, CASE WHEN member_a = $1 THEN member_b ELSE member_a END, told_at \
                 FROM want_to_meet_pairs WHERE member_a = $1 OR member_b = $1 \
                 ORDER BY told_at, event_id",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            Ok(json!({
                "rsvps": rsvps.into_iter().map(|r| json!({
                    "event_id": r.0, "event_title": r.1, "event_start": r.2, "status": r.3,
                    "visibility": r.4, "checked_in_at": r.5, "created_at": r.6,
                })).collect::<Vec<_>>(),
                "hosted_events": hosted.into_iter().map(|e| json!({
                    "id": e.0, "title": e.1, "start": e.2, "state": e.3, "visibility": e.4,
                })).collect::<Vec<_>>(),
                "chapters": chapters.into_iter().map(|c| json!({
                    "chapter_id": c.0, "name": c.1, "role": c.2, "joined_at": c.3,
                })).collect::<Vec<_>>(),
                "invitations": invitations.into_iter().map(|i| json!({
                    "event_id": i.0, "event_title": i.1, "invited_by": i.2, "created_at": i.3,
                })).collect::<Vec<_>>(),
                "calendar_feeds": feeds.into_iter().map(|f| json!({
                    "id": f.0, "created_at": f.1, "revoked_at": f.2,
                })).collect::<Vec<_>>(),
                "want_to_meet": marks.into_iter().map(|m| json!({
                    "event_id": m.0, "member_id": m.1, "marked_at": m.2,
                })).collect::<Vec<_>>(),
                "want_to_meet_mutual": mutual.into_iter().map(|m| json!({
                    "event_id": m.0, "member_id": m.1, "told_at": m.2,
                })).collect::<Vec<_>>(),
            }))
        })
    }
}
