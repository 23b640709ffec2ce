//! Met edges reach events through the outbox: every new met-in-person edge (a small event's
//! connected pair at once, or two confirmations) writes, in its own transaction, the row that
//! tells events of it (read here as the relay reads it), once per pair whatever is sent again;
//! and the migration that brought this writes the rows of the edges made before it.

use chrono::{DateTime, SubsecRound as _, Utc};
use rendezvous_common::db::{Db, Migrations};
use rendezvous_common::time::to_timestamp;
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::outbox::{outbox_count, outbox_met_edges};
use rendezvous_testkit::{Backend, MembersHandle, TestDb, TestMember, backend_tests, connect};

use crate::helpers::{EVENT_TITLE, record_meetings_request, stack_of};

/// When the events of these tests took place: a whole second, so that both backends keep it
/// exactly.
fn two_hours_ago() -> DateTime<Utc> {
    (Utc::now() - chrono::Duration::hours(2)).trunc_subsecs(0)
}

/// What events is told of `a` and `b` meeting at `event_id` at `at`, the pair ordered as
/// members keeps it.
fn edge(event_id: &str, a: &str, b: &str, at: DateTime<Utc>) -> events_pb::RecordMetEdgeRequest {
    let (a, b) = if a < b { (a, b) } else { (b, a) };
    events_pb::RecordMetEdgeRequest {
        event_id: event_id.to_owned(),
        member_a: a.to_owned(),
        member_b: b.to_owned(),
        met_time: Some(to_timestamp(at)),
    }
}

/// Records `chunk` of the members checked in at `event_id` (`attendee_count` in all, 0 when
/// the chunk is all of them), which took place `at`; each pair says it met when
/// `confirm_each`.
async fn record_chunk(
    stack: &MembersHandle,
    event_id: &str,
    at: DateTime<Utc>,
    chunk: &[&TestMember],
    attendee_count: i32,
    confirm_each: bool,
) -> pb::RecordMeetingsResponse {
    let ids: Vec<String> = chunk.iter().map(|m| m.id.clone()).collect();
    let request = pb::RecordMeetingsRequest {
        attendee_count,
        confirm_each,
        ..record_meetings_request(event_id, EVENT_TITLE, at, &ids)
    };
    let response = stack.internal().unwrap().record_meetings(request).await;
    response.unwrap().into_inner()
}

/// `who` confirms having met `other` at `event_id`; whether the two are met now.
async fn confirm(who: &TestMember, other: &TestMember, event_id: &str) -> bool {
    let request = pb::ConfirmMetRequest {
        event_id: event_id.to_owned(),
        member_id: other.id.clone(),
    };
    let response = who.client.clone().confirm_met(request).await.unwrap();
    response.into_inner().co_attendee.unwrap().met
}

async fn a_small_events_connected_pair_met_at_once_tells_events_once(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    let (event_id, at) = (uuid::Uuid::now_v7().to_string(), two_hours_ago());
    let recorded = record_chunk(&stack, &event_id, at, &[&anna, &bruno, &chloe], 0, false).await;
    assert_eq!(recorded.pairs_met, 1);
    // Chloe, connected to nobody, met nobody.
    assert_eq!(
        outbox_met_edges(&stack.db).await,
        [edge(&event_id, &anna.id, &bruno.id, at)]
    );
    stack.stop().await.unwrap();
}

async fn two_confirmations_tell_events_once(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    connect(&anna, &bruno).await.unwrap();
    let (event_id, at) = (uuid::Uuid::now_v7().to_string(), two_hours_ago());
    let recorded = record_chunk(&stack, &event_id, at, &[&anna, &bruno], 0, true).await;
    assert_eq!(recorded.pairs_met, 0, "each pair says it met");

    assert!(!confirm(&anna, &bruno, &event_id).await);
    assert!(outbox_met_edges(&stack.db).await.is_empty());
    assert!(confirm(&bruno, &anna, &event_id).await);
    // Confirming again once met makes nothing new.
    assert!(confirm(&anna, &bruno, &event_id).await);
    assert!(confirm(&bruno, &anna, &event_id).await);
    assert_eq!(
        outbox_met_edges(&stack.db).await,
        [edge(&event_id, &anna.id, &bruno.id, at)]
    );
    stack.stop().await.unwrap();
}

