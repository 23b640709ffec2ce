//! An event as its producer describes it to other services: `EventFacts` and the
//! `RecordMeetings` request the events service sends members when an event completes.

use chrono::{DateTime, Utc};
use rendezvous_proto::members::v1::RecordMeetingsRequest;
use rendezvous_proto::notifications::v1::EventFacts;

use crate::timestamp;

/// The facts of the event `event_id` titled `title`: two hours from `start` at a café in Paris.
pub fn event_facts(event_id: &str, title: &str, start: DateTime<Utc>) -> EventFacts {
    EventFacts {
        event_id: event_id.to_owned(),
        title: title.to_owned(),
        start_time: Some(timestamp(start)),
        end_time: Some(timestamp(start + chrono::Duration::hours(2))),
        time_zone: "Europe/Paris".to_owned(),
        venue_name: "Le Peloton Café".to_owned(),
        venue_address: "17 rue du Pont Louis-Philippe, 75004 Paris".to_owned(),
        city: "Paris".to_owned(),
    }
}

/// A RecordMeetings request for the event of [`event_facts`] with `member_ids` checked in, as
/// the events service sends it.
pub fn record_meetings_request(
    event_id: &str,
    title: &str,
    at: DateTime<Utc>,
    member_ids: &[String],
) -> RecordMeetingsRequest {
    RecordMeetingsRequest {
        event_id: event_id.to_owned(),
        member_ids: member_ids.to_vec(),
        event: Some(event_facts(event_id, title, at)),
        attendee_count: 0,
        confirm_each: false,
        hoped_pairs: Vec::new(),
    }
}
