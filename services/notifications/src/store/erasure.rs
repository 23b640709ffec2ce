//! A deleted member's part of notifications: erased when the members service says so, and
//! exported on their request.

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{DeleteNotifications as _, Store};

/// What one erasure removed (all zero when it had been done before).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    pub notifications: u64,
    pub deliveries: u64,
    pub preferences: u64,
}

/// The notifications an erasure removes: the member's own and those that name them.
const ERASED_NOTIFICATIONS: &str = "SELECT id FROM notifications WHERE recipient_id = $1 \
     UNION SELECT notification_id FROM notification_subjects WHERE member_id = $1";

impl Store {
    /// Removes `member`'s inbox, delivery log (pending emails included), preferences and
    /// quiet hours, and the notifications of others that name them, in one transaction, and
    /// records the erasure. Idempotent: a second call removes nothing more.
    pub async fn erase_member(
        &self,
        member: Uuid,
        erased_at: DateTime<Utc>,
    ) -> Result<Erased, sqlx::Error> {
        let member = member.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let ids: Vec<String> = sqlx::query_scalar(ERASED_NOTIFICATIONS)
                .bind(&member)
                .fetch_all(&mut *tx)
                .await?;
            let (notifications, deliveries) = tx.delete_notifications(&ids).await?;
            let mut erased = Erased {
                notifications,
                deliveries,
                ..Erased::default()
            };
            for sql in [
                "DELETE FROM channel_preferences WHERE member_id = $1",
                "DELETE FROM quiet_hours WHERE member_id = $1",
            ] {
                erased.preferences += sqlx::query(sql)
                    .bind(&member)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            // What others' notifications said of them went above; nothing names them now.
            sqlx::query("DELETE FROM notification_subjects WHERE member_id = $1")
                .bind(&member)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO erased_members (member_id, erased_at) VALUES ($1, $2) \
                 ON CONFLICT (member_id) DO NOTHING",
            )
            .bind(&member)
            .bind(erased_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(erased)
        })
    }

    /// Whether `member` was erased here.
    pub async fn is_erased(&self, member: Uuid) -> Result<bool, sqlx::Error> {
        let found: i64 = with_db!(&self.db, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM erased_members WHERE member_id = $1")
                .bind(member.to_string())
                .fetch_one(pool)
                .await
        })?;
        Ok(found > 0)
    }

    /// `member`'s part of notifications, for their data export: their inbox (what they were
    /// told, as rendered), preferences, quiet hours and delivery log.
    pub async fn export_member(&self, member: Uuid) -> Result<Value, sqlx::Error> {
        let member = member.to_string();
        with_db!(&self.db, |pool| {
            let inbox: Vec<(
                String,
                String,
                String,
                String,
                String,
                DateTime<Utc>,
                Option<DateTime<Utc>>,
                Option<DateTime<Utc>>,
            )> = sqlx::query_as(
                "SELECT id, kind, title, body, locale, created_at, visible_at, read_at \
                 FROM notifications WHERE recipient_id = $1 ORDER BY created_at, id",
            )
            .bind(&member)
            .fetch_all(pool)
            .await?;
            let preferences: Vec<(String, String, bool)> = sqlx::query_as(
                "SELECT kind, channel, enabled FROM channel_preferences WHERE member_id = $1 \
                 ORDER BY kind, channel",
            )
            .bind(&member)
            .fetch_all(pool)
            .await?;
            let quiet: Option<(i64, i64, bool, Option<String>)> = sqlx::query_as(
                "SELECT start_minute, end_minute, enabled, time_zone FROM quiet_hours \
                 WHERE member_id = $1",
            )
            .bind(&member)
            .fetch_optional(pool)
            .await?;
            let deliveries: Vec<(
                String,
                String,
                String,
                String,
                i64,
                Option<String>,
                Option<DateTime<Utc>>,
                DateTime<Utc>,
            )> = sqlx::query_as(
                "SELECT id, notification_id, channel, status, attempts, last_error, sent_at, \
                 created_at FROM deliveries WHERE recipient_id = $1 ORDER BY created_at, id",
            )
            .bind(&member)
            .fetch_all(pool)
            .await?;
            Ok(json!({
                "inbox": inbox.into_iter().map(|n| json!({
                    "id": n.0, "kind": n.1, "title": n.2, "body": n.3, "locale": n.4,
                    "created_at": n.5, "visible_at": n.6, "read_at": n.7,
                })).collect::<Vec<_>>(),
                "preferences": preferences.into_iter().map(|p| json!({
                    "kind": p.0, "channel": p.1, "enabled": p.2,
                })).collect::<Vec<_>>(),
                "quiet_hours": quiet.map(|q| json!({
                    "start_minute": q.0, "end_minute": q.1, "enabled": q.2, "time_zone": q.3,
                })),
                "deliveries": deliveries.into_iter().map(|d| json!({
                    "id": d.0, "notification_id": d.1, "channel": d.2, "status": d.3,
                    "attempts": d.4, "last_error": d.5, "sent_at": d.6, "created_at": d.7,
                })).collect::<Vec<_>>(),
            }))
        })
    }
}
