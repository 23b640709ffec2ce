//! Recorded events, confirming and dismissing meetings, network stats.

use crate::helpers::*;

use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, MembersHandle, TestMember, backend_tests, connect};

async fn list_meetings_shows_each_event_with_its_co_attendees(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    let event_id = uuid::Uuid::now_v7().to_string();
    let recorded = record(&stack, &event_id, &[&anna, &bruno, &chloe]).await;
    assert_eq!((recorded.pairs_recorded, recorded.pairs_met), (3, 1));
    assert!(!recorded.already_recorded);

    let list = meetings(&anna).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].event_id, event_id);
    assert_eq!(list[0].event_title, "Café networking — Le Marais");
    assert!(list[0].event_time.is_some());
    let co = &list[0].co_attendees;
    assert_eq!(co.len(), 2);
    let with_bruno = co.iter().find(|c| c.member_id == bruno.id).unwrap();
    assert_eq!(with_bruno.display_name, "Bruno");
    assert!(with_bruno.met && with_bruno.connected);
    let with_chloe = co.iter().find(|c| c.member_id == chloe.id).unwrap();
    assert!(!with_chloe.met && !with_chloe.connected && !with_chloe.confirmed_by_me);
    assert_eq!(
        outbox_rows(&stack.db, "MEETING_FOLLOW_UP", &chloe.id).await,
        1
    );
    stack.stop().await.unwrap();
}

async fn at_a_large_event_a_pair_is_met_only_after_both_confirm(backend: Backend) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let stack_ref = &stack;
    let attendees: Vec<TestMember> = futures::future::join_all((0..14).map(|i| async move {
        stack_ref
            .register(&format!("Attendee {i:02}"))
            .await
            .unwrap()
    }))
    .await;
    let (anna, bruno) = (&attendees[0], &attendees[1]);
    connect(anna, bruno).await.unwrap();
    let event_id = uuid::Uuid::now_v7().to_string();
    let everyone: Vec<&TestMember> = attendees.iter().collect();
    let recorded = record(&stack, &event_id, &everyone).await;
    assert_eq!(recorded.pairs_recorded, 14 * 13 / 2);
    assert_eq!(
        recorded.pairs_met, 0,
        "more than 12 checked in: nobody is met at once"
    );
    assert_eq!(meetings(anna).await[0].co_attendees.len(), 13);

    let confirm = |who: &TestMember, other: &TestMember| {
        let mut client = who.client.clone();
        let request = pb::ConfirmMetRequest {
            event_id: event_id.clone(),
            member_id: other.id.clone(),
        };
        async move {
            client
                .confirm_met(request)
                .await
                .unwrap()
                .into_inner()
                .co_attendee
                .unwrap()
        }
    };

    let half = confirm(anna, bruno).await;
    assert!(half.confirmed_by_me && !half.confirmed_by_them && !half.met);
    assert!(!relation(&stack, anna, bruno).await.met_in_person);
    assert!(connections(anna, pb::MetFilter::Met).await.is_empty());
    let bruno_view = meetings(bruno).await[0]
        .co_attendees
        .iter()
        .find(|c| c.member_id == anna.id)
        .cloned()
        .unwrap();
    assert!(!bruno_view.confirmed_by_me && bruno_view.confirmed_by_them && !bruno_view.met);

    let both = confirm(bruno, anna).await;
    assert!(both.confirmed_by_me && both.confirmed_by_them && both.met && both.connected);
    assert!(relation(&stack, anna, bruno).await.met_in_person);
    assert_eq!(
        connection_ids(&connections(anna, pb::MetFilter::Met).await),
        vec![bruno.id.clone()]
    );
    let s = stats(anna).await;
    assert_eq!((s.connections, s.met_in_person), (1, 1));
    assert!((s.real_life_ratio - 1.0).abs() < 1e-9);
    assert_eq!(outbox_rows(&stack.db, "MET_IN_PERSON", &anna.id).await, 1);
    assert_eq!(outbox_rows(&stack.db, "MET_IN_PERSON", &bruno.id).await, 1);
    stack.stop().await.unwrap();
}

