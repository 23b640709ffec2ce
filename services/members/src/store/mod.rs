//! Members storage on SQLite and PostgreSQL, one file per aggregate.
//!
//! Every method is written once and compiled for both backends (see
//! `rendezvous_common::db::with_db!`); steps that several transactions share are traits
//! (`MemberOps`, `SessionOps`, `ConnectionOps`, `MeetingOps`) implemented for both connection
//! types by one macro each, so a caller's transaction composes them. Each method that writes
//! more than one row runs in one transaction, outbox rows included.

mod blocks;
mod coffee;
mod coffee_bookings;
mod coffee_match;
mod coffee_people;
mod coffee_proposals;
mod coffee_round;
mod connections;
mod db;
mod export;
mod limits;
mod meetings;
mod members;
mod remeet;
mod sessions;

use rendezvous_common::db::Migrations;

pub use coffee::CoffeeOutcome;
pub use coffee_bookings::BookOutcome;
pub use coffee_proposals::{AnswerOutcome, ProposalRow};
pub use coffee_round::{NewProposal, RoundOutcome, RoundSettings};
pub use connections::{
    ConnectionRow, RequestLimits, RequestOutcome, RequestRow, RespondOutcome, SentRequests, Stats,
};
pub use db::Store;
pub use limits::{Budget, Hit};
pub use meetings::{CoAttendeeRow, MeetingRow, RecordOutcome};
pub use members::{ContactRow, MemberRow, NewMemberRecord, SearchFilter, UpdateOutcome};
pub use remeet::{DueMember, NudgeRow, RemeetCandidate};
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
        (
            4,
            "recorded attendees",
            include_str!("../../migrations/sqlite/0004_recorded_attendees.sql"),
        ),
        (
            5,
            "outbox dead letters",
            rendezvous_common::outbox::SQLITE_DEAD_LETTERS_DDL,
        ),
        (
            6,
            "sign-in limits",
            include_str!("../../migrations/sqlite/0006_sign_in_limits.sql"),
        ),
        (
            7,
            "outbox trace context",
            rendezvous_common::outbox::TRACE_CONTEXT_DDL,
        ),
        (
            8,
            "findable by contact details",
            include_str!("../../migrations/sqlite/0008_findable.sql"),
        ),
        (
            9,
            "revoked sessions",
            include_str!("../../migrations/sqlite/0009_revoked_sessions.sql"),
        ),
        (
            10,
            "block changes",
            include_str!("../../migrations/sqlite/0010_block_changes.sql"),
        ),
        (
            11,
            "coffee settings",
            include_str!("../../migrations/sqlite/0011_coffee_settings.sql"),
        ),
        (
            12,
            "coffee proposals",
            include_str!("../../migrations/sqlite/0012_coffee_proposals.sql"),
        ),
        (
            13,
            "coffee round lease",
            include_str!("../../migrations/sqlite/0013_coffee_round_lease.sql"),
        ),
        (
            14,
            "open proposal derived",
            include_str!("../../migrations/sqlite/0014_open_proposal_derived.sql"),
        ),
        (
            15,
            "coffee slots",
            include_str!("../../migrations/sqlite/0015_coffee_slots.sql"),
        ),
        (
            16,
            "coffee bookings",
            include_str!("../../migrations/sqlite/0016_coffee_bookings.sql"),
        ),
        (
            17,
            "meeting hopes",
            include_str!("../../migrations/sqlite/0017_meeting_hopes.sql"),
        ),
        (
            18,
            "met edges to events",
            include_str!("../../migrations/sqlite/0018_met_edges_to_events.sql"),
        ),
        (
            19,
            "remeet nudges",
            include_str!("../../migrations/sqlite/0019_remeet_nudges.sql"),
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
        (
            4,
            "recorded attendees",
            include_str!("../../migrations/postgres/0004_recorded_attendees.sql"),
        ),
        (
            5,
            "outbox dead letters",
            rendezvous_common::outbox::POSTGRES_DEAD_LETTERS_DDL,
        ),
        (
            6,
            "sign-in limits",
            include_str!("../../migrations/postgres/0006_sign_in_limits.sql"),
        ),
        (
            7,
            "outbox trace context",
            rendezvous_common::outbox::TRACE_CONTEXT_DDL,
        ),
        (
            8,
            "findable by contact details",
            include_str!("../../migrations/postgres/0008_findable.sql"),
        ),
        (
            9,
            "revoked sessions",
            include_str!("../../migrations/postgres/0009_revoked_sessions.sql"),
        ),
        (
            10,
            "block changes",
            include_str!("../../migrations/postgres/0010_block_changes.sql"),
        ),
        (
            11,
            "coffee settings",
            include_str!("../../migrations/postgres/0011_coffee_settings.sql"),
        ),
        (
            12,
            "coffee proposals",
            include_str!("../../migrations/postgres/0012_coffee_proposals.sql"),
        ),
        (
            13,
            "coffee round lease",
            include_str!("../../migrations/postgres/0013_coffee_round_lease.sql"),
        ),
        (
            14,
            "open proposal derived",
            include_str!("../../migrations/postgres/0014_open_proposal_derived.sql"),
        ),
        (
            15,
            "coffee slots",
            include_str!("../../migrations/postgres/0015_coffee_slots.sql"),
        ),
        (
            16,
            "coffee bookings",
            include_str!("../../migrations/postgres/0016_coffee_bookings.sql"),
        ),
        (
            17,
            "meeting hopes",
            include_str!("../../migrations/postgres/0017_meeting_hopes.sql"),
        ),
        (
            18,
            "met edges to events",
            include_str!("../../migrations/postgres/0018_met_edges_to_events.sql"),
        ),
        (
            19,
            "remeet nudges",
            include_str!("../../migrations/postgres/0019_remeet_nudges.sql"),
        ),
    ],
};

#[cfg(test)]
mod tests {
    /// Every migration file runs: none is left out of `MIGRATIONS`.
    #[test]
    fn every_migration_file_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        super::MIGRATIONS.check_files(&dir).unwrap();
    }
}
