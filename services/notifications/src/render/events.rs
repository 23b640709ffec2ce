//! Kinds about an event as a whole: invitations, changes (old and new time or venue),
//! cancellations, reminders, new events of a chapter and a chapter gone quiet, hosts'
//! announcements, two attendees who hope to meet each other there, and the after-event
//! follow-up.

use rendezvous_proto::notifications::v1 as pb;

use super::format::{Said, cap, event_title, member_name, multiline, text, venue};
use super::{Locale, Message};

pub(super) fn event_invitation(l: Locale, n: &pb::EventInvitation) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    let inviter = member_name(n.inviter.as_ref());
    match l {
        Locale::En => Message::new(l.labelled("You’re invited", event_title(event)))
            .para(match inviter {
                Some(inviter) => format!("{inviter} invites you to {name}."),
                None => format!("You are invited to {name}."),
            })
            .para_opt(l.details(event, n.inviter.as_ref()))
            .para(
                "RSVP to let the host know whether you are coming: seats are limited.".to_owned(),
            ),
        Locale::Fr => Message::new(l.labelled("Invitation", event_title(event)))
            .para(match inviter {
                Some(inviter) => format!("{inviter} vous invite à {name}."),
                None => format!("Vous avez reçu une invitation pour {name}."),
            })
            .para_opt(l.details(event, n.inviter.as_ref()))
            .para(
                "Répondez pour indiquer si vous venez\u{a0}: les places sont limitées.".to_owned(),
            ),
    }
}

/// What changed, as a list (`time and venue`), a line per change with the new and the old
/// value where known, and which of the event's details those lines gave.
fn changes(l: Locale, n: &pb::EventUpdated) -> (Option<String>, Option<String>, Said) {
    let (now, before) = (n.event.as_ref(), n.previous.as_ref());
    let mut what = Vec::new();
    let mut lines = Vec::new();
    let mut change = |changed: bool,
                      label: (&'static str, &'static str),
                      heading: (&str, &str),
                      new: Option<String>,
                      old: Option<String>| {
        if !changed {
            return;
        }
        what.push(l.en_fr(label.0, label.1));
        let value = match (new, old) {
            (Some(new), Some(old)) if new != old => Some(format!(
                "{new} ({} {old})",
                l.en_fr("instead of", "au lieu de")
            )),
            (new, _) => new,
        };
        lines.extend(value.map(|value| l.labelled(l.en_fr(heading.0, heading.1), Some(value))));
    };
    let said = Said {
        time: n.time_changed && l.start(now).is_some(),
        venue: n.venue_changed && venue(now).is_some(),
    };
    change(
        n.time_changed,
        ("time", "horaire"),
        ("New time", "Nouvel horaire"),
        l.start(now),
        l.start(before),
    );
    change(
        n.venue_changed,
        ("venue", "lieu"),
        ("New venue", "Nouveau lieu"),
        venue(now),
        venue(before),
    );
    let what = (!what.is_empty()).then(|| l.join_list(&what));
    let lines = (!lines.is_empty()).then(|| lines.join("\n"));
    (what, lines, said)
}

pub(super) fn event_updated(l: Locale, n: &pb::EventUpdated) -> Message {
    let event = n.event.as_ref();
    let name = cap(&l.event(event));
    let (what, lines, said) = changes(l, n);
    match l {
        Locale::En => Message::new(l.labelled("Event updated", event_title(event)))
            .para(format!("{name} has been updated."))
            .para_opt(what.map(|what| format!("What changed: {what}")))
            .para_opt(lines)
            .para_opt(l.details_but(event, None, said))
            .para("Your RSVP still stands, and your reminders follow the new time.".to_owned()),
        Locale::Fr => Message::new(l.labelled("Événement modifié", event_title(event)))
            .para(format!("{name} a été modifié."))
            .para_opt(what.map(|what| format!("Ce qui change\u{a0}: {what}")))
            .para_opt(lines)
            .para_opt(l.details_but(event, None, said))
            .para(
                "Votre inscription reste valable et vos rappels suivent le nouvel horaire."
                    .to_owned(),
            ),
    }
}

pub(super) fn event_cancelled(l: Locale, n: &pb::EventCancelled) -> Message {
    let event = n.event.as_ref();
    let name = cap(&l.event(event));
    let reason = multiline(&n.reason);
    match l {
        Locale::En => Message::new(l.labelled("Event cancelled", event_title(event)))
            .para(format!("{name} has been cancelled."))
            .para_opt(reason.map(|reason| format!("Reason: {reason}")))
            .para_opt(l.details(event, None))
            .para("You don’t need to do anything.".to_owned()),
        Locale::Fr => Message::new(l.labelled("Événement annulé", event_title(event)))
            .para(format!("{name} a été annulé."))
            .para_opt(reason.map(|reason| format!("Motif\u{a0}: {reason}")))
            .para_opt(l.details(event, None))
            .para("Vous n’avez rien à faire.".to_owned()),
    }
}

