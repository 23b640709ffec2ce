//! Every kind rendered from realistic and from empty facts, in both languages.

use chrono::{DateTime, TimeZone as _, Utc};
use rendezvous_proto::notifications::v1::{self as pb, NotificationKind};
use rendezvous_proto::prost_types::Timestamp;

use super::format::{escape, format_time};
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
}

impl Need {
    fn shown(&self, locale: Locale) -> String {
        match self {
            Need::Text(text) => (*text).to_owned(),
            Need::Time(at) => format_time(*at, ZONE, locale),
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

/// Every kind, built as its producer builds it.
fn cases() -> Vec<Case> {
    let chapter = pb::ChapterFacts {
        chapter_id: CHAPTER_ID.to_owned(),
        name: "Rendezvous Paris".to_owned(),
    };
    vec![
        Case {
            notice: pb::Welcome {
                member: Some(zoe()),
            }
            .into(),
            title: &["Zoé Martin"],
            body: vec![Need::Text("LinkedIn")],
        },
        Case {
            notice: pb::ConnectionRequested {
                request_id: REQUEST_ID.to_owned(),
                requester: Some(zoe()),
                note: "We met at the Lyon meetup.\nCoffee soon?".to_owned(),
            }
            .into(),
            title: &["Zoé Martin"],
            body: vec![
                Need::Text("Zoé Martin"),
                Need::Text("We met at the Lyon meetup.\nCoffee soon?"),
            ],
        },
        Case {
            notice: pb::ConnectionAccepted {
                member: Some(zoe()),
            }
            .into(),
            title: &["Zoé Martin"],
            body: vec![Need::Text("Zoé Martin")],
        },
        Case {
            notice: pb::EventInvitation {
                event: Some(event()),
                inviter: Some(anna()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text("Anna Dupont"), Need::Text(EVENT_TITLE)]),
        },
        Case {
            notice: pb::RsvpConfirmed {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text(EVENT_TITLE)]),
        },
        Case {
            notice: pb::RsvpWaitlisted {
                event: Some(event()),
                position: 3,
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text("3")]),
        },
        Case {
            notice: pb::WaitlistPromoted {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text(EVENT_TITLE)]),
        },
        Case {
            notice: pb::WaitlistOffered {
                event: Some(event()),
                expire_time: ts(offer_deadline()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Time(offer_deadline())]),
        },
        Case {
            notice: pb::RsvpApproved {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text(EVENT_TITLE)]),
        },
        Case {
            notice: pb::RsvpDeclined {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: vec![Need::Text(EVENT_TITLE)],
        },
        Case {
            notice: pb::EventUpdated {
                event: Some(event()),
                previous: Some(previous()),
                time_changed: true,
                venue_changed: true,
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![
                Need::Time(at(2025, 6, 4, 17, 0)),
                Need::Text("Le Progrès, 1 rue de Bretagne, 75003 Paris"),
            ]),
        },
        Case {
            notice: pb::EventCancelled {
                event: Some(event()),
                reason: "The venue closed.".to_owned(),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text("The venue closed.")]),
        },
        Case {
            notice: pb::EventReminder {
                event: Some(event()),
                minutes_before: 120,
            }
            .into(),
            title: &[EVENT_TITLE, "2"],
            body: with_event(vec![Need::Text("2")]),
        },
        Case {
            notice: pb::MetInPerson {
                member: Some(zoe()),
                event: Some(event()),
            }
            .into(),
            title: &["Zoé Martin"],
            body: vec![Need::Text("Zoé Martin"), Need::Text(EVENT_TITLE)],
        },
        Case {
            notice: pb::ConnectSuggestion {
                member: Some(zoe()),
                event: Some(event()),
            }
            .into(),
            title: &["Zoé Martin", EVENT_TITLE],
            body: vec![Need::Text("Zoé Martin"), Need::Text(EVENT_TITLE)],
        },
        Case {
            notice: pb::ChapterNewEvent {
                chapter: Some(chapter),
                event: Some(event()),
            }
            .into(),
            title: &["Rendezvous Paris", EVENT_TITLE],
            body: with_event(vec![Need::Text("Rendezvous Paris")]),
        },
        Case {
            notice: pb::EventAnnouncement {
                event: Some(event()),
                host: Some(anna()),
                message: "Bring business cards!\nThe table is at the back.".to_owned(),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![
                Need::Text("Anna Dupont"),
                Need::Text("Bring business cards!\nThe table is at the back."),
            ]),
        },
        Case {
            notice: pb::MeetingFollowUp {
                event: Some(event()),
                co_attendee_count: 7,
            }
            .into(),
            title: &[EVENT_TITLE],
            body: vec![Need::Text("7"), Need::Text(EVENT_TITLE)],
        },
        Case {
            notice: pb::RsvpPendingApproval {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: with_event(vec![Need::Text(EVENT_TITLE)]),
        },
        Case {
            notice: pb::RsvpApprovalRequested {
                event: Some(event()),
                member: Some(zoe()),
            }
            .into(),
            title: &["Zoé Martin", EVENT_TITLE],
            body: with_event(vec![Need::Text("Zoé Martin")]),
        },
        Case {
            notice: pb::WaitlistOfferExpired {
                event: Some(event()),
            }
            .into(),
            title: &[EVENT_TITLE],
            body: vec![Need::Text(EVENT_TITLE)],
        },
        Case {
            notice: pb::CoffeeProposed {
                proposal_id: EVENT_ID.to_owned(),
                member: Some(zoe()),
                city: "Paris".to_owned(),
                respond_by: ts(at(2025, 6, 3, 16, 0)),
                time_zone: ZONE.to_owned(),
            }
            .into(),
            title: &["Zoé Martin"],
            body: vec![
                Need::Text("Zoé Martin"),
                Need::Text("Paris"),
                Need::Time(at(2025, 6, 3, 16, 0)),
            ],
        },
        Case {
            notice: pb::CoffeeMatched {
                proposal_id: EVENT_ID.to_owned(),
                member: Some(zoe()),
                city: "Paris".to_owned(),
                slots: vec![
                    pb::TimeSlot {
                        start_time: ts(at(2025, 6, 10, 6, 30)),
                        end_time: ts(at(2025, 6, 10, 7, 30)),
                    },
                    pb::TimeSlot {
                        start_time: ts(at(2025, 6, 17, 6, 0)),
                        end_time: ts(at(2025, 6, 17, 7, 0)),
                    },
                ],
                time_zone: ZONE.to_owned(),
            }
            .into(),
            title: &["Zoé Martin"],
            body: vec![
                Need::Text("Zoé Martin"),
                Need::Text("Paris"),
                Need::Time(at(2025, 6, 10, 6, 30)),
                Need::Time(at(2025, 6, 17, 6, 0)),
            ],
        },
    ]
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
        let mut titles: Vec<String> = full_notices()
            .iter()
            .map(|notice| render(notice, locale, "").title)
            .collect();
        assert!(titles.iter().all(|title| *title != generic.title));
        titles.sort();
        titles.dedup();
        assert_eq!(titles.len(), all_kinds().len(), "{locale:?}");
    }
}

