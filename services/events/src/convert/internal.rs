//! Requests of `EventInternalService`, which only other Rendezvous services call.

use chrono::{DateTime, Duration, Utc};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::revocations::SessionRevocation;
use rendezvous_common::validate;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::Timestamp;
use uuid::Uuid;

use super::{Fields, id, time, ts};
use crate::domain::chapter::city_key;
use crate::domain::event::EventRow;
use crate::error::Error;
use crate::store::{BlockChange, SharedEventFilter};

/// A deleted member to erase, and when they were deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EraseMember {
    pub member: Uuid,
    pub erased_at: DateTime<Utc>,
}

impl TryFrom<&pb::EraseMemberRequest> for EraseMember {
    type Error = Error;

    fn try_from(req: &pb::EraseMemberRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let member = id(&mut f, "member_id", &req.member_id);
        let erased_at = required_time("erase_time", req.erase_time.as_ref());
        let erased_at = f.or(erased_at, DateTime::<Utc>::UNIX_EPOCH);
        f.finish(Self { member, erased_at })
    }
}

/// The sessions a `RevokeSessions` call says ended (the rules are shared with notifications).
pub fn session_revocation(req: &pb::RevokeSessionsRequest) -> Result<SessionRevocation, Error> {
    SessionRevocation::parse(&req.member_id, &req.session_ids, req.revoke_time.as_ref())
        .map_err(Error::InvalidArgument)
}

/// Most changes one `RecordBlocks` call takes.
pub const MAX_BLOCK_CHANGES: usize = 500;

/// The changes of a `RecordBlocks` call: 1 to [`MAX_BLOCK_CHANGES`], each naming two distinct
/// members and a time; a bad one is named by its index (`changes[3].blocked_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordBlocks(pub Vec<BlockChange>);

impl TryFrom<&pb::RecordBlocksRequest> for RecordBlocks {
    type Error = Error;

    fn try_from(req: &pb::RecordBlocksRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        if req.changes.is_empty() || req.changes.len() > MAX_BLOCK_CHANGES {
            return Err(f.refuse(FieldViolation::new(
                "changes",
                format!("must hold 1 to {MAX_BLOCK_CHANGES} changes"),
            )));
        }
        let mut changes = Vec::with_capacity(req.changes.len());
        for (i, change) in req.changes.iter().enumerate() {
            let blocker = id(
                &mut f,
                &format!("changes[{i}].blocker_id"),
                &change.blocker_id,
            );
            let blocked = id(
                &mut f,
                &format!("changes[{i}].blocked_id"),
                &change.blocked_id,
            );
            if !blocker.is_nil() && blocker == blocked {
                f.push(FieldViolation::new(
                    format!("changes[{i}].blocked_id"),
                    "must differ from blocker_id",
                ));
            }
            let field = format!("changes[{i}].change_time");
            let changed_at = required_time(&field, change.change_time.as_ref());
            let changed_at = f.or(changed_at, DateTime::<Utc>::UNIX_EPOCH);
            changes.push(BlockChange {
                blocker,
                blocked,
                blocks: change.blocked,
                changed_at,
            });
        }
        f.finish(Self(changes))
    }
}

/// The member whose part of events to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportMember(pub Uuid);

by_id!(ExportMember, member_id: ExportMemberDataRequest);

/// A met edge members made at an event: the event and two distinct members (the time is the
/// event's, which events knows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetEdge {
    pub event_id: Uuid,
    pub member_a: Uuid,
    pub member_b: Uuid,
}

impl TryFrom<&pb::RecordMetEdgeRequest> for MetEdge {
    type Error = Error;

    fn try_from(req: &pb::RecordMetEdgeRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let event_id = id(&mut f, "event_id", &req.event_id);
        let member_a = id(&mut f, "member_a", &req.member_a);
        let member_b = id(&mut f, "member_b", &req.member_b);
        if !req.member_a.is_empty() && req.member_a == req.member_b {
            f.push(FieldViolation::new("member_b", "must differ from member_a"));
        }
        f.or_default(time("met_time", req.met_time.as_ref()));
        f.finish(Self {
            event_id,
            member_a,
            member_b,
        })
    }
}

/// Longest window of starts FindSharedEvent searches.
pub const MAX_SHARED_EVENT_WINDOW: Duration = Duration::days(90);

impl TryFrom<&pb::FindSharedEventRequest> for SharedEventFilter {
    type Error = Error;

    fn try_from(req: &pb::FindSharedEventRequest) -> Result<Self, Error> {
        let mut f = Fields::new();
        let member_a = validate::id("member_a", &req.member_a);
        let member_b = validate::id("member_b", &req.member_b).and_then(|b| match &member_a {
            Ok(a) if *a == b => Err(FieldViolation::new("member_b", "must differ from member_a")),
            _ => Ok(b),
        });
        let member_a = f.or_default(member_a);
        let member_b = f.or_default(member_b);
        let city = f.or_default(validate::text("city", &req.city, 1, 100, false));
        let start_after = required_time("start_after", req.start_after.as_ref());
        let start_before =
            required_time("start_before", req.start_before.as_ref()).and_then(|before| {
                start_after
                    .as_ref()
                    .map_or(Ok(before), |after| window_end(*after, before))
            });
        let start_after = f.or_default(start_after);
        let start_before = f.or_default(start_before);
        f.finish(Self {
            members: (member_a, member_b),
            city_key: city_key(&city),
            start_after,
            start_before,
        })
    }
}

/// `before`, the end of a window of starts from `after`: later, by at most
/// [`MAX_SHARED_EVENT_WINDOW`].
fn window_end(
    after: DateTime<Utc>,
    before: DateTime<Utc>,
) -> Result<DateTime<Utc>, FieldViolation> {
    if before <= after {
        return Err(FieldViolation::new(
            "start_before",
            "must be after start_after",
        ));
    }
    if before - after > MAX_SHARED_EVENT_WINDOW {
        return Err(FieldViolation::new(
            "start_before",
            format!(
                "must be at most {} days after start_after",
                MAX_SHARED_EVENT_WINDOW.num_days()
            ),
        ));
    }
    Ok(before)
}

/// A time the request must give.
fn required_time(field: &str, value: Option<&Timestamp>) -> Result<DateTime<Utc>, FieldViolation> {
    time(field, value)?.ok_or_else(|| FieldViolation::new(field, "is required"))
}

/// The event FindSharedEvent found, as a re-meet nudge names it.
pub fn shared_event_pb(e: &EventRow) -> pb::SharedEvent {
    pb::SharedEvent {
        event_id: e.id.to_string(),
        title: e.title.clone(),
        start_time: ts(e.start_at),
        end_time: ts(e.end_at),
        time_zone: e.time_zone.clone(),
        venue_name: e.venue_name.clone(),
        venue_address: e.venue_address.clone(),
        city: e.city.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erase_requests_name_every_bad_field() {
        let bad = pb::EraseMemberRequest {
            member_id: "anna".to_owned(),
            erase_time: None,
        };
        let Err(Error::InvalidArgument(violations)) = EraseMember::try_from(&bad) else {
            panic!("accepted a request without a member or a time");
        };
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["member_id", "erase_time"]);

        let member = Uuid::now_v7();
        let at = Utc::now();
        let good = pb::EraseMemberRequest {
            member_id: member.to_string(),
            erase_time: Some(rendezvous_common::time::to_timestamp(at)),
        };
        let parsed = EraseMember::try_from(&good).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.member, member);
    }
}