async fn list_meetings_pages_newest_event_first(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    let mut events = Vec::new();
    for hours_ago in [72, 24, 48] {
        let event_id = uuid::Uuid::now_v7().to_string();
        record_at(&stack, &event_id, hours_ago, &[&anna, &bruno]).await;
        events.push((hours_ago, event_id));
    }
    events.sort();

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut page_token = String::new();
    loop {
        let page = anna
            .client
            .clone()
            .list_meetings(pb::ListMeetingsRequest {
                page_size: 2,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        seen.extend(page.meetings.into_iter().map(|m| m.event_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    let newest_first: Vec<String> = events.into_iter().map(|(_, id)| id).collect();
    assert_eq!(seen, newest_first);
    stack.stop().await.unwrap();
}

async fn dismissed_co_attendee_is_marked_dismissed(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    let event_id = uuid::Uuid::now_v7().to_string();
    record(&stack, &event_id, &[&anna, &bruno]).await;

    let dismiss = pb::DismissMeetingRequest {
        event_id: event_id.clone(),
        member_id: bruno.id.clone(),
    };
    let dismissed = anna.client.clone().dismiss_meeting(dismiss).await.unwrap();
    let dismissed = dismissed.into_inner().co_attendee.unwrap();
    assert_eq!(dismissed.member_id, bruno.id);
    assert!(dismissed.dismissed && !dismissed.met && !dismissed.confirmed_by_me);
    let listed = &meetings(&anna).await[0].co_attendees[0];
    assert!(listed.dismissed);
    // Bruno's side is unaffected.
    assert!(!meetings(&bruno).await[0].co_attendees[0].dismissed);
    stack.stop().await.unwrap();
}

async fn network_stats_count_connections_met_and_pending_requests(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let stack_ref = &stack;
    let others: Vec<TestMember> = futures::future::join_all(
        (0..6).map(|i| async move { stack_ref.register(&format!("Member {i}")).await.unwrap() }),
    )
    .await;
    let fresh = stats(&anna).await;
    assert_eq!(counts(&fresh), (0, 0, 0, 0));
    assert!(fresh.real_life_ratio.abs() < 1e-9);

    for other in &others[..4] {
        connect(&anna, other).await.unwrap();
    }
    request(&others[4], &anna, "").await.unwrap();
    request(&anna, &others[5], "").await.unwrap();
    record(
        &stack,
        &uuid::Uuid::now_v7().to_string(),
        &[&anna, &others[0]],
    )
    .await;

    let s = stats(&anna).await;
    assert_eq!(counts(&s), (4, 1, 1, 1));
    assert!((s.real_life_ratio - 0.25).abs() < 1e-9);
    stack.stop().await.unwrap();
}

/// Records `chunk` of the checked-in members of `event_id` (`attendee_count` in all, 0 when
/// the chunk is all of them), carrying the pairs `hoped` to meet.
async fn record_chunk(
    stack: &MembersHandle,
    event_id: &str,
    chunk: &[&TestMember],
    attendee_count: i32,
    hoped: &[(&str, &str)],
) -> pb::RecordMeetingsResponse {
    let at = chrono::Utc::now() - chrono::Duration::hours(2);
    let ids: Vec<String> = chunk.iter().map(|m| m.id.clone()).collect();
    let request = pb::RecordMeetingsRequest {
        attendee_count,
        hoped_pairs: hoped
            .iter()
            .map(|(a, b)| pb::HopedPair {
                member_a: (*a).to_owned(),
                member_b: (*b).to_owned(),
            })
            .collect(),
        ..record_meetings_request(event_id, EVENT_TITLE, at, &ids)
    };
    let response = stack.internal().unwrap().record_meetings(request).await;
    response.unwrap().into_inner()
}

/// `member`'s co-attendees at `event_id` in the order ListMeetings lists them, each with
/// whether the two hoped to meet.
async fn hopes(member: &TestMember, event_id: &str) -> Vec<(String, bool)> {
    let meeting = meetings(member)
        .await
        .into_iter()
        .find(|m| m.event_id == event_id)
        .unwrap();
    meeting
        .co_attendees
        .into_iter()
        .map(|c| (c.member_id, c.hoped_to_meet))
        .collect()
}

/// Each of `members` with whether they hoped to meet the viewer.
fn listed(members: &[(&TestMember, bool)]) -> Vec<(String, bool)> {
    members.iter().map(|(m, h)| (m.id.clone(), *h)).collect()
}

async fn co_attendees_who_hoped_to_meet_are_listed_first(backend: Backend) {
    let names = ["Anna", "Bruno", "Chloe", "Zoé"];
    let (stack, [anna, bruno, chloe, zoe]) = stack_of(backend, names).await;
    let event_id = uuid::Uuid::now_v7().to_string();
    let nobody = uuid::Uuid::now_v7().to_string();
    let hoped = [
        (zoe.id.as_str(), chloe.id.as_str()),
        // The same pair the other way round, and one with someone not checked in.
        (chloe.id.as_str(), zoe.id.as_str()),
        (bruno.id.as_str(), nobody.as_str()),
    ];
    let everyone = [&anna, &bruno, &chloe, &zoe];
    let recorded = record_chunk(&stack, &event_id, &everyone, 0, &hoped).await;
    assert_eq!(recorded.pairs_recorded, 6);

    let expected = listed(&[(&zoe, true), (&anna, false), (&bruno, false)]);
    assert_eq!(hopes(&chloe, &event_id).await, expected);
    let expected = listed(&[(&chloe, true), (&anna, false), (&bruno, false)]);
    assert_eq!(hopes(&zoe, &event_id).await, expected);
    let expected = listed(&[(&anna, false), (&chloe, false), (&zoe, false)]);
    assert_eq!(hopes(&bruno, &event_id).await, expected);
    stack.stop().await.unwrap();
}

async fn a_hoped_pair_across_two_chunks_is_hoped_once_both_are_in(backend: Backend) {
    let names = ["Anna", "Bruno", "Chloe", "Zoé"];
    let (stack, [anna, bruno, chloe, zoe]) = stack_of(backend, names).await;
    let event_id = uuid::Uuid::now_v7().to_string();
    let hoped = [(anna.id.as_str(), zoe.id.as_str())];
    let first = record_chunk(&stack, &event_id, &[&anna, &bruno], 4, &hoped).await;
    assert_eq!((first.pairs_recorded, first.already_recorded), (1, false));
    let second = record_chunk(&stack, &event_id, &[&chloe, &zoe], 4, &hoped).await;
    assert_eq!((second.pairs_recorded, second.already_recorded), (5, false));

    let expected = listed(&[(&zoe, true), (&bruno, false), (&chloe, false)]);
    assert_eq!(hopes(&anna, &event_id).await, expected);
    let expected = listed(&[(&anna, true), (&bruno, false), (&chloe, false)]);
    assert_eq!(hopes(&zoe, &event_id).await, expected);
    stack.stop().await.unwrap();
}

async fn a_chunk_sent_again_changes_no_hopes(backend: Backend) {
    let names = ["Anna", "Bruno", "Chloe", "Zoé"];
    let (stack, [anna, bruno, chloe, zoe]) = stack_of(backend, names).await;
    let event_id = uuid::Uuid::now_v7().to_string();
    let (a, b, c, z) = (&*anna.id, &*bruno.id, &*chloe.id, &*zoe.id);
    record_chunk(&stack, &event_id, &[&anna, &bruno], 4, &[]).await;
    // The first chunk again, now with a pair: it was recorded without.
    let again = record_chunk(&stack, &event_id, &[&anna, &bruno], 4, &[(a, b)]).await;
    assert_eq!((again.pairs_recorded, again.already_recorded), (0, true));
    record_chunk(&stack, &event_id, &[&chloe, &zoe], 4, &[(c, z)]).await;
    // The last chunk again, once the event is complete, with other pairs.
    let again = record_chunk(&stack, &event_id, &[&chloe, &zoe], 4, &[(a, z), (b, c)]).await;
    assert_eq!((again.pairs_recorded, again.already_recorded), (0, true));

    let expected = listed(&[(&bruno, false), (&chloe, false), (&zoe, false)]);
    assert_eq!(hopes(&anna, &event_id).await, expected);
    let expected = listed(&[(&zoe, true), (&anna, false), (&bruno, false)]);
    assert_eq!(hopes(&chloe, &event_id).await, expected);
    let expected = listed(&[(&chloe, true), (&anna, false), (&bruno, false)]);
    assert_eq!(hopes(&zoe, &event_id).await, expected);
    stack.stop().await.unwrap();
}

backend_tests!(
    co_attendees_who_hoped_to_meet_are_listed_first,
    a_hoped_pair_across_two_chunks_is_hoped_once_both_are_in,
    a_chunk_sent_again_changes_no_hopes,
    list_meetings_shows_each_event_with_its_co_attendees,
    at_a_large_event_a_pair_is_met_only_after_both_confirm,
    list_meetings_pages_newest_event_first,
    dismissed_co_attendee_is_marked_dismissed,
    network_stats_count_connections_met_and_pending_requests,
);
