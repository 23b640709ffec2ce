//! The sinks of a deleted member's erasure: the members service tells events and
//! notifications through its outbox (one row per receiver, each retried on its own), and each
//! receiver erases its part idempotently.

use std::time::Duration;

use chrono::DateTime;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::events::v1::event_internal_service_client::EventInternalServiceClient;
use rendezvous_proto::prost_types::Timestamp;
use tonic::transport::Channel;

use super::{OutboxRow, OutboxSink};
use crate::auth::ServiceCredentials;
use crate::outbox::TOPIC_ERASE_IN_EVENTS;
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

/// Calls `EventInternalService.EraseMember` for each `events.erase_member` row.
#[derive(Clone, Debug)]
pub struct EventsErasureSink {
    client: EventInternalServiceClient<PeerChannel>,
}

impl EventsErasureSink {
    pub fn new(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self {
            client: EventInternalServiceClient::new(with_credentials(channel, credentials)),
        }
    }
}

impl OutboxSink for EventsErasureSink {
    fn accepts(&self, topic: &str) -> bool {
        topic == TOPIC_ERASE_IN_EVENTS
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        erased_member(row).map(drop)
    }

    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), String> {
        for row in rows {
            let (member_id, erase_time) = erased_member(row)?;
            let mut request = tonic::Request::new(events_pb::EraseMemberRequest {
                member_id,
                erase_time: Some(erase_time),
            });
            request.set_timeout(ERASE_TIMEOUT);
            let response =
                tokio::time::timeout(ERASE_TIMEOUT, self.client.clone().erase_member(request))
                    .await
                    .map_err(|_| format!("EraseMember timed out after {ERASE_TIMEOUT:?}"))?
                    .map_err(|status| {
                        format!(
                            "EraseMember failed: {:?}: {}",
                            status.code(),
                            status.message()
                        )
                    })?
                    .into_inner();
            tracing::info!(
                outbox_id = %row.id,
                rsvps = response.cancelled_rsvp_count,
                events = response.cancelled_event_count,
                feeds = response.revoked_feed_count,
                invitations = response.dropped_invitation_count,
                chapter_roles = response.dropped_chapter_role_count,
                "member erased in events"
            );
        }
        Ok(())
    }
}
