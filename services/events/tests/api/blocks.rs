//! Blocks hide members from each other (issue 10, point 6), whichever of the two blocked the
//! other: the host's events from a member they block or who blocks them (GetEvent, ListEvents,
//! ListMyEvents, Rsvp, their calendar file and feed — though the RSVP they made before the block
//! is still theirs to read and cancel), and attendees from each other (ListAttendees, GetRsvp,
//! GetAttendanceSummary). Members tells events of every block and unblock through its outbox
//! (`RecordBlocks`), so events checks blocks with the host without calling members: the tests
//! block through members' public API and wait for the relay, as production runs.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::auth::ServiceName;
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::{
    Backend, EventClient, TestMember, backend_tests, connect, invalid_argument_naming, timestamp,
};
use tonic::Code;

use crate::helpers::{
    World, add_cohost, attendance_summary, attendee_ids, block, create_feed, feed_path, going,
    http_get, ids, list_attendees, morning, published, try_get_event, try_own_rsvp, try_rsvp,
    unblock,
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
    block(&world, &blocks_host, &host).await;
    block(&world, &host, &blocked_by_host).await;
    block(&world, &cohost, &blocked_by_cohost).await;

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
    block(&world, &ann, &ben).await;
    block(&world, &cohost, &cat).await;
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
    block(&world, &former, &viewer).await;
    let after = attendance_summary(&as_viewer, &event.id).await;
    assert_eq!(after.unmet_connections_going_count, 1);
    assert_eq!(after.visible_unmet_connection_ids, vec![friend.id.clone()]);
    // The counts of the event are the event's, blocks or not.
    assert_eq!(after.confirmed_count, 2);
    world.stop().await.unwrap();
}

/// One change as members' relay sends it.
fn change(
    blocker: &TestMember,
    blocked: &TestMember,
    blocks: bool,
    at: DateTime<Utc>,
) -> pb::BlockChange {
    pb::BlockChange {
        blocker_id: blocker.id.clone(),
        blocked_id: blocked.id.clone(),
        blocked: blocks,
        change_time: Some(timestamp(at)),
    }
}

/// How many of `changes` were new, recorded as members' relay records them.
async fn recorded(world: &World, changes: Vec<pb::BlockChange>) -> i32 {
    record(world, changes).await.unwrap()
}

/// RecordBlocks as members' relay calls it; `Ok` holds how many changes were new.
async fn record(world: &World, changes: Vec<pb::BlockChange>) -> Result<i32, tonic::Status> {
    let answer = world
        .internal()
        .unwrap()
        .record_blocks(pb::RecordBlocksRequest { changes })
        .await?;
    Ok(answer.into_inner().recorded_change_count)
}

async fn with_members_stopped_a_blocked_hosts_events_stay_hidden(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host, as_host) = world.member("Hana").await.unwrap();
    let (viewer, as_viewer) = world.member("Vic").await.unwrap();
    let (blocked, as_blocked) = world.member("Bea").await.unwrap();
    let (_, as_other) = world.member("Dee").await.unwrap();
    let event = published(&as_host, now0() + Duration::days(3), 20, Vis::Public).await;
    try_rsvp(&as_host, &event.id).await.ok();
    block(&world, &viewer, &host).await;
    block(&world, &host, &blocked).await;
    let World {
        events, members, ..
    } = world;
    members.stop().await.unwrap();
    // Events answers alone: the blocks it recorded hold, and everyone else sees the event.
    for (who, client) in [("the blocker", &as_viewer), ("the blocked", &as_blocked)] {
        let got = try_get_event(client, &event.id).await.unwrap_err();
        assert_eq!(got.code(), Code::NotFound, "GetEvent, {who}");
        assert!(listed_events(client).await.is_empty(), "ListEvents, {who}");
        assert!(
            !my_events(client).await.contains(&event.id),
            "ListMyEvents, {who}"
        );
    }
    assert!(try_get_event(&as_other, &event.id).await.is_ok());
    assert!(listed_events(&as_other).await.contains(&event.id));
    assert!(my_events(&as_host).await.contains(&event.id));
    events.stop().await.unwrap();
}

async fn a_block_made_in_members_is_lifted_by_the_unblock(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host, as_host) = world.member("Hana").await.unwrap();
    let (viewer, as_viewer) = world.member("Vic").await.unwrap();
    let event = published(&as_host, now0() + Duration::days(3), 20, Vis::Public).await;
    block(&world, &viewer, &host).await;
    assert_eq!(
        try_get_event(&as_viewer, &event.id)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    unblock(&world, &viewer, &host).await;
    assert!(try_get_event(&as_viewer, &event.id).await.is_ok());
    assert!(listed_events(&as_viewer).await.contains(&event.id));
    // Blocked again: a third change of the pair, later again.
    block(&world, &viewer, &host).await;
    assert!(listed_events(&as_viewer).await.is_empty());
    world.stop().await.unwrap();
}

