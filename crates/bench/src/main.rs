//! `rendezvous-bench`: drives the real services through gRPC with the generated clients,
//! scenario by scenario, each against its raw baseline measured in the same run with the same
//! client and the same number of calls in flight, and prints every scenario as a ratio to its
//! baseline (medians of alternating runs), so the figures hold on a shared, noisy machine.
//!
//! ```text
//! cargo build --release -p rendezvous-bench -p rendezvous-members -p rendezvous-events -p rendezvous-notifications
//! target/release/rendezvous-bench all --json target/bench.json
//! ```
//!
//! The three services run as their own processes (the release binaries next to this one, or
//! `--bin-dir`), each over a fresh database on SQLite, PostgreSQL or both; see BENCHMARKS.md.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

mod echo;
mod history;
mod load;
mod monitor;
mod procfs;
mod raw_sql;
mod report;
mod scenarios;
mod seed;
mod stack;

use report::{Figure, Report, Target};
use scenarios::{Ctx, Sizes};
use stack::{Databases, Stack};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Every scenario below.
    All,
    /// N members RSVP to one event of C seats.
    RsvpHot,
    /// RSVPs spread over the events.
    RsvpSpread,
    /// GetEvent and ListEvents by city and time, anonymous and signed in.
    Browse,
    /// An event published in a chapter, until every member's inbox row is written.
    Fanout,
    /// Open notification streams, each told once a second.
    Stream,
    /// Sign-ins (argon2-bound).
    Login,
    /// One coffee proposal round over N members with C connections each (in-process).
    CoffeeRound,
}

/// The scenarios run again at each growth above ×1.
const GROWN: [Scenario; 3] = [Scenario::RsvpHot, Scenario::Browse, Scenario::Fanout];

const EVERY: [Scenario; 7] = [
    Scenario::RsvpHot,
    Scenario::RsvpSpread,
    Scenario::Browse,
    Scenario::Fanout,
    Scenario::Stream,
    Scenario::Login,
    Scenario::CoffeeRound,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Parser, Debug)]
#[command(
    name = "rendezvous-bench",
    about = "Benchmarks the Rendezvous services through gRPC against raw baselines"
)]
struct Cli {
    /// The scenarios to run.
    #[arg(value_enum, default_value = "all")]
    scenarios: Vec<Scenario>,
    /// The databases to run on.
    #[arg(long, value_enum, default_value = "both")]
    backend: BackendChoice,
    /// The PostgreSQL server to create the fresh databases on (a URL with the user in it).
    #[arg(
        long,
        env = "RENDEZVOUS_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// Where the service binaries are (default: next to this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// HTTP/2 connections the client spreads its calls over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Runs of each scenario (alternating with its baseline); the report takes medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// `rsvp-hot`: members who RSVP.
    #[arg(long, default_value_t = 5_000)]
    hot_members: usize,
    /// `rsvp-hot`: the event's seats.
    #[arg(long, default_value_t = 500)]
    capacity: u32,
    /// `rsvp-spread` and `browse`: events created (in ten cities, over 90 days).
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// `rsvp-spread`: RSVPs per run.
    #[arg(long, default_value_t = 5_000)]
    spread_rsvps: usize,
    /// `browse`: calls of each kind per run.
    #[arg(long, default_value_t = 20_000)]
    browse_calls: u64,
    /// `login`: sign-ins per run.
    #[arg(long, default_value_t = 300)]
    logins: u64,
    /// `fanout`: members of the chapter.
    #[arg(long, default_value_t = 10_000)]
    chapter_members: usize,
    /// `stream`: open notification streams.
    #[arg(long, default_value_t = 1_000)]
    streams: usize,
    /// `stream`: rounds (one a second) of a notification to every stream.
    #[arg(long, default_value_t = 10)]
    stream_rounds: usize,
    /// `coffee-round`: members opted in to coffee (in four cities).
    #[arg(long, default_value_t = 100_000)]
    coffee_members: u64,
    /// `coffee-round`: connections of each member, none met in person.
    #[arg(long, default_value_t = 200)]
    coffee_connections: u64,
    /// Growth: also run rsvp-hot, browse and fanout with the databases holding this many
    /// times what the scenarios wrote at ×1 (copies made in SQL), e.g. `1,10,100`.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    growth: Vec<u32>,
    /// A few seconds of every scenario (tiny sizes, one run): that the tool works, not figures.
    #[arg(long)]
    smoke: bool,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run as the raw echo server (the bench starts itself so).
    #[arg(long, hide = true)]
    serve_echo: bool,
}

