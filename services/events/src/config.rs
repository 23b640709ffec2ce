//! Command-line and environment configuration of `rendezvous-events`.

use std::net::SocketAddr;
use std::path::PathBuf;

use rendezvous_common::config::{AuthArgs, Secret, ServerArgs, TelemetryArgs};

/// The events service: chapters (served), events, RSVPs and calendars.
#[derive(clap::Parser, Clone, Debug)]
#[command(name = "rendezvous-events", version)]
pub struct Config {
    /// Address to listen on for gRPC.
    #[arg(long, env = "RENDEZVOUS_LISTEN_ADDR", default_value = "0.0.0.0:50052")]
    pub listen_addr: SocketAddr,
    /// Database URL: `sqlite://path/events.db` or `postgres://user@host:5432/events`.
    #[arg(
        long,
        env = "RENDEZVOUS_DATABASE_URL",
        default_value = "sqlite://rendezvous-events.db"
    )]
    pub database_url: Secret,
    /// The members service (token signing keys).
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
    pub auth: AuthArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}
