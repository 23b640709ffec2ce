//! Pruning the outbox: rows an older version marked delivered and kept (this one deletes a
//! delivered row at once) after `retention`, dead letters after `dead_letter_retention`, each
//! in statements of at most `prune_batch` rows so that no statement holds its locks for long
//! (on SQLite, the one write lock).

use tokio_util::sync::CancellationToken;

use super::{RelaySettings, earlier};
use crate::clock::Clock;
use crate::db::Db;
use crate::with_db;

/// What one pruning round deleted, and in how many statements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub delivered: u64,
    pub dead_letters: u64,
    /// DELETE statements run, each of at most `prune_batch` rows.
    pub statements: u32,
}

/// Deletes, at `clock`'s now, the delivered rows older than `retention` and the dead letters
/// older than `dead_letter_retention`, oldest first, in statements of at most `prune_batch`
/// rows each, until none is left.
pub async fn prune_once(
    db: &Db,
    settings: &RelaySettings,
    clock: &Clock,
) -> Result<Pruned, sqlx::Error> {
    let now = clock.now_micros();
    let batch = i64::from(settings.prune_batch.max(1));
    let lock = db.backend().for_update_skip_locked();
    let (delivered, delivered_statements) = delete_in_batches(
        db,
        &format!(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
             WHERE delivered_at IS NOT NULL AND delivered_at <= $1 \
             ORDER BY delivered_at LIMIT $2{lock})"
        ),
        earlier(now, settings.retention),
        batch,
    )
    .await?;
    let (dead_letters, dead_statements) = delete_in_batches(
        db,
        &format!(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
             WHERE dead_at IS NOT NULL AND dead_at <= $1 AND delivered_at IS NULL \
             ORDER BY dead_at LIMIT $2{lock})"
        ),
        earlier(now, settings.dead_letter_retention),
        batch,
    )
    .await?;
    Ok(Pruned {
        delivered,
        dead_letters,
        statements: delivered_statements + dead_statements,
    })
}

/// Runs `sql` (a DELETE of at most `$2` rows older than `$1`), each time in a statement of its
/// own, until it deletes fewer than `batch`; how many it deleted in all, in how many statements.
async fn delete_in_batches(
    db: &Db,
    sql: &str,
    cutoff: chrono::DateTime<chrono::Utc>,
    batch: i64,
) -> Result<(u64, u32), sqlx::Error> {
    let (mut total, mut statements) = (0, 0);
    loop {
        let deleted = with_db!(db, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(cutoff)
                .bind(batch)
                .execute(pool)
                .await?
                .rows_affected()
        });
        total += deleted;
        statements += 1;
        if i64::try_from(deleted).unwrap_or(i64::MAX) < batch {
            return Ok((total, statements));
        }
        // Let the relay and the service's requests in between two statements.
        tokio::task::yield_now().await;
    }
}

/// Prunes at once, then every `prune_interval`, until `shutdown`.
pub(super) async fn run(
    db: Db,
    settings: RelaySettings,
    clock: Clock,
    shutdown: CancellationToken,
) {
    loop {
        match prune_once(&db, &settings, &clock).await {
            Ok(pruned) if pruned.delivered + pruned.dead_letters > 0 => tracing::info!(
                delivered = pruned.delivered,
                dead_letters = pruned.dead_letters,
                "outbox pruned"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "pruning the outbox failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(settings.prune_interval) => {}
        }
    }
}
