//! Events as the rules see them: the stored event with its co-hosts, who runs it, who may see
//! it, the cross-field rules of its times, and the geometry of "near".

use chrono::{DateTime, Duration, Utc};
use rand::Rng as _;
use rand::rngs::OsRng;
use rendezvous_common::error::FieldViolation;
use uuid::Uuid;

use crate::domain::limits::LimitReached;
use crate::domain::rsvp::{RuleError, WaitlistMode};

/// What a co-host may do (`full` | `check_in_only` as stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CohostRole {
    Full,
    CheckInOnly,
}

/// What kind of meeting an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Coffee,
    Drinks,
    Meal,
    Talk,
    Other,
}

/// Who may see an event besides its hosts, invitees and members who RSVP'd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventVisibility {
    /// Anyone.
    Public,
    /// The members of the event's chapter.
    Chapter,
    /// Nobody else.
    InviteOnly,
}

/// Where an event is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventState {
    Draft,
    Published,
    Cancelled,
    Completed,
}

impl EventState {
    /// Cancelled or completed: nothing about the event changes any more.
    pub fn is_over(self) -> bool {
        matches!(self, Self::Cancelled | Self::Completed)
    }
}

/// An event as stored, with its co-hosts.
#[derive(Clone, Debug)]
pub struct EventRow {
    pub id: Uuid,
    pub chapter_id: Option<Uuid>,
    pub series_id: Option<Uuid>,
    pub host_id: Uuid,
    pub cohosts: Vec<(Uuid, CohostRole)>,
    pub title: String,
    pub description: String,
    pub kind: EventKind,
    pub venue_name: String,
    pub venue_address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub city: String,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub time_zone: String,
    pub capacity: i64,
    pub rsvp_deadline: Option<DateTime<Utc>>,
    pub visibility: EventVisibility,
    pub state: EventState,
    pub approval_required: bool,
    pub waitlist: WaitlistMode,
    pub confirmed_count: i64,
    pub offered_count: i64,
    pub waitlisted_count: i64,
    pub check_in_code: String,
    pub cancellation_reason: String,
    pub no_show_count: i64,
    /// Bumped by every change of the event or its co-hosts; the etag.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The members' coffee proposal a booked coffee was made from (`ScheduleCoffee`); `None`
    /// for every other event, whatever its kind. Set when the event is made, never changed.
    pub coffee_proposal_id: Option<Uuid>,
}

/// Why a booked coffee refuses what would reshape it (see [`EventRow::check_reshapable`]).
pub const COFFEE_LOCKED: &str = "a coffee between two members cannot be edited, shared or \
     given co-hosts; it is changed by booking it again in MemberService";

impl EventRow {
    /// Whether the event is a booked coffee between two members: the private two-person event
    /// `ScheduleCoffee` made, not merely an event of kind coffee.
    pub fn is_coffee(&self) -> bool {
        self.coffee_proposal_id.is_some()
    }

    /// Refuses what would change who an event is for or what it is — UpdateEvent,
    /// InviteMembers, AddCohost, RemoveCohost — on a booked coffee: it stays private to its
    /// two members, as members booked it, and changes only by being booked again there.
    /// Everything else (reading it, check-in, announcing, completing, cancelling it or an RSVP
    /// to it) is left to the usual rules. Asked after the caller is authorised, so that only
    /// the event's hosts learn it is a coffee.
    pub fn check_reshapable(&self) -> Result<(), EventRefusal> {
        if self.is_coffee() {
            return Err(EventRefusal::State(COFFEE_LOCKED));
        }
        Ok(())
    }

    /// The caller's part in the event as host or co-host.
    pub fn role_of(&self, member: Uuid) -> Option<HostRole> {
        if self.host_id == member {
            return Some(HostRole::Host);
        }
        self.cohosts
            .iter()
            .find(|(id, _)| *id == member)
            .map(|(_, role)| match role {
                CohostRole::Full => HostRole::Cohost,
                CohostRole::CheckInOnly => HostRole::CheckInOnly,
            })
    }

