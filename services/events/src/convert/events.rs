//! Events between protobuf and the domain: CreateEvent and UpdateEvent parsed into
//! [`NewEvent`] and [`EventEdit`], and events back into `pb::Event`.

use chrono::{DateTime, Utc};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::pagination::PageTokens;
use rendezvous_common::validate::{self};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use uuid::Uuid;

use super::{
    Fields, capacity, count, duration_pb, event_and_member, id, limit, optional, optional_id_pb,
    time, time_zone, timed_cursor, ts, venue, waitlist,
};
use crate::calendar::CalendarEvent;
use crate::domain::chapter::city_key;
use crate::domain::event::{
    CohostRole, EventEdit, EventKind, EventRow, EventState, EventVisibility, NewEvent,
    bounding_box, check_times, new_check_in_code,
};
use crate::domain::rsvp::WaitlistMode;
use crate::error::Error;
use crate::store::EventFilter;

const UPDATABLE_PATHS: [&str; 13] = [
    "title",
    "description",
    "kind",
    "venue",
    "city",
    "start_time",
    "end_time",
    "time_zone",
    "capacity",
    "rsvp_deadline",
    "visibility",
    "approval_required",
    "waitlist_mode",
];

pub(crate) fn kind_name(kind: i32) -> Option<EventKind> {
    match pb::EventKind::try_from(kind).ok()? {
        pb::EventKind::Coffee => Some(EventKind::Coffee),
        pb::EventKind::Drinks => Some(EventKind::Drinks),
        pb::EventKind::Meal => Some(EventKind::Meal),
        pb::EventKind::Talk => Some(EventKind::Talk),
        pb::EventKind::Other => Some(EventKind::Other),
        pb::EventKind::Unspecified => None,
    }
}

pub(crate) fn kind_pb(kind: EventKind) -> pb::EventKind {
    match kind {
        EventKind::Coffee => pb::EventKind::Coffee,
        EventKind::Drinks => pb::EventKind::Drinks,
        EventKind::Meal => pb::EventKind::Meal,
        EventKind::Talk => pb::EventKind::Talk,
        EventKind::Other => pb::EventKind::Other,
    }
}

pub(crate) fn visibility_name(v: i32) -> Option<EventVisibility> {
    match pb::EventVisibility::try_from(v).ok()? {
        pb::EventVisibility::Public => Some(EventVisibility::Public),
        pb::EventVisibility::Chapter => Some(EventVisibility::Chapter),
        pb::EventVisibility::InviteOnly => Some(EventVisibility::InviteOnly),
        pb::EventVisibility::Unspecified => None,
    }
}

pub(crate) fn visibility_pb(visibility: EventVisibility) -> pb::EventVisibility {
    match visibility {
        EventVisibility::Public => pb::EventVisibility::Public,
        EventVisibility::Chapter => pb::EventVisibility::Chapter,
        EventVisibility::InviteOnly => pb::EventVisibility::InviteOnly,
    }
}

pub(crate) fn state_pb(state: EventState) -> pb::EventState {
    match state {
        EventState::Draft => pb::EventState::Draft,
        EventState::Published => pb::EventState::Published,
        EventState::Cancelled => pb::EventState::Cancelled,
        EventState::Completed => pb::EventState::Completed,
    }
}

pub(crate) fn event_to_pb(e: &EventRow) -> pb::Event {
    pb::Event {
        id: e.id.to_string(),
        chapter_id: optional_id_pb(e.chapter_id),
        series_id: optional_id_pb(e.series_id),
        host_id: e.host_id.to_string(),
        cohosts: e
            .cohosts
            .iter()
            .map(|(id, role)| pb::Cohost {
                member_id: id.to_string(),
                role: match role {
                    CohostRole::Full => pb::CohostRole::Full,
                    CohostRole::CheckInOnly => pb::CohostRole::CheckInOnly,
                }
                .into(),
            })
            .collect(),
        title: e.title.clone(),
        description: e.description.clone(),
        kind: kind_pb(e.kind).into(),
        venue: Some(pb::Venue {
            name: e.venue_name.clone(),
            address: e.venue_address.clone(),
            latitude: e.latitude.unwrap_or_default(),
            longitude: e.longitude.unwrap_or_default(),
        }),
        city: e.city.clone(),
        start_time: ts(e.start_at),
        end_time: ts(e.end_at),
        time_zone: e.time_zone.clone(),
        capacity: count(e.capacity),
        rsvp_deadline: e.rsvp_deadline.and_then(ts),
        visibility: visibility_pb(e.visibility).into(),
        state: state_pb(e.state).into(),
        approval_required: e.approval_required,
        waitlist_mode: match e.waitlist {
            WaitlistMode::Automatic => pb::WaitlistMode::Automatic,
            WaitlistMode::Offer { .. } => pb::WaitlistMode::Offer,
        }
        .into(),
        offer_window: match e.waitlist {
            WaitlistMode::Automatic => None,
            WaitlistMode::Offer { window } => duration_pb(window.num_seconds()),
        },
        confirmed_count: count(e.confirmed_count),
        waitlisted_count: count(e.waitlisted_count),
        cancellation_reason: e.cancellation_reason.clone(),
        create_time: ts(e.created_at),
        update_time: ts(e.updated_at),
        etag: e.version.to_string(),
    }
}

