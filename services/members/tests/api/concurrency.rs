//! Races a client can cause by sending the same change many times at once: exactly one wins,
//! the others get a clear answer, and the data stays consistent on both backends.

use crate::helpers::*;
use futures::future::join_all;
use rendezvous_common::with_db;
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, MembersHandle, backend_tests};
use tonic::Code;

async fn simultaneous_registrations_with_one_email_create_exactly_one_account(backend: Backend) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let email = format!("race.{}@example.com", uuid::Uuid::now_v7().simple());
    let attempts = (0..50_u32).map(|i| {
        let mut client = stack.anonymous();
        // Half of them spell the address in upper case: it is the same account.
        let email = if i.is_multiple_of(2) {
            email.clone()
        } else {
            email.to_uppercase()
        };
        async move {
            client
                .register(pb::RegisterRequest {
                    email,
                    password: "correct horse battery staple".into(),
                    display_name: format!("Racer {i}"),
                    city: "Paris".into(),
                    locale: "en".into(),
                    time_zone: "Europe/Paris".into(),
                })
                .await
        }
    });
    let results = join_all(attempts).await;

    let winners: Vec<&pb::RegisterResponse> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(tonic::Response::get_ref))
        .collect();
    let codes: Vec<Code> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(tonic::Status::code))
        .collect();
    assert_eq!(winners.len(), 1, "codes: {codes:?}");
    assert_eq!(codes.len(), 49);
    assert!(
        codes.iter().all(|c| *c == Code::AlreadyExists),
        "codes: {codes:?}"
    );

    // Only the winner's welcome notification was written.
    let welcomes = with_db!(&stack.db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM outbox WHERE payload LIKE '%WELCOME%'",
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(welcomes, 1);

    // The one account signs in.
    let login = stack
        .anonymous()
        .login(pb::LoginRequest {
            email: email.clone(),
            password: "correct horse battery staple".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        login.member.unwrap().id,
        winners[0].member.as_ref().unwrap().id
    );
    stack.stop().await.unwrap();
}

async fn crossing_simultaneous_requests_make_exactly_one_connection(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;

    let attempts = (0..20_u32).map(|i| {
        let (from, to) = if i.is_multiple_of(2) {
            (&anna, &bruno)
        } else {
            (&bruno, &anna)
        };
        let mut client = from.client.clone();
        let member_id = to.id.clone();
        async move {
            client
                .request_connection(pb::RequestConnectionRequest {
                    member_id,
                    note: String::new(),
                })
                .await
        }
    });
    let results = join_all(attempts).await;

    // One request is sent, one from the other side accepts it, every other one is refused.
    let (mut pending, mut accepted) = (0, 0);
    for result in &results {
        match result {
            Ok(response) => {
                let state = response
                    .get_ref()
                    .connection_request
                    .as_ref()
                    .unwrap()
                    .state;
                if state == i32::from(pb::ConnectionRequestState::Accepted) {
                    accepted += 1;
                } else if state == i32::from(pb::ConnectionRequestState::Pending) {
                    pending += 1;
                }
            }
            Err(status) => assert_eq!(status.code(), Code::AlreadyExists, "{status:?}"),
        }
    }
    assert_eq!((pending, accepted), (1, 1));

    for (member, other) in [(&anna, &bruno), (&bruno, &anna)] {
        let theirs = connections(member, pb::MetFilter::Unspecified).await;
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].member_id, other.id);
        // No request is left pending between two connected members.
        assert_eq!(
            requests(member, pb::RequestDirection::Incoming).await.len(),
            0
        );
        assert_eq!(
            requests(member, pb::RequestDirection::Outgoing).await.len(),
            0
        );
    }
    let network = stats(&anna).await;
    assert_eq!(counts(&network), (1, 0, 0, 0));
    stack.stop().await.unwrap();
}

async fn simultaneous_refreshes_with_one_token_let_exactly_one_through(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;

    let attempts = (0..20).map(|_| {
        let mut client = stack.anonymous();
        let refresh_token = anna.refresh_token.clone();
        async move {
            client
                .refresh_session(pb::RefreshSessionRequest { refresh_token })
                .await
        }
    });
    let results = join_all(attempts).await;

    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    let codes: Vec<Code> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(tonic::Status::code))
        .collect();
    assert_eq!(succeeded, 1, "codes: {codes:?}");
    assert!(
        codes.iter().all(|c| *c == Code::Unauthenticated),
        "codes: {codes:?}"
    );
    stack.stop().await.unwrap();
}

backend_tests!(
    simultaneous_registrations_with_one_email_create_exactly_one_account,
    crossing_simultaneous_requests_make_exactly_one_connection,
    simultaneous_refreshes_with_one_token_let_exactly_one_through,
);
