//! The limits on reaching other members: contacts per import, imports per day, connection
//! requests per week (RequestConnection and imports together, an import's all or none), the
//! cooldown before asking again someone who declined, and wrong current passwords in
//! ChangePassword. Each refusal says when to retry (`RetryInfo`), exactly, on a manual clock.

use std::time::Duration as StdDuration;

use crate::helpers::*;

use chrono::Duration;
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{
    Backend, MembersHandle, TestMember, backend_tests, invalid_argument_naming,
};
use tonic::Code;
use tonic_types::StatusExt as _;

const DAY: u64 = 24 * 60 * 60;

fn days(n: u64) -> StdDuration {
    StdDuration::from_secs(n * DAY)
}

/// A file of the emails of `members`.
fn file_of(members: &[&TestMember]) -> String {
    let rows: Vec<(&str, &str)> = members
        .iter()
        .map(|m| ("Someone", m.email.as_str()))
        .collect();
    contacts_file(&rows)
}

/// `members` signed in again after the clock moved.
async fn signed_in<const N: usize>(
    stack: &MembersHandle,
    members: [&TestMember; N],
) -> [TestMember; N] {
    let mut out = Vec::with_capacity(N);
    for member in members {
        out.push(signed_in_again(stack, member).await);
    }
    out.try_into().unwrap_or_else(|_| unreachable!())
}

async fn change_password(member: &TestMember, old: &str) -> Result<(), tonic::Status> {
    member
        .client
        .clone()
        .change_password(pb::ChangePasswordRequest {
            old_password: old.to_owned(),
            new_password: "a brand new passphrase".to_owned(),
        })
        .await
        .map(drop)
}

async fn an_import_over_the_row_cap_is_refused_naming_csv_data(backend: Backend) {
    let stack = members_on_manual_clock(backend, |s| {
        s.outreach.contacts_per_import = 3;
        s.outreach.imports.max = 1;
    })
    .await;
    let [anna, bruno] = stack.register_all(["Anna", "Bruno"]).await.unwrap();
    let four = contacts_file(&[
        ("A", "a@example.org"),
        ("B", "b@example.org"),
        ("C", "c@example.org"),
        ("D", "d@example.org"),
    ]);
    let status =
        invalid_argument_naming(import_contacts(&anna, &four, false, &[]).await, "csv_data")
            .unwrap();
    let violations = status.get_details_bad_request().unwrap().field_violations;
    assert_eq!(violations[0].description, "the file has more than 3 rows");
    // A refused file spends none of the day's imports.
    let three = contacts_file(&[
        ("A", "a@example.org"),
        ("B", "b@example.org"),
        ("Bruno", &bruno.email),
    ]);
    let imported = import_contacts(&anna, &three, false, &[]).await.unwrap();
    assert_eq!((imported.total_contacts, imported.matched.len()), (3, 1));
    stack.stop().await.unwrap();
}

async fn imports_per_day_are_capped_and_say_when_to_retry(backend: Backend) {
    let stack = members_on_manual_clock(backend, |s| s.outreach.imports.max = 2).await;
    let [anna, bruno] = stack.register_all(["Anna", "Bruno"]).await.unwrap();
    let csv = file_of(&[&bruno]);
    for _ in 0..2 {
        import_contacts(&anna, &csv, false, &[]).await.unwrap();
    }
    let status = import_contacts(&anna, &csv, false, &[]).await.unwrap_err();
    assert_eq!(assert_limited_by(&status, "RATE_LIMITED"), days(1));
    // Bruno's imports are his own.
    import_contacts(&bruno, &file_of(&[&anna]), false, &[])
        .await
        .unwrap();

    stack.clock.advance(Duration::hours(1));
    let anna = signed_in_again(&stack, &anna).await;
    let status = import_contacts(&anna, &csv, false, &[]).await.unwrap_err();
    assert_eq!(
        assert_limited_by(&status, "RATE_LIMITED"),
        StdDuration::from_secs(23 * 60 * 60)
    );
    stack.clock.advance(Duration::hours(23));
    let anna = signed_in_again(&stack, &anna).await;
    import_contacts(&anna, &csv, false, &[]).await.unwrap();
    stack.stop().await.unwrap();
}

async fn weekly_requests_count_request_connection_and_imports_together(backend: Backend) {
    let stack = members_on_manual_clock(backend, |s| s.outreach.requests.max = 3).await;
    let [anna, bruno, chloe, david, emma, fabien] = stack
        .register_all(["Anna", "Bruno", "Chloe", "David", "Emma", "Fabien"])
        .await
        .unwrap();
    request(&anna, &bruno, "").await.unwrap();
    stack.clock.advance(Duration::days(1));
    let [anna, chloe, david, emma, fabien] =
        signed_in(&stack, [&anna, &chloe, &david, &emma, &fabien]).await;
    request(&anna, &chloe, "").await.unwrap();

    // Two more would be four: none is sent, and the wait is until Bruno's leaves the week.
    let csv = file_of(&[&david, &emma]);
    let status = import_contacts(&anna, &csv, true, &[]).await.unwrap_err();
    assert_eq!(assert_limited_by(&status, "RATE_LIMITED"), days(6));
    assert!(no_requests(&david, pb::RequestDirection::Incoming).await);
    assert!(no_requests(&emma, pb::RequestDirection::Incoming).await);

    // One fits.
    let imported = import_contacts(&anna, &csv, true, &[&david]).await.unwrap();
    assert_eq!(imported.requests_sent, 1);
    assert_eq!(
        requests(&david, pb::RequestDirection::Incoming).await.len(),
        1
    );
    let status = request(&anna, &emma, "").await.unwrap_err();
    assert_eq!(assert_limited_by(&status, "RATE_LIMITED"), days(6));

    // Answering someone who asked is no new request.
    request(&fabien, &anna, "").await.unwrap();
    let answered = request(&anna, &fabien, "").await.unwrap();
    assert_eq!(
        answered.state,
        i32::from(pb::ConnectionRequestState::Accepted)
    );

    stack.clock.advance(Duration::days(6));
    let anna = signed_in_again(&stack, &anna).await;
    request(&anna, &emma, "").await.unwrap();
    stack.stop().await.unwrap();
}

