//! Kinds about other members: welcome, connection requests and acceptances, meetings in
//! person, suggestions to connect, coffees (proposed, matched, booked), and nudges to see a
//! connection again.

use rendezvous_proto::notifications::v1 as pb;

use super::format::{
    Said, cap, event_title, member_name, multiline, non_empty, one_line, text, venue,
};
use super::{Locale, Message};

pub(super) fn welcome(l: Locale, n: &pb::Welcome, recipient_name: &str) -> Message {
    let name = member_name(n.member.as_ref()).or_else(|| non_empty(one_line(recipient_name)));
    match l {
        Locale::En => Message::new(match name {
            Some(name) => format!("Welcome to Rendezvous, {name}"),
            None => "Welcome to Rendezvous".to_owned(),
        })
        .para(
            "Your account is ready. Rendezvous turns online contacts into people you have \
             actually met: join the chapter of your city, RSVP to a coffee or a drink, and see \
             whom you have really met."
                .to_owned(),
        )
        .para(
            "Start by completing your profile and importing your LinkedIn connections to see \
             who is already here."
                .to_owned(),
        ),
        Locale::Fr => Message::new(match name {
            Some(name) => format!("Bienvenue sur Rendezvous, {name}"),
            None => "Bienvenue sur Rendezvous".to_owned(),
        })
        .para(
            "Votre compte est prêt. Rendezvous transforme vos contacts en ligne en personnes \
             que vous avez vraiment rencontrées\u{a0}: rejoignez le chapitre de votre ville, \
             inscrivez-vous à un café ou à un apéro, et voyez qui vous avez réellement rencontré."
                .to_owned(),
        )
        .para(
            "Commencez par compléter votre profil et importer vos relations LinkedIn pour voir \
             qui est déjà là."
                .to_owned(),
        ),
    }
}

pub(super) fn connection_requested(l: Locale, n: &pb::ConnectionRequested) -> Message {
    let member = cap(&l.member(n.requester.as_ref()));
    let note = multiline(&n.note);
    match l {
        Locale::En => Message::new(format!("{member} wants to connect with you"))
            .para(format!("{member} asked to connect with you on Rendezvous."))
            .para_opt(note.map(|note| format!("Their note: “{note}”")))
            .para("Accept or decline the request in your connection requests.".to_owned()),
        Locale::Fr => Message::new(format!("{member} souhaite entrer en relation avec vous"))
            .para(format!(
                "{member} vous a envoyé une demande de mise en relation sur Rendezvous."
            ))
            .para_opt(note.map(|note| format!("Son message\u{a0}: «\u{a0}{note}\u{a0}»")))
            .para(
                "Acceptez ou refusez la demande dans vos demandes de mise en relation.".to_owned(),
            ),
    }
}

pub(super) fn connection_accepted(l: Locale, n: &pb::ConnectionAccepted) -> Message {
    let member = l.member(n.member.as_ref());
    match l {
        Locale::En => Message::new(format!("{} accepted your connection request", cap(&member)))
            .para(format!(
                "You and {member} are now connected. Next step: meeting in person. Look out for \
                 an event you could both go to."
            )),
        Locale::Fr => Message::new(format!(
            "{} a accepté votre demande de mise en relation",
            cap(&member)
        ))
        .para(format!(
            "Vous êtes désormais en relation avec {member}. Prochaine étape\u{a0}: vous \
             rencontrer en personne, par exemple lors d’un prochain événement."
        )),
    }
}

pub(super) fn met_in_person(l: Locale, n: &pb::MetInPerson) -> Message {
    let member = l.member(n.member.as_ref());
    let event = event_title(n.event.as_ref()).map(|_| l.event(n.event.as_ref()));
    match l {
        Locale::En => Message::new(format!("You met {member} in person"))
            .para(format!(
                "You and {member} are now marked as met in person{}.",
                event
                    .map(|event| format!(" at {event}"))
                    .unwrap_or_default()
            ))
            .para(
                "Only the two of you can see it, and it counts towards your real-life ratio."
                    .to_owned(),
            ),
        Locale::Fr => Message::new(format!("Vous avez rencontré {member} en personne"))
            .para(format!(
                "Votre rencontre en personne avec {member}{} est désormais enregistrée.",
                event
                    .map(|event| format!(" lors de {event}"))
                    .unwrap_or_default()
            ))
            .para(
                "Elle n’est visible que par vous deux et compte dans votre taux de rencontres \
                 réelles."
                    .to_owned(),
            ),
    }
}

