//! A coffee across the three services, from the members' round to the met-in-person edge:
//! proposed, accepted by both, booked as a private event in events, completed by events'
//! clock once it is over, and then each is asked whether they met (even though the two are
//! connected and the event is tiny, a coffee is never marked met for them); two yeses record
//! the meeting.

use chrono::Duration;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;
use rendezvous_testkit::eventually;

use crate::checks::{Told, assert_told_as_written};
use crate::helpers::{Cast, Person, World};
use crate::people;

/// The follow-up of `event_id` as `person` sees it, once members has it.
async fn follow_up(world: &World, person: &Person, event_id: &str) -> mpb::Meeting {
    eventually("the coffee's follow-up", || async {
        person
            .members(world)
            .list_meetings(mpb::ListMeetingsRequest::default())
            .await
            .ok()?
            .into_inner()
            .meetings
            .into_iter()
            .find(|m| m.event_id == event_id)
    })
    .await
}

async fn confirm(
    world: &World,
    person: &Person,
    event_id: &str,
    other: &Person,
) -> mpb::CoAttendee {
    person
        .members(world)
        .confirm_met(mpb::ConfirmMetRequest {
            event_id: event_id.to_owned(),
            member_id: other.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .co_attendee
        .unwrap()
}

async fn met_connections(world: &World, person: &Person) -> Vec<String> {
    person
        .members(world)
        .list_connections(mpb::ListConnectionsRequest {
            met_filter: mpb::MetFilter::Met.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .connections
        .into_iter()
        .map(|c| c.member_id)
        .collect()
}

pub async fn from_the_round_to_met_in_person(world: &World, cast: &mut Cast) {
    // The notices are read in the notification test; here, what the coffee comes to.
    let mut told = Told::default();
    people::connections(world, cast, &mut told).await;
    let event_id = people::coffee(world, cast, &mut told).await;
    let (amelie, ben) = (&cast.amelie, &cast.ben);

    // Both see it among their events; nobody else does.
    for person in [amelie, ben] {
        let mine = person
            .events(world)
            .list_my_events(pb::ListMyEventsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(
            mine.events.iter().any(|e| e.id == event_id),
            "{} lists the coffee",
            person.name
        );
    }
    let stranger = cast
        .chloe
        .events(world)
        .get_event(pb::GetEventRequest {
            event_id: event_id.clone(),
        })
        .await;
    assert_eq!(
        stranger.map(drop).unwrap_err().code(),
        tonic::Code::NotFound
    );

    // It is in Ben's calendar like any event.
    let ics = ben
        .events(world)
        .export_event_calendar(pb::ExportEventCalendarRequest {
            event_id: event_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .ics;
    let ics = String::from_utf8(ics).unwrap();
    assert!(ics.contains("Café Saint-Paul"), "{ics}");
    assert!(ics.contains("DTSTART"), "{ics}");

    // Thursday 8 April 2027, 08:40 in Paris: Amélie, who booked it, hosts it; Ben checks in
    // with her code.
    let plan = people::booked_coffee();
    world.advance(plan.start + Duration::minutes(10) - world.now());
    cast.sign_in_again(world).await;
    let (amelie, ben) = (&cast.amelie, &cast.ben);
    let code = amelie
        .events(world)
        .get_check_in_code(pb::GetCheckInCodeRequest {
            event_id: event_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .code;
    ben.events(world)
        .check_in(pb::CheckInRequest {
            event_id: event_id.clone(),
            target: Some(pb::check_in_request::Target::Code(code)),
        })
        .await
        .unwrap();

    // The afternoon after: events' clock completes the coffee and tells members who was
    // there (both, checked in or not: a coffee has nobody else to check them in).
    world.advance(Duration::hours(8));
    cast.sign_in_again(world).await;
    let (amelie, ben) = (&cast.amelie, &cast.ben);
    assert!(world.events.events.complete_due(world.now()).await.unwrap() >= 1);

    for (me, other) in [(amelie, ben), (ben, amelie)] {
        let meeting = follow_up(world, me, &event_id).await;
        let [pair] = meeting.co_attendees.try_into().unwrap();
        assert_eq!(pair.member_id, other.id);
        assert!(pair.connected && !pair.met, "{pair:?}: asked, not assumed");
    }
    assert!(!met_connections(world, amelie).await.contains(&ben.id));

    let one_yes = confirm(world, amelie, &event_id, ben).await;
    assert!(one_yes.confirmed_by_me && !one_yes.met, "{one_yes:?}");
    let two_yeses = confirm(world, ben, &event_id, amelie).await;
    assert!(two_yeses.met, "{two_yeses:?}");
    assert!(met_connections(world, amelie).await.contains(&ben.id));
    assert!(met_connections(world, ben).await.contains(&amelie.id));
}

/// Ben blocks Amélie after she booked their coffee: members calls it off in events, which
/// cancels the event and tells both, without a reason (nobody learns who ended it), and no
/// reminder follows.
pub async fn a_block_after_the_booking_calls_it_off_for_both(world: &World, cast: &mut Cast) {
    let mut told = Told::default();
    people::welcomes(cast, &mut told);
    people::connections(world, cast, &mut told).await;
    let event_id = people::coffee(world, cast, &mut told).await;
    let (amelie, ben) = (&cast.amelie, &cast.ben);
    ben.members(world)
        .block_member(mpb::BlockMemberRequest {
            member_id: amelie.id.clone(),
        })
        .await
        .unwrap();
    let cancelled = eventually("the coffee called off", || async {
        let event = amelie
            .events(world)
            .get_event(pb::GetEventRequest {
                event_id: event_id.clone(),
            })
            .await
            .ok()?
            .into_inner()
            .event?;
        (event.state() == pb::EventState::Cancelled).then_some(event)
    })
    .await;
    assert!(cancelled.cancellation_reason.is_empty(), "{cancelled:?}");
    let plan = people::booked_coffee();
    for person in [amelie, ben] {
        told.expect(person, Kind::EventCancelled, &event_id)
            .titled(&plan);
    }
    // The day before, no reminder of it goes out.
    world.advance(plan.start - Duration::hours(23) - world.now());
    assert_eq!(
        world
            .events
            .events
            .send_reminders(world.now())
            .await
            .unwrap(),
        0
    );
    cast.sign_in_again(world).await;
    assert_told_as_written(world, cast, &told).await;
}
