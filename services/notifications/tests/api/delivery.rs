//! Deliver and the delivery worker: idempotency on the dedupe key (concurrent retries,
//! duplicates within a call, a relay that redelivers an outbox row), members' relay against
//! this receiver (a refused row in a batch, the end of an outage), not-before times,
//! CancelScheduled and pruning (with the injectable clock).

use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::outbox::{OutboxMessage, OutboxWriter as _};
use rendezvous_common::relay::{self, OutboxRow, RelaySettings};
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{
    Backend, MembersSettings, Stack, StackStart, WorkerSettings, backend_tests, timestamp,
};

use crate::helpers::{
    EVENT_TITLE, channels_of as deliveries_of, deliver, deliveries as delivery_log, email_becomes,
    emails_about, event_facts, event_notice, event_of, eventually, first_of_kind, host,
    inbox_about, invitation, new_id, notification_about, notifications_of, request, settled_member,
    tagged,
};

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
    let invitations = delivery_log(&inbox, "")
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
    let later_copy = event_facts(&first, "A later copy");
    let repeated = request(
        &zoe.id,
        pb::EventInvitation {
            event: Some(later_copy),
            inviter: Some(host()),
        },
        &key,
        None,
    );
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
    assert_eq!(event_of(&found[0]).unwrap().title, EVENT_TITLE);
    assert_eq!(inbox_about(&inbox, &second).await.len(), 1);
    stack.stop().await.unwrap();
}

