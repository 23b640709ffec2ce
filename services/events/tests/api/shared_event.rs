//! FindSharedEvent, as members' re-meet nudges call it: the earliest event in a city and a
//! window of starts that two members may both go to — published, public or of a chapter both
//! belong to, with a free seat, hosted by neither, its host in a block with neither, and
//! answered by neither — and an empty answer when there is none. Each test makes the event
//! that should be found the latest, so that any event wrongly let through is found instead.

use chrono::{DateTime, Duration, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::{
    Backend, EventClient, TestMember, backend_tests, invalid_argument_naming, timestamp,
};
use tonic::Status;

use crate::helpers::{
    World, add_cohost, block, cancel, chapter_joiner, create, create_chapter, event, invite,
    morning, offering, paris_chapter, publish, rsvp, unblock,
};

fn now0() -> DateTime<Utc> {
    morning(2028, 4, 3)
}

/// A FindSharedEvent request for `a` and `b` in Paris, over the next 30 days.
fn between(a: &TestMember, b: &TestMember) -> pb::FindSharedEventRequest {
    pb::FindSharedEventRequest {
        member_a: a.id.clone(),
        member_b: b.id.clone(),
        city: "Paris".to_owned(),
        start_after: Some(timestamp(now0())),
        start_before: Some(timestamp(now0() + Duration::days(30))),
    }
}

/// FindSharedEvent as members' relay calls it.
async fn find(
    world: &World,
    request: pb::FindSharedEventRequest,
) -> Result<Option<pb::SharedEvent>, Status> {
    let mut internal = world.internal().unwrap();
    Ok(internal
        .find_shared_event(request)
        .await?
        .into_inner()
        .event)
}

/// The title of the event found for `request`; `None` when there is none.
async fn found(world: &World, request: pb::FindSharedEventRequest) -> Option<String> {
    find(world, request).await.unwrap().map(|e| e.title)
}

/// The usual event titled `title`, created by `host` (a draft).
async fn draft(
    host: &EventClient,
    title: &str,
    start: DateTime<Utc>,
    capacity: i32,
    visibility: Vis,
) -> pb::Event {
    let mut e = event(start, capacity, visibility);
    title.clone_into(&mut e.title);
    create(host, e).await
}

/// The usual event titled `title`, created and published by `host`.
async fn hosted(
    host: &EventClient,
    title: &str,
    start: DateTime<Utc>,
    capacity: i32,
    visibility: Vis,
) -> pb::Event {
    let created = draft(host, title, start, capacity, visibility).await;
    publish(host, &created.id).await
}

fn day(n: i64) -> DateTime<Utc> {
    now0() + Duration::days(n)
}

async fn the_earliest_event_both_may_attend_is_found_whichever_is_named_first(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, as_hana) = world.member("Hana").await.unwrap();
    let (ama, _) = world.member("Ama").await.unwrap();
    let (ben, _) = world.member("Ben").await.unwrap();
    hosted(&as_hana, "later", day(9), 20, Vis::Public).await;
    let one = hosted(&as_hana, "one", day(4), 20, Vis::Public).await;
    let other = hosted(&as_hana, "other", day(4), 20, Vis::Public).await;
    // Of two at the same start, the one with the smaller id.
    let first = if one.id < other.id { &one } else { &other };

    for request in [
        between(&ama, &ben),
        between(&ben, &ama),
        // The city as events match cities: case and surrounding spaces aside.
        pb::FindSharedEventRequest {
            city: "  pARIS ".to_owned(),
            ..between(&ama, &ben)
        },
    ] {
        let got = find(&world, request.clone()).await.unwrap();
        let expected = pb::SharedEvent {
            event_id: first.id.clone(),
            title: first.title.clone(),
            start_time: Some(timestamp(day(4))),
            end_time: Some(timestamp(day(4) + Duration::minutes(90))),
            time_zone: "Europe/Paris".to_owned(),
            venue_name: "Café Saint-Paul".to_owned(),
            venue_address: "12 rue Saint-Paul, 75004 Paris".to_owned(),
            city: "Paris".to_owned(),
        };
        assert_eq!(got, Some(expected), "{request:?}");
    }
    world.stop().await.unwrap();
}

