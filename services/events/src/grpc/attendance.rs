//! Attendance: attendee lists and summaries, announcements, check-in codes, check-in and
//! completion.

use chrono::{DateTime, Utc};
use rendezvous_common::pagination::next_page_token;
use rendezvous_proto::events::v1 as pb;
use tonic::Request;
use tracing::Instrument as _;
use uuid::Uuid;

use super::{Events, id_field, id_or_me, member_caller, optional_member};
use crate::convert::events::Announcement;
use crate::convert::events::EventRef;
use crate::convert::events::event_to_pb;
use crate::convert::ids_pb;
use crate::convert::rsvps::AttendeesQuery;
use crate::convert::rsvps::{rsvp_to_pb, status_pb};
use crate::convert::timed_token;
use crate::convert::{count, ts};
use crate::domain::access::{Action, AttendeeView, attendee_view, authorize};
use crate::domain::event::EventRow;
use crate::domain::event::EventState;
use crate::domain::rsvp::RsvpState;
use crate::error::{Error, Result};
use crate::members_client::Relation;
use crate::notices;
use crate::store::{CompleteOutcome, RsvpRow};

/// How long CompleteEvent waits for the meetings to be recorded before it answers.
const COMPLETE_WAITS_FOR_MEETINGS: std::time::Duration = std::time::Duration::from_secs(5);

impl Events {
    pub(super) async fn list_attendees(
        &self,
        request: Request<pb::ListAttendeesRequest>,
    ) -> Result<pb::ListAttendeesResponse> {
        let me = member_caller(&request)?;
        let q = AttendeesQuery::try_from((request.get_ref(), &self.0.page_tokens))?;
        // Blocks with the host are checked below, once the page is read.
        let (event, access) = self
            .event_unless_blocked(q.event_id, Some(me), Action::ListAttendees)
            .await?;
        // Hosts and full co-hosts; a check-in-only co-host may only check people in.
        let manages = event.is_manager(me);
        // Attendees see who else is coming, not who was declined, awaits approval, waits, or
        // said not going: confirmed RSVPs only.
        let statuses = if manages {
            q.statuses.clone()
        } else {
            q.statuses
                .iter()
                .copied()
                .filter(|s| *s == RsvpState::Confirmed)
                .collect()
        };
        if statuses.is_empty() {
            if Self::blocked_from(me, &event, access) {
                return Err(Error::NotFound("event"));
            }
            return Ok(pb::ListAttendeesResponse::default());
        }
        let mut rows = self
            .0
            .store
            .rsvps(event.id, &statuses, q.checked_in_only, q.after, q.limit + 1)
            .await?;
        let next_page_token = next_page_token(&mut rows, q.limit, |r| {
            timed_token(&self.0.page_tokens, &q.scope, r.created_at, r.member_id)
        });
        let views: Vec<AttendeeView> = rows
            .iter()
            .map(|r| attendee_view(manages, r.member_id == me, access.confirmed, r.visibility))
            .collect();
        // Where the caller stands with the others of the page, for blocks (either way, the
        // two do not see each other: left out, not even counted as hidden) and for those
        // the caller may see only if connected: one GetRelations call for the page. Without
        // an answer from members, connections-only RSVPs are hidden rather than shown.
        let others: Vec<Uuid> = rows
            .iter()
            .map(|r| r.member_id)
            .filter(|m| *m != me)
            .collect();
        let (relations, unavailable) = self.relations_or_none(me, &others).await;
        if Self::blocked_from(me, &event, access) {
            return Err(Error::NotFound("event"));
        }
        // Blocks recorded here count too, so they hold while members does not answer.
        let blocked = self.0.store.blocked_among(me, &others).await?;
        let connections_unavailable = unavailable && views.contains(&AttendeeView::IfConnected);
        let mut attendees = Vec::with_capacity(rows.len());
        let mut hidden = 0;
        for (r, view) in rows.iter().zip(views) {
            if relations.with(r.member_id).blocked || blocked.contains(&r.member_id) {
                continue;
            }
            let visible = match view {
                AttendeeView::Visible => true,
                AttendeeView::IfConnected => relations.with(r.member_id).connected,
                AttendeeView::Hidden => false,
            };
            if visible {
                attendees.push(pb::Attendee {
                    member_id: r.member_id.to_string(),
                    status: status_pb(r.state).into(),
                    waitlist_position: r
                        .waitlist_position
                        .and_then(|p| i32::try_from(p).ok())
                        .unwrap_or(0),
                    checked_in: r.checked_in_at.is_some(),
                    check_in_time: r.checked_in_at.and_then(ts),
                    rsvp_time: ts(r.created_at),
                });
            } else {
                hidden += 1;
            }
        }
        Ok(pb::ListAttendeesResponse {
            attendees,
            next_page_token,
            hidden_count: hidden,
            connections_unavailable,
        })
    }

