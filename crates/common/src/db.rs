//! The database pool, chosen by URL (`sqlite:` or `postgres:`), and per-backend migrations.
//!
//! Store code is written once and compiled for both backends with [`with_db!`]: the body runs
//! against a concrete `SqlitePool` or `PgPool`, so every query is typed by its real driver.
//! SQL is kept to the dialect both share (`$n` placeholders, `ON CONFLICT`, `RETURNING`, row
//! values); where they differ the store asks [`Db::backend`].

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// Connections of a service's PostgreSQL pool: nine, so that no service holds more than ten
/// (notifications holds one more for `LISTEN`). Every query is short and the pool is shared by
/// all of a replica's requests and jobs; more connections only make more backends contend for
/// the same locks and cores of the database server. Deploy more replicas, not bigger
/// pools.
pub const POSTGRES_POOL_SIZE: u32 = 9;

impl Migrations {
    /// Checks that every file under `dir/sqlite` and `dir/postgres` is listed, under the
    /// number its name starts with and with the same text (a file left out of the list would
    /// never run, and nothing else would notice), and that the versions only go up. Some
    /// listed migrations are shared ones (the outbox's) with no file of the service. For a
    /// unit test of each service.
    pub fn check_files(&self, dir: &std::path::Path) -> Result<(), String> {
        for (backend, listed) in [("sqlite", self.sqlite), ("postgres", self.postgres)] {
            let folder = dir.join(backend);
            let entries = std::fs::read_dir(&folder).map_err(|e| format!("{folder:?}: {e}"))?;
            for entry in entries {
                let path = entry.map_err(|e| e.to_string())?.path();
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_owned();
                let version = name
                    .split('_')
                    .next()
                    .and_then(|n| n.parse::<i64>().ok())
                    .ok_or_else(|| format!("{name}: not named <number>_<what>.sql"))?;
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
                match listed.iter().find(|(v, _, _)| *v == version) {
                    Some((_, _, sql)) if *sql == text => {}
                    Some(_) => return Err(format!("{backend}/{name}: listed with another text")),
                    None => return Err(format!("{backend}/{name}: not listed, so never run")),
                }
            }
            if listed.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
                return Err(format!("{backend}: versions out of order"));
            }
        }
        Ok(())
    }
}

/// Which database a pool talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool on either backend.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One versioned migration: `(version, description, sql)`.
pub type MigrationSource = (i64, &'static str, &'static str);

/// A service's migrations, one list per backend.
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    pub sqlite: &'static [MigrationSource],
    pub postgres: &'static [MigrationSource],
}

/// Runs `$body` with `$pool` bound to the concrete pool of `$db`, once per backend, so each
/// query is typed by its real driver.
///
/// Written like a closure, `with_db!(db, |pool| { ... })`, so that rustfmt formats the body
/// (the body is inlined into each match arm, not called: it may use `.await` and `?` of the
/// enclosing async function).
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

impl Backend {
    /// The clause that locks the selected rows until the transaction ends: ` FOR UPDATE` on
    /// PostgreSQL, nothing on SQLite, whose write transactions ([`BeginWrite`]) already hold
    /// the database's one write lock.
    pub const fn for_update(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Like [`Backend::for_update`], but rows another transaction has locked are skipped
    /// instead of waited for (work queues shared by replicas).
    pub const fn for_update_skip_locked(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }
}

/// Locks held until the end of the current transaction, written once for both backends.
pub trait Locks {
    /// This connection's backend, for SQL that differs by dialect.
    const BACKEND: Backend;

    /// Serialises the transactions that lock the same `key` (for example a pair of members,
    /// or a host's weekly invitation budget) until commit or rollback: an advisory lock on
    /// PostgreSQL; nothing on SQLite, whose write transactions are serial already.
    fn advisory_lock(&mut self, key: &str) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

impl Locks for sqlx::SqliteConnection {
    const BACKEND: Backend = Backend::Sqlite;

    async fn advisory_lock(&mut self, _key: &str) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl Locks for sqlx::PgConnection {
    const BACKEND: Backend = Backend::Postgres;

    async fn advisory_lock(&mut self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(&mut *self)
            .await
            .map(drop)
    }
}

/// Opens write transactions the right way for each backend.
pub trait BeginWrite {
    type Database: sqlx::Database;
    /// A transaction that will write. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`), so concurrent writers wait on the busy timeout instead of failing with
    /// SQLITE_BUSY when a read transaction tries to upgrade.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Database>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Database = Sqlite;
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Database = Postgres;
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin().await
    }
}

impl Db {
    /// Connects to `url`; a SQLite file is created when missing.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?;
            // The file (password hashes, for members) is made by us, private, before SQLite
            // opens it: SQLite would create it with the process's umask, and gives its WAL and
            // shared-memory files the database file's mode.
            if !(url.contains(":memory:") || url.contains("mode=memory")) {
                create_private(options.get_filename()).map_err(sqlx::Error::Io)?;
            }
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?;
            Ok(Self::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_POOL_SIZE)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Self::Postgres(pool))
        } else {
            Err(sqlx::Error::Configuration(
                "database URL must start with sqlite: or postgres:".into(),
            ))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(
        &self,
        migrations: &Migrations,
    ) -> Result<(), sqlx::migrate::MigrateError> {
        let sources = match self.backend() {
            Backend::Sqlite => migrations.sqlite,
            Backend::Postgres => migrations.postgres,
        };
        let migrator = Migrator::with_migrations(
            sources
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        sqlx::AssertSqlSafe(*sql).into_sql_str(),
                        false,
                    )
                })
                .collect(),
        );
        match self {
            Self::Sqlite(pool) => migrator.run(pool).await,
            Self::Postgres(pool) => migrator.run(pool).await,
        }
    }

    pub async fn close(&self) {
        with_db!(self, |pool| pool.close().await)
    }
}

use sqlx::SqlSafeStr as _;

/// Creates `path` as an empty file readable by its owner only (an empty file is a valid new
/// SQLite database), and its missing parent folders as 0700; an existing file is left as it
/// is.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(error) => Err(error),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Creates `dir` and its missing parents as 0700 (owner only) where they do not exist yet;
/// an existing folder is left as it is.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
