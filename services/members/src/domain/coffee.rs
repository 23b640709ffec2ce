//! Coffee settings: whether a member takes part in one-to-one coffee proposals with
//! connections they have not met in person yet, how often, when they are free, and whom never
//! to be proposed. Parsed from requests and from their stored form here, with no I/O.

use chrono::{DateTime, Duration, Utc, Weekday};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::{time, validate};
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use uuid::Uuid;

use super::fields;
use super::profile;

/// Most availability windows a member keeps (three a day).
pub const MAX_WINDOWS: usize = 21;
/// Shortest window, in minutes: a coffee needs half an hour.
pub const MIN_WINDOW_MINUTES: u16 = 30;
/// Most preferred areas, and the longest one in characters.
pub const MAX_AREAS: usize = 5;
pub const MAX_AREA_CHARS: usize = 60;
/// Most members on one's do-not-pair list.
pub const MAX_DO_NOT_PAIR: usize = 500;

/// How often a member may be proposed a coffee: at most one proposal a period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cadence {
    Weekly,
    #[default]
    Fortnightly,
    Monthly,
}

impl Cadence {
    /// The shortest time between two proposals to one member.
    pub fn period(self) -> Duration {
        Duration::days(match self {
            Cadence::Weekly => 7,
            Cadence::Fortnightly => 14,
            Cadence::Monthly => 30,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Weekly => "weekly",
            Cadence::Fortnightly => "fortnightly",
            Cadence::Monthly => "monthly",
        }
    }

    /// The stored name; an unknown one (never written) reads as the default.
    pub fn from_stored(value: &str) -> Self {
        match value {
            "weekly" => Cadence::Weekly,
            "monthly" => Cadence::Monthly,
            _ => Cadence::Fortnightly,
        }
    }

    fn from_proto(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match pb::CoffeeCadence::try_from(value) {
            Ok(pb::CoffeeCadence::Weekly) => Ok(Cadence::Weekly),
            Ok(pb::CoffeeCadence::Fortnightly) => Ok(Cadence::Fortnightly),
            Ok(pb::CoffeeCadence::Monthly) => Ok(Cadence::Monthly),
            Ok(pb::CoffeeCadence::Unspecified) => Err(FieldViolation::new(
                field,
                "must be set: COFFEE_CADENCE_WEEKLY, _FORTNIGHTLY or _MONTHLY",
            )),
            Err(_) => Err(FieldViolation::new(field, "is not a known cadence")),
        }
    }

    pub fn to_proto(self) -> pb::CoffeeCadence {
        match self {
            Cadence::Weekly => pb::CoffeeCadence::Weekly,
            Cadence::Fortnightly => pb::CoffeeCadence::Fortnightly,
            Cadence::Monthly => pb::CoffeeCadence::Monthly,
        }
    }
}

/// A weekly window of free time, in minutes from local midnight (`end` up to 24:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub weekday: Weekday,
    pub start: u16,
    pub end: u16,
}

const DAY_MINUTES: u16 = 24 * 60;

/// `HH:MM` on a 24-hour clock as minutes from midnight; `24:00` only where `end_of_day`.
fn clock_time(field: &str, value: &str, end_of_day: bool) -> Result<u16, FieldViolation> {
    let wrong = || FieldViolation::new(field, "must be a time of day as HH:MM, e.g. 08:30");
    let (hours, minutes) = value.trim().split_once(':').ok_or_else(wrong)?;
    if hours.len() != 2 || minutes.len() != 2 {
        return Err(wrong());
    }
    let hours: u16 = hours.parse().map_err(|_| wrong())?;
    let minutes: u16 = minutes.parse().map_err(|_| wrong())?;
    let total = hours * 60 + minutes;
    if minutes >= 60 || total > DAY_MINUTES || (total == DAY_MINUTES && !end_of_day) {
        return Err(wrong());
    }
    Ok(total)
}

