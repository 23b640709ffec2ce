//! RSVP and wait-list rules as pure functions: given an event's [`Rules`], its stored [`Seats`]
//! and one member's current [`RsvpState`], they say what that member's RSVP becomes and how many
//! wait-listed members move up. They never see the database; the store does the locking and the
//! writing.
//!
//! The model:
//! - a seat is *held* by a confirmed RSVP or by an open offer, so `confirmed + offered` never
//!   exceeds the capacity;
//! - a member who says going gets a seat only when one is free *and* nobody is wait-listed
//!   (arrival order is sacred); otherwise they join the end of the wait-list. With
//!   `approval_required` they wait for a host instead (no seat held, not on the wait-list) and
//!   are placed the same way when approved;
//! - a freed seat goes to the first wait-listed member: confirmed at once in
//!   [`WaitlistMode::Automatic`], or offered in [`WaitlistMode::Offer`], the offer holding the
//!   seat until it is claimed or expires;
//! - a host's decline is final: the member's own answers no longer change it.
//!
//! # How the store applies a [`Decision`]
//!
//! In one transaction, with the event row locked (`SELECT ... FOR UPDATE`, or `BEGIN IMMEDIATE`
//! on SQLite):
//! 1. load the event's [`Rules`], count its RSVPs into [`Seats`] and read the caller's current
//!    status (`None` if they have no RSVP row);
//! 2. call the rule; on `Err`, roll back and report the [`RuleError`] (failed precondition);
//! 3. if `changed`, write `status` to the caller's row (insert it if there was none). Whenever a
//!    row *becomes* [`RsvpState::Waitlisted`], give it the next value of a monotonically increasing
//!    arrival sequence (a member who leaves and comes back goes to the end of the line);
//! 4. take the first `promote` wait-listed rows in arrival-sequence order and set them to
//!    `promote_to`; when that is [`RsvpState::Offered`], set their offer expiry to
//!    [`Rules::offer_expires_at`]`(now)`. Apply `promote` even when `changed` is false;
//! 5. clear the offer expiry of every row that stopped being offered, commit, then notify the
//!    caller and every promoted member.
//!
//! A wait-listed member's position is 1 + the number of wait-listed rows of the event with a
//! smaller arrival sequence. Offers are expired by a sweeper calling [`expire_offer`] for each
//! offered row whose expiry has passed; a claim that fails with [`RuleError::OfferExpired`] should
//! run [`expire_offer`] in the same transaction so the seat passes on without waiting for it.
//! A capacity change calls [`change_capacity`] and applies its count like `promote` above.
//!
//! Every transition returns a `promote` computed on the seat state after the caller's change, so
//! after the store applies a decision no member is wait-listed while a seat is free.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

/// Where an RSVP stands (`RsvpStatus` in the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RsvpState {
    /// Has a seat.
    Confirmed,
    /// Waiting for a seat, in arrival order.
    Waitlisted,
    /// Offered a freed seat, which it holds until claimed or expired.
    Offered,
    /// Waiting for a host's approval; holds no seat.
    PendingApproval,
    /// Declined by a host; final.
    Declined,
    /// Cancelled by the member (or an offer left to expire).
    Cancelled,
    /// The member answered not going.
    NotGoing,
}

impl RsvpState {
    /// Whether the RSVP holds one of the event's seats: confirmed, or an open offer.
    pub fn holds_seat(self) -> bool {
        matches!(self, Self::Confirmed | Self::Offered)
    }

    /// Whether the member still means to come: confirmed, wait-listed, offered or pending.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::Confirmed | Self::Waitlisted | Self::Offered | Self::PendingApproval
        )
    }
}

/// Who may see that a member RSVP'd (`RsvpVisibility` in the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsvpVisibility {
    Public,
    /// The member's connections.
    Connections,
    /// The event's confirmed attendees.
    Attendees,
    /// Only the hosts.
    Nobody,
}

/// How a freed seat goes to the wait-list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitlistMode {
    /// The first wait-listed member is confirmed at once.
    Automatic,
    /// The first wait-listed member is offered the seat and must claim it within `window`.
    Offer { window: Duration },
}

impl WaitlistMode {
    /// The status a promoted wait-listed member gets.
    pub fn promote_to(self) -> RsvpState {
        match self {
            Self::Automatic => RsvpState::Confirmed,
            Self::Offer { .. } => RsvpState::Offered,
        }
    }
}

/// The RSVP settings of one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Maximum number of seats held (confirmed + offered).
    pub capacity: u32,
    /// Whether a host must approve each going RSVP.
    pub approval_required: bool,
    /// How freed seats go to the wait-list.
    pub mode: WaitlistMode,
}

impl Rules {
    /// When an offer made at `now` expires; `None` in automatic mode. Saturates instead of
    /// overflowing.
    pub fn offer_expires_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.mode {
            WaitlistMode::Automatic => None,
            WaitlistMode::Offer { window } => Some(
                now.checked_add_signed(window)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            ),
        }
    }
}

/// Seat state of one event as stored: seats held = confirmed + offered (an open offer holds its
/// seat). Pending approvals hold nothing and are not counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seats {
    pub confirmed: u32,
    pub offered: u32,
    pub waitlisted: u32,
}

impl Seats {
    /// Seats held: confirmed plus open offers.
    pub fn held(&self) -> u32 {
        self.confirmed.saturating_add(self.offered)
    }

    /// Seats neither confirmed nor offered.
    pub fn free(&self, capacity: u32) -> u32 {
        capacity.saturating_sub(self.held())
    }

