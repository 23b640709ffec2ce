//! Step 10: a coffee with a connection Anna has never met. Nora, who stayed away from the
//! café, and Anna opt in; the members' round proposes them to each other (and nobody else:
//! nobody else opted in); both accept, Anna books the first time both are free, events makes
//! it their private event at the venue of the chapter's past coffees, they meet, both say so,
//! and her real-life ratio goes up by one connection. Nobody else learns anything: the ledger
//! holds every inbox to exactly what the two were told.

use chrono::Duration;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;

use super::Network;
use crate::helpers::{Person, World};
use crate::ledger::{Ledger, paris};

/// Thursdays 08:30–10:00 in Paris, for both (Nora reads times in New York otherwise).
async fn opt_in(world: &World, person: &Person) {
    person
        .members(world)
        .update_coffee_settings(mpb::UpdateCoffeeSettingsRequest {
            settings: Some(mpb::CoffeeSettings {
                opted_in: true,
                availability: vec![mpb::AvailabilityWindow {
                    weekday: pb::Weekday::Thursday.into(),
                    start_time: "08:30".into(),
                    end_time: "10:00".into(),
                }],
                time_zone: "Europe/Paris".into(),
                ..Default::default()
            }),
            update_mask: Some(rendezvous_proto::prost_types::FieldMask {
                paths: vec!["opted_in".into(), "availability".into(), "time_zone".into()],
            }),
        })
        .await
        .unwrap();
}

async fn stats(world: &World, person: &Person) -> mpb::NetworkStats {
    person
        .members(world)
        .get_network_stats(mpb::GetNetworkStatsRequest {})
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap()
}

async fn proposals(world: &World, person: &Person) -> Vec<mpb::CoffeeProposal> {
    person
        .members(world)
        .list_coffee_proposals(mpb::ListCoffeeProposalsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .proposals
}

pub(super) async fn anna_meets_nora_for_coffee(
    world: &World,
    net: &mut Network,
    ledger: &mut Ledger,
) {
    let before = stats(world, &net.anna).await;
    let (anna, nora) = (&net.anna, net.named("Nora"));
    for person in [anna, nora] {
        opt_in(world, person).await;
    }
    let round = rendezvous_members::store::Store::new(world.stack.members.db.clone())
        .coffee_round(&Default::default(), world.now())
        .await
        .unwrap();
    assert_eq!(round.proposals.len(), 1, "{round:?}");
    let proposal = round.proposals[0].id.to_string();
    for (to, other) in [(anna, nora), (nora, anna)] {
        ledger.expect(to, Kind::CoffeeProposed, "", Some(other), "");
    }
    for person in [anna, nora] {
        person
            .members(world)
            .respond_to_coffee_proposal(mpb::RespondToCoffeeProposalRequest {
                proposal_id: proposal.clone(),
                accept: true,
            })
            .await
            .unwrap();
    }
    for (to, other) in [(anna, nora), (nora, anna)] {
        ledger.expect(to, Kind::CoffeeMatched, "", Some(other), "");
    }

    // Anna books the first time both are free, without a venue: events suggests the one of
    // the chapter's past coffees.
    let [offered] = proposals(world, anna).await.try_into().unwrap();
    let first = offered.slots.first().and_then(|s| s.start_time).unwrap();
    let booked = anna
        .members(world)
        .schedule_coffee(mpb::ScheduleCoffeeRequest {
            proposal_id: proposal.clone(),
            start_time: Some(first),
            venue: None,
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    let coffee = booked.event_id;
    let event = rendezvous_testkit::eventually("the coffee's event", || async {
        nora.events(world)
            .get_event(pb::GetEventRequest {
                event_id: coffee.clone(),
            })
            .await
            .ok()?
            .into_inner()
            .event
    })
    .await;
    assert_eq!(
        event.venue.map(|v| v.name).as_deref(),
        Some("Café Saint-Paul")
    );
    let start = chrono::DateTime::from_timestamp(first.seconds, 0).unwrap();
    ledger.event(&coffee, "coffee Anna–Nora");
    for (to, other) in [(anna, nora), (nora, anna)] {
        ledger.expect(
            to,
            Kind::CoffeeScheduled,
            &coffee,
            Some(other),
            paris(start),
        );
    }
    // Nobody else sees it or any proposal.
    let karim = net.named("Karim");
    let theirs = karim
        .events(world)
        .get_event(pb::GetEventRequest {
            event_id: coffee.clone(),
        })
        .await;
    assert_eq!(theirs.map(drop).unwrap_err().code(), tonic::Code::NotFound);
    assert!(proposals(world, karim).await.is_empty());

    // They meet; the afternoon after, Anna completes it and both are asked, then both say yes.
    world.advance(start + Duration::hours(6) - world.now());
    net.sign_in_again(world).await;
    let (anna, nora) = (&net.anna, net.named("Nora"));
    anna.events(world)
        .complete_event(pb::CompleteEventRequest {
            event_id: coffee.clone(),
        })
        .await
        .unwrap();
    for person in [anna, nora] {
        ledger.expect(person, Kind::MeetingFollowUp, &coffee, None, "1 others");
    }
    for (me, other) in [(anna, nora), (nora, anna)] {
        rendezvous_testkit::eventually("the coffee's follow-up", || async {
            me.members(world)
                .confirm_met(mpb::ConfirmMetRequest {
                    event_id: coffee.clone(),
                    member_id: other.id.clone(),
                })
                .await
                .ok()
        })
        .await;
    }
    for (to, other) in [(anna, nora), (nora, anna)] {
        ledger.expect(to, Kind::MetInPerson, &coffee, Some(other), "");
    }
    let after = stats(world, anna).await;
    assert_eq!(after.connections, before.connections);
    assert_eq!(after.met_in_person, before.met_in_person + 1, "{after:?}");
}
