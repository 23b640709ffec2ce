//! Series: weekly occurrences keep their local time across daylight-saving changes, and a long
//! series keeps a rolling window of occurrences.

use super::*;

/// Creates `series` as the caller, with the request id `request_id`.
async fn create_series(
    client: &EventClient,
    series: pb::Series,
    request_id: &str,
) -> pb::CreateSeriesResponse {
    let request = pb::CreateSeriesRequest {
        series: Some(series),
        request_id: request_id.to_owned(),
    };
    client
        .clone()
        .create_series(request)
        .await
        .unwrap()
        .into_inner()
}

/// Runs the series horizon job now; how many occurrences it created.
async fn extend_series(world: &World) -> usize {
    world
        .events
        .events
        .extend_series(world.clock.now())
        .await
        .unwrap()
}

async fn weekly_series_keeps_local_time_across_dst(backend: Backend) {
    let settings = rendezvous_events::Settings {
        series_horizon: Duration::days(400),
        ..rendezvous_testkit::events_settings()
    };
    let world = World::start_with(backend, now0(), settings).await.unwrap();
    let (host_member, host) = world.member("Host").await.unwrap();
    let created = create_series(&host, weekly_series("2027-03-07", 40), "series-1").await;
    assert_eq!(created.event_ids.len(), 40);
    let series = created.series.unwrap();
    let mut starts = Vec::new();
    for id in &created.event_ids {
        let e = get_event(&host, id).await;
        assert_eq!(e.series_id, series.id);
        let start = DateTime::from_timestamp(e.start_time.unwrap().seconds, 0).unwrap();
        starts.push(start);
    }
    for start in &starts {
        let local = start.with_timezone(&Paris);
        assert_eq!((local.hour(), local.minute()), (8, 30), "{start}");
    }
    // Across the last Sunday of March and of October 2027 the UTC time shifts by an hour.
    let utc_hour = |y, m, d| {
        starts
            .iter()
            .find(|s| {
                s.with_timezone(&Paris).date_naive()
                    == chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
            })
            .map(|s| s.hour())
            .unwrap()
    };
    assert_eq!(utc_hour(2027, 3, 21), 7);
    assert_eq!(utc_hour(2027, 3, 28), 6);
    assert_eq!(utc_hour(2027, 10, 24), 6);
    assert_eq!(utc_hour(2027, 10, 31), 7);
    // Retrying with the same request id returns the same series.
    let again = host
        .clone()
        .create_series(pb::CreateSeriesRequest {
            series: Some(weekly_series("2027-03-07", 40)),
            request_id: "series-1".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.series.unwrap().id, series.id);
    // Updating (and cancelling) touches only occurrences not yet started.
    world.clock.advance(Duration::days(14));
    let host = world.client(&host_member).await.unwrap();
    let mut patch = series.clone();
    patch.template.as_mut().unwrap().title = "Sunday coffee, new place".to_owned();
    host.clone()
        .update_series(pb::UpdateSeriesRequest {
            series: Some(patch),
            update_mask: Some(FieldMask {
                paths: vec!["template.title".to_owned()],
            }),
        })
        .await
        .unwrap();
    let title_of = |id: String| {
        let mut host = host.clone();
        async move {
            host.get_event(pb::GetEventRequest { event_id: id })
                .await
                .unwrap()
                .into_inner()
                .event
                .unwrap()
                .title
        }
    };
    assert_eq!(
        title_of(created.event_ids[0].clone()).await,
        "Sunday coffee"
    );
    assert_eq!(
        title_of(created.event_ids[5].clone()).await,
        "Sunday coffee, new place"
    );
    let cancelled = host
        .clone()
        .cancel_series(pb::CancelSeriesRequest {
            series_id: series.id.clone(),
            reason: "moving".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.cancelled_event_count, 38);
    world.stop().await.unwrap();
}

async fn a_long_series_keeps_a_rolling_window_of_occurrences(backend: Backend) {
    // The default horizon (90 days) holds about 13 of the 40 weekly occurrences.
    let world = World::start(backend, now0()).await.unwrap();
    let (_host_member, host) = world.member("Host").await.unwrap();
    let created = create_series(&host, weekly_series("2027-03-07", 40), "rolling").await;
    let first = created.event_ids.len();
    assert!(
        (12..=14).contains(&first),
        "{first} occurrences within 90 days"
    );
    let series_id = created.series.unwrap().id;
    let extend = || extend_series(&world);
    // Nothing new while the window is already full.
    assert_eq!(extend().await, 0);
    // Two months later the window has moved on: the next occurrences exist, none twice, and
    // they keep 08:30 in Paris.
    world.clock.advance(Duration::days(61));
    let added = extend().await;
    assert!((8..=10).contains(&added), "{added} occurrences added");
    assert_eq!(extend().await, 0);
    let anon = world.events.events_anonymous();
    let mut starts = Vec::new();
    let mut token = String::new();
    loop {
        let page = anon
            .clone()
            .list_events(pb::ListEventsRequest {
                series_id: series_id.clone(),
                start_after: Some(timestamp(now0())),
                page_size: 100,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        starts.extend(page.events.iter().map(|e| e.start_time.unwrap().seconds));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut unique = starts.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), starts.len(), "no occurrence twice");
    assert_eq!(starts.len(), first + added);
    for s in &starts {
        let local = DateTime::from_timestamp(*s, 0)
            .unwrap()
            .with_timezone(&Paris);
        assert_eq!((local.hour(), local.minute()), (8, 30));
    }
    world.stop().await.unwrap();
}

async fn the_series_horizon_touches_only_the_series_an_occurrence_is_due_for(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_host_member, host) = world.member("Host").await.unwrap();
    let created = create_series(&host, weekly_series("2027-03-07", 40), "long").await;
    let long = created.series.unwrap().id;
    let created = create_series(&host, weekly_series("2027-03-07", 3), "short").await;
    let short = created.series.unwrap().id;
    let store = rendezvous_events::store::Store::new(world.events.db.clone());
    let horizon = rendezvous_events::Settings::default().series_horizon;
    // The series the job would select now, as it selects them.
    let due = || async {
        let mut ids: Vec<String> = store
            .series_behind(world.clock.now() + horizon)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, ..)| id.to_string())
            .collect();
        ids.sort();
        ids
    };
    let extend = || extend_series(&world);
    let mut both = vec![long.clone(), short.clone()];
    both.sort();
    // New series are looked at once; creating them laid out the window already.
    assert_eq!(due().await, both);
    assert_eq!(extend().await, 0);
    assert!(due().await.is_empty());
    // A tick later nothing is due, nor until the next Sunday enters the window.
    world.clock.advance(Duration::seconds(5));
    assert!(due().await.is_empty(), "every series rewritten every tick");
    let last_start: DateTime<Utc> = rendezvous_common::with_db!(&world.events.db, |pool| {
        sqlx::query_scalar("SELECT MAX(start_at) FROM events WHERE series_id = $1")
            .bind(&long)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    let next = last_start + Duration::days(7);
    assert!(next > world.clock.now() + horizon);
    world
        .clock
        .advance(next - horizon - world.clock.now() - Duration::seconds(1));
    assert!(due().await.is_empty());
    assert_eq!(extend().await, 0, "nothing has entered the window");
    world.clock.advance(Duration::seconds(1));
    assert_eq!(
        due().await,
        std::slice::from_ref(&long),
        "only the series with a new occurrence"
    );
    assert_eq!(extend().await, 1);
    assert!(due().await.is_empty());
    // Two hundred days on, the window reaches the end of the long series, which lays out the
    // rest of its 40; the short one, whose three occurrences were all laid out at creation, is
    // never looked at again, and neither is the long one once it has ended.
    world.clock.advance(Duration::days(200));
    assert_eq!(due().await, std::slice::from_ref(&long));
    assert!(extend().await > 0);
    assert!(due().await.is_empty());
    world.clock.advance(Duration::days(365));
    assert!(due().await.is_empty(), "ended series are never due");
    world.stop().await.unwrap();
}

backend_tests!(
    a_long_series_keeps_a_rolling_window_of_occurrences,
    weekly_series_keeps_local_time_across_dst,
    the_series_horizon_touches_only_the_series_an_occurrence_is_due_for,
);
