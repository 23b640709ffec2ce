//! The gRPC edge of the events service. Each handler converts its request (see
//! [`crate::convert`]), authorises the caller, calls the store or the domain, and builds the
//! response; one file per area of `EventService`, and `ChapterService` in [`chapters`]. What
//! the handlers share is here, with the table that routes each `EventService` method to its
//! area.

mod attendance;
mod calendars;
pub mod chapters;
mod events;
mod internal;
mod invitations;
mod rsvps;
mod series;
mod want_to_meet;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rendezvous_common::auth::{Caller, ServiceCredentials};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::pagination::PageTokens;
use rendezvous_common::revocations::{RevokedMembers, RevokedSessions, SessionRevocations};
use rendezvous_common::server::caller;
use rendezvous_common::validate::{self};
use rendezvous_proto::events::v1 as pb;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::Settings;
use crate::admission::Admission;
use crate::domain::access::{Access, Action, Refusal, authorize};
use crate::domain::event::EventRow;
use crate::error::{Error, Result};
use crate::jobs::Jobs;
use crate::members_client::{MembersClient, Relations};
use crate::store::Store;

pub use chapters::Chapters;

pub(crate) struct State {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    page_tokens: PageTokens,
    admission: Arc<Admission>,
    pub(crate) members: Option<MembersClient>,
    pub(crate) settings: Settings,
    jobs: Jobs,
    /// Erased members, whose access tokens the auth layer refuses (shared with its verifier).
    revoked: RevokedMembers,
    /// Ended sessions, recorded and refused (the list is shared with the auth layer's
    /// verifier).
    sessions: SessionRevocations,
}

/// The event service; clone-cheap.
#[derive(Clone)]
pub struct Events(pub(crate) Arc<State>);

impl Events {
    /// `batch_sizes`, when given, counts the size of every admission batch.
    pub(crate) fn new(
        jobs: Jobs,
        page_tokens: PageTokens,
        revoked: RevokedMembers,
        sessions: SessionRevocations,
        batch_sizes: Option<prometheus::Histogram>,
    ) -> Self {
        let admission = Admission::counted(jobs.store.clone(), jobs.clock.clone(), 64, batch_sizes);
        Self(Arc::new(State {
            store: jobs.store.clone(),
            clock: jobs.clock.clone(),
            page_tokens,
            admission,
            members: jobs.members.clone(),
            settings: jobs.settings.clone(),
            jobs,
            revoked,
            sessions,
        }))
    }

    /// The handlers over `db` outside any server, for tests that drive the clock-driven work
    /// (`sweep_once`, `complete_due`) of a running service sharing that database.
    pub fn for_tests(
        db: Db,
        clock: Clock,
        page_token_key: [u8; 32],
        members: Option<(Channel, ServiceCredentials)>,
        settings: Settings,
    ) -> Self {
        let members = members.map(|(channel, credentials)| {
            MembersClient::new(channel, credentials)
                .with_record_meetings_deadline(settings.record_meetings_deadline)
        });
        let sessions = SessionRevocations::new(RevokedSessions::new(), db.clone());
        let jobs = Jobs {
            store: Store::new(db)
                .with_reminder_offsets(settings.reminder_offsets.clone())
                .with_limits(settings.limits.clone()),
            clock,
            members,
            settings,
        };
        Self::new(
            jobs,
            PageTokens::new(&page_token_key),
            RevokedMembers::new(),
            sessions,
            None,
        )
    }

    /// See [`Jobs::sweep_once`].
    pub async fn sweep_once(&self, now: DateTime<Utc>) -> Result<usize> {
        self.0.jobs.sweep_once(now).await
    }

    /// See [`Jobs::send_reminders`].
    pub async fn send_reminders(&self, now: DateTime<Utc>) -> Result<usize> {
        self.0.jobs.send_reminders(now).await
    }

    /// See [`Jobs::complete_due`].
    pub async fn complete_due(&self, now: DateTime<Utc>) -> Result<usize> {
        self.0.jobs.complete_due(now).await
    }

    /// See [`Jobs::record_pending_meetings`].
    pub async fn record_pending_meetings(&self, now: DateTime<Utc>) -> Result<usize> {
        self.0.jobs.record_pending_meetings(now).await
    }

    /// See [`Jobs::tell_quiet_chapters`].
    pub async fn tell_quiet_chapters(&self, now: DateTime<Utc>) -> Result<usize> {
        self.0.jobs.tell_quiet_chapters(now).await
    }

    /// Counts the chapter events completed before chapter health was kept (see
    /// [`Store::count_past_completions`]), 200 at a time as the job does.
    pub async fn count_past_completions(&self) -> Result<usize> {
        Ok(self.0.store.count_past_completions(200).await?)
    }

