//! RSVPs: answering, reading one, and the single transitions (cancel, claim, approve,
//! decline).

use rendezvous_proto::events::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::{Events, member_caller};
use crate::convert::events::EventRef;
use crate::convert::rsvps::RsvpQuery;
use crate::convert::rsvps::{Answer, Decision, rsvp_to_pb};
use crate::domain::access::{Action, authorize};
use crate::domain::rsvp::Transition;
use crate::error::{Error, Result};
use crate::store::AdmitRequest;

impl Events {
    pub(super) async fn rsvp(&self, request: Request<pb::RsvpRequest>) -> Result<pb::RsvpResponse> {
        let me = member_caller(&request)?;
        let answer = Answer::try_from(request.get_ref())?;
        let id = answer.event_id;
        let event = self.visible_event(id, Some(me)).await?;
        // The hosts of an approval event hear who asks to come.
        let display_name = if event.approval_required {
            self.display_name_for_notice(me).await
        } else {
            String::new()
        };
        let outcome = self
            .0
            .admission
            .admit(
                id,
                AdmitRequest {
                    member_id: me,
                    intent: answer.intent,
                    visibility: answer.visibility,
                    display_name,
                },
            )
            .await?;
        let mut row = self
            .0
            .store
            .rsvp_of(id, me)
            .await?
            .ok_or(Error::NotFound("rsvp"))?;
        // The batch's answer is what the caller's request became.
        row.state = outcome.state;
        if outcome.waitlist_position.is_some() {
            row.waitlist_position = outcome.waitlist_position;
        }
        Ok(pb::RsvpResponse {
            rsvp: Some(rsvp_to_pb(&row)),
        })
    }

    pub(super) async fn get_rsvp(
        &self,
        request: Request<pb::GetRsvpRequest>,
    ) -> Result<pb::GetRsvpResponse> {
        let me = member_caller(&request)?;
        let RsvpQuery {
            event_id: id,
            member_id: member,
        } = RsvpQuery::try_from((request.get_ref(), me))?;
        // Blocks with the host are checked below (recorded here, no call to members).
        let (event, access) = self.event_unless_blocked(id, Some(me), Action::See).await?;
        let others = if member == me {
            Vec::new()
        } else {
            vec![member]
        };
        let (relations, _) = self.relations_or_none(me, &others).await;
        // Hidden from one who blocks its host or whom its host blocks, but for their own
        // RSVP: the seat they took before the block is still theirs to read and give up.
        let blocked_host = Self::blocked_from(me, &event, access);
        if blocked_host && member != me {
            return Err(Error::NotFound("event"));
        }
        let others_as_attendee = member != me && !event.is_manager(me);
        if others_as_attendee {
            // Another's RSVP as ListAttendees would show it: confirmed attendees only, by
            // the attendee's RSVP visibility; anything else is as if there were none.
            authorize(&event, Some(me), access, Action::ListAttendees)?;
        }
        let row = self
            .0
            .store
            .rsvp_of(event.id, member)
            .await?
            .ok_or(Error::NotFound(if blocked_host { "event" } else { "rsvp" }))?;
        if member != me {
            // As the list: a member the caller blocks, or who blocks them, is not there for
            // anyone, hosts included.
            let relation = relations.with(member);
            if relation.blocked
                || (others_as_attendee
                    && !Self::shows_as_attendee(access.confirmed, &row, relation))
            {
                return Err(Error::NotFound("rsvp"));
            }
        }
        Ok(pb::GetRsvpResponse {
            rsvp: Some(rsvp_to_pb(&row)),
        })
    }

    pub(super) async fn cancel_rsvp(
        &self,
        request: Request<pb::CancelRsvpRequest>,
    ) -> Result<pb::CancelRsvpResponse> {
        let me = member_caller(&request)?;
        let EventRef(id) = EventRef::try_from(request.get_ref())?;
        // One who blocks the host, or whom the host blocks, may still give up the seat they
        // took before; to one without an RSVP there the event stays hidden.
        let (event, access) = self.event_unless_blocked(id, Some(me), Action::See).await?;
        if Self::blocked_from(me, &event, access) && !access.has_rsvp {
            return Err(Error::NotFound("event"));
        }
        let row = self.single(id, me, Transition::Cancel).await?;
        Ok(pb::CancelRsvpResponse { rsvp: Some(row) })
    }

    pub(super) async fn claim_offer(
        &self,
        request: Request<pb::ClaimOfferRequest>,
    ) -> Result<pb::ClaimOfferResponse> {
        let me = member_caller(&request)?;
        let EventRef(id) = EventRef::try_from(request.get_ref())?;
        self.visible_event(id, Some(me)).await?;
        let row = self.single(id, me, Transition::Claim).await?;
        Ok(pb::ClaimOfferResponse { rsvp: Some(row) })
    }

    pub(super) async fn approve_rsvp(
        &self,
        request: Request<pb::ApproveRsvpRequest>,
    ) -> Result<pb::ApproveRsvpResponse> {
        let me = member_caller(&request)?;
        let decision = Decision::try_from(request.get_ref())?;
        let id = decision.event_id;
        self.event_for(id, Some(me), Action::Manage).await?;
        let row = self
            .single(id, decision.member_id, Transition::Approve)
            .await?;
        Ok(pb::ApproveRsvpResponse { rsvp: Some(row) })
    }

    pub(super) async fn decline_rsvp(
        &self,
        request: Request<pb::DeclineRsvpRequest>,
    ) -> Result<pb::DeclineRsvpResponse> {
        let me = member_caller(&request)?;
        let decision = Decision::try_from(request.get_ref())?;
        let id = decision.event_id;
        self.event_for(id, Some(me), Action::Manage).await?;
        let row = self
            .single(id, decision.member_id, Transition::Decline)
            .await?;
        Ok(pb::DeclineRsvpResponse { rsvp: Some(row) })
    }

    /// Applies one RSVP transition and returns the RSVP as it now stands.
    async fn single(&self, event_id: Uuid, member: Uuid, op: Transition) -> Result<pb::Rsvp> {
        let outcome = self
            .0
            .store
            .transition(event_id, member, op, self.now())
            .await?;
        let mut row = self
            .0
            .store
            .rsvp_of(event_id, member)
            .await?
            .ok_or(Error::NotFound("rsvp"))?;
        row.state = outcome.state;
        Ok(rsvp_to_pb(&row))
    }
}
