//! Creating, reading and updating a chapter: the creator organises it, a retried create is
//! one chapter, updates follow the mask and the etag, unknown chapters are not found.

use super::*;

async fn creating_a_chapter_makes_the_caller_its_organiser_and_anyone_can_read_it(
    backend: Backend,
) {
    let world = World::start_default(backend).await.unwrap();
    let (anna, client) = world.chapter_member("Anna").await.unwrap();
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
    world.stop().await.unwrap();
}

async fn a_retried_create_with_the_same_request_id_returns_the_same_chapter(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (_, client) = world.chapter_member("Anna").await.unwrap();
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
    world.stop().await.unwrap();
}

async fn update_chapter_changes_masked_fields_and_refuses_a_stale_etag(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (_, client) = world.chapter_member("Anna").await.unwrap();
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
    world.stop().await.unwrap();
}

async fn unknown_chapters_are_not_found(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (_, anna) = world.chapter_member("Anna").await.unwrap();
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
    world.stop().await.unwrap();
}

backend_tests!(
    creating_a_chapter_makes_the_caller_its_organiser_and_anyone_can_read_it,
    a_retried_create_with_the_same_request_id_returns_the_same_chapter,
    update_chapter_changes_masked_fields_and_refuses_a_stale_etag,
    unknown_chapters_are_not_found,
);
