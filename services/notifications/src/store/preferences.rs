//! Channel preferences and quiet hours, as members set them and Deliver reads them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1::{Channel, NotificationKind};
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Store, stored_uuid};
use crate::domain::{channel_from_name, channel_name, kind_from_name, kind_name};

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

impl Store {
    /// Explicit channel preferences of several members: `(member, kind, channel) → enabled`.
    /// Preferences for kinds this version does not know are left out.
    pub async fn preferences_of(
        &self,
        members: &[Uuid],
    ) -> Result<HashMap<(Uuid, NotificationKind, Channel), bool>, sqlx::Error> {
        let mut out = HashMap::new();
        with_db!(&self.db, |pool| {
            for chunk in members.chunks(1000) {
                let mut qb = QueryBuilder::new(
                    "SELECT member_id, kind, channel, enabled FROM channel_preferences WHERE member_id IN (",
                );
                let mut s = qb.separated(", ");
                for id in chunk {
                    s.push_bind(id.to_string());
                }
                s.push_unseparated(")");
                let rows: Vec<(String, String, String, bool)> =
                    qb.build_query_as().fetch_all(pool).await?;
                for (member, kind, channel, enabled) in rows {
                    let kind = kind_from_name(&kind);
                    if kind != NotificationKind::Unspecified {
                        let key = (stored_uuid(&member)?, kind, channel_from_name(&channel));
                        out.insert(key, enabled);
                    }
                }
            }
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(out)
    }

    pub async fn quiet_hours(&self, member: Uuid) -> Result<QuietSettings, sqlx::Error> {
        let member = member.to_string();
        with_db!(&self.db, |pool| {
            let row: Option<(i64, i64, bool, Option<String>)> = sqlx::query_as(
                "SELECT start_minute, end_minute, enabled, time_zone FROM quiet_hours WHERE member_id = $1",
            )
            .bind(&member)
            .fetch_optional(pool)
            .await?;
            Ok(row.map_or_else(
                QuietSettings::default,
                |(start_minute, end_minute, enabled, time_zone)| QuietSettings {
                    quiet: Some(QuietRow {
                        start_minute,
                        end_minute,
                        enabled,
                    }),
                    time_zone,
                },
            ))
        })
    }

    /// Upserts channel preferences, and (when given) quiet hours and their time zone
    /// (`Some(None)` clears it), in one transaction.
    pub async fn update_preferences(
        &self,
        member: Uuid,
        channels: &[(NotificationKind, Channel, bool)],
        quiet: Option<QuietRow>,
        time_zone: Option<Option<String>>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let member = member.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            for (kind, channel, enabled) in channels {
                sqlx::query(
                    "INSERT INTO channel_preferences (member_id, kind, channel, enabled) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (member_id, kind, channel) DO UPDATE SET enabled = excluded.enabled",
                )
                .bind(&member)
                .bind(kind_name(*kind))
                .bind(channel_name(*channel))
                .bind(*enabled)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(q) = quiet {
                sqlx::query(
                    "INSERT INTO quiet_hours (member_id, start_minute, end_minute, enabled, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (member_id) DO UPDATE SET \
                     start_minute = excluded.start_minute, end_minute = excluded.end_minute, \
                     enabled = excluded.enabled, updated_at = excluded.updated_at",
                )
                .bind(&member)
                .bind(q.start_minute)
                .bind(q.end_minute)
                .bind(q.enabled)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(time_zone) = time_zone {
                sqlx::query(
                    "INSERT INTO quiet_hours (member_id, start_minute, end_minute, enabled, updated_at, time_zone) \
                     VALUES ($1, 0, 0, FALSE, $2, $3) ON CONFLICT (member_id) DO UPDATE SET \
                     time_zone = excluded.time_zone, updated_at = excluded.updated_at",
                )
                .bind(&member)
                .bind(now)
                .bind(time_zone)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
    }
}