    /// See [`Jobs::extend_series`].
    pub async fn extend_series(&self, now: DateTime<Utc>) -> Result<usize> {
        self.0.jobs.extend_series(now).await
    }

    fn now(&self) -> DateTime<Utc> {
        self.0.clock.now_micros()
    }

    fn members(&self) -> Result<&MembersClient> {
        self.0.members.as_ref().ok_or(Error::Unavailable("members"))
    }

    /// `member`'s display name for a notice that is not worth failing a call for: empty when
    /// members is not configured or does not answer.
    async fn display_name_for_notice(&self, member: Uuid) -> String {
        let Some(members) = &self.0.members else {
            return String::new();
        };
        members.display_name(member).await.unwrap_or_else(|error| {
            tracing::warn!(%error, %member, "display name unavailable; the notice names nobody");
            String::new()
        })
    }

    /// Where `me` stands with `others`, or nothing (and `true`) when members is not
    /// configured or does not answer: what needs members degrades instead of failing.
    async fn relations_or_none(&self, me: Uuid, others: &[Uuid]) -> (Relations, bool) {
        if others.is_empty() {
            return (Relations::default(), false);
        }
        let Some(members) = &self.0.members else {
            return (Relations::default(), true);
        };
        match members.relations(me, others).await {
            Ok(relations) => (relations, false),
            Err(error) => {
                tracing::warn!(%error, "relations unavailable; answering without them");
                (Relations::default(), true)
            }
        }
    }

    /// Whether `viewer` and the host of `event` block each other (either way): then the
    /// event is hidden from them as if it did not exist. Only the host's blocks count; a
    /// co-host's hide them from the attendees they block, not the event. Read from the blocks
    /// members' outbox recorded here (see [`crate::store`]'s `blocks`) and read with the
    /// event's other access facts, so neither a call to members nor a query of its own.
    fn blocked_from(viewer: Uuid, event: &EventRow, access: Access) -> bool {
        event.role_of(viewer).is_none() && access.blocks_with_host
    }

    /// `events` less those whose host and `viewer` block each other (one query for all their
    /// hosts); see [`Self::blocked_from`].
    async fn without_blocked_hosts(
        &self,
        viewer: Option<Uuid>,
        mut events: Vec<EventRow>,
    ) -> Result<Vec<EventRow>> {
        let Some(viewer) = viewer else {
            return Ok(events);
        };
        let mut hosts: Vec<Uuid> = events
            .iter()
            .filter(|e| e.role_of(viewer).is_none())
            .map(|e| e.host_id)
            .collect();
        hosts.sort();
        hosts.dedup();
        if hosts.is_empty() {
            return Ok(events);
        }
        let blocked = self.0.store.blocked_among(viewer, &hosts).await?;
        events.retain(|e| e.role_of(viewer).is_some() || !blocked.contains(&e.host_id));
        Ok(events)
    }

    /// The event and what `viewer` is to it, if the access policy lets them do `action`;
    /// NOT_FOUND when they may not see it (or they and its host block each other), so its
    /// existence stays private.
    async fn event_for(
        &self,
        id: Uuid,
        viewer: Option<Uuid>,
        action: Action,
    ) -> Result<(EventRow, Access)> {
        let (event, access) = self.event_unless_blocked(id, viewer, action).await?;
        if let Some(viewer) = viewer
            && Self::blocked_from(viewer, &event, access)
        {
            return Err(Error::NotFound("event"));
        }
        Ok((event, access))
    }

    /// As [`Self::event_for`] but for blocks with the host, which the caller checks itself
    /// ([`Self::blocked_from`]) where they change the answer (one's own RSVP stays theirs).
    async fn event_unless_blocked(
        &self,
        id: Uuid,
        viewer: Option<Uuid>,
        action: Action,
    ) -> Result<(EventRow, Access)> {
        let (event, access) = self
            .0
            .store
            .event_with_access(id, viewer)
            .await?
            .ok_or(Error::NotFound("event"))?;
        if let Err(refusal) = authorize(&event, viewer, access, action) {
            // Refused what they asked, one who sees the event is still not told it exists
            // when they and its host block each other.
            if let (Refusal::Denied(_), Some(viewer)) = (&refusal, viewer)
                && Self::blocked_from(viewer, &event, access)
            {
                return Err(Error::NotFound("event"));
            }
            return Err(refusal.into());
        }
        Ok((event, access))
    }

    /// The event if `viewer` may see it.
    async fn visible_event(&self, id: Uuid, viewer: Option<Uuid>) -> Result<EventRow> {
        Ok(self.event_for(id, viewer, Action::See).await?.0)
    }
}

fn id_field(field: &str, value: &str) -> Result<Uuid> {
    Ok(validate::id(field, value)?)
}

