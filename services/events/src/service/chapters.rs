//! `ChapterService`: city chapters, their organisers and members.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rendezvous_common::clock::Clock;
use rendezvous_common::error::{DbErrorKind, FieldViolation, classify_db_error};
use rendezvous_common::pagination::{PageTokens, next_page_token, page_size};
use rendezvous_common::validate::{self, Violations};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use tonic::Request;
use uuid::Uuid;

use super::{Reply, id_or_me, member_caller, reply, ts};
use crate::chapters::{ChapterEdit, ChapterRow, MemberRow, NewChapter, Role};
use crate::error::{Error, Result};
use crate::store::Store;

/// Page size when a request names none.
const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page; larger requests are clamped.
const MAX_PAGE_SIZE: u32 = 100;
/// Paths UpdateChapter accepts in its mask.
const UPDATABLE_PATHS: [&str; 4] = ["name", "city", "time_zone", "description"];

struct State {
    store: Store,
    clock: Clock,
    page_tokens: PageTokens,
}

/// The chapter service; clone-cheap.
#[derive(Clone)]
pub struct Chapters(Arc<State>);

impl Chapters {
    pub fn new(store: Store, clock: Clock, page_tokens: PageTokens) -> Self {
        Self(Arc::new(State {
            store,
            clock,
            page_tokens,
        }))
    }

    fn now(&self) -> DateTime<Utc> {
        self.0.clock.now_micros()
    }
}

fn name(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 1, 100, false)
}

fn city(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 1, 100, false)
}

fn description(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 0, 2000, true)
}

/// An IANA time zone name, required, stored in its canonical spelling.
fn time_zone(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    value
        .parse::<Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| FieldViolation::new(field, "must be an IANA time zone such as Europe/Paris"))
}

