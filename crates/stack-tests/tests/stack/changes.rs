//! Kinds about an event as a whole: a new event in the recipient's chapter, the host's
//! invitation and announcement, a change of time and venue, and the cancellation.

use chrono::{Duration, TimeZone as _, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{create_chapter, invite_members, timestamp};

use crate::checks::Told;
use crate::helpers::{Cast, Plan, World, publish, rsvp};

fn coffee() -> Plan {
    Plan {
        title: "Café networking — Le Marais",
        start: Utc.with_ymd_and_hms(2027, 4, 8, 6, 30, 0).unwrap(),
        when: [
            "Thursday 8 April 2027 at 08:30",
            "jeudi 8\u{a0}avril 2027 à 8\u{a0}h\u{a0}30",
        ],
        venue: "Café Saint-Paul",
        address: "12 rue Saint-Paul, 75004 Paris",
    }
}

/// The same coffee, moved to Friday evening at another café.
fn moved() -> Plan {
    Plan {
        start: Utc.with_ymd_and_hms(2027, 4, 9, 17, 0, 0).unwrap(),
        when: [
            "Friday 9 April 2027 at 19:00",
            "vendredi 9\u{a0}avril 2027 à 19\u{a0}h\u{a0}00",
        ],
        venue: "Le Peloton Café",
        address: "17 rue du Pont Louis-Philippe, 75004 Paris",
        ..coffee()
    }
}

const CHAPTER: &str = "Rendezvous Paris";
const ANNOUNCEMENT: &str = "We have the terrace: look for the green umbrellas.";
const REASON: &str = "The café is closed for works.";

/// The host's chapter, which Amélie and Ben join.
async fn chapter(world: &World, cast: &Cast) -> String {
    let chapter = pb::Chapter {
        name: CHAPTER.to_owned(),
        city: "Paris".to_owned(),
        time_zone: "Europe/Paris".to_owned(),
        ..Default::default()
    };
    let host = cast.host.chapters(world);
    let id = create_chapter(&host, chapter).await.unwrap().id;
    for person in [&cast.amelie, &cast.ben] {
        person
            .chapters(world)
            .join_chapter(pb::JoinChapterRequest {
                chapter_id: id.clone(),
            })
            .await
            .unwrap();
    }
    id
}

/// The life of one coffee in the chapter, told to Amélie and Ben: published, an invitation,
/// their RSVPs, an announcement, a move to another day and café, and its cancellation; the
/// chapter's id.
pub async fn life_of_an_event(world: &World, cast: &Cast, told: &mut Told) -> String {
    let (plan, later) = (coffee(), moved());
    let mut event = plan.event(10);
    let chapter_id = chapter(world, cast).await;
    event.chapter_id.clone_from(&chapter_id);
    let id = publish(world, &cast.host, event).await;
    let guests = [&cast.amelie, &cast.ben];
    for person in guests {
        told.about(person, Kind::ChapterNewEvent, &id, &plan)
            .title(CHAPTER)
            .body(CHAPTER);
    }

    let host = cast.host.events(world);
    let ids = guests.iter().map(|p| p.id.clone()).collect();
    invite_members(&host, &id, ids).await.unwrap();
    for person in guests {
        told.about(person, Kind::EventInvitation, &id, &plan)
            .body(cast.host.name);
        assert_eq!(rsvp(world, person, &id).await, pb::RsvpStatus::Confirmed);
        told.about(person, Kind::RsvpConfirmed, &id, &plan);
    }

    host.clone()
        .announce_to_attendees(pb::AnnounceToAttendeesRequest {
            event_id: id.clone(),
            message: ANNOUNCEMENT.to_owned(),
            include_waitlisted: false,
            request_id: "terrace".to_owned(),
        })
        .await
        .unwrap();
    for person in guests {
        told.about(person, Kind::EventAnnouncement, &id, &plan)
            .body(cast.host.name)
            .body(ANNOUNCEMENT);
    }

    host.clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(pb::Event {
                id: id.clone(),
                start_time: Some(timestamp(later.start)),
                end_time: Some(timestamp(later.start + Duration::minutes(90))),
                venue: Some(later.venue()),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: ["start_time", "end_time", "venue"]
                    .map(str::to_owned)
                    .to_vec(),
            }),
        })
        .await
        .unwrap();
    for person in guests {
        // The new time and venue, and the old ones they replace.
        told.about(person, Kind::EventUpdated, &id, &later)
            .says(plan.when)
            .body(plan.venue)
            .body(plan.address);
    }

    host.clone()
        .cancel_event(pb::CancelEventRequest {
            event_id: id.clone(),
            reason: REASON.to_owned(),
            etag: String::new(),
        })
        .await
        .unwrap();
    for person in guests {
        told.about(person, Kind::EventCancelled, &id, &later)
            .body(REASON);
    }
    chapter_id
}

/// Two months without an event (its only one was cancelled): the chapter's organisers, the
/// host and Amélie (made one), are told it has gone quiet, each once. Moves the clock on: sign
/// in again after.
pub async fn quiet_chapter(world: &World, cast: &Cast, chapter_id: &str, told: &mut Told) {
    cast.host
        .chapters(world)
        .add_organizer(pb::AddOrganizerRequest {
            chapter_id: chapter_id.to_owned(),
            member_id: cast.amelie.id.clone(),
        })
        .await
        .unwrap();
    world.advance(Duration::days(61));
    let events = &world.events.events;
    assert_eq!(events.tell_quiet_chapters(world.now()).await.unwrap(), 1);
    assert_eq!(events.tell_quiet_chapters(world.now()).await.unwrap(), 0);
    for person in [&cast.host, &cast.amelie] {
        told.expect(person, Kind::ChapterDormant, "")
            .title(CHAPTER)
            .says(["Its 3 members are waiting", "Ses 3\u{a0}membres attendent"]);
    }
}