async fn a_relay_redelivering_an_outbox_row_makes_no_second_notification(backend: Backend) {
    // The welcome's outbox row as the relay first reads it (notifications is down, so it
    // waits in the outbox with its payload; once delivered, the row is deleted).
    let start = StackStart::new(backend);
    let (members, notifications_addr) = Stack::start_members_only(&start).await.unwrap();
    let zoe = members.register("Zoé").await.unwrap();
    let rows: Vec<(String, String, String, String, i64)> = with_db!(&members.db, |pool| {
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
            traceparent: None,
        })
        .find(|row| row.payload["recipient_id"] == zoe.id.as_str())
        .expect("the welcome's outbox row");
    let stack = Stack::start_notifications_at(&start, members, notifications_addr)
        .await
        .unwrap();
    let inbox = stack.inbox(&zoe);
    let welcome = first_of_kind(&inbox, pb::NotificationKind::Welcome).await;
    email_becomes(&inbox, &welcome.id, pb::DeliveryStatus::Sent).await;
    let members_db = &stack.members.db;
    eventually("the relay marks the outbox row delivered", || async move {
        (relay::pending_count(members_db).await.unwrap() == 0).then_some(())
    })
    .await;
    assert_eq!(row.payload["kind"], "WELCOME");

    // What a relay sends for that row, sent again as it would be by a relay that died after
    // sending and before marking it: a duplicate, twice over.
    let payload = relay::notification_request(&row).unwrap();
    for _ in 0..2 {
        let response = deliver(&stack, vec![payload.clone()]).await;
        assert_eq!((response.accepted_count, response.duplicate_count), (0, 1));
    }

    // The relay itself delivers the row again when it is back in the outbox and due, as a
    // relay that died after sending and before deleting it leaves it.
    let past = Utc::now() - chrono::Duration::minutes(1);
    with_db!(members_db, |pool| {
        sqlx::query(
            "INSERT INTO outbox (id, topic, dedupe_key, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&row.id)
        .bind(&row.topic)
        .bind(&row.dedupe_key)
        .bind(row.payload.to_string())
        .bind(past)
        .execute(pool)
        .await
        .unwrap();
    });
    eventually("the relay delivers the row again and deletes it", || {
        let id = row.id.clone();
        async move {
            let left: i64 = with_db!(members_db, |pool| {
                sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE id = $1")
                    .bind(&id)
                    .fetch_one(pool)
                    .await
                    .unwrap()
            });
            (left == 0).then_some(())
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
    assert_eq!(delivery_log(&inbox, "").await.len(), 2);
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
// Members' relay against this receiver
// ---------------------------------------------------------------------------------------------

async fn a_refused_row_is_dead_lettered_while_the_rest_of_its_batch_is_delivered(backend: Backend) {
    let start = StackStart {
        members: MembersSettings {
            relay: RelaySettings {
                max_refusals: 2,
                ..RelaySettings::default()
            },
            ..rendezvous_testkit::members_settings()
        },
        ..StackStart::new(backend)
    };
    let stack = Stack::start_with(start).await.unwrap();
    let zoe = settled_member(&stack, "Zoé").await;
    let zoe_id = uuid::Uuid::try_parse(&zoe.id).unwrap();
    // Five invitations for Zoé and, in their midst, one whose recipient is no member id:
    // written in one transaction, as a producer writes them, so the relay claims them as one
    // batch, and Deliver refuses a call with a bad item in it whole (INVALID_ARGUMENT).
    let events: Vec<String> = (0..5).map(|_| new_id()).collect();
    let mut messages: Vec<OutboxMessage> = events
        .iter()
        .map(|event| {
            let notice = event_notice(pb::NotificationKind::EventInvitation, event);
            OutboxMessage::notice(zoe_id, format!("invite:{event}:{}", zoe.id), notice, None)
        })
        .collect();
    let notice = event_notice(pb::NotificationKind::EventInvitation, &new_id());
    let mut bad = OutboxMessage::notice(zoe_id, "invite:bad".to_owned(), notice, None);
    bad.payload["recipient_id"] = serde_json::json!("not-a-member-id");
    messages.insert(2, bad);
    let members_db = &stack.members.db;
    with_db!(members_db, |pool| {
        let mut tx = pool.begin_write().await.unwrap();
        for message in &messages {
            assert!(tx.enqueue(message, Utc::now()).await.unwrap());
        }
        tx.commit().await.unwrap();
    });

    // The rest of the batch arrives, once each.
    let inbox = stack.inbox(&zoe);
    for event in &events {
        notification_about(&inbox, event).await;
    }
    // The refused row is a dead letter after its second refusal, with the receiver's reason.
    let dead = eventually("the refused row is dead-lettered", || async move {
        relay::dead_letters(members_db, None, 10)
            .await
            .unwrap()
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(dead.dedupe_key, "invite:bad");
    assert_eq!((dead.refusals, dead.attempts), (2, 2));
    let reason = dead.last_error.unwrap_or_default();
    assert!(
        reason.contains("InvalidArgument") && reason.contains("recipient_id"),
        "{reason}"
    );
    assert_eq!(relay::dead_letter_count(members_db).await.unwrap(), 1);
    assert_eq!(relay::pending_count(members_db).await.unwrap(), 0);
    let invitations = notifications_of(&inbox)
        .await
        .into_iter()
        .filter(|n| n.kind() == pb::NotificationKind::EventInvitation)
        .count();
    assert_eq!(invitations, 5, "none lost, none doubled");
    stack.stop().await.unwrap();
}

async fn delivery_resumes_within_two_seconds_of_an_outage_ending(backend: Backend) {
    // Members' relay runs with the production settings: the defaults.
    let start = StackStart::new(backend);
    assert_eq!(start.members.relay, RelaySettings::default());
    let (members, notifications_addr) = Stack::start_members_only(&start).await.unwrap();
    let zoe = members.register("Zoé").await.unwrap();
    // Notifications stays down until the welcome's back-off has grown: its next attempt is
    // more than five seconds away (and not because a relay holds it right now).
    let waiting = async {
        loop {
            let row: Option<(i64, DateTime<Utc>)> = with_db!(&members.db, |pool| {
                sqlx::query_as(
                    "SELECT attempts, next_attempt_at FROM outbox WHERE leased_until IS NULL",
                )
                .fetch_optional(pool)
                .await
                .unwrap()
            });
            if let Some((attempts, next)) = row
                && next - Utc::now() > chrono::Duration::seconds(5)
            {
                return attempts;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let attempts = tokio::time::timeout(Duration::from_secs(60), waiting)
        .await
        .expect("the back-off did not grow past five seconds within a minute");
    assert!(attempts >= 3, "{attempts} attempts");

    let stack = Stack::start_notifications_at(&start, members, notifications_addr)
        .await
        .unwrap();
    let back = std::time::Instant::now();
    let inbox = stack.inbox(&zoe);
    let deadline = back + Duration::from_secs(2);
    loop {
        let welcome = notifications_of(&inbox)
            .await
            .into_iter()
            .find(|n| n.kind() == pb::NotificationKind::Welcome);
        if welcome.is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the welcome was not delivered within 2 s of notifications coming back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "delivered {:?} after notifications came back (after {attempts} failed attempts)",
        back.elapsed()
    );
    stack.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Scheduling
// ---------------------------------------------------------------------------------------------

async fn a_notification_waits_for_its_not_before_time(backend: Backend) {
    let (stack, clock) = Stack::start_at(backend, Utc::now().trunc_subsecs(0))
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
                event_notice(pb::NotificationKind::EventReminder, &later),
                &format!("reminder:{later}:{}", zoe.id),
                Some(due),
            ),
            invitation(&zoe.id, &format!("invite:{now}:{}", zoe.id), &now),
            request(
                &zoe.id,
                event_notice(pb::NotificationKind::EventReminder, &past),
                &format!("reminder:{past}:{}", zoe.id),
                Some(clock.now() - chrono::Duration::hours(1)),
            ),
        ],
    )
    .await;
    assert_eq!(response.accepted_count, 3);

    // Unset and past not-before times mean now.
    let immediate = inbox_about(&inbox, &now).await;
    assert_eq!(immediate.len(), 1);
    let overdue = inbox_about(&inbox, &past).await;
    assert_eq!(overdue.len(), 1);
    // Once the worker has sent both immediate emails, it has passed over the scheduled one
    // (the overdue email, leased but not yet sent, would look pending too).
    email_becomes(&inbox, &immediate[0].id, pb::DeliveryStatus::Sent).await;
    email_becomes(&inbox, &overdue[0].id, pb::DeliveryStatus::Sent).await;
    assert!(inbox_about(&inbox, &later).await.is_empty());
    let scheduled: Vec<pb::Delivery> = delivery_log(&inbox, "")
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
    let (stack, clock) = Stack::start_at(backend, Utc::now().trunc_subsecs(0))
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
            event_notice(pb::NotificationKind::EventReminder, event_id),
            &key,
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
    let inbox = stack.inbox_after_login(&zoe).await.unwrap();
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

    let deliveries: Vec<pb::Delivery> = delivery_log(&inbox, "")
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
// Pruning
// ---------------------------------------------------------------------------------------------

/// Prunes every 20 ms (of real time), two rows per statement.
fn pruning_worker(w: &mut WorkerSettings) {
    (StackStart::new(Backend::Sqlite).worker)(w);
    w.prune_interval = Duration::from_millis(20);
    w.prune_batch = 2;
}

async fn old_notifications_and_finished_deliveries_are_pruned_after_their_retention(
    backend: Backend,
) {
    let (stack, clock) = {
        let clock = rendezvous_common::clock::Clock::manual(Utc::now().trunc_subsecs(0));
        let start = StackStart {
            clock: clock.clone(),
            worker: pruning_worker,
            ..StackStart::new(backend)
        };
        (Stack::start_with(start).await.unwrap(), clock)
    };
    let zoe = settled_member(&stack, "Zoé").await;
    let inbox = stack.inbox(&zoe);
    let (soon, later) = (new_id(), new_id());
    let mut items: Vec<pb::NotificationRequest> = (0..3)
        .map(|i| {
            invitation(
                &zoe.id,
                &format!("invite:{soon}:{i}"),
                &format!("{soon}-{i}"),
            )
        })
        .collect();
    // A reminder due in 200 days: its deliveries stay pending, and nothing of it goes.
    items.push(request(
        &zoe.id,
        event_notice(pb::NotificationKind::EventReminder, &later),
        &format!("reminder:{later}"),
        Some(clock.now() + chrono::Duration::days(200)),
    ));
    assert_eq!(deliver(&stack, items).await.accepted_count, 4);
    let shown = notifications_of(&inbox).await;
    assert_eq!(shown.len(), 4, "the welcome and three invitations");
    for n in &shown {
        email_becomes(&inbox, &n.id, pb::DeliveryStatus::Sent).await;
    }
    assert_eq!(delivery_log(&inbox, "").await.len(), 10);

    // The delivery log keeps finished deliveries for 30 days, pending ones until they end.
    clock.advance(chrono::Duration::days(30) + chrono::Duration::seconds(1));
    let inbox = stack.inbox_after_login(&zoe).await.unwrap();
    let left = eventually("finished deliveries are pruned", || {
        let inbox = inbox.clone();
        async move {
            let log = delivery_log(&inbox, "").await;
            (log.len() == 2).then_some(log)
        }
    })
    .await;
    assert!(
        left.iter()
            .all(|d| d.status() == pb::DeliveryStatus::Pending
                && d.kind() == pb::NotificationKind::EventReminder),
        "{left:?}"
    );
    assert_eq!(notifications_of(&inbox).await.len(), 4, "the inbox is kept");

    // The inbox keeps notifications for 180 days, read or not.
    clock.advance(chrono::Duration::days(150));
    let inbox = stack.inbox_after_login(&zoe).await.unwrap();
    eventually("old notifications are pruned", || {
        let inbox = inbox.clone();
        async move { notifications_of(&inbox).await.is_empty().then_some(()) }
    })
    .await;
    assert_eq!(
        delivery_log(&inbox, "").await.len(),
        2,
        "the reminder waits"
    );

    // The reminder, created 200 days ago, is shown when due, and kept from then on.
    clock.advance(chrono::Duration::days(20));
    let inbox = stack.inbox_after_login(&zoe).await.unwrap();
    let reminder = first_of_kind(&inbox, pb::NotificationKind::EventReminder).await;
    email_becomes(&inbox, &reminder.id, pb::DeliveryStatus::Sent).await;
    let deliver_again = deliver(&stack, vec![tagged(&zoe, "fresh")]).await;
    assert_eq!(deliver_again.accepted_count, 1);
    // Pruning passes run every 20 ms; after many of them the reminder is still there.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kinds: Vec<pb::NotificationKind> = notifications_of(&inbox)
        .await
        .iter()
        .map(pb::Notification::kind)
        .collect();
    assert_eq!(
        kinds,
        [
            pb::NotificationKind::ChapterNewEvent,
            pb::NotificationKind::EventReminder
        ]
    );
    stack.stop().await.unwrap();
}

/// Prunes at start only.
fn rarely_pruning_worker(w: &mut WorkerSettings) {
    (StackStart::new(Backend::Sqlite).worker)(w);
    w.prune_interval = Duration::from_secs(24 * 3600);
}

async fn pruning_deletes_at_most_a_batch_per_statement(backend: Backend) {
    let clock = rendezvous_common::clock::Clock::manual(Utc::now().trunc_subsecs(0));
    let start = StackStart {
        clock: clock.clone(),
        worker: rarely_pruning_worker,
        ..StackStart::new(backend)
    };
    let stack = Stack::start_with(start).await.unwrap();
    let zoe = settled_member(&stack, "Zoé").await;
    let welcome = first_of_kind(&stack.inbox(&zoe), pb::NotificationKind::Welcome).await;
    email_becomes(&stack.inbox(&zoe), &welcome.id, pb::DeliveryStatus::Sent).await;
    // Five in-app notifications with email off: both deliveries finished at once.
    let items: Vec<pb::NotificationRequest> =
        (0..5).map(|i| tagged(&zoe, &format!("t{i}"))).collect();
    assert_eq!(deliver(&stack, items).await.accepted_count, 5);
    let store = rendezvous_notifications::store::Store::new(stack.notifications.db.clone());
    let cutoff = clock.now() + chrono::Duration::seconds(1);
    let mut statements = Vec::new();
    loop {
        let deleted = store.prune_deliveries(cutoff, 4).await.unwrap();
        statements.push(deleted);
        if deleted < 4 {
            break;
        }
    }
    assert_eq!(
        statements,
        [4, 4, 4, 0],
        "twelve deliveries, four at a time"
    );
    let mut statements = Vec::new();
    loop {
        let deleted = store.prune_notifications(cutoff, 4).await.unwrap();
        statements.push(deleted);
        if deleted < 4 {
            break;
        }
    }
    assert_eq!(statements, [4, 2], "six notifications, four at a time");
    assert!(notifications_of(&stack.inbox(&zoe)).await.is_empty());
    stack.stop().await.unwrap();
}

backend_tests!(
    the_same_deliver_sent_twenty_times_at_once_makes_one_notification,
    duplicate_keys_within_one_call_make_one_notification_each,
    a_relay_redelivering_an_outbox_row_makes_no_second_notification,
    a_notification_waits_for_its_not_before_time,
    cancel_scheduled_drops_unsent_notifications_with_the_prefix_only,
    a_refused_row_is_dead_lettered_while_the_rest_of_its_batch_is_delivered,
    delivery_resumes_within_two_seconds_of_an_outage_ending,
    old_notifications_and_finished_deliveries_are_pruned_after_their_retention,
    pruning_deletes_at_most_a_batch_per_statement,
    a_call_of_more_than_a_chunk_delivered_again_makes_no_second_notification,
);

/// The store writes a call in multi-row INSERTs of 400 rows: one of 401 notices spans two,
/// and delivering it again (a relay retrying) stores nothing new in either.
async fn a_call_of_more_than_a_chunk_delivered_again_makes_no_second_notification(
    backend: Backend,
) {
    let stack = Stack::start(backend).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let call: Vec<pb::NotificationRequest> = (0..401)
        .map(|_| {
            let event = new_id();
            invitation(&zoe.id, &format!("invite:{event}:{}", zoe.id), &event)
        })
        .collect();
    let response = deliver(&stack, call.clone()).await;
    assert_eq!(
        (response.accepted_count, response.duplicate_count),
        (401, 0)
    );
    let response = deliver(&stack, call).await;
    assert_eq!(
        (response.accepted_count, response.duplicate_count),
        (0, 401)
    );
    let (notifications, deliveries): (i64, i64) = with_db!(&stack.notifications.db, |pool| {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM notifications WHERE recipient_id = $1 \
             AND kind = 'EVENT_INVITATION'), \
             (SELECT COUNT(*) FROM deliveries d JOIN notifications n ON n.id = d.notification_id \
             WHERE d.recipient_id = $1 AND n.kind = 'EVENT_INVITATION')",
        )
        .bind(zoe.id.as_str())
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!(
        (notifications, deliveries),
        (401, 802),
        "one in-app and one email each"
    );
    stack.stop().await.unwrap();
}
