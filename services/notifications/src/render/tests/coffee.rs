//! Cases and wording of the coffee kinds: proposed (to two who have not met, or again from a
//! re-meet nudge), matched, booked.

use super::*;

/// Thursday 12 June 2025, 08:30 in Paris.
fn coffee_start() -> DateTime<Utc> {
    at(2025, 6, 12, 6, 30)
}

/// The private event of a booked coffee, at a venue with its address.
fn coffee_event() -> pb::EventFacts {
    pb::EventFacts {
        event_id: EVENT_ID.to_owned(),
        title: "Coffee: Camille Laurent and Zoé Martin".to_owned(),
        start_time: ts(coffee_start()),
        end_time: ts(at(2025, 6, 12, 7, 30)),
        time_zone: ZONE.to_owned(),
        venue_name: "Café Saint-Paul".to_owned(),
        venue_address: "12 rue Saint-Paul, 75004 Paris".to_owned(),
        city: "Paris".to_owned(),
    }
}

/// The coffee with Zoé, as events tells the other member of it.
fn scheduled(event: pb::EventFacts, venue_suggested: bool) -> pb::Notice {
    pb::CoffeeScheduled {
        event: Some(event),
        member: Some(zoe()),
        venue_suggested,
    }
    .into()
}

/// The coffee's event without a venue (none chosen, none to suggest).
fn without_venue() -> pb::EventFacts {
    pb::EventFacts {
        venue_name: String::new(),
        venue_address: String::new(),
        ..coffee_event()
    }
}

/// A suggested venue known by its name alone.
fn without_address() -> pb::EventFacts {
    pb::EventFacts {
        venue_address: String::new(),
        ..coffee_event()
    }
}

/// Tuesday 4 March 2025, when Zoé and the recipient last met.
fn met_before() -> DateTime<Utc> {
    at(2025, 3, 4, 18, 0)
}

