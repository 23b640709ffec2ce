//! Kinds about other members: the welcome, connection requests and acceptances, and what
//! members says after an event (met in person, the follow-up, suggestions to connect).

use chrono::Duration;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;

use crate::checks::Told;
use crate::helpers::{Cast, Person, Plan, World, now0, publish, rsvp};

/// Everyone is welcomed by name.
pub fn welcomes(cast: &Cast, told: &mut Told) {
    for person in cast.everyone() {
        told.expect(person, Kind::Welcome, "").title(person.name);
    }
}

/// Amélie asks Ben and Dan asks Chloé, each with a note; both accept.
pub async fn connections(world: &World, cast: &Cast, told: &mut Told) {
    for (from, to) in [(&cast.amelie, &cast.ben), (&cast.dan, &cast.chloe)] {
        let note = format!("Lovely to meet you, {}!", to.name);
        connect(world, from, to, &note).await;
        told.expect(to, Kind::ConnectionRequested, "")
            .title(from.name)
            .body(from.name)
            .body(note);
        told.expect(from, Kind::ConnectionAccepted, "")
            .title(to.name)
            .body(to.name);
    }
}

/// Amélie and Ben, connected and never met, opt in to coffee (Thursdays 08:30–10:00 in
/// Paris: Ben, who reads times in New York, sets his coffee zone to Paris); the members' round
/// proposes them to each other, and each is told of the other; both accept, and each is told
/// the Thursdays of the next fortnight. Amélie books the first at a café she names: events
/// makes it their private event, and each is told when and where, with the other's name.
/// Returns the event's id.
pub async fn coffee(world: &World, cast: &Cast, told: &mut Told) -> String {
    for person in [&cast.amelie, &cast.ben] {
        person
            .members(world)
            .update_coffee_settings(mpb::UpdateCoffeeSettingsRequest {
                settings: Some(mpb::CoffeeSettings {
                    opted_in: true,
                    availability: vec![mpb::AvailabilityWindow {
                        weekday: pb::Weekday::Thursday.into(),
                        start_time: "08:30".into(),
                        end_time: "10:00".into(),
                    }],
                    time_zone: "Europe/Paris".into(),
                    ..Default::default()
                }),
                update_mask: Some(rendezvous_proto::prost_types::FieldMask {
                    paths: vec!["opted_in".into(), "availability".into(), "time_zone".into()],
                }),
            })
            .await
            .unwrap();
    }
    let round = rendezvous_members::store::Store::new(world.stack.members.db.clone())
        .coffee_round(&Default::default(), world.now())
        .await
        .unwrap();
    assert_eq!(round.proposals.len(), 1, "{round:?}");
    for (to, other) in [(&cast.amelie, &cast.ben), (&cast.ben, &cast.amelie)] {
        told.expect(to, Kind::CoffeeProposed, "")
            .title(other.name)
            .body(other.name)
            .body("Paris");
    }
    for person in [&cast.amelie, &cast.ben] {
        person
            .members(world)
            .respond_to_coffee_proposal(mpb::RespondToCoffeeProposalRequest {
                proposal_id: round.proposals[0].id.to_string(),
                accept: true,
            })
            .await
            .unwrap();
    }
    for (to, other) in [(&cast.amelie, &cast.ben), (&cast.ben, &cast.amelie)] {
        told.expect(to, Kind::CoffeeMatched, "")
            .title(other.name)
            .body(other.name)
            .says([
                "Thursday 8 April 2027 at 08:30",
                "jeudi 8\u{a0}avril 2027 à 8\u{a0}h\u{a0}30",
            ])
            .says([
                "Thursday 15 April 2027 at 08:30",
                "jeudi 15\u{a0}avril 2027 à 8\u{a0}h\u{a0}30",
            ]);
    }
    let booked = book_coffee(world, &cast.amelie, &round.proposals[0].id.to_string()).await;
    for (to, other) in [(&cast.amelie, &cast.ben), (&cast.ben, &cast.amelie)] {
        told.expect(to, Kind::CoffeeScheduled, &booked)
            .title(other.name)
            .body(other.name)
            .details(&booked_coffee());
    }
    booked
}

/// The coffee Amélie books with Ben (Thursday 8 April, 08:30 in Paris): their private event.
pub fn booked_coffee() -> Plan {
    use chrono::TimeZone as _;
    Plan {
        title: "Coffee — Amélie Durand & Ben Carter",
        start: chrono::Utc.with_ymd_and_hms(2027, 4, 8, 6, 30, 0).unwrap(),
        when: [
            "Thursday 8 April 2027 at 08:30",
            "jeudi 8\u{a0}avril 2027 à 8\u{a0}h\u{a0}30",
        ],
        venue: "Café Saint-Paul",
        address: "12 rue Saint-Paul, 75004 Paris",
    }
}

