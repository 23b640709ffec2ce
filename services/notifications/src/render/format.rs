//! The wording shared by every kind: facts cleaned for a sentence, quotes and labels per
//! language, dates in the event's own time zone, and the HTML email document.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rendezvous_proto::notifications::v1 as pb;
use rendezvous_proto::prost_types::Timestamp;

use super::{Locale, Message};

impl Locale {
    pub(super) fn en_fr<'s>(self, en: &'s str, fr: &'s str) -> &'s str {
        match self {
            Locale::En => en,
            Locale::Fr => fr,
        }
    }

    pub(super) fn quote(self, value: &str) -> String {
        match self {
            Locale::En => format!("“{value}”"),
            Locale::Fr => format!("«\u{a0}{value}\u{a0}»"),
        }
    }

    /// `label: value`, or the label alone without a value.
    pub(super) fn labelled(self, label: &str, value: Option<String>) -> String {
        match (value, self) {
            (Some(value), Locale::En) => format!("{label}: {value}"),
            (Some(value), Locale::Fr) => format!("{label}\u{a0}: {value}"),
            (None, _) => label.to_owned(),
        }
    }

    /// The event in running text: its quoted title, or a neutral "the event".
    pub(super) fn event(self, event: Option<&pb::EventFacts>) -> String {
        match event_title(event) {
            Some(title) => self.quote(&title),
            None => self.en_fr("the event", "l’événement").to_owned(),
        }
    }

    /// Another member in running text: their name, or a neutral "a member".
    pub(super) fn member(self, member: Option<&pb::MemberFacts>) -> String {
        member_name(member).unwrap_or_else(|| self.en_fr("a member", "un membre").to_owned())
    }

    /// When the event starts, in its own time zone.
    pub(super) fn start(self, event: Option<&pb::EventFacts>) -> Option<String> {
        let event = event?;
        self.time_in(event.start_time.as_ref()?, &event.time_zone)
    }

    /// `at` written out in `zone` (UTC, and said so, when the zone is unknown).
    pub(super) fn time_in(self, at: &Timestamp, zone: &str) -> Option<String> {
        let at = DateTime::<Utc>::from_timestamp(at.seconds, u32::try_from(at.nanos).ok()?)?;
        Some(format_time(at, zone, self))
    }

    /// The day of `at` in `zone`, written out (the day in UTC when the zone is unknown).
    pub(super) fn date_in(self, at: &Timestamp, zone: &str) -> Option<String> {
        let at = DateTime::<Utc>::from_timestamp(at.seconds, u32::try_from(at.nanos).ok()?)?;
        Some(format_date(at, zone, self))
    }

    /// The event's practical details, one per line, or nothing if none is known.
    pub(super) fn details(
        self,
        event: Option<&pb::EventFacts>,
        host: Option<&pb::MemberFacts>,
    ) -> Option<String> {
        self.details_but(event, host, Said::default())
    }

    /// The details, leaving out what the message already `said`.
    pub(super) fn details_but(
        self,
        event: Option<&pb::EventFacts>,
        host: Option<&pb::MemberFacts>,
        said: Said,
    ) -> Option<String> {
        let lines: Vec<String> = [
            (
                self.en_fr("When", "Quand"),
                self.start(event).filter(|_| !said.time),
            ),
            (
                self.en_fr("Where", "Où"),
                venue(event).filter(|_| !said.venue),
            ),
            (self.en_fr("Host", "Organisé par"), member_name(host)),
        ]
        .into_iter()
        .filter_map(|(label, value)| value.map(|value| self.labelled(label, Some(value))))
        .collect();
        non_empty(lines.join("\n"))
    }

    pub(super) fn cancel_hint(self) -> String {
        self.en_fr(
            "Can’t make it any more? Cancel your RSVP so that someone on the waiting list can \
             take your seat.",
            "Vous ne pouvez plus venir\u{202f}? Annulez votre inscription afin qu’une personne \
             de la liste d’attente puisse prendre votre place.",
        )
        .to_owned()
    }

    /// `a`, `a and b`, `a, b and c` (`et` in French).
    pub(super) fn join_list(self, items: &[&str]) -> String {
        let and = self.en_fr(" and ", " et ");
        match items.split_last() {
            None => String::new(),
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{}{and}{last}", rest.join(", ")),
        }
    }
}

/// Details a message already gave, not to repeat under "When" and "Where".
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Said {
    pub time: bool,
    pub venue: bool,
}

/// The event's title on one line, if it has one.
pub(super) fn event_title(event: Option<&pb::EventFacts>) -> Option<String> {
    text(&event?.title)
}

/// A member's display name on one line, if known.
pub(super) fn member_name(member: Option<&pb::MemberFacts>) -> Option<String> {
    text(&member?.display_name)
}

/// Where the event is: the venue's name and address (or city), whichever are known.
pub(super) fn venue(event: Option<&pb::EventFacts>) -> Option<String> {
    let event = event?;
    let place = text(&event.venue_address).or_else(|| text(&event.city));
    match (text(&event.venue_name), place) {
        (Some(name), Some(place)) => Some(format!("{name}, {place}")),
        (name, place) => name.or(place),
    }
}

