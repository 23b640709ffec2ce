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

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rendezvous_common::auth::{Caller, ServiceCredentials};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::pagination::PageTokens;
use rendezvous_common::revocations::RevokedMembers;
use rendezvous_common::server::caller;
use rendezvous_common::validate::{self};
use rendezvous_proto::events::v1 as pb;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::Settings;
use crate::admission::Admission;
use crate::domain::access::{Access, Action, authorize};
use crate::domain::event::EventRow;
use crate::error::{Error, Result};
use crate::jobs::Jobs;
use crate::members_client::MembersClient;
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
        let jobs = Jobs {
            store: Store::new(db).with_reminder_offsets(settings.reminder_offsets.clone()),
            clock,
            members,
            settings,
        };
        Self::new(
            jobs,
            PageTokens::new(&page_token_key),
            RevokedMembers::new(),
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

    /// The event and what `viewer` is to it, if the access policy lets them do `action`;
    /// NOT_FOUND when they may not see it, so its existence stays private.
    async fn event_for(
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
        authorize(&event, viewer, access, action)?;
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
    get_check_in_code(GetCheckInCodeRequest) -> GetCheckInCodeResponse => attendance;
    rotate_check_in_code(RotateCheckInCodeRequest) -> RotateCheckInCodeResponse => attendance;
    check_in(CheckInRequest) -> CheckInResponse => attendance;
    complete_event(CompleteEventRequest) -> CompleteEventResponse => attendance;
    export_event_calendar(ExportEventCalendarRequest) -> ExportEventCalendarResponse => calendars;
    export_my_calendar(ExportMyCalendarRequest) -> ExportMyCalendarResponse => calendars;
    create_calendar_feed(CreateCalendarFeedRequest) -> CreateCalendarFeedResponse => calendars;
    revoke_calendar_feed(RevokeCalendarFeedRequest) -> RevokeCalendarFeedResponse => calendars;
}
