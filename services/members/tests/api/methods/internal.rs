//! Contact import and MemberInternalService.

use crate::helpers::*;

use rendezvous_common::auth::{Caller, PublicKey, TokenVerifier};
use rendezvous_common::clock::Clock;
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, backend_tests, connect};

async fn import_contacts_finds_members_and_sends_them_requests(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    set!(&bruno, linkedin_url: "https://www.linkedin.com/in/bruno-b");
    let csv = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n\
               Bruno,B,http://linkedin.com/in/Bruno-B/,,Acme,CTO,12 Jan 2024\n\
               Carla,Rossi,https://www.linkedin.com/in/carla,,Initech,PM,4 Mar 2022\n";
    let imported = anna
        .client
        .clone()
        .import_contacts(pb::ImportContactsRequest {
            csv_data: csv.as_bytes().to_vec(),
            send_requests: true,
            request_member_ids: vec![],
            note: "From LinkedIn".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            imported.total_contacts,
            imported.unmatched_count,
            imported.requests_sent
        ),
        (2, 1, 1)
    );
    assert_eq!(imported.matched.len(), 1);
    assert_eq!(imported.matched[0].member_id, bruno.id);
    assert_eq!(
        imported.matched[0].match_kind,
        i32::from(pb::MatchKind::ProfileUrl)
    );
    assert!(imported.matched[0].request_sent);
    let (incoming, _) = pending_requests(&bruno, pb::RequestDirection::Incoming, 20).await;
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0].note, "From LinkedIn");
    stack.stop().await.unwrap();
}

// ---- internal API --------------------------------------------------------------------------

async fn get_contacts_returns_what_notifications_need(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    update(
        &bruno,
        pb::Member {
            locale: "en".into(),
            time_zone: "America/New_York".into(),
            ..Default::default()
        },
        &["locale", "time_zone"],
    )
    .await
    .unwrap();
    let unknown = uuid::Uuid::now_v7().to_string();

    let mut contacts = stack
        .internal()
        .unwrap()
        .get_contacts(pb::GetContactsRequest {
            member_ids: vec![anna.id.clone(), bruno.id.clone(), unknown],
        })
        .await
        .unwrap()
        .into_inner()
        .contacts;
    contacts.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    assert_eq!(contacts.len(), 2, "unknown ids are left out");
    assert_eq!(contacts[0].member_id, anna.id);
    assert_eq!(contacts[0].email, anna.email);
    assert_eq!(
        (contacts[0].locale.as_str(), contacts[0].time_zone.as_str()),
        ("fr", "Europe/Paris")
    );
    assert_eq!(contacts[1].member_id, bruno.id);
    assert_eq!(
        (contacts[1].locale.as_str(), contacts[1].time_zone.as_str()),
        ("en", "America/New_York")
    );
    assert!(!contacts[1].deleted);
    stack.stop().await.unwrap();
}

async fn get_relations_answers_a_page_of_members_in_one_call(backend: Backend) {
    let (stack, [anna, bruno, chloe, dan, eve]) =
        stack_of(backend, ["Anna", "Bruno", "Chloe", "Dan", "Eve"]).await;
    connect(&anna, &bruno).await.unwrap();
    connect(&anna, &chloe).await.unwrap();
    record(&stack, &uuid::Uuid::now_v7().to_string(), &[&anna, &bruno]).await;
    // A block either way counts, and ends the connection it was.
    connect(&anna, &eve).await.unwrap();
    block(&eve, &anna).await;

    let unknown = uuid::Uuid::now_v7().to_string();
    let asked = [
        &bruno.id, &chloe.id, &dan.id, &eve.id, &unknown, &bruno.id, &anna.id,
    ];
    let relations = stack
        .internal()
        .unwrap()
        .get_relations(pb::GetRelationsRequest {
            member_id: anna.id.clone(),
            other_member_ids: asked.iter().map(|id| (*id).clone()).collect(),
        })
        .await
        .unwrap()
        .into_inner()
        .relations;
    let got: Vec<(&str, bool, bool, bool)> = relations
        .iter()
        .map(|r| {
            (
                r.member_id.as_str(),
                r.connected,
                r.blocked,
                r.met_in_person,
            )
        })
        .collect();
    // Once per distinct id, in the order asked; self and unknown ids are unrelated.
    assert_eq!(
        got,
        [
            (bruno.id.as_str(), true, false, true),
            (chloe.id.as_str(), true, false, false),
            (dan.id.as_str(), false, false, false),
            (eve.id.as_str(), false, true, false),
            (unknown.as_str(), false, false, false),
            (anna.id.as_str(), false, false, false),
        ]
    );
    // The same from the other side.
    let ba = relation(&stack, &bruno, &anna).await;
    assert!(ba.connected && ba.met_in_person && !ba.blocked);
    let ea = relation(&stack, &eve, &anna).await;
    assert!(ea.blocked && !ea.connected);
    let bc = relation(&stack, &bruno, &chloe).await;
    assert!(!bc.connected && !bc.met_in_person && !bc.blocked);
    stack.stop().await.unwrap();
}

async fn get_relations_answers_its_largest_page(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    connect(&anna, &bruno).await.unwrap();
    let mut others: Vec<String> = (1..1000)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    others.push(bruno.id.clone());
    let relations = stack
        .internal()
        .unwrap()
        .get_relations(pb::GetRelationsRequest {
            member_id: anna.id.clone(),
            other_member_ids: others,
        })
        .await
        .unwrap()
        .into_inner()
        .relations;
    assert_eq!(relations.len(), 1000);
    let connected: Vec<&str> = relations
        .iter()
        .filter(|r| r.connected)
        .map(|r| r.member_id.as_str())
        .collect();
    assert_eq!(connected, [bruno.id.as_str()]);
    stack.stop().await.unwrap();
}