/// `member` books the matched coffee `proposal_id` for its first slot, at Café Saint-Paul;
/// returns the id of its private event, once events has made it (both members see it).
async fn book_coffee(world: &World, member: &Person, proposal_id: &str) -> String {
    let [proposal] = member
        .members(world)
        .list_coffee_proposals(mpb::ListCoffeeProposalsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .proposals
        .try_into()
        .unwrap();
    let first = proposal.slots.first().and_then(|s| s.start_time).unwrap();
    let booked = member
        .members(world)
        .schedule_coffee(mpb::ScheduleCoffeeRequest {
            proposal_id: proposal_id.to_owned(),
            start_time: Some(first),
            venue: Some(pb::Venue {
                name: "Café Saint-Paul".into(),
                address: "12 rue Saint-Paul, 75004 Paris".into(),
                latitude: 48.853,
                longitude: 2.362,
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    let event_id = booked.event_id;
    let event = rendezvous_testkit::eventually("the coffee's event", || async {
        member
            .events(world)
            .get_event(pb::GetEventRequest {
                event_id: event_id.clone(),
            })
            .await
            .ok()
    })
    .await
    .into_inner()
    .event
    .unwrap();
    assert_eq!(event.kind(), pb::EventKind::Coffee);
    assert_eq!(event.visibility(), pb::EventVisibility::InviteOnly);
    assert_eq!(event.start_time, Some(first));
    event_id
}

async fn connect(world: &World, from: &Person, to: &Person, note: &str) {
    let request = from
        .members(world)
        .request_connection(mpb::RequestConnectionRequest {
            member_id: to.id.clone(),
            note: note.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .connection_request
        .unwrap();
    to.members(world)
        .respond_to_connection_request(mpb::RespondToConnectionRequestRequest {
            connection_request_id: request.id,
            accept: true,
        })
        .await
        .unwrap();
}

/// A coffee starting half an hour from now, the check-in already open.
fn meetup() -> Plan {
    Plan {
        title: "Coffee — Montorgueil",
        start: now0() + Duration::minutes(30),
        when: [
            "Monday 5 April 2027 at 11:30",
            "lundi 5\u{a0}avril 2027 à 11\u{a0}h\u{a0}30",
        ],
        venue: "Café Montorgueil",
        address: "52 rue Montorgueil, 75002 Paris",
    }
}

/// Amélie, Ben (connected) and Chloé RSVP to the meetup and the host checks them in; returns
/// the event's id. Completing it comes later, once the clock has passed its start.
pub async fn check_in(world: &World, cast: &Cast, told: &mut Told) -> String {
    let plan = meetup();
    let id = publish(world, &cast.host, plan.event(10)).await;
    for person in [&cast.amelie, &cast.ben, &cast.chloe] {
        assert_eq!(rsvp(world, person, &id).await, pb::RsvpStatus::Confirmed);
        told.about(person, Kind::RsvpConfirmed, &id, &plan);
        cast.host
            .events(world)
            .check_in(pb::CheckInRequest {
                event_id: id.clone(),
                target: Some(pb::check_in_request::Target::MemberId(person.id.clone())),
            })
            .await
            .unwrap();
    }
    // Ben and Chloé hope to meet each other there: both are told. Amélie hopes to meet
    // Chloé, who never learns it.
    for (person, other) in [
        (&cast.ben, &cast.chloe),
        (&cast.amelie, &cast.chloe),
        (&cast.chloe, &cast.ben),
    ] {
        person
            .events(world)
            .mark_want_to_meet(pb::MarkWantToMeetRequest {
                event_id: id.clone(),
                member_id: other.id.clone(),
            })
            .await
            .unwrap();
    }
    for (person, other) in [(&cast.ben, &cast.chloe), (&cast.chloe, &cast.ben)] {
        told.pair(person, Kind::WantToMeetMutual, &id, other)
            .titled(&plan)
            .details(&plan);
    }
    id
}

/// The host completes the meetup: members records who met, marks the connected pair met,
/// suggests that each unconnected pair connects, and asks each attendee whom they met.
pub async fn complete(world: &World, cast: &Cast, id: &str, told: &mut Told) {
    let plan = meetup();
    cast.host
        .events(world)
        .complete_event(pb::CompleteEventRequest {
            event_id: id.to_owned(),
        })
        .await
        .unwrap();
    for (person, met) in [(&cast.amelie, &cast.ben), (&cast.ben, &cast.amelie)] {
        told.pair(person, Kind::MetInPerson, id, met)
            .body(plan.title);
    }
    // Chloé is connected to neither: she and each of them are asked to connect.
    let (chloe, unconnected) = (&cast.chloe, [&cast.amelie, &cast.ben]);
    for (person, met) in unconnected
        .into_iter()
        .flat_map(|o| [(o, chloe), (chloe, o)])
    {
        told.pair(person, Kind::ConnectSuggestion, id, met)
            .titled(&plan);
    }
    for person in [&cast.amelie, &cast.ben, &cast.chloe] {
        told.expect(person, Kind::MeetingFollowUp, id)
            .titled(&plan)
            .says(["2 other people", "2\u{a0}autres personnes"]);
    }
    // Ben and Chloé, who hoped to meet, are each other's first question; Amélie's one-sided
    // hope shows nowhere.
    for (person, hoped) in [
        (&cast.ben, Some(&cast.chloe)),
        (&cast.chloe, Some(&cast.ben)),
        (&cast.amelie, None),
    ] {
        let meetings = person
            .members(world)
            .list_meetings(mpb::ListMeetingsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .meetings;
        let meeting = meetings.iter().find(|m| m.event_id == id).unwrap();
        let first_hoped: Vec<&str> = meeting
            .co_attendees
            .iter()
            .filter(|c| c.hoped_to_meet)
            .map(|c| c.member_id.as_str())
            .collect();
        assert_eq!(
            first_hoped,
            hoped.map(|h| h.id.as_str()).into_iter().collect::<Vec<_>>()
        );
        if let Some(hoped) = hoped {
            assert_eq!(meeting.co_attendees[0].member_id, hoped.id);
        }
    }
}

/// A public apéro in Paris, weeks after the meetup, that Amélie and Ben may both go to.
fn apero() -> Plan {
    use chrono::TimeZone as _;
    Plan {
        title: "Apéro — Canal Saint-Martin",
        start: chrono::Utc
            .with_ymd_and_hms(2027, 6, 24, 16, 30, 0)
            .unwrap(),
        when: [
            "Thursday 24 June 2027 at 18:30",
            "jeudi 24\u{a0}juin 2027 à 18\u{a0}h\u{a0}30",
        ],
        venue: "Le Comptoir Général",
        address: "80 quai de Jemmapes, 75010 Paris",
    }
}

/// Two months after the meetup, Amélie and Ben, who met there, opted in to re-meet nudges
/// after 30 days: the hourly pass asks events for an event both may go to and nudges each
/// about the other with it (each their own nudge: neither is told of the other's).
pub async fn remeet(world: &World, cast: &Cast, told: &mut Told) {
    let (amelie, ben) = (&cast.amelie, &cast.ben);
    for person in [amelie, ben] {
        person
            .members(world)
            .update_remeet_settings(mpb::UpdateRemeetSettingsRequest {
                settings: Some(mpb::RemeetSettings {
                    opted_in: true,
                    after_days: 30,
                }),
            })
            .await
            .unwrap();
    }
    let plan = apero();
    let id = publish(world, &cast.host, plan.event(20)).await;
    let clock = world.stack.members.clock.clone();
    use rendezvous_common::auth::ServiceName;
    let peers = rendezvous_members::peers::Peers::new(
        Some(world.events.channel.clone()),
        None,
        &rendezvous_testkit::service_credentials_at(
            ServiceName::Members,
            ServiceName::Events,
            clock.clone(),
        ),
        &rendezvous_testkit::service_credentials_at(
            ServiceName::Members,
            ServiceName::Notifications,
            clock,
        ),
    );
    let store = rendezvous_members::store::Store::new(world.stack.members.db.clone());
    let nudger = rendezvous_members::remeet::Nudger::new(store, peers, Default::default());
    let pass = nudger.pass(world.now()).await.unwrap();
    assert_eq!(
        (pass.looked_at, pass.nudged, pass.deferred),
        (2, 2, 0),
        "{pass:?}"
    );
    // A fortnight each: the next pass looks at nobody.
    assert_eq!(nudger.pass(world.now()).await.unwrap().looked_at, 0);
    for (person, other) in [(amelie, ben), (ben, amelie)] {
        let nudges = person
            .members(world)
            .list_remeet_nudges(mpb::ListRemeetNudgesRequest {})
            .await
            .unwrap()
            .into_inner()
            .nudges;
        let [nudge] = nudges.try_into().unwrap();
        assert_eq!(nudge.member_id, other.id);
        let Some(mpb::remeet_nudge::Suggestion::Event(event)) = nudge.suggestion else {
            panic!("{} is suggested the apéro", person.name);
        };
        assert_eq!(event.event_id, id);
        told.pair(person, Kind::RemeetNudge, &id, other)
            .body(plan.title)
            .details(&plan)
            .says(["Monday 5 April 2027", "lundi 5\u{a0}avril 2027"]);
    }
}
