//! Storage for what happens around an event once it exists: invitations under the weekly
//! cap, announcements, check-in and completion; for both backends.

use chrono::{DateTime, Utc};
use rendezvous_common::db::{BeginWrite as _, Locks as _};
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1 as npb;
use uuid::Uuid;

use super::{EventOps as _, RsvpRow, Store, StoreError, stored_uuids};
use crate::domain::event::EventRow;
use crate::domain::rsvp::RsvpState;
use crate::notices;

/// What an InviteMembers did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InviteOutcome {
    pub invited: i64,
    pub skipped: i64,
    pub remaining: i64,
}

/// Why an event cannot be completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompleteRefusal {
    NotPublished,
}

/// What completing an event found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompleteOutcome {
    pub checked_in: i64,
    pub no_show: i64,
    /// False when the event was already completed.
    pub newly_completed: bool,
}

impl Store {
    /// Invites `members` (already filtered for blocks) as `host`, at most `cap` per host since
    /// `since`; members already invited or RSVP'd are skipped. None when the cap is reached.
    pub async fn invite(
        &self,
        event: &EventRow,
        inviter: npb::MemberFacts,
        members: &[Uuid],
        cap: u32,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<InviteOutcome>, sqlx::Error> {
        let host_id = inviter.member_id.clone();
        let notice = notices::event_invitation(event, inviter);
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            // Serialises one host's invitations so two calls cannot both pass the cap.
            tx.advisory_lock(&format!("invitations:{host_id}")).await?;
            let sent: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM invitations WHERE invited_by = $1 AND created_at > $2",
            )
            .bind(&host_id)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
            let mut remaining = i64::from(cap) - sent;
            if remaining <= 0 {
                return Ok(None);
            }
            let (mut invited, mut skipped) = (0, 0);
            for &member in members {
                let known: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM invitations WHERE event_id = $1 AND member_id = $2) + \
                     (SELECT COUNT(*) FROM rsvps WHERE event_id = $1 AND member_id = $2)",
                )
                .bind(event.id.to_string())
                .bind(member.to_string())
                .fetch_one(&mut *tx)
                .await?;
                if known > 0 || remaining <= 0 {
                    skipped += 1;
                    continue;
                }
                sqlx::query(
                    "INSERT INTO invitations (event_id, member_id, invited_by, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(event.id.to_string())
                .bind(member.to_string())
                .bind(&host_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.tell(
                    member,
                    format!("invitation:{}:{member}", event.id),
                    notice.clone().into(),
                    now,
                )
                .await?;
                invited += 1;
                remaining -= 1;
            }
            tx.commit().await?;
            Ok(Some(InviteOutcome {
                invited,
                skipped,
                remaining,
            }))
        })
    }

    /// Sends an announcement once per `request_id`; a retry returns the first count.
    pub async fn announce(
        &self,
        event: &EventRow,
        announcer: npb::MemberFacts,
        request_id: &str,
        message: &str,
        include_waitlisted: bool,
        now: DateTime<Utc>,
    ) -> Result<i64, sqlx::Error> {
        let statuses = if include_waitlisted {
            "('confirmed', 'waitlisted', 'offered')"
        } else {
            "('confirmed')"
        };
        let select = format!(
            "SELECT member_id FROM rsvps WHERE event_id = $1 AND status IN {statuses} ORDER BY seq"
        );
        let notice = notices::event_announcement(event, announcer, message);
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let done: Option<i64> = sqlx::query_scalar(
                "SELECT recipient_count FROM announcements WHERE event_id = $1 AND request_id = $2",
            )
            .bind(event.id.to_string())
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(n) = done {
                return Ok(n);
            }
            let members: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(select))
                .bind(event.id.to_string())
                .fetch_all(&mut *tx)
                .await?;
            let members = stored_uuids(&members)?;
            let key = |member: Uuid| format!("announcement:{}:{request_id}:{member}", event.id);
            tx.tell_each(&members, &key, notice.into(), now).await?;
            let n = i64::try_from(members.len()).unwrap_or(i64::MAX);
            sqlx::query(
                "INSERT INTO announcements (event_id, request_id, recipient_count, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(event.id.to_string())
            .bind(request_id)
            .bind(n)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(n)
        })
    }

    pub async fn set_check_in_code(
        &self,
        event_id: Uuid,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        with_db!(self.db(), |pool| {
            sqlx::query("UPDATE events SET check_in_code = $2, updated_at = $3 WHERE id = $1")
                .bind(event_id)
                .bind(code)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Checks a confirmed attendee in (keeping the first check-in time); None when the member
    /// is not confirmed.
    pub async fn check_in(
        &self,
        event_id: Uuid,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<RsvpRow>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE rsvps SET checked_in_at = $3, updated_at = $3 WHERE event_id = $1 AND member_id = $2 \
                 AND status = 'confirmed' AND checked_in_at IS NULL",
            )
            .bind(event_id.to_string())
            .bind(member.to_string())
            .bind(now)
            .execute(pool)
            .await?;
            Ok::<(), sqlx::Error>(())
        })?;
        Ok(self
            .rsvp_of(event_id, member)
            .await?
            .filter(|r| r.state == RsvpState::Confirmed))
    }

    pub async fn checked_in_ids(&self, event_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        let ids: Vec<String> = with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT member_id FROM rsvps WHERE event_id = $1 AND status = 'confirmed' \
                 AND checked_in_at IS NOT NULL ORDER BY member_id",
            )
            .bind(event_id)
            .fetch_all(pool)
            .await
        })?;
        stored_uuids(&ids)
    }

    /// Closes a published event and records its no-shows; completing again changes nothing.
    pub async fn complete(
        &self,
        event_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<CompleteOutcome, StoreError<CompleteRefusal>> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        let lock = format!(
            "SELECT state FROM events WHERE id = $1{}",
            self.db().backend().for_update()
        );
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let state: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(lock))
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await?;
            let (checked_in, confirmed): (i64, i64) = sqlx::query_as(
                "SELECT \
                 (SELECT COUNT(*) FROM rsvps WHERE event_id = $1 AND status = 'confirmed' AND checked_in_at IS NOT NULL), \
                 (SELECT COUNT(*) FROM rsvps WHERE event_id = $1 AND status = 'confirmed')",
            )
            .bind(event_id)
            .fetch_one(&mut *tx)
            .await?;
            let no_show = confirmed - checked_in;
            match state.as_deref() {
                Some("completed") => {
                    return Ok(CompleteOutcome {
                        checked_in,
                        no_show,
                        newly_completed: false,
                    });
                }
                Some("published") => {}
                _ => return Err(CompleteRefusal::NotPublished.into()),
            }
            sqlx::query(
                "UPDATE events SET state = 'completed', no_show_count = $2, completed_at = $3, \
                 version = version + 1, updated_at = $3 WHERE id = $1",
            )
            .bind(event_id)
            .bind(no_show)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(CompleteOutcome {
                checked_in,
                no_show,
                newly_completed: true,
            })
        })
    }

    pub async fn meetings_recorded(
        &self,
        event_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        with_db!(self.db(), |pool| {
            sqlx::query("UPDATE events SET meetings_recorded_at = $2 WHERE id = $1")
                .bind(event_id)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Published events that ended before `ended_before`.
    pub async fn events_due_for_completion(
        &self,
        ended_before: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        let ids: Vec<String> = with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT id FROM events WHERE state = 'published' AND end_at <= $1 ORDER BY end_at LIMIT 200",
            )
            .bind(ended_before)
            .fetch_all(pool)
            .await
        })?;
        stored_uuids(&ids)
    }

    /// Up to `limit` completed events whose meetings members has not accepted yet and that
    /// are due at `now`: never tried, or refused before and past their retry time. Oldest
    /// first, so that a refused event, pushed back, never holds up those behind it.
    pub async fn events_needing_meetings(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let ids: Vec<String> = with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT id FROM events WHERE state = 'completed' AND meetings_recorded_at IS NULL \
                 AND (meetings_retry_at IS NULL OR meetings_retry_at <= $1) \
                 ORDER BY completed_at, id LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        stored_uuids(&ids)
    }

    /// Members refused `event_id`'s meetings (or they could not be read): counts the refusal
    /// and returns how many there have been, the event next due at `retry_at(refusals)`.
    pub async fn meetings_refused(
        &self,
        event_id: Uuid,
        retry_at: impl FnOnce(u32) -> DateTime<Utc>,
    ) -> Result<u32, sqlx::Error> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let refusals: i64 = sqlx::query_scalar(
                "UPDATE events SET meetings_refusals = meetings_refusals + 1 WHERE id = $1 \
                 RETURNING meetings_refusals",
            )
            .bind(event_id)
            .fetch_one(&mut *tx)
            .await?;
            let refusals = u32::try_from(refusals).unwrap_or(u32::MAX);
            sqlx::query("UPDATE events SET meetings_retry_at = $2 WHERE id = $1")
                .bind(event_id)
                .bind(retry_at(refusals))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(refusals)
        })
    }
}
