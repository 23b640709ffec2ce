//! PRODUCT.md's story, steps 1 to 10, as one run over the whole stack on one manual clock:
//! Anna imports her LinkedIn network, starts the Paris chapter, schedules the Thursday café
//! for 20, invites her Paris connections, 25 answer within a minute, she moves the start, the
//! reminders follow, people check in, the event completes on its own, who met whom is
//! recorded, her network stats and calendar show it, the chapter meets monthly, and the next
//! café shows her how many of her not-yet-met connections are going, and a coffee with Nora,
//! a connection she had never met, adds one to her real-life ratio. Every inbox is then
//! compared with the ledger the story kept, and every email with the preferences.
//!
//! The host takes a seat at her own table: Anna answers first, so with her 24 guests the 25
//! answers fill the 20 seats and leave five on the wait-list.

mod coffee;
mod day;
mod monthly;
mod network;
mod seats;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use futures::future::join_all;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;
use rendezvous_testkit::{Backend, attendance_summary};

use crate::helpers::{Lang, Person, World};
use crate::ledger::Ledger;
use day::{
    anna_moves_the_start, people_check_in, reminders_follow_the_new_start,
    the_cafe_completes_and_who_met_is_recorded,
};
use monthly::{
    occurrences_keep_paris_time_across_the_clock_change, the_chapter_meets_monthly,
    the_next_cafe_counts_unmet_connections,
};
use network::{anna_imports_her_network, her_network_shows_it};
use seats::{
    anna_invites_her_paris_connections, anna_schedules_the_cafe, twenty_five_answer_within_a_minute,
};

/// Her Paris connections, French then English speakers. The first three answer early, the
/// last three after the rush; Nora and Owen stay away from the café.
const PARIS: [(&str, Lang); 24] = [
    ("Bruno Lefèvre", Lang::Fr),
    ("Chloé Bernard", Lang::Fr),
    ("Karim Benali", Lang::Fr),
    ("Dara Nguyen", Lang::Fr),
    ("Élise Moreau", Lang::Fr),
    ("Farid Haddad", Lang::Fr),
    ("Gaëlle Roux", Lang::Fr),
    ("Hugo Petit", Lang::Fr),
    ("Inès Garnier", Lang::Fr),
    ("Julien Faure", Lang::Fr),
    ("Léa Fontaine", Lang::Fr),
    ("Mathis Girard", Lang::Fr),
    ("Nora Wilson", Lang::En),
    ("Owen Hughes", Lang::En),
    ("Priya Shah", Lang::En),
    ("Quinn Taylor", Lang::En),
    ("Rosa Evans", Lang::En),
    ("Sam Patel", Lang::En),
    ("Tara Collins", Lang::En),
    ("Umar Khan", Lang::En),
    ("Vera Scott", Lang::En),
    ("Will Turner", Lang::En),
    ("Xena Price", Lang::En),
    ("Yusuf Ali", Lang::En),
];

/// The members of "Rendezvous Paris" besides Anna: five of her connections and Olivier.
const JOINERS: [&str; 6] = ["Bruno", "Chloé", "Dara", "Nora", "Owen", "Olivier"];

const TITLE: &str = "Café networking — Le Marais";
const NOTE: &str = "Found you in my LinkedIn export: coffee in Paris soon?";

/// Thursday 8 April 2027, 08:30 in Paris (summer time): the café as first planned.
fn first_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 4, 8, 6, 30, 0).unwrap()
}

/// 09:00 in Paris, where Anna moves it.
fn moved_start() -> DateTime<Utc> {
    first_start() + Duration::minutes(30)
}

/// 10:00 in Paris: the end, before and after the move.
fn end() -> DateTime<Utc> {
    first_start() + Duration::minutes(90)
}

/// Who takes part, by the roles the story gives them.
struct Network {
    anna: Person,
    /// Her 24 connections in Paris, in [`PARIS`] order.
    paris: Vec<Person>,
    /// A connection in Lyon: not invited to a Paris café.
    lena: Person,
    /// A member in her export she does not pick: not a connection.
    olivier: Person,
}

