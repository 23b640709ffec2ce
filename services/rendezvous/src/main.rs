//! `rendezvous`: the all-in-one binary.
//!
//! * `rendezvous up` runs every service in one process on the default ports, over SQLite files
//!   in a data directory — the embedded default. On first start it generates development keys
//!   (the token signing key and the service secret) in that directory and keeps them.
//! * `rendezvous health <addr>` probes a server's `grpc.health.v1.Health` and exits 0 only
//!   when it is SERVING (container images have no grpc_health_probe).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use clap::{Parser, Subcommand};
use rand::RngCore as _;
use rendezvous_common::auth::ServiceSecret;
use rendezvous_common::clock::Clock;
use rendezvous_common::config::{Secret, ServerArgs, TelemetryArgs};
use rendezvous_common::db::Db;
use rendezvous_common::{server, telemetry};
use rendezvous_events::domain::reminder::ReminderOffsets;
use rendezvous_members::config::{load_or_create_signing_key, write_private};
use rendezvous_notifications::email::Mailer;

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
}

#[derive(clap::Args, Debug)]
struct UpArgs {
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
    telemetry::init(args.telemetry.log_format, &args.telemetry.log_filter);
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let signing_key = load_or_create_signing_key(&args.data_dir.join("token-signing-key.pem"))?;
    let public_key_path = args.data_dir.join("token-public-key.pem");
    if !public_key_path.exists() {
        std::fs::write(&public_key_path, signing_key.public_key_pem()?)?;
    }
    let secret = load_or_create_secret(&args.data_dir.join("service-secret"))?;
    let shutdown = server::shutdown_on_signal();

