//! Listing chapters and their members: filters, pages that return each item once, page sizes.

use super::*;

async fn list_chapters_filters_by_city_ignoring_case(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (_, client) = world.chapter_member("Anna").await.unwrap();
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
    world.stop().await.unwrap();
}

async fn pagination_returns_each_chapter_once(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (_, client) = world.chapter_member("Anna").await.unwrap();
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
    world.stop().await.unwrap();
}

async fn list_chapter_members_pages_in_joining_order(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (anna, anna_client) = world.chapter_member("Anna").await.unwrap();
    let chapter = create(&anna_client, paris()).await;
    let mut expected = vec![anna.id.clone()];
    for name in ["Bruno", "Chloé", "David", "Emma"] {
        let (member, client) = world.chapter_member(name).await.unwrap();
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
    world.stop().await.unwrap();
}

async fn page_sizes_default_and_clamp(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (_, client) = world.chapter_member("Anna").await.unwrap();
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
    world.stop().await.unwrap();
}

backend_tests!(
    list_chapters_filters_by_city_ignoring_case,
    pagination_returns_each_chapter_once,
    page_sizes_default_and_clamp,
    list_chapter_members_pages_in_joining_order,
);
