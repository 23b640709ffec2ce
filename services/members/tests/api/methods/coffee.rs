//! Coffee settings: a member's own, read and changed through the mask, kept out of everyone
//! else's reach, exported with their data and erased with their account; and the proposals
//! rounds make of them, answered by both, exported with each member's own answer only.

use crate::helpers::*;

use rendezvous_common::db::Db;
use rendezvous_common::with_db;
use rendezvous_proto::events::v1 as events_pb;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{
    Backend, MembersHandle, TestMember, backend_tests, connect, invalid_argument_naming,
    outbox_keys_and_notices,
};
use tonic::Code;

async fn change(
    member: &TestMember,
    settings: pb::CoffeeSettings,
    paths: &[&str],
) -> Result<pb::CoffeeSettings, tonic::Status> {
    let request = pb::UpdateCoffeeSettingsRequest {
        settings: Some(settings),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
    };
    let response = member
        .client
        .clone()
        .update_coffee_settings(request)
        .await?;
    Ok(response.into_inner().settings.unwrap())
}

fn window(weekday: events_pb::Weekday, start: &str, end: &str) -> pb::AvailabilityWindow {
    pb::AvailabilityWindow {
        weekday: weekday.into(),
        start_time: start.into(),
        end_time: end.into(),
    }
}

/// Rows about `member` in the coffee tables: settings, their list, and lists naming them.
async fn coffee_rows(db: &Db, member: &str) -> (i64, i64, i64) {
    with_db!(db, |pool| {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM coffee_settings WHERE member_id = $1), \
             (SELECT COUNT(*) FROM coffee_do_not_pair WHERE member_id = $1), \
             (SELECT COUNT(*) FROM coffee_do_not_pair WHERE other_id = $1)",
        )
        .bind(member)
        .fetch_one(pool)
        .await
        .unwrap()
    })
}

