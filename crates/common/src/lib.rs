//! What every Rendezvous service needs and nothing more: configuration pieces, telemetry, the
//! gRPC server bootstrap, the side doors' HTTP server, authentication, error mapping,
//! pagination tokens, the database pool with migrations, the transactional outbox, the clock
//! and the Prometheus metrics.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod metrics;
pub mod outbox;
pub mod pagination;
pub mod peers;
pub mod relay;
pub mod revocations;
pub mod server;
pub mod telemetry;
pub mod time;
pub mod validate;
