//! Booking a matched coffee: either of the two names the time, once, and events is asked (by
//! the outbox, in the booking's transaction) to make it their private event.

use crate::helpers::*;

use chrono::{Duration, TimeZone as _, Utc};
use rendezvous_common::error::error_reason;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{
    Backend, backend_tests, invalid_argument_naming, outbox_coffee_cancellations,
    outbox_coffee_requests,
};
use tonic::Code;

async fn a_matched_coffee_is_booked_once_by_either_of_the_two_and_events_is_asked_for_it(
    backend: Backend,
) {
    // Wednesday 1 May 2030, 09:00 UTC.
    let stack = members_on_manual_clock(backend, |_| {}).await;
    let [anna, bruno, chloe] = stack
        .register_all(["Anna", "Bruno", "Chloe"])
        .await
        .unwrap();
    let hers = coffee_between(&stack, &anna, &bruno).await;
    let tuesday = Utc.with_ymd_and_hms(2030, 5, 7, 6, 0, 0).unwrap();

    // Not before both accepted.
    answer_coffee(&anna, &hers, true).await.unwrap();
    let early = schedule_coffee(&anna, &hers, tuesday, None).await;
    assert_eq!(code(early), Code::FailedPrecondition);
    let matched = answer_coffee(&bruno, &hers, true).await.unwrap();
    assert_eq!(matched.state(), pb::CoffeeProposalState::Matched);
    assert!(matched.event_id.is_empty() && matched.meeting.is_none());

    // Nobody else books it; a bad time is named.
    let theirs = schedule_coffee(&chloe, &hers, tuesday, None).await;
    assert_eq!(code(theirs), Code::NotFound);
    let off_grid = schedule_coffee(&anna, &hers, tuesday + Duration::minutes(10), None).await;
    invalid_argument_naming(off_grid, "start_time").unwrap();
    assert!(outbox_coffee_requests(&stack.db).await.is_empty());

    let venue = events_pb::Venue {
        name: "Café Saint-Paul".into(),
        address: "12 rue Saint-Paul, Paris".into(),
        latitude: 48.853,
        longitude: 2.362,
    };
    let booked = schedule_coffee(&anna, &hers, tuesday, Some(venue.clone()))
        .await
        .unwrap();
    assert!(
        uuid::Uuid::try_parse(&booked.event_id).is_ok(),
        "{booked:?}"
    );
    let meeting = pb::CoffeeSlot {
        start_time: Some(rendezvous_common::time::to_timestamp(tuesday)),
        end_time: Some(rendezvous_common::time::to_timestamp(
            tuesday + Duration::hours(1),
        )),
    };
    assert_eq!(booked.meeting, Some(meeting));

    // Bruno sees the same booking; booking the same time again changes nothing, another is
    // refused with its reason.
    let [his] = coffee_proposals(&bruno).await.try_into().unwrap();
    assert_eq!(
        (his.event_id.as_str(), his.meeting),
        (booked.event_id.as_str(), Some(meeting))
    );
    let again = schedule_coffee(&bruno, &hers, tuesday, None).await.unwrap();
    assert_eq!(again.event_id, booked.event_id);
    let other_time = schedule_coffee(&bruno, &hers, tuesday + Duration::days(7), None)
        .await
        .unwrap_err();
    assert_eq!(other_time.code(), Code::FailedPrecondition);
    assert_eq!(
        error_reason(&other_time).as_deref(),
        Some("COFFEE_ALREADY_BOOKED")
    );

    // One request to events, with what it needs: Anna hosts, in her zone, at her venue.
    let [asked] = outbox_coffee_requests(&stack.db).await.try_into().unwrap();
    assert_eq!(asked.event_id, booked.event_id);
    assert_eq!(asked.proposal_id, hers);
    assert_eq!(
        asked.host.map(|h| (h.member_id, h.display_name)),
        Some((anna.id.clone(), "Anna".to_owned()))
    );
    assert_eq!(
        asked.guest.map(|g| (g.member_id, g.display_name)),
        Some((bruno.id.clone(), "Bruno".to_owned()))
    );
    assert_eq!(
        asked.start_time,
        Some(rendezvous_common::time::to_timestamp(tuesday))
    );
    assert_eq!(
        asked.end_time,
        Some(rendezvous_common::time::to_timestamp(
            tuesday + Duration::hours(1)
        ))
    );
    assert_eq!(asked.time_zone, "Europe/Paris");
    assert_eq!(asked.city, "Paris");
    assert_eq!(asked.venue, Some(venue));
    stack.stop().await.unwrap();
}

