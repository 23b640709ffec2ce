//! Calls from one service to another. Every request through a [`PeerChannel`] carries this
//! service's credential, the caller's trace context (W3C `traceparent`, see
//! [`crate::telemetry`]) and a deadline — the call's own (`Request::set_timeout`) or
//! [`DEFAULT_DEADLINE`] — and the deadline bounds the whole call, waiting for a connection
//! included, so a peer that is down or hung costs a caller its deadline and no more. Also the
//! channel to a peer ([`channel`]) and the one start-up call every token verifier needs (the
//! members service's signing keys, [`fetch_signing_keys`]).

use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use rendezvous_proto::members::v1::GetSigningKeysRequest;
use rendezvous_proto::members::v1::member_internal_service_client::MemberInternalServiceClient;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};
use tower::{Service, ServiceExt as _};

use crate::auth::{PublicKey, ServiceCredentials};

/// Deadline of a call to a peer that sets none itself.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// How long opening a connection to a peer may take (a call's deadline may cut it shorter).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP/2 pings on an open connection this often, so that a peer gone without closing it
/// (a host lost, a partition) is noticed and the connection replaced.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// A ping unanswered this long closes the connection.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// A lazily connected channel to the peer at `url` (`http://host:port`), with a bounded
/// connect and keep-alive pings.
pub fn channel(url: &str) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .tcp_nodelay(true)
        .connect_lazy())
}

/// A channel to a peer whose requests carry this service's credential, the current trace
/// context and a deadline that bounds the whole call; clone-cheap.
#[derive(Clone, Debug)]
pub struct PeerChannel {
    channel: Channel,
    credentials: ServiceCredentials,
}

/// `channel` with `credentials`, the trace context and a deadline on every request.
pub fn with_credentials(channel: Channel, credentials: ServiceCredentials) -> PeerChannel {
    PeerChannel {
        channel,
        credentials,
    }
}

impl Service<http::Request<Body>> for PeerChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    /// Always ready: waiting for the channel happens in the call, under its deadline.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let deadline = match prepare(request.headers_mut(), &self.credentials) {
            Ok(deadline) => deadline,
            Err(status) => return Box::pin(std::future::ready(Ok(status.into_http()))),
        };
        let path = request.uri().path().to_owned();
        let mut channel = self.channel.clone();
        Box::pin(async move {
            let call = async {
                channel.ready().await?;
                channel.call(request).await
            };
            // The connection's own grpc-timeout layer may see the same deadline pass first;
            // tonic calls that CANCELLED, and a caller must see DEADLINE_EXCEEDED either way.
            match tokio::time::timeout(deadline, call).await {
                Ok(Err(error)) if timed_out(&error) => Ok(deadline_exceeded(&path, deadline)),
                Ok(response) => response,
                Err(_) => Ok(deadline_exceeded(&path, deadline)),
            }
        })
    }
}

/// The answer to a call whose deadline passed.
fn deadline_exceeded(path: &str, deadline: Duration) -> http::Response<Body> {
    tracing::warn!(%path, ?deadline, "peer did not answer within the deadline");
    tonic::Status::deadline_exceeded(format!("the peer did not answer within {deadline:?}"))
        .into_http()
}

/// Whether `error` is (or was caused by) tonic's grpc-timeout expiring.
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<tonic::TimeoutExpired>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Writes what every request to a peer carries into its `headers`: the service credential
/// (minted for every request, so long-lived clients never send an expired one), the current
/// trace context, and a deadline when the call set none. Returns the call's deadline.
fn prepare(
    headers: &mut http::HeaderMap,
    credentials: &ServiceCredentials,
) -> Result<Duration, tonic::Status> {
    let credential = credentials
        .bearer()
        .map_err(|error| error.to_string())
        .and_then(|bearer| http::HeaderValue::try_from(bearer).map_err(|error| error.to_string()))
        .map_err(|error| {
            tracing::error!(%error, "minting the service credential failed");
            tonic::Status::internal("service credential unavailable")
        })?;
    headers.insert(http::header::AUTHORIZATION, credential);
    crate::telemetry::inject_trace_context(headers);
    match headers.get(GRPC_TIMEOUT).and_then(grpc_timeout) {
        Some(deadline) => Ok(deadline),
        None => {
            headers.insert(
                GRPC_TIMEOUT,
                http::HeaderValue::from_static(DEFAULT_DEADLINE_HEADER),
            );
            Ok(DEFAULT_DEADLINE)
        }
    }
}

/// The gRPC deadline header.
const GRPC_TIMEOUT: &str = "grpc-timeout";
/// [`DEFAULT_DEADLINE`] as a `grpc-timeout` value.
const DEFAULT_DEADLINE_HEADER: &str = "10S";

