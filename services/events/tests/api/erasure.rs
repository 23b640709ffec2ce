//! A deleted member's part of events, erased when members' outbox says so: seats freed and the
//! wait-list promoted, feeds revoked, invitations and roles dropped, events they host alone
//! cancelled with everyone told; and the export of what events holds of a member.

use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_proto::events::v1::event_internal_service_client::EventInternalServiceClient;
use rendezvous_testkit::{
    Backend, backend_tests, code, invalid_argument_naming, outbox_count, timestamp,
};
use tonic::Code;

use crate::helpers::{
    World, add_cohost, create_feed, feed_path, get_event, http_get, invite, morning, paris_chapter,
    published, rsvp,
};

fn erase(member_id: &str, world: &World) -> pb::EraseMemberRequest {
    pb::EraseMemberRequest {
        member_id: member_id.to_owned(),
        erase_time: Some(timestamp(world.clock.now())),
    }
}

async fn erasing_a_member_frees_their_seat_and_drops_what_is_theirs(backend: Backend) {
    let world = World::start(backend, morning(2030, 3, 1)).await.unwrap();
    let (anna, as_anna) = world.member("Anna").await.unwrap();
    let (bruno, as_bruno) = world.member("Bruno").await.unwrap();
    let (chloe, as_chloe) = world.member("Chloé").await.unwrap();
    let start = morning(2030, 3, 10);

    // Bruno's full event: Anna holds the seat, Chloé waits for it; Anna is invited to another.
    let full = published(&as_bruno, start, 1, Vis::Public).await;
    rsvp(&as_anna, &full.id).await;
    assert_eq!(
        rsvp(&as_chloe, &full.id).await.status(),
        pb::RsvpStatus::Waitlisted
    );
    let other = published(&as_bruno, start, 10, Vis::InviteOnly).await;
    invite(&as_bruno, &other.id, &[&anna]).await;
    // Anna hosts one event alone (Chloé is going) and one with Bruno as co-host.
    let alone = published(&as_anna, start, 10, Vis::Public).await;
    rsvp(&as_chloe, &alone.id).await;
    let shared = published(&as_anna, start, 10, Vis::Public).await;
    add_cohost(&as_anna, &shared.id, &bruno, pb::CohostRole::Full).await;
    // Anna organises a chapter Chloé belongs to; she has a calendar feed.
    let chapters_anna = world.events.client_with_token(&anna.access_token);
    let chapter = paris_chapter(&chapters_anna).await;
    world
        .events
        .client_with_token(&chloe.access_token)
        .join_chapter(pb::JoinChapterRequest {
            chapter_id: chapter.id.clone(),
        })
        .await
        .unwrap();
    let feed = create_feed(&as_anna).await;
    assert_eq!(
        http_get(world.events.feed_addr, &feed_path(&feed)).await.0,
        200
    );

    let mut internal = world.internal().unwrap();
    let erased = internal
        .erase_member(erase(&anna.id, &world))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        erased,
        pb::EraseMemberResponse {
            cancelled_rsvp_count: 1,
            cancelled_event_count: 1,
            revoked_feed_count: 1,
            dropped_invitation_count: 1,
            dropped_chapter_role_count: 1,
        }
    );

    // Her seat went to Chloé, who is told; the event she hosted alone is cancelled, and its
    // attendee told; the shared one is Bruno's now.
    let promoted = as_chloe
        .clone()
        .get_rsvp(pb::GetRsvpRequest {
            event_id: full.id.clone(),
            member_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap();
    assert_eq!(promoted.status(), pb::RsvpStatus::Confirmed);
    let db = &world.events.db;
    assert_eq!(
        outbox_count(
            db,
            &format!("event-cancelled:{}:{}", alone.id, chloe.id),
            ""
        )
        .await,
        1
    );
    assert_eq!(
        get_event(&as_chloe, &alone.id).await.state(),
        pb::EventState::Cancelled
    );
    assert_eq!(get_event(&as_bruno, &shared.id).await.host_id, bruno.id);
    // Chloé organises the chapter now; Anna is in it no more.
    let kept = world
        .events
        .client_with_token(&chloe.access_token)
        .get_chapter(pb::GetChapterRequest {
            chapter_id: chapter.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .chapter
        .unwrap();
    assert_eq!(kept.organizer_ids, std::slice::from_ref(&chloe.id));
    // Her feed serves nothing, and her token opens nothing.
    assert_eq!(
        http_get(world.events.feed_addr, &feed_path(&feed)).await.0,
        404
    );
    let refused = as_anna
        .clone()
        .get_event(pb::GetEventRequest {
            event_id: full.id.clone(),
        })
        .await;
    assert_eq!(code(refused), Code::Unauthenticated);

    // At least once: delivered again, it changes nothing.
    let again = internal
        .erase_member(erase(&anna.id, &world))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, pb::EraseMemberResponse::default());
    world.stop().await.unwrap();
}

async fn erasure_and_export_are_for_services_only_and_check_their_input(backend: Backend) {
    let world = World::start(backend, morning(2030, 3, 1)).await.unwrap();
    let (anna, as_anna) = world.member("Anna").await.unwrap();
    let (bruno, as_bruno) = world.member("Bruno").await.unwrap();
    let event = published(&as_bruno, morning(2030, 3, 10), 10, Vis::Public).await;
    rsvp(&as_anna, &event.id).await;

    // Bruno, signed in, is no service: he can neither erase nor export Anna.
    let mut as_member = EventInternalServiceClient::with_interceptor(
        world.events.channel.clone(),
        rendezvous_testkit::Bearer::token(&bruno.access_token),
    );
    assert_eq!(
        code(as_member.erase_member(erase(&anna.id, &world)).await),
        Code::PermissionDenied
    );
    let export = pb::ExportMemberDataRequest {
        member_id: anna.id.clone(),
    };
    assert_eq!(
        code(as_member.export_member_data(export.clone()).await),
        Code::PermissionDenied
    );

    let mut internal = world.internal().unwrap();
    invalid_argument_naming(
        internal.erase_member(erase("anna", &world)).await,
        "member_id",
    )
    .unwrap();
    let timeless = pb::EraseMemberRequest {
        erase_time: None,
        ..erase(&anna.id, &world)
    };
    invalid_argument_naming(internal.erase_member(timeless).await, "erase_time").unwrap();
    // Nothing was erased by the refused calls.
    let going = as_anna
        .clone()
        .get_rsvp(pb::GetRsvpRequest {
            event_id: event.id.clone(),
            member_id: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        going.into_inner().rsvp.unwrap().status(),
        pb::RsvpStatus::Confirmed
    );

    let part = internal
        .export_member_data(export)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(part.content_type, "application/json");
    let json: serde_json::Value = serde_json::from_slice(&part.data).unwrap();
    let rsvps = json["rsvps"].as_array().unwrap();
    assert_eq!(rsvps.len(), 1, "{json}");
    assert_eq!(rsvps[0]["event_id"], event.id);
    assert_eq!(rsvps[0]["status"], "confirmed");
    assert_eq!(json["hosted_events"], serde_json::json!([]));
    let bruno_part = internal
        .export_member_data(pb::ExportMemberDataRequest {
            member_id: bruno.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let bruno_json: serde_json::Value = serde_json::from_slice(&bruno_part.data).unwrap();
    assert_eq!(bruno_json["hosted_events"][0]["id"], event.id);
    assert!(
        !bruno_json.to_string().contains(&anna.id),
        "nothing of Anna's"
    );
    world.stop().await.unwrap();
}

backend_tests!(
    erasing_a_member_frees_their_seat_and_drops_what_is_theirs,
    erasure_and_export_are_for_services_only_and_check_their_input,
);
