//! Fuzzing the recurrence rules (issue 10, point 8): random rules, start dates, times, time
//! zones with odd transitions and horizons, checked against an oracle written the slow way —
//! every calendar day is asked whether the rule falls on it — and against what each
//! occurrence's instant must be in its time zone. Any input, valid or not, must give either
//! occurrences or an error naming a field; never a panic.
//!
//! The number of cases is `PROPTEST_CASES` (default [`CASES`]); CI runs the default, and
//! `PROPTEST_CASES=100000 cargo test -p rendezvous-events recurrence::fuzz` runs longer.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::{End, Frequency, MonthlyDay, Occurrence, Rule, RuleError, expand};

/// Cases per property when `PROPTEST_CASES` is not set.
const CASES: u32 = 1_500;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: rendezvous_testkit::fuzz_cases(CASES),
        ..ProptestConfig::default()
    }
}

/// Zones whose transitions are unusual: half-hour and two-hour DST shifts, a skipped day,
/// southern-hemisphere summers, midnight transitions, no DST at all.
const ZONES: [Tz; 10] = [
    Tz::Europe__Paris,
    Tz::America__New_York,
    Tz::Australia__Lord_Howe,
    Tz::Pacific__Apia,
    Tz::America__Santiago,
    Tz::Asia__Kolkata,
    Tz::UTC,
    Tz::Antarctica__Troll,
    Tz::America__Havana,
    Tz::Asia__Tehran,
];

fn weekday() -> impl Strategy<Value = Weekday> {
    (0u8..7).prop_map(|n| Weekday::try_from(n).unwrap_or(Weekday::Mon))
}

/// Mostly valid rules, with invalid intervals, ordinals, days and counts now and then.
fn rule() -> impl Strategy<Value = Rule> {
    let interval = prop_oneof![8 => 1u32..=4, 1 => 0u32..=20];
    let monthly_day = prop_oneof![
        (
            prop_oneof![9 => prop_oneof![1i8..=4, Just(-1i8)], 1 => -3i8..=6],
            weekday()
        )
            .prop_map(|(ordinal, weekday)| MonthlyDay::NthWeekday { ordinal, weekday }),
        prop_oneof![9 => 1u8..=31, 1 => 0u8..=40].prop_map(MonthlyDay::DayOfMonth),
    ];
    let end = prop_oneof![
        4 => prop_oneof![9 => 1u32..=40, 1 => 0u32..=600].prop_map(End::Count),
        1 => (0i64..3_000).prop_map(|days| {
            End::Until(start_of_range() + Duration::days(days) + Duration::hours(11))
        }),
    ];
    (
        any::<bool>(),
        interval,
        proptest::collection::vec(weekday(), 0..4),
        proptest::option::weighted(0.9, monthly_day),
        end,
        any::<u8>(),
    )
        .prop_map(|(weekly, interval, by_weekdays, monthly_day, end, noise)| {
            // Mostly the fields that belong to the frequency; sometimes the others too.
            let stray = noise % 10 == 0;
            if weekly {
                Rule {
                    frequency: Frequency::Weekly,
                    interval,
                    by_weekdays,
                    monthly_day: monthly_day.filter(|_| stray),
                    end,
                }
            } else {
                Rule {
                    frequency: Frequency::Monthly,
                    interval,
                    by_weekdays: if stray { by_weekdays } else { Vec::new() },
                    monthly_day,
                    end,
                }
            }
        })
}

fn start_of_range() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2009, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Whether `rule` falls on `date`, asked the slow way.
fn falls_on(rule: &Rule, start_date: NaiveDate, date: NaiveDate) -> bool {
    if date < start_date {
        return false;
    }
    let interval = i64::from(rule.interval);
    match rule.frequency {
        Frequency::Weekly => {
            let weekday_matches = if rule.by_weekdays.is_empty() {
                date.weekday() == start_date.weekday()
            } else {
                rule.by_weekdays.contains(&date.weekday())
            };
            let weeks = (date.week(Weekday::Mon).first_day()
                - start_date.week(Weekday::Mon).first_day())
            .num_days()
                / 7;
            weekday_matches && weeks % interval == 0
        }
        Frequency::Monthly => {
            let months = i64::from(date.year() - start_date.year()) * 12 + i64::from(date.month())
                - i64::from(start_date.month());
            let day_matches = match rule.monthly_day {
                Some(MonthlyDay::DayOfMonth(day)) => date.day() == u32::from(day),
                Some(MonthlyDay::NthWeekday { ordinal, weekday }) => {
                    let nth = (date.day() - 1) / 7 + 1;
                    let last = date
                        .checked_add_signed(Duration::days(7))
                        .is_none_or(|later| later.month() != date.month());
                    date.weekday() == weekday
                        && if ordinal == -1 {
                            last
                        } else {
                            i64::from(nth) == i64::from(ordinal)
                        }
                }
                None => false,
            };
            day_matches && months % interval == 0
        }
    }
}

