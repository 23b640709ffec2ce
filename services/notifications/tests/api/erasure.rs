//! A deleted member's part of notifications: erased when the members service's outbox says so
//! (and only theirs), refused tokens, and the export of what notifications holds of a member.

use rendezvous_common::db::Db;
use rendezvous_common::with_db;
use rendezvous_proto::members::v1 as members_pb;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{
    Backend, Stack, TestMember, backend_tests, code, invalid_argument_naming, timestamp,
};
use tonic::Code;

use crate::helpers::{
    deliver, deliver_tagged, eventually, night, notifications_of, request, settled_member, tag,
    update_preferences,
};

/// Rows of `table` whose `column` is `member`.
async fn rows_of(db: &Db, table: &str, column: &str, member: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1");
    with_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
            .bind(member)
            .fetch_one(pool)
            .await
    })
    .unwrap()
}

/// Every row that holds `member`'s id, table by table.
async fn traces_of(db: &Db, member: &str) -> Vec<(&'static str, i64)> {
    let mut traces = Vec::new();
    for (table, column) in [
        ("notifications", "recipient_id"),
        ("deliveries", "recipient_id"),
        ("channel_preferences", "member_id"),
        ("quiet_hours", "member_id"),
        ("notification_subjects", "member_id"),
    ] {
        traces.push((table, rows_of(db, table, column, member).await));
    }
    traces
}

/// A connection request from `requester` to `to`: a notice that names the requester.
fn connection_request(
    to: &TestMember,
    requester: &TestMember,
    name: &str,
) -> pb::NotificationRequest {
    request(
        &to.id,
        pb::ConnectionRequested {
            request_id: crate::helpers::new_id(),
            requester: Some(pb::MemberFacts {
                member_id: requester.id.clone(),
                display_name: name.to_owned(),
            }),
            note: "On se voit au café ?".to_owned(),
        },
        &format!("connection-requested:{}", crate::helpers::new_id()),
        None,
    )
}

/// A stack with Anna and Bruno settled in, and one notification for Anna.
async fn anna_and_bruno(backend: Backend) -> (Stack, TestMember, TestMember) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let bruno = settled_member(&stack, "Bruno").await;
    deliver_tagged(&stack, &anna, "for Anna").await;
    (stack, anna, bruno)
}

/// Email for new chapter events on, and quiet hours at night.
async fn set_preferences(stack: &Stack, member: &TestMember) {
    let preferences = pb::Preferences {
        channel_preferences: vec![pb::ChannelPreference {
            kind: pb::NotificationKind::ChapterNewEvent.into(),
            channel: pb::Channel::Email.into(),
            enabled: true,
        }],
        quiet_hours: Some(night()),
        ..Default::default()
    };
    let paths = ["channel_preferences", "quiet_hours"];
    update_preferences(&stack.inbox(member), preferences, &paths).await;
}

async fn deleting_a_member_erases_their_part_and_what_names_them(backend: Backend) {
    let (stack, anna, bruno) = anna_and_bruno(backend).await;
    deliver_tagged(&stack, &bruno, "for Bruno").await;
    let named = deliver(&stack, vec![connection_request(&bruno, &anna, "Anna")]).await;
    assert_eq!(named.accepted_count, 1);
    set_preferences(&stack, &anna).await;
    let db = &stack.notifications.db;
    assert!(traces_of(db, &anna.id).await.iter().all(|(_, n)| *n > 0));
    assert_eq!(notifications_of(&stack.inbox(&bruno)).await.len(), 3);

    // The member deletes her account; members' outbox tells notifications.
    anna.client
        .clone()
        .delete_member(members_pb::DeleteMemberRequest { id: "me".into() })
        .await
        .unwrap();
    eventually("the erasure reaches notifications", || async {
        (rows_of(db, "erased_members", "member_id", &anna.id).await == 1).then_some(())
    })
    .await;
    let left: Vec<_> = traces_of(db, &anna.id)
        .await
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(left.is_empty(), "rows still hold her id: {left:?}");
    // Bruno keeps his own notification, not the one that named her.
    let kept = notifications_of(&stack.inbox(&bruno)).await;
    let kinds: Vec<_> = kept.iter().map(|n| (n.kind(), tag(n))).collect();
    use pb::NotificationKind::{ChapterNewEvent, Welcome};
    assert_eq!(kinds, [(ChapterNewEvent, "for Bruno"), (Welcome, "")]);
    // Her token no longer opens notifications.
    let refused = stack
        .inbox(&anna)
        .list_notifications(pb::ListNotificationsRequest::default())
        .await;
    assert_eq!(code(refused), Code::Unauthenticated);
    // Later notices to her are dropped, not stored.
    let late = deliver(&stack, vec![crate::helpers::tagged(&anna, "too late")]).await;
    assert_eq!(late.accepted_count, 0);
    assert_eq!(
        rows_of(db, "notifications", "recipient_id", &anna.id).await,
        0
    );
    stack.stop().await.unwrap();
}