/// A coffee proposed by a re-meet nudge: the two met before.
fn proposed_again() -> pb::Notice {
    pb::CoffeeProposed {
        proposal_id: EVENT_ID.to_owned(),
        member: Some(zoe()),
        city: "Paris".to_owned(),
        respond_by: ts(at(2025, 6, 3, 16, 0)),
        time_zone: ZONE.to_owned(),
        last_met_time: ts(met_before()),
    }
    .into()
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            notice: pb::CoffeeProposed {
                proposal_id: EVENT_ID.to_owned(),
                member: Some(zoe()),
                city: "Paris".to_owned(),
                respond_by: ts(at(2025, 6, 3, 16, 0)),
                time_zone: ZONE.to_owned(),
                last_met_time: None,
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
            notice: proposed_again(),
            title: &["Zoé Martin"],
            body: vec![
                Need::Text("Zoé Martin"),
                Need::Day(met_before()),
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
        Case {
            notice: scheduled(coffee_event(), false),
            title: &["Zoé Martin"],
            body: vec![
                Need::Text("Zoé Martin"),
                Need::Time(coffee_start()),
                Need::Text("Café Saint-Paul"),
                Need::Text("12 rue Saint-Paul, 75004 Paris"),
            ],
        },
    ]
}

#[test]
fn a_coffee_proposed_to_two_who_met_before_says_when_they_last_met() {
    let en = render(&proposed_again(), Locale::En, "Camille");
    assert_eq!(en.title, "A coffee with Zoé Martin?");
    assert!(
        en.body.starts_with(
            "You and Zoé Martin last met in person on Tuesday 4 March 2025. Would you like to \
             meet again for a coffee?\n\n"
        ),
        "{}",
        en.body
    );
    assert!(!en.body.contains("not met"), "{}", en.body);
    let fr = render(&proposed_again(), Locale::Fr, "Camille");
    assert!(
        fr.body.starts_with(
            "Votre dernière rencontre en personne avec Zoé Martin remonte au mardi \
             4\u{a0}mars 2025. Envie de vous revoir autour d’un café\u{202f}?\n\n"
        ),
        "{}",
        fr.body
    );
    assert!(!fr.body.contains("pas encore"), "{}", fr.body);
    // A proposal to two who never met still says so.
    let first: pb::Notice = pb::CoffeeProposed {
        member: Some(zoe()),
        ..Default::default()
    }
    .into();
    let en = render(&first, Locale::En, "");
    assert!(
        en.body
            .starts_with("You and Zoé Martin are connected but have not met in person yet."),
        "{}",
        en.body
    );
}

#[test]
fn a_booked_coffee_says_when_and_where_in_the_events_zone() {
    let en = render(&scheduled(coffee_event(), false), Locale::En, "Camille");
    assert_eq!(
        en.title,
        "Coffee with Zoé Martin on Thursday 12 June 2025 at 08:30"
    );
    assert_eq!(
        en.body,
        "You and Zoé Martin meet for a coffee on Thursday 12 June 2025 at 08:30.\n\n\
         Where: Café Saint-Paul, 12 rue Saint-Paul, 75004 Paris\n\n\
         Like any event, it is in your calendar and you get its reminders. Afterwards, you \
         will both be asked whether you met."
    );
    let fr = render(&scheduled(coffee_event(), false), Locale::Fr, "Camille");
    assert_eq!(
        fr.title,
        "Café avec Zoé Martin le jeudi 12\u{a0}juin 2025 à 8\u{a0}h\u{a0}30"
    );
    assert_eq!(
        fr.body,
        "Vous retrouvez Zoé Martin pour un café le jeudi 12\u{a0}juin 2025 à 8\u{a0}h\u{a0}30.\n\n\
         Où\u{a0}: Café Saint-Paul, 12 rue Saint-Paul, 75004 Paris\n\n\
         Comme tout événement, il figure dans votre agenda et vous en recevez les rappels. \
         Ensuite, on vous demandera à tous deux si vous vous êtes rencontrés."
    );
    // In New York the same coffee is at 02:30 there.
    let far = scheduled(
        pb::EventFacts {
            time_zone: "America/New_York".to_owned(),
            ..coffee_event()
        },
        false,
    );
    let en = render(&far, Locale::En, "");
    assert!(
        en.title.ends_with("Thursday 12 June 2025 at 02:30"),
        "{}",
        en.title
    );
}

#[test]
fn a_suggested_venue_is_said_to_be_a_suggestion() {
    let en = render(&scheduled(coffee_event(), true), Locale::En, "");
    assert!(
        en.body.contains(
            "Rendezvous suggests Café Saint-Paul, 12 rue Saint-Paul, 75004 Paris, a place of \
             past coffees in Paris; agree on another between you if you like."
        ),
        "{}",
        en.body
    );
    assert!(!en.body.contains("Where:"), "{}", en.body);
    let fr = render(&scheduled(coffee_event(), true), Locale::Fr, "");
    assert!(
        fr.body.contains(
            "Rendezvous vous suggère Café Saint-Paul, 12 rue Saint-Paul, 75004 Paris, où se sont \
             déjà tenus d’autres cafés à Paris\u{202f}; choisissez ensemble un autre endroit si \
             vous le souhaitez."
        ),
        "{}",
        fr.body
    );
    assert!(!fr.body.contains("Où\u{a0}:"), "{}", fr.body);
    // Without an address the city is said once.
    let en = render(&scheduled(without_address(), true), Locale::En, "");
    assert!(
        en.body
            .contains("Rendezvous suggests Café Saint-Paul, a place of past coffees in Paris;"),
        "{}",
        en.body
    );
    let nowhere = pb::EventFacts {
        city: String::new(),
        ..without_address()
    };
    let fr = render(&scheduled(nowhere, true), Locale::Fr, "");
    assert!(
        fr.body.contains(
            "Rendezvous vous suggère Café Saint-Paul, où se sont déjà tenus d’autres \
             cafés\u{202f};"
        ),
        "{}",
        fr.body
    );
}

#[test]
fn without_a_venue_the_two_agree_on_a_place() {
    // Suggested or not, an empty venue name is no place.
    for suggested in [false, true] {
        let notice = scheduled(without_venue(), suggested);
        let en = render(&notice, Locale::En, "");
        assert!(
            en.body
                .contains("No place is set yet: agree between you on where to meet in Paris."),
            "{}",
            en.body
        );
        assert!(!en.body.contains("Where:"), "{}", en.body);
        assert!(!en.body.contains("suggests"), "{}", en.body);
        let fr = render(&notice, Locale::Fr, "");
        assert!(
            fr.body.contains(
                "Aucun lieu n’est encore fixé\u{a0}: convenez entre vous d’un endroit où vous \
                 retrouver à Paris."
            ),
            "{}",
            fr.body
        );
        assert!(!fr.body.contains("Où\u{a0}:"), "{}", fr.body);
    }
    let nowhere = pb::EventFacts {
        city: String::new(),
        ..without_venue()
    };
    let en = render(&scheduled(nowhere, false), Locale::En, "");
    assert!(
        en.body
            .contains("No place is set yet: agree between you on where to meet.\n"),
        "{}",
        en.body
    );
}

#[test]
fn every_booked_coffee_renders_cleanly_in_both_languages() {
    let no_time = pb::EventFacts {
        start_time: None,
        ..coffee_event()
    };
    let notices = [
        scheduled(coffee_event(), false),
        scheduled(coffee_event(), true),
        scheduled(without_address(), true),
        scheduled(without_venue(), false),
        scheduled(without_venue(), true),
        scheduled(no_time, false),
        pb::CoffeeScheduled {
            event: Some(coffee_event()),
            member: None,
            venue_suggested: true,
        }
        .into(),
    ];
    for notice in &notices {
        let en = render_email(
            notice,
            Locale::En,
            "Camille",
            "https://rendezvous.example/u",
        );
        let fr = render_email(
            notice,
            Locale::Fr,
            "Camille",
            "https://rendezvous.example/u",
        );
        for (locale, rendered) in [(Locale::En, &en), (Locale::Fr, &fr)] {
            let context = format!("{locale:?} {notice:?}");
            for (part, text) in [
                ("title", &rendered.title),
                ("body", &rendered.body),
                ("text email", &rendered.text),
                ("HTML email", &rendered.html),
            ] {
                assert_clean(part, text, &context);
            }
            assert!(rendered.text.contains(&rendered.body), "{context}");
            assert!(
                rendered.body.contains(locale.en_fr("calendar", "agenda")),
                "{context}"
            );
        }
        assert_ne!(en.title, fr.title);
        assert_ne!(en.body, fr.body);
    }
    let en = render(&notices[5], Locale::En, "");
    assert_eq!(en.title, "Your coffee with Zoé Martin is booked");
    let fr = render(&notices[6], Locale::Fr, "");
    assert!(
        fr.title.starts_with("Café avec un membre le jeudi 12"),
        "{}",
        fr.title
    );
}
