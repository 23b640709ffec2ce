//! `rendezvous`: the all-in-one binary.
//!
//! * `rendezvous up` runs every service in one process on the default ports, over SQLite files
//!   in a data directory — the embedded default. On first start it generates development keys
//!   (the token signing key and the service secret) in that directory and keeps them.
//!   It is the development mode of the service binaries (`--development`) with nothing to
//!   configure: its secret is random per data directory, never a published one.
//!   The three services' own keys for their calls to each other are generated in memory at
//!   every start: they sign nothing that outlives the process.
//! * `rendezvous keys generate --out DIR` writes a key pair for each service, for a
//!   deployment of the service binaries.
//! * `rendezvous health <addr>` probes a server's `grpc.health.v1.Health` and exits 0 only
//!   when it is SERVING (container images have no grpc_health_probe).
//! * `rendezvous outbox dead-letters` lists the outbox rows a receiver refused (members' or
//!   events' database), and `rendezvous outbox requeue` makes them due again.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use clap::{Parser, Subcommand};
use rand::RngCore as _;
use rendezvous_common::auth::ServiceKeySet;
use rendezvous_common::clock::Clock;
use rendezvous_common::config::{Secret, ServerArgs, TelemetryArgs};
use rendezvous_common::db::Db;
use rendezvous_common::{relay, server, telemetry};
use rendezvous_events::domain::reminder::ReminderOffsets;
use rendezvous_members::config::{load_or_create_signing_key, write_private};

mod demo;
mod stack;

#[derive(Parser, Debug)]
#[command(
    name = "rendezvous",
    version,
    about = "Rendezvous: turn online contacts into people you have met"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run every service in this process over SQLite files in the data directory.
    Up(UpArgs),
    /// Probe a gRPC server's health; exit 0 when SERVING.
    Health {
        /// host:port of the server.
        #[arg(default_value = "127.0.0.1:50051")]
        addr: String,
        /// Service to check; empty for the server as a whole.
        #[arg(long, default_value = "")]
        service: String,
        /// Seconds to wait for an answer.
        #[arg(long, default_value_t = 3)]
        timeout_secs: u64,
    },
    /// Operate a service's outbox: list the rows its receiver refused, requeue them.
    Outbox(OutboxArgs),
    /// Service keys: each service's own key pair for its calls to the others.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Write `<service>.key.pem` (private, for that service only) and `<service>.pub.pem`
    /// (for its peers) for members, events and notifications into a new folder (0700, files
    /// 0600). Refuses to overwrite keys that are there.
    Generate {
        /// The folder to write the keys into.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct OutboxArgs {
    /// Database of the service whose outbox it is (members or events), as the service is
    /// configured: `sqlite://…/members.db` or `postgres://user@host:5432/members`.
    #[arg(long, env = "RENDEZVOUS_DATABASE_URL", hide_env_values = true)]
    database_url: Secret,
    #[command(subcommand)]
    command: OutboxCommand,
}

#[derive(Subcommand, Debug)]
enum OutboxCommand {
    /// List dead letters (rows the receiver refused until they were given up on) with the
    /// last reason, oldest first, and how many there are.
    DeadLetters {
        /// Most rows listed.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// List the rows after this id (the last one of the previous page).
        #[arg(long)]
        after: Option<String>,
        /// Print each row's payload too (it may name people).
        #[arg(long)]
        payload: bool,
    },
    /// Make dead letters due again, with a fresh count of refusals (once what the receiver
    /// refused is fixed).
    Requeue {
        /// Ids of the dead letters to requeue.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// Requeue every dead letter.
        #[arg(long)]
        all: bool,
    },
}

