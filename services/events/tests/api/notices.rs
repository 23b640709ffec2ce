//! What the events outbox tells people, read back as the relay delivers it: every notice
//! carries the event's facts, and the wait-list, offer and update notices what a person needs
//! to act on them.

use chrono::{DateTime, Duration, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_proto::notifications::v1::notice::Notice as Variant;
use rendezvous_proto::notifications::v1::{EventFacts, Notice};
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{Backend, backend_tests, outbox_notices_keyed, timestamp};

use crate::helpers::{World, morning, offering, published, rsvp};

fn now0() -> DateTime<Utc> {
    morning(2027, 4, 5)
}

/// The facts every notice of the usual event carries, whatever its kind.
fn assert_usual_facts(facts: Option<&EventFacts>, id: &str) {
    let facts = facts.expect("a notice without its event");
    assert_eq!(facts.event_id, id);
    assert_eq!(facts.title, "Café networking — Le Marais");
    assert_eq!(facts.time_zone, "Europe/Paris");
    assert_eq!(facts.venue_name, "Café Saint-Paul");
    assert_eq!(facts.venue_address, "12 rue Saint-Paul, 75004 Paris");
    assert_eq!(facts.city, "Paris");
    assert!(facts.start_time.is_some() && facts.end_time.is_some());
}

fn only(mut notices: Vec<Notice>) -> Variant {
    assert_eq!(notices.len(), 1, "{notices:#?}");
    notices.remove(0).notice.unwrap()
}

async fn a_full_event_tells_each_waiting_member_their_place(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Hana Host").await.unwrap();
    let e = published(&host, now0() + Duration::days(3), 1, Vis::Public).await;
    let mut ids = Vec::new();
    for name in ["Ama", "Ben", "Cleo"] {
        let (member, client) = world.member(name).await.unwrap();
        rsvp(&client, &e.id).await;
        ids.push(member.id);
    }
    let db = &world.events.db;
    match only(outbox_notices_keyed(db, &format!("rsvp:{}:{}:confirmed:", e.id, ids[0])).await) {
        Variant::RsvpConfirmed(n) => assert_usual_facts(n.event.as_ref(), &e.id),
        other => panic!("{other:?}"),
    }
    for (place, id) in [(1, &ids[1]), (2, &ids[2])] {
        match only(outbox_notices_keyed(db, &format!("rsvp:{}:{id}:waitlisted:", e.id)).await) {
            Variant::RsvpWaitlisted(n) => {
                assert_usual_facts(n.event.as_ref(), &e.id);
                assert_eq!(n.position, place);
            }
            other => panic!("{other:?}"),
        }
    }
    world.stop().await.unwrap();
}

async fn an_offer_says_until_when_it_holds_the_seat(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Hana Host").await.unwrap();
    let e = offering(&host, now0() + Duration::days(3), 1).await;
    let (_, first) = world.member("Ama").await.unwrap();
    let (next, second) = world.member("Ben").await.unwrap();
    rsvp(&first, &e.id).await;
    rsvp(&second, &e.id).await;
    first
        .clone()
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap();
    match only(
        outbox_notices_keyed(&world.events.db, &format!("promoted:{}:{}:", e.id, next.id)).await,
    ) {
        Variant::WaitlistOffered(n) => {
            assert_usual_facts(n.event.as_ref(), &e.id);
            let deadline = n.expire_time.unwrap();
            assert_eq!(deadline.seconds, (now0() + Duration::hours(2)).timestamp());
        }
        other => panic!("{other:?}"),
    }
    world.stop().await.unwrap();
}

async fn a_move_says_what_changed_and_a_cancellation_why(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host_member, host) = world.member("Hana Host").await.unwrap();
    let start = now0() + Duration::days(3);
    let e = published(&host, start, 10, Vis::Public).await;
    let (guest, client) = world.member("Ama").await.unwrap();
    rsvp(&client, &e.id).await;
    let later = start + Duration::hours(2);
    host.clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(pb::Event {
                id: e.id.clone(),
                start_time: Some(timestamp(later)),
                end_time: Some(timestamp(later + Duration::minutes(90))),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["start_time".into(), "end_time".into()],
            }),
        })
        .await
        .unwrap();
    let db = &world.events.db;
    match only(outbox_notices_keyed(db, &format!("event-updated:{}:", e.id)).await) {
        Variant::EventUpdated(n) => {
            assert_usual_facts(n.event.as_ref(), &e.id);
            assert_usual_facts(n.previous.as_ref(), &e.id);
            assert!(n.time_changed && !n.venue_changed);
            let before = n.previous.unwrap().start_time.unwrap();
            assert_eq!(before.seconds, start.timestamp());
            assert_eq!(
                n.event.unwrap().start_time.unwrap().seconds,
                later.timestamp()
            );
        }
        other => panic!("{other:?}"),
    }
    host.clone()
        .cancel_event(pb::CancelEventRequest {
            event_id: e.id.clone(),
            reason: "The café is closed for works.".into(),
            etag: String::new(),
        })
        .await
        .unwrap();
    match only(outbox_notices_keyed(db, &format!("event-cancelled:{}:{}", e.id, guest.id)).await) {
        Variant::EventCancelled(n) => {
            assert_usual_facts(n.event.as_ref(), &e.id);
            assert_eq!(n.reason, "The café is closed for works.");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        outbox_notices_keyed(db, &format!("event-cancelled:{}:{}", e.id, host_member.id))
            .await
            .is_empty()
    );
    world.stop().await.unwrap();
}

async fn invitations_and_announcements_name_who_sent_them(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host_member, host) = world.member("Hana Host").await.unwrap();
    let e = published(&host, now0() + Duration::days(3), 10, Vis::Public).await;
    let (guest, client) = world.member("Ama").await.unwrap();
    host.clone()
        .invite_members(pb::InviteMembersRequest {
            event_id: e.id.clone(),
            target: Some(pb::invite_members_request::Target::Members(
                pb::invite_members_request::MemberIds {
                    member_ids: vec![guest.id.clone()],
                },
            )),
        })
        .await
        .unwrap();
    let db = &world.events.db;
    match only(outbox_notices_keyed(db, &format!("invitation:{}:{}", e.id, guest.id)).await) {
        Variant::EventInvitation(n) => {
            assert_usual_facts(n.event.as_ref(), &e.id);
            let inviter = n.inviter.unwrap();
            assert_eq!(inviter.member_id, host_member.id);
            assert_eq!(inviter.display_name, "Hana Host");
        }
        other => panic!("{other:?}"),
    }
    rsvp(&client, &e.id).await;
    host.clone()
        .announce_to_attendees(pb::AnnounceToAttendeesRequest {
            event_id: e.id.clone(),
            message: "We moved to the terrace.".into(),
            include_waitlisted: false,
            request_id: "terrace".into(),
        })
        .await
        .unwrap();
    match only(outbox_notices_keyed(db, &format!("announcement:{}:terrace:", e.id)).await) {
        Variant::EventAnnouncement(n) => {
            assert_usual_facts(n.event.as_ref(), &e.id);
            assert_eq!(n.host.unwrap().display_name, "Hana Host");
            assert_eq!(n.message, "We moved to the terrace.");
        }
        other => panic!("{other:?}"),
    }
    world.stop().await.unwrap();
}

backend_tests!(
    a_full_event_tells_each_waiting_member_their_place,
    an_offer_says_until_when_it_holds_the_seat,
    a_move_says_what_changed_and_a_cancellation_why,
    invitations_and_announcements_name_who_sent_them,
);