async fn erase_member_is_idempotent_and_for_services_only(backend: Backend) {
    let (stack, anna, bruno) = anna_and_bruno(backend).await;
    let now = timestamp(chrono::Utc::now());
    let erase = |member_id: &str| pb::EraseMemberRequest {
        member_id: member_id.to_owned(),
        erase_time: Some(now),
    };
    // As members' relay calls it: only members may erase and export.
    let mut internal = stack
        .internal_as(rendezvous_common::auth::ServiceName::Members)
        .unwrap();

    // A member cannot erase anyone, themselves included.
    let mut as_bruno = stack
        .notifications
        .internal_with(rendezvous_testkit::Bearer::token(&bruno.access_token));
    assert_eq!(
        code(as_bruno.erase_member(erase(&anna.id)).await),
        Code::PermissionDenied
    );
    assert_eq!(notifications_of(&stack.inbox(&anna)).await.len(), 2);

    // Bad input names its field and changes nothing.
    invalid_argument_naming(internal.erase_member(erase("anna")).await, "member_id").unwrap();
    let timeless = pb::EraseMemberRequest {
        erase_time: None,
        ..erase(&anna.id)
    };
    invalid_argument_naming(internal.erase_member(timeless).await, "erase_time").unwrap();
    assert_eq!(notifications_of(&stack.inbox(&anna)).await.len(), 2);

    let first = internal
        .erase_member(erase(&anna.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.deleted_notification_count, 2,
        "the welcome and the test's"
    );
    assert_eq!(first.deleted_delivery_count, 4, "in-app and email of each");
    // At least once: the second call finds nothing left.
    let again = internal
        .erase_member(erase(&anna.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, pb::EraseMemberResponse::default());
    stack.stop().await.unwrap();
}

async fn export_holds_the_inbox_preferences_and_delivery_log(backend: Backend) {
    let (stack, anna, bruno) = anna_and_bruno(backend).await;
    deliver_tagged(&stack, &bruno, "for Bruno").await;
    set_preferences(&stack, &anna).await;
    // As members' relay calls it: only members may erase and export.
    let mut internal = stack
        .internal_as(rendezvous_common::auth::ServiceName::Members)
        .unwrap();
    let export = internal
        .export_member_data(pb::ExportMemberDataRequest {
            member_id: anna.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(export.content_type, "application/json");
    let json: serde_json::Value = serde_json::from_slice(&export.data).unwrap();
    let inbox = json["inbox"].as_array().unwrap();
    let kinds: Vec<&str> = inbox.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["WELCOME", "CHAPTER_NEW_EVENT"], "{json}");
    assert!(inbox[1]["title"].as_str().unwrap().contains("for Anna"));
    assert_eq!(json["deliveries"].as_array().unwrap().len(), 4);
    assert_eq!(
        json["preferences"],
        serde_json::json!([{"kind": "CHAPTER_NEW_EVENT", "channel": "email", "enabled": true}])
    );
    assert_eq!(json["quiet_hours"]["enabled"], true);
    assert!(!json.to_string().contains(&bruno.id), "nothing of Bruno's");
    invalid_argument_naming(
        internal
            .export_member_data(pb::ExportMemberDataRequest {
                member_id: String::new(),
            })
            .await,
        "member_id",
    )
    .unwrap();
    stack.stop().await.unwrap();
}

backend_tests!(
    deleting_a_member_erases_their_part_and_what_names_them,
    erase_member_is_idempotent_and_for_services_only,
    export_holds_the_inbox_preferences_and_delivery_log,
);
