//! `EventInternalService` by caller: members (its relay) erases, exports, ends sessions,
//! records blocks, books and calls off coffees, counts met edges, and finds an event two
//! members may both attend; every other service identity is PERMISSION_DENIED, members and
//! anonymous callers are refused as for any internal method, and a credential for another
//! audience or under an unknown key is UNAUTHENTICATED.

use rendezvous_common::auth::{ServiceCredentials, ServiceName, SigningKeyPair};
use rendezvous_proto::events::v1 as pb;
use rendezvous_testkit::{Backend, Bearer, EventInternalClient, backend_tests, timestamp};
use tonic::Code;

use super::now0;
use crate::helpers::World;

/// Every internal method for `member_id`: `(method, code)`.
async fn every_method(
    client: &EventInternalClient,
    member_id: &str,
    world: &World,
) -> Vec<(&'static str, Code)> {
    let mut c = client.clone();
    // Before the erasure below, which would refuse a coffee of an erased member.
    let start = world.clock.now() + chrono::Duration::days(2);
    let coffee = c
        .schedule_coffee(pb::ScheduleCoffeeRequest {
            event_id: uuid::Uuid::now_v7().to_string(),
            proposal_id: uuid::Uuid::now_v7().to_string(),
            host: Some(pb::CoffeeGuest {
                member_id: member_id.to_owned(),
                display_name: "Anna".to_owned(),
            }),
            guest: Some(pb::CoffeeGuest {
                member_id: uuid::Uuid::now_v7().to_string(),
                display_name: "Bruno".to_owned(),
            }),
            start_time: Some(timestamp(start)),
            end_time: Some(timestamp(start + chrono::Duration::hours(1))),
            time_zone: "Europe/Paris".to_owned(),
            city: "Paris".to_owned(),
            venue: None,
            preferred_areas: Vec::new(),
        })
        .await;
    let call_off = c
        .cancel_coffee(pb::CancelCoffeeRequest {
            proposal_id: uuid::Uuid::now_v7().to_string(),
            event_id: uuid::Uuid::now_v7().to_string(),
        })
        .await;
    let edge = c
        .record_met_edge(pb::RecordMetEdgeRequest {
            event_id: uuid::Uuid::now_v7().to_string(),
            member_a: member_id.to_owned(),
            member_b: uuid::Uuid::now_v7().to_string(),
            met_time: Some(timestamp(world.clock.now())),
        })
        .await;
    let shared = c
        .find_shared_event(pb::FindSharedEventRequest {
            member_a: member_id.to_owned(),
            member_b: uuid::Uuid::now_v7().to_string(),
            city: "Paris".to_owned(),
            start_after: Some(timestamp(world.clock.now())),
            start_before: Some(timestamp(start)),
        })
        .await;
    let export = c
        .export_member_data(pb::ExportMemberDataRequest {
            member_id: member_id.to_owned(),
        })
        .await;
    let erase = c
        .erase_member(pb::EraseMemberRequest {
            member_id: member_id.to_owned(),
            erase_time: Some(timestamp(world.clock.now())),
        })
        .await;
    let revoke = c
        .revoke_sessions(pb::RevokeSessionsRequest {
            member_id: member_id.to_owned(),
            session_ids: vec![uuid::Uuid::now_v7().to_string()],
            revoke_time: Some(timestamp(world.clock.now())),
        })
        .await;
    let blocks = c
        .record_blocks(pb::RecordBlocksRequest {
            changes: vec![pb::BlockChange {
                blocker_id: member_id.to_owned(),
                blocked_id: uuid::Uuid::now_v7().to_string(),
                blocked: true,
                change_time: Some(timestamp(world.clock.now())),
            }],
        })
        .await;
    vec![
        ("RecordBlocks", blocks.err().map_or(Code::Ok, |s| s.code())),
        (
            "ExportMemberData",
            export.err().map_or(Code::Ok, |s| s.code()),
        ),
        (
            "RevokeSessions",
            revoke.err().map_or(Code::Ok, |s| s.code()),
        ),
        ("EraseMember", erase.err().map_or(Code::Ok, |s| s.code())),
        (
            "ScheduleCoffee",
            coffee.err().map_or(Code::Ok, |s| s.code()),
        ),
        (
            "CancelCoffee",
            call_off.err().map_or(Code::Ok, |s| s.code()),
        ),
        ("RecordMetEdge", edge.err().map_or(Code::Ok, |s| s.code())),
        (
            "FindSharedEvent",
            shared.err().map_or(Code::Ok, |s| s.code()),
        ),
    ]
}

async fn the_internal_api_takes_members_only(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (anna, _) = world.member("Anna").await.unwrap();
    let unknown = ServiceCredentials::new(
        ServiceName::Members,
        ServiceName::Events,
        &SigningKeyPair::generate(),
        world.clock.clone(),
    )
    .unwrap()
    .bearer()
    .unwrap();
    // Minted on the world's (manual) clock, which events checks them against.
    let for_notifications = rendezvous_testkit::service_credentials_at(
        ServiceName::Members,
        ServiceName::Notifications,
        world.clock.clone(),
    )
    .bearer()
    .unwrap();
    let mut callers = vec![
        (
            "anonymous".to_owned(),
            world.internal_with(Bearer::default()),
            Code::Unauthenticated,
        ),
        (
            "a member".to_owned(),
            world.internal_with(Bearer::token(&anna.access_token)),
            Code::PermissionDenied,
        ),
        (
            "an unknown key".to_owned(),
            world.internal_with(Bearer::raw(&unknown)),
            Code::Unauthenticated,
        ),
        (
            "members' credential for notifications".to_owned(),
            world.internal_with(Bearer::raw(&for_notifications)),
            Code::Unauthenticated,
        ),
    ];
    for service in ServiceName::ALL {
        let expected = if service == ServiceName::Members {
            Code::Ok
        } else {
            Code::PermissionDenied
        };
        callers.push((
            service.to_string(),
            world.internal_as(service).unwrap(),
            expected,
        ));
    }
    let mut wrong = Vec::new();
    for (who, client, expected) in &callers {
        for (method, got) in every_method(client, &anna.id, &world).await {
            if got != *expected {
                wrong.push(format!("{method} by {who}: {got:?}, expected {expected:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    world.stop().await.unwrap();
}

backend_tests!(the_internal_api_takes_members_only);
