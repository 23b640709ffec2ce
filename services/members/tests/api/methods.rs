//! The happy path of every `MemberService` and `MemberInternalService` method, over real gRPC
//! on both backends, asserting what a user (or a calling service) sees.

use crate::helpers::*;
use std::collections::HashSet;

use rendezvous_common::auth::{Caller, PublicKey, TokenVerifier};
use rendezvous_common::clock::Clock;
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{
    Backend, MembersHandle, TestMember, backend_tests, connect, test_service_secret,
};
use tonic::Code;

// ---- accounts and sessions -----------------------------------------------------------------

async fn register_returns_the_member_and_a_working_session(backend: Backend) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let email = unique_email("Zoe.Martin");
    let response = stack
        .anonymous()
        .register(register_request(&email, "Zoé Martin"))
        .await
        .unwrap()
        .into_inner();
    let member = response.member.unwrap();
    let session = response.session.unwrap();
    assert_eq!(member.display_name, "Zoé Martin");
    assert_eq!(member.email, email.to_lowercase());
    assert_eq!(
        (member.city.as_str(), member.locale.as_str()),
        ("Paris", "fr")
    );
    assert_eq!(member.time_zone, "Europe/Paris");
    assert_eq!(member.relationship, i32::from(pb::Relationship::Self_));
    assert!(!member.deleted);
    assert!(!member.etag.is_empty());
    assert_eq!(session.token_type, "Bearer");
    assert!(
        session.refresh_token_expire_time.unwrap().seconds
            > session.access_token_expire_time.unwrap().seconds
    );

    let me = get_member(&stack.client_with_token(&session.access_token), "me")
        .await
        .unwrap();
    assert_eq!(me.id, member.id);

    // The welcome notification was written with the account.
    assert_eq!(outbox_rows(&stack, "WELCOME", &member.id).await, 1);
    stack.stop().await.unwrap();
}

async fn register_refuses_a_taken_email_whatever_its_case_and_writes_nothing(backend: Backend) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let email = unique_email("Zoe.Martin");
    stack
        .anonymous()
        .register(register_request(&email, "Zoé"))
        .await
        .unwrap();
    let outbox_before = outbox_total(&stack).await;

    for taken in [email.clone(), email.to_uppercase(), format!("  {email} ")] {
        let status = stack
            .anonymous()
            .register(register_request(&taken, "Another Zoé"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists, "{taken:?}: {status:?}");
    }
    assert_eq!(outbox_total(&stack).await, outbox_before);
    stack.stop().await.unwrap();
}

