//! RSVP storage: the one transaction path every RSVP change takes (reads of RSVPs are in
//! `rsvp_reads`).
//!
//! An answer (going / not going, batched by [`crate::admission`]), a single transition
//! (cancel, claim, approve, decline, expire) and a capacity change all run the same steps in
//! one transaction: lock the event row and read its seat counters into a [`Ledger`], ask the
//! pure rules in [`crate::domain::rsvp`] what the RSVP becomes, stage the row and its notice
//! ([`stage`]) and write what is staged ([`RsvpOps::flush`]: one multi-row statement for the
//! rows, one for the notices, however many answers a batch holds), pass freed seats on to the
//! wait-list ([`RsvpOps::promote`], the one promotion routine), write the counters back
//! ([`RsvpOps::save_seats`]), and commit. A `CHECK` on the event row (`confirmed + offered ≤
//! capacity`) backs the rules up.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rendezvous_common::db::{BeginWrite as _, Locks};
use rendezvous_common::outbox::{ENQUEUE_CHUNK, OutboxMessage, OutboxWriter as _};
use rendezvous_common::with_db;
use rendezvous_proto::notifications::v1 as npb;
use sqlx::{PgConnection, Row as _, SqliteConnection};
use uuid::Uuid;

use super::chapter_health::HealthOps as _;
use super::{
    EVENT_COLUMN_COUNT, EventOps, Store, StoreError, Stored as _, event_columns, stored_uuid,
    stored_uuids,
};
use crate::domain::event::{EventRow, EventState};
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

/// RSVP rows and notices the transaction has decided on but not yet written; at most one
/// change per member, so that one statement can write them all ([`RsvpOps::flush`]).
#[derive(Default)]
pub(super) struct Staged {
    /// RSVPs that change state (a new attempt or a transition).
    rows: Vec<StagedRow>,
    /// New visibilities of RSVPs that keep their state: event, member, visibility.
    visibilities: Vec<(Uuid, Uuid, RsvpVisibility)>,
    notices: Vec<OutboxMessage>,
    /// Whose RSVPs (event, member) are staged: a second change to one waits for a flush.
    members: HashSet<(Uuid, Uuid)>,
}

struct StagedRow {
    event: Uuid,
    member: Uuid,
    status: RsvpState,
    seq: i64,
    /// None keeps the stored visibility (the default for a new RSVP).
    visibility: Option<RsvpVisibility>,
}

impl Staged {
    /// Whether `member`'s RSVP to `event` already has a change staged.
    fn holds(&self, event: Uuid, member: Uuid) -> bool {
        self.members.contains(&(event, member))
    }
}

/// Stages what `decision` makes of `member`'s RSVP (a `visibility` of None keeps the stored
/// one), moves the seats and stages the member's notice; returns the RSVP's arrival sequence.
/// The caller flushes first when `staged` already holds a change of `member`.
#[allow(clippy::too_many_arguments, reason = "one step of one transaction")]
fn stage(
    staged: &mut Staged,
    ledger: &mut Ledger,
    member: Uuid,
    current: Option<Current>,
    decision: &Decision,
    cause: Cause,
    visibility: Option<RsvpVisibility>,
    now: DateTime<Utc>,
) -> i64 {
    let event_id = ledger.event.id;
    debug_assert!(
        !staged.holds(event_id, member),
        "one change per RSVP between flushes"
    );
    let mut seq = current.map_or(0, |c| c.seq);
    if !decision.changed {
        if current.is_some()
            && let Some(visibility) = visibility
        {
            staged.members.insert((event_id, member));
            staged.visibilities.push((event_id, member, visibility));
        }
        return seq;
    }
    // Every answer that changes the RSVP is a new attempt with a new arrival number (so
    // going, cancelling and going again is told again); a transition keeps the number unless
    // it puts the member at the end of the line.
    if cause == Cause::Answer || decision.status == RsvpState::Waitlisted {
        seq = ledger.next_seq;
        ledger.next_seq += 1;
    }
    staged.members.insert((event_id, member));
    staged.rows.push(StagedRow {
        event: event_id,
        member,
        status: decision.status,
        seq,
        visibility,
    });
    ledger.seats = ledger
        .seats
        .moved(current.map(|c| c.state), decision.status);
    // A new place in line is the last one: every other wait-listed RSVP arrived before it.
    let position = if decision.status == RsvpState::Waitlisted {
        ledger.seats.waitlisted
    } else {
        0
    };
    if let Some(notice) = notice_for(cause, decision.status, &ledger.event, position) {
        let status = decision.status.stored();
        let key = match cause {
            Cause::Answer => format!("rsvp:{event_id}:{member}:{status}:{seq}"),
            Cause::Transition(_) => {
                format!(
                    "rsvp:{event_id}:{member}:{status}:{}",
                    now.timestamp_micros()
                )
            }
        };
        staged.notices.push(notices::message(member, key, notice));
    }
    seq
}

