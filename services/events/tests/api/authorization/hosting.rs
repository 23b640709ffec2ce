//! Co-hosts, announcements and check-in codes: roles given and taken away, announcements sent
//! once, a rotated code retires the old one.

use super::*;

// ---------------------------------------------------------------------------
// Co-hosts
// ---------------------------------------------------------------------------

async fn check_in_only_cohost_checks_in_but_cannot_edit_or_cancel(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let (door_member, door) = world.member("Door").await.unwrap();
    let (guest, guest_client) = world.member("Guest").await.unwrap();
    let (late, late_client) = world.member("Late").await.unwrap();
    let e = published(&host, now0() + Duration::minutes(30), 1, Vis::Public).await;
    add_cohost(&host, &e.id, &door_member, pb::CohostRole::CheckInOnly).await;
    let listed = get_event(&host, &e.id).await.cohosts;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].role, i32::from(pb::CohostRole::CheckInOnly));
    assert_eq!(
        try_rsvp(&guest_client, &e.id).await.unwrap().status,
        i32::from(pb::RsvpStatus::Confirmed)
    );
    assert_eq!(
        try_rsvp(&late_client, &e.id).await.unwrap().status,
        i32::from(pb::RsvpStatus::Waitlisted)
    );
    let checked = check_in_member(&door, &e.id, &guest.id).await.unwrap();
    assert!(checked.checked_in);
    // Only confirmed members can be checked in.
    let waitlisted = check_in_member(&door, &e.id, &late.id).await.unwrap_err();
    assert_eq!(waitlisted.code(), Code::FailedPrecondition);
    // The door may read the code, but neither rotate it nor run the event.
    check_in_code_of(&door, &e.id).await.unwrap();
    let rotate = rotate_check_in_code(&door, &e.id).await.unwrap_err();
    assert_eq!(rotate.code(), Code::PermissionDenied);
    let update = retitle(&door, &e.id, "Mine").await.unwrap_err();
    assert_eq!(update.code(), Code::PermissionDenied);
    let cancelled = cancel(&door, &e.id).await.unwrap_err();
    assert_eq!(cancelled.code(), Code::PermissionDenied);
    let after = get_event(&host, &e.id).await;
    assert_eq!(after.state, i32::from(pb::EventState::Published));
    assert_eq!(after.title, e.title);
    world.stop().await.unwrap();
}

