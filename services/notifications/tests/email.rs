//! Email against a real SMTP server (aiosmtpd, `scripts/smtp_server.py`) started by the tests:
//! the content in each locale and the headers, a server that is down (retried, then delivered
//! once it is back), and a server that refuses the recipient (dead, with the error kept).
//!
//! These tests skip when `RENDEZVOUS_TEST_SMTP_PYTHON` is not set (see
//! [`rendezvous_testkit::SmtpServer::start`]).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use std::collections::HashMap;
use std::time::Duration;

use rendezvous_notifications::render::{self, Locale};
use rendezvous_proto::members::v1 as members_pb;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{
    Backend, Mail, NotificationClient, SmtpServer, Stack, StackStart, TestMember, WorkerSettings,
    backend_tests,
};

/// Polls `check` until it returns `Some`, for at most fifteen seconds.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts the SMTP server, or returns `None` (the test then skips) when no Python is set up.
async fn smtp_server(dir: &std::path::Path, port: Option<u16>, reject: bool) -> Option<SmtpServer> {
    let server = SmtpServer::start(dir, port, reject).await.unwrap();
    if server.is_none() {
        eprintln!("skipped: RENDEZVOUS_TEST_SMTP_PYTHON is not set");
    }
    server
}

/// Whether the SMTP server can be started; `false` (the test then skips) when no Python is
/// set up, a failure when `RENDEZVOUS_REQUIRE_SMTP=1`.
fn smtp_configured() -> bool {
    let configured = std::env::var("RENDEZVOUS_TEST_SMTP_PYTHON").is_ok_and(|p| !p.is_empty());
    if !configured {
        assert!(
            std::env::var("RENDEZVOUS_REQUIRE_SMTP").as_deref() != Ok("1"),
            "RENDEZVOUS_REQUIRE_SMTP=1 but RENDEZVOUS_TEST_SMTP_PYTHON is not set"
        );
        eprintln!("skipped: RENDEZVOUS_TEST_SMTP_PYTHON is not set");
    }
    configured
}

/// Retries for as long as the test needs: the server is down until the test starts it.
fn patient_worker(w: &mut WorkerSettings) {
    w.max_attempts = 1000;
    w.base_backoff = chrono::Duration::milliseconds(50);
    w.max_backoff = chrono::Duration::milliseconds(200);
    w.poll_interval = Duration::from_millis(10);
}

/// Gives up quickly: three attempts in well under a second.
fn short_worker(w: &mut WorkerSettings) {
    w.max_attempts = 3;
    w.base_backoff = chrono::Duration::milliseconds(20);
    w.max_backoff = chrono::Duration::milliseconds(100);
    w.poll_interval = Duration::from_millis(10);
}