async fn a_pair_met_at_an_earlier_event_tells_events_nothing_new(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    connect(&anna, &bruno).await.unwrap();
    let (first, at) = (uuid::Uuid::now_v7().to_string(), two_hours_ago());
    record_chunk(&stack, &first, at, &[&anna, &bruno], 0, false).await;
    // Met again at once at a later event, and by confirming at a third.
    let later = uuid::Uuid::now_v7().to_string();
    let recorded = record_chunk(&stack, &later, at, &[&anna, &bruno], 0, false).await;
    assert_eq!(recorded.pairs_met, 1);
    let coffee = uuid::Uuid::now_v7().to_string();
    record_chunk(&stack, &coffee, at, &[&anna, &bruno], 0, true).await;
    assert!(!confirm(&anna, &bruno, &coffee).await);
    assert!(confirm(&bruno, &anna, &coffee).await);

    assert_eq!(
        outbox_met_edges(&stack.db).await,
        [edge(&first, &anna.id, &bruno.id, at)]
    );
    stack.stop().await.unwrap();
}

async fn a_chunk_sent_again_tells_events_nothing_new(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    connect(&bruno, &chloe).await.unwrap();
    let (event_id, at) = (uuid::Uuid::now_v7().to_string(), two_hours_ago());
    record_chunk(&stack, &event_id, at, &[&anna, &bruno], 3, false).await;
    let again = record_chunk(&stack, &event_id, at, &[&anna, &bruno], 3, false).await;
    assert!(again.already_recorded);
    record_chunk(&stack, &event_id, at, &[&chloe], 3, false).await;
    // The last chunk again, once the event is complete, and the whole event in one.
    let again = record_chunk(&stack, &event_id, at, &[&chloe], 3, false).await;
    assert!(again.already_recorded);
    let everyone = [&anna, &bruno, &chloe];
    let again = record_chunk(&stack, &event_id, at, &everyone, 0, false).await;
    assert!(again.already_recorded);

    assert_eq!(
        outbox_met_edges(&stack.db).await,
        [
            edge(&event_id, &anna.id, &bruno.id, at),
            edge(&event_id, &bruno.id, &chloe.id, at),
        ]
    );
    stack.stop().await.unwrap();
}

async fn the_migration_tells_events_of_the_edges_made_before_it(backend: Backend) {
    let test_db = TestDb::new(backend).await.unwrap();
    let db = Db::connect(&test_db.url).await.unwrap();
    let all = rendezvous_members::store::MIGRATIONS;
    let before = Migrations {
        sqlite: &all.sqlite[..17],
        postgres: &all.postgres[..17],
    };
    assert_eq!(before.sqlite.last().map(|m| m.0), Some(17));
    assert_eq!(before.postgres.last().map(|m| m.0), Some(17));
    db.migrate(&before).await.unwrap();
    let mut ids: Vec<String> = (0..3).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    ids.sort();
    let (first, second) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    // Sub-second times, as recorded events have them.
    let earlier = Utc::now().trunc_subsecs(6) - chrono::Duration::days(30);
    let later = earlier + chrono::Duration::days(7);
    let edges = [
        (&ids[0], &ids[1], &first, earlier),
        (&ids[0], &ids[2], &second, later),
        (&ids[1], &ids[2], &second, later),
    ];
    with_db!(&db, |pool| {
        for (a, b, event_id, at) in edges {
            sqlx::query(
                "INSERT INTO met_edges (member_a, member_b, event_id, met_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(a)
            .bind(b)
            .bind(event_id)
            .bind(at)
            .execute(pool)
            .await
            .unwrap();
        }
    });
    db.migrate(&all).await.unwrap();

    let mut told = outbox_met_edges(&db).await;
    told.sort_by(|x, y| (&x.member_a, &x.member_b).cmp(&(&y.member_a, &y.member_b)));
    let expected: Vec<_> = edges
        .iter()
        .map(|(a, b, event_id, at)| edge(event_id, a, b, *at))
        .collect();
    assert_eq!(told, expected);
    // Keyed as a new edge's row is.
    let key = format!("events.record_met_edge:{first}:{}:{}", ids[0], ids[1]);
    assert_eq!(outbox_count(&db, &key, "").await, 1);
    db.close().await;
}

backend_tests!(
    a_small_events_connected_pair_met_at_once_tells_events_once,
    two_confirmations_tell_events_once,
    a_pair_met_at_an_earlier_event_tells_events_nothing_new,
    a_chunk_sent_again_tells_events_nothing_new,
    the_migration_tells_events_of_the_edges_made_before_it,
);
