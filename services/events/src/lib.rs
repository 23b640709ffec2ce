//! The Rendezvous events service: city chapters, events, invitations, RSVPs with wait-lists
//! and approvals, check-in, recurring series and calendars.
//!
//! It serves `ChapterService` and `EventService` over gRPC and the private calendar feeds over
//! plain HTTP, and runs the clock-driven tasks: expiring unclaimed wait-list offers, reminding
//! confirmed attendees before the start, completing events after their end, and relaying the
//! outbox to notifications.
//!
//! [`run`] is the one entry point: the binary and the tests call it with a pre-bound listener.

pub mod admission;
mod calendar;
pub mod config;
mod convert;
pub mod domain;
mod error;
mod feed;
mod grpc;
mod jobs;
mod members_client;
mod notices;
pub mod store;

use std::time::Duration as StdDuration;

use chrono::Duration;
use rendezvous_common::auth::{PublicKey, ServiceKeys, ServiceName, TokenVerifier};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::metrics::{self, Metrics};
use rendezvous_common::pagination::PageTokens;
use rendezvous_common::relay::{self, NotificationsSink, RelaySettings};
use rendezvous_common::revocations::{self, RevokedMembers, SessionRevocations};
use rendezvous_common::server::{self, RpcLayer, ServerSettings};
use rendezvous_common::telemetry;
use rendezvous_proto::events::v1::chapter_service_server::{self, ChapterServiceServer};
use rendezvous_proto::events::v1::event_internal_service_server::{
    self, EventInternalServiceServer,
};
use rendezvous_proto::events::v1::event_service_server::{self, EventServiceServer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

pub use crate::domain::limits::AbuseLimits;
use crate::domain::reminder::ReminderOffsets;
use crate::jobs::Jobs;
use crate::members_client::MembersClient;

pub use grpc::{Chapters, Events};

/// Tunables of the events service.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Check-in opens this long before the start.
    pub check_in_before: Duration,
    /// Check-in closes this long after the end.
    pub check_in_after: Duration,
    /// Events are completed automatically this long after their end.
    pub complete_grace: Duration,
    /// Invitations one host may send per rolling 7 days.
    pub weekly_invitation_cap: u32,
    /// The per-chapter and per-event caps on notices, announcements and invitations.
    pub limits: AbuseLimits,
    /// How far ahead series are materialised.
    pub series_horizon: Duration,
    /// How often the clock-driven tasks (offer expiry, auto-completion, reminders) run.
    pub tick: StdDuration,
    /// How the outbox relay retries, dead-letters and prunes.
    pub relay: RelaySettings,
    /// Base of calendar feed URLs, e.g. `https://rendezvous.example/feeds`.
    pub public_feed_url: String,
    /// How long before the start confirmed attendees are reminded.
    pub reminder_offsets: ReminderOffsets,
    /// Checked-in members sent per RecordMeetings call: members takes at most 1,000 (its
    /// documented maximum), and events send larger events in chunks of this many.
    pub meetings_chunk: usize,
    /// Deadline of one RecordMeetings chunk (members writes up to half a million pairs).
    pub record_meetings_deadline: StdDuration,
    /// Completed events read per round of recording meetings.
    pub meetings_batch: usize,
    /// First wait before an event whose meetings members refused is tried again; doubled at
    /// each refusal, up to `meetings_retry_max`.
    pub meetings_retry: Duration,
    pub meetings_retry_max: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            check_in_before: Duration::hours(1),
            check_in_after: Duration::hours(2),
            complete_grace: Duration::hours(6),
            weekly_invitation_cap: 500,
            limits: AbuseLimits::default(),
            series_horizon: Duration::days(90),
            tick: StdDuration::from_secs(5),
            relay: RelaySettings::default(),
            public_feed_url: "http://127.0.0.1:50062".to_owned(),
            reminder_offsets: ReminderOffsets::default(),
            meetings_chunk: 1000,
            record_meetings_deadline: members_client::RECORD_MEETINGS_DEADLINE,
            meetings_batch: 200,
            meetings_retry: Duration::minutes(1),
            meetings_retry_max: Duration::hours(6),
        }
    }
}

