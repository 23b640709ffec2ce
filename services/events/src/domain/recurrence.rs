//! Recurring series: weekly and monthly rules expanded into occurrences that keep their local wall-clock time across daylight-saving changes.
//!
//! A [`Rule`] is the domain form of the proto `RecurrenceRule`; [`expand`] turns it, with the
//! series' local start date, local start time, duration and IANA time zone, into concrete
//! [`Occurrence`]s. Each occurrence starts at the same *local* time (08:30 Europe/Paris stays
//! 08:30 in winter and in summer), so its UTC instant moves by an hour across a DST change.
//!
//! Resolution of local times that do not exist or exist twice:
//! - in a DST gap (02:30 on the last Sunday of March in Paris) the occurrence starts at the
//!   first valid instant after the gap (03:00 local);
//! - in a DST overlap (02:30 on the last Sunday of October in Paris) it takes the earlier
//!   instant (the first 02:30, still in summer time).
//!
//! Expansion is deterministic: expanding the same rule with a later horizon yields the same
//! occurrences (same indices, same instants) followed by the new ones, so a service can
//! materialise a series incrementally.
//!
//! Mapping from the proto (done by the service): `interval` 0 means 1; `WEEKDAY_*` values map
//! to [`chrono::Weekday`]; the `monthly_day` oneof maps to [`MonthlyDay`]; the `end` oneof maps
//! to [`End`]. [`parse_start_date`], [`parse_local_time`] and [`parse_time_zone`] parse the
//! series' string fields with errors that name them.

use chrono::{
    DateTime, Datelike, Days, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// Largest number of occurrences a series may have, and that one expansion returns.
pub const MAX_OCCURRENCES: u32 = 520;
/// Largest `interval` (weeks or months between two periods).
pub const MAX_INTERVAL: u32 = 12;
/// Longest duration of one occurrence.
pub const MAX_DURATION: Duration = Duration::days(7);

/// How often a series recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    /// Every `interval` weeks, on the rule's weekdays.
    Weekly,
    /// Every `interval` months, on the rule's [`MonthlyDay`].
    Monthly,
}

/// Which day of the month a monthly series falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonthlyDay {
    /// The nth weekday of the month: `ordinal` 1 to 4 for the first to fourth, -1 for the last.
    NthWeekday {
        /// 1..=4, or -1 for the last such weekday of the month.
        ordinal: i8,
        /// The weekday.
        weekday: Weekday,
    },
    /// A day of the month, 1 to 31; months without that day are skipped.
    DayOfMonth(u8),
}

/// When a series ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum End {
    /// After this many occurrences (1..=520).
    Count(u32),
    /// No occurrence starts after this instant.
    Until(DateTime<Utc>),
}

/// A recurrence rule (the domain form of the proto `RecurrenceRule`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Weekly or monthly.
    pub frequency: Frequency,
    /// Every `interval` weeks or months, 1..=12.
    pub interval: u32,
    /// Weekly only: the weekdays it falls on; empty means the weekday of the start date.
    pub by_weekdays: Vec<Weekday>,
    /// Monthly only (required there): which day of the month.
    pub monthly_day: Option<MonthlyDay>,
    /// When the series ends.
    pub end: End,
}

/// One occurrence of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Occurrence {
    /// Position in the series, from 0.
    pub index: u32,
    /// Start instant.
    pub start: DateTime<Utc>,
    /// End instant (`start` + the series' duration).
    pub end: DateTime<Utc>,
    /// The local date the occurrence falls on, in the series' time zone.
    pub local_date: NaiveDate,
}

/// Why a rule or series cannot be expanded. [`RuleError::field`] names the proto field concerned
/// (for a `google.rpc.BadRequest` field violation); `Display` gives the description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// `interval` out of 1..=12.
    #[error("interval must be between 1 and {MAX_INTERVAL}, got {0}")]
    Interval(u32),
    /// A monthly rule with weekdays.
    #[error("by_weekdays applies to weekly rules only")]
    WeekdaysOnMonthly,
    /// A weekly rule with a monthly day (`field` is the oneof member that was set).
    #[error("{field} applies to monthly rules only")]
    MonthlyDayOnWeekly {
        /// The proto field that was set.
        field: &'static str,
    },
    /// A monthly rule without `nth_weekday` or `day_of_month`.
    #[error("a monthly rule needs nth_weekday or day_of_month")]
    MissingMonthlyDay,
    /// `nth_weekday.ordinal` not in {1, 2, 3, 4, -1}.
    #[error("ordinal must be 1, 2, 3, 4 or -1 (last), got {0}")]
    Ordinal(i8),
    /// `day_of_month` out of 1..=31.
    #[error("day_of_month must be between 1 and 31, got {0}")]
    DayOfMonth(u8),
    /// `day_of_month` falls in none of the months the rule visits (e.g. the 31st every 12
    /// months from April).
    #[error(
        "day {day} never occurs in the months visited every {interval} months from the start date"
    )]
    DayOfMonthNeverOccurs {
        /// The day of the month.
        day: u8,
        /// The rule's interval.
        interval: u32,
    },
    /// `count` out of 1..=520.
    #[error("count must be between 1 and {MAX_OCCURRENCES}, got {0}")]
    Count(u32),
    /// `until` is before the first occurrence.
    #[error("until ({0}) is before the first occurrence of the series")]
    UntilBeforeFirstOccurrence(DateTime<Utc>),
    /// `start_date` is not a valid "YYYY-MM-DD" date.
    #[error("start_date must be a date \"YYYY-MM-DD\", got {0:?}")]
    StartDate(String),
    /// `start_local_time` is not a valid "HH:MM" time.
    #[error("start_local_time must be a time \"HH:MM\" (24 h), got {0:?}")]
    LocalTime(String),
    /// The local start time of an occurrence could not be placed on the time line.
    #[error("local time {0} cannot be resolved in the series' time zone")]
    UnresolvableLocalTime(NaiveDateTime),
    /// `time_zone` is not an IANA time zone.
    #[error("time_zone must be an IANA time zone such as \"Europe/Paris\", got {0:?}")]
    TimeZone(String),
    /// The duration is not positive or longer than [`MAX_DURATION`].
    #[error("duration must be positive and at most 7 days")]
    Duration,
}

