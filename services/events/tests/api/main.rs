//! The events service's tests in one binary: each module covers one area over real gRPC (or,
//! for admission, the store) on both backends, sharing the fixtures in [`helpers`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod authorization;
mod chapters;
mod events;
mod helpers;
mod notices;
mod rsvp_admission;
mod told_again;
