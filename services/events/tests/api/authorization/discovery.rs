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

/// Every event `viewer` lists from now on, following the page tokens in pages of four.
async fn all_listed(viewer: &EventClient) -> Vec<pb::Event> {
    let mut events = Vec::new();
    let mut page_token = String::new();
    for _ in 0..20 {
        let page = viewer
            .clone()
            .list_events(pb::ListEventsRequest {
                page_size: 4,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return events;
        }
        page_token = page.next_page_token;
    }
    panic!("pagination does not end");
}

/// ListEvents filters in SQL what GetEvent decides with the access policy in Rust: for each
/// kind of viewer, over events of each visibility and state, the two must agree — the same
/// events, each exactly as GetEvent shows it (co-hosts included).
async fn every_viewer_lists_what_get_event_shows(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (host_m, host) = world.member("Host").await.unwrap();
    let (cohost_m, cohost) = world.member("Cohost").await.unwrap();
    let (invitee_m, invitee) = world.member("Invitee").await.unwrap();
    let (joiner_m, joiner) = world.member("Joiner").await.unwrap();
    let (_, stranger) = world.member("Stranger").await.unwrap();
    let (organiser_m, chapter) = organised_chapter(&world, &[&host_m, &joiner_m]).await;
    let organiser = world.client(&organiser_m).await.unwrap();
    let day = |d: i64| now0() + Duration::days(d);
    let in_chapter = |start, visibility| {
        let mut e = event(start, 5, visibility);
        e.chapter_id = chapter.id.clone();
        e
    };

    let public = published(&host, day(1), 5, Vis::Public).await;
    let public_draft = create(&host, event(day(2), 5, Vis::Public)).await;
    let chapter_only = create(&host, in_chapter(day(3), Vis::Chapter)).await;
    let chapter_only = publish(&host, &chapter_only.id).await;
    let chapter_draft = create(&host, in_chapter(day(4), Vis::Chapter)).await;
    let invited = published(&host, day(5), 5, Vis::InviteOnly).await;
    invite(&host, &invited.id, &[&invitee_m]).await;
    let uninvited = published(&host, day(6), 5, Vis::InviteOnly).await;
    let cancelled = published(&host, day(7), 5, Vis::Public).await;
    cancel(&host, &cancelled.id).await.unwrap();
    let cohosted_draft = create(&host, event(day(8), 5, Vis::Public)).await;
    add_cohost(&host, &cohosted_draft.id, &cohost_m, pb::CohostRole::Full).await;
    let public_in_chapter = create(&host, in_chapter(day(9), Vis::Public)).await;
    let public_in_chapter = publish(&host, &public_in_chapter.id).await;
    let all = [
        &public,
        &public_draft,
        &chapter_only,
        &chapter_draft,
        &invited,
        &uninvited,
        &cancelled,
        &cohosted_draft,
        &public_in_chapter,
    ];
    let open = [&public.id, &cancelled.id, &public_in_chapter.id];

    let anonymous = world.events.events_anonymous();
    let viewers: [(&str, &EventClient, Vec<&String>); 7] = [
        ("anonymous", &anonymous, open.to_vec()),
        ("host", &host, all.iter().map(|e| &e.id).collect()),
        (
            "co-host",
            &cohost,
            [&open[..], &[&cohosted_draft.id]].concat(),
        ),
        ("invitee", &invitee, [&open[..], &[&invited.id]].concat()),
        (
            "chapter member",
            &joiner,
            [&open[..], &[&chapter_only.id]].concat(),
        ),
        (
            "organiser",
            &organiser,
            [&open[..], &[&chapter_only.id]].concat(),
        ),
        ("stranger", &stranger, open.to_vec()),
    ];
    for (who, viewer, expected) in viewers {
        let mut shown = Vec::new();
        for e in all {
            if let Ok(got) = try_get_event(viewer, &e.id).await {
                shown.push(got);
            }
        }
        shown.sort_by_key(|e| {
            let start = e.start_time.as_ref().map(|t| (t.seconds, t.nanos));
            (start, e.id.clone())
        });
        let listed = all_listed(viewer).await;
        assert_eq!(listed, shown, "{who}: ListEvents differs from GetEvent");
        let mut expected: Vec<&String> = expected;
        expected.sort();
        let mut ids: Vec<&String> = listed.iter().map(|e| &e.id).collect();
        ids.sort();
        assert_eq!(ids, expected, "{who}");
    }
    world.stop().await.unwrap();
}

/// A page reads its events' co-hosts in one statement: each event gets its own, ordered by
/// member id, with their roles, in ListEvents and ListMyEvents alike, as GetEvent shows them.
async fn each_listed_event_has_its_own_cohosts(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let (first_m, _) = world.member("First").await.unwrap();
    let (second_m, _) = world.member("Second").await.unwrap();
    let two = published(&host, now0() + Duration::days(1), 5, Vis::Public).await;
    add_cohost(&host, &two.id, &first_m, pb::CohostRole::Full).await;
    add_cohost(&host, &two.id, &second_m, pb::CohostRole::CheckInOnly).await;
    let one = published(&host, now0() + Duration::days(2), 5, Vis::Public).await;
    add_cohost(&host, &one.id, &second_m, pb::CohostRole::Full).await;
    let none = published(&host, now0() + Duration::days(3), 5, Vis::Public).await;
    let cohost = |m: &TestMember, role: pb::CohostRole| pb::Cohost {
        member_id: m.id.clone(),
        role: role.into(),
    };
    let mut both = vec![
        cohost(&first_m, pb::CohostRole::Full),
        cohost(&second_m, pb::CohostRole::CheckInOnly),
    ];
    both.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    let expected = [
        (two.id.clone(), both),
        (
            one.id.clone(),
            vec![cohost(&second_m, pb::CohostRole::Full)],
        ),
        (none.id.clone(), vec![]),
    ];
    let of = |events: &[pb::Event]| {
        events
            .iter()
            .map(|e| (e.id.clone(), e.cohosts.clone()))
            .collect::<Vec<_>>()
    };
    let listed = all_listed(&world.events.events_anonymous()).await;
    assert_eq!(of(&listed), expected);
    let mine = host
        .clone()
        .list_my_events(pb::ListMyEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(of(&mine), expected);
    for e in &listed {
        assert_eq!(&get_event(&host, &e.id).await, e);
    }
    world.stop().await.unwrap();
}

/// What anonymous browsing asks is served by the partial indexes made for it: the predicate
/// the store writes must imply theirs, or each database would scan every event instead.
async fn anonymous_browsing_uses_the_public_indexes(backend: Backend) {
    use rendezvous_common::db::Db;
    use rendezvous_events::store::ANONYMOUS_VISIBLE;
    let world = World::start(backend, now0()).await.unwrap();
    let sql = |city: bool| {
        let city = if city {
            " AND e.city_key = 'paris'"
        } else {
            ""
        };
        format!(
            "SELECT e.id FROM events e WHERE {ANONYMOUS_VISIBLE}{city} \
             AND e.start_at >= '2031-01-01' ORDER BY e.start_at, e.id LIMIT 21"
        )
    };
    // On a near-empty table either public index serves either query; which one is the
    // planner's choice.
    for city in [true, false] {
        let plan = match &world.events.db {
            Db::Sqlite(pool) => {
                let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(
                    format!("EXPLAIN QUERY PLAN {}", sql(city)),
                ))
                .fetch_all(pool)
                .await
                .unwrap();
                rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
            }
            Db::Postgres(pool) => {
                // A handful of rows is cheaper to scan; with scans priced out, the planner
                // shows whether the index can serve the query at all.
                let mut conn = pool.acquire().await.unwrap();
                sqlx::query("SET enable_seqscan = off")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                let rows: Vec<String> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {}", sql(city))))
                        .fetch_all(&mut *conn)
                        .await
                        .unwrap();
                sqlx::query("RESET enable_seqscan")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                rows.join("\n")
            }
        };
        assert!(plan.contains("events_public_"), "city {city}: {plan}");
        // In (start, id) order from the index: no sort after reading every match.
        assert!(
            !plan.contains("TEMP B-TREE") && !plan.contains("Sort"),
            "city {city}: {plan}"
        );
    }
    world.stop().await.unwrap();
}

backend_tests!(
    list_my_events_lists_hosted_and_rsvpd,
    list_events_near_text_and_pages,
    every_viewer_lists_what_get_event_shows,
    each_listed_event_has_its_own_cohosts,
    anonymous_browsing_uses_the_public_indexes,
);
