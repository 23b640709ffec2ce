//! Blocks reach events through members' outbox (README, "Blocks"): a member who blocks a host
//! in members stops seeing the host's events in events within the relay interval, without
//! events asking members, and sees them again once they unblock.

use chrono::Duration;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_testkit::eventually;
use tonic::Code;

use crate::helpers::{Lang, Person, Plan, World, publish};

/// Whether `viewer` finds `event_id` with GetEvent and with ListEvents.
async fn sees(world: &World, viewer: &Person, event_id: &str) -> (bool, bool) {
    let client = viewer.events(world);
    let got = client
        .clone()
        .get_event(pb::GetEventRequest {
            event_id: event_id.to_owned(),
        })
        .await;
    let found = match got {
        Ok(_) => true,
        Err(status) => {
            assert_eq!(status.code(), Code::NotFound, "{status:?}");
            false
        }
    };
    let listed = client
        .clone()
        .list_events(pb::ListEventsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .iter()
        .any(|e| e.id == event_id);
    (found, listed)
}

pub async fn a_block_in_members_hides_the_hosts_event_until_the_unblock(world: &World) {
    let host = Person::sign_up(world, "Hugo", Lang::Fr, "Paris").await;
    let viewer = Person::sign_up(world, "Vera", Lang::En, "Paris").await;
    let plan = Plan {
        title: "Coffee by the canal",
        start: world.now() + Duration::days(3),
        when: ["", ""],
        venue: "Le Comptoir",
        address: "1 quai de Valmy, Paris",
    };
    let event_id = publish(world, &host, plan.event(10)).await;
    assert_eq!(sees(world, &viewer, &event_id).await, (true, true));

    viewer
        .members(world)
        .block_member(mpb::BlockMemberRequest {
            member_id: host.id.clone(),
        })
        .await
        .unwrap();
    eventually("the block reaches events", || async {
        (sees(world, &viewer, &event_id).await == (false, false)).then_some(())
    })
    .await;

    viewer
        .members(world)
        .unblock_member(mpb::UnblockMemberRequest {
            member_id: host.id.clone(),
        })
        .await
        .unwrap();
    eventually("the unblock reaches events", || async {
        (sees(world, &viewer, &event_id).await == (true, true)).then_some(())
    })
    .await;
}
