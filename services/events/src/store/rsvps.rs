//! RSVP storage: the one transaction path every RSVP change takes, and reads of RSVPs.
//!
//! An answer (going / not going, batched by [`crate::admission`]), a single transition
//! (cancel, claim, approve, decline, expire) and a capacity change all run the same steps in
//! one transaction: lock the event row and read its seat counters into a [`Ledger`], ask the
//! pure rules in [`crate::domain::rsvp`] what the RSVP becomes, write it ([`RsvpOps::apply`]),
//! pass freed seats on to the wait-list ([`RsvpOps::promote`], the one promotion routine),
//! write the counters back ([`RsvpOps::save_seats`]) and the notices to the outbox, and commit.
//! A `CHECK` on the event row (`confirmed + offered ≤ capacity`) backs the rules up.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rendezvous_common::db::{BeginWrite as _, Locks};
use rendezvous_common::outbox::OutboxWriter as _;
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1 as npb;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;

use super::{EventOps, Store, StoreError, Stored as _, stored_uuid, stored_uuids};
use crate::domain::event::{EventRow, EventState};
use crate::domain::reminder::{ReminderBasis, ReminderOffsets};
use crate::domain::rsvp::{
    self, Decision, Intent, RsvpState, RsvpVisibility, RuleError, Rules, Seats, Transition,
};
use crate::notices;

/// One answer to admit.
#[derive(Clone, Debug)]
pub struct AdmitRequest {
    pub member_id: Uuid,
    pub intent: Intent,
    pub visibility: RsvpVisibility,
    /// The member's display name, for the hosts' notice when the RSVP awaits their approval
    /// (empty when unknown: the notice then names nobody).
    pub display_name: String,
}

/// What an RSVP became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsvpOutcome {
    pub member_id: Uuid,
    pub state: RsvpState,
    /// 1-based place in line while wait-listed.
    pub waitlist_position: Option<u32>,
    pub offer_expires_at: Option<DateTime<Utc>>,
}

/// Why an RSVP change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RsvpRefusal {
    #[error("no such event")]
    NoEvent,
    #[error("the event is not open for RSVPs")]
    NotOpen,
    #[error("the RSVP deadline has passed")]
    DeadlinePassed,
    #[error("{0}")]
    Rule(RuleError),
}

/// One RSVP as stored.
#[derive(Clone, Debug)]
pub struct RsvpRow {
    pub event_id: Uuid,
    pub member_id: Uuid,
    pub state: RsvpState,
    pub waitlist_position: Option<u32>,
    pub offer_expires_at: Option<DateTime<Utc>>,
    pub visibility: RsvpVisibility,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub seq: i64,
    /// When the holder is (or was) reminded of the event's current start.
    pub reminder_times: Vec<DateTime<Utc>>,
}

/// The event under its row lock, as the RSVP path reads and changes it.
pub(super) struct Ledger {
    pub(super) event: EventRow,
    pub(super) rules: Rules,
    pub(super) seats: Seats,
    /// The next arrival sequence number of the wait-list.
    next_seq: i64,
}

impl Ledger {
    fn new(event: EventRow, next_seq: i64) -> Self {
        let count = |n: i64| u32::try_from(n).unwrap_or(0);
        let rules = Rules {
            capacity: count(event.capacity),
            approval_required: event.approval_required,
            mode: event.waitlist,
        };
        let seats = Seats {
            confirmed: count(event.confirmed_count),
            offered: count(event.offered_count),
            waitlisted: count(event.waitlisted_count),
        };
        Self {
            event,
            rules,
            seats,
            next_seq,
        }
    }
}

/// A member's RSVP as the RSVP path reads it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Current {
    state: RsvpState,
    seq: i64,
    offer_expires_at: Option<DateTime<Utc>>,
}

/// What caused a change: the member's answer or a single transition. It picks the notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cause {
    Answer,
    Transition(Transition),
}

