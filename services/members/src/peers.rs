//! What members asks of the other services: their parts of a member's data export, and an
//! event two members could both go to, each call with its deadline and the service
//! credential.

use std::time::Duration;

use chrono::{DateTime, Utc};

use rendezvous_common::auth::ServiceCredentials;
use rendezvous_common::peers::{PeerChannel, with_credentials};
use rendezvous_common::time;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::events::v1::event_internal_service_client::EventInternalServiceClient;
use rendezvous_proto::notifications::v1 as notifications_pb;
use rendezvous_proto::notifications::v1::notification_internal_service_client::NotificationInternalServiceClient;
use serde_json::Value;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::error::{Error, Result};

/// Deadline of one ExportMemberData call to a peer.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline of one FindSharedEvent call.
pub const SHARED_EVENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The peers this members service knows of (none in a members-only deployment).
#[derive(Clone, Debug, Default)]
pub struct Peers {
    events: Option<EventInternalServiceClient<PeerChannel>>,
    notifications: Option<NotificationInternalServiceClient<PeerChannel>>,
}

impl Peers {
    pub fn new(
        events: Option<Channel>,
        notifications: Option<Channel>,
        to_events: &ServiceCredentials,
        to_notifications: &ServiceCredentials,
    ) -> Self {
        Self {
            events: events.map(|channel| {
                EventInternalServiceClient::new(with_credentials(channel, to_events.clone()))
            }),
            notifications: notifications.map(|channel| {
                NotificationInternalServiceClient::new(with_credentials(
                    channel,
                    to_notifications.clone(),
                ))
            }),
        }
    }

    /// The events and notifications parts of `member`'s export, asked for at the same time;
    /// `None` for a peer this deployment does not have. A peer that fails fails the export:
    /// an export that silently lacks a part would mislead the member.
    pub async fn export_parts(&self, member: Uuid) -> Result<(Option<Value>, Option<Value>)> {
        let events = async {
            let Some(client) = &self.events else {
                return Ok(None);
            };
            let mut request = tonic::Request::new(events_pb::ExportMemberDataRequest {
                member_id: member.to_string(),
            });
            request.set_timeout(EXPORT_TIMEOUT);
            let part = client.clone().export_member_data(request).await;
            part_json("events", part.map(|r| r.into_inner().data)).map(Some)
        };
        let notifications = async {
            let Some(client) = &self.notifications else {
                return Ok(None);
            };
            let mut request = tonic::Request::new(notifications_pb::ExportMemberDataRequest {
                member_id: member.to_string(),
            });
            request.set_timeout(EXPORT_TIMEOUT);
            let part = client.clone().export_member_data(request).await;
            part_json("notifications", part.map(|r| r.into_inner().data)).map(Some)
        };
        let (events, notifications) = tokio::join!(events, notifications);
        Ok((events?, notifications?))
    }
}

impl Peers {
    /// The earliest event in `city` starting in `[from, until)` that `a` and `b` may both
    /// attend (see EventInternalService.FindSharedEvent); `None` without an events service.
    pub async fn find_shared_event(
        &self,
        (a, b): (Uuid, Uuid),
        city: &str,
        (from, until): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Option<events_pb::SharedEvent>> {
        let Some(client) = &self.events else {
            return Ok(None);
        };
        let mut request = tonic::Request::new(events_pb::FindSharedEventRequest {
            member_a: a.to_string(),
            member_b: b.to_string(),
            city: city.to_owned(),
            start_after: Some(time::to_timestamp(from)),
            start_before: Some(time::to_timestamp(until)),
        });
        request.set_timeout(SHARED_EVENT_TIMEOUT);
        match client.clone().find_shared_event(request).await {
            Ok(response) => Ok(response.into_inner().event),
            Err(status) => {
                tracing::warn!(%status, "events could not look for a shared event");
                Err(Error::PeerUnavailable("events"))
            }
        }
    }
}

/// A peer's part as JSON, or UNAVAILABLE naming the peer.
fn part_json(peer: &'static str, data: Result<Vec<u8>, tonic::Status>) -> Result<Value> {
    let data = data.map_err(|status| {
        tracing::warn!(peer, %status, "export part unavailable");
        Error::PeerUnavailable(peer)
    })?;
    serde_json::from_slice(&data).map_err(|error| {
        Error::Internal(format!(
            "the {peer} part of the export is not JSON: {error}"
        ))
    })
}
