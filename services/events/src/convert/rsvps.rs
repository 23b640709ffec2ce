//! RSVPs between protobuf and the domain.

use rendezvous_proto::events::v1 as pb;

use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate;
use uuid::Uuid;

use super::{Fields, event_and_member, id, ts};
use crate::domain::rsvp::{Intent, RsvpState, RsvpVisibility};
use crate::error::Error;
use crate::store::RsvpRow;

/// A member's answer to an event (Rsvp).
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    pub event_id: Uuid,
    pub intent: Intent,
    pub visibility: RsvpVisibility,
}

impl TryFrom<&pb::RsvpRequest> for Answer {
    type Error = Error;

    fn try_from(req: &pb::RsvpRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let event_id = id(&mut f, "event_id", &req.event_id);
        let intent = match pb::RsvpIntent::try_from(req.intent) {
            Ok(pb::RsvpIntent::Going) => Intent::Going,
            Ok(pb::RsvpIntent::NotGoing) => Intent::NotGoing,
            _ => f.or(
                Err(FieldViolation::new(
                    "intent",
                    "is required: going or not going",
                )),
                Intent::Going,
            ),
        };
        let visibility = f.or(
            rsvp_visibility_name(req.visibility)
                .ok_or_else(|| FieldViolation::new("visibility", "is not a known RSVP visibility")),
            RsvpVisibility::Attendees,
        );
        f.finish(Self {
            event_id,
            intent,
            visibility,
        })
    }
}

/// A host's decision on one member's RSVP (ApproveRsvp, DeclineRsvp).
#[derive(Clone, Copy, Debug)]
pub struct Decision {
    pub event_id: Uuid,
    pub member_id: Uuid,
}

impl TryFrom<&pb::ApproveRsvpRequest> for Decision {
    type Error = Error;

    fn try_from(req: &pb::ApproveRsvpRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let (event_id, member_id) = event_and_member(&mut f, &req.event_id, &req.member_id);
        f.finish(Self {
            event_id,
            member_id,
        })
    }
}

impl TryFrom<&pb::DeclineRsvpRequest> for Decision {
    type Error = Error;

    fn try_from(req: &pb::DeclineRsvpRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let (event_id, member_id) = event_and_member(&mut f, &req.event_id, &req.member_id);
        f.or_default(validate::text("reason", &req.reason, 0, 1000, true));
        f.finish(Self {
            event_id,
            member_id,
        })
    }
}

pub(crate) fn rsvp_visibility_name(v: i32) -> Option<RsvpVisibility> {
    match pb::RsvpVisibility::try_from(v).ok()? {
        pb::RsvpVisibility::Public => Some(RsvpVisibility::Public),
        pb::RsvpVisibility::Connections => Some(RsvpVisibility::Connections),
        pb::RsvpVisibility::Attendees | pb::RsvpVisibility::Unspecified => {
            Some(RsvpVisibility::Attendees)
        }
        pb::RsvpVisibility::Nobody => Some(RsvpVisibility::Nobody),
    }
}

pub(crate) fn rsvp_visibility_pb(visibility: RsvpVisibility) -> pb::RsvpVisibility {
    match visibility {
        RsvpVisibility::Public => pb::RsvpVisibility::Public,
        RsvpVisibility::Connections => pb::RsvpVisibility::Connections,
        RsvpVisibility::Attendees => pb::RsvpVisibility::Attendees,
        RsvpVisibility::Nobody => pb::RsvpVisibility::Nobody,
    }
}

pub(crate) fn status_pb(status: RsvpState) -> pb::RsvpStatus {
    match status {
        RsvpState::Confirmed => pb::RsvpStatus::Confirmed,
        RsvpState::Waitlisted => pb::RsvpStatus::Waitlisted,
        RsvpState::Offered => pb::RsvpStatus::Offered,
        RsvpState::PendingApproval => pb::RsvpStatus::PendingApproval,
        RsvpState::Declined => pb::RsvpStatus::Declined,
        RsvpState::Cancelled => pb::RsvpStatus::Cancelled,
        RsvpState::NotGoing => pb::RsvpStatus::NotGoing,
    }
}

pub(crate) fn status_filter(status: i32) -> Option<RsvpState> {
    match pb::RsvpStatus::try_from(status).ok()? {
        pb::RsvpStatus::Confirmed => Some(RsvpState::Confirmed),
        pb::RsvpStatus::Waitlisted => Some(RsvpState::Waitlisted),
        pb::RsvpStatus::Offered => Some(RsvpState::Offered),
        pb::RsvpStatus::PendingApproval => Some(RsvpState::PendingApproval),
        pb::RsvpStatus::Declined => Some(RsvpState::Declined),
        pb::RsvpStatus::Cancelled => Some(RsvpState::Cancelled),
        pb::RsvpStatus::NotGoing => Some(RsvpState::NotGoing),
        pb::RsvpStatus::Unspecified => None,
    }
}

pub(crate) fn rsvp_to_pb(r: &RsvpRow) -> pb::Rsvp {
    pb::Rsvp {
        event_id: r.event_id.to_string(),
        member_id: r.member_id.to_string(),
        status: status_pb(r.state).into(),
        waitlist_position: r
            .waitlist_position
            .and_then(|p| i32::try_from(p).ok())
            .unwrap_or(0),
        offer_expire_time: if r.state == RsvpState::Offered {
            r.offer_expires_at.and_then(ts)
        } else {
            None
        },
        visibility: rsvp_visibility_pb(r.visibility).into(),
        checked_in: r.checked_in_at.is_some(),
        check_in_time: r.checked_in_at.and_then(ts),
        create_time: ts(r.created_at),
        update_time: ts(r.updated_at),
    }
}
