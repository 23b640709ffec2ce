//! When two members who both accepted a coffee could meet: the times in the coming days that
//! fall inside a weekly availability window of each, each window read in its member's own
//! time zone (so a Paris morning and a Lisbon morning overlap by what the clocks say, and a
//! daylight-saving change moves nothing but the UTC instant).

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;

use super::coffee::Window;

/// How slots are picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRules {
    /// How long a coffee is.
    pub length: Duration,
    /// The earliest a slot may start after the match.
    pub lead: Duration,
    /// How many days ahead to look.
    pub days: i64,
    /// Most slots offered (at most one a day, earliest first).
    pub max: usize,
}

impl Default for SlotRules {
    fn default() -> Self {
        Self {
            length: Duration::hours(1),
            lead: Duration::hours(24),
            days: 14,
            max: 3,
        }
    }
}

/// Slots start on the hour or the half hour.
const STEP_MINUTES: i64 = 30;

/// One member's weekly windows in their zone.
#[derive(Clone, Debug)]
pub struct Availability<'a> {
    pub windows: &'a [Window],
    pub zone: Tz,
}

/// A local wall-clock time of `date` as an instant: the earlier one when the clock goes back
/// through it, the first instant after the gap when it jumps over it.
fn instant(zone: Tz, date: NaiveDate, minutes: u16) -> Option<DateTime<Utc>> {
    let midnight = date.and_time(NaiveTime::MIN);
    let local = midnight + Duration::minutes(i64::from(minutes));
    match zone.from_local_datetime(&local) {
        chrono::LocalResult::Single(at) | chrono::LocalResult::Ambiguous(at, _) => {
            Some(at.with_timezone(&Utc))
        }
        chrono::LocalResult::None => {
            // In a spring-forward gap: the first minute that exists after it.
            (1..=120).find_map(|skip| {
                zone.from_local_datetime(&(local + Duration::minutes(skip)))
                    .earliest()
                    .map(|at| at.with_timezone(&Utc))
            })
        }
    }
}

/// The member's free intervals (UTC) that overlap `[from, to)`, in time order.
fn intervals(
    who: &Availability<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let first = from.with_timezone(&who.zone).date_naive() - Duration::days(1);
    let last = to.with_timezone(&who.zone).date_naive() + Duration::days(1);
    let mut out = Vec::new();
    let mut date = first;
    while date <= last {
        for w in who.windows.iter().filter(|w| w.weekday == date.weekday()) {
            let (Some(start), Some(end)) = (
                instant(who.zone, date, w.start),
                instant(who.zone, date, w.end),
            ) else {
                continue;
            };
            if end > start && end > from && start < to {
                out.push((start.max(from), end.min(to)));
            }
        }
        date += Duration::days(1);
    }
    out.sort();
    out
}

/// The first slot start at or after `at` on the half-hour grid (UTC minutes, which is the
/// local grid for every zone whose offset is a multiple of 30 minutes).
fn on_the_grid(at: DateTime<Utc>) -> DateTime<Utc> {
    let step = STEP_MINUTES * 60;
    let seconds = at.timestamp();
    let up = seconds.div_euclid(step) * step
        + if seconds.rem_euclid(step) == 0 {
            0
        } else {
            step
        };
    DateTime::from_timestamp(up, 0).unwrap_or(at)
}

/// Up to `rules.max` slots, at most one a day (in `a`'s zone) and earliest first, in which
/// both members are free for `rules.length`, starting at least `rules.lead` after `now` and
/// within `rules.days` of it.
pub fn common_slots(
    a: &Availability<'_>,
    b: &Availability<'_>,
    now: DateTime<Utc>,
    rules: &SlotRules,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let from = now + rules.lead;
    let to = now + Duration::days(rules.days);
    let (ours, theirs) = (intervals(a, from, to), intervals(b, from, to));
    let mut slots: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (a_start, a_end) in &ours {
        for (b_start, b_end) in &theirs {
            let (start, end) = ((*a_start).max(*b_start), (*a_end).min(*b_end));
            let slot = on_the_grid(start);
            if slot + rules.length > end {
                continue;
            }
            let day = slot.with_timezone(&a.zone).date_naive();
            let taken = slots
                .iter()
                .any(|(s, _)| s.with_timezone(&a.zone).date_naive() == day);
            if !taken {
                slots.push((slot, slot + rules.length));
            }
        }
    }
    slots.sort();
    slots.truncate(rules.max);
    slots
}

#[cfg(test)]
mod tests {
    use chrono::{Timelike as _, Weekday};
    use proptest::prelude::*;

    use super::*;

    fn window(weekday: Weekday, start: u16, end: u16) -> Window {
        Window {
            weekday,
            start,
            end,
        }
    }

