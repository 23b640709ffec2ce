//! Bad requests are refused with INVALID_ARGUMENT naming the offending field in `BadRequest`
//! details, one table row per mistake, across every method.

use rendezvous_proto::notifications::v1 as pb;
use rendezvous_proto::prost_types::{FieldMask, Timestamp};
use rendezvous_testkit::{Backend, Stack, TestMember, backend_tests, invalid_argument_naming};
use tonic::Status;

use crate::helpers::{new_id as id, tagged};

/// One call to make.
enum Call {
    Deliver(pb::DeliverRequest),
    CancelScheduled(pb::CancelScheduledRequest),
    ListNotifications(pb::ListNotificationsRequest),
    MarkRead(pb::MarkReadRequest),
    MarkAllRead(pb::MarkAllReadRequest),
    UpdatePreferences(pb::UpdatePreferencesRequest),
    ListDeliveries(pb::ListDeliveriesRequest),
    StreamNotifications(pb::StreamNotificationsRequest),
}

/// One row of the table: what is wrong, the call, the field the error must name.
struct Case {
    what: &'static str,
    call: Call,
    field: &'static str,
}

fn case(what: &'static str, call: Call, field: &'static str) -> Case {
    Case { what, call, field }
}

/// A valid notification request for `to`; the rows spoil one field each.
fn good(to: &TestMember) -> pb::NotificationRequest {
    tagged(to, "good")
}

/// An announcement of the event titled `title` whose host wrote `message`.
fn announcement(title: String, message: String) -> pb::Notice {
    pb::EventAnnouncement {
        event: Some(pb::EventFacts {
            title,
            ..Default::default()
        }),
        host: None,
        message,
    }
    .into()
}

fn deliver(items: Vec<pb::NotificationRequest>) -> Call {
    Call::Deliver(pb::DeliverRequest {
        notifications: items,
    })
}

fn deliver_one(to: &TestMember, spoil: impl FnOnce(&mut pb::NotificationRequest)) -> Call {
    let mut item = good(to);
    spoil(&mut item);
    deliver(vec![item])
}

fn update(preferences: pb::Preferences, paths: &[&str]) -> Call {
    Call::UpdatePreferences(pb::UpdatePreferencesRequest {
        preferences: Some(preferences),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
    })
}

fn channel_preference(kind: i32, channel: i32) -> pb::Preferences {
    pb::Preferences {
        channel_preferences: vec![pb::ChannelPreference {
            kind,
            channel,
            enabled: false,
        }],
        ..Default::default()
    }
}

fn quiet(start: &str, end: &str) -> pb::Preferences {
    pb::Preferences {
        quiet_hours: Some(pb::QuietHours {
            start: start.to_owned(),
            end: end.to_owned(),
            enabled: true,
        }),
        ..Default::default()
    }
}

fn bad_time() -> Option<Timestamp> {
    Some(Timestamp {
        seconds: 1_800_000_000,
        nanos: -1,
    })
}

