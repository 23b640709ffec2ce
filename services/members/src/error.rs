//! The members service's errors and their one mapping to gRPC statuses.

use rendezvous_common::error::{self, DbErrorKind, FieldViolation};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("sign-in required")]
    Unauthenticated,
    #[error("wrong email or password")]
    BadCredentials,
    #[error("{0}")]
    InvalidSession(&'static str),
    #[error("{0}")]
    PermissionDenied(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    AlreadyExists(&'static str),
    #[error("{0}")]
    FailedPrecondition(&'static str),
    #[error("this coffee is booked at another time already")]
    CoffeeAlreadyBooked,
    #[error("the profile changed since it was read; read it again")]
    EtagMismatch,
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("this member declined your last request; you can ask again in {retry_after_secs} s")]
    DeclinedCooldown { retry_after_secs: u64 },
    #[error("the {0} service did not answer; retry")]
    PeerUnavailable(&'static str),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn field(field: &str, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// DECLINED_COOLDOWN, to ask again after `wait`.
    pub fn declined_cooldown(wait: chrono::Duration) -> Self {
        Self::DeclinedCooldown {
            retry_after_secs: whole_seconds_up(wait),
        }
    }

    /// RATE_LIMITED, to retry after `wait`.
    pub fn rate_limited(wait: chrono::Duration) -> Self {
        Self::RateLimited {
            retry_after_secs: whole_seconds_up(wait),
        }
    }
}

/// Whole seconds, rounded up: never a retry that is refused again.
fn whole_seconds_up(wait: chrono::Duration) -> u64 {
    let secs = u64::try_from(wait.num_seconds()).unwrap_or(0);
    secs + u64::from(wait > chrono::Duration::seconds(wait.num_seconds()))
}

impl From<FieldViolation> for Error {
    fn from(v: FieldViolation) -> Self {
        Self::InvalidArgument(vec![v])
    }
}

impl From<Vec<FieldViolation>> for Error {
    fn from(v: Vec<FieldViolation>) -> Self {
        Self::InvalidArgument(v)
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::InvalidArgument(violations) => error::invalid_argument(&violations),
            Error::Unauthenticated => {
                error::status(Code::Unauthenticated, "SIGN_IN_REQUIRED", message)
            }
            Error::BadCredentials => {
                error::status(Code::Unauthenticated, "BAD_CREDENTIALS", message)
            }
            Error::InvalidSession(_) => {
                error::status(Code::Unauthenticated, "INVALID_SESSION", message)
            }
            Error::PermissionDenied(_) => {
                error::status(Code::PermissionDenied, "PERMISSION_DENIED", message)
            }
            Error::NotFound(_) => error::status(Code::NotFound, "NOT_FOUND", message),
            Error::AlreadyExists(_) => {
                error::status(Code::AlreadyExists, "ALREADY_EXISTS", message)
            }
            Error::FailedPrecondition(_) => {
                error::status(Code::FailedPrecondition, "FAILED_PRECONDITION", message)
            }
            Error::CoffeeAlreadyBooked => {
                error::status(Code::FailedPrecondition, "COFFEE_ALREADY_BOOKED", message)
            }
            Error::EtagMismatch => error::status(Code::Aborted, "ETAG_MISMATCH", message),
            Error::RateLimited { retry_after_secs } => error::rate_limited(
                "RATE_LIMITED",
                message,
                std::time::Duration::from_secs(retry_after_secs),
            ),
            Error::DeclinedCooldown { retry_after_secs } => error::rate_limited(
                "DECLINED_COOLDOWN",
                message,
                std::time::Duration::from_secs(retry_after_secs),
            ),
            Error::PeerUnavailable(_) => {
                error::status(Code::Unavailable, "PEER_UNAVAILABLE", message)
            }
            Error::Database(db) => match error::classify_db_error(&db) {
                DbErrorKind::UniqueViolation => {
                    error::status(Code::AlreadyExists, "ALREADY_EXISTS", "it already exists")
                }
                DbErrorKind::Conflict => error::status(
                    Code::Aborted,
                    "CONFLICT",
                    "a concurrent change conflicted; retry",
                ),
                DbErrorKind::ForeignKeyViolation | DbErrorKind::Other => error::internal(&db),
            },
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                error::status(Code::Internal, "INTERNAL", "internal error")
            }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
