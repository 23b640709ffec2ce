//! The events service in-process next to members.

use std::net::SocketAddr;

use rendezvous_common::db::Db;
use rendezvous_common::server::ServerSettings;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::{Bearer, MembersHandle, TestDb, wait_serving};

use rendezvous_proto::events::v1::chapter_service_client::ChapterServiceClient;
use rendezvous_proto::events::v1::event_service_client::EventServiceClient;

pub type ChapterClient = ChapterServiceClient<InterceptedService<Channel, Bearer>>;
pub type EventClient = EventServiceClient<InterceptedService<Channel, Bearer>>;

/// The events service running in-process next to a [`MembersHandle`]: it verifies that
/// members service's access tokens and shares its service secret and clock.
pub struct EventsHandle {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub db: Db,
    /// Where the calendar feeds are served over HTTP.
    pub feed_addr: SocketAddr,
    /// The service's handlers, for tests that drive the clock-driven work directly
    /// (`sweep_once`, `complete_due`).
    pub events: rendezvous_events::Events,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _test_db: TestDb,
}

impl EventsHandle {
    /// Starts the events service over a fresh database of the same backend as `members`.
    pub async fn start(members: &MembersHandle) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(members, listener).await
    }

    pub async fn start_on(
        members: &MembersHandle,
        listener: tokio::net::TcpListener,
    ) -> anyhow::Result<Self> {
        Self::start_with(
            members,
            listener,
            rendezvous_events::Settings::default(),
            None,
        )
        .await
    }

    /// Starts with `settings`, relaying the outbox to `notifications` when given. The service
    /// uses `members`' clock (a manual one in tests that move time) and calls its internal API.
    pub async fn start_with(
        members: &MembersHandle,
        listener: tokio::net::TcpListener,
        settings: rendezvous_events::Settings,
        notifications: Option<Channel>,
    ) -> anyhow::Result<Self> {
        let test_db = TestDb::new(members._test_db.backend).await?;
        let db = Db::connect(&test_db.url).await?;
        let addr = listener.local_addr()?;
        let feed_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let feed_addr = feed_listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let options = rendezvous_events::Options {
            db: db.clone(),
            clock: members.clock.clone(),
            token_keys: vec![members.signing_key.verifying_key()],
            service_secret: members.service_secret.clone(),
            page_token_key: [9; 32],
            server: ServerSettings::default(),
            settings: rendezvous_events::Settings {
                public_feed_url: format!("http://{feed_addr}"),
                ..settings.clone()
            },
            members: Some(members.channel.clone()),
            notifications,
            feed_listener: Some(feed_listener),
        };
        let task = tokio::spawn(rendezvous_events::run(options, listener, shutdown.clone()));
        let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy();
        wait_serving(channel.clone(), "rendezvous.events.v1.ChapterService").await?;
        let events = rendezvous_events::Events::for_tests(
            db.clone(),
            members.clock.clone(),
            [9; 32],
            Some((members.channel.clone(), members.service_secret.clone())),
            settings,
        );
        Ok(Self {
            addr,
            channel,
            db,
            feed_addr,
            events,
            shutdown,
            task: Some(task),
            _test_db: test_db,
        })
    }

    /// A `ChapterService` client that sends `token` as its bearer token.
    pub fn client_with_token(&self, token: &str) -> ChapterClient {
        ChapterServiceClient::with_interceptor(self.channel.clone(), Bearer::token(token))
    }

    /// A `ChapterService` client with no credentials.
    pub fn anonymous(&self) -> ChapterClient {
        ChapterServiceClient::with_interceptor(self.channel.clone(), Bearer::default())
    }

    /// An `EventService` client that sends `token` as its bearer token.
    pub fn events_with_token(&self, token: &str) -> EventClient {
        EventServiceClient::with_interceptor(self.channel.clone(), Bearer::token(token))
    }

    /// An `EventService` client with no credentials.
    pub fn events_anonymous(&self) -> EventClient {
        EventServiceClient::with_interceptor(self.channel.clone(), Bearer::default())
    }

    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await??;
        }
        self.db.close().await;
        Ok(())
    }
}

impl Drop for EventsHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
