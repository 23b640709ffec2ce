//! `ChapterService`: city chapters, their organisers and members.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rendezvous_common::clock::Clock;
use rendezvous_common::error::{DbErrorKind, classify_db_error};
use rendezvous_common::pagination::{PageTokens, next_page_token};
use rendezvous_common::validate::{self};
use rendezvous_proto::events::v1 as pb;
use tonic::Request;

use super::{Reply, id_or_me, member_caller, reply};
use crate::convert::Fields;
use crate::convert::chapters::{ChapterMembersQuery, ChapterRef, ChaptersQuery};
use crate::convert::chapters::{
    chapter_edit, chapter_to_pb, health_to_pb, member_to_pb, new_chapter,
};
use crate::convert::{id_token, timed_token};
use crate::domain::chapter::ChapterRow;
use crate::error::Error;
use crate::store::Store;

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

    /// The chapter, or NOT_FOUND.
    async fn found(&self, id: uuid::Uuid) -> Result<ChapterRow, Error> {
        self.0
            .store
            .chapter(id)
            .await?
            .ok_or(Error::NotFound("chapter"))
    }

    fn now(&self) -> DateTime<Utc> {
        self.0.clock.now_micros()
    }
}

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
                let ChapterRef(id) = ChapterRef::try_from(request.get_ref())?;
                let chapter = self.found(id).await?;
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
                let q = ChaptersQuery::try_from((request.get_ref(), &self.0.page_tokens))?;
                let mut rows = self
                    .0
                    .store
                    .list_chapters(q.city_key.as_deref(), q.after, q.limit + 1)
                    .await?;
                let next_page_token = next_page_token(&mut rows, q.limit, |c| {
                    id_token(&self.0.page_tokens, ChaptersQuery::SCOPE, c.id)
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
                let ChapterRef(id) = ChapterRef::try_from(request.get_ref())?;
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
                let ChapterRef(id) = ChapterRef::try_from(request.get_ref())?;
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

    async fn get_chapter_health(
        &self,
        request: Request<pb::GetChapterHealthRequest>,
    ) -> Reply<pb::GetChapterHealthResponse> {
        reply(
            async {
                let me = member_caller(&request)?;
                let ChapterRef(id) = ChapterRef::try_from(request.get_ref())?;
                let chapter = self.found(id).await?;
                if !chapter.organizer_ids.contains(&me) {
                    return Err(Error::PermissionDenied(
                        "only the chapter's organisers see its health",
                    ));
                }
                let now = self.now();
                let counts = self.0.store.chapter_counts(id, now).await?;
                Ok(pb::GetChapterHealthResponse {
                    health: Some(health_to_pb(&chapter, &counts, now)),
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
                let q = ChapterMembersQuery::try_from((request.get_ref(), &self.0.page_tokens))?;
                let mut rows = self
                    .0
                    .store
                    .list_chapter_members(q.chapter_id, me, q.after, q.limit + 1)
                    .await?;
                let next_page_token = next_page_token(&mut rows, q.limit, |m| {
                    timed_token(&self.0.page_tokens, &q.scope, m.joined_at, m.member_id)
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