/// A `grpc-timeout` value: up to 8 digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`).
fn grpc_timeout(value: &http::HeaderValue) -> Option<Duration> {
    let value = value.to_str().ok()?;
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = (value.get(..split)?, value.get(split..)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// How [`fetch_signing_keys`] retries while members does not answer.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Deadline of each attempt.
    pub attempt_timeout: Duration,
    /// Wait after the first failed attempt; doubled after each, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Give up once this much time has passed since the first attempt; `None` keeps trying.
    pub give_up_after: Option<Duration>,
}

impl Default for Retry {
    /// 5 s per attempt, waits of 0.5 s doubling up to 30 s, and no end: a service that cannot
    /// verify tokens has nothing to serve, and an orchestrator shows it as not ready meanwhile.
    fn default() -> Self {
        Self {
            attempt_timeout: Duration::from_secs(5),
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            give_up_after: None,
        }
    }
}

/// Asks the members service at `members_url` for the keys that verify access tokens,
/// retrying as `retry` says (each attempt under its deadline, a warning naming the URL after
/// each failure) until it answers or `retry.give_up_after` has passed.
pub async fn fetch_signing_keys(
    members_url: &str,
    credentials: ServiceCredentials,
    retry: &Retry,
) -> anyhow::Result<Vec<PublicKey>> {
    let members = channel(members_url)
        .map_err(|error| anyhow::anyhow!("members URL {members_url:?}: {error}"))?;
    let mut client = MemberInternalServiceClient::new(with_credentials(members, credentials));
    let started = tokio::time::Instant::now();
    let mut delay = retry.first_delay;
    let mut attempt = 0_u32;
    loop {
        attempt = attempt.saturating_add(1);
        let mut request = tonic::Request::new(GetSigningKeysRequest {});
        request.set_timeout(retry.attempt_timeout);
        let status = match client.get_signing_keys(request).await {
            Ok(response) => {
                let keys = response
                    .into_inner()
                    .keys
                    .iter()
                    .map(|key| PublicKey::from_pem(&key.public_key_pem))
                    .collect::<Result<Vec<_>, _>>()?;
                if attempt > 1 {
                    tracing::info!(%members_url, attempt, "token signing keys fetched");
                }
                return Ok(keys);
            }
            Err(status) => status,
        };
        let elapsed = started.elapsed();
        if let Some(limit) = retry.give_up_after
            && elapsed + delay > limit
        {
            anyhow::bail!(
                "could not fetch the token signing keys from the members service at \
                 {members_url} in {attempt} attempts over {elapsed:?}: {}",
                status.message()
            );
        }
        tracing::warn!(
            %members_url,
            attempt,
            code = ?status.code(),
            error = status.message(),
            retry_in = ?delay,
            "members service not answering for the token signing keys; retrying"
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(retry.max_delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ServiceKeySet, ServiceName};
    use crate::clock::Clock;

    fn credentials() -> ServiceCredentials {
        let keys = ServiceKeySet::generate().keys_for(ServiceName::Events);
        let Ok(credentials) = keys.credentials(ServiceName::Members, Clock::system()) else {
            unreachable!("a generated key mints")
        };
        credentials
    }

    #[test]
    fn a_request_without_a_deadline_gets_the_default_one_and_a_credential() {
        let mut headers = http::HeaderMap::new();
        let deadline = prepare(&mut headers, &credentials());
        assert_eq!(deadline.ok(), Some(DEFAULT_DEADLINE));
        assert_eq!(
            headers.get(GRPC_TIMEOUT).and_then(grpc_timeout),
            Some(DEFAULT_DEADLINE)
        );
        let authorization = headers.get(http::header::AUTHORIZATION);
        assert!(authorization.is_some_and(|value| value.as_bytes().starts_with(b"Bearer ")));
    }

    #[test]
    fn a_request_keeps_the_deadline_it_set() {
        let mut headers = http::HeaderMap::new();
        headers.insert(GRPC_TIMEOUT, http::HeaderValue::from_static("250m"));
        let deadline = prepare(&mut headers, &credentials());
        assert_eq!(deadline.ok(), Some(Duration::from_millis(250)));
        assert_eq!(
            headers.get(GRPC_TIMEOUT),
            Some(&http::HeaderValue::from_static("250m"))
        );
    }

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        let parse = |value: &'static str| grpc_timeout(&http::HeaderValue::from_static(value));
        assert_eq!(parse("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse("10S"), Some(DEFAULT_DEADLINE));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("5000000u"), Some(Duration::from_secs(5)));
        assert_eq!(parse("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for bad in ["", "S", "10", "10s", "123456789S", "-1S", "1.5S"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
