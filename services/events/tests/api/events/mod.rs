//! `EventService` end to end over gRPC, on both backends, one module per area: an event's
//! life from draft to recorded meetings, invitations and privacy, attendance (wait-list offers,
//! approvals, check-in), series, and calendars.

mod attendance;
mod calendars;
mod invitations;
mod lifecycle;
mod series;

use chrono::{DateTime, Duration, Timelike as _, Utc};
use chrono_tz::Europe::Paris;
use rendezvous_common::error::violated_fields;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::prost_types::{Duration as PbDuration, FieldMask};
use rendezvous_testkit::{
    Backend, EventClient, backend_tests, call, code, outbox_count, timestamp,
};
use tonic::{Code, Status};

use crate::helpers::{
    World, check_in_code_of, check_in_member, create, event, feed_path, get_event, http_get,
    morning, paris_chapter, publish, published, rsvp, try_get_event, update_title,
};

fn now0() -> DateTime<Utc> {
    morning(2027, 3, 1)
}

pub(crate) async fn get_rsvp(client: &EventClient, id: &str) -> pb::Rsvp {
    client
        .clone()
        .get_rsvp(pb::GetRsvpRequest {
            event_id: id.to_owned(),
            member_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap()
}

fn status(r: &pb::Rsvp) -> pb::RsvpStatus {
    pb::RsvpStatus::try_from(r.status).unwrap()
}

/// A weekly series on Sundays from `start_date`, `count` occurrences.
fn weekly_series(start_date: &str, count: i32) -> pb::Series {
    let sundays = pb::RecurrenceRule {
        frequency: pb::RecurrenceFrequency::Weekly.into(),
        interval: 1,
        by_weekdays: vec![pb::Weekday::Sunday.into()],
        end: Some(pb::recurrence_rule::End::Count(count)),
        ..Default::default()
    };
    crate::helpers::paris_series(sundays, start_date, "Sunday coffee")
}
