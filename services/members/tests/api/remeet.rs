//! Re-meet nudges on both backends: the settings are one's own and checked; a pass nudges a
//! member opted in about the connection they met longest ago (here with a coffee proposal to
//! both: these tests run members alone, so there is no event to suggest), tells nobody else,
//! at most once a fortnight; never about someone seen lately, blocked, removed or deleted, nor
//! when nothing can be suggested; a dismissed nudge is not made again until they meet again.

use chrono::{DateTime, Duration, Utc};
use rendezvous_members::store::Store;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::notifications::v1::notice::Notice as Variant;
use rendezvous_testkit::{
    Backend, MembersHandle, TestMember, backend_tests, code, connect, invalid_argument_naming,
    outbox_notices,
};
use tonic::Code;

use crate::helpers::*;

/// Records an event `days_ago` with `members` checked in (a small one: connected pairs are met
/// at once).
async fn met(stack: &MembersHandle, days_ago: i64, members: &[&TestMember]) {
    record_at(
        stack,
        &uuid::Uuid::now_v7().to_string(),
        24 * days_ago,
        members,
    )
    .await;
}

async fn remeet_settings(member: &TestMember) -> pb::RemeetSettings {
    member
        .client
        .clone()
        .get_remeet_settings(pb::GetRemeetSettingsRequest {})
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap()
}

async fn update_remeet(member: &TestMember, settings: Option<pb::RemeetSettings>) -> Code {
    let request = pb::UpdateRemeetSettingsRequest { settings };
    code(member.client.clone().update_remeet_settings(request).await)
}

async fn dismiss(member: &TestMember, nudge_id: &str) -> Code {
    let request = pb::DismissRemeetNudgeRequest {
        nudge_id: nudge_id.to_owned(),
    };
    code(member.client.clone().dismiss_remeet_nudge(request).await)
}

fn now(stack: &MembersHandle) -> DateTime<Utc> {
    stack.clock.now_micros()
}

async fn remeet_settings_are_ones_own_and_checked(backend: Backend) {
    let (stack, [anna, karim]) = stack_of(backend, ["Anna", "Karim"]).await;
    let defaults = remeet_settings(&anna).await;
    assert_eq!((defaults.opted_in, defaults.after_days), (false, 182));
    opt_in_to_remeet(&anna, 60).await;
    let hers = remeet_settings(&anna).await;
    assert_eq!((hers.opted_in, hers.after_days), (true, 60));
    // 0 reads as the default; Karim's are untouched by hers.
    opt_in_to_remeet(&anna, 0).await;
    assert_eq!(remeet_settings(&anna).await.after_days, 182);
    assert!(!remeet_settings(&karim).await.opted_in);
    // Out of range, or missing: INVALID_ARGUMENT naming the field, nothing written.
    for (settings, field) in [
        (
            Some(pb::RemeetSettings {
                opted_in: false,
                after_days: 29,
            }),
            "settings.after_days",
        ),
        (
            Some(pb::RemeetSettings {
                opted_in: false,
                after_days: 731,
            }),
            "settings.after_days",
        ),
        (None, "settings"),
    ] {
        let request = pb::UpdateRemeetSettingsRequest { settings };
        let refused = anna.client.clone().update_remeet_settings(request).await;
        invalid_argument_naming(refused, field).unwrap();
    }
    assert!(remeet_settings(&anna).await.opted_in);
    assert_eq!(
        update_remeet(&anna, Some(pb::RemeetSettings::default())).await,
        Code::Ok
    );
    assert!(!remeet_settings(&anna).await.opted_in);
    // Bad nudge ids.
    let refused = anna
        .client
        .clone()
        .dismiss_remeet_nudge(pb::DismissRemeetNudgeRequest {
            nudge_id: "nope".into(),
        })
        .await;
    invalid_argument_naming(refused, "nudge_id").unwrap();
    assert_eq!(
        dismiss(&anna, &uuid::Uuid::now_v7().to_string()).await,
        Code::NotFound
    );
    stack.stop().await.unwrap();
}

