//! Blocks between members: making and lifting one, and telling events of each change.
//!
//! A block removes the pair's connection and pending requests in its transaction, and every
//! block or unblock writes an outbox row there too, so events (which hides a host's events
//! from one they block, and the reverse) learns of it exactly once per change.

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::outbox::OutboxWriter as _;
use rendezvous_common::relay::block_changed;
use rendezvous_common::with_db;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;

use super::coffee_proposals::CoffeeEnding as _;
use super::db::{Store, ordered};

impl Store {
    /// Blocks `blocked`: removes the connection and pending requests between the two, and
    /// tells events (through the outbox) when the block is new.
    pub async fn block(
        &self,
        blocker: Uuid,
        blocked: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let (blocker_id, blocked_id) = (blocker.to_string(), blocked.to_string());
        let (a, b) = ordered(&blocker_id, &blocked_id);
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let new = sqlx::query(
                "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
            )
            .bind(&blocker_id)
            .bind(&blocked_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if new {
                tx.tell_block_change(blocker, blocked, true, now).await?;
            }
            sqlx::query("DELETE FROM connections WHERE member_a = $1 AND member_b = $2")
                .bind(a)
                .bind(b)
                .execute(&mut *tx)
                .await?;
            tx.end_coffee_between(a, b, now).await?;
            sqlx::query(
                "UPDATE connection_requests SET state = 'withdrawn', pending_pair = NULL, updated_at = $2 \
                 WHERE pending_pair = $1",
            )
            .bind(format!("{a}|{b}"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
    }

    /// Unblocks `blocked`, telling events (through the outbox); false when there was no block.
    pub async fn unblock(
        &self,
        blocker: Uuid,
        blocked: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let removed =
                sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
                    .bind(blocker.to_string())
                    .bind(blocked.to_string())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
            if removed {
                tx.tell_block_change(blocker, blocked, false, now).await?;
            }
            tx.commit().await?;
            Ok(removed)
        })
    }

    /// Ids among `others` that `member` blocks or is blocked by.
    pub async fn blocked_among(
        &self,
        member: Uuid,
        others: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        self.pairs_among(("blocks", "blocker_id", "blocked_id"), member, others)
            .await
    }
}

/// Tells events of a block or an unblock, inside the transaction that makes it.
trait BlockChanges {
    /// Writes the outbox row of `blocker` blocking (or unblocking) `blocked` at `now`, or just
    /// after the pair's previous change if that was not before `now` (a clock that stepped
    /// back, or two changes within a microsecond): per pair, a later change has a later time,
    /// so events never lets an earlier change win.
    fn tell_block_change(
        &mut self,
        blocker: Uuid,
        blocked: Uuid,
        blocks: bool,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

macro_rules! impl_block_changes {
    ($conn:ty) => {
        impl BlockChanges for $conn {
            async fn tell_block_change(
                &mut self,
                blocker: Uuid,
                blocked: Uuid,
                blocks: bool,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                let (blocker_id, blocked_id) = (blocker.to_string(), blocked.to_string());
                let previous: Option<DateTime<Utc>> = sqlx::query_scalar(
                    "SELECT changed_at FROM block_changes WHERE blocker_id = $1 AND blocked_id = $2",
                )
                .bind(&blocker_id)
                .bind(&blocked_id)
                .fetch_optional(&mut *self)
                .await?;
                let now = now.trunc_subsecs(6);
                let at = match previous {
                    Some(previous) if previous >= now => previous + Duration::microseconds(1),
                    _ => now,
                };
                sqlx::query(
                    "INSERT INTO block_changes (blocker_id, blocked_id, changed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (blocker_id, blocked_id) DO UPDATE SET changed_at = excluded.changed_at",
                )
                .bind(&blocker_id)
                .bind(&blocked_id)
                .bind(at)
                .execute(&mut *self)
                .await?;
                self.enqueue(&block_changed(blocker, blocked, blocks, at), now)
                    .await?;
                Ok(())
            }
        }
    };
}

impl_block_changes!(SqliteConnection);
impl_block_changes!(PgConnection);
