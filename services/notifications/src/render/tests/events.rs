//! Cases and wording of the kinds about an event as a whole: invitations, changes,
//! cancellations, reminders, chapters' new events, announcements and follow-ups.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    let chapter = pb::ChapterFacts {
        chapter_id: CHAPTER_ID.to_owned(),
        name: "Rendezvous Paris".to_owned(),
    };
    vec![
        Case {
            notice: pb::ChapterDormant {
                chapter: Some(pb::ChapterFacts {
                    chapter_id: CHAPTER_ID.to_owned(),
                    name: "Rendezvous Paris".to_owned(),
                }),
                last_event_time: ts(start()),
                days_quiet: 64,
                members: 42,
                time_zone: ZONE.to_owned(),
            }
            .into(),
            title: &["Rendezvous Paris", "64"],
            body: vec![Need::Time(start()), Need::Text("42")],
        },
        Case {
            notice: pb::WantToMeetMutual {
                event: Some(event()),
                member: Some(anna()),
            }
            .into(),
            title: &["Anna Dupont", EVENT_TITLE],
            body: with_event(vec![Need::Text("Anna Dupont"), Need::Text(EVENT_TITLE)]),
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
    ]
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
fn two_who_hope_to_meet_are_told_of_each_other_and_that_nobody_else_knows() {
    let notice: pb::Notice = pb::WantToMeetMutual {
        event: Some(event()),
        member: Some(pb::MemberFacts {
            member_id: MEMBER_ID.to_owned(),
            display_name: "Karim".to_owned(),
        }),
    }
    .into();
    let en = render(&notice, Locale::En, "Anna");
    assert_eq!(
        en.title,
        "Karim also hopes to meet you at Café networking — Le Marais"
    );
    assert!(
        en.body.starts_with(
            "You marked each other as someone you hope to meet at “Café networking — Le \
             Marais”: Karim is going, and hopes to meet you there too."
        ),
        "{}",
        en.body
    );
    assert!(en.body.contains("Only the two of you know."), "{}", en.body);
    let fr = render(&notice, Locale::Fr, "Anna");
    assert_eq!(
        fr.title,
        "Karim espère aussi vous rencontrer à Café networking — Le Marais"
    );
    assert!(fr.body.contains("Vous seuls le savez."), "{}", fr.body);
    // Without a name, a neutral "a member", capitalised at the start.
    let nameless: pb::Notice = pb::WantToMeetMutual {
        event: Some(event()),
        member: None,
    }
    .into();
    assert!(
        render(&nameless, Locale::En, "")
            .title
            .starts_with("A member also hopes")
    );
    assert!(
        render(&nameless, Locale::Fr, "")
            .title
            .starts_with("Un membre espère aussi")
    );
}

#[test]
fn a_quiet_chapter_tells_its_organisers_how_long_and_who_waits() {
    let notice: pb::Notice = pb::ChapterDormant {
        chapter: Some(pb::ChapterFacts {
            chapter_id: CHAPTER_ID.to_owned(),
            name: "Rendezvous Paris".to_owned(),
        }),
        last_event_time: ts(start()),
        days_quiet: 61,
        members: 12,
        time_zone: ZONE.to_owned(),
    }
    .into();
    let en = render(&notice, Locale::En, "Hana");
    assert_eq!(en.title, "Rendezvous Paris has had no event for 61 days");
    assert_eq!(
        en.body,
        "Its last event started on Thursday 5 June 2025 at 08:30.\n\n\
         Its 12 members are waiting for the next: publish an event to bring them together again."
    );
    let fr = render(&notice, Locale::Fr, "Hana");
    assert_eq!(
        fr.title,
        "Rendezvous Paris\u{a0}: aucun événement depuis 61\u{a0}jours"
    );
    assert!(
        fr.body.contains("Ses 12\u{a0}membres attendent"),
        "{}",
        fr.body
    );
}
