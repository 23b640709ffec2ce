//! Conversions at the edge: protobuf requests into domain types (collecting every field
//! violation at once) and domain types back into protobuf messages. Nothing here does I/O.
//! Write and read requests alike convert with `TryFrom`; a list request converts together
//! with the service's [`PageTokens`] (its page token is read here) and its query keeps the
//! scope the next token is bound to.

/// `TryFrom<&pb::X>` for a request type that is one id: the UUID in `$field`, or the
/// violation naming it.
macro_rules! by_id {
    ($target:ident, $field:ident: $($request:ident),+ $(,)?) => {
        $(impl TryFrom<&pb::$request> for $target {
            type Error = Error;

            fn try_from(req: &pb::$request) -> Result<Self, Error> {
                Ok(Self(validate::id(stringify!($field), &req.$field)?))
            }
        })+
    };
}

pub mod chapters;
pub mod coffee;
pub mod events;
pub mod internal;
pub mod rsvps;
pub mod series;
pub mod want_to_meet;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::pagination::{PageTokens, page_size};
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::{Duration as PbDuration, Timestamp};

use uuid::Uuid;

use crate::domain::rsvp::WaitlistMode;
use crate::error::Error;

const MAX_CAPACITY: i32 = 10_000;

/// Collects every field violation of one request while it is parsed. Each field yields its
/// value or, once its violation is noted, a placeholder that [`Fields::finish`] never lets
/// out; so a parser reads top to bottom, reports all that is wrong at once, and needs no
/// fallback for a combination that cannot happen.
#[derive(Debug, Default)]
pub struct Fields(Violations);

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value, or `placeholder` after noting the violation.
    pub fn or<T>(&mut self, result: Result<T, FieldViolation>, placeholder: T) -> T {
        match result {
            Ok(value) => value,
            Err(violation) => {
                self.0.push(violation);
                placeholder
            }
        }
    }

    /// The value, or its type's default after noting the violation.
    pub fn or_default<T: Default>(&mut self, result: Result<T, FieldViolation>) -> T {
        self.or(result, T::default())
    }

    /// An optional id filter: `None` when `value` is empty, else the parsed id (a malformed one
    /// is noted as a violation of `field`).
    pub fn optional_id(&mut self, field: &str, value: &str) -> Option<Uuid> {
        (!value.is_empty()).then(|| self.or_default(validate::id(field, value)))
    }

    pub fn push(&mut self, violation: FieldViolation) {
        self.0.push(violation);
    }

    /// For the validators written against [`Violations`].
    pub fn violations(&mut self) -> &mut Violations {
        &mut self.0
    }

    /// The violations so far with `violation`, for a request that cannot be read further.
    pub fn refuse(mut self, violation: FieldViolation) -> Error {
        self.0.push(violation);
        Error::InvalidArgument(self.0.finish().err().unwrap_or_default())
    }

    /// `value` when no field was wrong; INVALID_ARGUMENT naming every wrong field otherwise.
    pub fn finish<T>(self, value: T) -> Result<T, Error> {
        self.0
            .finish()
            .map(|()| value)
            .map_err(Error::InvalidArgument)
    }
}

/// An id field: a UUID, or a violation naming the field (never the nil id).
pub fn id(fields: &mut Fields, field: &str, value: &str) -> Uuid {
    fields.or_default(validate::id(field, value))
}

/// The event and member ids of a request about one member of one event.
pub fn event_and_member(f: &mut Fields, event_id: &str, member_id: &str) -> (Uuid, Uuid) {
    (id(f, "event_id", event_id), id(f, "member_id", member_id))
}

/// The id a page token's cursor carries (tokens spell ids as text).
pub fn cursor_id(id: &str) -> Result<Uuid, FieldViolation> {
    Uuid::try_parse(id)
        .map_err(|_| FieldViolation::new("page_token", "not a page token issued by this method"))
}

