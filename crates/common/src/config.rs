//! Configuration pieces every service binary flattens into its own `clap` parser. Values are
//! layered defaults → `RENDEZVOUS_*` environment → command-line flags (clap's `env` does the
//! layering); secrets are wrapped so that `Debug` never prints them.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::server::{DEFAULT_DRAIN_WINDOW, ServerSettings};
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

/// Where the service serves its Prometheus metrics.
#[derive(clap::Args, Clone, Debug)]
pub struct MetricsArgs {
    /// Address of the plain-HTTP listener of `/metrics` (Prometheus text format), e.g.
    /// `0.0.0.0:9090`; no metrics are served when unset.
    #[arg(long, env = "RENDEZVOUS_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl MetricsArgs {
    /// Binds the metrics listener, when an address is set.
    pub async fn bind(&self) -> anyhow::Result<Option<tokio::net::TcpListener>> {
        use anyhow::Context as _;
        match self.metrics_addr {
            None => Ok(None),
            Some(addr) => tokio::net::TcpListener::bind(addr)
                .await
                .map(Some)
                .with_context(|| format!("binding the metrics listener to {addr}")),
        }
    }
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
    /// Seconds the server keeps serving after health turns NOT_SERVING on SIGTERM, before
    /// its listener closes (time for load balancers to stop routing here); fractions allowed
    /// (`0.5`); 5 for the service binaries, 0 for `rendezvous up`, when not given.
    #[arg(long, env = "RENDEZVOUS_DRAIN_SECS", value_parser = parse_seconds)]
    pub drain_secs: Option<Duration>,
    /// Seconds shutdown waits, once the listener has closed, for in-flight RPCs and open
    /// streams before closing them.
    #[arg(long, env = "RENDEZVOUS_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
}

impl ServerArgs {
    /// The settings of a service binary: its drain window is [`DEFAULT_DRAIN_WINDOW`] unless
    /// configured.
    pub fn settings(&self) -> ServerSettings {
        self.settings_draining_by_default(DEFAULT_DRAIN_WINDOW)
    }

