//! Every kind rendered from realistic and from empty facts, in both languages.
//!
//! The facts and checks every kind shares are here, with the tests run over all kinds; the
//! cases of each family of kinds (and the tests of its wording) are in the file of its
//! family, the email around every message in `email`.

use chrono::{DateTime, TimeZone as _, Utc};
use rendezvous_proto::notifications::v1::{self as pb, NotificationKind};
use rendezvous_proto::prost_types::Timestamp;

use super::format::{escape, format_date, format_time};
use super::*;

const ZONE: &str = "Europe/Paris";
const EVENT_ID: &str = "0197a6f2-0000-7000-8000-000000000003";
const MEMBER_ID: &str = "0197a6f2-0000-7000-8000-000000000001";
const HOST_ID: &str = "0197a6f2-0000-7000-8000-000000000004";
const REQUEST_ID: &str = "0197a6f2-0000-7000-8000-000000000002";
const CHAPTER_ID: &str = "0197a6f2-0000-7000-8000-000000000005";

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

/// 08:30 in Paris (summer time).
fn start() -> DateTime<Utc> {
    at(2025, 6, 5, 6, 30)
}

fn event() -> pb::EventFacts {
    pb::EventFacts {
        event_id: EVENT_ID.to_owned(),
        title: "Café networking — Le Marais".to_owned(),
        start_time: ts(start()),
        end_time: ts(at(2025, 6, 5, 8, 30)),
        time_zone: ZONE.to_owned(),
        venue_name: "Le Peloton Café".to_owned(),
        venue_address: "17 rue du Pont Louis-Philippe, 75004 Paris".to_owned(),
        city: "Paris".to_owned(),
    }
}

/// The event before it moved: the evening before, at another café.
fn previous() -> pb::EventFacts {
    pb::EventFacts {
        start_time: ts(at(2025, 6, 4, 17, 0)),
        end_time: ts(at(2025, 6, 4, 19, 0)),
        venue_name: "Le Progrès".to_owned(),
        venue_address: "1 rue de Bretagne, 75003 Paris".to_owned(),
        ..event()
    }
}

fn offer_deadline() -> DateTime<Utc> {
    at(2025, 6, 4, 16, 0)
}

fn zoe() -> pb::MemberFacts {
    pb::MemberFacts {
        member_id: MEMBER_ID.to_owned(),
        display_name: "Zoé Martin".to_owned(),
    }
}

fn anna() -> pb::MemberFacts {
    pb::MemberFacts {
        member_id: HOST_ID.to_owned(),
        display_name: "Anna Dupont".to_owned(),
    }
}

/// A fact a rendering must show.
enum Need {
    /// Shown as written, in both languages.
    Text(&'static str),
    /// A time, written out in the event's zone in the reader's language.
    Time(DateTime<Utc>),
    /// A day, written out in the same zone in the reader's language.
    Day(DateTime<Utc>),
}

impl Need {
    fn shown(&self, locale: Locale) -> String {
        match self {
            Need::Text(text) => (*text).to_owned(),
            Need::Time(at) => format_time(*at, ZONE, locale),
            Need::Day(at) => format_date(*at, ZONE, locale),
        }
    }
}

/// One kind with the facts its producer sends, what its title must name and what its body
/// must show.
struct Case {
    notice: pb::Notice,
    title: &'static [&'static str],
    body: Vec<Need>,
}

const EVENT_TITLE: &str = "Café networking — Le Marais";

/// When and where the event is.
fn event_needs() -> Vec<Need> {
    vec![
        Need::Time(start()),
        Need::Text("Le Peloton Café"),
        Need::Text("17 rue du Pont Louis-Philippe, 75004 Paris"),
    ]
}

fn with_event(mut more: Vec<Need>) -> Vec<Need> {
    more.extend(event_needs());
    more
}

mod coffee;
mod email;
mod events;
mod members;
mod rsvps;

