//! Email against a real SMTP server (aiosmtpd, `scripts/smtp_server.py`) started by the tests:
//! the content in each locale and the headers, a server that is down (retried, then delivered
//! once it is back), a server that refuses the recipient (dead, with the error kept), and two
//! workers on one database with a server that stalls: the lease fences a worker that stalled
//! past it, a send cut off by a crash is repeated once, with the same Message-ID, and within
//! seconds of the crash (the dead worker's lease is not waited out).
//!
//! These tests skip when `RENDEZVOUS_TEST_SMTP_PYTHON` is not set (see
//! [`rendezvous_testkit::SmtpServer::start`]).

use std::time::Duration;

use rendezvous_notifications::render::{self, Locale};
use rendezvous_proto::members::v1 as members_pb;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{
    Backend, Mail, NotificationClient, SmtpServer, Stack, StackStart, TestMember, WorkerSettings,
    backend_tests,
};

use rendezvous_notifications::unsubscribe::Unsubscribe;

use crate::helpers::{
    channels_of, deliver, event_facts, eventually, first_of_kind, message_id, new_id,
    notification_about, request, unsubscribe_tokens,
};
use crate::mail::Email;

/// Email deliveries the worker of `stack` counted with `outcome`, scraped from its metrics.
async fn emails_counted(stack: &Stack, outcome: &str) -> f64 {
    rendezvous_testkit::metrics::scrape(stack.notifications.metrics_addr)
        .await
        .unwrap()
        .count(
            "rendezvous_notification_deliveries_total",
            &[("channel", "email"), ("outcome", outcome)],
        )
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

/// The invitation the email tests deliver, as the events service writes it.
fn invitation_notice(event_id: &str) -> pb::Notice {
    pb::EventInvitation {
        event: Some(event_facts(event_id, "Café networking — Le Marais")),
        inviter: Some(pb::MemberFacts {
            member_id: new_id(),
            display_name: "Hélène".to_owned(),
        }),
    }
    .into()
}

/// Delivers an event invitation (email on by default) to `member`; returns the event's id.
async fn invite(stack: &Stack, member: &TestMember) -> String {
    let event_id = new_id();
    let item = request(
        &member.id,
        invitation_notice(&event_id),
        &format!("invite:{event_id}:{}", member.id),
        None,
    );
    assert_eq!(deliver(stack, vec![item]).await.accepted_count, 1);
    event_id
}

/// How to start a stack whose mailer sends to `smtp_url`, with its worker adjusted by `worker`.
fn mailing_start(
    backend: Backend,
    smtp_url: impl Into<String>,
    worker: fn(&mut WorkerSettings),
) -> StackStart {
    StackStart {
        mail: Mail::Smtp(smtp_url.into()),
        worker,
        ..StackStart::new(backend)
    }
}

/// A stack whose mailer sends to `smtp_url`, with its worker adjusted by `worker`.
async fn mailing_stack(
    backend: Backend,
    smtp_url: impl Into<String>,
    worker: fn(&mut WorkerSettings),
) -> Stack {
    Stack::start_with(mailing_start(backend, smtp_url, worker))
        .await
        .unwrap()
}

/// Registers Zoé and invites her; returns her inbox and the invitation in it.
async fn invite_zoe(stack: &Stack) -> (NotificationClient, pb::Notification) {
    let zoe = stack.members.register("Zoé").await.unwrap();
    let event_id = invite(stack, &zoe).await;
    let inbox = stack.inbox(&zoe);
    let notification = notification_about(&inbox, &event_id).await;
    (inbox, notification)
}

/// Invites Zoé and waits for the email delivery to be dead; returns her inbox, the invitation
/// and its dead email delivery, which is never attempted again nor marked sent.
async fn invite_zoe_until_dead(
    stack: &Stack,
) -> (NotificationClient, pb::Notification, pb::Delivery) {
    let (inbox, notification) = invite_zoe(stack).await;
    let dead = email_delivery_when(
        &inbox,
        &notification.id,
        "the email delivery is dead",
        |d| d.status() == pb::DeliveryStatus::Dead,
    )
    .await;
    assert!(dead.next_attempt_time.is_none(), "{dead:?}");
    assert!(dead.sent_time.is_none(), "{dead:?}");
    (inbox, notification, dead)
}

/// Waits until the email delivery of `notification_id` is `done`.
async fn email_delivery_when(
    inbox: &NotificationClient,
    notification_id: &str,
    what: &str,
    done: impl Fn(&pb::Delivery) -> bool,
) -> pb::Delivery {
    eventually(what, || async {
        let (_, email) = channels_of(inbox, notification_id).await;
        done(&email).then_some(email)
    })
    .await
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

/// The received messages about `notification_id`, parsed.
fn received(server: &SmtpServer, notification_id: &str) -> Vec<Email> {
    let id = message_id(notification_id);
    server
        .messages()
        .iter()
        .map(|raw| Email::parse(raw))
        .filter(|email| email.header("Message-ID").as_deref() == Some(id.as_str()))
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
    let stack = mailing_stack(backend, server.url(), StackStart::new(backend).worker).await;
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
        // Headers: List-Unsubscribe holds a signed one-click link to this member and kind.
        let unsubscribe = email.header("List-Unsubscribe").unwrap();
        let url = unsubscribe
            .strip_prefix('<')
            .and_then(|rest| rest.strip_suffix('>'))
            .unwrap();
        let prefix = format!(
            "http://{}/unsubscribe?token=",
            stack.notifications.http_addr
        );
        let token = url.strip_prefix(&prefix).unwrap();
        assert_eq!(
            unsubscribe_tokens().verify(token, chrono::Utc::now()),
            Ok(Unsubscribe {
                member: member.id.parse().unwrap(),
                kind: pb::NotificationKind::EventInvitation,
            })
        );
        assert_eq!(
            email.header("List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );

        // What the inbox stores is what is rendered, and what the email says, which links to
        // the unsubscribe URL in its footer too.
        let notice = notification.notice.clone().unwrap();
        let expected = render::render_email(&notice, locale, name, url);
        assert_eq!(expected.body, notification.body);
        assert_eq!(
            render::render(&notice, locale, name).body,
            notification.body
        );
        assert!(expected.text.contains(url));

        // Content: subject, plain text and HTML, all in the member's language.
        let subject = email.header("Subject").unwrap();
        let subject = subject.as_str();
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

        // Headers: a stable Message-ID, the two alternatives, the envelope.
        assert_eq!(
            email.header("Message-ID").as_deref(),
            Some(message_id(&notification.id).as_str())
        );
        assert_eq!(
            email.header("Auto-Submitted").as_deref(),
            Some("auto-generated")
        );
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
            email.header("From").as_deref(),
            Some("Rendezvous <noreply@rendezvous.test>")
        );
        assert_eq!(
            email.header("To").as_deref(),
            Some(format!("{name} <{}>", member.email).as_str())
        );
        assert_eq!(
            email.header("X-Envelope-To").as_deref(),
            Some(member.email.as_str())
        );

        // The server has the message before the worker records the send.
        let delivery = eventually("the send is recorded", || async {
            let (_, delivery) = channels_of(&inbox, &notification.id).await;
            (delivery.status() == pb::DeliveryStatus::Sent).then_some(delivery)
        })
        .await;
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
    let stack = mailing_stack(backend, format!("smtp://127.0.0.1:{port}"), patient_worker).await;
    let zoe = stack.members.register("Zoé").await.unwrap();
    let event_id = invite(&stack, &zoe).await;
    let inbox = stack.inbox(&zoe);
    let notification = notification_about(&inbox, &event_id).await;

    let failed = email_delivery_when(&inbox, &notification.id, "the email delivery fails", |d| {
        d.status() == pb::DeliveryStatus::Failed && d.attempts >= 2
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
    let sent = email_delivery_when(
        &inbox,
        &notification.id,
        "the email is sent once the server is back",
        |d| d.status() == pb::DeliveryStatus::Sent,
    )
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
    assert_eq!(
        emails[0].header("X-Envelope-To").as_deref(),
        Some(zoe.email.as_str())
    );
    assert_eq!(server.messages().len(), 2);
    // Both emails were sent once, after the failed attempts the log shows (a send is counted
    // once recorded, just after the server has it: the two go out side by side).
    eventually("both sends are counted", || async {
        (emails_counted(&stack, "sent").await == 2.0).then_some(())
    })
    .await;
    assert_eq!(server.messages().len(), 2);
    assert!(emails_counted(&stack, "failed").await >= f64::from(failed.attempts));
    assert_eq!(emails_counted(&stack, "dead").await, 0.0);
    stack.stop().await.unwrap();
}

async fn email_refused_by_the_server_is_dead_at_once_with_the_error_kept(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = smtp_server(dir.path(), None, true).await else {
        return;
    };
    let stack = mailing_stack(backend, server.url(), short_worker).await;
    let (inbox, notification, dead) = invite_zoe_until_dead(&stack).await;
    // 550 is a permanent refusal: retrying would fail the same way, so the first attempt is
    // the last (transient failures use up all the attempts, see the next test).
    assert_eq!(dead.attempts, 1, "{dead:?}");
    assert!(dead.last_error.contains("550"), "{}", dead.last_error);
    assert!(
        dead.last_error.contains("mailbox unavailable"),
        "{}",
        dead.last_error
    );
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
    let (in_app, _) = channels_of(&inbox, &notification.id).await;
    assert_eq!(in_app.status(), pb::DeliveryStatus::Sent);
    // Refused for good: dead without a failed attempt before.
    assert!(emails_counted(&stack, "dead").await >= 1.0);
    assert_eq!(emails_counted(&stack, "failed").await, 0.0);
    assert_eq!(emails_counted(&stack, "sent").await, 0.0);
    stack.stop().await.unwrap();
}

async fn email_failing_every_attempt_is_dead_after_the_maximum_attempts(backend: Backend) {
    // The server stays down: every attempt is a transient connection failure.
    let port = SmtpServer::free_port().unwrap();
    let stack = mailing_stack(backend, format!("smtp://127.0.0.1:{port}"), short_worker).await;
    let (_, _, dead) = invite_zoe_until_dead(&stack).await;
    assert_eq!(dead.attempts, 3, "{dead:?}");
    assert!(dead.last_error.starts_with("smtp:"), "{}", dead.last_error);
    // Two failed attempts, then the dead one; nothing sent.
    assert!(emails_counted(&stack, "failed").await >= 2.0);
    assert!(emails_counted(&stack, "dead").await >= 1.0);
    assert_eq!(emails_counted(&stack, "sent").await, 0.0);
    stack.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Two workers, one database, a server that stalls
// ---------------------------------------------------------------------------------------------

/// A lease of one second while a send may take ten: the worker that sends first stands for
/// one frozen mid-send (a paused VM, a SIGSTOP) — the configuration refuses such settings,
/// and no timeout bounds a frozen process.
fn frozen_worker(w: &mut WorkerSettings) {
    patient_worker(w);
    w.lease = chrono::Duration::seconds(1);
    w.send_timeout = Duration::from_secs(10);
}

/// A lease of two seconds, a send of at most one and a half: a valid configuration.
fn leasing_worker(w: &mut WorkerSettings) {
    patient_worker(w);
    w.lease = chrono::Duration::seconds(2);
    w.send_timeout = Duration::from_millis(1500);
    assert!(w.check_lease().is_ok());
}

/// Starts a server stalling its first reply by `stall` (refusing that message with 451 then,
/// when `refuse`), or `None` when no Python is set up.
async fn stalling_server(
    dir: &std::path::Path,
    stall: Duration,
    refuse: bool,
) -> Option<SmtpServer> {
    let server = SmtpServer::start_stalling(dir, stall, refuse)
        .await
        .unwrap();
    if server.is_none() {
        eprintln!("skipped: RENDEZVOUS_TEST_SMTP_PYTHON is not set");
    }
    server
}

async fn a_worker_that_stalls_past_its_lease_cannot_record_over_the_one_that_took_over(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    // The first email's reply comes three seconds late, and is a refusal (451, try later).
    let Some(server) = stalling_server(dir.path(), Duration::from_secs(3), true).await else {
        return;
    };
    let start = mailing_start(backend, server.url(), frozen_worker);
    let stack = Stack::start_with(start.clone()).await.unwrap();
    let replica = stack.start_notifications_replica(&start).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let inbox = stack.inbox(&zoe);
    let welcome = first_of_kind(&inbox, pb::NotificationKind::Welcome).await;

    // One worker sends the welcome and stalls; its lease runs out, the other worker takes the
    // delivery over and sends it.
    eventually("the first send stalls", || async {
        server.stall_started().then_some(())
    })
    .await;
    let sent = email_delivery_when(&inbox, &welcome.id, "the other worker sends it", |d| {
        d.status() == pb::DeliveryStatus::Sent
    })
    .await;
    assert_eq!(sent.attempts, 2, "both attempts are in the log");
    assert_eq!(received(&server, &welcome.id).len(), 1);
    // The stalled send ends with a failure: its worker no longer holds the lease and records
    // nothing — no FAILED over the SENT, so no retry and no second email.
    eventually("the stalled reply comes", || async {
        server.stall_ended().then_some(())
    })
    .await;
    for _ in 0..25 {
        let (_, email) = channels_of(&inbox, &welcome.id).await;
        assert_eq!(
            (email.status(), email.attempts, email.last_error.as_str()),
            (pb::DeliveryStatus::Sent, 2, ""),
            "the stalled worker recorded over the one that took over"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert_eq!(received(&server, &welcome.id).len(), 1, "exactly one email");
    assert_eq!(server.messages().len(), 1);
    replica.stop().await.unwrap();
    stack.stop().await.unwrap();
}

async fn a_send_cut_off_by_a_crash_is_repeated_once_with_the_same_message_id(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // The server takes the first email, then answers three seconds late.
    let Some(server) = stalling_server(dir.path(), Duration::from_secs(3), false).await else {
        return;
    };
    let start = mailing_start(backend, server.url(), leasing_worker);
    let mut stack = Stack::start_with(start.clone()).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let welcome = first_of_kind(&stack.inbox(&zoe), pb::NotificationKind::Welcome).await;
    // The email is on the server; the worker that sent it dies before it hears back.
    eventually("the server has the email", || async {
        server.stall_started().then_some(())
    })
    .await;
    stack.notifications.kill().await;
    assert_eq!(received(&server, &welcome.id).len(), 1);

    // Another replica takes the delivery over once the lease has run out, and sends it again.
    let replica = stack.start_notifications_replica(&start).await.unwrap();
    let inbox = replica.client_with_token(&zoe.access_token);
    let sent = email_delivery_when(&inbox, &welcome.id, "the replica sends it", |d| {
        d.status() == pb::DeliveryStatus::Sent
    })
    .await;
    assert_eq!(
        sent.attempts, 2,
        "the attempt cut off by the crash is counted"
    );
    let emails = received(&server, &welcome.id);
    assert_eq!(emails.len(), 2, "one repeat for one crash");
    assert_eq!(server.messages().len(), 2);
    let ids: Vec<Option<String>> = emails.iter().map(|e| e.header("Message-ID")).collect();
    assert_eq!(ids[0], ids[1], "the repeat carries the same Message-ID");
    assert_eq!(ids[0].as_deref(), Some(message_id(&welcome.id).as_str()));
    replica.stop().await.unwrap();
    stack.stop().await.unwrap();
}

async fn a_crashed_workers_email_goes_out_again_within_seconds_not_after_its_lease(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    // The server takes the first email, then answers eight seconds late.
    let Some(server) = stalling_server(dir.path(), Duration::from_secs(8), false).await else {
        return;
    };
    // The production lease (60 s) and send timeout (30 s).
    let start = mailing_start(backend, server.url(), patient_worker);
    let defaults = WorkerSettings::new("x@example.com".parse().unwrap(), String::new());
    let mut stack = Stack::start_with(start.clone()).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let welcome = first_of_kind(&stack.inbox(&zoe), pb::NotificationKind::Welcome).await;
    eventually("the server has the email", || async {
        server.stall_started().then_some(())
    })
    .await;
    // A second worker, alive beside the sending one for longer than a silent worker is given,
    // leaves the email on its way alone.
    let replica = stack.start_notifications_replica(&start).await.unwrap();
    let inbox = replica.client_with_token(&zoe.access_token);
    tokio::time::sleep(
        (defaults.dead_after + chrono::Duration::seconds(1))
            .to_std()
            .unwrap(),
    )
    .await;
    assert_eq!(
        received(&server, &welcome.id).len(),
        1,
        "a live worker's email was taken"
    );

    // The worker that sent it dies before it hears back: the replica sends it again within
    // seconds of the crash, not once its 60 s lease has run out.
    stack.notifications.kill().await;
    let killed = tokio::time::Instant::now();
    let sent = email_delivery_when(&inbox, &welcome.id, "the replica sends it", |d| {
        d.status() == pb::DeliveryStatus::Sent
    })
    .await;
    let took = killed.elapsed();
    assert!(
        took < defaults.lease.to_std().unwrap() / 4,
        "sent again {took:?} after the crash"
    );
    assert_eq!(sent.attempts, 2, "both attempts are in the log");
    assert_eq!(
        received(&server, &welcome.id).len(),
        2,
        "one repeat for one crash"
    );
    replica.stop().await.unwrap();
    stack.stop().await.unwrap();
}

backend_tests!(
    emails_are_written_in_the_recipients_language_with_ids_and_unsubscribe_headers,
    email_to_a_server_that_is_down_is_retried_and_sent_once_it_is_back,
    email_refused_by_the_server_is_dead_at_once_with_the_error_kept,
    email_failing_every_attempt_is_dead_after_the_maximum_attempts,
    a_worker_that_stalls_past_its_lease_cannot_record_over_the_one_that_took_over,
    a_send_cut_off_by_a_crash_is_repeated_once_with_the_same_message_id,
    a_crashed_workers_email_goes_out_again_within_seconds_not_after_its_lease,
);