impl Network {
    /// The one whose name starts with `name`.
    fn named(&self, name: &str) -> &Person {
        let everyone = self.everyone();
        everyone
            .into_iter()
            .find(|p| p.name.starts_with(name))
            .unwrap()
    }

    /// The one with the member id `id`.
    fn by_id(&self, id: &str) -> &Person {
        let everyone = self.everyone();
        everyone.into_iter().find(|p| p.id == id).unwrap()
    }

    /// Everyone in the story, Anna first.
    fn everyone(&self) -> Vec<&Person> {
        let mut all = vec![&self.anna, &self.lena, &self.olivier];
        all.extend(&self.paris);
        all
    }

    /// Signs everyone in again: access tokens last minutes, the story's clock moves by days.
    async fn sign_in_again(&mut self, world: &World) {
        let mut all: Vec<&mut Person> = vec![&mut self.anna, &mut self.lena, &mut self.olivier];
        all.extend(&mut self.paris);
        join_all(all.into_iter().map(|p| p.sign_in_again(world))).await;
    }
}

pub async fn the_product_story_from_import_to_the_next_meetup(backend: Backend) {
    let world = World::start(backend).await;
    let mut ledger = Ledger::default();
    let mut net = anna_imports_her_network(&world, &mut ledger).await;
    let (chapter, cafe) = anna_schedules_the_cafe(&world, &net, &mut ledger).await;
    anna_invites_her_paris_connections(&world, &net, &cafe, &mut ledger).await;
    let seats = twenty_five_answer_within_a_minute(&world, &net, &cafe, &mut ledger).await;
    anna_moves_the_start(&world, &net, &cafe, &seats, &mut ledger).await;
    reminders_follow_the_new_start(&world, &mut net, &cafe, &seats, &mut ledger).await;
    let came = people_check_in(&world, &mut net, &cafe, &seats).await;
    the_cafe_completes_and_who_met_is_recorded(&world, &mut net, &cafe, &came, &mut ledger).await;
    her_network_shows_it(&world, &net, &cafe, &came).await;
    let series = the_chapter_meets_monthly(&world, &net, &chapter, &mut ledger).await;
    the_next_cafe_counts_unmet_connections(&world, &net, &series, &came, &mut ledger).await;
    occurrences_keep_paris_time_across_the_clock_change(&world, &mut net, &series, &mut ledger)
        .await;
    coffee::anna_meets_nora_for_coffee(&world, &mut net, &mut ledger).await;

    net.sign_in_again(&world).await;
    let inboxes = ledger.assert_inboxes(&world, &net.everyone()).await;
    // Élise and Priya turned invitation emails off; the other 22 invitees got one.
    assert_eq!(
        Ledger::emails_of_kind(&world, &inboxes, Kind::EventInvitation),
        22
    );
    world.stop().await;
}

/// Where the café and its monthly sequels take place.
fn venue() -> pb::Venue {
    pb::Venue {
        name: "Café Saint-Paul".to_owned(),
        address: "12 rue Saint-Paul, 75004 Paris".to_owned(),
        latitude: 48.8540,
        longitude: 2.3620,
    }
}

/// Who holds a seat and who waits, once the answers are in.
struct Seats {
    /// Confirmed, Anna first.
    confirmed: Vec<String>,
    /// Wait-listed, in their order.
    waiting: Vec<String>,
}

/// `who` answers "going" to `event_id`, seen by `visibility`; the RSVP they got.
async fn rsvp(
    world: &World,
    who: &Person,
    event_id: &str,
    visibility: pb::RsvpVisibility,
) -> pb::Rsvp {
    who.events(world)
        .rsvp(pb::RsvpRequest {
            event_id: event_id.to_owned(),
            intent: pb::RsvpIntent::Going.into(),
            visibility: visibility.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap()
}

/// The attendance summary of `event_id` as `who` sees it.
async fn summary(world: &World, who: &Person, event_id: &str) -> pb::AttendanceSummary {
    attendance_summary(&who.events(world), event_id)
        .await
        .unwrap()
}
