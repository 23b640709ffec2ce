//! Chapters between protobuf and the domain.

use chrono::{DateTime, Utc};
use rendezvous_common::error::FieldViolation;
use rendezvous_common::pagination::PageTokens;
use rendezvous_common::validate::{self};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use uuid::Uuid;

use super::{Fields, id_cursor, ids_pb, limit, time_zone, timed_cursor, ts};
use crate::domain::chapter::{ChapterEdit, ChapterRow, MemberRow, NewChapter, Role, city_key};
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

/// A request about one chapter, by its `chapter_id`.
#[derive(Clone, Copy, Debug)]
pub struct ChapterRef(pub Uuid);

by_id!(
    ChapterRef,
    chapter_id: GetChapterRequest,
    JoinChapterRequest,
    LeaveChapterRequest,
    GetChapterHealthRequest,
);

/// A ListChapters: the city (its lower-cased key) and the page.
#[derive(Clone, Debug)]
pub struct ChaptersQuery {
    pub city_key: Option<String>,
    pub limit: u32,
    pub after: Option<Uuid>,
}

impl ChaptersQuery {
    pub const SCOPE: &'static str = "ListChapters";
}

impl TryFrom<(&pb::ListChaptersRequest, &PageTokens)> for ChaptersQuery {
    type Error = Error;

    fn try_from((req, tokens): (&pb::ListChaptersRequest, &PageTokens)) -> Result<Self, Error> {
        let mut f = Fields::new();
        let city = f.or_default(validate::text("city", &req.city, 0, 100, false));
        let limit = limit(&mut f, req.page_size);
        let after = id_cursor(&mut f, tokens, Self::SCOPE, &req.page_token);
        f.finish(Self {
            city_key: (!city.is_empty()).then(|| city_key(&city)),
            limit,
            after,
        })
    }
}

/// A ListChapterMembers: the chapter and the page.
#[derive(Clone, Debug)]
pub struct ChapterMembersQuery {
    pub chapter_id: Uuid,
    pub scope: String,
    pub limit: u32,
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl TryFrom<(&pb::ListChapterMembersRequest, &PageTokens)> for ChapterMembersQuery {
    type Error = Error;

    fn try_from(
        (req, tokens): (&pb::ListChapterMembersRequest, &PageTokens),
    ) -> Result<Self, Error> {
        let mut f = Fields::new();
        let chapter_id = f.or_default(validate::id("chapter_id", &req.chapter_id));
        let limit = limit(&mut f, req.page_size);
        // Tokens are scoped to their chapter: one cannot page another chapter with them.
        let scope = format!("ListChapterMembers/{}", req.chapter_id);
        let after = timed_cursor(&mut f, tokens, &scope, &req.page_token);
        f.finish(Self {
            chapter_id,
            scope,
            limit,
            after,
        })
    }
}

/// A chapter's health as GetChapterHealth answers it: its counts at `now`, the figures they
/// give and the months shown.
pub fn health_to_pb(
    chapter: &ChapterRow,
    counts: &crate::store::ChapterCounts,
    now: DateTime<Utc>,
) -> pb::ChapterHealth {
    use crate::domain::chapter_health::{MonthCounts, figures, months_up_to};
    let shown = months_up_to(now, &chapter.time_zone);
    let all = counts
        .months
        .values()
        .fold(MonthCounts::default(), |sum, m| sum.plus(m));
    let none = MonthCounts::default();
    let in_shown = |month: &str| counts.months.get(month).unwrap_or(&none);
    let last_year = shown
        .iter()
        .fold(MonthCounts::default(), |sum, m| sum.plus(in_shown(m)));
    let f = figures(&all, &last_year);
    pb::ChapterHealth {
        chapter_id: chapter.id.to_string(),
        members: chapter.member_count,
        active_members: counts.active,
        dormant_members: (chapter.member_count - counts.active).max(0),
        events_per_month: f.events_per_month,
        attendance_rate: f.attendance_rate,
        no_show_rate: f.no_show_rate,
        first_timers: all.first_timers,
        returned_within_60_days: all.returned,
        met_edges_per_event: f.met_edges_per_event,
        completed_events: all.events,
        last_event_time: counts.last_event_at.and_then(ts),
        months: shown
            .iter()
            .map(|month| {
                let m = in_shown(month);
                pb::ChapterMonth {
                    month: month.clone(),
                    events: m.events,
                    confirmed: m.confirmed,
                    checked_in: m.checked_in,
                    no_shows: m.no_shows,
                    first_timers: m.first_timers,
                    returned_within_60_days: m.returned,
                    met_edges: m.met_edges,
                }
            })
            .collect(),
    }
}
