//! Connections: request, answer, withdraw and remove them, list them, block and unblock.

use chrono::{DateTime, Utc};
use rendezvous_common::pagination::{next_page_token, page_size};
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;
use tonic::Request;

use super::state::{Members, member_caller, ts};
use crate::domain::fields;
use crate::domain::network::{Answer, Direction, MetFilter, NewRequest, OtherMember};
use crate::error::{Error, Result};
use crate::store::{RequestOutcome, RequestRow, RespondOutcome};

fn request_to_pb(r: RequestRow) -> pb::ConnectionRequest {
    pb::ConnectionRequest {
        state: r.state.to_proto().into(),
        id: r.id,
        requester_id: r.requester_id,
        addressee_id: r.addressee_id,
        note: r.note,
        create_time: ts(r.created_at),
        update_time: ts(r.updated_at),
        other_display_name: r.other_display_name,
    }
}

fn respond_outcome(outcome: RespondOutcome, not_yours: &'static str) -> Result<RequestRow> {
    match outcome {
        RespondOutcome::Done(r) => Ok(r),
        RespondOutcome::NotFound => Err(Error::NotFound("connection request")),
        RespondOutcome::NotYours => Err(Error::PermissionDenied(not_yours)),
        RespondOutcome::NotPending => Err(Error::FailedPrecondition(
            "the request is no longer pending",
        )),
    }
}

impl Members {
    pub(super) async fn request_connection(
        &self,
        request: Request<pb::RequestConnectionRequest>,
    ) -> Result<pb::RequestConnectionResponse> {
        let (me, _) = member_caller(&request)?;
        let NewRequest { addressee, note } = NewRequest::try_from((me, request.into_inner()))?;
        match self
            .0
            .store
            .request_connection(
                me,
                addressee,
                &note,
                &self.0.settings.outreach.requests_of(me),
                self.now(),
            )
            .await?
        {
            RequestOutcome::Sent(r) | RequestOutcome::Accepted(r) => {
                Ok(pb::RequestConnectionResponse {
                    connection_request: Some(request_to_pb(r)),
                })
            }
            RequestOutcome::AlreadyConnected => {
                Err(Error::AlreadyExists("you are already connected"))
            }
            RequestOutcome::AlreadyRequested => Err(Error::AlreadyExists(
                "a request to this member is already pending",
            )),
            RequestOutcome::NotFound => Err(Error::NotFound("member")),
            RequestOutcome::RequesterBlocks => Err(Error::FailedPrecondition(
                "you block this member; unblock them first",
            )),
            RequestOutcome::CoolingDown(wait) => Err(Error::declined_cooldown(wait)),
            RequestOutcome::RateLimited(wait) => Err(Error::rate_limited(wait)),
        }
    }

    pub(super) async fn respond_to_connection_request(
        &self,
        request: Request<pb::RespondToConnectionRequestRequest>,
    ) -> Result<pb::RespondToConnectionRequestResponse> {
        let (me, _) = member_caller(&request)?;
        let answer = Answer::try_from(request.into_inner())?;
        let outcome = self
            .0
            .store
            .respond(me, answer.request_id, answer.accept, self.now())
            .await?;
        Ok(pb::RespondToConnectionRequestResponse {
            connection_request: Some(request_to_pb(respond_outcome(
                outcome,
                "only the addressee can answer a request",
            )?)),
        })
    }

    pub(super) async fn withdraw_connection_request(
        &self,
        request: Request<pb::WithdrawConnectionRequestRequest>,
    ) -> Result<pb::WithdrawConnectionRequestResponse> {
        let (me, _) = member_caller(&request)?;
        let id = validate::id(
            "connection_request_id",
            &request.get_ref().connection_request_id,
        )
        .map_err(Error::from)?;
        let outcome = self.0.store.withdraw(me, id, self.now()).await?;
        Ok(pb::WithdrawConnectionRequestResponse {
            connection_request: Some(request_to_pb(respond_outcome(
                outcome,
                "only the requester can withdraw a request",
            )?)),
        })
    }

