//! Growth: rows already in the database, so that a cost that grows with the data shows up.
//!
//! At growth ×f each service's database holds f copies of what the scenarios wrote at ×1
//! (the originals): f − 1 copies are added by [`grow`], straight in SQL, before the growth
//! scenarios run again. A copy is an original with new ids, in another city (the browsed
//! cities' listings stay the same size, their tables do not), each of its RSVPs and co-hosts
//! with it (so every copied event's seat counters still match its rows), and every sent
//! notification, delivery and delivered outbox row with it, for the same recipients (each
//! member's inbox grows ×f too). What is still to do (a pending delivery, an outbox row not
//! yet relayed) is not copied: the stack would do it twice.
//!
//! Copy `k` of a row whose id is a UUID takes the original's id with its first eight hex
//! digits replaced by `k`, so ids stay UUIDs, a copied RSVP finds its copied event, and no
//! copy is taken for an original (originals are UUIDv7s of this decade, never `0000…`).
//!
//! The originals are copied a chunk of [`CHUNK`] keys at a time, each chunk in a transaction
//! of its own with the rows of the tables that share its key (an event with its RSVPs and
//! co-hosts, a notification with its subjects): so a statement reads only originals (a range
//! of the key's index, however many copies are already there), what SQLite stages of an
//! `INSERT … SELECT` from its own table stays the size of a chunk, and so does each
//! transaction's share of the write-ahead log, which SQLite truncates after every copy.

use rendezvous_common::db::{Backend, Db};
use rendezvous_common::with_db;

/// Keys of the first table of a group copied in one transaction.
const CHUNK: i64 = 20_000;

/// Every original key is at least this; every copy's below it (copies are `0000xxxx-…`).
const FIRST_ORIGINAL: &str = "00010000";

/// A copy's id: the original's, its first eight hex digits replaced by the copy's number.
fn remap(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Postgres => {
            format!("lpad(to_hex(CAST($1 AS INTEGER)), 8, '0') || substr({column}, 9)")
        }
        Backend::Sqlite => format!("printf('%08x', $1) || substr({column}, 9)"),
    }
}

/// A copy's unique text: the original's with `:h<k>` after it.
fn suffixed(column: &str) -> String {
    format!("{column} || ':h' || CAST(CAST($1 AS INTEGER) AS TEXT)")
}

/// One table's copying: which rows are originals to copy, and how a copy's columns differ.
struct Copy {
    table: &'static str,
    /// Extra condition on the originals (`s` is the original row).
    only: &'static str,
    /// `(column, expression)`; every other column is the original's. The first is the key
    /// the originals are chunked by.
    change: Vec<(&'static str, String)>,
}

/// Tables whose keys are the same ids (an event's id, its RSVPs' and co-hosts' event id),
/// copied chunk by chunk of the first table's keys, referenced tables first.
type Group = Vec<Copy>;

/// What a step copies in each service's database, groups referenced before their referrers.
fn plan(backend: Backend) -> [(Service, Vec<Group>); 3] {
    let id = |column: &'static str| (column, remap(backend, &format!("s.{column}")));
    let outbox = || Copy {
        table: "outbox",
        only: "s.delivered_at IS NOT NULL",
        change: vec![id("id"), ("dedupe_key", suffixed("s.dedupe_key"))],
    };
    let history_city =
        |column: &str| format!("'h' || CAST(CAST($1 AS INTEGER) AS TEXT) || ' ' || s.{column}");
    [
        (Service::Members, vec![vec![outbox()]]),
        (
            Service::Events,
            vec![
                vec![
                    Copy {
                        table: "events",
                        only: "",
                        change: vec![
                            id("id"),
                            ("request_id", suffixed("s.request_id")),
                            ("city", history_city("city")),
                            ("city_key", history_city("city_key")),
                        ],
                    },
                    Copy {
                        table: "rsvps",
                        only: "",
                        change: vec![id("event_id")],
                    },
                    Copy {
                        table: "cohosts",
                        only: "",
                        change: vec![id("event_id")],
                    },
                ],
                vec![outbox()],
            ],
        ),
        (
            Service::Notifications,
            vec![
                vec![
                    Copy {
                        table: "notifications",
                        only: "",
                        change: vec![id("id"), ("dedupe_key", suffixed("s.dedupe_key"))],
                    },
                    Copy {
                        table: "notification_subjects",
                        only: "",
                        change: vec![id("notification_id")],
                    },
                ],
                vec![Copy {
                    table: "deliveries",
                    only: "s.status NOT IN ('pending', 'failed')",
                    change: vec![id("id"), id("notification_id")],
                }],
            ],
        ),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Members,
    Events,
    Notifications,
}

/// How many rows one step wrote, by service and table.
pub type Written = Vec<(Service, &'static str, u64)>;

/// The column whose originals are told apart and chunked.
fn key_column(copy: &Copy) -> &'static str {
    copy.change.first().map_or("id", |(column, _)| column)
}

/// The table's columns, in order.
async fn columns(db: &Db, table: &str) -> anyhow::Result<Vec<String>> {
    let columns: Vec<String> = with_db!(db, |pool| {
        match db.backend() {
            Backend::Postgres => {
                sqlx::query_scalar(
                    "SELECT column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                     ORDER BY ordinal_position",
                )
                .bind(table)
                .fetch_all(pool)
                .await?
            }
            Backend::Sqlite => {
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                    .bind(table)
                    .fetch_all(pool)
                    .await?
            }
        }
    });
    anyhow::ensure!(!columns.is_empty(), "table {table} has no columns");
    Ok(columns)
}

/// The copy statements of a table, for a chunk and for the last one: `$1` is the copy's
/// number, `$2` the chunk's first key, `$3` the next chunk's (the last chunk's: the last
/// original key when the step began, so that nothing written since is copied).
async fn statements(db: &Db, copy: &Copy) -> anyhow::Result<[String; 2]> {
    let columns = columns(db, copy.table).await?;
    let values: Vec<String> = columns
        .iter()
        .map(|column| {
            copy.change
                .iter()
                .find(|(changed, _)| changed == column)
                .map_or_else(|| format!("s.{column}"), |(_, expr)| expr.clone())
        })
        .collect();
    let key = key_column(copy);
    let mut filter = format!("s.{key} >= $2");
    if !copy.only.is_empty() {
        filter = format!("{filter} AND {}", copy.only);
    }
    let insert = format!(
        "INSERT INTO {table} ({columns}) SELECT {values} FROM {table} s WHERE {filter}",
        table = copy.table,
        columns = columns.join(", "),
        values = values.join(", "),
    );
    Ok([
        format!("{insert} AND s.{key} < $3"),
        format!("{insert} AND s.{key} <= $3"),
    ])
}

/// The first key of each chunk of the originals of `copy`'s table, rising, and the last key.
async fn chunks(db: &Db, copy: &Copy) -> anyhow::Result<(Vec<String>, Option<String>)> {
    let sql = format!(
        "SELECT k FROM (SELECT s.{key} AS k, ROW_NUMBER() OVER (ORDER BY s.{key}) AS n \
         FROM {table} s WHERE s.{key} >= $1) AS numbered WHERE n % {CHUNK} = 1 ORDER BY k",
        key = key_column(copy),
        table = copy.table,
    );
    let starts: Vec<String> = with_db!(db, |pool| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(FIRST_ORIGINAL)
            .fetch_all(pool)
            .await?
    });
    let sql = format!(
        "SELECT MAX(s.{key}) FROM {table} s WHERE s.{key} >= $1",
        key = key_column(copy),
        table = copy.table,
    );
    let last: Option<String> = with_db!(db, |pool| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(FIRST_ORIGINAL)
            .fetch_one(pool)
            .await?
    });
    Ok((starts, last))
}

