//! Kinds about the recipient's own seat: confirmed, wait-listed (with the position), promoted,
//! offered (with the deadline) and the offer expired, and the approval queue's answers.

use chrono::{Duration, TimeZone as _, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;
use rendezvous_proto::prost_types::Duration as PbDuration;
use rendezvous_testkit::call;

use crate::checks::Told;
use crate::helpers::{Cast, Plan, World, cancel_rsvp, publish, rsvp};

const PLACES: [[&str; 2]; 2] = [
    ["(position 1)", "(position\u{a0}1)"],
    ["(position 2)", "(position\u{a0}2)"],
];

/// Two seats: Amélie and Ben get them, Chloé and Dan wait in that order; returns the id.
async fn full_house(
    world: &World,
    cast: &Cast,
    told: &mut Told,
    plan: &Plan,
    event: pb::Event,
) -> String {
    let id = publish(world, &cast.host, event).await;
    for person in [&cast.amelie, &cast.ben] {
        assert_eq!(rsvp(world, person, &id).await, pb::RsvpStatus::Confirmed);
        told.about(person, Kind::RsvpConfirmed, &id, plan);
    }
    for (person, place) in [(&cast.chloe, PLACES[0]), (&cast.dan, PLACES[1])] {
        assert_eq!(rsvp(world, person, &id).await, pb::RsvpStatus::Waitlisted);
        told.about(person, Kind::RsvpWaitlisted, &id, plan)
            .says(place);
    }
    id
}

fn apero() -> Plan {
    Plan {
        title: "Apéro — Canal Saint-Martin",
        start: Utc.with_ymd_and_hms(2027, 4, 9, 16, 30, 0).unwrap(),
        when: [
            "Friday 9 April 2027 at 18:30",
            "vendredi 9\u{a0}avril 2027 à 18\u{a0}h\u{a0}30",
        ],
        venue: "Chez Prune",
        address: "36 rue Beaurepaire, 75010 Paris",
    }
}

fn breakfast() -> Plan {
    Plan {
        title: "Petit-déjeuner — Bastille",
        start: Utc.with_ymd_and_hms(2027, 4, 10, 7, 0, 0).unwrap(),
        when: [
            "Saturday 10 April 2027 at 09:00",
            "samedi 10\u{a0}avril 2027 à 9\u{a0}h\u{a0}00",
        ],
        venue: "Café de l’Industrie",
        address: "16 rue Saint-Sabin, 75011 Paris",
    }
}

/// Auto-promotion: as Amélie and Ben cancel, Chloé and Dan are promoted.
pub async fn waitlist_promotion(world: &World, cast: &Cast, told: &mut Told) {
    let plan = apero();
    let id = full_house(world, cast, told, &plan, plan.event(2)).await;
    for (leaving, next) in [(&cast.amelie, &cast.chloe), (&cast.ben, &cast.dan)] {
        cancel_rsvp(world, leaving, &id).await;
        told.about(next, Kind::WaitlistPromoted, &id, &plan);
    }
}

/// Offer mode, two hours to claim: as Amélie and Ben cancel, Chloé and Dan are offered the
/// seats until 13:00 Paris time; returns the event's id, for the expiry.
pub async fn waitlist_offers(world: &World, cast: &Cast, told: &mut Told) -> String {
    let plan = breakfast();
    let mut event = plan.event(2);
    event.waitlist_mode = pb::WaitlistMode::Offer.into();
    event.offer_window = Some(PbDuration {
        seconds: 2 * 3600,
        nanos: 0,
    });
    let id = full_house(world, cast, told, &plan, event).await;
    for (leaving, next) in [(&cast.amelie, &cast.chloe), (&cast.ben, &cast.dan)] {
        cancel_rsvp(world, leaving, &id).await;
        told.about(next, Kind::WaitlistOffered, &id, &plan).says([
            "Claim it before Monday 5 April 2027 at 13:00",
            "Réservez-la avant le lundi 5\u{a0}avril 2027 à 13\u{a0}h\u{a0}00",
        ]);
    }
    id
}

/// Past the offer window, the sweep expires both offers.
pub async fn offers_expire(world: &World, cast: &Cast, id: &str, told: &mut Told) {
    let expired = world.events.events.sweep_once(world.now()).await.unwrap();
    assert_eq!(expired, 2);
    for person in [&cast.chloe, &cast.dan] {
        told.expect(person, Kind::WaitlistOfferExpired, id)
            .titled(&breakfast());
    }
}

/// An event that needs the host's approval, co-hosted by Amélie: everyone waits, and the host
/// and Amélie hear of each request but her own; Amélie and Ben are approved, Chloé and Dan
/// declined.
pub async fn approvals(world: &World, cast: &Cast, told: &mut Told) {
    let plan = Plan {
        title: "Déjeuner — Opéra",
        start: Utc.with_ymd_and_hms(2027, 5, 1, 10, 0, 0).unwrap(),
        when: [
            "Saturday 1 May 2027 at 12:00",
            "samedi 1er\u{a0}mai 2027 à 12\u{a0}h\u{a0}00",
        ],
        venue: "Le Grand Café Capucines",
        address: "4 boulevard des Capucines, 75009 Paris",
    };
    let mut event = plan.event(10);
    event.approval_required = true;
    let id = publish(world, &cast.host, event).await;
    let host = cast.host.events(world);
    let (event_id, member_id) = (id.clone(), cast.amelie.id.clone());
    let role = pb::CohostRole::Full.into();
    let cohost = pb::AddCohostRequest {
        event_id,
        member_id,
        role,
    };
    call!(host, add_cohost, cohost).await.unwrap();
    for person in [&cast.amelie, &cast.ben, &cast.chloe, &cast.dan] {
        assert_eq!(
            rsvp(world, person, &id).await,
            pb::RsvpStatus::PendingApproval
        );
        told.about(person, Kind::RsvpPendingApproval, &id, &plan);
        for approver in [&cast.host, &cast.amelie] {
            if approver.id != person.id {
                told.pair(approver, Kind::RsvpApprovalRequested, &id, person)
                    .titled(&plan)
                    .details(&plan);
            }
        }
    }
    let answers = [
        (&cast.amelie, true),
        (&cast.ben, true),
        (&cast.chloe, false),
        (&cast.dan, false),
    ];
    for (person, approve) in answers {
        let (event_id, member_id) = (id.clone(), person.id.clone());
        let answer = if approve {
            call!(
                host,
                approve_rsvp,
                pb::ApproveRsvpRequest {
                    event_id,
                    member_id
                }
            )
        } else {
            let reason = "The table is full.".to_owned();
            call!(
                host,
                decline_rsvp,
                pb::DeclineRsvpRequest {
                    event_id,
                    member_id,
                    reason
                }
            )
        };
        answer.await.unwrap();
        if approve {
            told.about(person, Kind::RsvpApproved, &id, &plan);
        } else {
            told.expect(person, Kind::RsvpDeclined, &id).titled(&plan);
        }
    }
}

/// How far past the offer window the clock moves before the sweep.
pub fn past_the_offer_window() -> Duration {
    Duration::hours(3)
}
