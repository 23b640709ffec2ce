//! `stream`: K members each hold a StreamNotifications stream open; once a second a producer
//! (the bench, with events' service credential) delivers one notification to each of them in
//! one Deliver call. Measured: the time from the start of each Deliver to the notification's
//! arrival on each stream, and notifications' resident memory per open stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rendezvous_common::auth::ServiceName;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::notifications::v1::notification_internal_service_client::NotificationInternalServiceClient;
use rendezvous_proto::notifications::v1::notification_service_client::NotificationServiceClient;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{Clients, Ctx, authed, timestamp};
use crate::load::{self, Outcome};
use crate::procfs;
use crate::report::{Check, Report, RunFigures};
use crate::seed;

/// Streams per HTTP/2 connection (the server's default limit of concurrent streams is 200).
const STREAMS_PER_CONNECTION: usize = 100;
/// How long after the last round a stream may take to see it.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let sizes = ctx.sizes;
    let k = sizes.streams;
    let rounds = sizes.stream_rounds;
    let members = seed::members(&ctx.stack.members.db, k, "Paris").await?;
    let notifications_pid = ctx.stack.notifications.pid();
    for _ in 0..sizes.runs {
        let before_kib = procfs::memory_kib(notifications_pid).map_or(0, |(rss, _)| rss);
        let clients = Clients::new(k.div_ceil(STREAMS_PER_CONNECTION), || {
            Ok(NotificationServiceClient::new(
                ctx.stack.notifications.channel()?,
            ))
        })?;
        let round_started: Arc<Vec<Mutex<Option<Instant>>>> =
            Arc::new((0..rounds).map(|_| Mutex::new(None)).collect());
        let latencies = Arc::new(Mutex::new(load::histogram()));
        let received = Arc::new(AtomicU64::new(0));
        let open = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let mut streams = tokio::task::JoinSet::new();
        for (i, member) in members.iter().enumerate() {
            let mut client = clients.get(i as u64);
            let token = ctx.stack.token(member.id)?;
            let (round_started, latencies, received, open, failed) = (
                Arc::clone(&round_started),
                Arc::clone(&latencies),
                Arc::clone(&received),
                Arc::clone(&open),
                Arc::clone(&failed),
            );
            streams.spawn(async move {
                let stream = client
                    .stream_notifications(authed(
                        npb::StreamNotificationsRequest::default(),
                        &token,
                    ))
                    .await;
                let mut stream = match stream {
                    Ok(stream) => stream.into_inner(),
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                };
                open.fetch_add(1, Ordering::Relaxed);
                let mut seen = 0;
                while seen < rounds {
                    match stream.message().await {
                        Ok(Some(_)) => {
                            let arrived = Instant::now();
                            if let Some(started) = *round_started[seen].lock().await {
                                load::record(&mut *latencies.lock().await, arrived - started);
                            }
                            received.fetch_add(1, Ordering::Relaxed);
                            seen += 1;
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                }
            });
        }
        let opening = Instant::now();
        while open.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < k as u64 {
            anyhow::ensure!(
                opening.elapsed() < Duration::from_secs(60),
                "only {} of {k} streams opened in a minute",
                open.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the opened streams settle before reading what they hold.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let open_kib = procfs::memory_kib(notifications_pid).map_or(0, |(rss, _)| rss);

        let deliverer = NotificationInternalServiceClient::new(ctx.stack.notifications.channel()?);
        let bearer =
            rendezvous_testkit::service_bearer(ServiceName::Events, ServiceName::Notifications);
        let token = bearer.trim_start_matches("Bearer ").to_owned();
        let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
        let run_id = Uuid::now_v7().simple().to_string();
        let (latencies_out, received_out, failed_out) = (
            Arc::clone(&latencies),
            Arc::clone(&received),
            Arc::clone(&failed),
        );
        let figures = ctx
            .watched(async move {
                let started = Instant::now();
                let mut errors = std::collections::BTreeMap::new();
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                for (round, started_at) in round_started.iter().enumerate() {
                    tick.tick().await;
                    *started_at.lock().await = Some(Instant::now());
                    let request = npb::DeliverRequest {
                        notifications: ids
                            .iter()
                            .map(|id| {
                                notification(*id, &format!("bench-stream:{run_id}:{round}:{id}"))
                            })
                            .collect(),
                    };
                    if let Err(status) = deliverer.clone().deliver(authed(request, &token)).await {
                        *errors
                            .entry(format!("Deliver {:?}", status.code()))
                            .or_insert(0) += 1;
                    }
                }
                let expected = (k * rounds) as u64;
                let last = Instant::now();
                while received_out.load(Ordering::Relaxed) < expected
                    && last.elapsed() < ARRIVAL_TIMEOUT
                    && failed_out.load(Ordering::Relaxed) == 0
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let got = received_out.load(Ordering::Relaxed);
                if got < expected {
                    errors.insert("missing".to_owned(), expected - got);
                }
                let broken = failed_out.load(Ordering::Relaxed);
                if broken > 0 {
                    errors.insert("stream ended".to_owned(), broken);
                }
                Outcome {
                    calls: expected,
                    items: got,
                    elapsed: started.elapsed(),
                    latencies: latencies_out.lock().await.clone(),
                    errors,
                }
            })
            .await?;
        streams.abort_all();
        while streams.join_next().await.is_some() {}
        let per_stream = (open_kib.saturating_sub(before_kib)) as f64 / k as f64;
        let mut measure = stream_measure(ctx, figures);
        measure.notes.push(format!(
            "{k} streams: notifications held {before_kib} KiB before they opened, {open_kib} KiB \
             with them open: {per_stream:.1} KiB per stream"
        ));
        measure.checks.push(Check {
            what: format!("each of {k} streams saw each of {rounds} rounds"),
            held: measure.errors() == 0,
        });
        report.add(measure);
        // The streams' sessions end with the next run's; nothing to settle.
    }
    Ok(())
}

fn stream_measure(ctx: &Ctx<'_>, figures: RunFigures) -> crate::report::Measure {
    ctx.measure(
        "stream",
        "Deliver → stream",
        false,
        "notifications/s",
        figures,
    )
}

/// A new-event notice for `recipient`, keyed `key`.
fn notification(recipient: Uuid, key: &str) -> npb::NotificationRequest {
    let start = chrono::Utc::now() + chrono::Duration::days(7);
    npb::NotificationRequest {
        recipient_id: recipient.to_string(),
        dedupe_key: key.to_owned(),
        not_before: None,
        notice: Some(npb::Notice {
            notice: Some(npb::notice::Notice::ChapterNewEvent(npb::ChapterNewEvent {
                chapter: Some(npb::ChapterFacts {
                    chapter_id: Uuid::now_v7().to_string(),
                    name: "Paris networking".to_owned(),
                }),
                event: Some(npb::EventFacts {
                    event_id: Uuid::now_v7().to_string(),
                    title: "Networking coffee — Paris".to_owned(),
                    start_time: Some(timestamp(start)),
                    end_time: Some(timestamp(start + chrono::Duration::minutes(90))),
                    time_zone: "Europe/Paris".to_owned(),
                    venue_name: "Café du Centre".to_owned(),
                    venue_address: "1 Main Street, Paris".to_owned(),
                    city: "Paris".to_owned(),
                }),
            })),
        }),
    }
}
