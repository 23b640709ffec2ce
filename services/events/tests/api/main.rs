//! The events service's tests in one binary: each module covers one area over real gRPC (or,
//! for admission, the store) on both backends, sharing the fixtures in [`helpers`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod abuse_limits;
mod attendee_visibility;
mod authorization;
mod blocks;
mod chapters;
mod coffee;
mod erasure;
mod events;
mod helpers;
mod members_calls;
mod metrics;
mod notices;
mod reminders;
mod revocation;
mod rsvp_admission;
mod shared_event;
mod story_steps;
mod told_again;
mod want_to_meet;
