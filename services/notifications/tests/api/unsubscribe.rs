//! One-click unsubscribe (RFC 8058) over real HTTP on the service's HTTP listener: the link an
//! email carries turns that kind of email off for that member only; GET changes nothing;
//! forged, altered, spliced and expired links are refused.

use std::net::SocketAddr;

use chrono::{TimeZone as _, Utc};
use rendezvous_notifications::unsubscribe::UnsubscribeTokens;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{
    Backend, HttpReply, NotificationClient, Stack, TestMember, backend_tests, http_request,
};

use crate::helpers::{
    channels_of, deliver, email_becomes, eml_files, event_notice, eventually, invitation,
    message_id, new_id, notification_about, preferences_of, request, settled_member,
};
use crate::mail::Email;

const ONE_CLICK: &str = "List-Unsubscribe=One-Click";
const FORM: &str = "application/x-www-form-urlencoded";

/// Sends one request with `body` (and its `Content-Type`) and reads the whole response.
async fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> HttpReply {
    let headers: Vec<(&str, &str)> = content_type
        .map(|t| ("Content-Type", t))
        .into_iter()
        .collect();
    http_request(addr, method, target, &headers, body)
        .await
        .unwrap()
}

/// Announces a POST body of `length` bytes with `Expect: 100-continue` and reads the answer
/// (a server that wants the body first would say `100 Continue`).
async fn post_announcing(addr: SocketAddr, target: &str, length: usize) -> HttpReply {
    let length = length.to_string();
    let headers = [
        ("Content-Type", FORM),
        ("Content-Length", length.as_str()),
        ("Expect", "100-continue"),
    ];
    http_request(addr, "POST", target, &headers, b"")
        .await
        .unwrap()
}

/// The request target (path and query) of an unsubscribe URL on the stack's HTTP listener.
fn target_of(stack: &Stack, url: &str) -> String {
    url.strip_prefix(&format!("http://{}", stack.notifications.http_addr))
        .unwrap_or_else(|| panic!("{url} is not on the HTTP listener"))
        .to_owned()
}

async fn post(stack: &Stack, url: &str) -> HttpReply {
    let target = target_of(stack, url);
    http(
        stack.notifications.http_addr,
        "POST",
        &target,
        Some(FORM),
        ONE_CLICK.as_bytes(),
    )
    .await
}

async fn get(stack: &Stack, url: &str) -> HttpReply {
    let target = target_of(stack, url);
    http(stack.notifications.http_addr, "GET", &target, None, b"").await
}

/// The unsubscribe URL of a token.
fn url_of(stack: &Stack, token: &str) -> String {
    format!(
        "http://{}/unsubscribe?token={token}",
        stack.notifications.http_addr
    )
}

/// The token of an unsubscribe URL.
fn token_of(url: &str) -> &str {
    url.split_once("?token=").unwrap().1
}

/// Invites `member` (email on by default) and waits for the email the files mailer writes;
/// returns the email.
async fn invitation_email(stack: &Stack, member: &TestMember) -> Email {
    let event_id = new_id();
    let item = invitation(&member.id, &format!("invite:{event_id}"), &event_id);
    assert_eq!(deliver(stack, vec![item]).await.accepted_count, 1);
    let notification = notification_about(&stack.inbox(member), &event_id).await;
    let header = format!("Message-ID: {}", message_id(&notification.id));
    eventually("the invitation email is written", || {
        let found = eml_files(stack.notifications.emails())
            .into_iter()
            .find(|raw| raw.contains(&header))
            .map(|raw| Email::parse(&raw));
        async move { found }
    })
    .await
}

/// The List-Unsubscribe URL of an email, checked to be a one-click one.
fn unsubscribe_url(email: &Email) -> String {
    assert_eq!(
        email.header("List-Unsubscribe-Post").as_deref(),
        Some(ONE_CLICK)
    );
    let header = email.header("List-Unsubscribe").unwrap();
    let url = header
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or_else(|| panic!("List-Unsubscribe: {header}"));
    assert!(url.contains("/unsubscribe?token="), "{url}");
    url.to_owned()
}

/// Whether the member gets `kind` on `channel`.
fn enabled(
    preferences: &pb::Preferences,
    kind: pb::NotificationKind,
    channel: pb::Channel,
) -> bool {
    preferences
        .channel_preferences
        .iter()
        .find(|p| p.kind() == kind && p.channel() == channel)
        .unwrap()
        .enabled
}

/// The `(kind, channel, enabled)` settings of the member.
async fn settings_of(inbox: &NotificationClient) -> Vec<(i32, i32, bool)> {
    preferences_of(inbox)
        .await
        .channel_preferences
        .into_iter()
        .map(|p| (p.kind, p.channel, p.enabled))
        .collect()
}

