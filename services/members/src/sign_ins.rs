//! The sign-in and registration limits, stored (see [`crate::store::Budget`]) so that they
//! hold across replicas and restarts.
//!
//! A sign-in takes its hits **before** the password hash is checked, and gives them back
//! only when it succeeds: concurrent wrong passwords can never get more hash checks than the
//! budget. Three budgets count a failure (OWASP's authentication guidance, NIST SP 800-63B
//! §5.2.2's at most 100 failed attempts per account):
//!
//! - **account from one address** (10 per 15 minutes): what one guesser gets;
//! - **account from addresses it never signed in from** (100 per day): a guesser spread over
//!   many addresses. An address the member signed in from in the last 90 days is exempt, so
//!   that a stranger spending this budget never locks the member out where they usually sign
//!   in (and the first budget still holds there);
//! - **address, whatever the account** (50 per 15 minutes): one address spraying many
//!   accounts.
//!
//! Registrations are counted per client address (30 per hour: a meetup's attendees signing
//! up over one venue's Wi-Fi share an address), whether or not they succeed.
//!
//! ChangePassword takes a hit of its own before it checks the current password (10 per 15
//! minutes per account, the first budget's setting), so that a stolen access token cannot
//! guess the password faster than sign-in could.
//!
//! Keys are HMAC-SHA-256 of the email or address under a key of the service's own, so the
//! table holds neither; a successful sign-in forgets its address's failures for that account.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::{Budget, Hit, Store};

/// The budgets; each is a setting (README, "Security").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInPolicy {
    /// Failed sign-ins of one account from one address.
    pub per_account_and_address: Budget,
    /// Failed sign-ins of one account from addresses it has not signed in from lately.
    pub per_account_elsewhere: Budget,
    /// Failed sign-ins from one address, whatever the account.
    pub per_address: Budget,
    /// Registrations from one address.
    pub registrations_per_address: Budget,
    /// How long an address the member signed in from stays exempt from
    /// `per_account_elsewhere`.
    pub known_address_for: Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        Self {
            per_account_and_address: Budget {
                max: 10,
                window: Duration::minutes(15),
            },
            per_account_elsewhere: Budget {
                max: 100,
                window: Duration::days(1),
            },
            per_address: Budget {
                max: 50,
                window: Duration::minutes(15),
            },
            registrations_per_address: Budget {
                max: 30,
                window: Duration::hours(1),
            },
            known_address_for: Duration::days(90),
        }
    }
}

/// The limits over the members store.
pub struct SignInLimits {
    store: Store,
    policy: SignInPolicy,
    key: [u8; 32],
}

/// A ChangePassword let through to the check of the current password, holding its hit.
pub struct PasswordCheck {
    attempt: Uuid,
    key: String,
}

/// A sign-in let through to the password check, holding its hits.
pub struct SignInAttempt {
    attempt: Uuid,
    pair: String,
    address: String,
}

impl SignInLimits {
    /// `key` keys the hashes that stand for emails and addresses in the tables.
    pub fn new(store: Store, policy: SignInPolicy, key: [u8; 32]) -> Self {
        Self { store, policy, key }
    }

    fn hash(&self, parts: &[&str]) -> String {
        let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Takes the hits of a sign-in of `email` (normalised) from `peer` by `member` (`None`
    /// for an email no account has: counted the same, so that the limits tell nothing), or
    /// refuses it with the wait until one more is allowed.
    pub async fn begin(
        &self,
        email: &str,
        peer: Option<IpAddr>,
        member: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<SignInAttempt> {
        let peer = peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
        let address = self.hash(&["address", &peer]);
        let pair = self.hash(&["account-address", email, &peer]);
        let known = match member {
            Some(member) => {
                self.store
                    .signed_in_from(member, &address, now - self.policy.known_address_for)
                    .await?
            }
            None => false,
        };
        let mut hits = vec![
            Hit {
                key: pair.clone(),
                budget: self.policy.per_account_and_address,
            },
            Hit {
                key: address.clone(),
                budget: self.policy.per_address,
            },
        ];
        if !known {
            hits.push(Hit {
                key: self.hash(&["account", email]),
                budget: self.policy.per_account_elsewhere,
            });
        }
        match self.store.take_hits(&hits, now).await? {
            Ok(attempt) => Ok(SignInAttempt {
                attempt,
                pair,
                address,
            }),
            Err(wait) => Err(Error::rate_limited(wait)),
        }
    }

    /// The attempt's password was right: its hits are given back, the failures of this
    /// account from this address forgotten, and the address remembered as the member's.
    pub async fn succeeded(
        &self,
        attempt: SignInAttempt,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.store
            .release_attempt(attempt.attempt, &[attempt.pair])
            .await?;
        self.store
            .remember_sign_in_address(member, &attempt.address, now)
            .await?;
        Ok(())
    }

    /// Takes the hit of a ChangePassword by `member` before its current password is checked,
    /// or refuses it with the wait. Wrong current passwords spend the budget of one account
    /// from one address (`per_account_and_address`), keyed by the account whatever the
    /// address: a stolen access token guesses no faster than a sign-in could.
    pub async fn begin_password_check(
        &self,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<PasswordCheck> {
        let key = self.hash(&["password-check", &member.to_string()]);
        let hit = Hit {
            key: key.clone(),
            budget: self.policy.per_account_and_address,
        };
        match self.store.take_hits(&[hit], now).await? {
            Ok(attempt) => Ok(PasswordCheck { attempt, key }),
            Err(wait) => Err(Error::rate_limited(wait)),
        }
    }

    /// The current password was right: the check's hit is given back and the account's
    /// earlier wrong ones forgotten.
    pub async fn password_check_passed(&self, check: PasswordCheck) -> Result<()> {
        self.store
            .release_attempt(check.attempt, &[check.key])
            .await?;
        Ok(())
    }

    /// Takes the hit of a registration from `peer`, or refuses it with the wait.
    pub async fn register(&self, peer: Option<IpAddr>, now: DateTime<Utc>) -> Result<()> {
        let peer = peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
        let hit = Hit {
            key: self.hash(&["register", &peer]),
            budget: self.policy.registrations_per_address,
        };
        match self.store.take_hits(&[hit], now).await? {
            Ok(_) => Ok(()),
            Err(wait) => Err(Error::rate_limited(wait)),
        }
    }
}

/// The key of the limits' hashes, derived from the page-token key (itself derived from the
/// service secret): stable across restarts and replicas, of no use for anything else.
pub fn limits_key(page_token_key: &[u8; 32]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(page_token_key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(b"members/rate-limit-keys");
    mac.finalize().into_bytes().into()
}