#[test]
fn inserted_values_are_html_escaped() {
    let hostile_event = pb::EventFacts {
        title: "Tom & \"Jerry\" <b>".to_owned(),
        ..event()
    };
    let hostile_member = pb::MemberFacts {
        display_name: "<script>alert('x')</script>".to_owned(),
        ..zoe()
    };
    let notices: Vec<pb::Notice> = vec![
        pb::ConnectionRequested {
            request_id: REQUEST_ID.to_owned(),
            requester: Some(hostile_member.clone()),
            note: "</p><script>".to_owned(),
        }
        .into(),
        pb::EventInvitation {
            event: Some(hostile_event.clone()),
            inviter: Some(hostile_member),
        }
        .into(),
        pb::EventAnnouncement {
            event: Some(hostile_event),
            host: Some(anna()),
            message: "<img src=x onerror=alert(1)>".to_owned(),
        }
        .into(),
    ];
    for notice in notices.iter().chain(&full_notices()) {
        for locale in [Locale::En, Locale::Fr] {
            let rendered = render(notice, locale, "<i>Camille</i>");
            for raw in ["<script", "<img", "<b>", "<i>", "</p><"] {
                assert!(!rendered.html.contains(raw), "{notice:?} {locale:?}: {raw}");
            }
            assert!(rendered.html.contains("&lt;i&gt;Camille&lt;/i&gt;"));
        }
    }
    let rendered = render(&notices[0], Locale::En, "");
    assert!(
        rendered
            .html
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
    );
    let rendered = render(&notices[1], Locale::En, "");
    assert!(
        rendered
            .html
            .contains("Tom &amp; &quot;Jerry&quot; &lt;b&gt;")
    );
}

