//! One-click unsubscribe tokens (RFC 8058): a signed, expiring statement "member M no longer
//! wants email of kind K", carried in the `List-Unsubscribe` URL of every email.
//!
//! A token is a JWT MACed with HS256 (jsonwebtoken, already how service credentials are made)
//! under a key of its own (`RENDEZVOUS_UNSUBSCRIBE_KEY`, or by default one derived from the
//! service secret with the label [`KEY_LABEL`]). It is bound to this use three ways, so no
//! other token of the system passes for one: the header `typ` is [`TOKEN_TYPE`], the audience
//! is [`AUDIENCE`], and the key differs from the service credentials' one. Only HS256 is
//! accepted; expiry is checked against the service's clock.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rendezvous_proto::notifications::v1::NotificationKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain;

/// `aud` of unsubscribe tokens.
pub const AUDIENCE: &str = "unsubscribe";
/// `iss` of unsubscribe tokens.
pub const ISSUER: &str = "rendezvous-notifications";
/// Header `typ` of unsubscribe tokens.
pub const TOKEN_TYPE: &str = "unsubscribe+jwt";
/// The label the default key is derived from the service secret with.
pub const KEY_LABEL: &str = "notifications/unsubscribe-tokens";
/// How long a link works by default.
pub const DEFAULT_LIFETIME: Duration = Duration::days(60);
/// Longest token accepted for verification; real ones are about 300 characters.
pub const MAX_TOKEN_LEN: usize = 1024;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    /// The member.
    sub: String,
    /// The stored kind name (`EVENT_INVITATION`).
    kind: String,
    iat: i64,
    exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token at all: empty, too long, or characters no token has.
    #[error("malformed unsubscribe token")]
    Malformed,
    /// Not signed with our key for this use, altered, or naming no member or kind.
    #[error("invalid unsubscribe token")]
    Invalid,
    #[error("expired unsubscribe token")]
    Expired,
}

/// What a valid token asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe {
    pub member: Uuid,
    pub kind: NotificationKind,
}

/// Issues and verifies unsubscribe tokens with one key.
#[derive(Clone)]
pub struct UnsubscribeTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime: Duration,
}

impl std::fmt::Debug for UnsubscribeTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsubscribeTokens")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl UnsubscribeTokens {
    /// Tokens MACed with `key`, valid for `lifetime` after they are issued.
    pub fn new(key: &[u8], lifetime: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            lifetime,
        }
    }

    /// A token for `member` and `kind`, valid from `now` for the configured lifetime.
    pub fn issue(
        &self,
        member: Uuid,
        kind: NotificationKind,
        now: DateTime<Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.to_owned());
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: member.to_string(),
            kind: domain::kind_name(kind).to_owned(),
            iat: now.timestamp(),
            exp: (now + self.lifetime).timestamp(),
        };
        jsonwebtoken::encode(&header, &claims, &self.encoding)
    }

    /// What `token` asks for, if it is ours, unaltered and not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Unsubscribe, TokenError> {
        if !well_formed(token) {
            return Err(TokenError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(TokenError::Invalid);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        // Expiry is checked against the injectable clock below.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        let member = Uuid::try_parse(&claims.sub).map_err(|_| TokenError::Invalid)?;
        let kind = domain::kind_from_name(&claims.kind);
        if kind == NotificationKind::Unspecified || claims.iat > claims.exp {
            return Err(TokenError::Invalid);
        }
        if claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(Unsubscribe { member, kind })
    }
}

/// Whether `token` could be a JWT: three dot-separated parts of base64url, not too long.
fn well_formed(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token.split('.').count() == 3
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn tokens() -> UnsubscribeTokens {
        UnsubscribeTokens::new(&[3; 32], Duration::days(60))
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_token_names_its_member_and_kind_until_it_expires() {
        let member = Uuid::now_v7();
        let token = tokens()
            .issue(member, NotificationKind::EventInvitation, now())
            .unwrap();
        assert!(token.len() < 400, "{}", token.len());
        let expected = Unsubscribe {
            member,
            kind: NotificationKind::EventInvitation,
        };
        assert_eq!(tokens().verify(&token, now()), Ok(expected));
        let last = now() + Duration::days(60) - Duration::seconds(1);
        assert_eq!(tokens().verify(&token, last), Ok(expected));
        assert_eq!(
            tokens().verify(&token, now() + Duration::days(60)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn other_keys_other_token_types_and_garbage_are_refused() {
        let member = Uuid::now_v7();
        let kind = NotificationKind::Welcome;
        let other = UnsubscribeTokens::new(&[4; 32], Duration::days(60));
        let token = other.issue(member, kind, now()).unwrap();
        assert_eq!(tokens().verify(&token, now()), Err(TokenError::Invalid));

        // A service credential made with the same key is not an unsubscribe token.
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("service+jwt".to_owned());
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: "rendezvous-internal".to_owned(),
            sub: member.to_string(),
            kind: "WELCOME".to_owned(),
            iat: now().timestamp(),
            exp: now().timestamp() + 60,
        };
        let service =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&[3; 32])).unwrap();
        assert_eq!(tokens().verify(&service, now()), Err(TokenError::Invalid));
        // The right type but another audience.
        header.typ = Some(TOKEN_TYPE.to_owned());
        let audience =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&[3; 32])).unwrap();
        assert_eq!(tokens().verify(&audience, now()), Err(TokenError::Invalid));
        // The right audience but an unknown kind.
        let unknown_kind = Claims {
            aud: AUDIENCE.to_owned(),
            kind: "NOT_A_KIND".to_owned(),
            ..claims
        };
        let unknown_kind =
            jsonwebtoken::encode(&header, &unknown_kind, &EncodingKey::from_secret(&[3; 32]))
                .unwrap();
        assert_eq!(
            tokens().verify(&unknown_kind, now()),
            Err(TokenError::Invalid)
        );

        let valid = tokens().issue(member, kind, now()).unwrap();
        let too_long = format!("{valid}{}", "a".repeat(MAX_TOKEN_LEN));
        for garbage in ["", "abc", "a.b", "a b.c.d", "é.a.b", too_long.as_str()] {
            assert_eq!(
                tokens().verify(garbage, now()),
                Err(TokenError::Malformed),
                "{garbage}"
            );
        }
        // alg: none, unsigned.
        let (_, rest) = valid.split_once('.').unwrap();
        let (payload, _) = rest.split_once('.').unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoidW5zdWJzY3JpYmUrand0In0.{payload}.");
        assert!(tokens().verify(&none, now()).is_err());
    }
}
