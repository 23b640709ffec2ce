//! `rendezvous-events`: loads configuration, starts telemetry, binds, and runs the service
//! until SIGINT or SIGTERM.

use anyhow::Context as _;
use clap::Parser as _;
use rendezvous_common::auth::{PublicKey, ServiceName};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::{peers, server, telemetry};
use rendezvous_events::Options;
use rendezvous_events::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let telemetry = telemetry::init(
        config.telemetry.log_format,
        &config.telemetry.log_filter,
        telemetry::Process::Service(telemetry::EVENTS),
    );
    let secret = config.auth.service_secret()?;
    let service_keys = config.auth.service_keys(ServiceName::Events)?;
    let clock = Clock::system();
    let token_keys = match &config.token_public_key_file {
        Some(path) => vec![PublicKey::from_pem(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )?],
        None => {
            let credentials = service_keys.credentials(ServiceName::Members, clock.clone())?;
            let retry = config.signing_keys.retry();
            peers::fetch_signing_keys(&config.members_url, credentials, &retry).await?
        }
    };
    let db = Db::connect(config.database_url.expose())
        .await
        .context("connecting to the database")?;
    let options = Options {
        db,
        clock,
        token_keys,
        service_keys,
        page_token_key: secret.derive_key("events/page-tokens"),
        server: config.server.settings(),
        settings: rendezvous_events::Settings {
            relay: config.relay.settings(),
            check_in_before: chrono::Duration::minutes(config.check_in_opens_minutes.max(0)),
            check_in_after: chrono::Duration::minutes(config.check_in_closes_minutes.max(0)),
            weekly_invitation_cap: config.weekly_invitation_cap,
            limits: config.limits(),
            public_feed_url: config.public_feed_url.clone(),
            reminder_offsets: config.reminder_offsets.clone(),
            ..rendezvous_events::Settings::default()
        },
        members: Some(peers::channel(&config.members_url).context("parsing --members-url")?),
        notifications: match &config.notifications_url {
            Some(url) => Some(peers::channel(url).context("parsing --notifications-url")?),
            None => None,
        },
        feed_listener: Some(
            tokio::net::TcpListener::bind(config.feed_addr)
                .await
                .with_context(|| format!("binding {}", config.feed_addr))?,
        ),
        metrics_listener: config.metrics.bind().await?,
    };
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("binding {}", config.listen_addr))?;
    let result = rendezvous_events::run(options, listener, server::shutdown_on_signal()).await;
    // The last spans, the shutdown's included, go to the collector before the process exits.
    telemetry.shutdown().await;
    result
}
