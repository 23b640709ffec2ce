//! Who may do and see what: members act on their own data only, anonymous callers must sign
//! in, the internal API is for services, and profile visibility, blocks and met edges show
//! each caller exactly what they may see.

use crate::helpers::*;

use rendezvous_common::auth::{ServiceCredentials, ServiceName, SigningKeyPair};
use rendezvous_common::clock::Clock;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{
    Backend, Bearer, MemberInternalClient, TestMember, backend_tests, connect,
};
use tonic::Code;

async fn search_ids(member: &TestMember, query: &str) -> Vec<String> {
    find(member, query)
        .await
        .into_iter()
        .map(|m| m.id)
        .collect()
}

async fn set_visibility(member: &TestMember, visibility: pb::ProfileVisibility) {
    let profile = pb::Member {
        headline: "Organiser of coffee mornings".into(),
        company: "Rendezvous".into(),
        interests: vec!["coffee".into()],
        linkedin_url: format!("https://www.linkedin.com/in/{}", member.id),
        visibility: visibility.into(),
        ..Default::default()
    };
    let paths = [
        "headline",
        "company",
        "interests",
        "linkedin_url",
        "visibility",
    ];
    update(member, profile, &paths).await.unwrap();
}

/// Only the id and display name: what a viewer without access sees.
fn assert_name_only(member: &pb::Member, who: &str) {
    assert!(
        !member.id.is_empty() && !member.display_name.is_empty(),
        "{who}"
    );
    assert_eq!(member.email, "", "{who} sees the email");
    assert_eq!(member.headline, "", "{who} sees the headline");
    assert_eq!(member.company, "", "{who} sees the company");
    assert_eq!(member.city, "", "{who} sees the city");
    assert!(member.interests.is_empty(), "{who} sees the interests");
    assert_eq!(member.linkedin_url, "", "{who} sees the LinkedIn URL");
    assert_eq!(member.locale, "", "{who} sees the locale");
    assert_eq!(member.time_zone, "", "{who} sees the time zone");
    assert!(member.create_time.is_none(), "{who} sees the creation time");
    assert_eq!(member.etag, "", "{who} sees the etag");
    assert!(
        !member.findable_by_contact_details,
        "{who} sees the contact-import setting"
    );
}

