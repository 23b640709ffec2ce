//! Access tokens refused before they expire: those of erased accounts, and those of ended
//! sessions (Logout, the other sessions at ChangePassword, a refresh token used twice).
//!
//! An access token is verified locally with the members service's public key, so without these
//! lists a deleted member's token, or the token of a session that was signed out, would keep
//! opening every service until it expires (up to [`MAX_ACCESS_TOKEN_LIFETIME`]). Each service
//! keeps the revocations it knows of in its own database (members: `members.deleted_at` and
//! `sessions.revoked_at`; events and notifications: the erasure and revocation notices members
//! sends them through its outbox, in `erased_members` and `revoked_sessions`) and mirrors them
//! here: [`RevokedMembers::revoke`] / [`RevokedSessions::revoke`] as soon as it commits one,
//! and [`keep_fresh`] every [`REFRESH_EVERY`], so that replicas that did not handle it refuse
//! the token too.
//!
//! Entries older than the longest token lifetime are dropped: every token issued before the
//! revocation has expired by then, and no token is issued after it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use rendezvous_proto::prost_types::Timestamp;
use sqlx::QueryBuilder;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::auth::MAX_ACCESS_TOKEN_LIFETIME;
use crate::clock::Clock;
use crate::db::{BeginWrite as _, Db};
use crate::error::FieldViolation;
use crate::with_db;

/// Ids (members or sessions) with when each was revoked, and a signal for who waits for one.
#[derive(Debug, Default)]
struct List {
    entries: RwLock<HashMap<Uuid, DateTime<Utc>>>,
    /// Woken whenever an id joins the list.
    added: Notify,
}

impl List {
    fn revoke(&self, id: Uuid, at: DateTime<Utc>) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Entry::Vacant(entry) = entries.entry(id) {
            entry.insert(at);
            self.added.notify_waiters();
        }
    }

    fn contains(&self, id: Uuid) -> bool {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&id)
    }

    /// Adds what a service's database knows and drops entries whose tokens have all expired
    /// at `now`. Never removes a fresh entry: a refresh that read the database just before a
    /// revocation committed must not undo the `revoke` that followed it.
    fn merge(&self, loaded: Vec<(Uuid, DateTime<Utc>)>, now: DateTime<Utc>) {
        let horizon = horizon(now);
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let mut added = false;
        for (id, at) in loaded {
            if let Entry::Vacant(entry) = entries.entry(id) {
                entry.insert(at);
                added = true;
            }
        }
        entries.retain(|_, at| *at > horizon);
        if added {
            self.added.notify_waiters();
        }
    }

    fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A list [`keep_fresh`] reloads from a service's database.
pub trait Revocations: Clone + Send + Sync + 'static {
    /// What the list holds, for the log.
    const WHAT: &'static str;

    /// Adds `loaded` and drops the entries whose tokens have all expired at `now`.
    fn merge(&self, loaded: Vec<(Uuid, DateTime<Utc>)>, now: DateTime<Utc>);
}

/// Erased members. Shared, cheap to clone; every clone sees the same list.
#[derive(Clone, Debug, Default)]
pub struct RevokedMembers(Arc<List>);

impl RevokedMembers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses `member`'s tokens from now on; `erased_at` is when the account was erased.
    pub fn revoke(&self, member: Uuid, erased_at: DateTime<Utc>) {
        self.0.revoke(member, erased_at);
    }

    pub fn is_revoked(&self, member: Uuid) -> bool {
        self.0.contains(member)
    }

    /// Adds what a service's database knows and drops entries whose tokens have all expired
    /// at `now`. Never removes a fresh entry: a refresh that read the database just before
    /// an erasure committed must not undo the [`revoke`](Self::revoke) that followed it.
    pub fn merge(
        &self,
        erased: impl IntoIterator<Item = (Uuid, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) {
        self.0.merge(erased.into_iter().collect(), now);
    }

    /// How many members are on the list.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Revocations for RevokedMembers {
    const WHAT: &'static str = "erased members";

    fn merge(&self, loaded: Vec<(Uuid, DateTime<Utc>)>, now: DateTime<Utc>) {
        self.0.merge(loaded, now);
    }
}

