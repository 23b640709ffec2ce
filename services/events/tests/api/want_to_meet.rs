//! Hoping to meet someone at an event: a mark is shown to nobody but its maker until the other
//! marks them too; then both are told, once, and the pair stays mutual. Who may mark whom,
//! and every refusal that could tell a mark apart, over real gRPC on both backends.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_proto::events::v1::RsvpVisibility as Seen;
use rendezvous_proto::notifications::v1::notice::Notice as Variant;
use rendezvous_testkit::{
    Backend, EventClient, TestMember, backend_tests, connect, invalid_argument_naming,
    outbox_count, outbox_keys_and_notices, timestamp,
};
use tonic::Code;

use crate::helpers::{World, block, check_in_member, going, meeting_at, morning, published};

fn now0() -> DateTime<Utc> {
    morning(2027, 5, 3)
}

async fn mark(
    client: &EventClient,
    event_id: &str,
    member: &TestMember,
) -> Result<pb::WantToMeet, tonic::Status> {
    let response = client
        .clone()
        .mark_want_to_meet(pb::MarkWantToMeetRequest {
            event_id: event_id.to_owned(),
            member_id: member.id.clone(),
        })
        .await?;
    Ok(response.into_inner().want_to_meet.unwrap())
}

async fn unmark(client: &EventClient, event_id: &str, member: &TestMember) -> pb::WantToMeet {
    client
        .clone()
        .unmark_want_to_meet(pb::UnmarkWantToMeetRequest {
            event_id: event_id.to_owned(),
            member_id: member.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .want_to_meet
        .unwrap()
}

async fn hopes(client: &EventClient, event_id: &str) -> pb::WantToMeet {
    client
        .clone()
        .list_want_to_meet(pb::ListWantToMeetRequest {
            event_id: event_id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .want_to_meet
        .unwrap()
}

fn ids(members: &[&TestMember]) -> Vec<String> {
    members.iter().map(|m| m.id.clone()).collect()
}

/// The WANT_TO_MEET_MUTUAL notices of `event_id` in the events outbox, as (recipient, whom
/// they name), in the order written.
async fn told(world: &World, event_id: &str) -> Vec<(String, String)> {
    outbox_keys_and_notices(&world.events.db, &format!("want-to-meet:{event_id}:"))
        .await
        .into_iter()
        .map(|(key, notice)| {
            let recipient = key.split(':').nth(2).unwrap().to_owned();
            match notice.notice.unwrap() {
                Variant::WantToMeetMutual(n) => {
                    let facts = n.event.unwrap();
                    assert_eq!(facts.event_id, event_id);
                    assert_eq!(facts.title, "Café networking — Le Marais");
                    (recipient, n.member.unwrap().display_name)
                }
                other => panic!("{other:?}"),
            }
        })
        .collect()
}

/// Every notice events wrote: a one-sided mark must add none.
async fn all_notices(world: &World) -> i64 {
    outbox_count(&world.events.db, "", "").await
}

/// Two days ahead.
fn in_two_days() -> DateTime<Utc> {
    now0() + Duration::days(2)
}

/// A world with Hana's public event from `start` (20 seats) and `names` going to it, their
/// RSVPs seen by all; with Hana.
async fn going_to_one_event<const N: usize>(
    backend: Backend,
    start: DateTime<Utc>,
    names: [&str; N],
) -> (World, pb::Event, TestMember, [(TestMember, EventClient); N]) {
    let world = World::start(backend, now0()).await.unwrap();
    let (hana, host) = world.member("Hana Host").await.unwrap();
    let e = published(&host, start, 20, Vis::Public).await;
    let mut cast = Vec::new();
    for name in names {
        let (member, client) = world.member(name).await.unwrap();
        going(&client, &e.id, Seen::Public).await;
        cast.push((member, client));
    }
    let cast = cast
        .try_into()
        .unwrap_or_else(|_| unreachable!("{N} names"));
    (world, e, hana, cast)
}

async fn two_marks_tell_both_once_and_one_mark_tells_nobody(backend: Backend) {
    let (world, e, _, [(anna, as_anna), (karim, as_karim), (zoe, as_zoe)]) =
        going_to_one_event(backend, in_two_days(), ["Anna", "Karim", "Zoé"]).await;
    let before = all_notices(&world).await;

    // Anna and Zoé hope to meet Karim: nobody hears of it, and Karim sees neither mark.
    let anna_hopes = mark(&as_anna, &e.id, &karim).await.unwrap();
    assert_eq!(anna_hopes.marked_member_ids, ids(&[&karim]));
    assert!(anna_hopes.mutual_member_ids.is_empty());
    assert_eq!(anna_hopes.marks_left, 9);
    mark(&as_zoe, &e.id, &karim).await.unwrap();
    assert_eq!(all_notices(&world).await, before);
    let karims = hopes(&as_karim, &e.id).await;
    assert!(karims.marked_member_ids.is_empty() && karims.mutual_member_ids.is_empty());
    assert_eq!(karims.marks_left, 10);

    // Karim hopes to meet Anna: both are told, each of the other, and nobody of Zoé.
    let karims = mark(&as_karim, &e.id, &anna).await.unwrap();
    assert_eq!(karims.marked_member_ids, ids(&[&anna]));
    assert_eq!(karims.mutual_member_ids, ids(&[&anna]));
    let mut pairs = told(&world, &e.id).await;
    pairs.sort();
    let mut want = vec![
        (karim.id.clone(), "Anna".to_owned()),
        (anna.id.clone(), "Karim".to_owned()),
    ];
    want.sort();
    assert_eq!(pairs, want);
    assert_eq!(all_notices(&world).await, before + 2);
    assert_eq!(
        hopes(&as_anna, &e.id).await.mutual_member_ids,
        ids(&[&karim])
    );
    let zoes = hopes(&as_zoe, &e.id).await;
    assert_eq!(zoes.marked_member_ids, ids(&[&karim]));
    assert!(zoes.mutual_member_ids.is_empty());

    // Marking again, taking the mark back and marking once more tell nobody again; what was
    // said stays said.
    mark(&as_karim, &e.id, &anna).await.unwrap();
    let taken_back = unmark(&as_karim, &e.id, &anna).await;
    assert!(taken_back.marked_member_ids.is_empty());
    assert_eq!(taken_back.mutual_member_ids, ids(&[&anna]));
    assert_eq!(taken_back.marks_left, 10);
    assert_eq!(
        hopes(&as_anna, &e.id).await.mutual_member_ids,
        ids(&[&karim])
    );
    mark(&as_karim, &e.id, &anna).await.unwrap();
    assert_eq!(told(&world, &e.id).await.len(), 2);
    assert_eq!(all_notices(&world).await, before + 2);

    // Zoé's mark never shows in what Karim can read of the event.
    let export = world
        .internal()
        .unwrap()
        .export_member_data(pb::ExportMemberDataRequest {
            member_id: karim.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let text = String::from_utf8(export.data).unwrap();
    assert!(!text.contains(&zoe.id), "{text}");
    let export: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["want_to_meet"][0]["member_id"], anna.id.as_str());
    assert_eq!(
        export["want_to_meet_mutual"][0]["member_id"],
        anna.id.as_str()
    );
    world.stop().await.unwrap();
}

async fn only_a_confirmed_attendee_marks_and_only_attendees_they_see(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Hana Host").await.unwrap();
    let e = published(&host, now0() + Duration::days(2), 30, Vis::Public).await;
    let (anna, as_anna) = world.member("Anna").await.unwrap();
    let (stranger, as_stranger) = world.member("Stranger").await.unwrap();
    let (shy, as_shy) = world.member("Shy").await.unwrap();
    let (close, as_close) = world.member("Close").await.unwrap();
    going(&as_anna, &e.id, Seen::Public).await;
    going(&as_shy, &e.id, Seen::Nobody).await;
    going(&as_close, &e.id, Seen::Connections).await;

    // Not going: refused, whoever the target.
    let refused = mark(&as_stranger, &e.id, &anna).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // Not attending, hidden from Anna, or seen by connections only: one answer for all, so a
    // refusal tells nothing of who is there.
    let mut messages = BTreeSet::new();
    for target in [&stranger, &shy, &close] {
        let status = mark(&as_anna, &e.id, target).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{target:?}: {status:?}");
        messages.insert(status.message().to_owned());
    }
    assert_eq!(messages.len(), 1, "{messages:?}");
    // Once connected, the one seen by connections is there to mark.
    connect(&anna, &close).await.unwrap();
    mark(&as_anna, &e.id, &close).await.unwrap();

    // Bad requests name their field; the caller is not theirs to mark.
    let own = invalid_argument_naming(mark(&as_anna, &e.id, &anna).await, "member_id");
    assert!(own.is_ok(), "{own:?}");
    let bad = as_anna
        .clone()
        .mark_want_to_meet(pb::MarkWantToMeetRequest {
            event_id: "not-an-id".into(),
            member_id: stranger.id.clone(),
        })
        .await;
    assert!(invalid_argument_naming(bad, "event_id").is_ok());
    let bad = as_anna
        .clone()
        .unmark_want_to_meet(pb::UnmarkWantToMeetRequest {
            event_id: e.id.clone(),
            member_id: String::new(),
        })
        .await;
    assert!(invalid_argument_naming(bad, "member_id").is_ok());
    let bad = as_anna
        .clone()
        .list_want_to_meet(pb::ListWantToMeetRequest {
            event_id: "x".into(),
        })
        .await;
    assert!(invalid_argument_naming(bad, "event_id").is_ok());

    // Ten marks at one event, no more (marking one again is no new mark).
    let mut others = Vec::new();
    for i in 0..10 {
        let (member, client) = world.member(&format!("Guest {i}")).await.unwrap();
        going(&client, &e.id, Seen::Public).await;
        others.push(member);
    }
    for other in &others[..9] {
        mark(&as_anna, &e.id, other).await.unwrap();
    }
    let full = mark(&as_anna, &e.id, &others[9]).await.unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted, "{full:?}");
    assert_eq!(mark(&as_anna, &e.id, &close).await.unwrap().marks_left, 0);
    unmark(&as_anna, &e.id, &others[0]).await;
    mark(&as_anna, &e.id, &others[9]).await.unwrap();

    // Once the event is over, no more marks; one's own still read.
    world
        .clock
        .advance(Duration::days(2) + Duration::minutes(91));
    let as_close = world.client(&close).await.unwrap();
    let over = mark(&as_close, &e.id, &anna).await.unwrap_err();
    assert_eq!(over.code(), Code::FailedPrecondition, "{over:?}");
    let as_anna = world.client(&anna).await.unwrap();
    assert_eq!(hopes(&as_anna, &e.id).await.marked_member_ids.len(), 10);
    world.stop().await.unwrap();
}

async fn a_block_ends_the_two_hopes_both_ways(backend: Backend) {
    let (world, e, _, [(anna, as_anna), (karim, as_karim), (nora, as_nora)]) =
        going_to_one_event(backend, in_two_days(), ["Anna", "Karim", "Nora"]).await;
    mark(&as_anna, &e.id, &karim).await.unwrap();
    mark(&as_karim, &e.id, &anna).await.unwrap();
    mark(&as_anna, &e.id, &nora).await.unwrap();
    block(&world, &karim, &anna).await;

    // Neither keeps a mark of the other nor the pair; Anna's other hope stands.
    let annas = hopes(&as_anna, &e.id).await;
    assert_eq!(annas.marked_member_ids, ids(&[&nora]));
    assert!(annas.mutual_member_ids.is_empty());
    let karims = hopes(&as_karim, &e.id).await;
    assert!(karims.marked_member_ids.is_empty() && karims.mutual_member_ids.is_empty());
    // Blocked, each is not there for the other to mark.
    let status = mark(&as_anna, &e.id, &karim).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    // Nora, marked by Anna, marks her back: told as ever.
    mark(&as_nora, &e.id, &anna).await.unwrap();
    assert_eq!(told(&world, &e.id).await.len(), 4);
    world.stop().await.unwrap();
}

async fn an_erased_member_leaves_no_hope_behind(backend: Backend) {
    let (world, e, _, [(anna, as_anna), (karim, as_karim)]) =
        going_to_one_event(backend, in_two_days(), ["Anna", "Karim"]).await;
    mark(&as_anna, &e.id, &karim).await.unwrap();
    mark(&as_karim, &e.id, &anna).await.unwrap();
    world
        .internal()
        .unwrap()
        .erase_member(pb::EraseMemberRequest {
            member_id: karim.id.clone(),
            erase_time: Some(timestamp(world.clock.now())),
        })
        .await
        .unwrap();
    let annas = hopes(&as_anna, &e.id).await;
    assert!(annas.marked_member_ids.is_empty(), "{annas:?}");
    assert!(annas.mutual_member_ids.is_empty(), "{annas:?}");
    world.stop().await.unwrap();
}

/// After the event, the pair who hoped to meet each other are asked first whether they did.
async fn the_pair_who_hoped_to_meet_is_asked_first(backend: Backend) {
    let start = now0() + Duration::minutes(30);
    let (world, e, hana, cast) =
        going_to_one_event(backend, start, ["Anna", "Bea", "Chloé", "Karim"]).await;
    let [(anna, as_anna), _, _, (karim, as_karim)] = &cast;
    let host = world.client(&hana).await.unwrap();
    mark(as_anna, &e.id, karim).await.unwrap();
    mark(as_karim, &e.id, anna).await.unwrap();
    for (member, _) in &cast {
        check_in_member(&host, &e.id, &member.id).await.unwrap();
    }
    world.clock.advance(Duration::hours(2));
    let host = world.client(&hana).await.unwrap();
    host.clone()
        .complete_event(pb::CompleteEventRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap();
    for (member, other) in [(anna, karim), (karim, anna)] {
        let meeting = meeting_at(&world, member, &e.id).await;
        let flags: Vec<(&str, bool)> = meeting
            .co_attendees
            .iter()
            .map(|c| (c.member_id.as_str(), c.hoped_to_meet))
            .collect();
        assert_eq!(flags.len(), 3, "{flags:?}");
        assert_eq!(flags[0], (other.id.as_str(), true), "{flags:?}");
        assert!(flags[1..].iter().all(|(_, hoped)| !hoped), "{flags:?}");
    }
    // Bea hoped nothing and is told nothing of the two.
    let meeting = meeting_at(&world, &cast[1].0, &e.id).await;
    assert!(
        meeting.co_attendees.iter().all(|c| !c.hoped_to_meet),
        "{meeting:?}"
    );
    world.stop().await.unwrap();
}

backend_tests!(
    two_marks_tell_both_once_and_one_mark_tells_nobody,
    only_a_confirmed_attendee_marks_and_only_attendees_they_see,
    a_block_ends_the_two_hopes_both_ways,
    an_erased_member_leaves_no_hope_behind,
    the_pair_who_hoped_to_meet_is_asked_first,
);