pub(super) fn connect_suggestion(l: Locale, n: &pb::ConnectSuggestion) -> Message {
    let member = l.member(n.member.as_ref());
    let title = event_title(n.event.as_ref());
    let event = title.as_ref().map(|_| l.event(n.event.as_ref()));
    match l {
        Locale::En => Message::new(match &title {
            Some(title) => format!("You met {member} at {title}: connect?"),
            None => format!("You met {member}: connect?"),
        })
        .para(format!(
            "You and {member} were both at {}, but you are not connected yet. Send a \
             connection request to stay in touch.",
            event.unwrap_or_else(|| "the same event".to_owned())
        )),
        Locale::Fr => Message::new(match &title {
            Some(title) => {
                format!("Vous avez rencontré {member} à {title}\u{a0}: entrer en relation\u{202f}?")
            }
            None => format!("Vous avez rencontré {member}\u{a0}: entrer en relation\u{202f}?"),
        })
        .para(format!(
            "{} et vous étiez {}, mais vous n’êtes pas encore en relation. Envoyez une demande \
             de mise en relation pour garder le contact.",
            cap(&member),
            event.map_or_else(
                || "au même événement".to_owned(),
                |event| format!("à {event}")
            )
        )),
    }
}

/// "You and Karim last met in person on …", when the day is known.
fn last_met(l: Locale, member: &str, day: Option<String>) -> Option<String> {
    let day = day?;
    Some(match l {
        Locale::En => format!("You and {member} last met in person on {day}."),
        Locale::Fr => {
            format!("Votre dernière rencontre en personne avec {member} remonte au {day}.")
        }
    })
}

pub(super) fn coffee_proposed(l: Locale, n: &pb::CoffeeProposed) -> Message {
    let member = l.member(n.member.as_ref());
    let city = non_empty(one_line(&n.city));
    let deadline = n
        .respond_by
        .as_ref()
        .and_then(|at| l.time_in(at, &n.time_zone));
    // Set only when the proposal comes from a re-meet nudge: the two met before.
    let met_before = n.last_met_time.as_ref().map(|at| {
        let day = l.date_in(at, &n.time_zone);
        last_met(l, &member, day)
    });
    match l {
        Locale::En => Message::new(format!("A coffee with {member}?"))
            .para(match (met_before, city) {
                (Some(Some(met)), _) => {
                    format!("{met} Would you like to meet again for a coffee?")
                }
                (Some(None), _) => format!(
                    "You and {member} have met in person before. Would you like to meet again \
                     for a coffee?"
                ),
                (None, Some(city)) => format!(
                    "You and {member} are connected and both in {city}, but you have not met in \
                     person yet. Would you like to meet for a coffee?"
                ),
                (None, None) => format!(
                    "You and {member} are connected but have not met in person yet. Would you \
                     like to meet for a coffee?"
                ),
            })
            .para(match deadline {
                Some(deadline) => format!("Accept or decline before {deadline}."),
                None => "Accept or decline it in your coffee proposals.".to_owned(),
            })
            .para(
                "If you both accept, Rendezvous suggests times that suit you both and a place. \
                 If not, nobody is told who answered what."
                    .to_owned(),
            ),
        Locale::Fr => Message::new(format!("Un café avec {member}\u{202f}?"))
            .para(match (met_before, city) {
                (Some(Some(met)), _) => {
                    format!("{met} Envie de vous revoir autour d’un café\u{202f}?")
                }
                (Some(None), _) => format!(
                    "Vous avez déjà rencontré {member} en personne. Envie de vous revoir autour \
                     d’un café\u{202f}?"
                ),
                (None, Some(city)) => format!(
                    "Vous êtes en relation avec {member} et vivez tous deux à {city}, mais vous \
                     ne vous êtes pas encore rencontrés. Un café\u{202f}?"
                ),
                (None, None) => format!(
                    "Vous êtes en relation avec {member}, mais vous ne vous êtes pas encore \
                     rencontrés. Un café\u{202f}?"
                ),
            })
            .para(match deadline {
                Some(deadline) => format!("Acceptez ou déclinez avant le {deadline}."),
                None => "Acceptez ou déclinez-le dans vos propositions de café.".to_owned(),
            })
            .para(
                "Si vous acceptez tous les deux, Rendezvous vous propose des horaires qui vous \
                 conviennent à tous deux et un lieu. Sinon, personne ne saura qui a répondu quoi."
                    .to_owned(),
            ),
    }
}

