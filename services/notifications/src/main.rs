//! `rendezvous-notifications`: loads configuration, starts telemetry, binds, and runs the
//! service until SIGINT or SIGTERM.

use anyhow::Context as _;
use clap::Parser as _;
use rendezvous_common::auth::{PublicKey, ServiceCredentials, ServiceSecret};
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_common::{server, telemetry};
use rendezvous_notifications::config::Config;
use rendezvous_notifications::email::Mailer;
use rendezvous_notifications::{Options, WorkerSettings};
use rendezvous_proto::members::v1::GetSigningKeysRequest;
use rendezvous_proto::members::v1::member_internal_service_client::MemberInternalServiceClient;

/// Asks the members service for its token keys, retrying while it starts.
async fn fetch_keys(
    channel: tonic::transport::Channel,
    credentials: &ServiceCredentials,
) -> anyhow::Result<Vec<PublicKey>> {
    let mut client = MemberInternalServiceClient::new(channel);
    for attempt in 1..=30 {
        let mut request = tonic::Request::new(GetSigningKeysRequest {});
        request
            .metadata_mut()
            .insert("authorization", credentials.bearer()?.parse()?);
        match client.get_signing_keys(request).await {
            Ok(response) => {
                return response
                    .into_inner()
                    .keys
                    .iter()
                    .map(|k| PublicKey::from_pem(&k.public_key_pem).map_err(Into::into))
                    .collect();
            }
            Err(status) => {
                tracing::warn!(attempt, %status, "members service not ready for signing keys");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
    anyhow::bail!("could not fetch the token signing keys from the members service")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(config.telemetry.log_format, &config.telemetry.log_filter);
    let service_secret = ServiceSecret::new(config.auth.service_secret.expose())?;
    let clock = Clock::system();
    let members =
        tonic::transport::Endpoint::from_shared(config.members_url.clone())?.connect_lazy();
    let token_keys = match &config.token_public_key_file {
        Some(path) => vec![PublicKey::from_pem(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )?],
        None => {
            let credentials =
                ServiceCredentials::new("notifications", service_secret.clone(), clock.clone());
            fetch_keys(members.clone(), &credentials).await?
        }
    };
    let mailer = match &config.smtp_url {
        Some(url) => Mailer::smtp(url.expose())?,
        None => Mailer::files(&config.email_dir)?,
    };
    let from = config.email_from.parse().context("parsing --email-from")?;
    let mut worker = WorkerSettings::new(from, config.public_url.clone());
    worker.max_attempts = config.delivery_max_attempts.max(1);
    let db = Db::connect(config.database_url.expose())
        .await
        .context("connecting to the database")?;
    let options = Options {
        db,
        clock,
        token_keys,
        service_secret,
        page_token_key: config
            .auth
            .service_secret
            .derive_key("notifications/page-tokens"),
        members,
        mailer,
        worker,
        server: config.server.settings(),
        contacts_ttl: std::time::Duration::from_secs(60),
    };
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("binding {}", config.listen_addr))?;
    rendezvous_notifications::run(options, listener, server::shutdown_on_signal()).await
}
