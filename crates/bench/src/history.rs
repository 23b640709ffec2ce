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

use rendezvous_common::db::{Backend, Db};
use rendezvous_common::with_db;

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

/// Originals only: `column` is not a copy's id.
fn original(column: &str) -> String {
    format!("substr({column}, 1, 4) <> '0000'")
}

/// One table's copying: which rows are originals to copy, and how a copy's columns differ.
struct Copy {
    table: &'static str,
    /// Extra condition on the originals (`s` is the original row).
    only: &'static str,
    /// `(column, expression)`; every other column is the original's.
    change: Vec<(&'static str, String)>,
}

/// What a step copies in each service's database, tables referenced before their referrers.
fn plan(backend: Backend) -> [(Service, Vec<Copy>); 3] {
    let id = |column: &'static str| (column, remap(backend, &format!("s.{column}")));
    let outbox = || Copy {
        table: "outbox",
        only: "s.delivered_at IS NOT NULL",
        change: vec![id("id"), ("dedupe_key", suffixed("s.dedupe_key"))],
    };
    let history_city =
        |column: &str| format!("'h' || CAST(CAST($1 AS INTEGER) AS TEXT) || ' ' || s.{column}");
    [
        (Service::Members, vec![outbox()]),
        (
            Service::Events,
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
                outbox(),
            ],
        ),
        (
            Service::Notifications,
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
                Copy {
                    table: "deliveries",
                    only: "s.status NOT IN ('pending', 'failed')",
                    change: vec![id("id"), id("notification_id")],
                },
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

/// The first column of each copy's key: the column whose originals are told apart.
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

/// Adds copies `from + 1 ..= to` of every original, one statement per table and copy, each
/// copy in one transaction per database: what was written.
pub async fn grow(
    databases: [(Service, &Db); 3],
    from: u32,
    to: u32,
    mut progress: impl FnMut(u32),
) -> anyhow::Result<Written> {
    let mut written: Written = Vec::new();
    for (service, copies) in plan(databases[0].1.backend()) {
        let Some((_, db)) = databases.iter().find(|(s, _)| *s == service) else {
            continue;
        };
        let mut statements = Vec::new();
        for copy in &copies {
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
            let mut filter = original(&format!("s.{}", key_column(copy)));
            if !copy.only.is_empty() {
                filter = format!("{filter} AND {}", copy.only);
            }
            statements.push((
                copy.table,
                format!(
                    "INSERT INTO {table} ({columns}) SELECT {values} FROM {table} s WHERE {filter}",
                    table = copy.table,
                    columns = columns.join(", "),
                    values = values.join(", "),
                ),
            ));
        }
        for k in from + 1..=to {
            let rows = with_db!(*db, |pool| {
                let mut tx = pool.begin().await?;
                let mut rows = Vec::new();
                for (table, sql) in &statements {
                    let done = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(i64::from(k))
                        .execute(&mut *tx)
                        .await
                        .map_err(|error| anyhow::anyhow!("copying {table}: {error}"))?;
                    rows.push((*table, done.rows_affected()));
                }
                tx.commit().await?;
                rows
            });
            for (table, count) in rows {
                match written
                    .iter_mut()
                    .find(|(s, t, _)| *s == service && *t == table)
                {
                    Some(entry) => entry.2 += count,
                    None => written.push((service, table, count)),
                }
            }
            progress(k);
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