async fn a_nudge_proposes_a_coffee_with_the_connection_met_longest_ago(backend: Backend) {
    let (stack, [anna, karim, lea, bruno]) =
        stack_of(backend, ["Anna", "Karim", "Léa", "Bruno"]).await;
    for other in [&karim, &lea, &bruno] {
        connect(&anna, other).await.unwrap();
    }
    // Karim met 300 days ago, Léa 200, Bruno 20 (too recent for the default 182).
    met(&stack, 300, &[&anna, &karim]).await;
    met(&stack, 200, &[&anna, &lea]).await;
    met(&stack, 20, &[&anna, &bruno]).await;
    for member in [&anna, &karim, &lea, &bruno] {
        opt_in_to_coffee(member).await;
    }
    opt_in_to_remeet(&anna, 0).await;

    let at = now(&stack);
    let pass = remeet_pass(&stack, at).await;
    assert_eq!((pass.looked_at, pass.nudged, pass.deferred), (1, 1, 0));
    let [nudge] = remeet_nudges(&anna).await.try_into().unwrap();
    assert_eq!(nudge.member_id, karim.id);
    assert_eq!(nudge.display_name, "Karim");
    let last_met = nudge.last_met_time.unwrap();
    let days_ago = (at
        - rendezvous_common::time::from_timestamp("last_met_time", &last_met).unwrap())
    .num_days();
    assert_eq!(days_ago, 300);
    let Some(pb::remeet_nudge::Suggestion::CoffeeProposalId(proposal)) = &nudge.suggestion else {
        panic!("a coffee suggested: {nudge:?}");
    };
    // Both have the proposal, saying when they last met; Karim is not nudged.
    for member in [&anna, &karim] {
        let [p] = coffee_proposals(member).await.try_into().unwrap();
        assert_eq!(&p.id, proposal);
        assert_eq!(p.last_met_time.as_ref(), Some(&last_met));
    }
    assert!(remeet_nudges(&karim).await.is_empty());
    let told = outbox_notices(&stack.db, "REMEET_NUDGE", &anna.id).await;
    let [Variant::RemeetNudge(told)] = told.as_slice() else {
        panic!("one REMEET_NUDGE to Anna: {told:?}");
    };
    assert_eq!(told.nudge_id, nudge.id);
    assert_eq!(
        told.member.as_ref().map(|m| m.member_id.as_str()),
        Some(karim.id.as_str())
    );
    assert_eq!(told.last_met_time.as_ref(), Some(&last_met));
    for other in [&karim, &lea, &bruno] {
        let theirs = outbox_notices(&stack.db, "REMEET_NUDGE", &other.id).await;
        assert!(theirs.is_empty(), "{theirs:?}");
    }
    let proposed = outbox_notices(&stack.db, "COFFEE_PROPOSED", &karim.id).await;
    let [Variant::CoffeeProposed(proposed)] = proposed.as_slice() else {
        panic!("Karim is proposed the coffee: {proposed:?}");
    };
    assert_eq!(proposed.last_met_time.as_ref(), Some(&last_met));

    // At most once a fortnight: a pass a week later looks at nobody.
    let pass = remeet_pass(&stack, at + Duration::days(7)).await;
    assert_eq!((pass.looked_at, pass.nudged), (0, 0));
    // Three weeks later (Karim's proposal lapsed): Léa, with a coffee of her own.
    Store::new(stack.db.clone())
        .lapse_coffee_proposals(at + Duration::days(21))
        .await
        .unwrap();
    let pass = remeet_pass(&stack, at + Duration::days(21)).await;
    assert_eq!(pass.nudged, 1);
    let listed: Vec<String> = remeet_nudges(&anna)
        .await
        .into_iter()
        .map(|n| n.member_id)
        .collect();
    assert_eq!(listed, vec![lea.id.clone(), karim.id.clone()]);
    stack.stop().await.unwrap();
}