async fn remove_cohost_takes_the_role_away(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let (co_member, co) = world.member("Co").await.unwrap();
    let (door_member, door) = world.member("Door").await.unwrap();
    let e = published(&host, now0() + Duration::days(1), 10, Vis::InviteOnly).await;
    add_cohost(&host, &e.id, &co_member, pb::CohostRole::Full).await;
    add_cohost(&host, &e.id, &door_member, pb::CohostRole::CheckInOnly).await;
    retitle(&co, &e.id, "Co-hosted").await.unwrap();
    // Only the host adds or removes co-hosts; a full co-host may not.
    let by_cohost = co
        .clone()
        .remove_cohost(pb::RemoveCohostRequest {
            event_id: e.id.clone(),
            member_id: door_member.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(by_cohost.code(), Code::PermissionDenied);
    let anonymous = world
        .events
        .events_anonymous()
        .remove_cohost(pb::RemoveCohostRequest {
            event_id: e.id.clone(),
            member_id: co_member.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let removed = host
        .clone()
        .remove_cohost(pb::RemoveCohostRequest {
            event_id: e.id.clone(),
            member_id: co_member.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_eq!(removed.cohosts.len(), 1);
    assert_eq!(removed.cohosts[0].member_id, door_member.id);
    // The invite-only event no longer exists for the former co-host.
    let gone = retitle(&co, &e.id, "Still mine?").await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let hidden = try_get_event(&co, &e.id).await.unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    // Removing the check-in role too.
    host.clone()
        .remove_cohost(pb::RemoveCohostRequest {
            event_id: e.id.clone(),
            member_id: door_member.id.clone(),
        })
        .await
        .unwrap();
    let code = check_in_code_of(&door, &e.id).await.unwrap_err();
    assert_eq!(code.code(), Code::NotFound);
    assert!(get_event(&host, &e.id).await.cohosts.is_empty());
    world.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// Announcements and check-in codes
// ---------------------------------------------------------------------------

async fn announcements_reach_attendees_once(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (hana, host) = world.member("Host").await.unwrap();
    let e = published(&host, now0() + Duration::days(1), 4, Vis::Public).await;
    // The host holds a seat too, and is not told their own announcement.
    try_rsvp(&host, &e.id).await.unwrap();
    for i in 0..5 {
        let (_, client) = world.member(&format!("Guest {i}")).await.unwrap();
        try_rsvp(&client, &e.id).await.unwrap();
    }
    let announce = |request_id: &str, include_waitlisted: bool| {
        let mut host = host.clone();
        let request = pb::AnnounceToAttendeesRequest {
            event_id: e.id.clone(),
            message: "We moved to the back room".to_owned(),
            include_waitlisted,
            request_id: request_id.to_owned(),
        };
        async move {
            host.announce_to_attendees(request)
                .await
                .unwrap()
                .into_inner()
                .recipient_count
        }
    };
    let db = &world.events.db;
    let prefix = |request_id: &str| format!("announcement:{}:{request_id}:", e.id);
    assert_eq!(announce("first", false).await, 3);
    assert_eq!(
        outbox_count(db, &prefix("first"), "EVENT_ANNOUNCEMENT").await,
        3
    );
    // A retry sends nothing new.
    assert_eq!(announce("first", false).await, 3);
    assert_eq!(
        outbox_count(db, &prefix("first"), "EVENT_ANNOUNCEMENT").await,
        3
    );
    // Including the wait-list reaches the two wait-listed members too, once.
    assert_eq!(announce("second", true).await, 5);
    assert_eq!(announce("second", true).await, 5);
    assert_eq!(
        outbox_count(db, &prefix("second"), "EVENT_ANNOUNCEMENT").await,
        5
    );
    assert_eq!(
        outbox_count(db, &format!("announcement:{}:", e.id), "EVENT_ANNOUNCEMENT").await,
        8
    );
    for request_id in ["first", "second"] {
        let own = format!("announcement:{}:{request_id}:{}", e.id, hana.id);
        assert_eq!(outbox_count(db, &own, "").await, 0);
    }
    world.stop().await.unwrap();
}

async fn rotating_the_check_in_code_retires_the_old_one(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let (_, a) = world.member("A").await.unwrap();
    let (_, b) = world.member("B").await.unwrap();
    let e = published(&host, now0() + Duration::minutes(30), 5, Vis::Public).await;
    try_rsvp(&a, &e.id).await.unwrap();
    try_rsvp(&b, &e.id).await.unwrap();
    let old = check_in_code_of(&host, &e.id).await.unwrap();
    assert!(check_in_code(&a, &e.id, &old).await.unwrap().checked_in);
    let new = rotate_check_in_code(&host, &e.id).await.unwrap();
    assert_ne!(new, old);
    assert!(new.len() >= 8);
    let current = check_in_code_of(&host, &e.id).await.unwrap();
    assert_eq!(current, new);
    let stale = check_in_code(&b, &e.id, &old).await.unwrap_err();
    assert_eq!(stale.code(), Code::PermissionDenied);
    assert!(check_in_code(&b, &e.id, &new).await.unwrap().checked_in);
    // Lower case is accepted too.
    assert!(
        check_in_code(&b, &e.id, &new.to_lowercase())
            .await
            .unwrap()
            .checked_in
    );
    world.stop().await.unwrap();
}

backend_tests!(
    check_in_only_cohost_checks_in_but_cannot_edit_or_cancel,
    remove_cohost_takes_the_role_away,
    announcements_reach_attendees_once,
    rotating_the_check_in_code_retires_the_old_one,
);
