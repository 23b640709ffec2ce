//! The sign-in and registration limits: a failure is reserved before the hash is checked (so
//! concurrent guesses never exceed the budget), the budgets are stored (so they hold across
//! replicas), a stranger cannot lock a member out where they sign in, and registrations are
//! limited per client address. Each refusal says when to retry (`RetryInfo`).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration as StdDuration;

use chrono::Duration;
use rendezvous_common::db::Db;
use rendezvous_members::sign_ins::SignInLimits;
use rendezvous_members::store::Store;
use rendezvous_members::{Budget, SignInPolicy};
use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{Backend, MembersHandle, backend_tests, members_settings};
use tonic::{Code, Status};
use uuid::Uuid;

use crate::helpers::{assert_limited_by, login, members_on_manual_clock};

const WRONG: &str = "not the password at all";

fn policy(edit: impl FnOnce(&mut SignInPolicy)) -> SignInPolicy {
    let mut policy = members_settings().sign_in_limits;
    edit(&mut policy);
    policy
}

/// A members service on a manual clock with `policy`.
async fn members_with(backend: Backend, policy: SignInPolicy) -> MembersHandle {
    members_on_manual_clock(backend, |settings| settings.sign_in_limits = policy).await
}

/// `RESOURCE_EXHAUSTED` with its reason and a retry delay; returns the delay.
fn assert_limited(status: &Status) -> StdDuration {
    assert_limited_by(status, "RATE_LIMITED")
}

async fn a_member_gets_ten_wrong_passwords_in_fifteen_minutes_then_waits(backend: Backend) {
    let members = members_with(backend, members_settings().sign_in_limits).await;
    let [anna, bruno] = members.register_all(["Anna", "Bruno"]).await.unwrap();
    for _ in 0..10 {
        let status = login(&members, &anna.email, WRONG).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    // The right password too: the budget is spent before any hash is checked.
    let status = login(&members, &anna.email, &anna.password)
        .await
        .unwrap_err();
    assert_eq!(assert_limited(&status), StdDuration::from_secs(15 * 60));
    // Another account from the same address is not locked.
    login(&members, &bruno.email, &bruno.password)
        .await
        .unwrap();

    // The window slides: five minutes on, still ten minutes to wait; fifteen on, one more try.
    members.clock.advance(Duration::minutes(5));
    let status = login(&members, &anna.email, &anna.password)
        .await
        .unwrap_err();
    assert_eq!(assert_limited(&status), StdDuration::from_secs(10 * 60));
    members.clock.advance(Duration::minutes(10));
    login(&members, &anna.email, &anna.password).await.unwrap();
    // A success forgets this address's failures: a full budget again.
    for _ in 0..10 {
        let status = login(&members, &anna.email, WRONG).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    assert_limited(&login(&members, &anna.email, WRONG).await.unwrap_err());
    members.stop().await.unwrap();
}

async fn concurrent_wrong_passwords_get_no_more_hash_checks_than_the_budget(backend: Backend) {
    let members = members_with(backend, members_settings().sign_in_limits).await;
    let [anna] = members.register_all(["Anna"]).await.unwrap();
    let guesses = (0..60).map(|_| login(&members, &anna.email, WRONG));
    let answers = futures::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|a| a.as_ref().is_err_and(|s| s.code() == Code::Unauthenticated))
        .count();
    let limited = answers
        .iter()
        .filter(|a| {
            a.as_ref()
                .is_err_and(|s| s.code() == Code::ResourceExhausted)
        })
        .count();
    assert_eq!((checked, limited), (10, 50), "{answers:?}");
    members.stop().await.unwrap();
}

async fn an_address_spraying_many_accounts_is_stopped(backend: Backend) {
    let policy = policy(|p| p.per_address.max = 3);
    let members = members_with(backend, policy).await;
    let [anna] = members.register_all(["Anna"]).await.unwrap();
    for i in 0..3 {
        let status = login(&members, &format!("stranger{i}@example.com"), WRONG)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    // Unknown emails count as accounts do: the limits tell nothing about who has one.
    assert_limited(
        &login(&members, &anna.email, &anna.password)
            .await
            .unwrap_err(),
    );
    members.stop().await.unwrap();
}

/// The limits over the members database, called as the handler calls them, from addresses a
/// test over loopback cannot take.
fn limits(db: Db, policy: SignInPolicy) -> SignInLimits {
    SignInLimits::new(Store::new(db), policy, [7; 32])
}

fn address(n: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)))
}

