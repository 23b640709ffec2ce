//! The gRPC handlers of the events service. Each converts its request (validating it),
//! authorises the caller, calls the store, and builds the response; what they share is here.

pub mod chapters;
pub mod events;

use chrono::{DateTime, Utc};
use rendezvous_common::auth::Caller;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::server::caller;
use rendezvous_common::validate;
use rendezvous_proto::prost_types::Timestamp;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::error::{Error, Result};

pub use chapters::Chapters;
pub use events::Events;

type Reply<T> = std::result::Result<Response<T>, Status>;

fn reply<T>(result: Result<T>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(rendezvous_common::time::to_timestamp(at))
}

/// The signed-in member making the call.
fn member_caller<T>(request: &Request<T>) -> Result<Uuid> {
    match caller(request) {
        Caller::Member { id, .. } => Ok(id),
        _ => Err(Error::Unauthenticated),
    }
}

/// A member id field that may also be `me` for the caller.
fn id_or_me(field: &str, value: &str, me: Uuid) -> Result<Uuid, FieldViolation> {
    if value == "me" {
        return Ok(me);
    }
    validate::id(field, value)
}
