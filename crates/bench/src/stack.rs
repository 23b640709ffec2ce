//! The stack under measurement: the three service binaries started as their own processes,
//! the way they are deployed (each with only the environment compose gives it, on loopback
//! ports, over a fresh database of its own on the chosen backend), so that each one's memory
//! and database connections can be read off it alone.
//!
//! The bench holds the keys the stack runs with: it writes the token signing key members
//! signs with, so it can hand any seeded member an access token without a sign-in (argon2
//! would take minutes for thousands of members; the `login` scenario measures sign-ins).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use rendezvous_common::auth::{ServiceName, SigningKeyPair, TokenIssuer};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_testkit::process::{RunningBinary, random_secret};
use rendezvous_testkit::{Backend, TestDb, service_key_environment, wait_serving};
use tonic::transport::{Channel, Endpoint};
use uuid::Uuid;

use crate::procfs;

/// How long a binary may take to migrate its fresh database and listen.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// Lifetime of the access tokens the bench mints (the most members accepts): a scenario
/// mints its tokens when it starts.
const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::minutes(15);

/// Where the stack's databases live.
#[derive(Clone, Debug)]
pub enum Databases {
    /// A SQLite file per service in the stack's temporary folder.
    Sqlite,
    /// A fresh database per service on this PostgreSQL server (a URL with the user in it),
    /// dropped when the stack stops.
    Postgres(String),
}

impl Databases {
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// A fresh database (a SQLite file in its own folder, or a PostgreSQL database).
    pub async fn fresh(&self, prefix: &str) -> anyhow::Result<TestDb> {
        match self {
            Self::Sqlite => TestDb::new(Backend::Sqlite).await,
            Self::Postgres(server) => TestDb::postgres_on(server, prefix).await,
        }
    }
}

/// The name of a backend as the report prints it.
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// One service process.
pub struct Service {
    pub name: ServiceName,
    pub addr: SocketAddr,
    /// A pool on its database, for seeding and for checking what a scenario left.
    pub db: Db,
    process: RunningBinary,
    test_db: TestDb,
}

impl Service {
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Its SQLite file, if it runs on SQLite.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        self.test_db
            .url
            .strip_prefix("sqlite://")
            .map(PathBuf::from)
    }

    /// The name of its PostgreSQL database, if it runs on PostgreSQL.
    pub fn postgres_database(&self) -> Option<String> {
        if self.test_db.url.starts_with("postgres") {
            self.test_db
                .url
                .rsplit_once('/')
                .map(|(_, name)| name.to_owned())
        } else {
            None
        }
    }

    /// A channel to it: one HTTP/2 connection, opened at the first call.
    pub fn channel(&self) -> anyhow::Result<Channel> {
        Ok(Endpoint::from_shared(format!("http://{}", self.addr))?.connect_lazy())
    }
}

/// The three services running.
pub struct Stack {
    pub databases: Databases,
    pub members: Service,
    pub events: Service,
    pub notifications: Service,
    issuer: TokenIssuer,
    _dir: tempfile::TempDir,
}

/// A free port of loopback (bound, then released for the service to bind).
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// The binary `name` in `bin_dir`, or an error saying how to build it.
fn binary(bin_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir.join(name);
    anyhow::ensure!(
        path.is_file(),
        "{} is missing: build the services first (`cargo build --release -p rendezvous-members \
         -p rendezvous-events -p rendezvous-notifications`) or give --bin-dir",
        path.display()
    );
    Ok(path)
}