/// Who [`RsvpOps::promote`] moved up, and until when an offer holds (None when promoted
/// straight to confirmed).
pub(super) struct Promoted {
    pub(super) members: Vec<Uuid>,
    pub(super) offer_expires_at: Option<DateTime<Utc>>,
}

/// The steps of the RSVP transaction, for both backends' connections.
pub(super) trait RsvpOps: EventOps {
    /// Locks the event row and reads it; None when there is no such event.
    fn lock_ledger(
        &mut self,
        event_id: Uuid,
    ) -> impl Future<Output = Result<Option<Ledger>, sqlx::Error>> + Send;

    /// Locks the rows of `events` (in id order, so that two batches never wait on each other
    /// in a cycle) and reads them, in one statement; the events that exist.
    fn lock_ledgers(
        &mut self,
        events: &[Uuid],
    ) -> impl Future<Output = Result<HashMap<Uuid, Ledger>, sqlx::Error>> + Send;

    /// The RSVPs of each `(event, members)`, in one read.
    fn currents(
        &mut self,
        wanted: &[(Uuid, Vec<Uuid>)],
    ) -> impl Future<Output = Result<HashMap<(Uuid, Uuid), Current>, sqlx::Error>> + Send;

    /// Writes what is staged: the RSVP rows in multi-row upserts, the notices in multi-row
    /// inserts. Leaves `staged` empty.
    fn flush(
        &mut self,
        staged: &mut Staged,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Moves the first `count` wait-listed members up to `to`, telling each. Reads the
    /// wait-list from the database: flush first.
    fn promote(
        &mut self,
        ledger: &mut Ledger,
        count: u32,
        to: RsvpState,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Promoted, sqlx::Error>> + Send;

    /// Tells the event's host and full co-hosts (those who may answer) that `request` awaits
    /// their approval; keyed per attempt (`seq`), so only a new request is told again.
    fn ask_approvers(
        &mut self,
        event: &EventRow,
        request: &AdmitRequest,
        seq: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Writes the ledgers' counters back to their event rows, in one statement.
    fn save_seats(
        &mut self,
        ledgers: &[&Ledger],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The 1-based wait-list place of the RSVP with arrival sequence `seq`.
    fn position(
        &mut self,
        event_id: Uuid,
        seq: i64,
    ) -> impl Future<Output = Result<u32, sqlx::Error>> + Send;
}

macro_rules! impl_rsvp_ops {
    ($conn:ty) => {
        impl RsvpOps for $conn {
            async fn lock_ledger(&mut self, event_id: Uuid) -> Result<Option<Ledger>, sqlx::Error> {
                Ok(self.lock_ledgers(&[event_id]).await?.remove(&event_id))
            }

            async fn lock_ledgers(
                &mut self,
                events: &[Uuid],
            ) -> Result<HashMap<Uuid, Ledger>, sqlx::Error> {
                let mut ids: Vec<String> = events.iter().map(Uuid::to_string).collect();
                ids.sort_unstable();
                ids.dedup();
                let mut query = sqlx::QueryBuilder::new(format!(
                    "SELECT {}, e.next_seq FROM events e WHERE e.id IN (",
                    event_columns(<$conn as Locks>::BACKEND)
                ));
                let mut list = query.separated(", ");
                for id in &ids {
                    list.push_bind(id.as_str());
                }
                query.push(") ORDER BY e.id");
                query.push(<$conn as Locks>::BACKEND.for_update());
                let rows = query.build().fetch_all(&mut *self).await?;
                let mut ledgers = HashMap::with_capacity(rows.len());
                for row in rows {
                    let next_seq: i64 = row.try_get(EVENT_COLUMN_COUNT)?;
                    let event = event_from_row!(&row);
                    ledgers.insert(event.id, Ledger::new(event, next_seq));
                }
                Ok(ledgers)
            }

            async fn currents(
                &mut self,
                wanted: &[(Uuid, Vec<Uuid>)],
            ) -> Result<HashMap<(Uuid, Uuid), Current>, sqlx::Error> {
                let mut currents = HashMap::new();
                if wanted.iter().all(|(_, members)| members.is_empty()) {
                    return Ok(currents);
                }
                // One `event_id = … AND member_id IN (…)` term per event: each an index search.
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT event_id, member_id, status, seq, offer_expires_at FROM rsvps WHERE ",
                );
                let mut first = true;
                for (event, members) in wanted.iter().filter(|(_, m)| !m.is_empty()) {
                    query.push(if first { "(event_id = " } else { " OR (event_id = " });
                    first = false;
                    query.push_bind(event.to_string()).push(" AND member_id IN (");
                    let mut ids = query.separated(", ");
                    for member in members {
                        ids.push_bind(member.to_string());
                    }
                    query.push("))");
                }
                let rows: Vec<(String, String, String, i64, Option<DateTime<Utc>>)> =
                    query.build_query_as().fetch_all(&mut *self).await?;
                for (event, member, state, seq, offer_expires_at) in rows {
                    let current = Current {
                        state: RsvpState::from_stored(&state),
                        seq,
                        offer_expires_at,
                    };
                    currents.insert((stored_uuid(&event)?, stored_uuid(&member)?), current);
                }
                Ok(currents)
            }

            async fn flush(
                &mut self,
                staged: &mut Staged,
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                let rows = std::mem::take(&mut staged.rows);
                // An RSVP going, in whatever state it lands, makes its member active in the
                // event's chapter.
                let going: Vec<(String, String)> = rows
                    .iter()
                    .filter(|r| r.status.is_active())
                    .map(|r| (r.event.to_string(), r.member.to_string()))
                    .collect();
                self.note_activity(&going, now).await?;
                // Rows that name a visibility take it; the others keep the stored one.
                let (named, kept): (Vec<StagedRow>, Vec<StagedRow>) =
                    rows.into_iter().partition(|r| r.visibility.is_some());
                for (rows, visibility) in [(named, "excluded.visibility"), (kept, "rsvps.visibility")] {
                    for chunk in rows.chunks(ENQUEUE_CHUNK) {
                        let mut query = sqlx::QueryBuilder::new(
                            "INSERT INTO rsvps (event_id, member_id, status, seq, visibility, \
                             offer_expires_at, created_at, updated_at, confirmed_at) ",
                        );
                        query.push_values(chunk, |mut values, row| {
                            let visibility = row.visibility.unwrap_or(RsvpVisibility::Attendees);
                            values
                                .push_bind(row.event.to_string())
                                .push_bind(row.member.to_string())
                                .push_bind(row.status.stored())
                                .push_bind(row.seq)
                                .push_bind(visibility.stored())
                                .push("NULL")
                                .push_bind(now)
                                .push_bind(now)
                                // When it became confirmed: the reminders still ahead are this RSVP's.
                                .push_bind((row.status == RsvpState::Confirmed).then_some(now));
                        });
                        query.push(format!(
                            " ON CONFLICT (event_id, member_id) DO UPDATE SET status = excluded.status, \
                             seq = excluded.seq, visibility = {visibility}, offer_expires_at = NULL, \
                             updated_at = excluded.updated_at, confirmed_at = CASE WHEN \
                             rsvps.status = 'confirmed' AND excluded.status = 'confirmed' \
                             THEN rsvps.confirmed_at ELSE excluded.confirmed_at END"
                        ));
                        query.build().execute(&mut *self).await?;
                    }
                }
                for (event, member, visibility) in std::mem::take(&mut staged.visibilities) {
                    sqlx::query(
                        "UPDATE rsvps SET visibility = $3 WHERE event_id = $1 AND member_id = $2",
                    )
                    .bind(event.to_string())
                    .bind(member.to_string())
                    .bind(visibility.stored())
                    .execute(&mut *self)
                    .await?;
                }
                let notices = std::mem::take(&mut staged.notices);
                if !notices.is_empty() {
                    self.enqueue_all(&notices, now).await?;
                }
                staged.members.clear();
                Ok(())
            }

            async fn promote(
                &mut self,
                ledger: &mut Ledger,
                count: u32,
                to: RsvpState,
                now: DateTime<Utc>,
            ) -> Result<Promoted, sqlx::Error> {
                let expires = ledger.rules.offer_expires_at(now).filter(|_| to == RsvpState::Offered);
                if count == 0 {
                    return Ok(Promoted {
                        members: Vec::new(),
                        offer_expires_at: expires,
                    });
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
                let promoted = stored_uuids(&promoted)?;
                for &member in &promoted {
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
                Ok(Promoted {
                    members: promoted,
                    offer_expires_at: expires,
                })
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

            async fn save_seats(
                &mut self,
                ledgers: &[&Ledger],
                now: DateTime<Utc>,
            ) -> Result<(), sqlx::Error> {
                if ledgers.is_empty() {
                    return Ok(());
                }
                // VALUES names its columns column1.. on both backends.
                let mut query = sqlx::QueryBuilder::new(
                    "UPDATE events SET confirmed_count = seats.column2, offered_count = seats.column3, \
                     waitlisted_count = seats.column4, next_seq = seats.column5, updated_at = ",
                );
                query.push_bind(now).push(" FROM (");
                query.push_values(ledgers, |mut row, ledger| {
                    row.push_bind(ledger.event.id.to_string())
                        .push_bind(i64::from(ledger.seats.confirmed))
                        .push_bind(i64::from(ledger.seats.offered))
                        .push_bind(i64::from(ledger.seats.waitlisted))
                        .push_bind(ledger.next_seq);
                });
                query.push(") AS seats WHERE events.id = seats.column1");
                query.build().execute(&mut *self).await?;
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
        }
    };
}

impl_rsvp_ops!(SqliteConnection);
impl_rsvp_ops!(PgConnection);

impl Store {
    /// Admits a batch of answers to one event in one transaction, in the order given.
    pub async fn admit(
        &self,
        event_id: Uuid,
        requests: &[AdmitRequest],
        now: DateTime<Utc>,
    ) -> Result<Vec<RsvpOutcome>, StoreError<RsvpRefusal>> {
        let answers: Vec<(Uuid, AdmitRequest)> =
            requests.iter().map(|r| (event_id, r.clone())).collect();
        let outcomes = self.admit_all(&answers, now).await?;
        outcomes
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::Refused)
    }

    /// Admits answers to any number of events in one transaction, each event's in the order
    /// given: the event rows are locked in id order and read in one statement, the members'
    /// RSVPs in another, and what the answers become is written in one multi-row statement
    /// each for the RSVPs, the notices and the seat counters. An event that refuses (none
    /// such, not open, past its deadline) refuses each of its answers and the others go on;
    /// a database error fails them all. The outcomes are in the order of `answers`.
    pub async fn admit_all(
        &self,
        answers: &[(Uuid, AdmitRequest)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<RsvpOutcome, RsvpRefusal>>, sqlx::Error> {
        let mut events: Vec<Uuid> = answers.iter().map(|(event, _)| *event).collect();
        events.sort_unstable();
        events.dedup();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            let mut ledgers = tx.lock_ledgers(&events).await?;
            let mut refusals: HashMap<Uuid, RsvpRefusal> = HashMap::new();
            for event in &events {
                let refusal = match ledgers.get(event) {
                    None => Some(RsvpRefusal::NoEvent),
                    Some(l)
                        if l.event.state != EventState::Published || l.event.start_at <= now =>
                    {
                        Some(RsvpRefusal::NotOpen)
                    }
                    Some(l)
                        if l.event
                            .rsvp_deadline
                            .is_some_and(|deadline| deadline <= now) =>
                    {
                        Some(RsvpRefusal::DeadlinePassed)
                    }
                    Some(_) => None,
                };
                if let Some(refusal) = refusal {
                    ledgers.remove(event);
                    refusals.insert(*event, refusal);
                }
            }
            // Each member's RSVP as it stands, read once and kept up to date as the batch
            // (and the promotions it causes) changes it.
            let wanted: Vec<(Uuid, Vec<Uuid>)> = ledgers
                .keys()
                .map(|event| {
                    let members = answers
                        .iter()
                        .filter(|(e, _)| e == event)
                        .map(|(_, r)| r.member_id)
                        .collect();
                    (*event, members)
                })
                .collect();
            let mut currents = tx.currents(&wanted).await?;
            let first_new_seq: HashMap<Uuid, i64> =
                ledgers.iter().map(|(id, l)| (*id, l.next_seq)).collect();
            let mut staged = Staged::default();
            let mut outcomes: Vec<Option<RsvpOutcome>> = Vec::with_capacity(answers.len());
            for (event_id, request) in answers {
                let Some(ledger) = ledgers.get_mut(event_id) else {
                    outcomes.push(None);
                    continue;
                };
                let member = request.member_id;
                let current = currents.get(&(*event_id, member)).copied();
                let decision = rsvp::answer(
                    &ledger.rules,
                    &ledger.seats,
                    current.map(|c| c.state),
                    request.intent,
                );
                if staged.holds(*event_id, member) {
                    tx.flush(&mut staged, now).await?;
                }
                let seq = stage(
                    &mut staged,
                    ledger,
                    member,
                    current,
                    &decision,
                    Cause::Answer,
                    Some(request.visibility),
                    now,
                );
                if decision.changed {
                    let current = Current {
                        state: decision.status,
                        seq,
                        offer_expires_at: None,
                    };
                    currents.insert((*event_id, member), current);
                }
                if decision.changed && decision.status == RsvpState::PendingApproval {
                    tx.ask_approvers(&ledger.event, request, seq, now).await?;
                }
                if decision.promote > 0 {
                    // The wait-list is read from the database: what is staged goes first.
                    tx.flush(&mut staged, now).await?;
                    let promoted = tx
                        .promote(ledger, decision.promote, decision.promote_to, now)
                        .await?;
                    for promoted_member in promoted.members {
                        if let Some(current) = currents.get_mut(&(*event_id, promoted_member)) {
                            current.state = decision.promote_to;
                            current.offer_expires_at = promoted.offer_expires_at;
                        }
                    }
                }
                outcomes.push(Some(RsvpOutcome {
                    member_id: member,
                    state: decision.status,
                    waitlist_position: None,
                    offer_expires_at: current
                        .filter(|_| decision.status == RsvpState::Offered)
                        .and_then(|c| c.offer_expires_at),
                }));
            }
            tx.flush(&mut staged, now).await?;
            let changed: Vec<&Ledger> = ledgers.values().collect();
            tx.save_seats(&changed, now).await?;
            // What each answer became once the whole batch is in (a later answer may have
            // moved an earlier one up), and the wait-list places. The places the batch gave
            // out are the last of their event's line, so each is counted back from its end;
            // a place kept from before the batch is counted in the database.
            let mut new_places: HashMap<Uuid, Vec<i64>> = HashMap::new();
            for ((event, _), current) in &currents {
                let new = first_new_seq
                    .get(event)
                    .is_some_and(|first| current.seq >= *first);
                if new && current.state == RsvpState::Waitlisted {
                    new_places.entry(*event).or_default().push(current.seq);
                }
            }
            for places in new_places.values_mut() {
                places.sort_unstable();
            }
            for ((event_id, _), outcome) in answers.iter().zip(&mut outcomes) {
                let Some(outcome) = outcome else {
                    continue;
                };
                let current = *currents
                    .get(&(*event_id, outcome.member_id))
                    .ok_or(sqlx::Error::RowNotFound)?;
                outcome.state = current.state;
                if current.state != RsvpState::Waitlisted {
                    continue;
                }
                let first = first_new_seq.get(event_id).copied().unwrap_or(i64::MAX);
                outcome.waitlist_position = Some(if current.seq >= first {
                    let places = new_places.get(event_id).map_or(&[][..], Vec::as_slice);
                    let behind = places
                        .binary_search(&current.seq)
                        .map(|at| places.len() - at - 1)
                        .map_err(|_| sqlx::Error::RowNotFound)?;
                    let line = ledgers.get(event_id).map_or(0, |l| l.seats.waitlisted);
                    line.saturating_sub(u32::try_from(behind).unwrap_or(u32::MAX))
                } else {
                    tx.position(*event_id, current.seq).await?
                });
            }
            tx.commit().await?;
            let outcomes = answers.iter().zip(outcomes).map(|((event, _), outcome)| {
                outcome.ok_or_else(|| refusals.get(event).cloned().unwrap_or(RsvpRefusal::NoEvent))
            });
            Ok::<_, sqlx::Error>(outcomes.collect())
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
            let current = tx
                .currents(&[(event_id, vec![member])])
                .await?
                .remove(&(event_id, member));
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
            let mut staged = Staged::default();
            stage(
                &mut staged,
                &mut ledger,
                member,
                current,
                &decision,
                Cause::Transition(op),
                None,
                now,
            );
            tx.flush(&mut staged, now).await?;
            tx.promote(&mut ledger, decision.promote, decision.promote_to, now)
                .await?;
            tx.save_seats(&[&ledger], now).await?;
            // Put back in line, the member is its last (a promotion only shortens the front).
            let position =
                (decision.status == RsvpState::Waitlisted).then_some(ledger.seats.waitlisted);
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
}
