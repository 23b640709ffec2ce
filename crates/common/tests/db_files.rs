//! A SQLite database is created private: the file and its WAL and shared-memory files 0600,
//! in folders made 0700 — members' holds password hashes.
#![cfg(unix)]
#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use rendezvous_common::db::Db;
use rendezvous_common::with_db;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_new_sqlite_database_and_its_folder_are_private() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data").join("members");
    let file = dir.join("members.db");
    let db = Db::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    with_db!(&db, |pool| {
        sqlx::query("CREATE TABLE t (x TEXT)")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES ('secret')")
            .execute(pool)
            .await
            .unwrap();
    });
    assert_eq!(mode(&root.path().join("data")), 0o700);
    assert_eq!(mode(&dir), 0o700);
    for name in ["members.db", "members.db-wal", "members.db-shm"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    db.close().await;
}

#[tokio::test]
async fn an_existing_database_is_opened_as_it_is() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("shared.db");
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let db = Db::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    assert_eq!(mode(&file), 0o640);
    db.close().await;
}
