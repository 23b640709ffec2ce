//! Each RSVP's visibility against each kind of viewer, in ListAttendees and in the attendance
//! summary's "connections not yet met who are going" (PRODUCT.md, step 9).

use std::collections::BTreeSet;

use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::{Backend, EventClient, backend_tests, code, connect};
use tonic::Code;

use crate::helpers::{
    World, attendance_summary, attendee_ids, going, ids, list_attendees, morning, published,
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

backend_tests!(each_rsvp_visibility_shows_to_the_viewers_it_names);
