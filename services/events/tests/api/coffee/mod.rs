//! Booked coffees (`EventInternalService.ScheduleCoffee`, as members' relay calls it): one
//! private two-person event per proposal, both members confirmed and told, the venue given or
//! suggested from past coffees in the city, and afterwards both asked whether they met; and
//! coffees called off (`CancelCoffee`), in [`called_off`]; what its host may not change of it,
//! and what the two still do with it, in [`locked`].

mod called_off;
mod locked;

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::auth::ServiceName;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::notifications::v1::notice::Notice as Variant;
use rendezvous_testkit::{
    Backend, Bearer, EventClient, TestMember, backend_tests, code, connect,
    invalid_argument_naming, outbox_notices, outbox_notices_keyed, timestamp,
};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{
    World, attendance_summary, attendee_ids, check_in_code, check_in_code_of, create, event,
    get_event, ids, list_attendees, meeting_of, morning, publish, try_get_event, try_own_rsvp,
};

fn now0() -> DateTime<Utc> {
    morning(2027, 6, 7)
}

/// When the coffees meet: three days ahead, for an hour.
fn start() -> DateTime<Utc> {
    now0() + Duration::days(3)
}

fn peloton() -> pb::Venue {
    pb::Venue {
        name: "Le Peloton".to_owned(),
        address: "17 rue du Pont Louis-Philippe, 75004 Paris".to_owned(),
        latitude: 48.8553,
        longitude: 2.3571,
    }
}

/// `host` (Amélie) booked a coffee with `guest` (Ben) in Paris from `start`, at `venue` (none:
/// suggest one), as members' relay sends it.
fn booking(
    host: &TestMember,
    guest: &TestMember,
    start: DateTime<Utc>,
    venue: Option<pb::Venue>,
) -> pb::ScheduleCoffeeRequest {
    pb::ScheduleCoffeeRequest {
        event_id: Uuid::now_v7().to_string(),
        proposal_id: Uuid::now_v7().to_string(),
        host: Some(pb::CoffeeGuest {
            member_id: host.id.clone(),
            display_name: "Amélie".to_owned(),
        }),
        guest: Some(pb::CoffeeGuest {
            member_id: guest.id.clone(),
            display_name: "Ben".to_owned(),
        }),
        start_time: Some(timestamp(start)),
        end_time: Some(timestamp(start + Duration::hours(1))),
        time_zone: "Europe/Paris".to_owned(),
        city: "Paris".to_owned(),
        venue,
        preferred_areas: Vec::new(),
    }
}

async fn schedule(
    world: &World,
    request: pb::ScheduleCoffeeRequest,
) -> Result<pb::ScheduleCoffeeResponse, tonic::Status> {
    let response = world.internal().unwrap().schedule_coffee(request).await?;
    Ok(response.into_inner())
}