/// Every kind, built as its producer builds it; a kind whose wording depends on which facts
/// it carries has a case for each way (the first is its usual one).
fn cases() -> Vec<Case> {
    [
        members::cases(),
        events::cases(),
        rsvps::cases(),
        coffee::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every kind with none of its facts, and a notice without its variant.
fn empty_notices() -> Vec<pb::Notice> {
    vec![
        pb::Notice::default(),
        pb::Welcome::default().into(),
        pb::ConnectionRequested::default().into(),
        pb::ConnectionAccepted::default().into(),
        pb::EventInvitation::default().into(),
        pb::RsvpConfirmed::default().into(),
        pb::RsvpWaitlisted::default().into(),
        pb::WaitlistPromoted::default().into(),
        pb::WaitlistOffered::default().into(),
        pb::RsvpApproved::default().into(),
        pb::RsvpDeclined::default().into(),
        pb::EventUpdated::default().into(),
        pb::EventCancelled::default().into(),
        pb::EventReminder::default().into(),
        pb::MetInPerson::default().into(),
        pb::ConnectSuggestion::default().into(),
        pb::ChapterNewEvent::default().into(),
        pb::EventAnnouncement::default().into(),
        pb::MeetingFollowUp::default().into(),
        pb::RsvpPendingApproval::default().into(),
        pb::RsvpApprovalRequested::default().into(),
        pb::WaitlistOfferExpired::default().into(),
        pb::CoffeeProposed::default().into(),
        pb::CoffeeMatched::default().into(),
        pb::CoffeeScheduled::default().into(),
        pb::WantToMeetMutual::default().into(),
        pb::ChapterDormant::default().into(),
        pb::RemeetNudge::default().into(),
    ]
}

fn full_notices() -> Vec<pb::Notice> {
    cases().into_iter().map(|case| case.notice).collect()
}

fn all_kinds() -> Vec<NotificationKind> {
    (1..)
        .map_while(|value| NotificationKind::try_from(value).ok())
        .collect()
}

fn find(kind: NotificationKind) -> pb::Notice {
    full_notices()
        .into_iter()
        .find(|notice| notice.kind() == kind)
        .unwrap()
}

/// Whether `text` holds a UUID (8-4-4-4-12 hex digits).
fn has_uuid(text: &str) -> bool {
    let shape = |c: char, i: usize| {
        if [8, 13, 18, 23].contains(&i) {
            c == '-'
        } else {
            c.is_ascii_hexdigit()
        }
    };
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(36)
        .any(|window| window.iter().enumerate().all(|(i, c)| shape(*c, i)))
}

/// What a rendering must never show: placeholders, leftovers of an empty value, doubled
/// blanks, `None`, raw ids.
fn assert_clean(part: &str, text: &str, context: &str) {
    for artefact in [
        "{",
        "}",
        "None",
        "  ",
        " .",
        " ,",
        "()",
        "“”",
        "«\u{a0}\u{a0}»",
        ": .",
        "\n\n\n",
        "\u{a0}\u{a0}",
        "<p style=\"margin:0 0 1em 0;\"></p>",
    ] {
        assert!(
            !text.contains(artefact),
            "{context}: {artefact:?} in the {part}: {text}"
        );
    }
    assert!(!has_uuid(text), "{context}: a raw id in the {part}: {text}");
    assert!(
        !text
            .lines()
            .any(|line| line.trim_end().ends_with(':') && line.len() < 12),
        "{context}: a label without its value in the {part}: {text}"
    );
}

#[test]
fn every_kind_renders_its_facts_in_both_languages_with_nothing_left_over() {
    let cases = cases();
    let mut kinds: Vec<NotificationKind> = cases.iter().map(|case| case.notice.kind()).collect();
    kinds.sort_by_key(|kind| *kind as i32);
    kinds.dedup();
    assert_eq!(kinds, all_kinds(), "every kind needs its rendering case");
    for case in &cases {
        for locale in [Locale::En, Locale::Fr] {
            let kind = case.notice.kind();
            let context = format!("{kind:?} {locale:?}");
            let rendered = render(&case.notice, locale, "Camille Laurent");
            for (part, text) in [
                ("title", &rendered.title),
                ("body", &rendered.body),
                ("text email", &rendered.text),
                ("HTML email", &rendered.html),
            ] {
                assert!(!text.trim().is_empty(), "{context}: empty {part}");
                assert_clean(part, text, &context);
            }
            assert!(!rendered.title.contains('\n'), "{context}");
            for fact in case.title {
                assert!(
                    rendered.title.contains(fact),
                    "{context}: {fact:?} not in the title {:?}",
                    rendered.title
                );
            }
            for need in &case.body {
                let fact = need.shown(locale);
                assert!(
                    rendered.body.contains(&fact),
                    "{context}: {fact:?} not in the body {:?}",
                    rendered.body
                );
                assert!(rendered.text.contains(&fact), "{context}: {fact:?}");
                let html_fact = escape(&fact).replace('\n', "<br>\n");
                assert!(rendered.html.contains(&html_fact), "{context}: {fact:?}");
            }
            assert!(rendered.text.contains(&rendered.body), "{context}");
            assert!(rendered.text.contains("Camille Laurent"), "{context}");
        }
    }
}

#[test]
fn missing_facts_never_panic_nor_leave_holes() {
    for notice in empty_notices().into_iter().chain(full_notices()) {
        for locale in [Locale::En, Locale::Fr] {
            for name in ["", "Camille"] {
                let rendered = render(&notice, locale, name);
                let context = format!("{:?} {locale:?} {name:?} {notice:?}", notice.kind());
                assert!(!rendered.title.is_empty(), "{context}");
                assert!(!rendered.body.is_empty(), "{context}");
                assert!(!rendered.text.is_empty(), "{context}");
                assert!(!rendered.html.is_empty(), "{context}");
                assert!(!rendered.title.contains('\n'), "{context}");
                for artefact in ["  ", " .", " ,", "()", "“”", "{", "}", ": .", "\n\n\n"] {
                    assert!(
                        !rendered.text.contains(artefact),
                        "{context}: {artefact:?} in {}",
                        rendered.text
                    );
                    assert!(!rendered.title.contains(artefact), "{context}");
                }
                assert!(rendered.text.contains(&rendered.body), "{context}");
            }
        }
    }
}

#[test]
fn french_and_english_differ_for_every_kind() {
    for notice in empty_notices().into_iter().chain(full_notices()) {
        let en = render(&notice, Locale::En, "Camille");
        let fr = render(&notice, Locale::Fr, "Camille");
        assert_ne!(en.title, fr.title, "{:?}", notice.kind());
        assert_ne!(en.body, fr.body, "{:?}", notice.kind());
        assert_ne!(en.html, fr.html, "{:?}", notice.kind());
        assert!(fr.html.contains("lang=\"fr\""));
        assert!(en.html.contains("lang=\"en\""));
    }
}

#[test]
fn every_kind_has_its_own_title() {
    for locale in [Locale::En, Locale::Fr] {
        let generic = render(&pb::Notice::default(), locale, "");
        let mut titles: Vec<(String, NotificationKind)> = full_notices()
            .iter()
            .map(|notice| (render(notice, locale, "").title, notice.kind()))
            .collect();
        assert!(titles.iter().all(|(title, _)| *title != generic.title));
        // Two cases of one kind may share a title; two kinds may not.
        titles.sort_by_key(|(title, kind)| (title.clone(), *kind as i32));
        titles.dedup();
        for pair in titles.windows(2) {
            assert_ne!(pair[0].0, pair[1].0, "{locale:?}: {pair:?}");
        }
    }
}

#[test]
fn missing_facts_fall_back_to_neutral_words() {
    let en = render(&pb::ConnectionRequested::default().into(), Locale::En, "");
    assert_eq!(en.title, "A member wants to connect with you");
    let fr = render(&pb::EventCancelled::default().into(), Locale::Fr, "");
    assert_eq!(fr.title, "Événement annulé");
    assert!(fr.body.starts_with("L’événement a été annulé."));
    let en = render(&pb::EventReminder::default().into(), Locale::En, "");
    assert_eq!(en.title, "Reminder: your event is coming up");
    let offered = render(&pb::WaitlistOffered::default().into(), Locale::En, "");
    assert!(!offered.body.contains("soon"), "{}", offered.body);
}
