//! The members service's integration tests, one binary: each module spawns the real service
//! on both backends and talks to it over gRPC; `helpers` holds what they share.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod helpers;

mod abuse_limits;
mod authorization;
mod bad_inputs;
mod blocks_outbox;
mod coffee_rounds;
mod concurrency;
mod contact_privacy;
mod import;
mod matrix;
mod met_edges_outbox;
mod methods;
mod notices;
mod remeet;
mod revocation;
mod server;
mod sign_in_limits;
mod story;
mod tokens;
