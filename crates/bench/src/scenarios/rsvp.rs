//! `rsvp-hot`: N members RSVP to one event of C seats at once (an on-sale rush), against the
//! raw SQL of one RSVP on one hot row; `rsvp-spread`: RSVPs spread over the events, against
//! the same SQL spread over as many rows.

use std::sync::{Arc, Mutex};

use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as events_pb;
use uuid::Uuid;

use super::{Ctx, authed};
use crate::load::{self, Failure};
use crate::report::{Check, Report};

/// RSVP "going", visible to all; the answer's status and wait-list position.
async fn rsvp(
    client: &mut events_pb::event_service_client::EventServiceClient<tonic::transport::Channel>,
    event: Uuid,
    token: &str,
) -> Result<(i32, i32), Failure> {
    let rsvp = client
        .rsvp(authed(
            events_pb::RsvpRequest {
                event_id: event.to_string(),
                intent: events_pb::RsvpIntent::Going.into(),
                visibility: events_pb::RsvpVisibility::Public.into(),
            },
            token,
        ))
        .await?
        .into_inner()
        .rsvp
        .ok_or_else(|| Failure("no rsvp".to_owned()))?;
    Ok((rsvp.status, rsvp.waitlist_position))
}

/// Tokens for the members after the host, `count` of them, minted now.
fn tokens(ctx: &Ctx<'_>, count: usize) -> anyhow::Result<Arc<Vec<String>>> {
    Ok(Arc::new(
        ctx.members[1..=count]
            .iter()
            .map(|m| ctx.stack.token(m.id))
            .collect::<anyhow::Result<_>>()?,
    ))
}

/// `rsvp-hot`, `runs` times, each after a run of the raw hot-row baseline.
pub async fn hot(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let sizes = ctx.sizes;
    let n = sizes.hot_members;
    let capacity = sizes.capacity;
    let raw = ctx.raw_db(sizes.in_flight).await?;
    for run in 0..sizes.runs {
        // The baseline: a fresh hot row each run.
        let raw_event = i64::try_from(run)? + 1;
        raw.add_events(raw_event, 1, i32::try_from(capacity)?)
            .await?;
        let figures = ctx
            .watched_baseline(
                None,
                raw.rsvps("raw hot-row SQL", n as u64, sizes.in_flight, move |_| {
                    raw_event
                }),
            )
            .await;
        let mut measure = ctx.measure("rsvp-hot", "raw hot-row SQL", true, "RSVPs/s", figures);
        let (confirmed, waitlisted) = raw.rsvp_counts(raw_event).await?;
        measure.checks.push(Check {
            what: format!("raw: {confirmed} confirmed, {waitlisted} wait-listed"),
            held: confirmed == i64::from(capacity).min(n as i64)
                && confirmed + waitlisted == n as i64,
        });
        report.add(measure);

        // The service.
        let mut client = ctx.event_clients()?.get(0);
        let event = ctx
            .publish(&mut client, ctx.event("Paris", 30.0, capacity))
            .await?;
        let tokens = tokens(ctx, n)?;
        let answers = Arc::new(Mutex::new(Vec::with_capacity(n)));
        let clients = ctx.event_clients()?;
        let sink = Arc::clone(&answers);
        let figures = ctx
            .watched(load::run("rsvp-hot", n as u64, sizes.in_flight, move |i| {
                let mut client = clients.get(i);
                let tokens = Arc::clone(&tokens);
                let sink = Arc::clone(&sink);
                async move {
                    let token = &tokens[usize::try_from(i).unwrap_or(0)];
                    let answer = rsvp(&mut client, event, token).await?;
                    if let Ok(mut sink) = sink.lock() {
                        sink.push(answer);
                    }
                    Ok(1)
                }
            }))
            .await?;
        let errors = figures.errors.values().sum::<u64>();
        let mut measure = ctx.measure("rsvp-hot", "Rsvp", false, "RSVPs/s", figures);
        let answers = answers.lock().map(|a| a.clone()).unwrap_or_default();
        measure
            .checks
            .extend(hot_invariants(ctx, event, n, capacity, &answers, errors).await?);
        report.add(measure);
    }
    raw.close().await;
    Ok(())
}