async fn login_signs_in_with_the_right_password_only(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;

    let response = stack
        .anonymous()
        .login(pb::LoginRequest {
            email: anna.email.to_uppercase(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.member.unwrap().id, anna.id);
    let session = response.session.unwrap();
    let me = get_member(&stack.client_with_token(&session.access_token), "me")
        .await
        .unwrap();
    assert_eq!(me.id, anna.id);

    assert!(unauthenticated(
        login(&stack, &anna.email, "wrong password!").await
    ));
    assert!(unauthenticated(
        login(&stack, "nobody@example.com", PASSWORD).await
    ));
    stack.stop().await.unwrap();
}

async fn refresh_session_rotates_tokens_and_refuses_the_old_one(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;

    let rotated = refresh(&stack, &anna.refresh_token).await.unwrap();
    assert_ne!(rotated.refresh_token, anna.refresh_token);
    let me = get_member(&stack.client_with_token(&rotated.access_token), "me")
        .await
        .unwrap();
    assert_eq!(me.id, anna.id);

    // The new refresh token rotates in turn; the old one is refused.
    let again = refresh(&stack, &rotated.refresh_token).await.unwrap();
    assert_ne!(again.refresh_token, rotated.refresh_token);
    assert!(unauthenticated(refresh(&stack, &anna.refresh_token).await));
    stack.stop().await.unwrap();
}

async fn logout_revokes_the_session_refresh_token(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let other = login(&stack, &anna.email, PASSWORD).await.unwrap();

    anna.client
        .clone()
        .logout(pb::LogoutRequest {})
        .await
        .unwrap();
    assert!(unauthenticated(refresh(&stack, &anna.refresh_token).await));
    // Another session of the same member is untouched.
    refresh(&stack, &other.refresh_token).await.unwrap();
    stack.stop().await.unwrap();
}

async fn change_password_signs_in_with_the_new_password_and_revokes_other_sessions(
    backend: Backend,
) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let other = login(&stack, &anna.email, PASSWORD).await.unwrap();
    let new_password = "a brand new passphrase";

    anna.client
        .clone()
        .change_password(pb::ChangePasswordRequest {
            old_password: PASSWORD.into(),
            new_password: new_password.into(),
        })
        .await
        .unwrap();

    login(&stack, &anna.email, new_password).await.unwrap();
    assert!(unauthenticated(login(&stack, &anna.email, PASSWORD).await));
    assert!(unauthenticated(refresh(&stack, &other.refresh_token).await));
    // The session that changed the password stays signed in.
    refresh(&stack, &anna.refresh_token).await.unwrap();
    stack.stop().await.unwrap();
}

// ---- profiles ------------------------------------------------------------------------------

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

// ---- connections ---------------------------------------------------------------------------

async fn accepted_request_connects_both_and_notifies_each_side(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;

    let sent = request(&anna, &bruno, "We met at the meetup")
        .await
        .unwrap();
    assert_eq!(sent.state, i32::from(pb::ConnectionRequestState::Pending));
    assert_eq!(
        (sent.requester_id.as_str(), sent.addressee_id.as_str()),
        (anna.id.as_str(), bruno.id.as_str())
    );
    assert_eq!(sent.note, "We met at the meetup");
    assert_eq!(
        outbox_rows(&stack, "CONNECTION_REQUESTED", &bruno.id).await,
        1
    );
    assert_eq!(
        relationship(&bruno, &anna).await,
        pb::Relationship::RequestReceived
    );

    let (incoming, _) = pending_requests(&bruno, pb::RequestDirection::Incoming, 20).await;
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0].id, sent.id);
    assert_eq!(incoming[0].other_display_name, "Anna");
    assert_eq!(incoming[0].note, "We met at the meetup");

    let accepted = respond(&bruno, &sent.id, true).await.unwrap();
    assert_eq!(
        accepted.state,
        i32::from(pb::ConnectionRequestState::Accepted)
    );
    assert_eq!(
        outbox_rows(&stack, "CONNECTION_ACCEPTED", &anna.id).await,
        1
    );
    assert_eq!(
        connection_ids(&connections(&anna, pb::MetFilter::Unspecified).await),
        vec![bruno.id.clone()]
    );
    let bruno_side = connections(&bruno, pb::MetFilter::Unspecified).await;
    assert_eq!(connection_ids(&bruno_side), vec![anna.id.clone()]);
    assert_eq!(bruno_side[0].display_name, "Anna");
    assert!(!bruno_side[0].met_in_person);
    assert_eq!(
        relationship(&anna, &bruno).await,
        pb::Relationship::Connected
    );
    assert!(
        pending_requests(&bruno, pb::RequestDirection::Incoming, 20)
            .await
            .0
            .is_empty()
    );
    stack.stop().await.unwrap();
}

async fn declined_request_leaves_the_pair_unconnected(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;

    let sent = request(&anna, &bruno, "").await.unwrap();
    let declined = respond(&bruno, &sent.id, false).await.unwrap();
    assert_eq!(
        declined.state,
        i32::from(pb::ConnectionRequestState::Declined)
    );
    assert_no_connections(&[&anna]).await;
    assert_nothing_pending(&anna, &bruno).await;
    assert_eq!(
        outbox_rows(&stack, "CONNECTION_ACCEPTED", &anna.id).await,
        0
    );
    assert!(!are_connected(&stack, &anna, &bruno).await.connected);
    stack.stop().await.unwrap();
}

async fn withdrawn_request_disappears_from_both_sides(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;

    let sent = request(&anna, &bruno, "").await.unwrap();
    let withdrawn = withdraw(&anna, &sent.id).await.unwrap();
    assert_eq!(
        withdrawn.state,
        i32::from(pb::ConnectionRequestState::Withdrawn)
    );
    assert_nothing_pending(&anna, &bruno).await;
    // Bruno can no longer accept it.
    assert_eq!(
        error_code(respond(&bruno, &sent.id, true).await),
        Code::FailedPrecondition
    );
    assert_no_connections(&[&bruno]).await;
    stack.stop().await.unwrap();
}

