//! Re-meet nudges: a member reads and sets their own settings, lists and dismisses their own
//! nudges, and nobody else's (the caller is the only member these methods take).

use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;
use tonic::Request;

use super::state::{Members, member_caller, ts};
use crate::domain::remeet::RemeetSettings;
use crate::error::{Error, Result};
use crate::notices::RemeetSuggestion;
use crate::store::NudgeRow;

fn nudge_to_pb(n: NudgeRow) -> pb::RemeetNudge {
    pb::RemeetNudge {
        id: n.id,
        member_id: n.other_id,
        display_name: n.other_name,
        last_met_time: ts(n.last_met),
        create_time: ts(n.created_at),
        suggestion: Some(match n.suggestion {
            RemeetSuggestion::Event(event) => pb::remeet_nudge::Suggestion::Event(event),
            RemeetSuggestion::Coffee(proposal) => {
                pb::remeet_nudge::Suggestion::CoffeeProposalId(proposal.to_string())
            }
        }),
    }
}

impl Members {
    pub(super) async fn get_remeet_settings(
        &self,
        request: Request<pb::GetRemeetSettingsRequest>,
    ) -> Result<pb::GetRemeetSettingsResponse> {
        let (me, _) = member_caller(&request)?;
        let settings = self.0.store.remeet_settings(me).await?;
        Ok(pb::GetRemeetSettingsResponse {
            settings: Some(settings.to_proto()),
        })
    }

    pub(super) async fn update_remeet_settings(
        &self,
        request: Request<pb::UpdateRemeetSettingsRequest>,
    ) -> Result<pb::UpdateRemeetSettingsResponse> {
        let (me, _) = member_caller(&request)?;
        let settings = RemeetSettings::parse(request.get_ref().settings.as_ref())?;
        self.0
            .store
            .set_remeet_settings(me, settings, self.now())
            .await?;
        Ok(pb::UpdateRemeetSettingsResponse {
            settings: Some(settings.to_proto()),
        })
    }

    pub(super) async fn list_remeet_nudges(
        &self,
        request: Request<pb::ListRemeetNudgesRequest>,
    ) -> Result<pb::ListRemeetNudgesResponse> {
        let (me, _) = member_caller(&request)?;
        let nudges = self.0.store.remeet_nudges(me).await?;
        Ok(pb::ListRemeetNudgesResponse {
            nudges: nudges.into_iter().map(nudge_to_pb).collect(),
        })
    }

    pub(super) async fn dismiss_remeet_nudge(
        &self,
        request: Request<pb::DismissRemeetNudgeRequest>,
    ) -> Result<pb::DismissRemeetNudgeResponse> {
        let (me, _) = member_caller(&request)?;
        let nudge = validate::id("nudge_id", &request.get_ref().nudge_id)?;
        if self
            .0
            .store
            .dismiss_remeet_nudge(me, nudge, self.now())
            .await?
        {
            Ok(pb::DismissRemeetNudgeResponse {})
        } else {
            Err(Error::NotFound("re-meet nudge"))
        }
    }
}
