//! Test support: starts Rendezvous services in-process on pre-bound `127.0.0.1:0` listeners,
//! each over its own fresh database (a SQLite file in a temporary directory, or a PostgreSQL
//! database created for the test and dropped after), and hands back typed clients.
//!
//! PostgreSQL runs are enabled by `RENDEZVOUS_TEST_POSTGRES_URL` (a URL with the user in it,
//! e.g. `postgres://postgres@127.0.0.1:5432/postgres`). When `RENDEZVOUS_REQUIRE_POSTGRES=1`
//! is set too (CI sets both), a PostgreSQL test that cannot run fails instead of skipping.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use rendezvous_common::auth::{ServiceCredentials, ServiceSecret, SigningKeyPair};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::server::ServerSettings;
use rendezvous_proto::members::v1 as members_pb;
use rendezvous_proto::members::v1::member_internal_service_client::MemberInternalServiceClient;
use rendezvous_proto::members::v1::member_service_client::MemberServiceClient;
use sqlx::Connection as _;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

pub mod rpc;

pub use rendezvous_members::Settings as MembersSettings;
pub use rpc::{code, eventually};

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
                let name = format!("rdv_test_{}", uuid::Uuid::now_v7().simple());
                let mut conn = sqlx::PgConnection::connect(&server)
                    .await
                    .with_context(|| format!("connecting to {server}"))?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
                let base = server
                    .rsplit_once('/')
                    .map_or(server.as_str(), |(base, _)| base);
                let url = format!("{base}/{name}");
                Ok(Self {
                    url,
                    backend,
                    _dir: None,
                    postgres: Some((server, name)),
                })
            }
        }
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

pub type MemberClient = MemberServiceClient<InterceptedService<Channel, Bearer>>;
pub type MemberInternalClient = MemberInternalServiceClient<InterceptedService<Channel, Bearer>>;

/// A member registered through the API.
#[derive(Clone, Debug)]
pub struct TestMember {
    pub id: String,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
    pub client: MemberClient,
}

/// The members service running in-process.
pub struct MembersHandle {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub clock: Clock,
    pub signing_key: SigningKeyPair,
    pub service_secret: ServiceSecret,
    pub db: Db,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _test_db: TestDb,
}

/// How to start a service for a test.
#[derive(Clone, Debug)]
pub struct Start {
    pub backend: Backend,
    pub clock: Clock,
    pub members: MembersSettings,
    pub server: ServerSettings,
}

impl Start {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            clock: Clock::system(),
            members: MembersSettings::default(),
            server: ServerSettings::default(),
        }
    }
}

/// The service secret every test stack shares.
pub fn test_service_secret() -> ServiceSecret {
    match ServiceSecret::new(b"rendezvous-test-service-secret-0123456789".to_vec()) {
        Ok(secret) => secret,
        Err(_) => unreachable!("the test secret is long enough"),
    }
}

