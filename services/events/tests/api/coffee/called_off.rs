//! Coffees the members service calls off (`EventInternalService.CancelCoffee`: a block, a
//! removed connection, a deleted account), delivered at least once and in either order with
//! the booking: a coffee not yet started is cancelled and both members are told, without a
//! reason; one that has started is left alone; one called off before it was booked is never
//! made.

use chrono::Duration;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::notifications::v1::notice::Notice as Variant;
use rendezvous_testkit::{
    Backend, TestMember, backend_tests, code, invalid_argument_naming, outbox_notices,
    outbox_notices_keyed, timestamp,
};
use tonic::Code;

use super::{World, amelie_and_ben, booking, peloton, schedule, start, told};
use crate::helpers::{cancel, get_event, try_get_event};

/// members' relay calling off the coffee `booked`.
async fn call_off(
    world: &World,
    booked: &pb::ScheduleCoffeeRequest,
) -> Result<pb::CancelCoffeeResponse, tonic::Status> {
    let request = pb::CancelCoffeeRequest {
        proposal_id: booked.proposal_id.clone(),
        event_id: booked.event_id.clone(),
    };
    let response = world.internal().unwrap().cancel_coffee(request).await?;
    Ok(response.into_inner())
}

/// The EVENT_CANCELLED notices written to `member`.
async fn told_cancelled(world: &World, member: &TestMember) -> Vec<npb::EventCancelled> {
    outbox_notices(&world.events.db, "EVENT_CANCELLED", &member.id)
        .await
        .into_iter()
        .map(|notice| match notice {
            Variant::EventCancelled(n) => n,
            other => panic!("{other:?}"),
        })
        .collect()
}

async fn a_coffee_called_off_is_cancelled_for_both_and_each_is_told_once(backend: Backend) {
    let world = World::start(backend, super::now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, as_ben)) = amelie_and_ben(&world).await;
    let booked = booking(&amelie, &ben, start(), Some(peloton()));
    let coffee = schedule(&world, booked.clone()).await.unwrap();

    assert!(call_off(&world, &booked).await.unwrap().cancelled);
    for client in [&as_amelie, &as_ben] {
        let e = get_event(client, &coffee.event_id).await;
        assert_eq!(e.state(), pb::EventState::Cancelled);
        assert_eq!(e.cancellation_reason, "");
    }
    // Both told, the host too, and neither is told why or by whom.
    for member in [&amelie, &ben] {
        let notices = told_cancelled(&world, member).await;
        assert_eq!(notices.len(), 1, "{notices:#?}");
        assert_eq!(notices[0].reason, "");
        let facts = notices[0].event.as_ref().unwrap();
        assert_eq!(facts.event_id, coffee.event_id);
        assert_eq!(facts.title, "Coffee — Amélie & Ben");
        assert_eq!(facts.start_time, Some(timestamp(start())));
    }

    // Delivered again: nothing changes, nobody is told again.
    assert!(!call_off(&world, &booked).await.unwrap().cancelled);
    let version = get_event(&as_amelie, &coffee.event_id).await.etag;
    // The booking delivered again finds the cancelled event and makes no other.
    let again = schedule(&world, booked.clone()).await.unwrap();
    assert_eq!(
        (again.created, again.event_id.as_str()),
        (false, coffee.event_id.as_str())
    );
    let e = get_event(&as_ben, &coffee.event_id).await;
    assert_eq!((e.state(), e.etag), (pb::EventState::Cancelled, version));
    for member in [&amelie, &ben] {
        assert_eq!(told_cancelled(&world, member).await.len(), 1);
        assert_eq!(told(&world, member).await.len(), 1);
    }

    // The day before, nobody is reminded of it; after its end, nobody is asked who they met.
    let day_before = start() - Duration::days(1);
    world.clock.advance(day_before - world.clock.now());
    let events = &world.events.events;
    assert_eq!(events.send_reminders(day_before).await.unwrap(), 0);
    let prefix = format!("reminder:{}:", coffee.event_id);
    assert!(
        outbox_notices_keyed(&world.events.db, &prefix)
            .await
            .is_empty()
    );
    let after = start() + Duration::days(1);
    world.clock.advance(after - world.clock.now());
    assert_eq!(events.complete_due(after).await.unwrap(), 0);
    world.stop().await.unwrap();
}

async fn a_coffee_called_off_before_it_is_booked_is_never_made(backend: Backend) {
    let world = World::start(backend, super::now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, as_ben)) = amelie_and_ben(&world).await;
    let booked = booking(&amelie, &ben, start(), Some(peloton()));

    // The relay delivers the cancellation first: nothing to cancel yet.
    assert!(!call_off(&world, &booked).await.unwrap().cancelled);
    // The booking, then, makes nothing, and says so without an error (or the relay would
    // retry it for ever); delivered again, the same.
    for _ in 0..2 {
        let late = schedule(&world, booked.clone()).await.unwrap();
        assert!(!late.created);
        assert_eq!(late.event_id, booked.event_id);
        assert_eq!(late.venue, None);
    }
    for client in [&as_amelie, &as_ben] {
        let missing = try_get_event(client, &booked.event_id).await;
        assert_eq!(code(missing), Code::NotFound);
        let mine = client
            .clone()
            .list_my_events(pb::ListMyEventsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(mine.events.is_empty(), "{mine:#?}");
    }
    for member in [&amelie, &ben] {
        assert!(told(&world, member).await.is_empty());
        assert!(told_cancelled(&world, member).await.is_empty());
    }

    // An account deleted before its booking arrives: the booking is answered, not refused.
    let booked = booking(&amelie, &ben, start(), None);
    world
        .internal()
        .unwrap()
        .erase_member(pb::EraseMemberRequest {
            member_id: ben.id.clone(),
            erase_time: Some(timestamp(world.clock.now())),
        })
        .await
        .unwrap();
    assert!(!call_off(&world, &booked).await.unwrap().cancelled);
    let late = schedule(&world, booked.clone()).await.unwrap();
    assert!(!late.created);
    let missing = try_get_event(&as_amelie, &booked.event_id).await;
    assert_eq!(code(missing), Code::NotFound);
    world.stop().await.unwrap();
}

