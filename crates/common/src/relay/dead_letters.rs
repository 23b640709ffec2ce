//! Dead letters: outbox rows the receiver refused `max_refusals` times (or that the relay
//! cannot read), kept with their last error for operators, who list them (`rendezvous outbox
//! dead-letters`), count them (a gauge for metrics) and requeue them once the cause is fixed.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::IDS_PER_STATEMENT;
use crate::db::{BeginWrite as _, Db};
use crate::with_db;

/// A dead-lettered outbox row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: String,
    pub topic: String,
    pub dedupe_key: String,
    /// What the row says, as written (it may name people: show it only when asked).
    pub payload: String,
    pub attempts: i64,
    pub refusals: i64,
    /// Why it was refused the last time.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub dead_at: DateTime<Utc>,
}

type DeadLetterTuple = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

const COLUMNS: &str = "SELECT id, topic, dedupe_key, payload, attempts, refusals, last_error, \
                       created_at, dead_at FROM outbox WHERE dead_at IS NOT NULL \
                       AND delivered_at IS NULL";

fn dead_letter(t: DeadLetterTuple) -> DeadLetter {
    DeadLetter {
        id: t.0,
        topic: t.1,
        dedupe_key: t.2,
        payload: t.3,
        attempts: t.4,
        refusals: t.5,
        last_error: t.6,
        created_at: t.7,
        dead_at: t.8,
    }
}

/// Dead letters in the order they were written (by id), after the id `after` when given, at
/// most `limit` of them.
pub async fn dead_letters(
    db: &Db,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<DeadLetter>, sqlx::Error> {
    with_db!(db, |pool| {
        let mut qb = QueryBuilder::new(COLUMNS);
        if let Some(after) = after {
            qb.push(" AND id > ");
            qb.push_bind(after);
        }
        qb.push(" ORDER BY id LIMIT ");
        qb.push_bind(i64::from(limit));
        let rows: Vec<DeadLetterTuple> = qb.build_query_as().fetch_all(pool).await?;
        Ok(rows.into_iter().map(dead_letter).collect())
    })
}

/// One dead letter by id, if it is one.
pub async fn dead_letter_by_id(db: &Db, id: &str) -> Result<Option<DeadLetter>, sqlx::Error> {
    with_db!(db, |pool| {
        let mut qb = QueryBuilder::new(COLUMNS);
        qb.push(" AND id = ");
        qb.push_bind(id);
        let row: Option<DeadLetterTuple> = qb.build_query_as().fetch_optional(pool).await?;
        Ok(row.map(dead_letter))
    })
}

/// How many rows are dead-lettered (the gauge metrics export).
pub async fn dead_letter_count(db: &Db) -> Result<i64, sqlx::Error> {
    with_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE dead_at IS NOT NULL AND delivered_at IS NULL",
        )
        .fetch_one(pool)
        .await
    })
}

/// Makes dead letters due again at `now` with a fresh count of refusals (their attempts and
/// last error stay, for the record): those with the given ids, or every one when `ids` is
/// `None`. Returns how many were requeued.
pub async fn requeue_dead_letters(
    db: &Db,
    ids: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    const REQUEUE: &str = "UPDATE outbox SET dead_at = NULL, refusals = 0, leased_until = NULL, \
                           next_attempt_at = ";
    with_db!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let mut requeued = 0;
        match ids {
            None => {
                let mut qb = QueryBuilder::new(REQUEUE);
                qb.push_bind(now);
                qb.push(" WHERE dead_at IS NOT NULL AND delivered_at IS NULL");
                requeued += qb.build().execute(&mut *tx).await?.rows_affected();
            }
            Some(ids) => {
                for chunk in ids.chunks(IDS_PER_STATEMENT) {
                    let mut qb = QueryBuilder::new(REQUEUE);
                    qb.push_bind(now);
                    qb.push(" WHERE dead_at IS NOT NULL AND delivered_at IS NULL AND id IN (");
                    let mut list = qb.separated(", ");
                    for id in chunk {
                        list.push_bind(id.as_str());
                    }
                    list.push_unseparated(")");
                    requeued += qb.build().execute(&mut *tx).await?.rows_affected();
                }
            }
        }
        tx.commit().await?;
        Ok(requeued)
    })
}