/// The targets of issue 11, as ratios to the baselines (BENCHMARKS.md says why each).
const TARGETS: &[Target] = &[
    Target {
        scenario: "rsvp-hot",
        measure: "Rsvp",
        baseline: "raw hot-row SQL",
        figure: Figure::Rate,
        bound: 3.0,
        backend: Some("postgres"),
    },
    Target {
        scenario: "rsvp-hot",
        measure: "Rsvp",
        baseline: "raw hot-row SQL",
        figure: Figure::P99,
        bound: 0.3,
        backend: Some("postgres"),
    },
    Target {
        scenario: "rsvp-hot",
        measure: "Rsvp",
        baseline: "raw hot-row SQL",
        figure: Figure::Rate,
        bound: 0.5,
        backend: Some("sqlite"),
    },
    Target {
        scenario: "rsvp-spread",
        measure: "Rsvp",
        baseline: "raw spread SQL",
        figure: Figure::Rate,
        bound: 0.5,
        backend: None,
    },
    Target {
        scenario: "rsvp-spread",
        measure: "Rsvp",
        baseline: "raw spread SQL",
        figure: Figure::P99,
        bound: 2.0,
        backend: None,
    },
    Target {
        scenario: "fanout",
        measure: "PublishEvent: notices enqueued",
        baseline: "raw INSERT … SELECT",
        figure: Figure::Rate,
        bound: 0.5,
        backend: None,
    },
    Target {
        scenario: "fanout",
        measure: "notices delivered",
        baseline: "raw SKIP LOCKED claims",
        figure: Figure::Rate,
        bound: 0.5,
        backend: None,
    },
    browse_target("GetEvent (anonymous)", Figure::Rate, 0.25),
    browse_target("GetEvent (member)", Figure::Rate, 0.25),
    browse_target("ListEvents (anonymous)", Figure::Rate, 0.10),
    browse_target("ListEvents (member)", Figure::Rate, 0.10),
    browse_target("GetEvent (anonymous)", Figure::P99, 3.0),
    browse_target("GetEvent (member)", Figure::P99, 3.0),
    browse_target("ListEvents (anonymous)", Figure::P99, 3.0),
    browse_target("ListEvents (member)", Figure::P99, 3.0),
];

const fn browse_target(measure: &'static str, figure: Figure, bound: f64) -> Target {
    Target {
        scenario: "browse",
        measure,
        baseline: "raw tonic echo",
        figure,
        bound,
        backend: None,
    }
}

impl Cli {
    fn sizes(&self) -> Sizes {
        if self.smoke {
            return Sizes::smoke();
        }
        Sizes {
            in_flight: self.in_flight.max(1),
            connections: self.connections.max(1),
            runs: self.runs.max(1),
            hot_members: self.hot_members.max(1),
            capacity: self.capacity,
            events: self.events.max(1),
            spread_rsvps: self.spread_rsvps.max(1),
            browse_calls: self.browse_calls.max(1),
            logins: self.logins.max(1),
            chapter_members: self.chapter_members.max(1),
            streams: self.streams.max(1),
            stream_rounds: self.stream_rounds.max(1),
            coffee_members: self.coffee_members.max(2),
            coffee_connections: self.coffee_connections.max(2),
        }
    }

    fn scenarios(&self) -> Vec<Scenario> {
        if self.scenarios.contains(&Scenario::All) {
            return EVERY.to_vec();
        }
        EVERY
            .into_iter()
            .filter(|s| self.scenarios.contains(s))
            .collect()
    }

    /// The growths above ×1, rising.
    fn growths(&self) -> Vec<u32> {
        let mut growths: Vec<u32> = self.growth.iter().copied().filter(|g| *g > 1).collect();
        growths.sort_unstable();
        growths.dedup();
        growths
    }

    fn databases(&self) -> Vec<Databases> {
        let postgres = Databases::Postgres(self.postgres_url.clone());
        match self.backend {
            BackendChoice::Sqlite => vec![Databases::Sqlite],
            BackendChoice::Postgres => vec![postgres],
            BackendChoice::Both => vec![Databases::Sqlite, postgres],
        }
    }
}