/// The notice telling a member what their own RSVP became, if that is news to them.
fn notice_for(
    cause: Cause,
    state: RsvpState,
    event: &EventRow,
    position: u32,
) -> Option<npb::Notice> {
    use RsvpState::{Cancelled, Confirmed, Declined, PendingApproval, Waitlisted};
    Some(match (cause, state) {
        (Cause::Answer, Confirmed) | (Cause::Transition(Transition::Claim), Confirmed) => {
            notices::rsvp_confirmed(event).into()
        }
        (Cause::Answer, Waitlisted) | (Cause::Transition(Transition::Approve), Waitlisted) => {
            notices::rsvp_waitlisted(event, position).into()
        }
        (Cause::Answer, PendingApproval) => notices::rsvp_pending_approval(event).into(),
        (Cause::Answer | Cause::Transition(Transition::Decline), Declined) => {
            notices::rsvp_declined(event).into()
        }
        (Cause::Transition(Transition::Approve), Confirmed) => notices::rsvp_approved(event).into(),
        (Cause::Transition(Transition::Expire), _)
        | (Cause::Transition(Transition::Claim), Cancelled) => {
            notices::waitlist_offer_expired(event).into()
        }
        _ => return None,
    })
}

/// The steps of the RSVP transaction, for both backends' connections.
pub(super) trait RsvpOps: EventOps {
    /// Locks the event row and reads it; None when there is no such event.
    fn lock_ledger(
        &mut self,
        event_id: Uuid,
    ) -> impl Future<Output = Result<Option<Ledger>, sqlx::Error>> + Send;

    fn current(
        &mut self,
        event_id: Uuid,
        member: Uuid,
    ) -> impl Future<Output = Result<Option<Current>, sqlx::Error>> + Send;

