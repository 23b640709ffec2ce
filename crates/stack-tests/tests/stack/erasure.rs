//! A member who took part in the whole story exports their data, then deletes their account:
//! the export holds every service's part, and afterwards no table of any service, no outbox
//! and no email sent since holds their name or address (README, "Erasure and export").

use rendezvous_common::db::Db;
use rendezvous_common::relay::pending_count;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_testkit::{code, eventually};
use tonic::Code;

use crate::helpers::{Person, World};

/// Every table of `db` but the migration bookkeeping.
async fn tables(db: &Db) -> Vec<String> {
    match db {
        Db::Postgres(pool) => sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    }
}

/// Every row of `table` as one line of text (bytes as hex), whichever the backend.
async fn rows_as_text(db: &Db, table: &str) -> Vec<String> {
    match db {
        Db::Postgres(pool) => {
            let sql = format!("SELECT t::text FROM {table} t");
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .unwrap()
        }
        Db::Sqlite(pool) => {
            let pragma = format!("SELECT name FROM pragma_table_info('{table}')");
            let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(pragma))
                .fetch_all(pool)
                .await
                .unwrap();
            let row = columns
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || ',' || ");
            let sql = format!("SELECT {row} FROM \"{table}\"");
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .unwrap()
        }
    }
}

/// Where `needles` (or their bytes in hex, as blobs read) appear in `db`: `table: row`.
async fn traces(db: &Db, needles: &[String]) -> Vec<String> {
    let hex: Vec<String> = needles
        .iter()
        .map(|n| n.bytes().map(|b| format!("{b:02x}")).collect())
        .collect();
    let mut found = Vec::new();
    for table in tables(db).await {
        for row in rows_as_text(db, &table).await {
            let lower = row.to_lowercase();
            if needles
                .iter()
                .chain(&hex)
                .any(|n| lower.contains(&n.to_lowercase()))
            {
                found.push(format!("{table}: {row}"));
            }
        }
    }
    found
}

/// `who` exports their data, then deletes their account; see the module's documentation.
pub async fn export_then_erase(world: &World, who: &Person) {
    let export = who
        .members(world)
        .export_member_data(mpb::ExportMemberDataRequest {})
        .await
        .unwrap()
        .into_inner();
    let json: serde_json::Value = serde_json::from_slice(&export.data).unwrap();
    assert_eq!(json["profile"]["display_name"], who.name);
    assert!(
        !json["events"]["rsvps"].as_array().unwrap().is_empty(),
        "the events part holds their RSVPs: {}",
        json["events"]
    );
    assert!(
        !json["notifications"]["inbox"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the notifications part holds their inbox"
    );

    // Before: the search finds them where the story put them (so it can see them at all).
    let needles = [who.name.to_owned(), who.email().to_owned()];
    for db in [&world.stack.members.db, &world.stack.notifications.db] {
        assert!(
            !traces(db, &needles).await.is_empty(),
            "the search finds them before"
        );
    }

    let emails = world.stack.notifications.emails().to_owned();
    let sent_before: Vec<_> = std::fs::read_dir(&emails)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    who.members(world)
        .delete_member(mpb::DeleteMemberRequest { id: "me".into() })
        .await
        .unwrap();

    // The erasure reaches both services through members' outbox, and what events tells
    // others about it (cancellations, promotions) is delivered too.
    let (members_db, events_db) = (&world.stack.members.db, &world.events.db);
    eventually("every outbox is drained", || async {
        let pending =
            pending_count(members_db).await.unwrap() + pending_count(events_db).await.unwrap();
        (pending == 0).then_some(())
    })
    .await;

    // Their token opens nothing anywhere.
    let members = who
        .members(world)
        .get_member(mpb::GetMemberRequest { id: "me".into() })
        .await;
    assert_eq!(code(members), Code::Unauthenticated);
    eventually("events and notifications refuse the token", || async {
        let events = who
            .events(world)
            .list_my_events(pb::ListMyEventsRequest::default())
            .await;
        let inbox = who
            .inbox(world)
            .list_notifications(npb::ListNotificationsRequest::default())
            .await;
        (code(events) == Code::Unauthenticated && code(inbox) == Code::Unauthenticated)
            .then_some(())
    })
    .await;

    // No table of any service holds their name or address any more.
    for (service, db) in [
        ("members", members_db),
        ("events", events_db),
        ("notifications", &world.stack.notifications.db),
    ] {
        let left = traces(db, &needles).await;
        assert!(
            left.is_empty(),
            "{service} still holds {needles:?}: {left:#?}"
        );
    }
    // Mail already sent is in the mailboxes it went to; nothing sent since names them.
    let sent_after: Vec<String> = std::fs::read_dir(&emails)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !sent_before.contains(&e.file_name()))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    for email in &sent_after {
        for needle in &needles {
            assert!(
                !email.contains(needle.as_str()),
                "an email sent after the deletion names them"
            );
        }
    }
}
