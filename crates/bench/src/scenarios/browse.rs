//! `browse`: a city browsing its events — GetEvent of random events and ListEvents (a page
//! of 20, filtered by city and a month from a random day), anonymous and signed in, against
//! the raw tonic echo.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::Rng as _;
use rendezvous_proto::events::v1 as events_pb;
use uuid::Uuid;

use super::{CITIES, Ctx, authed, timestamp};
use crate::load;
use crate::report::{Check, Report};

/// Who browses.
#[derive(Clone, Copy)]
enum Viewer {
    Anonymous,
    Member,
}

impl Viewer {
    fn label(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::Member => "member",
        }
    }
}

pub async fn run(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let sizes = ctx.sizes;
    let events: Arc<Vec<Uuid>> = Arc::new(ctx.events.iter().map(|(id, _)| *id).collect());
    anyhow::ensure!(!events.is_empty(), "browse needs events");
    let member_token = Arc::new(ctx.stack.token(ctx.members[1].id)?);
    for _ in 0..sizes.runs {
        for viewer in [Viewer::Anonymous, Viewer::Member] {
            ctx.echo(report, "browse", sizes.browse_calls).await?;
            let name = format!("GetEvent ({})", viewer.label());
            let clients = ctx.event_clients()?;
            let (events, token) = (Arc::clone(&events), Arc::clone(&member_token));
            let figures = ctx
                .watched(load::run(
                    &name,
                    sizes.browse_calls,
                    sizes.in_flight,
                    move |_| {
                        let mut client = clients.get(rand::thread_rng().r#gen());
                        let id = events[rand::thread_rng().gen_range(0..events.len())];
                        let token = Arc::clone(&token);
                        async move {
                            let message = events_pb::GetEventRequest {
                                event_id: id.to_string(),
                            };
                            let request = match viewer {
                                Viewer::Anonymous => tonic::Request::new(message),
                                Viewer::Member => authed(message, &token),
                            };
                            client.get_event(request).await?;
                            Ok(1)
                        }
                    },
                ))
                .await?;
            report.add(ctx.measure("browse", &name, false, "calls/s", figures));

            ctx.echo(report, "browse", sizes.browse_calls).await?;
            let name = format!("ListEvents ({})", viewer.label());
            let clients = ctx.event_clients()?;
            let token = Arc::clone(&member_token);
            let now = ctx.now;
            let pages = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let full = Arc::clone(&pages);
            let figures = ctx
                .watched(load::run(
                    &name,
                    sizes.browse_calls,
                    sizes.in_flight,
                    move |i| {
                        let mut client = clients.get(i);
                        let token = Arc::clone(&token);
                        let full = Arc::clone(&full);
                        async move {
                            let message = list_request(now, i);
                            let request = match viewer {
                                Viewer::Anonymous => tonic::Request::new(message),
                                Viewer::Member => authed(message, &token),
                            };
                            let page = client.list_events(request).await?.into_inner();
                            if page.events.len() == 20 {
                                full.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            Ok(1)
                        }
                    },
                ))
                .await?;
            let full = pages.load(std::sync::atomic::Ordering::Relaxed);
            let calls = figures.calls;
            let mut measure = ctx.measure("browse", &name, false, "calls/s", figures);
            measure.checks.push(Check {
                what: format!("{full} of {calls} pages full (20 events)"),
                // Small worlds (the smoke run) have short pages; a full-size one must not.
                held: ctx.events.len() < 2_000 || full * 10 >= calls * 9,
            });
            report.add(measure);
        }
    }
    Ok(())
}

/// Call `i`'s page: the events of one city in the month after a random one of the next 60
/// days, 20 a page.
fn list_request(now: DateTime<Utc>, i: u64) -> events_pb::ListEventsRequest {
    let city = CITIES[usize::try_from(i).unwrap_or(0) % CITIES.len()];
    let from = now + chrono::Duration::hours(rand::thread_rng().gen_range(0..60 * 24));
    events_pb::ListEventsRequest {
        city: city.to_owned(),
        start_after: Some(timestamp(from)),
        start_before: Some(timestamp(from + chrono::Duration::days(30))),
        page_size: 20,
        ..Default::default()
    }
}