async fn a_member_cannot_update_or_delete_another_members_profile(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;

    let status = bruno
        .client
        .clone()
        .update_member(pb::UpdateMemberRequest {
            member: Some(pb::Member {
                id: anna.id.clone(),
                headline: "Hacked".into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["headline".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    let delete = pb::DeleteMemberRequest {
        id: anna.id.clone(),
    };
    let deleted = call!(bruno.client, delete_member, delete).await;
    assert_eq!(code(deleted), Code::PermissionDenied);

    let profile = get_member(&anna.client, "me").await.unwrap();
    assert_eq!(profile.headline, "");
    assert!(!profile.deleted);
    assert_eq!(profile.email, anna.email);
    stack.stop().await.unwrap();
}

async fn an_export_holds_only_the_callers_own_data(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &chloe).await.unwrap();

    let Export { json, text, .. } = export(&bruno).await;
    assert_eq!(json["profile"]["email"], bruno.email);
    assert_eq!(json["connections"].as_array().unwrap().len(), 0);
    for other in [&anna, &chloe] {
        assert!(!text.contains(&other.email), "{}'s email leaked", other.id);
        assert!(!text.contains(&other.id), "{}'s id leaked", other.id);
    }
    stack.stop().await.unwrap();
}

async fn only_the_addressee_answers_and_only_the_requester_withdraws_a_request(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    let asked = request(&anna, &bruno, "Hello").await.unwrap();

    let answer = |member| respond(member, &asked.id, true);
    assert_eq!(code(answer(&anna).await), Code::PermissionDenied);
    assert_eq!(code(answer(&chloe).await), Code::NotFound);
    assert_eq!(
        code(withdraw(&bruno, &asked.id).await),
        Code::PermissionDenied
    );
    assert_eq!(code(withdraw(&chloe, &asked.id).await), Code::NotFound);

    // None of that touched the request: still pending, and Bruno can accept it.
    let pending = requests(&bruno, pb::RequestDirection::Incoming).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, asked.id);
    let accepted = answer(&bruno).await.unwrap();
    assert_eq!(accepted.state(), pb::ConnectionRequestState::Accepted);
    stack.stop().await.unwrap();
}

async fn a_member_cannot_confirm_or_dismiss_a_meeting_they_were_not_in(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    let event = record_event(&stack, &[&anna, &bruno]).await;

    let confirm = |by: &TestMember, with: &TestMember| {
        call!(
            by.client,
            confirm_met,
            pb::ConfirmMetRequest {
                event_id: event.clone(),
                member_id: with.id.clone(),
            }
        )
    };
    assert_eq!(code(confirm(&chloe, &anna).await), Code::NotFound);
    assert_eq!(code(confirm(&anna, &chloe).await), Code::NotFound);
    let dismiss = call!(
        chloe.client,
        dismiss_meeting,
        pb::DismissMeetingRequest {
            event_id: event.clone(),
            member_id: bruno.id.clone(),
        }
    );
    assert_eq!(code(dismiss.await), Code::NotFound);

    // Anna's follow-up is unchanged by Chloe's attempts.
    let anna_meetings = meetings(&anna).await;
    assert_eq!(anna_meetings.len(), 1);
    let co = &anna_meetings[0].co_attendees;
    assert_eq!(co.len(), 1);
    assert_eq!(co[0].member_id, bruno.id);
    assert!(!co[0].confirmed_by_me && !co[0].confirmed_by_them && !co[0].dismissed);
    stack.stop().await.unwrap();
}

async fn lists_and_stats_show_only_the_callers_own_network(backend: Backend) {
    let (stack, [anna, bruno, chloe, dan, eve]) =
        stack_of(backend, ["Anna", "Bruno", "Chloe", "Dan", "Eve"]).await;
    connect(&anna, &bruno).await.unwrap();
    connect(&chloe, &dan).await.unwrap();
    let anna_event = record_event(&stack, &[&anna, &bruno]).await;
    let chloe_event = record_event(&stack, &[&chloe, &dan]).await;
    let to_anna = request(&eve, &anna, "Hello").await.unwrap();
    let from_chloe = request(&chloe, &eve, "Hello").await.unwrap();

    let ids = |cs: Vec<pb::Connection>| cs.into_iter().map(|c| c.member_id).collect::<Vec<_>>();
    assert_eq!(
        ids(connections(&anna, pb::MetFilter::Unspecified).await),
        [bruno.id.as_str()]
    );
    assert_eq!(
        ids(connections(&chloe, pb::MetFilter::Unspecified).await),
        [dan.id.as_str()]
    );

    let events = |ms: Vec<pb::Meeting>| ms.into_iter().map(|m| m.event_id).collect::<Vec<_>>();
    assert_eq!(events(meetings(&anna).await), [anna_event]);
    assert_eq!(events(meetings(&chloe).await), [chloe_event]);

    let request_ids =
        |rs: Vec<pb::ConnectionRequest>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        request_ids(requests(&anna, pb::RequestDirection::Incoming).await),
        [to_anna.id]
    );
    assert!(no_requests(&anna, pb::RequestDirection::Outgoing).await);
    assert!(no_requests(&chloe, pb::RequestDirection::Incoming).await);
    assert_eq!(
        request_ids(requests(&chloe, pb::RequestDirection::Outgoing).await),
        [from_chloe.id]
    );

    let anna_stats = stats(&anna).await;
    assert_eq!(counts(&anna_stats), (1, 1, 1, 0));
    let chloe_stats = stats(&chloe).await;
    assert_eq!(counts(&chloe_stats), (1, 1, 0, 1));
    let eve_stats = stats(&eve).await;
    assert_eq!(counts(&eve_stats), (0, 0, 1, 1));
    stack.stop().await.unwrap();
}

async fn anonymous_callers_must_sign_in_for_every_member_method(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let id = || anna.id.clone();
    let anon = stack.anonymous();
    let calls = vec![
        ("Logout", call!(anon, logout, pb::LogoutRequest {})),
        (
            "ChangePassword",
            call!(
                anon,
                change_password,
                pb::ChangePasswordRequest {
                    old_password: anna.password.clone(),
                    new_password: "another fine passphrase".into(),
                }
            ),
        ),
        (
            "GetMember me",
            call!(anon, get_member, pb::GetMemberRequest { id: "me".into() }),
        ),
        (
            "UpdateMember",
            call!(
                anon,
                update_member,
                pb::UpdateMemberRequest {
                    member: Some(pb::Member {
                        id: id(),
                        headline: "Hello".into(),
                        ..Default::default()
                    }),
                    update_mask: Some(FieldMask {
                        paths: vec!["headline".into()],
                    }),
                }
            ),
        ),
        (
            "SearchMembers",
            call!(anon, search_members, pb::SearchMembersRequest::default()),
        ),
        (
            "DeleteMember",
            call!(anon, delete_member, pb::DeleteMemberRequest { id: id() }),
        ),
        (
            "ExportMemberData",
            call!(anon, export_member_data, pb::ExportMemberDataRequest {}),
        ),
        (
            "RequestConnection",
            call!(
                anon,
                request_connection,
                pb::RequestConnectionRequest {
                    member_id: id(),
                    note: String::new(),
                }
            ),
        ),
        (
            "RespondToConnectionRequest",
            call!(
                anon,
                respond_to_connection_request,
                pb::RespondToConnectionRequestRequest {
                    connection_request_id: uuid::Uuid::now_v7().to_string(),
                    accept: true,
                }
            ),
        ),
        (
            "WithdrawConnectionRequest",
            call!(
                anon,
                withdraw_connection_request,
                pb::WithdrawConnectionRequestRequest {
                    connection_request_id: uuid::Uuid::now_v7().to_string(),
                }
            ),
        ),
        (
            "RemoveConnection",
            call!(
                anon,
                remove_connection,
                pb::RemoveConnectionRequest { member_id: id() }
            ),
        ),
        (
            "ListConnections",
            call!(
                anon,
                list_connections,
                pb::ListConnectionsRequest::default()
            ),
        ),
        (
            "ListConnectionRequests",
            call!(
                anon,
                list_connection_requests,
                pb::ListConnectionRequestsRequest::default()
            ),
        ),
        (
            "BlockMember",
            call!(
                anon,
                block_member,
                pb::BlockMemberRequest { member_id: id() }
            ),
        ),
        (
            "UnblockMember",
            call!(
                anon,
                unblock_member,
                pb::UnblockMemberRequest { member_id: id() }
            ),
        ),
        (
            "ListMeetings",
            call!(anon, list_meetings, pb::ListMeetingsRequest::default()),
        ),
        (
            "ConfirmMet",
            call!(
                anon,
                confirm_met,
                pb::ConfirmMetRequest {
                    event_id: uuid::Uuid::now_v7().to_string(),
                    member_id: id(),
                }
            ),
        ),
        (
            "DismissMeeting",
            call!(
                anon,
                dismiss_meeting,
                pb::DismissMeetingRequest {
                    event_id: uuid::Uuid::now_v7().to_string(),
                    member_id: id(),
                }
            ),
        ),
        (
            "GetNetworkStats",
            call!(anon, get_network_stats, pb::GetNetworkStatsRequest {}),
        ),
        (
            "ImportContacts",
            call!(
                anon,
                import_contacts,
                pb::ImportContactsRequest {
                    csv_data: b"First Name,Last Name,URL,Email Address\n".to_vec(),
                    ..Default::default()
                }
            ),
        ),
    ];
    let mut wrong = Vec::new();
    for (method, call) in calls {
        let got = code(call.await);
        if got != Code::Unauthenticated {
            wrong.push(format!("{method}: {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "not UNAUTHENTICATED: {wrong:?}");

    // Nothing happened to Anna's account.
    let me = get_member(&anna.client, "me").await.unwrap();
    assert!(!me.deleted);
    assert_eq!(me.headline, "");
    stack.stop().await.unwrap();
}

/// Every MemberInternalService method, called through `client`.
fn internal_calls(client: &MemberInternalClient, a: &str, b: &str) -> Vec<(&'static str, Call)> {
    vec![
        (
            "GetContacts",
            call!(
                client,
                get_contacts,
                pb::GetContactsRequest {
                    member_ids: vec![a.to_owned()],
                }
            ),
        ),
        (
            "GetRelations",
            call!(
                client,
                get_relations,
                pb::GetRelationsRequest {
                    member_id: a.to_owned(),
                    other_member_ids: vec![b.to_owned()],
                }
            ),
        ),
        (
            "ListConnectionIds",
            call!(
                client,
                list_connection_ids,
                pb::ListConnectionIdsRequest {
                    member_id: a.to_owned(),
                    ..Default::default()
                }
            ),
        ),
        (
            "RecordMeetings",
            call!(
                client,
                record_meetings,
                record_meetings_request(
                    &uuid::Uuid::now_v7().to_string(),
                    EVENT_TITLE,
                    chrono::Utc::now(),
                    &[a.to_owned(), b.to_owned()],
                )
            ),
        ),
        (
            "CountUnmetConnections",
            call!(
                client,
                count_unmet_connections,
                pb::CountUnmetConnectionsRequest {
                    member_id: a.to_owned(),
                    member_ids: vec![b.to_owned()],
                }
            ),
        ),
        (
            "GetSigningKeys",
            call!(client, get_signing_keys, pb::GetSigningKeysRequest {}),
        ),
    ]
}

/// The methods each service identity may call, as the code calls them: events all of them,
/// notifications contacts and signing keys, members none of its own.
fn allowed_to(service: ServiceName, method: &str) -> bool {
    match service {
        ServiceName::Events => true,
        ServiceName::Notifications => matches!(method, "GetContacts" | "GetSigningKeys"),
        ServiceName::Members => false,
    }
}

async fn each_internal_method_takes_the_services_it_lists_and_refuses_the_others(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    let mut wrong = Vec::new();
    for service in ServiceName::ALL {
        let client = stack.internal_as(service).unwrap();
        for (method, call) in internal_calls(&client, &anna.id, &bruno.id) {
            let got = code(call.await);
            let expected = if allowed_to(service, method) {
                Code::Ok
            } else {
                Code::PermissionDenied
            };
            if got != expected {
                wrong.push(format!(
                    "{method} by {service}: {got:?}, expected {expected:?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    stack.stop().await.unwrap();
}

async fn the_internal_api_takes_service_credentials_only(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    // Events' identity, signed by a key members does not know.
    let forged = ServiceCredentials::new(
        ServiceName::Events,
        ServiceName::Members,
        &SigningKeyPair::generate(),
        Clock::system(),
    )
    .unwrap();
    let for_notifications =
        rendezvous_testkit::service_bearer(ServiceName::Events, ServiceName::Notifications);

    let callers = [
        (
            "anonymous",
            stack.internal_with(Bearer::default()),
            Code::Unauthenticated,
        ),
        (
            "a member",
            stack.internal_with(Bearer::token(&anna.access_token)),
            Code::PermissionDenied,
        ),
        (
            "a service credential signed by an unknown key",
            stack.internal_with(Bearer::raw(&forged.bearer().unwrap())),
            Code::Unauthenticated,
        ),
        (
            "events' credential for notifications",
            stack.internal_with(Bearer::raw(&for_notifications)),
            Code::Unauthenticated,
        ),
        ("a service", stack.internal().unwrap(), Code::Ok),
    ];
    let mut wrong = Vec::new();
    for (who, client, expected) in callers {
        for (method, call) in internal_calls(&client, &anna.id, &bruno.id) {
            let got = code(call.await);
            if got != expected {
                wrong.push(format!("{method} by {who}: {got:?}, expected {expected:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    stack.stop().await.unwrap();
}

async fn a_connections_only_profile_shows_details_to_connections_and_email_to_self_only(
    backend: Backend,
) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &chloe).await.unwrap();
    set_visibility(&anna, pb::ProfileVisibility::Connections).await;

    let to_stranger = get_member(&bruno.client, &anna.id).await.unwrap();
    assert_eq!(to_stranger.id, anna.id);
    assert_eq!(to_stranger.display_name, "Anna");
    assert_name_only(&to_stranger, "a non-connection");
    let to_anonymous = get_member(&stack.anonymous(), &anna.id).await.unwrap();
    assert_eq!(to_anonymous.display_name, "Anna");
    assert_name_only(&to_anonymous, "an anonymous caller");

    let to_connection = get_member(&chloe.client, &anna.id).await.unwrap();
    assert_eq!(to_connection.headline, "Organiser of coffee mornings");
    assert_eq!(to_connection.company, "Rendezvous");
    assert_eq!(to_connection.city, "Paris");
    assert_eq!(to_connection.interests, ["coffee"]);
    assert!(!to_connection.linkedin_url.is_empty());
    assert_eq!(to_connection.email, "", "a connection sees the email");
    assert_eq!(to_connection.relationship(), pb::Relationship::Connected);

    let to_self = get_member(&anna.client, &anna.id).await.unwrap();
    assert_eq!(to_self.email, anna.email);
    assert_eq!(to_self.headline, "Organiser of coffee mornings");
    assert_eq!(to_self.relationship(), pb::Relationship::Self_);

    // Search agrees: the connection finds her, the stranger does not.
    assert!(search_ids(&chloe, "").await.contains(&anna.id));
    assert!(!search_ids(&bruno, "").await.contains(&anna.id));
    let found = find(&chloe, "anna").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].email, "", "search shows a connection's email");
    stack.stop().await.unwrap();
}

async fn a_private_profile_never_appears_in_search(backend: Backend) {
    let (stack, [anna, bruno, dan]) = stack_of(backend, ["Anna", "Bruno", "Dan"]).await;
    connect(&anna, &dan).await.unwrap();
    set_visibility(&dan, pb::ProfileVisibility::Private).await;

    assert!(search_ids(&anna, "").await.contains(&bruno.id));
    for viewer in [&anna, &bruno] {
        for query in ["", "dan", "coffee", "rendezvous"] {
            assert!(
                !search_ids(viewer, query).await.contains(&dan.id),
                "{} finds Dan with {query:?}",
                viewer.id
            );
        }
        let by_interest = search(
            viewer,
            pb::SearchMembersRequest {
                interest: "coffee".into(),
                city: "Paris".into(),
                ..Default::default()
            },
        )
        .await;
        assert!(by_interest.iter().all(|m| m.id != dan.id));
    }
    // Even a connection sees only the name of a private profile.
    let seen = get_member(&anna.client, &dan.id).await.unwrap();
    assert_eq!(seen.display_name, "Dan");
    assert_name_only(&seen, "a connection of a private member");
    stack.stop().await.unwrap();
}

async fn a_block_hides_the_two_members_from_each_other(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    block(&anna, &bruno).await;

    // The blocked member cannot see the blocker at all.
    assert_eq!(
        code(get_member(&bruno.client, &anna.id).await),
        Code::NotFound
    );
    // The blocker sees whom they block.
    let blocked = get_member(&anna.client, &bruno.id).await.unwrap();
    assert_eq!(blocked.relationship(), pb::Relationship::Blocked);

    // Search never lists either to the other; both still find Chloe.
    let by_anna = search_ids(&anna, "").await;
    assert!(!by_anna.contains(&bruno.id) && by_anna.contains(&chloe.id));
    let by_bruno = search_ids(&bruno, "").await;
    assert!(!by_bruno.contains(&anna.id) && by_bruno.contains(&chloe.id));

    // The block ended the connection, and no request passes either way.
    assert_no_connections(&[&anna, &bruno]).await;
    let ask = |from: &TestMember, to: &TestMember| {
        call!(
            from.client,
            request_connection,
            pb::RequestConnectionRequest {
                member_id: to.id.clone(),
                note: String::new(),
            }
        )
    };
    assert_eq!(code(ask(&bruno, &anna).await), Code::NotFound);
    assert_eq!(code(ask(&anna, &bruno).await), Code::FailedPrecondition);
    assert!(no_requests(&anna, pb::RequestDirection::Incoming).await);

    // Unblocking makes Anna visible to Bruno again.
    unblock(&anna, &bruno).await;
    assert_eq!(
        get_member(&bruno.client, &anna.id).await.unwrap().id,
        anna.id
    );
    stack.stop().await.unwrap();
}

async fn a_met_edge_is_visible_only_to_its_two_members(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    connect(&anna, &chloe).await.unwrap();
    connect(&bruno, &chloe).await.unwrap();
    let event = record_event(&stack, &[&anna, &bruno]).await;

    let find = |cs: &[pb::Connection], id: &str| {
        cs.iter()
            .find(|c| c.member_id == id)
            .cloned()
            .unwrap_or_else(|| panic!("no connection with {id}"))
    };
    for (me, other) in [(&anna, &bruno), (&bruno, &anna)] {
        let mine = connections(me, pb::MetFilter::Unspecified).await;
        let edge = find(&mine, &other.id);
        assert!(edge.met_in_person);
        assert_eq!(edge.met_event_id, event);
        assert!(edge.met_time.is_some());
        let with_chloe = find(&mine, &chloe.id);
        assert!(!with_chloe.met_in_person);
    }

    let chloes = connections(&chloe, pb::MetFilter::Unspecified).await;
    assert_eq!(chloes.len(), 2);
    for c in &chloes {
        assert!(
            !c.met_in_person,
            "Chloe sees a met edge with {}",
            c.member_id
        );
        assert_eq!(c.met_event_id, "");
        assert!(c.met_time.is_none());
    }
    let chloes_met = connections(&chloe, pb::MetFilter::Met).await;
    assert!(chloes_met.is_empty());
    assert!(meetings(&chloe).await.is_empty());
    assert_eq!(stats(&chloe).await.met_in_person, 0);
    assert_eq!(stats(&anna).await.met_in_person, 1);
    stack.stop().await.unwrap();
}

backend_tests!(
    a_member_cannot_update_or_delete_another_members_profile,
    an_export_holds_only_the_callers_own_data,
    only_the_addressee_answers_and_only_the_requester_withdraws_a_request,
    a_member_cannot_confirm_or_dismiss_a_meeting_they_were_not_in,
    lists_and_stats_show_only_the_callers_own_network,
    anonymous_callers_must_sign_in_for_every_member_method,
    the_internal_api_takes_service_credentials_only,
    each_internal_method_takes_the_services_it_lists_and_refuses_the_others,
    a_connections_only_profile_shows_details_to_connections_and_email_to_self_only,
    a_private_profile_never_appears_in_search,
    a_block_hides_the_two_members_from_each_other,
    a_met_edge_is_visible_only_to_its_two_members,
);