async fn removed_connection_disappears_for_both_sides(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    connect(&anna, &bruno).await.unwrap();

    // Either side may remove it: here the addressee does.
    bruno
        .client
        .clone()
        .remove_connection(pb::RemoveConnectionRequest {
            member_id: anna.id.clone(),
        })
        .await
        .unwrap();
    assert_no_connections(&[&anna, &bruno]).await;
    assert!(!are_connected(&stack, &anna, &bruno).await.connected);
    // They can connect again.
    connect(&anna, &bruno).await.unwrap();
    assert_eq!(
        connections(&bruno, pb::MetFilter::Unspecified).await.len(),
        1
    );
    stack.stop().await.unwrap();
}

async fn requests_in_both_directions_make_exactly_one_connection(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;

    request(&anna, &bruno, "").await.unwrap();
    let crossed = request(&bruno, &anna, "").await.unwrap();
    assert_eq!(
        crossed.state,
        i32::from(pb::ConnectionRequestState::Accepted)
    );
    assert_eq!(
        connection_ids(&connections(&anna, pb::MetFilter::Unspecified).await),
        vec![bruno.id.clone()]
    );
    assert_eq!(
        connection_ids(&connections(&bruno, pb::MetFilter::Unspecified).await),
        vec![anna.id.clone()]
    );
    for member in [&anna, &bruno] {
        for direction in [
            pb::RequestDirection::Incoming,
            pb::RequestDirection::Outgoing,
        ] {
            assert!(pending_requests(member, direction, 20).await.0.is_empty());
        }
    }
    let s = stats(&anna).await;
    assert_eq!(counts(&s), (1, 0, 0, 0));
    // Once connected, neither side can ask again, and a refused request tells nobody.
    let outbox = outbox_total(&stack).await;
    assert_eq!(
        error_code(request(&anna, &bruno, "").await),
        Code::AlreadyExists
    );
    assert_eq!(
        error_code(request(&bruno, &anna, "").await),
        Code::AlreadyExists
    );
    assert_eq!(outbox_total(&stack).await, outbox);

    // Asking twice while the first request is pending is refused.
    request(&anna, &chloe, "").await.unwrap();
    assert_eq!(
        error_code(request(&anna, &chloe, "again").await),
        Code::AlreadyExists
    );
    let (outgoing, _) = pending_requests(&anna, pb::RequestDirection::Outgoing, 20).await;
    assert_eq!(outgoing.len(), 1);
    // Chloe was told once; the crossing request told Anna her request was accepted.
    assert_eq!(
        outbox_rows(&stack, "CONNECTION_REQUESTED", &chloe.id).await,
        1
    );
    assert_eq!(
        outbox_rows(&stack, "CONNECTION_ACCEPTED", &anna.id).await,
        1
    );
    stack.stop().await.unwrap();
}

async fn list_connections_filters_by_met_in_person(backend: Backend) {
    let (stack, [anna, bruno, chloe, david]) =
        stack_of(backend, ["Anna", "Bruno", "Chloe", "David"]).await;
    for other in [&bruno, &chloe, &david] {
        connect(&anna, other).await.unwrap();
    }
    let event_id = uuid::Uuid::now_v7().to_string();
    let recorded = record(&stack, &event_id, &[&anna, &bruno]).await;
    assert_eq!((recorded.pairs_recorded, recorded.pairs_met), (1, 1));

    let all = connections(&anna, pb::MetFilter::Unspecified).await;
    assert_eq!(all.len(), 3);
    let ids: HashSet<String> = connection_ids(&all).into_iter().collect();
    assert_eq!(
        ids,
        HashSet::from([bruno.id.clone(), chloe.id.clone(), david.id.clone()])
    );

    let met = connections(&anna, pb::MetFilter::Met).await;
    assert_eq!(connection_ids(&met), vec![bruno.id.clone()]);
    assert!(met[0].met_in_person);
    assert_eq!(met[0].met_event_id, event_id);
    assert!(met[0].met_time.is_some());

    let not_met: HashSet<String> = connection_ids(&connections(&anna, pb::MetFilter::NotMet).await)
        .into_iter()
        .collect();
    assert_eq!(not_met, HashSet::from([chloe.id.clone(), david.id.clone()]));
    stack.stop().await.unwrap();
}

