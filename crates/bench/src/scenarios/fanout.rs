//! `fanout`: an event published in a chapter of M members, until every member's inbox row is
//! written and events' outbox has relayed every notice. Two figures: the enqueue (members told
//! per second of the PublishEvent call, which writes the notices in its transaction) against a
//! raw `INSERT … SELECT` of M inbox rows, and the delivery (inbox rows per second from the
//! publish to the last row, with each row's latency) against raw `SKIP LOCKED` claims of 100.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as events_pb;
use uuid::Uuid;

use super::{Ctx, authed};
use crate::load::{self, Outcome};
use crate::report::{Check, Report, RunFigures};
use crate::seed;

/// How long the delivery may take before the run is called failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(900);

pub async fn run(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let sizes = ctx.sizes;
    let m = sizes.chapter_members;
    let mut client = ctx.event_clients()?.get(0);
    let token = ctx.stack.token(ctx.host().id)?;
    let chapter = client_chapter(ctx, &token).await?;
    let members = seed::members(&ctx.stack.members.db, m, "Paris").await?;
    seed::chapter_members(&ctx.stack.events.db, chapter, &members, ctx.now).await?;
    // One statement at a time, one claimer: two connections are plenty.
    let raw = ctx.raw_db(2).await?;
    raw.add_recipients(m).await?;
    let rows = m as u64;
    for _ in 0..sizes.runs {
        let figures = ctx
            .watched_baseline(None, raw.fan_out("raw INSERT … SELECT", 1))
            .await;
        report.add(ctx.measure("fanout", "raw INSERT … SELECT", true, "rows/s", figures));
        raw.add_outbox_rows(rows).await?;
        let figures = ctx
            .watched_baseline(
                None,
                raw.claims("raw SKIP LOCKED claims", rows.div_ceil(100), 1),
            )
            .await;
        report.add(ctx.measure("fanout", "raw SKIP LOCKED claims", true, "rows/s", figures));

        let mut event = ctx.event("Paris", 20.0, 40);
        event.chapter_id = chapter.to_string();
        event.visibility = events_pb::EventVisibility::Chapter.into();
        let event = super::create(&mut client, &token, event).await?;
        let mut publishing = client.clone();
        let publish_token = token.clone();
        let mut published = None;
        let delivery = ctx
            .watched(async {
                let started = Instant::now();
                let started_at = Utc::now();
                let answer = super::publish(&mut publishing, &publish_token, event).await;
                let publish = started.elapsed();
                published = Some((answer, publish));
                delivered(ctx, event, rows, started, started_at).await
            })
            .await?;
        let (answer, publish) = published.ok_or_else(|| anyhow::anyhow!("no publish"))?;
        let enqueue = Outcome {
            calls: 1,
            items: if answer.is_ok() { rows } else { 0 },
            elapsed: publish,
            latencies: {
                let mut h = load::histogram();
                load::record(&mut h, publish);
                h
            },
            errors: answer.err().map(|f| (f.0, 1)).into_iter().collect(),
        };
        report.add(ctx.measure(
            "fanout",
            "PublishEvent: notices enqueued",
            false,
            "rows/s",
            RunFigures::new(&enqueue, delivery.processes.clone()),
        ));
        let all = delivery.items == rows;
        let mut measure = ctx.measure("fanout", "notices delivered", false, "rows/s", delivery);
        measure.checks.push(Check {
            what: format!("{m} chapter members, each with one inbox row, the outbox relayed"),
            held: all,
        });
        report.add(measure);
    }
    raw.close().await;
    Ok(())
}

/// A chapter the host organises.
async fn client_chapter(ctx: &Ctx<'_>, token: &str) -> anyhow::Result<Uuid> {
    let mut chapters =
        rendezvous_proto::events::v1::chapter_service_client::ChapterServiceClient::new(
            ctx.stack.events.channel()?,
        );
    let chapter = chapters
        .create_chapter(authed(
            events_pb::CreateChapterRequest {
                chapter: Some(events_pb::Chapter {
                    name: format!("Paris networking {}", Uuid::now_v7().simple()),
                    city: "Paris".to_owned(),
                    time_zone: "Europe/Paris".to_owned(),
                    description: "The bench's chapter.".to_owned(),
                    ..Default::default()
                }),
                request_id: Uuid::now_v7().to_string(),
            },
            token,
        ))
        .await?
        .into_inner()
        .chapter
        .ok_or_else(|| anyhow::anyhow!("CreateChapter answered no chapter"))?;
    Ok(chapter.id.parse()?)
}

/// Waits until `rows` inbox rows of `event`'s notice exist and events' outbox holds none of
/// its notices undelivered: the delivery as an outcome (one call, `rows` items, each row's
/// latency from the publish to its creation).
async fn delivered(
    ctx: &Ctx<'_>,
    event: Uuid,
    rows: u64,
    started: Instant,
    started_at: DateTime<Utc>,
) -> Outcome {
    // The event's keys as a range (`:` is followed by `;`), which the unique index on the key
    // answers: a `LIKE` is case-insensitive on SQLite and scanned every notification, so
    // polling it slowed the very delivery it timed once the inbox held millions of rows.
    let keys = (
        format!("chapter-new-event:{event}:"),
        format!("chapter-new-event:{event};"),
    );
    let mut errors = std::collections::BTreeMap::new();
    loop {
        let (inbox, pending) = match counts(ctx, &keys).await {
            Ok(counts) => counts,
            Err(_) => {
                errors.insert("sql".to_owned(), 1);
                break;
            }
        };
        if inbox >= rows && pending == 0 {
            break;
        }
        if started.elapsed() > DELIVERY_TIMEOUT {
            errors.insert("timeout".to_owned(), 1);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let mut latencies = load::histogram();
    let created: Vec<DateTime<Utc>> = with_db!(&ctx.stack.notifications.db, |pool| {
        sqlx::query_scalar(
            "SELECT created_at FROM notifications WHERE dedupe_key >= $1 AND dedupe_key < $2",
        )
        .bind(&keys.0)
        .bind(&keys.1)
        .fetch_all(pool)
        .await
        .unwrap_or_default()
    });
    for at in &created {
        load::record(
            &mut latencies,
            (*at - started_at).to_std().unwrap_or_default(),
        );
    }
    Outcome {
        calls: 1,
        items: created.len() as u64,
        elapsed,
        latencies,
        errors,
    }
}

/// Inbox rows written for the notices whose keys are in `[keys.0, keys.1)`, and those of
/// events' outbox rows not yet delivered.
async fn counts(ctx: &Ctx<'_>, keys: &(String, String)) -> Result<(u64, u64), sqlx::Error> {
    let inbox: i64 = with_db!(&ctx.stack.notifications.db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE dedupe_key >= $1 AND dedupe_key < $2",
        )
        .bind(&keys.0)
        .bind(&keys.1)
        .fetch_one(pool)
        .await?
    });
    let pending: i64 = with_db!(&ctx.stack.events.db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL \
             AND dedupe_key >= $1 AND dedupe_key < $2",
        )
        .bind(&keys.0)
        .bind(&keys.1)
        .fetch_one(pool)
        .await?
    });
    Ok((
        u64::try_from(inbox).unwrap_or(0),
        u64::try_from(pending).unwrap_or(0),
    ))
}