    /// The counts after one RSVP moves from `from` (`None`: a new RSVP) to `to`; for a store
    /// that keeps the counts on the event row and updates them as it applies a decision.
    pub fn moved(mut self, from: Option<RsvpState>, to: RsvpState) -> Self {
        if let Some(from) = from
            && let Some(count) = self.count_mut(from)
        {
            *count = count.saturating_sub(1);
        }
        if let Some(count) = self.count_mut(to) {
            *count = count.saturating_add(1);
        }
        self
    }

    fn count_mut(&mut self, status: RsvpState) -> Option<&mut u32> {
        match status {
            RsvpState::Confirmed => Some(&mut self.confirmed),
            RsvpState::Offered => Some(&mut self.offered),
            RsvpState::Waitlisted => Some(&mut self.waitlisted),
            _ => None,
        }
    }
}

/// What the member answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    Going,
    NotGoing,
}

/// What to do with the caller's RSVP, and which wait-listed members to promote or offer next
/// (the first `promote` of them in arrival order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Decision {
    /// The caller's RSVP status after the operation.
    pub status: RsvpState,
    /// Whether `status` differs from the caller's current status (or the RSVP is new).
    pub changed: bool,
    /// How many of the first wait-listed members move up; never more than the wait-list length
    /// or the seats free after the caller's change, and never the caller.
    pub promote: u32,
    /// What they move up to: [`RsvpState::Confirmed`] (automatic) or [`RsvpState::Offered`].
    pub promote_to: RsvpState,
}

/// Why an operation does not apply to an RSVP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    /// Only an RSVP pending approval can be approved.
    NotPending,
    /// The RSVP is not offered a seat.
    NotOffered,
    /// The offer expired before it was claimed.
    OfferExpired,
    /// The offer has not expired yet.
    OfferNotExpired,
    /// There is no active RSVP to cancel or decline.
    NotActive,
    /// The capacity cannot go below the confirmed attendees.
    CapacityBelowConfirmed { confirmed: u32 },
    /// The capacity cannot go below the seats held by confirmed attendees and open offers; it
    /// can once the offers are claimed or expire.
    CapacityBelowHeld { confirmed: u32, offered: u32 },
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPending => f.write_str("the RSVP is not pending approval"),
            Self::NotOffered => f.write_str("the RSVP is not offered a seat"),
            Self::OfferExpired => f.write_str("the offered seat has expired"),
            Self::OfferNotExpired => f.write_str("the offered seat has not expired yet"),
            Self::NotActive => f.write_str("there is no active RSVP"),
            Self::CapacityBelowConfirmed { confirmed } => write!(
                f,
                "capacity cannot be lower than the {confirmed} confirmed attendees"
            ),
            Self::CapacityBelowHeld { confirmed, offered } => write!(
                f,
                "capacity cannot be lower than the {confirmed} confirmed attendees plus the \
                 {offered} open offers"
            ),
        }
    }
}

impl std::error::Error for RuleError {}

/// How many wait-listed members can move up now: the free seats, limited by the wait-list.
pub fn fill(rules: &Rules, seats: &Seats) -> u32 {
    seats.free(rules.capacity).min(seats.waitlisted)
}

/// Answers going or not going. Idempotent: going again keeps a confirmed, wait-listed, offered or
/// pending RSVP as it is; going after cancelling or answering not going is a new arrival (end of
/// the wait-list). A declined RSVP stays declined whatever the member answers. Not going frees a
/// held seat, which passes to the wait-list.
pub fn answer(
    rules: &Rules,
    seats: &Seats,
    current: Option<RsvpState>,
    intent: Intent,
) -> Decision {
    use RsvpState::*;
    let next = match (current, intent) {
        (Some(Declined), _) => Declined,
        (Some(s @ (Confirmed | Waitlisted | Offered | PendingApproval)), Intent::Going) => s,
        (None | Some(Cancelled | NotGoing), Intent::Going) if rules.approval_required => {
            PendingApproval
        }
        (None | Some(Cancelled | NotGoing), Intent::Going) => place(rules, seats),
        (_, Intent::NotGoing) => NotGoing,
    };
    decide(rules, seats, current, next)
}

/// A host approves a pending RSVP: confirmed if a seat is free and nobody waits, else wait-listed
/// (at the end of the line).
pub fn approve(
    rules: &Rules,
    seats: &Seats,
    current: Option<RsvpState>,
) -> Result<Decision, RuleError> {
    match current {
        Some(RsvpState::PendingApproval) => Ok(decide(rules, seats, current, place(rules, seats))),
        _ => Err(RuleError::NotPending),
    }
}

/// A host declines an RSVP (pending, wait-listed, offered or confirmed); a held seat passes to
/// the wait-list. Declining again changes nothing.
pub fn decline(
    rules: &Rules,
    seats: &Seats,
    current: Option<RsvpState>,
) -> Result<Decision, RuleError> {
    match current {
        Some(s) if s.is_active() || s == RsvpState::Declined => {
            Ok(decide(rules, seats, current, RsvpState::Declined))
        }
        _ => Err(RuleError::NotActive),
    }
}

/// The member cancels an active RSVP; a held seat passes to the wait-list. Cancelling again
/// changes nothing.
pub fn cancel(
    rules: &Rules,
    seats: &Seats,
    current: Option<RsvpState>,
) -> Result<Decision, RuleError> {
    match current {
        Some(s) if s.is_active() || s == RsvpState::Cancelled => {
            Ok(decide(rules, seats, current, RsvpState::Cancelled))
        }
        _ => Err(RuleError::NotActive),
    }
}

