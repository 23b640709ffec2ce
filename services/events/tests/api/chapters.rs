//! `ChapterService` end to end over gRPC, on both backends: every method's happy path, who may
//! do what, bad input naming its field, optimistic concurrency, the last organiser, and
//! pagination.

use std::collections::HashSet;

use rendezvous_common::error::violated_fields;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{Backend, ChapterClient, backend_tests};
use tonic::{Code, Status};

use crate::helpers::{Call, World, call, code};

fn paris() -> pb::Chapter {
    pb::Chapter {
        name: "Rendezvous Paris".to_owned(),
        city: "Paris".to_owned(),
        time_zone: "Europe/Paris".to_owned(),
        description: "Coffee and talks, every month.".to_owned(),
        ..Default::default()
    }
}

async fn create(client: &ChapterClient, chapter: pb::Chapter) -> pb::Chapter {
    client
        .clone()
        .create_chapter(pb::CreateChapterRequest {
            chapter: Some(chapter),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .chapter
        .unwrap()
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

async fn creating_a_chapter_makes_the_caller_its_organiser_and_anyone_can_read_it(
    backend: Backend,
) {
    let world = World::start_default(backend).await;
    let (anna, client) = world.chapter_member("Anna").await;
    let created = create(&client, paris()).await;
    assert!(!created.id.is_empty());
    assert_eq!(created.name, "Rendezvous Paris");
    assert_eq!(created.city, "Paris");
    assert_eq!(created.time_zone, "Europe/Paris");
    assert_eq!(created.organizer_ids, vec![anna.id.clone()]);
    assert_eq!(created.member_count, 1);
    assert!(!created.etag.is_empty());
    assert!(created.create_time.is_some() && created.update_time.is_some());

    let anonymous = world.events.anonymous();
    let read = get(&anonymous, &created.id).await.unwrap();
    assert_eq!(read, created);
    let listed = list_all(&anonymous, "", 0).await;
    assert_eq!(listed, vec![created.clone()]);
    assert_eq!(
        member_ids(&client, &created.id).await.unwrap(),
        vec![anna.id]
    );
    world.stop().await;
}

async fn a_retried_create_with_the_same_request_id_returns_the_same_chapter(backend: Backend) {
    let world = World::start_default(backend).await;
    let (_, client) = world.chapter_member("Anna").await;
    let request = pb::CreateChapterRequest {
        chapter: Some(paris()),
        request_id: "create-paris-1".to_owned(),
    };
    let first = client
        .clone()
        .create_chapter(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = client
        .clone()
        .create_chapter(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(list_all(&world.events.anonymous(), "", 0).await.len(), 1);
    world.stop().await;
}

async fn list_chapters_filters_by_city_ignoring_case(backend: Backend) {
    let world = World::start_default(backend).await;
    let (_, client) = world.chapter_member("Anna").await;
    let paris = create(&client, paris()).await;
    let lyon = create(
        &client,
        pb::Chapter {
            name: "Rendezvous Lyon".to_owned(),
            city: "Lyon".to_owned(),
            ..self::paris()
        },
    )
    .await;
    let anonymous = world.events.anonymous();
    let ids = |chapters: Vec<pb::Chapter>| chapters.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(ids(list_all(&anonymous, "paris", 0).await), vec![paris.id]);
    assert_eq!(ids(list_all(&anonymous, "  LYON ", 0).await), vec![lyon.id]);
    assert!(list_all(&anonymous, "Berlin", 0).await.is_empty());
    assert_eq!(list_all(&anonymous, "", 0).await.len(), 2);
    world.stop().await;
}

async fn pagination_returns_each_chapter_once(backend: Backend) {
    let world = World::start_default(backend).await;
    let (_, client) = world.chapter_member("Anna").await;
    let mut created = HashSet::new();
    for i in 0..7 {
        let chapter = create(
            &client,
            pb::Chapter {
                name: format!("Chapter {i}"),
                city: if i % 2 == 0 { "Paris" } else { "Lyon" }.to_owned(),
                ..paris()
            },
        )
        .await;
        created.insert(chapter.id);
    }
    let anonymous = world.events.anonymous();
    for page_size in [1, 3, 7, 1000] {
        let listed = list_all(&anonymous, "", page_size).await;
        let ids: HashSet<String> = listed.iter().map(|c| c.id.clone()).collect();
        assert_eq!(listed.len(), 7, "page size {page_size}");
        assert_eq!(ids, created, "page size {page_size}");
    }
    let in_paris = list_all(&anonymous, "PARIS", 2).await;
    assert_eq!(in_paris.len(), 4);
    assert!(in_paris.iter().all(|c| c.city == "Paris"));

    // A forged or foreign token is refused.
    let status = anonymous
        .clone()
        .list_chapters(pb::ListChaptersRequest {
            page_token: "not-a-token".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    world.stop().await;
}

async fn update_chapter_changes_masked_fields_and_refuses_a_stale_etag(backend: Backend) {
    let world = World::start_default(backend).await;
    let (_, client) = world.chapter_member("Anna").await;
    let created = create(&client, paris()).await;
    let updated = update(
        &client,
        pb::Chapter {
            name: "Rendezvous Paris Rive Gauche".to_owned(),
            description: "New description".to_owned(),
            city: "ignored: not in the mask".to_owned(),
            ..created.clone()
        },
        &["name", "description"],
    )
    .await
    .unwrap();
    assert_eq!(updated.name, "Rendezvous Paris Rive Gauche");
    assert_eq!(updated.description, "New description");
    assert_eq!(updated.city, "Paris");
    assert_ne!(updated.etag, created.etag);
    assert_eq!(
        get(&world.events.anonymous(), &created.id).await.unwrap(),
        updated
    );

    // The etag read before the update is stale now.
    let stale = update(
        &client,
        pb::Chapter {
            city: "Lyon".to_owned(),
            ..created.clone()
        },
        &["city"],
    )
    .await
    .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // The current etag works, and so does no etag at all.
    let moved = update(
        &client,
        pb::Chapter {
            city: "Lyon".to_owned(),
            time_zone: "Europe/Paris".to_owned(),
            ..updated.clone()
        },
        &["city", "time_zone"],
    )
    .await
    .unwrap();
    assert_eq!(moved.city, "Lyon");
    let renamed = update(
        &client,
        pb::Chapter {
            id: created.id.clone(),
            name: "Rendezvous Lyon".to_owned(),
            ..Default::default()
        },
        &["name"],
    )
    .await
    .unwrap();
    assert_eq!(renamed.name, "Rendezvous Lyon");
    assert_eq!(renamed.city, "Lyon");
    world.stop().await;
}

async fn join_and_leave_are_idempotent_and_counted(backend: Backend) {
    let world = World::start_default(backend).await;
    let (_, anna) = world.chapter_member("Anna").await;
    let (bruno, bruno_client) = world.chapter_member("Bruno").await;
    let chapter = create(&anna, paris()).await;

    let joined = join(&bruno_client, &chapter.id).await.unwrap();
    assert_eq!(joined.member_count, 2);
    let again = join(&bruno_client, &chapter.id).await.unwrap();
    assert_eq!(again.member_count, 2);
    assert!(
        member_ids(&anna, &chapter.id)
            .await
            .unwrap()
            .contains(&bruno.id)
    );

    leave(&bruno_client, &chapter.id).await.unwrap();
    leave(&bruno_client, &chapter.id).await.unwrap();
    let read = get(&world.events.anonymous(), &chapter.id).await.unwrap();
    assert_eq!(read.member_count, 1);
    assert!(
        !member_ids(&anna, &chapter.id)
            .await
            .unwrap()
            .contains(&bruno.id)
    );
    world.stop().await;
}

async fn the_last_organiser_cannot_leave(backend: Backend) {
    let world = World::start_default(backend).await;
    let (anna, anna_client) = world.chapter_member("Anna").await;
    let (bruno, bruno_client) = world.chapter_member("Bruno").await;
    let chapter = create(&anna_client, paris()).await;

    let status = leave(&anna_client, &chapter.id).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    join(&bruno_client, &chapter.id).await.unwrap();
    // Other members do not count: Anna is still the only organiser.
    assert_eq!(
        code(leave(&anna_client, &chapter.id).await),
        Code::FailedPrecondition
    );

    let with_bruno = add_organizer(&anna_client, &chapter.id, &bruno.id)
        .await
        .unwrap();
    assert_eq!(
        with_bruno.organizer_ids,
        vec![anna.id.clone(), bruno.id.clone()]
    );
    leave(&anna_client, &chapter.id).await.unwrap();
    let read = get(&world.events.anonymous(), &chapter.id).await.unwrap();
    assert_eq!(read.organizer_ids, vec![bruno.id]);
    assert_eq!(read.member_count, 1);
    assert_eq!(
        code(leave(&bruno_client, &chapter.id).await),
        Code::FailedPrecondition
    );
    world.stop().await;
}

async fn add_organizer_makes_a_non_member_a_member_and_organiser(backend: Backend) {
    let world = World::start_default(backend).await;
    let (anna, anna_client) = world.chapter_member("Anna").await;
    let (chloe, chloe_client) = world.chapter_member("Chloé").await;
    let chapter = create(&anna_client, paris()).await;

    let updated = add_organizer(&anna_client, &chapter.id, &chloe.id)
        .await
        .unwrap();
    assert_eq!(updated.member_count, 2);
    assert_eq!(
        updated.organizer_ids,
        vec![anna.id.clone(), chloe.id.clone()]
    );
    assert_ne!(updated.etag, chapter.etag);
    // Adding again changes nothing.
    let again = add_organizer(&anna_client, &chapter.id, &chloe.id)
        .await
        .unwrap();
    assert_eq!(again.organizer_ids, updated.organizer_ids);
    assert_eq!(again.etag, updated.etag);

    // Chloé can now organise: update the chapter and see its members with roles.
    update(
        &chloe_client,
        pb::Chapter {
            id: chapter.id.clone(),
            description: "By Chloé".to_owned(),
            ..Default::default()
        },
        &["description"],
    )
    .await
    .unwrap();
    let members = chloe_client
        .clone()
        .list_chapter_members(pb::ListChapterMembersRequest {
            chapter_id: chapter.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .members;
    assert_eq!(members.len(), 2);
    assert!(
        members
            .iter()
            .all(|m| m.role == pb::ChapterRole::Organizer as i32 && m.join_time.is_some())
    );
    world.stop().await;
}

async fn list_chapter_members_pages_in_joining_order(backend: Backend) {
    let world = World::start_default(backend).await;
    let (anna, anna_client) = world.chapter_member("Anna").await;
    let chapter = create(&anna_client, paris()).await;
    let mut expected = vec![anna.id.clone()];
    for name in ["Bruno", "Chloé", "David", "Emma"] {
        let (member, client) = world.chapter_member(name).await;
        join(&client, &chapter.id).await.unwrap();
        expected.push(member.id);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = anna_client
            .clone()
            .list_chapter_members(pb::ListChapterMembersRequest {
                chapter_id: chapter.id.clone(),
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.members.len() <= 2);
        seen.extend(page.members.into_iter().map(|m| m.member_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, expected);
    world.stop().await;
}

async fn anonymous_callers_must_sign_in_to_change_or_list_members(backend: Backend) {
    let world = World::start_default(backend).await;
    let (anna, anna_client) = world.chapter_member("Anna").await;
    let chapter = create(&anna_client, paris()).await;
    let anonymous = world.events.anonymous();
    let calls: Vec<(&str, Call)> = vec![
        (
            "CreateChapter",
            call!(
                anonymous,
                create_chapter,
                pb::CreateChapterRequest {
                    chapter: Some(paris()),
                    request_id: String::new(),
                }
            ),
        ),
        (
            "UpdateChapter",
            call!(
                anonymous,
                update_chapter,
                pb::UpdateChapterRequest {
                    chapter: Some(chapter.clone()),
                    update_mask: Some(FieldMask {
                        paths: vec!["name".to_owned()],
                    }),
                }
            ),
        ),
        (
            "JoinChapter",
            call!(
                anonymous,
                join_chapter,
                pb::JoinChapterRequest {
                    chapter_id: chapter.id.clone(),
                }
            ),
        ),
        (
            "LeaveChapter",
            call!(
                anonymous,
                leave_chapter,
                pb::LeaveChapterRequest {
                    chapter_id: chapter.id.clone(),
                }
            ),
        ),
        (
            "AddOrganizer",
            call!(
                anonymous,
                add_organizer,
                pb::AddOrganizerRequest {
                    chapter_id: chapter.id.clone(),
                    member_id: anna.id.clone(),
                }
            ),
        ),
        (
            "ListChapterMembers",
            call!(
                anonymous,
                list_chapter_members,
                pb::ListChapterMembersRequest {
                    chapter_id: chapter.id.clone(),
                    ..Default::default()
                }
            ),
        ),
    ];
    for (name, call) in calls {
        assert_eq!(code(call.await), Code::Unauthenticated, "{name}");
    }
    // A token the members service did not sign is refused too.
    let forged = world.events.client_with_token("not-a-jwt");
    assert_eq!(code(get(&forged, &chapter.id).await), Code::Unauthenticated);
    world.stop().await;
}

async fn only_organisers_update_and_add_organisers(backend: Backend) {
    let world = World::start_default(backend).await;
    let (_, anna) = world.chapter_member("Anna").await;
    let (bruno, bruno_client) = world.chapter_member("Bruno").await;
    let (_, outsider) = world.chapter_member("Oscar").await;
    let chapter = create(&anna, paris()).await;
    join(&bruno_client, &chapter.id).await.unwrap();

    for client in [&bruno_client, &outsider] {
        let renamed = update(
            client,
            pb::Chapter {
                name: "Taken over".to_owned(),
                ..chapter.clone()
            },
            &["name"],
        )
        .await;
        assert_eq!(code(renamed), Code::PermissionDenied);
        assert_eq!(
            code(add_organizer(client, &chapter.id, "me").await),
            Code::PermissionDenied
        );
        assert_eq!(
            code(add_organizer(client, &chapter.id, &bruno.id).await),
            Code::PermissionDenied
        );
    }
    let read = get(&world.events.anonymous(), &chapter.id).await.unwrap();
    assert_eq!(read, chapter_with_members(&chapter, 2));
    world.stop().await;
}

/// `chapter` as it reads once it has `count` members (joining changes nothing else).
fn chapter_with_members(chapter: &pb::Chapter, count: i32) -> pb::Chapter {
    pb::Chapter {
        member_count: count,
        ..chapter.clone()
    }
}

async fn only_chapter_members_list_its_members(backend: Backend) {
    let world = World::start_default(backend).await;
    let (_, anna) = world.chapter_member("Anna").await;
    let (_, bruno) = world.chapter_member("Bruno").await;
    let chapter = create(&anna, paris()).await;
    assert_eq!(
        code(member_ids(&bruno, &chapter.id).await),
        Code::PermissionDenied
    );
    join(&bruno, &chapter.id).await.unwrap();
    assert_eq!(member_ids(&bruno, &chapter.id).await.unwrap().len(), 2);
    leave(&bruno, &chapter.id).await.unwrap();
    assert_eq!(
        code(member_ids(&bruno, &chapter.id).await),
        Code::PermissionDenied
    );
    world.stop().await;
}

async fn unknown_chapters_are_not_found(backend: Backend) {
    let world = World::start_default(backend).await;
    let (_, anna) = world.chapter_member("Anna").await;
    let missing = uuid::Uuid::now_v7().to_string();
    assert_eq!(code(get(&anna, &missing).await), Code::NotFound);
    assert_eq!(code(join(&anna, &missing).await), Code::NotFound);
    assert_eq!(code(leave(&anna, &missing).await), Code::NotFound);
    assert_eq!(
        code(add_organizer(&anna, &missing, "me").await),
        Code::NotFound
    );
    assert_eq!(code(member_ids(&anna, &missing).await), Code::NotFound);
    let renamed = update(
        &anna,
        pb::Chapter {
            id: missing.clone(),
            name: "Nowhere".to_owned(),
            ..Default::default()
        },
        &["name"],
    )
    .await;
    assert_eq!(code(renamed), Code::NotFound);
    world.stop().await;
}

async fn bad_inputs_are_invalid_argument_naming_the_field(backend: Backend) {
    let world = World::start_default(backend).await;
    let (_, client) = world.chapter_member("Anna").await;
    let chapter = create(&client, paris()).await;
    let id = chapter.id.clone();
    let create_with = |edit: fn(&mut pb::Chapter)| {
        let mut chapter = paris();
        edit(&mut chapter);
        pb::CreateChapterRequest {
            chapter: Some(chapter),
            request_id: String::new(),
        }
    };
    let update_with = |chapter: pb::Chapter, paths: &[&str]| pb::UpdateChapterRequest {
        chapter: Some(chapter),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
    };
    let cases: Vec<(&str, &str, Call)> = vec![
        (
            "create without a chapter",
            "chapter",
            call!(client, create_chapter, pb::CreateChapterRequest::default()),
        ),
        (
            "empty name",
            "chapter.name",
            call!(
                client,
                create_chapter,
                create_with(|c| c.name = "  ".into())
            ),
        ),
        (
            "name of 101 characters",
            "chapter.name",
            call!(
                client,
                create_chapter,
                create_with(|c| c.name = "n".repeat(101))
            ),
        ),
        (
            "name with a control character",
            "chapter.name",
            call!(
                client,
                create_chapter,
                create_with(|c| c.name = "Paris\u{7}".into())
            ),
        ),
        (
            "empty city",
            "chapter.city",
            call!(
                client,
                create_chapter,
                create_with(|c| c.city = String::new())
            ),
        ),
        (
            "city of 101 characters",
            "chapter.city",
            call!(
                client,
                create_chapter,
                create_with(|c| c.city = "c".repeat(101))
            ),
        ),
        (
            "no time zone",
            "chapter.time_zone",
            call!(
                client,
                create_chapter,
                create_with(|c| c.time_zone = String::new())
            ),
        ),
        (
            "unknown time zone",
            "chapter.time_zone",
            call!(
                client,
                create_chapter,
                create_with(|c| c.time_zone = "Mars/Olympus_Mons".into())
            ),
        ),
        (
            "offset instead of a zone",
            "chapter.time_zone",
            call!(
                client,
                create_chapter,
                create_with(|c| c.time_zone = "+02:00".into())
            ),
        ),
        (
            "description of 2001 characters",
            "chapter.description",
            call!(
                client,
                create_chapter,
                create_with(|c| c.description = "d".repeat(2001))
            ),
        ),
        (
            "request id of 101 characters",
            "request_id",
            call!(
                client,
                create_chapter,
                pb::CreateChapterRequest {
                    chapter: Some(paris()),
                    request_id: "r".repeat(101),
                }
            ),
        ),
        (
            "get without an id",
            "chapter_id",
            call!(client, get_chapter, pb::GetChapterRequest::default()),
        ),
        (
            "get with a malformed id",
            "chapter_id",
            call!(
                client,
                get_chapter,
                pb::GetChapterRequest {
                    chapter_id: "paris".into(),
                }
            ),
        ),
        (
            "list with a negative page size",
            "page_size",
            call!(
                client,
                list_chapters,
                pb::ListChaptersRequest {
                    page_size: -1,
                    ..Default::default()
                }
            ),
        ),
        (
            "list with a forged page token",
            "page_token",
            call!(
                client,
                list_chapters,
                pb::ListChaptersRequest {
                    page_token: "eyJpZCI6MX0.AAAA".into(),
                    ..Default::default()
                }
            ),
        ),
        (
            "list with a city of 101 characters",
            "city",
            call!(
                client,
                list_chapters,
                pb::ListChaptersRequest {
                    city: "c".repeat(101),
                    ..Default::default()
                }
            ),
        ),
        (
            "update without a mask",
            "update_mask",
            call!(client, update_chapter, update_with(chapter.clone(), &[])),
        ),
        (
            "update of a read-only path",
            "update_mask",
            call!(
                client,
                update_chapter,
                update_with(chapter.clone(), &["member_count"])
            ),
        ),
        (
            "update to an empty name",
            "chapter.name",
            call!(
                client,
                update_chapter,
                update_with(
                    pb::Chapter {
                        name: String::new(),
                        ..chapter.clone()
                    },
                    &["name"]
                )
            ),
        ),
        (
            "update to an unknown time zone",
            "chapter.time_zone",
            call!(
                client,
                update_chapter,
                update_with(
                    pb::Chapter {
                        time_zone: "Europe/Atlantis".into(),
                        ..chapter.clone()
                    },
                    &["time_zone"]
                )
            ),
        ),
        (
            "update with a malformed id",
            "chapter.id",
            call!(
                client,
                update_chapter,
                update_with(
                    pb::Chapter {
                        id: "nope".into(),
                        ..chapter.clone()
                    },
                    &["name"]
                )
            ),
        ),
        (
            "join with a malformed id",
            "chapter_id",
            call!(
                client,
                join_chapter,
                pb::JoinChapterRequest {
                    chapter_id: "nope".into(),
                }
            ),
        ),
        (
            "leave without an id",
            "chapter_id",
            call!(client, leave_chapter, pb::LeaveChapterRequest::default()),
        ),
        (
            "add a malformed organiser id",
            "member_id",
            call!(
                client,
                add_organizer,
                pb::AddOrganizerRequest {
                    chapter_id: id.clone(),
                    member_id: "bruno".into(),
                }
            ),
        ),
        (
            "list members with a negative page size",
            "page_size",
            call!(
                client,
                list_chapter_members,
                pb::ListChapterMembersRequest {
                    chapter_id: id.clone(),
                    page_size: -5,
                    page_token: String::new(),
                }
            ),
        ),
        (
            "list members with a ListChapters token",
            "page_token",
            call!(
                client,
                list_chapter_members,
                pb::ListChapterMembersRequest {
                    chapter_id: id.clone(),
                    page_size: 0,
                    page_token: "eyJpZCI6MX0.AAAA".into(),
                }
            ),
        ),
    ];
    assert!(cases.len() >= 15);
    for (case, field, call) in cases {
        let status = call.await.expect_err(case);
        assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
        assert_eq!(violated_fields(&status), vec![field.to_owned()], "{case}");
    }
    // Nothing was created or changed by the refused calls.
    let anonymous = world.events.anonymous();
    assert_eq!(list_all(&anonymous, "", 0).await, vec![chapter.clone()]);
    world.stop().await;
}

async fn page_sizes_default_and_clamp(backend: Backend) {
    let world = World::start_default(backend).await;
    let (_, client) = world.chapter_member("Anna").await;
    for i in 0..21 {
        create(
            &client,
            pb::Chapter {
                name: format!("Chapter {i}"),
                ..paris()
            },
        )
        .await;
    }
    let page = |page_size: i32| {
        let mut client = world.events.anonymous();
        async move {
            client
                .list_chapters(pb::ListChaptersRequest {
                    page_size,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let default = page(0).await;
    assert_eq!(default.chapters.len(), 20);
    assert!(!default.next_page_token.is_empty());
    let clamped = page(100_000).await;
    assert_eq!(clamped.chapters.len(), 21);
    assert!(clamped.next_page_token.is_empty());
    world.stop().await;
}

backend_tests!(
    creating_a_chapter_makes_the_caller_its_organiser_and_anyone_can_read_it,
    a_retried_create_with_the_same_request_id_returns_the_same_chapter,
    list_chapters_filters_by_city_ignoring_case,
    pagination_returns_each_chapter_once,
    page_sizes_default_and_clamp,
    update_chapter_changes_masked_fields_and_refuses_a_stale_etag,
    join_and_leave_are_idempotent_and_counted,
    the_last_organiser_cannot_leave,
    add_organizer_makes_a_non_member_a_member_and_organiser,
    list_chapter_members_pages_in_joining_order,
    anonymous_callers_must_sign_in_to_change_or_list_members,
    only_organisers_update_and_add_organisers,
    only_chapter_members_list_its_members,
    unknown_chapters_are_not_found,
    bad_inputs_are_invalid_argument_naming_the_field,
);
