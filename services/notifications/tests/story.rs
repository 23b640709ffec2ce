//! Members' changes reach the notifications service through the outbox relay: the welcome
//! notification lands in the inbox and as an email, connection requests and acceptances on
//! both sides.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use std::time::Duration;

use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{Backend, Stack, StackStart, backend_tests, connect};

/// Polls `check` until it returns `Some`, for at most five seconds.
async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_new_member_finds_the_welcome_in_the_inbox_and_the_mailbox(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = stack.members.register("Anna").await.unwrap();
    let inbox = stack.inbox(&anna);
    let list = eventually(|| {
        let mut inbox = inbox.clone();
        async move {
            let list = inbox
                .list_notifications(pb::ListNotificationsRequest::default())
                .await
                .unwrap()
                .into_inner();
            (!list.notifications.is_empty()).then_some(list)
        }
    })
    .await;
    assert_eq!(list.notifications.len(), 1);
    assert_eq!(list.unread_count, 1);
    let welcome = &list.notifications[0];
    assert_eq!(welcome.kind(), pb::NotificationKind::Welcome);
    assert!(!welcome.title.is_empty());

    let emails = stack.notifications.emails().to_owned();
    let eml = eventually(|| {
        let emails = emails.clone();
        async move {
            let entry = std::fs::read_dir(&emails)
                .ok()?
                .flatten()
                .find(|e| e.path().extension().is_some_and(|x| x == "eml"))?;
            std::fs::read_to_string(entry.path()).ok()
        }
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
    for (member, kind) in [
        (&bruno, pb::NotificationKind::ConnectionRequested),
        (&anna, pb::NotificationKind::ConnectionAccepted),
    ] {
        let inbox = stack.inbox(member);
        eventually(|| {
            let mut inbox = inbox.clone();
            async move {
                let list = inbox
                    .list_notifications(pb::ListNotificationsRequest::default())
                    .await
                    .unwrap()
                    .into_inner();
                list.notifications
                    .iter()
                    .any(|n| n.kind() == kind)
                    .then_some(())
            }
        })
        .await;
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
    eventually(|| async {
        let attempts: i64 = with_db!(&members.db, pool => {
            sqlx::query_scalar("SELECT COALESCE(MAX(attempts), 0) FROM outbox WHERE delivered_at IS NULL")
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
    eventually(|| {
        let mut inbox = inbox.clone();
        async move {
            let list = inbox
                .list_notifications(pb::ListNotificationsRequest::default())
                .await
                .unwrap()
                .into_inner();
            (list.notifications.len() == 1
                && list.notifications[0].kind() == pb::NotificationKind::Welcome)
                .then_some(())
        }
    })
    .await;
    stack.stop().await.unwrap();
}

backend_tests!(
    notifications_that_happen_while_the_service_is_down_arrive_once_it_is_up,
    a_new_member_finds_the_welcome_in_the_inbox_and_the_mailbox,
    connection_requests_and_acceptances_reach_both_sides,
);