impl RuleError {
    /// The proto field this error concerns, as a path from the `Series` message's name
    /// (e.g. `"series.rule.interval"`), for a `google.rpc.BadRequest` field violation.
    #[must_use]
    pub fn field(&self) -> &'static str {
        match self {
            RuleError::Interval(_) => "series.rule.interval",
            RuleError::WeekdaysOnMonthly => "series.rule.by_weekdays",
            RuleError::MonthlyDayOnWeekly { field } => field,
            RuleError::MissingMonthlyDay => "series.rule.monthly_day",
            RuleError::Ordinal(_) => "series.rule.nth_weekday.ordinal",
            RuleError::DayOfMonth(_) | RuleError::DayOfMonthNeverOccurs { .. } => {
                "series.rule.day_of_month"
            }
            RuleError::Count(_) => "series.rule.count",
            RuleError::UntilBeforeFirstOccurrence(_) => "series.rule.until",
            RuleError::StartDate(_) => "series.start_date",
            RuleError::LocalTime(_) | RuleError::UnresolvableLocalTime(_) => {
                "series.start_local_time"
            }
            RuleError::TimeZone(_) => "series.time_zone",
            RuleError::Duration => "series.duration",
        }
    }
}

/// Parses a series' `start_date`, "YYYY-MM-DD".
///
/// # Errors
/// [`RuleError::StartDate`] when it is not a valid date in that form.
pub fn parse_start_date(value: &str) -> Result<NaiveDate, RuleError> {
    let err = || RuleError::StartDate(value.to_owned());
    if value.len() != 10 {
        return Err(err());
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| err())
}

/// Parses a series' `start_local_time`, "HH:MM" (24 h).
///
/// # Errors
/// [`RuleError::LocalTime`] when it is not a valid time in that form.
pub fn parse_local_time(value: &str) -> Result<NaiveTime, RuleError> {
    let err = || RuleError::LocalTime(value.to_owned());
    let bytes = value.as_bytes();
    let well_formed = bytes.len() == 5
        && bytes[2] == b':'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 2 || b.is_ascii_digit());
    if !well_formed {
        return Err(err());
    }
    NaiveTime::parse_from_str(value, "%H:%M").map_err(|_| err())
}

/// Parses a series' (or event's) `time_zone`, an IANA name such as "Europe/Paris".
///
/// # Errors
/// [`RuleError::TimeZone`] when the tz database does not know it.
pub fn parse_time_zone(value: &str) -> Result<Tz, RuleError> {
    value
        .parse::<Tz>()
        .map_err(|_| RuleError::TimeZone(value.to_owned()))
}

/// Checks a rule on its own (without the series' start date). [`expand`] calls it too.
///
/// # Errors
/// The first problem found; [`RuleError::field`] names the field.
pub fn validate(rule: &Rule) -> Result<(), RuleError> {
    if !(1..=MAX_INTERVAL).contains(&rule.interval) {
        return Err(RuleError::Interval(rule.interval));
    }
    match rule.frequency {
        Frequency::Weekly => {
            // Empty by_weekdays means the start date's weekday.
            if let Some(day) = rule.monthly_day {
                return Err(RuleError::MonthlyDayOnWeekly {
                    field: match day {
                        MonthlyDay::NthWeekday { .. } => "series.rule.nth_weekday",
                        MonthlyDay::DayOfMonth(_) => "series.rule.day_of_month",
                    },
                });
            }
        }
        Frequency::Monthly => {
            if !rule.by_weekdays.is_empty() {
                return Err(RuleError::WeekdaysOnMonthly);
            }
            match rule.monthly_day {
                None => return Err(RuleError::MissingMonthlyDay),
                Some(MonthlyDay::NthWeekday { ordinal, .. }) => {
                    if !matches!(ordinal, 1..=4 | -1) {
                        return Err(RuleError::Ordinal(ordinal));
                    }
                }
                Some(MonthlyDay::DayOfMonth(day)) => {
                    if !(1..=31).contains(&day) {
                        return Err(RuleError::DayOfMonth(day));
                    }
                }
            }
        }
    }
    if let End::Count(count) = rule.end
        && !(1..=MAX_OCCURRENCES).contains(&count)
    {
        return Err(RuleError::Count(count));
    }
    Ok(())
}

