//! Attendance: wait-list offers that expire, approvals, capacity and the attendance summary.

use super::*;

/// The attendance summary of the event `id`, as the caller sees it.
async fn attendance_summary(client: &EventClient, id: &str) -> pb::AttendanceSummary {
    let request = pb::GetAttendanceSummaryRequest {
        event_id: id.to_owned(),
    };
    let response = client
        .clone()
        .get_attendance_summary(request)
        .await
        .unwrap();
    response.into_inner().summary.unwrap()
}

/// The caller approves `member_id`'s pending RSVP to the event `id`.
async fn approve(client: &EventClient, id: &str, member_id: &str) -> Result<pb::Rsvp, Status> {
    let request = pb::ApproveRsvpRequest {
        event_id: id.to_owned(),
        member_id: member_id.to_owned(),
    };
    let response = client.clone().approve_rsvp(request).await?;
    Ok(response.into_inner().rsvp.unwrap())
}

async fn an_unclaimed_offer_expires_and_passes_on(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let (_, a) = world.member("A").await.unwrap();
    let (b_member, b) = world.member("B").await.unwrap();
    let (c_member, c) = world.member("C").await.unwrap();
    let mut draft = event(now0() + Duration::days(2), 1, pb::EventVisibility::Public);
    draft.waitlist_mode = pb::WaitlistMode::Offer.into();
    draft.offer_window = Some(PbDuration {
        seconds: 3600,
        nanos: 0,
    });
    let e = create(&host, draft).await;
    publish(&host, &e.id).await;
    assert_eq!(status(&rsvp(&a, &e.id).await), pb::RsvpStatus::Confirmed);
    assert_eq!(status(&rsvp(&b, &e.id).await), pb::RsvpStatus::Waitlisted);
    assert_eq!(status(&rsvp(&c, &e.id).await), pb::RsvpStatus::Waitlisted);
    a.clone()
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap();
    let offered = get_rsvp(&b, &e.id).await;
    assert_eq!(status(&offered), pb::RsvpStatus::Offered);
    assert!(offered.offer_expire_time.is_some());
    world.clock.advance(Duration::minutes(61));
    let b = world.client(&b_member).await.unwrap();
    let c = world.client(&c_member).await.unwrap();
    let late = b
        .clone()
        .claim_offer(pb::ClaimOfferRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert_eq!(status(&get_rsvp(&c, &e.id).await), pb::RsvpStatus::Offered);
    // The sweeper expires C's offer once its window passes too; nobody is left to offer.
    world.clock.advance(Duration::minutes(61));
    let expired = world
        .events
        .events
        .sweep_once(world.clock.now())
        .await
        .unwrap();
    assert_eq!(expired, 1);
    let c = world.client(&c_member).await.unwrap();
    assert_eq!(
        status(&get_rsvp(&c, &e.id).await),
        pb::RsvpStatus::Cancelled
    );
    world.stop().await.unwrap();
}

async fn approvals_capacity_and_attendance_summary(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (anna, host) = world.member("Anna").await.unwrap();
    let (bob, bob_events) = world.member("Bob").await.unwrap();
    let (carol, carol_events) = world.member("Carol").await.unwrap();
    rendezvous_testkit::connect(&anna, &bob).await.unwrap();
    let mut draft = event(now0() + Duration::days(2), 2, pb::EventVisibility::Public);
    draft.approval_required = true;
    let e = create(&host, draft).await;
    publish(&host, &e.id).await;
    assert_eq!(
        status(&rsvp(&bob_events, &e.id).await),
        pb::RsvpStatus::PendingApproval
    );
    assert_eq!(
        status(&rsvp(&carol_events, &e.id).await),
        pb::RsvpStatus::PendingApproval
    );
    let approved = approve(&host, &e.id, &bob.id).await.unwrap();
    assert_eq!(status(&approved), pb::RsvpStatus::Confirmed);
    let request = pb::DeclineRsvpRequest {
        event_id: e.id.clone(),
        member_id: carol.id.clone(),
        reason: String::new(),
    };
    let declined = host.clone().decline_rsvp(request).await.unwrap();
    let declined = declined.into_inner().rsvp.unwrap();
    assert_eq!(status(&declined), pb::RsvpStatus::Declined);
    // Bob may not approve.
    let denied = approve(&bob_events, &e.id, &carol.id).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // Capacity cannot go below the confirmed attendees.
    let current = get_event(&host, &e.id).await;
    let mut smaller = current.clone();
    smaller.capacity = 0;
    let zero = host
        .clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(smaller.clone()),
            update_mask: Some(FieldMask {
                paths: vec!["capacity".to_owned()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(zero.code(), Code::InvalidArgument);
    smaller.capacity = 1;
    host.clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(smaller),
            update_mask: Some(FieldMask {
                paths: vec!["capacity".to_owned()],
            }),
        })
        .await
        .unwrap();
    // Anna has not met Bob, who is going.
    let summary = attendance_summary(&host, &e.id).await;
    assert_eq!(summary.confirmed_count, 1);
    assert_eq!(summary.unmet_connections_going_count, 1);
    assert_eq!(summary.visible_unmet_connection_ids, vec![bob.id.clone()]);
    let anonymous = attendance_summary(&world.events.events_anonymous(), &e.id).await;
    assert_eq!(anonymous.unmet_connections_going_count, 0);
    // A second confirmed attendee (with a higher capacity) blocks lowering below 2.
    let mut bigger = get_event(&host, &e.id).await;
    bigger.capacity = 5;
    bigger.approval_required = false;
    let bigger = host
        .clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(bigger),
            update_mask: Some(FieldMask {
                paths: vec!["capacity".to_owned(), "approval_required".to_owned()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    let (_, dave_events) = world.member("Dave").await.unwrap();
    assert_eq!(
        status(&rsvp(&dave_events, &e.id).await),
        pb::RsvpStatus::Confirmed
    );
    let mut lower = bigger;
    lower.capacity = 1;
    lower.etag = String::new();
    let below = host
        .clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(lower),
            update_mask: Some(FieldMask {
                paths: vec!["capacity".to_owned()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(below.code(), Code::FailedPrecondition);
    world.stop().await.unwrap();
}

backend_tests!(
    approvals_capacity_and_attendance_summary,
    an_unclaimed_offer_expires_and_passes_on,
);
