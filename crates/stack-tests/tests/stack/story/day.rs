//! Steps 5 and 6: the start moved, the reminders, the check-in, and who met whom.

use chrono::{DateTime, Duration, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;
use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{http_get, timestamp};
use tonic::Code;

use super::{Network, Seats, end, first_start, moved_start, summary};
use crate::helpers::{Person, World};
use crate::ledger::{Ledger, paris};

/// Anna moves the start to 09:00: everyone seated or waiting is told; her calendar feed and
/// the event's .ics say 09:00.
pub(super) async fn anna_moves_the_start(
    world: &World,
    net: &Network,
    cafe: &str,
    seats: &Seats,
    ledger: &mut Ledger,
) {
    let mut events = net.anna.events(world);
    let current = events
        .get_event(pb::GetEventRequest {
            event_id: cafe.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    events
        .update_event(pb::UpdateEventRequest {
            event: Some(pb::Event {
                start_time: Some(timestamp(moved_start())),
                ..current
            }),
            update_mask: Some(FieldMask {
                paths: vec!["start_time".to_owned()],
            }),
        })
        .await
        .unwrap();
    let detail = format!(
        "{} to {}, time changed: true",
        paris(first_start()),
        paris(moved_start())
    );
    for id in seats.confirmed.iter().chain(&seats.waiting) {
        let person = net.by_id(id);
        if person.id != net.anna.id {
            ledger.expect(person, Kind::EventUpdated, cafe, None, detail.clone());
        }
    }

    let feed = events
        .create_calendar_feed(pb::CreateCalendarFeedRequest {
            request_id: "anna-phone".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .feed
        .unwrap();
    let path = feed
        .url
        .split_once("/calendar/")
        .map(|(_, rest)| format!("/calendar/{rest}"))
        .unwrap();
    let reply = http_get(world.events.feed_addr, &path).await.unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");
    let feed = reply.body;
    let bruno = net.named("Bruno");
    let ics = bruno
        .events(world)
        .export_event_calendar(pb::ExportEventCalendarRequest {
            event_id: cafe.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .ics;
    let ics = String::from_utf8(ics).unwrap();
    for calendar in [&feed, &ics] {
        assert!(
            calendar.contains("DTSTART;TZID=Europe/Paris:20270408T090000"),
            "{calendar}"
        );
        assert!(
            calendar.contains("DTEND;TZID=Europe/Paris:20270408T100000"),
            "{calendar}"
        );
        assert!(!calendar.contains("T083000"), "{calendar}");
        assert!(calendar.contains("Café Saint-Paul"), "{calendar}");
    }
}

/// The reminders are for 09:00: none at the old day-before mark, one to each seated member a
/// day before and two hours before the new start, and never twice.
pub(super) async fn reminders_follow_the_new_start(
    world: &World,
    net: &mut Network,
    cafe: &str,
    seats: &Seats,
    ledger: &mut Ledger,
) {
    let sweep = |at: DateTime<Utc>| async move {
        world.advance(at - world.now());
        world
            .events
            .events
            .send_reminders(world.now())
            .await
            .unwrap()
    };
    assert_eq!(sweep(first_start() - Duration::hours(24)).await, 0);
    assert_eq!(sweep(moved_start() - Duration::hours(24)).await, 20);
    assert_eq!(sweep(moved_start() - Duration::hours(3)).await, 0);
    assert_eq!(sweep(moved_start() - Duration::hours(2)).await, 20);
    assert_eq!(
        sweep(moved_start() - Duration::minutes(90)).await,
        0,
        "each once"
    );
    for id in &seats.confirmed {
        for minutes in [1440, 120] {
            let detail = format!("{}, {minutes} min before", paris(moved_start()));
            ledger.expect(net.by_id(id), Kind::EventReminder, cafe, None, detail);
        }
    }
    net.sign_in_again(world).await;
    let bruno = net.named("Bruno");
    let mine = bruno
        .events(world)
        .get_rsvp(pb::GetRsvpRequest {
            event_id: cafe.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .rsvp
        .unwrap();
    let times: Vec<i64> = mine.reminder_times.iter().map(|t| t.seconds).collect();
    let wanted = [24, 2].map(|h| (moved_start() - Duration::hours(h)).timestamp());
    assert_eq!(times, wanted);
}

/// Ten minutes before the start: Anna, Bruno, Chloé and Karim check in with the code, and so
/// do three more; Anna checks two in, Karim (who may only check people in) one. A member
/// still waiting cannot. Returns the ten in the room.
pub(super) async fn people_check_in(
    world: &World,
    net: &mut Network,
    cafe: &str,
    seats: &Seats,
) -> Vec<String> {
    world.advance(moved_start() - Duration::minutes(10) - world.now());
    net.sign_in_again(world).await;
    let net: &Network = net;
    let code = net
        .anna
        .events(world)
        .get_check_in_code(pb::GetCheckInCodeRequest {
            event_id: cafe.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .code;
    let check_in = |by: &Person, target: pb::check_in_request::Target| {
        let mut client = by.events(world);
        let request = pb::CheckInRequest {
            event_id: cafe.to_owned(),
            target: Some(target),
        };
        async move { client.check_in(request).await }
    };
    let by_code = || pb::check_in_request::Target::Code(code.clone());
    let as_member = |p: &Person| pb::check_in_request::Target::MemberId(p.id.clone());

    let stay_away = [net.named("Nora").id.clone(), net.named("Owen").id.clone()];
    let others: Vec<&Person> = seats.confirmed[4..]
        .iter()
        .filter(|id| !stay_away.contains(id))
        .map(|id| net.by_id(id))
        .collect();
    let karim = net.named("Karim");
    let mut came = Vec::new();
    for person in [&net.anna, &net.paris[0], &net.paris[1], karim]
        .into_iter()
        .chain(others[..3].iter().copied())
    {
        check_in(person, by_code()).await.unwrap();
        came.push(person.id.clone());
    }
    for person in &others[3..5] {
        check_in(&net.anna, as_member(person)).await.unwrap();
        came.push(person.id.clone());
    }
    check_in(karim, as_member(others[5])).await.unwrap();
    came.push(others[5].id.clone());
    let waiting = net.by_id(&seats.waiting[0]);
    let refused = check_in(waiting, by_code()).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    came
}

/// Past the end and its grace period, the clock completes the café. Ten checked in, so it
/// counts as small: connected pairs are marked met at once. Each of the ten is asked whom they
/// met; those not connected are asked to connect.
pub(super) async fn the_cafe_completes_and_who_met_is_recorded(
    world: &World,
    net: &mut Network,
    cafe: &str,
    came: &[String],
    ledger: &mut Ledger,
) {
    let grace = rendezvous_events::Settings::default().complete_grace;
    world.advance(end() + grace + Duration::minutes(1) - world.now());
    assert_eq!(
        world.events.events.complete_due(world.now()).await.unwrap(),
        1
    );
    net.sign_in_again(world).await;
    let done = summary(world, &net.anna, cafe).await;
    assert_eq!((done.checked_in_count, done.no_show_count), (10, 10));

    let net: &Network = net;
    let connected = |a: &Person, b: &Person| {
        let pair = [a.name, b.name];
        let knew = [
            ["Bruno Lefèvre", "Chloé Bernard"],
            ["Dara Nguyen", "Nora Wilson"],
            ["Dara Nguyen", "Owen Hughes"],
        ];
        a.id == net.anna.id
            || b.id == net.anna.id
            || knew
                .iter()
                .any(|k| k.contains(&pair[0]) && k.contains(&pair[1]))
    };
    for id in came {
        let person = net.by_id(id);
        ledger.expect(person, Kind::MeetingFollowUp, cafe, None, "9 others");
        for other_id in came.iter().filter(|o| *o != id) {
            let other = net.by_id(other_id);
            let kind = if connected(person, other) {
                Kind::MetInPerson
            } else {
                Kind::ConnectSuggestion
            };
            ledger.expect(person, kind, cafe, Some(other), "");
        }
    }
}

// --- Step 7 ------------------------------------------------------------------------------
