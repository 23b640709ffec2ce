//! Storage for what happens around an event once it exists: invitations under the weekly
//! cap, announcements, check-in, completion, and calendar feeds; for both backends.

use chrono::{DateTime, Utc};
use rendezvous_common::db::{Backend, BeginWrite as _};
use rendezvous_common::outbox::{OutboxMessage, OutboxWriter as _};
use rendezvous_common::with_db;
use uuid::Uuid;

use crate::events::{EventRow, RsvpRow};
use crate::store::Store;

/// What an InviteMembers did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InviteOutcome {
    pub invited: i64,
    pub skipped: i64,
    pub remaining: i64,
}

/// What completing an event found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompleteOutcome {
    pub checked_in: i64,
    pub no_show: i64,
    /// False when the event was already completed.
    pub newly_completed: bool,
}

fn notify(member: &str, kind: &str, key: String, params: &[(&str, String)]) -> OutboxMessage {
    OutboxMessage::notify(
        Uuid::try_parse(member).unwrap_or_default(),
        kind,
        key,
        params,
    )
}

impl Store {
    pub async fn is_chapter_member(
        &self,
        chapter: &str,
        member: &str,
    ) -> Result<bool, sqlx::Error> {
        with_db!(self.db(), |pool| {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM chapter_members WHERE chapter_id = $1 AND member_id = $2",
            )
            .bind(chapter)
            .bind(member)
            .fetch_one(pool)
            .await?;
            Ok(n > 0)
        })
    }

    pub async fn chapter_member_ids(&self, chapter: &str) -> Result<Vec<String>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT member_id FROM chapter_members WHERE chapter_id = $1 ORDER BY member_id",
            )
            .bind(chapter)
            .fetch_all(pool)
            .await
        })
    }

    /// Invites `members` (already filtered for blocks) as `host`, at most `cap` per host since
    /// `since`; members already invited or RSVP'd are skipped. None when the cap is reached.
    pub async fn invite(
        &self,
        event: &EventRow,
        host: &str,
        members: &[String],
        cap: u32,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<InviteOutcome>, sqlx::Error> {
        let lock = match self.db().backend() {
            // Serialises one host's invitations so two calls cannot both pass the cap.
            Backend::Postgres => "SELECT pg_advisory_xact_lock(hashtext($1))",
            Backend::Sqlite => "SELECT length($1)",
        };
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(lock).bind(host).execute(&mut *tx).await?;
            let sent: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM invitations WHERE invited_by = $1 AND created_at > $2",
            )
            .bind(host)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
            let mut remaining = i64::from(cap) - sent;
            if remaining <= 0 {
                return Ok(None);
            }
            let (mut invited, mut skipped) = (0, 0);
            for member in members {
                let known: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM invitations WHERE event_id = $1 AND member_id = $2) + \
                     (SELECT COUNT(*) FROM rsvps WHERE event_id = $1 AND member_id = $2)",
                )
                .bind(&event.id)
                .bind(member)
                .fetch_one(&mut *tx)
                .await?;
                if known > 0 || remaining <= 0 {
                    skipped += 1;
                    continue;
                }
                sqlx::query(
                    "INSERT INTO invitations (event_id, member_id, invited_by, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&event.id)
                .bind(member)
                .bind(host)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let message = notify(
                    member,
                    "EVENT_INVITATION",
                    format!("invitation:{}:{member}", event.id),
                    &[
                        ("event_id", event.id.clone()),
                        ("event_title", event.title.clone()),
                        ("start_time", event.start_at.to_rfc3339()),
                        ("time_zone", event.time_zone.clone()),
                        ("inviter_id", host.to_owned()),
                    ],
                );
                tx.enqueue(&message, now).await?;
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
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let done: Option<i64> = sqlx::query_scalar(
                "SELECT recipient_count FROM announcements WHERE event_id = $1 AND request_id = $2",
            )
            .bind(&event.id)
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(n) = done {
                return Ok(n);
            }
            let members: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(select))
                .bind(&event.id)
                .fetch_all(&mut *tx)
                .await?;
            for member in &members {
                let m = notify(
                    member,
                    "EVENT_ANNOUNCEMENT",
                    format!("announcement:{}:{request_id}:{member}", event.id),
                    &[
                        ("event_id", event.id.clone()),
                        ("event_title", event.title.clone()),
                        ("message", message.to_owned()),
                    ],
                );
                tx.enqueue(&m, now).await?;
            }
            let n = i64::try_from(members.len()).unwrap_or(i64::MAX);
            sqlx::query(
                "INSERT INTO announcements (event_id, request_id, recipient_count, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&event.id)
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
        event_id: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
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
        event_id: &str,
        member: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<RsvpRow>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query(
                "UPDATE rsvps SET checked_in_at = $3, updated_at = $3 WHERE event_id = $1 AND member_id = $2 \
                 AND status = 'confirmed' AND checked_in_at IS NULL",
            )
            .bind(event_id)
            .bind(member)
            .bind(now)
            .execute(pool)
            .await?;
            Ok::<(), sqlx::Error>(())
        })?;
        Ok(self
            .rsvp_of(event_id, member)
            .await?
            .filter(|r| r.status == crate::domain::rsvp::Status::Confirmed))
    }

    pub async fn checked_in_ids(&self, event_id: &str) -> Result<Vec<String>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT member_id FROM rsvps WHERE event_id = $1 AND status = 'confirmed' \
                 AND checked_in_at IS NOT NULL ORDER BY member_id",
            )
            .bind(event_id)
            .fetch_all(pool)
            .await
        })
    }

    /// Closes a published event and records its no-shows; completing again changes nothing.
    pub async fn complete(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<CompleteOutcome, &'static str>, sqlx::Error> {
        let lock = match self.db().backend() {
            Backend::Postgres => "SELECT state FROM events WHERE id = $1 FOR UPDATE",
            Backend::Sqlite => "SELECT state FROM events WHERE id = $1",
        };
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let state: Option<String> = sqlx::query_scalar(lock)
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
                    return Ok(Ok(CompleteOutcome {
                        checked_in,
                        no_show,
                        newly_completed: false,
                    }));
                }
                Some("published") => {}
                _ => return Ok(Err("only a published event can be completed")),
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
            Ok(Ok(CompleteOutcome {
                checked_in,
                no_show,
                newly_completed: true,
            }))
        })
    }

    pub async fn meetings_recorded(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
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
    ) -> Result<Vec<String>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT id FROM events WHERE state = 'published' AND end_at <= $1 ORDER BY end_at LIMIT 200",
            )
            .bind(ended_before)
            .fetch_all(pool)
            .await
        })
    }

    /// Completed events whose meetings members has not accepted yet.
    pub async fn events_needing_meetings(&self) -> Result<Vec<String>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT id FROM events WHERE state = 'completed' AND meetings_recorded_at IS NULL \
                 ORDER BY completed_at LIMIT 200",
            )
            .fetch_all(pool)
            .await
        })
    }

    /// Stores a feed's token hash; a repeated `request_id` returns the first feed (id, time,
    /// false).
    pub async fn create_feed(
        &self,
        id: &str,
        member: &str,
        token_hash: &str,
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>, bool), sqlx::Error> {
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(request_id) = request_id {
                let existing: Option<(String, DateTime<Utc>)> = sqlx::query_as(
                    "SELECT id, created_at FROM calendar_feeds WHERE member_id = $1 AND request_id = $2",
                )
                .bind(member)
                .bind(request_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((id, at)) = existing {
                    return Ok((id, at, false));
                }
            }
            sqlx::query(
                "INSERT INTO calendar_feeds (id, member_id, token_hash, request_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(member)
            .bind(token_hash)
            .bind(request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok((id.to_owned(), now, true))
        })
    }

    /// Revokes one of `member`'s feeds; false when they have no such feed.
    pub async fn revoke_feed(
        &self,
        id: &str,
        member: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        with_db!(self.db(), |pool| {
            let found: Option<String> = sqlx::query_scalar(
                "SELECT id FROM calendar_feeds WHERE id = $1 AND member_id = $2",
            )
            .bind(id)
            .bind(member)
            .fetch_optional(pool)
            .await?;
            if found.is_none() {
                return Ok(false);
            }
            sqlx::query("UPDATE calendar_feeds SET revoked_at = $3 WHERE id = $1 AND member_id = $2 AND revoked_at IS NULL")
                .bind(id)
                .bind(member)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(true)
        })
    }

    /// The member of a live feed with this token hash.
    pub async fn feed_member(&self, token_hash: &str) -> Result<Option<String>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT member_id FROM calendar_feeds WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await
        })
    }
}
