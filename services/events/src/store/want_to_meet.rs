//! Hopes of meeting someone at an event, for both backends: a member's marks, the mutual
//! pairs, and the mark that makes a pair mutual, which tells both in the same transaction.
//!
//! A mark takes two advisory locks: the marker's marks at the event (so two marks at once
//! cannot pass the cap together), then the pair's (so that two members marking each other at
//! the same moment cannot both miss the other's mark: the second sees the first).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rendezvous_common::db::{BeginWrite as _, Locks as _};
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1 as npb;
use uuid::Uuid;

use super::{EventOps as _, Store, StoreError, stored_uuids};
use crate::domain::event::EventRow;
use crate::domain::want_to_meet::{self, MarkRefusal};
use crate::notices;

/// A member's hopes at one event: their marks and their mutual pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hopes {
    /// Whom they marked, in the order marked.
    pub marked: Vec<Uuid>,
    /// Who marked them too (both told), in the order told.
    pub mutual: Vec<Uuid>,
}

/// What a mark did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Marked {
    /// Written (or held already); `told` when it made the pair mutual and both were told.
    Done { hopes: Hopes, told: bool },
    /// The mark makes the pair mutual and the notices need both names, which the caller did
    /// not give: nothing was written; ask again with them.
    NeedsNames,
}

/// The two members of a mark as the mutual notices name them: the marker, then the marked.
pub type Names = (npb::MemberFacts, npb::MemberFacts);

impl Store {
    /// `member`'s marks and mutual pairs at `event_id`.
    pub async fn hopes(&self, event_id: Uuid, member: Uuid) -> Result<Hopes, sqlx::Error> {
        let (event_id, member) = (event_id.to_string(), member.to_string());
        with_db!(self.db(), |pool| {
            let mut conn = pool.acquire().await?;
            conn.hopes(&event_id, &member).await
        })
    }

