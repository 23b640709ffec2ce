//! Chapters as the rules see them: a chapter, its members and their roles.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A member's role in a chapter, as stored (`member` | `organizer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Member,
    Organizer,
}

/// A chapter to create (already validated).
#[derive(Clone, Debug)]
pub struct NewChapter {
    pub id: Uuid,
    pub name: String,
    pub city: String,
    pub time_zone: String,
    pub description: String,
    /// The creator, who becomes its first organiser.
    pub created_by: Uuid,
    pub request_id: Option<String>,
}

/// The masked fields of an UpdateChapter (already validated); `None` keeps the stored value.
#[derive(Clone, Debug, Default)]
pub struct ChapterEdit {
    pub name: Option<String>,
    pub city: Option<String>,
    pub time_zone: Option<String>,
    pub description: Option<String>,
    /// The version the caller read; a mismatch refuses the update.
    pub etag: Option<String>,
}

/// A chapter with its organisers and member count.
#[derive(Clone, Debug)]
pub struct ChapterRow {
    pub id: Uuid,
    pub name: String,
    pub city: String,
    pub time_zone: String,
    pub description: String,
    /// Organisers in the order they became members.
    pub organizer_ids: Vec<Uuid>,
    pub member_count: i64,
    /// Bumped by every change of the chapter or its organisers; the etag.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One member of a chapter.
#[derive(Clone, Debug)]
pub struct MemberRow {
    pub member_id: Uuid,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// Why a chapter operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChapterRefusal {
    #[error("no such chapter")]
    NotFound,
    #[error("only organisers may do this")]
    NotOrganizer,
    #[error("only members of the chapter may do this")]
    NotMember,
    #[error("the chapter changed since it was read")]
    EtagMismatch,
    #[error("the last organiser cannot leave")]
    LastOrganizer,
}

/// The case-insensitive form of a city name that filters compare.
pub fn city_key(city: &str) -> String {
    city.trim().to_lowercase()
}
