//! Transitional: the facts of a typed [`pb::Notice`] as the string parameters the templates
//! read today, so producers can move to typed notices before the renderer does. This module
//! goes when the renderer reads notices itself.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rendezvous_proto::notifications::v1::{self as pb, notice::Notice as N};

/// The parameters the templates of `notice`'s kind read.
pub fn params(notice: &pb::Notice) -> HashMap<String, String> {
    let mut p = Params::default();
    match &notice.notice {
        None => {}
        Some(N::Welcome(n)) => p.member(n.member.as_ref()),
        Some(N::ConnectionRequested(n)) => {
            p.member(n.requester.as_ref());
            p.set("request_id", &n.request_id);
            p.set("note", &n.note);
        }
        Some(N::ConnectionAccepted(n)) => p.member(n.member.as_ref()),
        Some(N::EventInvitation(n)) => {
            p.event(n.event.as_ref());
            if let Some(inviter) = &n.inviter {
                p.set("host_name", &inviter.display_name);
            }
        }
        Some(N::RsvpConfirmed(pb::RsvpConfirmed { event }))
        | Some(N::WaitlistPromoted(pb::WaitlistPromoted { event }))
        | Some(N::WaitlistOfferExpired(pb::WaitlistOfferExpired { event }))
        | Some(N::RsvpApproved(pb::RsvpApproved { event }))
        | Some(N::RsvpDeclined(pb::RsvpDeclined { event }))
        | Some(N::RsvpPendingApproval(pb::RsvpPendingApproval { event })) => {
            p.event(event.as_ref());
        }
        Some(N::RsvpWaitlisted(n)) => {
            p.event(n.event.as_ref());
            p.set("waitlist_position", &n.position.to_string());
        }
        Some(N::WaitlistOffered(n)) => {
            p.event(n.event.as_ref());
            if let Some(at) = n.expire_time.as_ref().and_then(time) {
                let zone = n.event.as_ref().map(|e| e.time_zone.as_str()).unwrap_or("");
                p.set("offer_expire_time", &local(at, zone));
            }
        }
        Some(N::RsvpApprovalRequested(n)) => {
            p.event(n.event.as_ref());
            p.member(n.member.as_ref());
        }
        Some(N::EventUpdated(n)) => {
            p.event(n.event.as_ref());
            let mut changes = Vec::new();
            if n.time_changed {
                changes.push("start_time");
            }
            if n.venue_changed {
                changes.push("venue");
            }
            p.set("changes", &changes.join(","));
        }
        Some(N::EventCancelled(n)) => {
            p.event(n.event.as_ref());
            p.set("reason", &n.reason);
        }
        Some(N::EventReminder(n)) => {
            p.event(n.event.as_ref());
            p.set("hours_before", &n.hours_before.to_string());
        }
        Some(N::MetInPerson(n)) => {
            p.event(n.event.as_ref());
            p.member(n.member.as_ref());
        }
        Some(N::ConnectSuggestion(n)) => {
            p.event(n.event.as_ref());
            p.member(n.member.as_ref());
        }
        Some(N::ChapterNewEvent(n)) => {
            p.event(n.event.as_ref());
            if let Some(chapter) = &n.chapter {
                p.set("chapter_name", &chapter.name);
            }
        }
        Some(N::EventAnnouncement(n)) => {
            p.event(n.event.as_ref());
            if let Some(host) = &n.host {
                p.set("host_name", &host.display_name);
            }
            p.set("message", &n.message);
        }
        Some(N::MeetingFollowUp(n)) => {
            p.event(n.event.as_ref());
            p.set("co_attendee_count", &n.co_attendee_count.to_string());
        }
    }
    p.0
}

#[derive(Default)]
struct Params(HashMap<String, String>);

impl Params {
    fn set(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.0.insert(name.to_owned(), value.to_owned());
        }
    }

    fn member(&mut self, member: Option<&pb::MemberFacts>) {
        if let Some(member) = member {
            self.set("member_id", &member.member_id);
            self.set("member_name", &member.display_name);
        }
    }

    fn event(&mut self, event: Option<&pb::EventFacts>) {
        let Some(event) = event else { return };
        self.set("event_id", &event.event_id);
        self.set("event_title", &event.title);
        self.set("venue_name", &event.venue_name);
        self.set("venue_address", &event.venue_address);
        if let Some(start) = event.start_time.as_ref().and_then(time) {
            self.set("start_time_local", &local(start, &event.time_zone));
        }
    }
}

fn time(at: &rendezvous_proto::prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).ok()?)
}

/// RFC 3339 in the zone (with its offset), or UTC when the zone is unknown.
fn local(at: DateTime<Utc>, zone: &str) -> String {
    match zone.parse::<Tz>() {
        Ok(tz) => at.with_timezone(&tz).to_rfc3339(),
        Err(_) => at.to_rfc3339(),
    }
}