fn weekday_from_proto(field: &str, value: i32) -> Result<Weekday, FieldViolation> {
    Ok(match events_pb::Weekday::try_from(value) {
        Ok(events_pb::Weekday::Monday) => Weekday::Mon,
        Ok(events_pb::Weekday::Tuesday) => Weekday::Tue,
        Ok(events_pb::Weekday::Wednesday) => Weekday::Wed,
        Ok(events_pb::Weekday::Thursday) => Weekday::Thu,
        Ok(events_pb::Weekday::Friday) => Weekday::Fri,
        Ok(events_pb::Weekday::Saturday) => Weekday::Sat,
        Ok(events_pb::Weekday::Sunday) => Weekday::Sun,
        Ok(events_pb::Weekday::Unspecified) | Err(_) => {
            return Err(FieldViolation::new(
                field,
                "must be a day of the week (WEEKDAY_MONDAY … WEEKDAY_SUNDAY)",
            ));
        }
    })
}

fn weekday_to_proto(day: Weekday) -> events_pb::Weekday {
    match day {
        Weekday::Mon => events_pb::Weekday::Monday,
        Weekday::Tue => events_pb::Weekday::Tuesday,
        Weekday::Wed => events_pb::Weekday::Wednesday,
        Weekday::Thu => events_pb::Weekday::Thursday,
        Weekday::Fri => events_pb::Weekday::Friday,
        Weekday::Sat => events_pb::Weekday::Saturday,
        Weekday::Sun => events_pb::Weekday::Sunday,
    }
}

fn format_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl Window {
    fn parse(field: &str, window: &pb::AvailabilityWindow) -> Result<Self, Vec<FieldViolation>> {
        let (weekday, start, end) = fields::all((
            weekday_from_proto(&format!("{field}.weekday"), window.weekday),
            clock_time(&format!("{field}.start_time"), &window.start_time, false),
            clock_time(&format!("{field}.end_time"), &window.end_time, true),
        ))?;
        if end < start + MIN_WINDOW_MINUTES {
            return Err(vec![FieldViolation::new(
                format!("{field}.end_time"),
                format!("must be at least {MIN_WINDOW_MINUTES} minutes after the start"),
            )]);
        }
        Ok(Self {
            weekday,
            start,
            end,
        })
    }

    pub fn to_proto(self) -> pb::AvailabilityWindow {
        pb::AvailabilityWindow {
            weekday: weekday_to_proto(self.weekday).into(),
            start_time: format_clock(self.start),
            end_time: format_clock(self.end),
        }
    }
}

/// The windows of a request, in week order, none overlapping another.
fn windows(
    field: &str,
    given: &[pb::AvailabilityWindow],
) -> Result<Vec<Window>, Vec<FieldViolation>> {
    if given.len() > MAX_WINDOWS {
        return Err(vec![FieldViolation::new(
            field,
            format!("at most {MAX_WINDOWS} windows"),
        )]);
    }
    let mut parsed = fields::each(
        given
            .iter()
            .enumerate()
            .map(|(i, w)| Window::parse(&format!("{field}[{i}]"), w).map(|w| (i, w))),
    )?;
    parsed.sort_by_key(|(_, w)| (w.weekday.num_days_from_monday(), w.start));
    let mut violations = Vec::new();
    for pair in parsed.windows(2) {
        let ((_, earlier), (i, later)) = (pair[0], pair[1]);
        if earlier.weekday == later.weekday && later.start < earlier.end {
            violations.push(FieldViolation::new(
                format!("{field}[{i}]"),
                "overlaps another window of the same day",
            ));
        }
    }
    if violations.is_empty() {
        Ok(parsed.into_iter().map(|(_, w)| w).collect())
    } else {
        Err(violations)
    }
}

/// The stored form of windows: `<ISO weekday> <start minute>-<end minute>`, `;`-separated.
pub fn windows_to_stored(windows: &[Window]) -> String {
    windows
        .iter()
        .map(|w| format!("{} {}-{}", w.weekday.number_from_monday(), w.start, w.end))
        .collect::<Vec<_>>()
        .join(";")
}

