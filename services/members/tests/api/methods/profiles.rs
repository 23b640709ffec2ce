//! Read, update, search, delete and export profiles.

use crate::helpers::*;

use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, backend_tests, connect, outbox_count};
use tonic::Code;

async fn get_member_shows_me_everything_and_others_the_public_profile(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    set!(&anna, headline: "Organiser of coffee mornings");

    let me = get_member(&anna.client, "me").await.unwrap();
    assert_eq!(me.id, anna.id);
    assert_eq!(me.email, anna.email);
    assert_eq!(me.relationship, i32::from(pb::Relationship::Self_));

    let seen = get_member(&bruno.client, &anna.id).await.unwrap();
    assert_eq!(seen.display_name, "Anna");
    assert_eq!(seen.headline, "Organiser of coffee mornings");
    assert_eq!(seen.city, "Paris");
    assert_eq!(
        seen.email, "",
        "the email is only shown to the member themself"
    );
    assert_eq!(seen.relationship, i32::from(pb::Relationship::None));

    let anonymous = get_member(&stack.anonymous(), &anna.id).await.unwrap();
    assert_eq!(anonymous.headline, "Organiser of coffee mornings");
    assert_eq!(anonymous.email, "");
    stack.stop().await.unwrap();
}

async fn update_member_changes_only_masked_fields_and_refuses_a_stale_etag(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let before = get_member(&anna.client, "me").await.unwrap();

    // Company is sent too, but only the headline and interests are in the mask.
    let updated = edit!(&anna, [headline, interests],
        headline: "Coffee organiser", company: "Not applied", display_name: "Not applied either",
        interests: vec![String::from("Coffee"), String::from("Rust")], etag: before.etag.clone())
    .unwrap();
    assert_eq!(updated.headline, "Coffee organiser");
    assert_eq!(updated.interests, vec!["coffee", "rust"]);
    assert_eq!(updated.company, before.company);
    assert_eq!(updated.display_name, "Anna");
    assert_eq!(updated.city, before.city);
    assert_ne!(updated.etag, before.etag);

    // An update based on the old read is refused and changes nothing.
    let stale = edit!(&anna, [headline], headline: "Lost update", etag: before.etag.clone());
    assert_eq!(error_code(stale), Code::Aborted);
    let now = get_member(&anna.client, "me").await.unwrap();
    assert_eq!(now.headline, "Coffee organiser");
    assert_eq!(now.etag, updated.etag);

    // With the current etag it goes through.
    let fresh = edit!(&anna, [company, linkedin_url],
        company: "Rendezvous", linkedin_url: "http://LinkedIn.com/in/Anna-Dupont/", etag: now.etag.clone())
    .unwrap();
    assert_eq!(fresh.company, "Rendezvous");
    assert_eq!(fresh.headline, "Coffee organiser");
    assert_eq!(
        fresh.linkedin_url,
        "https://www.linkedin.com/in/anna-dupont"
    );
    stack.stop().await.unwrap();
}

