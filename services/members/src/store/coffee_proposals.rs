//! Coffee proposals as their two members see them: listed, and answered. A member reads and
//! answers only the proposals made to them, and only ever sees their own answer.

use chrono::{DateTime, Utc};
use rendezvous_common::db::BeginWrite as _;
use rendezvous_common::outbox::OutboxWriter as _;
use rendezvous_common::relay::coffee_called_off;
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as events_pb;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;

use super::coffee_match::CoffeeMatch as _;
use super::coffee_people::{CoffeePeople, Slot};
use super::db::Store;
use crate::domain::coffee::ProposalState;

/// A proposal as one of its members sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalRow {
    pub id: String,
    pub other_id: String,
    pub other_name: String,
    pub proposed_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub state: ProposalState,
    /// The member's own answer, as stored (`accepted`, `declined`), if any.
    pub my_answer: Option<String>,
    /// Once matched, the times offered to both, earliest first.
    pub slots: Vec<Slot>,
    /// Once booked, the private event of the meeting.
    pub event_id: Option<String>,
    /// Once booked, when the two meet.
    pub meeting: Option<Slot>,
    /// For a proposal a re-meet nudge made: when the two last met.
    pub last_met: Option<DateTime<Utc>>,
}

type ProposalTuple = (
    String,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// The columns of a proposal as member `$1` sees it (`p` the proposal, `m` the other member).
const AS_SEEN_BY_ME: &str = "SELECT p.id, \
     CASE WHEN p.member_a = $1 THEN p.member_b ELSE p.member_a END, m.display_name, \
     p.proposed_at, p.respond_by, p.state, \
     CASE WHEN p.member_a = $1 THEN p.answer_a ELSE p.answer_b END, \
     p.event_id, p.meeting_starts_at, p.meeting_ends_at, p.last_met_at \
     FROM coffee_proposals p \
     JOIN members m ON m.id = CASE WHEN p.member_a = $1 THEN p.member_b ELSE p.member_a END \
     WHERE (p.member_a = $1 OR p.member_b = $1)";

fn row(t: ProposalTuple, now: DateTime<Utc>) -> ProposalRow {
    let (
        id,
        other_id,
        other_name,
        proposed_at,
        respond_by,
        state,
        my_answer,
        event_id,
        starts,
        ends,
        last_met,
    ) = t;
    ProposalRow {
        id,
        other_id,
        other_name,
        proposed_at,
        respond_by,
        state: ProposalState::seen(&state, respond_by, now),
        my_answer,
        slots: Vec::new(),
        event_id,
        meeting: starts.zip(ends),
        last_met,
    }
}

/// `rows` with the slots of the matched ones.
async fn with_slots(
    conn: &mut impl CoffeePeople,
    mut rows: Vec<ProposalRow>,
) -> Result<Vec<ProposalRow>, sqlx::Error> {
    let matched: Vec<String> = rows
        .iter()
        .filter(|r| r.state == ProposalState::Matched)
        .map(|r| r.id.clone())
        .collect();
    let mut slots = conn.coffee_slots(&matched).await?;
    for row in &mut rows {
        row.slots = slots.remove(&row.id).unwrap_or_default();
    }
    Ok(rows)
}

/// One proposal as one of its members sees it, in the transaction that just changed it.
pub(super) trait ProposalSeen {
    /// Proposal `id` as member `me` sees it at `now` (it must be theirs).
    fn proposal_seen_by(
        &mut self,
        me: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ProposalRow, sqlx::Error>> + Send;
}

macro_rules! impl_proposal_seen {
    ($conn:ty) => {
        impl ProposalSeen for $conn {
            async fn proposal_seen_by(
                &mut self,
                me: &str,
                id: &str,
                now: DateTime<Utc>,
            ) -> Result<ProposalRow, sqlx::Error> {
                let seen: ProposalTuple = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{AS_SEEN_BY_ME} AND p.id = $2"
                )))
                .bind(me)
                .bind(id)
                .fetch_one(&mut *self)
                .await?;
                let [seen] = with_slots(&mut *self, vec![row(seen, now)])
                    .await?
                    .try_into()
                    .map_err(|_| sqlx::Error::RowNotFound)?;
                Ok(seen)
            }
        }
    };
}

impl_proposal_seen!(SqliteConnection);
impl_proposal_seen!(PgConnection);