async fn list_connection_requests_pages_incoming_and_outgoing(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let mut others = Vec::new();
    for i in 0..5 {
        others.push(stack.register(&format!("Member {i}")).await.unwrap());
    }
    // Three ask Anna; Anna asks the other two.
    for other in &others[..3] {
        request(other, &anna, "").await.unwrap();
    }
    for other in &others[3..] {
        request(&anna, other, "").await.unwrap();
    }

    let (incoming, pages) = pending_requests(&anna, pb::RequestDirection::Incoming, 2).await;
    assert_eq!(pages, 2);
    let requesters = incoming.iter().map(|r| r.requester_id.clone()).collect();
    assert_same_items(requesters, ids(&others[..3]));
    assert!(incoming.iter().all(|r| r.addressee_id == anna.id));

    let (outgoing, pages) = pending_requests(&anna, pb::RequestDirection::Outgoing, 1).await;
    assert_eq!(pages, 2);
    let addressees = outgoing.iter().map(|r| r.addressee_id.clone()).collect();
    assert_same_items(addressees, ids(&others[3..]));

    // The default direction is incoming.
    let default = anna
        .client
        .clone()
        .list_connection_requests(pb::ListConnectionRequestsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(default.connection_requests.len(), 3);
    assert!(default.next_page_token.is_empty());
    stack.stop().await.unwrap();
}

async fn blocked_member_cannot_see_or_request_the_blocker_until_unblocked(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    connect(&anna, &bruno).await.unwrap();

    block(&anna, &bruno).await;
    assert_eq!(
        error_code(get_member(&bruno.client, &anna.id).await),
        Code::NotFound
    );
    assert_eq!(error_code(request(&bruno, &anna, "").await), Code::NotFound);
    let found = find(&bruno, "anna").await;
    assert!(found.is_empty());
    assert_eq!(relationship(&anna, &bruno).await, pb::Relationship::Blocked);
    // Blocking ends the connection.
    assert_no_connections(&[&anna]).await;
    let seen = are_connected(&stack, &bruno, &anna).await;
    assert!(seen.blocked && !seen.connected);

    unblock(&anna, &bruno).await;
    assert_eq!(
        get_member(&bruno.client, &anna.id)
            .await
            .unwrap()
            .display_name,
        "Anna"
    );
    let sent = request(&bruno, &anna, "Sorry!").await.unwrap();
    assert_eq!(sent.state, i32::from(pb::ConnectionRequestState::Pending));
    assert!(!are_connected(&stack, &bruno, &anna).await.blocked);
    stack.stop().await.unwrap();
}

// ---- meetings and stats --------------------------------------------------------------------

async fn list_meetings_shows_each_event_with_its_co_attendees(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    let event_id = uuid::Uuid::now_v7().to_string();
    let recorded = record(&stack, &event_id, &[&anna, &bruno, &chloe]).await;
    assert_eq!((recorded.pairs_recorded, recorded.pairs_met), (3, 1));
    assert!(!recorded.already_recorded);

    let list = meetings(&anna).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].event_id, event_id);
    assert_eq!(list[0].event_title, "Café networking — Le Marais");
    assert!(list[0].event_time.is_some());
    let co = &list[0].co_attendees;
    assert_eq!(co.len(), 2);
    let with_bruno = co.iter().find(|c| c.member_id == bruno.id).unwrap();
    assert_eq!(with_bruno.display_name, "Bruno");
    assert!(with_bruno.met && with_bruno.connected);
    let with_chloe = co.iter().find(|c| c.member_id == chloe.id).unwrap();
    assert!(!with_chloe.met && !with_chloe.connected && !with_chloe.confirmed_by_me);
    assert_eq!(outbox_rows(&stack, "MEETING_FOLLOW_UP", &chloe.id).await, 1);
    stack.stop().await.unwrap();
}