async fn search_members_filters_by_city_interest_and_text(backend: Backend) {
    let (stack, [me, lea, marc, nina]) =
        stack_of(backend, ["Searcher", "Léa Lyonnaise", "Marc", "Nina"]).await;
    set!(&lea, city: "Lyon");
    update(
        &marc,
        pb::Member {
            city: "LYON".into(),
            interests: vec!["climbing".into(), "coffee".into()],
            ..Default::default()
        },
        &["city", "interests"],
    )
    .await
    .unwrap();
    update(
        &nina,
        pb::Member {
            headline: "Rust developer at Ferrous".into(),
            interests: vec!["Climbing".into()],
            ..Default::default()
        },
        &["headline", "interests"],
    )
    .await
    .unwrap();

    let search = |city: &str, interest: &str, query: &str| {
        let request = pb::SearchMembersRequest {
            city: city.into(),
            interest: interest.into(),
            query: query.into(),
            ..Default::default()
        };
        let mut client = me.client.clone();
        async move {
            let mut ids: Vec<String> = client
                .search_members(request)
                .await
                .unwrap()
                .into_inner()
                .members
                .into_iter()
                .map(|m| m.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };

    assert_eq!(
        search("lyon", "", "").await,
        sorted(vec![lea.id.clone(), marc.id.clone()])
    );
    assert_eq!(search("  Lyon ", "", "").await.len(), 2);
    assert_eq!(
        search("", "climbing", "").await,
        sorted(vec![marc.id.clone(), nina.id.clone()])
    );
    assert_eq!(search("Lyon", "climbing", "").await, vec![marc.id.clone()]);
    assert_eq!(search("", "", "ferrous").await, vec![nina.id.clone()]);
    assert_eq!(search("", "", "LYONNAISE").await, vec![lea.id.clone()]);
    assert!(search("Marseille", "", "").await.is_empty());
    // The caller is never in their own results.
    assert!(!search("Paris", "", "").await.contains(&me.id));
    stack.stop().await.unwrap();
}

async fn search_members_pages_return_every_match_exactly_once(backend: Backend) {
    let (stack, [me]) = stack_of(backend, ["Searcher"]).await;
    let mut expected = Vec::new();
    for i in 0..5 {
        let member = stack.register(&format!("Nantais {i}")).await.unwrap();
        set!(&member, city: "Nantes");
        expected.push(member.id);
    }

    let (seen, pages) = all_pages(|page_token| {
        let mut client = me.client.clone();
        let request = pb::SearchMembersRequest {
            city: "nantes".into(),
            page_size: 2,
            page_token,
            ..Default::default()
        };
        async move {
            let page = client.search_members(request).await.unwrap().into_inner();
            assert!(page.members.len() <= 2);
            let ids: Vec<String> = page.members.into_iter().map(|m| m.id).collect();
            (ids, page.next_page_token)
        }
    })
    .await;
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    assert_same_items(seen, expected);
    stack.stop().await.unwrap();
}

async fn deleted_member_shows_as_deleted_and_frees_the_email(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    connect(&anna, &bruno).await.unwrap();
    assert_eq!(
        connections(&bruno, pb::MetFilter::Unspecified).await.len(),
        1
    );

    anna.client
        .clone()
        .delete_member(pb::DeleteMemberRequest { id: "me".into() })
        .await
        .unwrap();

    // Events and notifications are told, one row each, holding her id and nothing else.
    for topic in ["events.erase_member", "notifications.erase_member"] {
        assert_eq!(outbox_count(&stack.db, topic, &anna.id).await, 1, "{topic}");
        assert_eq!(
            outbox_count(&stack.db, topic, &anna.email).await,
            0,
            "{topic}"
        );
        assert_eq!(outbox_count(&stack.db, topic, "Anna").await, 0, "{topic}");
    }

    // Her access token, still within its lifetime, no longer opens anything.
    let refused = get_member(&anna.client, &anna.id).await;
    assert!(
        unauthenticated(refused),
        "a deleted member's token is refused"
    );

    let seen = get_member(&bruno.client, &anna.id).await.unwrap();
    assert_eq!(seen.display_name, "deleted member");
    assert!(seen.deleted);
    assert_eq!(seen.headline, "");
    assert_no_connections(&[&bruno]).await;
    assert_eq!(stats(&bruno).await.connections, 0);
    assert!(unauthenticated(login(&stack, &anna.email, PASSWORD).await));
    assert!(unauthenticated(refresh(&stack, &anna.refresh_token).await));

    let contacts = stack
        .internal()
        .unwrap()
        .get_contacts(pb::GetContactsRequest {
            member_ids: vec![anna.id.clone()],
        })
        .await
        .unwrap()
        .into_inner()
        .contacts;
    assert_eq!(contacts.len(), 1);
    assert!(contacts[0].deleted);
    assert_eq!(contacts[0].email, "");
    assert_eq!(contacts[0].display_name, "deleted member");

    // The address can open a new account.
    let again = register_with(&stack, register_request(&anna.email, "Anna again")).await;
    assert_ne!(again.id, anna.id);
    login(&stack, &anna.email, PASSWORD).await.unwrap();
    stack.stop().await.unwrap();
}

async fn export_member_data_holds_profile_connections_and_requests(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    let pending = request(&anna, &chloe, "Coffee next week?").await.unwrap();

    let Export {
        content_type, json, ..
    } = export(&anna).await;
    assert_eq!(content_type, "application/json");
    assert_eq!(json["profile"]["id"], anna.id);
    assert_eq!(json["profile"]["email"], anna.email);
    assert_eq!(json["profile"]["display_name"], "Anna");
    let connections = json["connections"].as_array().unwrap();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0]["member_id"], bruno.id);
    let requests = json["connection_requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    let sent = requests.iter().find(|r| r["id"] == pending.id).unwrap();
    assert_eq!(sent["addressee_id"], chloe.id);
    assert_eq!(sent["note"], "Coffee next week?");
    assert_eq!(sent["state"], "pending");
    stack.stop().await.unwrap();
}

backend_tests!(
    get_member_shows_me_everything_and_others_the_public_profile,
    update_member_changes_only_masked_fields_and_refuses_a_stale_etag,
    search_members_filters_by_city_interest_and_text,
    search_members_pages_return_every_match_exactly_once,
    deleted_member_shows_as_deleted_and_frees_the_email,
    export_member_data_holds_profile_connections_and_requests,
);
