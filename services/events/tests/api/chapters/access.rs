//! Who may do what on a chapter: signing in to change it, organisers only, members only.

use super::*;

async fn anonymous_callers_must_sign_in_to_change_or_list_members(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (anna, anna_client) = world.chapter_member("Anna").await.unwrap();
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
    world.stop().await.unwrap();
}

async fn only_organisers_update_and_add_organisers(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (_, anna) = world.chapter_member("Anna").await.unwrap();
    let (bruno, bruno_client) = world.chapter_member("Bruno").await.unwrap();
    let (_, outsider) = world.chapter_member("Oscar").await.unwrap();
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
    world.stop().await.unwrap();
}

async fn only_chapter_members_list_its_members(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (_, anna) = world.chapter_member("Anna").await.unwrap();
    let (_, bruno) = world.chapter_member("Bruno").await.unwrap();
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
    world.stop().await.unwrap();
}

backend_tests!(
    anonymous_callers_must_sign_in_to_change_or_list_members,
    only_organisers_update_and_add_organisers,
    only_chapter_members_list_its_members,
);
