//! iCalendar (RFC 5545) files for events: one event, or a member's upcoming events (also served as a subscribable feed).
//!
//! [`calendar`] renders a complete `VCALENDAR` (`METHOD:PUBLISH`): one `VEVENT` per
//! [`CalendarEvent`], with start and end in the event's own IANA time zone
//! (`DTSTART;TZID=Europe/Paris:20260604T083000`), and one `VTIMEZONE` per zone used, whose
//! `STANDARD`/`DAYLIGHT` observances are computed from the tz database (chrono-tz) for the
//! years the events fall in, so calendar apps place the events right whatever their own tz
//! data says.
//!
//! Properties and text escaping (commas, semicolons, backslashes, newlines) come from the
//! `icalendar` crate, which cannot express `VTIMEZONE` (written here). Content lines are
//! re-folded here at 75 octets, because the crate's folding can emit 76-octet lines (an
//! off-by-one in icalendar 0.17), and never split a UTF-8 sequence. Lines end with CRLF.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use icalendar::{CalendarDateTime, Component, EventLike, EventStatus, Property};

/// The `PRODID` of every calendar.
pub const PRODID: &str = "-//Rendezvous//Events//EN";
/// The media type of a calendar file.
pub const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";
/// The domain part of every `UID` (`{event id}@rendezvous.local`).
pub const UID_DOMAIN: &str = "rendezvous.local";
/// The address of every event's `ORGANIZER` (its `CN` is the organiser's name): members'
/// addresses are private, and a published calendar expects no replies.
pub const ORGANIZER_ADDRESS: &str = "mailto:noreply@rendezvous.local";

/// Longest content line, in octets, excluding CRLF (RFC 5545 §3.1).
const MAX_LINE_OCTETS: usize = 75;

/// An event as it appears in a calendar file.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarEvent {
    /// Event id; the `UID` is `{id}@rendezvous.local`.
    pub id: String,
    /// `SUMMARY`.
    pub title: String,
    /// `DESCRIPTION` (omitted when empty).
    pub description: String,
    /// Venue name, first part of `LOCATION`.
    pub venue_name: String,
    /// Venue address, second part of `LOCATION`.
    pub venue_address: String,
    /// Latitude in degrees; `GEO` is written when both coordinates are known and valid.
    pub latitude: Option<f64>,
    /// Longitude in degrees.
    pub longitude: Option<f64>,
    /// Start instant.
    pub start: DateTime<Utc>,
    /// End instant.
    pub end: DateTime<Utc>,
    /// IANA time zone the event is held in, e.g. "Europe/Paris". If it is not a known zone the
    /// times are written in UTC.
    pub time_zone: String,
    /// `URL` of the event's page, if any.
    pub url: Option<String>,
    /// Whether the event is cancelled (`STATUS:CANCELLED`, else `STATUS:CONFIRMED`).
    pub cancelled: bool,
    /// Last change: `DTSTAMP` and `LAST-MODIFIED`.
    pub updated: DateTime<Utc>,
    /// `SEQUENCE`: revision number, bumped on each significant change (time, place, status).
    pub sequence: u32,
    /// Organiser's display name: the `CN` of `ORGANIZER` (omitted when empty).
    pub organizer_name: String,
}

/// Renders a complete iCalendar file named `name` (`X-WR-CALNAME`, `NAME`) holding `events`
/// in the given order, with a `VTIMEZONE` for each time zone they use.
#[must_use]
pub fn calendar(name: &str, events: &[CalendarEvent]) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; the crate's formatting only fails if the writer does.
    if write_calendar(&mut out, name, events).is_err() {
        out.clear();
    }
    fold(&out)
}

