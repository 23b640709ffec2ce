//! Recorded events and their meetings, as parsed from the requests that change them.

use chrono::{DateTime, Utc};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::{time, validate};
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::prost_types::Timestamp;
use uuid::Uuid;

use super::fields;
use super::network::other_member;

/// Most attendees one RecordMeetings call takes (pairs grow with the square).
pub const MAX_RECORDED_ATTENDEES: usize = 1000;

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

/// A valid RecordMeetings request: the event and its distinct attendees.
#[derive(Clone, Debug)]
pub struct MeetingRecord {
    pub event: RecordedEvent,
    pub attendees: Vec<Uuid>,
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

impl TryFrom<pb::RecordMeetingsRequest> for MeetingRecord {
    type Error = Vec<FieldViolation>;

    fn try_from(req: pb::RecordMeetingsRequest) -> Result<Self, Self::Error> {
        let (id, attendees, (mut facts, title, time)) = fields::all((
            validate::id("event_id", &req.event_id),
            fields::unique_ids("member_ids", &req.member_ids, MAX_RECORDED_ATTENDEES),
            event_facts(&req.event_id, req.event),
        ))?;
        facts.event_id = id.to_string();
        Ok(Self {
            event: RecordedEvent {
                id,
                title,
                time,
                facts,
            },
            attendees,
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
