//! Re-meet nudges, made by the hourly job after each coffee round (under the same lease, so
//! one replica at a time): each member opted in and due is looked at, their connections met
//! long ago longest-unseen first, and the first one with something to suggest is the nudge —
//! an upcoming event in their city both may attend (asked of events, with a deadline), or
//! else a coffee proposal to both when the coffee rules allow one now. A member with nothing
//! to suggest is looked at again a day later; a nudge claims their fortnight.

use chrono::{DateTime, Utc};
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::notifications::v1 as npb;

use crate::domain::remeet;
use crate::error::Result;
use crate::notices::RemeetSuggestion;
use crate::peers::Peers;
use crate::store::{DueMember, RoundSettings, Store};

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassOutcome {
    /// Members looked at.
    pub looked_at: u64,
    /// Nudges made.
    pub nudged: u64,
    /// Members skipped because events did not answer; they are looked at next pass.
    pub deferred: u64,
}

/// Makes the re-meet nudges.
#[derive(Clone, Debug)]
pub struct Nudger {
    store: Store,
    peers: Peers,
    coffee: RoundSettings,
}

fn event_facts(event: events_pb::SharedEvent) -> npb::EventFacts {
    let events_pb::SharedEvent {
        event_id,
        title,
        start_time,
        end_time,
        time_zone,
        venue_name,
        venue_address,
        city,
    } = event;
    npb::EventFacts {
        event_id,
        title,
        start_time,
        end_time,
        time_zone,
        venue_name,
        venue_address,
        city,
    }
}

impl Nudger {
    /// `coffee`: the rules a coffee proposal a nudge makes follows (those of the rounds).
    pub fn new(store: Store, peers: Peers, coffee: RoundSettings) -> Self {
        Self {
            store,
            peers,
            coffee,
        }
    }

    /// Looks at every member due a nudge at `now`.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<PassOutcome> {
        let mut outcome = PassOutcome::default();
        let mut after = None;
        loop {
            let page = self
                .store
                .due_remeet_members(after, remeet::MEMBERS_PER_PAGE, now)
                .await?;
            let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= remeet::MEMBERS_PER_PAGE;
            for member in &page {
                after = Some(member.id);
                outcome.looked_at += 1;
                match self.nudge(member, now).await {
                    Ok(true) => outcome.nudged += 1,
                    Ok(false) => self.store.remeet_looked_at(member.id, now).await?,
                    Err(error) => {
                        tracing::warn!(%error, member = %member.id, "re-meet nudge deferred");
                        outcome.deferred += 1;
                    }
                }
            }
            if !full {
                return Ok(outcome);
            }
        }
    }

    /// Nudges `member` about the first of their candidates with something to suggest;
    /// whether a nudge was made.
    async fn nudge(&self, member: &DueMember, now: DateTime<Utc>) -> Result<bool> {
        for candidate in self.store.remeet_candidates(member, now).await? {
            let pair = (member.id, candidate.other);
            let window = (now + remeet::EVENT_LEAD, now + remeet::EVENT_HORIZON);
            let suggestion = match self
                .peers
                .find_shared_event(pair, &member.city, window)
                .await?
            {
                Some(event) => RemeetSuggestion::Event(event_facts(event)),
                None => match self
                    .store
                    .propose_coffee_again(pair, candidate.last_met, &self.coffee, now)
                    .await?
                {
                    Some(proposal) => RemeetSuggestion::Coffee(proposal.id),
                    None => continue,
                },
            };
            return Ok(self
                .store
                .nudge(member, &candidate, suggestion, now)
                .await?
                .is_some());
        }
        Ok(false)
    }
}
