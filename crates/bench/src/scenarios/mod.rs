//! The scenarios, each run several times alternating with its baseline (so a slow moment of
//! the machine falls on both), and what they share: the world seeded on a stack (members,
//! events in ten cities) and the clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rand::Rng as _;
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::events::v1::event_service_client::EventServiceClient;
use tonic::transport::Channel;
use tonic::{Request, metadata::MetadataValue};
use uuid::Uuid;

/// How long the stack may take to finish what a run set going (emails, relays).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(900);

use crate::echo::EchoServer;
use crate::load::{self, Failure, Outcome};
use crate::monitor::Monitor;
use crate::raw_sql::RawDb;
use crate::report::{Measure, Report, RunFigures};
use crate::seed::{self, Member};
use crate::stack::{Stack, backend_name};

pub mod browse;
pub mod coffee;
pub mod fanout;
pub mod login;
pub mod rsvp;
pub mod stream;

/// The cities events are spread over.
pub const CITIES: [&str; 10] = [
    "Paris", "Lyon", "Berlin", "Madrid", "Lisbon", "Milan", "Vienna", "Prague", "Warsaw", "Dublin",
];

/// How big each scenario is and how it is driven.
#[derive(Clone, Debug)]
pub struct Sizes {
    pub in_flight: usize,
    /// HTTP/2 connections the client spreads its calls over.
    pub connections: usize,
    /// Runs of each scenario, alternating with its baseline.
    pub runs: usize,
    /// `rsvp-hot`: members who RSVP, and the event's seats.
    pub hot_members: usize,
    pub capacity: u32,
    /// `rsvp-spread` and `browse`: the events, and RSVPs per run.
    pub events: usize,
    pub spread_rsvps: usize,
    /// `browse`: calls of each kind per run.
    pub browse_calls: u64,
    /// `login`: sign-ins per run.
    pub logins: u64,
    /// `fanout`: members of the chapter told of the new event.
    pub chapter_members: usize,
    /// `stream`: open streams, and rounds of one notification to each.
    pub streams: usize,
    pub stream_rounds: usize,
    /// `coffee-round`: members opted in to coffee, and the connections (not met) of each.
    pub coffee_members: u64,
    pub coffee_connections: u64,
}

impl Sizes {
    /// A few seconds of each, so CI sees that every scenario still works.
    pub fn smoke() -> Self {
        Self {
            in_flight: 8,
            connections: 2,
            runs: 1,
            hot_members: 60,
            capacity: 25,
            events: 60,
            spread_rsvps: 60,
            browse_calls: 60,
            logins: 4,
            chapter_members: 200,
            streams: 20,
            stream_rounds: 3,
            coffee_members: 400,
            coffee_connections: 10,
        }
    }
}

/// Everything a scenario runs with on one backend.
pub struct Ctx<'a> {
    pub stack: &'a Stack,
    pub echo: &'a EchoServer,
    pub sizes: &'a Sizes,
    /// The PostgreSQL server (for the monitor's connection counts), if on PostgreSQL.
    pub postgres_server: Option<&'a str>,
    /// Seeded members: the first hosts, the rest RSVP.
    pub members: Vec<Member>,
    /// Public events in [`CITIES`], published, each with its city.
    pub events: Vec<(Uuid, &'static str)>,
    pub now: DateTime<Utc>,
    /// The rows already in the database, as a multiple of what the scenarios wrote at ×1
    /// (see [`crate::history`]); measures are labelled with it.
    growth: AtomicU32,
}

impl<'a> Ctx<'a> {
    /// Seeds the members the scenarios share, and creates the events through the API; without
    /// `shared` (no scenario to run uses them), the host alone.
    pub async fn seed(
        stack: &'a Stack,
        echo: &'a EchoServer,
        sizes: &'a Sizes,
        postgres_server: Option<&'a str>,
        shared: bool,
    ) -> anyhow::Result<Self> {
        let count = if shared {
            1 + sizes.hot_members.max(sizes.spread_rsvps)
        } else {
            1
        };
        let members = seed::members(&stack.members.db, count, "Paris")
            .await
            .context("seeding members")?;
        seed::without_emails(&stack.notifications.db, &members).await?;
        let mut ctx = Self {
            stack,
            echo,
            sizes,
            postgres_server,
            members,
            events: Vec::new(),
            now: Utc::now(),
            growth: AtomicU32::new(1),
        };
        if shared {
            ctx.events = ctx.create_events(sizes.events).await?;
        }
        Ok(ctx)
    }

    /// The growth the next measures run at.
    pub fn growth(&self) -> u32 {
        self.growth.load(Ordering::Relaxed)
    }

