//! `ScheduleCoffee` and `CancelCoffee` (members' relay, at least once) parsed into a
//! [`CoffeeBooking`] and a [`CoffeeCancellation`], and a coffee's venue back into `pb::Venue`.
//!
//! A booking that is wrong in itself is refused, naming every bad field, since no retry
//! mends it. An empty time zone is read as UTC rather than refused (members sends the host's
//! zone, which a member may never have set); preferred areas only steer a suggestion, so
//! beyond [`MAX_AREAS`], and those longer than [`MAX_AREA_CHARS`], are left out rather than
//! refused.

use chrono::{DateTime, Utc};
use rendezvous_common::error::FieldViolation;
use rendezvous_proto::events::v1 as pb;

use super::{Fields, id, time, time_zone, venue};
use crate::convert::events::city;
use crate::domain::coffee::{CoffeeBooking, CoffeeCancellation, Guest, MAX_LENGTH, Venue};
use crate::error::Error;

/// Preferred areas a suggestion weighs, at most.
pub const MAX_AREAS: usize = 20;
/// Longest preferred area weighed, in characters.
pub const MAX_AREA_CHARS: usize = 100;

impl TryFrom<&pb::ScheduleCoffeeRequest> for CoffeeBooking {
    type Error = Error;

    fn try_from(req: &pb::ScheduleCoffeeRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let event_id = id(&mut f, "event_id", &req.event_id);
        let proposal_id = id(&mut f, "proposal_id", &req.proposal_id);
        let host = guest(&mut f, "host", req.host.as_ref());
        let guest = guest(&mut f, "guest", req.guest.as_ref());
        if !host.member_id.is_nil() && host.member_id == guest.member_id {
            f.push(FieldViolation::new(
                "guest.member_id",
                "must differ from host.member_id",
            ));
        }
        let start = required_time(&mut f, "start_time", req.start_time.as_ref());
        let end = required_time(&mut f, "end_time", req.end_time.as_ref());
        if let (Some(start), Some(end)) = (start, end) {
            if end <= start {
                f.push(FieldViolation::new("end_time", "must be after start_time"));
            } else if end - start > MAX_LENGTH {
                f.push(FieldViolation::new(
                    "end_time",
                    format!(
                        "must be at most {} hours after start_time",
                        MAX_LENGTH.num_hours()
                    ),
                ));
            }
        }
        let time_zone = if req.time_zone.trim().is_empty() {
            "UTC".to_owned()
        } else {
            f.or_default(time_zone("time_zone", &req.time_zone))
        };
        let city = f.or_default(city("city", &req.city));
        if req.city.trim().is_empty() {
            f.push(FieldViolation::new("city", "is required"));
        }
        let venue = req.venue.as_ref().map(|requested| {
            if requested.name.trim().is_empty() {
                f.push(FieldViolation::new("venue.name", "is required"));
            }
            let (name, address, latitude, longitude) = venue(&mut f, "venue", Some(requested));
            Venue {
                name,
                address,
                latitude,
                longitude,
            }
        });
        let preferred_areas = req
            .preferred_areas
            .iter()
            .map(|area| area.trim())
            .filter(|area| !area.is_empty() && area.chars().count() <= MAX_AREA_CHARS)
            .take(MAX_AREAS)
            .map(str::to_owned)
            .collect();
        f.finish(Self {
            event_id,
            proposal_id,
            host,
            guest,
            start_at: start.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            end_at: end.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            time_zone,
            city,
            venue,
            preferred_areas,
        })
    }
}

impl TryFrom<&pb::CancelCoffeeRequest> for CoffeeCancellation {
    type Error = Error;

    fn try_from(req: &pb::CancelCoffeeRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let proposal_id = id(&mut f, "proposal_id", &req.proposal_id);
        let event_id = id(&mut f, "event_id", &req.event_id);
        f.finish(Self {
            proposal_id,
            event_id,
        })
    }
}

/// `host` or `guest`: required, with a member id; the display name as members gave it.
fn guest(f: &mut Fields, field: &str, guest: Option<&pb::CoffeeGuest>) -> Guest {
    let Some(guest) = guest else {
        f.push(FieldViolation::new(field, "is required"));
        return Guest {
            member_id: uuid::Uuid::nil(),
            display_name: String::new(),
        };
    };
    Guest {
        member_id: id(f, &format!("{field}.member_id"), &guest.member_id),
        display_name: guest.display_name.trim().to_owned(),
    }
}

fn required_time(
    f: &mut Fields,
    field: &str,
    value: Option<&rendezvous_proto::prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    let at = time(field, value)
        .and_then(|at| at.ok_or_else(|| FieldViolation::new(field, "is required")));
    f.violations().check(at)
}

