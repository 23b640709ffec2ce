//! Connections, connection requests and blocks: their states, and the requests that change
//! them as parsed at the edge.

use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;
use uuid::Uuid;

use super::fields;

/// Longest note a connection request carries.
pub const MAX_NOTE_CHARS: usize = 500;

/// Where a connection request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestState {
    Pending,
    Accepted,
    Declined,
    Withdrawn,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// The state a stored row names; `None` for anything this code never writes.
    pub fn from_stored(value: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Accepted,
            Self::Declined,
            Self::Withdrawn,
        ]
        .into_iter()
        .find(|state| state.as_str() == value)
    }

    pub fn to_proto(self) -> pb::ConnectionRequestState {
        match self {
            Self::Pending => pb::ConnectionRequestState::Pending,
            Self::Accepted => pb::ConnectionRequestState::Accepted,
            Self::Declined => pb::ConnectionRequestState::Declined,
            Self::Withdrawn => pb::ConnectionRequestState::Withdrawn,
        }
    }
}

/// Which of a member's pending requests a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Requests to the member (the default).
    Incoming,
    /// Requests the member sent.
    Outgoing,
}

impl Direction {
    pub fn from_proto(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match pb::RequestDirection::try_from(value) {
            Ok(pb::RequestDirection::Outgoing) => Ok(Self::Outgoing),
            Ok(pb::RequestDirection::Incoming | pb::RequestDirection::Unspecified) => {
                Ok(Self::Incoming)
            }
            Err(_) => Err(FieldViolation::new(field, "unknown direction")),
        }
    }
}

/// Which of a member's connections a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetFilter {
    Any,
    Met,
    NotMet,
}

impl MetFilter {
    pub fn from_proto(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match pb::MetFilter::try_from(value) {
            Ok(pb::MetFilter::Unspecified) => Ok(Self::Any),
            Ok(pb::MetFilter::Met) => Ok(Self::Met),
            Ok(pb::MetFilter::NotMet) => Ok(Self::NotMet),
            Err(_) => Err(FieldViolation::new(field, "unknown filter")),
        }
    }
}

/// An id field naming another member than the caller `me`.
pub fn other_member(field: &str, value: &str, me: Uuid) -> Result<Uuid, FieldViolation> {
    let other = validate::id(field, value)?;
    if other == me {
        return Err(FieldViolation::new(
            field,
            "must be another member, not yourself",
        ));
    }
    Ok(other)
}

/// A connection request to send: from the caller to `addressee`.
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub addressee: Uuid,
    pub note: String,
}

impl TryFrom<(Uuid, pb::RequestConnectionRequest)> for NewRequest {
    type Error = Vec<FieldViolation>;

    /// Parses the request of the caller `me`.
    fn try_from((me, req): (Uuid, pb::RequestConnectionRequest)) -> Result<Self, Self::Error> {
        let (addressee, note) = fields::all((
            other_member("member_id", &req.member_id, me),
            validate::text("note", &req.note, 0, MAX_NOTE_CHARS, true),
        ))?;
        Ok(Self { addressee, note })
    }
}

/// The addressee's answer to a pending request.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    pub request_id: Uuid,
    pub accept: bool,
}

impl TryFrom<pb::RespondToConnectionRequestRequest> for Answer {
    type Error = Vec<FieldViolation>;

    fn try_from(req: pb::RespondToConnectionRequestRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            request_id: validate::id("connection_request_id", &req.connection_request_id)
                .map_err(|v| vec![v])?,
            accept: req.accept,
        })
    }
}

/// The member another member acts on (removes, blocks, unblocks): never the caller.
#[derive(Clone, Copy, Debug)]
pub struct OtherMember(pub Uuid);

macro_rules! other_member_requests {
    ($($request:ty),+) => {
        $(
            impl TryFrom<(Uuid, $request)> for OtherMember {
                type Error = Vec<FieldViolation>;

                /// Parses the request of the caller `me`.
                fn try_from((me, req): (Uuid, $request)) -> Result<Self, Self::Error> {
                    other_member("member_id", &req.member_id, me)
                        .map(Self)
                        .map_err(|v| vec![v])
                }
            }
        )+
    };
}

other_member_requests!(
    pb::RemoveConnectionRequest,
    pb::BlockMemberRequest,
    pb::UnblockMemberRequest
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_states_round_trip_and_unknown_ones_are_refused() {
        for state in [
            RequestState::Pending,
            RequestState::Accepted,
            RequestState::Declined,
            RequestState::Withdrawn,
        ] {
            assert_eq!(RequestState::from_stored(state.as_str()), Some(state));
        }
        assert_eq!(RequestState::from_stored("lost"), None);
    }

    #[test]
    fn a_request_reports_every_bad_field_at_once() {
        let me = Uuid::now_v7();
        let err = NewRequest::try_from((
            me,
            pb::RequestConnectionRequest {
                member_id: me.to_string(),
                note: "x".repeat(MAX_NOTE_CHARS + 1),
            },
        ))
        .unwrap_err();
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["member_id", "note"]);
    }
}