/// What the report says of the machine it ran on.
fn machine() -> BTreeMap<String, String> {
    let mut machine = BTreeMap::new();
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    if let Some(model) = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
    {
        machine.insert("cpu".to_owned(), model);
    }
    machine.insert(
        "cores".to_owned(),
        std::thread::available_parallelism()
            .map_or(0, usize::from)
            .to_string(),
    );
    if let Some(total) = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal"))
    {
        machine.insert(
            "memory".to_owned(),
            total.trim_start_matches("MemTotal:").trim().to_owned(),
        );
    }
    machine.insert(
        "load at start".to_owned(),
        read("/proc/loadavg")
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    machine
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.serve_echo {
        return echo::serve().await;
    }
    let sizes = cli.sizes();
    let program = std::env::current_exe().context("finding this binary")?;
    let bin_dir = match &cli.bin_dir {
        Some(dir) => dir.clone(),
        None => program.parent().context("this binary's folder")?.to_owned(),
    };
    let mut report = Report {
        machine: machine(),
        ..Report::default()
    };
    report
        .settings
        .insert("sizes".to_owned(), format!("{sizes:?}"));
    let echo = echo::EchoServer::start(&program).await?;
    let mut failure = None;
    for databases in cli.databases() {
        let postgres_server = match &databases {
            Databases::Postgres(url) => Some(url.clone()),
            Databases::Sqlite => None,
        };
        let backend = stack::backend_name(databases.backend());
        eprintln!("== {backend}: starting the stack");
        let stack = Stack::start(databases, &bin_dir).await?;
        let outcome = run_scenarios(
            &cli,
            &stack,
            &echo,
            &sizes,
            postgres_server.as_deref(),
            &mut report,
        )
        .await;
        stack.stop().await;
        // What was measured is still reported; the run fails at the end.
        if let Err(error) = outcome {
            eprintln!("== {backend}: failed: {error:#}");
            failure = Some(error.context(format!("on {backend}")));
            break;
        }
    }
    report.judge(TARGETS);
    report.compare_growth();
    println!("{}", report.table());
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if let Some(error) = failure {
        return Err(error);
    }
    anyhow::ensure!(report.checks_held(), "a check failed (see above)");
    Ok(())
}

async fn run_scenarios(
    cli: &Cli,
    stack: &Stack,
    echo: &echo::EchoServer,
    sizes: &Sizes,
    postgres_server: Option<&str>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let backend = stack::backend_name(stack.backend());
    let all = cli.scenarios();
    // The coffee round brings a world of its own; the others share these members and events.
    let shared = all.iter().any(|s| *s != Scenario::CoffeeRound);
    if shared {
        eprintln!(
            "== {backend}: seeding {} members and {} events",
            1 + sizes.hot_members.max(sizes.spread_rsvps),
            sizes.events
        );
    }
    let ctx = Ctx::seed(stack, echo, sizes, postgres_server, shared).await?;
    for (service, kib) in stack.resident_kib() {
        report.settings.insert(
            format!(
                "{backend} {} resident after seeding (KiB)",
                service.as_str()
            ),
            kib.to_string(),
        );
    }
    run_each(&ctx, &all, report).await?;
    let grown: Vec<Scenario> = all.into_iter().filter(|s| GROWN.contains(s)).collect();
    for growth in cli.growths() {
        if grown.is_empty() {
            break;
        }
        eprintln!("== {backend}: growing the databases to ×{growth}");
        let written = ctx.grow_to(growth).await?;
        for (service, table, rows) in written {
            report.settings.insert(
                format!(
                    "{backend} ×{growth}: rows copied into {}.{table}",
                    service.as_str()
                ),
                rows.to_string(),
            );
        }
        run_each(&ctx, &grown, report).await?;
    }
    Ok(())
}

async fn run_each(
    ctx: &Ctx<'_>,
    scenarios: &[Scenario],
    report: &mut Report,
) -> anyhow::Result<()> {
    let backend = ctx.backend();
    for scenario in scenarios {
        eprintln!("== {backend} ×{}: {scenario:?}", ctx.growth());
        match scenario {
            Scenario::RsvpHot => scenarios::rsvp::hot(ctx, report).await?,
            Scenario::RsvpSpread => scenarios::rsvp::spread(ctx, report).await?,
            Scenario::Browse => scenarios::browse::run(ctx, report).await?,
            Scenario::Fanout => scenarios::fanout::run(ctx, report).await?,
            Scenario::Stream => scenarios::stream::run(ctx, report).await?,
            Scenario::Login => scenarios::login::run(ctx, report).await?,
            Scenario::CoffeeRound => scenarios::coffee::run(ctx, report).await?,
            Scenario::All => {}
        }
    }
    Ok(())
}
