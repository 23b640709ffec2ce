//! Who gets what over which channel: default and changed preferences per kind and channel,
//! quiet hours in the member's zone (with the injectable clock), and a 10,000-recipient call.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{TimeZone as _, Utc};
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{Backend, Stack, backend_tests, timestamp};

use crate::helpers::{
    channels_of as deliveries_of, deliver, deliveries as delivery_log, email_becomes, emails_about,
    event_notice, eventually, inbox_about, invitation, new_id, night, preferences_of, request,
    update_preferences,
};

// ---------------------------------------------------------------------------------------------
// Preferences and quiet hours
// ---------------------------------------------------------------------------------------------

async fn default_preferences_email_invitations_but_not_connection_requests(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let prefs = preferences_of(&stack.inbox(&zoe)).await;
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
    assert_eq!(enabled.len(), 27 * 2);
    use pb::Channel::{Email, InApp};
    use pb::NotificationKind as K;
    assert!(enabled[&(K::EventInvitation, Email)]);
    assert!(enabled[&(K::EventReminder, Email)]);
    assert!(enabled[&(K::CoffeeProposed, Email)]);
    assert!(enabled[&(K::CoffeeMatched, Email)]);
    assert!(enabled[&(K::CoffeeScheduled, Email)]);
    assert!(enabled[&(K::WantToMeetMutual, Email)]);
    assert!(enabled[&(K::ChapterDormant, Email)]);
    assert!(enabled[&(K::RemeetNudge, Email)]);
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
    let inbox = stack.inbox(&zoe);
    let off = |kind: pb::NotificationKind, channel: pb::Channel| pb::ChannelPreference {
        kind: kind.into(),
        channel: channel.into(),
        enabled: false,
    };
    let preferences = pb::Preferences {
        channel_preferences: vec![
            off(pb::NotificationKind::EventInvitation, pb::Channel::Email),
            off(pb::NotificationKind::EventAnnouncement, pb::Channel::InApp),
        ],
        ..Default::default()
    };
    let updated = update_preferences(&inbox, preferences, &["channel_preferences"]).await;
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
                event_notice(pb::NotificationKind::EventUpdated, &updated_event),
                &format!("updated:{updated_event}"),
                None,
            ),
            request(
                &zoe.id,
                event_notice(pb::NotificationKind::EventAnnouncement, &announced),
                &format!("announcement:{announced}"),
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
    let announcement = delivery_log(&inbox, "")
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
    let (stack, clock) = Stack::start_at(backend, eleven_pm).await.unwrap();
    let zoe = stack.members.register("Zoé").await.unwrap();
    let inbox = stack.inbox(&zoe);
    let quiet = pb::Preferences {
        quiet_hours: Some(night()),
        ..Default::default()
    };
    let prefs = update_preferences(&inbox, quiet, &["quiet_hours"]).await;
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
    let inbox = stack.inbox_after_login(&zoe).await.unwrap();
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
    with_db!(&stack.members.db, |pool| {
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
                event_notice(pb::NotificationKind::ChapterNewEvent, &event_id),
                &format!("{key_prefix}{member}"),
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

    let (notifications, deliveries): (i64, i64) = with_db!(&stack.notifications.db, |pool| {
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
    default_preferences_email_invitations_but_not_connection_requests,
    a_channel_turned_off_for_a_kind_is_suppressed_and_the_others_still_go_out,
    quiet_hours_hold_email_until_they_end_but_not_the_inbox,
    ten_thousand_recipients_in_one_call_are_accepted,
);
