//! `ChapterService`: city chapters, their organisers and members.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rendezvous_common::clock::Clock;
use rendezvous_common::error::{DbErrorKind, classify_db_error};
use rendezvous_common::pagination::{PageTokens, next_page_token, page_size};
use rendezvous_common::validate::{self};
use rendezvous_proto::events::v1 as pb;
use tonic::Request;

use super::{Reply, id_or_me, member_caller, reply};
use crate::convert::chapters::{chapter_edit, chapter_to_pb, member_to_pb, new_chapter};
use crate::convert::{Fields, cursor_id};
use crate::domain::chapter::city_key;
use crate::error::Error;
use crate::store::Store;

/// Page size when a request names none.
const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page; larger requests are clamped.
const MAX_PAGE_SIZE: u32 = 100;
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
                            .chapter_by_request(new.created_by, request_id)
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
                    .chapter(id)
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
                let mut f = Fields::new();
                let city = f.or_default(validate::text("city", &req.city, 0, 100, false));
                let limit =
                    f.or_default(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
                let after: Option<String> =
                    f.or_default(self.0.page_tokens.decode("ListChapters", &req.page_token));
                let after = after.and_then(|id| f.violations().check(cursor_id(&id)));
                f.finish(())?;
                let city_key = (!city.is_empty()).then(|| city_key(&city));
                let mut rows = self
                    .0
                    .store
                    .list_chapters(city_key.as_deref(), after, limit + 1)
                    .await?;
                let next_page_token = next_page_token(&mut rows, limit, |c| {
                    self.0.page_tokens.encode("ListChapters", &c.id.to_string())
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
                let mut f = Fields::new();
                let id = f.or_default(validate::id("chapter.id", &chapter.id));
                let edit = chapter_edit(&mut f, &chapter, req.update_mask.as_ref());
                f.finish(())?;
                let chapter = self
                    .0
                    .store
                    .update_chapter(id, me, &edit, self.now())
                    .await?;
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
                let chapter = self.0.store.join_chapter(id, me, self.now()).await?;
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
                self.0.store.leave_chapter(id, me, self.now()).await?;
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
                let mut f = Fields::new();
                let id = f.or_default(validate::id("chapter_id", &req.chapter_id));
                let member = f.or_default(id_or_me("member_id", &req.member_id, me));
                f.finish(())?;
                let chapter = self
                    .0
                    .store
                    .add_organizer(id, me, member, self.now())
                    .await?;
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
                let mut f = Fields::new();
                let id = f.or_default(validate::id("chapter_id", &req.chapter_id));
                let limit =
                    f.or_default(page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
                // Tokens are scoped to their chapter: one cannot page another chapter with them.
                let scope = format!("ListChapterMembers/{}", req.chapter_id);
                let after: Option<MembersCursor> =
                    f.or_default(self.0.page_tokens.decode(&scope, &req.page_token));
                f.finish(())?;
                let after = match after {
                    Some((micros, member_id)) => Some((
                        DateTime::from_timestamp_micros(micros).ok_or_else(|| {
                            Error::field("page_token", "not a page token issued by this method")
                        })?,
                        cursor_id(&member_id)?,
                    )),
                    None => None,
                };
                let mut rows = self
                    .0
                    .store
                    .list_chapter_members(id, me, after, limit + 1)
                    .await?;
                let next_page_token = next_page_token(&mut rows, limit, |m| {
                    let cursor: MembersCursor =
                        (m.joined_at.timestamp_micros(), m.member_id.to_string());
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