async fn list_connection_ids_filters_by_city_and_pages(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let mut lyon = Vec::new();
    let mut all = Vec::new();
    for i in 0..5 {
        let member = stack.register(&format!("Member {i}")).await.unwrap();
        if i < 3 {
            set!(&member, city: if i == 0 { "LYON" } else { "Lyon" });
            lyon.push(member.id.clone());
        }
        connect(&anna, &member).await.unwrap();
        all.push(member.id.clone());
    }
    let stranger = stack.register("Stranger").await.unwrap();
    set!(&stranger, city: "Lyon");

    let internal = stack.internal().unwrap();
    let list = |city: &str, page_size: i32| {
        let (member_id, city) = (anna.id.clone(), city.to_owned());
        let request = move |page_token| pb::ListConnectionIdsRequest {
            member_id: member_id.clone(),
            city: city.clone(),
            page_size,
            page_token,
        };
        pages!(internal.clone(), list_connection_ids, request, member_ids)
    };

    let (ids, pages) = list("lyon", 0).await;
    assert_eq!(pages, 1);
    assert_same_items(ids, lyon);

    let (ids, pages) = list("", 2).await;
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 5);
    assert_same_items(ids, all);
    stack.stop().await.unwrap();
}

async fn record_meetings_twice_for_one_event_changes_nothing(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    let event_id = uuid::Uuid::now_v7().to_string();

    let first = record(&stack, &event_id, &[&anna, &bruno]).await;
    assert_eq!(
        (
            first.pairs_recorded,
            first.pairs_met,
            first.already_recorded
        ),
        (1, 1, false)
    );
    let outbox = outbox_total(&stack.db).await;
    let before = meetings(&anna).await;

    // A retry, even with a different attendee list, is a no-op.
    let second = record(&stack, &event_id, &[&anna, &bruno, &chloe]).await;
    assert!(second.already_recorded);
    assert_eq!((second.pairs_recorded, second.pairs_met), (0, 0));
    assert_eq!(outbox_total(&stack.db).await, outbox);
    let after = meetings(&anna).await;
    assert_eq!(after, before);
    assert!(meetings(&chloe).await.is_empty());
    assert_eq!(stats(&anna).await.met_in_person, 1);
    stack.stop().await.unwrap();
}

async fn count_unmet_connections_counts_connections_not_yet_met(backend: Backend) {
    let (stack, [anna, bruno, chloe, david, stranger]) =
        stack_of(backend, ["Anna", "Bruno", "Chloe", "David", "Stranger"]).await;
    for other in [&bruno, &chloe, &david] {
        connect(&anna, other).await.unwrap();
    }
    record(&stack, &uuid::Uuid::now_v7().to_string(), &[&anna, &bruno]).await;

    // Going: Bruno (met), Chloe (not met), Stranger (not connected), Anna herself.
    let count = stack
        .internal()
        .unwrap()
        .count_unmet_connections(pb::CountUnmetConnectionsRequest {
            member_id: anna.id.clone(),
            member_ids: vec![
                bruno.id.clone(),
                chloe.id.clone(),
                stranger.id.clone(),
                anna.id.clone(),
            ],
        })
        .await
        .unwrap()
        .into_inner()
        .count;
    assert_eq!(count, 1);
    stack.stop().await.unwrap();
}

async fn signing_keys_verify_a_real_access_token(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;

    let keys = stack
        .internal()
        .unwrap()
        .get_signing_keys(pb::GetSigningKeysRequest {})
        .await
        .unwrap()
        .into_inner()
        .keys;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].algorithm, "EdDSA");
    let key = PublicKey::from_pem(&keys[0].public_key_pem).unwrap();
    assert_eq!(key.key_id(), keys[0].key_id);

    let verifier = TokenVerifier::new(
        &[key],
        &rendezvous_testkit::service_keys(rendezvous_common::auth::ServiceName::Events),
        Clock::system(),
    )
    .unwrap();
    match verifier
        .resolve(Some(&format!("Bearer {}", anna.access_token)))
        .unwrap()
    {
        Caller::Member { id, .. } => assert_eq!(id.to_string(), anna.id),
        other => panic!("expected a member, got {other:?}"),
    }
    // A token signed by another key is refused by the published key.
    let forged = rendezvous_common::auth::TokenIssuer::new(
        rendezvous_common::auth::SigningKeyPair::generate(),
        chrono::Duration::minutes(5),
        Clock::system(),
    )
    .unwrap()
    .issue(anna.id.parse().unwrap(), uuid::Uuid::now_v7())
    .unwrap();
    assert!(
        verifier
            .resolve(Some(&format!("Bearer {}", forged.token)))
            .is_err()
    );
    stack.stop().await.unwrap();
}

backend_tests!(
    import_contacts_finds_members_and_sends_them_requests,
    get_contacts_returns_what_notifications_need,
    get_relations_answers_a_page_of_members_in_one_call,
    get_relations_answers_its_largest_page,
    list_connection_ids_filters_by_city_and_pages,
    record_meetings_twice_for_one_event_changes_nothing,
    count_unmet_connections_counts_connections_not_yet_met,
    signing_keys_verify_a_real_access_token,
);