    /// Whether `member` has marked `other` at `event_id`.
    pub async fn has_marked(
        &self,
        event_id: Uuid,
        member: Uuid,
        other: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let (event_id, member, other) =
            (event_id.to_string(), member.to_string(), other.to_string());
        with_db!(self.db(), |pool| {
            let found: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM want_to_meet_marks WHERE event_id = $1 AND member_id = $2 AND other_id = $3",
            )
            .bind(&event_id)
            .bind(&member)
            .bind(&other)
            .fetch_optional(pool)
            .await?;
            Ok(found.is_some())
        })
    }

    /// Marks `other` as someone `member` hopes to meet at `event` (both confirmed attendees,
    /// as the caller checked). When `other` marked `member` already and the pair was never
    /// told, it becomes mutual and each is told of the other (WANT_TO_MEET_MUTUAL), named by
    /// `names`; without them nothing is written ([`Marked::NeedsNames`]).
    pub async fn mark_want_to_meet(
        &self,
        event: &EventRow,
        member: Uuid,
        other: Uuid,
        names: Option<&Names>,
        now: DateTime<Utc>,
    ) -> Result<Marked, StoreError<MarkRefusal>> {
        let event_id = event.id.to_string();
        let (me, them) = (member.to_string(), other.to_string());
        let (a, b) = crate::domain::ordered(member, other);
        let (a, b) = (a.to_string(), b.to_string());
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            tx.advisory_lock(&format!("want-to-meet:{event_id}:{me}"))
                .await?;
            tx.advisory_lock(&format!("want-to-meet:{event_id}:{a}:{b}"))
                .await?;
            let before = tx.hopes(&event_id, &me).await?;
            want_to_meet::check_room(&before.marked, other)?;
            sqlx::query(
                "INSERT INTO want_to_meet_marks (event_id, member_id, other_id, marked_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (event_id, member_id, other_id) DO NOTHING",
            )
            .bind(&event_id)
            .bind(&me)
            .bind(&them)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let (returned, told): (Option<i32>, Option<i32>) = sqlx::query_as(
                "SELECT (SELECT 1 FROM want_to_meet_marks WHERE event_id = $1 AND member_id = $3 \
                         AND other_id = $2), \
                        (SELECT 1 FROM want_to_meet_pairs WHERE event_id = $1 AND member_a = $4 \
                         AND member_b = $5)",
            )
            .bind(&event_id)
            .bind(&me)
            .bind(&them)
            .bind(&a)
            .bind(&b)
            .fetch_one(&mut *tx)
            .await?;
            let becomes_mutual = returned.is_some() && told.is_none();
            if becomes_mutual {
                let Some((my_facts, their_facts)) = names else {
                    return Ok(Marked::NeedsNames);
                };
                sqlx::query(
                    "INSERT INTO want_to_meet_pairs (event_id, member_a, member_b, told_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&event_id)
                .bind(&a)
                .bind(&b)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                for (to, about) in [(member, their_facts), (other, my_facts)] {
                    let notice = notices::want_to_meet_mutual(event, about.clone());
                    let key = format!("want-to-meet:{}:{}:{}", event.id, to, about.member_id);
                    tx.tell(to, key, notice.into(), now).await?;
                }
            }
            let hopes = tx.hopes(&event_id, &me).await?;
            tx.commit().await?;
            Ok(Marked::Done {
                hopes,
                told: becomes_mutual,
            })
        })
    }

    /// Takes back `member`'s mark of `other` at `event_id` (a mutual pair stays mutual).
    pub async fn unmark_want_to_meet(
        &self,
        event_id: Uuid,
        member: Uuid,
        other: Uuid,
    ) -> Result<Hopes, sqlx::Error> {
        let (event_id, member, other) =
            (event_id.to_string(), member.to_string(), other.to_string());
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "DELETE FROM want_to_meet_marks WHERE event_id = $1 AND member_id = $2 AND other_id = $3",
            )
            .bind(&event_id)
            .bind(&member)
            .bind(&other)
            .execute(&mut *tx)
            .await?;
            let hopes = tx.hopes(&event_id, &member).await?;
            tx.commit().await?;
            Ok(hopes)
        })
    }

    /// The mutual pairs of `event_id` whose two members are both among `attendees`.
    pub async fn mutual_pairs_among(
        &self,
        event_id: Uuid,
        attendees: &[Uuid],
    ) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
        let event_id = event_id.to_string();
        let rows: Vec<(String, String)> = with_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT member_a, member_b FROM want_to_meet_pairs WHERE event_id = $1 \
                 ORDER BY member_a, member_b",
            )
            .bind(&event_id)
            .fetch_all(pool)
            .await?
        });
        let present: HashSet<Uuid> = attendees.iter().copied().collect();
        let mut pairs = Vec::new();
        for (a, b) in rows {
            let ids = stored_uuids(&[a, b])?;
            if ids.iter().all(|id| present.contains(id)) {
                pairs.push((ids[0], ids[1]));
            }
        }
        Ok(pairs)
    }
}

/// A member's hopes at one event, read on a connection or in a transaction, written once for
/// both backends.
trait HopesOps {
    fn hopes(
        &mut self,
        event_id: &str,
        member: &str,
    ) -> impl Future<Output = Result<Hopes, sqlx::Error>> + Send;
}

macro_rules! impl_hopes_ops {
    ($conn:ty) => {
        impl HopesOps for $conn {
            async fn hopes(&mut self, event_id: &str, member: &str) -> Result<Hopes, sqlx::Error> {
                let marked: Vec<String> = sqlx::query_scalar(
                    "SELECT other_id FROM want_to_meet_marks WHERE event_id = $1 AND member_id = $2 \
                     ORDER BY marked_at, other_id",
                )
                .bind(event_id)
                .bind(member)
                .fetch_all(&mut *self)
                .await?;
                let mutual: Vec<String> = sqlx::query_scalar(
                    "SELECT CASE WHEN member_a = $2 THEN member_b ELSE member_a END \
                     FROM want_to_meet_pairs WHERE event_id = $1 AND (member_a = $2 OR member_b = $2) \
                     ORDER BY told_at, member_a, member_b",
                )
                .bind(event_id)
                .bind(member)
                .fetch_all(&mut *self)
                .await?;
                Ok(Hopes {
                    marked: stored_uuids(&marked)?,
                    mutual: stored_uuids(&mutual)?,
                })
            }
        }
    };
}

impl_hopes_ops!(sqlx::SqliteConnection);
impl_hopes_ops!(sqlx::PgConnection);
