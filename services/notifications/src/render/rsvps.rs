//! Kinds about the recipient's own seat at an event, and the host's approval queue:
//! confirmations, the wait-list (position, offers and their deadline), approvals.

use rendezvous_proto::notifications::v1 as pb;

use super::format::{cap, event_title};
use super::{Locale, Message};

/// A confirmed seat: the event's title in the heading, the details, the hint to cancel.
fn seat_confirmed(
    l: Locale,
    event: Option<&pb::EventFacts>,
    heading: (&str, &str),
    sentence: String,
) -> Message {
    Message::new(l.labelled(l.en_fr(heading.0, heading.1), event_title(event)))
        .para(sentence)
        .para_opt(l.details(event, None))
        .para(l.cancel_hint())
}

pub(super) fn rsvp_confirmed(l: Locale, n: &pb::RsvpConfirmed) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    let sentence = match l {
        Locale::En => format!("Your place at {name} is confirmed. See you there!"),
        Locale::Fr => format!("Votre place pour {name} est confirmée. À bientôt\u{202f}!"),
    };
    seat_confirmed(
        l,
        event,
        ("You’re going", "Inscription confirmée"),
        sentence,
    )
}

pub(super) fn waitlist_promoted(l: Locale, n: &pb::WaitlistPromoted) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    let sentence = match l {
        Locale::En => format!(
            "A seat freed up at {name} and you were next on the waiting list: your place is \
             now confirmed."
        ),
        Locale::Fr => format!(
            "Une place s’est libérée pour {name} et vous étiez en tête de la liste \
             d’attente\u{a0}: votre place est désormais confirmée."
        ),
    };
    seat_confirmed(l, event, ("You’re in", "Place confirmée"), sentence)
}

pub(super) fn rsvp_approved(l: Locale, n: &pb::RsvpApproved) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    let sentence = match l {
        Locale::En => format!("Your RSVP to {name} was approved: your place is confirmed."),
        Locale::Fr => {
            format!("Votre inscription à {name} a été acceptée\u{a0}: votre place est confirmée.")
        }
    };
    seat_confirmed(
        l,
        event,
        ("RSVP approved", "Inscription acceptée"),
        sentence,
    )
}

pub(super) fn rsvp_waitlisted(l: Locale, n: &pb::RsvpWaitlisted) -> Message {
    let event = n.event.as_ref();
    let name = cap(&l.event(event));
    let position = (n.position > 0).then_some(n.position);
    match l {
        Locale::En => Message::new(l.labelled("On the waiting list", event_title(event)))
            .para(format!(
                "{name} is full, so you are on the waiting list{}.",
                position
                    .map(|n| format!(" (position {n})"))
                    .unwrap_or_default()
            ))
            .para("We will let you know as soon as a seat frees up.".to_owned())
            .para_opt(l.details(event, None)),
        Locale::Fr => Message::new(l.labelled("Liste d’attente", event_title(event)))
            .para(format!(
                "{name} est complet\u{a0}: vous êtes sur la liste d’attente{}.",
                position
                    .map(|n| format!(" (position\u{a0}{n})"))
                    .unwrap_or_default()
            ))
            .para("Nous vous préviendrons dès qu’une place se libérera.".to_owned())
            .para_opt(l.details(event, None)),
    }
}

pub(super) fn waitlist_offered(l: Locale, n: &pb::WaitlistOffered) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    let zone = event.map_or("", |e| e.time_zone.as_str());
    let deadline = n.expire_time.as_ref().and_then(|at| l.time_in(at, zone));
    match l {
        Locale::En => Message::new(l.labelled("A seat is waiting for you", event_title(event)))
            .para(format!(
                "A seat freed up at {name} and it is offered to you. {}",
                match deadline {
                    Some(deadline) => format!(
                        "Claim it before {deadline}, or it will pass to the next person on the \
                         waiting list."
                    ),
                    None => "Claim it from the event’s page before it passes to the next \
                             person on the waiting list."
                        .to_owned(),
                }
            ))
            .para_opt(l.details(event, None)),
        Locale::Fr => Message::new(l.labelled("Une place vous attend", event_title(event)))
            .para(format!(
                "Une place s’est libérée pour {name} et elle vous est proposée. {}",
                match deadline {
                    Some(deadline) => format!(
                        "Réservez-la avant le {deadline}, sinon elle sera proposée à la \
                         personne suivante sur la liste d’attente."
                    ),
                    None => "Réservez-la depuis la page de l’événement avant qu’elle ne soit \
                             proposée à la personne suivante sur la liste d’attente."
                        .to_owned(),
                }
            ))
            .para_opt(l.details(event, None)),
    }
}

