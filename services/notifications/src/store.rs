//! Notifications storage on SQLite and PostgreSQL, each method written once for both (see
//! `rendezvous_common::db::with_db!`).
use chrono::{DateTime, Duration, Utc};
use rendezvous_common::db::{BeginWrite as _, Db, Migrations};
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1::{Channel, NotificationKind};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::domain::{DeliveryState, channel_from_name, channel_name, kind_from_name, kind_name};
use crate::hub::{self, Item};

mod erasure;
mod preferences;
mod prune;

pub use erasure::Erased;

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        (
            1,
            "notifications",
            include_str!("../migrations/sqlite/0001_notifications.sql"),
        ),
        (
            2,
            "preference time zone",
            include_str!("../migrations/sqlite/0002_preference_time_zone.sql"),
        ),
        (
            3,
            "typed notice",
            include_str!("../migrations/sqlite/0003_notice.sql"),
        ),
        (
            4,
            "erasure",
            include_str!("../migrations/sqlite/0004_erasure.sql"),
        ),
        (
            5,
            "leases and pruning",
            include_str!("../migrations/sqlite/0005_leases_and_pruning.sql"),
        ),
        (
            6,
            "worker liveness",
            include_str!("../migrations/sqlite/0006_worker_liveness.sql"),
        ),
    ],
    postgres: &[
        (
            1,
            "notifications",
            include_str!("../migrations/postgres/0001_notifications.sql"),
        ),
        (
            2,
            "preference time zone",
            include_str!("../migrations/postgres/0002_preference_time_zone.sql"),
        ),
        (
            3,
            "typed notice",
            include_str!("../migrations/postgres/0003_notice.sql"),
        ),
        (
            4,
            "erasure",
            include_str!("../migrations/postgres/0004_erasure.sql"),
        ),
        (
            5,
            "leases and pruning",
            include_str!("../migrations/postgres/0005_leases_and_pruning.sql"),
        ),
        (
            6,
            "worker liveness",
            include_str!("../migrations/postgres/0006_worker_liveness.sql"),
        ),
    ],
};

/// Rows per multi-row INSERT (13 parameters each stays under both backends' limits).
const CHUNK: usize = 400;

/// A notification ready to store, with the state of each channel decided.
#[derive(Clone, Debug)]
pub struct NewNotification {
    pub id: Uuid,
    pub recipient_id: Uuid,
    pub kind: NotificationKind,
    /// The encoded [`pb::Notice`](rendezvous_proto::notifications::v1::Notice).
    pub notice: Vec<u8>,
    pub dedupe_key: String,
    pub title: String,
    pub body: String,
    pub locale: String,
    pub not_before: DateTime<Utc>,
    /// `None`: the channel is off (recorded as suppressed).
    pub in_app: bool,
    pub email: bool,
    /// The member the notice names, if any (erasing them erases this notification).
    pub subject: Option<Uuid>,
}

/// The delivery of a new notification over one channel.
struct NewDelivery<'a> {
    id: Uuid,
    notification: &'a NewNotification,
    channel: Channel,
    state: DeliveryState,
    /// Set when it is shown at once (in-app, due now).
    sent_at: Option<DateTime<Utc>>,
}

impl<'a> NewDelivery<'a> {
    fn new(
        notification: &'a NewNotification,
        channel: Channel,
        state: DeliveryState,
        sent_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            notification,
            channel,
            state,
            sent_at,
        }
    }
}

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

/// An inbox entry.
#[derive(Clone, Debug)]
pub struct InboxRow {
    pub item: Item,
    pub visible_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// Stored quiet hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietRow {
    pub start_minute: i64,
    pub end_minute: i64,
    pub enabled: bool,
}

/// Quiet hours and the zone they are read in (`None`: the profile's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuietSettings {
    pub quiet: Option<QuietRow>,
    pub time_zone: Option<String>,
}

