//! Command-line and environment configuration of `rendezvous-events`.

use std::net::SocketAddr;
use std::path::PathBuf;

use rendezvous_common::config::{
    AuthArgs, MetricsArgs, Secret, ServerArgs, SigningKeysArgs, TelemetryArgs,
};
use rendezvous_common::relay::RelayArgs;

use crate::domain::limits::AbuseLimits;
use crate::domain::reminder::ReminderOffsets;

/// The events service: chapters, events, RSVPs and calendars.
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
    /// The members service (token signing keys, connections and blocks, recorded meetings).
    #[arg(
        long,
        env = "RENDEZVOUS_MEMBERS_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub members_url: String,
    /// The notifications service; when set, the outbox is relayed to it.
    #[arg(long, env = "RENDEZVOUS_NOTIFICATIONS_URL")]
    pub notifications_url: Option<String>,
    /// Address to serve the calendar feeds on (plain HTTP GET).
    #[arg(long, env = "RENDEZVOUS_FEED_ADDR", default_value = "0.0.0.0:50062")]
    pub feed_addr: SocketAddr,
    /// Public base URL of the calendar feeds; feed URLs are `{this}/calendar/{token}.ics`.
    #[arg(
        long,
        env = "RENDEZVOUS_PUBLIC_FEED_URL",
        default_value = "http://127.0.0.1:50062"
    )]
    pub public_feed_url: String,
    /// Invitations one host may send per rolling week.
    #[arg(long, env = "RENDEZVOUS_WEEKLY_INVITATION_CAP", default_value_t = 500)]
    pub weekly_invitation_cap: u32,
    /// Invitations to one event, by all its hosts together.
    #[arg(long, env = "RENDEZVOUS_INVITATIONS_PER_EVENT", default_value_t = 1000)]
    pub invitations_per_event: u32,
    /// Events of one chapter whose publication tells the chapter's members, per rolling week
    /// (events of the chapter's organisers are not counted); beyond it PublishEvent is
    /// refused until the oldest leaves the week.
    #[arg(
        long,
        env = "RENDEZVOUS_CHAPTER_NEW_EVENTS_PER_WEEK",
        default_value_t = 10
    )]
    pub chapter_new_events_per_week: u32,
    /// Announcements about one event, by all its hosts, per rolling day.
    #[arg(
        long,
        env = "RENDEZVOUS_ANNOUNCEMENTS_PER_EVENT_PER_DAY",
        default_value_t = 3
    )]
    pub announcements_per_event_per_day: u32,
    /// Announcements about the events of one chapter, per rolling day.
    #[arg(
        long,
        env = "RENDEZVOUS_ANNOUNCEMENTS_PER_CHAPTER_PER_DAY",
        default_value_t = 10
    )]
    pub announcements_per_chapter_per_day: u32,
    /// Minutes before the start that check-in opens.
    #[arg(long, env = "RENDEZVOUS_CHECK_IN_OPENS_MINUTES", default_value_t = 60)]
    pub check_in_opens_minutes: i64,
    /// Minutes after the end that check-in closes.
    #[arg(
        long,
        env = "RENDEZVOUS_CHECK_IN_CLOSES_MINUTES",
        default_value_t = 120
    )]
    pub check_in_closes_minutes: i64,
    /// How long before the start confirmed attendees are reminded: a comma-separated list of
    /// distinct positive offsets in hours or minutes (`24h,2h`, `90m`); empty sends none.
    #[arg(long, env = "RENDEZVOUS_REMINDER_OFFSETS", default_value = "24h,2h")]
    pub reminder_offsets: ReminderOffsets,
    /// PEM public key that verifies access tokens (the members service's
    /// `token-public-key.pem`); fetched from members' GetSigningKeys when not given.
    #[arg(long, env = "RENDEZVOUS_TOKEN_PUBLIC_KEY_FILE")]
    pub token_public_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub signing_keys: SigningKeysArgs,
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
    /// The abuse limits the flags set.
    pub fn limits(&self) -> AbuseLimits {
        AbuseLimits {
            chapter_new_events_per_week: self.chapter_new_events_per_week,
            announcements_per_event_per_day: self.announcements_per_event_per_day,
            announcements_per_chapter_per_day: self.announcements_per_chapter_per_day,
            invitations_per_event: self.invitations_per_event,
        }
    }
}
