//! Who may call what: every member method needs a signed-in member and only ever touches the
//! caller's own inbox, delivery log, preferences and stream; the internal service takes
//! Rendezvous services only.

use std::time::Duration;

use rendezvous_common::auth::{ServiceCredentials, ServiceName, SigningKeyPair};
use rendezvous_common::clock::Clock;
use rendezvous_common::error::error_reason;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{
    Backend, Bearer, NotificationClient, NotificationInternalClient, Stack, TestMember,
    backend_tests, service_bearer,
};
use tonic::{Code, Status};

use crate::helpers::{
    deliver_tagged, deliveries, night, notifications_of, preferences_of, settled_member, tag,
    tagged, update_preferences,
};

/// The kind the tests deliver (see [`tagged`]).
const KIND: pb::NotificationKind = pb::NotificationKind::ChapterNewEvent;

fn find_tagged<'a>(list: &'a [pb::Notification], wanted: &str) -> &'a pb::Notification {
    list.iter()
        .find(|n| tag(n) == wanted)
        .unwrap_or_else(|| panic!("no notification tagged {wanted}"))
}

/// `(method, result)` of one call, its response dropped.
macro_rules! outcome {
    ($client:ident . $method:ident ($request:expr)) => {
        (
            stringify!($method),
            $client.$method($request).await.map(drop),
        )
    };
}

/// Calls every `NotificationService` method with `client`; the results, by method name.
async fn every_member_method(
    client: &NotificationClient,
) -> Vec<(&'static str, Result<(), Status>)> {
    use pb::{
        GetPreferencesRequest, ListDeliveriesRequest, ListNotificationsRequest, MarkAllReadRequest,
        StreamNotificationsRequest,
    };
    let mut c = client.clone();
    let read = pb::MarkReadRequest {
        notification_ids: vec![uuid::Uuid::now_v7().to_string()],
    };
    let update = pb::UpdatePreferencesRequest {
        preferences: Some(pb::Preferences {
            channel_preferences: vec![pb::ChannelPreference {
                kind: KIND.into(),
                channel: pb::Channel::InApp.into(),
                enabled: false,
            }],
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["channel_preferences".to_owned()],
        }),
    };
    vec![
        outcome!(c.list_notifications(ListNotificationsRequest::default())),
        outcome!(c.mark_read(read)),
        outcome!(c.mark_all_read(MarkAllReadRequest::default())),
        outcome!(c.stream_notifications(StreamNotificationsRequest::default())),
        outcome!(c.get_preferences(GetPreferencesRequest::default())),
        outcome!(c.update_preferences(update)),
        outcome!(c.list_deliveries(ListDeliveriesRequest::default())),
    ]
}

/// Calls both `NotificationInternalService` methods with `client`.
async fn every_internal_method(
    client: &NotificationInternalClient,
    recipient: &TestMember,
) -> Vec<(&'static str, Result<(), Status>)> {
    let mut c = client.clone();
    let deliver = pb::DeliverRequest {
        notifications: vec![tagged(recipient, "internal")],
    };
    let cancel = pb::CancelScheduledRequest {
        key_prefix: "reminder:nothing:".to_owned(),
    };
    vec![
        outcome!(c.deliver(deliver)),
        outcome!(c.cancel_scheduled(cancel)),
    ]
}

/// Calls every `NotificationInternalService` method with `client` (the erasure, the export
/// and a session's revocation of `member`, a member of no consequence).
async fn all_internal_methods(
    client: &NotificationInternalClient,
    recipient: &TestMember,
    member: &TestMember,
) -> Vec<(&'static str, Result<(), Status>)> {
    let mut c = client.clone();
    let mut calls = every_internal_method(client, recipient).await;
    let erase = pb::EraseMemberRequest {
        member_id: member.id.clone(),
        erase_time: Some(rendezvous_proto::prost_types::Timestamp::default()),
    };
    let export = pb::ExportMemberDataRequest {
        member_id: member.id.clone(),
    };
    let revoke = pb::RevokeSessionsRequest {
        member_id: member.id.clone(),
        session_ids: vec![uuid::Uuid::now_v7().to_string()],
        revoke_time: Some(rendezvous_proto::prost_types::Timestamp::default()),
    };
    calls.push(outcome!(c.export_member_data(export)));
    calls.push(outcome!(c.revoke_sessions(revoke)));
    calls.push(outcome!(c.erase_member(erase)));
    calls
}

/// Which service may call which method, as the code calls them: both relays deliver, events
/// cancels reminders, members erases, exports and ends sessions.
fn allowed_to(service: ServiceName, method: &str) -> bool {
    match service {
        ServiceName::Members => matches!(
            method,
            "deliver" | "erase_member" | "export_member_data" | "revoke_sessions"
        ),
        ServiceName::Events => matches!(method, "deliver" | "cancel_scheduled"),
        ServiceName::Notifications => false,
    }
}

