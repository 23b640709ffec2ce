//! Booked coffees made into events, for both backends: in one transaction, the event of the
//! proposal if it exists already (a redelivered booking), else the event, both members'
//! confirmed RSVPs and a notice to each; and coffees called off, in one transaction too.
//!
//! The RSVPs are written here rather than through the RSVP path: nobody answers an
//! invitation, so neither capacity rules nor the invitation, RSVP or notice caps apply, and
//! the host has one too, so that reminders, check-in and calendars treat both alike. A
//! coffee's event names its proposal (`coffee_proposal_id`, unique), which is also what makes
//! the meetings of it go to members as two members to ask (see `meeting_attendees`).
//!
//! members' relay does not order a proposal's CancelCoffee after its ScheduleCoffee, so a
//! cancellation is remembered for good (`coffee_cancellations`) whether or not the event
//! exists yet, and a booking that finds one makes nothing. Both take the proposal's advisory
//! lock first, so a booking and its cancellation arriving at once are serialised: either the
//! booking sees the cancellation, or the cancellation sees the event.

use chrono::{DateTime, Utc};
use rendezvous_common::db::{BeginWrite as _, Locks as _};
use rendezvous_common::with_db;
use uuid::Uuid;

use super::{EventOps as _, Store, StoreError, Stored as _, stored_uuid, stored_uuids};
use crate::domain::chapter::city_key;
use crate::domain::coffee::{
    self, CoffeeBooking, CoffeeCancellation, PastVenue, Venue, VenueChoice,
};
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

/// What a ScheduleCoffee found to do.
#[derive(Clone, Debug)]
pub enum CoffeeSchedule {
    /// The event of the proposal, made by this call or an earlier one.
    Scheduled(Box<ScheduledCoffee>),
    /// The coffee was called off before it was booked here: no event, and none ever will be.
    CalledOff,
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
    /// (and does nothing else), or — when the proposal was called off first — makes nothing.
    /// The venue is the booking's or, without one, the one [`coffee::choose_venue`] picks from
    /// the past coffees of the city.
    pub async fn schedule_coffee(
        &self,
        booking: &CoffeeBooking,
        now: DateTime<Utc>,
    ) -> Result<CoffeeSchedule, StoreError<CoffeeRefusal>> {
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
                return Ok(CoffeeSchedule::Scheduled(Box::new(ScheduledCoffee {
                    event,
                    created: false,
                    venue_suggested: false,
                })));
            }
            // Before the erasure check: a coffee called off because an account was deleted
            // is answered, not refused, so that the relay stops sending it.
            let called_off: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM coffee_cancellations WHERE proposal_id = $1)",
            )
            .bind(&proposal)
            .fetch_one(&mut *tx)
            .await?;
            if called_off {
                tx.commit().await?;
                return Ok(CoffeeSchedule::CalledOff);
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
            Ok(CoffeeSchedule::Scheduled(Box::new(ScheduledCoffee {
                event,
                created: true,
                venue_suggested: suggested,
            })))
        })
    }

    /// Calls off the coffee of `cancellation.proposal_id`: remembers it (so that a booking of
    /// it arriving later makes nothing) and, when its event exists and
    /// [`coffee::may_call_off`] says so, cancels the event and tells each of its confirmed
    /// members still here — the host too, since neither chose it, and with no reason, so that
    /// neither learns who ended it. True when this call cancelled the event. Reminders stop
    /// with it: the sweep only reminds of published events.
    pub async fn cancel_coffee(
        &self,
        cancellation: &CoffeeCancellation,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let proposal = cancellation.proposal_id.to_string();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            tx.advisory_lock(&format!("coffee:{proposal}")).await?;
            sqlx::query(
                "INSERT INTO coffee_cancellations (proposal_id, cancelled_at) VALUES ($1, $2) \
                 ON CONFLICT (proposal_id) DO NOTHING",
            )
            .bind(&proposal)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let id: Option<String> =
                sqlx::query_scalar("SELECT id FROM events WHERE coffee_proposal_id = $1")
                    .bind(&proposal)
                    .fetch_optional(&mut *tx)
                    .await?;
            let event = match id {
                Some(id) => tx.lock_event(stored_uuid(&id)?).await?,
                None => None,
            };
            let Some(event) = event.filter(|e| coffee::may_call_off(e.state, e.start_at, now))
            else {
                tx.commit().await?;
                return Ok(false);
            };
            let id = event.id.to_string();
            sqlx::query(
                "UPDATE events SET state = 'cancelled', cancellation_reason = '', \
                 version = version + 1, updated_at = $2 WHERE id = $1",
            )
            .bind(&id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let members: Vec<String> = sqlx::query_scalar(
                "SELECT member_id FROM rsvps WHERE event_id = $1 AND status = $2 \
                 AND member_id NOT IN (SELECT member_id FROM erased_members) ORDER BY seq",
            )
            .bind(&id)
            .bind(RsvpState::Confirmed.stored())
            .fetch_all(&mut *tx)
            .await?;
            let members = stored_uuids(&members)?;
            let notice = notices::event_cancelled(&event, "");
            // The key a host's own cancel would use: a member is told of it once either way.
            let key = |member: Uuid| format!("event-cancelled:{id}:{member}");
            tx.tell_each(&members, &key, notice.into(), now).await?;
            tx.commit().await?;
            Ok(true)
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
