//! Reads of RSVPs: one member's, an event's by state, the offers past their window, and the
//! counts by state. Each row says when its holder is reminded (see `domain::reminder`).

use chrono::{DateTime, Utc};
use rendezvous_common::with_db;
use uuid::Uuid;

use super::rsvps::RsvpRow;
use super::{Store, Stored as _, stored_uuid};
use crate::domain::event::EventState;
use crate::domain::reminder::{ReminderBasis, ReminderOffsets};
use crate::domain::rsvp::{RsvpState, RsvpVisibility};

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
    Option<DateTime<Utc>>,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// An RSVP's columns, then what its reminders depend on: when it was confirmed, and the
/// event's state, start and when that start was set (from `events e`, joined by the query).
const RSVP_COLUMNS: &str = "r.event_id, r.member_id, r.status, r.seq, r.visibility, \
     r.offer_expires_at, r.checked_in_at, r.created_at, r.updated_at, \
     CASE WHEN r.status = 'waitlisted' THEN (SELECT COUNT(*) FROM rsvps w \
      WHERE w.event_id = r.event_id AND w.status = 'waitlisted' AND w.seq < r.seq) ELSE 0 END, \
     r.confirmed_at, e.state, e.start_at, COALESCE(e.start_set_at, e.created_at)";

fn rsvp_row(t: RsvpTuple, offsets: &ReminderOffsets) -> Result<RsvpRow, sqlx::Error> {
    let state = RsvpState::from_stored(&t.2);
    let reminders = ReminderBasis {
        event_state: EventState::from_stored(&t.11),
        start_at: t.12,
        start_set_at: t.13,
        rsvp_state: state,
        confirmed_at: t.10,
    };
    Ok(RsvpRow {
        event_id: stored_uuid(&t.0)?,
        member_id: stored_uuid(&t.1)?,
        state,
        waitlist_position: (state == RsvpState::Waitlisted)
            .then(|| u32::try_from(t.9 + 1).unwrap_or(0)),
        offer_expires_at: t.5,
        visibility: RsvpVisibility::from_stored(&t.4),
        checked_in_at: t.6,
        created_at: t.7,
        updated_at: t.8,
        seq: t.3,
        reminder_times: reminders.reminders(offsets).iter().map(|r| r.at).collect(),
    })
}

impl Store {
    pub async fn rsvp_of(
        &self,
        event_id: Uuid,
        member: Uuid,
    ) -> Result<Option<RsvpRow>, sqlx::Error> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        let member = member.to_string();
        let member = member.as_str();
        let sql = format!(
            "SELECT {RSVP_COLUMNS} FROM rsvps r JOIN events e ON e.id = r.event_id \
             WHERE r.event_id = $1 AND r.member_id = $2"
        );
        with_db!(self.db(), |pool| {
            let row: Option<RsvpTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(event_id)
                .bind(member)
                .fetch_optional(pool)
                .await?;
            row.map(|t| rsvp_row(t, &self.reminder_offsets)).transpose()
        })
    }

    /// An event's RSVPs with the given statuses, in RSVP order (first answer, then member id)
    /// after `after`.
    pub async fn rsvps(
        &self,
        event_id: Uuid,
        statuses: &[RsvpState],
        checked_in_only: bool,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> Result<Vec<RsvpRow>, sqlx::Error> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        let (after_at, after_id) = after.map_or_else(
            || (DateTime::<Utc>::UNIX_EPOCH, String::new()),
            |(at, id)| (at, id.to_string()),
        );
        let list = statuses
            .iter()
            .map(|s| format!("'{}'", s.stored()))
            .collect::<Vec<_>>()
            .join(", ");
        let checked = if checked_in_only {
            " AND r.checked_in_at IS NOT NULL"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {RSVP_COLUMNS} FROM rsvps r JOIN events e ON e.id = r.event_id \
             WHERE r.event_id = $1 AND r.status IN ({list}){checked} \
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
            rows.into_iter()
                .map(|t| rsvp_row(t, &self.reminder_offsets))
                .collect()
        })
    }

    /// Offers whose expiry has passed at `now`: (event id, member id).
    pub async fn expired_offers(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
        let offers: Vec<(String, String)> = with_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT event_id, member_id FROM rsvps WHERE status = 'offered' \
                 AND offer_expires_at <= $1 ORDER BY offer_expires_at LIMIT 500",
            )
            .bind(now)
            .fetch_all(pool)
            .await
        })?;
        offers
            .iter()
            .map(|(event, member)| Ok((stored_uuid(event)?, stored_uuid(member)?)))
            .collect()
    }

    /// Counts of an event's RSVPs by status, straight from the rows.
    pub async fn status_counts(&self, event_id: Uuid) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        with_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT status, COUNT(*) FROM rsvps WHERE event_id = $1 GROUP BY status ORDER BY status",
            )
            .bind(event_id)
            .fetch_all(pool)
            .await
        })
    }
}
