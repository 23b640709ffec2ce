//! Members whose access tokens are refused before they expire: erased accounts.
//!
//! An access token is verified locally with the members service's public key, so without this
//! list a deleted member's token would keep opening every service until it expires (up to
//! [`MAX_ACCESS_TOKEN_LIFETIME`]). Each service keeps the erased members it knows of in its
//! own database (members: `members.deleted_at`; events and notifications: the erasure notice
//! members sends them through its outbox) and mirrors them here: [`RevokedMembers::revoke`]
//! as soon as it commits an erasure, and [`keep_fresh`] every few seconds, so that replicas
//! that did not handle the erasure refuse the token too.
//!
//! Entries older than the longest token lifetime are dropped: every token issued before the
//! erasure has expired by then, and no token is issued after it.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::auth::MAX_ACCESS_TOKEN_LIFETIME;
use crate::clock::Clock;
use crate::db::Db;
use crate::with_db;

/// Shared, cheap to clone; every clone sees the same list.
#[derive(Clone, Debug, Default)]
pub struct RevokedMembers(Arc<RwLock<HashMap<Uuid, DateTime<Utc>>>>);

impl RevokedMembers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses `member`'s tokens from now on; `erased_at` is when the account was erased.
    pub fn revoke(&self, member: Uuid, erased_at: DateTime<Utc>) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(member)
            .or_insert(erased_at);
    }

    pub fn is_revoked(&self, member: Uuid) -> bool {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&member)
    }

    /// Adds what a service's database knows and drops entries whose tokens have all expired
    /// at `now`. Never removes a fresh entry: a refresh that read the database just before
    /// an erasure committed must not undo the [`revoke`](Self::revoke) that followed it.
    pub fn merge(
        &self,
        erased: impl IntoIterator<Item = (Uuid, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) {
        let horizon = now - MAX_ACCESS_TOKEN_LIFETIME;
        let mut list = self.0.write().unwrap_or_else(PoisonError::into_inner);
        for (member, at) in erased {
            list.entry(member).or_insert(at);
        }
        list.retain(|_, at| *at > horizon);
    }

    /// How many members are on the list.
    pub fn len(&self) -> usize {
        self.0.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How often a service reloads the list from its database.
pub const REFRESH_EVERY: StdDuration = StdDuration::from_secs(2);

/// Since when a service must look for erasures: older ones can no longer have a live token.
pub fn horizon(now: DateTime<Utc>) -> DateTime<Utc> {
    now - MAX_ACCESS_TOKEN_LIFETIME
}

/// Where a service records the members it erased.
pub trait ErasureLog: Send + Sync + 'static {
    /// Members erased after `since`, with when.
    fn erased_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error>> + Send;
}

/// The `erased_members (member_id, erased_at)` table a receiver of erasures keeps (events and
/// notifications each have one in their database).
#[derive(Clone, Debug)]
pub struct ErasedMembersTable(pub Db);

impl ErasureLog for ErasedMembersTable {
    async fn erased_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
        let rows: Vec<(String, DateTime<Utc>)> = with_db!(&self.0, |pool| {
            sqlx::query_as("SELECT member_id, erased_at FROM erased_members WHERE erased_at > $1")
                .bind(since)
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter()
            .map(|(id, at)| {
                let id = Uuid::try_parse(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                Ok((id, at))
            })
            .collect()
    }
}

/// Merges what `log` holds since [`horizon`] into `revoked` every `every` until `shutdown`; a
/// failed read is logged and retried on the next tick.
pub async fn keep_fresh(
    revoked: RevokedMembers,
    log: impl ErasureLog,
    clock: Clock,
    every: StdDuration,
    shutdown: CancellationToken,
) {
    loop {
        let now = clock.now();
        match log.erased_since(horizon(now)).await {
            Ok(erased) => revoked.merge(erased, now),
            Err(error) => tracing::warn!(%error, "loading erased members failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn revoked_members_stay_listed_until_their_tokens_have_expired() {
        let now = Utc::now();
        let revoked = RevokedMembers::new();
        let (old, fresh, loaded) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        revoked.revoke(old, now - MAX_ACCESS_TOKEN_LIFETIME - Duration::seconds(1));
        revoked.revoke(fresh, now);
        assert!(revoked.is_revoked(old) && revoked.is_revoked(fresh));

        // A refresh that has not seen `fresh` yet keeps it, adds what it loaded, and drops
        // the entry whose tokens have all expired.
        revoked.merge([(loaded, now - Duration::minutes(1))], now);
        assert!(!revoked.is_revoked(old));
        assert!(revoked.is_revoked(fresh));
        assert!(revoked.is_revoked(loaded));
        assert_eq!(revoked.len(), 2);
        assert!(!revoked.is_revoked(Uuid::now_v7()));
    }

    /// One erasure, at a fixed time.
    struct OneErasure(Uuid, DateTime<Utc>);

    impl ErasureLog for OneErasure {
        async fn erased_since(
            &self,
            since: DateTime<Utc>,
        ) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
            assert!(since < self.1);
            Ok(vec![(self.0, self.1)])
        }
    }

    #[tokio::test]
    async fn keep_fresh_merges_what_the_log_holds_until_shut_down() {
        let clock = Clock::manual(Utc::now());
        let revoked = RevokedMembers::new();
        let member = Uuid::now_v7();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(keep_fresh(
            revoked.clone(),
            OneErasure(member, clock.now()),
            clock.clone(),
            StdDuration::from_millis(10),
            shutdown.clone(),
        ));
        for _ in 0..200 {
            if revoked.is_revoked(member) {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
        assert!(revoked.is_revoked(member));
        shutdown.cancel();
        task.await.unwrap_or_else(|e| panic!("refresh task: {e}"));
    }
}
