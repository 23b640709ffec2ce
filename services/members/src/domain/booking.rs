//! Booking a matched coffee: when the two meet and, optionally, where. The meeting lasts an
//! hour, starts on the hour or the half hour, and is far enough ahead for both to be told and
//! near enough to still be the coffee they agreed to.

use chrono::{DateTime, Duration, Timelike as _, Utc};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::members::v1 as pb;
use uuid::Uuid;

use super::fields;
use super::meeting::timestamp;

/// How long a coffee is.
pub const LENGTH: Duration = Duration::hours(1);
/// The earliest a coffee may start after it is booked.
pub const MIN_LEAD: Duration = Duration::hours(1);
/// The latest a coffee may start after it is booked.
pub const MAX_AHEAD: Duration = Duration::days(30);
pub const MAX_VENUE_NAME_CHARS: usize = 200;
pub const MAX_VENUE_ADDRESS_CHARS: usize = 500;

/// A checked booking.
#[derive(Clone, Debug, PartialEq)]
pub struct Booking {
    pub proposal: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The venue the member chose; none: events suggests one.
    pub venue: Option<events_pb::Venue>,
}

fn start(
    at: Option<&rendezvous_proto::prost_types::Timestamp>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, FieldViolation> {
    let at = timestamp("start_time", at)?;
    fields::rule(
        at.second() == 0 && at.nanosecond() == 0 && at.minute() % 30 == 0,
        "start_time",
        "must be on the hour or the half hour",
    )?;
    fields::rule(
        at >= now + MIN_LEAD,
        "start_time",
        "must be at least an hour ahead",
    )?;
    fields::rule(
        at <= now + MAX_AHEAD,
        "start_time",
        "must be at most 30 days ahead",
    )?;
    Ok(at)
}

fn venue(
    given: Option<&events_pb::Venue>,
) -> Result<Option<events_pb::Venue>, Vec<FieldViolation>> {
    let Some(given) = given else {
        return Ok(None);
    };
    let (name, address, ..) = fields::all((
        validate::text("venue.name", &given.name, 1, MAX_VENUE_NAME_CHARS, false),
        validate::text(
            "venue.address",
            &given.address,
            0,
            MAX_VENUE_ADDRESS_CHARS,
            false,
        ),
        fields::rule(
            given.latitude.is_finite() && (-90.0..=90.0).contains(&given.latitude),
            "venue.latitude",
            "must be between -90 and 90",
        ),
        fields::rule(
            given.longitude.is_finite() && (-180.0..=180.0).contains(&given.longitude),
            "venue.longitude",
            "must be between -180 and 180",
        ),
    ))?;
    Ok(Some(events_pb::Venue {
        name,
        address,
        latitude: given.latitude,
        longitude: given.longitude,
    }))
}

impl Booking {
    /// `request` checked at `now`, with every bad field at once.
    pub fn parse(
        request: &pb::ScheduleCoffeeRequest,
        now: DateTime<Utc>,
    ) -> Result<Self, Vec<FieldViolation>> {
        let (proposal, starts_at, venue) = fields::all((
            validate::id("proposal_id", &request.proposal_id),
            start(request.start_time.as_ref(), now),
            venue(request.venue.as_ref()),
        ))?;
        Ok(Self {
            proposal,
            starts_at,
            ends_at: starts_at + LENGTH,
            venue,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use rendezvous_common::time::to_timestamp;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 4, 1, 9, 10, 0).unwrap()
    }

    fn request(start: DateTime<Utc>) -> pb::ScheduleCoffeeRequest {
        pb::ScheduleCoffeeRequest {
            proposal_id: Uuid::now_v7().to_string(),
            start_time: Some(to_timestamp(start)),
            venue: None,
        }
    }

    fn fields_of(result: Result<Booking, Vec<FieldViolation>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn a_booking_lasts_an_hour_from_a_half_hour_at_least_an_hour_ahead() {
        let start = Utc.with_ymd_and_hms(2027, 4, 1, 10, 30, 0).unwrap();
        let booking = Booking::parse(&request(start), now()).unwrap();
        assert_eq!(booking.starts_at, start);
        assert_eq!(booking.ends_at, start + Duration::hours(1));
        assert_eq!(booking.venue, None);
        // 10:00 is only 50 minutes ahead; 10:15 is off the grid.
        for bad in [
            Utc.with_ymd_and_hms(2027, 4, 1, 10, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 4, 1, 10, 15, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 5, 2, 10, 0, 0).unwrap(),
            start + Duration::milliseconds(1),
        ] {
            assert_eq!(
                fields_of(Booking::parse(&request(bad), now())),
                ["start_time"]
            );
        }
        // The last half hour of the thirtieth day is still in.
        let last = Utc.with_ymd_and_hms(2027, 5, 1, 9, 0, 0).unwrap();
        assert!(Booking::parse(&request(last), now()).is_ok());
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let mut bad = request(now());
        bad.proposal_id = "coffee".to_owned();
        bad.venue = Some(events_pb::Venue {
            name: " ".to_owned(),
            address: "x".repeat(501),
            latitude: 91.0,
            longitude: f64::NAN,
        });
        assert_eq!(
            fields_of(Booking::parse(&bad, now())),
            [
                "proposal_id",
                "start_time",
                "venue.name",
                "venue.address",
                "venue.latitude",
                "venue.longitude"
            ]
        );
        bad.start_time = None;
        assert!(fields_of(Booking::parse(&bad, now())).contains(&"start_time".to_owned()));
    }

    #[test]
    fn a_chosen_venue_is_kept_trimmed() {
        let mut given = request(Utc.with_ymd_and_hms(2027, 4, 2, 8, 30, 0).unwrap());
        given.venue = Some(events_pb::Venue {
            name: " Café Saint-Paul ".to_owned(),
            address: "12 rue Saint-Paul, Paris".to_owned(),
            latitude: 48.853,
            longitude: 2.362,
        });
        let venue = Booking::parse(&given, now()).unwrap().venue.unwrap();
        assert_eq!(venue.name, "Café Saint-Paul");
        assert_eq!(venue.address, "12 rue Saint-Paul, Paris");
    }
}