impl Stack {
    /// Starts members, then events and notifications (which fetch members' token key at
    /// start), each over a fresh database, and waits until all three are SERVING.
    pub async fn start(databases: Databases, bin_dir: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let signing_key = SigningKeyPair::generate();
        let key_file = dir.path().join("token-signing-key.pem");
        rendezvous_common::auth::write_private(&key_file, &signing_key.to_pkcs8_pem()?)?;
        let emails = dir.path().join("emails");
        std::fs::create_dir_all(&emails)?;
        let [
            members_addr,
            events_addr,
            notifications_addr,
            feed_addr,
            http_addr,
        ] = [
            free_port()?,
            free_port()?,
            free_port()?,
            free_port()?,
            free_port()?,
        ];
        let url = |addr: SocketAddr| format!("http://{addr}");

        let common = |name: ServiceName, db: &TestDb, listen: SocketAddr| {
            let mut env = service_key_environment(dir.path(), name)?;
            env.extend([
                ("RENDEZVOUS_SERVICE_SECRET", random_secret()),
                ("RENDEZVOUS_LISTEN_ADDR", listen.to_string()),
                ("RENDEZVOUS_DATABASE_URL", db.url.clone()),
                ("RENDEZVOUS_LOG_FORMAT", "json".to_owned()),
            ]);
            anyhow::Ok(env)
        };

        let members_db = databases.fresh("rdv_bench_members").await?;
        let mut env = common(ServiceName::Members, &members_db, members_addr)?;
        env.extend([
            (
                "RENDEZVOUS_TOKEN_SIGNING_KEY_FILE",
                key_file.display().to_string(),
            ),
            ("RENDEZVOUS_NOTIFICATIONS_URL", url(notifications_addr)),
            ("RENDEZVOUS_EVENTS_URL", url(events_addr)),
            // Every sign-in of the bench comes from one address, and each reserves a failure
            // until its password checks out: 64 in flight would pass the per-address budget
            // (50) that guards against guessing, and the run would measure the limiter.
            ("RENDEZVOUS_FAILED_SIGN_INS_PER_PEER", "1000000".to_owned()),
        ]);
        let members = start(
            ServiceName::Members,
            &binary(bin_dir, "rendezvous-members")?,
            &env,
            members_addr,
            members_db,
        )
        .await?;

        let events_db = databases.fresh("rdv_bench_events").await?;
        let mut env = common(ServiceName::Events, &events_db, events_addr)?;
        env.extend([
            ("RENDEZVOUS_MEMBERS_URL", url(members_addr)),
            ("RENDEZVOUS_NOTIFICATIONS_URL", url(notifications_addr)),
            ("RENDEZVOUS_FEED_ADDR", feed_addr.to_string()),
            ("RENDEZVOUS_PUBLIC_FEED_URL", url(feed_addr)),
        ]);
        let events_program = binary(bin_dir, "rendezvous-events")?;

        let notifications_db = databases.fresh("rdv_bench_notifications").await?;
        let mut notifications_env = common(
            ServiceName::Notifications,
            &notifications_db,
            notifications_addr,
        )?;
        notifications_env.extend([
            ("RENDEZVOUS_MEMBERS_URL", url(members_addr)),
            ("RENDEZVOUS_EMAIL_DIR", emails.display().to_string()),
            (
                "RENDEZVOUS_EMAIL_FROM",
                "Rendezvous <noreply@rendezvous.local>".to_owned(),
            ),
            ("RENDEZVOUS_HTTP_ADDR", http_addr.to_string()),
            ("RENDEZVOUS_PUBLIC_URL", url(http_addr)),
        ]);
        let notifications_program = binary(bin_dir, "rendezvous-notifications")?;

        let (events, notifications) = tokio::try_join!(
            start(
                ServiceName::Events,
                &events_program,
                &env,
                events_addr,
                events_db
            ),
            start(
                ServiceName::Notifications,
                &notifications_program,
                &notifications_env,
                notifications_addr,
                notifications_db,
            ),
        )?;
        let issuer = TokenIssuer::new(signing_key, TOKEN_LIFETIME, Clock::system())?;
        Ok(Self {
            databases,
            members,
            events,
            notifications,
            issuer,
            _dir: dir,
        })
    }

    pub fn backend(&self) -> Backend {
        self.databases.backend()
    }

    pub fn services(&self) -> [&Service; 3] {
        [&self.members, &self.events, &self.notifications]
    }

    /// An access token for `member` (a session of its own), as members would issue it.
    pub fn token(&self, member: Uuid) -> anyhow::Result<String> {
        Ok(self.issuer.issue(member, Uuid::now_v7())?.token)
    }

    /// Each service's resident memory now, in KiB.
    pub fn resident_kib(&self) -> [(ServiceName, u64); 3] {
        self.services().map(|service| {
            (
                service.name,
                procfs::memory_kib(service.pid()).map_or(0, |(rss, _)| rss),
            )
        })
    }

    /// Stops the processes and drops their databases.
    pub async fn stop(self) {
        for service in [self.members, self.events, self.notifications] {
            service.db.close().await;
            drop(service.process);
            drop(service.test_db);
        }
    }
}

/// The bench's own pool on a service's database: on PostgreSQL a few connections, named so
/// the monitor does not count them as the service's (and so that, with the services' own and
/// a baseline's, they stay within the server's `max_connections`).
async fn bench_pool(url: &str) -> anyhow::Result<Db> {
    if url.starts_with("postgres") {
        let options = sqlx::postgres::PgConnectOptions::from_str(url)?
            .application_name(crate::monitor::BENCH_APPLICATION);
        Ok(Db::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(3)
                .acquire_timeout(Duration::from_secs(60))
                .connect_with(options)
                .await?,
        ))
    } else {
        Ok(Db::connect(url).await?)
    }
}

/// Starts `program` with `env` and waits until it serves and says so.
async fn start(
    name: ServiceName,
    program: &Path,
    env: &[(&'static str, String)],
    addr: SocketAddr,
    test_db: TestDb,
) -> anyhow::Result<Service> {
    let program = program.to_owned();
    let env = env.to_vec();
    let process = tokio::task::spawn_blocking(move || {
        let mut process = RunningBinary::start(&program, &env)?;
        process.wait_for_line("grpc server listening", START_TIMEOUT)?;
        anyhow::Ok(process)
    })
    .await??;
    let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy();
    let health_name = match name {
        ServiceName::Members => "rendezvous.members.v1.MemberService",
        ServiceName::Events => "rendezvous.events.v1.EventService",
        ServiceName::Notifications => "rendezvous.notifications.v1.NotificationService",
    };
    wait_serving(channel, health_name)
        .await
        .with_context(|| format!("{} did not become SERVING", name.as_str()))?;
    let db = bench_pool(&test_db.url)
        .await
        .with_context(|| format!("opening {}'s database", name.as_str()))?;
    Ok(Service {
        name,
        addr,
        db,
        process,
        test_db,
    })
}
