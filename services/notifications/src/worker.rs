//! The delivery worker: leases due deliveries (scheduled in-app notifications, emails and
//! retries), sends them, and records each outcome with exponential back-off and jitter, until
//! a bounded number of attempts marks a delivery dead with its last error kept.
//!
//! An email is fenced by its lease. The claim gives each delivery a fresh lease token; before
//! sending, the worker counts the attempt and renews the lease, both only if the delivery
//! still holds its token (else another worker has it, and this one does not send); after
//! sending it records the outcome under the same condition. The lease outlives the longest
//! send (`send_timeout`, checked by the configuration), so no other worker can take a
//! delivery while its email is on the way. A worker that stalls past its lease anyway (a
//! frozen process) cannot record over the worker that took the delivery over; and a worker
//! that crashes mid-send leaves its attempt counted and the delivery to be sent again once
//! the lease runs out: at most one repeat per crash, with the same Message-ID.
//!
//! A crashed worker's leases are not waited out. Every worker beats in `delivery_workers`
//! every `beat_interval`, and a claim takes over the leases of a worker silent for
//! `dead_after` as if they had run out: a process killed mid-delivery holds up the batch it
//! claimed (and the emails it was sending) for seconds, not for the whole lease. A live worker
//! beats from a task of its own, even while a send takes long, so its leases are never taken;
//! one frozen for longer than `dead_after` (a paused VM) is treated as crashed, and is fenced
//! out like a worker that stalled past its lease.
//!
//! A batch's emails are sent `concurrency` at a time (each on its own connection of the SMTP
//! pool): one connection spends most of an email's time waiting on the round trips of the
//! SMTP exchange, not working. A crash cuts off at most that many sends, each repeated once.
//!
//! The same worker prunes, every `prune_interval`: finished deliveries after
//! `delivery_retention`, then notifications after `inbox_retention`, in statements of at most
//! `prune_batch` rows.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use futures::StreamExt as _;
use prometheus::{IntCounterVec, Opts};
use rendezvous_common::clock::Clock;
use rendezvous_common::metrics::Metrics;
use rendezvous_proto::notifications::v1::Channel;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::contacts::Contacts;
use crate::domain::{self, DeliveryState, QuietHours};
use crate::email::{Mailer, OutgoingEmail, SendError, build_message};
use crate::error::Error;
use crate::hub::Publisher;
use crate::render::{self, Locale};
use crate::store::{Claimant, DueDelivery, Outcome, Store};
use crate::unsubscribe::UnsubscribeTokens;

/// Tunables of the worker.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    pub poll_interval: StdDuration,
    pub batch_size: u32,
    /// How long a leased delivery stays with one worker before another may take it; renewed
    /// when an email's attempt begins. Must outlive `send_timeout`.
    pub lease: Duration,
    /// The longest one email may take to send, whole (connection and every SMTP exchange);
    /// a send still going then counts as failed (and is retried).
    pub send_timeout: StdDuration,
    /// How many of a batch's deliveries are handled at once (emails in flight).
    pub concurrency: usize,
    /// How often the worker says it is alive.
    pub beat_interval: StdDuration,
    /// How long a worker may go without beating before its leases are taken over: many beats,
    /// so that a slow database does not make a live worker look dead.
    pub dead_after: Duration,
    pub max_attempts: i64,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// `From` of emails.
    pub from: lettre::message::Mailbox,
    /// Base URL of this service's HTTP listener as recipients reach it: emails link to
    /// `{public_url}/unsubscribe?token=…` (List-Unsubscribe and the footer).
    pub public_url: String,
    /// How long a notification stays in the inbox (read or not) before it is pruned.
    pub inbox_retention: Duration,
    /// How long a finished delivery (sent, suppressed, dead, cancelled) stays in the delivery
    /// log before it is pruned.
    pub delivery_retention: Duration,
    /// How often the worker prunes.
    pub prune_interval: StdDuration,
    /// Most rows one pruning statement deletes.
    pub prune_batch: u32,
}

