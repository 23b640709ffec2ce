//! Deliveries: leases on due deliveries, worker liveness, what each attempt came to,
//! cancellation of scheduled notices, and the delivery log.

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1::{Channel, NotificationKind};
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Announce as _, Store, stored_uuid};
use crate::domain::{DeliveryState, channel_from_name, kind_from_name};
use crate::hub::Item;

/// A delivery due for an attempt, with what sending needs.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    pub id: Uuid,
    /// The token of the lease this worker claimed it with: what it records is recorded only
    /// while the delivery still holds it.
    pub lease: Uuid,
    pub notification_id: Uuid,
    pub recipient_id: Uuid,
    pub channel: Channel,
    pub attempts: i64,
    pub kind: NotificationKind,
    /// The encoded notice the email is rendered from.
    pub notice: Vec<u8>,
    pub locale: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub cancelled: bool,
}

/// A delivery as the log shows it.
#[derive(Clone, Debug)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub notification_id: Uuid,
    pub kind: NotificationKind,
    pub channel: Channel,
    pub attempts: i64,
    /// `None` for a state this version does not know.
    pub status: Option<DeliveryState>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Who claims deliveries: the worker that will hold their leases, and since when a silent
/// worker counts as dead.
#[derive(Clone, Copy, Debug)]
pub struct Claimant {
    pub holder: Uuid,
    /// A worker whose last beat is older holds no lease: it crashed, or froze for longer than
    /// a live one ever goes without beating.
    pub dead_before: DateTime<Utc>,
}

/// What an attempt came to, recorded under the lease it was made with.
#[derive(Clone, Copy, Debug)]
pub struct Outcome<'a> {
    /// Sent, failed, dead, suppressed, cancelled, or pending (deferred by quiet hours).
    pub state: DeliveryState,
    /// Whether this counts as an attempt not yet counted (an email's attempt is counted
    /// before it is sent, by [`Store::begin_attempt`]).
    pub counted: bool,
    pub error: Option<&'a str>,
    pub next_attempt_at: DateTime<Utc>,
}