/// The COFFEE_SCHEDULED notices written to `member`.
async fn told(world: &World, member: &TestMember) -> Vec<npb::CoffeeScheduled> {
    outbox_notices(&world.events.db, "COFFEE_SCHEDULED", &member.id)
        .await
        .into_iter()
        .map(|notice| match notice {
            Variant::CoffeeScheduled(n) => n,
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Amélie and Ben, who book coffees, with their clients.
async fn amelie_and_ben(world: &World) -> ((TestMember, EventClient), (TestMember, EventClient)) {
    (
        world.member("Amélie").await.unwrap(),
        world.member("Ben").await.unwrap(),
    )
}

async fn a_coffee_is_made_once_for_its_two_members_and_hidden_from_others(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, as_ben)) = amelie_and_ben(&world).await;
    let (_, as_cleo) = world.member("Cléo").await.unwrap();
    let request = booking(&amelie, &ben, start(), Some(peloton()));

    let first = schedule(&world, request.clone()).await.unwrap();
    assert!(first.created);
    assert_eq!(first.event_id, request.event_id);
    assert_eq!(first.venue.as_ref().unwrap().name, "Le Peloton");
    // Delivered again (even naming another event id): the first event, nothing new.
    let again = pb::ScheduleCoffeeRequest {
        event_id: Uuid::now_v7().to_string(),
        ..request.clone()
    };
    let again = schedule(&world, again).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.event_id, first.event_id);
    assert_eq!(again.venue, first.venue);

    for client in [&as_amelie, &as_ben] {
        let e = get_event(client, &first.event_id).await;
        assert_eq!(e.title, "Coffee — Amélie & Ben");
        assert_eq!(e.kind(), pb::EventKind::Coffee);
        assert_eq!(e.visibility(), pb::EventVisibility::InviteOnly);
        assert_eq!(e.state(), pb::EventState::Published);
        assert_eq!((e.capacity, e.confirmed_count), (2, 2));
        assert_eq!(
            (e.host_id.as_str(), e.chapter_id.as_str()),
            (amelie.id.as_str(), "")
        );
        assert_eq!(
            (e.city.as_str(), e.time_zone.as_str()),
            ("Paris", "Europe/Paris")
        );
        assert_eq!(e.venue, Some(peloton()));
        let own = try_own_rsvp(client, &first.event_id).await.unwrap();
        assert_eq!(own.status(), pb::RsvpStatus::Confirmed);
    }
    let listed = list_attendees(&as_ben, &first.event_id).await.unwrap();
    assert_eq!(attendee_ids(&listed), ids(&[&amelie, &ben]));
    // Invite-only: nobody else knows it exists.
    for other in [&as_cleo, &world.events.events_anonymous()] {
        let hidden = try_get_event(other, &first.event_id).await;
        assert_eq!(code(hidden), Code::NotFound);
    }

    // One notice each, naming the other and where they meet.
    for (member, other, name) in [(&amelie, &ben, "Ben"), (&ben, &amelie, "Amélie")] {
        let notices = told(&world, member).await;
        assert_eq!(notices.len(), 1, "{notices:#?}");
        let notice = &notices[0];
        let who = notice.member.as_ref().unwrap();
        assert_eq!(
            (who.member_id.as_str(), who.display_name.as_str()),
            (other.id.as_str(), name)
        );
        assert!(!notice.venue_suggested);
        let facts = notice.event.as_ref().unwrap();
        assert_eq!(facts.event_id, first.event_id);
        assert_eq!(facts.title, "Coffee — Amélie & Ben");
        assert_eq!(facts.venue_name, "Le Peloton");
        assert_eq!(facts.venue_address, peloton().address);
        assert_eq!(facts.start_time, Some(timestamp(start())));
    }

    // Ben's data export holds his place at it.
    let export = world
        .internal()
        .unwrap()
        .export_member_data(pb::ExportMemberDataRequest {
            member_id: ben.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let export: serde_json::Value = serde_json::from_slice(&export.data).unwrap();
    let rsvps = export["rsvps"].as_array().unwrap();
    assert_eq!(rsvps.len(), 1, "{export}");
    assert_eq!(rsvps[0]["event_id"], first.event_id.as_str());
    assert_eq!(rsvps[0]["status"], "confirmed");
    world.stop().await.unwrap();
}

async fn both_members_are_reminded_can_check_in_and_have_it_in_their_calendars(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, as_ben)) = amelie_and_ben(&world).await;
    // No venue given and no past coffee in Paris: none.
    let coffee = schedule(&world, booking(&amelie, &ben, start(), None))
        .await
        .unwrap();
    assert_eq!(coffee.venue, Some(pb::Venue::default()));

    for client in [&as_amelie, &as_ben] {
        let mine = client
            .clone()
            .export_my_calendar(pb::ExportMyCalendarRequest {})
            .await
            .unwrap()
            .into_inner();
        let mine = String::from_utf8(mine.ics).unwrap();
        icalendar::parser::read_calendar(&icalendar::parser::unfold(&mine)).unwrap();
        assert!(mine.contains("Coffee — Amélie & Ben"), "{mine}");
        // Nowhere agreed yet: no empty location.
        assert!(!mine.contains("LOCATION"), "{mine}");
    }
    let one = as_ben
        .clone()
        .export_event_calendar(pb::ExportEventCalendarRequest {
            event_id: coffee.event_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let one = String::from_utf8(one.ics).unwrap();
    icalendar::parser::read_calendar(&icalendar::parser::unfold(&one)).unwrap();

    // A day before: each is reminded.
    let day_before = start() - Duration::days(1);
    world.clock.advance(day_before - world.clock.now());
    assert_eq!(
        world
            .events
            .events
            .send_reminders(day_before)
            .await
            .unwrap(),
        2
    );
    for member in [&amelie, &ben] {
        let prefix = format!("reminder:{}:{}:", coffee.event_id, member.id);
        let reminders = outbox_notices_keyed(&world.events.db, &prefix).await;
        assert_eq!(reminders.len(), 1, "{}", member.id);
    }

    // Once check-in opens, each checks in with the code Amélie (the host) reads.
    world
        .clock
        .advance(start() - Duration::minutes(30) - world.clock.now());
    let as_amelie = world.client(&amelie).await.unwrap();
    let as_ben = world.client(&ben).await.unwrap();
    let code = check_in_code_of(&as_amelie, &coffee.event_id)
        .await
        .unwrap();
    for client in [&as_amelie, &as_ben] {
        let rsvp = check_in_code(client, &coffee.event_id, &code)
            .await
            .unwrap();
        assert!(rsvp.check_in_time.is_some());
    }
    world.stop().await.unwrap();
}

/// A coffee event `host` creates in `city` at `venue` a day after `now0`, published unless
/// `state` says otherwise.
async fn past_event(
    host: &EventClient,
    city: &str,
    venue: (&str, &str),
    kind: pb::EventKind,
    state: pb::EventState,
) {
    let mut e = event(now0() + Duration::days(1), 10, pb::EventVisibility::Public);
    e.city = city.to_owned();
    e.kind = kind.into();
    e.venue = Some(pb::Venue {
        name: venue.0.to_owned(),
        address: venue.1.to_owned(),
        latitude: 0.0,
        longitude: 0.0,
    });
    let created = create(host, e).await;
    if state == pb::EventState::Draft {
        return;
    }
    publish(host, &created.id).await;
    if state == pb::EventState::Cancelled {
        crate::helpers::cancel(host, &created.id).await.unwrap();
    }
}

async fn the_venue_is_suggested_from_past_coffees_in_the_city(backend: Backend) {
    use pb::EventKind::{Coffee, Drinks};
    use pb::EventState::{Cancelled, Draft, Published};

    let world = World::start(backend, now0()).await.unwrap();
    let ((amelie, _), (ben, _)) = amelie_and_ben(&world).await;
    let (hana, as_host) = world.member("Hana").await.unwrap();
    let street = "17 rue du Pont Louis-Philippe";
    past_event(&as_host, "Paris", ("Le Peloton", street), Coffee, Published).await;
    past_event(&as_host, "Paris", ("le peloton", street), Coffee, Published).await;
    let loustic = ("Café Loustic", "40 rue Chapon, Le Marais");
    past_event(&as_host, "PARIS", loustic, Coffee, Published).await;
    // None of these is a past coffee in Paris with a venue, however well they fit.
    past_event(&as_host, "Paris", ("Bar du Marais", ""), Drinks, Published).await;
    past_event(&as_host, "Paris", ("Marais Café", ""), Coffee, Cancelled).await;
    past_event(&as_host, "Paris", ("Marais Brunch", ""), Coffee, Draft).await;
    past_event(&as_host, "Lyon", ("Marais de Lyon", ""), Coffee, Published).await;
    world.clock.advance(Duration::days(2));
    let as_host = world.client(&hana).await.unwrap();
    let mut upcoming = event(now0() + Duration::days(5), 10, pb::EventVisibility::Public);
    upcoming.venue.as_mut().unwrap().name = "Le Marais à venir".to_owned();
    let upcoming = create(&as_host, upcoming).await;
    publish(&as_host, &upcoming.id).await;

    // An area either member prefers first, whatever its case.
    let mut in_area = booking(&amelie, &ben, start(), None);
    in_area.city = "paris".to_owned();
    in_area.preferred_areas = vec!["Belleville".to_owned(), "marais".to_owned()];
    let coffee = schedule(&world, in_area).await.unwrap();
    let venue = coffee.venue.unwrap();
    assert_eq!((venue.name.as_str(), venue.address.as_str()), loustic);
    for member in [&amelie, &ben] {
        let notices = told(&world, member).await;
        assert!(notices[0].venue_suggested);
        let facts = notices[0].event.as_ref().unwrap();
        assert_eq!(
            (facts.venue_name.as_str(), facts.venue_address.as_str()),
            loustic
        );
    }

    // No area given: the venue used most.
    let anywhere = booking(&amelie, &ben, start(), None);
    let coffee = schedule(&world, anywhere).await.unwrap();
    assert_eq!(coffee.venue.unwrap().name.to_lowercase(), "le peloton");

    // No past coffee in Nantes: no venue, and the notices do not call it a suggestion.
    let mut nantes = booking(&amelie, &ben, start(), None);
    nantes.city = "Nantes".to_owned();
    nantes.preferred_areas = vec!["Marais".to_owned()];
    let coffee = schedule(&world, nantes).await.unwrap();
    assert!(coffee.created);
    assert_eq!(coffee.venue, Some(pb::Venue::default()));
    let notices = told(&world, &ben).await;
    let last = notices.last().unwrap();
    assert!(!last.venue_suggested);
    assert_eq!(last.event.as_ref().unwrap().venue_name, "");
    world.stop().await.unwrap();
}

async fn bad_bookings_name_their_field_and_an_empty_time_zone_is_utc(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, _)) = amelie_and_ben(&world).await;
    let good = || booking(&amelie, &ben, start(), Some(peloton()));
    type Breaks = fn(&mut pb::ScheduleCoffeeRequest);
    let cases: [(&str, Breaks); 12] = [
        ("event_id", |r| r.event_id = "coffee".to_owned()),
        ("proposal_id", |r| r.proposal_id = String::new()),
        ("host", |r| r.host = None),
        ("host.member_id", |r| {
            r.host.as_mut().unwrap().member_id = "x".to_owned()
        }),
        ("guest.member_id", |r| r.guest = r.host.clone()),
        ("start_time", |r| r.start_time = None),
        ("end_time", |r| r.end_time = r.start_time),
        ("end_time", |r| {
            let start = r.start_time.unwrap().seconds;
            r.end_time.as_mut().unwrap().seconds = start + 4 * 3600 + 60;
        }),
        ("time_zone", |r| r.time_zone = "Europe/Atlantis".to_owned()),
        ("city", |r| r.city = " ".to_owned()),
        ("venue.name", |r| {
            r.venue.as_mut().unwrap().name = String::new()
        }),
        ("venue.latitude", |r| {
            r.venue.as_mut().unwrap().latitude = 90.5
        }),
    ];
    let mut internal = world.internal().unwrap();
    for (field, breaks) in cases {
        let mut request = good();
        breaks(&mut request);
        let refused = internal.schedule_coffee(request).await;
        invalid_argument_naming(refused, field).unwrap();
    }
    assert!(told(&world, &amelie).await.is_empty());

    // A host who never set a zone: the coffee is in UTC rather than refused for ever.
    let zoneless = pb::ScheduleCoffeeRequest {
        time_zone: String::new(),
        ..good()
    };
    let coffee = schedule(&world, zoneless).await.unwrap();
    assert_eq!(
        get_event(&as_amelie, &coffee.event_id).await.time_zone,
        "UTC"
    );
    world.stop().await.unwrap();
}

