//! The sign-in limiter: failed sign-ins are counted per account and per client address, and
//! a key whose budget is spent is locked out for a while.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{Error, Result};
/// Failed sign-ins per account and per peer, counted with governor's GCRA limiters. A key whose
/// budget runs out is locked until the limiter would admit it again.
pub struct SignInGuard {
    per_account: DefaultKeyedRateLimiter<String, StateInformationMiddleware>,
    per_peer: DefaultKeyedRateLimiter<IpAddr, StateInformationMiddleware>,
    locked_accounts: Mutex<HashMap<String, Instant>>,
    locked_peers: Mutex<HashMap<IpAddr, Instant>>,
}

impl SignInGuard {
    pub fn new(per_account: u32, per_peer: u32) -> Self {
        let quota = |burst: u32| {
            let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
            // One failure is forgiven every 60 s / burst, so a full budget refills in a minute.
            Quota::with_period(StdDuration::from_secs(60) / burst.get())
                .map_or_else(|| Quota::per_minute(burst), |q| q.allow_burst(burst))
        };
        Self {
            per_account: RateLimiter::keyed(quota(per_account)).with_middleware(),
            per_peer: RateLimiter::keyed(quota(per_peer)).with_middleware(),
            locked_accounts: Mutex::new(HashMap::new()),
            locked_peers: Mutex::new(HashMap::new()),
        }
    }

    fn locked_for<K: std::hash::Hash + Eq>(
        map: &Mutex<HashMap<K, Instant>>,
        key: &K,
    ) -> Option<u64> {
        let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(key) {
            Some(until) if *until > Instant::now() => {
                Some(until.saturating_duration_since(Instant::now()).as_secs() + 1)
            }
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn check(&self, account: &str, peer: Option<IpAddr>) -> Result<()> {
        let account_wait = Self::locked_for(&self.locked_accounts, &account.to_owned());
        let peer_wait = peer.and_then(|p| Self::locked_for(&self.locked_peers, &p));
        match account_wait.max(peer_wait) {
            Some(retry_after_secs) => Err(Error::RateLimited { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// Counts one failure of `key`; `Some(lock-out)` once its budget is spent, so that the
    /// attempt after the last allowed failure is already refused.
    fn charge<K: std::hash::Hash + Eq + Clone>(
        limiter: &DefaultKeyedRateLimiter<K, StateInformationMiddleware>,
        key: &K,
    ) -> Option<StdDuration> {
        use governor::clock::{Clock as _, DefaultClock};
        match limiter.check_key(key) {
            Ok(state) if state.remaining_burst_capacity() == 0 => {
                Some(state.quota().replenish_interval())
            }
            Ok(_) => None,
            Err(not_until) => Some(not_until.wait_time_from(DefaultClock::default().now())),
        }
    }

    pub fn record_failure(&self, account: &str, peer: Option<IpAddr>) {
        if let Some(wait) = Self::charge(&self.per_account, &account.to_owned()) {
            self.locked_accounts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(account.to_owned(), Instant::now() + wait);
        }
        if let Some(peer) = peer
            && let Some(wait) = Self::charge(&self.per_peer, &peer)
        {
            self.locked_peers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(peer, Instant::now() + wait);
        }
        self.per_account.retain_recent();
        self.per_peer.retain_recent();
    }
}
