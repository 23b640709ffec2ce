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
use rendezvous_members::config::{load_or_create_signing_key, write_private};

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
    let members = rendezvous_members::Options {
        db: members_db,
        clock: Clock::system(),
        signing_key,
        service_secret: ServiceSecret::new(secret.expose())?,
        page_token_key: secret.derive_key("members/page-tokens"),
        settings: rendezvous_members::Settings::default(),
        server: args.server.settings(),
    };
    let members_task = tokio::spawn(rendezvous_members::run(
        members,
        members_listener,
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
         \ntry it:\n\
         \n  buf curl --protocol grpc --http2-prior-knowledge \\\n    --data '{{\"email\":\"anna@example.com\",\"password\":\"correct horse battery\",\"display_name\":\"Anna\",\"city\":\"Paris\",\"locale\":\"fr\",\"time_zone\":\"Europe/Paris\"}}' \\\n    http://{shown}:{mp}/rendezvous.members.v1.MemberService/Register\n\
         \n  grpcurl -plaintext {shown}:{mp} list\n\
         \npress Ctrl-C to stop.",
        dir = args.data_dir.display(),
        mp = args.members_port,
    );

    let result = members_task.await.context("members service task")?;
    shutdown.cancel();
    result
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