async fn events_either_may_not_go_to_are_skipped(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, as_hana) = world.member("Hana").await.unwrap();
    let (ama, _) = world.member("Ama").await.unwrap();
    let (ben, _) = world.member("Ben").await.unwrap();
    let (_, as_cy) = world.member("Cy").await.unwrap();
    let (_, as_dee) = world.member("Dee").await.unwrap();

    let before_window = hosted(&as_hana, "before the window", day(1), 20, Vis::Public).await;
    let invite_only = hosted(&as_hana, "invite-only", day(2), 20, Vis::InviteOnly).await;
    // Invited, both could see it; it is still not for a nudge.
    invite(&as_hana, &invite_only.id, &[&ama, &ben]).await;
    draft(&as_hana, "draft", day(3), 20, Vis::Public).await;
    let cancelled = hosted(&as_hana, "cancelled", day(4), 20, Vis::Public).await;
    cancel(&as_hana, &cancelled.id).await.unwrap();
    let full = hosted(&as_hana, "full", day(5), 1, Vis::Public).await;
    rsvp(&as_cy, &full.id).await;
    // Its one seat is offered to Dee, who waited for it: held, so not free.
    let offered = offering(&as_hana, day(6), 1).await;
    rsvp(&as_cy, &offered.id).await;
    rsvp(&as_dee, &offered.id).await;
    as_cy
        .clone()
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: offered.id.clone(),
        })
        .await
        .unwrap();
    let mut lyon = event(day(7), 20, Vis::Public);
    "in Lyon".clone_into(&mut lyon.title);
    "Lyon".clone_into(&mut lyon.city);
    let lyon = create(&as_hana, lyon).await;
    publish(&as_hana, &lyon.id).await;
    // One of its two seats is taken: not full.
    let open = hosted(&as_hana, "open", day(8), 2, Vis::Public).await;
    rsvp(&as_cy, &open.id).await;

    let request = pb::FindSharedEventRequest {
        start_after: Some(timestamp(day(1) + Duration::hours(1))),
        ..between(&ama, &ben)
    };
    assert_eq!(
        found(&world, request.clone()).await.as_deref(),
        Some("open")
    );
    // The event before the window is there to be found by a window that holds it.
    let earlier = pb::FindSharedEventRequest {
        start_after: Some(timestamp(now0())),
        ..request
    };
    assert_eq!(
        found(&world, earlier).await.as_deref(),
        Some(before_window.title.as_str())
    );
    world.stop().await.unwrap();
}

async fn a_chapter_event_is_found_only_once_both_belong_to_its_chapter(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (olga, chapters) = world.chapter_member("Olga").await.unwrap();
    let paris = paris_chapter(&chapters).await;
    let lyon = pb::Chapter {
        name: "Rendezvous Lyon".to_owned(),
        city: "Lyon".to_owned(),
        time_zone: "Europe/Paris".to_owned(),
        ..Default::default()
    };
    let lyon = create_chapter(&chapters, lyon).await;
    let as_olga = world.client(&olga).await.unwrap();
    let mut for_chapter = event(day(3), 20, Vis::Chapter);
    "chapter".clone_into(&mut for_chapter.title);
    for_chapter.chapter_id.clone_from(&paris.id);
    let for_chapter = create(&as_olga, for_chapter).await;
    publish(&as_olga, &for_chapter.id).await;
    hosted(&as_olga, "public", day(5), 20, Vis::Public).await;
    let ama = chapter_joiner(&world, "Ama", &paris.id).await;
    join(&world, &ama, &lyon).await;
    let ben = chapter_joiner(&world, "Ben", &lyon.id).await;

    // Only Ama belongs to the event's chapter (that both belong to another is no matter).
    for request in [between(&ama, &ben), between(&ben, &ama)] {
        assert_eq!(
            found(&world, request.clone()).await.as_deref(),
            Some("public"),
            "{request:?}"
        );
    }
    join(&world, &ben, &paris).await;
    assert_eq!(
        found(&world, between(&ama, &ben)).await.as_deref(),
        Some("chapter")
    );
    world.stop().await.unwrap();
}