async fn at_a_large_event_a_pair_is_met_only_after_both_confirm(backend: Backend) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let stack_ref = &stack;
    let attendees: Vec<TestMember> = futures::future::join_all((0..14).map(|i| async move {
        stack_ref
            .register(&format!("Attendee {i:02}"))
            .await
            .unwrap()
    }))
    .await;
    let (anna, bruno) = (&attendees[0], &attendees[1]);
    connect(anna, bruno).await.unwrap();
    let event_id = uuid::Uuid::now_v7().to_string();
    let everyone: Vec<&TestMember> = attendees.iter().collect();
    let recorded = record(&stack, &event_id, &everyone).await;
    assert_eq!(recorded.pairs_recorded, 14 * 13 / 2);
    assert_eq!(
        recorded.pairs_met, 0,
        "more than 12 checked in: nobody is met at once"
    );
    assert_eq!(meetings(anna).await[0].co_attendees.len(), 13);

    let confirm = |who: &TestMember, other: &TestMember| {
        let mut client = who.client.clone();
        let request = pb::ConfirmMetRequest {
            event_id: event_id.clone(),
            member_id: other.id.clone(),
        };
        async move {
            client
                .confirm_met(request)
                .await
                .unwrap()
                .into_inner()
                .co_attendee
                .unwrap()
        }
    };

    let half = confirm(anna, bruno).await;
    assert!(half.confirmed_by_me && !half.confirmed_by_them && !half.met);
    assert!(!are_connected(&stack, anna, bruno).await.met_in_person);
    assert!(connections(anna, pb::MetFilter::Met).await.is_empty());
    let bruno_view = meetings(bruno).await[0]
        .co_attendees
        .iter()
        .find(|c| c.member_id == anna.id)
        .cloned()
        .unwrap();
    assert!(!bruno_view.confirmed_by_me && bruno_view.confirmed_by_them && !bruno_view.met);

    let both = confirm(bruno, anna).await;
    assert!(both.confirmed_by_me && both.confirmed_by_them && both.met && both.connected);
    assert!(are_connected(&stack, anna, bruno).await.met_in_person);
    assert_eq!(
        connection_ids(&connections(anna, pb::MetFilter::Met).await),
        vec![bruno.id.clone()]
    );
    let s = stats(anna).await;
    assert_eq!((s.connections, s.met_in_person), (1, 1));
    assert!((s.real_life_ratio - 1.0).abs() < 1e-9);
    assert_eq!(outbox_rows(&stack, "MET_IN_PERSON", &anna.id).await, 1);
    assert_eq!(outbox_rows(&stack, "MET_IN_PERSON", &bruno.id).await, 1);
    stack.stop().await.unwrap();
}

