//! Coffee settings: read with their do-not-pair list, and changed in one transaction that
//! reads the current settings, applies the update's rules and writes the result (or nothing).

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::with_db;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;

use super::db::Store;
use crate::domain::coffee::{
    Cadence, CoffeeSettings, CoffeeUpdate, windows_from_stored, windows_to_stored,
};

/// A stored settings row: opted in, cadence, availability, time zone, areas (JSON), snoozed
/// until, updated at.
type SettingsTuple = (
    bool,
    String,
    String,
    String,
    String,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
);

const SETTINGS_COLUMNS: &str = "opted_in, cadence, availability, time_zone, preferred_areas, \
                                snoozed_until, updated_at";

fn settings_from_row(row: Option<SettingsTuple>, do_not_pair: Vec<String>) -> CoffeeSettings {
    let mut do_not_pair: Vec<Uuid> = do_not_pair
        .iter()
        .filter_map(|id| Uuid::try_parse(id).ok())
        .collect();
    do_not_pair.sort_unstable();
    let Some((opted_in, cadence, availability, time_zone, areas, snoozed_until, updated_at)) = row
    else {
        return CoffeeSettings {
            do_not_pair,
            ..CoffeeSettings::default()
        };
    };
    CoffeeSettings {
        opted_in,
        cadence: Cadence::from_stored(&cadence),
        availability: windows_from_stored(&availability),
        time_zone: (!time_zone.is_empty()).then_some(time_zone),
        preferred_areas: serde_json::from_str(&areas).unwrap_or_default(),
        snoozed_until,
        do_not_pair,
        updated_at: Some(updated_at),
    }
}

/// Reads of one member's coffee settings on whatever connection (or transaction) they are
/// given.
trait CoffeeOps {
    fn load_coffee_settings(
        &mut self,
        id: &str,
    ) -> impl Future<Output = Result<CoffeeSettings, sqlx::Error>> + Send;
}

macro_rules! impl_coffee_ops {
    ($conn:ty) => {
        impl CoffeeOps for $conn {
            async fn load_coffee_settings(
                &mut self,
                id: &str,
            ) -> Result<CoffeeSettings, sqlx::Error> {
                let row: Option<SettingsTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {SETTINGS_COLUMNS} FROM coffee_settings WHERE member_id = $1"
                )))
                .bind(id)
                .fetch_optional(&mut *self)
                .await?;
                let do_not_pair: Vec<String> = sqlx::query_scalar(
                    "SELECT other_id FROM coffee_do_not_pair WHERE member_id = $1 \
                     ORDER BY other_id",
                )
                .bind(id)
                .fetch_all(&mut *self)
                .await?;
                Ok(settings_from_row(row, do_not_pair))
            }
        }
    };
}

impl_coffee_ops!(SqliteConnection);
impl_coffee_ops!(PgConnection);

/// What an update came to.
#[derive(Debug)]
pub enum CoffeeOutcome {
    Updated(CoffeeSettings),
    /// The settings the update would leave break a rule; nothing was written.
    Refused(FieldViolation),
}

impl Store {
    /// A member's coffee settings (the defaults when they never changed them).
    pub async fn coffee_settings(&self, member: Uuid) -> Result<CoffeeSettings, sqlx::Error> {
        let id = member.to_string();
        with_db!(&self.db, |pool| {
            let mut conn = pool.acquire().await?;
            conn.load_coffee_settings(&id).await
        })
    }

    /// Applies `update` to a member's coffee settings at `now`, in one transaction.
    pub async fn update_coffee_settings(
        &self,
        member: Uuid,
        update: &CoffeeUpdate,
        now: DateTime<Utc>,
    ) -> Result<CoffeeOutcome, sqlx::Error> {
        let id = member.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            // Written first, so that on PostgreSQL two updates of one member take turns.
            sqlx::query(
                "INSERT INTO coffee_settings (member_id, opted_in, cadence, availability, \
                 time_zone, preferred_areas, snoozed_until, updated_at) \
                 VALUES ($1, FALSE, $2, '', '', '[]', NULL, $3) \
                 ON CONFLICT (member_id) DO UPDATE SET member_id = excluded.member_id",
            )
            .bind(&id)
            .bind(Cadence::default().as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let current = tx.load_coffee_settings(&id).await?;
            let next = match update.apply(&current, now) {
                Ok(next) => next,
                Err(violation) => {
                    tx.rollback().await?;
                    return Ok(CoffeeOutcome::Refused(violation));
                }
            };
            let areas =
                serde_json::to_string(&next.preferred_areas).unwrap_or_else(|_| "[]".into());
            sqlx::query(
                "UPDATE coffee_settings SET opted_in = $2, cadence = $3, availability = $4, \
                 time_zone = $5, preferred_areas = $6, snoozed_until = $7, updated_at = $8 \
                 WHERE member_id = $1",
            )
            .bind(&id)
            .bind(next.opted_in)
            .bind(next.cadence.as_str())
            .bind(windows_to_stored(&next.availability))
            .bind(next.time_zone.clone().unwrap_or_default())
            .bind(areas)
            .bind(next.snoozed_until)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if update.do_not_pair.is_some() {
                sqlx::query("DELETE FROM coffee_do_not_pair WHERE member_id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                for chunk in next.do_not_pair.chunks(500) {
                    let mut insert = sqlx::QueryBuilder::new(
                        "INSERT INTO coffee_do_not_pair (member_id, other_id) ",
                    );
                    insert.push_values(chunk, |mut row, other| {
                        row.push_bind(id.clone()).push_bind(other.to_string());
                    });
                    insert.build().execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(CoffeeOutcome::Updated(next))
        })
    }
}