/// `member` joins `chapter`.
async fn join(world: &World, member: &TestMember, chapter: &pb::Chapter) {
    world
        .events
        .client_with_token(&member.access_token)
        .join_chapter(pb::JoinChapterRequest {
            chapter_id: chapter.id.clone(),
        })
        .await
        .unwrap();
}

async fn an_event_either_answered_hosts_or_co_hosts_is_skipped(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, as_hana) = world.member("Hana").await.unwrap();
    let (ama, as_ama) = world.member("Ama").await.unwrap();
    let (ben, as_ben) = world.member("Ben").await.unwrap();

    let ama_going = hosted(&as_hana, "Ama going", day(1), 20, Vis::Public).await;
    rsvp(&as_ama, &ama_going.id).await;
    let ben_not_going = hosted(&as_hana, "Ben not going", day(2), 20, Vis::Public).await;
    as_ben
        .clone()
        .rsvp(pb::RsvpRequest {
            event_id: ben_not_going.id.clone(),
            intent: pb::RsvpIntent::NotGoing.into(),
            visibility: pb::RsvpVisibility::Public.into(),
        })
        .await
        .unwrap();
    let ama_cancelled = hosted(&as_hana, "Ama cancelled", day(3), 20, Vis::Public).await;
    rsvp(&as_ama, &ama_cancelled.id).await;
    as_ama
        .clone()
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: ama_cancelled.id.clone(),
        })
        .await
        .unwrap();
    hosted(&as_ama, "hosted by Ama", day(4), 20, Vis::Public).await;
    hosted(&as_ben, "hosted by Ben", day(5), 20, Vis::Public).await;
    let cohosted = hosted(&as_hana, "co-hosted by Ben", day(6), 20, Vis::Public).await;
    add_cohost(&as_hana, &cohosted.id, &ben, pb::CohostRole::CheckInOnly).await;
    hosted(&as_hana, "open", day(7), 20, Vis::Public).await;

    for request in [between(&ama, &ben), between(&ben, &ama)] {
        assert_eq!(
            found(&world, request.clone()).await.as_deref(),
            Some("open"),
            "{request:?}"
        );
    }
    world.stop().await.unwrap();
}

async fn an_event_whose_host_is_in_a_block_with_either_is_skipped(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (hana, as_hana) = world.member("Hana").await.unwrap();
    let (ines, as_ines) = world.member("Ines").await.unwrap();
    let (jo, as_jo) = world.member("Jo").await.unwrap();
    let (ama, _) = world.member("Ama").await.unwrap();
    let (ben, _) = world.member("Ben").await.unwrap();
    let (cy, _) = world.member("Cy").await.unwrap();
    hosted(&as_hana, "Hana blocks Ama", day(1), 20, Vis::Public).await;
    hosted(&as_ines, "Ben blocks Ines", day(2), 20, Vis::Public).await;
    hosted(&as_jo, "open", day(3), 20, Vis::Public).await;
    block(&world, &hana, &ama).await;
    block(&world, &ben, &ines).await;
    // An unblock ends the block; a block with someone else is no matter.
    block(&world, &jo, &ben).await;
    unblock(&world, &jo, &ben).await;
    block(&world, &cy, &jo).await;

    for request in [between(&ama, &ben), between(&ben, &ama)] {
        assert_eq!(
            found(&world, request.clone()).await.as_deref(),
            Some("open"),
            "{request:?}"
        );
    }
    world.stop().await.unwrap();
}

