//! The per-chapter and per-event abuse limits (issue 10, point 5): new-event notices per
//! chapter per week, announcements per event and per chapter per day, invitations per event
//! over all its hosts. Each refusal is `RESOURCE_EXHAUSTED` with the exact wait in `RetryInfo`
//! (on a manual clock) and writes nothing; each window slides.

use chrono::{DateTime, Duration, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::{
    Backend, EventClient, TestMember, backend_tests, events_settings, outbox_count,
    rate_limited_for,
};
use tonic::Code;

use crate::helpers::{
    World, add_cohost, chapter_joiner, create, event, going, morning, paris_chapter, publish,
};

fn now0() -> DateTime<Utc> {
    morning(2030, 6, 3)
}

/// Members and events with `limits` (the rest unlimited).
async fn world_with(backend: Backend, limits: rendezvous_events::AbuseLimits) -> World {
    let settings = rendezvous_events::Settings {
        limits,
        ..events_settings()
    };
    World::start_with(backend, now0(), settings).await.unwrap()
}

/// A draft of the usual event in `chapter_id`, a month from now.
async fn draft_in(host: &EventClient, chapter_id: &str, visibility: Vis) -> pb::Event {
    let mut draft = event(now0() + Duration::days(30), 20, visibility);
    draft.chapter_id = chapter_id.to_owned();
    create(host, draft).await
}

async fn try_publish(host: &EventClient, id: &str) -> Result<pb::Event, tonic::Status> {
    host.clone()
        .publish_event(pb::PublishEventRequest {
            event_id: id.to_owned(),
            etag: String::new(),
        })
        .await
        .map(|r| r.into_inner().event.unwrap())
}

/// How many chapter members were told of `event_id` (all but its host: two in these tests).
async fn told_of(world: &World, event_id: &str) -> i64 {
    outbox_count(
        &world.events.db,
        &format!("chapter-new-event:{event_id}:"),
        "",
    )
    .await
}

async fn a_chapter_is_told_of_so_many_new_events_a_week_then_publishing_waits(backend: Backend) {
    let world = world_with(
        backend,
        rendezvous_events::AbuseLimits {
            chapter_new_events_per_week: 3,
            ..rendezvous_events::AbuseLimits::unlimited()
        },
    )
    .await;
    let (organiser, chapters) = world.chapter_member("Olga").await.unwrap();
    let chapter = paris_chapter(&chapters).await;
    let host = chapter_joiner(&world, "Hugo", &chapter.id).await;
    let _reader = chapter_joiner(&world, "Rita", &chapter.id).await;
    let start = world.clock.now();
    // Three events an hour apart tell the chapter.
    for _ in 0..3 {
        let client = world.client(&host).await.unwrap();
        let draft = draft_in(&client, &chapter.id, Vis::Public).await;
        publish(&client, &draft.id).await;
        assert_eq!(told_of(&world, &draft.id).await, 2);
        world.clock.advance(Duration::hours(1));
    }
    // The fourth waits until the first is a week old; it stays a draft, nobody is told.
    let client = world.client(&host).await.unwrap();
    let fourth = draft_in(&client, &chapter.id, Vis::Chapter).await;
    let refused = try_publish(&client, &fourth.id).await.unwrap_err();
    let wait = rate_limited_for(&refused);
    assert_eq!(
        wait,
        (start + Duration::days(7) - world.clock.now())
            .to_std()
            .unwrap()
    );
    assert_eq!(
        wait,
        (Duration::days(7) - Duration::hours(3)).to_std().unwrap()
    );
    let unchanged = crate::helpers::get_event(&client, &fourth.id).await;
    assert_eq!(unchanged.state, i32::from(pb::EventState::Draft));
    assert_eq!(told_of(&world, &fourth.id).await, 0);
    // An invite-only event tells the chapter nothing, so it is not held back.
    let secret = draft_in(&client, &chapter.id, Vis::InviteOnly).await;
    publish(&client, &secret.id).await;
    // The chapter's organisers are not capped (nor counted).
    let as_organiser = world.client(&organiser).await.unwrap();
    let theirs = draft_in(&as_organiser, &chapter.id, Vis::Public).await;
    publish(&as_organiser, &theirs.id).await;
    assert_eq!(told_of(&world, &theirs.id).await, 2);
    // The window slides: once the first is a week old, one more; the next waits an hour.
    world.clock.advance(Duration::from_std(wait).unwrap());
    let client = world.client(&host).await.unwrap();
    publish(&client, &fourth.id).await;
    assert_eq!(told_of(&world, &fourth.id).await, 2);
    let fifth = draft_in(&client, &chapter.id, Vis::Public).await;
    let refused = try_publish(&client, &fifth.id).await.unwrap_err();
    assert_eq!(
        rate_limited_for(&refused),
        std::time::Duration::from_secs(3600)
    );
    world.stop().await.unwrap();
}

async fn a_series_beyond_the_cap_publishes_its_occurrences_without_telling_the_chapter(
    backend: Backend,
) {
    let world = world_with(
        backend,
        rendezvous_events::AbuseLimits {
            chapter_new_events_per_week: 2,
            ..rendezvous_events::AbuseLimits::unlimited()
        },
    )
    .await;
    let (_, chapters) = world.chapter_member("Olga").await.unwrap();
    let chapter = paris_chapter(&chapters).await;
    let host = chapter_joiner(&world, "Hugo", &chapter.id).await;
    let client = world.client(&host).await.unwrap();
    let mut series = rendezvous_testkit::paris_series(
        rendezvous_testkit::first_thursdays(3),
        "2030-06-06",
        "First Thursdays",
    );
    series.chapter_id.clone_from(&chapter.id);
    let created = client
        .clone()
        .create_series(pb::CreateSeriesRequest {
            series: Some(series),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.event_ids.len(), 3, "all three are published");
    let mut told = Vec::new();
    for id in &created.event_ids {
        told.push(told_of(&world, id).await);
    }
    // The first two tell the chapter's other member (the organiser); the rest nobody.
    assert_eq!(told, [1, 1, 0]);
    // And the cap is spent for PublishEvent too.
    let draft = draft_in(&client, &chapter.id, Vis::Public).await;
    rate_limited_for(&try_publish(&client, &draft.id).await.unwrap_err());
    world.stop().await.unwrap();
}

async fn announce(
    host: &EventClient,
    event_id: &str,
    request_id: &str,
) -> Result<i32, tonic::Status> {
    host.clone()
        .announce_to_attendees(pb::AnnounceToAttendeesRequest {
            event_id: event_id.to_owned(),
            message: "The room moved upstairs".to_owned(),
            include_waitlisted: false,
            request_id: request_id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().recipient_count)
}

/// How many notices one announcement wrote.
async fn announced(world: &World, event_id: &str, request_id: &str) -> i64 {
    outbox_count(
        &world.events.db,
        &format!("announcement:{event_id}:{request_id}:"),
        "",
    )
    .await
}

async fn announcements_are_capped_per_event_and_per_chapter_per_day(backend: Backend) {
    let world = world_with(
        backend,
        rendezvous_events::AbuseLimits {
            announcements_per_event_per_day: 2,
            announcements_per_chapter_per_day: 3,
            ..rendezvous_events::AbuseLimits::unlimited()
        },
    )
    .await;
    let (_, chapters) = world.chapter_member("Olga").await.unwrap();
    let chapter = paris_chapter(&chapters).await;
    let host = chapter_joiner(&world, "Hugo", &chapter.id).await;
    let (_, guest) = world.member("Gina").await.unwrap();
    let client = world.client(&host).await.unwrap();
    let mut events = Vec::new();
    for _ in 0..2 {
        let draft = draft_in(&client, &chapter.id, Vis::Public).await;
        publish(&client, &draft.id).await;
        going(&guest, &draft.id, pb::RsvpVisibility::Public).await;
        events.push(draft.id);
    }
    let (a, b) = (&events[0], &events[1]);
    let start = world.clock.now();
    assert_eq!(announce(&client, a, "a1").await.unwrap(), 1);
    world.clock.advance(Duration::hours(1));
    let client = world.client(&host).await.unwrap();
    assert_eq!(announce(&client, a, "a2").await.unwrap(), 1);
    world.clock.advance(Duration::hours(1));
    let client = world.client(&host).await.unwrap();
    // The event's third of the day waits until its first is a day old; nothing is sent.
    let refused = announce(&client, a, "a3").await.unwrap_err();
    assert_eq!(
        rate_limited_for(&refused),
        (start + Duration::days(1) - world.clock.now())
            .to_std()
            .unwrap()
    );
    assert_eq!(announced(&world, a, "a3").await, 0);
    // A retry of one already sent answers as the first did and is not counted again.
    assert_eq!(announce(&client, a, "a2").await.unwrap(), 1);
    assert_eq!(announced(&world, a, "a2").await, 1);
    // The chapter has room for one more (its third), on another of its events.
    assert_eq!(announce(&client, b, "b1").await.unwrap(), 1);
    let refused = announce(&client, b, "b2").await.unwrap_err();
    assert_eq!(
        rate_limited_for(&refused),
        (Duration::days(1) - Duration::hours(2)).to_std().unwrap(),
        "the chapter's cap: until its oldest announcement today is a day old"
    );
    assert_eq!(announced(&world, b, "b2").await, 0);
    // Retries still answer with the caps spent.
    assert_eq!(announce(&client, b, "b1").await.unwrap(), 1);
    // The window slides: a day after the first, one more for the chapter (and the event).
    world.clock.advance(Duration::hours(22));
    let client = world.client(&host).await.unwrap();
    assert_eq!(announce(&client, b, "b2").await.unwrap(), 1);
    let refused = announce(&client, a, "a3").await.unwrap_err();
    assert_eq!(
        rate_limited_for(&refused),
        std::time::Duration::from_secs(3600),
        "the chapter's cap again: a2 leaves the day in an hour"
    );
    world.stop().await.unwrap();
}

async fn invite(
    client: &EventClient,
    event_id: &str,
    members: &[TestMember],
) -> Result<pb::InviteMembersResponse, tonic::Status> {
    client
        .clone()
        .invite_members(pb::InviteMembersRequest {
            event_id: event_id.to_owned(),
            target: Some(pb::invite_members_request::Target::Members(
                pb::invite_members_request::MemberIds {
                    member_ids: members.iter().map(|m| m.id.clone()).collect(),
                },
            )),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn two_cohosts_together_reach_the_per_event_invitation_cap(backend: Backend) {
    let world = world_with(
        backend,
        rendezvous_events::AbuseLimits {
            invitations_per_event: 5,
            ..rendezvous_events::AbuseLimits::unlimited()
        },
    )
    .await;
    let (_, host) = world.member("Hugo").await.unwrap();
    let (cohost_a, as_a) = world.member("Ada").await.unwrap();
    let (cohost_b, as_b) = world.member("Bea").await.unwrap();
    let mut guests = Vec::new();
    for i in 0..8 {
        guests.push(world.member(&format!("Guest {i}")).await.unwrap().0);
    }
    let e = crate::helpers::published(&host, now0() + Duration::days(3), 20, Vis::InviteOnly).await;
    add_cohost(&host, &e.id, &cohost_a, pb::CohostRole::Full).await;
    add_cohost(&host, &e.id, &cohost_b, pb::CohostRole::Full).await;
    // The host's 3: the event has room for 2 more, the host for 497 this week.
    let first = invite(&host, &e.id, &guests[0..3]).await.unwrap();
    assert_eq!(
        (first.invited_count, first.remaining_weekly_invitations),
        (3, 2),
        "the remaining count is the tighter cap's"
    );
    // A co-host with a week's worth of their own still gets only the event's last 2.
    let second = invite(&as_a, &e.id, &guests[3..6]).await.unwrap();
    assert_eq!(
        (
            second.invited_count,
            second.skipped_count,
            second.remaining_weekly_invitations
        ),
        (2, 1, 0)
    );
    // The other co-host is refused: no wait lifts this cap, so no RetryInfo.
    let refused = invite(&as_b, &e.id, &guests[6..8]).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(
        rendezvous_common::error::error_reason(&refused).as_deref(),
        Some("LIMIT_REACHED")
    );
    // Nobody beyond the cap was invited: five guests see the invite-only event, three not.
    let mut seeing = 0;
    for guest in &guests {
        let client = world.client(guest).await.unwrap();
        seeing += i32::from(crate::helpers::try_get_event(&client, &e.id).await.is_ok());
    }
    assert_eq!(seeing, 5);
    // The cap is the event's: the same co-host invites to another event.
    let other =
        crate::helpers::published(&as_b, now0() + Duration::days(4), 20, Vis::InviteOnly).await;
    assert_eq!(
        invite(&as_b, &other.id, &guests[6..8])
            .await
            .unwrap()
            .invited_count,
        2
    );
    world.stop().await.unwrap();
}

backend_tests!(
    a_chapter_is_told_of_so_many_new_events_a_week_then_publishing_waits,
    a_series_beyond_the_cap_publishes_its_occurrences_without_telling_the_chapter,
    announcements_are_capped_per_event_and_per_chapter_per_day,
    two_cohosts_together_reach_the_per_event_invitation_cap,
);
