//! Sessions members ended (Logout, ChangePassword, a reused refresh token), as its outbox
//! tells events through RevokeSessions: the session's access token is refused from then on,
//! the member's other sessions go on, and a replay changes nothing.

use rendezvous_common::error::error_reason;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::{Backend, backend_tests, invalid_argument_naming, timestamp};
use tonic::Code;

use crate::helpers::{World, get_event, morning, published, try_get_event};

async fn a_revoked_sessions_token_is_refused_and_other_sessions_go_on(backend: Backend) {
    let world = World::start(backend, morning(2030, 3, 1)).await.unwrap();
    let (anna, as_anna) = world.member("Anna").await.unwrap();
    let phone = world.members.login(&anna).await.unwrap().access_token;
    let on_phone = world.events.events_with_token(&phone);
    let event = published(&as_anna, morning(2030, 3, 10), 10, Vis::Public).await;

    let revoke = pb::RevokeSessionsRequest {
        member_id: anna.id.clone(),
        session_ids: vec![
            world
                .members
                .session_of(&anna.access_token)
                .unwrap()
                .to_string(),
        ],
        revoke_time: Some(timestamp(world.clock.now())),
    };
    let mut internal = world.internal().unwrap();
    let answer = internal.revoke_sessions(revoke.clone()).await.unwrap();
    assert_eq!(answer.into_inner().revoked_session_count, 1);

    let refused = try_get_event(&as_anna, &event.id).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert_eq!(error_reason(&refused).as_deref(), Some("SESSION_REVOKED"));
    assert_eq!(get_event(&on_phone, &event.id).await.id, event.id);

    // Delivered again (at least once), it changes nothing.
    let again = internal.revoke_sessions(revoke).await.unwrap();
    assert_eq!(again.into_inner().revoked_session_count, 0);
    assert_eq!(get_event(&on_phone, &event.id).await.id, event.id);
    world.stop().await.unwrap();
}

async fn a_revocation_without_sessions_is_refused_naming_the_field(backend: Backend) {
    let world = World::start(backend, morning(2030, 3, 1)).await.unwrap();
    let (anna, _) = world.member("Anna").await.unwrap();
    let refused = world
        .internal()
        .unwrap()
        .revoke_sessions(pb::RevokeSessionsRequest {
            member_id: anna.id.clone(),
            session_ids: Vec::new(),
            revoke_time: Some(timestamp(world.clock.now())),
        })
        .await;
    invalid_argument_naming(refused, "session_ids").unwrap();
    world.stop().await.unwrap();
}

backend_tests!(
    a_revoked_sessions_token_is_refused_and_other_sessions_go_on,
    a_revocation_without_sessions_is_refused_naming_the_field,
);
