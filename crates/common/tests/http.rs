//! The side doors' HTTP server over real sockets: a client that never finishes its headers,
//! or idles on a kept-alive connection, is cut off; a slow handler is answered `503`; the
//! connection bound holds; shutdown lets the request in flight finish.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use rendezvous_common::http::{HttpLimits, serve};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";

struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(limits: HttpLimits) -> Server {
    let app = Router::new().route("/", get(|| async { "ok" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            "slow"
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve("test", listener, app, limits, shutdown.clone()));
    Server {
        addr,
        shutdown,
        task,
    }
}

fn limits(header_read_ms: u64) -> HttpLimits {
    HttpLimits {
        header_read: Duration::from_millis(header_read_ms),
        request: Duration::from_secs(5),
        connections: 16,
        grace: Duration::from_secs(5),
    }
}

/// Reads until the server closes; what it sent, and how long it took to close.
async fn until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut got))
        .await
        .expect("the server never closed the connection")
        .unwrap();
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

/// The first response on `stream`: its head and a body of its `content-length`.
async fn response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0; 1024];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|n| n.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("no response")
            .unwrap();
        assert!(n > 0, "closed before a response: {text:?}");
        got.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let server = start(limits(300)).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: te").await.unwrap();
    let (answer, took) = until_closed(&mut slow).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(!answer.contains("200 OK"), "{answer}");
    // A silent one too.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let (_, took) = until_closed(&mut silent).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    server.shutdown.cancel();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_kept_alive_connection_that_idles_is_closed() {
    let server = start(limits(300)).await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    client.write_all(REQUEST).await.unwrap();
    assert!(response(&mut client).await.starts_with("HTTP/1.1 200 OK"));
    let (_, took) = until_closed(&mut client).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    server.shutdown.cancel();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_request_not_answered_in_time_gets_503() {
    let server = start(HttpLimits {
        request: Duration::from_millis(100),
        ..limits(2000)
    })
    .await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    client
        .write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let answer = response(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    server.shutdown.cancel();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn connections_beyond_the_bound_wait_for_a_free_one() {
    let server = start(HttpLimits {
        connections: 2,
        ..limits(5000)
    })
    .await;
    let held = [
        TcpStream::connect(server.addr).await.unwrap(),
        TcpStream::connect(server.addr).await.unwrap(),
    ];
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(REQUEST).await.unwrap();
    let mut buf = [0; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "answered beyond the bound: {early:?}");
    drop(held);
    assert!(response(&mut third).await.starts_with("HTTP/1.1 200 OK"));
    server.shutdown.cancel();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish() {
    let server = start(limits(5000)).await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    client
        .write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.shutdown.cancel();
    let (answer, _) = until_closed(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("slow"), "{answer}");
    let served = tokio::time::timeout(Duration::from_secs(5), server.task).await;
    served.unwrap().unwrap().unwrap();
    // The listener is closed.
    assert!(TcpStream::connect(server.addr).await.is_err());
}
