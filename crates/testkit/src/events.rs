//! The events service in-process next to members.

use std::net::SocketAddr;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rendezvous_common::auth::ServiceName;
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::relay::TOPIC_BLOCKS_IN_EVENTS;
use rendezvous_common::server::ServerSettings;
use rendezvous_common::with_db;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::running::Running;
use crate::{Backend, Bearer, MembersHandle, Start, TestDb, TestMember, wait_serving};

use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::chapter_service_client::ChapterServiceClient;
use rendezvous_proto::events::v1::event_internal_service_client::EventInternalServiceClient;
use rendezvous_proto::events::v1::event_service_client::EventServiceClient;

pub type ChapterClient = ChapterServiceClient<InterceptedService<Channel, Bearer>>;
pub type EventClient = EventServiceClient<InterceptedService<Channel, Bearer>>;
pub type EventInternalClient = EventInternalServiceClient<InterceptedService<Channel, Bearer>>;

/// The events service's production settings, except that its abuse limits (per-chapter
/// notices and announcements, invitations per event) are off: tests publish, announce and
/// invite far more than a week's worth. (The tests of those limits set them themselves.)
pub fn events_settings() -> rendezvous_events::Settings {
    rendezvous_events::Settings {
        limits: rendezvous_events::AbuseLimits::unlimited(),
        ..rendezvous_events::Settings::default()
    }
}

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
    /// Where its Prometheus metrics are served (`/metrics`).
    pub metrics_addr: SocketAddr,
    running: Running,
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
        Self::start_with(members, listener, events_settings(), None).await
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
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let metrics_addr = metrics_listener.local_addr()?;
        let options = rendezvous_events::Options {
            db: db.clone(),
            clock: members.clock.clone(),
            token_keys: vec![members.signing_key.verifying_key()],
            service_keys: crate::service_keys(ServiceName::Events),
            page_token_key: [9; 32],
            server: ServerSettings::default(),
            settings: rendezvous_events::Settings {
                public_feed_url: format!("http://{feed_addr}"),
                ..settings.clone()
            },
            members: Some(members.channel.clone()),
            notifications,
            feed_listener: Some(feed_listener),
            metrics_listener: Some(metrics_listener),
        };
        let running = Running::spawn(&db, |shutdown| {
            rendezvous_events::run(options, listener, shutdown)
        });
        let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy();
        wait_serving(channel.clone(), "rendezvous.events.v1.ChapterService").await?;
        let events = rendezvous_events::Events::for_tests(
            db.clone(),
            members.clock.clone(),
            [9; 32],
            Some((
                members.channel.clone(),
                crate::service_credentials_at(
                    ServiceName::Events,
                    ServiceName::Members,
                    members.clock.clone(),
                ),
            )),
            settings,
        );
        Ok(Self {
            addr,
            channel,
            db,
            feed_addr,
            events,
            metrics_addr,
            running,
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

    /// Starts a graceful shutdown without waiting for it (see [`Self::stop`]).
    pub fn begin_shutdown(&self) {
        self.running.begin_shutdown();
    }

    /// Stops the service gracefully, waits for it and closes its database pool.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}

/// A channel to `addr` that connects on first use (to a service not started yet).
fn lazy_channel(addr: SocketAddr) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy())
}

/// Members and events in-process over fresh databases of one backend, sharing a clock;
/// members relays its outbox to events (erasures, ended sessions, blocks) as in production.
pub struct EventsWorld {
    pub events: EventsHandle,
    pub members: MembersHandle,
    pub clock: Clock,
}

impl EventsWorld {
    /// On a manual clock at `now`; the clock-driven tasks stay idle unless a test calls them.
    pub async fn start(backend: Backend, now: DateTime<Utc>) -> anyhow::Result<Self> {
        Self::start_with(backend, now, events_settings()).await
    }

    /// On a manual clock at `now` with `settings` (the tick made an hour, so that the
    /// clock-driven tasks stay idle unless a test calls them).
    pub async fn start_with(
        backend: Backend,
        now: DateTime<Utc>,
        settings: rendezvous_events::Settings,
    ) -> anyhow::Result<Self> {
        Self::start_with_members(backend, now, settings, crate::members_settings()).await
    }

