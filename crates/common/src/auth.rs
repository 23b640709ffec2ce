//! Authentication shared by every service.
//!
//! * Access tokens are JWTs signed by the members service with Ed25519 (`alg: EdDSA`, header
//!   `typ: at+jwt`), verified locally anywhere with the public key. Algorithm, issuer, audience,
//!   type and a lifetime of at most 15 minutes are all checked.
//! * Service credentials are JWTs with `typ: service+jwt`, signed with the calling service's own
//!   Ed25519 key for one target service ([`service`]); which service may call which internal
//!   method is [`callers`]. A member token can never pass for one: the two types are told apart
//!   by the header, and each type is verified against its own keys, issuer and audience.

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::Clock;
use crate::revocations::{RevokedMembers, RevokedSessions};

pub mod callers;
mod service;

use service::ServiceVerifier;
pub use service::{
    KeyFiles, SERVICE_CREDENTIAL_LIFETIME, ServiceCredentials, ServiceKeySet, ServiceKeys,
    ServiceName, UnknownService, load_service_keys, write_private,
};

/// `iss` of every token.
pub const ISSUER: &str = "rendezvous-members";
/// `aud` of access tokens.
pub const AUDIENCE: &str = "rendezvous";
/// Header `typ` of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// Header `typ` of service credentials.
pub const SERVICE_TOKEN_TYPE: &str = "service+jwt";
/// The longest access-token lifetime any verifier accepts.
pub const MAX_ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(15);

/// Who is calling, as resolved by the auth layer from the `authorization` metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    Member { id: Uuid, session_id: Uuid },
    Service { name: ServiceName },
}

/// A verified caller, and when its credential stops being valid (a member's access token;
/// `None` for anonymous and service callers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub caller: Caller,
    pub expires_at: Option<DateTime<Utc>>,
}

/// When the caller's access token expires, in a member request's extensions (set by the
/// server's auth layer): what a long-lived stream ends at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialExpiry(pub DateTime<Utc>);

impl Caller {
    /// Short form for logs: `anonymous`, `member:<id>`, `service:<name>`.
    pub fn label(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".to_owned(),
            Self::Member { id, .. } => format!("member:{id}"),
            Self::Service { name } => format!("service:{name}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("malformed authorization metadata")]
    Malformed,
    #[error("invalid token")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("the account was deleted")]
    Revoked,
    #[error("the session has ended")]
    SessionRevoked,
    #[error("key error: {0}")]
    Key(String),
}

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    aud: String,
    sub: String,
    /// The session (refresh-token family) the token belongs to; revoking it ends the session.
    sid: String,
    iat: i64,
    exp: i64,
    jti: String,
}

/// An Ed25519 key pair that signs access tokens.
#[derive(Clone)]
pub struct SigningKeyPair {
    key: SigningKey,
}

impl std::fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKeyPair(kid={}, <private key redacted>)",
            self.key_id()
        )
    }
}

impl SigningKeyPair {
    pub fn generate() -> Self {
        Self {
            key: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, AuthError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(|key| Self { key })
            .map_err(|e| AuthError::Key(e.to_string()))
    }

    pub fn to_pkcs8_pem(&self) -> Result<String, AuthError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| AuthError::Key(e.to_string()))
    }

    pub fn public_key_pem(&self) -> Result<String, AuthError> {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| AuthError::Key(e.to_string()))
    }

    pub fn key_id(&self) -> String {
        key_id(&self.key.verifying_key())
    }

    pub fn verifying_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }
}

/// A public key that verifies access tokens.
#[derive(Clone, Debug)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    pub fn from_pem(pem: &str) -> Result<Self, AuthError> {
        VerifyingKey::from_public_key_pem(pem)
            .map(Self)
            .map_err(|e| AuthError::Key(e.to_string()))
    }

    pub fn to_pem(&self) -> Result<String, AuthError> {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| AuthError::Key(e.to_string()))
    }

    pub fn key_id(&self) -> String {
        key_id(&self.0)
    }
}

fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A freshly minted access token.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Mints access tokens (members service only: it alone holds the private key).
#[derive(Clone, Debug)]
pub struct TokenIssuer {
    key: SigningKeyPair,
    encoding: EncodingKeyHolder,
    lifetime: Duration,
    clock: Clock,
}

