//! The typed notices events sends through its outbox: the facts of an event as a notice shows
//! them, and one constructor per kind. Every constructor names each field of its message, so a
//! field added to the contract fails to compile here until it is filled.

use chrono::{DateTime, Utc};
use rendezvous_common::outbox::OutboxMessage;
use rendezvous_common::time::to_timestamp;
use rendezvous_proto::notifications::v1 as npb;
use uuid::Uuid;

use crate::domain::event::EventRow;

/// The event as notices show it: title, start and end in its time zone, venue and city.
pub fn event_facts(event: &EventRow) -> npb::EventFacts {
    npb::EventFacts {
        event_id: event.id.to_string(),
        title: event.title.clone(),
        start_time: Some(to_timestamp(event.start_at)),
        end_time: Some(to_timestamp(event.end_at)),
        time_zone: event.time_zone.clone(),
        venue_name: event.venue_name.clone(),
        venue_address: event.venue_address.clone(),
        city: event.city.clone(),
    }
}

/// A member as notices name them.
pub fn member_facts(member_id: Uuid, display_name: String) -> npb::MemberFacts {
    npb::MemberFacts {
        member_id: member_id.to_string(),
        display_name,
    }
}

/// A notice for `recipient` to write to the outbox, deduplicated on `key`.
pub fn message(recipient: Uuid, key: String, notice: impl Into<npb::Notice>) -> OutboxMessage {
    OutboxMessage::notice(recipient, key, notice, None)
}

pub fn rsvp_confirmed(event: &EventRow) -> npb::RsvpConfirmed {
    npb::RsvpConfirmed {
        event: Some(event_facts(event)),
    }
}

/// `position` is 1-based, as of the transaction that wait-listed the member.
pub fn rsvp_waitlisted(event: &EventRow, position: u32) -> npb::RsvpWaitlisted {
    npb::RsvpWaitlisted {
        event: Some(event_facts(event)),
        position,
    }
}

pub fn rsvp_pending_approval(event: &EventRow) -> npb::RsvpPendingApproval {
    npb::RsvpPendingApproval {
        event: Some(event_facts(event)),
    }
}

/// To a host or full co-host: `member` asked to come and awaits their approval.
pub fn rsvp_approval_requested(
    event: &EventRow,
    member: npb::MemberFacts,
) -> npb::RsvpApprovalRequested {
    npb::RsvpApprovalRequested {
        event: Some(event_facts(event)),
        member: Some(member),
    }
}

pub fn rsvp_approved(event: &EventRow) -> npb::RsvpApproved {
    npb::RsvpApproved {
        event: Some(event_facts(event)),
    }
}

pub fn rsvp_declined(event: &EventRow) -> npb::RsvpDeclined {
    npb::RsvpDeclined {
        event: Some(event_facts(event)),
    }
}

pub fn waitlist_promoted(event: &EventRow) -> npb::WaitlistPromoted {
    npb::WaitlistPromoted {
        event: Some(event_facts(event)),
    }
}

/// The seat is held for the member until `expire_time`.
pub fn waitlist_offered(event: &EventRow, expire_time: DateTime<Utc>) -> npb::WaitlistOffered {
    npb::WaitlistOffered {
        event: Some(event_facts(event)),
        expire_time: Some(to_timestamp(expire_time)),
    }
}

pub fn waitlist_offer_expired(event: &EventRow) -> npb::WaitlistOfferExpired {
    npb::WaitlistOfferExpired {
        event: Some(event_facts(event)),
    }
}

/// `event` as it now is, `previous` as it was before the edit.
pub fn event_updated(event: &EventRow, previous: &EventRow) -> npb::EventUpdated {
    npb::EventUpdated {
        event: Some(event_facts(event)),
        previous: Some(event_facts(previous)),
        time_changed: event.start_at != previous.start_at || event.end_at != previous.end_at,
        venue_changed: event.venue_name != previous.venue_name
            || event.venue_address != previous.venue_address
            || event.latitude != previous.latitude
            || event.longitude != previous.longitude,
    }
}

pub fn event_cancelled(event: &EventRow, reason: &str) -> npb::EventCancelled {
    npb::EventCancelled {
        event: Some(event_facts(event)),
        reason: reason.to_owned(),
    }
}

/// The reminder sent `before` the event's start.
pub fn event_reminder(event: &EventRow, before: chrono::Duration) -> npb::EventReminder {
    npb::EventReminder {
        event: Some(event_facts(event)),
        minutes_before: u32::try_from(before.num_minutes()).unwrap_or(0),
    }
}

pub fn event_invitation(event: &EventRow, inviter: npb::MemberFacts) -> npb::EventInvitation {
    npb::EventInvitation {
        event: Some(event_facts(event)),
        inviter: Some(inviter),
    }
}

pub fn event_announcement(
    event: &EventRow,
    host: npb::MemberFacts,
    message: &str,
) -> npb::EventAnnouncement {
    npb::EventAnnouncement {
        event: Some(event_facts(event)),
        host: Some(host),
        message: message.to_owned(),
    }
}

pub fn chapter_new_event(
    chapter_id: Uuid,
    chapter_name: &str,
    event: &EventRow,
) -> npb::ChapterNewEvent {
    npb::ChapterNewEvent {
        chapter: Some(npb::ChapterFacts {
            chapter_id: chapter_id.to_string(),
            name: chapter_name.to_owned(),
        }),
        event: Some(event_facts(event)),
    }
}

/// To one of the two members of a booked coffee: `other` is the member they meet, and
/// `venue_suggested` says Rendezvous chose the venue (nobody did).
pub fn coffee_scheduled(
    event: &EventRow,
    other: npb::MemberFacts,
    venue_suggested: bool,
) -> npb::CoffeeScheduled {
    npb::CoffeeScheduled {
        event: Some(event_facts(event)),
        member: Some(other),
        venue_suggested,
    }
}

/// To one of two attendees of `event` who marked each other: `other` hopes to meet them too.
pub fn want_to_meet_mutual(event: &EventRow, other: npb::MemberFacts) -> npb::WantToMeetMutual {
    npb::WantToMeetMutual {
        event: Some(event_facts(event)),
        member: Some(other),
    }
}

/// To an organiser of `chapter`, gone quiet: how long since its latest event (or its
/// creation), and how many `members` it has.
pub fn chapter_dormant(
    chapter: &crate::store::QuietChapter,
    members: i64,
    now: DateTime<Utc>,
) -> npb::ChapterDormant {
    let days = (now - chapter.since).num_days();
    npb::ChapterDormant {
        chapter: Some(npb::ChapterFacts {
            chapter_id: chapter.id.to_string(),
            name: chapter.name.clone(),
        }),
        last_event_time: chapter.last_event_at.map(to_timestamp),
        days_quiet: i32::try_from(days).unwrap_or(i32::MAX),
        members,
        time_zone: chapter.time_zone.clone(),
    }
}