fn write_calendar(out: &mut String, name: &str, events: &[CalendarEvent]) -> fmt::Result {
    out.push_str("BEGIN:VCALENDAR\r\n");
    let mut header = icalendar::Calendar::empty();
    header
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .name(&clean_text(name));
    for property in header.properties {
        push_property(out, property)?;
    }

    // The zones used, each with the local years its events touch.
    let mut zones: BTreeMap<&str, (Tz, BTreeSet<i32>)> = BTreeMap::new();
    let mut vevents = Vec::with_capacity(events.len());
    for event in events {
        let tz = event.time_zone.parse::<Tz>().ok();
        let start = event_time(event.start, tz);
        let end = event_time(event.end, tz);
        for (time, zone) in [(&start, tz), (&end, tz)] {
            if let (CalendarDateTime::WithTimezone { date_time, .. }, Some(zone)) = (time, zone) {
                zones
                    .entry(zone.name())
                    .or_insert_with(|| (zone, BTreeSet::new()))
                    .1
                    .insert(date_time.year());
            }
        }
        vevents.push(vevent(event, start, end));
    }

    for (tz, years) in zones.values() {
        write_vtimezone(out, *tz, years)?;
    }
    for vevent in &vevents {
        vevent.fmt_write(out)?;
    }
    out.push_str("END:VCALENDAR\r\n");
    Ok(())
}

/// An event time as local time in its zone (`TZID=`), or in UTC when the zone is unknown or
/// the instant is the second of an ambiguous local time (which `TZID` form cannot express:
/// RFC 5545 reads an ambiguous local time as the first instant).
fn event_time(instant: DateTime<Utc>, tz: Option<Tz>) -> CalendarDateTime {
    let Some(tz) = tz else {
        return CalendarDateTime::Utc(instant);
    };
    let local = instant.with_timezone(&tz).naive_local();
    match tz.from_local_datetime(&local).earliest() {
        Some(first) if first == instant => CalendarDateTime::WithTimezone {
            date_time: local,
            tzid: tz.name().to_owned(),
        },
        _ => CalendarDateTime::Utc(instant),
    }
}

fn vevent(
    event: &CalendarEvent,
    start: CalendarDateTime,
    end: CalendarDateTime,
) -> icalendar::Event {
    let mut vevent = icalendar::Event::new();
    vevent
        .uid(&format!("{}@{UID_DOMAIN}", clean_text(&event.id)))
        .timestamp(event.updated)
        .starts(start)
        .ends(end)
        .summary(&clean_text(&event.title))
        .status(if event.cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        })
        .sequence(event.sequence)
        .last_modified(event.updated);
    let description = clean_text(&event.description);
    if !description.is_empty() {
        vevent.description(&description);
    }
    let location = [&event.venue_name, &event.venue_address]
        .into_iter()
        .map(|part| clean_text(part.trim()))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    if !location.is_empty() {
        vevent.location(&location);
    }
    if let (Some(lat), Some(lon)) = (event.latitude, event.longitude)
        && lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
    {
        // GEO is two FLOATs separated by a semicolon (not escaped: the crate types it FLOAT).
        vevent.add_property("GEO", format!("{lat};{lon}"));
    }
    if let Some(url) = &event.url {
        let url = strip_controls(url.trim());
        if !url.is_empty() {
            vevent.url(&url);
        }
    }
    let organizer = param_value(&event.organizer_name);
    if !organizer.is_empty() {
        vevent.append_property(
            Property::new("ORGANIZER", ORGANIZER_ADDRESS)
                .add_parameter("CN", &organizer)
                .done(),
        );
    }
    vevent.done()
}

/// Text for a TEXT value: line breaks normalised to `\n` (which the crate escapes), other
/// control characters but tab removed (RFC 5545 §3.3.11 excludes them).
fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// A value that is written unescaped (URI): control characters removed.
fn strip_controls(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// A parameter value: no control characters and no DQUOTE (RFC 5545 §3.1 `param-value`);
/// the crate quotes values holding `:`, `;` or `,`.
fn param_value(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' { '\'' } else { c })
        .collect()
}

fn push_property(out: &mut String, property: Property) -> fmt::Result {
    let line: String = property.try_into()?;
    out.push_str(&line);
    Ok(())
}

