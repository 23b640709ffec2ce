//! `EventService`: events, RSVPs and wait-lists, invitations, check-in, series and calendars.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rand::Rng as _;
use rand::RngCore as _;
use rand::rngs::OsRng;
use rendezvous_common::auth::ServiceCredentials;
use rendezvous_common::clock::Clock;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::pagination::{PageTokens, next_page_token, page_size};
use rendezvous_common::server::caller;
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::members::v1::member_internal_service_client::MemberInternalServiceClient;
use rendezvous_proto::prost_types::{Duration as PbDuration, FieldMask, Timestamp};
use sha2::{Digest as _, Sha256};
use tonic::Request;
use tonic::transport::Channel;
use uuid::Uuid;

use super::{Reply, id_or_me, member_caller, reply, ts};
use crate::Settings;
use crate::admission::Admission;
use crate::calendar::{self, CalendarEvent};
use crate::domain::rsvp::{Intent, Status};
use crate::error::{Error, Result};
use crate::events::{
    CohostRole, EventEdit, EventFilter, EventRefusal, EventRow, HostRole, RsvpRow, Transition,
    TransitionRefusal, bounding_box, can_see, check_times, haversine_km,
};
use crate::series::{self, SeriesSpec};
use crate::store::{NewEvent, RsvpRefusal, RsvpRequest, Store};
use crate::work::{CompleteOutcome, InviteOutcome};

const DEFAULT_PAGE_SIZE: u32 = 20;
const MAX_PAGE_SIZE: u32 = 100;
const MAX_CAPACITY: i32 = 10_000;
/// Unambiguous characters of check-in codes (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 10;
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

pub(crate) struct State {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    page_tokens: PageTokens,
    admission: Arc<Admission>,
    pub(crate) members: Option<Members>,
    pub(crate) settings: Settings,
}

/// The members service's internal API, called with this service's credentials.
#[derive(Clone)]
pub(crate) struct Members {
    channel: Channel,
    credentials: ServiceCredentials,
}

impl Members {
    pub(crate) fn new(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self {
            channel,
            credentials,
        }
    }

    fn request<T>(&self, message: T) -> Result<Request<T>> {
        let mut request = Request::new(message);
        let bearer = self
            .credentials
            .bearer()
            .map_err(|_| Error::Unavailable("members"))?;
        let value = bearer.parse().map_err(|_| Error::Unavailable("members"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }

    fn client(&self) -> MemberInternalServiceClient<Channel> {
        MemberInternalServiceClient::new(self.channel.clone())
    }

    async fn are_connected(&self, a: &str, b: &str) -> Result<mpb::AreConnectedResponse> {
        let request = self.request(mpb::AreConnectedRequest {
            member_id: a.to_owned(),
            other_member_id: b.to_owned(),
        })?;
        self.client()
            .are_connected(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| unavailable(&status))
    }

    async fn connection_ids(&self, member: &str, city: &str) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = self.request(mpb::ListConnectionIdsRequest {
                member_id: member.to_owned(),
                city: city.to_owned(),
                page_size: 1000,
                page_token: page_token.clone(),
            })?;
            let page = self
                .client()
                .list_connection_ids(request)
                .await
                .map_err(|status| unavailable(&status))?
                .into_inner();
            ids.extend(page.member_ids);
            if page.next_page_token.is_empty() || ids.len() > 100_000 {
                return Ok(ids);
            }
            page_token = page.next_page_token;
        }
    }

    async fn count_unmet(&self, member: &str, ids: Vec<String>) -> Result<i64> {
        let request = self.request(mpb::CountUnmetConnectionsRequest {
            member_id: member.to_owned(),
            member_ids: ids,
        })?;
        self.client()
            .count_unmet_connections(request)
            .await
            .map(|r| r.into_inner().count)
            .map_err(|status| unavailable(&status))
    }

    pub(crate) async fn record_meetings(&self, event: &EventRow, ids: Vec<String>) -> Result<()> {
        let request = self.request(mpb::RecordMeetingsRequest {
            event_id: event.id.clone(),
            event_title: event.title.clone(),
            event_time: ts(event.start_at),
            member_ids: ids,
            event: Some(crate::notices::event_facts(event)),
        })?;
        self.client()
            .record_meetings(request)
            .await
            .map(|_| ())
            .map_err(|status| unavailable(&status))
    }
}

fn unavailable(status: &tonic::Status) -> Error {
    tracing::warn!(%status, "members service call failed");
    Error::Unavailable("members")
}

/// The event service; clone-cheap.
#[derive(Clone)]
pub struct Events(pub(crate) Arc<State>);

impl Events {
    pub(crate) fn new(
        store: Store,
        clock: Clock,
        page_tokens: PageTokens,
        members: Option<Members>,
        settings: Settings,
    ) -> Self {
        let admission = Admission::new(store.clone(), clock.clone(), 64);
        Self(Arc::new(State {
            store,
            clock,
            page_tokens,
            admission,
            members,
            settings,
        }))
    }

    /// The handlers over `db` outside any server, for tests that drive the clock-driven work
    /// (`sweep_once`, `complete_due`) of a running service sharing that database.
    pub fn for_tests(
        db: rendezvous_common::db::Db,
        clock: Clock,
        page_token_key: [u8; 32],
        members: Option<(Channel, rendezvous_common::auth::ServiceSecret)>,
        settings: Settings,
    ) -> Self {
        let members = members.map(|(channel, secret)| {
            Members::new(
                channel,
                ServiceCredentials::new("events", secret, clock.clone()),
            )
        });
        Self::new(
            Store::new(db),
            clock,
            PageTokens::new(&page_token_key),
            members,
            settings,
        )
    }

    fn now(&self) -> DateTime<Utc> {
        self.0.clock.now_micros()
    }

    fn members(&self) -> Result<&Members> {
        self.0.members.as_ref().ok_or(Error::Unavailable("members"))
    }

    /// The event if `viewer` may see it; NOT_FOUND otherwise, so existence stays private.
    async fn visible_event(&self, id: &str, viewer: Option<Uuid>) -> Result<EventRow> {
        let viewer = viewer.map(|v| v.to_string());
        let (event, access) = self
            .0
            .store
            .event_with_access(id, viewer.as_deref())
            .await?
            .ok_or(Error::NotFound("event"))?;
        if can_see(&event, viewer.as_deref(), access) {
            Ok(event)
        } else {
            Err(Error::NotFound("event"))
        }
    }

    /// The event, for a caller who must hold one of `roles` in it.
    async fn managed_event(&self, id: &str, me: Uuid, roles: &[HostRole]) -> Result<EventRow> {
        let event = self.visible_event(id, Some(me)).await?;
        match event.role_of(&me.to_string()) {
            Some(role) if roles.contains(&role) => Ok(event),
            _ => Err(Error::PermissionDenied(
                "only the event's hosts may do this",
            )),
        }
    }

