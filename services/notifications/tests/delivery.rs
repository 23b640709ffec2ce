//! Deliver and the delivery worker: idempotency on the dedupe key (concurrent retries,
//! duplicates within a call, a relay that redelivers an outbox row), not-before times,
//! CancelScheduled, preferences and quiet hours (with the injectable clock), and a 10,000
//! recipient call.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound as _, TimeZone as _, Utc};
use rendezvous_common::clock::Clock;
use rendezvous_common::relay::{self, OutboxRow};
use rendezvous_common::with_db;
use rendezvous_proto::members::v1 as members_pb;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{
    Backend, NotificationClient, Stack, StackStart, TestMember, backend_tests, timestamp,
};

/// Polls `check` until it returns `Some`, for at most ten seconds.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn request(
    recipient: &str,
    kind: pb::NotificationKind,
    key: &str,
    event_id: &str,
    not_before: Option<DateTime<Utc>>,
) -> pb::NotificationRequest {
    pb::NotificationRequest {
        recipient_id: recipient.to_owned(),
        kind: kind.into(),
        params: [
            ("event_id".to_owned(), event_id.to_owned()),
            ("event_title".to_owned(), "Apéro des fondateurs".to_owned()),
        ]
        .into_iter()
        .collect(),
        dedupe_key: key.to_owned(),
        not_before: not_before.map(timestamp),
        notice: None,
    }
}

fn invitation(recipient: &str, key: &str, event_id: &str) -> pb::NotificationRequest {
    request(
        recipient,
        pb::NotificationKind::EventInvitation,
        key,
        event_id,
        None,
    )
}