async fn no_nudge_without_a_connection_to_see_again_or_a_way_to(backend: Backend) {
    let names = ["Anna", "Karim", "Nora", "Omar", "Paul", "Rita", "Sami"];
    let (stack, [anna, karim, nora, omar, paul, rita, sami]) = stack_of(backend, names).await;
    // Each member of a pair the nudge must skip, and one pair it must take (Rita and Sami),
    // so that a pass that nudges nobody proves nothing.
    for (a, b) in [
        (&anna, &karim),
        (&nora, &omar),
        (&paul, &anna),
        (&rita, &sami),
    ] {
        connect(a, b).await.unwrap();
        met(&stack, 250, &[a, b]).await;
    }
    for member in [&anna, &karim, &nora, &omar, &paul, &rita, &sami] {
        opt_in_to_coffee(member).await;
    }
    // Anna blocks Karim; Nora removes Omar (so neither has anyone to see again); Paul is not
    // opted in to nudges: Anna is nudged about him, and Rita about Sami.
    block(&anna, &karim).await;
    nora.client
        .clone()
        .remove_connection(pb::RemoveConnectionRequest {
            member_id: omar.id.clone(),
        })
        .await
        .unwrap();
    for member in [&anna, &nora, &omar, &rita] {
        opt_in_to_remeet(member, 0).await;
    }
    let at = now(&stack);
    let pass = remeet_pass(&stack, at).await;
    assert_eq!((pass.looked_at, pass.nudged), (4, 2), "{pass:?}");
    let hers: Vec<String> = remeet_nudges(&anna)
        .await
        .into_iter()
        .map(|n| n.member_id)
        .collect();
    assert_eq!(hers, vec![paul.id.clone()]);
    assert!(remeet_nudges(&nora).await.is_empty(), "Omar was removed");
    assert!(remeet_nudges(&omar).await.is_empty(), "Nora was removed");
    let [ritas] = remeet_nudges(&rita).await.try_into().unwrap();
    assert_eq!(ritas.member_id, sami.id);

    // Deleted members' nudges go, either side; blocks and removals hide one at once.
    paul.client
        .clone()
        .delete_member(pb::DeleteMemberRequest {
            id: paul.id.clone(),
        })
        .await
        .unwrap();
    assert!(remeet_nudges(&anna).await.is_empty());
    block(&sami, &rita).await;
    assert!(remeet_nudges(&rita).await.is_empty());

    // Nothing to suggest: Uma not in coffee (and no events service), so no nudge, and Tom is
    // looked at again only a day later.
    let (stack2, [tom, uma]) = stack_of(backend, ["Tom", "Uma"]).await;
    connect(&tom, &uma).await.unwrap();
    met(&stack2, 250, &[&tom, &uma]).await;
    opt_in_to_coffee(&tom).await;
    opt_in_to_remeet(&tom, 0).await;
    let at = now(&stack2);
    let pass = remeet_pass(&stack2, at).await;
    assert_eq!((pass.looked_at, pass.nudged), (1, 0));
    assert_eq!(
        remeet_pass(&stack2, at + Duration::hours(23))
            .await
            .looked_at,
        0
    );
    opt_in_to_coffee(&uma).await;
    let pass = remeet_pass(&stack2, at + Duration::hours(25)).await;
    assert_eq!((pass.looked_at, pass.nudged), (1, 1));
    stack.stop().await.unwrap();
    stack2.stop().await.unwrap();
}

