//! Keyset pagination: page sizes (AIP-158) and opaque, tamper-evident page tokens. A token is
//! the base64url JSON of a cursor plus an HMAC-SHA256 over it and the method it belongs to, so a
//! client can neither forge a cursor nor reuse one with another method.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

use crate::error::FieldViolation;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks page tokens with one service-wide secret.
#[derive(Clone)]
pub struct PageTokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens(<redacted>)")
    }
}

impl PageTokens {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, scope: &str, payload: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("hmac takes keys of any length"),
        };
        mac.update(scope.as_bytes());
        mac.update(b"\0");
        mac.update(payload);
        mac
    }

    /// Encodes the cursor of the next page; `scope` names the list method.
    pub fn encode<T: Serialize>(&self, scope: &str, cursor: &T) -> String {
        let payload = serde_json::to_vec(cursor).unwrap_or_default();
        let tag = self.mac(scope, &payload).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Decodes a token from a request; an empty token means the first page (`None`).
    pub fn decode<T: DeserializeOwned>(
        &self,
        scope: &str,
        token: &str,
    ) -> Result<Option<T>, FieldViolation> {
        if token.is_empty() {
            return Ok(None);
        }
        let bad = || FieldViolation::new("page_token", "not a page token issued by this method");
        if token.len() > 2048 {
            return Err(bad());
        }
        let (payload, tag) = token.split_once('.').ok_or_else(bad)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad())?;
        self.mac(scope, &payload)
            .verify_slice(&tag)
            .map_err(|_| bad())?;
        serde_json::from_slice(&payload)
            .map(Some)
            .map_err(|_| bad())
    }
}

/// Turns rows fetched with `limit + 1` into one page: cuts the extra row off and returns the
/// token of the next page (from the last row kept), or an empty token on the last page.
pub fn next_page_token<T>(
    rows: &mut Vec<T>,
    limit: u32,
    cursor: impl FnOnce(&T) -> String,
) -> String {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return String::new();
    }
    rows.truncate(limit);
    rows.last().map(cursor).unwrap_or_default()
}

/// Checks a requested page size: 0 means `default`, larger than `max` is clamped, negative is
/// refused.
pub fn page_size(requested: i32, default: u32, max: u32) -> Result<u32, FieldViolation> {
    match requested {
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        0 => Ok(default),
        n => Ok(u32::try_from(n).unwrap_or(max).min(max)),
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let tokens = PageTokens::new(b"secret");
        let token = tokens.encode("list", &("2026-01-01", 42));
        let back: Option<(String, i32)> = tokens.decode("list", &token).ok().flatten();
        assert_eq!(back, Some(("2026-01-01".to_owned(), 42)));

        let mut forged = token.clone();
        forged.insert(0, 'A');
        assert!(tokens.decode::<(String, i32)>("list", &forged).is_err());
        assert!(tokens.decode::<(String, i32)>("other", &token).is_err());
        assert!(
            PageTokens::new(b"other")
                .decode::<(String, i32)>("list", &token)
                .is_err()
        );
        assert_eq!(tokens.decode::<(String, i32)>("list", ""), Ok(None));
    }

    #[test]
    fn next_page_tokens_only_when_a_row_is_left_over() {
        let mut rows = vec![1, 2, 3];
        assert_eq!(next_page_token(&mut rows, 3, |r| r.to_string()), "");
        assert_eq!(rows, [1, 2, 3]);
        let mut rows = vec![1, 2, 3, 4];
        assert_eq!(next_page_token(&mut rows, 3, |r| r.to_string()), "3");
        assert_eq!(rows, [1, 2, 3]);
    }

    #[test]
    fn page_sizes_default_clamp_and_refuse_negatives() {
        assert_eq!(page_size(0, 20, 100), Ok(20));
        assert_eq!(page_size(5, 20, 100), Ok(5));
        assert_eq!(page_size(100_000, 20, 100), Ok(100));
        assert!(page_size(-1, 20, 100).is_err());
    }
}
