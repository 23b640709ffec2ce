//! `EventInternalService`: what other Rendezvous services ask of events — a deleted member's
//! erasure, ended sessions, blocks, booked and called-off coffees and met edges (from members'
//! outbox), a member's part of the data export, and the event two members may both attend
//! (members' re-meet nudges).

use rendezvous_proto::events::v1 as pb;
use tonic::Request;

use super::{Events, Reply, reply};
use crate::convert::coffee::venue_pb;
use crate::convert::internal::{
    EraseMember, ExportMember, MetEdge, RecordBlocks, session_revocation, shared_event_pb,
};
use crate::domain::coffee::{CoffeeBooking, CoffeeCancellation};
use crate::error::Result;
use crate::store::{CoffeeSchedule, SharedEventFilter};

/// Counts on the wire saturate rather than wrap.
fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Events {
    async fn erase(&self, req: &pb::EraseMemberRequest) -> Result<pb::EraseMemberResponse> {
        let EraseMember { member, erased_at } = req.try_into()?;
        let erased = self
            .0
            .store
            .erase_member(member, erased_at, self.now())
            .await?;
        // Refused here at once; other replicas read the erasure within seconds.
        self.0.revoked.revoke(member, erased_at);
        tracing::info!(
            member_id = %member,
            rsvps = erased.rsvps,
            events = erased.events,
            feeds = erased.feeds,
            invitations = erased.invitations,
            chapter_roles = erased.chapter_roles,
            "member erased"
        );
        Ok(pb::EraseMemberResponse {
            cancelled_rsvp_count: count(erased.rsvps),
            cancelled_event_count: count(erased.events),
            revoked_feed_count: count(erased.feeds),
            dropped_invitation_count: count(erased.invitations),
            dropped_chapter_role_count: count(erased.chapter_roles),
        })
    }

    async fn revoke_sessions(
        &self,
        req: &pb::RevokeSessionsRequest,
    ) -> Result<pb::RevokeSessionsResponse> {
        let revocation = session_revocation(req)?;
        let recorded = self.0.sessions.record(&revocation, self.now()).await?;
        Ok(pb::RevokeSessionsResponse {
            revoked_session_count: count(recorded),
        })
    }

    async fn record_blocks(
        &self,
        req: &pb::RecordBlocksRequest,
    ) -> Result<pb::RecordBlocksResponse> {
        let RecordBlocks(changes) = req.try_into()?;
        let recorded = self.0.store.record_blocks(&changes).await?;
        tracing::info!(changes = changes.len(), recorded, "blocks recorded");
        Ok(pb::RecordBlocksResponse {
            recorded_change_count: count(recorded),
        })
    }

    async fn schedule_coffee(
        &self,
        req: &pb::ScheduleCoffeeRequest,
    ) -> Result<pb::ScheduleCoffeeResponse> {
        let booking = CoffeeBooking::try_from(req)?;
        let scheduled = match self.0.store.schedule_coffee(&booking, self.now()).await? {
            CoffeeSchedule::Scheduled(scheduled) => scheduled,
            CoffeeSchedule::CalledOff => {
                tracing::info!(
                    event_id = %booking.event_id,
                    proposal_id = %booking.proposal_id,
                    "coffee called off before it was scheduled"
                );
                // Answered rather than refused, so that the relay stops sending it.
                return Ok(pb::ScheduleCoffeeResponse {
                    event_id: booking.event_id.to_string(),
                    venue: None,
                    created: false,
                });
            }
        };
        tracing::info!(
            event_id = %scheduled.event.id,
            proposal_id = %booking.proposal_id,
            created = scheduled.created,
            venue_suggested = scheduled.venue_suggested,
            "coffee scheduled"
        );
        Ok(pb::ScheduleCoffeeResponse {
            event_id: scheduled.event.id.to_string(),
            venue: Some(venue_pb(&scheduled.venue())),
            created: scheduled.created,
        })
    }

    async fn cancel_coffee(
        &self,
        req: &pb::CancelCoffeeRequest,
    ) -> Result<pb::CancelCoffeeResponse> {
        let cancellation = CoffeeCancellation::try_from(req)?;
        let cancelled = self
            .0
            .store
            .cancel_coffee(&cancellation, self.now())
            .await?;
        tracing::info!(
            event_id = %cancellation.event_id,
            proposal_id = %cancellation.proposal_id,
            cancelled,
            "coffee called off"
        );
        Ok(pb::CancelCoffeeResponse { cancelled })
    }

    async fn record_met_edge(
        &self,
        req: &pb::RecordMetEdgeRequest,
    ) -> Result<pb::RecordMetEdgeResponse> {
        let edge = MetEdge::try_from(req)?;
        let counted = self
            .0
            .store
            .record_met_edge(edge.event_id, edge.member_a, edge.member_b)
            .await?;
        Ok(pb::RecordMetEdgeResponse { counted })
    }

    async fn find_shared_event(
        &self,
        req: &pb::FindSharedEventRequest,
    ) -> Result<pb::FindSharedEventResponse> {
        let filter = SharedEventFilter::try_from(req)?;
        let event = self.0.store.find_shared_event(&filter).await?;
        Ok(pb::FindSharedEventResponse {
            event: event.as_ref().map(shared_event_pb),
        })
    }

    async fn export(
        &self,
        req: &pb::ExportMemberDataRequest,
    ) -> Result<pb::ExportMemberDataResponse> {
        let ExportMember(member) = req.try_into()?;
        let part = self.0.store.export_member(member).await?;
        Ok(pb::ExportMemberDataResponse {
            data: part.to_string().into_bytes(),
            content_type: "application/json".to_owned(),
        })
    }
}

#[tonic::async_trait]
impl pb::event_internal_service_server::EventInternalService for Events {
    async fn erase_member(
        &self,
        request: Request<pb::EraseMemberRequest>,
    ) -> Reply<pb::EraseMemberResponse> {
        reply(self.erase(request.get_ref()).await)
    }

    async fn revoke_sessions(
        &self,
        request: Request<pb::RevokeSessionsRequest>,
    ) -> Reply<pb::RevokeSessionsResponse> {
        reply(self.revoke_sessions(request.get_ref()).await)
    }

    async fn record_blocks(
        &self,
        request: Request<pb::RecordBlocksRequest>,
    ) -> Reply<pb::RecordBlocksResponse> {
        reply(self.record_blocks(request.get_ref()).await)
    }

    async fn schedule_coffee(
        &self,
        request: Request<pb::ScheduleCoffeeRequest>,
    ) -> Reply<pb::ScheduleCoffeeResponse> {
        reply(Events::schedule_coffee(self, request.get_ref()).await)
    }

    async fn cancel_coffee(
        &self,
        request: Request<pb::CancelCoffeeRequest>,
    ) -> Reply<pb::CancelCoffeeResponse> {
        reply(Events::cancel_coffee(self, request.get_ref()).await)
    }

    async fn record_met_edge(
        &self,
        request: Request<pb::RecordMetEdgeRequest>,
    ) -> Reply<pb::RecordMetEdgeResponse> {
        reply(Events::record_met_edge(self, request.get_ref()).await)
    }

    async fn find_shared_event(
        &self,
        request: Request<pb::FindSharedEventRequest>,
    ) -> Reply<pb::FindSharedEventResponse> {
        reply(Events::find_shared_event(self, request.get_ref()).await)
    }

    async fn export_member_data(
        &self,
        request: Request<pb::ExportMemberDataRequest>,
    ) -> Reply<pb::ExportMemberDataResponse> {
        reply(self.export(request.get_ref()).await)
    }
}
