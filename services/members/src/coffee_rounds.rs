//! The clock-driven coffee proposal rounds: every `every`, the replica that takes the round
//! lease runs a round (see `store::coffee_round`), then a pass of re-meet nudges (see
//! `crate::remeet`); the others skip it. A round proposes only to members who are due, and a
//! pass looks only at members due a nudge, so running them often costs a query, not extra
//! proposals or nudges.

use std::time::Duration;

use rendezvous_common::clock::Clock;
use tokio_util::sync::CancellationToken;

use crate::remeet::Nudger;
use crate::store::{RoundSettings, Store};

/// Longest a round may hold the lease before another replica may start one: a round must
/// end well within it.
pub const LEASE: chrono::Duration = chrono::Duration::minutes(30);

/// Runs a round every `every` until `shutdown` is cancelled.
pub async fn run(
    store: Store,
    clock: Clock,
    every: Duration,
    round: RoundSettings,
    nudger: Nudger,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
        let now = clock.now_micros();
        let until = now + LEASE;
        match store.take_coffee_round_lease(now, until).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "coffee round: the lease could not be read");
                continue;
            }
        }
        match store.coffee_round(&round, now).await {
            Ok(outcome) if outcome.proposals.is_empty() => {
                tracing::debug!(
                    candidates = outcome.candidates,
                    "coffee round: nothing to propose"
                );
            }
            Ok(outcome) => tracing::info!(
                candidates = outcome.candidates,
                proposals = outcome.proposals.len(),
                "coffee round"
            ),
            Err(error) => tracing::warn!(%error, "coffee round failed"),
        }
        match nudger.pass(clock.now_micros()).await {
            Ok(outcome) if outcome.nudged == 0 && outcome.deferred == 0 => {
                tracing::debug!(
                    looked_at = outcome.looked_at,
                    "re-meet nudges: none to make"
                );
            }
            Ok(outcome) => tracing::info!(
                looked_at = outcome.looked_at,
                nudged = outcome.nudged,
                deferred = outcome.deferred,
                "re-meet nudges"
            ),
            Err(error) => tracing::warn!(%error, "re-meet nudges failed"),
        }
        if let Err(error) = store
            .release_coffee_round_lease(until, clock.now_micros())
            .await
        {
            tracing::warn!(%error, "coffee round: the lease could not be given back");
        }
    }
}
