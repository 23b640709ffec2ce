//! The server bootstrap over a real server on a real port. Shutdown: health turns
//! NOT_SERVING at once, the server keeps serving new connections and calls for the drain
//! window, then the listener closes while the calls in flight — started before the signal or
//! during the window — complete. Health: NOT_SERVING while the database does not answer.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use rendezvous_common::auth::{ServiceKeySet, ServiceName, TokenVerifier};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::server::{self, RpcLayer, ServerSettings};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::server::{NamedService, UnaryService};
use tonic::service::RoutesBuilder;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_prost::ProstCodec;

/// How long each call of the test service takes.
const CALL: Duration = Duration::from_millis(400);
const DRAIN: Duration = Duration::from_millis(900);

/// A unary method that answers an empty message after [`CALL`].
#[derive(Clone)]
struct Slow;

impl NamedService for Slow {
    const NAME: &'static str = "rendezvous.test.Slow";
}

struct Wait;

impl UnaryService<()> for Wait {
    type Response = ();
    type Future = BoxFuture<'static, Result<tonic::Response<()>, tonic::Status>>;

    fn call(&mut self, _: tonic::Request<()>) -> Self::Future {
        Box::pin(async {
            tokio::time::sleep(CALL).await;
            Ok(tonic::Response::new(()))
        })
    }
}

impl tower::Service<http::Request<Body>> for Slow {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<(), ()>::default());
            Ok(grpc.unary(Wait, request).await)
        })
    }
}

async fn slow_call(channel: Channel) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    grpc.unary(
        tonic::Request::new(()),
        PathAndQuery::from_static("/rendezvous.test.Slow/Wait"),
        ProstCodec::<(), ()>::default(),
    )
    .await
    .map(|_| ())
}

async fn health(channel: Channel) -> ServingStatus {
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await;
    match reply {
        Ok(reply) => reply.into_inner().status(),
        Err(status) => panic!("health check failed: {status}"),
    }
}

async fn connect(addr: std::net::SocketAddr) -> Channel {
    match Endpoint::from_shared(format!("http://{addr}")) {
        Ok(endpoint) => match endpoint.connect().await {
            Ok(channel) => channel,
            Err(error) => panic!("connecting to {addr}: {error}"),
        },
        Err(error) => panic!("{addr}: {error}"),
    }
}

/// Serves [`Slow`] on a fresh port with `settings`: the address, the shutdown token and the
/// server's task.
async fn start(
    settings: ServerSettings,
) -> (
    std::net::SocketAddr,
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    start_with(settings, None).await
}

/// [`start`], health following `database` when given.
async fn start_with(
    settings: ServerSettings,
    database: Option<Db>,
) -> (
    std::net::SocketAddr,
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let Ok(listener) = TcpListener::bind("127.0.0.1:0").await else {
        panic!("no port")
    };
    let Ok(addr) = listener.local_addr() else {
        panic!("no address")
    };
    let keys = ServiceKeySet::generate().keys_for(ServiceName::Events);
    let Ok(verifier) = TokenVerifier::new(&[], &keys, Clock::system()) else {
        panic!("no verifier")
    };
    let mut routes = RoutesBuilder::default();
    routes.add_service(Slow);
    let shutdown = CancellationToken::new();
    let mut layer = RpcLayer::new(verifier, &settings);
    if let Some(database) = database {
        layer = layer.with_database(database);
    }
    let server = tokio::spawn(server::serve(
        listener,
        routes,
        &[Slow::NAME],
        layer,
        shutdown.clone(),
    ));
    (addr, shutdown, server)
}