async fn coffee_settings_start_opted_out_and_change_only_the_masked_fields(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;

    let defaults = coffee_settings(&anna).await;
    assert!(!defaults.opted_in);
    assert_eq!(defaults.cadence(), pb::CoffeeCadence::Fortnightly);
    assert!(defaults.availability.is_empty() && defaults.update_time.is_none());

    // Opting in without a window is refused, and writes nothing.
    let refused = change(
        &anna,
        pb::CoffeeSettings {
            opted_in: true,
            ..Default::default()
        },
        &["opted_in"],
    )
    .await;
    invalid_argument_naming(refused, "settings.opted_in").unwrap();
    assert_eq!(coffee_settings(&anna).await, defaults);
    assert_eq!(coffee_rows(&stack.db, &anna.id).await, (0, 0, 0));

    let opted_in = change(
        &anna,
        pb::CoffeeSettings {
            opted_in: true,
            cadence: pb::CoffeeCadence::Weekly.into(),
            availability: vec![
                window(events_pb::Weekday::Thursday, "18:00", "20:00"),
                window(events_pb::Weekday::Monday, "08:30", "10:00"),
            ],
            time_zone: "Europe/Paris".into(),
            preferred_areas: vec!["Le Marais".into(), " Bastille ".into()],
            do_not_pair_member_ids: vec![chloe.id.clone(), bruno.id.clone(), chloe.id.clone()],
            // Not in the mask: ignored.
            snoozed_until: Some(rendezvous_common::time::to_timestamp(chrono::Utc::now())),
            ..Default::default()
        },
        &[
            "opted_in",
            "cadence",
            "availability",
            "time_zone",
            "preferred_areas",
            "do_not_pair_member_ids",
        ],
    )
    .await
    .unwrap();
    assert!(opted_in.opted_in);
    assert_eq!(opted_in.cadence(), pb::CoffeeCadence::Weekly);
    assert_eq!(
        opted_in.availability,
        vec![
            window(events_pb::Weekday::Monday, "08:30", "10:00"),
            window(events_pb::Weekday::Thursday, "18:00", "20:00"),
        ],
        "in week order"
    );
    assert_eq!(opted_in.preferred_areas, vec!["Le Marais", "Bastille"]);
    let mut listed = vec![bruno.id.clone(), chloe.id.clone()];
    listed.sort();
    assert_eq!(opted_in.do_not_pair_member_ids, listed, "once each");
    assert!(opted_in.snoozed_until.is_none());
    assert!(opted_in.update_time.is_some());
    assert_eq!(
        coffee_settings(&anna).await,
        opted_in,
        "read back as answered"
    );

    // One field changes; the others stay.
    let snooze =
        rendezvous_common::time::to_timestamp(chrono::Utc::now() + chrono::Duration::days(10));
    let snoozed = change(
        &anna,
        pb::CoffeeSettings {
            snoozed_until: Some(snooze),
            ..Default::default()
        },
        &["snoozed_until"],
    )
    .await
    .unwrap();
    assert_eq!(
        snoozed.snoozed_until.map(|t| t.seconds),
        Some(snooze.seconds)
    );
    assert_eq!(
        (
            snoozed.availability.clone(),
            snoozed.do_not_pair_member_ids.clone()
        ),
        (
            opted_in.availability.clone(),
            opted_in.do_not_pair_member_ids.clone()
        )
    );
    // Clearing the windows while opted in is refused, naming them; opting out clears it.
    let cleared = change(&anna, pb::CoffeeSettings::default(), &["availability"]).await;
    invalid_argument_naming(cleared, "settings.availability").unwrap();
    let out = change(
        &anna,
        pb::CoffeeSettings::default(),
        &["opted_in", "availability"],
    )
    .await
    .unwrap();
    assert!(!out.opted_in && out.availability.is_empty());

    // Another member sees and changes only their own: Bruno's are the defaults, and his
    // change leaves Anna's as they were.
    assert!(!coffee_settings(&bruno).await.opted_in);
    assert!(
        coffee_settings(&bruno)
            .await
            .do_not_pair_member_ids
            .is_empty()
    );
    change(
        &bruno,
        pb::CoffeeSettings {
            do_not_pair_member_ids: vec![anna.id.clone()],
            ..Default::default()
        },
        &["do_not_pair_member_ids"],
    )
    .await
    .unwrap();
    assert_eq!(coffee_settings(&anna).await, out);
    stack.stop().await.unwrap();
}

async fn coffee_settings_are_exported_and_erased_with_the_account(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    change(
        &anna,
        pb::CoffeeSettings {
            opted_in: true,
            availability: vec![window(events_pb::Weekday::Friday, "12:00", "13:30")],
            do_not_pair_member_ids: vec![bruno.id.clone()],
            ..Default::default()
        },
        &["opted_in", "availability", "do_not_pair_member_ids"],
    )
    .await
    .unwrap();
    change(
        &bruno,
        pb::CoffeeSettings {
            do_not_pair_member_ids: vec![anna.id.clone()],
            ..Default::default()
        },
        &["do_not_pair_member_ids"],
    )
    .await
    .unwrap();

    let exported = export(&anna).await.json;
    let coffee = &exported["coffee_settings"];
    assert_eq!(coffee["opted_in"], true);
    assert_eq!(coffee["cadence"], "fortnightly");
    assert_eq!(coffee["availability"][0]["weekday"], "WEEKDAY_FRIDAY");
    assert_eq!(coffee["availability"][0]["start_time"], "12:00");
    assert_eq!(coffee["do_not_pair_member_ids"][0], bruno.id);
    assert_eq!(coffee_rows(&stack.db, &anna.id).await, (1, 1, 1));

    anna.client
        .clone()
        .delete_member(pb::DeleteMemberRequest { id: "me".into() })
        .await
        .unwrap();
    // Her settings, her list and her place on Bruno's list go with her account.
    assert_eq!(coffee_rows(&stack.db, &anna.id).await, (0, 0, 0));
    assert_eq!(coffee_rows(&stack.db, &bruno.id).await, (1, 0, 0));
    assert!(
        coffee_settings(&bruno)
            .await
            .do_not_pair_member_ids
            .is_empty()
    );
    stack.stop().await.unwrap();
}