    /// Expires every offer whose window has passed at `now`; returns how many expired.
    pub async fn sweep_once(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut expired = 0;
        for (event_id, member) in self.0.store.expired_offers(now).await? {
            if let Ok(Ok(_)) = self
                .0
                .store
                .transition(&event_id, &member, Transition::Expire, now)
                .await
            {
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Keeps every active series materialised up to the rolling horizon from `now`; returns
    /// how many occurrences it created.
    pub async fn extend_series(&self, now: DateTime<Utc>) -> Result<usize> {
        let horizon = now + self.0.settings.series_horizon;
        Ok(self.0.store.extend_series(horizon, now).await?)
    }

    /// Completes every published event whose end plus grace has passed at `now`, and retries
    /// recording the meetings of completed events members has not accepted yet.
    pub async fn complete_due(&self, now: DateTime<Utc>) -> Result<usize> {
        let grace = self.0.settings.complete_grace;
        let due = self.0.store.events_due_for_completion(now - grace).await?;
        let mut completed = 0;
        for id in due {
            if let Ok(outcome) = self.0.store.complete(&id, now).await?
                && outcome.newly_completed
            {
                completed += 1;
            }
        }
        for id in self.0.store.events_needing_meetings().await? {
            self.record_meetings(&id, now).await;
        }
        Ok(completed)
    }

    /// Sends the checked-in members of a completed event to members' RecordMeetings, once.
    async fn record_meetings(&self, id: &str, now: DateTime<Utc>) -> bool {
        let Some(members) = &self.0.members else {
            return false;
        };
        let Ok(Some(event)) = self.0.store.event(id).await else {
            return false;
        };
        let Ok(ids) = self.0.store.checked_in_ids(id).await else {
            return false;
        };
        match members.record_meetings(&event, ids).await {
            Ok(()) => self.0.store.meetings_recorded(id, now).await.is_ok(),
            Err(_) => false,
        }
    }

    /// The calendar of a feed token's member, or None for an unknown or revoked token.
    pub async fn feed_calendar(&self, token: &str) -> Option<String> {
        let hash = token_hash(token);
        let member = self.0.store.feed_member(&hash).await.ok()??;
        let events = self
            .0
            .store
            .list_my_events(&member, self.now(), None, 500, true)
            .await
            .ok()?;
        Some(calendar::calendar(
            "Rendezvous",
            &events.iter().map(calendar_event).collect::<Vec<_>>(),
        ))
    }
}

impl crate::feed::FeedSource for Events {
    async fn calendar(&self, token: &str) -> Option<String> {
        self.feed_calendar(token).await
    }
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A fresh check-in code from the OS's random source.
pub(crate) fn new_check_in_code() -> String {
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[OsRng.gen_range(0..CODE_ALPHABET.len())]))
        .collect()
}

// ---------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------

pub(crate) fn kind_name(kind: i32) -> Option<&'static str> {
    match pb::EventKind::try_from(kind).ok()? {
        pb::EventKind::Coffee => Some("coffee"),
        pb::EventKind::Drinks => Some("drinks"),
        pb::EventKind::Meal => Some("meal"),
        pb::EventKind::Talk => Some("talk"),
        pb::EventKind::Other => Some("other"),
        pb::EventKind::Unspecified => None,
    }
}

fn kind_pb(name: &str) -> pb::EventKind {
    match name {
        "coffee" => pb::EventKind::Coffee,
        "drinks" => pb::EventKind::Drinks,
        "meal" => pb::EventKind::Meal,
        "talk" => pb::EventKind::Talk,
        _ => pb::EventKind::Other,
    }
}

pub(crate) fn visibility_name(v: i32) -> Option<&'static str> {
    match pb::EventVisibility::try_from(v).ok()? {
        pb::EventVisibility::Public => Some("public"),
        pb::EventVisibility::Chapter => Some("chapter"),
        pb::EventVisibility::InviteOnly => Some("invite_only"),
        pb::EventVisibility::Unspecified => None,
    }
}

fn visibility_pb(name: &str) -> pb::EventVisibility {
    match name {
        "public" => pb::EventVisibility::Public,
        "chapter" => pb::EventVisibility::Chapter,
        _ => pb::EventVisibility::InviteOnly,
    }
}

fn state_pb(name: &str) -> pb::EventState {
    match name {
        "draft" => pb::EventState::Draft,
        "published" => pb::EventState::Published,
        "cancelled" => pb::EventState::Cancelled,
        _ => pb::EventState::Completed,
    }
}

fn rsvp_visibility_name(v: i32) -> Option<&'static str> {
    match pb::RsvpVisibility::try_from(v).ok()? {
        pb::RsvpVisibility::Public => Some("public"),
        pb::RsvpVisibility::Connections => Some("connections"),
        pb::RsvpVisibility::Attendees | pb::RsvpVisibility::Unspecified => Some("attendees"),
        pb::RsvpVisibility::Nobody => Some("nobody"),
    }
}

fn rsvp_visibility_pb(name: &str) -> pb::RsvpVisibility {
    match name {
        "public" => pb::RsvpVisibility::Public,
        "connections" => pb::RsvpVisibility::Connections,
        "nobody" => pb::RsvpVisibility::Nobody,
        _ => pb::RsvpVisibility::Attendees,
    }
}

fn status_pb(status: Status) -> pb::RsvpStatus {
    match status {
        Status::Confirmed => pb::RsvpStatus::Confirmed,
        Status::Waitlisted => pb::RsvpStatus::Waitlisted,
        Status::Offered => pb::RsvpStatus::Offered,
        Status::PendingApproval => pb::RsvpStatus::PendingApproval,
        Status::Declined => pb::RsvpStatus::Declined,
        Status::Cancelled => pb::RsvpStatus::Cancelled,
        Status::NotGoing => pb::RsvpStatus::NotGoing,
    }
}

fn status_filter(status: i32) -> Option<&'static str> {
    match pb::RsvpStatus::try_from(status).ok()? {
        pb::RsvpStatus::Confirmed => Some("confirmed"),
        pb::RsvpStatus::Waitlisted => Some("waitlisted"),
        pb::RsvpStatus::Offered => Some("offered"),
        pb::RsvpStatus::PendingApproval => Some("pending_approval"),
        pb::RsvpStatus::Declined => Some("declined"),
        pb::RsvpStatus::Cancelled => Some("cancelled"),
        pb::RsvpStatus::NotGoing => Some("not_going"),
        pb::RsvpStatus::Unspecified => None,
    }
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn duration_pb(secs: i64) -> Option<PbDuration> {
    (secs > 0).then_some(PbDuration {
        seconds: secs,
        nanos: 0,
    })
}

pub(crate) fn event_to_pb(e: &EventRow) -> pb::Event {
    pb::Event {
        id: e.id.clone(),
        chapter_id: e.chapter_id.clone().unwrap_or_default(),
        series_id: e.series_id.clone().unwrap_or_default(),
        host_id: e.host_id.clone(),
        cohosts: e
            .cohosts
            .iter()
            .map(|(id, role)| pb::Cohost {
                member_id: id.clone(),
                role: match role {
                    CohostRole::Full => pb::CohostRole::Full,
                    CohostRole::CheckInOnly => pb::CohostRole::CheckInOnly,
                }
                .into(),
            })
            .collect(),
        title: e.title.clone(),
        description: e.description.clone(),
        kind: kind_pb(&e.kind).into(),
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
        visibility: visibility_pb(&e.visibility).into(),
        state: state_pb(&e.state).into(),
        approval_required: e.approval_required,
        waitlist_mode: if e.waitlist_mode == "offer" {
            pb::WaitlistMode::Offer
        } else {
            pb::WaitlistMode::Automatic
        }
        .into(),
        offer_window: duration_pb(e.offer_window_secs),
        confirmed_count: count(e.confirmed_count),
        waitlisted_count: count(e.waitlisted_count),
        cancellation_reason: e.cancellation_reason.clone(),
        create_time: ts(e.created_at),
        update_time: ts(e.updated_at),
        etag: e.version.to_string(),
    }
}

fn rsvp_to_pb(r: &RsvpRow) -> pb::Rsvp {
    pb::Rsvp {
        event_id: r.event_id.clone(),
        member_id: r.member_id.clone(),
        status: status_pb(r.status).into(),
        waitlist_position: r
            .waitlist_position
            .and_then(|p| i32::try_from(p).ok())
            .unwrap_or(0),
        offer_expire_time: if r.status == Status::Offered {
            r.offer_expires_at.and_then(ts)
        } else {
            None
        },
        visibility: rsvp_visibility_pb(&r.visibility).into(),
        checked_in: r.checked_in_at.is_some(),
        check_in_time: r.checked_in_at.and_then(ts),
        create_time: ts(r.created_at),
        update_time: ts(r.updated_at),
    }
}

