//! Storing new notifications with their deliveries, and the inbox members read.

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1::{Channel, NotificationKind};
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Announce as _, Store, stored_uuid};
use crate::domain::{DeliveryState, channel_name, kind_from_name, kind_name};
use crate::hub::Item;

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

/// An inbox entry.
#[derive(Clone, Debug)]
pub struct InboxRow {
    pub item: Item,
    pub visible_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
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
            visible_at: Some(visible_at),
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

/// The start of a query for a member's inbox: their visible, not cancelled notifications,
/// followed by the bind of the member's id.
const SHOWN_TO: &str = "SELECT id, recipient_id, kind, title, body, notice, created_at, \
                        visible_at, read_at FROM notifications \
                        WHERE visible_at IS NOT NULL AND cancelled_at IS NULL AND recipient_id = ";

/// The items a batch announcement names (see [`crate::hub::Batch`]), by id.
pub async fn announced(
    pool: &sqlx::PgPool,
    batch: &crate::hub::Batch,
) -> Result<Vec<Item>, sqlx::Error> {
    let rows: Vec<InboxTuple> = sqlx::query_as(
        "SELECT id, recipient_id, kind, title, body, notice, created_at, visible_at, read_at \
         FROM notifications WHERE visible_at = $1 AND id >= $2 AND id <= $3 \
         AND cancelled_at IS NULL ORDER BY id",
    )
    .bind(batch.visible_at)
    .bind(batch.first_id.to_string())
    .bind(batch.last_id.to_string())
    .fetch_all(pool)
    .await?;
    Ok(inbox_rows(rows)?.into_iter().map(|row| row.item).collect())
}

impl Store {
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
                    visible_at: Some(now),
                })
                .collect();
            tx.announce_all(&visible).await?;
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
}