/// A copy of `token` with the character at `index` replaced by another base64url one.
fn altered(token: &str, index: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

// ---------------------------------------------------------------------------------------------

async fn the_emails_link_turns_off_that_kind_of_email_for_that_member_only(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let zoe = settled_member(&stack, "Zoé").await;
    let emma = settled_member(&stack, "Emma").await;
    let zoe_inbox = stack.inbox(&zoe);
    let emma_inbox = stack.inbox(&emma);
    let email = invitation_email(&stack, &zoe).await;
    let url = unsubscribe_url(&email);
    // The footer links to it too.
    assert!(email.part("text/plain").contains(&url));
    assert!(email.part("text/html").contains(&url));

    let zoe_before = settings_of(&zoe_inbox).await;
    let emma_before = settings_of(&emma_inbox).await;
    assert!(enabled(
        &preferences_of(&zoe_inbox).await,
        pb::NotificationKind::EventInvitation,
        pb::Channel::Email
    ));

    // GET (what a mail scanner fetches) shows a button that POSTs, and changes nothing.
    for _ in 0..2 {
        let page = get(&stack, &url).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(page.header("cache-control"), Some("no-store"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert!(page.body.contains("<form method=\"post\""), "{}", page.body);
        assert!(
            page.body
                .contains(&format!("action=\"{}\"", target_of(&stack, &url))),
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains("name=\"List-Unsubscribe\" value=\"One-Click\"")
        );
    }
    assert_eq!(settings_of(&zoe_inbox).await, zoe_before);

    // The one-click POST: that kind's email is off for Zoé, and nothing else changes.
    let done = post(&stack, &url).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("event invitation"), "{}", done.body);
    let zoe_after = settings_of(&zoe_inbox).await;
    let changed: Vec<_> = zoe_before
        .iter()
        .zip(&zoe_after)
        .filter(|(before, after)| before != after)
        .map(|(_, after)| *after)
        .collect();
    assert_eq!(
        changed,
        vec![(
            pb::NotificationKind::EventInvitation as i32,
            pb::Channel::Email as i32,
            false
        )]
    );
    assert_eq!(settings_of(&emma_inbox).await, emma_before);

    // Again (the button after the header, a client retrying): fine, and the same.
    let again = post(&stack, &url).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(settings_of(&zoe_inbox).await, zoe_after);

    // The next invitation reaches Zoé's inbox but not her mailbox; a reminder still does, and
    // Emma's invitation still goes out by email.
    let invited = new_id();
    let reminded = new_id();
    let emma_invited = new_id();
    let response = deliver(
        &stack,
        vec![
            invitation(&zoe.id, &format!("invite:{invited}"), &invited),
            request(
                &zoe.id,
                event_notice(pb::NotificationKind::EventReminder, &reminded),
                &format!("reminder:{reminded}"),
                None,
            ),
            invitation(&emma.id, &format!("invite:{emma_invited}"), &emma_invited),
        ],
    )
    .await;
    assert_eq!(response.accepted_count, 3);
    let invitation_item = notification_about(&zoe_inbox, &invited).await;
    let (in_app, email) = channels_of(&zoe_inbox, &invitation_item.id).await;
    assert_eq!(email.status(), pb::DeliveryStatus::Suppressed);
    assert_ne!(in_app.status(), pb::DeliveryStatus::Suppressed);
    let reminder = notification_about(&zoe_inbox, &reminded).await;
    email_becomes(&zoe_inbox, &reminder.id, pb::DeliveryStatus::Sent).await;
    let emma_item = notification_about(&emma_inbox, &emma_invited).await;
    email_becomes(&emma_inbox, &emma_item.id, pb::DeliveryStatus::Sent).await;
    stack.stop().await.unwrap();
}

async fn forged_altered_and_spliced_links_and_bad_bodies_are_refused(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let zoe = settled_member(&stack, "Zoé").await;
    let emma = settled_member(&stack, "Emma").await;
    let zoe_inbox = stack.inbox(&zoe);
    let emma_inbox = stack.inbox(&emma);
    let zoe_url = unsubscribe_url(&invitation_email(&stack, &zoe).await);
    let emma_url = unsubscribe_url(&invitation_email(&stack, &emma).await);
    let zoe_before = settings_of(&zoe_inbox).await;
    let emma_before = settings_of(&emma_inbox).await;

    let token = token_of(&zoe_url);
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let (_, emma_rest) = token_of(&emma_url).split_once('.').unwrap();
    let (emma_payload, _) = emma_rest.split_once('.').unwrap();
    let payload_at = header.len() + 1 + payload.len() / 2;
    let signature_at = header.len() + 1 + payload.len() + 1 + signature.len() / 2;
    let other_key = UnsubscribeTokens::new(
        &[1; 32],
        rendezvous_notifications::unsubscribe::DEFAULT_LIFETIME,
    )
    .issue(
        zoe.id.parse().unwrap(),
        pb::NotificationKind::EventInvitation,
        Utc::now(),
    )
    .unwrap();
    let forbidden = [
        // One character of the claims changed.
        altered(token, payload_at),
        // One character of the signature changed.
        altered(token, signature_at),
        // Signed with another key.
        other_key,
        // Emma's claims under Zoé's signature.
        format!("{header}.{emma_payload}.{signature}"),
        // Unsigned.
        format!("{header}.{payload}."),
    ];
    for forged in &forbidden {
        let url = url_of(&stack, forged);
        for reply in [post(&stack, &url).await, get(&stack, &url).await] {
            assert_eq!(reply.status, 403, "{forged}: {}", reply.body);
            assert!(
                reply
                    .header("content-type")
                    .unwrap()
                    .starts_with("text/plain")
            );
            assert!(reply.body.contains("not valid"), "{}", reply.body);
        }
    }
    let addr = stack.notifications.http_addr;
    for target in [
        "/unsubscribe".to_owned(),
        "/unsubscribe?token=".to_owned(),
        "/unsubscribe?token=not-a-token".to_owned(),
        format!("/unsubscribe?token={token}%20"),
        format!("/unsubscribe?token={token}&token={token}"),
    ] {
        let reply = http(addr, "POST", &target, Some(FORM), ONE_CLICK.as_bytes()).await;
        assert_eq!(reply.status, 400, "{target}: {}", reply.body);
    }
    // The right link, but not the one-click form.
    let target = target_of(&stack, &zoe_url);
    for (content_type, body) in [
        (Some(FORM), &b""[..]),
        (Some(FORM), b"List-Unsubscribe=Maybe"),
        (Some(FORM), b"unsubscribe=yes"),
        (
            Some("application/json"),
            b"{\"List-Unsubscribe\":\"One-Click\"}",
        ),
        (Some("text/plain"), ONE_CLICK.as_bytes()),
    ] {
        let reply = http(addr, "POST", &target, content_type, body).await;
        assert_eq!(
            reply.status, 400,
            "{content_type:?} {body:?}: {}",
            reply.body
        );
    }
    let reply = post_announcing(addr, &target, 64 * 1024).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    // Other paths and methods.
    assert_eq!(http(addr, "GET", "/elsewhere", None, b"").await.status, 404);
    assert_eq!(http(addr, "DELETE", &target, None, b"").await.status, 405);
    assert_eq!(http(addr, "GET", "/healthz", None, b"").await.body, "ok");

    assert_eq!(settings_of(&zoe_inbox).await, zoe_before);
    assert_eq!(settings_of(&emma_inbox).await, emma_before);

    // The genuine links still work, each for its own member; multipart/form-data too.
    let multipart = "--b0undary\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n\
                     One-Click\r\n--b0undary--\r\n";
    let reply = http(
        addr,
        "POST",
        &target_of(&stack, &emma_url),
        Some("multipart/form-data; boundary=b0undary"),
        multipart.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let emma_after = preferences_of(&emma_inbox).await;
    assert!(!enabled(
        &emma_after,
        pb::NotificationKind::EventInvitation,
        pb::Channel::Email
    ));
    assert_eq!(settings_of(&zoe_inbox).await, zoe_before);
    stack.stop().await.unwrap();
}

async fn an_expired_link_is_refused(backend: Backend) {
    let start = Utc.with_ymd_and_hms(2030, 3, 1, 9, 0, 0).unwrap();
    let (stack, clock) = Stack::start_at(backend, start).await.unwrap();
    let zoe = settled_member(&stack, "Zoé").await;
    let url = unsubscribe_url(&invitation_email(&stack, &zoe).await);
    // A day before it expires it still opens its page.
    clock.advance(chrono::Duration::days(59));
    assert_eq!(get(&stack, &url).await.status, 200);
    clock.advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    let inbox = stack.inbox_after_login(&zoe).await.unwrap();
    let before = settings_of(&inbox).await;
    for reply in [post(&stack, &url).await, get(&stack, &url).await] {
        assert_eq!(reply.status, 403, "{}", reply.body);
        assert!(reply.body.contains("expired"), "{}", reply.body);
    }
    assert_eq!(settings_of(&inbox).await, before);
    assert!(enabled(
        &preferences_of(&inbox).await,
        pb::NotificationKind::EventInvitation,
        pb::Channel::Email
    ));
    stack.stop().await.unwrap();
}

async fn a_link_followed_after_the_members_erasure_writes_nothing(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let zoe = settled_member(&stack, "Zoé").await;
    let url = unsubscribe_url(&invitation_email(&stack, &zoe).await);
    let erase = pb::EraseMemberRequest {
        member_id: zoe.id.clone(),
        erase_time: Some(rendezvous_testkit::timestamp(Utc::now())),
    };
    stack
        .internal_as(rendezvous_common::auth::ServiceName::Members)
        .unwrap()
        .erase_member(erase)
        .await
        .unwrap();

    // The link still checks out, but there is nothing left to turn off.
    assert_eq!(post(&stack, &url).await.status, 200);
    let db = &stack.notifications.db;
    let rows: i64 = rendezvous_common::with_db!(db, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM channel_preferences WHERE member_id = $1")
            .bind(&zoe.id)
            .fetch_one(pool)
            .await
    })
    .unwrap();
    assert_eq!(rows, 0, "nothing of hers is written again");
    stack.stop().await.unwrap();
}

backend_tests!(
    a_link_followed_after_the_members_erasure_writes_nothing,
    the_emails_link_turns_off_that_kind_of_email_for_that_member_only,
    forged_altered_and_spliced_links_and_bad_bodies_are_refused,
    an_expired_link_is_refused,
);