async fn only_starts_in_the_window_count_and_none_is_an_empty_answer(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, as_hana) = world.member("Hana").await.unwrap();
    let (ama, _) = world.member("Ama").await.unwrap();
    let (ben, _) = world.member("Ben").await.unwrap();
    let (from, to) = (day(2), day(6));
    hosted(
        &as_hana,
        "just before",
        from - Duration::minutes(1),
        20,
        Vis::Public,
    )
    .await;
    hosted(&as_hana, "at the start", from, 20, Vis::Public).await;
    hosted(&as_hana, "at the end", to, 20, Vis::Public).await;
    let window = |after: DateTime<Utc>, before: DateTime<Utc>| pb::FindSharedEventRequest {
        start_after: Some(timestamp(after)),
        start_before: Some(timestamp(before)),
        ..between(&ama, &ben)
    };

    let second = Duration::seconds(1);
    for (after, before, expected) in [
        (from, to, Some("at the start")),
        (from + second, to, None),
        (from + second, to + second, Some("at the end")),
        (from - Duration::minutes(1), to, Some("just before")),
    ] {
        let got = find(&world, window(after, before)).await.unwrap();
        assert_eq!(
            got.as_ref().map(|e| e.title.as_str()),
            expected,
            "[{after}, {before})"
        );
    }
    let elsewhere = pb::FindSharedEventRequest {
        city: "Lyon".to_owned(),
        ..between(&ama, &ben)
    };
    assert_eq!(find(&world, elsewhere).await.unwrap(), None);
    world.stop().await.unwrap();
}

async fn a_bad_request_is_refused_naming_its_field(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (ama, _) = world.member("Ama").await.unwrap();
    let (ben, _) = world.member("Ben").await.unwrap();
    let good = between(&ama, &ben);
    let at = |t: DateTime<Utc>| Some(timestamp(t));
    let max = Duration::days(90);
    let cases = [
        (
            "member_a",
            pb::FindSharedEventRequest {
                member_a: "ama".to_owned(),
                ..good.clone()
            },
        ),
        (
            "member_a",
            pb::FindSharedEventRequest {
                member_a: String::new(),
                ..good.clone()
            },
        ),
        (
            "member_b",
            pb::FindSharedEventRequest {
                member_b: "ben".to_owned(),
                ..good.clone()
            },
        ),
        (
            "member_b",
            pb::FindSharedEventRequest {
                member_b: ama.id.clone(),
                ..good.clone()
            },
        ),
        (
            "member_b",
            pb::FindSharedEventRequest {
                member_b: ama.id.to_uppercase(),
                ..good.clone()
            },
        ),
        (
            "city",
            pb::FindSharedEventRequest {
                city: String::new(),
                ..good.clone()
            },
        ),
        (
            "city",
            pb::FindSharedEventRequest {
                city: "   ".to_owned(),
                ..good.clone()
            },
        ),
        (
            "start_after",
            pb::FindSharedEventRequest {
                start_after: None,
                ..good.clone()
            },
        ),
        (
            "start_before",
            pb::FindSharedEventRequest {
                start_before: None,
                ..good.clone()
            },
        ),
        (
            "start_before",
            pb::FindSharedEventRequest {
                start_before: at(now0()),
                ..good.clone()
            },
        ),
        (
            "start_before",
            pb::FindSharedEventRequest {
                start_before: at(now0() - Duration::days(1)),
                ..good.clone()
            },
        ),
        (
            "start_before",
            pb::FindSharedEventRequest {
                start_before: at(now0() + max + Duration::seconds(1)),
                ..good.clone()
            },
        ),
    ];
    let mut wrong = Vec::new();
    for (field, request) in cases {
        if let Err(error) = invalid_argument_naming(find(&world, request.clone()).await, field) {
            wrong.push(format!("{request:?}: {error}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Ninety days exactly is a window it searches.
    let longest = pb::FindSharedEventRequest {
        start_before: at(now0() + max),
        ..good
    };
    assert_eq!(find(&world, longest).await.unwrap(), None);
    world.stop().await.unwrap();
}

backend_tests!(
    the_earliest_event_both_may_attend_is_found_whichever_is_named_first,
    events_either_may_not_go_to_are_skipped,
    a_chapter_event_is_found_only_once_both_belong_to_its_chapter,
    an_event_either_answered_hosts_or_co_hosts_is_skipped,
    an_event_whose_host_is_in_a_block_with_either_is_skipped,
    only_starts_in_the_window_count_and_none_is_an_empty_answer,
    a_bad_request_is_refused_naming_its_field,
);
