//! The one gRPC server bootstrap every service uses: health (SERVING once the service is
//! handed to [`serve`], which happens after its migrations; NOT_SERVING while its database
//! does not answer, and as shutdown begins),
//! reflection v1 and v1alpha, graceful shutdown (NOT_SERVING, then a drain window in which
//! the listener still serves, then the listener closes and in-flight RPCs finish), and the
//! [`RpcLayer`] that gives each RPC a span (continuing the caller's trace), a caller, a
//! deadline and a place in the concurrency budget, and counts it in the service's metrics.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use tonic::body::Body;
use tonic::service::RoutesBuilder;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::auth::{AuthError, Caller, Credential, CredentialExpiry, TokenVerifier, callers};
use crate::db::Db;
use crate::error;

/// Limits applied to every RPC.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Longest time a handler may take before the call ends with DEADLINE_EXCEEDED.
    pub request_timeout: Duration,
    /// RPCs handled at once; beyond it calls are shed with RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
    /// Largest request message accepted, in bytes (applied by each service to its servers).
    pub max_message_bytes: usize,
    /// How long the server keeps serving — new connections and calls included — after health
    /// turns NOT_SERVING and before its listener closes: the time load balancers and
    /// Kubernetes need to see NOT_SERVING (or the pod's removal) and stop sending calls here,
    /// so that no client meets a closed port while it is still routed to this process.
    pub drain_window: Duration,
    /// How long shutdown waits, once the listener has closed, for in-flight RPCs (open
    /// streams included) before it closes the remaining connections.
    pub shutdown_grace: Duration,
}

/// The drain window of the service binaries when none is configured.
pub const DEFAULT_DRAIN_WINDOW: Duration = Duration::from_secs(5);

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 1024,
            max_message_bytes: 16 * 1024 * 1024,
            // In-process servers (tests, `rendezvous up`) have no load balancer to wait for;
            // the binaries take DEFAULT_DRAIN_WINDOW through `ServerArgs`.
            drain_window: Duration::ZERO,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Reads the caller a [`RpcLayer`] put in the request.
pub fn caller<T>(request: &tonic::Request<T>) -> Caller {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Anonymous)
}

/// Paths of internal services: `/<package>.<Name>InternalService/<Method>`.
fn is_internal(path: &str) -> bool {
    path.split('/')
        .nth(1)
        .is_some_and(|service| service.ends_with("InternalService"))
}

/// Why `caller` may not call `path`, when it is an internal method: anonymous callers need a
/// service credential, members may not, and a service may call only the methods that list
/// it ([`callers::allowed_callers`]; a method not listed is refused to all).
fn internal_refusal(path: &str, caller: &Caller) -> Option<Status> {
    if !is_internal(path) {
        return None;
    }
    match caller {
        Caller::Service { name } if callers::allowed_callers(path).contains(name) => None,
        Caller::Service { name } => Some(error::status(
            tonic::Code::PermissionDenied,
            "SERVICE_NOT_ALLOWED",
            format!("the {name} service may not call {path}"),
        )),
        Caller::Anonymous => Some(error::status(
            tonic::Code::Unauthenticated,
            "SERVICE_CREDENTIAL_REQUIRED",
            "this method is for Rendezvous services only",
        )),
        Caller::Member { .. } => Some(error::status(
            tonic::Code::PermissionDenied,
            "SERVICE_ONLY",
            "this method is for Rendezvous services only",
        )),
    }
}

fn is_infrastructure(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.")
}

/// Tower layer run around every RPC.
#[derive(Clone, Debug)]
pub struct RpcLayer {
    verifier: Arc<TokenVerifier>,
    permits: Arc<Semaphore>,
    timeout: Duration,
    drain_window: Duration,
    shutdown_grace: Duration,
    /// Where each answered RPC is counted, when the service keeps metrics.
    metrics: Option<crate::metrics::Metrics>,
    /// The service's database, checked by [`serve`] so that health tells its outages.
    database: Option<Db>,
    /// The service's name in its RPC spans ([`crate::telemetry::SERVICE_FIELD`]).
    service: &'static str,
}