pub(crate) fn calendar_event(e: &EventRow) -> CalendarEvent {
    CalendarEvent {
        id: e.id.to_string(),
        title: e.title.clone(),
        description: e.description.clone(),
        venue_name: e.venue_name.clone(),
        venue_address: e.venue_address.clone(),
        latitude: e.latitude,
        longitude: e.longitude,
        start: e.start_at,
        end: e.end_at,
        time_zone: e.time_zone.clone(),
        url: None,
        cancelled: e.state == EventState::Cancelled,
        updated: e.updated_at,
        sequence: u32::try_from(e.version).unwrap_or(0),
        organizer_name: String::new(),
    }
}

pub(crate) fn title(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 1, 200, false)
}

pub(crate) fn description(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 0, 10_000, true)
}

pub(crate) fn city(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 0, 100, false)
}

pub(crate) fn kind(field: &str, value: i32) -> Result<EventKind, FieldViolation> {
    kind_name(value).ok_or_else(|| {
        FieldViolation::new(field, "is required: coffee, drinks, meal, talk or other")
    })
}

pub(crate) fn event_visibility(field: &str, value: i32) -> Result<EventVisibility, FieldViolation> {
    visibility_name(value)
        .ok_or_else(|| FieldViolation::new(field, "is required: public, chapter or invite-only"))
}

/// Parses a CreateEvent request of `host` at `now` (the start must be in the future); the
/// chapter and its city are checked by the caller.
pub(crate) fn new_event(
    req: pb::CreateEventRequest,
    host: Uuid,
    now: DateTime<Utc>,
) -> Result<NewEvent, Error> {
    let mut f = Fields::new();
    let request_id = f.or_default(validate::text("request_id", &req.request_id, 0, 100, false));
    let Some(e) = req.event else {
        return Err(f.refuse(FieldViolation::new("event", "is required")));
    };
    let chapter_id = if e.chapter_id.is_empty() {
        None
    } else {
        Some(id(&mut f, "event.chapter_id", &e.chapter_id))
    };
    let title = f.or_default(title("event.title", &e.title));
    let description = f.or_default(description("event.description", &e.description));
    let kind = f.or(kind("event.kind", e.kind), EventKind::Other);
    let (venue_name, venue_address, latitude, longitude) =
        venue(&mut f, "event.venue", e.venue.as_ref());
    let city = f.or_default(city("event.city", &e.city));
    let start = f.or_default(time("event.start_time", e.start_time.as_ref()));
    let end = f.or_default(time("event.end_time", e.end_time.as_ref()));
    let rsvp_deadline = f.or_default(time("event.rsvp_deadline", e.rsvp_deadline.as_ref()));
    let time_zone = f.or_default(time_zone("event.time_zone", &e.time_zone));
    let capacity = f.or(capacity("event.capacity", e.capacity), 1);
    let visibility = f.or(
        event_visibility("event.visibility", e.visibility),
        EventVisibility::Public,
    );
    let waitlist = waitlist(&mut f, "event", e.waitlist_mode, e.offer_window.as_ref());
    if e.start_time.is_none() {
        f.push(FieldViolation::new("event.start_time", "is required"));
    }
    if e.end_time.is_none() {
        f.push(FieldViolation::new("event.end_time", "is required"));
    }
    let (start_at, end_at) = (start.unwrap_or(now), end.unwrap_or(now));
    if let (Some(start), Some(end)) = (start, end) {
        if start <= now {
            f.push(FieldViolation::new(
                "event.start_time",
                "must be in the future",
            ));
        }
        for violation in check_times(start, end, rsvp_deadline) {
            f.push(violation);
        }
    }
    if visibility == EventVisibility::Chapter && chapter_id.is_none() {
        f.push(FieldViolation::new(
            "event.chapter_id",
            "is required for chapter visibility",
        ));
    }
    f.finish(NewEvent {
        id: Uuid::now_v7(),
        host_id: host,
        chapter_id,
        title,
        description,
        kind,
        venue_name,
        venue_address,
        latitude,
        longitude,
        city,
        start_at,
        end_at,
        time_zone,
        capacity,
        rsvp_deadline,
        visibility,
        approval_required: e.approval_required,
        waitlist,
        check_in_code: new_check_in_code(),
        request_id: (!request_id.is_empty()).then_some(request_id),
    })
}