/// One onset of a `STANDARD` or `DAYLIGHT` observance.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observance {
    /// The instant the observance starts.
    instant: DateTime<Utc>,
    /// UTC offset before, in seconds.
    from: i32,
    /// UTC offset from the onset on, in seconds.
    to: i32,
    /// Whether it is daylight-saving time.
    daylight: bool,
    /// Abbreviation, e.g. "CEST".
    name: Option<String>,
}

impl Observance {
    /// `DTSTART` of the observance: the onset in local time before it (RFC 5545 §3.6.5).
    fn onset_local(&self) -> NaiveDateTime {
        (self.instant + Duration::seconds(i64::from(self.from))).naive_utc()
    }
}

/// The offset in force at an instant: (total offset in seconds, daylight saving, abbreviation).
fn offset_at(tz: Tz, instant: DateTime<Utc>) -> (i32, bool, Option<String>) {
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc());
    (
        offset.fix().local_minus_utc(),
        !offset.dst_offset().is_zero(),
        offset.abbreviation().map(str::to_owned),
    )
}

/// Transitions of `tz` in `[from, to)`: instants where the UTC offset or the daylight-saving
/// flag changes, found by sampling every 6 hours and bisecting to the second.
fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Observance> {
    const STEP: i64 = 6 * 3600;
    let key = |secs: i64| {
        DateTime::from_timestamp(secs, 0).map(|t| {
            let (offset, daylight, _) = offset_at(tz, t);
            (offset, daylight)
        })
    };
    let mut found = Vec::new();
    let (mut low, end) = (from.timestamp(), to.timestamp());
    let Some(mut low_key) = key(low) else {
        return found;
    };
    while low < end {
        let high = (low + STEP).min(end);
        let Some(high_key) = key(high) else {
            break;
        };
        if high_key != low_key {
            // Bisect: key(a) == low_key, key(b) != low_key.
            let (mut a, mut b) = (low, high);
            while b - a > 1 {
                let mid = a + (b - a) / 2;
                if key(mid) == Some(low_key) {
                    a = mid;
                } else {
                    b = mid;
                }
            }
            if let Some(instant) = DateTime::from_timestamp(b, 0) {
                let (to_offset, daylight, name) = offset_at(tz, instant);
                found.push(Observance {
                    instant,
                    from: low_key.0,
                    to: to_offset,
                    daylight,
                    name,
                });
            }
        }
        low = high;
        low_key = high_key;
    }
    found
}

/// The observances that cover the given local years of `tz`: every transition within each
/// year, and the observance in force when the year begins (the last transition before it, or,
/// when there was none in the year before, a constant observance starting on 1 January).
fn observances(tz: Tz, years: &BTreeSet<i32>) -> Vec<Observance> {
    let mut by_instant: BTreeMap<DateTime<Utc>, Observance> = BTreeMap::new();
    for &year in years {
        let (Some(year_start), Some(next_year_start), Some(scan_from)) = (
            local_new_year(tz, year),
            local_new_year(tz, year.saturating_add(1)),
            local_new_year(tz, year.saturating_sub(1)),
        ) else {
            continue;
        };
        let found = transitions(tz, scan_from, next_year_start);
        match found.iter().rev().find(|o| o.instant < year_start) {
            Some(previous) => {
                by_instant.insert(previous.instant, previous.clone());
            }
            None => {
                let (offset, daylight, name) = offset_at(tz, year_start);
                by_instant.entry(year_start).or_insert_with(|| Observance {
                    instant: year_start,
                    from: offset,
                    to: offset,
                    daylight,
                    name,
                });
            }
        }
        for observance in found.into_iter().filter(|o| o.instant >= year_start) {
            by_instant.insert(observance.instant, observance);
        }
    }
    by_instant.into_values().collect()
}

