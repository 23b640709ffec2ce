//! `rendezvous-members`: loads configuration, starts telemetry, binds, and runs the service
//! until SIGINT or SIGTERM.

use anyhow::Context as _;
use clap::Parser as _;
use rendezvous_common::auth::ServiceName;
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::{peers, server, telemetry};
use rendezvous_members::config::{Config, load_or_create_signing_key};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let telemetry = telemetry::init(
        config.telemetry.log_format,
        &config.telemetry.log_filter,
        telemetry::Process::Service(telemetry::MEMBERS),
    );
    let secret = config.auth.service_secret()?;
    let service_keys = config.auth.service_keys(ServiceName::Members)?;
    let signing_key = load_or_create_signing_key(&config.token_signing_key_file)?;
    let db = Db::connect(config.database_url.expose())
        .await
        .context("connecting to the database")?;
    let options = rendezvous_members::Options {
        db,
        clock: Clock::system(),
        signing_key,
        service_keys,
        page_token_key: secret.derive_key("members/page-tokens"),
        settings: config.settings(),
        server: config.server.settings(),
        notifications: lazy_channel(config.notifications_url.as_deref(), "--notifications-url")?,
        events: lazy_channel(config.events_url.as_deref(), "--events-url")?,
        metrics_listener: config.metrics.bind().await?,
    };
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("binding {}", config.listen_addr))?;
    let result = rendezvous_members::run(options, listener, server::shutdown_on_signal()).await;
    // The last spans, the shutdown's included, go to the collector before the process exits.
    telemetry.shutdown().await;
    result
}

/// A channel to the peer at `url` (connected on first use), if one is configured.
fn lazy_channel(
    url: Option<&str>,
    flag: &str,
) -> anyhow::Result<Option<tonic::transport::Channel>> {
    url.map(|url| peers::channel(url).with_context(|| format!("parsing {flag}")))
        .transpose()
}
