//! The story's ledger: every notification the story must cause, written down as it acts, as
//! `(recipient, kind, event, member named, detail)`; then compared, as a whole multiset, with
//! what every inbox holds, so that a missing, an extra or a doubled notification fails. The
//! emails are checked against each recipient's preferences as notifications reports them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;
use rendezvous_proto::notifications::v1::notice::Notice as N;
use rendezvous_proto::prost_types::Timestamp;
use rendezvous_testkit::eventually;

use crate::helpers::{Person, World};
use crate::mail;

/// What one notification is, in words a failure message can show.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fact {
    pub to: &'static str,
    pub kind: Kind,
    /// The label the story gave the event the notice is about; `""` for none.
    pub event: String,
    /// The name of the member the notice names (requester, inviter, co-attendee…); `""`.
    pub member: &'static str,
    /// What must be right in it: a start in Paris time, a wait-list place, a reminder's
    /// offset, a count, a note.
    pub detail: String,
}

/// The start of an event as the ledger writes it: Paris time, `2027-04-08 09:00`.
pub fn paris(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn paris_of(at: Option<&Timestamp>) -> String {
    at.and_then(|t| DateTime::from_timestamp(t.seconds, 0))
        .map_or_else(|| "no start".to_owned(), paris)
}

/// How long every notice written down may take to reach its inbox.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Default)]
pub struct Ledger {
    names: BTreeMap<String, &'static str>,
    events: BTreeMap<String, String>,
    expected: Vec<Fact>,
}

impl Ledger {
    /// Names the members the story's notices may name.
    pub fn cast<'p>(&mut self, people: impl IntoIterator<Item = &'p Person>) {
        for person in people {
            self.names.insert(person.id.clone(), person.name);
        }
    }

    /// Labels an event, as facts about it will show it.
    pub fn event(&mut self, id: &str, label: impl Into<String>) {
        self.events.insert(id.to_owned(), label.into());
    }

    /// Whether the event `id` has a label.
    pub fn labels(&self, id: &str) -> bool {
        self.events.contains_key(id)
    }

    fn label(&self, id: &str) -> String {
        self.events
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("unlabelled event {id}"))
    }

    /// Expects `to` to get one notification of `kind` about the event `event` (`""` for none)
    /// naming `member`, whose detail is `detail`.
    pub fn expect(
        &mut self,
        to: &Person,
        kind: Kind,
        event: &str,
        member: Option<&Person>,
        detail: impl Into<String>,
    ) {
        let fact = Fact {
            to: to.name,
            kind,
            event: if event.is_empty() {
                String::new()
            } else {
                self.label(event)
            },
            member: member.map_or("", |m| m.name),
            detail: detail.into(),
        };
        self.expected.push(fact);
    }

    /// How many notifications `person` must have.
    fn count_for(&self, person: &Person) -> usize {
        self.expected.iter().filter(|f| f.to == person.name).count()
    }

    /// The fact a notification in `person`'s inbox states.
    fn fact_of(&self, person: &Person, n: &npb::Notification) -> Fact {
        let notice = n.notice.as_ref();
        let event = notice.and_then(npb::Notice::event);
        let member = notice.and_then(npb::Notice::named_member).map_or("", |m| {
            self.names
                .get(&m.member_id)
                .copied()
                .unwrap_or("someone outside the story")
        });
        let start = paris_of(event.and_then(|e| e.start_time.as_ref()));
        let detail = match notice.and_then(|n| n.notice.as_ref()) {
            Some(N::ConnectionRequested(n)) => n.note.clone(),
            Some(N::RsvpWaitlisted(n)) => format!("{start}, place {}", n.position),
            Some(N::EventReminder(n)) => format!("{start}, {} min before", n.minutes_before),
            Some(N::EventUpdated(n)) => format!(
                "{} to {start}, time changed: {}",
                paris_of(n.previous.as_ref().and_then(|e| e.start_time.as_ref())),
                n.time_changed
            ),
            Some(N::ChapterNewEvent(n)) => format!(
                "{} {start}",
                n.chapter.as_ref().map_or("no chapter", |c| c.name.as_str())
            ),
            Some(N::MeetingFollowUp(n)) => format!("{} others", n.co_attendee_count),
            Some(
                N::RsvpConfirmed(_)
                | N::WaitlistPromoted(_)
                | N::EventInvitation(_)
                | N::EventCancelled(_)
                | N::CoffeeScheduled(_),
            ) => start,
            _ => String::new(),
        };
        Fact {
            to: person.name,
            kind: n.kind(),
            event: event.map_or_else(String::new, |e| self.label(&e.event_id)),
            member,
            detail,
        }
    }

    /// Reads every inbox once all it must hold has arrived, and fails listing every missing
    /// and every unexpected notification; then checks the emails. Returns the inboxes.
    pub async fn assert_inboxes(
        &self,
        world: &World,
        people: &[&Person],
    ) -> BTreeMap<&'static str, Vec<npb::Notification>> {
        let mut inboxes = BTreeMap::new();
        let mut got = Vec::new();
        for person in people {
            // Waits for as many as the ledger says, then compares what is there: a shortfall
            // shows as the notices missing.
            let wanted = self.count_for(person);
            let deadline = tokio::time::Instant::now() + SETTLE;
            let inbox = loop {
                let all = whole_inbox(world, person).await;
                if all.len() >= wanted || tokio::time::Instant::now() > deadline {
                    break all;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            };
            got.extend(inbox.iter().map(|n| self.fact_of(person, n)));
            inboxes.insert(person.name, inbox);
        }
        let recipients: BTreeSet<&str> = people.iter().map(|p| p.name).collect();
        let mut expected: Vec<&Fact> = self.expected.iter().collect();
        assert!(
            expected.iter().all(|f| recipients.contains(f.to)),
            "a notice is expected for someone whose inbox is not read"
        );
        let mut got: Vec<&Fact> = got.iter().collect();
        expected.sort();
        got.sort();
        let (missing, extra) = multiset_difference(&expected, &got);
        assert!(
            missing.is_empty() && extra.is_empty(),
            "the inboxes differ from the story: {} missing, {} unexpected\nmissing: \
             {missing:#?}\nunexpected: {extra:#?}",
            missing.len(),
            extra.len()
        );
        self.assert_emails(world, people, &inboxes).await;
        inboxes
    }

    /// Each notification whose kind the recipient gets by email (as GetPreferences says) has
    /// its email, addressed to them; no other email was written.
    async fn assert_emails(
        &self,
        world: &World,
        people: &[&Person],
        inboxes: &BTreeMap<&'static str, Vec<npb::Notification>>,
    ) {
        let mut wanted = BTreeMap::new();
        for person in people {
            let by_email = email_kinds(world, person).await;
            for n in &inboxes[person.name] {
                if by_email.contains(&n.kind()) {
                    let id = format!("<{}@rendezvous.local>", n.id);
                    wanted.insert(id, (person.email().to_owned(), n.title.clone()));
                }
            }
        }
        let dir = world.stack.notifications.emails();
        let emails = eventually(&format!("{} emails", wanted.len()), || {
            let emails = mail::read_all(dir);
            let ids: BTreeSet<&String> = emails.iter().map(|e| &e.message_id).collect();
            let all_there = wanted.keys().all(|id| ids.contains(id));
            async move { all_there.then_some(emails) }
        })
        .await;
        assert_eq!(
            emails.len(),
            wanted.len(),
            "an email the preferences forbid"
        );
        for email in &emails {
            let (address, title) = &wanted[&email.message_id];
            assert!(
                email.to.contains(address.as_str()),
                "{email:?} to {address}"
            );
            assert_eq!(&email.subject, title);
        }
    }

    /// How many notifications of `kind` were sent by email.
    pub fn emails_of_kind(
        world: &World,
        inboxes: &BTreeMap<&str, Vec<npb::Notification>>,
        kind: Kind,
    ) -> usize {
        let ids: BTreeSet<String> = mail::read_all(world.stack.notifications.emails())
            .into_iter()
            .map(|e| e.message_id)
            .collect();
        inboxes
            .values()
            .flatten()
            .filter(|n| n.kind() == kind && ids.contains(&format!("<{}@rendezvous.local>", n.id)))
            .count()
    }
}

