//! Titles and bodies of every notification kind, in English and French.
//!
//! Rendering is pure: a kind, a locale, the recipient's display name and the producer's params
//! give a one-line title, the in-app body, and the plain-text and HTML parts of an email. A
//! missing or empty param never fails: the sentence that needs it is reworded or left out.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use rendezvous_proto::notifications::v1::NotificationKind;

/// The languages notifications are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    /// A profile's locale tag: anything starting with `fr` (`fr`, `fr-FR`, `fr_CA`, any case) is
    /// French, everything else (empty included) English.
    pub fn parse(tag: &str) -> Locale {
        match tag.trim().get(..2) {
            Some(prefix) if prefix.eq_ignore_ascii_case("fr") => Locale::Fr,
            _ => Locale::En,
        }
    }

    /// The BCP 47 tag (`en` or `fr`), as used in the HTML `lang` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }
}

/// A notification rendered for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line: the in-app title and the email subject.
    pub title: String,
    /// The in-app body: the message alone, without greeting or footer.
    pub body: String,
    /// The plain-text email: greeting, message, and a footer on email preferences.
    pub text: String,
    /// The same email as a small HTML document; every inserted value is escaped.
    pub html: String,
}

/// Renders `kind` for a recipient called `recipient_name` (may be empty).
pub fn render(
    kind: NotificationKind,
    locale: Locale,
    recipient_name: &str,
    params: &HashMap<String, String>,
) -> Rendered {
    let p = Params { params, locale };
    let message = compose(kind, &p, recipient_name);
    let recipient = one_line(recipient_name);
    let greeting = match (locale, recipient.is_empty()) {
        (Locale::En, true) => "Hello,".to_owned(),
        (Locale::En, false) => format!("Hello {recipient},"),
        (Locale::Fr, true) => "Bonjour,".to_owned(),
        (Locale::Fr, false) => format!("Bonjour {recipient},"),
    };
    let footer = p.en_fr(
        "You received this email from Rendezvous. To choose which notifications reach you by \
         email, change your notification preferences in Rendezvous.",
        "Vous avez reçu cet e-mail de Rendezvous. Pour choisir les notifications que vous \
         recevez par e-mail, modifiez vos préférences de notification dans Rendezvous.",
    );

    let body = message.paragraphs.join("\n\n");
    let text = format!("{greeting}\n\n{body}\n\n-- \n{footer}\n");
    let html = html_document(locale, &message, &greeting, footer);
    Rendered {
        title: message.title,
        body,
        text,
        html,
    }
}

/// A rendered title and the paragraphs of the body; a paragraph may hold line breaks.
struct Message {
    title: String,
    paragraphs: Vec<String>,
}

impl Message {
    fn new(title: String) -> Self {
        Message {
            title,
            paragraphs: Vec::new(),
        }
    }

    fn para(mut self, paragraph: String) -> Self {
        self.paragraphs.push(paragraph);
        self
    }

    fn para_opt(mut self, paragraph: Option<String>) -> Self {
        self.paragraphs.extend(paragraph);
        self
    }
}

fn compose(kind: NotificationKind, p: &Params<'_>, recipient_name: &str) -> Message {
    use NotificationKind as K;
    match kind {
        K::Unspecified => generic(p),
        K::Welcome => welcome(p, recipient_name),
        K::ConnectionRequested => connection_requested(p),
        K::ConnectionAccepted => connection_accepted(p),
        K::EventInvitation => event_invitation(p),
        K::RsvpConfirmed => rsvp_confirmed(p),
        K::RsvpWaitlisted => rsvp_waitlisted(p),
        K::WaitlistPromoted => waitlist_promoted(p),
        K::WaitlistOffered => waitlist_offered(p),
        K::RsvpApproved => rsvp_approved(p),
        K::RsvpDeclined => rsvp_declined(p),
        K::EventUpdated => event_updated(p),
        K::EventCancelled => event_cancelled(p),
        K::EventReminder => event_reminder(p),
        K::MetInPerson => met_in_person(p),
        K::ConnectSuggestion => connect_suggestion(p),
        K::ChapterNewEvent => chapter_new_event(p),
        K::EventAnnouncement => event_announcement(p),
        K::MeetingFollowUp => meeting_follow_up(p),
        K::RsvpPendingApproval => rsvp_pending_approval(p),
        K::RsvpApprovalRequested => rsvp_approval_requested(p),
        K::WaitlistOfferExpired => waitlist_offer_expired(p),
    }
}

// ---------------------------------------------------------------------------------------------
// One function per kind, English and French side by side.
// ---------------------------------------------------------------------------------------------

fn generic(p: &Params<'_>) -> Message {
    match p.locale {
        Locale::En => Message::new("New notification".to_owned())
            .para("You have a new notification on Rendezvous.".to_owned()),
        Locale::Fr => Message::new("Nouvelle notification".to_owned())
            .para("Vous avez une nouvelle notification sur Rendezvous.".to_owned()),
    }
}

