//! Rules that need no I/O: kinds and channels, default preferences, quiet hours, back-off.

use chrono::{DateTime, Duration, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use rendezvous_proto::notifications::v1::{Channel, Notice, NotificationKind};
use rendezvous_proto::prost::Message as _;

const KIND_PREFIX: &str = "NOTIFICATION_KIND_";

/// The stored name of a kind (`WELCOME`).
pub fn kind_name(kind: NotificationKind) -> &'static str {
    kind.as_str_name()
        .strip_prefix(KIND_PREFIX)
        .unwrap_or("UNSPECIFIED")
}

/// A kind from its stored name.
pub fn kind_from_name(name: &str) -> NotificationKind {
    NotificationKind::from_str_name(&format!("{KIND_PREFIX}{name}"))
        .unwrap_or(NotificationKind::Unspecified)
}

/// Every real kind, in enum order.
pub fn all_kinds() -> impl Iterator<Item = NotificationKind> {
    (1..)
        .map_while(|n| NotificationKind::try_from(n).ok())
        .filter(|k| *k != NotificationKind::Unspecified)
}

/// A stored notice, unless it is empty (rows from before notices were stored) or unreadable.
pub fn stored_notice(encoded: &[u8]) -> Option<Notice> {
    Notice::decode(encoded)
        .ok()
        .filter(|notice| notice.notice.is_some())
}

pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        _ => "in_app",
    }
}

pub fn channel_from_name(name: &str) -> Channel {
    match name {
        "email" => Channel::Email,
        _ => Channel::InApp,
    }
}

/// Where one delivery (a notification on one channel) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its time (a not-before time, quiet hours) or its first attempt.
    Pending,
    Sent,
    /// An attempt failed; another follows after a back-off.
    Failed,
    /// The last attempt failed, or the failure was permanent: it is not attempted again.
    Dead,
    /// The channel is off for this notification, or the recipient has no address on it.
    Suppressed,
    /// A scheduled notification was cancelled before it went out.
    Cancelled,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 6] = [
        DeliveryState::Pending,
        DeliveryState::Sent,
        DeliveryState::Failed,
        DeliveryState::Dead,
        DeliveryState::Suppressed,
        DeliveryState::Cancelled,
    ];

    /// The stored name (`pending`).
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Dead => "dead",
            DeliveryState::Suppressed => "suppressed",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    /// A state from its stored name.
    pub fn from_stored(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }

    /// Whether another attempt is scheduled.
    pub fn is_due_again(self) -> bool {
        matches!(self, DeliveryState::Pending | DeliveryState::Failed)
    }
}

/// Defaults: the inbox gets everything; email carries what someone must act on or would not
/// want to miss (welcome, invitations, seat changes, event changes and cancellations,
/// reminders, coffees proposed, matched and booked, another attendee who hopes to meet them
/// too, a chapter gone quiet to its organisers, a nudge to see a connection again, which the
/// member opted in to and which comes at most once a fortnight) and stays off for chatty kinds.
pub fn default_enabled(kind: NotificationKind, channel: Channel) -> bool {
    use NotificationKind as K;
    match channel {
        Channel::Email => matches!(
            kind,
            K::Welcome
                | K::EventInvitation
                | K::RsvpConfirmed
                | K::WaitlistPromoted
                | K::WaitlistOffered
                | K::RsvpApproved
                | K::RsvpDeclined
                | K::EventUpdated
                | K::EventCancelled
                | K::EventReminder
                | K::CoffeeProposed
                | K::CoffeeMatched
                | K::CoffeeScheduled
                | K::WantToMeetMutual
                | K::ChapterDormant
                | K::RemeetNudge
        ),
        _ => true,
    }
}

/// Quiet hours in a member's time zone, as minutes after local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub start_minute: u32,
    pub end_minute: u32,
}

impl QuietHours {
    /// Parses `HH:MM`.
    pub fn parse_time(value: &str) -> Option<u32> {
        let time = NaiveTime::parse_from_str(value.trim(), "%H:%M").ok()?;
        time.signed_duration_since(NaiveTime::MIN)
            .num_minutes()
            .try_into()
            .ok()
    }

    pub fn format_time(minute: u32) -> String {
        format!("{:02}:{:02}", (minute / 60) % 24, minute % 60)
    }