pub(super) fn waitlist_offer_expired(l: Locale, n: &pb::WaitlistOfferExpired) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    match l {
        Locale::En => Message::new(l.labelled("Seat offer expired", event_title(event)))
            .para(format!(
                "The seat offered to you at {name} was not claimed in time and has passed to \
                 the next person on the waiting list."
            ))
            .para("If you would still like to go, check the event for free seats.".to_owned()),
        Locale::Fr => Message::new(l.labelled("Offre de place expirée", event_title(event)))
            .para(format!(
                "La place qui vous était proposée pour {name} n’a pas été réservée à temps et \
                 a été proposée à la personne suivante sur la liste d’attente."
            ))
            .para(
                "Si vous souhaitez toujours venir, consultez l’événement pour voir s’il reste \
                 des places."
                    .to_owned(),
            ),
    }
}

pub(super) fn rsvp_declined(l: Locale, n: &pb::RsvpDeclined) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    match l {
        Locale::En => Message::new(l.labelled("RSVP declined", event_title(event)))
            .para(format!("Your RSVP to {name} was not accepted."))
            .para("Other events are coming up: have a look at what’s on in your city.".to_owned()),
        Locale::Fr => Message::new(l.labelled("Inscription refusée", event_title(event)))
            .para(format!("Votre inscription à {name} n’a pas été retenue."))
            .para(
                "D’autres événements approchent\u{a0}: découvrez ce qui se passe dans votre ville."
                    .to_owned(),
            ),
    }
}

pub(super) fn rsvp_pending_approval(l: Locale, n: &pb::RsvpPendingApproval) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    match l {
        Locale::En => Message::new(l.labelled("RSVP awaiting approval", event_title(event)))
            .para(format!(
                "Your RSVP to {name} is waiting for the host’s approval."
            ))
            .para("We will let you know as soon as it is decided.".to_owned())
            .para_opt(l.details(event, None)),
        Locale::Fr => {
            Message::new(l.labelled("Inscription en attente de validation", event_title(event)))
                .para(format!(
                    "Votre inscription à {name} attend la validation de l’équipe organisatrice."
                ))
                .para("Nous vous préviendrons dès qu’une décision sera prise.".to_owned())
                .para_opt(l.details(event, None))
        }
    }
}

pub(super) fn rsvp_approval_requested(l: Locale, n: &pb::RsvpApprovalRequested) -> Message {
    let event = n.event.as_ref();
    let member = cap(&l.member(n.member.as_ref()));
    let title = event_title(event);
    let name = title.as_ref().map(|_| l.event(event));
    match l {
        Locale::En => Message::new(format!(
            "{member} asked to join {}",
            title.unwrap_or_else(|| "your event".to_owned())
        ))
        .para(format!(
            "{member} wants to attend {}, which requires your approval. Approve or decline the \
             RSVP from the event’s attendee list.",
            name.unwrap_or_else(|| "your event".to_owned())
        ))
        .para_opt(l.details(event, None)),
        Locale::Fr => Message::new(format!(
            "{member} demande à participer à {}",
            title.unwrap_or_else(|| "votre événement".to_owned())
        ))
        .para(format!(
            "{member} souhaite participer à {}, qui nécessite votre validation. Acceptez ou \
             refusez cette demande depuis la liste des inscriptions de l’événement.",
            name.unwrap_or_else(|| "votre événement".to_owned())
        ))
        .para_opt(l.details(event, None)),
    }
}
