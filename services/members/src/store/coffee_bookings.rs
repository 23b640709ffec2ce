//! Booking a matched coffee: either member names the time (and maybe the place), once; the
//! booking and the request asking events to make it a private event are written together, so
//! a booked coffee always becomes its event and an unbooked one never does.

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::outbox::OutboxWriter as _;
use rendezvous_common::relay::coffee_booked;
use rendezvous_common::{time, with_db};
use rendezvous_proto::events::v1 as events_pb;
use uuid::Uuid;

use super::coffee_people::{CoffeePeople as _, CoffeePerson};
use super::coffee_proposals::{ProposalRow, ProposalSeen as _};
use super::db::Store;
use crate::domain::booking::Booking;
use crate::domain::coffee::ProposalState;

/// What a booking came to.
#[derive(Debug)]
pub enum BookOutcome {
    /// Booked now, or booked at this very time before.
    Booked(Box<ProposalRow>),
    /// Not a proposal made to the member.
    NotFound,
    /// Still open: both have not accepted yet.
    NotMatched,
    /// Past its deadline without both accepting, or ended since.
    Lapsed,
    /// Booked at another time already.
    AlreadyBooked,
}

/// The areas of both, each once, the booker's first.
fn areas(host: &CoffeePerson, guest: &CoffeePerson) -> Vec<String> {
    let mut areas: Vec<String> = Vec::new();
    for area in host.areas.iter().chain(&guest.areas) {
        if !areas.iter().any(|seen| seen.eq_ignore_ascii_case(area)) {
            areas.push(area.clone());
        }
    }
    areas
}

/// What events is asked to make of the coffee `proposal` that `host_id` booked with
/// `guest_id`. The meeting is held in the booker's time zone (UTC when they have none).
fn schedule_request(
    proposal: &str,
    event_id: Uuid,
    (host_id, host): (&str, &CoffeePerson),
    (guest_id, guest): (&str, &CoffeePerson),
    booking: &Booking,
) -> events_pb::ScheduleCoffeeRequest {
    events_pb::ScheduleCoffeeRequest {
        event_id: event_id.to_string(),
        proposal_id: proposal.to_owned(),
        host: Some(events_pb::CoffeeGuest {
            member_id: host_id.to_owned(),
            display_name: host.name.clone(),
        }),
        guest: Some(events_pb::CoffeeGuest {
            member_id: guest_id.to_owned(),
            display_name: guest.name.clone(),
        }),
        start_time: Some(time::to_timestamp(booking.starts_at)),
        end_time: Some(time::to_timestamp(booking.ends_at)),
        time_zone: host.tz().name().to_owned(),
        city: host.city.clone(),
        venue: booking.venue.clone(),
        preferred_areas: areas(host, guest),
    }
}

type BookingState = (
    String,
    String,
    String,
    DateTime<Utc>,
    Option<String>,
    Option<DateTime<Utc>>,
);

impl Store {
    /// Books `booking` for `member`: a matched proposal of theirs not booked yet gets its event
    /// id, meeting time and booker, and events is asked (through the outbox) to make the event.
    pub async fn book_coffee(
        &self,
        member: Uuid,
        booking: &Booking,
        now: DateTime<Utc>,
    ) -> Result<BookOutcome, sqlx::Error> {
        let (me, id) = (member.to_string(), booking.proposal.to_string());
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let lock = self.db.backend().for_update();
            let current: Option<BookingState> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT member_a, member_b, state, respond_by, event_id, meeting_starts_at \
                 FROM coffee_proposals WHERE id = $1 AND (member_a = $2 OR member_b = $2){lock}"
            )))
            .bind(&id)
            .bind(&me)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((a, b, state, respond_by, event_id, starts)) = current else {
                return Ok(BookOutcome::NotFound);
            };
            match ProposalState::seen(&state, respond_by, now) {
                ProposalState::Open => return Ok(BookOutcome::NotMatched),
                ProposalState::Lapsed => return Ok(BookOutcome::Lapsed),
                ProposalState::Matched => {}
            }
            match (event_id, starts) {
                (Some(_), Some(at)) if at == booking.starts_at => {}
                (Some(_), _) => return Ok(BookOutcome::AlreadyBooked),
                (None, _) => {
                    let other = if a == me { &b } else { &a };
                    let people = tx.coffee_people(&[me.clone(), other.clone()]).await?;
                    let (Some(host), Some(guest)) = (people.get(&me), people.get(other)) else {
                        return Ok(BookOutcome::Lapsed);
                    };
                    let event_id = Uuid::now_v7();
                    sqlx::query(
                        "UPDATE coffee_proposals SET event_id = $2, meeting_starts_at = $3, \
                         meeting_ends_at = $4, booked_by = $5 WHERE id = $1",
                    )
                    .bind(&id)
                    .bind(event_id.to_string())
                    .bind(booking.starts_at)
                    .bind(booking.ends_at)
                    .bind(&me)
                    .execute(&mut *tx)
                    .await?;
                    let request =
                        schedule_request(&id, event_id, (&me, host), (other, guest), booking);
                    tx.enqueue(&coffee_booked(&request), now).await?;
                }
            }
            let seen = tx.proposal_seen_by(&me, &id, now).await?;
            tx.commit().await?;
            Ok(BookOutcome::Booked(Box::new(seen)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, zone: &str, areas: &[&str]) -> CoffeePerson {
        CoffeePerson {
            name: name.to_owned(),
            city: "Paris".to_owned(),
            zone: zone.to_owned(),
            windows: Vec::new(),
            areas: areas.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn the_request_carries_both_members_the_bookers_zone_and_every_area_once() {
        let booking = Booking {
            proposal: Uuid::now_v7(),
            starts_at: DateTime::UNIX_EPOCH,
            ends_at: DateTime::UNIX_EPOCH + chrono::Duration::hours(1),
            venue: None,
        };
        let host = person("Amélie", "Europe/Paris", &["Le Marais", "Bastille"]);
        let guest = person("Ben", "", &["le marais", "Belleville"]);
        let event = Uuid::now_v7();
        let request = schedule_request("p", event, ("a", &host), ("b", &guest), &booking);
        assert_eq!(request.event_id, event.to_string());
        assert_eq!(
            request.host.map(|h| (h.member_id, h.display_name)),
            Some(("a".to_owned(), "Amélie".to_owned()))
        );
        assert_eq!(request.guest.map(|g| g.member_id), Some("b".to_owned()));
        assert_eq!(request.time_zone, "Europe/Paris");
        assert_eq!(
            request.preferred_areas,
            ["Le Marais", "Bastille", "Belleville"]
        );
        // A booker without a zone books in UTC, never an empty zone.
        let request = schedule_request("p", event, ("b", &guest), ("a", &host), &booking);
        assert_eq!(request.time_zone, "UTC");
    }
}
