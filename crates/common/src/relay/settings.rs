//! The relay's flags, flattened into the configuration of each service that has an outbox.

use std::time::Duration;

use super::RelaySettings;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Dead letters and retention of the outbox.
#[derive(clap::Args, Clone, Debug)]
pub struct RelayArgs {
    /// Times a receiver may refuse an outbox row (a permanent error such as INVALID_ARGUMENT)
    /// before the row is dead-lettered; unavailable receivers are retried without limit.
    #[arg(
        long,
        env = "RENDEZVOUS_OUTBOX_MAX_REFUSALS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=100)
    )]
    pub outbox_max_refusals: u32,
    /// Days an outbox row marked delivered by an older version (this one deletes a row once
    /// delivered) is kept before it is pruned.
    #[arg(
        long,
        env = "RENDEZVOUS_OUTBOX_RETENTION_DAYS",
        default_value_t = 7,
        value_parser = clap::value_parser!(u32).range(1..=3650)
    )]
    pub outbox_retention_days: u32,
    /// Days a dead-lettered outbox row is kept for operators before it is pruned.
    #[arg(
        long,
        env = "RENDEZVOUS_OUTBOX_DEAD_LETTER_RETENTION_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=3650)
    )]
    pub outbox_dead_letter_retention_days: u32,
}

impl RelayArgs {
    /// The relay's settings: these flags over the defaults.
    pub fn settings(&self) -> RelaySettings {
        RelaySettings {
            max_refusals: self.outbox_max_refusals.max(1),
            retention: DAY * self.outbox_retention_days.max(1),
            dead_letter_retention: DAY * self.outbox_dead_letter_retention_days.max(1),
            ..RelaySettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        relay: RelayArgs,
    }

    #[test]
    fn defaults_are_the_relays_and_flags_override_them() {
        let defaults = Cli::try_parse_from(["test"])
            .unwrap_or_else(|e| panic!("{e}"))
            .relay
            .settings();
        assert_eq!(defaults, RelaySettings::default());
        let set = Cli::try_parse_from([
            "test",
            "--outbox-max-refusals",
            "2",
            "--outbox-retention-days",
            "1",
            "--outbox-dead-letter-retention-days",
            "90",
        ])
        .unwrap_or_else(|e| panic!("{e}"))
        .relay
        .settings();
        assert_eq!(set.max_refusals, 2);
        assert_eq!(set.retention, DAY);
        assert_eq!(set.dead_letter_retention, DAY * 90);
        assert!(Cli::try_parse_from(["test", "--outbox-max-refusals", "0"]).is_err());
    }
}
