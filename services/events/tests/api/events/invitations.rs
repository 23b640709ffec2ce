//! Invitations: invite-only events do not exist for others, blocked members are skipped and
//! the weekly cap holds.

use super::*;

async fn invite_only_events_do_not_exist_for_others(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let (other, other_client) = world.member("Other").await.unwrap();
    let (guest, guest_client) = world.member("Guest").await.unwrap();
    let secret = published(&host, now0() + Duration::days(2), 5, Vis::InviteOnly).await;
    let get = |c: &EventClient| {
        let mut c = c.clone();
        let id = secret.id.clone();
        async move { c.get_event(pb::GetEventRequest { event_id: id }).await }
    };
    assert_eq!(get(&other_client).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(
        get(&world.events.events_anonymous())
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let listed = other_client
        .clone()
        .list_events(pb::ListEventsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.events.is_empty());
    let rsvp_err = other_client
        .clone()
        .rsvp(pb::RsvpRequest {
            event_id: secret.id.clone(),
            intent: pb::RsvpIntent::Going.into(),
            visibility: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(rsvp_err.code(), Code::NotFound);
    host.clone()
        .invite_members(pb::InviteMembersRequest {
            event_id: secret.id.clone(),
            target: Some(pb::invite_members_request::Target::Members(
                pb::invite_members_request::MemberIds {
                    member_ids: vec![guest.id.clone()],
                },
            )),
        })
        .await
        .unwrap();
    assert!(get(&guest_client).await.is_ok());
    assert_eq!(get(&other_client).await.unwrap_err().code(), Code::NotFound);
    let _ = other;
    world.stop().await.unwrap();
}

async fn invitations_skip_blocked_members_and_stop_at_the_weekly_cap(backend: Backend) {
    let settings = rendezvous_events::Settings {
        weekly_invitation_cap: 3,
        ..rendezvous_testkit::events_settings()
    };
    let world = World::start_with(backend, now0(), settings).await.unwrap();
    let (anna, host) = world.member("Anna").await.unwrap();
    let mut friends = Vec::new();
    for i in 0..4 {
        let (m, _) = world.member(&format!("Friend {i}")).await.unwrap();
        rendezvous_testkit::connect(&anna, &m).await.unwrap();
        friends.push(m);
    }
    // Friend 3 blocks Anna: never invited.
    crate::helpers::block(&world, &friends[3], &anna).await;
    let e = published(
        &host,
        now0() + Duration::days(2),
        10,
        pb::EventVisibility::InviteOnly,
    )
    .await;
    let invite_all = || {
        let mut host = host.clone();
        let id = e.id.clone();
        async move {
            host.invite_members(pb::InviteMembersRequest {
                event_id: id,
                target: Some(pb::invite_members_request::Target::AllConnections(
                    pb::invite_members_request::AllConnections {
                        only_in_event_city: true,
                    },
                )),
            })
            .await
        }
    };
    let first = invite_all().await.unwrap().into_inner();
    assert_eq!(first.invited_count, 3);
    assert_eq!(first.remaining_weekly_invitations, 0);
    let blocked = world.client(&friends[3]).await.unwrap();
    let hidden = try_get_event(&blocked, &e.id).await.unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    world.clock.advance(Duration::minutes(10));
    let again = invite_all().await.unwrap_err();
    assert_eq!(
        rendezvous_testkit::rate_limited_for(&again),
        (Duration::days(7) - Duration::minutes(10))
            .to_std()
            .unwrap(),
        "the week's invitations were all sent ten minutes ago"
    );
    // A week later the cap has room again.
    world
        .clock
        .advance(Duration::days(7) + Duration::minutes(1));
    let host = world.client(&anna).await.unwrap();
    let other = published(
        &host,
        world.clock.now() + Duration::days(2),
        10,
        pb::EventVisibility::Public,
    )
    .await;
    let later = host
        .clone()
        .invite_members(pb::InviteMembersRequest {
            event_id: other.id.clone(),
            target: Some(pb::invite_members_request::Target::Members(
                pb::invite_members_request::MemberIds {
                    member_ids: vec![friends[0].id.clone()],
                },
            )),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(later.invited_count, 1);
    world.stop().await.unwrap();
}

backend_tests!(
    invitations_skip_blocked_members_and_stop_at_the_weekly_cap,
    invite_only_events_do_not_exist_for_others,
);
