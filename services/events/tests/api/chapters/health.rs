//! A chapter's health as its organisers read it, kept as things happen: RSVPs and check-ins
//! make members active, completions fill the months, met edges members tells of count once;
//! and a chapter gone quiet tells its organisers, once per quiet spell.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use rendezvous_common::auth::ServiceName;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_proto::notifications::v1::notice::Notice as Variant;
use rendezvous_testkit::{
    TestMember, connect, eventually, invalid_argument_naming, outbox_keys_and_notices, timestamp,
};

use super::*;
use crate::helpers::{
    chapter_joiner, check_in_member, create as create_event, event, publish, rsvp,
};

fn now0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap()
}

async fn health(client: &ChapterClient, chapter_id: &str) -> Result<pb::ChapterHealth, Status> {
    client
        .clone()
        .get_chapter_health(pb::GetChapterHealthRequest {
            chapter_id: chapter_id.to_owned(),
        })
        .await
        .map(|r| r.into_inner().health.unwrap())
}

/// A published chapter event by `host` starting at `start`, 90 minutes long.
async fn chapter_event(
    world: &World,
    host: &TestMember,
    chapter_id: &str,
    start: DateTime<Utc>,
) -> String {
    let client = world.client(host).await.unwrap();
    let mut draft = event(start, 20, Vis::Chapter);
    draft.chapter_id = chapter_id.to_owned();
    let e = create_event(&client, draft).await;
    publish(&client, &e.id).await;
    e.id
}

/// `going` RSVP to `event_id`, `present` are checked in by `host`, and it is completed after
/// its end.
async fn hold(
    world: &World,
    host: &TestMember,
    event_id: &str,
    going: &[&TestMember],
    present: &[&TestMember],
) {
    for member in going {
        rsvp(&world.client(member).await.unwrap(), event_id).await;
    }
    world.clock.advance(Duration::minutes(50));
    let as_host = world.client(host).await.unwrap();
    for member in present {
        check_in_member(&as_host, event_id, &member.id)
            .await
            .unwrap();
    }
    world.clock.advance(Duration::hours(3));
    let as_host = world.client(host).await.unwrap();
    as_host
        .clone()
        .complete_event(pb::CompleteEventRequest {
            event_id: event_id.to_owned(),
        })
        .await
        .unwrap();
}

/// `member`'s ChapterService client with a fresh token (the clock moves).
async fn chapters_of(world: &World, member: &TestMember) -> ChapterClient {
    world
        .events
        .client_with_token(&world.token(member).await.unwrap())
}

