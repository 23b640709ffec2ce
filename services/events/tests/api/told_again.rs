//! The notices issue 8 asked for, read back from the outbox: the hosts hear of each request
//! for approval, a member who comes back is told again, every offer says until when it holds,
//! the chapter hears of the occurrences a series publishes on its own, and a draft takes no
//! invitations. Repeating what was done (the same answer, the series job again) adds nothing.

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::error::error_reason;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_proto::notifications::v1::notice::Notice as Variant;
use rendezvous_proto::prost_types::{Duration as PbDuration, FieldMask};
use rendezvous_testkit::{
    Backend, EventClient, TestMember, backend_tests, invite_members, outbox_count, outbox_notices,
    outbox_total,
};
use tonic::Code;

use crate::helpers::{
    World, add_cohost, chapter_joiner, create, event, morning, offering, paris_chapter, publish,
    rsvp, try_get_event,
};

fn now0() -> DateTime<Utc> {
    morning(2027, 4, 5)
}

async fn answer(client: &EventClient, id: &str, intent: pb::RsvpIntent) -> pb::RsvpStatus {
    client
        .clone()
        .rsvp(pb::RsvpRequest {
            event_id: id.to_owned(),
            intent: intent.into(),
            visibility: pb::RsvpVisibility::Public.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap()
        .status()
}

async fn cancel(client: &EventClient, id: &str) {
    client
        .clone()
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: id.to_owned(),
        })
        .await
        .unwrap();
}

/// The `(requester id, display name, event id)` of each approval request `to` was told of.
async fn approval_requests(world: &World, to: &TestMember) -> Vec<(String, String, String)> {
    outbox_notices(&world.events.db, "RSVP_APPROVAL_REQUESTED", &to.id)
        .await
        .into_iter()
        .map(|n| match n {
            Variant::RsvpApprovalRequested(n) => {
                let member = n.member.unwrap();
                (
                    member.member_id,
                    member.display_name,
                    n.event.unwrap().event_id,
                )
            }
            other => panic!("{other:?}"),
        })
        .collect()
}

async fn hosts_hear_of_each_request_for_approval_once_per_attempt(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host_member, host) = world.member("Hana Host").await.unwrap();
    let (cohost, _) = world.member("Cora Cohost").await.unwrap();
    let (door, _) = world.member("Dario Door").await.unwrap();
    let mut draft = event(now0() + Duration::days(3), 10, Vis::Public);
    draft.approval_required = true;
    let e = create(&host, draft).await;
    publish(&host, &e.id).await;
    add_cohost(&host, &e.id, &cohost, pb::CohostRole::Full).await;
    add_cohost(&host, &e.id, &door, pb::CohostRole::CheckInOnly).await;
    let (ama, ama_client) = world.member("Ama Mensah").await.unwrap();
    let pending = pb::RsvpStatus::PendingApproval;
    assert_eq!(
        answer(&ama_client, &e.id, pb::RsvpIntent::Going).await,
        pending
    );
    let told = vec![(ama.id.clone(), "Ama Mensah".to_owned(), e.id.clone())];
    // Those who may answer hear of it; a check-in-only co-host and the requester do not.
    assert_eq!(approval_requests(&world, &host_member).await, told);
    assert_eq!(approval_requests(&world, &cohost).await, told);
    assert!(approval_requests(&world, &door).await.is_empty());
    assert!(approval_requests(&world, &ama).await.is_empty());
    let facts = match outbox_notices(&world.events.db, "RSVP_APPROVAL_REQUESTED", &cohost.id)
        .await
        .remove(0)
    {
        Variant::RsvpApprovalRequested(n) => n.event.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(facts.title, "Café networking — Le Marais");
    assert_eq!(facts.venue_address, "12 rue Saint-Paul, 75004 Paris");
    // The same answer again is the same request: nobody is told twice.
    let before = outbox_total(&world.events.db).await;
    assert_eq!(
        answer(&ama_client, &e.id, pb::RsvpIntent::Going).await,
        pending
    );
    assert_eq!(outbox_total(&world.events.db).await, before);
    // Withdrawn, then asked again: a new request, told again to each host and to Ama.
    cancel(&ama_client, &e.id).await;
    assert_eq!(
        answer(&ama_client, &e.id, pb::RsvpIntent::Going).await,
        pending
    );
    assert_eq!(approval_requests(&world, &host_member).await.len(), 2);
    assert_eq!(approval_requests(&world, &cohost).await.len(), 2);
    assert!(approval_requests(&world, &door).await.is_empty());
    let own = outbox_notices(&world.events.db, "RSVP_PENDING_APPROVAL", &ama.id).await;
    assert_eq!(own.len(), 2);
    world.stop().await.unwrap();
}