/// Parses the event and mask of an UpdateEvent request.
pub(crate) fn event_edit(f: &mut Fields, event: &pb::Event, mask: Option<&FieldMask>) -> EventEdit {
    let mut edit = EventEdit {
        etag: (!event.etag.is_empty()).then(|| event.etag.clone()),
        ..EventEdit::default()
    };
    let paths = validate::mask_paths(mask, f.violations());
    for path in paths {
        match path.as_str() {
            "title" => edit.title = f.violations().check(title("event.title", &event.title)),
            "description" => {
                edit.description = f
                    .violations()
                    .check(description("event.description", &event.description));
            }
            "kind" => edit.kind = f.violations().check(kind("event.kind", event.kind)),
            "venue" | "venue.name" | "venue.address" | "venue.latitude" | "venue.longitude" => {
                if event.venue.is_none() {
                    f.push(FieldViolation::new(
                        "event.venue",
                        "is required by the mask",
                    ));
                }
                edit.venue = Some(venue(f, "event.venue", event.venue.as_ref()));
            }
            "city" => edit.city = f.violations().check(city("event.city", &event.city)),
            "start_time" => match f
                .violations()
                .check(time("event.start_time", event.start_time.as_ref()))
            {
                Some(Some(t)) => edit.start_at = Some(t),
                Some(None) => f.push(FieldViolation::new("event.start_time", "is required")),
                None => {}
            },
            "end_time" => match f
                .violations()
                .check(time("event.end_time", event.end_time.as_ref()))
            {
                Some(Some(t)) => edit.end_at = Some(t),
                Some(None) => f.push(FieldViolation::new("event.end_time", "is required")),
                None => {}
            },
            "time_zone" => {
                edit.time_zone = f
                    .violations()
                    .check(time_zone("event.time_zone", &event.time_zone))
            }
            "capacity" => {
                edit.capacity = f
                    .violations()
                    .check(capacity("event.capacity", event.capacity))
            }
            "rsvp_deadline" => {
                edit.rsvp_deadline = f
                    .violations()
                    .check(time("event.rsvp_deadline", event.rsvp_deadline.as_ref()));
            }
            "visibility" => {
                edit.visibility = f
                    .violations()
                    .check(event_visibility("event.visibility", event.visibility));
            }
            "approval_required" => edit.approval_required = Some(event.approval_required),
            "waitlist_mode" | "offer_window" => {
                edit.waitlist = Some(waitlist(
                    f,
                    "event",
                    event.waitlist_mode,
                    event.offer_window.as_ref(),
                ));
            }
            other => f.push(FieldViolation::new(
                "update_mask",
                format!(
                    "unknown or read-only path `{other}`; updatable: {}",
                    UPDATABLE_PATHS.join(", ")
                ),
            )),
        }
    }
    edit
}

/// UpdateEvent: which event and the masked fields.
#[derive(Clone, Debug)]
pub struct EventUpdate {
    pub event_id: Uuid,
    pub edit: EventEdit,
}

impl TryFrom<pb::UpdateEventRequest> for EventUpdate {
    type Error = Error;

    fn try_from(req: pb::UpdateEventRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let Some(event) = req.event else {
            return Err(f.refuse(FieldViolation::new("event", "is required")));
        };
        let event_id = id(&mut f, "event.id", &event.id);
        let edit = event_edit(&mut f, &event, req.update_mask.as_ref());
        f.finish(Self { event_id, edit })
    }
}

/// CancelEvent: which event, why, and the etag the caller read.
#[derive(Clone, Debug)]
pub struct Cancellation {
    pub event_id: Uuid,
    pub reason: String,
    pub etag: Option<String>,
}

impl TryFrom<&pb::CancelEventRequest> for Cancellation {
    type Error = Error;

    fn try_from(req: &pb::CancelEventRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let event_id = id(&mut f, "event_id", &req.event_id);
        let reason = f.or_default(validate::text("reason", &req.reason, 0, 1000, true));
        f.finish(Self {
            event_id,
            reason,
            etag: optional(&req.etag),
        })
    }
}

