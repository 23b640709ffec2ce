//! Every notification the members service sends, one constructor per kind.
//!
//! Each builds its typed notice with every field spelled out (no `..Default::default()`), so
//! a field the contract adds fails to compile here until it is filled, and wraps it in the
//! outbox message that the store writes in the same transaction as the change it is about.

use rendezvous_common::outbox::OutboxMessage;
use rendezvous_proto::notifications::v1 as npb;
use uuid::Uuid;

/// A member as a notice names them.
pub fn member_facts(member_id: &str, display_name: &str) -> npb::MemberFacts {
    npb::MemberFacts {
        member_id: member_id.to_owned(),
        display_name: display_name.to_owned(),
    }
}

/// To a new member, after registration.
pub fn welcome(member: Uuid, display_name: &str) -> OutboxMessage {
    let notice = npb::Welcome {
        member: Some(member_facts(&member.to_string(), display_name)),
    };
    OutboxMessage::notice(member, format!("welcome:{member}"), notice, None)
}

/// To the addressee of a new connection request.
pub fn connection_requested(
    addressee: Uuid,
    request_id: &str,
    requester: npb::MemberFacts,
    note: &str,
) -> OutboxMessage {
    let notice = npb::ConnectionRequested {
        request_id: request_id.to_owned(),
        requester: Some(requester),
        note: note.to_owned(),
    };
    OutboxMessage::notice(
        addressee,
        format!("connection-requested:{request_id}"),
        notice,
        None,
    )
}

/// To the requester, once `accepter` accepted request `request_id`.
pub fn connection_accepted(
    requester: Uuid,
    request_id: &str,
    accepter: npb::MemberFacts,
) -> OutboxMessage {
    let notice = npb::ConnectionAccepted {
        member: Some(accepter),
    };
    OutboxMessage::notice(
        requester,
        format!("connection-accepted:{request_id}"),
        notice,
        None,
    )
}

/// To `recipient`, now marked as met in person with `other` at `event`.
pub fn met_in_person(
    recipient: Uuid,
    other: npb::MemberFacts,
    event: &npb::EventFacts,
) -> OutboxMessage {
    let key = format!("met:{}:{recipient}:{}", event.event_id, other.member_id);
    let notice = npb::MetInPerson {
        member: Some(other),
        event: Some(event.clone()),
    };
    OutboxMessage::notice(recipient, key, notice, None)
}

/// To a checked-in attendee of `event`: who else was there, to confirm whom they met.
pub fn meeting_follow_up(
    recipient: Uuid,
    event: &npb::EventFacts,
    co_attendee_count: u32,
) -> OutboxMessage {
    let key = format!("meeting-follow-up:{}:{recipient}", event.event_id);
    let notice = npb::MeetingFollowUp {
        event: Some(event.clone()),
        co_attendee_count,
    };
    OutboxMessage::notice(recipient, key, notice, None)
}

/// To a checked-in attendee of `event`, about `other`, a co-attendee they are not connected
/// to: connect?
pub fn connect_suggestion(
    recipient: Uuid,
    other: npb::MemberFacts,
    event: &npb::EventFacts,
) -> OutboxMessage {
    let key = format!(
        "connect-suggestion:{}:{recipient}:{}",
        event.event_id, other.member_id
    );
    let notice = npb::ConnectSuggestion {
        member: Some(other),
        event: Some(event.clone()),
    };
    OutboxMessage::notice(recipient, key, notice, None)
}

/// To each member of a coffee proposal: the other, where and until when to answer.
pub fn coffee_proposed(
    recipient: Uuid,
    proposal_id: Uuid,
    other: npb::MemberFacts,
    city: &str,
    respond_by: chrono::DateTime<chrono::Utc>,
    time_zone: &str,
    last_met: Option<chrono::DateTime<chrono::Utc>>,
) -> OutboxMessage {
    let notice = npb::CoffeeProposed {
        proposal_id: proposal_id.to_string(),
        member: Some(other),
        city: city.to_owned(),
        respond_by: Some(rendezvous_common::time::to_timestamp(respond_by)),
        time_zone: time_zone.to_owned(),
        last_met_time: last_met.map(rendezvous_common::time::to_timestamp),
    };
    OutboxMessage::notice(
        recipient,
        format!("coffee-proposed:{proposal_id}:{recipient}"),
        notice,
        None,
    )
}

/// What a re-meet nudge suggests.
#[derive(Clone, Debug, PartialEq)]
pub enum RemeetSuggestion {
    /// An upcoming event both may attend, as the notice names it.
    Event(npb::EventFacts),
    /// A coffee proposal made to both.
    Coffee(Uuid),
}

/// To a member opted in to re-meet nudges: a connection they last met at `last_met`, and what
/// to do about it. Told to the recipient only.
pub fn remeet_nudge(
    recipient: Uuid,
    nudge_id: Uuid,
    other: npb::MemberFacts,
    last_met: chrono::DateTime<chrono::Utc>,
    time_zone: &str,
    suggestion: RemeetSuggestion,
) -> OutboxMessage {
    let notice = npb::RemeetNudge {
        nudge_id: nudge_id.to_string(),
        member: Some(other),
        last_met_time: Some(rendezvous_common::time::to_timestamp(last_met)),
        time_zone: time_zone.to_owned(),
        suggestion: Some(match suggestion {
            RemeetSuggestion::Event(event) => npb::remeet_nudge::Suggestion::Event(event),
            RemeetSuggestion::Coffee(proposal) => {
                npb::remeet_nudge::Suggestion::CoffeeProposalId(proposal.to_string())
            }
        }),
    };
    OutboxMessage::notice(recipient, format!("remeet-nudge:{nudge_id}"), notice, None)
}

/// To each member of a matched coffee: the other, and the times both are free.
pub fn coffee_matched(
    recipient: Uuid,
    proposal_id: &str,
    other: npb::MemberFacts,
    city: &str,
    slots: &[(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)],
    time_zone: &str,
) -> OutboxMessage {
    let notice = npb::CoffeeMatched {
        proposal_id: proposal_id.to_owned(),
        member: Some(other),
        city: city.to_owned(),
        slots: slots
            .iter()
            .map(|(start, end)| npb::TimeSlot {
                start_time: Some(rendezvous_common::time::to_timestamp(*start)),
                end_time: Some(rendezvous_common::time::to_timestamp(*end)),
            })
            .collect(),
        time_zone: time_zone.to_owned(),
    };
    OutboxMessage::notice(
        recipient,
        format!("coffee-matched:{proposal_id}:{recipient}"),
        notice,
        None,
    )
}
