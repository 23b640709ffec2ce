//! Prometheus metrics of one service, served over plain HTTP at `/metrics` in the text
//! exposition format.
//!
//! Each service owns a [`Metrics`] (a `prometheus::Registry` of its own, not the process-wide
//! default one), so that services run side by side in one process — `rendezvous up`, the
//! tests — each expose only their own figures. What is counted where it happens (RPCs in the
//! [`crate::server::RpcLayer`], deliveries, admission batches) is registered by its owner
//! through [`Metrics::register`]; what is a state rather than an event (outbox lag, pool
//! usage) is read when Prometheus scrapes, from the database and the pool
//! ([`Metrics::watch_outbox`], [`Metrics::watch_pool`]), so that it is right whichever replica
//! did the work.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse as _;
use axum::routing::get;
use chrono::{DateTime, Utc};
use prometheus::core::Collector;
use prometheus::{
    Encoder as _, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::db::Db;
use crate::with_db;

/// The path metrics are served on.
pub const PATH: &str = "/metrics";

/// How long open scrape connections may stay once shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The metrics of one service; clone-cheap.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    rpc_requests: IntCounterVec,
    rpc_seconds: HistogramVec,
    outbox_pending: IntGaugeVec,
    outbox_failing: IntGaugeVec,
    outbox_dead: IntGaugeVec,
    outbox_oldest_seconds: GaugeVec,
    pool_connections: IntGaugeVec,
    pool_idle: IntGaugeVec,
    pool_max: IntGaugeVec,
    /// What is read at each scrape.
    watched: Mutex<Vec<Watched>>,
}

enum Watched {
    Outbox { name: String, db: Db, clock: Clock },
    Pool { name: String, db: Db },
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry with the metrics every service has (RPCs, outbox, pools).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let rpc_requests = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "rendezvous_rpc_requests_total",
                    "RPCs answered, by gRPC method and status code.",
                ),
                &["method", "code"],
            )?,
        )?;
        let rpc_seconds = register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "rendezvous_rpc_duration_seconds",
                    "Time to answer an RPC (to its response headers for a stream), by method and code.",
                ),
                &["method", "code"],
            )?,
        )?;
        let outbox_pending = register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "rendezvous_outbox_pending_rows",
                    "Outbox rows not yet delivered and not dead-lettered, by outbox.",
                ),
                &["outbox"],
            )?,
        )?;
        let outbox_failing = register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "rendezvous_outbox_failing_rows",
                    "Undelivered outbox rows whose last attempt failed (receiver down, or the row refused), by outbox.",
                ),
                &["outbox"],
            )?,
        )?;
        let outbox_dead = register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "rendezvous_outbox_dead_rows",
                    "Dead-lettered outbox rows (refused too often; `rendezvous outbox dead-letters` lists them), by outbox.",
                ),
                &["outbox"],
            )?,
        )?;
        let outbox_oldest_seconds = register(
            &registry,
            GaugeVec::new(
                Opts::new(
                    "rendezvous_outbox_oldest_pending_age_seconds",
                    "Age of the oldest undelivered outbox row (0 when none), by outbox.",
                ),
                &["outbox"],
            )?,
        )?;
        let pool = |name: &str, help: &str| {
            register(
                &registry,
                IntGaugeVec::new(Opts::new(name, help), &["database"])?,
            )
        };
        let pool_connections = pool(
            "rendezvous_db_pool_connections",
            "Open connections of the database pool, idle or in use.",
        )?;
        let pool_idle = pool(
            "rendezvous_db_pool_idle_connections",
            "Idle connections of the database pool.",
        )?;
        let pool_max = pool(
            "rendezvous_db_pool_max_connections",
            "Most connections the database pool opens.",
        )?;
        Ok(Self(Arc::new(Inner {
            registry,
            rpc_requests,
            rpc_seconds,
            outbox_pending,
            outbox_failing,
            outbox_dead,
            outbox_oldest_seconds,
            pool_connections,
            pool_idle,
            pool_max,
            watched: Mutex::new(Vec::new()),
        })))
    }

    /// Registers a service's own collector (a counter of what it does) and hands it back.
    pub fn register<C: Collector + Clone + 'static>(
        &self,
        collector: C,
    ) -> Result<C, prometheus::Error> {
        register(&self.0.registry, collector)
    }

    /// Counts one answered RPC of `method` (`/package.Service/Method`) with `code`.
    pub fn observe_rpc(&self, method: &str, code: tonic::Code, elapsed: Duration) {
        // A path no service routes answers UNIMPLEMENTED: one label for all of them, so that
        // callers cannot grow the series without bound.
        let method = if code == tonic::Code::Unimplemented {
            "unknown"
        } else {
            method
        };
        let code = code_name(code);
        self.0
            .rpc_requests
            .with_label_values(&[method, code.as_str()])
            .inc();
        self.0
            .rpc_seconds
            .with_label_values(&[method, code.as_str()])
            .observe(elapsed.as_secs_f64());
    }

    /// Reports the outbox table of `db` as `outbox` at each scrape; ages are measured on
    /// `clock`, the clock the rows were written with.
    pub fn watch_outbox(&self, outbox: &str, db: &Db, clock: &Clock) {
        self.watch(Watched::Outbox {
            name: outbox.to_owned(),
            db: db.clone(),
            clock: clock.clone(),
        });
    }

    /// Reports the pool of `db` as `database` at each scrape.
    pub fn watch_pool(&self, database: &str, db: &Db) {
        self.watch(Watched::Pool {
            name: database.to_owned(),
            db: db.clone(),
        });
    }

    fn watch(&self, watched: Watched) {
        self.0
            .watched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(watched);
    }

    /// Reads what is watched, then writes every metric in the text exposition format. A
    /// database that does not answer leaves its outbox figures as they were at the last
    /// scrape (and logs why); the rest is still written.
    pub async fn render(&self) -> Result<String, prometheus::Error> {
        let watched: Vec<(String, Db, Option<Clock>)> = self
            .0
            .watched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|watched| match watched {
                Watched::Outbox { name, db, clock } => {
                    (name.clone(), db.clone(), Some(clock.clone()))
                }
                Watched::Pool { name, db } => (name.clone(), db.clone(), None),
            })
            .collect();
        for (name, db, clock) in watched {
            match clock {
                Some(clock) => match outbox_lag(&db).await {
                    Ok(lag) => self.set_outbox(&name, &lag, clock.now()),
                    Err(error) => {
                        tracing::warn!(%error, outbox = %name, "cannot read the outbox lag");
                    }
                },
                None => self.set_pool(&name, &db),
            }
        }
        let mut text = Vec::new();
        TextEncoder::new().encode(&self.0.registry.gather(), &mut text)?;
        String::from_utf8(text).map_err(|error| prometheus::Error::Msg(error.to_string()))
    }

    fn set_outbox(&self, name: &str, lag: &OutboxLag, now: DateTime<Utc>) {
        let inner = &self.0;
        inner
            .outbox_pending
            .with_label_values(&[name])
            .set(lag.pending);
        inner
            .outbox_failing
            .with_label_values(&[name])
            .set(lag.failing);
        inner.outbox_dead.with_label_values(&[name]).set(lag.dead);
        let age = lag.oldest.map_or(0.0, |oldest| {
            (now - oldest).to_std().unwrap_or_default().as_secs_f64()
        });
        inner
            .outbox_oldest_seconds
            .with_label_values(&[name])
            .set(age);
    }

    fn set_pool(&self, name: &str, db: &Db) {
        let (size, idle, max) = with_db!(db, |pool| (
            pool.size(),
            pool.num_idle(),
            pool.options().get_max_connections()
        ));
        let inner = &self.0;
        inner
            .pool_connections
            .with_label_values(&[name])
            .set(i64::from(size));
        inner
            .pool_idle
            .with_label_values(&[name])
            .set(i64::try_from(idle).unwrap_or(i64::MAX));
        inner
            .pool_max
            .with_label_values(&[name])
            .set(i64::from(max));
    }
}