async fn wait_serving(channel: Channel, service: &str) -> anyhow::Result<()> {
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

impl MembersHandle {
    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        Self::start_with(Start::new(backend)).await
    }

    pub async fn start_with(start: Start) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(start, listener, None).await
    }

    /// Starts on `listener`, relaying the outbox to `notifications` when given.
    pub async fn start_on(
        start: Start,
        listener: tokio::net::TcpListener,
        notifications: Option<Channel>,
    ) -> anyhow::Result<Self> {
        rendezvous_common::telemetry::init_for_tests();
        let test_db = TestDb::new(start.backend).await?;
        let db = Db::connect(&test_db.url).await?;
        let signing_key = SigningKeyPair::generate();
        let service_secret = test_service_secret();
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let options = rendezvous_members::Options {
            db: db.clone(),
            clock: start.clock.clone(),
            signing_key: signing_key.clone(),
            service_secret: service_secret.clone(),
            page_token_key: [42; 32],
            settings: start.members,
            server: start.server,
            notifications,
        };
        let task = tokio::spawn(rendezvous_members::run(options, listener, shutdown.clone()));
        let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy();
        wait_serving(channel.clone(), "rendezvous.members.v1.MemberService").await?;
        Ok(Self {
            addr,
            channel,
            clock: start.clock,
            signing_key,
            service_secret,
            db,
            shutdown,
            task: Some(task),
            _test_db: test_db,
        })
    }

    /// A client with no credentials.
    pub fn anonymous(&self) -> MemberClient {
        MemberServiceClient::with_interceptor(self.channel.clone(), Bearer::default())
    }

    /// A client that sends `token` as its bearer token.
    pub fn client_with_token(&self, token: &str) -> MemberClient {
        MemberServiceClient::with_interceptor(self.channel.clone(), Bearer::token(token))
    }

    /// The internal API as another Rendezvous service calls it.
    pub fn internal(&self) -> anyhow::Result<MemberInternalClient> {
        let creds =
            ServiceCredentials::new("events", self.service_secret.clone(), self.clock.clone());
        Ok(MemberInternalServiceClient::with_interceptor(
            self.channel.clone(),
            Bearer::raw(&creds.bearer()?),
        ))
    }

    /// The internal API called with arbitrary `authorization` metadata.
    pub fn internal_with(&self, bearer: Bearer) -> MemberInternalClient {
        MemberInternalServiceClient::with_interceptor(self.channel.clone(), bearer)
    }

    /// Registers a member named `name` in Paris, with an address derived from the name.
    pub async fn register(&self, name: &str) -> anyhow::Result<TestMember> {
        let email = format!(
            "{}.{}@example.com",
            name.to_lowercase().replace(' ', "."),
            uuid::Uuid::now_v7().simple()
        );
        let password = "correct horse battery staple".to_owned();
        let response = self
            .anonymous()
            .register(members_pb::RegisterRequest {
                email: email.clone(),
                password: password.clone(),
                display_name: name.to_owned(),
                city: "Paris".to_owned(),
                locale: "fr".to_owned(),
                time_zone: "Europe/Paris".to_owned(),
            })
            .await?
            .into_inner();
        let member = response.member.context("no member")?;
        let session = response.session.context("no session")?;
        Ok(TestMember {
            id: member.id,
            email,
            password,
            client: self.client_with_token(&session.access_token),
            access_token: session.access_token,
            refresh_token: session.refresh_token,
        })
    }

    /// Starts a graceful shutdown without waiting for it (see [`Self::stop`]).
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Stops the service gracefully and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await??;
        }
        self.db.close().await;
        Ok(())
    }
}

impl Drop for MembersHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Connects `a` and `b` (a asks, b accepts).
pub async fn connect(a: &TestMember, b: &TestMember) -> anyhow::Result<()> {
    let request = a
        .client
        .clone()
        .request_connection(members_pb::RequestConnectionRequest {
            member_id: b.id.clone(),
            note: String::new(),
        })
        .await?
        .into_inner()
        .connection_request
        .context("no request")?;
    b.client
        .clone()
        .respond_to_connection_request(members_pb::RespondToConnectionRequestRequest {
            connection_request_id: request.id,
            accept: true,
        })
        .await?;
    Ok(())
}

/// A `google.protobuf.Timestamp` for a chrono time.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> rendezvous_proto::prost_types::Timestamp {
    rendezvous_common::time::to_timestamp(at)
}

pub use rendezvous_notifications::WorkerSettings;
use rendezvous_proto::notifications::v1::notification_internal_service_client::NotificationInternalServiceClient;
use rendezvous_proto::notifications::v1::notification_service_client::NotificationServiceClient;

pub type NotificationClient = NotificationServiceClient<InterceptedService<Channel, Bearer>>;
pub type NotificationInternalClient =
    NotificationInternalServiceClient<InterceptedService<Channel, Bearer>>;

