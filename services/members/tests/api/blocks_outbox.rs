//! Blocks reach events through the outbox: every block and unblock writes, in its own
//! transaction, the row that tells events of it (read here as the relay reads it), each change
//! of a pair later than the one before even when the clock does not move; and the migration
//! that brought this writes the rows of the blocks made before it.

use chrono::{DateTime, SubsecRound as _, Utc};
use rendezvous_common::db::{Db, Migrations};
use rendezvous_common::relay::{OutboxRow, TOPIC_BLOCKS_IN_EVENTS, block_change};
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, TestDb, backend_tests};
use tonic::Code;

use crate::helpers::{block, members_on_manual_clock, unblock};

/// The block changes the outbox holds for events, as the relay would send them, in the order
/// they were written.
async fn told_events(db: &Db) -> Vec<events_pb::BlockChange> {
    let rows: Vec<(String, String, String, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id, topic, dedupe_key, payload FROM outbox WHERE topic = $1 \
             ORDER BY created_at, id",
        )
        .bind(TOPIC_BLOCKS_IN_EVENTS)
        .fetch_all(pool)
        .await
        .unwrap()
    });
    rows.into_iter()
        .map(|(id, topic, dedupe_key, payload)| {
            let row = OutboxRow {
                id,
                topic,
                dedupe_key,
                payload: serde_json::from_str(&payload).unwrap(),
                attempts: 0,
                traceparent: None,
            };
            block_change(&row).unwrap()
        })
        .collect()
}

fn summary(changes: &[events_pb::BlockChange]) -> Vec<(String, String, bool)> {
    changes
        .iter()
        .map(|c| (c.blocker_id.clone(), c.blocked_id.clone(), c.blocked))
        .collect()
}

async fn every_block_and_unblock_tells_events_each_change_later_than_the_last(backend: Backend) {
    // The clock does not move: the changes of a pair still get strictly later times.
    let stack = members_on_manual_clock(backend, |_| {}).await;
    let anna = stack.register("Anna").await.unwrap();
    let bob = stack.register("Bob").await.unwrap();
    block(&anna, &bob).await;
    // Blocking again changes nothing, and tells nothing.
    block(&anna, &bob).await;
    unblock(&anna, &bob).await;
    block(&anna, &bob).await;
    block(&bob, &anna).await;
    let lifted = anna
        .client
        .clone()
        .unblock_member(pb::UnblockMemberRequest {
            member_id: bob.id.clone(),
        })
        .await;
    assert!(lifted.is_ok());
    let none = anna
        .client
        .clone()
        .unblock_member(pb::UnblockMemberRequest {
            member_id: bob.id.clone(),
        })
        .await;
    assert_eq!(rendezvous_testkit::code(none), Code::NotFound);

    let changes = told_events(&stack.db).await;
    let (a, b) = (anna.id.clone(), bob.id.clone());
    assert_eq!(
        summary(&changes),
        [
            (a.clone(), b.clone(), true),
            (a.clone(), b.clone(), false),
            (a.clone(), b.clone(), true),
            (b.clone(), a.clone(), true),
            (a.clone(), b.clone(), false),
        ]
    );
    let times_of = |blocker: &str| -> Vec<(i64, i32)> {
        changes
            .iter()
            .filter(|c| c.blocker_id == blocker)
            .map(|c| c.change_time.map(|t| (t.seconds, t.nanos)).unwrap())
            .collect()
    };
    let anna_times = times_of(&a);
    assert!(anna_times.windows(2).all(|w| w[0] < w[1]), "{anna_times:?}");
    stack.stop().await.unwrap();
}

async fn the_migration_tells_events_of_the_blocks_made_before_it(backend: Backend) {
    let test_db = TestDb::new(backend).await.unwrap();
    let db = Db::connect(&test_db.url).await.unwrap();
    let all = rendezvous_members::store::MIGRATIONS;
    let before = Migrations {
        sqlite: &all.sqlite[..9],
        postgres: &all.postgres[..9],
    };
    db.migrate(&before).await.unwrap();
    let (anna, bob) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let at: DateTime<Utc> = Utc::now().trunc_subsecs(6);
    with_db!(&db, |pool| {
        for (id, name) in [(anna, "Anna"), (bob, "Bob")] {
            sqlx::query(
                "INSERT INTO members (id, display_name, locale, time_zone, visibility, \
                 created_at, updated_at) VALUES ($1, $2, 'en', 'UTC', 'public', $3, $3)",
            )
            .bind(id.to_string())
            .bind(name)
            .bind(at)
            .execute(pool)
            .await
            .unwrap();
        }
        sqlx::query("INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)")
            .bind(anna.to_string())
            .bind(bob.to_string())
            .bind(at)
            .execute(pool)
            .await
            .unwrap();
    });
    db.migrate(&all).await.unwrap();
    let changes = told_events(&db).await;
    assert_eq!(
        summary(&changes),
        [(anna.to_string(), bob.to_string(), true)]
    );
    assert_eq!(
        changes[0].change_time,
        Some(rendezvous_common::time::to_timestamp(at))
    );
    db.close().await;
}

backend_tests!(
    every_block_and_unblock_tells_events_each_change_later_than_the_last,
    the_migration_tells_events_of_the_blocks_made_before_it,
);
