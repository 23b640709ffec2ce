//! The notifications service's errors and their one mapping to gRPC statuses.

use rendezvous_common::error::{self, FieldViolation};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("sign-in required")]
    Unauthenticated,
    /// The members service did not answer `GetContacts`; the producer retries the call.
    #[error("recipient details are unavailable; retry")]
    ContactsUnavailable(#[source] tonic::Status),
    #[error("the stream fell behind; reconnect with resume_after_id")]
    StreamLagged,
    /// A stream lives as long as the access token it was opened with.
    #[error("the access token expired; reconnect with a fresh one and resume_after_id")]
    TokenExpired,
    /// ... and only while its session lasts (Logout, ChangePassword, a reused refresh token).
    #[error("the session has ended; sign in again and reconnect with resume_after_id")]
    SessionRevoked,
    #[error("at most {0} notification streams may be open at once per member; close one")]
    TooManyStreams(usize),
    #[error("database error")]
    Database(#[from] sqlx::Error),
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
            Error::ContactsUnavailable(status) => {
                tracing::warn!(%status, "members service unavailable for contacts");
                error::status(Code::Unavailable, "CONTACTS_UNAVAILABLE", message)
            }
            Error::StreamLagged => error::status(Code::DataLoss, "STREAM_LAGGED", message),
            Error::TokenExpired => error::status(Code::Unauthenticated, "TOKEN_EXPIRED", message),
            Error::SessionRevoked => {
                error::status(Code::Unauthenticated, error::SESSION_REVOKED, message)
            }
            Error::TooManyStreams(_) => {
                error::status(Code::ResourceExhausted, "TOO_MANY_STREAMS", message)
            }
            // Notifications writes nothing a caller could conflict with: every database
            // failure is the service's own.
            Error::Database(db) => error::internal(&db),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