    let members_db = Db::connect(&format!(
        "sqlite://{}",
        args.data_dir.join("members.db").display()
    ))
    .await
    .context("opening the members database")?;
    let members_addr = SocketAddr::new(args.host, args.members_port);
    let members_listener = tokio::net::TcpListener::bind(members_addr)
        .await
        .with_context(|| format!("binding the members service to {members_addr}"))?;
    let events_addr = SocketAddr::new(args.host, args.events_port);
    let events_listener = tokio::net::TcpListener::bind(events_addr)
        .await
        .with_context(|| format!("binding the events service to {events_addr}"))?;
    let notifications_addr = SocketAddr::new(args.host, args.notifications_port);
    let notifications_listener = tokio::net::TcpListener::bind(notifications_addr)
        .await
        .with_context(|| format!("binding the notifications service to {notifications_addr}"))?;
    let feed_addr = SocketAddr::new(args.host, args.feed_port);
    let feed_listener = tokio::net::TcpListener::bind(feed_addr)
        .await
        .with_context(|| format!("binding the calendar feeds to {feed_addr}"))?;
    let notifications_http_addr = SocketAddr::new(args.host, args.notifications_http_port);
    let notifications_http_listener = tokio::net::TcpListener::bind(notifications_http_addr)
        .await
        .with_context(|| {
            format!("binding the notifications HTTP endpoints to {notifications_http_addr}")
        })?;
    let loopback_addr = |addr: SocketAddr| {
        let ip = if addr.ip().is_unspecified() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            addr.ip()
        };
        SocketAddr::new(ip, addr.port())
    };
    let loopback = |addr: SocketAddr| {
        let ip = if addr.ip().is_unspecified() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            addr.ip()
        };
        tonic::transport::Endpoint::from_shared(format!(
            "http://{}",
            SocketAddr::new(ip, addr.port())
        ))
        .map(|endpoint| endpoint.connect_lazy())
    };
    let service_secret = ServiceSecret::new(secret.expose())?;
    let token_keys = vec![signing_key.verifying_key()];
    let members = rendezvous_members::Options {
        db: members_db,
        clock: Clock::system(),
        signing_key,
        service_secret: service_secret.clone(),
        page_token_key: secret.derive_key("members/page-tokens"),
        settings: rendezvous_members::Settings::default(),
        server: args.server.settings(),
        notifications: Some(loopback(notifications_addr)?),
        events: Some(loopback(events_addr)?),
    };
    let mut services = tokio::task::JoinSet::new();
    services.spawn(rendezvous_members::run(
        members,
        members_listener,
        shutdown.clone(),
    ));

    let events_db = Db::connect(&format!(
        "sqlite://{}",
        args.data_dir.join("events.db").display()
    ))
    .await
    .context("opening the events database")?;
    let events = rendezvous_events::Options {
        db: events_db,
        clock: Clock::system(),
        token_keys: token_keys.clone(),
        service_secret: service_secret.clone(),
        page_token_key: secret.derive_key("events/page-tokens"),
        server: args.server.settings(),
        settings: rendezvous_events::Settings {
            public_feed_url: format!("http://{}", loopback_addr(feed_addr)),
            reminder_offsets: args.reminder_offsets.clone(),
            ..rendezvous_events::Settings::default()
        },
        members: Some(loopback(members_addr)?),
        notifications: Some(loopback(notifications_addr)?),
        feed_listener: Some(feed_listener),
    };
    services.spawn(rendezvous_events::run(
        events,
        events_listener,
        shutdown.clone(),
    ));

    let email_dir = args.data_dir.join("emails");
    let mailer = match &args.smtp_url {
        Some(url) => Mailer::smtp(url.expose())?,
        None => Mailer::files(&email_dir)?,
    };
    let notifications_db = Db::connect(&format!(
        "sqlite://{}",
        args.data_dir.join("notifications.db").display()
    ))
    .await
    .context("opening the notifications database")?;
    let notifications = rendezvous_notifications::Options {
        db: notifications_db,
        clock: Clock::system(),
        token_keys,
        service_secret,
        page_token_key: secret.derive_key("notifications/page-tokens"),
        members: loopback(members_addr)?,
        mailer,
        worker: rendezvous_notifications::WorkerSettings::new(
            args.email_from.parse().context("parsing --email-from")?,
            args.public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", loopback_addr(notifications_http_addr))),
        ),
        server: args.server.settings(),
        contacts_ttl: Duration::from_secs(60),
        unsubscribe: rendezvous_notifications::unsubscribe::UnsubscribeTokens::new(
            &secret.derive_key(rendezvous_notifications::unsubscribe::KEY_LABEL),
            rendezvous_notifications::unsubscribe::DEFAULT_LIFETIME,
        ),
        http_listener: Some(notifications_http_listener),
    };
    services.spawn(rendezvous_notifications::run(
        notifications,
        notifications_listener,
        shutdown.clone(),
    ));

    let shown = if args.host.is_unspecified() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        args.host
    };
    println!(
        "rendezvous is up (data in {dir})\n\
         \n  members        {shown}:{mp}   rendezvous.members.v1.MemberService\n\
         \n  events         {shown}:{ep}   rendezvous.events.v1.EventService, ChapterService\n\
         \n  feeds          http://{shown}:{fp}/calendar/<token>.ics (CreateCalendarFeed)\n\
         \n  notifications  {shown}:{np}   rendezvous.notifications.v1.NotificationService\n\
         \n  unsubscribe    http://{shown}:{nhp}/unsubscribe?token=<token> (links in emails)\n\
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
        smtp = if args.smtp_url.is_some() {
            " — unused: SMTP is configured"
        } else {
            ""
        },
    );

    // The first service to stop (or fail) stops the others; its result is reported first.
    let mut results = Vec::new();
    results.extend(services.join_next().await);
    shutdown.cancel();
    while let Some(result) = services.join_next().await {
        results.push(result);
    }
    for result in results {
        result.context("service task")??;
    }
    Ok(())
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Up(args) => up(args).await,
        Command::Health {
            addr,
            service,
            timeout_secs,
        } => health(&addr, &service, Duration::from_secs(timeout_secs.max(1))).await,
    }
}
