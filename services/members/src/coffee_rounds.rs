//! The clock-driven coffee proposal rounds: every `every`, the replica that takes the round
//! lease runs a round (see `store::coffee_round`), then a pass of re-meet nudges (see
//! `crate::remeet`); the others skip it. A round proposes only to members who are due, and a
//! pass looks only at members due a nudge, so running them often costs a query, not extra
//! proposals or nudges.

use std::sync::Arc;
use std::time::Duration;

use rendezvous_common::clock::Clock;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::remeet::Nudger;
use crate::store::{RoundSettings, Store};

/// Least time between the end of a round and one an opt-in brings forward: opt-ins in a
/// busy minute share a round.
pub const MIN_GAP_AFTER_OPT_IN: Duration = Duration::from_secs(60);

/// When the rounds run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence {
    /// A round every this long.
    pub every: Duration,
    /// And this long after a member opts in (at most one such round a minute); none: only on
    /// the clock.
    pub after_opt_in: Option<Duration>,
}

/// Longest a round may hold the lease before another replica may start one: a round must
/// end well within it.
pub const LEASE: chrono::Duration = chrono::Duration::minutes(30);

/// Runs a round as `cadence` says (every so long, and soon after an opt-in that `opt_ins`
/// tells of) until `shutdown` is cancelled.
pub async fn run(
    store: Store,
    clock: Clock,
    cadence: Cadence,
    opt_ins: Arc<Notify>,
    round: RoundSettings,
    nudger: Nudger,
    shutdown: CancellationToken,
) {
    let mut last_end = Instant::now().checked_sub(MIN_GAP_AFTER_OPT_IN);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(cadence.every) => {}
            () = opt_ins.notified(), if cadence.after_opt_in.is_some() => {
                // Opt-ins made meanwhile join this round.
                let soon = cadence.after_opt_in.unwrap_or_default();
                let gap = last_end
                    .map(|end| (end + MIN_GAP_AFTER_OPT_IN).saturating_duration_since(Instant::now()))
                    .unwrap_or_default();
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(soon.max(gap)) => {}
                }
            }
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
        last_end = Some(Instant::now());
    }
}
