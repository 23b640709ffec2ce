//! What a match does, in the transaction of the answer that makes it: the times both members
//! are free are computed once and kept with the proposal, and each is told of the other, with
//! those times in their own zone.

use chrono::{DateTime, Utc};
use rendezvous_common::outbox::OutboxWriter as _;
use sqlx::{PgConnection, QueryBuilder, SqliteConnection};
use uuid::Uuid;

use super::coffee_people::CoffeePeople as _;
use crate::domain::slots::{Availability, SlotRules, common_slots};
use crate::notices;

pub(super) trait CoffeeMatch {
    /// Keeps the slots of the proposal `id` between `a` and `b`, matched at `now`, and tells
    /// both (COFFEE_MATCHED). A member gone meanwhile leaves nothing to tell.
    fn tell_match(
        &mut self,
        id: &str,
        a: &str,
        b: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

macro_rules! impl_coffee_match {
    ($conn:ty) => {
        impl CoffeeMatch for $conn {
            async fn tell_match(
                &mut self,
                id: &str,
                a: &str,
                b: &str,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                let people = self.coffee_people(&[a.to_owned(), b.to_owned()]).await?;
                let (Some(pa), Some(pb)) = (people.get(a), people.get(b)) else {
                    return Ok(());
                };
                let slots = common_slots(
                    &Availability {
                        windows: &pa.windows,
                        zone: pa.tz(),
                    },
                    &Availability {
                        windows: &pb.windows,
                        zone: pb.tz(),
                    },
                    now,
                    &SlotRules::default(),
                );
                if !slots.is_empty() {
                    let mut insert = QueryBuilder::new(
                        "INSERT INTO coffee_slots (proposal_id, starts_at, ends_at) ",
                    );
                    insert.push_values(&slots, |mut row, (start, end)| {
                        row.push_bind(id).push_bind(*start).push_bind(*end);
                    });
                    insert.build().execute(&mut *self).await?;
                }
                let told: Vec<_> = [(a, pa, b, pb), (b, pb, a, pa)]
                    .into_iter()
                    .filter_map(|(me, me_seen, other, other_seen)| {
                        Some(notices::coffee_matched(
                            Uuid::try_parse(me).ok()?,
                            id,
                            notices::member_facts(other, &other_seen.name),
                            &me_seen.city,
                            &slots,
                            &me_seen.zone,
                        ))
                    })
                    .collect();
                self.enqueue_all(&told, now).await?;
                Ok(())
            }
        }
    };
}

impl_coffee_match!(SqliteConnection);
impl_coffee_match!(PgConnection);
