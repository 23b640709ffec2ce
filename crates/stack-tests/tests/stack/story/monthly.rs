//! Steps 8 and 9: the monthly series, and the next café's count of people not yet met.

use chrono::{DateTime, TimeZone as _, Timelike as _, Utc};
use chrono_tz::Europe::Paris;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::notifications::v1::NotificationKind as Kind;
use rendezvous_testkit::{first_thursdays, paris_series, timestamp};

use super::{JOINERS, Network, TITLE, first_start, rsvp, summary, venue};
use crate::helpers::World;
use crate::ledger::{Ledger, paris};

/// Anna makes the café monthly, every first Thursday at 08:30 Paris time from May to
/// November; the occurrences within 90 days are published at once and the chapter is told of
/// each. Returns the series' id.
pub(super) async fn the_chapter_meets_monthly(
    world: &World,
    net: &Network,
    chapter: &pb::Chapter,
    ledger: &mut Ledger,
) -> String {
    let created = net
        .anna
        .events(world)
        .create_series(pb::CreateSeriesRequest {
            series: Some(pb::Series {
                chapter_id: chapter.id.clone(),
                template: Some(pb::EventTemplate {
                    title: TITLE.to_owned(),
                    kind: pb::EventKind::Coffee.into(),
                    venue: Some(venue()),
                    capacity: 20,
                    visibility: pb::EventVisibility::Chapter.into(),
                    ..Default::default()
                }),
                ..paris_series(first_thursdays(7), "2027-05-01", TITLE)
            }),
            request_id: "first-thursdays".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    // 8 April + 90 days reaches July.
    assert_eq!(created.event_ids.len(), 3);
    let series = created.series.unwrap().id;
    label_occurrences(world, net, &series, ledger).await;
    series
}

/// Labels the series' occurrences not yet labelled, and expects the chapter to be told of each.
pub(super) async fn label_occurrences(
    world: &World,
    net: &Network,
    series: &str,
    ledger: &mut Ledger,
) -> Vec<pb::Event> {
    let occurrences = net
        .anna
        .events(world)
        .list_events(pb::ListEventsRequest {
            series_id: series.to_owned(),
            start_after: Some(timestamp(first_start())),
            page_size: 50,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    for event in &occurrences {
        let start = DateTime::from_timestamp(event.start_time.unwrap().seconds, 0).unwrap();
        if ledger.labels(&event.id) {
            continue;
        }
        ledger.event(&event.id, format!("the café of {}", paris(start)));
        for joiner in JOINERS.map(|name| net.named(name)) {
            let told = format!("Rendezvous Paris {}", paris(start));
            ledger.expect(joiner, Kind::ChapterNewEvent, &event.id, None, told);
        }
    }
    occurrences
}

/// The May café: Bruno, whom Anna met, Nora (seen by her connections) and Owen (seen by
/// the hosts only), whom neither Anna nor Dara has met, and Olivier, who is no connection of
/// theirs, are going. Dara sees two of her not-yet-met connections going, and Nora's name;
/// Anna, the host, sees both names; Chloé, who met all her connections, sees none.
pub(super) async fn the_next_cafe_counts_unmet_connections(
    world: &World,
    net: &Network,
    series: &str,
    came: &[String],
    ledger: &mut Ledger,
) {
    let may = net
        .anna
        .events(world)
        .list_events(pb::ListEventsRequest {
            series_id: series.to_owned(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .remove(0);
    let may_start = DateTime::from_timestamp(may.start_time.unwrap().seconds, 0).unwrap();
    let (nora, owen) = (net.named("Nora"), net.named("Owen"));
    assert!(!came.contains(&nora.id) && !came.contains(&owen.id));
    let going = [
        (net.named("Bruno"), pb::RsvpVisibility::Public),
        (nora, pb::RsvpVisibility::Connections),
        (owen, pb::RsvpVisibility::Nobody),
        (&net.olivier, pb::RsvpVisibility::Public),
    ];
    for (person, visibility) in going {
        let answer = rsvp(world, person, &may.id, visibility).await;
        assert_eq!(answer.status(), pb::RsvpStatus::Confirmed);
        ledger.expect(person, Kind::RsvpConfirmed, &may.id, None, paris(may_start));
    }
    let dara = summary(world, net.named("Dara"), &may.id).await;
    assert_eq!(dara.confirmed_count, 4);
    assert_eq!(dara.unmet_connections_going_count, 2);
    assert_eq!(
        dara.visible_unmet_connection_ids,
        std::slice::from_ref(&nora.id)
    );
    let anna = summary(world, &net.anna, &may.id).await;
    assert_eq!(anna.unmet_connections_going_count, 2);
    let mut named = anna.visible_unmet_connection_ids;
    named.sort();
    let mut both = vec![nora.id.clone(), owen.id.clone()];
    both.sort();
    assert_eq!(named, both);
    let chloe = summary(world, net.named("Chloé"), &may.id).await;
    assert_eq!(chloe.unmet_connections_going_count, 0);
    assert!(chloe.visible_unmet_connection_ids.is_empty());
}

/// The clock reaches July, then August: the series is extended as it comes within 90 days,
/// the chapter told of each new occurrence, and every occurrence starts at 08:30 in Paris —
/// in summer time until October, in winter time in November.
pub(super) async fn occurrences_keep_paris_time_across_the_clock_change(
    world: &World,
    net: &mut Network,
    series: &str,
    ledger: &mut Ledger,
) {
    for (month, day) in [(7, 2), (8, 10)] {
        world.advance(Utc.with_ymd_and_hms(2027, month, day, 9, 0, 0).unwrap() - world.now());
        assert_eq!(
            world
                .events
                .events
                .extend_series(world.now())
                .await
                .unwrap(),
            2
        );
    }
    net.sign_in_again(world).await;
    let occurrences = label_occurrences(world, net, series, ledger).await;
    let days: Vec<String> = occurrences
        .iter()
        .map(|event| {
            let start = DateTime::from_timestamp(event.start_time.unwrap().seconds, 0).unwrap();
            let local = start.with_timezone(&Paris);
            assert_eq!((local.hour(), local.minute()), (8, 30), "{local}");
            format!("{} {}", local.format("%Y-%m-%d"), start.format("%H:%MZ"))
        })
        .collect();
    assert_eq!(
        days,
        [
            "2027-05-06 06:30Z",
            "2027-06-03 06:30Z",
            "2027-07-01 06:30Z",
            "2027-08-05 06:30Z",
            "2027-09-02 06:30Z",
            "2027-10-07 06:30Z",
            "2027-11-04 07:30Z",
        ]
    );
}