impl Store {
    /// Leases to `claim.holder`, for `lease` under a fresh token, up to `limit` deliveries:
    /// first those leased by a worker silent since before `claim.dead_before` (it crashed:
    /// its lease is not waited out), then those due. On PostgreSQL replicas share the work
    /// with `FOR UPDATE SKIP LOCKED`; the new token fences out the worker that held a
    /// delivery before.
    pub async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        claim: Claimant,
    ) -> Result<Vec<DueDelivery>, sqlx::Error> {
        let lock = self.db.backend().for_update_skip_locked();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut qb = QueryBuilder::new(
                "SELECT id FROM deliveries WHERE lease_token IS NOT NULL AND lease_holder IS NOT NULL \
                 AND status IN ('pending', 'failed') AND next_attempt_at > ",
            );
            qb.push_bind(now);
            qb.push(" AND lease_holder NOT IN (SELECT id FROM delivery_workers WHERE beat_at >= ");
            qb.push_bind(claim.dead_before);
            qb.push(") ORDER BY next_attempt_at, id LIMIT ");
            qb.push_bind(i64::from(limit));
            qb.push(lock);
            let mut ids: Vec<String> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
            let rest = i64::from(limit) - i64::try_from(ids.len()).unwrap_or(i64::MAX);
            if rest > 0 {
                let mut qb = QueryBuilder::new(
                    "SELECT id FROM deliveries WHERE status IN ('pending', 'failed') AND next_attempt_at <= ",
                );
                qb.push_bind(now);
                qb.push(" ORDER BY next_attempt_at, id LIMIT ");
                qb.push_bind(rest);
                qb.push(lock);
                let due: Vec<String> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                ids.extend(due);
            }
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let token = Uuid::now_v7();
            let mut qb = QueryBuilder::new("UPDATE deliveries SET next_attempt_at = ");
            qb.push_bind(now + lease);
            qb.push(", lease_token = ");
            qb.push_bind(token.to_string());
            qb.push(", lease_holder = ");
            qb.push_bind(claim.holder.to_string());
            qb.push(" WHERE id IN (");
            let mut s = qb.separated(", ");
            for id in &ids {
                s.push_bind(id.clone());
            }
            s.push_unseparated(")");
            qb.build().execute(&mut *tx).await?;
            let mut qb = QueryBuilder::new(
                "SELECT d.id, d.notification_id, d.recipient_id, d.channel, d.attempts, n.kind, n.notice, \
                 n.locale, n.title, n.body, n.created_at, n.cancelled_at IS NOT NULL \
                 FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE d.id IN (",
            );
            let mut s = qb.separated(", ");
            for id in &ids {
                s.push_bind(id.clone());
            }
            s.push_unseparated(") ORDER BY d.next_attempt_at, d.id");
            let rows: Vec<(
                String,
                String,
                String,
                String,
                i64,
                String,
                Vec<u8>,
                String,
                String,
                String,
                DateTime<Utc>,
                bool,
            )> = qb.build_query_as().fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows.into_iter()
                .map(|r| {
                    Ok(DueDelivery {
                        id: stored_uuid(&r.0)?,
                        lease: token,
                        notification_id: stored_uuid(&r.1)?,
                        recipient_id: stored_uuid(&r.2)?,
                        channel: channel_from_name(&r.3),
                        attempts: r.4,
                        kind: kind_from_name(&r.5),
                        notice: r.6,
                        locale: r.7,
                        title: r.8,
                        body: r.9,
                        created_at: r.10,
                        cancelled: r.11,
                    })
                })
                .collect()
        })
    }

    /// Puts a due in-app notification in the inbox; returns the item to stream, or `None` when
    /// the delivery no longer holds `due`'s lease (another worker has it).
    pub async fn show_in_app(
        &self,
        due: &DueDelivery,
        now: DateTime<Utc>,
    ) -> Result<Option<Item>, sqlx::Error> {
        let item = Item {
            id: due.notification_id,
            recipient_id: due.recipient_id,
            kind: due.kind,
            title: due.title.clone(),
            body: due.body.clone(),
            notice: due.notice.clone(),
            created_at: due.created_at,
            visible_at: Some(now),
        };
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let held = sqlx::query(
                "UPDATE deliveries SET status = 'sent', sent_at = $2, attempts = attempts + 1, \
                 lease_token = NULL WHERE id = $1 AND lease_token = $3",
            )
            .bind(due.id.to_string())
            .bind(now)
            .bind(due.lease.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if held == 0 {
                return Ok(None);
            }
            let shown = sqlx::query(
                "UPDATE notifications SET visible_at = $2 WHERE id = $1 AND visible_at IS NULL",
            )
            .bind(due.notification_id.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if shown > 0 {
                tx.announce(&item).await?;
            }
            tx.commit().await?;
            Ok((shown > 0).then_some(item))
        })
    }

    /// Records that the worker `worker` is alive at `now` (the first beat registers it).
    pub async fn beat(&self, worker: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO delivery_workers (id, started_at, beat_at) VALUES ($1, $2, $2) \
                 ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at",
            )
            .bind(worker.to_string())
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })
    }

    /// Forgets the worker `worker` (it stopped), and every worker silent since before
    /// `silent_before` (they died long ago, and hold no lease that has not run out).
    pub async fn forget_workers(
        &self,
        worker: Uuid,
        silent_before: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query("DELETE FROM delivery_workers WHERE id = $1 OR beat_at < $2")
                .bind(worker.to_string())
                .bind(silent_before)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// Counts an email's attempt before it is sent, and renews its lease for `lease` from
    /// `now`, so that the send has a whole lease to itself. `false` when the delivery no
    /// longer holds `due`'s lease: another worker claimed it, and this one must not send.
    pub async fn begin_attempt(
        &self,
        due: &DueDelivery,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $3 \
                 WHERE id = $1 AND lease_token = $2 AND status IN ('pending', 'failed')",
            )
            .bind(due.id.to_string())
            .bind(due.lease.to_string())
            .bind(now + lease)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
        })
    }

    /// Records what an attempt came to and ends the lease, if the delivery still holds
    /// `due`'s lease; `false` (nothing recorded) when another worker claimed it since.
    pub async fn record_outcome(
        &self,
        due: &DueDelivery,
        outcome: Outcome<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE deliveries SET status = $2, attempts = attempts + $3, \
                 last_error = COALESCE($4, last_error), next_attempt_at = $5, \
                 sent_at = CASE WHEN $2 = 'sent' THEN $6 ELSE sent_at END, lease_token = NULL \
                 WHERE id = $1 AND lease_token = $7",
            )
            .bind(due.id.to_string())
            .bind(outcome.state.as_str())
            .bind(i64::from(outcome.counted))
            .bind(outcome.error)
            .bind(outcome.next_attempt_at)
            .bind(now)
            .bind(due.lease.to_string())
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
        })
    }

    /// Cancels not-yet-sent notifications whose dedupe key starts with `prefix`.
    pub async fn cancel_scheduled(
        &self,
        prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        let pattern = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            // SQLite's LIKE ignores ASCII case: the substr test keeps the prefix exact.
            let cancelled = sqlx::query(
                "UPDATE notifications SET cancelled_at = $2 WHERE dedupe_key LIKE $1 ESCAPE '\\' \
                 AND substr(dedupe_key, 1, length($3)) = $3 \
                 AND cancelled_at IS NULL AND visible_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = notifications.id AND d.status = 'sent')",
            )
            .bind(&pattern)
            .bind(now)
            .bind(prefix)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE deliveries SET status = 'cancelled' WHERE status IN ('pending', 'failed') \
                 AND notification_id IN (SELECT id FROM notifications WHERE dedupe_key LIKE $1 ESCAPE '\\' \
                 AND substr(dedupe_key, 1, length($2)) = $2 AND cancelled_at IS NOT NULL)",
            )
            .bind(&pattern)
            .bind(prefix)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(cancelled)
        })
    }

    /// A member's delivery log, newest first by id.
    pub async fn deliveries(
        &self,
        member: Uuid,
        notification_id: Option<Uuid>,
        status: Option<DeliveryState>,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT d.id, d.notification_id, n.kind, d.channel, d.attempts, d.status, d.last_error, \
                 d.next_attempt_at, d.sent_at, d.created_at FROM deliveries d \
                 JOIN notifications n ON n.id = d.notification_id WHERE d.recipient_id = ",
            );
            qb.push_bind(member.to_string());
            if let Some(id) = notification_id {
                qb.push(" AND d.notification_id = ");
                qb.push_bind(id.to_string());
            }
            if let Some(status) = status {
                qb.push(" AND d.status = ");
                qb.push_bind(status.as_str());
            }
            if let Some(before) = before {
                qb.push(" AND d.id < ");
                qb.push_bind(before.to_string());
            }
            qb.push(" ORDER BY d.id DESC LIMIT ");
            qb.push_bind(i64::from(limit));
            let rows: Vec<(
                String,
                String,
                String,
                String,
                i64,
                String,
                Option<String>,
                DateTime<Utc>,
                Option<DateTime<Utc>>,
                DateTime<Utc>,
            )> = qb.build_query_as().fetch_all(pool).await?;
            rows.into_iter()
                .map(|r| {
                    Ok(DeliveryRow {
                        id: stored_uuid(&r.0)?,
                        notification_id: stored_uuid(&r.1)?,
                        kind: kind_from_name(&r.2),
                        channel: channel_from_name(&r.3),
                        attempts: r.4,
                        status: DeliveryState::from_stored(&r.5),
                        last_error: r.6,
                        next_attempt_at: r.7,
                        sent_at: r.8,
                        created_at: r.9,
                    })
                })
                .collect()
        })
    }
}
