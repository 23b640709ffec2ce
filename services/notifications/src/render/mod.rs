//! Titles and bodies of every notification kind, in English and French, from the typed
//! notice a producer sent.
//!
//! Rendering is pure: a notice, a locale and the recipient's display name give a one-line
//! title, the in-app body, and the plain-text and HTML parts of an email: the inbox, the live
//! stream and the email all show this one rendering. A missing or empty fact never fails: the
//! sentence that needs it is reworded or left out. One file per family of kinds
//! (`members`, `events`, `rsvps`), English and French side by side; the wording they
//! share is in `format`.

mod events;
mod format;
mod members;
mod rsvps;

use rendezvous_proto::notifications::v1::{self as pb, notice::Notice as N};

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

/// Renders `notice` for a recipient called `recipient_name` (may be empty). A notice without
/// its variant gets a neutral "new notification".
pub fn render(notice: &pb::Notice, locale: Locale, recipient_name: &str) -> Rendered {
    email(
        compose(notice, locale, recipient_name),
        locale,
        recipient_name,
        None,
    )
}

/// [`render`], with a link to `unsubscribe_url` (one-click unsubscribe from this kind of
/// email) in the footer of the email parts.
pub fn render_email(
    notice: &pb::Notice,
    locale: Locale,
    recipient_name: &str,
    unsubscribe_url: &str,
) -> Rendered {
    email(
        compose(notice, locale, recipient_name),
        locale,
        recipient_name,
        Some(unsubscribe_url),
    )
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) use format::escape as escape_html;

/// The email of a notification stored before notices were (its title and body as rendered
/// then), so that an email still pending from then says what its inbox item says; with the
/// unsubscribe link in its footer.
pub fn render_stored(
    title: &str,
    body: &str,
    locale: Locale,
    recipient_name: &str,
    unsubscribe_url: &str,
) -> Rendered {
    let message = Message {
        title: title.to_owned(),
        paragraphs: body
            .split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .map(str::to_owned)
            .collect(),
    };
    email(message, locale, recipient_name, Some(unsubscribe_url))
}

/// `message` with the greeting and footer of an email, as text and as HTML; the footer ends
/// with the unsubscribe link when there is one.
fn email(
    message: Message,
    locale: Locale,
    recipient_name: &str,
    unsubscribe_url: Option<&str>,
) -> Rendered {
    let recipient = format::one_line(recipient_name);
    let greeting = match (locale, recipient.is_empty()) {
        (Locale::En, true) => "Hello,".to_owned(),
        (Locale::En, false) => format!("Hello {recipient},"),
        (Locale::Fr, true) => "Bonjour,".to_owned(),
        (Locale::Fr, false) => format!("Bonjour {recipient},"),
    };
    let footer = locale.en_fr(
        "You received this email from Rendezvous. To choose which notifications reach you by \
         email, change your notification preferences in Rendezvous.",
        "Vous avez reçu cet e-mail de Rendezvous. Pour choisir les notifications que vous \
         recevez par e-mail, modifiez vos préférences de notification dans Rendezvous.",
    );
    let body = message.paragraphs.join("\n\n");
    let unsubscribe_words = locale.en_fr(
        "Unsubscribe from emails like this one",
        "Se désabonner des e-mails de ce type",
    );
    let text = match unsubscribe_url {
        Some(url) => {
            let colon = locale.en_fr(":", "\u{a0}:");
            format!("{greeting}\n\n{body}\n\n-- \n{footer}\n{unsubscribe_words}{colon} {url}\n")
        }
        None => format!("{greeting}\n\n{body}\n\n-- \n{footer}\n"),
    };
    let html = format::html_document(
        locale,
        &message,
        &greeting,
        footer,
        unsubscribe_url.map(|url| (unsubscribe_words, url)),
    );
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

fn compose(notice: &pb::Notice, l: Locale, recipient_name: &str) -> Message {
    match &notice.notice {
        None => generic(l),
        Some(N::Welcome(n)) => members::welcome(l, n, recipient_name),
        Some(N::ConnectionRequested(n)) => members::connection_requested(l, n),
        Some(N::ConnectionAccepted(n)) => members::connection_accepted(l, n),
        Some(N::MetInPerson(n)) => members::met_in_person(l, n),
        Some(N::ConnectSuggestion(n)) => members::connect_suggestion(l, n),
        Some(N::EventInvitation(n)) => events::event_invitation(l, n),
        Some(N::EventUpdated(n)) => events::event_updated(l, n),
        Some(N::EventCancelled(n)) => events::event_cancelled(l, n),
        Some(N::EventReminder(n)) => events::event_reminder(l, n),
        Some(N::ChapterNewEvent(n)) => events::chapter_new_event(l, n),
        Some(N::EventAnnouncement(n)) => events::event_announcement(l, n),
        Some(N::MeetingFollowUp(n)) => events::meeting_follow_up(l, n),
        Some(N::RsvpConfirmed(n)) => rsvps::rsvp_confirmed(l, n),
        Some(N::RsvpWaitlisted(n)) => rsvps::rsvp_waitlisted(l, n),
        Some(N::WaitlistPromoted(n)) => rsvps::waitlist_promoted(l, n),
        Some(N::WaitlistOffered(n)) => rsvps::waitlist_offered(l, n),
        Some(N::WaitlistOfferExpired(n)) => rsvps::waitlist_offer_expired(l, n),
        Some(N::RsvpApproved(n)) => rsvps::rsvp_approved(l, n),
        Some(N::RsvpDeclined(n)) => rsvps::rsvp_declined(l, n),
        Some(N::RsvpPendingApproval(n)) => rsvps::rsvp_pending_approval(l, n),
        Some(N::RsvpApprovalRequested(n)) => rsvps::rsvp_approval_requested(l, n),
        Some(N::CoffeeProposed(n)) => members::coffee_proposed(l, n),
        Some(N::CoffeeMatched(n)) => members::coffee_matched(l, n),
        Some(N::CoffeeScheduled(n)) => members::coffee_scheduled(l, n),
        Some(N::WantToMeetMutual(n)) => events::want_to_meet_mutual(l, n),
        Some(N::ChapterDormant(n)) => events::chapter_dormant(l, n),
        Some(N::RemeetNudge(n)) => members::remeet_nudge(l, n),
    }
}

fn generic(l: Locale) -> Message {
    match l {
        Locale::En => Message::new("New notification".to_owned())
            .para("You have a new notification on Rendezvous.".to_owned()),
        Locale::Fr => Message::new("Nouvelle notification".to_owned())
            .para("Vous avez une nouvelle notification sur Rendezvous.".to_owned()),
    }
}

#[cfg(test)]
mod tests;
