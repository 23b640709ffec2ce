//! Capacity is enforced by the database under concurrency, on both backends: RSVPs admitted
//! through the per-event batcher against a real SQLite file or PostgreSQL database.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use futures::future::join_all;
use rendezvous_common::clock::Clock;
use rendezvous_common::db::Db;
use rendezvous_events::admission::Admission;
use rendezvous_events::domain::rsvp::{Intent, RsvpState, WaitlistMode};
use rendezvous_events::store::{AdmitRequest, MIGRATIONS, RsvpRefusal, RsvpRow, Store};
use rendezvous_proto::notifications::v1::notice;
use rendezvous_testkit::event_store::{going, publish_new_event};
use rendezvous_testkit::{Backend, TestDb, backend_tests, outbox_keys_and_notices};
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

/// A small deterministic generator (xorshift), so a failing round can be replayed.
struct Draws(u64);

impl Draws {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The seat counters of `event`'s row: confirmed, offered, wait-listed.
async fn counters(store: &Store, event: Uuid) -> (i64, i64, i64) {
    let e = store.event(event).await.unwrap().unwrap();
    (e.confirmed_count, e.offered_count, e.waitlisted_count)
}

/// The outbox rows of `event`'s RSVP and promotion notices, with its id written as `E`: each
/// row's key and what it tells.
async fn notices_of(store: &Store, event: Uuid) -> Vec<String> {
    let mut told = Vec::new();
    for prefix in ["rsvp", "promoted"] {
        for (key, notice) in
            outbox_keys_and_notices(store.db(), &format!("{prefix}:{event}:")).await
        {
            // The notice's kind, and the place in line it tells (the event's facts differ).
            let told_as = match notice.notice {
                Some(notice::Notice::RsvpWaitlisted(waitlisted)) => {
                    format!("wait-listed at {}", waitlisted.position)
                }
                other => format!("{other:?}")
                    .split('(')
                    .nth(1)
                    .unwrap_or("")
                    .to_owned(),
            };
            told.push(format!("{key} {told_as}").replace(&event.to_string(), "E"));
        }
    }
    told
}

/// Admitted as one batch, a run of answers to two events (members answering twice, seats
/// freed and taken, offers) ends exactly where the same answers admitted one at a time end:
/// each member's RSVP, arrival number and place in line, the counters, and every notice with
/// its place. Each answer of the batch is told what its RSVP became once the batch is in;
/// answers in the same batch to an event that does not exist are refused, alone.
async fn a_batch_ends_where_the_same_answers_one_at_a_time_end(backend: Backend) {
    let f = fixture(backend).await;
    let mut draws = Draws(0x9E37_79B9_7F4A_7C15);
    for round in 0..12 {
        let capacity = 1 + u32::try_from(round % 3).unwrap();
        let window = (round % 2 == 1).then(|| Duration::minutes(30));
        let mut batched = Vec::new();
        let mut single = Vec::new();
        for _ in 0..2 {
            batched.push(published_event(&f.store, capacity, window).await);
            single.push(published_event(&f.store, capacity, window).await);
        }
        let members: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
        let mut answers = (0..24).map(|_| {
            let event = usize::try_from(draws.below(2)).unwrap();
            let member = members[usize::try_from(draws.below(6)).unwrap()];
            let intent = if draws.below(3) == 0 {
                Intent::NotGoing
            } else {
                Intent::Going
            };
            let answer = AdmitRequest {
                intent,
                ..going(&member)
            };
            (event, answer)
        });
        let now = Utc::now();
        // Some RSVPs stand before the batch, the same on both sides.
        for (event, answer) in answers.by_ref().take(6) {
            for side in [&batched, &single] {
                let one = std::slice::from_ref(&answer);
                f.store.admit(side[event], one, now).await.unwrap();
            }
        }
        let batch: Vec<(usize, AdmitRequest)> = answers.collect();
        for (event, answer) in &batch {
            let one = std::slice::from_ref(answer);
            f.store.admit(single[*event], one, now).await.unwrap();
        }
        let nowhere = Uuid::now_v7();
        let mut in_one: Vec<(Uuid, AdmitRequest)> = batch
            .iter()
            .map(|(event, answer)| (batched[*event], answer.clone()))
            .collect();
        in_one.insert(3, (nowhere, going(&members[0])));
        let outcomes = f.store.admit_all(&in_one, now).await.unwrap();
        assert_eq!(outcomes.len(), in_one.len());
        for ((event, answer), outcome) in in_one.iter().zip(&outcomes) {
            if *event == nowhere {
                assert_eq!(outcome, &Err(RsvpRefusal::NoEvent), "round {round}");
                continue;
            }
            let outcome = outcome.as_ref().unwrap();
            let row = f.store.rsvp_of(*event, answer.member_id).await.unwrap();
            let row = row.unwrap();
            assert_eq!(
                (outcome.state, outcome.waitlist_position),
                (row.state, row.waitlist_position),
                "round {round}: the answer of {} as read back",
                answer.member_id
            );
        }
        for (one, other) in batched.iter().zip(&single) {
            for member in &members {
                let facts = |row: Option<RsvpRow>| {
                    row.map(|r| (r.state, r.seq, r.waitlist_position, r.offer_expires_at))
                };
                assert_eq!(
                    facts(f.store.rsvp_of(*one, *member).await.unwrap()),
                    facts(f.store.rsvp_of(*other, *member).await.unwrap()),
                    "round {round}: {member}"
                );
            }
            assert_eq!(
                counters(&f.store, *one).await,
                counters(&f.store, *other).await,
                "round {round}"
            );
            assert_eq!(
                notices_of(&f.store, *one).await,
                notices_of(&f.store, *other).await,
                "round {round}"
            );
        }
    }
}

backend_tests!(
    a_batch_ends_where_the_same_answers_one_at_a_time_end,
    two_hundred_simultaneous_rsvps_fill_fifty_seats_and_queue_the_rest_in_order,
    cancellations_racing_new_rsvps_never_exceed_capacity_and_promote_in_order,
    one_member_sending_fifty_rsvps_at_once_gets_one_rsvp,
    in_offer_mode_a_freed_seat_is_offered_to_the_first_in_line,
);
