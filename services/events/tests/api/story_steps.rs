//! PRODUCT.md's steps that no other test drove through the API: a whole chapter invited at
//! once (step 3), an event completed by the clock once it is over (step 6), and the monthly
//! series of step 8, created through CreateSeries.

use chrono::{DateTime, Datelike as _, Duration, Timelike as _, Utc, Weekday};
use chrono_tz::Europe::Paris;
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::{Backend, backend_tests, outbox_count};

use crate::helpers::{
    World, attendance_summary, chapter_joiner, check_in_member, first_thursdays, get_event,
    morning, paris_chapter, paris_series, published, rsvp,
};

async fn inviting_a_chapter_invites_each_of_its_members_once(backend: Backend) {
    let world = World::start(backend, morning(2030, 3, 1)).await.unwrap();
    let (anna, as_anna) = world.member("Anna").await.unwrap();
    let chapter = paris_chapter(&world.events.client_with_token(&anna.access_token)).await;
    let mut members = Vec::new();
    for name in ["Bruno", "Chloé", "Dara"] {
        members.push(chapter_joiner(&world, name, &chapter.id).await);
    }
    let (outsider, _) = world.member("Olga").await.unwrap();
    let event = published(&as_anna, morning(2030, 3, 10), 20, Vis::InviteOnly).await;
    let invite = || pb::InviteMembersRequest {
        event_id: event.id.clone(),
        target: Some(pb::invite_members_request::Target::ChapterId(
            chapter.id.clone(),
        )),
    };
    let first = as_anna
        .clone()
        .invite_members(invite())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.invited_count, 3, "every member but the host");
    // Invited again, nobody is invited twice.
    let again = as_anna
        .clone()
        .invite_members(invite())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.invited_count, again.skipped_count), (0, 3));
    let db = &world.events.db;
    for member in &members {
        let prefix = format!("invitation:{}:{}", event.id, member.id);
        assert_eq!(
            outbox_count(db, &prefix, "EVENT_INVITATION").await,
            1,
            "{}",
            member.id
        );
        // The invitation opens the invite-only event to them.
        let client = world.events.events_with_token(&member.access_token);
        assert_eq!(get_event(&client, &event.id).await.id, event.id);
    }
    assert_eq!(
        outbox_count(db, &format!("invitation:{}:{}", event.id, outsider.id), "").await,
        0
    );
    assert_eq!(
        outbox_count(db, &format!("invitation:{}:{}", event.id, anna.id), "").await,
        0
    );
    world.stop().await.unwrap();
}

async fn an_event_over_for_its_grace_period_completes_on_its_own(backend: Backend) {
    let start = morning(2030, 3, 10);
    let world = World::start(backend, start - Duration::days(1))
        .await
        .unwrap();
    let (host, as_host) = world.member("Hana").await.unwrap();
    let (came, as_came) = world.member("Camille").await.unwrap();
    let (_, as_absent) = world.member("Absent").await.unwrap();
    let event = published(&as_host, start, 10, Vis::Public).await;
    rsvp(&as_came, &event.id).await;
    rsvp(&as_absent, &event.id).await;
    world
        .clock
        .advance(Duration::days(1) + Duration::minutes(10));
    let as_host = world.client(&host).await.unwrap();
    check_in_member(&as_host, &event.id, &came.id)
        .await
        .unwrap();

    // Ended (90 minutes) but within the grace period: not yet.
    world.clock.advance(Duration::hours(2));
    let as_host = world.client(&host).await.unwrap();
    let jobs = &world.events.events;
    assert_eq!(jobs.complete_due(world.clock.now()).await.unwrap(), 0);
    assert_eq!(
        get_event(&as_host, &event.id).await.state(),
        pb::EventState::Published
    );
    // Past the grace period: completed by the clock, no-shows counted, once.
    let grace = rendezvous_events::Settings::default().complete_grace;
    world.clock.advance(grace);
    assert_eq!(jobs.complete_due(world.clock.now()).await.unwrap(), 1);
    assert_eq!(jobs.complete_due(world.clock.now()).await.unwrap(), 0);
    let as_host = world.client(&host).await.unwrap();
    let done = get_event(&as_host, &event.id).await;
    assert_eq!(done.state(), pb::EventState::Completed);
    let summary = attendance_summary(&as_host, &event.id).await;
    assert_eq!((summary.checked_in_count, summary.no_show_count), (1, 1));
    world.stop().await.unwrap();
}

async fn a_monthly_series_meets_every_first_thursday_at_the_same_paris_time(backend: Backend) {
    let world = World::start(backend, morning(2027, 1, 4)).await.unwrap();
    let (anna, as_host) = world.member("Anna").await.unwrap();
    let series = paris_series(
        first_thursdays(6),
        "2027-01-01",
        "Café networking — Le Marais",
    );
    let created = as_host
        .clone()
        .create_series(pb::CreateSeriesRequest {
            series: Some(series),
            request_id: "first-thursdays".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    // 90 days ahead are materialised at once; the clock brings the rest within reach.
    assert_eq!(created.event_ids.len(), 4);
    let series_id = created.series.unwrap().id;
    world.clock.advance(Duration::days(62));
    let as_host = world.client(&anna).await.unwrap();
    let jobs = &world.events.events;
    assert!(jobs.extend_series(world.clock.now()).await.unwrap() > 0);
    let listed = as_host
        .clone()
        .list_events(pb::ListEventsRequest {
            series_id: series_id.clone(),
            start_after: Some(rendezvous_testkit::timestamp(morning(2027, 1, 1))),
            page_size: 50,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let mut days = Vec::new();
    for event in &listed {
        assert_eq!(event.series_id, series_id);
        assert_eq!(event.state(), pb::EventState::Published);
        let start = event.start_time.unwrap();
        let start = DateTime::<Utc>::from_timestamp(start.seconds, 0).unwrap();
        let local = start.with_timezone(&Paris);
        assert_eq!(local.weekday(), Weekday::Thu, "{local}");
        assert!(local.day() <= 7, "the first Thursday: {local}");
        assert_eq!((local.hour(), local.minute()), (8, 30), "{local}");
        days.push(local.date_naive().to_string());
    }
    // January to June 2027 (six, as the rule's count says), across the change to summer time
    // on 28 March.
    assert_eq!(
        days,
        [
            "2027-01-07",
            "2027-02-04",
            "2027-03-04",
            "2027-04-01",
            "2027-05-06",
            "2027-06-03"
        ]
    );
    world.stop().await.unwrap();
}

backend_tests!(
    inviting_a_chapter_invites_each_of_its_members_once,
    an_event_over_for_its_grace_period_completes_on_its_own,
    a_monthly_series_meets_every_first_thursday_at_the_same_paris_time,
);