/// The instant of 1 January `year`, 00:00 local (approximately, on the offset of that
/// midnight read as UTC: good enough to split transitions by year).
fn local_new_year(tz: Tz, year: i32) -> Option<DateTime<Utc>> {
    let midnight = NaiveDate::from_ymd_opt(year, 1, 1)?.and_hms_opt(0, 0, 0)?;
    let (offset, _, _) = offset_at(tz, midnight.and_utc());
    Some(midnight.and_utc() - Duration::seconds(i64::from(offset)))
}

fn write_vtimezone(out: &mut String, tz: Tz, years: &BTreeSet<i32>) -> fmt::Result {
    out.push_str("BEGIN:VTIMEZONE\r\n");
    push_property(out, Property::new("TZID", tz.name()))?;
    for observance in observances(tz, years) {
        let kind = if observance.daylight {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        writeln_crlf(out, &format!("BEGIN:{kind}"));
        push_property(
            out,
            Property::new(
                "DTSTART",
                observance.onset_local().format("%Y%m%dT%H%M%S").to_string(),
            ),
        )?;
        push_property(
            out,
            Property::new("TZOFFSETFROM", utc_offset(observance.from)),
        )?;
        push_property(out, Property::new("TZOFFSETTO", utc_offset(observance.to)))?;
        if let Some(name) = &observance.name {
            push_property(out, Property::new("TZNAME", clean_text(name)))?;
        }
        writeln_crlf(out, &format!("END:{kind}"));
    }
    out.push_str("END:VTIMEZONE\r\n");
    Ok(())
}

fn writeln_crlf(out: &mut String, line: &str) {
    out.push_str(line);
    out.push_str("\r\n");
}

/// A UTC-OFFSET value (RFC 5545 §3.3.14): `+HHMM`, or `+HHMMSS` when seconds are not zero.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    let (hours, minutes, secs) = (abs / 3600, abs / 60 % 60, abs % 60);
    if secs == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{secs:02}")
    }
}