/// Windows from their stored form; a malformed entry (never written) is skipped.
pub fn windows_from_stored(stored: &str) -> Vec<Window> {
    stored
        .split(';')
        .filter_map(|entry| {
            let (day, span) = entry.split_once(' ')?;
            let (start, end) = span.split_once('-')?;
            let weekday = match day.parse::<u8>().ok()? {
                1 => Weekday::Mon,
                2 => Weekday::Tue,
                3 => Weekday::Wed,
                4 => Weekday::Thu,
                5 => Weekday::Fri,
                6 => Weekday::Sat,
                7 => Weekday::Sun,
                _ => return None,
            };
            Some(Window {
                weekday,
                start: start.parse().ok()?,
                end: end.parse().ok()?,
            })
        })
        .collect()
}

fn areas(field: &str, given: &[String]) -> Result<Vec<String>, Vec<FieldViolation>> {
    if given.len() > MAX_AREAS {
        return Err(vec![FieldViolation::new(
            field,
            format!("at most {MAX_AREAS} areas"),
        )]);
    }
    let parsed = fields::each(given.iter().enumerate().map(|(i, area)| {
        validate::text(&format!("{field}[{i}]"), area, 1, MAX_AREA_CHARS, false)
    }))?;
    let mut kept: Vec<String> = Vec::with_capacity(parsed.len());
    for area in parsed {
        if !kept.iter().any(|k| k.to_lowercase() == area.to_lowercase()) {
            kept.push(area);
        }
    }
    Ok(kept)
}

fn do_not_pair(field: &str, given: &[String], me: Uuid) -> Result<Vec<Uuid>, Vec<FieldViolation>> {
    if given.len() > MAX_DO_NOT_PAIR {
        return Err(vec![FieldViolation::new(
            field,
            format!("at most {MAX_DO_NOT_PAIR} members"),
        )]);
    }
    let mut ids = fields::each(given.iter().enumerate().map(|(i, id)| {
        let field = format!("{field}[{i}]");
        let id = validate::id(&field, id)?;
        if id == me {
            return Err(FieldViolation::new(field, "is your own id"));
        }
        Ok(id)
    }))?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// A member's coffee settings; the defaults (opted out) until they change them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoffeeSettings {
    pub opted_in: bool,
    pub cadence: Cadence,
    pub availability: Vec<Window>,
    /// The windows' zone; `None`: the profile's.
    pub time_zone: Option<String>,
    pub preferred_areas: Vec<String>,
    pub snoozed_until: Option<DateTime<Utc>>,
    /// Sorted, without duplicates.
    pub do_not_pair: Vec<Uuid>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl CoffeeSettings {
    /// Whether a proposal may be made to the member at `now` (opted in, not snoozed).
    pub fn proposable(&self, now: DateTime<Utc>) -> bool {
        self.opted_in && self.snoozed_until.is_none_or(|until| until <= now)
    }

    pub fn to_proto(&self) -> pb::CoffeeSettings {
        pb::CoffeeSettings {
            opted_in: self.opted_in,
            cadence: self.cadence.to_proto().into(),
            availability: self.availability.iter().map(|w| w.to_proto()).collect(),
            time_zone: self.time_zone.clone().unwrap_or_default(),
            preferred_areas: self.preferred_areas.clone(),
            snoozed_until: self.snoozed_until.map(time::to_timestamp),
            do_not_pair_member_ids: self.do_not_pair.iter().map(Uuid::to_string).collect(),
            update_time: self.updated_at.map(time::to_timestamp),
        }
    }
}

/// The mask paths UpdateCoffeeSettings takes.
pub const UPDATABLE_PATHS: [&str; 7] = [
    "opted_in",
    "cadence",
    "availability",
    "time_zone",
    "preferred_areas",
    "snoozed_until",
    "do_not_pair_member_ids",
];

/// A valid UpdateCoffeeSettings request: the new value of each field in its mask.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoffeeUpdate {
    pub opted_in: Option<bool>,
    pub cadence: Option<Cadence>,
    pub availability: Option<Vec<Window>>,
    pub time_zone: Option<Option<String>>,
    pub preferred_areas: Option<Vec<String>>,
    pub snoozed_until: Option<Option<DateTime<Utc>>>,
    pub do_not_pair: Option<Vec<Uuid>>,
}

