//! What every notification must say, and how it is checked: the expectations the scenarios
//! write down as they act, and the reading of each inbox item and its email against them.

use std::collections::{BTreeMap, BTreeSet};

use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;
use rendezvous_testkit::eventually;

use crate::helpers::{Cast, Lang, Person, Plan, World};
use crate::mail::{self, Eml};

/// The kinds some producer sends today: each must reach a French and an English reader.
pub const PRODUCED: [Kind; 27] = [
    Kind::Welcome,
    Kind::CoffeeProposed,
    Kind::CoffeeMatched,
    Kind::CoffeeScheduled,
    Kind::ConnectionRequested,
    Kind::ConnectionAccepted,
    Kind::EventInvitation,
    Kind::RsvpConfirmed,
    Kind::RsvpWaitlisted,
    Kind::WaitlistPromoted,
    Kind::WaitlistOffered,
    Kind::WaitlistOfferExpired,
    Kind::RsvpPendingApproval,
    Kind::RsvpApprovalRequested,
    Kind::RsvpApproved,
    Kind::RsvpDeclined,
    Kind::EventUpdated,
    Kind::EventCancelled,
    Kind::ChapterNewEvent,
    Kind::EventAnnouncement,
    Kind::MetInPerson,
    Kind::MeetingFollowUp,
    Kind::ConnectSuggestion,
    Kind::EventReminder,
    Kind::WantToMeetMutual,
    Kind::ChapterDormant,
    Kind::RemeetNudge,
];

/// The kinds no producer sends yet. The test fails when one shows up: whoever adds its
/// producer moves it to [`PRODUCED`] and drives it in a scenario.
pub const NOT_YET_PRODUCED: [Kind; 0] = [];

/// The kinds sent once per pair of members at an event: a recipient may get several about
/// one event, told apart by the member each names.
const PER_PAIR: [Kind; 5] = [
    Kind::MetInPerson,
    Kind::RemeetNudge,
    Kind::ConnectSuggestion,
    Kind::RsvpApprovalRequested,
    Kind::WantToMeetMutual,
];

/// The facts one expected notification must show in its title and in its body (and so in
/// its email), in the recipient's language.
#[derive(Debug, Default)]
struct Expected {
    title: Vec<String>,
    body: Vec<String>,
}

/// `(recipient id, kind, event id or "", id of the member named for a [`PER_PAIR`] kind or
/// "")`: what a notification is, for matching.
type Key = (String, Kind, String, String);

/// The notifications the scenarios caused, written down as they act.
#[derive(Default)]
pub struct Told {
    expected: BTreeMap<Key, Expected>,
}

/// A notification being written down; facts are added in the recipient's language.
pub struct Note<'t> {
    expected: &'t mut Expected,
    lang: Lang,
}

impl Told {
    /// Expects `to` to get one notification of `kind` about `event` (`""` for none).
    pub fn expect(&mut self, to: &Person, kind: Kind, event: &str) -> Note<'_> {
        assert!(
            !PER_PAIR.contains(&kind),
            "{kind:?} names a member: use pair"
        );
        self.expect_key((to.id.clone(), kind, event.to_owned(), String::new()), to)
    }

    /// Expects `to` to get one notification of the [`PER_PAIR`] `kind` naming `other` at
    /// `event`; it must show the other's name and the event's title.
    pub fn pair(&mut self, to: &Person, kind: Kind, event: &str, other: &Person) -> Note<'_> {
        assert!(PER_PAIR.contains(&kind), "{kind:?} is not sent per pair");
        let key = (to.id.clone(), kind, event.to_owned(), other.id.clone());
        self.expect_key(key, to).title(other.name).body(other.name)
    }

    fn expect_key(&mut self, key: Key, to: &Person) -> Note<'_> {
        let kind = key.1;
        assert!(
            !self.expected.contains_key(&key),
            "{kind:?} to {} expected twice",
            to.name
        );
        let expected = self.expected.entry(key).or_default();
        Note {
            expected,
            lang: to.lang,
        }
    }

    /// What `person` must get.
    fn keys_of(&self, person: &Person) -> BTreeSet<Key> {
        let mine = |(to, _, _, _): &&Key| *to == person.id;
        self.expected.keys().filter(mine).cloned().collect()
    }

    /// Expects the usual notice about `plan`: its title in the heading, its start, venue and
    /// address in the body.
    pub fn about(&mut self, to: &Person, kind: Kind, id: &str, plan: &Plan) -> Note<'_> {
        self.expect(to, kind, id).titled(plan).details(plan)
    }
}