async fn a_dismissed_nudge_is_not_made_again_until_they_meet_again(backend: Backend) {
    let (stack, [anna, karim, lea, mo]) = stack_of(backend, ["Anna", "Karim", "Léa", "Mo"]).await;
    connect(&anna, &karim).await.unwrap();
    met(&stack, 300, &[&anna, &karim]).await;
    connect(&lea, &mo).await.unwrap();
    met(&stack, 300, &[&lea, &mo]).await;
    for member in [&anna, &karim, &lea, &mo] {
        opt_in_to_coffee(member).await;
    }
    opt_in_to_remeet(&anna, 0).await;
    opt_in_to_remeet(&lea, 0).await;
    // Three days back, so that a meeting recorded yesterday comes after the nudges.
    let at = now(&stack) - Duration::days(3);
    assert_eq!(remeet_pass(&stack, at).await.nudged, 2);
    let [annas] = remeet_nudges(&anna).await.try_into().unwrap();
    let [leas] = remeet_nudges(&lea).await.try_into().unwrap();
    // Only she dismisses hers; again changes nothing.
    assert_eq!(dismiss(&lea, &annas.id).await, Code::NotFound);
    assert_eq!(dismiss(&karim, &annas.id).await, Code::NotFound);
    assert_eq!(remeet_nudges(&anna).await.len(), 1);
    assert_eq!(dismiss(&anna, &annas.id).await, Code::Ok);
    assert_eq!(dismiss(&anna, &annas.id).await, Code::Ok);
    assert!(remeet_nudges(&anna).await.is_empty());
    // 190 days on (the coffees lapsed, past the repeat period): Léa, who did not dismiss hers,
    // is nudged about Mo again; Anna is not about Karim.
    let later = at + Duration::days(190);
    Store::new(stack.db.clone())
        .lapse_coffee_proposals(later)
        .await
        .unwrap();
    let pass = remeet_pass(&stack, later).await;
    assert_eq!((pass.looked_at, pass.nudged), (2, 1), "{pass:?}");
    let again = remeet_nudges(&lea).await;
    assert_eq!(again.len(), 2, "{again:?}");
    assert!(again.iter().all(|n| n.member_id == mo.id));
    assert_ne!(again[0].id, leas.id);
    assert!(remeet_nudges(&anna).await.is_empty());
    // Once Anna and Karim meet again, a nudge may come once more, after the wait.
    met(&stack, 1, &[&anna, &karim]).await;
    let much_later = Utc::now() + Duration::days(200);
    Store::new(stack.db.clone())
        .lapse_coffee_proposals(much_later)
        .await
        .unwrap();
    let pass = remeet_pass(&stack, much_later).await;
    assert!(pass.nudged >= 1, "{pass:?}");
    let [anew] = remeet_nudges(&anna).await.try_into().unwrap();
    assert_eq!(anew.member_id, karim.id);
    stack.stop().await.unwrap();
}

async fn the_export_holds_the_settings_and_nudges(backend: Backend) {
    let (stack, [anna, karim]) = stack_of(backend, ["Anna", "Karim"]).await;
    connect(&anna, &karim).await.unwrap();
    met(&stack, 300, &[&anna, &karim]).await;
    opt_in_to_remeet(&anna, 90).await;
    let nudge = nudge_with_event(&stack, &anna).await;
    let hers = export(&anna).await.json;
    assert_eq!(hers["remeet_settings"]["opted_in"], true);
    assert_eq!(hers["remeet_settings"]["after_days"], 90);
    let nudges = hers["remeet_nudges"].as_array().unwrap();
    assert_eq!(nudges.len(), 1);
    assert_eq!(nudges[0]["id"], nudge.as_str());
    assert_eq!(nudges[0]["member_id"], karim.id.as_str());
    assert_eq!(nudges[0]["event"]["title"], "Apéro — Canal Saint-Martin");
    // Karim's export says nothing of Anna's nudge.
    let his = export(&karim).await;
    assert!(!his.text.contains(&nudge), "{}", his.text);
    assert_eq!(his.json["remeet_nudges"].as_array().map(Vec::len), Some(0));
    stack.stop().await.unwrap();
}

backend_tests!(
    remeet_settings_are_ones_own_and_checked,
    a_nudge_proposes_a_coffee_with_the_connection_met_longest_ago,
    no_nudge_without_a_connection_to_see_again_or_a_way_to,
    a_dismissed_nudge_is_not_made_again_until_they_meet_again,
    the_export_holds_the_settings_and_nudges,
);
