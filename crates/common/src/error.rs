//! Error plumbing shared by the services: field violations, `Status` builders carrying
//! AIP-193 details (`ErrorInfo`, `BadRequest`) and the one place database errors are classified.

use std::collections::HashMap;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every Rendezvous error.
pub const ERROR_DOMAIN: &str = "rendezvous";

/// `ErrorInfo.reason` of an UNAUTHENTICATED answer to an access token whose session has ended
/// (signed out, password changed, refresh token reused): the client must sign in again.
pub const SESSION_REVOKED: &str = "SESSION_REVOKED";

/// One bad field of a request, named by its path in the request message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl std::fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// `INVALID_ARGUMENT` naming every bad field in `BadRequest` details.
pub fn invalid_argument(violations: &[FieldViolation]) -> Status {
    let message = violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let mut details = ErrorDetails::new();
    for v in violations {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    details.set_error_info("INVALID_ARGUMENT", ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// A status with an `ErrorInfo` whose machine-readable `reason` clients can switch on.
pub fn status(code: Code, reason: &str, message: impl Into<String>) -> Status {
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(code, message, details)
}

/// `RESOURCE_EXHAUSTED` for a spent limit, with `RetryInfo` saying when to try again (and
/// the reason in `ErrorInfo`), so that clients back off for exactly that long.
pub fn rate_limited(reason: &str, message: impl Into<String>, retry_after: Duration) -> Status {
    let mut details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
    details.set_retry_info(Some(retry_after));
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// `INTERNAL` that tells the client nothing private; the cause is logged here with its chain.
pub fn internal(err: &(dyn std::error::Error + 'static)) -> Status {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "internal error");
    status(Code::Internal, "INTERNAL", "internal error")
}

/// What a database error means to a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbErrorKind {
    /// A unique constraint refused the write: the thing already exists.
    UniqueViolation,
    /// A foreign key refused the write: something referenced does not exist.
    ForeignKeyViolation,
    /// A transaction lost a serialisation race or a lock wait; retrying may succeed.
    Conflict,
    Other,
}

/// Classifies a sqlx error the same way on SQLite and PostgreSQL.
pub fn classify_db_error(err: &sqlx::Error) -> DbErrorKind {
    match err {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                DbErrorKind::UniqueViolation
            } else if db.is_foreign_key_violation() {
                DbErrorKind::ForeignKeyViolation
            } else {
                match db.code().as_deref() {
                    // PostgreSQL serialization_failure, deadlock_detected; SQLite BUSY, LOCKED.
                    Some("40001" | "40P01" | "5" | "6" | "517") => DbErrorKind::Conflict,
                    _ => DbErrorKind::Other,
                }
            }
        }
        _ => DbErrorKind::Other,
    }
}

/// Reads the `BadRequest` field names of a status (for tests and clients written in Rust).
pub fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|br| br.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Reads the `ErrorInfo.reason` of a status.
pub fn error_reason(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}
