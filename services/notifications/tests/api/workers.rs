//! Several delivery workers share one PostgreSQL database: each email goes out exactly once.

use std::time::Duration;

use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{Backend, Stack, StackStart};

use crate::helpers::{eml_files, event_facts, host, request};

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
        .map(|i| {
            let invitation = pb::EventInvitation {
                event: Some(event_facts(&format!("event-{i}"), &format!("Event {i}"))),
                inviter: Some(host()),
            };
            request(&anna.id, invitation, &format!("invite:{i}"), None)
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
