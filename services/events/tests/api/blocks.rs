//! Blocks hide members from each other (issue 10, point 6), whichever of the two blocked the
//! other: the host's events from a member they block or who blocks them (GetEvent, ListEvents,
//! ListMyEvents, Rsvp, their calendar file and feed — though the RSVP they made before the block
//! is still theirs to read and cancel), and attendees from each other (ListAttendees, GetRsvp,
//! GetAttendanceSummary). Events asks members' GetRelations, which says `blocked` either way.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::{Backend, EventClient, TestMember, backend_tests, connect, timestamp};
use tonic::Code;

use crate::helpers::{
    World, add_cohost, attendance_summary, attendee_ids, block, create_feed, feed_path, going,
    http_get, ids, list_attendees, morning, published, try_get_event, try_own_rsvp, try_rsvp,
};

fn now0() -> DateTime<Utc> {
    morning(2030, 7, 1)
}

/// The ids of the upcoming public events `viewer` finds with ListEvents.
async fn listed_events(viewer: &EventClient) -> BTreeSet<String> {
    let page = viewer
        .clone()
        .list_events(pb::ListEventsRequest {
            start_after: Some(timestamp(now0())),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    page.events.into_iter().map(|e| e.id).collect()
}

/// `viewer`'s ExportMyCalendar, as text.
async fn my_calendar(viewer: &EventClient) -> String {
    let file = viewer
        .clone()
        .export_my_calendar(pb::ExportMyCalendarRequest {})
        .await
        .unwrap()
        .into_inner();
    String::from_utf8(file.ics).unwrap()
}

/// The ids of the events ListMyEvents gives `viewer`.
async fn my_events(viewer: &EventClient) -> BTreeSet<String> {
    let page = viewer
        .clone()
        .list_my_events(pb::ListMyEventsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    page.events.into_iter().map(|e| e.id).collect()
}

async fn the_hosts_events_are_hidden_from_a_member_blocked_either_way(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host, as_host) = world.member("Hana").await.unwrap();
    let (blocks_host, as_blocks_host) = world.member("Bo").await.unwrap();
    let (blocked_by_host, as_blocked_by_host) = world.member("Cy").await.unwrap();
    let (other, as_other) = world.member("Dee").await.unwrap();
    let (cohost, _) = world.member("Cole").await.unwrap();
    let (blocked_by_cohost, as_blocked_by_cohost) = world.member("Eve").await.unwrap();
    let event = published(&as_host, now0() + Duration::days(3), 20, Vis::Public).await;
    let fresh = published(&as_host, now0() + Duration::days(4), 20, Vis::Public).await;
    add_cohost(&as_host, &event.id, &cohost, pb::CohostRole::Full).await;
    // Both were going before the blocks.
    try_rsvp(&as_blocks_host, &event.id).await.unwrap();
    try_rsvp(&as_blocked_by_host, &event.id).await.unwrap();
    try_rsvp(&as_other, &event.id).await.unwrap();
    block(&blocks_host, &host).await;
    block(&host, &blocked_by_host).await;
    block(&cohost, &blocked_by_cohost).await;

    for (who, client) in [
        ("a member who blocks the host", &as_blocks_host),
        ("a member the host blocks", &as_blocked_by_host),
    ] {
        let got = try_get_event(client, &event.id).await.unwrap_err();
        assert_eq!(got.code(), Code::NotFound, "GetEvent, {who}");
        assert!(listed_events(client).await.is_empty(), "ListEvents, {who}");
        assert!(
            !my_events(client).await.contains(&event.id),
            "ListMyEvents, {who}"
        );
        let rsvp = try_rsvp(client, &fresh.id).await.unwrap_err();
        assert_eq!(rsvp.code(), Code::NotFound, "Rsvp, {who}");
        // Going before the block or not, every call on the event is as if it did not exist.
        for id in [&event.id, &fresh.id] {
            let listed = list_attendees(client, id).await.unwrap_err();
            assert_eq!(listed, Code::NotFound, "ListAttendees, {who}");
            let summary = client
                .clone()
                .get_attendance_summary(pb::GetAttendanceSummaryRequest {
                    event_id: id.clone(),
                })
                .await
                .unwrap_err();
            assert_eq!(
                summary.code(),
                Code::NotFound,
                "GetAttendanceSummary, {who}"
            );
        }
        assert_eq!(
            get_rsvp(client, &event.id, &other).await,
            Code::NotFound,
            "GetRsvp, {who}"
        );
        // Nor in their calendar, as a file or as a feed.
        let ics = my_calendar(client).await;
        assert!(!ics.contains(&event.id), "ExportMyCalendar, {who}");
        let feed = create_feed(client).await;
        let (status, served) = http_get(world.events.feed_addr, &feed_path(&feed)).await;
        assert_eq!(status, 200);
        assert!(!served.contains(&event.id), "the calendar feed, {who}");
        // The seat they took before the block is still theirs to read and give up; on the
        // event they never answered, there is nothing to read or cancel.
        let own = try_own_rsvp(client, &event.id).await.unwrap();
        assert_eq!(own.status, i32::from(pb::RsvpStatus::Confirmed), "{who}");
        for (id, want) in [(&fresh.id, Code::NotFound), (&event.id, Code::Ok)] {
            let cancelled = client
                .clone()
                .cancel_rsvp(pb::CancelRsvpRequest {
                    event_id: id.clone(),
                })
                .await;
            assert_eq!(
                rendezvous_testkit::code(cancelled),
                want,
                "CancelRsvp, {who}"
            );
        }
        let own = try_own_rsvp(client, &fresh.id).await;
        assert_eq!(rendezvous_testkit::code(own), Code::NotFound, "{who}");
    }
    // The others' calendars hold the event.
    assert!(my_calendar(&as_other).await.contains(&event.id));
    // Anyone else sees them, and the host sees the blocked members' RSVPs nowhere (below).
    assert_eq!(
        listed_events(&as_other).await,
        BTreeSet::from([event.id.clone(), fresh.id.clone()])
    );
    assert!(my_events(&as_other).await.contains(&event.id));
    // Only the host's blocks hide the event: a co-host's hide them among attendees only.
    assert!(
        try_get_event(&as_blocked_by_cohost, &event.id)
            .await
            .is_ok()
    );
    try_rsvp(&as_blocked_by_cohost, &fresh.id).await.unwrap();
    world.stop().await.unwrap();
}

async fn get_rsvp(viewer: &EventClient, event_id: &str, member: &TestMember) -> Code {
    let got = viewer
        .clone()
        .get_rsvp(pb::GetRsvpRequest {
            event_id: event_id.to_owned(),
            member_id: member.id.clone(),
        })
        .await;
    rendezvous_testkit::code(got)
}

async fn attendees_blocked_either_way_do_not_see_each_other(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, as_host) = world.member("Hana").await.unwrap();
    let (ann, as_ann) = world.member("Ann").await.unwrap();
    let (ben, as_ben) = world.member("Ben").await.unwrap();
    let (cat, as_cat) = world.member("Cat").await.unwrap();
    let (cohost, _) = world.member("Cole").await.unwrap();
    let event = published(&as_host, now0() + Duration::days(3), 20, Vis::Public).await;
    add_cohost(&as_host, &event.id, &cohost, pb::CohostRole::Full).await;
    for client in [&as_ann, &as_ben, &as_cat] {
        going(client, &event.id, pb::RsvpVisibility::Public).await;
    }
    // Ann blocks Ben; the co-host blocks Cat.
    block(&ann, &ben).await;
    block(&cohost, &cat).await;
    let as_cohost = world.client(&cohost).await.unwrap();
    let seen = |listed: pb::ListAttendeesResponse| (attendee_ids(&listed), listed.hidden_count);
    let cases: [(&str, &EventClient, BTreeSet<String>); 5] = [
        ("Ann, who blocks Ben", &as_ann, ids(&[&ann, &cat])),
        ("Ben, whom Ann blocks", &as_ben, ids(&[&ben, &cat])),
        (
            "Cat, blocked by nobody she can see",
            &as_cat,
            ids(&[&ann, &ben, &cat]),
        ),
        ("the host", &as_host, ids(&[&ann, &ben, &cat])),
        (
            "the co-host, who blocks Cat",
            &as_cohost,
            ids(&[&ann, &ben]),
        ),
    ];
    for (who, viewer, expected) in cases {
        let listed = list_attendees(viewer, &event.id).await.unwrap();
        // Left out, and not counted as hidden either: the list does not hint at them.
        assert_eq!(seen(listed), (expected, 0), "ListAttendees, {who}");
    }
    // GetRsvp follows the list: NOT_FOUND as if there were none, whoever blocked whom.
    assert_eq!(get_rsvp(&as_ann, &event.id, &ben).await, Code::NotFound);
    assert_eq!(get_rsvp(&as_ben, &event.id, &ann).await, Code::NotFound);
    assert_eq!(get_rsvp(&as_cohost, &event.id, &cat).await, Code::NotFound);
    assert_eq!(get_rsvp(&as_cat, &event.id, &ben).await, Code::Ok);
    assert_eq!(get_rsvp(&as_host, &event.id, &cat).await, Code::Ok);
    world.stop().await.unwrap();
}

async fn the_summary_never_names_or_counts_a_blocked_connection(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, as_host) = world.member("Hana").await.unwrap();
    let (viewer, as_viewer) = world.member("Vic").await.unwrap();
    let (friend, as_friend) = world.member("Fay").await.unwrap();
    let (former, as_former) = world.member("Fox").await.unwrap();
    connect(&viewer, &friend).await.unwrap();
    connect(&viewer, &former).await.unwrap();
    let event = published(&as_host, now0() + Duration::days(3), 20, Vis::Public).await;
    going(&as_friend, &event.id, pb::RsvpVisibility::Public).await;
    going(&as_former, &event.id, pb::RsvpVisibility::Public).await;
    let before = attendance_summary(&as_viewer, &event.id).await;
    assert_eq!(before.unmet_connections_going_count, 2);
    block(&former, &viewer).await;
    let after = attendance_summary(&as_viewer, &event.id).await;
    assert_eq!(after.unmet_connections_going_count, 1);
    assert_eq!(after.visible_unmet_connection_ids, vec![friend.id.clone()]);
    // The counts of the event are the event's, blocks or not.
    assert_eq!(after.confirmed_count, 2);
    world.stop().await.unwrap();
}

backend_tests!(
    the_hosts_events_are_hidden_from_a_member_blocked_either_way,
    attendees_blocked_either_way_do_not_see_each_other,
    the_summary_never_names_or_counts_a_blocked_connection,
);