/// How email leaves the notifications service in a test.
#[derive(Clone, Debug, Default)]
pub enum Mail {
    /// `.eml` files in a temporary folder ([`NotificationsHandle::emails`]).
    #[default]
    Files,
    /// A real SMTP server at this URL (e.g. `smtp://127.0.0.1:2525`).
    Smtp(String),
}

/// How to start the members + notifications stack.
#[derive(Clone, Debug)]
pub struct StackStart {
    pub backend: Backend,
    pub clock: Clock,
    pub mail: Mail,
    /// Adjusts the delivery worker (attempts, back-off, poll interval).
    pub worker: fn(&mut WorkerSettings),
}

impl StackStart {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            clock: Clock::system(),
            mail: Mail::Files,
            worker: |w| {
                w.poll_interval = Duration::from_millis(20);
                w.base_backoff = chrono::Duration::milliseconds(50);
                w.max_backoff = chrono::Duration::milliseconds(400);
            },
        }
    }
}

/// The notifications service running in-process.
pub struct NotificationsHandle {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub db: Db,
    email_dir: tempfile::TempDir,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _test_db: TestDb,
}

impl NotificationsHandle {
    pub fn client_with_token(&self, token: &str) -> NotificationClient {
        NotificationServiceClient::with_interceptor(self.channel.clone(), Bearer::token(token))
    }

    pub fn anonymous(&self) -> NotificationClient {
        NotificationServiceClient::with_interceptor(self.channel.clone(), Bearer::default())
    }

    pub fn internal_with(&self, bearer: Bearer) -> NotificationInternalClient {
        NotificationInternalServiceClient::with_interceptor(self.channel.clone(), bearer)
    }