/// A fact on one line (names, titles): control characters become spaces; blank is missing.
pub(super) fn text(value: &str) -> Option<String> {
    non_empty(one_line(value))
}

/// A fact that may span lines (notes, messages, reasons); blank is missing.
pub(super) fn multiline(value: &str) -> Option<String> {
    let cleaned: String = value
        .replace("\r\n", "\n")
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    non_empty(cleaned.trim().to_owned())
}

/// Runs of whitespace and control characters (line breaks included) become one space;
/// surrounding blanks go.
pub(super) fn one_line(value: &str) -> String {
    value
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

/// Upper-cases the first letter, for a value that opens a sentence.
pub(super) fn cap(value: &str) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

const WEEKDAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const WEEKDAYS_FR: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `at` in the IANA `zone`, written out: `Thursday 5 June 2025 at 08:30`,
/// `jeudi 5 juin 2025 à 8 h 30`. An unknown zone (or UTC itself) shows UTC and says so.
pub(super) fn format_time(at: DateTime<Utc>, zone: &str, locale: Locale) -> String {
    let tz = zone_or_utc(zone);
    let local = tz.from_utc_datetime(&at.naive_utc()).naive_local();
    let suffix = if tz == Tz::UTC { " UTC" } else { "" };
    let date = written_date(local.date(), locale);
    let (hour, minute) = (local.hour(), local.minute());
    match locale {
        Locale::En => format!("{date} at {hour:02}:{minute:02}{suffix}"),
        Locale::Fr => format!("{date} à {hour}\u{a0}h\u{a0}{minute:02}{suffix}"),
    }
}

/// The day of `at` in the IANA `zone`, written out: `Thursday 5 June 2025`,
/// `jeudi 5 juin 2025`. An unknown zone gives the day in UTC, unsaid: a day is no precise
/// time.
pub(super) fn format_date(at: DateTime<Utc>, zone: &str, locale: Locale) -> String {
    let local = zone_or_utc(zone).from_utc_datetime(&at.naive_utc());
    written_date(local.date_naive(), locale)
}

fn zone_or_utc(zone: &str) -> Tz {
    zone.trim().parse::<Tz>().unwrap_or(Tz::UTC)
}

fn written_date(date: NaiveDate, locale: Locale) -> String {
    let weekday = date.weekday().num_days_from_monday() as usize;
    let month = date.month0() as usize;
    let (day, year) = (date.day(), date.year());
    match locale {
        Locale::En => format!("{} {day} {} {year}", WEEKDAYS_EN[weekday], MONTHS_EN[month]),
        Locale::Fr => format!(
            "{} {}\u{a0}{} {year}",
            WEEKDAYS_FR[weekday],
            if day == 1 {
                "1er".to_owned()
            } else {
                day.to_string()
            },
            MONTHS_FR[month]
        ),
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One escaped paragraph; its line breaks become `<br>`.
fn html_paragraph(text: &str, style: &str) -> String {
    let lines: Vec<String> = text.lines().map(escape).collect();
    format!("<p style=\"{style}\">{}</p>\n", lines.join("<br>\n"))
}

/// The HTML email: title, greeting, paragraphs, the footer, and (when given) the footer's
/// unsubscribe link `(words, url)`.
pub(super) fn html_document(
    locale: Locale,
    message: &Message,
    greeting: &str,
    footer: &str,
    unsubscribe: Option<(&str, &str)>,
) -> String {
    const TEXT: &str = "margin:0 0 1em 0;";
    const FOOTER: &str = "margin:2em 0 0 0;padding-top:1em;border-top:1px solid #e5e7eb;\
                          color:#6b7280;font-size:13px;";
    const UNSUBSCRIBE: &str = "margin:0.5em 0 0 0;color:#6b7280;font-size:13px;";
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n\
         <body style=\"margin:0;padding:24px;background:#ffffff;color:#1f2933;\
         font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;\
         font-size:15px;line-height:1.5;\">\n\
         <div style=\"max-width:560px;margin:0 auto;\">\n\
         <h1 style=\"margin:0 0 1em 0;font-size:20px;\">{title}</h1>\n",
        lang = locale.as_str(),
        title = escape(&message.title),
    );
    html.push_str(&html_paragraph(greeting, TEXT));
    for paragraph in &message.paragraphs {
        html.push_str(&html_paragraph(paragraph, TEXT));
    }
    html.push_str(&html_paragraph(footer, FOOTER));
    if let Some((words, url)) = unsubscribe {
        html.push_str(&format!(
            "<p style=\"{UNSUBSCRIBE}\"><a href=\"{url}\" style=\"color:#6b7280;\">{words}</a></p>\n",
            url = escape(url),
            words = escape(words),
        ));
    }
    html.push_str("</div>\n</body>\n</html>\n");
    html
}
