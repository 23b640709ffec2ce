//! Hopes of meeting someone at an event, as the wire spells them.

use rendezvous_common::error::FieldViolation;
use rendezvous_proto::events::v1 as pb;
use uuid::Uuid;

use super::{Fields, event_and_member, ids_pb};
use crate::domain::want_to_meet::marks_left;
use crate::error::Error;
use crate::store::Hopes;

/// A MarkWantToMeet or UnmarkWantToMeet: the event and the other attendee, never the caller.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    pub event_id: Uuid,
    pub member_id: Uuid,
}

impl Mark {
    fn parse(event_id: &str, member_id: &str, me: Uuid) -> Result<Self, Error> {
        let mut f = Fields::new();
        let (event_id, member_id) = event_and_member(&mut f, event_id, member_id);
        if member_id == me {
            f.push(FieldViolation::new(
                "member_id",
                "is the caller: name another attendee",
            ));
        }
        f.finish(Self {
            event_id,
            member_id,
        })
    }
}

impl TryFrom<(&pb::MarkWantToMeetRequest, Uuid)> for Mark {
    type Error = Error;

    fn try_from((req, me): (&pb::MarkWantToMeetRequest, Uuid)) -> Result<Self, Error> {
        Self::parse(&req.event_id, &req.member_id, me)
    }
}

impl TryFrom<(&pb::UnmarkWantToMeetRequest, Uuid)> for Mark {
    type Error = Error;

    fn try_from((req, me): (&pb::UnmarkWantToMeetRequest, Uuid)) -> Result<Self, Error> {
        Self::parse(&req.event_id, &req.member_id, me)
    }
}

/// The caller's hopes at `event_id` as the responses carry them.
pub fn want_to_meet_pb(event_id: Uuid, hopes: &Hopes) -> pb::WantToMeet {
    pb::WantToMeet {
        event_id: event_id.to_string(),
        marked_member_ids: ids_pb(&hopes.marked),
        mutual_member_ids: ids_pb(&hopes.mutual),
        marks_left: i32::try_from(marks_left(hopes.marked.len())).unwrap_or(0),
    }
}
