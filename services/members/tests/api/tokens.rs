//! Access tokens, refresh tokens and sign-in limits as a client meets them: every forged,
//! expired or misused credential is refused with UNAUTHENTICATED, and sessions end when they
//! should.

use crate::helpers::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rendezvous_common::auth::{SigningKeyPair, TokenIssuer};
use rendezvous_common::clock::Clock;
use rendezvous_common::error::{error_reason, violated_fields};
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, MembersHandle, Start, backend_tests};
use serde_json::{Value, json};
use tonic::{Code, Status};

/// GetMember `me` with `token` as the bearer token.
/// The id of the member `token` signs in.
async fn signed_in_as(stack: &MembersHandle, token: &str) -> String {
    whoami(stack, token).await.unwrap().id
}

async fn whoami(stack: &MembersHandle, token: &str) -> Result<pb::Member, Status> {
    stack
        .client_with_token(token)
        .get_member(pb::GetMemberRequest { id: "me".into() })
        .await
        .map(|r| r.into_inner().member.unwrap())
}

async fn assert_refused(stack: &MembersHandle, token: &str, why: &str) {
    let status = whoami(stack, token)
        .await
        .expect_err(&format!("{why}: accepted"));
    assert_eq!(status.code(), Code::Unauthenticated, "{why}: {status:?}");
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The header, claims and signature of a JWT.
fn split(token: &str) -> (Value, Value, String) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    (
        decode_part(parts[0]),
        decode_part(parts[1]),
        parts[2].to_owned(),
    )
}

/// Signs `claims` with `key` under `header`: a token the members service could have issued
/// but for what the test changed.
fn sign(key: &SigningKeyPair, header: &Header, claims: &Value) -> String {
    let pem = key.to_pkcs8_pem().unwrap();
    jsonwebtoken::encode(
        header,
        claims,
        &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn access_header(key: &SigningKeyPair, typ: Option<&str>) -> Header {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = typ.map(str::to_owned);
    header.kid = Some(key.key_id());
    header
}

async fn an_access_token_is_refused_once_expired(backend: Backend) {
    let stack = MembersHandle::start_with(Start {
        clock: Clock::manual(Utc::now()),
        ..Start::new(backend)
    })
    .await
    .unwrap();
    let anna = stack.register("Anna").await.unwrap();
    assert_eq!(signed_in_as(&stack, &anna.access_token).await, anna.id);

    stack.clock.advance(Duration::minutes(14));
    assert_eq!(signed_in_as(&stack, &anna.access_token).await, anna.id);

    stack.clock.advance(Duration::minutes(2));
    let status = whoami(&stack, &anna.access_token).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("expired"), "{status:?}");

    // The session itself lives on: a refresh gives a working access token.
    let session = refresh(&stack, &anna.refresh_token).await.unwrap();
    assert_eq!(signed_in_as(&stack, &session.access_token).await, anna.id);
    stack.stop().await.unwrap();
}

async fn a_token_with_a_tampered_payload_is_refused(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    let (header, mut claims, signature) = split(&anna.access_token);

    claims["sub"] = json!(bruno.id);
    let as_bruno = format!(
        "{}.{}.{signature}",
        encode_part(&header),
        encode_part(&claims)
    );
    assert_refused(&stack, &as_bruno, "another member's id").await;

    let (_, mut claims, _) = split(&anna.access_token);
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 3600);
    let longer = format!(
        "{}.{}.{signature}",
        encode_part(&header),
        encode_part(&claims)
    );
    assert_refused(&stack, &longer, "a later expiry").await;

    let mut flipped = anna.access_token.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    assert_refused(&stack, &flipped, "a changed signature").await;

    // The genuine token still works.
    assert_eq!(signed_in_as(&stack, &anna.access_token).await, anna.id);
    stack.stop().await.unwrap();
}