impl RpcLayer {
    pub fn new(verifier: TokenVerifier, settings: &ServerSettings) -> Self {
        Self {
            verifier: Arc::new(verifier),
            permits: Arc::new(Semaphore::new(settings.max_concurrent_requests.max(1))),
            timeout: settings.request_timeout,
            drain_window: settings.drain_window,
            shutdown_grace: settings.shutdown_grace,
            metrics: None,
            database: None,
            service: crate::telemetry::PROCESS,
        }
    }

    /// Names the service in its RPC spans, e.g. [`crate::telemetry::EVENTS`]: the exported
    /// spans' `service.name`.
    #[must_use]
    pub fn with_service(mut self, service: &'static str) -> Self {
        self.service = service;
        self
    }

    /// Health follows `database` too: NOT_SERVING while it does not answer `SELECT 1`
    /// (checked every [`DATABASE_CHECK_INTERVAL`]), SERVING again once it does.
    #[must_use]
    pub fn with_database(mut self, database: Db) -> Self {
        self.database = Some(database);
        self
    }

    /// Counts every answered RPC (method, code, latency) in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }
}

/// How often [`serve`] checks the service's database.
pub const DATABASE_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How long a check may take before the database counts as down.
pub const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The health a server reports: SERVING while its database answers, NOT_SERVING while it does
/// not and for good once shutdown begins. One lock orders the two, so a database check can
/// never report SERVING after shutdown has.
struct Health {
    reporter: tonic_health::server::HealthReporter,
    names: Vec<String>,
    shutting_down: tokio::sync::Mutex<bool>,
}

impl Health {
    async fn report(&self, status: ServingStatus) {
        for name in self.names.iter().map(String::as_str).chain([""]) {
            self.reporter.set_service_status(name, status).await;
        }
    }

    /// Reports whether the database answers, unless shutdown has begun.
    async fn database_answers(&self, answers: bool) {
        let shutting_down = self.shutting_down.lock().await;
        if !*shutting_down {
            let status = if answers {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            self.report(status).await;
        }
    }

    async fn shut_down(&self) {
        let mut shutting_down = self.shutting_down.lock().await;
        *shutting_down = true;
        self.report(ServingStatus::NotServing).await;
    }
}

async fn database_answers(database: &Db) -> bool {
    let check = async {
        match database {
            Db::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
            Db::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
        }
    };
    match tokio::time::timeout(DATABASE_CHECK_TIMEOUT, check).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::debug!(%error, "database check failed");
            false
        }
        Err(_) => false,
    }
}

/// Checks `database` until `shutdown`, telling `health` each time its answer changes.
async fn watch_database(database: Db, health: Arc<Health>, shutdown: CancellationToken) {
    let mut answered = true;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(DATABASE_CHECK_INTERVAL) => {}
        }
        let answers = database_answers(&database).await;
        if answers != answered {
            if answers {
                tracing::info!("the database answers again: SERVING");
            } else {
                tracing::warn!("the database does not answer: NOT_SERVING until it does");
            }
            health.database_answers(answers).await;
            answered = answers;
        }
    }
}

