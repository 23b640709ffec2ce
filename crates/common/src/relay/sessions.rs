//! The sinks of ended sessions: members tells events and notifications through its outbox
//! (one row per receiver, each retried on its own) which sessions of a member ended, and each
//! receiver records them idempotently and refuses their access tokens from then on.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::events::v1::event_internal_service_client::EventInternalServiceClient;
use rendezvous_proto::notifications::v1 as notifications_pb;
use rendezvous_proto::notifications::v1::notification_internal_service_client::NotificationInternalServiceClient;
use rendezvous_proto::prost::Message;
use tonic::transport::Channel;

use super::{OutboxRow, OutboxSink, SinkError};
use crate::auth::ServiceCredentials;
use crate::outbox::{TOPIC_REVOKE_IN_EVENTS, TOPIC_REVOKE_IN_NOTIFICATIONS};
use crate::peers::{PeerChannel, with_credentials};

/// Deadline of one RevokeSessions call.
pub const REVOKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The typed request a revocation row holds (`"request"`: base64 of the protobuf message,
/// what [`crate::outbox::OutboxMessage::sessions_revoked`] writes).
pub fn revocation_request<M: Message + Default>(row: &OutboxRow) -> Result<M, String> {
    let encoded = row
        .payload
        .get("request")
        .and_then(serde_json::Value::as_str)
        .ok_or("request is missing")?;
    let bytes = BASE64
        .decode(encoded)
        .map_err(|error| format!("request is not base64: {error}"))?;
    M::decode(bytes.as_slice()).map_err(|error| format!("request does not decode: {error}"))
}

/// One receiver's `RevokeSessions`: the topic of its rows, its request and the call.
pub trait Revoker: Clone + Send + Sync + 'static {
    /// The outbox topic of this receiver's rows.
    const TOPIC: &'static str;
    type Request: Message + Default + Send + 'static;

    /// Sends `request` (with its deadline); `Ok` holds how many sessions were new there.
    fn revoke(
        &self,
        request: Self::Request,
    ) -> impl Future<Output = Result<i32, tonic::Status>> + Send;
}

/// A receiver's `RevokeSessions` through its generated client: the two services' contracts
/// each have their own request type, alike in shape.
macro_rules! revoker {
    ($(#[$doc:meta])* $name:ident, $client:ident, $pb:ident, $topic:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name($client<PeerChannel>);

        impl Revoker for $name {
            const TOPIC: &'static str = $topic;
            type Request = $pb::RevokeSessionsRequest;

            async fn revoke(&self, request: Self::Request) -> Result<i32, tonic::Status> {
                let mut request = tonic::Request::new(request);
                request.set_timeout(REVOKE_TIMEOUT);
                let response = self.0.clone().revoke_sessions(request).await?;
                Ok(response.into_inner().revoked_session_count)
            }
        }
    };
}

revoker!(
    /// The events service's `RevokeSessions`.
    RevokeInEvents,
    EventInternalServiceClient,
    events_pb,
    TOPIC_REVOKE_IN_EVENTS
);
revoker!(
    /// The notifications service's `RevokeSessions`.
    RevokeInNotifications,
    NotificationInternalServiceClient,
    notifications_pb,
    TOPIC_REVOKE_IN_NOTIFICATIONS
);

/// Delivers one receiver's revocation rows, one call (with its deadline) per row.
#[derive(Clone, Debug)]
pub struct RevocationSink<R>(R);

impl RevocationSink<RevokeInEvents> {
    pub fn events(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self(RevokeInEvents(EventInternalServiceClient::new(
            with_credentials(channel, credentials),
        )))
    }
}

impl RevocationSink<RevokeInNotifications> {
    pub fn notifications(channel: Channel, credentials: ServiceCredentials) -> Self {
        Self(RevokeInNotifications(
            NotificationInternalServiceClient::new(with_credentials(channel, credentials)),
        ))
    }
}

impl<R: Revoker> OutboxSink for RevocationSink<R> {
    fn accepts(&self, topic: &str) -> bool {
        topic == R::TOPIC
    }

    fn check(&self, row: &OutboxRow) -> Result<(), String> {
        revocation_request::<R::Request>(row).map(drop)
    }

    /// One call per row; the first failure fails the batch (rows recorded before it are
    /// recorded again on the retry, which changes nothing).
    async fn deliver(&self, rows: &[OutboxRow]) -> Result<(), SinkError> {
        for row in rows {
            let request = revocation_request::<R::Request>(row).map_err(SinkError::refused)?;
            let revoked = tokio::time::timeout(REVOKE_TIMEOUT, self.0.revoke(request))
                .await
                .map_err(|_| {
                    SinkError::unavailable(format!(
                        "RevokeSessions timed out after {REVOKE_TIMEOUT:?}"
                    ))
                })?
                .map_err(|status| SinkError::from_status("RevokeSessions", &status))?;
            tracing::info!(outbox_id = %row.id, topic = R::TOPIC, revoked, "sessions revoked");
        }
        Ok(())
    }
}