pub(crate) fn calendar_event(e: &EventRow) -> CalendarEvent {
    CalendarEvent {
        id: e.id.clone(),
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
        cancelled: e.state == "cancelled",
        updated: e.updated_at,
        sequence: u32::try_from(e.version).unwrap_or(0),
        organizer_name: String::new(),
    }
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

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
) -> Option<Option<Duration>> {
    match pb::WaitlistMode::try_from(mode) {
        Ok(pb::WaitlistMode::Unspecified | pb::WaitlistMode::Automatic) => Some(None),
        Ok(pb::WaitlistMode::Offer) => {
            match v.check(duration(&format!("{prefix}.offer_window"), window)) {
                Some(Some(w)) if w >= Duration::minutes(1) && w <= Duration::days(7) => {
                    Some(Some(w))
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

fn title(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 1, 200, false)
}

fn description(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 0, 10_000, true)
}

fn city(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 0, 100, false)
}

fn kind(field: &str, value: i32) -> Result<String, FieldViolation> {
    kind_name(value).map(str::to_owned).ok_or_else(|| {
        FieldViolation::new(field, "is required: coffee, drinks, meal, talk or other")
    })
}

fn event_visibility(field: &str, value: i32) -> Result<String, FieldViolation> {
    visibility_name(value)
        .map(str::to_owned)
        .ok_or_else(|| FieldViolation::new(field, "is required: public, chapter or invite-only"))
}

/// Parses a CreateEvent request of `host`; the chapter and its city are checked by the caller.
fn new_event(
    req: pb::CreateEventRequest,
    host: Uuid,
    now: DateTime<Utc>,
) -> Result<NewEvent, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let request_id = v.check(validate::text("request_id", &req.request_id, 0, 100, false));
    let Some(e) = req.event else {
        v.push(FieldViolation::new("event", "is required"));
        return Err(v.finish().err().unwrap_or_default());
    };
    let chapter_id = if e.chapter_id.is_empty() {
        Some(None)
    } else {
        v.check(validate::id("event.chapter_id", &e.chapter_id))
            .map(|id| Some(id.to_string()))
    };
    let title = v.check(title("event.title", &e.title));
    let description = v.check(description("event.description", &e.description));
    let kind = v.check(kind("event.kind", e.kind));
    let venue = venue("event.venue", &mut v, e.venue.as_ref());
    let city = v.check(city("event.city", &e.city));
    let start = v.check(time("event.start_time", e.start_time.as_ref()));
    let end = v.check(time("event.end_time", e.end_time.as_ref()));
    let deadline = v.check(time("event.rsvp_deadline", e.rsvp_deadline.as_ref()));
    let time_zone = v.check(time_zone("event.time_zone", &e.time_zone));
    let capacity = v.check(capacity("event.capacity", e.capacity));
    let visibility = v.check(event_visibility("event.visibility", e.visibility));
    let offer_window = waitlist("event", &mut v, e.waitlist_mode, e.offer_window.as_ref());
    let (start, end) = match (start, end) {
        (Some(Some(start)), Some(Some(end))) => {
            if start <= now {
                v.push(FieldViolation::new(
                    "event.start_time",
                    "must be in the future",
                ));
            }
            for violation in check_times(start, end, deadline.flatten()) {
                v.push(violation);
            }
            (Some(start), Some(end))
        }
        (start, end) => {
            if start == Some(None) {
                v.push(FieldViolation::new("event.start_time", "is required"));
            }
            if end == Some(None) {
                v.push(FieldViolation::new("event.end_time", "is required"));
            }
            (None, None)
        }
    };
    if visibility.as_deref() == Some("chapter") && chapter_id == Some(None) {
        v.push(FieldViolation::new(
            "event.chapter_id",
            "is required for chapter visibility",
        ));
    }
    match (
        request_id,
        chapter_id,
        title,
        description,
        kind,
        venue,
        city,
        start,
        end,
        deadline,
        time_zone,
        capacity,
        visibility,
        offer_window,
    ) {
        (
            Some(request_id),
            Some(chapter_id),
            Some(title),
            Some(description),
            Some(kind),
            Some((venue_name, venue_address, latitude, longitude)),
            Some(city),
            Some(start_at),
            Some(end_at),
            Some(rsvp_deadline),
            Some(time_zone),
            Some(capacity),
            Some(visibility),
            Some(offer_window),
        ) if v.is_empty() => Ok(NewEvent {
            id: Uuid::now_v7(),
            host_id: host.to_string(),
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
            offer_window,
            check_in_code: new_check_in_code(),
            request_id: (!request_id.is_empty()).then_some(request_id),
        }),
        _ => Err(v.finish().err().unwrap_or_default()),
    }
}

/// Parses the event and mask of an UpdateEvent request.
fn event_edit(
    event: &pb::Event,
    mask: Option<&FieldMask>,
) -> Result<EventEdit, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let mut edit = EventEdit {
        etag: (!event.etag.is_empty()).then(|| event.etag.clone()),
        ..EventEdit::default()
    };
    let paths = validate::mask_paths(mask, &mut v);
    for path in paths {
        match path.as_str() {
            "title" => edit.title = v.check(title("event.title", &event.title)),
            "description" => {
                edit.description = v.check(description("event.description", &event.description));
            }
            "kind" => edit.kind = v.check(kind("event.kind", event.kind)),
            "venue" | "venue.name" | "venue.address" | "venue.latitude" | "venue.longitude" => {
                if event.venue.is_none() {
                    v.push(FieldViolation::new(
                        "event.venue",
                        "is required by the mask",
                    ));
                }
                edit.venue = venue("event.venue", &mut v, event.venue.as_ref());
            }
            "city" => edit.city = v.check(city("event.city", &event.city)),
            "start_time" => match v.check(time("event.start_time", event.start_time.as_ref())) {
                Some(Some(t)) => edit.start_at = Some(t),
                Some(None) => v.push(FieldViolation::new("event.start_time", "is required")),
                None => {}
            },
            "end_time" => match v.check(time("event.end_time", event.end_time.as_ref())) {
                Some(Some(t)) => edit.end_at = Some(t),
                Some(None) => v.push(FieldViolation::new("event.end_time", "is required")),
                None => {}
            },
            "time_zone" => edit.time_zone = v.check(time_zone("event.time_zone", &event.time_zone)),
            "capacity" => edit.capacity = v.check(capacity("event.capacity", event.capacity)),
            "rsvp_deadline" => {
                edit.rsvp_deadline =
                    v.check(time("event.rsvp_deadline", event.rsvp_deadline.as_ref()));
            }
            "visibility" => {
                edit.visibility = v.check(event_visibility("event.visibility", event.visibility));
            }
            "approval_required" => edit.approval_required = Some(event.approval_required),
            "waitlist_mode" | "offer_window" => {
                edit.offer_window = waitlist(
                    "event",
                    &mut v,
                    event.waitlist_mode,
                    event.offer_window.as_ref(),
                );
            }
            other => v.push(FieldViolation::new(
                "update_mask",
                format!(
                    "unknown or read-only path `{other}`; updatable: {}",
                    UPDATABLE_PATHS.join(", ")
                ),
            )),
        }
    }
    v.finish().map(|()| edit)
}

fn refusal(r: EventRefusal) -> Error {
    match r {
        EventRefusal::NotFound => Error::NotFound("event"),
        EventRefusal::NotHost => Error::PermissionDenied("only the event's hosts may do this"),
        EventRefusal::EtagMismatch => Error::EtagMismatch("event"),
        EventRefusal::Rule(rule) => Error::Rule(rule.to_string()),
        EventRefusal::Invalid(v) => Error::InvalidArgument(v),
        EventRefusal::State(s) => Error::FailedPrecondition(s),
    }
}

fn transition_refusal(r: TransitionRefusal) -> Error {
    match r {
        TransitionRefusal::NoEvent => Error::NotFound("event"),
        TransitionRefusal::NotOpen => Error::FailedPrecondition("the event is not open for RSVPs"),
        TransitionRefusal::Rule(rule) => Error::Rule(rule.to_string()),
    }
}

fn id_field(field: &str, value: &str) -> Result<String> {
    Ok(validate::id(field, value)?.to_string())
}

/// Where the next page of an event list starts: after `(start µs, id)`.
type EventCursor = (i64, String);

fn decode_event_cursor(
    tokens: &PageTokens,
    scope: &str,
    token: &str,
) -> Result<Option<(DateTime<Utc>, String)>, FieldViolation> {
    let cursor: Option<EventCursor> = tokens.decode(scope, token)?;
    match cursor {
        None => Ok(None),
        Some((micros, id)) => DateTime::from_timestamp_micros(micros)
            .map(|at| Some((at, id)))
            .ok_or_else(|| {
                FieldViolation::new("page_token", "not a page token issued by this method")
            }),
    }
}

fn event_cursor(tokens: &PageTokens, scope: &str, e: &EventRow) -> String {
    let cursor: EventCursor = (e.start_at.timestamp_micros(), e.id.clone());
    tokens.encode(scope, &cursor)
}

fn mask_or_err(violations: std::result::Result<(), Vec<FieldViolation>>) -> Result<()> {
    violations.map_err(Error::InvalidArgument)
}

