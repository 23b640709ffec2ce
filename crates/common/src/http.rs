//! The plain-HTTP/1.1 server of the services' side doors (calendar feeds, one-click
//! unsubscribe, metrics), with the time-outs `axum::serve` leaves out: hyper reads a
//! request's headers within [`HttpLimits::header_read`] (also between the requests of a
//! kept-alive connection) or closes the connection, so a slow or silent client (slowloris)
//! cannot hold a socket; each request is answered within [`HttpLimits::request`] (else
//! `503`); at most [`HttpLimits::connections`] are open at once (the next wait to be
//! accepted). On shutdown, connections finish their request in flight and close, for at most
//! [`HttpLimits::grace`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The server's time-outs and bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time to read a request's headers, from the connection's start or the previous
    /// response.
    pub header_read: Duration,
    /// Time to answer a request once read.
    pub request: Duration,
    /// Connections open at once.
    pub connections: usize,
    /// How long shutdown waits for the requests in flight.
    pub grace: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            connections: 1024,
            grace: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled; `name` labels its log lines.
/// Returns once every connection has closed, or the grace period is over (the rest are
/// dropped).
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let request_limit = limits.request;
    let app = app.layer(middleware::from_fn(move |request: Request, next: Next| {
        answer_within(request_limit, request, next)
    }));
    let service = TowerToHyperService::new(app.into_service::<hyper::body::Incoming>());
    let slots = Arc::new(Semaphore::new(limits.connections.max(1)));
    // Dropped at the end, which aborts whatever the grace period left open.
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            () = shutdown.cancelled() => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was accepted:
                    // the listener itself is fine; wait a little and go on.
                    tracing::warn!(server = name, %error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = service.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let _slot = slot;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => served,
                () = shutdown.cancelled() => {
                    // Finish the request in flight (if any), then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = served {
                tracing::debug!(server = name, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let all_closed = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.grace, all_closed)
        .await
        .is_err()
    {
        tracing::warn!(
            server = name,
            "connections still open after the shutdown grace period, dropped"
        );
    }
    Ok(())
}

async fn answer_within(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_ms = limit.as_millis(), "request not answered in time");
            (StatusCode::SERVICE_UNAVAILABLE, "not answered in time\n").into_response()
        }
    }
}
