//! Reminders before the start: a day before to those confirmed by then, two hours before to
//! those still confirmed — here the members who answered after the day-before mark, as the
//! first two cancelled in between.

use chrono::{Duration, TimeZone as _, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;

use crate::checks::Told;
use crate::helpers::{Cast, Plan, World, cancel_rsvp, publish, rsvp};

fn dinner() -> Plan {
    Plan {
        title: "Dîner — Batignolles",
        start: Utc.with_ymd_and_hms(2027, 4, 7, 18, 0, 0).unwrap(),
        when: [
            "Wednesday 7 April 2027 at 20:00",
            "mercredi 7\u{a0}avril 2027 à 20\u{a0}h\u{a0}00",
        ],
        venue: "Les Batignolles",
        address: "8 rue des Batignolles, 75017 Paris",
    }
}

/// Moves the clock to `hours` before the dinner, signs everyone in again, and runs the
/// reminder sweep as the events jobs do; returns how many reminders it sent.
async fn sweep(world: &World, cast: &mut Cast, hours: i64) -> usize {
    world.advance(dinner().start - Duration::hours(hours) - world.now());
    cast.sign_in_again(world).await;
    world
        .events
        .events
        .send_reminders(world.now())
        .await
        .unwrap()
}

/// Amélie and Ben, confirmed days ahead, get the day-before reminder, then cancel; Chloé and
/// Dan, confirmed ten hours before, get only the two-hours-before one. Each once. Meanwhile
/// their booked coffee (`coffee`, the morning after the dinner) reminds Amélie and Ben a day
/// ahead, as any event does.
pub async fn before_the_start(world: &World, cast: &mut Cast, coffee: &str, told: &mut Told) {
    let plan = dinner();
    let id = publish(world, &cast.host, plan.event(10)).await;
    for person in [&cast.amelie, &cast.ben] {
        assert_eq!(rsvp(world, person, &id).await, pb::RsvpStatus::Confirmed);
        told.about(person, Kind::RsvpConfirmed, &id, &plan);
    }
    assert_eq!(sweep(world, cast, 25).await, 0);
    assert_eq!(sweep(world, cast, 24).await, 2);
    for person in [&cast.amelie, &cast.ben] {
        told.about(person, Kind::EventReminder, &id, &plan)
            .says(["starts in 24 hours", "commence dans 24\u{a0}heures"]);
        cancel_rsvp(world, person, &id).await;
    }

    assert_eq!(
        sweep(world, cast, 10).await,
        2,
        "the coffee's day-before reminders"
    );
    let booked = crate::people::booked_coffee();
    for person in [&cast.amelie, &cast.ben] {
        told.about(person, Kind::EventReminder, coffee, &booked)
            .says(["starts in 24 hours", "commence dans 24\u{a0}heures"]);
    }
    for person in [&cast.chloe, &cast.dan] {
        assert_eq!(rsvp(world, person, &id).await, pb::RsvpStatus::Confirmed);
        told.about(person, Kind::RsvpConfirmed, &id, &plan);
    }
    assert_eq!(sweep(world, cast, 2).await, 2);
    for person in [&cast.chloe, &cast.dan] {
        told.about(person, Kind::EventReminder, &id, &plan)
            .says(["starts in 2 hours", "commence dans 2\u{a0}heures"]);
    }
    assert_eq!(sweep(world, cast, 1).await, 0, "each reminder once");
}