async fn an_unsigned_alg_none_token_is_refused(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let (mut header, claims, signature) = split(&anna.access_token);
    header["alg"] = json!("none");
    let unsigned = format!("{}.{}.", encode_part(&header), encode_part(&claims));
    assert_refused(&stack, &unsigned, "alg none without signature").await;
    let with_old_signature = format!(
        "{}.{}.{signature}",
        encode_part(&header),
        encode_part(&claims)
    );
    assert_refused(&stack, &with_old_signature, "alg none with a signature").await;
    let bare = format!(
        "{}.{}.",
        encode_part(&json!({"alg": "none"})),
        encode_part(&claims)
    );
    assert_refused(&stack, &bare, "alg none without typ").await;
    stack.stop().await.unwrap();
}

async fn a_token_of_another_type_is_refused_even_when_signed_by_the_service_key(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let (_, claims, _) = split(&anna.access_token);
    let key = &stack.signing_key;

    // Sanity: the same claims re-signed with the genuine header pass.
    let genuine = sign(key, &access_header(key, Some("at+jwt")), &claims);
    assert_eq!(whoami(&stack, &genuine).await.unwrap().id, anna.id);

    for typ in [Some("JWT"), None, Some("service+jwt"), Some("rt+jwt")] {
        let token = sign(key, &access_header(key, typ), &claims);
        assert_refused(&stack, &token, &format!("typ {typ:?}")).await;
    }
    stack.stop().await.unwrap();
}

async fn a_token_for_another_audience_or_issuer_is_refused(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let (_, claims, _) = split(&anna.access_token);
    let key = &stack.signing_key;
    let header = access_header(key, Some("at+jwt"));

    for aud in [
        json!("rendezvous-internal"),
        json!("another-app"),
        json!([]),
    ] {
        let mut forged = claims.clone();
        forged["aud"] = aud.clone();
        assert_refused(&stack, &sign(key, &header, &forged), &format!("aud {aud}")).await;
    }
    let mut no_aud = claims.clone();
    no_aud.as_object_mut().unwrap().remove("aud");
    assert_refused(&stack, &sign(key, &header, &no_aud), "no aud").await;

    let mut other_issuer = claims.clone();
    other_issuer["iss"] = json!("someone-else");
    assert_refused(&stack, &sign(key, &header, &other_issuer), "iss").await;

    // A lifetime longer than any access token may have.
    let mut long_lived = claims.clone();
    long_lived["exp"] = json!(claims["iat"].as_i64().unwrap() + 24 * 3600);
    assert_refused(&stack, &sign(key, &header, &long_lived), "a day-long token").await;
    stack.stop().await.unwrap();
}

async fn a_token_signed_by_another_key_is_refused(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let (_, claims, _) = split(&anna.access_token);
    let session_id = uuid::Uuid::try_parse(claims["sid"].as_str().unwrap()).unwrap();
    let member_id = uuid::Uuid::try_parse(&anna.id).unwrap();

    let impostor = SigningKeyPair::generate();
    let issuer =
        TokenIssuer::new(impostor.clone(), Duration::minutes(15), Clock::system()).unwrap();
    let token = issuer.issue(member_id, session_id).unwrap().token;
    assert_refused(&stack, &token, "another key, its own kid").await;

    // Claiming the genuine key id does not help.
    let mut header = access_header(&impostor, Some("at+jwt"));
    header.kid = Some(stack.signing_key.key_id());
    assert_refused(
        &stack,
        &sign(&impostor, &header, &claims),
        "another key, real kid",
    )
    .await;
    stack.stop().await.unwrap();
}

async fn a_refresh_token_is_not_an_access_token(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    assert_refused(&stack, &anna.refresh_token, "a refresh token").await;

    // Nor is an access token a refresh token.
    let status = refresh(&stack, &anna.access_token).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(violated_fields(&status), ["refresh_token"]);
    stack.stop().await.unwrap();
}