async fn a_coffee_started_completed_or_cancelled_is_left_as_it_is(backend: Backend) {
    let world = World::start(backend, super::now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, _)) = amelie_and_ben(&world).await;
    let started = booking(&amelie, &ben, start(), Some(peloton()));
    let started = (schedule(&world, started.clone()).await.unwrap(), started);
    let later = start() + Duration::days(7);
    let completed = booking(&amelie, &ben, later, None);
    let completed = (
        schedule(&world, completed.clone()).await.unwrap(),
        completed,
    );
    let by_host = booking(&amelie, &ben, later, None);
    let by_host = (schedule(&world, by_host.clone()).await.unwrap(), by_host);
    // Amélie cancels one herself (giving a reason, and Ben is told of it).
    cancel(&as_amelie, &by_host.0.event_id).await.unwrap();

    // The first is under way when members calls it off: the two may be sitting together.
    world
        .clock
        .advance(start() + Duration::minutes(10) - world.clock.now());
    assert!(!call_off(&world, &started.1).await.unwrap().cancelled);
    let as_ben = world.client(&ben).await.unwrap();
    let e = get_event(&as_ben, &started.0.event_id).await;
    assert_eq!(e.state(), pb::EventState::Published);
    // The second is over and completed (and the first, left alone, completes as usual).
    let after = later + Duration::days(1);
    world.clock.advance(after - world.clock.now());
    assert_eq!(world.events.events.complete_due(after).await.unwrap(), 2);
    assert!(!call_off(&world, &completed.1).await.unwrap().cancelled);
    // The third was cancelled already.
    assert!(!call_off(&world, &by_host.1).await.unwrap().cancelled);

    let as_amelie = world.client(&amelie).await.unwrap();
    let states = [
        (&started.0, pb::EventState::Completed, ""),
        (&completed.0, pb::EventState::Completed, ""),
        (&by_host.0, pb::EventState::Cancelled, "rain"),
    ];
    for (coffee, state, reason) in states {
        let e = get_event(&as_amelie, &coffee.event_id).await;
        assert_eq!((e.state(), e.cancellation_reason.as_str()), (state, reason));
    }
    // Amélie was told of nothing; Ben only of the cancel Amélie made.
    assert!(told_cancelled(&world, &amelie).await.is_empty());
    let bens = told_cancelled(&world, &ben).await;
    assert_eq!(bens.len(), 1, "{bens:#?}");
    assert_eq!(
        (
            bens[0].event.as_ref().unwrap().event_id.as_str(),
            bens[0].reason.as_str()
        ),
        (by_host.0.event_id.as_str(), "rain")
    );
    world.stop().await.unwrap();
}

async fn a_member_erased_since_the_booking_is_not_told(backend: Backend) {
    let world = World::start(backend, super::now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, _)) = amelie_and_ben(&world).await;
    let booked = booking(&amelie, &ben, start(), Some(peloton()));
    let coffee = schedule(&world, booked.clone()).await.unwrap();
    world
        .internal()
        .unwrap()
        .erase_member(pb::EraseMemberRequest {
            member_id: ben.id.clone(),
            erase_time: Some(timestamp(world.clock.now())),
        })
        .await
        .unwrap();

    assert!(call_off(&world, &booked).await.unwrap().cancelled);
    let e = get_event(&as_amelie, &coffee.event_id).await;
    assert_eq!(e.state(), pb::EventState::Cancelled);
    assert_eq!(told_cancelled(&world, &amelie).await.len(), 1);
    assert!(told_cancelled(&world, &ben).await.is_empty());
    world.stop().await.unwrap();
}

async fn bad_cancellations_name_their_field_and_remember_nothing(backend: Backend) {
    let world = World::start(backend, super::now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, _)) = amelie_and_ben(&world).await;
    let booked = booking(&amelie, &ben, start(), Some(peloton()));
    let mut internal = world.internal().unwrap();
    type Breaks = fn(&mut pb::CancelCoffeeRequest);
    let cases: [(&str, Breaks); 4] = [
        ("proposal_id", |r| r.proposal_id = String::new()),
        ("proposal_id", |r| r.proposal_id = "coffee".to_owned()),
        ("event_id", |r| r.event_id = String::new()),
        ("event_id", |r| r.event_id = "x".to_owned()),
    ];
    for (field, breaks) in cases {
        let mut request = pb::CancelCoffeeRequest {
            proposal_id: booked.proposal_id.clone(),
            event_id: booked.event_id.clone(),
        };
        breaks(&mut request);
        let refused = internal.cancel_coffee(request).await;
        invalid_argument_naming(refused, field).unwrap();
    }
    // None of them called the coffee off: it is booked as usual.
    let coffee = schedule(&world, booked).await.unwrap();
    assert!(coffee.created);
    let e = get_event(&as_amelie, &coffee.event_id).await;
    assert_eq!(e.state(), pb::EventState::Published);
    world.stop().await.unwrap();
}

backend_tests!(
    a_coffee_called_off_is_cancelled_for_both_and_each_is_told_once,
    a_coffee_called_off_before_it_is_booked_is_never_made,
    a_coffee_started_completed_or_cancelled_is_left_as_it_is,
    a_member_erased_since_the_booking_is_not_told,
    bad_cancellations_name_their_field_and_remember_nothing,
);