/// Expands a series into its occurrences.
///
/// Occurrences fall on or after `start_date`, each at `local_time` in `tz` (see the module
/// documentation for DST gaps and overlaps), last `duration`, and come in chronological
/// order. Expansion stops at the rule's end (`count` occurrences, or the last one starting at
/// or before `until`) or at `horizon` (no occurrence starting after it), whichever comes
/// first, and returns at most [`MAX_OCCURRENCES`].
///
/// # Errors
/// Those of [`validate`]; and [`RuleError::LocalTime`] for a time with seconds,
/// [`RuleError::Duration`] for a duration not in (0, 7 days],
/// [`RuleError::DayOfMonthNeverOccurs`] when the rule can never produce an occurrence, and
/// [`RuleError::UntilBeforeFirstOccurrence`] when `until` comes before the first occurrence.
pub fn expand(
    rule: &Rule,
    start_date: NaiveDate,
    local_time: NaiveTime,
    duration: Duration,
    tz: Tz,
    horizon: DateTime<Utc>,
) -> Result<Vec<Occurrence>, RuleError> {
    validate(rule)?;
    if local_time.second() != 0 || local_time.nanosecond() != 0 {
        return Err(RuleError::LocalTime(local_time.to_string()));
    }
    if duration <= Duration::zero() || duration > MAX_DURATION {
        return Err(RuleError::Duration);
    }
    if let (Frequency::Monthly, Some(MonthlyDay::DayOfMonth(day))) =
        (rule.frequency, rule.monthly_day)
        && !day_of_month_can_occur(day, start_date.month(), rule.interval)
    {
        return Err(RuleError::DayOfMonthNeverOccurs {
            day,
            interval: rule.interval,
        });
    }

    let limit = match rule.end {
        End::Count(count) => count.min(MAX_OCCURRENCES),
        End::Until(_) => MAX_OCCURRENCES,
    };
    let mut occurrences = Vec::new();
    for local_date in Dates::new(rule, start_date) {
        let index = u32::try_from(occurrences.len()).unwrap_or(u32::MAX);
        if index >= limit {
            break;
        }
        let local = local_date.and_time(local_time);
        let start = resolve_local(tz, local).ok_or(RuleError::UnresolvableLocalTime(local))?;
        if let End::Until(until) = rule.end
            && start > until
        {
            if index == 0 {
                return Err(RuleError::UntilBeforeFirstOccurrence(until));
            }
            break;
        }
        if start > horizon {
            break;
        }
        let end = start
            .checked_add_signed(duration)
            .ok_or(RuleError::Duration)?;
        occurrences.push(Occurrence {
            index,
            start,
            end,
            local_date,
        });
    }
    Ok(occurrences)
}

/// Whether `day` exists in at least one of the months visited every `interval` months from
/// `start_month` (February counted with 29 days: leap years come back).
fn day_of_month_can_occur(day: u8, start_month: u32, interval: u32) -> bool {
    const MAX_DAYS: [u8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (0..12u32).any(|step| {
        let month0 = (start_month - 1 + step * interval) % 12;
        MAX_DAYS
            .get(month0 as usize)
            .is_some_and(|&max_days| day <= max_days)
    })
}

/// The instant of a local date-time in `tz`: the earlier one when it occurs twice, the first
/// valid instant after the gap when it does not occur at all.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    if let Some(instant) = tz.from_local_datetime(&local).earliest() {
        return Some(instant.with_timezone(&Utc));
    }
    // In a gap: with the offset in force before the gap, the local time maps to an instant
    // after the transition; a day earlier is before it. Find the transition by bisection.
    let as_utc = local.and_utc();
    let before = tz
        .offset_from_utc_datetime(&(as_utc - Duration::days(1)).naive_utc())
        .fix();
    let mut high = (as_utc - Duration::seconds(i64::from(before.local_minus_utc()))).timestamp();
    let mut low = high - 86_400;
    let offset_at = |secs: i64| {
        DateTime::from_timestamp(secs, 0).map(|t| tz.offset_from_utc_datetime(&t.naive_utc()).fix())
    };
    let low_offset = offset_at(low)?;
    if offset_at(high)? == low_offset {
        return None;
    }
    // Invariant: offset(low) == low_offset, offset(high) != low_offset.
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if offset_at(mid)? == low_offset {
            low = mid;
        } else {
            high = mid;
        }
    }
    DateTime::from_timestamp(high, 0)
}

