//! Hopes of meeting someone at an event: MarkWantToMeet, UnmarkWantToMeet, ListWantToMeet.
//!
//! A mark is the marker's alone: no method, count or notice shows it to anyone else, until the
//! other marks them too and both are told. So every way a mark can be refused for its target
//! (not going, hidden from the caller, blocked either way) answers the same NOT_FOUND, and the
//! refusals that depend on the caller alone (not confirmed, the event over, ten marks made)
//! say nothing about the target.

use tonic::Request;
use uuid::Uuid;

use super::{Events, member_caller};
use crate::convert::events::EventRef;
use crate::convert::want_to_meet::{Mark, want_to_meet_pb};
use crate::domain::access::{Access, Action};
use crate::domain::event::EventRow;
use crate::domain::want_to_meet;
use crate::error::{Error, Result};
use crate::notices;
use crate::store::{Hopes, Marked, Names};
use rendezvous_proto::events::v1 as pb;

impl Events {
    pub(super) async fn mark_want_to_meet(
        &self,
        request: Request<pb::MarkWantToMeetRequest>,
    ) -> Result<pb::MarkWantToMeetResponse> {
        let me = member_caller(&request)?;
        let Mark {
            event_id,
            member_id: other,
        } = Mark::try_from((request.get_ref(), me))?;
        let (event, access) = self
            .event_unless_blocked(event_id, Some(me), Action::HopeToMeet)
            .await?;
        if Self::blocked_from(me, &event, access) {
            return Err(Error::NotFound("event"));
        }
        let now = self.now();
        want_to_meet::check_open(&event, now)?;
        if !self.sees_attending(&event, access, me, other).await? {
            return Err(Error::NotFound("attendee"));
        }
        // The names go into the notices of a mark that makes the pair mutual; asked of members
        // before the transaction, and only when the other's mark is there to make it so.
        let names = if self.0.store.has_marked(event.id, other, me).await? {
            Some(self.names(me, other).await)
        } else {
            None
        };
        let store = &self.0.store;
        let mut marked = store
            .mark_want_to_meet(&event, me, other, names.as_ref(), now)
            .await?;
        if marked == Marked::NeedsNames {
            // The other marked the caller after the look above: ask again, with the names.
            let names = self.names(me, other).await;
            marked = store
                .mark_want_to_meet(&event, me, other, Some(&names), now)
                .await?;
        }
        let Marked::Done { hopes, told } = marked else {
            return Err(Error::Unavailable("members"));
        };
        if told {
            tracing::info!(event = %event.id, "two attendees hope to meet each other; both told");
        }
        Ok(pb::MarkWantToMeetResponse {
            want_to_meet: Some(self.shown(event.id, me, hopes).await?),
        })
    }

    pub(super) async fn unmark_want_to_meet(
        &self,
        request: Request<pb::UnmarkWantToMeetRequest>,
    ) -> Result<pb::UnmarkWantToMeetResponse> {
        let me = member_caller(&request)?;
        let Mark {
            event_id,
            member_id: other,
        } = Mark::try_from((request.get_ref(), me))?;
        let event = self.event_of_own_marks(event_id, me).await?;
        let hopes = self
            .0
            .store
            .unmark_want_to_meet(event.id, me, other)
            .await?;
        Ok(pb::UnmarkWantToMeetResponse {
            want_to_meet: Some(self.shown(event.id, me, hopes).await?),
        })
    }

    pub(super) async fn list_want_to_meet(
        &self,
        request: Request<pb::ListWantToMeetRequest>,
    ) -> Result<pb::ListWantToMeetResponse> {
        let me = member_caller(&request)?;
        let EventRef(event_id) = EventRef::try_from(request.get_ref())?;
        let event = self.event_of_own_marks(event_id, me).await?;
        let hopes = self.0.store.hopes(event.id, me).await?;
        Ok(pb::ListWantToMeetResponse {
            want_to_meet: Some(self.shown(event.id, me, hopes).await?),
        })
    }

    /// The event whose marks `me` reads or takes back: any event they may see (one who gave
    /// up their seat still holds their marks), hidden as ever from one who and whose host
    /// block each other, unless they hold an RSVP there.
    async fn event_of_own_marks(&self, event_id: Uuid, me: Uuid) -> Result<EventRow> {
        let (event, access) = self
            .event_unless_blocked(event_id, Some(me), Action::See)
            .await?;
        if Self::blocked_from(me, &event, access) && !access.has_rsvp {
            return Err(Error::NotFound("event"));
        }
        Ok(event)
    }

    /// Whether `other` is a confirmed attendee of `event` whom `me` (a confirmed attendee,
    /// `access`) sees in ListAttendees: neither blocks the other, and the RSVP's visibility
    /// lets them (a host sees every attendee).
    async fn sees_attending(
        &self,
        event: &EventRow,
        access: Access,
        me: Uuid,
        other: Uuid,
    ) -> Result<bool> {
        let Some(row) = self.0.store.rsvp_of(event.id, other).await? else {
            return Ok(false);
        };
        // A block recorded here settles it without asking members.
        if self
            .0
            .store
            .blocked_among(me, &[other])
            .await?
            .contains(&other)
        {
            return Ok(false);
        }
        let (relations, _) = self.relations_or_none(me, &[other]).await;
        let relation = relations.with(other);
        Ok(if event.is_manager(me) {
            row.state == crate::domain::rsvp::RsvpState::Confirmed && !relation.blocked
        } else {
            Self::shows_as_attendee(access.confirmed, &row, relation)
        })
    }

    /// The names of the two members of a mark, for its notices.
    async fn names(&self, me: Uuid, other: Uuid) -> Names {
        (
            notices::member_facts(me, self.display_name_for_notice(me).await),
            notices::member_facts(other, self.display_name_for_notice(other).await),
        )
    }

    /// `hopes` as `me` is shown them: blocks recorded since are left out (a block drops the
    /// marks between the two, and its record may still be on its way).
    async fn shown(&self, event_id: Uuid, me: Uuid, mut hopes: Hopes) -> Result<pb::WantToMeet> {
        let mut others: Vec<Uuid> = hopes.marked.iter().chain(&hopes.mutual).copied().collect();
        others.sort();
        others.dedup();
        let blocked = self.0.store.blocked_among(me, &others).await?;
        hopes.marked.retain(|id| !blocked.contains(id));
        hopes.mutual.retain(|id| !blocked.contains(id));
        Ok(want_to_meet_pb(event_id, &hopes))
    }
}