async fn both_must_accept_a_coffee_and_a_decline_is_never_shown_to_the_other(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    connect(&anna, &chloe).await.unwrap();
    for member in [&anna, &bruno, &chloe] {
        opt_in_to_coffee(member).await;
    }
    let round = coffee_round(&stack).await;
    assert_eq!(round.proposals.len(), 1, "Anna is in one proposal at most");

    // The longer-standing connection first: Anna and Bruno.
    let [hers] = coffee_proposals(&anna).await.try_into().unwrap();
    assert_eq!(
        (hers.member_id.as_str(), hers.display_name.as_str()),
        (bruno.id.as_str(), "Bruno")
    );
    assert_eq!(hers.state(), pb::CoffeeProposalState::Open);
    assert_eq!(hers.my_answer(), pb::CoffeeAnswer::Unspecified);
    let [his] = coffee_proposals(&bruno).await.try_into().unwrap();
    assert_eq!(
        (his.id.as_str(), his.member_id.as_str()),
        (hers.id.as_str(), anna.id.as_str())
    );
    assert!(coffee_proposals(&chloe).await.is_empty());
    let theirs = answer_coffee(&chloe, &hers.id, true).await;
    assert_eq!(code(theirs), Code::NotFound, "not Chloé's to answer");

    // Bruno declines: he sees his answer, Anna sees nothing of it.
    let declined = answer_coffee(&bruno, &his.id, false).await.unwrap();
    assert_eq!(declined.my_answer(), pb::CoffeeAnswer::Declined);
    assert_eq!(declined.state(), pb::CoffeeProposalState::Open);
    let [hers_now] = coffee_proposals(&anna).await.try_into().unwrap();
    assert_eq!(hers_now, hers, "nothing of Bruno's answer reaches Anna");
    let accepted = answer_coffee(&anna, &hers.id, true).await.unwrap();
    assert_eq!(
        accepted.state(),
        pb::CoffeeProposalState::Open,
        "not matched: he declined"
    );
    assert_eq!(accepted.my_answer(), pb::CoffeeAnswer::Accepted);

    // He changes his mind before the deadline: both see it matched.
    let matched = answer_coffee(&bruno, &his.id, true).await.unwrap();
    assert_eq!(matched.state(), pb::CoffeeProposalState::Matched);
    let [hers_now] = coffee_proposals(&anna).await.try_into().unwrap();
    assert_eq!(hers_now.state(), pb::CoffeeProposalState::Matched);
    let undo = answer_coffee(&anna, &hers.id, false).await;
    assert_eq!(code(undo), Code::FailedPrecondition);
    assert_eq!(
        answer_coffee(&anna, &hers.id, true).await.unwrap(),
        hers_now,
        "idempotent"
    );
    stack.stop().await.unwrap();
}

async fn a_coffee_not_accepted_by_both_lapses_at_its_deadline_for_both(backend: Backend) {
    let stack = members_on_manual_clock(backend, |_| {}).await;
    let [anna, bruno] = stack.register_all(["Anna", "Bruno"]).await.unwrap();
    connect(&anna, &bruno).await.unwrap();
    opt_in_to_coffee(&anna).await;
    opt_in_to_coffee(&bruno).await;
    coffee_round(&stack).await;
    let [hers] = coffee_proposals(&anna).await.try_into().unwrap();
    answer_coffee(&anna, &hers.id, true).await.unwrap();
    // No second proposal while this one is open, whatever the rounds.
    assert!(coffee_round(&stack).await.proposals.is_empty());

    stack.clock.advance(chrono::Duration::days(3));
    // (Their access tokens expired meanwhile.)
    let anna = signed_in_again(&stack, &anna).await;
    let bruno = signed_in_again(&stack, &bruno).await;
    let late = answer_coffee(&bruno, &hers.id, true).await;
    assert_eq!(code(late), Code::FailedPrecondition);
    for member in [&anna, &bruno] {
        let [seen] = coffee_proposals(member).await.try_into().unwrap();
        assert_eq!(
            seen.state(),
            pb::CoffeeProposalState::Lapsed,
            "the same for both"
        );
    }
    // The round records the lapse; the pair waits out its repeat period and the cadence.
    assert!(coffee_round(&stack).await.proposals.is_empty());
    stack.clock.advance(chrono::Duration::days(180));
    assert_eq!(coffee_round(&stack).await.proposals.len(), 1);
    stack.stop().await.unwrap();
}

