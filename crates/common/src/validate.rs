//! Small validators shared by the services' request parsing; each names the offending field.

use uuid::Uuid;

use crate::error::FieldViolation;

/// Collects violations so a request reports every bad field at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value when valid, records the violation otherwise.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(violation) => {
                self.0.push(violation);
                None
            }
        }
    }

    pub fn push(&mut self, violation: FieldViolation) {
        self.0.push(violation);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Err` with every violation when there is any.
    pub fn finish(self) -> Result<(), Vec<FieldViolation>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// The paths of an update mask, recording a violation when there are none: a full
/// replacement of a resource is never what a client means.
pub fn mask_paths<'a>(
    mask: Option<&'a rendezvous_proto::prost_types::FieldMask>,
    v: &mut Violations,
) -> &'a [String] {
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        v.push(FieldViolation::new(
            "update_mask",
            "is required: name the fields to change",
        ));
    }
    paths
}

/// A UUID id field; required.
pub fn id(field: &str, value: &str) -> Result<Uuid, FieldViolation> {
    if value.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    Uuid::try_parse(value).map_err(|_| FieldViolation::new(field, "must be a UUID"))
}

/// Free text: trimmed, between `min` and `max` characters, no control characters (newlines and
/// tabs allowed only when `multiline`).
pub fn text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, FieldViolation> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars < min {
        return Err(FieldViolation::new(
            field,
            if min == 1 {
                "is required".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if chars > max {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
    {
        return Err(FieldViolation::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// An email address, trimmed and lower-cased. Deliberately plain: one `@`, a dotted domain,
/// no spaces or control characters, RFC 5321 lengths.
pub fn email(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim().to_lowercase();
    let bad = |why: &str| Err(FieldViolation::new(field, why));
    if value.is_empty() {
        return bad("is required");
    }
    if value.len() > 254 {
        return bad("must be at most 254 characters");
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("must not contain spaces or control characters");
    }
    let Some((local, domain)) = value.split_once('@') else {
        return bad("must be an email address");
    };
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return bad("must be an email address");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            email("e", " Anna@Example.COM ").ok(),
            Some("anna@example.com".into())
        );
        for bad in [
            "",
            "anna",
            "anna@",
            "@x.fr",
            "a@b",
            "a b@x.fr",
            "a@@x.fr",
            "a@x..fr",
            "a\u{7}@x.fr",
        ] {
            assert!(email("e", bad).is_err(), "{bad:?}");
        }
        assert!(email("e", &format!("{}@x.fr", "a".repeat(65))).is_err());
    }

    #[test]
    fn texts() {
        assert_eq!(text("t", "  hi ", 1, 5, false).ok(), Some("hi".into()));
        assert!(text("t", "", 1, 5, false).is_err());
        assert!(text("t", "toolong", 1, 5, false).is_err());
        assert!(text("t", "a\nb", 1, 5, false).is_err());
        assert!(text("t", "a\nb", 1, 5, true).is_ok());
        assert!(text("t", "a\u{0}b", 1, 5, true).is_err());
    }

    #[test]
    fn ids() {
        assert!(id("id", "").is_err());
        assert!(id("id", "nope").is_err());
        assert!(id("id", &Uuid::now_v7().to_string()).is_ok());
    }
}