/// The candidate local dates of a rule in chronological order, from `start_date` on, ignoring
/// its end (the caller stops). Ends when dates run out of range.
struct Dates {
    frequency: Frequency,
    interval: u32,
    /// Weekly: the weekdays, Monday first, without duplicates.
    weekdays: Vec<Weekday>,
    monthly_day: Option<MonthlyDay>,
    start_date: NaiveDate,
    /// Weekly: Monday of the start date's week; monthly: first day of the start date's month.
    anchor: NaiveDate,
    /// Index of the current period (week or month, in steps of `interval`).
    period: u32,
    /// Dates of the current period not yet returned, in order.
    pending: std::collections::VecDeque<NaiveDate>,
    done: bool,
}

/// A bound on periods with no occurrence, against never-ending scans (validation already
/// rules out rules that never occur; leap days recur within 8 years).
const MAX_EMPTY_PERIODS: u32 = 12 * 9;

impl Dates {
    fn new(rule: &Rule, start_date: NaiveDate) -> Self {
        let mut weekdays = if rule.by_weekdays.is_empty() {
            vec![start_date.weekday()]
        } else {
            rule.by_weekdays.clone()
        };
        weekdays.sort_by_key(Weekday::num_days_from_monday);
        weekdays.dedup();
        let anchor = match rule.frequency {
            Frequency::Weekly => start_date.week(Weekday::Mon).first_day(),
            Frequency::Monthly => start_date.with_day(1).unwrap_or(start_date),
        };
        Dates {
            frequency: rule.frequency,
            interval: rule.interval.max(1),
            weekdays,
            monthly_day: rule.monthly_day,
            start_date,
            anchor,
            period: 0,
            pending: std::collections::VecDeque::new(),
            done: false,
        }
    }

    /// The dates of period `self.period`, or `None` past the calendar's range.
    fn period_dates(&self) -> Option<Vec<NaiveDate>> {
        let steps = self.period.checked_mul(self.interval)?;
        match self.frequency {
            Frequency::Weekly => {
                let monday = self
                    .anchor
                    .checked_add_days(Days::new(u64::from(steps) * 7))?;
                self.weekdays
                    .iter()
                    .map(|day| {
                        monday.checked_add_days(Days::new(u64::from(day.num_days_from_monday())))
                    })
                    .collect()
            }
            Frequency::Monthly => {
                let first = self.anchor.checked_add_months(Months::new(steps))?;
                let date = match self.monthly_day {
                    Some(MonthlyDay::NthWeekday { ordinal, weekday }) => {
                        nth_weekday(first, ordinal, weekday)
                    }
                    Some(MonthlyDay::DayOfMonth(day)) => first.with_day(u32::from(day)),
                    None => None,
                };
                Some(date.into_iter().collect())
            }
        }
    }
}

impl Iterator for Dates {
    type Item = NaiveDate;

    fn next(&mut self) -> Option<NaiveDate> {
        let mut empty_periods = 0;
        while self.pending.is_empty() {
            if self.done || empty_periods > MAX_EMPTY_PERIODS {
                return None;
            }
            match self.period_dates() {
                Some(dates) => {
                    self.pending
                        .extend(dates.into_iter().filter(|date| *date >= self.start_date));
                }
                None => self.done = true,
            }
            match self.period.checked_add(1) {
                Some(next) => self.period = next,
                None => self.done = true,
            }
            empty_periods += 1;
        }
        self.pending.pop_front()
    }
}

