//! What the members service tells people: every notification it writes is a typed notice
//! that names the member and the event with the facts a person needs, never only an id.

use crate::helpers::*;

use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_testkit::{Backend, MembersHandle, TestMember, backend_tests, connect};

/// Asserts that the outbox holds exactly `expected` as the notice of its kind to `recipient`.
async fn assert_told(
    stack: &MembersHandle,
    recipient: &TestMember,
    expected: impl Into<npb::Notice>,
) {
    let expected: npb::Notice = expected.into();
    let kind = expected.kind().as_str_name();
    let kind = kind.strip_prefix("NOTIFICATION_KIND_").unwrap_or(kind);
    let notices = outbox_notices(&stack.db, kind, &recipient.id).await;
    assert_eq!(
        notices,
        expected.notice.into_iter().collect::<Vec<_>>(),
        "{kind}"
    );
}

fn facts(member: &TestMember, name: &str) -> Option<npb::MemberFacts> {
    Some(npb::MemberFacts {
        member_id: member.id.clone(),
        display_name: name.to_owned(),
    })
}

async fn connection_notices_name_the_other_member_and_carry_the_note(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    let member = facts(&anna, "Anna");
    assert_told(&stack, &anna, npb::Welcome { member }).await;

    let note = "We met at the meetup".to_owned();
    let sent = request(&anna, &bruno, &note).await.unwrap();
    let requested = npb::ConnectionRequested {
        request_id: sent.id.clone(),
        requester: facts(&anna, "Anna"),
        note,
    };
    assert_told(&stack, &bruno, requested).await;

    respond(&bruno, &sent.id, true).await.unwrap();
    let member = facts(&bruno, "Bruno");
    assert_told(&stack, &anna, npb::ConnectionAccepted { member }).await;
    stack.stop().await.unwrap();
}

async fn meeting_notices_carry_the_event_facts_events_sent(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    let event_id = uuid::Uuid::now_v7().to_string();
    let at = chrono::Utc::now() - chrono::Duration::hours(3);
    let attendees = ids(&[anna.clone(), bruno.clone(), chloe.clone()]);
    let request = record_meetings_request(&event_id, EVENT_TITLE, at, &attendees);
    let event = request.event.clone();
    stack
        .internal()
        .unwrap()
        .record_meetings(request)
        .await
        .unwrap();

    // The connected pair is met at once, each told whom they met and where.
    let member = facts(&bruno, "Bruno");
    let met = npb::MetInPerson {
        member,
        event: event.clone(),
    };
    assert_told(&stack, &anna, met).await;
    let follow_up = npb::MeetingFollowUp {
        event: event.clone(),
        co_attendee_count: 2,
    };
    assert_told(&stack, &chloe, follow_up).await;

    // A pair that confirms later is told with the same facts, kept with the event.
    for (by, with) in [(&anna, &chloe), (&chloe, &anna)] {
        let confirm = pb::ConfirmMetRequest {
            event_id: event_id.clone(),
            member_id: with.id.clone(),
        };
        by.client.clone().confirm_met(confirm).await.unwrap();
    }
    let member = facts(&anna, "Anna");
    assert_told(&stack, &chloe, npb::MetInPerson { member, event }).await;
    stack.stop().await.unwrap();
}

backend_tests!(
    connection_notices_name_the_other_member_and_carry_the_note,
    meeting_notices_carry_the_event_facts_events_sent,
);
