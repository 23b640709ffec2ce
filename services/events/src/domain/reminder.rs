//! When confirmed attendees are reminded of an event: derived from the event's times at send
//! time, never scheduled ahead.
//!
//! For each offset `o`, the holder of an RSVP is reminded at `start - o` when the event is
//! published, the RSVP is confirmed, and both the confirmation and the current start were in
//! place at `start - o`. An offset already past when someone confirms, or when the start moves,
//! is skipped rather than sent late; a cancelled RSVP or event gets none. Each reminder is sent
//! once per (event, member, offset, start time), so a moved start gets fresh ones.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

use crate::domain::event::EventState;
use crate::domain::rsvp::RsvpState;

/// How long before the start confirmed attendees are reminded: positive, distinct, largest
/// first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderOffsets(Vec<Duration>);

impl ReminderOffsets {
    /// The offsets, refused when one is not positive or two are equal.
    pub fn new(mut offsets: Vec<Duration>) -> Result<Self, String> {
        if let Some(bad) = offsets.iter().find(|o| **o <= Duration::zero()) {
            return Err(format!(
                "reminder offset {} must be positive",
                bad.num_minutes()
            ));
        }
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(pair) = offsets.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(format!(
                "reminder offset {} is given twice",
                Offset(pair[0])
            ));
        }
        Ok(Self(offsets))
    }

    /// No reminders at all.
    pub fn none() -> Self {
        Self(Vec::new())
    }

    pub fn iter(&self) -> impl Iterator<Item = Duration> + '_ {
        self.0.iter().copied()
    }

    /// The largest offset, zero when there are none: no reminder is due for an event
    /// starting later than this from now.
    pub fn largest(&self) -> Duration {
        self.0.first().copied().unwrap_or_else(Duration::zero)
    }
}

impl Default for ReminderOffsets {
    /// 24 hours and 2 hours before the start.
    fn default() -> Self {
        Self(vec![Duration::hours(24), Duration::hours(2)])
    }
}

/// Parses a comma-separated list of offsets such as `24h,2h` or `90m` (`h` hours, `m`
/// minutes); an empty list sends no reminders.
impl FromStr for ReminderOffsets {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, String> {
        let offsets = list
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(parse_offset)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(offsets)
    }
}

impl fmt::Display for ReminderOffsets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.iter().map(|o| Offset(o).to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

fn parse_offset(part: &str) -> Result<Duration, String> {
    let bad = || format!("reminder offset `{part}` is not like 24h, 2h or 90m");
    let (number, unit) = part.split_at(part.len().saturating_sub(1));
    let number: i64 = number.trim().parse().map_err(|_| bad())?;
    let minutes = match unit {
        "h" | "H" => number.checked_mul(60).ok_or_else(bad)?,
        "m" | "M" => number,
        _ => return Err(bad()),
    };
    // Longer than a year is surely a typo, and keeps the arithmetic far from overflow.
    if minutes > 366 * 24 * 60 {
        return Err(format!("reminder offset `{part}` is longer than a year"));
    }
    Ok(Duration::minutes(minutes))
}

/// An offset as the flag spells it: `24h` when whole hours, else `90m`.
struct Offset(Duration);

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minutes = self.0.num_minutes();
        if minutes % 60 == 0 {
            write!(f, "{}h", minutes / 60)
        } else {
            write!(f, "{minutes}m")
        }
    }
}

/// What decides one RSVP holder's reminders for one event.
#[derive(Clone, Copy, Debug)]
pub struct ReminderBasis {
    pub event_state: EventState,
    /// The event's current start.
    pub start_at: DateTime<Utc>,
    /// When that start was set (the event created or its start last moved).
    pub start_set_at: DateTime<Utc>,
    pub rsvp_state: RsvpState,
    /// When the RSVP last became confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// One reminder: which offset, and when it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reminder {
    pub offset: Duration,
    pub at: DateTime<Utc>,
}

impl ReminderBasis {
    /// The reminders of the current start this holder is (or was) sent, earliest first;
    /// none unless the RSVP is confirmed and the event published or completed.
    pub fn reminders(&self, offsets: &ReminderOffsets) -> Vec<Reminder> {
        let live = matches!(
            self.event_state,
            EventState::Published | EventState::Completed
        );
        let Some(confirmed_at) = self.confirmed_at.filter(|_| live) else {
            return Vec::new();
        };
        if self.rsvp_state != RsvpState::Confirmed {
            return Vec::new();
        }
        offsets
            .iter()
            .map(|offset| Reminder {
                offset,
                at: self.start_at - offset,
            })
            .filter(|r| confirmed_at <= r.at && self.start_set_at <= r.at)
            .collect()
    }

    /// The reminder to send at `now`, if any: the latest whose time has come, while the event
    /// is published and has not started. An earlier one not sent by then (the sweep did not
    /// run in between) is superseded, never sent after a later one; and one whose time is
    /// more than [`lateness`] past is dropped, since "starts in 24 hours" would be untrue.
    pub fn due(&self, offsets: &ReminderOffsets, now: DateTime<Utc>) -> Option<Reminder> {
        if self.event_state != EventState::Published || now >= self.start_at {
            return None;
        }
        self.reminders(offsets)
            .into_iter()
            .rfind(|r| r.at <= now)
            .filter(|r| now < r.at + lateness(r.offset))
    }
}