async fn only_the_members_service_books_coffees(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let ((amelie, _), (ben, _)) = amelie_and_ben(&world).await;
    let callers = [
        (
            world.internal_with(Bearer::default()),
            Code::Unauthenticated,
        ),
        (
            world.internal_with(Bearer::token(&amelie.access_token)),
            Code::PermissionDenied,
        ),
        (
            world.internal_as(ServiceName::Notifications).unwrap(),
            Code::PermissionDenied,
        ),
    ];
    for (mut client, expected) in callers {
        let request = booking(&amelie, &ben, start(), Some(peloton()));
        assert_eq!(code(client.schedule_coffee(request).await), expected);
    }
    assert!(told(&world, &amelie).await.is_empty());
    world.stop().await.unwrap();
}

async fn after_the_coffee_both_members_are_asked_whether_they_met(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let ((amelie, _), (ben, _)) = amelie_and_ben(&world).await;
    // Connected, at an event this small they would be marked met at once.
    connect(&amelie, &ben).await.unwrap();
    let coffee = schedule(&world, booking(&amelie, &ben, start(), None))
        .await
        .unwrap();

    // Nobody checked in; past the end and the grace the job completes it and sends both.
    let after = start() + Duration::hours(1) + Duration::hours(6) + Duration::minutes(1);
    world.clock.advance(after - world.clock.now());
    assert_eq!(world.events.events.complete_due(after).await.unwrap(), 1);
    let as_ben = world.client(&ben).await.unwrap();
    let done = get_event(&as_ben, &coffee.event_id).await;
    assert_eq!(done.state(), pb::EventState::Completed);
    // Nobody checked them in, and nobody counts them as not having come.
    let summary = attendance_summary(&as_ben, &coffee.event_id).await;
    assert_eq!((summary.checked_in_count, summary.no_show_count), (0, 0));
    for (member, other) in [(&amelie, &ben), (&ben, &amelie)] {
        let (co_attendees, met) = meeting_of(&world, member, &coffee.event_id).await;
        assert_eq!(co_attendees, 1, "{} met {}", member.id, other.id);
        // Each says whether they met: nobody is marked met for them.
        assert!(met.is_empty(), "{met:?}");
        let follow_ups = outbox_notices(&world.members.db, "MEETING_FOLLOW_UP", &member.id).await;
        assert_eq!(follow_ups.len(), 1, "{}", member.id);
    }
    // Recorded once: the next round sends nothing again.
    assert_eq!(
        world
            .events
            .events
            .record_pending_meetings(after)
            .await
            .unwrap(),
        0
    );
    world.stop().await.unwrap();
}

