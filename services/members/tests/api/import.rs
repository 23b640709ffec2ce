//! ImportContacts with LinkedIn `Connections.csv` exports as members download them: which
//! contacts are members, how many are not, and the connection requests the member picks.

use crate::helpers::*;
use std::fmt::Write as _;

use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{
    Backend, MembersHandle, TestMember, backend_tests, connect, connections_preamble,
    generated_export,
};

/// The 1-based line of the file on which `needle` first appears.
fn line_of(csv: &str, needle: &str) -> i64 {
    let at = csv.find(needle).expect("needle is in the file");
    1 + i64::try_from(csv[..at].matches('\n').count()).unwrap()
}

async fn set_linkedin_url(member: &TestMember, url: &str) {
    set!(member, linkedin_url: url);
}

async fn member_with_url(stack: &MembersHandle, name: &str, url: &str) -> TestMember {
    let member = stack.register(name).await.unwrap();
    set_linkedin_url(&member, url).await;
    member
}

async fn import(
    member: &TestMember,
    csv: &str,
    send_requests: bool,
    picked: &[&TestMember],
) -> pb::ImportContactsResponse {
    let note = if send_requests {
        "Found you in my LinkedIn export"
    } else {
        ""
    };
    import_with_note(member, csv, send_requests, picked, note)
        .await
        .unwrap()
}

