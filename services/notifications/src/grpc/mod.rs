//! The gRPC face of the service: `NotificationService` (members' inbox, stream, preferences
//! and delivery log) and `NotificationInternalService` (producers' Deliver). The trait impls
//! here only find the caller and hand over to one file per area.

mod deliveries;
mod inbox;
mod internal;
mod preferences;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rendezvous_common::auth::{Caller, CredentialExpiry};
use rendezvous_common::clock::Clock;
use rendezvous_common::pagination::PageTokens;
use rendezvous_common::revocations::{RevokedMembers, SessionRevocations};
use rendezvous_common::server::caller;
use rendezvous_common::time;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_proto::prost_types::Timestamp;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::contacts::Contacts;
use crate::error::{Error, Result};
use crate::hub::Publisher;
use crate::store::Store;

pub use internal::MAX_DELIVER_BATCH;

struct State {
    store: Store,
    clock: Clock,
    contacts: Contacts,
    publisher: Publisher,
    page_tokens: PageTokens,
    shutdown: CancellationToken,
    /// Erased members, whose access tokens the auth layer refuses (shared with its verifier).
    revoked: RevokedMembers,
    /// Ended sessions, recorded and refused (the list is shared with the auth layer's
    /// verifier); a stream of one ends as soon as it is on the list.
    sessions: SessionRevocations,
    /// The notification streams open on this process, per member.
    open_streams: inbox::OpenStreams,
}

/// Whose access tokens the auth layer refuses (the lists are shared with its verifier).
pub struct Revocations {
    /// Erased members.
    pub members: RevokedMembers,
    /// Ended sessions, with the table they are recorded in.
    pub sessions: SessionRevocations,
}

/// The notifications service; clone-cheap.
#[derive(Clone)]
pub struct Notifications(Arc<State>);

type Reply<T> = std::result::Result<Response<T>, Status>;

impl Notifications {
    pub fn new(
        store: Store,
        clock: Clock,
        contacts: Contacts,
        publisher: Publisher,
        page_tokens: PageTokens,
        shutdown: CancellationToken,
        revocations: Revocations,
    ) -> Self {
        let Revocations {
            members: revoked,
            sessions,
        } = revocations;
        Self(Arc::new(State {
            store,
            clock,
            contacts,
            publisher,
            page_tokens,
            shutdown,
            revoked,
            sessions,
            open_streams: inbox::OpenStreams::default(),
        }))
    }

    fn now(&self) -> DateTime<Utc> {
        self.0.clock.now_micros()
    }
}

/// The signed-in member making `request`.
fn member<T>(request: &Request<T>) -> Result<Uuid> {
    match caller(request) {
        Caller::Member { id, .. } => Ok(id),
        _ => Err(Error::Unauthenticated),
    }
}

fn reply<T>(result: Result<T>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(time::to_timestamp(at))
}

fn count(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

#[tonic::async_trait]
impl pb::notification_service_server::NotificationService for Notifications {
    async fn list_notifications(
        &self,
        request: Request<pb::ListNotificationsRequest>,
    ) -> Reply<pb::ListNotificationsResponse> {
        let me = member(&request)?;
        reply(inbox::list(self, me, request.into_inner()).await)
    }

    async fn mark_read(
        &self,
        request: Request<pb::MarkReadRequest>,
    ) -> Reply<pb::MarkReadResponse> {
        let me = member(&request)?;
        reply(inbox::mark_read(self, me, request.into_inner()).await)
    }

    async fn mark_all_read(
        &self,
        request: Request<pb::MarkAllReadRequest>,
    ) -> Reply<pb::MarkAllReadResponse> {
        let me = member(&request)?;
        reply(inbox::mark_all_read(self, me, request.into_inner()).await)
    }

    type StreamNotificationsStream = inbox::NotificationStream;

    async fn stream_notifications(
        &self,
        request: Request<pb::StreamNotificationsRequest>,
    ) -> Reply<Self::StreamNotificationsStream> {
        let Caller::Member { id: me, session_id } = caller(&request) else {
            return Err(Error::Unauthenticated.into());
        };
        let credential = inbox::StreamCredential {
            session: session_id,
            expires_at: request
                .extensions()
                .get::<CredentialExpiry>()
                .map(|expiry| expiry.0),
        };
        reply(inbox::stream(self, me, credential, request.into_inner()).await)
    }

    async fn get_preferences(
        &self,
        request: Request<pb::GetPreferencesRequest>,
    ) -> Reply<pb::GetPreferencesResponse> {
        let me = member(&request)?;
        reply(preferences::get(self, me).await)
    }

    async fn update_preferences(
        &self,
        request: Request<pb::UpdatePreferencesRequest>,
    ) -> Reply<pb::UpdatePreferencesResponse> {
        let me = member(&request)?;
        reply(preferences::update(self, me, request.into_inner()).await)
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Reply<pb::ListDeliveriesResponse> {
        let me = member(&request)?;
        reply(deliveries::list(self, me, request.into_inner()).await)
    }
}

#[tonic::async_trait]
impl pb::notification_internal_service_server::NotificationInternalService for Notifications {
    async fn deliver(&self, request: Request<pb::DeliverRequest>) -> Reply<pb::DeliverResponse> {
        reply(internal::deliver(self, request.into_inner()).await)
    }

    async fn cancel_scheduled(
        &self,
        request: Request<pb::CancelScheduledRequest>,
    ) -> Reply<pb::CancelScheduledResponse> {
        reply(internal::cancel_scheduled(self, request.into_inner()).await)
    }

    async fn erase_member(
        &self,
        request: Request<pb::EraseMemberRequest>,
    ) -> Reply<pb::EraseMemberResponse> {
        reply(internal::erase_member(self, request.into_inner()).await)
    }

    async fn revoke_sessions(
        &self,
        request: Request<pb::RevokeSessionsRequest>,
    ) -> Reply<pb::RevokeSessionsResponse> {
        reply(internal::revoke_sessions(self, request.into_inner()).await)
    }

    async fn export_member_data(
        &self,
        request: Request<pb::ExportMemberDataRequest>,
    ) -> Reply<pb::ExportMemberDataResponse> {
        reply(internal::export_member_data(self, request.into_inner()).await)
    }
}