async fn an_erased_member_leaves_no_name_on_a_coffee_and_books_no_more(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, _)) = amelie_and_ben(&world).await;
    let request = booking(&amelie, &ben, start(), Some(peloton()));
    let coffee = schedule(&world, request.clone()).await.unwrap();
    world
        .internal()
        .unwrap()
        .erase_member(pb::EraseMemberRequest {
            member_id: ben.id.clone(),
            erase_time: Some(timestamp(world.clock.now())),
        })
        .await
        .unwrap();
    let e = get_event(&as_amelie, &coffee.event_id).await;
    assert_eq!(e.title, "Coffee");
    assert_eq!(e.confirmed_count, 1);
    // The booking delivered again finds its event; a new one with Ben is refused for good.
    assert!(!schedule(&world, request).await.unwrap().created);
    let refused = schedule(&world, booking(&amelie, &ben, start(), None)).await;
    assert_eq!(code(refused), Code::FailedPrecondition);
    world.stop().await.unwrap();
}

backend_tests!(
    a_coffee_is_made_once_for_its_two_members_and_hidden_from_others,
    both_members_are_reminded_can_check_in_and_have_it_in_their_calendars,
    the_venue_is_suggested_from_past_coffees_in_the_city,
    bad_bookings_name_their_field_and_an_empty_time_zone_is_utc,
    only_the_members_service_books_coffees,
    after_the_coffee_both_members_are_asked_whether_they_met,
    an_erased_member_leaves_no_name_on_a_coffee_and_books_no_more,
);
