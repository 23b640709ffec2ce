//! Register, sign in, refresh, sign out and change the password.

use crate::helpers::*;

use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, MembersHandle, backend_tests};
use tonic::Code;

async fn register_returns_the_member_and_a_working_session(backend: Backend) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let email = unique_email("Zoe.Martin");
    let response = stack
        .anonymous()
        .register(register_request(&email, "Zoé Martin"))
        .await
        .unwrap()
        .into_inner();
    let member = response.member.unwrap();
    let session = response.session.unwrap();
    assert_eq!(member.display_name, "Zoé Martin");
    assert_eq!(member.email, email.to_lowercase());
    assert_eq!(
        (member.city.as_str(), member.locale.as_str()),
        ("Paris", "fr")
    );
    assert_eq!(member.time_zone, "Europe/Paris");
    assert_eq!(member.relationship, i32::from(pb::Relationship::Self_));
    assert!(!member.deleted);
    assert!(!member.etag.is_empty());
    assert_eq!(session.token_type, "Bearer");
    assert!(
        session.refresh_token_expire_time.unwrap().seconds
            > session.access_token_expire_time.unwrap().seconds
    );

    let me = get_member(&stack.client_with_token(&session.access_token), "me")
        .await
        .unwrap();
    assert_eq!(me.id, member.id);

    // The welcome notification was written with the account.
    assert_eq!(outbox_rows(&stack.db, "WELCOME", &member.id).await, 1);
    stack.stop().await.unwrap();
}

async fn register_refuses_a_taken_email_whatever_its_case_and_writes_nothing(backend: Backend) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let email = unique_email("Zoe.Martin");
    stack
        .anonymous()
        .register(register_request(&email, "Zoé"))
        .await
        .unwrap();
    let outbox_before = outbox_total(&stack.db).await;

    for taken in [email.clone(), email.to_uppercase(), format!("  {email} ")] {
        let status = stack
            .anonymous()
            .register(register_request(&taken, "Another Zoé"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists, "{taken:?}: {status:?}");
    }
    assert_eq!(outbox_total(&stack.db).await, outbox_before);
    stack.stop().await.unwrap();
}

async fn login_signs_in_with_the_right_password_only(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;

    let response = stack
        .anonymous()
        .login(pb::LoginRequest {
            email: anna.email.to_uppercase(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.member.unwrap().id, anna.id);
    let session = response.session.unwrap();
    let me = get_member(&stack.client_with_token(&session.access_token), "me")
        .await
        .unwrap();
    assert_eq!(me.id, anna.id);

    assert!(unauthenticated(
        login(&stack, &anna.email, "wrong password!").await
    ));
    assert!(unauthenticated(
        login(&stack, "nobody@example.com", PASSWORD).await
    ));
    stack.stop().await.unwrap();
}

async fn refresh_session_rotates_tokens_and_refuses_the_old_one(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;

    let rotated = refresh(&stack, &anna.refresh_token).await.unwrap();
    assert_ne!(rotated.refresh_token, anna.refresh_token);
    let me = get_member(&stack.client_with_token(&rotated.access_token), "me")
        .await
        .unwrap();
    assert_eq!(me.id, anna.id);

    // The new refresh token rotates in turn; the old one is refused.
    let again = refresh(&stack, &rotated.refresh_token).await.unwrap();
    assert_ne!(again.refresh_token, rotated.refresh_token);
    assert!(unauthenticated(refresh(&stack, &anna.refresh_token).await));
    stack.stop().await.unwrap();
}

async fn logout_revokes_the_session_refresh_token(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let other = login(&stack, &anna.email, PASSWORD).await.unwrap();

    anna.client
        .clone()
        .logout(pb::LogoutRequest {})
        .await
        .unwrap();
    assert!(unauthenticated(refresh(&stack, &anna.refresh_token).await));
    // Another session of the same member is untouched.
    refresh(&stack, &other.refresh_token).await.unwrap();
    stack.stop().await.unwrap();
}

async fn change_password_signs_in_with_the_new_password_and_revokes_other_sessions(
    backend: Backend,
) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let other = login(&stack, &anna.email, PASSWORD).await.unwrap();
    let new_password = "a brand new passphrase";

    anna.client
        .clone()
        .change_password(pb::ChangePasswordRequest {
            old_password: PASSWORD.into(),
            new_password: new_password.into(),
        })
        .await
        .unwrap();

    login(&stack, &anna.email, new_password).await.unwrap();
    assert!(unauthenticated(login(&stack, &anna.email, PASSWORD).await));
    assert!(unauthenticated(refresh(&stack, &other.refresh_token).await));
    // The session that changed the password stays signed in.
    refresh(&stack, &anna.refresh_token).await.unwrap();
    stack.stop().await.unwrap();
}

backend_tests!(
    register_returns_the_member_and_a_working_session,
    register_refuses_a_taken_email_whatever_its_case_and_writes_nothing,
    login_signs_in_with_the_right_password_only,
    refresh_session_rotates_tokens_and_refuses_the_old_one,
    logout_revokes_the_session_refresh_token,
    change_password_signs_in_with_the_new_password_and_revokes_other_sessions,
);