/// The `ordinal`th `weekday` of the month starting at `first` (-1: the last one).
fn nth_weekday(first: NaiveDate, ordinal: i8, weekday: Weekday) -> Option<NaiveDate> {
    if ordinal == -1 {
        let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
        let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        return last.checked_sub_days(Days::new(u64::from(back)));
    }
    let n = u8::try_from(ordinal).ok()?;
    NaiveDate::from_weekday_of_month_opt(first.year(), first.month(), weekday, n)
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Month, NaiveDate};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        date(y, mo, d).and_hms_opt(h, mi, 0).unwrap().and_utc()
    }

    fn far() -> DateTime<Utc> {
        utc(2100, 1, 1, 0, 0)
    }

    fn monthly(day: MonthlyDay, end: End) -> Rule {
        Rule {
            frequency: Frequency::Monthly,
            interval: 1,
            by_weekdays: vec![],
            monthly_day: Some(day),
            end,
        }
    }

    fn weekly(days: &[Weekday], interval: u32, end: End) -> Rule {
        Rule {
            frequency: Frequency::Weekly,
            interval,
            by_weekdays: days.to_vec(),
            monthly_day: None,
            end,
        }
    }

    fn paris_local(o: &Occurrence) -> NaiveDateTime {
        o.start
            .with_timezone(&chrono_tz::Europe::Paris)
            .naive_local()
    }

    fn offset_hours(o: &Occurrence) -> i32 {
        o.start
            .with_timezone(&chrono_tz::Europe::Paris)
            .offset()
            .fix()
            .local_minus_utc()
            / 3600
    }

    #[test]
    fn first_thursday_of_the_month_keeps_0830_paris_for_a_year() {
        let rule = monthly(
            MonthlyDay::NthWeekday {
                ordinal: 1,
                weekday: Weekday::Thu,
            },
            End::Count(12),
        );
        let occ = expand(
            &rule,
            date(2026, 1, 1),
            time(8, 30),
            Duration::minutes(90),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
        assert_eq!(
            dates,
            vec![
                date(2026, 1, 1),
                date(2026, 2, 5),
                date(2026, 3, 5),
                date(2026, 4, 2),
                date(2026, 5, 7),
                date(2026, 6, 4),
                date(2026, 7, 2),
                date(2026, 8, 6),
                date(2026, 9, 3),
                date(2026, 10, 1),
                date(2026, 11, 5),
                date(2026, 12, 3),
            ]
        );
        for (i, o) in occ.iter().enumerate() {
            assert_eq!(o.index, i as u32);
            assert_eq!(o.local_date.weekday(), Weekday::Thu);
            assert!(o.local_date.day() <= 7);
            assert_eq!(paris_local(o).time(), time(8, 30));
            assert_eq!(paris_local(o).date(), o.local_date);
            assert_eq!(o.end - o.start, Duration::minutes(90));
        }
        // Winter (UTC+1) until March, summer (UTC+2) from April to October, winter again after
        // the last Sunday of October.
        let offsets: Vec<_> = occ.iter().map(offset_hours).collect();
        assert_eq!(offsets, vec![1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1, 1]);
        assert_eq!(occ[2].start, utc(2026, 3, 5, 7, 30));
        assert_eq!(occ[3].start, utc(2026, 4, 2, 6, 30));
        assert_eq!(occ[9].start, utc(2026, 10, 1, 6, 30));
        assert_eq!(occ[10].start, utc(2026, 11, 5, 7, 30));
        assert!(occ.windows(2).all(|w| w[0].start < w[1].start));
    }

    #[test]
    fn weekly_sundays_across_both_dst_changes_keep_local_time() {
        let rule = weekly(&[Weekday::Sun], 1, End::Until(utc(2026, 11, 1, 12, 0)));
        let occ = expand(
            &rule,
            date(2026, 3, 22),
            time(8, 30),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        assert_eq!(occ.first().unwrap().local_date, date(2026, 3, 22));
        assert_eq!(occ.last().unwrap().local_date, date(2026, 11, 1));
        assert_eq!(occ.len(), 33);
        for o in &occ {
            assert_eq!(paris_local(o).time(), time(8, 30));
            assert_eq!(o.local_date.weekday(), Weekday::Sun);
        }
        // Last Sunday of March (the 29th) is already summer time.
        assert_eq!(occ[0].start, utc(2026, 3, 22, 7, 30));
        assert_eq!(occ[1].start, utc(2026, 3, 29, 6, 30));
        // Last Sunday of October (the 25th): winter time again by 08:30.
        let oct18 = occ
            .iter()
            .find(|o| o.local_date == date(2026, 10, 18))
            .unwrap();
        let oct25 = occ
            .iter()
            .find(|o| o.local_date == date(2026, 10, 25))
            .unwrap();
        assert_eq!(oct18.start, utc(2026, 10, 18, 6, 30));
        assert_eq!(oct25.start, utc(2026, 10, 25, 7, 30));
        // A week apart in local terms is 167 h in spring and 169 h in autumn.
        assert_eq!(occ[1].start - occ[0].start, Duration::hours(167));
        assert_eq!(oct25.start - oct18.start, Duration::hours(169));
    }

    #[test]
    fn last_friday_of_each_month() {
        let rule = monthly(
            MonthlyDay::NthWeekday {
                ordinal: -1,
                weekday: Weekday::Fri,
            },
            End::Count(6),
        );
        let occ = expand(
            &rule,
            date(2026, 1, 1),
            time(19, 0),
            Duration::hours(2),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
        assert_eq!(
            dates,
            vec![
                date(2026, 1, 30),
                date(2026, 2, 27),
                date(2026, 3, 27),
                date(2026, 4, 24),
                date(2026, 5, 29),
                date(2026, 6, 26),
            ]
        );
        for d in dates {
            assert_eq!(d.weekday(), Weekday::Fri);
            assert!(d + Days::new(7) > d.with_day(1).unwrap() + Months::new(1) - Days::new(1));
        }
    }

    #[test]
    fn fourth_weekday_and_start_date_mid_month() {
        // Starting after the month's 4th Tuesday moves the first occurrence to next month.
        let rule = monthly(
            MonthlyDay::NthWeekday {
                ordinal: 4,
                weekday: Weekday::Tue,
            },
            End::Count(2),
        );
        let occ = expand(
            &rule,
            date(2026, 1, 28),
            time(12, 0),
            Duration::hours(1),
            chrono_tz::UTC,
            far(),
        )
        .unwrap();
        let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
        assert_eq!(dates, vec![date(2026, 2, 24), date(2026, 3, 24)]);
    }

    #[test]
    fn day_of_month_31_skips_short_months() {
        let rule = monthly(MonthlyDay::DayOfMonth(31), End::Count(7));
        let occ = expand(
            &rule,
            date(2026, 1, 1),
            time(18, 0),
            Duration::hours(2),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
        assert_eq!(
            dates,
            vec![
                date(2026, 1, 31),
                date(2026, 3, 31),
                date(2026, 5, 31),
                date(2026, 7, 31),
                date(2026, 8, 31),
                date(2026, 10, 31),
                date(2026, 12, 31),
            ]
        );
        // Indices count occurrences, not months.
        assert_eq!(
            occ.iter().map(|o| o.index).collect::<Vec<_>>(),
            (0..7).collect::<Vec<_>>()
        );
    }

    #[test]
    fn day_of_month_29_in_february_waits_for_a_leap_year() {
        let rule = Rule {
            interval: 12,
            ..monthly(MonthlyDay::DayOfMonth(29), End::Count(2))
        };
        let occ = expand(
            &rule,
            date(2026, 2, 1),
            time(10, 0),
            Duration::hours(1),
            chrono_tz::UTC,
            far(),
        )
        .unwrap();
        let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
        assert_eq!(dates, vec![date(2028, 2, 29), date(2032, 2, 29)]);
    }

    #[test]
    fn count_limits_occurrences() {
        let rule = weekly(&[Weekday::Mon, Weekday::Wed], 1, End::Count(5));
        let occ = expand(
            &rule,
            date(2026, 6, 3), // a Wednesday
            time(9, 0),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
        assert_eq!(
            dates,
            vec![
                date(2026, 6, 3),
                date(2026, 6, 8),
                date(2026, 6, 10),
                date(2026, 6, 15),
                date(2026, 6, 17),
            ]
        );
    }

    #[test]
    fn until_is_inclusive_and_stops_the_series() {
        // Thursdays at 08:30 Paris = 06:30Z in June.
        let rule = weekly(&[Weekday::Thu], 1, End::Until(utc(2026, 6, 18, 6, 30)));
        let occ = expand(
            &rule,
            date(2026, 6, 4),
            time(8, 30),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
        assert_eq!(
            dates,
            vec![date(2026, 6, 4), date(2026, 6, 11), date(2026, 6, 18)]
        );

        let rule = weekly(&[Weekday::Thu], 1, End::Until(utc(2026, 6, 18, 6, 29)));
        let occ = expand(
            &rule,
            date(2026, 6, 4),
            time(8, 30),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        assert_eq!(occ.len(), 2);
    }

    #[test]
    fn until_before_the_first_occurrence_is_rejected() {
        let rule = weekly(&[Weekday::Thu], 1, End::Until(utc(2026, 6, 4, 6, 0)));
        let err = expand(
            &rule,
            date(2026, 6, 4),
            time(8, 30),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap_err();
        assert_eq!(err.field(), "series.rule.until");
    }

    #[test]
    fn horizon_cuts_and_a_later_horizon_extends_identically() {
        let rule = weekly(&[Weekday::Tue], 1, End::Count(52));
        let expand_to = |horizon| {
            expand(
                &rule,
                date(2026, 1, 6),
                time(8, 30),
                Duration::hours(1),
                chrono_tz::Europe::Paris,
                horizon,
            )
            .unwrap()
        };
        let short = expand_to(utc(2026, 2, 1, 0, 0));
        assert_eq!(short.len(), 4);
        let long = expand_to(utc(2026, 6, 1, 0, 0));
        assert_eq!(&long[..4], &short[..]);
        assert_eq!(long.len(), 21);
        assert_eq!(expand_to(far()).len(), 52);
        // A horizon before the first occurrence gives none (not an error).
        assert!(expand_to(utc(2025, 1, 1, 0, 0)).is_empty());
    }

    #[test]
    fn until_far_away_is_capped_at_520() {
        let rule = weekly(
            &[Weekday::Mon, Weekday::Tue, Weekday::Wed],
            1,
            End::Until(utc(2099, 1, 1, 0, 0)),
        );
        let occ = expand(
            &rule,
            date(2026, 1, 5),
            time(8, 0),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        assert_eq!(occ.len(), MAX_OCCURRENCES as usize);
        assert_eq!(occ.last().unwrap().index, MAX_OCCURRENCES - 1);
    }

    #[test]
    fn every_other_week() {
        let rule = weekly(&[Weekday::Thu], 2, End::Count(4));
        let occ = expand(
            &rule,
            date(2026, 1, 1),
            time(8, 30),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
        assert_eq!(
            dates,
            vec![
                date(2026, 1, 1),
                date(2026, 1, 15),
                date(2026, 1, 29),
                date(2026, 2, 12)
            ]
        );
    }

    #[test]
    fn every_other_week_on_two_days_counts_weeks_from_the_start_week() {
        // Start on a Wednesday: that week's Monday is before the start, so it is skipped, but
        // the week still counts as the first period.
        let rule = weekly(&[Weekday::Wed, Weekday::Mon], 2, End::Count(4));
        let occ = expand(
            &rule,
            date(2026, 1, 7),
            time(8, 30),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
        assert_eq!(
            dates,
            vec![
                date(2026, 1, 7),
                date(2026, 1, 19),
                date(2026, 1, 21),
                date(2026, 2, 2)
            ]
        );
    }

    #[test]
    fn empty_weekdays_default_to_the_start_dates_weekday() {
        let rule = weekly(&[], 1, End::Count(3));
        let occ = expand(
            &rule,
            date(2026, 6, 4),
            time(8, 30),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        let dates: Vec<_> = occ.iter().map(|o| o.local_date).collect();
        assert_eq!(
            dates,
            vec![date(2026, 6, 4), date(2026, 6, 11), date(2026, 6, 18)]
        );
    }

    #[test]
    fn every_three_months() {
        let rule = Rule {
            interval: 3,
            ..monthly(
                MonthlyDay::NthWeekday {
                    ordinal: 1,
                    weekday: Weekday::Thu,
                },
                End::Count(4),
            )
        };
        let occ = expand(
            &rule,
            date(2026, 1, 10), // after January's first Thursday
            time(8, 30),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        let months: Vec<_> = occ
            .iter()
            .map(|o| Month::try_from(o.local_date.month() as u8).unwrap())
            .collect();
        assert_eq!(
            months,
            vec![Month::April, Month::July, Month::October, Month::January]
        );
    }

    #[test]
    fn local_time_in_the_spring_gap_moves_to_the_end_of_the_gap() {
        // 02:30 does not exist in Paris on 2026-03-29 (02:00 → 03:00).
        let rule = weekly(&[Weekday::Sun], 1, End::Count(3));
        let occ = expand(
            &rule,
            date(2026, 3, 22),
            time(2, 30),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        assert_eq!(occ[0].start, utc(2026, 3, 22, 1, 30)); // 02:30 CET
        assert_eq!(occ[1].local_date, date(2026, 3, 29));
        assert_eq!(occ[1].start, utc(2026, 3, 29, 1, 0)); // 03:00 CEST, first valid instant
        assert_eq!(paris_local(&occ[1]).time(), time(3, 0));
        assert_eq!(occ[1].end, utc(2026, 3, 29, 2, 0));
        assert_eq!(occ[2].start, utc(2026, 4, 5, 0, 30)); // 02:30 CEST
        assert_eq!(paris_local(&occ[2]).time(), time(2, 30));
    }

    #[test]
    fn local_time_in_the_gap_in_a_half_hour_zone() {
        // Australia/Lord_Howe springs forward by 30 minutes, 02:00 → 02:30, on 2026-10-04.
        let rule = weekly(&[Weekday::Sun], 1, End::Count(1));
        let occ = expand(
            &rule,
            date(2026, 10, 4),
            time(2, 15),
            Duration::hours(1),
            chrono_tz::Australia::Lord_Howe,
            far(),
        )
        .unwrap();
        let local = occ[0].start.with_timezone(&chrono_tz::Australia::Lord_Howe);
        assert_eq!(local.time(), time(2, 30));
        assert_eq!(local.date_naive(), date(2026, 10, 4));
    }

    #[test]
    fn ambiguous_local_time_in_the_autumn_takes_the_earlier_instant() {
        // 02:30 happens twice in Paris on 2026-10-25; the first is summer time (00:30Z).
        let rule = weekly(&[Weekday::Sun], 1, End::Count(1));
        let occ = expand(
            &rule,
            date(2026, 10, 25),
            time(2, 30),
            Duration::hours(1),
            chrono_tz::Europe::Paris,
            far(),
        )
        .unwrap();
        assert_eq!(occ[0].start, utc(2026, 10, 25, 0, 30));
    }

    #[test]
    fn validation_errors_name_their_field() {
        let ok = weekly(&[Weekday::Thu], 1, End::Count(3));
        assert_eq!(validate(&ok), Ok(()));
        let cases: Vec<(Rule, &str)> = vec![
            (
                Rule {
                    interval: 0,
                    ..ok.clone()
                },
                "series.rule.interval",
            ),
            (
                Rule {
                    interval: 13,
                    ..ok.clone()
                },
                "series.rule.interval",
            ),
            (
                Rule {
                    end: End::Count(0),
                    ..ok.clone()
                },
                "series.rule.count",
            ),
            (
                Rule {
                    end: End::Count(521),
                    ..ok.clone()
                },
                "series.rule.count",
            ),
            (
                Rule {
                    monthly_day: Some(MonthlyDay::DayOfMonth(3)),
                    ..ok.clone()
                },
                "series.rule.day_of_month",
            ),
            (
                Rule {
                    monthly_day: Some(MonthlyDay::NthWeekday {
                        ordinal: 1,
                        weekday: Weekday::Mon,
                    }),
                    ..ok.clone()
                },
                "series.rule.nth_weekday",
            ),
            (
                Rule {
                    frequency: Frequency::Monthly,
                    by_weekdays: vec![],
                    ..ok.clone()
                },
                "series.rule.monthly_day",
            ),
            (
                monthly(MonthlyDay::DayOfMonth(1), End::Count(1))
                    .clone_with_weekdays(&[Weekday::Mon]),
                "series.rule.by_weekdays",
            ),
            (
                monthly(MonthlyDay::DayOfMonth(0), End::Count(1)),
                "series.rule.day_of_month",
            ),
            (
                monthly(MonthlyDay::DayOfMonth(32), End::Count(1)),
                "series.rule.day_of_month",
            ),
            (
                monthly(
                    MonthlyDay::NthWeekday {
                        ordinal: 5,
                        weekday: Weekday::Thu,
                    },
                    End::Count(1),
                ),
                "series.rule.nth_weekday.ordinal",
            ),
            (
                monthly(
                    MonthlyDay::NthWeekday {
                        ordinal: 0,
                        weekday: Weekday::Thu,
                    },
                    End::Count(1),
                ),
                "series.rule.nth_weekday.ordinal",
            ),
            (
                monthly(
                    MonthlyDay::NthWeekday {
                        ordinal: -2,
                        weekday: Weekday::Thu,
                    },
                    End::Count(1),
                ),
                "series.rule.nth_weekday.ordinal",
            ),
        ];
        for (rule, field) in cases {
            let err = validate(&rule).unwrap_err();
            assert_eq!(err.field(), field, "{rule:?}: {err}");
            assert!(!err.to_string().is_empty());
            // expand validates too.
            let err = expand(
                &rule,
                date(2026, 1, 1),
                time(8, 30),
                Duration::hours(1),
                chrono_tz::UTC,
                far(),
            )
            .unwrap_err();
            assert_eq!(err.field(), field);
        }
    }

    #[test]
    fn series_level_errors_name_their_field() {
        let ok = weekly(&[Weekday::Thu], 1, End::Count(3));
        let run = |rule: &Rule, start: NaiveDate, t: NaiveTime, d: Duration| {
            expand(rule, start, t, d, chrono_tz::UTC, far())
                .unwrap_err()
                .field()
        };
        assert_eq!(
            run(&ok, date(2026, 1, 1), time(8, 30), Duration::zero()),
            "series.duration"
        );
        assert_eq!(
            run(&ok, date(2026, 1, 1), time(8, 30), Duration::days(8)),
            "series.duration"
        );
        assert_eq!(
            run(
                &ok,
                date(2026, 1, 1),
                NaiveTime::from_hms_opt(8, 30, 15).unwrap(),
                Duration::hours(1)
            ),
            "series.start_local_time"
        );
        // The 31st every 12 months from April never happens.
        let never = Rule {
            interval: 12,
            ..monthly(MonthlyDay::DayOfMonth(31), End::Count(3))
        };
        assert_eq!(
            run(&never, date(2026, 4, 1), time(8, 30), Duration::hours(1)),
            "series.rule.day_of_month"
        );
        // ... but every 2 months from April reaches August.
        let sometimes = Rule {
            interval: 2,
            ..never.clone()
        };
        let occ = expand(
            &sometimes,
            date(2026, 4, 1),
            time(8, 30),
            Duration::hours(1),
            chrono_tz::UTC,
            far(),
        )
        .unwrap();
        assert_eq!(occ[0].local_date, date(2026, 8, 31));
    }

    #[test]
    fn parse_helpers_name_their_field() {
        assert_eq!(parse_start_date("2026-06-04"), Ok(date(2026, 6, 4)));
        for bad in ["2026-6-4", "2026-02-30", "", "20260604", "2026-06-04T00"] {
            assert_eq!(
                parse_start_date(bad).unwrap_err().field(),
                "series.start_date"
            );
        }
        assert_eq!(parse_local_time("08:30"), Ok(time(8, 30)));
        assert_eq!(parse_local_time("23:59"), Ok(time(23, 59)));
        for bad in [
            "8:30", "24:00", "08:60", "08:30:00", "", "ab:cd", "08h30", "+8:30",
        ] {
            assert_eq!(
                parse_local_time(bad).unwrap_err().field(),
                "series.start_local_time"
            );
        }
        assert_eq!(
            parse_time_zone("Europe/Paris"),
            Ok(chrono_tz::Europe::Paris)
        );
        for bad in ["", "Paris", "Europe/Atlantis", "+01:00"] {
            assert_eq!(
                parse_time_zone(bad).unwrap_err().field(),
                "series.time_zone"
            );
        }
    }

    impl Rule {
        fn clone_with_weekdays(&self, days: &[Weekday]) -> Rule {
            Rule {
                by_weekdays: days.to_vec(),
                ..self.clone()
            }
        }
    }
}
