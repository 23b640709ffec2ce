//! What the coffee flows read of the members they pair: a name to tell the other, the city,
//! the time zone they read times in, and their availability. A trait on both connection
//! types, so that a round's batch and an answer read it in their own transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::{PgConnection, QueryBuilder, SqliteConnection};

use crate::domain::coffee::{Window, windows_from_stored};

/// A member as the coffee flows see them.
#[derive(Clone, Debug)]
pub(super) struct CoffeePerson {
    pub name: String,
    pub city: String,
    /// Their coffee time zone, else their profile's (IANA name, as stored).
    pub zone: String,
    pub windows: Vec<Window>,
    /// Areas of their city they would rather meet in.
    pub areas: Vec<String>,
}

impl CoffeePerson {
    /// The zone as a time zone; UTC when unknown (never written: both are validated).
    pub fn tz(&self) -> Tz {
        self.zone.parse().unwrap_or(Tz::UTC)
    }
}

pub(super) trait CoffeePeople {
    /// The members of `ids` (by id) that exist.
    fn coffee_people(
        &mut self,
        ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, CoffeePerson>, sqlx::Error>> + Send;

    /// The slots offered to the matched proposals of `ids` (by proposal), earliest first.
    fn coffee_slots(
        &mut self,
        ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Vec<Slot>>, sqlx::Error>> + Send;
}

/// A time slot, start and end.
pub type Slot = (DateTime<Utc>, DateTime<Utc>);

/// Ends an `IN (` list of `ids`, bound one by one, with its `)`.
fn push_in_list<'a, DB: sqlx::Database>(query: &mut QueryBuilder<DB>, ids: &'a [String])
where
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id.as_str());
    }
    query.push(")");
}

type PersonTuple = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

macro_rules! impl_coffee_people {
    ($conn:ty) => {
        impl CoffeePeople for $conn {
            async fn coffee_people(
                &mut self,
                ids: &[String],
            ) -> Result<HashMap<String, CoffeePerson>, sqlx::Error> {
                if ids.is_empty() {
                    return Ok(HashMap::new());
                }
                let mut query = QueryBuilder::new(
                    "SELECT m.id, m.display_name, m.city, \
                     COALESCE(NULLIF(s.time_zone, ''), m.time_zone), s.availability, \
                     s.preferred_areas \
                     FROM members m LEFT JOIN coffee_settings s ON s.member_id = m.id \
                     WHERE m.id IN (",
                );
                push_in_list(&mut query, ids);
                let rows: Vec<PersonTuple> = query.build_query_as().fetch_all(&mut *self).await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, name, city, zone, availability, areas)| {
                        let windows = windows_from_stored(availability.as_deref().unwrap_or(""));
                        (
                            id,
                            CoffeePerson {
                                name,
                                city,
                                zone,
                                windows,
                                areas: areas
                                    .and_then(|areas| serde_json::from_str(&areas).ok())
                                    .unwrap_or_default(),
                            },
                        )
                    })
                    .collect())
            }

            async fn coffee_slots(
                &mut self,
                ids: &[String],
            ) -> Result<HashMap<String, Vec<Slot>>, sqlx::Error> {
                let mut slots: HashMap<String, Vec<Slot>> = HashMap::new();
                if ids.is_empty() {
                    return Ok(slots);
                }
                let mut query = QueryBuilder::new(
                    "SELECT proposal_id, starts_at, ends_at FROM coffee_slots \
                     WHERE proposal_id IN (",
                );
                push_in_list(&mut query, ids);
                query.push(" ORDER BY proposal_id, starts_at");
                let rows: Vec<(String, DateTime<Utc>, DateTime<Utc>)> =
                    query.build_query_as().fetch_all(&mut *self).await?;
                for (id, start, end) in rows {
                    slots.entry(id).or_default().push((start, end));
                }
                Ok(slots)
            }
        }
    };
}

impl_coffee_people!(SqliteConnection);
impl_coffee_people!(PgConnection);