#[tokio::test]
async fn shutdown_serves_through_the_drain_window_then_closes_the_listener_and_finishes_calls() {
    let (addr, shutdown, server) = start(ServerSettings {
        drain_window: DRAIN,
        shutdown_grace: Duration::from_secs(5),
        ..ServerSettings::default()
    })
    .await;

    let before = connect(addr).await;
    assert_eq!(health(before.clone()).await, ServingStatus::Serving);
    let in_flight = tokio::spawn(slow_call(before.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let signalled = Instant::now();
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(health(before.clone()).await, ServingStatus::NotServing);

    // In the window: a new connection is served, and a call that outlives the window
    // starts on the old one.
    let during = connect(addr).await;
    assert!(
        signalled.elapsed() < DRAIN,
        "connected only {:?} after the signal",
        signalled.elapsed()
    );
    assert_eq!(health(during.clone()).await, ServingStatus::NotServing);
    let in_window = tokio::spawn(slow_call(during));
    let sleep = DRAIN.saturating_sub(CALL / 2 + signalled.elapsed());
    tokio::time::sleep(sleep).await;
    let outliving = tokio::spawn(slow_call(before));

    let mut refused_after = None;
    while signalled.elapsed() < DRAIN + Duration::from_secs(5) {
        if TcpStream::connect(addr).await.is_err() {
            refused_after = Some(signalled.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let Some(refused_after) = refused_after else {
        panic!("the listener was still open 5 s after the drain window")
    };
    assert!(
        refused_after >= DRAIN,
        "the listener closed {refused_after:?} after the signal, before the {DRAIN:?} window"
    );

    for (what, call) in [
        ("in flight at the signal", in_flight),
        ("started on a connection made in the window", in_window),
        ("started late in the window, ending after it", outliving),
    ] {
        match call.await {
            Ok(Ok(())) => {}
            Ok(Err(status)) => panic!("the call {what} failed: {status}"),
            Err(error) => panic!("the call {what} panicked: {error}"),
        }
    }
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Ok(()))) => {}
        other => panic!("serve did not stop cleanly: {other:?}"),
    }
}

/// HTTP/2 frames, written by hand: the client here must do what no well-behaved library
/// lets a test do on purpose — send frames for a new stream in the very write that acks the
/// server's shutdown PING.
mod frames {
    pub const DATA: u8 = 0;
    pub const HEADERS: u8 = 1;
    pub const RST_STREAM: u8 = 3;
    pub const SETTINGS: u8 = 4;
    pub const PING: u8 = 6;
    pub const GOAWAY: u8 = 7;
    pub const WINDOW_UPDATE: u8 = 8;
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;

    pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut out = len.to_be_bytes()[1..].to_vec();
        out.extend([kind, flags]);
        out.extend(stream.to_be_bytes());
        out.extend(payload);
        out
    }

    /// HPACK literals without indexing, no Huffman: enough for a gRPC request.
    pub fn request_headers(path: &str) -> Vec<u8> {
        let mut block = Vec::new();
        for (name, value) in [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", "localhost"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ] {
            block.push(0);
            block.push(name.len() as u8);
            block.extend(name.as_bytes());
            block.push(value.len() as u8);
            block.extend(value.as_bytes());
        }
        block
    }

    /// A unary gRPC call on `stream`: HEADERS, an empty message, and a stream-level
    /// WINDOW_UPDATE, as grpc-core sends it for the response.
    pub fn unary_call(stream: u32, path: &str) -> Vec<u8> {
        let mut out = frame(HEADERS, END_HEADERS, stream, &request_headers(path));
        out.extend(frame(DATA, END_STREAM, stream, &[0, 0, 0, 0, 0]));
        out.extend(frame(WINDOW_UPDATE, 0, stream, &5u32.to_be_bytes()));
        out
    }
}

/// The GOAWAY PROTOCOL_ERROR that fails in-flight calls at SIGTERM, an h2 0.4.20 bug (the
/// latest h2): a client that starts a call on a connection just as the server's graceful
/// GOAWAY (last stream = MAX, then a PING) reaches it writes the call after the PING's ack; the
/// server's final GOAWAY then refuses that stream, and h2 ignores its HEADERS and DATA but
/// takes the stream's WINDOW_UPDATE for a frame on an idle stream — a connection error that
/// resets every call still running on the connection. grpc-core clients (Python grpcio…)
/// write such WINDOW_UPDATEs. Rendezvous does not patch h2 (no third-party code is copied into
/// the tree); the drain window keeps this to calls a load balancer would no longer send. This
/// test pins the bug: when an h2 release fixes it, it fails — then make it assert that the
/// call in flight finishes, and drop the tolerance in scripts/faults.py's scenario (e).
#[tokio::test]
async fn h2_still_ends_the_connection_on_a_window_update_of_a_stream_the_final_goaway_refused() {
    use frames::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let (addr, shutdown, server) = start(ServerSettings::default()).await;

    let Ok(mut socket) = TcpStream::connect(addr).await else {
        panic!("cannot connect")
    };
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    hello.extend(unary_call(1, "/rendezvous.test.Slow/Wait"));
    if let Err(error) = socket.write_all(&hello).await {
        panic!("writing: {error}")
    }

    let mut buffer = Vec::new();
    let mut goaways: Vec<(u32, u32)> = Vec::new();
    let mut stream_one_ended = false;
    let mut stream_one_reset = false;
    let mut shutdown_started = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Frames read so far.
        while buffer.len() >= 9 {
            let len = u32::from_be_bytes([0, buffer[0], buffer[1], buffer[2]]) as usize;
            if buffer.len() < 9 + len {
                break;
            }
            let (kind, flags) = (buffer[3], buffer[4]);
            let stream =
                u32::from_be_bytes([buffer[5], buffer[6], buffer[7], buffer[8]]) & !(1 << 31);
            let payload = buffer[9..9 + len].to_vec();
            buffer.drain(..9 + len);
            let reply = match kind {
                SETTINGS if flags & ACK == 0 => frame(SETTINGS, ACK, 0, &[]),
                // The ack of the shutdown PING carries a new call, as a batching client
                // writes it.
                PING if flags & ACK == 0 => {
                    let mut out = frame(PING, ACK, 0, &payload);
                    if !goaways.is_empty() {
                        out.extend(unary_call(3, "/rendezvous.test.Slow/Wait"));
                    }
                    out
                }
                GOAWAY => {
                    let last = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                    let code = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
                    goaways.push((last & !(1 << 31), code));
                    Vec::new()
                }
                HEADERS if stream == 1 && flags & END_STREAM != 0 => {
                    stream_one_ended = true;
                    Vec::new()
                }
                RST_STREAM if stream == 1 => {
                    stream_one_reset = true;
                    Vec::new()
                }
                _ => Vec::new(),
            };
            if !reply.is_empty()
                && let Err(error) = socket.write_all(&reply).await
            {
                panic!("writing: {error}")
            }
        }
        if stream_one_ended || stream_one_reset {
            break;
        }
        if !shutdown_started {
            // Call 1 is being handled: shut down with it in flight.
            tokio::time::sleep(Duration::from_millis(100)).await;
            shutdown.cancel();
            shutdown_started = true;
        }
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout_at(deadline.into(), socket.read(&mut chunk)).await;
        match read {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => buffer.extend(&chunk[..n]),
            Ok(Err(error)) => panic!("reading: {error}"),
            Err(_) => panic!("no answer within 10 s; GOAWAYs {goaways:?}"),
        }
    }
    let protocol_errors: Vec<_> = goaways.iter().filter(|(_, code)| *code == 1).collect();
    assert!(
        !protocol_errors.is_empty() && !stream_one_ended,
        "h2 no longer ends the connection (GOAWAYs {goaways:?}): the upstream bug is fixed, see \
         this test's comment"
    );
    assert_eq!(
        goaways.first(),
        Some(&(i32::MAX as u32, 0)),
        "no graceful GOAWAY first"
    );
    shutdown.cancel();
    let _ = server.await;
}