/// What is in `expected` and not in `got`, and what is in `got` and not in `expected`, each
/// counted with its multiplicity (both sorted).
fn multiset_difference<'f>(
    expected: &[&'f Fact],
    got: &[&'f Fact],
) -> (Vec<&'f Fact>, Vec<&'f Fact>) {
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    let (mut e, mut g) = (expected.iter().peekable(), got.iter().peekable());
    loop {
        match (e.peek(), g.peek()) {
            (Some(a), Some(b)) if a == b => {
                e.next();
                g.next();
            }
            (Some(a), Some(b)) if a < b => missing.extend(e.next()),
            (Some(_), Some(_)) | (None, Some(_)) => extra.extend(g.next()),
            (Some(_), None) => missing.extend(e.next()),
            (None, None) => return (missing, extra),
        }
    }
}

/// Every notification in `person`'s inbox, page after page.
async fn whole_inbox(world: &World, person: &Person) -> Vec<npb::Notification> {
    let mut client = person.inbox(world);
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_notifications(npb::ListNotificationsRequest {
                unread_only: false,
                page_size: 100,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.notifications);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// The kinds `person` gets by email, as their preferences say.
async fn email_kinds(world: &World, person: &Person) -> BTreeSet<Kind> {
    let preferences = person
        .inbox(world)
        .get_preferences(npb::GetPreferencesRequest {})
        .await
        .unwrap()
        .into_inner()
        .preferences
        .unwrap();
    preferences
        .channel_preferences
        .iter()
        .filter(|p| p.channel() == npb::Channel::Email && p.enabled)
        .map(npb::ChannelPreference::kind)
        .collect()
}

#[test]
fn the_difference_counts_doubles() {
    let fact = |to, detail: &str| Fact {
        to,
        kind: Kind::EventReminder,
        event: "café".to_owned(),
        member: "",
        detail: detail.to_owned(),
    };
    let (a, b, c) = (fact("Anna", "1"), fact("Anna", "2"), fact("Bruno", "1"));
    let (missing, extra) = multiset_difference(&[&a, &b, &c], &[&a, &a, &c]);
    assert_eq!((missing, extra), (vec![&b], vec![&a]));
    let (missing, extra) = multiset_difference(&[&a, &c], &[&a, &c]);
    assert!(missing.is_empty() && extra.is_empty());
}