/// How late a reminder of `offset` may still go out: a quarter of the offset (6 h of a
/// 24 h reminder, 30 min of a 2 h one), and never less than 5 minutes, so that short demo
/// offsets survive a slow sweep.
pub fn lateness(offset: Duration) -> Duration {
    (offset / 4).max(Duration::minutes(5))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

    use chrono::TimeZone as _;

    use super::*;

    fn t(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, day, hour, minute, 0).unwrap()
    }

    /// An event at 5 June 09:00, its start set on 1 June, the RSVP confirmed on 2 June.
    fn basis() -> ReminderBasis {
        ReminderBasis {
            event_state: EventState::Published,
            start_at: t(5, 9, 0),
            start_set_at: t(1, 12, 0),
            rsvp_state: RsvpState::Confirmed,
            confirmed_at: Some(t(2, 12, 0)),
        }
    }

    fn times(basis: &ReminderBasis) -> Vec<DateTime<Utc>> {
        basis
            .reminders(&ReminderOffsets::default())
            .iter()
            .map(|r| r.at)
            .collect()
    }

    #[test]
    fn a_confirmed_attendee_is_reminded_a_day_and_two_hours_before() {
        assert_eq!(times(&basis()), vec![t(4, 9, 0), t(5, 7, 0)]);
    }

    #[test]
    fn offsets_past_at_confirmation_or_at_the_move_are_skipped() {
        let rows = [
            // (confirmed at, start set at, reminded at)
            (t(4, 9, 0), t(1, 12, 0), vec![t(4, 9, 0), t(5, 7, 0)]),
            (t(4, 9, 1), t(1, 12, 0), vec![t(5, 7, 0)]),
            (t(2, 12, 0), t(4, 10, 0), vec![t(5, 7, 0)]),
            (t(5, 7, 1), t(1, 12, 0), vec![]),
            (t(2, 12, 0), t(5, 8, 0), vec![]),
        ];
        for (confirmed_at, start_set_at, expected) in rows {
            let b = ReminderBasis {
                confirmed_at: Some(confirmed_at),
                start_set_at,
                ..basis()
            };
            assert_eq!(times(&b), expected, "{confirmed_at} {start_set_at}");
        }
    }

    #[test]
    fn only_confirmed_rsvps_of_live_events_are_reminded() {
        for state in [
            RsvpState::Waitlisted,
            RsvpState::Offered,
            RsvpState::PendingApproval,
            RsvpState::Declined,
            RsvpState::Cancelled,
            RsvpState::NotGoing,
        ] {
            let b = ReminderBasis {
                rsvp_state: state,
                ..basis()
            };
            assert!(times(&b).is_empty(), "{state:?}");
        }
        for state in [EventState::Draft, EventState::Cancelled] {
            let b = ReminderBasis {
                event_state: state,
                ..basis()
            };
            assert!(times(&b).is_empty(), "{state:?}");
        }
        let completed = ReminderBasis {
            event_state: EventState::Completed,
            ..basis()
        };
        assert_eq!(times(&completed).len(), 2, "a completed event's were sent");
        let unstamped = ReminderBasis {
            confirmed_at: None,
            ..basis()
        };
        assert!(times(&unstamped).is_empty());
    }

    #[test]
    fn due_between_the_reminder_time_and_the_start() {
        let offsets = ReminderOffsets::default();
        let due = |now| basis().due(&offsets, now).map(|r| r.offset);
        assert_eq!(due(t(4, 8, 59)), None);
        assert_eq!(due(t(4, 9, 0)), Some(Duration::hours(24)));
        assert_eq!(
            due(t(4, 14, 59)),
            Some(Duration::hours(24)),
            "a little late"
        );
        assert_eq!(due(t(4, 15, 0)), None, "too late to say a day ahead");
        assert_eq!(due(t(5, 6, 59)), None);
        assert_eq!(
            due(t(5, 7, 0)),
            Some(Duration::hours(2)),
            "the later one wins"
        );
        assert_eq!(due(t(5, 7, 29)), Some(Duration::hours(2)));
        assert_eq!(due(t(5, 7, 30)), None, "half an hour late at most");
        assert_eq!(due(t(5, 9, 0)), None, "not once it has started");
        let completed = ReminderBasis {
            event_state: EventState::Completed,
            ..basis()
        };
        assert_eq!(completed.due(&offsets, t(5, 8, 0)), None);
        let late = ReminderBasis {
            confirmed_at: Some(t(5, 8, 0)),
            ..basis()
        };
        assert_eq!(late.due(&offsets, t(5, 8, 30)), None, "too late for both");
    }

    #[test]
    fn offsets_parse_from_the_flag() {
        let parsed: ReminderOffsets = "2h, 24h,90m".parse().unwrap();
        assert_eq!(
            parsed.iter().collect::<Vec<_>>(),
            vec![
                Duration::hours(24),
                Duration::hours(2),
                Duration::minutes(90)
            ]
        );
        assert_eq!(parsed.to_string(), "24h,2h,90m");
        assert_eq!(parsed.largest(), Duration::hours(24));
        assert_eq!(
            "24h,2h".parse::<ReminderOffsets>().unwrap(),
            ReminderOffsets::default()
        );
        assert_eq!(
            "".parse::<ReminderOffsets>().unwrap(),
            ReminderOffsets::none()
        );
        for bad in [
            "0m",
            "-2h",
            "2h,120m",
            "2",
            "h",
            "2d",
            "two hours",
            "9999999h",
        ] {
            assert!(bad.parse::<ReminderOffsets>().is_err(), "{bad}");
        }
    }
}