    /// The folder `.eml` files are written to (with [`Mail::Files`]).
    pub fn emails(&self) -> &std::path::Path {
        self.email_dir.path()
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

impl Drop for NotificationsHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Members and notifications wired together as in production: members relays its outbox to
/// notifications, notifications asks members for contacts.
pub struct Stack {
    pub members: MembersHandle,
    pub notifications: NotificationsHandle,
}

impl Stack {
    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        Self::start_with(StackStart::new(backend)).await
    }

    pub async fn start_with(start: StackStart) -> anyhow::Result<Self> {
        let members_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let notifications_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let members_addr = members_listener.local_addr()?;
        let notifications_addr = notifications_listener.local_addr()?;
        let to_notifications =
            Endpoint::from_shared(format!("http://{notifications_addr}"))?.connect_lazy();
        let to_members = Endpoint::from_shared(format!("http://{members_addr}"))?.connect_lazy();
        let members = MembersHandle::start_on(
            Start {
                clock: start.clock.clone(),
                ..Start::new(start.backend)
            },
            members_listener,
            Some(to_notifications.clone()),
        )
        .await?;
        let notifications =
            Self::start_notifications(&start, &members, notifications_listener, to_members).await?;
        Ok(Self {
            members,
            notifications,
        })
    }

    async fn start_notifications(
        start: &StackStart,
        members: &MembersHandle,
        listener: tokio::net::TcpListener,
        to_members: Channel,
    ) -> anyhow::Result<NotificationsHandle> {
        let test_db = TestDb::new(start.backend).await?;
        let db = Db::connect(&test_db.url).await?;
        let email_dir = tempfile::tempdir()?;
        let mailer = match &start.mail {
            Mail::Files => rendezvous_notifications::email::Mailer::files(email_dir.path())?,
            Mail::Smtp(url) => rendezvous_notifications::email::Mailer::smtp(url)?,
        };
        let mut worker = WorkerSettings::new(
            "Rendezvous <noreply@rendezvous.test>".parse()?,
            "http://rendezvous.test".to_owned(),
        );
        (start.worker)(&mut worker);
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let options = rendezvous_notifications::Options {
            db: db.clone(),
            clock: start.clock.clone(),
            token_keys: vec![members.signing_key.verifying_key()],
            service_secret: members.service_secret.clone(),
            page_token_key: [7; 32],
            members: to_members,
            mailer,
            worker,
            server: ServerSettings::default(),
            contacts_ttl: Duration::from_secs(60),
        };
        let task = tokio::spawn(rendezvous_notifications::run(
            options,
            listener,
            shutdown.clone(),
        ));
        let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy();
        wait_serving(
            channel.clone(),
            "rendezvous.notifications.v1.NotificationService",
        )
        .await?;
        Ok(NotificationsHandle {
            addr,
            channel,
            db,
            email_dir,
            shutdown,
            task: Some(task),
            _test_db: test_db,
        })
    }

    /// A client of the notifications service as `member`.
    pub fn inbox(&self, member: &TestMember) -> NotificationClient {
        self.notifications.client_with_token(&member.access_token)
    }

    /// The notifications internal API as another service calls it.
    pub fn deliverer(&self) -> anyhow::Result<NotificationInternalClient> {
        let creds = ServiceCredentials::new(
            "events",
            self.members.service_secret.clone(),
            self.members.clock.clone(),
        );
        Ok(self
            .notifications
            .internal_with(Bearer::raw(&creds.bearer()?)))
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.members.begin_shutdown();
        self.notifications.begin_shutdown();
        self.members.stop().await?;
        self.notifications.stop().await
    }
}

impl NotificationsHandle {
    /// The URL of the database this instance runs over; replicas share it.
    pub fn database_url(&self) -> &str {
        &self._test_db.url
    }
}

impl Stack {
    /// Starts one more notifications replica over the same database as
    /// [`Stack::notifications`], as a second process of a horizontally scaled deployment
    /// would run (meaningful on PostgreSQL, where replicas share streams through
    /// LISTEN/NOTIFY). The replica does not own the database: the first instance drops it, so
    /// stop the replica first.
    pub async fn start_notifications_replica(
        &self,
        start: &StackStart,
    ) -> anyhow::Result<NotificationsHandle> {
        let shared = TestDb {
            url: self.notifications.database_url().to_owned(),
            backend: start.backend,
            _dir: None,
            postgres: None,
        };
        let db = Db::connect(&shared.url).await?;
        let email_dir = tempfile::tempdir()?;
        let mailer = match &start.mail {
            Mail::Files => rendezvous_notifications::email::Mailer::files(email_dir.path())?,
            Mail::Smtp(url) => rendezvous_notifications::email::Mailer::smtp(url)?,
        };
        let mut worker = WorkerSettings::new(
            "Rendezvous <noreply@rendezvous.test>".parse()?,
            "http://rendezvous.test".to_owned(),
        );
        (start.worker)(&mut worker);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let to_members =
            Endpoint::from_shared(format!("http://{}", self.members.addr))?.connect_lazy();
        let shutdown = CancellationToken::new();
        let options = rendezvous_notifications::Options {
            db: db.clone(),
            clock: start.clock.clone(),
            token_keys: vec![self.members.signing_key.verifying_key()],
            service_secret: self.members.service_secret.clone(),
            page_token_key: [7; 32],
            members: to_members,
            mailer,
            worker,
            server: ServerSettings::default(),
            contacts_ttl: Duration::from_secs(60),
        };
        let task = tokio::spawn(rendezvous_notifications::run(
            options,
            listener,
            shutdown.clone(),
        ));
        let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy();
        wait_serving(
            channel.clone(),
            "rendezvous.notifications.v1.NotificationService",
        )
        .await?;
        Ok(NotificationsHandle {
            addr,
            channel,
            db,
            email_dir,
            shutdown,
            task: Some(task),
            _test_db: shared,
        })
    }
}

/// A real SMTP server (`scripts/smtp_server.py`, aiosmtpd) run as a child process for email
/// tests. The Python interpreter comes from `RENDEZVOUS_TEST_SMTP_PYTHON`; without it the
/// tests that need the server skip, unless `RENDEZVOUS_REQUIRE_SMTP=1` (CI) makes that an
/// error. The child is killed when the value is dropped.
pub struct SmtpServer {
    port: u16,
    dir: std::path::PathBuf,
    child: std::process::Child,
}

impl SmtpServer {
    /// How long the server may take to print its `ready` line.
    const READY_TIMEOUT: Duration = Duration::from_secs(20);

