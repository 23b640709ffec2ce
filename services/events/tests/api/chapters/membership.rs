//! Joining and leaving a chapter, and its organisers: idempotent and counted, the last
//! organiser stays, an added organiser becomes a member.

use super::*;

async fn join_and_leave_are_idempotent_and_counted(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (_, anna) = world.chapter_member("Anna").await.unwrap();
    let (bruno, bruno_client) = world.chapter_member("Bruno").await.unwrap();
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
    world.stop().await.unwrap();
}

async fn the_last_organiser_cannot_leave(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (anna, anna_client) = world.chapter_member("Anna").await.unwrap();
    let (bruno, bruno_client) = world.chapter_member("Bruno").await.unwrap();
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
    world.stop().await.unwrap();
}

async fn add_organizer_makes_a_non_member_a_member_and_organiser(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (anna, anna_client) = world.chapter_member("Anna").await.unwrap();
    let (chloe, chloe_client) = world.chapter_member("Chloé").await.unwrap();
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
    world.stop().await.unwrap();
}

backend_tests!(
    join_and_leave_are_idempotent_and_counted,
    the_last_organiser_cannot_leave,
    add_organizer_makes_a_non_member_a_member_and_organiser,
);