    /// Writes what `decision` makes of `member`'s RSVP (a `visibility` of None keeps the
    /// stored one), moves the seats and tells the member; returns the RSVP's arrival sequence.
    #[allow(clippy::too_many_arguments, reason = "one step of one transaction")]
    fn apply(
        &mut self,
        ledger: &mut Ledger,
        member: Uuid,
        current: Option<Current>,
        decision: &Decision,
        cause: Cause,
        visibility: Option<RsvpVisibility>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;

    /// Moves the first `count` wait-listed members up to `to`, telling each.
    fn promote(
        &mut self,
        ledger: &mut Ledger,
        count: u32,
        to: RsvpState,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Tells the event's host and full co-hosts (those who may answer) that `request` awaits
    /// their approval; keyed per attempt (`seq`), so only a new request is told again.
    fn ask_approvers(
        &mut self,
        event: &EventRow,
        request: &AdmitRequest,
        seq: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Writes the ledger's counters back to the event row.
    fn save_seats(
        &mut self,
        ledger: &Ledger,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The 1-based wait-list place of the RSVP with arrival sequence `seq`.
    fn position(
        &mut self,
        event_id: Uuid,
        seq: i64,
    ) -> impl Future<Output = Result<u32, sqlx::Error>> + Send;
    /// The states and sequence numbers of `members`' RSVPs to the event, in one read.
    fn states_of(
        &mut self,
        event_id: Uuid,
        members: &[Uuid],
    ) -> impl Future<Output = Result<HashMap<Uuid, (RsvpState, i64)>, sqlx::Error>> + Send;

    /// The sequence numbers of the wait-listed RSVPs from `seq` on, in line order.
    fn waitlisted_from(
        &mut self,
        event_id: Uuid,
        seq: i64,
    ) -> impl Future<Output = Result<Vec<i64>, sqlx::Error>> + Send;
}

macro_rules! impl_rsvp_ops {
    ($conn:ty) => {
        impl RsvpOps for $conn {
            async fn lock_ledger(&mut self, event_id: Uuid) -> Result<Option<Ledger>, sqlx::Error> {
                let sql = format!(
                    "SELECT next_seq FROM events WHERE id = $1{}",
                    <$conn as Locks>::BACKEND.for_update()
                );
                let next_seq: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(event_id.to_string())
                    .fetch_optional(&mut *self)
                    .await?;
                let Some(next_seq) = next_seq else {
                    return Ok(None);
                };
                let event = self
                    .load_event(event_id)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?;
                Ok(Some(Ledger::new(event, next_seq)))
            }

            async fn current(
                &mut self,
                event_id: Uuid,
                member: Uuid,
            ) -> Result<Option<Current>, sqlx::Error> {
                let row: Option<(String, i64, Option<DateTime<Utc>>)> = sqlx::query_as(
                    "SELECT status, seq, offer_expires_at FROM rsvps \
                     WHERE event_id = $1 AND member_id = $2",
                )
                .bind(event_id.to_string())
                .bind(member.to_string())
                .fetch_optional(&mut *self)
                .await?;
                Ok(row.map(|(state, seq, offer_expires_at)| Current {
                    state: RsvpState::from_stored(&state),
                    seq,
                    offer_expires_at,
                }))
            }

            async fn apply(
                &mut self,
                ledger: &mut Ledger,
                member: Uuid,
                current: Option<Current>,
                decision: &Decision,
                cause: Cause,
                visibility: Option<RsvpVisibility>,
                now: DateTime<Utc>,
            ) -> Result<i64, sqlx::Error> {
                let event_id = ledger.event.id;
                let mut seq = current.map_or(0, |c| c.seq);
                if !decision.changed {
                    if current.is_some()
                        && let Some(visibility) = visibility
                    {
                        sqlx::query(
                            "UPDATE rsvps SET visibility = $3 WHERE event_id = $1 AND member_id = $2",
                        )
                        .bind(event_id.to_string())
                        .bind(member.to_string())
                        .bind(visibility.stored())
                        .execute(&mut *self)
                        .await?;
                    }
                    return Ok(seq);
                }
                // Every answer that changes the RSVP is a new attempt with a new arrival
                // number (so going, cancelling and going again is told again); a transition
                // keeps the number unless it puts the member at the end of the line.
                if cause == Cause::Answer || decision.status == RsvpState::Waitlisted {
                    seq = ledger.next_seq;
                    ledger.next_seq += 1;
                }
                sqlx::query(
                    "INSERT INTO rsvps (event_id, member_id, status, seq, visibility, offer_expires_at, \
                     created_at, updated_at, confirmed_at) VALUES ($1, $2, $3, $4, COALESCE($5, 'attendees'), \
                     NULL, $6, $6, $7) \
                     ON CONFLICT (event_id, member_id) DO UPDATE SET status = excluded.status, \
                     seq = excluded.seq, visibility = COALESCE($5, rsvps.visibility), \
                     offer_expires_at = NULL, updated_at = excluded.updated_at, \
                     confirmed_at = CASE WHEN rsvps.status = 'confirmed' AND excluded.status = 'confirmed' \
                     THEN rsvps.confirmed_at ELSE excluded.confirmed_at END",
                )
                .bind(event_id.to_string())
                .bind(member.to_string())
                .bind(decision.status.stored())
                .bind(seq)
                .bind(visibility.map(RsvpVisibility::stored))
                .bind(now)
                // When it became confirmed: the reminders still ahead are this RSVP's.
                .bind((decision.status == RsvpState::Confirmed).then_some(now))
                .execute(&mut *self)
                .await?;
                ledger.seats = ledger.seats.moved(current.map(|c| c.state), decision.status);
                let position = if decision.status == RsvpState::Waitlisted {
                    self.position(event_id, seq).await?
                } else {
                    0
                };
                if let Some(notice) = notice_for(cause, decision.status, &ledger.event, position) {
                    let status = decision.status.stored();
                    let key = match cause {
                        Cause::Answer => format!("rsvp:{event_id}:{member}:{status}:{seq}"),
                        Cause::Transition(_) => {
                            format!("rsvp:{event_id}:{member}:{status}:{}", now.timestamp_micros())
                        }
                    };
                    self.enqueue(&notices::message(member, key, notice), now).await?;
                }
                Ok(seq)
            }

            async fn promote(
                &mut self,
                ledger: &mut Ledger,
                count: u32,
                to: RsvpState,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                if count == 0 {
                    return Ok(());
                }
                let event_id = ledger.event.id;
                let promoted: Vec<String> = sqlx::query_scalar(
                    "SELECT member_id FROM rsvps WHERE event_id = $1 AND status = 'waitlisted' \
                     ORDER BY seq LIMIT $2",
                )
                .bind(event_id.to_string())
                .bind(i64::from(count))
                .fetch_all(&mut *self)
                .await?;
                let expires = ledger.rules.offer_expires_at(now).filter(|_| to == RsvpState::Offered);
                for member in stored_uuids(&promoted)? {
                    sqlx::query(
                        "UPDATE rsvps SET status = $3, offer_expires_at = $4, updated_at = $5, \
                         confirmed_at = $6 WHERE event_id = $1 AND member_id = $2",
                    )
                    .bind(event_id.to_string())
                    .bind(member.to_string())
                    .bind(to.stored())
                    .bind(expires)
                    .bind(now)
                    .bind((to == RsvpState::Confirmed).then_some(now))
                    .execute(&mut *self)
                    .await?;
                    ledger.seats = ledger.seats.moved(Some(RsvpState::Waitlisted), to);
                    let notice: npb::Notice = match expires {
                        Some(expires) => notices::waitlist_offered(&ledger.event, expires).into(),
                        None => notices::waitlist_promoted(&ledger.event).into(),
                    };
                    let key = format!("promoted:{event_id}:{member}:{}", now.timestamp_micros());
                    let message = notices::message(member, key, notice);
                    self.enqueue(&message, now).await?;
                }
                Ok(())
            }

            async fn ask_approvers(
                &mut self,
                event: &EventRow,
                request: &AdmitRequest,
                seq: i64,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                let member = request.member_id;
                let approvers: Vec<Uuid> = std::iter::once(event.host_id)
                    .chain(event.cohosts.iter().map(|(id, _)| *id))
                    .filter(|id| *id != member && event.is_manager(*id))
                    .collect();
                let facts = notices::member_facts(member, request.display_name.clone());
                let notice = notices::rsvp_approval_requested(event, facts);
                let event_id = event.id;
                let key = |host: Uuid| format!("approval-requested:{event_id}:{member}:{seq}:{host}");
                self.tell_each(&approvers, &key, notice.into(), now).await
            }

            async fn save_seats(&mut self, ledger: &Ledger, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE events SET confirmed_count = $2, offered_count = $3, waitlisted_count = $4, \
                     next_seq = $5, updated_at = $6 WHERE id = $1",
                )
                .bind(ledger.event.id.to_string())
                .bind(i64::from(ledger.seats.confirmed))
                .bind(i64::from(ledger.seats.offered))
                .bind(i64::from(ledger.seats.waitlisted))
                .bind(ledger.next_seq)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn position(&mut self, event_id: Uuid, seq: i64) -> Result<u32, sqlx::Error> {
                let ahead: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM rsvps WHERE event_id = $1 AND status = 'waitlisted' \
                     AND seq < $2",
                )
                .bind(event_id.to_string())
                .bind(seq)
                .fetch_one(&mut *self)
                .await?;
                Ok(u32::try_from(ahead + 1).unwrap_or(0))
            }

            async fn states_of(
                &mut self,
                event_id: Uuid,
                members: &[Uuid],
            ) -> Result<HashMap<Uuid, (RsvpState, i64)>, sqlx::Error> {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT member_id, status, seq FROM rsvps WHERE event_id = ",
                );
                query.push_bind(event_id.to_string()).push(" AND member_id IN (");
                let mut ids = query.separated(", ");
                for member in members {
                    ids.push_bind(member.to_string());
                }
                query.push(")");
                let rows: Vec<(String, String, i64)> =
                    query.build_query_as().fetch_all(&mut *self).await?;
                rows.into_iter()
                    .map(|(member, state, seq)| {
                        let member = Uuid::try_parse(&member)
                            .map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
                        Ok((member, (RsvpState::from_stored(&state), seq)))
                    })
                    .collect()
            }

            async fn waitlisted_from(
                &mut self,
                event_id: Uuid,
                seq: i64,
            ) -> Result<Vec<i64>, sqlx::Error> {
                sqlx::query_scalar(
                    "SELECT seq FROM rsvps WHERE event_id = $1 AND status = 'waitlisted' \
                     AND seq >= $2 ORDER BY seq",
                )
                .bind(event_id.to_string())
                .bind(seq)
                .fetch_all(&mut *self)
                .await
            }
        }
    };
}

impl_rsvp_ops!(SqliteConnection);
impl_rsvp_ops!(PgConnection);

type RsvpTuple = (
    String,
    String,
    String,
    i64,
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
    Option<DateTime<Utc>>,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// An RSVP's columns, then what its reminders depend on: when it was confirmed, and the
/// event's state, start and when that start was set (from `events e`, joined by the query).
const RSVP_COLUMNS: &str = "r.event_id, r.member_id, r.status, r.seq, r.visibility, \
     r.offer_expires_at, r.checked_in_at, r.created_at, r.updated_at, \
     (SELECT COUNT(*) FROM rsvps w WHERE w.event_id = r.event_id AND w.status = 'waitlisted' \
      AND w.seq < r.seq), \
     r.confirmed_at, e.state, e.start_at, COALESCE(e.start_set_at, e.created_at)";

fn rsvp_row(t: RsvpTuple, offsets: &ReminderOffsets) -> Result<RsvpRow, sqlx::Error> {
    let state = RsvpState::from_stored(&t.2);
    let reminders = ReminderBasis {
        event_state: EventState::from_stored(&t.11),
        start_at: t.12,
        start_set_at: t.13,
        rsvp_state: state,
        confirmed_at: t.10,
    };
    Ok(RsvpRow {
        event_id: stored_uuid(&t.0)?,
        member_id: stored_uuid(&t.1)?,
        state,
        waitlist_position: (state == RsvpState::Waitlisted)
            .then(|| u32::try_from(t.9 + 1).unwrap_or(0)),
        offer_expires_at: t.5,
        visibility: RsvpVisibility::from_stored(&t.4),
        checked_in_at: t.6,
        created_at: t.7,
        updated_at: t.8,
        seq: t.3,
        reminder_times: reminders.reminders(offsets).iter().map(|r| r.at).collect(),
    })
}

impl Store {
    /// Admits a batch of answers to one event in one transaction, in the order given.
    pub async fn admit(
        &self,
        event_id: Uuid,
        requests: &[AdmitRequest],
        now: DateTime<Utc>,
    ) -> Result<Vec<RsvpOutcome>, StoreError<RsvpRefusal>> {
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(mut ledger) = tx.lock_ledger(event_id).await? else {
                return Err(RsvpRefusal::NoEvent.into());
            };
            if ledger.event.state != EventState::Published || ledger.event.start_at <= now {
                return Err(RsvpRefusal::NotOpen.into());
            }
            if ledger
                .event
                .rsvp_deadline
                .is_some_and(|deadline| deadline <= now)
            {
                return Err(RsvpRefusal::DeadlinePassed.into());
            }
            let mut outcomes = Vec::with_capacity(requests.len());
            for request in requests {
                let current = tx.current(event_id, request.member_id).await?;
                let decision = rsvp::answer(
                    &ledger.rules,
                    &ledger.seats,
                    current.map(|c| c.state),
                    request.intent,
                );
                let seq = tx
                    .apply(
                        &mut ledger,
                        request.member_id,
                        current,
                        &decision,
                        Cause::Answer,
                        Some(request.visibility),
                        now,
                    )
                    .await?;
                if decision.changed && decision.status == RsvpState::PendingApproval {
                    tx.ask_approvers(&ledger.event, request, seq, now).await?;
                }
                tx.promote(&mut ledger, decision.promote, decision.promote_to, now)
                    .await?;
                outcomes.push(RsvpOutcome {
                    member_id: request.member_id,
                    state: decision.status,
                    waitlist_position: None,
                    offer_expires_at: current
                        .filter(|_| decision.status == RsvpState::Offered)
                        .and_then(|c| c.offer_expires_at),
                });
            }
            tx.save_seats(&ledger, now).await?;
            // What each answer became once the whole batch is in (a later request of the
            // batch may have moved an earlier one up), and the wait-list places: one read
            // for the states, one count and one read for the places, whatever the batch's
            // size (a count per wait-listed answer grew with the list).
            let members: Vec<Uuid> = outcomes.iter().map(|o| o.member_id).collect();
            let states = tx.states_of(event_id, &members).await?;
            let first_waitlisted = states
                .values()
                .filter(|(state, _)| *state == RsvpState::Waitlisted)
                .map(|(_, seq)| *seq)
                .min();
            let line = match first_waitlisted {
                Some(first) => Some((
                    tx.position(event_id, first).await?,
                    tx.waitlisted_from(event_id, first).await?,
                )),
                None => None,
            };
            for outcome in &mut outcomes {
                let (state, seq) = *states
                    .get(&outcome.member_id)
                    .ok_or(sqlx::Error::RowNotFound)?;
                outcome.state = state;
                if state == RsvpState::Waitlisted
                    && let Some((first_place, from_first)) = &line
                {
                    let behind_first = from_first
                        .binary_search(&seq)
                        .map_err(|_| sqlx::Error::RowNotFound)?;
                    outcome.waitlist_position = Some(
                        first_place.saturating_add(u32::try_from(behind_first).unwrap_or(u32::MAX)),
                    );
                }
            }
            tx.commit().await?;
            Ok(outcomes)
        })
    }

    /// Applies one transition to `member`'s RSVP under the event lock, passing any freed seat
    /// on to the wait-list, and tells whoever it concerns.
    pub async fn transition(
        &self,
        event_id: Uuid,
        member: Uuid,
        op: Transition,
        now: DateTime<Utc>,
    ) -> Result<RsvpOutcome, StoreError<RsvpRefusal>> {
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let Some(mut ledger) = tx.lock_ledger(event_id).await? else {
                return Err(RsvpRefusal::NoEvent.into());
            };
            if ledger.event.state != EventState::Published {
                return Err(RsvpRefusal::NotOpen.into());
            }
            let current = tx.current(event_id, member).await?;
            let from = current.map(|c| c.state);
            let expires = current
                .and_then(|c| c.offer_expires_at)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            let (rules, seats) = (&ledger.rules, &ledger.seats);
            let mut expired = false;
            let decision = match op {
                Transition::Cancel => rsvp::cancel(rules, seats, from),
                Transition::Approve => rsvp::approve(rules, seats, from),
                Transition::Decline => rsvp::decline(rules, seats, from),
                Transition::Expire => rsvp::expire_offer(rules, seats, from, expires, now),
                Transition::Claim => match rsvp::claim_offer(rules, seats, from, expires, now) {
                    Err(RuleError::OfferExpired) => {
                        expired = true;
                        rsvp::expire_offer(rules, seats, from, expires, now)
                    }
                    other => other,
                },
            };
            let decision = match decision {
                Ok(decision) => decision,
                Err(rule) => return Err(RsvpRefusal::Rule(rule).into()),
            };
            let seq = tx
                .apply(
                    &mut ledger,
                    member,
                    current,
                    &decision,
                    Cause::Transition(op),
                    None,
                    now,
                )
                .await?;
            tx.promote(&mut ledger, decision.promote, decision.promote_to, now)
                .await?;
            tx.save_seats(&ledger, now).await?;
            let position = if decision.status == RsvpState::Waitlisted {
                Some(tx.position(event_id, seq).await?)
            } else {
                None
            };
            tx.commit().await?;
            if expired {
                return Err(RsvpRefusal::Rule(RuleError::OfferExpired).into());
            }
            Ok(RsvpOutcome {
                member_id: member,
                state: decision.status,
                waitlist_position: position,
                offer_expires_at: None,
            })
        })
    }

    pub async fn rsvp_of(
        &self,
        event_id: Uuid,
        member: Uuid,
    ) -> Result<Option<RsvpRow>, sqlx::Error> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        let member = member.to_string();
        let member = member.as_str();
        let sql = format!(
            "SELECT {RSVP_COLUMNS} FROM rsvps r JOIN events e ON e.id = r.event_id \
             WHERE r.event_id = $1 AND r.member_id = $2"
        );
        with_db!(self.db(), |pool| {
            let row: Option<RsvpTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(event_id)
                .bind(member)
                .fetch_optional(pool)
                .await?;
            row.map(|t| rsvp_row(t, &self.reminder_offsets)).transpose()
        })
    }

    /// An event's RSVPs with the given statuses, in RSVP order (first answer, then member id)
    /// after `after`.
    pub async fn rsvps(
        &self,
        event_id: Uuid,
        statuses: &[RsvpState],
        checked_in_only: bool,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> Result<Vec<RsvpRow>, sqlx::Error> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        let (after_at, after_id) = after.map_or_else(
            || (DateTime::<Utc>::UNIX_EPOCH, String::new()),
            |(at, id)| (at, id.to_string()),
        );
        let list = statuses
            .iter()
            .map(|s| format!("'{}'", s.stored()))
            .collect::<Vec<_>>()
            .join(", ");
        let checked = if checked_in_only {
            " AND r.checked_in_at IS NOT NULL"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {RSVP_COLUMNS} FROM rsvps r JOIN events e ON e.id = r.event_id \
             WHERE r.event_id = $1 AND r.status IN ({list}){checked} \
             AND (r.created_at > $2 OR (r.created_at = $2 AND r.member_id > $3)) \
             ORDER BY r.created_at, r.member_id LIMIT $4"
        );
        with_db!(self.db(), |pool| {
            let rows: Vec<RsvpTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(event_id)
                .bind(after_at)
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.into_iter()
                .map(|t| rsvp_row(t, &self.reminder_offsets))
                .collect()
        })
    }

    /// Offers whose expiry has passed at `now`: (event id, member id).
    pub async fn expired_offers(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
        let offers: Vec<(String, String)> = with_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT event_id, member_id FROM rsvps WHERE status = 'offered' \
                 AND offer_expires_at <= $1 ORDER BY offer_expires_at LIMIT 500",
            )
            .bind(now)
            .fetch_all(pool)
            .await
        })?;
        offers
            .iter()
            .map(|(event, member)| Ok((stored_uuid(event)?, stored_uuid(member)?)))
            .collect()
    }

    /// Counts of an event's RSVPs by status, straight from the rows.
    pub async fn status_counts(&self, event_id: Uuid) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let event_id = event_id.to_string();
        let event_id = event_id.as_str();
        with_db!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT status, COUNT(*) FROM rsvps WHERE event_id = $1 GROUP BY status ORDER BY status",
            )
            .bind(event_id)
            .fetch_all(pool)
            .await
        })
    }
}