/// A coffee's venue as the wire spells it (an empty name: none).
pub(crate) fn venue_pb(venue: &Venue) -> pb::Venue {
    pb::Venue {
        name: venue.name.clone(),
        address: venue.address.clone(),
        latitude: venue.latitude.unwrap_or_default(),
        longitude: venue.longitude.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use rendezvous_common::time::to_timestamp;
    use uuid::Uuid;

    use super::*;

    fn request() -> pb::ScheduleCoffeeRequest {
        let start = Utc::now() + Duration::days(2);
        pb::ScheduleCoffeeRequest {
            event_id: Uuid::now_v7().to_string(),
            proposal_id: Uuid::now_v7().to_string(),
            host: Some(pb::CoffeeGuest {
                member_id: Uuid::now_v7().to_string(),
                display_name: " Amélie ".to_owned(),
            }),
            guest: Some(pb::CoffeeGuest {
                member_id: Uuid::now_v7().to_string(),
                display_name: "Ben".to_owned(),
            }),
            start_time: Some(to_timestamp(start)),
            end_time: Some(to_timestamp(start + Duration::hours(1))),
            time_zone: "Europe/Paris".to_owned(),
            city: "Paris".to_owned(),
            venue: None,
            preferred_areas: vec![" Le Marais ".to_owned(), String::new(), "x".repeat(101)],
        }
    }

    fn fields(req: &pb::ScheduleCoffeeRequest) -> Vec<String> {
        match CoffeeBooking::try_from(req) {
            Ok(_) => Vec::new(),
            Err(Error::InvalidArgument(violations)) => {
                violations.into_iter().map(|v| v.field).collect()
            }
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn a_good_booking_parses_with_its_areas_trimmed() {
        let booking = CoffeeBooking::try_from(&request()).unwrap();
        assert_eq!(booking.host.display_name, "Amélie");
        assert_eq!(booking.preferred_areas, ["Le Marais"]);
        assert_eq!(booking.venue, None);
        assert_eq!(booking.time_zone, "Europe/Paris");
    }

    #[test]
    fn an_empty_time_zone_is_utc() {
        let mut req = request();
        req.time_zone = "  ".to_owned();
        assert_eq!(CoffeeBooking::try_from(&req).unwrap().time_zone, "UTC");
        req.time_zone = "Mars/Olympus".to_owned();
        assert_eq!(fields(&req), ["time_zone"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut req = request();
        req.event_id = "coffee".to_owned();
        req.proposal_id = String::new();
        req.guest = None;
        req.city = " ".to_owned();
        req.end_time = req.start_time;
        assert_eq!(
            fields(&req),
            ["event_id", "proposal_id", "guest", "end_time", "city"]
        );

        let mut req = request();
        req.guest.as_mut().unwrap().member_id = req.host.as_ref().unwrap().member_id.clone();
        req.host.as_mut().unwrap().member_id = req.guest.as_ref().unwrap().member_id.clone();
        assert_eq!(fields(&req), ["guest.member_id"]);
        req.host.as_mut().unwrap().member_id = "anna".to_owned();
        req.start_time = None;
        assert_eq!(fields(&req), ["host.member_id", "start_time"]);
    }

    #[test]
    fn a_cancellation_names_each_id_that_is_not_one() {
        let (proposal, event) = (Uuid::now_v7(), Uuid::now_v7());
        let good = pb::CancelCoffeeRequest {
            proposal_id: proposal.to_string(),
            event_id: event.to_string(),
        };
        let parsed = CoffeeCancellation::try_from(&good).unwrap();
        assert_eq!((parsed.proposal_id, parsed.event_id), (proposal, event));
        let bad = pb::CancelCoffeeRequest {
            proposal_id: "coffee".to_owned(),
            event_id: String::new(),
        };
        let Err(Error::InvalidArgument(violations)) = CoffeeCancellation::try_from(&bad) else {
            panic!("accepted a cancellation without ids");
        };
        let named: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(named, ["proposal_id", "event_id"]);
    }

    #[test]
    fn a_coffee_lasts_at_most_four_hours() {
        let mut req = request();
        let start = Utc::now();
        req.start_time = Some(to_timestamp(start));
        req.end_time = Some(to_timestamp(start + Duration::hours(4)));
        assert!(fields(&req).is_empty());
        req.end_time = Some(to_timestamp(
            start + Duration::hours(4) + Duration::seconds(1),
        ));
        assert_eq!(fields(&req), ["end_time"]);
    }

    #[test]
    fn a_venue_given_needs_a_name_and_coordinates_in_range() {
        let mut req = request();
        req.venue = Some(pb::Venue {
            name: String::new(),
            address: "a".repeat(501),
            latitude: 91.0,
            longitude: -181.0,
        });
        assert_eq!(
            fields(&req),
            [
                "venue.name",
                "venue.address",
                "venue.latitude",
                "venue.longitude"
            ]
        );
        req.venue = Some(pb::Venue {
            name: "n".repeat(201),
            ..Default::default()
        });
        assert_eq!(fields(&req), ["venue.name"]);
        req.venue = Some(pb::Venue {
            name: " Le Peloton ".to_owned(),
            address: "17 rue du Pont Louis-Philippe".to_owned(),
            latitude: 48.855,
            longitude: 2.357,
        });
        let venue = CoffeeBooking::try_from(&req).unwrap().venue.unwrap();
        assert_eq!(venue.name, "Le Peloton");
        assert_eq!(venue.latitude, Some(48.855));
    }
}
