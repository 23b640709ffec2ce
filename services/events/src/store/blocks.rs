//! Blocks between members, kept here so that visibility needs no call to members: the
//! members service's outbox tells events of every block and unblock (`RecordBlocks`, at least
//! once, in batches), and each pair keeps its latest change. A host and a viewer who block
//! each other (either way) do not see each other's events.
//!
//! Last writer wins per pair on the change's time, compared in whole microseconds (an
//! integer column, alike on both backends): a redelivered change is a no-op, and an older
//! change arriving after a newer one is ignored, so a late block never undoes an unblock.
//! Changes naming an erased member are ignored too, so a block delivered after the erasure
//! does not bring back what the erasure dropped. A block also drops the two's hopes of
//! meeting each other at any event (marks and mutual pairs, both ways).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::with_db;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Store, stored_uuid};

/// One block or unblock, as members made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockChange {
    pub blocker: Uuid,
    pub blocked: Uuid,
    /// A block (true) or an unblock (false).
    pub blocks: bool,
    pub changed_at: DateTime<Utc>,
}

/// Ids per `IN (...)` list, well under both backends' bind limits.
const IDS_PER_QUERY: usize = 500;

impl Store {
    /// Records `changes` in one transaction, one statement per [`IDS_PER_QUERY`] pairs;
    /// returns how many pairs took a change newer than what they held (0 for a replay). Of
    /// several changes to one pair in `changes`, the latest is the one that counts.
    pub async fn record_blocks(&self, changes: &[BlockChange]) -> Result<u64, sqlx::Error> {
        let mut latest: HashMap<(Uuid, Uuid), &BlockChange> = HashMap::new();
        for change in changes {
            let entry = latest
                .entry((change.blocker, change.blocked))
                .or_insert(change);
            if change.changed_at > entry.changed_at {
                *entry = change;
            }
        }
        let latest: Vec<&BlockChange> = latest.into_values().collect();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let mut recorded = 0;
            for page in latest.chunks(IDS_PER_QUERY) {
                // VALUES names its columns column1.. on both backends.
                let mut qb = QueryBuilder::new(
                    "INSERT INTO member_blocks (blocker_id, blocked_id, blocked, changed_at) \
                     SELECT column1, column2, column3, column4 FROM (",
                );
                qb.push_values(page, |mut row, change| {
                    row.push_bind(change.blocker.to_string())
                        .push_bind(change.blocked.to_string())
                        .push_bind(change.blocks)
                        .push_bind(change.changed_at.timestamp_micros());
                });
                qb.push(
                    ") AS changes WHERE NOT EXISTS \
                     (SELECT 1 FROM erased_members WHERE member_id IN (column1, column2)) \
                     ON CONFLICT (blocker_id, blocked_id) DO UPDATE \
                     SET blocked = excluded.blocked, changed_at = excluded.changed_at \
                     WHERE excluded.changed_at > member_blocks.changed_at",
                );
                recorded += qb.build().execute(&mut *tx).await?.rows_affected();
            }
            // A block ends the two's hopes of meeting, both ways: marks and mutual pairs. (A
            // block older than an unblock recorded here drops them too; that only forgets.)
            let blocks: Vec<&&BlockChange> = latest.iter().filter(|c| c.blocks).collect();
            for page in blocks.chunks(IDS_PER_QUERY / 2) {
                for (table, a, b) in [
                    ("want_to_meet_marks", "member_id", "other_id"),
                    ("want_to_meet_pairs", "member_a", "member_b"),
                ] {
                    let mut qb = QueryBuilder::new("DELETE FROM ");
                    qb.push(table).push(" WHERE ");
                    let mut pairs = qb.separated(" OR ");
                    for change in page {
                        let (x, y) = (change.blocker.to_string(), change.blocked.to_string());
                        for (first, second) in [(&x, &y), (&y, &x)] {
                            pairs.push("(");
                            pairs.push_unseparated(a);
                            pairs.push_unseparated(" = ");
                            pairs.push_bind_unseparated(first.clone());
                            pairs.push_unseparated(" AND ");
                            pairs.push_unseparated(b);
                            pairs.push_unseparated(" = ");
                            pairs.push_bind_unseparated(second.clone());
                            pairs.push_unseparated(")");
                        }
                    }
                    qb.build().execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(recorded)
        })
    }

    /// Those of `others` who block `viewer` or whom `viewer` blocks: one query for them all
    /// (per [`IDS_PER_QUERY`] ids).
    pub async fn blocked_among(
        &self,
        viewer: Uuid,
        others: &[Uuid],
    ) -> Result<HashSet<Uuid>, sqlx::Error> {
        let viewer = viewer.to_string();
        let mut blocked = HashSet::new();
        for page in others.chunks(IDS_PER_QUERY) {
            let ids: Vec<String> = page.iter().map(Uuid::to_string).collect();
            let rows: Vec<String> = with_db!(self.db(), |pool| {
                let mut qb = QueryBuilder::new("SELECT CASE WHEN blocker_id = ");
                qb.push_bind(viewer.as_str());
                qb.push(" THEN blocked_id ELSE blocker_id END FROM member_blocks WHERE blocked AND ((blocker_id = ");
                qb.push_bind(viewer.as_str());
                qb.push(" AND blocked_id IN (");
                let mut list = qb.separated(", ");
                for id in &ids {
                    list.push_bind(id.as_str());
                }
                qb.push(")) OR (blocked_id = ");
                qb.push_bind(viewer.as_str());
                qb.push(" AND blocker_id IN (");
                let mut list = qb.separated(", ");
                for id in &ids {
                    list.push_bind(id.as_str());
                }
                qb.push(")))");
                qb.build_query_scalar().fetch_all(pool).await?
            });
            for id in rows {
                blocked.insert(stored_uuid(&id)?);
            }
        }
        Ok(blocked)
    }
}