/// Ending the coffee between two members who are no longer to meet, in the transaction that
/// parts them (a block, a removed connection, an erased account).
pub(super) trait CoffeeEnding {
    /// Lapses the pair's open or matched proposals (`a` < `b`), freeing both for later
    /// rounds; nobody is told here (the pair's state says LAPSED to both, as any lapse). A
    /// booked one is called off in events too, which tells both that the coffee is off
    /// without saying why.
    fn end_coffee_between(
        &mut self,
        a: &str,
        b: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The same for every proposal of `member`, and their round row.
    fn end_coffee_of(
        &mut self,
        member: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The step both share: lapses the live proposals `which` selects (binding `first`, then
    /// `second` if any), asking events to call off the booked ones, except a booked coffee
    /// that began before `now`.
    fn end_coffees(
        &mut self,
        which: &str,
        first: &str,
        second: Option<&str>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// The proposals a [`CoffeeEnding`] step ends: `WHERE` this, with `$1` (and `$2`) bound.
const PAIR: &str = "member_a = $1 AND member_b = $2";
const MEMBER: &str = "(member_a = $1 OR member_b = $1)";

macro_rules! impl_coffee_ending {
    ($conn:ty) => {
        impl CoffeeEnding for $conn {
            async fn end_coffees(
                &mut self,
                which: &str,
                first: &str,
                second: Option<&str>,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                // A coffee that has begun is left as it is: it happened (or is happening),
                // and its "did you meet?" follows as for any event.
                let now_at = if second.is_some() { "$3" } else { "$2" };
                let not_begun = format!(
                    "(meeting_starts_at IS NULL OR meeting_starts_at > {now_at})"
                );
                let booked = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT id, event_id FROM coffee_proposals \
                     WHERE {which} AND state = 'matched' AND event_id IS NOT NULL AND {not_begun}"
                )))
                .bind(first);
                let booked: Vec<(String, String)> = match second {
                    Some(second) => booked.bind(second),
                    None => booked,
                }
                .bind(now)
                .fetch_all(&mut *self)
                .await?;
                let lapse = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE coffee_proposals SET state = 'lapsed' \
                     WHERE {which} AND (state = 'open' OR (state = 'matched' AND {not_begun}))"
                )))
                .bind(first);
                match second {
                    Some(second) => lapse.bind(second),
                    None => lapse,
                }
                .bind(now)
                .execute(&mut *self)
                .await?;
                let calls: Vec<_> = booked
                    .into_iter()
                    .map(|(proposal_id, event_id)| {
                        coffee_called_off(&events_pb::CancelCoffeeRequest {
                            proposal_id,
                            event_id,
                        })
                    })
                    .collect();
                self.enqueue_all(&calls, now).await?;
                Ok(())
            }

            async fn end_coffee_between(
                &mut self,
                a: &str,
                b: &str,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                self.end_coffees(PAIR, a, Some(b), now).await
            }

            async fn end_coffee_of(
                &mut self,
                member: &str,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                self.end_coffees(MEMBER, member, None, now).await?;
                sqlx::query("DELETE FROM coffee_rounds WHERE member_id = $1")
                    .bind(member)
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }
        }
    };
}

impl_coffee_ending!(SqliteConnection);
impl_coffee_ending!(PgConnection);

/// What an answer came to.
#[derive(Debug)]
pub enum AnswerOutcome {
    Answered(Box<ProposalRow>),
    /// Not a proposal made to the member.
    NotFound,
    /// Past its deadline without both accepting.
    Lapsed,
    /// Both accepted already: a decline cannot undo it here.
    AlreadyMatched,
}

impl Store {
    /// `member`'s proposals, newest first, after the `(proposed at, id)` cursor.
    pub async fn coffee_proposals(
        &self,
        member: Uuid,
        after: Option<(DateTime<Utc>, String)>,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<ProposalRow>, sqlx::Error> {
        let me = member.to_string();
        with_db!(&self.db, |pool| {
            let mut conn = pool.acquire().await?;
            let rows: Vec<ProposalTuple> = match &after {
                Some((at, id)) => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "{AS_SEEN_BY_ME} AND (p.proposed_at < $2 OR (p.proposed_at = $2 AND p.id < $3)) \
                         ORDER BY p.proposed_at DESC, p.id DESC LIMIT $4"
                    )))
                    .bind(&me)
                    .bind(*at)
                    .bind(id)
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await?
                }
                None => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "{AS_SEEN_BY_ME} ORDER BY p.proposed_at DESC, p.id DESC LIMIT $2"
                    )))
                    .bind(&me)
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await?
                }
            };
            let rows = rows.into_iter().map(|t| row(t, now)).collect();
            with_slots(&mut *conn, rows).await
        })
    }

    /// Records `member`'s answer to `proposal` at `now`; both accepting makes it matched (and
    /// frees both members for later rounds' "one open proposal" rule).
    pub async fn answer_coffee(
        &self,
        member: Uuid,
        proposal: Uuid,
        accept: bool,
        now: DateTime<Utc>,
    ) -> Result<AnswerOutcome, sqlx::Error> {
        let (me, id) = (member.to_string(), proposal.to_string());
        let answer = if accept { "accepted" } else { "declined" };
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let lock = self.db.backend().for_update();
            let current: Option<(
                String,
                String,
                String,
                DateTime<Utc>,
                Option<String>,
                Option<String>,
            )> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT member_a, member_b, state, respond_by, answer_a, answer_b \
                     FROM coffee_proposals WHERE id = $1 AND (member_a = $2 OR member_b = $2){lock}"
            )))
            .bind(&id)
            .bind(&me)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((a, b, state, respond_by, answer_a, answer_b)) = current else {
                return Ok(AnswerOutcome::NotFound);
            };
            let was_open = match ProposalState::seen(&state, respond_by, now) {
                ProposalState::Lapsed => return Ok(AnswerOutcome::Lapsed),
                ProposalState::Matched if !accept => return Ok(AnswerOutcome::AlreadyMatched),
                ProposalState::Matched => false,
                ProposalState::Open => true,
            };
            let other_answer = if a == me { answer_b } else { answer_a };
            // This answer makes the match (an accept repeated after it changes nothing).
            let matched = was_open && accept && other_answer.as_deref() == Some("accepted");
            let column = if a == me { "answer_a" } else { "answer_b" };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE coffee_proposals SET {column} = $2, \
                 state = CASE WHEN $3 THEN 'matched' ELSE state END WHERE id = $1"
            )))
            .bind(&id)
            .bind(answer)
            .bind(matched)
            .execute(&mut *tx)
            .await?;
            if matched {
                tx.tell_match(&id, &a, &b, now).await?;
            }
            let seen = tx.proposal_seen_by(&me, &id, now).await?;
            tx.commit().await?;
            Ok(AnswerOutcome::Answered(Box::new(seen)))
        })
    }
}