#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// Directory for the SQLite databases, keys and (later) emails.
    #[arg(long, env = "RENDEZVOUS_DATA_DIR", default_value = ".rendezvous")]
    data_dir: PathBuf,
    /// Address the services listen on.
    #[arg(long, env = "RENDEZVOUS_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port of the members service.
    #[arg(long, env = "RENDEZVOUS_MEMBERS_PORT", default_value_t = 50051)]
    members_port: u16,
    /// Port of the events service.
    #[arg(long, env = "RENDEZVOUS_EVENTS_PORT", default_value_t = 50052)]
    events_port: u16,
    /// Port of the notifications service.
    #[arg(long, env = "RENDEZVOUS_NOTIFICATIONS_PORT", default_value_t = 50053)]
    notifications_port: u16,
    /// Port of the events service's calendar feeds (plain HTTP).
    #[arg(long, env = "RENDEZVOUS_FEED_PORT", default_value_t = 50062)]
    feed_port: u16,
    /// Port of the notifications service's HTTP endpoints (one-click unsubscribe).
    #[arg(
        long,
        env = "RENDEZVOUS_NOTIFICATIONS_HTTP_PORT",
        default_value_t = 50063
    )]
    notifications_http_port: u16,
    /// First of three consecutive ports of the services' Prometheus metrics (`/metrics` over
    /// plain HTTP): members on it, events on the next, notifications on the one after
    /// (50071 is the documented choice); no metrics are served when unset.
    #[arg(long, env = "RENDEZVOUS_METRICS_PORT")]
    metrics_port: Option<u16>,
    /// SMTP server for email (`smtp://host:1025`, `smtp+starttls://user:pass@host:587`, …);
    /// without it emails are written as `.eml` files to `<data-dir>/emails`.
    #[arg(long, env = "RENDEZVOUS_SMTP_URL")]
    smtp_url: Option<Secret>,
    /// `From` of emails.
    #[arg(
        long,
        env = "RENDEZVOUS_EMAIL_FROM",
        default_value = "Rendezvous <noreply@rendezvous.local>"
    )]
    email_from: String,
    /// Public base URL of the notifications HTTP endpoints, for the unsubscribe links in
    /// emails; `http://<host>:<notifications-http-port>` when not given.
    #[arg(long, env = "RENDEZVOUS_PUBLIC_URL")]
    public_url: Option<String>,
    /// How long before an event's start its confirmed attendees are reminded: distinct
    /// positive offsets in hours or minutes (`24h,2h`; `10m,5m` for a demo); empty sends none.
    #[arg(long, env = "RENDEZVOUS_REMINDER_OFFSETS", default_value = "24h,2h")]
    reminder_offsets: ReminderOffsets,
    /// Load a demo network (members in Paris, Lyon, Casablanca and Manchester, past meetups,
    /// upcoming ones) into an empty data directory before serving; on later starts with the
    /// same directory, only say how to sign in.
    #[arg(long, env = "RENDEZVOUS_DEMO")]
    demo: bool,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    telemetry: TelemetryArgs,
}

/// Loads the service secret kept in the data directory, creating it on first start.
fn load_or_create_secret(path: &Path) -> anyhow::Result<Secret> {
    if path.exists() {
        let secret =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(Secret::new(secret.trim()));
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    write_private(path, &secret)?;
    Ok(Secret::new(secret))
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    let telemetry = telemetry::init(
        args.telemetry.log_format,
        &args.telemetry.log_filter,
        telemetry::Process::AllInOne,
    );
    let result = up_with(args).await;
    // The last spans, the shutdown's included, go to the collector before the process exits.
    telemetry.shutdown().await;
    result
}

async fn up_with(args: UpArgs) -> anyhow::Result<()> {
    rendezvous_common::db::create_private_dir(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let signing_key = load_or_create_signing_key(&args.data_dir.join("token-signing-key.pem"))?;
    let public_key_path = args.data_dir.join("token-public-key.pem");
    if !public_key_path.exists() {
        std::fs::write(&public_key_path, signing_key.public_key_pem()?)?;
    }
    let secret = load_or_create_secret(&args.data_dir.join("service-secret"))?;
    let keys = stack::Keys {
        signing_key,
        secret,
        services: ServiceKeySet::generate(),
    };
    let shutdown = server::shutdown_on_signal();
    let listeners = stack::Listeners::bind(&args).await?;
    let shown = if args.host.is_unspecified() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        args.host
    };
    let demo = if args.demo {
        Some(
            load_demo(
                &args,
                &keys,
                &shutdown,
                &format!("{shown}:{}", args.members_port),
            )
            .await?,
        )
    } else {
        None
    };
    let services = stack::spawn(
        &args,
        &args.data_dir,
        &keys,
        listeners,
        Clock::system(),
        rendezvous_members::Settings::default(),
        shutdown.clone(),
    )
    .await?;

    println!(
        "rendezvous is up (data in {dir})\n\
         \n  members        {shown}:{mp}   rendezvous.members.v1.MemberService\n\
         \n  events         {shown}:{ep}   rendezvous.events.v1.EventService, ChapterService\n\
         \n  feeds          http://{shown}:{fp}/calendar/<token>.ics (CreateCalendarFeed)\n\
         \n  notifications  {shown}:{np}   rendezvous.notifications.v1.NotificationService\n\
         \n  unsubscribe    http://{shown}:{nhp}/unsubscribe?token=<token> (links in emails)\n\
         {metrics}\
         \n  emails         {dir}/emails (.eml files){smtp}\n\
         \ntry it:\n\
         \n  buf curl --protocol grpc --http2-prior-knowledge \\\n    --data '{{\"email\":\"anna@example.com\",\"password\":\"correct horse battery\",\"display_name\":\"Anna\",\"city\":\"Paris\",\"locale\":\"fr\",\"time_zone\":\"Europe/Paris\"}}' \\\n    http://{shown}:{mp}/rendezvous.members.v1.MemberService/Register\n\
         \n  grpcurl -plaintext {shown}:{mp} list\n\
         \npress Ctrl-C to stop.",
        dir = args.data_dir.display(),
        mp = args.members_port,
        ep = args.events_port,
        fp = args.feed_port,
        np = args.notifications_port,
        nhp = args.notifications_http_port,
        metrics = match args.metrics_port {
            Some(port) => format!(
                "\n  metrics        http://{shown}:{port}/metrics (members; events {}, notifications {})\n",
                u32::from(port) + 1,
                u32::from(port) + 2,
            ),
            None => String::new(),
        },
        smtp = if args.smtp_url.is_some() {
            " — unused: SMTP is configured"
        } else {
            ""
        },
    );

    if let Some(demo) = demo {
        println!("\n{demo}");
    }
    // The first service to stop (or fail) stops the others; its result is reported first.
    stack::join(services, &shutdown).await
}

/// Loads the demo into the data directory unless it is there already; the sign-in help.
async fn load_demo(
    args: &UpArgs,
    keys: &stack::Keys,
    shutdown: &tokio_util::sync::CancellationToken,
    members: &str,
) -> anyhow::Result<String> {
    if let Some(help) = demo::loaded(&args.data_dir)? {
        return Ok(help);
    }
    demo::check_fresh(&args.data_dir)?;
    println!("loading the demo network…");
    let now = chrono::Utc::now();
    let clock = demo::history_clock(now);
    let history = shutdown.child_token();
    let listeners = stack::Listeners::private().await?;
    let addrs = listeners.addrs()?;
    let services = stack::spawn(
        args,
        &args.data_dir,
        keys,
        listeners,
        clock.clone(),
        demo::loading_members_settings(),
        history.clone(),
    )
    .await?;
    let loaded = demo::load(addrs, &clock, now).await;
    history.cancel();
    stack::join(services, &history).await?;
    loaded.context("loading the demo")?;
    let help = demo::help(members);
    demo::mark_loaded(&args.data_dir, &help)?;
    Ok(help)
}

async fn health(addr: &str, service: &str, timeout: Duration) -> anyhow::Result<()> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(timeout)
        .timeout(timeout);
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = client
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?
        .into_inner()
        .status;
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    anyhow::ensure!(status == serving, "{addr} is not serving (status {status})");
    println!("SERVING");
    Ok(())
}