    /// As [`Self::start_with`], members running with `members`.
    pub async fn start_with_members(
        backend: Backend,
        now: DateTime<Utc>,
        settings: rendezvous_events::Settings,
        members: crate::MembersSettings,
    ) -> anyhow::Result<Self> {
        let clock = Clock::manual(now);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut start = Start::new(backend);
        start.clock = clock.clone();
        start.members = members;
        start.events = Some(lazy_channel(listener.local_addr()?)?);
        let members = MembersHandle::start_with(start).await?;
        let settings = rendezvous_events::Settings {
            tick: std::time::Duration::from_secs(3600),
            ..settings
        };
        let events = EventsHandle::start_with(&members, listener, settings, None).await?;
        Ok(Self {
            events,
            members,
            clock,
        })
    }

    /// On the system clock with default settings, as the binary runs.
    pub async fn start_default(backend: Backend) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut start = Start::new(backend);
        start.events = Some(lazy_channel(listener.local_addr()?)?);
        let members = MembersHandle::start_with(start).await?;
        let events = EventsHandle::start_on(&members, listener).await?;
        let clock = members.clock.clone();
        Ok(Self {
            events,
            members,
            clock,
        })
    }

    /// Waits until members' relay has delivered every block and unblock to events (members
    /// relays its outbox to events here, as in production).
    pub async fn blocks_relayed(&self) {
        let db = self.members.db.clone();
        crate::eventually("blocks relayed to events", || {
            let db = db.clone();
            async move {
                let pending: i64 = with_db!(&db, |pool| {
                    sqlx::query_scalar(
                        "SELECT COUNT(*) FROM outbox WHERE topic = $1 \
                         AND delivered_at IS NULL AND dead_at IS NULL",
                    )
                    .bind(TOPIC_BLOCKS_IN_EVENTS)
                    .fetch_one(pool)
                    .await
                })
                .ok()?;
                (pending == 0).then_some(())
            }
        })
        .await;
    }

    /// A registered member and their `EventService` client.
    pub async fn member(&self, name: &str) -> anyhow::Result<(TestMember, EventClient)> {
        let member = self.members.register(name).await?;
        let client = self.events.events_with_token(&member.access_token);
        Ok((member, client))
    }

    /// A registered member and their `ChapterService` client.
    pub async fn chapter_member(&self, name: &str) -> anyhow::Result<(TestMember, ChapterClient)> {
        let member = self.members.register(name).await?;
        let client = self.events.client_with_token(&member.access_token);
        Ok((member, client))
    }

    /// A fresh access token for `member` (tokens live 15 minutes; tests move the clock).
    pub async fn token(&self, member: &TestMember) -> anyhow::Result<String> {
        Ok(self.members.login(member).await?.access_token)
    }

    /// An `EventService` client for `member` with a fresh token.
    pub async fn client(&self, member: &TestMember) -> anyhow::Result<EventClient> {
        Ok(self.events.events_with_token(&self.token(member).await?))
    }

    /// An `EventService` client carrying the internal service credential.
    pub fn service(&self) -> anyhow::Result<EventClient> {
        let creds = crate::service_credentials_at(
            ServiceName::Members,
            ServiceName::Events,
            self.clock.clone(),
        );
        let bearer = Bearer::raw(&creds.bearer()?);
        Ok(EventServiceClient::with_interceptor(
            self.events.channel.clone(),
            bearer,
        ))
    }

    /// The events internal API as the members service calls it.
    pub fn internal(&self) -> anyhow::Result<EventInternalClient> {
        self.internal_as(ServiceName::Members)
    }

    /// The events internal API as the service `caller` calls it.
    pub fn internal_as(&self, caller: ServiceName) -> anyhow::Result<EventInternalClient> {
        let creds = crate::service_credentials_at(caller, ServiceName::Events, self.clock.clone());
        Ok(self.internal_with(Bearer::raw(&creds.bearer()?)))
    }

    /// The events internal API called with arbitrary `authorization` metadata.
    pub fn internal_with(&self, bearer: Bearer) -> EventInternalClient {
        EventInternalServiceClient::with_interceptor(self.events.channel.clone(), bearer)
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.events.stop().await?;
        self.members.stop().await
    }
}

