//! What the handlers of every area share: the service's state and the small helpers that
//! read the caller and convert times.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rendezvous_common::auth::{Caller, TokenIssuer, TokenVerifier};
use rendezvous_common::clock::Clock;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::pagination::PageTokens;
use rendezvous_common::revocations::{RevokedMembers, RevokedSessions};
use rendezvous_common::server::caller;
use rendezvous_common::time;
use rendezvous_common::validate;
use rendezvous_proto::prost_types::Timestamp;
use tonic::Request;
use uuid::Uuid;

use crate::Settings;
use crate::domain::password::Hashing;
use crate::error::{Error, Result};
use crate::peers::Peers;
use crate::sign_ins::SignInLimits;
use crate::store::Store;

pub(super) struct State {
    pub(super) store: Store,
    pub(super) clock: Clock,
    pub(super) issuer: TokenIssuer,
    pub(super) page_tokens: PageTokens,
    pub(super) settings: Settings,
    pub(super) sign_ins: SignInLimits,
    /// Bounds the argon2 work running at once.
    pub(super) hashing: Hashing,
    /// Erased members, whose access tokens the auth layer refuses (shared with its verifier).
    pub(super) revoked: RevokedMembers,
    /// Ended sessions, whose access tokens the auth layer refuses (shared with its verifier):
    /// a session this replica ends is refused here at once.
    pub(super) revoked_sessions: RevokedSessions,
    /// Events and notifications, for their parts of a data export.
    pub(super) peers: Peers,
    /// Told of each opt-in to coffee proposals, so the rounds' task runs one soon.
    pub(super) coffee_opt_ins: Arc<tokio::sync::Notify>,
}

/// The members service; clone-cheap.
#[derive(Clone)]
pub struct Members(pub(super) Arc<State>);

impl Members {
    pub fn new(
        store: Store,
        clock: Clock,
        issuer: TokenIssuer,
        page_token_key: &[u8; 32],
        settings: Settings,
        verifier: &TokenVerifier,
        peers: Peers,
    ) -> Self {
        let sign_ins = SignInLimits::new(
            store.clone(),
            settings.sign_in_limits.clone(),
            crate::sign_ins::limits_key(page_token_key),
        );
        let page_tokens = PageTokens::new(page_token_key);
        let hashing = Hashing::new(settings.password_hashes_at_once);
        Self(Arc::new(State {
            store,
            clock,
            issuer,
            page_tokens,
            settings,
            sign_ins,
            hashing,
            revoked: verifier.revocations().clone(),
            revoked_sessions: verifier.session_revocations().clone(),
            peers,
            coffee_opt_ins: Arc::new(tokio::sync::Notify::new()),
        }))
    }

    /// What the coffee rounds' task waits on besides its clock: notified when a member opts
    /// in to coffee proposals.
    pub fn coffee_opt_ins(&self) -> Arc<tokio::sync::Notify> {
        self.0.coffee_opt_ins.clone()
    }

    /// The cursor a page token of `scope` holds; `None` for the first page.
    pub(super) fn cursor<T: serde::de::DeserializeOwned>(
        &self,
        scope: &str,
        token: &str,
    ) -> Result<Option<T>, FieldViolation> {
        self.0.page_tokens.decode(scope, token)
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.0.clock.now_micros()
    }
}

pub(super) fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(time::to_timestamp(at))
}

/// The signed-in member and their session; UNAUTHENTICATED for anyone else.
pub(super) fn member_caller<T>(request: &Request<T>) -> Result<(Uuid, Uuid)> {
    match caller(request) {
        Caller::Member { id, session_id } => Ok((id, session_id)),
        _ => Err(Error::Unauthenticated),
    }
}

/// An id field that may also be `me` for the caller.
pub(super) fn id_or_me(field: &str, value: &str, me: Option<Uuid>) -> Result<Uuid> {
    if value == "me" {
        return me.ok_or(Error::Unauthenticated);
    }
    Ok(validate::id(field, value)?)
}

pub(super) fn peer_ip<T>(request: &Request<T>) -> Option<IpAddr> {
    request.remote_addr().map(|a| a.ip())
}
