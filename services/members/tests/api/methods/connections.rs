//! Request, answer, withdraw and remove connections; list them; block.

use crate::helpers::*;

use std::collections::HashSet;

use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, backend_tests, connect};
use tonic::Code;

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
        outbox_rows(&stack.db, "CONNECTION_REQUESTED", &bruno.id).await,
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
        outbox_rows(&stack.db, "CONNECTION_ACCEPTED", &anna.id).await,
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
        outbox_rows(&stack.db, "CONNECTION_ACCEPTED", &anna.id).await,
        0
    );
    assert!(!relation(&stack, &anna, &bruno).await.connected);
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
    assert!(!relation(&stack, &anna, &bruno).await.connected);
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
    let outbox = outbox_total(&stack.db).await;
    assert_eq!(
        error_code(request(&anna, &bruno, "").await),
        Code::AlreadyExists
    );
    assert_eq!(
        error_code(request(&bruno, &anna, "").await),
        Code::AlreadyExists
    );
    assert_eq!(outbox_total(&stack.db).await, outbox);

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
        outbox_rows(&stack.db, "CONNECTION_REQUESTED", &chloe.id).await,
        1
    );
    assert_eq!(
        outbox_rows(&stack.db, "CONNECTION_ACCEPTED", &anna.id).await,
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
    let seen = relation(&stack, &bruno, &anna).await;
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
    assert!(!relation(&stack, &bruno, &anna).await.blocked);
    stack.stop().await.unwrap();
}

backend_tests!(
    accepted_request_connects_both_and_notifies_each_side,
    declined_request_leaves_the_pair_unconnected,
    withdrawn_request_disappears_from_both_sides,
    removed_connection_disappears_for_both_sides,
    requests_in_both_directions_make_exactly_one_connection,
    list_connections_filters_by_met_in_person,
    list_connection_requests_pages_incoming_and_outgoing,
    blocked_member_cannot_see_or_request_the_blocker_until_unblocked,
);
