//! `ChapterService` end to end over gRPC, on both backends, one module per area: every
//! method's happy path, membership and the last organiser, who may do what, bad input naming
//! its field, and pagination; the shortcuts they share are here.

mod access;
mod bad_inputs;
mod health;
mod lifecycle;
mod listing;
mod membership;

use std::collections::HashSet;

use rendezvous_common::error::violated_fields;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::rpc::Call;
use rendezvous_testkit::{Backend, ChapterClient, backend_tests, call, code};
use tonic::{Code, Status};

use crate::helpers::{World, create_chapter as create};

fn paris() -> pb::Chapter {
    pb::Chapter {
        name: "Rendezvous Paris".to_owned(),
        city: "Paris".to_owned(),
        time_zone: "Europe/Paris".to_owned(),
        description: "Coffee and talks, every month.".to_owned(),
        ..Default::default()
    }
}

async fn get(client: &ChapterClient, id: &str) -> Result<pb::Chapter, Status> {
    client
        .clone()
        .get_chapter(pb::GetChapterRequest {
            chapter_id: id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().chapter.unwrap())
}

async fn join(client: &ChapterClient, id: &str) -> Result<pb::Chapter, Status> {
    client
        .clone()
        .join_chapter(pb::JoinChapterRequest {
            chapter_id: id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().chapter.unwrap())
}

async fn leave(client: &ChapterClient, id: &str) -> Result<(), Status> {
    client
        .clone()
        .leave_chapter(pb::LeaveChapterRequest {
            chapter_id: id.to_owned(),
        })
        .await
        .map(|_| ())
}

async fn add_organizer(
    client: &ChapterClient,
    id: &str,
    member_id: &str,
) -> Result<pb::Chapter, Status> {
    client
        .clone()
        .add_organizer(pb::AddOrganizerRequest {
            chapter_id: id.to_owned(),
            member_id: member_id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().chapter.unwrap())
}

async fn update(
    client: &ChapterClient,
    chapter: pb::Chapter,
    paths: &[&str],
) -> Result<pb::Chapter, Status> {
    client
        .clone()
        .update_chapter(pb::UpdateChapterRequest {
            chapter: Some(chapter),
            update_mask: Some(FieldMask {
                paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            }),
        })
        .await
        .map(|r| r.into_inner().chapter.unwrap())
}

async fn member_ids(client: &ChapterClient, id: &str) -> Result<Vec<String>, Status> {
    client
        .clone()
        .list_chapter_members(pb::ListChapterMembersRequest {
            chapter_id: id.to_owned(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .map(|r| {
            r.into_inner()
                .members
                .into_iter()
                .map(|m| m.member_id)
                .collect()
        })
}

/// Every chapter of a ListChapters, page by page.
async fn list_all(client: &ChapterClient, city: &str, page_size: i32) -> Vec<pb::Chapter> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .clone()
            .list_chapters(pb::ListChaptersRequest {
                city: city.to_owned(),
                page_size,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        if page_size > 0 {
            assert!(page.chapters.len() <= page_size as usize);
        }
        all.extend(page.chapters);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

/// `chapter` as it reads once it has `count` members (joining changes nothing else).
fn chapter_with_members(chapter: &pb::Chapter, count: i32) -> pb::Chapter {
    pb::Chapter {
        member_count: count,
        ..chapter.clone()
    }
}