fn table(anna: &TestMember) -> Vec<Case> {
    let kind = pb::NotificationKind::ChapterNewEvent as i32;
    let in_app = pb::Channel::InApp as i32;
    vec![
        // Deliver
        case("no notifications", deliver(Vec::new()), "notifications"),
        case(
            "more than 10,000 notifications",
            deliver((0..10_001).map(|_| good(anna)).collect()),
            "notifications",
        ),
        case(
            "malformed recipient id",
            deliver_one(anna, |n| n.recipient_id = "anna".to_owned()),
            "notifications[0].recipient_id",
        ),
        case(
            "missing recipient id in the second item",
            deliver(vec![good(anna), {
                let mut n = good(anna);
                n.recipient_id.clear();
                n
            }]),
            "notifications[1].recipient_id",
        ),
        case(
            "no notice",
            deliver_one(anna, |n| n.notice = None),
            "notifications[0].notice",
        ),
        case(
            "a notice without its variant",
            deliver_one(anna, |n| n.notice = Some(pb::Notice::default())),
            "notifications[0].notice",
        ),
        case(
            "empty dedupe key",
            deliver_one(anna, |n| n.dedupe_key.clear()),
            "notifications[0].dedupe_key",
        ),
        case(
            "201-character dedupe key",
            deliver_one(anna, |n| n.dedupe_key = "k".repeat(201)),
            "notifications[0].dedupe_key",
        ),
        case(
            "dedupe key with a control character",
            deliver_one(anna, |n| n.dedupe_key = "key\u{7}bell".to_owned()),
            "notifications[0].dedupe_key",
        ),
        case(
            "a notice of more than 16 KiB",
            deliver_one(anna, |n| {
                n.notice = Some(announcement("t".repeat(17 * 1024), "Hello".to_owned()));
            }),
            "notifications[0].notice",
        ),
        case(
            "an announcement of 2001 characters",
            deliver_one(anna, |n| {
                n.notice = Some(announcement("Apéro".to_owned(), "é".repeat(2001)));
            }),
            "notifications[0].notice.event_announcement.message",
        ),
        case(
            "a connection note of 2001 characters",
            deliver_one(anna, |n| {
                n.notice = Some(
                    pb::ConnectionRequested {
                        note: "n".repeat(2001),
                        ..Default::default()
                    }
                    .into(),
                );
            }),
            "notifications[0].notice.connection_requested.note",
        ),
        case(
            "not_before with nanos -1",
            deliver_one(anna, |n| n.not_before = bad_time()),
            "notifications[0].not_before",
        ),
        // CancelScheduled
        case(
            "2-character key prefix",
            Call::CancelScheduled(pb::CancelScheduledRequest {
                key_prefix: "re".to_owned(),
            }),
            "key_prefix",
        ),
        case(
            "empty key prefix",
            Call::CancelScheduled(pb::CancelScheduledRequest::default()),
            "key_prefix",
        ),
        // ListNotifications
        case(
            "negative page size",
            Call::ListNotifications(pb::ListNotificationsRequest {
                page_size: -1,
                ..Default::default()
            }),
            "page_size",
        ),
        case(
            "forged page token",
            Call::ListNotifications(pb::ListNotificationsRequest {
                page_token: "eyJ0IjoxfQ.Zm9yZ2Vk".to_owned(),
                ..Default::default()
            }),
            "page_token",
        ),
        // MarkRead
        case(
            "no ids",
            Call::MarkRead(pb::MarkReadRequest::default()),
            "notification_ids",
        ),
        case(
            "1001 ids",
            Call::MarkRead(pb::MarkReadRequest {
                notification_ids: (0..1001).map(|_| id()).collect(),
            }),
            "notification_ids",
        ),
        case(
            "malformed id",
            Call::MarkRead(pb::MarkReadRequest {
                notification_ids: vec!["not-a-uuid".to_owned()],
            }),
            "notification_ids[0]",
        ),
        // MarkAllRead
        case(
            "before_time with nanos -1",
            Call::MarkAllRead(pb::MarkAllReadRequest {
                before_time: bad_time(),
            }),
            "before_time",
        ),
        // UpdatePreferences
        case(
            "empty update mask",
            update(channel_preference(kind, in_app), &[]),
            "update_mask",
        ),
        case(
            "unknown mask path",
            update(pb::Preferences::default(), &["member_id"]),
            "update_mask",
        ),
        case(
            "unspecified kind in a channel preference",
            update(channel_preference(0, in_app), &["channel_preferences"]),
            "preferences.channel_preferences[0].kind",
        ),
        case(
            "unknown channel in a channel preference",
            update(channel_preference(kind, 7), &["channel_preferences"]),
            "preferences.channel_preferences[0].channel",
        ),
        case(
            "quiet hours starting at 25:00",
            update(quiet("25:00", "07:00"), &["quiet_hours"]),
            "preferences.quiet_hours.start",
        ),
        case(
            "quiet hours ending at 07:60",
            update(quiet("22:00", "07:60"), &["quiet_hours"]),
            "preferences.quiet_hours.end",
        ),
        case(
            "quiet hours starting when they end",
            update(quiet("22:00", "22:00"), &["quiet_hours"]),
            "preferences.quiet_hours.end",
        ),
        // ListDeliveries
        case(
            "malformed notification id",
            Call::ListDeliveries(pb::ListDeliveriesRequest {
                notification_id: "42".to_owned(),
                ..Default::default()
            }),
            "notification_id",
        ),
        case(
            "unknown status 99",
            Call::ListDeliveries(pb::ListDeliveriesRequest {
                status: 99,
                ..Default::default()
            }),
            "status",
        ),
        case(
            "negative page size",
            Call::ListDeliveries(pb::ListDeliveriesRequest {
                page_size: -5,
                ..Default::default()
            }),
            "page_size",
        ),
        case(
            "forged page token",
            Call::ListDeliveries(pb::ListDeliveriesRequest {
                page_token: "forged".to_owned(),
                ..Default::default()
            }),
            "page_token",
        ),
        // StreamNotifications
        case(
            "malformed resume_after_id",
            Call::StreamNotifications(pb::StreamNotificationsRequest {
                resume_after_id: "yesterday".to_owned(),
            }),
            "resume_after_id",
        ),
    ]
}