pub(super) fn remeet_nudge(l: Locale, n: &pb::RemeetNudge) -> Message {
    use pb::remeet_nudge::Suggestion;

    let member = l.member(n.member.as_ref());
    let day = n
        .last_met_time
        .as_ref()
        .and_then(|at| l.date_in(at, &n.time_zone));
    let met = last_met(l, &member, day);
    let event = match &n.suggestion {
        Some(Suggestion::Event(event)) => Some(event),
        _ => None,
    };
    let coffee = matches!(n.suggestion, Some(Suggestion::CoffeeProposalId(_)));
    // The event to go to, by its title when it has one.
    let going = event.map(|event| event_title(Some(event)).map(|title| l.quote(&title)));
    match l {
        Locale::En => Message::new(format!("See {member} again?"))
            .para(
                met.unwrap_or_else(|| {
                    format!("You and {member} have not met in person for a while.")
                }),
            )
            .para_opt(going.map(|going| match going {
                Some(name) => format!("An event is coming up that you could both go to: {name}."),
                None => "An event is coming up that you could both go to.".to_owned(),
            }))
            .para_opt(l.details(event, None))
            .para_opt(coffee.then(|| {
                "Rendezvous has proposed a coffee to you both: accept or decline it in your \
                 coffee proposals. Unless you both accept, nobody is told who answered what."
                    .to_owned()
            }))
            .para(format!(
                "Only you get this suggestion: {member} is not told of it. Not the right time? \
                 Dismiss it, and you will get no other suggestion about {member} until you next \
                 meet in person."
            )),
        Locale::Fr => Message::new(format!("Revoir {member}\u{202f}?"))
            .para(met.unwrap_or_else(|| {
                format!("Vous n’avez pas revu {member} en personne depuis un moment.")
            }))
            .para_opt(going.map(|going| match going {
                Some(name) => format!(
                    "Un événement approche où vous pourriez aller tous les deux\u{a0}: {name}."
                ),
                None => "Un événement approche où vous pourriez aller tous les deux.".to_owned(),
            }))
            .para_opt(l.details(event, None))
            .para_opt(coffee.then(|| {
                "Rendezvous vous a proposé un café à tous les deux\u{a0}: acceptez ou \
                 déclinez-le dans vos propositions de café. Sauf si vous acceptez tous les deux, \
                 personne ne saura qui a répondu quoi."
                    .to_owned()
            }))
            .para(format!(
                "Cette suggestion n’est envoyée qu’à vous\u{a0}: {member} n’en sait rien. Ce \
                 n’est pas le moment\u{202f}? Masquez-la, et vous n’en recevrez plus au sujet \
                 de {member} avant votre prochaine rencontre."
            )),
    }
}

pub(super) fn coffee_matched(l: Locale, n: &pb::CoffeeMatched) -> Message {
    let member = cap(&l.member(n.member.as_ref()));
    let times: Vec<String> = n
        .slots
        .iter()
        .filter_map(|slot| l.time_in(slot.start_time.as_ref()?, &n.time_zone))
        .map(|start| format!("– {start}"))
        .collect();
    let times = non_empty(times.join("\n"));
    let city = non_empty(one_line(&n.city));
    match l {
        Locale::En => Message::new(format!("Coffee with {member}: you both said yes"))
            .para(format!(
                "{member} would like to meet you too. Nobody else has been told."
            ))
            .para(match (&times, &city) {
                (Some(_), Some(city)) => {
                    format!("Times you are both free in the next two weeks, for an hour in {city}:")
                }
                (Some(_), None) => {
                    "Times you are both free in the next two weeks, for an hour:".to_owned()
                }
                (None, _) => "Your availabilities do not overlap in the next two weeks: \
                              agree on a time together, or widen your coffee availability."
                    .to_owned(),
            })
            .para_opt(times.clone()),
        Locale::Fr => Message::new(format!(
            "Café avec {member}\u{a0}: c’est oui pour vous deux"
        ))
        .para(format!(
            "{member} souhaite vous rencontrer aussi. Personne d’autre n’en a été informé."
        ))
        .para(match (&times, &city) {
            (Some(_), Some(city)) => format!(
                "Les moments où vous êtes tous deux libres dans les deux semaines qui \
                     viennent, pour une heure à {city}\u{a0}:"
            ),
            (Some(_), None) => "Les moments où vous êtes tous deux libres dans les deux \
                                    semaines qui viennent, pour une heure\u{a0}:"
                .to_owned(),
            (None, _) => "Vos disponibilités ne se recoupent pas dans les deux semaines qui \
                              viennent\u{a0}: convenez d’un moment ensemble, ou élargissez vos \
                              disponibilités pour les cafés."
                .to_owned(),
        })
        .para_opt(times),
    }
}

