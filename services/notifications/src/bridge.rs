//! Transitional, for this branch only: a Deliver item still written the old way (a `kind`
//! and string `params`, from producers not yet moved to typed notices) becomes a typed
//! notice, so that every notification is stored and rendered from a notice. It goes at the
//! merge, together with the deprecated `kind` and `params` fields, once every producer sends
//! `notice`; `crate::convert` is its one caller.

use std::collections::HashMap;

use chrono::DateTime;
use rendezvous_proto::notifications::v1::{self as pb, NotificationKind as K};
use rendezvous_proto::prost_types::Timestamp;

/// The notice of `kind` with what `params` say of its facts; `None` for an unknown kind.
pub fn notice(kind: i32, params: &HashMap<String, String>) -> Option<pb::Notice> {
    let p = |name: &str| params.get(name).cloned().unwrap_or_default();
    let number = |name: &str| p(name).parse::<u32>().unwrap_or(0);
    let time = |name: &str| {
        DateTime::parse_from_rfc3339(&p(name))
            .ok()
            .map(|at| Timestamp {
                seconds: at.timestamp(),
                nanos: 0,
            })
    };
    let member = || {
        Some(pb::MemberFacts {
            member_id: p("member_id"),
            display_name: p("member_name"),
        })
    };
    let host = || {
        Some(pb::MemberFacts {
            member_id: p("host_id"),
            display_name: p("host_name"),
        })
    };
    let event = || {
        Some(pb::EventFacts {
            event_id: p("event_id"),
            title: p("event_title"),
            start_time: time("start_time"),
            end_time: time("end_time"),
            time_zone: p("time_zone"),
            venue_name: p("venue_name"),
            venue_address: p("venue_address"),
            city: p("city"),
        })
    };
    Some(match K::try_from(kind).ok()? {
        K::Unspecified => return None,
        K::Welcome => pb::Welcome { member: member() }.into(),
        K::ConnectionRequested => pb::ConnectionRequested {
            request_id: p("request_id"),
            requester: member(),
            note: p("note"),
        }
        .into(),
        K::ConnectionAccepted => pb::ConnectionAccepted { member: member() }.into(),
        K::EventInvitation => pb::EventInvitation {
            event: event(),
            inviter: host(),
        }
        .into(),
        K::RsvpConfirmed => pb::RsvpConfirmed { event: event() }.into(),
        K::RsvpWaitlisted => pb::RsvpWaitlisted {
            event: event(),
            position: number("waitlist_position"),
        }
        .into(),
        K::WaitlistPromoted => pb::WaitlistPromoted { event: event() }.into(),
        K::WaitlistOffered => pb::WaitlistOffered {
            event: event(),
            expire_time: time("offer_expire_time"),
        }
        .into(),
        K::RsvpApproved => pb::RsvpApproved { event: event() }.into(),
        K::RsvpDeclined => pb::RsvpDeclined { event: event() }.into(),
        K::EventUpdated => pb::EventUpdated {
            event: event(),
            previous: None,
            time_changed: p("changes").contains("time"),
            venue_changed: p("changes").contains("venue"),
        }
        .into(),
        K::EventCancelled => pb::EventCancelled {
            event: event(),
            reason: p("reason"),
        }
        .into(),
        K::EventReminder => pb::EventReminder {
            event: event(),
            hours_before: number("hours_before"),
        }
        .into(),
        K::MetInPerson => pb::MetInPerson {
            member: member(),
            event: event(),
        }
        .into(),
        K::ConnectSuggestion => pb::ConnectSuggestion {
            member: member(),
            event: event(),
        }
        .into(),
        K::ChapterNewEvent => pb::ChapterNewEvent {
            chapter: Some(pb::ChapterFacts {
                chapter_id: p("chapter_id"),
                name: p("chapter_name"),
            }),
            event: event(),
        }
        .into(),
        K::EventAnnouncement => pb::EventAnnouncement {
            event: event(),
            host: host(),
            message: p("message"),
        }
        .into(),
        K::MeetingFollowUp => pb::MeetingFollowUp {
            event: event(),
            co_attendee_count: number("co_attendee_count"),
        }
        .into(),
        K::RsvpPendingApproval => pb::RsvpPendingApproval { event: event() }.into(),
        K::RsvpApprovalRequested => pb::RsvpApprovalRequested {
            event: event(),
            member: member(),
        }
        .into(),
        K::WaitlistOfferExpired => pb::WaitlistOfferExpired { event: event() }.into(),
    })
}
