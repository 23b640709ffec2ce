//! `rendezvous-notifications`: loads configuration, starts telemetry, binds, and runs the
//! service until SIGINT or SIGTERM.

use anyhow::Context as _;
use clap::Parser as _;
use rendezvous_common::auth::{PublicKey, ServiceName};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::{peers, server, telemetry};
use rendezvous_notifications::Options;
use rendezvous_notifications::config::Config;
use rendezvous_notifications::email::Mailer;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let telemetry = telemetry::init(
        config.telemetry.log_format,
        &config.telemetry.log_filter,
        telemetry::Process::Service(telemetry::NOTIFICATIONS),
    );
    let secret = config.auth.service_secret()?;
    let service_keys = config.auth.service_keys(ServiceName::Notifications)?;
    let clock = Clock::system();
    let members = peers::channel(&config.members_url).context("parsing --members-url")?;
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
    let mailer = match &config.smtp_url {
        Some(url) => Mailer::smtp(url.expose())?,
        None => Mailer::files(&config.email_dir)?,
    };
    let from = config.email_from.parse().context("parsing --email-from")?;
    let worker = config.worker_settings(from)?;
    let db = Db::connect(config.database_url.expose())
        .await
        .context("connecting to the database")?;
    let options = Options {
        db,
        clock,
        token_keys,
        service_keys,
        page_token_key: secret.derive_key("notifications/page-tokens"),
        members,
        mailer,
        worker,
        server: config.server.settings(),
        contacts_ttl: std::time::Duration::from_secs(60),
        unsubscribe: config.unsubscribe_tokens()?,
        http_listener: Some(
            tokio::net::TcpListener::bind(config.http_addr)
                .await
                .with_context(|| format!("binding {}", config.http_addr))?,
        ),
        metrics_listener: config.metrics.bind().await?,
    };
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("binding {}", config.listen_addr))?;
    let result =
        rendezvous_notifications::run(options, listener, server::shutdown_on_signal()).await;
    // The last spans, the shutdown's included, go to the collector before the process exits.
    telemetry.shutdown().await;
    result
}