    /// Whether `who` is free for the whole of `[start, end)`, by their own clock.
    fn free(who: &Availability<'_>, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let (s, e) = (start.with_timezone(&who.zone), end.with_timezone(&who.zone));
        let minutes = |t: &DateTime<Tz>| u16::try_from(t.hour() * 60 + t.minute()).unwrap_or(0);
        let end_minutes = if e.date_naive() == s.date_naive() {
            minutes(&e)
        } else if Some(e.date_naive()) == s.date_naive().succ_opt() && minutes(&e) == 0 {
            1440
        } else {
            return false;
        };
        who.windows
            .iter()
            .any(|w| w.weekday == s.weekday() && minutes(&s) >= w.start && end_minutes <= w.end)
    }

    fn zone() -> impl Strategy<Value = Tz> {
        prop_oneof![
            Just(chrono_tz::Europe::Paris),
            Just(chrono_tz::Europe::Lisbon),
            Just(chrono_tz::America::New_York),
            Just(chrono_tz::Asia::Kolkata),
            Just(chrono_tz::UTC),
        ]
    }

    fn windows() -> impl Strategy<Value = Vec<Window>> {
        proptest::collection::vec((0u32..7, 0u16..46, 1u16..10), 0..6).prop_map(|ws| {
            ws.into_iter()
                .map(|(day, start, length)| {
                    let weekday =
                        Weekday::try_from(u8::try_from(day).unwrap_or(0)).unwrap_or(Weekday::Mon);
                    let start = start * 30;
                    window(weekday, start, (start + length * 30).min(1440))
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Every slot suits both by their own clocks, is as long as a coffee, on the grid,
        /// after the lead, within the days looked at, one a day; and when none is found, no
        /// half-hour start in those days suits both.
        #[test]
        fn slots_suit_both_and_none_is_missed(
            a_windows in windows(),
            b_windows in windows(),
            a_zone in zone(),
            b_zone in zone(),
            offset_hours in 0i64..(24 * 400),
        ) {
            let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default() + Duration::hours(offset_hours) + Duration::minutes(7);
            let rules = SlotRules::default();
            let a = Availability { windows: &a_windows, zone: a_zone };
            let b = Availability { windows: &b_windows, zone: b_zone };
            let slots = common_slots(&a, &b, now, &rules);
            prop_assert!(slots.len() <= rules.max);
            let mut days = std::collections::HashSet::new();
            for (start, end) in &slots {
                prop_assert_eq!(*end - *start, rules.length);
                prop_assert!(*start >= now + rules.lead && *end <= now + Duration::days(rules.days));
                prop_assert_eq!(start.timestamp() % (STEP_MINUTES * 60), 0);
                prop_assert!(free(&a, *start, *end), "{start} does not suit a");
                prop_assert!(free(&b, *start, *end), "{start} does not suit b");
                prop_assert!(days.insert(start.with_timezone(&a_zone).date_naive()), "two on a day");
            }
            if slots.is_empty() {
                let mut t = on_the_grid(now + rules.lead);
                while t + rules.length <= now + Duration::days(rules.days) {
                    prop_assert!(
                        !(free(&a, t, t + rules.length) && free(&b, t, t + rules.length)),
                        "{t} suits both but no slot was found"
                    );
                    t += Duration::minutes(STEP_MINUTES);
                }
            }
        }
    }

    #[test]
    fn a_paris_and_a_lisbon_morning_overlap_by_the_clocks() {
        // Tuesday 2031-03-04, 09:00 UTC.
        let now = Utc.with_ymd_and_hms(2031, 3, 4, 9, 0, 0).unwrap();
        let paris = [window(Weekday::Thu, 9 * 60, 11 * 60)];
        let lisbon = [window(Weekday::Thu, 7 * 60, 9 * 60 + 30)];
        let slots = common_slots(
            &Availability {
                windows: &paris,
                zone: chrono_tz::Europe::Paris,
            },
            &Availability {
                windows: &lisbon,
                zone: chrono_tz::Europe::Lisbon,
            },
            now,
            &SlotRules::default(),
        );
        // Paris 09:00–10:30 is Lisbon 08:00–09:30: the first Thursday at 09:00 Paris time.
        assert_eq!(slots.len(), 2, "two Thursdays in the fortnight: {slots:?}");
        assert_eq!(
            slots[0].0,
            Utc.with_ymd_and_hms(2031, 3, 6, 8, 0, 0).unwrap()
        );
    }

    #[test]
    fn the_hour_stays_local_across_a_daylight_saving_change() {
        // Paris moves its clocks forward on Sunday 2031-03-30.
        let now = Utc.with_ymd_and_hms(2031, 3, 25, 12, 0, 0).unwrap();
        let tuesdays = [window(Weekday::Tue, 8 * 60 + 30, 10 * 60)];
        let paris = Availability {
            windows: &tuesdays,
            zone: chrono_tz::Europe::Paris,
        };
        let slots = common_slots(&paris, &paris, now, &SlotRules::default());
        let local: Vec<String> = slots
            .iter()
            .map(|(s, _)| {
                s.with_timezone(&chrono_tz::Europe::Paris)
                    .format("%F %H:%M")
                    .to_string()
            })
            .collect();
        assert_eq!(local, vec!["2031-04-01 08:30", "2031-04-08 08:30"]);
    }
}
