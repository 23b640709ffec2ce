//! Recorded events and their meetings, as parsed from the requests that change them.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::{time, validate};
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::prost_types::Timestamp;
use uuid::Uuid;

use super::fields;
use super::network::other_member;

/// Most attendees one RecordMeetings call takes by default (pairs grow with the square);
/// larger events come in chunks.
pub const MAX_RECORDED_ATTENDEES: usize = 1000;
/// Most members an event can have checked in, across its chunks (events' largest capacity is
/// 10,000).
pub const MAX_EVENT_ATTENDEES: i32 = 100_000;
/// Most hoped pairs one RecordMeetings call takes: events lets an attendee mark at most 10
/// others per event, and each pair of a call has a member among its at most 1000 attendees.
pub const MAX_HOPED_PAIRS: usize = 10 * MAX_RECORDED_ATTENDEES;

/// An event whose checked-in attendees are recorded.
#[derive(Clone, Debug)]
pub struct RecordedEvent {
    pub id: Uuid,
    /// From `event.title`: what ListMeetings shows.
    pub title: String,
    /// From `event.start_time`: the order of ListMeetings and the time of met edges.
    pub time: DateTime<Utc>,
    /// From `event`: what the notices of its meetings show.
    pub facts: npb::EventFacts,
}

/// A valid RecordMeetings request: the event, the distinct attendees of this call, how many
/// the event has in all (this call's when it carries them all), and the pairs who hoped to
/// meet there.
#[derive(Clone, Debug)]
pub struct MeetingRecord {
    pub event: RecordedEvent,
    pub attendees: Vec<Uuid>,
    pub total: usize,
    /// Distinct pairs of two different members, the smaller id first; either may be missing
    /// from the event's attendees so far (a later chunk may bring them).
    pub hoped: Vec<(Uuid, Uuid)>,
}

/// `attendee_count`: 0 for "this call's", else at least this call's and at most
/// [`MAX_EVENT_ATTENDEES`].
fn attendee_count(count: i32, in_call: usize) -> Result<usize, FieldViolation> {
    match usize::try_from(count) {
        Ok(0) => Ok(in_call),
        Ok(total) if count <= MAX_EVENT_ATTENDEES && total >= in_call => Ok(total),
        Ok(_) if count <= MAX_EVENT_ATTENDEES => Err(FieldViolation::new(
            "attendee_count",
            "must be at least the number of member_ids",
        )),
        _ => Err(FieldViolation::new(
            "attendee_count",
            format!("must be between 0 and {MAX_EVENT_ATTENDEES}"),
        )),
    }
}

/// `hoped_pairs`: at most [`MAX_HOPED_PAIRS`], each of two different member ids; each pair
/// once, the smaller id first.
fn hoped_pairs(pairs: &[pb::HopedPair]) -> Result<Vec<(Uuid, Uuid)>, Vec<FieldViolation>> {
    if pairs.len() > MAX_HOPED_PAIRS {
        return Err(vec![FieldViolation::new(
            "hoped_pairs",
            format!("at most {MAX_HOPED_PAIRS} pairs"),
        )]);
    }
    let mut hoped = fields::each(pairs.iter().enumerate().map(
        |(i, pair)| -> Result<(Uuid, Uuid), Vec<FieldViolation>> {
            let field = |side: &str| format!("hoped_pairs[{i}].{side}");
            let (a, b) = fields::all((
                validate::id(&field("member_a"), &pair.member_a),
                validate::id(&field("member_b"), &pair.member_b),
            ))?;
            fields::rule(a != b, &field("member_b"), "must differ from member_a")
                .map_err(|v| vec![v])?;
            Ok((a.min(b), a.max(b)))
        },
    ))?;
    let mut seen = HashSet::new();
    hoped.retain(|pair| seen.insert(*pair));
    Ok(hoped)
}

/// A required timestamp field.
pub fn timestamp(field: &str, at: Option<&Timestamp>) -> Result<DateTime<Utc>, FieldViolation> {
    let at = at.ok_or_else(|| FieldViolation::new(field, "is required"))?;
    time::from_timestamp(field, at)
}

/// The facts of the event named by `event_id`: required, about that event, with a title and
/// a start; returns them with the title and the start.
fn event_facts(
    event_id: &str,
    facts: Option<npb::EventFacts>,
) -> Result<(npb::EventFacts, String, DateTime<Utc>), Vec<FieldViolation>> {
    let facts = facts.ok_or_else(|| vec![FieldViolation::new("event", "is required")])?;
    // A malformed `event_id` is that field's violation alone.
    if let Ok(named) = Uuid::try_parse(event_id)
        && Uuid::try_parse(&facts.event_id).ok() != Some(named)
    {
        return Err(vec![FieldViolation::new(
            "event",
            "must be the facts of the event `event_id` names",
        )]);
    }
    let (title, start) = fields::all((
        validate::text("event.title", &facts.title, 1, 200, false),
        timestamp("event.start_time", facts.start_time.as_ref()),
    ))?;
    Ok((facts, title, start))
}

impl TryFrom<(pb::RecordMeetingsRequest, usize)> for MeetingRecord {
    type Error = Vec<FieldViolation>;

    /// Parses a request of at most `per_call` attendees.
    fn try_from((req, per_call): (pb::RecordMeetingsRequest, usize)) -> Result<Self, Self::Error> {
        let (id, attendees, (mut facts, title, time), hoped) = fields::all((
            validate::id("event_id", &req.event_id),
            fields::unique_ids("member_ids", &req.member_ids, per_call),
            event_facts(&req.event_id, req.event),
            hoped_pairs(&req.hoped_pairs),
        ))?;
        let total = attendee_count(req.attendee_count, attendees.len()).map_err(|v| vec![v])?;
        facts.event_id = id.to_string();
        Ok(Self {
            event: RecordedEvent {
                id,
                title,
                time,
                facts,
            },
            attendees,
            total,
            hoped,
        })
    }
}

/// A co-attendee of an event whom the caller confirms having met, or dismisses.
#[derive(Clone, Copy, Debug)]
pub struct CoAttendeeChoice {
    pub event_id: Uuid,
    pub member: Uuid,
}

macro_rules! co_attendee_requests {
    ($($request:ty),+) => {
        $(
            impl TryFrom<(Uuid, $request)> for CoAttendeeChoice {
                type Error = Vec<FieldViolation>;

                /// Parses the request of the caller `me`.
                fn try_from((me, req): (Uuid, $request)) -> Result<Self, Self::Error> {
                    let (event_id, member) = fields::all((
                        validate::id("event_id", &req.event_id),
                        other_member("member_id", &req.member_id, me),
                    ))?;
                    Ok(Self { event_id, member })
                }
            }
        )+
    };
}

co_attendee_requests!(pb::ConfirmMetRequest, pb::DismissMeetingRequest);