async fn deliver(
    stack: &Stack,
    notifications: Vec<pb::NotificationRequest>,
) -> pb::DeliverResponse {
    // A fresh service credential each time: the manual clock may have moved past the last.
    stack
        .deliverer()
        .unwrap()
        .deliver(pb::DeliverRequest { notifications })
        .await
        .unwrap()
        .into_inner()
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The member's in-app notifications whose `event_id` param is `event_id`.
async fn inbox_about(inbox: &NotificationClient, event_id: &str) -> Vec<pb::Notification> {
    inbox
        .clone()
        .list_notifications(pb::ListNotificationsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notifications
        .into_iter()
        .filter(|n| n.params.get("event_id").map(String::as_str) == Some(event_id))
        .collect()
}

/// Every delivery in the member's log (one page of up to 100).
async fn all_deliveries(inbox: &NotificationClient) -> Vec<pb::Delivery> {
    inbox
        .clone()
        .list_deliveries(pb::ListDeliveriesRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries
}

/// The deliveries of one notification, `(in-app, email)`.
async fn deliveries_of(
    inbox: &NotificationClient,
    notification_id: &str,
) -> (pb::Delivery, pb::Delivery) {
    let deliveries = inbox
        .clone()
        .list_deliveries(pb::ListDeliveriesRequest {
            notification_id: notification_id.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries;
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    let channel = |c: pb::Channel| {
        deliveries
            .iter()
            .find(|d| d.channel() == c)
            .cloned()
            .unwrap()
    };
    (channel(pb::Channel::InApp), channel(pb::Channel::Email))
}

/// Waits until the email delivery of `notification_id` has the status `status`.
async fn email_becomes(
    inbox: &NotificationClient,
    notification_id: &str,
    status: pb::DeliveryStatus,
) -> pb::Delivery {
    eventually(&format!("email delivery {status:?}"), || async move {
        let (_, email) = deliveries_of(inbox, notification_id).await;
        (email.status() == status).then_some(email)
    })
    .await
}

/// `.eml` files written for `notification_id` (the stack's mailer writes files).
fn emails_about(stack: &Stack, notification_id: &str) -> usize {
    let message_id = format!("Message-ID: <{notification_id}@rendezvous.local>");
    std::fs::read_dir(stack.notifications.emails())
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|raw| raw.contains(&message_id)))
        .count()
}

/// Signs in again, for a fresh access token after the manual clock jumped past the old one's
/// expiry.
async fn sign_in_again(stack: &Stack, member: &TestMember) -> NotificationClient {
    let session = stack
        .members
        .anonymous()
        .login(members_pb::LoginRequest {
            email: member.email.clone(),
            password: member.password.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    stack.notifications.client_with_token(&session.access_token)
}

// ---------------------------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------------------------

async fn the_same_deliver_sent_twenty_times_at_once_makes_one_notification(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let event_id = new_id();
    let call = pb::DeliverRequest {
        notifications: vec![invitation(
            &zoe.id,
            &format!("invite:{event_id}:{}", zoe.id),
            &event_id,
        )],
    };
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let mut client = stack.deliverer().unwrap();
            let call = call.clone();
            tokio::spawn(async move { client.deliver(call).await.unwrap().into_inner() })
        })
        .collect();
    let (mut accepted, mut duplicates) = (0, 0);
    for call in calls {
        let response = call.await.unwrap();
        assert_eq!(response.accepted_count + response.duplicate_count, 1);
        accepted += response.accepted_count;
        duplicates += response.duplicate_count;
    }
    assert_eq!((accepted, duplicates), (1, 19));

    let inbox = stack.inbox(&zoe);
    let found = inbox_about(&inbox, &event_id).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let (in_app, _) = deliveries_of(&inbox, &found[0].id).await;
    assert_eq!(in_app.status(), pb::DeliveryStatus::Sent);
    email_becomes(&inbox, &found[0].id, pb::DeliveryStatus::Sent).await;
    assert_eq!(emails_about(&stack, &found[0].id), 1);
    let invitations = all_deliveries(&inbox)
        .await
        .into_iter()
        .filter(|d| d.kind() == pb::NotificationKind::EventInvitation)
        .count();
    assert_eq!(invitations, 2);
    stack.stop().await.unwrap();
}

async fn duplicate_keys_within_one_call_make_one_notification_each(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let (first, second) = (new_id(), new_id());
    let key = format!("invite:{first}:{}", zoe.id);
    let mut repeated = invitation(&zoe.id, &key, &first);
    repeated
        .params
        .insert("event_title".to_owned(), "A later copy".to_owned());
    let call = vec![
        invitation(&zoe.id, &key, &first),
        repeated,
        invitation(&zoe.id, &format!("invite:{second}:{}", zoe.id), &second),
    ];
    let response = deliver(&stack, call.clone()).await;
    assert_eq!((response.accepted_count, response.duplicate_count), (2, 1));
    // The whole call again, as a producer retrying it would: nothing new.
    let response = deliver(&stack, call).await;
    assert_eq!((response.accepted_count, response.duplicate_count), (0, 3));

    let inbox = stack.inbox(&zoe);
    let found = inbox_about(&inbox, &first).await;
    assert_eq!(found.len(), 1, "{found:?}");
    // The first item with a key wins.
    assert_eq!(found[0].params["event_title"], "Apéro des fondateurs");
    assert_eq!(inbox_about(&inbox, &second).await.len(), 1);
    stack.stop().await.unwrap();
}

async fn a_relay_redelivering_an_outbox_row_makes_no_second_notification(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let inbox = stack.inbox(&zoe);
    let welcome = eventually("the welcome is in the inbox", || {
        let mut inbox = inbox.clone();
        async move {
            inbox
                .list_notifications(pb::ListNotificationsRequest::default())
                .await
                .unwrap()
                .into_inner()
                .notifications
                .into_iter()
                .find(|n| n.kind() == pb::NotificationKind::Welcome)
        }
    })
    .await;
    email_becomes(&inbox, &welcome.id, pb::DeliveryStatus::Sent).await;
    let members_db = &stack.members.db;
    eventually("the relay marks the outbox row delivered", || async move {
        (relay::pending_count(members_db).await.unwrap() == 0).then_some(())
    })
    .await;
    let rows: Vec<(String, String, String, String, i64)> = with_db!(members_db, pool => {
        sqlx::query_as("SELECT id, topic, dedupe_key, payload, attempts FROM outbox ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    let row = rows
        .into_iter()
        .map(|(id, topic, dedupe_key, payload, attempts)| OutboxRow {
            id,
            topic,
            dedupe_key,
            payload: serde_json::from_str(&payload).unwrap(),
            attempts,
        })
        .find(|row| row.payload["recipient_id"] == zoe.id.as_str())
        .expect("the welcome's outbox row");
    assert_eq!(row.payload["kind"], "WELCOME");
    assert_eq!(row.attempts, 1);

    // What a relay sends for that row, sent again as it would be by a relay that died after
    // sending and before marking it: a duplicate, twice over.
    let payload = relay::notification_request(&row).unwrap();
    for _ in 0..2 {
        let response = deliver(&stack, vec![payload.clone()]).await;
        assert_eq!((response.accepted_count, response.duplicate_count), (0, 1));
    }

    // The relay itself redelivers the row once it looks unsent and due again.
    let past = Utc::now() - chrono::Duration::minutes(1);
    with_db!(members_db, pool => {
        sqlx::query("UPDATE outbox SET delivered_at = NULL, next_attempt_at = $1 WHERE id = $2")
            .bind(past)
            .bind(&row.id)
            .execute(pool)
            .await
            .unwrap();
    });
    eventually("the relay delivers the row again", || {
        let id = row.id.clone();
        async move {
            let (delivered, attempts): (Option<DateTime<Utc>>, i64) = with_db!(members_db, pool => {
                sqlx::query_as("SELECT delivered_at, attempts FROM outbox WHERE id = $1")
                    .bind(&id)
                    .fetch_one(pool)
                    .await
                    .unwrap()
            });
            (delivered.is_some() && attempts == 2).then_some(())
        }
    })
    .await;

    let welcomes: Vec<pb::Notification> = inbox
        .clone()
        .list_notifications(pb::ListNotificationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .notifications
        .into_iter()
        .filter(|n| n.kind() == pb::NotificationKind::Welcome)
        .collect();
    assert_eq!(welcomes.len(), 1);
    assert_eq!(welcomes[0].id, welcome.id);
    assert_eq!(all_deliveries(&inbox).await.len(), 2);
    let (in_app, email) = deliveries_of(&inbox, &welcome.id).await;
    assert_eq!(in_app.status(), pb::DeliveryStatus::Sent);
    assert_eq!(
        (email.status(), email.attempts),
        (pb::DeliveryStatus::Sent, 1)
    );
    assert_eq!(emails_about(&stack, &welcome.id), 1);
    stack.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Scheduling
// ---------------------------------------------------------------------------------------------

async fn a_notification_waits_for_its_not_before_time(backend: Backend) {
    let clock = Clock::manual(Utc::now().trunc_subsecs(0));
    let stack = Stack::start_with(StackStart {
        clock: clock.clone(),
        ..StackStart::new(backend)
    })
    .await
    .unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let inbox = stack.inbox(&zoe);
    let (later, now, past) = (new_id(), new_id(), new_id());
    let due = clock.now() + chrono::Duration::minutes(10);
    let response = deliver(
        &stack,
        vec![
            request(
                &zoe.id,
                pb::NotificationKind::EventReminder,
                &format!("reminder:{later}:{}", zoe.id),
                &later,
                Some(due),
            ),
            invitation(&zoe.id, &format!("invite:{now}:{}", zoe.id), &now),
            request(
                &zoe.id,
                pb::NotificationKind::EventReminder,
                &format!("reminder:{past}:{}", zoe.id),
                &past,
                Some(clock.now() - chrono::Duration::hours(1)),
            ),
        ],
    )
    .await;
    assert_eq!(response.accepted_count, 3);

    // Unset and past not-before times mean now.
    let immediate = inbox_about(&inbox, &now).await;
    assert_eq!(immediate.len(), 1);
    assert_eq!(inbox_about(&inbox, &past).await.len(), 1);
    // Once the worker has sent the immediate email, it has passed over the scheduled one.
    email_becomes(&inbox, &immediate[0].id, pb::DeliveryStatus::Sent).await;
    assert!(inbox_about(&inbox, &later).await.is_empty());
    let scheduled: Vec<pb::Delivery> = all_deliveries(&inbox)
        .await
        .into_iter()
        .filter(|d| {
            d.kind() == pb::NotificationKind::EventReminder
                && d.status() == pb::DeliveryStatus::Pending
        })
        .collect();
    assert_eq!(scheduled.len(), 2, "in-app and email: {scheduled:?}");
    for delivery in &scheduled {
        assert_eq!(delivery.next_attempt_time, Some(timestamp(due)));
        assert_eq!(delivery.attempts, 0);
    }
    let notification_id = scheduled[0].notification_id.clone();
    assert_eq!(emails_about(&stack, &notification_id), 0);

    clock.advance(chrono::Duration::minutes(10));
    let shown = eventually("the reminder reaches the inbox when due", || {
        let inbox = inbox.clone();
        let later = later.clone();
        async move { inbox_about(&inbox, &later).await.into_iter().next() }
    })
    .await;
    assert_eq!(shown.id, notification_id);
    assert!(!shown.read);
    email_becomes(&inbox, &notification_id, pb::DeliveryStatus::Sent).await;
    let (in_app, _) = deliveries_of(&inbox, &notification_id).await;
    assert_eq!(in_app.status(), pb::DeliveryStatus::Sent);
    assert_eq!(emails_about(&stack, &notification_id), 1);
    stack.stop().await.unwrap();
}

async fn cancel_scheduled_drops_unsent_notifications_with_the_prefix_only(backend: Backend) {
    let clock = Clock::manual(Utc::now().trunc_subsecs(0));
    let stack = Stack::start_with(StackStart {
        clock: clock.clone(),
        ..StackStart::new(backend)
    })
    .await
    .unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let event = new_id();
    let other = new_id();
    let hour = chrono::Duration::hours(1);
    let at = |hours: i32| Some(clock.now() + hour * hours);
    let reminder = |key: String, event_id: &str, not_before| {
        request(
            &zoe.id,
            pb::NotificationKind::EventReminder,
            &key,
            event_id,
            not_before,
        )
    };
    let prefix = format!("reminder:{event}:{}:", zoe.id);
    let response = deliver(
        &stack,
        vec![
            // Two scheduled reminders of the event: cancelled.
            reminder(format!("{prefix}24h"), &event, at(1)),
            reminder(format!("{prefix}2h"), &event, at(2)),
            // Already sent: kept.
            reminder(format!("{prefix}now"), &event, None),
            // Another event's reminder: kept.
            reminder(format!("reminder:{other}:{}:24h", zoe.id), &other, at(1)),
            // Keys that match the prefix only when case or `_`/`%` are ignored: kept.
            reminder(format!("REMINDER:{event}:{}:24h", zoe.id), "case", at(1)),
        ],
    )
    .await;
    assert_eq!(response.accepted_count, 5);
    let wildcard = deliver(
        &stack,
        vec![
            reminder(format!("promo_{event}:1"), "underscore", at(1)),
            reminder(format!("promoX{event}:1"), "any-character", at(1)),
        ],
    )
    .await;
    assert_eq!(wildcard.accepted_count, 2);

    let mut internal = stack.deliverer().unwrap();
    let cancelled = internal
        .cancel_scheduled(pb::CancelScheduledRequest {
            key_prefix: prefix.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.cancelled_count, 2);
    let cancelled = internal
        .cancel_scheduled(pb::CancelScheduledRequest {
            key_prefix: format!("promo_{event}:"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.cancelled_count, 1);
    // Idempotent: nothing is left to cancel.
    let again = internal
        .cancel_scheduled(pb::CancelScheduledRequest {
            key_prefix: prefix.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.cancelled_count, 0);
    // A cancelled key is still known: delivering it again is a duplicate.
    let retried = deliver(
        &stack,
        vec![reminder(format!("{prefix}24h"), &event, at(1))],
    )
    .await;
    assert_eq!((retried.accepted_count, retried.duplicate_count), (0, 1));

    // The scheduled times pass; the worker shows what was not cancelled.
    clock.advance(hour * 3);
    let inbox = sign_in_again(&stack, &zoe).await;
    for kept in [other.as_str(), "case", "any-character"] {
        eventually("a reminder that was not cancelled is shown", || {
            let inbox = inbox.clone();
            async move { (!inbox_about(&inbox, kept).await.is_empty()).then_some(()) }
        })
        .await;
    }
    let shown = inbox_about(&inbox, &event).await;
    assert_eq!(shown.len(), 1, "only the reminder sent at once: {shown:?}");
    assert!(inbox_about(&inbox, "underscore").await.is_empty());

    let deliveries: Vec<pb::Delivery> = all_deliveries(&inbox)
        .await
        .into_iter()
        .filter(|d| d.kind() == pb::NotificationKind::EventReminder)
        .collect();
    let suppressed: Vec<&pb::Delivery> = deliveries
        .iter()
        .filter(|d| d.status() == pb::DeliveryStatus::Suppressed)
        .collect();
    // Both channels of the three cancelled notifications.
    assert_eq!(suppressed.len(), 6, "{deliveries:?}");
    for delivery in &suppressed {
        assert_eq!(delivery.attempts, 0);
        assert!(delivery.next_attempt_time.is_none());
        assert!(delivery.sent_time.is_none());
        assert_eq!(emails_about(&stack, &delivery.notification_id), 0);
    }
    let (in_app, _) = deliveries_of(&inbox, &shown[0].id).await;
    assert_eq!(in_app.status(), pb::DeliveryStatus::Sent);
    email_becomes(&inbox, &shown[0].id, pb::DeliveryStatus::Sent).await;
    stack.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Preferences and quiet hours
// ---------------------------------------------------------------------------------------------

async fn default_preferences_email_invitations_but_not_connection_requests(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let prefs = stack
        .inbox(&zoe)
        .get_preferences(pb::GetPreferencesRequest {})
        .await
        .unwrap()
        .into_inner()
        .preferences
        .unwrap();
    assert_eq!(prefs.member_id, zoe.id);
    assert_eq!(prefs.time_zone, "Europe/Paris");
    assert!(prefs.quiet_hours.is_none_or(|q| !q.enabled));
    let enabled: HashMap<(pb::NotificationKind, pb::Channel), bool> = prefs
        .channel_preferences
        .iter()
        .map(|p| ((p.kind(), p.channel()), p.enabled))
        .collect();
    // Every kind × channel is listed.
    assert_eq!(enabled.len(), prefs.channel_preferences.len());
    assert_eq!(enabled.len(), 21 * 2);
    use pb::Channel::{Email, InApp};
    use pb::NotificationKind as K;
    assert!(enabled[&(K::EventInvitation, Email)]);
    assert!(enabled[&(K::EventReminder, Email)]);
    assert!(!enabled[&(K::ConnectionRequested, Email)]);
    assert!(!enabled[&(K::ChapterNewEvent, Email)]);
    assert!(
        enabled
            .iter()
            .filter(|((_, channel), _)| *channel == InApp)
            .all(|(_, on)| *on)
    );
    stack.stop().await.unwrap();
}

async fn a_channel_turned_off_for_a_kind_is_suppressed_and_the_others_still_go_out(
    backend: Backend,
) {
    let stack = Stack::start(backend).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let mut inbox = stack.inbox(&zoe);
    let off = |kind: pb::NotificationKind, channel: pb::Channel| pb::ChannelPreference {
        kind: kind.into(),
        channel: channel.into(),
        enabled: false,
    };
    let updated = inbox
        .update_preferences(pb::UpdatePreferencesRequest {
            preferences: Some(pb::Preferences {
                channel_preferences: vec![
                    off(pb::NotificationKind::EventInvitation, pb::Channel::Email),
                    off(pb::NotificationKind::EventAnnouncement, pb::Channel::InApp),
                ],
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["channel_preferences".to_owned()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .preferences
        .unwrap();
    let is_on = |kind: pb::NotificationKind, channel: pb::Channel| {
        updated
            .channel_preferences
            .iter()
            .find(|p| p.kind() == kind && p.channel() == channel)
            .unwrap()
            .enabled
    };
    assert!(!is_on(
        pb::NotificationKind::EventInvitation,
        pb::Channel::Email
    ));
    assert!(is_on(
        pb::NotificationKind::EventInvitation,
        pb::Channel::InApp
    ));
    assert!(is_on(
        pb::NotificationKind::EventUpdated,
        pb::Channel::Email
    ));

    let (invited, updated_event, announced) = (new_id(), new_id(), new_id());
    let response = deliver(
        &stack,
        vec![
            invitation(&zoe.id, &format!("invite:{invited}"), &invited),
            request(
                &zoe.id,
                pb::NotificationKind::EventUpdated,
                &format!("updated:{updated_event}"),
                &updated_event,
                None,
            ),
            request(
                &zoe.id,
                pb::NotificationKind::EventAnnouncement,
                &format!("announcement:{announced}"),
                &announced,
                None,
            ),
        ],
    )
    .await;
    assert_eq!(response.accepted_count, 3);

    // Email off: the inbox still shows it, the email is suppressed and never sent.
    let invitation = inbox_about(&inbox, &invited).await;
    assert_eq!(invitation.len(), 1);
    let (in_app, email) = deliveries_of(&inbox, &invitation[0].id).await;
    assert_eq!(in_app.status(), pb::DeliveryStatus::Sent);
    assert_eq!(email.status(), pb::DeliveryStatus::Suppressed);
    assert_eq!(email.attempts, 0);
    // Another kind with email on goes out by email.
    let other = inbox_about(&inbox, &updated_event).await;
    assert_eq!(other.len(), 1);
    email_becomes(&inbox, &other[0].id, pb::DeliveryStatus::Sent).await;
    // In-app off: not in the inbox, the in-app delivery suppressed.
    assert!(inbox_about(&inbox, &announced).await.is_empty());
    let announcement = all_deliveries(&inbox)
        .await
        .into_iter()
        .find(|d| {
            d.kind() == pb::NotificationKind::EventAnnouncement && d.channel() == pb::Channel::InApp
        })
        .unwrap();
    assert_eq!(announcement.status(), pb::DeliveryStatus::Suppressed);
    assert_eq!(emails_about(&stack, &invitation[0].id), 0);
    stack.stop().await.unwrap();
}

async fn quiet_hours_hold_email_until_they_end_but_not_the_inbox(backend: Backend) {
    // 23:00 in Paris tonight.
    let paris = chrono_tz::Europe::Paris;
    let today = Utc::now().with_timezone(&paris).date_naive();
    let eleven_pm = paris
        .from_local_datetime(&today.and_hms_opt(23, 0, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc);
    let clock = Clock::manual(eleven_pm);
    let stack = Stack::start_with(StackStart {
        clock: clock.clone(),
        ..StackStart::new(backend)
    })
    .await
    .unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let mut inbox = stack.inbox(&zoe);
    let prefs = inbox
        .update_preferences(pb::UpdatePreferencesRequest {
            preferences: Some(pb::Preferences {
                quiet_hours: Some(pb::QuietHours {
                    start: "22:00".to_owned(),
                    end: "07:00".to_owned(),
                    enabled: true,
                }),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["quiet_hours".to_owned()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .preferences
        .unwrap();
    assert_eq!(
        prefs.quiet_hours,
        Some(pb::QuietHours {
            start: "22:00".to_owned(),
            end: "07:00".to_owned(),
            enabled: true,
        })
    );

    let event_id = new_id();
    let response = deliver(
        &stack,
        vec![invitation(
            &zoe.id,
            &format!("invite:{event_id}"),
            &event_id,
        )],
    )
    .await;
    assert_eq!(response.accepted_count, 1);
    // The inbox shows it at once.
    let shown = inbox_about(&inbox, &event_id).await;
    assert_eq!(shown.len(), 1);
    let notification_id = shown[0].id.clone();
    // The email waits for 07:00 in Paris tomorrow.
    let seven_am = paris
        .from_local_datetime(&today.succ_opt().unwrap().and_hms_opt(7, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc);
    let held = eventually("the worker holds the email back", || {
        let inbox = inbox.clone();
        let id = notification_id.clone();
        async move {
            let (_, email) = deliveries_of(&inbox, &id).await;
            (email.next_attempt_time == Some(timestamp(seven_am))).then_some(email)
        }
    })
    .await;
    assert_eq!(held.status(), pb::DeliveryStatus::Pending);
    assert_eq!(
        held.attempts, 0,
        "waiting out quiet hours is not an attempt"
    );
    assert!(held.last_error.is_empty());
    assert_eq!(emails_about(&stack, &notification_id), 0);

    // Past 07:00 local (nine hours later, whatever a DST change that night does).
    clock.advance(chrono::Duration::hours(9));
    let inbox = sign_in_again(&stack, &zoe).await;
    let sent = email_becomes(&inbox, &notification_id, pb::DeliveryStatus::Sent).await;
    assert_eq!(sent.attempts, 1);
    assert_eq!(sent.sent_time, Some(timestamp(clock.now())));
    assert_eq!(emails_about(&stack, &notification_id), 1);
    stack.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Volume
// ---------------------------------------------------------------------------------------------

/// Seeds `count` members straight into the members database, 500 per INSERT.
async fn seed_members(stack: &Stack, count: usize) -> Vec<String> {
    let ids: Vec<String> = (0..count).map(|_| new_id()).collect();
    let now = Utc::now();
    with_db!(&stack.members.db, pool => {
        for chunk in ids.chunks(500) {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO members (id, email, display_name, locale, time_zone, visibility, \
                 created_at, updated_at) ",
            );
            qb.push_values(chunk, |mut row, id| {
                row.push_bind(id.clone())
                    .push_bind(format!("member.{id}@example.com"))
                    .push_bind(format!("Member {}", &id[id.len() - 6..]))
                    .push_bind("fr")
                    .push_bind("Europe/Paris")
                    .push_bind("public")
                    .push_bind(now)
                    .push_bind(now);
            });
            qb.build().execute(pool).await.unwrap();
        }
    });
    ids
}

async fn ten_thousand_recipients_in_one_call_are_accepted(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let members = seed_members(&stack, 10_000).await;
    let event_id = new_id();
    let key_prefix = format!("chapter:{event_id}:");
    let call: Vec<pb::NotificationRequest> = members
        .iter()
        .map(|member| {
            request(
                member,
                pb::NotificationKind::ChapterNewEvent,
                &format!("{key_prefix}{member}"),
                &event_id,
                None,
            )
        })
        .collect();

    let started = Instant::now();
    let response = deliver(&stack, call.clone()).await;
    let elapsed = started.elapsed();
    eprintln!("{backend:?}: Deliver of 10,000 notifications took {elapsed:?}");
    assert_eq!(
        (response.accepted_count, response.duplicate_count),
        (10_000, 0)
    );

    let (notifications, deliveries): (i64, i64) = with_db!(&stack.notifications.db, pool => {
        let notifications = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE dedupe_key LIKE $1 AND visible_at IS NOT NULL",
        )
        .bind(format!("{key_prefix}%"))
        .fetch_one(pool)
        .await
        .unwrap();
        let deliveries = sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries d JOIN notifications n ON n.id = d.notification_id \
             WHERE n.dedupe_key LIKE $1",
        )
        .bind(format!("{key_prefix}%"))
        .fetch_one(pool)
        .await
        .unwrap();
        (notifications, deliveries)
    });
    assert_eq!(notifications, 10_000);
    assert_eq!(deliveries, 20_000);

    // The producer retries the whole call: all duplicates.
    let started = Instant::now();
    let response = deliver(&stack, call).await;
    eprintln!(
        "{backend:?}: the same Deliver again took {:?}",
        started.elapsed()
    );
    assert_eq!(
        (response.accepted_count, response.duplicate_count),
        (0, 10_000)
    );
    stack.stop().await.unwrap();
}

backend_tests!(
    the_same_deliver_sent_twenty_times_at_once_makes_one_notification,
    duplicate_keys_within_one_call_make_one_notification_each,
    a_relay_redelivering_an_outbox_row_makes_no_second_notification,
    a_notification_waits_for_its_not_before_time,
    cancel_scheduled_drops_unsent_notifications_with_the_prefix_only,
    default_preferences_email_invitations_but_not_connection_requests,
    a_channel_turned_off_for_a_kind_is_suppressed_and_the_others_still_go_out,
    quiet_hours_hold_email_until_they_end_but_not_the_inbox,
    ten_thousand_recipients_in_one_call_are_accepted,
);
