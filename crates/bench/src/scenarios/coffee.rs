//! `coffee-round`: one coffee proposal round (`Store::coffee_round`, the service's default
//! rules) over a world of N members opted in to coffee in four cities, each with C
//! connections not met yet, every one of them a candidate. The round is a background job of
//! members, not an RPC, so it runs here, in this process, on a fresh members database of its
//! own (migrated as members migrates; no service reads it, so no relay sends its notices):
//! its wall time, the proposals it made, and this process's peak memory while it ran.
//!
//! The baseline is the least a round must do on the same data: one `COUNT(*)` of the
//! candidate join (connections × both members × both members' settings, same city, both
//! opted in), which in this world is exactly the candidates the round reads. The ratio says
//! how many reads of its candidates a round costs: the round also orders them by priority,
//! streams them to the matching, re-checks each batch of 500 pairs in its transaction
//! (locking the connections on PostgreSQL) and writes each proposal, both members' round rows
//! and two notices. A round over a smaller world would only say how the cost grows, which
//! `--coffee-members` lets a second run show. Each run starts from the same state: what a
//! round wrote is deleted before the next.

use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use rendezvous_common::db::Db;
use rendezvous_common::with_db;
use rendezvous_members::store::{RoundSettings, Store};

use super::{CITIES, Ctx};
use crate::load::{self, Outcome};
use crate::monitor::Monitor;
use crate::report::{Check, Measure, Report, RunFigures};
use crate::seed;

/// The cities the world's members live in.
const COFFEE_CITIES: usize = 4;
/// What the monitor calls this process, where the round runs.
const BENCH_PROCESS: &str = "bench (round)";

/// The candidate pairs of the world, counted by the database alone.
const RAW_CANDIDATE_COUNT: &str = "SELECT COUNT(*) FROM connections c \
     JOIN members ma ON ma.id = c.member_a JOIN members mb ON mb.id = c.member_b \
     JOIN coffee_settings sa ON sa.member_id = c.member_a \
     JOIN coffee_settings sb ON sb.member_id = c.member_b \
     WHERE sa.opted_in AND sb.opted_in AND ma.city_key = mb.city_key";

pub async fn run(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let sizes = ctx.sizes;
    let backend = ctx.backend();
    let test_db = ctx.stack.databases.fresh("rdv_bench_coffee").await?;
    let db = Db::connect(&test_db.url).await?;
    db.migrate(&rendezvous_members::store::MIGRATIONS).await?;
    eprintln!(
        "   seeding {} members with {} connections each",
        sizes.coffee_members, sizes.coffee_connections
    );
    let seeding = Instant::now();
    let world = seed::coffee_world(
        &db,
        sizes.coffee_members,
        sizes.coffee_connections,
        &CITIES[..COFFEE_CITIES],
        Utc::now(),
        |done, total| {
            if done == total || done % 2_000_000 < 500_000 {
                eprintln!("   {done} of {total} connections written");
            }
        },
    )
    .await
    .context("seeding the coffee world")?;
    let seeded_in = seeding.elapsed();
    report.settings.insert(
        format!("{backend} coffee-round: world"),
        format!(
            "{} members in {COFFEE_CITIES} cities, {} connections each ({} rows), seeded in {:.1} s",
            world.members,
            world.connections_each,
            world.connections,
            seeded_in.as_secs_f64()
        ),
    );
    let store = Store::new(db.clone());
    let settings = RoundSettings::default();
    for _ in 0..sizes.runs {
        let (count, figures) = watched(async {
            with_db!(&db, |pool| {
                sqlx::query_scalar::<_, i64>(RAW_CANDIDATE_COUNT)
                    .fetch_one(pool)
                    .await
            })
        })
        .await;
        let count = u64::try_from(count?)?;
        report.add(measure(
            ctx,
            "raw candidate count",
            true,
            &world,
            figures(count),
        ));

        let now = rendezvous_common::time::truncate_micros(Utc::now());
        let (outcome, figures) = watched(store.coffee_round(&settings, now)).await;
        let outcome = outcome?;
        let proposals = u64::try_from(outcome.proposals.len())?;
        let mut round = measure(
            ctx,
            "coffee round",
            false,
            &world,
            figures(outcome.candidates),
        );
        round
            .notes
            .push(format!("{proposals} proposals, {count} candidates"));
        let seconds = round.runs.iter().map(|r| r.seconds).sum::<f64>();
        round.checks.extend(checks(&db, &outcome, count).await?);
        let lease = rendezvous_members::coffee_rounds::LEASE;
        round.checks.push(Check {
            what: format!(
                "the round ended within its lease ({} minutes)",
                lease.num_minutes()
            ),
            held: lease
                .to_std()
                .is_ok_and(|lease| seconds < lease.as_secs_f64()),
        });
        report.add(round);
        forget_the_round(&db).await?;
    }
    db.close().await;
    drop(test_db);
    Ok(())
}

