//! Command-line and environment configuration of `rendezvous-members`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Duration;
use rendezvous_common::auth::SigningKeyPair;
use rendezvous_common::config::{AuthArgs, MetricsArgs, Secret, ServerArgs, TelemetryArgs};
use rendezvous_common::relay::{RelayArgs, RelaySettings};

use crate::outreach::OutreachPolicy;
use crate::sign_ins::SignInPolicy;
use crate::store::Budget;

/// Tunables of the members service.
#[derive(Clone, Debug)]
pub struct Settings {
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    /// Events with at most this many checked-in members mark connected pairs met at once.
    pub small_event_max: usize,
    /// Attendees one RecordMeetings call takes; larger events come in chunks.
    pub recorded_attendees_per_call: usize,
    /// Failed sign-ins and registrations allowed (stored, across replicas).
    pub sign_in_limits: SignInPolicy,
    /// Contact imports and connection requests allowed (stored, across replicas).
    pub outreach: OutreachPolicy,
    /// How the outbox relay retries, dead-letters and prunes.
    pub relay: RelaySettings,
    /// Password hashes (sign-in, registration, password change) run at once; more wait.
    pub password_hashes_at_once: usize,
    /// How often a coffee proposal round, then a pass of re-meet nudges, runs; none runs none.
    pub coffee_round_every: Option<std::time::Duration>,
    /// How soon after an opt-in to coffee proposals a round runs (at most one such round a
    /// minute); none: only every `coffee_round_every`.
    pub coffee_round_after_opt_in: Option<std::time::Duration>,
    /// The rounds' rules and deadline.
    pub coffee_round: crate::store::RoundSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_lifetime: Duration::minutes(15),
            refresh_token_lifetime: Duration::days(30),
            small_event_max: 12,
            recorded_attendees_per_call: crate::domain::meeting::MAX_RECORDED_ATTENDEES,
            sign_in_limits: SignInPolicy::default(),
            outreach: OutreachPolicy::default(),
            relay: RelaySettings::default(),
            password_hashes_at_once: std::thread::available_parallelism().map_or(1, usize::from),
            coffee_round_every: Some(std::time::Duration::from_secs(3600)),
            coffee_round_after_opt_in: Some(std::time::Duration::from_secs(10)),
            coffee_round: crate::store::RoundSettings::default(),
        }
    }
}

