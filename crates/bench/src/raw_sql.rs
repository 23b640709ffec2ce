//! The raw SQL baselines: the least a database must do for each scenario, written by hand
//! against tables of their own in a fresh database on the same server (or a fresh SQLite
//! file, opened as the services open theirs: WAL, `synchronous = NORMAL`).
//!
//! * one RSVP: the conditional update of the event row (a seat if one is left, else a place
//!   on the wait-list) plus the insert of the RSVP, one transaction each;
//! * fan-out: `INSERT … SELECT` of an inbox row for each of 10,000 recipients;
//! * delivery: claiming 100 outbox rows with `FOR UPDATE SKIP LOCKED` (SQLite, which has a
//!   single writer, takes them in a write transaction), deleting them as sent.
//!
//! On PostgreSQL each client holds its own connection, as pgbench's clients do (so 64 in
//! flight on one hot row is the lock convoy); on SQLite they share the services' pool of 4,
//! since a second writer only waits on the first.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rendezvous_common::db::Db;
use rendezvous_common::with_db;
use rendezvous_testkit::TestDb;

use crate::load::{self, Failure, OpResult, Outcome};
use crate::stack::Databases;

/// The baseline tables in their fresh database.
pub struct RawDb {
    pub db: Db,
    _test_db: TestDb,
}

const SCHEMA: [&str; 4] = [
    "CREATE TABLE raw_events (id BIGINT PRIMARY KEY NOT NULL, capacity INTEGER NOT NULL, \
     confirmed INTEGER NOT NULL DEFAULT 0, waitlisted INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE raw_rsvps (event_id BIGINT NOT NULL, member_id TEXT NOT NULL, \
     status TEXT NOT NULL, position INTEGER, created_at TIMESTAMPTZ NOT NULL, \
     PRIMARY KEY (event_id, member_id))",
    "CREATE TABLE raw_inbox (id TEXT PRIMARY KEY NOT NULL, recipient_id TEXT NOT NULL, \
     kind TEXT NOT NULL, payload TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)",
    "CREATE TABLE raw_recipients (member_id TEXT PRIMARY KEY NOT NULL)",
];

/// The outbox table: an auto-numbered id on each backend.
fn outbox_schema(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => {
            "CREATE TABLE raw_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, \
             payload TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)"
        }
        Db::Postgres(_) => {
            "CREATE TABLE raw_outbox (id BIGSERIAL PRIMARY KEY, \
             payload TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)"
        }
    }
}

impl RawDb {
    /// A fresh database with the baseline tables; on PostgreSQL with `connections`
    /// connections (one per client).
    pub async fn create(databases: &Databases, connections: usize) -> anyhow::Result<Self> {
        let test_db = databases.fresh("rdv_bench_raw").await?;
        let db = match databases {
            Databases::Sqlite => Db::connect(&test_db.url).await?,
            Databases::Postgres(_) => {
                let connections = u32::try_from(connections.max(1)).unwrap_or(u32::MAX);
                let options = sqlx::postgres::PgConnectOptions::from_str(&test_db.url)?;
                Db::Postgres(
                    sqlx::postgres::PgPoolOptions::new()
                        .max_connections(connections)
                        .min_connections(connections)
                        .acquire_timeout(Duration::from_secs(60))
                        .connect_with(options)
                        .await?,
                )
            }
        };
        for statement in SCHEMA.into_iter().chain([outbox_schema(&db)]) {
            with_db!(&db, |pool| {
                sqlx::query(statement).execute(pool).await?;
            });
        }
        Ok(Self {
            db,
            _test_db: test_db,
        })
    }

    pub async fn close(self) {
        self.db.close().await;
    }

    /// Adds `count` events of `capacity` seats, numbered from `first`.
    pub async fn add_events(&self, first: i64, count: i64, capacity: i32) -> anyhow::Result<()> {
        let ids: Vec<i64> = (first..first + count).collect();
        for batch in ids.chunks(500) {
            with_db!(&self.db, |pool| {
                let mut insert = sqlx::QueryBuilder::new("INSERT INTO raw_events (id, capacity) ");
                insert.push_values(batch, |mut row, id| {
                    row.push_bind(*id).push_bind(capacity);
                });
                insert.build().execute(pool).await?;
            });
        }
        Ok(())
    }

    /// `rsvps` raw RSVPs, `in_flight` at a time, member `i` to event `event_of(i)`.
    pub async fn rsvps(
        &self,
        label: &str,
        rsvps: u64,
        in_flight: usize,
        event_of: impl Fn(u64) -> i64 + Send + Sync + 'static,
    ) -> Outcome {
        let db = self.db.clone();
        let run = uuid::Uuid::now_v7().simple().to_string();
        load::run(label, rsvps, in_flight, move |i| {
            let db = db.clone();
            let event = event_of(i);
            let member = format!("{run}-{i}");
            async move { raw_rsvp(&db, event, &member).await }
        })
        .await
    }

