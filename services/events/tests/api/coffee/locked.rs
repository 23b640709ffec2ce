//! A booked coffee stays the two members' private coffee: its host may not edit it, invite
//! anyone to it or give it co-hosts (FAILED_PRECONDITION, nothing written; it changes by being
//! booked again in MemberService), while everything else the two do with it — reading it,
//! check-in, announcing, completing it, cancelling it or an RSVP to it — works as for any
//! event.

use chrono::Duration;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{Backend, backend_tests, code, outbox_notices_keyed, timestamp};
use tonic::{Code, Status};

use super::{World, amelie_and_ben, booking, now0, peloton, schedule, start};
use crate::helpers::{
    cancel, check_in_code, check_in_code_of, create, event, get_event, publish,
    rotate_check_in_code, try_get_event, update_title,
};

/// Asserts that `result` is the refusal of reshaping a coffee: FAILED_PRECONDITION, reason
/// FAILED_PRECONDITION, saying how a coffee is changed.
fn assert_coffee_locked<T: std::fmt::Debug>(what: &str, result: Result<T, Status>) {
    let status = result.expect_err(what);
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "{what}: {status:?}"
    );
    assert_eq!(
        rendezvous_common::error::error_reason(&status).as_deref(),
        Some("FAILED_PRECONDITION"),
        "{what}: {status:?}"
    );
    assert!(
        status
            .message()
            .contains("booking it again in MemberService"),
        "{what}: {status:?}"
    );
}

/// UpdateEvent of the masked `paths` of `patch`.
async fn update(
    client: &rendezvous_testkit::EventClient,
    patch: pb::Event,
    paths: &[&str],
) -> Result<pb::Event, Status> {
    let request = pb::UpdateEventRequest {
        event: Some(patch),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|&p| p.to_owned()).collect(),
        }),
    };
    let response = client.clone().update_event(request).await?;
    Ok(response.into_inner().event.unwrap())
}

