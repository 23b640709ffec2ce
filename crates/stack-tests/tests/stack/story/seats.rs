//! Steps 2 to 4: the chapter, the café, the invitations, and 25 answers for 20 seats.

use chrono::Duration;
use futures::future::join_all;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{create_chapter, create_event, publish_event, timestamp};

use super::{JOINERS, Network, Seats, TITLE, end, first_start, rsvp, summary, venue};
use crate::helpers::World;
use crate::ledger::{Ledger, paris};

/// Anna starts "Rendezvous Paris", which the [`JOINERS`] join, and schedules the café in it;
/// its members are told. Karim will help her check people in. Returns the chapter and the
/// café.
pub(super) async fn anna_schedules_the_cafe(
    world: &World,
    net: &Network,
    ledger: &mut Ledger,
) -> (pb::Chapter, String) {
    let chapter = create_chapter(
        &net.anna.chapters(world),
        pb::Chapter {
            name: "Rendezvous Paris".to_owned(),
            city: "Paris".to_owned(),
            time_zone: "Europe/Paris".to_owned(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let joiners = JOINERS.map(|name| net.named(name));
    for joiner in joiners {
        joiner
            .chapters(world)
            .join_chapter(pb::JoinChapterRequest {
                chapter_id: chapter.id.clone(),
            })
            .await
            .unwrap();
    }

    let events = net.anna.events(world);
    let draft = create_event(
        &events,
        pb::Event {
            chapter_id: chapter.id.clone(),
            title: TITLE.to_owned(),
            description: "Coffee and introductions before work.".to_owned(),
            kind: pb::EventKind::Coffee.into(),
            venue: Some(venue()),
            city: "Paris".to_owned(),
            start_time: Some(timestamp(first_start())),
            end_time: Some(timestamp(end())),
            time_zone: "Europe/Paris".to_owned(),
            capacity: 20,
            visibility: pb::EventVisibility::Chapter.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let cafe = draft.id;
    ledger.event(&cafe, "the café");
    publish_event(&events, &cafe).await.unwrap();
    let told = format!("Rendezvous Paris {}", paris(first_start()));
    for joiner in joiners {
        ledger.expect(joiner, Kind::ChapterNewEvent, &cafe, None, told.clone());
    }
    events
        .clone()
        .add_cohost(pb::AddCohostRequest {
            event_id: cafe.clone(),
            member_id: net.named("Karim").id.clone(),
            role: pb::CohostRole::CheckInOnly.into(),
        })
        .await
        .unwrap();
    (chapter, cafe)
}

/// Élise and Priya want no invitation emails; Anna invites her connections in Paris, not
/// Lena in Lyon nor Olivier, who is not a connection. Each is told in their language.
pub(super) async fn anna_invites_her_paris_connections(
    world: &World,
    net: &Network,
    cafe: &str,
    ledger: &mut Ledger,
) {
    for name in ["Élise", "Priya"] {
        net.named(name)
            .inbox(world)
            .update_preferences(npb::UpdatePreferencesRequest {
                preferences: Some(npb::Preferences {
                    channel_preferences: vec![npb::ChannelPreference {
                        kind: Kind::EventInvitation.into(),
                        channel: npb::Channel::Email.into(),
                        enabled: false,
                    }],
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["channel_preferences".to_owned()],
                }),
            })
            .await
            .unwrap();
    }
    let invited = net
        .anna
        .events(world)
        .invite_members(pb::InviteMembersRequest {
            event_id: cafe.to_owned(),
            target: Some(pb::invite_members_request::Target::AllConnections(
                pb::invite_members_request::AllConnections {
                    only_in_event_city: true,
                },
            )),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(invited.invited_count, 24);
    for person in &net.paris {
        ledger.expect(
            person,
            Kind::EventInvitation,
            cafe,
            Some(&net.anna),
            paris(first_start()),
        );
    }
}

/// Anna answers first, then Bruno, Chloé and Karim; eighteen at once; three more after the
/// rush. Exactly 20 hold seats, five wait in the order they came. One who got a seat then
/// cancels: the first in line is promoted.
pub(super) async fn twenty_five_answer_within_a_minute(
    world: &World,
    net: &Network,
    cafe: &str,
    ledger: &mut Ledger,
) -> Seats {
    let public = pb::RsvpVisibility::Public;
    let mut answers = Vec::new();
    for person in [&net.anna, &net.paris[0], &net.paris[1], &net.paris[2]] {
        answers.push((person, rsvp(world, person, cafe, public).await));
        world.advance(Duration::seconds(5));
    }
    let rush = &net.paris[3..21];
    let rushed = join_all(rush.iter().map(|p| rsvp(world, p, cafe, public))).await;
    answers.extend(rush.iter().zip(rushed));
    for person in &net.paris[21..] {
        world.advance(Duration::seconds(10));
        answers.push((person, rsvp(world, person, cafe, public).await));
    }

    let mut seats = Seats {
        confirmed: Vec::new(),
        waiting: vec![String::new(); 5],
    };
    for (person, answer) in &answers {
        match answer.status() {
            pb::RsvpStatus::Confirmed => {
                seats.confirmed.push(person.id.clone());
                ledger.expect(
                    person,
                    Kind::RsvpConfirmed,
                    cafe,
                    None,
                    paris(first_start()),
                );
            }
            pb::RsvpStatus::Waitlisted => {
                let place = answer.waitlist_position;
                let slot = usize::try_from(place - 1).unwrap();
                assert!(seats.waiting[slot].is_empty(), "two at place {place}");
                seats.waiting[slot] = person.id.clone();
                let detail = format!("{}, place {place}", paris(first_start()));
                ledger.expect(person, Kind::RsvpWaitlisted, cafe, None, detail);
            }
            other => panic!("{} got {other:?}", person.name),
        }
    }
    assert_eq!(seats.confirmed.len(), 20, "never more than the capacity");
    // The early four are seated; the three after the rush wait at places 3, 4 and 5.
    assert_eq!(
        seats.confirmed[..4],
        answers[..4]
            .iter()
            .map(|(p, _)| p.id.clone())
            .collect::<Vec<_>>()[..]
    );
    let late: Vec<String> = net.paris[21..].iter().map(|p| p.id.clone()).collect();
    assert_eq!(seats.waiting[2..], late[..]);
    let counts = summary(world, &net.anna, cafe).await;
    assert_eq!((counts.confirmed_count, counts.waitlisted_count), (20, 5));

    // The first of the rush to get a seat cancels; the first in line takes it.
    let leaver = answers[4..]
        .iter()
        .find(|(_, a)| a.status() == pb::RsvpStatus::Confirmed)
        .map(|(p, _)| *p)
        .unwrap();
    leaver
        .events(world)
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: cafe.to_owned(),
        })
        .await
        .unwrap();
    let promoted = seats.waiting.remove(0);
    seats.confirmed.retain(|id| *id != leaver.id);
    seats.confirmed.push(promoted.clone());
    let promoted = net.by_id(&promoted);
    ledger.expect(
        promoted,
        Kind::WaitlistPromoted,
        cafe,
        None,
        paris(first_start()),
    );
    let counts = summary(world, &net.anna, cafe).await;
    assert_eq!((counts.confirmed_count, counts.waitlisted_count), (20, 4));
    let attendees = net
        .anna
        .events(world)
        .list_attendees(pb::ListAttendeesRequest {
            event_id: cafe.to_owned(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .attendees;
    let mut line: Vec<(i32, String)> = attendees
        .iter()
        .filter(|a| a.status() == pb::RsvpStatus::Waitlisted)
        .map(|a| (a.waitlist_position, a.member_id.clone()))
        .collect();
    line.sort();
    let expected_line: Vec<(i32, String)> = (1..).zip(seats.waiting.iter().cloned()).collect();
    assert_eq!(line, expected_line, "the line moved up by one");
    seats
}