/// How many originals of `copy`'s table would be copied.
async fn originals(db: &Db, copy: &Copy, last: &str) -> anyhow::Result<i64> {
    let mut sql = format!(
        "SELECT COUNT(*) FROM {table} s WHERE s.{key} >= $1 AND s.{key} <= $2",
        table = copy.table,
        key = key_column(copy),
    );
    if !copy.only.is_empty() {
        sql = format!("{sql} AND {}", copy.only);
    }
    let count: i64 = with_db!(db, |pool| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(FIRST_ORIGINAL)
            .bind(last)
            .fetch_one(pool)
            .await?
    });
    Ok(count)
}

/// Adds copies `from + 1 ..= to` of every original, a chunk of keys per transaction, and
/// checks that each copy wrote each table's originals once (where they cannot change under
/// it: a delivery still to be made may be made meanwhile): what was written.
pub async fn grow(
    databases: [(Service, &Db); 3],
    from: u32,
    to: u32,
    mut progress: impl FnMut(u32),
) -> anyhow::Result<Written> {
    let mut steps = Vec::new();
    for (service, groups) in plan(databases[0].1.backend()) {
        let Some((_, db)) = databases.iter().find(|(s, _)| *s == service) else {
            continue;
        };
        for group in groups {
            let Some(first) = group.first() else {
                continue;
            };
            let (starts, Some(last)) = chunks(db, first).await? else {
                continue;
            };
            let mut tables = Vec::new();
            for copy in &group {
                let statements = statements(db, copy).await?;
                let originals = originals(db, copy, &last).await?;
                tables.push((
                    copy.table,
                    statements,
                    originals,
                    copy.only.is_empty(),
                    0_u64,
                ));
            }
            steps.push((service, *db, starts, last, tables));
        }
    }
    for k in from + 1..=to {
        for (_, db, starts, last, tables) in &mut steps {
            for (i, start) in starts.iter().enumerate() {
                let next = starts.get(i + 1);
                let end = next.unwrap_or(last);
                let rows = with_db!(*db, |pool| {
                    let mut tx = pool.begin().await?;
                    let mut rows = Vec::new();
                    for (table, [chunk, final_chunk], ..) in tables.iter() {
                        let sql = if next.is_some() { chunk } else { final_chunk };
                        let done = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                            .bind(i64::from(k))
                            .bind(start)
                            .bind(end)
                            .execute(&mut *tx)
                            .await
                            .map_err(|error| anyhow::anyhow!("copying {table}: {error}"))?;
                        rows.push(done.rows_affected());
                    }
                    tx.commit().await?;
                    rows
                });
                for (table, rows) in tables.iter_mut().zip(rows) {
                    table.4 += rows;
                }
            }
        }
        for (_, db) in &databases {
            if let Db::Sqlite(pool) = db {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await?;
            }
        }
        progress(k);
    }
    let mut written: Written = Vec::new();
    for (service, _, _, _, tables) in steps {
        for (table, _, originals, fixed, rows) in tables {
            let expected = u64::try_from(originals)? * u64::from(to - from);
            anyhow::ensure!(
                !fixed || rows == expected,
                "{}.{table}: {rows} rows copied, {expected} expected ({originals} originals, \
                 copies {} to {to})",
                service.as_str(),
                from + 1,
            );
            written.push((service, table, rows));
        }
    }
    Ok(written)
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Members => "members",
            Service::Events => "events",
            Service::Notifications => "notifications",
        }
    }
}