async fn an_opt_in_brings_the_next_round_forward(backend: Backend) {
    let mut start = rendezvous_testkit::Start::new(backend);
    // The clock's round is an hour away; an opt-in's comes 100 ms after it.
    start.members.coffee_round_every = Some(std::time::Duration::from_secs(3600));
    start.members.coffee_round_after_opt_in = Some(std::time::Duration::from_millis(100));
    let stack = MembersHandle::start_with(start).await.unwrap();
    let [anna, bruno] = stack.register_all(["Anna", "Bruno"]).await.unwrap();
    connect(&anna, &bruno).await.unwrap();
    opt_in_to_coffee(&anna).await;
    opt_in_to_coffee(&bruno).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while coffee_proposals(&anna).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no round after the opt-ins"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let [his] = coffee_proposals(&bruno).await.try_into().unwrap();
    assert_eq!(his.member_id, anna.id);
    stack.stop().await.unwrap();
}

async fn the_service_runs_rounds_on_its_own_one_replica_at_a_time(backend: Backend) {
    let mut start = rendezvous_testkit::Start::new(backend);
    start.members.coffee_round_every = Some(std::time::Duration::from_millis(50));
    let stack = MembersHandle::start_with(start).await.unwrap();
    let [anna, bruno] = stack.register_all(["Anna", "Bruno"]).await.unwrap();
    connect(&anna, &bruno).await.unwrap();
    opt_in_to_coffee(&anna).await;
    opt_in_to_coffee(&bruno).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while coffee_proposals(&anna).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no round ran");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Rounds keep running; Anna is due again only after her cadence.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(coffee_proposals(&anna).await.len(), 1);

    // The lease: held, nobody else starts a round (the service's own rounds included: one
    // running now gives back only its own lease); given back, the next one may.
    let store = rendezvous_members::store::Store::new(stack.db.clone());
    let now = chrono::Utc::now() + chrono::Duration::hours(1);
    let until = now + chrono::Duration::minutes(30);
    assert!(store.take_coffee_round_lease(now, until).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!store.take_coffee_round_lease(now, until).await.unwrap());
    // Giving back someone else's lease does nothing.
    store
        .release_coffee_round_lease(until - chrono::Duration::seconds(1), now)
        .await
        .unwrap();
    assert!(!store.take_coffee_round_lease(now, until).await.unwrap());
    store.release_coffee_round_lease(until, now).await.unwrap();
    assert!(store.take_coffee_round_lease(now, until).await.unwrap());
    stack.stop().await.unwrap();
}

async fn a_block_a_removal_or_an_erasure_ends_the_pairs_coffee_silently(backend: Backend) {
    let (stack, [anna, bruno, chloe, dan, eve, fay]) =
        stack_of(backend, ["Anna", "Bruno", "Chloe", "Dan", "Eve", "Fay"]).await;
    for (a, b) in [(&anna, &bruno), (&chloe, &dan), (&eve, &fay)] {
        connect(a, b).await.unwrap();
        opt_in_to_coffee(a).await;
        opt_in_to_coffee(b).await;
    }
    assert_eq!(coffee_round(&stack).await.proposals.len(), 3);

    block(&anna, &bruno).await;
    chloe
        .client
        .clone()
        .remove_connection(pb::RemoveConnectionRequest {
            member_id: dan.id.clone(),
        })
        .await
        .unwrap();
    eve.client
        .clone()
        .delete_member(pb::DeleteMemberRequest { id: "me".into() })
        .await
        .unwrap();
    for member in [&anna, &bruno, &chloe, &dan, &fay] {
        let [seen] = coffee_proposals(member).await.try_into().unwrap();
        assert_eq!(
            seen.state(),
            pb::CoffeeProposalState::Lapsed,
            "{}",
            member.id
        );
        let late = answer_coffee(member, &seen.id, true).await;
        assert_eq!(code(late), Code::FailedPrecondition);
    }
    // Nobody was told anything about coffee (the erasure writes its own rows).
    let coffee_told = outbox_keys_and_notices(&stack.db, "coffee-").await.len();
    assert_eq!(coffee_told, 6, "the six proposal notices, nothing after");
    stack.stop().await.unwrap();
}

