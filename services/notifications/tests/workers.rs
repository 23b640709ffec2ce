//! Several delivery workers share one PostgreSQL database: each email goes out exactly once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use std::collections::HashMap;
use std::time::Duration;

use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{Backend, Stack, StackStart};

fn eml_files(dir: &std::path::Path) -> Vec<String> {
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

fn message_id(eml: &str) -> Option<String> {
    eml.lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_deliveries_and_send_each_email_once() {
    if rendezvous_testkit::postgres_url().is_none() {
        eprintln!("skipped: RENDEZVOUS_TEST_POSTGRES_URL is not set");
        return;
    }
    let start = StackStart::new(Backend::Postgres);
    let stack = Stack::start_with(start.clone()).await.unwrap();
    let replica = stack.start_notifications_replica(&start).await.unwrap();
    let anna = stack.members.register("Anna").await.unwrap();
    let requests: Vec<pb::NotificationRequest> = (0..120)
        .map(|i| pb::NotificationRequest {
            recipient_id: anna.id.clone(),
            kind: pb::NotificationKind::EventInvitation.into(),
            params: HashMap::from([("event_title".to_owned(), format!("Event {i}"))]),
            dedupe_key: format!("invite:{i}"),
            not_before: None,
            notice: None,
        })
        .collect();
    stack
        .deliverer()
        .unwrap()
        .deliver(pb::DeliverRequest {
            notifications: requests,
        })
        .await
        .unwrap();
    // 120 invitations plus the welcome, all by email.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (first, second) = loop {
        let first = eml_files(stack.notifications.emails());
        let second = eml_files(replica.emails());
        if first.len() + second.len() >= 121 {
            break (first, second);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} + {} emails",
            first.len(),
            second.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut ids: Vec<String> = first
        .iter()
        .chain(&second)
        .filter_map(|e| message_id(e))
        .collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((total, ids.len()), (121, 121), "every email exactly once");
    eprintln!(
        "replica A sent {}, replica B sent {}",
        first.len(),
        second.len()
    );
    replica.stop().await.unwrap();
    stack.stop().await.unwrap();
}
