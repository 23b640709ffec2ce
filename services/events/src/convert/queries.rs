//! Read requests (Get*, List*, summaries, calendars) parsed into what the store is asked,
//! every field violation collected at once. A list's page token is read here too, so these
//! conversions take the service's [`PageTokens`] with the request; the query keeps the scope
//! its next token is bound to.

use chrono::{DateTime, Utc};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::pagination::{PageTokens, page_size};
use rendezvous_common::validate;
use rendezvous_proto::events::v1 as pb;
use uuid::Uuid;

use super::{Fields, cursor_id, time};
use crate::convert::rsvps::status_filter;
use crate::domain::chapter::city_key;
use crate::domain::event::bounding_box;
use crate::domain::rsvp::RsvpState;
use crate::error::Error;
use crate::store::EventFilter;

/// Page size when a request names none.
const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page; larger requests are clamped.
const MAX_PAGE_SIZE: u32 = 100;

/// Where the next page of a list ordered by time starts: after `(time µs, id)`, as tokens
/// spell it.
type TimedCursor = (i64, String);

fn limit(f: &mut Fields, requested: i32) -> u32 {
    f.or_default(page_size(requested, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE))
}

/// The `(time, id)` a page token of `scope` carries, if any.
fn timed_cursor(
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
fn id_cursor(f: &mut Fields, tokens: &PageTokens, scope: &str, token: &str) -> Option<Uuid> {
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

/// A request about one event, by its `event_id`.
#[derive(Clone, Copy, Debug)]
pub struct EventRef(pub Uuid);

/// A request about one chapter, by its `chapter_id`.
#[derive(Clone, Copy, Debug)]
pub struct ChapterRef(pub Uuid);

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

by_id!(EventRef, event_id:
    GetEventRequest,
    GetAttendanceSummaryRequest,
    GetCheckInCodeRequest,
    RotateCheckInCodeRequest,
    CompleteEventRequest,
    ExportEventCalendarRequest,
    CancelRsvpRequest,
    ClaimOfferRequest,
);
by_id!(ChapterRef, chapter_id: GetChapterRequest, JoinChapterRequest, LeaveChapterRequest);

/// A request about one series (GetSeries).
#[derive(Clone, Copy, Debug)]
pub struct SeriesRef(pub Uuid);

by_id!(SeriesRef, series_id: GetSeriesRequest);

/// A request about one calendar feed (RevokeCalendarFeed).
#[derive(Clone, Copy, Debug)]
pub struct FeedRef(pub Uuid);

by_id!(FeedRef, feed_id: RevokeCalendarFeedRequest);

/// A ListEvents: the filter, the exact circle of `near` (the filter's box only narrows), and
/// the page.
#[derive(Clone, Debug)]
pub struct ListEventsQuery {
    /// `start_after` defaults to the time of the call, which the handler fills in.
    pub filter: EventFilter,
    pub start_after: Option<DateTime<Utc>>,
    /// Latitude, longitude, radius in km.
    pub near: Option<(f64, f64, f64)>,
    pub limit: u32,
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl ListEventsQuery {
    pub const SCOPE: &'static str = "ListEvents";
}

fn near(f: &mut Fields, near: &pb::GeoFilter) -> (f64, f64, f64) {
    if !(near.latitude.is_finite() && (-90.0..=90.0).contains(&near.latitude)) {
        f.push(FieldViolation::new(
            "near.latitude",
            "must be between -90 and 90",
        ));
    }
    if !(near.longitude.is_finite() && (-180.0..=180.0).contains(&near.longitude)) {
        f.push(FieldViolation::new(
            "near.longitude",
            "must be between -180 and 180",
        ));
    }
    if !(near.radius_km.is_finite() && near.radius_km > 0.0 && near.radius_km <= 20_000.0) {
        f.push(FieldViolation::new(
            "near.radius_km",
            "must be greater than 0 and at most 20000",
        ));
    }
    (near.latitude, near.longitude, near.radius_km)
}

impl TryFrom<(&pb::ListEventsRequest, &PageTokens)> for ListEventsQuery {
    type Error = Error;

    fn try_from((req, tokens): (&pb::ListEventsRequest, &PageTokens)) -> Result<Self, Error> {
        let mut f = Fields::new();
        let city = f.or_default(validate::text("city", &req.city, 0, 100, false));
        let chapter_id = f.optional_id("chapter_id", &req.chapter_id);
        let host_id = f.optional_id("host_id", &req.host_id);
        let series_id = f.optional_id("series_id", &req.series_id);
        let start_after = f.or_default(time("start_after", req.start_after.as_ref()));
        let start_before = f.or_default(time("start_before", req.start_before.as_ref()));
        let query = f.or_default(validate::text("query", &req.query, 0, 200, false));
        let near = req.near.as_ref().map(|n| near(&mut f, n));
        let limit = limit(&mut f, req.page_size);
        let after = timed_cursor(&mut f, tokens, Self::SCOPE, &req.page_token);
        let filter = EventFilter {
            city_key: (!city.is_empty()).then(|| city_key(&city)),
            chapter_id,
            start_after: DateTime::<Utc>::UNIX_EPOCH,
            start_before,
            words: query
                .to_lowercase()
                .split_whitespace()
                .take(10)
                .map(str::to_owned)
                .collect(),
            bbox: near.map(|(lat, lon, r)| bounding_box(lat, lon, r)),
            host_id,
            series_id,
        };
        f.finish(Self {
            filter,
            start_after,
            near,
            limit,
            after,
        })
    }
}

/// A page of a list bound to one scope (ListMyEvents of a member).
#[derive(Clone, Debug)]
pub struct TimedPage {
    pub scope: String,
    pub limit: u32,
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl TryFrom<(&pb::ListMyEventsRequest, &PageTokens, Uuid)> for TimedPage {
    type Error = Error;

    fn try_from(
        (req, tokens, me): (&pb::ListMyEventsRequest, &PageTokens, Uuid),
    ) -> Result<Self, Error> {
        let mut f = Fields::new();
        let limit = limit(&mut f, req.page_size);
        let scope = format!("ListMyEvents/{me}");
        let after = timed_cursor(&mut f, tokens, &scope, &req.page_token);
        f.finish(Self {
            scope,
            limit,
            after,
        })
    }
}

/// A ListSeries: optional chapter and host (`me` for the caller), and the page.
#[derive(Clone, Copy, Debug)]
pub struct ListSeriesQuery {
    pub chapter_id: Option<Uuid>,
    pub host_id: Option<Uuid>,
    pub limit: u32,
    pub after: Option<Uuid>,
}

impl ListSeriesQuery {
    pub const SCOPE: &'static str = "ListSeries";
}

impl TryFrom<(&pb::ListSeriesRequest, &PageTokens, Option<Uuid>)> for ListSeriesQuery {
    type Error = Error;

    /// `me` is the caller, if signed in; `host_id: me` of an anonymous caller is refused.
    fn try_from(
        (req, tokens, me): (&pb::ListSeriesRequest, &PageTokens, Option<Uuid>),
    ) -> Result<Self, Error> {
        let mut f = Fields::new();
        let chapter_id = f.optional_id("chapter_id", &req.chapter_id);
        let host_id = match (req.host_id.as_str(), me) {
            ("me", Some(me)) => Some(me),
            ("me", None) => return Err(Error::Unauthenticated),
            (host, _) => f.optional_id("host_id", host),
        };
        let limit = limit(&mut f, req.page_size);
        let after = id_cursor(&mut f, tokens, Self::SCOPE, &req.page_token);
        f.finish(Self {
            chapter_id,
            host_id,
            limit,
            after,
        })
    }
}

/// A GetRsvp: the event, and whose RSVP (the caller's when `member_id` is empty or `me`).
#[derive(Clone, Copy, Debug)]
pub struct RsvpQuery {
    pub event_id: Uuid,
    pub member_id: Uuid,
}

impl TryFrom<(&pb::GetRsvpRequest, Uuid)> for RsvpQuery {
    type Error = Error;

    fn try_from((req, me): (&pb::GetRsvpRequest, Uuid)) -> Result<Self, Error> {
        let mut f = Fields::new();
        let event_id = f.or_default(validate::id("event_id", &req.event_id));
        let member_id = match req.member_id.as_str() {
            "" | "me" => me,
            other => f.or_default(validate::id("member_id", other)),
        };
        f.finish(Self {
            event_id,
            member_id,
        })
    }
}

/// A ListAttendees: the event, the statuses asked for (confirmed and wait-listed when none),
/// and the page.
#[derive(Clone, Debug)]
pub struct AttendeesQuery {
    pub event_id: Uuid,
    pub statuses: Vec<RsvpState>,
    pub checked_in_only: bool,
    pub scope: String,
    pub limit: u32,
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl TryFrom<(&pb::ListAttendeesRequest, &PageTokens)> for AttendeesQuery {
    type Error = Error;

    fn try_from((req, tokens): (&pb::ListAttendeesRequest, &PageTokens)) -> Result<Self, Error> {
        let mut f = Fields::new();
        let event_id = f.or_default(validate::id("event_id", &req.event_id));
        let mut statuses = Vec::new();
        for (i, s) in req.statuses.iter().enumerate() {
            match status_filter(*s) {
                Some(name) => statuses.push(name),
                None => f.push(FieldViolation::new(
                    format!("statuses[{i}]"),
                    "is not a known RSVP status",
                )),
            }
        }
        if statuses.is_empty() {
            statuses = vec![RsvpState::Confirmed, RsvpState::Waitlisted];
        }
        let limit = limit(&mut f, req.page_size);
        // Tokens are scoped to their event: one cannot page another event with them.
        let scope = format!("ListAttendees/{}", req.event_id);
        let after = timed_cursor(&mut f, tokens, &scope, &req.page_token);
        f.finish(Self {
            event_id,
            statuses,
            checked_in_only: req.checked_in_only,
            scope,
            limit,
            after,
        })
    }
}

/// A ListChapters: the city (its lower-cased key) and the page.
#[derive(Clone, Debug)]
pub struct ChaptersQuery {
    pub city_key: Option<String>,
    pub limit: u32,
    pub after: Option<Uuid>,
}

impl ChaptersQuery {
    pub const SCOPE: &'static str = "ListChapters";
}

impl TryFrom<(&pb::ListChaptersRequest, &PageTokens)> for ChaptersQuery {
    type Error = Error;

    fn try_from((req, tokens): (&pb::ListChaptersRequest, &PageTokens)) -> Result<Self, Error> {
        let mut f = Fields::new();
        let city = f.or_default(validate::text("city", &req.city, 0, 100, false));
        let limit = limit(&mut f, req.page_size);
        let after = id_cursor(&mut f, tokens, Self::SCOPE, &req.page_token);
        f.finish(Self {
            city_key: (!city.is_empty()).then(|| city_key(&city)),
            limit,
            after,
        })
    }
}

/// A ListChapterMembers: the chapter and the page.
#[derive(Clone, Debug)]
pub struct ChapterMembersQuery {
    pub chapter_id: Uuid,
    pub scope: String,
    pub limit: u32,
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl TryFrom<(&pb::ListChapterMembersRequest, &PageTokens)> for ChapterMembersQuery {
    type Error = Error;

    fn try_from(
        (req, tokens): (&pb::ListChapterMembersRequest, &PageTokens),
    ) -> Result<Self, Error> {
        let mut f = Fields::new();
        let chapter_id = f.or_default(validate::id("chapter_id", &req.chapter_id));
        let limit = limit(&mut f, req.page_size);
        // Tokens are scoped to their chapter: one cannot page another chapter with them.
        let scope = format!("ListChapterMembers/{}", req.chapter_id);
        let after = timed_cursor(&mut f, tokens, &scope, &req.page_token);
        f.finish(Self {
            chapter_id,
            scope,
            limit,
            after,
        })
    }
}