async fn a_stranger_elsewhere_cannot_lock_a_member_out_where_they_sign_in(backend: Backend) {
    let members = members_with(backend, members_settings().sign_in_limits).await;
    let [anna] = members.register_all(["Anna"]).await.unwrap();
    let id: Uuid = anna.id.parse().unwrap();
    let policy = policy(|p| p.per_account_elsewhere.max = 5);
    let guard = limits(members.db.clone(), policy);
    let now = members.clock.now();
    let email = anna.email.as_str();

    // Anna signs in from home.
    let attempt = guard.begin(email, address(1), Some(id), now).await.unwrap();
    guard.succeeded(attempt, id, now).await.unwrap();
    // A stranger fails from five addresses, one each: no one address is over its budget,
    // but the account's budget for addresses it does not know is spent.
    for n in 10..15 {
        guard.begin(email, address(n), Some(id), now).await.unwrap();
    }
    let refused = guard.begin(email, address(15), Some(id), now).await;
    assert!(refused.is_err(), "a sixth address");
    let refused = guard.begin(email, address(2), Some(id), now).await;
    assert!(refused.is_err(), "Anna from a new address waits too");
    // From home Anna still signs in: the stranger cannot lock her out there.
    let attempt = guard.begin(email, address(1), Some(id), now).await.unwrap();
    guard.succeeded(attempt, id, now).await.unwrap();
    // After 90 days without signing in from there, home is an address like any other.
    let later = now + Duration::days(91);
    for n in 20..25 {
        guard
            .begin(email, address(n), Some(id), later)
            .await
            .unwrap();
    }
    assert!(
        guard
            .begin(email, address(1), Some(id), later)
            .await
            .is_err()
    );
    members.stop().await.unwrap();
}

async fn two_replicas_share_the_budget(backend: Backend) {
    let members = members_with(backend, members_settings().sign_in_limits).await;
    let [anna] = members.register_all(["Anna"]).await.unwrap();
    let id: Uuid = anna.id.parse().unwrap();
    // Two pools on the one database, as two processes of members have.
    let other = Db::connect(members.database_url()).await.unwrap();
    let policy = members_settings().sign_in_limits;
    let replicas = [
        limits(members.db.clone(), policy.clone()),
        limits(other.clone(), policy),
    ];
    let now = members.clock.now();
    let attempts = (0..40).map(|i| replicas[i % 2].begin(&anna.email, address(9), Some(id), now));
    let admitted = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(Result::is_ok)
        .count();
    assert_eq!(admitted, 10);
    other.close().await;
    members.stop().await.unwrap();
}

async fn registrations_are_limited_per_client_address(backend: Backend) {
    let policy = policy(|p| {
        p.registrations_per_address = Budget {
            max: 2,
            window: Duration::hours(1),
        }
    });
    let members = members_with(backend, policy).await;
    members.register_all(["Anna", "Bruno"]).await.unwrap();
    let register = || async {
        let request = pb::RegisterRequest {
            email: "chloe@example.com".to_owned(),
            password: "correct horse battery staple".to_owned(),
            display_name: "Chloé".to_owned(),
            ..Default::default()
        };
        members.anonymous().register(request).await
    };
    let wait = assert_limited(&register().await.unwrap_err());
    assert!(wait <= StdDuration::from_secs(3600), "{wait:?}");
    members.clock.advance(Duration::hours(1));
    register().await.unwrap();
    members.stop().await.unwrap();
}

backend_tests!(
    a_member_gets_ten_wrong_passwords_in_fifteen_minutes_then_waits,
    concurrent_wrong_passwords_get_no_more_hash_checks_than_the_budget,
    an_address_spraying_many_accounts_is_stopped,
    a_stranger_elsewhere_cannot_lock_a_member_out_where_they_sign_in,
    two_replicas_share_the_budget,
    registrations_are_limited_per_client_address,
);
