//! Configuration pieces every service binary flattens into its own `clap` parser. Values are
//! layered defaults → `RENDEZVOUS_*` environment → command-line flags (clap's `env` does the
//! layering); secrets are wrapped so that `Debug` never prints them.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::server::ServerSettings;
use crate::telemetry::LogFormat;

/// A secret string: parsed from flags or environment, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A 32-byte key for `purpose` derived from this secret, so one configured secret can feed
    /// several independent uses (page tokens, refresh-token hashing, …).
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(purpose.as_bytes());
        hasher.update([0]);
        hasher.update(self.0.as_bytes());
        hasher.finalize().into()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Logging flags.
#[derive(clap::Args, Clone, Debug)]
pub struct TelemetryArgs {
    /// Log output format.
    #[arg(long, env = "RENDEZVOUS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `rendezvous_members=debug,info`.
    #[arg(long, env = "RENDEZVOUS_LOG", default_value = "info")]
    pub log_filter: String,
}

/// Server limits.
#[derive(clap::Args, Clone, Debug)]
pub struct ServerArgs {
    /// Seconds a request may run before it ends with DEADLINE_EXCEEDED.
    #[arg(long, env = "RENDEZVOUS_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Requests handled at once; more are shed with RESOURCE_EXHAUSTED.
    #[arg(
        long,
        env = "RENDEZVOUS_MAX_CONCURRENT_REQUESTS",
        default_value_t = 1024
    )]
    pub max_concurrent_requests: usize,
    /// Largest request message accepted, in bytes.
    #[arg(long, env = "RENDEZVOUS_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Seconds shutdown waits for in-flight RPCs and open streams before closing them.
    #[arg(long, env = "RENDEZVOUS_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
}

impl ServerArgs {
    pub fn settings(&self) -> ServerSettings {
        ServerSettings {
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            max_concurrent_requests: self.max_concurrent_requests.max(1),
            max_message_bytes: self.max_message_bytes.max(1024),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }
}

/// Credentials shared by the services.
#[derive(clap::Args, Clone, Debug)]
pub struct AuthArgs {
    /// Secret shared by all Rendezvous services: it signs service-to-service credentials and
    /// derives page-token keys. At least 32 bytes.
    #[arg(long, env = "RENDEZVOUS_SERVICE_SECRET")]
    pub service_secret: Secret,
}
