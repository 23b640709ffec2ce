//! The clock-driven work: expiring unclaimed wait-list offers, reminding confirmed attendees
//! before the start, completing ended events, keeping series materialised up to the horizon
//! — events' own work — and recording completed events' meetings with members, in a loop of
//! its own so that members being down or hung delays nothing else.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::clock::Clock;
use rendezvous_common::telemetry;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::Settings;
use crate::domain::rsvp::Transition;
use crate::domain::series::SeriesSpec;
use crate::error::Result;

/// How often chapter health's own work runs once it has caught up.
const HEALTH_EVERY: Duration = Duration::hours(1);
/// Completions made before chapter health existed that one tick counts.
const PAST_PER_TICK: i64 = 200;
use crate::members_client::MembersClient;
use crate::store::{MeetingAttendees, Store, StoreError};
use uuid::Uuid;

/// What the clock-driven work needs; clone-cheap.
#[derive(Clone)]
pub struct Jobs {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) members: Option<MembersClient>,
    pub(crate) settings: Settings,
}

impl Jobs {
    /// Expires every offer whose window has passed at `now`; returns how many expired.
    pub async fn sweep_once(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut expired = 0;
        for (event_id, member) in self.store.expired_offers(now).await? {
            let outcome = self
                .store
                .transition(event_id, member, Transition::Expire, now)
                .await;
            if outcome.is_ok() {
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Tells the organisers of each chapter gone quiet at `now` (no event for 60 days: see
    /// [`crate::domain::chapter_health`]), once per quiet spell; returns how many chapters.
    pub async fn tell_quiet_chapters(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut told = 0;
        for chapter in self.store.quiet_chapters(now).await? {
            if self.store.tell_quiet_chapter(&chapter, now).await? {
                tracing::info!(chapter = %chapter.id, since = %chapter.since, "organisers told the chapter is quiet");
                told += 1;
            }
        }
        Ok(told)
    }

    /// Sends the reminders due at `now` (see [`crate::domain::reminder`]); returns how many.
    pub async fn send_reminders(&self, now: DateTime<Utc>) -> Result<usize> {
        Ok(self.store.send_due_reminders(now).await?)
    }

    /// Keeps every active series materialised up to the rolling horizon from `now`; returns
    /// how many occurrences it created.
    pub async fn extend_series(&self, now: DateTime<Utc>) -> Result<usize> {
        let horizon = now + self.settings.series_horizon;
        let mut created = 0;
        for (id, host, series, until) in self.store.series_behind(horizon).await? {
            let Ok(spec) = SeriesSpec::try_from(&series) else {
                tracing::warn!(series = %id, "stored series no longer parses; not extended");
                continue;
            };
            let from = until.unwrap_or(now).max(now);
            // A rule that has ended (e.g. an `until` already passed) has nothing to add.
            if let Ok(occurrences) = spec.occurrences(from, horizon) {
                self.store
                    .insert_occurrences(id, host, &spec, &occurrences, now)
                    .await?;
                created += occurrences.len();
            }
            self.store.mark_extended(id, &spec, horizon).await?;
        }
        Ok(created)
    }

    /// Completes every published event whose end plus grace has passed at `now`, then records
    /// the meetings of completed events members has not accepted yet
    /// ([`Self::record_pending_meetings`]); returns how many events it completed.
    pub async fn complete_due(&self, now: DateTime<Utc>) -> Result<usize> {
        let completed = self.complete_ended(now).await?;
        self.record_pending_meetings(now).await?;
        Ok(completed)
    }

    /// Completes every published event whose end plus grace has passed at `now` (events'
    /// own work: no call to another service); returns how many.
    pub async fn complete_ended(&self, now: DateTime<Utc>) -> Result<usize> {
        let grace = self.settings.complete_grace;
        let due = self.store.events_due_for_completion(now - grace).await?;
        let mut completed = 0;
        for id in due {
            match self.store.complete(id, now).await {
                Ok(outcome) if outcome.newly_completed => completed += 1,
                Ok(_) | Err(StoreError::Refused(_)) => {}
                Err(StoreError::Database(error)) => return Err(error.into()),
            }
        }
        Ok(completed)
    }

    /// Sends the meetings of completed events members has not accepted yet, one event after
    /// the other, a bounded batch per round; returns how many were recorded. An event members
    /// refuses is skipped and retried with back-off (a minute, doubled at each refusal, at
    /// most six hours), so that events members keeps refusing never fill the batch and hold
    /// up the others; once members does not answer at all (down, or no answer within a
    /// call's deadline) the rest wait for the next round, so a round costs at most one
    /// deadline of a hung members.
    pub async fn record_pending_meetings(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut recorded = 0;
        let due = self
            .store
            .events_needing_meetings(now, self.settings.meetings_batch)
            .await?;
        for id in due {
            match self.record_meetings(id, now).await {
                Recording::Recorded => recorded += 1,
                Recording::Refused => {
                    let (first, most) = (
                        self.settings.meetings_retry,
                        self.settings.meetings_retry_max,
                    );
                    let refusals = self
                        .store
                        .meetings_refused(id, |refusals| now + retry_after(first, most, refusals))
                        .await?;
                    tracing::info!(event = %id, refusals, "meetings refused: the event waits before its next try");
                }
                Recording::MembersUnavailable => break,
            }
        }
        Ok(recorded)
    }

    /// Sends the checked-in members of a completed event (both members of a coffee, each
    /// pair to be asked whether they met: see [`Store::meeting_attendees`]) to members'
    /// RecordMeetings, in chunks members accepts, each with the event's total so that
    /// members judges the event's size as a whole; marks the event recorded once every chunk
    /// is accepted. Members records each chunk once, so chunks sent again after a failure
    /// change nothing.
    pub async fn record_meetings(&self, id: Uuid, now: DateTime<Utc>) -> Recording {
        let Some(members) = &self.members else {
            return Recording::MembersUnavailable;
        };
        let (
            event,
            MeetingAttendees {
                ids,
                confirm_each,
                hoped,
            },
        ) = match (
            self.store.event(id).await,
            self.store.meeting_attendees(id).await,
        ) {
            (Ok(Some(event)), Ok(attendees)) => (event, attendees),
            (Ok(None), _) => return Recording::Refused,
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(event = %id, %error, "reading a completed event failed");
                return Recording::Refused;
            }
        };
        // An event nobody checked in at is recorded too (one empty call).
        let chunks: Vec<&[Uuid]> = if ids.is_empty() {
            vec![&[]]
        } else {
            ids.chunks(self.settings.meetings_chunk.max(1)).collect()
        };
        for (index, attendees) in chunks.into_iter().enumerate() {
            let sent = members
                .record_meetings(&event, attendees, ids.len(), confirm_each, &hoped)
                .await;
            if let Err(failure) = sent {
                tracing::warn!(
                    event = %id,
                    chunk = index,
                    attendees = ids.len(),
                    error = %failure.error,
                    "recording the meetings of a completed event failed; retried later"
                );
                return if failure.refused {
                    Recording::Refused
                } else {
                    Recording::MembersUnavailable
                };
            }
        }
        match self.store.meetings_recorded(id, now).await {
            Ok(()) => Recording::Recorded,
            Err(error) => {
                tracing::warn!(event = %id, %error, "marking the meetings recorded failed");
                Recording::Refused
            }
        }
    }

    /// Runs the work every `tick` until `shutdown`: events' own work in one loop, and the
    /// calls to members (recording meetings) in another, so that a members service that is
    /// down or hung never delays an offer's expiry, a reminder or a series.
    pub async fn run(self, tick: StdDuration, shutdown: CancellationToken) {
        let peer = self.clone();
        let peer_shutdown = shutdown.clone();
        let meetings = tokio::spawn(async move {
            loop {
                let now = peer.clock.now();
                let round = peer
                    .record_pending_meetings(now)
                    .instrument(tracing::info_span!(
                        "job",
                        service = telemetry::EVENTS,
                        name = "record_meetings"
                    ))
                    .await;
                if let Err(error) = round {
                    tracing::warn!(%error, "recording meetings failed");
                }
                tokio::select! {
                    () = peer_shutdown.cancelled() => return,
                    () = tokio::time::sleep(tick) => {}
                }
            }
        });
        // Chapter health's own work (counting completions made before it, telling quiet
        // chapters) is hourly, not every tick: it is due at once, then an hour after each
        // run that found nothing left to count.
        let mut health_due = self.clock.now();
        loop {
            let now = self.clock.now();
            let health = now >= health_due;
            let round = async {
                if let Err(error) = self.sweep_once(now).await {
                    tracing::warn!(%error, "offer expiry sweep failed");
                }
                if let Err(error) = self.send_reminders(now).await {
                    tracing::warn!(%error, "reminder sweep failed");
                }
                if let Err(error) = self.complete_ended(now).await {
                    tracing::warn!(%error, "auto-completion failed");
                }
                if let Err(error) = self.extend_series(now).await {
                    tracing::warn!(%error, "series extension failed");
                }
                if !health {
                    return None;
                }
                let caught_up = match self.store.count_past_completions(PAST_PER_TICK).await {
                    Ok(counted) => i64::try_from(counted).unwrap_or(i64::MAX) < PAST_PER_TICK,
                    Err(error) => {
                        tracing::warn!(%error, "counting past completions in chapter health failed");
                        false
                    }
                };
                if let Err(error) = self.tell_quiet_chapters(now).await {
                    tracing::warn!(%error, "telling quiet chapters failed");
                }
                Some(caught_up)
            };
            let caught_up = round
                .instrument(tracing::info_span!(
                    "job",
                    service = telemetry::EVENTS,
                    name = "tick"
                ))
                .await;
            // Still catching up: the next tick counts the next batch.
            if caught_up == Some(true) {
                health_due = now + HEALTH_EVERY;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(tick) => {}
            }
        }
        let _ = meetings.await;
    }
}

/// How sending one event's meetings went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recording {
    Recorded,
    /// Members (or events' own database) refused this event; the others can go on.
    Refused,
    /// Members is not configured, down, or did not answer within the deadline.
    MembersUnavailable,
}

/// The wait before the next try after the `refusals`-th refusal: `first`, doubled at each
/// further refusal, at most `most`.
fn retry_after(first: Duration, most: Duration, refusals: u32) -> Duration {
    let doublings = refusals.saturating_sub(1).min(30);
    first
        .checked_mul(1_i32 << doublings)
        .map_or(most, |wait| wait.min(most))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_event_waits_twice_as_long_each_time_up_to_the_most() {
        let (first, most) = (Duration::minutes(1), Duration::hours(6));
        let waits: Vec<i64> = (1..=11)
            .map(|n| retry_after(first, most, n).num_minutes())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]);
        assert_eq!(retry_after(first, most, u32::MAX), most);
    }
}