fn register<C: Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> Result<C, prometheus::Error> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

/// A gRPC code as the protocol spells it (`INVALID_ARGUMENT`).
fn code_name(code: tonic::Code) -> String {
    let camel = format!("{code:?}");
    let mut name = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// What the outbox holds back.
struct OutboxLag {
    pending: i64,
    failing: i64,
    dead: i64,
    oldest: Option<DateTime<Utc>>,
}

async fn outbox_lag(db: &Db) -> Result<OutboxLag, sqlx::Error> {
    // Dead rows stay undelivered until requeued or pruned: counted apart, so that neither the
    // pending count nor the oldest age is stuck on them.
    const SQL: &str = "SELECT COUNT(CASE WHEN dead_at IS NULL THEN 1 END), \
                              COUNT(CASE WHEN dead_at IS NULL THEN last_error END), \
                              COUNT(dead_at) \
                       FROM outbox WHERE delivered_at IS NULL";
    const OLDEST: &str = "SELECT created_at FROM outbox \
                          WHERE delivered_at IS NULL AND dead_at IS NULL \
                          ORDER BY created_at LIMIT 1";
    with_db!(db, |pool| {
        let (pending, failing, dead): (i64, i64, i64) = sqlx::query_as(SQL).fetch_one(pool).await?;
        let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(OLDEST).fetch_optional(pool).await?;
        Ok(OutboxLag {
            pending,
            failing,
            dead,
            oldest,
        })
    })
}

/// Serves `metrics` at [`PATH`] on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let app = Router::new().route(
        PATH,
        get(move || {
            let metrics = metrics.clone();
            async move {
                match metrics.render().await {
                    Ok(text) => (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, TextEncoder::new().format_type())],
                        text,
                    )
                        .into_response(),
                    Err(error) => {
                        tracing::error!(%error, "cannot encode the metrics");
                        StatusCode::INTERNAL_SERVER_ERROR.into_response()
                    }
                }
            }
        }),
    );
    tracing::info!(%addr, "metrics listening");
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    tokio::select! {
        served = server => served,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Ok(()),
    }
}

/// Serves `metrics` on `listener` in a task of `tasks`, when there is a listener.
pub fn spawn_serve(
    tasks: &mut tokio::task::JoinSet<()>,
    listener: Option<TcpListener>,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) {
    if let Some(listener) = listener {
        let (metrics, shutdown) = (metrics.clone(), shutdown.clone());
        tasks.spawn(async move {
            if let Err(error) = serve(listener, metrics, shutdown).await {
                tracing::error!(%error, "metrics server failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_named_as_the_protocol_names_them() {
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(code_name(tonic::Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(
            code_name(tonic::Code::DeadlineExceeded),
            "DEADLINE_EXCEEDED"
        );
    }

    #[test]
    fn unrouted_methods_share_one_label() {
        let Ok(metrics) = Metrics::new() else {
            panic!("registry");
        };
        for path in ["/a.B/C", "/x.Y/Z"] {
            metrics.observe_rpc(path, tonic::Code::Unimplemented, Duration::ZERO);
        }
        let families = metrics.0.registry.gather();
        let requests: Vec<_> = families
            .iter()
            .filter(|family| family.name() == "rendezvous_rpc_requests_total")
            .flat_map(|family| family.get_metric())
            .collect();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].get_counter().get_value(), 2.0);
    }
}
