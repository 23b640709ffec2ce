//! The closed-loop load driver: a fixed number of operations, `in_flight` of them at a time
//! (each worker starts the next as soon as its last one answered), every latency recorded in
//! an HDR histogram, every failure counted by its gRPC code (or its kind, for SQL).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

/// The longest latency recorded exactly: an hour, in microseconds (longer ones saturate); a
/// coffee round over ten million connections takes minutes.
const MAX_LATENCY_MICROS: u64 = 3_600_000_000;

/// Why one operation failed: its gRPC code's name (`Unavailable`, …) or a kind of its own
/// (`sql`, `stream`, …).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Self {
        Self(format!("{:?}", status.code()))
    }
}

impl From<sqlx::Error> for Failure {
    fn from(_: sqlx::Error) -> Self {
        Self("sql".to_owned())
    }
}

/// What one operation did: failed, or succeeded with a count of items (an RSVP is 1, a claim
/// of 100 rows is 100), so a rate can be per item as well as per call.
pub type OpResult = Result<u64, Failure>;

/// An empty latency histogram, in microseconds.
pub fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3) {
        Ok(histogram) => histogram,
        Err(error) => unreachable!("constant histogram bounds are valid: {error}"),
    }
}

/// Records `latency` (saturating at a minute).
pub fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.clamp(1, MAX_LATENCY_MICROS));
}

/// What a run of operations measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub calls: u64,
    /// Items the successful calls did (see [`OpResult`]).
    pub items: u64,
    pub elapsed: Duration,
    /// Latency of every call, successful or not, in microseconds.
    pub latencies: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
}

impl Outcome {
    /// Items per second.
    pub fn items_per_sec(&self) -> f64 {
        per_sec(self.items, self.elapsed)
    }

    /// The latency at `quantile` (0.5, 0.99, …).
    pub fn latency(&self, quantile: f64) -> Duration {
        Duration::from_micros(self.latencies.value_at_quantile(quantile))
    }

    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// `count` per second of `elapsed`.
pub fn per_sec(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        // Counts here stay far below 2^52: exact as f64.
        #[allow(clippy::cast_precision_loss)]
        let count = count as f64;
        count / secs
    } else {
        0.0
    }
}

/// A progress bar for `total` steps labelled `label`; it draws only when stderr is a
/// terminal, so CI logs get the summary table alone.
pub fn progress(label: &str, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>34} [{bar:30}] {pos}/{len} {per_sec} {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_owned());
    bar
}

/// Runs `op(0)`, `op(1)`, … `op(calls - 1)`, `in_flight` at a time, and measures them.
pub async fn run<F, Fut>(label: &str, calls: u64, in_flight: usize, op: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = OpResult> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let bar = progress(label, calls);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight.max(1) {
        let op = Arc::clone(&op);
        let next = Arc::clone(&next);
        let bar = bar.clone();
        workers.spawn(async move {
            let mut latencies = histogram();
            let mut items = 0;
            let mut errors = BTreeMap::<String, u64>::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls {
                    break;
                }
                let start = Instant::now();
                let result = op(i).await;
                record(&mut latencies, start.elapsed());
                match result {
                    Ok(done) => items += done,
                    Err(Failure(kind)) => *errors.entry(kind).or_default() += 1,
                }
                bar.inc(1);
            }
            (latencies, items, errors)
        });
    }
    let mut outcome = Outcome {
        calls,
        items: 0,
        elapsed: Duration::ZERO,
        latencies: histogram(),
        errors: BTreeMap::new(),
    };
    while let Some(worker) = workers.join_next().await {
        match worker {
            Ok((latencies, items, errors)) => {
                let _ = outcome.latencies.add(&latencies);
                outcome.items += items;
                for (kind, count) in errors {
                    *outcome.errors.entry(kind).or_default() += count;
                }
            }
            Err(_) => *outcome.errors.entry("panic".to_owned()).or_default() += 1,
        }
    }
    outcome.elapsed = started.elapsed();
    bar.finish_and_clear();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_call_runs_once_and_failures_are_counted_by_kind() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let outcome = run("test", 100, 8, move |i| {
            let log = Arc::clone(&log);
            async move {
                if let Ok(mut log) = log.lock() {
                    log.push(i);
                }
                if i % 10 == 0 {
                    Err(Failure("Unavailable".to_owned()))
                } else {
                    Ok(2)
                }
            }
        })
        .await;
        let mut seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        assert_eq!(outcome.calls, 100);
        assert_eq!(outcome.items, 180);
        assert_eq!(outcome.latencies.len(), 100);
        assert_eq!(outcome.errors.get("Unavailable"), Some(&10));
        assert_eq!(outcome.failed(), 10);
    }

    #[tokio::test]
    async fn no_more_than_in_flight_calls_run_at_once() {
        let running = Arc::new(AtomicU64::new(0));
        let most = Arc::new(AtomicU64::new(0));
        let (r, m) = (Arc::clone(&running), Arc::clone(&most));
        run("test", 200, 5, move |_| {
            let (running, most) = (Arc::clone(&r), Arc::clone(&m));
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(1)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(1)
            }
        })
        .await;
        assert_eq!(most.load(Ordering::SeqCst), 5);
    }
}