impl CoffeeUpdate {
    /// Parses the settings and mask of an UpdateCoffeeSettings request by `me`. An empty
    /// mask is refused: a full replacement is never what a client means.
    pub fn parse(
        settings: Option<&pb::CoffeeSettings>,
        mask: Option<&FieldMask>,
        me: Uuid,
    ) -> Result<Self, Vec<FieldViolation>> {
        let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
        let empty = pb::CoffeeSettings::default();
        let settings = settings.unwrap_or(&empty);
        let mut update = Self::default();
        fields::all((
            fields::rule(
                !paths.is_empty(),
                "update_mask",
                "is required: name the fields to change",
            ),
            fields::each(paths.iter().map(|path| update.set(path, settings, me))),
        ))?;
        Ok(update)
    }

    fn set(
        &mut self,
        path: &str,
        settings: &pb::CoffeeSettings,
        me: Uuid,
    ) -> Result<(), Vec<FieldViolation>> {
        match path {
            "opted_in" => self.opted_in = Some(settings.opted_in),
            "cadence" => {
                self.cadence = Some(
                    Cadence::from_proto("settings.cadence", settings.cadence)
                        .map_err(|v| vec![v])?,
                );
            }
            "availability" => {
                self.availability = Some(windows("settings.availability", &settings.availability)?);
            }
            "time_zone" => {
                self.time_zone = Some(if settings.time_zone.trim().is_empty() {
                    None
                } else {
                    Some(
                        profile::time_zone("settings.time_zone", &settings.time_zone)
                            .map_err(|v| vec![v])?,
                    )
                });
            }
            "preferred_areas" => {
                self.preferred_areas = Some(areas(
                    "settings.preferred_areas",
                    &settings.preferred_areas,
                )?);
            }
            "snoozed_until" => {
                self.snoozed_until = Some(
                    settings
                        .snoozed_until
                        .as_ref()
                        .map(|t| time::from_timestamp("settings.snoozed_until", t))
                        .transpose()
                        .map_err(|v| vec![v])?,
                );
            }
            "do_not_pair_member_ids" => {
                self.do_not_pair = Some(do_not_pair(
                    "settings.do_not_pair_member_ids",
                    &settings.do_not_pair_member_ids,
                    me,
                )?);
            }
            other => {
                return Err(vec![FieldViolation::new(
                    "update_mask",
                    format!(
                        "unknown or read-only path `{other}`; updatable: {}",
                        UPDATABLE_PATHS.join(", ")
                    ),
                )]);
            }
        }
        Ok(())
    }

    /// `current` with this update applied at `now`, or the rule the result breaks: a member
    /// who is opted in has at least one availability window.
    pub fn apply(
        &self,
        current: &CoffeeSettings,
        now: DateTime<Utc>,
    ) -> Result<CoffeeSettings, FieldViolation> {
        let mut next = current.clone();
        if let Some(opted_in) = self.opted_in {
            next.opted_in = opted_in;
        }
        if let Some(cadence) = self.cadence {
            next.cadence = cadence;
        }
        if let Some(availability) = &self.availability {
            next.availability.clone_from(availability);
        }
        if let Some(time_zone) = &self.time_zone {
            next.time_zone.clone_from(time_zone);
        }
        if let Some(areas) = &self.preferred_areas {
            next.preferred_areas.clone_from(areas);
        }
        if let Some(snoozed_until) = self.snoozed_until {
            next.snoozed_until = snoozed_until;
        }
        if let Some(ids) = &self.do_not_pair {
            next.do_not_pair.clone_from(ids);
        }
        if next.opted_in && next.availability.is_empty() {
            let field = if self.availability.is_some() {
                "settings.availability"
            } else {
                "settings.opted_in"
            };
            return Err(FieldViolation::new(
                field,
                "opting in to coffee proposals needs at least one availability window",
            ));
        }
        next.updated_at = Some(now);
        Ok(next)
    }
}

/// Where a coffee proposal stands, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposalState {
    Open,
    Matched,
    Lapsed,
}

