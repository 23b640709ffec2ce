//! A coffee proposal round in the database: the candidates the rules allow (see
//! `domain::pairing`), read in priority order as a stream and matched greedily as they come,
//! so memory holds who is taken, not the connections; then the proposals written a batch at a
//! time, each batch checking its pairs again in its own transaction (and on PostgreSQL
//! locking their connection rows, so a block or a removal made meanwhile either comes first
//! and the pair is dropped, or waits for the proposal and closes it).

use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt as _;
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::outbox::OutboxWriter as _;
use rendezvous_common::with_db;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::coffee_people::CoffeePeople as _;
use super::db::Store;
use crate::domain::coffee::Cadence;
use crate::domain::pairing::{Matcher, Rules};
use crate::notices;

/// Pairs written per transaction.
const PROPOSALS_PER_BATCH: usize = 500;

/// How a round runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundSettings {
    pub rules: Rules,
    /// How long the two have to answer.
    pub respond_within: Duration,
}

impl Default for RoundSettings {
    fn default() -> Self {
        Self {
            rules: Rules::default(),
            respond_within: Duration::days(3),
        }
    }
}

/// A proposal a round made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProposal {
    pub id: Uuid,
    /// The pair, `a` < `b`.
    pub a: Uuid,
    pub b: Uuid,
    pub proposed_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
}

/// What a round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundOutcome {
    /// Candidate pairs the rules allowed.
    pub candidates: u64,
    /// Pairs the matching took that were still allowed when written.
    pub proposals: Vec<NewProposal>,
}

/// A piece of the candidates' SQL: text, or one of the round's times bound in its place.
#[derive(Clone, Copy)]
enum Part {
    Sql(&'static str),
    Now,
    /// The latest last proposal that leaves a member of this cadence due.
    DueSince(Cadence),
    /// The latest proposal of a pair that lets it be proposed again.
    RepeatSince,
}

/// One member of a candidate pair is due (`m` their id, `s` their settings, `r` their rounds):
/// opted in, not snoozed, without an open proposal, and their cadence's period past.
macro_rules! due {
    ($m:literal, $s:literal, $r:literal) => {
        [
            Part::Sql(concat!(
                " AND ",
                $s,
                ".opted_in AND (",
                $s,
                ".snoozed_until IS NULL OR ",
                $s,
                ".snoozed_until <= "
            )),
            Part::Now,
            Part::Sql(concat!(
                ") AND NOT EXISTS (SELECT 1 FROM coffee_proposals o WHERE o.state = 'open' AND o.member_a = ",
                $m,
                ") AND NOT EXISTS (SELECT 1 FROM coffee_proposals o WHERE o.state = 'open' AND o.member_b = ",
                $m,
                ") AND (",
                $r,
                ".last_proposed_at IS NULL OR ",
                $r,
                ".last_proposed_at <= CASE ",
                $s,
                ".cadence WHEN 'weekly' THEN "
            )),
            Part::DueSince(Cadence::Weekly),
            Part::Sql(" WHEN 'monthly' THEN "),
            Part::DueSince(Cadence::Monthly),
            Part::Sql(" ELSE "),
            Part::DueSince(Cadence::Fortnightly),
            Part::Sql(" END)"),
        ]
    };
}

/// Which pairs a proposal is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pairs {
    /// Connections not met in person yet: a round's.
    NotMet,
    /// Connections met before: a re-meet nudge's.
    MetBefore,
}

