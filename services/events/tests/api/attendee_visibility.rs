//! Each RSVP's visibility against each kind of viewer, in ListAttendees and in the attendance
//! summary's "connections not yet met who are going" (PRODUCT.md, step 9); attendees see
//! confirmed attendees only, and GetRsvp shows another's RSVP as the list would.

use std::collections::BTreeSet;

use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::{Backend, EventClient, TestMember, backend_tests, code, connect};
use tonic::Code;

use crate::helpers::{
    World, add_cohost, attendance_summary, attendee_ids, going, ids, list_attendees, morning,
    published,
};

/// The attendees `viewer` sees by name.
async fn seen_by(viewer: &EventClient, event_id: &str) -> Result<BTreeSet<String>, Code> {
    let listed = list_attendees(viewer, event_id).await;
    listed.map(|listed| attendee_ids(&listed))
}

async fn each_rsvp_visibility_shows_to_the_viewers_it_names(backend: Backend) {
    use pb::RsvpVisibility::{Attendees, Connections, Nobody, Public};

    let world = World::start(backend, morning(2030, 3, 1)).await.unwrap();
    let (_, as_host) = world.member("Hana").await.unwrap();
    // One attendee per visibility.
    let (public, as_public) = world.member("Paul").await.unwrap();
    let (connections, as_connections) = world.member("Clara").await.unwrap();
    let (attendees, as_attendees) = world.member("Adam").await.unwrap();
    let (nobody, as_nobody) = world.member("Nina").await.unwrap();
    // Viewers: a confirmed attendee connected to all four, one connected to none, and a
    // member connected to all four who does not attend.
    let (friend, as_friend) = world.member("Fatou").await.unwrap();
    let (stranger, as_stranger) = world.member("Sven").await.unwrap();
    let (outsider, as_outsider) = world.member("Olga").await.unwrap();
    for them in [&public, &connections, &attendees, &nobody] {
        connect(&friend, them).await.unwrap();
        connect(&outsider, them).await.unwrap();
    }

    let event = published(&as_host, morning(2030, 3, 10), 20, Vis::Public).await;
    going(&as_public, &event.id, Public).await;
    going(&as_connections, &event.id, Connections).await;
    going(&as_attendees, &event.id, Attendees).await;
    going(&as_nobody, &event.id, Nobody).await;
    going(&as_friend, &event.id, Attendees).await;
    going(&as_stranger, &event.id, Attendees).await;

    let everyone = ids(&[
        &public,
        &connections,
        &attendees,
        &nobody,
        &friend,
        &stranger,
    ]);
    let cases: [(&str, &EventClient, Result<BTreeSet<String>, Code>); 5] = [
        ("the host sees everyone", &as_host, Ok(everyone)),
        (
            "an attendee sees themself whatever they chose",
            &as_nobody,
            Ok(ids(&[&public, &attendees, &nobody, &friend, &stranger])),
        ),
        (
            "a connected attendee sees all but NOBODY",
            &as_friend,
            Ok(ids(&[
                &public,
                &connections,
                &attendees,
                &friend,
                &stranger,
            ])),
        ),
        (
            "an unconnected attendee sees PUBLIC and ATTENDEES",
            &as_stranger,
            Ok(ids(&[&public, &attendees, &friend, &stranger])),
        ),
        (
            "a member who does not attend may not list",
            &as_outsider,
            Err(Code::PermissionDenied),
        ),
    ];
    for (case, viewer, expected) in cases {
        assert_eq!(seen_by(viewer, &event.id).await, expected, "{case}");
    }
    let anonymous = world
        .events
        .events_anonymous()
        .list_attendees(pb::ListAttendeesRequest {
            event_id: event.id.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(anonymous), Code::Unauthenticated);

    // The summary counts every unmet connection going, and names those the viewer may see.
    let outside = attendance_summary(&as_outsider, &event.id).await;
    assert_eq!(outside.unmet_connections_going_count, 4);
    assert_eq!(
        outside
            .visible_unmet_connection_ids
            .into_iter()
            .collect::<BTreeSet<_>>(),
        ids(&[&public, &connections]),
        "a non-attendee sees PUBLIC and CONNECTIONS, not ATTENDEES or NOBODY"
    );
    let inside = attendance_summary(&as_friend, &event.id).await;
    assert_eq!(inside.unmet_connections_going_count, 4);
    assert_eq!(
        inside
            .visible_unmet_connection_ids
            .into_iter()
            .collect::<BTreeSet<_>>(),
        ids(&[&public, &connections, &attendees]),
        "a confirmed attendee also sees ATTENDEES"
    );
    let lonely = attendance_summary(&as_stranger, &event.id).await;
    assert_eq!(
        (
            lonely.unmet_connections_going_count,
            lonely.visible_unmet_connection_ids.len()
        ),
        (0, 0)
    );
    let anonymous = world
        .events
        .events_anonymous()
        .get_attendance_summary(pb::GetAttendanceSummaryRequest {
            event_id: event.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .summary
        .unwrap();
    assert_eq!(anonymous.unmet_connections_going_count, 0);
    assert_eq!(anonymous.confirmed_count, 6);
    world.stop().await.unwrap();
}

/// `viewer`'s GetRsvp of `member`'s RSVP: its status, or the code refusing it.
async fn rsvp_seen(
    viewer: &EventClient,
    event_id: &str,
    member: &TestMember,
) -> Result<pb::RsvpStatus, Code> {
    viewer
        .clone()
        .get_rsvp(pb::GetRsvpRequest {
            event_id: event_id.to_owned(),
            member_id: member.id.clone(),
        })
        .await
        .map(|r| r.into_inner().rsvp.unwrap_or_default().status())
        .map_err(|s| s.code())
}

async fn attendees_see_confirmed_attendees_only_and_get_rsvp_follows_the_list(backend: Backend) {
    use pb::RsvpVisibility::{Nobody, Public};

    let world = World::start(backend, morning(2030, 3, 1)).await.unwrap();
    let (host, as_host) = world.member("Hana").await.unwrap();
    let (checker, as_checker) = world.member("Chen").await.unwrap();
    let (anna, as_anna) = world.member("Anna").await.unwrap();
    let (bruno, as_bruno) = world.member("Bruno").await.unwrap();
    let (wait, as_wait) = world.member("Willa").await.unwrap();
    let (nope, as_nope) = world.member("Noah").await.unwrap();
    let _ = host;
    // Two seats: Anna (public) and Bruno (nobody) take them, Willa waits, Noah is not going.
    let event = published(&as_host, morning(2030, 3, 8), 2, Vis::Public).await;
    add_cohost(&as_host, &event.id, &checker, pb::CohostRole::CheckInOnly).await;
    going(&as_anna, &event.id, Public).await;
    going(&as_bruno, &event.id, Nobody).await;
    going(&as_wait, &event.id, Public).await;
    as_nope
        .clone()
        .rsvp(pb::RsvpRequest {
            event_id: event.id.clone(),
            intent: pb::RsvpIntent::NotGoing.into(),
            visibility: Public.into(),
        })
        .await
        .unwrap();
    let every = pb::ListAttendeesRequest {
        event_id: event.id.clone(),
        statuses: vec![
            pb::RsvpStatus::Confirmed.into(),
            pb::RsvpStatus::Waitlisted.into(),
            pb::RsvpStatus::NotGoing.into(),
        ],
        page_size: 100,
        ..Default::default()
    };

    // The host sees every state asked for.
    let listed = as_host.clone().list_attendees(every.clone()).await.unwrap();
    assert_eq!(
        attendee_ids(listed.get_ref()),
        ids(&[&anna, &bruno, &wait, &nope])
    );
    // A confirmed attendee asking for the same sees the confirmed only: Anna herself, and
    // Bruno hidden by his visibility (counted as hidden, never named); nothing of who waits
    // or said not going, not even in the hidden count.
    let listed = as_anna.clone().list_attendees(every.clone()).await.unwrap();
    assert_eq!(attendee_ids(listed.get_ref()), ids(&[&anna]));
    assert_eq!(listed.get_ref().hidden_count, 1);
    let only_waiting = pb::ListAttendeesRequest {
        statuses: vec![pb::RsvpStatus::Waitlisted.into()],
        ..every.clone()
    };
    let listed = as_anna.clone().list_attendees(only_waiting).await.unwrap();
    assert!(listed.get_ref().attendees.is_empty());
    assert_eq!(listed.get_ref().hidden_count, 0);

    // GetRsvp follows the list. Anna sees Bruno's? No (nobody); Willa's and Noah's: as if
    // none. The host sees all.
    assert_eq!(
        rsvp_seen(&as_anna, &event.id, &bruno).await,
        Err(Code::NotFound)
    );
    assert_eq!(
        rsvp_seen(&as_anna, &event.id, &wait).await,
        Err(Code::NotFound)
    );
    assert_eq!(
        rsvp_seen(&as_anna, &event.id, &nope).await,
        Err(Code::NotFound)
    );
    assert_eq!(
        rsvp_seen(&as_bruno, &event.id, &anna).await,
        Ok(pb::RsvpStatus::Confirmed)
    );
    assert_eq!(
        rsvp_seen(&as_host, &event.id, &bruno).await,
        Ok(pb::RsvpStatus::Confirmed)
    );
    assert_eq!(
        rsvp_seen(&as_host, &event.id, &nope).await,
        Ok(pb::RsvpStatus::NotGoing)
    );
    // Willa, not confirmed, may not look at others; nor may a check-in-only co-host, who
    // checks people in without reading their RSVPs — Bruno's "nobody" least of all.
    assert_eq!(
        rsvp_seen(&as_wait, &event.id, &anna).await,
        Err(Code::PermissionDenied)
    );
    assert_eq!(
        rsvp_seen(&as_checker, &event.id, &bruno).await,
        Err(Code::PermissionDenied)
    );
    world.stop().await.unwrap();
}

backend_tests!(
    each_rsvp_visibility_shows_to_the_viewers_it_names,
    attendees_see_confirmed_attendees_only_and_get_rsvp_follows_the_list,
);
