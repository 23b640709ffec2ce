//! RSVP admission on one hot event, with 1, 8 and 64 concurrent callers each sending RSVPs for
//! fresh members: (a) baseline, every RSVP its own transaction (`Store::admit` with one
//! request); (b) batched, through the per-event batcher (`Admission::rsvp`, up to 32 RSVPs per
//! transaction). The capacity is large enough that every RSVP is confirmed, so the work per
//! RSVP is the same throughout. Runs on SQLite (a fresh temporary file) and, when
//! `RENDEZVOUS_TEST_POSTGRES_URL` is set, on PostgreSQL (a fresh database, the testkit's
//! `TestDb`, dropped at the end, on a panic or on Ctrl-C). Run with
//! `cargo bench -p rendezvous-events --bench rsvp`.
//!
//! Both modes go through the service's own pool (`Db::connect`: 4 connections on SQLite, 16
//! on PostgreSQL), so at 64 callers the baseline has at most 16 transactions on the row at
//! once. On PostgreSQL a third mode, `baseline, 1 conn/caller`, gives every caller its own
//! connection, as the "64 clients" of a raw lock-convoy measurement have.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails by panicking"
)]

use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_events::admission::Admission;
use rendezvous_events::domain::rsvp::{RsvpState, WaitlistMode};
use rendezvous_events::store::{MIGRATIONS, Store};
use rendezvous_testkit::event_store::{going, publish_new_event};
use rendezvous_testkit::{Backend, TestDb, postgres_url};
use uuid::Uuid;

const CALLERS: [usize; 3] = [1, 8, 64];
/// RSVPs per measured configuration.
const RSVPS: usize = 3_000;
/// RSVPs per configuration of the unreported warm-up.
const WARM_UP_RSVPS: usize = 400;
const MAX_BATCH: usize = 32;
/// Far more seats than RSVPs: every RSVP is confirmed.
const CAPACITY: u32 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `Store::admit` with one request per call, on the service's pool.
    Baseline,
    /// The same on a pool with one connection per caller (PostgreSQL only).
    BaselineOwnConnections,
    /// `Admission::rsvp`, up to `MAX_BATCH` per transaction, on the service's pool.
    Batched,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::BaselineOwnConnections => "baseline, 1 conn/caller",
            Self::Batched => "batched",
        }
    }
}

/// One measured configuration.
struct Sample {
    backend: Backend,
    mode: Mode,
    callers: usize,
    rsvps: usize,
    elapsed: Duration,
    /// Per-RSVP latencies, sorted.
    latencies: Vec<Duration>,
    /// Transactions the RSVPs were admitted in.
    transactions: i64,
}

