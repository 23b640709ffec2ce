//! A member's network and the one access policy over it.
//!
//! Connections, connection requests and blocks: their states, and the requests that change
//! them as parsed at the edge. And the pure functions that answer what a viewer may see of a
//! member's profile and do in their network, from who the viewer is (anonymous, the member
//! themself, another member), how the two relate as stored, and the profile's visibility:
//! the handlers ask them, and the connection request asks under the pair's lock.

use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;
use uuid::Uuid;

use super::{Visibility, fields};

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

/// How a signed-in viewer relates to another member, as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relation {
    pub connected: bool,
    /// The viewer blocks the other member.
    pub viewer_blocks: bool,
    /// The other member blocks the viewer.
    pub blocks_viewer: bool,
    /// The viewer asked to connect and the request is pending.
    pub request_sent: bool,
    /// The other member asked to connect and the request is pending.
    pub request_received: bool,
    pub met: bool,
}

/// Who looks at a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Not signed in.
    Anonymous,
    /// The member themself.
    Owner,
    /// Another signed-in member.
    Member(Relation),
}

/// How much of a profile a viewer sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileAccess {
    /// Everything, email, locale and etag included: the member themself.
    Owner,
    /// The public profile: headline, company, city, interests, LinkedIn URL.
    Profile,
    /// The id and display name only.
    NameOnly,
}

/// The relationship a viewer is shown with a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relationship {
    /// Not signed in: none is shown.
    Unknown,
    Own,
    None,
    Connected,
    RequestSent,
    RequestReceived,
    /// The viewer blocks the member.
    Blocked,
}

/// What a viewer sees of a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileView {
    pub access: ProfileAccess,
    pub relationship: Relationship,
}

/// What `viewer` sees of a profile with `visibility`; `None` when the member is hidden from
/// them (the member blocks the viewer), which callers answer as NOT_FOUND.
pub fn profile_view(viewer: Viewer, visibility: Visibility) -> Option<ProfileView> {
    let (access, relationship) = match viewer {
        Viewer::Owner => (ProfileAccess::Owner, Relationship::Own),
        Viewer::Anonymous => (
            public_or_name(visibility == Visibility::Public),
            Relationship::Unknown,
        ),
        Viewer::Member(rel) if rel.blocks_viewer => return None,
        Viewer::Member(rel) => (
            public_or_name(match visibility {
                Visibility::Public => true,
                Visibility::Connections => rel.connected,
                Visibility::Private => false,
            }),
            relationship(rel),
        ),
    };
    Some(ProfileView {
        access,
        relationship,
    })
}

fn public_or_name(sees_profile: bool) -> ProfileAccess {
    if sees_profile {
        ProfileAccess::Profile
    } else {
        ProfileAccess::NameOnly
    }
}

fn relationship(rel: Relation) -> Relationship {
    if rel.viewer_blocks {
        Relationship::Blocked
    } else if rel.connected {
        Relationship::Connected
    } else if rel.request_sent {
        Relationship::RequestSent
    } else if rel.request_received {
        Relationship::RequestReceived
    } else {
        Relationship::None
    }
}

/// What asking another member to connect does, given how the two relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestDecision {
    /// A new pending request.
    Send,
    /// The other member had already asked: accepting theirs connects the two.
    AcceptTheirs,
    /// Hidden: the other member blocks the requester (answered as NOT_FOUND).
    Hidden,
    /// The requester blocks the other member and must unblock them first.
    RequesterBlocks,
    AlreadyConnected,
    AlreadyRequested,
}

/// Whether a member may ask another to connect, and what it does.
pub fn request_decision(rel: Relation) -> RequestDecision {
    if rel.blocks_viewer {
        RequestDecision::Hidden
    } else if rel.viewer_blocks {
        RequestDecision::RequesterBlocks
    } else if rel.connected {
        RequestDecision::AlreadyConnected
    } else if rel.request_sent {
        RequestDecision::AlreadyRequested
    } else if rel.request_received {
        RequestDecision::AcceptTheirs
    } else {
        RequestDecision::Send
    }
}

/// The side of a connection request a member acts as: the addressee answers it, the
/// requester withdraws it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestSide {
    Addressee,
    Requester,
}

/// What acting on a request as `side` comes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestChange {
    Allowed,
    /// The caller is the other party of the request.
    OtherSide,
    /// The caller is no party of it: its existence stays private.
    Hidden,
    NotPending,
}

/// Whether `caller` may answer (or withdraw) a request from `requester` to `addressee` in
/// `state`, acting as `side`.
pub fn request_change(
    side: RequestSide,
    caller: &str,
    requester: &str,
    addressee: &str,
    state: RequestState,
) -> RequestChange {
    let (mine, theirs) = match side {
        RequestSide::Addressee => (addressee, requester),
        RequestSide::Requester => (requester, addressee),
    };
    if caller != mine {
        if caller == theirs {
            RequestChange::OtherSide
        } else {
            RequestChange::Hidden
        }
    } else if state != RequestState::Pending {
        RequestChange::NotPending
    } else {
        RequestChange::Allowed
    }
}

