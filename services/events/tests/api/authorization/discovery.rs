//! Finding events: a member's own events, and events near a place or matching a text, in pages.

use super::*;

/// The ids of the caller's events, as ListMyEvents gives them.
async fn my_event_ids(client: &EventClient) -> Vec<String> {
    let response = client
        .clone()
        .list_my_events(pb::ListMyEventsRequest::default())
        .await
        .unwrap();
    response
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect()
}

// ---------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------

async fn list_my_events_lists_hosted_and_rsvpd(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, me) = world.member("Me").await.unwrap();
    let (_, other) = world.member("Other").await.unwrap();
    let mine = published(&me, now0() + Duration::days(3), 5, Vis::Public).await;
    let going = published(&other, now0() + Duration::days(1), 5, Vis::Public).await;
    let not_going = published(&other, now0() + Duration::days(2), 5, Vis::Public).await;
    try_rsvp(&me, &going.id).await.unwrap();
    assert_eq!(
        my_event_ids(&me).await,
        vec![going.id.clone(), mine.id.clone()]
    );
    assert_eq!(
        my_event_ids(&other).await,
        vec![going.id.clone(), not_going.id.clone()]
    );
    let anonymous = world
        .events
        .events_anonymous()
        .list_my_events(pb::ListMyEventsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    world.stop().await.unwrap();
}

async fn list_events_near_text_and_pages(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let (_, viewer) = world.member("Viewer").await.unwrap();
    // Hôtel de Ville, Paris; one degree of longitude there is about 73.2 km.
    let (lat, lon): (f64, f64) = (48.8566, 2.3522);
    let km_per_degree = 111.32 * lat.to_radians().cos();
    let mut near = event(now0() + Duration::days(1), 5, pb::EventVisibility::Public);
    near.title = "Breakfast by the river".to_owned();
    near.venue.as_mut().unwrap().longitude = lon + 2.0 / km_per_degree;
    let near = create(&host, near).await;
    publish(&host, &near.id).await;
    let mut far = event(now0() + Duration::days(2), 5, pb::EventVisibility::Public);
    far.title = "Lunch in the countryside".to_owned();
    far.venue.as_mut().unwrap().longitude = lon + 50.0 / km_per_degree;
    let far = create(&host, far).await;
    publish(&host, &far.id).await;
    let list = |request: pb::ListEventsRequest| {
        let mut viewer = viewer.clone();
        async move { viewer.list_events(request).await.unwrap().into_inner() }
    };
    let ids = |r: pb::ListEventsResponse| r.events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let within = |radius_km: f64| pb::ListEventsRequest {
        near: Some(pb::GeoFilter {
            latitude: lat,
            longitude: lon,
            radius_km,
        }),
        ..Default::default()
    };
    assert_eq!(ids(list(within(10.0)).await), vec![near.id.clone()]);
    assert_eq!(
        ids(list(within(60.0)).await),
        vec![near.id.clone(), far.id.clone()]
    );
    assert!(ids(list(within(1.0)).await).is_empty());
    let text = |query: &str| pb::ListEventsRequest {
        query: query.to_owned(),
        ..Default::default()
    };
    assert_eq!(ids(list(text("countryside")).await), vec![far.id.clone()]);
    assert_eq!(ids(list(text("RIVER")).await), vec![near.id.clone()]);
    assert!(ids(list(text("karaoke")).await).is_empty());

    // Seven more, two at the same start: pages of three return each event once, in order.
    let mut all = vec![near.id.clone(), far.id.clone()];
    for i in 0..7_i64 {
        let start = now0() + Duration::days(3) + Duration::hours(i.min(5));
        let e = published(&host, start, 5, Vis::Public).await;
        all.push(e.id);
    }
    let mut seen = Vec::new();
    let mut starts = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = list(pb::ListEventsRequest {
            page_size: 3,
            page_token: page_token.clone(),
            ..Default::default()
        })
        .await;
        pages += 1;
        assert!(page.events.len() <= 3);
        for e in &page.events {
            seen.push(e.id.clone());
            let t = e.start_time.as_ref().unwrap();
            starts.push((t.seconds, e.id.clone()));
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(seen.len(), all.len(), "{seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "an event came twice");
    let mut expected_all = all.clone();
    expected_all.sort();
    assert_eq!(unique, expected_all);
    assert!(
        starts.windows(2).all(|w| w[0].0 <= w[1].0),
        "ordered by start"
    );
    world.stop().await.unwrap();
}

backend_tests!(
    list_my_events_lists_hosted_and_rsvpd,
    list_events_near_text_and_pages,
);
