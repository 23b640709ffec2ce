//! Ended sessions reach the other services: Logout, ChangePassword's revocations and a reused
//! refresh token each write, in their own transaction, the outbox rows that tell events and
//! notifications which sessions of the member ended; and members itself refuses the access
//! tokens of those sessions at once, while the member's other sessions go on.

use rendezvous_common::error::error_reason;
use rendezvous_common::outbox::{TOPIC_REVOKE_IN_EVENTS, TOPIC_REVOKE_IN_NOTIFICATIONS};
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, MembersHandle, backend_tests, outbox_revoked_sessions};
use tonic::Code;

use crate::helpers::{change_password, login, refresh, stack_of};

/// The sessions of `member` that events and notifications are told ended, each list sorted.
async fn told(stack: &MembersHandle, member: &str) -> [Vec<String>; 2] {
    let rows = outbox_revoked_sessions(&stack.db, member).await;
    [TOPIC_REVOKE_IN_EVENTS, TOPIC_REVOKE_IN_NOTIFICATIONS].map(|topic| {
        sorted(
            rows.iter()
                .filter(|(t, _)| t == topic)
                .flat_map(|(_, sessions)| sessions.clone())
                .collect(),
        )
    })
}

const NONE: Vec<String> = Vec::new();

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn session_of(stack: &MembersHandle, token: &str) -> String {
    stack.session_of(token).unwrap().to_string()
}

async fn whoami(stack: &MembersHandle, token: &str) -> Result<pb::Member, tonic::Status> {
    stack
        .client_with_token(token)
        .get_member(pb::GetMemberRequest { id: "me".into() })
        .await
        .map(|r| r.into_inner().member.unwrap())
}

/// `token` is refused because its session ended, not because it is bad or expired.
async fn assert_session_ended(stack: &MembersHandle, token: &str) {
    let status = whoami(stack, token).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(error_reason(&status).as_deref(), Some("SESSION_REVOKED"));
}

async fn logout_tells_events_and_notifications_which_session_ended(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let phone = login(&stack, &anna.email, &anna.password).await.unwrap();
    assert_eq!(told(&stack, &anna.id).await, [NONE, NONE]);

    anna.client
        .clone()
        .logout(pb::LogoutRequest {})
        .await
        .unwrap();
    let ended = session_of(&stack, &anna.access_token);
    assert_eq!(
        told(&stack, &anna.id).await,
        [vec![ended.clone()], vec![ended]]
    );
    assert_session_ended(&stack, &anna.access_token).await;
    assert_eq!(
        whoami(&stack, &phone.access_token).await.unwrap().id,
        anna.id
    );
    stack.stop().await.unwrap();
}

async fn changing_the_password_tells_them_of_every_other_session(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let laptop = login(&stack, &anna.email, &anna.password).await.unwrap();
    let phone = login(&stack, &anna.email, &anna.password).await.unwrap();

    change_password(&anna, "a brand new passphrase").await;
    let others = sorted(vec![
        session_of(&stack, &laptop.access_token),
        session_of(&stack, &phone.access_token),
    ]);
    assert_eq!(told(&stack, &anna.id).await, [others.clone(), others]);
    for device in [&laptop, &phone] {
        assert_session_ended(&stack, &device.access_token).await;
    }
    // The session that changed the password goes on.
    assert_eq!(
        whoami(&stack, &anna.access_token).await.unwrap().id,
        anna.id
    );
    stack.stop().await.unwrap();
}

async fn a_reused_refresh_token_tells_them_its_session_ended(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let phone = login(&stack, &anna.email, &anna.password).await.unwrap();
    let rotated = refresh(&stack, &anna.refresh_token).await.unwrap();
    assert_eq!(told(&stack, &anna.id).await, [NONE, NONE]);

    // A thief replays the rotated token: the session ends, and the others are told.
    refresh(&stack, &anna.refresh_token).await.unwrap_err();
    let ended = session_of(&stack, &anna.access_token);
    assert_eq!(
        told(&stack, &anna.id).await,
        [vec![ended.clone()], vec![ended]]
    );
    for token in [&anna.access_token, &rotated.access_token] {
        assert_session_ended(&stack, token).await;
    }
    assert_eq!(
        whoami(&stack, &phone.access_token).await.unwrap().id,
        anna.id
    );
    // Replayed again, the token of an ended session tells nothing more.
    refresh(&stack, &anna.refresh_token).await.unwrap_err();
    assert_eq!(told(&stack, &anna.id).await[0].len(), 1);
    stack.stop().await.unwrap();
}

backend_tests!(
    logout_tells_events_and_notifications_which_session_ended,
    changing_the_password_tells_them_of_every_other_session,
    a_reused_refresh_token_tells_them_its_session_ended,
);
