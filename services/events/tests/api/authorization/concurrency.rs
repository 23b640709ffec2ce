//! RSVPs at once: one member twenty times gets one RSVP, sixty members share twenty seats.

use super::*;

/// Up to a hundred attendees of the event `id`, as the caller lists them.
async fn attendees(client: &EventClient, id: &str) -> Vec<pb::Attendee> {
    let request = pb::ListAttendeesRequest {
        event_id: id.to_owned(),
        page_size: 100,
        ..Default::default()
    };
    let response = client.clone().list_attendees(request).await.unwrap();
    response.into_inner().attendees
}

// ---------------------------------------------------------------------------
// Concurrent RSVPs through gRPC
// ---------------------------------------------------------------------------

async fn one_member_rsvping_twenty_times_at_once_gets_one_rsvp(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let (me_member, me) = world.member("Eager").await.unwrap();
    let e = published(&host, now0() + Duration::days(1), 5, Vis::Public).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let me = me.clone();
            let id = e.id.clone();
            tokio::spawn(async move { try_rsvp(&me, &id).await })
        })
        .collect();
    for task in futures::future::join_all(tasks).await {
        let r = task.unwrap().unwrap();
        assert_eq!(r.status, i32::from(pb::RsvpStatus::Confirmed));
        assert_eq!(r.member_id, me_member.id);
    }
    let attendees = attendees(&host, &e.id).await;
    assert_eq!(attendees.len(), 1);
    let current = get_event(&host, &e.id).await;
    assert_eq!((current.confirmed_count, current.waitlisted_count), (1, 0));
    world.stop().await.unwrap();
}

async fn sixty_members_rush_twenty_seats(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let e = published(&host, now0() + Duration::days(1), 20, Vis::Public).await;
    let guests = futures::future::join_all((0..60).map(|i| rusher(&world, i))).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(guests.len()));
    let tasks: Vec<_> = guests
        .iter()
        .map(|(_, client)| {
            let client = client.clone();
            let id = e.id.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                try_rsvp(&client, &id).await
            })
        })
        .collect();
    let mut confirmed = 0;
    let mut positions = Vec::new();
    for task in futures::future::join_all(tasks).await {
        let r = task.unwrap().unwrap();
        match pb::RsvpStatus::try_from(r.status).unwrap() {
            pb::RsvpStatus::Confirmed => confirmed += 1,
            pb::RsvpStatus::Waitlisted => positions.push(r.waitlist_position),
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert_eq!(confirmed, 20);
    positions.sort_unstable();
    assert_eq!(positions, (1..=40).collect::<Vec<i32>>());
    // What the database holds agrees with the answers.
    let current = get_event(&host, &e.id).await;
    assert_eq!(
        (current.confirmed_count, current.waitlisted_count),
        (20, 40)
    );
    let attendees = attendees(&host, &e.id).await;
    assert_eq!(attendees.len(), 60);
    let mut stored: Vec<i32> = attendees
        .iter()
        .filter(|a| a.status == i32::from(pb::RsvpStatus::Waitlisted))
        .map(|a| a.waitlist_position)
        .collect();
    stored.sort_unstable();
    assert_eq!(stored, (1..=40).collect::<Vec<i32>>());
    world.stop().await.unwrap();
}

/// Rusher `i` and their `EventService` client.
async fn rusher(world: &World, i: usize) -> (TestMember, EventClient) {
    world.member(&format!("Rusher {i}")).await.unwrap()
}

backend_tests!(
    one_member_rsvping_twenty_times_at_once_gets_one_rsvp,
    sixty_members_rush_twenty_seats,
);