async fn a_lapsed_coffee_is_not_booked(backend: Backend) {
    let stack = members_on_manual_clock(backend, |_| {}).await;
    let [anna, bruno] = stack.register_all(["Anna", "Bruno"]).await.unwrap();
    let hers = coffee_between(&stack, &anna, &bruno).await;
    answer_coffee(&anna, &hers, true).await.unwrap();
    answer_coffee(&bruno, &hers, true).await.unwrap();
    // A block ends their coffee: it can no longer be booked.
    block(&bruno, &anna).await;
    let at = Utc.with_ymd_and_hms(2030, 5, 7, 6, 0, 0).unwrap();
    let refused = schedule_coffee(&anna, &hers, at, None).await;
    assert_eq!(code(refused), Code::FailedPrecondition);
    assert!(outbox_coffee_requests(&stack.db).await.is_empty());
    stack.stop().await.unwrap();
}

async fn a_block_a_removal_or_an_erasure_after_the_booking_calls_the_coffee_off_in_events(
    backend: Backend,
) {
    let stack = members_on_manual_clock(backend, |_| {}).await;
    let [anna, bruno, chloe, dan, eve, fay, gus, hana] = stack
        .register_all(["Anna", "Bruno", "Chloe", "Dan", "Eve", "Fay", "Gus", "Hana"])
        .await
        .unwrap();
    let at = Utc.with_ymd_and_hms(2030, 5, 7, 6, 0, 0).unwrap();
    let mut booked = Vec::new();
    for (a, b) in [(&anna, &bruno), (&chloe, &dan), (&eve, &fay)] {
        let proposal = coffee_between(&stack, a, b).await;
        answer_coffee(a, &proposal, true).await.unwrap();
        answer_coffee(b, &proposal, true).await.unwrap();
        let event = schedule_coffee(b, &proposal, at, None)
            .await
            .unwrap()
            .event_id;
        booked.push((proposal, event));
    }
    // Gus and Hana's coffee is matched but never booked: there is nothing to call off.
    let unbooked = coffee_between(&stack, &gus, &hana).await;
    answer_coffee(&gus, &unbooked, true).await.unwrap();
    answer_coffee(&hana, &unbooked, true).await.unwrap();
    assert!(outbox_coffee_cancellations(&stack.db).await.is_empty());

    block(&anna, &bruno).await;
    chloe
        .client
        .clone()
        .remove_connection(pb::RemoveConnectionRequest {
            member_id: dan.id.clone(),
        })
        .await
        .unwrap();
    fay.client
        .clone()
        .delete_member(pb::DeleteMemberRequest { id: "me".into() })
        .await
        .unwrap();
    block(&gus, &hana).await;

    let called_off: Vec<_> = outbox_coffee_cancellations(&stack.db)
        .await
        .into_iter()
        .map(|c| (c.proposal_id, c.event_id))
        .collect();
    assert_eq!(called_off, booked, "each booked coffee once, in order");
    for member in [&anna, &bruno, &chloe, &dan, &eve] {
        let [seen] = coffee_proposals(member).await.try_into().unwrap();
        assert_eq!(
            seen.state(),
            pb::CoffeeProposalState::Lapsed,
            "{}",
            member.id
        );
    }
    // Unblocking changes nothing: the coffee stays off.
    unblock(&anna, &bruno).await;
    assert_eq!(outbox_coffee_cancellations(&stack.db).await.len(), 3);
    stack.stop().await.unwrap();
}

backend_tests!(
    a_block_a_removal_or_an_erasure_after_the_booking_calls_the_coffee_off_in_events,
    a_matched_coffee_is_booked_once_by_either_of_the_two_and_events_is_asked_for_it,
    a_lapsed_coffee_is_not_booked,
);