#[tonic::async_trait]
impl pb::event_service_server::EventService for Events {
    async fn create_event(
        &self,
        request: Request<pb::CreateEventRequest>,
    ) -> Reply<pb::CreateEventResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let mut new = new_event(request.into_inner(), me, self.now())?;
                if let Some(request_id) = &new.request_id
                    && let Some(id) = self
                        .0
                        .store
                        .event_by_request(&new.host_id, request_id)
                        .await?
                {
                    let event = self
                        .0
                        .store
                        .event(&id)
                        .await?
                        .ok_or(Error::NotFound("event"))?;
                    return Ok(pb::CreateEventResponse {
                        event: Some(event_to_pb(&event)),
                    });
                }
                if let Some(chapter_id) = &new.chapter_id {
                    let chapter = self
                        .0
                        .store
                        .chapter(chapter_id)
                        .await?
                        .ok_or_else(|| Error::field("event.chapter_id", "no such chapter"))?;
                    if !self
                        .0
                        .store
                        .is_chapter_member(chapter_id, &new.host_id)
                        .await?
                    {
                        return Err(Error::PermissionDenied(
                            "only members of the chapter may create events in it",
                        ));
                    }
                    if new.city.is_empty() {
                        new.city = chapter.city;
                    }
                }
                let id = self.0.store.create_event(&new, self.now()).await?;
                let event = self
                    .0
                    .store
                    .event(&id)
                    .await?
                    .ok_or(Error::NotFound("event"))?;
                Ok(pb::CreateEventResponse {
                    event: Some(event_to_pb(&event)),
                })
            }
            .await,
        )
    }

    async fn get_event(
        &self,
        request: Request<pb::GetEventRequest>,
    ) -> Reply<pb::GetEventResponse> {
        reply(
            async {
                let viewer = optional_member(&request)?;
                let id = id_field("event_id", &request.get_ref().event_id)?;
                let event = self.visible_event(&id, viewer).await?;
                Ok(pb::GetEventResponse {
                    event: Some(event_to_pb(&event)),
                })
            }
            .await,
        )
    }

    async fn update_event(
        &self,
        request: Request<pb::UpdateEventRequest>,
    ) -> Reply<pb::UpdateEventResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.into_inner();
                let event = req
                    .event
                    .ok_or_else(|| Error::field("event", "is required"))?;
                let mut v = Violations::new();
                let id = v.check(validate::id("event.id", &event.id));
                let edit = match event_edit(&event, req.update_mask.as_ref()) {
                    Ok(edit) => Some(edit),
                    Err(violations) => {
                        violations.into_iter().for_each(|e| v.push(e));
                        None
                    }
                };
                mask_or_err(v.finish())?;
                let (Some(id), Some(edit)) = (id, edit) else {
                    return Err(Error::field("event", "is invalid"));
                };
                let event = self
                    .0
                    .store
                    .update_event(&id.to_string(), &me.to_string(), &edit, self.now())
                    .await?
                    .map_err(refusal)?;
                Ok(pb::UpdateEventResponse {
                    event: Some(event_to_pb(&event)),
                })
            }
            .await,
        )
    }

    async fn publish_event(
        &self,
        request: Request<pb::PublishEventRequest>,
    ) -> Reply<pb::PublishEventResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let id = id_field("event_id", &req.event_id)?;
                let etag = (!req.etag.is_empty()).then_some(req.etag.as_str());
                let event = self
                    .0
                    .store
                    .publish(&id, &me.to_string(), etag, self.now())
                    .await?
                    .map_err(refusal)?;
                Ok(pb::PublishEventResponse {
                    event: Some(event_to_pb(&event)),
                })
            }
            .await,
        )
    }

    async fn cancel_event(
        &self,
        request: Request<pb::CancelEventRequest>,
    ) -> Reply<pb::CancelEventResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let mut v = Violations::new();
                let id = v.check(validate::id("event_id", &req.event_id));
                let reason = v.check(validate::text("reason", &req.reason, 0, 1000, true));
                mask_or_err(v.finish())?;
                let (Some(id), Some(reason)) = (id, reason) else {
                    return Err(Error::field("event_id", "is invalid"));
                };
                let etag = (!req.etag.is_empty()).then_some(req.etag.as_str());
                let event = self
                    .0
                    .store
                    .cancel_event(
                        &id.to_string(),
                        Some(&me.to_string()),
                        &reason,
                        etag,
                        self.now(),
                    )
                    .await?
                    .map_err(refusal)?;
                Ok(pb::CancelEventResponse {
                    event: Some(event_to_pb(&event)),
                })
            }
            .await,
        )
    }

    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Reply<pb::ListEventsResponse> {
        reply(
            async {
                let viewer = optional_member(&request)?
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                let req = request.into_inner();
                let mut v = Violations::new();
                let city = v.check(validate::text("city", &req.city, 0, 100, false));
                let chapter_id = if req.chapter_id.is_empty() {
                    Some(None)
                } else {
                    v.check(validate::id("chapter_id", &req.chapter_id))
                        .map(|id| Some(id.to_string()))
                };
                let host_id = if req.host_id.is_empty() {
                    Some(None)
                } else {
                    v.check(validate::id("host_id", &req.host_id))
                        .map(|id| Some(id.to_string()))
                };
                let series_id = if req.series_id.is_empty() {
                    Some(None)
                } else {
                    v.check(validate::id("series_id", &req.series_id))
                        .map(|id| Some(id.to_string()))
                };
                let start_after = v.check(time("start_after", req.start_after.as_ref()));
                let start_before = v.check(time("start_before", req.start_before.as_ref()));
                let query = v.check(validate::text("query", &req.query, 0, 200, false));
                let near = match &req.near {
                    None => None,
                    Some(near) => {
                        if !(near.latitude.is_finite() && (-90.0..=90.0).contains(&near.latitude)) {
                            v.push(FieldViolation::new(
                                "near.latitude",
                                "must be between -90 and 90",
                            ));
                        }
                        if !(near.longitude.is_finite()
                            && (-180.0..=180.0).contains(&near.longitude))
                        {
                            v.push(FieldViolation::new(
                                "near.longitude",
                                "must be between -180 and 180",
                            ));
                        }
                        if !(near.radius_km.is_finite()
                            && near.radius_km > 0.0
                            && near.radius_km <= 20_000.0)
                        {
                            v.push(FieldViolation::new(
                                "near.radius_km",
                                "must be greater than 0 and at most 20000",
                            ));
                        }
                        Some((near.latitude, near.longitude, near.radius_km))
                    }
                };
                let limit = v.check(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
                let after = v.check(decode_event_cursor(
                    &self.0.page_tokens,
                    "ListEvents",
                    &req.page_token,
                ));
                mask_or_err(v.finish())?;
                let (
                    Some(city),
                    Some(chapter_id),
                    Some(host_id),
                    Some(series_id),
                    Some(start_after),
                    Some(start_before),
                    Some(query),
                    Some(limit),
                    Some(mut after),
                ) = (
                    city,
                    chapter_id,
                    host_id,
                    series_id,
                    start_after,
                    start_before,
                    query,
                    limit,
                    after,
                )
                else {
                    return Err(Error::field("page_token", "is invalid"));
                };
                let filter = EventFilter {
                    city_key: (!city.is_empty()).then(|| crate::chapters::city_key(&city)),
                    chapter_id,
                    start_after: start_after.unwrap_or_else(|| self.now()),
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
                // The box narrows in SQL; the exact distance is checked here, so a page may
                // need several reads.
                let mut events = Vec::new();
                let mut exhausted = false;
                while events.len() <= limit as usize && !exhausted {
                    let batch = self
                        .0
                        .store
                        .list_events(&viewer, &filter, after.clone(), limit + 1)
                        .await?;
                    exhausted = batch.len() <= limit as usize;
                    if let Some(last) = batch.last() {
                        after = Some((last.start_at, last.id.clone()));
                    }
                    events.extend(batch.into_iter().filter(|e| match near {
                        Some((lat, lon, r)) => match (e.latitude, e.longitude) {
                            (Some(elat), Some(elon)) => haversine_km(lat, lon, elat, elon) <= r,
                            _ => false,
                        },
                        None => true,
                    }));
                }
                let next_page_token = next_page_token(&mut events, limit, |e| {
                    event_cursor(&self.0.page_tokens, "ListEvents", e)
                });
                Ok(pb::ListEventsResponse {
                    events: events.iter().map(event_to_pb).collect(),
                    next_page_token,
                })
            }
            .await,
        )
    }

    async fn list_my_events(
        &self,
        request: Request<pb::ListMyEventsRequest>,
    ) -> Reply<pb::ListMyEventsResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                let limit = v.check(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
                let scope = format!("ListMyEvents/{me}");
                let after = v.check(decode_event_cursor(
                    &self.0.page_tokens,
                    &scope,
                    &req.page_token,
                ));
                mask_or_err(v.finish())?;
                let (Some(limit), Some(after)) = (limit, after) else {
                    return Err(Error::field("page_token", "is invalid"));
                };
                let mut events = self
                    .0
                    .store
                    .list_my_events(&me.to_string(), self.now(), after, limit + 1, false)
                    .await?;
                let next_page_token = next_page_token(&mut events, limit, |e| {
                    event_cursor(&self.0.page_tokens, &scope, e)
                });
                Ok(pb::ListMyEventsResponse {
                    events: events.iter().map(event_to_pb).collect(),
                    next_page_token,
                })
            }
            .await,
        )
    }

    async fn add_cohost(
        &self,
        request: Request<pb::AddCohostRequest>,
    ) -> Reply<pb::AddCohostResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let mut v = Violations::new();
                let id = v.check(validate::id("event_id", &req.event_id));
                let member = v.check(validate::id("member_id", &req.member_id));
                let role = match pb::CohostRole::try_from(req.role) {
                    Ok(pb::CohostRole::Full) => Some(CohostRole::Full),
                    Ok(pb::CohostRole::CheckInOnly) => Some(CohostRole::CheckInOnly),
                    _ => {
                        v.push(FieldViolation::new(
                            "role",
                            "is required: full or check-in only",
                        ));
                        None
                    }
                };
                mask_or_err(v.finish())?;
                let (Some(id), Some(member), Some(role)) = (id, member, role) else {
                    return Err(Error::field("event_id", "is invalid"));
                };
                let event = self
                    .0
                    .store
                    .set_cohost(
                        &id.to_string(),
                        &me.to_string(),
                        &member.to_string(),
                        Some(role),
                        self.now(),
                    )
                    .await?
                    .map_err(refusal)?;
                Ok(pb::AddCohostResponse {
                    event: Some(event_to_pb(&event)),
                })
            }
            .await,
        )
    }

    async fn remove_cohost(
        &self,
        request: Request<pb::RemoveCohostRequest>,
    ) -> Reply<pb::RemoveCohostResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let mut v = Violations::new();
                let id = v.check(validate::id("event_id", &req.event_id));
                let member = v.check(validate::id("member_id", &req.member_id));
                mask_or_err(v.finish())?;
                let (Some(id), Some(member)) = (id, member) else {
                    return Err(Error::field("event_id", "is invalid"));
                };
                let event = self
                    .0
                    .store
                    .set_cohost(
                        &id.to_string(),
                        &me.to_string(),
                        &member.to_string(),
                        None,
                        self.now(),
                    )
                    .await?
                    .map_err(refusal)?;
                Ok(pb::RemoveCohostResponse {
                    event: Some(event_to_pb(&event)),
                })
            }
            .await,
        )
    }

    async fn create_series(
        &self,
        request: Request<pb::CreateSeriesRequest>,
    ) -> Reply<pb::CreateSeriesResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.into_inner();
                let now = self.now();
                let request_id = validate::text("request_id", &req.request_id, 0, 100, false)?;
                let series = req
                    .series
                    .ok_or_else(|| Error::field("series", "is required"))?;
                let spec = SeriesSpec::parse(&series)?;
                if let Some(chapter_id) = &spec.chapter_id {
                    self.0
                        .store
                        .chapter(chapter_id)
                        .await?
                        .ok_or_else(|| Error::field("series.chapter_id", "no such chapter"))?;
                    if !self
                        .0
                        .store
                        .is_chapter_member(chapter_id, &me.to_string())
                        .await?
                    {
                        return Err(Error::PermissionDenied(
                            "only members of the chapter may create series in it",
                        ));
                    }
                }
                let horizon = now + self.0.settings.series_horizon;
                let occurrences = spec.occurrences(now, horizon)?;
                let (row, event_ids) = self
                    .0
                    .store
                    .create_series(
                        &me.to_string(),
                        &series,
                        &spec,
                        &occurrences,
                        (!request_id.is_empty()).then_some(request_id.as_str()),
                        now,
                    )
                    .await?;
                Ok(pb::CreateSeriesResponse {
                    series: Some(series::series_to_pb(&row)),
                    event_ids,
                })
            }
            .await,
        )
    }

    async fn get_series(
        &self,
        request: Request<pb::GetSeriesRequest>,
    ) -> Reply<pb::GetSeriesResponse> {
        reply(
            async {
                let viewer = optional_member(&request)?;
                let id = id_field("series_id", &request.get_ref().series_id)?;
                let row = self
                    .0
                    .store
                    .series(&id)
                    .await?
                    .ok_or(Error::NotFound("series"))?;
                if !self.series_visible(&row, viewer).await? {
                    return Err(Error::NotFound("series"));
                }
                Ok(pb::GetSeriesResponse {
                    series: Some(series::series_to_pb(&row)),
                })
            }
            .await,
        )
    }

    async fn list_series(
        &self,
        request: Request<pb::ListSeriesRequest>,
    ) -> Reply<pb::ListSeriesResponse> {
        reply(
            async {
                let me = optional_member(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                let chapter_id = if req.chapter_id.is_empty() {
                    Some(None)
                } else {
                    v.check(validate::id("chapter_id", &req.chapter_id))
                        .map(|id| Some(id.to_string()))
                };
                let host_id = if req.host_id.is_empty() {
                    Some(None)
                } else if req.host_id == "me" {
                    match me {
                        Some(me) => Some(Some(me.to_string())),
                        None => return Err(Error::Unauthenticated),
                    }
                } else {
                    v.check(validate::id("host_id", &req.host_id))
                        .map(|id| Some(id.to_string()))
                };
                let limit = v.check(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
                let after: Option<Option<String>> =
                    v.check(self.0.page_tokens.decode("ListSeries", &req.page_token));
                mask_or_err(v.finish())?;
                let (Some(chapter_id), Some(host_id), Some(limit), Some(after)) =
                    (chapter_id, host_id, limit, after)
                else {
                    return Err(Error::field("page_token", "is invalid"));
                };
                let mut rows = self
                    .0
                    .store
                    .list_series(
                        chapter_id.as_deref(),
                        host_id.as_deref(),
                        after.as_deref(),
                        limit + 1,
                    )
                    .await?;
                let next_page_token = next_page_token(&mut rows, limit, |s| {
                    self.0.page_tokens.encode("ListSeries", &s.id)
                });
                let mut visible = Vec::with_capacity(rows.len());
                for row in &rows {
                    if self.series_visible(row, me).await? {
                        visible.push(series::series_to_pb(row));
                    }
                }
                Ok(pb::ListSeriesResponse {
                    series: visible,
                    next_page_token,
                })
            }
            .await,
        )
    }

    async fn update_series(
        &self,
        request: Request<pb::UpdateSeriesRequest>,
    ) -> Reply<pb::UpdateSeriesResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.into_inner();
                let now = self.now();
                let patch = req
                    .series
                    .ok_or_else(|| Error::field("series", "is required"))?;
                let id = id_field("series.id", &patch.id)?;
                let row = self
                    .0
                    .store
                    .series(&id)
                    .await?
                    .ok_or(Error::NotFound("series"))?;
                if row.host_id != me.to_string() {
                    return Err(Error::PermissionDenied("only the series' host may do this"));
                }
                if !patch.etag.is_empty() && patch.etag != row.version.to_string() {
                    return Err(Error::EtagMismatch("series"));
                }
                if row.state != "active" {
                    return Err(Error::FailedPrecondition(
                        "a cancelled series cannot change",
                    ));
                }
                let merged = series::apply_mask(&row.series, &patch, req.update_mask.as_ref())?;
                let spec = SeriesSpec::parse(&merged)?;
                let horizon = now + self.0.settings.series_horizon;
                let occurrences = spec.occurrences(now, horizon)?;
                let row = self
                    .0
                    .store
                    .update_series(&id, row.version, &merged, &spec, &occurrences, now)
                    .await?
                    .ok_or(Error::EtagMismatch("series"))?;
                // The update laid occurrences out to this horizon; the rolling extension
                // continues from here.
                self.0.store.mark_materialized(&row.id, horizon).await?;
                Ok(pb::UpdateSeriesResponse {
                    series: Some(series::series_to_pb(&row)),
                })
            }
            .await,
        )
    }

    async fn cancel_series(
        &self,
        request: Request<pb::CancelSeriesRequest>,
    ) -> Reply<pb::CancelSeriesResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let mut v = Violations::new();
                let id = v.check(validate::id("series_id", &req.series_id));
                let reason = v.check(validate::text("reason", &req.reason, 0, 1000, true));
                mask_or_err(v.finish())?;
                let (Some(id), Some(reason)) = (id, reason) else {
                    return Err(Error::field("series_id", "is invalid"));
                };
                let id = id.to_string();
                let row = self
                    .0
                    .store
                    .series(&id)
                    .await?
                    .ok_or(Error::NotFound("series"))?;
                if row.host_id != me.to_string() {
                    return Err(Error::PermissionDenied("only the series' host may do this"));
                }
                let now = self.now();
                let mut cancelled = 0;
                for event_id in self.0.store.future_occurrences(&id, now).await? {
                    if let Ok(e) = self
                        .0
                        .store
                        .cancel_event(&event_id, None, &reason, None, now)
                        .await?
                        && e.state == "cancelled"
                    {
                        cancelled += 1;
                    }
                }
                let row = self
                    .0
                    .store
                    .cancel_series(&id, now)
                    .await?
                    .ok_or(Error::NotFound("series"))?;
                Ok(pb::CancelSeriesResponse {
                    series: Some(series::series_to_pb(&row)),
                    cancelled_event_count: cancelled,
                })
            }
            .await,
        )
    }

    async fn invite_members(
        &self,
        request: Request<pb::InviteMembersRequest>,
    ) -> Reply<pb::InviteMembersResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.into_inner();
                let id = id_field("event_id", &req.event_id)?;
                let event = self
                    .managed_event(&id, me, &[HostRole::Host, HostRole::Cohost])
                    .await?;
                if event.state == "cancelled" || event.state == "completed" {
                    return Err(Error::FailedPrecondition("the event is over or cancelled"));
                }
                let candidates: Vec<String> = match req.target {
                    Some(pb::invite_members_request::Target::Members(list)) => {
                        if list.member_ids.is_empty() || list.member_ids.len() > 500 {
                            return Err(Error::field(
                                "members.member_ids",
                                "must name 1 to 500 members",
                            ));
                        }
                        let mut ids = Vec::with_capacity(list.member_ids.len());
                        for (i, m) in list.member_ids.iter().enumerate() {
                            ids.push(id_field(&format!("members.member_ids[{i}]"), m)?);
                        }
                        ids
                    }
                    Some(pb::invite_members_request::Target::AllConnections(all)) => {
                        let city = if all.only_in_event_city {
                            event.city.clone()
                        } else {
                            String::new()
                        };
                        self.members()?
                            .connection_ids(&me.to_string(), &city)
                            .await?
                    }
                    Some(pb::invite_members_request::Target::ChapterId(chapter)) => {
                        let chapter = id_field("chapter_id", &chapter)?;
                        if !self
                            .0
                            .store
                            .is_chapter_member(&chapter, &me.to_string())
                            .await?
                        {
                            return Err(Error::PermissionDenied(
                                "only members of the chapter may invite it",
                            ));
                        }
                        self.0.store.chapter_member_ids(&chapter).await?
                    }
                    None => {
                        return Err(Error::field(
                            "target",
                            "is required: members, all_connections or chapter_id",
                        ));
                    }
                };
                let mut candidates: Vec<String> = candidates
                    .into_iter()
                    .filter(|m| *m != me.to_string() && *m != event.host_id)
                    .collect();
                candidates.sort();
                candidates.dedup();
                let mut allowed = Vec::with_capacity(candidates.len());
                let mut blocked = 0;
                if let Some(members) = &self.0.members {
                    for m in candidates {
                        if members.are_connected(&me.to_string(), &m).await?.blocked {
                            blocked += 1;
                        } else {
                            allowed.push(m);
                        }
                    }
                } else {
                    allowed = candidates;
                }
                let now = self.now();
                let InviteOutcome {
                    invited,
                    skipped,
                    remaining,
                } = self
                    .0
                    .store
                    .invite(
                        &event,
                        &me.to_string(),
                        &allowed,
                        self.0.settings.weekly_invitation_cap,
                        now - Duration::days(7),
                        now,
                    )
                    .await?
                    .ok_or(Error::ResourceExhausted(
                        "the weekly invitation limit is reached",
                    ))?;
                Ok(pb::InviteMembersResponse {
                    invited_count: count(invited),
                    skipped_count: count(skipped + blocked),
                    remaining_weekly_invitations: count(remaining),
                })
            }
            .await,
        )
    }

    async fn rsvp(&self, request: Request<pb::RsvpRequest>) -> Reply<pb::RsvpResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let mut v = Violations::new();
                let id = v.check(validate::id("event_id", &req.event_id));
                let intent = match pb::RsvpIntent::try_from(req.intent) {
                    Ok(pb::RsvpIntent::Going) => Some(Intent::Going),
                    Ok(pb::RsvpIntent::NotGoing) => Some(Intent::NotGoing),
                    _ => {
                        v.push(FieldViolation::new(
                            "intent",
                            "is required: going or not going",
                        ));
                        None
                    }
                };
                let visibility = rsvp_visibility_name(req.visibility);
                if visibility.is_none() {
                    v.push(FieldViolation::new(
                        "visibility",
                        "is not a known RSVP visibility",
                    ));
                }
                mask_or_err(v.finish())?;
                let (Some(id), Some(intent), Some(visibility)) = (id, intent, visibility) else {
                    return Err(Error::field("event_id", "is invalid"));
                };
                let id = id.to_string();
                self.visible_event(&id, Some(me)).await?;
                let outcome = self
                    .0
                    .admission
                    .rsvp(
                        &id,
                        RsvpRequest {
                            member_id: me.to_string(),
                            intent,
                            visibility: visibility.to_owned(),
                        },
                    )
                    .await
                    .map_err(|_| Error::Unavailable("database"))?
                    .map_err(|r| match r {
                        RsvpRefusal::NoEvent => Error::NotFound("event"),
                        RsvpRefusal::NotOpen => {
                            Error::FailedPrecondition("the event is not open for RSVPs")
                        }
                        RsvpRefusal::DeadlinePassed => {
                            Error::FailedPrecondition("the RSVP deadline has passed")
                        }
                    })?;
                let mut row = self
                    .0
                    .store
                    .rsvp_of(&id, &me.to_string())
                    .await?
                    .ok_or(Error::NotFound("rsvp"))?;
                // The batch's answer is what the caller's request became.
                row.status = outcome.status;
                if outcome.waitlist_position.is_some() {
                    row.waitlist_position = outcome.waitlist_position;
                }
                Ok(pb::RsvpResponse {
                    rsvp: Some(rsvp_to_pb(&row)),
                })
            }
            .await,
        )
    }

    async fn get_rsvp(&self, request: Request<pb::GetRsvpRequest>) -> Reply<pb::GetRsvpResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let mut v = Violations::new();
                let id = v.check(validate::id("event_id", &req.event_id));
                let member = if req.member_id.is_empty() {
                    Some(me)
                } else {
                    v.check(id_or_me("member_id", &req.member_id, me))
                };
                mask_or_err(v.finish())?;
                let (Some(id), Some(member)) = (id, member) else {
                    return Err(Error::field("event_id", "is invalid"));
                };
                let event = self.visible_event(&id.to_string(), Some(me)).await?;
                if member != me && event.role_of(&me.to_string()).is_none() {
                    return Err(Error::PermissionDenied(
                        "only the event's hosts may see others' RSVPs",
                    ));
                }
                let row = self
                    .0
                    .store
                    .rsvp_of(&event.id, &member.to_string())
                    .await?
                    .ok_or(Error::NotFound("rsvp"))?;
                Ok(pb::GetRsvpResponse {
                    rsvp: Some(rsvp_to_pb(&row)),
                })
            }
            .await,
        )
    }

    async fn cancel_rsvp(
        &self,
        request: Request<pb::CancelRsvpRequest>,
    ) -> Reply<pb::CancelRsvpResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let id = id_field("event_id", &request.get_ref().event_id)?;
                self.visible_event(&id, Some(me)).await?;
                let row = self
                    .single(&id, &me.to_string(), Transition::Cancel)
                    .await?;
                Ok(pb::CancelRsvpResponse { rsvp: Some(row) })
            }
            .await,
        )
    }

    async fn claim_offer(
        &self,
        request: Request<pb::ClaimOfferRequest>,
    ) -> Reply<pb::ClaimOfferResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let id = id_field("event_id", &request.get_ref().event_id)?;
                self.visible_event(&id, Some(me)).await?;
                let row = self.single(&id, &me.to_string(), Transition::Claim).await?;
                Ok(pb::ClaimOfferResponse { rsvp: Some(row) })
            }
            .await,
        )
    }

    async fn approve_rsvp(
        &self,
        request: Request<pb::ApproveRsvpRequest>,
    ) -> Reply<pb::ApproveRsvpResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let (id, member) = event_and_member(&req.event_id, &req.member_id)?;
                self.managed_event(&id, me, &[HostRole::Host, HostRole::Cohost])
                    .await?;
                let row = self.single(&id, &member, Transition::Approve).await?;
                Ok(pb::ApproveRsvpResponse { rsvp: Some(row) })
            }
            .await,
        )
    }

    async fn decline_rsvp(
        &self,
        request: Request<pb::DeclineRsvpRequest>,
    ) -> Reply<pb::DeclineRsvpResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let (id, member) = event_and_member(&req.event_id, &req.member_id)?;
                validate::text("reason", &req.reason, 0, 1000, true)?;
                self.managed_event(&id, me, &[HostRole::Host, HostRole::Cohost])
                    .await?;
                let row = self.single(&id, &member, Transition::Decline).await?;
                Ok(pb::DeclineRsvpResponse { rsvp: Some(row) })
            }
            .await,
        )
    }

    async fn list_attendees(
        &self,
        request: Request<pb::ListAttendeesRequest>,
    ) -> Reply<pb::ListAttendeesResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                let id = v.check(validate::id("event_id", &req.event_id));
                let mut statuses = Vec::new();
                for (i, s) in req.statuses.iter().enumerate() {
                    match status_filter(*s) {
                        Some(name) => statuses.push(name),
                        None => v.push(FieldViolation::new(
                            format!("statuses[{i}]"),
                            "is not a known RSVP status",
                        )),
                    }
                }
                if statuses.is_empty() {
                    statuses = vec!["confirmed", "waitlisted"];
                }
                let limit = v.check(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
                let scope = format!("ListAttendees/{}", req.event_id);
                let after: Option<Option<(i64, String)>> =
                    v.check(self.0.page_tokens.decode(&scope, &req.page_token));
                mask_or_err(v.finish())?;
                let (Some(id), Some(limit), Some(after)) = (id, limit, after) else {
                    return Err(Error::field("event_id", "is invalid"));
                };
                let me_s = me.to_string();
                let event = self.visible_event(&id.to_string(), Some(me)).await?;
                // Hosts and full co-hosts; a check-in-only co-host may only check people in.
                let is_host = event.is_manager(&me_s);
                let my_status = self
                    .0
                    .store
                    .rsvp_of(&event.id, &me_s)
                    .await?
                    .map(|r| r.status);
                let confirmed = my_status == Some(Status::Confirmed);
                if !is_host && !confirmed {
                    return Err(Error::PermissionDenied(
                        "only hosts and confirmed attendees may list attendees",
                    ));
                }
                let after = match after {
                    Some((micros, member)) => Some((
                        DateTime::from_timestamp_micros(micros).ok_or_else(|| {
                            Error::field("page_token", "not a page token issued by this method")
                        })?,
                        member,
                    )),
                    None => None,
                };
                let mut rows = self
                    .0
                    .store
                    .rsvps(&event.id, &statuses, req.checked_in_only, after, limit + 1)
                    .await?;
                let next_page_token = next_page_token(&mut rows, limit, |r| {
                    let cursor = (r.created_at.timestamp_micros(), r.member_id.clone());
                    self.0.page_tokens.encode(&scope, &cursor)
                });
                let mut attendees = Vec::with_capacity(rows.len());
                let mut hidden = 0;
                for r in &rows {
                    let visible = is_host
                        || r.member_id == me_s
                        || match r.visibility.as_str() {
                            "public" => true,
                            "attendees" => confirmed,
                            "connections" => match &self.0.members {
                                Some(m) => m.are_connected(&me_s, &r.member_id).await?.connected,
                                None => false,
                            },
                            _ => false,
                        };
                    if visible {
                        attendees.push(pb::Attendee {
                            member_id: r.member_id.clone(),
                            status: status_pb(r.status).into(),
                            waitlist_position: r
                                .waitlist_position
                                .and_then(|p| i32::try_from(p).ok())
                                .unwrap_or(0),
                            checked_in: r.checked_in_at.is_some(),
                            check_in_time: r.checked_in_at.and_then(ts),
                            rsvp_time: ts(r.created_at),
                        });
                    } else {
                        hidden += 1;
                    }
                }
                Ok(pb::ListAttendeesResponse {
                    attendees,
                    next_page_token,
                    hidden_count: hidden,
                })
            }
            .await,
        )
    }

    async fn get_attendance_summary(
        &self,
        request: Request<pb::GetAttendanceSummaryRequest>,
    ) -> Reply<pb::GetAttendanceSummaryResponse> {
        reply(
            async {
                let viewer = optional_member(&request)?;
                let id = id_field("event_id", &request.get_ref().event_id)?;
                let event = self.visible_event(&id, viewer).await?;
                let counts = self.0.store.status_counts(&event.id).await?;
                let of = |name: &str| {
                    counts
                        .iter()
                        .find(|(s, _)| s == name)
                        .map_or(0, |(_, n)| *n)
                };
                let checked_in = self.0.store.checked_in_ids(&event.id).await?.len();
                let mut unmet = 0;
                let mut visible_unmet = Vec::new();
                if let (Some(me), Some(members)) = (viewer, &self.0.members) {
                    let me_s = me.to_string();
                    let going = self
                        .0
                        .store
                        .rsvps(&event.id, &["confirmed"], false, None, 10_000)
                        .await?;
                    let ids: Vec<String> = going
                        .iter()
                        .map(|r| r.member_id.clone())
                        .filter(|m| *m != me_s)
                        .collect();
                    if !ids.is_empty() {
                        unmet = members.count_unmet(&me_s, ids).await?;
                    }
                    if unmet > 0 {
                        let i_am_confirmed = going.iter().any(|r| r.member_id == me_s);
                        for r in going.iter().filter(|r| r.member_id != me_s) {
                            let may_see = event.is_manager(&me_s)
                                || matches!(r.visibility.as_str(), "public" | "connections")
                                || (r.visibility == "attendees" && i_am_confirmed);
                            if may_see {
                                let c = members.are_connected(&me_s, &r.member_id).await?;
                                if c.connected && !c.met_in_person {
                                    visible_unmet.push(r.member_id.clone());
                                }
                            }
                        }
                    }
                }
                Ok(pb::GetAttendanceSummaryResponse {
                    summary: Some(pb::AttendanceSummary {
                        event_id: event.id.clone(),
                        capacity: count(event.capacity),
                        confirmed_count: count(of("confirmed")),
                        waitlisted_count: count(of("waitlisted")),
                        offered_count: count(of("offered")),
                        pending_approval_count: count(of("pending_approval")),
                        checked_in_count: count(i64::try_from(checked_in).unwrap_or(i64::MAX)),
                        no_show_count: count(event.no_show_count),
                        unmet_connections_going_count: count(unmet),
                        visible_unmet_connection_ids: visible_unmet,
                    }),
                })
            }
            .await,
        )
    }

    async fn announce_to_attendees(
        &self,
        request: Request<pb::AnnounceToAttendeesRequest>,
    ) -> Reply<pb::AnnounceToAttendeesResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let mut v = Violations::new();
                let id = v.check(validate::id("event_id", &req.event_id));
                let message = v.check(validate::text("message", &req.message, 1, 2000, true));
                let request_id =
                    v.check(validate::text("request_id", &req.request_id, 0, 100, false));
                mask_or_err(v.finish())?;
                let (Some(id), Some(message), Some(request_id)) = (id, message, request_id) else {
                    return Err(Error::field("event_id", "is invalid"));
                };
                let event = self
                    .managed_event(&id.to_string(), me, &[HostRole::Host, HostRole::Cohost])
                    .await?;
                let request_id = if request_id.is_empty() {
                    Uuid::now_v7().to_string()
                } else {
                    request_id
                };
                let sent = self
                    .0
                    .store
                    .announce(
                        &event,
                        &request_id,
                        &message,
                        req.include_waitlisted,
                        self.now(),
                    )
                    .await?;
                Ok(pb::AnnounceToAttendeesResponse {
                    recipient_count: count(sent),
                })
            }
            .await,
        )
    }

    async fn get_check_in_code(
        &self,
        request: Request<pb::GetCheckInCodeRequest>,
    ) -> Reply<pb::GetCheckInCodeResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let id = id_field("event_id", &request.get_ref().event_id)?;
                let event = self
                    .managed_event(
                        &id,
                        me,
                        &[HostRole::Host, HostRole::Cohost, HostRole::CheckInOnly],
                    )
                    .await?;
                let (open, close) = self.window(&event);
                Ok(pb::GetCheckInCodeResponse {
                    code: event.check_in_code,
                    window_start_time: ts(open),
                    window_end_time: ts(close),
                })
            }
            .await,
        )
    }

    async fn rotate_check_in_code(
        &self,
        request: Request<pb::RotateCheckInCodeRequest>,
    ) -> Reply<pb::RotateCheckInCodeResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let id = id_field("event_id", &request.get_ref().event_id)?;
                let event = self
                    .managed_event(&id, me, &[HostRole::Host, HostRole::Cohost])
                    .await?;
                let code = new_check_in_code();
                self.0
                    .store
                    .set_check_in_code(&event.id, &code, self.now())
                    .await?;
                let (open, close) = self.window(&event);
                Ok(pb::RotateCheckInCodeResponse {
                    code,
                    window_start_time: ts(open),
                    window_end_time: ts(close),
                })
            }
            .await,
        )
    }

    async fn check_in(&self, request: Request<pb::CheckInRequest>) -> Reply<pb::CheckInResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.into_inner();
                let id = id_field("event_id", &req.event_id)?;
                let event = self.visible_event(&id, Some(me)).await?;
                let member = match req.target {
                    Some(pb::check_in_request::Target::Code(code)) => {
                        let code = code.trim().to_uppercase();
                        if code.is_empty() || code.len() > 32 {
                            return Err(Error::field("code", "is required"));
                        }
                        if !constant_time_eq(code.as_bytes(), event.check_in_code.as_bytes()) {
                            return Err(Error::PermissionDenied("the check-in code is wrong"));
                        }
                        me.to_string()
                    }
                    Some(pb::check_in_request::Target::MemberId(member)) => {
                        let member = id_or_me("member_id", &member, me)?.to_string();
                        if event.role_of(&me.to_string()).is_none() {
                            return Err(Error::PermissionDenied(
                                "only hosts and co-hosts may check others in",
                            ));
                        }
                        member
                    }
                    None => return Err(Error::field("target", "is required: code or member_id")),
                };
                if event.state != "published" {
                    return Err(Error::FailedPrecondition(
                        "the event is not open for check-in",
                    ));
                }
                let now = self.now();
                let (open, close) = self.window(&event);
                if now < open || now > close {
                    return Err(Error::FailedPrecondition("check-in is closed"));
                }
                let row = self
                    .0
                    .store
                    .check_in(&event.id, &member, now)
                    .await?
                    .ok_or(Error::FailedPrecondition(
                        "only confirmed attendees can check in",
                    ))?;
                Ok(pb::CheckInResponse {
                    rsvp: Some(rsvp_to_pb(&row)),
                })
            }
            .await,
        )
    }

    async fn complete_event(
        &self,
        request: Request<pb::CompleteEventRequest>,
    ) -> Reply<pb::CompleteEventResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let id = id_field("event_id", &request.get_ref().event_id)?;
                let event = self
                    .managed_event(&id, me, &[HostRole::Host, HostRole::Cohost])
                    .await?;
                let now = self.now();
                if now < event.start_at {
                    return Err(Error::FailedPrecondition("the event has not started yet"));
                }
                let CompleteOutcome {
                    checked_in,
                    no_show,
                    ..
                } = self
                    .0
                    .store
                    .complete(&event.id, now)
                    .await?
                    .map_err(Error::FailedPrecondition)?;
                // Members down: the auto-complete task retries.
                self.record_meetings(&event.id, now).await;
                let event = self
                    .0
                    .store
                    .event(&event.id)
                    .await?
                    .ok_or(Error::NotFound("event"))?;
                Ok(pb::CompleteEventResponse {
                    event: Some(event_to_pb(&event)),
                    checked_in_count: count(checked_in),
                    no_show_count: count(no_show),
                })
            }
            .await,
        )
    }

    async fn export_event_calendar(
        &self,
        request: Request<pb::ExportEventCalendarRequest>,
    ) -> Reply<pb::ExportEventCalendarResponse> {
        reply(
            async {
                let viewer = optional_member(&request)?;
                let id = id_field("event_id", &request.get_ref().event_id)?;
                let event = self.visible_event(&id, viewer).await?;
                let ics = calendar::calendar(&event.title, &[calendar_event(&event)]);
                Ok(pb::ExportEventCalendarResponse {
                    ics: ics.into_bytes(),
                    content_type: calendar::CONTENT_TYPE.to_owned(),
                })
            }
            .await,
        )
    }

    async fn export_my_calendar(
        &self,
        request: Request<pb::ExportMyCalendarRequest>,
    ) -> Reply<pb::ExportMyCalendarResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let events = self
                    .0
                    .store
                    .list_my_events(&me.to_string(), self.now(), None, 500, true)
                    .await?;
                let ics = calendar::calendar(
                    "Rendezvous",
                    &events.iter().map(calendar_event).collect::<Vec<_>>(),
                );
                Ok(pb::ExportMyCalendarResponse {
                    ics: ics.into_bytes(),
                    content_type: calendar::CONTENT_TYPE.to_owned(),
                })
            }
            .await,
        )
    }

    async fn create_calendar_feed(
        &self,
        request: Request<pb::CreateCalendarFeedRequest>,
    ) -> Reply<pb::CreateCalendarFeedResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let request_id =
                    validate::text("request_id", &request.get_ref().request_id, 0, 100, false)?;
                let mut bytes = [0_u8; 32];
                OsRng.fill_bytes(&mut bytes);
                let token = hex(&bytes);
                let id = Uuid::now_v7().to_string();
                let now = self.now();
                let (id, created_at, fresh) = self
                    .0
                    .store
                    .create_feed(
                        &id,
                        &me.to_string(),
                        &token_hash(&token),
                        (!request_id.is_empty()).then_some(request_id.as_str()),
                        now,
                    )
                    .await?;
                // A retry cannot show the URL again: only its hash is kept.
                let url = if fresh {
                    format!(
                        "{}/calendar/{token}.ics",
                        self.0.settings.public_feed_url.trim_end_matches('/')
                    )
                } else {
                    String::new()
                };
                Ok(pb::CreateCalendarFeedResponse {
                    feed: Some(pb::CalendarFeed {
                        id,
                        url,
                        create_time: ts(created_at),
                    }),
                })
            }
            .await,
        )
    }

    async fn revoke_calendar_feed(
        &self,
        request: Request<pb::RevokeCalendarFeedRequest>,
    ) -> Reply<pb::RevokeCalendarFeedResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let id = id_field("feed_id", &request.get_ref().feed_id)?;
                if !self
                    .0
                    .store
                    .revoke_feed(&id, &me.to_string(), self.now())
                    .await?
                {
                    return Err(Error::NotFound("calendar feed"));
                }
                Ok(pb::RevokeCalendarFeedResponse {})
            }
            .await,
        )
    }
}

