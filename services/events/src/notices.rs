//! The typed notices events sends through its outbox: the facts of an event as a notice shows
//! them, and one constructor per kind.

use rendezvous_proto::notifications::v1 as npb;

use crate::events::EventRow;
use rendezvous_common::time::to_timestamp;

/// The event as notices show it: title, start and end in its time zone, venue and city.
pub fn event_facts(event: &EventRow) -> npb::EventFacts {
    npb::EventFacts {
        event_id: event.id.clone(),
        title: event.title.clone(),
        start_time: Some(to_timestamp(event.start_at)),
        end_time: Some(to_timestamp(event.end_at)),
        time_zone: event.time_zone.clone(),
        venue_name: event.venue_name.clone(),
        venue_address: event.venue_address.clone(),
        city: event.city.clone(),
    }
}
