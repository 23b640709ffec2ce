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

/// Records `attendees` at a new event; the facts the notices of its meetings must carry.
async fn record_new_event(
    stack: &MembersHandle,
    attendees: &[&TestMember],
) -> pb::RecordMeetingsRequest {
    let event_id = uuid::Uuid::now_v7().to_string();
    let at = chrono::Utc::now() - chrono::Duration::hours(3);
    let ids: Vec<String> = attendees.iter().map(|m| m.id.clone()).collect();
    let request = record_meetings_request(&event_id, EVENT_TITLE, at, &ids);
    let recorded = stack
        .internal()
        .unwrap()
        .record_meetings(request.clone())
        .await;
    assert!(!recorded.unwrap().into_inner().already_recorded);
    request
}

/// The CONNECT_SUGGESTIONs to `recipient` in the outbox, by the member they name.
async fn suggestions_to(
    stack: &MembersHandle,
    recipient: &TestMember,
) -> Vec<npb::ConnectSuggestion> {
    let notices = outbox_notices(&stack.db, "CONNECT_SUGGESTION", &recipient.id).await;
    let mut suggestions: Vec<npb::ConnectSuggestion> = notices
        .into_iter()
        .map(|n| match n {
            npb::notice::Notice::ConnectSuggestion(s) => s,
            other => panic!("not a suggestion: {other:?}"),
        })
        .collect();
    suggestions.sort_by_key(|s| s.member.clone().unwrap_or_default().member_id);
    suggestions
}

/// Suggestions naming each of `members` and `event`, in the order of [`suggestions_to`].
fn suggested(
    event: &pb::RecordMeetingsRequest,
    members: &[(&TestMember, &str)],
) -> Vec<npb::ConnectSuggestion> {
    let mut suggestions: Vec<npb::ConnectSuggestion> = members
        .iter()
        .map(|(member, name)| npb::ConnectSuggestion {
            member: facts(member, name),
            event: event.event.clone(),
        })
        .collect();
    suggestions.sort_by_key(|s| s.member.clone().unwrap_or_default().member_id);
    suggestions
}

async fn co_attendees_who_are_not_connected_are_each_suggested_the_other(backend: Backend) {
    let names = ["Anna", "Bruno", "Chloe", "Dora"];
    let (stack, [anna, bruno, chloe, dora]) = stack_of(backend, names).await;
    connect(&anna, &bruno).await.unwrap();
    // Dora RSVP'd but was not checked in: events does not send her.
    let event = record_new_event(&stack, &[&anna, &bruno, &chloe]).await;

    // The connected pair gets none; each unconnected side is told whom they met and where.
    let chloe_named = suggested(&event, &[(&chloe, "Chloe")]);
    assert_eq!(suggestions_to(&stack, &anna).await, chloe_named);
    assert_eq!(suggestions_to(&stack, &bruno).await, chloe_named);
    assert_eq!(
        suggestions_to(&stack, &chloe).await,
        suggested(&event, &[(&anna, "Anna"), (&bruno, "Bruno")])
    );
    assert!(suggestions_to(&stack, &dora).await.is_empty());

    // RecordMeetings is at-least-once: a redelivery tells nobody anything again.
    let total = outbox_total(&stack.db).await;
    let again = stack.internal().unwrap().record_meetings(event).await;
    assert!(again.unwrap().into_inner().already_recorded);
    assert_eq!(outbox_total(&stack.db).await, total);
    stack.stop().await.unwrap();
}

async fn no_suggestion_between_a_pending_pair_or_about_a_deleted_member(backend: Backend) {
    let names = ["Anna", "Bruno", "Chloe", "Dora", "Emil"];
    let (stack, [anna, bruno, chloe, dora, emil]) = stack_of(backend, names).await;
    request(&anna, &bruno, "").await.unwrap();
    block(&emil, &dora).await;
    chloe
        .client
        .clone()
        .delete_member(pb::DeleteMemberRequest { id: "me".into() })
        .await
        .unwrap();
    let event = record_new_event(&stack, &[&anna, &bruno, &chloe, &dora, &emil]).await;

    // Anna and Bruno have a request to settle; Chloe is gone; Emil blocks Dora.
    let told = [
        (&anna, vec![(&dora, "Dora"), (&emil, "Emil")]),
        (&bruno, vec![(&dora, "Dora"), (&emil, "Emil")]),
        (&chloe, vec![]),
        (&dora, vec![(&anna, "Anna"), (&bruno, "Bruno")]),
        (&emil, vec![(&anna, "Anna"), (&bruno, "Bruno")]),
    ];
    for (recipient, named) in told {
        assert_eq!(
            suggestions_to(&stack, recipient).await,
            suggested(&event, &named)
        );
    }
    stack.stop().await.unwrap();
}

async fn a_pair_is_told_once_on_both_sides_that_it_met(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    connect(&anna, &bruno).await.unwrap();
    let first = record_new_event(&stack, &[&anna, &bruno]).await;
    let met = |member: &TestMember, name: &str| npb::MetInPerson {
        member: facts(member, name),
        event: first.event.clone(),
    };
    assert_told(&stack, &anna, met(&bruno, "Bruno")).await;
    assert_told(&stack, &bruno, met(&anna, "Anna")).await;

    // Meeting again elsewhere, or the first event redelivered, is no news.
    record_new_event(&stack, &[&anna, &bruno]).await;
    let again = stack
        .internal()
        .unwrap()
        .record_meetings(first.clone())
        .await;
    assert!(again.unwrap().into_inner().already_recorded);
    assert_told(&stack, &anna, met(&bruno, "Bruno")).await;
    assert_told(&stack, &bruno, met(&anna, "Anna")).await;
    stack.stop().await.unwrap();
}

backend_tests!(
    connection_notices_name_the_other_member_and_carry_the_note,
    meeting_notices_carry_the_event_facts_events_sent,
    co_attendees_who_are_not_connected_are_each_suggested_the_other,
    no_suggestion_between_a_pending_pair_or_about_a_deleted_member,
    a_pair_is_told_once_on_both_sides_that_it_met,
);