/// How long before the start, in whole hours when it is, else in minutes: "2 hours",
/// "90 minutes", "1\u{a0}heure".
fn lead_time(l: Locale, minutes: u32) -> String {
    let (n, unit) = if minutes.is_multiple_of(60) {
        (minutes / 60, ("hour", "heure"))
    } else {
        (minutes, ("minute", "minute"))
    };
    let plural = if n == 1 { "" } else { "s" };
    match l {
        Locale::En => format!("{n} {}{plural}", unit.0),
        Locale::Fr => format!("{n}\u{a0}{}{plural}", unit.1),
    }
}

pub(super) fn event_reminder(l: Locale, n: &pb::EventReminder) -> Message {
    let event = n.event.as_ref();
    let name = cap(&l.event(event));
    let title = event_title(event);
    let hours = (n.minutes_before > 0).then(|| lead_time(l, n.minutes_before));
    match l {
        Locale::En => Message::new(match (title, &hours) {
            (Some(title), Some(hours)) => format!("Reminder: {title} starts in {hours}"),
            (None, Some(hours)) => format!("Reminder: your event starts in {hours}"),
            (Some(title), None) => format!("Reminder: {title}"),
            (None, None) => "Reminder: your event is coming up".to_owned(),
        })
        .para(match &hours {
            Some(hours) => format!("{name} starts in {hours}."),
            None => format!("{name} is coming up soon."),
        })
        .para_opt(l.details(event, None))
        .para(l.cancel_hint()),
        Locale::Fr => Message::new(match (title, &hours) {
            (Some(title), Some(hours)) => format!("Rappel\u{a0}: {title} commence dans {hours}"),
            (None, Some(hours)) => format!("Rappel\u{a0}: votre événement commence dans {hours}"),
            (Some(title), None) => format!("Rappel\u{a0}: {title}"),
            (None, None) => "Rappel\u{a0}: votre événement approche".to_owned(),
        })
        .para(match &hours {
            Some(hours) => format!("{name} commence dans {hours}."),
            None => format!("{name} approche."),
        })
        .para_opt(l.details(event, None))
        .para(l.cancel_hint()),
    }
}

pub(super) fn chapter_new_event(l: Locale, n: &pb::ChapterNewEvent) -> Message {
    let event = n.event.as_ref();
    let title = event_title(event);
    let name = title.as_ref().map(|_| l.event(event));
    let chapter = n.chapter.as_ref().and_then(|c| text(&c.name));
    match l {
        Locale::En => {
            let chapter = chapter.unwrap_or_else(|| "your chapter".to_owned());
            Message::new(l.labelled(&format!("New event in {chapter}"), title))
                .para(match name {
                    Some(name) => format!("A new event was published in {chapter}: {name}."),
                    None => format!("A new event was published in {chapter}."),
                })
                .para_opt(l.details(event, None))
                .para("RSVP early: seats are limited.".to_owned())
        }
        Locale::Fr => {
            let chapter = chapter.unwrap_or_else(|| "votre chapitre".to_owned());
            Message::new(l.labelled(&format!("Nouvel événement dans {chapter}"), title))
                .para(match name {
                    Some(name) => {
                        format!("Un nouvel événement a été publié dans {chapter}\u{a0}: {name}.")
                    }
                    None => format!("Un nouvel événement a été publié dans {chapter}."),
                })
                .para_opt(l.details(event, None))
                .para("Inscrivez-vous tôt\u{a0}: les places sont limitées.".to_owned())
        }
    }
}

pub(super) fn event_announcement(l: Locale, n: &pb::EventAnnouncement) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    let host = member_name(n.host.as_ref());
    let message = multiline(&n.message);
    match l {
        Locale::En => {
            let sender = host.unwrap_or_else(|| "The host".to_owned());
            Message::new(l.labelled("Announcement", event_title(event)))
                .para(match &message {
                    Some(_) => format!("{sender} sent a message to the attendees of {name}:"),
                    None => format!("{sender} sent an announcement to the attendees of {name}."),
                })
                .para_opt(message)
                .para_opt(l.details(event, n.host.as_ref()))
        }
        Locale::Fr => {
            let sender = host.unwrap_or_else(|| "L’équipe organisatrice".to_owned());
            Message::new(l.labelled("Annonce", event_title(event)))
                .para(match &message {
                    Some(_) => format!(
                        "{sender} a envoyé un message aux personnes inscrites à {name}\u{a0}:"
                    ),
                    None => {
                        format!("{sender} a envoyé une annonce aux personnes inscrites à {name}.")
                    }
                })
                .para_opt(message)
                .para_opt(l.details(event, n.host.as_ref()))
        }
    }
}

