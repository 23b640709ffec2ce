//! Conversions at the edge: protobuf requests into domain types (collecting every field
//! violation at once) and domain types back into protobuf messages. Nothing here does I/O.

pub mod chapters;
pub mod events;
pub mod rsvps;
pub mod series;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::{Duration as PbDuration, Timestamp};

use crate::domain::rsvp::WaitlistMode;

const MAX_CAPACITY: i32 = 10_000;

pub(crate) fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(rendezvous_common::time::to_timestamp(at))
}

pub(crate) fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(crate) fn duration_pb(secs: i64) -> Option<PbDuration> {
    (secs > 0).then_some(PbDuration {
        seconds: secs,
        nanos: 0,
    })
}

pub(crate) fn time(
    field: &str,
    value: Option<&Timestamp>,
) -> Result<Option<DateTime<Utc>>, FieldViolation> {
    value
        .map(|t| rendezvous_common::time::from_timestamp(field, t))
        .transpose()
}

pub(crate) fn duration(
    field: &str,
    value: Option<&PbDuration>,
) -> Result<Option<Duration>, FieldViolation> {
    let Some(d) = value else {
        return Ok(None);
    };
    if d.seconds < 0 || d.nanos < 0 || d.nanos >= 1_000_000_000 {
        return Err(FieldViolation::new(field, "must be a positive duration"));
    }
    Duration::try_seconds(d.seconds)
        .map(Some)
        .ok_or_else(|| FieldViolation::new(field, "is too long"))
}

pub(crate) fn time_zone(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    value
        .parse::<Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| FieldViolation::new(field, "must be an IANA time zone such as Europe/Paris"))
}

pub(crate) fn capacity(field: &str, value: i32) -> Result<u32, FieldViolation> {
    if (1..=MAX_CAPACITY).contains(&value) {
        Ok(u32::try_from(value).unwrap_or(1))
    } else {
        Err(FieldViolation::new(
            field,
            format!("must be between 1 and {MAX_CAPACITY}"),
        ))
    }
}

/// Name, address, latitude, longitude of a venue.
pub(crate) type VenueParts = (String, String, Option<f64>, Option<f64>);

pub(crate) fn venue(
    prefix: &str,
    v: &mut Violations,
    venue: Option<&pb::Venue>,
) -> Option<VenueParts> {
    let Some(venue) = venue else {
        return Some((String::new(), String::new(), None, None));
    };
    let name = v.check(validate::text(
        &format!("{prefix}.name"),
        &venue.name,
        0,
        200,
        false,
    ));
    let address = v.check(validate::text(
        &format!("{prefix}.address"),
        &venue.address,
        0,
        500,
        false,
    ));
    let mut ok = true;
    if !(venue.latitude.is_finite() && (-90.0..=90.0).contains(&venue.latitude)) {
        v.push(FieldViolation::new(
            format!("{prefix}.latitude"),
            "must be between -90 and 90",
        ));
        ok = false;
    }
    if !(venue.longitude.is_finite() && (-180.0..=180.0).contains(&venue.longitude)) {
        v.push(FieldViolation::new(
            format!("{prefix}.longitude"),
            "must be between -180 and 180",
        ));
        ok = false;
    }
    let located = venue.latitude != 0.0 || venue.longitude != 0.0;
    match (name, address, ok) {
        (Some(name), Some(address), true) => Some((
            name,
            address,
            located.then_some(venue.latitude),
            located.then_some(venue.longitude),
        )),
        _ => None,
    }
}

/// `None`: automatic; `Some(window)`: offers.
pub(crate) fn waitlist(
    prefix: &str,
    v: &mut Violations,
    mode: i32,
    window: Option<&PbDuration>,
) -> Option<WaitlistMode> {
    match pb::WaitlistMode::try_from(mode) {
        Ok(pb::WaitlistMode::Unspecified | pb::WaitlistMode::Automatic) => {
            Some(WaitlistMode::Automatic)
        }
        Ok(pb::WaitlistMode::Offer) => {
            match v.check(duration(&format!("{prefix}.offer_window"), window)) {
                Some(Some(window))
                    if window >= Duration::minutes(1) && window <= Duration::days(7) =>
                {
                    Some(WaitlistMode::Offer { window })
                }
                Some(_) => {
                    v.push(FieldViolation::new(
                        format!("{prefix}.offer_window"),
                        "is required for WAITLIST_MODE_OFFER: between 1 minute and 7 days",
                    ));
                    None
                }
                None => None,
            }
        }
        Err(_) => {
            v.push(FieldViolation::new(
                format!("{prefix}.waitlist_mode"),
                "is not a known wait-list mode",
            ));
            None
        }
    }
}