    /// Whether `row` (another member's RSVP) shows to one who does not manage the event, a
    /// confirmed attendee or not, as ListAttendees would show it, given where they stand
    /// with its member.
    pub(super) fn shows_as_attendee(confirmed: bool, row: &RsvpRow, relation: Relation) -> bool {
        if row.state != RsvpState::Confirmed || relation.blocked {
            return false;
        }
        match attendee_view(false, false, confirmed, row.visibility) {
            AttendeeView::Visible => true,
            AttendeeView::Hidden => false,
            AttendeeView::IfConnected => relation.connected,
        }
    }

    pub(super) async fn get_attendance_summary(
        &self,
        request: Request<pb::GetAttendanceSummaryRequest>,
    ) -> Result<pb::GetAttendanceSummaryResponse> {
        let viewer = optional_member(&request)?;
        let EventRef(id) = EventRef::try_from(request.get_ref())?;
        // Blocks with the host are checked below (recorded here, no call to members).
        let (event, access) = self.event_unless_blocked(id, viewer, Action::See).await?;
        let counts = self.0.store.status_counts(event.id).await?;
        let of = |name: &str| {
            counts
                .iter()
                .find(|(s, _)| s == name)
                .map_or(0, |(_, n)| *n)
        };
        let checked_in = self.0.store.checked_in_ids(event.id).await?.len();
        // The caller's connections going and not yet met, from members: one GetRelations
        // call per page of confirmed attendees. Members down, the counts events keeps are
        // still answered, and the summary says what it lacks.
        let mut unmet = 0;
        let mut visible_unmet = Vec::new();
        let mut unmet_connections_unavailable = false;
        if let Some(me) = viewer {
            let going = self
                .0
                .store
                .rsvps(event.id, &[RsvpState::Confirmed], false, None, 10_000)
                .await?;
            let others: Vec<Uuid> = going
                .iter()
                .map(|r| r.member_id)
                .filter(|m| *m != me)
                .collect();
            let anyone_going = !others.is_empty();
            let (relations, unavailable) = self.relations_or_none(me, &others).await;
            if Self::blocked_from(me, &event, access) {
                return Err(Error::NotFound("event"));
            }
            if anyone_going {
                unmet_connections_unavailable = unavailable;
                let i_am_confirmed = going.iter().any(|r| r.member_id == me);
                for r in going.iter().filter(|r| r.member_id != me) {
                    let relation = relations.with(r.member_id);
                    // A block (either way) hides the two from each other, connected or not.
                    if relation.blocked || !relation.connected || relation.met_in_person {
                        continue;
                    }
                    unmet += 1;
                    let may_see =
                        attendee_view(event.is_manager(me), false, i_am_confirmed, r.visibility)
                            != AttendeeView::Hidden;
                    if may_see {
                        visible_unmet.push(r.member_id);
                    }
                }
            }
        }
        Ok(pb::GetAttendanceSummaryResponse {
            summary: Some(pb::AttendanceSummary {
                event_id: event.id.to_string(),
                capacity: count(event.capacity),
                confirmed_count: count(of("confirmed")),
                waitlisted_count: count(of("waitlisted")),
                offered_count: count(of("offered")),
                pending_approval_count: count(of("pending_approval")),
                checked_in_count: count(i64::try_from(checked_in).unwrap_or(i64::MAX)),
                no_show_count: count(event.no_show_count),
                unmet_connections_going_count: count(unmet),
                visible_unmet_connection_ids: ids_pb(&visible_unmet),
                unmet_connections_unavailable,
            }),
        })
    }

    pub(super) async fn announce_to_attendees(
        &self,
        request: Request<pb::AnnounceToAttendeesRequest>,
    ) -> Result<pb::AnnounceToAttendeesResponse> {
        let me = member_caller(&request)?;
        let announcement = Announcement::try_from(request.get_ref())?;
        let event = self
            .event_for(announcement.event_id, Some(me), Action::Manage)
            .await?
            .0;
        let sent = self
            .0
            .store
            .announce(
                &event,
                notices::member_facts(me, self.display_name_for_notice(me).await),
                &announcement.request_id,
                &announcement.message,
                announcement.include_waitlisted,
                self.now(),
            )
            .await?;
        Ok(pb::AnnounceToAttendeesResponse {
            recipient_count: count(sent),
        })
    }

