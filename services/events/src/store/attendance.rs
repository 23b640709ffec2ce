//! Storage for what happens around an event once it exists: invitations under the weekly
//! cap, announcements, check-in and completion; for both backends.

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::db::{BeginWrite as _, Locks as _};
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1 as npb;
use uuid::Uuid;

use super::chapter_health::HealthOps as _;
use super::limits::LimitOps as _;
use super::{EventOps as _, RsvpRow, Store, StoreError, stored_uuids};
use crate::domain::event::EventRow;
use crate::domain::limits::{ANNOUNCEMENT_WINDOW, LimitReached};
use crate::domain::rsvp::RsvpState;
use crate::notices;

/// What an InviteMembers did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InviteOutcome {
    pub invited: i64,
    pub skipped: i64,
    pub remaining: i64,
}

/// Why an InviteMembers was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteRefusal {
    /// The inviter's weekly cap is spent.
    Weekly(LimitReached),
    /// The event has had as many invitations, from all its hosts, as an event may have.
    EventCapReached,
}

/// The window of the per-inviter cap.
const INVITATION_WINDOW: Duration = Duration::days(7);

/// Who was at an event, as members records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingAttendees {
    /// By id.
    pub ids: Vec<Uuid>,
    /// Every pair is asked whether they met, however small the event (a coffee): nobody is
    /// marked met at once.
    pub confirm_each: bool,
    /// The pairs of them who hoped to meet each other there (both told): their follow-ups
    /// come first.
    pub hoped: Vec<(Uuid, Uuid)>,
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
    /// Invites `members` (already filtered for blocks) as `inviter`, at most `weekly_cap` per
    /// inviter over the rolling week and the store's per-event cap over all the event's
    /// inviters; members already invited or RSVP'd are skipped. Refused, with nothing written,
    /// when either cap is spent.
    pub async fn invite(
        &self,
        event: &EventRow,
        inviter: npb::MemberFacts,
        members: &[Uuid],
        weekly_cap: u32,
        now: DateTime<Utc>,
    ) -> Result<InviteOutcome, StoreError<InviteRefusal>> {
        let host_id = inviter.member_id.clone();
        let event_cap = i64::from(self.limits.invitations_per_event);
        let notice = notices::event_invitation(event, inviter);
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            // Serialises the invitations to one event, then one inviter's (always in this
            // order), so that two calls cannot both pass either cap.
            tx.advisory_lock(&format!("invitations-to:{}", event.id))
                .await?;
            tx.advisory_lock(&format!("invitations:{host_id}")).await?;
            let (sent_this_week, sent_to_event): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM invitations WHERE invited_by = $1 AND created_at > $2), \
                 (SELECT COUNT(*) FROM invitations WHERE event_id = $3)",
            )
            .bind(&host_id)
            .bind(now - INVITATION_WINDOW)
            .bind(event.id.to_string())
            .fetch_one(&mut *tx)
            .await?;
            if sent_this_week >= i64::from(weekly_cap) {
                let retry_after = tx
                    .window_wait(
                        "SELECT created_at FROM invitations WHERE invited_by = $1 AND created_at > $2 \
                         ORDER BY created_at DESC",
                        &host_id,
                        weekly_cap,
                        INVITATION_WINDOW,
                        now,
                    )
                    .await?
                    .unwrap_or(INVITATION_WINDOW);
                return Err(InviteRefusal::Weekly(LimitReached {
                    what: "you have sent as many invitations as one may send in a week",
                    retry_after,
                })
                .into());
            }
            if sent_to_event >= event_cap {
                return Err(InviteRefusal::EventCapReached.into());
            }
            // The tighter of the two caps.
            let mut remaining =
                (i64::from(weekly_cap) - sent_this_week).min(event_cap - sent_to_event);
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
            Ok(InviteOutcome {
                invited,
                skipped,
                remaining,
            })
        })
    }

    /// Sends an announcement once per `request_id` to the attendees but its `announcer`; a
    /// retry returns the first count and is not counted again. Refused, with nothing written, when the event's or its chapter's
    /// daily cap is spent.
    pub async fn announce(
        &self,
        event: &EventRow,
        announcer: npb::MemberFacts,
        request_id: &str,
        message: &str,
        include_waitlisted: bool,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError<LimitReached>> {
        let statuses = if include_waitlisted {
            "('confirmed', 'waitlisted', 'offered')"
        } else {
            "('confirmed')"
        };
        let select = format!(
            "SELECT member_id FROM rsvps WHERE event_id = $1 AND status IN {statuses} ORDER BY seq"
        );
        // Whoever announces is not told their own message, seated or not.
        let announcer_id = announcer.member_id.clone();
        let notice = notices::event_announcement(event, announcer, message);
        let event_id = event.id.to_string();
        let chapter_id = event.chapter_id.map(|c| c.to_string());
        let limits = &self.limits;
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            // The chapter's announcements, then the event's (always in this order), so that
            // two calls cannot both pass a cap, nor a retry race its first try.
            if let Some(chapter) = &chapter_id {
                tx.advisory_lock(&format!("announcements-in:{chapter}"))
                    .await?;
            }
            tx.advisory_lock(&format!("announcements:{event_id}"))
                .await?;
            let done: Option<i64> = sqlx::query_scalar(
                "SELECT recipient_count FROM announcements WHERE event_id = $1 AND request_id = $2",
            )
            .bind(&event_id)
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(n) = done {
                return Ok(n);
            }
            let per_event = tx
                .window_wait(
                    "SELECT created_at FROM announcements WHERE event_id = $1 AND created_at > $2 \
                     ORDER BY created_at DESC",
                    &event_id,
                    limits.announcements_per_event_per_day,
                    ANNOUNCEMENT_WINDOW,
                    now,
                )
                .await?;
            if let Some(retry_after) = per_event {
                return Err(LimitReached {
                    what: "this event has had as many announcements as it may have in a day",
                    retry_after,
                }
                .into());
            }
            if let Some(chapter) = &chapter_id {
                let per_chapter = tx
                    .window_wait(
                        "SELECT a.created_at FROM announcements a JOIN events e ON e.id = a.event_id \
                         WHERE e.chapter_id = $1 AND a.created_at > $2 ORDER BY a.created_at DESC",
                        chapter,
                        limits.announcements_per_chapter_per_day,
                        ANNOUNCEMENT_WINDOW,
                        now,
                    )
                    .await?;
                if let Some(retry_after) = per_chapter {
                    return Err(LimitReached {
                        what: "this chapter's events have had as many announcements as they may have in a day",
                        retry_after,
                    }
                    .into());
                }
            }
            let members: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(select))
                .bind(event.id.to_string())
                .fetch_all(&mut *tx)
                .await?;
            let members: Vec<String> = members
                .into_iter()
                .filter(|member| *member != announcer_id)
                .collect();
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
            let mut tx = pool.begin_write().await?;
            let checked_in = sqlx::query(
                "UPDATE rsvps SET checked_in_at = $3, updated_at = $3 WHERE event_id = $1 AND member_id = $2 \
                 AND status = 'confirmed' AND checked_in_at IS NULL",
            )
            .bind(event_id.to_string())
            .bind(member.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if checked_in {
                // A check-in makes them active in the event's chapter.
                tx.note_activity(&[(event_id.to_string(), member.to_string())], now)
                    .await?;
            }
            tx.commit().await?;
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

    /// Who is sent to members as having been at `event_id`, once it is over: those checked
    /// in; for a coffee, which has nobody to check its two members in, both confirmed
    /// members, each pair to be asked whether they met; with the pairs of them who hoped to
    /// meet each other.
    pub async fn meeting_attendees(&self, event_id: Uuid) -> Result<MeetingAttendees, sqlx::Error> {
        let event_id_uuid = event_id;
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        let (coffee, ids): (bool, Vec<String>) = with_db!(self.db(), |pool| {
            let coffee: Option<bool> = sqlx::query_scalar(
                "SELECT coffee_proposal_id IS NOT NULL FROM events WHERE id = $1",
            )
            .bind(event_id)
            .fetch_optional(pool)
            .await?;
            let coffee = coffee.unwrap_or(false);
            let checked_in = if coffee {
                ""
            } else {
                " AND checked_in_at IS NOT NULL"
            };
            let ids = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT member_id FROM rsvps WHERE event_id = $1 AND status = 'confirmed'\
                 {checked_in} ORDER BY member_id"
            )))
            .bind(event_id)
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>((coffee, ids))
        })?;
        let ids = stored_uuids(&ids)?;
        let hoped = self.mutual_pairs_among(event_id_uuid, &ids).await?;
        Ok(MeetingAttendees {
            ids,
            confirm_each: coffee,
            hoped,
        })
    }

    /// Closes a published event and records its no-shows (none for a coffee); completing again
    /// changes nothing.
    pub async fn complete(
        &self,
        event_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<CompleteOutcome, StoreError<CompleteRefusal>> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        let lock = format!(
            "SELECT state, coffee_proposal_id IS NOT NULL FROM events WHERE id = $1{}",
            self.db().backend().for_update()
        );
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let row: Option<(String, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(lock))
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await?;
            let (state, coffee) = row.unzip();
            let (checked_in, confirmed) = tx.attendance_counts(event_id).await?;
            // A coffee has nobody to check its two members in: whether they came is theirs to
            // say ("did you meet?"), not a no-show to count.
            let no_show = if coffee == Some(true) {
                0
            } else {
                confirmed - checked_in
            };
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
            tx.count_completion(event_id, confirmed, checked_in).await?;
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
