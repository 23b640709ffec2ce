//! The events service's errors and their one mapping to gRPC statuses.

use rendezvous_common::error::{self, DbErrorKind, FieldViolation};
use tonic::{Code, Status};

use crate::admission::AdmitError;
use crate::domain::access::Refusal;
use crate::domain::chapter::ChapterRefusal;
use crate::domain::event::EventRefusal;
use crate::domain::limits::LimitReached;
use crate::domain::want_to_meet::MarkRefusal;
use crate::store::{CoffeeRefusal, CompleteRefusal, InviteRefusal, RsvpRefusal, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("sign-in required")]
    Unauthenticated,
    #[error("{0}")]
    PermissionDenied(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    FailedPrecondition(&'static str),
    #[error("the {0} changed since it was read; read it again")]
    EtagMismatch(&'static str),
    #[error("{0}")]
    Rule(String),
    #[error("{0}")]
    ResourceExhausted(&'static str),
    /// A limit over a sliding window: RESOURCE_EXHAUSTED with the wait in `RetryInfo`.
    #[error("{0}; try again later")]
    RateLimited(LimitReached),
    #[error("the {0} service is unavailable; retry later")]
    Unavailable(&'static str),
    #[error("the {0} service gave an answer this service cannot read")]
    BadPeerAnswer(&'static str),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl Error {
    pub fn field(field: &str, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
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

impl From<ChapterRefusal> for Error {
    fn from(refusal: ChapterRefusal) -> Self {
        match refusal {
            ChapterRefusal::NotFound => Self::NotFound("chapter"),
            ChapterRefusal::NotOrganizer => {
                Self::PermissionDenied("only the chapter's organisers may do this")
            }
            ChapterRefusal::NotMember => {
                Self::PermissionDenied("only the chapter's members may do this")
            }
            ChapterRefusal::EtagMismatch => Self::EtagMismatch("chapter"),
            ChapterRefusal::LastOrganizer => Self::FailedPrecondition(
                "the last organiser cannot leave; make another member organiser first",
            ),
        }
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Hidden => Self::NotFound("event"),
            Refusal::Denied(message) => Self::PermissionDenied(message),
        }
    }
}

impl From<EventRefusal> for Error {
    fn from(refusal: EventRefusal) -> Self {
        match refusal {
            EventRefusal::NotFound => Self::NotFound("event"),
            EventRefusal::NotHost => Self::PermissionDenied("only the event's hosts may do this"),
            EventRefusal::EtagMismatch => Self::EtagMismatch("event"),
            EventRefusal::Rule(rule) => Self::Rule(rule.to_string()),
            EventRefusal::Invalid(v) => Self::InvalidArgument(v),
            EventRefusal::State(s) => Self::FailedPrecondition(s),
            EventRefusal::Limit(limit) => Self::RateLimited(limit),
        }
    }
}

impl From<LimitReached> for Error {
    fn from(limit: LimitReached) -> Self {
        Self::RateLimited(limit)
    }
}

impl From<InviteRefusal> for Error {
    fn from(refusal: InviteRefusal) -> Self {
        match refusal {
            InviteRefusal::Weekly(limit) => Self::RateLimited(limit),
            InviteRefusal::EventCapReached => Self::ResourceExhausted(
                "this event has had as many invitations, from all its hosts, as an event may have",
            ),
        }
    }
}

impl From<RsvpRefusal> for Error {
    fn from(refusal: RsvpRefusal) -> Self {
        match refusal {
            RsvpRefusal::NoEvent => Self::NotFound("event"),
            RsvpRefusal::NotOpen => Self::FailedPrecondition("the event is not open for RSVPs"),
            RsvpRefusal::DeadlinePassed => Self::FailedPrecondition("the RSVP deadline has passed"),
            RsvpRefusal::Rule(rule) => Self::Rule(rule.to_string()),
        }
    }
}

impl From<CompleteRefusal> for Error {
    fn from(refusal: CompleteRefusal) -> Self {
        match refusal {
            CompleteRefusal::NotPublished => {
                Self::FailedPrecondition("only a published event can be completed")
            }
        }
    }
}

impl From<CoffeeRefusal> for Error {
    fn from(refusal: CoffeeRefusal) -> Self {
        match refusal {
            CoffeeRefusal::MemberErased => {
                Self::FailedPrecondition("a member of the coffee has left Rendezvous")
            }
        }
    }
}

impl From<MarkRefusal> for Error {
    fn from(refusal: MarkRefusal) -> Self {
        match refusal {
            MarkRefusal::Closed => Self::FailedPrecondition(refusal.message()),
            MarkRefusal::Full => Self::ResourceExhausted(refusal.message()),
        }
    }
}

impl<R> From<StoreError<R>> for Error
where
    Error: From<R>,
{
    fn from(error: StoreError<R>) -> Self {
        match error {
            StoreError::Refused(refusal) => refusal.into(),
            StoreError::Database(error) => Self::Database(error),
        }
    }
}

impl From<AdmitError> for Error {
    fn from(error: AdmitError) -> Self {
        match error {
            AdmitError::Refused(refusal) => refusal.into(),
            // The batch's error is logged where it failed; the caller may retry.
            AdmitError::Database(_) => Self::Unavailable("database"),
        }
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
            Error::PermissionDenied(_) => {
                error::status(Code::PermissionDenied, "PERMISSION_DENIED", message)
            }
            Error::NotFound(_) => error::status(Code::NotFound, "NOT_FOUND", message),
            Error::FailedPrecondition(_) => {
                error::status(Code::FailedPrecondition, "FAILED_PRECONDITION", message)
            }
            Error::EtagMismatch(_) => error::status(Code::Aborted, "ETAG_MISMATCH", message),
            Error::Rule(_) => {
                error::status(Code::FailedPrecondition, "FAILED_PRECONDITION", message)
            }
            // A cap that no wait lifts (so no RetryInfo).
            Error::ResourceExhausted(_) => {
                error::status(Code::ResourceExhausted, "LIMIT_REACHED", message)
            }
            Error::RateLimited(limit) => error::rate_limited(
                "RATE_LIMITED",
                message,
                limit.retry_after.to_std().unwrap_or_default(),
            ),
            Error::Unavailable(_) => error::status(Code::Unavailable, "UNAVAILABLE", message),
            Error::BadPeerAnswer(_) => error::status(Code::Internal, "INTERNAL", message),
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
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