#[derive(Clone)]
struct EncodingKeyHolder(EncodingKey);

impl std::fmt::Debug for EncodingKeyHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl TokenIssuer {
    /// `lifetime` is capped at [`MAX_ACCESS_TOKEN_LIFETIME`].
    pub fn new(key: SigningKeyPair, lifetime: Duration, clock: Clock) -> Result<Self, AuthError> {
        let pem = key.to_pkcs8_pem()?;
        let encoding =
            EncodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| AuthError::Key(e.to_string()))?;
        Ok(Self {
            key,
            encoding: EncodingKeyHolder(encoding),
            lifetime: lifetime.min(MAX_ACCESS_TOKEN_LIFETIME),
            clock,
        })
    }

    pub fn public_key(&self) -> PublicKey {
        self.key.verifying_key()
    }

    pub fn issue(&self, member_id: Uuid, session_id: Uuid) -> Result<AccessToken, AuthError> {
        let now = self.clock.now();
        let expires_at = now + self.lifetime;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(self.key.key_id());
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: member_id.to_string(),
            sid: session_id.to_string(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::now_v7().to_string(),
        };
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding.0)
            .map_err(|e| AuthError::Key(e.to_string()))?;
        Ok(AccessToken { token, expires_at })
    }
}

/// Verifies access tokens and service credentials; every service has one.
#[derive(Clone)]
pub struct TokenVerifier {
    access_keys: Vec<(String, DecodingKey)>,
    services: ServiceVerifier,
    clock: Clock,
    revoked: RevokedMembers,
    revoked_sessions: RevokedSessions,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field(
                "access_key_ids",
                &self.access_keys.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("service_key_ids", &self.services.key_ids())
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// Verifies access tokens signed by `access_keys`, and the credentials of the services
    /// whose keys `service_keys` holds, for its own service only.
    pub fn new(
        access_keys: &[PublicKey],
        service_keys: &ServiceKeys,
        clock: Clock,
    ) -> Result<Self, AuthError> {
        let access_keys = access_keys
            .iter()
            .map(|key| {
                let pem = key.to_pem()?;
                DecodingKey::from_ed_pem(pem.as_bytes())
                    .map(|decoding| (key.key_id(), decoding))
                    .map_err(|e| AuthError::Key(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            access_keys,
            services: ServiceVerifier::new(service_keys)?,
            clock,
            revoked: RevokedMembers::new(),
            revoked_sessions: RevokedSessions::new(),
        })
    }

    /// Refuses the access tokens of the members on `revoked` (erased accounts), whatever
    /// their expiry; the service keeps the list current.
    pub fn with_revocations(mut self, revoked: RevokedMembers) -> Self {
        self.revoked = revoked;
        self
    }

    /// The list of members whose tokens this verifier refuses.
    pub fn revocations(&self) -> &RevokedMembers {
        &self.revoked
    }

    /// The list of ended sessions whose tokens this verifier refuses, whatever their expiry;
    /// the service keeps it current.
    pub fn session_revocations(&self) -> &RevokedSessions {
        &self.revoked_sessions
    }

    /// Resolves the caller from an `authorization` metadata value (`None`: anonymous).
    pub fn resolve(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        self.resolve_credential(authorization).map(|c| c.caller)
    }

    /// The caller and, for a member, when their access token expires.
    pub fn resolve_credential(&self, authorization: Option<&str>) -> Result<Credential, AuthError> {
        let Some(value) = authorization else {
            return Ok(Credential {
                caller: Caller::Anonymous,
                expires_at: None,
            });
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthError::Malformed)?
            .trim();
        if token.is_empty() || token.len() > 4096 {
            return Err(AuthError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        match header.typ.as_deref() {
            Some(ACCESS_TOKEN_TYPE) => self.verify_access(token, header.kid.as_deref()),
            Some(SERVICE_TOKEN_TYPE) => self
                .services
                .verify(token, header.kid.as_deref(), |iat, exp, max| {
                    self.check_times(iat, exp, max)
                })
                .map(|name| Credential {
                    caller: Caller::Service { name },
                    expires_at: None,
                }),
            _ => Err(AuthError::Invalid),
        }
    }

    fn validation(&self, alg: Algorithm, audience: &str) -> Validation {
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.set_audience(&[audience]);
        // Expiry is checked against the injectable clock below.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
        validation
    }

    fn check_times(&self, iat: i64, exp: i64, max_lifetime: Duration) -> Result<(), AuthError> {
        let now = self.clock.now().timestamp();
        if exp - iat > max_lifetime.num_seconds() || iat > now + 60 {
            return Err(AuthError::Invalid);
        }
        if exp <= now {
            return Err(AuthError::Expired);
        }
        Ok(())
    }

    fn verify_access(&self, token: &str, kid: Option<&str>) -> Result<Credential, AuthError> {
        let mut validation = self.validation(Algorithm::EdDSA, AUDIENCE);
        validation.set_issuer(&[ISSUER]);
        let candidates = self
            .access_keys
            .iter()
            .filter(|(id, _)| kid.is_none_or(|kid| kid == id));
        for (_, key) in candidates {
            if let Ok(data) = jsonwebtoken::decode::<AccessClaims>(token, key, &validation) {
                let claims = data.claims;
                self.check_times(claims.iat, claims.exp, MAX_ACCESS_TOKEN_LIFETIME)?;
                let id = Uuid::try_parse(&claims.sub).map_err(|_| AuthError::Invalid)?;
                let session_id = Uuid::try_parse(&claims.sid).map_err(|_| AuthError::Invalid)?;
                if self.revoked.is_revoked(id) {
                    return Err(AuthError::Revoked);
                }
                if self.revoked_sessions.is_revoked(session_id) {
                    return Err(AuthError::SessionRevoked);
                }
                return Ok(Credential {
                    caller: Caller::Member { id, session_id },
                    expires_at: DateTime::from_timestamp(claims.exp, 0),
                });
            }
        }
        Err(AuthError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    /// Members' issuer and verifier, and the credentials of events' calls to members.
    fn setup() -> (TokenIssuer, TokenVerifier, ServiceCredentials, Clock) {
        let (issuer, verifier, keys, clock) = setup_with_keys();
        let creds = keys
            .keys_for(ServiceName::Events)
            .credentials(ServiceName::Members, clock.clone())
            .unwrap_or_else(|_| unreachable!());
        (issuer, verifier, creds, clock)
    }

    fn setup_with_keys() -> (TokenIssuer, TokenVerifier, ServiceKeySet, Clock) {
        let clock = Clock::manual(Utc::now());
        let key = SigningKeyPair::generate();
        let keys = ServiceKeySet::generate();
        let issuer = TokenIssuer::new(key.clone(), Duration::minutes(10), clock.clone())
            .unwrap_or_else(|_| unreachable!());
        let verifier = TokenVerifier::new(
            &[key.verifying_key()],
            &keys.keys_for(ServiceName::Members),
            clock.clone(),
        )
        .unwrap_or_else(|_| unreachable!());
        (issuer, verifier, keys, clock)
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    /// Claims of a credential from events (`sub` as given) to members, living `lifetime`
    /// seconds from now.
    fn events_claims(clock: &Clock, sub: &str, lifetime: i64) -> serde_json::Value {
        let now = clock.now().timestamp();
        serde_json::json!({
            "iss": "rendezvous-events", "sub": sub, "aud": "rendezvous-members",
            "iat": now, "exp": now + lifetime,
        })
    }

    /// A service credential with the given claims, signed by `key` but naming `kid`.
    fn forged(key: &SigningKeyPair, kid: &str, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(SERVICE_TOKEN_TYPE.to_owned());
        header.kid = Some(kid.to_owned());
        let pem = key.to_pkcs8_pem().unwrap_or_else(|_| unreachable!());
        let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).unwrap_or_else(|_| unreachable!());
        bearer(&jsonwebtoken::encode(&header, claims, &encoding).unwrap_or_else(|_| unreachable!()))
    }

    #[test]
    fn access_tokens_verify_until_they_expire() -> Result<(), AuthError> {
        let (issuer, verifier, _, clock) = setup();
        let (member, session) = (Uuid::now_v7(), Uuid::now_v7());
        let token = issuer.issue(member, session)?;
        let caller = verifier.resolve(Some(&format!("Bearer {}", token.token)))?;
        assert_eq!(
            caller,
            Caller::Member {
                id: member,
                session_id: session
            }
        );
        clock.advance(Duration::minutes(11));
        assert!(matches!(
            verifier.resolve(Some(&format!("Bearer {}", token.token))),
            Err(AuthError::Expired)
        ));
        Ok(())
    }

    #[test]
    fn an_erased_members_tokens_are_refused_before_they_expire() -> Result<(), AuthError> {
        let (issuer, verifier, _, clock) = setup();
        let revoked = RevokedMembers::new();
        let verifier = verifier.with_revocations(revoked.clone());
        let (erased, other) = (Uuid::now_v7(), Uuid::now_v7());
        let erased_token = format!("Bearer {}", issuer.issue(erased, Uuid::now_v7())?.token);
        let other_token = format!("Bearer {}", issuer.issue(other, Uuid::now_v7())?.token);
        assert!(verifier.resolve(Some(&erased_token)).is_ok());

        // The list is shared: revoking on the service's copy reaches the verifier.
        verifier.revocations().revoke(erased, clock.now());
        assert!(matches!(
            verifier.resolve(Some(&erased_token)),
            Err(AuthError::Revoked)
        ));
        assert!(revoked.is_revoked(erased));
        assert!(verifier.resolve(Some(&other_token)).is_ok());
        Ok(())
    }

    #[test]
    fn tokens_of_an_ended_session_are_refused_and_other_sessions_go_on() -> Result<(), AuthError> {
        let (issuer, verifier, _, clock) = setup();
        let member = Uuid::now_v7();
        let (ended, other) = (Uuid::now_v7(), Uuid::now_v7());
        let ended_token = format!("Bearer {}", issuer.issue(member, ended)?.token);
        let other_token = format!("Bearer {}", issuer.issue(member, other)?.token);
        assert!(verifier.resolve(Some(&ended_token)).is_ok());

        verifier.session_revocations().revoke(ended, clock.now());
        assert!(matches!(
            verifier.resolve(Some(&ended_token)),
            Err(AuthError::SessionRevoked)
        ));
        assert!(verifier.resolve(Some(&other_token)).is_ok());
        Ok(())
    }

    #[test]
    fn tampered_and_unsigned_tokens_are_refused() -> Result<(), AuthError> {
        let (issuer, verifier, _, _) = setup();
        let token = issuer.issue(Uuid::now_v7(), Uuid::now_v7())?.token;
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(parts[1])
                .map_err(|_| AuthError::Invalid)?,
        )
        .map_err(|_| AuthError::Invalid)?;
        claims["sub"] = serde_json::Value::String(Uuid::now_v7().to_string());
        let forged_claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let tampered = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert!(
            verifier
                .resolve(Some(&format!("Bearer {tampered}")))
                .is_err()
        );
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert!(
            verifier
                .resolve(Some(&format!("Bearer {unsigned}")))
                .is_err()
        );
        Ok(())
    }

    #[test]
    fn service_credentials_resolve_to_services_only() -> Result<(), AuthError> {
        let (issuer, verifier, creds, _) = setup();
        let caller = verifier.resolve(Some(&creds.bearer()?))?;
        assert_eq!(
            caller,
            Caller::Service {
                name: ServiceName::Events
            }
        );
        // A member token relabelled as a service token fails the service check.
        let token = issuer.issue(Uuid::now_v7(), Uuid::now_v7())?.token;
        let parts: Vec<&str> = token.split('.').collect();
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"service+jwt"}"#);
        let relabelled = format!("{header}.{}.{}", parts[1], parts[2]);
        assert!(
            verifier
                .resolve(Some(&format!("Bearer {relabelled}")))
                .is_err()
        );
        Ok(())
    }

    #[test]
    fn a_credential_for_another_service_is_refused() -> Result<(), AuthError> {
        let (_, verifier, keys, clock) = setup_with_keys();
        let events = keys.keys_for(ServiceName::Events);
        // Valid, signed by a known caller, but meant for notifications: members refuses it.
        let for_notifications = events.credentials(ServiceName::Notifications, clock.clone())?;
        assert!(matches!(
            verifier.resolve(Some(&for_notifications.bearer()?)),
            Err(AuthError::Invalid)
        ));
        let for_members = events.credentials(ServiceName::Members, clock)?;
        assert!(verifier.resolve(Some(&for_members.bearer()?)).is_ok());
        Ok(())
    }

    #[test]
    fn a_credential_signed_by_an_unknown_key_is_refused() -> Result<(), AuthError> {
        let (_, verifier, keys, clock) = setup_with_keys();
        let stranger = SigningKeyPair::generate();
        let unknown = ServiceCredentials::new(
            ServiceName::Events,
            ServiceName::Members,
            &stranger,
            clock.clone(),
        )?;
        assert!(matches!(
            verifier.resolve(Some(&unknown.bearer()?)),
            Err(AuthError::Invalid)
        ));
        // The stranger's signature under the key id of events does not verify either.
        let claims = events_claims(&clock, "rendezvous-events", 60);
        let events_kid = keys.key(ServiceName::Events).key_id();
        assert!(
            verifier
                .resolve(Some(&forged(&stranger, &events_kid, &claims)))
                .is_err()
        );
        assert!(
            verifier
                .resolve(Some(&forged(
                    keys.key(ServiceName::Events),
                    &events_kid,
                    &claims
                )))
                .is_ok()
        );
        // No kid at all.
        assert!(
            verifier
                .resolve(Some(&forged(keys.key(ServiceName::Events), "", &claims)))
                .is_err()
        );
        // Its own credential resolves to itself (the caller table lists it nowhere).
        let own = keys
            .keys_for(ServiceName::Members)
            .credentials(ServiceName::Members, clock)?;
        assert_eq!(
            verifier.resolve(Some(&own.bearer()?))?,
            Caller::Service {
                name: ServiceName::Members
            }
        );
        Ok(())
    }

    #[test]
    fn the_issuer_must_be_the_service_whose_key_signed() -> Result<(), AuthError> {
        let (_, verifier, keys, clock) = setup_with_keys();
        // Signed with events' key, claiming to come from notifications.
        let posing = ServiceCredentials::new(
            ServiceName::Notifications,
            ServiceName::Members,
            keys.key(ServiceName::Events),
            clock.clone(),
        )?;
        assert!(matches!(
            verifier.resolve(Some(&posing.bearer()?)),
            Err(AuthError::Invalid)
        ));
        // iss right, sub another service.
        let events_kid = keys.key(ServiceName::Events).key_id();
        let claims = events_claims(&clock, "rendezvous-notifications", 60);
        assert!(
            verifier
                .resolve(Some(&forged(
                    keys.key(ServiceName::Events),
                    &events_kid,
                    &claims
                )))
                .is_err()
        );
        Ok(())
    }

    #[test]
    fn service_credentials_live_five_minutes_at_most() -> Result<(), AuthError> {
        let (_, verifier, creds, clock) = setup();
        let token = creds.bearer()?;
        clock.advance(Duration::minutes(4));
        assert!(verifier.resolve(Some(&token)).is_ok());
        clock.advance(Duration::minutes(2));
        assert!(matches!(
            verifier.resolve(Some(&token)),
            Err(AuthError::Expired)
        ));
        let (_, verifier, keys, clock) = setup_with_keys();
        let claims = events_claims(&clock, "rendezvous-events", 6 * 60);
        let events = keys.key(ServiceName::Events);
        assert!(matches!(
            verifier.resolve(Some(&forged(events, &events.key_id(), &claims))),
            Err(AuthError::Invalid)
        ));
        Ok(())
    }

    #[test]
    fn service_names_parse_from_their_names_and_audiences_only() {
        for name in ServiceName::ALL {
            assert_eq!(name.as_str().parse::<ServiceName>().ok(), Some(name));
            assert_eq!(name.audience().parse::<ServiceName>().ok(), Some(name));
        }
        for bad in ["", "evil", "Members", "rendezvous", "service:events"] {
            assert!(bad.parse::<ServiceName>().is_err(), "{bad}");
        }
    }
}