/// The members service: accounts, sign-in, profiles, connections, meetings.
#[derive(clap::Parser, Clone, Debug)]
#[command(name = "rendezvous-members", version)]
pub struct Config {
    /// Address to listen on for gRPC.
    #[arg(long, env = "RENDEZVOUS_LISTEN_ADDR", default_value = "0.0.0.0:50051")]
    pub listen_addr: SocketAddr,
    /// Database URL: `sqlite://path/members.db` or `postgres://user@host:5432/members`.
    #[arg(
        long,
        env = "RENDEZVOUS_DATABASE_URL",
        default_value = "sqlite://rendezvous-members.db"
    )]
    pub database_url: Secret,
    /// PKCS#8 PEM Ed25519 private key that signs access tokens; generated on first start when
    /// the file does not exist.
    #[arg(
        long,
        env = "RENDEZVOUS_TOKEN_SIGNING_KEY_FILE",
        default_value = "token-signing-key.pem"
    )]
    pub token_signing_key_file: PathBuf,
    /// Access-token lifetime in seconds (at most 900).
    #[arg(long, env = "RENDEZVOUS_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: i64,
    /// Refresh-token lifetime in days.
    #[arg(long, env = "RENDEZVOUS_REFRESH_TOKEN_TTL_DAYS", default_value_t = 30)]
    pub refresh_token_ttl_days: i64,
    /// Events with at most this many checked-in members mark connected pairs met at once.
    #[arg(long, env = "RENDEZVOUS_SMALL_EVENT_MAX", default_value_t = 12)]
    pub small_event_max: usize,
    /// Password hashes run at once (argon2id, 19 MiB each while it runs); sign-ins beyond
    /// them wait. 0: one per core the process may use.
    #[arg(long, env = "RENDEZVOUS_PASSWORD_HASHES_AT_ONCE", default_value_t = 0)]
    pub password_hashes_at_once: usize,
    /// Failed sign-ins of one account from one client address per
    /// `--failed-sign-ins-window-mins`.
    #[arg(long, env = "RENDEZVOUS_FAILED_SIGN_INS", default_value_t = 10)]
    pub failed_sign_ins: u32,
    /// The window of `--failed-sign-ins` and `--failed-sign-ins-per-peer`, in minutes.
    #[arg(
        long,
        env = "RENDEZVOUS_FAILED_SIGN_INS_WINDOW_MINS",
        default_value_t = 15
    )]
    pub failed_sign_ins_window_mins: i64,
    /// Failed sign-ins of one account per day from addresses it has not signed in from in
    /// the last 90 days.
    #[arg(
        long,
        env = "RENDEZVOUS_FAILED_SIGN_INS_PER_ACCOUNT_PER_DAY",
        default_value_t = 100
    )]
    pub failed_sign_ins_per_account_per_day: u32,
    /// Failed sign-ins from one client address, whatever the account, per window.
    #[arg(
        long,
        env = "RENDEZVOUS_FAILED_SIGN_INS_PER_PEER",
        default_value_t = 50
    )]
    pub failed_sign_ins_per_peer: u32,
    /// Registrations from one client address per hour.
    #[arg(
        long,
        env = "RENDEZVOUS_REGISTRATIONS_PER_PEER_PER_HOUR",
        default_value_t = 30
    )]
    pub registrations_per_peer_per_hour: u32,
    /// Contacts one ImportContacts call may hold (rows of its `Connections.csv`).
    #[arg(long, env = "RENDEZVOUS_CONTACTS_PER_IMPORT", default_value_t = 10_000)]
    pub contacts_per_import: usize,
    /// ImportContacts calls per member per day.
    #[arg(long, env = "RENDEZVOUS_IMPORTS_PER_DAY", default_value_t = 10)]
    pub imports_per_day: u32,
    /// New connection requests per member per week, RequestConnection and imports together.
    #[arg(
        long,
        env = "RENDEZVOUS_CONNECTION_REQUESTS_PER_WEEK",
        default_value_t = 200
    )]
    pub connection_requests_per_week: u32,
    /// Days after a member declines a request before its requester may ask them again.
    #[arg(
        long,
        env = "RENDEZVOUS_RE_REQUEST_COOLDOWN_DAYS",
        default_value_t = 30
    )]
    pub re_request_cooldown_days: i64,
    /// Minutes between coffee proposal rounds, each followed by a pass of re-meet nudges (0:
    /// neither). A round proposes only to members who are due, and a pass looks only at
    /// members due a nudge, so a short interval costs a query, not more proposals or nudges.
    #[arg(long, env = "RENDEZVOUS_COFFEE_ROUND_EVERY_MINS", default_value_t = 60)]
    pub coffee_round_every_mins: u64,
    /// Seconds after a member opts in to coffee proposals before a round runs for them (at
    /// most one such round a minute; 0: only the rounds on the clock).
    #[arg(
        long,
        env = "RENDEZVOUS_COFFEE_ROUND_AFTER_OPT_IN_SECS",
        default_value_t = 10
    )]
    pub coffee_round_after_opt_in_secs: u64,
    /// Hours the two members of a coffee proposal have to answer it.
    #[arg(
        long,
        env = "RENDEZVOUS_COFFEE_RESPOND_WITHIN_HOURS",
        default_value_t = 72
    )]
    pub coffee_respond_within_hours: i64,
    /// Days before the same two members may be proposed a coffee again.
    #[arg(
        long,
        env = "RENDEZVOUS_COFFEE_REPEAT_AFTER_DAYS",
        default_value_t = 180
    )]
    pub coffee_repeat_after_days: i64,
    /// The notifications service, e.g. `http://127.0.0.1:50053`. When set, the outbox
    /// (welcome, connection requested, connection accepted, …) is relayed to it, with retries
    /// while it is unreachable.
    #[arg(long, env = "RENDEZVOUS_NOTIFICATIONS_URL")]
    pub notifications_url: Option<String>,
    /// The events service, e.g. `http://127.0.0.1:50052`. When set, account deletions are
    /// relayed to it (the member's RSVPs, feeds, invitations and roles are erased there).
    #[arg(long, env = "RENDEZVOUS_EVENTS_URL")]
    pub events_url: Option<String>,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub relay: RelayArgs,
}

