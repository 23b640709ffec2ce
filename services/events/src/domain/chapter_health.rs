//! A chapter's health, without I/O: the calendar months its figures are kept by, the windows
//! that make a member active or a chapter quiet, and the figures GetChapterHealth derives from
//! the kept counts.

use chrono::{DateTime, Datelike as _, Duration, Utc};
use chrono_tz::Tz;

/// A member who RSVP'd or checked in within this long is active.
pub const ACTIVE_WITHIN: Duration = Duration::days(90);

/// A first-timer who checks in again within this long of their first time came back.
pub const RETURN_WITHIN: Duration = Duration::days(60);

/// A chapter whose latest event started this long ago (or, with none, that was created this
/// long ago) is quiet, and its organisers are told.
pub const QUIET_AFTER: Duration = Duration::days(60);

/// How many months GetChapterHealth lists, this one included.
pub const MONTHS_SHOWN: usize = 12;

/// The calendar month of `at` in `zone` (UTC for a zone it cannot read), as `YYYY-MM`.
pub fn month_of(at: DateTime<Utc>, zone: &str) -> String {
    let (year, month) = match zone.parse::<Tz>() {
        Ok(tz) => {
            let local = at.with_timezone(&tz);
            (local.year(), local.month())
        }
        Err(_) => (at.year(), at.month()),
    };
    format!("{year:04}-{month:02}")
}

/// The [`MONTHS_SHOWN`] months up to the one `now` is in (in `zone`), oldest first.
pub fn months_up_to(now: DateTime<Utc>, zone: &str) -> Vec<String> {
    let this = month_of(now, zone);
    let (year, month) = this
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<i32>().ok()?)))
        .unwrap_or((1970, 1));
    let index = year * 12 + (month - 1);
    (0..MONTHS_SHOWN)
        .rev()
        .map(|back| {
            let i = index - i32::try_from(back).unwrap_or(0);
            format!("{:04}-{:02}", i.div_euclid(12), i.rem_euclid(12) + 1)
        })
        .collect()
}

/// The counts of one month (or of all of them added up).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonthCounts {
    pub events: i64,
    pub confirmed: i64,
    pub checked_in: i64,
    pub no_shows: i64,
    pub first_timers: i64,
    pub returned: i64,
    pub met_edges: i64,
}

impl MonthCounts {
    /// These counts and `other`'s together.
    pub fn plus(&self, other: &Self) -> Self {
        Self {
            events: self.events + other.events,
            confirmed: self.confirmed + other.confirmed,
            checked_in: self.checked_in + other.checked_in,
            no_shows: self.no_shows + other.no_shows,
            first_timers: self.first_timers + other.first_timers,
            returned: self.returned + other.returned,
            met_edges: self.met_edges + other.met_edges,
        }
    }
}

/// `part / whole`, 0 when there is no whole.
pub fn rate(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        return 0.0;
    }
    // Counts of a chapter's history fit an f64's integers exactly.
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let rate = part as f64 / whole as f64;
    rate
}

/// The figures of a chapter from its kept counts: `all` over every month, `last_year` over
/// the months shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub events_per_month: f64,
    pub attendance_rate: f64,
    pub no_show_rate: f64,
    pub met_edges_per_event: f64,
}

pub fn figures(all: &MonthCounts, last_year: &MonthCounts) -> Figures {
    let months = i64::try_from(MONTHS_SHOWN).unwrap_or(12);
    Figures {
        events_per_month: rate(last_year.events, months),
        attendance_rate: rate(all.checked_in, all.confirmed),
        no_show_rate: rate(all.no_shows, all.confirmed),
        met_edges_per_event: rate(all.met_edges, all.events),
    }
}

/// Whether a chapter whose quiet spell began at `since` (its latest event's start, or its
/// creation) is quiet at `now`, and its organisers not yet told of this spell
/// (`told_for`).
pub fn tell_quiet(
    since: DateTime<Utc>,
    told_for: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    since + QUIET_AFTER <= now && told_for != Some(since)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn a_month_is_the_chapters_own() {
        // 23:30 UTC on 31 January is already February in Paris, still January in New York.
        let at = Utc.with_ymd_and_hms(2027, 1, 31, 23, 30, 0).unwrap();
        assert_eq!(month_of(at, "Europe/Paris"), "2027-02");
        assert_eq!(month_of(at, "America/New_York"), "2027-01");
        assert_eq!(month_of(at, "not a zone"), "2027-01");
    }

    #[test]
    fn twelve_months_end_with_this_one_across_a_new_year() {
        let now = Utc.with_ymd_and_hms(2027, 3, 10, 12, 0, 0).unwrap();
        let months = months_up_to(now, "Europe/Paris");
        assert_eq!(months.len(), 12);
        assert_eq!(months[0], "2026-04");
        assert_eq!(months[8], "2026-12");
        assert_eq!(months[9], "2027-01");
        assert_eq!(months[11], "2027-03");
    }

    #[test]
    fn rates_divide_and_nothing_divides_to_zero() {
        let all = MonthCounts {
            events: 4,
            confirmed: 40,
            checked_in: 30,
            no_shows: 10,
            met_edges: 6,
            ..MonthCounts::default()
        };
        let year = MonthCounts {
            events: 3,
            ..MonthCounts::default()
        };
        let f = figures(&all, &year);
        assert!((f.events_per_month - 0.25).abs() < 1e-9);
        assert!((f.attendance_rate - 0.75).abs() < 1e-9);
        assert!((f.no_show_rate - 0.25).abs() < 1e-9);
        assert!((f.met_edges_per_event - 1.5).abs() < 1e-9);
        let none = figures(&MonthCounts::default(), &MonthCounts::default());
        assert_eq!(none.attendance_rate, 0.0);
        assert_eq!(none.met_edges_per_event, 0.0);
    }

    #[test]
    fn a_quiet_spell_is_told_once_and_a_new_one_again() {
        let since = Utc.with_ymd_and_hms(2027, 1, 1, 18, 0, 0).unwrap();
        assert!(!tell_quiet(since, None, since + Duration::days(59)));
        assert!(tell_quiet(since, None, since + Duration::days(60)));
        assert!(!tell_quiet(since, Some(since), since + Duration::days(90)));
        let later = since + Duration::days(30);
        assert!(tell_quiet(later, Some(since), later + Duration::days(61)));
    }
}