impl Note<'_> {
    /// The title must show `fact`.
    pub fn title(self, fact: impl Into<String>) -> Self {
        self.expected.title.push(fact.into());
        self
    }

    /// The body must show `fact`.
    pub fn body(self, fact: impl Into<String>) -> Self {
        self.expected.body.push(fact.into());
        self
    }

    /// The body must show the English or the French of `pair`, as the recipient reads.
    pub fn says(self, pair: [&str; 2]) -> Self {
        let fact = self.lang.pick(pair).to_owned();
        self.body(fact)
    }

    /// The event's title, in the heading and in the body.
    pub fn titled(self, plan: &Plan) -> Self {
        self.title(plan.title).body(plan.title)
    }

    /// The event's start in Paris time, its venue and its address.
    pub fn details(self, plan: &Plan) -> Self {
        let when = self.lang.pick(plan.when).to_owned();
        self.body(when).body(plan.venue).body(plan.address)
    }
}

/// Reads every inbox and every email: each recipient has exactly the notifications written
/// down, each one shows its facts and nothing broken, and both languages saw every kind.
pub async fn assert_everyone_was_told_well(world: &World, cast: &Cast, told: &Told) {
    let mut seen = assert_told_as_written(world, cast, told).await;
    let produced: BTreeSet<Kind> = PRODUCED.into_iter().collect();
    for lang in [Lang::En, Lang::Fr] {
        let kinds = seen.remove(&lang).unwrap_or_default();
        assert_eq!(kinds, produced, "the kinds read in {lang:?}");
    }
}

/// Reads every inbox and every email of the cast against what `told` wrote down (exactly
/// those notifications, each reading well); returns the kinds read in each language.
pub async fn assert_told_as_written(
    world: &World,
    cast: &Cast,
    told: &Told,
) -> BTreeMap<Lang, BTreeSet<Kind>> {
    let mut seen: BTreeMap<Lang, BTreeSet<Kind>> = BTreeMap::new();
    for person in cast.everyone() {
        let inbox = settled_inbox(world, person, told).await;
        for notification in &inbox {
            let kind = notification.kind();
            assert!(
                !NOT_YET_PRODUCED.contains(&kind),
                "{kind:?} has a producer now: move it to PRODUCED and drive it here \
                 ({} got {:?})",
                person.name,
                notification.title
            );
            let key = key_of(person, notification);
            let Some(expected) = told.expected.get(&key) else {
                panic!("{} got an unexpected {notification:#?}", person.name);
            };
            let email = email_of(world, notification).await;
            assert_reads_well(person, notification, &email, expected);
            seen.entry(person.lang).or_default().insert(kind);
        }
        let got: BTreeSet<Key> = inbox.iter().map(|n| key_of(person, n)).collect();
        assert_eq!(got, told.keys_of(person), "the inbox of {}", person.name);
        assert_eq!(
            got.len(),
            inbox.len(),
            "a doubled notice to {}",
            person.name
        );
    }
    seen
}

/// Every kind is either produced or listed as not yet produced.
pub fn assert_every_kind_is_classified() {
    let all: Vec<Kind> = (1..)
        .map_while(|k| Kind::try_from(k).ok())
        .collect::<Vec<_>>();
    for kind in &all {
        assert!(
            PRODUCED.contains(kind) != NOT_YET_PRODUCED.contains(kind),
            "{kind:?} must be in exactly one of PRODUCED and NOT_YET_PRODUCED"
        );
    }
    assert_eq!(all.len(), PRODUCED.len() + NOT_YET_PRODUCED.len());
}

fn key_of(person: &Person, n: &npb::Notification) -> Key {
    let event = event_id(n).to_owned();
    (
        person.id.clone(),
        n.kind(),
        event,
        pair_member_id(n).to_owned(),
    )
}

/// The id of the member a [`PER_PAIR`] notification names, `""` for the other kinds.
fn pair_member_id(n: &npb::Notification) -> &str {
    use npb::notice::Notice as N;
    let member = match n.notice.as_ref().and_then(|n| n.notice.as_ref()) {
        Some(N::MetInPerson(n)) => n.member.as_ref(),
        Some(N::ConnectSuggestion(n)) => n.member.as_ref(),
        Some(N::RsvpApprovalRequested(n)) => n.member.as_ref(),
        Some(N::WantToMeetMutual(n)) => n.member.as_ref(),
        Some(N::RemeetNudge(n)) => n.member.as_ref(),
        _ => None,
    };
    member.map_or("", |m| m.member_id.as_str())
}

/// The id of the event a notification is about, `""` for none.
fn event_id(n: &npb::Notification) -> &str {
    n.notice
        .as_ref()
        .and_then(npb::Notice::event)
        .map_or("", |e| e.event_id.as_str())
}

/// The recipient's inbox once every notification written down for them has arrived.
async fn settled_inbox(world: &World, person: &Person, told: &Told) -> Vec<npb::Notification> {
    let wanted = told.keys_of(person);
    let inbox = person.inbox(world);
    eventually(&format!("every notification of {}", person.name), || {
        let mut inbox = inbox.clone();
        let wanted = &wanted;
        async move {
            let page = inbox
                .list_notifications(npb::ListNotificationsRequest {
                    unread_only: false,
                    page_size: 100,
                    page_token: String::new(),
                })
                .await
                .unwrap()
                .into_inner();
            assert!(page.next_page_token.is_empty(), "more than a page");
            let got: BTreeSet<Key> = page
                .notifications
                .iter()
                .map(|n| key_of(person, n))
                .collect();
            got.is_superset(wanted).then_some(page.notifications)
        }
    })
    .await
}

