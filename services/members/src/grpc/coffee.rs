//! Coffee settings: a member reads and changes their own, and nobody else's (the caller is
//! the only member these methods ever name).

use chrono::{DateTime, Utc};
use rendezvous_common::pagination::{next_page_token, page_size};
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;
use tonic::Request;

use super::state::{Members, member_caller, ts};
use crate::domain::booking::Booking;
use crate::domain::coffee::{CoffeeUpdate, answer_to_proto};
use crate::domain::fields;
use crate::error::{Error, Result};
use crate::store::{AnswerOutcome, BookOutcome, CoffeeOutcome, ProposalRow};

fn slot_to_pb((start, end): (DateTime<Utc>, DateTime<Utc>)) -> pb::CoffeeSlot {
    pb::CoffeeSlot {
        start_time: ts(start),
        end_time: ts(end),
    }
}

fn proposal_to_pb(p: ProposalRow) -> pb::CoffeeProposal {
    pb::CoffeeProposal {
        id: p.id,
        member_id: p.other_id,
        display_name: p.other_name,
        propose_time: ts(p.proposed_at),
        respond_by: ts(p.respond_by),
        state: p.state.to_proto().into(),
        my_answer: answer_to_proto(p.my_answer.as_deref()).into(),
        slots: p.slots.into_iter().map(slot_to_pb).collect(),
        event_id: p.event_id.unwrap_or_default(),
        meeting: p.meeting.map(slot_to_pb),
        last_met_time: p.last_met.and_then(ts),
    }
}

impl Members {
    pub(super) async fn get_coffee_settings(
        &self,
        request: Request<pb::GetCoffeeSettingsRequest>,
    ) -> Result<pb::GetCoffeeSettingsResponse> {
        let (me, _) = member_caller(&request)?;
        let settings = self.0.store.coffee_settings(me).await?;
        Ok(pb::GetCoffeeSettingsResponse {
            settings: Some(settings.to_proto()),
        })
    }

    pub(super) async fn update_coffee_settings(
        &self,
        request: Request<pb::UpdateCoffeeSettingsRequest>,
    ) -> Result<pb::UpdateCoffeeSettingsResponse> {
        let (me, _) = member_caller(&request)?;
        let req = request.into_inner();
        let update = CoffeeUpdate::parse(req.settings.as_ref(), req.update_mask.as_ref(), me)?;
        match self
            .0
            .store
            .update_coffee_settings(me, &update, self.now())
            .await?
        {
            CoffeeOutcome::Updated(settings) => {
                // A member opted in now need not wait for the next hourly round.
                if settings.opted_in && update.opted_in == Some(true) {
                    self.0.coffee_opt_ins.notify_one();
                }
                Ok(pb::UpdateCoffeeSettingsResponse {
                    settings: Some(settings.to_proto()),
                })
            }
            CoffeeOutcome::Refused(violation) => Err(violation.into()),
        }
    }

    pub(super) async fn list_coffee_proposals(
        &self,
        request: Request<pb::ListCoffeeProposalsRequest>,
    ) -> Result<pb::ListCoffeeProposalsResponse> {
        let (me, _) = member_caller(&request)?;
        let req = request.into_inner();
        let (limit, after) = fields::all((
            page_size(req.page_size, 20, 100),
            self.cursor::<(DateTime<Utc>, String)>("ListCoffeeProposals", &req.page_token),
        ))?;
        let mut rows = self
            .0
            .store
            .coffee_proposals(me, after, i64::from(limit) + 1, self.now())
            .await?;
        let next = next_page_token(&mut rows, limit, |p| {
            self.0
                .page_tokens
                .encode("ListCoffeeProposals", &(p.proposed_at, p.id.clone()))
        });
        Ok(pb::ListCoffeeProposalsResponse {
            proposals: rows.into_iter().map(proposal_to_pb).collect(),
            next_page_token: next,
        })
    }

    pub(super) async fn respond_to_coffee_proposal(
        &self,
        request: Request<pb::RespondToCoffeeProposalRequest>,
    ) -> Result<pb::RespondToCoffeeProposalResponse> {
        let (me, _) = member_caller(&request)?;
        let req = request.into_inner();
        let proposal = validate::id("proposal_id", &req.proposal_id)?;
        match self
            .0
            .store
            .answer_coffee(me, proposal, req.accept, self.now())
            .await?
        {
            AnswerOutcome::Answered(row) => Ok(pb::RespondToCoffeeProposalResponse {
                proposal: Some(proposal_to_pb(*row)),
            }),
            AnswerOutcome::NotFound => Err(Error::NotFound("coffee proposal")),
            AnswerOutcome::Lapsed => Err(Error::FailedPrecondition(
                "the coffee proposal is past its deadline",
            )),
            AnswerOutcome::AlreadyMatched => Err(Error::FailedPrecondition(
                "you have both accepted this coffee already",
            )),
        }
    }

    pub(super) async fn schedule_coffee(
        &self,
        request: Request<pb::ScheduleCoffeeRequest>,
    ) -> Result<pb::ScheduleCoffeeResponse> {
        let (me, _) = member_caller(&request)?;
        let now = self.now();
        let booking = Booking::parse(request.get_ref(), now)?;
        match self.0.store.book_coffee(me, &booking, now).await? {
            BookOutcome::Booked(row) => Ok(pb::ScheduleCoffeeResponse {
                proposal: Some(proposal_to_pb(*row)),
            }),
            BookOutcome::NotFound => Err(Error::NotFound("coffee proposal")),
            BookOutcome::NotMatched => Err(Error::FailedPrecondition(
                "the coffee is booked once you have both accepted it",
            )),
            BookOutcome::Lapsed => Err(Error::FailedPrecondition("the coffee proposal has lapsed")),
            BookOutcome::AlreadyBooked => Err(Error::CoffeeAlreadyBooked),
        }
    }
}
