//! Test support: starts Rendezvous services in-process on pre-bound `127.0.0.1:0` listeners,
//! each over its own fresh database (a SQLite file in a temporary directory, or a PostgreSQL
//! database created for the test and dropped after), and hands back typed clients.
//!
//! The generic parts (databases per test, `backend_tests!`, bearer clients, `call!`, `code`,
//! `eventually`, `pages!`, an HTTP client, outbox readers, built binaries as processes, a hung
//! peer, event facts, LinkedIn exports, the SMTP server) depend on no service. Each service's handle comes with a
//! feature of its own (`members`, `events`, `notifications`), so a service's tests compile
//! only the services they start.
//!
//! PostgreSQL runs are enabled by `RENDEZVOUS_TEST_POSTGRES_URL` (a URL with the user in it,
//! e.g. `postgres://postgres@127.0.0.1:5432/postgres`). When `RENDEZVOUS_REQUIRE_POSTGRES=1`
//! is set too (CI sets both), a PostgreSQL test that cannot run fails instead of skipping.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::Connection as _;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::Channel;

pub mod contacts;
pub mod facts;
pub mod http;
mod hung;
pub mod metrics;
pub mod outbox;
pub mod pages;
pub mod process;
pub mod rpc;
#[cfg(feature = "members")]
mod running;
mod service_keys;
mod smtp;

#[cfg(feature = "events")]
pub mod event_store;
#[cfg(feature = "events")]
mod events;
#[cfg(feature = "members")]
mod members;
#[cfg(feature = "notifications")]
mod notifications;

pub use contacts::{
    CONNECTIONS_HEADER, connections_preamble, generated_export, generated_profile_url,
};
#[cfg(feature = "events")]
pub use events::*;
pub use facts::{event_facts, record_meetings_request};
pub use http::{HttpReply, http_get, http_request};
pub use hung::HungPeer;
#[cfg(feature = "members")]
pub use members::*;
#[cfg(feature = "notifications")]
pub use notifications::*;
pub use outbox::{
    outbox_coffee_cancellations, outbox_coffee_requests, outbox_count, outbox_keys_and_notices,
    outbox_notices, outbox_notices_keyed, outbox_revoked_sessions, outbox_rows, outbox_total,
};
pub use pages::all_pages;
pub use rpc::{code, error_code, eventually, invalid_argument_naming, rate_limited_for};
pub use service_keys::{
    service_bearer, service_credentials, service_credentials_at, service_key_environment,
    service_keys, test_service_keys, write_test_service_keys,
};
pub use smtp::SmtpServer;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server URL for tests, or `None` to skip PostgreSQL runs. Panics when
/// PostgreSQL is required (CI) but not configured.
pub fn postgres_url() -> Option<String> {
    match std::env::var("RENDEZVOUS_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("RENDEZVOUS_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "RENDEZVOUS_REQUIRE_POSTGRES=1 but RENDEZVOUS_TEST_POSTGRES_URL is not set"
            );
            None
        }
    }
}

/// How many cases a property-based fuzz harness runs: `PROPTEST_CASES` when set (to fuzz
/// longer by hand), else `default` (what CI runs).
pub fn fuzz_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Runs a test body once per enabled backend: `backend_tests!(my_test, other_test);` makes
/// `sqlite::my_test` and `postgres::my_test` from `async fn my_test(backend: Backend)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::postgres_url().is_none() {
                        eprintln!("skipped: RENDEZVOUS_TEST_POSTGRES_URL is not set");
                        return;
                    }
                    super::$name($crate::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// A fresh database for one test; removed when dropped.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    /// `(server URL, database name)` of a PostgreSQL database to drop.
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Ok(Self {
                    url,
                    backend,
                    _dir: Some(dir),
                    postgres: None,
                })
            }
            Backend::Postgres => {
                let server = postgres_url().context("RENDEZVOUS_TEST_POSTGRES_URL is not set")?;
                Self::postgres_on(&server, "rdv_test").await
            }
        }
    }

    /// A fresh database named `<prefix>_<uuid>` on the PostgreSQL server at `server` (a URL
    /// with the user in it); dropped when dropped.
    pub async fn postgres_on(server: &str, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect(server)
            .await
            .with_context(|| format!("connecting to {server}"))?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
        Ok(Self {
            url: format!("{base}/{name}"),
            backend: Backend::Postgres,
            _dir: None,
            postgres: Some((server.to_owned(), name)),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime; the clean-up gets a runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&server).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// Adds `authorization` metadata to every call (nothing for an anonymous client).
#[derive(Clone, Debug, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    pub fn token(token: &str) -> Self {
        Self(format!("Bearer {token}").parse().ok())
    }

    pub fn raw(value: &str) -> Self {
        Self(value.parse().ok())
    }
}

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Polls the gRPC health of `service` until it is SERVING (a service is only once it has
/// migrated its database).
pub async fn wait_serving(channel: Channel, service: &str) -> anyhow::Result<()> {
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for _ in 0..200 {
        let request = tonic_health::pb::HealthCheckRequest {
            service: service.to_owned(),
        };
        let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
        if let Ok(response) = health.check(request).await
            && response.into_inner().status == serving
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("{service} did not become SERVING")
}

/// A `google.protobuf.Timestamp` for a chrono time.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> rendezvous_proto::prost_types::Timestamp {
    rendezvous_common::time::to_timestamp(at)
}
