//! Notifications storage on SQLite and PostgreSQL, each method written once for both (see
//! `rendezvous_common::db::with_db!`).
use rendezvous_common::db::{Db, Migrations};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::hub::{self, Item};

mod deliveries;
mod erasure;
mod inbox;
mod preferences;
mod prune;

pub use deliveries::{Claimant, DeliveryRow, DueDelivery, Outcome};
pub use erasure::Erased;
pub use inbox::{InboxRow, NewNotification, announced};
pub use preferences::{QuietRow, QuietSettings};

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        (
            1,
            "notifications",
            include_str!("../../migrations/sqlite/0001_notifications.sql"),
        ),
        (
            2,
            "preference time zone",
            include_str!("../../migrations/sqlite/0002_preference_time_zone.sql"),
        ),
        (
            3,
            "typed notice",
            include_str!("../../migrations/sqlite/0003_notice.sql"),
        ),
        (
            4,
            "erasure",
            include_str!("../../migrations/sqlite/0004_erasure.sql"),
        ),
        (
            5,
            "leases and pruning",
            include_str!("../../migrations/sqlite/0005_leases_and_pruning.sql"),
        ),
        (
            6,
            "worker liveness",
            include_str!("../../migrations/sqlite/0006_worker_liveness.sql"),
        ),
        (
            7,
            "revoked sessions",
            include_str!("../../migrations/sqlite/0007_revoked_sessions.sql"),
        ),
    ],
    postgres: &[
        (
            1,
            "notifications",
            include_str!("../../migrations/postgres/0001_notifications.sql"),
        ),
        (
            2,
            "preference time zone",
            include_str!("../../migrations/postgres/0002_preference_time_zone.sql"),
        ),
        (
            3,
            "typed notice",
            include_str!("../../migrations/postgres/0003_notice.sql"),
        ),
        (
            4,
            "erasure",
            include_str!("../../migrations/postgres/0004_erasure.sql"),
        ),
        (
            5,
            "leases and pruning",
            include_str!("../../migrations/postgres/0005_leases_and_pruning.sql"),
        ),
        (
            6,
            "worker liveness",
            include_str!("../../migrations/postgres/0006_worker_liveness.sql"),
        ),
        (
            7,
            "revoked sessions",
            include_str!("../../migrations/postgres/0007_revoked_sessions.sql"),
        ),
    ],
};

/// An id as stored (UUID text); a row that holds anything else is corrupt.
fn stored_uuid(id: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::try_parse(id).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Deletes notifications with everything that hangs off them, inside the caller's transaction
/// (erasure and pruning).
trait DeleteNotifications {
    /// Deletes the notifications `ids` with their deliveries and subjects; returns how many
    /// notifications and deliveries went.
    fn delete_notifications(
        &mut self,
        ids: &[String],
    ) -> impl Future<Output = Result<(u64, u64), sqlx::Error>> + Send;
}

macro_rules! impl_delete_notifications {
    ($conn:ty) => {
        impl DeleteNotifications for $conn {
            async fn delete_notifications(
                &mut self,
                ids: &[String],
            ) -> Result<(u64, u64), sqlx::Error> {
                // `DELETE FROM table WHERE column IN (chunk)`, returning how many went.
                macro_rules! delete_in {
                    ($table:literal, $column:literal, $chunk:expr) => {{
                        let mut qb = QueryBuilder::new(concat!(
                            "DELETE FROM ",
                            $table,
                            " WHERE ",
                            $column,
                            " IN ("
                        ));
                        let mut list = qb.separated(", ");
                        for id in $chunk {
                            list.push_bind(id.as_str());
                        }
                        list.push_unseparated(")");
                        qb.build().execute(&mut *self).await?.rows_affected()
                    }};
                }
                let (mut notifications, mut deliveries) = (0, 0);
                for chunk in ids.chunks(500) {
                    deliveries += delete_in!("deliveries", "notification_id", chunk);
                    delete_in!("notification_subjects", "notification_id", chunk);
                    notifications += delete_in!("notifications", "id", chunk);
                }
                Ok((notifications, deliveries))
            }
        }
    };
}

impl_delete_notifications!(sqlx::SqliteConnection);
impl_delete_notifications!(sqlx::PgConnection);

/// Announces a visible notification to the streams once the transaction commits: on
/// PostgreSQL with `pg_notify` (every replica listens); on SQLite the service publishes into
/// its hub itself after commit.
trait Announce {
    fn announce(&mut self, item: &Item) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Announces `items`, all stored visible at one instant: one `pg_notify` per
    /// [`ANNOUNCE_CHUNK`] items (a [`hub::Batch`]), each item alone when it is alone.
    fn announce_all(
        &mut self,
        items: &[Item],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// Most items one batch announcement names.
pub const ANNOUNCE_CHUNK: usize = 1000;

impl Announce for sqlx::SqliteConnection {
    async fn announce(&mut self, _item: &Item) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn announce_all(&mut self, _items: &[Item]) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

/// Room left under PostgreSQL's 8000-byte notification payload.
const MAX_PAYLOAD: usize = 7900;

impl Announce for sqlx::PgConnection {
    async fn announce(&mut self, item: &Item) -> Result<(), sqlx::Error> {
        let mut payload = serde_json::to_string(item).unwrap_or_default();
        // pg_notify payloads are limited to 8000 bytes; streams then show a shortened body,
        // and without the notice's facts if even that is too long.
        if payload.len() > MAX_PAYLOAD {
            let mut short = item.clone();
            short.body = short.body.chars().take(500).collect();
            payload = serde_json::to_string(&short).unwrap_or_default();
            if payload.len() > MAX_PAYLOAD {
                short.notice.clear();
                payload = serde_json::to_string(&short).unwrap_or_default();
            }
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(hub::CHANNEL)
            .bind(payload)
            .execute(&mut *self)
            .await
            .map(|_| ())
    }

    async fn announce_all(&mut self, items: &[Item]) -> Result<(), sqlx::Error> {
        for chunk in items.chunks(ANNOUNCE_CHUNK) {
            let (Some(first), Some(last), Some(visible_at)) = (
                chunk.iter().map(|item| item.id).min(),
                chunk.iter().map(|item| item.id).max(),
                chunk.first().and_then(|item| item.visible_at),
            ) else {
                continue;
            };
            let one_instant = chunk.iter().all(|item| item.visible_at == Some(visible_at));
            if chunk.len() == 1 || !one_instant {
                for item in chunk {
                    self.announce(item).await?;
                }
                continue;
            }
            let batch = hub::Batch {
                visible_at,
                first_id: first,
                last_id: last,
            };
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(hub::CHANNEL)
                .bind(serde_json::json!({ "batch": batch }).to_string())
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// Every migration file runs: none is left out of `MIGRATIONS`.
    #[test]
    fn every_migration_file_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        super::MIGRATIONS.check_files(&dir).unwrap();
    }
}