fn invitation_params(event_id: &str) -> HashMap<String, String> {
    [
        ("event_id", event_id),
        ("event_title", "Café networking — Le Marais"),
        ("host_name", "Hélène"),
        ("venue_name", "Le Peloton Café"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Delivers an event invitation (email on by default) to `member`; returns the event id its
/// params carry.
async fn invite(stack: &Stack, member: &TestMember) -> String {
    let event_id = uuid::Uuid::now_v7().to_string();
    let response = stack
        .deliverer()
        .unwrap()
        .deliver(pb::DeliverRequest {
            notifications: vec![pb::NotificationRequest {
                recipient_id: member.id.clone(),
                kind: pb::NotificationKind::EventInvitation.into(),
                params: invitation_params(&event_id),
                dedupe_key: format!("invite:{event_id}:{}", member.id),
                not_before: None,
                notice: None,
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.accepted_count, 1);
    event_id
}

/// The in-app notification about `event_id` in `member`'s inbox.
async fn notification_about(inbox: &NotificationClient, event_id: &str) -> pb::Notification {
    eventually("the notification is in the inbox", || {
        let mut inbox = inbox.clone();
        async move {
            inbox
                .list_notifications(pb::ListNotificationsRequest::default())
                .await
                .unwrap()
                .into_inner()
                .notifications
                .into_iter()
                .find(|n| n.params.get("event_id").map(String::as_str) == Some(event_id))
        }
    })
    .await
}

/// The email delivery of a notification, as its recipient's delivery log shows it.
async fn email_delivery(inbox: &NotificationClient, notification_id: &str) -> pb::Delivery {
    inbox
        .clone()
        .list_deliveries(pb::ListDeliveriesRequest {
            notification_id: notification_id.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries
        .into_iter()
        .find(|d| d.channel() == pb::Channel::Email)
        .expect("an email delivery")
}

/// Registers an English-speaking member in London (testkit's members are French).
async fn register_english(stack: &Stack, name: &str) -> TestMember {
    let email = format!(
        "{}.{}@example.com",
        name.to_lowercase(),
        uuid::Uuid::now_v7().simple()
    );
    let password = "correct horse battery staple".to_owned();
    let response = stack
        .members
        .anonymous()
        .register(members_pb::RegisterRequest {
            email: email.clone(),
            password: password.clone(),
            display_name: name.to_owned(),
            city: "London".to_owned(),
            locale: "en".to_owned(),
            time_zone: "Europe/London".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let session = response.session.unwrap();
    TestMember {
        id: response.member.unwrap().id,
        email,
        password,
        client: stack.members.client_with_token(&session.access_token),
        access_token: session.access_token,
        refresh_token: session.refresh_token,
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal reader of the messages the server stored: unfolded headers with RFC 2047 words
// decoded, and the decoded parts of a multipart/alternative body.
// ---------------------------------------------------------------------------------------------

struct Email {
    headers: Vec<(String, String)>,
    /// `(Content-Type, decoded body)` of each part.
    parts: Vec<(String, String)>,
}

impl Email {
    fn parse(raw: &str) -> Email {
        let raw = raw.replace("\r\n", "\n");
        let (headers, body) = split_headers(&raw);
        let mut email = Email {
            headers,
            parts: Vec::new(),
        };
        let content_type = email.header("Content-Type").unwrap_or_default().to_owned();
        let Some(boundary) = content_type
            .split("boundary=")
            .nth(1)
            .map(|b| b.trim_matches('"').split(['"', ';']).next().unwrap_or(b))
        else {
            return email;
        };
        let closing = format!("--{boundary}--");
        let body = body.split(&closing).next().unwrap();
        for part in body.split(&format!("--{boundary}\n")).skip(1) {
            let (headers, body) = split_headers(part);
            let value = |name: &str| {
                headers
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value.clone())
                    .unwrap_or_default()
            };
            let body = body.strip_suffix('\n').unwrap_or(body);
            let decoded = match value("Content-Transfer-Encoding")
                .to_ascii_lowercase()
                .as_str()
            {
                "quoted-printable" => decode_quoted_printable(body),
                "base64" => String::from_utf8(decode_base64(body)).unwrap(),
                _ => body.to_owned(),
            };
            email.parts.push((value("Content-Type"), decoded));
        }
        email
    }

    /// The decoded value of the first header called `name`.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn part(&self, content_type: &str) -> &str {
        self.parts
            .iter()
            .find(|(kind, _)| kind.starts_with(content_type))
            .map(|(_, body)| body.as_str())
            .unwrap_or_else(|| panic!("no {content_type} part"))
    }
}

fn split_headers(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    let headers = headers
        .into_iter()
        .map(|(name, value)| (name, decode_words(&value)))
        .collect();
    (headers, body)
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=` and `=?utf-8?q?…?=`); blanks between two
/// encoded words are folding, not text.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let word = &rest[start + 2..];
        let mut fields = word.splitn(3, '?');
        let (Some(charset), Some(encoding), Some(tail)) =
            (fields.next(), fields.next(), fields.next())
        else {
            break;
        };
        let Some(end) = tail.find("?=") else { break };
        assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
        let before = &rest[..start];
        if !(after_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let text = &tail[..end];
        let bytes = if encoding.eq_ignore_ascii_case("b") {
            decode_base64(text)
        } else {
            decode_quoted_printable(&text.replace('_', " ")).into_bytes()
        };
        out.push_str(&String::from_utf8(bytes).unwrap());
        rest = &tail[end + 2..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

fn decode_base64(encoded: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for byte in encoded
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = ALPHABET.iter().position(|a| *a == byte).unwrap() as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

fn decode_quoted_printable(encoded: &str) -> String {
    let joined = encoded.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The message-id an email about `notification_id` carries.
fn message_id(notification_id: &str) -> String {
    format!("<{notification_id}@rendezvous.local>")
}

/// The received messages about `notification_id`, parsed.
fn received(server: &SmtpServer, notification_id: &str) -> Vec<Email> {
    let id = message_id(notification_id);
    server
        .messages()
        .iter()
        .map(|raw| Email::parse(raw))
        .filter(|email| email.header("Message-ID") == Some(id.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------------------------

async fn emails_are_written_in_the_recipients_language_with_ids_and_unsubscribe_headers(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = smtp_server(dir.path(), None, false).await else {
        return;
    };
    let stack = Stack::start_with(StackStart {
        mail: Mail::Smtp(server.url()),
        ..StackStart::new(backend)
    })
    .await
    .unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let emma = register_english(&stack, "Emma").await;

    for (member, name, locale) in [(&zoe, "Zoé", Locale::Fr), (&emma, "Emma", Locale::En)] {
        let event_id = invite(&stack, member).await;
        let inbox = stack.inbox(member);
        let notification = notification_about(&inbox, &event_id).await;
        let email = eventually("the email reaches the server", || {
            let found = received(&server, &notification.id);
            async move { found.into_iter().next() }
        })
        .await;
        let expected = render::render(
            pb::NotificationKind::EventInvitation,
            locale,
            name,
            &invitation_params(&event_id),
        );

        // Content: subject, plain text and HTML, all in the member's language.
        let subject = email.header("Subject").unwrap();
        assert_eq!(subject, expected.title);
        assert_eq!(subject, notification.title);
        assert_eq!(email.part("text/plain"), expected.text);
        assert_eq!(email.part("text/html"), expected.html);
        match locale {
            Locale::Fr => {
                assert!(
                    subject.starts_with("Invitation\u{a0}: Café networking"),
                    "{subject}"
                );
                assert!(email.part("text/plain").starts_with("Bonjour Zoé,"));
                assert!(email.part("text/plain").contains("Hélène vous invite à"));
                assert!(email.part("text/html").contains("<html lang=\"fr\">"));
            }
            Locale::En => {
                assert!(
                    subject.starts_with("You’re invited: Café networking"),
                    "{subject}"
                );
                assert!(email.part("text/plain").starts_with("Hello Emma,"));
                assert!(email.part("text/plain").contains("Hélène invites you to"));
                assert!(email.part("text/html").contains("<html lang=\"en\">"));
            }
        }

        // Headers: a stable Message-ID, List-Unsubscribe, the two alternatives, the envelope.
        assert_eq!(
            email.header("Message-ID"),
            Some(message_id(&notification.id).as_str())
        );
        assert_eq!(
            email.header("List-Unsubscribe").unwrap(),
            format!(
                "<http://rendezvous.test/preferences?member={}&kind=EVENT_INVITATION>",
                member.id
            )
        );
        assert_eq!(email.header("Auto-Submitted"), Some("auto-generated"));
        assert!(
            email
                .header("Content-Type")
                .unwrap()
                .starts_with("multipart/alternative"),
            "{:?}",
            email.header("Content-Type")
        );
        let kinds: Vec<&str> = email.parts.iter().map(|(kind, _)| kind.as_str()).collect();
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert!(
            kinds[0].starts_with("text/plain; charset=utf-8"),
            "{kinds:?}"
        );
        assert!(
            kinds[1].starts_with("text/html; charset=utf-8"),
            "{kinds:?}"
        );
        assert_eq!(
            email.header("From"),
            Some("Rendezvous <noreply@rendezvous.test>")
        );
        assert_eq!(
            email.header("To"),
            Some(format!("{name} <{}>", member.email).as_str())
        );
        assert_eq!(email.header("X-Envelope-To"), Some(member.email.as_str()));

        let delivery = email_delivery(&inbox, &notification.id).await;
        assert_eq!(delivery.status(), pb::DeliveryStatus::Sent);
        assert_eq!(delivery.attempts, 1);
        assert!(delivery.last_error.is_empty());
        assert!(delivery.sent_time.is_some());
        assert_eq!(received(&server, &notification.id).len(), 1);
    }
    stack.stop().await.unwrap();
}

async fn email_to_a_server_that_is_down_is_retried_and_sent_once_it_is_back(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on this port until the server starts on it below.
    let port = SmtpServer::free_port().unwrap();
    if !smtp_configured() {
        return;
    }
    let stack = Stack::start_with(StackStart {
        mail: Mail::Smtp(format!("smtp://127.0.0.1:{port}")),
        worker: patient_worker,
        ..StackStart::new(backend)
    })
    .await
    .unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let event_id = invite(&stack, &zoe).await;
    let inbox = stack.inbox(&zoe);
    let notification = notification_about(&inbox, &event_id).await;

    let failed = eventually("the email delivery fails", || {
        let inbox = inbox.clone();
        let id = notification.id.clone();
        async move {
            let delivery = email_delivery(&inbox, &id).await;
            (delivery.status() == pb::DeliveryStatus::Failed && delivery.attempts >= 2)
                .then_some(delivery)
        }
    })
    .await;
    assert!(!failed.last_error.is_empty());
    assert!(
        failed.last_error.starts_with("smtp:"),
        "{}",
        failed.last_error
    );
    assert!(failed.next_attempt_time.is_some());
    assert!(failed.sent_time.is_none());

    let Some(server) = smtp_server(dir.path(), Some(port), false).await else {
        return;
    };
    let sent = eventually("the email is sent once the server is back", || {
        let inbox = inbox.clone();
        let id = notification.id.clone();
        async move {
            let delivery = email_delivery(&inbox, &id).await;
            (delivery.status() == pb::DeliveryStatus::Sent).then_some(delivery)
        }
    })
    .await;
    assert!(sent.attempts > failed.attempts, "{sent:?}");
    assert!(sent.sent_time.is_some());
    assert!(sent.next_attempt_time.is_none());
    // The error of the last failed attempt stays in the log.
    assert!(sent.last_error.starts_with("smtp:"), "{}", sent.last_error);
    // The welcome email, retried alongside, goes out too; neither twice.
    eventually("the welcome email is sent too", || {
        let count = server.messages().len();
        async move { (count >= 2).then_some(()) }
    })
    .await;
    let emails = received(&server, &notification.id);
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].header("X-Envelope-To"), Some(zoe.email.as_str()));
    assert_eq!(server.messages().len(), 2);
    stack.stop().await.unwrap();
}

async fn email_refused_by_the_server_is_dead_at_once_with_the_error_kept(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = smtp_server(dir.path(), None, true).await else {
        return;
    };
    let stack = Stack::start_with(StackStart {
        mail: Mail::Smtp(server.url()),
        worker: short_worker,
        ..StackStart::new(backend)
    })
    .await
    .unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let event_id = invite(&stack, &zoe).await;
    let inbox = stack.inbox(&zoe);
    let notification = notification_about(&inbox, &event_id).await;
    let dead = eventually("the email delivery is dead", || {
        let inbox = inbox.clone();
        let id = notification.id.clone();
        async move {
            let delivery = email_delivery(&inbox, &id).await;
            (delivery.status() == pb::DeliveryStatus::Dead).then_some(delivery)
        }
    })
    .await;
    // 550 is a permanent refusal: retrying would fail the same way, so the first attempt is
    // the last (transient failures use up all the attempts, see the next test).
    assert_eq!(dead.attempts, 1, "{dead:?}");
    assert!(dead.last_error.contains("550"), "{}", dead.last_error);
    assert!(
        dead.last_error.contains("mailbox unavailable"),
        "{}",
        dead.last_error
    );
    assert!(dead.next_attempt_time.is_none());
    assert!(dead.sent_time.is_none());
    // Dead is final: nothing more is attempted.
    let filter = pb::ListDeliveriesRequest {
        status: pb::DeliveryStatus::Dead.into(),
        ..Default::default()
    };
    let all_dead = inbox
        .clone()
        .list_deliveries(filter)
        .await
        .unwrap()
        .into_inner()
        .deliveries;
    assert!(all_dead.iter().any(|d| d.id == dead.id));
    assert!(server.messages().is_empty());
    // The in-app notification is unaffected.
    let in_app = inbox
        .clone()
        .list_deliveries(pb::ListDeliveriesRequest {
            notification_id: notification.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries
        .into_iter()
        .find(|d| d.channel() == pb::Channel::InApp)
        .unwrap();
    assert_eq!(in_app.status(), pb::DeliveryStatus::Sent);
    stack.stop().await.unwrap();
}

async fn email_failing_every_attempt_is_dead_after_the_maximum_attempts(backend: Backend) {
    // The server stays down: every attempt is a transient connection failure.
    let port = SmtpServer::free_port().unwrap();
    let stack = Stack::start_with(StackStart {
        mail: Mail::Smtp(format!("smtp://127.0.0.1:{port}")),
        worker: short_worker,
        ..StackStart::new(backend)
    })
    .await
    .unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let event_id = invite(&stack, &zoe).await;
    let inbox = stack.inbox(&zoe);
    let notification = notification_about(&inbox, &event_id).await;
    let dead = eventually("the email delivery is dead", || {
        let inbox = inbox.clone();
        let id = notification.id.clone();
        async move {
            let delivery = email_delivery(&inbox, &id).await;
            (delivery.status() == pb::DeliveryStatus::Dead).then_some(delivery)
        }
    })
    .await;
    assert_eq!(dead.attempts, 3, "{dead:?}");
    assert!(dead.last_error.starts_with("smtp:"), "{}", dead.last_error);
    assert!(dead.next_attempt_time.is_none());
    assert!(dead.sent_time.is_none());
    stack.stop().await.unwrap();
}

backend_tests!(
    emails_are_written_in_the_recipients_language_with_ids_and_unsubscribe_headers,
    email_to_a_server_that_is_down_is_retried_and_sent_once_it_is_back,
    email_refused_by_the_server_is_dead_at_once_with_the_error_kept,
    email_failing_every_attempt_is_dead_after_the_maximum_attempts,
);
