//! Chapters between protobuf and the domain.

use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use uuid::Uuid;

use super::{time_zone, ts};
use crate::domain::chapter::{ChapterEdit, ChapterRow, MemberRow, NewChapter, Role};

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
pub fn new_chapter(
    req: pb::CreateChapterRequest,
    creator: Uuid,
) -> Result<NewChapter, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let request_id = v.check(validate::text("request_id", &req.request_id, 0, 100, false));
    let Some(chapter) = req.chapter else {
        v.push(FieldViolation::new("chapter", "is required"));
        return Err(v.finish().err().unwrap_or_default());
    };
    let name = v.check(name("chapter.name", &chapter.name));
    let city = v.check(city("chapter.city", &chapter.city));
    let time_zone = v.check(time_zone("chapter.time_zone", &chapter.time_zone));
    let description = v.check(description("chapter.description", &chapter.description));
    match (name, city, time_zone, description, request_id) {
        (Some(name), Some(city), Some(time_zone), Some(description), Some(request_id))
            if v.is_empty() =>
        {
            Ok(NewChapter {
                id: Uuid::now_v7(),
                name,
                city,
                time_zone,
                description,
                created_by: creator.to_string(),
                request_id: (!request_id.is_empty()).then_some(request_id),
            })
        }
        _ => Err(v.finish().err().unwrap_or_default()),
    }
}

/// Parses the chapter and mask of an UpdateChapter request. An empty mask is refused: a full
/// replacement is never what a client means.
pub fn chapter_edit(
    chapter: &pb::Chapter,
    mask: Option<&FieldMask>,
) -> Result<ChapterEdit, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let mut edit = ChapterEdit {
        etag: (!chapter.etag.is_empty()).then(|| chapter.etag.clone()),
        ..ChapterEdit::default()
    };
    let paths = validate::mask_paths(mask, &mut v);
    for path in paths {
        match path.as_str() {
            "name" => edit.name = v.check(name("chapter.name", &chapter.name)),
            "city" => edit.city = v.check(city("chapter.city", &chapter.city)),
            "time_zone" => {
                edit.time_zone = v.check(time_zone("chapter.time_zone", &chapter.time_zone));
            }
            "description" => {
                edit.description =
                    v.check(description("chapter.description", &chapter.description));
            }
            other => v.push(FieldViolation::new(
                "update_mask",
                format!(
                    "unknown or read-only path `{other}`; updatable: {}",
                    UPDATABLE_PATHS.join(", ")
                ),
            )),
        }
    }
    v.finish().map(|()| edit)
}

pub fn chapter_to_pb(c: ChapterRow) -> pb::Chapter {
    pb::Chapter {
        id: c.id,
        name: c.name,
        city: c.city,
        time_zone: c.time_zone,
        description: c.description,
        organizer_ids: c.organizer_ids,
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
        member_id: m.member_id.clone(),
        role: role.into(),
        join_time: ts(m.joined_at),
    }
}
