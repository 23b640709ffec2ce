//! Chapters between protobuf and the domain.

use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate::{self};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use uuid::Uuid;

use super::{Fields, ids_pb, time_zone, ts};
use crate::domain::chapter::{ChapterEdit, ChapterRow, MemberRow, NewChapter, Role};
use crate::error::Error;

/// Paths UpdateChapter accepts in its mask.
const UPDATABLE_PATHS: [&str; 4] = ["name", "city", "time_zone", "description"];

fn name(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 1, 100, false)
}

fn city(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 1, 100, false)
}

fn description(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 0, 2000, true)
}

/// Parses a CreateChapter request of `creator`.
pub fn new_chapter(req: pb::CreateChapterRequest, creator: Uuid) -> Result<NewChapter, Error> {
    let mut f = Fields::new();
    let request_id = f.or_default(validate::text("request_id", &req.request_id, 0, 100, false));
    let Some(chapter) = req.chapter else {
        return Err(f.refuse(FieldViolation::new("chapter", "is required")));
    };
    let name = f.or_default(name("chapter.name", &chapter.name));
    let city = f.or_default(city("chapter.city", &chapter.city));
    let time_zone = f.or_default(time_zone("chapter.time_zone", &chapter.time_zone));
    let description = f.or_default(description("chapter.description", &chapter.description));
    f.finish(NewChapter {
        id: Uuid::now_v7(),
        name,
        city,
        time_zone,
        description,
        created_by: creator,
        request_id: (!request_id.is_empty()).then_some(request_id),
    })
}

/// Parses the chapter and mask of an UpdateChapter request. An empty mask is refused: a full
/// replacement is never what a client means.
pub fn chapter_edit(
    f: &mut Fields,
    chapter: &pb::Chapter,
    mask: Option<&FieldMask>,
) -> ChapterEdit {
    let mut edit = ChapterEdit {
        etag: (!chapter.etag.is_empty()).then(|| chapter.etag.clone()),
        ..ChapterEdit::default()
    };
    let paths = validate::mask_paths(mask, f.violations());
    for path in paths {
        match path.as_str() {
            "name" => edit.name = f.violations().check(name("chapter.name", &chapter.name)),
            "city" => edit.city = f.violations().check(city("chapter.city", &chapter.city)),
            "time_zone" => {
                edit.time_zone = f
                    .violations()
                    .check(time_zone("chapter.time_zone", &chapter.time_zone));
            }
            "description" => {
                edit.description = f
                    .violations()
                    .check(description("chapter.description", &chapter.description));
            }
            other => f.push(FieldViolation::new(
                "update_mask",
                format!(
                    "unknown or read-only path `{other}`; updatable: {}",
                    UPDATABLE_PATHS.join(", ")
                ),
            )),
        }
    }
    edit
}

pub fn chapter_to_pb(c: ChapterRow) -> pb::Chapter {
    pb::Chapter {
        id: c.id.to_string(),
        name: c.name,
        city: c.city,
        time_zone: c.time_zone,
        description: c.description,
        organizer_ids: ids_pb(&c.organizer_ids),
        member_count: i32::try_from(c.member_count).unwrap_or(i32::MAX),
        create_time: ts(c.created_at),
        update_time: ts(c.updated_at),
        etag: c.version.to_string(),
    }
}

pub fn member_to_pb(m: &MemberRow) -> pb::ChapterMember {
    let role = match m.role {
        Role::Member => pb::ChapterRole::Member,
        Role::Organizer => pb::ChapterRole::Organizer,
    };
    pb::ChapterMember {
        member_id: m.member_id.to_string(),
        role: role.into(),
        join_time: ts(m.joined_at),
    }
}