/// Everything the service needs, already loaded.
pub struct Options {
    pub db: Db,
    pub clock: Clock,
    /// Keys that verify members' access tokens.
    pub token_keys: Vec<PublicKey>,
    /// Its service key (signs its calls to members and notifications) and the public keys of
    /// the services that call it.
    pub service_keys: ServiceKeys,
    /// Key for page tokens.
    pub page_token_key: [u8; 32],
    pub server: ServerSettings,
    pub settings: Settings,
    /// The members service's internal API (meetings, connections); calls use service
    /// credentials.
    pub members: Option<tonic::transport::Channel>,
    /// The notifications service: when set, a relay delivers the outbox to it.
    pub notifications: Option<tonic::transport::Channel>,
    /// Where the calendar feeds are served over HTTP; none serves no feeds.
    pub feed_listener: Option<TcpListener>,
    /// Where the Prometheus metrics are served over HTTP; none serves none.
    pub metrics_listener: Option<TcpListener>,
}

/// Migrates the database, then serves `ChapterService`, `EventService` and the calendar feeds
/// until `shutdown` is cancelled.
pub async fn run(
    options: Options,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    options.db.migrate(&store::MIGRATIONS).await?;
    let metrics = Metrics::new()?;
    metrics.watch_outbox("events", &options.db, &options.clock);
    metrics.watch_pool("events", &options.db);
    let verifier = TokenVerifier::new(
        &options.token_keys,
        &options.service_keys,
        options.clock.clone(),
    )?
    .with_revocations(RevokedMembers::new());
    let chapters = Chapters::new(
        store::Store::new(options.db.clone()),
        options.clock.clone(),
        PageTokens::new(&options.page_token_key),
    );
    let to_members = options
        .service_keys
        .credentials(ServiceName::Members, options.clock.clone())?;
    let to_notifications = options
        .service_keys
        .credentials(ServiceName::Notifications, options.clock.clone())?;
    let jobs = Jobs {
        store: store::Store::new(options.db.clone())
            .with_reminder_offsets(options.settings.reminder_offsets.clone())
            .with_limits(options.settings.limits.clone()),
        clock: options.clock.clone(),
        members: options.members.clone().map(|channel| {
            MembersClient::new(channel, to_members.clone())
                .with_record_meetings_deadline(options.settings.record_meetings_deadline)
        }),
        settings: options.settings.clone(),
    };
    let sessions =
        SessionRevocations::new(verifier.session_revocations().clone(), options.db.clone());
    let events = Events::new(
        jobs.clone(),
        PageTokens::new(&options.page_token_key),
        verifier.revocations().clone(),
        sessions.clone(),
        Some(admission::batch_sizes(&metrics)?),
    );
    let mut tasks = tokio::task::JoinSet::new();
    // Erasures handled by another replica reach this one's list within seconds.
    tasks.spawn(revocations::keep_fresh(
        verifier.revocations().clone(),
        revocations::ErasedMembersTable(options.db.clone()),
        options.clock.clone(),
        revocations::REFRESH_EVERY,
        shutdown.clone(),
    ));
    // So do sessions ended at members, whichever replica recorded them.
    tasks.spawn(sessions.keep_fresh(options.clock.clone(), shutdown.clone()));
    if let Some(channel) = options.notifications.clone() {
        tasks.spawn(relay::run(
            telemetry::EVENTS,
            options.db.clone(),
            NotificationsSink::new(channel, to_notifications),
            options.settings.relay.clone(),
            options.clock.clone(),
            shutdown.clone(),
        ));
    }
    tasks.spawn(jobs.run(options.settings.tick, shutdown.clone()));
    if let Some(feed_listener) = options.feed_listener {
        let events = events.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            if let Err(error) = feed::serve(feed_listener, events, shutdown).await {
                tracing::error!(%error, "calendar feed server failed");
            }
        });
    }
    metrics::spawn_serve(&mut tasks, options.metrics_listener, &metrics, &shutdown);
    let limit = options.server.max_message_bytes;
    let mut routes = RoutesBuilder::default();
    routes
        .add_service(
            ChapterServiceServer::new(chapters)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            EventServiceServer::new(events.clone())
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            EventInternalServiceServer::new(events)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        );
    let served = server::serve(
        listener,
        routes,
        &[
            chapter_service_server::SERVICE_NAME,
            event_service_server::SERVICE_NAME,
            event_internal_service_server::SERVICE_NAME,
        ],
        RpcLayer::new(verifier, &options.server)
            .with_service(telemetry::EVENTS)
            .with_metrics(metrics)
            .with_database(options.db.clone()),
        shutdown.clone(),
    )
    .await;
    shutdown.cancel();
    while tasks.join_next().await.is_some() {}
    served
}
