//! Invitations: a host invites members, connections or a chapter under the weekly cap per
//! inviter and the cap per event over all its hosts.

use rendezvous_proto::events::v1 as pb;
use tonic::Request;

use super::{Events, member_caller};
use uuid::Uuid;

use crate::convert::count;
use crate::convert::events::{Invitation, Invitees};
use crate::domain::access::Action;
use crate::domain::event::EventState;
use crate::error::{Error, Result};
use crate::notices;
use crate::store::InviteOutcome;

impl Events {
    pub(super) async fn invite_members(
        &self,
        request: Request<pb::InviteMembersRequest>,
    ) -> Result<pb::InviteMembersResponse> {
        let me = member_caller(&request)?;
        let invitation = Invitation::try_from(request.get_ref())?;
        let event = self
            .event_for(invitation.event_id, Some(me), Action::Manage)
            .await?
            .0;
        // Set when the event is made and never changed, so this read needs no lock.
        event.check_reshapable()?;
        if event.state.is_over() {
            return Err(Error::FailedPrecondition("the event is over or cancelled"));
        }
        // An invitee could not open a draft; a draft only ever becomes published, so this
        // read cannot let one through.
        if event.state == EventState::Draft {
            return Err(Error::FailedPrecondition(
                "publish the event before inviting people to it",
            ));
        }
        let candidates: Vec<Uuid> = match invitation.invitees {
            Invitees::Members(ids) => ids,
            Invitees::AllConnections { only_in_event_city } => {
                let city = if only_in_event_city {
                    event.city.clone()
                } else {
                    String::new()
                };
                self.members()?.connection_ids(me, &city).await?
            }
            Invitees::Chapter(chapter) => {
                if !self.0.store.is_chapter_member(chapter, me).await? {
                    return Err(Error::PermissionDenied(
                        "only members of the chapter may invite it",
                    ));
                }
                self.0.store.chapter_member_ids(chapter).await?
            }
        };
        let mut candidates: Vec<Uuid> = candidates
            .into_iter()
            .filter(|m| *m != me && *m != event.host_id)
            .collect();
        candidates.sort();
        candidates.dedup();
        // Blocks either way: one GetRelations call per page of candidates. Members down, the
        // call fails rather than risk inviting someone who blocks the host.
        let (allowed, blocked) = match &self.0.members {
            Some(members) => {
                let relations = members.relations(me, &candidates).await?;
                let (blocked, allowed): (Vec<Uuid>, Vec<Uuid>) = candidates
                    .into_iter()
                    .partition(|m| relations.with(*m).blocked);
                (allowed, i64::try_from(blocked.len()).unwrap_or(i64::MAX))
            }
            None => (candidates, 0),
        };
        // Members is already needed here for blocks (and connections); unreachable, the call
        // fails as those do. Not configured at all, the notice names nobody.
        let inviter_name = match &self.0.members {
            Some(members) => members.display_name(me).await?,
            None => String::new(),
        };
        let InviteOutcome {
            invited,
            skipped,
            remaining,
        } = self
            .0
            .store
            .invite(
                &event,
                notices::member_facts(me, inviter_name),
                &allowed,
                self.0.settings.weekly_invitation_cap,
                self.now(),
            )
            .await?;
        Ok(pb::InviteMembersResponse {
            invited_count: count(invited),
            skipped_count: count(skipped + blocked),
            remaining_weekly_invitations: count(remaining),
        })
    }
}