/// The candidate pairs: connected, not met (or, for `Pairs::MetBefore`, met), both due,
/// allowed (same city, no block, no do-not-pair, not proposed within the repeat period). The
/// caller adds an order or a restriction.
fn candidate_parts(pairs: Pairs) -> Vec<Part> {
    let mut parts = vec![Part::Sql(
        "SELECT c.member_a, c.member_b FROM connections c \
         JOIN members ma ON ma.id = c.member_a \
         JOIN members mb ON mb.id = c.member_b \
         JOIN coffee_settings sa ON sa.member_id = c.member_a \
         JOIN coffee_settings sb ON sb.member_id = c.member_b \
         LEFT JOIN coffee_rounds ra ON ra.member_id = c.member_a \
         LEFT JOIN coffee_rounds rb ON rb.member_id = c.member_b \
         WHERE ma.deleted_at IS NULL AND mb.deleted_at IS NULL \
         AND ma.city_key <> '' AND ma.city_key = mb.city_key",
    )];
    parts.extend(due!("c.member_a", "sa", "ra"));
    parts.extend(due!("c.member_b", "sb", "rb"));
    parts.push(Part::Sql(match pairs {
        Pairs::NotMet => " AND NOT EXISTS",
        Pairs::MetBefore => " AND EXISTS",
    }));
    parts.extend([
        Part::Sql(
            " (SELECT 1 FROM met_edges e \
             WHERE e.member_a = c.member_a AND e.member_b = c.member_b) \
             AND NOT EXISTS (SELECT 1 FROM blocks k \
             WHERE (k.blocker_id = c.member_a AND k.blocked_id = c.member_b) \
             OR (k.blocker_id = c.member_b AND k.blocked_id = c.member_a)) \
             AND NOT EXISTS (SELECT 1 FROM coffee_do_not_pair d \
             WHERE (d.member_id = c.member_a AND d.other_id = c.member_b) \
             OR (d.member_id = c.member_b AND d.other_id = c.member_a)) \
             AND NOT EXISTS (SELECT 1 FROM coffee_proposals p \
             WHERE p.member_a = c.member_a AND p.member_b = c.member_b AND p.proposed_at > ",
        ),
        Part::RepeatSince,
        Part::Sql(")"),
    ]);
    parts
}

/// The candidates' query with the round's times bound: `$qb` gets the parts of `$parts`.
macro_rules! push_parts {
    ($qb:expr, $parts:expr, $now:expr, $rules:expr) => {
        for part in $parts {
            match part {
                Part::Sql(sql) => {
                    $qb.push(sql);
                }
                Part::Now => {
                    $qb.push_bind($now);
                }
                Part::DueSince(cadence) => {
                    $qb.push_bind($now - cadence.period());
                }
                Part::RepeatSince => {
                    $qb.push_bind($now - $rules.repeat_after);
                }
            }
        }
    };
}

fn parse_pair((a, b): (String, String)) -> Option<(Uuid, Uuid)> {
    Some((Uuid::try_parse(&a).ok()?, Uuid::try_parse(&b).ok()?))
}

impl Store {
    /// Runs a coffee proposal round at `now`: what it proposed.
    pub async fn coffee_round(
        &self,
        settings: &RoundSettings,
        now: DateTime<Utc>,
    ) -> Result<RoundOutcome, sqlx::Error> {
        let rules = settings.rules;
        self.lapse_coffee_proposals(now).await?;
        let mut matcher = Matcher::new();
        let mut candidates = 0_u64;
        with_db!(&self.db, |pool| {
            let mut qb = QueryBuilder::new("");
            push_parts!(qb, candidate_parts(Pairs::NotMet), now, rules);
            qb.push(" ORDER BY c.created_at, c.member_a, c.member_b");
            let mut rows = qb.build_query_as::<(String, String)>().fetch(pool);
            while let Some(row) = rows.try_next().await? {
                candidates += 1;
                if let Some((a, b)) = parse_pair(row) {
                    matcher.offer(a, b);
                }
            }
        });
        let pairs = matcher.into_pairs();
        let mut proposals = Vec::with_capacity(pairs.len());
        for batch in pairs.chunks(PROPOSALS_PER_BATCH) {
            proposals.extend(self.propose(batch, settings, now, None).await?);
        }
        Ok(RoundOutcome {
            candidates,
            proposals,
        })
    }