impl Config {
    pub fn settings(&self) -> Settings {
        Settings {
            access_token_lifetime: Duration::seconds(self.access_token_ttl_secs.clamp(30, 900)),
            refresh_token_lifetime: Duration::days(self.refresh_token_ttl_days.clamp(1, 365)),
            relay: self.relay.settings(),
            small_event_max: self.small_event_max,
            sign_in_limits: self.sign_in_policy(),
            outreach: self.outreach_policy(),
            password_hashes_at_once: match self.password_hashes_at_once {
                0 => Settings::default().password_hashes_at_once,
                n => n.min(1024),
            },
            coffee_round_every: (self.coffee_round_every_mins > 0).then(|| {
                std::time::Duration::from_secs(self.coffee_round_every_mins.min(7 * 24 * 60) * 60)
            }),
            coffee_round_after_opt_in: (self.coffee_round_after_opt_in_secs > 0).then(|| {
                std::time::Duration::from_secs(self.coffee_round_after_opt_in_secs.min(3600))
            }),
            coffee_round: crate::store::RoundSettings {
                rules: crate::domain::pairing::Rules {
                    repeat_after: Duration::days(self.coffee_repeat_after_days.clamp(1, 3650)),
                },
                respond_within: Duration::hours(self.coffee_respond_within_hours.clamp(1, 24 * 30)),
            },
            ..Settings::default()
        }
    }
}

impl Config {
    fn outreach_policy(&self) -> OutreachPolicy {
        OutreachPolicy {
            contacts_per_import: self
                .contacts_per_import
                .clamp(1, crate::domain::contacts_csv::MAX_ROWS),
            imports: Budget {
                max: self.imports_per_day.max(1),
                window: Duration::days(1),
            },
            requests: Budget {
                max: self.connection_requests_per_week.max(1),
                window: Duration::weeks(1),
            },
            re_request_cooldown: Duration::days(self.re_request_cooldown_days.clamp(0, 365)),
        }
    }

    fn sign_in_policy(&self) -> SignInPolicy {
        let window = Duration::minutes(self.failed_sign_ins_window_mins.clamp(1, 24 * 60));
        SignInPolicy {
            per_account_and_address: Budget {
                max: self.failed_sign_ins.max(1),
                window,
            },
            per_account_elsewhere: Budget {
                max: self.failed_sign_ins_per_account_per_day.max(1),
                window: Duration::days(1),
            },
            per_address: Budget {
                max: self.failed_sign_ins_per_peer.max(1),
                window,
            },
            registrations_per_address: Budget {
                max: self.registrations_per_peer_per_hour.max(1),
                window: Duration::hours(1),
            },
            ..SignInPolicy::default()
        }
    }
}

/// Loads the signing key at `path`, creating it (mode 0600) when missing.
pub fn load_or_create_signing_key(path: &Path) -> anyhow::Result<SigningKeyPair> {
    if path.exists() {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("reading signing key {}", path.display()))?;
        return SigningKeyPair::from_pkcs8_pem(&pem)
            .with_context(|| format!("parsing signing key {}", path.display()));
    }
    let key = SigningKeyPair::generate();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        rendezvous_common::db::create_private_dir(dir)?;
    }
    write_private(path, &key.to_pkcs8_pem()?)?;
    tracing::warn!(path = %path.display(), key_id = %key.key_id(), "generated a new token signing key");
    Ok(key)
}

/// Writes a file readable by its owner only.
pub use rendezvous_common::auth::write_private;