#[test]
fn escape_covers_the_five_special_characters() {
    assert_eq!(
        escape(r#"<a href="x">'&'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
}

#[test]
fn text_greets_the_recipient_and_ends_with_the_preferences_footer() {
    let confirmed = find(NotificationKind::RsvpConfirmed);
    let en = render(&confirmed, Locale::En, "Camille");
    assert!(en.text.starts_with("Hello Camille,\n\n"));
    assert!(en.text.contains("notification preferences"));
    assert_eq!(en.title, "You’re going: Café networking — Le Marais");
    assert!(
        en.body
            .contains("Your place at “Café networking — Le Marais” is confirmed.")
    );
    assert!(en.body.contains(
        "When: Thursday 5 June 2025 at 08:30\n\
         Where: Le Peloton Café, 17 rue du Pont Louis-Philippe, 75004 Paris"
    ));

    let fr = render(&confirmed, Locale::Fr, "Camille");
    assert!(fr.text.starts_with("Bonjour Camille,\n\n"));
    assert!(fr.text.contains("préférences de notification"));
    assert_eq!(
        fr.title,
        "Inscription confirmée\u{a0}: Café networking — Le Marais"
    );
    assert!(
        fr.body
            .contains("«\u{a0}Café networking — Le Marais\u{a0}»")
    );
    assert!(
        fr.body
            .contains("Quand\u{a0}: jeudi 5\u{a0}juin 2025 à 8\u{a0}h\u{a0}30")
    );

    let anonymous = render(&confirmed, Locale::Fr, " ");
    assert!(anonymous.text.starts_with("Bonjour,\n\n"));
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

#[test]
fn facts_shape_the_sentences() {
    let waitlisted = render(&find(NotificationKind::RsvpWaitlisted), Locale::En, "");
    assert!(waitlisted.body.contains("waiting list (position 3)."));
    let waitlisted = render(&find(NotificationKind::RsvpWaitlisted), Locale::Fr, "");
    assert!(
        waitlisted
            .body
            .contains("liste d’attente (position\u{a0}3).")
    );
    let reminder = render(&find(NotificationKind::EventReminder), Locale::Fr, "");
    assert_eq!(
        reminder.title,
        "Rappel\u{a0}: Café networking — Le Marais commence dans 2\u{a0}heures"
    );
    let updated = render(&find(NotificationKind::EventUpdated), Locale::Fr, "");
    assert!(
        updated
            .body
            .contains("Ce qui change\u{a0}: horaire et lieu")
    );
    assert!(updated.body.contains(
        "Nouvel horaire\u{a0}: jeudi 5\u{a0}juin 2025 à 8\u{a0}h\u{a0}30 (au lieu de \
         mercredi 4\u{a0}juin 2025 à 19\u{a0}h\u{a0}00)"
    ));
    let updated = render(&find(NotificationKind::EventUpdated), Locale::En, "");
    assert!(updated.body.contains(
        "New venue: Le Peloton Café, 17 rue du Pont Louis-Philippe, 75004 Paris (instead of \
         Le Progrès, 1 rue de Bretagne, 75003 Paris)"
    ));
    let only_time = pb::Notice::from(pb::EventUpdated {
        event: Some(event()),
        previous: Some(previous()),
        time_changed: true,
        venue_changed: false,
    });
    let updated = render(&only_time, Locale::En, "");
    assert!(updated.body.contains("What changed: time\n"));
    assert!(!updated.body.contains("New venue"));
    let offered = render(&find(NotificationKind::WaitlistOffered), Locale::En, "");
    assert!(
        offered
            .body
            .contains("Claim it before Wednesday 4 June 2025 at 18:00, or")
    );
    let offered = render(&find(NotificationKind::WaitlistOffered), Locale::Fr, "");
    assert!(
        offered
            .body
            .contains("avant le mercredi 4\u{a0}juin 2025 à 18\u{a0}h\u{a0}00, sinon")
    );
    let follow_up = render(&find(NotificationKind::MeetingFollowUp), Locale::En, "");
    assert!(follow_up.body.contains("7 other people checked in"));
    let announcement = render(&find(NotificationKind::EventAnnouncement), Locale::En, "");
    assert!(announcement.body.starts_with(
        "Anna Dupont sent a message to the attendees of “Café networking — Le Marais”:"
    ));
    assert!(
        announcement
            .html
            .contains("Bring business cards!<br>\nThe table is at the back.")
    );
    let invitation = render(&find(NotificationKind::EventInvitation), Locale::Fr, "");
    assert!(invitation.body.starts_with("Anna Dupont vous invite à"));
    let cancelled = render(&find(NotificationKind::EventCancelled), Locale::En, "");
    assert!(cancelled.body.contains("Reason: The venue closed."));
}

#[test]
fn reminders_say_how_long_before_the_start() {
    let rows = [
        (1440, Locale::En, "starts in 24 hours"),
        (1440, Locale::Fr, "commence dans 24\u{a0}heures"),
        (120, Locale::En, "starts in 2 hours"),
        (120, Locale::Fr, "commence dans 2\u{a0}heures"),
        (60, Locale::En, "starts in 1 hour"),
        (60, Locale::Fr, "commence dans 1\u{a0}heure"),
        (90, Locale::En, "starts in 90 minutes"),
        (5, Locale::En, "starts in 5 minutes"),
        (5, Locale::Fr, "commence dans 5\u{a0}minutes"),
        (1, Locale::En, "starts in 1 minute"),
    ];
    for (minutes, locale, words) in rows {
        let notice = pb::Notice::from(pb::EventReminder {
            event: Some(event()),
            minutes_before: minutes,
        });
        let message = render(&notice, locale, "");
        assert!(
            message.title.ends_with(words),
            "{minutes} {locale:?}: {}",
            message.title
        );
        assert!(
            message.body.contains(words),
            "{minutes} {locale:?}: {}",
            message.body
        );
    }
}

#[test]
fn titles_stay_on_one_line() {
    let notice = pb::Notice::from(pb::EventInvitation {
        event: Some(pb::EventFacts {
            title: "Line one\r\nLine two".to_owned(),
            ..event()
        }),
        inviter: Some(anna()),
    });
    let rendered = render(&notice, Locale::En, "");
    assert_eq!(rendered.title, "You’re invited: Line one Line two");
}

#[test]
fn times_are_shown_in_the_events_zone_with_french_premier() {
    let new_year = at(2026, 1, 1, 8, 5);
    assert_eq!(
        format_time(new_year, "Europe/Paris", Locale::Fr),
        "jeudi 1er\u{a0}janvier 2026 à 9\u{a0}h\u{a0}05"
    );
    assert_eq!(
        format_time(new_year, "America/New_York", Locale::En),
        "Thursday 1 January 2026 at 03:05"
    );
    assert_eq!(
        format_time(new_year, "Mars/Olympus", Locale::En),
        "Thursday 1 January 2026 at 08:05 UTC"
    );
    assert_eq!(
        format_time(new_year, "", Locale::Fr),
        "jeudi 1er\u{a0}janvier 2026 à 8\u{a0}h\u{a0}05 UTC"
    );
}

#[test]
fn locale_parse_reads_french_tags_and_defaults_to_english() {
    for tag in ["fr", "FR", "fr-FR", "fr_CA", " fr "] {
        assert_eq!(Locale::parse(tag), Locale::Fr, "{tag}");
    }
    for tag in ["", "en", "en-GB", "de", "f", "é"] {
        assert_eq!(Locale::parse(tag), Locale::En, "{tag}");
    }
}

#[test]
fn a_notification_stored_before_notices_is_emailed_as_its_inbox_item_reads() {
    let url = "https://rendezvous.example/unsubscribe?token=a.b.c";
    let confirmed = render_email(
        &find(NotificationKind::RsvpConfirmed),
        Locale::Fr,
        "Camille",
        url,
    );
    let again = render_stored(
        &confirmed.title,
        &confirmed.body,
        Locale::Fr,
        "Camille",
        url,
    );
    assert_eq!(again, confirmed);
}

#[test]
fn emails_end_with_an_unsubscribe_link_and_the_inbox_does_not_show_it() {
    let url = "https://rendezvous.example/unsubscribe?token=a.b.c&x=<y>";
    let notice = find(NotificationKind::RsvpConfirmed);
    let plain = render(&notice, Locale::En, "Camille");
    assert!(!plain.text.contains("Unsubscribe"), "{}", plain.text);
    assert!(!plain.html.contains("Unsubscribe"), "{}", plain.html);

    let en = render_email(&notice, Locale::En, "Camille", url);
    assert_eq!((&en.title, &en.body), (&plain.title, &plain.body));
    assert!(
        en.text
            .ends_with(&format!("\nUnsubscribe from emails like this one: {url}\n")),
        "{}",
        en.text
    );
    assert!(
        en.html.contains(
            "<a href=\"https://rendezvous.example/unsubscribe?token=a.b.c&amp;x=&lt;y&gt;\" \
             style=\"color:#6b7280;\">Unsubscribe from emails like this one</a>"
        ),
        "{}",
        en.html
    );
    let fr = render_email(&notice, Locale::Fr, "Camille", url);
    assert!(
        fr.text.ends_with(&format!(
            "\nSe désabonner des e-mails de ce type\u{a0}: {url}\n"
        )),
        "{}",
        fr.text
    );
    assert!(
        fr.html
            .contains(">Se désabonner des e-mails de ce type</a>")
    );
}