/// A block calls off a booked coffee that has not begun, but leaves one that has: it
/// happened, and its "did you meet?" follows as for any event.
async fn a_block_after_a_coffee_began_leaves_it_as_it_was(backend: Backend) {
    use chrono::TimeZone as _;
    // Wednesday 1 May 2030, 09:00 UTC.
    let stack = members_on_manual_clock(backend, |_| {}).await;
    let [anna, bruno, chloe, dan] = stack
        .register_all(["Anna", "Bruno", "Chloe", "Dan"])
        .await
        .unwrap();
    for (a, b) in [(&anna, &bruno), (&chloe, &dan)] {
        connect(a, b).await.unwrap();
        opt_in_to_coffee(a).await;
        opt_in_to_coffee(b).await;
    }
    coffee_round(&stack).await;
    // Anna and Bruno meet at 11:00 today; Chloé and Dan tomorrow at 11:00.
    for (booker, other, day) in [(&anna, &bruno, 1), (&chloe, &dan, 2)] {
        let [p] = coffee_proposals(booker).await.try_into().unwrap();
        answer_coffee(booker, &p.id, true).await.unwrap();
        answer_coffee(other, &p.id, true).await.unwrap();
        let start = chrono::Utc
            .with_ymd_and_hms(2030, 5, day, 11, 0, 0)
            .unwrap();
        schedule_coffee(booker, &p.id, start, None).await.unwrap();
    }
    // 11:30: Anna and Bruno's coffee has begun; then both pairs fall out.
    stack.clock.advance(chrono::Duration::minutes(150));
    let [anna, bruno, chloe, dan] = [
        signed_in_again(&stack, &anna).await,
        signed_in_again(&stack, &bruno).await,
        signed_in_again(&stack, &chloe).await,
        signed_in_again(&stack, &dan).await,
    ];
    block(&anna, &bruno).await;
    block(&chloe, &dan).await;
    for (member, state) in [
        (&anna, pb::CoffeeProposalState::Matched),
        (&bruno, pb::CoffeeProposalState::Matched),
        (&chloe, pb::CoffeeProposalState::Lapsed),
        (&dan, pb::CoffeeProposalState::Lapsed),
    ] {
        let [seen] = coffee_proposals(member).await.try_into().unwrap();
        assert_eq!(seen.state(), state, "{}", member.id);
    }
    // Events is asked to call off Chloé and Dan's only.
    let [called_off] = rendezvous_testkit::outbox::outbox_coffee_cancellations(&stack.db)
        .await
        .try_into()
        .unwrap();
    let [chloes] = coffee_proposals(&chloe).await.try_into().unwrap();
    assert_eq!(called_off.proposal_id, chloes.id);
    stack.stop().await.unwrap();
}

