//! Calendars: iCalendar files that parse, and feeds that can be revoked.

use super::*;

async fn calendars_parse_and_feeds_can_be_revoked(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let (_, host) = world.member("Host").await.unwrap();
    let (_, guest) = world.member("Guest").await.unwrap();
    let e = published(&host, now0() + Duration::days(2), 5, Vis::Public).await;
    rsvp(&guest, &e.id).await;
    let exported = host
        .clone()
        .export_event_calendar(pb::ExportEventCalendarRequest {
            event_id: e.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(exported.content_type.starts_with("text/calendar"));
    let text = String::from_utf8(exported.ics).unwrap();
    let unfolded = icalendar::parser::unfold(&text);
    let parsed = icalendar::parser::read_calendar(&unfolded).unwrap();
    let vevents: Vec<_> = parsed
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .collect();
    assert_eq!(vevents.len(), 1);
    assert!(text.contains("TZID=Europe/Paris"));

    let mine = guest
        .clone()
        .export_my_calendar(pb::ExportMyCalendarRequest {})
        .await
        .unwrap()
        .into_inner();
    let mine = String::from_utf8(mine.ics).unwrap();
    let unfolded = icalendar::parser::unfold(&mine);
    icalendar::parser::read_calendar(&unfolded).unwrap();
    assert!(mine.contains("Café networking"));

    let feed = crate::helpers::create_feed(&guest).await;
    let path = feed_path(&feed);
    let (status, body) = http_get(world.events.feed_addr, &path).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("BEGIN:VCALENDAR") && body.contains("Café networking"));
    guest
        .clone()
        .revoke_calendar_feed(pb::RevokeCalendarFeedRequest {
            feed_id: feed.id.clone(),
        })
        .await
        .unwrap();
    let (status, _) = http_get(world.events.feed_addr, &path).await;
    assert_eq!(status, 404);
    world.stop().await.unwrap();
}

backend_tests!(calendars_parse_and_feeds_can_be_revoked,);