/// The signed-in member, or None for an anonymous caller; a bad token is refused.
fn optional_member<T>(request: &Request<T>) -> Result<Option<Uuid>> {
    match caller(request) {
        Caller::Member { id, .. } => Ok(Some(id)),
        Caller::Anonymous => Ok(None),
        _ => Err(Error::Unauthenticated),
    }
}

type Reply<T> = std::result::Result<Response<T>, Status>;

fn reply<T>(result: Result<T>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

/// The signed-in member making the call.
fn member_caller<T>(request: &Request<T>) -> Result<Uuid> {
    match caller(request) {
        Caller::Member { id, .. } => Ok(id),
        _ => Err(Error::Unauthenticated),
    }
}

/// A member id field that may also be `me` for the caller.
fn id_or_me(field: &str, value: &str, me: Uuid) -> Result<Uuid, FieldViolation> {
    if value == "me" {
        return Ok(me);
    }
    validate::id(field, value)
}

/// Routes each `EventService` method to its handler, an `Events` method of the same name in
/// the area's file.
macro_rules! event_service {
    ($($method:ident($request:ident) -> $response:ident => $area:ident;)*) => {
        #[tonic::async_trait]
        impl pb::event_service_server::EventService for Events {
            $(
                async fn $method(
                    &self,
                    request: Request<pb::$request>,
                ) -> Reply<pb::$response> {
                    reply(Events::$method(self, request).await)
                }
            )*
        }
    };
}

event_service! {
    create_event(CreateEventRequest) -> CreateEventResponse => events;
    get_event(GetEventRequest) -> GetEventResponse => events;
    update_event(UpdateEventRequest) -> UpdateEventResponse => events;
    publish_event(PublishEventRequest) -> PublishEventResponse => events;
    cancel_event(CancelEventRequest) -> CancelEventResponse => events;
    list_events(ListEventsRequest) -> ListEventsResponse => events;
    list_my_events(ListMyEventsRequest) -> ListMyEventsResponse => events;
    add_cohost(AddCohostRequest) -> AddCohostResponse => events;
    remove_cohost(RemoveCohostRequest) -> RemoveCohostResponse => events;
    create_series(CreateSeriesRequest) -> CreateSeriesResponse => series;
    get_series(GetSeriesRequest) -> GetSeriesResponse => series;
    list_series(ListSeriesRequest) -> ListSeriesResponse => series;
    update_series(UpdateSeriesRequest) -> UpdateSeriesResponse => series;
    cancel_series(CancelSeriesRequest) -> CancelSeriesResponse => series;
    invite_members(InviteMembersRequest) -> InviteMembersResponse => invitations;
    rsvp(RsvpRequest) -> RsvpResponse => rsvps;
    get_rsvp(GetRsvpRequest) -> GetRsvpResponse => rsvps;
    cancel_rsvp(CancelRsvpRequest) -> CancelRsvpResponse => rsvps;
    claim_offer(ClaimOfferRequest) -> ClaimOfferResponse => rsvps;
    approve_rsvp(ApproveRsvpRequest) -> ApproveRsvpResponse => rsvps;
    decline_rsvp(DeclineRsvpRequest) -> DeclineRsvpResponse => rsvps;
    list_attendees(ListAttendeesRequest) -> ListAttendeesResponse => attendance;
    get_attendance_summary(GetAttendanceSummaryRequest) -> GetAttendanceSummaryResponse => attendance;
    announce_to_attendees(AnnounceToAttendeesRequest) -> AnnounceToAttendeesResponse => attendance;
    mark_want_to_meet(MarkWantToMeetRequest) -> MarkWantToMeetResponse => want_to_meet;
    unmark_want_to_meet(UnmarkWantToMeetRequest) -> UnmarkWantToMeetResponse => want_to_meet;
    list_want_to_meet(ListWantToMeetRequest) -> ListWantToMeetResponse => want_to_meet;
    get_check_in_code(GetCheckInCodeRequest) -> GetCheckInCodeResponse => attendance;
    rotate_check_in_code(RotateCheckInCodeRequest) -> RotateCheckInCodeResponse => attendance;
    check_in(CheckInRequest) -> CheckInResponse => attendance;
    complete_event(CompleteEventRequest) -> CompleteEventResponse => attendance;
    export_event_calendar(ExportEventCalendarRequest) -> ExportEventCalendarResponse => calendars;
    export_my_calendar(ExportMyCalendarRequest) -> ExportMyCalendarResponse => calendars;
    create_calendar_feed(CreateCalendarFeedRequest) -> CreateCalendarFeedResponse => calendars;
    revoke_calendar_feed(RevokeCalendarFeedRequest) -> RevokeCalendarFeedResponse => calendars;
}