async fn a_match_offers_both_the_times_they_are_both_free_each_by_their_own_clock(
    backend: Backend,
) {
    use chrono::TimeZone as _;
    // Wednesday 1 May 2030, 09:00 UTC.
    let stack = members_on_manual_clock(backend, |_| {}).await;
    let [anna, bruno, chloe] = stack
        .register_all(["Anna", "Bruno", "Chloe"])
        .await
        .unwrap();
    connect(&anna, &bruno).await.unwrap();
    // Anna: Tuesdays 08:00–10:00 in Paris (her profile's zone). Bruno: Tuesdays 07:00–08:30
    // in London, i.e. 08:00–09:30 in Paris.
    opt_in_to_coffee(&anna).await;
    opt_in_to_coffee(&bruno).await;
    let london = pb::CoffeeSettings {
        time_zone: "Europe/London".into(),
        availability: vec![window(events_pb::Weekday::Tuesday, "07:00", "08:30")],
        ..Default::default()
    };
    change(&bruno, london, &["time_zone", "availability"])
        .await
        .unwrap();
    coffee_round(&stack).await;
    let [hers] = coffee_proposals(&anna).await.try_into().unwrap();
    let accepted = answer_coffee(&anna, &hers.id, true).await.unwrap();
    assert!(accepted.slots.is_empty(), "no times before both accept");
    assert!(
        outbox_keys_and_notices(&stack.db, "coffee-matched:")
            .await
            .is_empty()
    );

    let matched = answer_coffee(&bruno, &hers.id, true).await.unwrap();
    assert_eq!(matched.state(), pb::CoffeeProposalState::Matched);
    // The two Tuesdays of the fortnight after the match, 08:00–09:00 in Paris.
    let utc = |d, h| chrono::Utc.with_ymd_and_hms(2030, 5, d, h, 0, 0).unwrap();
    let expected: Vec<_> = [(7, 6, 7), (14, 6, 7)]
        .into_iter()
        .map(|(d, from, to)| pb::CoffeeSlot {
            start_time: Some(rendezvous_common::time::to_timestamp(utc(d, from))),
            end_time: Some(rendezvous_common::time::to_timestamp(utc(d, to))),
        })
        .collect();
    assert_eq!(matched.slots, expected);
    let [hers_now] = coffee_proposals(&anna).await.try_into().unwrap();
    assert_eq!(hers_now.slots, expected, "the same times for both");
    assert!(coffee_proposals(&chloe).await.is_empty());

    // Each is told once, of the other, with the times in their own zone.
    answer_coffee(&anna, &hers.id, true).await.unwrap();
    let told = outbox_keys_and_notices(&stack.db, "coffee-matched:").await;
    assert_eq!(told.len(), 2, "{told:?}");
    for (me, other, zone) in [
        (&anna, &bruno, "Europe/Paris"),
        (&bruno, &anna, "Europe/London"),
    ] {
        let notice = told
            .iter()
            .find(|(key, _)| key.ends_with(&me.id))
            .and_then(|(_, n)| match &n.notice {
                Some(rendezvous_proto::notifications::v1::notice::Notice::CoffeeMatched(m)) => {
                    Some(m.clone())
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(notice.member.unwrap().member_id, other.id);
        assert_eq!(notice.time_zone, zone);
        assert_eq!(notice.proposal_id, hers.id);
        let starts: Vec<_> = notice.slots.iter().map(|s| s.start_time).collect();
        let wanted: Vec<_> = expected.iter().map(|s| s.start_time).collect();
        assert_eq!(starts, wanted);
    }
    stack.stop().await.unwrap();
}

/// The coffee proposals in `member`'s export.
async fn exported_proposals(member: &TestMember) -> (Vec<serde_json::Value>, String) {
    let exported = export(member).await;
    let proposals = exported.json["coffee_proposals"]
        .as_array()
        .unwrap()
        .clone();
    (proposals, exported.text)
}

async fn coffee_proposals_are_exported_with_the_members_own_answer_only(backend: Backend) {
    let stack = members_on_manual_clock(backend, |_| {}).await;
    let [anna, bruno, chloe] = stack
        .register_all(["Anna", "Bruno", "Chloe"])
        .await
        .unwrap();
    let with_bruno = coffee_between(&stack, &anna, &bruno).await;
    answer_coffee(&anna, &with_bruno, true).await.unwrap();
    answer_coffee(&bruno, &with_bruno, false).await.unwrap();

    // Each exports the proposal with their own answer; Bruno's decline is not in Anna's.
    let (hers, text) = exported_proposals(&anna).await;
    let [proposal] = hers.as_slice() else {
        panic!("{hers:?}")
    };
    let mut fields: Vec<_> = proposal.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "booking",
            "id",
            "member_id",
            "my_answer",
            "proposed_at",
            "respond_by",
            "slots",
            "state"
        ],
        "nothing of the other's answer"
    );
    assert_eq!(proposal["id"], with_bruno);
    assert_eq!(proposal["member_id"], bruno.id);
    assert_eq!(proposal["state"], "open");
    assert_eq!(proposal["my_answer"], "accepted");
    assert_eq!(proposal["slots"], serde_json::json!([]));
    assert!(proposal["booking"].is_null());
    assert!(!text.contains("declined"), "Bruno's decline reaches Anna");
    let (his, _) = exported_proposals(&bruno).await;
    assert_eq!(
        (his[0]["member_id"].as_str(), his[0]["my_answer"].as_str()),
        (Some(anna.id.as_str()), Some("declined"))
    );

    // A fortnight later that one has lapsed, and Anna and Chloé are matched and Chloé books.
    connect(&anna, &chloe).await.unwrap();
    opt_in_to_coffee(&chloe).await;
    stack.clock.advance(chrono::Duration::days(15));
    let anna = signed_in_again(&stack, &anna).await;
    let chloe = signed_in_again(&stack, &chloe).await;
    assert_eq!(coffee_round(&stack).await.proposals.len(), 1);
    let [with_chloe] = coffee_proposals(&chloe).await.try_into().unwrap();
    answer_coffee(&anna, &with_chloe.id, true).await.unwrap();
    let matched = answer_coffee(&chloe, &with_chloe.id, true).await.unwrap();
    let slots: Vec<_> = matched
        .slots
        .iter()
        .map(|s| {
            let at = |t| rendezvous_common::time::from_timestamp("slot", t).unwrap();
            (
                at(s.start_time.as_ref().unwrap()),
                at(s.end_time.as_ref().unwrap()),
            )
        })
        .collect();
    let (start, end) = slots[0];
    let booked = schedule_coffee(&chloe, &with_chloe.id, start, None)
        .await
        .unwrap();

    let (hers, text) = exported_proposals(&anna).await;
    let [lapsed, matched] = hers.as_slice() else {
        panic!("{hers:?}")
    };
    assert_eq!(
        (&lapsed["id"], &lapsed["state"], &lapsed["my_answer"]),
        (
            &serde_json::json!(with_bruno),
            &"lapsed".into(),
            &"accepted".into()
        )
    );
    assert!(!text.contains("declined"), "Bruno's decline reaches Anna");
    assert_eq!(
        (&matched["id"], &matched["member_id"], &matched["state"]),
        (
            &serde_json::json!(with_chloe.id),
            &serde_json::json!(chloe.id),
            &"matched".into()
        )
    );
    let offered: Vec<_> = slots
        .iter()
        .map(|(s, e)| serde_json::json!({"starts_at": s, "ends_at": e}))
        .collect();
    assert_eq!(matched["slots"], serde_json::json!(offered));
    let meeting = serde_json::json!({"starts_at": start, "ends_at": end});
    assert_eq!(
        matched["booking"],
        serde_json::json!({"event_id": booked.event_id, "meeting": meeting, "booked_by_me": false})
    );
    let (theirs, _) = exported_proposals(&chloe).await;
    assert_eq!(theirs[0]["booking"]["booked_by_me"], true);
    stack.stop().await.unwrap();
}

backend_tests!(
    coffee_proposals_are_exported_with_the_members_own_answer_only,
    a_match_offers_both_the_times_they_are_both_free_each_by_their_own_clock,
    a_block_a_removal_or_an_erasure_ends_the_pairs_coffee_silently,
    a_block_after_a_coffee_began_leaves_it_as_it_was,
    an_opt_in_brings_the_next_round_forward,
    the_service_runs_rounds_on_its_own_one_replica_at_a_time,
    both_must_accept_a_coffee_and_a_decline_is_never_shown_to_the_other,
    a_coffee_not_accepted_by_both_lapses_at_its_deadline_for_both,
    coffee_settings_start_opted_out_and_change_only_the_masked_fields,
    coffee_settings_are_exported_and_erased_with_the_account,
);