async fn each_internal_method_takes_the_services_it_lists_and_refuses_the_others(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = stack.members.register("Anna").await.unwrap();
    let erased = stack.members.register("Bruno").await.unwrap();
    let mut wrong = Vec::new();
    for service in ServiceName::ALL {
        let client = stack.internal_as(service).unwrap();
        for (method, result) in all_internal_methods(&client, &anna, &erased).await {
            let code = result.err().map_or(Code::Ok, |status| status.code());
            let allowed = allowed_to(service, method);
            if allowed == (code == Code::PermissionDenied) {
                wrong.push(format!(
                    "{method} by {service}: {code:?}, allowed: {allowed}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // A credential for another service, or signed by a key notifications does not know.
    let for_members = service_bearer(ServiceName::Events, ServiceName::Members);
    let unknown = ServiceCredentials::new(
        ServiceName::Events,
        ServiceName::Notifications,
        &SigningKeyPair::generate(),
        Clock::system(),
    )
    .unwrap()
    .bearer()
    .unwrap();
    for (who, bearer) in [
        ("another audience", for_members),
        ("an unknown key", unknown),
    ] {
        let client = stack.notifications.internal_with(Bearer::raw(&bearer));
        for (method, result) in all_internal_methods(&client, &anna, &erased).await {
            let code = result.err().map(|status| status.code());
            assert_eq!(code, Some(Code::Unauthenticated), "{method} with {who}");
        }
    }
    stack.stop().await.unwrap();
}

async fn every_member_method_refuses_anonymous_and_forged_callers(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = stack.members.register("Anna").await.unwrap();
    let callers = [
        ("anonymous", stack.notifications.anonymous()),
        (
            "forged token",
            stack.notifications.client_with_token("not-a-token"),
        ),
        (
            "service credential",
            rendezvous_proto::notifications::v1::notification_service_client::NotificationServiceClient::with_interceptor(
                stack.notifications.channel.clone(),
                Bearer::raw(&service_bearer(ServiceName::Events, ServiceName::Notifications)),
            ),
        ),
    ];
    for (who, client) in callers {
        for (method, result) in every_member_method(&client).await {
            let status = result.expect_err(&format!("{method} accepted {who}"));
            assert_eq!(
                status.code(),
                Code::Unauthenticated,
                "{method} as {who}: {status:?}"
            );
        }
    }
    // The same calls with a member's token get through.
    for (method, result) in every_member_method(&stack.inbox(&anna)).await {
        assert!(result.is_ok(), "{method} refused a member: {result:?}");
    }
    stack.stop().await.unwrap();
}

async fn the_internal_service_takes_only_the_service_credential(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = stack.members.register("Anna").await.unwrap();

    let anonymous = stack.notifications.internal_with(Bearer::default());
    for (method, result) in every_internal_method(&anonymous, &anna).await {
        let status = result.expect_err(&format!("{method} accepted an anonymous caller"));
        assert_eq!(status.code(), Code::Unauthenticated, "{method}: {status:?}");
        assert_eq!(
            error_reason(&status).as_deref(),
            Some("SERVICE_CREDENTIAL_REQUIRED")
        );
    }

    let member = stack
        .notifications
        .internal_with(Bearer::token(&anna.access_token));
    for (method, result) in every_internal_method(&member, &anna).await {
        let status = result.expect_err(&format!("{method} accepted a member token"));
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{method}: {status:?}"
        );
        assert_eq!(error_reason(&status).as_deref(), Some("SERVICE_ONLY"));
    }

    let forged = stack.notifications.internal_with(Bearer::token("forged"));
    for (method, result) in every_internal_method(&forged, &anna).await {
        let status = result.expect_err(&format!("{method} accepted a forged credential"));
        assert_eq!(status.code(), Code::Unauthenticated, "{method}: {status:?}");
    }

    let service = stack.internal_as(ServiceName::Events).unwrap();
    for (method, result) in every_internal_method(&service, &anna).await {
        assert!(
            result.is_ok(),
            "{method} refused the service credential: {result:?}"
        );
    }
    stack.stop().await.unwrap();
}

async fn members_list_only_their_own_notifications_and_deliveries(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let bruno = settled_member(&stack, "Bruno").await;
    deliver_tagged(&stack, &anna, "for-anna").await;
    deliver_tagged(&stack, &bruno, "for-bruno").await;
    let mut annas = stack.inbox(&anna);
    let brunos = stack.inbox(&bruno);

    let anna_list = notifications_of(&annas).await;
    let bruno_list = notifications_of(&brunos).await;
    assert_eq!(anna_list.len(), 2);
    assert_eq!(bruno_list.len(), 2);
    assert!(anna_list.iter().all(|n| n.recipient_id == anna.id));
    assert!(bruno_list.iter().all(|n| n.recipient_id == bruno.id));
    let brunos_id = find_tagged(&bruno_list, "for-bruno").id.clone();
    let annas_id = find_tagged(&anna_list, "for-anna").id.clone();

    let anna_log = deliveries(&annas, "").await;
    let own: Vec<&str> = anna_list.iter().map(|n| n.id.as_str()).collect();
    assert!(!anna_log.is_empty());
    assert!(
        anna_log
            .iter()
            .all(|d| own.contains(&d.notification_id.as_str())),
        "Anna's delivery log shows someone else's: {anna_log:?}"
    );
    assert!(
        deliveries(&annas, &brunos_id).await.is_empty(),
        "Anna reads Bruno's deliveries by asking for his notification"
    );
    assert_eq!(deliveries(&brunos, &brunos_id).await.len(), 2);
    assert!(deliveries(&brunos, &annas_id).await.is_empty());

    // Marking all read touches the caller's inbox only; marking Bruno's id marks nothing.
    annas
        .mark_all_read(pb::MarkAllReadRequest::default())
        .await
        .unwrap();
    let marked = annas
        .mark_read(pb::MarkReadRequest {
            notification_ids: vec![brunos_id],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(marked.marked_count, 0);
    assert!(notifications_of(&brunos).await.iter().all(|n| !n.read));
    stack.stop().await.unwrap();
}

async fn members_read_and_change_only_their_own_preferences(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = stack.members.register("Anna").await.unwrap();
    let bruno = stack.members.register("Bruno").await.unwrap();
    let annas = stack.inbox(&anna);
    let brunos = stack.inbox(&bruno);
    let before = preferences_of(&brunos).await;
    assert_eq!(before.member_id, bruno.id);

    // Anna names Bruno as the member; the update is still hers alone.
    let preferences = pb::Preferences {
        member_id: bruno.id.clone(),
        channel_preferences: vec![pb::ChannelPreference {
            kind: KIND.into(),
            channel: pb::Channel::InApp.into(),
            enabled: false,
        }],
        quiet_hours: Some(night()),
        ..Default::default()
    };
    let updated =
        update_preferences(&annas, preferences, &["channel_preferences", "quiet_hours"]).await;
    assert_eq!(updated.member_id, anna.id);
    let off = |p: &pb::Preferences| {
        p.channel_preferences
            .iter()
            .find(|c| c.kind() == KIND && c.channel() == pb::Channel::InApp)
            .map(|c| !c.enabled)
            .unwrap()
    };
    assert!(off(&updated));
    assert!(updated.quiet_hours.as_ref().unwrap().enabled);

    let anna_now = preferences_of(&annas).await;
    assert_eq!(anna_now.member_id, anna.id);
    assert!(off(&anna_now));
    let bruno_now = preferences_of(&brunos).await;
    assert_eq!(bruno_now, before, "Bruno's preferences changed");
    stack.stop().await.unwrap();
}

async fn streams_carry_only_the_callers_notifications(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let bruno = settled_member(&stack, "Bruno").await;
    deliver_tagged(&stack, &anna, "annas-first").await;
    let annas_first = find_tagged(&notifications_of(&stack.inbox(&anna)).await, "annas-first")
        .id
        .clone();
    let mut brunos = stack
        .inbox(&bruno)
        .stream_notifications(pb::StreamNotificationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    // Resuming after Anna's notification replays nothing of hers to Bruno.
    let mut resumed = stack
        .inbox(&bruno)
        .stream_notifications(pb::StreamNotificationsRequest {
            resume_after_id: annas_first,
        })
        .await
        .unwrap()
        .into_inner();
    deliver_tagged(&stack, &anna, "annas-second").await;
    deliver_tagged(&stack, &bruno, "brunos").await;
    for stream in [&mut brunos, &mut resumed] {
        // Bruno's own welcome may still come through (on PostgreSQL it reaches the stream by
        // LISTEN/NOTIFY, which can lag the inbox); nothing of Anna's ever does.
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), stream.message())
                .await
                .expect("no message within 5 s")
                .unwrap()
                .expect("the stream ended");
            let n = message.notification.unwrap();
            assert_eq!(n.recipient_id, bruno.id, "Bruno's stream carried {n:?}");
            if tag(&n) == "brunos" {
                break;
            }
            assert_eq!(n.kind(), pb::NotificationKind::Welcome, "unexpected {n:?}");
        }
    }
    stack.stop().await.unwrap();
}

backend_tests!(
    every_member_method_refuses_anonymous_and_forged_callers,
    the_internal_service_takes_only_the_service_credential,
    each_internal_method_takes_the_services_it_lists_and_refuses_the_others,
    members_list_only_their_own_notifications_and_deliveries,
    members_read_and_change_only_their_own_preferences,
    streams_carry_only_the_callers_notifications,
);