    pub(super) async fn get_check_in_code(
        &self,
        request: Request<pb::GetCheckInCodeRequest>,
    ) -> Result<pb::GetCheckInCodeResponse> {
        let me = member_caller(&request)?;
        let EventRef(id) = EventRef::try_from(request.get_ref())?;
        let event = self
            .event_for(id, Some(me), Action::SeeCheckInCode)
            .await?
            .0;
        let (open, close) = self.window(&event);
        Ok(pb::GetCheckInCodeResponse {
            code: event.check_in_code,
            window_start_time: ts(open),
            window_end_time: ts(close),
        })
    }

    pub(super) async fn rotate_check_in_code(
        &self,
        request: Request<pb::RotateCheckInCodeRequest>,
    ) -> Result<pb::RotateCheckInCodeResponse> {
        let me = member_caller(&request)?;
        let EventRef(id) = EventRef::try_from(request.get_ref())?;
        let event = self.event_for(id, Some(me), Action::Manage).await?.0;
        let code = crate::domain::event::new_check_in_code();
        self.0
            .store
            .set_check_in_code(event.id, &code, self.now())
            .await?;
        let (open, close) = self.window(&event);
        Ok(pb::RotateCheckInCodeResponse {
            code,
            window_start_time: ts(open),
            window_end_time: ts(close),
        })
    }

    pub(super) async fn check_in(
        &self,
        request: Request<pb::CheckInRequest>,
    ) -> Result<pb::CheckInResponse> {
        let me = member_caller(&request)?;
        let req = request.into_inner();
        let id = id_field("event_id", &req.event_id)?;
        let (event, access) = self.event_for(id, Some(me), Action::See).await?;
        let member = match req.target {
            Some(pb::check_in_request::Target::Code(code)) => {
                let code = code.trim().to_uppercase();
                if code.is_empty() || code.len() > 32 {
                    return Err(Error::field("code", "is required"));
                }
                if !constant_time_eq(code.as_bytes(), event.check_in_code.as_bytes()) {
                    return Err(Error::PermissionDenied("the check-in code is wrong"));
                }
                me
            }
            Some(pb::check_in_request::Target::MemberId(member)) => {
                let member = id_or_me("member_id", &member, me)?;
                authorize(&event, Some(me), access, Action::CheckIn)?;
                member
            }
            None => return Err(Error::field("target", "is required: code or member_id")),
        };
        if event.state != EventState::Published {
            return Err(Error::FailedPrecondition(
                "the event is not open for check-in",
            ));
        }
        let now = self.now();
        let (open, close) = self.window(&event);
        if now < open || now > close {
            return Err(Error::FailedPrecondition("check-in is closed"));
        }
        let row = self.0.store.check_in(event.id, member, now).await?.ok_or(
            Error::FailedPrecondition("only confirmed attendees can check in"),
        )?;
        Ok(pb::CheckInResponse {
            rsvp: Some(rsvp_to_pb(&row)),
        })
    }

    pub(super) async fn complete_event(
        &self,
        request: Request<pb::CompleteEventRequest>,
    ) -> Result<pb::CompleteEventResponse> {
        let me = member_caller(&request)?;
        let EventRef(id) = EventRef::try_from(request.get_ref())?;
        let event = self.event_for(id, Some(me), Action::Manage).await?.0;
        let now = self.now();
        if now < event.start_at {
            return Err(Error::FailedPrecondition("the event has not started yet"));
        }
        let CompleteOutcome {
            checked_in,
            no_show,
            ..
        } = self.0.store.complete(event.id, now).await?;
        // The meetings go to members now; the host waits a few seconds for them at most
        // (members slow, down or hung), the recording goes on, and the jobs retry what
        // members did not take.
        let jobs = self.0.jobs.clone();
        let recording = tokio::spawn(
            async move { jobs.record_meetings(event.id, now).await }
                .instrument(tracing::Span::current()),
        );
        if tokio::time::timeout(COMPLETE_WAITS_FOR_MEETINGS, recording)
            .await
            .is_err()
        {
            tracing::info!(event = %event.id, "meetings still being recorded; answering the host");
        }
        let event = self
            .0
            .store
            .event(event.id)
            .await?
            .ok_or(Error::NotFound("event"))?;
        Ok(pb::CompleteEventResponse {
            event: Some(event_to_pb(&event)),
            checked_in_count: count(checked_in),
            no_show_count: count(no_show),
        })
    }

    /// When check-in opens and closes for `event`.
    fn window(&self, event: &EventRow) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            event.start_at - self.0.settings.check_in_before,
            event.end_at + self.0.settings.check_in_after,
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