    /// Takes the round lease (one round at a time across replicas) until `until`, if no
    /// round holds it at `now`; whether it was taken.
    pub async fn take_coffee_round_lease(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let taken = sqlx::query(
                "UPDATE coffee_round_lease SET held_until = $2 WHERE id = 1 AND held_until <= $1",
            )
            .bind(now)
            .bind(until)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(taken == 1)
        })
    }

    /// Gives back at `now` the lease taken until `held_until`, if it is still that one: a
    /// holder whose lease ran out and was taken by another replica leaves theirs alone.
    pub async fn release_coffee_round_lease(
        &self,
        held_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE coffee_round_lease SET held_until = $2 WHERE id = 1 AND held_until = $1",
            )
            .bind(held_until)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// Records as lapsed the open proposals past their deadline, freeing their members for
    /// the next rounds; how many.
    pub async fn lapse_coffee_proposals(&self, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        with_db!(&self.db, |pool| {
            let lapsed = sqlx::query(
                "UPDATE coffee_proposals SET state = 'lapsed' \
                 WHERE state = 'open' AND respond_by <= $1",
            )
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(lapsed)
        })
    }

    /// Proposes a coffee to `a` and `b` (`a` < `b`), who last met at `last_met`, for a re-meet
    /// nudge: if the coffee rules allow it now (both opted in and due, same city, no block, no
    /// do-not-pair, not proposed within the repeat period), the proposal, told to both.
    pub async fn propose_coffee_again(
        &self,
        (a, b): (Uuid, Uuid),
        last_met: DateTime<Utc>,
        settings: &RoundSettings,
        now: DateTime<Utc>,
    ) -> Result<Option<NewProposal>, sqlx::Error> {
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        let mut made = self
            .propose(&[(a, b)], settings, now, Some(last_met))
            .await?;
        Ok(made.pop())
    }

    /// Writes the proposals of `pairs` that the rules still allow, in one transaction: pairs
    /// not met yet, or with `last_met`, pairs who last met then.
    async fn propose(
        &self,
        pairs: &[(Uuid, Uuid)],
        settings: &RoundSettings,
        now: DateTime<Utc>,
        last_met: Option<DateTime<Utc>>,
    ) -> Result<Vec<NewProposal>, sqlx::Error> {
        let rules = settings.rules;
        let respond_by = now + settings.respond_within;
        let kind = match last_met {
            None => Pairs::NotMet,
            Some(_) => Pairs::MetBefore,
        };
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut qb = QueryBuilder::new("");
            push_parts!(qb, candidate_parts(kind), now, rules);
            qb.push(" AND (");
            for (i, (a, b)) in pairs.iter().enumerate() {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push("(c.member_a = ")
                    .push_bind(a.to_string())
                    .push(" AND c.member_b = ")
                    .push_bind(b.to_string())
                    .push(")");
            }
            qb.push(")");
            if self.db.backend() == rendezvous_common::db::Backend::Postgres {
                qb.push(" FOR UPDATE OF c");
            }
            let allowed: Vec<(String, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
            // In the matching's order (priority), whatever order the check read them in.
            let allowed: std::collections::HashSet<(Uuid, Uuid)> =
                allowed.into_iter().filter_map(parse_pair).collect();
            let proposals: Vec<NewProposal> = pairs
                .iter()
                .filter(|pair| allowed.contains(pair))
                .map(|&(a, b)| NewProposal {
                    id: Uuid::now_v7(),
                    a,
                    b,
                    proposed_at: now,
                    respond_by,
                })
                .collect();
            if !proposals.is_empty() {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO coffee_proposals \
                     (id, member_a, member_b, proposed_at, respond_by, state, last_met_at) ",
                );
                insert.push_values(&proposals, |mut row, p| {
                    row.push_bind(p.id.to_string())
                        .push_bind(p.a.to_string())
                        .push_bind(p.b.to_string())
                        .push_bind(p.proposed_at)
                        .push_bind(p.respond_by)
                        .push_bind("open")
                        .push_bind(last_met);
                });
                insert.build().execute(&mut *tx).await?;
                let mut rounds =
                    QueryBuilder::new("INSERT INTO coffee_rounds (member_id, last_proposed_at) ");
                let members: Vec<(Uuid, &NewProposal)> = proposals
                    .iter()
                    .flat_map(|p| [(p.a, p), (p.b, p)])
                    .collect();
                rounds.push_values(&members, |mut row, (member, p)| {
                    row.push_bind(member.to_string()).push_bind(p.proposed_at);
                });
                rounds.push(
                    " ON CONFLICT (member_id) DO UPDATE SET \
                     last_proposed_at = excluded.last_proposed_at",
                );
                rounds.build().execute(&mut *tx).await?;
                // Each is told of the other: name, city, and their own time zone.
                let ids: Vec<String> = members.iter().map(|(m, _)| m.to_string()).collect();
                let people = tx.coffee_people(&ids).await?;
                let mut messages = Vec::with_capacity(members.len());
                for p in &proposals {
                    for (me, other) in [(p.a, p.b), (p.b, p.a)] {
                        let (Some(me_seen), Some(other_seen)) =
                            (people.get(&me.to_string()), people.get(&other.to_string()))
                        else {
                            continue;
                        };
                        messages.push(notices::coffee_proposed(
                            me,
                            p.id,
                            notices::member_facts(&other.to_string(), &other_seen.name),
                            &me_seen.city,
                            p.respond_by,
                            &me_seen.zone,
                            last_met,
                        ));
                    }
                }
                tx.enqueue_all(&messages, now).await?;
            }
            tx.commit().await?;
            Ok(proposals)
        })
    }
}