/// Ended sessions (the `sid` of access tokens). Shared, cheap to clone; every clone sees the
/// same list.
#[derive(Clone, Debug, Default)]
pub struct RevokedSessions(Arc<List>);

impl RevokedSessions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses the tokens of `session` from now on; `revoked_at` is when it ended.
    pub fn revoke(&self, session: Uuid, revoked_at: DateTime<Utc>) {
        self.0.revoke(session, revoked_at);
    }

    pub fn is_revoked(&self, session: Uuid) -> bool {
        self.0.contains(session)
    }

    /// Resolves once `session` is on the list (at once if it is already): what ends a
    /// long-lived stream opened with one of its tokens.
    pub async fn revoked(&self, session: Uuid) {
        loop {
            // Registered before the check, so an addition between the two still wakes it.
            let added = self.0.added.notified();
            if self.0.contains(session) {
                return;
            }
            added.await;
        }
    }

    /// How many sessions are on the list.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Revocations for RevokedSessions {
    const WHAT: &'static str = "revoked sessions";

    fn merge(&self, loaded: Vec<(Uuid, DateTime<Utc>)>, now: DateTime<Utc>) {
        self.0.merge(loaded, now);
    }
}

/// How often a service reloads the list from its database.
pub const REFRESH_EVERY: StdDuration = StdDuration::from_secs(2);

/// Since when a service must look for erasures: older ones can no longer have a live token.
pub fn horizon(now: DateTime<Utc>) -> DateTime<Utc> {
    now - MAX_ACCESS_TOKEN_LIFETIME
}

/// Where a service records the revocations of list `R` (erased members or ended sessions).
pub trait RevocationLog<R: Revocations>: Send + Sync + 'static {
    /// Ids revoked after `since`, with when.
    fn revoked_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error>> + Send;
}

/// Ids with their times as a query returns them (UUID text); a row that holds anything else is
/// corrupt.
pub fn stored_revocations(
    rows: Vec<(String, DateTime<Utc>)>,
) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
    rows.into_iter()
        .map(|(id, at)| {
            let id = Uuid::try_parse(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok((id, at))
        })
        .collect()
}

/// The `erased_members (member_id, erased_at)` table a receiver of erasures keeps (events and
/// notifications each have one in their database).
#[derive(Clone, Debug)]
pub struct ErasedMembersTable(pub Db);

impl RevocationLog<RevokedMembers> for ErasedMembersTable {
    async fn revoked_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
        let rows = with_db!(&self.0, |pool| {
            sqlx::query_as("SELECT member_id, erased_at FROM erased_members WHERE erased_at > $1")
                .bind(since)
                .fetch_all(pool)
                .await
        })?;
        stored_revocations(rows)
    }
}

/// Most sessions one revocation notice names (ChangePassword may end many: members splits
/// them into notices of at most this many).
pub const MAX_SESSIONS_PER_REVOCATION: usize = 500;

/// Sessions of a member that ended, and when: what a `RevokeSessions` call says, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRevocation {
    pub member: Uuid,
    pub sessions: Vec<Uuid>,
    pub revoked_at: DateTime<Utc>,
}

impl SessionRevocation {
    /// Parses the fields of a `RevokeSessionsRequest` (events' and notifications' are alike),
    /// naming every bad field.
    pub fn parse(
        member_id: &str,
        session_ids: &[String],
        revoke_time: Option<&Timestamp>,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let member = crate::validate::id("member_id", member_id)
            .map_err(|v| violations.push(v))
            .ok();
        if session_ids.is_empty() {
            violations.push(FieldViolation::new("session_ids", "is required"));
        } else if session_ids.len() > MAX_SESSIONS_PER_REVOCATION {
            violations.push(FieldViolation::new(
                "session_ids",
                format!("at most {MAX_SESSIONS_PER_REVOCATION} sessions per call"),
            ));
        }
        let sessions: Vec<Uuid> = session_ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| {
                crate::validate::id(&format!("session_ids[{i}]"), id)
                    .map_err(|v| violations.push(v))
                    .ok()
            })
            .collect();
        let revoked_at = match revoke_time {
            None => {
                violations.push(FieldViolation::new("revoke_time", "is required"));
                None
            }
            Some(at) => crate::time::from_timestamp("revoke_time", at)
                .map_err(|v| violations.push(v))
                .ok(),
        };
        match (member, revoked_at) {
            (Some(member), Some(revoked_at)) if violations.is_empty() => Ok(Self {
                member,
                sessions,
                revoked_at,
            }),
            _ => Err(violations),
        }
    }
}