/// The counts as a version before chapter health left them: none, every completion uncounted.
async fn forget_the_counts(world: &World) {
    for sql in [
        "DELETE FROM chapter_months",
        "DELETE FROM chapter_attendees",
        "UPDATE events SET health_counted = FALSE",
    ] {
        rendezvous_common::with_db!(&world.events.db, |pool| {
            sqlx::query(sql).execute(pool).await.unwrap();
        });
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

async fn organisers_read_their_chapters_health_kept_as_it_happens(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (olga, as_olga) = world.chapter_member("Olga").await.unwrap();
    let chapter = create(&as_olga, paris()).await;
    let mut cast = Vec::new();
    for name in ["Ama", "Ben", "Cleo", "Dev"] {
        cast.push(chapter_joiner(&world, name, &chapter.id).await);
    }
    let [ama, ben, cleo, dev] = &cast[..] else {
        unreachable!("four")
    };

    // Nothing yet: every member dormant, no rates to divide.
    let empty = health(&as_olga, &chapter.id).await.unwrap();
    assert_eq!(
        (empty.members, empty.active_members, empty.dormant_members),
        (5, 0, 5)
    );
    assert_eq!(empty.completed_events, 0);
    assert!(empty.last_event_time.is_none());
    assert_eq!(empty.months.len(), 12);
    assert_eq!(empty.months[11].month, "2027-03");
    assert_eq!(empty.months[0].month, "2026-04");

    // The first coffee: three going, two came.
    let first = chapter_event(&world, &olga, &chapter.id, now0() + Duration::hours(1)).await;
    hold(&world, &olga, &first, &[ama, ben, cleo], &[ama, ben]).await;
    let h = health(&chapters_of(&world, &olga).await, &chapter.id)
        .await
        .unwrap();
    assert_eq!((h.active_members, h.dormant_members), (3, 2));
    assert_eq!(
        (
            h.completed_events,
            h.first_timers,
            h.returned_within_60_days
        ),
        (1, 2, 0)
    );
    assert!(close(h.attendance_rate, 2.0 / 3.0), "{h:?}");
    assert!(close(h.no_show_rate, 1.0 / 3.0), "{h:?}");

    // An event completed before the counts were kept is counted by the catch-up, once.
    forget_the_counts(&world).await;
    let store = &world.events.events;
    assert_eq!(store.count_past_completions().await.unwrap(), 1);
    assert_eq!(store.count_past_completions().await.unwrap(), 0);
    let caught_up = health(&chapters_of(&world, &olga).await, &chapter.id)
        .await
        .unwrap();
    assert_eq!(caught_up, h);

    // Three weeks on: Ama comes back, Dev comes for the first time.
    let second = chapter_event(&world, &olga, &chapter.id, now0() + Duration::days(20)).await;
    world
        .clock
        .advance(now0() + Duration::days(20) - Duration::minutes(55) - world.clock.now());
    hold(&world, &olga, &second, &[ama, dev], &[ama, dev]).await;

    // Members counts the edge of a pair who met at the first, once however often it is told.
    let members = world.internal_as(ServiceName::Members).unwrap();
    let edge = |a: &TestMember, b: &TestMember, event_id: &str| pb::RecordMetEdgeRequest {
        event_id: event_id.to_owned(),
        member_a: a.id.clone(),
        member_b: b.id.clone(),
        met_time: Some(timestamp(now0())),
    };
    for (request, counted) in [
        (edge(ama, ben, &first), true),
        (edge(ben, ama, &first), false),
        (edge(ama, dev, &second), true),
    ] {
        let answer = members.clone().record_met_edge(request).await.unwrap();
        assert_eq!(answer.into_inner().counted, counted);
    }
    let same = members
        .clone()
        .record_met_edge(edge(ama, ama, &first))
        .await;
    assert!(invalid_argument_naming(same, "member_b").is_ok());

    let h = health(&chapters_of(&world, &olga).await, &chapter.id)
        .await
        .unwrap();
    assert_eq!((h.members, h.active_members, h.dormant_members), (5, 4, 1));
    assert_eq!(h.completed_events, 2);
    assert_eq!((h.first_timers, h.returned_within_60_days), (3, 1));
    assert!(close(h.attendance_rate, 4.0 / 5.0), "{h:?}");
    assert!(close(h.no_show_rate, 1.0 / 5.0), "{h:?}");
    assert!(close(h.met_edges_per_event, 1.0), "{h:?}");
    assert!(close(h.events_per_month, 2.0 / 12.0), "{h:?}");
    assert_eq!(
        h.last_event_time,
        Some(timestamp(now0() + Duration::days(20)))
    );
    let march = &h.months[11];
    assert_eq!(march.month, "2027-03");
    assert_eq!(
        (
            march.events,
            march.confirmed,
            march.checked_in,
            march.no_shows
        ),
        (2, 5, 4, 1)
    );
    assert_eq!(
        (
            march.first_timers,
            march.returned_within_60_days,
            march.met_edges
        ),
        (3, 1, 2)
    );
    assert!(h.months[..11].iter().all(|m| m.events == 0));

    // Only organisers: a member is refused, whoever they are to the events.
    let refused = health(&chapters_of(&world, ama).await, &chapter.id)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let as_olga = chapters_of(&world, &olga).await;
    let unknown = health(&as_olga, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(unknown.unwrap_err().code(), Code::NotFound);
    assert!(invalid_argument_naming(health(&as_olga, "nope").await, "chapter_id").is_ok());
    let anonymous = world.events.anonymous();
    assert_eq!(
        health(&anonymous, &chapter.id).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // A hundred days after the last coffee, nobody is active any more.
    world
        .clock
        .advance(Duration::days(121) - (world.clock.now() - now0()));
    let h = health(&chapters_of(&world, &olga).await, &chapter.id)
        .await
        .unwrap();
    assert_eq!((h.active_members, h.dormant_members), (0, 5));
    world.stop().await.unwrap();
}

/// The CHAPTER_DORMANT notices in the events outbox: (recipient, chapter name, days quiet,
/// whether it names a last event).
async fn dormant_notices(world: &World) -> Vec<(String, String, i32, bool)> {
    outbox_keys_and_notices(&world.events.db, "chapter-dormant:")
        .await
        .into_iter()
        .map(|(key, notice)| match notice.notice.unwrap() {
            Variant::ChapterDormant(n) => (
                key.rsplit(':').next().unwrap().to_owned(),
                n.chapter.unwrap().name,
                n.days_quiet,
                n.last_event_time.is_some(),
            ),
            other => panic!("{other:?}"),
        })
        .collect()
}

async fn a_quiet_chapter_tells_its_organisers_once_per_quiet_spell(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (olga, as_olga) = world.chapter_member("Olga").await.unwrap();
    let paris = create(&as_olga, paris()).await;
    let (lou, as_lou) = world.chapter_member("Lou").await.unwrap();
    let lyon = create(
        &as_lou,
        pb::Chapter {
            name: "Rendezvous Lyon".to_owned(),
            city: "Lyon".to_owned(),
            time_zone: "Europe/Paris".to_owned(),
            ..Default::default()
        },
    )
    .await;
    chapter_event(&world, &olga, &paris.id, now0() + Duration::days(3)).await;
    let events = &world.events.events;

    // Paris had its coffee 59 days ago; Lyon, created 62 days ago, never had one.
    let at = now0() + Duration::days(62);
    assert_eq!(events.tell_quiet_chapters(at).await.unwrap(), 1);
    assert_eq!(
        dormant_notices(&world).await,
        [(lou.id.clone(), "Rendezvous Lyon".to_owned(), 62, false)]
    );
    // Two days later Paris is quiet too; Lyon was told of this spell already.
    let at = now0() + Duration::days(64);
    assert_eq!(events.tell_quiet_chapters(at).await.unwrap(), 1);
    assert_eq!(events.tell_quiet_chapters(at).await.unwrap(), 0);
    let told = dormant_notices(&world).await;
    assert_eq!(told.len(), 2);
    assert_eq!(
        told[1],
        (olga.id.clone(), "Rendezvous Paris".to_owned(), 61, true)
    );

    // Lyon holds an event; sixty days after it, its organiser is told of the new spell, and
    // Paris, quiet all along, is not told again.
    world.clock.advance(Duration::days(64));
    chapter_event(&world, &lou, &lyon.id, at + Duration::days(1)).await;
    assert_eq!(
        events
            .tell_quiet_chapters(at + Duration::days(30))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        events
            .tell_quiet_chapters(at + Duration::days(61))
            .await
            .unwrap(),
        1
    );
    let told = dormant_notices(&world).await;
    assert_eq!(told.len(), 3, "{told:?}");
    assert_eq!(
        told[2],
        (lou.id.clone(), "Rendezvous Lyon".to_owned(), 60, true)
    );
    world.stop().await.unwrap();
}

/// The whole way of a met edge: two connected members checked in at a small chapter event are
/// met at once in members, whose outbox tells events, and the chapter counts the edge.
async fn a_pair_met_at_a_chapter_event_counts_in_its_health(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (olga, as_olga) = world.chapter_member("Olga").await.unwrap();
    let chapter = create(&as_olga, paris()).await;
    let ama = chapter_joiner(&world, "Ama", &chapter.id).await;
    let ben = chapter_joiner(&world, "Ben", &chapter.id).await;
    let cleo = chapter_joiner(&world, "Cleo", &chapter.id).await;
    connect(&ama, &ben).await.unwrap();
    let coffee = chapter_event(&world, &olga, &chapter.id, now0() + Duration::hours(1)).await;
    hold(
        &world,
        &olga,
        &coffee,
        &[&ama, &ben, &cleo],
        &[&ama, &ben, &cleo],
    )
    .await;
    let h = eventually("the met edge in the chapter's health", || {
        let world = &world;
        let (olga, chapter_id) = (&olga, chapter.id.as_str());
        async move {
            let h = health(&chapters_of(world, olga).await, chapter_id)
                .await
                .unwrap();
            (h.months[11].met_edges > 0).then_some(h)
        }
    })
    .await;
    // Ama and Ben, connected, met; Cleo is connected to neither.
    assert_eq!(h.months[11].met_edges, 1, "{h:?}");
    assert!(close(h.met_edges_per_event, 1.0), "{h:?}");
    world.stop().await.unwrap();
}

backend_tests!(
    a_pair_met_at_a_chapter_event_counts_in_its_health,
    organisers_read_their_chapters_health_kept_as_it_happens,
    a_quiet_chapter_tells_its_organisers_once_per_quiet_spell,
);