async fn list_meetings_pages_newest_event_first(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    let mut events = Vec::new();
    for hours_ago in [72, 24, 48] {
        let event_id = uuid::Uuid::now_v7().to_string();
        record_at(&stack, &event_id, hours_ago, &[&anna, &bruno]).await;
        events.push((hours_ago, event_id));
    }
    events.sort();

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut page_token = String::new();
    loop {
        let page = anna
            .client
            .clone()
            .list_meetings(pb::ListMeetingsRequest {
                page_size: 2,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        seen.extend(page.meetings.into_iter().map(|m| m.event_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    let newest_first: Vec<String> = events.into_iter().map(|(_, id)| id).collect();
    assert_eq!(seen, newest_first);
    stack.stop().await.unwrap();
}

async fn dismissed_co_attendee_is_marked_dismissed(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    let event_id = uuid::Uuid::now_v7().to_string();
    record(&stack, &event_id, &[&anna, &bruno]).await;

    let dismiss = pb::DismissMeetingRequest {
        event_id: event_id.clone(),
        member_id: bruno.id.clone(),
    };
    let dismissed = anna.client.clone().dismiss_meeting(dismiss).await.unwrap();
    let dismissed = dismissed.into_inner().co_attendee.unwrap();
    assert_eq!(dismissed.member_id, bruno.id);
    assert!(dismissed.dismissed && !dismissed.met && !dismissed.confirmed_by_me);
    let listed = &meetings(&anna).await[0].co_attendees[0];
    assert!(listed.dismissed);
    // Bruno's side is unaffected.
    assert!(!meetings(&bruno).await[0].co_attendees[0].dismissed);
    stack.stop().await.unwrap();
}

async fn network_stats_count_connections_met_and_pending_requests(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let stack_ref = &stack;
    let others: Vec<TestMember> = futures::future::join_all(
        (0..6).map(|i| async move { stack_ref.register(&format!("Member {i}")).await.unwrap() }),
    )
    .await;
    let fresh = stats(&anna).await;
    assert_eq!(counts(&fresh), (0, 0, 0, 0));
    assert!(fresh.real_life_ratio.abs() < 1e-9);

    for other in &others[..4] {
        connect(&anna, other).await.unwrap();
    }
    request(&others[4], &anna, "").await.unwrap();
    request(&anna, &others[5], "").await.unwrap();
    record(
        &stack,
        &uuid::Uuid::now_v7().to_string(),
        &[&anna, &others[0]],
    )
    .await;

    let s = stats(&anna).await;
    assert_eq!(counts(&s), (4, 1, 1, 1));
    assert!((s.real_life_ratio - 0.25).abs() < 1e-9);
    stack.stop().await.unwrap();
}

// ---- contact import ------------------------------------------------------------------------

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

async fn are_connected_reports_connection_and_meeting(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    connect(&anna, &chloe).await.unwrap();
    record(&stack, &uuid::Uuid::now_v7().to_string(), &[&anna, &bruno]).await;

    let ab = are_connected(&stack, &anna, &bruno).await;
    assert!(ab.connected && ab.met_in_person && !ab.blocked);
    // Symmetric.
    let ba = are_connected(&stack, &bruno, &anna).await;
    assert!(ba.connected && ba.met_in_person);
    let ac = are_connected(&stack, &anna, &chloe).await;
    assert!(ac.connected && !ac.met_in_person);
    let bc = are_connected(&stack, &bruno, &chloe).await;
    assert!(!bc.connected && !bc.met_in_person && !bc.blocked);
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
    let outbox = outbox_total(&stack).await;
    let before = meetings(&anna).await;

    // A retry, even with a different attendee list, is a no-op.
    let second = record(&stack, &event_id, &[&anna, &bruno, &chloe]).await;
    assert!(second.already_recorded);
    assert_eq!((second.pairs_recorded, second.pairs_met), (0, 0));
    assert_eq!(outbox_total(&stack).await, outbox);
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

    let verifier = TokenVerifier::new(&[key], &test_service_secret(), Clock::system()).unwrap();
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
    register_returns_the_member_and_a_working_session,
    register_refuses_a_taken_email_whatever_its_case_and_writes_nothing,
    login_signs_in_with_the_right_password_only,
    refresh_session_rotates_tokens_and_refuses_the_old_one,
    logout_revokes_the_session_refresh_token,
    change_password_signs_in_with_the_new_password_and_revokes_other_sessions,
    get_member_shows_me_everything_and_others_the_public_profile,
    update_member_changes_only_masked_fields_and_refuses_a_stale_etag,
    search_members_filters_by_city_interest_and_text,
    search_members_pages_return_every_match_exactly_once,
    deleted_member_shows_as_deleted_and_frees_the_email,
    export_member_data_holds_profile_connections_and_requests,
    accepted_request_connects_both_and_notifies_each_side,
    declined_request_leaves_the_pair_unconnected,
    withdrawn_request_disappears_from_both_sides,
    removed_connection_disappears_for_both_sides,
    requests_in_both_directions_make_exactly_one_connection,
    list_connections_filters_by_met_in_person,
    list_connection_requests_pages_incoming_and_outgoing,
    blocked_member_cannot_see_or_request_the_blocker_until_unblocked,
    list_meetings_shows_each_event_with_its_co_attendees,
    at_a_large_event_a_pair_is_met_only_after_both_confirm,
    list_meetings_pages_newest_event_first,
    dismissed_co_attendee_is_marked_dismissed,
    network_stats_count_connections_met_and_pending_requests,
    import_contacts_finds_members_and_sends_them_requests,
    get_contacts_returns_what_notifications_need,
    are_connected_reports_connection_and_meeting,
    list_connection_ids_filters_by_city_and_pages,
    record_meetings_twice_for_one_event_changes_nothing,
    count_unmet_connections_counts_connections_not_yet_met,
    signing_keys_verify_a_real_access_token,
);
