//! The notifications service through its gRPC API, on SQLite and PostgreSQL: one test binary,
//! a module per area, and [`helpers`] for what they share.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod authorization;
mod bad_inputs;
mod delivery;
mod email;
mod erasure;
mod helpers;
mod inbox;
mod mail;
mod preferences;
mod story;
mod unsubscribe;
mod workers;
