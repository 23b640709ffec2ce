//! Command-line and environment configuration of `rendezvous-notifications`.

use std::net::SocketAddr;
use std::path::PathBuf;

use rendezvous_common::config::{
    AuthArgs, MetricsArgs, Secret, ServerArgs, SigningKeysArgs, TelemetryArgs,
    check_configured_secret,
};

use crate::unsubscribe::{self, UnsubscribeTokens};
use crate::worker::WorkerSettings;

/// The notifications service: inbox, live stream, email, preferences, reliable delivery.
#[derive(clap::Parser, Clone, Debug)]
#[command(name = "rendezvous-notifications", version)]
pub struct Config {
    /// Address to listen on for gRPC.
    #[arg(long, env = "RENDEZVOUS_LISTEN_ADDR", default_value = "0.0.0.0:50053")]
    pub listen_addr: SocketAddr,
    /// Database URL: `sqlite://path/notifications.db` or `postgres://user@host:5432/notifications`.
    #[arg(
        long,
        env = "RENDEZVOUS_DATABASE_URL",
        default_value = "sqlite://rendezvous-notifications.db"
    )]
    pub database_url: Secret,
    /// The members service (recipients' contact details).
    #[arg(
        long,
        env = "RENDEZVOUS_MEMBERS_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub members_url: String,
    /// PEM public key that verifies access tokens (the members service's
    /// `token-public-key.pem`); fetched from members' GetSigningKeys when not given.
    #[arg(long, env = "RENDEZVOUS_TOKEN_PUBLIC_KEY_FILE")]
    pub token_public_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub signing_keys: SigningKeysArgs,
    /// SMTP server for email: `smtp://host:1025` (plain), `smtp+starttls://user:pass@host:587`
    /// or `smtps://user:pass@host:465`. Without it, emails are written as `.eml` files.
    #[arg(long, env = "RENDEZVOUS_SMTP_URL")]
    pub smtp_url: Option<Secret>,
    /// Folder for `.eml` files when no SMTP server is configured.
    #[arg(long, env = "RENDEZVOUS_EMAIL_DIR", default_value = "emails")]
    pub email_dir: PathBuf,
    /// `From` of emails.
    #[arg(
        long,
        env = "RENDEZVOUS_EMAIL_FROM",
        default_value = "Rendezvous <noreply@rendezvous.local>"
    )]
    pub email_from: String,
    /// Address to serve HTTP on: the one-click unsubscribe links of emails.
    #[arg(long, env = "RENDEZVOUS_HTTP_ADDR", default_value = "0.0.0.0:50063")]
    pub http_addr: SocketAddr,
    /// Public base URL of the HTTP listener as recipients reach it; emails link to
    /// `{this}/unsubscribe?token=…` (List-Unsubscribe and the footer).
    #[arg(
        long,
        env = "RENDEZVOUS_PUBLIC_URL",
        default_value = "http://localhost:50063"
    )]
    pub public_url: String,
    /// Key that signs unsubscribe links (at least 32 random bytes; refused like a weak service
    /// secret). Without it, a key is derived from the service secret with the label
    /// `notifications/unsubscribe-tokens`.
    #[arg(long, env = "RENDEZVOUS_UNSUBSCRIBE_KEY", hide_env_values = true)]
    pub unsubscribe_key: Option<Secret>,
    /// Days an unsubscribe link works after its email is sent.
    #[arg(
        long,
        env = "RENDEZVOUS_UNSUBSCRIBE_LINK_DAYS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u32).range(1..=3650)
    )]
    pub unsubscribe_link_days: u32,
    /// Attempts before a delivery is marked dead.
    #[arg(long, env = "RENDEZVOUS_DELIVERY_MAX_ATTEMPTS", default_value_t = 6)]
    pub delivery_max_attempts: i64,
    /// Seconds a worker holds a delivery it is sending; another worker takes it over only
    /// after that. Must be longer than `--email-send-timeout-secs`.
    #[arg(long, env = "RENDEZVOUS_EMAIL_LEASE_SECS", default_value_t = 60)]
    pub email_lease_secs: u32,
    /// Seconds one email may take to send, whole (connecting and every SMTP exchange); a send
    /// that takes longer fails and is retried.
    #[arg(long, env = "RENDEZVOUS_EMAIL_SEND_TIMEOUT_SECS", default_value_t = 30)]
    pub email_send_timeout_secs: u32,
    /// Days a notification stays in the inbox, read or not, before it is deleted.
    #[arg(
        long,
        env = "RENDEZVOUS_INBOX_RETENTION_DAYS",
        default_value_t = 180,
        value_parser = clap::value_parser!(u32).range(1..=3650)
    )]
    pub inbox_retention_days: u32,
    /// Days a finished delivery (sent, suppressed, dead, cancelled) stays in the delivery log
    /// before it is deleted.
    #[arg(
        long,
        env = "RENDEZVOUS_DELIVERY_RETENTION_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=3650)
    )]
    pub delivery_retention_days: u32,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

