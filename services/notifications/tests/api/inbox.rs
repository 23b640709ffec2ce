//! The in-app inbox: listing newest first with an unread filter, the unread count and paging;
//! marking read (one's own only); and the live stream — prompt, private, resumable, and closed
//! cleanly on shutdown, across replicas on PostgreSQL; a stream lives as long as its token and
//! its session (a revoked session's stream ends at once, on every replica within seconds), and
//! a member has at most five open.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rendezvous_common::auth::{ServiceName, TokenIssuer};
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_testkit::{
    Backend, NotificationClient, Stack, StackStart, TestMember, backend_tests,
};
use tonic::Streaming;

use crate::helpers::{deliver_tagged as deliver, settled_member, tag, tagged};

/// Anna, settled, with three notifications tagged n1, n2 and n3 (oldest first) after her
/// welcome; and her inbox.
async fn anna_with_three(stack: &Stack) -> (TestMember, NotificationClient) {
    let anna = settled_member(stack, "Anna").await;
    for n in ["n1", "n2", "n3"] {
        deliver(stack, &anna, n).await;
    }
    let inbox = stack.inbox(&anna);
    (anna, inbox)
}

type Stream = Streaming<pb::StreamNotificationsResponse>;

/// Anna and Bruno, settled, each with a stream open.
async fn two_streams(stack: &Stack) -> (TestMember, TestMember, Stream, Stream) {
    let anna = settled_member(stack, "Anna").await;
    let bruno = settled_member(stack, "Bruno").await;
    let annas = open_stream(&mut stack.inbox(&anna), "").await;
    let brunos = open_stream(&mut stack.inbox(&bruno), "").await;
    (anna, bruno, annas, brunos)
}

fn tags(list: &[pb::Notification]) -> Vec<&str> {
    list.iter().map(tag).collect()
}

async fn list(
    inbox: &mut NotificationClient,
    unread_only: bool,
    page_size: i32,
    page_token: String,
) -> pb::ListNotificationsResponse {
    inbox
        .list_notifications(pb::ListNotificationsRequest {
            unread_only,
            page_size,
            page_token,
        })
        .await
        .unwrap()
        .into_inner()
}

/// The caller's notifications (newest first), found by tag.
async fn by_tag(inbox: &mut NotificationClient) -> HashMap<String, pb::Notification> {
    list(inbox, false, 100, String::new())
        .await
        .notifications
        .into_iter()
        .map(|n| (tag(&n).to_owned(), n))
        .collect()
}