async fn call(stack: &Stack, anna: &TestMember, call: Call) -> Result<(), Status> {
    let mut inbox = stack.inbox(anna);
    let mut internal = stack.deliverer().unwrap();
    match call {
        Call::Deliver(r) => internal.deliver(r).await.map(drop),
        Call::CancelScheduled(r) => internal.cancel_scheduled(r).await.map(drop),
        Call::ListNotifications(r) => inbox.list_notifications(r).await.map(drop),
        Call::MarkRead(r) => inbox.mark_read(r).await.map(drop),
        Call::MarkAllRead(r) => inbox.mark_all_read(r).await.map(drop),
        Call::UpdatePreferences(r) => inbox.update_preferences(r).await.map(drop),
        Call::ListDeliveries(r) => inbox.list_deliveries(r).await.map(drop),
        Call::StreamNotifications(r) => inbox.stream_notifications(r).await.map(drop),
    }
}

async fn each_bad_input_is_refused_naming_its_field(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = stack.members.register("Anna").await.unwrap();
    let cases = table(&anna);
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for Case {
        what,
        call: c,
        field,
    } in cases
    {
        if let Err(why) = invalid_argument_naming(call(&stack, &anna, c).await, field) {
            failures.push(format!("{what}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    stack.stop().await.unwrap();
}

async fn a_valid_request_of_each_shape_is_accepted(backend: Backend) {
    // The rows above spoil one field of requests that are otherwise valid.
    let stack = Stack::start(backend).await.unwrap();
    let anna = stack.members.register("Anna").await.unwrap();
    let kind = pb::NotificationKind::ChapterNewEvent as i32;
    let in_app = pb::Channel::InApp as i32;
    let good_calls = vec![
        deliver(vec![good(&anna)]),
        deliver_one(&anna, |n| {
            n.notice = Some(announcement("Apéro".to_owned(), "é".repeat(2000)));
        }),
        Call::CancelScheduled(pb::CancelScheduledRequest {
            key_prefix: "rem".to_owned(),
        }),
        Call::ListNotifications(pb::ListNotificationsRequest {
            page_size: 1000,
            ..Default::default()
        }),
        Call::MarkRead(pb::MarkReadRequest {
            notification_ids: vec![id()],
        }),
        Call::MarkAllRead(pb::MarkAllReadRequest {
            before_time: Some(rendezvous_testkit::timestamp(chrono::Utc::now())),
        }),
        update(channel_preference(kind, in_app), &["channel_preferences"]),
        update(quiet("22:00", "07:00"), &["quiet_hours"]),
        Call::ListDeliveries(pb::ListDeliveriesRequest {
            notification_id: id(),
            status: pb::DeliveryStatus::Sent.into(),
            page_size: 1,
            ..Default::default()
        }),
        Call::StreamNotifications(pb::StreamNotificationsRequest {
            resume_after_id: id(),
        }),
    ];
    for c in good_calls {
        call(&stack, &anna, c).await.unwrap();
    }
    stack.stop().await.unwrap();
}

backend_tests!(
    each_bad_input_is_refused_naming_its_field,
    a_valid_request_of_each_shape_is_accepted,
);
