//! The abuse limits of events: how much one chapter, one event or its hosts can push at
//! members, each over a sliding window counted from stored rows (so that the limits hold
//! across replicas), and how long a refused caller waits.
//!
//! A window holds at most `cap` rows. When it is full, the next one is allowed once the
//! `cap`-th newest row falls out of it: that row's time plus the window, less now. Asking the
//! database for that one row (`ORDER BY created_at DESC LIMIT 1 OFFSET cap - 1`) answers both
//! "is it full?" and "until when?" in one read.

use chrono::{DateTime, Duration, Utc};

/// The caps; `u32::MAX` is in effect unlimited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbuseLimits {
    /// Events of one chapter whose publication tells the chapter's members, per rolling
    /// week; events published by the chapter's organisers are neither capped nor counted.
    pub chapter_new_events_per_week: u32,
    /// Announcements about one event, by all its hosts, per rolling day.
    pub announcements_per_event_per_day: u32,
    /// Announcements about the events of one chapter, per rolling day.
    pub announcements_per_chapter_per_day: u32,
    /// Invitations to one event, by all its hosts together, ever.
    pub invitations_per_event: u32,
}

impl Default for AbuseLimits {
    fn default() -> Self {
        Self {
            chapter_new_events_per_week: 10,
            announcements_per_event_per_day: 3,
            announcements_per_chapter_per_day: 10,
            invitations_per_event: 1000,
        }
    }
}

impl AbuseLimits {
    /// No limit at all (for tests of other things, and for trusted deployments).
    pub fn unlimited() -> Self {
        Self {
            chapter_new_events_per_week: u32::MAX,
            announcements_per_event_per_day: u32::MAX,
            announcements_per_chapter_per_day: u32::MAX,
            invitations_per_event: u32::MAX,
        }
    }
}

pub const NOTICE_WINDOW: Duration = Duration::days(7);
pub const ANNOUNCEMENT_WINDOW: Duration = Duration::days(1);

/// A limit that refused a request, and how long until it allows one again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct LimitReached {
    /// What is spent, for the caller ("this chapter's new-event notices for the week").
    pub what: &'static str,
    pub retry_after: Duration,
}

/// The offset of the row that decides whether a window of `cap` is full: the `cap`-th newest.
/// None when the cap is 0 (nothing is ever allowed, so no row decides it).
pub fn deciding_offset(cap: u32) -> Option<u32> {
    cap.checked_sub(1)
}

/// The wait before a window of `window` is no longer full, given the time of its `cap`-th
/// newest row (`None`: fewer rows than the cap, so it is not full). A cap of 0 waits a whole
/// window.
pub fn wait(
    cap: u32,
    deciding: Option<DateTime<Utc>>,
    window: Duration,
    now: DateTime<Utc>,
) -> Option<Duration> {
    if cap == 0 {
        return Some(window);
    }
    let falls_out = deciding? + window;
    // Rows are counted while `created_at > now - window`; at `falls_out` this one no longer is.
    Some((falls_out - now).max(Duration::zero()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
    }

    #[test]
    fn a_window_not_full_waits_for_nothing() {
        assert_eq!(wait(3, None, Duration::days(1), at(12)), None);
    }

    #[test]
    fn a_full_window_waits_until_its_deciding_row_falls_out() {
        assert_eq!(
            wait(3, Some(at(9)), Duration::days(1), at(12)),
            Some(Duration::hours(21))
        );
        assert_eq!(deciding_offset(3), Some(2));
    }

    #[test]
    fn a_cap_of_zero_allows_nothing() {
        assert_eq!(deciding_offset(0), None);
        assert_eq!(
            wait(0, None, Duration::days(1), at(12)),
            Some(Duration::days(1))
        );
    }
}