    /// Confirmed and wait-listed RSVPs of `event`, and whether the wait-list positions are
    /// exactly 1..=waitlisted.
    pub async fn rsvp_counts(&self, event: i64) -> anyhow::Result<(i64, i64)> {
        let counts: (i64, i64) = with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT \
                 (SELECT COUNT(*) FROM raw_rsvps WHERE event_id = $1 AND status = 'confirmed'), \
                 (SELECT COUNT(*) FROM raw_rsvps WHERE event_id = $1 AND status = 'waitlisted')",
            )
            .bind(event)
            .fetch_one(pool)
            .await?
        });
        Ok(counts)
    }

    /// Fills `raw_recipients` with `count` recipients.
    pub async fn add_recipients(&self, count: usize) -> anyhow::Result<()> {
        let ids: Vec<String> = (0..count)
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect();
        for batch in ids.chunks(500) {
            with_db!(&self.db, |pool| {
                let mut insert = sqlx::QueryBuilder::new("INSERT INTO raw_recipients (member_id) ");
                insert.push_values(batch, |mut row, id| {
                    row.push_bind(id.clone());
                });
                insert.build().execute(pool).await?;
            });
        }
        Ok(())
    }

    /// `statements` times, one `INSERT … SELECT` of an inbox row per recipient.
    pub async fn fan_out(&self, label: &str, statements: u64) -> Outcome {
        let db = self.db.clone();
        load::run(label, statements, 1, move |_| {
            let db = db.clone();
            async move {
                let id = match &db {
                    Db::Sqlite(_) => "lower(hex(randomblob(16)))",
                    Db::Postgres(_) => "gen_random_uuid()::text",
                };
                let sql = format!(
                    "INSERT INTO raw_inbox (id, recipient_id, kind, payload, created_at) \
                     SELECT {id}, member_id, 'chapter_new_event', $1, $2 FROM raw_recipients"
                );
                let inserted = with_db!(&db, |pool| {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(NOTICE_PAYLOAD)
                        .bind(Utc::now())
                        .execute(pool)
                        .await?
                        .rows_affected()
                });
                Ok(inserted)
            }
        })
        .await
    }

    /// Adds `count` outbox rows.
    pub async fn add_outbox_rows(&self, count: u64) -> anyhow::Result<()> {
        let sql = match &self.db {
            Db::Sqlite(_) => {
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                 INSERT INTO raw_outbox (payload, created_at) SELECT $2, $3 FROM n"
            }
            Db::Postgres(_) => {
                "INSERT INTO raw_outbox (payload, created_at) \
                 SELECT $2, $3 FROM generate_series(1, $1::bigint)"
            }
        };
        let count = i64::try_from(count)?;
        with_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(count)
                .bind(NOTICE_PAYLOAD)
                .bind(Utc::now())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Claims (and deletes, as sent) the outbox 100 rows at a time, `claimers` at once, until
    /// `claims` claims were made.
    pub async fn claims(&self, label: &str, claims: u64, claimers: usize) -> Outcome {
        let db = Arc::new(self.db.clone());
        load::run(label, claims, claimers, move |_| {
            let db = Arc::clone(&db);
            async move { claim(&db).await }
        })
        .await
    }
}

/// A notice's payload, about the size of an encoded new-event notice.
const NOTICE_PAYLOAD: &str = "{\"kind\":\"chapter_new_event\",\"event_id\":\"0193a0f4-7c1e-7b7a-9a55-3f0c5d3e2b11\",\
\"chapter\":\"Paris networking\",\"title\":\"Café networking — Le Marais\",\"start\":\"2027-01-07T18:30:00Z\"}";

/// One RSVP, the raw way.
async fn raw_rsvp(db: &Db, event: i64, member: &str) -> OpResult {
    let now = Utc::now();
    with_db!(db, |pool| {
        let mut tx = rendezvous_common::db::BeginWrite::begin_write(pool).await?;
        let seat: Option<i32> = sqlx::query_scalar(
            "UPDATE raw_events SET confirmed = confirmed + 1 \
             WHERE id = $1 AND confirmed < capacity RETURNING confirmed",
        )
        .bind(event)
        .fetch_optional(&mut *tx)
        .await?;
        let (status, position) = match seat {
            Some(_) => ("confirmed", None),
            None => {
                let position: i32 = sqlx::query_scalar(
                    "UPDATE raw_events SET waitlisted = waitlisted + 1 WHERE id = $1 \
                     RETURNING waitlisted",
                )
                .bind(event)
                .fetch_one(&mut *tx)
                .await?;
                ("waitlisted", Some(position))
            }
        };
        sqlx::query(
            "INSERT INTO raw_rsvps (event_id, member_id, status, position, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event)
        .bind(member)
        .bind(status)
        .bind(position)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<u64, Failure>(1)
    })
}

/// One claim of up to 100 rows; the rows claimed.
async fn claim(db: &Db) -> OpResult {
    let claimed = match db {
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "DELETE FROM raw_outbox WHERE id IN (SELECT id FROM raw_outbox ORDER BY id \
                 LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING id",
            )
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            ids.len()
        }
        Db::Sqlite(pool) => {
            let mut tx = rendezvous_common::db::BeginWrite::begin_write(pool).await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "DELETE FROM raw_outbox WHERE id IN (SELECT id FROM raw_outbox ORDER BY id \
                 LIMIT 100) RETURNING id",
            )
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            ids.len()
        }
    };
    Ok(u64::try_from(claimed).unwrap_or(0))
}
