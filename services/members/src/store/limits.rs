//! Rate limits stored in the database (sign-in failures, registrations), so that they hold
//! across replicas and restarts: a budget is a number of hits of one key within a sliding
//! window, and an attempt takes its hits on every key it is counted under, all or none, in
//! one write transaction that locks those keys — so that concurrent attempts, on one replica
//! or several, can never spend more than a budget.
//!
//! Keys are opaque strings (the caller's keyed hashes): nothing here knows an email or an
//! address.

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::db::{BeginWrite as _, Locks};
use rendezvous_common::with_db;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;

use super::Store;

/// At most `max` hits of a key within any `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub max: u32,
    pub window: Duration,
}

/// One key an attempt is counted under, with its budget.
#[derive(Clone, Debug)]
pub struct Hit {
    pub key: String,
    pub budget: Budget,
}

/// Expired hits removed by each attempt, so that the table stays as small as the traffic of
/// one window without a job of its own.
const PRUNE_PER_ATTEMPT: i64 = 100;

/// Steps on budgets that other transactions share (a connection request spends its hit in
/// the transaction that sends it). The caller holds the key's lock ([`lock_budget`]) from
/// before [`BudgetOps::wait_for`] until it commits.
pub trait BudgetOps: Locks {
    /// `None` when the key of `hit` has room for `n` more hits at `now`; else the time until
    /// it has (a whole window when `n` is more than the budget: never in one go).
    fn wait_for(
        &mut self,
        hit: &Hit,
        n: u32,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Duration>, sqlx::Error>> + Send;

    /// Spends `n` hits of `hit`'s key for `attempt`.
    fn add_hits(
        &mut self,
        hit: &Hit,
        n: u32,
        attempt: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// Locks the key of a budget until the transaction ends, so that no concurrent attempt
/// counts it in between.
pub async fn lock_budget<C: Locks>(conn: &mut C, key: &str) -> Result<(), sqlx::Error> {
    conn.advisory_lock(&format!("rate-limit:{key}")).await
}

macro_rules! impl_budget_ops {
    ($conn:ty) => {
        impl BudgetOps for $conn {
            async fn wait_for(
                &mut self,
                hit: &Hit,
                n: u32,
                now: DateTime<Utc>,
            ) -> Result<Option<Duration>, sqlx::Error> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM rate_limit_hits WHERE key = $1 AND expires_at > $2",
                )
                .bind(&hit.key)
                .bind(now)
                .fetch_one(&mut *self)
                .await?;
                let (n, max) = (i64::from(n), i64::from(hit.budget.max));
                if n == 0 || count + n <= max {
                    return Ok(None);
                }
                if n > max {
                    return Ok(Some(hit.budget.window));
                }
                // The window has room for `n` once the `count + n - max` oldest hits expire.
                let free_at: Option<DateTime<Utc>> = sqlx::query_scalar(
                    "SELECT expires_at FROM rate_limit_hits WHERE key = $1 AND expires_at > $2 \
                     ORDER BY expires_at LIMIT 1 OFFSET $3",
                )
                .bind(&hit.key)
                .bind(now)
                .bind(count + n - max - 1)
                .fetch_optional(&mut *self)
                .await?;
                Ok(Some(free_at.unwrap_or(now + hit.budget.window) - now))
            }

            async fn add_hits(
                &mut self,
                hit: &Hit,
                n: u32,
                attempt: &str,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                for _ in 0..n {
                    sqlx::query(
                        "INSERT INTO rate_limit_hits (id, attempt, key, expires_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(Uuid::now_v7().to_string())
                    .bind(attempt)
                    .bind(&hit.key)
                    .bind(now + hit.budget.window)
                    .execute(&mut *self)
                    .await?;
                }
                sqlx::query(
                    "DELETE FROM rate_limit_hits WHERE id IN \
                     (SELECT id FROM rate_limit_hits WHERE expires_at <= $1 LIMIT $2)",
                )
                .bind(now)
                .bind(PRUNE_PER_ATTEMPT)
                .execute(&mut *self)
                .await
                .map(drop)
            }
        }
    };
}

impl_budget_ops!(SqliteConnection);
impl_budget_ops!(PgConnection);

impl Store {
    /// Takes one hit of each of `hits` for a new attempt, or none when any key has spent its
    /// budget: then `Err(wait)`, the time until that key (the longest wait of them) has room
    /// again. `Ok(attempt)` names the hits, for [`Self::release_attempt`].
    pub async fn take_hits(
        &self,
        hits: &[Hit],
        now: DateTime<Utc>,
    ) -> Result<Result<Uuid, Duration>, sqlx::Error> {
        let attempt = Uuid::now_v7();
        let attempt_id = attempt.to_string();
        let mut keys: Vec<&str> = hits.iter().map(|h| h.key.as_str()).collect();
        keys.sort_unstable();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            // In key order, so that two attempts sharing keys never wait on each other.
            for key in &keys {
                lock_budget(&mut *tx, key).await?;
            }
            let mut wait = Duration::zero();
            for hit in hits {
                if let Some(w) = tx.wait_for(hit, 1, now).await? {
                    wait = wait.max(w);
                }
            }
            if wait > Duration::zero() {
                return Ok(Err(wait));
            }
            for hit in hits {
                tx.add_hits(hit, 1, &attempt_id, now).await?;
            }
            tx.commit().await?;
            Ok(Ok(attempt))
        })
    }

    /// Gives back the hits of `attempt` (it did not count: a sign-in that succeeded), and
    /// forgets every earlier hit of `forget` (the failures of the account from the address it
    /// just signed in from).
    pub async fn release_attempt(
        &self,
        attempt: Uuid,
        forget: &[String],
    ) -> Result<(), sqlx::Error> {
        let attempt = attempt.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM rate_limit_hits WHERE attempt = $1")
                .bind(&attempt)
                .execute(&mut *tx)
                .await?;
            for key in forget {
                sqlx::query("DELETE FROM rate_limit_hits WHERE key = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Whether `member` signed in from `address` (a keyed hash) since `since`.
    pub async fn signed_in_from(
        &self,
        member: Uuid,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let member = member.to_string();
        with_db!(&self.db, |pool| {
            let found: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sign_in_addresses \
                 WHERE member_id = $1 AND address = $2 AND last_success_at > $3",
            )
            .bind(&member)
            .bind(address)
            .bind(since)
            .fetch_one(pool)
            .await?;
            Ok(found > 0)
        })
    }

    /// Remembers that `member` signed in from `address` (a keyed hash) at `now`.
    pub async fn remember_sign_in_address(
        &self,
        member: Uuid,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let member = member.to_string();
        with_db!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO sign_in_addresses (member_id, address, last_success_at) \
                 VALUES ($1, $2, $3) \
                 ON CONFLICT (member_id, address) DO UPDATE SET last_success_at = $3",
            )
            .bind(&member)
            .bind(address)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        })
    }
}