/// Parses a CreateChapter request of `creator`.
fn new_chapter(
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
fn chapter_edit(
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

fn chapter_to_pb(c: ChapterRow) -> pb::Chapter {
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

fn member_to_pb(m: &MemberRow) -> pb::ChapterMember {
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

/// Where the next page of ListChapterMembers starts: after `(joined_at µs, member id)`.
type MembersCursor = (i64, String);

#[tonic::async_trait]
impl pb::chapter_service_server::ChapterService for Chapters {
    async fn create_chapter(
        &self,
        request: Request<pb::CreateChapterRequest>,
    ) -> Reply<pb::CreateChapterResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let new = new_chapter(request.into_inner(), me)?;
                let chapter = match self.0.store.create_chapter(&new, self.now()).await {
                    Ok(chapter) => chapter,
                    // A concurrent retry with the same request id won the race: return its chapter.
                    Err(err) if classify_db_error(&err) == DbErrorKind::UniqueViolation => {
                        let request_id = new.request_id.as_deref().ok_or(Error::Database(err))?;
                        self.0
                            .store
                            .chapter_by_request(&new.created_by, request_id)
                            .await?
                            .ok_or(Error::NotFound("chapter"))?
                    }
                    Err(err) => return Err(err.into()),
                };
                Ok(pb::CreateChapterResponse {
                    chapter: Some(chapter_to_pb(chapter)),
                })
            }
            .await,
        )
    }

    async fn get_chapter(
        &self,
        request: Request<pb::GetChapterRequest>,
    ) -> Reply<pb::GetChapterResponse> {
        reply(
            async {
                let id = validate::id("chapter_id", &request.get_ref().chapter_id)?;
                let chapter = self
                    .0
                    .store
                    .chapter(&id.to_string())
                    .await?
                    .ok_or(Error::NotFound("chapter"))?;
                Ok(pb::GetChapterResponse {
                    chapter: Some(chapter_to_pb(chapter)),
                })
            }
            .await,
        )
    }

    async fn list_chapters(
        &self,
        request: Request<pb::ListChaptersRequest>,
    ) -> Reply<pb::ListChaptersResponse> {
        reply(
            async {
                let req = request.into_inner();
                let mut v = Violations::new();
                let city = v.check(validate::text("city", &req.city, 0, 100, false));
                let limit = v.check(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
                let after: Option<Option<String>> =
                    v.check(self.0.page_tokens.decode("ListChapters", &req.page_token));
                v.finish()?;
                let city_key = city
                    .filter(|c| !c.is_empty())
                    .map(|c| crate::chapters::city_key(&c));
                let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
                let mut rows = self
                    .0
                    .store
                    .list_chapters(city_key.as_deref(), after.flatten().as_deref(), limit + 1)
                    .await?;
                let next_page_token = next_page_token(&mut rows, limit, |c| {
                    self.0.page_tokens.encode("ListChapters", &c.id)
                });
                Ok(pb::ListChaptersResponse {
                    chapters: rows.into_iter().map(chapter_to_pb).collect(),
                    next_page_token,
                })
            }
            .await,
        )
    }

    async fn update_chapter(
        &self,
        request: Request<pb::UpdateChapterRequest>,
    ) -> Reply<pb::UpdateChapterResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.into_inner();
                let chapter = req
                    .chapter
                    .ok_or_else(|| Error::field("chapter", "is required"))?;
                let mut v = Violations::new();
                let id = v.check(validate::id("chapter.id", &chapter.id));
                let edit = match chapter_edit(&chapter, req.update_mask.as_ref()) {
                    Ok(edit) => Some(edit),
                    Err(violations) => {
                        violations.into_iter().for_each(|e| v.push(e));
                        None
                    }
                };
                v.finish()?;
                let (Some(id), Some(edit)) = (id, edit) else {
                    return Err(Error::field("chapter", "is invalid"));
                };
                let chapter = self
                    .0
                    .store
                    .update_chapter(&id.to_string(), &me.to_string(), &edit, self.now())
                    .await??;
                Ok(pb::UpdateChapterResponse {
                    chapter: Some(chapter_to_pb(chapter)),
                })
            }
            .await,
        )
    }

    async fn join_chapter(
        &self,
        request: Request<pb::JoinChapterRequest>,
    ) -> Reply<pb::JoinChapterResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let id = validate::id("chapter_id", &request.get_ref().chapter_id)?;
                let chapter = self
                    .0
                    .store
                    .join_chapter(&id.to_string(), &me.to_string(), self.now())
                    .await??;
                Ok(pb::JoinChapterResponse {
                    chapter: Some(chapter_to_pb(chapter)),
                })
            }
            .await,
        )
    }

    async fn leave_chapter(
        &self,
        request: Request<pb::LeaveChapterRequest>,
    ) -> Reply<pb::LeaveChapterResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let id = validate::id("chapter_id", &request.get_ref().chapter_id)?;
                self.0
                    .store
                    .leave_chapter(&id.to_string(), &me.to_string(), self.now())
                    .await??;
                Ok(pb::LeaveChapterResponse {})
            }
            .await,
        )
    }

    async fn add_organizer(
        &self,
        request: Request<pb::AddOrganizerRequest>,
    ) -> Reply<pb::AddOrganizerResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.get_ref();
                let mut v = Violations::new();
                let id = v.check(validate::id("chapter_id", &req.chapter_id));
                let member = v.check(id_or_me("member_id", &req.member_id, me));
                v.finish()?;
                let (Some(id), Some(member)) = (id, member) else {
                    return Err(Error::field("chapter_id", "is invalid"));
                };
                let chapter = self
                    .0
                    .store
                    .add_organizer(
                        &id.to_string(),
                        &me.to_string(),
                        &member.to_string(),
                        self.now(),
                    )
                    .await??;
                Ok(pb::AddOrganizerResponse {
                    chapter: Some(chapter_to_pb(chapter)),
                })
            }
            .await,
        )
    }

    async fn list_chapter_members(
        &self,
        request: Request<pb::ListChapterMembersRequest>,
    ) -> Reply<pb::ListChapterMembersResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let req = request.into_inner();
                let mut v = Violations::new();
                let id = v.check(validate::id("chapter_id", &req.chapter_id));
                let limit = v.check(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
                // Tokens are scoped to their chapter: one cannot page another chapter with them.
                let scope = format!("ListChapterMembers/{}", req.chapter_id);
                let after: Option<Option<MembersCursor>> =
                    v.check(self.0.page_tokens.decode(&scope, &req.page_token));
                v.finish()?;
                let (Some(id), Some(limit)) = (id, limit) else {
                    return Err(Error::field("chapter_id", "is invalid"));
                };
                let after = match after.flatten() {
                    Some((micros, member_id)) => Some((
                        DateTime::from_timestamp_micros(micros).ok_or_else(|| {
                            Error::field("page_token", "not a page token issued by this method")
                        })?,
                        member_id,
                    )),
                    None => None,
                };
                let mut rows = self
                    .0
                    .store
                    .list_chapter_members(&id.to_string(), &me.to_string(), after, limit + 1)
                    .await??;
                let next_page_token = next_page_token(&mut rows, limit, |m| {
                    let cursor: MembersCursor =
                        (m.joined_at.timestamp_micros(), m.member_id.clone());
                    self.0.page_tokens.encode(&scope, &cursor)
                });
                Ok(pb::ListChapterMembersResponse {
                    members: rows.iter().map(member_to_pb).collect(),
                    next_page_token,
                })
            }
            .await,
        )
    }
}