async fn incoming_requests(member: &TestMember) -> Vec<pb::ConnectionRequest> {
    member
        .client
        .clone()
        .list_connection_requests(pb::ListConnectionRequestsRequest {
            direction: pb::RequestDirection::Incoming.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .connection_requests
}

async fn import_matches_members_by_profile_url_and_email(backend: Backend) {
    let stack = MembersHandle::start(backend).await.unwrap();
    let anna = member_with_url(&stack, "Anna", "https://www.linkedin.com/in/anna-dupont").await;
    // Each member typed their URL differently from how LinkedIn writes it in the export.
    let bruno = member_with_url(&stack, "Bruno", "HTTP://WWW.LINKEDIN.COM/IN/BRUNO-MARTIN/").await;
    let chloe = member_with_url(&stack, "Chloe", "linkedin.com/in/chloe-l").await;
    let david = stack.register("David").await.unwrap();
    let emma = member_with_url(&stack, "Emma", "http://www.linkedin.com/in/emma-c").await;
    let gina = member_with_url(&stack, "Gina", "https://linkedin.com/in/gina-b/").await;
    connect(&anna, &emma).await.unwrap();
    block(&gina, &anna).await;

    let mut csv = connections_preamble();
    csv.push_str(&format!(
        "Bruno,Martin,https://www.linkedin.com/in/bruno-martin,,\"Globex, Inc.\",Developer,03 Feb 2023\n\
         Hélène,Nobody,https://www.linkedin.com/in/helene-nobody,,\"Initech\nParis, France\",\"Head of \"\"Stuff\"\"\",04 Mar 2022\n\
         Chloe,Lambert,https://www.linkedin.com/in/Chloe-L/?trk=people-guest,,Acme,\"Product,\nDesign\",05 Apr 2021\n\
         David,Durand,https://www.linkedin.com/in/david-not-registered,{},Umbrella,CTO,06 May 2020\n\
         Anna,Dupont,http://linkedin.com/in/Anna-Dupont/,,Rendezvous,Founder,01 Jan 2020\n\
         Anna,Alias,,{},,,\n\
         Emma,Connected,https://linkedin.com/in/emma-c,,,,\n\
         Gina,Blocker,https://www.linkedin.com/in/gina-b,,,,\n\
         Ivan,Nomail,https://www.linkedin.com/in/ivan-n,,\"Soylent, \"\"Green\"\"\",Chef,07 Jun 2019\n\
         Jade,Email,,jade.not.a.member@example.org,,,\n\
         Karl,Noinfo,,,Hooli,,\n\
         Bruno,M.,linkedin.com/in/BRUNO-MARTIN,,,,\n",
        david.email.to_uppercase(),
        anna.email.to_uppercase(),
    ));

    let imported = import(&anna, &csv, false, &[]).await;

    assert_eq!(imported.total_contacts, 12);
    let ids: Vec<&str> = imported
        .matched
        .iter()
        .map(|m| m.member_id.as_str())
        .collect();
    // In file order; Anna herself, Gina (who blocks her) and Bruno's second row are left out.
    assert_eq!(ids, [&bruno.id, &chloe.id, &david.id, &emma.id]);
    // Hélène, Gina, Ivan, Jade and Karl.
    assert_eq!(imported.unmatched_count, 5);
    assert_eq!(imported.requests_sent, 0);

    let by_id = |id: &str| imported.matched.iter().find(|m| m.member_id == id).unwrap();
    let url = i32::from(pb::MatchKind::ProfileUrl);
    let email = i32::from(pb::MatchKind::Email);
    assert_eq!(by_id(&bruno.id).match_kind, url);
    assert_eq!(by_id(&bruno.id).display_name, "Bruno");
    assert_eq!(by_id(&bruno.id).line, line_of(&csv, "Bruno,Martin"));
    assert_eq!(by_id(&chloe.id).match_kind, url);
    assert_eq!(by_id(&chloe.id).line, line_of(&csv, "Chloe,Lambert"));
    assert_eq!(by_id(&david.id).match_kind, email);
    assert_eq!(by_id(&david.id).line, line_of(&csv, "David,Durand"));
    assert_eq!(by_id(&emma.id).line, line_of(&csv, "Emma,Connected"));
    assert!(by_id(&emma.id).connected);
    assert!(
        imported
            .matched
            .iter()
            .all(|m| !m.request_sent && (m.connected == (m.member_id == emma.id)))
    );
    // Without send_requests nobody is asked.
    assert!(incoming_requests(&bruno).await.is_empty());
    stack.stop().await.unwrap();
}

async fn import_sends_requests_only_to_the_picked_members(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let bruno = member_with_url(&stack, "Bruno", "https://www.linkedin.com/in/bruno-martin/").await;
    let chloe = member_with_url(&stack, "Chloe", "https://www.linkedin.com/in/chloe-l").await;
    let david = stack.register("David").await.unwrap();
    // A member who is not in the file: picking them sends nothing.
    let fabien = stack.register("Fabien").await.unwrap();

    let mut csv = connections_preamble();
    writeln!(
        csv,
        "Bruno,Martin,https://www.linkedin.com/in/bruno-martin,,\"Globex,\nInc.\",Developer,03 Feb 2023"
    )
    .unwrap();
    writeln!(
        csv,
        "Chloe,Lambert,https://www.linkedin.com/in/chloe-l,,Acme,PM,05 Apr 2021"
    )
    .unwrap();
    writeln!(
        csv,
        "David,Durand,,{},Umbrella,CTO,06 May 2020",
        david.email
    )
    .unwrap();

    let imported = import(&anna, &csv, true, &[&chloe, &fabien]).await;

    assert_eq!((imported.total_contacts, imported.unmatched_count), (3, 0));
    assert_eq!(imported.matched.len(), 3);
    assert_eq!(imported.requests_sent, 1);
    for matched in &imported.matched {
        assert_eq!(
            matched.request_sent,
            matched.member_id == chloe.id,
            "{matched:?}"
        );
    }
    let chloe_inbox = incoming_requests(&chloe).await;
    assert_eq!(chloe_inbox.len(), 1);
    assert_eq!(chloe_inbox[0].requester_id, anna.id);
    assert_eq!(chloe_inbox[0].other_display_name, "Anna");
    assert_eq!(chloe_inbox[0].note, "Found you in my LinkedIn export");
    for other in [&bruno, &david, &fabien] {
        assert!(incoming_requests(other).await.is_empty());
    }

    // Importing again does not ask Chloe twice; the others can still be picked.
    let again = import(&anna, &csv, true, &[&chloe, &bruno]).await;
    assert_eq!(again.requests_sent, 1);
    assert_eq!(incoming_requests(&chloe).await.len(), 1);
    assert_eq!(incoming_requests(&bruno).await.len(), 1);
    stack.stop().await.unwrap();
}

async fn a_thirty_thousand_row_export_imports_with_every_contact_counted(backend: Backend) {
    let (stack, [anna]) = stack_of(backend, ["Anna"]).await;
    let first = member_with_url(
        &stack,
        "First Seven",
        &format!("http://LinkedIn.com/in/Person-7-{:x}/", 7 * 7919),
    )
    .await;
    let last = member_with_url(
        &stack,
        "Last Row",
        &format!("linkedin.com/in/person-29999-{:x}", 29_999 * 7919),
    )
    .await;
    let person = register_request("person.15000@example.com", "Person Fifteen Thousand");
    let english = pb::RegisterRequest {
        locale: "en".into(),
        ..person
    };
    let by_email = register_with(&stack, english).await;

    let csv = generated_export(30_000);
    let imported = import(&anna, &csv, false, &[]).await;

    assert_eq!(imported.total_contacts, 30_000);
    assert_eq!(imported.unmatched_count, 29_997);
    let matched: Vec<(&str, i32, i64)> = imported
        .matched
        .iter()
        .map(|m| (m.member_id.as_str(), m.match_kind, m.line))
        .collect();
    assert_eq!(
        matched,
        [
            (
                first.id.as_str(),
                i32::from(pb::MatchKind::ProfileUrl),
                line_of(&csv, "First7,")
            ),
            (
                by_email.id.as_str(),
                i32::from(pb::MatchKind::Email),
                line_of(&csv, "First15000,")
            ),
            (
                last.id.as_str(),
                i32::from(pb::MatchKind::ProfileUrl),
                line_of(&csv, "First29999,")
            ),
        ]
    );
    stack.stop().await.unwrap();
}

backend_tests!(
    import_matches_members_by_profile_url_and_email,
    import_sends_requests_only_to_the_picked_members,
    a_thirty_thousand_row_export_imports_with_every_contact_counted,
);
