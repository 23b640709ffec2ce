//! Conversions between `google.protobuf.Timestamp` and chrono, at the precision and range
//! both databases store: microseconds, years 1 to 9999 (beyond them PostgreSQL refuses the
//! value and SQLite's text timestamps no longer sort).

use chrono::{DateTime, Datelike as _, Utc};
use rendezvous_proto::prost_types::Timestamp;

use crate::error::FieldViolation;

/// `at` cut to the microsecond.
pub fn truncate_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// A timestamp for a response.
pub fn to_timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A timestamp from a request, named `field` in the violation when it is not a valid time
/// between years 1 and 9999.
pub fn from_timestamp(field: &str, at: &Timestamp) -> Result<DateTime<Utc>, FieldViolation> {
    let at = u32::try_from(at.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .and_then(|nanos| DateTime::from_timestamp(at.seconds, nanos))
        .ok_or_else(|| FieldViolation::new(field, "is not a valid timestamp"))?;
    if !(1..=9999).contains(&at.year()) {
        return Err(FieldViolation::new(
            field,
            "must be between years 1 and 9999",
        ));
    }
    Ok(truncate_micros(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_at_microseconds_and_refuse_nonsense() {
        let at = DateTime::from_timestamp(1_800_000_000, 123_456_789).unwrap();
        let back = from_timestamp("t", &to_timestamp(at)).unwrap();
        assert_eq!(
            back,
            DateTime::from_timestamp(1_800_000_000, 123_456_000).unwrap()
        );
        assert!(
            from_timestamp(
                "t",
                &Timestamp {
                    seconds: 0,
                    nanos: -1
                }
            )
            .is_err()
        );
        assert!(
            from_timestamp(
                "t",
                &Timestamp {
                    seconds: 0,
                    nanos: 1_000_000_000
                }
            )
            .is_err()
        );
        assert!(
            from_timestamp(
                "t",
                &Timestamp {
                    seconds: i64::MAX / 1000,
                    nanos: 0
                }
            )
            .is_err()
        );
        assert!(
            from_timestamp(
                "t",
                &Timestamp {
                    seconds: -70_000_000_000,
                    nanos: 0
                }
            )
            .is_err()
        );
    }
}
