//! Reminders 24 h and 2 h before the start, once per confirmed attendee per start time: the
//! sweep run on the manual clock, the outbox read back, and `reminder_times` in GetRsvp.

use chrono::{DateTime, Duration, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_proto::notifications::v1::notice::Notice as Variant;
use rendezvous_proto::prost_types::{Duration as PbDuration, FieldMask};
use rendezvous_testkit::{
    Backend, EventClient, TestMember, backend_tests, outbox_notices_keyed, timestamp,
};

use crate::events::get_rsvp;
use crate::helpers::{World, create, event, morning, publish, published, rsvp};

fn now0() -> DateTime<Utc> {
    morning(2027, 4, 5)
}

/// The usual event's start: three days ahead.
fn start() -> DateTime<Utc> {
    now0() + Duration::days(3)
}

const DAY: u32 = 24 * 60;
const TWO_HOURS: u32 = 2 * 60;

/// The reminders `member` was sent about `event_id`: (minutes before, start), in outbox order.
async fn reminders(world: &World, event_id: &str, member: &TestMember) -> Vec<(u32, i64)> {
    let prefix = format!("reminder:{event_id}:{}:", member.id);
    outbox_notices_keyed(&world.events.db, &prefix)
        .await
        .into_iter()
        .map(|n| match n.notice.unwrap() {
            Variant::EventReminder(r) => {
                let facts = r.event.unwrap();
                assert_eq!(facts.event_id, event_id);
                assert_eq!(facts.title, "Café networking — Le Marais");
                (r.minutes_before, facts.start_time.unwrap().seconds)
            }
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Moves the clock to `at` and runs the reminder sweep there; returns how many it sent.
async fn sweep_at(world: &World, at: DateTime<Utc>) -> usize {
    world.clock.advance(at - world.clock.now());
    world.events.events.send_reminders(at).await.unwrap()
}

/// `member`'s RSVP as they read it (with a fresh token: the tests move the clock).
async fn own_rsvp(world: &World, member: &TestMember, event_id: &str) -> pb::Rsvp {
    get_rsvp(&world.client(member).await.unwrap(), event_id).await
}

fn times(rsvp: &pb::Rsvp) -> Vec<i64> {
    rsvp.reminder_times.iter().map(|t| t.seconds).collect()
}

async fn cancel_rsvp(world: &World, member: &TestMember, event_id: &str) {
    let client = world.client(member).await.unwrap();
    client
        .clone()
        .cancel_rsvp(pb::CancelRsvpRequest {
            event_id: event_id.to_owned(),
        })
        .await
        .unwrap();
}

async fn move_start(host: &EventClient, event_id: &str, to: DateTime<Utc>) {
    host.clone()
        .update_event(pb::UpdateEventRequest {
            event: Some(pb::Event {
                id: event_id.to_owned(),
                start_time: Some(timestamp(to)),
                end_time: Some(timestamp(to + Duration::minutes(90))),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["start_time".into(), "end_time".into()],
            }),
        })
        .await
        .unwrap();
}

async fn each_confirmed_attendee_is_reminded_a_day_and_two_hours_before_once(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Hana Host").await.unwrap();
    let e = published(&host, start(), 10, Vis::Public).await;
    let (ama, ama_events) = world.member("Ama").await.unwrap();
    let (ben, ben_events) = world.member("Ben").await.unwrap();
    let confirmed = rsvp(&ama_events, &e.id).await;
    rsvp(&ben_events, &e.id).await;
    let (day_before, two_before) = (start() - Duration::hours(24), start() - Duration::hours(2));
    assert_eq!(
        times(&confirmed),
        vec![day_before.timestamp(), two_before.timestamp()]
    );

    assert_eq!(sweep_at(&world, day_before - Duration::minutes(1)).await, 0);
    assert_eq!(sweep_at(&world, day_before).await, 2);
    for at in [
        day_before,
        day_before + Duration::hours(1),
        two_before - Duration::minutes(1),
    ] {
        assert_eq!(sweep_at(&world, at).await, 0, "at {at}");
    }
    assert_eq!(sweep_at(&world, two_before).await, 2);
    for at in [two_before, start() - Duration::minutes(1), start()] {
        assert_eq!(sweep_at(&world, at).await, 0, "at {at}");
    }
    let s = start().timestamp();
    for member in [&ama, &ben] {
        assert_eq!(
            reminders(&world, &e.id, member).await,
            vec![(DAY, s), (TWO_HOURS, s)]
        );
    }
    assert_eq!(
        times(&own_rsvp(&world, &ama, &e.id).await),
        vec![day_before.timestamp(), two_before.timestamp()],
        "sent reminders stay listed"
    );
    world.stop().await.unwrap();
}

async fn a_reminder_the_sweep_missed_by_hours_is_dropped_not_sent_stale(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Hana Host").await.unwrap();
    let e = published(&host, start(), 10, Vis::Public).await;
    let (ama, ama_events) = world.member("Ama").await.unwrap();
    rsvp(&ama_events, &e.id).await;
    // The jobs were down from a day before until three hours before: "starts in 24 hours"
    // would be untrue, so nothing goes; the 2 h reminder still comes at its time.
    assert_eq!(sweep_at(&world, start() - Duration::hours(3)).await, 0);
    assert_eq!(sweep_at(&world, start() - Duration::hours(2)).await, 1);
    let s = start().timestamp();
    assert_eq!(reminders(&world, &e.id, &ama).await, vec![(TWO_HOURS, s)]);
    world.stop().await.unwrap();
}

async fn a_moved_start_gets_fresh_reminders_and_the_old_one_none(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host_member, host) = world.member("Hana Host").await.unwrap();
    let e = published(&host, start(), 10, Vis::Public).await;
    let (ama, ama_events) = world.member("Ama").await.unwrap();
    rsvp(&ama_events, &e.id).await;
    assert_eq!(sweep_at(&world, start() - Duration::hours(24)).await, 1);

    // An hour after the day-before reminder, the start moves five hours later: both of the
    // new start's reminders are still ahead.
    sweep_at(&world, start() - Duration::hours(23)).await;
    let later = start() + Duration::hours(5);
    let host = world.client(&host_member).await.unwrap();
    move_start(&host, &e.id, later).await;
    assert_eq!(
        times(&own_rsvp(&world, &ama, &e.id).await),
        vec![
            (later - Duration::hours(24)).timestamp(),
            (later - Duration::hours(2)).timestamp()
        ]
    );
    assert_eq!(
        sweep_at(&world, later - Duration::hours(24) - Duration::minutes(1)).await,
        0
    );
    assert_eq!(sweep_at(&world, later - Duration::hours(24)).await, 1);
    // The old start's 2 h reminder is never sent.
    assert_eq!(sweep_at(&world, start() - Duration::hours(2)).await, 0);
    assert_eq!(sweep_at(&world, later - Duration::hours(2)).await, 1);
    assert_eq!(sweep_at(&world, later - Duration::hours(1)).await, 0);

    // Then it moves into the next day: only its 2 h reminder is still ahead.
    let soon = later + Duration::hours(10);
    let host = world.client(&host_member).await.unwrap();
    move_start(&host, &e.id, soon).await;
    assert_eq!(
        times(&own_rsvp(&world, &ama, &e.id).await),
        vec![(soon - Duration::hours(2)).timestamp()]
    );
    assert_eq!(sweep_at(&world, soon - Duration::hours(3)).await, 0);
    assert_eq!(sweep_at(&world, soon - Duration::hours(2)).await, 1);

    let (s, l, n) = (start().timestamp(), later.timestamp(), soon.timestamp());
    assert_eq!(
        reminders(&world, &e.id, &ama).await,
        vec![(DAY, s), (DAY, l), (TWO_HOURS, l), (TWO_HOURS, n)]
    );
    world.stop().await.unwrap();
}

async fn a_cancelled_rsvp_or_event_gets_none(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host_member, host) = world.member("Hana Host").await.unwrap();
    let e = published(&host, start(), 10, Vis::Public).await;
    let other = published(&host, start(), 10, Vis::Public).await;
    let (early, early_events) = world.member("Early Canceller").await.unwrap();
    let (late, late_events) = world.member("Late Canceller").await.unwrap();
    let (ama, ama_events) = world.member("Ama").await.unwrap();
    rsvp(&early_events, &e.id).await;
    rsvp(&late_events, &e.id).await;
    rsvp(&ama_events, &other.id).await;
    cancel_rsvp(&world, &early, &e.id).await;
    assert!(
        own_rsvp(&world, &early, &e.id)
            .await
            .reminder_times
            .is_empty()
    );

    sweep_at(&world, start() - Duration::hours(24)).await;
    cancel_rsvp(&world, &late, &e.id).await;
    let host = world.client(&host_member).await.unwrap();
    host.clone()
        .cancel_event(pb::CancelEventRequest {
            event_id: other.id.clone(),
            reason: "rain".into(),
            etag: String::new(),
        })
        .await
        .unwrap();
    assert!(
        own_rsvp(&world, &ama, &other.id)
            .await
            .reminder_times
            .is_empty()
    );
    assert_eq!(sweep_at(&world, start() - Duration::hours(2)).await, 0);
    sweep_at(&world, start() - Duration::minutes(5)).await;

    let s = start().timestamp();
    assert!(reminders(&world, &e.id, &early).await.is_empty());
    assert_eq!(reminders(&world, &e.id, &late).await, vec![(DAY, s)]);
    assert_eq!(reminders(&world, &other.id, &ama).await, vec![(DAY, s)]);
    world.stop().await.unwrap();
}

/// `draft` (capacity 1) published with `first` in its seat and `next` wait-listed.
async fn full_event(
    world: &World,
    host: &EventClient,
    draft: pb::Event,
    [first, next]: [&str; 2],
) -> (String, TestMember, TestMember) {
    let e = create(host, draft).await;
    publish(host, &e.id).await;
    let (first, first_events) = world.member(first).await.unwrap();
    let (next, next_events) = world.member(next).await.unwrap();
    rsvp(&first_events, &e.id).await;
    let waiting = rsvp(&next_events, &e.id).await;
    assert_eq!(waiting.status(), pb::RsvpStatus::Waitlisted);
    assert!(waiting.reminder_times.is_empty());
    (e.id, first, next)
}

async fn confirmed_later_gets_only_the_reminders_still_ahead(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host_member, host) = world.member("Hana Host").await.unwrap();
    let two_before = start() - Duration::hours(2);
    let (promoted_in, seated, promoted) = full_event(
        &world,
        &host,
        event(start(), 1, Vis::Public),
        ["Ama", "Ben"],
    )
    .await;
    let mut offer = event(start(), 1, Vis::Public);
    offer.waitlist_mode = pb::WaitlistMode::Offer.into();
    offer.offer_window = Some(PbDuration {
        seconds: 3600,
        nanos: 0,
    });
    let (claimed_in, holder, claimer) = full_event(&world, &host, offer, ["Cleo", "Dan"]).await;
    let mut approval = event(start(), 10, Vis::Public);
    approval.approval_required = true;
    let approved_in = create(&host, approval).await.id;
    publish(&host, &approved_in).await;
    let (approved, approved_events) = world.member("Eve").await.unwrap();
    rsvp(&approved_events, &approved_in).await;
    let direct_in = published(&host, start(), 10, Vis::Public).await.id;
    assert_eq!(sweep_at(&world, start() - Duration::hours(24)).await, 2);

    // Ten hours before: a seat passes on, an offer is claimed, the host approves, and a
    // member answers for the first time.
    sweep_at(&world, start() - Duration::hours(10)).await;
    cancel_rsvp(&world, &seated, &promoted_in).await;
    cancel_rsvp(&world, &holder, &claimed_in).await;
    world
        .client(&claimer)
        .await
        .unwrap()
        .claim_offer(pb::ClaimOfferRequest {
            event_id: claimed_in.clone(),
        })
        .await
        .unwrap();
    let host = world.client(&host_member).await.unwrap();
    host.clone()
        .approve_rsvp(pb::ApproveRsvpRequest {
            event_id: approved_in.clone(),
            member_id: approved.id.clone(),
        })
        .await
        .unwrap();
    let (direct, _) = world.member("Finn").await.unwrap();
    rsvp(&world.client(&direct).await.unwrap(), &direct_in).await;
    let members = [
        (&promoted_in, &promoted),
        (&claimed_in, &claimer),
        (&approved_in, &approved),
        (&direct_in, &direct),
    ];
    for (event_id, member) in members {
        let now = own_rsvp(&world, member, event_id).await;
        assert_eq!(now.status(), pb::RsvpStatus::Confirmed);
        assert_eq!(times(&now), vec![two_before.timestamp()], "{}", member.id);
    }

    assert_eq!(sweep_at(&world, two_before - Duration::minutes(1)).await, 0);
    assert_eq!(sweep_at(&world, two_before).await, 4);
    let s = start().timestamp();
    for (event_id, member) in members {
        assert_eq!(
            reminders(&world, event_id, member).await,
            vec![(TWO_HOURS, s)],
            "{}",
            member.id
        );
    }
    for (event_id, member) in [(&promoted_in, &seated), (&claimed_in, &holder)] {
        assert_eq!(reminders(&world, event_id, member).await, vec![(DAY, s)]);
    }

    // Confirmed after the 2 h mark: none at all, not even late.
    sweep_at(&world, two_before + Duration::minutes(1)).await;
    let (last, _) = world.member("Gus").await.unwrap();
    let confirmed = rsvp(&world.client(&last).await.unwrap(), &direct_in).await;
    assert_eq!(confirmed.status(), pb::RsvpStatus::Confirmed);
    assert!(confirmed.reminder_times.is_empty());
    assert_eq!(sweep_at(&world, start() - Duration::minutes(30)).await, 0);
    assert!(reminders(&world, &direct_in, &last).await.is_empty());
    world.stop().await.unwrap();
}

async fn waitlisted_and_declined_get_none(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Hana Host").await.unwrap();
    let full = published(&host, start(), 1, Vis::Public).await;
    let (_, seated) = world.member("Seated").await.unwrap();
    let (waiting, waiting_events) = world.member("Waiting").await.unwrap();
    rsvp(&seated, &full.id).await;
    rsvp(&waiting_events, &full.id).await;
    let mut approval = event(start(), 10, Vis::Public);
    approval.approval_required = true;
    let picky = create(&host, approval).await;
    publish(&host, &picky.id).await;
    let (declined, declined_events) = world.member("Declined").await.unwrap();
    let (pending, pending_events) = world.member("Pending").await.unwrap();
    rsvp(&declined_events, &picky.id).await;
    rsvp(&pending_events, &picky.id).await;
    host.clone()
        .decline_rsvp(pb::DeclineRsvpRequest {
            event_id: picky.id.clone(),
            member_id: declined.id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap();

    assert_eq!(sweep_at(&world, start() - Duration::hours(24)).await, 1);
    assert_eq!(sweep_at(&world, start() - Duration::hours(2)).await, 1);
    assert!(reminders(&world, &full.id, &waiting).await.is_empty());
    assert!(reminders(&world, &picky.id, &declined).await.is_empty());
    assert!(reminders(&world, &picky.id, &pending).await.is_empty());
    for (member, event_id) in [
        (&waiting, &full.id),
        (&declined, &picky.id),
        (&pending, &picky.id),
    ] {
        assert!(
            own_rsvp(&world, member, event_id)
                .await
                .reminder_times
                .is_empty()
        );
    }
    world.stop().await.unwrap();
}

async fn offsets_are_configurable(backend: Backend) {
    let settings = rendezvous_events::Settings {
        reminder_offsets: "10m,5m".parse().unwrap(),
        ..rendezvous_testkit::events_settings()
    };
    let world = World::start_with(backend, now0(), settings).await.unwrap();
    let (_, host) = world.member("Hana Host").await.unwrap();
    let soon = now0() + Duration::hours(1);
    let e = published(&host, soon, 10, Vis::Public).await;
    let (ama, ama_events) = world.member("Ama").await.unwrap();
    let confirmed = rsvp(&ama_events, &e.id).await;
    let (ten, five) = (soon - Duration::minutes(10), soon - Duration::minutes(5));
    assert_eq!(times(&confirmed), vec![ten.timestamp(), five.timestamp()]);
    assert_eq!(sweep_at(&world, soon - Duration::hours(2)).await, 0);
    assert_eq!(sweep_at(&world, ten).await, 1);
    assert_eq!(sweep_at(&world, five).await, 1);
    assert_eq!(
        reminders(&world, &e.id, &ama).await,
        vec![(10, soon.timestamp()), (5, soon.timestamp())]
    );
    world.stop().await.unwrap();
}

backend_tests!(
    a_reminder_the_sweep_missed_by_hours_is_dropped_not_sent_stale,
    each_confirmed_attendee_is_reminded_a_day_and_two_hours_before_once,
    a_moved_start_gets_fresh_reminders_and_the_old_one_none,
    a_cancelled_rsvp_or_event_gets_none,
    confirmed_later_gets_only_the_reminders_still_ahead,
    waitlisted_and_declined_get_none,
    offsets_are_configurable,
);
