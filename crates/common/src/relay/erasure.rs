//! The sinks of a deleted member's erasure: the members service tells events and
//! notifications through its outbox (one row per receiver, each retried on its own), and each
//! receiver erases its part idempotently.

use std::time::Duration;

use chrono::DateTime;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::events::v1::event_internal_service_client::EventInternalServiceClient;
use rendezvous_proto::notifications::v1 as notifications_pb;
use rendezvous_proto::notifications::v1::notification_internal_service_client::NotificationInternalServiceClient;
use rendezvous_proto::prost_types::Timestamp;
use tonic::transport::Channel;

use super::{OutboxRow, OutboxSink, SinkError};
use crate::auth::ServiceCredentials;
use crate::outbox::{TOPIC_ERASE_IN_EVENTS, TOPIC_ERASE_IN_NOTIFICATIONS};
use crate::peers::{PeerChannel, with_credentials};

/// Deadline of one erasure call.
pub const ERASE_TIMEOUT: Duration = Duration::from_secs(10);

/// The member and the erasure time an erasure row holds (what
/// [`crate::outbox::OutboxMessage::member_erased`] writes).
pub fn erased_member(row: &OutboxRow) -> Result<(String, Timestamp), String> {
    let payload = row
        .payload
        .as_object()
        .ok_or("payload is not a json object")?;
    let member_id = payload
        .get("member_id")
        .and_then(serde_json::Value::as_str)
        .filter(|id| uuid::Uuid::try_parse(id).is_ok())
        .ok_or("member_id is missing or not a uuid")?;
    let at = payload
        .get("erase_time")
        .and_then(serde_json::Value::as_str)
        .ok_or("erase_time is missing")?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|error| format!("erase_time is not an RFC 3339 time: {error}"))?;
    Ok((member_id.to_owned(), crate::time::to_timestamp(at.to_utc())))
}

/// One receiver's `EraseMember`: the topic of its rows and the call.
pub trait Eraser: Clone + Send + Sync + 'static {
    /// The outbox topic of this receiver's rows.
    const TOPIC: &'static str;

    /// Erases `member_id` there; `Ok` holds a summary of what went, for the log.
    fn erase(
        &self,
        member_id: String,
        erase_time: Timestamp,
    ) -> impl Future<Output = Result<String, tonic::Status>> + Send;
}

/// The events service's `EraseMember`.
#[derive(Clone, Debug)]
pub struct InEvents(EventInternalServiceClient<PeerChannel>);

impl Eraser for InEvents {
    const TOPIC: &'static str = TOPIC_ERASE_IN_EVENTS;

    async fn erase(
        &self,
        member_id: String,
        erase_time: Timestamp,
    ) -> Result<String, tonic::Status> {
        let mut request = tonic::Request::new(events_pb::EraseMemberRequest {
            member_id,
            erase_time: Some(erase_time),
        });
        request.set_timeout(ERASE_TIMEOUT);
        let r = self.0.clone().erase_member(request).await?.into_inner();
        Ok(format!(
            "{} RSVPs and {} events cancelled, {} feeds revoked, {} invitations and {} chapter roles dropped",
            r.cancelled_rsvp_count,
            r.cancelled_event_count,
            r.revoked_feed_count,
            r.dropped_invitation_count,
            r.dropped_chapter_role_count
        ))
    }
}

/// The notifications service's `EraseMember`.
#[derive(Clone, Debug)]
pub struct InNotifications(NotificationInternalServiceClient<PeerChannel>);

impl Eraser for InNotifications {
    const TOPIC: &'static str = TOPIC_ERASE_IN_NOTIFICATIONS;

    async fn erase(
        &self,
        member_id: String,
        erase_time: Timestamp,
    ) -> Result<String, tonic::Status> {
        let mut request = tonic::Request::new(notifications_pb::EraseMemberRequest {
            member_id,
            erase_time: Some(erase_time),
        });
        request.set_timeout(ERASE_TIMEOUT);
        let r = self.0.clone().erase_member(request).await?.into_inner();
        Ok(format!(
            "{} notifications, {} deliveries and {} preferences deleted",
            r.deleted_notification_count, r.deleted_delivery_count, r.deleted_preference_count
        ))
    }
}

/// Delivers one receiver's erasure rows, one call (with its deadline) per row.
#[derive(Clone, Debug)]
pub struct ErasureSink<E>(E);

impl ErasureSink<InEvents> {
    pub fn events(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self(InEvents(EventInternalServiceClient::new(with_credentials(
            channel,
            credentials,
        ))))
    }
}

impl ErasureSink<InNotifications> {
    pub fn notifications(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self(InNotifications(NotificationInternalServiceClient::new(
            with_credentials(channel, credentials),
        )))
    }
}

impl<E: Eraser> OutboxSink for ErasureSink<E> {
    fn accepts(&self, topic: &str) -> bool {
        topic == E::TOPIC
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        erased_member(row).map(drop)
    }

    /// One call per row; the first failure fails the batch (rows erased before it are erased
    /// again on the retry, which changes nothing).
    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), SinkError> {
        for row in rows {
            let (member_id, erase_time) = erased_member(row).map_err(SinkError::refused)?;
            let summary = tokio::time::timeout(ERASE_TIMEOUT, self.0.erase(member_id, erase_time))
                .await
                .map_err(|_| {
                    SinkError::unavailable(format!("EraseMember timed out after {ERASE_TIMEOUT:?}"))
                })?
                .map_err(|status| SinkError::from_status("EraseMember", &status))?;
            tracing::info!(outbox_id = %row.id, topic = E::TOPIC, %summary, "member erased");
        }
        Ok(())
    }
}