async fn malformed_authorization_metadata_is_refused(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    for value in [
        format!("Basic {}", anna.access_token),
        anna.access_token.clone(),
        "Bearer ".to_owned(),
        "Bearer not.a.jwt".to_owned(),
        format!("Bearer {}", "a".repeat(5000)),
    ] {
        let status = rendezvous_proto::members::v1::member_service_client::MemberServiceClient::with_interceptor(
            stack.channel.clone(),
            rendezvous_testkit::Bearer::raw(&value),
        )
        .get_member(pb::GetMemberRequest { id: "me".into() })
        .await
        .unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{value:.20}: {status:?}"
        );
    }
    stack.stop().await.unwrap();
}

async fn a_reused_refresh_token_is_refused_and_ends_its_session(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let other_device = login(&stack, &anna.email, &anna.password).await.unwrap();

    let first = refresh(&stack, &anna.refresh_token).await.unwrap();
    assert_ne!(first.refresh_token, anna.refresh_token);
    let second = refresh(&stack, &first.refresh_token).await.unwrap();

    // A thief replays the rotated token: refused, and the session ends for everyone holding it.
    let status = refresh(&stack, &first.refresh_token).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = refresh(&stack, &second.refresh_token).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = refresh(&stack, &anna.refresh_token).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // Another session of the same member is not touched.
    let other = refresh(&stack, &other_device.refresh_token).await.unwrap();
    assert_eq!(signed_in_as(&stack, &other.access_token).await, anna.id);
    stack.stop().await.unwrap();
}

async fn logout_revokes_the_refresh_token(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let other_device = login(&stack, &anna.email, &anna.password).await.unwrap();

    anna.client
        .clone()
        .logout(pb::LogoutRequest {})
        .await
        .unwrap();
    let status = refresh(&stack, &anna.refresh_token).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // Only that session ends.
    refresh(&stack, &other_device.refresh_token).await.unwrap();
    stack.stop().await.unwrap();
}

async fn changing_the_password_revokes_the_other_sessions_only(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let laptop = login(&stack, &anna.email, &anna.password).await.unwrap();
    let phone = login(&stack, &anna.email, &anna.password).await.unwrap();

    change_password(&anna, "a brand new passphrase").await;

    for (device, session) in [("laptop", &laptop), ("phone", &phone)] {
        let status = refresh(&stack, &session.refresh_token).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{device}: {status:?}");
    }
    let current = refresh(&stack, &anna.refresh_token).await.unwrap();
    assert_eq!(signed_in_as(&stack, &current.access_token).await, anna.id);

    let status = login(&stack, &anna.email, &anna.password)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    login(&stack, &anna.email, "a brand new passphrase")
        .await
        .unwrap();
    stack.stop().await.unwrap();
}

async fn wrong_password_and_unknown_email_get_the_same_answer(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;

    let wrong_password = login(&stack, &anna.email, "not my password at all")
        .await
        .unwrap_err();
    let unknown_email = login(&stack, "nobody@example.com", "not my password at all")
        .await
        .unwrap_err();
    assert_eq!(wrong_password.code(), Code::Unauthenticated);
    assert_eq!(unknown_email.code(), wrong_password.code());
    assert_eq!(unknown_email.message(), wrong_password.message());
    assert_eq!(error_reason(&unknown_email), error_reason(&wrong_password));
    stack.stop().await.unwrap();
}

backend_tests!(
    an_access_token_is_refused_once_expired,
    a_token_with_a_tampered_payload_is_refused,
    an_unsigned_alg_none_token_is_refused,
    a_token_of_another_type_is_refused_even_when_signed_by_the_service_key,
    a_token_for_another_audience_or_issuer_is_refused,
    a_token_signed_by_another_key_is_refused,
    a_refresh_token_is_not_an_access_token,
    malformed_authorization_metadata_is_refused,
    a_reused_refresh_token_is_refused_and_ends_its_session,
    logout_revokes_the_refresh_token,
    changing_the_password_revokes_the_other_sessions_only,
    wrong_password_and_unknown_email_get_the_same_answer,
);