/// The `revoked_sessions (session_id, member_id, revoked_at)` table a receiver of session
/// revocations keeps (events and notifications each have one in their database).
#[derive(Clone, Debug)]
pub struct RevokedSessionsTable(pub Db);

impl RevokedSessionsTable {
    /// Records `revocation` (sessions already recorded are left as they are) and forgets the
    /// sessions whose tokens have all expired at `now`, in one transaction; returns how many
    /// sessions were new.
    pub async fn record(
        &self,
        revocation: &SessionRevocation,
        now: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        let member = revocation.member.to_string();
        with_db!(&self.0, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut qb = QueryBuilder::new(
                "INSERT INTO revoked_sessions (session_id, member_id, revoked_at) ",
            );
            qb.push_values(&revocation.sessions, |mut row, session| {
                row.push_bind(session.to_string())
                    .push_bind(member.clone())
                    .push_bind(revocation.revoked_at);
            });
            qb.push(" ON CONFLICT (session_id) DO NOTHING");
            let recorded = qb.build().execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM revoked_sessions WHERE revoked_at <= $1")
                .bind(horizon(now))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(recorded)
        })
    }
}

/// What a receiver of session revocations holds: its `revoked_sessions` table and its
/// verifier's list.
#[derive(Clone, Debug)]
pub struct SessionRevocations {
    list: RevokedSessions,
    table: RevokedSessionsTable,
}

impl SessionRevocations {
    pub fn new(list: RevokedSessions, db: Db) -> Self {
        Self {
            list,
            table: RevokedSessionsTable(db),
        }
    }

    /// The list the verifier refuses tokens by.
    pub fn list(&self) -> &RevokedSessions {
        &self.list
    }

    /// Records `revocation` in the table, then refuses its sessions' tokens here at once
    /// (other replicas read the table within [`REFRESH_EVERY`]); returns how many sessions
    /// were new to the table.
    pub async fn record(
        &self,
        revocation: &SessionRevocation,
        now: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        let recorded = self.table.record(revocation, now).await?;
        for session in &revocation.sessions {
            self.list.revoke(*session, revocation.revoked_at);
        }
        tracing::info!(
            member_id = %revocation.member,
            sessions = revocation.sessions.len(),
            recorded,
            "sessions revoked"
        );
        Ok(recorded)
    }

    /// Keeps the list current from the table every [`REFRESH_EVERY`] until `shutdown`.
    pub fn keep_fresh(
        &self,
        clock: Clock,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static {
        keep_fresh(
            self.list.clone(),
            self.table.clone(),
            clock,
            REFRESH_EVERY,
            shutdown,
        )
    }
}

impl RevocationLog<RevokedSessions> for RevokedSessionsTable {
    async fn revoked_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
        let rows = with_db!(&self.0, |pool| {
            sqlx::query_as(
                "SELECT session_id, revoked_at FROM revoked_sessions WHERE revoked_at > $1",
            )
            .bind(since)
            .fetch_all(pool)
            .await
        })?;
        stored_revocations(rows)
    }
}

/// Merges what `log` holds since [`horizon`] into `revoked` every `every` until `shutdown`; a
/// failed read is logged and retried on the next tick.
pub async fn keep_fresh<R: Revocations>(
    revoked: R,
    log: impl RevocationLog<R>,
    clock: Clock,
    every: StdDuration,
    shutdown: CancellationToken,
) {
    loop {
        let now = clock.now();
        match log.revoked_since(horizon(now)).await {
            Ok(loaded) => revoked.merge(loaded, now),
            Err(error) => tracing::warn!(%error, list = R::WHAT, "loading revocations failed"),
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

    impl RevocationLog<RevokedMembers> for OneErasure {
        async fn revoked_since(
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