impl WorkerSettings {
    pub fn new(from: lettre::message::Mailbox, public_url: String) -> Self {
        Self {
            poll_interval: StdDuration::from_millis(200),
            batch_size: 50,
            lease: Duration::seconds(60),
            send_timeout: StdDuration::from_secs(30),
            concurrency: 8,
            beat_interval: StdDuration::from_secs(1),
            dead_after: Duration::seconds(5),
            max_attempts: 6,
            base_backoff: Duration::seconds(2),
            max_backoff: Duration::minutes(30),
            from,
            public_url,
            inbox_retention: Duration::days(180),
            delivery_retention: Duration::days(30),
            prune_interval: StdDuration::from_secs(10 * 60),
            prune_batch: 1000,
        }
    }

    /// Refuses a lease that does not outlive the longest send: another worker could then
    /// take a delivery whose email is still on the way, and send it twice.
    pub fn check_lease(&self) -> Result<(), String> {
        let send = Duration::from_std(self.send_timeout).unwrap_or(Duration::MAX);
        if self.lease > send {
            Ok(())
        } else {
            Err(format!(
                "the email lease ({} s) must be longer than the email send timeout ({} s)",
                self.lease.num_seconds(),
                self.send_timeout.as_secs()
            ))
        }
    }
}

/// Runs `delete` (one statement deleting at most `batch` rows) until it deletes fewer, and
/// returns how many it deleted in all, counting its statements into `statements`.
async fn until_done<F, Fut>(
    batch: u32,
    statements: &mut u32,
    mut delete: F,
) -> Result<u64, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, sqlx::Error>>,
{
    let mut total = 0;
    loop {
        let deleted = delete().await?;
        total += deleted;
        *statements += 1;
        if deleted < u64::from(batch) {
            return Ok(total);
        }
        // Let deliveries and requests in between two statements.
        tokio::task::yield_now().await;
    }
}

/// What one pruning round deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: u64,
    pub notifications: u64,
    /// DELETE statements (each of at most `prune_batch` rows) it took.
    pub statements: u32,
}

pub struct Worker {
    pub store: Store,
    pub clock: Clock,
    pub contacts: Contacts,
    pub mailer: Mailer,
    /// Where in-app items shown late are announced to the streams.
    pub publisher: Publisher,
    /// Signs the one-click unsubscribe link of each email.
    pub unsubscribe: UnsubscribeTokens,
    pub settings: WorkerSettings,
    pub deliveries: Deliveries,
}

/// Deliveries handled by the worker, by channel and outcome (the state each attempt left the
/// delivery in, `shown` for an in-app item shown late).
#[derive(Clone, Debug)]
pub struct Deliveries(IntCounterVec);

impl Deliveries {
    /// The counter, registered in `metrics`.
    pub fn register(metrics: &Metrics) -> Result<Self, prometheus::Error> {
        metrics
            .register(IntCounterVec::new(
                Opts::new(
                    "rendezvous_notification_deliveries_total",
                    "Delivery attempts handled by the worker, by channel and outcome.",
                ),
                &["channel", "outcome"],
            )?)
            .map(Self)
    }

    fn count(&self, channel: Channel, outcome: &str) {
        let channel = match channel {
            Channel::InApp => "in_app",
            Channel::Email => "email",
            Channel::Unspecified => "unspecified",
        };
        self.0.with_label_values(&[channel, outcome]).inc();
    }
}

