//! Re-meet nudges in the database: the settings, the members due a nudge, the connections
//! they have not met for a while (longest first), and the nudges made, listed and dismissed.
//! A nudge is written with its notice in one transaction that first claims the member's
//! fortnight, so a member is never nudged twice in one (see `crate::remeet`).

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::outbox::OutboxWriter as _;
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::prost::Message as _;
use uuid::Uuid;

use super::db::Store;
use crate::domain::remeet::{self, RemeetSettings};
use crate::notices::{self, RemeetSuggestion};

/// The connections member `$1` met in person (`t.other_id`, `t.last_met`: the later of the
/// edge and the last event both checked in to) and may be nudged about: still connected, not
/// deleted, in the member's city, no block either way, last met before `$2`, and no nudge
/// about them since they last met that was dismissed or is younger than `$2`.
const CANDIDATES: &str = "SELECT t.other_id, m.display_name, t.last_met FROM ( \
     SELECT o.other_id, CASE WHEN o.last_pair IS NOT NULL AND o.last_pair > o.met_at \
       THEN o.last_pair ELSE o.met_at END AS last_met \
     FROM (SELECT CASE WHEN e.member_a = $1 THEN e.member_b ELSE e.member_a END AS other_id, \
             e.met_at, \
             (SELECT MAX(p.event_time) FROM meeting_pairs p WHERE p.member_id = $1 \
              AND p.other_id = CASE WHEN e.member_a = $1 THEN e.member_b ELSE e.member_a END) \
              AS last_pair \
           FROM met_edges e WHERE e.member_a = $1 OR e.member_b = $1) o) t \
     JOIN members m ON m.id = t.other_id \
     JOIN members me ON me.id = $1 \
     WHERE m.deleted_at IS NULL AND me.city_key <> '' AND m.city_key = me.city_key \
     AND t.last_met <= $2 \
     AND EXISTS (SELECT 1 FROM connections c WHERE (c.member_a = $1 AND c.member_b = t.other_id) \
       OR (c.member_a = t.other_id AND c.member_b = $1)) \
     AND NOT EXISTS (SELECT 1 FROM blocks k WHERE (k.blocker_id = $1 AND k.blocked_id = t.other_id) \
       OR (k.blocker_id = t.other_id AND k.blocked_id = $1)) \
     AND NOT EXISTS (SELECT 1 FROM remeet_nudges n WHERE n.member_id = $1 \
       AND n.other_id = t.other_id AND n.created_at > t.last_met \
       AND (n.dismissed_at IS NOT NULL OR n.created_at > $2))";

/// A member due a nudge, with what the nudge needs of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueMember {
    pub id: Uuid,
    pub settings: RemeetSettings,
    /// Their city, as they wrote it.
    pub city: String,
    pub time_zone: String,
}

/// A connection a member may be nudged about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemeetCandidate {
    pub other: Uuid,
    pub name: String,
    pub last_met: DateTime<Utc>,
}

/// A nudge as its member sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct NudgeRow {
    pub id: String,
    pub other_id: String,
    pub other_name: String,
    pub last_met: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub suggestion: RemeetSuggestion,
}

type NudgeTuple = (
    String,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<Vec<u8>>,
    Option<String>,
);

fn nudge_row(t: NudgeTuple) -> Result<NudgeRow, sqlx::Error> {
    let (id, other_id, other_name, last_met, created_at, event, coffee) = t;
    let suggestion = match (event, coffee) {
        (Some(bytes), _) => RemeetSuggestion::Event(
            npb::EventFacts::decode(bytes.as_slice())
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        ),
        (None, Some(proposal)) => RemeetSuggestion::Coffee(
            Uuid::try_parse(&proposal).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        ),
        (None, None) => {
            return Err(sqlx::Error::Decode(
                "a stored nudge has no suggestion".into(),
            ));
        }
    };
    Ok(NudgeRow {
        id,
        other_id,
        other_name,
        last_met,
        created_at,
        suggestion,
    })
}