/// Health while the database does not answer: a closed pool fails every query, as a database
/// that is down does.
async fn health_says_not_serving_once_the_database_stops_answering(
    backend: rendezvous_testkit::Backend,
) {
    let test = match rendezvous_testkit::TestDb::new(backend).await {
        Ok(test) => test,
        Err(error) => panic!("no test database: {error}"),
    };
    let database = match Db::connect(&test.url).await {
        Ok(database) => database,
        Err(error) => panic!("connecting to {}: {error}", test.url),
    };
    // A drain window, for the last check to find the server still serving.
    let settings = ServerSettings {
        drain_window: Duration::from_secs(1),
        ..ServerSettings::default()
    };
    let (addr, shutdown, server) = start_with(settings, Some(database.clone())).await;
    let channel = connect(addr).await;
    // A few checks pass while the database answers.
    tokio::time::sleep(server::DATABASE_CHECK_INTERVAL * 2).await;
    assert_eq!(health(channel.clone()).await, ServingStatus::Serving);

    database.close().await;
    let closed = Instant::now();
    let within = server::DATABASE_CHECK_INTERVAL + server::DATABASE_CHECK_TIMEOUT * 2;
    loop {
        if health(channel.clone()).await == ServingStatus::NotServing {
            break;
        }
        assert!(
            closed.elapsed() < within,
            "health still SERVING {within:?} after the database stopped answering"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Shutdown keeps it NOT_SERVING, whatever the checks would say.
    shutdown.cancel();
    assert_eq!(health(channel).await, ServingStatus::NotServing);
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Ok(()))) => {}
        other => panic!("serve did not stop cleanly: {other:?}"),
    }
}

rendezvous_testkit::backend_tests!(health_says_not_serving_once_the_database_stops_answering);