/// Runs `work` while the monitor watches this process: its answer, and its figures for a
/// count of items (one call, timed from start to end).
async fn watched<T>(work: impl Future<Output = T>) -> (T, impl FnOnce(u64) -> RunFigures) {
    let monitor = Monitor::start(None, &[(BENCH_PROCESS, std::process::id())], None);
    let started = Instant::now();
    let answer = work.await;
    let elapsed = started.elapsed();
    let processes = monitor.finish().await;
    let figures = move |items| {
        let mut latencies = load::histogram();
        load::record(&mut latencies, elapsed);
        let outcome = Outcome {
            calls: 1,
            items,
            elapsed,
            latencies,
            errors: Default::default(),
        };
        RunFigures::new(&outcome, processes)
    };
    (answer, figures)
}

fn measure(
    ctx: &Ctx<'_>,
    name: &str,
    baseline: bool,
    world: &seed::CoffeeWorld,
    run: RunFigures,
) -> Measure {
    let mut measure = ctx.measure("coffee-round", name, baseline, "pairs/s", run);
    measure.notes = vec![format!(
        "{} members in {COFFEE_CITIES} cities, {} connections each",
        world.members, world.connections_each
    )];
    measure
}

/// What a round must have left: every candidate read, a matching (nobody in two proposals)
/// that is maximal (no candidate left whose two members both went without), each member told.
async fn checks(
    db: &Db,
    outcome: &rendezvous_members::store::RoundOutcome,
    candidates: u64,
) -> anyhow::Result<Vec<Check>> {
    let (proposed, members, distinct, left, told): (i64, i64, i64, i64, i64) =
        with_db!(db, |pool| {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM coffee_proposals), \
                 (SELECT COUNT(*) FROM coffee_rounds), \
                 (SELECT COUNT(DISTINCT m) FROM (SELECT member_a AS m FROM coffee_proposals \
                  UNION ALL SELECT member_b FROM coffee_proposals) AS each_side), \
                 (SELECT COUNT(*) FROM connections c WHERE NOT EXISTS \
                  (SELECT 1 FROM coffee_rounds r WHERE r.member_id = c.member_a) \
                  AND NOT EXISTS (SELECT 1 FROM coffee_rounds r WHERE r.member_id = c.member_b)), \
                 (SELECT COUNT(*) FROM outbox)",
            )
            .fetch_one(pool)
            .await?
        });
    let made = i64::try_from(outcome.proposals.len())?;
    Ok(vec![
        Check {
            what: format!("the round read every one of the {candidates} candidates"),
            held: outcome.candidates == candidates,
        },
        Check {
            what: format!("{made} proposals, each member in one at most"),
            held: made > 0 && proposed == made && members == 2 * made && distinct == 2 * made,
        },
        Check {
            what: "maximal: no connection left between two members without a proposal".to_owned(),
            held: left == 0,
        },
        Check {
            what: "both members of each proposal told".to_owned(),
            held: told == 2 * made,
        },
    ])
}

/// Deletes what a round wrote, so the next run finds the world as seeded.
async fn forget_the_round(db: &Db) -> anyhow::Result<()> {
    for table in ["outbox", "coffee_rounds", "coffee_proposals"] {
        with_db!(db, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(pool)
                .await?;
        });
    }
    if let Db::Postgres(pool) = db {
        sqlx::query("VACUUM (ANALYZE) outbox, coffee_rounds, coffee_proposals")
            .execute(pool)
            .await?;
    }
    Ok(())
}