/// AddCohost and RemoveCohost: `role` None removes the co-host.
#[derive(Clone, Copy, Debug)]
pub struct CohostChange {
    pub event_id: Uuid,
    pub member_id: Uuid,
    pub role: Option<CohostRole>,
}

impl TryFrom<&pb::AddCohostRequest> for CohostChange {
    type Error = Error;

    fn try_from(req: &pb::AddCohostRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let (event_id, member_id) = event_and_member(&mut f, &req.event_id, &req.member_id);
        let role = match pb::CohostRole::try_from(req.role) {
            Ok(pb::CohostRole::Full) => CohostRole::Full,
            Ok(pb::CohostRole::CheckInOnly) => CohostRole::CheckInOnly,
            _ => f.or(
                Err(FieldViolation::new(
                    "role",
                    "is required: full or check-in only",
                )),
                CohostRole::Full,
            ),
        };
        f.finish(Self {
            event_id,
            member_id,
            role: Some(role),
        })
    }
}

impl TryFrom<&pb::RemoveCohostRequest> for CohostChange {
    type Error = Error;

    fn try_from(req: &pb::RemoveCohostRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let (event_id, member_id) = event_and_member(&mut f, &req.event_id, &req.member_id);
        f.finish(Self {
            event_id,
            member_id,
            role: None,
        })
    }
}

/// AnnounceToAttendees: a request id, when the caller gave none, is made fresh.
#[derive(Clone, Debug)]
pub struct Announcement {
    pub event_id: Uuid,
    pub message: String,
    pub request_id: String,
    pub include_waitlisted: bool,
}

impl TryFrom<&pb::AnnounceToAttendeesRequest> for Announcement {
    type Error = Error;

    fn try_from(req: &pb::AnnounceToAttendeesRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let event_id = id(&mut f, "event_id", &req.event_id);
        let message = f.or_default(validate::text("message", &req.message, 1, 2000, true));
        let request_id = f.or_default(validate::text("request_id", &req.request_id, 0, 100, false));
        f.finish(Self {
            event_id,
            message,
            request_id: optional(&request_id).unwrap_or_else(|| Uuid::now_v7().to_string()),
            include_waitlisted: req.include_waitlisted,
        })
    }
}

/// Whom InviteMembers invites.
#[derive(Clone, Debug)]
pub enum Invitees {
    Members(Vec<Uuid>),
    /// The caller's connections, in the event's city only when asked.
    AllConnections {
        only_in_event_city: bool,
    },
    Chapter(Uuid),
}

/// InviteMembers: which event and whom.
#[derive(Clone, Debug)]
pub struct Invitation {
    pub event_id: Uuid,
    pub invitees: Invitees,
}

impl TryFrom<&pb::InviteMembersRequest> for Invitation {
    type Error = Error;

    fn try_from(req: &pb::InviteMembersRequest) -> Result<Self, Error> {
        use pb::invite_members_request::Target;
        let mut f = Fields::new();
        let event_id = id(&mut f, "event_id", &req.event_id);
        let invitees = match &req.target {
            Some(Target::Members(list)) => {
                if list.member_ids.is_empty() || list.member_ids.len() > 500 {
                    f.push(FieldViolation::new(
                        "members.member_ids",
                        "must name 1 to 500 members",
                    ));
                }
                Invitees::Members(
                    list.member_ids
                        .iter()
                        .enumerate()
                        .map(|(i, m)| id(&mut f, &format!("members.member_ids[{i}]"), m))
                        .collect(),
                )
            }
            Some(Target::AllConnections(all)) => Invitees::AllConnections {
                only_in_event_city: all.only_in_event_city,
            },
            Some(Target::ChapterId(chapter)) => {
                Invitees::Chapter(id(&mut f, "chapter_id", chapter))
            }
            None => {
                return Err(f.refuse(FieldViolation::new(
                    "target",
                    "is required: members, all_connections or chapter_id",
                )));
            }
        };
        f.finish(Self { event_id, invitees })
    }
}

/// A request about one event, by its `event_id`.
#[derive(Clone, Copy, Debug)]
pub struct EventRef(pub Uuid);

by_id!(EventRef, event_id:
    GetEventRequest,
    GetAttendanceSummaryRequest,
    GetCheckInCodeRequest,
    RotateCheckInCodeRequest,
    CompleteEventRequest,
    ExportEventCalendarRequest,
    CancelRsvpRequest,
    ClaimOfferRequest,
    ListWantToMeetRequest,
);
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