impl Worker {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now_micros()
    }

    /// Runs passes until `shutdown` is cancelled, pruning every `prune_interval`, and beats
    /// meanwhile; a worker that stops says so, so its place is not kept.
    pub async fn run(self, shutdown: CancellationToken) {
        let id = Uuid::now_v7();
        // Alive before the first claim, so that no other worker takes its first leases.
        self.beat(id).await;
        tokio::join!(self.beat_until(id, &shutdown), self.work(id, &shutdown));
        let silent_before = self.now() - Duration::days(1);
        if let Err(error) = self.store.forget_workers(id, silent_before).await {
            tracing::warn!(%error, "could not forget the delivery worker");
        }
    }

    async fn beat(&self, id: Uuid) {
        if let Err(error) = self.store.beat(id, self.now()).await {
            tracing::warn!(%error, "delivery worker beat failed");
        }
    }

    async fn beat_until(&self, id: Uuid, shutdown: &CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.settings.beat_interval) => self.beat(id).await,
            }
        }
    }

    async fn work(&self, id: Uuid, shutdown: &CancellationToken) {
        let mut next_prune = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_prune {
                next_prune += self.settings.prune_interval;
                match self.prune_once().await {
                    Ok(pruned) if pruned.deliveries + pruned.notifications > 0 => tracing::info!(
                        deliveries = pruned.deliveries,
                        notifications = pruned.notifications,
                        "notifications pruned"
                    ),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "pruning notifications failed"),
                }
            }
            let handled = match self.run_once(id).await {
                Ok(n) => n,
                Err(error) => {
                    tracing::warn!(%error, "delivery pass failed");
                    0
                }
            };
            if handled < self.settings.batch_size as usize {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                }
            } else if shutdown.is_cancelled() {
                return;
            }
        }
    }

    /// Deletes, at the clock's now, finished deliveries past `delivery_retention` and then
    /// notifications past `inbox_retention` (with their deliveries), `prune_batch` rows per
    /// statement until none is left.
    pub async fn prune_once(&self) -> Result<Pruned, sqlx::Error> {
        let now = self.now();
        let batch = self.settings.prune_batch.max(1);
        let mut statements = 0;
        let deliveries = until_done(batch, &mut statements, || {
            self.store
                .prune_deliveries(now - self.settings.delivery_retention, batch)
        })
        .await?;
        let notifications = until_done(batch, &mut statements, || {
            self.store
                .prune_notifications(now - self.settings.inbox_retention, batch)
        })
        .await?;
        Ok(Pruned {
            deliveries,
            notifications,
            statements,
        })
    }

    /// One pass of the worker `id`: claims a batch and handles `concurrency` of its
    /// deliveries at a time; returns how many it handled, or the first error once all are
    /// done.
    async fn run_once(&self, id: Uuid) -> Result<usize, sqlx::Error> {
        let now = self.now();
        let claim = Claimant {
            holder: id,
            dead_before: now - self.settings.dead_after,
        };
        let due = self
            .store
            .claim_due(now, self.settings.lease, self.settings.batch_size, claim)
            .await?;
        // One GetContacts for the batch's emails rather than one per email: each email then
        // finds its contact cached. If members does not answer, each email says so itself.
        let recipients: Vec<Uuid> = due
            .iter()
            .filter(|d| d.channel == Channel::Email && !d.cancelled)
            .map(|d| d.recipient_id)
            .collect();
        if !recipients.is_empty() {
            let _ = self.contacts.get(&recipients).await;
        }
        // The futures are made first: a closure mapping the stream itself makes the spawned
        // task fail the compiler's `Send` check ("not general enough").
        let handles: Vec<_> = due.iter().map(|delivery| self.handle(delivery)).collect();
        let mut handled =
            futures::stream::iter(handles).buffer_unordered(self.settings.concurrency.max(1));
        let mut first_error = None;
        while let Some(result) = handled.next().await {
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(due.len()),
        }
    }

    async fn handle(&self, due: &DueDelivery) -> Result<(), sqlx::Error> {
        let now = self.now();
        if due.cancelled {
            return self
                .record(due, DeliveryState::Cancelled, false, None, now)
                .await;
        }
        if due.channel == Channel::InApp {
            match self.store.show_in_app(due, now).await? {
                Some(item) => {
                    self.deliveries.count(due.channel, "shown");
                    self.publisher.published(vec![item]);
                }
                None => tracing::info!(delivery = %due.id, "lease lost; another worker shows it"),
            }
            return Ok(());
        }
        let contact = match self
            .contacts
            .get(std::slice::from_ref(&due.recipient_id))
            .await
        {
            Ok(mut found) => found.remove(&due.recipient_id),
            Err(Error::ContactsUnavailable(status)) => {
                let error = format!("contacts unavailable: {}", status.message());
                return self.retry(due, &error, false, true).await;
            }
            Err(error) => return self.retry(due, &error.to_string(), false, true).await,
        };
        let Some(contact) = contact.filter(|c| !c.deleted && !c.email.is_empty()) else {
            let error = Some("recipient has no email address");
            return self
                .record(due, DeliveryState::Suppressed, false, error, now)
                .await;
        };
        let settings = self.store.quiet_hours(due.recipient_id).await?;
        let tz: Tz = settings
            .time_zone
            .as_deref()
            .unwrap_or(&contact.time_zone)
            .parse()
            .unwrap_or(Tz::UTC);
        if let Some(quiet) = settings.quiet.filter(|q| q.enabled) {
            let hours = QuietHours {
                start_minute: u32::try_from(quiet.start_minute).unwrap_or(0),
                end_minute: u32::try_from(quiet.end_minute).unwrap_or(0),
            };
            if let Some(until) = hours.quiet_until(now, tz) {
                tracing::debug!(delivery = %due.id, %until, "held back by quiet hours");
                return self
                    .record(due, DeliveryState::Pending, false, None, until)
                    .await;
            }
        }
        let locale = Locale::parse(&due.locale);
        let token = match self.unsubscribe.issue(due.recipient_id, due.kind, now) {
            Ok(token) => token,
            Err(error) => {
                let error = format!("cannot sign the unsubscribe link: {error}");
                return self.retry(due, &error, true, true).await;
            }
        };
        let unsubscribe = format!(
            "{}/unsubscribe?token={token}",
            self.settings.public_url.trim_end_matches('/'),
        );
        let rendered = match domain::stored_notice(&due.notice) {
            Some(notice) => {
                render::render_email(&notice, locale, &contact.display_name, &unsubscribe)
            }
            None => render::render_stored(
                &due.title,
                &due.body,
                locale,
                &contact.display_name,
                &unsubscribe,
            ),
        };
        let notification_id = due.notification_id.to_string();
        let email = OutgoingEmail {
            notification_id: &notification_id,
            to_name: &contact.display_name,
            to_email: &contact.email,
            rendered: &rendered,
            unsubscribe_url: &unsubscribe,
        };
        let message = match build_message(&self.settings.from, &email) {
            Ok(message) => message,
            Err(error) => return self.retry(due, &error.to_string(), true, true).await,
        };
        // The attempt is counted before the email leaves, so that a crash mid-send still
        // shows in the log; and only while this worker holds the lease.
        if !self
            .store
            .begin_attempt(due, self.now(), self.settings.lease)
            .await?
        {
            tracing::info!(delivery = %due.id, "lease lost before sending; another worker has it");
            return Ok(());
        }
        let sent = tokio::time::timeout(self.settings.send_timeout, self.mailer.send(message))
            .await
            .unwrap_or_else(|_| {
                Err(SendError {
                    permanent: false,
                    message: format!("smtp: no answer within {:?}", self.settings.send_timeout),
                })
            });
        match sent {
            Ok(()) => {
                tracing::info!(delivery = %due.id, kind = domain::kind_name(due.kind), "email sent");
                let now = self.now();
                self.record(due, DeliveryState::Sent, false, None, now)
                    .await
            }
            Err(error) => {
                self.retry(due, &error.message, error.permanent, false)
                    .await
            }
        }
    }

    /// Records an outcome under `due`'s lease, and counts it; a worker that lost the lease
    /// records nothing (the worker that took the delivery over records its own).
    async fn record(
        &self,
        due: &DueDelivery,
        state: DeliveryState,
        counted: bool,
        error: Option<&str>,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let outcome = Outcome {
            state,
            counted,
            error,
            next_attempt_at,
        };
        if self.store.record_outcome(due, outcome, self.now()).await? {
            self.deliveries.count(due.channel, state.as_str());
        } else {
            tracing::warn!(
                delivery = %due.id,
                outcome = state.as_str(),
                "lease lost: another worker took the delivery over; outcome not recorded"
            );
        }
        Ok(())
    }

    /// Schedules another attempt, or marks the delivery dead after the last one (or at once
    /// for a permanent failure). `counted`: the attempt was not counted yet (it failed before
    /// an email was sent).
    async fn retry(
        &self,
        due: &DueDelivery,
        error: &str,
        permanent: bool,
        counted: bool,
    ) -> Result<(), sqlx::Error> {
        let now = self.now();
        let attempts = due.attempts + 1;
        if permanent || attempts >= self.settings.max_attempts {
            tracing::warn!(delivery = %due.id, attempts, %error, "delivery is dead");
            return self
                .record(due, DeliveryState::Dead, counted, Some(error), now)
                .await;
        }
        let wait = domain::backoff(
            u32::try_from(attempts).unwrap_or(u32::MAX),
            self.settings.base_backoff,
            self.settings.max_backoff,
        );
        tracing::info!(delivery = %due.id, attempts, %error, retry_in_ms = wait.num_milliseconds(), "delivery failed; will retry");
        self.record(due, DeliveryState::Failed, counted, Some(error), now + wait)
            .await
    }
}