    /// When the quiet period containing `now` ends, or `None` when `now` is outside it. A
    /// start after the end spans midnight (22:00–07:00).
    pub fn quiet_until(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        if self.start_minute == self.end_minute {
            return None;
        }
        let local = now.with_timezone(&tz);
        let minute = local
            .time()
            .signed_duration_since(NaiveTime::MIN)
            .num_minutes();
        let minute = u32::try_from(minute).unwrap_or(0);
        let (start, end) = (self.start_minute, self.end_minute);
        let inside = if start < end {
            minute >= start && minute < end
        } else {
            minute >= start || minute < end
        };
        if !inside {
            return None;
        }
        let mut date = local.date_naive();
        if start > end && minute >= start {
            date = date.succ_opt()?;
        }
        let end_time = NaiveTime::from_num_seconds_from_midnight_opt(end * 60, 0)?;
        // A local time that does not exist (DST gap) resolves to the next valid instant.
        let naive = date.and_time(end_time);
        let end_local = tz.from_local_datetime(&naive).earliest().or_else(|| {
            tz.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })?;
        Some(end_local.with_timezone(&Utc))
    }
}

/// Exponential back-off with full jitter: a random wait in `[base, min(max, base·2^attempt)]`.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1_i64.checked_shl(attempt.min(30)).unwrap_or(i64::MAX);
    let ceiling = base
        .num_milliseconds()
        .saturating_mul(factor)
        .min(max.num_milliseconds())
        .max(base.num_milliseconds());
    let jittered = rand::Rng::gen_range(&mut rand::thread_rng(), base.num_milliseconds()..=ceiling);
    Duration::milliseconds(jittered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_states_round_trip_their_stored_names() {
        for state in DeliveryState::ALL {
            assert_eq!(DeliveryState::from_stored(state.as_str()), Some(state));
        }
        assert_eq!(DeliveryState::from_stored("sending"), None);
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in all_kinds() {
            assert_eq!(kind_from_name(kind_name(kind)), kind);
        }
        assert_eq!(kind_name(NotificationKind::Welcome), "WELCOME");
        assert!(all_kinds().count() >= 17);
    }

    #[test]
    fn quiet_hours_spanning_midnight_end_the_next_morning_in_the_members_zone() {
        let quiet = QuietHours {
            start_minute: 22 * 60,
            end_minute: 7 * 60,
        };
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // 23:30 in Paris (CET, UTC+1) on 15 January.
        let now = Utc.with_ymd_and_hms(2026, 1, 15, 22, 30, 0).unwrap();
        let until = quiet.quiet_until(now, paris).unwrap();
        assert_eq!(until, Utc.with_ymd_and_hms(2026, 1, 16, 6, 0, 0).unwrap());
        // 06:59 local is still quiet, 07:00 is not.
        let early = Utc.with_ymd_and_hms(2026, 1, 16, 5, 59, 0).unwrap();
        assert_eq!(quiet.quiet_until(early, paris), Some(until));
        assert_eq!(quiet.quiet_until(until, paris), None);
        // Noon is never quiet.
        let noon = Utc.with_ymd_and_hms(2026, 1, 16, 11, 0, 0).unwrap();
        assert_eq!(quiet.quiet_until(noon, paris), None);
    }

    #[test]
    fn quiet_hours_within_a_day() {
        let quiet = QuietHours {
            start_minute: 12 * 60,
            end_minute: 14 * 60,
        };
        let tz: Tz = "UTC".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 13, 0, 0).unwrap();
        assert_eq!(
            quiet.quiet_until(now, tz),
            Some(Utc.with_ymd_and_hms(2026, 6, 1, 14, 0, 0).unwrap())
        );
        assert_eq!(QuietHours::parse_time("22:30"), Some(22 * 60 + 30));
        assert_eq!(QuietHours::parse_time("25:00"), None);
        assert_eq!(QuietHours::format_time(7 * 60 + 5), "07:05");
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let base = Duration::milliseconds(100);
        let max = Duration::seconds(5);
        for attempt in 0..40 {
            let wait = backoff(attempt, base, max);
            assert!(wait >= base && wait <= max, "{attempt}: {wait}");
        }
    }

    #[test]
    fn defaults_email_only_what_matters() {
        assert!(default_enabled(
            NotificationKind::EventInvitation,
            Channel::Email
        ));
        assert!(default_enabled(
            NotificationKind::EventReminder,
            Channel::Email
        ));
        assert!(!default_enabled(
            NotificationKind::ConnectionRequested,
            Channel::Email
        ));
        assert!(default_enabled(
            NotificationKind::ConnectionRequested,
            Channel::InApp
        ));
    }
}