/// Whether a member may change or delete the account `target`: only their own.
pub fn may_edit(me: Uuid, target: Uuid) -> bool {
    me == target
}

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

    use ProfileAccess::{NameOnly, Owner, Profile};
    use Visibility::{Connections, Private, Public};

    const STRANGER: Relation = Relation {
        connected: false,
        viewer_blocks: false,
        blocks_viewer: false,
        request_sent: false,
        request_received: false,
        met: false,
    };
    const CONNECTION: Relation = Relation {
        connected: true,
        met: true,
        ..STRANGER
    };
    const BLOCKER: Relation = Relation {
        viewer_blocks: true,
        ..STRANGER
    };
    const BLOCKED_BY: Relation = Relation {
        blocks_viewer: true,
        ..STRANGER
    };
    const BOTH_BLOCK: Relation = Relation {
        viewer_blocks: true,
        ..BLOCKED_BY
    };
    const ASKED: Relation = Relation {
        request_sent: true,
        ..STRANGER
    };
    const ASKED_BY: Relation = Relation {
        request_received: true,
        ..STRANGER
    };

    /// The rows of tests/api/authorization.rs: who sees how much of a profile, for each
    /// visibility (public, connections only, private); `None` where the member is hidden.
    #[test]
    fn who_sees_how_much_of_a_profile() {
        const OWN: Option<ProfileAccess> = Some(Owner);
        const PROFILE: Option<ProfileAccess> = Some(Profile);
        const NAME: Option<ProfileAccess> = Some(NameOnly);
        let table = [
            ("self", Viewer::Owner, [OWN, OWN, OWN]),
            ("anonymous", Viewer::Anonymous, [PROFILE, NAME, NAME]),
            ("stranger", Viewer::Member(STRANGER), [PROFILE, NAME, NAME]),
            (
                "connection",
                Viewer::Member(CONNECTION),
                [PROFILE, PROFILE, NAME],
            ),
            ("blocker", Viewer::Member(BLOCKER), [PROFILE, NAME, NAME]),
            ("blocked", Viewer::Member(BLOCKED_BY), [None, None, None]),
        ];
        for (who, viewer, expected) in table {
            for (visibility, expected) in [Public, Connections, Private].into_iter().zip(expected) {
                let seen = profile_view(viewer, visibility).map(|v| v.access);
                assert_eq!(seen, expected, "{who}, {visibility:?}");
            }
        }
    }

    #[test]
    fn the_relationship_shown_with_a_profile() {
        let table = [
            (Viewer::Owner, Relationship::Own),
            (Viewer::Anonymous, Relationship::Unknown),
            (Viewer::Member(STRANGER), Relationship::None),
            (Viewer::Member(CONNECTION), Relationship::Connected),
            (Viewer::Member(BLOCKER), Relationship::Blocked),
            (Viewer::Member(ASKED), Relationship::RequestSent),
            (Viewer::Member(ASKED_BY), Relationship::RequestReceived),
        ];
        for (viewer, expected) in table {
            let view = profile_view(viewer, Public).unwrap();
            assert_eq!(view.relationship, expected, "{viewer:?}");
        }
    }

    #[test]
    fn who_may_ask_whom_to_connect() {
        let table = [
            (STRANGER, RequestDecision::Send),
            (CONNECTION, RequestDecision::AlreadyConnected),
            (BLOCKER, RequestDecision::RequesterBlocks),
            (BLOCKED_BY, RequestDecision::Hidden),
            (BOTH_BLOCK, RequestDecision::Hidden),
            (ASKED, RequestDecision::AlreadyRequested),
            (ASKED_BY, RequestDecision::AcceptTheirs),
        ];
        for (rel, expected) in table {
            assert_eq!(request_decision(rel), expected, "{rel:?}");
        }
    }

    /// Mirrors only_the_addressee_answers_and_only_the_requester_withdraws_a_request.
    #[test]
    fn only_the_addressee_answers_and_only_the_requester_withdraws() {
        use RequestChange::{Allowed, Hidden, NotPending, OtherSide};
        use RequestSide::{Addressee, Requester};
        let pending = RequestState::Pending;
        let table = [
            (Addressee, "bruno", pending, Allowed),
            (Addressee, "anna", pending, OtherSide),
            (Addressee, "chloe", pending, Hidden),
            (Addressee, "bruno", RequestState::Withdrawn, NotPending),
            (Requester, "anna", pending, Allowed),
            (Requester, "bruno", pending, OtherSide),
            (Requester, "chloe", pending, Hidden),
            (Requester, "anna", RequestState::Accepted, NotPending),
        ];
        for (side, caller, state, expected) in table {
            let change = request_change(side, caller, "anna", "bruno", state);
            assert_eq!(
                change, expected,
                "{caller} as {side:?} of a {state:?} request"
            );
        }
    }

    #[test]
    fn only_the_member_edits_their_account() {
        let (me, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        assert!(may_edit(me, me));
        assert!(!may_edit(me, other));
    }
}