/// Where a booked coffee is held, as the members should read it.
enum CoffeeVenue {
    /// A member chose it: shown under "Where".
    Chosen,
    /// Rendezvous suggested it from past coffees: the place, and the city if known.
    Suggested(String, Option<String>),
    /// Nobody knows yet: the two agree on one (in the city, if known).
    Unknown(Option<String>),
}

impl CoffeeVenue {
    fn of(n: &pb::CoffeeScheduled) -> Self {
        let event = n.event.as_ref();
        let city = event.and_then(|e| text(&e.city));
        match event.and_then(|e| text(&e.venue_name)) {
            None => CoffeeVenue::Unknown(city),
            Some(_) if !n.venue_suggested => CoffeeVenue::Chosen,
            // The name alone when there is no address: the city follows in the sentence.
            Some(name) => match event.and_then(|e| text(&e.venue_address)) {
                Some(_) => CoffeeVenue::Suggested(venue(event).unwrap_or(name), city),
                None => CoffeeVenue::Suggested(name, city),
            },
        }
    }
}

pub(super) fn coffee_scheduled(l: Locale, n: &pb::CoffeeScheduled) -> Message {
    let event = n.event.as_ref();
    let member = l.member(n.member.as_ref());
    let when = l.start(event);
    let place = CoffeeVenue::of(n);
    // The time opens the message; the venue chosen by a member is its only detail left.
    let said = Said {
        time: true,
        venue: !matches!(place, CoffeeVenue::Chosen),
    };
    let details = l.details_but(event, None, said);
    match l {
        Locale::En => Message::new(match &when {
            Some(when) => format!("Coffee with {member} on {when}"),
            None => format!("Your coffee with {member} is booked"),
        })
        .para(match &when {
            Some(when) => format!("You and {member} meet for a coffee on {when}."),
            None => format!("Your coffee with {member} is booked."),
        })
        .para_opt(details)
        .para_opt(match place {
            CoffeeVenue::Chosen => None,
            CoffeeVenue::Suggested(place, city) => Some(format!(
                "Rendezvous suggests {place}, a place of past coffees{}; agree on another \
                 between you if you like.",
                city.map(|city| format!(" in {city}")).unwrap_or_default()
            )),
            CoffeeVenue::Unknown(city) => Some(format!(
                "No place is set yet: agree between you on where to meet{}.",
                city.map(|city| format!(" in {city}")).unwrap_or_default()
            )),
        })
        .para(
            "Like any event, it is in your calendar and you get its reminders. Afterwards, you \
             will both be asked whether you met."
                .to_owned(),
        ),
        Locale::Fr => Message::new(match &when {
            Some(when) => format!("Café avec {member} le {when}"),
            None => format!("Votre café avec {member} est réservé"),
        })
        .para(match &when {
            Some(when) => format!("Vous retrouvez {member} pour un café le {when}."),
            None => format!("Votre café avec {member} est réservé."),
        })
        .para_opt(details)
        .para_opt(match place {
            CoffeeVenue::Chosen => None,
            CoffeeVenue::Suggested(place, city) => Some(format!(
                "Rendezvous vous suggère {place}, où se sont déjà tenus d’autres cafés{}\u{202f}; \
                 choisissez ensemble un autre endroit si vous le souhaitez.",
                city.map(|city| format!(" à {city}")).unwrap_or_default()
            )),
            CoffeeVenue::Unknown(city) => Some(format!(
                "Aucun lieu n’est encore fixé\u{a0}: convenez entre vous d’un endroit où vous \
                 retrouver{}.",
                city.map(|city| format!(" à {city}")).unwrap_or_default()
            )),
        })
        .para(
            "Comme tout événement, il figure dans votre agenda et vous en recevez les rappels. \
             Ensuite, on vous demandera à tous deux si vous vous êtes rencontrés."
                .to_owned(),
        ),
    }
}