    /// The settings with `drain_window` when none is configured (`rendezvous up`, with no
    /// load balancer in front, stops at once on Ctrl-C).
    pub fn settings_draining_by_default(&self, drain_window: Duration) -> ServerSettings {
        ServerSettings {
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            max_concurrent_requests: self.max_concurrent_requests.max(1),
            max_message_bytes: self.max_message_bytes.max(1024),
            drain_window: self.drain_secs.unwrap_or(drain_window),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }
}

/// A number of seconds, fractions allowed, at most a day.
fn parse_seconds(value: &str) -> Result<Duration, String> {
    let seconds: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&seconds) {
        return Err(format!("{value:?} is not between 0 and 86400 seconds"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{value:?}: {e}"))
}

/// Shortest secret accepted, in bytes: service credentials are HMAC-SHA256 keys.
pub const MIN_SECRET_BYTES: usize = 32;

/// Fewest distinct characters a secret may have outside development: `aaaa…` or `abab…` is
/// long enough but guessable. A random hex secret of 32 digits has fewer than 8 of the 16
/// digits with a probability below 10⁻⁷.
pub const MIN_DISTINCT_CHARS: usize = 8;

/// Secrets that have been published — the docker compose file's old default, the test kit's —
/// and so protect nothing. `rendezvous up` generates a random secret per data directory: it has
/// none to list here.
pub const PUBLISHED_SECRETS: &[&str] = &[
    "change-me-please-a-long-random-service-secret",
    "rendezvous-test-service-secret-0123456789",
];

/// Words that mark a value copied from an example rather than generated.
const PLACEHOLDER_WORDS: &[&str] = &["changeme", "change-me", "change_me", "replace-me"];

/// What makes a configured secret unfit to protect a deployment.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeakSecret {
    #[error("is not set")]
    Missing,
    #[error("is empty")]
    Empty,
    #[error("is {0} bytes long; at least {MIN_SECRET_BYTES} are needed")]
    TooShort(usize),
    #[error("is a published default")]
    Published,
    #[error("is a placeholder from an example")]
    Placeholder,
    #[error("has only {0} distinct characters; at least {MIN_DISTINCT_CHARS} are needed")]
    Repetitive(usize),
}

impl WeakSecret {
    /// Whether development mode accepts a secret this weak: a known or simple one, yes; a
    /// missing one, or one too short to key HMAC-SHA256, never.
    pub fn allowed_in_development(&self) -> bool {
        matches!(
            self,
            Self::Published | Self::Placeholder | Self::Repetitive(_)
        )
    }
}

/// Checks a secret's value against the rules above.
pub fn check_secret(value: &str) -> Result<(), WeakSecret> {
    if value.is_empty() {
        return Err(WeakSecret::Empty);
    }
    if value.len() < MIN_SECRET_BYTES {
        return Err(WeakSecret::TooShort(value.len()));
    }
    let normalised = value.trim().to_ascii_lowercase();
    if PUBLISHED_SECRETS.contains(&normalised.as_str()) {
        return Err(WeakSecret::Published);
    }
    if PLACEHOLDER_WORDS
        .iter()
        .any(|word| normalised.contains(word))
    {
        return Err(WeakSecret::Placeholder);
    }
    let distinct = value
        .chars()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if distinct < MIN_DISTINCT_CHARS {
        return Err(WeakSecret::Repetitive(distinct));
    }
    Ok(())
}

/// The variable that turns development mode on.
pub const DEVELOPMENT_VARIABLE: &str = "RENDEZVOUS_DEVELOPMENT";

/// A configured secret refused at start; its message names the variable and the way out.
#[derive(Debug, thiserror::Error)]
#[error("{variable} (--{flag}) {weakness}: {advice}", advice = self.advice())]
pub struct SecretRefused {
    pub variable: &'static str,
    pub flag: &'static str,
    pub weakness: WeakSecret,
    pub development: bool,
}

impl SecretRefused {
    fn advice(&self) -> String {
        let generate = format!(
            "set it to a random value of at least {MIN_SECRET_BYTES} bytes, for example \
             `openssl rand -base64 48`"
        );
        if !self.weakness.allowed_in_development() {
            return generate;
        }
        format!(
            "{generate}; or, on a development machine only, set {DEVELOPMENT_VARIABLE}=1 (--development)"
        )
    }
}

/// Checks the secret configured in `variable` (flag `--flag`): a weak one is refused, unless
/// `development` accepts its weakness, which is then logged as a warning.
pub fn check_configured_secret<'a>(
    variable: &'static str,
    flag: &'static str,
    secret: Option<&'a Secret>,
    development: bool,
) -> Result<&'a Secret, SecretRefused> {
    let refused = |weakness| SecretRefused {
        variable,
        flag,
        weakness,
        development,
    };
    let secret = secret.ok_or_else(|| refused(WeakSecret::Missing))?;
    match check_secret(secret.expose()) {
        Ok(()) => Ok(secret),
        Err(weakness) if development && weakness.allowed_in_development() => {
            tracing::warn!(variable, %weakness, "development mode: accepting a weak secret");
            Ok(secret)
        }
        Err(weakness) => Err(refused(weakness)),
    }
}

/// A service's credentials: its own key and its peers' public keys for service-to-service
/// calls, and its local secret.
#[derive(clap::Args, Clone, Debug)]
pub struct AuthArgs {
    /// This service's local secret: it derives the keys of its page tokens (and, in members,
    /// of its sign-in limit table; in notifications, of its unsubscribe links). Each service
    /// may have its own: no other service needs it. Required: at least 32 random bytes
    /// (`openssl rand -base64 48`); a published default or a placeholder is refused unless
    /// `--development`.
    #[arg(long, env = "RENDEZVOUS_SERVICE_SECRET", hide_env_values = true)]
    service_secret: Option<Secret>,
    /// This service's Ed25519 private key (PKCS#8 PEM, e.g. `events.key.pem` from
    /// `rendezvous keys generate --out DIR`): it signs this service's calls to the others.
    /// Required outside development.
    #[arg(long, env = "RENDEZVOUS_SERVICE_KEY_FILE")]
    pub service_key_file: Option<std::path::PathBuf>,
    /// Folder holding `<service>.pub.pem`, the public keys of the other two services (their
    /// calls are checked against them; a peer a method does not list is PERMISSION_DENIED).
    /// Required outside development. In development, a service
    /// without `--service-key-file` generates its key pair here when there is none.
    #[arg(long, env = "RENDEZVOUS_PEER_KEYS_DIR")]
    pub peer_keys_dir: Option<std::path::PathBuf>,
    /// Development mode: accept a published, placeholder or repetitive secret (with a
    /// warning), and generate a missing service key — for a machine of one's own, never for
    /// a deployment. `rendezvous up` always runs in development mode.
    #[arg(
        long,
        env = "RENDEZVOUS_DEVELOPMENT",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub development: bool,
}