/// The email of `notification`, once written.
async fn email_of(world: &World, notification: &npb::Notification) -> Eml {
    let message_id = format!("<{}@rendezvous.local>", notification.id);
    let dir = world.stack.notifications.emails();
    eventually(&format!("the email of {}", notification.title), || {
        let found = mail::read_all(dir)
            .into_iter()
            .find(|email| email.message_id == message_id);
        async move { found }
    })
    .await
}

fn assert_reads_well(person: &Person, n: &npb::Notification, email: &Eml, expected: &Expected) {
    let what = format!("{:?} to {} ({:?})", n.kind(), person.name, person.lang);
    let notice = n
        .notice
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: no notice"));
    assert_eq!(notice.kind(), n.kind(), "{what}: the notice's kind");
    assert_eq!(email.subject, n.title, "{what}: the email's subject");
    let lang = format!("<html lang=\"{}\">", person.lang.tag());
    assert!(email.html.contains(&lang), "{what}: the HTML is not {lang}");
    assert!(
        email.text.contains(&n.body),
        "{what}: the email's text does not hold the body\n{}\n---\n{}",
        email.text,
        n.body
    );
    let html = mail::html_text(&email.html);
    let parts = [
        ("title", n.title.as_str()),
        ("body", n.body.as_str()),
        ("email text", email.text.as_str()),
        ("email HTML", html.as_str()),
    ];
    for (part, text) in parts {
        if let Some(flaw) = flaw(text) {
            panic!("{what}: the {part} {flaw}:\n{text}");
        }
    }
    for fact in &expected.title {
        assert!(
            n.title.contains(fact),
            "{what}: the title lacks {fact:?}: {:?}",
            n.title
        );
    }
    for (part, text) in &parts[1..] {
        for fact in &expected.body {
            assert!(
                text.contains(fact),
                "{what}: the {part} lacks {fact:?}:\n{text}"
            );
        }
    }
}

/// What is wrong with a text a person reads, if anything: a placeholder, an empty value, a
/// raw id, a `None` or `null`, doubled spaces.
fn flaw(text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return Some("is empty".to_owned());
    }
    if let Some(c) = text.chars().find(|c| matches!(c, '{' | '}')) {
        return Some(format!("holds a placeholder brace {c:?}"));
    }
    if let Some(id) = uuid_in(text) {
        return Some(format!("shows the raw id {id}"));
    }
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(word) = words
        .iter()
        .find(|w| ["None", "null", "undefined", "NaN"].contains(w))
    {
        return Some(format!("shows {word:?}"));
    }
    for bad in [
        "  ",
        " \u{a0}",
        "\u{a0} ",
        "\u{a0}\u{a0}",
        "()",
        "( )",
        ", ,",
        " ,",
        " .",
    ] {
        if text.contains(bad) {
            return Some(format!("holds {bad:?}"));
        }
    }
    for line in text.lines() {
        // A label with nothing after it (`Where: `, `Quand : `).
        let trimmed = line.trim_end_matches([' ', '\u{a0}']);
        if trimmed.len() != line.len() && trimmed.ends_with(':') {
            return Some(format!("has an empty label {line:?}"));
        }
    }
    let paragraphs: Vec<&str> = text.split("\n\n").map(str::trim).collect();
    for pair in paragraphs.windows(2) {
        // A sentence announcing what follows must be followed by something.
        if pair[0].ends_with(':') && pair[1].is_empty() {
            return Some(format!("announces nothing after {:?}", pair[0]));
        }
    }
    if paragraphs.last().is_some_and(|p| p.ends_with(':')) {
        return Some("ends on a colon".to_owned());
    }
    None
}

/// The first 8-4-4-4-12 run of hex digits in `text`.
fn uuid_in(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(35)).find_map(|start| {
        let window = &bytes[start..start + 36];
        let is_uuid = window.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
        is_uuid.then(|| &text[start..start + 36])
    })
}

#[test]
fn the_flaw_finder_sees_what_a_reader_would() {
    assert_eq!(flaw("Where: Café Saint-Paul, 12 rue Saint-Paul"), None);
    assert_eq!(flaw("Quand\u{a0}: jeudi 8\u{a0}avril"), None);
    assert!(flaw("Hello {name}").is_some());
    assert!(flaw("Where: \nWhen: today").is_some());
    assert!(flaw("Quand\u{a0}: ").is_some());
    assert!(flaw("See 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b now").is_some());
    assert!(flaw("Host: None").is_some());
    assert!(flaw("Two  spaces").is_some());
    assert!(flaw("position ()").is_some());
}
