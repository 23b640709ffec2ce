//! Calls to peers: a peer that is up but never answers, or not up at all, costs a caller its
//! deadline and no more; and a call sends the trace it is part of.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use std::time::{Duration, Instant};

use opentelemetry::trace::TraceContextExt as _;
use rendezvous_common::auth::{ServiceCredentials, ServiceName};
use rendezvous_common::peers::{self, with_credentials};
use rendezvous_common::telemetry;
use rendezvous_proto::members::v1::GetSigningKeysRequest;
use rendezvous_proto::members::v1::member_internal_service_client::MemberInternalServiceClient;
use rendezvous_testkit::HungPeer;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

fn credentials() -> ServiceCredentials {
    rendezvous_testkit::service_credentials(ServiceName::Events, ServiceName::Members)
}

/// One GetSigningKeys call to `url` with `deadline`: its code and how long it took.
async fn get_signing_keys(url: &str, deadline: Duration) -> (tonic::Code, Duration) {
    let channel = peers::channel(url).unwrap();
    let mut client = MemberInternalServiceClient::new(with_credentials(channel, credentials()));
    let mut request = tonic::Request::new(GetSigningKeysRequest {});
    request.set_timeout(deadline);
    let started = Instant::now();
    let result = client.get_signing_keys(request).await;
    (
        result.err().map_or(tonic::Code::Ok, |s| s.code()),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_peer_that_accepts_and_never_answers_costs_a_call_its_deadline() {
    let hung = HungPeer::start().await.unwrap();
    let deadline = Duration::from_millis(300);
    let (code, took) = get_signing_keys(&hung.url(), deadline).await;
    assert_eq!(code, tonic::Code::DeadlineExceeded);
    assert!(
        took >= deadline,
        "gave up after {took:?}, before its deadline"
    );
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} for a 300 ms deadline"
    );

    // The connection stays open and hung: a second call waits no longer than the first.
    let (code, took) = get_signing_keys(&hung.url(), deadline).await;
    assert_eq!(code, tonic::Code::DeadlineExceeded);
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} for a 300 ms deadline"
    );
}

#[tokio::test]
async fn a_peer_that_is_not_listening_is_unavailable_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (code, took) = get_signing_keys(&url, Duration::from_secs(5)).await;
    assert_eq!(code, tonic::Code::Unavailable);
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} to find nobody listening"
    );
}

#[tokio::test]
async fn a_call_carries_the_trace_of_the_span_it_is_made_in() {
    telemetry::init_for_tests();
    let span = tracing::info_span!("rpc", method = "/test.Service/Call");
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", http::HeaderValue::from_static(incoming));
    telemetry::continue_trace(&span, &headers);
    assert_eq!(
        telemetry::trace_id(&span).as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );

    let mut outgoing = http::HeaderMap::new();
    span.in_scope(|| telemetry::inject_trace_context(&mut outgoing));
    let traceparent = outgoing.get("traceparent").unwrap().to_str().unwrap();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(
        parts[1], "4bf92f3577b34da6a3ce929d0e0e4736",
        "the same trace"
    );
    assert_ne!(
        parts[2], "00f067aa0ba902b7",
        "a span of its own, child of the caller's"
    );
    assert_eq!(
        parts[2],
        span.context().span().span_context().span_id().to_string()
    );

    // Outside any span there is no trace to send.
    let mut none = http::HeaderMap::new();
    telemetry::inject_trace_context(&mut none);
    assert!(none.get("traceparent").is_none());
}

#[tokio::test]
async fn a_malformed_traceparent_starts_a_new_trace() {
    telemetry::init_for_tests();
    let span = tracing::info_span!("rpc", method = "/test.Service/Call");
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        http::HeaderValue::from_static("00-nonsense-01"),
    );
    telemetry::continue_trace(&span, &headers);
    let trace_id = telemetry::trace_id(&span).unwrap();
    assert_eq!(trace_id.len(), 32);
    assert_ne!(trace_id, "00000000000000000000000000000000");
}
