//! The Rendezvous members service: accounts, sign-in, profiles, connections, "met in person",
//! network stats and contact import.
//!
//! [`run`] is the one entry point: the binary and the tests call it with a pre-bound listener.

pub mod coffee_rounds;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod notices;
pub mod outreach;
pub mod peers;
pub mod remeet;
pub mod sign_ins;
pub mod store;

use rendezvous_common::auth::{
    ServiceKeys, ServiceName, SigningKeyPair, TokenIssuer, TokenVerifier,
};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::metrics::{self, Metrics};
use rendezvous_common::relay::{
    self, BlocksSink, Both, CoffeeSink, ErasureSink, MetEdgesSink, NotificationsSink,
    RevocationSink,
};
use rendezvous_common::revocations::{self, RevokedMembers};
use rendezvous_common::server::{self, RpcLayer, ServerSettings};
use rendezvous_common::telemetry;
use rendezvous_proto::members::v1::member_internal_service_server::{
    self, MemberInternalServiceServer,
};
use rendezvous_proto::members::v1::member_service_server::{self, MemberServiceServer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

pub use config::Settings;
pub use grpc::Members;
pub use outreach::OutreachPolicy;
pub use sign_ins::SignInPolicy;
pub use store::Budget;

/// Everything the service needs, already loaded.
#[derive(Debug)]
pub struct Options {
    pub db: Db,
    pub clock: Clock,
    /// The private key that signs access tokens.
    pub signing_key: SigningKeyPair,
    /// Its service key (signs its calls to events and notifications) and the public keys of
    /// the services that call it.
    pub service_keys: ServiceKeys,
    /// Key for page tokens.
    pub page_token_key: [u8; 32],
    pub settings: Settings,
    pub server: ServerSettings,
    /// The notifications service: when set, a relay delivers notices (and erasures) to it.
    pub notifications: Option<tonic::transport::Channel>,
    /// The events service: when set, the relay tells it of deleted members, ended sessions,
    /// blocks, booked coffees and met edges.
    pub events: Option<tonic::transport::Channel>,
    /// Where the Prometheus metrics are served over HTTP; none serves none.
    pub metrics_listener: Option<TcpListener>,
}

/// Migrates the database, then serves until `shutdown` is cancelled.
pub async fn run(
    options: Options,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    options.db.migrate(&store::MIGRATIONS).await?;
    let metrics = service_metrics(&options.db, &options.clock)?;
    let issuer = TokenIssuer::new(
        options.signing_key.clone(),
        options.settings.access_token_lifetime,
        options.clock.clone(),
    )?;
    let verifier = TokenVerifier::new(
        &[options.signing_key.verifying_key()],
        &options.service_keys,
        options.clock.clone(),
    )?
    .with_revocations(RevokedMembers::new());
    let to_events = options
        .service_keys
        .credentials(ServiceName::Events, options.clock.clone())?;
    let to_notifications = options
        .service_keys
        .credentials(ServiceName::Notifications, options.clock.clone())?;
    let peers = peers::Peers::new(
        options.events.clone(),
        options.notifications.clone(),
        &to_events,
        &to_notifications,
    );
    let members = Members::new(
        store::Store::new(options.db.clone()),
        options.clock.clone(),
        issuer,
        &options.page_token_key,
        options.settings.clone(),
        &verifier,
        peers.clone(),
    );
    // Replicas that did not handle a deletion learn of it from the database within seconds.
    let revocations = tokio::spawn(revocations::keep_fresh(
        verifier.revocations().clone(),
        store::Store::new(options.db.clone()),
        options.clock.clone(),
        revocations::REFRESH_EVERY,
        shutdown.clone(),
    ));
    // Sessions ended through another replica are refused here within seconds too.
    let session_revocations = tokio::spawn(revocations::keep_fresh(
        verifier.session_revocations().clone(),
        store::Store::new(options.db.clone()),
        options.clock.clone(),
        revocations::REFRESH_EVERY,
        shutdown.clone(),
    ));
    // One relay for every receiver; rows for a peer that is not configured wait for a relay
    // that has it.
    let relay = (options.notifications.is_some() || options.events.is_some()).then(|| {
        let notices = options
            .notifications
            .clone()
            .map(|channel| NotificationsSink::new(channel, to_notifications.clone()));
        let erased_in_events = options
            .events
            .clone()
            .map(|channel| ErasureSink::events(channel, to_events.clone()));
        let erased_in_notifications = options
            .notifications
            .clone()
            .map(|channel| ErasureSink::notifications(channel, to_notifications.clone()));
        let revoked_in_events = options
            .events
            .clone()
            .map(|channel| RevocationSink::events(channel, to_events.clone()));
        let revoked_in_notifications = options
            .notifications
            .clone()
            .map(|channel| RevocationSink::notifications(channel, to_notifications.clone()));
        let blocks_in_events = options
            .events
            .clone()
            .map(|channel| BlocksSink::events(channel, to_events.clone()));
        let coffee_in_events = options
            .events
            .clone()
            .map(|channel| CoffeeSink::events(channel, to_events.clone()));
        let met_edges_in_events = options
            .events
            .clone()
            .map(|channel| MetEdgesSink::events(channel, to_events.clone()));
        tokio::spawn(relay::run(
            telemetry::MEMBERS,
            options.db.clone(),
            Both(
                Both(notices, Both(erased_in_events, erased_in_notifications)),
                Both(
                    Both(revoked_in_events, revoked_in_notifications),
                    Both(
                        blocks_in_events,
                        Both(coffee_in_events, met_edges_in_events),
                    ),
                ),
            ),
            options.settings.relay.clone(),
            options.clock.clone(),
            shutdown.clone(),
        ))
    });
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(every) = options.settings.coffee_round_every {
        let cadence = coffee_rounds::Cadence {
            every,
            after_opt_in: options.settings.coffee_round_after_opt_in,
        };
        tasks.spawn(coffee_rounds::run(
            store::Store::new(options.db.clone()),
            options.clock.clone(),
            cadence,
            members.coffee_opt_ins(),
            options.settings.coffee_round,
            remeet::Nudger::new(
                store::Store::new(options.db.clone()),
                peers,
                options.settings.coffee_round,
            ),
            shutdown.clone(),
        ));
    }
    metrics::spawn_serve(&mut tasks, options.metrics_listener, &metrics, &shutdown);
    let limit = options.server.max_message_bytes;
    let mut routes = RoutesBuilder::default();
    routes
        .add_service(
            MemberServiceServer::new(members.clone())
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            MemberInternalServiceServer::new(members)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        );
    let served = server::serve(
        listener,
        routes,
        &[
            member_service_server::SERVICE_NAME,
            member_internal_service_server::SERVICE_NAME,
        ],
        RpcLayer::new(verifier, &options.server)
            .with_service(telemetry::MEMBERS)
            .with_metrics(metrics)
            .with_database(options.db.clone()),
        shutdown.clone(),
    )
    .await;
    shutdown.cancel();
    let _ = revocations.await;
    let _ = session_revocations.await;
    while tasks.join_next().await.is_some() {}
    if let Some(relay) = relay {
        let _ = relay.await;
    }
    served
}

/// The service's metrics: its RPCs, its outbox and its database pool.
fn service_metrics(db: &Db, clock: &Clock) -> anyhow::Result<Metrics> {
    let metrics = Metrics::new()?;
    metrics.watch_outbox("members", db, clock);
    metrics.watch_pool("members", db);
    Ok(metrics)
}