pub(super) fn meeting_follow_up(l: Locale, n: &pb::MeetingFollowUp) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    let title = event_title(event);
    let others = n.co_attendee_count;
    match l {
        Locale::En => Message::new(match title {
            Some(title) => format!("Who did you meet at {title}?"),
            None => "Who did you meet?".to_owned(),
        })
        .para(match others {
            0 => format!("Thanks for coming to {name}."),
            1 => format!("One other person checked in at {name}."),
            n => format!("{n} other people checked in at {name}."),
        })
        .para(
            "Confirm the people you really met, dismiss the others, and connect with those \
             you would like to stay in touch with."
                .to_owned(),
        ),
        Locale::Fr => Message::new(match title {
            Some(title) => format!("Qui avez-vous rencontré à {title}\u{202f}?"),
            None => "Qui avez-vous rencontré\u{202f}?".to_owned(),
        })
        .para(match others {
            0 => format!("Merci de votre présence à {name}."),
            1 => format!("Une autre personne était présente à {name}."),
            n => format!("{n}\u{a0}autres personnes étaient présentes à {name}."),
        })
        .para(
            "Confirmez les personnes que vous avez vraiment rencontrées, ignorez les autres et \
             proposez une mise en relation à celles avec qui vous voulez garder le contact."
                .to_owned(),
        ),
    }
}

pub(super) fn want_to_meet_mutual(l: Locale, n: &pb::WantToMeetMutual) -> Message {
    let event = n.event.as_ref();
    let name = l.event(event);
    let title = event_title(event);
    let other = cap(&l.member(n.member.as_ref()));
    match l {
        Locale::En => Message::new(match title {
            Some(title) => format!("{other} also hopes to meet you at {title}"),
            None => format!("{other} also hopes to meet you"),
        })
        .para(format!(
            "You marked each other as someone you hope to meet at {name}: {other} is \
             going, and hopes to meet you there too."
        ))
        .para_opt(l.details(event, None))
        .para(
            "Only the two of you know. Look out for each other; afterwards you will be asked \
             first whether you met."
                .to_owned(),
        ),
        Locale::Fr => Message::new(match title {
            Some(title) => format!("{other} espère aussi vous rencontrer à {title}"),
            None => format!("{other} espère aussi vous rencontrer"),
        })
        .para(format!(
            "Vous vous êtes choisis l’un l’autre parmi les personnes à rencontrer à {name}\u{a0}: \
             {other} y sera et espère vous y voir aussi."
        ))
        .para_opt(l.details(event, None))
        .para(
            "Vous seuls le savez. Cherchez-vous sur place\u{a0}; ensuite, on vous demandera \
             d’abord si vous vous êtes rencontrés."
                .to_owned(),
        ),
    }
}

pub(super) fn chapter_dormant(l: Locale, n: &pb::ChapterDormant) -> Message {
    let chapter = n.chapter.as_ref().and_then(|c| text(&c.name));
    let last = n
        .last_event_time
        .as_ref()
        .and_then(|at| l.time_in(at, &n.time_zone));
    let days = n.days_quiet;
    let members = n.members;
    match l {
        Locale::En => {
            let chapter = chapter.unwrap_or_else(|| "Your chapter".to_owned());
            Message::new(format!("{chapter} has had no event for {days} days"))
                .para(match last {
                    Some(last) => format!("Its last event started on {last}."),
                    None => "It has had no event for a while.".to_owned(),
                })
                .para(match members {
                    1 => "Its one member is waiting for the next: publish an event to bring \
                          people together again."
                        .to_owned(),
                    n => format!(
                        "Its {n} members are waiting for the next: publish an event to bring \
                         them together again."
                    ),
                })
        }
        Locale::Fr => {
            let chapter = chapter.unwrap_or_else(|| "Votre chapitre".to_owned());
            Message::new(format!(
                "{chapter}\u{a0}: aucun événement depuis {days}\u{a0}jours"
            ))
            .para(match last {
                Some(last) => format!("Son dernier événement a commencé le {last}."),
                None => "Il n’a pas eu d’événement depuis un moment.".to_owned(),
            })
            .para(match members {
                1 => "Son unique membre attend le prochain\u{a0}: publiez un événement pour \
                      réunir à nouveau les gens."
                    .to_owned(),
                n => format!(
                    "Ses {n}\u{a0}membres attendent le prochain\u{a0}: publiez un événement \
                     pour les réunir à nouveau."
                ),
            })
        }
    }
}