impl Events {
    /// Applies one RSVP transition and returns the RSVP as it now stands.
    async fn single(&self, event_id: &str, member: &str, op: Transition) -> Result<pb::Rsvp> {
        let outcome = self
            .0
            .store
            .transition(event_id, member, op, self.now())
            .await?
            .map_err(transition_refusal)?;
        let mut row = self
            .0
            .store
            .rsvp_of(event_id, member)
            .await?
            .ok_or(Error::NotFound("rsvp"))?;
        row.status = outcome.status;
        Ok(rsvp_to_pb(&row))
    }

    /// Whether `viewer` may see a series: its host always; otherwise by its occurrences'
    /// visibility (public: anyone; chapter: the chapter's members; invite-only: nobody else).
    async fn series_visible(&self, row: &series::SeriesRow, viewer: Option<Uuid>) -> Result<bool> {
        let viewer = viewer.map(|v| v.to_string());
        if viewer.as_deref() == Some(row.host_id.as_str()) {
            return Ok(true);
        }
        let visibility = row
            .series
            .template
            .as_ref()
            .and_then(|t| visibility_name(t.visibility));
        Ok(match (visibility, &row.chapter_id, viewer) {
            (Some("public"), _, _) => true,
            (Some("chapter"), Some(chapter), Some(viewer)) => {
                self.0.store.is_chapter_member(chapter, &viewer).await?
            }
            _ => false,
        })
    }

    /// When check-in opens and closes for `event`.
    fn window(&self, event: &EventRow) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            event.start_at - self.0.settings.check_in_before,
            event.end_at + self.0.settings.check_in_after,
        )
    }
}

fn event_and_member(event_id: &str, member_id: &str) -> Result<(String, String)> {
    let mut v = Violations::new();
    let id = v.check(validate::id("event_id", event_id));
    let member = v.check(validate::id("member_id", member_id));
    mask_or_err(v.finish())?;
    match (id, member) {
        (Some(id), Some(member)) => Ok((id.to_string(), member.to_string())),
        _ => Err(Error::field("event_id", "is invalid")),
    }
}

/// The signed-in member, or None for an anonymous caller; a bad token is refused.
fn optional_member<T>(request: &Request<T>) -> Result<Option<Uuid>> {
    match caller(request) {
        rendezvous_common::auth::Caller::Member { id, .. } => Ok(Some(id)),
        rendezvous_common::auth::Caller::Anonymous => Ok(None),
        _ => Err(Error::Unauthenticated),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