async fn open_stream(
    inbox: &mut NotificationClient,
    resume_after_id: &str,
) -> Streaming<pb::StreamNotificationsResponse> {
    inbox
        .stream_notifications(pb::StreamNotificationsRequest {
            resume_after_id: resume_after_id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// The next message of a stream, waiting at most five seconds.
async fn next(
    stream: &mut Streaming<pb::StreamNotificationsResponse>,
) -> pb::StreamNotificationsResponse {
    tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("no message within 5 s")
        .unwrap()
        .expect("the stream ended")
}

fn streamed_tag(message: &pb::StreamNotificationsResponse) -> &str {
    message.notification.as_ref().map_or("", tag)
}

async fn the_inbox_lists_newest_first_with_the_unread_count(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    for n in ["n1", "n2", "n3", "n4", "n5"] {
        deliver(&stack, &anna, n).await;
    }
    let mut inbox = stack.inbox(&anna);
    let page = list(&mut inbox, false, 0, String::new()).await;
    assert_eq!(
        tags(&page.notifications),
        ["n5", "n4", "n3", "n2", "n1", ""]
    );
    assert_eq!(
        page.notifications[5].kind(),
        pb::NotificationKind::Welcome,
        "the welcome is the oldest"
    );
    let times: Vec<_> = page
        .notifications
        .iter()
        .map(|n| {
            let t = n.create_time.unwrap();
            (t.seconds, t.nanos)
        })
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "create times must not increase: {times:?}"
    );
    assert_eq!(page.unread_count, 6);
    assert!(page.next_page_token.is_empty());
    for n in &page.notifications[..5] {
        assert_eq!(n.recipient_id, anna.id);
        assert_eq!(n.kind(), pb::NotificationKind::ChapterNewEvent);
        assert!(!n.read && n.read_time.is_none());
        assert!(!n.title.is_empty() && !n.body.is_empty());
    }
    stack.stop().await.unwrap();
}

async fn unread_only_lists_just_the_unread_ones(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let (_, mut inbox) = anna_with_three(&stack).await;
    let all = by_tag(&mut inbox).await;
    let marked = inbox
        .mark_read(pb::MarkReadRequest {
            notification_ids: vec![all[""].id.clone(), all["n2"].id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((marked.marked_count, marked.unread_count), (2, 2));

    let unread = list(&mut inbox, true, 0, String::new()).await;
    assert_eq!(tags(&unread.notifications), ["n3", "n1"]);
    assert_eq!(unread.unread_count, 2);
    assert!(unread.notifications.iter().all(|n| !n.read));

    let everything = list(&mut inbox, false, 0, String::new()).await;
    assert_eq!(tags(&everything.notifications), ["n3", "n2", "n1", ""]);
    assert_eq!(
        everything.unread_count, 2,
        "the unread count ignores the filter"
    );
    let n2 = &everything.notifications[1];
    assert!(n2.read && n2.read_time.is_some());
    stack.stop().await.unwrap();
}

/// Pages through the inbox `page_size` at a time, calling `between` after the first page;
/// returns the tags in order and the size of each page, asserting no id comes twice.
async fn page_through(
    inbox: &mut NotificationClient,
    unread_only: bool,
    page_size: i32,
    mut between: impl AsyncFnMut(),
) -> (Vec<String>, Vec<usize>) {
    let mut seen = Vec::new();
    let mut ids = HashSet::new();
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(inbox, unread_only, page_size, token).await;
        pages.push(page.notifications.len());
        for n in &page.notifications {
            assert!(ids.insert(n.id.clone()), "{} listed twice", n.id);
            seen.push(tag(n).to_owned());
        }
        if pages.len() == 1 {
            between().await;
        }
        token = page.next_page_token;
        if token.is_empty() {
            return (seen, pages);
        }
        assert!(pages.len() < 20, "paging does not end");
    }
}

async fn paging_two_at_a_time_returns_each_notification_exactly_once(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let mut inbox = stack.inbox(&anna);
    // With the welcome read, the unread filter holds exactly the five delivered below.
    inbox
        .mark_all_read(pb::MarkAllReadRequest::default())
        .await
        .unwrap();
    for n in ["n1", "n2", "n3", "n4", "n5"] {
        deliver(&stack, &anna, n).await;
    }

    let (seen, pages) = page_through(&mut inbox, true, 2, async || {}).await;
    assert_eq!(seen, ["n5", "n4", "n3", "n2", "n1"]);
    assert_eq!(pages, [2, 2, 1]);

    // Something newer arriving between pages changes nothing further down.
    let (seen, pages) = page_through(&mut inbox, false, 2, async || {
        deliver(&stack, &anna, "late").await;
    })
    .await;
    assert_eq!(seen, ["n5", "n4", "n3", "n2", "n1", ""]);
    assert_eq!(pages, [2, 2, 2]);
    let (seen, _) = page_through(&mut inbox, false, 2, async || {}).await;
    assert_eq!(seen, ["late", "n5", "n4", "n3", "n2", "n1", ""]);
    let first = list(&mut inbox, false, 2, String::new()).await;
    assert_eq!(first.unread_count, 6);
    stack.stop().await.unwrap();
}

async fn mark_read_marks_own_notifications_and_lowers_the_unread_count(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let (_, mut inbox) = anna_with_three(&stack).await;
    let all = by_tag(&mut inbox).await;
    let ids = vec![all["n1"].id.clone(), all["n2"].id.clone()];
    let first = inbox
        .mark_read(pb::MarkReadRequest {
            notification_ids: ids.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((first.marked_count, first.unread_count), (2, 2));
    let again = inbox
        .mark_read(pb::MarkReadRequest {
            notification_ids: ids,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (again.marked_count, again.unread_count),
        (0, 2),
        "marking read again is a no-op"
    );
    let after = by_tag(&mut inbox).await;
    assert!(after["n1"].read && after["n1"].read_time.is_some());
    assert!(after["n2"].read && after["n2"].read_time.is_some());
    assert!(!after["n3"].read && after["n3"].read_time.is_none());
    assert_eq!(
        list(&mut inbox, false, 0, String::new()).await.unread_count,
        2
    );
    stack.stop().await.unwrap();
}

async fn mark_read_with_another_members_id_marks_nothing(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let bruno = settled_member(&stack, "Bruno").await;
    deliver(&stack, &anna, "for-anna").await;
    deliver(&stack, &bruno, "for-bruno").await;
    let mut anna_inbox = stack.inbox(&anna);
    let mut bruno_inbox = stack.inbox(&bruno);
    let brunos = by_tag(&mut bruno_inbox).await["for-bruno"].id.clone();
    let annas = by_tag(&mut anna_inbox).await["for-anna"].id.clone();

    let response = anna_inbox
        .mark_read(pb::MarkReadRequest {
            notification_ids: vec![brunos.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((response.marked_count, response.unread_count), (0, 2));

    let mixed = anna_inbox
        .mark_read(pb::MarkReadRequest {
            notification_ids: vec![brunos.clone(), annas],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (mixed.marked_count, mixed.unread_count),
        (1, 1),
        "only Anna's own id counts"
    );

    let bruno_list = list(&mut bruno_inbox, false, 0, String::new()).await;
    assert_eq!(bruno_list.unread_count, 2);
    let theirs = bruno_list
        .notifications
        .iter()
        .find(|n| n.id == brunos)
        .unwrap();
    assert!(!theirs.read && theirs.read_time.is_none());
    stack.stop().await.unwrap();
}

async fn mark_all_read_marks_every_unread_notification(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let bruno = settled_member(&stack, "Bruno").await;
    for n in ["n1", "n2", "n3"] {
        deliver(&stack, &anna, n).await;
    }
    deliver(&stack, &bruno, "for-bruno").await;
    let mut inbox = stack.inbox(&anna);
    let response = inbox
        .mark_all_read(pb::MarkAllReadRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((response.marked_count, response.unread_count), (4, 0));
    let again = inbox
        .mark_all_read(pb::MarkAllReadRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.marked_count, again.unread_count), (0, 0));
    let page = list(&mut inbox, false, 0, String::new()).await;
    assert!(page.notifications.iter().all(|n| n.read));
    assert!(
        list(&mut inbox, true, 0, String::new())
            .await
            .notifications
            .is_empty()
    );
    assert_eq!(
        list(&mut stack.inbox(&bruno), false, 0, String::new())
            .await
            .unread_count,
        2,
        "Bruno's notifications stay unread"
    );
    stack.stop().await.unwrap();
}

async fn mark_all_read_before_a_time_leaves_newer_notifications_unread(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let (_, mut inbox) = anna_with_three(&stack).await;
    let seen = by_tag(&mut inbox).await["n2"].create_time;
    // "At or before": n2 itself, the last one the client has seen, is marked too.
    let response = inbox
        .mark_all_read(pb::MarkAllReadRequest { before_time: seen })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((response.marked_count, response.unread_count), (3, 1));
    let unread = list(&mut inbox, true, 0, String::new()).await;
    assert_eq!(tags(&unread.notifications), ["n3"]);
    stack.stop().await.unwrap();
}

async fn a_stream_receives_a_new_notification_within_100_ms_of_deliver(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let mut stream = open_stream(&mut stack.inbox(&anna), "").await;
    let mut after_return = Vec::new();
    let mut end_to_end = Vec::new();
    for round in 1..=5 {
        let label = format!("n{round}");
        let sent = Instant::now();
        deliver(&stack, &anna, &label).await;
        let returned = Instant::now();
        let message = next(&mut stream).await;
        let arrived = Instant::now();
        after_return.push(arrived.saturating_duration_since(returned));
        end_to_end.push(arrived - sent);

        let n = message.notification.as_ref().unwrap();
        assert_eq!(tag(n), label);
        assert_eq!(n.recipient_id, anna.id);
        assert_eq!(n.kind(), pb::NotificationKind::ChapterNewEvent);
        assert!(!n.read && !n.title.is_empty() && n.create_time.is_some());
        assert_eq!(
            message.unread_count,
            1 + round,
            "the welcome and this one included"
        );
    }
    after_return.sort();
    end_to_end.sort();
    eprintln!(
        "{backend:?} stream latency after Deliver returned: {after_return:?}; \
         from Deliver sent: {end_to_end:?}"
    );
    assert!(
        after_return[2] < Duration::from_millis(100),
        "median latency {:?} is over 100 ms ({after_return:?})",
        after_return[2]
    );
    stack.stop().await.unwrap();
}

async fn another_members_stream_never_sees_the_notification(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let (anna, bruno, mut annas, mut brunos) = two_streams(&stack).await;
    deliver(&stack, &anna, "for-anna").await;
    assert_eq!(streamed_tag(&next(&mut annas).await), "for-anna");
    // Bruno's own notification comes after Anna's: had his stream carried hers, it would
    // have come first.
    deliver(&stack, &bruno, "for-bruno").await;
    let message = next(&mut brunos).await;
    assert_eq!(streamed_tag(&message), "for-bruno");
    assert_eq!(message.notification.unwrap().recipient_id, bruno.id);
    assert_eq!(message.unread_count, 2);
    deliver(&stack, &anna, "for-anna-again").await;
    deliver(&stack, &bruno, "for-bruno-again").await;
    assert_eq!(streamed_tag(&next(&mut brunos).await), "for-bruno-again");
    assert_eq!(streamed_tag(&next(&mut annas).await), "for-anna-again");
    stack.stop().await.unwrap();
}

async fn resuming_a_stream_replays_what_was_missed_then_follows(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let mut inbox = stack.inbox(&anna);
    let mut stream = open_stream(&mut inbox, "").await;
    deliver(&stack, &anna, "n1").await;
    let last_seen = next(&mut stream).await.notification.unwrap().id;
    drop(stream);

    deliver(&stack, &anna, "n2").await;
    deliver(&stack, &anna, "n3").await;
    let mut resumed = open_stream(&mut inbox, &last_seen).await;
    assert_eq!(streamed_tag(&next(&mut resumed).await), "n2");
    assert_eq!(streamed_tag(&next(&mut resumed).await), "n3");
    deliver(&stack, &anna, "n4").await;
    let live = next(&mut resumed).await;
    assert_eq!(streamed_tag(&live), "n4", "no replayed item comes twice");
    assert_eq!(live.unread_count, 5);
    stack.stop().await.unwrap();
}

async fn streams_end_when_the_service_shuts_down(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let (anna, _, mut annas, mut brunos) = two_streams(&stack).await;
    deliver(&stack, &anna, "before-shutdown").await;
    assert_eq!(streamed_tag(&next(&mut annas).await), "before-shutdown");

    let started = Instant::now();
    stack.notifications.begin_shutdown();
    for stream in [&mut annas, &mut brunos] {
        match tokio::time::timeout(Duration::from_secs(5), stream.message()).await {
            Ok(Ok(None) | Err(_)) => {}
            Ok(Ok(Some(message))) => panic!("unexpected message after shutdown: {message:?}"),
            Err(_) => panic!("the stream is still open 5 s after shutdown began"),
        }
    }
    let Stack {
        members,
        notifications,
    } = stack;
    tokio::time::timeout(Duration::from_secs(5), notifications.stop())
        .await
        .expect("shutdown did not complete within 5 s (streams held it open)")
        .unwrap();
    eprintln!(
        "{backend:?} shutdown with open streams took {:?}",
        started.elapsed()
    );
    members.stop().await.unwrap();
}

/// A token of `member` for a new session that expires `secs` from now on the stack's clock.
fn short_lived_token(stack: &Stack, member: &TestMember, secs: i64) -> String {
    let issuer = TokenIssuer::new(
        stack.members.signing_key.clone(),
        chrono::Duration::seconds(secs),
        stack.members.clock.clone(),
    )
    .unwrap();
    issuer
        .issue(member.id.parse().unwrap(), uuid::Uuid::now_v7())
        .unwrap()
        .token
}

async fn a_stream_ends_when_its_access_token_expires(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let token = short_lived_token(&stack, &anna, 2);
    let mut stream = open_stream(&mut stack.notifications.client_with_token(&token), "").await;
    deliver(&stack, &anna, "while-valid").await;
    let last = next(&mut stream).await;
    assert_eq!(streamed_tag(&last), "while-valid");
    // The token lapses: the stream says so and ends, whatever arrives later.
    let ended = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("the stream outlived its token by more than 3 s")
        .unwrap_err();
    assert_eq!(ended.code(), tonic::Code::Unauthenticated, "{ended:?}");
    assert_eq!(
        rendezvous_common::error::error_reason(&ended).as_deref(),
        Some("TOKEN_EXPIRED")
    );
    deliver(&stack, &anna, "after-expiry").await;
    // Reconnected with a fresh token, it resumes after the last item it had.
    let last_id = last.notification.unwrap().id;
    let mut again = open_stream(&mut stack.inbox(&anna), &last_id).await;
    assert_eq!(streamed_tag(&next(&mut again).await), "after-expiry");
    stack.stop().await.unwrap();
}

async fn a_member_has_at_most_five_open_streams(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let (anna, bruno) = (
        settled_member(&stack, "Anna").await,
        settled_member(&stack, "Bruno").await,
    );
    let mut open = Vec::new();
    for _ in 0..5 {
        open.push(open_stream(&mut stack.inbox(&anna), "").await);
    }
    let refused = stack
        .inbox(&anna)
        .stream_notifications(pb::StreamNotificationsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert_eq!(
        rendezvous_common::error::error_reason(&refused).as_deref(),
        Some("TOO_MANY_STREAMS")
    );
    // Another member is not held to Anna's streams.
    let mut brunos = open_stream(&mut stack.inbox(&bruno), "").await;
    // Closing one gives its place back.
    open.pop();
    let mut sixth = rendezvous_testkit::eventually("a closed stream's place is free", || async {
        stack
            .inbox(&anna)
            .stream_notifications(pb::StreamNotificationsRequest::default())
            .await
            .ok()
            .map(tonic::Response::into_inner)
    })
    .await;
    deliver(&stack, &anna, "to-all").await;
    assert_eq!(streamed_tag(&next(&mut sixth).await), "to-all");
    for stream in &mut open {
        assert_eq!(streamed_tag(&next(stream).await), "to-all");
    }
    deliver(&stack, &bruno, "to-bruno").await;
    assert_eq!(streamed_tag(&next(&mut brunos).await), "to-bruno");
    stack.stop().await.unwrap();
}

/// A second session of `member` (signed in again elsewhere): its access token.
async fn another_session(stack: &Stack, member: &TestMember) -> String {
    stack.members.login(member).await.unwrap().access_token
}

/// What members' outbox tells notifications when the session of `token` ended now.
fn revocation(stack: &Stack, member: &TestMember, token: &str) -> pb::RevokeSessionsRequest {
    pb::RevokeSessionsRequest {
        member_id: member.id.clone(),
        session_ids: vec![stack.members.session_of(token).unwrap().to_string()],
        revoke_time: Some(rendezvous_testkit::timestamp(stack.members.clock.now())),
    }
}

/// `status` is UNAUTHENTICATED because the session ended.
fn assert_session_revoked(status: &tonic::Status) {
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert_eq!(
        rendezvous_common::error::error_reason(status).as_deref(),
        Some("SESSION_REVOKED")
    );
}

/// The stream's end, at most `within` after now.
async fn ended_within(within: Duration, stream: &mut Stream) -> tonic::Status {
    tokio::time::timeout(within, stream.message())
        .await
        .unwrap_or_else(|_| panic!("the stream of a revoked session is open {within:?} later"))
        .unwrap_err()
}

async fn a_revoked_session_loses_its_stream_and_its_token_and_other_sessions_go_on(
    backend: Backend,
) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let phone = another_session(&stack, &anna).await;
    let mut on_laptop = open_stream(&mut stack.inbox(&anna), "").await;
    let mut on_phone = open_stream(&mut stack.notifications.client_with_token(&phone), "").await;
    deliver(&stack, &anna, "before").await;
    let last = next(&mut on_laptop).await;
    assert_eq!(streamed_tag(&last), "before");
    assert_eq!(streamed_tag(&next(&mut on_phone).await), "before");

    // The laptop's session ends: its stream ends at once, with no event to wake it.
    let revoke = revocation(&stack, &anna, &anna.access_token);
    let mut internal = stack.internal_as(ServiceName::Members).unwrap();
    let answer = internal.revoke_sessions(revoke.clone()).await.unwrap();
    assert_eq!(answer.into_inner().revoked_session_count, 1);
    assert_session_revoked(&ended_within(Duration::from_secs(2), &mut on_laptop).await);

    // The phone's session streams on.
    deliver(&stack, &anna, "after").await;
    assert_eq!(streamed_tag(&next(&mut on_phone).await), "after");
    // The laptop's token opens nothing any more, unary or stream.
    let refused = stack
        .inbox(&anna)
        .list_notifications(pb::ListNotificationsRequest::default())
        .await
        .unwrap_err();
    assert_session_revoked(&refused);
    let refused = stack
        .inbox(&anna)
        .stream_notifications(pb::StreamNotificationsRequest::default())
        .await
        .unwrap_err();
    assert_session_revoked(&refused);

    // Delivered again (at least once), it changes nothing.
    let again = internal.revoke_sessions(revoke).await.unwrap();
    assert_eq!(again.into_inner().revoked_session_count, 0);
    deliver(&stack, &anna, "again").await;
    assert_eq!(streamed_tag(&next(&mut on_phone).await), "again");
    // Signed in again, the laptop resumes after the last item it had.
    let fresh = another_session(&stack, &anna).await;
    let last_id = last.notification.unwrap().id;
    let mut resumed =
        open_stream(&mut stack.notifications.client_with_token(&fresh), &last_id).await;
    assert_eq!(streamed_tag(&next(&mut resumed).await), "after");
    assert_eq!(streamed_tag(&next(&mut resumed).await), "again");
    stack.stop().await.unwrap();
}

async fn a_revocation_that_names_no_session_is_refused_naming_the_field(backend: Backend) {
    let stack = Stack::start(backend).await.unwrap();
    let anna = settled_member(&stack, "Anna").await;
    let mut bad = revocation(&stack, &anna, &anna.access_token);
    bad.session_ids = vec!["not-a-session".to_owned()];
    bad.revoke_time = None;
    let refused = stack
        .internal_as(ServiceName::Members)
        .unwrap()
        .revoke_sessions(bad)
        .await
        .unwrap_err();
    assert_eq!(
        rendezvous_common::error::violated_fields(&refused),
        ["session_ids[0]", "revoke_time"]
    );
    // Nothing was revoked.
    stack
        .inbox(&anna)
        .list_notifications(pb::ListNotificationsRequest::default())
        .await
        .unwrap();
    stack.stop().await.unwrap();
}

backend_tests!(
    the_inbox_lists_newest_first_with_the_unread_count,
    unread_only_lists_just_the_unread_ones,
    paging_two_at_a_time_returns_each_notification_exactly_once,
    mark_read_marks_own_notifications_and_lowers_the_unread_count,
    mark_read_with_another_members_id_marks_nothing,
    mark_all_read_marks_every_unread_notification,
    mark_all_read_before_a_time_leaves_newer_notifications_unread,
    a_stream_receives_a_new_notification_within_100_ms_of_deliver,
    another_members_stream_never_sees_the_notification,
    resuming_a_stream_replays_what_was_missed_then_follows,
    streams_end_when_the_service_shuts_down,
    a_stream_ends_when_its_access_token_expires,
    a_member_has_at_most_five_open_streams,
    a_revoked_session_loses_its_stream_and_its_token_and_other_sessions_go_on,
    a_revocation_that_names_no_session_is_refused_naming_the_field,
);

/// PostgreSQL only: replicas share one database and hear of each other's notifications
/// through LISTEN/NOTIFY.
mod postgres_replicas {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_on_one_replica_receives_a_notification_delivered_through_another() {
        if rendezvous_testkit::postgres_url().is_none() {
            eprintln!("skipped: RENDEZVOUS_TEST_POSTGRES_URL is not set");
            return;
        }
        let start = StackStart::new(Backend::Postgres);
        let stack = Stack::start_with(start.clone()).await.unwrap();
        let anna = settled_member(&stack, "Anna").await;
        let bruno = settled_member(&stack, "Bruno").await;
        let replica = stack.start_notifications_replica(&start).await.unwrap();
        assert_eq!(
            replica.database_url(),
            stack.notifications.database_url(),
            "the replicas share one database"
        );
        let mut on_b = open_stream(&mut replica.client_with_token(&anna.access_token), "").await;
        let mut bruno_on_b =
            open_stream(&mut replica.client_with_token(&bruno.access_token), "").await;
        let mut on_a = open_stream(&mut stack.inbox(&anna), "").await;

        // Delivered through replica A.
        deliver(&stack, &anna, "via-a").await;
        let returned = Instant::now();
        let message = next(&mut on_b).await;
        let latency = returned.elapsed();
        eprintln!("cross-replica stream latency after Deliver returned: {latency:?}");
        assert_eq!(streamed_tag(&message), "via-a");
        assert_eq!(message.unread_count, 2);
        assert!(
            latency < Duration::from_millis(100),
            "cross-replica latency {latency:?}"
        );
        assert_eq!(streamed_tag(&next(&mut on_a).await), "via-a");

        // Bruno's stream on B carries only his own.
        deliver(&stack, &bruno, "for-bruno").await;
        assert_eq!(streamed_tag(&next(&mut bruno_on_b).await), "for-bruno");

        // And the other way round: delivered through B, streamed by A.
        let creds = rendezvous_testkit::service_credentials(
            rendezvous_common::auth::ServiceName::Events,
            rendezvous_common::auth::ServiceName::Notifications,
        );
        replica
            .internal_with(rendezvous_testkit::Bearer::raw(&creds.bearer().unwrap()))
            .deliver(pb::DeliverRequest {
                notifications: vec![tagged(&anna, "via-b")],
            })
            .await
            .unwrap();
        assert_eq!(streamed_tag(&next(&mut on_a).await), "via-b");
        assert_eq!(streamed_tag(&next(&mut on_b).await), "via-b");

        replica.begin_shutdown();
        match tokio::time::timeout(Duration::from_secs(5), on_b.message()).await {
            Ok(Ok(None) | Err(_)) => {}
            other => panic!("replica B's stream did not end on its shutdown: {other:?}"),
        }
        tokio::time::timeout(Duration::from_secs(5), replica.stop())
            .await
            .expect("replica shutdown did not complete")
            .unwrap();
        stack.stop().await.unwrap();
    }
}

mod postgres_revocations {
    use super::*;

    /// A revocation handled by one replica reaches the others through the database: the
    /// stream the revoked session holds on another replica ends within the refresh period.
    #[tokio::test]
    async fn a_stream_on_another_replica_ends_within_the_refresh_period() {
        if rendezvous_testkit::postgres_url().is_none() {
            eprintln!("skipped: RENDEZVOUS_TEST_POSTGRES_URL is not set");
            return;
        }
        let start = StackStart::new(Backend::Postgres);
        let stack = Stack::start_with(start.clone()).await.unwrap();
        let anna = settled_member(&stack, "Anna").await;
        let replica = stack.start_notifications_replica(&start).await.unwrap();
        let mut on_b = open_stream(&mut replica.client_with_token(&anna.access_token), "").await;

        // Told through replica A.
        let revoke = revocation(&stack, &anna, &anna.access_token);
        stack
            .internal_as(ServiceName::Members)
            .unwrap()
            .revoke_sessions(revoke)
            .await
            .unwrap();
        let within = rendezvous_common::revocations::REFRESH_EVERY + Duration::from_secs(2);
        assert_session_revoked(&ended_within(within, &mut on_b).await);
        let refused = replica
            .client_with_token(&anna.access_token)
            .list_notifications(pb::ListNotificationsRequest::default())
            .await
            .unwrap_err();
        assert_session_revoked(&refused);
        replica.stop().await.unwrap();
        stack.stop().await.unwrap();
    }
}

/// PostgreSQL only: a `NOTIFY` sent while the listener is disconnected is lost, so open
/// streams replay what they missed once it listens again.
mod postgres_listener {
    use sqlx::Connection as _;

    use super::*;

    /// How many backends of database `name` are listening.
    async fn listeners(admin: &mut sqlx::PgConnection, name: &str) -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
        )
        .bind(name)
        .fetch_one(admin)
        .await
        .unwrap()
    }

    async fn allow_connections(admin: &mut sqlx::PgConnection, name: &str, allow: bool) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {allow}"
        )))
        .execute(admin)
        .await
        .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_gets_what_was_committed_while_the_listener_was_away() {
        let Some(server) = rendezvous_testkit::postgres_url() else {
            eprintln!("skipped: RENDEZVOUS_TEST_POSTGRES_URL is not set");
            return;
        };
        let stack = Stack::start(Backend::Postgres).await.unwrap();
        let name = stack
            .notifications
            .database_url()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let anna = settled_member(&stack, "Anna").await;
        let mut inbox = stack.inbox(&anna);
        let mut stream = open_stream(&mut inbox, "").await;
        deliver(&stack, &anna, "before").await;
        assert_eq!(streamed_tag(&next(&mut stream).await), "before");
        // Open a few of the service's pooled connections, so that it can store while no new
        // connection to its database is allowed.
        let lists = (0..6).map(|_| {
            let mut inbox = inbox.clone();
            async move { list(&mut inbox, false, 100, String::new()).await }
        });
        futures::future::join_all(lists).await;

        // The listener's connection is cut, and it cannot connect again for now.
        let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
        assert_eq!(listeners(&mut admin, &name).await, 1);
        allow_connections(&mut admin, &name, false).await;
        let terminated: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND query LIKE 'LISTEN%'",
        )
        .bind(&name)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        assert_eq!(terminated, [true]);
        rendezvous_testkit::eventually("the listener's backend is gone", || {
            let (server, name) = (server.clone(), name.clone());
            async move {
                let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
                (listeners(&mut admin, &name).await == 0).then_some(())
            }
        })
        .await;

        // Committed in the gap: its NOTIFY reaches nobody.
        deliver(&stack, &anna, "in-the-gap").await;
        let early = tokio::time::timeout(Duration::from_millis(500), stream.message()).await;
        assert!(early.is_err(), "streamed while nobody listens: {early:?}");

        // The listener is back: the stream replays what it missed, once, and follows.
        allow_connections(&mut admin, &name, true).await;
        let replayed = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("nothing replayed within 10 s of the listener's return")
            .unwrap()
            .expect("the stream ended");
        assert_eq!(streamed_tag(&replayed), "in-the-gap");
        assert_eq!(replayed.unread_count, 3);
        deliver(&stack, &anna, "after").await;
        assert_eq!(streamed_tag(&next(&mut stream).await), "after");
        assert_eq!(listeners(&mut admin, &name).await, 1);
        admin.close().await.unwrap();
        stack.stop().await.unwrap();
    }
}

/// PostgreSQL only: streams hear of notifications through the database's listener, whose
/// announcements can reach a stream well after the transaction that stored them committed.
mod postgres_late_announcements {
    use rendezvous_common::with_db;
    use rendezvous_notifications::hub::CHANNEL;

    use super::*;

    /// What was visible before a stream opened is in the inbox already (or in the stream's
    /// backlog): its announcement reaching the stream after it subscribed, as the welcome's
    /// can, is not streamed as if it were new.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_late_announcement_of_what_was_visible_before_the_stream_opened_is_not_streamed() {
        if rendezvous_testkit::postgres_url().is_none() {
            eprintln!("skipped: RENDEZVOUS_TEST_POSTGRES_URL is not set");
            return;
        }
        let stack = Stack::start(Backend::Postgres).await.unwrap();
        let anna = settled_member(&stack, "Anna").await;
        let mut stream = open_stream(&mut stack.inbox(&anna), "").await;
        // The welcome's announcement, exactly as it was written, arriving only now.
        let announced: Vec<(String,)> = with_db!(&stack.notifications.db, |pool| {
            sqlx::query_as(
                "SELECT pg_notify($1, json_build_object('id', id, 'recipient_id', recipient_id, \
                 'kind', kind, 'title', title, 'body', body, 'notice', encode(notice, 'hex'), \
                 'created_at', created_at, 'visible_at', visible_at)::text)::text \
                 FROM notifications WHERE recipient_id = $2 AND kind = 'WELCOME'",
            )
            .bind(CHANNEL)
            .bind(anna.id.as_str())
            .fetch_all(pool)
            .await
            .unwrap()
        });
        assert_eq!(announced.len(), 1, "the welcome was announced again");
        deliver(&stack, &anna, "after-open").await;
        assert_eq!(
            streamed_tag(&next(&mut stream).await),
            "after-open",
            "the welcome was visible before the stream opened"
        );
        stack.stop().await.unwrap();
    }
}

/// PostgreSQL only: a Deliver of many notices announces them with one `pg_notify`, and each
/// still reaches its recipient's streams only.
mod postgres_batch_announcements {
    use rendezvous_notifications::hub::CHANNEL;
    use sqlx::postgres::PgListener;

    use super::*;
    use crate::helpers::deliver as deliver_all;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_deliver_of_many_notices_is_one_announcement_routed_to_each_recipient() {
        if rendezvous_testkit::postgres_url().is_none() {
            eprintln!("skipped: RENDEZVOUS_TEST_POSTGRES_URL is not set");
            return;
        }
        let stack = Stack::start(Backend::Postgres).await.unwrap();
        let (anna, bruno, mut annas, mut brunos) = two_streams(&stack).await;
        let mut overheard = PgListener::connect(stack.notifications.database_url())
            .await
            .unwrap();
        overheard.listen(CHANNEL).await.unwrap();

        let batch = vec![
            tagged(&anna, "a1"),
            tagged(&bruno, "b1"),
            tagged(&anna, "a2"),
            tagged(&bruno, "b2"),
            tagged(&anna, "a3"),
        ];
        assert_eq!(deliver_all(&stack, batch).await.accepted_count, 5);
        let mut to_anna = HashSet::new();
        for _ in 0..3 {
            let message = next(&mut annas).await;
            assert_eq!(message.notification.as_ref().unwrap().recipient_id, anna.id);
            to_anna.insert(streamed_tag(&message).to_owned());
        }
        assert_eq!(
            to_anna,
            HashSet::from(["a1", "a2", "a3"].map(str::to_owned))
        );
        let mut to_bruno = HashSet::new();
        for _ in 0..2 {
            to_bruno.insert(streamed_tag(&next(&mut brunos).await).to_owned());
        }
        assert_eq!(to_bruno, HashSet::from(["b1", "b2"].map(str::to_owned)));
        // Nothing more for either.
        for stream in [&mut annas, &mut brunos] {
            let more = tokio::time::timeout(Duration::from_millis(300), stream.message()).await;
            assert!(more.is_err(), "{more:?}");
        }

        let mut announcements = 0;
        while let Ok(Ok(Some(_))) =
            tokio::time::timeout(Duration::from_millis(300), overheard.try_recv()).await
        {
            announcements += 1;
        }
        assert_eq!(announcements, 1, "one pg_notify for the five");
        stack.stop().await.unwrap();
    }
}
