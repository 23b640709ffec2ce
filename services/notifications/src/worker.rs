//! The delivery worker: leases due deliveries (scheduled in-app notifications, emails and
//! retries), sends them, and records each outcome with exponential back-off and jitter, until
//! a bounded number of attempts marks a delivery dead with its last error kept.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use prometheus::{IntCounterVec, Opts};
use rendezvous_common::clock::Clock;
use rendezvous_common::metrics::Metrics;
use rendezvous_proto::notifications::v1::Channel;
use tokio_util::sync::CancellationToken;

use crate::contacts::Contacts;
use crate::domain::{self, DeliveryState, QuietHours};
use crate::email::{Mailer, OutgoingEmail, build_message};
use crate::error::Error;
use crate::hub::Publisher;
use crate::render::{self, Locale};
use crate::store::{DueDelivery, Store};
use crate::unsubscribe::UnsubscribeTokens;

/// Tunables of the worker.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    pub poll_interval: StdDuration,
    pub batch_size: u32,
    /// How long a leased delivery stays with one worker before another may take it.
    pub lease: Duration,
    pub max_attempts: i64,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// `From` of emails.
    pub from: lettre::message::Mailbox,
    /// Base URL of this service's HTTP listener as recipients reach it: emails link to
    /// `{public_url}/unsubscribe?token=…` (List-Unsubscribe and the footer).
    pub public_url: String,
}

impl WorkerSettings {
    pub fn new(from: lettre::message::Mailbox, public_url: String) -> Self {
        Self {
            poll_interval: StdDuration::from_millis(200),
            batch_size: 50,
            lease: Duration::seconds(60),
            max_attempts: 6,
            base_backoff: Duration::seconds(2),
            max_backoff: Duration::minutes(30),
            from,
            public_url,
        }
    }
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

    /// Runs passes until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let handled = match self.run_once().await {
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

    /// One pass; returns how many deliveries it handled.
    pub async fn run_once(&self) -> Result<usize, sqlx::Error> {
        let now = self.now();
        let due = self
            .store
            .claim_due(now, self.settings.lease, self.settings.batch_size)
            .await?;
        for delivery in &due {
            self.handle(delivery).await?;
        }
        Ok(due.len())
    }

    async fn handle(&self, due: &DueDelivery) -> Result<(), sqlx::Error> {
        let now = self.now();
        if due.cancelled {
            return self
                .record(due, DeliveryState::Cancelled, false, None, now, now)
                .await;
        }
        if due.channel == Channel::InApp {
            let item = self.store.show_in_app(due, now).await?;
            self.deliveries.count(due.channel, "shown");
            self.publisher.published(vec![item]);
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
                return self.retry(due, &error, false).await;
            }
            Err(error) => return self.retry(due, &error.to_string(), false).await,
        };
        let Some(contact) = contact.filter(|c| !c.deleted && !c.email.is_empty()) else {
            return self
                .record(
                    due,
                    DeliveryState::Suppressed,
                    false,
                    Some("recipient has no email address"),
                    now,
                    now,
                )
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
                    .record(due, DeliveryState::Pending, false, None, until, now)
                    .await;
            }
        }
        let locale = Locale::parse(&due.locale);
        let token = match self.unsubscribe.issue(due.recipient_id, due.kind, now) {
            Ok(token) => token,
            Err(error) => {
                let error = format!("cannot sign the unsubscribe link: {error}");
                return self.retry(due, &error, true).await;
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
            Err(error) => return self.retry(due, &error.to_string(), true).await,
        };
        match self.mailer.send(message).await {
            Ok(()) => {
                tracing::info!(delivery = %due.id, kind = domain::kind_name(due.kind), "email sent");
                self.record(due, DeliveryState::Sent, true, None, now, now)
                    .await
            }
            Err(error) => self.retry(due, &error.message, error.permanent).await,
        }
    }

    /// Schedules another attempt, or marks the delivery dead after the last one (or at once
    /// for a permanent failure).
    async fn retry(
        &self,
        due: &DueDelivery,
        error: &str,
        permanent: bool,
    ) -> Result<(), sqlx::Error> {
        let now = self.now();
        let attempts = due.attempts + 1;
        if permanent || attempts >= self.settings.max_attempts {
            tracing::warn!(delivery = %due.id, attempts, %error, "delivery is dead");
            return self
                .record(due, DeliveryState::Dead, true, Some(error), now, now)
                .await;
        }
        let wait = domain::backoff(
            u32::try_from(attempts).unwrap_or(u32::MAX),
            self.settings.base_backoff,
            self.settings.max_backoff,
        );
        tracing::info!(delivery = %due.id, attempts, %error, retry_in_ms = wait.num_milliseconds(), "delivery failed; will retry");
        self.record(
            due,
            DeliveryState::Failed,
            true,
            Some(error),
            now + wait,
            now,
        )
        .await
    }

    /// Records the outcome of an attempt and counts it.
    async fn record(
        &self,
        due: &DueDelivery,
        state: DeliveryState,
        attempted: bool,
        error: Option<&str>,
        next_attempt_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        self.store
            .record_attempt(due.id, state, attempted, error, next_attempt_at, now)
            .await?;
        self.deliveries.count(due.channel, state.as_str());
        Ok(())
    }
}