type InboxTuple = (
    String,
    String,
    String,
    String,
    String,
    Vec<u8>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// An inbox entry from its row; `None` for one not visible.
fn inbox_row(t: InboxTuple) -> Result<Option<InboxRow>, sqlx::Error> {
    let Some(visible_at) = t.7 else {
        return Ok(None);
    };
    Ok(Some(InboxRow {
        item: Item {
            id: stored_uuid(&t.0)?,
            recipient_id: stored_uuid(&t.1)?,
            kind: kind_from_name(&t.2),
            title: t.3,
            body: t.4,
            notice: t.5,
            created_at: t.6,
        },
        visible_at,
        read_at: t.8,
    }))
}

fn inbox_rows(rows: Vec<InboxTuple>) -> Result<Vec<InboxRow>, sqlx::Error> {
    rows.into_iter()
        .filter_map(|t| inbox_row(t).transpose())
        .collect()
}

/// An id as stored (UUID text); a row that holds anything else is corrupt.
fn stored_uuid(id: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::try_parse(id).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The start of a query for a member's inbox: their visible, not cancelled notifications,
/// followed by the bind of the member's id.
const SHOWN_TO: &str = "SELECT id, recipient_id, kind, title, body, notice, created_at, \
                        visible_at, read_at FROM notifications \
                        WHERE visible_at IS NOT NULL AND cancelled_at IS NULL AND recipient_id = ";

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Stores new notifications (duplicates of an existing dedupe key are skipped) with their
    /// deliveries, in one transaction. Returns how many were new and the in-app items that are
    /// visible at once (already announced with `pg_notify` on PostgreSQL).
    pub async fn insert(
        &self,
        batch: &[NewNotification],
        now: DateTime<Utc>,
    ) -> Result<(usize, Vec<Item>), sqlx::Error> {
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut inserted = std::collections::HashSet::new();
            for chunk in batch.chunks(CHUNK) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO notifications (id, recipient_id, kind, notice, dedupe_key, title, body, \
                     locale, not_before, created_at, visible_at) ",
                );
                qb.push_values(chunk, |mut row, n| {
                    let visible = (n.in_app && n.not_before <= now).then_some(now);
                    row.push_bind(n.id.to_string())
                        .push_bind(n.recipient_id.to_string())
                        .push_bind(kind_name(n.kind))
                        .push_bind(n.notice.clone())
                        .push_bind(n.dedupe_key.clone())
                        .push_bind(n.title.clone())
                        .push_bind(n.body.clone())
                        .push_bind(n.locale.clone())
                        .push_bind(n.not_before)
                        .push_bind(now)
                        .push_bind(visible);
                });
                qb.push(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id");
                let ids: Vec<String> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                for id in ids {
                    inserted.insert(stored_uuid(&id)?);
                }
            }
            let fresh: Vec<&NewNotification> =
                batch.iter().filter(|n| inserted.contains(&n.id)).collect();
            let subjects: Vec<(Uuid, Uuid)> = fresh
                .iter()
                .filter_map(|n| n.subject.map(|subject| (n.id, subject)))
                .collect();
            for chunk in subjects.chunks(CHUNK) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO notification_subjects (notification_id, member_id) ",
                );
                qb.push_values(chunk, |mut row, (id, subject)| {
                    row.push_bind(id.to_string()).push_bind(subject.to_string());
                });
                qb.build().execute(&mut *tx).await?;
            }
            let mut deliveries: Vec<NewDelivery<'_>> = Vec::with_capacity(fresh.len() * 2);
            for n in &fresh {
                let (in_app, in_app_sent) = match (n.in_app, n.not_before <= now) {
                    (false, _) => (DeliveryState::Suppressed, None),
                    (true, true) => (DeliveryState::Sent, Some(now)),
                    (true, false) => (DeliveryState::Pending, None),
                };
                let email = if n.email {
                    DeliveryState::Pending
                } else {
                    DeliveryState::Suppressed
                };
                deliveries.push(NewDelivery::new(n, Channel::InApp, in_app, in_app_sent));
                deliveries.push(NewDelivery::new(n, Channel::Email, email, None));
            }
            for chunk in deliveries.chunks(CHUNK) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO deliveries (id, notification_id, recipient_id, channel, status, \
                     next_attempt_at, sent_at, created_at, attempts) ",
                );
                qb.push_values(chunk, |mut row, d| {
                    row.push_bind(d.id.to_string())
                        .push_bind(d.notification.id.to_string())
                        .push_bind(d.notification.recipient_id.to_string())
                        .push_bind(channel_name(d.channel))
                        .push_bind(d.state.as_str())
                        .push_bind(d.notification.not_before)
                        .push_bind(d.sent_at)
                        .push_bind(now)
                        .push_bind(i64::from(d.sent_at.is_some()));
                });
                qb.build().execute(&mut *tx).await?;
            }
            let visible: Vec<Item> = fresh
                .iter()
                .filter(|n| n.in_app && n.not_before <= now)
                .map(|n| Item {
                    id: n.id,
                    recipient_id: n.recipient_id,
                    kind: n.kind,
                    title: n.title.clone(),
                    body: n.body.clone(),
                    notice: n.notice.clone(),
                    created_at: now,
                })
                .collect();
            for item in &visible {
                tx.announce(item).await?;
            }
            tx.commit().await?;
            Ok((fresh.len(), visible))
        })
    }

    /// The inbox, newest first; the cursor is `(visible_at, id)`.
    pub async fn inbox(
        &self,
        member: Uuid,
        unread_only: bool,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> Result<Vec<InboxRow>, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new(SHOWN_TO);
            qb.push_bind(member.to_string());
            if unread_only {
                qb.push(" AND read_at IS NULL");
            }
            if let Some((at, id)) = after {
                qb.push(" AND (visible_at < ");
                qb.push_bind(at);
                qb.push(" OR (visible_at = ");
                qb.push_bind(at);
                qb.push(" AND id < ");
                qb.push_bind(id.to_string());
                qb.push("))");
            }
            qb.push(" ORDER BY visible_at DESC, id DESC LIMIT ");
            qb.push_bind(i64::from(limit));
            let rows: Vec<InboxTuple> = qb.build_query_as().fetch_all(pool).await?;
            inbox_rows(rows)
        })
    }

    /// In-app notifications of a member that became visible after `after_id`'s, oldest first.
    pub async fn visible_after(
        &self,
        member: Uuid,
        after_id: Uuid,
        limit: u32,
    ) -> Result<Vec<InboxRow>, sqlx::Error> {
        let member = member.to_string();
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new(SHOWN_TO);
            qb.push_bind(member.clone());
            qb.push(
                " AND (visible_at, id) > (SELECT visible_at, id FROM notifications WHERE id = ",
            );
            qb.push_bind(after_id.to_string());
            qb.push(" AND recipient_id = ");
            qb.push_bind(member.clone());
            qb.push(") ORDER BY visible_at, id LIMIT ");
            qb.push_bind(i64::from(limit));
            let rows: Vec<InboxTuple> = qb.build_query_as().fetch_all(pool).await?;
            inbox_rows(rows)
        })
    }

    /// In-app notifications of a member that became visible at or after `since`, oldest
    /// first (what a stream replays after the listener lost its connection).
    pub async fn visible_since(
        &self,
        member: Uuid,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<InboxRow>, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new(SHOWN_TO);
            qb.push_bind(member.to_string());
            qb.push(" AND visible_at >= ");
            qb.push_bind(since);
            qb.push(" ORDER BY visible_at, id LIMIT ");
            qb.push_bind(i64::from(limit));
            let rows: Vec<InboxTuple> = qb.build_query_as().fetch_all(pool).await?;
            inbox_rows(rows)
        })
    }

    pub async fn unread_count(&self, member: Uuid) -> Result<i64, sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM notifications WHERE recipient_id = $1 \
                 AND visible_at IS NOT NULL AND cancelled_at IS NULL AND read_at IS NULL",
            )
            .bind(member.to_string())
            .fetch_one(pool)
            .await
        })
    }

    /// Marks some of a member's notifications read; ids of others are ignored.
    pub async fn mark_read(
        &self,
        member: Uuid,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        if ids.is_empty() {
            return Ok(0);
        }
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new("UPDATE notifications SET read_at = ");
            qb.push_bind(now);
            qb.push(" WHERE recipient_id = ");
            qb.push_bind(member.to_string());
            qb.push(" AND read_at IS NULL AND visible_at IS NOT NULL AND id IN (");
            let mut s = qb.separated(", ");
            for id in ids {
                s.push_bind(id.to_string());
            }
            s.push_unseparated(")");
            Ok(qb.build().execute(pool).await?.rows_affected())
        })
    }

    pub async fn mark_all_read(
        &self,
        member: Uuid,
        before: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new("UPDATE notifications SET read_at = ");
            qb.push_bind(now);
            qb.push(" WHERE recipient_id = ");
            qb.push_bind(member.to_string());
            qb.push(" AND read_at IS NULL AND visible_at IS NOT NULL");
            // "At or before": the last notification the client has seen is marked too.
            if let Some(before) = before {
                qb.push(" AND visible_at <= ");
                qb.push_bind(before);
            }
            Ok(qb.build().execute(pool).await?.rows_affected())
        })
    }

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
}

impl Announce for sqlx::SqliteConnection {
    async fn announce(&mut self, _item: &Item) -> Result<(), sqlx::Error> {
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
}