impl ProposalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalState::Open => "open",
            ProposalState::Matched => "matched",
            ProposalState::Lapsed => "lapsed",
        }
    }

    /// The state as members see it at `now`: an open proposal past its deadline has lapsed,
    /// whether or not the round has recorded it yet.
    pub fn seen(stored: &str, respond_by: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        match stored {
            "matched" => ProposalState::Matched,
            "open" if respond_by > now => ProposalState::Open,
            _ => ProposalState::Lapsed,
        }
    }

    pub fn to_proto(self) -> pb::CoffeeProposalState {
        match self {
            ProposalState::Open => pb::CoffeeProposalState::Open,
            ProposalState::Matched => pb::CoffeeProposalState::Matched,
            ProposalState::Lapsed => pb::CoffeeProposalState::Lapsed,
        }
    }
}

/// A member's answer as stored: `accepted`, `declined`, or none yet.
pub fn answer_to_proto(stored: Option<&str>) -> pb::CoffeeAnswer {
    match stored {
        Some("accepted") => pb::CoffeeAnswer::Accepted,
        Some("declined") => pb::CoffeeAnswer::Declined,
        _ => pb::CoffeeAnswer::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(weekday: events_pb::Weekday, start: &str, end: &str) -> pb::AvailabilityWindow {
        pb::AvailabilityWindow {
            weekday: weekday.into(),
            start_time: start.to_owned(),
            end_time: end.to_owned(),
        }
    }

    fn mask(paths: &[&str]) -> FieldMask {
        FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn fields_of(violations: &[FieldViolation]) -> Vec<String> {
        violations.iter().map(|v| v.field.clone()).collect()
    }

    #[test]
    fn clock_times_take_hh_mm_and_midnight_only_as_an_end() {
        assert_eq!(clock_time("f", "08:30", false), Ok(510));
        assert_eq!(clock_time("f", "00:00", false), Ok(0));
        assert_eq!(clock_time("f", "24:00", true), Ok(1440));
        for bad in [
            "24:00", "8:30", "08:60", "25:00", "0830", "", "aa:bb", "08:30:00",
        ] {
            assert!(clock_time("f", bad, false).is_err(), "{bad}");
        }
        assert!(clock_time("f", "24:01", true).is_err());
    }

    #[test]
    fn windows_are_sorted_and_refused_when_short_or_overlapping() {
        let me = Uuid::now_v7();
        let settings = pb::CoffeeSettings {
            availability: vec![
                window(events_pb::Weekday::Thursday, "12:00", "13:30"),
                window(events_pb::Weekday::Monday, "08:00", "09:00"),
                window(events_pb::Weekday::Monday, "18:00", "24:00"),
            ],
            ..Default::default()
        };
        let update = CoffeeUpdate::parse(Some(&settings), Some(&mask(&["availability"])), me)
            .expect("valid windows");
        let days: Vec<(Weekday, u16)> = update
            .availability
            .expect("set")
            .iter()
            .map(|w| (w.weekday, w.start))
            .collect();
        assert_eq!(
            days,
            vec![
                (Weekday::Mon, 480),
                (Weekday::Mon, 1080),
                (Weekday::Thu, 720)
            ]
        );

        let bad = pb::CoffeeSettings {
            availability: vec![
                window(events_pb::Weekday::Monday, "08:00", "08:20"),
                window(events_pb::Weekday::Tuesday, "08:00", "10:00"),
                window(events_pb::Weekday::Tuesday, "09:30", "11:00"),
                window(events_pb::Weekday::Unspecified, "08:00", "09:00"),
            ],
            ..Default::default()
        };
        let violations =
            CoffeeUpdate::parse(Some(&bad), Some(&mask(&["availability"])), me).unwrap_err();
        assert_eq!(
            fields_of(&violations),
            vec![
                "settings.availability[0].end_time",
                "settings.availability[3].weekday",
            ],
            "each bad window named; the overlap is judged once every window parses"
        );
        let overlapping = pb::CoffeeSettings {
            availability: bad.availability[1..3].to_vec(),
            ..Default::default()
        };
        let violations =
            CoffeeUpdate::parse(Some(&overlapping), Some(&mask(&["availability"])), me)
                .unwrap_err();
        assert_eq!(fields_of(&violations), vec!["settings.availability[1]"]);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let me = Uuid::now_v7();
        let settings = pb::CoffeeSettings {
            cadence: pb::CoffeeCadence::Unspecified.into(),
            time_zone: "Mars/Olympus".to_owned(),
            preferred_areas: vec!["Le Marais".to_owned(), "  ".to_owned()],
            do_not_pair_member_ids: vec![me.to_string(), "not-an-id".to_owned()],
            ..Default::default()
        };
        let all = mask(&[
            "cadence",
            "time_zone",
            "preferred_areas",
            "do_not_pair_member_ids",
            "update_time",
        ]);
        let violations = CoffeeUpdate::parse(Some(&settings), Some(&all), me).unwrap_err();
        assert_eq!(
            fields_of(&violations),
            vec![
                "settings.cadence",
                "settings.time_zone",
                "settings.preferred_areas[1]",
                "settings.do_not_pair_member_ids[0]",
                "settings.do_not_pair_member_ids[1]",
                "update_mask",
            ]
        );
        let violations = CoffeeUpdate::parse(Some(&settings), None, me).unwrap_err();
        assert_eq!(fields_of(&violations), vec!["update_mask"]);
    }

    #[test]
    fn opting_in_needs_a_window_and_the_rest_of_the_settings_stay() {
        let me = Uuid::now_v7();
        let now = Utc::now();
        let opt_in = pb::CoffeeSettings {
            opted_in: true,
            ..Default::default()
        };
        let update = CoffeeUpdate::parse(Some(&opt_in), Some(&mask(&["opted_in"])), me).unwrap();
        let refused = update.apply(&CoffeeSettings::default(), now).unwrap_err();
        assert_eq!(refused.field, "settings.opted_in");

        let with_window = pb::CoffeeSettings {
            opted_in: true,
            availability: vec![window(events_pb::Weekday::Friday, "08:30", "10:00")],
            preferred_areas: vec!["Le Marais".to_owned(), "le marais".to_owned()],
            ..Default::default()
        };
        let update = CoffeeUpdate::parse(
            Some(&with_window),
            Some(&mask(&["opted_in", "availability", "preferred_areas"])),
            me,
        )
        .unwrap();
        let settings = update.apply(&CoffeeSettings::default(), now).unwrap();
        assert!(settings.opted_in && settings.proposable(now));
        assert_eq!(settings.preferred_areas, vec!["Le Marais"], "one area once");
        assert_eq!(settings.cadence, Cadence::Fortnightly);
        assert_eq!(settings.updated_at, Some(now));

        // Clearing the windows of a member who stays opted in is refused, naming them.
        let clear = CoffeeUpdate::parse(
            Some(&pb::CoffeeSettings::default()),
            Some(&mask(&["availability"])),
            me,
        )
        .unwrap();
        assert_eq!(
            clear.apply(&settings, now).unwrap_err().field,
            "settings.availability"
        );

        let snooze = CoffeeUpdate {
            snoozed_until: Some(Some(now + Duration::days(3))),
            ..Default::default()
        };
        let snoozed = snooze.apply(&settings, now).unwrap();
        assert!(!snoozed.proposable(now));
        assert!(snoozed.proposable(now + Duration::days(3)));
    }

    #[test]
    fn stored_windows_read_back_as_written() {
        let windows = vec![
            Window {
                weekday: Weekday::Mon,
                start: 480,
                end: 540,
            },
            Window {
                weekday: Weekday::Sun,
                start: 1080,
                end: 1440,
            },
        ];
        let stored = windows_to_stored(&windows);
        assert_eq!(stored, "1 480-540;7 1080-1440");
        assert_eq!(windows_from_stored(&stored), windows);
        assert_eq!(windows_from_stored(""), Vec::new());
        assert_eq!(windows[1].to_proto().end_time, "24:00");
    }
}