impl AuthArgs {
    /// The configured service secret, once it has passed [`check_configured_secret`].
    pub fn service_secret(&self) -> Result<&Secret, SecretRefused> {
        check_configured_secret(
            "RENDEZVOUS_SERVICE_SECRET",
            "service-secret",
            self.service_secret.as_ref(),
            self.development,
        )
    }

    /// `identity`'s key and its peers' public keys, as configured (see
    /// [`crate::auth::load_service_keys`]).
    pub fn service_keys(
        &self,
        identity: crate::auth::ServiceName,
    ) -> anyhow::Result<crate::auth::ServiceKeys> {
        crate::auth::load_service_keys(
            identity,
            &crate::auth::KeyFiles {
                key_file: self.service_key_file.as_deref(),
                peer_keys_dir: self.peer_keys_dir.as_deref(),
                development: self.development,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use clap::Parser as _;
    use rand::RngCore as _;

    use super::*;

    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        auth: AuthArgs,
    }

    fn parse(args: &[&str]) -> AuthArgs {
        match Cli::try_parse_from(std::iter::once("rendezvous-test").chain(args.iter().copied())) {
            Ok(cli) => cli.auth,
            Err(error) => panic!("{args:?} does not parse: {error}"),
        }
    }

    fn refusal(args: &[&str]) -> SecretRefused {
        match parse(args).service_secret() {
            Ok(_) => panic!("{args:?} was accepted"),
            Err(refused) => refused,
        }
    }

    fn random_secret(bytes: usize) -> String {
        let mut raw = vec![0u8; bytes];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        base64::engine::general_purpose::STANDARD.encode(raw)
    }

    const OLD_COMPOSE_DEFAULT: &str = "change-me-please-a-long-random-service-secret";

    #[test]
    fn the_old_compose_default_is_refused_naming_the_variable_and_the_development_switch() {
        let refused = refusal(&["--service-secret", OLD_COMPOSE_DEFAULT]);
        assert_eq!(refused.weakness, WeakSecret::Published);
        let message = refused.to_string();
        assert!(
            message
                .starts_with("RENDEZVOUS_SERVICE_SECRET (--service-secret) is a published default"),
            "{message}"
        );
        assert!(message.contains("openssl rand -base64 48"), "{message}");
        assert!(message.contains("RENDEZVOUS_DEVELOPMENT=1"), "{message}");
    }

    #[test]
    fn every_published_secret_is_refused_outside_development_whatever_its_case_or_spaces() {
        for secret in PUBLISHED_SECRETS {
            assert_eq!(check_secret(secret), Err(WeakSecret::Published), "{secret}");
            let shouted = format!("  {}\n", secret.to_uppercase());
            assert_eq!(
                check_secret(&shouted),
                Err(WeakSecret::Published),
                "{shouted:?}"
            );
        }
    }

    #[test]
    fn a_missing_empty_or_short_secret_is_refused_even_in_development() {
        for development in [&[][..], &["--development"][..]] {
            let refused = refusal(development);
            assert_eq!(refused.weakness, WeakSecret::Missing);
            assert!(
                refused
                    .to_string()
                    .starts_with("RENDEZVOUS_SERVICE_SECRET (--service-secret) is not set"),
                "{refused}"
            );
            assert!(
                !refused.to_string().contains("RENDEZVOUS_DEVELOPMENT"),
                "{refused}"
            );

            let args = [development, &["--service-secret", ""]].concat();
            assert_eq!(refusal(&args).weakness, WeakSecret::Empty);

            let short = "x".repeat(MIN_SECRET_BYTES - 1);
            let args = [development, &["--service-secret", &short]].concat();
            assert_eq!(
                refusal(&args).weakness,
                WeakSecret::TooShort(MIN_SECRET_BYTES - 1)
            );
        }
    }

    #[test]
    fn placeholders_and_repetitive_secrets_are_refused_outside_development() {
        let placeholder = format!("changeme{}", random_secret(32));
        assert_eq!(check_secret(&placeholder), Err(WeakSecret::Placeholder));
        assert_eq!(
            check_secret("please-CHANGE_ME-before-going-live-0123456789"),
            Err(WeakSecret::Placeholder)
        );
        assert_eq!(
            check_secret(&"a".repeat(64)),
            Err(WeakSecret::Repetitive(1))
        );
        assert_eq!(
            check_secret(&"abcdefg".repeat(10)),
            Err(WeakSecret::Repetitive(7))
        );
    }

    #[test]
    fn development_mode_accepts_published_placeholder_and_repetitive_secrets() {
        let placeholder = format!("change-me-{}", random_secret(32));
        let repetitive = "ab".repeat(32);
        for secret in [OLD_COMPOSE_DEFAULT, &placeholder, &repetitive] {
            let auth = parse(&["--development", "--service-secret", secret]);
            assert!(auth.development);
            match auth.service_secret() {
                Ok(accepted) => assert_eq!(accepted.expose(), secret),
                Err(refused) => panic!("development refused {secret:?}: {refused}"),
            }
            assert!(
                parse(&["--service-secret", secret])
                    .service_secret()
                    .is_err()
            );
        }
    }

    #[test]
    fn random_secrets_of_32_bytes_and_more_are_accepted_without_development() {
        for bytes in [24, 32, 48, 64] {
            for _ in 0..200 {
                let secret = random_secret(bytes);
                let auth = parse(&["--service-secret", &secret]);
                assert!(!auth.development);
                match auth.service_secret() {
                    Ok(accepted) => assert_eq!(accepted.expose(), secret),
                    Err(refused) => panic!("{secret:?} refused: {refused}"),
                }
            }
        }
        // `openssl rand -hex 16`: 32 hex digits, the shortest secret a hex generator gives.
        assert_eq!(check_secret("9f86d081884c7d659a2feaa0c55ad015"), Ok(()));
        assert_eq!(
            check_secret(&"x".repeat(MIN_SECRET_BYTES)),
            Err(WeakSecret::Repetitive(1))
        );
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let secret = random_secret(48);
        let auth = parse(&["--service-secret", &secret]);
        let debug = format!("{auth:?}");
        assert!(!debug.contains(&secret), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[derive(clap::Parser, Debug)]
    struct ServerCli {
        #[command(flatten)]
        server: ServerArgs,
    }

    fn server_args(args: &[&str]) -> Result<ServerArgs, clap::Error> {
        ServerCli::try_parse_from(std::iter::once("rendezvous-test").chain(args.iter().copied()))
            .map(|cli| cli.server)
    }

    #[test]
    fn the_drain_window_is_five_seconds_for_binaries_none_for_rendezvous_up_unless_configured() {
        let unset = server_args(&[]).map_err(|e| e.to_string());
        let Ok(unset) = unset else {
            panic!("no flags do not parse: {unset:?}")
        };
        assert_eq!(unset.settings().drain_window, Duration::from_secs(5));
        assert_eq!(
            unset
                .settings_draining_by_default(Duration::ZERO)
                .drain_window,
            Duration::ZERO
        );
        let Ok(half) = server_args(&["--drain-secs", "0.5"]) else {
            panic!("0.5 s is refused")
        };
        for settings in [
            half.settings(),
            half.settings_draining_by_default(Duration::ZERO),
        ] {
            assert_eq!(settings.drain_window, Duration::from_millis(500));
        }
        for bad in ["-1", "nan", "inf", "five", "86401"] {
            let refused = server_args(&["--drain-secs", bad]);
            assert!(refused.is_err(), "{bad:?} was accepted: {refused:?}");
        }
    }
}

/// How a token verifier fetches the signing keys from members at start (when no public key
/// file is given).
#[derive(clap::Args, Clone, Debug)]
pub struct SigningKeysArgs {
    /// Give up fetching the token signing keys from members after this many seconds (and exit
    /// with an error); by default the service keeps trying, 5 s per attempt with waits from
    /// 0.5 s doubling up to 30 s, logging each failed attempt.
    #[arg(long, env = "RENDEZVOUS_SIGNING_KEYS_GIVE_UP_SECS")]
    pub signing_keys_give_up_secs: Option<u64>,
}

impl SigningKeysArgs {
    pub fn retry(&self) -> crate::peers::Retry {
        crate::peers::Retry {
            give_up_after: self.signing_keys_give_up_secs.map(Duration::from_secs),
            ..crate::peers::Retry::default()
        }
    }
}