impl Sample {
    fn per_sec(&self) -> f64 {
        f64::from(u32::try_from(self.rsvps).unwrap()) / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile.
    fn percentile(&self, p: usize) -> Duration {
        let rank = (self.latencies.len() * p).div_ceil(100).max(1);
        self.latencies[rank - 1]
    }
}

/// `now` as `Admission` passes it to the store: whole microseconds, as PostgreSQL stores it.
fn now_micros() -> DateTime<Utc> {
    rendezvous_common::clock::Clock::system().now_micros()
}

/// A PostgreSQL pool like the service's, but with `connections` connections.
async fn own_connections_pool(url: &str, connections: usize) -> Store {
    let options = sqlx::postgres::PgConnectOptions::from_str(url).unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(u32::try_from(connections).unwrap())
        .min_connections(u32::try_from(connections).unwrap())
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .unwrap();
    Store::new(Db::Postgres(pool))
}

/// Admits `rsvps` RSVPs for fresh members to a fresh event, from `callers` concurrent callers.
async fn measure(
    backend: Backend,
    store: &Store,
    mode: Mode,
    callers: usize,
    rsvps: usize,
) -> Sample {
    let event = publish_new_event(store, CAPACITY, WaitlistMode::Automatic)
        .await
        .unwrap();
    let members: Arc<Vec<Uuid>> = Arc::new((0..rsvps).map(|_| Uuid::now_v7()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let admission = Admission::new(store.clone(), Clock::system(), MAX_BATCH);
    let started = Instant::now();
    // Dropping the set (on Ctrl-C) aborts the callers.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let (store, admission) = (store.clone(), Arc::clone(&admission));
        let (members, next) = (Arc::clone(&members), Arc::clone(&next));
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(members.len() / callers + 1);
            // Each caller takes the next fresh member until all are sent.
            while let Some(member) = members.get(next.fetch_add(1, Ordering::Relaxed)) {
                let request = going(member);
                let sent = Instant::now();
                let outcome = match mode {
                    Mode::Baseline | Mode::BaselineOwnConnections => store
                        .admit(event, std::slice::from_ref(&request), now_micros())
                        .await
                        .unwrap()
                        .pop()
                        .unwrap(),
                    Mode::Batched => admission.admit(event, request).await.unwrap(),
                };
                latencies.push(sent.elapsed());
                assert_eq!(outcome.state, RsvpState::Confirmed);
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(rsvps);
    while let Some(caller) = tasks.join_next().await {
        latencies.extend(caller.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    assert_eq!(latencies.len(), rsvps);
    let counts = store.status_counts(event).await.unwrap();
    assert_eq!(
        counts,
        [("confirmed".to_owned(), i64::try_from(rsvps).unwrap())]
    );
    // The RSVPs of one transaction share its `now`.
    let transactions: i64 = rendezvous_common::with_db!(store.db(), |pool| {
        sqlx::query_scalar("SELECT COUNT(DISTINCT created_at) FROM rsvps WHERE event_id = $1")
            .bind(event.to_string())
            .fetch_one(pool)
            .await
            .unwrap()
    });
    Sample {
        backend,
        mode,
        callers,
        rsvps,
        elapsed,
        latencies,
        transactions,
    }
}

/// Every configuration on one backend, after an unreported warm-up.
async fn bench(backend: Backend) -> Vec<Sample> {
    let database = TestDb::new(backend).await.unwrap();
    let db = Db::connect(&database.url).await.unwrap();
    db.migrate(&MIGRATIONS).await.unwrap();
    let store = Store::new(db);
    let mut modes = vec![Mode::Baseline, Mode::Batched];
    if backend == Backend::Postgres {
        modes.push(Mode::BaselineOwnConnections);
    }

    let pool_size = rendezvous_common::with_db!(store.db(), |pool| {
        usize::try_from(pool.options().get_max_connections()).unwrap()
    });

    let mut samples = Vec::new();
    for warm_up in [true, false] {
        for &callers in &CALLERS {
            for &mode in &modes {
                // Up to the pool's size, the baseline has a connection per caller already.
                if mode == Mode::BaselineOwnConnections && callers <= pool_size {
                    continue;
                }
                let own;
                let store = if mode == Mode::BaselineOwnConnections {
                    own = own_connections_pool(&database.url, callers).await;
                    &own
                } else {
                    &store
                };
                let rsvps = if warm_up { WARM_UP_RSVPS } else { RSVPS };
                let sample = measure(backend, store, mode, callers, rsvps).await;
                if mode == Mode::BaselineOwnConnections {
                    store.db().close().await;
                }
                if !warm_up {
                    eprintln!(
                        "{backend:?} {} x{callers}: {:.0} RSVPs/s in {:.2} s",
                        mode.name(),
                        sample.per_sec(),
                        sample.elapsed.as_secs_f64()
                    );
                    samples.push(sample);
                }
            }
        }
    }
    store.db().close().await;
    drop(database);
    samples
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print_table(samples: &[Sample]) {
    println!();
    println!(
        "RSVP admission on one hot event, {RSVPS} RSVPs per row (fresh members, all confirmed), \
         max_batch {MAX_BATCH}"
    );
    println!(
        "{:<9} {:<24} {:>7} {:>9} {:>9} {:>9} {:>9} {:>16} {:>18}",
        "backend",
        "mode",
        "callers",
        "RSVPs/s",
        "p50 ms",
        "p99 ms",
        "RSVPs/tx",
        "batched/baseline",
        "/1 conn per caller"
    );
    for s in samples {
        let ratio = |mode: Mode| {
            let base = samples
                .iter()
                .find(|b| b.backend == s.backend && b.callers == s.callers && b.mode == mode);
            match base {
                Some(b) if s.mode == Mode::Batched => format!("{:.2}", s.per_sec() / b.per_sec()),
                _ => String::new(),
            }
        };
        let per_tx = f64::from(u32::try_from(s.rsvps).unwrap())
            / f64::from(u32::try_from(s.transactions.max(1)).unwrap());
        println!(
            "{:<9} {:<24} {:>7} {:>9.0} {:>9.2} {:>9.2} {:>9.1} {:>16} {:>18}",
            format!("{:?}", s.backend),
            s.mode.name(),
            s.callers,
            s.per_sec(),
            ms(s.percentile(50)),
            ms(s.percentile(99)),
            per_tx,
            ratio(Mode::Baseline),
            ratio(Mode::BaselineOwnConnections)
        );
    }
    println!(
        "(ratios: the batched row's RSVPs/s over that of the baseline row of the same backend and \
         callers; RSVPs/tx counts the distinct commit timestamps)"
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let run = async {
            let mut samples = bench(Backend::Sqlite).await;
            if postgres_url().is_some() {
                samples.extend(bench(Backend::Postgres).await);
            } else {
                eprintln!("PostgreSQL: skipped (RENDEZVOUS_TEST_POSTGRES_URL is not set)");
            }
            samples
        };
        // On Ctrl-C the run is dropped, and with it the database it created.
        tokio::select! {
            samples = run => print_table(&samples),
            _ = tokio::signal::ctrl_c() => eprintln!("interrupted"),
        }
    });
}