async fn the_latest_change_of_a_pair_wins_and_redelivery_changes_nothing(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host, as_host) = world.member("Hana").await.unwrap();
    let (viewer, as_viewer) = world.member("Vic").await.unwrap();
    let event = published(&as_host, now0() + Duration::days(3), 20, Vis::Public).await;
    let (t1, t2, t3) = (
        now0() + Duration::seconds(1),
        now0() + Duration::seconds(2),
        now0() + Duration::seconds(3),
    );
    let hidden = |client: &EventClient| {
        let client = client.clone();
        let id = event.id.clone();
        async move { try_get_event(&client, &id).await.is_err() }
    };
    assert_eq!(
        recorded(&world, vec![change(&viewer, &host, true, t2)]).await,
        1
    );
    assert!(hidden(&as_viewer).await);
    // Delivered again, and an older unblock arriving late: nothing changes.
    let replay = vec![
        change(&viewer, &host, true, t2),
        change(&viewer, &host, false, t1),
    ];
    assert_eq!(recorded(&world, replay).await, 0);
    assert!(hidden(&as_viewer).await);
    // The later unblock wins, and an older block after it does not undo it.
    assert_eq!(
        recorded(&world, vec![change(&viewer, &host, false, t3)]).await,
        1
    );
    assert!(!hidden(&as_viewer).await);
    assert_eq!(
        recorded(&world, vec![change(&viewer, &host, true, t2)]).await,
        0
    );
    assert!(!hidden(&as_viewer).await);
    // Within one call, the latest of the pair's changes wins whatever their order.
    let t4 = now0() + Duration::seconds(4);
    let t5 = now0() + Duration::seconds(5);
    let batch = vec![
        change(&host, &viewer, true, t5),
        change(&host, &viewer, false, t4),
    ];
    assert_eq!(recorded(&world, batch).await, 1);
    assert!(hidden(&as_viewer).await);
    world.stop().await.unwrap();
}

async fn record_blocks_names_the_bad_change_and_takes_members_only(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (anna, _) = world.member("Anna").await.unwrap();
    let (bob, _) = world.member("Bob").await.unwrap();
    let good = change(&anna, &bob, true, now0());
    let mut cases: Vec<(&str, Vec<pb::BlockChange>)> = vec![
        ("changes", Vec::new()),
        ("changes", vec![good.clone(); 501]),
    ];
    let with = |i: usize, bad: pb::BlockChange| {
        let mut changes = vec![good.clone(); 4];
        changes[i] = bad;
        changes
    };
    let bad_id = pb::BlockChange {
        blocked_id: "bob".to_owned(),
        ..good.clone()
    };
    let missing = pb::BlockChange {
        blocker_id: String::new(),
        ..good.clone()
    };
    let itself = pb::BlockChange {
        blocked_id: anna.id.clone(),
        ..good.clone()
    };
    let timeless = pb::BlockChange {
        change_time: None,
        ..good.clone()
    };
    cases.push(("changes[3].blocked_id", with(3, bad_id)));
    cases.push(("changes[0].blocker_id", with(0, missing)));
    cases.push(("changes[2].blocked_id", with(2, itself)));
    cases.push(("changes[1].change_time", with(1, timeless)));
    for (field, changes) in cases {
        let got = record(&world, changes).await;
        if let Err(error) = invalid_argument_naming(got, field) {
            panic!("{field}: {error}");
        }
    }
    assert_eq!(recorded(&world, vec![good.clone(); 500]).await, 1);
    // Only members' relay may tell events of blocks.
    for service in [ServiceName::Events, ServiceName::Notifications] {
        let got = world
            .internal_as(service)
            .unwrap()
            .record_blocks(pb::RecordBlocksRequest {
                changes: vec![good.clone()],
            })
            .await;
        assert_eq!(
            rendezvous_testkit::code(got),
            Code::PermissionDenied,
            "{service}"
        );
    }
    let as_member = world.internal_with(rendezvous_testkit::Bearer::token(&anna.access_token));
    let got = as_member
        .clone()
        .record_blocks(pb::RecordBlocksRequest {
            changes: vec![good],
        })
        .await;
    assert_eq!(rendezvous_testkit::code(got), Code::PermissionDenied);
    world.stop().await.unwrap();
}

/// The blocks events holds that name `member`, either way.
async fn blocks_naming(world: &World, member: &TestMember) -> i64 {
    with_db!(&world.events.db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM member_blocks WHERE blocker_id = $1 OR blocked_id = $1",
        )
        .bind(&member.id)
        .fetch_one(pool)
        .await
        .unwrap()
    })
}

async fn erasure_drops_the_members_blocks_both_ways(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (erased, _) = world.member("Eli").await.unwrap();
    let (host, as_host) = world.member("Hana").await.unwrap();
    let (viewer, as_viewer) = world.member("Vic").await.unwrap();
    let event = published(&as_host, now0() + Duration::days(3), 20, Vis::Public).await;
    block(&world, &erased, &host).await;
    block(&world, &viewer, &erased).await;
    block(&world, &viewer, &host).await;
    assert_eq!(blocks_naming(&world, &erased).await, 2);
    world
        .internal()
        .unwrap()
        .erase_member(pb::EraseMemberRequest {
            member_id: erased.id.clone(),
            erase_time: Some(timestamp(now0())),
        })
        .await
        .unwrap();
    assert_eq!(blocks_naming(&world, &erased).await, 0);
    // A change naming them that arrives after the erasure is not kept either.
    let late = change(&erased, &host, true, now0() + Duration::seconds(1));
    assert_eq!(recorded(&world, vec![late]).await, 0);
    assert_eq!(blocks_naming(&world, &erased).await, 0);
    // The others' blocks stay.
    assert!(try_get_event(&as_viewer, &event.id).await.is_err());
    world.stop().await.unwrap();
}

backend_tests!(
    the_hosts_events_are_hidden_from_a_member_blocked_either_way,
    attendees_blocked_either_way_do_not_see_each_other,
    the_summary_never_names_or_counts_a_blocked_connection,
    with_members_stopped_a_blocked_hosts_events_stay_hidden,
    a_block_made_in_members_is_lifted_by_the_unblock,
    the_latest_change_of_a_pair_wins_and_redelivery_changes_nothing,
    record_blocks_names_the_bad_change_and_takes_members_only,
    erasure_drops_the_members_blocks_both_ways,
);
