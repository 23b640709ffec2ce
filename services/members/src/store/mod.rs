//! Members storage on SQLite and PostgreSQL, one file per aggregate.
//!
//! Every method is written once and compiled for both backends (see
//! `rendezvous_common::db::with_db!`); steps that several transactions share are traits
//! (`MemberOps`, `SessionOps`, `ConnectionOps`, `MeetingOps`) implemented for both connection
//! types by one macro each, so a caller's transaction composes them. Each method that writes
//! more than one row runs in one transaction, outbox rows included.

mod connections;
mod export;
mod meetings;
mod members;
mod sessions;

use rendezvous_common::db::{Db, Migrations};
use uuid::Uuid;

pub use connections::{ConnectionRow, RequestOutcome, RequestRow, RespondOutcome, Stats};
pub use meetings::{CoAttendeeRow, MeetingRow, RecordOutcome};
pub use members::{ContactRow, MemberRow, NewMemberRecord, SearchFilter, UpdateOutcome};
pub use sessions::{NewSession, RotateOutcome};

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        (
            1,
            "members",
            include_str!("../../migrations/sqlite/0001_members.sql"),
        ),
        (2, "outbox", rendezvous_common::outbox::SQLITE_DDL),
        (
            3,
            "recorded event facts",
            include_str!("../../migrations/sqlite/0003_recorded_event_facts.sql"),
        ),
    ],
    postgres: &[
        (
            1,
            "members",
            include_str!("../../migrations/postgres/0001_members.sql"),
        ),
        (2, "outbox", rendezvous_common::outbox::POSTGRES_DDL),
        (
            3,
            "recorded event facts",
            include_str!("../../migrations/postgres/0003_recorded_event_facts.sql"),
        ),
    ],
};

/// An id read back from the database: a UUID, since only parsed ids are ever written.
pub(crate) fn stored_id(id: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::try_parse(id).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(crate) fn ordered<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a < b { (a, b) } else { (b, a) }
}

/// The members database.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}
