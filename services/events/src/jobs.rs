//! The clock-driven work: expiring unclaimed wait-list offers, completing ended events (and
//! recording their meetings with members), and keeping series materialised up to the horizon.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use rendezvous_common::clock::Clock;
use tokio_util::sync::CancellationToken;

use crate::Settings;
use crate::domain::rsvp::Transition;
use crate::domain::series::SeriesSpec;
use crate::error::Result;
use crate::members_client::MembersClient;
use crate::store::{Store, StoreError};
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
            self.store.mark_materialized(id, horizon).await?;
        }
        Ok(created)
    }

    /// Completes every published event whose end plus grace has passed at `now`, and retries
    /// recording the meetings of completed events members has not accepted yet.
    pub async fn complete_due(&self, now: DateTime<Utc>) -> Result<usize> {
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
        for id in self.store.events_needing_meetings().await? {
            self.record_meetings(id, now).await;
        }
        Ok(completed)
    }

    /// Sends the checked-in members of a completed event to members' RecordMeetings, once.
    pub async fn record_meetings(&self, id: Uuid, now: DateTime<Utc>) -> bool {
        let Some(members) = &self.members else {
            return false;
        };
        let Ok(Some(event)) = self.store.event(id).await else {
            return false;
        };
        let Ok(ids) = self.store.checked_in_ids(id).await else {
            return false;
        };
        match members.record_meetings(&event, &ids).await {
            Ok(()) => self.store.meetings_recorded(id, now).await.is_ok(),
            Err(_) => false,
        }
    }

    /// Runs the work every `tick` until `shutdown`.
    pub async fn run(self, tick: StdDuration, shutdown: CancellationToken) {
        loop {
            let now = self.clock.now();
            if let Err(error) = self.sweep_once(now).await {
                tracing::warn!(%error, "offer expiry sweep failed");
            }
            if let Err(error) = self.complete_due(now).await {
                tracing::warn!(%error, "auto-completion failed");
            }
            if let Err(error) = self.extend_series(now).await {
                tracing::warn!(%error, "series extension failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(tick) => {}
            }
        }
    }
}