/// The member claims the seat offered to them, strictly before `offer_expires_at`. Claiming again
/// once confirmed changes nothing.
pub fn claim_offer(
    rules: &Rules,
    seats: &Seats,
    current: Option<RsvpState>,
    offer_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Decision, RuleError> {
    match current {
        Some(RsvpState::Offered) if now < offer_expires_at => {
            Ok(decide(rules, seats, current, RsvpState::Confirmed))
        }
        Some(RsvpState::Offered) => Err(RuleError::OfferExpired),
        Some(RsvpState::Confirmed) => Ok(decide(rules, seats, current, RsvpState::Confirmed)),
        _ => Err(RuleError::NotOffered),
    }
}

/// An offer whose expiry has passed (`now >= offer_expires_at`) is cancelled and its seat passes
/// to the next in line. At any `now`, exactly one of [`claim_offer`] and `expire_offer` succeeds
/// for an offered RSVP.
pub fn expire_offer(
    rules: &Rules,
    seats: &Seats,
    current: Option<RsvpState>,
    offer_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Decision, RuleError> {
    match current {
        Some(RsvpState::Offered) if now >= offer_expires_at => {
            Ok(decide(rules, seats, current, RsvpState::Cancelled))
        }
        Some(RsvpState::Offered) => Err(RuleError::OfferNotExpired),
        _ => Err(RuleError::NotOffered),
    }
}

/// A host changes the capacity: returns how many wait-listed members move up (to
/// `rules.mode.promote_to()`) under the new capacity. The capacity cannot drop below the seats
/// already held.
pub fn change_capacity(rules: &Rules, seats: &Seats, new_capacity: u32) -> Result<u32, RuleError> {
    if new_capacity < seats.confirmed {
        return Err(RuleError::CapacityBelowConfirmed {
            confirmed: seats.confirmed,
        });
    }
    if new_capacity < seats.held() {
        return Err(RuleError::CapacityBelowHeld {
            confirmed: seats.confirmed,
            offered: seats.offered,
        });
    }
    let rules = Rules {
        capacity: new_capacity,
        ..*rules
    };
    Ok(fill(&rules, seats))
}

/// Only confirmed attendees may check in.
pub fn can_check_in(status: RsvpState) -> bool {
    status == RsvpState::Confirmed
}

/// Where a new arrival (or a newly approved RSVP) goes: the wait-listed members already there
/// move up first, and the newcomer gets a seat only if one is left for them and nobody is still
/// waiting.
fn place(rules: &Rules, seats: &Seats) -> RsvpState {
    let ahead = fill(rules, seats);
    if seats.free(rules.capacity) > ahead && seats.waitlisted == ahead {
        RsvpState::Confirmed
    } else {
        RsvpState::Waitlisted
    }
}

/// The decision moving the caller from `current` to `next`, promoting into the seats that are
/// free afterwards.
fn decide(rules: &Rules, seats: &Seats, current: Option<RsvpState>, next: RsvpState) -> Decision {
    let after = seats.moved(current, next);
    Decision {
        status: next,
        changed: current != Some(next),
        promote: fill(rules, &after),
        promote_to: rules.mode.promote_to(),
    }
}

/// A single RSVP change, applied under the event lock like an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Cancel,
    Claim,
    Approve,
    Decline,
    Expire,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    use RsvpState::*;

    const AUTO: Rules = Rules {
        capacity: 2,
        approval_required: false,
        mode: WaitlistMode::Automatic,
    };

    fn offer_rules() -> Rules {
        Rules {
            mode: WaitlistMode::Offer {
                window: Duration::hours(2),
            },
            ..AUTO
        }
    }

    fn with_approval(rules: Rules) -> Rules {
        Rules {
            approval_required: true,
            ..rules
        }
    }

    fn seats(confirmed: u32, offered: u32, waitlisted: u32) -> Seats {
        Seats {
            confirmed,
            offered,
            waitlisted,
        }
    }

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    fn decision(status: RsvpState, changed: bool, promote: u32, promote_to: RsvpState) -> Decision {
        Decision {
            status,
            changed,
            promote,
            promote_to,
        }
    }

    // --- rsvp --------------------------------------------------------------------------------

    #[test]
    fn going_with_a_free_seat_and_nobody_waiting_is_confirmed() {
        let d = answer(&AUTO, &seats(1, 0, 0), None, Intent::Going);
        assert_eq!(d, decision(Confirmed, true, 0, Confirmed));
    }

    #[test]
    fn going_when_full_is_waitlisted() {
        let d = answer(&AUTO, &seats(2, 0, 0), None, Intent::Going);
        assert_eq!(d, decision(Waitlisted, true, 0, Confirmed));
    }

    #[test]
    fn going_when_seats_are_held_by_offers_is_waitlisted() {
        let d = answer(&offer_rules(), &seats(1, 1, 0), None, Intent::Going);
        assert_eq!(d, decision(Waitlisted, true, 0, Offered));
    }

    #[test]
    fn going_never_jumps_the_wait_list() {
        // A free seat with people waiting (a state the rules never leave behind) goes to the
        // first in line; the newcomer joins the end.
        let d = answer(&AUTO, &seats(1, 0, 3), None, Intent::Going);
        assert_eq!(d, decision(Waitlisted, true, 1, Confirmed));
        // Enough seats for everyone waiting and the newcomer.
        let big = Rules {
            capacity: 10,
            ..AUTO
        };
        let d = answer(&big, &seats(1, 0, 3), None, Intent::Going);
        assert_eq!(d, decision(Confirmed, true, 3, Confirmed));
    }

    #[test]
    fn going_with_approval_required_is_pending_and_holds_no_seat() {
        let d = answer(&with_approval(AUTO), &seats(0, 0, 0), None, Intent::Going);
        assert_eq!(d, decision(PendingApproval, true, 0, Confirmed));
    }

    #[test]
    fn going_again_changes_nothing() {
        for current in [Confirmed, Waitlisted, Offered, PendingApproval] {
            for rules in [AUTO, offer_rules(), with_approval(offer_rules())] {
                let d = answer(&rules, &seats(2, 0, 1), Some(current), Intent::Going);
                assert_eq!(d.status, current);
                assert!(!d.changed);
                assert_eq!(d.promote, 0);
            }
        }
    }

    #[test]
    fn going_after_cancelling_or_not_going_is_a_new_arrival() {
        for current in [Cancelled, NotGoing] {
            let d = answer(&AUTO, &seats(2, 0, 0), Some(current), Intent::Going);
            assert_eq!(d, decision(Waitlisted, true, 0, Confirmed));
            let d = answer(&AUTO, &seats(1, 0, 0), Some(current), Intent::Going);
            assert_eq!(d, decision(Confirmed, true, 0, Confirmed));
        }
    }

    #[test]
    fn declined_stays_declined_whatever_the_member_answers() {
        for intent in [Intent::Going, Intent::NotGoing] {
            let d = answer(&AUTO, &seats(0, 0, 0), Some(Declined), intent);
            assert_eq!(d, decision(Declined, false, 0, Confirmed));
        }
    }

    #[test]
    fn not_going_from_confirmed_frees_the_seat_for_the_first_waitlisted() {
        let d = answer(&AUTO, &seats(2, 0, 3), Some(Confirmed), Intent::NotGoing);
        assert_eq!(d, decision(NotGoing, true, 1, Confirmed));
    }

    #[test]
    fn not_going_in_offer_mode_offers_the_freed_seat() {
        let d = answer(
            &offer_rules(),
            &seats(2, 0, 3),
            Some(Confirmed),
            Intent::NotGoing,
        );
        assert_eq!(d, decision(NotGoing, true, 1, Offered));
        let d = answer(
            &offer_rules(),
            &seats(1, 1, 3),
            Some(Offered),
            Intent::NotGoing,
        );
        assert_eq!(d, decision(NotGoing, true, 1, Offered));
    }

    #[test]
    fn not_going_from_the_wait_list_or_pending_frees_nothing() {
        let d = answer(&AUTO, &seats(2, 0, 3), Some(Waitlisted), Intent::NotGoing);
        assert_eq!(d, decision(NotGoing, true, 0, Confirmed));
        let d = answer(
            &AUTO,
            &seats(2, 0, 3),
            Some(PendingApproval),
            Intent::NotGoing,
        );
        assert_eq!(d, decision(NotGoing, true, 0, Confirmed));
    }

    #[test]
    fn first_not_going_creates_the_rsvp_and_repeating_it_changes_nothing() {
        let d = answer(&AUTO, &seats(0, 0, 0), None, Intent::NotGoing);
        assert_eq!(d, decision(NotGoing, true, 0, Confirmed));
        let d = answer(&AUTO, &seats(0, 0, 0), Some(NotGoing), Intent::NotGoing);
        assert_eq!(d, decision(NotGoing, false, 0, Confirmed));
    }

    // --- approve / decline / cancel ----------------------------------------------------------

    #[test]
    fn approving_with_a_free_seat_and_nobody_waiting_confirms() {
        let d = approve(&with_approval(AUTO), &seats(1, 0, 0), Some(PendingApproval));
        assert_eq!(d, Ok(decision(Confirmed, true, 0, Confirmed)));
    }

    #[test]
    fn approving_when_full_or_someone_waits_waitlists() {
        let rules = with_approval(AUTO);
        let d = approve(&rules, &seats(2, 0, 0), Some(PendingApproval));
        assert_eq!(d, Ok(decision(Waitlisted, true, 0, Confirmed)));
        let d = approve(&rules, &seats(1, 1, 0), Some(PendingApproval));
        assert_eq!(d, Ok(decision(Waitlisted, true, 0, Confirmed)));
    }

    #[test]
    fn approving_anything_but_a_pending_rsvp_fails() {
        for current in [
            None,
            Some(Confirmed),
            Some(Waitlisted),
            Some(Offered),
            Some(Declined),
            Some(Cancelled),
            Some(NotGoing),
        ] {
            assert_eq!(
                approve(&AUTO, &seats(0, 0, 0), current),
                Err(RuleError::NotPending)
            );
        }
    }

    #[test]
    fn declining_a_confirmed_rsvp_frees_its_seat() {
        let d = decline(&AUTO, &seats(2, 0, 1), Some(Confirmed));
        assert_eq!(d, Ok(decision(Declined, true, 1, Confirmed)));
    }

    #[test]
    fn declining_an_offer_passes_the_seat_on() {
        let d = decline(&offer_rules(), &seats(1, 1, 1), Some(Offered));
        assert_eq!(d, Ok(decision(Declined, true, 1, Offered)));
    }

    #[test]
    fn declining_pending_or_waitlisted_frees_nothing() {
        for current in [PendingApproval, Waitlisted] {
            let d = decline(&AUTO, &seats(2, 0, 1), Some(current));
            assert_eq!(d, Ok(decision(Declined, true, 0, Confirmed)));
        }
    }

    #[test]
    fn declining_again_changes_nothing() {
        let d = decline(&AUTO, &seats(0, 0, 0), Some(Declined));
        assert_eq!(d, Ok(decision(Declined, false, 0, Confirmed)));
    }

    #[test]
    fn declining_without_an_active_rsvp_fails() {
        for current in [None, Some(Cancelled), Some(NotGoing)] {
            assert_eq!(
                decline(&AUTO, &seats(0, 0, 0), current),
                Err(RuleError::NotActive)
            );
        }
    }

    #[test]
    fn cancelling_a_confirmed_rsvp_promotes_the_first_waitlisted() {
        let d = cancel(&AUTO, &seats(2, 0, 2), Some(Confirmed));
        assert_eq!(d, Ok(decision(Cancelled, true, 1, Confirmed)));
    }

    #[test]
    fn cancelling_pending_or_waitlisted_frees_nothing() {
        for current in [PendingApproval, Waitlisted] {
            let d = cancel(&AUTO, &seats(2, 0, 2), Some(current));
            assert_eq!(d, Ok(decision(Cancelled, true, 0, Confirmed)));
        }
    }

    #[test]
    fn cancelling_again_changes_nothing() {
        let d = cancel(&AUTO, &seats(0, 0, 0), Some(Cancelled));
        assert_eq!(d, Ok(decision(Cancelled, false, 0, Confirmed)));
    }

    #[test]
    fn cancelling_without_an_active_rsvp_fails_and_cannot_undo_a_decline() {
        for current in [None, Some(NotGoing), Some(Declined)] {
            assert_eq!(
                cancel(&AUTO, &seats(0, 0, 0), current),
                Err(RuleError::NotActive)
            );
        }
    }

    // --- offers ------------------------------------------------------------------------------

    #[test]
    fn claiming_an_open_offer_confirms_without_moving_anyone() {
        let d = claim_offer(&offer_rules(), &seats(1, 1, 2), Some(Offered), t(10), t(9));
        assert_eq!(d, Ok(decision(Confirmed, true, 0, Offered)));
    }

    #[test]
    fn claiming_at_or_after_expiry_fails() {
        for now in [t(10), t(11)] {
            let d = claim_offer(&offer_rules(), &seats(1, 1, 0), Some(Offered), t(10), now);
            assert_eq!(d, Err(RuleError::OfferExpired));
        }
    }

    #[test]
    fn claiming_again_once_confirmed_changes_nothing() {
        let d = claim_offer(
            &offer_rules(),
            &seats(2, 0, 0),
            Some(Confirmed),
            t(0),
            t(99),
        );
        assert_eq!(d, Ok(decision(Confirmed, false, 0, Offered)));
    }

    #[test]
    fn claiming_without_an_offer_fails() {
        for current in [None, Some(Waitlisted), Some(Cancelled), Some(Declined)] {
            let d = claim_offer(&offer_rules(), &seats(0, 0, 0), current, t(10), t(0));
            assert_eq!(d, Err(RuleError::NotOffered));
        }
    }

    #[test]
    fn an_expired_offer_is_cancelled_and_its_seat_offered_to_the_next() {
        let d = expire_offer(&offer_rules(), &seats(1, 1, 2), Some(Offered), t(10), t(10));
        assert_eq!(d, Ok(decision(Cancelled, true, 1, Offered)));
        let d = expire_offer(&offer_rules(), &seats(1, 1, 0), Some(Offered), t(10), t(30));
        assert_eq!(d, Ok(decision(Cancelled, true, 0, Offered)));
    }

    #[test]
    fn an_open_offer_does_not_expire() {
        let d = expire_offer(&offer_rules(), &seats(1, 1, 0), Some(Offered), t(10), t(9));
        assert_eq!(d, Err(RuleError::OfferNotExpired));
    }

    #[test]
    fn expiring_what_is_not_offered_fails() {
        // E.g. the sweeper racing a claim that already confirmed the member.
        let d = expire_offer(
            &offer_rules(),
            &seats(2, 0, 0),
            Some(Confirmed),
            t(0),
            t(10),
        );
        assert_eq!(d, Err(RuleError::NotOffered));
    }

    #[test]
    fn offers_expire_one_window_after_they_are_made() {
        assert_eq!(offer_rules().offer_expires_at(t(0)), Some(t(120)));
        assert_eq!(AUTO.offer_expires_at(t(0)), None);
        let forever = Rules {
            mode: WaitlistMode::Offer {
                window: Duration::MAX,
            },
            ..AUTO
        };
        assert_eq!(
            forever.offer_expires_at(t(0)),
            Some(DateTime::<Utc>::MAX_UTC)
        );
    }

    // --- capacity, fill, check-in ------------------------------------------------------------

    #[test]
    fn raising_the_capacity_promotes_as_many_as_fit() {
        assert_eq!(change_capacity(&AUTO, &seats(2, 0, 5), 4), Ok(2));
        assert_eq!(change_capacity(&AUTO, &seats(2, 0, 1), 4), Ok(1));
        assert_eq!(change_capacity(&offer_rules(), &seats(1, 1, 5), 3), Ok(1));
    }

    #[test]
    fn lowering_the_capacity_to_the_seats_held_is_allowed() {
        assert_eq!(change_capacity(&AUTO, &seats(2, 0, 5), 2), Ok(0));
        assert_eq!(change_capacity(&offer_rules(), &seats(1, 1, 5), 2), Ok(0));
    }

    #[test]
    fn lowering_the_capacity_below_the_confirmed_fails() {
        assert_eq!(
            change_capacity(&AUTO, &seats(3, 0, 0), 2),
            Err(RuleError::CapacityBelowConfirmed { confirmed: 3 })
        );
    }

    #[test]
    fn lowering_the_capacity_below_open_offers_fails() {
        assert_eq!(
            change_capacity(&offer_rules(), &seats(1, 2, 0), 2),
            Err(RuleError::CapacityBelowHeld {
                confirmed: 1,
                offered: 2
            })
        );
    }

    #[test]
    fn fill_is_limited_by_free_seats_and_the_wait_list() {
        assert_eq!(fill(&AUTO, &seats(0, 0, 5)), 2);
        assert_eq!(fill(&AUTO, &seats(0, 0, 1)), 1);
        assert_eq!(fill(&AUTO, &seats(1, 1, 5)), 0);
        // Inconsistent stored counts (over capacity) do not underflow.
        assert_eq!(fill(&AUTO, &seats(3, 0, 5)), 0);
        assert_eq!(fill(&AUTO, &seats(u32::MAX, u32::MAX, u32::MAX)), 0);
    }

    #[test]
    fn moving_an_rsvp_updates_the_counts() {
        let s = seats(1, 1, 1);
        assert_eq!(s.moved(None, Waitlisted), seats(1, 1, 2));
        assert_eq!(s.moved(Some(Offered), Confirmed), seats(2, 0, 1));
        assert_eq!(s.moved(Some(Confirmed), Cancelled), seats(0, 1, 1));
        assert_eq!(s.moved(Some(PendingApproval), Declined), s);
        assert_eq!(s.moved(Some(Waitlisted), Waitlisted), s);
    }

    #[test]
    fn only_confirmed_attendees_check_in() {
        for status in [
            Confirmed,
            Waitlisted,
            Offered,
            PendingApproval,
            Declined,
            Cancelled,
            NotGoing,
        ] {
            assert_eq!(can_check_in(status), status == Confirmed);
        }
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            RuleError::CapacityBelowConfirmed { confirmed: 3 }.to_string(),
            "capacity cannot be lower than the 3 confirmed attendees"
        );
    }

    // --- the store, as the events service will drive the rules --------------------------------

    #[derive(Clone, Debug, PartialEq)]
    struct Member {
        status: Option<RsvpState>,
        /// Arrival sequence, assigned each time the member joins the wait-list.
        seq: u64,
        offer_expires_at: Option<DateTime<Utc>>,
        checked_in: bool,
        /// Once declined, always declined.
        ever_declined: bool,
    }

    /// A stand-in for the database: per-member status and arrival sequence, applying decisions
    /// exactly as the module documentation says the store must.
    #[derive(Clone, Debug, PartialEq)]
    struct Store {
        rules: Rules,
        members: Vec<Member>,
        next_seq: u64,
        now: DateTime<Utc>,
        /// Sequence of the last member promoted off the wait-list.
        last_promoted_seq: Option<u64>,
    }

    impl Store {
        fn new(rules: Rules, members: usize) -> Self {
            let member = Member {
                status: None,
                seq: 0,
                offer_expires_at: None,
                checked_in: false,
                ever_declined: false,
            };
            Self {
                rules,
                members: vec![member; members],
                next_seq: 1,
                now: t(0),
                last_promoted_seq: None,
            }
        }

        fn count(&self, status: RsvpState) -> u32 {
            let n = self
                .members
                .iter()
                .filter(|m| m.status == Some(status))
                .count();
            u32::try_from(n).unwrap()
        }

        fn seats(&self) -> Seats {
            Seats {
                confirmed: self.count(Confirmed),
                offered: self.count(Offered),
                waitlisted: self.count(Waitlisted),
            }
        }

        /// Wait-listed members in arrival order.
        fn waitlist(&self) -> Vec<usize> {
            let mut list: Vec<usize> = (0..self.members.len())
                .filter(|&i| self.members[i].status == Some(Waitlisted))
                .collect();
            list.sort_by_key(|&i| self.members[i].seq);
            list
        }

        fn position(&self, who: usize) -> u32 {
            let seq = self.members[who].seq;
            let ahead = self
                .members
                .iter()
                .filter(|m| m.status == Some(Waitlisted) && m.seq < seq)
                .count();
            u32::try_from(ahead).unwrap() + 1
        }

        fn set_status(&mut self, who: usize, status: RsvpState) {
            let now = self.now;
            let rules = self.rules;
            let m = &mut self.members[who];
            if status == Waitlisted && m.status != Some(Waitlisted) {
                m.seq = self.next_seq;
                self.next_seq += 1;
            }
            if status == Offered && m.status != Some(Offered) {
                m.offer_expires_at = rules.offer_expires_at(now);
            }
            if status != Offered {
                m.offer_expires_at = None;
            }
            if status != Confirmed {
                m.checked_in = false;
            }
            m.ever_declined |= status == Declined;
            m.status = Some(status);
        }

        /// Applies a decision for `who` (None for capacity changes) the way the store will.
        fn apply(&mut self, who: Option<usize>, d: Decision) -> Result<(), TestCaseError> {
            if let Some(who) = who {
                let before = self.members[who].status;
                prop_assert_eq!(d.changed, before != Some(d.status));
                if d.changed {
                    self.set_status(who, d.status);
                }
            }
            prop_assert_eq!(d.promote_to, self.rules.mode.promote_to());
            let waitlist = self.waitlist();
            let promote = usize::try_from(d.promote).unwrap();
            prop_assert!(promote <= waitlist.len(), "promote exceeds the wait-list");
            prop_assert!(
                d.promote <= self.seats().free(self.rules.capacity),
                "promote exceeds the free seats"
            );
            for &i in &waitlist[..promote] {
                prop_assert!(
                    Some(i) != who,
                    "the caller was promoted by its own decision"
                );
                let seq = self.members[i].seq;
                prop_assert!(self.last_promoted_seq < Some(seq), "promotion out of order");
                self.last_promoted_seq = Some(seq);
                self.set_status(i, d.promote_to);
            }
            Ok(())
        }

        fn expire_offers(&mut self) -> Result<(), TestCaseError> {
            for i in 0..self.members.len() {
                // The sweeper: offered rows whose expiry has passed.
                let m = &self.members[i];
                if let (Some(Offered), Some(at)) = (m.status, m.offer_expires_at)
                    && at <= self.now
                {
                    let d = expire_offer(&self.rules, &self.seats(), m.status, at, self.now);
                    prop_assert!(d.is_ok());
                    self.apply(Some(i), d.unwrap())?;
                }
            }
            Ok(())
        }

        fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
            let rules = self.rules;
            let seats = self.seats();
            let status_of = |store: &Self, i: usize| store.members[i].status;
            match *op {
                Op::Rsvp(i, intent) => {
                    let d = answer(&rules, &seats, status_of(self, i), intent);
                    self.apply(Some(i), d)?;
                }
                Op::Cancel(i) => {
                    let current = status_of(self, i);
                    match cancel(&rules, &seats, current) {
                        Ok(d) => self.apply(Some(i), d)?,
                        Err(e) => {
                            prop_assert_eq!(e, RuleError::NotActive);
                            prop_assert!(matches!(current, None | Some(NotGoing | Declined)));
                        }
                    }
                }
                Op::Approve(i) => {
                    let current = status_of(self, i);
                    match approve(&rules, &seats, current) {
                        Ok(d) => {
                            self.apply(Some(i), d)?;
                            if d.status == Confirmed {
                                prop_assert!(
                                    self.waitlist().is_empty(),
                                    "approval jumped the line"
                                );
                            }
                        }
                        Err(e) => {
                            prop_assert_eq!(e, RuleError::NotPending);
                            prop_assert!(current != Some(PendingApproval));
                        }
                    }
                }
                Op::Decline(i) => {
                    let current = status_of(self, i);
                    match decline(&rules, &seats, current) {
                        Ok(d) => self.apply(Some(i), d)?,
                        Err(e) => {
                            prop_assert_eq!(e, RuleError::NotActive);
                            prop_assert!(matches!(current, None | Some(NotGoing | Cancelled)));
                        }
                    }
                }
                Op::Claim(i) => {
                    let current = status_of(self, i);
                    let at = self.members[i].offer_expires_at.unwrap_or(self.now);
                    let claimed = claim_offer(&rules, &seats, current, at, self.now);
                    let expired = expire_offer(&rules, &seats, current, at, self.now);
                    if current == Some(Offered) {
                        prop_assert!(claimed.is_ok() != expired.is_ok(), "claim xor expire");
                    }
                    match claimed {
                        Ok(d) => self.apply(Some(i), d)?,
                        // The failed claim expires the offer in the same transaction.
                        Err(RuleError::OfferExpired) => self.apply(Some(i), expired.unwrap())?,
                        Err(e) => {
                            prop_assert_eq!(e, RuleError::NotOffered);
                            prop_assert!(!matches!(current, Some(Offered | Confirmed)));
                        }
                    }
                }
                Op::ExpireOffers => self.expire_offers()?,
                Op::Tick(minutes) => self.now += Duration::minutes(minutes),
                Op::Capacity(capacity) => match change_capacity(&rules, &seats, capacity) {
                    Ok(promote) => {
                        self.rules.capacity = capacity;
                        let d = Decision {
                            status: Confirmed, // unused: no caller
                            changed: false,
                            promote,
                            promote_to: self.rules.mode.promote_to(),
                        };
                        self.apply(None, d)?;
                    }
                    Err(RuleError::CapacityBelowConfirmed { confirmed }) => {
                        prop_assert_eq!(confirmed, seats.confirmed);
                        prop_assert!(capacity < seats.confirmed);
                    }
                    Err(RuleError::CapacityBelowHeld { confirmed, offered }) => {
                        prop_assert_eq!((confirmed, offered), (seats.confirmed, seats.offered));
                        prop_assert!(seats.confirmed <= capacity && capacity < seats.held());
                    }
                    Err(e) => prop_assert!(false, "unexpected {e:?}"),
                },
                Op::Approval(required) => self.rules.approval_required = required,
                Op::Mode(mode) => self.rules.mode = mode,
                Op::CheckIn(i) => {
                    let current = status_of(self, i);
                    let ok = current.is_some_and(can_check_in);
                    prop_assert_eq!(ok, current == Some(Confirmed));
                    if ok {
                        self.members[i].checked_in = true;
                    }
                }
            }
            Ok(())
        }

        fn check_invariants(&self) -> Result<(), TestCaseError> {
            let seats = self.seats();
            prop_assert!(
                seats.held() <= self.rules.capacity,
                "over capacity: {:?} > {}",
                seats,
                self.rules.capacity
            );
            // Nobody waits while a seat is free (offers hold their seat, so in both modes).
            prop_assert_eq!(
                fill(&self.rules, &seats),
                0,
                "a seat is free while someone waits"
            );
            // The wait-list is in arrival order: distinct sequences, all after the last promotion,
            // positions 1..=n.
            let waitlist = self.waitlist();
            for (n, &i) in waitlist.iter().enumerate() {
                prop_assert!(self.last_promoted_seq < Some(self.members[i].seq));
                prop_assert_eq!(self.position(i), u32::try_from(n).unwrap() + 1);
            }
            for (i, m) in self.members.iter().enumerate() {
                prop_assert_eq!(m.status == Some(Offered), m.offer_expires_at.is_some());
                prop_assert!(!m.checked_in || m.status == Some(Confirmed));
                prop_assert!(
                    !m.ever_declined || m.status == Some(Declined),
                    "un-declined"
                );
                // Idempotency: going again changes nothing for these, in the store too.
                if let Some(s @ (Confirmed | Waitlisted | Offered | PendingApproval | Declined)) =
                    m.status
                {
                    let d = answer(&self.rules, &seats, m.status, Intent::Going);
                    prop_assert_eq!((d.status, d.changed, d.promote), (s, false, 0));
                    let mut again = self.clone();
                    again.apply(Some(i), d)?;
                    prop_assert_eq!(&again, self);
                }
            }
            Ok(())
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Op {
        Rsvp(usize, Intent),
        Cancel(usize),
        Approve(usize),
        Decline(usize),
        Claim(usize),
        ExpireOffers,
        Tick(i64),
        Capacity(u32),
        Approval(bool),
        Mode(WaitlistMode),
        CheckIn(usize),
    }

    const MEMBERS: usize = 8;

    fn mode() -> impl Strategy<Value = WaitlistMode> {
        prop_oneof![
            Just(WaitlistMode::Automatic),
            // Whole quarters of an hour, like the clock, so claims land exactly on expiry too.
            (1i64..=4).prop_map(|q| WaitlistMode::Offer {
                window: Duration::minutes(15 * q)
            }),
        ]
    }

    fn rules() -> impl Strategy<Value = Rules> {
        (1u32..=4, any::<bool>(), mode()).prop_map(|(capacity, approval_required, mode)| Rules {
            capacity,
            approval_required,
            mode,
        })
    }

    fn op() -> impl Strategy<Value = Op> {
        let m = 0..MEMBERS;
        prop_oneof![
            6 => m.clone().prop_map(|i| Op::Rsvp(i, Intent::Going)),
            2 => m.clone().prop_map(|i| Op::Rsvp(i, Intent::NotGoing)),
            2 => m.clone().prop_map(Op::Cancel),
            3 => m.clone().prop_map(Op::Approve),
            1 => m.clone().prop_map(Op::Decline),
            2 => m.clone().prop_map(Op::Claim),
            1 => Just(Op::ExpireOffers),
            2 => (0i64..=8).prop_map(|q| Op::Tick(15 * q)),
            1 => (0u32..=6).prop_map(Op::Capacity),
            1 => any::<bool>().prop_map(Op::Approval),
            1 => mode().prop_map(Op::Mode),
            1 => m.prop_map(Op::CheckIn),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn the_store_keeps_the_invariants(rules in rules(), ops in vec(op(), 1..80)) {
            let mut store = Store::new(rules, MEMBERS);
            for op in &ops {
                store.step(op)?;
                store.check_invariants()?;
            }
        }
    }

    /// Story step 4: 25 people say going to a 20-seat event.
    #[test]
    fn twenty_five_going_for_twenty_seats() {
        let rules = Rules {
            capacity: 20,
            ..AUTO
        };
        let mut store = Store::new(rules, 25);
        for i in 0..25 {
            store.step(&Op::Rsvp(i, Intent::Going)).unwrap();
        }
        assert_eq!(store.seats(), seats(20, 0, 5));
        assert!((0..20).all(|i| store.members[i].status == Some(Confirmed)));
        let positions: Vec<u32> = (20..25).map(|i| store.position(i)).collect();
        assert_eq!(positions, [1, 2, 3, 4, 5]);

        store.step(&Op::Cancel(7)).unwrap();
        assert_eq!(store.members[20].status, Some(Confirmed));
        assert_eq!(store.seats(), seats(20, 0, 4));
        assert_eq!(store.position(21), 1);
        store.check_invariants().unwrap();
    }

    #[test]
    fn an_offer_passes_down_the_line_until_claimed() {
        let rules = Rules {
            capacity: 1,
            ..offer_rules()
        };
        let mut store = Store::new(rules, 3);
        for i in 0..3 {
            store.step(&Op::Rsvp(i, Intent::Going)).unwrap();
        }
        store.step(&Op::Cancel(0)).unwrap();
        assert_eq!(store.members[1].status, Some(Offered));
        assert_eq!(store.members[1].offer_expires_at, Some(t(120)));
        store.step(&Op::Tick(120)).unwrap();
        store.step(&Op::Claim(1)).unwrap(); // too late: expires, passes on
        assert_eq!(store.members[1].status, Some(Cancelled));
        assert_eq!(store.members[2].status, Some(Offered));
        store.step(&Op::Claim(2)).unwrap();
        assert_eq!(store.members[2].status, Some(Confirmed));
        store.check_invariants().unwrap();
    }
}
