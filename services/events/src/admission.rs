//! Admission of RSVPs in small batches.
//!
//! Each RSVP is its own short transaction on the event row in principle, but on PostgreSQL a
//! popular event under many concurrent callers then becomes a lock convoy: every transaction
//! queues on the same row lock and throughput collapses; and RSVPs spread over many events
//! each pay a transaction (its round trips and its commit) on a pool of a few connections.
//! Here the RSVPs that arrive while a transaction is running queue in memory and are admitted
//! together in the next one (up to `max_batch`, to any events), each event's in arrival
//! order ([`Store::admit_all`]). Correctness never depends on this: the database locks and
//! the rules decide, so any number of replicas may admit to one event.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus::{Histogram, HistogramOpts};
use rendezvous_common::clock::Clock;
use rendezvous_common::metrics::Metrics;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::store::{AdmitRequest, RsvpOutcome, RsvpRefusal, Store};

/// The result of one admission.
pub type Admitted = Result<RsvpOutcome, AdmitError>;

/// Why an RSVP was not admitted.
#[derive(Clone, Debug)]
pub enum AdmitError {
    /// The event refused the RSVP (and every other to it in the batch).
    Refused(RsvpRefusal),
    /// The database failed the batch; the error is shared by every RSVP in it.
    Database(Arc<sqlx::Error>),
}

struct Job {
    event_id: Uuid,
    request: AdmitRequest,
    reply: oneshot::Sender<Admitted>,
}

pub struct Admission {
    store: Store,
    clock: Clock,
    max_batch: usize,
    idle: Duration,
    /// The queue of the running worker, if one runs.
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    /// RSVPs per admitted batch, when the service keeps metrics.
    batch_sizes: Option<Histogram>,
}

/// The histogram of RSVPs per admission batch, registered in `metrics`.
pub fn batch_sizes(metrics: &Metrics) -> Result<Histogram, prometheus::Error> {
    metrics.register(Histogram::with_opts(
        HistogramOpts::new(
            "rendezvous_rsvp_admission_batch_size",
            "RSVPs admitted together in one transaction.",
        )
        .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
    )?)
}

impl Admission {
    pub fn new(store: Store, clock: Clock, max_batch: usize) -> Arc<Self> {
        Self::counted(store, clock, max_batch, None)
    }

    /// Like [`Admission::new`], counting the size of every batch in `batch_sizes`.
    pub fn counted(
        store: Store,
        clock: Clock,
        max_batch: usize,
        batch_sizes: Option<Histogram>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            clock,
            max_batch: max_batch.max(1),
            idle: Duration::from_secs(2),
            queue: Mutex::new(None),
            batch_sizes,
        })
    }

    /// Admits one answer, batched with others that arrive meanwhile.
    pub async fn admit(self: &Arc<Self>, event_id: Uuid, request: AdmitRequest) -> Admitted {
        let (reply, answer) = oneshot::channel();
        let mut job = Job {
            event_id,
            request,
            reply,
        };
        loop {
            let sender = self.queue();
            match sender.send(job).await {
                Ok(()) => break,
                // The worker retired between lookup and send: start a new one.
                Err(mpsc::error::SendError(returned)) => {
                    job = returned;
                    self.retire(&sender);
                }
            }
        }
        answer
            .await
            .unwrap_or_else(|_| Err(AdmitError::Database(Arc::new(sqlx::Error::PoolClosed))))
    }

    fn queue(self: &Arc<Self>) -> mpsc::Sender<Job> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = queue.as_ref() {
            return sender.clone();
        }
        let (sender, receiver) = mpsc::channel(1024);
        *queue = Some(sender.clone());
        tokio::spawn(Arc::clone(self).work(sender.clone(), receiver));
        sender
    }

    fn retire(&self, sender: &mpsc::Sender<Job>) {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.as_ref().is_some_and(|s| s.same_channel(sender)) {
            *queue = None;
        }
    }

    async fn work(self: Arc<Self>, own: mpsc::Sender<Job>, mut jobs: mpsc::Receiver<Job>) {
        loop {
            let first = match tokio::time::timeout(self.idle, jobs.recv()).await {
                Ok(Some(job)) => job,
                _ => {
                    // Idle: retire, then admit whatever slipped in before retiring.
                    self.retire(&own);
                    drop(own);
                    jobs.close();
                    let mut rest = Vec::new();
                    while let Some(job) = jobs.recv().await {
                        rest.push(job);
                    }
                    while !rest.is_empty() {
                        let batch: Vec<Job> =
                            rest.drain(..rest.len().min(self.max_batch)).collect();
                        self.admit_batch(batch).await;
                    }
                    return;
                }
            };
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.admit_batch(batch).await;
        }
    }

    async fn admit_batch(&self, batch: Vec<Job>) {
        let answers: Vec<(Uuid, AdmitRequest)> = batch
            .iter()
            .map(|j| (j.event_id, j.request.clone()))
            .collect();
        if let Some(sizes) = &self.batch_sizes {
            sizes.observe(answers.len() as f64);
        }
        let now = self.clock.now_micros();
        match self.store.admit_all(&answers, now).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome.map_err(AdmitError::Refused));
                }
            }
            Err(error) => {
                tracing::warn!(%error, answers = answers.len(), "rsvp batch failed");
                let error = AdmitError::Database(Arc::new(error));
                for job in batch {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}
