//! Steps 1 and 7: Anna's network, imported from LinkedIn, and what the café made of it.

use futures::future::join_all;
use rendezvous_proto::members::v1 as mpb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::connections_preamble;

use super::{NOTE, Network, PARIS, moved_start};
use crate::helpers::{Lang, Person, World};
use crate::ledger::Ledger;

/// Anna registers and fills her profile; her network registers; she imports her LinkedIn
/// `Connections.csv`, sees who is a member, and asks all but one of them to connect. They
/// accept; two of them, Bruno and Chloé, were already connected.
pub(super) async fn anna_imports_her_network(world: &World, ledger: &mut Ledger) -> Network {
    let anna = Person::sign_up(world, "Anna Dupont", Lang::Fr, "Paris").await;
    let profile = anna
        .members(world)
        .update_member(mpb::UpdateMemberRequest {
            member: Some(mpb::Member {
                id: "me".to_owned(),
                headline: "Builds communities that meet".to_owned(),
                company: "Atelier Lumière".to_owned(),
                interests: vec!["design".to_owned(), "coffee".to_owned()],
                linkedin_url: "https://www.linkedin.com/in/anna-dupont".to_owned(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: ["headline", "company", "interests", "linkedin_url"]
                    .map(str::to_owned)
                    .to_vec(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap();
    assert_eq!(
        (profile.city.as_str(), profile.locale.as_str()),
        ("Paris", "fr")
    );
    assert_eq!(
        profile.interests,
        ["coffee", "design"],
        "kept as a sorted set"
    );

    let paris =
        join_all(PARIS.map(|(name, lang)| Person::sign_up(world, name, lang, "Paris"))).await;
    let lena = Person::sign_up(world, "Lena Vogel", Lang::En, "Lyon").await;
    let olivier = Person::sign_up(world, "Olivier Blanc", Lang::Fr, "Paris").await;
    let net = Network {
        anna,
        paris,
        lena,
        olivier,
    };
    ledger.cast(net.everyone());
    for person in net.everyone() {
        ledger.expect(person, Kind::Welcome, "", Some(person), "");
    }

    // Every other one gave LinkedIn their profile URL; the others are found by email.
    let mut csv = connections_preamble();
    let mut by_url = Vec::new();
    for (i, person) in net
        .paris
        .iter()
        .chain([&net.lena, &net.olivier])
        .enumerate()
    {
        let slug = person.name.to_lowercase().replace(' ', "-");
        let (first, last) = person.name.split_once(' ').unwrap();
        let email = if i % 2 == 0 {
            set_linkedin_url(world, person, &format!("linkedin.com/in/{slug}/")).await;
            by_url.push(person.id.clone());
            String::new()
        } else {
            person.email().to_uppercase()
        };
        csv.push_str(&format!(
            "{first},{last},https://www.linkedin.com/in/{slug},{email},Company {i},Engineer,12 Jan 2024\n"
        ));
    }
    for stranger in ["Zoé Marchand", "Marc Olsen", "Ada Byron"] {
        let (first, last) = stranger.split_once(' ').unwrap();
        csv.push_str(&format!(
            "{first},{last},https://www.linkedin.com/in/{first}-{last}-9a,,Elsewhere,CTO,3 Mar 2023\n"
        ));
    }
    let picked: Vec<String> = net
        .paris
        .iter()
        .chain([&net.lena])
        .map(|p| p.id.clone())
        .collect();
    let import = net
        .anna
        .members(world)
        .import_contacts(mpb::ImportContactsRequest {
            csv_data: csv.into_bytes(),
            send_requests: true,
            request_member_ids: picked.clone(),
            note: NOTE.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            import.total_contacts,
            import.matched.len(),
            import.unmatched_count,
            import.requests_sent
        ),
        (29, 26, 3, 25)
    );
    for matched in &import.matched {
        let expected_kind = if by_url.contains(&matched.member_id) {
            mpb::MatchKind::ProfileUrl
        } else {
            mpb::MatchKind::Email
        };
        assert_eq!(
            matched.match_kind(),
            expected_kind,
            "{}",
            matched.display_name
        );
        let asked = matched.member_id != net.olivier.id;
        assert_eq!(matched.request_sent, asked, "{}", matched.display_name);
    }

    // Each one asked accepts.
    let asked: Vec<&Person> = net.paris.iter().chain([&net.lena]).collect();
    join_all(asked.iter().map(|p| accept_requests(world, p))).await;
    for person in asked {
        ledger.expect(person, Kind::ConnectionRequested, "", Some(&net.anna), NOTE);
        ledger.expect(&net.anna, Kind::ConnectionAccepted, "", Some(person), "");
    }
    // Some of them know each other already.
    let note = "Same table on Thursday?";
    for (from, to) in [("Bruno", "Chloé"), ("Dara", "Nora"), ("Dara", "Owen")] {
        let (from, to) = (net.named(from), net.named(to));
        from.members(world)
            .request_connection(mpb::RequestConnectionRequest {
                member_id: to.id.clone(),
                note: note.to_owned(),
            })
            .await
            .unwrap();
        accept_requests(world, to).await;
        ledger.expect(to, Kind::ConnectionRequested, "", Some(from), note);
        ledger.expect(from, Kind::ConnectionAccepted, "", Some(to), "");
    }
    net
}

pub(super) async fn set_linkedin_url(world: &World, person: &Person, url: &str) {
    person
        .members(world)
        .update_member(mpb::UpdateMemberRequest {
            member: Some(mpb::Member {
                id: "me".to_owned(),
                linkedin_url: url.to_owned(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["linkedin_url".to_owned()],
            }),
        })
        .await
        .unwrap();
}

/// Accepts every connection request waiting for `person`.
pub(super) async fn accept_requests(world: &World, person: &Person) {
    let mut members = person.members(world);
    let incoming = members
        .list_connection_requests(mpb::ListConnectionRequestsRequest {
            direction: mpb::RequestDirection::Incoming.into(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .connection_requests;
    assert!(!incoming.is_empty(), "{} has a request", person.name);
    for request in incoming {
        members
            .respond_to_connection_request(mpb::RespondToConnectionRequestRequest {
                connection_request_id: request.id,
                accept: true,
            })
            .await
            .unwrap();
    }
}

/// Anna has met nine of her 25 connections, at the café; her ratio is hers alone to see.
pub(super) async fn her_network_shows_it(
    world: &World,
    net: &Network,
    cafe: &str,
    came: &[String],
) {
    let stats = |person: &Person| {
        let mut members = person.members(world);
        async move {
            members
                .get_network_stats(mpb::GetNetworkStatsRequest {})
                .await
                .unwrap()
                .into_inner()
                .stats
                .unwrap()
        }
    };
    let anna = stats(&net.anna).await;
    assert_eq!((anna.connections, anna.met_in_person), (25, 9));
    assert!((anna.real_life_ratio - 9.0 / 25.0).abs() < 1e-9, "{anna:?}");
    let chloe = stats(net.named("Chloé")).await;
    assert_eq!((chloe.connections, chloe.met_in_person), (2, 2));
    assert!((chloe.real_life_ratio - 1.0).abs() < 1e-9);

    let met = net
        .anna
        .members(world)
        .list_connections(mpb::ListConnectionsRequest {
            met_filter: mpb::MetFilter::Met.into(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .connections;
    let mut met_ids: Vec<&str> = met.iter().map(|c| c.member_id.as_str()).collect();
    met_ids.sort_unstable();
    let mut expected: Vec<&str> = came
        .iter()
        .map(String::as_str)
        .filter(|id| *id != net.anna.id)
        .collect();
    expected.sort_unstable();
    assert_eq!(met_ids, expected);
    for edge in &met {
        assert_eq!(edge.met_event_id, cafe);
        let on = edge.met_time.as_ref().map(|t| t.seconds);
        assert_eq!(
            on,
            Some(moved_start().timestamp()),
            "met at the café's start"
        );
    }
}

// --- Steps 8 and 9 -----------------------------------------------------------------------
