//! The Rendezvous events service: city chapters, events, invitations, RSVPs with wait-lists
//! and approvals, check-in, recurring series and calendars.
//!
//! Built so far: `ChapterService` (served), the pure rules (RSVP and wait-list decisions,
//! recurrence expansion), the iCalendar writer, and the storage whose RSVP path enforces
//! capacity in the database with per-event batched admission. `EventService` is the next step;
//! until every method is real it is not served.
//!
//! [`run`] is the one entry point: the binary and the tests call it with a pre-bound listener.

pub mod admission;
pub mod calendar;
pub mod chapters;
pub mod config;
pub mod domain;
pub mod error;
pub mod service;
pub mod store;

use rendezvous_common::auth::{PublicKey, ServiceSecret, TokenVerifier};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::pagination::PageTokens;
use rendezvous_common::server::{self, RpcLayer, ServerSettings};
use rendezvous_proto::events::v1::chapter_service_server::{self, ChapterServiceServer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

pub use service::Chapters;

/// Everything the service needs, already loaded.
pub struct Options {
    pub db: Db,
    pub clock: Clock,
    /// Keys that verify members' access tokens.
    pub token_keys: Vec<PublicKey>,
    pub service_secret: ServiceSecret,
    /// Key for page tokens.
    pub page_token_key: [u8; 32],
    pub server: ServerSettings,
}

/// Migrates the database, then serves `ChapterService` until `shutdown` is cancelled.
pub async fn run(
    options: Options,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    options.db.migrate(&store::MIGRATIONS).await?;
    let verifier = TokenVerifier::new(
        &options.token_keys,
        &options.service_secret,
        options.clock.clone(),
    )?;
    let chapters = Chapters::new(
        store::Store::new(options.db.clone()),
        options.clock.clone(),
        PageTokens::new(&options.page_token_key),
    );
    let limit = options.server.max_message_bytes;
    let mut routes = RoutesBuilder::default();
    routes.add_service(
        ChapterServiceServer::new(chapters)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    let served = server::serve(
        listener,
        routes,
        &[chapter_service_server::SERVICE_NAME],
        RpcLayer::new(verifier, &options.server),
        shutdown.clone(),
    )
    .await;
    shutdown.cancel();
    served
}
