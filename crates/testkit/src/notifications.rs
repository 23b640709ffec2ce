//! The notifications service in-process next to members: the members + notifications stack.

use std::net::SocketAddr;
use std::time::Duration;

use rendezvous_common::auth::ServiceName;
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::server::ServerSettings;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::running::Running;
use crate::{
    Backend, Bearer, MembersHandle, MembersSettings, Start, TestDb, TestMember, wait_serving,
};

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
    /// The events service members tells of deleted members (none: the erasure rows wait).
    pub events: Option<Channel>,
    /// The members service's settings (its outbox relay among them).
    pub members: MembersSettings,
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
            events: None,
            members: crate::members_settings(),
        }
    }
}

/// The key the tests' notifications services sign unsubscribe links with.
pub const UNSUBSCRIBE_KEY: [u8; 32] = [9; 32];

/// The notifications service running in-process.
pub struct NotificationsHandle {
    pub addr: SocketAddr,
    /// Where its HTTP endpoints (one-click unsubscribe) are served; emails link there.
    pub http_addr: SocketAddr,
    pub channel: Channel,
    pub db: Db,
    /// Where its Prometheus metrics are served (`/metrics`).
    pub metrics_addr: SocketAddr,
    running: Running,
    email_dir: tempfile::TempDir,
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

    /// Starts a graceful shutdown without waiting for it (see [`Self::stop`]).
    pub fn begin_shutdown(&self) {
        self.running.begin_shutdown();
    }

    /// Kills the service as a crash would: its tasks stop wherever they are (a send in
    /// flight is cut off), nothing is marked. The database stays for the other replicas.
    pub async fn kill(&mut self) {
        self.running.kill().await;
    }

    /// Stops the service gracefully, waits for it and closes its database pool.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.running.stop().await
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

    /// A stack whose services read the time from a manual clock set to `now`, and that clock.
    pub async fn start_at(
        backend: Backend,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<(Self, Clock)> {
        let clock = Clock::manual(now);
        let start = StackStart {
            clock: clock.clone(),
            ..StackStart::new(backend)
        };
        Ok((Self::start_with(start).await?, clock))
    }

    /// Signs `member` in again and hands back their inbox with the fresh access token.
    pub async fn inbox_after_login(
        &self,
        member: &TestMember,
    ) -> anyhow::Result<NotificationClient> {
        let session = self.members.login(member).await?;
        Ok(self.notifications.client_with_token(&session.access_token))
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
                events: start.events.clone(),
                members: start.members.clone(),
                ..Start::new(start.backend)
            },
            members_listener,
            Some(to_notifications.clone()),
        )
        .await?;
        Self::next_to(&start, members, notifications_listener, to_members).await
    }

    /// The stack of `members` and a notifications service started next to it over a fresh
    /// database.
    async fn next_to(
        start: &StackStart,
        members: MembersHandle,
        listener: tokio::net::TcpListener,
        to_members: Channel,
    ) -> anyhow::Result<Self> {
        let test_db = TestDb::new(start.backend).await?;
        let notifications =
            Self::start_notifications(start, &members, listener, to_members, test_db).await?;
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
        test_db: TestDb,
    ) -> anyhow::Result<NotificationsHandle> {
        let db = Db::connect(&test_db.url).await?;
        let email_dir = tempfile::tempdir()?;
        let mailer = match &start.mail {
            Mail::Files => rendezvous_notifications::email::Mailer::files(email_dir.path())?,
            Mail::Smtp(url) => rendezvous_notifications::email::Mailer::smtp(url)?,
        };
        let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let http_addr = http_listener.local_addr()?;
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let metrics_addr = metrics_listener.local_addr()?;
        let mut worker = WorkerSettings::new(
            "Rendezvous <noreply@rendezvous.test>".parse()?,
            format!("http://{http_addr}"),
        );
        (start.worker)(&mut worker);
        let addr = listener.local_addr()?;
        let options = rendezvous_notifications::Options {
            db: db.clone(),
            clock: start.clock.clone(),
            token_keys: vec![members.signing_key.verifying_key()],
            service_keys: crate::service_keys(ServiceName::Notifications),
            page_token_key: [7; 32],
            members: to_members,
            mailer,
            worker,
            server: ServerSettings::default(),
            contacts_ttl: Duration::from_secs(60),
            unsubscribe: rendezvous_notifications::unsubscribe::UnsubscribeTokens::new(
                &UNSUBSCRIBE_KEY,
                rendezvous_notifications::unsubscribe::DEFAULT_LIFETIME,
            ),
            http_listener: Some(http_listener),
            metrics_listener: Some(metrics_listener),
        };
        let running = Running::spawn(&db, |shutdown| {
            rendezvous_notifications::run(options, listener, shutdown)
        });
        let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy();
        wait_serving(
            channel.clone(),
            "rendezvous.notifications.v1.NotificationService",
        )
        .await?;
        Ok(NotificationsHandle {
            addr,
            http_addr,
            channel,
            db,
            metrics_addr,
            email_dir,
            running,
            _test_db: test_db,
        })
    }

    /// A client of the notifications service as `member`.
    pub fn inbox(&self, member: &TestMember) -> NotificationClient {
        self.notifications.client_with_token(&member.access_token)
    }

    /// The notifications internal API as the events service calls it.
    pub fn deliverer(&self) -> anyhow::Result<NotificationInternalClient> {
        self.internal_as(ServiceName::Events)
    }

    /// The notifications internal API as the service `caller` calls it.
    pub fn internal_as(&self, caller: ServiceName) -> anyhow::Result<NotificationInternalClient> {
        let creds = crate::service_credentials_at(
            caller,
            ServiceName::Notifications,
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let to_members =
            Endpoint::from_shared(format!("http://{}", self.members.addr))?.connect_lazy();
        Self::start_notifications(start, &self.members, listener, to_members, shared).await
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
                members: start.members.clone(),
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
        Self::next_to(start, members, listener, to_members).await
    }
}
