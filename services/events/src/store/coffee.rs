//! Booked coffees made into events, for both backends: in one transaction, the event of the
//! proposal if it exists already (a redelivered booking), else the event, both members'
//! confirmed RSVPs and a notice to each.
//!
//! The RSVPs are written here rather than through the RSVP path: nobody answers an
//! invitation, so neither capacity rules nor the invitation, RSVP or notice caps apply, and
//! the host has one too, so that reminders, check-in and calendars treat both alike. A
//! coffee's event names its proposal (`coffee_proposal_id`, unique), which is also what makes
//! the meetings of it go to members as two members to ask (see `meeting_attendees`).

use chrono::{DateTime, Utc};
use rendezvous_common::db::{BeginWrite as _, Locks as _};
use rendezvous_common::with_db;

use super::{EventOps as _, Store, StoreError, Stored as _, stored_uuid};
use crate::domain::chapter::city_key;
use crate::domain::coffee::{self, CoffeeBooking, PastVenue, Venue, VenueChoice};
use crate::domain::event::{EventKind, EventRow, EventState, new_check_in_code};
use crate::domain::rsvp::{RsvpState, RsvpVisibility};
use crate::notices;

/// Past coffees of a city read for a suggestion, the most recent first.
const PAST_COFFEES: i64 = 200;

/// What a ScheduleCoffee did.
#[derive(Clone, Debug)]
pub struct ScheduledCoffee {
    pub event: EventRow,
    /// False when an earlier call made the event (this one changed nothing).
    pub created: bool,
    /// Whether Rendezvous chose the venue (false for an event made earlier).
    pub venue_suggested: bool,
}

impl ScheduledCoffee {
    /// Where the event is held.
    pub fn venue(&self) -> Venue {
        Venue {
            name: self.event.venue_name.clone(),
            address: self.event.venue_address.clone(),
            latitude: self.event.latitude,
            longitude: self.event.longitude,
        }
    }
}

/// Why a coffee was not made into an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoffeeRefusal {
    /// One of the two members has been erased: nothing of theirs is made again.
    MemberErased,
}

/// What a past coffee's row holds of its venue: name, address, latitude, longitude, start.
type PastRow = (String, String, Option<f64>, Option<f64>, DateTime<Utc>);

impl Store {
    /// Makes `booking` the event of its proposal, or returns the event an earlier call made
    /// (and does nothing else). The venue is the booking's or, without one, the one
    /// [`coffee::choose_venue`] picks from the past coffees of the city.
    pub async fn schedule_coffee(
        &self,
        booking: &CoffeeBooking,
        now: DateTime<Utc>,
    ) -> Result<ScheduledCoffee, StoreError<CoffeeRefusal>> {
        let proposal = booking.proposal_id.to_string();
        let (host, guest) = (
            booking.host.member_id.to_string(),
            booking.guest.member_id.to_string(),
        );
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            // Two deliveries of one booking at once: the second finds the first's event.
            tx.advisory_lock(&format!("coffee:{proposal}")).await?;
            let existing: Option<String> =
                sqlx::query_scalar("SELECT id FROM events WHERE coffee_proposal_id = $1")
                    .bind(&proposal)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(id) = existing {
                let event = tx
                    .load_event(stored_uuid(&id)?)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?;
                tx.commit().await?;
                return Ok(ScheduledCoffee {
                    event,
                    created: false,
                    venue_suggested: false,
                });
            }
            let erased: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM erased_members WHERE member_id IN ($1, $2)",
            )
            .bind(&host)
            .bind(&guest)
            .fetch_one(&mut *tx)
            .await?;
            if erased > 0 {
                return Err(CoffeeRefusal::MemberErased.into());
            }
            let choice = match &booking.venue {
                Some(venue) => coffee::choose_venue(Some(venue), &[], &[]),
                None => {
                    let rows: Vec<PastRow> = sqlx::query_as(
                        "SELECT venue_name, venue_address, latitude, longitude, start_at \
                         FROM events WHERE kind = $1 AND city_key = $2 \
                         AND state IN ('published', 'completed') AND start_at < $3 \
                         AND venue_name <> '' ORDER BY start_at DESC, id DESC LIMIT $4",
                    )
                    .bind(EventKind::Coffee.stored())
                    .bind(city_key(&booking.city))
                    .bind(now)
                    .bind(PAST_COFFEES)
                    .fetch_all(&mut *tx)
                    .await?;
                    let past: Vec<PastVenue> = rows.into_iter().map(past_venue).collect();
                    coffee::choose_venue(None, &booking.preferred_areas, &past)
                }
            };
            let VenueChoice { venue, suggested } = choice;
            let new = booking.new_event(&venue, new_check_in_code());
            tx.insert_event(&new, None, EventState::Published, now)
                .await?;
            let id = new.id.to_string();
            // Both seats taken by the RSVPs below (arrivals 1 and 2).
            sqlx::query(
                "UPDATE events SET coffee_proposal_id = $2, confirmed_count = 2, next_seq = 3 \
                 WHERE id = $1",
            )
            .bind(&id)
            .bind(&proposal)
            .execute(&mut *tx)
            .await?;
            for (seq, member) in [(1_i64, &host), (2, &guest)] {
                sqlx::query(
                    "INSERT INTO rsvps (event_id, member_id, status, seq, visibility, created_at, \
                     updated_at, confirmed_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
                )
                .bind(&id)
                .bind(member)
                .bind(RsvpState::Confirmed.stored())
                .bind(seq)
                .bind(RsvpVisibility::Attendees.stored())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let event = tx
                .load_event(new.id)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            for (member, other) in booking.pairs() {
                let facts = notices::member_facts(other.member_id, other.display_name.clone());
                let notice = notices::coffee_scheduled(&event, facts, suggested);
                let key = format!("coffee-scheduled:{}:{}", event.id, member.member_id);
                tx.tell(member.member_id, key, notice.into(), now).await?;
            }
            tx.commit().await?;
            Ok(ScheduledCoffee {
                event,
                created: true,
                venue_suggested: suggested,
            })
        })
    }
}

fn past_venue((name, address, latitude, longitude, start_at): PastRow) -> PastVenue {
    PastVenue {
        venue: Venue {
            name,
            address,
            latitude,
            longitude,
        },
        start_at,
    }
}