/// A service with a 30-day cooldown, where Bruno has just declined Anna's request (Chloe is
/// a third party).
async fn bruno_declined_anna(backend: Backend) -> (MembersHandle, [TestMember; 3]) {
    let stack = members_on_manual_clock(backend, |s| {
        s.outreach.re_request_cooldown = Duration::days(30)
    })
    .await;
    let members = stack
        .register_all(["Anna", "Bruno", "Chloe"])
        .await
        .unwrap();
    let asked = request(&members[0], &members[1], "").await.unwrap();
    respond(&members[1], &asked.id, false).await.unwrap();
    (stack, members)
}

async fn after_a_decline_the_requester_waits_out_the_cooldown(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = bruno_declined_anna(backend).await;

    stack.clock.advance(Duration::days(1));
    let [anna, bruno, chloe] = signed_in(&stack, [&anna, &bruno, &chloe]).await;
    let status = request(&anna, &bruno, "").await.unwrap_err();
    assert_eq!(assert_limited_by(&status, "DECLINED_COOLDOWN"), days(29));
    // An import finds him but sends him nothing, and is not refused for it.
    let imported = import_contacts(&anna, &file_of(&[&bruno]), true, &[])
        .await
        .unwrap();
    assert_eq!(imported.matched.len(), 1);
    assert!(!imported.matched[0].request_sent);
    assert_eq!(imported.requests_sent, 0);
    assert!(no_requests(&bruno, pb::RequestDirection::Incoming).await);
    // Nobody else is held back.
    request(&chloe, &bruno, "").await.unwrap();

    stack
        .clock
        .advance(Duration::days(29) - Duration::seconds(1));
    let anna = signed_in_again(&stack, &anna).await;
    let status = request(&anna, &bruno, "").await.unwrap_err();
    assert_eq!(
        assert_limited_by(&status, "DECLINED_COOLDOWN"),
        StdDuration::from_secs(1)
    );
    stack.clock.advance(Duration::seconds(1));
    request(&anna, &bruno, "").await.unwrap();
    stack.stop().await.unwrap();
}

async fn the_member_who_declined_may_still_ask_and_a_block_still_hides(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = bruno_declined_anna(backend).await;
    // Bruno changes his mind: his request goes out, and Anna's answer connects them.
    request(&bruno, &anna, "").await.unwrap();
    let answered = request(&anna, &bruno, "").await.unwrap();
    assert_eq!(
        answered.state,
        i32::from(pb::ConnectionRequestState::Accepted)
    );

    // A member who blocks the requester is NOT_FOUND to them, cooldown or not.
    let asked = request(&anna, &chloe, "").await.unwrap();
    respond(&chloe, &asked.id, false).await.unwrap();
    block(&chloe, &anna).await;
    assert_eq!(error_code(request(&anna, &chloe, "").await), Code::NotFound);
    stack.stop().await.unwrap();
}

async fn wrong_current_passwords_are_limited_before_the_hash_is_checked(backend: Backend) {
    let stack = members_on_manual_clock(backend, |s| {
        s.sign_in_limits.per_account_and_address.max = 3
    })
    .await;
    let [anna, bruno] = stack.register_all(["Anna", "Bruno"]).await.unwrap();
    for _ in 0..3 {
        invalid_argument_naming(
            change_password(&anna, "a wrong guess").await,
            "old_password",
        )
        .unwrap();
    }
    // The right password too: the budget is spent before any hash is checked.
    let status = change_password(&anna, &anna.password).await.unwrap_err();
    assert_eq!(
        assert_limited_by(&status, "RATE_LIMITED"),
        StdDuration::from_secs(15 * 60)
    );
    stack.clock.advance(Duration::minutes(15));
    let [anna, bruno] = signed_in(&stack, [&anna, &bruno]).await;
    change_password(&anna, &anna.password).await.unwrap();

    // Concurrent guesses get no more hash checks than the budget.
    let guesses = (0..10).map(|_| change_password(&bruno, "a wrong guess"));
    let codes: Vec<Code> = futures::future::join_all(guesses)
        .await
        .into_iter()
        .map(|r| r.unwrap_err().code())
        .collect();
    let checked = codes
        .iter()
        .filter(|c| **c == Code::InvalidArgument)
        .count();
    let limited = codes
        .iter()
        .filter(|c| **c == Code::ResourceExhausted)
        .count();
    assert_eq!((checked, limited), (3, 7), "{codes:?}");
    stack.stop().await.unwrap();
}

backend_tests!(
    an_import_over_the_row_cap_is_refused_naming_csv_data,
    imports_per_day_are_capped_and_say_when_to_retry,
    weekly_requests_count_request_connection_and_imports_together,
    after_a_decline_the_requester_waits_out_the_cooldown,
    the_member_who_declined_may_still_ask_and_a_block_still_hides,
    wrong_current_passwords_are_limited_before_the_hash_is_checked,
);