/// An optional text field kept as `None` when empty (etags, request ids).
pub fn optional(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// An optional id as the wire spells it: empty for none.
pub(crate) fn optional_id_pb(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// Ids as the wire spells them.
pub(crate) fn ids_pb(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

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

/// A venue; none given is an empty one.
pub(crate) fn venue(f: &mut Fields, prefix: &str, venue: Option<&pb::Venue>) -> VenueParts {
    let Some(venue) = venue else {
        return (String::new(), String::new(), None, None);
    };
    let name = f.or_default(validate::text(
        &format!("{prefix}.name"),
        &venue.name,
        0,
        200,
        false,
    ));
    let address = f.or_default(validate::text(
        &format!("{prefix}.address"),
        &venue.address,
        0,
        500,
        false,
    ));
    if !(venue.latitude.is_finite() && (-90.0..=90.0).contains(&venue.latitude)) {
        f.push(FieldViolation::new(
            format!("{prefix}.latitude"),
            "must be between -90 and 90",
        ));
    }
    if !(venue.longitude.is_finite() && (-180.0..=180.0).contains(&venue.longitude)) {
        f.push(FieldViolation::new(
            format!("{prefix}.longitude"),
            "must be between -180 and 180",
        ));
    }
    let located = venue.latitude != 0.0 || venue.longitude != 0.0;
    (
        name,
        address,
        located.then_some(venue.latitude),
        located.then_some(venue.longitude),
    )
}

/// The wait-list mode and, for offers, their window.
pub(crate) fn waitlist(
    f: &mut Fields,
    prefix: &str,
    mode: i32,
    window: Option<&PbDuration>,
) -> WaitlistMode {
    match pb::WaitlistMode::try_from(mode) {
        Ok(pb::WaitlistMode::Unspecified | pb::WaitlistMode::Automatic) => WaitlistMode::Automatic,
        Ok(pb::WaitlistMode::Offer) => {
            let field = format!("{prefix}.offer_window");
            match duration(&field, window) {
                Ok(Some(window))
                    if window >= Duration::minutes(1) && window <= Duration::days(7) =>
                {
                    WaitlistMode::Offer { window }
                }
                Ok(_) => f.or(
                    Err(FieldViolation::new(
                        field,
                        "is required for WAITLIST_MODE_OFFER: between 1 minute and 7 days",
                    )),
                    WaitlistMode::Automatic,
                ),
                Err(violation) => f.or(Err(violation), WaitlistMode::Automatic),
            }
        }
        Err(_) => f.or(
            Err(FieldViolation::new(
                format!("{prefix}.waitlist_mode"),
                "is not a known wait-list mode",
            )),
            WaitlistMode::Automatic,
        ),
    }
}

/// Page size when a request names none.
const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page; larger requests are clamped.
const MAX_PAGE_SIZE: u32 = 100;

/// Where the next page of a list ordered by time starts: after `(time µs, id)`, as tokens
/// spell it.
type TimedCursor = (i64, String);

/// The page size a list request asks for: 0 is the default, more than the largest is clamped.
pub(crate) fn limit(f: &mut Fields, requested: i32) -> u32 {
    f.or_default(page_size(requested, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE))
}

/// The `(time, id)` a page token of `scope` carries, if any.
pub(crate) fn timed_cursor(
    f: &mut Fields,
    tokens: &PageTokens,
    scope: &str,
    token: &str,
) -> Option<(DateTime<Utc>, Uuid)> {
    let cursor: Option<TimedCursor> = f.or_default(tokens.decode(scope, token));
    let (micros, id) = cursor?;
    let at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| FieldViolation::new("page_token", "not a page token issued by this method"));
    let at = f.violations().check(at)?;
    f.violations().check(cursor_id(&id)).map(|id| (at, id))
}

/// The id a page token of `scope` carries, if any.
pub(crate) fn id_cursor(
    f: &mut Fields,
    tokens: &PageTokens,
    scope: &str,
    token: &str,
) -> Option<Uuid> {
    let cursor: Option<String> = f.or_default(tokens.decode(scope, token));
    cursor.and_then(|id| f.violations().check(cursor_id(&id)))
}

/// The token of the page after `(at, id)`.
pub fn timed_token(tokens: &PageTokens, scope: &str, at: DateTime<Utc>, id: Uuid) -> String {
    let cursor: TimedCursor = (at.timestamp_micros(), id.to_string());
    tokens.encode(scope, &cursor)
}

/// The token of the page after `id`.
pub fn id_token(tokens: &PageTokens, scope: &str, id: Uuid) -> String {
    tokens.encode(scope, &id.to_string())
}
