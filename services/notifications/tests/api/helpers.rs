//! What the notification tests share: typed notices and Deliver items as producers write them,
//! and readers of the inbox, the delivery log and the written emails; polling, the stack on a
//! manual clock and signing in again are the testkit's.

use chrono::{DateTime, TimeZone as _, Utc};
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
pub use rendezvous_testkit::eventually;
use rendezvous_testkit::{NotificationClient, Stack, TestMember, timestamp};

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

// ---------------------------------------------------------------------------------------------
// Notices and Deliver items
// ---------------------------------------------------------------------------------------------

/// The title of the events the tests notify about.
pub const EVENT_TITLE: &str = "Apéro des fondateurs";

/// An event as its producer describes it: an evening at a café in Paris.
pub fn event_facts(event_id: &str, title: &str) -> pb::EventFacts {
    let start = Utc.with_ymd_and_hms(2030, 6, 5, 17, 30, 0).unwrap();
    rendezvous_testkit::event_facts(event_id, title, start)
}

pub fn host() -> pb::MemberFacts {
    pb::MemberFacts {
        member_id: new_id(),
        display_name: "Hélène".to_owned(),
    }
}

/// A notice of `kind` about the event `event_id`, titled [`EVENT_TITLE`]. Only the event
/// kinds the tests deliver are known.
pub fn event_notice(kind: pb::NotificationKind, event_id: &str) -> pb::Notice {
    let event = Some(event_facts(event_id, EVENT_TITLE));
    match kind {
        pb::NotificationKind::EventInvitation => pb::EventInvitation {
            event,
            inviter: Some(host()),
        }
        .into(),
        pb::NotificationKind::EventReminder => pb::EventReminder {
            event,
            minutes_before: 24 * 60,
        }
        .into(),
        pb::NotificationKind::EventUpdated => pb::EventUpdated {
            previous: Some(pb::EventFacts {
                venue_name: "Le Progrès".to_owned(),
                ..event_facts(event_id, EVENT_TITLE)
            }),
            event,
            time_changed: false,
            venue_changed: true,
        }
        .into(),
        pb::NotificationKind::EventAnnouncement => pb::EventAnnouncement {
            event,
            host: Some(host()),
            message: "The table is at the back.".to_owned(),
        }
        .into(),
        pb::NotificationKind::ChapterNewEvent => pb::ChapterNewEvent {
            chapter: Some(pb::ChapterFacts {
                chapter_id: new_id(),
                name: "Rendezvous Lyon".to_owned(),
            }),
            event,
        }
        .into(),
        other => panic!("no test notice for {other:?}"),
    }
}

/// The event a notification is about, if its kind is about one.
pub fn event_of(n: &pb::Notification) -> Option<&pb::EventFacts> {
    n.notice.as_ref()?.event()
}

/// A Deliver item for `recipient`.
pub fn request(
    recipient: &str,
    notice: impl Into<pb::Notice>,
    key: &str,
    not_before: Option<DateTime<Utc>>,
) -> pb::NotificationRequest {
    pb::NotificationRequest {
        recipient_id: recipient.to_owned(),
        dedupe_key: key.to_owned(),
        not_before: not_before.map(timestamp),
        notice: Some(notice.into()),
    }
}

/// An invitation (email on by default) to the event `event_id`.
pub fn invitation(recipient: &str, key: &str, event_id: &str) -> pb::NotificationRequest {
    request(
        recipient,
        event_notice(pb::NotificationKind::EventInvitation, event_id),
        key,
        None,
    )
}

/// A notification for `to`, recognisable by its tag (the title of the event it announces):
/// a new event of a chapter, in-app on by default and email off, so nothing else goes on.
pub fn tagged(to: &TestMember, tag: &str) -> pb::NotificationRequest {
    request(
        &to.id,
        pb::ChapterNewEvent {
            chapter: Some(pb::ChapterFacts {
                chapter_id: new_id(),
                name: "Lyon".to_owned(),
            }),
            event: Some(event_facts(&new_id(), tag)),
        },
        &format!("test:{tag}:{}", new_id()),
        None,
    )
}

/// The tag of a notification delivered by [`tagged`].
pub fn tag(n: &pb::Notification) -> &str {
    event_of(n).map_or("", |event| event.title.as_str())
}

pub async fn deliver(
    stack: &Stack,
    notifications: Vec<pb::NotificationRequest>,
) -> pb::DeliverResponse {
    stack
        .deliverer()
        .unwrap()
        .deliver(pb::DeliverRequest { notifications })
        .await
        .unwrap()
        .into_inner()
}

/// Delivers one [`tagged`] notification to `to`.
pub async fn deliver_tagged(stack: &Stack, to: &TestMember, tag: &str) {
    let response = deliver(stack, vec![tagged(to, tag)]).await;
    assert_eq!(response.accepted_count, 1, "{tag} was not accepted");
}

