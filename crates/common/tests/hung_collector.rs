//! A collector that accepts connections and never answers costs the RPCs nothing: finished
//! spans wait in the exporter's bounded queue (the rest are dropped), no call waits for an
//! export, and the flush at shutdown gives up within its timeout.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use std::time::{Duration, Instant};

use rendezvous_common::auth::{ServiceKeySet, ServiceName, TokenVerifier};
use rendezvous_common::clock::Clock;
use rendezvous_common::server::{self, RpcLayer, ServerSettings};
use rendezvous_common::telemetry::{self, TraceExport};
use rendezvous_testkit::HungPeer;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// More calls (each one span) than the export queue holds (2,048 by default).
const CALLS: usize = 3000;

/// The exporter's timeout per export (`OTEL_EXPORTER_OTLP_TIMEOUT`'s default): a call that
/// waited for one export to the hung collector would take at least this long.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_collector_never_slows_or_fails_an_rpc() {
    let collector = HungPeer::start().await.unwrap();
    let telemetry = telemetry::init_for_tests_with(&TraceExport {
        endpoint: Some(collector.url()),
        schedule_delay: Some(Duration::from_millis(10)),
        ..TraceExport::default()
    });
    assert!(telemetry.exporting());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let keys = ServiceKeySet::generate().keys_for(ServiceName::Events);
    let verifier = TokenVerifier::new(&[], &keys, Clock::system()).unwrap();
    let layer = RpcLayer::new(verifier, &ServerSettings::default()).with_service(telemetry::EVENTS);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(server::serve(
        listener,
        RoutesBuilder::default(),
        &[],
        layer,
        shutdown.clone(),
    ));
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();

    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for _ in 0..CALLS {
        let call = Instant::now();
        let reply = HealthClient::new(channel.clone())
            .check(HealthCheckRequest::default())
            .await
            .unwrap();
        assert_eq!(reply.into_inner().status(), ServingStatus::Serving);
        slowest = slowest.max(call.elapsed());
    }
    assert!(
        slowest < EXPORT_TIMEOUT / 2,
        "a call took {slowest:?} ({CALLS} in {:?})",
        started.elapsed()
    );

    shutdown.cancel();
    server.await.unwrap().unwrap();
    // The last flush meets the hung collector too, and gives up instead of hanging the exit.
    let flushing = Instant::now();
    tokio::time::timeout(EXPORT_TIMEOUT * 3, telemetry.shutdown())
        .await
        .expect("shutdown gave up on the collector");
    assert!(flushing.elapsed() < EXPORT_TIMEOUT * 3);
}
