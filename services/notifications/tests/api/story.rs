//! Members' changes reach the notifications service through the outbox relay: the welcome
//! notification lands in the inbox and as an email, connection requests and acceptances on
//! both sides.

use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{Backend, Stack, StackStart, backend_tests, connect};

use crate::helpers::{eml_files, eventually, first_of_kind, notifications_of};

async fn a_new_member_finds_the_welcome_in_the_inbox_and_the_mailbox(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = stack.members.register("Anna").await.unwrap();
    let mut inbox = stack.inbox(&anna);
    let welcome = first_of_kind(&inbox, pb::NotificationKind::Welcome).await;
    let list = inbox
        .list_notifications(pb::ListNotificationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.notifications.len(), 1);
    assert_eq!(list.unread_count, 1);
    assert!(!welcome.title.is_empty());

    let emails = stack.notifications.emails().to_owned();
    let eml = eventually("the welcome email is written", || {
        let found = eml_files(&emails).into_iter().next();
        async move { found }
    })
    .await;
    assert!(eml.contains(&anna.email), "{eml}");
    assert!(
        eml.contains(&format!("Message-ID: <{}@rendezvous.local>", welcome.id)),
        "{eml}"
    );
    assert!(eml.contains("List-Unsubscribe:"), "{eml}");
    stack.stop().await.unwrap();
}

async fn connection_requests_and_acceptances_reach_both_sides(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = stack.members.register("Anna").await.unwrap();
    let bruno = stack.members.register("Bruno").await.unwrap();
    connect(&anna, &bruno).await.unwrap();
    for (member, kind, other) in [
        (&bruno, pb::NotificationKind::ConnectionRequested, "Anna"),
        (&anna, pb::NotificationKind::ConnectionAccepted, "Bruno"),
    ] {
        let notification = first_of_kind(&stack.inbox(member), kind).await;
        assert!(
            notification.title.contains(other),
            "{kind:?} names {other}: {notification:?}"
        );
    }
    stack.stop().await.unwrap();
}

async fn notifications_that_happen_while_the_service_is_down_arrive_once_it_is_up(
    backend: Backend,
) {
    let start = StackStart::new(backend);
    let (members, notifications_addr) = Stack::start_members_only(&start).await.unwrap();
    let anna = members.register("Anna").await.unwrap();
    // The relay keeps the welcome in the outbox and retries while notifications is down.
    eventually("the relay retries the welcome", || async {
        let attempts: i64 = with_db!(&members.db, |pool| {
            sqlx::query_scalar(
                "SELECT COALESCE(MAX(attempts), 0) FROM outbox WHERE delivered_at IS NULL",
            )
            .fetch_one(pool)
            .await
        })
        .unwrap();
        (attempts >= 1).then_some(())
    })
    .await;
    let stack = Stack::start_notifications_at(&start, members, notifications_addr)
        .await
        .unwrap();
    let inbox = stack.inbox(&anna);
    eventually("the welcome arrives once the service is up", || async {
        let list = notifications_of(&inbox).await;
        (list.len() == 1 && list[0].kind() == pb::NotificationKind::Welcome).then_some(())
    })
    .await;
    stack.stop().await.unwrap();
}

backend_tests!(
    notifications_that_happen_while_the_service_is_down_arrive_once_it_is_up,
    a_new_member_finds_the_welcome_in_the_inbox_and_the_mailbox,
    connection_requests_and_acceptances_reach_both_sides,
);
