//! Signing out ends a session everywhere (README, "Streams"): members tells events and
//! notifications through its outbox, the session's open notification stream ends within
//! seconds with UNAUTHENTICATED / SESSION_REVOKED, and its access token opens nothing at any
//! service, while the member's other session goes on.

use std::time::{Duration, Instant};

use rendezvous_common::error::error_reason;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_testkit::{code, eventually};
use tonic::{Code, Status};

use crate::helpers::{Lang, Person, World};

fn assert_session_revoked(status: &Status) {
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(error_reason(status).as_deref(), Some("SESSION_REVOKED"));
}

/// How `stream` ends, past the notifications it still carries (Anna's welcome may come late).
async fn end_of(stream: &mut tonic::Streaming<npb::StreamNotificationsResponse>) -> Status {
    loop {
        match stream.message().await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => return status,
        }
    }
}

pub async fn logout_ends_its_stream_and_its_tokens_everywhere(world: &World) {
    let anna = Person::sign_up(world, "Anna", Lang::En, "Paris").await;
    let phone = anna.another_session(world).await;
    let mut on_laptop = anna
        .inbox(world)
        .stream_notifications(npb::StreamNotificationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let phone_inbox = world.stack.notifications.client_with_token(&phone);
    let mut on_phone = phone_inbox
        .clone()
        .stream_notifications(npb::StreamNotificationsRequest::default())
        .await
        .unwrap()
        .into_inner();

    let signed_out = Instant::now();
    anna.members(world)
        .logout(mpb::LogoutRequest {})
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), end_of(&mut on_laptop))
        .await
        .expect("the signed-out session's stream is open 5 s after Logout");
    assert_session_revoked(&ended);
    eprintln!(
        "stream ended {:?} after Logout returned",
        signed_out.elapsed()
    );

    // Its token opens nothing at members and events either.
    let refused = anna
        .members(world)
        .get_member(mpb::GetMemberRequest { id: "me".into() })
        .await
        .unwrap_err();
    assert_session_revoked(&refused);
    eventually("events refuses the signed-out session's token", || async {
        let answer = anna
            .chapters(world)
            .list_chapters(pb::ListChaptersRequest::default())
            .await;
        (code(answer) == Code::Unauthenticated).then_some(())
    })
    .await;
    assert!(
        signed_out.elapsed() < Duration::from_secs(5),
        "events refused the token {:?} after Logout",
        signed_out.elapsed()
    );

    // The phone's session goes on everywhere, its stream still open.
    phone_inbox
        .clone()
        .list_notifications(npb::ListNotificationsRequest::default())
        .await
        .unwrap();
    world
        .events
        .client_with_token(&phone)
        .list_chapters(pb::ListChaptersRequest::default())
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), end_of(&mut on_phone))
            .await
            .is_err(),
        "the phone's stream ended"
    );
}
