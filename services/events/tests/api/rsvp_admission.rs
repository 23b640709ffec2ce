//! Capacity is enforced by the database under concurrency, on both backends: RSVPs admitted
//! through the per-event batcher against a real SQLite file or PostgreSQL database.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;
use futures::future::join_all;
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_events::admission::Admission;
use rendezvous_events::domain::rsvp::{Intent, RsvpState, WaitlistMode};
use rendezvous_events::store::{AdmitRequest, MIGRATIONS, Store};
use rendezvous_testkit::event_store::{going, publish_new_event};
use rendezvous_testkit::{Backend, TestDb, backend_tests};
use uuid::Uuid;

struct Fixture {
    store: Store,
    admission: Arc<Admission>,
    _db: TestDb,
}

async fn fixture(backend: Backend) -> Fixture {
    rendezvous_common::telemetry::init_for_tests();
    let test_db = TestDb::new(backend).await.unwrap();
    let db = Db::connect(&test_db.url).await.unwrap();
    db.migrate(&MIGRATIONS).await.unwrap();
    let store = Store::new(db);
    let admission = Admission::new(store.clone(), Clock::system(), 32);
    Fixture {
        store,
        admission,
        _db: test_db,
    }
}

async fn published_event(store: &Store, capacity: u32, offer_window: Option<Duration>) -> Uuid {
    let waitlist = offer_window.map_or(WaitlistMode::Automatic, |window| WaitlistMode::Offer {
        window,
    });
    publish_new_event(store, capacity, waitlist).await.unwrap()
}

async fn counts(store: &Store, event: Uuid) -> (i64, i64) {
    let counts = store.status_counts(event).await.unwrap();
    let get = |name: &str| {
        counts
            .iter()
            .find(|(s, _)| s == name)
            .map_or(0, |(_, n)| *n)
    };
    (get("confirmed"), get("waitlisted"))
}

async fn two_hundred_simultaneous_rsvps_fill_fifty_seats_and_queue_the_rest_in_order(
    backend: Backend,
) {
    let f = fixture(backend).await;
    for _ in 0..3 {
        let event = published_event(&f.store, 50, None).await;
        let members: Vec<Uuid> = (0..200).map(|_| Uuid::now_v7()).collect();
        let results = join_all(members.iter().map(|m| f.admission.admit(event, going(m)))).await;
        let outcomes: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
        let confirmed = outcomes
            .iter()
            .filter(|o| o.state == RsvpState::Confirmed)
            .count();
        let positions: BTreeSet<u32> = outcomes
            .iter()
            .filter_map(|o| o.waitlist_position)
            .collect();
        assert_eq!(confirmed, 50);
        assert_eq!(positions, (1..=150).collect::<BTreeSet<u32>>());
        assert_eq!(counts(&f.store, event).await, (50, 150));
    }
}

async fn cancellations_racing_new_rsvps_never_exceed_capacity_and_promote_in_order(
    backend: Backend,
) {
    let f = fixture(backend).await;
    for _ in 0..3 {
        let event = published_event(&f.store, 50, None).await;
        let first: Vec<Uuid> = (0..80).map(|_| Uuid::now_v7()).collect();
        // Admit in a known order so the wait-list order is known.
        for m in &first {
            f.admission.admit(event, going(m)).await.unwrap();
        }
        assert_eq!(counts(&f.store, event).await, (50, 30));
        let newcomers: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
        let cancels = first[..30].iter().map(|m| {
            f.admission.admit(
                event,
                AdmitRequest {
                    intent: Intent::NotGoing,
                    ..going(m)
                },
            )
        });
        let joins = newcomers.iter().map(|m| f.admission.admit(event, going(m)));
        let (a, b) = futures::join!(join_all(cancels), join_all(joins));
        assert!(a.into_iter().chain(b).all(|r| r.is_ok()));
        let (confirmed, waitlisted) = counts(&f.store, event).await;
        assert_eq!(confirmed, 50);
        assert_eq!(waitlisted, 50);
        // The 30 first wait-listed (arrival 51..80) were promoted before any newcomer.
        for m in &first[50..80] {
            let outcome = f.admission.admit(event, going(m)).await.unwrap();
            assert_eq!(
                outcome.state,
                RsvpState::Confirmed,
                "{m} was wait-listed early"
            );
        }
    }
}

async fn one_member_sending_fifty_rsvps_at_once_gets_one_rsvp(backend: Backend) {
    let f = fixture(backend).await;
    for _ in 0..3 {
        let event = published_event(&f.store, 10, None).await;
        let member = Uuid::now_v7();
        let results = join_all((0..50).map(|_| f.admission.admit(event, going(&member)))).await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(o) if o.state == RsvpState::Confirmed))
        );
        assert_eq!(counts(&f.store, event).await, (1, 0));
    }
}

async fn in_offer_mode_a_freed_seat_is_offered_to_the_first_in_line(backend: Backend) {
    let f = fixture(backend).await;
    let event = published_event(&f.store, 1, Some(Duration::minutes(30))).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    assert_eq!(
        f.admission.admit(event, going(&a)).await.unwrap().state,
        RsvpState::Confirmed
    );
    let waiting = f.admission.admit(event, going(&b)).await.unwrap();
    assert_eq!(
        (waiting.state, waiting.waitlist_position),
        (RsvpState::Waitlisted, Some(1))
    );
    f.admission
        .admit(
            event,
            AdmitRequest {
                intent: Intent::NotGoing,
                ..going(&a)
            },
        )
        .await
        .unwrap();
    let offered = f.admission.admit(event, going(&b)).await.unwrap();
    assert_eq!(offered.state, RsvpState::Offered);
    assert!(offered.offer_expires_at.is_some());
}

backend_tests!(
    two_hundred_simultaneous_rsvps_fill_fifty_seats_and_queue_the_rest_in_order,
    cancellations_racing_new_rsvps_never_exceed_capacity_and_promote_in_order,
    one_member_sending_fifty_rsvps_at_once_gets_one_rsvp,
    in_offer_mode_a_freed_seat_is_offered_to_the_first_in_line,
);
