//! Pruning: finished deliveries after their retention, and old notifications with what hangs
//! off them, each in statements of at most a batch of rows so that none holds locks for long.

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;

use super::{DeleteNotifications as _, Store};

impl Store {
    /// Deletes up to `limit` finished deliveries (sent, suppressed, dead or cancelled) whose
    /// last activity — when they were sent, or last due — is at or before `cutoff`; returns
    /// how many went. Pending and failed deliveries are never pruned.
    pub async fn prune_deliveries(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, sqlx::Error> {
        let sql = format!(
            "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
             WHERE status IN ('sent', 'suppressed', 'dead', 'cancelled') \
             AND next_attempt_at <= $1 AND (sent_at IS NULL OR sent_at <= $1) \
             ORDER BY next_attempt_at LIMIT $2{})",
            self.db.backend().for_update_skip_locked()
        );
        with_db!(&self.db, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(cutoff)
                .bind(i64::from(limit))
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
    }

    /// Deletes up to `limit` notifications created and shown at or before `cutoff`, read or
    /// not, none of whose deliveries is still pending or failed, with their deliveries and
    /// subjects, in one transaction; returns how many notifications went.
    pub async fn prune_notifications(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, sqlx::Error> {
        let sql = format!(
            "SELECT id FROM notifications n WHERE created_at <= $1 \
             AND (visible_at IS NULL OR visible_at <= $1) \
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id \
             AND d.status IN ('pending', 'failed')) \
             ORDER BY created_at LIMIT $2{}",
            self.db.backend().for_update_skip_locked()
        );
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(cutoff)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
            let (notifications, _) = tx.delete_notifications(&ids).await?;
            tx.commit().await?;
            Ok(notifications)
        })
    }
}