    /// Copies what the scenarios wrote until each database holds `factor` times the
    /// originals (see [`crate::history`]): the rows written, by service and table.
    pub async fn grow_to(&self, factor: u32) -> anyhow::Result<crate::history::Written> {
        use crate::history::Service;
        let from = self.growth();
        anyhow::ensure!(factor > from, "growth ×{factor} is not above ×{from}");
        self.settle().await?;
        let written = crate::history::grow(
            [
                (Service::Members, &self.stack.members.db),
                (Service::Events, &self.stack.events.db),
                (Service::Notifications, &self.stack.notifications.db),
            ],
            from,
            factor,
            |copy| eprintln!("   copy {copy} of {factor} written"),
        )
        .await?;
        self.growth.store(factor, Ordering::Relaxed);
        Ok(written)
    }

    pub fn backend(&self) -> String {
        backend_name(self.stack.backend()).to_owned()
    }

    pub fn host(&self) -> &Member {
        &self.members[0]
    }

    /// `connections` channels to events.
    pub fn event_clients(&self) -> anyhow::Result<Clients<EventServiceClient<Channel>>> {
        Clients::new(self.sizes.connections, || {
            Ok(EventServiceClient::new(self.stack.events.channel()?))
        })
    }

    /// A public event in `city`, `days` from now, with `capacity` seats.
    pub fn event(&self, city: &str, days: f64, capacity: u32) -> events_pb::Event {
        event_at(self.now, city, days, capacity)
    }

    /// Creates and publishes `event` as the host: its id.
    pub async fn publish(
        &self,
        client: &mut EventServiceClient<Channel>,
        event: events_pb::Event,
    ) -> anyhow::Result<Uuid> {
        let token = self.stack.token(self.host().id)?;
        let id = create(client, &token, event).await?;
        publish(client, &token, id).await?;
        Ok(id)
    }

    /// `count` public events spread over [`CITIES`] and the next 90 days, created and
    /// published through the API, 64 at a time.
    async fn create_events(&self, count: usize) -> anyhow::Result<Vec<(Uuid, &'static str)>> {
        let clients = self.event_clients()?;
        let token = self.stack.token(self.host().id)?;
        let created = Arc::new(std::sync::Mutex::new(Vec::with_capacity(count)));
        let now = self.now;
        let (sink, host_token) = (Arc::clone(&created), token);
        let outcome = load::run("creating events", count as u64, 64, move |i| {
            let mut client = clients.get(i);
            let sink = Arc::clone(&sink);
            let token = host_token.clone();
            async move {
                let city = CITIES[usize::try_from(i).unwrap_or(0) % CITIES.len()];
                let days = 1.0 + rand::thread_rng().gen_range(0.0..89.0);
                let event = event_at(now, city, days, 1_000);
                let id = create(&mut client, &token, event).await?;
                publish(&mut client, &token, id).await?;
                if let Ok(mut sink) = sink.lock() {
                    sink.push((id, city));
                }
                Ok(1)
            }
        })
        .await;
        anyhow::ensure!(
            outcome.failed() == 0,
            "creating the events failed: {:?}",
            outcome.errors
        );
        let created = created.lock().map(|c| c.clone()).unwrap_or_default();
        Ok(created)
    }

    /// Runs `run` while the monitor watches the stack, then waits for the stack to settle
    /// (see [`Self::settle`]): its figures.
    pub async fn watched(&self, run: impl Future<Output = Outcome>) -> anyhow::Result<RunFigures> {
        let monitor = Monitor::start(Some(self.stack), &[], self.postgres_server);
        let outcome = run.await;
        let figures = RunFigures::new(&outcome, monitor.finish().await);
        self.settle().await?;
        Ok(figures)
    }

    /// Runs a baseline while the monitor watches `pid` (its server, if it has one).
    pub async fn watched_baseline(
        &self,
        server: Option<(&str, u32)>,
        run: impl Future<Output = Outcome>,
    ) -> RunFigures {
        let extra: Vec<(&str, u32)> = server.into_iter().collect();
        let monitor = Monitor::start(None, &extra, None);
        let outcome = run.await;
        RunFigures::new(&outcome, monitor.finish().await)
    }