fn stored_uuid(value: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::try_parse(value).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

impl Store {
    /// A member's re-meet settings (the defaults when they never set them).
    pub async fn remeet_settings(&self, member: Uuid) -> Result<RemeetSettings, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let row: Option<(bool, i64)> = sqlx::query_as(
                "SELECT opted_in, after_days FROM remeet_settings WHERE member_id = $1",
            )
            .bind(member.to_string())
            .fetch_optional(pool)
            .await?;
            Ok(
                row.map_or_else(RemeetSettings::default, |(opted_in, days)| {
                    RemeetSettings::from_stored(opted_in, days)
                }),
            )
        })
    }

    /// Replaces a member's re-meet settings at `now`.
    pub async fn set_remeet_settings(
        &self,
        member: Uuid,
        settings: RemeetSettings,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO remeet_settings (member_id, opted_in, after_days, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (member_id) DO UPDATE SET \
                 opted_in = excluded.opted_in, after_days = excluded.after_days, \
                 updated_at = excluded.updated_at",
            )
            .bind(member.to_string())
            .bind(settings.opted_in)
            .bind(i64::from(settings.after_days))
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// Up to `limit` members due a nudge at `now`, after `after` (by id): opted in, not
    /// nudged within a fortnight, not looked at within a day, with a city.
    pub async fn due_remeet_members(
        &self,
        after: Option<Uuid>,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<DueMember>, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let rows: Vec<(String, bool, i64, String, String)> = sqlx::query_as(
                "SELECT s.member_id, s.opted_in, s.after_days, m.city, m.time_zone \
                 FROM remeet_settings s JOIN members m ON m.id = s.member_id \
                 WHERE s.opted_in AND m.deleted_at IS NULL AND m.city_key <> '' \
                 AND (s.last_nudged_at IS NULL OR s.last_nudged_at <= $1) \
                 AND (s.last_checked_at IS NULL OR s.last_checked_at <= $2) \
                 AND s.member_id > $3 ORDER BY s.member_id LIMIT $4",
            )
            .bind(now - remeet::NUDGE_EVERY)
            .bind(now - remeet::CHECK_AGAIN_AFTER)
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(id, opted_in, days, city, time_zone)| {
                    Ok(DueMember {
                        id: stored_uuid(&id)?,
                        settings: RemeetSettings::from_stored(opted_in, days),
                        city,
                        time_zone,
                    })
                })
                .collect()
        })
    }

    /// The connections `member` may be nudged about at `now`, longest unseen first.
    pub async fn remeet_candidates(
        &self,
        member: &DueMember,
        now: DateTime<Utc>,
    ) -> Result<Vec<RemeetCandidate>, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let rows: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(sqlx::AssertSqlSafe(
                format!("{CANDIDATES} ORDER BY t.last_met, t.other_id LIMIT $3"),
            ))
            .bind(member.id.to_string())
            .bind(now - member.settings.after())
            .bind(remeet::CANDIDATES_PER_MEMBER)
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(other, name, last_met)| {
                    Ok(RemeetCandidate {
                        other: stored_uuid(&other)?,
                        name,
                        last_met,
                    })
                })
                .collect()
        })
    }

    /// Records that `member` was looked at, at `now`, with no nudge to make.
    pub async fn remeet_looked_at(
        &self,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query("UPDATE remeet_settings SET last_checked_at = $2 WHERE member_id = $1")
                .bind(member.to_string())
                .bind(now)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Nudges `member` about `candidate` with `suggestion`, with its notice, if the member is
    /// still opted in, not nudged within a fortnight, and may still be nudged about them; the
    /// nudge's id, or `None` when any of that no longer holds (nothing is written).
    pub async fn nudge(
        &self,
        member: &DueMember,
        candidate: &RemeetCandidate,
        suggestion: RemeetSuggestion,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        let me = member.id.to_string();
        let other = candidate.other.to_string();
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let claimed = sqlx::query(
                "UPDATE remeet_settings SET last_nudged_at = $2, last_checked_at = $2 \
                 WHERE member_id = $1 AND opted_in \
                 AND (last_nudged_at IS NULL OR last_nudged_at <= $3)",
            )
            .bind(&me)
            .bind(now)
            .bind(now - remeet::NUDGE_EVERY)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // The settings are read again in this transaction: an opt-out or a longer wait
            // set meanwhile counts.
            let after: Option<(i64,)> =
                sqlx::query_as("SELECT after_days FROM remeet_settings WHERE member_id = $1")
                    .bind(&me)
                    .fetch_optional(&mut *tx)
                    .await?;
            let still: Option<(String, String, DateTime<Utc>)> = match after {
                Some((days,)) if claimed == 1 => {
                    let after = RemeetSettings::from_stored(true, days).after();
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "{CANDIDATES} AND t.other_id = $3"
                    )))
                    .bind(&me)
                    .bind(now - after)
                    .bind(&other)
                    .fetch_optional(&mut *tx)
                    .await?
                }
                _ => None,
            };
            let Some((_, name, last_met)) = still else {
                tx.rollback().await?;
                return Ok(None);
            };
            let id = Uuid::now_v7();
            let (event, coffee) = match &suggestion {
                RemeetSuggestion::Event(event) => (Some(event.encode_to_vec()), None),
                RemeetSuggestion::Coffee(proposal) => (None, Some(proposal.to_string())),
            };
            sqlx::query(
                "INSERT INTO remeet_nudges (id, member_id, other_id, last_met_at, created_at, \
                 event_facts, coffee_proposal_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id.to_string())
            .bind(&me)
            .bind(&other)
            .bind(last_met)
            .bind(now)
            .bind(event)
            .bind(coffee)
            .execute(&mut *tx)
            .await?;
            let message = notices::remeet_nudge(
                member.id,
                id,
                notices::member_facts(&other, &name),
                last_met,
                &member.time_zone,
                suggestion,
            );
            tx.enqueue(&message, now).await?;
            tx.commit().await?;
            Ok(Some(id))
        })
    }

    /// A member's nudges not dismissed, about connections still there (connected, not
    /// deleted, no block either way), newest first.
    pub async fn remeet_nudges(&self, member: Uuid) -> Result<Vec<NudgeRow>, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let rows: Vec<NudgeTuple> = sqlx::query_as(
                "SELECT n.id, n.other_id, m.display_name, n.last_met_at, n.created_at, \
                 n.event_facts, n.coffee_proposal_id \
                 FROM remeet_nudges n JOIN members m ON m.id = n.other_id \
                 WHERE n.member_id = $1 AND n.dismissed_at IS NULL AND m.deleted_at IS NULL \
                 AND EXISTS (SELECT 1 FROM connections c \
                   WHERE (c.member_a = $1 AND c.member_b = n.other_id) \
                   OR (c.member_a = n.other_id AND c.member_b = $1)) \
                 AND NOT EXISTS (SELECT 1 FROM blocks k \
                   WHERE (k.blocker_id = $1 AND k.blocked_id = n.other_id) \
                   OR (k.blocker_id = n.other_id AND k.blocked_id = $1)) \
                 ORDER BY n.created_at DESC, n.id DESC LIMIT $2",
            )
            .bind(member.to_string())
            .bind(remeet::MAX_LISTED)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(nudge_row).collect()
        })
    }

    /// Every nudge made to a member, dismissed or not, oldest first, each with when it was
    /// dismissed (for their export).
    pub async fn remeet_nudges_ever(
        &self,
        member: Uuid,
    ) -> Result<Vec<(NudgeRow, Option<DateTime<Utc>>)>, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let rows: Vec<(
                String,
                String,
                DateTime<Utc>,
                DateTime<Utc>,
                Option<Vec<u8>>,
                Option<String>,
                Option<DateTime<Utc>>,
            )> = sqlx::query_as(
                "SELECT id, other_id, last_met_at, created_at, event_facts, coffee_proposal_id, \
                     dismissed_at FROM remeet_nudges WHERE member_id = $1 ORDER BY created_at, id",
            )
            .bind(member.to_string())
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(id, other, last_met, created, event, coffee, dismissed)| {
                    let row =
                        nudge_row((id, other, String::new(), last_met, created, event, coffee))?;
                    Ok((row, dismissed))
                })
                .collect()
        })
    }

    /// Dismisses `member`'s nudge `id` at `now` (again: nothing changes); false when they
    /// have no such nudge.
    pub async fn dismiss_remeet_nudge(
        &self,
        member: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let found = sqlx::query(
                "UPDATE remeet_nudges SET dismissed_at = COALESCE(dismissed_at, $3) \
                 WHERE id = $1 AND member_id = $2",
            )
            .bind(id.to_string())
            .bind(member.to_string())
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(found == 1)
        })
    }
}
