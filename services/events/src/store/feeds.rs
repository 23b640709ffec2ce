//! Calendar feed storage: feed tokens (as hashes) per member.

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;

use uuid::Uuid;

use super::{Store, stored_uuid};

impl Store {
    /// Stores a feed's token hash; a repeated `request_id` returns the first feed (id, time,
    /// false).
    pub async fn create_feed(
        &self,
        id: Uuid,
        member: Uuid,
        token_hash: &str,
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Uuid, DateTime<Utc>, bool), sqlx::Error> {
        let new_id = id;
        let id = id.to_string();
        let id = id.as_str();
        let member = member.to_string();
        let member = member.as_str();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(request_id) = request_id {
                let existing: Option<(String, DateTime<Utc>)> = sqlx::query_as(
                    "SELECT id, created_at FROM calendar_feeds WHERE member_id = $1 AND request_id = $2",
                )
                .bind(member)
                .bind(request_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((id, at)) = existing {
                    return Ok((stored_uuid(&id)?, at, false));
                }
            }
            sqlx::query(
                "INSERT INTO calendar_feeds (id, member_id, token_hash, request_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(member)
            .bind(token_hash)
            .bind(request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok((new_id, now, true))
        })
    }

    /// Revokes one of `member`'s feeds; false when they have no such feed.
    pub async fn revoke_feed(
        &self,
        id: Uuid,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let id = id.to_string();
        let id = id.as_str();
        let member = member.to_string();
        let member = member.as_str();
        with_db!(self.db(), |pool| {
            let found: Option<String> = sqlx::query_scalar(
                "SELECT id FROM calendar_feeds WHERE id = $1 AND member_id = $2",
            )
            .bind(id)
            .bind(member)
            .fetch_optional(pool)
            .await?;
            if found.is_none() {
                return Ok(false);
            }
            sqlx::query("UPDATE calendar_feeds SET revoked_at = $3 WHERE id = $1 AND member_id = $2 AND revoked_at IS NULL")
                .bind(id)
                .bind(member)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(true)
        })
    }

    /// The member of a live feed with this token hash.
    pub async fn feed_member(&self, token_hash: &str) -> Result<Option<Uuid>, sqlx::Error> {
        with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT member_id FROM calendar_feeds WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
            .map(|member: String| stored_uuid(&member))
            .transpose()
        })
    }
}
