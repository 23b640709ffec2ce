//! What each service process holds while a scenario runs: its peak resident memory (the
//! kernel's high-water mark, reset at the start) and the most database connections it had
//! open (PostgreSQL's `pg_stat_activity` for its database; on SQLite, its open handles to
//! its database file), sampled every 100 ms.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sqlx::Connection as _;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::procfs;
use crate::stack::Stack;

const PERIOD: Duration = Duration::from_millis(100);
/// What the bench's own pools call themselves, so their connections are not counted.
pub const BENCH_APPLICATION: &str = "rendezvous-bench";

/// One process's figures over a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProcessFigures {
    pub service: String,
    /// Resident memory before the run started (after the seeding), in KiB.
    pub idle_kib: u64,
    /// The most resident memory during the run, in KiB.
    pub peak_kib: u64,
    /// The most database connections open at once during the run.
    pub peak_connections: u64,
}

/// Where to look for one process.
#[derive(Clone)]
struct Watched {
    service: String,
    pid: u32,
    sqlite_file: Option<PathBuf>,
    postgres_database: Option<String>,
}

/// A sampler running beside a scenario.
pub struct Monitor {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Vec<ProcessFigures>>,
}

impl Monitor {
    /// Starts watching the stack's processes (and `extra`, a baseline's server, by name).
    pub fn start(
        stack: Option<&Stack>,
        extra: &[(&str, u32)],
        postgres_server: Option<&str>,
    ) -> Self {
        let mut watched: Vec<Watched> = stack
            .map(|stack| {
                stack
                    .services()
                    .iter()
                    .map(|service| Watched {
                        service: service.name.as_str().to_owned(),
                        pid: service.pid(),
                        sqlite_file: service.sqlite_file(),
                        postgres_database: service.postgres_database(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        watched.extend(extra.iter().map(|(name, pid)| Watched {
            service: (*name).to_owned(),
            pid: *pid,
            sqlite_file: None,
            postgres_database: None,
        }));
        let stop = CancellationToken::new();
        let task = tokio::spawn(sample(
            watched,
            postgres_server.map(str::to_owned),
            stop.clone(),
        ));
        Self { stop, task }
    }

    /// Stops sampling: each process's figures.
    pub async fn finish(self) -> Vec<ProcessFigures> {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

async fn sample(
    watched: Vec<Watched>,
    postgres_server: Option<String>,
    stop: CancellationToken,
) -> Vec<ProcessFigures> {
    let mut figures: Vec<ProcessFigures> = watched
        .iter()
        .map(|w| {
            let idle = procfs::memory_kib(w.pid).map_or(0, |(rss, _)| rss);
            procfs::reset_peak(w.pid);
            ProcessFigures {
                service: w.service.clone(),
                idle_kib: idle,
                peak_kib: idle,
                peak_connections: 0,
            }
        })
        .collect();
    let postgres = Arc::new(Mutex::new(match &postgres_server {
        Some(url) => connect(url).await,
        None => None,
    }));
    let databases: Vec<String> = watched
        .iter()
        .filter_map(|w| w.postgres_database.clone())
        .collect();
    loop {
        let counts = match (&mut *postgres.lock().await, databases.is_empty()) {
            (Some(conn), false) => postgres_connections(conn, &databases).await,
            _ => BTreeMap::new(),
        };
        for (w, f) in watched.iter().zip(figures.iter_mut()) {
            if let Some((rss, peak)) = procfs::memory_kib(w.pid) {
                f.peak_kib = f.peak_kib.max(rss).max(peak);
            }
            let connections = match (&w.sqlite_file, &w.postgres_database) {
                (Some(file), _) => procfs::open_handles_to(w.pid, file).unwrap_or(0),
                (_, Some(database)) => counts.get(database).copied().unwrap_or(0),
                _ => 0,
            };
            f.peak_connections = f.peak_connections.max(connections);
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(PERIOD) => {}
        }
    }
    figures
}

async fn connect(url: &str) -> Option<sqlx::PgConnection> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .ok()?
        .application_name(BENCH_APPLICATION);
    sqlx::PgConnection::connect_with(&options).await.ok()
}

/// Open connections to each of `databases`, the bench's own left out.
async fn postgres_connections(
    conn: &mut sqlx::PgConnection,
    databases: &[String],
) -> BTreeMap<String, u64> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT datname::text, COUNT(*) FROM pg_stat_activity \
         WHERE datname::text = ANY($1) AND application_name <> $2 GROUP BY datname",
    )
    .bind(databases)
    .bind(BENCH_APPLICATION)
    .fetch_all(conn)
    .await
    .unwrap_or_default();
    rows.into_iter()
        .map(|(name, count)| (name, u64::try_from(count).unwrap_or(0)))
        .collect()
}
