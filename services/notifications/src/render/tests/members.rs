//! Cases of the kinds about other members: welcome, connection requests and acceptances,
//! meetings in person, suggestions to connect, and nudges to see a connection again.

use pb::remeet_nudge::Suggestion;

use super::*;

const NUDGE_ID: &str = "0197a6f2-0000-7000-8000-000000000007";
const PROPOSAL_ID: &str = "0197a6f2-0000-7000-8000-000000000006";

/// 23:30 in UTC, already the next day (Friday 15 November 2024) in Paris.
fn last_met() -> DateTime<Utc> {
    at(2024, 11, 14, 23, 30)
}

/// A nudge to see Zoé again, as members sends it.
fn nudge(member: Option<pb::MemberFacts>, suggestion: Suggestion) -> pb::Notice {
    pb::RemeetNudge {
        nudge_id: NUDGE_ID.to_owned(),
        member,
        last_met_time: ts(last_met()),
        time_zone: ZONE.to_owned(),
        suggestion: Some(suggestion),
    }
    .into()
}

pub(super) fn cases() -> Vec<Case> {
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
            notice: nudge(Some(zoe()), Suggestion::Event(event())),
            title: &["Zoé Martin"],
            body: with_event(vec![
                Need::Text("Zoé Martin"),
                Need::Day(last_met()),
                Need::Text(EVENT_TITLE),
            ]),
        },
        Case {
            notice: nudge(
                Some(zoe()),
                Suggestion::CoffeeProposalId(PROPOSAL_ID.to_owned()),
            ),
            title: &["Zoé Martin"],
            body: vec![Need::Text("Zoé Martin"), Need::Day(last_met())],
        },
    ]
}

#[test]
fn a_remeet_nudge_says_when_they_last_met_and_suggests_an_event_both_could_go_to() {
    let karim = pb::MemberFacts {
        member_id: MEMBER_ID.to_owned(),
        display_name: "Karim".to_owned(),
    };
    let notice = nudge(Some(karim), Suggestion::Event(event()));
    let en = render(&notice, Locale::En, "Anna");
    assert_eq!(en.title, "See Karim again?");
    assert_eq!(
        en.body,
        "You and Karim last met in person on Friday 15 November 2024.\n\n\
         An event is coming up that you could both go to: “Café networking — Le Marais”.\n\n\
         When: Thursday 5 June 2025 at 08:30\n\
         Where: Le Peloton Café, 17 rue du Pont Louis-Philippe, 75004 Paris\n\n\
         Only you get this suggestion: Karim is not told of it. Not the right time? Dismiss \
         it, and you will get no other suggestion about Karim until you next meet in person."
    );
    let fr = render(&notice, Locale::Fr, "Anna");
    assert_eq!(fr.title, "Revoir Karim\u{202f}?");
    assert_eq!(
        fr.body,
        "Votre dernière rencontre en personne avec Karim remonte au vendredi \
         15\u{a0}novembre 2024.\n\n\
         Un événement approche où vous pourriez aller tous les deux\u{a0}: «\u{a0}Café \
         networking — Le Marais\u{a0}».\n\n\
         Quand\u{a0}: jeudi 5\u{a0}juin 2025 à 8\u{a0}h\u{a0}30\n\
         Où\u{a0}: Le Peloton Café, 17 rue du Pont Louis-Philippe, 75004 Paris\n\n\
         Cette suggestion n’est envoyée qu’à vous\u{a0}: Karim n’en sait rien. Ce n’est pas \
         le moment\u{202f}? Masquez-la, et vous n’en recevrez plus au sujet de Karim avant \
         votre prochaine rencontre."
    );
}

#[test]
fn a_remeet_nudge_with_a_coffee_points_to_the_proposal_made_to_both() {
    let karim = pb::MemberFacts {
        member_id: MEMBER_ID.to_owned(),
        display_name: "Karim".to_owned(),
    };
    let notice = nudge(
        Some(karim),
        Suggestion::CoffeeProposalId(PROPOSAL_ID.to_owned()),
    );
    let en = render(&notice, Locale::En, "Anna");
    assert_eq!(en.title, "See Karim again?");
    assert_eq!(
        en.body,
        "You and Karim last met in person on Friday 15 November 2024.\n\n\
         Rendezvous has proposed a coffee to you both: accept or decline it in your coffee \
         proposals. Unless you both accept, nobody is told who answered what.\n\n\
         Only you get this suggestion: Karim is not told of it. Not the right time? Dismiss \
         it, and you will get no other suggestion about Karim until you next meet in person."
    );
    let fr = render(&notice, Locale::Fr, "Anna");
    assert_eq!(fr.title, "Revoir Karim\u{202f}?");
    assert_eq!(
        fr.body,
        "Votre dernière rencontre en personne avec Karim remonte au vendredi \
         15\u{a0}novembre 2024.\n\n\
         Rendezvous vous a proposé un café à tous les deux\u{a0}: acceptez ou déclinez-le dans \
         vos propositions de café. Sauf si vous acceptez tous les deux, personne ne saura qui \
         a répondu quoi.\n\n\
         Cette suggestion n’est envoyée qu’à vous\u{a0}: Karim n’en sait rien. Ce n’est pas \
         le moment\u{202f}? Masquez-la, et vous n’en recevrez plus au sujet de Karim avant \
         votre prochaine rencontre."
    );
}

#[test]
fn a_remeet_nudge_missing_its_facts_still_reads_well() {
    let bare: pb::Notice = pb::RemeetNudge {
        suggestion: Some(Suggestion::Event(pb::EventFacts::default())),
        ..Default::default()
    }
    .into();
    let en = render(&bare, Locale::En, "");
    assert_eq!(en.title, "See a member again?");
    assert!(
        en.body.starts_with(
            "You and a member have not met in person for a while.\n\n\
             An event is coming up that you could both go to.\n\n"
        ),
        "{}",
        en.body
    );
    let fr = render(&bare, Locale::Fr, "");
    assert_eq!(fr.title, "Revoir un membre\u{202f}?");
    assert!(
        fr.body
            .starts_with("Vous n’avez pas revu un membre en personne depuis un moment."),
        "{}",
        fr.body
    );
    // No suggestion at all: the nudge still says who and how to dismiss it.
    let none = render(&pb::RemeetNudge::default().into(), Locale::En, "");
    assert!(none.body.contains("Dismiss it"), "{}", none.body);
    assert!(!none.body.contains("coffee"), "{}", none.body);
}
