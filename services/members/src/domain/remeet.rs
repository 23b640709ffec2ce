//! Re-meet nudges: whether a member wants to be nudged about connections they met in person
//! but have not met again for a while, and after how long. Parsed and checked here, with no
//! I/O; the nudges themselves are made by `crate::remeet`.

use chrono::Duration;
use rendezvous_common::error::FieldViolation;
use rendezvous_proto::members::v1 as pb;

/// Days after the last meeting before a nudge, when the member did not choose.
pub const DEFAULT_AFTER_DAYS: u32 = 182;
/// The range a member may choose from.
pub const MIN_AFTER_DAYS: u32 = 30;
pub const MAX_AFTER_DAYS: u32 = 730;
/// At most one nudge per member in this time.
pub const NUDGE_EVERY: Duration = Duration::days(14);
/// How far ahead an event suggested by a nudge may start.
pub const EVENT_HORIZON: Duration = Duration::days(30);
/// Nor sooner than this: time to plan to go.
pub const EVENT_LEAD: Duration = Duration::hours(24);
/// Connections looked at per member and pass, longest unseen first.
pub const CANDIDATES_PER_MEMBER: i64 = 5;
/// A member looked at with no nudge to make is looked at again this much later.
pub const CHECK_AGAIN_AFTER: Duration = Duration::days(1);
/// Members looked at per page of a pass.
pub const MEMBERS_PER_PAGE: i64 = 200;
/// Most nudges ListRemeetNudges returns.
pub const MAX_LISTED: i64 = 50;

/// A member's re-meet settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemeetSettings {
    pub opted_in: bool,
    /// Days since two last met after which a nudge may come.
    pub after_days: u32,
}

impl Default for RemeetSettings {
    fn default() -> Self {
        Self {
            opted_in: false,
            after_days: DEFAULT_AFTER_DAYS,
        }
    }
}

impl RemeetSettings {
    /// The settings of an UpdateRemeetSettings request (`settings` required; an `after_days`
    /// of 0 reads as the default).
    pub fn parse(settings: Option<&pb::RemeetSettings>) -> Result<Self, FieldViolation> {
        let Some(settings) = settings else {
            return Err(FieldViolation::new("settings", "is required"));
        };
        let after_days = match settings.after_days {
            0 => DEFAULT_AFTER_DAYS,
            days if (MIN_AFTER_DAYS..=MAX_AFTER_DAYS).contains(&days) => days,
            _ => {
                return Err(FieldViolation::new(
                    "settings.after_days",
                    format!(
                        "must be from {MIN_AFTER_DAYS} to {MAX_AFTER_DAYS} days (or 0 for {DEFAULT_AFTER_DAYS})"
                    ),
                ));
            }
        };
        Ok(Self {
            opted_in: settings.opted_in,
            after_days,
        })
    }

    /// As stored: an out-of-range value (never written) reads as the default.
    pub fn from_stored(opted_in: bool, after_days: i64) -> Self {
        let after_days = u32::try_from(after_days)
            .ok()
            .filter(|days| (MIN_AFTER_DAYS..=MAX_AFTER_DAYS).contains(days))
            .unwrap_or(DEFAULT_AFTER_DAYS);
        Self {
            opted_in,
            after_days,
        }
    }

    /// How long two must not have met for a nudge.
    pub fn after(self) -> Duration {
        Duration::days(i64::from(self.after_days))
    }

    pub fn to_proto(self) -> pb::RemeetSettings {
        pb::RemeetSettings {
            opted_in: self.opted_in,
            after_days: self.after_days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opted_in: bool, after_days: u32) -> Result<RemeetSettings, FieldViolation> {
        RemeetSettings::parse(Some(&pb::RemeetSettings {
            opted_in,
            after_days,
        }))
    }

    #[test]
    fn after_days_defaults_and_bounds() {
        assert_eq!(parse(true, 0).map(|s| s.after_days), Ok(DEFAULT_AFTER_DAYS));
        assert_eq!(parse(true, 30).map(|s| s.after_days), Ok(30));
        assert_eq!(parse(false, 730).map(|s| s.after_days), Ok(730));
        for days in [1, 29, 731, u32::MAX] {
            let refused = parse(true, days).map_err(|v| v.field);
            assert_eq!(refused, Err("settings.after_days".to_owned()), "{days}");
        }
        assert_eq!(
            RemeetSettings::parse(None).map_err(|v| v.field),
            Err("settings".to_owned())
        );
    }

    #[test]
    fn stored_values_out_of_range_read_as_the_default() {
        assert_eq!(RemeetSettings::from_stored(true, 90).after_days, 90);
        assert_eq!(
            RemeetSettings::from_stored(true, -1).after_days,
            DEFAULT_AFTER_DAYS
        );
        assert_eq!(
            RemeetSettings::from_stored(true, 10_000).after_days,
            DEFAULT_AFTER_DAYS
        );
    }
}