async fn going_again_after_cancelling_is_confirmed_again(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Hana Host").await.unwrap();
    let e = crate::helpers::published(&host, now0() + Duration::days(3), 1, Vis::Public).await;
    let (ama, ama_client) = world.member("Ama").await.unwrap();
    let (ben, ben_client) = world.member("Ben").await.unwrap();
    let db = &world.events.db;
    let confirmed = || async { outbox_notices(db, "RSVP_CONFIRMED", &ama.id).await.len() };
    let places = || async {
        outbox_notices(db, "RSVP_WAITLISTED", &ben.id)
            .await
            .into_iter()
            .map(|n| match n {
                Variant::RsvpWaitlisted(n) => n.position,
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rsvp(&ama_client, &e.id).await.status(),
        pb::RsvpStatus::Confirmed
    );
    assert_eq!(
        rsvp(&ben_client, &e.id).await.status(),
        pb::RsvpStatus::Waitlisted
    );
    assert_eq!(confirmed().await, 1);
    assert_eq!(places().await, [1]);
    // Ben leaves the line and joins it again: told his place again.
    cancel(&ben_client, &e.id).await;
    assert_eq!(
        rsvp(&ben_client, &e.id).await.status(),
        pb::RsvpStatus::Waitlisted
    );
    assert_eq!(places().await, [1, 1]);
    // Ama says "not going", then "going" while the seat is still free: confirmed again.
    cancel(&ben_client, &e.id).await;
    assert_eq!(
        answer(&ama_client, &e.id, pb::RsvpIntent::NotGoing).await,
        pb::RsvpStatus::NotGoing
    );
    assert_eq!(
        rsvp(&ama_client, &e.id).await.status(),
        pb::RsvpStatus::Confirmed
    );
    assert_eq!(confirmed().await, 2);
    // Cancelled and going again: a third confirmation.
    cancel(&ama_client, &e.id).await;
    assert_eq!(
        rsvp(&ama_client, &e.id).await.status(),
        pb::RsvpStatus::Confirmed
    );
    assert_eq!(confirmed().await, 3);
    // "Going" once more is the same answer: nothing new for anyone.
    let before = outbox_total(db).await;
    assert_eq!(
        rsvp(&ama_client, &e.id).await.status(),
        pb::RsvpStatus::Confirmed
    );
    assert_eq!(outbox_total(db).await, before);
    world.stop().await.unwrap();
}

/// The deadline of the one WAITLIST_OFFERED `member` got.
async fn offer_deadline(world: &World, member: &TestMember) -> i64 {
    let mut offers = outbox_notices(&world.events.db, "WAITLIST_OFFERED", &member.id).await;
    assert_eq!(offers.len(), 1, "{offers:#?}");
    match offers.remove(0) {
        Variant::WaitlistOffered(n) => {
            assert_eq!(n.event.unwrap().title, "Café networking — Le Marais");
            n.expire_time
                .expect("an offer without its deadline")
                .seconds
        }
        other => panic!("{other:?}"),
    }
}

async fn every_offer_says_until_when_it_holds_the_seat(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host_member, host) = world.member("Hana Host").await.unwrap();
    let e = offering(&host, now0() + Duration::days(3), 1).await;
    let mut line = Vec::new();
    for name in ["Ama", "Ben", "Cleo", "Dan", "Eve", "Finn"] {
        let (member, client) = world.member(name).await.unwrap();
        rsvp(&client, &e.id).await;
        line.push(member);
    }
    let window = Duration::hours(2);
    let client = |i: usize| {
        let member = line[i].clone();
        let world = &world;
        async move { world.client(&member).await.unwrap() }
    };
    // Ama answers "not going": Ben is offered her seat.
    answer(&client(0).await, &e.id, pb::RsvpIntent::NotGoing).await;
    assert_eq!(
        offer_deadline(&world, &line[1]).await,
        (now0() + window).timestamp()
    );
    // The host declines Ben: Cleo is offered it.
    host.clone()
        .decline_rsvp(pb::DeclineRsvpRequest {
            event_id: e.id.clone(),
            member_id: line[1].id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        offer_deadline(&world, &line[2]).await,
        (now0() + window).timestamp()
    );
    // Cleo claims too late: the seat passes to Dan from then.
    world.clock.advance(Duration::hours(3));
    let late = client(2)
        .await
        .claim_offer(pb::ClaimOfferRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    let t1 = world.clock.now();
    assert_eq!(
        offer_deadline(&world, &line[3]).await,
        (t1 + window).timestamp()
    );
    // Dan never claims: the sweep passes the seat to Eve.
    world.clock.advance(Duration::hours(3));
    let t2 = world.clock.now();
    assert_eq!(world.events.events.sweep_once(t2).await.unwrap(), 1);
    assert_eq!(
        offer_deadline(&world, &line[4]).await,
        (t2 + window).timestamp()
    );
    // A second seat: Finn is offered it.
    let host = world.client(&host_member).await.unwrap();
    host.clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(pb::Event {
                id: e.id.clone(),
                capacity: 2,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["capacity".into()],
            }),
        })
        .await
        .unwrap();
    assert_eq!(
        offer_deadline(&world, &line[5]).await,
        (t2 + window).timestamp()
    );
    // Sweeping again expires nothing more and offers nobody twice.
    assert_eq!(world.events.events.sweep_once(t2).await.unwrap(), 0);
    for member in &line[1..] {
        offer_deadline(&world, member).await;
    }
    world.stop().await.unwrap();
}

/// A weekly chapter series on Mondays, published as it is materialised.
fn chapter_series(chapter_id: &str, visibility: Vis) -> pb::Series {
    pb::Series {
        chapter_id: chapter_id.to_owned(),
        rule: Some(pb::RecurrenceRule {
            frequency: pb::RecurrenceFrequency::Weekly.into(),
            interval: 1,
            by_weekdays: vec![pb::Weekday::Monday.into()],
            end: Some(pb::recurrence_rule::End::Count(40)),
            ..Default::default()
        }),
        start_date: "2027-04-12".to_owned(),
        start_local_time: "08:30".to_owned(),
        duration: Some(PbDuration {
            seconds: 90 * 60,
            nanos: 0,
        }),
        time_zone: "Europe/Paris".to_owned(),
        template: Some(pb::EventTemplate {
            title: "Monday coffee".to_owned(),
            kind: pb::EventKind::Coffee.into(),
            capacity: 12,
            visibility: visibility.into(),
            ..Default::default()
        }),
        auto_publish: true,
        ..Default::default()
    }
}

/// The event ids of the CHAPTER_NEW_EVENT notices `member` got.
async fn chapter_news(world: &World, member: &TestMember) -> Vec<String> {
    outbox_notices(&world.events.db, "CHAPTER_NEW_EVENT", &member.id)
        .await
        .into_iter()
        .map(|n| match n {
            Variant::ChapterNewEvent(n) => {
                assert_eq!(n.chapter.unwrap().name, "Rendezvous Paris");
                n.event.unwrap().event_id
            }
            other => panic!("{other:?}"),
        })
        .collect()
}

async fn the_chapter_hears_of_each_occurrence_a_series_publishes_on_its_own(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host_member, host) = world.member("Hana Host").await.unwrap();
    let chapter = paris_chapter(&world.events.client_with_token(&host_member.access_token)).await;
    let mut readers = Vec::new();
    for name in ["Ama", "Ben"] {
        readers.push(chapter_joiner(&world, name, &chapter.id).await);
    }
    let create_series = |series: pb::Series, request_id: &str| {
        let request = pb::CreateSeriesRequest {
            series: Some(series),
            request_id: request_id.to_owned(),
        };
        let mut host = host.clone();
        async move { host.create_series(request).await.unwrap().into_inner() }
    };
    let open = create_series(chapter_series(&chapter.id, Vis::Chapter), "open").await;
    let secret = create_series(chapter_series(&chapter.id, Vis::InviteOnly), "secret").await;
    assert!(!open.event_ids.is_empty() && !secret.event_ids.is_empty());
    let extend = || async {
        world
            .events
            .events
            .extend_series(world.clock.now())
            .await
            .unwrap()
    };
    world.clock.advance(Duration::days(21));
    let added = extend().await;
    assert!(added >= 4, "{added} occurrences added for both series");
    // Every occurrence the open series published on its own, when created and later by the
    // job, each once to each member of the chapter but the host; none of the invite-only
    // series.
    let host = world.client(&host_member).await.unwrap();
    let listed = host
        .clone()
        .list_events(pb::ListEventsRequest {
            series_id: open.series.unwrap().id,
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let mut new: Vec<String> = listed
        .iter()
        .map(|e| e.id.clone())
        .filter(|id| !open.event_ids.contains(id))
        .collect();
    new.sort();
    assert_eq!(new.len(), added / 2, "both series add alike");
    let mut published: Vec<String> = open.event_ids.iter().chain(&new).cloned().collect();
    published.sort();
    for reader in &readers {
        let mut told = chapter_news(&world, reader).await;
        told.sort();
        assert_eq!(told, published, "the chapter news of {}", reader.id);
    }
    assert!(chapter_news(&world, &host_member).await.is_empty());
    // The job again, and a manual publish of a published occurrence, add nothing.
    let before = outbox_count(&world.events.db, "chapter-new-event:", "").await;
    assert_eq!(extend().await, 0);
    publish(&host, &new[0]).await;
    assert_eq!(
        outbox_count(&world.events.db, "chapter-new-event:", "").await,
        before
    );
    world.stop().await.unwrap();
}

async fn a_draft_takes_no_invitations(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Hana Host").await.unwrap();
    let (guest, guest_client) = world.member("Ama").await.unwrap();
    let draft = create(
        &host,
        event(now0() + Duration::days(3), 10, Vis::InviteOnly),
    )
    .await;
    let before = outbox_total(&world.events.db).await;
    let refused = invite_members(&host, &draft.id, vec![guest.id.clone()])
        .await
        .unwrap_err()
        .downcast::<tonic::Status>()
        .unwrap();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        error_reason(&refused).as_deref(),
        Some("FAILED_PRECONDITION")
    );
    assert_eq!(outbox_total(&world.events.db).await, before);
    // Nothing was written: once published, the invite-only event is still hidden from Ama.
    publish(&host, &draft.id).await;
    let hidden = try_get_event(&guest_client, &draft.id).await.unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    world.stop().await.unwrap();
}

backend_tests!(
    hosts_hear_of_each_request_for_approval_once_per_attempt,
    going_again_after_cancelling_is_confirmed_again,
    every_offer_says_until_when_it_holds_the_seat,
    the_chapter_hears_of_each_occurrence_a_series_publishes_on_its_own,
    a_draft_takes_no_invitations,
);