fn welcome(p: &Params<'_>, recipient_name: &str) -> Message {
    let name = p
        .text("member_name")
        .or_else(|| non_empty(one_line(recipient_name)));
    match p.locale {
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

fn connection_requested(p: &Params<'_>) -> Message {
    let member = p.member();
    let note = p.multiline("note");
    match p.locale {
        Locale::En => Message::new(format!("{} wants to connect with you", cap(&member)))
            .para(format!(
                "{} asked to connect with you on Rendezvous.",
                cap(&member)
            ))
            .para_opt(note.map(|note| format!("Their note: “{note}”")))
            .para("Accept or decline the request in your connection requests.".to_owned()),
        Locale::Fr => Message::new(format!(
            "{} souhaite entrer en relation avec vous",
            cap(&member)
        ))
        .para(format!(
            "{} vous a envoyé une demande de mise en relation sur Rendezvous.",
            cap(&member)
        ))
        .para_opt(note.map(|note| format!("Son message\u{a0}: «\u{a0}{note}\u{a0}»")))
        .para("Acceptez ou refusez la demande dans vos demandes de mise en relation.".to_owned()),
    }
}

fn connection_accepted(p: &Params<'_>) -> Message {
    let member = p.member();
    match p.locale {
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

fn event_invitation(p: &Params<'_>) -> Message {
    let event = p.event();
    let host = p.text("host_name");
    match p.locale {
        Locale::En => Message::new(p.labelled("You’re invited", p.event_title()))
            .para(match host {
                Some(host) => format!("{host} invites you to {event}."),
                None => format!("You are invited to {event}."),
            })
            .para_opt(p.details())
            .para(
                "RSVP to let the host know whether you are coming: seats are limited.".to_owned(),
            ),
        Locale::Fr => Message::new(p.labelled("Invitation", p.event_title()))
            .para(match host {
                Some(host) => format!("{host} vous invite à {event}."),
                None => format!("Vous avez reçu une invitation pour {event}."),
            })
            .para_opt(p.details())
            .para(
                "Répondez pour indiquer si vous venez\u{a0}: les places sont limitées.".to_owned(),
            ),
    }
}

fn rsvp_confirmed(p: &Params<'_>) -> Message {
    let event = p.event();
    match p.locale {
        Locale::En => Message::new(p.labelled("You’re going", p.event_title()))
            .para(format!(
                "Your place at {event} is confirmed. See you there!"
            ))
            .para_opt(p.details())
            .para(p.cancel_hint()),
        Locale::Fr => Message::new(p.labelled("Inscription confirmée", p.event_title()))
            .para(format!(
                "Votre place pour {event} est confirmée. À bientôt\u{202f}!"
            ))
            .para_opt(p.details())
            .para(p.cancel_hint()),
    }
}

fn rsvp_waitlisted(p: &Params<'_>) -> Message {
    let event = cap(&p.event());
    let position = p.text("waitlist_position");
    match p.locale {
        Locale::En => Message::new(p.labelled("On the waiting list", p.event_title()))
            .para(format!(
                "{event} is full, so you are on the waiting list{}.",
                position
                    .map(|n| format!(" (position {n})"))
                    .unwrap_or_default()
            ))
            .para("We will let you know as soon as a seat frees up.".to_owned())
            .para_opt(p.details()),
        Locale::Fr => Message::new(p.labelled("Liste d’attente", p.event_title()))
            .para(format!(
                "{event} est complet\u{a0}: vous êtes sur la liste d’attente{}.",
                position
                    .map(|n| format!(" (position\u{a0}{n})"))
                    .unwrap_or_default()
            ))
            .para("Nous vous préviendrons dès qu’une place se libérera.".to_owned())
            .para_opt(p.details()),
    }
}

fn waitlist_promoted(p: &Params<'_>) -> Message {
    let event = p.event();
    match p.locale {
        Locale::En => Message::new(p.labelled("You’re in", p.event_title()))
            .para(format!(
                "A seat freed up at {event} and you were next on the waiting list: your place \
                 is now confirmed."
            ))
            .para_opt(p.details())
            .para(p.cancel_hint()),
        Locale::Fr => Message::new(p.labelled("Place confirmée", p.event_title()))
            .para(format!(
                "Une place s’est libérée pour {event} et vous étiez en tête de la liste \
                 d’attente\u{a0}: votre place est désormais confirmée."
            ))
            .para_opt(p.details())
            .para(p.cancel_hint()),
    }
}

fn waitlist_offered(p: &Params<'_>) -> Message {
    let event = p.event();
    let expiry = p.time("offer_expire_time");
    match p.locale {
        Locale::En => Message::new(p.labelled("A seat is waiting for you", p.event_title()))
            .para(format!(
                "A seat freed up at {event} and it is offered to you. {}",
                match expiry {
                    Some(time) => format!(
                        "Claim it before {}, or it will pass to the next person on the \
                         waiting list.",
                        time.text
                    ),
                    None => "Claim it soon, or it will pass to the next person on the \
                             waiting list."
                        .to_owned(),
                }
            ))
            .para_opt(p.details()),
        Locale::Fr => Message::new(p.labelled("Une place vous attend", p.event_title()))
            .para(format!(
                "Une place s’est libérée pour {event} et elle vous est proposée. {}",
                match expiry {
                    Some(time) => format!(
                        "Réservez-la avant {}{}, sinon elle sera proposée à la personne \
                         suivante sur la liste d’attente.",
                        if time.is_date { "le " } else { "" },
                        time.text
                    ),
                    None => "Réservez-la vite, sinon elle sera proposée à la personne \
                             suivante sur la liste d’attente."
                        .to_owned(),
                }
            ))
            .para_opt(p.details()),
    }
}

fn rsvp_approved(p: &Params<'_>) -> Message {
    let event = p.event();
    match p.locale {
        Locale::En => Message::new(p.labelled("RSVP approved", p.event_title()))
            .para(format!(
                "Your RSVP to {event} was approved: your place is confirmed."
            ))
            .para_opt(p.details())
            .para(p.cancel_hint()),
        Locale::Fr => Message::new(p.labelled("Inscription acceptée", p.event_title()))
            .para(format!(
                "Votre inscription à {event} a été acceptée\u{a0}: votre place est confirmée."
            ))
            .para_opt(p.details())
            .para(p.cancel_hint()),
    }
}

fn rsvp_declined(p: &Params<'_>) -> Message {
    let event = p.event();
    let reason = p.multiline("reason");
    match p.locale {
        Locale::En => Message::new(p.labelled("RSVP declined", p.event_title()))
            .para(format!("Your RSVP to {event} was not accepted."))
            .para_opt(reason.map(|reason| format!("Reason given by the host: {reason}")))
            .para("Other events are coming up: have a look at what’s on in your city.".to_owned()),
        Locale::Fr => Message::new(p.labelled("Inscription refusée", p.event_title()))
            .para(format!("Votre inscription à {event} n’a pas été retenue."))
            .para_opt(reason.map(|reason| format!("Motif indiqué\u{a0}: {reason}")))
            .para(
                "D’autres événements approchent\u{a0}: découvrez ce qui se passe dans votre ville."
                    .to_owned(),
            ),
    }
}

fn event_updated(p: &Params<'_>) -> Message {
    let event = cap(&p.event());
    let changes = p.changes();
    match p.locale {
        Locale::En => Message::new(p.labelled("Event updated", p.event_title()))
            .para(format!("{event} has been updated."))
            .para_opt(changes.map(|changes| format!("What changed: {changes}")))
            .para_opt(p.details())
            .para("Your RSVP still stands, and your reminders follow the new time.".to_owned()),
        Locale::Fr => Message::new(p.labelled("Événement modifié", p.event_title()))
            .para(format!("{event} a été modifié."))
            .para_opt(changes.map(|changes| format!("Ce qui change\u{a0}: {changes}")))
            .para_opt(p.details())
            .para(
                "Votre inscription reste valable et vos rappels suivent le nouvel horaire."
                    .to_owned(),
            ),
    }
}

fn event_cancelled(p: &Params<'_>) -> Message {
    let event = cap(&p.event());
    let reason = p.multiline("reason");
    match p.locale {
        Locale::En => Message::new(p.labelled("Event cancelled", p.event_title()))
            .para(format!("{event} has been cancelled."))
            .para_opt(reason.map(|reason| format!("Reason: {reason}")))
            .para_opt(p.details())
            .para("You don’t need to do anything.".to_owned()),
        Locale::Fr => Message::new(p.labelled("Événement annulé", p.event_title()))
            .para(format!("{event} a été annulé."))
            .para_opt(reason.map(|reason| format!("Motif\u{a0}: {reason}")))
            .para_opt(p.details())
            .para("Vous n’avez rien à faire.".to_owned()),
    }
}

fn event_reminder(p: &Params<'_>) -> Message {
    let event = cap(&p.event());
    let title = p.event_title();
    let hours = p.count("hours_before").map(|n| match (p.locale, n) {
        (Locale::En, 1) => "1 hour".to_owned(),
        (Locale::En, n) => format!("{n} hours"),
        (Locale::Fr, 1) => "1\u{a0}heure".to_owned(),
        (Locale::Fr, n) => format!("{n}\u{a0}heures"),
    });
    match p.locale {
        Locale::En => Message::new(match (title, &hours) {
            (Some(title), Some(hours)) => format!("Reminder: {title} starts in {hours}"),
            (None, Some(hours)) => format!("Reminder: your event starts in {hours}"),
            (Some(title), None) => format!("Reminder: {title}"),
            (None, None) => "Reminder: your event is coming up".to_owned(),
        })
        .para(match &hours {
            Some(hours) => format!("{event} starts in {hours}."),
            None => format!("{event} is coming up soon."),
        })
        .para_opt(p.details())
        .para(p.cancel_hint()),
        Locale::Fr => Message::new(match (title, &hours) {
            (Some(title), Some(hours)) => format!("Rappel\u{a0}: {title} commence dans {hours}"),
            (None, Some(hours)) => format!("Rappel\u{a0}: votre événement commence dans {hours}"),
            (Some(title), None) => format!("Rappel\u{a0}: {title}"),
            (None, None) => "Rappel\u{a0}: votre événement approche".to_owned(),
        })
        .para(match &hours {
            Some(hours) => format!("{event} commence dans {hours}."),
            None => format!("{event} approche."),
        })
        .para_opt(p.details())
        .para(p.cancel_hint()),
    }
}

fn met_in_person(p: &Params<'_>) -> Message {
    let member = p.member();
    let title = p.event_title();
    match p.locale {
        Locale::En => Message::new(format!("You met {member} in person"))
            .para(format!(
                "You and {member} are now marked as met in person{}.",
                title
                    .map(|_| format!(" at {}", p.event()))
                    .unwrap_or_default()
            ))
            .para(
                "Only the two of you can see it, and it counts towards your real-life ratio."
                    .to_owned(),
            ),
        Locale::Fr => Message::new(format!("Vous avez rencontré {member} en personne"))
            .para(format!(
                "Votre rencontre en personne avec {member}{} est désormais enregistrée.",
                title
                    .map(|_| format!(" lors de {}", p.event()))
                    .unwrap_or_default()
            ))
            .para(
                "Elle n’est visible que par vous deux et compte dans votre taux de rencontres \
                 réelles."
                    .to_owned(),
            ),
    }
}

fn connect_suggestion(p: &Params<'_>) -> Message {
    let member = p.member();
    let title = p.event_title();
    match p.locale {
        Locale::En => Message::new(match &title {
            Some(title) => format!("You met {member} at {title}: connect?"),
            None => format!("You met {member}: connect?"),
        })
        .para(format!(
            "You and {member} were both at {}, but you are not connected yet. Send a \
             connection request to stay in touch.",
            title.map_or_else(|| "the same event".to_owned(), |_| p.event())
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
            title.map_or_else(
                || "au même événement".to_owned(),
                |_| format!("à {}", p.event())
            )
        )),
    }
}

fn chapter_new_event(p: &Params<'_>) -> Message {
    let event = p.event_title().map(|_| p.event());
    let chapter = p.text("chapter_name");
    match p.locale {
        Locale::En => {
            let chapter = chapter.unwrap_or_else(|| "your chapter".to_owned());
            Message::new(p.labelled(&format!("New event in {chapter}"), p.event_title()))
                .para(match event {
                    Some(event) => format!("A new event was published in {chapter}: {event}."),
                    None => format!("A new event was published in {chapter}."),
                })
                .para_opt(p.details())
                .para("RSVP early: seats are limited.".to_owned())
        }
        Locale::Fr => {
            let chapter = chapter.unwrap_or_else(|| "votre chapitre".to_owned());
            Message::new(p.labelled(&format!("Nouvel événement dans {chapter}"), p.event_title()))
                .para(match event {
                    Some(event) => {
                        format!("Un nouvel événement a été publié dans {chapter}\u{a0}: {event}.")
                    }
                    None => format!("Un nouvel événement a été publié dans {chapter}."),
                })
                .para_opt(p.details())
                .para("Inscrivez-vous tôt\u{a0}: les places sont limitées.".to_owned())
        }
    }
}

fn event_announcement(p: &Params<'_>) -> Message {
    let event = p.event();
    let host = p.text("host_name");
    let message = p.multiline("message");
    match p.locale {
        Locale::En => {
            let sender = host.unwrap_or_else(|| "The host".to_owned());
            Message::new(p.labelled("Announcement", p.event_title()))
                .para(match &message {
                    Some(_) => format!("{sender} sent a message to the attendees of {event}:"),
                    None => format!("{sender} sent an announcement to the attendees of {event}."),
                })
                .para_opt(message)
                .para_opt(p.details())
        }
        Locale::Fr => {
            let sender = host.unwrap_or_else(|| "L’équipe organisatrice".to_owned());
            Message::new(p.labelled("Annonce", p.event_title()))
                .para(match &message {
                    Some(_) => format!(
                        "{sender} a envoyé un message aux personnes inscrites à {event}\u{a0}:"
                    ),
                    None => {
                        format!("{sender} a envoyé une annonce aux personnes inscrites à {event}.")
                    }
                })
                .para_opt(message)
                .para_opt(p.details())
        }
    }
}

fn meeting_follow_up(p: &Params<'_>) -> Message {
    let event = p.event();
    let title = p.event_title();
    let others = p.count("co_attendee_count");
    match p.locale {
        Locale::En => Message::new(match title {
            Some(title) => format!("Who did you meet at {title}?"),
            None => "Who did you meet?".to_owned(),
        })
        .para(match others {
            Some(0) => format!("No one else checked in at {event}."),
            Some(1) => format!("One other person checked in at {event}."),
            Some(n) => format!("{n} other people checked in at {event}."),
            None => format!("Thanks for coming to {event}."),
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
            Some(0) => format!("Personne d’autre n’était présent à {event}."),
            Some(1) => format!("Une autre personne était présente à {event}."),
            Some(n) => format!("{n}\u{a0}autres personnes étaient présentes à {event}."),
            None => format!("Merci de votre présence à {event}."),
        })
        .para(
            "Confirmez les personnes que vous avez vraiment rencontrées, ignorez les autres et \
             proposez une mise en relation à celles avec qui vous voulez garder le contact."
                .to_owned(),
        ),
    }
}

fn rsvp_pending_approval(p: &Params<'_>) -> Message {
    let event = p.event();
    let host = p.text("host_name");
    match p.locale {
        Locale::En => Message::new(p.labelled("RSVP awaiting approval", p.event_title()))
            .para(match host {
                Some(host) => format!("{host} still has to approve your RSVP to {event}."),
                None => format!("Your RSVP to {event} is waiting for the host’s approval."),
            })
            .para("We will let you know as soon as it is decided.".to_owned())
            .para_opt(p.details()),
        Locale::Fr => Message::new(
            p.labelled("Inscription en attente de validation", p.event_title()),
        )
        .para(match host {
            Some(host) => format!("{host} doit encore valider votre inscription à {event}."),
            None => format!(
                "Votre inscription à {event} attend la validation de l’équipe organisatrice."
            ),
        })
        .para("Nous vous préviendrons dès qu’une décision sera prise.".to_owned())
        .para_opt(p.details()),
    }
}

fn rsvp_approval_requested(p: &Params<'_>) -> Message {
    let member = cap(&p.member());
    let title = p.event_title();
    let event = title.as_ref().map(|_| p.event());
    match p.locale {
        Locale::En => Message::new(format!(
            "{member} asked to join {}",
            title.unwrap_or_else(|| "your event".to_owned())
        ))
        .para(format!(
            "{member} wants to attend {}, which requires your approval. Approve or decline the \
             RSVP from the event’s attendee list.",
            event.unwrap_or_else(|| "your event".to_owned())
        ))
        .para_opt(p.details()),
        Locale::Fr => Message::new(format!(
            "{member} demande à participer à {}",
            title.unwrap_or_else(|| "votre événement".to_owned())
        ))
        .para(format!(
            "{member} souhaite participer à {}, qui nécessite votre validation. Acceptez ou \
             refusez cette demande depuis la liste des inscriptions de l’événement.",
            event.unwrap_or_else(|| "votre événement".to_owned())
        ))
        .para_opt(p.details()),
    }
}

fn waitlist_offer_expired(p: &Params<'_>) -> Message {
    let event = p.event();
    match p.locale {
        Locale::En => Message::new(p.labelled("Seat offer expired", p.event_title()))
            .para(format!(
                "The seat offered to you at {event} was not claimed in time and has passed to \
                 the next person on the waiting list."
            ))
            .para("If you would still like to go, check the event for free seats.".to_owned()),
        Locale::Fr => Message::new(p.labelled("Offre de place expirée", p.event_title()))
            .para(format!(
                "La place qui vous était proposée pour {event} n’a pas été réservée à temps et \
                 a été proposée à la personne suivante sur la liste d’attente."
            ))
            .para(
                "Si vous souhaitez toujours venir, consultez l’événement pour voir s’il reste \
                 des places."
                    .to_owned(),
            ),
    }
}

// ---------------------------------------------------------------------------------------------
// Params and the values derived from them.
// ---------------------------------------------------------------------------------------------

/// A producer's params read in one locale; every getter treats blank as missing.
struct Params<'a> {
    params: &'a HashMap<String, String>,
    locale: Locale,
}

/// A time param as shown to the reader.
struct ShownTime {
    text: String,
    /// Whether `text` is a formatted date (not the raw param passed through).
    is_date: bool,
}

impl Params<'_> {
    fn en_fr<'s>(&self, en: &'s str, fr: &'s str) -> &'s str {
        match self.locale {
            Locale::En => en,
            Locale::Fr => fr,
        }
    }

    /// A param on one line (names, titles): control characters become spaces.
    fn text(&self, key: &str) -> Option<String> {
        self.params
            .get(key)
            .and_then(|value| non_empty(one_line(value)))
    }

    /// A param that may span lines (notes, messages, reasons).
    fn multiline(&self, key: &str) -> Option<String> {
        let value = self.params.get(key)?.replace("\r\n", "\n");
        let cleaned: String = value
            .chars()
            .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
            .collect();
        non_empty(cleaned.trim().to_owned())
    }

    fn count(&self, key: &str) -> Option<u32> {
        self.text(key)?.parse().ok()
    }

    fn time(&self, key: &str) -> Option<ShownTime> {
        self.text(key)
            .map(|raw| match format_time(&raw, self.locale) {
                Some(text) => ShownTime {
                    text,
                    is_date: true,
                },
                None => ShownTime {
                    text: raw,
                    is_date: false,
                },
            })
    }

    fn quote(&self, value: &str) -> String {
        match self.locale {
            Locale::En => format!("“{value}”"),
            Locale::Fr => format!("«\u{a0}{value}\u{a0}»"),
        }
    }

    /// `label: value`, or the label alone without a value.
    fn labelled(&self, label: &str, value: Option<String>) -> String {
        match (value, self.locale) {
            (Some(value), Locale::En) => format!("{label}: {value}"),
            (Some(value), Locale::Fr) => format!("{label}\u{a0}: {value}"),
            (None, _) => label.to_owned(),
        }
    }

    fn event_title(&self) -> Option<String> {
        self.text("event_title")
    }

    /// The event in running text: its quoted title, or a neutral "the event".
    fn event(&self) -> String {
        match self.event_title() {
            Some(title) => self.quote(&title),
            None => self.en_fr("the event", "l’événement").to_owned(),
        }
    }

    /// The other member in running text: their name, or a neutral "a member".
    fn member(&self) -> String {
        self.text("member_name")
            .unwrap_or_else(|| self.en_fr("a member", "un membre").to_owned())
    }

    /// The event's practical details, one per line, or nothing if none is known.
    fn details(&self) -> Option<String> {
        let start = self
            .time("start_time_local")
            .or_else(|| self.time("start_time"));
        let venue = match (self.text("venue_name"), self.text("venue_address")) {
            (Some(name), Some(address)) => Some(format!("{name}, {address}")),
            (name, address) => name.or(address),
        };
        let lines: Vec<String> = [
            (self.en_fr("When", "Quand"), start.map(|time| time.text)),
            (self.en_fr("Where", "Où"), venue),
            (self.en_fr("Host", "Organisé par"), self.text("host_name")),
        ]
        .into_iter()
        .filter_map(|(label, value)| value.map(|value| self.labelled(label, Some(value))))
        .collect();
        non_empty(lines.join("\n"))
    }

    /// `changes` as a localized list when it is a comma-separated list of known field names
    /// (`start_time,venue`), else as given.
    fn changes(&self) -> Option<String> {
        let raw = self.text("changes")?;
        let known: Option<Vec<&str>> = raw
            .split(',')
            .map(|field| field_label(field.trim(), self.locale))
            .collect();
        Some(match known {
            Some(labels) => join_list(&labels, self.locale),
            None => raw,
        })
    }

    fn cancel_hint(&self) -> String {
        self.en_fr(
            "Can’t make it any more? Cancel your RSVP so that someone on the waiting list can \
             take your seat.",
            "Vous ne pouvez plus venir\u{202f}? Annulez votre inscription afin qu’une personne \
             de la liste d’attente puisse prendre votre place.",
        )
        .to_owned()
    }
}

fn field_label(field: &str, locale: Locale) -> Option<&'static str> {
    let (en, fr) = match field
        .to_ascii_lowercase()
        .replace(['-', ' ', '.'], "_")
        .as_str()
    {
        "start_time" | "start" => ("start time", "heure de début"),
        "end_time" | "end" => ("end time", "heure de fin"),
        "time" | "times" => ("time", "horaire"),
        "time_zone" => ("time zone", "fuseau horaire"),
        "venue" | "venue_name" | "location" => ("venue", "lieu"),
        "venue_address" | "address" => ("address", "adresse"),
        "title" => ("title", "titre"),
        "description" => ("description", "description"),
        "capacity" => ("capacity", "capacité"),
        "rsvp_deadline" => ("RSVP deadline", "date limite d’inscription"),
        _ => return None,
    };
    Some(match locale {
        Locale::En => en,
        Locale::Fr => fr,
    })
}

/// `a`, `a and b`, `a, b and c` (`et` in French).
fn join_list(items: &[&str], locale: Locale) -> String {
    let and = match locale {
        Locale::En => " and ",
        Locale::Fr => " et ",
    };
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{}{and}{last}", rest.join(", ")),
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

/// An RFC 3339 time (shown in its own offset, `UTC` added for a zero offset) or a naive local
/// ISO time, written out: `Thursday 5 June 2025 at 08:30`, `jeudi 5 juin 2025 à 8 h 30`.
fn format_time(raw: &str, locale: Locale) -> Option<String> {
    let (local, utc) = match DateTime::parse_from_rfc3339(raw) {
        Ok(time) => (time.naive_local(), time.offset().local_minus_utc() == 0),
        Err(_) => (
            [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())?,
            false,
        ),
    };
    let weekday = local.weekday().num_days_from_monday() as usize;
    let month = local.month0() as usize;
    let (day, year, hour, minute) = (local.day(), local.year(), local.hour(), local.minute());
    let zone = if utc { " UTC" } else { "" };
    Some(match locale {
        Locale::En => format!(
            "{} {day} {} {year} at {hour:02}:{minute:02}{zone}",
            WEEKDAYS_EN[weekday], MONTHS_EN[month]
        ),
        Locale::Fr => format!(
            "{} {}\u{a0}{} {year} à {hour}\u{a0}h\u{a0}{minute:02}{zone}",
            WEEKDAYS_FR[weekday],
            if day == 1 {
                "1er".to_owned()
            } else {
                day.to_string()
            },
            MONTHS_FR[month]
        ),
    })
}

// ---------------------------------------------------------------------------------------------
// Text helpers and the HTML document.
// ---------------------------------------------------------------------------------------------

/// Runs of whitespace and control characters (line breaks included) become one space;
/// surrounding blanks go.
fn one_line(value: &str) -> String {
    value
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

/// Upper-cases the first letter, for a value that opens a sentence.
fn cap(value: &str) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
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

fn html_document(locale: Locale, message: &Message, greeting: &str, footer: &str) -> String {
    const TEXT: &str = "margin:0 0 1em 0;";
    const FOOTER: &str = "margin:2em 0 0 0;padding-top:1em;border-top:1px solid #e5e7eb;\
                          color:#6b7280;font-size:13px;";
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
    html.push_str("</div>\n</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> Vec<NotificationKind> {
        (0..)
            .map_while(|value| NotificationKind::try_from(value).ok())
            .collect()
    }

    fn full_params() -> HashMap<String, String> {
        [
            ("member_id", "0197a6f2-0000-7000-8000-000000000001"),
            ("member_name", "Zoé Martin"),
            ("note", "We met at the Lyon meetup.\nCoffee soon?"),
            ("request_id", "0197a6f2-0000-7000-8000-000000000002"),
            ("event_id", "0197a6f2-0000-7000-8000-000000000003"),
            ("event_title", "Café networking — Le Marais"),
            ("start_time_local", "2025-06-05T08:30:00+02:00"),
            ("venue_name", "Le Peloton Café"),
            ("host_name", "Anna Dupont"),
            ("co_attendee_count", "7"),
            ("waitlist_position", "3"),
            ("offer_expire_time", "2025-06-04T18:00:00Z"),
            ("reason", "The venue closed."),
            ("changes", "start_time,venue"),
            ("hours_before", "2"),
            ("chapter_name", "Rendezvous Paris"),
            (
                "message",
                "Bring business cards!\nThe table is at the back.",
            ),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
    }

    #[test]
    fn every_kind_renders_in_both_locales_with_and_without_params() {
        let kinds = all_kinds();
        assert_eq!(kinds.len(), 22, "a kind was added: render it");
        for params in [HashMap::new(), full_params()] {
            for kind in &kinds {
                for locale in [Locale::En, Locale::Fr] {
                    for name in ["", "Camille"] {
                        let rendered = render(*kind, locale, name, &params);
                        let context = format!("{kind:?} {locale:?} {name:?} {params:?}");
                        assert!(!rendered.title.is_empty(), "{context}");
                        assert!(!rendered.body.is_empty(), "{context}");
                        assert!(!rendered.text.is_empty(), "{context}");
                        assert!(!rendered.html.is_empty(), "{context}");
                        assert!(!rendered.title.contains('\n'), "{context}");
                        for artefact in ["  ", " .", " ,", "()", "“”", "{", "}", ": .", "\n\n\n"]
                        {
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
    }

    #[test]
    fn french_and_english_differ_for_every_kind() {
        for params in [HashMap::new(), full_params()] {
            for kind in all_kinds() {
                let en = render(kind, Locale::En, "Camille", &params);
                let fr = render(kind, Locale::Fr, "Camille", &params);
                assert_ne!(en.title, fr.title, "{kind:?}");
                assert_ne!(en.body, fr.body, "{kind:?}");
                assert_ne!(en.html, fr.html, "{kind:?}");
                assert!(fr.html.contains("lang=\"fr\""));
                assert!(en.html.contains("lang=\"en\""));
            }
        }
    }

    #[test]
    fn every_kind_but_unspecified_has_its_own_title() {
        let params = full_params();
        for locale in [Locale::En, Locale::Fr] {
            let generic = render(NotificationKind::Unspecified, locale, "", &params);
            let mut titles: Vec<String> = all_kinds()
                .into_iter()
                .map(|kind| render(kind, locale, "", &params).title)
                .collect();
            assert!(titles[1..].iter().all(|title| *title != generic.title));
            titles.sort();
            titles.dedup();
            assert_eq!(titles.len(), all_kinds().len(), "{locale:?}");
        }
    }

    #[test]
    fn inserted_values_are_html_escaped() {
        let mut params = full_params();
        params.insert("member_name".into(), "<script>alert('x')</script>".into());
        params.insert("event_title".into(), "Tom & \"Jerry\" <b>".into());
        params.insert("message".into(), "<img src=x onerror=alert(1)>".into());
        params.insert("note".into(), "</p><script>".into());
        for kind in all_kinds() {
            for locale in [Locale::En, Locale::Fr] {
                let rendered = render(kind, locale, "<i>Camille</i>", &params);
                for raw in ["<script", "<img", "<b>", "<i>", "</p><"] {
                    assert!(!rendered.html.contains(raw), "{kind:?} {locale:?}: {raw}");
                }
                assert!(rendered.html.contains("&lt;i&gt;Camille&lt;/i&gt;"));
            }
        }
        let rendered = render(
            NotificationKind::ConnectionRequested,
            Locale::En,
            "",
            &params,
        );
        assert!(
            rendered
                .html
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
        );
        let rendered = render(NotificationKind::EventInvitation, Locale::En, "", &params);
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
        let params = full_params();
        let en = render(
            NotificationKind::RsvpConfirmed,
            Locale::En,
            "Camille",
            &params,
        );
        assert!(en.text.starts_with("Hello Camille,\n\n"));
        assert!(en.text.contains("notification preferences"));
        assert_eq!(en.title, "You’re going: Café networking — Le Marais");
        assert!(
            en.body
                .contains("Your place at “Café networking — Le Marais” is confirmed.")
        );
        assert!(
            en.body
                .contains("When: Thursday 5 June 2025 at 08:30\nWhere: Le Peloton Café")
        );

        let fr = render(
            NotificationKind::RsvpConfirmed,
            Locale::Fr,
            "Camille",
            &params,
        );
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

        let anonymous = render(NotificationKind::RsvpConfirmed, Locale::Fr, " ", &params);
        assert!(anonymous.text.starts_with("Bonjour,\n\n"));
    }

    #[test]
    fn missing_params_fall_back_to_neutral_words() {
        let empty = HashMap::new();
        let en = render(
            NotificationKind::ConnectionRequested,
            Locale::En,
            "",
            &empty,
        );
        assert_eq!(en.title, "A member wants to connect with you");
        let fr = render(NotificationKind::EventCancelled, Locale::Fr, "", &empty);
        assert_eq!(fr.title, "Événement annulé");
        assert!(fr.body.starts_with("L’événement a été annulé."));
        let en = render(NotificationKind::EventReminder, Locale::En, "", &empty);
        assert_eq!(en.title, "Reminder: your event is coming up");
    }

    #[test]
    fn params_shape_the_sentences() {
        let params = full_params();
        let waitlisted = render(NotificationKind::RsvpWaitlisted, Locale::En, "", &params);
        assert!(waitlisted.body.contains("waiting list (position 3)."));
        let reminder = render(NotificationKind::EventReminder, Locale::Fr, "", &params);
        assert_eq!(
            reminder.title,
            "Rappel\u{a0}: Café networking — Le Marais commence dans 2\u{a0}heures"
        );
        let updated = render(NotificationKind::EventUpdated, Locale::Fr, "", &params);
        assert!(
            updated
                .body
                .contains("Ce qui change\u{a0}: heure de début et lieu")
        );
        let offered = render(NotificationKind::WaitlistOffered, Locale::En, "", &params);
        assert!(
            offered
                .body
                .contains("before Wednesday 4 June 2025 at 18:00 UTC")
        );
        let follow_up = render(NotificationKind::MeetingFollowUp, Locale::En, "", &params);
        assert!(follow_up.body.contains("7 other people checked in"));
        let announcement = render(NotificationKind::EventAnnouncement, Locale::En, "", &params);
        assert!(
            announcement
                .html
                .contains("Bring business cards!<br>\nThe table is at the back.")
        );
    }

    #[test]
    fn titles_stay_on_one_line() {
        let mut params = full_params();
        params.insert("event_title".into(), "Line one\r\nLine two".into());
        let rendered = render(NotificationKind::EventInvitation, Locale::En, "", &params);
        assert_eq!(rendered.title, "You’re invited: Line one Line two");
    }

    #[test]
    fn french_dates_use_premier_and_unknown_formats_pass_through() {
        assert_eq!(
            format_time("2026-01-01T09:05:00+01:00", Locale::Fr).as_deref(),
            Some("jeudi 1er\u{a0}janvier 2026 à 9\u{a0}h\u{a0}05")
        );
        assert_eq!(
            format_time("2026-01-01T09:05", Locale::En).as_deref(),
            Some("Thursday 1 January 2026 at 09:05")
        );
        assert_eq!(format_time("next Thursday", Locale::En), None);
        let params = HashMap::from([("start_time_local".to_owned(), "next Thursday".to_owned())]);
        let rendered = render(NotificationKind::EventReminder, Locale::En, "", &params);
        assert!(rendered.body.contains("When: next Thursday"));
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
}