impl<S> Layer<S> for RpcLayer {
    type Service = RpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RpcService<S> {
    inner: S,
    layer: RpcLayer,
}

fn status_response(status: Status) -> http::Response<Body> {
    status.into_http()
}

impl<S, B> Service<http::Request<B>> for RpcService<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone that was made ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        let path = request.uri().path().to_owned();
        let credential = match request.headers().get(http::header::AUTHORIZATION) {
            None => layer.verifier.resolve_credential(None),
            Some(value) => value
                .to_str()
                .map_err(|_| AuthError::Malformed)
                .and_then(|value| layer.verifier.resolve_credential(Some(value))),
        };
        if let Ok(Credential {
            expires_at: Some(at),
            ..
        }) = &credential
        {
            request.extensions_mut().insert(CredentialExpiry(*at));
        }
        let caller = credential.map(|c| c.caller);
        let span = tracing::info_span!(
            "rpc",
            service = layer.service,
            method = %path,
            caller = tracing::field::Empty,
            code = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        // The caller's trace (W3C `traceparent`) goes on here, and to the calls this one makes.
        crate::telemetry::continue_trace(&span, request.headers());
        Box::pin(
            async move {
                let started = Instant::now();
                let response = match caller {
                    Err(err) => Ok(status_response(error::status(
                        tonic::Code::Unauthenticated,
                        // A client signs in again after this one; for any other it refreshes.
                        if matches!(err, AuthError::SessionRevoked) {
                            error::SESSION_REVOKED
                        } else {
                            "INVALID_TOKEN"
                        },
                        format!("authorization: {err}"),
                    ))),
                    Ok(caller) => {
                        tracing::Span::current().record("caller", caller.label());
                        if let Some(refusal) = internal_refusal(&path, &caller) {
                            Ok(status_response(refusal))
                        } else {
                            request.extensions_mut().insert(caller);
                            let permit = if is_infrastructure(&path) {
                                None
                            } else {
                                layer.permits.clone().try_acquire_owned().ok()
                            };
                            if permit.is_none() && !is_infrastructure(&path) {
                                Ok(status_response(error::status(
                                    tonic::Code::ResourceExhausted,
                                    "OVERLOADED",
                                    "the server is at its concurrency limit; retry with back-off",
                                )))
                            } else {
                                let result =
                                    tokio::time::timeout(layer.timeout, inner.call(request)).await;
                                drop(permit);
                                match result {
                                    Ok(response) => response,
                                    Err(_) => Ok(status_response(error::status(
                                        tonic::Code::DeadlineExceeded,
                                        "TIMEOUT",
                                        "the request took too long",
                                    ))),
                                }
                            }
                        }
                    }
                };
                let span = tracing::Span::current();
                let elapsed = started.elapsed();
                span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
                if let Ok(response) = &response {
                    let code = response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .unwrap_or(0);
                    let code = tonic::Code::from(code);
                    span.record("code", tracing::field::debug(code));
                    if let Some(metrics) = &layer.metrics {
                        metrics.observe_rpc(&path, code, elapsed);
                    }
                }
                tracing::info!("rpc finished");
                response
            }
            .instrument(span),
        )
    }
}

/// Serves `routes` (plus health and reflection) on `listener` until `shutdown` is cancelled.
/// Then health turns NOT_SERVING at once, the server goes on serving everything (new
/// connections too) for the drain window, the listener closes, and in-flight RPCs finish
/// within the shutdown grace. `services` are the full names of the services in `routes`,
/// reported SERVING in health and listed by reflection.
pub async fn serve(
    listener: TcpListener,
    mut routes: RoutesBuilder,
    services: &[&str],
    layer: RpcLayer,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let reflection = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(rendezvous_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health");
        for name in services {
            builder = builder.with_service_name(*name);
        }
        builder
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    routes
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    let addr = listener.local_addr()?;
    let health = Arc::new(Health {
        reporter,
        names: services.iter().map(|s| (*s).to_owned()).collect(),
        shutting_down: tokio::sync::Mutex::new(false),
    });
    health.report(ServingStatus::Serving).await;
    let watcher = layer.database.clone().map(|database| {
        tokio::spawn(watch_database(
            database,
            health.clone(),
            shutdown.child_token(),
        ))
    });
    let grace = layer.shutdown_grace;
    let drain = layer.drain_window;
    let draining = shutdown.clone();
    // Tonic closes the listener and sends each connection its GOAWAY when this resolves, so
    // the drain window is waited out here, after NOT_SERVING.
    let signal = async move {
        shutdown.cancelled().await;
        health.shut_down().await;
        tracing::info!(%addr, ?drain, "shutting down: NOT_SERVING, still serving for the drain window");
        tokio::time::sleep(drain).await;
        tracing::info!(%addr, "listener closed: finishing in-flight rpcs");
    };
    tracing::info!(%addr, services = ?services, "grpc server listening");
    let server = tonic::transport::Server::builder()
        .layer(layer)
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), signal);
    tokio::select! {
        result = server => result?,
        () = async {
            draining.cancelled().await;
            tokio::time::sleep(drain + grace).await;
        } => {
            tracing::warn!(%addr, ?grace, "drain timed out: closing the remaining connections");
        }
    }
    if let Some(watcher) = watcher {
        let _ = watcher.await;
    }
    tracing::info!(%addr, "grpc server stopped");
    Ok(())
}

/// Resolves when SIGINT or SIGTERM arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// A cancellation token cancelled by SIGINT or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        trigger.cancel();
    });
    token
}
