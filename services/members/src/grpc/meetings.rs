//! "Who you met": follow-ups after events, confirming or dismissing a meeting, network stats.

use chrono::{DateTime, Utc};
use rendezvous_common::pagination::{next_page_token, page_size};
use rendezvous_proto::members::v1 as pb;
use tonic::Request;
use uuid::Uuid;

use super::state::{Members, member_caller, ts};
use crate::domain::fields;
use crate::domain::meeting::CoAttendeeChoice;
use crate::error::{Error, Result};
use crate::store::CoAttendeeRow;

fn co_attendee_to_pb(c: CoAttendeeRow) -> pb::CoAttendee {
    pb::CoAttendee {
        member_id: c.member_id,
        display_name: if c.deleted {
            "deleted member".to_owned()
        } else {
            c.display_name
        },
        confirmed_by_me: c.confirmed_by_me,
        confirmed_by_them: c.confirmed_by_them,
        met: c.met,
        connected: c.connected,
        dismissed: c.dismissed,
        hoped_to_meet: c.hoped_to_meet,
    }
}

impl Members {
    pub(super) async fn list_meetings(
        &self,
        request: Request<pb::ListMeetingsRequest>,
    ) -> Result<pb::ListMeetingsResponse> {
        let (me, _) = member_caller(&request)?;
        let req = request.into_inner();
        let (limit, after) = fields::all((
            page_size(req.page_size, 20, 100),
            self.cursor::<(DateTime<Utc>, String)>("ListMeetings", &req.page_token),
        ))?;
        let mut rows = self.0.store.meetings(me, after, limit + 1).await?;
        let next = next_page_token(&mut rows, limit, |m| {
            self.0
                .page_tokens
                .encode("ListMeetings", &(m.event_time, m.event_id.clone()))
        });
        Ok(pb::ListMeetingsResponse {
            meetings: rows
                .into_iter()
                .map(|m| pb::Meeting {
                    event_id: m.event_id,
                    event_title: m.title,
                    event_time: ts(m.event_time),
                    co_attendees: m.co_attendees.into_iter().map(co_attendee_to_pb).collect(),
                })
                .collect(),
            next_page_token: next,
        })
    }

    pub(super) async fn confirm_met(
        &self,
        request: Request<pb::ConfirmMetRequest>,
    ) -> Result<pb::ConfirmMetResponse> {
        let (me, _) = member_caller(&request)?;
        let choice = CoAttendeeChoice::try_from((me, request.into_inner()))?;
        Ok(pb::ConfirmMetResponse {
            co_attendee: Some(self.choose(me, choice, true).await?),
        })
    }

    pub(super) async fn dismiss_meeting(
        &self,
        request: Request<pb::DismissMeetingRequest>,
    ) -> Result<pb::DismissMeetingResponse> {
        let (me, _) = member_caller(&request)?;
        let choice = CoAttendeeChoice::try_from((me, request.into_inner()))?;
        Ok(pb::DismissMeetingResponse {
            co_attendee: Some(self.choose(me, choice, false).await?),
        })
    }

    /// Confirms (`met`) or dismisses the caller's co-attendee; NOT_FOUND when the caller has
    /// no such follow-up.
    async fn choose(
        &self,
        me: Uuid,
        choice: CoAttendeeChoice,
        met: bool,
    ) -> Result<pb::CoAttendee> {
        let row = self
            .0
            .store
            .set_meeting(choice.event_id, me, choice.member, met, self.now())
            .await?;
        Ok(co_attendee_to_pb(row.ok_or(Error::NotFound("meeting"))?))
    }

    pub(super) async fn get_network_stats(
        &self,
        request: Request<pb::GetNetworkStatsRequest>,
    ) -> Result<pb::GetNetworkStatsResponse> {
        let (me, _) = member_caller(&request)?;
        let s = self.0.store.stats(me).await?;
        #[expect(
            clippy::cast_precision_loss,
            reason = "counts of connections are far below 2^52"
        )]
        let ratio = if s.connections == 0 {
            0.0
        } else {
            s.met as f64 / s.connections as f64
        };
        Ok(pb::GetNetworkStatsResponse {
            stats: Some(pb::NetworkStats {
                connections: s.connections,
                met_in_person: s.met,
                real_life_ratio: ratio,
                pending_incoming_requests: s.pending_incoming,
                pending_outgoing_requests: s.pending_outgoing,
            }),
        })
    }
}