    /// The chapter told when the event is published: its own, unless it is invite-only.
    pub fn told_chapter(&self) -> Option<Uuid> {
        self.chapter_id
            .filter(|_| self.visibility != EventVisibility::InviteOnly)
    }

    /// Whether `member` manages the event (host or full co-host).
    pub fn is_manager(&self, member: Uuid) -> bool {
        matches!(
            self.role_of(member),
            Some(HostRole::Host | HostRole::Cohost)
        )
    }
}

/// Someone's part in running an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostRole {
    Host,
    Cohost,
    CheckInOnly,
}

/// The masked fields of an UpdateEvent (each already valid on its own); `None` keeps the
/// stored value.
#[derive(Clone, Debug, Default)]
pub struct EventEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: Option<EventKind>,
    /// Name, address, latitude, longitude.
    pub venue: Option<(String, String, Option<f64>, Option<f64>)>,
    pub city: Option<String>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub time_zone: Option<String>,
    pub capacity: Option<u32>,
    pub rsvp_deadline: Option<Option<DateTime<Utc>>>,
    pub visibility: Option<EventVisibility>,
    pub approval_required: Option<bool>,
    pub waitlist: Option<WaitlistMode>,
    /// The version the caller read; a mismatch refuses the update.
    pub etag: Option<String>,
}

/// Why an event operation was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EventRefusal {
    #[error("no such event")]
    NotFound,
    #[error("only the event's hosts may do this")]
    NotHost,
    #[error("the event changed since it was read")]
    EtagMismatch,
    #[error("{0}")]
    Rule(RuleError),
    #[error("invalid change")]
    Invalid(Vec<FieldViolation>),
    #[error("{0}")]
    State(&'static str),
    #[error("{0}")]
    Limit(LimitReached),
}

/// The cross-field rules of an event's times: end after start, deadline not after start.
pub fn check_times(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Vec<FieldViolation> {
    let mut v = Vec::new();
    if end <= start {
        v.push(FieldViolation::new(
            "event.end_time",
            "must be after start_time",
        ));
    } else if end - start > Duration::days(7) {
        v.push(FieldViolation::new(
            "event.end_time",
            "must be at most 7 days after start_time",
        ));
    }
    if deadline.is_some_and(|d| d > start) {
        v.push(FieldViolation::new(
            "event.rsvp_deadline",
            "must not be after start_time",
        ));
    }
    v
}

/// What a new event stores (already validated).
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub id: Uuid,
    pub host_id: Uuid,
    pub chapter_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub kind: EventKind,
    pub venue_name: String,
    pub venue_address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub city: String,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub time_zone: String,
    pub capacity: u32,
    pub rsvp_deadline: Option<DateTime<Utc>>,
    pub visibility: EventVisibility,
    pub approval_required: bool,
    pub waitlist: WaitlistMode,
    pub check_in_code: String,
    pub request_id: Option<String>,
}

/// Unambiguous characters of check-in codes (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 10;

/// A fresh check-in code from the OS's random source.
pub fn new_check_in_code() -> String {
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[OsRng.gen_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// Great-circle distance in kilometres.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0088;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// The latitude/longitude box around a point that contains every point within `radius_km`;
/// the longitude range is `None` when the box would wrap or reach a pole.
pub fn bounding_box(lat: f64, lon: f64, radius_km: f64) -> (f64, f64, Option<(f64, f64)>) {
    const KM_PER_DEGREE: f64 = 111.195;
    let dlat = radius_km / KM_PER_DEGREE;
    let min_lat = (lat - dlat).max(-90.0);
    let max_lat = (lat + dlat).min(90.0);
    let cos = lat.to_radians().cos();
    if max_lat >= 90.0 || min_lat <= -90.0 || cos <= 1e-6 {
        return (min_lat, max_lat, None);
    }
    let dlon = (radius_km / (KM_PER_DEGREE * cos)).min(360.0);
    let (min_lon, max_lon) = (lon - dlon, lon + dlon);
    if min_lon < -180.0 || max_lon > 180.0 {
        return (min_lat, max_lat, None);
    }
    (min_lat, max_lat, Some((min_lon, max_lon)))
}