impl Config {
    /// The delivery worker these flags describe, sending from `from`; refuses a lease that
    /// does not outlive the longest send.
    pub fn worker_settings(
        &self,
        from: lettre::message::Mailbox,
    ) -> anyhow::Result<WorkerSettings> {
        let mut worker = WorkerSettings::new(from, self.public_url.clone());
        worker.max_attempts = self.delivery_max_attempts.max(1);
        worker.lease = chrono::Duration::seconds(i64::from(self.email_lease_secs));
        worker.send_timeout =
            std::time::Duration::from_secs(u64::from(self.email_send_timeout_secs));
        worker.inbox_retention = chrono::Duration::days(i64::from(self.inbox_retention_days));
        worker.delivery_retention = chrono::Duration::days(i64::from(self.delivery_retention_days));
        worker.check_lease().map_err(anyhow::Error::msg)?;
        Ok(worker)
    }

    /// The signer and checker of unsubscribe links this configuration names.
    pub fn unsubscribe_tokens(&self) -> anyhow::Result<UnsubscribeTokens> {
        let lifetime = chrono::Duration::days(i64::from(self.unsubscribe_link_days));
        match &self.unsubscribe_key {
            Some(key) => {
                let key = check_configured_secret(
                    "RENDEZVOUS_UNSUBSCRIBE_KEY",
                    "unsubscribe-key",
                    Some(key),
                    self.auth.development,
                )?;
                Ok(UnsubscribeTokens::new(key.expose().as_bytes(), lifetime))
            }
            None => Ok(UnsubscribeTokens::new(
                &self
                    .auth
                    .service_secret()?
                    .derive_key(unsubscribe::KEY_LABEL),
                lifetime,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn parse(flags: &[&str]) -> Config {
        let base = [
            "rendezvous-notifications",
            "--service-secret",
            "0123456789abcdef0123456789abcdef",
        ];
        Config::try_parse_from(base.iter().chain(flags)).unwrap()
    }

    fn from() -> lettre::message::Mailbox {
        "Rendezvous <noreply@rendezvous.test>".parse().unwrap()
    }

    #[test]
    fn the_email_lease_must_outlive_the_longest_send() {
        let worker = parse(&[]).worker_settings(from()).unwrap();
        assert_eq!(worker.lease, chrono::Duration::seconds(60));
        assert_eq!(worker.send_timeout, std::time::Duration::from_secs(30));
        assert_eq!(worker.inbox_retention, chrono::Duration::days(180));
        assert_eq!(worker.delivery_retention, chrono::Duration::days(30));
        for (lease, send) in [("30", "30"), ("10", "30")] {
            let config = parse(&[
                "--email-lease-secs",
                lease,
                "--email-send-timeout-secs",
                send,
            ]);
            let error = config.worker_settings(from()).unwrap_err().to_string();
            assert!(error.contains("must be longer"), "{lease}/{send}: {error}");
        }
        let config = parse(&[
            "--email-lease-secs",
            "31",
            "--email-send-timeout-secs",
            "30",
        ]);
        assert!(config.worker_settings(from()).is_ok());
        let config = parse(&[
            "--inbox-retention-days",
            "30",
            "--delivery-retention-days",
            "7",
        ]);
        let worker = config.worker_settings(from()).unwrap();
        assert_eq!(worker.inbox_retention, chrono::Duration::days(30));
        assert_eq!(worker.delivery_retention, chrono::Duration::days(7));
        assert!(Config::try_parse_from(["x", "--inbox-retention-days", "0"]).is_err());
    }
}