/// Opens the outbox database `url` names, never creating a SQLite file that is not there.
async fn outbox_db(url: &str) -> anyhow::Result<Db> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        anyhow::ensure!(Path::new(path).exists(), "no database at {path}");
    }
    Db::connect(url).await.context("connecting to the database")
}

async fn outbox(args: OutboxArgs) -> anyhow::Result<()> {
    let db = outbox_db(args.database_url.expose()).await?;
    match args.command {
        OutboxCommand::DeadLetters {
            limit,
            after,
            payload,
        } => {
            for letter in relay::dead_letters(&db, after.as_deref(), limit).await? {
                println!(
                    "{id}  {topic}  {key}  refused {refusals} times ({attempts} attempts), dead since {dead}: {error}",
                    id = letter.id,
                    topic = letter.topic,
                    key = letter.dedupe_key,
                    refusals = letter.refusals,
                    attempts = letter.attempts,
                    dead = letter.dead_at.to_rfc3339(),
                    error = letter.last_error.as_deref().unwrap_or("-"),
                );
                if payload {
                    println!("    {}", letter.payload);
                }
            }
            println!("{} dead letters", relay::dead_letter_count(&db).await?);
        }
        OutboxCommand::Requeue { ids, all } => {
            let ids = (!all).then_some(ids.as_slice());
            let requeued =
                relay::requeue_dead_letters(&db, ids, Clock::system().now_micros()).await?;
            println!("requeued {requeued}");
        }
    }
    db.close().await;
    Ok(())
}

/// `rendezvous keys generate`: the three key pairs, and what goes where.
fn generate_keys(out: &Path) -> anyhow::Result<()> {
    let written = ServiceKeySet::generate().write(out)?;
    for path in &written {
        println!("{}", path.display());
    }
    println!(
        "give each service its own <service>.key.pem (RENDEZVOUS_SERVICE_KEY_FILE) and a \
         folder with the others' <service>.pub.pem (RENDEZVOUS_PEER_KEYS_DIR)"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Up(args) => up(args).await,
        Command::Health {
            addr,
            service,
            timeout_secs,
        } => health(&addr, &service, Duration::from_secs(timeout_secs.max(1))).await,
        Command::Outbox(args) => outbox(args).await,
        Command::Keys {
            command: KeysCommand::Generate { out },
        } => generate_keys(&out),
    }
}