    /// Starts the server on `port` (a free one when `None`), writing each received message to
    /// `dir` as `NNNNNN.eml`; with `reject` it refuses every recipient with 550. Returns
    /// `Ok(None)` when `RENDEZVOUS_TEST_SMTP_PYTHON` is not set (and SMTP is not required).
    pub async fn start(
        dir: &std::path::Path,
        port: Option<u16>,
        reject: bool,
    ) -> anyhow::Result<Option<SmtpServer>> {
        let python = match std::env::var("RENDEZVOUS_TEST_SMTP_PYTHON") {
            Ok(python) if !python.is_empty() => python,
            _ => {
                anyhow::ensure!(
                    std::env::var("RENDEZVOUS_REQUIRE_SMTP").as_deref() != Ok("1"),
                    "RENDEZVOUS_REQUIRE_SMTP=1 but RENDEZVOUS_TEST_SMTP_PYTHON is not set"
                );
                return Ok(None);
            }
        };
        let port = match port {
            Some(port) => port,
            None => Self::free_port()?,
        };
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp_server.py");
        let mut command = std::process::Command::new(&python);
        command
            .arg(&script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        if reject {
            command.arg("--reject");
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {python} {}", script.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        // The child is owned from here on, so that an early return kills it.
        let server = SmtpServer {
            port,
            dir: dir.to_owned(),
            child,
        };
        // Lines are read on a thread of their own; the rest of stdout is drained there too so
        // the child never blocks on a full pipe.
        let (lines_tx, mut lines_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Once nobody waits any more, the send fails and the loop keeps draining.
                let _ = lines_tx.send(line);
            }
        });
        let expected = format!("ready {port}");
        let ready = tokio::time::timeout(Self::READY_TIMEOUT, async {
            while let Some(line) = lines_rx.recv().await {
                if line.trim() == expected {
                    return true;
                }
            }
            false
        })
        .await;
        match ready {
            Ok(true) => Ok(Some(server)),
            Ok(false) => anyhow::bail!("the SMTP server on port {port} exited before it was ready"),
            Err(_) => anyhow::bail!(
                "the SMTP server on port {port} was not ready within {:?}",
                Self::READY_TIMEOUT
            ),
        }
    }

    /// A port nothing listens on right now (bound to `127.0.0.1:0`, then released).
    pub fn free_port() -> anyhow::Result<u16> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        Ok(listener.local_addr()?.port())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`, for [`Mail::Smtp`].
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The raw messages received so far (`.eml` files, envelope headers first), oldest first.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut paths: Vec<std::path::PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Stack {
    /// Starts members alone, relaying its outbox to a notifications address where nothing
    /// listens yet (the notifications service is down); returns that address.
    pub async fn start_members_only(
        start: &StackStart,
    ) -> anyhow::Result<(MembersHandle, SocketAddr)> {
        let reserved = std::net::TcpListener::bind("127.0.0.1:0")?;
        let notifications_addr = reserved.local_addr()?;
        drop(reserved);
        let to_notifications =
            Endpoint::from_shared(format!("http://{notifications_addr}"))?.connect_lazy();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let members = MembersHandle::start_on(
            Start {
                clock: start.clock.clone(),
                ..Start::new(start.backend)
            },
            listener,
            Some(to_notifications),
        )
        .await?;
        Ok((members, notifications_addr))
    }

    /// Brings the notifications service up at `addr` next to a running members service.
    pub async fn start_notifications_at(
        start: &StackStart,
        members: MembersHandle,
        addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let to_members = Endpoint::from_shared(format!("http://{}", members.addr))?.connect_lazy();
        let notifications =
            Self::start_notifications(start, &members, listener, to_members).await?;
        Ok(Self {
            members,
            notifications,
        })
    }
}

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