// ---------------------------------------------------------------------------------------------
// Members and their inbox
// ---------------------------------------------------------------------------------------------

/// Up to a hundred of the caller's notifications, newest first.
pub async fn notifications_of(inbox: &NotificationClient) -> Vec<pb::Notification> {
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
}

/// Waits for a notification of `kind` in the inbox.
pub async fn first_of_kind(
    inbox: &NotificationClient,
    kind: pb::NotificationKind,
) -> pb::Notification {
    eventually(
        &format!("a {kind:?} notification in the inbox"),
        || async move {
            notifications_of(inbox)
                .await
                .into_iter()
                .find(|n| n.kind() == kind)
        },
    )
    .await
}

/// Registers a member and waits until the welcome notification is in their inbox, so that
/// nothing arrives later than what a test delivers itself.
pub async fn settled_member(stack: &Stack, name: &str) -> TestMember {
    let member = stack.members.register(name).await.unwrap();
    first_of_kind(&stack.inbox(&member), pb::NotificationKind::Welcome).await;
    member
}

/// The member's in-app notifications about the event `event_id`.
pub async fn inbox_about(inbox: &NotificationClient, event_id: &str) -> Vec<pb::Notification> {
    notifications_of(inbox)
        .await
        .into_iter()
        .filter(|n| event_of(n).is_some_and(|event| event.event_id == event_id))
        .collect()
}

/// Waits for the notification about `event_id` in the inbox.
pub async fn notification_about(inbox: &NotificationClient, event_id: &str) -> pb::Notification {
    eventually("the notification is in the inbox", || async move {
        inbox_about(inbox, event_id).await.into_iter().next()
    })
    .await
}

/// Quiet hours from 22:00 to 07:00.
pub fn night() -> pb::QuietHours {
    pb::QuietHours {
        start: "22:00".to_owned(),
        end: "07:00".to_owned(),
        enabled: true,
    }
}

/// The caller's preferences.
pub async fn preferences_of(inbox: &NotificationClient) -> pb::Preferences {
    inbox
        .clone()
        .get_preferences(pb::GetPreferencesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .preferences
        .unwrap()
}

/// Updates the `paths` of the caller's preferences to `preferences`; returns them as stored.
pub async fn update_preferences(
    inbox: &NotificationClient,
    preferences: pb::Preferences,
    paths: &[&str],
) -> pb::Preferences {
    inbox
        .clone()
        .update_preferences(pb::UpdatePreferencesRequest {
            preferences: Some(preferences),
            update_mask: Some(FieldMask {
                paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .preferences
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The delivery log and the written emails
// ---------------------------------------------------------------------------------------------

/// Up to a hundred deliveries of the caller's log, of one notification or (`""`) of all.
pub async fn deliveries(inbox: &NotificationClient, notification_id: &str) -> Vec<pb::Delivery> {
    inbox
        .clone()
        .list_deliveries(pb::ListDeliveriesRequest {
            notification_id: notification_id.to_owned(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries
}

/// The deliveries of one notification, `(in-app, email)`.
pub async fn channels_of(
    inbox: &NotificationClient,
    notification_id: &str,
) -> (pb::Delivery, pb::Delivery) {
    let deliveries = deliveries(inbox, notification_id).await;
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
pub async fn email_becomes(
    inbox: &NotificationClient,
    notification_id: &str,
    status: pb::DeliveryStatus,
) -> pb::Delivery {
    eventually(&format!("email delivery {status:?}"), || async move {
        let (_, email) = channels_of(inbox, notification_id).await;
        (email.status() == status).then_some(email)
    })
    .await
}

/// The `.eml` files a files mailer wrote into `dir`.
pub fn eml_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The message-id an email about `notification_id` carries.
pub fn message_id(notification_id: &str) -> String {
    format!("<{notification_id}@rendezvous.local>")
}

/// `.eml` files the stack's mailer wrote for `notification_id`.
pub fn emails_about(stack: &Stack, notification_id: &str) -> usize {
    let header = format!("Message-ID: {}", message_id(notification_id));
    eml_files(stack.notifications.emails())
        .iter()
        .filter(|raw| raw.contains(&header))
        .count()
}

/// The signer and checker of unsubscribe links the test stack's notifications service uses.
pub fn unsubscribe_tokens() -> rendezvous_notifications::unsubscribe::UnsubscribeTokens {
    rendezvous_notifications::unsubscribe::UnsubscribeTokens::new(
        &rendezvous_testkit::UNSUBSCRIBE_KEY,
        rendezvous_notifications::unsubscribe::DEFAULT_LIFETIME,
    )
}
