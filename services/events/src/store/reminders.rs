//! Reminders of upcoming events, derived at send time from the events' times and the RSVPs'
//! confirmations by [`crate::domain::reminder`]; `reminders_sent` remembers each one sent, keyed
//! by (event, member, offset, start time), so sweeps and redelivery never send it twice.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;
use uuid::Uuid;

use super::{EventOps as _, Store, Stored as _, stored_uuid};
use crate::domain::event::EventState;
use crate::domain::reminder::ReminderBasis;
use crate::domain::rsvp::RsvpState;
use crate::notices;

/// What the sweep reads of one confirmed RSVP to a soon-starting event: event id, start, when
/// the start was set, member id, when confirmed.
type Candidate = (
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
    Option<DateTime<Utc>>,
);

/// Events the sweep looks at in one pass, soonest first.
const EVENTS_PER_SWEEP: i64 = 500;

impl Store {
    /// Sends every reminder due at `now` that has not been sent; returns how many it sent.
    pub async fn send_due_reminders(&self, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
        let offsets = &self.reminder_offsets;
        let horizon = now + offsets.largest();
        if horizon <= now {
            return Ok(0);
        }
        // A read first, so that only events with a reminder to send take the write lock.
        let (candidates, sent): (Vec<Candidate>, Vec<(String, String, i64, DateTime<Utc>)>) =
            with_db!(self.db(), |pool| {
                let candidates = sqlx::query_as(
                    "SELECT e.id, e.start_at, COALESCE(e.start_set_at, e.created_at), r.member_id, \
                     r.confirmed_at FROM events e JOIN rsvps r ON r.event_id = e.id \
                     WHERE e.id IN (SELECT id FROM events WHERE state = 'published' \
                     AND start_at > $1 AND start_at <= $2 ORDER BY start_at, id LIMIT $3) \
                     AND r.status = 'confirmed'",
                )
                .bind(now)
                .bind(horizon)
                .bind(EVENTS_PER_SWEEP)
                .fetch_all(pool)
                .await?;
                let sent = sqlx::query_as(
                    "SELECT s.event_id, s.member_id, s.offset_minutes, s.start_at \
                     FROM reminders_sent s JOIN events e ON e.id = s.event_id \
                     WHERE e.state = 'published' AND e.start_at > $1 AND e.start_at <= $2",
                )
                .bind(now)
                .bind(horizon)
                .fetch_all(pool)
                .await?;
                Ok::<_, sqlx::Error>((candidates, sent))
            })?;
        let sent: BTreeSet<(String, String, i64, DateTime<Utc>)> = sent.into_iter().collect();
        let mut to_remind: BTreeSet<Uuid> = BTreeSet::new();
        for (event_id, start_at, start_set_at, member_id, confirmed_at) in candidates {
            let basis = ReminderBasis {
                event_state: EventState::Published,
                start_at,
                start_set_at,
                rsvp_state: RsvpState::Confirmed,
                confirmed_at,
            };
            if let Some(due) = basis.due(offsets, now) {
                let key = (event_id, member_id, due.offset.num_minutes(), start_at);
                if !sent.contains(&key) {
                    to_remind.insert(stored_uuid(&key.0)?);
                }
            }
        }
        let mut count = 0;
        for event_id in to_remind {
            count += self.remind(event_id, now).await?;
        }
        Ok(count)
    }

    /// Under the event's lock, sends the reminders of `event_id` due at `now` not sent yet,
    /// each with its `reminders_sent` row and outbox message in one transaction.
    async fn remind(&self, event_id: Uuid, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
        let offsets = &self.reminder_offsets;
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(event) = tx.lock_event(event_id).await? else {
                return Ok(0);
            };
            let start_set_at: DateTime<Utc> = sqlx::query_scalar(
                "SELECT COALESCE(start_set_at, created_at) FROM events WHERE id = $1",
            )
            .bind(event_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
            let rsvps: Vec<(String, String, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT member_id, status, confirmed_at FROM rsvps \
                 WHERE event_id = $1 AND status = 'confirmed' ORDER BY seq, member_id",
            )
            .bind(event_id.to_string())
            .fetch_all(&mut *tx)
            .await?;
            let mut count = 0;
            for (member_id, status, confirmed_at) in rsvps {
                let basis = ReminderBasis {
                    event_state: event.state,
                    start_at: event.start_at,
                    start_set_at,
                    rsvp_state: RsvpState::from_stored(&status),
                    confirmed_at,
                };
                let Some(due) = basis.due(offsets, now) else {
                    continue;
                };
                let minutes = due.offset.num_minutes();
                let inserted = sqlx::query(
                    "INSERT INTO reminders_sent (event_id, member_id, offset_minutes, start_at, sent_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(event_id.to_string())
                .bind(&member_id)
                .bind(minutes)
                .bind(event.start_at)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    continue;
                }
                let member = stored_uuid(&member_id)?;
                let key = format!(
                    "reminder:{event_id}:{member}:{minutes}:{}",
                    event.start_at.to_rfc3339()
                );
                let notice = notices::event_reminder(&event, due.offset);
                tx.tell(member, key, notice.into(), now).await?;
                count += 1;
            }
            tx.commit().await?;
            Ok(count)
        })
    }
}
