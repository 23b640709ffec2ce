//! `rendezvous outbox` against a members database, on SQLite and PostgreSQL: the dead letters
//! are listed with their reason, a page at a time, and requeued by id or all at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use chrono::Utc;
use rendezvous_common::db::{BeginWrite as _, Db};
use rendezvous_common::outbox::{OutboxMessage, OutboxWriter as _, TOPIC_NOTIFY};
use rendezvous_common::relay;
use rendezvous_common::with_db;
use rendezvous_testkit::{Backend, TestDb, backend_tests};

/// Runs `rendezvous outbox --database-url <url> <args>`; its exit status and output.
async fn outbox(url: &str, args: &[&str]) -> (bool, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rendezvous"));
    command
        .env_remove("RENDEZVOUS_DATABASE_URL")
        .args(["outbox", "--database-url", url])
        .args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A members database whose outbox holds three rows, two of them dead letters; their ids.
async fn outbox_with_dead_letters(test: &TestDb) -> (Db, Vec<String>) {
    let db = Db::connect(&test.url).await.unwrap();
    db.migrate(&rendezvous_members::store::MIGRATIONS)
        .await
        .unwrap();
    let now = Utc::now();
    with_db!(&db, |pool| {
        let mut tx = pool.begin_write().await.unwrap();
        for key in ["welcome:ok", "welcome:bad-1", "welcome:bad-2"] {
            let message = OutboxMessage {
                topic: TOPIC_NOTIFY,
                dedupe_key: key.to_owned(),
                payload: serde_json::json!({"recipient_id": "not-a-member-id", "dedupe_key": key}),
            };
            assert!(tx.enqueue(&message, now).await.unwrap());
        }
        tx.commit().await.unwrap();
        sqlx::query(
            "UPDATE outbox SET dead_at = $1, refusals = 5, attempts = 7, \
             last_error = 'deliver failed: InvalidArgument: notifications[0].recipient_id' \
             WHERE dedupe_key LIKE 'welcome:bad-%'",
        )
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
    });
    let ids: Vec<String> = with_db!(&db, |pool| {
        sqlx::query_scalar("SELECT id FROM outbox WHERE dead_at IS NOT NULL ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    (db, ids)
}

async fn dead_letters_are_listed_with_their_reason_and_requeued(backend: Backend) {
    let test = TestDb::new(backend).await.unwrap();
    let (db, ids) = outbox_with_dead_letters(&test).await;
    let url = test.url.as_str();

    let (ok, listed, _) = outbox(url, &["dead-letters"]).await;
    assert!(ok);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    for (line, (id, key)) in lines
        .iter()
        .zip(ids.iter().zip(["welcome:bad-1", "welcome:bad-2"]))
    {
        assert!(
            line.starts_with(&format!(
                "{id}  {TOPIC_NOTIFY}  {key}  refused 5 times (7 attempts)"
            )),
            "{line}"
        );
        assert!(
            line.ends_with("InvalidArgument: notifications[0].recipient_id"),
            "{line}"
        );
        assert!(
            !line.contains("not-a-member-id"),
            "payloads only when asked: {line}"
        );
    }
    assert_eq!(lines[2], "2 dead letters");
    // A page at a time, and with the payloads when asked.
    let (_, first, _) = outbox(url, &["dead-letters", "--limit", "1", "--payload"]).await;
    let first: Vec<&str> = first.lines().collect();
    assert_eq!(first.len(), 3, "{first:?}");
    assert!(first[0].starts_with(&ids[0]));
    assert!(first[1].contains("not-a-member-id"), "{first:?}");
    let (_, second, _) = outbox(url, &["dead-letters", "--after", &ids[0]]).await;
    assert!(
        second.lines().next().unwrap().starts_with(&ids[1]),
        "{second}"
    );
    assert_eq!(second.lines().count(), 2);

    // Requeued by id, then all: due again, with a fresh count of refusals.
    let (ok, said, _) = outbox(url, &["requeue", &ids[0]]).await;
    assert!(ok);
    assert_eq!(said.trim(), "requeued 1");
    assert_eq!(relay::dead_letter_count(&db).await.unwrap(), 1);
    let (ok, said, _) = outbox(url, &["requeue", "--all"]).await;
    assert!(ok);
    assert_eq!(said.trim(), "requeued 1");
    let (_, listed, _) = outbox(url, &["dead-letters"]).await;
    assert_eq!(listed.trim(), "0 dead letters");
    assert_eq!(relay::pending_count(&db).await.unwrap(), 3);
    // Nothing to requeue said is a mistake, not a requeue of everything.
    let (ok, _, error) = outbox(url, &["requeue"]).await;
    assert!(!ok);
    assert!(error.contains("required arguments"), "{error}");
    db.close().await;
}

backend_tests!(dead_letters_are_listed_with_their_reason_and_requeued);

#[tokio::test]
async fn a_missing_sqlite_database_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("members.db");
    let url = format!("sqlite://{}", path.display());
    let (ok, _, error) = outbox(&url, &["dead-letters"]).await;
    assert!(!ok);
    assert!(error.contains("no database at"), "{error}");
    assert!(!path.exists());
}