    pub(super) async fn remove_connection(
        &self,
        request: Request<pb::RemoveConnectionRequest>,
    ) -> Result<pb::RemoveConnectionResponse> {
        let (me, _) = member_caller(&request)?;
        let OtherMember(other) = OtherMember::try_from((me, request.into_inner()))?;
        if !self
            .0
            .store
            .remove_connection(me, other, self.now())
            .await?
        {
            return Err(Error::NotFound("connection"));
        }
        Ok(pb::RemoveConnectionResponse {})
    }

    pub(super) async fn list_connections(
        &self,
        request: Request<pb::ListConnectionsRequest>,
    ) -> Result<pb::ListConnectionsResponse> {
        let (me, _) = member_caller(&request)?;
        let req = request.into_inner();
        let filter = MetFilter::from_proto("met_filter", req.met_filter);
        // A token is read in the scope of its filter; with a bad filter, in the default one.
        let scope = format!(
            "ListConnections:{:?}",
            filter.as_ref().map_or(MetFilter::Any, |f| *f)
        );
        let (filter, limit, after) = fields::all((
            filter,
            page_size(req.page_size, 20, 100),
            self.cursor::<(DateTime<Utc>, String)>(&scope, &req.page_token),
        ))?;
        let mut rows = self
            .0
            .store
            .connections(me, filter, after, limit + 1)
            .await?;
        let next = next_page_token(&mut rows, limit, |c| {
            self.0
                .page_tokens
                .encode(&scope, &(c.created_at, c.member_id.clone()))
        });
        Ok(pb::ListConnectionsResponse {
            connections: rows
                .into_iter()
                .map(|c| pb::Connection {
                    member_id: c.member_id,
                    display_name: c.display_name,
                    headline: c.headline,
                    city: c.city,
                    connect_time: ts(c.created_at),
                    met_in_person: c.met_event_id.is_some(),
                    met_event_id: c.met_event_id.unwrap_or_default(),
                    met_time: c.met_at.and_then(ts),
                })
                .collect(),
            next_page_token: next,
        })
    }

    pub(super) async fn list_connection_requests(
        &self,
        request: Request<pb::ListConnectionRequestsRequest>,
    ) -> Result<pb::ListConnectionRequestsResponse> {
        let (me, _) = member_caller(&request)?;
        let req = request.into_inner();
        let direction = Direction::from_proto("direction", req.direction);
        // A token is read in the scope of its direction; with a bad one, in the default one.
        let incoming = direction
            .as_ref()
            .map_or(true, |d| *d == Direction::Incoming);
        let scope = format!("ListConnectionRequests:{incoming}");
        let (direction, limit, before) = fields::all((
            direction,
            page_size(req.page_size, 20, 100),
            self.cursor::<String>(&scope, &req.page_token),
        ))?;
        let mut rows = self
            .0
            .store
            .pending_requests(me, direction, before.as_deref(), limit + 1)
            .await?;
        let next = next_page_token(&mut rows, limit, |r| {
            self.0.page_tokens.encode(&scope, &r.id)
        });
        Ok(pb::ListConnectionRequestsResponse {
            connection_requests: rows.into_iter().map(request_to_pb).collect(),
            next_page_token: next,
        })
    }

    pub(super) async fn block_member(
        &self,
        request: Request<pb::BlockMemberRequest>,
    ) -> Result<pb::BlockMemberResponse> {
        let (me, _) = member_caller(&request)?;
        let OtherMember(other) = OtherMember::try_from((me, request.into_inner()))?;
        self.0
            .store
            .member(other)
            .await?
            .ok_or(Error::NotFound("member"))?;
        self.0.store.block(me, other, self.now()).await?;
        Ok(pb::BlockMemberResponse {})
    }

    pub(super) async fn unblock_member(
        &self,
        request: Request<pb::UnblockMemberRequest>,
    ) -> Result<pb::UnblockMemberResponse> {
        let (me, _) = member_caller(&request)?;
        let OtherMember(other) = OtherMember::try_from((me, request.into_inner()))?;
        if !self.0.store.unblock(me, other, self.now()).await? {
            return Err(Error::NotFound("block"));
        }
        Ok(pb::UnblockMemberResponse {})
    }
}
