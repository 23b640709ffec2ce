//! The members part of the product story, end to end over real gRPC on both backends.

use crate::helpers::*;
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, backend_tests, connect};

async fn anna_connects_meets_and_sees_her_real_life_ratio(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;

    // Anna fills her profile.
    let profile = pb::Member {
        headline: "Organiser of coffee mornings".into(),
        company: "Rendezvous".into(),
        interests: vec!["Coffee".into(), "rust".into()],
        linkedin_url: "https://www.linkedin.com/in/anna-dupont/".into(),
        ..Default::default()
    };
    let paths = ["headline", "company", "interests", "linkedin_url"];
    let updated = update(&anna, profile, &paths).await.unwrap();
    assert_eq!(updated.interests, vec!["coffee", "rust"]);
    assert_eq!(updated.etag, "2");

    connect(&anna, &bruno).await.unwrap();
    connect(&anna, &chloe).await.unwrap();
    let all = connections(&anna, pb::MetFilter::Unspecified).await;
    assert_eq!(all.len(), 2);

    // After a small event the connected pairs are met at once.
    let event_id = uuid::Uuid::now_v7().to_string();
    let recorded = record(&stack, &event_id, &[&anna, &bruno]).await;
    assert_eq!((recorded.pairs_recorded, recorded.pairs_met), (1, 1));

    let network = stats(&anna).await;
    assert_eq!((network.connections, network.met_in_person), (2, 1));
    assert!((network.real_life_ratio - 0.5).abs() < 1e-9);

    let met = connections(&anna, pb::MetFilter::Met).await;
    assert_eq!(met.len(), 1);
    assert_eq!(met[0].member_id, bruno.id);
    assert_eq!(met[0].met_event_id, event_id);

    let meetings = meetings(&bruno).await;
    assert_eq!(meetings.len(), 1);
    assert_eq!(meetings[0].co_attendees.len(), 1);
    assert!(meetings[0].co_attendees[0].met);

    let json = export(&anna).await.json;
    assert_eq!(json["profile"]["email"], anna.email);
    assert_eq!(json["connections"].as_array().unwrap().len(), 2);
    stack.stop().await.unwrap();
}

backend_tests!(anna_connects_meets_and_sees_her_real_life_ratio);