/// Checks the instant of one occurrence: its local time in `tz` is the series' time, or, where
/// that local time does not exist (a DST gap), the first instant after the gap.
fn check_instant(
    occurrence: &Occurrence,
    local_time: NaiveTime,
    tz: Tz,
) -> Result<(), TestCaseError> {
    let wanted = occurrence.local_date.and_time(local_time);
    match tz.from_local_datetime(&wanted).earliest() {
        Some(instant) => prop_assert_eq!(occurrence.start, instant.with_timezone(&Utc)),
        None => {
            let at = occurrence.start.with_timezone(&tz).naive_local();
            let just_before = (occurrence.start - Duration::seconds(1))
                .with_timezone(&tz)
                .naive_local();
            prop_assert!(
                just_before < wanted && wanted < at,
                "{wanted} is in a gap, yet {} is not the gap's end",
                occurrence.start
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Valid or not, a rule gives occurrences or an error that names a field of the series.
    /// The occurrences are exactly the days the rule falls on, in order, from the start date
    /// to the end, the horizon or the limit, each at the series' local time and lasting its
    /// duration; a later horizon only adds occurrences after them.
    #[test]
    fn expansion_matches_the_slow_oracle(
        rule in rule(),
        start_days in 0i64..5_000,
        (hour, minute) in (0u32..24, prop_oneof![Just(0u32), Just(30), 0u32..60]),
        duration_minutes in prop_oneof![9 => 15i64..=600, 1 => -60i64..=(8 * 24 * 60)],
        zone in 0usize..ZONES.len(),
        horizon_days in 0i64..1_500,
    ) {
        let start_date = (start_of_range() + Duration::days(start_days)).date_naive();
        let local_time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default();
        let duration = Duration::minutes(duration_minutes);
        let tz = ZONES[zone];
        let horizon = start_date.and_time(NaiveTime::MIN).and_utc() + Duration::days(horizon_days);

        let occurrences = match expand(&rule, start_date, local_time, duration, tz, horizon) {
            Ok(occurrences) => occurrences,
            Err(error) => {
                prop_assert!(error.field().starts_with("series."), "{error:?}");
                prop_assert!(!error.to_string().is_empty());
                return Ok(());
            }
        };

        // The days it falls on, by asking each day of the calendar.
        let limit = match rule.end {
            End::Count(count) => count,
            End::Until(_) => super::MAX_OCCURRENCES,
        };
        let until = match rule.end {
            End::Until(until) => until.min(horizon),
            End::Count(_) => horizon,
        };
        let last_day = (until + Duration::days(2)).date_naive();
        let expected: Vec<NaiveDate> = start_date
            .iter_days()
            .take_while(|day| *day <= last_day)
            .filter(|day| falls_on(&rule, start_date, *day))
            .collect();
        let got: Vec<NaiveDate> = occurrences.iter().map(|o| o.local_date).collect();
        prop_assert!(
            expected.starts_with(&got),
            "the rule fell on days the oracle does not give: got {got:?}, oracle {expected:?}"
        );
        prop_assert!(got.len() <= limit as usize);
        // Nothing left out: below the limit, the next day the oracle gives starts after the
        // end (give or take the largest UTC offsets, -12 h to +14 h).
        if got.len() < limit as usize && let Some(next) = expected.get(got.len()) {
            let local = next.and_time(local_time).and_utc();
            prop_assert!(local + Duration::hours(15) > until, "{next} was left out of {got:?}");
        }

        for (index, occurrence) in occurrences.iter().enumerate() {
            prop_assert_eq!(occurrence.index as usize, index);
            prop_assert_eq!(occurrence.end - occurrence.start, duration);
            prop_assert!(occurrence.start <= until);
            check_instant(occurrence, local_time, tz)?;
        }
        prop_assert!(occurrences.windows(2).all(|w| w[0].start < w[1].start));

        // Deterministic: a later horizon keeps these and adds after them.
        let later = expand(&rule, start_date, local_time, duration, tz, horizon + Duration::days(400));
        prop_assert!(matches!(&later, Ok(more) if more.starts_with(&occurrences)), "{later:?}");
    }

    /// The string fields of a series never panic their parsers, and a refusal names its field.
    #[test]
    fn series_fields_parse_or_name_the_field(value in ".{0,24}") {
        for result in [
            super::parse_start_date(&value).map(drop),
            super::parse_local_time(&value).map(drop),
            super::parse_time_zone(&value).map(drop),
        ] {
            if let Err(error) = result {
                prop_assert!(matches!(
                    error,
                    RuleError::StartDate(_) | RuleError::LocalTime(_) | RuleError::TimeZone(_)
                ));
                prop_assert!(error.field().starts_with("series."));
            }
        }
    }
}