async fn a_coffee_is_not_edited_shared_or_cohosted_and_nothing_is_written(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, as_ben)) = amelie_and_ben(&world).await;
    let (cleo, as_cleo) = world.member("Cléo").await.unwrap();
    let coffee = schedule(&world, booking(&amelie, &ben, start(), Some(peloton())))
        .await
        .unwrap();
    let id = coffee.event_id.clone();
    let before = get_event(&as_amelie, &id).await;

    // UpdateEvent, whatever it changes, with or without the etag the host read.
    let later = start() + Duration::hours(2);
    let edits: [(&str, pb::Event, &[&str]); 5] = [
        (
            "made public",
            pb::Event {
                visibility: pb::EventVisibility::Public.into(),
                ..Default::default()
            },
            &["visibility"],
        ),
        (
            "more seats",
            pb::Event {
                capacity: 10,
                ..Default::default()
            },
            &["capacity"],
        ),
        (
            "retitled with its etag",
            pb::Event {
                title: "Open coffee".to_owned(),
                etag: before.etag.clone(),
                ..Default::default()
            },
            &["title"],
        ),
        (
            "moved",
            pb::Event {
                start_time: Some(timestamp(later)),
                end_time: Some(timestamp(later + Duration::hours(1))),
                ..Default::default()
            },
            &["start_time", "end_time"],
        ),
        (
            "approval required",
            pb::Event {
                approval_required: true,
                ..Default::default()
            },
            &["approval_required"],
        ),
    ];
    for (what, patch, paths) in edits {
        let patch = pb::Event {
            id: id.clone(),
            ..patch
        };
        assert_coffee_locked(what, update(&as_amelie, patch, paths).await);
    }

    // Invitations, to anyone by any target.
    let targets = [
        pb::invite_members_request::Target::Members(pb::invite_members_request::MemberIds {
            member_ids: vec![cleo.id.clone()],
        }),
        pb::invite_members_request::Target::AllConnections(
            pb::invite_members_request::AllConnections::default(),
        ),
    ];
    for target in targets {
        let request = pb::InviteMembersRequest {
            event_id: id.clone(),
            target: Some(target),
        };
        assert_coffee_locked("invite", as_amelie.clone().invite_members(request).await);
    }

    // Co-hosts: neither added (a third member or the other of the two, in either role) nor
    // removed.
    for (member, role) in [
        (&cleo, pb::CohostRole::Full),
        (&cleo, pb::CohostRole::CheckInOnly),
        (&ben, pb::CohostRole::Full),
    ] {
        let request = pb::AddCohostRequest {
            event_id: id.clone(),
            member_id: member.id.clone(),
            role: role.into(),
        };
        assert_coffee_locked("add co-host", as_amelie.clone().add_cohost(request).await);
    }
    let request = pb::RemoveCohostRequest {
        event_id: id.clone(),
        member_id: ben.id.clone(),
    };
    assert_coffee_locked(
        "remove co-host",
        as_amelie.clone().remove_cohost(request).await,
    );

    // Only the host learns it is a coffee: the other member may not manage it at all, a third
    // does not know it exists.
    let retitle = pb::Event {
        id: id.clone(),
        title: "Ours".to_owned(),
        ..Default::default()
    };
    assert_eq!(
        code(update(&as_ben, retitle.clone(), &["title"]).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code(update(&as_cleo, retitle, &["title"]).await),
        Code::NotFound
    );

    // Nothing was written: the event as it was (version, co-hosts, seats, visibility), still
    // hidden from Cléo, nobody invited or told.
    for client in [&as_amelie, &as_ben] {
        assert_eq!(get_event(client, &id).await, before);
    }
    assert!(before.cohosts.is_empty(), "{before:#?}");
    assert_eq!(code(try_get_event(&as_cleo, &id).await), Code::NotFound);
    let mine = as_cleo
        .clone()
        .list_my_events(pb::ListMyEventsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(mine.events.is_empty(), "{mine:#?}");
    let db = &world.events.db;
    for prefix in [format!("invitation:{id}:"), format!("event-updated:{id}:")] {
        let notices = outbox_notices_keyed(db, &prefix).await;
        assert!(notices.is_empty(), "{prefix}: {notices:#?}");
    }

    // The rule is the booked coffee's, not its kind's: an event of kind coffee anyone creates
    // is edited as any other.
    let mut own = event(start(), 4, pb::EventVisibility::InviteOnly);
    own.kind = pb::EventKind::Coffee.into();
    let own = create(&as_amelie, own).await;
    let own = publish(&as_amelie, &own.id).await;
    let renamed = pb::Event {
        title: "Coffee for four".to_owned(),
        ..own
    };
    assert_eq!(
        update_title(&as_amelie, renamed).await.unwrap().title,
        "Coffee for four"
    );
    world.stop().await.unwrap();
}

async fn the_two_still_read_check_in_announce_complete_and_cancel_their_coffee(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let ((amelie, as_amelie), (ben, as_ben)) = amelie_and_ben(&world).await;
    let db = &world.events.db;

    // Read, listed, its code read and rotated, an announcement sent, then cancelled by the
    // host: Ben is told as for any cancellation.
    let first = schedule(&world, booking(&amelie, &ben, start(), Some(peloton())))
        .await
        .unwrap();
    let id = first.event_id.clone();
    for client in [&as_amelie, &as_ben] {
        assert_eq!(get_event(client, &id).await.id, id);
        let mine = client
            .clone()
            .list_my_events(pb::ListMyEventsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(mine.events.iter().any(|e| e.id == id), "{mine:#?}");
    }
    let code_read = check_in_code_of(&as_amelie, &id).await.unwrap();
    let rotated = rotate_check_in_code(&as_amelie, &id).await.unwrap();
    assert_ne!(rotated, code_read);
    assert_eq!(check_in_code_of(&as_amelie, &id).await.unwrap(), rotated);
    let announced = as_amelie
        .clone()
        .announce_to_attendees(pb::AnnounceToAttendeesRequest {
            event_id: id.clone(),
            message: "I'll be on the terrace.".to_owned(),
            include_waitlisted: false,
            request_id: "terrace".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(announced.recipient_count >= 1, "{announced:?}");
    let to_ben = format!("announcement:{id}:terrace:{}", ben.id);
    assert_eq!(outbox_notices_keyed(db, &to_ben).await.len(), 1);
    let cancelled = cancel(&as_amelie, &id).await.unwrap();
    assert_eq!(cancelled.state(), pb::EventState::Cancelled);
    let told_ben = format!("event-cancelled:{id}:{}", ben.id);
    assert_eq!(outbox_notices_keyed(db, &told_ben).await.len(), 1);

    // Either member gives up their seat.
    for (member, client) in [(&ben, &as_ben), (&amelie, &as_amelie)] {
        let coffee = schedule(&world, booking(&amelie, &ben, start(), None))
            .await
            .unwrap();
        let rsvp = client
            .clone()
            .cancel_rsvp(pb::CancelRsvpRequest {
                event_id: coffee.event_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .rsvp
            .unwrap();
        assert_eq!(rsvp.member_id, member.id);
        assert_ne!(rsvp.status(), pb::RsvpStatus::Confirmed);
        let e = get_event(&as_amelie, &coffee.event_id).await;
        assert_eq!(e.confirmed_count, 1, "{}", member.id);
    }

    // Once started: both check in, and the host completes it.
    let coffee = schedule(&world, booking(&amelie, &ben, start(), None))
        .await
        .unwrap();
    world
        .clock
        .advance(start() + Duration::minutes(10) - world.clock.now());
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
    let done = as_amelie
        .clone()
        .complete_event(pb::CompleteEventRequest {
            event_id: coffee.event_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_eq!(done.state(), pb::EventState::Completed);
    assert_eq!(
        get_event(&as_ben, &coffee.event_id).await.state(),
        pb::EventState::Completed
    );
    world.stop().await.unwrap();
}

backend_tests!(
    a_coffee_is_not_edited_shared_or_cohosted_and_nothing_is_written,
    the_two_still_read_check_in_announce_complete_and_cancel_their_coffee,
);
