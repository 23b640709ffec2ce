//! Whole-stack tests: members, events and notifications in-process, as production wires them,
//! driven through their public gRPC APIs only.
//!
//! One story causes every kind of notification that has a producer, each to a reader whose
//! profile is in French and one in English; then every inbox item and its email are read as
//! those people would read them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod blocks;
mod changes;
mod checks;
mod coffee;
mod erasure;
mod helpers;
mod ledger;
mod mail;
mod people;
mod reminders;
mod seats;
mod sessions;
mod story;

use rendezvous_testkit::{Backend, backend_tests};

use crate::checks::Told;
use crate::helpers::{Cast, World};
use crate::story::the_product_story_from_import_to_the_next_meetup;

async fn every_notification_reads_well_in_french_and_english(backend: Backend) {
    checks::assert_every_kind_is_classified();
    let world = World::start(backend).await;
    let mut cast = Cast::register(&world).await;
    let mut told = Told::default();
    people::welcomes(&cast, &mut told);
    people::connections(&world, &cast, &mut told).await;
    let coffee = people::coffee(&world, &cast, &mut told).await;
    let chapter = changes::life_of_an_event(&world, &cast, &mut told).await;
    seats::waitlist_promotion(&world, &cast, &mut told).await;
    let offered = seats::waitlist_offers(&world, &cast, &mut told).await;
    seats::approvals(&world, &cast, &mut told).await;
    let meetup = people::check_in(&world, &cast, &mut told).await;

    // Hours later: the meetup is over and the offers have run out.
    world.advance(seats::past_the_offer_window());
    cast.sign_in_again(&world).await;
    people::complete(&world, &cast, &meetup, &mut told).await;
    seats::offers_expire(&world, &cast, &offered, &mut told).await;
    // Two days on: the reminders before a dinner.
    reminders::before_the_start(&world, &mut cast, &coffee, &mut told).await;
    // Two months on: the chapter has gone quiet.
    changes::quiet_chapter(&world, &cast, &chapter, &mut told).await;
    cast.sign_in_again(&world).await;
    // The same day: two who met at the meetup are nudged to see each other again.
    people::remeet(&world, &cast, &mut told).await;

    checks::assert_everyone_was_told_well(&world, &cast, &told).await;
    // Last, one of them leaves: their export, then their erasure everywhere.
    erasure::export_then_erase(&world, &cast.chloe).await;
    world.stop().await;
}

async fn a_booked_coffee_ends_with_did_you_meet_and_two_yeses_mark_them_met(backend: Backend) {
    let world = World::start(backend).await;
    let mut cast = Cast::register(&world).await;
    coffee::from_the_round_to_met_in_person(&world, &mut cast).await;
    world.stop().await;
}

async fn a_block_after_the_booking_calls_the_coffee_off_for_both(backend: Backend) {
    let world = World::start(backend).await;
    let mut cast = Cast::register(&world).await;
    coffee::a_block_after_the_booking_calls_it_off_for_both(&world, &mut cast).await;
    world.stop().await;
}

async fn signing_out_ends_the_sessions_stream_and_tokens_everywhere(backend: Backend) {
    let world = World::start(backend).await;
    sessions::logout_ends_its_stream_and_its_tokens_everywhere(&world).await;
    world.stop().await;
}

async fn blocks_made_in_members_hide_and_show_a_hosts_events(backend: Backend) {
    let world = World::start(backend).await;
    blocks::a_block_in_members_hides_the_hosts_event_until_the_unblock(&world).await;
    world.stop().await;
}

backend_tests!(
    every_notification_reads_well_in_french_and_english,
    a_booked_coffee_ends_with_did_you_meet_and_two_yeses_mark_them_met,
    a_block_after_the_booking_calls_the_coffee_off_for_both,
    blocks_made_in_members_hide_and_show_a_hosts_events,
    the_product_story_from_import_to_the_next_meetup,
    signing_out_ends_the_sessions_stream_and_tokens_everywhere,
);