/// What must hold after `n` RSVPs to an event of `capacity` seats: min(N, C) confirmed, the
/// rest wait-listed at positions 1..=N−C with no gap, no member twice — in the answers and
/// in the database.
async fn hot_invariants(
    ctx: &Ctx<'_>,
    event: Uuid,
    n: usize,
    capacity: u32,
    answers: &[(i32, i32)],
    errors: u64,
) -> anyhow::Result<Vec<Check>> {
    let seats = n.min(capacity as usize);
    let confirmed = answers
        .iter()
        .filter(|(status, _)| *status == events_pb::RsvpStatus::Confirmed as i32)
        .count();
    let mut positions: Vec<i32> = answers
        .iter()
        .filter(|(status, _)| *status == events_pb::RsvpStatus::Waitlisted as i32)
        .map(|(_, position)| *position)
        .collect();
    positions.sort_unstable();
    let expected: Vec<i32> = (1..=i32::try_from(n - seats)?).collect();
    let (rows, members, stored_confirmed): (i64, i64, i64) =
        with_db!(&ctx.stack.events.db, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*), COUNT(DISTINCT member_id), \
                 COALESCE(SUM(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END), 0) \
                 FROM rsvps WHERE event_id = $1",
            )
            .bind(event.to_string())
            .fetch_one(pool)
            .await?
        });
    Ok(vec![
        Check {
            what: format!("every RSVP answered OK ({errors} failed)"),
            held: errors == 0 && answers.len() == n,
        },
        Check {
            what: format!("{confirmed} confirmed in the answers, expected min(N, C) = {seats}"),
            held: confirmed == seats,
        },
        Check {
            what: format!(
                "wait-list positions 1..={} with no gap ({} answered)",
                n - seats,
                positions.len()
            ),
            held: positions == expected,
        },
        Check {
            what: format!(
                "stored: {rows} RSVPs of {members} distinct members, {stored_confirmed} confirmed"
            ),
            held: rows == n as i64 && members == n as i64 && stored_confirmed == seats as i64,
        },
    ])
}

/// `rsvp-spread`: RSVPs spread over the events (member `i` to event `i + run`), against the
/// raw SQL spread over as many rows.
pub async fn spread(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let sizes = ctx.sizes;
    let n = sizes.spread_rsvps;
    let events: Arc<Vec<Uuid>> = Arc::new(ctx.events.iter().map(|(id, _)| *id).collect());
    let count = events.len();
    anyhow::ensure!(count > 0, "rsvp-spread needs events");
    let raw = ctx.raw_db(sizes.in_flight).await?;
    raw.add_events(1, i64::try_from(count)?, 1_000_000).await?;
    for run in 0..sizes.runs {
        let rows = i64::try_from(count)?;
        let figures = ctx
            .watched_baseline(
                None,
                raw.rsvps("raw spread SQL", n as u64, sizes.in_flight, move |i| {
                    1 + (i64::try_from(i).unwrap_or(0) % rows)
                }),
            )
            .await;
        report.add(ctx.measure("rsvp-spread", "raw spread SQL", true, "RSVPs/s", figures));

        let tokens = tokens(ctx, n)?;
        let clients = ctx.event_clients()?;
        let events = Arc::clone(&events);
        let figures = ctx
            .watched(load::run(
                "rsvp-spread",
                n as u64,
                sizes.in_flight,
                move |i| {
                    let mut client = clients.get(i);
                    let tokens = Arc::clone(&tokens);
                    let events = Arc::clone(&events);
                    async move {
                        let i = usize::try_from(i).unwrap_or(0);
                        let event = events[(i + run) % events.len()];
                        rsvp(&mut client, event, &tokens[i]).await?;
                        Ok(1)
                    }
                },
            ))
            .await?;
        report.add(ctx.measure("rsvp-spread", "Rsvp", false, "RSVPs/s", figures));
    }
    raw.close().await;
    Ok(())
}
