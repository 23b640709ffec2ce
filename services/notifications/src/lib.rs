//! The Rendezvous notifications service: the in-app inbox and its live stream, email over
//! SMTP, preferences with quiet hours, and reliable, deduplicated delivery with a visible log;
//! over plain HTTP on a second listener, the one-click unsubscribe links of emails ([`http`]).
//!
//! [`run`] is the one entry point: the binary and the tests call it with pre-bound listeners.

pub mod config;
pub mod contacts;
mod convert;
pub mod domain;
pub mod email;
pub mod error;
mod grpc;
pub mod http;
pub mod hub;
pub mod render;
pub mod store;
pub mod unsubscribe;
pub mod worker;

/// The email reader of the API tests, for the unit tests of [`email`].
#[cfg(test)]
#[allow(
    dead_code,
    reason = "shared with the API tests, which read more of an email"
)]
#[path = "../tests/api/mail.rs"]
mod mail_reader;

use rendezvous_common::auth::{PublicKey, ServiceKeys, ServiceName, TokenVerifier};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::metrics::{self, Metrics};
use rendezvous_common::pagination::PageTokens;
use rendezvous_common::revocations::{self, RevokedMembers, SessionRevocations};
use rendezvous_common::server::{self, RpcLayer, ServerSettings};
use rendezvous_common::telemetry;
use rendezvous_proto::notifications::v1::notification_internal_service_server::{
    self, NotificationInternalServiceServer,
};
use rendezvous_proto::notifications::v1::notification_service_server::{
    self, NotificationServiceServer,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;
use tonic::transport::Channel;

pub use grpc::{MAX_DELIVER_BATCH, Notifications};
pub use worker::WorkerSettings;

/// Everything the service needs, already loaded.
pub struct Options {
    pub db: Db,
    pub clock: Clock,
    /// Keys that verify members' access tokens.
    pub token_keys: Vec<PublicKey>,
    /// Its service key (signs its calls to members) and the public keys of the services that
    /// call it.
    pub service_keys: ServiceKeys,
    pub page_token_key: [u8; 32],
    /// A channel to the members service (contacts).
    pub members: Channel,
    pub mailer: email::Mailer,
    pub worker: WorkerSettings,
    pub server: ServerSettings,
    /// How long recipients' contact details are cached.
    pub contacts_ttl: std::time::Duration,
    /// Signs the unsubscribe links of emails and checks them when they are followed.
    pub unsubscribe: unsubscribe::UnsubscribeTokens,
    /// Where the HTTP endpoints (one-click unsubscribe) are served; none serves none.
    pub http_listener: Option<TcpListener>,
    /// Where the Prometheus metrics are served over HTTP; none serves none.
    pub metrics_listener: Option<TcpListener>,
}

/// Migrates the database, starts the delivery worker (and on PostgreSQL the stream listener),
/// then serves until `shutdown` is cancelled.
pub async fn run(
    options: Options,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    options.db.migrate(&store::MIGRATIONS).await?;
    let metrics = Metrics::new()?;
    metrics.watch_pool("notifications", &options.db);
    let verifier = TokenVerifier::new(
        &options.token_keys,
        &options.service_keys,
        options.clock.clone(),
    )?
    .with_revocations(RevokedMembers::new());
    let store = store::Store::new(options.db.clone());
    // Erasures handled by another replica reach this one's list within seconds.
    let revocations = tokio::spawn(revocations::keep_fresh(
        verifier.revocations().clone(),
        revocations::ErasedMembersTable(options.db.clone()),
        options.clock.clone(),
        revocations::REFRESH_EVERY,
        shutdown.clone(),
    ));
    // So do sessions ended at members, whichever replica recorded them.
    let sessions =
        SessionRevocations::new(verifier.session_revocations().clone(), options.db.clone());
    let session_revocations =
        tokio::spawn(sessions.keep_fresh(options.clock.clone(), shutdown.clone()));
    let hub = hub::Hub::new();
    let credentials = options
        .service_keys
        .credentials(ServiceName::Members, options.clock.clone())?;
    let contacts = contacts::Contacts::new(options.members, credentials, options.contacts_ttl);
    let publish_locally = match &options.db {
        Db::Postgres(pool) => {
            let (listening, ready) = tokio::sync::oneshot::channel();
            tokio::spawn(hub::listen_postgres(
                pool.clone(),
                hub.clone(),
                options.clock.clone(),
                listening,
                shutdown.clone(),
            ));
            // A stream opened before the LISTEN would silently miss notifications: serve
            // once it is in place (or the listener gave up on shutdown).
            let _ = ready.await;
            false
        }
        Db::Sqlite(_) => true,
    };
    let publisher = hub::Publisher::new(hub, publish_locally);
    let notifications = Notifications::new(
        store.clone(),
        options.clock.clone(),
        contacts.clone(),
        publisher.clone(),
        PageTokens::new(&options.page_token_key),
        shutdown.clone(),
        grpc::Revocations {
            members: verifier.revocations().clone(),
            sessions,
        },
    );
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(http_listener) = options.http_listener {
        let state = http::UnsubscribeState {
            store: store.clone(),
            clock: options.clock.clone(),
            tokens: options.unsubscribe.clone(),
        };
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            if let Err(error) = http::serve(http_listener, state, shutdown).await {
                tracing::error!(%error, "unsubscribe HTTP server failed");
            }
        });
    }
    let worker = worker::Worker {
        store,
        clock: options.clock.clone(),
        contacts,
        mailer: options.mailer,
        publisher,
        unsubscribe: options.unsubscribe,
        settings: options.worker,
        deliveries: worker::Deliveries::register(&metrics)?,
    };
    tasks.spawn(worker.run(shutdown.clone()));
    metrics::spawn_serve(&mut tasks, options.metrics_listener, &metrics, &shutdown);

    let limit = options.server.max_message_bytes;
    let mut routes = RoutesBuilder::default();
    routes
        .add_service(
            NotificationServiceServer::new(notifications.clone())
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            NotificationInternalServiceServer::new(notifications)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        );
    let served = server::serve(
        listener,
        routes,
        &[
            notification_service_server::SERVICE_NAME,
            notification_internal_service_server::SERVICE_NAME,
        ],
        RpcLayer::new(verifier, &options.server)
            .with_service(telemetry::NOTIFICATIONS)
            .with_metrics(metrics)
            .with_database(options.db.clone()),
        shutdown.clone(),
    )
    .await;
    shutdown.cancel();
    while tasks.join_next().await.is_some() {}
    let _ = revocations.await;
    let _ = session_revocations.await;
    served
}