/// Unfolds CRLF-separated content lines and folds each again so that no line exceeds 75
/// octets, breaking only between UTF-8 characters (RFC 5545 §3.1).
fn fold(text: &str) -> String {
    let mut logical: Vec<String> = Vec::new();
    for line in text.split("\r\n") {
        match (line.strip_prefix([' ', '\t']), logical.last_mut()) {
            (Some(continuation), Some(current)) => current.push_str(continuation),
            _ if line.is_empty() => {}
            _ => logical.push(line.to_owned()),
        }
    }
    let mut out = String::with_capacity(text.len() + text.len() / 64 * 3);
    for line in &logical {
        let mut rest = line.as_str();
        let mut limit = MAX_LINE_OCTETS;
        while rest.len() > limit {
            let mut cut = limit;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let (head, tail) = rest.split_at(cut);
            out.push_str(head);
            out.push_str("\r\n ");
            rest = tail;
            limit = MAX_LINE_OCTETS - 1;
        }
        out.push_str(rest);
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
            .and_utc()
    }

    fn cafe() -> CalendarEvent {
        CalendarEvent {
            id: "0197a3c2-7b1e-7cc0-9d2a-3f1e2b4c5d6e".into(),
            title: "Café networking — Le Marais".into(),
            description: "Coffee with people you know online.\nBring cards; or not, \\ whatever."
                .into(),
            venue_name: "Café Saint-Paul".into(),
            venue_address: "12 rue Saint-Antoine, 75004 Paris".into(),
            latitude: Some(48.8553),
            longitude: Some(2.3619),
            // Thursday 4 June 2026, 08:30–10:00 Paris (CEST, UTC+2).
            start: utc(2026, 6, 4, 6, 30),
            end: utc(2026, 6, 4, 8, 0),
            time_zone: "Europe/Paris".into(),
            url: Some("https://rendezvous.example/events/0197a3c2".into()),
            cancelled: false,
            updated: utc(2026, 5, 20, 9, 15),
            sequence: 2,
            organizer_name: "Anna Martin".into(),
        }
    }

    fn winter() -> CalendarEvent {
        CalendarEvent {
            id: "winter-1".into(),
            title: "Winter drinks".into(),
            description: String::new(),
            venue_name: "Le Bar".into(),
            venue_address: String::new(),
            latitude: None,
            longitude: None,
            // Thursday 3 December 2026, 18:30–20:00 Paris (CET, UTC+1).
            start: utc(2026, 12, 3, 17, 30),
            end: utc(2026, 12, 3, 19, 0),
            time_zone: "Europe/Paris".into(),
            url: None,
            cancelled: true,
            updated: utc(2026, 11, 30, 12, 0),
            sequence: 5,
            organizer_name: String::new(),
        }
    }

    fn lines(ics: &str) -> Vec<String> {
        icalendar::parser::unfold(ics)
            .split("\r\n")
            .map(str::to_owned)
            .collect()
    }

    fn parse(ics: &str) -> icalendar::Calendar {
        ics.parse::<icalendar::Calendar>().unwrap()
    }

    #[test]
    fn parses_with_the_icalendar_crate_and_round_trips() {
        let ics = calendar("Rendezvous — Anna", &[cafe(), winter()]);
        let parsed = parse(&ics);
        assert_eq!(parsed.property_value("PRODID"), Some(PRODID));
        assert_eq!(parsed.property_value("VERSION"), Some("2.0"));
        assert_eq!(parsed.property_value("CALSCALE"), Some("GREGORIAN"));
        assert_eq!(parsed.property_value("METHOD"), Some("PUBLISH"));
        assert_eq!(parsed.get_name(), Some("Rendezvous — Anna"));
        let events: Vec<_> = parsed.events().collect();
        assert_eq!(events.len(), 2);

        let e = events[0];
        let expected = cafe();
        assert_eq!(
            e.get_uid(),
            Some("0197a3c2-7b1e-7cc0-9d2a-3f1e2b4c5d6e@rendezvous.local")
        );
        assert_eq!(e.get_summary(), Some(expected.title.as_str()));
        assert_eq!(e.get_description(), Some(expected.description.as_str()));
        assert_eq!(
            e.get_location(),
            Some("Café Saint-Paul, 12 rue Saint-Antoine, 75004 Paris")
        );
        assert_eq!(e.get_url(), expected.url.as_deref());
        assert_eq!(e.get_status(), Some(EventStatus::Confirmed));
        assert_eq!(e.get_sequence(), Some(2));
        assert_eq!(e.get_timestamp(), Some(expected.updated));
        assert_eq!(e.get_last_modified(), Some(expected.updated));
        assert_eq!(e.property_value("GEO"), Some("48.8553;2.3619"));
        let start = match e.get_start() {
            Some(icalendar::DatePerhapsTime::DateTime(dt)) => dt,
            other => panic!("unexpected DTSTART {other:?}"),
        };
        assert_eq!(
            start,
            CalendarDateTime::WithTimezone {
                date_time: NaiveDate::from_ymd_opt(2026, 6, 4)
                    .unwrap()
                    .and_hms_opt(8, 30, 0)
                    .unwrap(),
                tzid: "Europe/Paris".into(),
            }
        );
        let end = match e.get_end() {
            Some(icalendar::DatePerhapsTime::DateTime(dt)) => dt,
            other => panic!("unexpected DTEND {other:?}"),
        };
        assert_eq!(
            end,
            CalendarDateTime::WithTimezone {
                date_time: NaiveDate::from_ymd_opt(2026, 6, 4)
                    .unwrap()
                    .and_hms_opt(10, 0, 0)
                    .unwrap(),
                tzid: "Europe/Paris".into(),
            }
        );
        let organizer = e.properties().get("ORGANIZER").unwrap();
        assert_eq!(organizer.value(), ORGANIZER_ADDRESS);
        assert_eq!(
            organizer.params().get("CN").map(|p| p.value()),
            Some("Anna Martin")
        );

        let w = events[1];
        assert_eq!(w.get_status(), Some(EventStatus::Cancelled));
        assert_eq!(w.get_location(), Some("Le Bar"));
        assert_eq!(w.get_description(), None);
        assert_eq!(w.property_value("GEO"), None);
        assert_eq!(w.get_url(), None);
        assert!(w.properties().get("ORGANIZER").is_none());
    }

    #[test]
    fn exact_text_of_key_lines() {
        let ics = calendar("Anna's events", &[cafe()]);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        let lines = lines(&ics);
        for expected in [
            "PRODID:-//Rendezvous//Events//EN",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:Anna's events",
            "UID:0197a3c2-7b1e-7cc0-9d2a-3f1e2b4c5d6e@rendezvous.local",
            "DTSTAMP:20260520T091500Z",
            "LAST-MODIFIED:20260520T091500Z",
            "DTSTART;TZID=Europe/Paris:20260604T083000",
            "DTEND;TZID=Europe/Paris:20260604T100000",
            "SUMMARY:Café networking — Le Marais",
            "LOCATION:Café Saint-Paul\\, 12 rue Saint-Antoine\\, 75004 Paris",
            "GEO:48.8553;2.3619",
            "URL:https://rendezvous.example/events/0197a3c2",
            "STATUS:CONFIRMED",
            "SEQUENCE:2",
            "ORGANIZER;CN=Anna Martin:mailto:noreply@rendezvous.local",
            "DESCRIPTION:Coffee with people you know online.\\nBring cards\\; or not\\, \\\\ whatever.",
        ] {
            assert!(
                lines.iter().any(|l| l == expected),
                "missing {expected:?} in\n{ics}"
            );
        }
    }

    #[test]
    fn vtimezone_for_paris_has_both_offsets() {
        let ics = calendar("Paris", &[cafe(), winter()]);
        let lines = lines(&ics);
        let begin = lines.iter().position(|l| l == "BEGIN:VTIMEZONE").unwrap();
        let end = lines.iter().position(|l| l == "END:VTIMEZONE").unwrap();
        let first_event = lines.iter().position(|l| l == "BEGIN:VEVENT").unwrap();
        assert!(begin < end && end < first_event);
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VTIMEZONE").count(), 1);
        let tz: Vec<&str> = lines[begin..=end].iter().map(String::as_str).collect();
        assert_eq!(
            tz,
            vec![
                "BEGIN:VTIMEZONE",
                "TZID:Europe/Paris",
                // In force on 1 January 2026: since the last Sunday of October 2025.
                "BEGIN:STANDARD",
                "DTSTART:20251026T030000",
                "TZOFFSETFROM:+0200",
                "TZOFFSETTO:+0100",
                "TZNAME:CET",
                "END:STANDARD",
                "BEGIN:DAYLIGHT",
                "DTSTART:20260329T020000",
                "TZOFFSETFROM:+0100",
                "TZOFFSETTO:+0200",
                "TZNAME:CEST",
                "END:DAYLIGHT",
                "BEGIN:STANDARD",
                "DTSTART:20261025T030000",
                "TZOFFSETFROM:+0200",
                "TZOFFSETTO:+0100",
                "TZNAME:CET",
                "END:STANDARD",
                "END:VTIMEZONE",
            ]
        );
        // The crate's parser sees it as a component with three observances.
        let parsed = parse(&ics);
        let vtimezone = parsed
            .components
            .iter()
            .find_map(|c| match c {
                icalendar::CalendarComponent::Other(o) if o.component_kind() == "VTIMEZONE" => {
                    Some(o)
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(vtimezone.property_value("TZID"), Some("Europe/Paris"));
        assert_eq!(vtimezone.components().len(), 3);
    }

    #[test]
    fn observances_cover_each_event_and_match_chrono_tz() {
        // Several zones and years, including one without DST and one south of the equator.
        let zones = [
            "Europe/Paris",
            "America/New_York",
            "Australia/Sydney",
            "Asia/Tokyo",
            "Asia/Kolkata",
            "America/Sao_Paulo",
            "UTC",
        ];
        let mut events = Vec::new();
        for (i, zone) in zones.iter().enumerate() {
            for (j, start) in [
                utc(2026, 1, 15, 12, 0),
                utc(2026, 7, 15, 12, 0),
                utc(2028, 3, 1, 12, 0),
            ]
            .into_iter()
            .enumerate()
            {
                events.push(CalendarEvent {
                    id: format!("e{i}-{j}"),
                    time_zone: (*zone).into(),
                    start,
                    end: start + Duration::hours(2),
                    ..cafe()
                });
            }
        }
        let ics = calendar("World", &events);
        let parsed = parse(&ics);
        for zone in zones {
            let tz: Tz = zone.parse().unwrap();
            let vtimezone = parsed
                .components
                .iter()
                .find_map(|c| match c {
                    icalendar::CalendarComponent::Other(o)
                        if o.property_value("TZID") == Some(zone) =>
                    {
                        Some(o)
                    }
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no VTIMEZONE for {zone}"));
            // (onset as UTC instant, offset-to) for each observance.
            let mut onsets: Vec<(DateTime<Utc>, i32)> = vtimezone
                .components()
                .iter()
                .map(|o| {
                    let parse_offset = |key: &str| {
                        let v = o.property_value(key).unwrap();
                        let sign = if v.starts_with('-') { -1 } else { 1 };
                        let h: i32 = v[1..3].parse().unwrap();
                        let m: i32 = v[3..5].parse().unwrap();
                        sign * (h * 3600 + m * 60)
                    };
                    let from = parse_offset("TZOFFSETFROM");
                    let to = parse_offset("TZOFFSETTO");
                    let local = NaiveDateTime::parse_from_str(
                        o.property_value("DTSTART").unwrap(),
                        "%Y%m%dT%H%M%S",
                    )
                    .unwrap();
                    (local.and_utc() - Duration::seconds(i64::from(from)), to)
                })
                .collect();
            onsets.sort();
            for event in events.iter().filter(|e| e.time_zone == zone) {
                for instant in [event.start, event.end] {
                    let (_, to) = onsets
                        .iter()
                        .rev()
                        .find(|(onset, _)| *onset <= instant)
                        .unwrap_or_else(|| panic!("{zone}: nothing covers {instant}"));
                    let expected = tz
                        .offset_from_utc_datetime(&instant.naive_utc())
                        .fix()
                        .local_minus_utc();
                    assert_eq!(*to, expected, "{zone} at {instant}");
                }
            }
        }
    }

    #[test]
    fn special_characters_are_escaped() {
        let event = CalendarEvent {
            title: "Drinks, snacks; and a \\ backslash\nnew line\r\nand CRLF".into(),
            venue_name: "Bar; \"Chez Jo\"".into(),
            organizer_name: "Martin, \"Anna\"; host".into(),
            ..cafe()
        };
        let ics = calendar("Name, with; specials", &[event]);
        let lines = lines(&ics);
        assert!(lines.contains(
            &"SUMMARY:Drinks\\, snacks\\; and a \\\\ backslash\\nnew line\\nand CRLF".to_owned()
        ));
        assert!(lines.contains(&"X-WR-CALNAME:Name\\, with\\; specials".to_owned()));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("LOCATION:Bar\\; \"Chez Jo\"\\, "))
        );
        assert!(lines.contains(
            &"ORGANIZER;CN=\"Martin, 'Anna'; host\":mailto:noreply@rendezvous.local".to_owned()
        ));
        // No bare CR or LF anywhere: every line ends with CRLF.
        assert!(!ics.replace("\r\n", "").contains(['\r', '\n']));
        let parsed = parse(&ics);
        let e = parsed.events().next().unwrap();
        assert_eq!(
            e.get_summary(),
            Some("Drinks, snacks; and a \\ backslash\nnew line\nand CRLF")
        );
    }

    #[test]
    fn cancelled_event_has_status_cancelled() {
        let ics = calendar("x", &[winter()]);
        assert!(lines(&ics).contains(&"STATUS:CANCELLED".to_owned()));
        assert!(!ics.contains("STATUS:CONFIRMED"));
        assert!(lines(&ics).contains(&"SEQUENCE:5".to_owned()));
    }

    #[test]
    fn lines_are_folded_at_75_octets_and_end_with_crlf() {
        let long = "Rencontre très longue — ".repeat(20) + &"x".repeat(137);
        let event = CalendarEvent {
            title: long.clone(),
            description: "€".repeat(200),
            ..cafe()
        };
        let ics = calendar(&long, &[event]);
        assert!(ics.ends_with("\r\n"));
        for line in ics.split_terminator("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
            assert!(!line.is_empty());
        }
        assert!(!ics.replace("\r\n", "").contains(['\r', '\n']));
        let parsed = parse(&ics);
        let e = parsed.events().next().unwrap();
        assert_eq!(e.get_summary(), Some(long.as_str()));
        assert_eq!(e.get_description(), Some("€".repeat(200).as_str()));
    }

    #[test]
    fn fold_handles_every_length() {
        for n in 0..300 {
            for unit in ["a", "é", "€", "😀"] {
                let line = format!("SUMMARY:{}", unit.repeat(n));
                let folded = fold(&format!("{line}\r\n"));
                for physical in folded.split_terminator("\r\n") {
                    assert!(physical.len() <= 75);
                }
                assert_eq!(icalendar::parser::unfold(&folded), format!("{line}\r\n"));
            }
        }
    }

    #[test]
    fn unknown_time_zone_falls_back_to_utc() {
        let event = CalendarEvent {
            time_zone: "Mars/Olympus_Mons".into(),
            ..cafe()
        };
        let ics = calendar("x", &[event]);
        let lines = lines(&ics);
        assert!(lines.contains(&"DTSTART:20260604T063000Z".to_owned()));
        assert!(lines.contains(&"DTEND:20260604T080000Z".to_owned()));
        assert!(!ics.contains("VTIMEZONE"));
    }

    #[test]
    fn second_instance_of_an_ambiguous_time_is_written_in_utc() {
        // 02:30 happens twice in Paris on 2026-10-25; 01:30Z is the second (CET).
        let event = CalendarEvent {
            start: utc(2026, 10, 25, 1, 30),
            end: utc(2026, 10, 25, 2, 30),
            ..cafe()
        };
        let ics = calendar("x", &[event]);
        let lines = lines(&ics);
        assert!(lines.contains(&"DTSTART:20261025T013000Z".to_owned()));
        assert!(lines.contains(&"DTEND;TZID=Europe/Paris:20261025T033000".to_owned()));
        // The first instance keeps its local form.
        let event = CalendarEvent {
            start: utc(2026, 10, 25, 0, 30),
            end: utc(2026, 10, 25, 1, 0),
            ..cafe()
        };
        let lines = self::lines(&calendar("x", &[event]));
        assert!(lines.contains(&"DTSTART;TZID=Europe/Paris:20261025T023000".to_owned()));
    }

    #[test]
    fn empty_calendar_is_valid() {
        let ics = calendar("Nothing yet", &[]);
        let parsed = parse(&ics);
        assert_eq!(parsed.events().count(), 0);
        assert_eq!(parsed.get_name(), Some("Nothing yet"));
    }

    #[test]
    fn utc_offsets_are_formatted() {
        assert_eq!(utc_offset(3600), "+0100");
        assert_eq!(utc_offset(-5 * 3600), "-0500");
        assert_eq!(utc_offset(0), "+0000");
        assert_eq!(utc_offset(5 * 3600 + 1800), "+0530");
        assert_eq!(utc_offset(-(9 * 3600 + 21 * 60 + 1)), "-092101");
    }
}