    /// Waits until what the last run set going is done — every due outbox row of members and
    /// events relayed, every due delivery of notifications sent — so the next run starts on
    /// a quiet stack: how long it took.
    pub async fn settle(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let now = Utc::now();
            let mut pending = 0;
            for db in [&self.stack.members.db, &self.stack.events.db] {
                pending += with_db!(db, |pool| {
                    sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL \
                         AND dead_at IS NULL AND next_attempt_at <= $1",
                    )
                    .bind(now)
                    .fetch_one(pool)
                    .await?
                });
            }
            pending += with_db!(&self.stack.notifications.db, |pool| {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'failed') \
                     AND next_attempt_at <= $1",
                )
                .bind(now)
                .fetch_one(pool)
                .await?
            });
            if pending == 0 {
                return Ok(started.elapsed());
            }
            anyhow::ensure!(
                started.elapsed() < SETTLE_TIMEOUT,
                "{pending} outbox rows and deliveries still due after {SETTLE_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A fresh raw-SQL database on this stack's backend, with `connections` connections on
    /// PostgreSQL (one per client).
    pub async fn raw_db(&self, connections: usize) -> anyhow::Result<RawDb> {
        RawDb::create(&self.stack.databases, connections).await
    }

    /// A measure of this backend with one run.
    pub fn measure(
        &self,
        scenario: &str,
        name: &str,
        baseline: bool,
        unit: &str,
        run: RunFigures,
    ) -> Measure {
        Measure {
            scenario: scenario.to_owned(),
            name: name.to_owned(),
            backend: self.backend(),
            baseline,
            unit: unit.to_owned(),
            growth: self.growth(),
            runs: vec![run],
            checks: Vec::new(),
            notes: vec![format!(
                "{} in flight over {} connections",
                self.sizes.in_flight, self.sizes.connections
            )],
        }
    }

    /// The raw echo baseline: `calls` echoes of an id-sized payload.
    pub async fn echo(
        &self,
        report: &mut Report,
        scenario: &str,
        calls: u64,
    ) -> anyhow::Result<()> {
        let clients = Clients::new(self.sizes.connections, || self.echo.client())?;
        let run = self
            .watched_baseline(
                Some(("echo", self.echo.pid())),
                load::run("raw tonic echo", calls, self.sizes.in_flight, move |i| {
                    let mut client = clients.get(i);
                    async move {
                        client
                            .echo(crate::echo::pb::EchoRequest {
                                payload: Uuid::now_v7().to_string().into_bytes(),
                            })
                            .await?;
                        Ok(1)
                    }
                }),
            )
            .await;
        report.add(self.measure(scenario, "raw tonic echo", true, "calls/s", run));
        Ok(())
    }
}

/// Creates `event` (a draft) with `token`: its id.
pub async fn create(
    client: &mut EventServiceClient<Channel>,
    token: &str,
    event: events_pb::Event,
) -> Result<Uuid, Failure> {
    let created = client
        .create_event(authed(
            events_pb::CreateEventRequest {
                event: Some(event),
                request_id: Uuid::now_v7().to_string(),
            },
            token,
        ))
        .await?
        .into_inner()
        .event
        .ok_or_else(|| Failure("no event".to_owned()))?;
    created.id.parse().map_err(|_| Failure("bad id".to_owned()))
}

/// Publishes the draft `event` with `token`.
pub async fn publish(
    client: &mut EventServiceClient<Channel>,
    token: &str,
    event: Uuid,
) -> Result<(), Failure> {
    client
        .publish_event(authed(
            events_pb::PublishEventRequest {
                event_id: event.to_string(),
                ..Default::default()
            },
            token,
        ))
        .await?;
    Ok(())
}

/// A public event in `city`, `days` after `now`, with `capacity` seats.
fn event_at(now: DateTime<Utc>, city: &str, days: f64, capacity: u32) -> events_pb::Event {
    #[allow(clippy::cast_possible_truncation, reason = "days stay within a year")]
    let start = now + chrono::Duration::seconds((days * 86_400.0) as i64);
    events_pb::Event {
        title: format!("Networking coffee — {city}"),
        description: "Meet the people you know online.".to_owned(),
        kind: events_pb::EventKind::Coffee.into(),
        venue: Some(events_pb::Venue {
            name: "Café du Centre".to_owned(),
            address: format!("1 Main Street, {city}"),
            latitude: 48.85,
            longitude: 2.35,
        }),
        city: city.to_owned(),
        start_time: Some(timestamp(start)),
        end_time: Some(timestamp(start + chrono::Duration::minutes(90))),
        time_zone: "Europe/Paris".to_owned(),
        capacity: i32::try_from(capacity).unwrap_or(i32::MAX),
        visibility: events_pb::EventVisibility::Public.into(),
        ..Default::default()
    }
}

pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// `message` with `token` as its bearer.
pub fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    if let Ok(value) = MetadataValue::try_from(format!("Bearer {token}")) {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// Clients over several connections; call `i` takes connection `i mod n`.
#[derive(Clone)]
pub struct Clients<T>(Arc<Vec<T>>);

impl<T: Clone> Clients<T> {
    pub fn new(connections: usize, make: impl Fn() -> anyhow::Result<T>) -> anyhow::Result<Self> {
        Ok(Self(Arc::new(
            (0..connections.max(1))
                .map(|_| make())
                .collect::<anyhow::Result<_>>()?,
        )))
    }

    pub fn get(&self, i: u64) -> T {
        let n = self.0.len() as u64;
        self.0[usize::try_from(i % n).unwrap_or(0)].clone()
    }
}
