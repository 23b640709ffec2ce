//! Calls from one service to another: the service credential attached to every outgoing
//! request by one tonic interceptor, and the one start-up call every token verifier needs (the
//! members service's signing keys).

use std::time::Duration;

use rendezvous_proto::members::v1::GetSigningKeysRequest;
use rendezvous_proto::members::v1::member_internal_service_client::MemberInternalServiceClient;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::auth::{PublicKey, ServiceCredentials};

/// A channel to a peer whose requests carry this service's credential.
pub type PeerChannel = InterceptedService<Channel, ServiceCredentials>;

/// Deadline of one GetSigningKeys call at start-up.
const SIGNING_KEYS_TIMEOUT: Duration = Duration::from_secs(5);

impl Interceptor for ServiceCredentials {
    /// Mints a fresh credential for every request (cheap: one HMAC), so long-lived clients
    /// never send an expired one.
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let bearer = self.bearer().map_err(|error| {
            tracing::error!(%error, "minting the service credential failed");
            tonic::Status::internal("service credential unavailable")
        })?;
        let value = bearer
            .parse()
            .map_err(|_| tonic::Status::internal("service credential is not valid metadata"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

/// `channel` with `credentials` attached to every request.
pub fn with_credentials(channel: Channel, credentials: ServiceCredentials) -> PeerChannel {
    InterceptedService::new(channel, credentials)
}

/// Asks the members service for the keys that verify access tokens, retrying once a second
/// (each call with its own deadline) while members starts, for up to `attempts` tries.
pub async fn fetch_signing_keys(
    members: Channel,
    credentials: ServiceCredentials,
    attempts: u32,
) -> anyhow::Result<Vec<PublicKey>> {
    let mut client = MemberInternalServiceClient::new(with_credentials(members, credentials));
    for attempt in 1..=attempts.max(1) {
        let mut request = tonic::Request::new(GetSigningKeysRequest {});
        request.set_timeout(SIGNING_KEYS_TIMEOUT);
        match client.get_signing_keys(request).await {
            Ok(response) => {
                return response
                    .into_inner()
                    .keys
                    .iter()
                    .map(|key| PublicKey::from_pem(&key.public_key_pem).map_err(Into::into))
                    .collect();
            }
            Err(status) => {
                tracing::warn!(attempt, %status, "members service not ready for signing keys");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    anyhow::bail!("could not fetch the token signing keys from the members service")
}