/// Creates `chapter` as the caller of `client`, who becomes its organiser; the chapter as
/// created.
pub async fn create_chapter(
    client: &ChapterClient,
    chapter: pb::Chapter,
) -> anyhow::Result<pb::Chapter> {
    let request = pb::CreateChapterRequest {
        chapter: Some(chapter),
        request_id: String::new(),
    };
    let response = client.clone().create_chapter(request).await?;
    response.into_inner().chapter.context("no chapter")
}

/// Creates `event` as the caller of `client`; the event as created (a draft).
pub async fn create_event(client: &EventClient, event: pb::Event) -> anyhow::Result<pb::Event> {
    let request = pb::CreateEventRequest {
        event: Some(event),
        request_id: String::new(),
    };
    let response = client.clone().create_event(request).await?;
    response.into_inner().event.context("no event")
}

/// Publishes the draft `event_id` as the caller of `client`; the published event.
pub async fn publish_event(client: &EventClient, event_id: &str) -> anyhow::Result<pb::Event> {
    let request = pb::PublishEventRequest {
        event_id: event_id.to_owned(),
        etag: String::new(),
    };
    let response = client.clone().publish_event(request).await?;
    response.into_inner().event.context("no event")
}

/// Invites the members `member_ids` to `event_id` as the caller of `client`.
pub async fn invite_members(
    client: &EventClient,
    event_id: &str,
    member_ids: Vec<String>,
) -> anyhow::Result<()> {
    let members = pb::invite_members_request::MemberIds { member_ids };
    let request = pb::InviteMembersRequest {
        event_id: event_id.to_owned(),
        target: Some(pb::invite_members_request::Target::Members(members)),
    };
    client.clone().invite_members(request).await?;
    Ok(())
}

/// Every first Thursday of the month, `count` times.
pub fn first_thursdays(count: i32) -> pb::RecurrenceRule {
    pb::RecurrenceRule {
        frequency: pb::RecurrenceFrequency::Monthly.into(),
        interval: 1,
        monthly_day: Some(pb::recurrence_rule::MonthlyDay::NthWeekday(
            pb::NthWeekday {
                ordinal: 1,
                weekday: pb::Weekday::Thursday.into(),
            },
        )),
        end: Some(pb::recurrence_rule::End::Count(count)),
        ..Default::default()
    }
}

/// A series of published coffees in Paris at 08:30 for 90 minutes, 12 seats each, recurring
/// by `rule` from `start_date`.
pub fn paris_series(rule: pb::RecurrenceRule, start_date: &str, title: &str) -> pb::Series {
    pb::Series {
        rule: Some(rule),
        start_date: start_date.to_owned(),
        start_local_time: "08:30".to_owned(),
        duration: Some(rendezvous_proto::prost_types::Duration {
            seconds: 90 * 60,
            nanos: 0,
        }),
        time_zone: "Europe/Paris".to_owned(),
        template: Some(pb::EventTemplate {
            title: title.to_owned(),
            kind: pb::EventKind::Coffee.into(),
            capacity: 12,
            visibility: pb::EventVisibility::Public.into(),
            city: "Paris".to_owned(),
            ..Default::default()
        }),
        auto_publish: true,
        ..Default::default()
    }
}

/// The attendance summary of `event_id` as the caller of `client` sees it.
pub async fn attendance_summary(
    client: &EventClient,
    event_id: &str,
) -> anyhow::Result<pb::AttendanceSummary> {
    let request = pb::GetAttendanceSummaryRequest {
        event_id: event_id.to_owned(),
    };
    let response = client.clone().get_attendance_summary(request).await?;
    response.into_inner().summary.context("no summary")
}
